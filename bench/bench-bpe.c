/* bench-bpe.c: BPE training and encoding speed on real token streams.
 *
 * REMI: every .mid under SHARED_DIR/corpora/pop909 (and midi-asap, to pass ten million base tokens)
 * read with tx_midi_read and tokenized with tx_remi_encode (MidiTok's default REMI), each bar a word.
 * ABC: every tune of SHARED_DIR/corpora/abc through the ABC text tokenizer (default normalisation),
 * each bar a word. For each: the time to count the words, to learn the merges, and the encode and
 * decode rates in base tokens per second (median of 3 runs, one thread). Times are the process's CPU
 * time, not wall time, because the machines it runs on are often shared. It is a measuring tool, not
 * a test: the round trips it checks only guard the figures.
 *
 * usage: bench-bpe SHARED_DIR [MERGES]   (MERGES defaults to 10000 for REMI, 2000 for ABC)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "midi.h"
#include "paths.h"
#include "scoreio.h"
#include "score.h"
#include "tokenizers/abctok.h"
#include "tokenizers/bpe.h"
#include "tokenizers/remi.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int is_midi(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) == TX_FORMAT_MIDI;
}

static int is_abc(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) == TX_FORMAT_ABC;
}

/* Sequences of base ids, back to back. */
typedef struct seqs { int32_t *ids; size_t n, cap; size_t *starts; size_t n_seqs, cap_seqs; } seqs;

static void seqs_add(seqs *q, const int32_t *ids, size_t n)
{
    if (q->n + n > q->cap) {
        while (q->n + n > q->cap)
            q->cap = q->cap ? q->cap * 2 : 1 << 20;
        q->ids = realloc(q->ids, q->cap * sizeof *q->ids);
    }
    if (q->n_seqs + 2 > q->cap_seqs) {
        q->cap_seqs = q->cap_seqs ? q->cap_seqs * 2 : 1024;
        q->starts = realloc(q->starts, q->cap_seqs * sizeof *q->starts);
    }
    if (q->n_seqs == 0)
        q->starts[0] = 0;
    memcpy(q->ids + q->n, ids, n * sizeof *ids);
    q->n += n;
    q->starts[++q->n_seqs] = q->n;
}

/* Trains on q (one trainer.add per sequence), then times encode and decode of all of q. */
static int run(const char *what, const seqs *q, const tx_bpe_words *w, int merges, tx_bpe **model)
{
    tx_error err;
    double t0 = now();
    tx_bpe_trainer *tr = tx_bpe_trainer_new(w, &err);
    for (size_t i = 0; i < q->n_seqs; i++)
        if (tx_bpe_trainer_add(tr, q->ids + q->starts[i], q->starts[i + 1] - q->starts[i], &err)) {
            fprintf(stderr, "bench-bpe: %s\n", err.msg);
            return 1;
        }
    double t1 = now();
    tx_bpe_train_options o = {w->base_size + merges, 0, 0};
    tx_bpe *b = NULL;
    if (tx_bpe_train(tr, &o, NULL, NULL, &b, &err)) {
        fprintf(stderr, "bench-bpe: %s\n", err.msg);
        return 1;
    }
    double t2 = now();
    tx_bpe_trainer_free(tr);
    printf("%s: %zu base tokens in %zu sequences; counting words %.2f s, learning %d merges %.2f s "
           "(%.1fM base tokens/s overall)\n", what, q->n, q->n_seqs, t1 - t0, tx_bpe_n_merges(b), t2 - t1,
           (double)q->n / (t2 - t0) / 1e6);
    double enc[3], dec[3];
    size_t out_len = 0;
    int ok = 1;
    for (int r = 0; r < 3; r++) {
        tx_bpe_ids e = TX_BPE_IDS_INIT, d = TX_BPE_IDS_INIT;
        double a = now();
        for (size_t i = 0; i < q->n_seqs; i++)
            tx_bpe_encode(b, q->ids + q->starts[i], q->starts[i + 1] - q->starts[i], &e, &err);
        double m = now();
        tx_bpe_decode(b, e.ids, e.len, &d, &err);
        double z = now();
        enc[r] = m - a;
        dec[r] = z - m;
        out_len = e.len;
        ok &= d.len == q->n && !memcmp(d.ids, q->ids, q->n * sizeof *q->ids);
        tx_bpe_ids_free(&e);
        tx_bpe_ids_free(&d);
    }
    qsort(enc, 3, sizeof *enc, cmp_double);
    qsort(dec, 3, sizeof *dec, cmp_double);
    printf("%s: encode %.1fM base tokens/s (%.3f s), decode %.1fM tokens/s; %zu -> %zu ids (%.2fx)%s\n", what,
           (double)q->n / enc[1] / 1e6, enc[1], (double)q->n / dec[1] / 1e6, q->n, out_len,
           (double)q->n / (double)out_len, ok ? "" : "  ROUND TRIP FAILED");
    *model = b;
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-bpe SHARED_DIR [MERGES]\n");
        return 2;
    }
    int merges = argc > 2 ? atoi(argv[2]) : 0;
    char dir[4096];
    tx_error err;
    int rc = 0;

    /* ---- REMI ---- */
    char **mids = NULL;
    size_t n_mids = 0;
    snprintf(dir, sizeof dir, "%s/corpora/pop909", argv[1]);
    tx_find_files(dir, is_midi, NULL, &mids, &n_mids, &err);
    snprintf(dir, sizeof dir, "%s/corpora/midi-asap", argv[1]);
    tx_find_files(dir, is_midi, NULL, &mids, &n_mids, &err);
    tx_remi_config c;
    tx_remi_config_default(&c);
    tx_remi *r = tx_remi_new(&c, &err);
    seqs rq = {0};
    tx_remi_seqs rs = TX_REMI_SEQS_INIT;
    double t0 = now();
    for (size_t i = 0; i < n_mids; i++) {
        tx_score *s = NULL;
        if (tx_midi_read_file(mids[i], &s, NULL, &err) == TX_OK && tx_remi_encode(r, s, &rs, &err) == TX_OK)
            for (size_t k = 0; k < rs.n_seqs; k++)
                seqs_add(&rq, rs.ids + rs.starts[k], rs.starts[k + 1] - rs.starts[k]);
        tx_score_free(s);
    }
    printf("remi: %zu MIDI files read and tokenized in %.2f s\n", n_mids, now() - t0);
    int32_t bar = tx_remi_id(r, "Bar_None");
    int32_t sp[4] = {tx_remi_id(r, "PAD_None"), tx_remi_id(r, "BOS_None"), tx_remi_id(r, "EOS_None"),
                     tx_remi_id(r, "MASK_None")};
    tx_bpe_words w = {tx_remi_vocab_size(r), &bar, 1, sp, 4};
    tx_bpe *b = NULL;
    rc |= run("remi", &rq, &w, merges ? merges : 10000, &b);
    tx_bpe_free(b);
    tx_remi_seqs_free(&rs);
    tx_remi_free(r);
    free(rq.ids);
    free(rq.starts);
    tx_free_paths(mids, n_mids);

    /* ---- ABC ---- */
    char **abcs = NULL;
    size_t n_abcs = 0;
    snprintf(dir, sizeof dir, "%s/corpora/abc", argv[1]);
    tx_find_files(dir, is_abc, NULL, &abcs, &n_abcs, &err);
    tx_abctok *t = tx_abctok_new(NULL, &err);
    uint8_t **files = calloc(n_abcs + 1, sizeof *files);
    size_t n_tunes = 0, cap_tunes = 0, bytes = 0;
    struct tune { const char *s; size_t n; } *tunes = NULL;
    for (size_t i = 0; i < n_abcs; i++) {
        size_t len = 0, pos = 0, s, n;
        if (tx_read_file(abcs[i], 64u << 20, &files[i], &len, &err) == TX_OK)
            while (tx_abctok_next_tune((char *)files[i], len, &pos, &s, &n)) {
                if (n_tunes == cap_tunes) {
                    cap_tunes = cap_tunes ? cap_tunes * 2 : 4096;
                    tunes = realloc(tunes, cap_tunes * sizeof *tunes);
                }
                tunes[n_tunes].s = (char *)files[i] + s;
                tunes[n_tunes++].n = n;
                bytes += n;
            }
    }
    tx_bpe_ids ids = TX_BPE_IDS_INIT;
    size_t base_tokens = 0;
    double a0 = now();
    for (size_t i = 0; i < n_tunes; i++) {
        ids.len = 0;
        tx_abctok_encode(t, tunes[i].s, tunes[i].n, &ids, &err);
        base_tokens += ids.len;
    }
    double a1 = now();
    printf("abc: %zu tunes, %.1f MB of text, %zu base tokens; text to base ids %.1f MB/s\n", n_tunes,
           (double)bytes / 1e6, base_tokens, (double)bytes / (a1 - a0) / 1e6);
    tx_bpe_words aw;
    tx_abctok_bpe_words(&aw);
    tx_bpe_trainer *tr = tx_bpe_trainer_new(&aw, &err);
    for (size_t i = 0; i < n_tunes; i++)
        tx_abctok_train_add(t, tr, tunes[i].s, tunes[i].n, &err);
    double a2 = now();
    tx_bpe_train_options o = {TX_ABCTOK_BASE_SIZE + (merges ? merges : 2000), 0, 0};
    b = NULL;
    if (tx_bpe_train(tr, &o, NULL, NULL, &b, &err) == TX_OK) {
        double a3 = now();
        printf("abc: counting bar words %.2f s, learning %d merges %.2f s\n", a2 - a1, tx_bpe_n_merges(b),
               a3 - a2);
        tx_abctok_set_bpe(t, b, &err);
        double e[3];
        size_t out = 0;
        for (int k = 0; k < 3; k++) {
            out = 0;
            double z = now();
            for (size_t i = 0; i < n_tunes; i++) {
                ids.len = 0;
                tx_abctok_encode(t, tunes[i].s, tunes[i].n, &ids, &err);
                out += ids.len;
            }
            e[k] = now() - z;
        }
        qsort(e, 3, sizeof *e, cmp_double);
        printf("abc: text to BPE ids (normalise, bar words, merges) %.1fM base tokens/s, %.1f MB/s; "
               "%zu -> %zu ids (%.2fx)\n", (double)base_tokens / e[1] / 1e6, (double)bytes / e[1] / 1e6,
               base_tokens, out, (double)base_tokens / (double)out);
    } else {
        fprintf(stderr, "bench-bpe: %s\n", err.msg);
        rc = 1;
    }
    tx_bpe_trainer_free(tr);
    tx_bpe_ids_free(&ids);
    tx_abctok_free(t);
    for (size_t i = 0; i < n_abcs; i++)
        tx_free(files[i]);
    free(files);
    free(tunes);
    tx_free_paths(abcs, n_abcs);
    return rc;
}
