/* abc-write.c: the ABC writer, a score to the text of one ABC tune (tx_abc_write, declared at the end
 * of abc.h).
 *
 * Each track is written as one voice, cut into segments at every note onset and end, every bar line
 * (tx_score_locate's grid), every key, meter and tempo change and every chord symbol: a segment is a
 * rest, a note or a chord, and a note that goes on into the next segment carries a tie. That one rule
 * gives ties across bar lines, chords whose notes end at different times, and lengths split into
 * writable pieces. Accidentals follow the reader's rules (an accidental holds to the bar line, for every
 * octave of its letter as abc2midi plays it, or for its octave only under ABC 2.1): a mark is written
 * whenever either rule would otherwise give another pitch. Grace notes are written as "{...}" groups
 * before the segment at their onset (a grace onset is a segment boundary too), and lyric syllables as
 * a w: line under each line of music with one token per written note or chord, as the reader hands
 * them out (tied continuations take one, rests and grace notes none); a syllable inside a note splits
 * it, so that the tied continuation carries it. This file is not the ABC reader and not the ABC text
 * tokenizer; it writes triplets "(3" but no other tuplet groups (see abc.h).
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

/* A grace note: written "{g}" before whatever the voice plays at `on`; read back it lasts a quarter
 * of its written length, so it is written four times `dur` long. */
typedef struct gnote {
    tx_tick on, dur;
    int pitch;
    uint32_t seq;            /* source order, which is the order inside one "{...}" group */
} gnote;

/* A lyric syllable of one voice, at its (quantized) tick. */
typedef struct wlyric {
    tx_tick tick;
    size_t index;            /* in tx_score.texts, to keep the score's order at one tick */
    const char *text;
} wlyric;

/* What one voice needs while it is written. */
typedef struct voice_state {
    int key_acc[7];
    int bar_any[7];          /* abc2midi: the accidental of a letter in this bar, any octave */
    int bar_oct[7][12];      /* ABC 2.1: per octave */
} voice_state;

typedef struct writer {
    const tx_score *s;
    int bars_per_line;
    int grid;                /* quantization, as tx_abc_write_options.grid */
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

static int cmp_gnote(const void *a, const void *b)
{
    const gnote *x = a, *y = b;
    if (x->on != y->on)
        return x->on < y->on ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_wlyric(const void *a, const void *b)
{
    const wlyric *x = a, *y = b;
    if (x->tick != y->tick)
        return x->tick < y->tick ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The nearest grid point to t (halves up), as notes are quantized; t itself when grid is 0. */
static tx_tick quantize(const tx_score *s, tx_tick t, int grid)
{
    if (grid <= 0)
        return t;
    int64_t k = (t * 2 * grid + s->tpq) / (2 * (int64_t)s->tpq);
    return k * s->tpq / grid;
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

/* Appends pitch as ABC with the accidental mark the voice's state needs, and records the mark unless
 * `record` is 0 (a grace note's mark does not carry to the notes after it, in the reader as in
 * abc2midi). */
static void put_pitch(tx_buf *b, voice_state *v, int fifths, int pitch, int record)
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
        if (record) {
            v->bar_any[li] = acc;
            v->bar_oct[li][slot] = acc;
        }
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

/* ---- lyrics ---- */

#define SYLLABLE_MAX 32     /* bytes of one syllable written */
#define LYRIC_LINE_MAX 3900 /* bytes of one w: line: the reader keeps about 4 KB of a field, so the
                               syllables of a line beyond this (a very dense line) are not written */

/* Appends one syllable of a lyric text so that the reader's w: rules give the text back: a blank
 * becomes '~', a hyphen inside the text "\-", the characters that w: reads as its own ('_' '*' '|')
 * take a backslash, pairs that already have one are kept, control characters are dropped. A '~' in
 * the text reads back as a blank; nothing else changes in a text the reader made. Returns 1 when the
 * syllable ends in a hyphen (the word goes on), else 0. */
static int put_syllable(tx_buf *b, const char *t)
{
    size_t start = b->len;
    int hyphen = 0;
    for (size_t i = 0; t[i] && b->len - start < SYLLABLE_MAX; i++) {
        unsigned char ch = (unsigned char)t[i], nx = (unsigned char)t[i + 1];
        hyphen = 0;
        if (ch == '\\') {
            if (nx >= 0x20 && nx != 0x7f) {
                tx_buf_putc(b, '\\');
                tx_buf_putc(b, nx);
                i++;
            }
            continue;   /* a backslash at the end, or before a control character, is dropped */
        }
        if (ch >= 0xc0 && b->len - start + (ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : 2) > SYLLABLE_MAX)
            break;   /* a UTF-8 character that does not fit is not cut in two */
        if (ch == ' ' || ch == '\t') {
            tx_buf_putc(b, '~');
        } else if (ch < 0x20 || ch == 0x7f) {
            continue;
        } else if (ch == '-' && nx) {
            tx_buf_puts(b, "\\-");
        } else if (ch == '-') {
            tx_buf_putc(b, '-');
            hyphen = 1;
        } else if (ch == '_' || ch == '*' || ch == '|') {
            tx_buf_putc(b, '\\');
            tx_buf_putc(b, ch);
        } else {
            tx_buf_putc(b, ch);
        }
    }
    if (b->len == start)
        tx_buf_putc(b, '*');   /* nothing writable: the note is skipped */
    return hyphen;
}

/* The w: line of the music line being written: one token for every written note or chord (the
 * reader gives a syllable to each, tied continuations included, and none to rests and grace notes),
 * and a '|' for every bar line inside the music line. */
typedef struct lyric_line {
    tx_buf text;
    size_t keep;      /* length up to the last syllable: trailing '*', '_' and '|' are not written */
    int glue;         /* the last token was a syllable ending in '-': a syllable follows directly */
    int holding;      /* the last note had a syllable or held one: a tied continuation writes '_' */
    int oom;          /* an append to an earlier line failed (tx_buf_reset forgets it) */
} lyric_line;

static void lyric_mark(lyric_line *l, char mark)
{
    if (l->text.len)
        tx_buf_putc(&l->text, ' ');
    tx_buf_putc(&l->text, mark);
    l->glue = 0;
}

static void lyric_syllable(lyric_line *l, const char *text)
{
    if (l->text.len + 2 * SYLLABLE_MAX + 2 > LYRIC_LINE_MAX) {
        lyric_mark(l, '*');
        l->holding = 0;
        return;
    }
    if (l->text.len && !l->glue)
        tx_buf_putc(&l->text, ' ');
    l->glue = put_syllable(&l->text, text);
    l->keep = l->text.len;
    l->holding = 1;
}

/* At the end of a music line: its w: line when it has a syllable. */
static void lyric_flush(lyric_line *l, tx_buf *b)
{
    if (l->keep) {
        tx_buf_puts(b, "w: ");
        tx_buf_append(b, l->text.data, l->keep);
        /* a w: line that ends in a backslash would continue on the next line in some readers */
        if (l->text.data[l->keep - 1] == '\\')
            tx_buf_puts(b, " *");
        tx_buf_putc(b, '\n');
    }
    l->oom |= l->text.oom;
    tx_buf_reset(&l->text);
    l->keep = 0;
    l->glue = 0;
}

/* The lyric syllables of one voice (texts of its track, and the whole score's for the first voice),
 * quantized like the notes, sorted by tick. *out is tx_malloc'd (NULL when there are none). */
static int voice_lyrics(const writer *w, int track, int first, wlyric **out, size_t *n_out)
{
    const tx_score *s = w->s;
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *t = &s->texts[i];
        if (t->kind == TX_TEXT_LYRIC && t->text && t->text[0] && (t->track == track || (t->track < 0 && first))
            && t->tick >= 0 && t->tick <= MAX_TICK)
            n++;
    }
    if (n == 0)
        return TX_OK;
    wlyric *v = tx_malloc(n * sizeof *v);
    if (!v)
        return TX_ENOMEM;
    n = 0;
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *t = &s->texts[i];
        if (t->kind == TX_TEXT_LYRIC && t->text && t->text[0] && (t->track == track || (t->track < 0 && first))
            && t->tick >= 0 && t->tick <= MAX_TICK)
            v[n++] = (wlyric){quantize(s, t->tick, w->grid), i, t->text};
    }
    qsort(v, n, sizeof *v, cmp_wlyric);
    *out = v;
    *n_out = n;
    return TX_OK;
}

/* ---- one voice ---- */

/* Writes the grace notes at tick `at` (from *gi on) as one "{...}" group. */
static void put_graces(tx_buf *b, const writer *w, const gnote *graces, size_t ng, size_t *gi, tx_tick at,
                       voice_state *v, int fifths, int unit)
{
    if (*gi >= ng || graces[*gi].on != at)
        return;
    tx_buf_putc(b, '{');
    for (; *gi < ng && graces[*gi].on == at; (*gi)++) {
        put_pitch(b, v, fifths, graces[*gi].pitch, 0);
        /* a grace note of no length (not from ABC) gets the plain written length */
        if (graces[*gi].dur > 0)
            put_len(b, w->s, 4 * graces[*gi].dur, unit);
    }
    tx_buf_putc(b, '}');
}

/* Writes the music of one track (notes sorted, without overlaps of one pitch; grace notes sorted by
 * onset and source order) into b, with its lyrics as w: lines. */
static int write_voice(const writer *w, const wnote *notes, size_t n, const gnote *graces, size_t ng,
                       int track, int first, int unit, tx_buf *b)
{
    const tx_score *s = w->s;
    wlyric *lyr = NULL;
    size_t nl = 0;
    int rc = voice_lyrics(w, track, first, &lyr, &nl);
    if (rc)
        return rc;
    size_t cap = 2 * n + ng + w->n_bars + s->n_keysigs + s->n_timesigs + s->n_texts + s->n_tempos + 2;
    tx_tick *bd = tx_malloc(cap * sizeof *bd);
    size_t *active = tx_malloc((n + 1) * sizeof *active);
    if (!bd || !active) {
        tx_free(bd);
        tx_free(active);
        tx_free(lyr);
        return TX_ENOMEM;
    }
    size_t nb = 0;
    bd[nb++] = 0;
    bd[nb++] = w->end;
    for (size_t i = 0; i < n; i++) {
        bd[nb++] = notes[i].on;
        bd[nb++] = notes[i].off;
    }
    for (size_t i = 0; i < ng; i++)
        if (graces[i].on < w->end)
            bd[nb++] = graces[i].on;
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
    /* a syllable inside a note splits it, so that the tied continuation carries the syllable (one
     * inside a rest does not split the rest: it goes to the next note) */
    tx_tick sounding_to = 0;   /* the latest end of the notes that start before the syllable */
    for (size_t i = 0, j = 0; i < nl; i++) {
        for (; j < n && notes[j].on < lyr[i].tick; j++)
            if (notes[j].off > sounding_to)
                sounding_to = notes[j].off;
        if (sounding_to > lyr[i].tick && (i == 0 || lyr[i].tick != lyr[i - 1].tick))
            bd[nb++] = lyr[i].tick;
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
    lyric_line ll = {TX_BUF_INIT, 0, 0, 0, 0};
    size_t next = 0, na = 0, bar_i = 0, ki = 0, mi = 0, ti = 0, qi = 0, gi = 0, li = 0;
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
            if (bars_written % w->bars_per_line == 0) {
                tx_buf_puts(b, "|\n");
                lyric_flush(&ll, b);
            } else {
                tx_buf_puts(b, "| ");
                lyric_mark(&ll, '|');
            }
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
        put_graces(b, w, graces, ng, &gi, at, &v, fifths, unit);
        /* the notes sounding in [at, at + len), kept in pitch order */
        size_t k = 0;
        for (size_t j = 0; j < na; j++)
            if (notes[active[j]].off > at)
                active[k++] = active[j];
        int continued = k > 0;   /* no note starts here: tied notes go on */
        na = k;
        for (; next < n && notes[next].on == at; next++) {
            size_t j = na++;
            continued = 0;
            while (j > 0 && notes[active[j - 1]].pitch > notes[next].pitch) {
                active[j] = active[j - 1];
                j--;
            }
            active[j] = next;
        }
        /* the syllable at this tick; one that fell in a rest goes to the next note when that note has
         * none of its own, and of several at one tick the first is written */
        const char *syllable = NULL;
        if (na > 0) {
            int exact = 0;
            for (; li < nl && lyr[li].tick <= at; li++)
                if (!syllable || (lyr[li].tick == at && !exact)) {
                    syllable = lyr[li].text;
                    exact = lyr[li].tick == at;
                }
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
                    put_pitch(b, &v, fifths, x->pitch, 1);
                    if (na > 1 && (!last || x->off > at + len))
                        tx_buf_putc(b, '-');
                }
                if (na > 1)
                    tx_buf_putc(b, ']');
                if (p == 0 && syllable) {
                    lyric_syllable(&ll, syllable);
                } else if ((p > 0 || continued) && ll.holding) {
                    lyric_mark(&ll, '_');
                } else {
                    lyric_mark(&ll, '*');
                    ll.holding = 0;
                }
            }
            put_len(b, s, pieces[p], unit);
            if (na == 1 && (!last || notes[active[0]].off > at + len))
                tx_buf_putc(b, '-');
        }
        if (na == 0)
            ll.holding = 0;
        if (na > 1 || (na == 0 && i + 2 < nb))
            tx_buf_putc(b, ' ');
    }
    /* grace notes after the last note of the piece */
    put_graces(b, w, graces, ng, &gi, w->end, &v, fifths, unit);
    if (b->len && b->data[b->len - 1] != ' ' && b->data[b->len - 1] != '\n')
        tx_buf_putc(b, ' ');
    tx_buf_puts(b, "|]\n");
    lyric_flush(&ll, b);
    rc = b->oom || ll.oom ? TX_ENOMEM : TX_OK;
    tx_buf_free(&ll.text);
    tx_free(bd);
    tx_free(active);
    tx_free(lyr);
    return rc;
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

/* The grace notes of one track (onsets quantized when asked, lengths kept), sorted by onset and
 * source order. *out is tx_malloc'd. */
static int track_graces(const tx_score *s, int track, int grid, gnote **out, size_t *n_out)
{
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].track == track && (s->notes[i].flags & TX_NOTE_GRACE))
            n++;
    if (n == 0)
        return TX_OK;
    gnote *v = tx_malloc(n * sizeof *v);
    if (!v)
        return TX_ENOMEM;
    n = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *x = &s->notes[i];
        if (x->track != track || !(x->flags & TX_NOTE_GRACE))
            continue;
        if (x->onset > MAX_TICK || x->duration > MAX_TICK) {
            tx_free(v);
            return TX_ELIMIT;
        }
        v[n++] = (gnote){quantize(s, x->onset, grid), x->duration, x->pitch, x->seq};
    }
    qsort(v, n, sizeof *v, cmp_gnote);
    *out = v;
    *n_out = n;
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
    writer w = {s, o->bars_per_line > 0 ? o->bars_per_line : 4, o->grid, 0, NULL, 0};

    /* the notes of every track, and where the music ends */
    size_t nt = s->n_tracks;
    wnote **tn = tx_calloc(nt ? nt : 1, sizeof *tn);
    size_t *tc = tx_calloc(nt ? nt : 1, sizeof *tc);
    gnote **tg = tx_calloc(nt ? nt : 1, sizeof *tg);
    size_t *gc = tx_calloc(nt ? nt : 1, sizeof *gc);
    tx_buf body = TX_BUF_INIT, best = TX_BUF_INIT;
    rc = tn && tc && tg && gc ? TX_OK : TX_ENOMEM;
    for (size_t t = 0; t < nt && !rc; t++) {
        rc = track_notes(s, (int)t, o->grid, &tn[t], &tc[t]);
        if (!rc)
            rc = track_graces(s, (int)t, o->grid, &tg[t], &gc[t]);
        if (rc == TX_ELIMIT)
            tx_error_set(err, rc, "abc writer: track %zu: a note beyond tick 2^40", t);
        for (size_t i = 0; !rc && i < tc[t]; i++)
            if (tn[t][i].off > w.end)
                w.end = tn[t][i].off;
        for (size_t i = 0; !rc && i < gc[t]; i++)
            if (tg[t][i].on > w.end)
                w.end = tg[t][i].on;   /* grace notes after the last note are written before |] */
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
            with_notes += tc[t] > 0 || gc[t] > 0;
        for (size_t t = 0; t < nt && !rc; t++) {
            if (tc[t] == 0 && gc[t] == 0)
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
            rc = write_voice(&w, tn[t], tc[t], tg[t], gc[t], (int)t, voices == 0, units[ui], &body);
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
    for (size_t t = 0; tg && t < nt; t++)
        tx_free(tg[t]);
    tx_free(tn);
    tx_free(tc);
    tx_free(tg);
    tx_free(gc);
    tx_free(w.bars);
    tx_buf_free(&body);
    tx_buf_free(&best);
    return rc;
}
