/* score.c: the score model: building, canonical order, checks, time and bar arithmetic, names,
 * and comparison. It knows nothing about file formats. */
#include "score.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

tx_score *tx_score_new(int tpq)
{
    tx_score *s = tx_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->tpq = tpq < 1 ? 1 : tpq > TX_MAX_TPQ ? TX_MAX_TPQ : tpq;
    tx_arena_init(&s->arena);
    return s;
}

void tx_score_free(tx_score *s)
{
    if (!s)
        return;
    tx_free(s->notes);
    tx_free(s->tracks);
    tx_free(s->tempos);
    tx_free(s->timesigs);
    tx_free(s->keysigs);
    tx_free(s->texts);
    tx_free(s->meta);
    tx_arena_free(&s->arena);
    tx_free(s);
}

/* ---- builders ---- */

/* Appends one zeroed element to a score array; NULL when out of memory. */
#define PUSH(s, arr, n, cap) \
    (tx_grow((void **)&(s)->arr, &(s)->cap, (s)->n + 1, sizeof *(s)->arr) ? NULL \
        : memset(&(s)->arr[(s)->n++], 0, sizeof *(s)->arr))

int tx_score_add_track(tx_score *s, const char *name, int program, int channel, int is_drum, int *index)
{
    if (s->n_tracks >= TX_MAX_TRACKS || program < 0 || program > 127 || channel < -1 || channel > 15)
        return TX_EINVAL;
    const char *nm = tx_arena_strdup(&s->arena, name ? name : "");
    tx_track *t = nm ? PUSH(s, tracks, n_tracks, cap_tracks) : NULL;
    if (!t)
        return TX_ENOMEM;
    t->name = nm;
    t->program = program;
    t->channel = channel;
    t->is_drum = is_drum != 0;
    if (index)
        *index = (int)(s->n_tracks - 1);
    return TX_OK;
}

int tx_score_add_note(tx_score *s, tx_tick onset, tx_tick duration, int pitch, int velocity, int track,
                      unsigned flags)
{
    if (onset < 0 || duration < 0 || pitch < 0 || pitch > 127 || velocity < 1 || velocity > 127 ||
        track < 0 || (size_t)track >= s->n_tracks)
        return TX_EINVAL;
    tx_note *n = PUSH(s, notes, n_notes, cap_notes);
    if (!n)
        return TX_ENOMEM;
    n->onset = onset;
    n->duration = duration;
    n->pitch = (uint8_t)pitch;
    n->velocity = (uint8_t)velocity;
    n->track = (uint16_t)track;
    n->flags = flags;
    n->seq = (uint32_t)(s->n_notes - 1);
    return TX_OK;
}

int tx_score_add_tempo(tx_score *s, tx_tick tick, uint32_t usec_per_quarter)
{
    if (tick < 0 || usec_per_quarter < 1 || usec_per_quarter > 0xffffff)
        return TX_EINVAL;
    tx_tempo *t = PUSH(s, tempos, n_tempos, cap_tempos);
    if (!t)
        return TX_ENOMEM;
    t->tick = tick;
    t->usec_per_quarter = usec_per_quarter;
    return TX_OK;
}

int tx_score_add_timesig(tx_score *s, tx_tick tick, int num, int den)
{
    if (tick < 0 || num < 1 || num > 255 || den < 1 || den > 128 || (den & (den - 1)))
        return TX_EINVAL;
    tx_timesig *t = PUSH(s, timesigs, n_timesigs, cap_timesigs);
    if (!t)
        return TX_ENOMEM;
    t->tick = tick;
    t->num = num;
    t->den = den;
    return TX_OK;
}

int tx_score_add_keysig(tx_score *s, tx_tick tick, int fifths, int mode)
{
    if (tick < 0 || fifths < -7 || fifths > 7 || mode < 0 || mode >= TX_NMODES)
        return TX_EINVAL;
    tx_keysig *k = PUSH(s, keysigs, n_keysigs, cap_keysigs);
    if (!k)
        return TX_ENOMEM;
    k->tick = tick;
    k->fifths = fifths;
    k->mode = mode;
    return TX_OK;
}

int tx_score_add_text(tx_score *s, tx_tick tick, int track, int kind, const char *text)
{
    if (tick < 0 || track < -1 || (track >= 0 && (size_t)track >= s->n_tracks) || kind < 0 ||
        kind >= TX_NTEXTS || !text)
        return TX_EINVAL;
    const char *copy = tx_arena_strdup(&s->arena, text);
    tx_text *t = copy ? PUSH(s, texts, n_texts, cap_texts) : NULL;
    if (!t)
        return TX_ENOMEM;
    t->tick = tick;
    t->track = track;
    t->kind = kind;
    t->text = copy;
    return TX_OK;
}

int tx_score_set_meta(tx_score *s, const char *key, const char *value)
{
    if (!key || !value)
        return TX_EINVAL;
    const char *v = tx_arena_strdup(&s->arena, value);
    if (!v)
        return TX_ENOMEM;
    for (size_t i = 0; i < s->n_meta; i++)
        if (strcmp(s->meta[i].key, key) == 0) {
            s->meta[i].value = v;
            return TX_OK;
        }
    const char *k = tx_arena_strdup(&s->arena, key);
    tx_meta *m = k ? PUSH(s, meta, n_meta, cap_meta) : NULL;
    if (!m)
        return TX_ENOMEM;
    m->key = k;
    m->value = v;
    return TX_OK;
}

const char *tx_score_meta(const tx_score *s, const char *key)
{
    for (size_t i = 0; i < s->n_meta; i++)
        if (strcmp(s->meta[i].key, key) == 0)
            return s->meta[i].value;
    return NULL;
}

/* ---- canonical order ---- */

static int note_cmp(const tx_note *a, const tx_note *b)
{
    if (a->onset != b->onset)
        return a->onset < b->onset ? -1 : 1;
    if (a->pitch != b->pitch)
        return a->pitch < b->pitch ? -1 : 1;
    if (a->track != b->track)
        return a->track < b->track ? -1 : 1;
    if (a->duration != b->duration)
        return a->duration < b->duration ? -1 : 1;
    if (a->velocity != b->velocity)
        return a->velocity < b->velocity ? -1 : 1;
    if (a->flags != b->flags)
        return a->flags < b->flags ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* A stable merge sort of n elements of `size` bytes that start with a tx_tick key (for the maps and
 * texts) or compare with note_cmp (for notes). Bottom-up, one scratch buffer: qsort is not stable,
 * and the order of events at one tick carries meaning (the last tempo at a tick wins). */
static int merge_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return TX_OK;
    char *tmp = tx_malloc(n * size);
    if (!tmp)
        return TX_ENOMEM;
    char *src = base, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(src + j * size, src + i * size) < 0)
                    memcpy(dst + k++ * size, src + j++ * size, size);
                else
                    memcpy(dst + k++ * size, src + i++ * size, size);
            }
            memcpy(dst + k * size, src + i * size, (mid - i) * size);
            k += mid - i;
            memcpy(dst + k * size, src + j * size, (hi - j) * size);
        }
        char *t = src;
        src = dst;
        dst = t;
    }
    if (src != base)
        memcpy(base, src, n * size);
    tx_free(tmp);
    return TX_OK;
}

static int note_cmp_v(const void *a, const void *b)
{
    return note_cmp(a, b);
}

static int tick_cmp_v(const void *a, const void *b)
{
    tx_tick x = *(const tx_tick *)a, y = *(const tx_tick *)b;   /* every map struct starts with tick */
    return (x > y) - (x < y);
}

/* Keeps the last of several entries at one tick; returns the new count. */
static size_t dedup_last(void *base, size_t n, size_t size)
{
    char *p = base;
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && *(tx_tick *)(p + i * size) == *(tx_tick *)(p + (i + 1) * size))
            continue;
        if (out != i)
            memcpy(p + out * size, p + i * size, size);
        out++;
    }
    return out;
}

/* Sorting is skipped for arrays already in order: readers that build in order (MIDI's adaptive merge)
 * then pay one linear check rather than a merge sort. */
static int sorted(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = base;
    for (size_t i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0)
            return 0;
    return 1;
}

static int sort_if_needed(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    return sorted(base, n, size, cmp) ? TX_OK : merge_sort(base, n, size, cmp);
}

int tx_score_sort(tx_score *s)
{
    if (sort_if_needed(s->notes, s->n_notes, sizeof *s->notes, note_cmp_v) ||
        sort_if_needed(s->tempos, s->n_tempos, sizeof *s->tempos, tick_cmp_v) ||
        sort_if_needed(s->timesigs, s->n_timesigs, sizeof *s->timesigs, tick_cmp_v) ||
        sort_if_needed(s->keysigs, s->n_keysigs, sizeof *s->keysigs, tick_cmp_v) ||
        sort_if_needed(s->texts, s->n_texts, sizeof *s->texts, tick_cmp_v))
        return TX_ENOMEM;
    s->n_tempos = dedup_last(s->tempos, s->n_tempos, sizeof *s->tempos);
    s->n_timesigs = dedup_last(s->timesigs, s->n_timesigs, sizeof *s->timesigs);
    s->n_keysigs = dedup_last(s->keysigs, s->n_keysigs, sizeof *s->keysigs);
    return TX_OK;
}

int tx_score_check(const tx_score *s, tx_error *err)
{
    if (s->tpq < 1 || s->tpq > TX_MAX_TPQ)
        return tx_error_set(err, TX_EINVAL, "resolution %d out of range", s->tpq);
    if (s->pickup < 0)
        return tx_error_set(err, TX_EINVAL, "negative pickup");
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        if (n->onset < 0 || n->duration < 0 || n->pitch > 127 || n->velocity < 1 || n->velocity > 127 ||
            n->track >= s->n_tracks)
            return tx_error_set(err, TX_EINVAL, "note %zu out of range", i);
        if (i && note_cmp(&s->notes[i - 1], n) > 0)
            return tx_error_set(err, TX_EINVAL, "note %zu out of order", i);
    }
#define CHECK_TICKS(arr, n, what) \
    for (size_t i = 0; i < s->n; i++) \
        if (s->arr[i].tick < 0 || (i && s->arr[i - 1].tick > s->arr[i].tick)) \
            return tx_error_set(err, TX_EINVAL, what " %zu out of order", i);
    CHECK_TICKS(tempos, n_tempos, "tempo")
    CHECK_TICKS(timesigs, n_timesigs, "time signature")
    CHECK_TICKS(keysigs, n_keysigs, "key signature")
    CHECK_TICKS(texts, n_texts, "text")
#undef CHECK_TICKS
    return TX_OK;
}

/* ---- time ---- */

tx_tick tx_score_end_tick(const tx_score *s)
{
    tx_tick end = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].onset + s->notes[i].duration > end)
            end = s->notes[i].onset + s->notes[i].duration;
    return end;
}

uint32_t tx_score_tempo_at(const tx_score *s, tx_tick tick)
{
    uint32_t t = TX_DEFAULT_TEMPO;
    for (size_t i = 0; i < s->n_tempos && s->tempos[i].tick <= tick; i++)
        t = s->tempos[i].usec_per_quarter;
    return t;
}

double tx_score_seconds(const tx_score *s, tx_tick tick)
{
    double sec = 0;
    tx_tick at = 0;
    uint32_t tempo = TX_DEFAULT_TEMPO;
    for (size_t i = 0; i < s->n_tempos && s->tempos[i].tick < tick; i++) {
        sec += (double)(s->tempos[i].tick - at) * tempo / (1e6 * s->tpq);
        at = s->tempos[i].tick;
        tempo = s->tempos[i].usec_per_quarter;
    }
    return sec + (double)(tick - at) * tempo / (1e6 * s->tpq);
}

__extension__ typedef __int128 i128;

/* round(t * to / from), halves away from zero, without overflow for SMF-sized values */
static tx_tick rescale(tx_tick t, int to, int from)
{
    i128 x = (i128)t * to * 2;
    i128 q = x / from;
    q = q >= 0 ? (q + 1) / 2 : (q - 1) / 2;
    return (tx_tick)q;
}

int tx_score_resample(tx_score *s, int tpq)
{
    if (tpq < 1 || tpq > TX_MAX_TPQ)
        return TX_EINVAL;
    if (tpq == s->tpq)
        return TX_OK;
    int from = s->tpq;
    for (size_t i = 0; i < s->n_notes; i++) {
        tx_note *n = &s->notes[i];
        tx_tick was = n->duration, end = rescale(n->onset + n->duration, tpq, from);
        n->onset = rescale(n->onset, tpq, from);
        n->duration = end - n->onset;
        if (n->duration <= 0)
            n->duration = was > 0 ? 1 : 0;
    }
#define RESCALE(arr, n) for (size_t i = 0; i < s->n; i++) s->arr[i].tick = rescale(s->arr[i].tick, tpq, from);
    RESCALE(tempos, n_tempos)
    RESCALE(timesigs, n_timesigs)
    RESCALE(keysigs, n_keysigs)
    RESCALE(texts, n_texts)
#undef RESCALE
    s->pickup = rescale(s->pickup, tpq, from);
    s->tpq = tpq;
    return tx_score_sort(s);
}

/* ---- bars and beats ---- */

/* The signature segments: segment i starts at tick start(i) with the signature timesigs[i], or one
 * implied 4/4 segment at 0 when the score has none or its first signature comes later (then the
 * implied 4/4 covers the ticks before it). */
typedef struct segment {
    tx_tick start, end;     /* end: the next segment's start, or -1 for the last */
    tx_tick anchor;         /* a tick where a bar line falls (for a pickup: the pickup's end) */
    tx_tick bar_len;
    int64_t first_bar;      /* index of the bar that contains `start` */
    int num, den;
} segment;

static tx_tick bar_len_of(int tpq, int num, int den)
{
    tx_tick l = (tx_tick)tpq * 4 * num / den;
    return l > 0 ? l : 1;
}

/* floor division for a possibly negative numerator */
static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Fills seg with the segment that contains tick (tick >= 0). Walks the map: O(number of signatures). */
static void find_segment(const tx_score *s, tx_tick tick, segment *seg)
{
    size_t n = s->n_timesigs;
    int implied = n == 0 || s->timesigs[0].tick > 0;
    size_t count = n + (size_t)implied;
    int64_t bar = 0;
    for (size_t k = 0; k < count; k++) {
        const tx_timesig *ts = implied ? (k == 0 ? NULL : &s->timesigs[k - 1]) : &s->timesigs[k];
        segment g;
        g.start = ts ? ts->tick : 0;
        g.num = ts ? ts->num : 4;
        g.den = ts ? ts->den : 4;
        g.bar_len = bar_len_of(s->tpq, g.num, g.den);
        g.anchor = (k == 0 && s->pickup > 0) ? s->pickup : g.start;
        g.first_bar = bar;
        if (k + 1 < count) {
            const tx_timesig *nx = implied ? &s->timesigs[k] : &s->timesigs[k + 1];
            g.end = nx->tick;
        } else {
            g.end = -1;
        }
        if (k == 0 && s->pickup > 0)
            g.first_bar = 0;   /* bar 0 is the pickup */
        if (g.end < 0 || tick < g.end) {
            *seg = g;
            return;
        }
        /* bars touched by [start, end): from the bar of `start` to the bar of end - 1 */
        int64_t b0 = floordiv(g.start - g.anchor, g.bar_len);
        int64_t b1 = g.end > g.start ? floordiv(g.end - 1 - g.anchor, g.bar_len) : b0 - 1;
        bar = g.first_bar + (b1 - b0) + 1;
    }
    /* unreachable: the last segment has end == -1 */
    memset(seg, 0, sizeof *seg);
}

void tx_score_locate(const tx_score *s, tx_tick tick, tx_barpos *out)
{
    if (tick < 0)
        tick = 0;
    segment g;
    find_segment(s, tick, &g);
    int64_t rel = floordiv(tick - g.anchor, g.bar_len);        /* bar relative to the anchor */
    int64_t rel0 = floordiv(g.start - g.anchor, g.bar_len);
    tx_tick start = g.anchor + rel * g.bar_len;
    if (start < g.start && !(g.anchor != g.start && rel < 0)) {
        /* the segment began inside a bar of its grid: that partial bar starts at the change */
        start = g.start;
    }
    out->bar = g.first_bar + (rel - rel0);
    if (g.anchor != g.start) {
        /* first segment with a pickup: bar 0 is the pickup, bars of the grid count from 1 */
        out->bar = rel < 0 ? 0 : 1 + rel;
    }
    out->bar_start = start;
    out->bar_length = g.bar_len;
    out->offset = tick - start;
    out->num = g.num;
    out->den = g.den;
    out->beat_ticks = (tx_tick)s->tpq * 4 / g.den;
    if (out->beat_ticks < 1)
        out->beat_ticks = 1;
    out->beat = (int)(out->offset / out->beat_ticks);
    out->beat_offset = out->offset - (tx_tick)out->beat * out->beat_ticks;
}

tx_tick tx_score_bar_tick(const tx_score *s, int64_t bar)
{
    if (bar <= 0)
        return 0;
    /* Bars are monotonic in tick: binary search over [0, a generous upper bound]. */
    tx_tick lo = 0, hi = 1;
    tx_barpos p;
    for (;;) {
        tx_score_locate(s, hi, &p);
        if (p.bar >= bar || hi > ((tx_tick)1 << 60))
            break;
        hi *= 2;
    }
    while (lo < hi) {   /* first tick whose bar is >= bar */
        tx_tick mid = lo + (hi - lo) / 2;
        tx_score_locate(s, mid, &p);
        if (p.bar >= bar)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int64_t tx_score_bar_count(const tx_score *s)
{
    if (s->n_notes == 0)
        return 0;
    tx_tick last = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        tx_tick e = s->notes[i].onset + (s->notes[i].duration > 0 ? s->notes[i].duration - 1 : 0);
        if (e > last)
            last = e;
    }
    tx_barpos p;
    tx_score_locate(s, last, &p);
    return p.bar + 1;
}

/* ---- names ---- */

const char *tx_pitch_class_name(int pc, int fifths)
{
    static const char *const sharp[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
    static const char *const flat[12] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};
    pc = ((pc % 12) + 12) % 12;
    return fifths < 0 ? flat[pc] : sharp[pc];
}

const char *tx_pitch_name(int pitch, int fifths, char *buf)
{
    snprintf(buf, 16, "%s%d", tx_pitch_class_name(pitch, fifths), pitch / 12 - 1);
    return buf;
}

const char *tx_mode_name(int mode)
{
    static const char *const names[TX_NMODES] = {"major", "minor", "ionian", "dorian", "phrygian",
                                                 "lydian", "mixolydian", "aeolian", "locrian", "none"};
    return mode >= 0 && mode < TX_NMODES ? names[mode] : "?";
}

int tx_key_tonic(int fifths, int mode)
{
    /* semitones from the major tonic of the signature to the mode's tonic */
    static const int shift[TX_NMODES] = {0, 9, 0, 2, 4, 5, 7, 9, 11, 0};
    int major = ((fifths * 7) % 12 + 12) % 12;
    return (major + shift[mode >= 0 && mode < TX_NMODES ? mode : 0]) % 12;
}

const char *tx_key_name(int fifths, int mode, char *buf)
{
    if (mode == TX_MODE_NONE) {
        snprintf(buf, 24, "none");
        return buf;
    }
    /* Spell the tonic the way the signature does: F# major has sharps, Gb major flats. */
    static const char *const sharp_major[8] = {"C", "G", "D", "A", "E", "B", "F#", "C#"};
    static const char *const flat_major[8] = {"C", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb"};
    static const char *const letters = "CDEFGAB";
    static const int degree[TX_NMODES] = {0, 5, 0, 1, 2, 3, 4, 5, 6, 0};  /* scale step of the tonic */
    int f = fifths < -7 ? -7 : fifths > 7 ? 7 : fifths;
    const char *maj = f >= 0 ? sharp_major[f] : flat_major[-f];
    int m = mode >= 0 && mode < TX_NMODES ? mode : 0;
    int step = (int)(strchr(letters, maj[0]) - letters);
    char letter = letters[(step + degree[m]) % 7];
    /* accidental: compare the natural letter's pitch class with the tonic's */
    static const int natural[7] = {0, 2, 4, 5, 7, 9, 11};
    int tonic = tx_key_tonic(f, m);
    int diff = ((tonic - natural[strchr(letters, letter) - letters]) % 12 + 12) % 12;
    const char *acc = diff == 1 ? "#" : diff == 11 ? "b" : diff == 2 ? "##" : diff == 10 ? "bb" : "";
    snprintf(buf, 24, "%c%s %s", letter, acc, tx_mode_name(m));
    return buf;
}

const char *tx_text_kind_name(int kind)
{
    static const char *const names[TX_NTEXTS] = {"text", "copyright", "lyric", "marker", "cue",
                                                 "instrument", "chord", "annotation"};
    return kind >= 0 && kind < TX_NTEXTS ? names[kind] : "?";
}

const char *tx_gm_program_name(int program)
{
    static const char *const names[128] = {
        "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
        "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
        "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer", "Drawbar Organ",
        "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
        "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
        "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)",
        "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass",
        "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
        "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
        "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
        "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
        "Synth Voice", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn",
        "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax", "Tenor Sax",
        "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo", "Flute", "Recorder",
        "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina", "Lead 1 (square)",
        "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
        "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)", "Pad 1 (new age)", "Pad 2 (warm)",
        "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)",
        "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)",
        "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo",
        "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo",
        "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
        "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter",
        "Applause", "Gunshot"};
    return program >= 0 && program < 128 ? names[program] : "?";
}

/* ---- hashing ---- */

/* One step of a multiply-xorshift mix: cheap, and every input bit reaches every output bit after a
 * couple of steps (FNV-1a over the bytes cost a quarter of a corpus run). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* rescale() without 128-bit division for the values real scores have */
static tx_tick to_grid(tx_tick t, int grid, int tpq)
{
    if (t >= 0 && t < ((tx_tick)1 << 40)) {
        tx_tick x = t * grid * 2 / tpq;
        return (x + 1) / 2;
    }
    return rescale(t, grid, tpq);
}

uint64_t tx_score_music_hash(const tx_score *s)
{
    if (s->n_notes == 0)
        return 0;
    /* Times go to a fine common grid (3840 per quarter: 2^8 * 3 * 5, exact for the usual divisions
     * and tuplets) so that one piece at two resolutions hashes the same. The notes are in canonical
     * order already, but notes of one onset and pitch in different tracks can sort by track: hash
     * (onset, pitch, duration) triples in an order that ignores tracks. */
    const int grid = 3840;
    tx_tick first = s->notes[0].onset;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    while (i < s->n_notes) {
        size_t j = i;
        while (j < s->n_notes && s->notes[j].onset == s->notes[i].onset && s->notes[j].pitch == s->notes[i].pitch)
            j++;
        /* a run of equal (onset, pitch): hash the durations as a multiset (sum and xor of mixes) */
        uint64_t sum = 0, x = 0;
        for (size_t k = i; k < j; k++) {
            uint64_t m = mix(0x243f6a8885a308d3ull, (uint64_t)to_grid(s->notes[k].duration, grid, s->tpq));
            sum += m;
            x ^= m * 0x9e3779b97f4a7c15ull;
        }
        h = mix(h, (uint64_t)to_grid(s->notes[i].onset - first, grid, s->tpq));
        h = mix(h, s->notes[i].pitch | (uint64_t)(j - i) << 8);
        h = mix(h, sum);
        h = mix(h, x);
        i = j;
    }
    h = mix(h, s->n_notes);
    return h ? h : 1;
}

/* ---- comparison ---- */

int tx_score_diff(const tx_score *a, const tx_score *b, tx_buf *why)
{
    tx_buf dummy = TX_BUF_INIT;
    tx_buf *w = why ? why : &dummy;
    int r = 1;
    if (a->tpq != b->tpq) {
        tx_buf_printf(w, "resolution %d vs %d", a->tpq, b->tpq);
        goto out;
    }
    if (a->n_tracks != b->n_tracks) {
        tx_buf_printf(w, "%zu tracks vs %zu", a->n_tracks, b->n_tracks);
        goto out;
    }
    for (size_t i = 0; i < a->n_tracks; i++) {
        const tx_track *x = &a->tracks[i], *y = &b->tracks[i];
        if (strcmp(x->name, y->name) || x->program != y->program || x->channel != y->channel ||
            x->is_drum != y->is_drum) {
            tx_buf_printf(w, "track %zu: \"%s\" program %d channel %d drum %d vs \"%s\" program %d "
                          "channel %d drum %d", i, x->name, x->program, x->channel, x->is_drum, y->name,
                          y->program, y->channel, y->is_drum);
            goto out;
        }
    }
    size_t n = a->n_notes < b->n_notes ? a->n_notes : b->n_notes;
    for (size_t i = 0; i < n; i++) {
        const tx_note *x = &a->notes[i], *y = &b->notes[i];
        if (x->onset != y->onset || x->duration != y->duration || x->pitch != y->pitch ||
            x->velocity != y->velocity || x->track != y->track) {
            tx_buf_printf(w, "note %zu: onset %" PRId64 " duration %" PRId64 " pitch %d velocity %d "
                          "track %d vs onset %" PRId64 " duration %" PRId64 " pitch %d velocity %d "
                          "track %d", i, x->onset, x->duration, x->pitch, x->velocity, x->track,
                          y->onset, y->duration, y->pitch, y->velocity, y->track);
            goto out;
        }
    }
    if (a->n_notes != b->n_notes) {
        tx_buf_printf(w, "%zu notes vs %zu", a->n_notes, b->n_notes);
        goto out;
    }
#define DIFF_MAP(arr, n, type, same, what, fmt, ...) \
    if (a->n != b->n) { \
        tx_buf_printf(w, "%zu " what "s vs %zu", a->n, b->n); \
        goto out; \
    } \
    for (size_t i = 0; i < a->n; i++) { \
        const type *x = &a->arr[i], *y = &b->arr[i]; \
        if (x->tick != y->tick || !(same)) { \
            tx_buf_printf(w, what " %zu: " fmt, i, __VA_ARGS__); \
            goto out; \
        } \
    }
    DIFF_MAP(tempos, n_tempos, tx_tempo, x->usec_per_quarter == y->usec_per_quarter, "tempo", "tick %" PRId64 " %u vs tick %" PRId64 " %u", x->tick,
             x->usec_per_quarter, y->tick, y->usec_per_quarter)
    DIFF_MAP(timesigs, n_timesigs, tx_timesig, x->num == y->num && x->den == y->den,
             "time signature", "tick %" PRId64 " %d/%d vs tick %" PRId64 " %d/%d",
             x->tick, x->num, x->den, y->tick, y->num, y->den)
    DIFF_MAP(keysigs, n_keysigs, tx_keysig, x->fifths == y->fifths && x->mode == y->mode,
             "key signature", "tick %" PRId64 " %d %d vs tick %" PRId64 " %d %d",
             x->tick, x->fifths, x->mode, y->tick, y->fifths, y->mode)
#undef DIFF_MAP
    r = 0;
out:
    tx_buf_free(&dummy);
    return r;
}
