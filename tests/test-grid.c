/* test-grid.c: unit tests of the voice-grid CSV reader (src/grid.c) and its place in scoreio: small
 * literal grids read to exact notes (held against changed keys, silences, line endings), the track
 * layout, every kind of malformed input reported as TX_ESYNTAX at its line and column, the row
 * limit, out-of-memory at every allocation, and the JSB fixture tests/data/grid/chorale-000.csv read
 * through tx_score_read_file. Not a test of the analysis of chorales (test-analyze-jsb.c). */
#include "harness.h"

#include "alloc-budget.h"
#include "reader-oom.h"
#include "grid.h"
#include "scoreio.h"

static int read_str(const char *text, tx_score **s, tx_error *err)
{
    return tx_grid_read_csv((const uint8_t *)text, strlen(text), "t.csv", s, err);
}

static void check_note(const tx_score *s, size_t i, long onset, long dur, int pitch, int track)
{
    CHECK(i < s->n_notes);
    if (i >= s->n_notes)
        return;
    const tx_note *n = &s->notes[i];
    CHECK_INT(n->onset, onset);
    CHECK_INT(n->duration, dur);
    CHECK_INT(n->pitch, pitch);
    CHECK_INT(n->track, track);
    CHECK_INT(n->velocity, 80);
}

/* Two voices: a held key is one note, a changed key starts a new one, 0 ends it. */
static void test_notes(void)
{
    static const char *const forms[] = {
        "note0,note1\n60,0\n60,62\n62,62\n0,62\n0,0\n64,0\n",
        "note0,note1\r\n60,0\r\n60,62\r\n62,62\r\n0,62\r\n0,0\r\n64,0",       /* CRLF, no final newline */
        "note0,note1\n60,0\n60,62\n62,62\n0,62\n0,0\n64,0\n\n\r\n\n",         /* blank lines at the end */
        "\xef\xbb\xbfnote0,note1\n60,0\n060,62\n62,62\n0,62\n0,0\n64,00\n",   /* BOM, leading zeros */
    };
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        tx_score *s = NULL;
        tx_error err;
        CHECK_INT(read_str(forms[f], &s, &err), TX_OK);
        if (!s) {
            fprintf(stderr, "form %zu: %s\n", f, err.msg);
            continue;
        }
        CHECK_INT(tx_score_check(s, NULL), TX_OK);
        CHECK_INT(s->tpq, 4);
        CHECK_INT(s->n_notes, 4);
        check_note(s, 0, 0, 2, 60, 0);
        check_note(s, 1, 1, 3, 62, 1);
        check_note(s, 2, 2, 1, 62, 0);
        check_note(s, 3, 5, 1, 64, 0);
        CHECK_INT(tx_score_end_tick(s), 6);
        CHECK_INT(s->n_tracks, 2);
        if (s->n_tracks == 2) {
            CHECK_STR(s->tracks[0].name, "voice1");
            CHECK_STR(s->tracks[1].name, "voice2");
            CHECK_INT(s->tracks[1].program, 52);
            CHECK_INT(s->tracks[1].channel, 1);
            CHECK_INT(s->tracks[1].is_drum, 0);
        }
        CHECK_INT(s->n_tempos, 0);
        CHECK_INT(tx_score_tempo_at(s, 0), TX_DEFAULT_TEMPO);
        CHECK_INT(s->n_timesigs, 1);
        if (s->n_timesigs == 1) {
            CHECK_INT(s->timesigs[0].tick, 0);
            CHECK_INT(s->timesigs[0].num, 4);
            CHECK_INT(s->timesigs[0].den, 4);
        }
        tx_score_free(s);
    }
}

/* Four columns are soprano, alto, tenor, bass; one column works; a silent grid has no notes. */
static void test_layout(void)
{
    tx_score *s = NULL;
    CHECK_INT(read_str("note0,note1,note2,note3\n72,67,64,48\n72,67,64,48\n", &s, NULL), TX_OK);
    if (s) {
        CHECK_INT(s->n_tracks, 4);
        static const char *const names[4] = {"soprano", "alto", "tenor", "bass"};
        for (size_t t = 0; t < s->n_tracks && t < 4; t++) {
            CHECK_STR(s->tracks[t].name, names[t]);
            CHECK_INT(s->tracks[t].channel, (long)t);
        }
        CHECK_INT(s->n_notes, 4);
        check_note(s, 0, 0, 2, 48, 3);
        check_note(s, 3, 0, 2, 72, 0);
        tx_score_free(s);
    }
    CHECK_INT(read_str("note0\n127\n1\n", &s, NULL), TX_OK);
    if (s) {
        CHECK_INT(s->n_tracks, 1);
        CHECK_INT(s->n_notes, 2);
        check_note(s, 0, 0, 1, 127, 0);
        check_note(s, 1, 1, 1, 1, 0);
        tx_score_free(s);
    }
    CHECK_INT(read_str("note0,note1\n0,0\n0,0\n", &s, NULL), TX_OK);
    if (s) {
        CHECK_INT(s->n_notes, 0);
        CHECK_INT(s->n_tracks, 2);
        tx_score_free(s);
    }
    /* sixteen columns are the most */
    char text[512];
    size_t n = 0;
    for (int c = 0; c < 16; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%snote%d", c ? "," : "", c);
    for (int c = 0; c < 16; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%d", c ? "," : "\n", 40 + c);
    CHECK_INT(read_str(text, &s, NULL), TX_OK);
    if (s) {
        CHECK_INT(s->n_tracks, 16);
        CHECK_INT(s->n_notes, 16);
        CHECK_STR(s->tracks[15].name, "voice16");
        CHECK_INT(s->tracks[15].channel, 15);
        tx_score_free(s);
    }
}

typedef struct bad_case {
    const char *text;
    long line, column;
    const char *says;   /* a piece of the message */
} bad_case;

static void test_bad_input(void)
{
    static const bad_case cases[] = {
        {"", 1, 1, "empty file"},
        {"note1\n60\n", 1, 1, "expected 'note0'"},
        {"nota0\n60\n", 1, 4, "expected 'note0', found 'a'"},
        {"note0,note2\n60,60\n", 1, 7, "expected 'note1'"},
        {"note00\n60\n", 1, 1, "in order"},
        {"note0;note1\n60\n", 1, 6, "unexpected ';' in the header"},
        {"note0,\n60\n", 1, 7, "expected 'note1', found end of line"},
        {"60,62\n60,62\n", 1, 1, "header must name"},
        {"note0\n", 2, 1, "no rows after the header"},
        {"note0\n\n\n", 2, 1, "no rows after the header"},
        {"note0,note1\n60\n", 2, 3, "row has 1 column, the header names 2"},
        {"note0,note1\n60,\n", 2, 4, "row has 1 column, the header names 2"},
        {"note0,note1\n\n60,61\n", 2, 1, "blank line inside the grid"},
        {"note0,note1\n60,61,62\n", 2, 6, "row has more than 2 columns"},
        {"note0,note1\n60,x\n", 2, 4, "expected a MIDI key 0..127 (0 silent), found 'x'"},
        {"note0,note1\n60,128\n", 2, 4, "MIDI key 128 out of range 0..127"},
        {"note0,note1\n60,99999999999999999999999\n", 2, 4, "MIDI key 999999999999... out of range"},
        {"note0,note1\n60,-1\n", 2, 4, "negative MIDI key"},
        {"note0,note1\n60,61 \n", 2, 6, "unexpected byte 0x20 after a MIDI key"},
        {"note0,note1\n60,61\r62,63\n", 2, 6, "unexpected carriage return"},
        {"note0,note1\n60,6.5\n", 2, 5, "unexpected '.' after a MIDI key"},
        {"note0,note1\n60,61\n62,63\n64,x\n", 4, 4, "expected a MIDI key"},
        {"note0,note1\n60,61\n62,63\n\n64,65\n", 4, 1, "blank line inside the grid"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tx_score *s = (tx_score *)&s;
        tx_error err;
        int rc = read_str(cases[i].text, &s, &err);
        CHECK_INT(rc, TX_ESYNTAX);
        CHECK(s == NULL);
        CHECK_INT(err.code, TX_ESYNTAX);
        CHECK_INT(err.line, cases[i].line);
        CHECK_INT(err.column, cases[i].column);
        char place[64];
        snprintf(place, sizeof place, "t.csv:%ld:%ld: ", cases[i].line, cases[i].column);
        CHECK(strncmp(err.msg, place, strlen(place)) == 0);
        CHECK(strstr(err.msg, cases[i].says) != NULL);
        if (rc != TX_ESYNTAX || err.line != cases[i].line || err.column != cases[i].column ||
            !strstr(err.msg, cases[i].says))
            fprintf(stderr, "case %zu: %s\n", i, err.msg);
    }
    /* a NUL byte inside a row, which strlen would hide */
    static const char nul[] = "note0,note1\n60,6\0\n";
    tx_score *s = NULL;
    tx_error err;
    CHECK_INT(tx_grid_read_csv((const uint8_t *)nul, sizeof nul - 1, "t.csv", &s, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "t.csv:2:5: unexpected byte 0x00 after a MIDI key");
    /* seventeen columns */
    char text[512];
    size_t n = 0;
    for (int c = 0; c < 17; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%snote%d", c ? "," : "", c);
    snprintf(text + n, sizeof text - n, "\n0\n");
    CHECK_INT(read_str(text, &s, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "t.csv:1:103: more than 16 voice columns");
    /* no name: the messages say "grid" */
    CHECK_INT(tx_grid_read_csv((const uint8_t *)"x", 1, NULL, &s, &err), TX_ESYNTAX);
    CHECK(strncmp(err.msg, "grid:1:1: ", 10) == 0);
}

/* More rows than TX_GRID_MAX_ROWS: TX_ELIMIT at the first row too many; exactly the limit reads. */
static void test_limit(void)
{
    size_t rows = (size_t)TX_GRID_MAX_ROWS;
    size_t cap = 6 + 2 * (rows + 1) + 1;
    char *text = malloc(cap);
    CHECK(text != NULL);
    if (!text)
        return;
    memcpy(text, "note0\n", 6);
    for (size_t r = 0; r <= rows; r++)
        memcpy(text + 6 + 2 * r, r & 1 ? "1\n" : "2\n", 2);
    tx_score *s = NULL;
    tx_error err;
    CHECK_INT(tx_grid_read_csv((const uint8_t *)text, 6 + 2 * rows, "t.csv", &s, &err), TX_OK);
    if (s) {
        CHECK_INT(s->n_notes, (long)rows);
        tx_score_free(s);
    }
    CHECK_INT(tx_grid_read_csv((const uint8_t *)text, 6 + 2 * (rows + 1), "t.csv", &s, &err), TX_ELIMIT);
    CHECK(s == NULL);
    CHECK_INT(err.line, (long)rows + 2);
    CHECK(strstr(err.msg, "more than 262144 rows") != NULL);
    free(text);
}

/* Every allocation failing in turn gives TX_ENOMEM, no score and no leak; enough of them give the score. */
static void test_out_of_memory(void)
{
    static const char text[] = "note0,note1,note2,note3\n60,64,67,48\n62,64,67,48\n64,65,67,47\n0,0,0,0\n"
                               "65,65,69,45\n";
    tx_test_reader_oom(read_str, text, "t.csv: out of memory", 500);
}

/* scoreio: .csv and "note0," pick the grid reader; the JSB fixture reads as the shared corpus file does;
 * writing a grid is refused. */
static void test_scoreio(void)
{
    CHECK_INT(tx_format_from_path("a/chorale_000.CSV"), TX_FORMAT_GRID);
    CHECK_STR(tx_format_name(TX_FORMAT_GRID), "grid");
    CHECK_INT(tx_format_detect((const uint8_t *)"note0,note1\n", 12, "x.txt"), TX_FORMAT_GRID);
    CHECK_INT(tx_format_detect((const uint8_t *)"note0\n60\n", 9, NULL), TX_FORMAT_UNKNOWN);

    char path[4200];
    snprintf(path, sizeof path, "%s/tests/data/grid/chorale-000.csv", TX_SOURCE_ROOT);
    tx_score *s = NULL;
    int fmt = -1;
    tx_error err;
    CHECK_INT(tx_score_read_file(path, &s, &fmt, &err), TX_OK);
    CHECK_INT(fmt, TX_FORMAT_GRID);
    if (!s) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    /* figures from the file itself: 192 rows, and per voice the runs of equal non-zero keys */
    CHECK_INT(s->n_notes, 151);
    CHECK_INT(tx_score_end_tick(s), 192);
    CHECK_INT(tx_score_bar_count(s), 12);
    size_t per[4] = {0};
    int lo = 127, hi = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        if (s->notes[i].track < 4)
            per[s->notes[i].track]++;
        lo = s->notes[i].pitch < lo ? s->notes[i].pitch : lo;
        hi = s->notes[i].pitch > hi ? s->notes[i].pitch : hi;
    }
    CHECK_INT(per[0], 35);
    CHECK_INT(per[1], 31);
    CHECK_INT(per[2], 35);
    CHECK_INT(per[3], 50);
    CHECK_INT(lo, 43);
    CHECK_INT(hi, 79);
    /* the first row is 74,70,65,58 */
    check_note(s, 0, 0, s->notes[0].duration, 58, 3);
    CHECK_INT(s->notes[3].pitch, 74);
    CHECK_INT(s->notes[3].track, 0);
    CHECK_INT(tx_score_write_file(s, "never-written.csv", TX_FORMAT_GRID, &err), TX_EUNSUP);
    CHECK(strstr(err.msg, "not supported") != NULL);
    tx_score_free(s);
}

int main(void)
{
    RUN(test_notes);
    RUN(test_layout);
    RUN(test_bad_input);
    RUN(test_limit);
    RUN(test_out_of_memory);
    RUN(test_scoreio);
    return tx_test_finish();
}
