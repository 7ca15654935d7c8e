/* remi-decode.c: REMI / REMI+ ids back to a score (MidiTok's REMI._tokens_to_score, step by step),
 * and the grammar automaton that says which ids may come next.
 *
 * Decoding follows MidiTok so that MidiTok's sequences decode to the same notes; malformed groups are
 * skipped and counted instead of raising. It is not a repair tool: tokens that make no sense in place
 * are ignored as MidiTok ignores them.
 */
#include <math.h>
#include <string.h>

#include "remi-priv.h"

/* ==================================================================================================
 * Decoding (MidiTok's REMI._tokens_to_score)
 * ================================================================================================== */

int remi_token_type(const tx_remi *r, int id, int *idx)
{
    *idx = 0;
    if (id < 0 || id >= r->vocab_size)
        return T_NONE;
    if (id == r->bar_id) return T_BAR;
#define IN(base, n, T) if (base >= 0 && id >= base && id < base + n) { *idx = id - base; return T; }
    IN(r->pitch_base, r->n_pitch, T_PITCH)
    IN(r->vel_base, r->n_vel, T_VEL)
    IN(r->dur_base, r->n_dur, T_DUR)
    IN(r->pos_base, r->n_pos, T_POS)
    IN(r->drum_base, r->n_drum, T_DRUM)
    IN(r->tempo_base, r->n_tempo, T_TEMPO)
    IN(r->prog_base, r->n_prog, T_PROG)
    IN(r->ts_base, r->n_ts, T_TS)
#undef IN
    return T_SPECIAL;
}

typedef struct dtrack { int program; int index; } dtrack;

int tx_remi_decode(const tx_remi *r, const int32_t *const *seqs, const size_t *lens,
                   const int *programs, size_t n_seqs, tx_score **out, tx_remi_decode_stats *stats,
                   tx_error *err)
{
    const tx_remi_config *c = &r->cfg;
    tx_remi_decode_stats st = {0, 0};
    *out = NULL;
    if (c->one_token_stream && n_seqs != 1)
        return tx_error_set(err, TX_EINVAL, "remi: one_token_stream decodes exactly one sequence");
    tx_score *s = tx_score_new(r->time_division);
    if (!s)
        return tx_error_set(err, TX_ENOMEM, "remi: out of memory");
    int64_t tpq = r->time_division;
    int track_of_prog[130];
    for (int i = 0; i < 130; i++)
        track_of_prog[i] = -1;
    int rc = TX_OK;
    int ts_num = 4, ts_den = 4;   /* the signature in force for the sequence being read */

    for (size_t si = 0; si < n_seqs && !rc; si++) {
        const int32_t *seq = seqs[si];
        size_t n = lens[si];
        int idx;
        if (si == 0) {
            int found = 0;
            if (c->use_time_signatures)
                for (size_t i = 0; i < n; i++) {
                    int ty = remi_token_type(r, seq[i], &idx);
                    if (ty == T_TS) {
                        ts_num = c->timesigs[idx].num;
                        ts_den = c->timesigs[idx].den;
                        found = 1;
                        break;
                    }
                    if (ty == T_PITCH || ty == T_DRUM || ty == T_VEL || ty == T_DUR)
                        break;
                }
            if (!found) {
                ts_num = 4;
                ts_den = 4;
            }
            if ((rc = tx_score_add_timesig(s, 0, ts_num, ts_den)))
                break;
        }
        /* MidiTok starts every sequence from the last signature the first sequence gave */
        int cur_num = s->n_timesigs ? s->timesigs[s->n_timesigs - 1].num : 4;
        int cur_den = s->n_timesigs ? s->timesigs[s->n_timesigs - 1].den : 4;
        int64_t ticks_per_bar = remi_ticks_per_bar(cur_num, cur_den, tpq);
        int64_t tpb = remi_ticks_per_beat(cur_den, tpq);
        int64_t ticks_per_pos = tpb / r->max_pos;
        int64_t current_tick = 0, tick_at_bar = 0, current_bar = -1;
        int current_program = 0, track = -1;
        if (!c->one_token_stream) {
            int prog = 0, drum = 0;
            if (programs) {
                prog = programs[si] < 0 ? 0 : programs[si];
                drum = programs[si] < 0;
            } else if (c->use_programs) {
                for (size_t i = 0; i < n; i++)
                    if (remi_token_type(r, seq[i], &idx) == T_PROG) {
                        prog = c->programs[idx];
                        if (prog == -1) { drum = 1; prog = 0; }
                        break;
                    }
            }
            current_program = drum ? -1 : prog;
            rc = tx_score_add_track(s, drum ? "Drums" : tx_gm_program_name(prog), prog, drum ? 9 : -1,
                                    drum, &track);
            if (rc)
                break;
        }
        uint8_t used_prev1 = 0, used_prev2 = 0;   /* the last two tokens were taken by a note */
        for (size_t ti = 0; ti < n && !rc; ti++) {
            int ty = remi_token_type(r, seq[ti], &idx);
            int consumed = used_prev2;   /* token ti was a note's Velocity or Duration */
            used_prev2 = used_prev1;
            used_prev1 = 0;
            switch (ty) {
            case T_NONE:
                st.skipped++;
                break;
            case T_BAR:
                current_bar++;
                if (current_bar > 0)
                    current_tick = tick_at_bar + ticks_per_bar;
                tick_at_bar = current_tick;
                break;
            case T_POS:
                if (current_bar == -1)
                    current_bar = 0;
                current_tick = tick_at_bar + (int64_t)idx * ticks_per_pos;
                break;
            case T_PITCH:
            case T_DRUM: {
                int pitch = ty == T_PITCH ? c->pitch_lo + idx : c->drums_lo + idx;
                if (pitch < c->pitch_lo || pitch > c->pitch_hi) {
                    st.skipped++;
                    break;
                }
                int iv, id2;
                if (ti + 2 < n && remi_token_type(r, seq[ti + 1], &iv) == T_VEL &&
                    remi_token_type(r, seq[ti + 2], &id2) == T_DUR) {
                    int64_t dur = ((int64_t)r->durs[id2].beat * r->durs[id2].res + r->durs[id2].pos) *
                                  tpb / r->durs[id2].res;
                    int tr = track;
                    if (c->one_token_stream) {
                        int key = current_program + 1;
                        if (track_of_prog[key] < 0) {
                            int drum = current_program == -1;
                            int prog = drum ? 0 : current_program;
                            rc = tx_score_add_track(s, drum ? "Drums" : tx_gm_program_name(prog), prog,
                                                    drum ? 9 : -1, drum, &track_of_prog[key]);
                            if (rc)
                                break;
                        }
                        tr = track_of_prog[key];
                    }
                    rc = tx_score_add_note(s, current_tick, dur, pitch, r->velocities[iv], tr, 0);
                    if (rc)
                        break;
                    st.notes++;
                    used_prev1 = 1;
                    used_prev2 = 1;
                } else {
                    st.skipped++;
                }
                break;
            }
            case T_VEL:
            case T_DUR:
                if (!consumed)
                    st.skipped++;
                break;
            case T_PROG:
                current_program = c->programs[idx];
                break;
            case T_TEMPO:
                if (si == 0) {
                    double usec = nearbyint(60000000.0 / r->tempos[idx]);
                    if (usec < 1) usec = 1;
                    if (usec > 16777215) usec = 16777215;
                    rc = tx_score_add_tempo(s, current_tick, (uint32_t)usec);
                }
                break;
            case T_TS: {
                int tn = c->timesigs[idx].num, td = c->timesigs[idx].den;
                if (tn != cur_num || td != cur_den) {
                    cur_num = tn;
                    cur_den = td;
                    if (si == 0)
                        rc = tx_score_add_timesig(s, current_tick, tn, td);
                    ticks_per_bar = remi_ticks_per_bar(tn, td, tpq);
                    tpb = remi_ticks_per_beat(td, tpq);
                    ticks_per_pos = tpb / r->max_pos;
                }
                break;
            }
            default:
                break;
            }
        }
    }
    if (!rc)
        rc = tx_score_sort(s);
    if (rc) {
        tx_score_free(s);
        return rc == TX_ENOMEM ? tx_error_set(err, rc, "remi: out of memory")
                               : tx_error_set(err, rc, "remi: decoded value out of range");
    }
    *out = s;
    if (stats)
        *stats = st;
    return TX_OK;
}

/* ==================================================================================================
 * Grammar
 * ================================================================================================== */

enum { G_START, G_BAR, G_TS, G_POS, G_TEMPO, G_PROG, G_PITCH, G_VEL, G_DUR, G_END };

static int positions_in_bar(const tx_remi *r, int num, int den)
{
    int64_t tpb = remi_ticks_per_beat(den, r->time_division);
    int64_t tpp = tpb / r->max_pos;
    if (tpp < 1)
        tpp = 1;
    int64_t n = (int64_t)((double)tpb * (double)num) / tpp;
    return n > r->n_pos ? r->n_pos : (int)n;
}

void tx_remi_grammar_init(tx_remi_grammar *g, const tx_remi *r, int canonical, int is_drum)
{
    memset(g, 0, sizeof *g);
    g->r = r;
    g->canonical = canonical;
    g->is_drum = is_drum;
    g->state = G_START;
    g->pos = -1;
    g->ts = remi_ts_index(r, 4, 4);
    g->bar_positions = positions_in_bar(r, 4, 4);
    g->program = -2;
}

static int need_tempo(const tx_remi_grammar *g)
{
    return g->r->cfg.use_tempos && !g->seen_tempo;
}

int tx_remi_grammar_can_end(const tx_remi_grammar *g)
{
    if (g->state == G_DUR || g->state == G_TEMPO)
        return 1;
    return g->state == G_TS && g->ts_changed && !need_tempo(g);
}

/* May a note start here (Program, or Pitch / PitchDrum without programs)? */
static int note_start_ok(const tx_remi_grammar *g)
{
    if (g->state == G_POS)
        return !need_tempo(g);
    return g->state == G_TEMPO || g->state == G_DUR;
}

static int same_group(const tx_remi_grammar *g, int rank)
{
    return g->canonical && g->last_rank > 0 && rank == g->last_rank;
}

static int current_rank(const tx_remi_grammar *g)
{
    if (!g->r->cfg.use_programs || g->program < -1)
        return 1;
    int rk = g->prog_rank[g->program + 1];
    return rk ? rk : g->n_ranks + 1;
}

static int pitch_ok(const tx_remi_grammar *g, int pitch)
{
    const tx_remi_config *c = &g->r->cfg;
    if (pitch < c->pitch_lo || pitch > c->pitch_hi)
        return 0;
    if (same_group(g, current_rank(g)) && pitch < g->last_pitch)
        return 0;
    return 1;
}

int tx_remi_grammar_allows(const tx_remi_grammar *g, int id)
{
    const tx_remi *r = g->r;
    const tx_remi_config *c = &r->cfg;
    int idx, ty = remi_token_type(r, id, &idx);
    if (g->state == G_END)
        return id == r->pad_id && id >= 0;
    switch (ty) {
    case T_SPECIAL:
        if (id == r->bos_id)
            return g->state == G_START && !g->seen_bos;
        if (id == r->eos_id)
            return tx_remi_grammar_can_end(g);
        return 0;
    case T_BAR:
        if (need_tempo(g) && g->bars >= 1)
            return 0;
        return g->state == G_START || g->state == G_TS || g->state == G_TEMPO || g->state == G_DUR ||
               (g->state == G_BAR && !c->use_time_signatures);
    case T_TS:
        return g->state == G_BAR;
    case T_POS:
        if (!(g->state == G_TS || g->state == G_TEMPO || g->state == G_DUR ||
              (g->state == G_BAR && !c->use_time_signatures)))
            return 0;
        if (need_tempo(g) && (idx != 0 || g->bars != 1))
            return 0;
        /* MidiTok writes a repeated position in files hit by its resampling bug; only canonical
         * sequences must rise strictly */
        return (idx > g->pos || (!g->canonical && idx == g->pos)) && idx < g->bar_positions;
    case T_TEMPO:
        return g->state == G_POS;
    case T_PROG: {
        if (!c->use_programs || !note_start_ok(g))
            return 0;
        int p = c->programs[idx];
        if (r->prog_index[p + 1] != idx)   /* a repeated program value: only its first id */
            return 0;
        if (g->canonical && g->last_rank > 0) {
            int rk = g->prog_rank[p + 1] ? g->prog_rank[p + 1] : g->n_ranks + 1;
            if (rk < g->last_rank)
                return 0;
        }
        return 1;
    }
    case T_PITCH:
    case T_DRUM: {
        int drum;
        if (c->use_programs) {
            if (g->state != G_PROG)
                return 0;
            drum = g->program == -1;
        } else {
            if (!note_start_ok(g))
                return 0;
            drum = g->is_drum;
        }
        int want_drum_tokens = drum && c->use_pitchdrum_tokens;
        if ((ty == T_DRUM) != want_drum_tokens)
            return 0;
        int pitch = ty == T_DRUM ? c->drums_lo + idx : c->pitch_lo + idx;
        if (drum && c->use_pitchdrum_tokens && (pitch < c->drums_lo || pitch > c->drums_hi))
            return 0;
        return pitch_ok(g, pitch);
    }
    case T_VEL:
        if (g->state != G_PITCH)
            return 0;
        if (same_group(g, current_rank(g)) && g->cur_pitch == g->last_pitch && g->last_dur == r->n_dur - 1)
            return idx >= g->last_vel;
        return 1;
    case T_DUR:
        if (g->state != G_VEL)
            return 0;
        if (same_group(g, current_rank(g)) && g->cur_pitch == g->last_pitch)
            return idx > g->last_dur || (idx == g->last_dur && g->cur_vel >= g->last_vel);
        return 1;
    default:
        return 0;
    }
}

int tx_remi_grammar_mask(const tx_remi_grammar *g, uint8_t *allowed)
{
    int n = 0;
    for (int id = 0; id < g->r->vocab_size; id++) {
        allowed[id] = (uint8_t)tx_remi_grammar_allows(g, id);
        n += allowed[id];
    }
    return n;
}

int tx_remi_grammar_feed(tx_remi_grammar *g, int id)
{
    if (!tx_remi_grammar_allows(g, id))
        return TX_EINVAL;
    const tx_remi *r = g->r;
    const tx_remi_config *c = &r->cfg;
    int idx, ty = remi_token_type(r, id, &idx);
    switch (ty) {
    case T_SPECIAL:
        if (id == r->eos_id)
            g->state = G_END;
        else if (id == r->bos_id)
            g->seen_bos = 1;
        break;
    case T_BAR:
        g->bars++;
        g->pos = -1;
        g->last_rank = 0;
        g->ts_changed = 0;
        g->state = G_BAR;
        break;
    case T_TS: {
        int first = g->bars == 1;
        g->ts_changed = idx != g->ts || (first && c->one_token_stream);
        g->ts = idx;
        g->bar_positions = positions_in_bar(r, c->timesigs[idx].num, c->timesigs[idx].den);
        g->state = G_TS;
        break;
    }
    case T_POS:
        g->pos = idx;
        g->last_rank = 0;
        g->state = G_POS;
        break;
    case T_TEMPO:
        g->seen_tempo = 1;
        g->state = G_TEMPO;
        break;
    case T_PROG: {
        int p = c->programs[idx];
        g->program = p;
        if (!g->prog_rank[p + 1])
            g->prog_rank[p + 1] = ++g->n_ranks;
        g->state = G_PROG;
        break;
    }
    case T_PITCH:
    case T_DRUM:
        g->cur_pitch = ty == T_DRUM ? c->drums_lo + idx : c->pitch_lo + idx;
        g->state = G_PITCH;
        break;
    case T_VEL:
        g->cur_vel = idx;
        g->state = G_VEL;
        break;
    case T_DUR:
        g->last_rank = current_rank(g);
        g->last_pitch = g->cur_pitch;
        g->last_vel = g->cur_vel;
        g->last_dur = idx;
        g->seen_note = 1;
        g->state = G_DUR;
        break;
    default:
        break;
    }
    return TX_OK;
}
