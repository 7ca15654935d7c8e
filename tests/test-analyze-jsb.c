/* test-analyze-jsb.c: voice-leading regression on the 382 JSB chorales of the shared corpora
 * (jsb-chorales/csv-16th: one row per sixteenth, soprano, alto, tenor, bass as MIDI keys, 0 silent).
 * Each chorale becomes a four-track score (a held pitch on consecutive rows is one note, as the grid
 * cannot tell held from repeated notes), and tx_analyze_voice_leading must find the counts issue 8
 * states: 59 parallel fifths and 41 parallel octaves in the same direction, 71 and 23 in contrary
 * motion. Skips (77) when the corpora are absent. Not a test of the CSV format itself. */
#include "harness.h"

#include "analyze.h"

/* Reads one chorale CSV into a score at 4 ticks per quarter (a tick per sixteenth). NULL on failure. */
static tx_score *read_chorale(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    tx_score *s = tx_score_new(4);
    static const char *const names[4] = {"soprano", "alto", "tenor", "bass"};
    for (int v = 0; v < 4; v++)
        tx_score_add_track(s, names[v], 52, v, 0, NULL);
    char line[256];
    int held[4] = {0, 0, 0, 0};
    long start[4] = {0, 0, 0, 0}, row = 0;
    int ok = fgets(line, sizeof line, f) != NULL;   /* the header */
    while (ok && fgets(line, sizeof line, f)) {
        int p[4];
        if (sscanf(line, "%d,%d,%d,%d", &p[0], &p[1], &p[2], &p[3]) != 4) {
            ok = 0;
            break;
        }
        for (int v = 0; v < 4; v++) {
            if (p[v] != held[v]) {
                if (held[v] > 0)
                    tx_score_add_note(s, start[v], row - start[v], held[v], 80, v, 0);
                held[v] = p[v];
                start[v] = row;
            }
        }
        row++;
    }
    for (int v = 0; v < 4; v++)
        if (held[v] > 0)
            tx_score_add_note(s, start[v], row - start[v], held[v], 80, v, 0);
    fclose(f);
    if (!ok || tx_score_sort(s)) {
        tx_score_free(s);
        return NULL;
    }
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
    CHECK_INT(read, 382);
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
