/* analyze.h: music analysis on the score model: the key (pitch-class profiles) and local keys, chords
 * on onset slices (chordify) with roman numerals, cadences at phrase ends, voice-leading findings
 * between tracks, and descriptive statistics (MusPy-style metrics), with one JSON form shared by
 * `tactus analyze --json` and other fronts.
 *
 * This is not a full harmonic grammar: roman numerals are read against the local key in force at each
 * chord (no pivot chords; tonicization only as secondary dominants and leading-tone chords; the
 * cadential 6/4, the augmented sixths and the diminished sevenths' roots are the only labels read
 * from context or from the exact pitch-class set), phrases are found from rests only, chord symbols
 * (ABC "Am7") are compared with the notes' triad by root and major/minor only, and surprisal (which
 * needs a model) is not here. Drum tracks and grace notes are left out of
 * every analysis. Voices are the score's tracks.
 *
 * Ownership: tx_analyze() gives the caller a tx_analysis to free with tx_analysis_free(); functions
 * that return arrays say so (the caller frees them with tx_free); the key functions fill caller-owned
 * structs and allocate nothing.
 */
#ifndef TX_ANALYZE_H
#define TX_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"
#include "score.h"

/* ---- key ---- */

/* Key profiles. The five published ones, then the ensemble (each key scored by a weighted mean of
 * the profiles' correlations: Krumhansl-Kessler 1, Aarden-Essen 2, Simple 2, Bellman-Budge 0,
 * Temperley-Kostka-Payne 1), the default because it beat Aarden-Essen on both POP909 and the ABC
 * corpora (0.877 and 0.808 exact against 0.868 and 0.746; see analyze.c, "Choosing the default"). */
enum tx_key_profile {
    TX_KEY_KRUMHANSL_KESSLER = 0,
    TX_KEY_AARDEN_ESSEN,
    TX_KEY_SIMPLE,
    TX_KEY_BELLMAN_BUDGE,
    TX_KEY_TEMPERLEY_KOSTKA_PAYNE,
    TX_KEY_ENSEMBLE,
    TX_KEY_NPROFILES
};
#define TX_KEY_DEFAULT TX_KEY_ENSEMBLE
#define TX_KEY_RUNNERS_UP 4

typedef struct tx_key_candidate {
    int tonic;            /* pitch class 0..11 (0 = C) */
    int mode;             /* TX_MODE_MAJOR or TX_MODE_MINOR */
    double correlation;   /* Pearson r with the profile rotated to this key (ensemble: the mean r) */
} tx_key_candidate;

typedef struct tx_key_result {
    int found;                          /* 0 when the score has no pitched notes (the rest is zero) */
    int profile;                        /* enum tx_key_profile */
    tx_key_candidate best;
    tx_key_candidate runners_up[TX_KEY_RUNNERS_UP];   /* the next best keys, best first */
    double histogram[12];               /* duration-weighted pitch classes, in quarter notes */
} tx_key_result;

/* "krumhansl-kessler", "aarden-essen", "simple", "bellman-budge", "temperley-kostka-payne",
 * "ensemble". */
TX_API const char *tx_key_profile_name(int profile);
/* The profile named (the names above), or -1. */
TX_API int tx_key_profile_from_name(const char *name);
/* The profile's 12 weights for mode (major or minor), tonic first. NULL for the ensemble. */
TX_API const double *tx_key_profile_weights(int profile, int mode);
/* Duration-weighted pitch-class histogram, in quarter notes (drums and grace notes left out; a note
 * of zero length counts as a sixteenth). */
TX_API void tx_analyze_pc_histogram(const tx_score *s, double hist[12]);
/* Correlates a histogram with the 24 keys of a profile. TX_EINVAL for an unknown profile. */
TX_API int tx_key_from_histogram(const double hist[12], int profile, tx_key_result *out);
/* The key of a score: tx_analyze_pc_histogram, then tx_key_from_histogram. */
TX_API int tx_analyze_key(const tx_score *s, int profile, tx_key_result *out);
/* The conventional spelling of a key's tonic ("F#" in major, "Bb" ...; "Db" major but "C#" minor). */
TX_API const char *tx_key_tonic_name(int tonic, int mode);
/* MIREX key score of a guess against a reference (both major or minor): 1 same key, 0.5 the guess a
 * fifth above in the same mode, 0.3 relative, 0.2 parallel, else 0. */
TX_API double tx_key_mirex_score(int ref_tonic, int ref_mode, int tonic, int mode);

/* Local keys: the key of each bar from the window of `window_bars` bars around it (centred, kept
 * whole inside the piece at its edges), consecutive bars of one key merged into a segment. A new key
 * takes over only on clear evidence: its window must correlate with it at least 0.05 better than with
 * the key in force, and the next bar's window must name it too; otherwise the bar keeps the key in
 * force (so a short tonicization, or a window that mixes two keys, does not make a segment). */
typedef struct tx_key_segment {
    int64_t first_bar, last_bar;  /* 0-based, inclusive */
    tx_tick start, end;           /* ticks of the segment's first bar start and last bar end */
    int tonic, mode;
    double correlation;           /* the mean over the segment's bars */
} tx_key_segment;

/* Caller frees *out with tx_free. window_bars < 1 reads as 8. Bars without notes take the key of the
 * window around them when it has notes, else join the segment before them. */
TX_API int tx_analyze_local_keys(const tx_score *s, int profile, int window_bars, tx_key_segment **out,
                                 size_t *n, tx_error *err);

/* ---- chords ---- */

enum tx_chord_quality {
    TX_CHORD_MAJOR = 0, TX_CHORD_MINOR, TX_CHORD_DIMINISHED, TX_CHORD_AUGMENTED,
    TX_CHORD_DOMINANT7, TX_CHORD_MAJOR7, TX_CHORD_MINOR7, TX_CHORD_HALF_DIMINISHED7,
    TX_CHORD_DIMINISHED7, TX_CHORD_MINOR_MAJOR7, TX_CHORD_SUS2, TX_CHORD_SUS4, TX_CHORD_MAJOR6,
    TX_CHORD_MINOR6, TX_CHORD_DOMINANT9, TX_CHORD_MAJOR9, TX_CHORD_MINOR9,
    TX_CHORD_POWER,               /* root and fifth only ("A5") */
    TX_CHORD_NQUALITIES
};

typedef struct tx_chord {
    tx_tick onset;        /* the slice where this chord starts (consecutive equal slices are merged) */
    tx_tick end;          /* where the next chord, or silence, begins */
    int root;             /* pitch class */
    int quality;          /* enum tx_chord_quality */
    int bass;             /* pitch class of the lowest sounding note */
    int inversion;        /* 0 root position, 1 third, 2 fifth, 3 seventh in the bass; -1 another tone */
    int n_pitches;        /* distinct pitch classes sounding */
    char name[24];        /* "C", "Am7", "G7/B", "F#dim", "Bbsus4" ... */
    char roman[24];       /* against key_tonic / key_mode, the local key ("V65", "ii6", "V7/V", "N6",
                             "Cad64", "Ger65"); tx_analyze fills it, "" elsewhere */
    unsigned pcs;         /* the pitch classes sounding where the chord starts, a bit per class (the
                             augmented sixths are told apart by them); 0 when unknown */
    int key_tonic;        /* the key roman is read in (pitch class), -1 when none (tx_chord_identify) */
    int key_mode;         /* TX_MODE_MAJOR or TX_MODE_MINOR, -1 when none */
} tx_chord;

/* "major", "minor", "diminished", ... */
TX_API const char *tx_chord_quality_name(int quality);
/* The intervals above the root, a bit per semitone (bit 0 is the root). */
TX_API unsigned tx_chord_quality_mask(int quality);
/* Names a pitch-class set (bit pc set for each class present) over a bass pitch class. Returns 0 and
 * fills *out (onset, end and roman left alone; pcs set to the set; key_tonic and key_mode -1), or -1
 * when fewer than two classes sound or nothing fits. */
TX_API int tx_chord_identify(unsigned pc_mask, int bass, tx_chord *out);
/* Rewrites c->name with the spelling of a key (sharps in sharp keys, flats in flat keys; G# in A
 * minor); key_tonic -1 gives the spelling without a key (sharps, but Eb, Ab and Bb).
 * tx_analyze() spells its chords in the key it found. */
TX_API void tx_chord_spell(tx_chord *c, int key_tonic, int key_mode);
/* The roman numeral of c in a key (tonic pitch class, TX_MODE_MAJOR or TX_MODE_MINOR) into buf (at
 * least 24 bytes): case from the chord's third, o / + / M / ø (UTF-8) for diminished, augmented,
 * major-seventh and half-diminished chords, figured-bass inversions (6, 64; 7, 65, 43, 42),
 * secondary dominants and leading-tone chords of diatonic degrees (V/V, V7/V, viio/V, viio7/V,
 * viiø7/V; not of a diminished triad), the Neapolitan (N6), b / # for other chromatic roots; minor
 * keys read against harmonic minor plus the subtonic. A diminished seventh has four possible roots:
 * the key's leading tone when it is one of them, else the one whose target is a diatonic degree
 * (V first, then the bass, then IV / iv, ii, vi / VI, iii / III in that order); a minor sixth chord
 * that is also a half-diminished seventh (Am6/F# = F#ø7) is read as the seventh chord when that is
 * diatonic (viiø7 in major, iiø7 in minor) or a secondary leading-tone chord.
 * The augmented sixths are named as music21 and RomanText name them, from c->pcs (exactly these
 * classes, doublings aside): It (b6 1 #4), Fr (b6 1 2 #4), Ger (b6 1 b3 #4), with the figures of
 * the triad or seventh chord they are inversions of (root #4 for It and Ger, 2 for Fr): "It6",
 * "Fr43", "Ger65" with the flat sixth in the bass, and "It", "It64"; "Fr7", "Fr65", "Fr42"; "Ger7",
 * "Ger43", "Ger42" with another bass. Pitch classes cannot tell Ger65 from V7/bII over the same
 * bass: both read as Ger65. The cadential 6/4 needs the next chord: tx_analyze_romans.
 * "" when mode is neither major nor minor. */
TX_API const char *tx_chord_roman(const tx_chord *c, int tonic, int mode, char *buf);
/* Fills the roman member of chords[0..n) in a key (tx_chord_roman; key_tonic and key_mode set to it),
 * then names each cadential 6/4 "Cad64", as music21 and RomanText do: a tonic triad (I or i) in second
 * inversion, the fifth degree in the bass, followed at once by V or V7 over the same bass note class
 * (the V keeps its "V" or "V7"). A diminished seventh followed at once by a chord takes the root that
 * leads a semitone up to that chord's root, when one does (C#o7 before F in C: viio7/IV). A mode other
 * than major or minor leaves every roman "". */
TX_API void tx_analyze_romans(tx_chord *chords, size_t n, int tonic, int mode);
/* The same against local keys: each chord in the key of the segment (tx_analyze_local_keys) that holds
 * its onset; chords before the first segment, or all of them without segments, in tonic / mode. */
TX_API void tx_analyze_romans_local(tx_chord *chords, size_t n, const tx_key_segment *keys, size_t n_keys,
                                    int tonic, int mode);
/* Chords on every onset slice of s (the notes sounding at each onset), merged where consecutive slices
 * give the same chord. A slice of one or two pitch classes that all belong to the chord before it
 * (sounding until at most a quarter note earlier) continues that chord, so broken chords and
 * arpeggios keep their harmony; other slices of one pitch class give no chord. Names use the plain
 * spelling (tx_chord_spell with no key). Caller frees *out with tx_free. */
TX_API int tx_analyze_chords(const tx_score *s, tx_chord **out, size_t *n, tx_error *err);

/* ---- chord symbols ---- */

/* MIREX "majmin" classes of a chord: what the chord-symbol comparison counts. */
enum { TX_MAJMIN_OTHER = -1, TX_MAJMIN_MAJOR = 0, TX_MAJMIN_MINOR = 1 };

typedef struct tx_chord_symbol {
    int root;             /* pitch class */
    int quality;          /* enum tx_chord_quality: the nearest (C7b9 is a dominant ninth, Cm11 a minor
                             ninth, C+7 and Cdim(maj7) are augmented and diminished) */
    int bass;             /* pitch class after a slash ("G/B"), else -1 */
    int majmin;           /* TX_MAJMIN_MAJOR (major third and a perfect fifth or none: C, C7, Cmaj7, C6,
                             C9, C7b9), TX_MAJMIN_MINOR (Cm, Cm7, Cm6, Cm9, Cm(maj7)), else
                             TX_MAJMIN_OTHER (dim, aug, sus, m7b5, power chords) */
} tx_chord_symbol;

/* Parses a chord symbol: an optional pair of parentheses around it (an optional chord, "(E7)"); a root
 * A-G with #, b, or the Nottingham + / - after it; a quality: nothing (major), m min mi - (minor),
 * dim o d (diminished; "d" as the Nottingham set writes it), aug + a (augmented), sus2, sus4, sus, 5,
 * 6, 69, 7, 9, 11, 13, maj7 M7 ma7 j7 (and 9, 13), m6, m7, m9, m11, mmaj7 m(maj7), m7b5 m7-5 ø ø7,
 * dim7 o7 d7, aug7 +7, 7sus4, add9 add2 add4, and alterations b5 #5 -5 +5 b9 #9 #11 b13 (also in
 * parentheses); then an optional slash bass in either case ("G/b", "D/f+" as Nottingham writes F#).
 * Leading and trailing blanks are allowed. Returns 0, or -1 for anything else (out untouched), and
 * never reads past the terminating NUL. */
TX_API int tx_chord_symbol_parse(const char *text, tx_chord_symbol *out);

/* One chord symbol of the score compared with its notes. */
typedef struct tx_symbol_match {
    tx_tick tick, end;    /* the span: to the next chord symbol of the same track, or the last note's end */
    const char *text;     /* borrowed from the score */
    int understood;       /* tx_chord_symbol_parse succeeded */
    tx_chord_symbol sym;
    int heard_root;       /* the major or minor triad that the span's notes fit best; -1 when the span */
    int heard_majmin;     /* has no notes */
    int compared;         /* understood, majmin-comparable (major or minor) and heard */
    int agree;            /* compared, and root and class are equal */
} tx_symbol_match;

typedef struct tx_symbol_report {
    size_t read;          /* chord-symbol texts (TX_TEXT_CHORD) */
    size_t not_understood;
    size_t compared, agreed;
    double agreement;     /* agreed / compared, 0 when none compared */
    tx_symbol_match *items; size_t n_items;   /* in tick order; the caller frees items with tx_free */
} tx_symbol_report;

/* Compares each chord symbol of s with the notes of its span, MIREX majmin style: the symbol reduced to
 * root and major / minor (symbols of another class are read but not compared; the slash bass does not
 * count), the notes reduced to the major or minor triad that fits them best: each note's time inside
 * the span, doubled for a note that starts on a beat, summed per pitch class; each of the 24 triads
 * scores the weight of its three classes less half the weight outside them, with a bonus of a fifth
 * of the span's weight for I, IV and V of the key of the whole score (and a tie-break for its other
 * diatonic triads; the root's weight breaks exact ties). On the Nottingham set the symbols agree with
 * their melodies so reckoned 0.673 of the time (weights chosen on that set; see analyze.c). A melody
 * alone often leaves the harmony open, so the agreement of a melody with its symbols is a lower bound
 * on the symbols' correctness, not a measure of it. */
TX_API int tx_analyze_chord_symbols(const tx_score *s, tx_symbol_report *out, tx_error *err);

/* ---- cadences ---- */

enum tx_cadence_kind {
    TX_CADENCE_PERFECT_AUTHENTIC = 0,   /* V(7) to I, both in root position, the tonic on top */
    TX_CADENCE_IMPERFECT_AUTHENTIC,     /* V(7) or viio to I otherwise */
    TX_CADENCE_HALF,                    /* ending on V */
    TX_CADENCE_DECEPTIVE,               /* V(7) to vi (VI in minor) */
    TX_CADENCE_PLAGAL,                  /* IV (iv) to I */
    TX_CADENCE_NKINDS
};

typedef struct tx_cadence {
    int kind;             /* enum tx_cadence_kind */
    tx_tick tick;         /* where the final chord starts */
    size_t chord;         /* index of the final chord */
} tx_cadence;

/* "perfect authentic", "imperfect authentic", "half", "deceptive", "plagal". */
TX_API const char *tx_cadence_kind_name(int kind);
/* Cadences at phrase ends, each in the key of its final chord (key_tonic / key_mode, the local key
 * tx_analyze_romans_local gave it) or, for a chord without one, in tonic / mode: a phrase ends at the last chord (when it lasts to the end of the
 * notes) and at each chord followed by a quarter note or more without a chord (rests, or single
 * notes outside it: the only phrase marks MIDI and ABC reliably carry). The top voice
 * of the final chord is the highest note sounding at its onset. Caller frees *out with tx_free. */
TX_API int tx_analyze_cadences(const tx_score *s, const tx_chord *chords, size_t n_chords, int tonic, int mode,
                               tx_cadence **out, size_t *n, tx_error *err);

/* ---- voice leading ---- */

enum tx_vl_kind {
    TX_VL_PARALLEL_FIFTH = 0,     /* both voices move the same way from a fifth to a fifth */
    TX_VL_PARALLEL_OCTAVE,        /* ... from an octave (or unison) to an octave (or unison) */
    TX_VL_CONTRARY_FIFTH,         /* fifth to fifth with the voices moving in opposite directions */
    TX_VL_CONTRARY_OCTAVE,
    TX_VL_HIDDEN_FIFTH,           /* outer voices: same direction into a fifth, the upper one leaping */
    TX_VL_HIDDEN_OCTAVE,
    TX_VL_CROSSING,               /* a voice goes below the voice under it (voices ordered by mean pitch) */
    /* Added later; the kinds above keep their numbers. */
    TX_VL_OVERLAP,                /* adjacent voices, not crossed: one moves above the previous pitch of
                                     the voice above it, or below the previous pitch of the voice below */
    TX_VL_SPACING,                /* more than an octave between adjacent voices, the lowest pair (tenor
                                     and bass in four parts) left out; once where it begins */
    TX_VL_RANGE,                  /* four voices only: a note outside the voice's range (soprano C4-G5,
                                     alto G3-C5, tenor C3-G4, bass E2-C4); once per excursion */
    TX_VL_UNRESOLVED_LEADING_TONE,/* V, V7 or viio(7) to I (minor: i or I) of the local key: the voice
                                     on the leading tone at the change does not rise a semitone to the
                                     tonic (an inner voice may fall a major third to the fifth instead) */
    TX_VL_UNRESOLVED_SEVENTH,     /* a seventh chord followed by a chord on another root: the voice on the
                                     chordal seventh does not fall by step or stay (a suspension) */
    TX_VL_NKINDS
};

/* Intervals are counted in semitones modulo 12 (7: fifth, 0: octave or unison), as on a sixteenth
 * grid; a move counts only where both voices change pitch, and both must sound before and after.
 * Range, leading-tone and seventh findings name one voice: voice_b, from_b and to_b are -1. */
typedef struct tx_vl_finding {
    int kind;             /* enum tx_vl_kind */
    tx_tick tick;         /* where the second sonority starts (range: the note out of range) */
    int voice_a, voice_b; /* track indices; a is the upper voice; b -1 for one-voice kinds */
    int from_a, from_b, to_a, to_b;   /* the pitches before and after (-1: none, or not sounding) */
    int low, high;        /* TX_VL_RANGE: the voice's range as MIDI keys; -1 for other kinds */
} tx_vl_finding;

typedef struct tx_vl_result {
    tx_vl_finding *findings; size_t n_findings;
    size_t counts[TX_VL_NKINDS];
} tx_vl_result;

/* "parallel fifth", "parallel octave", "contrary fifth", "contrary octave", "hidden fifth",
 * "hidden octave", "voice crossing", "voice overlap", "spacing", "range", "unresolved leading tone",
 * "unresolved seventh". */
TX_API const char *tx_vl_kind_name(int kind);
/* Voice-leading findings between every pair of non-drum tracks that have notes; each track is read as
 * one line (its highest sounding note), voices ordered by mean pitch (in four parts: soprano, alto,
 * tenor, bass). The leading-tone and seventh rules read the chords of tx_analyze_chords and the local
 * keys of tx_analyze_local_keys (default profile, 8 bars). Caller frees out->findings with tx_free. */
TX_API int tx_analyze_voice_leading(const tx_score *s, tx_vl_result *out, tx_error *err);

/* ---- statistics ---- */

typedef struct tx_stats {
    size_t n_notes;               /* pitched notes (drums and grace notes left out) */
    int pitch_min, pitch_max;     /* ambitus; -1 without notes */
    int pitch_range;              /* pitch_max - pitch_min (MusPy pitch_range) */
    int pitch_classes_used;       /* MusPy n_pitch_classes_used */
    double pc_histogram[12];      /* note counts per pitch class, normalized to sum 1 */
    double polyphony;             /* mean number of sounding notes where at least one sounds */
    double polyphony_rate;        /* share of the time (to the last note's end) with two or more sounding */
    double scale_consistency;     /* largest share of notes inside one major or minor scale */
    double pitch_entropy;         /* bits, over the 128 MIDI pitches (note counts) */
    double pitch_class_entropy;   /* bits, over the 12 pitch classes */
    double empty_beat_rate;       /* share of quarter-note beats with no note sounding */
    double groove_consistency;    /* 1 - mean Hamming distance between the onset patterns (in ticks) of
                                     neighbouring bars that both hold notes, over the bar length */
    double seconds;               /* to the last note's end */
    int64_t bars;
    double notes_per_second, notes_per_bar;
    double tempo_bpm;             /* the first tempo (120 when none) */
    double tempo_min_bpm, tempo_max_bpm;
    int meter_num, meter_den;     /* the first time signature (4/4 when none) */
} tx_stats;

TX_API int tx_analyze_stats(const tx_score *s, tx_stats *out, tx_error *err);

/* ---- everything at once ---- */

typedef struct tx_analyze_options {
    int profile;                  /* enum tx_key_profile; TX_KEY_DEFAULT */
    int chords;                   /* include chords (1) */
    int voice_leading;            /* include voice leading (1) */
    int local_key_bars;           /* window of the local keys in bars (8); 0 leaves them out (and roman
                                     numerals are read in the global key) */
    int chord_symbols;            /* compare the score's chord symbols with its notes (1) */
} tx_analyze_options;

TX_API void tx_analyze_options_init(tx_analyze_options *o);

typedef struct tx_analysis {
    tx_key_result key;
    tx_key_segment *local_keys; size_t n_local_keys;
    tx_chord *chords; size_t n_chords;
    tx_cadence *cadences; size_t n_cadences;   /* each in its final chord's local key; with chords only */
    tx_symbol_report symbols;     /* chord symbols against the notes (all zero without them) */
    tx_vl_result vl;
    tx_stats stats;
} tx_analysis;

/* Analyzes s (opt NULL: defaults). Caller frees *out with tx_analysis_free. */
TX_API int tx_analyze(const tx_score *s, const tx_analyze_options *opt, tx_analysis **out, tx_error *err);
TX_API void tx_analysis_free(tx_analysis *a);
/* Appends the analysis as JSON members (no braces: `"key": {...}, "chords": [...], ...`), so a front
 * can put its own members (file, tune) around them. s gives bar:beat places and spellings. */
TX_API int tx_analysis_json(const tx_analysis *a, const tx_score *s, tx_buf *b);
/* A key as RomanText writes it before a numeral: the tonic's name, capital for major ("G", "Bb"),
 * small for minor ("g", "f#"), into buf (at least 8 bytes). */
TX_API const char *tx_analyze_key_label(int tonic, int mode, char *buf);
/* "bar:beat" (both 1-based; a fractional beat as 2.5) of tick into buf (at least 48 bytes). */
TX_API const char *tx_analyze_place(const tx_score *s, tx_tick tick, char *buf);

#endif
