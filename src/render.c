/* render.c: the piano roll of a score as an SVG 1.1 document (see render.h).
 *
 * The picture is drawn in layers, back to front: background and black-key rows, the marked span,
 * beat and bar lines, notes, then the keyboard strip with its C labels, bar numbers, legend and
 * title. Bars come from tx_score_locate(), walked one time-signature segment at a time so that a long
 * score costs one locate per signature, not per bar. Lines are thinned (every 2nd, 4th ... bar) when
 * bars get narrower than a few pixels, so the document's size follows its width, never the score's
 * length in ticks. This file draws; it does not lay out notation or decide what "generated" means:
 * the caller passes the span to mark.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render.h"

/* ---- geometry and style ---- */

#define LABEL_W 30.0         /* C4 labels */
#define KEYS_W 14.0          /* keyboard strip */
#define RIGHT_W 14.0
#define BARNO_H 14.0         /* bar numbers above the roll */
#define TITLE_H 28.0
#define LEGEND_ROW 17.0
#define MIN_WIDTH 420.0
#define AUTO_ROLL_H 200.0       /* the least height of the roll with automatic rows */
#define HARD_MAX_WIDTH 200000.0   /* max_width 0 ("no limit") still stops here */
#define MIN_BAR_PX 4.0            /* narrower bars are thinned out */
#define MIN_BEAT_PX 5.0
#define MAX_TICK ((tx_tick)1 << 48)  /* beyond this a score is refused (doubles stay exact) */
#define MAX_LEGEND 64
#define MAX_TEXT 120              /* bytes of a title or track name shown */

enum { NCOLORS = 12 };
static const char *const palette[NCOLORS] = {
    "#3b75af", "#ef8636", "#519e3e", "#c53a32", "#8d69b8", "#84584e",
    "#d57dbf", "#2f4b7c", "#b5b52e", "#42b4c8", "#e6a100", "#1b9e77",
};

static const char style[] =
    "text{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif}\n"
    ".bg{fill:#fbfbfd}.bk{fill:#eceef3}.oct{stroke:#c9ced8;stroke-width:1}\n"
    ".beat{stroke:#d5d9e1;stroke-width:0.6}.bar{stroke:#8f97a4;stroke-width:1}"
    ".end{stroke:#4b5563;stroke-width:1.5}\n"
    ".barno{font-size:9px;fill:#6b7280}.key{font-size:9px;fill:#4b5563;text-anchor:end}\n"
    ".kw{fill:#ffffff;stroke:#c9ced8;stroke-width:0.5}.kb{fill:#30343b}\n"
    ".marked{stroke:#1f2937;stroke-width:0.9}.grace{stroke:#111827;stroke-width:0.5}\n"
    ".mark{fill:#fcd34d;fill-opacity:0.22}.marktag{fill:#fffbeb;fill-opacity:0.85}\n"
    ".markline{stroke:#d97706;stroke-width:1.5;stroke-dasharray:4 3}\n"
    ".marklabel{font-size:10px;fill:#b45309;font-style:italic}\n"
    ".title{font-size:15px;font-weight:bold;fill:#111827}.sub{font-size:11px;fill:#6b7280}\n"
    ".legend{font-size:11px;fill:#374151}.empty{font-size:13px;fill:#6b7280;text-anchor:middle}\n";

/* ---- writing numbers and text ---- */

/* A coordinate: at most two decimals, no trailing zeros, never NaN or infinite. */
static void put_num(tx_buf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    char s[64];
    snprintf(s, sizeof s, "%.2f", v);
    char *dot = strchr(s, '.');
    if (dot) {
        char *e = s + strlen(s) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    tx_buf_puts(b, strcmp(s, "-0") == 0 ? "0" : s);
}

static void put_attr(tx_buf *b, const char *name, double v)
{
    tx_buf_printf(b, " %s=\"", name);
    put_num(b, v);
    tx_buf_putc(b, '"');
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one (or encodes a
 * character XML 1.0 forbids: U+FFFE, U+FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) { len = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) { len = 3; hi = 0x9F; }
    else if (c == 0xEE || c == 0xEF) len = 3;
    else if (c == 0xF0) { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) { len = 4; hi = 0x8F; }
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    if (len == 3 && c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
        return 0;
    return len;
}

/* Character data: & < > " ' escaped, control characters as spaces, bytes that are not UTF-8 as
 * U+FFFD; at most `max` input bytes, an ellipsis when cut. */
static void put_text(tx_buf *b, const char *text, size_t max)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s), i = 0;
    while (i < n) {
        if (i >= max) {
            tx_buf_puts(b, "\xE2\x80\xA6");
            return;
        }
        unsigned c = s[i];
        size_t k = utf8_len(s + i, n - i);
        if (k == 0) {
            tx_buf_puts(b, "\xEF\xBF\xBD");
            i++;
            continue;
        }
        switch (c) {
        case '&': tx_buf_puts(b, "&amp;"); break;
        case '<': tx_buf_puts(b, "&lt;"); break;
        case '>': tx_buf_puts(b, "&gt;"); break;
        case '"': tx_buf_puts(b, "&quot;"); break;
        case '\'': tx_buf_puts(b, "&apos;"); break;
        default:
            if (c < 0x20 || c == 0x7F)
                tx_buf_putc(b, ' ');
            else
                tx_buf_append(b, s + i, k);
        }
        i += k;
    }
}

/* Rough width in pixels of text at a font size (for wrapping the legend): characters, not bytes. */
static double text_width(const char *text, size_t max, double size)
{
    size_t chars = 0;
    for (size_t i = 0; text[i] && i < max; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            chars++;
    return (double)chars * size * 0.6;
}

/* ---- bars ---- */

/* One time-signature segment of the bars shown. Bar j of the segment starts at `first` (j == 0) or at
 * grid + (j - 1) * len; a bar is cut short where the segment stops. */
typedef struct barseg {
    tx_tick first, grid, len, stop;   /* stop: the next signature's tick, or -1 */
    tx_tick beat;                     /* ticks per beat */
    int64_t index0;                   /* 0-based index (over the score) of the segment's first bar */
    int64_t count;                    /* bars of the segment that are shown */
} barseg;

static tx_tick seg_start(const barseg *g, int64_t j)
{
    return j == 0 ? g->first : g->grid + (j - 1) * g->len;
}

static tx_tick seg_end(const barseg *g, int64_t j)
{
    tx_tick e = g->grid + j * g->len;
    return g->stop >= 0 && e > g->stop ? g->stop : e;
}

typedef struct bars {
    barseg *seg;
    size_t n;
    int64_t total;      /* bars shown */
    tx_tick end;        /* where the last bar shown ends */
} bars;

/* The bars that cover [0, end) (at least one). */
static int walk_bars(const tx_score *s, tx_tick end, bars *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    tx_tick t = 0;
    size_t next = 0;   /* the first signature after t */
    while (next < s->n_timesigs && s->timesigs[next].tick <= 0)
        next++;
    int64_t index = 0;
    for (;;) {
        tx_barpos p;
        tx_score_locate(s, t, &p);
        barseg g;
        g.first = t;
        g.len = p.bar_length > 0 ? p.bar_length : 1;
        g.grid = (t == 0 && s->pickup > 0) ? s->pickup : (p.bar_start > t ? p.bar_start : t) + g.len;
        if (g.grid <= g.first)
            g.grid = g.first + g.len;
        g.stop = next < s->n_timesigs ? s->timesigs[next].tick : -1;
        g.beat = p.beat_ticks > 0 ? p.beat_ticks : 1;
        g.index0 = index;
        tx_tick limit = g.stop >= 0 && g.stop < end ? g.stop : end;
        g.count = 1;
        if (g.grid < limit)
            g.count += (limit - g.grid + g.len - 1) / g.len;
        if (tx_grow((void **)&out->seg, &cap, out->n + 1, sizeof *out->seg)) {
            tx_free(out->seg);
            out->seg = NULL;
            return TX_ENOMEM;
        }
        out->seg[out->n++] = g;
        index += g.count;
        out->end = seg_end(&g, g.count - 1);
        if (g.stop < 0 || g.stop >= end)
            break;
        t = g.stop;
        while (next < s->n_timesigs && s->timesigs[next].tick <= t)
            next++;
    }
    out->total = index;
    return TX_OK;
}

/* 1, 2, 4, 8 ...: the smallest power of two k with k * px >= want. */
static int64_t stride_for(double px, double want)
{
    int64_t k = 1;
    while (k < ((int64_t)1 << 40) && (double)k * px < want)
        k *= 2;
    return k;
}

/* ---- the picture ---- */

typedef struct view {
    double x0, y0;      /* top left of the roll */
    double scale;       /* pixels per tick */
    double row;         /* pixels per semitone */
    int lo, hi;         /* pitches shown */
    double w, h;        /* the roll's size */
    double width, height;   /* the picture's */
} view;

static double xof(const view *v, tx_tick t) { return v->x0 + (double)t * v->scale; }
static double yof(const view *v, int pitch) { return v->y0 + (double)(v->hi - pitch) * v->row; }

static int is_black(int pitch)
{
    int pc = pitch % 12;
    return pc == 1 || pc == 3 || pc == 6 || pc == 8 || pc == 10;
}

static void legend_label(const tx_score *s, size_t i, const size_t *counts, char *buf, size_t n)
{
    const tx_track *t = &s->tracks[i];
    char name[32] = "";
    if (!t->name || !*t->name)
        snprintf(name, sizeof name, "track %zu", i + 1);
    const char *instr = t->is_drum ? "drums" : tx_gm_program_name(t->program);
    snprintf(buf, n, "%.*s (%s), %zu note%s", MAX_TEXT, t->name && *t->name ? t->name : name,
             instr ? instr : "?", counts[i], counts[i] == 1 ? "" : "s");
}

static void put_header(tx_buf *b, double width, double height, const char *title)
{
    tx_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"");
    put_attr(b, "width", width);
    put_attr(b, "height", height);
    tx_buf_puts(b, " viewBox=\"0 0 ");
    put_num(b, width);
    tx_buf_putc(b, ' ');
    put_num(b, height);
    tx_buf_puts(b, "\">\n<title>");
    put_text(b, title && *title ? title : "piano roll", MAX_TEXT);
    tx_buf_printf(b, "</title>\n<style type=\"text/css\"><![CDATA[\n%s", style);
    for (int i = 0; i < NCOLORS; i++)
        tx_buf_printf(b, ".c%d{fill:%s}", i, palette[i]);
    tx_buf_puts(b, "\n]]></style>\n");
}

static void put_title(tx_buf *b, const char *title, const char *composer)
{
    if (!title || !*title)
        return;
    tx_buf_puts(b, "<text class=\"title\" x=\"12\" y=\"20\">");
    put_text(b, title, MAX_TEXT);
    if (composer && *composer) {
        tx_buf_puts(b, "<tspan class=\"sub\" dx=\"10\">");
        put_text(b, composer, MAX_TEXT);
        tx_buf_puts(b, "</tspan>");
    }
    tx_buf_puts(b, "</text>\n");
}

static int render_empty(tx_buf *b, const char *title, const char *composer)
{
    double w = 360, h = (title && *title) ? 120 : 96;
    put_header(b, w, h, title);
    tx_buf_puts(b, "<rect class=\"bg\" x=\"0\" y=\"0\"");
    put_attr(b, "width", w);
    put_attr(b, "height", h);
    tx_buf_puts(b, "/>\n");
    put_title(b, title, composer);
    tx_buf_puts(b, "<text class=\"empty\"");
    put_attr(b, "x", w / 2);
    put_attr(b, "y", h - 42);
    tx_buf_puts(b, ">no notes</text>\n</svg>\n");
    return b->oom ? TX_ENOMEM : TX_OK;
}

void tx_render_options_init(tx_render_options *o)
{
    o->px_per_quarter = 24;
    o->max_width = 3000;
    o->row_height = 0;
    o->mark_from = -1;
    o->mark_to = -1;
    o->mark_label = "generated";
    o->title = NULL;
}

int tx_render_svg(const tx_score *s, const tx_render_options *opt, tx_buf *out, tx_error *err)
{
    tx_render_options defaults;
    tx_render_options_init(&defaults);
    const tx_render_options *o = opt ? opt : &defaults;
    tx_error_clear(err);
    if (!(o->px_per_quarter > 0 && o->px_per_quarter <= 10000))
        return tx_error_set(err, TX_EINVAL, "render: pixels per quarter must be in (0, 10000]");
    if (!(o->max_width == 0 || (o->max_width >= 100 && o->max_width <= HARD_MAX_WIDTH)))
        return tx_error_set(err, TX_EINVAL, "render: maximum width must be 0 or in [100, %.0f]",
                            HARD_MAX_WIDTH);
    if (!(o->row_height == 0 || (o->row_height > 0 && o->row_height <= 100)))
        return tx_error_set(err, TX_EINVAL, "render: row height must be 0 (automatic) or in (0, 100]");
    if (o->mark_from >= 0 && o->mark_to >= 0 && o->mark_to < o->mark_from)
        return tx_error_set(err, TX_EINVAL, "render: marked span ends (tick %" PRId64 ") before it "
                            "starts (tick %" PRId64 ")", (int64_t)o->mark_to, (int64_t)o->mark_from);

    if (s->tpq < 1 || s->tpq > TX_MAX_TPQ)
        return tx_error_set(err, TX_EINVAL, "render: %d ticks per quarter is out of range", s->tpq);

    const char *title = o->title ? o->title : tx_score_meta(s, "title");
    const char *composer = tx_score_meta(s, "composer");
    if (s->n_notes == 0)
        return render_empty(out, title, composer);

    /* ---- extent: pitches and ticks ---- */
    int lo = 127, hi = 0;
    tx_tick end = 0;
    size_t *counts = tx_calloc(s->n_tracks ? s->n_tracks : 1, sizeof *counts);
    if (!counts)
        return tx_error_set(err, TX_ENOMEM, "render: out of memory");
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        int pitch = n->pitch > 127 ? 127 : n->pitch;
        if (pitch < lo) lo = pitch;
        if (pitch > hi) hi = pitch;
        if (n->onset < 0 || n->duration < 0) {
            tx_free(counts);
            return tx_error_set(err, TX_EINVAL, "render: note %zu has a negative onset or duration", i);
        }
        if (n->onset > MAX_TICK || n->duration > MAX_TICK - n->onset) {
            tx_free(counts);
            return tx_error_set(err, TX_ELIMIT, "render: a note ends beyond tick %" PRId64
                                ", too far to draw", (int64_t)MAX_TICK);
        }
        if (n->onset + n->duration > end)
            end = n->onset + n->duration;
        if (n->track < s->n_tracks)
            counts[n->track]++;
    }
    tx_tick mark_from = o->mark_from, mark_to = o->mark_to;
    if (mark_from > MAX_TICK) mark_from = MAX_TICK;
    if (mark_to > MAX_TICK) mark_to = MAX_TICK;
    if (mark_to > end) end = mark_to;
    if (mark_from > end) end = mark_from;
    lo = lo - 2 < 0 ? 0 : lo - 2;
    hi = hi + 2 > 127 ? 127 : hi + 2;
    while (hi - lo < 12) {   /* at least an octave, so the keyboard reads as one */
        if (hi < 127) hi++;
        if (hi - lo < 12 && lo > 0) lo--;
    }

    bars br;
    if (walk_bars(s, end > 0 ? end : 1, &br)) {
        tx_free(counts);
        return tx_error_set(err, TX_ENOMEM, "render: out of memory");
    }

    /* ---- layout ---- */
    view v;
    int has_title = title && *title;
    v.x0 = LABEL_W + KEYS_W + 2;
    v.y0 = (has_title ? TITLE_H : 8) + BARNO_H;
    v.row = o->row_height;
    if (v.row == 0) {   /* automatic: 6 pixels, more for a narrow range so the roll is not a strip */
        v.row = AUTO_ROLL_H / (double)(hi - lo + 1);
        v.row = v.row < 6 ? 6 : v.row > 12 ? 12 : v.row;
    }
    v.lo = lo;
    v.hi = hi;
    v.h = (double)(hi - lo + 1) * v.row;
    double limit = o->max_width > 0 ? o->max_width : HARD_MAX_WIDTH;
    double avail = limit - v.x0 - RIGHT_W;
    v.scale = o->px_per_quarter / (double)(s->tpq > 0 ? s->tpq : 1);
    if ((double)br.end * v.scale > avail)
        v.scale = avail / (double)br.end;
    v.w = (double)br.end * v.scale;
    v.width = v.x0 + v.w + RIGHT_W;
    if (v.width < MIN_WIDTH)
        v.width = MIN_WIDTH;

    /* legend rows: entries flow left to right and wrap */
    char label[MAX_TEXT + 96];
    size_t shown = s->n_tracks < MAX_LEGEND ? s->n_tracks : MAX_LEGEND;
    int legend_rows = shown ? 1 : 0;
    double lx = v.x0;
    for (size_t i = 0; i < shown; i++) {
        legend_label(s, i, counts, label, sizeof label);
        double ew = 16 + text_width(label, sizeof label, 11) + 18;
        if (lx > v.x0 && lx + ew > v.width - RIGHT_W) {
            legend_rows++;
            lx = v.x0;
        }
        lx += ew;
    }
    if (s->n_tracks > shown)
        legend_rows++;
    double legend_y = v.y0 + v.h + 12;
    v.height = legend_y + legend_rows * LEGEND_ROW + 6;

    tx_buf *b = out;
    put_header(b, v.width, v.height, title);
    tx_buf_puts(b, "<rect class=\"bg\" x=\"0\" y=\"0\"");
    put_attr(b, "width", v.width);
    put_attr(b, "height", v.height);
    tx_buf_puts(b, "/>\n");

    /* ---- keyboard rows ---- */
    tx_buf_puts(b, "<g>\n");
    for (int p = lo; p <= hi; p++) {
        if (!is_black(p))
            continue;
        tx_buf_puts(b, "<rect class=\"bk\"");
        put_attr(b, "x", v.x0);
        put_attr(b, "y", yof(&v, p));
        put_attr(b, "width", v.w);
        put_attr(b, "height", v.row);
        tx_buf_puts(b, "/>\n");
    }
    for (int p = lo; p <= hi; p++) {
        if (p % 12 != 0 || p == lo)
            continue;
        double y = yof(&v, p) + v.row;   /* the line under each C */
        tx_buf_puts(b, "<line class=\"oct\"");
        put_attr(b, "x1", v.x0);
        put_attr(b, "y1", y);
        put_attr(b, "x2", v.x0 + v.w);
        put_attr(b, "y2", y);
        tx_buf_puts(b, "/>\n");
    }
    tx_buf_puts(b, "</g>\n");

    /* ---- the marked span (shade) ---- */
    int marking = mark_from >= 0;
    tx_tick mend = mark_to >= 0 ? mark_to : br.end;
    if (marking) {
        tx_buf_puts(b, "<rect class=\"mark\"");
        put_attr(b, "x", xof(&v, mark_from));
        put_attr(b, "y", v.y0);
        put_attr(b, "width", (double)(mend - mark_from) * v.scale);
        put_attr(b, "height", v.h);
        tx_buf_puts(b, "/>\n");
    }

    /* ---- beat and bar lines ---- */
    double avg_bar = v.w / (double)br.total;
    int64_t stride = stride_for(avg_bar, MIN_BAR_PX);
    tx_buf_puts(b, "<g>\n");
    for (size_t k = 0; k < br.n && stride == 1; k++) {
        const barseg *g = &br.seg[k];
        if ((double)g->beat * v.scale < MIN_BEAT_PX)
            continue;
        for (int64_t j = 0; j < g->count; j++) {
            tx_tick bs = seg_start(g, j), be = seg_end(g, j);
            for (tx_tick t = bs + g->beat; t < be; t += g->beat) {
                tx_buf_puts(b, "<line class=\"beat\"");
                put_attr(b, "x1", xof(&v, t));
                put_attr(b, "y1", v.y0);
                put_attr(b, "x2", xof(&v, t));
                put_attr(b, "y2", v.y0 + v.h);
                tx_buf_puts(b, "/>\n");
            }
        }
    }
    /* bar numbers as musicians count: a pickup is bar 0, otherwise the first bar is bar 1 */
    int64_t base = s->pickup > 0 ? 0 : 1;
    char digits[32];
    snprintf(digits, sizeof digits, "%" PRId64, br.total - 1 + base);
    int64_t label_stride = stride_for(avg_bar, 6.0 * (double)strlen(digits) + 6);
    if (label_stride < stride)
        label_stride = stride;
    for (size_t k = 0; k < br.n; k++) {
        const barseg *g = &br.seg[k];
        int64_t j = (stride - g->index0 % stride) % stride;
        for (; j < g->count; j += stride) {
            double x = xof(&v, seg_start(g, j));
            tx_buf_puts(b, "<line class=\"bar\"");
            put_attr(b, "x1", x);
            put_attr(b, "y1", v.y0 - 3);
            put_attr(b, "x2", x);
            put_attr(b, "y2", v.y0 + v.h);
            tx_buf_puts(b, "/>\n");
            int64_t number = g->index0 + j + base;
            if (number >= 1 && (number - 1) % label_stride == 0) {
                tx_buf_puts(b, "<text class=\"barno\"");
                put_attr(b, "x", x + 2);
                put_attr(b, "y", v.y0 - 4);
                tx_buf_printf(b, ">%" PRId64 "</text>\n", number);
            }
        }
    }
    tx_buf_puts(b, "<line class=\"end\"");
    put_attr(b, "x1", xof(&v, br.end));
    put_attr(b, "y1", v.y0 - 3);
    put_attr(b, "x2", xof(&v, br.end));
    put_attr(b, "y2", v.y0 + v.h);
    tx_buf_puts(b, "/>\n</g>\n");

    /* ---- notes ---- */
    tx_buf_puts(b, "<g>\n");
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        int track = n->track < s->n_tracks ? n->track : 0;
        int drum = n->track < s->n_tracks && s->tracks[n->track].is_drum;
        int grace = (n->flags & TX_NOTE_GRACE) != 0;
        int marked = marking && n->onset >= mark_from && (mark_to < 0 || n->onset < mark_to);
        double x = xof(&v, n->onset), y = yof(&v, n->pitch > 127 ? 127 : n->pitch), h = v.row - 0.5;
        double w = (double)n->duration * v.scale;
        if (drum)
            w = v.row;   /* a hit: its length means nothing */
        if (w > 2)
            w -= 0.4;    /* a hair of space between repeated notes */
        if (w < 1.5)
            w = 1.5;
        if (grace) {
            y += v.row * 0.2;
            h = v.row * 0.6;
        }
        double opacity = 0.35 + 0.65 * (double)(n->velocity > 127 ? 127 : n->velocity) / 127.0;
        tx_buf_printf(b, "<rect class=\"note c%d%s%s%s\"", track % NCOLORS, drum ? " drum" : "",
                      grace ? " grace" : "", marked ? " marked" : "");
        put_attr(b, "x", x);
        put_attr(b, "y", y);
        put_attr(b, "width", w);
        put_attr(b, "height", h);
        tx_buf_printf(b, " rx=\"%s\"", drum ? "3" : "1");
        put_attr(b, "fill-opacity", opacity);
        tx_buf_puts(b, "/>\n");
    }
    tx_buf_puts(b, "</g>\n");

    /* ---- the marked span (line and label, over the notes) ---- */
    if (marking) {
        double x = xof(&v, mark_from);
        tx_buf_puts(b, "<line class=\"markline\"");
        put_attr(b, "x1", x);
        put_attr(b, "y1", v.y0);
        put_attr(b, "x2", x);
        put_attr(b, "y2", v.y0 + v.h);
        const char *mark_label = o->mark_label ? o->mark_label : "generated";
        tx_buf_puts(b, "/>\n<rect class=\"marktag\"");
        put_attr(b, "x", x + 2);
        put_attr(b, "y", v.y0 + 2);
        put_attr(b, "width", text_width(mark_label, MAX_TEXT, 10) + 5);
        tx_buf_puts(b, " height=\"12\" rx=\"2\"/>\n<text class=\"marklabel\"");
        put_attr(b, "x", x + 4);
        put_attr(b, "y", v.y0 + 11);
        tx_buf_putc(b, '>');
        put_text(b, mark_label, MAX_TEXT);
        tx_buf_puts(b, "</text>\n");
    }

    /* ---- keyboard strip and C labels ---- */
    tx_buf_puts(b, "<g>\n");
    double kx = LABEL_W;
    tx_buf_puts(b, "<rect class=\"kw\"");
    put_attr(b, "x", kx);
    put_attr(b, "y", v.y0);
    put_attr(b, "width", KEYS_W);
    put_attr(b, "height", v.h);
    tx_buf_puts(b, "/>\n");
    for (int p = lo; p <= hi; p++) {
        if (is_black(p)) {
            tx_buf_puts(b, "<rect class=\"kb\"");
            put_attr(b, "x", kx);
            put_attr(b, "y", yof(&v, p) + v.row * 0.1);
            put_attr(b, "width", KEYS_W * 0.62);
            put_attr(b, "height", v.row * 0.8);
            tx_buf_puts(b, "/>\n");
        }
        if (p % 12 == 0) {
            char name[16];
            tx_buf_puts(b, "<text class=\"key\"");
            put_attr(b, "x", LABEL_W - 3);
            put_attr(b, "y", yof(&v, p) + v.row / 2 + 3.2);
            tx_buf_printf(b, ">%s</text>\n", tx_pitch_name(p, 0, name));
        }
    }
    tx_buf_puts(b, "</g>\n");

    /* ---- legend and title ---- */
    tx_buf_puts(b, "<g class=\"legend\">\n");
    lx = v.x0;
    double ly = legend_y;
    for (size_t i = 0; i < shown; i++) {
        legend_label(s, i, counts, label, sizeof label);
        double ew = 16 + text_width(label, sizeof label, 11) + 18;
        if (lx > v.x0 && lx + ew > v.width - RIGHT_W) {
            ly += LEGEND_ROW;
            lx = v.x0;
        }
        tx_buf_printf(b, "<rect class=\"c%zu\"", i % NCOLORS);
        put_attr(b, "x", lx);
        put_attr(b, "y", ly + 2);
        tx_buf_puts(b, " width=\"11\" height=\"11\" rx=\"2\"/>\n<text");
        put_attr(b, "x", lx + 16);
        put_attr(b, "y", ly + 12);
        tx_buf_putc(b, '>');
        put_text(b, label, sizeof label);
        tx_buf_puts(b, "</text>\n");
        lx += ew;
    }
    if (s->n_tracks > shown) {
        tx_buf_puts(b, "<text");
        put_attr(b, "x", v.x0);
        put_attr(b, "y", ly + LEGEND_ROW + 12);
        tx_buf_printf(b, ">and %zu more tracks</text>\n", s->n_tracks - shown);
    }
    tx_buf_puts(b, "</g>\n");
    put_title(b, title, composer);
    tx_buf_puts(b, "</svg>\n");

    tx_free(br.seg);
    tx_free(counts);
    if (b->oom)
        return tx_error_set(err, TX_ENOMEM, "render: out of memory");
    return TX_OK;
}
