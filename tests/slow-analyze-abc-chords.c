/* slow-analyze-abc-chords.c: measures how often the chord symbols of the Nottingham Music Database
 * (the shared corpora's abc/nottingham/ABC_cleaned: melodies with guitar-chord symbols on almost every
 * beat) agree with the melody under them, as tx_analyze_chord_symbols compares them (root and
 * major/minor, MIREX majmin style). Prints symbols read, not understood, compared and agreed, and the
 * symbols not understood; fails when a symbol of the set's vocabulary is not understood (more than
 * 0.5% of them) or when the agreement falls well below the figure measured when the comparison was
 * written. A melody alone often leaves the harmony open, so the agreement is a lower bound on how
 * often the symbols fit the tunes, not a measure of the symbols' quality. Skips (77) without the
 * corpora. Not a unit test: it reads about a thousand tunes (a few seconds). */
#include "harness.h"

#include "analyze.h"
#include "scoreio.h"

typedef struct tally {
    size_t tunes, failed, read, not_understood, compared, agreed;
    char odd[2048];   /* the first texts not understood */
} tally;

static int each(void *ud, tx_score_item *it)
{
    tally *t = ud;
    if (it->status || !it->score) {
        t->failed++;
        return 0;
    }
    tx_symbol_report r;
    if (tx_analyze_chord_symbols(it->score, &r, NULL)) {
        t->failed++;
        return 0;
    }
    t->tunes++;
    t->read += r.read;
    t->not_understood += r.not_understood;
    t->compared += r.compared;
    t->agreed += r.agreed;
    for (size_t i = 0; i < r.n_items; i++)
        if (!r.items[i].understood && strlen(t->odd) + strlen(r.items[i].text) + 4 < sizeof t->odd) {
            strcat(t->odd, " \"");
            strcat(t->odd, r.items[i].text);
            strcat(t->odd, "\"");
        }
    tx_free(r.items);
    return 0;
}

int main(void)
{
    const char *root = tx_test_corpora();
    if (!root) {
        printf("shared corpora not found: skipped\n");
        return 77;
    }
    static const char *const files[] = {"ashover", "hpps", "jigs", "morris", "playford", "reelsa-c", "reelsd-g",
                                        "reelsh-l", "reelsm-q", "reelsr-t", "reelsu-z", "slip", "waltzes", "xmas"};
    tally t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/abc/nottingham/ABC_cleaned/%s.abc", root, files[i]);
        uint8_t *data;
        size_t len;
        tx_error err;
        CHECK_INT(tx_read_file(path, (size_t)16 << 20, &data, &len, &err), TX_OK);
        if (!data)
            continue;
        CHECK_INT(tx_score_read_each(data, len, path, each, &t), TX_OK);
        tx_free(data);
    }
    double rate = t.compared ? (double)t.agreed / (double)t.compared : 0;
    printf("nottingham: %zu tunes (%zu failed to read), %zu chord symbols, %zu not understood, %zu compared "
           "(major or minor), %zu agree: %.4f\n", t.tunes, t.failed, t.read, t.not_understood, t.compared,
           t.agreed, rate);
    printf("not understood:%s\n", t.odd);
    CHECK(t.tunes > 1000);
    CHECK(t.read > 30000);
    CHECK(t.not_understood * 200 < t.read);
    CHECK(t.compared * 100 > t.read * 95);   /* nearly all of the set's symbols are major or minor */
    CHECK(rate > 0.65);   /* 0.673 when written */
    return tx_test_finish();
}
