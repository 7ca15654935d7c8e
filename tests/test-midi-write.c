/* test-midi-write.c: the MIDI writer (tx_midi_write_file through libsmf).
 *
 * Hand-built scores are written, then looked at two ways: parsed with libsmf, to check the events and
 * their order as libsmf itself sees them (conductor track, names, program changes, channels, the order
 * of note-offs and note-ons at one tick), and read back with tactus's reader, to check that the score
 * survives (tx_score_diff, plus texts). Also: the atomic write (a missing folder, a failed write over
 * an existing file, a folder as the target), out of memory at every allocation, checks of values that
 * libsmf would assert on or cannot save (long texts), the libsmf log capture and the glue's own event
 * checks, and the channel assignment. This file does not cover the reader's handling of bad
 * input (test-midi.c) or whole corpora (test-midi-corpus.c).
 */
#include "harness.h"
#include "midi.h"
#include "sanitizer.h"
#include "smf-glue-priv.h"

#include <dirent.h>
#include <smf.h>
#include <sys/stat.h>
#include <unistd.h>

/* libsmf grows its output buffer with one realloc per event, and under AddressSanitizer every
 * realloc moves the block: writing is quadratic there (a 20,000-note score takes 40 s instead of
 * 0.1 s). The big cases are scaled down in sanitizer builds (TX_TEST_SANITIZED, sanitizer.h). */

/* ---- a scratch folder under the test's working directory ---- */

static char scratch[256];

static void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "midiw-test-XXXXXX");
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "cannot make a scratch folder\n");
        exit(1);
    }
}

static const char *in_scratch(const char *name)
{
    static char path[4][512];
    static int turn;
    char *p = path[turn++ & 3];
    snprintf(p, sizeof path[0], "%s/%s", scratch, name);
    return p;
}

/* Number of entries in a folder (without . and ..), and whether one holds ".tmp." in its name. */
static int count_entries(const char *dir, int *tmp_found)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (tmp_found)
        *tmp_found = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        if (tmp_found && strstr(e->d_name, ".tmp."))
            *tmp_found = 1;
    }
    closedir(d);
    return n;
}

static void remove_scratch(void)
{
    DIR *d = opendir(scratch);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", scratch, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(scratch);
}

/* ---- what libsmf sees ---- */

static smf_t *load_with_libsmf(const char *path)
{
    tx_smf_log log;
    tx_smf_log_begin(&log);
    smf_t *smf = smf_load(path);
    tx_smf_log_end(&log);
    CHECK(smf != NULL);
    CHECK_INT(log.n_critical, 0);
    if (log.n_messages)
        fprintf(stderr, "libsmf said: %s\n", log.first);
    return smf;
}

/* Track `n` (1-based) of smf as "tick:HEX tick:HEX ..." (end of track included). */
static const char *dump_track(smf_t *smf, int n)
{
    static tx_buf b;
    tx_buf_reset(&b);
    tx_buf_puts(&b, "");
    smf_track_t *t = smf_get_track_by_number(smf, n);
    if (!t)
        return "(no such track)";
    for (int i = 1; i <= t->number_of_events; i++) {
        smf_event_t *e = smf_track_get_event_by_number(t, i);
        tx_buf_printf(&b, "%s%d:", i > 1 ? " " : "", e->time_pulses);
        for (int j = 0; j < e->midi_buffer_length; j++)
            tx_buf_printf(&b, "%02X", e->midi_buffer[j]);
    }
    return b.data;
}

/* ---- building scores ---- */

static tx_score *base_score(int tpq)
{
    tx_score *s = tx_score_new(tpq);
    CHECK(s != NULL);
    return s;
}

/* Reads path back with tactus's reader; NULL (and a failed check) when it fails. */
static tx_score *read_back(const char *path)
{
    tx_score *r = NULL;
    tx_midi_info info;
    tx_error err;
    tx_error_clear(&err);
    int rc = tx_midi_read_file(path, &r, &info, &err);
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "  reader: %s\n", err.msg);
        return NULL;
    }
    CHECK_INT(info.format, 1);
    CHECK_INT(info.warnings, 0);   /* a written file needs no leniency */
    return r;
}

/* Writes s, reads it back and compares: the same score (tx_score_diff) and the same texts. */
static void round_trip(const tx_score *s, const char *name)
{
    const char *path = in_scratch(name);
    tx_error err;
    tx_error_clear(&err);
    int rc = tx_midi_write_file(s, path, &err);
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "  writer: %s\n", err.msg);
        return;
    }
    tx_score *r = read_back(path);
    if (!r)
        return;
    tx_buf why = TX_BUF_INIT;
    int d = tx_score_diff(s, r, &why);
    CHECK_INT(d, 0);
    if (d)
        fprintf(stderr, "  %s: %s\n", name, why.data);
    tx_buf_free(&why);
    CHECK_INT(r->n_texts, s->n_texts);
    for (size_t i = 0; i < s->n_texts && i < r->n_texts; i++) {
        CHECK_INT(r->texts[i].tick, s->texts[i].tick);
        CHECK_INT(r->texts[i].track, s->texts[i].track);
        CHECK_INT(r->texts[i].kind, s->texts[i].kind);
        CHECK_STR(r->texts[i].text, s->texts[i].text);
    }
    tx_score_free(r);
}

/* ---- the tests ---- */

/* The file's layout as libsmf reads it: conductor first, one chunk per track, channels assigned. */
static void test_layout(void)
{
    tx_score *s = base_score(480);
    tx_score_set_meta(s, "title", "Song");
    tx_score_add_track(s, "Piano", 0, 0, 0, NULL);
    tx_score_add_track(s, "Kit", 0, -1, 1, NULL);
    tx_score_add_track(s, "Bass", 33, -1, 0, NULL);
    tx_score_add_tempo(s, 0, 500000);
    tx_score_add_tempo(s, 960, 400000);
    tx_score_add_timesig(s, 0, 3, 4);
    tx_score_add_timesig(s, 1440, 6, 8);
    tx_score_add_keysig(s, 0, -2, TX_MODE_MINOR);
    tx_score_add_text(s, 0, -1, TX_TEXT_MARKER, "A");
    tx_score_add_text(s, 480, 0, TX_TEXT_LYRIC, "la");
    tx_score_add_note(s, 0, 480, 60, 100, 0, 0);
    tx_score_add_note(s, 0, 240, 36, 90, 1, 0);
    tx_score_add_note(s, 480, 960, 40, 80, 2, 0);
    CHECK_INT(tx_score_sort(s), TX_OK);
    const char *path = in_scratch("layout.mid");
    tx_error err;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_OK);

    smf_t *smf = load_with_libsmf(path);
    if (smf) {
        CHECK_INT(smf->format, 1);
        CHECK_INT(smf->ppqn, 480);
        CHECK_INT(smf->number_of_tracks, 4);
        /* name, then tempo, time signature, key signature, marker at 0; tempo at 960; 6/8 at 1440 */
        CHECK_STR(dump_track(smf, 1), "0:FF0304536F6E67 0:FF510307A120 0:FF580403021808 "
                  "0:FF5902FE01 0:FF060141 960:FF5103061A80 1440:FF580406030C08 1440:FF2F00");
        CHECK_STR(dump_track(smf, 2), "0:FF03055069616E6F 0:C000 0:903C64 480:FF05026C61 480:803C40 "
                  "480:FF2F00");
        CHECK_STR(dump_track(smf, 3), "0:FF03034B6974 0:C900 0:99245A 240:892440 240:FF2F00");
        CHECK_STR(dump_track(smf, 4), "0:FF030442617373 0:C121 480:912850 1440:812840 1440:FF2F00");
        /* libsmf's own tempo map agrees: 120 bpm, then 150 bpm from tick 960 */
        smf_tempo_t *t0 = smf_get_tempo_by_pulses(smf, 1);
        smf_tempo_t *t1 = smf_get_tempo_by_pulses(smf, 1000);
        CHECK(t0 && t0->microseconds_per_quarter_note == 500000);
        CHECK(t1 && t1->microseconds_per_quarter_note == 400000);
        CHECK_NEAR(smf_get_length_seconds(smf), 2 * 0.5 + 480 / 480.0 * 0.4, 1e-9);
        tx_smf_delete_fast(smf);
    }
    tx_score_free(s);
}

/* Event order at one tick: the reader's FIFO pairing must get back exactly these notes. */
static void test_order_at_one_tick(void)
{
    tx_score *s = base_score(480);
    tx_score_add_track(s, "", 5, 3, 0, NULL);
    tx_score_add_note(s, 0, 0, 60, 10, 0, 0);      /* zero-length, with a longer note at the same tick */
    tx_score_add_note(s, 0, 480, 60, 20, 0, 0);
    tx_score_add_note(s, 240, 480, 60, 30, 0, 0);  /* overlaps the previous one: same pitch */
    tx_score_add_note(s, 480, 0, 62, 40, 0, 0);    /* zero-length where another note ends */
    tx_score_add_note(s, 480, 480, 64, 50, 0, 0);
    tx_score_add_note(s, 960, 240, 64, 60, 0, 0);  /* starts where the same pitch ends */
    CHECK_INT(tx_score_sort(s), TX_OK);
    const char *path = in_scratch("order.mid");
    tx_error err;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_OK);
    smf_t *smf = load_with_libsmf(path);
    if (smf) {
        CHECK_STR(dump_track(smf, 1), "0:FF2F00");
        CHECK_STR(dump_track(smf, 2),
                  "0:C305 0:933C0A 0:833C40 0:933C14 240:933C1E 480:833C40 480:933E28 480:833E40 "
                  "480:934032 720:833C40 960:834040 960:93403C 1200:834040 1200:FF2F00");
        tx_smf_delete_fast(smf);
    }
    round_trip(s, "order-rt.mid");
    tx_score_free(s);
}

/* A score with a bit of everything, at several resolutions. */
static tx_score *rich_score(int tpq)
{
    tx_score *s = base_score(tpq);
    tx_score_add_track(s, "Melody", 73, 0, 0, NULL);
    tx_score_add_track(s, "Chords", 0, 1, 0, NULL);
    tx_score_add_track(s, "Drums", 25, 9, 1, NULL);
    tx_score_add_track(s, "Strings", 48, 15, 0, NULL);
    tx_score_add_tempo(s, 0, 600000);
    tx_score_add_tempo(s, 4 * tpq, 450000);
    tx_score_add_tempo(s, 8 * tpq + 1, 0xFFFFFF);
    tx_score_add_timesig(s, 0, 4, 4);
    tx_score_add_timesig(s, 4 * tpq, 7, 8);
    tx_score_add_timesig(s, 8 * tpq, 12, 16);
    tx_score_add_keysig(s, 0, 3, TX_MODE_MAJOR);
    tx_score_add_keysig(s, 4 * tpq, -7, TX_MODE_MINOR);
    tx_score_add_keysig(s, 6 * tpq, 7, TX_MODE_MAJOR);
    tx_score_add_text(s, 0, -1, TX_TEXT_COPYRIGHT, "(c) nobody");
    tx_score_add_text(s, 0, -1, TX_TEXT_MARKER, "Intro");
    tx_score_add_text(s, tpq, 0, TX_TEXT_LYRIC, "hel-");
    tx_score_add_text(s, 2 * tpq, 0, TX_TEXT_LYRIC, "lo");
    tx_score_add_text(s, 0, 1, TX_TEXT_INSTRUMENT, "Rhodes");
    tx_score_add_text(s, 3 * tpq, 3, TX_TEXT_CUE, "tutti");
    tx_score_add_text(s, 5 * tpq, -1, TX_TEXT_TEXT, "127 bytes, the longest text libsmf saves: "
                      "0123456789012345678901234567890123456789012345678901234567890123456789"
                      "012345678901234");
    uint32_t x = 12345;   /* a small deterministic generator */
    for (int i = 0; i < 400; i++) {
        x = x * 1103515245u + 12345u;
        int track = (int)(x >> 8) % 4;
        tx_tick onset = (tx_tick)((x >> 12) % (uint32_t)(12 * tpq));
        tx_tick dur = (tx_tick)((x >> 4) % (uint32_t)(2 * tpq));
        int pitch = 48 + (int)((x >> 20) % 24);
        tx_score_add_note(s, onset, (i % 17) ? dur : 0, pitch, 1 + (int)((x >> 3) % 127), track, 0);
    }
    /* notes at the edges of the ranges */
    tx_score_add_note(s, 0, 1, 0, 1, 0, 0);
    tx_score_add_note(s, 0, 1, 127, 127, 0, 0);
    CHECK_INT(tx_score_sort(s), TX_OK);
    return s;
}

/* Overlapping notes of one pitch written by the generator above may nest (a later note ending
 * first), which FIFO pairing cannot keep; this trims such notes so the score is one MIDI can hold,
 * the way a FIFO reader would produce it. Returns the number of notes it changed. */
static int make_fifo_consistent(tx_score *s)
{
    int changed = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        for (size_t j = i + 1; j < s->n_notes; j++) {
            tx_note *a = &s->notes[i], *b = &s->notes[j];
            if (a->track != b->track || a->pitch != b->pitch)
                continue;
            tx_tick ea = a->onset + a->duration, eb = b->onset + b->duration;
            if (b->onset < ea && eb < ea) {   /* b nests inside a: swap the ends */
                a->duration = eb - a->onset;
                b->duration = ea - b->onset;
                changed++;
            }
        }
    CHECK_INT(tx_score_sort(s), TX_OK);
    return changed;
}

static void test_round_trips(void)
{
    static const int tpqs[] = {96, 480, 960, 1, 32767};
    for (size_t i = 0; i < sizeof tpqs / sizeof *tpqs; i++) {
        tx_score *s = rich_score(tpqs[i]);
        /* repeat until stable: a swap can create a new nesting with a third note */
        for (int k = 0; k < 50 && make_fifo_consistent(s); k++)
            ;
        char name[64];
        snprintf(name, sizeof name, "rich-%d.mid", tpqs[i]);
        round_trip(s, name);
        tx_score_free(s);
    }
}

/* Empty score: a conductor chunk only. A score of zero-length notes only. */
static void test_small_scores(void)
{
    tx_score *s = base_score(480);
    round_trip(s, "empty.mid");
    smf_t *smf = load_with_libsmf(in_scratch("empty.mid"));
    if (smf) {
        CHECK_INT(smf->number_of_tracks, 1);
        CHECK_STR(dump_track(smf, 1), "0:FF2F00");
        tx_smf_delete_fast(smf);
    }
    tx_score_free(s);

    s = base_score(24);
    tx_score_add_track(s, "clicks", 115, 2, 0, NULL);
    for (int i = 0; i < 8; i++)
        tx_score_add_note(s, i * 24, 0, 76, 100, 0, 0);
    tx_score_add_note(s, 0, 0, 76, 100, 0, 0);   /* two zero-length notes at one tick */
    tx_score_sort(s);
    round_trip(s, "zero.mid");
    tx_score_free(s);
}

/* Texts over 127 bytes are cut (libsmf 1.3 cannot save longer meta events), at a UTF-8 boundary. */
static void test_long_texts(void)
{
    char longer[300], utf8[300];
    memset(longer, 'x', 200);
    longer[200] = '\0';
    memset(utf8, 'y', 126);
    memcpy(utf8 + 126, "\xC3\xA9\xC3\xA9", 5);   /* "éé": the first straddles byte 127 */
    tx_score *s = base_score(480);
    tx_score_set_meta(s, "title", longer);
    tx_score_add_track(s, longer, 0, 0, 0, NULL);
    tx_score_add_note(s, 0, 10, 60, 100, 0, 0);
    tx_score_add_text(s, 0, 0, TX_TEXT_LYRIC, longer);
    tx_score_add_text(s, 5, -1, TX_TEXT_TEXT, utf8);
    tx_score_add_text(s, 6, -1, TX_TEXT_TEXT, "");   /* empty: not written */
    tx_score_sort(s);
    const char *path = in_scratch("long.mid");
    tx_error err;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_OK);
    smf_t *smf = load_with_libsmf(path);
    if (smf) {
        smf_event_t *e = smf_track_get_event_by_number(smf_get_track_by_number(smf, 1), 1);
        CHECK_INT(e->midi_buffer_length, 3 + 127);   /* the title */
        CHECK_INT(e->midi_buffer[2], 127);
        tx_smf_delete_fast(smf);
    }
    tx_score *r = read_back(path);
    if (r) {
        CHECK_INT(r->n_tracks, 1);
        CHECK_INT(strlen(r->tracks[0].name), 127);
        CHECK_INT(r->n_texts, 2);
        if (r->n_texts == 2) {
            CHECK_INT(strlen(r->texts[0].text), 127);
            CHECK_INT(r->texts[0].track, 0);
            CHECK_INT(strlen(r->texts[1].text), 126);   /* the é that did not fit is left out whole */
            CHECK(strncmp(r->texts[1].text, utf8, 126) == 0);
        }
        tx_score_free(r);
    }
    tx_score_free(s);
}

/* Channels: -1 gets the lowest unused one, never 9 unless drums; many tracks cycle. */
static void test_channels(void)
{
    tx_score *s = base_score(96);
    tx_score_add_track(s, "a", 1, 0, 0, NULL);
    tx_score_add_track(s, "b", 2, -1, 0, NULL);     /* -> 2: 0 and 1 are taken by a and e */
    tx_score_add_track(s, "c", 3, 9, 0, NULL);      /* not drums: 9 would make it drums -> 3 */
    tx_score_add_track(s, "d", 4, 5, 1, NULL);      /* drums -> 9 */
    tx_score_add_track(s, "e", 5, 1, 0, NULL);      /* explicit: stays 1 */
    for (int i = 0; i < 14; i++)
        tx_score_add_track(s, "", 6, -1, 0, NULL);  /* 4..8, 10..15, then all taken: 0, 1, 2 */
    for (size_t t = 0; t < s->n_tracks; t++)
        tx_score_add_note(s, (tx_tick)t, 10, 60, 100, (int)t, 0);
    tx_score_sort(s);
    const char *path = in_scratch("channels.mid");
    tx_error err;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_OK);
    static const int want[] = {0, 2, 3, 9, 1, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 0, 1, 2};
    CHECK_INT(s->n_tracks, sizeof want / sizeof *want);
    smf_t *smf = load_with_libsmf(path);
    if (smf) {
        CHECK_INT(smf->number_of_tracks, (int)s->n_tracks + 1);
        for (size_t t = 0; t < s->n_tracks && t < sizeof want / sizeof *want; t++) {
            smf_track_t *tr = smf_get_track_by_number(smf, (int)t + 2);
            /* the program change is the first channel event: after the name, when there is one */
            int ch = -1;
            for (int i = 1; tr && i <= tr->number_of_events && ch < 0; i++) {
                smf_event_t *e = smf_track_get_event_by_number(tr, i);
                if ((e->midi_buffer[0] & 0xF0) == 0xC0)
                    ch = e->midi_buffer[0] & 15;
            }
            CHECK_INT(ch, want[t]);
        }
        tx_smf_delete_fast(smf);
    }
    /* read back: each track where the writer put it */
    tx_score *r = read_back(path);
    if (r) {
        CHECK_INT(r->n_tracks, s->n_tracks);
        for (size_t t = 0; t < r->n_tracks && t < sizeof want / sizeof *want; t++) {
            CHECK_INT(r->tracks[t].channel, want[t]);
            CHECK_INT(r->tracks[t].is_drum, want[t] == 9);
            CHECK_INT(r->tracks[t].program, s->tracks[t].program);
        }
        tx_score_free(r);
    }
    tx_score_free(s);
}

/* Values libsmf would assert on, or the SMF format cannot hold, never reach it. */
static void test_refused(void)
{
    const char *path = in_scratch("refused.mid");
    tx_error err;
    tx_score *s = base_score(480);
    tx_score_add_track(s, "x", 0, 0, 0, NULL);
    tx_score_add_note(s, 0, 10, 60, 100, 0, 0);

    tx_score_add_tempo(s, 0, 500000);   /* then spoiled by hand: the builders refuse bad values */
    s->tempos[0].usec_per_quarter = 0;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    s->tempos[0].usec_per_quarter = 0x1000000;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->tempos[0].usec_per_quarter = 500000;

    tx_score_add_timesig(s, 0, 4, 4);
    s->timesigs[0].den = 3;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->timesigs[0].den = 4;
    s->timesigs[0].num = 256;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->timesigs[0].num = 4;

    tx_score_add_keysig(s, 0, 0, TX_MODE_MAJOR);
    s->keysigs[0].fifths = -8;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->keysigs[0].fifths = 0;

    s->notes[0].velocity = 0;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->notes[0].velocity = 100;
    s->notes[0].pitch = 128;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->notes[0].pitch = 60;
    s->notes[0].track = 1;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->notes[0].track = 0;
    s->tracks[0].program = 128;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->tracks[0].program = 0;
    s->tpq = 0;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->tpq = 40000;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_EINVAL);
    s->tpq = 480;

    /* ticks an SMF delta time cannot reach */
    s->notes[0].onset = TX_SMF_MAX_TICK;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_ELIMIT);
    s->notes[0].onset = 0;
    s->notes[0].duration = (tx_tick)1 << 40;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_ELIMIT);
    CHECK(strstr(err.msg, "note 0") != NULL);
    s->notes[0].duration = 10;
    tx_score_add_text(s, (tx_tick)TX_SMF_MAX_TICK + 1, -1, TX_TEXT_TEXT, "late");
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_ELIMIT);
    CHECK(strstr(err.msg, "text 0") != NULL);
    s->n_texts = 0;

    CHECK_INT(tx_midi_write_file(NULL, path, &err), TX_EINVAL);
    CHECK_INT(tx_midi_write_file(s, NULL, &err), TX_EINVAL);

    /* nothing was written by any of the refused calls */
    int tmp;
    CHECK_INT(count_entries(scratch, &tmp) >= 0, 1);
    CHECK(access(path, F_OK) != 0);
    CHECK_INT(tmp, 0);

    /* and the score is fine again */
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_OK);
    tx_score_free(s);
}

/* Too many tracks for the reader's limit. */
static void test_track_limit(void)
{
    tx_score *s = base_score(480);
    for (int i = 0; i < TX_MIDI_MAX_TRACKS; i++)
        tx_score_add_track(s, "", 0, 0, 0, NULL);
    tx_error err;
    const char *path = in_scratch("many.mid");
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_ELIMIT);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    /* the most that fit, with one chunk for the conductor (fewer when sanitized: see the top) */
    s->n_tracks = TX_TEST_SANITIZED ? 300 : TX_MIDI_MAX_TRACKS - 1;
    CHECK_INT(tx_midi_write_file(s, path, &err), TX_OK);
    smf_t *smf = load_with_libsmf(path);
    if (smf) {
        CHECK_INT(smf->number_of_tracks, (int)s->n_tracks + 1);
        tx_smf_delete_fast(smf);
    }
    tx_score_free(s);
}

/* The atomic write: failures leave the target as it was and no temporary file behind. */
static void test_atomic(void)
{
    tx_score *s = base_score(480);
    tx_score_add_track(s, "x", 0, 0, 0, NULL);
    tx_score_add_note(s, 0, 10, 60, 100, 0, 0);
    tx_error err;
    int tmp;
    int before = count_entries(scratch, NULL);

    /* a missing folder: a clean error naming the path, nothing created */
    const char *missing = in_scratch("no-such-folder/out.mid");
    tx_error_clear(&err);
    CHECK_INT(tx_midi_write_file(s, missing, &err), TX_EIO);
    CHECK_INT(err.code, TX_EIO);
    CHECK(strncmp(err.msg, missing, strlen(missing)) == 0);
    CHECK(strstr(err.msg, "No such file") != NULL);
    CHECK_INT(count_entries(scratch, &tmp), before);
    CHECK_INT(tmp, 0);

    /* an existing file survives a failed write untouched */
    const char *target = in_scratch("keep.mid");
    FILE *f = fopen(target, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("precious", f);
        fclose(f);
    }
    before = count_entries(scratch, NULL);
    s->notes[0].velocity = 200;   /* refused */
    CHECK_INT(tx_midi_write_file(s, target, &err), TX_EINVAL);
    s->notes[0].velocity = 100;
    char buf[32] = {0};
    f = fopen(target, "rb");
    if (f) {
        CHECK_INT(fread(buf, 1, sizeof buf - 1, f), 8);
        fclose(f);
    }
    CHECK_STR(buf, "precious");
    CHECK_INT(count_entries(scratch, &tmp), before);
    CHECK_INT(tmp, 0);

    /* a folder as the target: the rename fails, the temporary file goes */
    const char *dir = in_scratch("a-folder");
    CHECK_INT(mkdir(dir, 0777), 0);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/file", dir);   /* a non-empty folder cannot be renamed over */
    f = fopen(inner, "wb");
    if (f)
        fclose(f);
    before = count_entries(scratch, NULL);
    CHECK_INT(tx_midi_write_file(s, dir, &err), TX_EIO);
    CHECK(strncmp(err.msg, dir, strlen(dir)) == 0);
    CHECK_INT(count_entries(scratch, &tmp), before);
    CHECK_INT(tmp, 0);
    unlink(inner);
    rmdir(dir);

    /* success replaces the file, with a new file's usual permissions rather than mkstemp's 0600 */
    CHECK_INT(tx_midi_write_file(s, target, &err), TX_OK);
    struct stat st;
    CHECK_INT(stat(target, &st), 0);
    mode_t um = umask(0);
    umask(um);
    CHECK_INT(st.st_mode & 0777, 0666 & ~um);
    f = fopen(target, "rb");
    if (f) {
        CHECK_INT(fread(buf, 1, 4, f), 4);
        fclose(f);
    }
    CHECK(memcmp(buf, "MThd", 4) == 0);
    tx_score_free(s);
}

/* Out of memory at every allocation the writer makes: TX_ENOMEM naming the file, nothing on disk, no
 * leak (the sanitizer build checks that). libsmf's own allocations do not go through the hook. */
static long oom_budget;

static void *failing_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (oom_budget-- <= 0)
        return NULL;
    return realloc(p, n);
}

static void plain_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static void test_out_of_memory(void)
{
    tx_score *s = rich_score(96);
    tx_score_set_meta(s, "title", "oom");
    const char *path = in_scratch("oom.mid");
    tx_allocator a = {failing_realloc, plain_free, NULL};
    int before = count_entries(scratch, NULL), rc = TX_ENOMEM, failures = 0;
    for (long budget = 0; budget < 10000 && rc != TX_OK; budget++) {
        tx_error err;
        tx_error_clear(&err);
        oom_budget = budget;
        tx_set_allocator(&a);
        rc = tx_midi_write_file(s, path, &err);
        tx_set_allocator(NULL);
        if (rc == TX_OK)
            break;
        failures++;
        CHECK_INT(rc, TX_ENOMEM);
        CHECK(strncmp(err.msg, path, strlen(path)) == 0);
        int tmp;
        CHECK_INT(count_entries(scratch, &tmp), before);
        CHECK_INT(tmp, 0);
    }
    CHECK_INT(rc, TX_OK);
    CHECK(failures >= 5);   /* the writer does allocate: the loop did test something */
    tx_score *r = read_back(path);
    CHECK(r != NULL);
    tx_score_free(r);
    tx_score_free(s);
}

/* libsmf's messages go to the capture that is active, and nowhere else. */
static void test_log_capture(void)
{
    tx_smf_log outer, inner;
    tx_smf_log_begin(&outer);
    tx_smf_log_begin(&inner);
    smf_t *smf = smf_load(in_scratch("does-not-exist.mid"));
    CHECK(smf == NULL);
    tx_smf_log_end(&inner);
    CHECK_INT(inner.n_critical, 1);
    CHECK(strstr(inner.first, "No such file") != NULL);
    CHECK(inner.first[strlen(inner.first) - 1] != '.');
    CHECK_INT(outer.n_messages, 0);
    smf = smf_load(in_scratch("does-not-exist.mid"));
    CHECK(smf == NULL);
    tx_smf_log_end(&outer);
    CHECK_INT(outer.n_critical, 1);
    CHECK_INT(inner.n_critical, 1);
}

/* The glue's own checks: events libsmf would assert on are refused before libsmf sees them. */
static void test_glue_checks(void)
{
    static const uint8_t pool[] = {
        0x90, 60, 100,          /* 0: note-on */
        0x90, 60,               /* 3: short note-on */
        0x90, 0x80, 1,          /* 5: data byte with the high bit */
        0xFF, 0x2F, 0x00,       /* 8: an explicit end of track */
        0xFF, 0x01, 0x05, 'a',  /* 11: meta length disagrees */
        0xF0, 0x01, 0xF7,       /* 15: sysex */
        0x3C,                   /* 18: no status byte */
    };
    struct { size_t off; uint32_t len; } bad[] = {{3, 2}, {5, 3}, {8, 3}, {11, 4}, {15, 3}, {18, 1},
                                                  {0, 0}, {17, 5}};
    tx_smf_writer *w = tx_smf_writer_new(480);
    CHECK(w != NULL);
    if (!w)
        return;
    tx_error err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tx_smf_event ev = {0, bad[i].len, bad[i].off};
        CHECK_INT(tx_smf_writer_add_track(w, &ev, 1, pool, sizeof pool, 0, "glue.mid", &err), TX_EINVAL);
        CHECK(strncmp(err.msg, "glue.mid: track 0", 17) == 0);
    }
    tx_smf_event two[2] = {{10, 3, 0}, {5, 3, 0}};   /* out of order */
    CHECK_INT(tx_smf_writer_add_track(w, two, 2, pool, sizeof pool, 10, "glue.mid", &err), TX_EINVAL);
    two[1].tick = 20;                                /* end of track before the last event */
    CHECK_INT(tx_smf_writer_add_track(w, two, 2, pool, sizeof pool, 19, "glue.mid", &err), TX_EINVAL);
    two[1].tick = TX_SMF_MAX_TICK + 1u;
    CHECK_INT(tx_smf_writer_add_track(w, two, 2, pool, sizeof pool, TX_SMF_MAX_TICK + 1u, "glue.mid",
                                      &err), TX_EINVAL);
    two[1].tick = 20;
    CHECK_INT(tx_smf_writer_add_track(w, two, 2, pool, sizeof pool, 20, "glue.mid", &err), TX_OK);
    const char *path = in_scratch("glue.mid");
    CHECK_INT(tx_smf_writer_save(w, path, "glue.mid", &err), TX_OK);
    /* once saved, a writer takes nothing more (libsmf would assert on a second save after a
     * failed one) */
    CHECK_INT(tx_smf_writer_save(w, path, "glue.mid", &err), TX_EINVAL);
    CHECK_INT(tx_smf_writer_add_track(w, two, 2, pool, sizeof pool, 20, "glue.mid", &err), TX_EINVAL);
    tx_smf_writer_free(w);
    tx_smf_writer_free(NULL);
    CHECK(tx_smf_writer_new(0) == NULL);
    CHECK(tx_smf_writer_new(0x8000) == NULL);
    smf_t *smf = load_with_libsmf(path);
    if (smf) {
        CHECK_INT(smf->number_of_tracks, 1);
        CHECK_STR(dump_track(smf, 1), "10:903C64 20:903C64 20:FF2F00");
        tx_smf_delete_fast(smf);
    }
    unlink(path);
}

/* A bigger score, timed: libsmf's writer is not linear in everything. */
static void test_big(void)
{
    tx_score *s = base_score(480);
    tx_score_add_track(s, "a", 0, 0, 0, NULL);
    tx_score_add_track(s, "b", 0, 1, 0, NULL);
    int n = TX_TEST_SANITIZED ? 2000 : 20000;
    for (int i = 0; i < n; i++)
        tx_score_add_note(s, (tx_tick)i * 60, 90, 40 + i % 40, 64, i & 1, 0);
    for (int i = 0; i < 200; i++)
        tx_score_add_tempo(s, (tx_tick)i * 4000, 400000 + (uint32_t)i);
    tx_score_sort(s);
    round_trip(s, "big.mid");
    tx_score_free(s);
}

int main(void)
{
    make_scratch();
    RUN(test_layout);
    RUN(test_order_at_one_tick);
    RUN(test_round_trips);
    RUN(test_small_scores);
    RUN(test_long_texts);
    RUN(test_channels);
    RUN(test_refused);
    RUN(test_track_limit);
    RUN(test_atomic);
    RUN(test_out_of_memory);
    RUN(test_log_capture);
    RUN(test_glue_checks);
    RUN(test_big);
    remove_scratch();
    return tx_test_finish();
}
