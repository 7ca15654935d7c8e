/* fuzz-grid.c: the libFuzzer target for the voice-grid CSV reader (tx_grid_read_csv), also linked with
 * fuzz-main.c into a plain regression runner over the seed corpus grid-seeds/.
 *
 * Any input must give either a valid score (tx_score_check passes, tpq 4, every note's track exists)
 * or a failure with *out NULL and a message that starts with the input's name and, for malformed
 * text, names a line and column; anything else aborts. Not a test of the reading's musical result:
 * test-grid does that. */
#include "grid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tx_score *s = (tx_score *)&s;   /* must be overwritten */
    tx_error err;
    int rc = tx_grid_read_csv(data, size, "fuzz.csv", &s, &err);
    if (rc == TX_OK) {
        if (!s || s->tpq != 4 || tx_score_check(s, &err) != TX_OK) {
            fprintf(stderr, "fuzz-grid: accepted input gives an invalid score: %s\n", s ? err.msg : "NULL");
            abort();
        }
        for (size_t i = 0; i < s->n_notes; i++)
            if (s->notes[i].track >= s->n_tracks || s->notes[i].duration < 1)
                abort();
        tx_score_free(s);
    } else {
        if (s != NULL || err.code != rc || strncmp(err.msg, "fuzz.csv:", 9) != 0 ||
            ((rc == TX_ESYNTAX || rc == TX_ELIMIT) && (err.line < 1 || err.column < 1))) {
            fprintf(stderr, "fuzz-grid: bad failure report (%d): %s\n", rc, err.msg);
            abort();
        }
    }
    return 0;
}
