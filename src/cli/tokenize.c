/* tokenize.c: `tactus tokenize`: scores to tokens. REMI / REMI+ (MidiTok-compatible) read MIDI files,
 * one sequence per track or per file; the ABC text tokenizer reads ABC files, one sequence per tune.
 * With --bpe a trained model (`tactus vocab train`) merges each sequence after the base tokenizer.
 * Output: token strings (one sequence per line), ids (--ids), or one JSON object per input file per
 * line (--json). A file that fails is reported and the others go on.
 * Not here: the tokenizers themselves (tokenizers/), reading a whole corpus (tactus corpus). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tokenizers/abctok.h"
#include "tokenizers/bpe.h"
#include "tokenizers/remi.h"

static const char options[] =
    "  -t, --tokenizer NAME   remi (default), remi+ (programs, tempos, time signatures, one stream)\n"
    "                         or abc (the ABC text tokenizer: one sequence per tune)\n"
    "  -c, --config FILE      a MidiTok tokenizer JSON (tokenizer.save()); overrides remi / remi+\n"
    "  -b, --bpe FILE         merge the tokens with a BPE model (tactus vocab train)\n"
    "  -i, --ids              print ids instead of token strings\n"
    "  -j, --json             one JSON object per file per line\n"
    "      --miditok-compat   reproduce MidiTok 3.0.6's resampling bug (mixed time-signature denominators)\n"
    "      --strip-text       abc: keep only the music fields (K: L: M: Q: P: V: U: I: m:, %%MIDI)\n"
    "      --strip-titles     abc: remove T: lines\n"
    "      --keep-x           abc: keep X: lines, renumbered X:1 (they are dropped by default)\n"
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
    } else {
        cli_error("--tokenizer %s: unknown tokenizer (remi, remi+, abc)", name);
        return NULL;
    }
    c.compat_miditok_bugs = compat;
    tx_remi *r = tx_remi_new(&c, &err);
    if (!r)
        cli_error("%s", err.msg);
    return r;
}

/* ---- the token strings of a vocabulary ---- */

/* The printed form of every id: REMI token strings (a merged id: its base strings joined with '+'),
 * or, for ABC, each token's text as a JSON string literal (ABC tokens hold spaces and newlines). */
typedef struct vocab_text {
    tx_arena arena;
    const char **str;     /* (vocab) */
    int n;
    int quoted;           /* str[] are JSON literals already */
} vocab_text;

static int vocab_text_remi(vocab_text *v, const tx_remi *r, const tx_bpe *b)
{
    v->n = b ? tx_bpe_vocab_size(b) : tx_remi_vocab_size(r);
    v->quoted = 0;
    v->str = tx_calloc((size_t)v->n, sizeof *v->str);
    if (!v->str)
        return TX_ENOMEM;
    tx_buf s = TX_BUF_INIT;
    tx_bpe_ids base = TX_BPE_IDS_INIT;
    int rc = TX_OK;
    for (int id = 0; id < v->n && !rc; id++) {
        /* through the model even for low ids: a tokenizer.json made by MidiTok numbers its tokens
         * its own way */
        if (!b) {
            v->str[id] = tx_remi_token(r, id);
            continue;
        }
        int32_t one = id;
        base.len = 0;
        tx_buf_reset(&s);
        if (tx_bpe_decode(b, &one, 1, &base, NULL) != TX_OK) {
            v->str[id] = "(unused)";   /* a hole in the file's numbering; the encoder never makes it */
            continue;
        }
        for (size_t k = 0; k < base.len; k++) {
            if (k)
                tx_buf_putc(&s, '+');
            tx_buf_puts(&s, tx_remi_token(r, base.ids[k]));
        }
        if (s.oom || !(v->str[id] = tx_arena_strdup(&v->arena, s.data)))
            rc = TX_ENOMEM;
    }
    tx_buf_free(&s);
    tx_bpe_ids_free(&base);
    return rc;
}

static int vocab_text_abc(vocab_text *v, const tx_abctok *t)
{
    v->n = tx_abctok_vocab_size(t);
    v->quoted = 1;
    v->str = tx_calloc((size_t)v->n, sizeof *v->str);
    if (!v->str)
        return TX_ENOMEM;
    tx_buf s = TX_BUF_INIT, lit = TX_BUF_INIT;
    int rc = TX_OK;
    for (int id = 0; id < v->n && !rc; id++) {
        tx_buf_reset(&s);
        tx_buf_reset(&lit);
        if ((rc = tx_abctok_token(t, id, &s)) == TX_EINVAL) {
            v->str[id] = "\"(unused)\"";   /* a hole in the model's numbering; never encoded */
            rc = TX_OK;
            continue;
        }
        if (rc)
            break;
        tx_buf_json_string(&lit, s.data ? s.data : "");
        if (lit.oom || !(v->str[id] = tx_arena_strdup(&v->arena, lit.data)))
            rc = TX_ENOMEM;
    }
    tx_buf_free(&s);
    tx_buf_free(&lit);
    return rc;
}

static void vocab_text_free(vocab_text *v)
{
    tx_free(v->str);
    tx_arena_free(&v->arena);
}

tx_bpe *cli_bpe_open(const char *path, int base, const char *tokname)
{
    tx_bpe *b = NULL;
    tx_error err;
    tx_error_clear(&err);
    if (tx_bpe_load_file(path, &b, &err)) {
        cli_error("%s", err.msg);
        return NULL;
    }
    if (tx_bpe_base_size(b) != base) {
        cli_error("%s: a BPE model for a base vocabulary of %d tokens, but the %s tokenizer has %d", path,
                  tx_bpe_base_size(b), tokname, base);
        tx_bpe_free(b);
        return NULL;
    }
    return b;
}

/* ---- output ---- */

/* Sequences of one file, back to back. */
typedef struct seqlist {
    tx_bpe_ids ids;
    size_t *starts;       /* n + 1 offsets into ids.ids */
    size_t n, cap;
} seqlist;

/* Closes the sequence that ends at ids.len. */
static int seq_close(seqlist *L)
{
    if (tx_grow((void **)&L->starts, &L->cap, L->n + 2, sizeof *L->starts))
        return TX_ENOMEM;
    if (L->n == 0)
        L->starts[0] = 0;
    L->starts[++L->n] = L->ids.len;
    return TX_OK;
}

static void print_sequences(tx_buf *b, const vocab_text *v, const seqlist *L, const char *path, int ids,
                            int json)
{
    if (json) {
        tx_buf_puts(b, "{\"file\": ");
        tx_buf_json_string(b, path);
        tx_buf_puts(b, ", \"sequences\": [");
    }
    for (size_t s = 0; s < L->n; s++) {
        if (json)
            tx_buf_puts(b, s ? ", [" : "[");
        for (size_t i = L->starts[s]; i < L->starts[s + 1]; i++) {
            int32_t id = L->ids.ids[i];
            if (i > L->starts[s])
                tx_buf_puts(b, json ? ", " : " ");
            if (ids)
                tx_buf_printf(b, "%d", (int)id);
            else if (json && !v->quoted)
                tx_buf_json_string(b, v->str[id]);
            else
                tx_buf_puts(b, v->str[id]);
        }
        tx_buf_puts(b, json ? "]" : "\n");
    }
    if (json)
        tx_buf_puts(b, "]}\n");
}

/* ---- one file ---- */

static int tokenize_remi(const tx_remi *r, const tx_bpe *bpe, const char *path, tx_remi_seqs *q, seqlist *L,
                         tx_error *err)
{
    tx_score *s = NULL;
    int rc = tx_score_read_file(path, &s, NULL, err);
    if (rc == TX_OK && (rc = tx_remi_encode(r, s, q, err)) != TX_OK) {
        char msg[TX_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        tx_error_set(err, rc, "%s: %s", path, msg);
    }
    tx_score_free(s);
    for (size_t k = 0; rc == TX_OK && k < q->n_seqs; k++) {
        const int32_t *seq = q->ids + q->starts[k];
        size_t n = q->starts[k + 1] - q->starts[k];
        if (bpe)
            rc = tx_bpe_encode(bpe, seq, n, &L->ids, err);
        else if (tx_grow((void **)&L->ids.ids, &L->ids.cap, L->ids.len + n + 1, sizeof *L->ids.ids))
            rc = TX_ENOMEM;
        else {
            if (n)
                memcpy(L->ids.ids + L->ids.len, seq, n * sizeof *seq);
            L->ids.len += n;
        }
        if (!rc)
            rc = seq_close(L);
        if (rc == TX_ENOMEM)
            tx_error_set(err, rc, "%s: out of memory", path);
    }
    return rc;
}

static int tokenize_abc(const tx_abctok *t, const char *path, seqlist *L, tx_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0, pos = 0, start, tlen;
    int rc = tx_read_file(path, 1u << 30, &data, &len, err);
    if (rc)
        return rc;
    if (tx_format_detect(data, len, path) == TX_FORMAT_MIDI)
        rc = tx_error_set(err, TX_EUNSUP, "%s: a MIDI file; the abc tokenizer reads ABC text", path);
    while (!rc && tx_abctok_next_tune((const char *)data, len, &pos, &start, &tlen)) {
        if ((rc = tx_abctok_encode(t, (const char *)data + start, tlen, &L->ids, err)) == TX_OK)
            rc = seq_close(L);
        if (rc) {
            char msg[TX_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", rc == TX_ENOMEM ? "out of memory" : err->msg);
            tx_error_set(err, rc, "%s: tune %zu: %s", path, L->n + 1, msg);
        }
    }
    if (!rc && L->n == 0)
        rc = tx_error_set(err, TX_ESYNTAX, "%s: no tunes (a tune starts with a line \"X:\")", path);
    tx_free(data);
    return rc;
}

int cmd_tokenize(int argc, char **argv)
{
    enum { OPT_COMPAT = 256, OPT_STRIP_TEXT, OPT_STRIP_TITLES, OPT_KEEP_X };
    static const struct option longopts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"ids", no_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"bpe", required_argument, NULL, 'b'},
        {"miditok-compat", no_argument, NULL, OPT_COMPAT},
        {"strip-text", no_argument, NULL, OPT_STRIP_TEXT},
        {"strip-titles", no_argument, NULL, OPT_STRIP_TITLES},
        {"keep-x", no_argument, NULL, OPT_KEEP_X},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = "remi", *config = NULL, *bpe_path = NULL;
    int ids = 0, json = 0, compat = 0, c;
    tx_abctok_options ao;
    tx_abctok_options_init(&ao);
    int abc_flags = 0;
    while ((c = getopt_long(argc, argv, "t:c:b:ijh", longopts, NULL)) != -1) {
        switch (c) {
        case 't': name = optarg; break;
        case 'c': config = optarg; break;
        case 'i': ids = 1; break;
        case 'j': json = 1; break;
        case 'b': bpe_path = optarg; break;
        case OPT_COMPAT: compat = 1; break;
        case OPT_STRIP_TEXT: ao.strip_text = 1; abc_flags = 1; break;
        case OPT_STRIP_TITLES: ao.strip_titles = 1; abc_flags = 1; break;
        case OPT_KEEP_X: ao.x_mode = TX_ABCTOK_X_RENUMBER; abc_flags = 1; break;
        case 'h': cli_usage(stdout, "tokenize", options); return cli_flush_stdout();
        default: return cli_usage_error("tokenize", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("tokenize", "no input files");
    int is_abc = !strcmp(name, "abc");
    if (is_abc && (config || compat))
        return cli_usage_error("tokenize", "%s is for the REMI tokenizers, not abc",
                               config ? "--config" : "--miditok-compat");
    if (!is_abc && abc_flags)
        return cli_usage_error("tokenize", "--strip-text, --strip-titles and --keep-x are for --tokenizer abc");

    tx_remi *r = NULL;
    tx_abctok *t = NULL;
    tx_bpe *bpe = NULL;
    vocab_text v = {TX_ARENA_INIT, NULL, 0, 0};
    tx_error err;
    tx_error_clear(&err);
    int status = EXIT_OK, rc;
    if (is_abc) {
        if (!(t = tx_abctok_new(&ao, &err))) {
            cli_error("%s", err.msg);
            return EXIT_USAGE;
        }
        if (bpe_path) {
            if (!(bpe = cli_bpe_open(bpe_path, TX_ABCTOK_BASE_SIZE, name))) {
                tx_abctok_free(t);
                return EXIT_INPUT;
            }
            if (tx_abctok_set_bpe(t, bpe, &err)) {   /* takes bpe, also on failure */
                cli_error("%s: %s", bpe_path, err.msg);
                tx_abctok_free(t);
                return EXIT_INPUT;
            }
            bpe = NULL;
        }
        rc = vocab_text_abc(&v, t);
    } else {
        if (!(r = cli_remi_open(name, config, compat)))
            return EXIT_USAGE;
        if (bpe_path && !(bpe = cli_bpe_open(bpe_path, tx_remi_vocab_size(r), config ? config : name))) {
            tx_remi_free(r);
            return EXIT_INPUT;
        }
        rc = vocab_text_remi(&v, r, bpe);
    }
    if (rc) {
        cli_error("out of memory");
        status = EXIT_INPUT;
        goto done;
    }

    tx_buf out = TX_BUF_INIT;
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    seqlist L = {TX_BPE_IDS_INIT, NULL, 0, 0};
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        tx_error_clear(&err);
        tx_buf_reset(&out);
        L.ids.len = 0;
        L.n = 0;
        rc = is_abc ? tokenize_abc(t, path, &L, &err) : tokenize_remi(r, bpe, path, &q, &L, &err);
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
            print_sequences(&out, &v, &L, path, ids, json);
        }
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
    tx_bpe_ids_free(&L.ids);
    tx_free(L.starts);
done:
    vocab_text_free(&v);
    tx_bpe_free(bpe);
    tx_abctok_free(t);
    tx_remi_free(r);
    return status;
}
