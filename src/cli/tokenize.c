/* tokenize.c: `tactus tokenize`: scores to REMI / REMI+ tokens, MidiTok-compatible, as token strings
 * (one sequence per line), ids (--ids), or one JSON object per input file per line (--json).
 * A file that fails is reported and the others go on. The ABC text tokenizer and BPE are not here yet. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tokenizers/remi.h"

static const char options[] =
    "  -t, --tokenizer NAME   remi (default) or remi+ (programs, tempos, time signatures, one stream)\n"
    "  -c, --config FILE      a MidiTok tokenizer JSON (tokenizer.save()); overrides --tokenizer\n"
    "  -i, --ids              print ids instead of token strings\n"
    "  -j, --json             one JSON object per file per line\n"
    "      --miditok-compat   reproduce MidiTok 3.0.6's resampling bug (mixed time-signature denominators)\n"
    "  -h, --help             show this help\n";

/* Builds the tokenizer from --tokenizer / --config; prints the error and returns NULL on failure. */
tx_remi *cli_remi_open(const char *name, const char *config, int compat)
{
    tx_remi_config c;
    tx_error err;
    tx_error_clear(&err);
    if (config) {
        uint8_t *text;
        size_t len;
        if (tx_read_file(config, 16u << 20, &text, &len, &err)) {
            cli_error("%s", err.msg);
            return NULL;
        }
        int rc = tx_remi_config_read(&c, (const char *)text, len, config, &err);
        tx_free(text);
        if (rc) {
            cli_error("%s", err.msg);
            return NULL;
        }
    } else if (!strcmp(name, "remi")) {
        tx_remi_config_default(&c);
    } else if (!strcmp(name, "remi+") || !strcmp(name, "remi-plus")) {
        tx_remi_config_plus(&c);
    } else if (!strcmp(name, "abc")) {
        cli_error("--tokenizer abc: the ABC text tokenizer is not available yet");
        return NULL;
    } else {
        cli_error("--tokenizer %s: unknown tokenizer (remi, remi+)", name);
        return NULL;
    }
    c.compat_miditok_bugs = compat;
    tx_remi *r = tx_remi_new(&c, &err);
    if (!r)
        cli_error("%s", err.msg);
    return r;
}

static void print_sequences(tx_buf *b, const tx_remi *r, const tx_remi_seqs *q, const char *path, int ids,
                            int json)
{
    if (json) {
        tx_buf_puts(b, "{\"file\": ");
        tx_buf_json_string(b, path);
        tx_buf_puts(b, ", \"sequences\": [");
    }
    for (size_t s = 0; s < q->n_seqs; s++) {
        if (json)
            tx_buf_puts(b, s ? ", [" : "[");
        for (size_t i = q->starts[s]; i < q->starts[s + 1]; i++) {
            if (i > q->starts[s])
                tx_buf_puts(b, json ? ", " : " ");
            if (ids)
                tx_buf_printf(b, "%d", (int)q->ids[i]);
            else if (json)
                tx_buf_json_string(b, tx_remi_token(r, q->ids[i]));
            else
                tx_buf_puts(b, tx_remi_token(r, q->ids[i]));
        }
        tx_buf_puts(b, json ? "]" : "\n");
    }
    if (json)
        tx_buf_puts(b, "]}\n");
}

int cmd_tokenize(int argc, char **argv)
{
    enum { OPT_COMPAT = 256 };
    static const struct option longopts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"ids", no_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"bpe", required_argument, NULL, 'b'},
        {"miditok-compat", no_argument, NULL, OPT_COMPAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = "remi", *config = NULL;
    int ids = 0, json = 0, compat = 0, c;
    while ((c = getopt_long(argc, argv, "t:c:ijh", longopts, NULL)) != -1) {
        switch (c) {
        case 't': name = optarg; break;
        case 'c': config = optarg; break;
        case 'i': ids = 1; break;
        case 'j': json = 1; break;
        case 'b':
            cli_error("--bpe: BPE is not available yet");
            return EXIT_USAGE;
        case OPT_COMPAT: compat = 1; break;
        case 'h': cli_usage(stdout, "tokenize", options); return cli_flush_stdout();
        default: return cli_usage_error("tokenize", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("tokenize", "no input files");
    tx_remi *r = cli_remi_open(name, config, compat);
    if (!r)
        return EXIT_USAGE;
    int status = EXIT_OK;
    tx_buf out = TX_BUF_INIT;
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        tx_score *s = NULL;
        tx_error err;
        tx_error_clear(&err);
        tx_buf_reset(&out);
        int rc = tx_score_read_file(path, &s, NULL, &err);
        if (rc == TX_OK && (rc = tx_remi_encode(r, s, &q, &err)) != TX_OK) {
            char msg[TX_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err.msg);
            tx_error_set(&err, rc, "%s: %s", path, msg);
        }
        if (rc) {
            cli_error("%s", err.msg);
            if (json) {
                tx_buf_puts(&out, "{\"file\": ");
                tx_buf_json_string(&out, path);
                tx_buf_puts(&out, ", \"error\": ");
                tx_buf_json_string(&out, err.msg);
                tx_buf_puts(&out, "}\n");
            }
            status = EXIT_INPUT;
        } else {
            print_sequences(&out, r, &q, path, ids, json);
        }
        tx_score_free(s);
        if (out.oom) {
            cli_error("%s: out of memory", path);
            status = EXIT_INPUT;
        } else {
            fwrite(out.data ? out.data : "", 1, out.len, stdout);
        }
        if (cli_flush_stdout()) {
            status = EXIT_INPUT;
            break;
        }
    }
    tx_buf_free(&out);
    tx_remi_seqs_free(&q);
    tx_remi_free(r);
    return status;
}
