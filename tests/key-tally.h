/* key-tally.h: how the key measures of the slow tests count: for each score with a labelled key, the
 * key every profile finds (tx_key_from_histogram on the duration-weighted pitch-class histogram) and
 * whether it is right (exact) and its MIREX score. Header-only test helper. */
#ifndef TX_TEST_KEY_TALLY_H
#define TX_TEST_KEY_TALLY_H

#include "analyze.h"

typedef struct tally {
    size_t n;
    size_t exact[TX_KEY_NPROFILES];
    double mirex[TX_KEY_NPROFILES];
} tally;

static inline void score_keys(const tx_score *s, int ref_tonic, int ref_mode, tally *t)
{
    double hist[12];
    tx_analyze_pc_histogram(s, hist);
    t->n++;
    for (int p = 0; p < TX_KEY_NPROFILES; p++) {
        tx_key_result k;
        tx_key_from_histogram(hist, p, &k);
        if (!k.found)
            continue;
        double m = tx_key_mirex_score(ref_tonic, ref_mode, k.best.tonic, k.best.mode);
        t->exact[p] += m == 1.0;
        t->mirex[p] += m;
    }
}

#endif
