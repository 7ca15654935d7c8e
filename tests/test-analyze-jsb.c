/* test-analyze-jsb.c: voice-leading regression on the 382 JSB chorales of the shared corpora
 * (jsb-chorales/csv-16th: one row per sixteenth, soprano, alto, tenor, bass as MIDI keys, 0 silent).
 * Each chorale is read by the grid reader (src/grid.c: a four-track score; a held pitch on
 * consecutive rows is one note, as the grid cannot tell held from repeated notes), and
 * tx_analyze_voice_leading must find the counts issue 8 states: 59 parallel fifths and 41 parallel
 * octaves in the same direction, 71 and 23 in contrary motion. The kinds added later (overlap,
 * spacing, range, unresolved leading tones and sevenths) have no outside oracle: their counts are
 * printed, and checked only for sanity (each kind found, none in every sonority). Skips (77) when the
 * corpora are absent. Not a test of the CSV format itself (test-grid.c is). */
#include "harness.h"

#include "analyze.h"
#include "grid.h"

/* Reads one chorale through the grid reader (tx_grid_read_csv). NULL on failure, with the message printed. */
static tx_score *read_chorale(const char *path)
{
    uint8_t *data;
    size_t len;
    tx_error err;
    tx_score *s = NULL;
    if (tx_read_file(path, (size_t)1 << 20, &data, &len, &err) == TX_OK) {
        tx_grid_read_csv(data, len, path, &s, &err);
        tx_free(data);
    }
    if (!s)
        fprintf(stderr, "%s\n", err.msg);
    return s;
}

static void test_jsb_counts(void)
{
    const char *root = tx_test_corpora();
    static const char *const splits[3] = {"train", "valid", "test"};
    static const int first[3] = {0, 229, 305}, last[3] = {228, 304, 381};
    size_t counts[TX_VL_NKINDS] = {0};
    int read = 0;
    for (int sp = 0; sp < 3; sp++)
        for (int i = first[sp]; i <= last[sp]; i++) {
            char path[4300];
            snprintf(path, sizeof path, "%s/jsb-chorales/csv-16th/%s/chorale_%03d.csv", root, splits[sp], i);
            tx_score *s = read_chorale(path);
            CHECK(s != NULL);
            if (!s)
                continue;
            read++;
            tx_vl_result vl;
            CHECK_INT(tx_analyze_voice_leading(s, &vl, NULL), TX_OK);
            for (int k = 0; k < TX_VL_NKINDS; k++)
                counts[k] += vl.counts[k];
            tx_free(vl.findings);
            tx_score_free(s);
        }
    printf("%d chorales: parallel fifths %zu, octaves %zu; contrary fifths %zu, octaves %zu; hidden fifths %zu, "
           "octaves %zu; crossings %zu\n", read, counts[TX_VL_PARALLEL_FIFTH], counts[TX_VL_PARALLEL_OCTAVE],
           counts[TX_VL_CONTRARY_FIFTH], counts[TX_VL_CONTRARY_OCTAVE], counts[TX_VL_HIDDEN_FIFTH],
           counts[TX_VL_HIDDEN_OCTAVE], counts[TX_VL_CROSSING]);
    printf("%d chorales: voice overlaps %zu, spacings %zu, ranges %zu, unresolved leading tones %zu, unresolved "
           "sevenths %zu\n", read, counts[TX_VL_OVERLAP], counts[TX_VL_SPACING], counts[TX_VL_RANGE],
           counts[TX_VL_UNRESOLVED_LEADING_TONE], counts[TX_VL_UNRESOLVED_SEVENTH]);
    CHECK_INT(read, 382);
    /* sanity only: Bach does all of these now and then, and none of them in most places (the 382
     * chorales have about 20,000 sonorities) */
    for (int k = TX_VL_OVERLAP; k < TX_VL_NKINDS; k++) {
        CHECK(counts[k] > 0);
        CHECK(counts[k] < 5000);
    }
    CHECK_INT(counts[TX_VL_PARALLEL_FIFTH], 59);
    CHECK_INT(counts[TX_VL_PARALLEL_OCTAVE], 41);
    CHECK_INT(counts[TX_VL_CONTRARY_FIFTH], 71);
    CHECK_INT(counts[TX_VL_CONTRARY_OCTAVE], 23);
}

int main(void)
{
    if (!tx_test_corpora()) {
        printf("shared corpora not found: skipped\n");
        return 77;
    }
    RUN(test_jsb_counts);
    return tx_test_finish();
}
