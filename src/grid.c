/* grid.c: the reader for voice grids in CSV (the JSB chorales' csv-16th form): a header naming the
 * columns note0..noteN-1, then one row per sixteenth with each voice's MIDI key, 0 for silence.
 *
 * One pass over the bytes, no copy: each voice keeps the key it holds and the row where that began;
 * a note ends where the key changes or the grid ends. So a note repeated on the next sixteenth reads as
 * one held note: the format has no way to say otherwise. Every byte is checked and every failure names
 * its line and column; nothing here trusts the input's size or shape. Not a writer, and not a general
 * CSV parser (no quoting, no spaces, no other columns).
 */
#include "grid.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct gridparse {
    const uint8_t *data, *end;
    const char *name;
    tx_error *err;
} gridparse;

/* Reports a failure at line:col (1-based) with the source name first. */
static int fail(gridparse *g, int code, long line, long col, const char *fmt, ...) TX_PRINTF(5, 6);
static int fail(gridparse *g, int code, long line, long col, const char *fmt, ...)
{
    char m[TX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    tx_error_set(g->err, code, "%.200s:%ld:%ld: %s", g->name, line, col, m);
    if (g->err) {
        g->err->line = line;
        g->err->column = col;
    }
    return code;
}

/* The byte at p shown in a message: itself when printable ASCII, else its value. */
static const char *show(const uint8_t *p, const uint8_t *end, char *buf, size_t n)
{
    if (p >= end)
        snprintf(buf, n, "end of file");
    else if (*p == '\n')
        snprintf(buf, n, "end of line");
    else if (*p == '\r')
        snprintf(buf, n, "carriage return");
    else if (*p > 32 && *p < 127)
        snprintf(buf, n, "'%c'", *p);
    else
        snprintf(buf, n, "byte 0x%02x", *p);
    return buf;
}

/* The length of the line ending at p: 1 for "\n", 2 for "\r\n", 0 for the end of the data (which
 * ends a line too); -1 when p is not at a line's end. */
static int eol(const uint8_t *p, const uint8_t *end)
{
    if (p >= end)
        return 0;
    if (*p == '\n')
        return 1;
    if (*p == '\r' && p + 1 < end && p[1] == '\n')
        return 2;
    return -1;
}

static int is_digit(const uint8_t *p, const uint8_t *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* Reads the header: note0,note1,... up to the end of line 1. Sets *n_voices and *p past the line. */
static int read_header(gridparse *g, const uint8_t **pp, int *n_voices)
{
    const uint8_t *p = *pp, *line = g->data;
    char b[32];
    int n = 0;
    if (g->end - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        p += 3;   /* a UTF-8 byte-order mark, as spreadsheet programs write */
    for (;;) {
        long col = (long)(p - line) + 1;
        if (n == TX_GRID_MAX_VOICES)
            return fail(g, TX_ESYNTAX, 1, col, "more than %d voice columns", TX_GRID_MAX_VOICES);
        static const char word[] = "note";
        for (int i = 0; i < 4; i++, p++)
            if (p >= g->end || *p != (uint8_t)word[i])
                return fail(g, TX_ESYNTAX, 1, (long)(p - line) + 1,
                            "header must name the voice columns note0,note1,...: expected 'note%d', found %s",
                            n, show(p, g->end, b, sizeof b));
        const uint8_t *num = p;
        long v = 0;
        while (is_digit(p, g->end) && p - num < 3)
            v = v * 10 + (*p++ - '0');
        if (p == num || is_digit(p, g->end) || v != n || (p - num > 1 && *num == '0'))
            return fail(g, TX_ESYNTAX, 1, col, "header must name the voice columns note0,note1,... in order: "
                        "expected 'note%d'", n);
        n++;
        int k = eol(p, g->end);
        if (k >= 0) {
            *pp = p + k;
            *n_voices = n;
            return TX_OK;
        }
        if (*p != ',')
            return fail(g, TX_ESYNTAX, 1, (long)(p - line) + 1, "unexpected %s in the header",
                        show(p, g->end, b, sizeof b));
        p++;
    }
}

/* Ends the note voice v holds (if any) at row, and starts holding key. */
static int change(tx_score *s, int v, int key, long row, int *held, long *start)
{
    int rc = TX_OK;
    if (held[v] > 0)
        rc = tx_score_add_note(s, start[v], row - start[v], held[v], 80, v, 0);
    held[v] = key;
    start[v] = row;
    return rc;
}

int tx_grid_read_csv(const uint8_t *data, size_t len, const char *name, tx_score **out, tx_error *err)
{
    static const char *const satb[4] = {"soprano", "alto", "tenor", "bass"};
    gridparse g = {data, data + len, name ? name : "grid", err};
    const uint8_t *p = data;
    char b[32];
    int n_voices = 0, rc;
    *out = NULL;
    tx_error_clear(err);
    if (len == 0 || !data)
        return fail(&g, TX_ESYNTAX, 1, 1, "empty file: expected a header note0,note1,...");
    if ((rc = read_header(&g, &p, &n_voices)))
        return rc;

    tx_score *s = tx_score_new(4);
    if (!s)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", g.name);
    for (int v = 0; v < n_voices && !rc; v++) {
        char tn[16];
        if (n_voices == 4)
            snprintf(tn, sizeof tn, "%s", satb[v]);
        else
            snprintf(tn, sizeof tn, "voice%d", v + 1);
        rc = tx_score_add_track(s, tn, 52, v, 0, NULL);
    }
    if (!rc)
        rc = tx_score_add_timesig(s, 0, 4, 4);
    if (rc) {
        tx_score_free(s);
        return tx_error_set(err, rc, "%s: out of memory", g.name);
    }

    int held[TX_GRID_MAX_VOICES] = {0};
    long start[TX_GRID_MAX_VOICES] = {0}, row = 0, line_no = 2;
    int oom = 0;
    while (p < g.end && !rc) {
        const uint8_t *line = p;
        if (eol(p, g.end) > 0) {
            /* blank lines may end the file, nothing else may follow them */
            const uint8_t *q = p;
            while (q < g.end && (*q == '\n' || *q == '\r'))
                q++;
            if (q < g.end)
                rc = fail(&g, TX_ESYNTAX, line_no, 1, "blank line inside the grid");
            break;
        }
        if (row >= TX_GRID_MAX_ROWS) {
            rc = fail(&g, TX_ELIMIT, line_no, 1, "more than %ld rows", TX_GRID_MAX_ROWS);
            break;
        }
        int keys[TX_GRID_MAX_VOICES];
        for (int c = 0; c < n_voices && !rc; c++) {
            long col = (long)(p - line) + 1;
            if (eol(p, g.end) >= 0) {
                rc = fail(&g, TX_ESYNTAX, line_no, col, "row has %d column%s, the header names %d", c,
                          c == 1 ? "" : "s", n_voices);
                break;
            }
            if (*p == '-' && is_digit(p + 1, g.end)) {
                rc = fail(&g, TX_ESYNTAX, line_no, col, "negative MIDI key (silence is 0)");
                break;
            }
            if (!is_digit(p, g.end)) {
                rc = fail(&g, TX_ESYNTAX, line_no, col, "expected a MIDI key 0..127 (0 silent), found %s",
                          show(p, g.end, b, sizeof b));
                break;
            }
            const uint8_t *digits = p;
            long v = 0;
            while (is_digit(p, g.end)) {
                if (v <= 127)   /* stop growing once out of range: no overflow on long digit runs */
                    v = v * 10 + (*p - '0');
                p++;
            }
            if (v > 127) {
                int nd = (int)(p - digits);
                rc = fail(&g, TX_ESYNTAX, line_no, col, "MIDI key %.*s%s out of range 0..127", nd > 12 ? 12 : nd,
                          (const char *)digits, nd > 12 ? "..." : "");
                break;
            }
            keys[c] = (int)v;
            int k = eol(p, g.end);
            if (c + 1 < n_voices) {
                if (k < 0 && *p == ',') {
                    p++;
                    continue;
                }
                if (k >= 0)
                    continue;   /* reported as a short row on the next column */
            } else if (k >= 0) {
                p += k;
                continue;
            }
            if (*p == ',')
                rc = fail(&g, TX_ESYNTAX, line_no, (long)(p - line) + 1, "row has more than %d column%s, the "
                          "header names %d", n_voices, n_voices == 1 ? "" : "s", n_voices);
            else
                rc = fail(&g, TX_ESYNTAX, line_no, (long)(p - line) + 1, "unexpected %s after a MIDI key",
                          show(p, g.end, b, sizeof b));
        }
        if (rc)
            break;
        for (int v = 0; v < n_voices && !oom; v++)
            if (keys[v] != held[v])
                oom = change(s, v, keys[v], row, held, start) != TX_OK;
        if (oom)
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", g.name);
        row++;
        line_no++;
    }
    if (!rc && row == 0)
        rc = fail(&g, TX_ESYNTAX, 2, 1, "no rows after the header");
    for (int v = 0; v < n_voices && !rc; v++)
        if (change(s, v, 0, row, held, start) != TX_OK)
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", g.name);
    if (!rc && tx_score_sort(s) != TX_OK)
        rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", g.name);
    if (rc) {
        tx_score_free(s);
        return rc;
    }
    *out = s;
    return TX_OK;
}
