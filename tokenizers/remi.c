/* remi.c: the REMI / REMI+ tokenizer, written to give MidiTok 3.0.6's tokens id for id.
 *
 * The file follows MidiTok's pipeline step by step, because matching it means matching its arithmetic
 * and its order of operations, quirks included:
 *   vocabulary  - built from the configuration in MidiTok's order (specials, Bar, Pitch, Velocity,
 *                 Duration, Position, PitchDrum, Tempo, Program, TimeSig);
 *   preprocess  - time signatures filtered to the supported ones and resampled (truncating), the
 *                 score resampled to the grid (symusic's rounding), same-program tracks merged (REMI+),
 *                 time signatures delayed to bar starts, notes filtered / snapped (velocity, duration,
 *                 onsets per time-signature section), tempos snapped;
 *   events      - global events (TimeSig, Tempo) then track events, stably sorted by time;
 *   time events - Bar (+ TimeSig in REMI+) and Position tokens inserted as MidiTok's REMI does.
 * Decoding and the grammar are in remi-decode.c, MidiTok's configuration JSON in remi-json.c.
 *
 * It is not a general MIDI quantiser, and it does not know BPE, chords, rests, pedals or pitch bends.
 */
#include "remi-priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ==================================================================================================
 * Configuration
 * ================================================================================================== */

void tx_remi_config_default(tx_remi_config *c)
{
    static const int ts[][2] = {{3, 8}, {12, 8}, {6, 8}, {5, 4}, {6, 4}, {3, 4}, {2, 4}, {1, 4}, {4, 4}};
    static const char *sp[] = {"PAD_None", "BOS_None", "EOS_None", "MASK_None"};
    memset(c, 0, sizeof *c);
    c->pitch_lo = 21;
    c->pitch_hi = 109;
    c->n_beat_res = 2;
    c->beat_res[0].lo = 0; c->beat_res[0].hi = 4; c->beat_res[0].res = 8;
    c->beat_res[1].lo = 4; c->beat_res[1].hi = 12; c->beat_res[1].res = 4;
    c->num_velocities = 32;
    c->n_special = 4;
    for (int i = 0; i < 4; i++)
        snprintf(c->special[i], sizeof c->special[i], "%s", sp[i]);
    c->use_pitchdrum_tokens = 1;
    c->num_tempos = 32;
    c->tempo_lo = 40;
    c->tempo_hi = 250;
    c->n_timesigs = 9;
    for (int i = 0; i < 9; i++) {
        c->timesigs[i].num = ts[i][0];
        c->timesigs[i].den = ts[i][1];
    }
    c->n_programs = 129;
    for (int i = 0; i < 128; i++)
        c->programs[i] = i;
    c->programs[128] = -1;
    c->drums_lo = 27;
    c->drums_hi = 88;
}

void tx_remi_config_plus(tx_remi_config *c)
{
    tx_remi_config_default(c);
    c->use_programs = c->use_tempos = c->use_time_signatures = c->one_token_stream = 1;
}

const tx_remi_config *tx_remi_get_config(const tx_remi *r) { return &r->cfg; }

/* ==================================================================================================
 * Vocabulary
 * ================================================================================================== */

static uint32_t str_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Python's repr() of a float that has at most two decimals: "40.0", "46.77", "67.1". */
static void format_tempo(double v, char *buf, size_t size)
{
    snprintf(buf, size, "%.2f", v);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0' && n >= 2 && buf[n - 2] != '.')
        buf[--n] = '\0';
    if (strtod(buf, NULL) != v)   /* not a two-decimal value: shortest round-trip form */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
}

int remi_ts_index(const tx_remi *r, int num, int den)
{
    for (int i = 0; i < r->cfg.n_timesigs; i++)
        if (r->cfg.timesigs[i].num == num && r->cfg.timesigs[i].den == den)
            return i;
    return -1;
}

/* MidiTok's compute_ticks_per_beat(): tpq for quarter beats, tpq * 4 / den truncated otherwise. */
int64_t remi_ticks_per_beat(int den, int64_t tpq)
{
    if (den == 4)
        return tpq;
    return (int64_t)((double)tpq * (4.0 / (double)den));
}

static const tpb_table *find_tpb(const tx_remi *r, int64_t tpb)
{
    for (int i = 0; i < r->n_tpbs; i++)
        if (r->tpbs[i].tpb == tpb)
            return &r->tpbs[i];
    return NULL;
}

static int build_tpb(tx_remi *r, int tpb)
{
    if (tpb <= 0 || find_tpb(r, tpb))
        return TX_OK;
    if (r->n_tpbs == MAX_TPB)
        return TX_ELIMIT;
    tpb_table *t = &r->tpbs[r->n_tpbs];
    t->tpb = tpb;
    t->ticks = tx_malloc(sizeof *t->ticks * (size_t)r->n_dur);
    if (!t->ticks)
        return TX_ENOMEM;
    for (int i = 0; i < r->n_dur; i++) {
        const dur_tuple *d = &r->durs[i];
        t->ticks[i] = (int32_t)(((int64_t)d->beat * d->res + d->pos) * tpb / d->res);
    }
    t->max_ticks = t->ticks[r->n_dur - 1];
    t->snap = tx_malloc(sizeof *t->snap * (size_t)(t->max_ticks + 1));
    if (!t->snap) {
        tx_free(t->ticks);
        return TX_ENOMEM;
    }
    /* np_get_closest: the first value >= x, unless the one before is strictly closer */
    int j = 0;
    for (int x = 0; x <= t->max_ticks; x++) {
        while (j < r->n_dur - 1 && t->ticks[j] < x)
            j++;
        int k = j;
        if (j > 0 && abs(x - t->ticks[j - 1]) < abs(x - t->ticks[j]))
            k = j - 1;
        t->snap[x] = k;
    }
    r->n_tpbs++;
    return TX_OK;
}

static int snap_duration(const tpb_table *t, int64_t d, int n_dur)
{
    if (d <= 0)
        return 0;
    if (d > t->max_ticks)
        return n_dur - 1;
    return t->snap[d];
}

void tx_remi_free(tx_remi *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_tpbs; i++) {
        tx_free(r->tpbs[i].ticks);
        tx_free(r->tpbs[i].snap);
    }
    tx_free(r->tokens);
    tx_free(r->strings);
    tx_free(r->hash_ids);
    tx_free(r);
}

int remi_check_config(const tx_remi_config *c, tx_error *err)
{
    if (c->pitch_lo < 0 || c->pitch_hi > 127 || c->pitch_lo > c->pitch_hi)
        return tx_error_set(err, TX_EINVAL, "remi: pitch_range [%d, %d] is not inside 0..127",
                            c->pitch_lo, c->pitch_hi);
    if (c->drums_lo < 0 || c->drums_hi > 127 || c->drums_lo > c->drums_hi)
        return tx_error_set(err, TX_EINVAL, "remi: drums_pitch_range [%d, %d] is not inside 0..127",
                            c->drums_lo, c->drums_hi);
    if (c->n_beat_res < 1 || c->n_beat_res > TX_REMI_MAX_BEAT_RES)
        return tx_error_set(err, TX_EINVAL, "remi: beat_res needs 1 to %d ranges", TX_REMI_MAX_BEAT_RES);
    for (int i = 0; i < c->n_beat_res; i++)
        if (c->beat_res[i].lo < 0 || c->beat_res[i].hi <= c->beat_res[i].lo || c->beat_res[i].hi > 64 ||
            c->beat_res[i].res < 1 || c->beat_res[i].res > 64)
            return tx_error_set(err, TX_EINVAL, "remi: beat_res range %d_%d: %d is out of range",
                                c->beat_res[i].lo, c->beat_res[i].hi, c->beat_res[i].res);
    if (c->num_velocities < 1 || c->num_velocities > 127)
        return tx_error_set(err, TX_EINVAL, "remi: num_velocities %d is not in 1..127", c->num_velocities);
    if (c->n_special < 0 || c->n_special > TX_REMI_MAX_SPECIAL)
        return tx_error_set(err, TX_EINVAL, "remi: too many special tokens");
    if (c->use_tempos && (c->num_tempos < 1 || c->num_tempos > TX_REMI_MAX_TEMPOS ||
                          !(c->tempo_lo > 0) || !(c->tempo_hi >= c->tempo_lo) || !(c->tempo_hi <= 1e6)))
        return tx_error_set(err, TX_EINVAL, "remi: tempo settings out of range");
    if (c->n_timesigs < 1 || c->n_timesigs > TX_REMI_MAX_TIMESIGS)
        return tx_error_set(err, TX_EINVAL, "remi: time_signature_range needs 1 to %d signatures",
                            TX_REMI_MAX_TIMESIGS);
    int has4 = 0;
    for (int i = 0; i < c->n_timesigs; i++) {
        int d = c->timesigs[i].den;
        if (d < 1 || d > 64 || (d & (d - 1)) || c->timesigs[i].num < 1 || c->timesigs[i].num > 64)
            return tx_error_set(err, TX_EINVAL, "remi: time signature %d/%d is not supported",
                                c->timesigs[i].num, d);
        has4 |= d == 4;
    }
    if (!has4)
        return tx_error_set(err, TX_EINVAL, "remi: time_signature_range needs a */4 signature");
    if (c->n_programs < 1 || c->n_programs > 129)
        return tx_error_set(err, TX_EINVAL, "remi: programs needs 1 to 129 values");
    for (int i = 0; i < c->n_programs; i++)
        if (c->programs[i] < -1 || c->programs[i] > 127)
            return tx_error_set(err, TX_EINVAL, "remi: program %d is not in -1..127", c->programs[i]);
    if (c->one_token_stream && !c->use_programs)
        return tx_error_set(err, TX_EINVAL, "remi: one_token_stream_for_programs needs use_programs");
    return TX_OK;
}

tx_remi *tx_remi_new(const tx_remi_config *c, tx_error *err)
{
    if (remi_check_config(c, err))
        return NULL;
    tx_remi *r = tx_calloc(1, sizeof *r);
    if (!r) {
        tx_error_set(err, TX_ENOMEM, "remi: out of memory");
        return NULL;
    }
    r->cfg = *c;
    r->max_pos = 0;
    for (int i = 0; i < c->n_beat_res; i++)
        if (c->beat_res[i].res > r->max_pos)
            r->max_pos = c->beat_res[i].res;

    /* Time signatures in use: the configured ones, or only 4/4 without TimeSig tokens. */
    int max_num = 4;
    r->max_den = 4;
    if (c->use_time_signatures) {
        max_num = 0;
        r->max_den = 0;
        for (int i = 0; i < c->n_timesigs; i++) {
            if (c->timesigs[i].num > max_num) max_num = c->timesigs[i].num;
            if (c->timesigs[i].den > r->max_den) r->max_den = c->timesigs[i].den;
        }
    }
    r->n_pos = r->max_pos * max_num;
    r->time_division = r->max_pos * (r->max_den / 4 > 0 ? r->max_den / 4 : 1);
    if (r->max_den < 4)
        r->time_division = r->max_pos;   /* tpb_per_ts[4] = max_pos * (max_den // 4) would be 0 */

    /* Durations: (beat, pos, res) per range, then the last (max beat, 0, res), without (0, 0). */
    int n_dur = 0, last_i = 0;
    for (int i = 0; i < c->n_beat_res; i++) {
        for (int b = c->beat_res[i].lo; b < c->beat_res[i].hi; b++)
            for (int p = 0; p < c->beat_res[i].res; p++) {
                if (n_dur == MAX_DUR) {
                    tx_error_set(err, TX_ELIMIT, "remi: beat_res gives more than %d durations", MAX_DUR);
                    tx_remi_free(r);
                    return NULL;
                }
                r->durs[n_dur].beat = b; r->durs[n_dur].pos = p; r->durs[n_dur].res = c->beat_res[i].res;
                n_dur++;
            }
        /* Python's max() over (lo, hi) tuples */
        if (c->beat_res[i].lo > c->beat_res[last_i].lo ||
            (c->beat_res[i].lo == c->beat_res[last_i].lo && c->beat_res[i].hi > c->beat_res[last_i].hi))
            last_i = i;
    }
    if (n_dur == MAX_DUR) {
        tx_error_set(err, TX_ELIMIT, "remi: beat_res gives more than %d durations", MAX_DUR);
        tx_remi_free(r);
        return NULL;
    }
    r->durs[n_dur].beat = c->beat_res[last_i].hi; r->durs[n_dur].pos = 0;
    r->durs[n_dur].res = c->beat_res[last_i].res;
    n_dur++;
    memmove(r->durs, r->durs + 1, sizeof r->durs[0] * (size_t)(n_dur - 1));
    n_dur--;
    r->n_dur = n_dur;

    /* Velocities: np.linspace(0, 127, n + 1, dtype=intc)[1:] */
    for (int i = 1; i <= c->num_velocities; i++)
        r->velocities[i - 1] = (int)((double)i * (127.0 / (double)c->num_velocities));
    r->velocities[c->num_velocities - 1] = 127;
    for (int v = 0; v < 128; v++) {
        int j = 0;
        while (j < c->num_velocities - 1 && r->velocities[j] < v)
            j++;
        if (j > 0 && abs(v - r->velocities[j - 1]) < abs(v - r->velocities[j]))
            j--;
        r->vel_snap[v] = j;
    }

    /* Tempos: linspace (or geomspace) rounded to 2 decimals the way numpy rounds */
    if (c->use_tempos) {
        int n = c->num_tempos;
        for (int i = 0; i < n; i++) {
            double v;
            if (n == 1)
                v = c->tempo_lo;
            else if (c->log_tempos)
                v = pow(10.0, log10(c->tempo_lo) +
                                  (double)i * ((log10(c->tempo_hi) - log10(c->tempo_lo)) / (n - 1)));
            else
                v = (double)i * ((c->tempo_hi - c->tempo_lo) / (double)(n - 1)) + c->tempo_lo;
            if (i == 0) v = c->tempo_lo;
            if (i == n - 1 && n > 1) v = c->tempo_hi;
            r->tempos[i] = nearbyint(v * 100.0) / 100.0;
        }
        for (int i = 0; i < n; i++)
            r->tempo_mspq[i] = 60000000.0 / r->tempos[n - 1 - i];
        int best = 0;
        for (int i = 1; i < n; i++)
            if (fabs(r->tempos[i] - 120.0) < fabs(r->tempos[best] - 120.0))
                best = i;
        r->default_tempo = best;
    }

    /* Token strings, in MidiTok's order */
    size_t n_tok = (size_t)c->n_special + 1 + (size_t)(c->pitch_hi - c->pitch_lo + 1) +
                   (size_t)c->num_velocities + (size_t)n_dur + (size_t)r->n_pos +
                   (c->use_pitchdrum_tokens ? (size_t)(c->drums_hi - c->drums_lo + 1) : 0) +
                   (c->use_tempos ? (size_t)c->num_tempos : 0) +
                   (c->use_programs ? (size_t)c->n_programs : 0) +
                   (c->use_time_signatures ? (size_t)c->n_timesigs : 0);
    r->tokens = tx_calloc(n_tok, sizeof *r->tokens);
    r->strings = tx_malloc(n_tok * 32);
    r->hash_cap = 16;
    while (r->hash_cap < n_tok * 2)
        r->hash_cap *= 2;
    r->hash_ids = tx_calloc(r->hash_cap, sizeof *r->hash_ids);
    if (!r->tokens || !r->strings || !r->hash_ids) {
        tx_error_set(err, TX_ENOMEM, "remi: out of memory");
        tx_remi_free(r);
        return NULL;
    }
    int id = 0;
#define ADD_TOKEN(...) do { \
        r->tokens[id] = r->strings + (size_t)id * 32; \
        snprintf(r->tokens[id], 32, __VA_ARGS__); \
        id++; \
    } while (0)
    r->pad_id = r->bos_id = r->eos_id = r->mask_id = -1;
    for (int i = 0; i < c->n_special; i++) {
        if (!strcmp(c->special[i], "PAD_None")) r->pad_id = id;
        if (!strcmp(c->special[i], "BOS_None")) r->bos_id = id;
        if (!strcmp(c->special[i], "EOS_None")) r->eos_id = id;
        if (!strcmp(c->special[i], "MASK_None")) r->mask_id = id;
        ADD_TOKEN("%s", c->special[i]);
    }
    r->bar_id = id;
    ADD_TOKEN("Bar_None");
    r->pitch_base = id;
    r->n_pitch = c->pitch_hi - c->pitch_lo + 1;
    for (int p = c->pitch_lo; p <= c->pitch_hi; p++)
        ADD_TOKEN("Pitch_%d", p);
    r->vel_base = id;
    r->n_vel = c->num_velocities;
    for (int i = 0; i < c->num_velocities; i++)
        ADD_TOKEN("Velocity_%d", r->velocities[i]);
    r->dur_base = id;
    for (int i = 0; i < n_dur; i++)
        ADD_TOKEN("Duration_%d.%d.%d", r->durs[i].beat, r->durs[i].pos, r->durs[i].res);
    r->pos_base = id;
    for (int i = 0; i < r->n_pos; i++)
        ADD_TOKEN("Position_%d", i);
    r->drum_base = -1;
    r->n_drum = 0;
    if (c->use_pitchdrum_tokens) {
        r->drum_base = id;
        r->n_drum = c->drums_hi - c->drums_lo + 1;
        for (int p = c->drums_lo; p <= c->drums_hi; p++)
            ADD_TOKEN("PitchDrum_%d", p);
    }
    r->tempo_base = -1;
    if (c->use_tempos) {
        r->tempo_base = id;
        r->n_tempo = c->num_tempos;
        for (int i = 0; i < c->num_tempos; i++) {
            char b[24];   /* "Tempo_" and a 2-decimal tempo fit the 32-byte token */
            format_tempo(r->tempos[i], b, sizeof b);
            ADD_TOKEN("Tempo_%s", b);
        }
    }
    r->prog_base = -1;
    for (int i = 0; i < 130; i++)
        r->prog_index[i] = -1;
    for (int i = 0; i < c->n_programs; i++)
        if (r->prog_index[c->programs[i] + 1] < 0)
            r->prog_index[c->programs[i] + 1] = i;
    if (c->use_programs) {
        r->prog_base = id;
        r->n_prog = c->n_programs;
        for (int i = 0; i < c->n_programs; i++)
            ADD_TOKEN("Program_%d", c->programs[i]);
    }
    r->ts_base = -1;
    if (c->use_time_signatures) {
        r->ts_base = id;
        r->n_ts = c->n_timesigs;
        for (int i = 0; i < c->n_timesigs; i++)
            ADD_TOKEN("TimeSig_%d/%d", c->timesigs[i].num, c->timesigs[i].den);
    }
#undef ADD_TOKEN
    r->vocab_size = id;
    for (int i = 0; i < id; i++) {
        size_t n = strlen(r->tokens[i]);
        size_t h = str_hash(r->tokens[i], n) & (r->hash_cap - 1);
        while (r->hash_ids[h])
            h = (h + 1) & (r->hash_cap - 1);
        r->hash_ids[h] = (uint32_t)i + 1;
    }

    /* Ticks per beat tables: every value tpb_per_ts takes, and max_pos (the grid of 4/4 files) */
    for (int i = 0; i < c->n_timesigs; i++) {
        int den = c->timesigs[i].den;
        int tpb = den <= r->max_den ? r->max_pos * (r->max_den / den) : 0;
        int rc = build_tpb(r, tpb);
        if (rc) {
            tx_error_set(err, rc, "remi: %s", rc == TX_ENOMEM ? "out of memory" : "too many beat lengths");
            tx_remi_free(r);
            return NULL;
        }
    }
    int rc = build_tpb(r, r->max_pos);
    if (rc) {
        tx_error_set(err, rc, "remi: out of memory");
        tx_remi_free(r);
        return NULL;
    }
    return r;
}

int tx_remi_vocab_size(const tx_remi *r) { return r->vocab_size; }

const char *tx_remi_token(const tx_remi *r, int id)
{
    return id >= 0 && id < r->vocab_size ? r->tokens[id] : NULL;
}

int tx_remi_id_n(const tx_remi *r, const char *token, size_t n)
{
    size_t h = str_hash(token, n) & (r->hash_cap - 1);
    while (r->hash_ids[h]) {
        int id = (int)r->hash_ids[h] - 1;
        if (strlen(r->tokens[id]) == n && !memcmp(r->tokens[id], token, n))
            return id;
        h = (h + 1) & (r->hash_cap - 1);
    }
    return -1;
}

int tx_remi_id(const tx_remi *r, const char *token) { return tx_remi_id_n(r, token, strlen(token)); }

int tx_remi_ids_to_text(const tx_remi *r, const int32_t *ids, size_t n, tx_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *t = tx_remi_token(r, ids[i]);
        if (i)
            tx_buf_putc(out, ' ');
        tx_buf_puts(out, t ? t : "?");
    }
    return out->oom ? TX_ENOMEM : TX_OK;
}

/* ==================================================================================================
 * Token sequences
 * ================================================================================================== */

void tx_remi_seqs_reset(tx_remi_seqs *q)
{
    q->n_ids = 0;
    q->n_seqs = 0;
}

void tx_remi_seqs_free(tx_remi_seqs *q)
{
    if (!q)
        return;
    tx_free(q->ids);
    tx_free(q->starts);
    tx_free(q->programs);
    memset(q, 0, sizeof *q);
}

static int seqs_reserve(tx_remi_seqs *q, size_t more)
{
    if (q->n_ids + more > q->cap_ids) {
        size_t cap = q->cap_ids;
        if (tx_grow((void **)&q->ids, &cap, q->n_ids + more, sizeof *q->ids))
            return TX_ENOMEM;
        q->cap_ids = cap;
    }
    return TX_OK;
}

static int seqs_open(tx_remi_seqs *q, int program)
{
    if (q->n_seqs + 2 > q->cap_seqs) {
        size_t cap = q->cap_seqs, cap2 = q->cap_seqs;
        if (tx_grow((void **)&q->starts, &cap, q->n_seqs + 2, sizeof *q->starts) ||
            tx_grow((void **)&q->programs, &cap2, q->n_seqs + 2, sizeof *q->programs))
            return TX_ENOMEM;
        q->cap_seqs = cap < cap2 ? cap : cap2;
    }
    q->starts[q->n_seqs] = q->n_ids;
    q->programs[q->n_seqs] = program;
    q->n_seqs++;
    q->starts[q->n_seqs] = q->n_ids;
    return TX_OK;
}

int tx_remi_text_to_ids(const tx_remi *r, const char *text, size_t len, const char *name,
                        tx_remi_seqs *out, tx_error *err)
{
    tx_remi_seqs_reset(out);
    size_t i = 0;
    long line = 0;
    while (i < len) {
        size_t eol = i;
        while (eol < len && text[eol] != '\n')
            eol++;
        line++;
        int opened = 0;
        long tok = 0;
        for (size_t a = i; a < eol;) {
            while (a < eol && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
                a++;
            size_t b = a;
            while (b < eol && text[b] != ' ' && text[b] != '\t' && text[b] != '\r')
                b++;
            if (b == a)
                break;
            tok++;
            int id = tx_remi_id_n(r, text + a, b - a);
            if (id < 0) {
                int rc = tx_error_set(err, TX_ESYNTAX, "%s:%ld: token %ld: unknown token \"%.*s\"", name,
                                      line, tok, (int)(b - a > 64 ? 64 : b - a), text + a);
                if (err) {
                    err->line = line;
                    err->column = (long)(a - i) + 1;
                }
                tx_remi_seqs_reset(out);
                return rc;
            }
            if ((!opened && seqs_open(out, 0)) || seqs_reserve(out, 1)) {
                tx_remi_seqs_reset(out);
                return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
            }
            opened = 1;
            out->ids[out->n_ids++] = id;
            out->starts[out->n_seqs] = out->n_ids;
            a = b;
        }
        i = eol + 1;
    }
    return TX_OK;
}

/* ==================================================================================================
 * Encoding: preprocessing
 * ================================================================================================== */

typedef struct pnote {
    int64_t t;              /* onset on the grid */
    int64_t d;              /* duration in ticks on the grid, snapped to the vocabulary */
    int pitch, vel;         /* vel: index of the velocity bin */
    uint32_t seq;           /* the note's order in its source (tx_note.seq) */
    int dur_tok;            /* duration index, once known */
} pnote;

typedef struct ptrack {
    int program;            /* -1 for drums */
    int is_drum;
    pnote *notes;
    size_t n;
} ptrack;

typedef struct pts { int64_t t; int num, den; } pts;
typedef struct ptempo { int64_t t; int idx; } ptempo;
typedef struct section { int64_t end; int64_t val; } section;

typedef struct enc {
    const tx_remi *r;
    int64_t tpq;            /* the grid: ticks per quarter after resampling */
    ptrack *tracks; size_t n_tracks;
    pts *ts; size_t n_ts;
    ptempo *tempos; size_t n_tempos;
    section *tpb; size_t n_tpb;         /* ticks per beat per time-signature section */
    section *rf; size_t n_rf;           /* resampling factors, when denominators differ */
    pnote *pool;            /* all notes */
    size_t *order;          /* scratch */
} enc;

/* symusic's resample: round(new * t / old), halves away from zero */
static int64_t resample_tick(int64_t t, int64_t to, int64_t from)
{
    int64_t n = t * to;
    if (n >= 0)
        return (2 * n + from) / (2 * from);
    return -((-2 * n + from) / (2 * from));
}

static int64_t floordiv64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t remi_ticks_per_bar(int num, int den, int64_t tpq)
{
    return (int64_t)((double)remi_ticks_per_beat(den, tpq) * (double)num);
}

/* MidiTok's _preprocess_time_signatures(): delay each change to the next bar start, drop repeats. */
static void preprocess_timesigs(pts *ts, size_t *np, int64_t tpq)
{
    size_t n = *np, i = 0;
    int64_t tpbar = remi_ticks_per_bar(ts[0].num, ts[0].den, tpq);
    int64_t prev = 0;
    while (i < n) {
        if (i >= 1 && ts[i].num == ts[i - 1].num && ts[i].den == ts[i - 1].den) {
            memmove(ts + i, ts + i + 1, sizeof *ts * (n - i - 1));
            n--;
            continue;
        }
        if (i >= 1 && ts[i].t < ts[i - 1].t)
            ts[i].t = ts[i - 1].t;
        if (tpbar > 0) {
            int64_t off = floordiv64(ts[i].t - prev, tpbar);
            int64_t rest = ts[i].t - prev - off * tpbar;
            if (rest > 0)
                ts[i].t = prev + (off + 1) * tpbar;
        }
        tpbar = remi_ticks_per_bar(ts[i].num, ts[i].den, tpq);
        prev = ts[i].t;
        if (i >= 1 && ts[i].t == ts[i - 1].t) {
            memmove(ts + i - 1, ts + i, sizeof *ts * (n - i));
            n--;
            if (i >= 2 && ts[i - 1].num == ts[i - 2].num && ts[i - 1].den == ts[i - 2].den) {
                memmove(ts + i - 1, ts + i, sizeof *ts * (n - i));
                n--;
                tpbar = remi_ticks_per_bar(ts[i - 2].num, ts[i - 2].den, tpq);
                prev = ts[i - 2].t;
                i--;
            }
            continue;
        }
        i++;
    }
    if (n == 0 || ts[0].t != 0) {
        memmove(ts + 1, ts, sizeof *ts * n);
        ts[0].t = 0; ts[0].num = 4; ts[0].den = 4;
        n++;
    }
    *np = n;
}

/* (end, value) sections of time signatures; equal successive values merged. */
static size_t make_sections(section *out, const pts *ts, size_t n_ts, int64_t end, int64_t tpq,
                            int factors, int max_pos)
{
    size_t n = 0;
    for (size_t i = 0; i < n_ts; i++) {
        out[n].end = i + 1 < n_ts ? ts[i + 1].t : end;
        if (factors)   /* tpq // (max_pos * (den / 4)), a float floor division in MidiTok */
            out[n].val = (int64_t)floor((double)tpq / ((double)max_pos * ((double)ts[i].den / 4.0)));
        else
            out[n].val = remi_ticks_per_beat(ts[i].den, tpq);
        n++;
    }
    for (size_t i = n - 1; i > 0; i--)
        if (out[i].val == out[i - 1].val) {
            out[i - 1].end = out[i].end;
            memmove(out + i, out + i + 1, sizeof *out * (n - i - 1));
            n--;
        }
    return n;
}

/* np.round(t / f) * f: halves to even */
static int64_t round_to_factor(int64_t t, int64_t f)
{
    return (int64_t)nearbyint((double)t / (double)f) * f;
}

/* MidiTok's _adjust_time_to_tpb() over index ranges [first, last) per section, Python slice rules
 * (bounds clipped, last section open-ended). */
static void adjust_slices(int64_t *const *tp, size_t n, const int64_t *last_idx, const section *rf,
                          size_t n_rf)
{
    int64_t first = 0;
    for (size_t k = 0; k < n_rf; k++) {
        int64_t last = k + 1 == n_rf ? (int64_t)n : last_idx[k];
        int64_t a = first < 0 ? 0 : first, b = last > (int64_t)n ? (int64_t)n : last;
        if (rf[k].val != 1)
            for (int64_t i = a; i < b; i++)
                *tp[i] = round_to_factor(*tp[i], rf[k].val);
        first = last;
    }
}

static int cmp_merge_notes(const void *pa, const void *pb)
{
    const pnote *a = pa, *b = pb;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    if (a->d != b->d) return a->d < b->d ? -1 : 1;
    if (a->pitch != b->pitch) return a->pitch - b->pitch;
    return a->vel - b->vel;   /* raw velocity at this stage */
}

/* Sorts merged notes by (time, duration, pitch, velocity) as symusic's Track.notes.sort() does. Each
 * member track is nearly sorted already (by time), so: insertion-sort runs, then merge them. */
static int sort_merged(pnote *m, size_t n)
{
    size_t n_runs = 0;
    size_t *bounds = tx_malloc(sizeof *bounds * (n + 2));
    pnote *tmp = tx_malloc(sizeof *tmp * (n ? n : 1));
    if (!bounds || !tmp) {
        tx_free(bounds);
        tx_free(tmp);
        return -1;
    }
    /* runs: maximal stretches with non-decreasing time; sort each by the full key */
    size_t lo = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && m[i - 1].t <= m[i].t)
            continue;
        for (size_t a = lo + 1; a < i; a++) {
            pnote x = m[a];
            size_t b = a;
            while (b > lo && cmp_merge_notes(&m[b - 1], &x) > 0) {
                m[b] = m[b - 1];
                b--;
            }
            m[b] = x;
        }
        bounds[n_runs++] = lo;
        lo = i;
    }
    bounds[n_runs] = n;
    pnote *src = m, *dst = tmp;
    while (n_runs > 1) {
        size_t out = 0;
        for (size_t r = 0; r < n_runs; r += 2) {
            size_t a = bounds[r], mid = bounds[r + 1], hi = r + 2 <= n_runs ? bounds[r + 2] : mid;
            size_t i = a, j = mid, o = a;
            while (i < mid && j < hi)
                dst[o++] = cmp_merge_notes(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid) dst[o++] = src[i++];
            while (j < hi) dst[o++] = src[j++];
            bounds[out++] = a;
        }
        bounds[out] = n;
        n_runs = out;
        pnote *t = src; src = dst; dst = t;
    }
    if (src != m)
        memcpy(m, src, sizeof *m * n);
    tx_free(bounds);
    tx_free(tmp);
    return 0;
}

static void enc_free(enc *e)
{
    tx_free(e->tracks);
    tx_free(e->ts);
    tx_free(e->tempos);
    tx_free(e->tpb);
    tx_free(e->rf);
    tx_free(e->pool);
    tx_free(e->order);
}

/* Snaps mspq to the closest tempo (np_get_closest over the ascending mspq values) and returns the
 * index of that tempo in vocabulary order. */
static int snap_tempo(const tx_remi *r, double mspq)
{
    int n = r->cfg.num_tempos, j = 0;
    while (j < n && r->tempo_mspq[j] < mspq)
        j++;
    if (j == n)
        j = n - 1;
    else if (j > 0 && fabs(mspq - r->tempo_mspq[j - 1]) < fabs(mspq - r->tempo_mspq[j]))
        j--;
    return n - 1 - j;
}

static int preprocess(enc *e, const tx_score *s, tx_error *err)
{
    const tx_remi *r = e->r;
    const tx_remi_config *c = &r->cfg;
    int64_t old_tpq = s->tpq > 0 ? s->tpq : 1;

    /* ticks beyond 2^40 (years of music at any resolution) would overflow the resampling products */
    const int64_t lim = (int64_t)1 << 40;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].onset < 0 || s->notes[i].onset > lim || s->notes[i].duration < 0 ||
            s->notes[i].duration > lim)
            return tx_error_set(err, TX_ELIMIT, "remi: note %zu: tick %lld beyond 2^40", i,
                                (long long)s->notes[i].onset);
    for (size_t i = 0; i < s->n_tempos; i++)
        if (s->tempos[i].tick < 0 || s->tempos[i].tick > lim)
            return tx_error_set(err, TX_ELIMIT, "remi: tempo at tick %lld beyond 2^40",
                                (long long)s->tempos[i].tick);
    for (size_t i = 0; i < s->n_timesigs; i++)
        if (s->timesigs[i].tick < 0 || s->timesigs[i].tick > lim)
            return tx_error_set(err, TX_ELIMIT, "remi: time signature at tick %lld beyond 2^40",
                                (long long)s->timesigs[i].tick);

    /* ---- time signatures: filter, mock 4/4 at 0, pick the grid ---- */
    e->ts = tx_malloc(sizeof *e->ts * (s->n_timesigs + 2));
    if (!e->ts)
        return TX_ENOMEM;
    e->n_ts = 0;
    int64_t new_tpq;
    if (c->use_time_signatures) {
        for (size_t i = 0; i < s->n_timesigs; i++)
            if (remi_ts_index(r, s->timesigs[i].num, s->timesigs[i].den) >= 0) {
                e->ts[e->n_ts].t = s->timesigs[i].tick;
                e->ts[e->n_ts].num = s->timesigs[i].num;
                e->ts[e->n_ts].den = s->timesigs[i].den;
                e->n_ts++;
            }
        if (e->n_ts == 0 || e->ts[0].t != 0) {
            memmove(e->ts + 1, e->ts, sizeof *e->ts * e->n_ts);
            e->ts[0].t = 0; e->ts[0].num = 4; e->ts[0].den = 4;
            e->n_ts++;
        }
        int max_den = 0;
        for (size_t i = 0; i < e->n_ts; i++)
            if (e->ts[i].den > max_den)
                max_den = e->ts[i].den;
        new_tpq = (int64_t)((double)r->max_pos * (double)max_den / 4.0);
        if (new_tpq < 1)
            new_tpq = 1;
    } else {
        e->ts[0].t = 0; e->ts[0].num = 4; e->ts[0].den = 4;
        e->n_ts = 1;
        new_tpq = r->max_pos;
    }
    e->tpq = new_tpq;
    int resample = old_tpq != new_tpq;
    if (resample && c->use_time_signatures)   /* the copy is resampled by truncation */
        for (size_t i = 0; i < e->n_ts; i++)
            e->ts[i].t = (int64_t)((double)e->ts[i].t * ((double)new_tpq / (double)old_tpq));

    /* ---- tracks and notes, resampled; notes of a track in the score's order ---- */
    e->tracks = tx_calloc(s->n_tracks ? s->n_tracks : 1, sizeof *e->tracks);
    e->pool = tx_malloc(sizeof *e->pool * (s->n_notes ? s->n_notes : 1));
    e->order = tx_malloc(sizeof *e->order * (s->n_notes + s->n_tempos + 2 * s->n_tracks + 4));
    if (!e->tracks || !e->pool || !e->order)
        return TX_ENOMEM;
    size_t *count = e->order;   /* scratch: per-track counts, then offsets into the pool */
    memset(count, 0, sizeof *count * (s->n_tracks + 1));
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].track < s->n_tracks)
            count[s->notes[i].track + 1]++;
    for (size_t t = 0; t < s->n_tracks; t++) {
        count[t + 1] += count[t];
        e->tracks[t].notes = e->pool + count[t];
        e->tracks[t].n = 0;
        e->tracks[t].is_drum = s->tracks[t].is_drum != 0;
        e->tracks[t].program = s->tracks[t].is_drum ? -1 : s->tracks[t].program;
    }
    e->n_tracks = s->n_tracks;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        if (n->track >= s->n_tracks)
            continue;
        ptrack *tr = &e->tracks[n->track];
        pnote *p = &tr->notes[tr->n++];
        if (resample) {
            p->t = resample_tick(n->onset, new_tpq, old_tpq);
            p->d = resample_tick(n->duration, new_tpq, old_tpq);
            if (p->d < 1)
                p->d = 1;
        } else {
            p->t = n->onset;
            p->d = n->duration;
        }
        p->pitch = n->pitch;
        p->vel = n->velocity;
        p->seq = n->seq;
    }
    /* Notes of a track at one onset come in source order (symusic keeps a MIDI file's note-on order,
     * and MidiTok tokenizes in that order), not in the score's pitch order: order each track by
     * (onset, seq). The score is sorted by onset, so only the short runs of one onset move. */
    for (size_t t = 0; t < e->n_tracks; t++) {
        ptrack *tr = &e->tracks[t];
        for (size_t i = 1; i < tr->n; i++) {
            pnote x = tr->notes[i];
            size_t j = i;
            while (j > 0 && (tr->notes[j - 1].t > x.t ||
                             (tr->notes[j - 1].t == x.t && tr->notes[j - 1].seq > x.seq))) {
                tr->notes[j] = tr->notes[j - 1];
                j--;
            }
            tr->notes[j] = x;
        }
    }

    /* ---- REMI+: merge tracks of one program, notes sorted by (time, duration, pitch, velocity) ---- */
    if (c->use_programs && c->one_token_stream) {
        for (size_t a = 0; a < e->n_tracks; a++) {
            size_t total = e->tracks[a].n, members = 1;
            for (size_t b = a + 1; b < e->n_tracks; b++)
                if (e->tracks[b].program == e->tracks[a].program) {
                    total += e->tracks[b].n;
                    members++;
                }
            if (members < 2)
                continue;
            pnote *m = tx_malloc(sizeof *m * (total ? total : 1));
            if (!m)
                return TX_ENOMEM;
            size_t k = 0;
            memcpy(m, e->tracks[a].notes, sizeof *m * e->tracks[a].n);
            k = e->tracks[a].n;
            for (size_t b = a + 1; b < e->n_tracks;) {
                if (e->tracks[b].program == e->tracks[a].program) {
                    memcpy(m + k, e->tracks[b].notes, sizeof *m * e->tracks[b].n);
                    k += e->tracks[b].n;
                    memmove(e->tracks + b, e->tracks + b + 1, sizeof *e->tracks * (e->n_tracks - b - 1));
                    e->n_tracks--;
                } else {
                    b++;
                }
            }
            if (sort_merged(m, total))   /* full key: stability is moot */
                return TX_ENOMEM;
            e->tracks[a].notes = m;
            e->tracks[a].n = total;
            /* bit 0: drums; bit 1: the track owns its notes array (freed after encoding) */
            e->tracks[a].is_drum = (e->tracks[a].program == -1) | 2;
        }
    }

    /* ---- time signatures: delay to bar starts; sections ---- */
    if (c->use_time_signatures)
        preprocess_timesigs(e->ts, &e->n_ts, new_tpq);
    int64_t end = 0;
    for (size_t t = 0; t < e->n_tracks; t++)
        for (size_t i = 0; i < e->tracks[t].n; i++)
            if (e->tracks[t].notes[i].t + e->tracks[t].notes[i].d > end)
                end = e->tracks[t].notes[i].t + e->tracks[t].notes[i].d;
    e->tpb = tx_malloc(sizeof *e->tpb * (e->n_ts + 1));
    e->rf = tx_malloc(sizeof *e->rf * (e->n_ts + 1));
    if (!e->tpb || !e->rf)
        return TX_ENOMEM;
    if (c->use_time_signatures)
        e->n_tpb = make_sections(e->tpb, e->ts, e->n_ts, end + 1, new_tpq, 0, r->max_pos);
    else {
        e->tpb[0].end = end;
        e->tpb[0].val = new_tpq;
        e->n_tpb = 1;
    }
    e->n_rf = 0;
    if (c->use_time_signatures) {
        int mixed = 0;
        for (size_t i = 1; i < e->n_ts; i++)
            mixed |= e->ts[i].den != e->ts[0].den;
        if (mixed)
            e->n_rf = make_sections(e->rf, e->ts, e->n_ts, end + 1, new_tpq, 1, r->max_pos);
    }

    /* ---- per track: pitch filter, velocity, onsets per section, durations ---- */
    int64_t **tp = NULL;
    int64_t *last_idx = NULL;
    if (e->n_rf) {
        size_t maxn = 0;
        for (size_t t = 0; t < e->n_tracks; t++)
            if (e->tracks[t].n > maxn)
                maxn = e->tracks[t].n;
        if (s->n_tempos + 1 > maxn)
            maxn = s->n_tempos + 1;
        tp = tx_malloc(sizeof *tp * (maxn ? maxn : 1));
        last_idx = tx_malloc(sizeof *last_idx * e->n_rf);
        if (!tp || !last_idx) {
            tx_free(tp);
            tx_free(last_idx);
            return TX_ENOMEM;
        }
    }
    for (size_t t = 0; t < e->n_tracks; t++) {
        ptrack *tr = &e->tracks[t];
        int drum = (tr->is_drum & 1) != 0;
        if (c->use_programs && r->prog_index[tr->program + 1] < 0) {
            tr->n = 0;
            continue;
        }
        int lo = drum && c->use_pitchdrum_tokens ? c->drums_lo : c->pitch_lo;
        int hi = drum && c->use_pitchdrum_tokens ? c->drums_hi : c->pitch_hi;
        size_t k = 0;
        for (size_t i = 0; i < tr->n; i++)
            if (tr->notes[i].pitch >= lo && tr->notes[i].pitch <= hi) {
                tr->notes[k] = tr->notes[i];
                tr->notes[k].vel = r->vel_snap[tr->notes[k].vel & 127];
                k++;
            }
        tr->n = k;
        if (!k)
            continue;
        if (e->n_rf) {
            for (size_t i = 0; i < k; i++)
                tp[i] = &tr->notes[i].t;
            if (c->compat_miditok_bugs) {
                /* MidiTok 3.0.6 __convert_resampling_ratios_ticks_to_idx: each section's last index
                 * is an argmax relative to the previous section's, taken as absolute */
                int64_t first = 0;
                for (size_t q = 0; q < e->n_rf; q++) {
                    if (q + 1 == e->n_rf) {
                        last_idx[q] = (int64_t)k - 1;
                    } else {
                        int64_t rel = 0;
                        for (int64_t i = first; i < (int64_t)k; i++)
                            if (tr->notes[i].t >= e->rf[q].end) {
                                rel = i - first;
                                break;
                            }
                        last_idx[q] = rel;
                    }
                    first = last_idx[q];
                }
                adjust_slices(tp, k, last_idx, e->rf, e->n_rf);
            } else {
                for (size_t i = 0; i < k; i++) {
                    size_t q = 0;
                    while (q + 1 < e->n_rf && tr->notes[i].t >= e->rf[q].end)
                        q++;
                    if (e->rf[q].val != 1)
                        tr->notes[i].t = round_to_factor(tr->notes[i].t, e->rf[q].val);
                }
            }
        }
        /* durations: MidiTok's _adjust_durations, sections by index over the notes' order */
        size_t first = 0;
        int64_t last_time = tr->notes[k - 1].t;
        for (size_t q = 0; q < e->n_tpb; q++) {
            size_t last;
            if (q + 1 == e->n_tpb || e->tpb[q].end > last_time) {
                last = k;
            } else {
                last = first;
                for (size_t i = first; i < k; i++)
                    if (tr->notes[i].t >= e->tpb[q].end) {
                        last = i;
                        break;
                    }
            }
            const tpb_table *tb = find_tpb(r, e->tpb[q].val);
            if (!tb)
                return tx_error_set(err, TX_EUNSUP, "remi: %lld ticks per beat is not in the vocabulary",
                                    (long long)e->tpb[q].val);
            for (size_t i = first; i < last; i++)
                tr->notes[i].d = tb->ticks[snap_duration(tb, tr->notes[i].d, r->n_dur)];
            first = last;
            if (last == k)
                break;
        }
        /* duration tokens: the section of each note's onset (_create_duration_event) */
        for (size_t i = 0; i < k; i++) {
            size_t q = 0;
            while (q + 1 < e->n_tpb && tr->notes[i].t >= e->tpb[q].end)
                q++;
            const tpb_table *tb = find_tpb(r, e->tpb[q].val);
            int found = -1;
            if (tb) {
                int j = snap_duration(tb, tr->notes[i].d, r->n_dur);
                if (tb->ticks[j] == tr->notes[i].d)
                    found = j;
            }
            if (found < 0) {
                tx_free(tp);
                tx_free(last_idx);
                return tx_error_set(err, TX_EUNSUP, "remi: tick %lld: duration %lld has no token",
                                    (long long)tr->notes[i].t, (long long)tr->notes[i].d);
            }
            tr->notes[i].dur_tok = found;
        }
    }

    /* ---- tempos ---- */
    e->tempos = tx_malloc(sizeof *e->tempos * (s->n_tempos + 1));
    if (!e->tempos) {
        tx_free(tp);
        tx_free(last_idx);
        return TX_ENOMEM;
    }
    e->n_tempos = 0;
    if (c->use_tempos) {
        for (size_t i = 0; i < s->n_tempos; i++) {
            e->tempos[i].t = resample ? resample_tick(s->tempos[i].tick, new_tpq, old_tpq)
                                      : s->tempos[i].tick;
            e->tempos[i].idx = snap_tempo(r, (double)s->tempos[i].usec_per_quarter);
        }
        size_t n = s->n_tempos;
        if (e->n_rf && n) {
            if (c->compat_miditok_bugs) {
                /* MidiTok passes the tick-valued section ends as indices here */
                for (size_t i = 0; i < n; i++)
                    tp[i] = &e->tempos[i].t;
                for (size_t q = 0; q < e->n_rf; q++)
                    last_idx[q] = e->rf[q].end;
                adjust_slices(tp, n, last_idx, e->rf, e->n_rf);
            } else {
                for (size_t i = 0; i < n; i++) {
                    size_t q = 0;
                    while (q + 1 < e->n_rf && e->tempos[i].t >= e->rf[q].end)
                        q++;
                    if (e->rf[q].val != 1)
                        e->tempos[i].t = round_to_factor(e->tempos[i].t, e->rf[q].val);
                }
            }
        }
        /* of tempos at one tick keep the last */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (k > 0 && e->tempos[k - 1].t == e->tempos[i].t)
                k--;
            e->tempos[k++] = e->tempos[i];
        }
        if (k == 0 || e->tempos[0].t != 0) {
            memmove(e->tempos + 1, e->tempos, sizeof *e->tempos * k);
            e->tempos[0].t = 0;
            e->tempos[0].idx = r->default_tempo;
            k++;
        }
        e->n_tempos = k;
    }
    tx_free(tp);
    tx_free(last_idx);
    return TX_OK;
}

/* ==================================================================================================
 * Encoding: events and time tokens
 * ================================================================================================== */

enum { EV_TS = 0, EV_TEMPO = 1, EV_NOTE = 2 };

typedef struct event {
    int64_t t;
    uint32_t kind : 2;
    uint32_t track : 30;
    uint32_t index;
} event;

/* Stable sort by time (events of one time keep their order: time signatures, tempos, then tracks in
 * order). The input is a few sorted runs (one per list), so a natural merge sort takes log2(runs)
 * passes. */
static int sort_events(event *ev, size_t n)
{
    size_t n_runs = 1;
    for (size_t i = 1; i < n; i++)
        n_runs += ev[i - 1].t > ev[i].t;
    if (n_runs <= 1)
        return TX_OK;
    event *tmp = tx_malloc(sizeof *tmp * n);
    size_t *bounds = tx_malloc(sizeof *bounds * (n_runs + 1));
    if (!tmp || !bounds) {
        tx_free(tmp);
        tx_free(bounds);
        return TX_ENOMEM;
    }
    size_t k = 0;
    bounds[k++] = 0;
    for (size_t i = 1; i < n; i++)
        if (ev[i - 1].t > ev[i].t)
            bounds[k++] = i;
    bounds[k] = n;
    event *src = ev, *dst = tmp;
    while (n_runs > 1) {
        size_t out_runs = 0;
        for (size_t r = 0; r < n_runs; r += 2) {
            size_t lo = bounds[r], mid = bounds[r + 1], hi = r + 2 <= n_runs ? bounds[r + 2] : mid;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = src[j].t < src[i].t ? src[j++] : src[i++];
            while (i < mid) dst[o++] = src[i++];
            while (j < hi) dst[o++] = src[j++];
            bounds[out_runs++] = lo;
        }
        bounds[out_runs] = n;
        n_runs = out_runs;
        event *t = src; src = dst; dst = t;
    }
    if (src != ev)
        memcpy(ev, src, sizeof *ev * n);
    tx_free(tmp);
    tx_free(bounds);
    return TX_OK;
}

typedef struct timer {
    int64_t tpq;
    int max_pos;
    int64_t current_bar, bar_at_last_ts, tick_at_last_ts, tick_at_bar, previous_tick;
    int num, den;
    int64_t ticks_per_bar, ticks_per_pos;
} timer;

static void timer_set_ts(timer *tm, int num, int den)
{
    tm->num = num;
    tm->den = den;
    tm->ticks_per_bar = remi_ticks_per_bar(num, den, tm->tpq);
    tm->ticks_per_pos = remi_ticks_per_beat(den, tm->tpq) / tm->max_pos;
    if (tm->ticks_per_pos < 1)
        tm->ticks_per_pos = 1;
    if (tm->ticks_per_bar < 1)
        tm->ticks_per_bar = 1;
}

static int encode_events(const enc *e, const event *ev, size_t n, tx_remi_seqs *q, tx_error *err)
{
    const tx_remi *r = e->r;
    const tx_remi_config *c = &r->cfg;
    timer tm = {0};
    tm.tpq = e->tpq;
    tm.max_pos = r->max_pos;
    tm.current_bar = -1;
    tm.previous_tick = -1;
    int num = 4, den = 4;
    if (c->use_time_signatures)
        for (size_t i = 0; i < n; i++)
            if (ev[i].kind == EV_TS) {
                num = e->ts[ev[i].index].num;
                den = e->ts[ev[i].index].den;
                break;
            }
    timer_set_ts(&tm, num, den);
    /* a rough upper bound of the tokens of this sequence, reserved in chunks as we go */
    for (size_t i = 0; i < n; i++) {
        const event *x = &ev[i];
        if (seqs_reserve(q, 8))
            return tx_error_set(err, TX_ENOMEM, "remi: out of memory");
        if (x->t != tm.previous_tick) {
            /* Bar tokens up to x->t */
            int64_t nb = tm.bar_at_last_ts + floordiv64(x->t - tm.tick_at_last_ts, tm.ticks_per_bar) -
                         tm.current_bar;
            if (nb > 0) {
                if (nb > (int64_t)1 << 24)
                    return tx_error_set(err, TX_ELIMIT, "remi: tick %lld: more than 2^24 empty bars",
                                        (long long)x->t);
                if (seqs_reserve(q, (size_t)nb * 2 + 8))
                    return tx_error_set(err, TX_ENOMEM, "remi: out of memory");
                int ts_id = c->use_time_signatures ? r->ts_base + remi_ts_index(r, tm.num, tm.den) : -1;
                for (int64_t b = 0; b < nb; b++) {
                    tm.current_bar++;
                    tm.tick_at_bar = tm.tick_at_last_ts + (tm.current_bar - tm.bar_at_last_ts) * tm.ticks_per_bar;
                    q->ids[q->n_ids++] = r->bar_id;
                    if (c->use_time_signatures && !(x->kind == EV_TS && b + 1 == nb))
                        q->ids[q->n_ids++] = ts_id;
                }
            }
            if (x->kind != EV_TS) {
                int64_t p = floordiv64(x->t - tm.tick_at_bar, tm.ticks_per_pos);
                if (p < 0 || p >= r->n_pos)
                    return tx_error_set(err, TX_EUNSUP, "remi: tick %lld: position %lld has no token",
                                        (long long)x->t, (long long)p);
                q->ids[q->n_ids++] = r->pos_base + (int)p;
            }
            tm.previous_tick = x->t;
        }
        switch (x->kind) {
        case EV_TS: {
            const pts *t = &e->ts[x->index];
            tm.bar_at_last_ts += floordiv64(x->t - tm.tick_at_last_ts, tm.ticks_per_bar);
            tm.tick_at_last_ts = x->t;
            timer_set_ts(&tm, t->num, t->den);
            tm.previous_tick -= 1;
            q->ids[q->n_ids++] = r->ts_base + remi_ts_index(r, t->num, t->den);
            break;
        }
        case EV_TEMPO:
            q->ids[q->n_ids++] = r->tempo_base + e->tempos[x->index].idx;
            break;
        default: {
            const ptrack *tr = &e->tracks[x->track];
            const pnote *nt = &tr->notes[x->index];
            int drum = (tr->is_drum & 1) != 0;
            if (c->use_programs)
                q->ids[q->n_ids++] = r->prog_base + r->prog_index[tr->program + 1];
            if (drum && c->use_pitchdrum_tokens)
                q->ids[q->n_ids++] = r->drum_base + nt->pitch - c->drums_lo;
            else
                q->ids[q->n_ids++] = r->pitch_base + nt->pitch - c->pitch_lo;
            q->ids[q->n_ids++] = r->vel_base + nt->vel;
            q->ids[q->n_ids++] = r->dur_base + nt->dur_tok;
            break;
        }
        }
    }
    q->starts[q->n_seqs] = q->n_ids;
    return TX_OK;
}

static size_t add_global_events(const enc *e, event *ev)
{
    size_t n = 0;
    if (e->r->cfg.use_time_signatures)
        for (size_t i = 0; i < e->n_ts; i++) {
            ev[n].t = e->ts[i].t; ev[n].kind = EV_TS; ev[n].track = 0; ev[n].index = (uint32_t)i;
            n++;
        }
    for (size_t i = 0; i < e->n_tempos; i++) {
        ev[n].t = e->tempos[i].t; ev[n].kind = EV_TEMPO; ev[n].track = 0; ev[n].index = (uint32_t)i;
        n++;
    }
    return n;
}

int tx_remi_encode(const tx_remi *r, const tx_score *s, tx_remi_seqs *out, tx_error *err)
{
    tx_remi_seqs_reset(out);
    if (s->n_tracks > ((size_t)1 << 30) || s->n_notes > UINT32_MAX)
        return tx_error_set(err, TX_ELIMIT, "remi: score too large");
    enc e;
    memset(&e, 0, sizeof e);
    e.r = r;
    int rc = preprocess(&e, s, err);
    if (rc) {
        if (rc == TX_ENOMEM)
            tx_error_set(err, rc, "remi: out of memory");
        goto done;
    }
    size_t total = 0, kept = 0;
    for (size_t t = 0; t < e.n_tracks; t++) {
        total += e.tracks[t].n;
        kept += e.tracks[t].n > 0;
    }
    size_t n_glob = (r->cfg.use_time_signatures ? e.n_ts : 0) + e.n_tempos;
    event *ev = tx_malloc(sizeof *ev * (total + n_glob + 1));
    if (!ev) {
        rc = tx_error_set(err, TX_ENOMEM, "remi: out of memory");
        goto done;
    }
    if (r->cfg.one_token_stream) {
        size_t n = add_global_events(&e, ev);
        for (size_t t = 0; t < e.n_tracks; t++)
            for (size_t i = 0; i < e.tracks[t].n; i++) {
                ev[n].t = e.tracks[t].notes[i].t; ev[n].kind = EV_NOTE;
                ev[n].track = (uint32_t)t; ev[n].index = (uint32_t)i;
                n++;
            }
        if ((rc = sort_events(ev, n)) || (rc = seqs_open(out, 0)) ||
            (rc = seqs_reserve(out, n * 5 + 16))) {
            rc = tx_error_set(err, TX_ENOMEM, "remi: out of memory");
        } else {
            rc = encode_events(&e, ev, n, out, err);
        }
    } else {
        for (size_t t = 0; t < e.n_tracks && !rc; t++) {
            if (!e.tracks[t].n)
                continue;
            size_t n = add_global_events(&e, ev);
            for (size_t i = 0; i < e.tracks[t].n; i++) {
                ev[n].t = e.tracks[t].notes[i].t; ev[n].kind = EV_NOTE;
                ev[n].track = (uint32_t)t; ev[n].index = (uint32_t)i;
                n++;
            }
            if ((rc = sort_events(ev, n)) || (rc = seqs_open(out, e.tracks[t].program)) ||
                (rc = seqs_reserve(out, n * 5 + 16)))
                rc = tx_error_set(err, TX_ENOMEM, "remi: out of memory");
            else
                rc = encode_events(&e, ev, n, out, err);
        }
    }
    tx_free(ev);
done:
    for (size_t t = 0; t < e.n_tracks; t++)
        if (e.tracks && (e.tracks[t].is_drum & 2))
            tx_free(e.tracks[t].notes);
    enc_free(&e);
    if (rc)
        tx_remi_seqs_reset(out);
    return rc;
}

