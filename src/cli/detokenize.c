/* detokenize.c: `tactus detokenize`: tokens back to a score. REMI / REMI+ token text (or ids) becomes
 * a MIDI file; ABC text tokens (JSON string literals, or ids) become an .abc file of normalised tunes.
 * With --bpe the merged tokens are expanded to base tokens first. Malformed REMI note groups are
 * skipped as MidiTok skips them, and counted on stderr; an unknown token or id is an error that names
 * it and its place. Not here: the decoders themselves (tokenizers/). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tokenizers/abctok.h"
#include "tokenizers/bpe.h"
#include "tokenizers/remi.h"

static const char options[] =
    "  -t, --tokenizer NAME   remi (default), remi+ or abc\n"
    "  -c, --config FILE      a MidiTok tokenizer JSON; overrides remi / remi+\n"
    "  -b, --bpe FILE         the BPE model the tokens were merged with (tactus vocab train)\n"
    "  -i, --ids              the input holds ids (numbers) instead of token strings\n"
    "  -p, --programs LIST    REMI: the program of each line, comma-separated (-1: drums; default 0)\n"
    "  -o, --output FILE      where to write the score (.mid; .abc text for abc, '-' for standard\n"
    "                         output; required)\n"
    "  -h, --help             show this help\n";

/* ---- token strings to ids ---- */

/* A sorted index of the printed form of every id, to find ids by string: REMI strings (a merged id:
 * base strings joined with '+'), or the raw text of ABC tokens. Where two ids print alike, the lower
 * wins (an ABC BPE token spelled like a special token's name reads as the special token). */
typedef struct entry {
    const char *s;
    size_t n;
    int32_t id;
} entry;

typedef struct vocab_index {
    tx_arena arena;
    entry *e;     /* (n_entries), sorted by string, then id */
    int n;        /* the vocabulary size */
    int n_entries;
} vocab_index;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* r with an optional model, or t (with its model attached). */
static int index_build(vocab_index *v, const tx_remi *r, const tx_bpe *b, const tx_abctok *t)
{
    v->n = t ? tx_abctok_vocab_size(t) : b ? tx_bpe_vocab_size(b) : tx_remi_vocab_size(r);
    v->e = tx_calloc((size_t)v->n, sizeof *v->e);
    if (!v->e)
        return TX_ENOMEM;
    tx_buf s = TX_BUF_INIT;
    tx_bpe_ids base = TX_BPE_IDS_INIT;
    int rc = TX_OK;
    for (int32_t id = 0; id < v->n && !rc; id++) {
        tx_buf_reset(&s);
        if (t) {
            rc = tx_abctok_token(t, id, &s);
        } else if (!b) {
            tx_buf_puts(&s, tx_remi_token(r, id));
        } else {
            /* through the model even for low ids: MidiTok's tokenizer.json numbers its own way */
            base.len = 0;
            if (tx_bpe_decode(b, &id, 1, &base, NULL) != TX_OK) {
                v->e[id].id = -1;   /* a hole in the file's numbering: no string finds it */
                continue;
            }
            for (size_t k = 0; k < base.len; k++) {
                if (k)
                    tx_buf_putc(&s, '+');
                tx_buf_puts(&s, tx_remi_token(r, base.ids[k]));
            }
        }
        if (rc == TX_EINVAL && t) {
            v->e[id].id = -1;   /* not a token of this vocabulary */
            rc = TX_OK;
            continue;
        }
        v->e[id].n = s.len;
        v->e[id].id = id;
        if (s.oom || !(v->e[id].s = tx_arena_strndup(&v->arena, s.data ? s.data : "", s.len)))
            rc = TX_ENOMEM;
    }
    tx_buf_free(&s);
    tx_bpe_ids_free(&base);
    if (rc)
        return rc;
    int kept = 0;
    for (int i = 0; i < v->n; i++)
        if (v->e[i].id >= 0)
            v->e[kept++] = v->e[i];
    qsort(v->e, (size_t)kept, sizeof *v->e, entry_cmp);
    v->n_entries = kept;
    return TX_OK;
}

static int32_t index_find(const vocab_index *v, const char *s, size_t n)
{
    size_t lo = 0, hi = (size_t)v->n_entries;
    entry key = {s, n, -1};
    while (lo < hi) {   /* the first entry >= key */
        size_t mid = lo + (hi - lo) / 2;
        if (entry_cmp(&v->e[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < (size_t)v->n_entries && v->e[lo].n == n && !memcmp(v->e[lo].s, s, n))
        return v->e[lo].id;
    return -1;
}

static void index_free(vocab_index *v)
{
    tx_free(v->e);
    tx_arena_free(&v->arena);
}

/* Sequences, back to back. */
typedef struct seqlist {
    tx_bpe_ids ids;
    size_t *starts;       /* n + 1 offsets into ids.ids */
    size_t n, cap;
} seqlist;

static int push_id(seqlist *L, int32_t id)
{
    if (tx_grow((void **)&L->ids.ids, &L->ids.cap, L->ids.len + 1, sizeof *L->ids.ids))
        return TX_ENOMEM;
    L->ids.ids[L->ids.len++] = id;
    return TX_OK;
}

static int seq_close(seqlist *L)
{
    if (tx_grow((void **)&L->starts, &L->cap, L->n + 2, sizeof *L->starts))
        return TX_ENOMEM;
    if (L->n == 0)
        L->starts[0] = 0;
    L->starts[++L->n] = L->ids.len;
    return TX_OK;
}

static void seqlist_free(seqlist *L)
{
    tx_bpe_ids_free(&L->ids);
    tx_free(L->starts);
}

/* The end of the JSON string literal that starts at s[a] == '"' (one past its closing quote), or 0. */
static size_t literal_end(const char *s, size_t a, size_t eol)
{
    for (size_t i = a + 1; i < eol; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return 0;
}

/* A token as shown in a message: at most 60 bytes, bytes outside printable ASCII as '?' (the input
 * may be anything). */
static const char *shown(const char *s, size_t n, char buf[64])
{
    size_t k = n < 60 ? n : 60;
    for (size_t i = 0; i < k; i++)
        buf[i] = s[i] >= 32 && s[i] < 127 ? s[i] : '?';
    buf[k] = '\0';
    return buf;
}

/* Reads sequences, one per line, tokens separated by blanks: ids (`ids`), JSON string literals
 * (`quoted`, the ABC tokens), or bare token strings; each must name an id of v (vocabulary size
 * v->n). Blank lines are skipped. Errors name the line and token: "t.txt:3: token 17: ...". */
static int parse_tokens(const vocab_index *v, const char *text, size_t len, const char *path, int ids,
                        int quoted, seqlist *L, tx_error *err)
{
    tx_arena a = TX_ARENA_INIT;
    long line = 0;
    int rc = TX_OK;
    for (size_t i = 0; i < len && !rc;) {
        size_t eol = i;
        while (eol < len && text[eol] != '\n')
            eol++;
        line++;
        long tok = 0;
        size_t before = L->ids.len;
        for (size_t p = i; p < eol && !rc;) {
            while (p < eol && (text[p] == ' ' || text[p] == '\t' || text[p] == '\r' || (ids && text[p] == ',')))
                p++;
            if (p == eol)
                break;
            tok++;
            size_t q = p;
            int32_t id = -1;
            char show[64];
            if (ids) {
                while (q < eol && text[q] != ' ' && text[q] != '\t' && text[q] != '\r' && text[q] != ',')
                    q++;
                char *end;
                errno = 0;
                long val = strtol(text + p, &end, 10);
                if (end == text + q && !errno && val >= 0 && val < v->n)
                    id = (int32_t)val;
                else
                    rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: \"%s\" is not an id of this "
                                      "vocabulary (%d tokens)", path, line, tok, shown(text + p, q - p, show), v->n);
            } else if (quoted) {
                tx_json *j = NULL;
                if (text[p] != '"' || !(q = literal_end(text, p, eol))) {
                    rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: expected a JSON string literal "
                                      "(\"...\")", path, line, tok);
                } else if (tx_json_parse(text + p, q - p, path, &a, &j, err) || j->type != TX_JSON_STRING) {
                    rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: %s is not a valid JSON string",
                                      path, line, tok, shown(text + p, q - p, show));
                } else if ((id = index_find(v, j->str, j->len)) < 0) {
                    rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: unknown token %s", path, line,
                                      tok, shown(text + p, q - p, show));
                }
                if (q < eol && text[q] != ' ' && text[q] != '\t' && text[q] != '\r' && !rc)
                    rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: expected a blank after the string",
                                      path, line, tok);
            } else {
                while (q < eol && text[q] != ' ' && text[q] != '\t' && text[q] != '\r')
                    q++;
                if ((id = index_find(v, text + p, q - p)) < 0)
                    rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: unknown token \"%s\"", path, line,
                                      tok, shown(text + p, q - p, show));
            }
            if (!rc && push_id(L, id))
                rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
            p = q;
        }
        if (!rc && L->ids.len > before && seq_close(L))
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
        i = eol + 1;
    }
    tx_arena_free(&a);
    return rc;
}

/* ---- decoding ---- */

static int decode_abc(const tx_abctok *t, const seqlist *L, const char *path, const char *output, tx_error *err)
{
    tx_buf text = TX_BUF_INIT;
    int rc = TX_OK;
    for (size_t k = 0; k < L->n && !rc; k++) {
        if (k)
            tx_buf_putc(&text, '\n');   /* a blank line between tunes */
        size_t at = text.len;
        rc = tx_abctok_decode(t, L->ids.ids + L->starts[k], L->starts[k + 1] - L->starts[k], &text, err);
        if (rc) {
            char msg[TX_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            tx_error_set(err, rc, "%s: line %zu: %s", path, k + 1, msg);
            break;
        }
        /* a tune of an ABC file starts with X: (the tokenizer drops it by default) */
        if (text.len - at < 2 || memcmp(text.data + at, "X:", 2) != 0) {
            char x[32];
            int n = snprintf(x, sizeof x, "X:%zu\n", k + 1);
            if (!tx_buf_append(&text, x, (size_t)n) && text.len > at + (size_t)n) {
                memmove(text.data + at + n, text.data + at, text.len - at - (size_t)n);
                memcpy(text.data + at, x, (size_t)n);
            }
        }
        if (text.len > at && text.data[text.len - 1] != '\n')
            tx_buf_putc(&text, '\n');
    }
    if (!rc && text.oom)
        rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    if (!rc) {
        if (!strcmp(output, "-")) {
            fwrite(text.data ? text.data : "", 1, text.len, stdout);
            if (cli_flush_stdout())
                rc = -1;
        } else {
            rc = tx_write_file_atomic(output, text.data ? text.data : "", text.len, err);
        }
    }
    tx_buf_free(&text);
    return rc;
}

static int decode_remi(const tx_remi *r, const seqlist *L, const int *progs, const char *path, const char *output,
                       tx_error *err)
{
    tx_score *s = NULL;
    const int32_t **seqs = tx_calloc(L->n, sizeof *seqs);
    size_t *lens = tx_calloc(L->n, sizeof *lens);
    int rc;
    if (!seqs || !lens) {
        rc = tx_error_set(err, TX_ENOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < L->n; i++) {
            seqs[i] = L->ids.ids + L->starts[i];
            lens[i] = L->starts[i + 1] - L->starts[i];
        }
        tx_remi_decode_stats st;
        rc = tx_remi_decode(r, seqs, lens, progs, L->n, &s, &st, err);
        if (!rc && st.skipped)
            cli_error("%s: %zu malformed token group%s skipped", path, st.skipped, st.skipped == 1 ? "" : "s");
    }
    tx_free(seqs);
    tx_free(lens);
    if (!rc) {
        int fmt = tx_format_from_path(output);
        rc = tx_score_write_file(s, output, fmt == TX_FORMAT_UNKNOWN ? TX_FORMAT_MIDI : fmt, err);
    }
    tx_score_free(s);
    return rc;
}

int cmd_detokenize(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"bpe", required_argument, NULL, 'b'},
        {"ids", no_argument, NULL, 'i'},
        {"programs", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = "remi", *config = NULL, *output = NULL, *programs = NULL, *bpe_path = NULL;
    int ids = 0, c;
    while ((c = getopt_long(argc, argv, "t:c:b:ip:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': name = optarg; break;
        case 'c': config = optarg; break;
        case 'b': bpe_path = optarg; break;
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
    int is_abc = !strcmp(name, "abc");
    if (is_abc && (config || programs))
        return cli_usage_error("detokenize", "%s is for the REMI tokenizers, not abc",
                               config ? "--config" : "--programs");
    if (!is_abc && !strcmp(output, "-"))
        return cli_usage_error("detokenize", "-o -: only abc text goes to standard output");
    const char *path = argv[optind];

    tx_remi *r = NULL;
    tx_abctok *t = NULL;
    tx_bpe *bpe = NULL;
    tx_error err;
    tx_error_clear(&err);
    if (is_abc) {
        if (!(t = tx_abctok_new(NULL, &err))) {
            cli_error("%s", err.msg);
            return EXIT_INPUT;
        }
        if (bpe_path) {
            if (!(bpe = cli_bpe_open(bpe_path, TX_ABCTOK_BASE_SIZE, name))) {
                tx_abctok_free(t);
                return EXIT_INPUT;
            }
            int rc = tx_abctok_set_bpe(t, bpe, &err);   /* takes bpe, also on failure */
            bpe = NULL;
            if (rc) {
                cli_error("%s: %s", bpe_path, err.msg);
                tx_abctok_free(t);
                return EXIT_INPUT;
            }
        }
    } else {
        if (!(r = cli_remi_open(name, config, 0)))
            return EXIT_USAGE;
        if (bpe_path && !(bpe = cli_bpe_open(bpe_path, tx_remi_vocab_size(r), config ? config : name))) {
            tx_remi_free(r);
            return EXIT_INPUT;
        }
    }

    int status = EXIT_OK;
    uint8_t *text = NULL;
    size_t len = 0;
    vocab_index v = {TX_ARENA_INIT, NULL, 0, 0};
    seqlist L = {TX_BPE_IDS_INIT, NULL, 0, 0}, B = {TX_BPE_IDS_INIT, NULL, 0, 0};
    const seqlist *base = &L;
    int *progs = NULL;
    int rc = tx_read_file(path, 256u << 20, &text, &len, &err);
    if (!rc && !is_abc && !bpe && !ids) {
        /* plain REMI token text: the tokenizer's own parser, messages and all */
        tx_remi_seqs q = TX_REMI_SEQS_INIT;
        rc = tx_remi_text_to_ids(r, (const char *)text, len, path, &q, &err);
        for (size_t k = 0; !rc && k < q.n_seqs; k++) {
            for (size_t i = q.starts[k]; !rc && i < q.starts[k + 1]; i++)
                rc = push_id(&L, q.ids[i]);
            if (!rc)
                rc = seq_close(&L);
            if (rc)
                tx_error_set(&err, rc, "%s: out of memory", path);
        }
        tx_remi_seqs_free(&q);
    } else if (!rc) {
        if (ids)
            v.n = is_abc ? tx_abctok_vocab_size(t) : bpe ? tx_bpe_vocab_size(bpe) : tx_remi_vocab_size(r);
        else if (index_build(&v, r, bpe, t))
            rc = tx_error_set(&err, TX_ENOMEM, "out of memory");
        if (!rc)
            rc = parse_tokens(&v, (const char *)text, len, path, ids, is_abc, &L, &err);
    }
    if (!rc && L.n == 0)
        rc = tx_error_set(&err, TX_ESYNTAX, "%s: no tokens", path);
    if (!rc && bpe) {
        /* expand merged ids to base ids, sequence by sequence */
        for (size_t k = 0; k < L.n && !rc; k++) {
            rc = tx_bpe_decode(bpe, L.ids.ids + L.starts[k], L.starts[k + 1] - L.starts[k], &B.ids, &err);
            if (rc) {
                char msg[TX_ERROR_MSG_MAX];
                snprintf(msg, sizeof msg, "%s", err.msg);
                tx_error_set(&err, rc, "%s:%zu: %s", path, k + 1, msg);
            } else if (seq_close(&B)) {
                rc = tx_error_set(&err, TX_ENOMEM, "%s: out of memory", path);
            }
        }
        base = &B;
    }
    if (!rc && !is_abc && tx_remi_get_config(r)->one_token_stream && base->n != 1)
        rc = tx_error_set(&err, TX_ESYNTAX, "%s: %zu lines, but this tokenizer writes one sequence", path,
                          base->n);
    if (!rc && !is_abc) {
        progs = tx_calloc(base->n, sizeof *progs);
        if (!progs)
            rc = tx_error_set(&err, TX_ENOMEM, "out of memory");
        for (size_t i = 0; programs && *programs && !rc && i < base->n; i++) {
            char *end;
            long val = strtol(programs, &end, 10);
            if (end == programs || val < -1 || val > 127 || (*end && *end != ',')) {
                status = cli_usage_error("detokenize", "--programs: expected numbers from -1 to 127");
                rc = -1;
                break;
            }
            progs[i] = (int)val;
            programs = *end == ',' ? end + 1 : end;   /* lines past the list stay program 0 */
        }
    }
    if (!rc)
        rc = is_abc ? decode_abc(t, base, path, output, &err) : decode_remi(r, base, progs, path, output, &err);
    if (rc > 0) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
    } else if (rc < 0 && status == EXIT_OK) {
        status = EXIT_INPUT;   /* a failed write to standard output, already reported */
    }
    tx_free(progs);
    tx_free(text);
    index_free(&v);
    seqlist_free(&L);
    seqlist_free(&B);
    tx_bpe_free(bpe);
    tx_abctok_free(t);
    tx_remi_free(r);
    return status;
}
