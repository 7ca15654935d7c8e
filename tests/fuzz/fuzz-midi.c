/* fuzz-midi.c: the libFuzzer target for the MIDI reader (tx_midi_read), also linked with
 * fuzz-main.c into a plain regression runner over the seed corpus midi-seeds/.
 *
 * Any input must give either a valid score (tx_score_check passes, every note's track exists) or a
 * failure with *out NULL and a message that names the input; anything else aborts, so the fuzzer
 * and the regression runner both report it. Not a test of the reading's musical result: test-midi
 * and the mido comparison do that. */
#include "midi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tx_score *s = (tx_score *)&s;   /* must be overwritten */
    tx_midi_info info;
    tx_error err;
    int rc = tx_midi_read(data, size, "fuzz.mid", &s, &info, &err);
    if (rc == TX_OK) {
        if (!s || tx_score_check(s, &err) != TX_OK) {
            fprintf(stderr, "fuzz-midi: accepted input gives an invalid score: %s\n", s ? err.msg : "NULL");
            abort();
        }
        for (size_t i = 0; i < s->n_notes; i++)
            if (s->notes[i].track >= s->n_tracks)
                abort();
        tx_score_free(s);
    } else {
        if (s != NULL || err.code != rc || strncmp(err.msg, "fuzz.mid: ", 10) != 0 ||
            (rc == TX_EMIDI && err.offset < 0)) {
            fprintf(stderr, "fuzz-midi: bad failure report (%d): %s\n", rc, err.msg);
            abort();
        }
    }
    return 0;
}
