/* score.h: the score model, the hub every format converts to and from.
 *
 * A tx_score is a performance: time in integer ticks at a resolution (ticks per quarter note), tracks,
 * one flat array of notes sorted by onset then pitch, tempo / time-signature / key-signature maps, text
 * events (chord symbols, lyrics, markers, annotations), and metadata. The arrays are plain structs that
 * tools read directly; writers go through tx_score_add_*() and finish with tx_score_sort().
 * Bars and beats are derived from the time-signature map by one function, tx_score_locate().
 *
 * Ownership: tx_score_new() returns a score the caller frees with tx_score_free(); every string in it
 * (track names, texts, metadata) belongs to the score's arena and lives as long as the score.
 */
#ifndef TX_SCORE_H
#define TX_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"

typedef int64_t tx_tick;

#define TX_DEFAULT_TEMPO 500000   /* microseconds per quarter: 120 bpm, as MIDI assumes */
#define TX_MAX_TRACKS 65535
#define TX_MAX_TPQ 32767          /* the largest metrical division an SMF header can state */

enum tx_note_flag {
    TX_NOTE_GRACE = 1 << 0,       /* an ornamental grace note (ABC {g}) */
    TX_NOTE_TIED = 1 << 1,        /* written as two or more tied notes */
};

typedef struct tx_note {
    tx_tick onset;                /* ticks from the start */
    tx_tick duration;             /* ticks, >= 0 */
    uint8_t pitch;                /* MIDI key number 0..127 */
    uint8_t velocity;             /* 1..127 */
    uint16_t track;               /* index into tx_score.tracks */
    uint32_t flags;               /* tx_note_flag bits */
    uint32_t seq;                 /* order of appearance in the source (MIDI: note-on order; builders:
                                     the order tx_score_add_note was called). Canonical order ignores
                                     it except to break full ties; tokenizers that must keep a source
                                     order at one onset (MidiTok keeps note-on order) sort by it. */
} tx_note;

typedef struct tx_track {
    const char *name;             /* "" when none */
    int program;                  /* General MIDI program 0..127 */
    int channel;                  /* MIDI channel 0..15, or -1 when the source had none */
    int is_drum;                  /* percussion (MIDI channel 10) */
} tx_track;

typedef struct tx_tempo {
    tx_tick tick;
    uint32_t usec_per_quarter;    /* 1..16777215, the SMF range */
} tx_tempo;

typedef struct tx_timesig {
    tx_tick tick;
    int num;                      /* 1..255 */
    int den;                      /* a power of two, 1..128 */
} tx_timesig;

enum tx_mode {
    TX_MODE_MAJOR = 0, TX_MODE_MINOR, TX_MODE_IONIAN, TX_MODE_DORIAN, TX_MODE_PHRYGIAN,
    TX_MODE_LYDIAN, TX_MODE_MIXOLYDIAN, TX_MODE_AEOLIAN, TX_MODE_LOCRIAN, TX_MODE_NONE,
    TX_NMODES
};

typedef struct tx_keysig {
    tx_tick tick;
    int fifths;                   /* sharps (> 0) or flats (< 0) of the signature, -7..7 */
    int mode;                     /* enum tx_mode; TX_MODE_NONE for ABC K:none */
} tx_keysig;

enum tx_text_kind {
    TX_TEXT_TEXT = 0, TX_TEXT_COPYRIGHT, TX_TEXT_LYRIC, TX_TEXT_MARKER, TX_TEXT_CUE,
    TX_TEXT_INSTRUMENT, TX_TEXT_CHORD, TX_TEXT_ANNOTATION, TX_NTEXTS
};

typedef struct tx_text {
    tx_tick tick;
    int track;                    /* owning track, or -1 for the whole score */
    int kind;                     /* enum tx_text_kind */
    const char *text;
} tx_text;

typedef struct tx_meta {
    const char *key;              /* "title", "composer", or a format's own field ("abc:O", ...) */
    const char *value;
} tx_meta;

typedef struct tx_score {
    int tpq;                      /* ticks per quarter note, 1..TX_MAX_TPQ */
    tx_tick pickup;               /* length of an anacrusis before the first full bar, 0 if none */
    tx_note *notes;     size_t n_notes, cap_notes;
    tx_track *tracks;   size_t n_tracks, cap_tracks;
    tx_tempo *tempos;   size_t n_tempos, cap_tempos;
    tx_timesig *timesigs; size_t n_timesigs, cap_timesigs;
    tx_keysig *keysigs; size_t n_keysigs, cap_keysigs;
    tx_text *texts;     size_t n_texts, cap_texts;
    tx_meta *meta;      size_t n_meta, cap_meta;
    tx_arena arena;               /* strings */
} tx_score;

/* A new empty score at tpq ticks per quarter (clamped into 1..TX_MAX_TPQ); NULL when out of memory. */
TX_API tx_score *tx_score_new(int tpq);
TX_API void tx_score_free(tx_score *s);

/* Builders. Each returns TX_OK, TX_ENOMEM, or TX_EINVAL for a value out of its documented range.
 * They append; call tx_score_sort() once the score is complete. */
TX_API int tx_score_add_track(tx_score *s, const char *name, int program, int channel, int is_drum,
                              int *index);
TX_API int tx_score_add_note(tx_score *s, tx_tick onset, tx_tick duration, int pitch, int velocity,
                             int track, unsigned flags);
TX_API int tx_score_add_tempo(tx_score *s, tx_tick tick, uint32_t usec_per_quarter);
TX_API int tx_score_add_timesig(tx_score *s, tx_tick tick, int num, int den);
TX_API int tx_score_add_keysig(tx_score *s, tx_tick tick, int fifths, int mode);
TX_API int tx_score_add_text(tx_score *s, tx_tick tick, int track, int kind, const char *text);
/* Sets (or replaces) a metadata value; the strings are copied. */
TX_API int tx_score_set_meta(tx_score *s, const char *key, const char *value);
/* Borrowed; NULL when absent. */
TX_API const char *tx_score_meta(const tx_score *s, const char *key);

/* Puts every array in canonical order: notes by (onset, pitch, track, duration, velocity, flags,
 * seq); maps and texts by tick, stable. Of several tempo / time / key signatures at one tick, the
 * last one written wins and the others are removed. */
TX_API int tx_score_sort(tx_score *s);

/* Checks the invariants (ranges, track indices, order); TX_EINVAL with a message when one fails. */
TX_API int tx_score_check(const tx_score *s, tx_error *err);

/* The tick where the last note ends (0 for a score without notes). */
TX_API tx_tick tx_score_end_tick(const tx_score *s);
/* Seconds from the start to tick, through the tempo map. */
TX_API double tx_score_seconds(const tx_score *s, tx_tick tick);
/* Tempo in force at tick, microseconds per quarter. */
TX_API uint32_t tx_score_tempo_at(const tx_score *s, tx_tick tick);
/* Changes the resolution, rounding every tick to the nearest new tick (halves away from zero);
 * a note with a positive duration keeps at least one tick. */
TX_API int tx_score_resample(tx_score *s, int tpq);

/* ---- bars and beats ---- */

typedef struct tx_barpos {
    int64_t bar;          /* 0-based; a pickup, when there is one, is bar 0 */
    tx_tick bar_start;    /* where the bar starts; for a pickup bar, where it would start if complete
                             (so it may be negative) */
    tx_tick bar_length;   /* ticks of a complete bar in this signature */
    tx_tick offset;       /* tick - bar_start */
    int beat;             /* 0-based beat in the bar, counted in the signature's denominator */
    tx_tick beat_ticks;   /* ticks per beat (one denominator note) */
    tx_tick beat_offset;  /* offset - beat * beat_ticks */
    int num, den;         /* signature in force (4/4 when the score has none) */
} tx_barpos;

/* Maps tick (>= 0) to bar, beat and position through the time-signature map. Bars restart at every
 * signature change; a change that falls inside a bar cuts that bar short. A pickup shifts the grid of
 * the first signature. Bar lengths that are not whole ticks round down. */
TX_API void tx_score_locate(const tx_score *s, tx_tick tick, tx_barpos *out);
/* The tick where bar `bar` starts (bar 0 starts at 0). */
TX_API tx_tick tx_score_bar_tick(const tx_score *s, int64_t bar);
/* Number of bars that hold the score's notes (0 for an empty score). */
TX_API int64_t tx_score_bar_count(const tx_score *s);

/* ---- names ---- */

/* "C", "C#", ... for a pitch class with the spelling a key signature implies (flats when fifths < 0). */
TX_API const char *tx_pitch_class_name(int pc, int fifths);
/* "C4" style name of a MIDI key (middle C = 60 = C4) into buf (at least 16 bytes). */
TX_API const char *tx_pitch_name(int pitch, int fifths, char *buf);
/* "major", "minor", "dorian", ... */
TX_API const char *tx_mode_name(int mode);
/* The tonic pitch class of a signature in a mode (fifths 0: C major, A minor, D dorian, ...). */
TX_API int tx_key_tonic(int fifths, int mode);
/* "G major", "E minor", "D dorian" into buf (at least 24 bytes). */
TX_API const char *tx_key_name(int fifths, int mode, char *buf);
/* "text", "lyric", "chord", ... */
TX_API const char *tx_text_kind_name(int kind);
/* The General MIDI program name of 0..127 ("Acoustic Grand Piano"). */
TX_API const char *tx_gm_program_name(int program);

/* A 64-bit hash of the music alone: the notes' onsets and durations (in quarter notes, so independent of
 * the resolution, and measured from the first onset) and pitches, in canonical order. Velocities,
 * tracks, instruments, texts and metadata don't count, so one piece in two formats or two encodings
 * hashes the same. 0 for a score without notes. */
TX_API uint64_t tx_score_music_hash(const tx_score *s);

/* Compares two scores (resolution, tracks, notes, tempos, time and key signatures). Returns 0 when
 * they agree; otherwise 1, with the first difference described in `why` (when not NULL). */
TX_API int tx_score_diff(const tx_score *a, const tx_score *b, tx_buf *why);

#endif
