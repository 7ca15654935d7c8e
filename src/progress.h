/* progress.h: a progress bar for long work (items done, rate, ETA), drawn on a terminal only.
 *
 * Library functions report progress through a tx_progress_fn callback and never print; the command
 * line passes tx_progress_update as that callback. A bar that is not on a terminal draws nothing.
 * Ownership: a tx_progress is a plain struct owned by the caller; it holds no heap memory.
 */
#ifndef TX_PROGRESS_H
#define TX_PROGRESS_H

#include <stdio.h>

#include "error.h"

/* done of total items (total 0 when unknown); the callback's return is ignored. */
typedef void (*tx_progress_fn)(void *ud, size_t done, size_t total);

typedef struct tx_progress {
    FILE *out;            /* NULL: draw nothing */
    const char *label;    /* "indexing", "reading" ... */
    const char *unit;     /* "files", "tokens" ... */
    double start, last;   /* monotonic seconds */
    size_t done, total;
    int drawn;
} tx_progress;

/* Starts a bar on `out` when it is a terminal and $TACTUS_NO_PROGRESS is unset. */
TX_API void tx_progress_start(tx_progress *p, FILE *out, const char *label, const char *unit, size_t total);
/* Records progress; redraws at most ten times a second. ud is a tx_progress *. */
TX_API void tx_progress_update(void *ud, size_t done, size_t total);
/* Clears the bar's line. */
TX_API void tx_progress_finish(tx_progress *p);
/* Monotonic seconds, for rates. */
TX_API double tx_now(void);

#endif
