/* reader-oom.h: the out-of-memory test every score reader gets: the reader runs on one text under
 * allocation budgets 0, 1, 2 ... until it succeeds; each failure must be TX_ENOMEM, leave no score and
 * no live block, and name the file in its message. Header-only test helper (include after harness.h
 * and alloc-budget.h). */
#ifndef TX_TEST_READER_OOM_H
#define TX_TEST_READER_OOM_H

#include <string.h>

#include "score.h"

typedef int (*tx_test_reader)(const char *text, tx_score **s, tx_error *err);

/* want: the start of the out-of-memory message ("t.csv: out of memory"). Budgets up to max_budget. */
static inline void tx_test_reader_oom(tx_test_reader read, const char *text, const char *want, long max_budget)
{
    int done = 0;
    for (long budget = 0; budget < max_budget && !done; budget++) {
        tx_score *s = NULL;
        tx_error err;
        tx_test_alloc_begin(budget);
        int rc = read(text, &s, &err);
        tx_score_free(s);
        long live = tx_test_alloc_end();
        CHECK_INT(live, 0);
        if (rc == TX_OK) {
            done = 1;
            CHECK(budget > 0);
        } else {
            CHECK_INT(rc, TX_ENOMEM);
            CHECK(s == NULL);
            CHECK(strstr(err.msg, want) != NULL);
        }
    }
    CHECK(done);
}

#endif
