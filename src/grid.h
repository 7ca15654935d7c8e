/* grid.h: the reader for voice grids in CSV, the form of the JSB chorales data set
 * (jsb-chorales/csv-16th): a header `note0,note1,...` naming one column per voice, then one row per
 * sixteenth note holding each voice's MIDI key, 0 for silence.
 *
 * A grid cannot tell a held note from a note repeated on the next sixteenth: the reader joins equal
 * keys on consecutive rows into one note, so repeated notes come out as one long note. There is no
 * writer: a score has no faithful grid form in general (durations off the grid, overlapping notes in
 * one voice).
 * Ownership: tx_grid_read_csv() gives the caller a score to free with tx_score_free().
 */
#ifndef TX_GRID_H
#define TX_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "score.h"

#define TX_GRID_MAX_VOICES 16          /* columns note0..note15, one MIDI channel each */
#define TX_GRID_MAX_ROWS (1L << 18)    /* 262,144 sixteenths (16,384 bars of 4/4); more is TX_ELIMIT */

/* Parses len bytes of grid CSV into a score: 4 ticks per quarter (one tick per row), one track per
 * column (soprano, alto, tenor, bass for four columns, voice1, voice2, ... otherwise; program 52, choir
 * aahs; channel = column index), velocity 80, a 4/4 time signature at tick 0, no tempo (the score
 * model's default applies). Rows are integers 0..127 separated by commas, an optional '\r' before each
 * '\n'; blank lines may end the file. name (NULL gives "grid") names the source in messages, which read
 * "NAME:LINE:COLUMN: ..." with err->line and err->column set. Returns TX_OK; TX_ESYNTAX for malformed
 * input (a header that is not note0..noteN-1, wrong column counts, non-numbers, keys out of range, no
 * rows); TX_ELIMIT beyond TX_GRID_MAX_ROWS rows; TX_ENOMEM. *out is NULL on failure. */
TX_API int tx_grid_read_csv(const uint8_t *data, size_t len, const char *name, tx_score **out, tx_error *err);

#endif
