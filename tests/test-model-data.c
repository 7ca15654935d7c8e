/* test-model-data.c: corpus shards as training and evaluation batches.
 *
 * Shards are written here by hand in the format tx_corpus_export produces (NAME.json + NAME.bin), with
 * documents whose ids tell which document and which position they came from, so every window can be
 * checked: it lies inside one document, its targets are its inputs shifted by one, BOS comes first only
 * at a document's start, short documents are padded with ignored targets, batches depend on (seed, step)
 * alone, and evaluation makes every token a target exactly once. Broken shards are refused.
 */
#include "harness.h"

#include <unistd.h>

#include "model.h"

/* Document d has len[d] ids: 10000 * d + position + 1 (so ids never collide with BOS = 0); when
 * bar_every is set, the positions that are multiples of it hold BAR instead (fill-in-the-middle tests). */
enum { BAR = 39999, PRE = 39990, SUF = 39991, MID = 39992 };
static int bar_every;

static void write_shard(const char *name, const int *len, int n_docs, int width, int vocab,
                        const char *extra_bad)
{
    char path[256];
    snprintf(path, sizeof path, "%s.bin", name);
    FILE *f = fopen(path, "wb");
    int total = 0;
    for (int d = 0; d < n_docs; d++)
        for (int k = 0; k < len[d]; k++) {
            uint32_t id = bar_every && k % bar_every == 0 ? BAR : (uint32_t)(10000 * d + k + 1);
            for (int b = 0; b < width; b++)
                fputc((int)(id >> (8 * b)) & 0xff, f);
            total++;
        }
    fclose(f);
    snprintf(path, sizeof path, "%s.json", name);
    f = fopen(path, "w");
    fprintf(f, "{\"format\": \"tactus shard\", \"version\": 1, \"tokenizer\": \"test\", \"split\": \"train\", "
               "\"vocab_size\": %d, \"dtype\": \"%s\", \"byte_order\": \"little\", \"tokenizer_config\": {}, "
               "\"documents\": [", vocab, width == 2 ? "uint16" : "uint32");
    int off = 0;
    for (int d = 0; d < n_docs; d++) {
        fprintf(f, "%s[%d, %d, \"doc%d.mid\", 0, 0]", d ? ", " : "", off, len[d], d);
        off += len[d];
    }
    fprintf(f, "], \"n_documents\": %d, \"n_tokens\": %d}\n", n_docs, extra_bad ? total + 1 : total);
    fclose(f);
}

static const char *shard = "test-model-data.tmp.shard";

static void test_batches(void)
{
    int len[4] = {300, 5, 1000, 40};
    write_shard(shard, len, 4, 2, 40000, NULL);
    tx_shard *s;
    tx_error e;
    char jp[256];
    snprintf(jp, sizeof jp, "%s.json", shard);
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_OK);
    if (!s)
        return;
    CHECK_INT(tx_shard_vocab(s), 40000);
    CHECK_INT(tx_shard_documents(s), 4);
    CHECK_INT(tx_shard_tokens(s), 1345);
    enum { B = 16, T = 32 };
    int32_t in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    int seen_doc[4] = {0}, bos_rows = 0, padded = 0, bad = 0;
    for (long step = 0; step < 50; step++) {
        tx_shard_batch(s, B, T, 0, 7, step, in, tg);
        for (int r = 0; r < B; r++) {
            const int32_t *x = in + r * T, *y = tg + r * T;
            int first = x[0] == 0 ? y[0] : x[0];
            int d = (first - 1) / 10000;
            if (d < 0 || d > 3) {
                bad++;
                continue;
            }
            seen_doc[d]++;
            bos_rows += x[0] == 0;
            for (int i = 0; i < T; i++) {
                if (y[i] < 0) {   /* padding: only at the end of a short document */
                    padded++;
                    bad += x[i] != 0 || (i + 1 < T && y[i + 1] >= 0);
                    continue;
                }
                bad += (y[i] - 1) / 10000 != d;                         /* one document only */
                if (i + 1 < T && y[i + 1] >= 0)
                    bad += x[i + 1] != y[i];                           /* targets = inputs shifted */
                bad += x[i] == 0 ? !(i == 0 && y[i] == 10000 * d + 1)    /* BOS only before the first id */
                                 : y[i] != x[i] + 1;
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK(seen_doc[0] > 0 && seen_doc[1] > 0 && seen_doc[2] > 0 && seen_doc[3] > 0);
    CHECK(seen_doc[2] > seen_doc[0] && seen_doc[0] > seen_doc[1]);   /* weighted by length */
    CHECK(bos_rows > 0);
    CHECK(padded > 0);   /* document 1 is shorter than a window */
    printf("  800 windows: per document %d %d %d %d, %d start with BOS, %d padded targets\n", seen_doc[0],
           seen_doc[1], seen_doc[2], seen_doc[3], bos_rows, padded);
    /* the same (seed, step) gives the same batch; another step another */
    tx_shard_batch(s, B, T, 0, 7, 3, in, tg);
    tx_shard_batch(s, B, T, 0, 7, 3, in2, tg2);
    CHECK(memcmp(in, in2, sizeof in) == 0 && memcmp(tg, tg2, sizeof tg) == 0);
    tx_shard_batch(s, B, T, 0, 7, 4, in2, tg2);
    CHECK(memcmp(in, in2, sizeof in) != 0);

    /* evaluation: every document id is a target exactly once (BOS in front of each document) */
    int counts[4][1000];
    memset(counts, 0, sizeof counts);
    uint64_t cursor = 0;
    int rows = 0, n, extra = 0;
    while ((n = tx_shard_eval_batch(s, B, T, 0, &cursor, in, tg)) > 0) {
        rows += n;
        for (int i = 0; i < B * T; i++) {
            if (tg[i] < 0)
                continue;
            int d = (tg[i] - 1) / 10000, k = tg[i] - 1 - 10000 * d;
            if (d >= 0 && d < 4 && k < len[d])
                counts[d][k]++;
            else
                extra++;
        }
    }
    int wrong = extra;
    for (int d = 0; d < 4; d++)
        for (int k = 0; k < len[d]; k++)
            wrong += counts[d][k] != 1;
    CHECK_INT(wrong, 0);
    printf("  evaluation: %d rows cover all %d tokens once\n", rows, 1345);
    tx_shard_free(s);
}

/* Two documents (300 and 1000 ids) with a bar token at every 8th place, for the row rewrites. */
static tx_shard *open_bar_shard(void)
{
    int len[2] = {300, 1000};
    bar_every = 8;
    write_shard(shard, len, 2, 2, 40000, NULL);
    bar_every = 0;
    tx_shard *s = NULL;
    tx_error e;
    char jp[256];
    snprintf(jp, sizeof jp, "%s.json", shard);
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_OK);
    return s;
}

static void close_bar_shard(tx_shard *s)
{
    char p[256];
    tx_shard_free(s);
    snprintf(p, sizeof p, "%s.json", shard);
    unlink(p);
    snprintf(p, sizeof p, "%s.bin", shard);
    unlink(p);
}

/* Fill-in-the-middle rows: PRE prefix SUF suffix MID middle, where prefix middle suffix is a window of
 * one document, the middle whole bars, sentinel targets ignored, and plain rows as tx_shard_batch makes.
 * With max_bars, middles of at most that many bars, most of them followed by a suffix. */
static void test_fim(void)
{
    tx_shard *s = open_bar_shard();
    tx_error e;
    if (!s)
        return;
    enum { B = 8, T = 64 };
    int32_t in[B * T], tg[B * T], in2[B * T], tg2[B * T];
    tx_fim none = {0, PRE, SUF, MID, BAR, 0, 0, 0}, all = {1, PRE, SUF, MID, BAR, 0, 0, 0};
    /* rate 0 is the plain batch */
    tx_shard_batch(s, B, T, 0, 3, 5, in, tg);
    CHECK_INT(tx_shard_batch_fim(s, B, T, 0, &none, 3, 5, in2, tg2, &e), TX_OK);
    CHECK(memcmp(in, in2, sizeof in) == 0 && memcmp(tg, tg2, sizeof tg) == 0);
    for (int pass = 0; pass < 3; pass++) {   /* any span; up to 3 bars; up to 3 bars in the order SPM */
        int max_bars = pass ? 3 : 0;
        all.max_bars = max_bars;
        all.spm = pass == 2;
        int bad = 0, rows = 0, with_prefix = 0, with_suffix = 0, longest = 0;
        for (long step = 0; step < 40; step++) {
            CHECK_INT(tx_shard_batch_fim(s, B, T, 0, &all, 3, step, in, tg, &e), TX_OK);
            for (int r = 0; r < B; r++) {
                const int32_t *x = in + r * T, *y = tg + r * T;
                int32_t seq[T + 1];
                int n = 0, ps = -1, pm = -1;
                for (int i = 0; i < T && (i == 0 || y[i - 1] >= 0 || x[i] == PRE || x[i] == SUF || x[i] == MID); i++)
                    seq[n++] = x[i];
                if (n == T && y[T - 1] >= 0)
                    seq[n++] = y[T - 1];
                for (int i = 0; i + 1 < n; i++) {   /* targets: the next token, or ignored before a sentinel */
                    int sentinel = seq[i + 1] == PRE || seq[i + 1] == SUF || seq[i + 1] == MID;
                    bad += sentinel ? y[i] != -1 : y[i] != seq[i + 1];
                }
                if (all.spm) {   /* SUF suffix PRE prefix MID middle: checked as PRE prefix SUF suffix MID middle */
                    int pp = 0, k = 0;
                    int32_t psm[T + 1];
                    while (pp < n && seq[pp] != PRE)
                        pp++;
                    bad += seq[0] != SUF || pp == n;
                    for (int i = pp; i < n && seq[i] != MID; i++)
                        psm[k++] = seq[i];
                    for (int i = 0; i < pp; i++)
                        psm[k++] = seq[i];
                    for (int i = k; i < n; i++)
                        psm[i] = seq[i];
                    memcpy(seq, psm, (size_t)n * sizeof *seq);
                }
                for (int i = 0; i < n; i++) {
                    if (seq[i] == SUF)
                        ps = ps < 0 ? i : -2;
                    if (seq[i] == MID)
                        pm = pm < 0 ? i : -2;
                }
                if (seq[0] != PRE || ps < 1 || pm <= ps || pm + 1 >= n) {
                    bad++;
                    continue;
                }
                rows++;
                with_prefix += ps > 1;
                with_suffix += pm > ps + 1;
                int mid_bars = 0;
                for (int i = pm + 1; i < n; i++)
                    mid_bars += seq[i] == BAR;
                longest = mid_bars > longest ? mid_bars : longest;
                /* middle and suffix start at bars; prefix middle suffix is one contiguous run */
                bad += seq[pm + 1] != BAR || (pm > ps + 1 && seq[ps + 1] != BAR);
                int32_t run[T + 1];
                int m = 0;
                for (int i = 1; i < ps; i++)
                    run[m++] = seq[i];
                for (int i = pm + 1; i < n; i++)
                    run[m++] = seq[i];
                for (int i = ps + 1; i < pm; i++)
                    run[m++] = seq[i];
                int last = -1;   /* position (10000 d + k) of the last non-bar id, or -1 */
                for (int i = 0; i < m; i++) {
                    if (run[i] == BAR) {
                        bad += last >= 0 && (last % 10000 + 1) % 8 != 0;
                        if (last >= 0)
                            last++;
                        continue;
                    }
                    int pos = run[i] - 1;
                    bad += last >= 0 && pos != last + 1;
                    bad += pos % 10000 % 8 == 0;
                    last = pos;
                }
            }
        }
        CHECK_INT(bad, 0);
        CHECK(rows > 300);
        CHECK(with_prefix > 0 && with_prefix < rows);
        CHECK(with_suffix > 0 && with_suffix < rows);
        if (max_bars) {   /* one row in eight runs to the window's end; the others have a suffix */
            CHECK(longest == max_bars);
            CHECK(with_suffix > rows * 3 / 4);
        } else {
            CHECK(longest > 3);
        }
        printf("  max bars %d%s: %d fill-in-the-middle rows: %d with a prefix, %d with a suffix, longest middle %d "
               "bars\n",
               max_bars, all.spm ? " (SPM)" : "", rows, with_prefix, with_suffix, longest);
    }
    close_bar_shard(s);
}

/* Repeated rows: 1..4 whole bars of the window played twice in a row, the rest of the window after
 * them, nothing else changed; fill-in-the-middle rows are never also repeated. */
static void test_repeat(void)
{
    tx_shard *s = open_bar_shard();
    tx_error e;
    if (!s)
        return;
    enum { B = 8, T = 64 };
    int32_t in[B * T], tg[B * T];
    tx_fim rep = {0, PRE, SUF, MID, BAR, 0, 1, 0}, both = {0.5f, PRE, SUF, MID, BAR, 8, 1, 0};
    int bad = 0, rows = 0, lengths[5] = {0}, fim_rows = 0;
    for (long step = 0; step < 40; step++) {
        CHECK_INT(tx_shard_batch_fim(s, B, T, 0, &rep, 3, step, in, tg, &e), TX_OK);
        for (int r = 0; r < B; r++) {
            const int32_t *x = in + r * T, *y = tg + r * T;
            int32_t seq[T + 1];
            int n = 0;
            while (n < T && (n == 0 || y[n - 1] >= 0))
                seq[n] = x[n], n++;
            if (n == T && y[T - 1] >= 0)
                seq[n++] = y[T - 1];
            for (int i = 0; i + 1 < n; i++)
                bad += y[i] != seq[i + 1];
            /* the one place where the positions go back, and how far */
            int jumps = 0, j = -1, prev = -1;
            for (int i = 0; i < n; i++) {
                if (seq[i] == BAR)
                    continue;
                if (prev >= 0 && seq[i] - 1 != prev + 1 && !(seq[i - 1] == BAR && seq[i] - 1 == prev + 2)) {
                    jumps++;
                    j = i;
                }
                prev = seq[i] - 1;
            }
            if (jumps != 1 || seq[j - 1] != BAR) {
                bad++;
                continue;
            }
            int i0 = 0;
            while (i0 < j && seq[i0] != seq[j])
                i0++;
            int L = j - i0;
            if (L % 8 != 0 || L < 8 || L > 32) {
                bad++;
                continue;
            }
            for (int i = i0 - 1; i < j - 1 && i + L < n; i++)
                bad += seq[i] != seq[i + L];
            lengths[L / 8]++;
            rows++;
        }
        CHECK_INT(tx_shard_batch_fim(s, B, T, 0, &both, 3, step, in, tg, &e), TX_OK);
        for (int r = 0; r < B; r++)
            fim_rows += in[r * T] == PRE;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(rows, 40 * B);
    CHECK(lengths[1] > 0 && lengths[4] > 0);
    CHECK(fim_rows > 40 * B / 4 && fim_rows < 40 * B * 3 / 4);
    printf("  %d repeated rows: %d of one bar, %d of four; %d of %d rows filled in the middle with both on\n", rows,
           lengths[1], lengths[4], fim_rows, 40 * B);
    close_bar_shard(s);
}

static void test_bad_shards(void)
{
    int len[2] = {10, 20};
    char jp[256];
    tx_shard *s = (tx_shard *)1;
    tx_error e;
    snprintf(jp, sizeof jp, "%s.json", shard);
    write_shard(shard, len, 2, 4, 30, NULL);   /* ids up to 10020: beyond a vocabulary of 30 */
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_ESYNTAX);
    CHECK(s == NULL);
    CHECK(strstr(e.msg, "outside the vocabulary") != NULL);
    write_shard(shard, len, 2, 2, 4000, "n_tokens off by one");
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_ESYNTAX);
    CHECK(strstr(e.msg, "n_tokens") != NULL);
    FILE *f = fopen(jp, "w");
    fputs("{\"vocab_size\": 10, \"dtype\": \"uint16\", \"n_tokens\": 3, \"documents\": [[0, 2], [1, 1]]}", f);
    fclose(f);
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_ESYNTAX);
    CHECK(strstr(e.msg, "document 1") != NULL);
    f = fopen(jp, "w");
    fputs("{\"vocab_size\": 10, \"dtype\": \"float32\", \"n_tokens\": 0, \"documents\": []}", f);
    fclose(f);
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_ESYNTAX);
    f = fopen(jp, "w");
    fputs("{\"vocab_size\": 4000, \"dtype\": \"uint16\", \"n_tokens\": 31, \"documents\": [[0, 31]]}", f);
    fclose(f);
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_ESYNTAX);   /* the .bin holds 30 ids, not 31 */
    CHECK(strstr(e.msg, "bytes") != NULL);
    CHECK_INT(tx_shard_open("no-such-shard.tmp.json", &s, &e), TX_EIO);
}

/* Evaluation over a shard equals the loss of the forward pass on each document, weighted by tokens. */
static void test_evaluate(void)
{
    int len[3] = {7, 3, 20};
    write_shard(shard, len, 3, 2, 40000, NULL);
    char jp[256];
    snprintf(jp, sizeof jp, "%s.json", shard);
    tx_shard *s;
    tx_error e;
    CHECK_INT(tx_shard_open(jp, &s, &e), TX_OK);
    tx_model_config c;
    tx_model_config_default(&c, 40000, 32, 8, 1, 2);
    tx_model *m;
    CHECK_INT(tx_model_new(&c, &m, &e), TX_OK);
    tx_model_init(m, 4);
    double loss;
    size_t n;
    CHECK_INT(tx_model_evaluate(m, s, 2, 24, 0, &loss, &n, &e), TX_OK);
    CHECK_INT(n, 30);   /* every id once; BOS is never a target */
    /* by hand: each document with BOS in front as one sequence (all fit in 24 + 1) */
    double sum = 0;
    for (int d = 0; d < 3; d++) {
        int32_t in[21], tg[21];
        in[0] = 0;
        for (int k = 0; k < len[d]; k++) {
            tg[k] = 10000 * d + k + 1;
            if (k + 1 < len[d])
                in[k + 1] = tg[k];
        }
        float l;
        CHECK_INT(tx_model_forward(m, in, tg, 1, len[d], &l, &e), TX_OK);
        sum += (double)l * len[d];
    }
    printf("  evaluation loss %.6f over %zu tokens, by hand %.6f\n", loss, n, sum / 30);
    CHECK_NEAR(loss, sum / 30, 1e-5);
    CHECK(loss > 9 && loss < 12);   /* near ln(40000) = 10.6 for an untrained model */
    CHECK_INT(tx_model_evaluate(m, s, 2, 33, 0, &loss, &n, &e), TX_EINVAL);
    tx_model_free(m);
    tx_shard_free(s);
}

int main(void)
{
    RUN(test_batches);
    RUN(test_fim);
    RUN(test_repeat);
    RUN(test_bad_shards);
    RUN(test_evaluate);
    char p[256];
    snprintf(p, sizeof p, "%s.json", shard);
    unlink(p);
    snprintf(p, sizeof p, "%s.bin", shard);
    unlink(p);
    return tx_test_finish();
}
