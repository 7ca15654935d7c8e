/* bpe.c: the BPE trainer, encoder and decoder over ids, and their tokenizer.json form.
 *
 * Training is Hugging Face's BpeTrainer in C: unique words with counts, a table of pair counts, a
 * max-heap of pairs updated lazily (a popped pair whose count went down is pushed back with its real
 * count), and the count changes of a merge computed in place, as the reference does. Where the
 * reference keeps for each pair the words that hold it and rescans them, this file keeps the positions
 * where the pair occurs, so a merge costs its occurrences, not the length of the words. Encoding is the
 * reference's per-word merge loop: a min-heap of (rank, position) over a linked list of symbols.
 * This file is not a text tokenizer (tokenizers/abctok.c is one) and knows nothing of token strings
 * beyond the one-character-per-base-id form of tokenizer.json.
 */
#include "bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

enum { W_SPLIT = 1, W_ISOLATED = 2 };


/* ==================================================================================================
 * A hash map from a pair of ids to an int32 (open addressing, linear probing)
 * ================================================================================================== */

typedef struct pm_slot {
    uint64_t key;       /* (left << 32 | right) + 1; 0 is empty */
    int32_t val;
} pm_slot;

typedef struct pairmap {
    pm_slot *slots;     /* key and value side by side: one cache miss per probe */
    size_t cap, n;      /* cap is a power of two */
} pairmap;

static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }

static size_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (size_t)x;
}

static void pairmap_free(pairmap *m)
{
    tx_free(m->slots);
    memset(m, 0, sizeof *m);
}

static int pairmap_reserve(pairmap *m, size_t want)
{
    if (want * 2 < m->cap)
        return 0;
    size_t cap = m->cap ? m->cap : 1024;
    while (want * 2 >= cap) {
        if (cap > SIZE_MAX / 64)
            return -1;
        cap *= 2;
    }
    pm_slot *slots = tx_calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            size_t j = mix64(m->slots[i].key) & (cap - 1);
            while (slots[j].key)
                j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
    tx_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

/* The value of (a, b), or -1. */
static inline int32_t pairmap_get(const pairmap *m, int32_t a, int32_t b)
{
    if (!m->cap)
        return -1;
    uint64_t k = pair_key(a, b);
    size_t j = mix64(k) & (m->cap - 1);
    while (m->slots[j].key) {
        if (m->slots[j].key == k)
            return m->slots[j].val;
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

/* The slot of (a, b), inserted with value `fresh` when absent (*added set then); -1 on out of memory. */
static long pairmap_slot(pairmap *m, int32_t a, int32_t b, int32_t fresh, int *added)
{
    if (pairmap_reserve(m, m->n + 1))
        return -1;
    uint64_t k = pair_key(a, b);
    size_t j = mix64(k) & (m->cap - 1);
    while (m->slots[j].key) {
        if (m->slots[j].key == k) {
            *added = 0;
            return (long)j;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = k;
    m->slots[j].val = fresh;
    m->n++;
    *added = 1;
    return (long)j;
}

/* ==================================================================================================
 * The model
 * ================================================================================================== */

struct tx_bpe {
    int base_size;
    int vocab_size;          /* encoded ids are 0 .. vocab_size - 1 */
    int n_merges;
    uint8_t *wflag;          /* base_size: W_SPLIT / W_ISOLATED */
    int32_t *split, *isol;   /* the word rule as given, for saving */
    size_t n_split, n_isol;
    int32_t *base_to_id;     /* base_size: encoded id of each base id, -1 when the model has none */
    int32_t *m_left, *m_right, *m_result;   /* n_merges, in rank order */
    int32_t *id_base;        /* vocab_size: the base id of a base token, -1 otherwise */
    int32_t *id_rank;        /* vocab_size: the merge that makes the id, -1 otherwise */
    int32_t *id_len;         /* vocab_size: base ids it stands for; 0 when not in the vocabulary */
    pairmap ranks;           /* (left, right) -> rank */
};

void tx_bpe_ids_free(tx_bpe_ids *v)
{
    if (!v)
        return;
    tx_free(v->ids);
    v->ids = NULL;
    v->len = v->cap = 0;
}

static int ids_reserve(tx_bpe_ids *v, size_t more)
{
    if (more > SIZE_MAX / 8 - v->len)
        return -1;
    void *p = v->ids;
    if (tx_grow(&p, &v->cap, v->len + more, sizeof *v->ids))
        return -1;
    v->ids = p;
    return 0;
}

void tx_bpe_free(tx_bpe *b)
{
    if (!b)
        return;
    tx_free(b->wflag);
    tx_free(b->split);
    tx_free(b->isol);
    tx_free(b->base_to_id);
    tx_free(b->m_left);
    tx_free(b->m_right);
    tx_free(b->m_result);
    tx_free(b->id_base);
    tx_free(b->id_rank);
    tx_free(b->id_len);
    pairmap_free(&b->ranks);
    tx_free(b);
}

int tx_bpe_base_size(const tx_bpe *b) { return b->base_size; }
int tx_bpe_vocab_size(const tx_bpe *b) { return b->vocab_size; }
int tx_bpe_n_merges(const tx_bpe *b) { return b->n_merges; }

int tx_bpe_merge(const tx_bpe *b, int rank, int32_t *left, int32_t *right, int32_t *result)
{
    if (rank < 0 || rank >= b->n_merges)
        return TX_EINVAL;
    if (left)
        *left = b->m_left[rank];
    if (right)
        *right = b->m_right[rank];
    if (result)
        *result = b->m_result[rank];
    return TX_OK;
}

int tx_bpe_token_length(const tx_bpe *b, int32_t id)
{
    return id >= 0 && id < b->vocab_size ? b->id_len[id] : 0;
}

/* Checks a word rule and fills flags (base_size of them) and copies of its lists. */
static int words_setup(const tx_bpe_words *w, uint8_t **flags, int32_t **split, int32_t **isol,
                       tx_error *err)
{
    *flags = NULL;
    *split = *isol = NULL;
    if (!w || w->base_size < 1 || w->base_size > TX_BPE_MAX_BASE)
        return tx_error_set(err, TX_EINVAL, "bpe: base size %d out of range 1..%d", w ? w->base_size : 0,
                            TX_BPE_MAX_BASE);
    if ((w->n_split_before && !w->split_before) || (w->n_isolated && !w->isolated) ||
        w->n_split_before > (size_t)w->base_size || w->n_isolated > (size_t)w->base_size)
        return tx_error_set(err, TX_EINVAL, "bpe: invalid word rule");
    *flags = tx_calloc((size_t)w->base_size, 1);
    *split = tx_malloc((w->n_split_before + 1) * sizeof **split);
    *isol = tx_malloc((w->n_isolated + 1) * sizeof **isol);
    if (!*flags || !*split || !*isol) {
        tx_free(*flags);
        tx_free(*split);
        tx_free(*isol);
        *flags = NULL;
        *split = *isol = NULL;
        return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
    }
    for (size_t i = 0; i < w->n_split_before + w->n_isolated; i++) {
        int is_split = i < w->n_split_before;
        int32_t id = is_split ? w->split_before[i] : w->isolated[i - w->n_split_before];
        if (id < 0 || id >= w->base_size) {
            tx_free(*flags);
            tx_free(*split);
            tx_free(*isol);
            *flags = NULL;
            *split = *isol = NULL;
            return tx_error_set(err, TX_EINVAL, "bpe: %s id %d is not a base id",
                                is_split ? "split" : "isolated", (int)id);
        }
        (*flags)[id] |= is_split ? W_SPLIT : W_ISOLATED;
        if (is_split)
            (*split)[i] = id;
        else
            (*isol)[i - w->n_split_before] = id;
    }
    return TX_OK;
}

/* Builds the lookup tables of a model whose base_size, word rule, base_to_id, vocab_size and merges
 * are set. Checks that every merge's parts exist before it and that results are unique. */
static int model_finish(tx_bpe *b, const char *name, tx_error *err)
{
    size_t V = (size_t)b->vocab_size;
    b->id_base = tx_malloc(V * sizeof *b->id_base);
    b->id_rank = tx_malloc(V * sizeof *b->id_rank);
    b->id_len = tx_calloc(V, sizeof *b->id_len);
    if (!b->id_base || !b->id_rank || !b->id_len || pairmap_reserve(&b->ranks, (size_t)b->n_merges))
        return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
    for (size_t i = 0; i < V; i++)
        b->id_base[i] = b->id_rank[i] = -1;
    for (int i = 0; i < b->base_size; i++) {
        int32_t id = b->base_to_id[i];
        if (id < 0)
            continue;
        if (id >= b->vocab_size || b->id_len[id])
            return tx_error_set(err, TX_ESYNTAX, "%s: base id %d has an invalid or repeated id %d", name, i,
                                (int)id);
        b->id_base[id] = i;
        b->id_len[id] = 1;
    }
    for (int k = 0; k < b->n_merges; k++) {
        int32_t l = b->m_left[k], r = b->m_right[k], res = b->m_result[k];
        if (l < 0 || l >= b->vocab_size || r < 0 || r >= b->vocab_size || !b->id_len[l] || !b->id_len[r])
            return tx_error_set(err, TX_ESYNTAX, "%s: merge %d: a part is not made before it", name, k);
        if (res < 0 || res >= b->vocab_size || b->id_len[res])
            return tx_error_set(err, TX_ESYNTAX, "%s: merge %d: its result id %d is used already", name, k,
                                (int)res);
        int64_t len = (int64_t)b->id_len[l] + b->id_len[r];
        if (len > INT32_MAX / 2)
            return tx_error_set(err, TX_ELIMIT, "%s: merge %d: token too long", name, k);
        int added;
        long slot = pairmap_slot(&b->ranks, l, r, k, &added);
        if (slot < 0)
            return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
        if (!added)
            return tx_error_set(err, TX_ESYNTAX, "%s: merge %d repeats merge %d", name, k,
                                (int)b->ranks.slots[slot].val);
        b->id_len[res] = (int32_t)len;
        b->id_rank[res] = k;
    }
    return TX_OK;
}

/* ==================================================================================================
 * Encoding and decoding
 * ================================================================================================== */

/* Min-heap of (rank << 32 | position). */
static inline void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static inline uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && h[c + 1] < h[c])
            c++;
        if (v <= h[c])
            break;
        h[i] = h[c];
        i = c;
    }
    if (m)
        h[i] = v;
    return top;
}

/* Scratch space for one word: symbols, links and the heap. */
typedef struct scratch {
    int32_t *sym, *next, *prev;
    uint64_t *heap;
    size_t cap;
    int32_t s_sym[256], s_next[256], s_prev[256];
    uint64_t s_heap[512];
} scratch;

static int scratch_reserve(scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    if (s->sym != s->s_sym) {
        tx_free(s->sym);
        tx_free(s->next);
        tx_free(s->prev);
        tx_free(s->heap);
    }
    s->cap = 0;
    s->sym = s->next = s->prev = NULL;
    s->heap = NULL;
    if (n > SIZE_MAX / 16)
        return -1;
    s->sym = tx_malloc(n * sizeof *s->sym);
    s->next = tx_malloc(n * sizeof *s->next);
    s->prev = tx_malloc(n * sizeof *s->prev);
    s->heap = tx_malloc(2 * n * sizeof *s->heap);
    if (!s->sym || !s->next || !s->prev || !s->heap) {
        tx_free(s->sym);
        tx_free(s->next);
        tx_free(s->prev);
        tx_free(s->heap);
        s->sym = s->next = s->prev = NULL;
        s->heap = NULL;
        return -1;
    }
    s->cap = n;
    return 0;
}

static void scratch_init(scratch *s)
{
    s->sym = s->s_sym;
    s->next = s->s_next;
    s->prev = s->s_prev;
    s->heap = s->s_heap;
    s->cap = 256;
}

static void scratch_free(scratch *s)
{
    if (s->sym != s->s_sym && s->cap) {
        tx_free(s->sym);
        tx_free(s->next);
        tx_free(s->prev);
        tx_free(s->heap);
    }
}

/* Merges one word of encoded ids in[0 .. n) and appends the result to out (room reserved). */
static size_t encode_word(const tx_bpe *b, const int32_t *in, size_t n, int32_t *out, scratch *s)
{
    if (n < 2 || b->n_merges == 0) {
        memcpy(out, in, n * sizeof *out);
        return n;
    }
    int32_t *sym = s->sym, *nx = s->next, *pv = s->prev;
    uint64_t *heap = s->heap;
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        sym[i] = in[i];
        nx[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
        pv[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t r = pairmap_get(&b->ranks, sym[i], sym[i + 1]);
        if (r >= 0)
            heap_push(heap, &nh, (uint64_t)r << 32 | i);
    }
    while (nh) {
        uint64_t top = heap_pop(heap, &nh);
        int32_t rank = (int32_t)(top >> 32), pos = (int32_t)(uint32_t)top;
        if (sym[pos] < 0)
            continue;                 /* merged into its left neighbour already */
        int32_t q = nx[pos];
        if (q < 0 || sym[pos] != b->m_left[rank] || sym[q] != b->m_right[rank])
            continue;                 /* stale: the pair changed */
        sym[pos] = b->m_result[rank];
        sym[q] = -1;
        int32_t qn = nx[q];
        nx[pos] = qn;
        if (qn >= 0)
            pv[qn] = pos;
        int32_t p = pv[pos];
        /* the heap holds at most 2n entries: n - 1 pairs at first, then each merge pops one and
         * pushes at most two */
        if (p >= 0) {
            int32_t r = pairmap_get(&b->ranks, sym[p], sym[pos]);
            if (r >= 0)
                heap_push(heap, &nh, (uint64_t)r << 32 | (uint32_t)p);
        }
        if (qn >= 0) {
            int32_t r = pairmap_get(&b->ranks, sym[pos], sym[qn]);
            if (r >= 0)
                heap_push(heap, &nh, (uint64_t)r << 32 | (uint32_t)pos);
        }
    }
    size_t m = 0;
    for (int32_t i = 0; i >= 0; i = nx[i])
        out[m++] = sym[i];
    return m;
}

int tx_bpe_encode(const tx_bpe *b, const int32_t *ids, size_t n, tx_bpe_ids *out, tx_error *err)
{
    if (n == 0)
        return TX_OK;
    if (!ids)
        return tx_error_set(err, TX_EINVAL, "bpe: no ids");
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= b->base_size || b->base_to_id[id] < 0)
            return tx_error_set(err, TX_EINVAL, "bpe: token %zu: id %d is not a base id%s", i, (int)id,
                                id >= 0 && id < b->base_size ? " of this model" : "");
    }
    if (ids_reserve(out, n))
        return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
    scratch s;
    scratch_init(&s);
    int32_t *dst = out->ids + out->len;
    size_t start = 0, m = 0;
    while (start < n) {
        size_t end = start + 1;
        if (!(b->wflag[ids[start]] & W_ISOLATED))
            while (end < n && !(b->wflag[ids[end]] & (W_SPLIT | W_ISOLATED)))
                end++;
        size_t len = end - start;
        if (scratch_reserve(&s, len)) {
            scratch_free(&s);
            return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
        }
        /* base ids become encoded ids in the output, and the word merges in place there */
        for (size_t i = 0; i < len; i++)
            dst[m + i] = b->base_to_id[ids[start + i]];
        m += encode_word(b, dst + m, len, dst + m, &s);
        start = end;
    }
    scratch_free(&s);
    out->len += m;
    return TX_OK;
}

int tx_bpe_decode(const tx_bpe *b, const int32_t *ids, size_t n, tx_bpe_ids *out, tx_error *err)
{
    if (n && !ids)
        return tx_error_set(err, TX_EINVAL, "bpe: no ids");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= b->vocab_size || !b->id_len[id])
            return tx_error_set(err, TX_EINVAL, "bpe: token %zu: id %d is not in the vocabulary", i, (int)id);
        total += (size_t)b->id_len[id];
    }
    if (ids_reserve(out, total))
        return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
    int32_t *dst = out->ids + out->len;
    /* Each id expands depth first: left parts are followed at once, right parts wait on a stack. The
     * stack never holds more than the token's length, so it grows only for very long tokens. */
    int32_t local[128], *stack = local;
    size_t cap = sizeof local / sizeof *local;
    for (size_t i = 0; i < n; i++) {
        size_t sp = 0;
        int32_t id = ids[i];
        if ((size_t)b->id_len[id] > cap) {
            if (stack != local)
                tx_free(stack);
            cap = (size_t)b->id_len[id];
            stack = tx_malloc(cap * sizeof *stack);
            if (!stack)
                return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
        }
        for (;;) {
            while (b->id_rank[id] >= 0) {
                int32_t k = b->id_rank[id];
                stack[sp++] = b->m_right[k];
                id = b->m_left[k];
            }
            *dst++ = b->id_base[id];
            if (!sp)
                break;
            id = stack[--sp];
        }
    }
    if (stack != local)
        tx_free(stack);
    out->len += total;
    return TX_OK;
}

/* ==================================================================================================
 * Training
 * ================================================================================================== */

struct tx_bpe_trainer {
    int base_size;
    uint8_t *wflag;
    int32_t *split, *isol;
    size_t n_split, n_isol;
    /* unique words: symbols back to back */
    int32_t *syms;
    size_t n_syms, cap_syms;
    size_t *wstart;
    uint32_t *wlen;
    int64_t *wcount;
    uint64_t *whash;
    size_t n_words, cap_words;
    uint32_t *table;             /* word index + 1, 0 empty; power-of-two size */
    size_t table_cap;
    uint64_t tokens;
};

void tx_bpe_trainer_free(tx_bpe_trainer *t)
{
    if (!t)
        return;
    tx_free(t->wflag);
    tx_free(t->split);
    tx_free(t->isol);
    tx_free(t->syms);
    tx_free(t->wstart);
    tx_free(t->wlen);
    tx_free(t->wcount);
    tx_free(t->whash);
    tx_free(t->table);
    tx_free(t);
}

tx_bpe_trainer *tx_bpe_trainer_new(const tx_bpe_words *w, tx_error *err)
{
    tx_bpe_trainer *t = tx_calloc(1, sizeof *t);
    if (!t) {
        tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
        return NULL;
    }
    if (words_setup(w, &t->wflag, &t->split, &t->isol, err)) {
        tx_free(t);
        return NULL;
    }
    t->base_size = w->base_size;
    t->n_split = w->n_split_before;
    t->n_isol = w->n_isolated;
    return t;
}

uint64_t tx_bpe_trainer_tokens(const tx_bpe_trainer *t) { return t->tokens; }

static uint64_t word_hash(const int32_t *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint32_t)s[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static int table_grow(tx_bpe_trainer *t)
{
    size_t cap = t->table_cap ? t->table_cap * 2 : 4096;
    if (cap > (size_t)UINT32_MAX)
        return -1;
    uint32_t *tab = tx_calloc(cap, sizeof *tab);
    if (!tab)
        return -1;
    for (size_t w = 0; w < t->n_words; w++) {
        size_t j = (size_t)t->whash[w] & (cap - 1);
        while (tab[j])
            j = (j + 1) & (cap - 1);
        tab[j] = (uint32_t)w + 1;
    }
    tx_free(t->table);
    t->table = tab;
    t->table_cap = cap;
    return 0;
}

static int add_word(tx_bpe_trainer *t, const int32_t *s, size_t n)
{
    if (n == 0)
        return TX_OK;
    if (n > UINT32_MAX)
        return TX_ELIMIT;
    t->tokens += n;
    if (n == 1 && (t->wflag[s[0]] & W_ISOLATED))
        return TX_OK;              /* never merged: no need to count it */
    if ((t->n_words + 1) * 2 >= t->table_cap && table_grow(t))
        return TX_ENOMEM;
    uint64_t h = word_hash(s, n);
    size_t j = (size_t)h & (t->table_cap - 1);
    while (t->table[j]) {
        size_t w = t->table[j] - 1;
        if (t->whash[w] == h && t->wlen[w] == n && !memcmp(t->syms + t->wstart[w], s, n * sizeof *s)) {
            t->wcount[w]++;
            return TX_OK;
        }
        j = (j + 1) & (t->table_cap - 1);
    }
    if (t->n_words >= UINT32_MAX - 1)
        return TX_ELIMIT;
    if (t->n_words == t->cap_words) {
        size_t cap = t->cap_words ? t->cap_words * 2 : 1024;
        size_t *ws = tx_realloc(t->wstart, cap * sizeof *ws);
        if (ws)
            t->wstart = ws;
        uint32_t *wl = tx_realloc(t->wlen, cap * sizeof *wl);
        if (wl)
            t->wlen = wl;
        int64_t *wc = tx_realloc(t->wcount, cap * sizeof *wc);
        if (wc)
            t->wcount = wc;
        uint64_t *wh = tx_realloc(t->whash, cap * sizeof *wh);
        if (wh)
            t->whash = wh;
        if (!ws || !wl || !wc || !wh)
            return TX_ENOMEM;
        t->cap_words = cap;
    }
    void *p = t->syms;
    if (tx_grow(&p, &t->cap_syms, t->n_syms + n, sizeof *t->syms))
        return TX_ENOMEM;
    t->syms = p;
    memcpy(t->syms + t->n_syms, s, n * sizeof *s);
    size_t w = t->n_words++;
    t->wstart[w] = t->n_syms;
    t->wlen[w] = (uint32_t)n;
    t->wcount[w] = 1;
    t->whash[w] = h;
    t->n_syms += n;
    t->table[j] = (uint32_t)w + 1;
    return TX_OK;
}

int tx_bpe_trainer_add(tx_bpe_trainer *t, const int32_t *ids, size_t n, tx_error *err)
{
    if (n && !ids)
        return tx_error_set(err, TX_EINVAL, "bpe: no ids");
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->base_size)
            return tx_error_set(err, TX_EINVAL, "bpe: token %zu: id %d is not a base id", i, (int)ids[i]);
    size_t start = 0;
    while (start < n) {
        size_t end = start + 1;
        if (!(t->wflag[ids[start]] & W_ISOLATED))
            while (end < n && !(t->wflag[ids[end]] & (W_SPLIT | W_ISOLATED)))
                end++;
        int rc = add_word(t, ids + start, end - start);
        if (rc == TX_ENOMEM)
            return tx_error_set(err, rc, "bpe: out of memory");
        if (rc)
            return tx_error_set(err, rc, "bpe: too many words or a word too long");
        start = end;
    }
    return TX_OK;
}

/* The training state. Every symbol of every unique word sits in one array, linked to its neighbours
 * (prev / next, -1 at a word's ends), so a merge touches only the places where its pair occurs: each
 * pair keeps the positions of its left symbols (stale ones are recognised and skipped). */
typedef struct heap_item {
    int64_t count;
    int32_t a, b;                /* the pair's parts, for ties, so that a comparison reads no other memory */
    int32_t pair;
} heap_item;

typedef struct occ_list {
    uint32_t *pos;
    uint32_t n, cap;
} occ_list;

/* One position. The four fields sit together because a merge reads them all at once, and the
 * positions it visits are scattered over the corpus: one cache miss instead of four. */
typedef struct node {
    int32_t sym;                 /* -1 once merged into its left neighbour */
    int32_t nxt, prv;            /* neighbours, -1 at a word's ends */
    uint32_t wid;                /* the word */
} node;

typedef struct train_state {
    const tx_bpe_trainer *t;
    node *nd;                    /* every position of every unique word */
    pairmap map;                 /* pair -> pair index */
    int32_t *pl, *pr;            /* pair parts */
    int64_t *pc;                 /* pair counts */
    occ_list *occ;               /* pair -> positions of its left symbol */
    uint32_t *pstamp;            /* last step that touched the pair */
    size_t n_pairs, cap_pairs;
    heap_item *heap;
    size_t n_heap, cap_heap;
    uint32_t *touched;
    size_t n_touched, cap_touched;
    int32_t *tlen;               /* base length of each id (for max_token_length) */
    int oom;
} train_state;

static inline int heap_before(const train_state *s, heap_item a, heap_item b)
{
    (void)s;
    if (a.count != b.count)
        return a.count > b.count;
    if (a.a != b.a)
        return a.a < b.a;
    return a.b < b.b;
}

static void mheap_push(train_state *s, heap_item v)
{
    if (s->n_heap == s->cap_heap) {
        void *p = s->heap;
        if (tx_grow(&p, &s->cap_heap, s->n_heap + 1, sizeof *s->heap)) {
            s->oom = 1;
            return;
        }
        s->heap = p;
    }
    size_t i = s->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before(s, v, s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = v;
}

static heap_item mheap_pop(train_state *s)
{
    heap_item top = s->heap[0], v = s->heap[--s->n_heap];
    size_t i = 0, m = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && heap_before(s, s->heap[c + 1], s->heap[c]))
            c++;
        if (!heap_before(s, s->heap[c], v))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (m)
        s->heap[i] = v;
    return top;
}

/* Adds delta to the count of (a, b); a positive delta also records position `at` for the pair and,
 * in a merge step, that the step touched it. */
static void pair_add(train_state *s, int32_t a, int32_t b, int64_t delta, uint32_t at, uint32_t step)
{
    int added;
    long slot = pairmap_slot(&s->map, a, b, (int32_t)s->n_pairs, &added);
    if (slot < 0) {
        s->oom = 1;
        return;
    }
    if (added) {
        if (s->n_pairs == s->cap_pairs) {
            size_t cap = s->cap_pairs ? s->cap_pairs * 2 : 4096;
            int32_t *pl = tx_realloc(s->pl, cap * sizeof *pl);
            if (pl)
                s->pl = pl;
            int32_t *pr = tx_realloc(s->pr, cap * sizeof *pr);
            if (pr)
                s->pr = pr;
            int64_t *pc = tx_realloc(s->pc, cap * sizeof *pc);
            if (pc)
                s->pc = pc;
            occ_list *oc = tx_realloc(s->occ, cap * sizeof *oc);
            if (oc)
                s->occ = oc;
            uint32_t *ps = tx_realloc(s->pstamp, cap * sizeof *ps);
            if (ps)
                s->pstamp = ps;
            if (!pl || !pr || !pc || !oc || !ps || cap > INT32_MAX) {
                s->map.slots[slot].key = 0;   /* forget the pair; training stops with TX_ENOMEM */
                s->map.n--;
                s->oom = 1;
                return;
            }
            s->cap_pairs = cap;
        }
        size_t p = s->n_pairs++;
        s->pl[p] = a;
        s->pr[p] = b;
        s->pc[p] = 0;
        s->occ[p].pos = NULL;
        s->occ[p].n = s->occ[p].cap = 0;
        s->pstamp[p] = 0;
    }
    uint32_t p = (uint32_t)s->map.slots[slot].val;
    s->pc[p] += delta;
    if (delta <= 0)
        return;
    occ_list *o = &s->occ[p];
    if (o->n == o->cap) {
        if (o->cap > UINT32_MAX / 2) {
            s->oom = 1;
            return;
        }
        uint32_t cap = o->cap ? o->cap * 2 : 4;
        uint32_t *v = tx_realloc(o->pos, (size_t)cap * sizeof *v);
        if (!v) {
            s->oom = 1;
            return;
        }
        o->pos = v;
        o->cap = cap;
    }
    o->pos[o->n++] = at;
    if (step && s->pstamp[p] != step) {
        s->pstamp[p] = step;
        if (s->n_touched == s->cap_touched) {
            void *q = s->touched;
            if (tx_grow(&q, &s->cap_touched, s->n_touched + 1, sizeof *s->touched)) {
                s->oom = 1;
                return;
            }
            s->touched = q;
        }
        s->touched[s->n_touched++] = p;
    }
}

static void state_free(train_state *s)
{
    tx_free(s->nd);
    pairmap_free(&s->map);
    tx_free(s->pl);
    tx_free(s->pr);
    tx_free(s->pc);
    for (size_t p = 0; p < s->n_pairs; p++)
        tx_free(s->occ[p].pos);
    tx_free(s->occ);
    tx_free(s->pstamp);
    tx_free(s->heap);
    tx_free(s->touched);
    tx_free(s->tlen);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Merges every occurrence of pair p = (a, b) into c, updating the counts of the pairs around it as
 * Hugging Face's Word::merge does. Within a word, occurrences go left to right; that only matters
 * when a == b ("a a a" gives "c a"). Every list is filled in rising position order (the first counts
 * go through positions in order, and a pair made by a merge gets all its positions in that merge's
 * pass, which goes in order), so the sort below is only a guard; it runs for pairs of one symbol
 * twice, where the order decides the result. */
static void merge_pair(train_state *s, uint32_t p, int32_t c, uint32_t step)
{
    int32_t a = s->pl[p], b = s->pr[p];
    occ_list o = s->occ[p];
    s->occ[p].pos = NULL;   /* detached: pair_add never records positions for p (its deltas are < 0) */
    s->occ[p].n = s->occ[p].cap = 0;
    if (a == b && o.n > 1)
        qsort(o.pos, o.n, sizeof *o.pos, cmp_u32);
    node *nd = s->nd;
    for (uint32_t k = 0; k < o.n; k++) {
        uint32_t i = o.pos[k];
#if defined(__GNUC__)
        /* the positions are scattered over the corpus: ask for one a few visits ahead */
        if (k + 8 < o.n)
            __builtin_prefetch(&nd[o.pos[k + 8]], 1);
#endif
        if (nd[i].sym != a)
            continue;            /* stale: merged since */
        int32_t j = nd[i].nxt;
        if (j < 0 || nd[j].sym != b)
            continue;
        int64_t w = s->t->wcount[nd[i].wid];
        int32_t pv = nd[i].prv, q = nd[j].nxt;
        if (pv >= 0) {
            pair_add(s, nd[pv].sym, a, -w, (uint32_t)pv, step);
            pair_add(s, nd[pv].sym, c, w, (uint32_t)pv, step);
        }
        if (q >= 0) {
            pair_add(s, b, nd[q].sym, -w, i, step);
            pair_add(s, c, nd[q].sym, w, i, step);
        }
        nd[i].sym = c;
        nd[j].sym = -1;
        nd[i].nxt = q;
        if (q >= 0)
            nd[q].prv = (int32_t)i;
    }
    tx_free(o.pos);
}

#define DIRECT_MAX (1u << 22)   /* base_size^2 up to this: first counts through a table */

/* The first pair counts when base_size^2 <= DIRECT_MAX: a table indexed by (left, right) finds each
 * pair without hashing, a first pass sizes every pair's position list and a second fills it, so ten
 * million positions take two sequential passes instead of ten million hash probes and regrowths. */
static int count_pairs_direct(train_state *s)
{
    const tx_bpe_trainer *t = s->t;
    size_t B = (size_t)t->base_size;
    int32_t *idx = tx_malloc(B * B * sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < B * B; i++)
        idx[i] = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t w = 0; w < t->n_words; w++) {
            size_t st = t->wstart[w], n = t->wlen[w];
            const int32_t *x = t->syms + st;
            for (size_t i = 0; i + 1 < n; i++) {
                size_t k = (size_t)x[i] * B + (size_t)x[i + 1];
                int32_t p = idx[k];
                if (pass == 0) {
                    if (p < 0) {
                        /* a new pair: register it through the common path with no count */
                        size_t before = s->n_pairs;
                        pair_add(s, x[i], x[i + 1], 0, 0, 0);
                        if (s->oom || s->n_pairs != before + 1) {
                            tx_free(idx);
                            return -1;
                        }
                        p = idx[k] = (int32_t)before;
                    }
                    s->pc[p] += t->wcount[w];
                    s->occ[p].cap++;   /* the list's size, counted */
                } else {
                    occ_list *o = &s->occ[p];
                    o->pos[o->n++] = (uint32_t)(st + i);
                }
            }
        }
        if (pass == 0)
            for (size_t p = 0; p < s->n_pairs; p++) {
                s->occ[p].pos = tx_malloc((size_t)s->occ[p].cap * sizeof *s->occ[p].pos);
                if (!s->occ[p].pos) {
                    s->occ[p].cap = 0;
                    tx_free(idx);
                    return -1;
                }
            }
    }
    tx_free(idx);
    return 0;
}

int tx_bpe_train(tx_bpe_trainer *t, const tx_bpe_train_options *o,
                 void (*progress)(void *ud, size_t done, size_t total), void *ud, tx_bpe **out, tx_error *err)
{
    *out = NULL;
    if (!o || o->vocab_size < 0 || o->vocab_size > TX_BPE_MAX_VOCAB || o->max_token_length < 0)
        return tx_error_set(err, TX_EINVAL, "bpe: vocabulary size out of range 0..%d", TX_BPE_MAX_VOCAB);
    if (t->n_syms >= INT32_MAX)
        return tx_error_set(err, TX_ELIMIT, "bpe: over %d symbols in unique words", INT32_MAX);
    size_t wanted = o->vocab_size > t->base_size ? (size_t)(o->vocab_size - t->base_size) : 0;
    train_state s;
    memset(&s, 0, sizeof s);
    s.t = t;
    size_t N = t->n_syms + 1;
    int32_t *ml = tx_malloc((wanted + 1) * sizeof *ml), *mr = tx_malloc((wanted + 1) * sizeof *mr);
    s.nd = tx_malloc(N * sizeof *s.nd);
    s.tlen = tx_malloc(((size_t)t->base_size + wanted + 1) * sizeof *s.tlen);
    if (!ml || !mr || !s.nd || !s.tlen)
        goto oom;
    for (int i = 0; i < t->base_size; i++)
        s.tlen[i] = 1;

    /* positions, links and the initial pair counts; isolated ids never pair (they are never in a
     * word of two or more). With a small base the first counts go through a direct table (below). */
    int direct = (size_t)t->base_size * (size_t)t->base_size <= DIRECT_MAX;
    for (size_t w = 0; w < t->n_words && wanted; w++) {
        size_t st = t->wstart[w], n = t->wlen[w];
        for (size_t i = 0; i < n; i++) {
            node *x = &s.nd[st + i];
            x->sym = t->syms[st + i];
            x->prv = i ? (int32_t)(st + i - 1) : -1;
            x->nxt = i + 1 < n ? (int32_t)(st + i + 1) : -1;
            x->wid = (uint32_t)w;
        }
        if (!direct)
            for (size_t i = 0; i + 1 < n; i++)
                pair_add(&s, t->syms[st + i], t->syms[st + i + 1], t->wcount[w], (uint32_t)(st + i), 0);
        if (s.oom)
            goto oom;
    }
    if (direct && wanted && count_pairs_direct(&s))
        goto oom;
    for (size_t p = 0; p < s.n_pairs; p++)
        if (s.pc[p] > 0)
            mheap_push(&s, (heap_item){s.pc[p], s.pl[p], s.pr[p], (int32_t)p});
    if (s.oom)
        goto oom;

    size_t done = 0;
    int64_t min_freq = o->min_frequency > 1 ? o->min_frequency : 1;
    while (done < wanted && s.n_heap) {
        heap_item top = mheap_pop(&s);
        if (s.pc[top.pair] != top.count) {
            /* counts only fall (a pair that grows is new and pushed below): push it back as it is */
            if (s.pc[top.pair] > 0)
                mheap_push(&s, (heap_item){s.pc[top.pair], top.a, top.b, top.pair});
            if (s.oom)
                goto oom;
            continue;
        }
        if (top.count < min_freq)
            break;
        int32_t a = s.pl[top.pair], b = s.pr[top.pair];
        int64_t tl = (int64_t)s.tlen[a] + s.tlen[b];
        if (tl > INT32_MAX / 2 || (o->max_token_length > 0 && tl > o->max_token_length))
            continue;              /* too long: this pair is never merged */
        int32_t c = t->base_size + (int32_t)done;
        uint32_t step = (uint32_t)done + 1;
        ml[done] = a;
        mr[done] = b;
        s.tlen[c] = (int32_t)tl;
        s.n_touched = 0;
        merge_pair(&s, (uint32_t)top.pair, c, step);
        if (s.oom)
            goto oom;
        s.pc[top.pair] = 0;
        for (size_t i = 0; i < s.n_touched; i++) {
            uint32_t p = s.touched[i];
            if (s.pc[p] > 0)
                mheap_push(&s, (heap_item){s.pc[p], s.pl[p], s.pr[p], (int32_t)p});
        }
        if (s.oom)
            goto oom;
        done++;
        if (progress && (done & 255) == 0)
            progress(ud, done, wanted);
    }
    if (progress)
        progress(ud, done, wanted);

    tx_bpe *m = tx_calloc(1, sizeof *m);
    if (!m)
        goto oom;
    tx_bpe_words wr = {t->base_size, t->split, t->n_split, t->isol, t->n_isol};
    int rc = words_setup(&wr, &m->wflag, &m->split, &m->isol, err);
    if (rc) {
        tx_bpe_free(m);
        state_free(&s);
        tx_free(ml);
        tx_free(mr);
        return rc;
    }
    m->n_split = t->n_split;
    m->n_isol = t->n_isol;
    m->base_size = t->base_size;
    m->vocab_size = t->base_size + (int)done;
    m->n_merges = (int)done;
    m->base_to_id = tx_malloc((size_t)t->base_size * sizeof *m->base_to_id);
    m->m_left = ml;
    m->m_right = mr;
    m->m_result = tx_malloc((done + 1) * sizeof *m->m_result);
    ml = mr = NULL;
    state_free(&s);
    if (!m->base_to_id || !m->m_result) {
        tx_bpe_free(m);
        return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
    }
    for (int i = 0; i < t->base_size; i++)
        m->base_to_id[i] = i;
    for (size_t k = 0; k < done; k++)
        m->m_result[k] = t->base_size + (int32_t)k;
    rc = model_finish(m, "bpe", err);
    if (rc) {
        tx_bpe_free(m);
        return rc;
    }
    *out = m;
    return TX_OK;
oom:
    state_free(&s);
    tx_free(ml);
    tx_free(mr);
    return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
}

/* ==================================================================================================
 * tokenizer.json
 * ================================================================================================== */

/* Appends the string of id: one character U+(b + 33) per base id b, in UTF-8. */
static int put_token(const tx_bpe *b, int32_t id, tx_bpe_ids *tmp, tx_buf *out)
{
    tmp->len = 0;
    if (tx_bpe_decode(b, &id, 1, tmp, NULL))
        return -1;
    for (size_t i = 0; i < tmp->len; i++) {
        uint32_t cp = (uint32_t)tmp->ids[i] + TX_BPE_CHR_START;
        char u[4];
        size_t n;
        if (cp < 0x80) {
            u[0] = (char)cp;
            n = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xC0 | cp >> 6);
            u[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        } else {
            u[0] = (char)(0xE0 | cp >> 12);
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            n = 3;
        }
        tx_buf_append(out, u, n);
    }
    return 0;
}

static void put_id_list(tx_buf *out, const int32_t *v, size_t n)
{
    tx_buf_putc(out, '[');
    for (size_t i = 0; i < n; i++)
        tx_buf_printf(out, "%s%d", i ? ", " : "", (int)v[i]);
    tx_buf_putc(out, ']');
}

int tx_bpe_save(const tx_bpe *b, tx_buf *out)
{
    tx_bpe_ids tmp = TX_BPE_IDS_INIT;
    tx_buf s = TX_BUF_INIT;
    tx_buf_puts(out, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
                     "  \"added_tokens\": [],\n  \"normalizer\": null,\n  \"pre_tokenizer\": null,\n"
                     "  \"post_processor\": null,\n  \"decoder\": null,\n  \"model\": {\n"
                     "    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
                     "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
                     "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"vocab\": {");
    int first = 1, bad = 0;
    for (int32_t id = 0; id < b->vocab_size; id++) {
        if (!b->id_len[id])
            continue;
        tx_buf_reset(&s);
        bad |= put_token(b, id, &tmp, &s);
        tx_buf_puts(out, first ? "\n      " : ",\n      ");
        first = 0;
        tx_buf_json_string(out, s.data ? s.data : "");
        tx_buf_printf(out, ": %d", (int)id);
    }
    tx_buf_puts(out, "\n    },\n    \"merges\": [");
    for (int k = 0; k < b->n_merges; k++) {
        tx_buf_reset(&s);
        bad |= put_token(b, b->m_left[k], &tmp, &s);
        tx_buf_putc(&s, ' ');
        bad |= put_token(b, b->m_right[k], &tmp, &s);
        tx_buf_puts(out, k ? ",\n      " : "\n      ");
        tx_buf_json_string(out, s.data);
    }
    tx_buf_puts(out, "\n    ]\n  },\n  \"tactus\": {\n    \"base_size\": ");
    tx_buf_printf(out, "%d,\n    \"split_before\": ", b->base_size);
    put_id_list(out, b->split, b->n_split);
    tx_buf_puts(out, ",\n    \"isolated\": ");
    put_id_list(out, b->isol, b->n_isol);
    tx_buf_puts(out, "\n  }\n}\n");
    tx_buf_free(&s);
    tx_bpe_ids_free(&tmp);
    return bad || out->oom || s.oom ? TX_ENOMEM : TX_OK;
}

int tx_bpe_save_file(const tx_bpe *b, const char *path, tx_error *err)
{
    tx_buf out = TX_BUF_INIT;
    if (tx_bpe_save(b, &out)) {
        tx_buf_free(&out);
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    int rc = tx_write_file_atomic(path, out.data, out.len, err);
    tx_buf_free(&out);
    return rc;
}

/* A string -> id table over the vocabulary's keys. */
typedef struct strmap {
    const char **keys;
    size_t *lens;
    int32_t *vals;
    size_t cap;
} strmap;

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static int32_t strmap_get(const strmap *m, const char *s, size_t n)
{
    size_t j = (size_t)str_hash(s, n) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->lens[j] == n && !memcmp(m->keys[j], s, n))
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

/* Decodes one UTF-8 character (the JSON reader has validated the string). */
static size_t utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const uint8_t *u = (const uint8_t *)s;
    if (u[0] < 0x80 || n < 2) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xE0) {
        *cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
        return 2;
    }
    if (u[0] < 0xF0 || n < 4) {
        *cp = n < 3 ? 0 : (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
        return n < 3 ? n : 3;
    }
    *cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 | (uint32_t)(u[2] & 0x3F) << 6 |
          (u[3] & 0x3F);
    return 4;
}

#define SYNTAX(node, ...) \
    do { \
        char m_[300]; \
        snprintf(m_, sizeof m_, __VA_ARGS__); \
        rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld:%ld: %s", name, (node)->line, (node)->column, m_); \
        goto fail; \
    } while (0)

static int read_id_list(const tx_json *j, const char *name, int base_size, int32_t **out, size_t *n,
                        tx_error *err)
{
    int rc = TX_OK;
    *out = NULL;
    *n = 0;
    if (!j)
        return TX_OK;
    if (j->type != TX_JSON_ARRAY)
        SYNTAX(j, "expected an array of base ids");
    *out = tx_malloc((j->len + 1) * sizeof **out);
    if (!*out)
        return tx_error_set(err, TX_ENOMEM, "bpe: out of memory");
    for (size_t i = 0; i < j->len; i++) {
        const tx_json *v = j->items[i];
        if (v->type != TX_JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer >= base_size)
            SYNTAX(v, "expected a base id 0..%d", base_size - 1);
        (*out)[i] = (int32_t)v->integer;
    }
    *n = j->len;
    return TX_OK;
fail:
    tx_free(*out);
    *out = NULL;
    return rc;
}

int tx_bpe_load(const char *json, size_t len, const char *name, tx_bpe **out, tx_error *err)
{
    *out = NULL;
    if (!name)
        name = "<bpe>";
    tx_arena a = TX_ARENA_INIT;
    tx_json *root = NULL;
    tx_bpe *b = NULL;
    strmap sm = {0};
    int32_t *split = NULL, *isol = NULL;
    size_t n_split = 0, n_isol = 0;
    int32_t *mres = NULL;
    int rc = tx_json_parse(json, len, name, &a, &root, err);
    if (rc)
        goto fail;
    if (root->type != TX_JSON_OBJECT)
        SYNTAX(root, "expected an object");
    const tx_json *model = tx_json_get(root, "model");
    if (!model || model->type != TX_JSON_OBJECT)
        SYNTAX(root, "no \"model\" object");
    const tx_json *type = tx_json_get(model, "type");
    if (type && (type->type != TX_JSON_STRING || strcmp(type->str, "BPE")))
        SYNTAX(type, "model type is not \"BPE\"");
    const tx_json *vocab = tx_json_get(model, "vocab"), *merges = tx_json_get(model, "merges");
    if (!vocab || vocab->type != TX_JSON_OBJECT)
        SYNTAX(model, "no \"vocab\" object");
    if (!merges || merges->type != TX_JSON_ARRAY)
        SYNTAX(model, "no \"merges\" array");
    if (vocab->len > TX_BPE_MAX_VOCAB || merges->len > TX_BPE_MAX_VOCAB)
        SYNTAX(vocab, "more than %d tokens", TX_BPE_MAX_VOCAB);

    /* the vocabulary: ids, base characters, and a string table */
    int64_t max_id = -1, max_base = -1;
    sm.cap = 16;
    while (sm.cap < vocab->len * 2 + 2)
        sm.cap *= 2;
    sm.keys = tx_calloc(sm.cap, sizeof *sm.keys);
    sm.lens = tx_malloc(sm.cap * sizeof *sm.lens);
    sm.vals = tx_malloc(sm.cap * sizeof *sm.vals);
    if (!sm.keys || !sm.lens || !sm.vals)
        goto oom;
    for (size_t i = 0; i < vocab->len; i++) {
        const tx_json *v = vocab->items[i];
        const char *k = vocab->keys[i];
        size_t kn = strlen(k);
        if (v->type != TX_JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer >= TX_BPE_MAX_VOCAB)
            SYNTAX(v, "vocab: token \"%.40s\": expected an id 0..%d", k, TX_BPE_MAX_VOCAB - 1);
        if (kn == 0)
            SYNTAX(v, "vocab: empty token");
        if (v->integer > max_id)
            max_id = v->integer;
        uint32_t cp;
        if (utf8_next(k, kn, &cp) == kn) {
            if (cp < TX_BPE_CHR_START || cp - TX_BPE_CHR_START >= TX_BPE_MAX_BASE)
                SYNTAX(v, "vocab: token \"%.40s\" is not a base character", k);
            if ((int64_t)(cp - TX_BPE_CHR_START) > max_base)
                max_base = cp - TX_BPE_CHR_START;
        }
        size_t j = (size_t)str_hash(k, kn) & (sm.cap - 1);
        while (sm.keys[j]) {
            if (sm.lens[j] == kn && !memcmp(sm.keys[j], k, kn))
                break;              /* repeated key: the last one wins, as tx_json_get does */
            j = (j + 1) & (sm.cap - 1);
        }
        sm.keys[j] = k;
        sm.lens[j] = kn;
        sm.vals[j] = (int32_t)v->integer;
    }

    /* the word rule and base size */
    int64_t base_size = max_base + 1;
    const tx_json *tac = tx_json_get(root, "tactus");
    if (tac) {
        if (tac->type != TX_JSON_OBJECT)
            SYNTAX(tac, "\"tactus\" is not an object");
        const tx_json *bs = tx_json_get(tac, "base_size");
        if (bs) {
            if (bs->type != TX_JSON_NUMBER || !bs->is_integer || bs->integer < 1 || bs->integer > TX_BPE_MAX_BASE)
                SYNTAX(bs, "base_size: expected 1..%d", TX_BPE_MAX_BASE);
            if (bs->integer <= max_base)
                SYNTAX(bs, "base_size %lld is not above the base character U+%04llX", (long long)bs->integer,
                       (unsigned long long)(max_base + TX_BPE_CHR_START));
            base_size = bs->integer;
        }
        if ((rc = read_id_list(tx_json_get(tac, "split_before"), name, (int)base_size, &split, &n_split, err)) ||
            (rc = read_id_list(tx_json_get(tac, "isolated"), name, (int)base_size, &isol, &n_isol, err)))
            goto fail;
    }
    if (base_size < 1)
        SYNTAX(vocab, "vocab: no base characters");

    b = tx_calloc(1, sizeof *b);
    if (!b)
        goto oom;
    tx_bpe_words wr = {(int)base_size, split, n_split, isol, n_isol};
    if ((rc = words_setup(&wr, &b->wflag, &b->split, &b->isol, err)))
        goto fail;
    b->n_split = n_split;
    b->n_isol = n_isol;
    b->base_size = (int)base_size;
    b->vocab_size = (int)max_id + 1;
    b->base_to_id = tx_malloc((size_t)base_size * sizeof *b->base_to_id);
    b->m_left = tx_malloc((merges->len + 1) * sizeof *b->m_left);
    b->m_right = tx_malloc((merges->len + 1) * sizeof *b->m_right);
    b->m_result = mres = tx_malloc((merges->len + 1) * sizeof *b->m_result);
    if (!b->base_to_id || !b->m_left || !b->m_right || !b->m_result)
        goto oom;
    for (int64_t i = 0; i < base_size; i++)
        b->base_to_id[i] = -1;
    for (size_t i = 0; i < vocab->len; i++) {
        const char *k = vocab->keys[i];
        size_t kn = strlen(k);
        uint32_t cp;
        if (utf8_next(k, kn, &cp) == kn)
            b->base_to_id[cp - TX_BPE_CHR_START] = strmap_get(&sm, k, kn);
    }

    /* the merges */
    tx_buf joined = TX_BUF_INIT;
    for (size_t i = 0; i < merges->len; i++) {
        const tx_json *m = merges->items[i];
        const char *l, *r;
        size_t ln, rn;
        if (m->type == TX_JSON_STRING) {
            const char *sp = strchr(m->str, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                tx_buf_free(&joined);
                SYNTAX(m, "merge %zu: expected \"left right\"", i);
            }
            l = m->str;
            ln = (size_t)(sp - m->str);
            r = sp + 1;
            rn = strlen(r);
        } else if (m->type == TX_JSON_ARRAY && m->len == 2 && m->items[0]->type == TX_JSON_STRING &&
                   m->items[1]->type == TX_JSON_STRING) {
            l = m->items[0]->str;
            ln = strlen(l);
            r = m->items[1]->str;
            rn = strlen(r);
        } else {
            tx_buf_free(&joined);
            SYNTAX(m, "merge %zu: expected \"left right\" or [\"left\", \"right\"]", i);
        }
        int32_t li = strmap_get(&sm, l, ln), ri = strmap_get(&sm, r, rn);
        tx_buf_reset(&joined);
        tx_buf_append(&joined, l, ln);
        tx_buf_append(&joined, r, rn);
        if (joined.oom) {
            tx_buf_free(&joined);
            goto oom;
        }
        int32_t res = strmap_get(&sm, joined.data, joined.len);
        if (li < 0 || ri < 0 || res < 0) {
            const char *what = li < 0 ? l : ri < 0 ? r : joined.data;
            int wn = (int)(li < 0 ? ln : ri < 0 ? rn : joined.len);
            tx_buf_free(&joined);
            SYNTAX(m, "merge %zu: \"%.*s\" is not in the vocabulary", i, wn > 40 ? 40 : wn, what);
        }
        b->m_left[i] = li;
        b->m_right[i] = ri;
        b->m_result[i] = res;
    }
    tx_buf_free(&joined);
    b->n_merges = (int)merges->len;
    if ((rc = model_finish(b, name, err)))
        goto fail;
    *out = b;
    b = NULL;
    rc = TX_OK;
    goto fail;   /* the common clean-up */
oom:
    rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
fail:
    tx_bpe_free(b);
    tx_free(split);
    tx_free(isol);
    tx_free(sm.keys);
    tx_free(sm.lens);
    tx_free(sm.vals);
    tx_arena_free(&a);
    (void)mres;
    return rc;
}

int tx_bpe_load_file(const char *path, tx_bpe **out, tx_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = tx_read_file(path, TX_BPE_MAX_JSON, &data, &len, err);
    if (rc)
        return rc;
    rc = tx_bpe_load((const char *)data, len, path, out, err);
    tx_free(data);
    return rc;
}
