/* abc-priv.h: what the files of the ABC reader share and nobody else sees: exact fractions, the
 * written form of a tune (events per voice), the reading context, and the functions that cross files.
 * abc.c reads text into the written form; abc-perf.c plays the written form into notes. Not part of
 * the public API (tokenizers/abc.h is), and hidden from the shared library.
 * Ownership: every array here is tx_malloc'd by the reader and freed, or kept for reuse, per tune.
 */
#ifndef TX_ABC_PRIV_H
#define TX_ABC_PRIV_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <string.h>

#include "abc.h"
#include "memory.h"
#include "score.h"

/* ---- exact fractions ---- */

/* Lengths and times are fractions of a whole note. Numerators and denominators stay below 2^40, far
 * beyond any real tune; a tune whose arithmetic leaves that range fails with TX_ELIMIT instead of
 * overflowing. */
typedef struct rat {
    int64_t n, d;
} rat;

#define RAT_LIMIT ((int64_t)1 << 40)

static inline int64_t gcd64(int64_t a, int64_t b)
{
    if (a < 0)
        a = -a;
    if (b < 0)
        b = -b;
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Set when a fraction leaves the range; reset per tune. Thread-local so that threads parse apart.
 * Defined in abc.c. */
extern _Thread_local int tx_abc_rat_overflow;

static inline rat rat_make(int64_t n, int64_t d)
{
    rat r = {0, 1};
    if (d == 0) {
        tx_abc_rat_overflow = 1;
        return r;
    }
    if (d < 0) {
        n = -n;
        d = -d;
    }
    int64_t g = gcd64(n, d);
    if (g > 1) {
        n /= g;
        d /= g;
    }
    if (n > RAT_LIMIT || n < -RAT_LIMIT || d > RAT_LIMIT) {
        tx_abc_rat_overflow = 1;
        return r;
    }
    r.n = n;
    r.d = d;
    return r;
}

/* Products through a 128-bit intermediate, reduced before they are narrowed. */
__extension__ typedef __int128 i128;

static inline rat rat_from128(i128 n, i128 d)
{
    rat r = {0, 1};
    if (d == 0) {
        tx_abc_rat_overflow = 1;
        return r;
    }
    i128 a = n < 0 ? -n : n, b = d < 0 ? -d : d;
    while (b) {
        i128 t = a % b;
        a = b;
        b = t;
    }
    if (a > 1) {
        n /= a;
        d /= a;
    }
    if (d < 0) {
        n = -n;
        d = -d;
    }
    if (n > RAT_LIMIT || n < -RAT_LIMIT || d > RAT_LIMIT) {
        tx_abc_rat_overflow = 1;
        return r;
    }
    r.n = (int64_t)n;
    r.d = (int64_t)d;
    return r;
}

/* Values below 2^31 (nearly all) take the 64-bit path; the rest go through 128 bits. */
#define SMALL(x) ((x) < ((int64_t)1 << 31) && (x) > -((int64_t)1 << 31))

static inline rat rat_add(rat a, rat b)
{
    if (a.d == b.d && SMALL(a.n) && SMALL(b.n))
        return rat_make(a.n + b.n, a.d);
    if (SMALL(a.n) && SMALL(b.n) && SMALL(a.d) && SMALL(b.d))
        return rat_make(a.n * b.d + b.n * a.d, a.d * b.d);
    return rat_from128((i128)a.n * b.d + (i128)b.n * a.d, (i128)a.d * b.d);
}

static inline rat rat_sub(rat a, rat b)
{
    b.n = -b.n;
    return rat_add(a, b);
}

static inline rat rat_mul(rat a, rat b)
{
    if (SMALL(a.n) && SMALL(b.n) && SMALL(a.d) && SMALL(b.d))
        return rat_make(a.n * b.n, a.d * b.d);
    return rat_from128((i128)a.n * b.n, (i128)a.d * b.d);
}

static inline rat rat_muli(rat a, int64_t n, int64_t d)
{
    rat b = {n, d};
    return rat_mul(a, b);
}
static inline int rat_cmp(rat a, rat b)
{
    i128 x = (i128)a.n * b.d, y = (i128)b.n * a.d;
    return x < y ? -1 : x > y;
}

/* floor(r * k) for ticks; k is 4 * tpq (a whole note). */
static inline tx_tick rat_floor_ticks(rat r, int64_t k)
{
    if (SMALL(r.n) && SMALL(k)) {
        /* the usual case, in 64 bits: a 128-bit division is a library call (4% of the reading) */
        int64_t x = r.n * k, q = x / r.d;
        if (x % r.d != 0 && x < 0)
            q--;
        return q;
    }
    i128 x = (i128)r.n * k;
    i128 q = x / r.d;
    if (x % r.d != 0 && x < 0)
        q--;
    return (tx_tick)q;
}

/* ---- the written form of a tune ---- */

enum { E_NOTE, E_REST, E_BAR, E_PART, E_TEMPO, E_METER, E_KEY, E_TEXT };

enum {
    DECO_STACCATO = 1 << 0,
    DECO_ROLL = 1 << 1,
    DECO_TRILL = 1 << 2,
};

typedef struct pitch_ent {
    int16_t pitch;         /* MIDI key before transposition; may leave 0..127 */
    uint8_t tie;           /* a tie leaves this note */
    int16_t pline;         /* letter and octave as written (7 * octave + letter) */
    uint8_t absorbed;      /* joined into the note tied to it: plays nothing of its own */
    int32_t root;          /* for an absorbed note, the pool index of the note that sounds */
    rat tlen;              /* length added by the notes tied into this one */
    rat len;               /* this note's own length (standard chords) */
} pitch_ent;

typedef struct ev {
    uint8_t kind;
    uint8_t grace;
    uint8_t chord;         /* written as [ ] (broken rhythm then skips its length check) */
    uint8_t outer;         /* a chord with its length written after the ] */
    uint8_t deco;          /* DECO_* bits */
    uint32_t p0, np;       /* pitches: pool[p0 .. p0 + np) */
    rat len;               /* time taken (0 for grace notes) */
    rat wlen;              /* written length as abc2midi compares it for broken rhythm */
    rat unit;              /* L: when written (rolls scale with it) */
    rat cutf;              /* a roll's cut is unit/4 times this (broken rhythm scales it) */
    int16_t up, down;      /* diatonic neighbours in the key, for rolls and trills */
    int a, b;              /* bar: flags, endings; meter: num, den; key: fifths, mode; tempo: usec;
                              part: label; text: kind */
    const char *text;      /* E_TEXT; lyric of a note */
    long line, col;
} ev;

typedef struct voice {
    char id[32];
    char name[64];
    int track;
    ev *evs;
    size_t n, cap;
    pitch_ent *pool;
    size_t npool, cappool;
    /* state while reading */
    int key_acc[7];        /* semitones per letter C D E F G A B from the key signature */
    int bar_acc[7][12];    /* [letter][octave slot]: accidental in force, or 99 for none */
    int bar_any[7];        /* abc2midi mode: accidental for the letter in any octave, 99 none */
    int fifths, mode;
    int transpose;         /* semitones added on output */
    int octave;            /* K:/V: octave=, in octaves */
    rat unit;              /* L: */
    int mnum, mden;        /* meter (4/4 when none) */
    long last_group;       /* index of the last note or rest group, -1 if none */
    rat broken;            /* factor waiting for the next group; 0/1 when none */
    rat broken_first;      /* the factor given to the group before it */
    long broken_prev;      /* that group */
    int tup_left, tup_p, tup_q;
    int in_chord, in_grace;
    int slur;              /* slurs open: ( read, ) not yet */
    long chord_ev;
    unsigned deco;         /* decorations (!trill! +roll+) waiting for the next note */
    unsigned deco_char;    /* single-character decorations (.~HLMOPSTuv) waiting for the next note:
                              dropped by anything but a note, rest, chord or another of them */
    size_t lyric_from;     /* first event of the last music line */
    int program, channel;
    rat pos, bar_at;       /* written position of the voice, and where its current bar began */
    int hornpipe;          /* R:hornpipe in 2/4 or 4/4: abc2midi swings pairs of short notes */
    long horn_first;       /* a note that may open a hornpipe pair, -1 if none */
    long chord_line, chord_col;
    int chord_rest_first;  /* the open chord began with a rest (abc2midi: its length is the chord's) */
    long chord_bar_line, chord_bar_col; /* the first bar line inside the open chord, 0 if none */
    rat chord_rest;        /* that rest's length */
    size_t nbars;          /* bar events written so far (a parent counts its bars for its overlays) */
    /* voice overlay (&): a parent voice's state */
    int ov_depth;          /* '&' signs since the last bar line: the overlay level being written */
    int ov_paren;          /* inside (& ... &) */
    size_t ov_paren_bar;   /* the parent's bar count where (& was written */
    /* an overlay voice's state (abc2midi plays each overlay level as a voice of its own) */
    int overlay_of;        /* 1 + the parent voice's index; 0 for a voice of the tune */
    int ov_level;          /* 1 for the first '&' of a bar, 2 for the second ... */
    size_t ov_seg;         /* the parent's bar segment the overlay is in (segment k ends at bar k) */
    int ov_visited;        /* the overlay has written music in that segment */
    size_t ov_scan;        /* parent events read by the overlay's synchronisation so far */
    size_t ov_bars;        /* parent bars among them */
    rat ov_pos, ov_seg_start; /* the parent's position there, and where its segment began */
} voice;

/* Buffers kept from one tune to the next, so that a file of many tunes does not allocate per tune. */
typedef struct buf_cache {
    struct {
        void *evs, *pool;
        size_t cap, cappool;
    } v[TX_ABC_MAX_VOICES];
    size_t n;
    void *notes;
    size_t cap_notes;
    void *voices;
    size_t cap_voices;
} buf_cache;

typedef struct tune_ctx {
    const char *name;      /* file name for messages */
    const tx_abc_options *opt;
    tx_error *err;
    int failed;
    size_t n_warnings;
    char *first_warning;   /* tx_abc_tune.first_warning */
    tx_arena *arena;       /* strings that live as long as the tune is being built */
    pcre2_match_data *md;
    buf_cache *cache;
    voice *voices;
    size_t n_voices, cap_voices;
    size_t cur;            /* current voice */
    int in_body;
    int had_key;
    /* header defaults that voices start from */
    int h_key_acc[7], h_fifths, h_mode, h_transpose, h_octave;
    rat h_unit;
    int unit_set;
    int h_mnum, h_mden, meter_set;
    uint32_t tempo;        /* header Q:, microseconds per quarter */
    char play_order[256];  /* P: in the header, expanded to labels */
    tx_score *score;
    const char *title;
    int hornpipe;          /* R: names a hornpipe */
    size_t n_events;       /* events of all voices, against TX_ABC_MAX_EVENTS */
    long tune_line;        /* line of the X: field, for errors without a place of their own */
    int nobarlines;        /* %%MIDI nobarlines: an accidental holds for its own note only */
    int cur_part;          /* the part label (A-Z) the body is in, 0 before any */
    int h_program;         /* %%MIDI program before any voice */
    int ratio_n, ratio_m;  /* %%MIDI ratio: the broken rhythm of > (3:1 when 0) */
} tune_ctx;

/* Whether a group's staccato shortens it: abc2midi halves a chord's notes for a staccato (before the
 * [ or on its first note) only when the chord's length is its first note's, not written after ]. */
static inline int staccato_sounds(const ev *e)
{
    return (e->deco & DECO_STACCATO) && (!e->chord || !e->outer);
}

/* The notes of a performance before they become ticks. */
typedef struct pnote {
    rat onset, len;
    int pitch, track;
    unsigned flags;
} pnote;

typedef struct perf {
    pnote *notes;
    size_t n, cap;
} perf;

/* Records the tune's first error (place first) and marks the tune failed; returns the status. */
int tx_abc_fail(tune_ctx *c, long line, long col, const char *fmt, ...) TX_PRINTF(4, 5);
/* Joins tied notes in written order (abc-perf.c). */
void tx_abc_tie_notes(const tune_ctx *c, voice *v);
/* Plays one voice in performance order into pf (abc-perf.c). */
void tx_abc_play_voice(tune_ctx *c, voice *v, perf *pf, int tpq);

#endif
