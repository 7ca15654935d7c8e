/* test-analyze.c: unit tests of the analysis module on small hand-built scores: key profiles and the
 * key finder, chord naming and chordify, voice-leading findings, statistics, the JSON form, empty
 * scores, and out-of-memory paths. The corpus measurements are in slow-analyze-corpora.c and the JSB
 * regression in test-analyze-jsb.c. */
#include "harness.h"

#include "analyze.h"
#include "json.h"

/* A score with `voices` tracks at 4 ticks per quarter in 4/4. */
static tx_score *new_score(int voices)
{
    tx_score *s = tx_score_new(4);
    for (int v = 0; v < voices; v++)
        tx_score_add_track(s, v == 0 ? "upper" : v == 1 ? "lower" : "", 0, v, 0, NULL);
    tx_score_add_timesig(s, 0, 4, 4);
    return s;
}

static void test_profiles(void)
{
    CHECK_STR(tx_key_profile_name(TX_KEY_AARDEN_ESSEN), "aarden-essen");
    CHECK_STR(tx_key_profile_name(TX_KEY_ENSEMBLE), "ensemble");
    for (int p = 0; p < TX_KEY_NPROFILES; p++)
        CHECK_INT(tx_key_profile_from_name(tx_key_profile_name(p)), p);
    CHECK_INT(tx_key_profile_from_name("nonsense"), -1);
    CHECK_INT(tx_key_profile_from_name(NULL), -1);
    CHECK_NEAR(tx_key_profile_weights(TX_KEY_KRUMHANSL_KESSLER, TX_MODE_MAJOR)[0], 6.35, 1e-12);
    CHECK_NEAR(tx_key_profile_weights(TX_KEY_TEMPERLEY_KOSTKA_PAYNE, TX_MODE_MINOR)[3], 0.618, 1e-12);
    CHECK(tx_key_profile_weights(TX_KEY_ENSEMBLE, TX_MODE_MAJOR) == NULL);
    CHECK(tx_key_profile_weights(TX_KEY_SIMPLE, TX_MODE_DORIAN) == NULL);
}

static void test_key_from_histogram(void)
{
    /* a histogram that is a profile rotated to D major correlates 1 with D major */
    for (int p = 0; p < TX_KEY_ENSEMBLE; p++) {
        for (int mode = TX_MODE_MAJOR; mode <= TX_MODE_MINOR; mode++) {
            const double *w = tx_key_profile_weights(p, mode);
            double h[12];
            for (int i = 0; i < 12; i++)
                h[(i + 2) % 12] = w[i];
            tx_key_result k;
            CHECK_INT(tx_key_from_histogram(h, p, &k), TX_OK);
            CHECK_INT(k.found, 1);
            CHECK_INT(k.best.tonic, 2);
            CHECK_INT(k.best.mode, mode);
            CHECK_NEAR(k.best.correlation, 1.0, 1e-9);
            CHECK(k.runners_up[0].correlation <= k.best.correlation);
            for (int j = 1; j < TX_KEY_RUNNERS_UP; j++)
                CHECK(k.runners_up[j].correlation <= k.runners_up[j - 1].correlation);
        }
    }
    double zero[12] = {0};
    tx_key_result k;
    CHECK_INT(tx_key_from_histogram(zero, TX_KEY_SIMPLE, &k), TX_OK);
    CHECK_INT(k.found, 0);
    CHECK_INT(tx_key_from_histogram(zero, 99, &k), TX_EINVAL);
    CHECK_INT(tx_key_from_histogram(zero, -1, &k), TX_EINVAL);
}

/* The scale of (tonic, mode) in quarter notes, the tonic held at the start, the tonic triad (without
 * its fifth) at the end after the dominant. */
static tx_score *scale_score(int tonic, int minor)
{
    static const int maj[8] = {0, 2, 4, 5, 7, 9, 11, 12}, hmin[8] = {0, 2, 3, 5, 7, 8, 11, 12};
    tx_score *s = new_score(1);
    tx_tick t = 0;
    tx_score_add_note(s, t, 8, 60 + tonic, 80, 0, 0);
    t += 8;
    for (int i = 0; i < 8; i++, t += 4)
        tx_score_add_note(s, t, 4, 60 + tonic + (minor ? hmin : maj)[i], 80, 0, 0);
    tx_score_add_note(s, t, 4, 60 + tonic + 7, 80, 0, 0);   /* dominant, then the tonic again */
    tx_score_add_note(s, t + 4, 8, 60 + tonic, 80, 0, 0);
    tx_score_add_note(s, t + 4, 8, 60 + tonic + (minor ? 3 : 4), 80, 0, 0);   /* the tonic triad */
    tx_score_sort(s);
    return s;
}

static void test_key_scores(void)
{
    for (int p = 0; p < TX_KEY_NPROFILES; p++) {
        tx_key_result k;
        tx_score *s = scale_score(0, 0);
        CHECK_INT(tx_analyze_key(s, p, &k), TX_OK);
        CHECK_INT(k.best.tonic, 0);
        if (k.best.tonic != 0)
            printf("profile %s: C major scale read as %d\n", tx_key_profile_name(p), k.best.tonic);
        CHECK_INT(k.best.mode, TX_MODE_MAJOR);
        tx_score_free(s);
        s = scale_score(9, 1);
        CHECK_INT(tx_analyze_key(s, p, &k), TX_OK);
        CHECK_INT(k.best.tonic, 9);
        CHECK_INT(k.best.mode, TX_MODE_MINOR);
        tx_score_free(s);
        s = scale_score(6, 0);
        CHECK_INT(tx_analyze_key(s, p, &k), TX_OK);
        CHECK_INT(k.best.tonic, 6);
        CHECK_STR(tx_key_tonic_name(k.best.tonic, k.best.mode), "F#");
        tx_score_free(s);
    }
    /* drums and grace notes do not count */
    tx_score *s = scale_score(0, 0);
    int drum;
    tx_score_add_track(s, "drums", 0, 9, 1, &drum);
    for (int i = 0; i < 40; i++)
        tx_score_add_note(s, i * 4, 4, 61, 100, drum, 0);
    tx_score_add_note(s, 0, 64, 66, 100, 0, TX_NOTE_GRACE);
    tx_score_sort(s);
    double h[12];
    tx_analyze_pc_histogram(s, h);
    CHECK_NEAR(h[1], 0, 0);
    CHECK_NEAR(h[6], 0, 0);
    CHECK_NEAR(h[0], 2 + 1 + 1 + 2, 1e-12);   /* quarter notes: 2 + scale C + octave C + final 2 */
    tx_score_free(s);
    CHECK_STR(tx_key_tonic_name(1, TX_MODE_MAJOR), "Db");
    CHECK_STR(tx_key_tonic_name(1, TX_MODE_MINOR), "C#");
    CHECK_STR(tx_key_tonic_name(10, TX_MODE_MINOR), "Bb");
}

static void test_mirex(void)
{
    CHECK_NEAR(tx_key_mirex_score(0, TX_MODE_MAJOR, 0, TX_MODE_MAJOR), 1.0, 0);
    CHECK_NEAR(tx_key_mirex_score(0, TX_MODE_MAJOR, 7, TX_MODE_MAJOR), 0.5, 0);
    CHECK_NEAR(tx_key_mirex_score(0, TX_MODE_MAJOR, 5, TX_MODE_MAJOR), 0.0, 0);
    CHECK_NEAR(tx_key_mirex_score(0, TX_MODE_MAJOR, 9, TX_MODE_MINOR), 0.3, 0);
    CHECK_NEAR(tx_key_mirex_score(9, TX_MODE_MINOR, 0, TX_MODE_MAJOR), 0.3, 0);
    CHECK_NEAR(tx_key_mirex_score(9, TX_MODE_MINOR, 9, TX_MODE_MAJOR), 0.2, 0);
    CHECK_NEAR(tx_key_mirex_score(9, TX_MODE_MINOR, 4, TX_MODE_MINOR), 0.5, 0);
    CHECK_NEAR(tx_key_mirex_score(9, TX_MODE_MINOR, 2, TX_MODE_MAJOR), 0.0, 0);
}

static void test_local_keys(void)
{
    /* 8 bars of C major (I IV V I in arpeggios), then 8 bars of the same in Eb major */
    tx_score *s = new_score(1);
    static const int prog[4][3] = {{0, 4, 7}, {5, 9, 12}, {7, 11, 14}, {0, 4, 7}};
    for (int bar = 0; bar < 16; bar++) {
        int t0 = bar < 8 ? 0 : 3;
        for (int beat = 0; beat < 4; beat++) {
            const int *c = prog[bar % 4];
            tx_score_add_note(s, bar * 16 + beat * 4, 4, 48 + t0 + c[0], 80, 0, 0);
            tx_score_add_note(s, bar * 16 + beat * 4, 4, 60 + t0 + c[1 + beat % 2], 80, 0, 0);
        }
    }
    tx_score_sort(s);
    tx_key_segment *g;
    size_t n;
    CHECK_INT(tx_analyze_local_keys(s, TX_KEY_DEFAULT, 4, &g, &n, NULL), TX_OK);
    CHECK(n >= 2 && n <= 3);   /* a window that mixes the two keys may read a third for a bar or two */
    if (n >= 2) {
        CHECK_INT(g[0].tonic, 0);
        CHECK_INT(g[0].mode, TX_MODE_MAJOR);
        CHECK_INT(g[0].first_bar, 0);
        CHECK(g[0].last_bar >= 6);
        CHECK_INT(g[n - 1].tonic, 3);
        CHECK_INT(g[n - 1].mode, TX_MODE_MAJOR);
        CHECK_INT(g[n - 1].last_bar, 15);
        CHECK_INT(g[n - 1].end, 256);
        CHECK(g[n - 1].first_bar <= 10);
        for (size_t i = 1; i < n; i++)
            CHECK_INT(g[i - 1].last_bar + 1, g[i].first_bar);
    }
    tx_free(g);
    CHECK_INT(tx_analyze_local_keys(s, 77, 4, &g, &n, NULL), TX_EINVAL);
    tx_score_free(s);

    /* stability, with one-bar windows: a single bar of D major harmony (D F# A, A C# E) among bars of C
     * major is no modulation; two such bars are */
    for (int len = 1; len <= 2; len++) {
        s = new_score(1);
        for (int bar = 0; bar < 10; bar++) {
            int d = bar >= 4 && bar < 4 + len;
            static const int cmaj[4][3] = {{60, 64, 67}, {65, 69, 72}, {67, 71, 74}, {60, 64, 67}};
            static const int dmaj[4][3] = {{62, 66, 69}, {67, 71, 74}, {69, 73, 76}, {62, 66, 69}};
            for (int beat = 0; beat < 4; beat++)
                for (int k = 0; k < 3; k++)
                    tx_score_add_note(s, bar * 16 + beat * 4, 4, (d ? dmaj : cmaj)[beat][k], 80, 0, 0);
        }
        tx_score_sort(s);
        CHECK_INT(tx_analyze_local_keys(s, TX_KEY_DEFAULT, 1, &g, &n, NULL), TX_OK);
        CHECK_INT(n, len == 1 ? 1 : 3);
        if (n == 3) {
            CHECK_INT(g[1].tonic, 2);
            CHECK_INT(g[1].first_bar, 4);
            CHECK_INT(g[1].last_bar, 5);
            CHECK_INT(g[2].tonic, 0);
        }
        if (n >= 1)
            CHECK_INT(g[0].tonic, 0);
        tx_free(g);
        tx_score_free(s);
    }
}

static unsigned pcs(const int *p, int n)
{
    unsigned m = 0;
    for (int i = 0; i < n; i++)
        m |= 1u << (p[i] % 12);
    return m;
}

static void check_chord(const int *p, int n, int bass, const char *name, int root, int quality, int inversion)
{
    tx_chord c;
    int rc = tx_chord_identify(pcs(p, n), bass, &c);
    CHECK_INT(rc, 0);
    if (rc)
        return;
    CHECK_STR(c.name, name);
    CHECK_INT(c.root, root);
    CHECK_INT(c.quality, quality);
    CHECK_INT(c.inversion, inversion);
}

static void test_chord_identify(void)
{
    check_chord((int[]){0, 4, 7}, 3, 0, "C", 0, TX_CHORD_MAJOR, 0);
    check_chord((int[]){0, 4, 7}, 3, 4, "C/E", 0, TX_CHORD_MAJOR, 1);
    check_chord((int[]){0, 4, 7}, 3, 7, "C/G", 0, TX_CHORD_MAJOR, 2);
    check_chord((int[]){9, 0, 4}, 3, 9, "Am", 9, TX_CHORD_MINOR, 0);
    check_chord((int[]){7, 11, 2, 5}, 4, 11, "G7/B", 7, TX_CHORD_DOMINANT7, 1);
    check_chord((int[]){7, 11, 2, 5}, 4, 5, "G7/F", 7, TX_CHORD_DOMINANT7, 3);
    check_chord((int[]){11, 2, 5}, 3, 11, "Bdim", 11, TX_CHORD_DIMINISHED, 0);
    check_chord((int[]){0, 4, 8}, 3, 0, "Caug", 0, TX_CHORD_AUGMENTED, 0);
    check_chord((int[]){0, 4, 7, 11}, 4, 0, "Cmaj7", 0, TX_CHORD_MAJOR7, 0);
    check_chord((int[]){2, 5, 9, 0}, 4, 2, "Dm7", 2, TX_CHORD_MINOR7, 0);
    check_chord((int[]){11, 2, 5, 9}, 4, 11, "Bm7b5", 11, TX_CHORD_HALF_DIMINISHED7, 0);
    check_chord((int[]){11, 2, 5, 8}, 4, 11, "Bdim7", 11, TX_CHORD_DIMINISHED7, 0);
    check_chord((int[]){0, 2, 7}, 3, 0, "Csus2", 0, TX_CHORD_SUS2, 0);
    check_chord((int[]){7, 0, 2}, 3, 7, "Gsus4", 7, TX_CHORD_SUS4, 0);
    check_chord((int[]){0, 4, 7, 9}, 4, 0, "C6", 0, TX_CHORD_MAJOR6, 0);
    check_chord((int[]){0, 4, 7, 9}, 4, 9, "Am7", 9, TX_CHORD_MINOR7, 0);
    check_chord((int[]){7, 11, 2, 5, 9}, 5, 7, "G9", 7, TX_CHORD_DOMINANT9, 0);
    check_chord((int[]){10, 2, 5}, 3, 10, "Bb", 10, TX_CHORD_MAJOR, 0);
    check_chord((int[]){0, 4}, 2, 0, "C", 0, TX_CHORD_MAJOR, 0);     /* a bare third: the fifth implied */
    check_chord((int[]){9, 0}, 2, 9, "Am", 9, TX_CHORD_MINOR, 0);
    check_chord((int[]){9, 4}, 2, 9, "A5", 9, TX_CHORD_POWER, 0);   /* a bare fifth */
    tx_chord c;
    /* spelling follows the key: G#m in A minor, Abm in Eb major, F# in F# major, Gb in Db major */
    CHECK_INT(tx_chord_identify(pcs((int[]){8, 11, 3}, 3), 8, &c), 0);
    CHECK_STR(c.name, "Abm");
    tx_chord_spell(&c, 9, TX_MODE_MINOR);
    CHECK_STR(c.name, "G#m");
    tx_chord_spell(&c, 3, TX_MODE_MAJOR);
    CHECK_STR(c.name, "Abm");
    CHECK_INT(tx_chord_identify(pcs((int[]){6, 10, 1}, 3), 10, &c), 0);
    tx_chord_spell(&c, 6, TX_MODE_MAJOR);
    CHECK_STR(c.name, "F#/A#");
    tx_chord_spell(&c, 1, TX_MODE_MAJOR);
    CHECK_STR(c.name, "Gb/Bb");
    tx_chord_spell(&c, 3, TX_MODE_MINOR);
    CHECK_STR(c.name, "Gb/Bb");
    CHECK_INT(tx_chord_identify(1u << 3, 3, &c), -1);   /* one pitch class is no chord */
    CHECK_INT(tx_chord_identify(0, 0, &c), -1);
    CHECK_STR(tx_chord_quality_name(TX_CHORD_HALF_DIMINISHED7), "half-diminished seventh");
    CHECK_STR(tx_chord_quality_name(-1), "?");
    CHECK_INT(tx_chord_quality_mask(TX_CHORD_MINOR), (1 << 0) | (1 << 3) | (1 << 7));
}

static void check_roman(const int *p, int n, int bass, int tonic, int mode, const char *want)
{
    tx_chord c;
    char buf[24];
    CHECK_INT(tx_chord_identify(pcs(p, n), bass, &c), 0);
    CHECK_STR(tx_chord_roman(&c, tonic, mode, buf), want);
}

static void test_roman(void)
{
    const int M = TX_MODE_MAJOR, m = TX_MODE_MINOR;
    check_roman((int[]){0, 4, 7}, 3, 0, 0, M, "I");
    check_roman((int[]){0, 4, 7}, 3, 7, 0, M, "I64");
    check_roman((int[]){2, 5, 9}, 3, 5, 0, M, "ii6");
    check_roman((int[]){7, 11, 2, 5}, 4, 7, 0, M, "V7");
    check_roman((int[]){7, 11, 2, 5}, 4, 11, 0, M, "V65");
    check_roman((int[]){7, 11, 2, 5}, 4, 2, 0, M, "V43");
    check_roman((int[]){7, 11, 2, 5}, 4, 5, 0, M, "V42");
    check_roman((int[]){11, 2, 5}, 3, 11, 0, M, "viio");
    check_roman((int[]){11, 2, 5, 9}, 4, 11, 0, M, "vii\xc3\xb8" "7");
    check_roman((int[]){5, 9, 0, 4}, 4, 5, 0, M, "IVM7");
    check_roman((int[]){2, 6, 9}, 3, 2, 0, M, "V/V");
    check_roman((int[]){2, 6, 9, 0}, 4, 6, 0, M, "V65/V");
    check_roman((int[]){9, 1, 4, 7}, 4, 9, 0, M, "V7/ii");
    check_roman((int[]){4, 8, 11}, 3, 4, 0, M, "V/vi");
    check_roman((int[]){1, 4, 7, 10}, 4, 1, 0, M, "viio7/ii");
    check_roman((int[]){1, 5, 8}, 3, 5, 0, M, "N6");
    check_roman((int[]){10, 2, 5}, 3, 10, 0, M, "bVII");
    check_roman((int[]){8, 0, 3}, 3, 8, 0, M, "bVI");
    check_roman((int[]){7, 0, 2}, 3, 7, 0, M, "Vsus4");
    /* A minor */
    check_roman((int[]){9, 0, 4}, 3, 9, 9, m, "i");
    check_roman((int[]){4, 8, 11}, 3, 4, 9, m, "V");
    check_roman((int[]){4, 8, 11, 2}, 4, 4, 9, m, "V7");
    check_roman((int[]){8, 11, 2}, 3, 8, 9, m, "viio");
    check_roman((int[]){8, 11, 2, 5}, 4, 8, 9, m, "viio7");
    check_roman((int[]){7, 11, 2}, 3, 7, 9, m, "VII");
    check_roman((int[]){0, 4, 7}, 3, 0, 9, m, "III");
    check_roman((int[]){5, 9, 0}, 3, 5, 9, m, "VI");
    check_roman((int[]){11, 2, 5}, 3, 11, 9, m, "iio");
    check_roman((int[]){2, 5, 9}, 3, 5, 9, m, "iv6");
    check_roman((int[]){11, 3, 6}, 3, 11, 9, m, "V/V");
    /* augmented sixths over the flat sixth: Ab C F# (It), + D (Fr), + Eb (Ger); in A minor F A D#;
     * the same classes over another bass are not read as one */
    check_roman((int[]){8, 0, 6}, 3, 8, 0, M, "It6");
    check_roman((int[]){8, 0, 2, 6}, 4, 8, 0, M, "Fr43");
    check_roman((int[]){8, 0, 3, 6}, 4, 8, 0, M, "Ger65");
    check_roman((int[]){5, 9, 3}, 3, 5, 9, m, "It6");
    check_roman((int[]){5, 9, 11, 3}, 4, 5, 9, m, "Fr43");
    check_roman((int[]){5, 9, 0, 3}, 4, 5, 9, m, "Ger65");
    check_roman((int[]){8, 0, 3, 6}, 4, 0, 0, M, "Ger43");   /* inversions: test_augmented_sixths */
    check_roman((int[]){5, 8, 0}, 3, 8, 0, m, "iv6");
    tx_chord c;
    char buf[24];
    CHECK_INT(tx_chord_identify(pcs((int[]){0, 4, 7}, 3), 0, &c), 0);
    CHECK_STR(tx_chord_roman(&c, 0, TX_MODE_DORIAN, buf), "");
}

/* Secondary leading-tone chords: viio/x, viio7/x, viiø7/x, with the roots of the symmetrical
 * diminished seventh and of the minor sixth chord read for the key */
static void test_secondary_leading_tone(void)
{
    const int M = TX_MODE_MAJOR, m = TX_MODE_MINOR;
    /* F#-A-C-Eb resolving to G in C major: viio7/V in every inversion (the identifier takes the bass as
     * the root of a diminished seventh; the numeral rereads it) */
    check_roman((int[]){6, 9, 0, 3}, 4, 6, 0, M, "viio7/V");
    check_roman((int[]){6, 9, 0, 3}, 4, 9, 0, M, "viio65/V");
    check_roman((int[]){6, 9, 0, 3}, 4, 0, 0, M, "viio43/V");
    check_roman((int[]){6, 9, 0, 3}, 4, 3, 0, M, "viio42/V");
    check_roman((int[]){6, 9, 0}, 3, 6, 0, M, "viio/V");
    check_roman((int[]){6, 9, 0}, 3, 9, 0, M, "viio6/V");
    check_roman((int[]){1, 4, 7}, 3, 1, 0, M, "viio/ii");
    check_roman((int[]){8, 11, 2}, 3, 8, 0, M, "viio/vi");
    /* F#-A-C-E: F#ø7, also Am6 over F#; over A the identifier says Am6 and the numeral rereads it */
    check_roman((int[]){6, 9, 0, 4}, 4, 6, 0, M, "vii\xc3\xb8" "7/V");
    check_roman((int[]){6, 9, 0, 4}, 4, 9, 0, M, "vii\xc3\xb8" "65/V");
    check_roman((int[]){2, 5, 9, 11}, 4, 2, 0, M, "vii\xc3\xb8" "65");   /* Dm6 = Bø7/D, diatonic */
    check_roman((int[]){2, 5, 9, 11}, 4, 2, 9, m, "ii\xc3\xb8" "65");     /* in A minor: iiø65 */
    check_roman((int[]){11, 2, 5, 9}, 4, 11, 9, m, "ii\xc3\xb8" "7");
    /* the key's own leading-tone chord stays diatonic, whichever note is the bass */
    check_roman((int[]){11, 2, 5, 8}, 4, 2, 0, M, "viio65");
    check_roman((int[]){8, 11, 2, 5}, 4, 11, 9, m, "viio65");
    check_roman((int[]){8, 11, 2, 5}, 4, 5, 9, m, "viio42");
    /* negative: a diminished triad whose target has no perfect fifth (A# C# E points at B, vii in C)
     * is no secondary chord, and a minor sixth that is not a leading-tone seventh stays itself */
    tx_chord c;
    char buf[24];
    CHECK_INT(tx_chord_identify(pcs((int[]){10, 1, 4}, 3), 10, &c), 0);
    tx_chord_roman(&c, 0, M, buf);
    CHECK(strchr(buf, '/') == NULL);
    CHECK_STR(buf, "bviio");
    CHECK_INT(tx_chord_identify(pcs((int[]){5, 8, 0, 2}, 4), 5, &c), 0);   /* Fm6 in C: no Dø7 reading */
    tx_chord_roman(&c, 0, M, buf);
    CHECK(strchr(buf, '/') == NULL);
    CHECK(strstr(buf, "\xc3\xb8") == NULL);
    CHECK_INT(tx_chord_identify(pcs((int[]){10, 2, 5}, 3), 10, &c), 0);   /* Bb: V/IV? no, bVII in C */
    CHECK_STR(tx_chord_roman(&c, 0, M, buf), "bVII");
    /* in context: C#o7 resolving to F in C is viio7/IV (the root E, C# its seventh: viio42/IV); alone,
     * or before another chord, it is viio7/ii over its bass */
    tx_chord seq[2];
    CHECK_INT(tx_chord_identify(pcs((int[]){1, 4, 7, 10}, 4), 1, &seq[0]), 0);
    CHECK_INT(tx_chord_identify(pcs((int[]){5, 9, 0}, 3), 5, &seq[1]), 0);
    seq[0].onset = 0;
    seq[0].end = seq[1].onset = 4;
    seq[1].end = 8;
    tx_analyze_romans(seq, 2, 0, M);
    CHECK_STR(seq[0].roman, "viio42/IV");
    CHECK_STR(seq[1].roman, "IV");
    CHECK_INT(tx_chord_identify(pcs((int[]){2, 5, 9}, 3), 2, &seq[1]), 0);   /* to Dm: viio7/ii */
    seq[1].onset = 4;
    seq[1].end = 8;
    tx_analyze_romans(seq, 2, 0, M);
    CHECK_STR(seq[0].roman, "viio7/ii");
    seq[0].end = 3;   /* a gap: no context, the bass is the root */
    tx_analyze_romans(seq, 2, 0, M);
    CHECK_STR(seq[0].roman, "viio7/ii");
}

/* Augmented sixths in every inversion, named with the figures of the chord they invert (RomanText:
 * It and Ger on #4, Fr on 2), and sets that are not one */
static void test_augmented_sixths(void)
{
    const int M = TX_MODE_MAJOR, m = TX_MODE_MINOR;
    /* C major: Ab C F# (It), Ab C D F# (Fr), Ab C Eb F# (Ger) */
    check_roman((int[]){8, 0, 6}, 3, 8, 0, M, "It6");
    check_roman((int[]){8, 0, 6}, 3, 6, 0, M, "It");
    check_roman((int[]){8, 0, 6}, 3, 0, 0, M, "It64");
    check_roman((int[]){8, 0, 2, 6}, 4, 8, 0, M, "Fr43");
    check_roman((int[]){8, 0, 2, 6}, 4, 2, 0, M, "Fr7");
    check_roman((int[]){8, 0, 2, 6}, 4, 6, 0, M, "Fr65");
    check_roman((int[]){8, 0, 2, 6}, 4, 0, 0, M, "Fr42");
    check_roman((int[]){8, 0, 3, 6}, 4, 8, 0, M, "Ger65");
    check_roman((int[]){8, 0, 3, 6}, 4, 6, 0, M, "Ger7");
    check_roman((int[]){8, 0, 3, 6}, 4, 0, 0, M, "Ger43");
    check_roman((int[]){8, 0, 3, 6}, 4, 3, 0, M, "Ger42");
    /* A minor: F A D# (It), F A B D# (Fr), F A C D# (Ger), D# in the bass */
    check_roman((int[]){5, 9, 3}, 3, 3, 9, m, "It");
    check_roman((int[]){5, 9, 11, 3}, 4, 3, 9, m, "Fr65");
    check_roman((int[]){5, 9, 0, 3}, 4, 3, 9, m, "Ger7");
    check_roman((int[]){5, 9, 0, 3}, 4, 0, 9, m, "Ger42");
    /* negative: a fifth class added, the #4 missing, or another key */
    char buf[24];
    tx_chord c;
    CHECK_INT(tx_chord_identify(pcs((int[]){8, 0, 3, 6, 7}, 5), 6, &c), 0);
    tx_chord_roman(&c, 0, M, buf);
    CHECK(strncmp(buf, "Ger", 3) != 0);
    check_roman((int[]){8, 0, 3}, 3, 8, 0, M, "bVI");
    check_roman((int[]){8, 0, 3}, 3, 0, 0, M, "bVI6");
}

/* Roman numerals against the local key: C major with a tonicization of G (V7/V V I in C), then a
 * modulation to G major ending V7 I there */
static void test_local_romans(void)
{
    tx_score *s = new_score(1);
    /* two half-note chords a bar: bass and three upper voices */
    static const int bars[16][2][4] = {
        {{48, 64, 67, 72}, {53, 65, 69, 72}},   /* C F */
        {{43, 65, 71, 74}, {48, 64, 67, 72}},   /* G7 C */
        {{45, 64, 69, 72}, {41, 65, 69, 72}},   /* Am F */
        {{50, 66, 69, 72}, {43, 62, 67, 71}},   /* D7 G: V7/V V */
        {{48, 64, 67, 72}, {41, 65, 69, 72}},   /* C F */
        {{50, 65, 69, 74}, {43, 65, 71, 74}},   /* Dm G7 */
        {{48, 64, 67, 72}, {45, 64, 69, 72}},   /* C Am */
        {{41, 65, 69, 72}, {48, 64, 67, 72}},   /* F C */
        {{43, 62, 67, 71}, {50, 62, 66, 69}},   /* G D: from here G major */
        {{50, 66, 69, 72}, {43, 62, 67, 71}},   /* D7 G */
        {{40, 64, 67, 71}, {47, 62, 66, 71}},   /* Em Bm */
        {{45, 64, 67, 73}, {50, 66, 69, 74}},   /* A7 D: V7/V V */
        {{43, 62, 67, 71}, {40, 64, 67, 71}},   /* G Em */
        {{45, 64, 69, 72}, {50, 66, 69, 72}},   /* Am D7 */
        {{43, 62, 67, 71}, {50, 62, 66, 69}},   /* G D */
        {{50, 66, 69, 72}, {43, 62, 71, 79}},   /* D7 G, the tonic on top */
    };
    for (int b = 0; b < 16; b++)
        for (int h = 0; h < 2; h++)
            for (int v = 0; v < 4; v++)
                tx_score_add_note(s, b * 16 + h * 8, 8, bars[b][h][v], 80, 0, 0);
    tx_score_sort(s);
    tx_analysis *a = NULL;
    tx_analyze_options o;
    tx_analyze_options_init(&o);
    o.voice_leading = 0;
    CHECK_INT(tx_analyze(s, &o, &a, NULL), TX_OK);
    if (!a) {
        tx_score_free(s);
        return;
    }
    CHECK_INT(a->n_local_keys, 2);   /* the tonicization in bar 4 makes no segment of its own */
    if (a->n_local_keys == 2) {
        CHECK_INT(a->local_keys[0].tonic, 0);
        CHECK_INT(a->local_keys[1].tonic, 7);
        CHECK_INT(a->local_keys[1].mode, TX_MODE_MAJOR);
        CHECK(a->local_keys[1].first_bar >= 7 && a->local_keys[1].first_bar <= 9);
    }
    CHECK_INT(a->n_chords, 32);
    if (a->n_chords == 32) {
        const tx_chord *c = a->chords;
        CHECK_STR(c[6].name, "D7");
        CHECK_STR(c[6].roman, "V7/V");     /* bar 4, still in C */
        CHECK_INT(c[6].key_tonic, 0);
        CHECK_STR(c[7].roman, "V");
        CHECK_STR(c[2].roman, "V7");
        CHECK_STR(c[30].roman, "V7");      /* bar 16 in G */
        CHECK_INT(c[30].key_tonic, 7);
        CHECK_INT(c[30].key_mode, TX_MODE_MAJOR);
        CHECK_STR(c[31].roman, "I");
        CHECK_INT(c[31].key_tonic, 7);
        CHECK_STR(c[22].name, "A7");
        CHECK_STR(c[22].roman, "V7/V");    /* bar 12: the same tonicization, now of D in G */
        CHECK_STR(c[21].roman, "iii");     /* the Bm in bar 11 is iii of G */
        CHECK_STR(c[26].roman, "ii");      /* the Am in bar 14 is ii of G (vi in C) */
    }
    /* the final cadence is perfect authentic in G, its local key */
    CHECK(a->n_cadences >= 1);
    if (a->n_cadences >= 1) {
        CHECK_INT(a->cadences[a->n_cadences - 1].kind, TX_CADENCE_PERFECT_AUTHENTIC);
        CHECK_INT(a->cadences[a->n_cadences - 1].chord, 31);
    }
    /* JSON: each chord's key, RomanText style */
    tx_buf b = TX_BUF_INIT;
    CHECK_INT(tx_analysis_json(a, s, &b), TX_OK);
    CHECK(b.data && strstr(b.data, "\"name\": \"D7\", \"root\": \"D\", \"quality\": \"dominant seventh\", "
                           "\"inversion\": 0, \"roman\": \"V7/V\", \"key\": \"C\"}") != NULL);
    CHECK(b.data && strstr(b.data, "\"roman\": \"V7\", \"key\": \"G\"}") != NULL);
    tx_buf_free(&b);
    tx_analysis_free(a);
    /* without local keys, everything is read in the global key */
    o.local_key_bars = 0;
    CHECK_INT(tx_analyze(s, &o, &a, NULL), TX_OK);
    if (a && a->n_chords == 32) {
        CHECK_INT(a->chords[30].key_tonic, a->key.best.tonic);
        CHECK_INT(a->chords[6].key_tonic, a->key.best.tonic);
    }
    tx_analysis_free(a);
    tx_score_free(s);
    /* tx_analyze_romans_local directly: chords before the first segment fall back to the global key */
    tx_chord ch[2];
    CHECK_INT(tx_chord_identify(pcs((int[]){2, 6, 9}, 3), 2, &ch[0]), 0);
    ch[1] = ch[0];
    ch[0].onset = 0;
    ch[0].end = ch[1].onset = 16;
    ch[1].end = 32;
    tx_key_segment seg = {1, 1, 16, 32, 7, TX_MODE_MAJOR, 0.9};
    tx_analyze_romans_local(ch, 2, &seg, 1, 0, TX_MODE_MAJOR);
    CHECK_STR(ch[0].roman, "V/V");
    CHECK_STR(ch[1].roman, "V");
    char kl[8];
    CHECK_STR(tx_analyze_key_label(7, TX_MODE_MAJOR, kl), "G");
    CHECK_STR(tx_analyze_key_label(6, TX_MODE_MINOR, kl), "f#");
    CHECK_STR(tx_analyze_key_label(10, TX_MODE_MAJOR, kl), "Bb");
}

static void check_symbol(const char *text, int root, int quality, int bass, int majmin)
{
    tx_chord_symbol cs;
    int rc = tx_chord_symbol_parse(text, &cs);
    if (rc) {
        fprintf(stderr, "chord symbol \"%s\" not understood\n", text);
        CHECK_INT(rc, 0);
        return;
    }
    if (cs.root != root || cs.quality != quality || cs.bass != bass || cs.majmin != majmin)
        fprintf(stderr, "chord symbol \"%s\": %d %s /%d class %d\n", text, cs.root, tx_chord_quality_name(cs.quality),
                cs.bass, cs.majmin);
    CHECK_INT(cs.root, root);
    CHECK_INT(cs.quality, quality);
    CHECK_INT(cs.bass, bass);
    CHECK_INT(cs.majmin, majmin);
}

static void test_chord_symbols(void)
{
    const int MA = TX_MAJMIN_MAJOR, MI = TX_MAJMIN_MINOR, OT = TX_MAJMIN_OTHER;
    check_symbol("C", 0, TX_CHORD_MAJOR, -1, MA);
    check_symbol("F#", 6, TX_CHORD_MAJOR, -1, MA);
    check_symbol("Bb", 10, TX_CHORD_MAJOR, -1, MA);
    check_symbol("Cmaj", 0, TX_CHORD_MAJOR, -1, MA);
    check_symbol("Am", 9, TX_CHORD_MINOR, -1, MI);
    check_symbol("Amin", 9, TX_CHORD_MINOR, -1, MI);
    check_symbol("Ami", 9, TX_CHORD_MINOR, -1, MI);
    check_symbol("A-", 9, TX_CHORD_MINOR, -1, MI);
    check_symbol("Ebm", 3, TX_CHORD_MINOR, -1, MI);
    check_symbol("Bdim", 11, TX_CHORD_DIMINISHED, -1, OT);
    check_symbol("Bo", 11, TX_CHORD_DIMINISHED, -1, OT);
    check_symbol("Gd", 7, TX_CHORD_DIMINISHED, -1, OT);        /* Nottingham */
    check_symbol("D#d", 3, TX_CHORD_DIMINISHED, -1, OT);
    check_symbol("Ebd", 3, TX_CHORD_DIMINISHED, -1, OT);
    check_symbol("Caug", 0, TX_CHORD_AUGMENTED, -1, OT);
    check_symbol("C+", 0, TX_CHORD_AUGMENTED, -1, OT);
    check_symbol("Ea", 4, TX_CHORD_AUGMENTED, -1, OT);         /* Nottingham */
    check_symbol("Fa7", 5, TX_CHORD_AUGMENTED, -1, OT);
    check_symbol("C7#5", 0, TX_CHORD_AUGMENTED, -1, OT);
    check_symbol("Dsus2", 2, TX_CHORD_SUS2, -1, OT);
    check_symbol("Dsus4", 2, TX_CHORD_SUS4, -1, OT);
    check_symbol("Dsus", 2, TX_CHORD_SUS4, -1, OT);
    check_symbol("A7sus4", 9, TX_CHORD_SUS4, -1, OT);
    check_symbol("C6", 0, TX_CHORD_MAJOR6, -1, MA);
    check_symbol("C69", 0, TX_CHORD_MAJOR6, -1, MA);
    check_symbol("Dm6", 2, TX_CHORD_MINOR6, -1, MI);
    check_symbol("G7", 7, TX_CHORD_DOMINANT7, -1, MA);
    check_symbol("G9", 7, TX_CHORD_DOMINANT9, -1, MA);
    check_symbol("G13", 7, TX_CHORD_DOMINANT9, -1, MA);
    check_symbol("E7b9", 4, TX_CHORD_DOMINANT9, -1, MA);
    check_symbol("E7(b9)", 4, TX_CHORD_DOMINANT9, -1, MA);
    check_symbol("Cmaj7", 0, TX_CHORD_MAJOR7, -1, MA);
    check_symbol("CM7", 0, TX_CHORD_MAJOR7, -1, MA);
    check_symbol("Cma7", 0, TX_CHORD_MAJOR7, -1, MA);
    check_symbol("Cj7", 0, TX_CHORD_MAJOR7, -1, MA);
    check_symbol("C\xce\x94" "7", 0, TX_CHORD_MAJOR7, -1, MA);
    check_symbol("Cmaj9", 0, TX_CHORD_MAJOR9, -1, MA);
    check_symbol("Am7", 9, TX_CHORD_MINOR7, -1, MI);
    check_symbol("Amin7", 9, TX_CHORD_MINOR7, -1, MI);
    check_symbol("A-7", 9, TX_CHORD_MINOR7, -1, MI);
    check_symbol("Am9", 9, TX_CHORD_MINOR9, -1, MI);
    check_symbol("Am11", 9, TX_CHORD_MINOR9, -1, MI);
    check_symbol("Cmmaj7", 0, TX_CHORD_MINOR_MAJOR7, -1, MI);
    check_symbol("Cm(maj7)", 0, TX_CHORD_MINOR_MAJOR7, -1, MI);
    check_symbol("Bm7b5", 11, TX_CHORD_HALF_DIMINISHED7, -1, OT);
    check_symbol("Bm7-5", 11, TX_CHORD_HALF_DIMINISHED7, -1, OT);
    check_symbol("B\xc3\xb8", 11, TX_CHORD_HALF_DIMINISHED7, -1, OT);
    check_symbol("B\xc3\xb8" "7", 11, TX_CHORD_HALF_DIMINISHED7, -1, OT);
    check_symbol("Bdim7", 11, TX_CHORD_DIMINISHED7, -1, OT);
    check_symbol("Bo7", 11, TX_CHORD_DIMINISHED7, -1, OT);
    check_symbol("A5", 9, TX_CHORD_POWER, -1, OT);
    check_symbol("Cadd9", 0, TX_CHORD_MAJOR, -1, MA);
    check_symbol("Cmadd9", 0, TX_CHORD_MINOR, -1, MI);
    check_symbol("C7b5", 0, TX_CHORD_DOMINANT7, -1, OT);
    check_symbol("F#7#9", 6, TX_CHORD_DOMINANT9, -1, MA);
    /* slash chords, Nottingham basses ("D/f+" is D/F#, "Gm/bb" Gm/Bb), optional chords in parentheses */
    check_symbol("G/B", 7, TX_CHORD_MAJOR, 11, MA);
    check_symbol("G/b", 7, TX_CHORD_MAJOR, 11, MA);
    check_symbol("D/f+", 2, TX_CHORD_MAJOR, 6, MA);
    check_symbol("D/F#", 2, TX_CHORD_MAJOR, 6, MA);
    check_symbol("Gm/bb", 7, TX_CHORD_MINOR, 10, MI);
    check_symbol("A7/c+", 9, TX_CHORD_DOMINANT7, 1, MA);
    check_symbol("Am7/g", 9, TX_CHORD_MINOR7, 7, MI);
    check_symbol("Em/d+", 4, TX_CHORD_MINOR, 3, MI);
    check_symbol("(E7)", 4, TX_CHORD_DOMINANT7, -1, MA);
    check_symbol(" Em ", 4, TX_CHORD_MINOR, -1, MI);
    check_symbol("C\xe2\x99\xaf" "m", 1, TX_CHORD_MINOR, -1, MI);
    /* not chord symbols: nothing changes and nothing is read past the end */
    static const char *const bad[] = {"", " ", "H7", "am", "c", "Cxyz", "C/", "C/H", "(C", "C)", "D m", "C7/9",
                                      "Cadd", "C(", "C()", "Cb", "C##m#", "Fine", "D.C.", "C7b", "Cm7b", "((C))",
                                      "Csus3", "C/Bx", "C 7", "\xff\xfe", "C\xce"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tx_chord_symbol cs = {-7, -7, -7, -7};
        int rc = tx_chord_symbol_parse(bad[i], &cs);
        if (strcmp(bad[i], "Cb") == 0) {   /* C flat is a chord */
            CHECK_INT(rc, 0);
            CHECK_INT(cs.root, 11);
            continue;
        }
        if (rc == 0)
            fprintf(stderr, "\"%s\" read as a chord symbol\n", bad[i]);
        CHECK_INT(rc, -1);
        CHECK_INT(cs.root, -7);
    }
    CHECK_INT(tx_chord_symbol_parse(NULL, NULL), -1);
    /* garbage never crashes (the sanitizer build checks the reads): random strings over the symbols'
     * own characters, each in a buffer of its exact length */
    static const char alphabet[] = "ABCDEFGabcdgjmoisu#b+-/()^0123456789 M\xc3\xb8\xce\x94";
    unsigned seed = 12345;
    int parsed = 0;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 12;
        char *str = tx_malloc(len + 1);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            str[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        str[len] = '\0';
        tx_chord_symbol cs;
        if (tx_chord_symbol_parse(str, &cs) == 0) {
            parsed++;
            CHECK(cs.root >= 0 && cs.root < 12 && cs.quality >= 0 && cs.quality < TX_CHORD_NQUALITIES);
            CHECK(cs.bass >= -1 && cs.bass < 12);
        }
        tx_free(str);
    }
    CHECK(parsed > 0);
}

/* Chord symbols against the notes of their spans */
static void test_symbol_agreement(void)
{
    tx_score *s = new_score(1);
    tx_score_add_timesig(s, 0, 4, 4);
    /* bar 1 "C": C E G C arpeggio; bar 2 "Am" over C E G C (disagrees: the notes say C);
     * bar 3 "G7" over G B D F; bar 4 "Bdim" (read, not compared); bar 5 "H" (not understood);
     * bar 6 "Dm" with D F A D; bar 7 "F" with no notes (not compared) */
    static const int mel[7][4] = {{60, 64, 67, 72}, {60, 64, 67, 72}, {67, 71, 74, 77}, {71, 74, 77, 71},
                                  {60, 62, 64, 65}, {62, 65, 69, 74}, {-1, -1, -1, -1}};
    static const char *const sym[7] = {"C", "Am", "G7", "Bdim", "H", "Dm", "F"};
    for (int b = 0; b < 7; b++) {
        tx_score_add_text(s, b * 16, 0, TX_TEXT_CHORD, sym[b]);
        for (int k = 0; k < 4; k++)
            if (mel[b][k] >= 0)
                tx_score_add_note(s, b * 16 + k * 4, 4, mel[b][k], 80, 0, 0);
    }
    tx_score_add_note(s, 8 * 16, 4, 72, 80, 0, 0);   /* the last symbol's span ends at the notes' end */
    tx_score_add_text(s, 0, -1, TX_TEXT_LYRIC, "not a chord");
    tx_score_sort(s);
    tx_symbol_report r;
    CHECK_INT(tx_analyze_chord_symbols(s, &r, NULL), TX_OK);
    CHECK_INT(r.read, 7);
    CHECK_INT(r.not_understood, 1);
    CHECK_INT(r.compared, 5);   /* C, Am, G7, Dm, F (the F span reaches the note of bar 9) */
    CHECK_INT(r.n_items, 7);
    if (r.n_items == 7) {
        CHECK_INT(r.items[0].agree, 1);
        CHECK_INT(r.items[1].agree, 0);
        CHECK_INT(r.items[1].heard_root, 0);
        CHECK_INT(r.items[1].heard_majmin, TX_MAJMIN_MAJOR);
        CHECK_INT(r.items[2].agree, 1);
        CHECK_INT(r.items[3].compared, 0);
        CHECK_INT(r.items[3].understood, 1);
        CHECK_INT(r.items[4].understood, 0);
        CHECK_INT(r.items[5].agree, 1);
        CHECK_INT(r.items[6].tick, 96);
        CHECK_INT(r.items[6].end, 132);
        CHECK_INT(r.items[6].agree, 0);   /* a lone C under "F": C major is heard */
    }
    CHECK_INT(r.agreed, 3);
    CHECK_NEAR(r.agreement, 3.0 / 5.0, 1e-12);
    tx_free(r.items);
    /* through tx_analyze and its JSON */
    tx_analysis *a = NULL;
    CHECK_INT(tx_analyze(s, NULL, &a, NULL), TX_OK);
    tx_buf b = TX_BUF_INIT;
    tx_buf_putc(&b, '{');
    CHECK_INT(tx_analysis_json(a, s, &b), TX_OK);
    tx_buf_putc(&b, '}');
    tx_arena ar = TX_ARENA_INIT;
    tx_json *j = NULL;
    CHECK_INT(tx_json_parse(b.data, b.len, "analysis", &ar, &j, NULL), TX_OK);
    const tx_json *cs = tx_json_get(j, "chord_symbols");
    CHECK_INT(tx_json_get_int(cs, "read", -1), 7);
    CHECK_INT(tx_json_get_int(cs, "not_understood", -1), 1);
    CHECK_INT(tx_json_get_int(cs, "compared", -1), 5);
    CHECK_INT(tx_json_get_int(cs, "agreed", -1), 3);
    CHECK_NEAR(tx_json_get_num(cs, "agreement", -1), 0.6, 1e-4);
    const tx_json *items = tx_json_get(cs, "symbols");
    CHECK(items && items->type == TX_JSON_ARRAY && items->len == 7);
    if (items && items->len == 7) {
        CHECK_STR(tx_json_get_str(items->items[1], "symbol", ""), "Am");
        CHECK_STR(tx_json_get_str(items->items[1], "heard", ""), "C");
        CHECK_STR(tx_json_get_str(items->items[1], "at", ""), "2:1");
        CHECK_INT(tx_json_get_bool(items->items[1], "agree", 1), 0);
        CHECK(tx_json_get(items->items[3], "agree")->type == TX_JSON_NULL);
    }
    tx_arena_free(&ar);
    tx_buf_free(&b);
    tx_analysis_free(a);
    tx_score_free(s);
    /* a score without symbols: all zero, agreement null in JSON */
    tx_score *e = new_score(1);
    tx_score_add_note(e, 0, 4, 60, 80, 0, 0);
    tx_score_sort(e);
    CHECK_INT(tx_analyze_chord_symbols(e, &r, NULL), TX_OK);
    CHECK_INT(r.read, 0);
    CHECK(r.items == NULL);
    tx_score_free(e);
}

/* The cadential 6/4: I64 straight into V (or V7) over the same bass; not before IV, not after a gap */
static void test_cadential_64(void)
{
    static const int sets[][4] = {{7, 0, 4, -1}, {7, 11, 2, -1}, {0, 4, 7, -1}, {7, 11, 2, 5}, {5, 9, 0, -1}};
    tx_chord c[5];
    for (int i = 0; i < 5; i++) {
        int n = sets[i][3] < 0 ? 3 : 4;
        CHECK_INT(tx_chord_identify(pcs(sets[i], n), sets[i][0], &c[i]), 0);
    }
    /* C/G G C | C/G G7 | C/G F */
    tx_chord seq[8] = {c[0], c[1], c[2], c[0], c[3], c[0], c[4], c[2]};
    for (int i = 0; i < 8; i++) {
        seq[i].onset = i * 4;
        seq[i].end = i * 4 + 4;
    }
    tx_analyze_romans(seq, 8, 0, TX_MODE_MAJOR);
    CHECK_STR(seq[0].roman, "Cad64");
    CHECK_STR(seq[1].roman, "V");
    CHECK_STR(seq[2].roman, "I");
    CHECK_STR(seq[3].roman, "Cad64");
    CHECK_STR(seq[4].roman, "V7");
    CHECK_STR(seq[5].roman, "I64");
    CHECK_STR(seq[6].roman, "IV");
    seq[0].end = 3;   /* a rest before the V: no cadential 6/4 */
    tx_analyze_romans(seq, 8, 0, TX_MODE_MAJOR);
    CHECK_STR(seq[0].roman, "I64");
    /* in C minor: Cm/G to G */
    tx_chord m[2];
    CHECK_INT(tx_chord_identify(pcs((int[]){7, 0, 3}, 3), 7, &m[0]), 0);
    CHECK_INT(tx_chord_identify(pcs((int[]){7, 11, 2}, 3), 7, &m[1]), 0);
    m[0].onset = 0;
    m[0].end = m[1].onset = 4;
    m[1].end = 8;
    tx_analyze_romans(m, 2, 0, TX_MODE_MINOR);
    CHECK_STR(m[0].roman, "Cad64");
    CHECK_STR(m[1].roman, "V");
    tx_analyze_romans(m, 2, 0, TX_MODE_DORIAN);
    CHECK_STR(m[0].roman, "");
}

static void test_chordify(void)
{
    /* bar 1: C major in half notes, repeated (one chord); bar 2: G7 in root position, then its
     * third in the bass on beat 3; bar 3: a single note (no chord) */
    tx_score *s = new_score(1);
    for (int h = 0; h < 2; h++) {
        tx_score_add_note(s, h * 8, 8, 48, 80, 0, 0);
        tx_score_add_note(s, h * 8, 8, 64, 80, 0, 0);
        tx_score_add_note(s, h * 8, 8, 67, 80, 0, 0);
    }
    tx_score_add_note(s, 16, 8, 43, 80, 0, 0);
    tx_score_add_note(s, 16, 16, 62, 80, 0, 0);
    tx_score_add_note(s, 16, 16, 65, 80, 0, 0);
    tx_score_add_note(s, 16, 16, 71, 80, 0, 0);
    tx_score_add_note(s, 24, 8, 47, 80, 0, 0);
    tx_score_add_note(s, 24, 8, 67, 80, 0, 0);
    tx_score_add_note(s, 32, 16, 60, 80, 0, 0);
    tx_score_sort(s);
    tx_chord *c;
    size_t n;
    CHECK_INT(tx_analyze_chords(s, &c, &n, NULL), TX_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(c[0].name, "C");
        CHECK_INT(c[0].onset, 0);
        CHECK_INT(c[0].end, 16);
        CHECK_STR(c[1].name, "G7");
        CHECK_INT(c[1].onset, 16);
        CHECK_INT(c[1].end, 24);
        CHECK_STR(c[2].name, "G7/B");
        CHECK_INT(c[2].inversion, 1);
        CHECK_INT(c[2].end, 32);
    }
    tx_free(c);
    tx_score_free(s);

    /* an arpeggio: F major in eighths (F A C A), then E alone: the chord lasts through the broken
     * notes, and E (not in F major) after it is no chord */
    s = new_score(1);
    tx_score_add_note(s, 0, 8, 41, 80, 0, 0);
    int arp[4] = {57, 60, 65, 60};
    for (int i = 0; i < 4; i++)
        tx_score_add_note(s, i * 2, 2, arp[i], 80, 0, 0);
    tx_score_add_note(s, 8, 2, 64, 80, 0, 0);
    tx_score_sort(s);
    CHECK_INT(tx_analyze_chords(s, &c, &n, NULL), TX_OK);
    CHECK_INT(n, 1);
    if (n >= 1) {
        CHECK_STR(c[0].name, "F");
        CHECK_INT(c[0].onset, 0);
        CHECK_INT(c[0].end, 8);
    }
    tx_free(c);
    tx_score_free(s);
}

static void test_cadences(void)
{
    /* C major, chords of a half note as (bass, tenor, alto, soprano), 0 ends a phrase with a quarter
     * rest: I V | ii V vi | IV I | V7 I6 | V I with C on top */
    static const int ch[][4] = {
        {48, 55, 64, 72}, {43, 55, 62, 71}, {0},
        {50, 57, 65, 74}, {43, 55, 62, 71}, {45, 57, 64, 72}, {0},
        {41, 57, 65, 72}, {48, 55, 64, 72}, {0},
        {43, 53, 62, 71}, {52, 55, 60, 72}, {0},
        {43, 59, 62, 67}, {48, 55, 64, 72},
    };
    tx_score *s = new_score(1);
    tx_tick t = 0;
    for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++) {
        if (!ch[i][0]) {
            t += 4;
            continue;
        }
        for (int v = 0; v < 4; v++)
            tx_score_add_note(s, t, 8, ch[i][v], 80, 0, 0);
        t += 8;
    }
    tx_score_sort(s);
    tx_chord *c;
    size_t n, nc;
    tx_cadence *cad;
    CHECK_INT(tx_analyze_chords(s, &c, &n, NULL), TX_OK);
    CHECK_INT(n, 11);
    CHECK_INT(tx_analyze_cadences(s, c, n, 0, TX_MODE_MAJOR, &cad, &nc, NULL), TX_OK);
    CHECK_INT(nc, 5);
    static const int want[5] = {TX_CADENCE_HALF, TX_CADENCE_DECEPTIVE, TX_CADENCE_PLAGAL,
                                TX_CADENCE_IMPERFECT_AUTHENTIC, TX_CADENCE_PERFECT_AUTHENTIC};
    for (size_t i = 0; i < nc && i < 5; i++)
        CHECK_STR(tx_cadence_kind_name(cad[i].kind), tx_cadence_kind_name(want[i]));
    if (nc == 5) {
        CHECK_INT(cad[0].tick, 8);
        CHECK_INT(cad[4].chord, 10);
    }
    tx_free(cad);
    CHECK_INT(tx_analyze_cadences(s, c, n, 0, TX_MODE_DORIAN, &cad, &nc, NULL), TX_OK);
    CHECK_INT(nc, 0);
    tx_free(c);
    tx_score_free(s);
}

/* Two voices as (upper, lower) pitch pairs, a quarter note each. */
static tx_score *two_voices(const int (*p)[2], int n)
{
    tx_score *s = new_score(2);
    for (int i = 0; i < n; i++)
        for (int v = 0; v < 2; v++)
            if (p[i][v] > 0)
                tx_score_add_note(s, i * 4, 4, p[i][v], 80, v, 0);
    tx_score_sort(s);
    return s;
}

static void test_voice_leading(void)
{
    /* parallel fifth, contrary fifth, a held voice, hidden octave, parallel octave, crossing */
    static const int a[][2] = {
        {72, 65},   /* C5 F4: fifth */
        {74, 67},   /* D5 G4: fifth, both up: parallel fifth */
        {79, 60},   /* G5 C4: 19 semitones, a fifth compound; upper up, lower down: contrary fifth */
        {79, 62},   /* upper holds: nothing counts */
        {72, 60},   /* C5 C4: octave, upper moves down, lower moves down: hidden? previous was 17 */
        {74, 62},   /* D5 D4: parallel octave, both up */
        {60, 64},   /* C4 under E4: crossing */
    };
    tx_score *s = two_voices(a, 7);
    tx_vl_result vl;
    CHECK_INT(tx_analyze_voice_leading(s, &vl, NULL), TX_OK);
    CHECK_INT(vl.counts[TX_VL_PARALLEL_FIFTH], 1);
    CHECK_INT(vl.counts[TX_VL_CONTRARY_FIFTH], 1);
    CHECK_INT(vl.counts[TX_VL_PARALLEL_OCTAVE], 1);
    CHECK_INT(vl.counts[TX_VL_CONTRARY_OCTAVE], 0);
    CHECK_INT(vl.counts[TX_VL_HIDDEN_OCTAVE], 1);   /* (79,62) -> (72,60): both down, upper leaps */
    CHECK_INT(vl.counts[TX_VL_CROSSING], 1);
    size_t total = 0;
    for (int k = 0; k < TX_VL_NKINDS; k++)
        total += vl.counts[k];
    CHECK_INT(vl.n_findings, total);
    if (vl.n_findings >= 1) {
        const tx_vl_finding *f = &vl.findings[0];
        CHECK_INT(f->kind, TX_VL_PARALLEL_FIFTH);
        CHECK_INT(f->tick, 4);
        CHECK_INT(f->voice_a, 0);
        CHECK_INT(f->voice_b, 1);
        CHECK_INT(f->from_a, 72);
        CHECK_INT(f->to_b, 67);
        char place[48];
        CHECK_STR(tx_analyze_place(s, f->tick, place), "1:2");
        CHECK_STR(tx_analyze_place(s, 18, place), "2:1.5");
    }
    tx_free(vl.findings);
    tx_score_free(s);

    /* a rest in one voice breaks the line: no parallel across it; a voice exchange is no consecutive */
    static const int b[][2] = {{72, 65}, {74, 0}, {76, 69}, {69, 76}};
    s = two_voices(b, 4);
    CHECK_INT(tx_analyze_voice_leading(s, &vl, NULL), TX_OK);
    CHECK_INT(vl.counts[TX_VL_PARALLEL_FIFTH], 0);
    CHECK_INT(vl.counts[TX_VL_CONTRARY_FIFTH], 0);
    CHECK_INT(vl.counts[TX_VL_PARALLEL_OCTAVE], 0);
    tx_free(vl.findings);
    tx_score_free(s);

    /* hidden fifth: outer voices in three parts, both up into a fifth, the upper voice leaping */
    tx_score *h = new_score(3);
    static const int c3[][3] = {{72, 64, 57}, {79, 67, 60}};   /* A3-C5 (15) to C4-G5 (19): fifth */
    for (int i = 0; i < 2; i++)
        for (int v = 0; v < 3; v++)
            tx_score_add_note(h, i * 4, 4, c3[i][v], 80, v, 0);
    tx_score_sort(h);
    CHECK_INT(tx_analyze_voice_leading(h, &vl, NULL), TX_OK);
    CHECK_INT(vl.counts[TX_VL_HIDDEN_FIFTH], 1);
    tx_free(vl.findings);
    tx_score_free(h);

    /* one voice: nothing */
    s = new_score(1);
    tx_score_add_note(s, 0, 4, 60, 80, 0, 0);
    tx_score_sort(s);
    CHECK_INT(tx_analyze_voice_leading(s, &vl, NULL), TX_OK);
    CHECK_INT(vl.n_findings, 0);
    tx_score_free(s);
}

/* Four voices as (soprano, alto, tenor, bass) rows, a quarter note each (0: a rest), tracks named. */
static tx_score *satb(const int (*p)[4], int n)
{
    static const char *const names[4] = {"soprano", "alto", "tenor", "bass"};
    tx_score *s = tx_score_new(4);
    for (int v = 0; v < 4; v++)
        tx_score_add_track(s, names[v], 0, v, 0, NULL);
    tx_score_add_timesig(s, 0, 4, 4);
    for (int i = 0; i < n; i++)
        for (int v = 0; v < 4; v++)
            if (p[i][v] > 0)
                tx_score_add_note(s, i * 4, 4, p[i][v], 80, v, 0);
    tx_score_sort(s);
    return s;
}

/* The count of one kind in the findings of s (which it frees), and the first finding of that kind. */
static size_t vl_count(tx_score *s, int kind, tx_vl_finding *first)
{
    tx_vl_result vl;
    CHECK_INT(tx_analyze_voice_leading(s, &vl, NULL), TX_OK);
    size_t n = 0;
    for (size_t i = 0; i < vl.n_findings; i++)
        if (vl.findings[i].kind == kind && n++ == 0 && first)
            *first = vl.findings[i];
    CHECK_INT(n, vl.counts[kind]);
    tx_free(vl.findings);
    tx_score_free(s);
    return n;
}

static void test_vl_overlap_spacing_range(void)
{
    tx_vl_finding f;
    /* overlap: the upper voice falls to E4, below the F4 the lower voice has just left, without
     * crossing it (the lower voice goes to C4) */
    static const int ov[][2] = {{72, 65}, {64, 60}};
    CHECK_INT(vl_count(two_voices(ov, 2), TX_VL_OVERLAP, &f), 1);
    CHECK_INT(f.tick, 4);
    CHECK_INT(f.voice_a, 0);
    CHECK_INT(f.voice_b, 1);
    CHECK_INT(f.from_b, 65);
    CHECK_INT(f.to_a, 64);
    CHECK_INT(f.low, -1);
    /* and the lower voice rising above where the upper one was */
    static const int ov2[][2] = {{67, 60}, {72, 69}};
    CHECK_INT(vl_count(two_voices(ov2, 2), TX_VL_OVERLAP, NULL), 1);
    /* not: both move but stay clear of each other's last pitch; and a crossing is a crossing only */
    static const int no[][2] = {{72, 65}, {67, 60}};
    CHECK_INT(vl_count(two_voices(no, 2), TX_VL_OVERLAP, NULL), 0);
    static const int cr[][2] = {{72, 65}, {60, 64}};
    CHECK_INT(vl_count(two_voices(cr, 2), TX_VL_OVERLAP, NULL), 0);

    /* spacing: soprano and alto 15 semitones apart for two chords (one finding), close, then wide
     * again (a second); the tenor two octaves above the bass is no spacing fault */
    static const int sp[][4] = {{79, 64, 55, 48}, {81, 65, 57, 50}, {72, 64, 55, 48}, {79, 64, 55, 48}};
    CHECK_INT(vl_count(satb(sp, 4), TX_VL_SPACING, &f), 2);
    CHECK_INT(f.tick, 0);
    CHECK_INT(f.voice_a, 0);
    CHECK_INT(f.voice_b, 1);
    CHECK_INT(f.to_a - f.to_b, 15);
    static const int sp2[][4] = {{72, 67, 64, 43}, {74, 67, 62, 43}};
    CHECK_INT(vl_count(satb(sp2, 2), TX_VL_SPACING, NULL), 0);
    /* alto and tenor apart too */
    static const int sp3[][4] = {{76, 72, 55, 48}};
    CHECK_INT(vl_count(satb(sp3, 1), TX_VL_SPACING, &f), 1);
    CHECK_INT(f.voice_a, 1);
    CHECK_INT(f.voice_b, 2);

    /* range: the soprano at A5 for two notes (one excursion), back to G5 (inside), up to A5 again
     * after a rest in the middle of the next excursion; the bass at D2 once */
    static const int rg[][4] = {{81, 67, 60, 48}, {81, 65, 60, 50}, {79, 64, 60, 48}, {81, 65, 57, 38},
                                {0, 65, 57, 41}, {81, 64, 55, 43}};
    CHECK_INT(vl_count(satb(rg, 6), TX_VL_RANGE, &f), 3);
    CHECK_INT(f.voice_a, 0);
    CHECK_INT(f.voice_b, -1);
    CHECK_INT(f.to_a, 81);
    CHECK_INT(f.low, 60);
    CHECK_INT(f.high, 79);
    static const int rg2[][4] = {{79, 72, 67, 40}, {60, 55, 48, 60}};   /* every voice at its limits */
    CHECK_INT(vl_count(satb(rg2, 2), TX_VL_RANGE, NULL), 0);
    /* three voices: no ranges, whatever the notes */
    tx_score *three = new_score(3);
    tx_score_add_note(three, 0, 4, 96, 80, 0, 0);
    tx_score_add_note(three, 0, 4, 84, 80, 1, 0);
    tx_score_add_note(three, 0, 4, 24, 80, 2, 0);
    tx_score_sort(three);
    CHECK_INT(vl_count(three, TX_VL_RANGE, NULL), 0);
}

static void test_vl_resolutions(void)
{
    tx_vl_finding f;
    /* C major, I IV V I (each a quarter note, twice so the key is clear): the soprano's B4 rises to C5 */
    static const int good[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {71, 67, 62, 55}, {72, 67, 64, 48},
                                  {72, 67, 64, 48}, {72, 69, 65, 53}, {71, 67, 62, 55}, {72, 67, 64, 48}};
    CHECK_INT(vl_count(satb(good, 8), TX_VL_UNRESOLVED_LEADING_TONE, NULL), 0);
    /* the soprano falls from B4 to G4 at the last tonic: an outer voice may not */
    static const int bad[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {71, 67, 62, 55}, {72, 67, 64, 48},
                                 {72, 67, 64, 48}, {72, 69, 65, 53}, {71, 67, 62, 55}, {67, 64, 60, 48}};
    CHECK_INT(vl_count(satb(bad, 8), TX_VL_UNRESOLVED_LEADING_TONE, &f), 1);
    CHECK_INT(f.tick, 28);
    CHECK_INT(f.voice_a, 0);
    CHECK_INT(f.from_a, 71);
    CHECK_INT(f.to_a, 67);
    /* the alto (an inner voice) falls from B4 to G4, the fifth of I: allowed; to E4: not */
    static const int inner[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {74, 71, 67, 55}, {72, 67, 64, 48},
                                   {72, 67, 64, 48}, {72, 69, 65, 53}, {74, 71, 67, 55}, {72, 67, 64, 48}};
    CHECK_INT(vl_count(satb(inner, 8), TX_VL_UNRESOLVED_LEADING_TONE, NULL), 0);
    static const int inner2[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {74, 71, 67, 55}, {72, 67, 64, 48},
                                    {72, 67, 64, 48}, {72, 69, 65, 53}, {74, 71, 67, 55}, {72, 64, 60, 48}};
    CHECK_INT(vl_count(satb(inner2, 8), TX_VL_UNRESOLVED_LEADING_TONE, &f), 1);
    CHECK_INT(f.voice_a, 1);
    CHECK_INT(f.to_a, 64);

    /* V7 to I: the alto's F4 (the seventh, reached by a leap from A4) falls to E4 */
    static const int sev[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {71, 65, 62, 55}, {72, 64, 60, 48},
                                 {72, 67, 64, 48}, {72, 69, 60, 53}, {71, 65, 62, 55}, {72, 64, 60, 48}};
    CHECK_INT(vl_count(satb(sev, 8), TX_VL_UNRESOLVED_SEVENTH, NULL), 0);
    /* ... rises to G4 instead: unresolved (the leading tone still resolves) */
    static const int sev2[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {71, 67, 62, 55}, {72, 64, 60, 48},
                                  {72, 67, 64, 48}, {72, 69, 60, 53}, {71, 65, 62, 55}, {72, 67, 64, 48}};
    CHECK_INT(vl_count(satb(sev2, 8), TX_VL_UNRESOLVED_SEVENTH, &f), 1);
    CHECK_INT(f.tick, 28);
    CHECK_INT(f.voice_a, 1);
    CHECK_INT(f.from_a, 65);
    CHECK_INT(f.to_a, 67);
    CHECK_INT(vl_count(satb(sev2, 8), TX_VL_UNRESOLVED_LEADING_TONE, NULL), 0);
    /* ... held into the next chord as a suspension: not reported */
    static const int sev3[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {71, 67, 62, 55}, {72, 64, 60, 48},
                                  {72, 67, 64, 48}, {72, 69, 60, 53}, {71, 65, 62, 55}, {72, 65, 60, 48}};
    CHECK_INT(vl_count(satb(sev3, 8), TX_VL_UNRESOLVED_SEVENTH, NULL), 0);
    /* ... reached by step from E4 and left by step up to G4: a passing tone, not a chordal seventh */
    static const int pass[][4] = {{72, 67, 64, 48}, {72, 69, 65, 53}, {71, 64, 62, 55}, {71, 65, 62, 55},
                                  {72, 67, 64, 48}, {72, 69, 60, 53}, {71, 65, 62, 55}, {72, 64, 60, 48}};
    CHECK_INT(vl_count(satb(pass, 8), TX_VL_UNRESOLVED_SEVENTH, NULL), 0);
}

static void test_stats(void)
{
    /* 4/4 at 4 ticks per quarter: bar 1 C4 E4 G4 in quarter notes and C3 G3 together on beat 4;
     * bar 2 D4 F#4 A4, with a D5 eighth on beat 2; the tempo halves at bar 2 */
    tx_score *s = new_score(1);
    tx_score_add_tempo(s, 0, 500000);
    tx_score_add_tempo(s, 16, 1000000);
    int bar1[3] = {60, 64, 67}, bar2[3] = {62, 66, 69};
    for (int i = 0; i < 3; i++) {
        tx_score_add_note(s, i * 4, 4, bar1[i], 80, 0, 0);
        tx_score_add_note(s, 16 + i * 4, 4, bar2[i], 80, 0, 0);
    }
    tx_score_add_note(s, 12, 4, 48, 80, 0, 0);
    tx_score_add_note(s, 12, 4, 55, 80, 0, 0);
    tx_score_add_note(s, 20, 2, 74, 80, 0, 0);   /* adds an onset at 20, polyphony over 20..22 */
    tx_score_sort(s);
    tx_stats st;
    CHECK_INT(tx_analyze_stats(s, &st, NULL), TX_OK);
    CHECK_INT(st.n_notes, 9);
    CHECK_INT(st.pitch_min, 48);
    CHECK_INT(st.pitch_max, 74);
    CHECK_INT(st.pitch_range, 26);
    CHECK_INT(st.pitch_classes_used, 6);   /* C D E F# G A */
    CHECK_NEAR(st.pc_histogram[0], 2.0 / 9, 1e-12);
    /* sounding 0..28 except nothing: level 1 on 0..12, 2 on 12..16, 1 on 16..20, 2 on 20..22,
     * 1 on 22..28: (12 + 8 + 4 + 4 + 6) / 28 */
    CHECK_NEAR(st.polyphony, 34.0 / 28, 1e-12);
    CHECK_NEAR(st.polyphony_rate, 6.0 / 28, 1e-12);
    CHECK_NEAR(st.empty_beat_rate, 0.0, 0);   /* 7 beats to the end at 28, each with a note */
    /* scale: all but F# in C major (8 of 9), all in D major / G major? G major has F#, C, D, E, G, A, B:
     * every note: 9 of 9 */
    CHECK_NEAR(st.scale_consistency, 1.0, 1e-12);
    CHECK_NEAR(st.pitch_class_entropy, -(3 * (2.0 / 9) * log2(2.0 / 9) + 3 * (1.0 / 9) * log2(1.0 / 9)), 1e-12);
    CHECK_NEAR(st.pitch_entropy, log2(9.0), 1e-12);   /* nine different pitches */
    /* onsets per bar: bar 1 at 0 4 8 12, bar 2 at 0 4 8 (and 4 again): positions 12 differ: 1/16 */
    CHECK_NEAR(st.groove_consistency, 1.0 - 1.0 / 16, 1e-12);
    CHECK_INT(st.bars, 2);
    CHECK_NEAR(st.tempo_bpm, 120, 1e-9);
    CHECK_NEAR(st.tempo_min_bpm, 60, 1e-9);
    CHECK_NEAR(st.seconds, 2.0 + 12 / 4.0, 1e-9);   /* bar 1 at 120 bpm, 3 quarters at 60 bpm */
    CHECK_INT(st.meter_num, 4);
    CHECK_INT(st.meter_den, 4);
    tx_score_free(s);

    /* beats 2 and 3 of four empty */
    s = new_score(1);
    tx_score_add_note(s, 0, 4, 60, 80, 0, 0);
    tx_score_add_note(s, 12, 4, 62, 80, 0, 0);
    tx_score_sort(s);
    CHECK_INT(tx_analyze_stats(s, &st, NULL), TX_OK);
    CHECK_NEAR(st.empty_beat_rate, 0.5, 1e-12);
    CHECK_NEAR(st.polyphony, 1.0, 1e-12);
    CHECK_NEAR(st.polyphony_rate, 0.0, 0);
    CHECK_NEAR(st.pitch_entropy, 1.0, 1e-12);
    tx_score_free(s);

    tx_score *e = tx_score_new(480);
    CHECK_INT(tx_analyze_stats(e, &st, NULL), TX_OK);
    CHECK_INT(st.n_notes, 0);
    CHECK_INT(st.pitch_min, -1);
    CHECK_NEAR(st.tempo_bpm, 120, 1e-9);
    tx_score_free(e);
}

static void test_json(void)
{
    tx_score *s = scale_score(7, 0);
    tx_analysis *a;
    CHECK_INT(tx_analyze(s, NULL, &a, NULL), TX_OK);
    tx_buf b = TX_BUF_INIT;
    tx_buf_putc(&b, '{');
    CHECK_INT(tx_analysis_json(a, s, &b), TX_OK);
    tx_buf_putc(&b, '}');
    tx_arena ar = TX_ARENA_INIT;
    tx_json *j = NULL;
    tx_error err;
    CHECK_INT(tx_json_parse(b.data, b.len, "analysis", &ar, &j, &err), TX_OK);
    const tx_json *key = tx_json_get(j, "key");
    CHECK_STR(tx_json_get_str(key, "tonic", ""), "G");
    CHECK_STR(tx_json_get_str(key, "mode", ""), "major");
    CHECK_STR(tx_json_get_str(key, "profile", ""), "ensemble");
    CHECK(tx_json_get_num(key, "correlation", -2) > 0.5);
    const tx_json *ru = tx_json_get(key, "runners_up");
    CHECK(ru && ru->type == TX_JSON_ARRAY && ru->len == TX_KEY_RUNNERS_UP);
    const tx_json *st = tx_json_get(j, "statistics");
    CHECK_INT(tx_json_get_int(st, "notes", -1), 12);
    CHECK_INT(tx_json_get_int(st, "pitch_min", -1), 67);
    CHECK(tx_json_get(j, "chords") && tx_json_get(j, "chords")->type == TX_JSON_ARRAY);
    const tx_json *lk = tx_json_get(j, "local_keys");
    CHECK(lk && lk->type == TX_JSON_ARRAY && lk->len == 1);
    if (lk && lk->len == 1)
        CHECK_STR(tx_json_get_str(lk->items[0], "tonic", ""), "G");
    CHECK(tx_json_get(tx_json_get(j, "voice_leading"), "findings") != NULL);
    tx_arena_free(&ar);
    tx_buf_free(&b);
    tx_analysis_free(a);
    tx_score_free(s);

    /* an empty score: key null, statistics without pitches */
    tx_score *e = tx_score_new(96);
    CHECK_INT(tx_analyze(e, NULL, &a, NULL), TX_OK);
    tx_buf b2 = TX_BUF_INIT;
    tx_buf_putc(&b2, '{');
    CHECK_INT(tx_analysis_json(a, e, &b2), TX_OK);
    tx_buf_putc(&b2, '}');
    tx_arena ar2 = TX_ARENA_INIT;
    CHECK_INT(tx_json_parse(b2.data, b2.len, "empty", &ar2, &j, &err), TX_OK);
    CHECK(tx_json_get(j, "key") && tx_json_get(j, "key")->type == TX_JSON_NULL);
    tx_arena_free(&ar2);
    tx_buf_free(&b2);
    tx_analysis_free(a);
    tx_score_free(e);

    tx_analyze_options o;
    tx_analyze_options_init(&o);
    o.profile = 42;
    CHECK_INT(tx_analyze(s = scale_score(0, 0), &o, &a, &err), TX_EINVAL);
    CHECK(a == NULL);
    tx_score_free(s);
}

/* Awkward shapes: a pedal note under thousands of short ones in one voice, thousands
 * of notes all held to the end, a zero-length note at a huge tick. */
static void test_awkward(void)
{
    tx_score *s = new_score(2);
    tx_score_add_note(s, 0, 400000, 36, 80, 1, 0);
    for (int i = 0; i < 6000; i++) {
        tx_score_add_note(s, i * 20, 10, 60 + i % 12, 80, 0, 0);
        tx_score_add_note(s, i * 20, 400000 - i * 20, 40 + i % 40, 80, 1, 0);
        tx_score_add_text(s, i * 20, 0, TX_TEXT_CHORD, i % 3 ? "Am7/g" : "((");
    }
    tx_score_add_note(s, (tx_tick)1 << 40, 0, 70, 80, 0, 0);
    tx_score_sort(s);
    tx_analysis *a;
    CHECK_INT(tx_analyze(s, NULL, &a, NULL), TX_OK);
    if (a) {
        CHECK(a->n_chords > 0);
        CHECK_INT(a->stats.n_notes, 12002);
        CHECK(a->stats.empty_beat_rate > 0.99);   /* almost all of 2^40 ticks is silence */
        CHECK_INT(a->symbols.read, 6000);          /* thousands of symbols over thousands of held notes */
        CHECK_INT(a->symbols.not_understood, 2000);
    }
    tx_analysis_free(a);
    tx_score_free(s);
}

/* ---- out of memory: every allocation in tx_analyze fails in turn ---- */

static long fail_at, n_allocs;

static void *failing_realloc(void *ud, void *p, size_t size)
{
    if (n_allocs++ == fail_at)
        return NULL;
    return realloc(p, size);
}

static void plain_free(void *ud, void *p)
{
    free(p);
}

static void test_oom(void)
{
    tx_score *s = new_score(2);
    static const int a[][2] = {{72, 65}, {74, 67}, {76, 60}, {77, 62}};
    for (int i = 0; i < 4; i++)
        for (int v = 0; v < 2; v++)
            tx_score_add_note(s, i * 4, 4, a[i][v], 80, v, 0);
    tx_score_add_text(s, 0, 0, TX_TEXT_CHORD, "F");
    tx_score_add_text(s, 8, 0, TX_TEXT_CHORD, "C7");
    tx_score_sort(s);
    tx_allocator al = {failing_realloc, plain_free, NULL};
    int done = 0, failures = 0;
    for (fail_at = 0; fail_at < 200 && !done; fail_at++) {
        n_allocs = 0;
        tx_set_allocator(&al);
        tx_analysis *r = NULL;
        tx_error err;
        int rc = tx_analyze(s, NULL, &r, &err);
        tx_set_allocator(NULL);
        if (rc == TX_OK) {
            done = 1;
            CHECK(r != NULL);
        } else {
            CHECK_INT(rc, TX_ENOMEM);
            CHECK(r == NULL);
            failures++;
        }
        tx_analysis_free(r);
    }
    CHECK(done);
    CHECK(failures > 3);
    tx_score_free(s);
}

int main(void)
{
    RUN(test_profiles);
    RUN(test_key_from_histogram);
    RUN(test_key_scores);
    RUN(test_mirex);
    RUN(test_local_keys);
    RUN(test_chord_identify);
    RUN(test_roman);
    RUN(test_secondary_leading_tone);
    RUN(test_augmented_sixths);
    RUN(test_local_romans);
    RUN(test_chord_symbols);
    RUN(test_symbol_agreement);
    RUN(test_cadential_64);
    RUN(test_chordify);
    RUN(test_cadences);
    RUN(test_voice_leading);
    RUN(test_vl_overlap_spacing_range);
    RUN(test_vl_resolutions);
    RUN(test_stats);
    RUN(test_json);
    RUN(test_awkward);
    RUN(test_oom);
    return tx_test_finish();
}
