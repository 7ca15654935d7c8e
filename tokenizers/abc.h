/* abc.h: ABC 2.1 notation in, as a performance in the score model.
 *
 * tx_abc_parse() reads a whole ABC file (a file header and any number of tunes, each opened by `X:`)
 * and turns every tune into its own tx_score, as abc2midi (abcMIDI) performs it: repeats, endings and
 * the `P:` play order are expanded into performance order, ties are joined, tuplets and broken rhythm
 * applied, the rolls `~` and trills `T` played out as abc2midi plays them, grace notes kept but flagged
 * TX_NOTE_GRACE (they take no time), chord symbols, annotations, decorations and lyrics kept as texts.
 * Each `V:` voice becomes one track, and so does each level of voice overlay (`&`, `(& ... &)`) of a
 * voice, as abc2midi plays it (its track comes after the tracks that exist when it is first used).
 * The written bar structure (bar lines, repeat signs, endings) is
 * kept beside the score in tx_abc_tune.bars.
 *
 * Where abc2midi departs from the ABC 2.1 standard, tactus follows abc2midi by default and offers the
 * standard as an option (tx_abc_options): accidentals carry to every octave of their letter until the
 * bar line (standard: only the octave written); a chord's length is its outer length when written,
 * else its first note's (standard: inner lengths times the outer length); a +: line continues the
 * text fields only (standard: every field); ||: |]: :|: open no repeat and :[| closes none
 * (standard: they do). Text that is not valid ABC is read the way abc2midi repairs it, with a
 * warning (tx_abc_tune.n_warnings): a bar line inside [ ] is read and the chord goes on to its ]
 * (over line ends too; a chord never closed is refused), a P: order with characters abc2midi
 * refuses is ignored; tests/known-abc-differences.md lists these rules.
 *
 * A tune with an error is reported (with line and column: "tune.abc:12:7: message") and skipped; the
 * other tunes are still read. The block at the end declares the writer (tokenizers/abc-write.c); the ABC
 * text tokenizer is tokenizers/abctok.h.
 *
 * Ownership: tx_abc_parse() gives the caller a tx_abc_file to free with tx_abc_file_free(), which frees
 * the scores it still holds; tx_abc_take_score() moves one score out to the caller, who then frees it
 * with tx_score_free().
 */
#ifndef TX_ABC_H
#define TX_ABC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "score.h"

#define TX_ABC_MAX_FILE (64u << 20)    /* files over 64 MiB are refused */
#define TX_ABC_MAX_VOICES 64           /* voices in one tune */
#define TX_ABC_MAX_EVENTS (1u << 20)   /* written notes, rests, bars and texts in one tune */
#define TX_ABC_MAX_NOTES (1u << 21)    /* performed notes in one tune, after repeats and ornaments */
#define TX_ABC_MAX_CHORD 4096          /* notes in one chord [ ] */

typedef struct tx_abc_options {
    int tpq;                   /* ticks per quarter of the scores; 0: 480, abc2midi's resolution.
                                  Times that fall between ticks round down, as abc2midi's do */
    int standard_accidentals;  /* 1: an accidental holds for its octave only (ABC 2.1) */
    int standard_chords;       /* 1: chord notes keep their own lengths times the outer length */
    int written_order;         /* 1: play repeats and endings once, as written, and ignore P: order */
    int standard_continuation; /* 1: a +: line continues any field (ABC 2.1); 0: as abc2midi, only
                                  text fields (T: w: W: ...), not K: L: M: Q: V: P: I: */
    int standard_bars;         /* 1: ||: |]: :|: open a repeat and :[| closes one, as ABC software
                                  generally reads them; 0: as abc2midi, which reads a bar line and
                                  then a colon on its own that it skips */
    long tune;                 /* > 0: read only the tunes with this X: number */
} tx_abc_options;

/* A written bar line. */
enum tx_abc_bar_flag {
    TX_ABC_BAR_SINGLE = 1 << 0,     /* | */
    TX_ABC_BAR_DOUBLE = 1 << 1,     /* || [| */
    TX_ABC_BAR_FINAL = 1 << 2,      /* |] */
    TX_ABC_BAR_REPEAT_START = 1 << 3, /* |: (and the right half of ::) */
    TX_ABC_BAR_REPEAT_END = 1 << 4, /* :| (and the left half of ::) */
};

typedef struct tx_abc_bar {
    int track;                 /* the voice's track */
    tx_tick tick;              /* written position: ticks from the voice's start, repeats not played */
    unsigned flags;            /* tx_abc_bar_flag bits; 0 for an ending that stands alone ([2) */
    unsigned endings;          /* bit n set: an ending numbered n starts here (n 1..31) */
    long line, column;
} tx_abc_bar;

typedef struct tx_abc_tune {
    long number;               /* X: */
    const char *title;         /* first T:, "" when none */
    long line;                 /* line of the X: field */
    size_t offset, length;     /* the tune's bytes in the input */
    int status;                /* TX_OK, or why the tune was skipped */
    tx_error error;            /* the message when status is not TX_OK */
    size_t n_warnings;         /* things ignored, as abc2midi ignores them (unknown characters ...) */
    char first_warning[160];   /* "" when none; place first */
    tx_score *score;           /* NULL when the tune failed or was taken */
    tx_abc_bar *bars;          /* written bar lines, in text order per voice; in the file's arena */
    size_t n_bars;
} tx_abc_tune;

typedef struct tx_abc_file {
    tx_abc_tune *tunes;        /* in file order */
    size_t n_tunes;
    size_t n_failed;           /* tunes whose status is not TX_OK */
    tx_arena arena;
} tx_abc_file;

/* Fills o with the defaults (abc2midi's behaviour, 480 ticks per quarter, every tune). */
TX_API void tx_abc_options_init(tx_abc_options *o);

/* Parses len bytes of ABC text. name is used in messages (a path, or "<stdin>"); opt may be NULL.
 * Returns TX_OK when the text could be read at all (even if some or every tune failed: see
 * tx_abc_tune.status), TX_ENOMEM, TX_ELIMIT for an input over TX_ABC_MAX_FILE, or TX_EINVAL. */
TX_API int tx_abc_parse(const char *text, size_t len, const char *name, const tx_abc_options *opt,
                        tx_abc_file **out, tx_error *err);
/* Reads a file and parses it as above. */
TX_API int tx_abc_parse_file(const char *path, const tx_abc_options *opt, tx_abc_file **out,
                             tx_error *err);
TX_API void tx_abc_file_free(tx_abc_file *f);

/* Moves tune i's score to the caller (who frees it with tx_score_free); NULL when it has none. */
TX_API tx_score *tx_abc_take_score(tx_abc_file *f, size_t i);

/* Convenience: the first tune (or the tune numbered opt->tune) as a score. Fails with that tune's
 * error, or TX_ESYNTAX "no tune" when the text holds none. Caller frees *out with tx_score_free(). */
TX_API int tx_abc_read_tune(const char *text, size_t len, const char *name, const tx_abc_options *opt,
                            tx_score **out, tx_error *err);

/* ---- writing (tokenizers/abc-write.c) ----
 *
 * tx_abc_write() turns a score into the text of one ABC tune: X:, T: (the "title" metadata), M: and K:
 * from the first time and key signatures (K:none when the score has none), an L: that keeps the text
 * short, Q: from the first tempo, then the notes of every track that has any (one V: voice per track
 * when there are several). Bar lines come from tx_score_locate(); notes that cross a bar line, or last
 * a length that one written note cannot show (5/8 ...), are split into tied notes; notes of one track
 * that sound together become chords, with ties inside the chord where their lengths differ; gaps
 * become rests. Accidentals are written against the key signature and the accidentals earlier in the
 * bar, as the reader (abc2midi, or ABC 2.1 with standard_accidentals) applies them. TX_TEXT_CHORD
 * texts become chord symbols ("Am"). Three notes in a row of two thirds of a written length become a
 * triplet ("(3ABc"); other lengths that are not binary fractions of L are written as fractions
 * ("A2/3", "A/5"), not as tuplet groups.
 * Grace notes are written as "{g}" groups before what their voice plays at their onset (four times
 * their length, as the reader plays a quarter of it); lyrics (TX_TEXT_LYRIC) as w: lines under each
 * line of music, one syllable per written note (a syllable inside a note splits it into tied notes;
 * one in a rest goes to the next note that has none). Not written: zero-length notes that are not grace
 * notes, texts other than chord symbols and lyrics, more than one lyric at one tick, tempo changes
 * after the first (in voices other than the first), velocities. Of two overlapping notes of one pitch
 * in one track, the first is cut where the second starts.
 */
typedef struct tx_abc_write_options {
    long number;               /* X: number; <= 0: 1 */
    int grid;                  /* > 0: onsets and ends rounded to 1/grid of a quarter note (performed
                                  MIDI); a note never shrinks below one grid step. 0: exact */
    int unit;                  /* L: 1/unit (1, 2, 4, ..., 64); 0: the one that gives the shortest text */
    int bars_per_line;         /* bars on one line of music; <= 0: 4 */
} tx_abc_write_options;

/* Fills o with the defaults (X:1, no quantization, L: chosen, 4 bars a line). */
TX_API void tx_abc_write_options_init(tx_abc_write_options *o);
/* Appends one tune of ABC text for s to out (o may be NULL for the defaults). s must pass
 * tx_score_check() (TX_EINVAL otherwise); TX_ELIMIT when the score would need more than
 * TX_ABC_MAX_EVENTS bars; TX_ENOMEM. On failure out may hold part of the tune. */
TX_API int tx_abc_write(const tx_score *s, const tx_abc_write_options *o, tx_buf *out, tx_error *err);

#endif
