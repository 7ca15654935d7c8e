/* convert.c: `tactus convert IN OUT`: read a score, write it in the format OUT's extension names
 * (MIDI or ABC). A file of several tunes (ABC) gives one output per tune, or the one --tune picks.
 * --grid quantizes performed music for ABC output. Outputs are written atomically; an existing OUT is
 * kept unless --force. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char options[] =
    "  -t, --tune N   from a file of tunes (ABC), convert only the tune with X: number N\n"
    "  -g, --grid N   ABC output: round onsets and ends to 1/N of a quarter note (4: sixteenths)\n"
    "  -b, --bars A-B only the notes that start in bars A to B (bar 1 is the first whole bar), moved\n"
    "                 so that bar A starts the output\n"
    "  -f, --force    replace outputs that exist\n"
    "  -h, --help     show this help\n";

typedef struct numbers {
    long *v;
    size_t n, cap;
} numbers;

typedef struct convert_ctx {
    const char *in, *out;
    int outfmt, force;
    int grid;              /* --grid: 0, or divisions of a quarter for ABC output */
    long tune;             /* -1: every tune */
    long bar_a, bar_b;     /* --bars: the excerpt, or -1 */
    size_t n_items;        /* items the input holds (a first pass counts them) */
    size_t written, failed, matched;
    int counting;
    numbers seen;          /* the X: numbers of the items, in order */
} convert_ctx;

/* OUT, or for one tune of several OUT with "-N" before its extension (N the X: number, and the
 * tune's place too when the file repeats a number). */
static char *output_name(const convert_ctx *c, const tx_score_item *it, int repeated)
{
    tx_buf b = TX_BUF_INIT;
    if (c->n_items <= 1 || c->tune >= 0) {
        tx_buf_puts(&b, c->out);
        return b.data;
    }
    const char *base = tx_basename(c->out), *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - c->out) : strlen(c->out);
    tx_buf_append(&b, c->out, stem);
    tx_buf_printf(&b, "-%ld", it->number);
    if (repeated)
        tx_buf_printf(&b, "-%ld", it->index);
    tx_buf_puts(&b, c->out + stem);
    if (b.oom)
        tx_buf_free(&b);
    return b.data;
}

/* --bars A-B: the notes that start in those bars, bar A moved to the start (a pickup is bar 0) */
static int excerpt(const convert_ctx *c, tx_score *s, tx_error *err)
{
    int64_t first = c->bar_a - 1 + (s->pickup > 0), last = c->bar_b - 1 + (s->pickup > 0);
    if (first < 0)
        first = 0;
    tx_tick from = tx_score_bar_tick(s, first), to = tx_score_bar_tick(s, last + 1);
    size_t k = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].onset < to)
            s->notes[k++] = s->notes[i];
    s->n_notes = k;
    cli_score_shift_earlier(s, from);
    if (first > 0)
        s->pickup = 0;
    if (tx_score_sort(s))
        return tx_error_set(err, TX_ENOMEM, "out of memory");
    return TX_OK;
}

/* tx_score_write_file(), or with --grid the ABC writer with its grid */
static int write_score(const convert_ctx *c, const tx_score *s, const char *out, tx_error *err)
{
    if (c->grid == 0)
        return tx_score_write_file(s, out, c->outfmt, err);
    tx_abc_write_options o;
    tx_abc_write_options_init(&o);
    o.grid = c->grid;
    const char *x = tx_score_meta(s, "abc:X");
    if (x && atol(x) > 0)
        o.number = atol(x);
    tx_buf b = TX_BUF_INIT;
    int rc = tx_abc_write(s, &o, &b, err);
    if (rc == TX_OK)
        rc = tx_write_file_atomic(out, b.data, b.len, err);
    tx_buf_free(&b);
    return rc;
}

static int convert_item(void *ud, tx_score_item *it)
{
    convert_ctx *c = ud;
    if (c->counting) {
        c->n_items++;
        if (!tx_grow((void **)&c->seen.v, &c->seen.cap, c->seen.n + 1, sizeof *c->seen.v))
            c->seen.v[c->seen.n++] = it->number;
        return 0;
    }
    /* --tune N: the first tune numbered N (some collections repeat numbers) */
    if (c->tune >= 0 && (it->number != c->tune || c->matched))
        return 0;
    c->matched++;
    if (it->status) {
        cli_error("%s", it->error->msg);
        c->failed++;
        return 0;
    }
    int repeated = 0;
    for (size_t i = 0, k = 0; i < c->seen.n; i++)
        if (c->seen.v[i] == it->number && ++k > 1)
            repeated = 1;
    char *out = output_name(c, it, repeated);
    struct stat st;
    tx_error err;
    if (!out) {
        cli_error("out of memory");
        c->failed++;
    } else if (!c->force && stat(out, &st) == 0) {
        cli_error("%s: exists (use --force to replace it)", out);
        c->failed++;
    } else if ((c->bar_a >= 0 && excerpt(c, it->score, &err)) || write_score(c, it->score, out, &err)) {
        cli_error("%s", err.msg);
        c->failed++;
    } else {
        c->written++;
    }
    tx_free(out);
    return 0;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tune", required_argument, NULL, 't'},
        {"grid", required_argument, NULL, 'g'},
        {"bars", required_argument, NULL, 'b'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    convert_ctx c = {NULL, NULL, 0, 0, 0, -1, -1, -1, 0, 0, 0, 0, 0, {NULL, 0, 0}};
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "t:g:b:fh", longopts, NULL)) != -1) {
        switch (opt) {
        case 't':
            c.tune = strtol(optarg, &end, 10);
            if (*end || end == optarg || c.tune < 0)
                return cli_usage_error("convert", "--tune takes an X: number");
            break;
        case 'g': {
            long g = strtol(optarg, &end, 10);
            if (*end || end == optarg || g < 1 || g > 960)
                return cli_usage_error("convert", "--grid takes divisions of a quarter note, 1 to 960");
            c.grid = (int)g;
            break;
        }
        case 'f': c.force = 1; break;
        case 'b':
            if (cli_parse_bars(optarg, &c.bar_a, &c.bar_b))
                return cli_usage_error("convert", "--bars takes A-B or A (bar numbers, A <= B)");
            break;
        case 'h': cli_usage(stdout, "convert", options); return cli_flush_stdout();
        default: return cli_usage_error("convert", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "expected IN and OUT");
    c.in = argv[optind];
    c.out = argv[optind + 1];
    c.outfmt = tx_format_from_path(c.out);
    if (c.outfmt != TX_FORMAT_MIDI && c.outfmt != TX_FORMAT_ABC)
        return cli_usage_error("convert", "%s: unknown output format (use .mid, .midi or .abc)", c.out);
    if (c.grid && c.outfmt != TX_FORMAT_ABC)
        return cli_usage_error("convert", "--grid applies to ABC output only");
    uint8_t *data;
    size_t len;
    tx_error err;
    if (tx_read_file(c.in, TX_MIDI_MAX_FILE, &data, &len, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    /* two passes over the items: the first counts them (and their X: numbers) to name the outputs */
    c.counting = 1;
    tx_score_read_each(data, len, c.in, convert_item, &c);
    c.counting = 0;
    tx_score_read_each(data, len, c.in, convert_item, &c);
    tx_free(data);
    tx_free(c.seen.v);
    if (c.tune >= 0 && c.matched == 0) {
        cli_error("%s: no tune with X: number %ld", c.in, c.tune);
        return EXIT_INPUT;
    }
    return c.failed ? EXIT_INPUT : EXIT_OK;
}
