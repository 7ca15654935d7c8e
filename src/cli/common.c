/* common.c: helpers every command uses: error messages, usage text, checked output. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void verror(const char *fmt, va_list ap)
{
    fputs("tactus: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
}

void cli_usage(FILE *out, const char *name, const char *options)
{
    const tx_command *c = cli_find_command(name);
    if (!c)
        return;
    fprintf(out, "usage: %s\n\n%s.\n", c->synopsis, c->summary);
    if (options && *options)
        fprintf(out, "\noptions:\n%s", options);
    fprintf(out, "\nSee man tactus-%s for more.\n", name);
}

int cli_usage_error(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'tactus %s --help'.\n", name);
    return EXIT_USAGE;
}

int cli_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* a reader that went away (`| head`) is not worth a message; a full disk is */
        if (errno != EPIPE)
            cli_error("error writing to standard output: %s", strerror(errno));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

int cli_each_score(const char *path, tx_score_item_fn fn, void *ud)
{
    uint8_t *data;
    size_t len;
    tx_error err;
    if (tx_read_file(path, TX_MIDI_MAX_FILE, &data, &len, &err)) {
        tx_score_item failed = {tx_format_from_path(path), 0, -1, "", NULL, 0, err.code, &err, NULL};
        return fn(ud, &failed);
    }
    int stop = tx_score_read_each(data, len, path, fn, ud);
    tx_free(data);
    return stop;
}

/* cli_read_one's walk: the first score, or the first tune numbered `tune` */
typedef struct read_one {
    long tune;
    tx_score *score;
    int format, failed;
} read_one;

static int read_one_item(void *ud, tx_score_item *it)
{
    read_one *r = ud;
    if (r->tune >= 0 && it->number != r->tune && it->status == TX_OK)
        return 0;
    r->format = it->format;
    if (it->status != TX_OK) {
        if (r->tune >= 0 && it->number != r->tune)
            return 0;   /* another tune failed: not the one asked for */
        cli_error("%s", it->error->msg);
        r->failed = 1;
        return 1;
    }
    r->score = it->score;
    it->score = NULL;
    return 1;
}

int cli_read_one(const char *path, long tune, tx_score **out, int *format)
{
    read_one r = {tune, NULL, TX_FORMAT_UNKNOWN, 0};
    *out = NULL;
    cli_each_score(path, read_one_item, &r);
    if (format)
        *format = r.format;
    if (r.failed)
        return EXIT_INPUT;
    if (!r.score) {
        if (tune >= 0)
            cli_error("%s: no tune with X: number %ld", path, tune);
        else
            cli_error("%s: no score in the file", path);
        return EXIT_INPUT;
    }
    *out = r.score;
    return EXIT_OK;
}

void cli_json_write(tx_buf *b, const tx_json *j)
{
    switch (j->type) {
    case TX_JSON_NULL: tx_buf_puts(b, "null"); break;
    case TX_JSON_FALSE: tx_buf_puts(b, "false"); break;
    case TX_JSON_TRUE: tx_buf_puts(b, "true"); break;
    case TX_JSON_NUMBER:
        if (j->is_integer)
            tx_buf_printf(b, "%" PRId64, j->integer);
        else
            tx_buf_printf(b, "%.17g", j->num);
        break;
    case TX_JSON_STRING: tx_buf_json_string(b, j->str); break;
    case TX_JSON_ARRAY:
    case TX_JSON_OBJECT:
        tx_buf_putc(b, j->type == TX_JSON_ARRAY ? '[' : '{');
        for (size_t i = 0; i < j->len; i++) {
            if (i)
                tx_buf_puts(b, ", ");
            if (j->type == TX_JSON_OBJECT) {
                tx_buf_json_string(b, j->keys[i]);
                tx_buf_puts(b, ": ");
            }
            cli_json_write(b, j->items[i]);
        }
        tx_buf_putc(b, j->type == TX_JSON_ARRAY ? ']' : '}');
        break;
    }
}

int cli_read_json_file(const char *path, size_t max, tx_arena *a, tx_json **out)
{
    uint8_t *text;
    size_t len;
    tx_error err;
    if (tx_read_file(path, max, &text, &len, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    int rc = tx_json_parse((const char *)text, len, path, a, out, &err);
    tx_free(text);
    if (rc) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

int cli_parse_bars(const char *s, long *a, long *b)
{
    char *end;
    long x = strtol(s, &end, 10), y = x;
    if (end == s || x < 0)
        return -1;
    if (*end == '-') {
        const char *p = end + 1;
        y = strtol(p, &end, 10);
        if (end == p)
            return -1;
    }
    if (*end || y < x || y > 1 << 20)
        return -1;
    *a = x;
    *b = y;
    return 0;
}

void cli_score_shift_earlier(tx_score *s, tx_tick d)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].onset >= d) {
            s->notes[k] = s->notes[i];
            s->notes[k++].onset -= d;
        }
    s->n_notes = k;
    for (size_t i = 0; i < s->n_tempos; i++)
        s->tempos[i].tick = s->tempos[i].tick >= d ? s->tempos[i].tick - d : 0;
    for (size_t i = 0; i < s->n_timesigs; i++)
        s->timesigs[i].tick = s->timesigs[i].tick >= d ? s->timesigs[i].tick - d : 0;
    for (size_t i = 0; i < s->n_keysigs; i++)
        s->keysigs[i].tick = s->keysigs[i].tick >= d ? s->keysigs[i].tick - d : 0;
    for (size_t i = 0; i < s->n_texts; i++)
        s->texts[i].tick = s->texts[i].tick >= d ? s->texts[i].tick - d : 0;
}

void cli_json_head(tx_buf *b, const char *path, const tx_score_item *it)
{
    tx_buf_puts(b, "{\"file\": ");
    tx_buf_json_string(b, path);
    if (it->format == TX_FORMAT_ABC) {
        tx_buf_printf(b, ", \"tune\": %ld, \"index\": %ld, \"title\": ", it->number, it->index);
        tx_buf_json_string(b, it->title);
    }
    tx_buf_printf(b, ", \"format\": \"%s\"", tx_format_name(it->format));
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_emit_item(const char *path, int rc, const char *msg, const tx_buf *b, int *status)
{
    if (rc) {
        cli_error("%s", msg);
        *status = EXIT_INPUT;
    }
    if (b->oom) {
        cli_error("%s: out of memory", path);
        *status = EXIT_INPUT;
    } else if (b->len) {
        fwrite(b->data, 1, b->len, stdout);
    }
    return cli_flush_stdout() ? -1 : 0;
}
