/* test-midi-mido.c: tactus's MIDI reader against mido on the fixture files in tests/data/midi (see
 * tests/mido-notes.py for the dump both sides print). Skips (77) when mido is not installed. */
#include "harness.h"
#include "midi-mido.h"

static int mido_missing;

static void test_fixtures_vs_mido(void)
{
    static const char *const names[] = {"pop909-098.mid", "pop909-331.mid", "pop909-447.mid",
                                        "pop909-764.mid"};
    char paths[4][4096];
    const char *p[4];
    for (int i = 0; i < 4; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/tests/data/midi/%s", TX_SOURCE_ROOT, names[i]);
        p[i] = paths[i];
    }
    mido_stats st = {0};
    int bad = midi_compare_with_mido(p, 4, stderr, &st);
    if (bad < 0) {
        mido_missing = 1;
        return;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(st.same, 4);
    /* a few fixed facts, so the comparison cannot pass by both sides reading nothing */
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(tx_midi_read_file(p[0], &s, &info, &err), TX_OK);
    if (s) {
        CHECK_INT(s->n_tracks, 3);
        CHECK_STR(s->tracks[0].name, "MELODY");
        CHECK_STR(s->tracks[2].name, "PIANO");
        CHECK_INT(s->tracks[2].channel, 2);
        CHECK_INT(s->tpq, 480);
        CHECK_INT(s->n_tempos, 1);
        CHECK_INT(s->tempos[0].usec_per_quarter, 810810);
        CHECK_INT(info.warnings, 0);
        CHECK_INT(info.n_chunks, 4);
        tx_score_free(s);
    }
    CHECK_INT(tx_midi_read_file("no/such/file.mid", &s, NULL, &err), TX_EIO);
    CHECK(s == NULL);
}

int main(void)
{
    RUN(test_fixtures_vs_mido);
    if (mido_missing) {
        printf("mido is not available (python3-mido): skipped\n");
        return 77;
    }
    return tx_test_finish();
}
