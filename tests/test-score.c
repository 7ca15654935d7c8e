/* test-score.c: the score model: builders and their range checks, canonical order, the tempo map,
 * resampling, the tick-to-bar mapping (pickups, signature changes inside bars), names, comparison,
 * and out-of-memory handling through the allocation hook. */
#include "harness.h"
#include "score.h"

static tx_score *with_track(int tpq)
{
    tx_score *s = tx_score_new(tpq);
    CHECK(s != NULL);
    CHECK_INT(tx_score_add_track(s, "piano", 0, 0, 0, NULL), TX_OK);
    return s;
}

static void test_builders(void)
{
    tx_score *s = tx_score_new(480);
    int idx = -1;
    CHECK_INT(tx_score_add_track(s, "lead", 81, 2, 0, &idx), TX_OK);
    CHECK_INT(idx, 0);
    CHECK_INT(tx_score_add_track(s, NULL, 0, 9, 1, &idx), TX_OK);
    CHECK_INT(idx, 1);
    CHECK_STR(s->tracks[1].name, "");
    CHECK_INT(s->tracks[1].is_drum, 1);
    CHECK_INT(tx_score_add_track(s, "x", 128, 0, 0, NULL), TX_EINVAL);
    CHECK_INT(tx_score_add_track(s, "x", 0, 16, 0, NULL), TX_EINVAL);
    CHECK_INT(tx_score_add_note(s, 0, 480, 60, 100, 0, 0), TX_OK);
    CHECK_INT(tx_score_add_note(s, 0, 480, 128, 100, 0, 0), TX_EINVAL);
    CHECK_INT(tx_score_add_note(s, 0, 480, 60, 0, 0, 0), TX_EINVAL);
    CHECK_INT(tx_score_add_note(s, 0, 480, 60, 100, 2, 0), TX_EINVAL);
    CHECK_INT(tx_score_add_note(s, -1, 480, 60, 100, 0, 0), TX_EINVAL);
    CHECK_INT(tx_score_add_note(s, 0, -1, 60, 100, 0, 0), TX_EINVAL);
    CHECK_INT(tx_score_add_tempo(s, 0, 0), TX_EINVAL);
    CHECK_INT(tx_score_add_tempo(s, 0, 0x1000000), TX_EINVAL);
    CHECK_INT(tx_score_add_timesig(s, 0, 3, 6), TX_EINVAL);
    CHECK_INT(tx_score_add_timesig(s, 0, 0, 4), TX_EINVAL);
    CHECK_INT(tx_score_add_keysig(s, 0, 8, TX_MODE_MAJOR), TX_EINVAL);
    CHECK_INT(tx_score_add_text(s, 0, 5, TX_TEXT_LYRIC, "la"), TX_EINVAL);
    CHECK_INT(tx_score_add_text(s, 0, 1, TX_TEXT_LYRIC, "la"), TX_OK);
    CHECK_INT(tx_score_set_meta(s, "title", "First"), TX_OK);
    CHECK_INT(tx_score_set_meta(s, "title", "Second"), TX_OK);
    CHECK_INT(s->n_meta, 1);
    CHECK_STR(tx_score_meta(s, "title"), "Second");
    CHECK(tx_score_meta(s, "composer") == NULL);
    tx_score_free(s);
    s = tx_score_new(0);
    CHECK_INT(s->tpq, 1);   /* clamped */
    tx_score_free(s);
    tx_score_free(NULL);
}

static void test_sort(void)
{
    tx_score *s = with_track(480);
    tx_score_add_track(s, "b", 0, 1, 0, NULL);
    tx_score_add_note(s, 960, 10, 64, 90, 0, 0);
    tx_score_add_note(s, 0, 10, 67, 90, 0, 0);
    tx_score_add_note(s, 0, 10, 60, 90, 1, 0);
    tx_score_add_note(s, 0, 10, 60, 90, 0, 0);
    tx_score_add_tempo(s, 480, 400000);
    tx_score_add_tempo(s, 0, 500000);
    tx_score_add_tempo(s, 480, 300000);   /* the last at one tick wins */
    tx_score_add_text(s, 10, -1, TX_TEXT_MARKER, "second");
    tx_score_add_text(s, 0, -1, TX_TEXT_MARKER, "first");
    tx_score_add_text(s, 10, -1, TX_TEXT_MARKER, "third");
    CHECK_INT(tx_score_sort(s), TX_OK);
    tx_error err;
    CHECK_INT(tx_score_check(s, &err), TX_OK);
    CHECK_INT(s->notes[0].pitch, 60);
    CHECK_INT(s->notes[0].track, 0);
    CHECK_INT(s->notes[1].pitch, 60);
    CHECK_INT(s->notes[1].track, 1);
    CHECK_INT(s->notes[2].pitch, 67);
    CHECK_INT(s->notes[3].onset, 960);
    CHECK_INT(s->n_tempos, 2);
    CHECK_INT(s->tempos[1].usec_per_quarter, 300000);
    CHECK_STR(s->texts[0].text, "first");
    CHECK_STR(s->texts[1].text, "second");   /* stable at one tick */
    CHECK_STR(s->texts[2].text, "third");
    /* an unsorted score fails the check with a message */
    s->notes[0].onset = 5000;
    CHECK_INT(tx_score_check(s, &err), TX_EINVAL);
    CHECK_STR(err.msg, "note 1 out of order");
    tx_score_free(s);
}

static void test_sort_large(void)
{
    /* a pseudo-random score sorts into nondecreasing (onset, pitch) */
    tx_score *s = with_track(96);
    unsigned x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        tx_score_add_note(s, (x >> 8) % 5000, 1 + (x >> 4) % 50, 21 + (x >> 16) % 88, 64, 0, 0);
    }
    CHECK_INT(tx_score_sort(s), TX_OK);
    int ok = 1;
    for (size_t i = 1; i < s->n_notes; i++)
        if (s->notes[i - 1].onset > s->notes[i].onset ||
            (s->notes[i - 1].onset == s->notes[i].onset && s->notes[i - 1].pitch > s->notes[i].pitch))
            ok = 0;
    CHECK(ok);
    CHECK_INT(s->n_notes, 20000);
    tx_score_free(s);
}

static void test_time(void)
{
    tx_score *s = with_track(480);
    CHECK_NEAR(tx_score_seconds(s, 960), 1.0, 1e-12);   /* 120 bpm by default */
    tx_score_add_tempo(s, 960, 1000000);                 /* 60 bpm from beat 3 */
    tx_score_sort(s);
    CHECK_NEAR(tx_score_seconds(s, 960), 1.0, 1e-12);
    CHECK_NEAR(tx_score_seconds(s, 1440), 2.0, 1e-12);
    CHECK_INT(tx_score_tempo_at(s, 959), 500000);
    CHECK_INT(tx_score_tempo_at(s, 960), 1000000);
    tx_score_add_note(s, 100, 380, 60, 80, 0, 0);
    tx_score_add_note(s, 200, 1, 62, 80, 0, 0);
    tx_score_add_note(s, 300, 0, 64, 80, 0, 0);
    tx_score_sort(s);
    CHECK_INT(tx_score_end_tick(s), 480);
    /* resample 480 -> 96: ticks scale by 1/5, halves away from zero, positive durations keep a tick */
    CHECK_INT(tx_score_resample(s, 96), TX_OK);
    CHECK_INT(s->tpq, 96);
    CHECK_INT(s->notes[0].onset, 20);
    CHECK_INT(s->notes[0].duration, 76);
    CHECK_INT(s->notes[1].onset, 40);
    CHECK_INT(s->notes[1].duration, 1);
    CHECK_INT(s->notes[2].duration, 0);
    CHECK_INT(s->tempos[0].tick, 192);
    CHECK_INT(tx_score_resample(s, 0), TX_EINVAL);
    tx_score_free(s);
    /* 250 -> 100 rounds 5 * 0.4 = 2 exactly; 3 * 0.4 = 1.2 -> 1; 4 * 0.4 = 1.6 -> 2; 5/4 = 1.25 */
    s = with_track(250);
    tx_score_add_note(s, 3, 4, 60, 80, 0, 0);
    tx_score_resample(s, 100);
    CHECK_INT(s->notes[0].onset, 1);
    CHECK_INT(s->notes[0].duration, 2);   /* end 7 -> 2.8 -> 3, minus onset 1 */
    tx_score_free(s);
}

static void expect_pos(const tx_score *s, tx_tick tick, int64_t bar, tx_tick bar_start, int beat,
                       tx_tick beat_offset, int num, int den)
{
    tx_barpos p;
    tx_score_locate(s, tick, &p);
    if (p.bar != bar || p.bar_start != bar_start || p.beat != beat || p.beat_offset != beat_offset ||
        p.num != num || p.den != den) {
        fprintf(stderr, "tick %lld: bar %lld start %lld beat %d+%lld %d/%d; expected bar %lld start %lld "
                "beat %d+%lld %d/%d\n", (long long)tick, (long long)p.bar, (long long)p.bar_start, p.beat,
                (long long)p.beat_offset, p.num, p.den, (long long)bar, (long long)bar_start, beat,
                (long long)beat_offset, num, den);
    }
    CHECK_INT(p.bar, bar);
    CHECK_INT(p.bar_start, bar_start);
    CHECK_INT(p.beat, beat);
    CHECK_INT(p.beat_offset, beat_offset);
    CHECK_INT(p.offset, tick - bar_start);
    CHECK_INT(p.num, num);
    CHECK_INT(p.den, den);
}

static void test_bars_plain(void)
{
    tx_score *s = with_track(480);
    /* no signature: 4/4 */
    expect_pos(s, 0, 0, 0, 0, 0, 4, 4);
    expect_pos(s, 1919, 0, 0, 3, 479, 4, 4);
    expect_pos(s, 1920, 1, 1920, 0, 0, 4, 4);
    /* 3/4 from 0, 6/8 from bar 2 (tick 2880) */
    tx_score_add_timesig(s, 0, 3, 4);
    tx_score_add_timesig(s, 2880, 6, 8);
    tx_score_sort(s);
    expect_pos(s, 1440, 1, 1440, 0, 0, 3, 4);
    expect_pos(s, 2879, 1, 1440, 2, 479, 3, 4);
    expect_pos(s, 2880, 2, 2880, 0, 0, 6, 8);
    expect_pos(s, 2880 + 240 * 5, 2, 2880, 5, 0, 6, 8);
    expect_pos(s, 2880 + 1440, 3, 4320, 0, 0, 6, 8);
    CHECK_INT(tx_score_bar_tick(s, 0), 0);
    CHECK_INT(tx_score_bar_tick(s, 2), 2880);
    CHECK_INT(tx_score_bar_tick(s, 3), 4320);
    CHECK_INT(tx_score_bar_count(s), 0);
    tx_score_add_note(s, 4320, 1440, 60, 80, 0, 0);   /* fills bar 3 exactly */
    tx_score_sort(s);
    CHECK_INT(tx_score_bar_count(s), 4);
    tx_score_free(s);
}

static void test_bars_changes(void)
{
    /* a signature change inside a bar cuts that bar short; the new grid starts at the change */
    tx_score *s = with_track(4);
    tx_score_add_timesig(s, 0, 4, 4);      /* bars of 16 ticks */
    tx_score_add_timesig(s, 24, 2, 4);     /* in the middle of bar 1 */
    tx_score_sort(s);
    expect_pos(s, 16, 1, 16, 0, 0, 4, 4);
    expect_pos(s, 23, 1, 16, 1, 3, 4, 4);
    expect_pos(s, 24, 2, 24, 0, 0, 2, 4);
    expect_pos(s, 32, 3, 32, 0, 0, 2, 4);
    /* a first signature later than 0: 4/4 is implied before it */
    tx_score *t = with_track(4);
    tx_score_add_timesig(t, 40, 3, 8);     /* 2.5 bars of 4/4, then bars of 6 ticks */
    tx_score_sort(t);
    expect_pos(t, 39, 2, 32, 1, 3, 4, 4);
    expect_pos(t, 40, 3, 40, 0, 0, 3, 8);
    expect_pos(t, 46, 4, 46, 0, 0, 3, 8);
    CHECK_INT(tx_score_bar_tick(t, 4), 46);
    tx_score_free(t);
    tx_score_free(s);
}

static void test_bars_pickup(void)
{
    /* 3/4 with a one-beat pickup: bar 0 is the pickup, measured as the last beat of a full bar */
    tx_score *s = with_track(480);
    tx_score_add_timesig(s, 0, 3, 4);
    tx_score_sort(s);
    s->pickup = 480;
    expect_pos(s, 0, 0, -960, 2, 0, 3, 4);
    expect_pos(s, 479, 0, -960, 2, 479, 3, 4);
    expect_pos(s, 480, 1, 480, 0, 0, 3, 4);
    expect_pos(s, 480 + 1440, 2, 1920, 0, 0, 3, 4);
    CHECK_INT(tx_score_bar_tick(s, 1), 480);
    CHECK_INT(tx_score_bar_tick(s, 2), 1920);
    /* a change after the pickup counts on from the bars before it */
    tx_score_add_timesig(s, 1920, 2, 4);
    tx_score_sort(s);
    expect_pos(s, 1920, 2, 1920, 0, 0, 2, 4);
    expect_pos(s, 1920 + 960, 3, 2880, 0, 0, 2, 4);
    tx_score_free(s);
}

static void test_bars_monotonic(void)
{
    /* property: over a map with many changes, bar numbers never go down and never skip */
    tx_score *s = with_track(12);
    unsigned x = 7;
    tx_tick t = 0;
    for (int i = 0; i < 40; i++) {
        x = x * 1103515245u + 12345u;
        static const int dens[] = {2, 4, 8, 16};
        tx_score_add_timesig(s, t, 1 + (int)((x >> 8) % 7), dens[(x >> 12) % 4]);
        t += 1 + (x >> 16) % 100;
    }
    tx_score_sort(s);
    s->pickup = 5;
    tx_barpos prev, p;
    tx_score_locate(s, 0, &prev);
    int ok = 1;
    for (tx_tick k = 1; k < t + 200; k++) {
        tx_score_locate(s, k, &p);
        if (p.bar < prev.bar || p.bar > prev.bar + 1 || p.offset < 0 ||
            (p.bar == prev.bar + 1 && tx_score_bar_tick(s, p.bar) != k))
            ok = 0;
        prev = p;
    }
    CHECK(ok);
    tx_score_free(s);
}

static void test_names(void)
{
    char buf[24];
    CHECK_STR(tx_pitch_name(60, 0, buf), "C4");
    CHECK_STR(tx_pitch_name(61, -2, buf), "Db4");
    CHECK_STR(tx_pitch_name(21, 0, buf), "A0");
    CHECK_STR(tx_pitch_name(0, 0, buf), "C-1");
    CHECK_STR(tx_key_name(1, TX_MODE_MAJOR, buf), "G major");
    CHECK_STR(tx_key_name(1, TX_MODE_MINOR, buf), "E minor");
    CHECK_STR(tx_key_name(-3, TX_MODE_MINOR, buf), "C minor");
    CHECK_STR(tx_key_name(6, TX_MODE_MAJOR, buf), "F# major");
    CHECK_STR(tx_key_name(-6, TX_MODE_MAJOR, buf), "Gb major");
    CHECK_STR(tx_key_name(7, TX_MODE_MINOR, buf), "A# minor");
    CHECK_STR(tx_key_name(0, TX_MODE_DORIAN, buf), "D dorian");
    CHECK_STR(tx_key_name(2, TX_MODE_MIXOLYDIAN, buf), "A mixolydian");
    CHECK_STR(tx_key_name(-1, TX_MODE_LYDIAN, buf), "Bb lydian");
    CHECK_STR(tx_key_name(0, TX_MODE_NONE, buf), "none");
    CHECK_INT(tx_key_tonic(2, TX_MODE_DORIAN), 4);   /* E dorian has two sharps */
    CHECK_INT(tx_key_tonic(-3, TX_MODE_MINOR), 0);
    CHECK_STR(tx_gm_program_name(0), "Acoustic Grand Piano");
    CHECK_STR(tx_gm_program_name(127), "Gunshot");
    CHECK_STR(tx_mode_name(TX_MODE_LOCRIAN), "locrian");
    CHECK_STR(tx_text_kind_name(TX_TEXT_CHORD), "chord");
}

static void test_diff(void)
{
    tx_score *a = with_track(480), *b = with_track(480);
    tx_score_add_note(a, 0, 480, 60, 100, 0, 0);
    tx_score_add_note(b, 0, 480, 60, 100, 0, 0);
    tx_score_add_timesig(a, 0, 3, 4);
    tx_score_add_timesig(b, 0, 3, 4);
    tx_buf why = TX_BUF_INIT;
    CHECK_INT(tx_score_diff(a, b, &why), 0);
    b->notes[0].duration = 479;
    CHECK_INT(tx_score_diff(a, b, &why), 1);
    CHECK_STR(why.data, "note 0: onset 0 duration 480 pitch 60 velocity 100 track 0 vs onset 0 duration "
                        "479 pitch 60 velocity 100 track 0");
    b->notes[0].duration = 480;
    b->timesigs[0].num = 6;
    tx_buf_reset(&why);
    CHECK_INT(tx_score_diff(a, b, &why), 1);
    CHECK_STR(why.data, "time signature 0: tick 0 3/4 vs tick 0 6/4");
    tx_buf_free(&why);
    tx_score_free(a);
    tx_score_free(b);
}

/* ---- out of memory: fail the n-th allocation, for every n, and check nothing crashes or leaks ---- */

static long alloc_budget = -1, live_blocks;

static void *failing_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        live_blocks++;
    return p;
}

static void counting_free(void *ud, void *ptr)
{
    (void)ud;
    live_blocks--;
    free(ptr);
}

static int build_some(void)
{
    tx_score *s = tx_score_new(480);
    if (!s)
        return TX_ENOMEM;
    int rc = tx_score_add_track(s, "t", 0, 0, 0, NULL);
    for (int i = 0; i < 100 && !rc; i++)
        rc = tx_score_add_note(s, 1000 - i, 10, 60, 64, 0, 0);
    if (!rc)
        rc = tx_score_add_text(s, 0, 0, TX_TEXT_LYRIC, "la");
    if (!rc)
        rc = tx_score_set_meta(s, "title", "x");
    if (!rc)
        rc = tx_score_sort(s);
    tx_score_free(s);
    return rc;
}

static void test_oom(void)
{
    tx_allocator a = {failing_realloc, counting_free, NULL};
    tx_set_allocator(&a);
    int failures = 0, successes = 0;
    for (long n = 0; n < 40; n++) {
        alloc_budget = n;
        live_blocks = 0;
        int rc = build_some();
        if (rc == TX_ENOMEM)
            failures++;
        else if (rc == TX_OK)
            successes++;
        CHECK_INT(live_blocks, 0);
    }
    tx_set_allocator(NULL);
    CHECK(failures > 0);
    CHECK(successes > 0);
}

int main(void)
{
    RUN(test_builders);
    RUN(test_sort);
    RUN(test_sort_large);
    RUN(test_time);
    RUN(test_bars_plain);
    RUN(test_bars_changes);
    RUN(test_bars_pickup);
    RUN(test_bars_monotonic);
    RUN(test_names);
    RUN(test_diff);
    RUN(test_oom);
    return tx_test_finish();
}
