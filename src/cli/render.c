/* render.c: `tactus render IN -o OUT.svg`: the piano roll of one score as an SVG picture. IN is any
 * score tactus reads; of a file of tunes (ABC) the first tune is drawn, or the one --tune picks.
 * --mark A-B shades bars A to B (1-based, as musicians count; a pickup is bar 0) and outlines their
 * notes, to show what a model wrote. The drawing is the library's (src/render.h); this file parses
 * arguments, reads the score (cli_read_one) and writes the file (atomically; "-" is standard output).
 * A score without a title is titled with its file name. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char options[] =
    "  -o, --output FILE  write the SVG to FILE (\"-\": standard output)\n"
    "  -t, --tune N       from a file of tunes (ABC), draw the tune with X: number N (default: the first)\n"
    "  -m, --mark BARS    shade bars A-B (or A- to the end) and outline their notes as generated\n"
    "  -w, --width PX     largest width of the picture in pixels; longer scores are scaled down\n"
    "                     (default 3000; 0: no limit)\n"
    "  -p, --ppq PX       pixels per quarter note before any scaling down (default 24)\n"
    "  -h, --help         show this help\n";

/* "A-B" or "A-": 1-based bars, A <= B. */
static int parse_bars(const char *s, long *a, long *b)
{
    const char *dash = strchr(s, '-');
    if (!dash || dash == s)
        return -1;
    char first[32];
    size_t n = (size_t)(dash - s);
    if (n >= sizeof first)
        return -1;
    memcpy(first, s, n);
    first[n] = '\0';
    if (cli_parse_long(first, 0, 1000000000L, a))
        return -1;
    *b = -1;
    if (dash[1] && (cli_parse_long(dash + 1, 0, 1000000000L, b) || *b < *a))
        return -1;
    return 0;
}

int cmd_render(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"tune", required_argument, NULL, 't'},
        {"mark", required_argument, NULL, 'm'},
        {"width", required_argument, NULL, 'w'},
        {"ppq", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tx_render_options ro;
    tx_render_options_init(&ro);
    long tune = -1;
    const char *out = NULL, *mark = NULL;
    long mark_a = -1, mark_b = -1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:t:m:w:p:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 't':
            if (cli_parse_long(optarg, 0, 1000000000L, &tune))
                return cli_usage_error("render", "--tune takes an X: number");
            break;
        case 'm':
            if (parse_bars(optarg, &mark_a, &mark_b))
                return cli_usage_error("render", "--mark takes bars as A-B or A- (1-based, A <= B)");
            mark = optarg;
            break;
        case 'w':
            if (cli_parse_double(optarg, 0, 200000, &ro.max_width) ||
                (ro.max_width > 0 && ro.max_width < 100))
                return cli_usage_error("render", "--width takes pixels, 100 to 200000 (0: no limit)");
            break;
        case 'p':
            if (cli_parse_double(optarg, 0.01, 10000, &ro.px_per_quarter))
                return cli_usage_error("render", "--ppq takes pixels per quarter note, 0.01 to 10000");
            break;
        case 'h': cli_usage(stdout, "render", options); return cli_flush_stdout();
        default: return cli_usage_error("render", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("render", "expected one input file");
    if (!out)
        return cli_usage_error("render", "no output given (-o OUT.svg, or -o - for standard output)");
    const char *in = argv[optind];

    tx_score *score;
    if (cli_read_one(in, tune, &score, NULL))
        return EXIT_INPUT;

    /* bars to ticks: bar A starts the span, bar B + 1 ends it */
    if (mark) {
        int64_t base = score->pickup > 0 ? 0 : 1;
        if (mark_a < base) {
            tx_score_free(score);
            return cli_usage_error("render", "--mark: bars count from %" PRId64 " in %s", base, in);
        }
        ro.mark_from = tx_score_bar_tick(score, mark_a - base);
        ro.mark_to = mark_b < 0 ? -1 : tx_score_bar_tick(score, mark_b + 1 - base);
    }

    /* a score without a title is named after its file */
    const char *title = tx_score_meta(score, "title");
    if ((!title || !*title) && strcmp(in, "-") != 0)
        ro.title = tx_basename(in);

    tx_buf svg = TX_BUF_INIT;
    tx_error err;
    int rc = tx_render_svg(score, &ro, &svg, &err);
    tx_score_free(score);
    if (rc) {
        cli_error("%s: %s", in, err.msg);
        tx_buf_free(&svg);
        return EXIT_INPUT;
    }
    int status = EXIT_OK;
    if (strcmp(out, "-") == 0) {
        fwrite(svg.data, 1, svg.len, stdout);
        status = cli_flush_stdout();
    } else if (tx_write_file_atomic(out, svg.data, svg.len, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
    }
    tx_buf_free(&svg);
    return status;
}
