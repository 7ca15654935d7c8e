/* remi-priv.h: what the REMI tokenizer's files share: the tokenizer's state and a few helpers.
 *
 * remi.c builds the vocabulary and encodes; remi-decode.c decodes and runs the grammar; remi-json.c
 * reads and writes MidiTok's configuration JSON. Nothing here is part of the public interface.
 */
#ifndef TX_REMI_PRIV_H
#define TX_REMI_PRIV_H

#include <stdint.h>

#include "remi.h"

#define MAX_DUR 1024        /* duration values (beat, pos, res) */
#define MAX_TPB 8           /* distinct ticks-per-beat values */

typedef struct dur_tuple { int beat, pos, res; } dur_tuple;

typedef struct tpb_table {
    int tpb;                /* ticks per beat */
    int32_t *ticks;         /* n_dur: ticks of each duration value at this tpb, ascending */
    int32_t *snap;          /* 0 .. max_ticks: index of the closest duration (MidiTok's ties: up) */
    int max_ticks;
} tpb_table;

struct tx_remi {
    tx_remi_config cfg;
    int max_pos;            /* max(beat_res values): positions per beat */
    int n_pos;              /* Position tokens */
    int time_division;      /* ticks per quarter of decoded scores */
    int max_den;            /* largest denominator of the time signatures in use */
    /* vocabulary */
    int vocab_size;
    char **tokens;          /* id -> string */
    char *strings;          /* storage for tokens */
    uint32_t *hash_ids;     /* open addressing table: id + 1, 0 empty */
    size_t hash_cap;
    /* id bases and counts of each token type (-1 when absent) */
    int bar_id, pitch_base, n_pitch, vel_base, n_vel, dur_base, n_dur, pos_base, drum_base, n_drum;
    int tempo_base, n_tempo, prog_base, n_prog, ts_base, n_ts;
    int pad_id, bos_id, eos_id, mask_id;
    /* values */
    int velocities[128];
    int vel_snap[128];      /* velocity 0..127 -> index of the closest bin */
    dur_tuple durs[MAX_DUR];
    double tempos[TX_REMI_MAX_TEMPOS];      /* qpm, as in the vocabulary */
    double tempo_mspq[TX_REMI_MAX_TEMPOS];  /* 60e6 / tempo, ascending (so reversed) */
    int default_tempo;      /* index of the tempo closest to 120 */
    int prog_index[130];    /* program + 1 -> index in cfg.programs, -1 when absent */
    tpb_table tpbs[MAX_TPB];
    int n_tpbs;
};

/* Token types, for remi_token_type(). */
enum { T_NONE, T_SPECIAL, T_BAR, T_PITCH, T_VEL, T_DUR, T_POS, T_DRUM, T_TEMPO, T_PROG, T_TS };

/* The type of id and its index within that type (T_NONE for an id outside the vocabulary). */
int remi_token_type(const tx_remi *r, int id, int *idx);
/* Index of num/den in cfg.timesigs, or -1. */
int remi_ts_index(const tx_remi *r, int num, int den);
/* MidiTok's compute_ticks_per_beat() and compute_ticks_per_bar(). */
int64_t remi_ticks_per_beat(int den, int64_t tpq);
int64_t remi_ticks_per_bar(int num, int den, int64_t tpq);
/* TX_OK, or TX_EINVAL with a message naming the bad field. */
int remi_check_config(const tx_remi_config *c, tx_error *err);

#endif
