/* slow-midi-mido.c: tactus's MIDI reader against mido on every MIDI file of the shared corpora
 * POP909 and ASAP (../shared/corpora; skips with 77 when absent or when mido is missing). Prints the
 * counts; fails when a file mido reads is read differently or refused by tactus. */
#include "harness.h"
#include "midi-mido.h"
#include "paths.h"
#include "scoreio.h"

/* tx_find_files() keeps the MIDI files (.mid, .midi, .kar, .smf in any case) and sorts them. */
static int is_midi(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) == TX_FORMAT_MIDI;
}

int main(void)
{
    const char *corpora = tx_test_corpora();
    if (!corpora) {
        printf("shared corpora not found: skipped\n");
        return 77;
    }
    static const char *const sub[] = {"pop909/POP909", "midi-asap"};
    for (int c = 0; c < 2; c++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", corpora, sub[c]);
        char **v = NULL;
        size_t n = 0;
        tx_error err;
        if (tx_find_files(dir, is_midi, NULL, &v, &n, &err) != TX_OK)
            fprintf(stderr, "%s\n", err.msg);   /* then no files: the check below fails */
        mido_stats st = {0};
        int bad = 0;
        for (size_t i = 0; i < n; i += 100) {
            int k = (int)(n - i < 100 ? n - i : 100);
            int b = midi_compare_with_mido((const char *const *)v + i, k, stderr, &st);
            if (b < 0) {
                printf("mido is not available (python3-mido): skipped\n");
                return 77;
            }
            bad += b;
        }
        printf("%s: %d files, %d same as mido, %d differ, %d refused by tactus only, %d unreadable "
               "by mido\n", sub[c], st.files, st.same, st.differ, st.tactus_failed, st.mido_failed);
        CHECK(st.files > 0);
        CHECK_INT(bad, 0);
        tx_free_paths(v, n);
    }
    return tx_test_finish();
}
