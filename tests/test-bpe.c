/* test-bpe.c: unit tests of the BPE trainer, encoder, decoder and its tokenizer.json form.
 *
 * Oracles: merges worked out by hand; a naive reference trainer and encoder written here the slow,
 * obvious way (recount every pair each step; merge the lowest-ranked adjacent pair, leftmost first,
 * until none is left) that the fast ones must agree with on random words; decode(encode(x)) == x on
 * random sequences and on REMI ids of the POP909 files in tests/data/midi; hostile JSON that must
 * fail with a message and never crash.
 */
#include "harness.h"
#include "alloc-budget.h"

#include "midi.h"
#include "tokenizers/bpe.h"
#include "tokenizers/remi.h"

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* ---- a naive reference ---- */

typedef struct ref_word { int32_t s[64]; int n; } ref_word;

/* Learns up to `want` merges over words (each weight 1) the slow way; returns how many. */
static int ref_train(ref_word *w, int nw, int base, int want, int32_t *ml, int32_t *mr)
{
    int done = 0;
    while (done < want) {
        int64_t best = 0;
        int32_t ba = 0, bb = 0;
        /* count every pair (overlapping occurrences count) */
        for (int32_t a = 0; a < base + done; a++)
            for (int32_t b = 0; b < base + done; b++) {
                int64_t c = 0;
                for (int i = 0; i < nw; i++)
                    for (int j = 0; j + 1 < w[i].n; j++)
                        c += w[i].s[j] == a && w[i].s[j + 1] == b;
                if (c > best) {   /* strict: the first (lowest a, then b) of equal counts stays */
                    best = c;
                    ba = a;
                    bb = b;
                }
            }
        if (best == 0)
            break;
        int32_t c = base + done;
        ml[done] = ba;
        mr[done] = bb;
        for (int i = 0; i < nw; i++) {
            int k = 0;
            for (int j = 0; j < w[i].n;) {
                if (j + 1 < w[i].n && w[i].s[j] == ba && w[i].s[j + 1] == bb) {
                    w[i].s[k++] = c;
                    j += 2;
                } else {
                    w[i].s[k++] = w[i].s[j++];
                }
            }
            w[i].n = k;
        }
        done++;
    }
    return done;
}

/* Encodes one word with merges ml/mr (ranks in order, result base + rank) the slow way. */
static int ref_encode(int32_t *s, int n, int base, int nm, const int32_t *ml, const int32_t *mr)
{
    for (;;) {
        int best = -1, at = -1;
        for (int j = 0; j + 1 < n; j++)
            for (int k = 0; k < nm; k++)
                if (s[j] == ml[k] && s[j + 1] == mr[k]) {
                    if (best < 0 || k < best) {
                        best = k;
                        at = j;
                    }
                    break;
                }
        if (best < 0)
            return n;
        s[at] = base + best;
        memmove(s + at + 1, s + at + 2, (size_t)(n - at - 2) * sizeof *s);
        n--;
    }
}

static tx_bpe *train_words(int base, const int32_t *ids, size_t n, int vocab, const int32_t *split,
                           size_t n_split, const int32_t *isol, size_t n_isol)
{
    tx_bpe_words w = {base, split, n_split, isol, n_isol};
    tx_error err;
    tx_bpe_trainer *t = tx_bpe_trainer_new(&w, &err);
    CHECK(t != NULL);
    if (!t)
        return NULL;
    CHECK_INT(tx_bpe_trainer_add(t, ids, n, &err), TX_OK);
    tx_bpe_train_options o = {vocab, 0, 0};
    tx_bpe *b = NULL;
    CHECK_INT(tx_bpe_train(t, &o, NULL, NULL, &b, &err), TX_OK);
    tx_bpe_trainer_free(t);
    return b;
}

/* ---- tests ---- */

static void test_hand_example(void)
{
    /* words [3 0 1 0 1 2] and [3 0 1] (a word starts at each 3):
     * (0,1) x3 -> 4; then [3 4 4 2], [3 4]: (3,4) x2 -> 5; then [5 4 2], [5]: (5,4) and (4,2) tie at
     * 1, the lowest pair first -> (4,2) = 6; then [5 6]: (5,6) -> 7 */
    int32_t ids[] = {3, 0, 1, 0, 1, 2, 3, 0, 1};
    int32_t split = 3;
    tx_bpe *b = train_words(4, ids, 9, 100, &split, 1, NULL, 0);
    if (!b)
        return;
    CHECK_INT(tx_bpe_n_merges(b), 4);
    CHECK_INT(tx_bpe_vocab_size(b), 8);
    static const int32_t want_m[4][3] = {{0, 1, 4}, {3, 4, 5}, {4, 2, 6}, {5, 6, 7}};
    int32_t l, r, res;
    for (int k = 0; k < 4; k++) {
        tx_bpe_merge(b, k, &l, &r, &res);
        CHECK(l == want_m[k][0] && r == want_m[k][1] && res == want_m[k][2]);
    }
    CHECK_INT(tx_bpe_token_length(b, 7), 6);
    CHECK_INT(tx_bpe_merge(b, 4, &l, &r, &res), TX_EINVAL);

    tx_bpe_ids out = TX_BPE_IDS_INIT;
    tx_error err;
    CHECK_INT(tx_bpe_encode(b, ids, 9, &out, &err), TX_OK);
    CHECK_INT(out.len, 2);
    CHECK(out.len == 2 && out.ids[0] == 7 && out.ids[1] == 5);
    /* a Bar in the middle keeps (0,1) apart */
    int32_t x[] = {0, 3, 1};
    out.len = 0;
    CHECK_INT(tx_bpe_encode(b, x, 3, &out, &err), TX_OK);
    CHECK_INT(out.len, 3);
    /* bad ids */
    int32_t bad[] = {0, 9};
    CHECK_INT(tx_bpe_encode(b, bad, 2, &out, &err), TX_EINVAL);
    CHECK(strstr(err.msg, "token 1") != NULL);
    int32_t badd[] = {8};
    CHECK_INT(tx_bpe_decode(b, badd, 1, &out, &err), TX_EINVAL);
    tx_bpe_ids_free(&out);
    tx_bpe_free(b);

    /* target vocabulary not above the base: no merges */
    b = train_words(4, ids, 9, 4, &split, 1, NULL, 0);
    CHECK(b && tx_bpe_n_merges(b) == 0);
    tx_bpe_free(b);
}

static void test_overlap(void)
{
    /* "a a a a" -> (a,a) -> "A A" -> (A,A); and "a a a" encodes as "A a" (left to right) */
    int32_t ids[] = {0, 0, 0, 0};
    tx_bpe *b = train_words(1, ids, 4, 10, NULL, 0, NULL, 0);
    if (!b)
        return;
    CHECK_INT(tx_bpe_n_merges(b), 2);
    tx_bpe_ids out = TX_BPE_IDS_INIT;
    tx_error err;
    CHECK_INT(tx_bpe_encode(b, ids, 3, &out, &err), TX_OK);
    CHECK_INT(out.len, 2);
    if (out.len == 2) {
        CHECK_INT(out.ids[0], 1);
        CHECK_INT(out.ids[1], 0);
    }
    out.len = 0;
    CHECK_INT(tx_bpe_encode(b, ids, 4, &out, &err), TX_OK);
    CHECK(out.len == 1 && out.ids[0] == 2);
    tx_bpe_ids_free(&out);
    tx_bpe_free(b);
}

static void test_against_reference(void)
{
    for (int round = 0; round < 60; round++) {
        int base = 2 + (int)(rnd() % 6), nw = 1 + (int)(rnd() % 12);
        ref_word w[12];
        int32_t all[12 * 65];
        int32_t iso = base;     /* one extra id, isolated, between the words */
        size_t n = 0;
        for (int i = 0; i < nw; i++) {
            all[n++] = iso;
            if (i > 0 && rnd() % 3 == 0) {   /* a repeated word: counted with weight 2 and more */
                w[i] = w[rnd() % (uint32_t)i];
                for (int j = 0; j < w[i].n; j++)
                    all[n++] = w[i].s[j];
                continue;
            }
            w[i].n = 1 + (int)(rnd() % 20);
            for (int j = 0; j < w[i].n; j++)
                all[n++] = w[i].s[j] = (int32_t)(rnd() % (uint32_t)base);
        }
        /* the reference works on the words alone: base + 1 ids, the isolated one unused */
        int32_t ml[64], mr[64];
        int want = 1 + (int)(rnd() % 20);
        int nm = ref_train(w, nw, base + 1, want, ml, mr);
        tx_bpe *b = train_words(base + 1, all, n, base + 1 + want, NULL, 0, &iso, 1);
        if (!b)
            return;
        CHECK_INT(tx_bpe_n_merges(b), nm);
        int same = tx_bpe_n_merges(b) == nm;
        for (int k = 0; k < nm && same; k++) {
            int32_t l, r;
            tx_bpe_merge(b, k, &l, &r, NULL);
            same = l == ml[k] && r == mr[k];
        }
        CHECK(same);
        /* encoding random words agrees with the slow encoder, and decodes back */
        for (int t = 0; t < 20; t++) {
            int32_t s[40], ref[40];
            int len = 1 + (int)(rnd() % 40);
            for (int j = 0; j < len; j++)
                s[j] = ref[j] = (int32_t)(rnd() % (uint32_t)base);
            int rn = ref_encode(ref, len, base + 1, nm, ml, mr);
            tx_bpe_ids out = TX_BPE_IDS_INIT, back = TX_BPE_IDS_INIT;
            tx_error err;
            CHECK_INT(tx_bpe_encode(b, s, (size_t)len, &out, &err), TX_OK);
            int eq = (int)out.len == rn;
            for (int j = 0; eq && j < rn; j++)
                eq = out.ids[j] == ref[j];
            CHECK(eq);
            CHECK_INT(tx_bpe_decode(b, out.ids, out.len, &back, &err), TX_OK);
            CHECK(back.len == (size_t)len && !memcmp(back.ids, s, (size_t)len * sizeof *s));
            tx_bpe_ids_free(&out);
            tx_bpe_ids_free(&back);
        }
        tx_bpe_free(b);
    }
}

static void test_isolated_and_long(void)
{
    /* id 0 is isolated: never merged, even between repeated pairs */
    int32_t ids[4000];
    for (int i = 0; i < 4000; i++)
        ids[i] = i % 7 == 0 ? 0 : 1 + (int32_t)(rnd() % 3);
    int32_t iso = 0;
    tx_bpe *b = train_words(4, ids, 4000, 60, NULL, 0, &iso, 1);
    if (!b)
        return;
    CHECK(tx_bpe_n_merges(b) > 10);
    for (int k = 0; k < tx_bpe_n_merges(b); k++) {
        int32_t l, r;
        tx_bpe_merge(b, k, &l, &r, NULL);
        CHECK(l != 0 && r != 0);
    }
    /* a long word (no boundaries at all) round-trips; 100k random ids */
    size_t n = 100000;
    int32_t *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (int32_t)(rnd() % 4);
    tx_bpe_ids out = TX_BPE_IDS_INIT, back = TX_BPE_IDS_INIT;
    tx_error err;
    CHECK_INT(tx_bpe_encode(b, x, n, &out, &err), TX_OK);
    CHECK(out.len < n);
    CHECK_INT(tx_bpe_decode(b, out.ids, out.len, &back, &err), TX_OK);
    CHECK(back.len == n && !memcmp(back.ids, x, n * sizeof *x));
    size_t z_in = 0, z_out = 0;
    for (size_t i = 0; i < n; i++)
        z_in += x[i] == 0;
    for (size_t i = 0; i < out.len; i++)
        z_out += out.ids[i] == 0;
    CHECK(z_in > 0 && z_in == z_out);
    free(x);
    tx_bpe_ids_free(&out);
    tx_bpe_ids_free(&back);
    tx_bpe_free(b);

    /* max_token_length and min_frequency stop merges */
    tx_bpe_words w = {4, NULL, 0, NULL, 0};
    tx_bpe_trainer *t = tx_bpe_trainer_new(&w, &err);
    int32_t y[] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3};
    CHECK_INT(tx_bpe_trainer_add(t, y, 12, &err), TX_OK);
    CHECK_INT(tx_bpe_trainer_tokens(t), 12);
    tx_bpe_train_options o = {100, 0, 2};
    CHECK_INT(tx_bpe_train(t, &o, NULL, NULL, &b, &err), TX_OK);
    for (int k = 0; k < tx_bpe_n_merges(b); k++) {
        int32_t res;
        tx_bpe_merge(b, k, NULL, NULL, &res);
        CHECK(tx_bpe_token_length(b, res) <= 2);
    }
    tx_bpe_free(b);
    tx_bpe_train_options o2 = {100, 4, 0};
    CHECK_INT(tx_bpe_train(t, &o2, NULL, NULL, &b, &err), TX_OK);
    CHECK_INT(tx_bpe_n_merges(b), 2);   /* (1,2) x4, then (4,3) x4; the rest occur 3 times or less */
    tx_bpe_free(b);
    int32_t z[] = {5};
    CHECK_INT(tx_bpe_trainer_add(t, z, 1, &err), TX_EINVAL);
    tx_bpe_trainer_free(t);
    tx_bpe_words bad = {4, z, 1, NULL, 0};
    CHECK(tx_bpe_trainer_new(&bad, &err) == NULL);
    CHECK_INT(err.code, TX_EINVAL);
}

static void test_json(void)
{
    int32_t ids[3000];
    for (int i = 0; i < 3000; i++)
        ids[i] = i % 11 == 0 ? 5 : (int32_t)(rnd() % 5);
    int32_t split = 5, iso = 6;
    tx_bpe *b = train_words(200, ids, 3000, 300, &split, 1, &iso, 1);
    if (!b)
        return;
    tx_buf j = TX_BUF_INIT;
    CHECK_INT(tx_bpe_save(b, &j), TX_OK);
    CHECK(strstr(j.data, "\"type\": \"BPE\"") != NULL);
    CHECK(strstr(j.data, "\"split_before\": [5]") != NULL);
    tx_bpe *c = NULL;
    tx_error err;
    CHECK_INT(tx_bpe_load(j.data, j.len, "t.json", &c, &err), TX_OK);
    if (!c) {
        fprintf(stderr, "%s\n", err.msg);
        tx_buf_free(&j);
        tx_bpe_free(b);
        return;
    }
    CHECK_INT(tx_bpe_n_merges(c), tx_bpe_n_merges(b));
    CHECK_INT(tx_bpe_vocab_size(c), tx_bpe_vocab_size(b));
    CHECK_INT(tx_bpe_base_size(c), 200);
    int same = 1;
    for (int k = 0; k < tx_bpe_n_merges(b); k++) {
        int32_t l1, r1, s1, l2, r2, s2;
        tx_bpe_merge(b, k, &l1, &r1, &s1);
        tx_bpe_merge(c, k, &l2, &r2, &s2);
        same &= l1 == l2 && r1 == r2 && s1 == s2;
    }
    CHECK(same);
    tx_bpe_ids o1 = TX_BPE_IDS_INIT, o2 = TX_BPE_IDS_INIT;
    int32_t x[] = {5, 1, 2, 6, 3, 4, 199, 0, 1, 2, 3, 5, 0};
    CHECK_INT(tx_bpe_encode(b, x, 13, &o1, &err), TX_OK);
    CHECK_INT(tx_bpe_encode(c, x, 13, &o2, &err), TX_OK);
    CHECK(o1.len == o2.len && !memcmp(o1.ids, o2.ids, o1.len * sizeof *o1.ids));
    /* saving the loaded model gives the same bytes */
    tx_buf j2 = TX_BUF_INIT;
    CHECK_INT(tx_bpe_save(c, &j2), TX_OK);
    CHECK(j.len == j2.len && !memcmp(j.data, j2.data, j.len));
    tx_buf_free(&j2);
    tx_bpe_ids_free(&o1);
    tx_bpe_ids_free(&o2);
    tx_buf_free(&j);
    tx_bpe_free(c);
    tx_bpe_free(b);
}

static void test_json_foreign(void)
{
    /* a tokenizer.json numbered its own way (as MidiTok's Hugging Face model is): base ids 0, 1, 2 are
     * "!", "\"", "#" with ids 2, 0, 1; "!\"" is id 3; merges as ["a", "b"] pairs */
    const char *js = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"\\\"\": 0, \"#\": 1, \"!\": 2, "
                     "\"!\\\"\": 3, \"!\\\"#\": 4}, \"merges\": [[\"!\", \"\\\"\"], \"!\\\" #\"]}}";
    tx_bpe *b = NULL;
    tx_error err;
    CHECK_INT(tx_bpe_load(js, strlen(js), "f.json", &b, &err), TX_OK);
    if (!b) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_INT(tx_bpe_base_size(b), 3);
    int32_t x[] = {0, 1, 2, 0, 1, 0};
    tx_bpe_ids o = TX_BPE_IDS_INIT, back = TX_BPE_IDS_INIT;
    CHECK_INT(tx_bpe_encode(b, x, 6, &o, &err), TX_OK);
    int32_t want[] = {4, 3, 2};
    CHECK_INT(o.len, 3);
    for (size_t i = 0; i < o.len && i < 3; i++)
        CHECK_INT(o.ids[i], want[i]);
    CHECK_INT(tx_bpe_decode(b, o.ids, o.len, &back, &err), TX_OK);
    CHECK(back.len == 6 && !memcmp(back.ids, x, sizeof x));
    tx_bpe_ids_free(&o);
    tx_bpe_ids_free(&back);
    tx_bpe_free(b);
}

static void test_json_hostile(void)
{
    static const char *bad[] = {
        "",
        "[]",
        "{\"model\": 1}",
        "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": 0}}}",
        "{\"model\": {\"vocab\": [], \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": -1}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": 1.5}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": 99999999999}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\" \": 0}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"\\\"\": 0}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"\\\"\": 1}, \"merges\": [\"! \\\"\"]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1}, \"merges\": [\"!!\"]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1}, \"merges\": [\"! ! !\"]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1}, \"merges\": [\"! !\", \"! !\"]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1, \"!!!!\": 2}, \"merges\": [\"!! !!\", \"! !\"]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 0}, \"merges\": [\"! !\"]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1}, \"merges\": [[\"!\"]]}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1}, \"merges\": [7]}}",
        "{\"model\": {\"vocab\": {\"!\": 0}, \"merges\": []}, \"tactus\": {\"base_size\": 0}}",
        "{\"model\": {\"vocab\": {\"#\": 0}, \"merges\": []}, \"tactus\": {\"base_size\": 2}}",
        "{\"model\": {\"vocab\": {\"!\": 0}, \"merges\": []}, \"tactus\": {\"split_before\": [3]}}",
        "{\"model\": {\"vocab\": {\"!\": 0}, \"merges\": []}, \"tactus\": {\"isolated\": \"x\"}}",
        "{\"model\": {\"vocab\": {\"!\": 0}, \"merges\": []}, \"tactus\": 3}",
        "{\"model\": {\"vocab\": {\"\\uD83C\\uDFB5\": 0}, \"merges\": []}}",
        "{\"model\": {\"vocab\": {\"!\": 0, \"!!\": 1}, \"merges\": [\"! !\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tx_bpe *b = (tx_bpe *)1;
        tx_error err;
        tx_error_clear(&err);
        int rc = tx_bpe_load(bad[i], strlen(bad[i]), "h.json", &b, &err);
        if (rc == TX_OK)
            fprintf(stderr, "hostile case %zu loaded\n", i);
        CHECK(rc != TX_OK);
        CHECK(b == NULL);
        CHECK(strncmp(err.msg, "h.json", 6) == 0);
    }
    /* every truncation of a valid file fails cleanly or loads */
    const char *good = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"!\": 0, \"\\\"\": 1, \"!\\\"\": 2}, "
                       "\"merges\": [\"! \\\"\"]}, \"tactus\": {\"base_size\": 2, \"split_before\": [0], "
                       "\"isolated\": []}}";
    size_t n = strlen(good);
    int ok = 0;
    for (size_t k = 0; k <= n; k++) {
        tx_bpe *b = NULL;
        tx_error err;
        if (tx_bpe_load(good, k, "t.json", &b, &err) == TX_OK) {
            ok++;
            tx_bpe_free(b);
        }
    }
    CHECK_INT(ok, 1);
}

static void test_remi_pop909(void)
{
    /* REMI ids of the POP909 files in tests/data/midi: train with Bar as the word start and the
     * specials isolated, check merges never hold a Bar inside and that everything round-trips */
    static const char *files[] = {"pop909-098.mid", "pop909-331.mid", "pop909-447.mid", "pop909-764.mid"};
    tx_remi_config c;
    tx_remi_config_default(&c);
    tx_error err;
    tx_remi *r = tx_remi_new(&c, &err);
    CHECK(r != NULL);
    if (!r)
        return;
    int32_t bar = tx_remi_id(r, "Bar_None");
    int32_t specials[4] = {tx_remi_id(r, "PAD_None"), tx_remi_id(r, "BOS_None"), tx_remi_id(r, "EOS_None"),
                           tx_remi_id(r, "MASK_None")};
    tx_bpe_words w = {tx_remi_vocab_size(r), &bar, 1, specials, 4};
    tx_bpe_trainer *t = tx_bpe_trainer_new(&w, &err);
    tx_remi_seqs seqs[4];
    for (int f = 0; f < 4; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/tests/data/midi/%s", TX_SOURCE_ROOT, files[f]);
        tx_score *s = NULL;
        seqs[f] = (tx_remi_seqs)TX_REMI_SEQS_INIT;
        CHECK_INT(tx_midi_read_file(path, &s, NULL, &err), TX_OK);
        if (!s)
            continue;
        CHECK_INT(tx_remi_encode(r, s, &seqs[f], &err), TX_OK);
        for (size_t q = 0; q < seqs[f].n_seqs; q++)
            CHECK_INT(tx_bpe_trainer_add(t, seqs[f].ids + seqs[f].starts[q],
                                         seqs[f].starts[q + 1] - seqs[f].starts[q], &err), TX_OK);
        tx_score_free(s);
    }
    tx_bpe_train_options o = {tx_remi_vocab_size(r) + 500, 0, 0};
    tx_bpe *b = NULL;
    CHECK_INT(tx_bpe_train(t, &o, NULL, NULL, &b, &err), TX_OK);
    tx_bpe_trainer_free(t);
    if (!b)
        return;
    CHECK_INT(tx_bpe_n_merges(b), 500);
    for (int k = 0; k < tx_bpe_n_merges(b); k++) {
        int32_t rr;
        tx_bpe_merge(b, k, NULL, &rr, NULL);
        CHECK(rr != bar);   /* a Bar only ever starts a word */
    }
    size_t base_total = 0, enc_total = 0;
    for (int f = 0; f < 4; f++) {
        tx_bpe_ids e = TX_BPE_IDS_INIT, d = TX_BPE_IDS_INIT;
        CHECK_INT(tx_bpe_encode(b, seqs[f].ids, seqs[f].n_ids, &e, &err), TX_OK);
        CHECK_INT(tx_bpe_decode(b, e.ids, e.len, &d, &err), TX_OK);
        CHECK(d.len == seqs[f].n_ids && !memcmp(d.ids, seqs[f].ids, d.len * sizeof *d.ids));
        base_total += seqs[f].n_ids;
        enc_total += e.len;
        tx_bpe_ids_free(&e);
        tx_bpe_ids_free(&d);
        tx_remi_seqs_free(&seqs[f]);
    }
    printf("remi: %zu base tokens -> %zu with 500 merges (%.2fx)\n", base_total, enc_total,
           enc_total ? (double)base_total / (double)enc_total : 0.0);
    CHECK(enc_total * 3 < base_total * 2);   /* measured: 1.84x */
    tx_bpe_free(b);
    tx_remi_free(r);
}

/* ---- out of memory: every allocation may fail; nothing leaks and nothing half-made escapes ---- */

/* One pass of everything; TX_OK when all of it worked. */
static int bpe_everything(const int32_t *ids, size_t n)
{
    int32_t split = 0, iso = 1;
    tx_bpe_words w = {6, &split, 1, &iso, 1};
    tx_error err;
    tx_bpe_trainer *t = tx_bpe_trainer_new(&w, &err);
    if (!t)
        return err.code;
    tx_bpe *b = NULL, *c = NULL;
    tx_bpe_ids e = TX_BPE_IDS_INIT, d = TX_BPE_IDS_INIT;
    tx_buf j = TX_BUF_INIT;
    tx_bpe_train_options o = {40, 0, 0};
    int rc = tx_bpe_trainer_add(t, ids, n, &err);
    if (!rc)
        rc = tx_bpe_train(t, &o, NULL, NULL, &b, &err);
    if (!rc)
        rc = tx_bpe_encode(b, ids, n, &e, &err);
    if (!rc)
        rc = tx_bpe_decode(b, e.ids, e.len, &d, &err);
    if (!rc)
        rc = tx_bpe_save(b, &j);
    if (!rc)
        rc = tx_bpe_load(j.data, j.len, "m.json", &c, &err);
    if (!rc && (d.len != n || memcmp(d.ids, ids, n * sizeof *ids) || tx_bpe_n_merges(c) != tx_bpe_n_merges(b)))
        rc = -1;
    tx_bpe_trainer_free(t);
    tx_bpe_free(b);
    tx_bpe_free(c);
    tx_bpe_ids_free(&e);
    tx_bpe_ids_free(&d);
    tx_buf_free(&j);
    return rc;
}

static void test_out_of_memory(void)
{
    int32_t ids[600];
    for (int i = 0; i < 600; i++)
        ids[i] = i % 13 == 0 ? 0 : i % 17 == 0 ? 1 : 2 + (int32_t)(rnd() % 4);
    int ok = 0, leaks = 0, wrong = 0;
    long budget;
    for (budget = 0; budget < 5000 && !ok; budget++) {
        tx_test_alloc_begin(budget);
        int rc = bpe_everything(ids, 600);
        long live = tx_test_alloc_end();
        if (rc == TX_OK)
            ok = 1;
        else if (rc != TX_ENOMEM)
            wrong++;
        if (live != 0)
            leaks++;
    }
    printf("out of memory: %ld allocation budgets tried\n", budget);
    CHECK(ok);
    CHECK_INT(leaks, 0);
    CHECK_INT(wrong, 0);
}

int main(void)
{
    RUN(test_hand_example);
    RUN(test_overlap);
    RUN(test_against_reference);
    RUN(test_isolated_and_long);
    RUN(test_json);
    RUN(test_json_foreign);
    RUN(test_json_hostile);
    RUN(test_remi_pop909);
    RUN(test_out_of_memory);
    return tx_test_finish();
}
