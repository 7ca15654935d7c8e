/* bench-remi.c: REMI / REMI+ tokenization speed on the 180 MidiTok golden inputs, from MIDI bytes
 * in memory to ids (tactus's MIDI reader, then the tokenizer), the figure MidiTok's ~310k tokens/s is
 * compared with. Also times the tokenizer alone on parsed scores. Median of 3 runs per configuration.
 *
 * usage: bench-remi SHARED_DIR   (the folder holding corpora/ and golden/miditok-remi/)
 * It is a measuring tool, not a test: it checks nothing against the golden tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "midi.h"
#include "progress.h"
#include "score.h"
#include "tokenizers/remi.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench-remi SHARED_DIR\n");
        return 2;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/golden/miditok-remi/remi-default/index.tsv", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench-remi: %s: cannot open\n", path);
        return 1;
    }
    uint8_t *data[256];
    size_t lens[256], n = 0, bytes = 0;
    char line[4096];
    if (!fgets(line, sizeof line, f)) {   /* header */
        fclose(f);
        return 1;
    }
    while (n < 256 && fgets(line, sizeof line, f)) {
        char corpus[64], source[2048];
        if (sscanf(line, "%63[^\t]\t%2047[^\t]", corpus, source) != 2)
            continue;
        snprintf(path, sizeof path, "%s/corpora/%s/%s", argv[1], corpus, source);
        tx_error err;
        if (tx_read_file(path, TX_MIDI_MAX_FILE, &data[n], &lens[n], &err)) {
            fprintf(stderr, "bench-remi: %s\n", err.msg);
            continue;
        }
        bytes += lens[n++];
    }
    fclose(f);
    printf("%zu files, %.1f MB of MIDI\n", n, (double)bytes / 1e6);

    for (int plus = 0; plus < 2; plus++) {
        tx_remi_config c;
        if (plus)
            tx_remi_config_plus(&c);
        else
            tx_remi_config_default(&c);
        tx_error err;
        tx_remi *r = tx_remi_new(&c, &err);
        tx_remi_seqs q = TX_REMI_SEQS_INIT;
        double full[3], enc_only[3];
        size_t tokens = 0, failed = 0;
        tx_score **scores = calloc(n, sizeof *scores);
        for (int run = 0; run < 3; run++) {
            tokens = 0;
            failed = 0;
            double t0 = tx_now();
            for (size_t i = 0; i < n; i++) {
                tx_score *s;
                if (tx_midi_read(data[i], lens[i], "bench", &s, NULL, &err)) {
                    failed++;
                    continue;
                }
                if (tx_remi_encode(r, s, &q, &err) == TX_OK)
                    tokens += q.n_ids;
                else
                    failed++;
                if (run == 0)
                    scores[i] = s;
                else
                    tx_score_free(s);
            }
            full[run] = tx_now() - t0;
            t0 = tx_now();
            for (size_t i = 0; i < n; i++)
                if (scores[i])
                    tx_remi_encode(r, scores[i], &q, &err);
            enc_only[run] = tx_now() - t0;
        }
        qsort(full, 3, sizeof full[0], cmp_double);
        qsort(enc_only, 3, sizeof enc_only[0], cmp_double);
        printf("%-12s %zu tokens, %zu failures; MIDI bytes -> ids: %.3f s, %.2fM tokens/s; "
               "tokenizer alone: %.3f s, %.2fM tokens/s (medians of 3)\n",
               plus ? "remi-plus" : "remi-default", tokens, failed, full[1], (double)tokens / full[1] / 1e6,
               enc_only[1], (double)tokens / enc_only[1] / 1e6);
        for (size_t i = 0; i < n; i++)
            tx_score_free(scores[i]);
        free(scores);
        tx_remi_seqs_free(&q);
        tx_remi_free(r);
    }
    for (size_t i = 0; i < n; i++)
        tx_free(data[i]);
    return 0;
}
