/* test-kern.c: unit tests of the Humdrum **kern reader (src/kern.c) and its place in scoreio, on small
 * kern texts written for these tests: exact notes (onset, duration, pitch, track) for durations, dots,
 * tuplets and rational values, pitches and accidentals, rests, chords, ties, spine splits, joins,
 * exchanges and additions; the resolution chosen; pickups and bars kept on the meter's grid; key
 * signatures and designations with their modes; names, tempo, fermatas and reference records; every
 * kind of malformed input reported at its line and column; out-of-memory at every allocation.
 * Not a test of the Bach chorales themselves (slow-analyze-kern.c reads those). */
#include "harness.h"

#include "alloc-budget.h"
#include "reader-oom.h"
#include "kern.h"
#include "scoreio.h"

static int read_str(const char *text, tx_score **s, tx_error *err)
{
    return tx_kern_read((const uint8_t *)text, strlen(text), "t.krn", s, err);
}

/* Reads text that must parse; prints the message when it does not. */
static tx_score *must_read(const char *text)
{
    tx_score *s = NULL;
    tx_error err;
    int rc = read_str(text, &s, &err);
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "%s: %s\n", tx_test_current, err.msg);
        return NULL;
    }
    CHECK_INT(tx_score_check(s, NULL), TX_OK);
    return s;
}

static void check_note(const tx_score *s, size_t i, long onset, long dur, int pitch, int track, unsigned flags)
{
    CHECK(i < s->n_notes);
    if (i >= s->n_notes)
        return;
    const tx_note *n = &s->notes[i];
    CHECK_INT(n->onset, onset);
    CHECK_INT(n->duration, dur);
    CHECK_INT(n->pitch, pitch);
    CHECK_INT(n->track, track);
    CHECK_INT(n->flags, flags);
    CHECK_INT(n->velocity, 80);
}

/* Durations with dots, rests, octaves by letter case and repetition, accidentals, two spines. */
static void test_notes(void)
{
    tx_score *s = must_read("**kern\t**kern\n"
                            "*M4/4\t*M4/4\n"
                            "=1\t=1\n"
                            "4C\t4c\n"
                            "8D\t8.d\n"
                            "8E\t.\n"
                            ".\t16e-\n"
                            "2r\t2cc#\n"
                            "=2\t=2\n"
                            "1CC\t1ccc--\n"
                            "==\t==\n"
                            "*-\t*-\n");
    if (!s)
        return;
    CHECK_INT(s->tpq, 4);   /* the sixteenth is the shortest value, and 8. is three of them */
    CHECK_INT(s->pickup, 0);
    CHECK_INT(s->n_tracks, 2);
    CHECK_INT(s->n_notes, 9);
    check_note(s, 0, 0, 4, 48, 0, 0);
    check_note(s, 1, 0, 4, 60, 1, 0);
    check_note(s, 2, 4, 2, 50, 0, 0);
    check_note(s, 3, 4, 3, 62, 1, 0);
    check_note(s, 4, 6, 2, 52, 0, 0);
    check_note(s, 5, 7, 1, 63, 1, 0);
    check_note(s, 6, 8, 8, 73, 1, 0);
    check_note(s, 7, 16, 16, 36, 0, 0);
    check_note(s, 8, 16, 16, 82, 1, 0);
    CHECK_INT(tx_score_end_tick(s), 32);
    CHECK_INT(tx_score_bar_count(s), 2);
    CHECK_INT(s->n_timesigs, 1);
    CHECK_STR(s->tracks[0].name, "");
    CHECK_INT(s->tracks[0].program, 0);
    CHECK_INT(s->tracks[0].channel, -1);
    tx_score_free(s);
}

/* Triplets, a dotted triplet, N%M values and the breve: the resolution is the least that holds them. */
static void test_tuplets(void)
{
    tx_score *s = must_read("**kern\n12c\n12d\n12e\n4f\n3%2g\n0a\n6.b\n*-\n");
    if (!s)
        return;
    CHECK_INT(s->tpq, 3);
    CHECK_INT(s->n_notes, 7);
    check_note(s, 0, 0, 1, 60, 0, 0);
    check_note(s, 1, 1, 1, 62, 0, 0);
    check_note(s, 2, 2, 1, 64, 0, 0);
    check_note(s, 3, 3, 3, 65, 0, 0);
    check_note(s, 4, 6, 8, 67, 0, 0);    /* 3%2: two thirds of a whole note */
    check_note(s, 5, 14, 24, 69, 0, 0);  /* a breve: eight quarters */
    check_note(s, 6, 38, 3, 71, 0, 0);   /* a dotted triplet quarter is one quarter */
    tx_score_free(s);

    s = must_read("**kern\n5c\n20d\n4e\n*-\n");   /* quintuplets: 4/5 and 1/5 of a quarter */
    if (s) {
        CHECK_INT(s->tpq, 5);
        check_note(s, 1, 4, 1, 62, 0, 0);
        check_note(s, 2, 5, 5, 64, 0, 0);
        tx_score_free(s);
    }
    s = must_read("**kern\n4c\n*-\n");
    if (s) {
        CHECK_INT(s->tpq, 1);
        tx_score_free(s);
    }
}

/* Ties start, continue and end (across a barline and across a split of the other spine's rhythm);
 * a tie that is never ended ends with its last part; an end without a start is one note. */
static void test_ties(void)
{
    tx_score *s = must_read("**kern\t**kern\n"
                            "[4c\t4e\n"
                            "4c_\t[2g\n"
                            "=\t=\n"
                            "4c]\t.\n"
                            "[4d\t4g]\n"
                            "4d]\t4a\n"
                            "[4e\t4b]\n"
                            "*-\t*-\n");
    if (!s)
        return;
    CHECK_INT(s->tpq, 1);
    CHECK_INT(s->n_notes, 7);
    check_note(s, 0, 0, 3, 60, 0, TX_NOTE_TIED);
    check_note(s, 1, 0, 1, 64, 1, 0);
    check_note(s, 2, 1, 3, 67, 1, TX_NOTE_TIED);
    check_note(s, 3, 3, 2, 62, 0, TX_NOTE_TIED);
    check_note(s, 4, 4, 1, 69, 1, 0);
    check_note(s, 5, 5, 1, 64, 0, TX_NOTE_TIED);   /* never ended */
    check_note(s, 6, 5, 1, 71, 1, TX_NOTE_TIED);   /* ended, never started */
    tx_score_free(s);

    /* a tie whose next note has another pitch: the tied note ends, the other stands alone */
    s = must_read("**kern\n[4c\n4d]\n4e\n*-\n");
    if (s) {
        CHECK_INT(s->n_notes, 3);
        check_note(s, 0, 0, 1, 60, 0, TX_NOTE_TIED);
        check_note(s, 1, 1, 1, 62, 0, TX_NOTE_TIED);
        check_note(s, 2, 2, 1, 64, 0, 0);
        tx_score_free(s);
    }
}

/* Chords: notes of one token separated by spaces; the shortest decides when the spine moves on. */
static void test_chords(void)
{
    tx_score *s = must_read("**kern\n4c 4e 4g\n8B- 4d\n8cn\n4r\n4qf 4a\n*-\n");
    if (!s)
        return;
    CHECK_INT(s->tpq, 2);
    CHECK_INT(s->n_notes, 8);
    check_note(s, 0, 0, 2, 60, 0, 0);
    check_note(s, 1, 0, 2, 64, 0, 0);
    check_note(s, 2, 0, 2, 67, 0, 0);
    check_note(s, 3, 2, 1, 58, 0, 0);
    check_note(s, 4, 2, 2, 62, 0, 0);
    check_note(s, 5, 3, 1, 60, 0, 0);
    check_note(s, 6, 6, 0, 65, 0, TX_NOTE_GRACE);   /* a grace note takes no time */
    check_note(s, 7, 6, 2, 69, 0, 0);
    CHECK_INT(tx_score_end_tick(s), 8);
    tx_score_free(s);
}

/* A first bar shorter than the meter is a pickup; a short numbered bar restates the meter, an
 * unnumbered repeat barline inside a bar does not. */
static void test_bars(void)
{
    tx_score *s = must_read("**kern\n*M3/4\n4c\n=1\n2.d\n=2\n2e\n=:|!\n4f\n=3\n2g\n=4\n2.a\n==\n*-\n");
    if (!s)
        return;
    CHECK_INT(s->tpq, 1);
    CHECK_INT(s->pickup, 1);
    CHECK_INT(s->n_timesigs, 2);
    if (s->n_timesigs == 2) {
        CHECK_INT(s->timesigs[0].tick, 0);
        CHECK_INT(s->timesigs[1].tick, 9);
        CHECK_INT(s->timesigs[1].num, 3);
        CHECK_INT(s->timesigs[1].den, 4);
    }
    tx_barpos bp;
    tx_score_locate(s, 0, &bp);
    CHECK_INT(bp.bar, 0);
    tx_score_locate(s, 1, &bp);
    CHECK_INT(bp.bar, 1);
    CHECK_INT(bp.offset, 0);
    tx_score_locate(s, 6, &bp);   /* the f after the repeat sign ends bar 2 (2e 4f, ticks 4..7) */
    CHECK_INT(bp.bar, 2);
    CHECK_INT(bp.offset, 2);
    tx_score_locate(s, 7, &bp);
    CHECK_INT(bp.bar, 3);
    CHECK_INT(bp.offset, 0);
    tx_score_locate(s, 9, &bp);   /* bar 3 is cut short after 2g: bar 4 starts where =4 stands */
    CHECK_INT(bp.bar, 4);
    CHECK_INT(bp.offset, 0);
    tx_score_free(s);

    /* a barline before any note: no pickup */
    s = must_read("**kern\n*M3/4\n=1-\n4c\n4d\n4e\n=2\n2.f\n*-\n");
    if (s) {
        CHECK_INT(s->pickup, 0);
        CHECK_INT(s->n_timesigs, 1);
        tx_score_free(s);
    }
}

typedef struct key_case {
    const char *text;
    size_t n;             /* key events */
    int fifths, mode;     /* of the first */
} key_case;

static void test_keys(void)
{
    static const key_case cases[] = {
        {"**kern\n*k[f#]\n*G:\n4g\n*-\n", 1, 1, TX_MODE_MAJOR},
        {"**kern\n*k[b-]\n*g:\n4g\n*-\n", 1, -2, TX_MODE_MINOR},   /* the designation's own signature */
        {"**kern\n*k[b-]\n*g:dor\n4g\n*-\n", 1, -1, TX_MODE_DORIAN},
        {"**kern\n*k[b-e-]\n4g\n*-\n", 1, -2, TX_MODE_MAJOR},       /* a signature alone */
        {"**kern\n*k[]\n4g\n*-\n", 1, 0, TX_MODE_MAJOR},
        {"**kern\n*e:phr\n4e\n*-\n", 1, 0, TX_MODE_PHRYGIAN},
        {"**kern\n*G:mix\n4g\n*-\n", 1, 0, TX_MODE_MIXOLYDIAN},
        {"**kern\n*F:lyd\n4g\n*-\n", 1, 0, TX_MODE_LYDIAN},
        {"**kern\n*b:loc\n4g\n*-\n", 1, 0, TX_MODE_LOCRIAN},
        {"**kern\n*A-:\n4a-\n*-\n", 1, -4, TX_MODE_MAJOR},
        {"**kern\n*f#:\n4f#\n*-\n", 1, 3, TX_MODE_MINOR},
        {"**kern\n*c#:\n4f#\n*-\n", 1, 4, TX_MODE_MINOR},
        {"**kern\n*e-:\n4f#\n*-\n", 1, -6, TX_MODE_MINOR},
        {"**kern\n*a:\n*k[b-]\n4g\n*-\n", 1, 0, TX_MODE_MINOR},   /* the designation came first */
        {"**kern\n*C:\n4c\n*G:\n4g\n*-\n", 2, 0, TX_MODE_MAJOR},
        {"**kern\n*G#:\n4g#\n*-\n", 0, 0, 0},                      /* eight sharps: no key event */
        {"**kern\n*?:\n*k[f#c#g#d#]\n4g\n*-\n", 1, 4, TX_MODE_MAJOR},
        {"**kern\n*k[f#b-]\n4g\n*-\n", 0, 0, 0},                   /* not a plain signature */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tx_score *s = must_read(cases[i].text);
        if (!s)
            continue;
        CHECK_INT(s->n_keysigs, (long)cases[i].n);
        if (s->n_keysigs && cases[i].n) {
            CHECK_INT(s->keysigs[0].tick, 0);
            CHECK_INT(s->keysigs[0].fifths, cases[i].fifths);
            CHECK_INT(s->keysigs[0].mode, cases[i].mode);
            if (s->keysigs[0].fifths != cases[i].fifths || s->keysigs[0].mode != cases[i].mode)
                fprintf(stderr, "key case %zu\n", i);
        }
        if (cases[i].n == 2 && s->n_keysigs == 2) {
            CHECK_INT(s->keysigs[1].tick, 1);
            CHECK_INT(s->keysigs[1].fifths, 1);
        }
        tx_score_free(s);
    }
    /* the tonic of a designation comes back through the signature and the mode */
    tx_score *s = must_read("**kern\n*k[b-]\n*g:\n4g\n*-\n");
    if (s) {
        CHECK_INT(tx_key_tonic(s->keysigs[0].fifths, s->keysigs[0].mode), 7);
        tx_score_free(s);
    }
}

/* Reference records, names, instruments, tempo, fermatas, comments, a spine of another kind. */
static void test_meta(void)
{
    tx_score *s = must_read("!!!COM: Composer, A.\n"
                            "!!!OTL@@DE: Deutsch\n"
                            "!!!OTL@EN: English\n"
                            "!! a global comment\n"
                            "**kern\t**kern\t**dynam\n"
                            "*ICvox\t*\t*\n"
                            "*Ibass\t*Ipiano\t*\n"
                            "*I\"Bass\t*\t*\n"
                            "*MM72\t*MM72\t*\n"
                            "! local\t!\t!\n"
                            "4c;\t4e\tp\n"
                            "2d\t2f;\t.\n"
                            "*-\t*-\t*-\n"
                            "!!!ENC: someone\n"
                            "!!!ENC: someone else\n");
    if (!s)
        return;
    CHECK_STR(tx_score_meta(s, "title"), "Deutsch");
    CHECK_STR(tx_score_meta(s, "composer"), "Composer, A.");
    CHECK_STR(tx_score_meta(s, "kern:OTL@EN"), "English");
    CHECK_STR(tx_score_meta(s, "kern:ENC"), "someone\nsomeone else");
    CHECK_INT(s->n_tracks, 2);
    CHECK_STR(s->tracks[0].name, "Bass");
    CHECK_STR(s->tracks[1].name, "piano");
    CHECK_INT(s->tracks[0].program, 52);
    CHECK_INT(s->tracks[1].program, 0);
    CHECK_INT(s->n_tempos, 1);
    if (s->n_tempos)
        CHECK_INT(s->tempos[0].usec_per_quarter, 833333);
    CHECK_INT(s->n_texts, 2);
    if (s->n_texts == 2) {
        CHECK_INT(s->texts[0].tick, 0);
        CHECK_INT(s->texts[0].track, 0);
        CHECK_INT(s->texts[0].kind, TX_TEXT_ANNOTATION);
        CHECK_STR(s->texts[0].text, "fermata");
        CHECK_INT(s->texts[1].tick, 1);
        CHECK_INT(s->texts[1].track, 1);
    }
    CHECK_INT(s->n_notes, 4);
    tx_score_free(s);

    /* a plain OTL wins over the language forms, whatever the order */
    s = must_read("!!!OTL@@DE: Deutsch\n!!!OTL: Plain\n**kern\n4c\n*-\n");
    if (s) {
        CHECK_STR(tx_score_meta(s, "title"), "Plain");
        tx_score_free(s);
    }
}

/* Split, join, exchange, add and end spines. */
static void test_spines(void)
{
    tx_score *s = must_read("**kern\t**kern\n"
                            "4C\t4c\n"
                            "*\t*^\n"
                            "4D\t8d\t4f\n"
                            ".\t8e\t.\n"
                            "*\t*v\t*v\n"
                            "4E\t4g\n"
                            "*-\t*-\n");
    if (s) {
        CHECK_INT(s->n_tracks, 2);
        CHECK_INT(s->n_notes, 8);
        check_note(s, 0, 0, 2, 48, 0, 0);
        check_note(s, 1, 0, 2, 60, 1, 0);
        check_note(s, 2, 2, 2, 50, 0, 0);
        check_note(s, 3, 2, 1, 62, 1, 0);
        check_note(s, 4, 2, 2, 65, 1, 0);
        check_note(s, 5, 3, 1, 64, 1, 0);
        check_note(s, 6, 4, 2, 52, 0, 0);
        check_note(s, 7, 4, 2, 67, 1, 0);
        tx_score_free(s);
    }
    /* *+ adds a spine that becomes a track once named **kern; *x exchanges it with the dynamics */
    s = must_read("**kern\t**dynam\n"
                  "4c\tp\n"
                  "*\t*+\n"
                  "*\t*\t**kern\n"
                  "4d\t.\t4f\n"
                  "*\t*x\t*x\n"
                  "4e\t4g\t.\n"
                  "*-\t*-\t*-\n");
    if (s) {
        CHECK_INT(s->n_tracks, 2);
        CHECK_INT(s->n_notes, 5);
        check_note(s, 0, 0, 1, 60, 0, 0);
        check_note(s, 1, 1, 1, 62, 0, 0);
        check_note(s, 2, 1, 1, 65, 1, 0);
        check_note(s, 3, 2, 1, 64, 0, 0);
        check_note(s, 4, 2, 1, 67, 1, 0);
        tx_score_free(s);
    }
    /* one spine ends, the other goes on */
    s = must_read("**kern\t**kern\n4c\t4e\n*-\t*\n4d\n*-\n");
    if (s) {
        CHECK_INT(s->n_notes, 3);
        check_note(s, 2, 1, 1, 62, 1, 0);
        tx_score_free(s);
    }
    /* no final *-, CRLF line ends, a byte-order mark and blank lines are tolerated */
    s = must_read("\xef\xbb\xbf**kern\r\n\r\n4c\r\n4d\r\n");
    if (s) {
        CHECK_INT(s->n_notes, 2);
        tx_score_free(s);
    }
}

typedef struct bad_case {
    const char *text;
    int code;
    long line, column;
    const char *says;   /* a piece of the message */
} bad_case;

static void test_bad_input(void)
{
    static const bad_case cases[] = {
        {"", TX_ESYNTAX, 1, 1, "empty file"},
        {"4c\n", TX_ESYNTAX, 1, 1, "expected exclusive interpretations"},
        {"!! only comments\n", TX_ESYNTAX, 1, 1, "not a Humdrum file"},
        {"**kern\n4c\t4d\n*-\n", TX_ESYNTAX, 2, 4, "2 tokens, but 1 spine is open"},
        {"**kern\t**kern\n4c\n", TX_ESYNTAX, 2, 3, "1 token, but 2 spines are open"},
        {"**kern\n4x\n", TX_ESYNTAX, 2, 1, "no pitch and no rest in '4x'"},
        {"**kern\nc\n", TX_ESYNTAX, 2, 1, "no duration in 'c'"},
        {"**kern\n4cd\n", TX_ESYNTAX, 2, 3, "a second pitch in one note"},
        {"**kern\n4cCc\n", TX_ESYNTAX, 2, 3, "a second pitch in one note"},
        {"**kern\n4c\t\n", TX_ESYNTAX, 2, 4, "empty token"},
        {"**kern\n4ccccccccc\n", TX_ESYNTAX, 2, 10, "repeated more than 8 times"},
        {"**kern\n4CCCCCC\n", TX_ESYNTAX, 2, 1, "outside MIDI's range 0..127"},
        {"**kern\n4cccccccc#\n", TX_ESYNTAX, 2, 1, "outside MIDI's range"},
        {"**kern\n4c#-\n", TX_ESYNTAX, 2, 4, "malformed accidental"},
        {"**kern\n4rc\n", TX_ESYNTAX, 2, 3, "a pitch in a rest"},
        {"**kern\n4c4\n", TX_ESYNTAX, 2, 3, "a second duration"},
        {"**kern\n04c\n", TX_ESYNTAX, 2, 1, "leading zero"},
        {"**kern\n0000c\n", TX_ESYNTAX, 2, 1, "more than three zeros"},
        {"**kern\n1%0c\n", TX_ESYNTAX, 2, 2, "'%' must be followed by a positive number"},
        {"**kern\nc.4\n", TX_ESYNTAX, 2, 2, "'.' away from a duration"},
        {"**kern\n4.......c\n", TX_ESYNTAX, 2, 8, "more than six augmentation dots"},
        {"**kern\n4c 4e \n", TX_ESYNTAX, 2, 6, "a space at the end"},
        {"**kern\n4c  4e\n", TX_ESYNTAX, 2, 4, "unexpected a space"},
        {"**kern\n4c\x01\n", TX_ESYNTAX, 2, 3, "unexpected byte 0x01 in a note"},
        {"**kern\n4[c_\n", TX_ESYNTAX, 2, 4, "two kinds of tie marks"},
        {"**kern\n4c\n*v\n", TX_ESYNTAX, 3, 1, "'*v' must join two or more"},
        {"**kern\t**dynam\n*v\t*v\n", TX_ESYNTAX, 2, 4, "joins spines of different kinds"},
        {"**kern\n*x\n", TX_ESYNTAX, 2, 1, "'*x' exchanges two spines: 1 marked"},
        {"**kern\t**kern\n2c\t4d\n4e\t4f\n", TX_ESYNTAX, 3, 1, "still sounds"},
        {"**dynam\np\n", TX_ESYNTAX, 1, 1, "no **kern spine"},
        {"**kern\n4c\n*-\n4d\n", TX_ESYNTAX, 4, 1, "a record after every spine ended"},
        {"**kern\n*-\n**kern\n4c\n", TX_EUNSUP, 3, 1, "a second segment"},
        {"**kern\n4c\n=1\t=1\n", TX_ESYNTAX, 3, 4, "2 tokens, but 1 spine is open"},
        {"**kern\t**kern\n4c\t*\n", TX_ESYNTAX, 2, 4, "an interpretation token in a data record"},
        {"**kern\t**kern\n*\t4c\n", TX_ESYNTAX, 2, 3, "not an interpretation"},
        {"**kern\t**kern\n=1\t4c\n", TX_ESYNTAX, 2, 4, "not a barline"},
        {"**kern\t**kern\n!\t4c\n", TX_ESYNTAX, 2, 3, "not a comment"},
        {"**kern\n*+\n4c\t4d\n", TX_ESYNTAX, 3, 4, "data in a spine added by '*+'"},
        {"**kern\n*+\n*\t*k[]\n", TX_ESYNTAX, 3, 3, "needs an exclusive interpretation"},
        {"**kern\t*kern\n", TX_ESYNTAX, 1, 8, "expected an exclusive interpretation"},
        {"**kern\n32767c\n3c\n", TX_ELIMIT, 3, 1, "more than 32767 ticks per quarter"},
        {"**kern\n4c\n4d\n1000000000c\n", TX_ESYNTAX, 4, 1, "reciprocal too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tx_score *s = (tx_score *)&s;
        tx_error err;
        int rc = read_str(cases[i].text, &s, &err);
        CHECK_INT(rc, cases[i].code);
        CHECK(s == NULL);
        CHECK_INT(err.code, cases[i].code);
        CHECK_INT(err.line, cases[i].line);
        CHECK_INT(err.column, cases[i].column);
        char place[64];
        snprintf(place, sizeof place, "t.krn:%ld:%ld: ", cases[i].line, cases[i].column);
        CHECK(strncmp(err.msg, place, strlen(place)) == 0);
        CHECK(strstr(err.msg, cases[i].says) != NULL);
        if (rc != cases[i].code || err.line != cases[i].line || err.column != cases[i].column ||
            !strstr(err.msg, cases[i].says))
            fprintf(stderr, "case %zu: %s\n", i, err.msg);
    }
    /* a NUL byte, which strlen would hide */
    static const char nul[] = "**kern\n4c\0\n";
    tx_score *s = NULL;
    tx_error err;
    CHECK_INT(tx_kern_read((const uint8_t *)nul, sizeof nul - 1, "t.krn", &s, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "t.krn:2:3: unexpected byte 0x00");
    /* no name: the messages say "kern" */
    CHECK_INT(tx_kern_read((const uint8_t *)"x", 1, NULL, &s, &err), TX_ESYNTAX);
    CHECK(strncmp(err.msg, "kern:1:1: ", 10) == 0);
    /* too many spines at once */
    char *wide = malloc(8 * (TX_KERN_MAX_SPINES + 2));
    CHECK(wide != NULL);
    if (wide) {
        size_t n = 0;
        for (int c = 0; c <= TX_KERN_MAX_SPINES; c++)
            n += (size_t)sprintf(wide + n, "%s**kern", c ? "\t" : "");
        CHECK_INT(tx_kern_read((const uint8_t *)wide, n, "t.krn", &s, &err), TX_ELIMIT);
        CHECK(strstr(err.msg, "more than 1024 spines") != NULL);
        free(wide);
    }
    /* splits past the limit */
    char text[8192] = "**kern\n";
    for (int i = 0; i < 11; i++) {
        size_t n = strlen(text);
        for (int c = 0; c < (1 << i); c++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s*^", c ? "\t" : "");
        if (n + 2 < sizeof text)
            memcpy(text + n, "\n", 2);
    }
    CHECK_INT(read_str(text, &s, &err), TX_ELIMIT);
    CHECK_INT(err.line, 12);
}

/* Every allocation failing in turn gives TX_ENOMEM, no score and no leak; enough of them give the score. */
static void test_out_of_memory(void)
{
    static const char text[] = "!!!OTL: Title\n!!!COM: Someone\n**kern\t**kern\n*I\"Bass\t*I\"Soprano\n"
                               "*k[f#]\t*k[f#]\n*G:\t*G:\n*M3/4\t*M3/4\n*MM90\t*MM90\n4G\t4d\n=1\t=1\n"
                               "[2A\t4c 4e\n*\t*^\n.\t8f#\t8a\n.\t8g;\t8b\n*\t*v\t*v\n4A]\t2.g;\n"
                               "=2\t=2\n*-\t*-\n";
    tx_test_reader_oom(read_str, text, "t.krn: out of memory", 1000);
    /* the same text parsed normally: what the budgets were spent on */
    tx_score *s = must_read(text);
    if (s) {
        CHECK_INT(s->tpq, 2);
        CHECK_INT(s->n_notes, 10);
        CHECK_INT(s->pickup, 2);
        check_note(s, 0, 0, 2, 55, 0, 0);
        check_note(s, 1, 0, 2, 62, 1, 0);
        check_note(s, 2, 2, 6, 57, 0, TX_NOTE_TIED);
        check_note(s, 9, 6, 6, 67, 1, 0);
        CHECK_INT(s->n_texts, 2);
        tx_score_free(s);
    }
}

/* scoreio: .krn and a first record naming **kern pick this reader; writing kern is refused. */
static void test_scoreio(void)
{
    CHECK_INT(tx_format_from_path("a/chor001.KRN"), TX_FORMAT_KERN);
    CHECK_STR(tx_format_name(TX_FORMAT_KERN), "kern");
    static const char *const yes[] = {
        "**kern\n4c\n", "!!!COM: x\n!! y\n\n**dynam\t**kern\n", "\xef\xbb\xbf**kern\r\n", "**kern",
    };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        CHECK_INT(tx_format_detect((const uint8_t *)yes[i], strlen(yes[i]), "x.txt"), TX_FORMAT_KERN);
    static const char *const no[] = {"**dynam\n4c\n", "*kern\n", "4c\n**kern\n", "**kerning\n", "!!x\n"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        CHECK_INT(tx_format_detect((const uint8_t *)no[i], strlen(no[i]), NULL), TX_FORMAT_UNKNOWN);

    static const char text[] = "!!!OTL: Scale\n**kern\n*M2/4\n8c\n8d\n=1\n4e\n*-\n";
    tx_score *s = NULL;
    int fmt = -1;
    tx_error err;
    CHECK_INT(tx_score_read_mem((const uint8_t *)text, strlen(text), "scale.txt", &s, &fmt, &err), TX_OK);
    CHECK_INT(fmt, TX_FORMAT_KERN);
    if (!s)
        return;
    CHECK_INT(s->n_notes, 3);
    CHECK_INT(s->tpq, 2);
    CHECK_INT(s->pickup, 2);
    CHECK_STR(tx_score_meta(s, "title"), "Scale");
    CHECK_INT(tx_score_write_file(s, "never-written.krn", TX_FORMAT_KERN, &err), TX_EUNSUP);
    CHECK(strstr(err.msg, "not supported") != NULL);
    tx_score_free(s);
    /* a .krn file that is not kern is reported by the kern reader */
    CHECK_INT(tx_score_read_mem((const uint8_t *)"hello\n", 6, "x.krn", &s, &fmt, &err), TX_ESYNTAX);
    CHECK_INT(fmt, TX_FORMAT_KERN);
    CHECK(strncmp(err.msg, "x.krn:1:1: ", 11) == 0);
}

int main(void)
{
    RUN(test_notes);
    RUN(test_tuplets);
    RUN(test_ties);
    RUN(test_chords);
    RUN(test_bars);
    RUN(test_keys);
    RUN(test_meta);
    RUN(test_spines);
    RUN(test_bad_input);
    RUN(test_out_of_memory);
    RUN(test_scoreio);
    return tx_test_finish();
}
