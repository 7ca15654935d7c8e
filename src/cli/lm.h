/* lm.h: a checkpoint with its tokenizer, for the commands that sample from a model (generate, continue,
 * infill): opening (the bundled model by default), the grammar mask, the sampling loop, decoding. */
#ifndef TX_CLI_LM_H
#define TX_CLI_LM_H

#include <getopt.h>

#include "cli.h"

/* The model tactus ships, relative to its data folder (tx_data_path). */
#define CLI_LM_BUNDLED "models/tactus-base.safetensors"

typedef struct cli_lm {
    const char *path;        /* the checkpoint (borrowed, or `bundled`) */
    char *bundled;           /* tx_data_path's answer when no path was given */
    uint8_t *bytes;          /* the file */
    size_t len;
    tx_safetensors *st;
    tx_model *m;
    tx_remi *r;
    int context, remi_vocab;
    int32_t bos, eos, bar;   /* -1 when the tokenizer has none */
    int32_t fim_prefix, fim_suffix, fim_middle;   /* -1 when the model was trained without --fim */
    int fim_spm;             /* 1: trained with --fim-spm (SUF suffix PRE prefix MID middle) */
} cli_lm;

/* Opens path (NULL: the bundled model). Prints the error and returns EXIT_INPUT on failure. */
int cli_lm_open(cli_lm *lm, const char *path);
void cli_lm_close(cli_lm *lm);
/* Whether the model knows the fill-in-the-middle sentinels. */
int cli_lm_has_fim(const cli_lm *lm);

/* The tokenizer's grammar, fed with the music so far, as a tx_mask_fn (cli_lm_mask). */
typedef struct cli_lm_grammar {
    tx_remi_grammar g;
    size_t fed;          /* ids of the history already fed */
    int remi_vocab;
    int32_t only;        /* >= 0: the one id allowed next */
    int32_t banned;      /* >= 0: an id never allowed */
} cli_lm_grammar;

/* Starts the grammar and feeds it ids[0..n); TX_EINVAL with *bad = the refused index otherwise. */
int cli_lm_grammar_start(const cli_lm *lm, cli_lm_grammar *gm, const int32_t *ids, size_t n, int is_drum,
                         size_t *bad);
int cli_lm_mask(void *ud, const int32_t *ids, size_t n, uint8_t *allowed, int vocab);

typedef struct cli_lm_limits {
    long max_new;     /* ids to generate at most; < 0: no limit but the others */
    long max_bars;    /* stop before the bar after this many new bar lines; < 0: no limit */
    int slide;        /* when the context fills: slide the window (1) or stop (0) */
    int first_bar;    /* the first id must be a bar line */
    int no_eos;       /* the end of the piece may not come (the bars or tokens asked for must) */
} cli_lm_limits;

typedef struct cli_lm_result {
    size_t generated;  /* ids appended to the history */
    long bars;         /* bar lines among them */
    int eos, bar_end, full;   /* why it stopped: EOS, the bars were done, the context was full */
    int slides;        /* times the window slid */
} cli_lm_result;

/* Runs ctx (n_ctx ids, the model's view) through the model, then samples: each id goes to the end of
 * hist (the music so far, *n_hist ids, room for lim->max_new more, or for as many as the limits allow)
 * and through the grammar gm (started on hist). A stop inside a note drops its unfinished part. */
int cli_lm_run(cli_lm *lm, tx_sampler *smp, cli_lm_grammar *gm, const int32_t *ctx, int n_ctx, int32_t *hist,
               size_t *n_hist, const cli_lm_limits *lim, cli_lm_result *res, tx_error *err);

/* Decodes ids (special tokens and sentinels skipped) into a new score; *skipped (may be NULL) counts
 * malformed token groups. */
int cli_lm_decode(const cli_lm *lm, const int32_t *ids, size_t n, int is_drum, tx_score **out, size_t *skipped,
                  tx_error *err);

/* ---- sampler options, as llama.cpp names them ---- */

enum { CLI_O_TEMP = 400, CLI_O_TOPK, CLI_O_TOPP, CLI_O_MINP, CLI_O_PENALTY, CLI_O_LASTN };
#define CLI_LM_SAMPLER_LONGOPTS                                  \
    {"temp", required_argument, NULL, CLI_O_TEMP},               \
    {"top-k", required_argument, NULL, CLI_O_TOPK},              \
    {"top-p", required_argument, NULL, CLI_O_TOPP},              \
    {"min-p", required_argument, NULL, CLI_O_MINP},              \
    {"repeat-penalty", required_argument, NULL, CLI_O_PENALTY},  \
    {"repeat-last-n", required_argument, NULL, CLI_O_LASTN},     \
    {"seed", required_argument, NULL, 's'}
#define CLI_LM_SAMPLER_HELP                                                                             \
    "  --temp X               temperature, 0 = greedy (0.8)\n"                                          \
    "  --top-k K              keep the K likeliest tokens, 0 = off (40)\n"                              \
    "  --top-p P              keep the likeliest tokens up to probability P, 1 = off (0.95)\n"          \
    "  --min-p P              drop tokens below P times the likeliest one's probability (0.05)\n"       \
    "  --repeat-penalty X     penalise the last --repeat-last-n tokens, 1 = off (1.0)\n"               \
    "  --repeat-last-n N      how many recent tokens the penalty looks at, 0 = all (64)\n"              \
    "  -s, --seed S           random seed (default: from the clock)\n"

/* The defaults above; the seed from the clock and the process. */
void cli_lm_sampler_defaults(tx_sampler_config *sc);
/* continue's and infill's: temperature 1, top-k off, top-p 0.95, min-p 0.02. */
void cli_lm_sampler_music(tx_sampler_config *sc);
/* Takes getopt's option c with its argument when it is a sampler option: 1 when it was one, 0 when
 * not, -1 (the usage error printed) when its value is wrong. */
int cli_lm_sampler_option(const char *cmd, int c, const char *arg, tx_sampler_config *sc);

/* ---- the score around the tokens ---- */

/* A piece read for a model: its score (a pickup padded, see below) and its ids (BOS first). */
typedef struct cli_lm_piece {
    tx_score *score;
    tx_tick pickup, pad;    /* the score's pickup, and the ticks it was padded by */
    int32_t *ids;           /* room for n + `room` ids */
    size_t n;
} cli_lm_piece;

/* Reads path (one score, or the ABC tune numbered tune >= 0), pads its pickup and tokenizes it with the
 * model's tokenizer, leaving room for `room` more ids. Prints the error and returns EXIT_INPUT when the
 * file cannot be read or holds no notes the tokenizer can write. */
int cli_lm_read_piece(const cli_lm *lm, const char *path, long tune, size_t room, cli_lm_piece *p);
void cli_lm_piece_free(cli_lm_piece *p);

/* Tokenizers count bars from tick 0, so a pickup is padded to a whole bar first: everything moves
 * later by the ticks the pickup lacks (maps at tick 0 stay) and the pickup is cleared; returns those
 * ticks (0 without a pickup). cli_lm_unpad() moves back and restores the pickup; notes that fall in the
 * padding are dropped. */
tx_tick cli_lm_pad_pickup(tx_score *s);
void cli_lm_unpad(tx_score *s, tx_tick d, tx_tick pickup);

typedef struct cli_lm_span {
    size_t notes;          /* notes added */
    tx_tick first, end;    /* the first onset (-1: none) and the last end of the added notes */
} cli_lm_span;

/* Adds to `into` the notes of `all` that `base` lacks (both decoded by the tokenizer, which gives every
 * note of base again in all: a multiset difference on onset, duration, pitch, velocity and program),
 * at into's resolution, on into's first track of the same program (a new track "generated" when it
 * has none); those with onsets outside [from, to) (to < 0: no end) are left out. Sorts into. */
int cli_lm_add_new_notes(const tx_score *all, const tx_score *base, tx_score *into, tx_tick from, tx_tick to,
                         cli_lm_span *span, tx_error *err);
/* Removes the notes with onsets in [from, to). */
void cli_lm_remove_notes(tx_score *s, tx_tick from, tx_tick to);
/* Draws s as a piano roll into path (SVG, atomically), the ticks [from, to) marked with label (to < 0:
 * to the end; from < 0: nothing marked). Prints the error and returns EXIT_INPUT on failure. */
int cli_render_file(const tx_score *s, const char *path, tx_tick from, tx_tick to, const char *label);

/* ---- surprisal ---- */

/* One note's information content under the model, IDyOM-style. */
typedef struct cli_lm_note_ic {
    long bar;          /* as the tokenizer counts bars, from 1 */
    double beat;       /* 1-based, in beats of the time signature's denominator */
    int pitch, program;
    double ic;         /* -log2 p(pitch | everything before): the pitch's surprisal, bits */
    double ic_note;    /* the note's tokens together (position, program, pitch, velocity, duration) */
    double entropy;    /* entropy of the pitch the model expected there, bits (Pitch tokens renormalized) */
} cli_lm_note_ic;

/* The notes of s in the tokenizer's order with their surprisal (windows of the context sliding by half
 * of it, so every token is predicted from at least half a context, or all there is). *out is
 * tx_malloc'd (the caller frees it). */
int cli_lm_surprisal(cli_lm *lm, const tx_score *s, cli_lm_note_ic **out, size_t *n_out, tx_error *err);

#endif
