/* test-render.c: the piano-roll SVG (src/render.c) on scores built in code. The document is checked
 * with a tiny XML scanner (tags balance, attributes quoted, entities known, no NaN) and by counting
 * its elements: note rectangles, outlined (marked) notes, bar lines, against what the score holds. */
#include "harness.h"

#include "alloc-budget.h"
#include "render.h"

/* Occurrences of needle in hay. */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += k)
        n++;
    return n;
}

/* A small well-formedness check: every tag closes in order, attribute values are quoted, '&' starts
 * one of the five predefined entities, no '<' inside text or attribute values, one root element, and
 * no "nan" or "inf" among the numbers. Returns 1 when all holds. */
static int well_formed(const char *doc)
{
    const char *stack[64];
    int depth = 0, roots = 0;
    const char *p = doc;
    if (strncmp(p, "<?xml ", 6) == 0) {
        p = strstr(p, "?>");
        if (!p)
            return 0;
        p += 2;
    }
    while (*p) {
        if (*p == '&') {
            if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) &&
                strncmp(p, "&quot;", 6) && strncmp(p, "&apos;", 6))
                return 0;
            p++;
            continue;
        }
        if (*p != '<') {
            if (*p == '>')
                return 0;
            p++;
            continue;
        }
        if (strncmp(p, "<![CDATA[", 9) == 0) {
            p = strstr(p, "]]>");
            if (!p)
                return 0;
            p += 3;
            continue;
        }
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strcspn(name, " \t\n/>");
        if (len == 0)
            return 0;
        const char *q = name + len;
        /* attributes: name="value" */
        for (;;) {
            while (*q == ' ' || *q == '\n' || *q == '\t')
                q++;
            if (*q == '>' || (*q == '/' && q[1] == '>') || !*q)
                break;
            size_t an = strcspn(q, "= />");
            if (an == 0 || q[an] != '=' || q[an + 1] != '"')
                return 0;
            const char *v = q + an + 2, *e = strchr(v, '"');
            if (!e)
                return 0;
            for (const char *c = v; c < e; c++) {
                if (*c == '<')
                    return 0;
                if (*c == '&' && strncmp(c, "&amp;", 5) && strncmp(c, "&lt;", 4) && strncmp(c, "&gt;", 4) &&
                    strncmp(c, "&quot;", 6) && strncmp(c, "&apos;", 6))
                    return 0;
            }
            if ((e - v == 3 && (strncmp(v, "nan", 3) == 0 || strncmp(v, "inf", 3) == 0)) ||
                (e - v == 4 && (strncmp(v, "-nan", 4) == 0 || strncmp(v, "-inf", 4) == 0)))
                return 0;
            q = e + 1;
        }
        if (!*q)
            return 0;
        int self = *q == '/';
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) < len || strncmp(stack[depth - 1], name, len) ||
                strcspn(stack[depth - 1], " \t\n/>") != len)
                return 0;
            depth--;
        } else if (!self) {
            if (depth == 0)
                roots++;
            if (depth == 64)
                return 0;
            stack[depth++] = name;
        } else if (depth == 0) {
            roots++;
        }
        p = q + (self ? 2 : 1);
    }
    return depth == 0 && roots == 1;
}

/* Four bars of 4/4 at 480 ticks per quarter, two tracks, eleven notes (one a grace note). */
static tx_score *small_score(void)
{
    tx_score *s = tx_score_new(480);
    int a, b;
    tx_score_add_track(s, "Lead <&> \"x\" 'y'", 73, 0, 0, &a);
    tx_score_add_track(s, "", 0, 1, 0, &b);
    tx_score_add_timesig(s, 0, 4, 4);
    for (int i = 0; i < 8; i++)
        tx_score_add_note(s, i * 960, 480, 60 + i, 40 + i * 10, a, 0);
    tx_score_add_note(s, 1900, 20, 71, 90, a, TX_NOTE_GRACE);
    tx_score_add_note(s, 0, 3840, 48, 80, b, 0);
    tx_score_add_note(s, 3840, 3840, 43, 80, b, 0);   /* ends at 7680: four bars */
    tx_score_sort(s);
    return s;
}

static void test_counts(void)
{
    tx_score *s = small_score();
    tx_render_options o;
    tx_render_options_init(&o);
    o.mark_from = 3 * 1920;   /* bar 4 */
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK_INT(count(b.data, "<rect class=\"note "), s->n_notes);
    size_t marked = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        marked += s->notes[i].onset >= o.mark_from;
    CHECK_INT(marked, 2);
    CHECK_INT(count(b.data, " marked\""), marked);
    CHECK_INT(count(b.data, "<rect class=\"mark\""), 1);
    CHECK_INT(count(b.data, ">generated</text>"), 1);
    CHECK_INT(count(b.data, "<line class=\"bar\""), tx_score_bar_count(s));
    CHECK_INT(count(b.data, "<line class=\"bar\""), 4);
    CHECK_INT(count(b.data, "<line class=\"end\""), 1);
    CHECK_INT(count(b.data, "<line class=\"beat\""), 4 * 3);
    CHECK_INT(count(b.data, " grace"), 1);
    /* bar numbers 1..4; C rows labelled */
    CHECK(strstr(b.data, ">1</text>") && strstr(b.data, ">4</text>"));
    CHECK(strstr(b.data, ">C4</text>") != NULL);
    CHECK(strstr(b.data, ">C3</text>") != NULL);
    /* the legend names the tracks, escaped */
    CHECK(strstr(b.data, "Lead &lt;&amp;&gt; &quot;x&quot; &apos;y&apos; (Flute), 9 notes") != NULL);
    CHECK(strstr(b.data, "track 2 (Acoustic Grand Piano), 2 notes") != NULL);
    CHECK(strstr(b.data, "nan") == NULL);
    /* velocity as opacity: the softest note (40) is fainter than the loudest */
    CHECK(strstr(b.data, "fill-opacity=\"0.55\"") != NULL);
    CHECK(strstr(b.data, "fill-opacity=\"1\"") == NULL);
    tx_buf_free(&b);

    /* a span with an end: only bar 2 */
    o.mark_from = 1920;
    o.mark_to = 3840;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK_INT(count(b.data, " marked\""), 2);   /* onsets 1920 and 2880; the grace note at 1900 is before */
    tx_buf_free(&b);

    /* no mark: nothing outlined */
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_OK);
    CHECK_INT(count(b.data, " marked\""), 0);
    CHECK_INT(count(b.data, "class=\"mark"), 0);
    tx_buf_free(&b);
    tx_score_free(s);
}

static void test_text(void)
{
    tx_score *s = small_score();
    /* Latin-1 bytes and control characters in a title: still valid UTF-8 XML */
    tx_score_set_meta(s, "title", "Caf\xE9 <Blue> & \"Green\"\x01");
    tx_score_set_meta(s, "composer", "J. S. B\xC3\xA4" "ch");
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK(strstr(b.data, "Caf\xEF\xBF\xBD &lt;Blue&gt; &amp; &quot;Green&quot; ") != NULL);
    CHECK(strstr(b.data, "J. S. B\xC3\xA4" "ch") != NULL);
    CHECK_INT(count(b.data, "<title>"), 1);
    tx_buf_free(&b);

    tx_render_options o;
    tx_render_options_init(&o);
    o.title = "given</title>";
    o.mark_from = 0;
    o.mark_label = "<new>";
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK(strstr(b.data, "given&lt;/title&gt;") != NULL);
    CHECK(strstr(b.data, ">&lt;new&gt;</text>") != NULL);
    CHECK_INT(count(b.data, " marked\""), s->n_notes);
    tx_buf_free(&b);
    tx_score_free(s);
}

static void test_empty(void)
{
    tx_score *s = tx_score_new(96);
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK(strstr(b.data, ">no notes</text>") != NULL);
    CHECK_INT(count(b.data, "class=\"note"), 0);
    tx_buf_free(&b);
    tx_score_free(s);
}

static void test_bars(void)
{
    /* a pickup of one beat in 3/4, then a change to 2/4 inside bar 3 */
    tx_score *s = tx_score_new(4);
    int t;
    tx_score_add_track(s, "x", 0, 0, 0, &t);
    s->pickup = 4;
    tx_score_add_timesig(s, 0, 3, 4);
    tx_score_add_timesig(s, 36, 2, 4);
    tx_score_add_note(s, 0, 4, 67, 64, t, 0);
    tx_score_add_note(s, 70, 4, 60, 64, t, 0);
    tx_score_sort(s);
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK_INT(count(b.data, "<line class=\"bar\""), tx_score_bar_count(s));
    /* each bar line sits where tx_score_locate says a bar starts */
    int64_t bars = tx_score_bar_count(s);
    const char *p = b.data;
    double ppt = 24.0 / 4;   /* pixels per tick at the default 24 per quarter */
    double x0 = -1;
    for (int64_t i = 0; i < bars; i++) {
        p = strstr(p, "<line class=\"bar\" x1=\"");
        CHECK(p != NULL);
        if (!p)
            break;
        p += strlen("<line class=\"bar\" x1=\"");
        double x = atof(p);
        if (i == 0)
            x0 = x;
        tx_tick tick = tx_score_bar_tick(s, i);
        CHECK_NEAR(x - x0, (double)tick * ppt, 0.01);
        tx_barpos pos;
        tx_score_locate(s, tick, &pos);
        CHECK_INT(pos.bar, i);
    }
    /* numbered as musicians count: the pickup has no number, the next bar is 1 */
    CHECK(strstr(b.data, ">0</text>") == NULL);
    char last[32];
    snprintf(last, sizeof last, ">%" PRId64 "</text>", bars - 1);
    CHECK(strstr(b.data, last) != NULL);
    tx_buf_free(&b);
    tx_score_free(s);
}

static void test_long_and_drums(void)
{
    /* 4000 bars squeezed into 1000 pixels: bar lines thinned, beats dropped, size bounded */
    tx_score *s = tx_score_new(480);
    int t, d;
    tx_score_add_track(s, "", 0, 0, 0, &t);
    tx_score_add_track(s, "kit", 0, 9, 1, &d);
    for (int i = 0; i < 4000; i++)
        tx_score_add_note(s, (tx_tick)i * 1920, 1920, 60 + i % 12, 100, t, 0);
    tx_score_add_note(s, 0, 0, 36, 100, d, 0);   /* a zero-length hit */
    tx_score_sort(s);
    tx_render_options o;
    tx_render_options_init(&o);
    o.max_width = 1000;
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK(strstr(b.data, "width=\"1000\"") != NULL);
    size_t lines = count(b.data, "<line class=\"bar\"");
    CHECK(lines >= 100 && lines <= 300);
    CHECK_INT(count(b.data, "<line class=\"beat\""), 0);
    CHECK_INT(count(b.data, "<rect class=\"note "), 4001);
    CHECK_INT(count(b.data, " drum"), 1);
    CHECK(strstr(b.data, "kit (drums), 1 note") != NULL);
    tx_buf_free(&b);
    tx_score_free(s);
}

static void test_options(void)
{
    tx_score *s = small_score();
    tx_render_options o;
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    tx_render_options_init(&o);
    o.px_per_quarter = NAN;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_EINVAL);
    tx_render_options_init(&o);
    o.max_width = 10;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_EINVAL);
    tx_render_options_init(&o);
    o.row_height = -1;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_EINVAL);
    tx_render_options_init(&o);
    o.mark_from = 100;
    o.mark_to = 50;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_EINVAL);
    CHECK(strstr(err.msg, "render: marked span ends") == err.msg);
    /* a mark past the end widens the picture to hold it */
    o.mark_from = 20000;
    o.mark_to = -1;
    CHECK_INT(tx_render_svg(s, &o, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK_INT(count(b.data, " marked\""), 0);
    CHECK(count(b.data, "<line class=\"bar\"") > 4);
    tx_buf_free(&b);
    tx_score_free(s);
}

/* Scores written directly (not through the builders) that break the invariants are refused or
 * clamped, never drawn out of bounds. */
static void test_hostile(void)
{
    tx_score *s = small_score();
    tx_buf b = TX_BUF_INIT;
    tx_error err;
    s->notes[0].velocity = 200;
    s->notes[1].pitch = 200;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_OK);
    CHECK(well_formed(b.data));
    CHECK(strstr(b.data, "fill-opacity=\"1\"") != NULL);
    CHECK(strstr(b.data, " y=\"-") == NULL);   /* nothing above the picture */
    tx_buf_free(&b);
    s->notes[2].onset = INT64_MIN;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_EINVAL);
    s->notes[2].onset = INT64_MAX - 5;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_ELIMIT);
    s->notes[2].onset = 0;
    s->tpq = 0;
    CHECK_INT(tx_render_svg(s, NULL, &b, &err), TX_EINVAL);
    tx_buf_free(&b);
    tx_score_free(s);
}

/* Every allocation that can fail is reported as TX_ENOMEM, without a leak. */
static void test_oom(void)
{
    tx_score *s = small_score();
    tx_render_options o;
    tx_render_options_init(&o);
    o.mark_from = 0;
    int rc = TX_ENOMEM;
    long budget;
    for (budget = 0; budget < 200 && rc == TX_ENOMEM; budget++) {
        tx_buf b = TX_BUF_INIT;
        tx_error err;
        tx_test_alloc_begin(budget);
        rc = tx_render_svg(s, &o, &b, &err);
        tx_buf_free(&b);
        long live = tx_test_alloc_end();
        CHECK_INT(live, 0);
        CHECK(rc == TX_OK || rc == TX_ENOMEM);
    }
    CHECK_INT(rc, TX_OK);
    CHECK(budget > 2);
    tx_score_free(s);
}

int main(void)
{
    RUN(test_counts);
    RUN(test_text);
    RUN(test_empty);
    RUN(test_bars);
    RUN(test_long_and_drums);
    RUN(test_options);
    RUN(test_hostile);
    RUN(test_oom);
    return tx_test_finish();
}
