/* ngram.c: the interpolated modified Kneser-Ney n-gram model (ngram.h).
 *
 * One open-addressing hash table holds every n-gram of orders 1 .. N, keyed by a 64-bit hash of
 * (length, ids); the same entry serves a sequence both as an n-gram (its count) and as a context (the
 * sum, and the numbers of extensions seen once, twice and three or more times, of the counts one order
 * up). The empty context lives outside the table.
 *
 * Training walks the shard twice, through tx_shard_eval_batch() so that the targets are exactly the
 * transformer's. Pass 1 counts the highest order raw and, whenever an n-gram is seen for the first
 * time, adds one to the continuation count of its suffix one order down (which cascades when that
 * suffix is new too): the counts of every lower order are then the number of distinct left extensions,
 * as Kneser-Ney wants. Pass 2 visits every distinct n-gram once (a flag per entry; the walk stops at the
 * first suffix already visited, whose own suffixes were visited with it) and adds its count to its
 * context's statistics and to its order's count-of-counts, from which the discounts follow.
 *
 * This file does not prune, save or load models, and does not know what the ids mean.
 */
#include "ngram.h"

#include <math.h>
#include <string.h>

/* One slot of the table. key 0 marks an empty slot. */
typedef struct entry {
    uint64_t key;
    uint32_t count;          /* as an n-gram: raw count (highest order) or continuation count */
    uint32_t total;          /* as a context: the sum of the counts of its extensions one order up */
    uint32_t n1, n2, n3;     /* as a context: extensions with count 1, 2, 3 or more */
    uint8_t order;           /* the sequence's length */
    uint8_t seen;            /* visited by pass 2 */
} entry;

struct tx_ngram {
    int order, vocab;
    int32_t bos;
    double d[TX_NGRAM_MAX_ORDER + 1][4];   /* d[k][c]: discount of order k for count c (1, 2, 3+) */
    entry *slots;                          /* (cap) */
    size_t cap, used;
    entry root;                            /* the empty context: statistics of the unigram counts */
};

#define MIN_CAP ((size_t)1 << 12)
#define MIN_DISCOUNT 0.05   /* keeps every interpolation weight above zero (see discounts()) */

/* ---- hashing: ids folded right to left, so the keys of all suffixes come out of one pass ---- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t finish_key(uint64_t state, int len)
{
    uint64_t k = mix64(state ^ ((uint64_t)len << 56) ^ 0x5851f42d4c957f2dULL);
    return k ? k : 1;
}

/* keys[j - 1] = the key of the last j ids of ids (n of them), for j = 1 .. n. */
static void suffix_keys(const int32_t *ids, int n, uint64_t *keys)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int j = 1; j <= n; j++) {
        s = mix64(s + (uint64_t)(uint32_t)ids[n - j] + 0x632be59bd9b4e019ULL);
        keys[j - 1] = finish_key(s, j);
    }
}

/* ---- the table ---- */

static const entry *lookup(const tx_ngram *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (m->slots[i].key == 0)
            return NULL;
    }
}

static int grow(tx_ngram *m)
{
    size_t cap = m->cap ? m->cap * 2 : MIN_CAP;
    if (cap > SIZE_MAX / sizeof(entry) / 2)
        return -1;
    entry *slots = tx_calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = (size_t)m->slots[i].key & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    tx_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* The entry of key, made (zeroed) when absent; NULL when the table cannot grow. The pointer is valid
 * until the next insert. */
static entry *insert(tx_ngram *m, uint64_t key, int order)
{
    if ((m->used + 1) * 10 > m->cap * 7 && grow(m))   /* load factor at most 0.7 */
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = (size_t)key & mask;
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (!m->slots[i].key) {
        memset(&m->slots[i], 0, sizeof m->slots[i]);
        m->slots[i].key = key;
        m->slots[i].order = (uint8_t)order;
        m->used++;
    }
    return &m->slots[i];
}

/* ---- walking the shard: every target of tx_model_evaluate, in order ---- */

#define WINDOW 4096

typedef struct walker {
    const tx_shard *s;
    int32_t bos;
    uint64_t cursor;
    int32_t *in, *tg;   /* (WINDOW) each */
    int i;              /* next target in the row */
    int row_starts;     /* the row begins at a document's start */
} walker;

static int walker_init(walker *w, const tx_shard *s, int32_t bos)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->bos = bos;
    w->in = tx_malloc(2 * (size_t)WINDOW * sizeof *w->in);
    if (!w->in)
        return -1;
    w->tg = w->in + WINDOW;
    w->i = WINDOW;
    return 0;
}

/* The next target into *tok; *start is 1 when it is the first of its document. 0 at the end. */
static int walker_next(walker *w, int32_t *tok, int *start)
{
    for (;;) {
        if (w->i < WINDOW && w->tg[w->i] >= 0) {
            *tok = w->tg[w->i];
            *start = w->i == 0 && w->row_starts;
            w->i++;
            return 1;
        }
        if (tx_shard_eval_batch(w->s, 1, WINDOW, w->bos, &w->cursor, w->in, w->tg) == 0)
            return 0;
        /* after a row the cursor points one window past where the row began */
        w->row_starts = (w->cursor & 0xffffffffu) == WINDOW;
        w->i = 0;
    }
}

/* ---- training ---- */

static void set_discounts(tx_ngram *m, int k, const uint64_t coc[5])
{
    /* Chen & Goodman: Y = n1 / (n1 + 2 n2), D_c = c - (c + 1) Y n_{c+1} / n_c. Where the data cannot
     * say (no n-gram with count c), D_c = c / 2. Clamped into [MIN_DISCOUNT, c]: at most c keeps every
     * probability non-negative and the distribution summing to 1, at least MIN_DISCOUNT keeps some mass
     * for the lower orders, so that no token gets probability zero. */
    double n[5];
    for (int c = 0; c < 5; c++)
        n[c] = (double)coc[c];
    double y = n[1] + 2 * n[2] > 0 ? n[1] / (n[1] + 2 * n[2]) : 0;
    for (int c = 1; c <= 3; c++) {
        double d = n[c] > 0 ? c - (c + 1) * y * n[c + 1] / n[c] : c / 2.0;
        if (!(d >= MIN_DISCOUNT))
            d = MIN_DISCOUNT;
        if (d > c)
            d = c;
        m->d[k][c] = d;
    }
    m->d[k][0] = 0;
}

static int train_fail(tx_ngram *m, walker *w, tx_error *err)
{
    tx_free(w->in);
    tx_ngram_free(m);
    return tx_error_set(err, TX_ENOMEM, "ngram: out of memory");
}

int tx_ngram_train(const tx_shard *s, int order, int32_t bos, tx_ngram **out, tx_error *err)
{
    *out = NULL;
    if (order < 1 || order > TX_NGRAM_MAX_ORDER)
        return tx_error_set(err, TX_EINVAL, "ngram: order %d outside 1..%d", order, TX_NGRAM_MAX_ORDER);
    if (bos < 0 || bos >= tx_shard_vocab(s))
        return tx_error_set(err, TX_EINVAL, "ngram: bos %d outside the vocabulary of %d", (int)bos,
                            tx_shard_vocab(s));
    if ((uint64_t)tx_shard_tokens(s) >= 0xffffffffu)
        return tx_error_set(err, TX_ELIMIT, "ngram: %zu tokens, more than the 32-bit counts hold",
                            tx_shard_tokens(s));
    tx_ngram *m = tx_calloc(1, sizeof *m);
    walker w;
    if (!m || walker_init(&w, s, bos)) {
        tx_free(m);
        return tx_error_set(err, TX_ENOMEM, "ngram: out of memory");
    }
    m->order = order;
    m->vocab = tx_shard_vocab(s);
    m->bos = bos;
    if (grow(m))
        return train_fail(m, &w, err);

    const int n = order;
    int32_t seq[TX_NGRAM_MAX_ORDER];   /* the history (n - 1 ids), then the target */
    uint64_t keys[TX_NGRAM_MAX_ORDER], ckeys[TX_NGRAM_MAX_ORDER];
    int32_t tok;
    int start;

    /* pass 1: raw counts of the highest order, continuation counts below it */
    while (walker_next(&w, &tok, &start)) {
        if (start)
            for (int i = 0; i < n - 1; i++)
                seq[i] = bos;
        seq[n - 1] = tok;
        suffix_keys(seq, n, keys);
        for (int k = n; k >= 1; k--) {
            entry *e = insert(m, keys[k - 1], k);
            if (!e)
                return train_fail(m, &w, err);
            if (e->count++ != 0)
                break;   /* not new: its suffixes already know this left extension */
        }
        memmove(seq, seq + 1, (size_t)(n - 1) * sizeof *seq);
    }

    /* pass 2: context statistics and count-of-counts, visiting each distinct n-gram once */
    uint64_t coc[TX_NGRAM_MAX_ORDER + 1][5];   /* count-of-counts per order */
    memset(coc, 0, sizeof coc);
    tx_free(w.in);
    if (walker_init(&w, s, bos))
        return train_fail(m, &w, err);
    while (walker_next(&w, &tok, &start)) {
        if (start)
            for (int i = 0; i < n - 1; i++)
                seq[i] = bos;
        seq[n - 1] = tok;
        suffix_keys(seq, n, keys);
        suffix_keys(seq, n - 1, ckeys);
        for (int k = n; k >= 1; k--) {
            entry *e = (entry *)lookup(m, keys[k - 1]);
            if (!e || e->seen)
                break;
            e->seen = 1;
            uint32_t c = e->count;
            entry *ctx = k == 1 ? &m->root : insert(m, ckeys[k - 2], k - 1);   /* e is stale from here */
            if (!ctx)
                return train_fail(m, &w, err);
            ctx->total += c;
            if (c == 1)
                ctx->n1++;
            else if (c == 2)
                ctx->n2++;
            else if (c >= 3)
                ctx->n3++;
            if (c >= 1 && c <= 4)
                coc[k][c]++;   /* n1 .. n4: n-grams seen exactly 1, 2, 3, 4 times */
        }
        memmove(seq, seq + 1, (size_t)(n - 1) * sizeof *seq);
    }
    tx_free(w.in);
    for (int k = 1; k <= n; k++)
        set_discounts(m, k, coc[k]);
    *out = m;
    return TX_OK;
}

void tx_ngram_free(tx_ngram *m)
{
    if (!m)
        return;
    tx_free(m->slots);
    tx_free(m);
}

/* ---- probabilities ---- */

/* The contexts of a padded history h (order - 1 ids): ctx[k - 1] for order k (k = 1 .. *kmax), the
 * longest run of contexts seen in training (a context never seen has no longer context seen either). */
static void contexts(const tx_ngram *m, const int32_t *h, const entry **ctx, int *kmax)
{
    uint64_t ckeys[TX_NGRAM_MAX_ORDER];
    suffix_keys(h, m->order - 1, ckeys);
    int k = 1;
    ctx[0] = &m->root;
    if (m->root.total == 0) {
        *kmax = 0;
        return;
    }
    for (; k < m->order; k++) {
        const entry *e = lookup(m, ckeys[k - 1]);
        if (!e || e->total == 0)
            break;
        ctx[k] = e;
    }
    *kmax = k;
}

/* p(w | h) interpolated from the uniform distribution up through orders 1 .. kmax. */
static double prob_w(const tx_ngram *m, const int32_t *h, const entry **ctx, int kmax, int32_t w)
{
    int32_t seq[TX_NGRAM_MAX_ORDER];
    uint64_t keys[TX_NGRAM_MAX_ORDER];
    int n = kmax;   /* the n-grams of orders 1 .. kmax end in w */
    if (n > 1)
        memcpy(seq, h + (m->order - 1) - (n - 1), (size_t)(n - 1) * sizeof *seq);
    seq[n > 0 ? n - 1 : 0] = w;
    if (n > 0)
        suffix_keys(seq, n, keys);
    double p = 1.0 / m->vocab;
    for (int k = 1; k <= kmax; k++) {
        const entry *c = ctx[k - 1];
        const entry *e = lookup(m, keys[k - 1]);
        uint32_t cnt = e ? e->count : 0;
        const double *d = m->d[k];
        double own = cnt ? (double)cnt - d[cnt < 3 ? cnt : 3] : 0;
        double gamma = (d[1] * c->n1 + d[2] * c->n2 + d[3] * c->n3) / c->total;
        p = (own > 0 ? own : 0) / c->total + gamma * p;
    }
    return p;
}

/* The last order - 1 ids of history, padded on the left with BOS. */
static void pad_history(const tx_ngram *m, const int32_t *history, size_t n, int32_t *h)
{
    size_t want = (size_t)(m->order - 1);
    size_t have = n < want ? n : want;
    for (size_t i = 0; i < want - have; i++)
        h[i] = m->bos;
    if (have)
        memcpy(h + (want - have), history + (n - have), have * sizeof *h);
}

double tx_ngram_prob(const tx_ngram *m, const int32_t *history, size_t n, int32_t token)
{
    if (token < 0 || token >= m->vocab)
        return 0;
    int32_t h[TX_NGRAM_MAX_ORDER];
    const entry *ctx[TX_NGRAM_MAX_ORDER];
    int kmax;
    pad_history(m, history, n, h);
    contexts(m, h, ctx, &kmax);
    return prob_w(m, h, ctx, kmax, token);
}

void tx_ngram_dist(const tx_ngram *m, const int32_t *history, size_t n, float *probs)
{
    int32_t h[TX_NGRAM_MAX_ORDER];
    const entry *ctx[TX_NGRAM_MAX_ORDER];
    int kmax;
    pad_history(m, history, n, h);
    contexts(m, h, ctx, &kmax);
    for (int w = 0; w < m->vocab; w++)
        probs[w] = (float)prob_w(m, h, ctx, kmax, w);
}

int tx_ngram_evaluate(const tx_ngram *m, const tx_shard *s, int32_t bos, double *loss_nats, size_t *tokens,
                      tx_error *err)
{
    if (bos != m->bos)
        return tx_error_set(err, TX_EINVAL, "ngram: bos %d differs from the %d the model was trained with",
                            (int)bos, (int)m->bos);
    if (tx_shard_vocab(s) > m->vocab)
        return tx_error_set(err, TX_EINVAL, "ngram: the shard's vocabulary (%d) is larger than the model's "
                            "(%d)", tx_shard_vocab(s), m->vocab);
    walker w;
    if (walker_init(&w, s, bos))
        return tx_error_set(err, TX_ENOMEM, "ngram: out of memory");
    int32_t h[TX_NGRAM_MAX_ORDER];
    const entry *ctx[TX_NGRAM_MAX_ORDER];
    int32_t tok;
    int start, kmax;
    double sum = 0;
    size_t count = 0;
    const int hn = m->order - 1;
    while (walker_next(&w, &tok, &start)) {
        if (start)
            for (int i = 0; i < hn; i++)
                h[i] = bos;
        contexts(m, h, ctx, &kmax);
        sum -= log(prob_w(m, h, ctx, kmax, tok));
        count++;
        if (hn > 0) {
            memmove(h, h + 1, (size_t)(hn - 1) * sizeof *h);
            h[hn - 1] = tok;
        }
    }
    tx_free(w.in);
    *loss_nats = count ? sum / (double)count : 0.0;
    if (tokens)
        *tokens = count;
    return TX_OK;
}

/* ---- introspection ---- */

int tx_ngram_order(const tx_ngram *m)
{
    return m->order;
}

int tx_ngram_vocab(const tx_ngram *m)
{
    return m->vocab;
}

double tx_ngram_discount(const tx_ngram *m, int k, int c)
{
    if (k < 1 || k > m->order || c < 1)
        return 0;
    return m->d[k][c < 3 ? c : 3];
}

size_t tx_ngram_entries(const tx_ngram *m)
{
    return m->used;
}

size_t tx_ngram_bytes(const tx_ngram *m)
{
    return sizeof *m + m->cap * sizeof(entry);
}
