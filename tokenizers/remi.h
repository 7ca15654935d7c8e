/* remi.h: the REMI and REMI+ tokenizers, token-identical to MidiTok 3.0.6 (on symusic 0.5.8).
 *
 * REMI writes a score as Bar / Position / [Tempo] / [Program] Pitch Velocity Duration tokens on a grid of
 * `max(beat_res)` positions per beat; REMI+ adds Program tokens before every note, Tempo tokens and
 * TimeSig tokens, with all tracks in one stream. The vocabulary, the token strings, the preprocessing
 * (resampling to the grid, velocity / duration / tempo snapping, time-signature filtering and delaying)
 * and the event order follow MidiTok, so ids made here and ids made by MidiTok with the same
 * configuration are interchangeable. The configuration is read from and written as MidiTok's tokenizer
 * JSON (`tokenizer.save()`), so a MidiTok user can bring theirs.
 *
 * Not here: BPE (tokenizers/bpe), chords, rests, pedals, pitch bends, pitch intervals, attribute
 * controls. A configuration that enables one of those is refused with TX_EUNSUP.
 *
 * Note order: MidiTok tokenizes the notes that share an onset in the order symusic loaded them (the
 * file's NoteOn order). The encoder keeps the order in which the score holds the notes of one track at
 * one onset, so a score that keeps file order gives MidiTok's tokens exactly; a score in the model's
 * canonical order (pitch first, as tx_midi_read() gives it) differs only in the order of such notes.
 *
 * Ownership: tx_remi_new() returns a tokenizer freed with tx_remi_free(); token strings it returns are
 * borrowed and live as long as the tokenizer. A tx_remi_seqs owns its arrays until tx_remi_seqs_free().
 */
#ifndef TX_REMI_H
#define TX_REMI_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"
#include "score.h"

#define TX_REMI_MAX_BEAT_RES 16
#define TX_REMI_MAX_TIMESIGS 64
#define TX_REMI_MAX_SPECIAL 16
#define TX_REMI_MAX_TEMPOS 512

/* MidiTok's TokenizerConfig, the fields REMI uses. Names follow MidiTok's JSON. */
typedef struct tx_remi_config {
    int pitch_lo, pitch_hi;                /* pitch_range, inclusive: 21, 109 */
    int n_beat_res;                        /* beat_res: {(lo, hi): res}, in key order */
    struct { int lo, hi, res; } beat_res[TX_REMI_MAX_BEAT_RES];
    int num_velocities;                    /* 32 */
    int n_special;                         /* special_tokens: "PAD_None", ... */
    char special[TX_REMI_MAX_SPECIAL][32];
    int use_tempos, use_time_signatures, use_programs, one_token_stream, use_pitchdrum_tokens;
    int num_tempos;                        /* 32 */
    double tempo_lo, tempo_hi;             /* tempo_range: 40, 250 */
    int log_tempos;                        /* geometric instead of linear spacing */
    int n_timesigs;                        /* time_signature_range, flattened in MidiTok's order */
    struct { int num, den; } timesigs[TX_REMI_MAX_TIMESIGS];
    int n_programs;                        /* programs, in order (-1 is drums) */
    int programs[129];
    int drums_lo, drums_hi;                /* drums_pitch_range, inclusive: 27, 88 */
    /* Not a MidiTok field: reproduce MidiTok 3.0.6's section indexing when time signatures of
     * different denominators meet (REMI+): it snaps note onsets with section indices taken relative
     * as absolute, and tempo times with tick values taken as indices. Off by default (each onset is
     * snapped in its own section); on, tokens equal MidiTok's also for such files. */
    int compat_miditok_bugs;
} tx_remi_config;

typedef struct tx_remi tx_remi;

/* MidiTok's defaults: `REMI(TokenizerConfig())`. */
TX_API void tx_remi_config_default(tx_remi_config *c);
/* REMI+: defaults plus use_programs, use_tempos, use_time_signatures, one_token_stream. */
TX_API void tx_remi_config_plus(tx_remi_config *c);
/* Parses MidiTok's tokenizer JSON (the whole file, or its "config" object). Fields it does not know
 * are ignored; features tactus does not implement, when enabled, give TX_EUNSUP. `name` is for errors. */
TX_API int tx_remi_config_read(tx_remi_config *c, const char *json, size_t len, const char *name,
                               tx_error *err);
/* Appends the configuration as MidiTok's tokenizer JSON (indent 4, MidiTok's field order). */
TX_API int tx_remi_config_write(const tx_remi_config *c, tx_buf *out);

/* Builds the vocabulary. NULL with err set when the configuration is invalid or memory runs out. */
TX_API tx_remi *tx_remi_new(const tx_remi_config *c, tx_error *err);
TX_API void tx_remi_free(tx_remi *r);
/* Borrowed; valid while r lives. */
TX_API const tx_remi_config *tx_remi_get_config(const tx_remi *r);

/* ---- vocabulary ---- */

TX_API int tx_remi_vocab_size(const tx_remi *r);
/* The string of an id ("Pitch_60"), or NULL when out of range. Borrowed. */
TX_API const char *tx_remi_token(const tx_remi *r, int id);
/* The id of a token string, or -1 when it is not in the vocabulary. */
TX_API int tx_remi_id(const tx_remi *r, const char *token);
/* The id of a token string of n bytes (not NUL-terminated), or -1. */
TX_API int tx_remi_id_n(const tx_remi *r, const char *token, size_t n);

/* ---- encoding ---- */

/* Token sequences: one per kept track (REMI), or one in all (one_token_stream). */
typedef struct tx_remi_seqs {
    int32_t *ids;          /* all sequences, back to back */
    size_t n_ids, cap_ids;
    size_t *starts;        /* n_seqs + 1 offsets into ids */
    int *programs;         /* per sequence: the track's program, -1 for drums (REMI); -1 .. 127 */
    size_t n_seqs, cap_seqs;
} tx_remi_seqs;

#define TX_REMI_SEQS_INIT {NULL, 0, 0, NULL, NULL, 0, 0}
TX_API void tx_remi_seqs_reset(tx_remi_seqs *q);   /* empties, keeps the memory */
TX_API void tx_remi_seqs_free(tx_remi_seqs *q);

/* Tokenizes s (not changed) into out, which is reset first. Tracks without notes in range are
 * dropped, as MidiTok drops them. */
TX_API int tx_remi_encode(const tx_remi *r, const tx_score *s, tx_remi_seqs *out, tx_error *err);

/* Appends the token strings of ids[0..n) separated by spaces. */
TX_API int tx_remi_ids_to_text(const tx_remi *r, const int32_t *ids, size_t n, tx_buf *out);

/* Parses token text, one sequence per line, tokens separated by blanks (the format of MidiTok's
 * golden files and of `tactus tokenize`), into out (reset first; programs[] are 0). Blank lines are
 * skipped. An unknown token is TX_ESYNTAX naming it and its place: "name:3: token 17: unknown token
 * \"Pitch_200\"". */
TX_API int tx_remi_text_to_ids(const tx_remi *r, const char *text, size_t len, const char *name,
                               tx_remi_seqs *out, tx_error *err);

/* ---- decoding ---- */

typedef struct tx_remi_decode_stats {
    size_t notes;          /* notes made */
    size_t skipped;        /* malformed groups skipped: a Pitch without Velocity and Duration after
                              it, a Velocity or Duration outside a note, an unknown id */
} tx_remi_decode_stats;

/* Turns sequences back into a score at tpq = max(beat_res) * max_denominator / 4 (MidiTok's time
 * division). With one_token_stream, n_seqs must be 1 and tracks come from Program tokens; otherwise
 * sequence i becomes one track of program programs[i] (-1: drums; programs may be NULL for piano).
 * As in MidiTok, only the first sequence gives tempos and time signatures. Malformed groups are
 * skipped and counted in stats (may be NULL). Caller frees *out with tx_score_free(). */
TX_API int tx_remi_decode(const tx_remi *r, const int32_t *const *seqs, const size_t *lens,
                          const int *programs, size_t n_seqs, tx_score **out,
                          tx_remi_decode_stats *stats, tx_error *err);

/* ---- grammar ---- */

/* Which ids may come next. The language accepted is what the encoder can produce: a Bar opens the
 * sequence, REMI+ writes a TimeSig after every Bar, positions rise within a bar and stay inside it,
 * a Position is followed by a Tempo or a note, a note is [Program] Pitch Velocity Duration, REMI+
 * starts with a tempo at position 0. With `canonical` set, notes at one position must also come in
 * the order the score model sorts them (program by first appearance, then pitch, duration, velocity),
 * which makes encode(decode(x)) == x hold for every accepted x; without it, a Position may also
 * repeat the previous one, as MidiTok writes in files its resampling bug hits (those decode, but two
 * onsets merge). */
typedef struct tx_remi_grammar {
    const tx_remi *r;
    int canonical;
    int is_drum;           /* REMI without programs: the sequence's track is drums */
    int state;             /* internal */
    int bars;              /* Bar tokens so far */
    int pos;               /* last position in this bar, -1 when none yet */
    int bar_positions;     /* positions in the current bar */
    int ts;                /* current time signature index */
    int ts_changed;        /* the last TimeSig changed the signature */
    int seen_tempo, seen_note, seen_bos;
    int program;           /* current note's program (-2 none) */
    int prog_rank[130];    /* first-appearance rank of each program + 1, 0 when unseen */
    int n_ranks;
    /* last note at this position, for `canonical`: rank, pitch, duration index, velocity index */
    int last_rank, last_pitch, last_dur, last_vel, cur_pitch, cur_vel;
} tx_remi_grammar;

TX_API void tx_remi_grammar_init(tx_remi_grammar *g, const tx_remi *r, int canonical, int is_drum);
/* 1 when id may come next, 0 otherwise. */
TX_API int tx_remi_grammar_allows(const tx_remi_grammar *g, int id);
/* Fills allowed[0 .. vocab_size) with 1 / 0 and returns how many are allowed. */
TX_API int tx_remi_grammar_mask(const tx_remi_grammar *g, uint8_t *allowed);
/* Feeds id; TX_OK, or TX_EINVAL (and the state is unchanged) when the grammar refuses it. */
TX_API int tx_remi_grammar_feed(tx_remi_grammar *g, int id);
/* 1 when the sequence so far is complete (may end here). */
TX_API int tx_remi_grammar_can_end(const tx_remi_grammar *g);

#endif
