/* detokenize.c: `tactus detokenize`: REMI / REMI+ token text (or ids) back to a score file, MIDI by
 * default. Malformed note groups are skipped as MidiTok skips them, and counted on stderr; an unknown
 * token is an error that names it and its place. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokenizers/remi.h"

static const char options[] =
    "  -t, --tokenizer NAME   remi (default) or remi+\n"
    "  -c, --config FILE      a MidiTok tokenizer JSON; overrides --tokenizer\n"
    "  -i, --ids              the input holds ids (numbers) instead of token strings\n"
    "  -p, --programs LIST    REMI: the program of each line, comma-separated (-1: drums; default 0)\n"
    "  -o, --output FILE      where to write the score (.mid; required)\n"
    "  -h, --help             show this help\n";


/* Ids as text: numbers separated by blanks, one sequence per line. */
static int parse_ids(const tx_remi *r, const char *text, size_t len, const char *path, tx_remi_seqs *q,
                     tx_error *err)
{
    tx_buf line = TX_BUF_INIT;
    tx_buf_reset(&line);
    for (size_t i = 0; i < len;) {
        size_t eol = i;
        while (eol < len && text[eol] != '\n')
            eol++;
        for (size_t a = i; a < eol;) {
            while (a < eol && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r' || text[a] == ','))
                a++;
            if (a == eol)
                break;
            char *end;
            errno = 0;
            long v = strtol(text + a, &end, 10);
            size_t used = (size_t)(end - (text + a));
            if (!used || errno || (end < text + eol && *end != ' ' && *end != '\t' && *end != '\r' &&
                                   *end != ',') || !tx_remi_token(r, (int)v) || v > 0x7fffffff) {
                tx_buf_free(&line);
                return tx_error_set(err, TX_ESYNTAX, "%s: byte %zu: \"%.*s\" is not an id of this vocabulary",
                                    path, a + 1, (int)(used ? used : 1), text + a);
            }
            tx_buf_printf(&line, "%s%s", line.len && line.data[line.len - 1] != '\n' ? " " : "",
                          tx_remi_token(r, (int)v));
            a += used;
        }
        if (line.len && line.data[line.len - 1] != '\n')
            tx_buf_putc(&line, '\n');
        i = eol + 1;
    }
    if (line.oom) {
        tx_buf_free(&line);
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    int rc = tx_remi_text_to_ids(r, line.data ? line.data : "", line.len, path, q, err);
    tx_buf_free(&line);
    return rc;
}

int cmd_detokenize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"ids", no_argument, NULL, 'i'},
        {"programs", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = "remi", *config = NULL, *output = NULL, *programs = NULL;
    int ids = 0, c;
    while ((c = getopt_long(argc, argv, "t:c:ip:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': name = optarg; break;
        case 'c': config = optarg; break;
        case 'i': ids = 1; break;
        case 'p': programs = optarg; break;
        case 'o': output = optarg; break;
        case 'h': cli_usage(stdout, "detokenize", options); return cli_flush_stdout();
        default: return cli_usage_error("detokenize", "bad option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("detokenize", "expected one input file");
    if (!output)
        return cli_usage_error("detokenize", "no output file (-o)");
    const char *path = argv[optind];
    tx_remi *r = cli_remi_open(name, config, 0);
    if (!r)
        return EXIT_USAGE;
    int status = EXIT_OK;
    uint8_t *text = NULL;
    size_t len = 0;
    tx_error err;
    tx_error_clear(&err);
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    tx_score *s = NULL;
    int *progs = NULL;
    int rc = tx_read_file(path, 256u << 20, &text, &len, &err);
    if (!rc)
        rc = ids ? parse_ids(r, (const char *)text, len, path, &q, &err)
                 : tx_remi_text_to_ids(r, (const char *)text, len, path, &q, &err);
    if (!rc && q.n_seqs == 0)
        rc = tx_error_set(&err, TX_ESYNTAX, "%s: no tokens", path);
    if (!rc && tx_remi_get_config(r)->one_token_stream && q.n_seqs != 1)
        rc = tx_error_set(&err, TX_ESYNTAX, "%s: %zu lines, but this tokenizer writes one sequence", path,
                          q.n_seqs);
    if (!rc) {
        progs = tx_calloc(q.n_seqs, sizeof *progs);
        if (!progs)
            rc = tx_error_set(&err, TX_ENOMEM, "out of memory");
        for (size_t i = 0; programs && *programs && !rc && i < q.n_seqs; i++) {
            char *end;
            long v = strtol(programs, &end, 10);
            if (end == programs || v < -1 || v > 127 || (*end && *end != ',')) {
                status = cli_usage_error("detokenize", "--programs: expected numbers from -1 to 127");
                rc = -1;
                break;
            }
            progs[i] = (int)v;
            programs = *end == ',' ? end + 1 : end;   /* lines past the list stay program 0 */
        }
    }
    if (!rc) {
        const int32_t **seqs = tx_calloc(q.n_seqs, sizeof *seqs);
        size_t *lens = tx_calloc(q.n_seqs, sizeof *lens);
        if (!seqs || !lens) {
            rc = tx_error_set(&err, TX_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < q.n_seqs; i++) {
                seqs[i] = q.ids + q.starts[i];
                lens[i] = q.starts[i + 1] - q.starts[i];
            }
            tx_remi_decode_stats st;
            rc = tx_remi_decode(r, seqs, lens, progs, q.n_seqs, &s, &st, &err);
            if (!rc && st.skipped)
                cli_error("%s: %zu malformed token group%s skipped", path, st.skipped,
                          st.skipped == 1 ? "" : "s");
        }
        tx_free(seqs);
        tx_free(lens);
    }
    if (!rc)
        rc = tx_score_write_file(s, output, tx_format_from_path(output) == TX_FORMAT_UNKNOWN ? TX_FORMAT_MIDI
                                                                                            : tx_format_from_path(output), &err);
    if (rc > 0) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
    }
    tx_score_free(s);
    tx_free(progs);
    tx_free(text);
    tx_remi_seqs_free(&q);
    tx_remi_free(r);
    return status;
}
