/* fuzz-kern.c: the libFuzzer target for the Humdrum **kern reader (tx_kern_read), also linked with
 * fuzz-main.c into a plain regression runner over the seed corpus kern-seeds/.
 *
 * Any input must give either a valid score (tx_score_check passes, tpq in range, every note's track
 * exists, only grace notes without duration) or a failure with *out NULL and a message that starts
 * with the input's name and, for malformed text and limits, names a line and column; anything else
 * aborts. Not a test of the reading's musical result: test-kern does that. */
#include "kern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tx_score *s = (tx_score *)&s;   /* must be overwritten */
    tx_error err;
    int rc = tx_kern_read(data, size, "fuzz.krn", &s, &err);
    if (rc == TX_OK) {
        if (!s || s->tpq < 1 || s->tpq > TX_MAX_TPQ || tx_score_check(s, &err) != TX_OK) {
            fprintf(stderr, "fuzz-kern: accepted input gives an invalid score: %s\n", s ? err.msg : "NULL");
            abort();
        }
        for (size_t i = 0; i < s->n_notes; i++)
            if (s->notes[i].track >= s->n_tracks ||
                (s->notes[i].duration < 1 && !(s->notes[i].flags & TX_NOTE_GRACE)))
                abort();
        tx_score_free(s);
    } else {
        if (s != NULL || err.code != rc || strncmp(err.msg, "fuzz.krn:", 9) != 0 ||
            ((rc == TX_ESYNTAX || rc == TX_ELIMIT || rc == TX_EUNSUP) && (err.line < 1 || err.column < 1))) {
            fprintf(stderr, "fuzz-kern: bad failure report (%d): %s\n", rc, err.msg);
            abort();
        }
    }
    return 0;
}
