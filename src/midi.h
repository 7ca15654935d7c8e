/* midi.h: Standard MIDI Files in and out.
 *
 * Reading is tactus's own bounds-checked parser (midi.c): every byte of the input is treated as
 * hostile, and libsmf never sees untrusted bytes. Writing goes through libsmf (midi-write.c; type 1:
 * a conductor track with tempo, time and key signatures and global texts, then one track per score
 * track). This header is not a MIDI event API: what a file holds beyond the score model (controllers,
 * pitch bends, sysex) is skipped.
 *
 * How SMF becomes a score (the reader):
 * - SMF type 0 and 1 are read; type 2 (independent sequences) is refused with TX_EUNSUP, and so is an
 *   SMPTE (frames per second) time division. The score keeps the header's ticks per quarter.
 * - Tracks follow symusic 0.5.8, the MIDI reader behind MidiTok, so that REMI tokens made by tactus
 *   match MidiTok's: each track chunk is split by (channel, program), where the program is the one in
 *   force on the channel (last program change in that chunk, 0 before any) when the note ends. A
 *   chunk's tracks come in (channel, program) order, chunks in file order. A (channel, program) pair
 *   without notes gives no track, so a tempo-only conductor chunk adds none. Every track of a chunk
 *   takes the chunk's track name (its last track-name event; "" when none). Channel 10 (index 9) is
 *   drums. A type 0 file is one chunk, so it is split by channel and program the same way.
 * - The track name of a first chunk that gives no track (a type-1 conductor track) becomes the score's
 *   "title" metadata (symusic drops it).
 * - Note-on with velocity 0 is a note-off. Notes pair per chunk, channel and pitch, first in, first
 *   out: a note-off ends the earliest still-sounding note of its pitch on its channel (as symusic and
 *   mido-based readers do). A note-off with nothing sounding is ignored. A note-on and note-off at
 *   the same tick make a zero-length note.
 * - Notes still sounding at the end of their track chunk end there (at the chunk's end-of-track
 *   tick). Here tactus differs from symusic, which drops them; TX_MIDI_WARN_OPEN_NOTES says it happened.
 * - Tempo, time signature and key signature events from any chunk go to the score's maps; of several
 *   at one tick, the last one read wins (tx_score_sort). Time signatures with a denominator over 128
 *   or a numerator of 0, key signatures outside -7..7 sharps or with a mode other than major/minor,
 *   and tempo 0 are skipped as malformed (counted in tx_midi_info.skipped).
 * - Text, copyright, lyric, marker, cue and instrument-name events become score texts (their bytes as
 *   they are: MIDI texts are often Latin-1, not UTF-8; empty texts are skipped). A text belongs to the
 *   first track its chunk produced, or to the whole score (-1) when its chunk produced none.
 * - Sysex (F0 and F7 escapes) and other meta events are skipped with their lengths checked. Running
 *   status is kept across meta events (as mido does; real files rely on it) and across sysex events
 *   (where the standard cancels it, and mido would read the data byte as the start of a sysex).
 * - Where tactus deliberately differs from symusic: notes still sounding at a chunk's end are kept
 *   (above); track names and texts keep their bytes (symusic strips what is not UTF-8); all six text
 *   kinds are kept (symusic keeps lyrics and markers); malformed tempos and signatures are skipped;
 *   and notes come in the score's canonical order (onset, pitch, track ...), where symusic keeps
 *   note-on order; tx_note.seq holds each note's place in note-on order (over the whole file, chunk
 *   after chunk) for tokenizers that need symusic's order back.
 *
 * What is an error (TX_EMIDI unless noted), each reported with the file name, the track chunk
 * (0-based, counting MTrk chunks only) and the byte offset in the input, for example
 * "song.mid: track 3, byte 1042: running status without a previous status byte":
 * an empty input, no "MThd" at the start (after an optional RIFF RMID wrapper), a header shorter than
 * 6 bytes, division 0, SMPTE division (TX_EUNSUP), type 2 (TX_EUNSUP), a type above 2, a chunk
 * header or chunk length that runs past the end while the header's announced track chunks are not
 * all read yet, a variable-length quantity over 4 bytes, an event, sysex or meta length that runs past
 * its chunk, a data byte where a status is needed and no running status exists, a status byte
 * (>= 0x80) where a data byte is needed, the status bytes F1-F6 and F8-FE (not allowed in files),
 * more than TX_MIDI_MAX_TRACKS track chunks or TX_MAX_TRACKS score tracks (TX_ELIMIT).
 * What is tolerated, as lenient readers (mido, midi-file) do, with a bit in tx_midi_info.warnings:
 * a header track count that differs from the chunks present (all MTrk chunks up to the end are
 * read; the count only decides whether a broken chunk at the end is an error), bytes after the last
 * whole chunk (trailing garbage), a chunk without an end-of-track event, bytes after end-of-track
 * inside a chunk; and, without a bit, type 0 with several chunks, unknown chunks (skipped), header
 * lengths over 6 (the rest skipped).
 *
 * Ownership: tx_midi_read*() give the caller a score to free with tx_score_free().
 */
#ifndef TX_MIDI_H
#define TX_MIDI_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "score.h"

#define TX_MIDI_MAX_FILE (256u << 20)   /* files over 256 MiB are refused */
#define TX_MIDI_MAX_TRACKS 4096         /* track chunks read from one file */

/* What the reader tolerated (tx_midi_info.warnings). */
enum tx_midi_warning {
    TX_MIDI_WARN_TRACK_COUNT = 1 << 0,   /* the header's track count differs from the MTrk chunks */
    TX_MIDI_WARN_TRAILING = 1 << 1,      /* bytes after the last whole chunk were ignored */
    TX_MIDI_WARN_NO_EOT = 1 << 2,        /* a chunk ended without an end-of-track event */
    TX_MIDI_WARN_AFTER_EOT = 1 << 3,     /* bytes after end-of-track inside a chunk were ignored */
    TX_MIDI_WARN_OPEN_NOTES = 1 << 4,    /* notes still sounding at the end of a chunk were closed */
    TX_MIDI_WARN_STRAY_OFF = 1 << 5,     /* note-offs with no sounding note were ignored */
    TX_MIDI_WARN_RIFF = 1 << 6,          /* the SMF came inside a RIFF RMID wrapper */
};

typedef struct tx_midi_info {
    int format;                   /* SMF type 0, 1 or 2 */
    int n_chunks;                 /* track chunks read */
    int n_announced;              /* track chunks the header announced */
    int division;                 /* ticks per quarter from the header */
    size_t bytes;                 /* size of the input */
    size_t events;                /* channel, meta and sysex events read */
    size_t skipped;               /* malformed meta events skipped (see above) */
    unsigned warnings;            /* tx_midi_warning bits */
} tx_midi_info;

/* Parses SMF bytes. `name` is used only in error messages (a path, or "<stdin>"; NULL reads as
 * "<midi>"). On success *out is a sorted score (tx_score_sort) that the caller frees with
 * tx_score_free(); on failure *out is NULL and err says where, with err->track (-1 for the header)
 * and err->offset set. info may be NULL; it is filled as far as the reading got, on failure too. */
TX_API int tx_midi_read(const uint8_t *data, size_t len, const char *name, tx_score **out,
                        tx_midi_info *info, tx_error *err);
/* Reads a file (at most TX_MIDI_MAX_FILE bytes, else TX_ELIMIT) and parses it as above, with the
 * path as the name in messages. */
TX_API int tx_midi_read_file(const char *path, tx_score **out, tx_midi_info *info, tx_error *err);

/* Writes s as SMF type 1 through libsmf, atomically (a temporary file beside path, fsync, rename; on
 * failure path is untouched and no temporary file remains). s must pass tx_score_check() and is not
 * changed. The first chunk is a conductor (the "title" as its name, tempos, signatures, texts of no
 * track), then one chunk per score track with its program change at tick 0. Zero-length notes stay
 * zero-length. Not kept: channel -1 (a free channel is assigned, never 9 unless drums; drums always
 * go to 9), modes other than major and minor, texts over 127 bytes (cut: libsmf's limit), metadata
 * other than the title, the pickup and note flags; tracks without notes read back as none. */
TX_API int tx_midi_write_file(const tx_score *s, const char *path, tx_error *err);

#endif
