/* scoreio.h: reading and writing scores by format: detection from the bytes (and the extension when
 * the bytes don't tell), and one entry point each way that the command line, the corpus index and the
 * tools share. Formats plug in here as they land.
 * Ownership: tx_score_read_file() gives the caller a score to free with tx_score_free(). */
#ifndef TX_SCOREIO_H
#define TX_SCOREIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "score.h"

enum tx_format { TX_FORMAT_UNKNOWN = 0, TX_FORMAT_MIDI, TX_FORMAT_ABC, TX_FORMAT_GRID, TX_FORMAT_KERN };

/* "midi", "abc", "grid", "kern", "unknown". */
TX_API const char *tx_format_name(int format);
/* The format the extension of path names (".mid", ".midi", ".kar", ".abc", ".csv" for a voice grid,
 * ".krn" for Humdrum **kern), or TX_FORMAT_UNKNOWN. */
TX_API int tx_format_from_path(const char *path);
/* The format of data: MIDI by its "MThd" (or RIFF "RMID") signature, a grid by "note0,", **kern by a
 * first record (after comments) of exclusive interpretations naming **kern; otherwise the extension
 * of path. */
TX_API int tx_format_detect(const uint8_t *data, size_t len, const char *path);

/* Reads a score from path (format detected as above). *format (may be NULL) receives the format even
 * when parsing fails, so callers can report it. */
TX_API int tx_score_read_file(const char *path, tx_score **out, int *format, tx_error *err);
/* The same from bytes already in memory; path names the source in messages and gives the extension. */
TX_API int tx_score_read_mem(const uint8_t *data, size_t len, const char *path, tx_score **out, int *format,
                             tx_error *err);
/* One score of a file: the file itself (MIDI, grid, kern), or one tune (ABC). */
typedef struct tx_score_item {
    int format;
    long index;              /* 0 for a file that holds one score; ABC: the tune's place, from 1 */
    long number;             /* ABC: the tune's X: number; -1 otherwise */
    const char *title;       /* borrowed; "" when none */
    const uint8_t *bytes;    /* the item's own source bytes: the whole file, or the tune's text */
    size_t n_bytes;
    int status;              /* TX_OK, or why this item could not be read */
    const tx_error *error;   /* the message when status is not TX_OK */
    tx_score *score;         /* NULL when status is not TX_OK; the callback may take it (and set NULL) */
} tx_score_item;

/* Called once per item in file order; returning non-zero stops the walk (and is returned). */
typedef int (*tx_score_item_fn)(void *ud, tx_score_item *item);

/* Reads every score that data holds and hands each to fn, failed ones included (a MIDI file that does
 * not parse is one failed item; so is an ABC file that cannot be read at all). Scores the callback
 * leaves are freed after it returns. */
TX_API int tx_score_read_each(const uint8_t *data, size_t len, const char *path, tx_score_item_fn fn,
                              void *ud);

/* Writes s to path in `format` (MIDI or ABC; a grid or kern is refused with TX_EUNSUP), atomically. */
TX_API int tx_score_write_file(const tx_score *s, const char *path, int format, tx_error *err);

#endif
