/* bench-analyze.c: speed of the analysis module over a folder of scores: files (MIDI files and ABC
 * tunes) per second and notes per second for reading, key, chords, voice leading and statistics
 * apart, and for tx_analyze() whole. Not a test: it checks nothing beyond reading without errors.
 *
 *   bench-analyze DIR...     every .mid, .midi and .abc file under each DIR
 */
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "paths.h"
#include "progress.h"
#include "scoreio.h"

typedef struct bench {
    size_t items, failed, notes;
    double t_key, t_chords, t_vl, t_stats, t_all;
} bench;

static int keep(const char *path, void *ud)
{
    char ext[8];
    tx_extension(path, ext, sizeof ext);
    return strcmp(ext, "mid") == 0 || strcmp(ext, "midi") == 0 || strcmp(ext, "abc") == 0;
}

static int item(void *ud, tx_score_item *it)
{
    bench *b = ud;
    if (it->status || !it->score) {
        b->failed++;
        return 0;
    }
    const tx_score *s = it->score;
    b->items++;
    b->notes += s->n_notes;
    double t0 = tx_now();
    tx_key_result k;
    tx_analyze_key(s, TX_KEY_DEFAULT, &k);
    double t1 = tx_now();
    tx_chord *c;
    size_t n;
    if (tx_analyze_chords(s, &c, &n, NULL) == TX_OK)
        tx_free(c);
    double t2 = tx_now();
    tx_vl_result vl;
    if (tx_analyze_voice_leading(s, &vl, NULL) == TX_OK)
        tx_free(vl.findings);
    double t3 = tx_now();
    tx_stats st;
    tx_analyze_stats(s, &st, NULL);
    double t4 = tx_now();
    tx_analysis *a;
    if (tx_analyze(s, NULL, &a, NULL) == TX_OK)
        tx_analysis_free(a);
    double t5 = tx_now();
    b->t_key += t1 - t0;
    b->t_chords += t2 - t1;
    b->t_vl += t3 - t2;
    b->t_stats += t4 - t3;
    b->t_all += t5 - t4;
    return 0;
}

static void line(const char *what, double secs, const bench *b)
{
    printf("  %-14s %9.3f s %12.1f items/s %14.0f notes/s\n", what, secs, secs > 0 ? (double)b->items / secs : 0,
           secs > 0 ? (double)b->notes / secs : 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-analyze DIR...\n");
        return 2;
    }
    for (int d = 1; d < argc; d++) {
        char **paths = NULL;
        size_t np = 0;
        tx_error err;
        if (tx_find_files(argv[d], keep, NULL, &paths, &np, &err)) {
            fprintf(stderr, "bench-analyze: %s\n", err.msg);
            return 1;
        }
        bench b;
        memset(&b, 0, sizeof b);
        double t_read = 0;
        for (size_t i = 0; i < np; i++) {
            uint8_t *data;
            size_t len;
            if (tx_read_file(paths[i], 256u << 20, &data, &len, NULL)) {
                b.failed++;
                continue;
            }
            /* reading is timed with the analysis inside the callback, so subtract the analysis */
            double t0 = tx_now();
            double before = b.t_key + b.t_chords + b.t_vl + b.t_stats + b.t_all;
            tx_score_read_each(data, len, paths[i], item, &b);
            t_read += tx_now() - t0 - (b.t_key + b.t_chords + b.t_vl + b.t_stats + b.t_all - before);
            tx_free(data);
        }
        printf("%s: %zu files, %zu scores (%zu failed), %zu notes\n", argv[d], np, b.items, b.failed, b.notes);
        line("read", t_read, &b);
        line("key", b.t_key, &b);
        line("chords", b.t_chords, &b);
        line("voice leading", b.t_vl, &b);
        line("statistics", b.t_stats, &b);
        line("tx_analyze", b.t_all, &b);
        tx_free_paths(paths, np);
    }
    return 0;
}
