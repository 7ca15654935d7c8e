/* error.h: status codes and the error record every library function fills.
 *
 * Library functions return an int status (TX_OK or one of the codes below; a code never changes
 * meaning) and, on failure, fill a caller-owned tx_error with a message that names the place first:
 * "tune.abc:12:7: unexpected ']'" or "song.mid: track 3, byte 1042: running status without a
 * previous status byte". The library never prints and never exits; the CLI does both.
 * Ownership: a tx_error holds no heap memory; it lives wherever the caller puts it.
 */
#ifndef TX_ERROR_H
#define TX_ERROR_H

#include <stddef.h>

#if defined(TX_BUILDING_LIBRARY) && defined(__GNUC__)
#define TX_API __attribute__((visibility("default")))
#else
#define TX_API
#endif

#if defined(__GNUC__)
#define TX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TX_PRINTF(f, a)
#endif

enum {
    TX_OK = 0,
    TX_ENOMEM = 1,    /* out of memory */
    TX_EIO = 2,       /* a read or write failed */
    TX_ESYNTAX = 3,   /* malformed text input (ABC, JSON, configs) */
    TX_EMIDI = 4,     /* malformed MIDI */
    TX_EDB = 5,       /* corpus database */
    TX_EINVAL = 6,    /* a caller passed something out of range */
    TX_EUNSUP = 7,    /* valid input that tactus does not handle */
    TX_ELIMIT = 8,    /* input beyond a documented limit */
    TX_EMODEL = 9,    /* model or checkpoint */
    TX_NCODES
};

#define TX_ERROR_MSG_MAX 512

typedef struct tx_error {
    int code;                     /* TX_OK when nothing failed */
    char msg[TX_ERROR_MSG_MAX];   /* full message, place first, no trailing period */
    long line, column;            /* text inputs: 1-based, 0 when unknown */
    int track;                    /* MIDI: 0-based track chunk, -1 when unknown */
    long offset;                  /* MIDI: byte offset in the file, -1 when unknown */
} tx_error;

/* Resets e to "no error". e may be NULL everywhere an error pointer is taken. */
TX_API void tx_error_clear(tx_error *e);
/* Formats a message into e (when e is not NULL) and returns code, so callers can write
 * `return tx_error_set(err, TX_EMIDI, "%s: ...", name);`. The place fields are reset. */
TX_API int tx_error_set(tx_error *e, int code, const char *fmt, ...) TX_PRINTF(3, 4);
/* A short fixed description of a status code ("out of memory", "malformed MIDI", ...). */
TX_API const char *tx_strerror(int code);

#endif
