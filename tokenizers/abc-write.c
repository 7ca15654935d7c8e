/* abc-write.c: the ABC writer, a score to the text of one ABC tune (tx_abc_write, declared at the end
 * of abc.h).
 *
 * Each track is written as one voice, cut into segments at every note onset and end, every bar line
 * (tx_score_locate's grid), every key, meter and tempo change and every chord symbol: a segment is a
 * rest, a note or a chord, and a note that goes on into the next segment carries a tie. That one rule
 * gives ties across bar lines, chords whose notes end at different times, and lengths split into
 * writable pieces. Accidentals follow the reader's rules (an accidental holds to the bar line, for every
 * octave of its letter as abc2midi plays it, or for its octave only under ABC 2.1): a mark is written
 * whenever either rule would otherwise give another pitch. This file is not the ABC reader and not the
 * ABC text tokenizer; it writes triplets "(3" but no other tuplet groups, and no grace notes or lyrics
 * (see abc.h).
 */
#include "abc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNSET 99     /* no accidental in this bar yet */
#define UNKNOWN 98   /* a key change inside the bar: what the reader keeps is not assumed */
/* Ticks beyond this are refused, so that lengths times L's denominator and quantization stay far
 * from int64 overflow (the bar limit stops such scores anyway). */
#define MAX_TICK ((int64_t)1 << 40)

static const int letter_semitone[7] = {0, 2, 4, 5, 7, 9, 11};   /* C D E F G A B */

typedef struct wnote {
    tx_tick on, off;
    int pitch;
} wnote;

/* What one voice needs while it is written. */
typedef struct voice_state {
    int key_acc[7];
    int bar_any[7];          /* abc2midi: the accidental of a letter in this bar, any octave */
    int bar_oct[7][12];      /* ABC 2.1: per octave */
} voice_state;

typedef struct writer {
    const tx_score *s;
    int bars_per_line;
    tx_tick end;             /* where the last note of any track ends */
    tx_tick *bars;           /* bar starts after 0 and before end, ascending */
    size_t n_bars;
} writer;

/* ---- small helpers ---- */

static int cmp_tick(const void *a, const void *b)
{
    tx_tick x = *(const tx_tick *)a, y = *(const tx_tick *)b;
    return x < y ? -1 : x > y;
}

static int cmp_wnote(const void *a, const void *b)
{
    const wnote *x = a, *y = b;
    if (x->on != y->on)
        return x->on < y->on ? -1 : 1;
    if (x->pitch != y->pitch)
        return x->pitch - y->pitch;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a < 0 ? -a : a;
}

static int is_pow2(int64_t x)
{
    return x > 0 && (x & (x - 1)) == 0;
}

static void key_accidentals(int fifths, int mode, int acc[7])
{
    static const int sharp_order[7] = {3, 0, 4, 1, 5, 2, 6};   /* F C G D A E B */
    static const int flat_order[7] = {6, 2, 5, 1, 4, 0, 3};    /* B E A D G C F */
    for (int i = 0; i < 7; i++)
        acc[i] = 0;
    if (mode == TX_MODE_NONE)
        return;
    for (int i = 0; i < fifths && i < 7; i++)
        acc[sharp_order[i]]++;
    for (int i = 0; i < -fifths && i < 7; i++)
        acc[flat_order[i]]--;
}

static void reset_bar(voice_state *v)
{
    for (int i = 0; i < 7; i++) {
        v->bar_any[i] = UNSET;
        for (int o = 0; o < 12; o++)
            v->bar_oct[i][o] = UNSET;
    }
}

/* After a key change inside a bar the bar's accidentals are no longer trusted: marks are written. */
static void distrust_bar(voice_state *v)
{
    for (int i = 0; i < 7; i++) {
        if (v->bar_any[i] != UNSET)
            v->bar_any[i] = UNKNOWN;
        for (int o = 0; o < 12; o++)
            if (v->bar_oct[i][o] != UNSET)
                v->bar_oct[i][o] = UNKNOWN;
    }
}

/* The K: value of a signature: "G", "Em", "Dmix", "none". The tonic's spelling comes from its place
 * on the circle of fifths as a major key. */
static void key_text(int fifths, int mode, char *buf, size_t n)
{
    static const struct { const char *suffix; int shift; } modes[TX_NMODES] = {
        [TX_MODE_MAJOR] = {"", 0}, [TX_MODE_MINOR] = {"m", -3}, [TX_MODE_IONIAN] = {"ion", 0},
        [TX_MODE_DORIAN] = {"dor", -2}, [TX_MODE_PHRYGIAN] = {"phr", -4}, [TX_MODE_LYDIAN] = {"lyd", 1},
        [TX_MODE_MIXOLYDIAN] = {"mix", -1}, [TX_MODE_AEOLIAN] = {"aeo", -3}, [TX_MODE_LOCRIAN] = {"loc", -5},
        [TX_MODE_NONE] = {"none", 0},
    };
    if (mode < 0 || mode >= TX_NMODES)
        mode = TX_MODE_MAJOR;
    if (mode == TX_MODE_NONE) {
        snprintf(buf, n, "none");
        return;
    }
    int idx = fifths - modes[mode].shift + 1;           /* 0 = F major */
    int letter = ((idx % 7) + 7) % 7;
    int acc = (idx - letter) / 7;
    const char *accs = acc >= 2 ? "##" : acc == 1 ? "#" : acc == 0 ? "" : acc == -1 ? "b" : "bb";
    snprintf(buf, n, "%c%s%s", "FCGDAEB"[letter], accs, modes[mode].suffix);
}

/* Appends a length of `ticks` in units of L = 1/unit: "", "2", "/", "/4", "3/2". */
static void put_len(tx_buf *b, const tx_score *s, tx_tick ticks, int unit)
{
    int64_t p = ticks * unit, q = 4 * (int64_t)s->tpq, g = gcd64(p, q);
    p /= g;
    q /= g;
    if (q == 1) {
        if (p != 1)
            tx_buf_printf(b, "%lld", (long long)p);
    } else if (p == 1) {
        if (q == 2)
            tx_buf_putc(b, '/');
        else
            tx_buf_printf(b, "/%lld", (long long)q);
    } else {
        tx_buf_printf(b, "%lld/%lld", (long long)p, (long long)q);
    }
}

/* Splits a length into pieces that one written note can show: with L = 1/unit a length p/q of L
 * (q a power of two) is plain, dotted or double-dotted when p is 1, 3 or 7 times a power of two.
 * Other binary lengths are cut into the largest such piece and the rest (5 = 4 + 1). Lengths that
 * are not binary fractions (tuplets) stay one piece. Returns the number of pieces (at most cap). */
static size_t split_len(const tx_score *s, tx_tick ticks, int unit, tx_tick *pieces, size_t cap)
{
    int64_t p = ticks * unit, q = 4 * (int64_t)s->tpq, g = gcd64(p, q);
    p /= g;
    q /= g;
    if (!is_pow2(q)) {
        pieces[0] = ticks;
        return 1;
    }
    size_t n = 0;
    while (p > 0 && n + 1 < cap) {
        int64_t h = 1;
        while (h * 2 <= p)
            h *= 2;
        int64_t m = h;
        if (h % 4 == 0 && h / 4 * 7 <= p)
            m = h / 4 * 7;
        else if (h % 2 == 0 && h / 2 * 3 <= p)
            m = h / 2 * 3;
        /* m/q of L is m * g / unit ticks; at a coarse resolution that may not be whole */
        if ((m * g) % unit)
            break;
        pieces[n++] = m * g / unit;
        p -= m;
    }
    if (p > 0) {
        /* too many pieces or a piece between ticks: the length goes out as one note */
        pieces[0] = ticks;
        n = 1;
    }
    return n;
}

/* Whether a length is one written note under L = 1/unit: p/q of L with q a power of two and p 1, 3
 * or 7 times a power of two. */
static int one_note(const tx_score *s, tx_tick ticks, int unit)
{
    int64_t p = ticks * unit, q = 4 * (int64_t)s->tpq, g = gcd64(p, q);
    p /= g;
    q /= g;
    while (p % 2 == 0)
        p /= 2;
    return ticks > 0 && is_pow2(q) && (p == 1 || p == 3 || p == 7);
}

/* Whether tick t is only a note boundary: no bar line, no change of key, meter or tempo there. */
static int plain_tick(const writer *w, tx_tick t)
{
    const tx_score *s = w->s;
    size_t lo = 0, hi = w->n_bars;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->bars[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < w->n_bars && w->bars[lo] == t)
        return 0;
    for (size_t i = 0; i < s->n_keysigs; i++)
        if (s->keysigs[i].tick == t)
            return 0;
    for (size_t i = 0; i < s->n_timesigs; i++)
        if (s->timesigs[i].tick == t)
            return 0;
    for (size_t i = 0; i < s->n_tempos; i++)
        if (s->tempos[i].tick == t)
            return 0;
    return 1;
}

/* Appends pitch as ABC with the accidental mark the voice's state needs, and records the mark. */
static void put_pitch(tx_buf *b, voice_state *v, int fifths, int pitch)
{
    int pc = pitch % 12, best = -1, best_acc = 0, best_score = 99;
    int dir = fifths < 0 ? -1 : 1;
    for (int li = 0; li < 7; li++) {
        int d = pc - letter_semitone[li];
        if (d > 6)
            d -= 12;
        if (d < -6)
            d += 12;
        if (d < -2 || d > 2)
            continue;
        int score = d == v->key_acc[li] ? 0 : d == 0 ? 1 : d == dir ? 2 : (d == 1 || d == -1) ? 3 : 4;
        if (score < best_score) {
            best_score = score;
            best = li;
            best_acc = d;
        }
    }
    int li = best, acc = best_acc;
    int octave = (pitch - acc - letter_semitone[li]) / 12 - 1;   /* middle C (60) is octave 4 */
    int slot = octave < 0 ? 0 : octave > 11 ? 11 : octave;
    int eff_any = v->bar_any[li] != UNSET ? v->bar_any[li] : v->key_acc[li];
    int eff_oct = v->bar_oct[li][slot] != UNSET ? v->bar_oct[li][slot] : v->key_acc[li];
    if (acc != eff_any || acc != eff_oct) {
        tx_buf_puts(b, acc == 2 ? "^^" : acc == 1 ? "^" : acc == 0 ? "=" : acc == -1 ? "_" : "__");
        v->bar_any[li] = acc;
        v->bar_oct[li][slot] = acc;
    }
    if (octave >= 5) {
        tx_buf_putc(b, "cdefgab"[li]);
        for (int i = 5; i < octave; i++)
            tx_buf_putc(b, '\'');
    } else {
        tx_buf_putc(b, "CDEFGAB"[li]);
        for (int i = octave; i < 4; i++)
            tx_buf_putc(b, ',');
    }
}

/* A text made safe for a quoted string or a field: no quotes, no line breaks, bounded. */
static void put_clean(tx_buf *b, const char *t, size_t max)
{
    for (size_t i = 0; t[i] && i < max; i++) {
        unsigned char ch = (unsigned char)t[i];
        tx_buf_putc(b, ch == '"' || ch < 0x20 || ch == 0x7f ? ' ' : ch);
    }
}

static int chord_symbol_ok(const tx_text *t)
{
    /* "^text" and its like are annotations to the reader, not chord symbols */
    return t->kind == TX_TEXT_CHORD && t->text && t->text[0] && !strchr("^_<>@", t->text[0]);
}

/* ---- one voice ---- */

/* Writes the music of one track (notes sorted, without overlaps of one pitch) into b. */
static int write_voice(const writer *w, const wnote *notes, size_t n, int track, int first, int unit,
                       tx_buf *b)
{
    const tx_score *s = w->s;
    size_t cap = 2 * n + w->n_bars + s->n_keysigs + s->n_timesigs + s->n_texts + s->n_tempos + 2;
    tx_tick *bd = tx_malloc(cap * sizeof *bd);
    size_t *active = tx_malloc((n + 1) * sizeof *active);
    if (!bd || !active) {
        tx_free(bd);
        tx_free(active);
        return TX_ENOMEM;
    }
    size_t nb = 0;
    bd[nb++] = 0;
    bd[nb++] = w->end;
    for (size_t i = 0; i < n; i++) {
        bd[nb++] = notes[i].on;
        bd[nb++] = notes[i].off;
    }
    for (size_t i = 0; i < w->n_bars; i++)
        bd[nb++] = w->bars[i];
    for (size_t i = 0; i < s->n_keysigs; i++)
        if (s->keysigs[i].tick < w->end)
            bd[nb++] = s->keysigs[i].tick;
    for (size_t i = 0; i < s->n_timesigs; i++)
        if (s->timesigs[i].tick < w->end)
            bd[nb++] = s->timesigs[i].tick;
    for (size_t i = 0; i < s->n_tempos; i++)
        if (first && s->tempos[i].tick < w->end)
            bd[nb++] = s->tempos[i].tick;
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *t = &s->texts[i];
        if (chord_symbol_ok(t) && t->tick < w->end && (t->track == track || (t->track < 0 && first)))
            bd[nb++] = t->tick;
    }
    qsort(bd, nb, sizeof *bd, cmp_tick);
    size_t u = 0;
    for (size_t i = 0; i < nb; i++)
        if (u == 0 || bd[i] != bd[u - 1])
            bd[u++] = bd[i];
    nb = u;

    voice_state v;
    int fifths = 0, mode = TX_MODE_NONE;
    if (s->n_keysigs && s->keysigs[0].tick == 0) {
        fifths = s->keysigs[0].fifths;
        mode = s->keysigs[0].mode;
    }
    key_accidentals(fifths, mode, v.key_acc);
    reset_bar(&v);
    size_t next = 0, na = 0, bar_i = 0, ki = 0, mi = 0, ti = 0, qi = 0;
    long bars_written = 0;
    int tup_left = 0;   /* segments still inside a written triplet "(3" */
    tx_tick pieces[64];
    for (size_t i = 0; i + 1 < nb; i++) {
        tx_tick at = bd[i], len = bd[i + 1] - at;
        /* bar line */
        if (bar_i < w->n_bars && w->bars[bar_i] == at) {
            bar_i++;
            bars_written++;
            if (b->len && b->data[b->len - 1] != ' ' && b->data[b->len - 1] != '\n')
                tx_buf_putc(b, ' ');
            tx_buf_puts(b, bars_written % w->bars_per_line == 0 ? "|\n" : "| ");
            reset_bar(&v);
        }
        /* meter, key and tempo changes (the first of each went into the header) */
        for (; mi < s->n_timesigs && s->timesigs[mi].tick <= at; mi++)
            if (s->timesigs[mi].tick == at && at > 0)
                tx_buf_printf(b, "[M:%d/%d]", s->timesigs[mi].num, s->timesigs[mi].den);
        for (; ki < s->n_keysigs && s->keysigs[ki].tick <= at; ki++)
            if (s->keysigs[ki].tick == at && at > 0) {
                char k[24];
                fifths = s->keysigs[ki].fifths;
                mode = s->keysigs[ki].mode;
                key_text(fifths, mode, k, sizeof k);
                tx_buf_printf(b, "[K:%s]", k);
                key_accidentals(fifths, mode, v.key_acc);
                distrust_bar(&v);
            }
        for (; qi < s->n_tempos && s->tempos[qi].tick <= at; qi++)
            if (first && s->tempos[qi].tick == at && at > 0)
                tx_buf_printf(b, "[Q:1/4=%u]", (unsigned)((60000000u + s->tempos[qi].usec_per_quarter / 2) /
                                                          s->tempos[qi].usec_per_quarter));
        for (; ti < s->n_texts && s->texts[ti].tick <= at; ti++) {
            const tx_text *t = &s->texts[ti];
            if (t->tick == at && chord_symbol_ok(t) && (t->track == track || (t->track < 0 && first))) {
                tx_buf_putc(b, '"');
                put_clean(b, t->text, 64);
                tx_buf_putc(b, '"');
            }
        }
        /* the notes sounding in [at, at + len), kept in pitch order */
        size_t k = 0;
        for (size_t j = 0; j < na; j++)
            if (notes[active[j]].off > at)
                active[k++] = active[j];
        na = k;
        for (; next < n && notes[next].on == at; next++) {
            size_t j = na++;
            while (j > 0 && notes[active[j - 1]].pitch > notes[next].pitch) {
                active[j] = active[j - 1];
                j--;
            }
            active[j] = next;
        }
        /* three segments of one length that is two thirds of a written note: a triplet */
        if (tup_left == 0 && i + 3 < nb && (len * 3) % 2 == 0 && !one_note(s, len, unit) &&
            one_note(s, len * 3 / 2, unit) && bd[i + 2] - bd[i + 1] == len && bd[i + 3] - bd[i + 2] == len &&
            plain_tick(w, bd[i + 1]) && plain_tick(w, bd[i + 2])) {
            tx_buf_puts(b, "(3");
            tup_left = 3;
        }
        size_t np = 1;
        if (tup_left > 0) {
            pieces[0] = len * 3 / 2;   /* written length; the triplet plays it as len */
            tup_left--;
        } else {
            np = split_len(s, len, unit, pieces, sizeof pieces / sizeof *pieces);
        }
        for (size_t p = 0; p < np; p++) {
            int last = p + 1 == np;
            if (na == 0) {
                tx_buf_putc(b, 'z');
            } else {
                if (na > 1)
                    tx_buf_putc(b, '[');
                for (size_t j = 0; j < na; j++) {
                    const wnote *x = &notes[active[j]];
                    put_pitch(b, &v, fifths, x->pitch);
                    if (na > 1 && (!last || x->off > at + len))
                        tx_buf_putc(b, '-');
                }
                if (na > 1)
                    tx_buf_putc(b, ']');
            }
            put_len(b, s, pieces[p], unit);
            if (na == 1 && (!last || notes[active[0]].off > at + len))
                tx_buf_putc(b, '-');
        }
        if (na > 1 || (na == 0 && i + 2 < nb))
            tx_buf_putc(b, ' ');
    }
    if (b->len && b->data[b->len - 1] != ' ' && b->data[b->len - 1] != '\n')
        tx_buf_putc(b, ' ');
    tx_buf_puts(b, "|]\n");
    tx_free(bd);
    tx_free(active);
    return b->oom ? TX_ENOMEM : TX_OK;
}

/* The notes of one track, quantized when asked, without grace and zero-length notes, sorted; of two
 * overlapping notes of one pitch the first is cut where the second starts (dropped when that leaves
 * nothing). *out is tx_malloc'd. */
static int track_notes(const tx_score *s, int track, int grid, wnote **out, size_t *n_out)
{
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].track == track)
            n++;
    if (n == 0)
        return TX_OK;
    wnote *v = tx_malloc(n * sizeof *v);
    if (!v)
        return TX_ENOMEM;
    n = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *x = &s->notes[i];
        if (x->track != track || (x->flags & TX_NOTE_GRACE))
            continue;
        if (x->onset > MAX_TICK || x->duration > MAX_TICK) {
            tx_free(v);
            return TX_ELIMIT;
        }
        tx_tick on = x->onset, off = x->onset + x->duration;
        if (grid > 0) {
            /* nearest grid point (halves up); the tick of grid point k is k * tpq / grid, rounded down */
            int64_t g2 = 2 * (int64_t)s->tpq;
            int64_t kon = (on * 2 * grid + s->tpq) / g2, koff = (off * 2 * grid + s->tpq) / g2;
            if (x->duration > 0 && koff <= kon)
                koff = kon + 1;
            on = kon * s->tpq / grid;
            off = koff * s->tpq / grid;
        }
        if (off <= on)
            continue;
        v[n].on = on;
        v[n].off = off;
        v[n].pitch = x->pitch;
        n++;
    }
    qsort(v, n, sizeof *v, cmp_wnote);
    size_t last[128], k = 0;
    for (int p = 0; p < 128; p++)
        last[p] = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t prev = last[v[i].pitch];
        if (prev != (size_t)-1 && v[prev].off > v[i].on)
            v[prev].off = v[i].on;   /* may leave it empty: removed below */
        last[v[i].pitch] = i;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i].off > v[i].on)
            v[k++] = v[i];
    *out = v;
    *n_out = k;
    return TX_OK;
}

/* ---- the tune ---- */

void tx_abc_write_options_init(tx_abc_write_options *o)
{
    memset(o, 0, sizeof *o);
    o->number = 1;
    o->bars_per_line = 4;
}

int tx_abc_write(const tx_score *s, const tx_abc_write_options *o, tx_buf *out, tx_error *err)
{
    tx_abc_write_options dflt;
    tx_abc_write_options_init(&dflt);
    if (!o)
        o = &dflt;
    if (!s || !out)
        return tx_error_set(err, TX_EINVAL, "abc writer: no score or no output");
    int rc = tx_score_check(s, err);
    if (rc)
        return rc;
    if (o->grid < 0 || o->grid > 4 * TX_MAX_TPQ)
        return tx_error_set(err, TX_EINVAL, "abc writer: grid %d out of range", o->grid);
    if (o->unit != 0 && (!is_pow2(o->unit) || o->unit > 64))
        return tx_error_set(err, TX_EINVAL, "abc writer: L: 1/%d is not 1, 1/2 ... 1/64", o->unit);
    writer w = {s, o->bars_per_line > 0 ? o->bars_per_line : 4, 0, NULL, 0};

    /* the notes of every track, and where the music ends */
    size_t nt = s->n_tracks;
    wnote **tn = tx_calloc(nt ? nt : 1, sizeof *tn);
    size_t *tc = tx_calloc(nt ? nt : 1, sizeof *tc);
    tx_buf body = TX_BUF_INIT, best = TX_BUF_INIT;
    rc = tn && tc ? TX_OK : TX_ENOMEM;
    for (size_t t = 0; t < nt && !rc; t++) {
        rc = track_notes(s, (int)t, o->grid, &tn[t], &tc[t]);
        if (rc == TX_ELIMIT)
            tx_error_set(err, rc, "abc writer: track %zu: a note beyond tick 2^40", t);
        for (size_t i = 0; !rc && i < tc[t]; i++)
            if (tn[t][i].off > w.end)
                w.end = tn[t][i].off;
    }
    /* bar lines before the end */
    size_t capb = 0;
    for (int64_t bar = 1; !rc; bar++) {
        tx_tick at = tx_score_bar_tick(s, bar);
        if (at >= w.end || (w.n_bars && at <= w.bars[w.n_bars - 1]) || at <= 0)
            break;
        if (w.n_bars >= TX_ABC_MAX_EVENTS) {
            rc = tx_error_set(err, TX_ELIMIT, "abc writer: more than %u bars", TX_ABC_MAX_EVENTS);
            break;
        }
        if (tx_grow((void **)&w.bars, &capb, w.n_bars + 1, sizeof *w.bars))
            rc = TX_ENOMEM;
        else
            w.bars[w.n_bars++] = at;
    }

    /* the body once per candidate L:, keeping the shortest */
    int units[3] = {8, 4, 16}, n_units = o->unit ? 1 : 3, best_unit = o->unit ? o->unit : 8;
    if (o->unit)
        units[0] = o->unit;
    for (int ui = 0; ui < n_units && !rc; ui++) {
        tx_buf_reset(&body);
        size_t voices = 0, with_notes = 0;
        for (size_t t = 0; t < nt; t++)
            with_notes += tc[t] > 0;
        for (size_t t = 0; t < nt && !rc; t++) {
            if (tc[t] == 0)
                continue;
            if (with_notes > 1) {
                tx_buf_printf(&body, "V:%zu", voices + 1);
                if (s->tracks[t].name && s->tracks[t].name[0]) {
                    tx_buf_puts(&body, " name=\"");
                    put_clean(&body, s->tracks[t].name, 60);
                    tx_buf_putc(&body, '"');
                }
                tx_buf_putc(&body, '\n');
            }
            if (s->tracks[t].program > 0)
                tx_buf_printf(&body, "%%%%MIDI program %d\n", s->tracks[t].program);
            rc = write_voice(&w, tn[t], tc[t], (int)t, voices == 0, units[ui], &body);
            voices++;
        }
        if (!rc && body.oom)
            rc = TX_ENOMEM;
        if (!rc && (ui == 0 || body.len < best.len)) {
            tx_buf t = best;
            best = body;
            body = t;
            best_unit = units[ui];
        }
    }

    if (!rc) {
        tx_buf_printf(out, "X:%ld\n", o->number > 0 ? o->number : 1);
        const char *title = tx_score_meta(s, "title");
        if (title && title[0]) {
            tx_buf_puts(out, "T:");
            put_clean(out, title, 200);
            tx_buf_putc(out, '\n');
        }
        const char *composer = tx_score_meta(s, "composer");
        if (composer && composer[0]) {
            tx_buf_puts(out, "C:");
            put_clean(out, composer, 200);
            tx_buf_putc(out, '\n');
        }
        if (s->n_timesigs && s->timesigs[0].tick == 0)
            tx_buf_printf(out, "M:%d/%d\n", s->timesigs[0].num, s->timesigs[0].den);
        else if (s->n_timesigs)
            tx_buf_puts(out, "M:4/4\n");   /* what tx_score_locate assumes before the first */
        tx_buf_printf(out, "L:1/%d\n", best_unit);
        if (s->n_tempos && s->tempos[0].tick == 0)
            tx_buf_printf(out, "Q:1/4=%u\n", (unsigned)((60000000u + s->tempos[0].usec_per_quarter / 2) /
                                                        s->tempos[0].usec_per_quarter));
        char k[24] = "none";
        if (s->n_keysigs && s->keysigs[0].tick == 0)
            key_text(s->keysigs[0].fifths, s->keysigs[0].mode, k, sizeof k);
        tx_buf_printf(out, "K:%s\n", k);
        tx_buf_append(out, best.data ? best.data : "", best.len);
        if (out->oom)
            rc = TX_ENOMEM;
    }
    if (rc == TX_ENOMEM)
        tx_error_set(err, TX_ENOMEM, "abc writer: out of memory");
    for (size_t t = 0; tn && t < nt; t++)
        tx_free(tn[t]);
    tx_free(tn);
    tx_free(tc);
    tx_free(w.bars);
    tx_buf_free(&body);
    tx_buf_free(&best);
    return rc;
}
