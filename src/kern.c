/* kern.c: the Humdrum **kern reader (kern.h says what a file becomes).
 *
 * Two passes over the bytes with one parser: the first checks the whole file's structure and syntax
 * and finds the resolution that holds every duration exactly; the second, at that resolution, times
 * the records and builds the score. Spines are a small array rebuilt at each manipulator record; each
 * keeps the tick where its current event ends, and a record starts at the earliest such end after the
 * record before it. Tied notes wait in a list keyed by track and pitch until their last part arrives.
 * Every byte is checked, every failure names its line and column, and nothing trusts the input's
 * sizes. Not a writer, and not a Humdrum toolkit: spines other than **kern are only kept in step.
 */
#include "kern.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { SPINE_OTHER = 0, SPINE_KERN, SPINE_UNTYPED };

typedef struct spine {
    int kind;
    int track;          /* the score track of a kern spine, -1 before one is made */
    tx_tick end;        /* where its current event ends (second pass) */
} spine;

typedef struct tied {
    int track, pitch;
    tx_tick onset, end;
} tied;

typedef struct tok {
    size_t off, len;    /* in the line */
} tok;

typedef struct kparse {
    const uint8_t *data, *end;
    const char *name;
    tx_error *err;
    int build;                  /* second pass: a score is being made */
    tx_score *s;
    int64_t tpq;                /* first pass: the resolution needed so far; second: the score's */
    spine *sp, *next;           /* spines, and room for the next record's */
    size_t n_sp, cap_sp, cap_next;
    tied *ties;
    size_t n_ties, cap_ties;
    tok *toks;
    size_t cap_toks;
    long line;
    const uint8_t *ln;          /* the current line */
    size_t ln_len;
    tx_tick now;
    int started, ended;         /* exclusive interpretations seen; every spine has ended */
    int n_tracks;
    int title_rank;             /* 3 OTL, 2 OTL@@lang, 1 OTL@lang, 0 none */
    /* meter and bars */
    int num, den, have_meter, seen_bar;
    tx_tick origin;             /* a barline of the meter's grid */
    tx_tick desig_tick;         /* the tick of the last key designation, -1 before one */
} kparse;

/* ---- errors ---- */

static int fail(kparse *k, int code, long col, const char *fmt, ...) TX_PRINTF(4, 5);
static int fail(kparse *k, int code, long col, const char *fmt, ...)
{
    char m[TX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    tx_error_set(k->err, code, "%.200s:%ld:%ld: %s", k->name, k->line, col, m);
    if (k->err) {
        k->err->line = k->line;
        k->err->column = col;
    }
    return code;
}

static int oom(kparse *k)
{
    return tx_error_set(k->err, TX_ENOMEM, "%.200s: out of memory", k->name);
}

/* A byte shown in a message: itself when printable ASCII, else its value. */
static const char *show(int c, char *buf, size_t n)
{
    if (c > 32 && c < 127)
        snprintf(buf, n, "'%c'", c);
    else if (c == ' ')
        snprintf(buf, n, "a space");
    else
        snprintf(buf, n, "byte 0x%02x", c & 0xff);
    return buf;
}

/* A token quoted in a message: at most 24 bytes (and what fits in size), "..." after a cut, unprintable
 * bytes as '?'. */
static const char *quote(const uint8_t *p, size_t n, char *buf, size_t size)
{
    size_t max = n > 24 ? 24 : n, j = 0;
    if (max + 4 > size)
        max = size - 4;
    for (size_t i = 0; i < max; i++)
        buf[j++] = p[i] >= 32 && p[i] < 127 ? (char)p[i] : '?';
    if (max < n) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

/* ---- small helpers ---- */

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int tok_is(const uint8_t *p, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

static int add_track(kparse *k, spine *sp, long col)
{
    if (k->n_tracks >= TX_MAX_TRACKS)
        return fail(k, TX_ELIMIT, col, "more than %d **kern spines", TX_MAX_TRACKS);
    sp->track = k->n_tracks++;
    if (k->build && tx_score_add_track(k->s, "", 0, -1, 0, NULL))
        return oom(k);
    return TX_OK;
}

/* ---- durations and pitches ---- */

/* One note, rest or chord member of a data token. */
typedef struct kitem {
    int has_dur, rest, grace, pitch, fermata;
    int tie;                    /* 0, '[', '_' or ']' */
    int64_t qnum, qden;         /* duration in quarter notes, reduced */
} kitem;

/* Parses one space-free piece of a data token (p, n; col is its first column). */
static int parse_item(kparse *k, const uint8_t *p, size_t n, long col, kitem *it)
{
    static const int letter_pc[7] = {9, 11, 0, 2, 4, 5, 7};   /* a..g */
    char b[32];
    memset(it, 0, sizeof *it);
    int letter = 0, reps = 0, upper = 0, sharps = 0, flats = 0, digits_seen = 0;
    int64_t recip = 0, mult = 1;
    int zeros = 0, dots = 0;
    size_t i = 0;
    while (i < n) {
        int c = p[i];
        long at = col + (long)i;
        if (c >= '0' && c <= '9') {
            if (digits_seen)
                return fail(k, TX_ESYNTAX, at, "a second duration in one note");
            digits_seen = 1;
            size_t s0 = i;
            while (i < n && p[i] >= '0' && p[i] <= '9') {
                if (recip > 100000)
                    return fail(k, TX_ESYNTAX, col + (long)s0, "duration reciprocal too large");
                recip = recip * 10 + (p[i] - '0');
                i++;
            }
            if (recip == 0) {
                zeros = (int)(i - s0);
                if (zeros > 3)
                    return fail(k, TX_ESYNTAX, col + (long)s0, "malformed duration (more than three zeros)");
            } else if (p[s0] == '0') {
                return fail(k, TX_ESYNTAX, col + (long)s0, "malformed duration (a leading zero)");
            }
            if (i < n && p[i] == '%') {
                size_t m0 = ++i;
                mult = 0;
                while (i < n && p[i] >= '0' && p[i] <= '9') {
                    if (mult > 100000)
                        return fail(k, TX_ESYNTAX, col + (long)m0, "duration numerator too large");
                    mult = mult * 10 + (p[i] - '0');
                    i++;
                }
                if (i == m0 || mult == 0)
                    return fail(k, TX_ESYNTAX, col + (long)m0 - 1, "'%%' must be followed by a positive number");
                if (recip == 0)
                    return fail(k, TX_ESYNTAX, col + (long)s0, "'%%' after a breve or longer value");
            }
            while (i < n && p[i] == '.') {
                if (++dots > 6)
                    return fail(k, TX_ESYNTAX, col + (long)i, "more than six augmentation dots");
                i++;
            }
            continue;
        }
        if ((c >= 'a' && c <= 'g') || (c >= 'A' && c <= 'G')) {
            int lc = c | 0x20, up = c < 'a';
            if (it->rest)
                return fail(k, TX_ESYNTAX, at, "a pitch in a rest");
            if (letter && (lc != letter || up != upper || i == 0 || p[i - 1] != (uint8_t)c))
                return fail(k, TX_ESYNTAX, at, "a second pitch in one note (chord notes are separated "
                            "by spaces)");
            if (++reps > 8)
                return fail(k, TX_ESYNTAX, at, "pitch letter repeated more than 8 times");
            letter = lc;
            upper = up;
            i++;
            continue;
        }
        switch (c) {
        case 'r':
            if (letter)
                return fail(k, TX_ESYNTAX, at, "a rest with a pitch");
            it->rest = 1;
            break;
        case '#':
            if (++sharps > 3 || flats)
                return fail(k, TX_ESYNTAX, at, "malformed accidental");
            break;
        case '-':
            if (++flats > 3 || sharps)
                return fail(k, TX_ESYNTAX, at, "malformed accidental");
            break;
        case 'q': case 'Q':
            it->grace = 1;
            break;
        case ';':
            it->fermata = 1;
            break;
        case '[': case '_': case ']':
            if (it->tie && it->tie != c)
                return fail(k, TX_ESYNTAX, at, "two kinds of tie marks on one note");
            it->tie = c;
            break;
        case '.':
            return fail(k, TX_ESYNTAX, at, "'.' away from a duration (dots follow the number)");
        case '!': case '*': case '=': case '\t':
            return fail(k, TX_ESYNTAX, at, "unexpected %s in a note", show(c, b, sizeof b));
        default:
            /* beams, stems, slurs, phrases, articulations, ornaments, editorial and layout marks:
             * every other printable byte is a signifier this reader does not need */
            if (c < 32 || c == 127)
                return fail(k, TX_ESYNTAX, at, "unexpected %s in a note", show(c, b, sizeof b));
            break;
        }
        i++;
    }
    if (!letter && !it->rest)
        return fail(k, TX_ESYNTAX, col, "no pitch and no rest in '%s'", quote(p, n, b, sizeof b));
    if (letter) {
        int octave = upper ? 4 - reps : 3 + reps;
        int pitch = 12 * (octave + 1) + letter_pc[letter - 'a'] + sharps - flats;
        if (pitch < 0 || pitch > 127)
            return fail(k, TX_ESYNTAX, col, "pitch '%s' outside MIDI's range 0..127", quote(p, n, b, sizeof b));
        it->pitch = pitch;
    }
    if (!digits_seen) {
        if (!it->grace)
            return fail(k, TX_ESYNTAX, col, "no duration in '%s'", quote(p, n, b, sizeof b));
        return TX_OK;
    }
    /* quarters = 4 * M / N * (2^(d+1) - 1) / 2^d, or 4 * 2^z * ... for the breve and longer */
    int64_t num = 4 * mult * ((2LL << dots) - 1), den = (int64_t)1 << dots;
    if (recip == 0)
        num <<= zeros;
    else
        den *= recip;
    int64_t g = gcd64(num, den);
    it->qnum = num / g;
    it->qden = den / g;
    it->has_dur = 1;
    if (it->grace) {
        it->has_dur = 0;   /* a grace note's written value is its look, not its time */
        return TX_OK;
    }
    if (!k->build) {
        int64_t t = k->tpq / gcd64(k->tpq, it->qden) * it->qden;
        if (t > TX_MAX_TPQ)
            return fail(k, TX_ELIMIT, col, "durations need more than %d ticks per quarter note", TX_MAX_TPQ);
        k->tpq = t;
    }
    return TX_OK;
}

/* ---- notes and ties ---- */

static int emit(kparse *k, int track, int pitch, tx_tick onset, tx_tick end, unsigned flags)
{
    if (tx_score_add_note(k->s, onset, end - onset, pitch, 80, track, flags))
        return oom(k);
    return TX_OK;
}

/* The waiting tie of a pitch in a track whose last part ends at tick `end`, or NULL. */
static tied *find_tie(kparse *k, int track, int pitch, tx_tick end)
{
    for (size_t i = 0; i < k->n_ties; i++)
        if (k->ties[i].track == track && k->ties[i].pitch == pitch && k->ties[i].end == end)
            return &k->ties[i];
    return NULL;
}

/* Ends a waiting tie: the note goes out, the slot is freed. */
static int close_tie(kparse *k, tied *t)
{
    int rc = emit(k, t->track, t->pitch, t->onset, t->end, TX_NOTE_TIED);
    *t = k->ties[--k->n_ties];
    return rc;
}

static int note(kparse *k, int track, const kitem *it, tx_tick dur)
{
    tx_tick end = k->now + dur;
    int cont = it->tie == '_' || it->tie == ']', rc;
    if (it->grace)
        return emit(k, track, it->pitch, k->now, k->now, TX_NOTE_GRACE);
    /* ties of this pitch whose last part went by without an end mark end where it did */
    for (size_t i = 0; i < k->n_ties;) {
        tied *t = &k->ties[i];
        if (t->track == track && t->pitch == it->pitch && (t->end < k->now || (t->end == k->now && !cont))) {
            if ((rc = close_tie(k, t)))
                return rc;
        } else {
            i++;
        }
    }
    if (cont) {
        tied *t = find_tie(k, track, it->pitch, k->now);
        if (t) {
            t->end = end;
            return it->tie == ']' ? close_tie(k, t) : TX_OK;
        }
    }
    if (it->tie == '[' || it->tie == '_') {
        if (tx_grow((void **)&k->ties, &k->cap_ties, k->n_ties + 1, sizeof *k->ties))
            return oom(k);
        k->ties[k->n_ties++] = (tied){track, it->pitch, k->now, end};
        return TX_OK;
    }
    return emit(k, track, it->pitch, k->now, end, it->tie == ']' ? TX_NOTE_TIED : 0);
}

/* ---- records ---- */

/* Splits the current line into tab-separated tokens; *n receives the count. */
static int split(kparse *k, size_t *n)
{
    size_t count = 0, start = 0;
    for (size_t i = 0; i <= k->ln_len; i++) {
        if (i < k->ln_len && k->ln[i] != '\t')
            continue;
        if (count >= TX_KERN_MAX_SPINES)
            return fail(k, TX_ELIMIT, (long)start + 1, "more than %d spines", TX_KERN_MAX_SPINES);
        if (tx_grow((void **)&k->toks, &k->cap_toks, count + 1, sizeof *k->toks))
            return oom(k);
        if (i == start)
            return fail(k, TX_ESYNTAX, (long)start + 1, "empty token (spines are separated by one tab)");
        k->toks[count++] = (tok){start, i - start};
        start = i + 1;
    }
    *n = count;
    return TX_OK;
}

static int check_count(kparse *k, size_t n)
{
    if (n == k->n_sp)
        return TX_OK;
    if (n > k->n_sp)
        return fail(k, TX_ESYNTAX, (long)k->toks[k->n_sp].off + 1, "%zu tokens, but %zu spine%s open", n,
                    k->n_sp, k->n_sp == 1 ? " is" : "s are");
    return fail(k, TX_ESYNTAX, (long)k->ln_len + 1, "%zu token%s, but %zu spines are open", n,
                n == 1 ? "" : "s", k->n_sp);
}

/* The first line of exclusive interpretations: one spine per token. */
static int exclusive(kparse *k)
{
    size_t n;
    int rc;
    if ((rc = split(k, &n)))
        return rc;
    if (tx_grow((void **)&k->sp, &k->cap_sp, n, sizeof *k->sp))
        return oom(k);
    int kerns = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = k->ln + k->toks[i].off;
        size_t len = k->toks[i].len;
        if (len < 3 || p[0] != '*' || p[1] != '*')
            return fail(k, TX_ESYNTAX, (long)k->toks[i].off + 1, "expected an exclusive interpretation "
                        "('**kern', '**dynam' ...) for every spine");
        spine sp = {tok_is(p, len, "**kern") ? SPINE_KERN : SPINE_OTHER, -1, 0};
        if (sp.kind == SPINE_KERN) {
            kerns++;
            if ((rc = add_track(k, &sp, (long)k->toks[i].off + 1)))
                return rc;
        }
        k->sp[i] = sp;
    }
    k->n_sp = n;
    if (!kerns)
        return fail(k, TX_ESYNTAX, 1, "no **kern spine");
    k->started = 1;
    return TX_OK;
}

/* The fifths of a key designation's tonic (`G`, `b-`, `f#`) and mode, in *fifths; -1 when the token
 * is not a designation. */
static int designation(const uint8_t *p, size_t n, int *fifths, int *mode)
{
    static const int letter_fifths[7] = {3, 5, 0, 2, 4, -1, 1};   /* A..G as major keys */
    static const struct { const char *name; int mode, shift; } modes[] = {
        {"dor", TX_MODE_DORIAN, -2}, {"phr", TX_MODE_PHRYGIAN, -4}, {"lyd", TX_MODE_LYDIAN, 1},
        {"mix", TX_MODE_MIXOLYDIAN, -1}, {"aeo", TX_MODE_AEOLIAN, -3}, {"loc", TX_MODE_LOCRIAN, -5},
        {"ion", TX_MODE_IONIAN, 0},
    };
    if (n < 3 || p[0] != '*')
        return -1;
    int c = p[1], lc = c | 0x20;
    if (lc < 'a' || lc > 'g')
        return -1;
    int f = letter_fifths[lc - 'a'];
    size_t i = 2;
    while (i < n && (p[i] == '#' || p[i] == '-') && i < 6)
        f += p[i++] == '#' ? 7 : -7;
    if (i >= n || p[i] != ':')
        return -1;
    i++;
    int m = c == lc ? TX_MODE_MINOR : TX_MODE_MAJOR, shift = c == lc ? -3 : 0;
    if (i < n) {
        size_t j;
        for (j = 0; j < sizeof modes / sizeof *modes; j++)
            if (tok_is(p + i, n - i, modes[j].name))
                break;
        if (j == sizeof modes / sizeof *modes)
            return -1;
        m = modes[j].mode;
        shift = modes[j].shift;
    }
    *fifths = f + shift;
    *mode = m;
    return 0;
}

/* `*k[f#c#]`: the number of sharps (> 0) or flats (< 0); -99 when it is not a plain signature. */
static int signature(const uint8_t *p, size_t n)
{
    if (n < 4 || p[0] != '*' || p[1] != 'k' || p[2] != '[' || p[n - 1] != ']')
        return -99;
    int sharps = 0, flats = 0;
    for (size_t i = 3; i + 1 < n; i++) {
        int c = p[i];
        if (c >= 'a' && c <= 'g')
            continue;
        if (c == '#')
            sharps++;
        else if (c == '-')
            flats++;
        else
            return -99;
    }
    if ((sharps && flats) || sharps > 7 || flats > 7)
        return -99;
    return sharps - flats;
}

/* Reads an unsigned decimal (digits, optional fraction) from p[0..n) into *v; 0 on success. */
static int decimal(const uint8_t *p, size_t n, double *v)
{
    double x = 0, scale = 0;
    int digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            if (++digits > 12)
                return -1;
            if (scale > 0) {
                scale /= 10;
                x += (p[i] - '0') * scale;
            } else {
                x = x * 10 + (p[i] - '0');
            }
        } else if (p[i] == '.' && scale == 0 && digits) {
            scale = 1;
        } else {
            return -1;
        }
    }
    *v = x;
    return digits ? 0 : -1;
}

/* A tandem interpretation of a **kern spine (nothing else reaches here). */
static int interpretation(kparse *k, spine *sp, const uint8_t *p, size_t n)
{
    int fifths, mode;
    if (n >= 3 && p[1] == 'I' && p[2] == '"') {
        if (k->build && n > 3) {
            char *name = tx_arena_strndup(&k->s->arena, (const char *)p + 3, n - 3);
            if (!name)
                return oom(k);
            k->s->tracks[sp->track].name = name;
        }
        return TX_OK;
    }
    if (n >= 3 && p[1] == 'I' && p[2] >= 'a' && p[2] <= 'z') {
        if (k->build && !k->s->tracks[sp->track].name[0]) {
            char *name = tx_arena_strndup(&k->s->arena, (const char *)p + 2, n - 2);
            if (!name)
                return oom(k);
            k->s->tracks[sp->track].name = name;
        }
        return TX_OK;
    }
    if (!k->build)
        return TX_OK;
    if (tok_is(p, n, "*ICvox")) {
        k->s->tracks[sp->track].program = 52;
        return TX_OK;
    }
    if (n > 3 && p[1] == 'M' && p[2] == 'M') {
        double bpm;
        if (decimal(p + 3, n - 3, &bpm) == 0 && bpm >= 4 && bpm <= 6e7)
            if (tx_score_add_tempo(k->s, k->now, (uint32_t)(60e6 / bpm + 0.5)))
                return oom(k);
        return TX_OK;
    }
    if (n > 3 && p[1] == 'M' && p[2] >= '0' && p[2] <= '9') {
        long num = 0, den = 0;
        size_t i = 2;
        while (i < n && p[i] >= '0' && p[i] <= '9' && num < 1000)
            num = num * 10 + (p[i++] - '0');
        if (i >= n || p[i++] != '/')
            return TX_OK;
        size_t d0 = i;
        while (i < n && p[i] >= '0' && p[i] <= '9' && den < 1000)
            den = den * 10 + (p[i++] - '0');
        /* other meters (`*M3/8%2`, `*MX`) are left alone */
        if (i != n || i == d0 || num < 1 || num > 255 || den < 1 || den > 128 || (den & (den - 1)))
            return TX_OK;
        if (tx_score_add_timesig(k->s, k->now, (int)num, (int)den))
            return oom(k);
        k->num = (int)num;
        k->den = (int)den;
        k->have_meter = 1;
        k->origin = k->now;
        return TX_OK;
    }
    if (designation(p, n, &fifths, &mode) == 0) {
        k->desig_tick = k->now;
        if (fifths >= -7 && fifths <= 7 && tx_score_add_keysig(k->s, k->now, fifths, mode))
            return oom(k);
        return TX_OK;
    }
    if ((fifths = signature(p, n)) != -99) {
        if (k->desig_tick != k->now && tx_score_add_keysig(k->s, k->now, fifths, TX_MODE_MAJOR))
            return oom(k);
        return TX_OK;
    }
    return TX_OK;
}

static int is_manipulator(const uint8_t *p, size_t n)
{
    return tok_is(p, n, "*^") || tok_is(p, n, "*v") || tok_is(p, n, "*-") || tok_is(p, n, "*+") ||
           tok_is(p, n, "*x");
}

/* A record of interpretations: tandem ones first, then the manipulators, which rebuild the spines. */
static int interpretations(kparse *k, size_t n)
{
    int rc, manip = 0, xs = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = k->ln + k->toks[i].off;
        size_t len = k->toks[i].len;
        long col = (long)k->toks[i].off + 1;
        if (p[0] != '*')
            return fail(k, TX_ESYNTAX, col, "a token that is not an interpretation in a record of "
                        "interpretations");
        if (is_manipulator(p, len)) {
            manip = 1;
            xs += p[1] == 'x';
            continue;
        }
        spine *sp = &k->sp[i];
        if (len >= 2 && p[1] == '*') {
            /* an exclusive interpretation: names a spine added by *+ (or retypes one) */
            int kern = tok_is(p, len, "**kern");
            if (kern && sp->kind != SPINE_KERN && (rc = add_track(k, sp, col)))
                return rc;
            sp->kind = kern ? SPINE_KERN : SPINE_OTHER;
            continue;
        }
        if (sp->kind == SPINE_UNTYPED)
            return fail(k, TX_ESYNTAX, col, "a spine added by '*+' needs an exclusive interpretation "
                        "('**kern' ...) first");
        if (sp->kind == SPINE_KERN && (rc = interpretation(k, sp, p, len)))
            return rc;
    }
    if (!manip)
        return TX_OK;
    if (xs != 0 && xs != 2)
        return fail(k, TX_ESYNTAX, 1, "'*x' exchanges two spines: %d marked", xs);
    /* the new spine list */
    size_t need = 2 * k->n_sp, m = 0, xa = 0;
    int have_xa = 0;
    if (tx_grow((void **)&k->next, &k->cap_next, need ? need : 1, sizeof *k->next))
        return oom(k);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = k->ln + k->toks[i].off;
        size_t len = k->toks[i].len;
        long col = (long)k->toks[i].off + 1;
        spine sp = k->sp[i];
        if (tok_is(p, len, "*^")) {
            k->next[m++] = sp;
            k->next[m++] = sp;
        } else if (tok_is(p, len, "*v")) {
            size_t j = i + 1;
            while (j < n && tok_is(k->ln + k->toks[j].off, k->toks[j].len, "*v")) {
                const spine *o = &k->sp[j];
                if (o->kind != sp.kind)
                    return fail(k, TX_ESYNTAX, (long)k->toks[j].off + 1, "'*v' joins spines of different "
                                "kinds");
                if (o->end > sp.end)
                    sp.end = o->end;
                j++;
            }
            if (j == i + 1)
                return fail(k, TX_ESYNTAX, col, "'*v' must join two or more adjacent spines");
            k->next[m++] = sp;
            i = j - 1;
        } else if (tok_is(p, len, "*-")) {
            continue;
        } else if (tok_is(p, len, "*+")) {
            k->next[m++] = sp;
            k->next[m++] = (spine){SPINE_UNTYPED, -1, k->now};
        } else {
            if (tok_is(p, len, "*x")) {
                if (!have_xa) {
                    xa = m;
                    have_xa = 1;
                } else {
                    k->next[m++] = k->next[xa];
                    k->next[xa] = sp;
                    continue;
                }
            }
            k->next[m++] = sp;
        }
    }
    if (m > TX_KERN_MAX_SPINES)
        return fail(k, TX_ELIMIT, 1, "more than %d spines", TX_KERN_MAX_SPINES);
    spine *t = k->sp;
    size_t tc = k->cap_sp;
    k->sp = k->next;
    k->cap_sp = k->cap_next;
    k->next = t;
    k->cap_next = tc;
    k->n_sp = m;
    if (m == 0)
        k->ended = 1;
    return TX_OK;
}

/* A barline that ends a measure: numbered (`=12`, `=12:|!`) or plain (`=`, `=-`); the others (`==`,
 * `=:|!`, `=||` without a number) may stand inside a measure, as a repeat sign often does. */
static int measure_bar(const uint8_t *p, size_t n)
{
    return (n >= 2 && p[1] >= '0' && p[1] <= '9') || n == 1 || (n == 2 && p[1] == '-');
}

/* A barline record: the first measure barline gives the pickup, later ones keep the bars on the
 * meter's grid. */
static int barline(kparse *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (k->ln[k->toks[i].off] != '=')
            return fail(k, TX_ESYNTAX, (long)k->toks[i].off + 1, "a token that is not a barline in a "
                        "barline record");
    if (!k->build || !k->have_meter || n == 0 || !measure_bar(k->ln + k->toks[0].off, k->toks[0].len))
        return TX_OK;
    int first = !k->seen_bar;
    k->seen_bar = 1;
    int64_t whole = (int64_t)k->s->tpq * 4 * k->num;
    if (whole % k->den || k->now == k->origin)
        return TX_OK;   /* a bar of no whole number of ticks has no grid to keep */
    tx_tick bar = whole / k->den;
    if (first && k->origin == 0 && k->now < bar) {
        k->s->pickup = k->now;
        k->origin = k->now;
        return TX_OK;
    }
    if ((k->now - k->origin) % bar == 0)
        return TX_OK;
    /* a measure of another length: the meter starts again here, so that bars count as written */
    if (tx_score_add_timesig(k->s, k->now, k->num, k->den))
        return oom(k);
    k->origin = k->now;
    return TX_OK;
}

/* A data record: notes start at k->now; then k->now moves to the earliest end after it. */
static int data_record(kparse *k, size_t n)
{
    int rc;
    char b[16];
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = k->ln + k->toks[i].off;
        size_t len = k->toks[i].len;
        long col = (long)k->toks[i].off + 1;
        if (p[0] == '*' || p[0] == '=' || p[0] == '!')
            return fail(k, TX_ESYNTAX, col, "%s token in a data record (records do not mix kinds)",
                        p[0] == '*' ? "an interpretation" : p[0] == '=' ? "a barline" : "a comment");
        spine *sp = &k->sp[i];
        if (sp->kind == SPINE_UNTYPED)
            return fail(k, TX_ESYNTAX, col, "data in a spine added by '*+' before its exclusive "
                        "interpretation");
        if (sp->kind != SPINE_KERN || tok_is(p, len, "."))
            continue;
        if (k->build && sp->end > k->now)
            return fail(k, TX_ESYNTAX, col, "a new event while the one before in this spine still "
                        "sounds (durations do not add up)");
        tx_tick shortest = -1;
        int fermata = 0;
        for (size_t a = 0; a < len;) {
            size_t e = a;
            while (e < len && p[e] != ' ')
                e++;
            if (e == a)
                return fail(k, TX_ESYNTAX, col + (long)a, "unexpected %s (chord notes are separated by "
                            "one space)", show(' ', b, sizeof b));
            kitem it;
            if ((rc = parse_item(k, p + a, e - a, col + (long)a, &it)))
                return rc;
            fermata |= it.fermata;
            if (k->build) {
                tx_tick dur = it.has_dur ? (tx_tick)(it.qnum * (k->s->tpq / it.qden)) : 0;
                if (it.has_dur && (shortest < 0 || dur < shortest))
                    shortest = dur;
                if (k->now + dur > TX_KERN_MAX_TICKS)
                    return fail(k, TX_ELIMIT, col + (long)a, "the score runs past %lld ticks",
                                (long long)TX_KERN_MAX_TICKS);
                if (!it.rest && (rc = note(k, sp->track, &it, dur)))
                    return rc;
            }
            a = e + (e < len);
            if (e + 1 == len && p[e] == ' ')
                return fail(k, TX_ESYNTAX, col + (long)e, "a space at the end of a token");
        }
        if (!k->build)
            continue;
        sp->end = k->now + (shortest > 0 ? shortest : 0);
        if (fermata && tx_score_add_text(k->s, k->now, sp->track, TX_TEXT_ANNOTATION, "fermata"))
            return oom(k);
    }
    if (!k->build)
        return TX_OK;
    tx_tick next = -1;
    for (size_t i = 0; i < k->n_sp; i++)
        if (k->sp[i].kind == SPINE_KERN && k->sp[i].end > k->now && (next < 0 || k->sp[i].end < next))
            next = k->sp[i].end;
    if (next > 0)
        k->now = next;
    return TX_OK;
}

/* `!!!KEY: value`: metadata "kern:KEY"; OTL and COM also as title and composer. */
static int reference(kparse *k)
{
    const uint8_t *p = k->ln + 3, *end = k->ln + k->ln_len;
    const uint8_t *colon = memchr(p, ':', (size_t)(end - p));
    if (!k->build || !colon || colon == p || colon - p > 64)
        return TX_OK;
    for (const uint8_t *q = p; q < colon; q++)
        if (*q <= ' ' || *q >= 127)
            return TX_OK;   /* not a reference record: a comment that starts with three '!' */
    const uint8_t *v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    const uint8_t *ve = end;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    char key[80];
    snprintf(key, sizeof key, "kern:%.*s", (int)(colon - p), (const char *)p);
    char *val = tx_arena_strndup(&k->s->arena, (const char *)v, (size_t)(ve - v));
    if (!val)
        return oom(k);
    const char *old = tx_score_meta(k->s, key);
    if (old) {
        val = tx_arena_printf(&k->s->arena, "%s\n%s", old, val);
        if (!val)
            return oom(k);
    }
    if (tx_score_set_meta(k->s, key, val))
        return oom(k);
    size_t kl = (size_t)(colon - p);
    int rank = kl == 3 && !memcmp(p, "OTL", 3) ? 3
             : kl > 5 && !memcmp(p, "OTL@@", 5) ? 2
             : kl > 4 && !memcmp(p, "OTL@", 4) ? 1 : 0;
    if (rank > k->title_rank && ve > v) {
        k->title_rank = rank;
        if (tx_score_set_meta(k->s, "title", val))
            return oom(k);
    }
    if (kl == 3 && !memcmp(p, "COM", 3) && ve > v && !tx_score_meta(k->s, "composer") &&
        tx_score_set_meta(k->s, "composer", val))
        return oom(k);
    return TX_OK;
}

/* One pass over the whole input. */
static int run(kparse *k)
{
    const uint8_t *p = k->data;
    int rc;
    if (k->end - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        p += 3;
    k->line = 0;
    while (p < k->end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(k->end - p));
        const uint8_t *le = nl ? nl : k->end;
        k->line++;
        k->ln = p;
        k->ln_len = (size_t)(le - p);
        if (k->ln_len && p[k->ln_len - 1] == '\r')
            k->ln_len--;
        p = nl ? nl + 1 : k->end;
        const uint8_t *nul = memchr(k->ln, '\0', k->ln_len);
        if (nul)
            return fail(k, TX_ESYNTAX, (long)(nul - k->ln) + 1, "unexpected byte 0x00");
        if (k->ln_len == 0)
            continue;   /* Humdrum has no empty records; tolerated */
        if (k->ln_len >= 2 && k->ln[0] == '!' && k->ln[1] == '!') {
            if (k->ln_len >= 4 && k->ln[2] == '!' && k->ln[3] != '!' && (rc = reference(k)))
                return rc;
            continue;
        }
        if (k->ended) {
            if (k->ln[0] == '*' && k->ln_len >= 2 && k->ln[1] == '*')
                return fail(k, TX_EUNSUP, 1, "a second segment (spines start again after every spine "
                            "ended)");
            return fail(k, TX_ESYNTAX, 1, "a record after every spine ended");
        }
        if (!k->started) {
            if (k->ln[0] == '!')
                continue;
            if (k->ln_len < 2 || k->ln[0] != '*' || k->ln[1] != '*')
                return fail(k, TX_ESYNTAX, 1, "expected exclusive interpretations ('**kern' ...) before "
                            "any other record");
            if ((rc = exclusive(k)))
                return rc;
            continue;
        }
        size_t n;
        if ((rc = split(k, &n)) || (rc = check_count(k, n)))
            return rc;
        switch (k->ln[0]) {
        case '!':
            for (size_t i = 0; i < n; i++)
                if (k->ln[k->toks[i].off] != '!')
                    return fail(k, TX_ESYNTAX, (long)k->toks[i].off + 1, "a token that is not a comment "
                                "in a record of local comments");
            break;
        case '*':
            rc = interpretations(k, n);
            break;
        case '=':
            rc = barline(k, n);
            break;
        default:
            rc = data_record(k, n);
            break;
        }
        if (rc)
            return rc;
    }
    if (!k->started) {
        k->line = k->line ? k->line : 1;
        return fail(k, TX_ESYNTAX, 1, "no exclusive interpretations ('**kern' ...): not a Humdrum file");
    }
    return TX_OK;
}

static void reset(kparse *k)
{
    k->n_sp = 0;
    k->n_ties = 0;
    k->now = 0;
    k->started = k->ended = 0;
    k->n_tracks = 0;
    k->title_rank = 0;
    k->num = 4;
    k->den = 4;
    k->have_meter = k->seen_bar = 0;
    k->origin = 0;
    k->desig_tick = -1;
}

int tx_kern_read(const uint8_t *data, size_t len, const char *name, tx_score **out, tx_error *err)
{
    kparse k;
    memset(&k, 0, sizeof k);
    k.data = data;
    k.end = data ? data + len : data;
    k.name = name ? name : "kern";
    k.err = err;
    k.tpq = 1;
    *out = NULL;
    tx_error_clear(err);
    if (!data || len == 0) {
        k.line = 1;
        return fail(&k, TX_ESYNTAX, 1, "empty file: expected exclusive interpretations ('**kern' ...)");
    }
    reset(&k);
    int rc = run(&k);
    if (rc == TX_OK) {
        k.build = 1;
        k.s = tx_score_new((int)k.tpq);
        if (!k.s)
            rc = oom(&k);
    }
    if (rc == TX_OK) {
        reset(&k);
        rc = run(&k);
    }
    /* ties still waiting at the end (never ended) end where their last part does */
    while (rc == TX_OK && k.n_ties)
        rc = close_tie(&k, &k.ties[k.n_ties - 1]);
    if (rc == TX_OK && tx_score_sort(k.s))
        rc = oom(&k);
    tx_free(k.sp);
    tx_free(k.next);
    tx_free(k.ties);
    tx_free(k.toks);
    if (rc) {
        tx_score_free(k.s);
        return rc;
    }
    *out = k.s;
    return TX_OK;
}

int tx_kern_detect(const uint8_t *data, size_t len)
{
    const uint8_t *p = data, *end = data + (len > 65536 ? 65536 : len);
    if (!data)
        return 0;
    if (end - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        p += 3;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n == 0 || p[0] == '!') {
            p = nl ? nl + 1 : end;
            continue;
        }
        if (n < 2 || p[0] != '*' || p[1] != '*')
            return 0;
        for (size_t a = 0; a < n;) {
            size_t e = a;
            while (e < n && p[e] != '\t')
                e++;
            if (tok_is(p + a, e - a, "**kern"))
                return 1;
            a = e + 1;
        }
        return 0;
    }
    return 0;
}
