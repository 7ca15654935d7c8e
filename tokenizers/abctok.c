/* abctok.c: the ABC text tokenizer: normalisation, characters to ids, bar-line words, BPE on top.
 *
 * The normalisation and the word rule are documented in abctok.h; this file follows that text step by
 * step. Inside the normaliser a character outside the vocabulary is held as the byte 0x01 and written
 * out as U+FFFD only at the end, so every later step sees one byte per character. It is not an ABC
 * parser: bar lines are found by a small scanner that knows strings, decorations and inline fields
 * and nothing else.
 */
#include "abctok.h"

#include <stdio.h>
#include <string.h>

#define MARK 0x01   /* a character outside the vocabulary, inside the normaliser */
static const char REPL[] = "\xEF\xBF\xBD";   /* U+FFFD in UTF-8 */

struct tx_abctok {
    tx_abctok_options opt;
    tx_bpe *bpe;
};

void tx_abctok_options_init(tx_abctok_options *o)
{
    memset(o, 0, sizeof *o);
    o->x_mode = TX_ABCTOK_X_DROP;
}

tx_abctok *tx_abctok_new(const tx_abctok_options *o, tx_error *err)
{
    tx_abctok_options d;
    if (!o) {
        tx_abctok_options_init(&d);
        o = &d;
    }
    if (o->x_mode != TX_ABCTOK_X_DROP && o->x_mode != TX_ABCTOK_X_RENUMBER) {
        tx_error_set(err, TX_EINVAL, "abctok: x_mode %d is neither drop (0) nor renumber (1)", o->x_mode);
        return NULL;
    }
    tx_abctok *t = tx_calloc(1, sizeof *t);
    if (!t) {
        tx_error_set(err, TX_ENOMEM, "abctok: out of memory");
        return NULL;
    }
    t->opt = *o;
    return t;
}

void tx_abctok_free(tx_abctok *t)
{
    if (!t)
        return;
    tx_bpe_free(t->bpe);
    tx_free(t);
}

static const int32_t specials[] = {TX_ABCTOK_PAD, TX_ABCTOK_BOS, TX_ABCTOK_EOS, TX_ABCTOK_MASK};

void tx_abctok_bpe_words(tx_bpe_words *w)
{
    memset(w, 0, sizeof *w);
    w->base_size = TX_ABCTOK_BASE_SIZE;
    w->isolated = specials;
    w->n_isolated = sizeof specials / sizeof *specials;
}

int tx_abctok_set_bpe(tx_abctok *t, tx_bpe *b, tx_error *err)
{
    if (b && tx_bpe_base_size(b) != TX_ABCTOK_BASE_SIZE) {
        int bs = tx_bpe_base_size(b);
        tx_bpe_free(b);
        return tx_error_set(err, TX_EINVAL, "abctok: the BPE model's base size is %d, not %d", bs,
                            TX_ABCTOK_BASE_SIZE);
    }
    tx_bpe_free(t->bpe);
    t->bpe = b;
    return TX_OK;
}

const tx_bpe *tx_abctok_bpe(const tx_abctok *t) { return t->bpe; }

int tx_abctok_vocab_size(const tx_abctok *t)
{
    return t->bpe ? tx_bpe_vocab_size(t->bpe) : TX_ABCTOK_BASE_SIZE;
}

/* ==================================================================================================
 * Ids and text
 * ================================================================================================== */

static inline int32_t char_id(uint8_t c)
{
    if (c == '\n')
        return TX_ABCTOK_NEWLINE;
    if (c >= 32 && c <= 126)
        return TX_ABCTOK_FIRST_CHAR + (c - 32);
    return TX_ABCTOK_UNK;
}

/* Appends the text of a base id. */
static void put_base(tx_buf *out, int32_t id, int names)
{
    static const char *names_[] = {"PAD_None", "BOS_None", "EOS_None", "MASK_None", "UNK_None"};
    if (id < TX_ABCTOK_UNK) {
        if (names)
            tx_buf_puts(out, names_[id]);
    } else if (id == TX_ABCTOK_UNK) {
        tx_buf_puts(out, names ? names_[id] : REPL);
    } else if (id == TX_ABCTOK_NEWLINE) {
        tx_buf_putc(out, '\n');
    } else {
        tx_buf_putc(out, (char)(32 + id - TX_ABCTOK_FIRST_CHAR));
    }
}

int tx_abctok_token(const tx_abctok *t, int32_t id, tx_buf *out)
{
    if (id >= 0 && id < TX_ABCTOK_BASE_SIZE) {
        put_base(out, id, 1);
        return out->oom ? TX_ENOMEM : TX_OK;
    }
    if (!t->bpe || id < 0 || id >= tx_bpe_vocab_size(t->bpe) || !tx_bpe_token_length(t->bpe, id))
        return TX_EINVAL;
    tx_bpe_ids base = TX_BPE_IDS_INIT;
    int rc = tx_bpe_decode(t->bpe, &id, 1, &base, NULL);
    for (size_t i = 0; rc == TX_OK && i < base.len; i++)
        put_base(out, base.ids[i], 0);
    tx_bpe_ids_free(&base);
    return rc ? rc : out->oom ? TX_ENOMEM : TX_OK;
}

int tx_abctok_decode(const tx_abctok *t, const int32_t *ids, size_t n, tx_buf *out, tx_error *err)
{
    if (n && !ids)
        return tx_error_set(err, TX_EINVAL, "abctok: no ids");
    tx_bpe_ids base = TX_BPE_IDS_INIT;
    if (t->bpe) {
        int rc = tx_bpe_decode(t->bpe, ids, n, &base, err);
        if (rc) {
            tx_bpe_ids_free(&base);
            return rc;
        }
        ids = base.ids;
        n = base.len;
    } else {
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= TX_ABCTOK_BASE_SIZE)
                return tx_error_set(err, TX_EINVAL, "abctok: token %zu: id %d is not in the vocabulary", i,
                                    (int)ids[i]);
    }
    for (size_t i = 0; i < n; i++)
        put_base(out, ids[i], 0);
    tx_bpe_ids_free(&base);
    return out->oom ? tx_error_set(err, TX_ENOMEM, "abctok: out of memory") : TX_OK;
}

/* ==================================================================================================
 * Normalisation
 * ================================================================================================== */

/* Length of a valid UTF-8 character at s (n bytes left), or 0 when the byte starts none. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0;   /* overlong, surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;   /* overlong, beyond U+10FFFF */
        return 4;
    }
    return 0;
}

static int is_letter(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Whether a field line with this letter stays under strip_text (X: and T: are decided apart). */
static int music_field(int c) { return c && strchr("KLMQPVUIm", c) != NULL; }

/* The normaliser, writing MARK for U+FFFD. line is scratch space of at least the text's length. */
static void normalize_marked(const tx_abctok_options *o, const char *text, size_t len, char *line, tx_buf *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0;
    int prev_kept = 1;   /* fate of the last field line, for "+:" */
    while (i < len) {
        /* 1. one raw line, characters mapped */
        size_t n = 0;
        while (i < len && s[i] != '\n' && s[i] != '\r') {
            uint8_t c = s[i];
            if (c == '\t') {
                line[n++] = ' ';
                i++;
            } else if (c >= 32 && c <= 126) {
                line[n++] = (char)c;
                i++;
            } else {
                size_t k = c >= 0x80 ? utf8_len(s + i, len - i) : 0;
                line[n++] = MARK;
                i += k ? k : 1;
            }
        }
        if (i < len && s[i] == '\r') {
            i++;
            if (i < len && s[i] == '\n')
                i++;
        } else if (i < len && s[i] == '\n') {
            i++;
        }
        /* 2. comments */
        int directive = n >= 2 && line[0] == '%' && line[1] == '%';
        if (!directive)
            for (size_t k = 0; k < n; k++)
                if (line[k] == '%' && (k == 0 || line[k - 1] != '\\')) {
                    n = k;
                    break;
                }
        /* 3. spaces */
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            if (line[k] == ' ' && (m == 0 || line[m - 1] == ' '))
                continue;
            line[m++] = line[k];
        }
        while (m > 0 && line[m - 1] == ' ')
            m--;
        if (m == 0)
            continue;   /* 5. empty lines go */
        /* 4. fields */
        if (m >= 2 && line[1] == ':' && (is_letter((uint8_t)line[0]) || line[0] == '+')) {
            if (m >= 3 && line[2] == ' ') {
                memmove(line + 2, line + 3, m - 3);
                m--;
            }
            int f = (uint8_t)line[0], keep;
            if (f == 'X')
                keep = o->x_mode == TX_ABCTOK_X_RENUMBER;
            else if (f == 'T')
                keep = !o->strip_titles;
            else if (f == '+')
                keep = prev_kept;
            else
                keep = !o->strip_text || music_field(f);
            prev_kept = keep;
            if (!keep)
                continue;
            if (f == 'X') {
                tx_buf_puts(out, "X:1\n");
                continue;
            }
        } else if (directive && o->strip_text && !(m >= 6 && !memcmp(line, "%%MIDI", 6))) {
            continue;
        }
        tx_buf_append(out, line, m);
        tx_buf_putc(out, '\n');
    }
}

/* Runs the normaliser into `marked` (MARK bytes kept). */
static int normalize_to(const tx_abctok *t, const char *text, size_t len, tx_buf *marked, tx_error *err)
{
    if (len > TX_ABCTOK_MAX_TUNE)
        return tx_error_set(err, TX_ELIMIT, "abctok: tune text of %zu bytes is over the limit of %u", len,
                            TX_ABCTOK_MAX_TUNE);
    if (len && !text)
        return tx_error_set(err, TX_EINVAL, "abctok: no text");
    char *line = tx_malloc(len + 1);
    if (!line)
        return tx_error_set(err, TX_ENOMEM, "abctok: out of memory");
    normalize_marked(&t->opt, text, len, line, marked);
    tx_free(line);
    return marked->oom ? tx_error_set(err, TX_ENOMEM, "abctok: out of memory") : TX_OK;
}

int tx_abctok_normalize(const tx_abctok *t, const char *text, size_t len, tx_buf *out, tx_error *err)
{
    tx_buf m = TX_BUF_INIT;
    int rc = normalize_to(t, text, len, &m, err);
    if (rc == TX_OK) {
        size_t from = 0;
        for (size_t k = 0; k < m.len; k++)
            if (m.data[k] == MARK) {
                tx_buf_append(out, m.data + from, k - from);
                tx_buf_puts(out, REPL);
                from = k + 1;
            }
        tx_buf_append(out, m.data ? m.data + from : "", m.len - from);
        if (out->oom)
            rc = tx_error_set(err, TX_ENOMEM, "abctok: out of memory");
    }
    tx_buf_free(&m);
    return rc;
}

/* ==================================================================================================
 * Words
 * ================================================================================================== */

/* Finds c in s[from .. n); n when absent. */
static size_t find_char(const char *s, size_t from, size_t n, char c)
{
    const char *p = from < n ? memchr(s + from, c, n - from) : NULL;
    return p ? (size_t)(p - s) : n;
}

typedef int (*word_fn)(void *ud, const int32_t *ids, size_t n, tx_error *err);

/* Maps the normalised (marked) text to ids and hands every word to fn. ids is scratch space of at
 * least len ids. */
static int for_words(const char *s, size_t len, int32_t *ids, word_fn fn, void *ud, tx_error *err)
{
    for (size_t k = 0; k < len; k++)
        ids[k] = char_id((uint8_t)s[k]);
    size_t i = 0;
    while (i < len) {
        size_t eol = find_char(s, i, len, '\n');   /* every normalised line ends with '\n' */
        size_t n = eol - i;
        const char *l = s + i;
        int rc;
        if ((n >= 2 && l[1] == ':' && (is_letter((uint8_t)l[0]) || l[0] == '+')) || (n >= 1 && l[0] == '%')) {
            rc = fn(ud, ids + i, n + 1, err);   /* a field or directive line: one word */
            if (rc)
                return rc;
            i = eol + 1;
            continue;
        }
        size_t w = 0, k = 0;
        while (k < n) {
            char c = l[k];
            if (c == '"') {
                k = find_char(l, k + 1, n, '"') + 1;
            } else if (c == '!' || c == '+') {
                size_t j = find_char(l, k + 1, n, c);
                k = j < n ? j + 1 : k + 1;
            } else if (c == '[' && k + 2 < n && is_letter((uint8_t)l[k + 1]) && l[k + 2] == ':') {
                k = find_char(l, k + 3, n, ']') + 1;
            } else if (c == '|' || (c == ':' && k + 1 < n && l[k + 1] == ':')) {
                k++;
                while (k < n && (l[k] == '|' || l[k] == ':' || l[k] == ']'))
                    k++;
                while (k < n && ((l[k] >= '0' && l[k] <= '9') || l[k] == ',' || l[k] == '-'))
                    k++;
                if (k < n) {   /* the last word takes the newline, below */
                    if ((rc = fn(ud, ids + i + w, k - w, err)))
                        return rc;
                    w = k;
                }
            } else {
                k++;
            }
        }
        if ((rc = fn(ud, ids + i + w, n + 1 - w, err)))
            return rc;
        i = eol + 1;
    }
    return TX_OK;
}

typedef struct enc_ctx {
    const tx_bpe *bpe;
    tx_bpe_ids *out;
} enc_ctx;

static int enc_word(void *ud, const int32_t *ids, size_t n, tx_error *err)
{
    enc_ctx *c = ud;
    if (c->bpe)
        return tx_bpe_encode(c->bpe, ids, n, c->out, err);
    void *p = c->out->ids;
    if (tx_grow(&p, &c->out->cap, c->out->len + n, sizeof *c->out->ids))
        return tx_error_set(err, TX_ENOMEM, "abctok: out of memory");
    c->out->ids = p;
    memcpy(c->out->ids + c->out->len, ids, n * sizeof *ids);
    c->out->len += n;
    return TX_OK;
}

static int train_word(void *ud, const int32_t *ids, size_t n, tx_error *err)
{
    return tx_bpe_trainer_add(ud, ids, n, err);
}

static int run_words(const tx_abctok *t, const char *text, size_t len, word_fn fn, void *ud, tx_error *err)
{
    tx_buf m = TX_BUF_INIT;
    int rc = normalize_to(t, text, len, &m, err);
    if (rc == TX_OK && m.len) {
        int32_t *ids = tx_malloc(m.len * sizeof *ids);
        if (!ids)
            rc = tx_error_set(err, TX_ENOMEM, "abctok: out of memory");
        else
            rc = for_words(m.data, m.len, ids, fn, ud, err);
        tx_free(ids);
    }
    tx_buf_free(&m);
    return rc;
}

int tx_abctok_encode(const tx_abctok *t, const char *text, size_t len, tx_bpe_ids *out, tx_error *err)
{
    enc_ctx c = {t->bpe, out};
    size_t mark = out->len;
    int32_t bos = TX_ABCTOK_BOS, eos = TX_ABCTOK_EOS;
    int rc = TX_OK;
    if (t->opt.add_bos_eos)
        rc = enc_word(&c, &bos, 1, err);
    if (rc == TX_OK)
        rc = run_words(t, text, len, enc_word, &c, err);
    if (rc == TX_OK && t->opt.add_bos_eos)
        rc = enc_word(&c, &eos, 1, err);
    if (rc)
        out->len = mark;
    return rc;
}

int tx_abctok_train_add(const tx_abctok *t, tx_bpe_trainer *tr, const char *text, size_t len, tx_error *err)
{
    return run_words(t, text, len, train_word, tr, err);
}

/* ==================================================================================================
 * Tunes in a file
 * ================================================================================================== */

int tx_abctok_next_tune(const char *text, size_t len, size_t *pos, size_t *start, size_t *tlen)
{
    size_t i = *pos;
    while (i < len) {
        size_t eol = find_char(text, i, len, '\n');
        if (eol - i >= 2 && text[i] == 'X' && text[i + 1] == ':') {
            size_t s = i, e = eol;
            i = eol < len ? eol + 1 : len;
            while (i < len) {
                size_t el = find_char(text, i, len, '\n'), k = i;
                while (k < el && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r'))
                    k++;
                if (k == el)
                    break;   /* an empty or blank line ends the tune */
                e = el;
                i = el < len ? el + 1 : len;
            }
            *start = s;
            *tlen = e - s;
            *pos = i;
            return 1;
        }
        i = eol < len ? eol + 1 : len;
    }
    *pos = len;
    return 0;
}
