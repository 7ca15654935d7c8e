/* data.c: reading corpus shards and cutting them into training and evaluation batches.
 *
 * A shard (written by tx_corpus_export, corpora/corpus.c) is a JSON header and a flat file of
 * little-endian ids. Opening it checks everything a hostile file could get wrong (sizes, document
 * ranges, ids beyond the vocabulary) once, so that batching never checks again. Training windows are
 * drawn from a generator seeded by (seed, step), which makes a resumed run see exactly the batches an
 * uninterrupted one would. This file does not tokenize and does not know what the ids mean.
 */
#include "model-priv.h"

#include <stdio.h>
#include <string.h>

struct tx_shard {
    int vocab;
    int width;              /* 2 or 4 bytes per id */
    uint8_t *data;          /* the .bin, tx_malloc'd */
    size_t n_tokens, n_docs;
    uint64_t *doc_off;      /* (n_docs + 1): start of each document, in ids; then n_tokens */
    uint64_t *cum;          /* (n_docs): cumulative window weights (document length + 1) */
};

static int32_t id_at(const tx_shard *s, uint64_t i)
{
    const uint8_t *p = s->data + i * (uint64_t)s->width;
    if (s->width == 2)
        return (int32_t)(p[0] | p[1] << 8);
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static int shard_fail(tx_shard *s, int rc)
{
    tx_shard_free(s);
    return rc;
}

int tx_shard_open(const char *json_path, tx_shard **out, tx_error *err)
{
    *out = NULL;
    uint8_t *text;
    size_t len;
    int rc = tx_read_file(json_path, (size_t)1 << 30, &text, &len, err);
    if (rc)
        return rc;
    tx_arena a = TX_ARENA_INIT;
    tx_json *j = NULL;
    rc = tx_json_parse((const char *)text, len, json_path, &a, &j, err);
    tx_free(text);
    if (rc) {
        tx_arena_free(&a);
        return rc;
    }
    tx_shard *s = tx_calloc(1, sizeof *s);
    if (!s) {
        tx_arena_free(&a);
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", json_path);
    }
    const char *dtype = tx_json_get_str(j, "dtype", "");
    const char *order = tx_json_get_str(j, "byte_order", "little");
    int64_t vocab = tx_json_get_int(j, "vocab_size", 0), n_tokens = tx_json_get_int(j, "n_tokens", -1);
    const tx_json *docs = tx_json_get(j, "documents");
    s->width = strcmp(dtype, "uint16") == 0 ? 2 : strcmp(dtype, "uint32") == 0 ? 4 : 0;
    if (j->type != TX_JSON_OBJECT || !s->width || strcmp(order, "little") != 0 || vocab < 1 ||
        vocab > TX_MODEL_MAX_VOCAB || n_tokens < 0 || !docs || docs->type != TX_JSON_ARRAY) {
        tx_arena_free(&a);
        return shard_fail(s, tx_error_set(err, TX_ESYNTAX, "%s: not a tactus shard header (dtype uint16 or "
                                          "uint32, little-endian, vocab_size, n_tokens, documents)",
                                          json_path));
    }
    s->vocab = (int)vocab;
    s->n_tokens = (size_t)n_tokens;
    s->n_docs = docs->len;
    s->doc_off = tx_calloc(s->n_docs + 1, sizeof *s->doc_off);
    s->cum = tx_calloc(s->n_docs ? s->n_docs : 1, sizeof *s->cum);
    if (!s->doc_off || !s->cum) {
        tx_arena_free(&a);
        return shard_fail(s, tx_error_set(err, TX_ENOMEM, "%s: out of memory", json_path));
    }
    uint64_t at = 0, cum = 0;
    for (size_t i = 0; i < s->n_docs; i++) {
        const tx_json *d = docs->items[i];
        if (d->type != TX_JSON_ARRAY || d->len < 2 || d->items[0]->type != TX_JSON_NUMBER ||
            !d->items[0]->is_integer || d->items[1]->type != TX_JSON_NUMBER || !d->items[1]->is_integer ||
            d->items[0]->integer != (int64_t)at || d->items[1]->integer < 0 ||
            (uint64_t)d->items[1]->integer > s->n_tokens - at) {
            long line = d->line, col = d->column;
            tx_arena_free(&a);
            return shard_fail(s, tx_error_set(err, TX_ESYNTAX, "%s:%ld:%ld: document %zu: expected [offset, "
                                              "count, ...] following the previous document", json_path,
                                              line, col, i));
        }
        s->doc_off[i] = at;
        at += (uint64_t)d->items[1]->integer;
        if ((uint64_t)d->items[1]->integer >= 0xffffffffu) {   /* eval cursors hold 32-bit positions */
            tx_arena_free(&a);
            return shard_fail(s, tx_error_set(err, TX_ELIMIT, "%s: document %zu is longer than 2^32 ids",
                                              json_path, i));
        }
        cum += (uint64_t)d->items[1]->integer + 1;
        s->cum[i] = cum;
    }
    tx_arena_free(&a);
    if (at != s->n_tokens)
        return shard_fail(s, tx_error_set(err, TX_ESYNTAX, "%s: the documents hold %llu ids, n_tokens says "
                                          "%zu", json_path, (unsigned long long)at, s->n_tokens));
    s->doc_off[s->n_docs] = at;

    /* NAME.json -> NAME.bin */
    size_t pl = strlen(json_path);
    char *bin = tx_malloc(pl + 5);
    if (!bin)
        return shard_fail(s, tx_error_set(err, TX_ENOMEM, "%s: out of memory", json_path));
    memcpy(bin, json_path, pl + 1);
    if (pl > 5 && strcmp(bin + pl - 5, ".json") == 0)
        bin[pl - 5] = '\0';
    strcat(bin, ".bin");
    size_t blen;
    rc = tx_read_file(bin, (size_t)1 << 38, &s->data, &blen, err);
    if (rc) {
        tx_free(bin);
        return shard_fail(s, rc);
    }
    if (blen != s->n_tokens * (size_t)s->width) {
        rc = tx_error_set(err, TX_ESYNTAX, "%s: %zu bytes, the header promises %zu ids of %d bytes", bin, blen,
                          s->n_tokens, s->width);
        tx_free(bin);
        return shard_fail(s, rc);
    }
    for (size_t i = 0; i < s->n_tokens; i++) {
        if (id_at(s, i) < 0 || id_at(s, i) >= s->vocab) {
            rc = tx_error_set(err, TX_ESYNTAX, "%s: id %lld at position %zu is outside the vocabulary of %d",
                              bin, (long long)(uint32_t)id_at(s, i), i, s->vocab);
            tx_free(bin);
            return shard_fail(s, rc);
        }
    }
    tx_free(bin);
    *out = s;
    return TX_OK;
}

void tx_shard_free(tx_shard *s)
{
    if (!s)
        return;
    tx_free(s->data);
    tx_free(s->doc_off);
    tx_free(s->cum);
    tx_free(s);
}

int tx_shard_vocab(const tx_shard *s)
{
    return s->vocab;
}

size_t tx_shard_documents(const tx_shard *s)
{
    return s->n_docs;
}

size_t tx_shard_tokens(const tx_shard *s)
{
    return s->n_tokens;
}

/* Token k of document d's sequence: bos first when bos >= 0, then the document's ids. */
static int32_t seq_at(const tx_shard *s, size_t d, int32_t bos, uint64_t k)
{
    if (bos >= 0) {
        if (k == 0)
            return bos;
        k--;
    }
    return id_at(s, s->doc_off[d] + k);
}

static uint64_t seq_len(const tx_shard *s, size_t d, int32_t bos)
{
    return s->doc_off[d + 1] - s->doc_off[d] + (bos >= 0);
}

/* Fills one row from document d's sequence starting at k: up to t + 1 tokens. */
static void fill_row(const tx_shard *s, size_t d, int32_t bos, uint64_t k, int t, int32_t *in, int32_t *tg)
{
    uint64_t L = seq_len(s, d, bos);
    uint64_t n = L - k < (uint64_t)t + 1 ? L - k : (uint64_t)t + 1;   /* tokens in the window */
    for (int i = 0; i < t; i++) {
        in[i] = (uint64_t)i + 1 < n ? seq_at(s, d, bos, k + (uint64_t)i) : 0;
        tg[i] = (uint64_t)i + 1 < n ? seq_at(s, d, bos, k + (uint64_t)i + 1) : -1;
    }
}

/* The n tokens of a row's window into w (inputs, then the last target) and the places of its bar
 * tokens into bars; returns how many bars. */
static int window_bars(int32_t bar, int n, const int32_t *in, const int32_t *tg, int32_t *w, int32_t *bars)
{
    int nb = 0;
    for (int i = 0; i < n; i++) {
        w[i] = i == 0 ? in[0] : tg[i - 1];
        if (w[i] == bar)
            bars[nb++] = i;
    }
    return nb;
}

/* Rewrites a row that holds n tokens (n + 3 <= t + 1) as fill-in-the-middle: inputs and targets become
 * prefix middle suffix -> PRE prefix SUF suffix MID middle (SUF suffix PRE prefix MID middle with
 * f->spm), with the middle a run of whole bars chosen as tx_fim's max_bars says. Targets whose token is a sentinel
 * are ignored: where the prefix and the suffix end is the caller's choice, not the model's. Returns 0,
 * leaving the row alone, when the window holds no bar token. */
static int fim_row(const tx_fim *f, tx_rng *r, int n, int t, int32_t *in, int32_t *tg, int32_t *scratch)
{
    int32_t *w = scratch, *seq = scratch + (t + 1), *bars = scratch + 2 * (t + 1);
    int nb = window_bars(f->bar, n, in, tg, w, bars);
    if (nb == 0)
        return 0;
    int ai, e;
    if (f->max_bars > 0 && nb >= 2 && tx_rng_next(r) % 8 != 0) {
        /* 1..max_bars whole bars, then a suffix that starts at a bar token */
        ai = (int)(tx_rng_next(r) % (uint64_t)(nb - 1));
        int span = nb - 1 - ai < f->max_bars ? nb - 1 - ai : f->max_bars;
        e = bars[ai + 1 + (int)(tx_rng_next(r) % (uint64_t)span)];
    } else if (f->max_bars > 0) {
        /* the row in eight (or a window with one bar token): the last 1..max_bars bars, no suffix */
        int span = nb < f->max_bars ? nb : f->max_bars;
        ai = nb - 1 - (int)(tx_rng_next(r) % (uint64_t)span);
        e = n;
    } else {
        ai = (int)(tx_rng_next(r) % (uint64_t)nb);
        /* the middle's end: a later bar token, or the window's end */
        int bi = ai + 1 + (int)(tx_rng_next(r) % (uint64_t)(nb - ai));
        e = bi < nb ? bars[bi] : n;
    }
    int a = bars[ai];
    int k = 0;
    if (f->spm) {
        seq[k++] = f->suffix;
        for (int i = e; i < n; i++)
            seq[k++] = w[i];
    }
    seq[k++] = f->prefix;
    for (int i = 0; i < a; i++)
        seq[k++] = w[i];
    if (!f->spm) {
        seq[k++] = f->suffix;
        for (int i = e; i < n; i++)
            seq[k++] = w[i];
    }
    seq[k++] = f->middle;
    for (int i = a; i < e; i++)
        seq[k++] = w[i];
    for (int i = 0; i < t; i++) {
        in[i] = i + 1 < k ? seq[i] : 0;
        tg[i] = i + 1 < k ? seq[i + 1] : -1;
        if (tg[i] == f->prefix || tg[i] == f->suffix || tg[i] == f->middle)
            tg[i] = -1;
    }
    return 1;
}

/* Rewrites a row that holds n tokens so that a run of 1..4 whole bars of it is played twice in a row,
 * as a repeat sign would have it: w[0..e) w[a..e) w[e..n), cut to the row (the second playing always
 * fits). The model meets exact
 * repeats in real music too, but too seldom inside one window to learn to copy them; these rows teach
 * it. Returns 0, leaving the row alone, when no bar of the window can be played twice inside it. */
static int repeat_row(const tx_fim *f, tx_rng *r, int n, int t, int32_t *in, int32_t *tg, int32_t *scratch)
{
    int32_t *w = scratch, *seq = scratch + (t + 1), *bars = scratch + 2 * (t + 1);
    int nb = window_bars(f->bar, n, in, tg, w, bars);
    /* runs of bars [a, e) whose second playing ends inside the row: e + (e - a) <= t + 1 */
    int fits = 0;
    for (int i = 0; i + 1 < nb; i++)
        fits += 2 * bars[i + 1] - bars[i] <= t + 1;
    if (fits == 0)
        return 0;
    int pick = (int)(tx_rng_next(r) % (uint64_t)fits), ai = 0;
    for (int i = 0; i + 1 < nb; i++)
        if (2 * bars[i + 1] - bars[i] <= t + 1 && pick-- == 0) {
            ai = i;
            break;
        }
    int span = 1;
    while (span < 4 && ai + span + 1 < nb && 2 * bars[ai + span + 1] - bars[ai] <= t + 1)
        span++;
    int a = bars[ai], e = bars[ai + 1 + (int)(tx_rng_next(r) % (uint64_t)span)];
    int k = 0;
    for (int i = 0; i < e && k <= t; i++)
        seq[k++] = w[i];
    for (int i = a; i < e && k <= t; i++)
        seq[k++] = w[i];
    for (int i = e; i < n && k <= t; i++)
        seq[k++] = w[i];
    for (int i = 0; i < t; i++) {
        in[i] = i + 1 < k ? seq[i] : 0;
        tg[i] = i + 1 < k ? seq[i + 1] : -1;
    }
    return 1;
}

void tx_shard_batch(const tx_shard *s, int b, int t, int32_t bos, uint64_t seed, long step, int32_t *inputs,
                    int32_t *targets)
{
    tx_error err;
    tx_shard_batch_fim(s, b, t, bos, NULL, seed, step, inputs, targets, &err);   /* cannot fail */
}

int tx_shard_batch_fim(const tx_shard *s, int b, int t, int32_t bos, const tx_fim *fim, uint64_t seed,
                       long step, int32_t *inputs, int32_t *targets, tx_error *err)
{
    int32_t *scratch = NULL;
    if (fim && (fim->rate > 0 || fim->repeat > 0) && !(scratch = tx_malloc(3 * ((size_t)t + 1) * sizeof *scratch)))
        return tx_error_set(err, TX_ENOMEM, "shard: out of memory for a batch of %d x %d", b, t);
    tx_rng r;
    tx_rng_seed(&r, seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(step + 1)));
    for (int row = 0; row < b; row++) {
        int32_t *in = inputs + (size_t)row * t, *tg = targets + (size_t)row * t;
        if (s->n_docs == 0 || s->cum[s->n_docs - 1] == 0) {
            for (int i = 0; i < t; i++) {
                in[i] = 0;
                tg[i] = -1;
            }
            continue;
        }
        /* a document with probability proportional to its length + 1: binary search of the weights */
        uint64_t x = tx_rng_next(&r) % s->cum[s->n_docs - 1];
        size_t lo = 0, hi = s->n_docs - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->cum[mid] > x)
                hi = mid;
            else
                lo = mid + 1;
        }
        uint64_t L = seq_len(s, lo, bos);
        /* a fill-in-the-middle row takes three tokens fewer from the document, for the sentinels */
        int fill = fim && fim->rate > 0 && t > 3 && tx_rng_float(&r) < fim->rate;
        int tw = fill ? t - 3 : t;
        uint64_t starts = L > (uint64_t)tw + 1 ? L - (uint64_t)tw : 1;   /* windows of tw + 1 that fit */
        fill_row(s, lo, bos, tx_rng_next(&r) % starts, tw, in, tg);
        /* a row that is not filled in the middle may play some of its bars twice */
        int twice = !fill && fim && fim->repeat > 0 && tx_rng_float(&r) < fim->repeat;
        if (fill || twice) {
            int n = 0;   /* tokens in the window: inputs, then the last target */
            while (n < tw && tg[n] >= 0)
                n++;
            n = n ? n + 1 : 0;
            for (int i = tw; i < t; i++) {
                in[i] = 0;
                tg[i] = -1;
            }
            if (n >= 2 && fill)
                fim_row(fim, &r, n, t, in, tg, scratch);
            else if (n >= 2)
                repeat_row(fim, &r, n, t, in, tg, scratch);
        }
    }
    tx_free(scratch);
    return TX_OK;
}

int tx_shard_eval_batch(const tx_shard *s, int b, int t, int32_t bos, uint64_t *cursor, int32_t *inputs,
                        int32_t *targets)
{
    int filled = 0;
    size_t d = (size_t)(*cursor >> 32);
    uint64_t k = *cursor & 0xffffffffu;
    while (filled < b && d < s->n_docs) {
        uint64_t L = seq_len(s, d, bos);
        if (L < 2 || k + 1 >= L) {   /* nothing (more) to predict in this document */
            d++;
            k = 0;
            continue;
        }
        fill_row(s, d, bos, k, t, inputs + (size_t)filled * t, targets + (size_t)filled * t);
        filled++;
        k += (uint64_t)t;   /* the next window's first input is this window's last target */
    }
    for (int row = filled; row < b; row++)
        for (int i = 0; i < t; i++) {
            inputs[(size_t)row * t + i] = 0;
            targets[(size_t)row * t + i] = -1;
        }
    *cursor = (uint64_t)d << 32 | k;
    return filled;
}

int tx_model_evaluate(tx_model *m, const tx_shard *s, int b, int t, int32_t bos, double *loss,
                      size_t *tokens, tx_error *err)
{
    if (b < 1 || t < 1 || t > m->c.context)
        return tx_error_set(err, TX_EINVAL, "model: evaluation batch %d x %d outside 1.. x 1..%d", b, t,
                            m->c.context);
    if (s->vocab > m->c.vocab_size)
        return tx_error_set(err, TX_EINVAL, "model: the shard's vocabulary (%d) is larger than the model's "
                            "(%d)", s->vocab, m->c.vocab_size);
    int32_t *in = tx_malloc(2 * (size_t)b * (size_t)t * sizeof *in);
    if (!in)
        return tx_error_set(err, TX_ENOMEM, "model: out of memory");
    int32_t *tg = in + (size_t)b * t;
    uint64_t cursor = 0;
    double sum = 0;
    size_t count = 0;
    int rc = TX_OK, rows;
    while ((rows = tx_shard_eval_batch(s, b, t, bos, &cursor, in, tg)) > 0) {
        float l;
        /* only the filled rows go through the model */
        if ((rc = tx_model_forward(m, in, tg, rows, t, &l, err)))
            break;
        sum += (double)l * m->counted;
        count += (size_t)m->counted;
    }
    tx_free(in);
    if (rc)
        return rc;
    *loss = count ? sum / (double)count : 0.0;
    if (tokens)
        *tokens = count;
    return TX_OK;
}
