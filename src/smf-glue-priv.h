/* smf-glue-priv.h: the one module that calls libsmf (internal to libtactus).
 *
 * libsmf asserts on values it does not like and reports everything else through GLib logging in the
 * "libsmf" domain. This module is the fence around it: a log capture that turns libsmf's messages into
 * tactus errors, and a small writer that takes already-encoded SMF events (checked once more here, so
 * that nothing libsmf would assert on can reach it) and saves them with smf_save(). It is not a MIDI
 * encoder: which events a score becomes is midi-write.c's business. It never reads untrusted bytes.
 *
 * Ownership: a tx_smf_writer is created with tx_smf_writer_new() and freed with tx_smf_writer_free();
 * tracks added to it are copied, so the caller's event arrays may be reused at once.
 */
#ifndef TX_SMF_GLUE_PRIV_H
#define TX_SMF_GLUE_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The largest tick tactus writes: a delta time is at most four VLQ bytes (28 bits) in an SMF. */
#define TX_SMF_MAX_TICK 0x0FFFFFFF
/* libsmf counts events of a track, and the bytes of the whole file, in an int: stay far below. */
#define TX_SMF_MAX_EVENTS (1 << 26)
#define TX_SMF_MAX_EVENT_BYTES (1 << 24)
#define TX_SMF_MAX_FILE_BYTES (1 << 30)
/* libsmf 1.3 checks a meta event's length against its first length byte only, so smf_save() refuses
 * every meta event with more than 127 bytes of data. */
#define TX_SMF_MAX_META_DATA 127

/* ---- libsmf's log messages ---- */

typedef struct tx_smf_log {
    int n_messages;        /* warnings and worse that libsmf logged while capturing (not debug) */
    int n_critical;        /* of which critical, error or fatal */
    char first[256];       /* the first critical message (or the first message when none was) */
    struct tx_smf_log *prev;
} tx_smf_log;

/* Routes libsmf's messages logged by this thread into log until tx_smf_log_end(). Captures nest.
 * Messages logged outside any capture go to GLib's default handler, as if tactus were not there. */
void tx_smf_log_begin(tx_smf_log *log);
void tx_smf_log_end(tx_smf_log *log);

/* ---- writing ---- */

/* One event: `len` bytes at pool + off, a complete message with its status byte (meta events as
 * FF type VLQ-length data; no running status, no sysex). Ticks are absolute. */
typedef struct tx_smf_event {
    uint32_t tick;
    uint32_t len;
    size_t off;
} tx_smf_event;

typedef struct tx_smf_writer tx_smf_writer;

/* A writer for an SMF type 1 file at `division` ticks per quarter (1..32767); NULL on out of memory. */
tx_smf_writer *tx_smf_writer_new(int division);
void tx_smf_writer_free(tx_smf_writer *w);
/* Appends a track chunk of n events in non-decreasing tick order, closed by an end-of-track event at
 * end_tick (>= the last event's tick). Add the conductor track first: libsmf rebuilds its whole tempo
 * map whenever a tempo or time signature lands before events already added. Every event is checked first (status byte, length, data bytes,
 * ticks); TX_EINVAL when one fails, TX_ELIMIT beyond the limits above, TX_ENOMEM. `name` (the file
 * the caller is writing) is used in error messages only. */
int tx_smf_writer_add_track(tx_smf_writer *w, const tx_smf_event *ev, size_t n, const uint8_t *pool,
                            size_t pool_len, uint32_t end_tick, const char *name, tx_error *err);
/* Saves the tracks added so far to `path` (which smf_save() opens and truncates). Messages name
 * `name`. TX_EIO, with libsmf's first message, when libsmf fails. Once per writer: after a save,
 * successful or not, the writer only accepts tx_smf_writer_free(). Note that Debian's libsmf is built
 * with its self-check on: smf_save() reads the file back and frees that copy with the quadratic
 * smf_delete(), which makes writing slow (about 1-2 MB/s) for tracks with many thousand events. */
int tx_smf_writer_save(tx_smf_writer *w, const char *path, const char *name, tx_error *err);

/* Frees an smf_t (type erased so that callers need not include smf.h) in linear time: smf_delete()
 * removes events one by one from a pointer array, which is quadratic in the events of a track. */
void tx_smf_delete_fast(void *smf);

#endif
