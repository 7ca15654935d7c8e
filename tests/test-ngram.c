/* test-ngram.c: the interpolated modified Kneser-Ney n-gram model (models/ngram.h).
 *
 * Probabilities on tiny corpora are checked against arithmetic done by hand in the comments (orders 1, 2
 * and 3, with the discounts from count-of-counts, continuation counts and the interpolation down to the
 * uniform distribution); whole distributions sum to 1 for random histories; unseen tokens get non-zero
 * probability; evaluation covers exactly the targets the transformer's evaluation counts; bad arguments
 * are refused, and out-of-memory failures are reported without leaks. Shards are written here in the
 * format tx_corpus_export produces.
 */
#include "harness.h"

#include "alloc-budget.h"
#include "ngram.h"

/* Writes NAME.json + NAME.bin holding n_docs documents (len[d] ids each, back to back in ids). */
static void write_shard(const char *name, const int32_t *ids, const int *len, int n_docs, int vocab)
{
    char path[256];
    snprintf(path, sizeof path, "%s.bin", name);
    FILE *f = fopen(path, "wb");
    int total = 0;
    for (int d = 0; d < n_docs; d++)
        total += len[d];
    for (int i = 0; i < total; i++) {
        fputc(ids[i] & 0xff, f);
        fputc((ids[i] >> 8) & 0xff, f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s.json", name);
    f = fopen(path, "w");
    fprintf(f, "{\"format\": \"tactus shard\", \"version\": 1, \"tokenizer\": \"test\", \"split\": \"train\", "
               "\"vocab_size\": %d, \"dtype\": \"uint16\", \"byte_order\": \"little\", "
               "\"tokenizer_config\": {}, \"documents\": [", vocab);
    int off = 0;
    for (int d = 0; d < n_docs; d++) {
        fprintf(f, "%s[%d, %d, \"doc%d.mid\", 0, 0]", d ? ", " : "", off, len[d], d);
        off += len[d];
    }
    fprintf(f, "], \"n_documents\": %d, \"n_tokens\": %d}\n", n_docs, total);
    fclose(f);
}

static tx_shard *open_shard(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s.json", name);
    tx_shard *s = NULL;
    tx_error e;
    if (tx_shard_open(path, &s, &e))
        fprintf(stderr, "%s\n", e.msg);
    return s;
}

static void remove_shard(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s.json", name);
    remove(path);
    snprintf(path, sizeof path, "%s.bin", name);
    remove(path);
}

static tx_ngram *train(const tx_shard *s, int order, int32_t bos)
{
    tx_ngram *m = NULL;
    tx_error e;
    if (tx_ngram_train(s, order, bos, &m, &e))
        fprintf(stderr, "%s\n", e.msg);
    return m;
}

/* ---- order 1: discounted unigram counts interpolated with the uniform distribution ---- */

static void test_order1(void)
{
    /* V = 8 (0 = BOS, 7 never seen). Counts: 1:1, 2:1, 3:2, 4:3, 5:4, 6:5; total 16.
     * count-of-counts (exactly c times) n1 = 2, n2 = 1, n3 = 1, n4 = 1 (6, seen 5 times, is in none);
     * Y = n1 / (n1 + 2 n2) = 2/4 = 0.5.
     * D1 = 1 - 2 Y n2/n1 = 1 - 0.5 = 0.5; D2 = 2 - 3 Y n3/n2 = 2 - 1.5 = 0.5; D3 = 3 - 4 Y n4/n3 = 1.
     * gamma = (D1 * N1 + D2 * N2 + D3 * N3+) / total = (0.5 * 2 + 0.5 * 1 + 1 * 3) / 16 = 4.5 / 16.
     * p(w) = max(c - D, 0) / 16 + gamma / 8, in 128ths: 8 (c - D) + 4.5:
     *   p(1) = p(2) = 8.5; p(3) = 12 + 4.5 = 16.5; p(4) = 16 + 4.5 = 20.5; p(5) = 24 + 4.5 = 28.5;
     *   p(6) = 32 + 4.5 = 36.5; p(7) = p(BOS) = 4.5. Together 128/128. */
    const int32_t ids[] = {5, 5, 4, 3, 1, 6, 6, 5, 4, 4, 3, 2, 5, 6, 6, 6};
    const int len[] = {7, 9};
    write_shard("test-ngram.tmp.o1", ids, len, 2, 8);
    tx_shard *s = open_shard("test-ngram.tmp.o1");
    CHECK(s != NULL);
    if (!s)
        return;
    tx_ngram *m = train(s, 1, 0);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(tx_ngram_discount(m, 1, 1), 0.5, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 1, 2), 0.5, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 1, 3), 1.0, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 1, 7), 1.0, 1e-12);   /* 3 or more */
        const double want[8] = {4.5 / 128, 8.5 / 128, 8.5 / 128, 16.5 / 128, 20.5 / 128, 28.5 / 128,
                                36.5 / 128, 4.5 / 128};
        const int32_t h[] = {5, 4};
        for (int w = 0; w < 8; w++) {
            CHECK_NEAR(tx_ngram_prob(m, NULL, 0, w), want[w], 1e-12);
            CHECK_NEAR(tx_ngram_prob(m, h, 2, w), want[w], 1e-12);   /* order 1 ignores the history */
        }
        CHECK(tx_ngram_prob(m, NULL, 0, 7) > 0);
        CHECK(tx_ngram_prob(m, NULL, 0, 8) == 0);    /* outside the vocabulary */
        CHECK(tx_ngram_prob(m, NULL, 0, -1) == 0);
        /* evaluation: the 16 targets, each scored by the unigram */
        double loss = 0, want_loss = 0;
        size_t n = 0;
        tx_error e;
        for (int i = 0; i < 16; i++)
            want_loss -= log(want[ids[i]]);
        CHECK_INT(tx_ngram_evaluate(m, s, 0, &loss, &n, &e), TX_OK);
        CHECK_INT(n, 16);
        CHECK_NEAR(loss, want_loss / 16, 1e-12);
    }
    tx_ngram_free(m);
    tx_shard_free(s);
    remove_shard("test-ngram.tmp.o1");
}

/* ---- orders 2 and 3 on one corpus: V = 5 (0 = BOS, 4 never seen), documents "1 2 1 2 3" and "1 3" ---- */

static const int32_t small_ids[] = {1, 2, 1, 2, 3, 1, 3};
static const int small_len[] = {5, 2};

static void test_order2(void)
{
    /* Bigrams (B = BOS; raw counts at the highest order): B1:2, 12:2, 13:1, 21:1, 23:1.
     *   count-of-counts n1 = 3, n2 = 2, n3 = n4 = 0; Y = 3 / (3 + 4) = 3/7;
     *   D1 = 1 - 2 (3/7)(2/3) = 3/7; D2 = 2 - 3 Y 0 / 2 = 2; D3: no bigram seen 3 times, c/2 = 1.5.
     * Unigram continuation counts (distinct left neighbours): 1: {B, 2} = 2, 2: {1} = 1, 3: {1, 2} = 2;
     *   total 5, n1 = 1, n2 = 2; Y = 1 / 5; D1 = 1 - 2 (1/5)(2/1) = 0.2, D2 = 2.
     *   gamma = (0.2 * 1 + 2 * 2) / 5 = 0.84, and uniform 1/5:
     *   p1(1) = (2 - 2)/5 + 0.84/5 = 0.168; p1(2) = (1 - 0.2)/5 + 0.168 = 0.328; p1(3) = p1(4) = 0.168.
     * Context 1: extensions 12:2, 13:1; total 3, n1 = 1, n2 = 1; gamma = (3/7 + 2) / 3 = 17/21.
     *   p(2 | 1) = (2 - 2)/3 + 17/21 * 0.328 = 0.2655238095...;
     *   p(3 | 1) = (1 - 3/7)/3 + 17/21 * 0.168 = 4/21 + 0.136 = 0.3264761904...
     * Context 2: extensions 21:1, 23:1; total 2, n1 = 2; gamma = 2 (3/7) / 2 = 3/7.
     *   p(1 | 2) = (1 - 3/7)/2 + 3/7 * 0.168 = 2/7 + 0.072 = 0.3577142857...; p(4 | 2) = 0.072.
     * Context 3 never precedes anything: p(1 | 3) = p1(1) = 0.168. Context B: B1:2 alone; total 2, n2 = 1,
     *   gamma = 2 * 1 / 2 = 1: p(1 | B) = 0 + p1(1) = 0.168, the same with an empty history. */
    write_shard("test-ngram.tmp.o2", small_ids, small_len, 2, 5);
    tx_shard *s = open_shard("test-ngram.tmp.o2");
    CHECK(s != NULL);
    if (!s)
        return;
    tx_ngram *m = train(s, 2, 0);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(tx_ngram_discount(m, 2, 1), 3.0 / 7, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 2, 2), 2.0, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 2, 3), 1.5, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 1, 1), 0.2, 1e-12);
        const int32_t h1[] = {1}, h2[] = {2}, h3[] = {3}, hb[] = {0}, h21[] = {2, 1};
        CHECK_NEAR(tx_ngram_prob(m, h1, 1, 2), 17.0 / 21 * 0.328, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h1, 1, 3), 4.0 / 21 + 0.136, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h21, 2, 2), 17.0 / 21 * 0.328, 1e-12);   /* only the last id counts */
        CHECK_NEAR(tx_ngram_prob(m, h2, 1, 1), 2.0 / 7 + 0.072, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h2, 1, 4), 0.072, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h3, 1, 1), 0.168, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, hb, 1, 1), 0.168, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, NULL, 0, 1), 0.168, 1e-12);
        /* evaluation: 7 targets, the sum of -log p along each document from BOS */
        double want = 0, loss;
        size_t n;
        tx_error e;
        const int32_t *doc = small_ids;
        for (int d = 0; d < 2; doc += small_len[d], d++)
            for (int i = 0; i < small_len[d]; i++)
                want -= log(tx_ngram_prob(m, doc, (size_t)i, doc[i]));
        CHECK_INT(tx_ngram_evaluate(m, s, 0, &loss, &n, &e), TX_OK);
        CHECK_INT(n, 7);
        CHECK_NEAR(loss, want / 7, 1e-12);
        CHECK_INT(tx_ngram_evaluate(m, s, 1, &loss, &n, &e), TX_EINVAL);   /* not the training BOS */
    }
    tx_ngram_free(m);
    tx_shard_free(s);
    remove_shard("test-ngram.tmp.o2");
}

static void test_order3(void)
{
    /* Trigrams (raw): BB1:2, B12:1, B13:1, 121:1, 123:1, 212:1; n1 = 5, n2 = 1, Y = 5/7,
     *   D1 = 1 - 2 (5/7)(1/5) = 5/7, D2 = 2.
     * Bigram continuation counts: B1: {B} 1, 12: {B, 2} 2, 13: {B} 1, 21: {1} 1, 23: {1} 1;
     *   n1 = 4, n2 = 1, Y = 4/6, D1 = 1 - 2 (2/3)(1/4) = 2/3, D2 = 2.
     * Unigram continuation counts as for order 2 (left neighbours of bigram types): p1 = 0.168, 0.328,
     *   0.168 for 1, 2, 3 and 0.168 for unseen 4.
     * p(2 | 2 1): context 1 (order 2): 12:2, 13:1, total 3, n1 = n2 = 1, gamma = (2/3 + 2)/3 = 8/9;
     *   p2(2 | 1) = 0 + 8/9 * 0.328. Context 2 1 (order 3): 212:1, total 1, gamma = 5/7;
     *   p = (1 - 5/7)/1 + 5/7 * 8/9 * 0.328 = 0.4939682539...
     * p(1 | 1 2): context 2: 21:1, 23:1, total 2, gamma = 2 (2/3)/2 = 2/3; p2(1 | 2) = (1 - 2/3)/2 +
     *   2/3 * 0.168 = 1/6 + 0.112. Context 1 2: 121:1, 123:1, total 2, gamma = 5/7;
     *   p = (1 - 5/7)/2 + 5/7 (1/6 + 0.112) = 0.3419047619...
     * p(4 | 1 2) = 5/7 * 2/3 * 0.168 = 0.08 (never seen, still above zero).
     * p(1 | B B) = p(1 | empty history): BB1:2 alone, total 2, n2 = 1, gamma = 1; context B: B1:1,
     *   total 1, n1 = 1, gamma = 2/3: p2(1 | B) = (1 - 2/3) + 2/3 * 0.168 = 0.445333...; p = 0 + 1 * that. */
    write_shard("test-ngram.tmp.o3", small_ids, small_len, 2, 5);
    tx_shard *s = open_shard("test-ngram.tmp.o3");
    CHECK(s != NULL);
    if (!s)
        return;
    tx_ngram *m = train(s, 3, 0);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(tx_ngram_discount(m, 3, 1), 5.0 / 7, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 2, 1), 2.0 / 3, 1e-12);
        CHECK_NEAR(tx_ngram_discount(m, 1, 1), 0.2, 1e-12);
        const int32_t h21[] = {2, 1}, h12[] = {1, 2}, h312[] = {3, 1, 2};
        CHECK_NEAR(tx_ngram_prob(m, h21, 2, 2), 2.0 / 7 + 5.0 / 7 * 8.0 / 9 * 0.328, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h12, 2, 1), 1.0 / 7 + 5.0 / 7 * (1.0 / 6 + 0.112), 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h312, 3, 1), 1.0 / 7 + 5.0 / 7 * (1.0 / 6 + 0.112), 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, h12, 2, 4), 0.08, 1e-12);
        CHECK_NEAR(tx_ngram_prob(m, NULL, 0, 1), 1.0 / 3 + 2.0 / 3 * 0.168, 1e-12);
        double want = 0, loss;
        size_t n;
        tx_error e;
        const int32_t *doc = small_ids;
        for (int d = 0; d < 2; doc += small_len[d], d++)
            for (int i = 0; i < small_len[d]; i++)
                want -= log(tx_ngram_prob(m, doc, (size_t)i, doc[i]));
        CHECK_INT(tx_ngram_evaluate(m, s, 0, &loss, &n, &e), TX_OK);
        CHECK_INT(n, 7);
        CHECK_NEAR(loss, want / 7, 1e-12);
    }
    tx_ngram_free(m);
    tx_shard_free(s);
    remove_shard("test-ngram.tmp.o3");
}

/* ---- random corpora: distributions sum to 1, evaluation over long documents ---- */

static uint64_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

static void test_random(void)
{
    /* 5 documents, one longer than the 4096-token evaluation window and one empty; ids drawn with a
     * skew (small ids often) so that every order sees repeats; id 61 of 62 never occurs. */
    enum { V = 62, DOCS = 5 };
    const int len[DOCS] = {300, 0, 9000, 1, 700};
    int total = 0;
    for (int d = 0; d < DOCS; d++)
        total += len[d];
    int32_t *ids = malloc((size_t)total * sizeof *ids);
    for (int i = 0; i < total; i++)
        ids[i] = 1 + (int32_t)(rnd(60) * rnd(60) / 60);
    write_shard("test-ngram.tmp.rnd", ids, len, DOCS, V);
    tx_shard *s = open_shard("test-ngram.tmp.rnd");
    CHECK(s != NULL);
    float probs[V];
    for (int order = 1; s && order <= 6; order++) {
        tx_ngram *m = train(s, order, 0);
        CHECK(m != NULL);
        if (!m)
            continue;
        CHECK_INT(tx_ngram_order(m), order);
        CHECK_INT(tx_ngram_vocab(m), V);
        double worst = 0;
        for (int trial = 0; trial < 50; trial++) {
            int32_t h[8];
            size_t n = rnd(9);
            /* half the histories come from the corpus (seen contexts), half are random */
            uint32_t at = rnd((uint32_t)total - 8);
            for (size_t i = 0; i < n; i++)
                h[i] = trial % 2 ? ids[at + i] : (int32_t)rnd(V);
            tx_ngram_dist(m, h, n, probs);
            double sum = 0;
            int zero = 0;
            for (int w = 0; w < V; w++) {
                sum += probs[w];
                zero += probs[w] <= 0;
                double d = fabs(probs[w] - tx_ngram_prob(m, h, n, w));
                if (d > worst)
                    worst = d;
            }
            CHECK_NEAR(sum, 1.0, 1e-5);
            CHECK_INT(zero, 0);
        }
        CHECK(worst < 1e-7);
        if (worst >= 1e-7)
            fprintf(stderr, "order %d: dist and prob differ by %g\n", order, worst);
        /* evaluation: every token of every document, BOS first, equal to summing tx_ngram_prob */
        double want = 0, loss;
        size_t n;
        tx_error e;
        const int32_t *doc = ids;
        for (int d = 0; d < DOCS; doc += len[d], d++)
            for (int i = 0; i < len[d]; i++)
                want -= log(tx_ngram_prob(m, doc, (size_t)i, doc[i]));
        CHECK_INT(tx_ngram_evaluate(m, s, 0, &loss, &n, &e), TX_OK);
        CHECK_INT(n, (size_t)total);
        CHECK_NEAR(loss, want / total, 1e-9);
        /* a higher order fits its own training data better */
        static double prev;
        if (order > 1)
            CHECK(loss < prev);
        prev = loss;
        CHECK(tx_ngram_entries(m) > 0 && tx_ngram_bytes(m) > tx_ngram_entries(m));
        tx_ngram_free(m);
    }
    free(ids);
    tx_shard_free(s);
    remove_shard("test-ngram.tmp.rnd");
}

/* ---- refusals and out of memory ---- */

static void test_bad_arguments(void)
{
    write_shard("test-ngram.tmp.bad", small_ids, small_len, 2, 5);
    tx_shard *s = open_shard("test-ngram.tmp.bad");
    CHECK(s != NULL);
    if (!s)
        return;
    tx_ngram *m = (tx_ngram *)&m;
    tx_error e;
    CHECK_INT(tx_ngram_train(s, 0, 0, &m, &e), TX_EINVAL);
    CHECK(m == NULL);
    CHECK_STR(e.msg, "ngram: order 0 outside 1..8");
    CHECK_INT(tx_ngram_train(s, 9, 0, &m, &e), TX_EINVAL);
    CHECK_INT(tx_ngram_train(s, 3, -1, &m, &e), TX_EINVAL);
    CHECK_INT(tx_ngram_train(s, 3, 5, &m, &e), TX_EINVAL);
    CHECK_STR(e.msg, "ngram: bos 5 outside the vocabulary of 5");
    CHECK(m == NULL);
    CHECK_INT(tx_ngram_train(s, 8, 4, &m, &e), TX_OK);
    tx_ngram_free(m);
    /* a shard with a larger vocabulary than the model's is refused by evaluate */
    write_shard("test-ngram.tmp.big", small_ids, small_len, 2, 9);
    tx_shard *big = open_shard("test-ngram.tmp.big");
    m = train(s, 2, 0);
    double loss;
    CHECK(big && m);
    if (big && m)
        CHECK_INT(tx_ngram_evaluate(m, big, 0, &loss, NULL, &e), TX_EINVAL);
    tx_ngram_free(m);
    tx_ngram_free(NULL);
    tx_shard_free(big);
    tx_shard_free(s);
    remove_shard("test-ngram.tmp.big");
    remove_shard("test-ngram.tmp.bad");
}

static void test_out_of_memory(void)
{
    enum { N = 6000 };
    static int32_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = (int32_t)(1 + rnd(40));
    const int len[] = {N / 2, N / 2};
    write_shard("test-ngram.tmp.oom", ids, len, 2, 41);
    tx_shard *s = open_shard("test-ngram.tmp.oom");
    CHECK(s != NULL);
    if (!s)
        return;
    int done = 0;
    for (long budget = 0; budget < 200 && !done; budget++) {
        tx_ngram *m = NULL;
        tx_error e;
        double loss;
        tx_test_alloc_begin(budget);
        int rc = tx_ngram_train(s, 4, 0, &m, &e);
        if (rc == TX_OK) {
            rc = tx_ngram_evaluate(m, s, 0, &loss, NULL, &e);
            done = rc == TX_OK;
        }
        tx_ngram_free(m);
        long live = tx_test_alloc_end();
        if (!done) {
            CHECK_INT(rc, TX_ENOMEM);
            CHECK_STR(e.msg, "ngram: out of memory");
        }
        CHECK_INT(live, 0);
    }
    CHECK(done);   /* the table grows several times on 6000 tokens: many budgets were tried */
    tx_shard_free(s);
    remove_shard("test-ngram.tmp.oom");
}

int main(void)
{
    RUN(test_order1);
    RUN(test_order2);
    RUN(test_order3);
    RUN(test_random);
    RUN(test_bad_arguments);
    RUN(test_out_of_memory);
    return tx_test_finish();
}
