/* abc.c: the ABC 2.1 reader: file and tune splitting, header fields, the PCRE2 lexer of the music
 * body, the written form of each tune, and the public API.
 *
 * The reader works in two passes per tune. The first (this file) reads the text in written order into
 * one event list per voice (each level of voice overlay `&` is a voice of its own): note groups with
 * their pitches already resolved (key signature, bar accidentals, transposition) and their exact
 * lengths as fractions of a whole note, rests, bar lines, part labels, and the changes of meter, key
 * and tempo. The second (abc-perf.c) walks each voice in performance order and writes notes at exact
 * fractional times; this file converts them to ticks (rounding down, as abc2midi does) and builds the
 * score. What abc2midi does is taken from its observable output (notes, onsets, durations). This file
 * is not the ABC writer and not the ABC text tokenizer.
 */
#include "abc-priv.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

_Thread_local int tx_abc_rat_overflow;

/* ---- the lexer: one PCRE2 pattern, JIT-compiled once ---- */

/* Each alternative opens with a (*MARK) naming the token; branch reset (?| ) numbers the groups of
 * every alternative from 1, so a match is read as "mark + groups 1..6". The pattern is anchored at
 * the current position by the caller. Counts are bounded ({0,7} digits) so numbers cannot overflow. */
static const char TOKEN_PATTERN[] =
    "(?|"
    "(*:n)((?:\\^\\^|__|\\^|_|=)?)([A-Ga-g])([,']*)(\\d{0,7})(/*)(\\d{0,7})"
    "|(*:r)()([zxZX])()(\\d{0,7})(/*)(\\d{0,7})"
    "|(*:e)\\[([1-9][0-9,\\-]{0,15})"
    "|(*:f)\\[([A-Za-z]):([^\\]\\n]{0,4096})\\]"
    "|(*:b)(:*)(\\[\\||\\.?\\|[|\\]]*)(:*)(?:([1-9][0-9,\\-]{0,15}))?"
    "|(*:d)(::+)(?:([1-9][0-9,\\-]{0,15}))?"
    "|(*:c)\\["
    "|(*:C)\\](\\d{0,7})(/*)(\\d{0,7})"
    "|(*:t)\\((\\d{1,3})(?::(\\d{0,3}))?(?::(\\d{0,3}))?"
    "|(*:v)(\\(&|&\\)|&)"
    "|(*:s)\\.?[()]"
    "|(*:T)\\.?-"
    "|(*:B)(>{1,3}|<{1,3})"
    "|(*:g)\\{(/?)"
    "|(*:G)\\}"
    "|(*:q)\"([^\"\\n]{0,4096})\""
    "|(*:D)!([^!\\n]{1,4096})!"
    "|(*:D)\\+([^+\\n]{1,64})\\+"
    "|(*:o)([.~HLMOPSTuv])"
    "|(*:w)[ \\t]+"
    "|(*:y)y(\\d{0,7})"
    "|(*:%)%.*"
    "|(*:i)[`$*\\\\;]"
    ")";

static pcre2_code *token_re;
static int re_failed, jit_ok;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static void compile_patterns(void)
{
    int ec;
    PCRE2_SIZE eo;
    /* anchored at compile time, so that the JIT fast path (pcre2_jit_match) needs no options */
    token_re = pcre2_compile((PCRE2_SPTR)TOKEN_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED, &ec, &eo,
                             NULL);
    if (!token_re) {
        re_failed = 1;
        return;
    }
    /* JIT is an optimisation: where it is unavailable the interpreter gives the same matches. */
    jit_ok = pcre2_jit_compile(token_re, PCRE2_JIT_COMPLETE) == 0;
}

int tx_abc_fail(tune_ctx *c, long line, long col, const char *fmt, ...)
{
    if (c->failed)
        return c->err ? c->err->code : TX_ESYNTAX;
    c->failed = 1;
    if (line <= 0) {
        /* found while playing, where no single place is to blame: the tune's X: line */
        line = c->tune_line;
        col = 1;
    }
    char msg[TX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int code = tx_abc_rat_overflow ? TX_ELIMIT : TX_ESYNTAX;
    if (strncmp(msg, "limit:", 6) == 0)
        code = TX_ELIMIT;
    tx_error_set(c->err, code, "%s:%ld:%ld: %s", c->name, line, col,
                 strncmp(msg, "limit:", 6) == 0 ? msg + 7 : msg);
    if (c->err) {
        c->err->line = line;
        c->err->column = col;
    }
    return code;
}

static void warn(tune_ctx *c, long line, long col, const char *fmt, ...) TX_PRINTF(4, 5);
static void warn(tune_ctx *c, long line, long col, const char *fmt, ...)
{
    if (c->n_warnings++ == 0 && c->first_warning) {
        char msg[120];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(c->first_warning, 160, "%ld:%ld: %s", line, col, msg);
    }
}

/* ---- keys ---- */

static const int letter_semitone[7] = {0, 2, 4, 5, 7, 9, 11};   /* C D E F G A B */
static const int tonic_fifths[7] = {0, 2, 4, -1, 1, 3, 5};      /* C D E F G A B as major keys */

static int letter_index(int ch)
{
    static const char order[] = "cdefgab";
    const char *p = strchr(order, ch | 0x20);
    return p && *p ? (int)(p - order) : -1;
}

/* Fills acc[7] with the accidentals of a signature of `fifths` (|fifths| up to 14: double sharps). */
static void key_accidentals(int fifths, int acc[7])
{
    static const int sharp_order[7] = {3, 0, 4, 1, 5, 2, 6};   /* F C G D A E B */
    static const int flat_order[7] = {6, 2, 5, 1, 4, 0, 3};    /* B E A D G C F */
    for (int i = 0; i < 7; i++)
        acc[i] = 0;
    for (int i = 0; i < fifths && i < 14; i++)
        acc[sharp_order[i % 7]]++;
    for (int i = 0; i < -fifths && i < 14; i++)
        acc[flat_order[i % 7]]--;
}

static int mode_from_word(const char *w, size_t n, int *shift)
{
    char b[4] = {0};
    for (size_t i = 0; i < 3 && i < n; i++)
        b[i] = (char)(w[i] | 0x20);
    if (n == 1 && b[0] == 'm') {
        *shift = -3;
        return TX_MODE_MINOR;
    }
    if (n < 3)
        return -1;
    static const struct { const char *w; int mode, shift; } modes[] = {
        {"maj", TX_MODE_MAJOR, 0}, {"min", TX_MODE_MINOR, -3}, {"ion", TX_MODE_IONIAN, 0},
        {"dor", TX_MODE_DORIAN, -2}, {"phr", TX_MODE_PHRYGIAN, -4}, {"lyd", TX_MODE_LYDIAN, 1},
        {"mix", TX_MODE_MIXOLYDIAN, -1}, {"aeo", TX_MODE_AEOLIAN, -3}, {"loc", TX_MODE_LOCRIAN, -5},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (memcmp(b, modes[i].w, 3) == 0) {
            *shift = modes[i].shift;
            return modes[i].mode;
        }
    return -1;
}

typedef struct keyspec {
    int fifths, mode;
    int acc[7];
    int has_key;           /* a tonic or none was given (not only clef= or transpose=) */
    int transpose, has_transpose;
    int octave, has_octave;
} keyspec;

static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < -1000 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

/* Parses the value of K: (or the key part of V:); unknown words are ignored, as abc2midi does. */
static void parse_key(tune_ctx *c, const char *v, keyspec *k, long line)
{
    const char *p = v;
    k->has_key = 0;
    k->has_transpose = k->has_octave = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if ((p[0] | 0x20) == 'n' && strncmp(p, "none", 4) == 0) {
        k->fifths = 0;
        k->mode = TX_MODE_NONE;
        key_accidentals(0, k->acc);
        k->has_key = 1;
        p += 4;
    } else if (p[0] == 'H' && (p[1] == 'P' || p[1] == 'p')) {
        /* Highland bagpipe: HP has no signature; Hp is written with F# C# and G natural. */
        k->fifths = p[1] == 'p' ? 2 : 0;
        k->mode = p[1] == 'p' ? TX_MODE_MIXOLYDIAN : TX_MODE_NONE;
        key_accidentals(k->fifths, k->acc);
        if (p[1] == 'p')
            k->acc[4] = 0;
        k->has_key = 1;
        p += 2;
    } else if (*p >= 'A' && *p <= 'G') {
        int f = tonic_fifths[letter_index(*p)];
        p++;
        if (*p == '#') {
            f += 7;
            p++;
        } else if (*p == 'b') {
            f -= 7;
            p++;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        int shift = 0, mode = TX_MODE_MAJOR;
        const char *w = p;
        while ((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z'))
            w++;
        if (w > p) {   /* "Dmix=c": the mode may run straight into an accidental */
            int m = mode_from_word(p, (size_t)(w - p), &shift);
            if (m >= 0) {
                mode = m;
                p = w;
            }
        }
        f += shift;
        k->fifths = f;
        k->mode = mode;
        key_accidentals(f, k->acc);
        k->has_key = 1;
    }
    /* exp: only the accidentals written after the key, none from its signature */
    for (const char *q = p; (q = strstr(q, "exp")) != NULL; q += 3)
        if ((q == v || q[-1] == ' ') && (q[3] == 0 || q[3] == ' ')) {

            for (int i = 0; i < 7; i++)
                k->acc[i] = 0;
            break;
        }
    /* the rest: explicit accidentals, clef=, transpose=, octave=, other words */
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '%')
            break;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - w);
        if (w[0] == '^' || w[0] == '_' || w[0] == '=') {
            int acc = 0;
            const char *q = w;
            while (q < p && (*q == '^' || *q == '_' || *q == '=')) {
                acc += *q == '^' ? 1 : *q == '_' ? -1 : 0;
                q++;
            }
            int li = q < p ? letter_index(*q) : -1;
            if (li >= 0) {
                if (!k->has_key) {
                    key_accidentals(0, k->acc);
                    k->fifths = 0;
                    k->mode = TX_MODE_MAJOR;
                    k->has_key = 1;
                }
                k->acc[li] = acc;
            }
        } else if (n > 10 && strncmp(w, "transpose=", 10) == 0) {
            if (parse_int(w + 10, &k->transpose) == 0)
                k->has_transpose = 1;
        } else if (n > 7 && strncmp(w, "octave=", 7) == 0) {
            if (parse_int(w + 7, &k->octave) == 0)
                k->has_octave = 1;
        }
    }
    (void)c;
    (void)line;
}

/* ---- voices ---- */

static void voice_reset_bar(voice *v)
{
    for (int i = 0; i < 7; i++) {
        v->bar_any[i] = 99;
        for (int o = 0; o < 12; o++)
            v->bar_acc[i][o] = 99;
    }
}

static ev *push_ev(tune_ctx *c, voice *v, int kind, long line, long col);

/* A new voice with the header's defaults; NULL when the tune failed (too many voices, memory). May
 * move c->voices: callers hold indices, not pointers, across it. */
static voice *voice_new(tune_ctx *c, const char *id, size_t n)
{
    if (n >= sizeof c->voices->id)
        n = sizeof c->voices->id - 1;
    if (c->n_voices >= TX_ABC_MAX_VOICES) {
        tx_abc_fail(c, 0, 0, "limit: more than %d voices", TX_ABC_MAX_VOICES);
        return NULL;
    }
    if (tx_grow((void **)&c->voices, &c->cap_voices, c->n_voices + 1, sizeof *c->voices)) {
        tx_abc_fail(c, 0, 0, "out of memory");
        return NULL;
    }
    voice *v = &c->voices[c->n_voices];
    memset(v, 0, sizeof *v);
    if (c->cache && c->cache->n > 0) {
        buf_cache *k = c->cache;
        k->n--;
        v->evs = k->v[k->n].evs;
        v->cap = k->v[k->n].cap;
        v->pool = k->v[k->n].pool;
        v->cappool = k->v[k->n].cappool;
    }
    memcpy(v->id, id, n);
    v->id[n] = 0;
    v->track = (int)c->n_voices;
    memcpy(v->key_acc, c->h_key_acc, sizeof v->key_acc);
    v->fifths = c->h_fifths;
    v->mode = c->h_mode;
    v->transpose = c->h_transpose;
    v->octave = c->h_octave;
    v->unit = c->h_unit;
    v->mnum = c->h_mnum;
    v->mden = c->h_mden;
    v->hornpipe = c->hornpipe && (v->mnum == 2 || v->mnum == 4) && v->mden == 4;
    v->last_group = -1;
    v->broken = rat_make(0, 1);
    v->chord_ev = -1;
    v->channel = -1;
    v->program = c->h_program;
    v->pos = v->bar_at = rat_make(0, 1);
    v->horn_first = -1;
    v->broken_prev = -1;
    voice_reset_bar(v);
    c->n_voices++;
    if (c->in_body && c->cur_part) {
        /* a voice that starts inside a part belongs to it (see start_part) */
        ev *e = push_ev(c, v, E_PART, 0, 0);
        if (e)
            e->a = c->cur_part;
    }
    return v;
}

/* The voice named id, created when new. Overlay voices are not found by name. */
static voice *voice_get(tune_ctx *c, const char *id, size_t n)
{
    if (n >= sizeof c->voices->id)
        n = sizeof c->voices->id - 1;
    for (size_t i = 0; i < c->n_voices; i++)
        if (!c->voices[i].overlay_of && strlen(c->voices[i].id) == n && memcmp(c->voices[i].id, id, n) == 0)
            return &c->voices[i];
    return voice_new(c, id, n);
}

static ev *push_ev(tune_ctx *c, voice *v, int kind, long line, long col)
{
    if (c->n_events++ >= TX_ABC_MAX_EVENTS) {
        tx_abc_fail(c, line, col, "limit: more than %u events in one tune", TX_ABC_MAX_EVENTS);
        return NULL;
    }
    if (tx_grow((void **)&v->evs, &v->cap, v->n + 1, sizeof *v->evs)) {
        tx_abc_fail(c, line, col, "out of memory");
        return NULL;
    }
    ev *e = &v->evs[v->n++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->len = rat_make(0, 1);
    e->unit = v->unit;
    e->cutf = rat_make(1, 1);
    e->line = line;
    e->col = col;
    return e;
}

/* ---- voice overlay (&) ----
 *
 * abc2midi plays each overlay level of a voice as a voice of its own, on a track of its own created
 * when it is first used (so tracks come in the order voices and overlays first appear), and so does
 * tactus. What abc2midi's output shows: the overlay of a bar starts where that bar starts in the
 * overlay voice, which holds, for every bar of its parent that had no overlay, a rest as long as that
 * bar and a copy of the parent's bar line (so repeats and endings play the overlay too); an overlay
 * shorter than its bar is not padded, so the next overlay starts early; an overlay runs to the next
 * bar line, across line ends; it starts with its parent's key, unit length and meter and without the
 * accidentals of the parent's bar. (& ... &) starts the overlay at the start of the bar where (&
 * stands (not at the (& itself) and lets it run across bar lines up to &). */

/* Brings overlay voice oi up to its parent's bar `target`: rests for the parent's bars it has no
 * music in, copies of the parent's bar lines and part labels. */
static void overlay_sync(tune_ctx *c, size_t oi, size_t target)
{
    voice *o = &c->voices[oi];
    const voice *p = &c->voices[o->overlay_of - 1];
    size_t j = o->ov_scan;
    /* only whole bars of the parent are read: their lengths are final (broken rhythm and hornpipe
     * pairs never reach across a bar line) */
    while (j < p->n && o->ov_bars < target && !c->failed) {
        const ev *e = &p->evs[j++];
        if (e->kind == E_NOTE || e->kind == E_REST) {
            o->ov_pos = rat_add(o->ov_pos, e->len);
            continue;
        }
        if (e->kind != E_BAR && e->kind != E_PART)
            continue;
        if (o->ov_bars < o->ov_seg) {
            /* a bar the overlay wrote itself, inside (& ... &) */
            if (e->kind == E_BAR) {
                o->ov_bars++;
                o->ov_seg_start = o->ov_pos;
            }
            continue;
        }
        if (!o->ov_visited && rat_cmp(o->ov_pos, o->ov_seg_start) > 0) {
            ev *r = push_ev(c, o, E_REST, e->line, e->col);
            if (!r)
                return;
            r->len = r->wlen = rat_sub(o->ov_pos, o->ov_seg_start);
            o->pos = rat_add(o->pos, r->len);
            o->last_group = (long)(r - o->evs);
        }
        o->ov_seg_start = o->ov_pos;
        ev *b = push_ev(c, o, e->kind, e->line, e->col);
        if (!b)
            return;
        b->a = e->a;
        b->b = e->b;
        if (e->kind == E_BAR) {
            o->ov_bars++;
            o->ov_seg++;
            o->ov_visited = 0;
            o->nbars++;
            o->bar_at = o->pos;
            o->broken = rat_make(0, 1);
            o->horn_first = -1;
            voice_reset_bar(o);
        }
    }
    o->ov_scan = j;
}

/* '&': the next overlay level of voice pi takes the notes that follow. */
static void overlay_enter(tune_ctx *c, size_t pi, long line, long col)
{
    voice *p = &c->voices[pi];
    int level = ++p->ov_depth;
    size_t target = p->ov_paren ? p->ov_paren_bar : p->nbars;
    size_t oi = c->n_voices;
    for (size_t i = 0; i < c->n_voices; i++)
        if (c->voices[i].overlay_of == (int)pi + 1 && c->voices[i].ov_level == level) {
            oi = i;
            break;
        }
    if (oi == c->n_voices) {
        if (c->n_voices >= TX_ABC_MAX_VOICES) {
            tx_abc_fail(c, line, col, "limit: more than %d voices and overlay levels", TX_ABC_MAX_VOICES);
            return;
        }
        char id[sizeof p->id];
        memcpy(id, p->id, sizeof id);
        voice *o = voice_new(c, id, strlen(id));
        if (!o)
            return;
        p = &c->voices[pi];   /* voice_new may have moved the array */
        o->overlay_of = (int)pi + 1;
        o->ov_level = level;
        snprintf(o->name, sizeof o->name, "%.40s &%d", p->name[0] ? p->name : p->id, level);
        o->ov_pos = o->ov_seg_start = rat_make(0, 1);
    }
    voice *o = &c->voices[oi];
    overlay_sync(c, oi, target);
    memcpy(o->key_acc, p->key_acc, sizeof o->key_acc);
    o->fifths = p->fifths;
    o->mode = p->mode;
    o->transpose = p->transpose;
    o->octave = p->octave;
    o->unit = p->unit;
    o->mnum = p->mnum;
    o->mden = p->mden;
    o->hornpipe = p->hornpipe;
    o->broken = rat_make(0, 1);
    o->broken_prev = -1;
    o->horn_first = -1;
    o->tup_left = 0;
    o->deco = 0;
    o->deco_char = 0;
    o->bar_at = o->pos;
    o->ov_visited = 1;
    voice_reset_bar(o);
    c->cur = oi;
}

/* ---- lengths ---- */

/* "3/2", "/", "//", "/4", "" -> a multiplier of the unit length. */
static rat parse_len(const char *num, size_t nnum, size_t slashes, const char *den, size_t nden)
{
    int64_t n = 1, d = 1;
    if (nnum) {
        n = 0;
        for (size_t i = 0; i < nnum; i++)
            n = n * 10 + (num[i] - '0');
    }
    if (nden) {
        int64_t x = 0;
        for (size_t i = 0; i < nden; i++)
            x = x * 10 + (den[i] - '0');
        d = x;
        /* "A//4": slashes beyond the first halve further (stopped where the fraction's range ends:
         * rat_make then reports the overflow) */
        for (size_t i = 1; i < slashes && d <= RAT_LIMIT; i++)
            d *= 2;
    } else {
        for (size_t i = 0; i < slashes && d <= RAT_LIMIT; i++)
            d *= 2;
    }
    if (d == 0)
        d = 1;
    return rat_make(n, d);
}

/* ---- header fields ---- */

static int parse_meter(const char *v, int *num, int *den)
{
    while (*v == ' ')
        v++;
    if (strncmp(v, "C|", 2) == 0) {
        *num = 2;
        *den = 2;
        return 0;
    }
    if (v[0] == 'C') {
        *num = 4;
        *den = 4;
        return 0;
    }
    if (strncmp(v, "none", 4) == 0 || !*v)
        return 1;
    /* "2+3/8", "(2+3)/8", "6/8" */
    long total = 0, term = 0;
    const char *p = v;
    int any = 0;
    if (*p == '(')
        p++;
    while ((*p >= '0' && *p <= '9') || *p == '+' || *p == ' ') {
        if (*p == '+') {
            total += term;
            term = 0;
        } else if (*p != ' ') {
            term = term * 10 + (*p - '0');
            any = 1;
            if (term > 100000)
                return -1;
        }
        p++;
    }
    total += term;
    if (*p == ')')
        p++;
    if (!any || *p != '/')
        return -1;
    p++;
    long d = 0;
    int dany = 0;
    while (*p >= '0' && *p <= '9' && d < 100000) {
        d = d * 10 + (*p++ - '0');
        dany = 1;
    }
    if (!dany || d <= 0 || total <= 0)
        return -1;
    *num = (int)total;
    *den = (int)d;
    return 0;
}

/* Q: forms: "1/4=120", "120", "\"Allegro\" 1/4=120", "3/8=60", "1/8 3/8=60". Returns microseconds per
 * quarter, or 0 when no tempo can be read. A bare number counts units of L:, as abc2midi reads it. */
static uint32_t parse_tempo(const char *v, rat unit)
{
    const char *p = v;
    rat beat = rat_make(0, 1);
    long bpm = 0;
    while (*p) {
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q)
                break;
            p = q + 1;
            continue;
        }
        if (*p >= '0' && *p <= '9') {
            long a = 0;
            while (*p >= '0' && *p <= '9' && a < 100000)
                a = a * 10 + (*p++ - '0');
            if (*p == '/') {
                p++;
                long b = 0;
                while (*p >= '0' && *p <= '9' && b < 100000)
                    b = b * 10 + (*p++ - '0');
                if (b > 0)
                    beat = rat_add(beat, rat_make(a, b));
                continue;
            }
            bpm = a;
            continue;
        }
        if (*p == '=') {
            p++;
            while (*p == ' ')
                p++;
            long a = 0;
            while (*p >= '0' && *p <= '9' && a < 100000)
                a = a * 10 + (*p++ - '0');
            bpm = a;
            break;
        }
        p++;
    }
    if (bpm <= 0)
        return 0;
    if (beat.n == 0)
        beat = unit;
    /* usec per quarter = 60e6 / (bpm * beat / (1/4)) */
    double q = 60e6 / ((double)bpm * 4.0 * (double)beat.n / (double)beat.d);
    if (q < 1 || q > 16777215)
        return 0;
    return (uint32_t)(q + 0.5);
}

/* Expands a P: play order ("ABAB", "A2B", "(AB)2C", "A.B.A") into labels; returns the new length. */
static size_t order_seq(const char **pp, char *out, size_t n, size_t cap, int depth)
{
    const char *p = *pp;
    while (*p && *p != ')') {
        size_t start = n;
        if (*p >= 'A' && *p <= 'Z') {
            if (n + 1 < cap)
                out[n++] = *p;
            p++;
        } else if (*p == '(' && depth < 8) {
            p++;
            n = order_seq(&p, out, n, cap, depth + 1);
            if (*p == ')')
                p++;
        } else {
            p++;
            continue;
        }
        int k = 0;
        while (*p >= '0' && *p <= '9') {
            if (k < 100)
                k = k * 10 + (*p - '0');
            p++;
        }
        size_t len = n - start;
        for (int r = 1; r < k; r++)
            for (size_t i = 0; i < len && n + 1 < cap; i++)
                out[n++] = out[start + i];
    }
    *pp = p;
    return n;
}

static void expand_order(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    while (*v) {
        n = order_seq(&v, out, n, cap, 0);
        if (*v == ')')
            v++;
    }
    out[n] = 0;
}

/* Applies a K: value to the current voice (body) or to the header defaults. */
static void apply_key(tune_ctx *c, const char *val, long line, long col)
{
    keyspec k;
    memset(&k, 0, sizeof k);
    voice *v = c->in_body ? &c->voices[c->cur] : NULL;
    k.fifths = v ? v->fifths : c->h_fifths;
    k.mode = v ? v->mode : c->h_mode;
    memcpy(k.acc, v ? v->key_acc : c->h_key_acc, sizeof k.acc);
    parse_key(c, val, &k, line);
    if (!v) {
        if (k.has_key) {
            c->h_fifths = k.fifths;
            c->h_mode = k.mode;
            memcpy(c->h_key_acc, k.acc, sizeof k.acc);
        }
        if (k.has_transpose)
            c->h_transpose = k.transpose;
        if (k.has_octave)
            c->h_octave = k.octave;
        return;
    }
    if (k.has_key) {
        v->fifths = k.fifths;
        v->mode = k.mode;
        memcpy(v->key_acc, k.acc, sizeof k.acc);
        ev *e = push_ev(c, v, E_KEY, line, col);
        if (e) {
            e->a = k.fifths;
            e->b = k.mode;
        }
    }
    if (k.has_transpose)
        v->transpose = k.transpose;
    if (k.has_octave)
        v->octave = k.octave;
}

static void set_unit(tune_ctx *c, const char *val, long line, long col)
{
    int num = 0, den = 0;
    const char *p = val;
    while (*p >= '0' && *p <= '9' && num < 100000)
        num = num * 10 + (*p++ - '0');
    if (*p == '/') {
        p++;
        while (*p >= '0' && *p <= '9' && den < 100000)
            den = den * 10 + (*p++ - '0');
    } else {
        den = 1;
    }
    if (num <= 0 || den <= 0) {
        warn(c, line, col, "L: value '%.40s' not understood", val);
        return;
    }
    rat u = rat_make(num, den);
    if (c->in_body)
        c->voices[c->cur].unit = u;
    else {
        c->h_unit = u;
        c->unit_set = 1;
    }
}

static void set_meter(tune_ctx *c, const char *val, long line, long col)
{
    int num = 4, den = 4;
    int r = parse_meter(val, &num, &den);
    if (r < 0) {
        warn(c, line, col, "M: value '%.40s' not understood", val);
        return;
    }
    if (r == 1) {
        num = 4;
        den = 4;
    }
    if (!c->in_body) {
        c->h_mnum = num;
        c->h_mden = den;
        c->meter_set = r == 0;
        return;
    }
    voice *v = &c->voices[c->cur];
    v->mnum = num;
    v->mden = den;
    v->hornpipe = c->hornpipe && (num == 2 || num == 4) && den == 4;
    ev *e = push_ev(c, v, E_METER, line, col);
    if (e) {
        e->a = r == 0 ? num : 0;
        e->b = den;
    }
}

/* V: id [name="..."] [clef=...] [transpose=n] [octave=n] */
static void select_voice(tune_ctx *c, const char *val, long line, long col)
{
    const char *p = val;
    while (*p == ' ')
        p++;
    const char *id = p;
    while (*p && *p != ' ' && *p != '\t' && *p != ']')
        p++;
    size_t n = (size_t)(p - id);
    if (n == 0) {
        warn(c, line, col, "V: without an identifier");
        return;
    }
    voice *v = voice_get(c, id, n);
    if (!v)
        return;
    c->cur = (size_t)(v - c->voices);
    const char *nm = strstr(p, "name=");
    if (!nm)
        nm = strstr(p, "nm=");
    if (nm) {
        nm = strchr(nm, '=') + 1;
        size_t k = 0;
        if (*nm == '"') {
            nm++;
            while (nm[k] && nm[k] != '"' && k + 1 < sizeof v->name)
                k++;
        } else {
            while (nm[k] && nm[k] != ' ' && k + 1 < sizeof v->name)
                k++;
        }
        memcpy(v->name, nm, k);
        v->name[k] = 0;
    }
    const char *t = strstr(p, "transpose=");
    if (t)
        (void)parse_int(t + 10, &v->transpose);
    const char *o = strstr(p, "octave=");
    if (o)
        (void)parse_int(o + 7, &v->octave);
}

/* %%MIDI program [chan] n, %%MIDI transpose n, %%MIDI channel n */
static void midi_directive(tune_ctx *c, const char *d)
{
    while (*d == ' ')
        d++;
    int vals[2], nv = 0;
    const char *p;
    voice *v = c->n_voices ? &c->voices[c->cur] : NULL;
    if (strncmp(d, "program", 7) == 0) {
        p = d + 7;
        while (nv < 2) {
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p)
                break;
            vals[nv++] = (int)x;
            p = end;
        }
        int prog = nv == 2 ? vals[1] : nv == 1 ? vals[0] : -1;
        if (prog >= 0 && prog <= 127) {
            if (v)
                v->program = prog;
            else
                c->h_program = prog;
        }
    } else if (strncmp(d, "transpose", 9) == 0) {
        int t;
        if (parse_int(d + 9, &t) == 0) {
            if (v && c->in_body)
                v->transpose = t;
            else
                c->h_transpose = t;
        }
    } else if (strncmp(d, "nobarlines", 10) == 0) {
        c->nobarlines = 1;
    } else if (strncmp(d, "barlines", 8) == 0) {
        c->nobarlines = 0;
    } else if (strncmp(d, "ratio", 5) == 0) {
        int a, b;
        char *end;
        long x = strtol(d + 5, &end, 10);
        long y = strtol(end, NULL, 10);
        a = (int)x;
        b = (int)y;
        if (a > 0 && b > 0 && a < 1000 && b < 1000) {
            c->ratio_n = a;
            c->ratio_m = b;
        }
    } else if (strncmp(d, "channel", 7) == 0) {
        int ch;
        if (parse_int(d + 7, &ch) == 0 && ch >= 1 && ch <= 16 && v)
            v->channel = ch - 1;
    }
}

/* ---- the music body ---- */

static int note_pitch(tune_ctx *c, voice *v, const char *acc, size_t nacc, int letter_ch, size_t noct,
                      const char *oct, int *up, int *down, int record)
{
    int li = letter_index(letter_ch);
    int octave = letter_ch >= 'a' ? 5 : 4;   /* C = 60 is octave 4 (MIDI 60 / 12 - 1) */
    for (size_t i = 0; i < noct; i++)
        octave += oct[i] == '\'' ? 1 : -1;
    int a;
    int slot = octave < 0 ? 0 : octave > 11 ? 11 : octave;
    if (nacc) {
        a = 0;
        for (size_t i = 0; i < nacc; i++)
            a += acc[i] == '^' ? 1 : acc[i] == '_' ? -1 : 0;
        if (record && !c->nobarlines) {
            v->bar_acc[li][slot] = a;
            v->bar_any[li] = a;
        }
    } else if (c->opt->standard_accidentals && v->bar_acc[li][slot] != 99) {
        a = v->bar_acc[li][slot];
    } else if (!c->opt->standard_accidentals && v->bar_any[li] != 99) {
        a = v->bar_any[li];
    } else {
        a = v->key_acc[li];
    }
    int base = 12 * (octave + 1) + letter_semitone[li];
    if (up) {
        int ui = (li + 1) % 7, di = (li + 6) % 7;
        int uo = octave + (ui == 0), dn = octave - (di == 6);
        *up = 12 * (uo + 1) + letter_semitone[ui] + v->key_acc[ui];
        *down = 12 * (dn + 1) + letter_semitone[di] + v->key_acc[di];
    }
    return base + a;
}

/* Multiplies a group's length (and its notes') by f, keeping the voice position in step. */
static void scale_group(voice *v, long gi, rat f)
{
    ev *g = &v->evs[gi];
    rat old = g->len;
    g->len = rat_mul(g->len, f);
    for (uint32_t i = 0; i < g->np; i++)
        v->pool[g->p0 + i].len = rat_mul(v->pool[g->p0 + i].len, f);
    v->pos = rat_add(v->pos, rat_sub(g->len, old));
}

/* abc2midi's hornpipe rule, read from its output: under R:hornpipe in 2/4 or 4/4, two single notes
 * of 1/8 (4/4) or 1/16 (2/4) in a row, the first on a multiple of their pair's length from the bar
 * line, are played long-short, 2:1. */
static void hornpipe_pair(voice *v, long gi, int tupleted)
{
    ev *g = &v->evs[gi];
    rat pair_note = rat_make(v->mnum, 32);
    if (g->kind != E_NOTE || g->np != 1 || g->chord || tupleted || rat_cmp(g->len, pair_note) != 0) {
        v->horn_first = -1;
        return;
    }
    /* the pair's written lengths must agree, a staccato note counting half (as for > and <) */
    if (v->horn_first >= 0 && v->horn_first == v->last_group &&
        rat_cmp(v->evs[v->horn_first].wlen, g->wlen) == 0) {
        scale_group(v, v->horn_first, rat_make(4, 3));
        scale_group(v, gi, rat_make(2, 3));
        /* as for >: a broken rhythm after the pair compares the swung length */
        v->evs[v->horn_first].wlen = rat_muli(v->evs[v->horn_first].wlen, 4, 3);
        g->wlen = rat_muli(g->wlen, 2, 3);
        v->horn_first = -1;
        return;
    }
    rat at = rat_sub(rat_sub(v->pos, g->len), v->bar_at);   /* where this note starts in the bar */
    rat slots = rat_from128((i128)at.n * pair_note.d, (i128)at.d * pair_note.n * 2);
    v->horn_first = slots.d == 1 ? gi : -1;
}

/* Called when a note group or rest is complete: broken rhythm and tuplets. */
static void finish_group(voice *v, long gi)
{
    ev *g = &v->evs[gi];
    if (g->grace)
        return;
    rat f = rat_make(1, 1);
    int explicit_broken = 0;
    int tupleted = 0;
    if (v->tup_left > 0) {
        /* abc2midi gives a note its tuplet factor as it reads it, before a broken rhythm compares
         * its length */
        f = rat_make(v->tup_q, v->tup_p);
        g->wlen = rat_mul(g->wlen, f);
        v->tup_left--;
        tupleted = 1;
    }
    if (v->broken.n && v->hornpipe && !tupleted && rat_cmp(v->broken_first, v->broken) < 0 &&
        v->broken_prev >= 0) {
        /* under hornpipe swing abc2midi overrides a < between two notes of the swung length:
         * they are played long-short like every such pair */
        const ev *pg = &v->evs[v->broken_prev];
        rat pair_note = rat_make(v->mnum, 32);
        if (pg->kind == E_NOTE && g->kind == E_NOTE && pg->np == 1 && g->np == 1 &&
            rat_cmp(pg->len, pair_note) == 0 && rat_cmp(g->len, pair_note) == 0) {
            v->broken_first = rat_make(4, 3);
            v->broken = rat_make(2, 3);
        }
    }
    if (v->broken.n) {
        /* abc2midi applies a broken rhythm only to two groups of equal length as they stand then: a
         * staccato note counting half, tuplet factors and earlier broken rhythms included (so in
         * A>B>A the second > finds B already halved and is not applied); a chord in [ ] passes
         * the check whatever its length (abc2midi compares the chord's opening, which has none) */
        if (v->broken_prev >= 0 && (rat_cmp(v->evs[v->broken_prev].wlen, g->wlen) == 0 ||
                                    v->evs[v->broken_prev].chord || g->chord)) {
            ev *pg = &v->evs[v->broken_prev];
            scale_group(v, v->broken_prev, v->broken_first);
            pg->wlen = rat_mul(pg->wlen, v->broken_first);
            f = rat_mul(f, v->broken);
            g->wlen = rat_mul(g->wlen, v->broken);
            explicit_broken = 1;
            if ((g->deco & DECO_ROLL) && g->np == 1) {
                /* abc2midi's output for A>~B: the roll's cut shrinks or grows with its note, and
                 * outside a slur the first note takes both factors */
                if (!v->slur)
                    scale_group(v, v->broken_prev, v->broken);
                g->cutf = v->broken;
            }
        }
        v->broken = rat_make(0, 1);
        v->broken_prev = -1;
    }
    v->pos = rat_add(v->pos, g->len);
    if (f.n != f.d)
        scale_group(v, gi, f);
    if (v->hornpipe)
        hornpipe_pair(v, gi, tupleted || explicit_broken);
    v->last_group = gi;
}

static int add_pitch(tune_ctx *c, voice *v, int pitch, rat len, long line, long col)
{
    if (tx_grow((void **)&v->pool, &v->cappool, v->npool + 1, sizeof *v->pool))
        return tx_abc_fail(c, line, col, "out of memory");
    pitch_ent *p = &v->pool[v->npool++];
    p->pitch = (int16_t)pitch;
    p->tie = 0;
    p->pline = -1;
    p->absorbed = 0;
    p->root = -1;
    p->tlen = rat_make(0, 1);
    p->len = len;
    return TX_OK;
}

static void add_text(tune_ctx *c, voice *v, int kind, const char *s, size_t n, long line, long col)
{
    char *t = tx_arena_strndup(c->arena, s, n);
    if (!t) {
        tx_abc_fail(c, line, col, "out of memory");
        return;
    }
    ev *e = push_ev(c, v, E_TEXT, line, col);
    if (e) {
        e->a = kind;
        e->text = t;
    }
}

/* P: in the body: abc2midi starts the part in every voice, not only the current one. Labels are A-Z
 * (abc2midi refuses others: "P:dc" is no label). */
static void start_part(tune_ctx *c, const char *val, long line, long col)
{
    if (!(val[0] >= 'A' && val[0] <= 'Z')) {
        warn(c, line, col, "part label '%.20s' ignored: abc2midi takes A-Z only", val);
        return;
    }
    c->cur_part = val[0];
    for (size_t i = 0; i < c->n_voices && !c->failed; i++) {
        if (c->voices[i].overlay_of)
            continue;
        ev *e = push_ev(c, &c->voices[i], E_PART, line, col);
        if (e)
            e->a = val[0];
    }
}

/* A decoration: `single` for the one-character forms (.~HLMOPSTuv), else !name! or +name+. */
static void decoration(tune_ctx *c, voice *v, const char *d, size_t n, int single, long line, long col)
{
    unsigned *to = single ? &v->deco_char : &v->deco;
    if ((n == 1 && d[0] == '.') || (n == 8 && memcmp(d, "staccato", 8) == 0))
        *to |= DECO_STACCATO;
    else if ((n == 1 && d[0] == '~') || (n == 4 && memcmp(d, "roll", 4) == 0))
        *to |= DECO_ROLL;
    else if ((n == 1 && d[0] == 'T') || (n == 5 && memcmp(d, "trill", 5) == 0))
        *to |= DECO_TRILL;
    static const struct { char ch; const char *name; } names[] = {
        {'.', "staccato"}, {'~', "roll"}, {'H', "fermata"}, {'L', "accent"}, {'M', "lowermordent"},
        {'O', "coda"}, {'P', "uppermordent"}, {'S', "segno"}, {'T', "trill"}, {'u', "upbow"},
        {'v', "downbow"},
    };
    if (n == 1)
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (names[i].ch == d[0]) {
                d = names[i].name;
                n = strlen(d);
                break;
            }
    add_text(c, v, TX_TEXT_ANNOTATION, d, n, line, col);
}

static unsigned parse_endings(const char *s, size_t n)
{
    unsigned mask = 0;
    int cur = 0, prev = -1, range = 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = i < n ? s[i] : ',';
        if (ch >= '0' && ch <= '9') {
            if (cur < 100)
                cur = cur * 10 + (ch - '0');
        } else {
            if (range && prev >= 0)
                for (int k = prev; k <= cur && k < 32; k++)
                    mask |= 1u << k;
            else if (cur > 0 && cur < 32)
                mask |= 1u << cur;
            range = ch == '-';
            prev = cur;
            cur = 0;
        }
    }
    return mask;
}

#define G(i) (ov[2 * (i)] == PCRE2_UNSET ? 0 : ov[2 * (i) + 1] - ov[2 * (i)])
#define S(i) (line + (ov[2 * (i)] == PCRE2_UNSET ? 0 : ov[2 * (i)]))

static void close_chord(tune_ctx *c, voice *v, const char *lenp, size_t nl, size_t sl, const char *denp,
                        size_t nd, long ln, long col)
{
    ev *g = &v->evs[v->chord_ev];
    v->in_chord = 0;
    rat outer = parse_len(lenp, nl, sl, denp, nd);
    int has_outer = nl || sl || nd;
    g->outer = (uint8_t)has_outer;
    if (v->chord_rest_first) {
        /* a rest inside [ ] takes no time of its own, but when it comes first its length is the
         * chord's (abc2midi); a chord of rests alone is a rest */
        g->len = has_outer ? rat_mul(v->unit, outer) : v->chord_rest;
        g->wlen = g->len;
        if (g->np == 0)
            g->kind = E_REST;
        /* (abc2midi then sounds each note for its own length, [z2C] a short C: not followed, the
         * notes sound as long as the chord) */
        finish_group(v, v->chord_ev);
        v->chord_ev = -1;
        return;
    }
    if (g->np == 0) {
        /* an empty chord takes no time, as abc2midi reads it */
        v->chord_ev = -1;
        return;
    }
    if (c->opt->standard_chords) {
        g->len = rat_mul(v->pool[g->p0].len, outer);
        for (uint32_t i = 0; i < g->np; i++)
            v->pool[g->p0 + i].len = rat_mul(v->pool[g->p0 + i].len, outer);
    } else {
        g->len = has_outer ? rat_mul(v->unit, outer) : v->pool[g->p0].len;
        for (uint32_t i = 0; i < g->np; i++)
            v->pool[g->p0 + i].len = g->len;
    }
    finish_group(v, v->chord_ev);
    v->chord_ev = -1;
    (void)ln;
    (void)col;
}

/* Reads one line of music into the current voice. */
static void music_line(tune_ctx *c, const char *line, size_t linelen, long ln)
{
    voice *v = &c->voices[c->cur];
    v->lyric_from = v->n;
    size_t pos = 0;
    while (pos < linelen && !c->failed) {
        if (line[pos] == ' ' || line[pos] == '\t') {
            /* blanks, the commonest token, without the pattern (a tenth fewer instructions in all);
             * they only end one-character decorations (see below) */
            c->voices[c->cur].deco_char = 0;
            while (pos < linelen && (line[pos] == ' ' || line[pos] == '\t'))
                pos++;
            continue;
        }
        int rc = jit_ok ? pcre2_jit_match(token_re, (PCRE2_SPTR)line, linelen, pos, 0, c->md, NULL)
                        : pcre2_match(token_re, (PCRE2_SPTR)line, linelen, pos, PCRE2_ANCHORED, c->md, NULL);
        long col = (long)pos + 1;
        if (rc < 0 || pcre2_get_ovector_pointer(c->md)[1] == pos) {
            unsigned char ch = (unsigned char)line[pos];
            c->voices[c->cur].deco_char = 0;
            if (ch == '"') {
                tx_abc_fail(c, ln, col, "unterminated string");
                return;
            }
            if (ch == '[' ) {
                tx_abc_fail(c, ln, col, "unterminated inline field or chord");
                return;
            }
            if (ch == '!') {
                /* an old-style line break, or an unterminated decoration: abc2midi skips it */
                warn(c, ln, col, "'!' without a closing '!'");
            } else if (ch >= 0x20 && ch < 0x7f)
                warn(c, ln, col, "unexpected '%c'", ch);
            else
                warn(c, ln, col, "unexpected byte 0x%02x", ch);
            pos++;
            continue;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        const char *mark = (const char *)pcre2_get_mark(c->md);
        size_t end = ov[1];
        char k = mark ? mark[0] : '?';
        v = &c->voices[c->cur];
        if (k != 'n' && k != 'r' && k != 'o' && k != 'c') {
            /* abc2midi reads one-character decorations as the start of a note: anything else
             * after them (a blank, "text", a slur, a bar line, !name! ...) is a malformed note
             * there, and they are lost; !name! decorations wait for the next note */
            v->deco_char = 0;
        }
        switch (k) {
        case 'n': {
            int up = 0, down = 0;
            /* abc2midi: a grace note's accidental does not carry to the notes after it */
            int pitch = note_pitch(c, v, S(1), G(1), line[ov[2 * 2]], G(3), S(3), &up, &down, !v->in_grace);
            int pline = 7 * (line[ov[2 * 2]] >= 'a' ? 5 : 4) + letter_index(line[ov[2 * 2]]);
            for (size_t q = 0; q < G(3); q++)
                pline += S(3)[q] == '\'' ? 7 : -7;
            rat len = rat_mul(v->unit, parse_len(S(4), G(4), G(5), S(6), G(6)));
            if (v->in_chord) {
                ev *g = &v->evs[v->chord_ev];
                if (g->np >= TX_ABC_MAX_CHORD) {
                    /* a chord may run over bar lines and lines: bound what it can gather */
                    tx_abc_fail(c, ln, col, "limit: more than %d notes in one chord", TX_ABC_MAX_CHORD);
                    return;
                }
                if (add_pitch(c, v, pitch, len, ln, col))
                    return;
                v->pool[v->npool - 1].pline = (int16_t)pline;
                g = &v->evs[v->chord_ev];
                if (g->np == 0) {
                    /* the first note's staccato is the chord's (see staccato_sounds); other
                     * decorations inside [ ] are dropped */
                    g->deco |= (uint8_t)((v->deco | v->deco_char) & DECO_STACCATO);
                    v->deco = v->deco_char = 0;
                    g->wlen = (g->deco & DECO_STACCATO) ? rat_muli(len, 1, 2) : len;
                    g->p0 = (uint32_t)(v->npool - 1);
                    g->up = (int16_t)up;
                    g->down = (int16_t)down;
                }
                g->np++;
                break;
            }
            ev *e = push_ev(c, v, E_NOTE, ln, col);
            if (!e || add_pitch(c, v, pitch, len, ln, col))
                return;
            v->pool[v->npool - 1].pline = (int16_t)pline;
            e->p0 = (uint32_t)(v->npool - 1);
            e->np = 1;
            e->up = (int16_t)up;
            e->down = (int16_t)down;
            e->grace = (uint8_t)v->in_grace;
            e->len = v->in_grace ? rat_make(0, 1) : len;
            if (v->in_grace)
                v->pool[e->p0].len = rat_muli(len, 1, 4);   /* the grace note takes the decorations */
            else
                e->deco = (uint8_t)(v->deco | v->deco_char);
            v->deco = v->deco_char = 0;
            e->wlen = (e->deco & DECO_STACCATO) ? rat_muli(len, 1, 2) : len;
            finish_group(v, (long)(e - v->evs));
            break;
        }
        case 'r': {
            char r = line[ov[2 * 2]];
            if (v->in_chord && (r == 'z' || r == 'x')) {
                /* a rest inside [ ]: see close_chord */
                if (v->evs[v->chord_ev].np == 0 && !v->chord_rest_first) {
                    v->chord_rest_first = 1;
                    v->chord_rest = rat_mul(v->unit, parse_len(S(4), G(4), G(5), S(6), G(6)));
                }
                break;
            }
            ev *e = push_ev(c, v, E_REST, ln, col);
            if (!e)
                return;
            if (r == 'Z' || r == 'X') {
                int64_t bars = 1;
                if (G(4)) {
                    bars = 0;
                    for (size_t i = 0; i < G(4); i++)
                        bars = bars * 10 + (S(4)[i] - '0');
                }
                e->len = rat_muli(rat_make(v->mnum, v->mden), bars, 1);
                v->pos = rat_add(v->pos, e->len);
                v->last_group = (long)(e - v->evs);
                v->horn_first = -1;
            } else {
                e->len = rat_mul(v->unit, parse_len(S(4), G(4), G(5), S(6), G(6)));
                e->wlen = e->len;
                if (v->in_grace)
                    e->len = rat_make(0, 1), e->grace = 1;
                finish_group(v, (long)(e - v->evs));
            }
            v->deco = v->deco_char = 0;
            break;
        }
        case 'b':
        case 'd':
        case 'e': {
            unsigned flags = 0, endings = 0;
            if (k == 'b') {
                const char *b = S(2);
                size_t nb = G(2);
                int colons_l = (int)G(1), colons_r = (int)G(3);
                /* abc2midi reads a bar line as :| or |: or a pair of characters (|| |] [|), then
                 * starts over; a colon left on its own is skipped: ||: |]: :|: open no repeat
                 * (|||: [|: :||: do), :[| closes none */
                int std = c->opt->standard_bars;
                if (colons_l && b[0] == '[' && !std)
                    warn(c, ln, col, "':' before '[|' ignored, as abc2midi ignores it");
                else if (colons_l)
                    flags |= TX_ABC_BAR_REPEAT_END;
                int lone = (!colons_l && nb == 2 && b[0] == '|' && (b[1] == '|' || b[1] == ']')) ||
                           (colons_l && nb == 1);
                if (colons_r && !std && lone)
                    warn(c, ln, col + (long)(colons_l + nb), "':' after a bar line ignored, as abc2midi ignores "
                         "it");
                else if (colons_r)
                    flags |= TX_ABC_BAR_REPEAT_START;
                if (nb >= 2 && b[nb - 1] == ']')
                    flags |= TX_ABC_BAR_FINAL;
                else if ((nb >= 2 && b[0] == '[') || (nb >= 2 && b[0] == '|' && b[1] == '|'))
                    flags |= TX_ABC_BAR_DOUBLE;
                else
                    flags |= TX_ABC_BAR_SINGLE;
                if (G(4) && nb == 1)
                    endings = parse_endings(S(4), G(4));
                else if (G(4))   /* abc2midi reads an ending number after | and :| only */
                    warn(c, ln, col, "ending number after '%.*s' ignored, as abc2midi ignores it", (int)nb,
                         b);
            } else if (k == 'd') {
                flags = TX_ABC_BAR_REPEAT_END | TX_ABC_BAR_REPEAT_START | TX_ABC_BAR_DOUBLE;
                if (G(2))
                    endings = parse_endings(S(2), G(2));
            } else {
                endings = parse_endings(S(1), G(1));
            }
            if (v->in_chord && !v->chord_bar_line) {
                /* abc2midi reads the bar line and goes on with the chord to its ] */
                warn(c, ln, col, "bar line inside a chord");
                v->chord_bar_line = ln;
                v->chord_bar_col = col;
            }
            if (v->overlay_of && !v->in_chord) {
                if (c->voices[v->overlay_of - 1].ov_paren) {
                    /* inside (& ... &) the overlay keeps its own bars */
                    v->ov_seg++;
                    v->ov_visited = 1;
                } else {
                    /* a bar line ends the overlay; the bar belongs to the parent */
                    c->cur = (size_t)(v->overlay_of - 1);
                    v = &c->voices[c->cur];
                }
            }
            ev *e = push_ev(c, v, E_BAR, ln, col);
            if (!e)
                return;
            e->a = (int)flags;
            e->b = (int)endings;
            v->nbars++;
            if (!v->overlay_of)
                v->ov_depth = 0;
            if (flags)
                voice_reset_bar(v);
            /* a broken rhythm waiting for its second note keeps waiting: abc2midi applies it
             * across bar lines, line ends and repeat signs, in written order */
            v->bar_at = v->pos;
            v->horn_first = -1;
            break;
        }
        case 'f': {
            char f = line[ov[2]];
            const char *val = S(2);
            size_t n = G(2);
            char buf[4100];
            if (n >= sizeof buf)
                n = sizeof buf - 1;
            memcpy(buf, val, n);
            buf[n] = 0;
            if (f == 'K')
                apply_key(c, buf, ln, col);
            else if (f == 'L')
                set_unit(c, buf, ln, col);
            else if (f == 'M')
                set_meter(c, buf, ln, col);
            else if (f == 'V') {
                select_voice(c, buf, ln, col);
                v = &c->voices[c->cur];
            } else if (f == 'Q') {
                uint32_t t = parse_tempo(buf, v->unit);
                ev *e = t ? push_ev(c, v, E_TEMPO, ln, col) : NULL;
                if (e)
                    e->a = (int)t;
            } else if (f == 'P') {
                start_part(c, buf, ln, col);
            }
            break;
        }
        case 'c':
            if (v->in_chord) {
                warn(c, ln, col, "'[' inside a chord ignored, as abc2midi ignores it");
                break;
            }
            {
                ev *e = push_ev(c, v, E_NOTE, ln, col);
                if (!e)
                    return;
                e->p0 = (uint32_t)v->npool;
                e->grace = (uint8_t)v->in_grace;
                e->chord = 1;
                v->chord_rest_first = 0;
                v->chord_bar_line = v->chord_bar_col = 0;
                /* abc2midi plays no ornament on a chord; its staccato counts (staccato_sounds) */
                e->deco = (uint8_t)((v->deco | v->deco_char) & DECO_STACCATO);
                v->deco = v->deco_char = 0;
                v->in_chord = 1;
                v->chord_ev = (long)(e - v->evs);
                v->chord_line = ln;
                v->chord_col = col;
            }
            break;
        case 'C':
            if (!v->in_chord) {
                warn(c, ln, col, "']' without a chord");
                break;
            }
            close_chord(c, v, S(1), G(1), G(2), S(3), G(3), ln, col);
            if (v->evs[v->n - 1].grace) {
                ev *g = &v->evs[v->n - 1];
                g->len = rat_make(0, 1);
            }
            break;
        case 't': {
            int p = 0, q = 0, r = 0;
            for (size_t i = 0; i < G(1); i++)
                p = p * 10 + (S(1)[i] - '0');
            for (size_t i = 0; i < G(2); i++)
                q = q * 10 + (S(2)[i] - '0');
            for (size_t i = 0; i < G(3); i++)
                r = r * 10 + (S(3)[i] - '0');
            if (v->tup_left > 0) {
                /* abc2midi refuses a tuplet inside a tuplet: the open one goes on */
                warn(c, ln, col, "tuplet inside a tuplet ignored, as abc2midi ignores it");
                break;
            }
            if (p < 2 || (p > 9 && q == 0)) {
                /* abc2midi plays (10 and above without a given time as plain notes */
                warn(c, ln, col, "tuplet of %d notes ignored", p);
                break;
            }
            if (q == 0) {
                /* abc2midi counts 3/4 as compound here too: any numerator divisible by 3 */
                int compound = v->mnum % 3 == 0;
                switch (p) {
                case 2: q = 3; break;
                case 3: q = 2; break;
                case 4: q = 3; break;
                case 6: q = 2; break;
                case 8: q = 3; break;
                default: q = compound ? 3 : 2; break;
                }
            }
            v->tup_p = p;
            v->tup_q = q;
            v->tup_left = r ? r : p;
            break;
        }
        case 'T':
            if (v->in_chord) {
                if (v->npool > 0 && v->evs[v->chord_ev].np > 0)
                    v->pool[v->npool - 1].tie = 1;
            } else if (v->last_group >= 0 && v->evs[v->last_group].kind == E_NOTE) {
                ev *g = &v->evs[v->last_group];
                for (uint32_t i = 0; i < g->np; i++)
                    v->pool[g->p0 + i].tie = 1;
            }
            break;
        case 'B': {
            size_t n = G(1);
            int ch = line[ov[2]];
            int64_t den = (int64_t)1 << n;             /* 2, 4, 8 */
            rat longer = rat_make(2 * den - 1, den);   /* 3/2, 7/4, 15/8 */
            rat shorter = rat_make(1, den);            /* 1/2, 1/4, 1/8 */
            if (v->last_group < 0) {
                warn(c, ln, col, "broken rhythm without a note before it");
                break;
            }
            if (n == 1 && c->ratio_n > 0) {
                longer = rat_make(2 * c->ratio_n, c->ratio_n + c->ratio_m);
                shorter = rat_make(2 * c->ratio_m, c->ratio_n + c->ratio_m);
            }
            if (c->hornpipe) {
                /* under R:hornpipe abc2midi plays every broken rhythm 2:1 */
                longer = rat_make(4, 3);
                shorter = rat_make(2, 3);
            }
            v->broken_first = ch == '>' ? longer : shorter;
            v->broken_prev = v->last_group;
            v->horn_first = -1;
            v->broken = ch == '>' ? shorter : longer;
            break;
        }
        case 'g':
            if (v->in_grace) {
                tx_abc_fail(c, ln, col, "'{' inside grace notes");
                return;
            }
            v->in_grace = 1;
            break;
        case 'G':
            if (!v->in_grace)
                warn(c, ln, col, "'}' without '{'");
            v->in_grace = 0;
            break;
        case 'q': {
            const char *s = S(1);
            size_t n = G(1);
            if (n && strchr("^_<>@", s[0]))
                add_text(c, v, TX_TEXT_ANNOTATION, s + 1, n - 1, ln, col);
            else if (n)
                add_text(c, v, TX_TEXT_CHORD, s, n, ln, col);
            break;
        }
        case 'D':
            decoration(c, v, S(1), G(1), 0, ln, col);
            break;
        case 'o':
            decoration(c, v, S(1), 1, 1, ln, col);
            break;
        case '%':
            end = linelen;
            break;
        case 'v': {
            /* voice overlay: (&  &  &) */
            size_t pi = v->overlay_of ? (size_t)(v->overlay_of - 1) : c->cur;
            if (v->in_chord || v->in_grace) {
                warn(c, ln, col, "'&' inside a chord or grace notes ignored");
                break;
            }
            if (line[ov[2]] == '(') {
                if (v->overlay_of) {
                    warn(c, ln, col, "'(&' inside an overlay ignored");
                    break;
                }
                v->ov_paren = 1;
                v->ov_paren_bar = v->nbars;
                v->ov_depth = 0;
            } else if (G(1) == 2) {
                c->cur = pi;
                c->voices[pi].ov_paren = 0;
                c->voices[pi].ov_depth = 0;
            } else {
                overlay_enter(c, pi, ln, col);
            }
            break;
        }
        case 's':
            if (line[end - 1] == '(')
                v->slur++;
            else if (v->slur > 0)
                v->slur--;
            break;
        default:
            break;   /* whitespace, spacers, ignorable characters */
        }
        pos = end;
    }
    c->voices[c->cur].deco_char = 0;   /* nor do they reach across a line end */
    /* a chord left open goes on on the next line, as abc2midi reads it */
}

/* w: lyrics: syllables go to the notes of the voice's last music line, in order. */
static void lyric_line(tune_ctx *c, const char *val, long ln)
{
    voice *v = &c->voices[c->cur];
    if (v->overlay_of)   /* a line that ended inside an overlay: the words go to its parent */
        v = &c->voices[v->overlay_of - 1];
    size_t ei = v->lyric_from;
    const char *p = val;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        /* find the next note that can carry a syllable: not grace, not a tie's continuation */
        if (*p == '|') {
            while (ei < v->n && v->evs[ei].kind != E_BAR)
                ei++;
            if (ei < v->n)
                ei++;
            p++;
            continue;
        }
        const char *s = p;
        size_t n = 0;
        if (*p == '*' || *p == '_') {
            p++;
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != '-' && *p != '_' && *p != '*' && *p != '|') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (*p == '-')
                p++;
            n = (size_t)(p - s);
        }
        while (ei < v->n && (v->evs[ei].kind != E_NOTE || v->evs[ei].grace))
            ei++;
        if (ei >= v->n)
            break;
        if (n) {
            char *t = tx_arena_strndup(c->arena, s, n);
            if (!t) {
                tx_abc_fail(c, ln, 1, "out of memory");
                return;
            }
            for (char *q = t; *q; q++)
                if (*q == '~')
                    *q = ' ';
            v->evs[ei].text = t;
        }
        ei++;
    }
}

/* ---- one tune ---- */

typedef struct line_t {
    const char *s;
    size_t n;
    long no;
} line_t;

static int is_field(const char *s, size_t n)
{
    return n >= 2 && s[1] == ':' && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
                                     s[0] == '+');
}

/* A field's value with surrounding blanks and a trailing comment removed, into buf. */
static const char *field_value(const char *s, size_t n, char *buf, size_t cap, int strip_comment)
{
    size_t i = 2;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t e = n;
    if (strip_comment)
        for (size_t j = i; j < n; j++)
            if (s[j] == '%' && (j == 0 || s[j - 1] != '\\')) {
                e = j;
                break;
            }
    while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    size_t len = e - i < cap - 1 ? e - i : cap - 1;
    memcpy(buf, s + i, len);
    buf[len] = 0;
    return buf;
}

/* A field's value joined with the +: lines that continue it (ABC 2.1, section 3.3 "field
 * continuation": the parts are joined with a space, so a continued w: line adds syllables). Comment
 * lines between them are skipped. *last is set to the last line used; the value is cut at cap.
 * abc2midi reads +: as a continuation of w: only and ignores it after the fields that change the
 * music (K: L: M: Q: V: P: I:); so does tactus unless standard_continuation is set: those +: lines
 * are then passed over with a warning. */
static const char *field_joined(tune_ctx *c, const line_t *ls, size_t n, size_t i, size_t *last, char *buf,
                                size_t cap, int strip_comment)
{
    int join = c->opt->standard_continuation || !strchr("KLMQVPI", ls[i].s[0]);
    field_value(ls[i].s, ls[i].n, buf, cap, strip_comment);
    size_t len = strlen(buf);
    *last = i;
    for (size_t k = i + 1; k < n; k++) {
        const char *s = ls[k].s;
        size_t m = ls[k].n;
        if (m >= 1 && s[0] == '%' && !(m >= 2 && s[1] == '%'))
            continue;
        if (!(m >= 2 && s[0] == '+' && s[1] == ':'))
            break;
        *last = k;
        if (!join) {
            warn(c, ls[k].no, 1, "+: continuing %c: ignored, as abc2midi ignores it", ls[i].s[0]);
            continue;
        }
        if (len + 2 >= cap)
            continue;   /* full: the rest is cut off */
        char *part = buf + len + 1;
        field_value(s, m, part, cap - len - 1, strip_comment);
        size_t pl = strlen(part);
        if (pl == 0) {
            buf[len] = 0;
        } else if (len == 0) {
            memmove(buf, part, pl + 1);
            len = pl;
        } else {
            buf[len] = ' ';
            len += 1 + pl;
        }
    }
    return buf;
}

static void header_field(tune_ctx *c, char f, const char *val, long ln)
{
    static const struct { char f; const char *key; } keys[] = {
        {'T', "title"}, {'C', "composer"}, {'O', "abc:O"}, {'R', "abc:R"}, {'Z', "abc:Z"},
        {'N', "abc:N"}, {'S', "abc:S"}, {'B', "abc:B"}, {'H', "abc:H"}, {'D', "abc:D"},
        {'F', "abc:F"}, {'G', "abc:G"}, {'I', "abc:I"}, {'W', "abc:W"},
    };
    if (f == 'R') {
        /* abc2midi swings R:hornpipe tunes (see hornpipe_pair) */
        for (const char *q = val; *q; q++)
            if (strncasecmp(q, "hornpipe", 8) == 0)
                c->hornpipe = 1;
    }
    switch (f) {
    case 'K':
        apply_key(c, val, ln, 1);
        return;
    case 'L':
        set_unit(c, val, ln, 1);
        return;
    case 'M':
        set_meter(c, val, ln, 1);
        return;
    case 'Q': {
        rat u = c->unit_set ? c->h_unit : rat_make(1, 8);
        uint32_t t = parse_tempo(val, u);
        if (t)
            c->tempo = t;
        return;
    }
    case 'P': {
        /* abc2midi refuses an order with a character other than part letters, digits, ( ) . - +
         * and blanks ("A(ABB) times 4"), and then plays the parts as written */
        const char *q = val;
        while (*q && (strchr("().-+ \t", *q) || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
            q++;
        if (*q) {
            warn(c, ln, 1, "P: order with '%c' ignored, as abc2midi ignores it", *q);
            c->play_order[0] = 0;
        } else {
            expand_order(val, c->play_order, sizeof c->play_order);
        }
        return;
    }
    case 'V':
        select_voice(c, val, ln, 1);
        return;
    default:
        break;
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (keys[i].f == f) {
            const char *old = tx_score_meta(c->score, keys[i].key);
            if (old && f != 'T') {
                char *joined = tx_arena_printf(c->arena, "%s\n%s", old, val);
                if (joined)
                    tx_score_set_meta(c->score, keys[i].key, joined);
            } else if (!old) {
                tx_score_set_meta(c->score, keys[i].key, val);
                if (f == 'T')
                    c->title = tx_score_meta(c->score, "title");
            }
            return;
        }
}

/* Enters the body: fixes the default unit length, creates the first voice. */
static void start_body(tune_ctx *c)
{
    if (!c->unit_set) {
        /* abc2midi: 1/16 when the meter is below 3/4, else 1/8 */
        if (c->meter_set && (double)c->h_mnum / c->h_mden < 0.75)
            c->h_unit = rat_make(1, 16);
        else
            c->h_unit = rat_make(1, 8);
        c->unit_set = 1;
    }
    c->in_body = 1;
    /* voices named in the header start from the final header state too */
    for (size_t i = 0; i < c->n_voices; i++) {
        voice *v = &c->voices[i];
        memcpy(v->key_acc, c->h_key_acc, sizeof v->key_acc);
        v->fifths = c->h_fifths;
        v->mode = c->h_mode;
        v->unit = c->h_unit;
        v->mnum = c->h_mnum;
        v->mden = c->h_mden;
        if (!v->transpose)
            v->transpose = c->h_transpose;
        if (!v->octave)
            v->octave = c->h_octave;
    }
    if (c->n_voices == 0)
        voice_get(c, "1", 1);
    for (size_t i = 0; i < c->n_voices; i++)
        c->voices[i].hornpipe = c->hornpipe && (c->h_mnum == 2 || c->h_mnum == 4) && c->h_mden == 4;
    c->cur = 0;
}

static int build_score(tune_ctx *c, int tpq, tx_abc_tune *t, tx_arena *file_arena)
{
    tx_score *s = c->score;
    if (c->meter_set)
        tx_score_add_timesig(s, 0, c->h_mnum, (c->h_mden & (c->h_mden - 1)) == 0 && c->h_mden <= 128 ?
                             c->h_mden : 4);
    tx_score_add_keysig(s, 0, c->h_fifths >= -7 && c->h_fifths <= 7 ? c->h_fifths : 0, c->h_mode);
    tx_score_add_tempo(s, 0, c->tempo ? c->tempo : TX_DEFAULT_TEMPO);
    for (size_t i = 0; i < c->n_voices; i++) {
        voice *v = &c->voices[i];
        int rc = tx_score_add_track(s, v->name[0] ? v->name : v->id, v->program, v->channel,
                                    v->channel == 9, NULL);
        if (rc)
            return tx_abc_fail(c, 0, 0, "out of memory");
    }
    perf pf;
    memset(&pf, 0, sizeof pf);
    if (c->cache) {
        pf.notes = c->cache->notes;
        pf.cap = c->cache->cap_notes;
        c->cache->notes = NULL;
        c->cache->cap_notes = 0;
    }
    for (size_t i = 0; i < c->n_voices && !c->failed; i++) {
        tx_abc_tie_notes(c, &c->voices[i]);
        tx_abc_play_voice(c, &c->voices[i], &pf, tpq);
    }
    int64_t k = 4 * (int64_t)tpq;
    size_t dropped = 0;
    for (size_t i = 0; i < pf.n && !c->failed; i++) {
        pnote *n = &pf.notes[i];
        if (n->pitch < 0 || n->pitch > 127) {
            dropped++;
            continue;
        }
        tx_tick on = rat_floor_ticks(n->onset, k), dur = rat_floor_ticks(n->len, k);
        if (dur < 0)
            dur = 0;
        if (tx_score_add_note(s, on, dur, n->pitch, 80, n->track, n->flags))
            tx_abc_fail(c, 0, 0, "out of memory");
    }
    if (c->cache && !c->cache->notes) {
        c->cache->notes = pf.notes;
        c->cache->cap_notes = pf.cap;
    } else {
        tx_free(pf.notes);
    }
    if (dropped)
        warn(c, c->tune_line, 1, "%zu notes outside the MIDI range dropped", dropped);
    if (tx_abc_rat_overflow)
        return tx_abc_fail(c, 0, 0, "limit: note lengths beyond the supported precision");
    if (c->failed)
        return c->err->code;
    /* written bars */
    size_t nb = 0;
    for (size_t i = 0; i < c->n_voices; i++)
        for (size_t j = 0; j < c->voices[i].n; j++)
            nb += c->voices[i].evs[j].kind == E_BAR;
    if (nb) {
        t->bars = tx_arena_alloc(file_arena, nb * sizeof *t->bars);
        if (!t->bars)
            return tx_abc_fail(c, 0, 0, "out of memory");
        for (size_t i = 0; i < c->n_voices; i++) {
            voice *v = &c->voices[i];
            rat at = rat_make(0, 1);
            for (size_t j = 0; j < v->n; j++) {
                ev *e = &v->evs[j];
                if (e->kind == E_BAR) {
                    tx_abc_bar *b = &t->bars[t->n_bars++];
                    b->track = v->track;
                    b->tick = rat_floor_ticks(at, k);
                    b->flags = (unsigned)e->a;
                    b->endings = (unsigned)e->b;
                    b->line = e->line;
                    b->column = e->col;
                } else if (e->kind == E_NOTE || e->kind == E_REST) {
                    at = rat_add(at, e->len);
                }
            }
        }
    }
    /* pickup: a first bar of voice 1 shorter than the meter */
    if (c->n_voices && c->meter_set) {
        voice *v = &c->voices[0];
        rat at = rat_make(0, 1);
        for (size_t j = 0; j < v->n; j++) {
            ev *e = &v->evs[j];
            if (e->kind == E_BAR) {
                rat full = rat_make(c->h_mnum, c->h_mden);
                if (at.n > 0 && rat_cmp(at, full) < 0)
                    s->pickup = rat_floor_ticks(at, k);
                break;
            }
            if (e->kind == E_NOTE || e->kind == E_REST)
                at = rat_add(at, e->len);
        }
    }
    if (tx_score_sort(s))
        return tx_abc_fail(c, 0, 0, "out of memory");
    return TX_OK;
}

static void parse_tune(tune_ctx *c, const line_t *hdr, size_t nhdr, const line_t *lines, size_t nl,
                       tx_abc_tune *t, tx_arena *file_arena)
{
    char buf[4200];
    c->h_mnum = 4;
    c->h_mden = 4;
    c->h_mode = TX_MODE_MAJOR;
    c->h_unit = rat_make(1, 8);
    /* the file header's fields first, then the tune's */
    for (size_t pass = 0; pass < 2 && !c->failed; pass++) {
        const line_t *ls = pass == 0 ? hdr : lines;
        size_t n = pass == 0 ? nhdr : nl;
        for (size_t i = 0; i < n && !c->failed; i++) {
            const char *s = ls[i].s;
            size_t len = ls[i].n;
            long ln = ls[i].no;
            if (len >= 7 && memcmp(s, "%%MIDI ", 7) == 0) {
                size_t m = len - 7 < sizeof buf - 1 ? len - 7 : sizeof buf - 1;
                memcpy(buf, s + 7, m);
                buf[m] = 0;
                midi_directive(c, buf);
                continue;
            }
            if (len && s[0] == '%')
                continue;
            if (pass == 0 && !is_field(s, len))
                continue;
            if (c->in_body) {
                if (is_field(s, len)) {
                    char f = s[0];
                    size_t last;
                    const char *val = field_joined(c, ls, n, i, &last, buf, sizeof buf, f != 'w' && f != 'W');
                    i = last;
                    voice *v = &c->voices[c->cur];
                    switch (f) {
                    case '+':
                        warn(c, ln, 1, "+: without a field line before it ignored");
                        break;
                    case 'w':
                        lyric_line(c, val, ln);
                        break;
                    case 'K':
                        apply_key(c, val, ln, 1);
                        break;
                    case 'L':
                        set_unit(c, val, ln, 1);
                        break;
                    case 'M':
                        set_meter(c, val, ln, 1);
                        break;
                    case 'V':
                        select_voice(c, val, ln, 1);
                        break;
                    case 'Q': {
                        uint32_t tq = parse_tempo(val, v->unit);
                        ev *e = tq ? push_ev(c, v, E_TEMPO, ln, 1) : NULL;
                        if (e)
                            e->a = (int)tq;
                        break;
                    }
                    case 'P':
                        start_part(c, val, ln, 1);
                        break;
                    case 'T':
                        add_text(c, v, TX_TEXT_MARKER, val, strlen(val), ln, 1);
                        break;
                    default:
                        break;
                    }
                    continue;
                }
                music_line(c, s, len, ln);
                continue;
            }
            if (!is_field(s, len)) {
                /* text before K: (free-text notes that lost their field letter): abc2midi skips it */
                if (pass == 1 && i > 0)
                    warn(c, ln, 1, "text before the K: field ignored");
                continue;
            }
            char f = s[0];
            if (f == 'X')
                continue;
            if (f == '+') {
                if (pass == 1)
                    warn(c, ln, 1, "+: without a field line before it ignored");
                continue;
            }
            size_t last;
            const char *val = field_joined(c, ls, n, i, &last, buf, sizeof buf, 1);
            i = last;
            header_field(c, f, val, ln);
            if (f == 'K' && pass == 1)
                start_body(c);
        }
    }
    if (c->failed)
        return;
    if (!c->in_body) {
        tx_abc_fail(c, lines[0].no, 1, "tune without a K: field");
        return;
    }
    /* a chord never closed: abc2midi piles every later note into it, to the end of the tune. tactus
     * refuses the tune, at the first bar line inside the chord or else at the chord (the command
     * line's tests use such a tune as the broken one); see known-abc-differences.md */
    for (size_t i = 0; i < c->n_voices && !c->failed; i++)
        if (c->voices[i].in_chord) {
            voice *v = &c->voices[i];
            if (v->chord_bar_line)
                tx_abc_fail(c, v->chord_bar_line, v->chord_bar_col, "bar line inside a chord");
            else
                tx_abc_fail(c, v->chord_line, v->chord_col, "unterminated chord");
            return;
        }
    /* overlays follow their parents to the end, so that repeats after their last music play them */
    for (size_t i = 0; i < c->n_voices && !c->failed; i++)
        if (c->voices[i].overlay_of)
            overlay_sync(c, i, c->voices[c->voices[i].overlay_of - 1].nbars);
    if (c->failed)
        return;
    for (size_t i = 0; i < c->n_voices; i++)
        if (c->voices[i].in_grace) {
            tx_abc_fail(c, lines[nl - 1].no, 1, "unterminated grace notes");
            return;
        }
    int tpq = c->opt->tpq > 0 ? c->opt->tpq : 480;
    build_score(c, tpq, t, file_arena);
}

/* ---- files ---- */

void tx_abc_options_init(tx_abc_options *o)
{
    memset(o, 0, sizeof *o);
}

void tx_abc_file_free(tx_abc_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_tunes; i++)
        tx_score_free(f->tunes[i].score);
    tx_free(f->tunes);
    tx_arena_free(&f->arena);
    tx_free(f);
}

tx_score *tx_abc_take_score(tx_abc_file *f, size_t i)
{
    if (!f || i >= f->n_tunes)
        return NULL;
    tx_score *s = f->tunes[i].score;
    f->tunes[i].score = NULL;
    return s;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

int tx_abc_parse(const char *text, size_t len, const char *name, const tx_abc_options *opt,
                 tx_abc_file **out, tx_error *err)
{
    tx_error_clear(err);
    if (!out || (!text && len))
        return tx_error_set(err, TX_EINVAL, "tx_abc_parse: no input or output");
    *out = NULL;
    if (!name)
        name = "<abc>";
    if (len > TX_ABC_MAX_FILE)
        return tx_error_set(err, TX_ELIMIT, "%s: larger than %u bytes", name, TX_ABC_MAX_FILE);
    pthread_once(&re_once, compile_patterns);
    if (re_failed)
        return tx_error_set(err, TX_ENOMEM, "%s: cannot compile the ABC patterns", name);
    tx_abc_options defaults;
    tx_abc_options_init(&defaults);
    if (!opt)
        opt = &defaults;

    /* split into lines */
    line_t *lines = NULL;
    size_t nlines = 0, cap = 0;
    for (size_t p = 0, no = 1; p < len; no++) {
        size_t e = p;
        while (e < len && text[e] != '\n' && text[e] != '\r')
            e++;
        if (tx_grow((void **)&lines, &cap, nlines + 1, sizeof *lines)) {
            tx_free(lines);
            return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
        }
        lines[nlines].s = text + p;
        lines[nlines].n = e - p;
        lines[nlines].no = (long)no;
        nlines++;
        if (e < len && text[e] == '\r' && e + 1 < len && text[e + 1] == '\n')
            e++;
        p = e + 1;
    }

    tx_abc_file *f = tx_calloc(1, sizeof *f);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(token_re, NULL);
    if (!f || !md) {
        tx_free(f);
        tx_free(lines);
        pcre2_match_data_free(md);
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
    }
    tx_arena_init(&f->arena);
    size_t cap_tunes = 0;
    int rc = TX_OK;
    buf_cache cache;
    memset(&cache, 0, sizeof cache);

    /* the file header: lines before the first X: */
    size_t first_x = 0;
    while (first_x < nlines && !(lines[first_x].n >= 2 && lines[first_x].s[0] == 'X' &&
                                 lines[first_x].s[1] == ':'))
        first_x++;
    for (size_t i = first_x; i < nlines;) {
        if (!(lines[i].n >= 2 && lines[i].s[0] == 'X' && lines[i].s[1] == ':')) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < nlines && !blank(lines[j].s, lines[j].n) &&
               !(lines[j].n >= 2 && lines[j].s[0] == 'X' && lines[j].s[1] == ':'))
            j++;
        /* the X: number, read within the line: the input need not end with a NUL */
        long number = 0;
        {
            size_t q = 2;
            while (q < lines[i].n && (lines[i].s[q] == ' ' || lines[i].s[q] == '\t'))
                q++;
            while (q < lines[i].n && lines[i].s[q] >= '0' && lines[i].s[q] <= '9' && number < 100000000)
                number = number * 10 + (lines[i].s[q++] - '0');
        }
        if (opt->tune > 0 && number != opt->tune) {
            i = j;
            continue;
        }
        if (tx_grow((void **)&f->tunes, &cap_tunes, f->n_tunes + 1, sizeof *f->tunes)) {
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
            break;
        }
        tx_abc_tune *t = &f->tunes[f->n_tunes++];
        memset(t, 0, sizeof *t);
        t->number = number;
        t->line = lines[i].no;
        t->offset = (size_t)(lines[i].s - text);
        t->length = (size_t)(lines[j - 1].s + lines[j - 1].n - lines[i].s);
        t->title = "";

        tune_ctx c;
        memset(&c, 0, sizeof c);
        tx_arena arena;
        tx_arena_init(&arena);
        c.name = name;
        c.tune_line = lines[i].no;
        c.opt = opt;
        c.err = &t->error;
        c.arena = &arena;
        c.md = md;
        c.cache = &cache;
        c.voices = cache.voices;
        c.cap_voices = cache.cap_voices;
        cache.voices = NULL;
        cache.cap_voices = 0;
        c.first_warning = t->first_warning;
        c.score = tx_score_new(opt->tpq > 0 ? opt->tpq : 480);
        tx_abc_rat_overflow = 0;
        if (!c.score)
            tx_abc_fail(&c, lines[i].no, 1, "out of memory");
        else
            parse_tune(&c, lines, first_x, lines + i, j - i, t, &f->arena);
        if (c.title)
            t->title = tx_arena_strdup(&f->arena, c.title);
        if (!t->title)
            t->title = "";
        t->n_warnings = c.n_warnings;
        if (c.failed) {
            t->status = t->error.code ? t->error.code : TX_ESYNTAX;
            f->n_failed++;
            tx_score_free(c.score);
        } else {
            t->status = TX_OK;
            char num[32];
            snprintf(num, sizeof num, "%ld", number);
            tx_score_set_meta(c.score, "abc:X", num);
            t->score = c.score;
        }
        for (size_t v = 0; v < c.n_voices; v++) {
            if (cache.n < TX_ABC_MAX_VOICES) {
                cache.v[cache.n].evs = c.voices[v].evs;
                cache.v[cache.n].cap = c.voices[v].cap;
                cache.v[cache.n].pool = c.voices[v].pool;
                cache.v[cache.n].cappool = c.voices[v].cappool;
                cache.n++;
            } else {
                tx_free(c.voices[v].evs);
                tx_free(c.voices[v].pool);
            }
        }
        if (!cache.voices) {
            cache.voices = c.voices;
            cache.cap_voices = c.cap_voices;
        } else {
            tx_free(c.voices);
        }
        tx_arena_free(&arena);
        i = j;
    }
    pcre2_match_data_free(md);
    tx_free(lines);
    for (size_t v = 0; v < cache.n; v++) {
        tx_free(cache.v[v].evs);
        tx_free(cache.v[v].pool);
    }
    tx_free(cache.notes);
    tx_free(cache.voices);
    if (rc) {
        tx_abc_file_free(f);
        return rc;
    }
    *out = f;
    return TX_OK;
}

int tx_abc_parse_file(const char *path, const tx_abc_options *opt, tx_abc_file **out, tx_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (out)
        *out = NULL;
    int rc = tx_read_file(path, TX_ABC_MAX_FILE, &data, &len, err);
    if (rc)
        return rc;
    rc = tx_abc_parse((const char *)data, len, path, opt, out, err);
    tx_free(data);
    return rc;
}

int tx_abc_read_tune(const char *text, size_t len, const char *name, const tx_abc_options *opt,
                     tx_score **out, tx_error *err)
{
    tx_abc_file *f = NULL;
    if (!out)
        return tx_error_set(err, TX_EINVAL, "tx_abc_read_tune: no output");
    *out = NULL;
    int rc = tx_abc_parse(text, len, name, opt, &f, err);
    if (rc)
        return rc;
    if (f->n_tunes == 0) {
        tx_abc_file_free(f);
        return tx_error_set(err, TX_ESYNTAX, "%s: no tune", name ? name : "<abc>");
    }
    tx_abc_tune *t = &f->tunes[0];
    if (t->status) {
        if (err)
            *err = t->error;
        rc = t->status;
    } else {
        *out = tx_abc_take_score(f, 0);
    }
    tx_abc_file_free(f);
    return rc;
}
