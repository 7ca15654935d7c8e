/* test-midi.c: unit tests of the MIDI reader (midi.c): hand-built SMF bytes for every feature and
 * every kind of bad input, truncations and byte flips of a real file, out-of-memory injection. The
 * comparison with mido is test-midi-mido.c; the writer (midi-write.c) is tested elsewhere. */
#include "harness.h"
#include "alloc-budget.h"
#include "midi.h"

/* ---- building SMF bytes ---- */

typedef struct smf {
    uint8_t d[16384];
    size_t n;
    size_t track_at;   /* offset of the open chunk's length field */
} smf;

static void put(smf *m, const uint8_t *p, size_t n)
{
    if (m->n + n > sizeof m->d) {
        fprintf(stderr, "test SMF buffer too small\n");
        exit(1);
    }
    memcpy(m->d + m->n, p, n);
    m->n += n;
}

#define B(m, ...) put((m), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void put32(smf *m, uint32_t v)
{
    B(m, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v);
}

static void vlq(smf *m, uint32_t v)
{
    uint8_t tmp[5];
    int n = 0;
    tmp[n++] = v & 0x7f;
    while (v >>= 7)
        tmp[n++] = (uint8_t)(0x80 | (v & 0x7f));
    while (n)
        put(m, &tmp[--n], 1);
}

static void header(smf *m, int format, int ntrks, int division)
{
    m->n = 0;
    B(m, 'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, (uint8_t)format, (uint8_t)(ntrks >> 8), (uint8_t)ntrks,
      (uint8_t)(division >> 8), (uint8_t)division);
}

static void track(smf *m)
{
    B(m, 'M', 'T', 'r', 'k');
    m->track_at = m->n;
    put32(m, 0);
}

/* Closes the open chunk: an end-of-track after `delta` ticks (unless delta < 0), then its length. */
static void end_track(smf *m, int delta)
{
    if (delta >= 0) {
        vlq(m, (uint32_t)delta);
        B(m, 0xff, 0x2f, 0x00);
    }
    uint32_t len = (uint32_t)(m->n - m->track_at - 4);
    m->d[m->track_at] = (uint8_t)(len >> 24);
    m->d[m->track_at + 1] = (uint8_t)(len >> 16);
    m->d[m->track_at + 2] = (uint8_t)(len >> 8);
    m->d[m->track_at + 3] = (uint8_t)len;
}

static void meta_text(smf *m, uint32_t delta, int type, const char *text)
{
    vlq(m, delta);
    B(m, 0xff, (uint8_t)type);
    vlq(m, (uint32_t)strlen(text));
    put(m, (const uint8_t *)text, strlen(text));
}

static void on(smf *m, uint32_t delta, int ch, int pitch, int vel)
{
    vlq(m, delta);
    B(m, (uint8_t)(0x90 | ch), (uint8_t)pitch, (uint8_t)vel);
}

static void off(smf *m, uint32_t delta, int ch, int pitch)
{
    vlq(m, delta);
    B(m, (uint8_t)(0x80 | ch), (uint8_t)pitch, 0x40);
}

static void prog(smf *m, uint32_t delta, int ch, int program)
{
    vlq(m, delta);
    B(m, (uint8_t)(0xc0 | ch), (uint8_t)program);
}

/* Reads m; returns the status and leaves the score in *s (NULL on failure). */
static int rd(const smf *m, tx_score **s, tx_midi_info *info, tx_error *err)
{
    return tx_midi_read(m->d, m->n, "t.mid", s, info, err);
}

/* Checks a count and leaves the test (freeing s) when it is wrong, before elements are indexed. */
#define REQUIRE_COUNT(s, field, want) do { \
    CHECK_INT((s)->field, (want)); \
    if ((s)->field != (size_t)(want)) { tx_score_free(s); return; } \
} while (0)

static int has_note(const tx_score *s, tx_tick onset, tx_tick dur, int pitch, int vel, int track)
{
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        if (n->onset == onset && n->duration == dur && n->pitch == pitch && n->velocity == vel &&
            n->track == track)
            return 1;
    }
    return 0;
}

/* ---- features ---- */

static void test_type0_notes(void)
{
    smf m;
    header(&m, 0, 1, 96);
    track(&m);
    on(&m, 0, 0, 60, 100);
    off(&m, 96, 0, 60);
    on(&m, 0, 0, 64, 90);
    on(&m, 48, 0, 67, 80);
    off(&m, 48, 0, 64);
    off(&m, 0, 0, 67);
    end_track(&m, 0);
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (!s)
        return;
    CHECK_INT(s->tpq, 96);
    REQUIRE_COUNT(s, n_tracks, 1);
    REQUIRE_COUNT(s, n_notes, 3);
    CHECK(has_note(s, 0, 96, 60, 100, 0));
    CHECK(has_note(s, 96, 96, 64, 90, 0));
    CHECK(has_note(s, 144, 48, 67, 80, 0));
    CHECK_INT(s->tracks[0].channel, 0);
    CHECK_INT(s->tracks[0].program, 0);
    CHECK_INT(s->tracks[0].is_drum, 0);
    CHECK_STR(s->tracks[0].name, "");
    CHECK_INT(info.format, 0);
    CHECK_INT(info.n_chunks, 1);
    CHECK_INT(info.n_announced, 1);
    CHECK_INT(info.division, 96);
    CHECK_INT(info.bytes, m.n);
    CHECK_INT(info.events, 7);
    CHECK_INT(info.warnings, 0);
    CHECK_INT(tx_score_check(s, &err), TX_OK);
    /* sorted by onset then pitch */
    CHECK_INT(s->notes[0].pitch, 60);
    CHECK_INT(s->notes[2].pitch, 67);
    tx_score_free(s);
}

/* The name of a first chunk without notes is the title; a first chunk with notes names its track. */
static void test_title(void)
{
    smf m;
    tx_score *s;
    tx_error err;
    header(&m, 1, 2, 96);
    track(&m);
    meta_text(&m, 0, 0x03, "Conductor Name");
    end_track(&m, 0);
    track(&m);
    meta_text(&m, 0, 0x03, "Lead");
    on(&m, 0, 0, 60, 90);
    off(&m, 96, 0, 60);
    end_track(&m, 0);
    CHECK_INT(rd(&m, &s, NULL, &err), TX_OK);
    if (s) {
        CHECK_STR(tx_score_meta(s, "title"), "Conductor Name");
        CHECK_STR(s->tracks[0].name, "Lead");
        tx_score_free(s);
    }
    header(&m, 0, 1, 96);
    track(&m);
    meta_text(&m, 0, 0x03, "Only Track");
    on(&m, 0, 0, 60, 90);
    off(&m, 96, 0, 60);
    end_track(&m, 0);
    CHECK_INT(rd(&m, &s, NULL, &err), TX_OK);
    if (s) {
        CHECK(tx_score_meta(s, "title") == NULL);
        CHECK_STR(s->tracks[0].name, "Only Track");
        tx_score_free(s);
    }
}

static void test_running_status_and_vel0(void)
{
    smf m;
    header(&m, 0, 1, 480);
    track(&m);
    B(&m, 0x00, 0x91, 60, 100);          /* note-on ch 1 */
    B(&m, 0x00, 64, 101);                 /* running status: another note-on */
    B(&m, 0x81, 0x70, 60, 0);             /* delta 240, velocity 0: off */
    B(&m, 0x00, 0xff, 0x01, 0x02, 'h', 'i'); /* a meta event in between keeps running status */
    B(&m, 0x00, 64, 0);                   /* running status after the meta */
    B(&m, 0x00, 0xf0, 0x03, 0x7e, 0x7f, 0xf7); /* sysex, skipped */
    B(&m, 0x10, 0xf7, 0x02, 0x01, 0x02);  /* sysex escape, skipped */
    B(&m, 0x00, 67, 50);                  /* running status after sysex: note-on at 256 */
    B(&m, 0x10, 0x81, 67, 0);             /* explicit note-off at 272 */
    end_track(&m, 0);
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (!s)
        return;
    REQUIRE_COUNT(s, n_tracks, 1);
    CHECK_INT(s->tracks[0].channel, 1);
    CHECK_INT(s->n_notes, 3);
    CHECK(has_note(s, 0, 240, 60, 100, 0));
    CHECK(has_note(s, 0, 240, 64, 101, 0));
    CHECK(has_note(s, 256, 16, 67, 50, 0));
    REQUIRE_COUNT(s, n_texts, 1);
    CHECK_STR(s->texts[0].text, "hi");
    CHECK_INT(s->texts[0].track, 0);
    tx_score_free(s);
}

static void test_type1_maps_and_texts(void)
{
    smf m;
    header(&m, 1, 3, 480);
    track(&m);   /* conductor */
    meta_text(&m, 0, 0x03, "Song Title");
    meta_text(&m, 0, 0x02, "(c) nobody");
    B(&m, 0x00, 0xff, 0x51, 0x03, 0x07, 0xa1, 0x20);          /* 500000 */
    B(&m, 0x00, 0xff, 0x58, 0x04, 0x03, 0x02, 0x18, 0x08);    /* 3/4 */
    B(&m, 0x00, 0xff, 0x59, 0x02, 0xfd, 0x01);                /* 3 flats, minor: C minor */
    meta_text(&m, 0, 0x06, "Intro");
    B(&m, 0x83, 0x60, 0xff, 0x51, 0x03, 0x09, 0x27, 0xc0);    /* at 480: 600000 */
    B(&m, 0x00, 0xff, 0x58, 0x04, 0x06, 0x03, 0x18, 0x08);    /* 6/8 */
    B(&m, 0x00, 0xff, 0x59, 0x02, 0x02, 0x00);                /* D major */
    B(&m, 0x00, 0xff, 0x58, 0x04, 0x00, 0x02, 0x18, 0x08);    /* numerator 0: skipped */
    B(&m, 0x00, 0xff, 0x58, 0x04, 0x04, 0x08, 0x18, 0x08);    /* denominator 256: skipped */
    B(&m, 0x00, 0xff, 0x59, 0x02, 0x09, 0x00);                /* 9 sharps: skipped */
    B(&m, 0x00, 0xff, 0x51, 0x03, 0x00, 0x00, 0x00);          /* tempo 0: skipped */
    B(&m, 0x00, 0xff, 0x51, 0x02, 0x01, 0x02);                /* short tempo: skipped */
    meta_text(&m, 0, 0x01, "");                               /* empty text: skipped */
    end_track(&m, 0);
    track(&m);
    meta_text(&m, 0, 0x03, "Piano");
    prog(&m, 0, 0, 5);
    meta_text(&m, 0, 0x05, "la");
    meta_text(&m, 0, 0x04, "Grand");
    meta_text(&m, 0, 0x07, "cue!");
    on(&m, 0, 0, 60, 80);
    off(&m, 480, 0, 60);
    end_track(&m, 0);
    track(&m);
    meta_text(&m, 0, 0x03, "Drums");
    on(&m, 0, 9, 36, 100);
    off(&m, 10, 9, 36);
    end_track(&m, 0);
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (!s)
        return;
    CHECK_INT(info.format, 1);
    CHECK_INT(info.n_chunks, 3);
    CHECK_INT(info.skipped, 5);
    REQUIRE_COUNT(s, n_tracks, 2);   /* the conductor chunk has no notes */
    CHECK_STR(s->tracks[0].name, "Piano");
    CHECK_INT(s->tracks[0].program, 5);
    CHECK_INT(s->tracks[0].is_drum, 0);
    CHECK_STR(s->tracks[1].name, "Drums");
    CHECK_INT(s->tracks[1].channel, 9);
    CHECK_INT(s->tracks[1].is_drum, 1);
    CHECK(has_note(s, 0, 480, 60, 80, 0));
    CHECK(has_note(s, 0, 10, 36, 100, 1));
    CHECK_INT(s->n_tempos, 2);
    if (s->n_tempos == 2) {
        CHECK_INT(s->tempos[0].usec_per_quarter, 500000);
        CHECK_INT(s->tempos[1].tick, 480);
        CHECK_INT(s->tempos[1].usec_per_quarter, 600000);
    }
    CHECK_INT(s->n_timesigs, 2);
    if (s->n_timesigs == 2) {
        CHECK_INT(s->timesigs[0].num, 3);
        CHECK_INT(s->timesigs[0].den, 4);
        CHECK_INT(s->timesigs[1].num, 6);
        CHECK_INT(s->timesigs[1].den, 8);
    }
    CHECK_INT(s->n_keysigs, 2);
    if (s->n_keysigs == 2) {
        CHECK_INT(s->keysigs[0].fifths, -3);
        CHECK_INT(s->keysigs[0].mode, TX_MODE_MINOR);
        CHECK_INT(s->keysigs[1].fifths, 2);
        CHECK_INT(s->keysigs[1].mode, TX_MODE_MAJOR);
    }
    /* texts: copyright and marker from the conductor (whole score), lyric, instrument, cue on track 0 */
    CHECK_INT(s->n_texts, 5);
    int seen = 0;
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *t = &s->texts[i];
        if (t->kind == TX_TEXT_COPYRIGHT && !strcmp(t->text, "(c) nobody") && t->track == -1)
            seen |= 1;
        if (t->kind == TX_TEXT_MARKER && !strcmp(t->text, "Intro") && t->track == -1)
            seen |= 2;
        if (t->kind == TX_TEXT_LYRIC && !strcmp(t->text, "la") && t->track == 0)
            seen |= 4;
        if (t->kind == TX_TEXT_INSTRUMENT && !strcmp(t->text, "Grand") && t->track == 0)
            seen |= 8;
        if (t->kind == TX_TEXT_CUE && !strcmp(t->text, "cue!") && t->track == 0)
            seen |= 16;
    }
    CHECK_INT(seen, 31);
    CHECK_INT(tx_score_check(s, &err), TX_OK);
    tx_score_free(s);
}

/* One chunk with three channels and two programs on one channel: tracks in (channel, program)
 * order, each named after the chunk, programs taken when the note ends (as symusic does). */
static void test_track_split(void)
{
    smf m;
    header(&m, 0, 1, 100);
    track(&m);
    meta_text(&m, 0, 0x03, "first");
    on(&m, 0, 3, 50, 10);    /* channel 3, program 0: ends first, but its track comes last */
    prog(&m, 0, 1, 7);
    on(&m, 0, 1, 60, 20);    /* channel 1, program 7 */
    off(&m, 5, 3, 50);
    off(&m, 5, 1, 60);
    prog(&m, 0, 1, 2);
    on(&m, 0, 1, 61, 30);    /* channel 1, program 2 */
    prog(&m, 5, 1, 9);
    off(&m, 5, 1, 61);       /* ends under program 9: goes to (1, 9) */
    meta_text(&m, 0, 0x03, "last name wins");
    end_track(&m, 0);
    tx_score *s;
    tx_error err;
    CHECK_INT(rd(&m, &s, NULL, &err), TX_OK);
    if (!s)
        return;
    REQUIRE_COUNT(s, n_tracks, 3);
    CHECK_INT(s->tracks[0].channel, 1);
    CHECK_INT(s->tracks[0].program, 7);
    CHECK_INT(s->tracks[1].channel, 1);
    CHECK_INT(s->tracks[1].program, 9);
    CHECK_INT(s->tracks[2].channel, 3);
    CHECK_INT(s->tracks[2].program, 0);
    CHECK_STR(s->tracks[0].name, "last name wins");
    CHECK_STR(s->tracks[2].name, "last name wins");
    CHECK(has_note(s, 0, 10, 60, 20, 0));
    CHECK(has_note(s, 10, 10, 61, 30, 1));
    CHECK(has_note(s, 0, 5, 50, 10, 2));
    tx_score_free(s);
}

static void test_fifo_pairing(void)
{
    smf m;
    header(&m, 0, 1, 480);
    track(&m);
    on(&m, 0, 0, 60, 50);
    on(&m, 10, 0, 60, 60);
    on(&m, 10, 0, 60, 70);
    off(&m, 10, 0, 60);       /* 30: ends the first (onset 0) */
    off(&m, 10, 0, 60);       /* 40: ends the second (onset 10) */
    off(&m, 10, 0, 60);       /* 50: ends the third (onset 20) */
    off(&m, 10, 0, 60);       /* 60: nothing sounding: ignored */
    on(&m, 0, 0, 62, 1);      /* zero-length note */
    off(&m, 0, 0, 62);
    end_track(&m, 0);
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (!s)
        return;
    CHECK_INT(s->n_notes, 4);
    CHECK(has_note(s, 0, 30, 60, 50, 0));
    CHECK(has_note(s, 10, 30, 60, 60, 0));
    CHECK(has_note(s, 20, 30, 60, 70, 0));
    CHECK(has_note(s, 60, 0, 62, 1, 0));
    CHECK(info.warnings & TX_MIDI_WARN_STRAY_OFF);
    CHECK(!(info.warnings & TX_MIDI_WARN_OPEN_NOTES));
    tx_score_free(s);
}

/* Notes still sounding at the end of a chunk end at its end-of-track; pairing starts afresh in the
 * next chunk (a note-off there does not end a note of the previous chunk). */
static void test_unterminated(void)
{
    smf m;
    header(&m, 1, 2, 480);
    track(&m);
    on(&m, 0, 0, 60, 100);
    on(&m, 0, 0, 60, 90);
    on(&m, 100, 2, 72, 80);
    end_track(&m, 150);   /* end at 250 */
    track(&m);
    off(&m, 5, 0, 60);
    on(&m, 0, 0, 61, 40);
    end_track(&m, -1);    /* no end-of-track: ends at its last event, 5 */
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (!s)
        return;
    CHECK_INT(s->n_tracks, 3);
    CHECK_INT(s->n_notes, 4);
    CHECK(has_note(s, 0, 250, 60, 100, 0));
    CHECK(has_note(s, 0, 250, 60, 90, 0));
    CHECK(has_note(s, 100, 150, 72, 80, 1));
    CHECK(has_note(s, 5, 0, 61, 40, 2));
    CHECK(info.warnings & TX_MIDI_WARN_OPEN_NOTES);
    CHECK(info.warnings & TX_MIDI_WARN_STRAY_OFF);
    CHECK(info.warnings & TX_MIDI_WARN_NO_EOT);
    tx_score_free(s);
}

/* Notes come in canonical order; seq keeps note-on order over the whole file. */
static void test_seq(void)
{
    smf m;
    header(&m, 1, 2, 480);
    track(&m);
    on(&m, 0, 0, 67, 100);   /* seq 0 */
    on(&m, 0, 0, 60, 100);   /* seq 1 */
    off(&m, 10, 0, 60);
    off(&m, 0, 0, 67);
    end_track(&m, 0);
    track(&m);
    on(&m, 0, 1, 50, 100);   /* seq 2 */
    off(&m, 10, 1, 50);
    end_track(&m, 0);
    tx_score *s;
    tx_error err;
    CHECK_INT(rd(&m, &s, NULL, &err), TX_OK);
    if (!s)
        return;
    REQUIRE_COUNT(s, n_notes, 3);
    CHECK_INT(s->notes[0].pitch, 50);
    CHECK_INT(s->notes[0].seq, 2);
    CHECK_INT(s->notes[1].pitch, 60);
    CHECK_INT(s->notes[1].seq, 1);
    CHECK_INT(s->notes[2].pitch, 67);
    CHECK_INT(s->notes[2].seq, 0);
    CHECK_INT(tx_score_check(s, &err), TX_OK);
    tx_score_free(s);
}

/* A 4-byte delta time (the largest legal) and many events: ticks add up in 64 bits. */
static void test_long_deltas(void)
{
    smf m;
    header(&m, 0, 1, 480);
    track(&m);
    for (int i = 0; i < 20; i++) {
        on(&m, 0x0fffffff, 0, 60, 100);
        off(&m, 1, 0, 60);
    }
    end_track(&m, 0);
    tx_score *s;
    tx_error err;
    CHECK_INT(rd(&m, &s, NULL, &err), TX_OK);
    if (!s)
        return;
    REQUIRE_COUNT(s, n_notes, 20);
    CHECK_INT(s->notes[19].onset, 20 * (int64_t)0x0fffffff + 19);
    CHECK_INT(s->notes[19].duration, 1);
    tx_score_free(s);
}

/* Tolerated: unknown chunks, a wrong track count, trailing garbage, bytes after end-of-track, a
 * header longer than 6, a RIFF wrapper. */
static void test_tolerated(void)
{
    smf m;
    tx_score *s;
    tx_midi_info info;
    tx_error err;

    /* header length 8, an unknown chunk, a track count of 5 for 1 chunk, trailing garbage */
    m.n = 0;
    B(&m, 'M', 'T', 'h', 'd', 0, 0, 0, 8, 0, 1, 0, 5, 0x01, 0xe0, 0xaa, 0xbb);
    B(&m, 'X', 'F', 'I', 'H', 0, 0, 0, 3, 1, 2, 3);
    track(&m);
    on(&m, 0, 0, 60, 100);
    off(&m, 10, 0, 60);
    end_track(&m, 0);
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (s) {
        CHECK_INT(s->tpq, 480);
        CHECK_INT(s->n_notes, 1);
        CHECK_INT(info.n_chunks, 1);
        CHECK_INT(info.n_announced, 5);
        CHECK(info.warnings & TX_MIDI_WARN_TRACK_COUNT);
        CHECK(!(info.warnings & TX_MIDI_WARN_TRAILING));
        tx_score_free(s);
    }
    /* ... but while announced chunks are missing, a partial chunk header is a truncation */
    B(&m, 0xaa, 0x55, 0x00);
    CHECK_INT(rd(&m, &s, &info, &err), TX_EMIDI);
    CHECK(strstr(err.msg, "file ends inside a chunk header (3 bytes left)") != NULL);

    /* the right track count and a few bytes of garbage after the last chunk */
    m.d[11] = 1;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (s) {
        CHECK_INT(s->n_notes, 1);
        CHECK_INT(info.warnings, TX_MIDI_WARN_TRAILING);
        tx_score_free(s);
    }

    /* all chunks read: more chunks than announced; a broken chunk after them is garbage */
    header(&m, 1, 1, 480);
    track(&m);
    on(&m, 0, 0, 60, 100);
    off(&m, 10, 0, 60);
    end_track(&m, 0);
    track(&m);
    on(&m, 0, 1, 62, 100);
    off(&m, 10, 1, 62);
    end_track(&m, 0);
    B(&m, 'M', 'T', 'r', 'k', 0, 0, 0x10, 0, 1, 2);   /* runs past the end */
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (s) {
        CHECK_INT(s->n_notes, 2);
        CHECK_INT(info.n_chunks, 2);
        CHECK(info.warnings & TX_MIDI_WARN_TRACK_COUNT);
        CHECK(info.warnings & TX_MIDI_WARN_TRAILING);
        tx_score_free(s);
    }

    /* bytes after end-of-track inside the chunk are ignored, even invalid ones */
    header(&m, 0, 1, 480);
    track(&m);
    on(&m, 0, 0, 60, 100);
    off(&m, 10, 0, 60);
    B(&m, 0x00, 0xff, 0x2f, 0x00, 0xf4, 0xf4, 0xff);
    end_track(&m, -1);
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (s) {
        CHECK_INT(s->n_notes, 1);
        CHECK(info.warnings & TX_MIDI_WARN_AFTER_EOT);
        tx_score_free(s);
    }

    /* RIFF RMID wrapper: an info chunk first, then the SMF in "data"; error offsets count from the
     * start of the RIFF file */
    smf inner;
    header(&inner, 0, 1, 480);
    track(&inner);
    on(&inner, 0, 0, 60, 100);
    off(&inner, 10, 0, 60);
    end_track(&inner, 0);
    m.n = 0;
    uint32_t total = (uint32_t)(4 + 8 + 3 + 1 + 8 + inner.n);
    B(&m, 'R', 'I', 'F', 'F', (uint8_t)total, (uint8_t)(total >> 8), 0, 0, 'R', 'M', 'I', 'D');
    B(&m, 'L', 'I', 'S', 'T', 3, 0, 0, 0, 'a', 'b', 'c', 0);   /* odd length, padded */
    B(&m, 'd', 'a', 't', 'a', (uint8_t)inner.n, (uint8_t)(inner.n >> 8), 0, 0);
    size_t smf_at = m.n;
    put(&m, inner.d, inner.n);
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    if (s) {
        CHECK_INT(s->n_notes, 1);
        CHECK(info.warnings & TX_MIDI_WARN_RIFF);
        tx_score_free(s);
    }
    m.d[smf_at + 12] = 0;   /* division 0 inside the wrapper */
    m.d[smf_at + 13] = 0;
    CHECK_INT(rd(&m, &s, NULL, &err), TX_EMIDI);
    CHECK_INT(err.offset, (long)smf_at + 12);
}

/* ---- bad input ---- */

/* Expects failure with `code`, a message that names t.mid and contains `what`, and the place. */
static void expect_fail(const smf *m, int code, const char *what, int track, long offset)
{
    tx_score *s = (tx_score *)&s;   /* must be reset to NULL */
    tx_error err;
    tx_midi_info info;
    int rc = rd(m, &s, &info, &err);
    CHECK_INT(rc, code);
    CHECK(s == NULL);
    CHECK_INT(err.code, code);
    CHECK(strncmp(err.msg, "t.mid: ", 7) == 0);
    if (!strstr(err.msg, what)) {
        tx_test_failed++;
        fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", tx_test_current, err.msg, what);
    } else {
        tx_test_passed++;
    }
    CHECK_INT(err.track, track);
    if (offset >= 0)
        CHECK_INT(err.offset, offset);
}

/* A one-chunk type 0 file whose chunk holds the given event bytes (no end-of-track added). */
static void one_chunk(smf *m, const uint8_t *ev, size_t n)
{
    header(m, 0, 1, 480);
    track(m);
    put(m, ev, n);
    end_track(m, -1);
}

#define EVENTS(m, ...) one_chunk((m), (const uint8_t[]){__VA_ARGS__}, \
                                 sizeof((const uint8_t[]){__VA_ARGS__}))

/* Byte offset of event byte i in a one_chunk file: 14 header bytes, 8 chunk header bytes. */
#define EV(i) (22 + (i))

static void test_bad_header(void)
{
    smf m;
    m.n = 0;
    expect_fail(&m, TX_EMIDI, "empty file", -1, 0);
    B(&m, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n', 0, 0, 0, 0);
    expect_fail(&m, TX_EMIDI, "not a MIDI file", -1, 0);
    m.n = 0;
    B(&m, 'M', 'T');
    expect_fail(&m, TX_EMIDI, "not a MIDI file", -1, 0);
    header(&m, 0, 1, 0);
    track(&m);
    end_track(&m, 0);
    expect_fail(&m, TX_EMIDI, "time division of 0", -1, 12);
    header(&m, 0, 1, 0xe728);   /* -25 fps, 40 ticks per frame */
    track(&m);
    end_track(&m, 0);
    expect_fail(&m, TX_EUNSUP, "SMPTE time division (25 frames per second, 40 ticks per frame)", -1, 12);
    header(&m, 2, 1, 480);
    track(&m);
    end_track(&m, 0);
    expect_fail(&m, TX_EUNSUP, "SMF type 2", -1, 8);
    header(&m, 7, 1, 480);
    expect_fail(&m, TX_EMIDI, "unknown SMF type 7", -1, 8);
    header(&m, 0, 1, 480);
    m.d[7] = 5;
    expect_fail(&m, TX_EMIDI, "header length 5", -1, 4);
    header(&m, 0, 1, 480);
    m.d[4] = 0x7f;
    expect_fail(&m, TX_EMIDI, "runs past the end of the file", -1, 4);
    header(&m, 0, 1, 480);
    expect_fail(&m, TX_EMIDI, "file ends before its first track chunk", -1, 14);
    /* a chunk length beyond the file */
    header(&m, 1, 2, 480);
    track(&m);
    end_track(&m, 0);
    B(&m, 'M', 'T', 'r', 'k', 0x7f, 0xff, 0xff, 0xff, 0, 0xff, 0x2f, 0);
    expect_fail(&m, TX_EMIDI, "chunk length 2147483647 runs past the end of the file (4 bytes left)", 1,
                (long)m.n - 8);
    /* a header announcing 65535 chunks and holding one: tolerated */
    header(&m, 1, 65535, 480);
    track(&m);
    end_track(&m, 0);
    tx_score *s;
    tx_midi_info info;
    tx_error err;
    CHECK_INT(rd(&m, &s, &info, &err), TX_OK);
    CHECK_INT(info.n_announced, 65535);
    CHECK(info.warnings & TX_MIDI_WARN_TRACK_COUNT);
    tx_score_free(s);
}

static void test_too_many_chunks(void)
{
    static smf big;   /* 4097 empty chunks: 4097 * 12 bytes does not fit the usual buffer */
    static uint8_t bytes[14 + 12 * (TX_MIDI_MAX_TRACKS + 1)];
    header(&big, 1, TX_MIDI_MAX_TRACKS + 1, 480);
    memcpy(bytes, big.d, 14);
    size_t n = 14;
    for (int i = 0; i <= TX_MIDI_MAX_TRACKS; i++) {
        memcpy(bytes + n, "MTrk\0\0\0\4\0\xff\x2f\0", 12);
        n += 12;
    }
    tx_score *s;
    tx_error err;
    CHECK_INT(tx_midi_read(bytes, n, "t.mid", &s, NULL, &err), TX_ELIMIT);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "more than 4096 track chunks") != NULL);
    CHECK_INT(tx_midi_read(bytes, n - 12, "t.mid", &s, NULL, &err), TX_OK);
    tx_score_free(s);
}

static void test_bad_events(void)
{
    smf m;
    EVENTS(&m, 0x00, 0x3c, 0x40);
    expect_fail(&m, TX_EMIDI, "running status without a previous status byte", 0, EV(1));
    {
        tx_score *s;
        tx_error err;
        rd(&m, &s, NULL, &err);
        CHECK_STR(err.msg, "t.mid: track 0, byte 23: running status without a previous status byte");
    }
    EVENTS(&m, 0x00, 0xf4);
    expect_fail(&m, TX_EMIDI, "illegal status byte 0xF4", 0, EV(1));
    EVENTS(&m, 0x00, 0xf8);
    expect_fail(&m, TX_EMIDI, "illegal status byte 0xF8", 0, EV(1));
    EVENTS(&m, 0x00, 0x90, 0x3c, 0x40, 0x81, 0x82, 0x83, 0x84, 0x05, 0x80, 0x3c, 0);
    expect_fail(&m, TX_EMIDI, "variable-length quantity longer than 4 bytes", 0, EV(4));
    EVENTS(&m, 0x00, 0x90, 0x3c, 0x40, 0x81, 0x82);
    expect_fail(&m, TX_EMIDI, "variable-length quantity runs past the end of the track chunk", 0, EV(4));
    EVENTS(&m, 0x00, 0x90, 0x3c, 0x90);
    expect_fail(&m, TX_EMIDI, "status byte 0x90 where a data byte of a note-on event is needed", 0, EV(3));
    EVENTS(&m, 0x00, 0xc0, 0xff);
    expect_fail(&m, TX_EMIDI, "status byte 0xFF where a data byte of a program change", 0, EV(2));
    EVENTS(&m, 0x00, 0x90, 0x3c);
    expect_fail(&m, TX_EMIDI, "note-on event runs past the end of the track chunk", 0, EV(1));
    EVENTS(&m, 0x00, 0xff, 0x03, 0x10, 'a', 'b');
    expect_fail(&m, TX_EMIDI, "meta event length 16 runs past the end of the track chunk (2 bytes left)",
                0, EV(1));
    EVENTS(&m, 0x00, 0xff, 0x03, 0x8f, 0xff, 0xff, 0x7f);
    expect_fail(&m, TX_EMIDI, "meta event length 33554431 runs past", 0, EV(1));
    EVENTS(&m, 0x00, 0xff);
    expect_fail(&m, TX_EMIDI, "meta event runs past the end of the track chunk", 0, EV(1));
    EVENTS(&m, 0x00, 0xf0, 0x05, 1, 2);
    expect_fail(&m, TX_EMIDI, "sysex length 5 runs past", 0, EV(1));
    EVENTS(&m, 0x00, 0x90, 0x3c, 0x40, 0x10);
    expect_fail(&m, TX_EMIDI, "event runs past the end of the track chunk", 0, EV(4));
    /* the error names the right chunk in a later track */
    header(&m, 1, 2, 480);
    track(&m);
    end_track(&m, 0);
    track(&m);
    on(&m, 0, 0, 60, 100);
    B(&m, 0x00, 0xf5);
    end_track(&m, 0);
    expect_fail(&m, TX_EMIDI, "t.mid: track 1, byte 39: illegal status byte 0xF5", 1, 39);
}

/* Every prefix of a valid file fails cleanly, except those that end exactly at a chunk boundary
 * (accepted with fewer chunks and a warning, as lenient readers do). */
static void test_truncated_everywhere(void)
{
    uint8_t *data;
    size_t len;
    tx_error err;
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/midi/pop909-098.mid", TX_SOURCE_ROOT);
    if (tx_read_file(path, 1 << 20, &data, &len, &err)) {
        CHECK(!"fixture pop909-098.mid missing");
        return;
    }
    int failures = 0, accepted = 0;
    for (size_t n = 0; n < len; n++) {
        /* a fresh copy of exactly n bytes, so AddressSanitizer sees any read past it */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        tx_score *s = NULL;
        tx_midi_info info;
        int rc = tx_midi_read(copy, n, "t.mid", &s, &info, &err);
        if (rc == TX_OK) {
            accepted++;
            if (!(info.warnings & TX_MIDI_WARN_TRACK_COUNT) || info.n_chunks >= 4)
                failures++;
            tx_score_free(s);
        } else if (rc != TX_EMIDI || s || strncmp(err.msg, "t.mid: ", 7) || err.offset < 0 ||
                   (size_t)err.offset > n) {
            failures++;
        }
        free(copy);
    }
    CHECK_INT(failures, 0);
    CHECK_INT(accepted, 3);   /* after chunks 1, 2 and 3 of 4 */
    tx_free(data);
}

/* Random byte flips of a valid file: no crash, and a success is a valid score. */
static void test_corrupted(void)
{
    uint8_t *data;
    size_t len;
    tx_error err;
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/midi/pop909-331.mid", TX_SOURCE_ROOT);
    if (tx_read_file(path, 1 << 20, &data, &len, &err)) {
        CHECK(!"fixture pop909-331.mid missing");
        return;
    }
    uint32_t seed = 12345;
    int bad = 0;
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 2000; round++) {
        memcpy(copy, data, len);
        int flips = 1 + round % 4;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (uint8_t)(seed >> 16);
        }
        tx_score *s;
        int rc = tx_midi_read(copy, len, "t.mid", &s, NULL, &err);
        if (rc == TX_OK) {
            if (tx_score_check(s, &err))
                bad++;
            tx_score_free(s);
        } else if (s || err.code != rc || strncmp(err.msg, "t.mid: ", 7)) {
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    free(copy);
    tx_free(data);
}

/* ---- out of memory ---- */

static void test_out_of_memory(void)
{
    smf m;
    header(&m, 1, 2, 480);
    track(&m);
    meta_text(&m, 0, 0x03, "x");
    B(&m, 0x00, 0xff, 0x51, 0x03, 0x07, 0xa1, 0x20);
    meta_text(&m, 0, 0x06, "marker");
    end_track(&m, 0);
    track(&m);
    meta_text(&m, 0, 0x03, "notes");
    for (int i = 0; i < 40; i++)
        on(&m, 1, i % 3, 40 + i, 100);
    for (int i = 0; i < 30; i++)
        off(&m, 1, i % 3, 40 + i);
    end_track(&m, 0);
    int ok = 0, leaks = 0, wrong = 0;
    for (long budget = 0; budget < 200 && !ok; budget++) {
        tx_test_alloc_begin(budget);
        tx_score *s;
        tx_error err;
        int rc = rd(&m, &s, NULL, &err);
        if (rc == TX_OK) {
            ok = 1;
            if (s->n_notes != 40)
                wrong++;
            tx_score_free(s);
        } else if (rc != TX_ENOMEM || s) {
            wrong++;
        }
        if (tx_test_alloc_end() != 0)
            leaks++;
    }
    CHECK(ok);
    CHECK_INT(leaks, 0);
    CHECK_INT(wrong, 0);
}

int main(void)
{
    RUN(test_type0_notes);
    RUN(test_title);
    RUN(test_running_status_and_vel0);
    RUN(test_type1_maps_and_texts);
    RUN(test_track_split);
    RUN(test_fifo_pairing);
    RUN(test_unterminated);
    RUN(test_seq);
    RUN(test_long_deltas);
    RUN(test_tolerated);
    RUN(test_bad_header);
    RUN(test_too_many_chunks);
    RUN(test_bad_events);
    RUN(test_truncated_everywhere);
    RUN(test_corrupted);
    RUN(test_out_of_memory);
    return tx_test_finish();
}
