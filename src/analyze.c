/* analyze.c: key finding (global and local), chordify with roman numerals, cadences, voice leading and
 * statistics on the score model, and their JSON form. It reads scores only; it does not read files,
 * print, or know any format. Sections: key, chords (and roman numerals), cadences, voice leading,
 * statistics, everything at once and JSON.
 */
#include "analyze.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pitched(const tx_score *s, const tx_note *n)
{
    return !(n->flags & TX_NOTE_GRACE) && n->track < s->n_tracks && !s->tracks[n->track].is_drum;
}

/* ==== key ==== */

/* Key profiles, tonic first, as published and as music21 (analysis/discrete.py) and Craig Sapp's
 * Humdrum keycor page give them:
 * Krumhansl & Kessler 1982 (probe-tone ratings); Aarden 2003 (Essen folk songs); Sapp 2011 "simple"
 * weights; Bellman 2005 (after Budge 1943); Temperley 2007 (Kostka-Payne textbook excerpts). */
static const double profiles[5][2][12] = {
    {{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88},
     {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17}},
    {{17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494,
      0.232998, 4.95122},
     {18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186,
      7.37619, 1.75623}},
    {{2, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1},
     {2, 0, 1, 1, 0, 1, 0, 2, 1, 0, 0.5, 0.5}},
    {{16.80, 0.86, 12.95, 1.41, 13.49, 11.93, 1.25, 20.28, 1.80, 8.04, 0.62, 10.57},
     {18.16, 0.69, 12.99, 13.34, 1.07, 11.15, 1.38, 21.07, 7.49, 1.53, 0.92, 10.21}},
    {{0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400},
     {0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330}},
};

/* Choosing the default. Exact accuracy of each profile alone, duration-weighted histograms, measured
 * by tests/slow-analyze-corpora.c on POP909 (909 songs, the key of the longest key_audio.txt segment)
 * and on the ABC corpora (16,165 tunes labelled major or minor by their K: field):
 *                      POP909   ABC
 *   Krumhansl-Kessler  0.826   0.685
 *   Aarden-Essen       0.868   0.746
 *   Simple             0.856   0.746
 *   Bellman-Budge      0.787   0.798
 *   Temperley-K-P      0.817   0.820
 * No single profile is best on both (Aarden-Essen wins on pop songs, Temperley on folk tunes). A vote
 * of the profiles, each key scored by a weighted mean of the profiles' correlations, gets the best of
 * both: weights 1 (Krumhansl-Kessler), 2 (Aarden-Essen), 2 (Simple), 0 (Bellman-Budge), 1 (Temperley)
 * give 0.877 on POP909 and 0.808 on ABC, above Aarden-Essen on both. The weights were picked from a
 * small grid (0, 1 or 2 per profile) on these two sets, so the margin on POP909 (eight songs) is an
 * in-sample figure; equal weights for all five give 0.860 and 0.812. Bass weighting and extra weight on
 * the final note were tried and did not help on POP909. */
static const double ensemble_weights[5] = {1, 2, 2, 0, 1};
static const double ensemble_total = 6;

static const char *const profile_names[TX_KEY_NPROFILES] = {
    "krumhansl-kessler", "aarden-essen", "simple", "bellman-budge", "temperley-kostka-payne", "ensemble",
};

const char *tx_key_profile_name(int profile)
{
    return profile >= 0 && profile < TX_KEY_NPROFILES ? profile_names[profile] : "?";
}

int tx_key_profile_from_name(const char *name)
{
    for (int i = 0; name && i < TX_KEY_NPROFILES; i++)
        if (strcmp(name, profile_names[i]) == 0)
            return i;
    return -1;
}

const double *tx_key_profile_weights(int profile, int mode)
{
    if (profile < 0 || profile >= TX_KEY_ENSEMBLE || (mode != TX_MODE_MAJOR && mode != TX_MODE_MINOR))
        return NULL;
    return profiles[profile][mode == TX_MODE_MINOR];
}

void tx_analyze_pc_histogram(const tx_score *s, double hist[12])
{
    memset(hist, 0, 12 * sizeof *hist);
    double q = s->tpq > 0 ? (double)s->tpq : 1.0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        if (!pitched(s, n))
            continue;
        hist[n->pitch % 12] += n->duration > 0 ? (double)n->duration / q : 0.25;
    }
}

/* Pearson r of x with profile p rotated so that its tonic sits on pitch class `tonic`. */
static double pearson(const double x[12], const double p[12], int tonic)
{
    double mx = 0, mp = 0;
    for (int i = 0; i < 12; i++) {
        mx += x[i];
        mp += p[i];
    }
    mx /= 12;
    mp /= 12;
    double sxy = 0, sxx = 0, spp = 0;
    for (int i = 0; i < 12; i++) {
        double a = x[(i + tonic) % 12] - mx, b = p[i] - mp;
        sxy += a * b;
        sxx += a * a;
        spp += b * b;
    }
    return sxx > 0 && spp > 0 ? sxy / sqrt(sxx * spp) : 0.0;
}

int tx_key_from_histogram(const double hist[12], int profile, tx_key_result *out)
{
    if (profile < 0 || profile >= TX_KEY_NPROFILES)
        return TX_EINVAL;
    memset(out, 0, sizeof *out);
    out->profile = profile;
    memcpy(out->histogram, hist, 12 * sizeof *hist);
    double total = 0;
    for (int i = 0; i < 12; i++)
        total += hist[i] > 0 ? hist[i] : 0;
    if (!(total > 0))
        return TX_OK;
    out->found = 1;
    tx_key_candidate all[24];
    for (int k = 0; k < 24; k++) {
        int tonic = k % 12, minor = k / 12;
        double r = 0;
        if (profile == TX_KEY_ENSEMBLE) {
            for (int p = 0; p < TX_KEY_ENSEMBLE; p++)
                if (ensemble_weights[p] > 0)
                    r += ensemble_weights[p] * pearson(hist, profiles[p][minor], tonic);
            r /= ensemble_total;
        } else {
            r = pearson(hist, profiles[profile][minor], tonic);
        }
        all[k] = (tx_key_candidate){tonic, minor ? TX_MODE_MINOR : TX_MODE_MAJOR, r};
    }
    /* stable insertion sort, highest correlation first: ties keep the lower key index (C before C#,
     * major before minor), so results are deterministic */
    for (int i = 1; i < 24; i++)
        for (int j = i; j > 0 && all[j].correlation > all[j - 1].correlation; j--) {
            tx_key_candidate t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    out->best = all[0];
    for (int j = 0; j < TX_KEY_RUNNERS_UP; j++)
        out->runners_up[j] = all[j + 1];
    return TX_OK;
}

int tx_analyze_key(const tx_score *s, int profile, tx_key_result *out)
{
    double hist[12];
    tx_analyze_pc_histogram(s, hist);
    return tx_key_from_histogram(hist, profile, out);
}

const char *tx_key_tonic_name(int tonic, int mode)
{
    static const char *const major[12] = {"C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
    static const char *const minor[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"};
    tonic = ((tonic % 12) + 12) % 12;
    return mode == TX_MODE_MINOR ? minor[tonic] : major[tonic];
}

double tx_key_mirex_score(int ref_tonic, int ref_mode, int tonic, int mode)
{
    int d = ((tonic - ref_tonic) % 12 + 12) % 12;
    if (mode == ref_mode)
        return d == 0 ? 1.0 : d == 7 ? 0.5 : 0.0;
    if (ref_mode == TX_MODE_MAJOR && mode == TX_MODE_MINOR && d == 9)
        return 0.3;
    if (ref_mode == TX_MODE_MINOR && mode == TX_MODE_MAJOR && d == 3)
        return 0.3;
    return d == 0 ? 0.2 : 0.0;
}

/* The correlation of hist with one key of a profile (the ensemble: its weighted mean). */
static double key_correlation(const double hist[12], int profile, int tonic, int minor)
{
    if (profile != TX_KEY_ENSEMBLE)
        return pearson(hist, profiles[profile][minor], tonic);
    double r = 0;
    for (int p = 0; p < TX_KEY_ENSEMBLE; p++)
        if (ensemble_weights[p] > 0)
            r += ensemble_weights[p] * pearson(hist, profiles[p][minor], tonic);
    return r / ensemble_total;
}

/* Keeping the local key stable. Each bar's window names its best key, but windows that straddle a
 * modulation, or that hold a short tonicization (a V/V and its V), often name a neighbouring key for
 * a bar or two, and a roman numeral read in that key is wrong. So a new key takes over only where
 * the evidence is clear: in its first bar's window it must beat the key in force by at least
 * TX_LOCAL_KEY_MARGIN in correlation, and it must stay the best key (by any margin) of the windows
 * of the next TX_LOCAL_KEY_PERSIST - 1 bars as well. A bar whose window does not clear both
 * thresholds keeps the key in force. The margin (0.05 in correlation) and the two bars were set by
 * hand on the unit tests' modulating scores (a tonicization of V inside eight bars of C major must not
 * make a segment; eight bars in G after them must), not fitted to a labelled set: tactus has no
 * local-key annotations to measure against. */
#define TX_LOCAL_KEY_MARGIN 0.05
#define TX_LOCAL_KEY_PERSIST 2

int tx_analyze_local_keys(const tx_score *s, int profile, int window_bars, tx_key_segment **out, size_t *n,
                          tx_error *err)
{
    *out = NULL;
    *n = 0;
    if (profile < 0 || profile >= TX_KEY_NPROFILES)
        return tx_error_set(err, TX_EINVAL, "analyze: unknown key profile %d", profile);
    if (window_bars < 1)
        window_bars = 8;
    int64_t bars = tx_score_bar_count(s);
    /* a histogram per bar; a score whose bars outnumber its notes many times over (a hostile tick
     * range) is cut to its first 4 * notes + 64 bars, and notes beyond them get no local key */
    if (bars <= 0)
        return TX_OK;
    if (bars > (int64_t)s->n_notes * 4 + 64)
        bars = (int64_t)s->n_notes * 4 + 64;
    double (*h)[12] = tx_calloc((size_t)bars, sizeof *h);
    double (*w)[12] = tx_calloc((size_t)bars, sizeof *w);   /* each bar's window */
    tx_key_candidate *best = tx_calloc((size_t)bars, sizeof *best);
    int *found = tx_calloc((size_t)bars, sizeof *found);
    if (!h || !w || !best || !found) {
        tx_free(h);
        tx_free(w);
        tx_free(best);
        tx_free(found);
        return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
    }
    double q = (double)s->tpq;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *nt = &s->notes[i];
        if (!pitched(s, nt))
            continue;
        tx_barpos p;
        tx_score_locate(s, nt->onset, &p);
        if (p.bar >= 0 && p.bar < bars)   /* a note counts in the bar where it starts */
            h[p.bar][nt->pitch % 12] += nt->duration > 0 ? (double)nt->duration / q : 0.25;
    }
    int64_t half = window_bars / 2;
    for (int64_t b = 0; b < bars; b++) {
        int64_t lo = b - half, hi;
        if (lo + window_bars > bars)   /* windows at the edges stay whole, inside the piece */
            lo = bars - window_bars;
        if (lo < 0)
            lo = 0;
        hi = lo + window_bars;
        for (int64_t j = lo; j < hi && j < bars; j++)
            for (int k = 0; k < 12; k++)
                w[b][k] += h[j][k];
        tx_key_result kr;
        tx_key_from_histogram(w[b], profile, &kr);
        found[b] = kr.found;
        best[b] = kr.best;
    }
    tx_key_segment *segs = NULL;
    size_t ns = 0, cap = 0;
    int rc = TX_OK;
    for (int64_t b = 0; b < bars; b++) {
        tx_tick start = tx_score_bar_tick(s, b), end = tx_score_bar_tick(s, b + 1);
        tx_key_segment *g = ns ? &segs[ns - 1] : NULL;
        int change = found[b] && !g;
        if (found[b] && g && (best[b].tonic != g->tonic || best[b].mode != g->mode)) {
            double r_cur = key_correlation(w[b], profile, g->tonic, g->mode == TX_MODE_MINOR);
            change = best[b].correlation - r_cur >= TX_LOCAL_KEY_MARGIN;
            /* the new key must still be best where the next bars' windows have notes */
            for (int64_t j = b + 1; change && j < b + TX_LOCAL_KEY_PERSIST && j < bars; j++)
                if (found[j] && (best[j].tonic != best[b].tonic || best[j].mode != best[b].mode))
                    change = 0;
        }
        if (!change) {
            if (!g)
                continue;   /* no notes in any window yet */
            double nb = (double)(g->last_bar - g->first_bar + 1);
            if (found[b])
                g->correlation = (g->correlation * nb + key_correlation(w[b], profile, g->tonic,
                                                                        g->mode == TX_MODE_MINOR)) / (nb + 1);
            g->last_bar = b;
            g->end = end;
            continue;
        }
        if (tx_grow((void **)&segs, &cap, ns + 1, sizeof *segs)) {
            rc = tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
            tx_free(segs);
            segs = NULL;
            ns = 0;
            break;
        }
        segs[ns++] = (tx_key_segment){b, b, start, end, best[b].tonic, best[b].mode, best[b].correlation};
    }
    tx_free(h);
    tx_free(w);
    tx_free(best);
    tx_free(found);
    *out = segs;
    *n = ns;
    return rc;
}

/* ==== chords ==== */

typedef struct quality_def {
    const char *name;     /* for tx_chord_quality_name */
    const char *suffix;   /* after the root in a chord name */
    unsigned mask;        /* intervals above the root */
    int third, fifth, seventh;   /* semitones of the chord's third, fifth, seventh (-1 none) */
} quality_def;

#define B(x) (1u << (x))
static const quality_def qualities[TX_CHORD_NQUALITIES] = {
    {"major", "", B(0) | B(4) | B(7), 4, 7, -1},
    {"minor", "m", B(0) | B(3) | B(7), 3, 7, -1},
    {"diminished", "dim", B(0) | B(3) | B(6), 3, 6, -1},
    {"augmented", "aug", B(0) | B(4) | B(8), 4, 8, -1},
    {"dominant seventh", "7", B(0) | B(4) | B(7) | B(10), 4, 7, 10},
    {"major seventh", "maj7", B(0) | B(4) | B(7) | B(11), 4, 7, 11},
    {"minor seventh", "m7", B(0) | B(3) | B(7) | B(10), 3, 7, 10},
    {"half-diminished seventh", "m7b5", B(0) | B(3) | B(6) | B(10), 3, 6, 10},
    {"diminished seventh", "dim7", B(0) | B(3) | B(6) | B(9), 3, 6, 9},
    {"minor-major seventh", "mmaj7", B(0) | B(3) | B(7) | B(11), 3, 7, 11},
    {"suspended second", "sus2", B(0) | B(2) | B(7), 2, 7, -1},
    {"suspended fourth", "sus4", B(0) | B(5) | B(7), 5, 7, -1},
    {"major sixth", "6", B(0) | B(4) | B(7) | B(9), 4, 7, -1},
    {"minor sixth", "m6", B(0) | B(3) | B(7) | B(9), 3, 7, -1},
    {"dominant ninth", "9", B(0) | B(2) | B(4) | B(7) | B(10), 4, 7, 10},
    {"major ninth", "maj9", B(0) | B(2) | B(4) | B(7) | B(11), 4, 7, 11},
    {"minor ninth", "m9", B(0) | B(2) | B(3) | B(7) | B(10), 3, 7, 10},
    {"power", "5", B(0) | B(7), -1, 7, -1},
};
#undef B

const char *tx_chord_quality_name(int quality)
{
    return quality >= 0 && quality < TX_CHORD_NQUALITIES ? qualities[quality].name : "?";
}

unsigned tx_chord_quality_mask(int quality)
{
    return quality >= 0 && quality < TX_CHORD_NQUALITIES ? qualities[quality].mask : 0;
}

static int popcount12(unsigned m)
{
    int c = 0;
    for (int i = 0; i < 12; i++)
        c += (m >> i) & 1;
    return c;
}

static unsigned rotate_down(unsigned mask, int r)
{
    /* pitch-class set seen from root r: bit i set when class (r + i) is present */
    mask &= 0xfff;
    return ((mask >> r) | (mask << (12 - r))) & 0xfff;
}

int tx_chord_identify(unsigned pc_mask, int bass, tx_chord *out)
{
    pc_mask &= 0xfff;
    int n = popcount12(pc_mask);
    if (n < 2)
        return -1;
    bass = ((bass % 12) + 12) % 12;
    int best_score = INT32_MIN, best_root = -1, best_q = -1;
    for (int r = 0; r < 12; r++) {
        if (!((pc_mask >> r) & 1))
            continue;   /* the root must sound */
        unsigned rel = rotate_down(pc_mask, r);
        for (int q = 0; q < TX_CHORD_NQUALITIES; q++) {
            const quality_def *d = &qualities[q];
            unsigned t = d->mask;
            int hits = popcount12(rel & t), missing = popcount12(t & ~rel), extra = popcount12(rel & ~t);
            /* a missing fifth is common (and perfect fifths are often left out); a missing third or
             * seventh changes what the chord is, so it costs more */
            int miss_cost = 0;
            for (int i = 1; i < 12; i++)
                if (((t & ~rel) >> i) & 1)
                    miss_cost += i == 7 ? 2 : 5;
            if (missing * 2 > popcount12(t))
                continue;
            /* prefer covering the notes, then fewer additions, then the bass as root, then the simpler
             * chord (earlier in the table) */
            int score = hits * 10 - miss_cost * 2 - extra * 7 + (r == bass ? 3 : 0) - q / 4;
            if (score > best_score) {
                best_score = score;
                best_root = r;
                best_q = q;
            }
        }
    }
    if (best_root < 0)
        return -1;
    const quality_def *d = &qualities[best_q];
    int bi = (bass - best_root + 12) % 12;
    out->root = best_root;
    out->quality = best_q;
    out->bass = bass;
    out->n_pitches = n;
    out->pcs = pc_mask;
    out->inversion = bi == 0 ? 0 : bi == d->third ? 1 : bi == d->fifth ? 2 : bi == d->seventh ? 3 : -1;
    out->key_tonic = out->key_mode = -1;
    tx_chord_spell(out, -1, -1);
    return 0;
}

void tx_chord_spell(tx_chord *c, int key_tonic, int key_mode)
{
    /* without a key: sharps, except the usual flat roots (Bb, Eb, Ab) */
    static const char *const plain[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
    const char *names[12];
    memcpy(names, plain, sizeof names);
    if (key_tonic >= 0 && (key_mode == TX_MODE_MAJOR || key_mode == TX_MODE_MINOR)) {
        int major = (key_tonic + (key_mode == TX_MODE_MINOR ? 3 : 0)) % 12;
        int fifths = (major * 7) % 12;   /* sharps of the major key; 7 to 11 are 5 to 1 flats */
        if (fifths > 6 || (fifths == 6 && key_mode == TX_MODE_MINOR && key_tonic == 3))
            fifths -= 12;
        for (int pc = 0; pc < 12; pc++)
            if (fifths != 0)
                names[pc] = tx_pitch_class_name(pc, fifths);
        if (fifths == 0 && key_mode == TX_MODE_MINOR)
            names[8] = "G#";   /* A minor's leading tone */
    }
    const char *suffix = c->quality >= 0 && c->quality < TX_CHORD_NQUALITIES ? qualities[c->quality].suffix : "?";
    int root = ((c->root % 12) + 12) % 12, bass = ((c->bass % 12) + 12) % 12;
    if (root == bass)
        snprintf(c->name, sizeof c->name, "%s%s", names[root], suffix);
    else
        snprintf(c->name, sizeof c->name, "%s%s/%s", names[root], suffix, names[bass]);
}

/* ---- roman numerals ---- */

static int minor_third(int quality)
{
    switch (quality) {
    case TX_CHORD_MINOR: case TX_CHORD_DIMINISHED: case TX_CHORD_MINOR7: case TX_CHORD_HALF_DIMINISHED7:
    case TX_CHORD_DIMINISHED7: case TX_CHORD_MINOR_MAJOR7: case TX_CHORD_MINOR6: case TX_CHORD_MINOR9:
        return 1;
    default:
        return 0;
    }
}

static int is_seventh(int quality)
{
    return quality >= TX_CHORD_DOMINANT7 && quality <= TX_CHORD_MINOR_MAJOR7;
}

/* The scale of a key as pitch classes above the tonic: major, or harmonic minor (with the raised
 * seventh of its dominant and leading-tone chords) plus the natural seventh (its subtonic). */
static unsigned key_scale(int mode)
{
    return mode == TX_MODE_MINOR ? 0xdad : 0xab5;   /* 0 2 3 5 7 8 10 11, 0 2 4 5 7 9 11 */
}

/* The numeral of the degree d semitones above the tonic, upper case, with b / # for chromatic ones. */
static const char *degree_numeral(int d, int mode)
{
    static const char *const major[12] = {"I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII",
                                          "VII"};
    static const char *const minor[12] = {"I", "bII", "II", "III", "#III", "IV", "#IV", "V", "VI", "#VI", "VII",
                                          "VII"};
    return (mode == TX_MODE_MINOR ? minor : major)[((d % 12) + 12) % 12];
}

/* Appends the numeral in the chord's case ("V", "ii", "bVI", "#iv") to buf. */
static void put_numeral(char *buf, size_t n, const char *numeral, int lower)
{
    size_t len = strlen(buf);
    for (const char *p = numeral; *p && len + 1 < n; p++)
        buf[len++] = lower && (*p == 'I' || *p == 'V') ? (char)(*p - 'A' + 'a') : *p;
    buf[len] = '\0';
}

static void put_figures(char *buf, size_t n, const tx_chord *c)
{
    static const char *const triad[3] = {"", "6", "64"}, *const seventh[4] = {"7", "65", "43", "42"};
    size_t len = strlen(buf);
    const char *q = "";
    switch (c->quality) {
    case TX_CHORD_DIMINISHED: q = "o"; break;
    case TX_CHORD_AUGMENTED: q = "+"; break;
    case TX_CHORD_HALF_DIMINISHED7: q = "\xc3\xb8"; break;   /* U+00F8, as music21 writes it */
    case TX_CHORD_DIMINISHED7: q = "o"; break;
    case TX_CHORD_MAJOR7: case TX_CHORD_MINOR_MAJOR7: q = "M"; break;
    default: break;
    }
    const char *fig = "";
    if (is_seventh(c->quality))
        fig = c->inversion >= 0 && c->inversion <= 3 ? seventh[c->inversion] : "7";
    else if (c->quality <= TX_CHORD_AUGMENTED)
        fig = c->inversion >= 0 && c->inversion <= 2 ? triad[c->inversion] : "";
    else
        fig = qualities[c->quality].suffix;   /* sus4, 6, 9, 5: named as in chord symbols */
    snprintf(buf + len, n - len, "%s%s", q, fig);
}

/* The inversion of a chord of quality q on root r over bass (0 root position ... 3 seventh), -1 when
 * the bass is no chord tone. */
static int inversion_of(int q, int r, int bass)
{
    const quality_def *d = &qualities[q];
    int bi = ((bass - r) % 12 + 12) % 12;
    return bi == 0 ? 0 : bi == d->third ? 1 : bi == d->fifth ? 2 : bi == d->seventh ? 3 : -1;
}

/* A degree (semitones above the tonic) that a secondary chord may point at: in the scale, with a
 * triad whose fifth is perfect (no V/vii°, no V/ii° in minor). */
static int tonicizable(int target, unsigned scale)
{
    return target > 0 && ((scale >> target) & 1) && ((scale >> ((target + 7) % 12)) & 1);
}

/* Rereads a symmetrical or ambiguous chord for its roman numeral (see tx_chord_roman): a diminished
 * seventh on the root that makes sense in the key (the leading tone, a root a semitone under next_root
 * when the chord goes there at once, a root under a diatonic degree), a minor sixth chord as the
 * half-diminished seventh it also is. Returns c itself or *tmp. */
static const tx_chord *reread(const tx_chord *c, int tonic, int mode, int next_root, tx_chord *tmp)
{
    unsigned scale = key_scale(mode);
    if (c->quality == TX_CHORD_DIMINISHED7) {
        static const int order[7] = {7, 5, 2, 9, 4, 8, 3};   /* V, IV, ii, vi, iii; minor VI, III */
        int roots[4], pick = -1;
        for (int k = 0; k < 4; k++)
            roots[k] = (c->root + 3 * k) % 12;
        for (int k = 0; k < 4 && pick < 0; k++)   /* the key's own leading tone: viio7 */
            if (((roots[k] - tonic) % 12 + 12) % 12 == 11)
                pick = roots[k];
        for (int k = 0; k < 4 && pick < 0 && next_root >= 0; k++)
            if ((roots[k] + 1) % 12 == next_root
                && tonicizable(((next_root - tonic) % 12 + 12) % 12, scale))
                pick = roots[k];
        for (int k = 0; k < 4 && pick < 0; k++)   /* viio7/V, the commonest */
            if (((roots[k] + 1 - tonic) % 12 + 12) % 12 == 7)
                pick = roots[k];
        if (pick < 0 && tonicizable(((c->root + 1 - tonic) % 12 + 12) % 12, scale))
            pick = c->root;   /* the identifier's root is the bass when it can be */
        for (int o = 1; o < 7 && pick < 0; o++)
            for (int k = 0; k < 4 && pick < 0; k++)
                if (((roots[k] + 1 - tonic) % 12 + 12) % 12 == order[o] && tonicizable(order[o], scale))
                    pick = roots[k];
        if (pick < 0 || pick == c->root)
            return c;
        *tmp = *c;
        tmp->root = pick;
        tmp->inversion = inversion_of(TX_CHORD_DIMINISHED7, pick, c->bass);
        return tmp;
    }
    if (c->quality == TX_CHORD_MINOR6) {
        int r = (c->root + 9) % 12, d = ((r - tonic) % 12 + 12) % 12;
        unsigned rel = rotate_down(rotate_down(qualities[TX_CHORD_HALF_DIMINISHED7].mask, (12 - r) % 12), tonic);
        int diatonic = (rel & ~scale) == 0;
        int ok = diatonic ? d == (mode == TX_MODE_MINOR ? 2 : 11) : tonicizable((d + 1) % 12, scale);
        if (!ok)
            return c;
        *tmp = *c;
        tmp->root = r;
        tmp->quality = TX_CHORD_HALF_DIMINISHED7;
        tmp->inversion = inversion_of(TX_CHORD_HALF_DIMINISHED7, r, c->bass);
        return tmp;
    }
    return c;
}

/* The augmented sixths by their exact pitch-class set seen from the tonic: b6 1 #4 (Italian), plus 2
 * (French), plus b3 (German). The identifier names them otherwise (Ab7 for the German sixth in C, Ab7
 * without its fifth for the Italian, Ab7 with an added D for the French), so the set is what counts,
 * not the quality. The figures are those of the chord each is an inversion of, as RomanText counts
 * them: the Italian a triad and the German a seventh chord on #4 (#4 b6 1 b3), the French a seventh
 * chord on 2 (2 #4 b6 1); the usual forms, with b6 in the bass, are then It6, Ger65 and Fr43. NULL
 * when the set is none of them. */
static const char *augmented_sixth(const tx_chord *c, int tonic, char *buf)
{
    if (!c->pcs)
        return NULL;
    unsigned set = rotate_down(c->pcs & 0xfff, tonic);
    const unsigned it = (1u << 8) | (1u << 0) | (1u << 6);
    int bass = ((c->bass - tonic) % 12 + 12) % 12;
    /* bass degree -> figures, per chord: It over #4 b6 1; Fr over 2 #4 b6 1; Ger over #4 b6 1 b3 */
    const char *name = NULL, *fig = NULL;
    if (set == it) {
        name = "It";
        fig = bass == 6 ? "" : bass == 8 ? "6" : "64";
    } else if (set == (it | (1u << 2))) {
        name = "Fr";
        fig = bass == 2 ? "7" : bass == 6 ? "65" : bass == 8 ? "43" : "42";
    } else if (set == (it | (1u << 3))) {
        name = "Ger";
        fig = bass == 6 ? "7" : bass == 8 ? "65" : bass == 0 ? "43" : "42";
    } else {
        return NULL;
    }
    snprintf(buf, 24, "%s%s", name, fig);
    return buf;
}

static const char *roman_in(const tx_chord *c0, int tonic, int mode, int next_root, char *buf)
{
    buf[0] = '\0';
    if (c0->quality < 0 || c0->quality >= TX_CHORD_NQUALITIES || (mode != TX_MODE_MAJOR && mode != TX_MODE_MINOR))
        return buf;
    tonic = ((tonic % 12) + 12) % 12;
    if (augmented_sixth(c0, tonic, buf))
        return buf;
    tx_chord tmp;
    const tx_chord *c = reread(c0, tonic, mode, next_root, &tmp);
    int d = ((c->root - tonic) % 12 + 12) % 12;
    unsigned scale = key_scale(mode);
    unsigned rel = rotate_down(rotate_down(qualities[c->quality].mask, (12 - c->root) % 12), tonic);
    int diatonic = (rel & ~scale) == 0;
    /* the Neapolitan: a major triad on the lowered second */
    if (d == 1 && c->quality == TX_CHORD_MAJOR) {
        snprintf(buf, 24, "N%s", c->inversion == 1 ? "6" : "");
        return buf;
    }
    if (!diatonic) {
        /* secondary dominants (V, V7 of a diatonic degree) and leading-tone chords (viio, viio7,
         * viiø7 of one) */
        int dominant = c->quality == TX_CHORD_MAJOR || c->quality == TX_CHORD_DOMINANT7;
        int leading = c->quality == TX_CHORD_DIMINISHED || c->quality == TX_CHORD_DIMINISHED7
                      || c->quality == TX_CHORD_HALF_DIMINISHED7;
        int target = dominant ? (d + 5) % 12 : leading ? (d + 1) % 12 : -1;
        if (target > 0 && tonicizable(target, scale)) {
            /* the target's own triad in the key: minor when its third above is a minor third */
            int third = (scale >> ((target + 3) % 12)) & 1 && !((scale >> ((target + 4) % 12)) & 1);
            put_numeral(buf, 24, dominant ? "V" : "VII", !dominant);
            put_figures(buf, 24, c);
            size_t len = strlen(buf);
            snprintf(buf + len, 24 - len, "/");
            put_numeral(buf, 24, degree_numeral(target, mode), third);
            return buf;
        }
    }
    const char *numeral = degree_numeral(d, mode);
    if (mode == TX_MODE_MINOR && d == 11 && !minor_third(c->quality))
        numeral = "#VII";
    put_numeral(buf, 24, numeral, minor_third(c->quality));
    put_figures(buf, 24, c);
    return buf;
}

const char *tx_chord_roman(const tx_chord *c, int tonic, int mode, char *buf)
{
    return roman_in(c, tonic, mode, -1, buf);
}

/* Romans of chords[0..n) in the key each carries (key_tonic, key_mode), the cadential 6/4 included. */
static void romans_keyed(tx_chord *chords, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tx_chord *c = &chords[i];
        /* the chord that follows at once, for the root of a diminished seventh */
        int next = i + 1 < n && chords[i + 1].onset == c->end ? chords[i + 1].root : -1;
        roman_in(c, c->key_tonic, c->key_mode, next, c->roman);
    }
    /* the cadential 6/4: I64 (i64) straight into V or V7 over the same bass, in one key. The dominant
     * after it keeps its own numeral, as in RomanText's "Cad64 V". */
    for (size_t i = 0; i + 1 < n; i++) {
        const tx_chord *c = &chords[i], *v = &chords[i + 1];
        int mode = c->key_mode, tonic = c->key_tonic;
        if ((mode != TX_MODE_MAJOR && mode != TX_MODE_MINOR) || v->key_tonic != tonic || v->key_mode != mode)
            continue;
        tonic = ((tonic % 12) + 12) % 12;
        int dominant = (tonic + 7) % 12;
        int tonic_triad = c->root == tonic && (c->quality == TX_CHORD_MAJOR || c->quality == TX_CHORD_MINOR);
        int v_after = v->root == dominant && (v->quality == TX_CHORD_MAJOR || v->quality == TX_CHORD_DOMINANT7);
        if (tonic_triad && c->inversion == 2 && c->bass == dominant && v_after && v->bass == dominant
            && v->onset == c->end)
            snprintf(chords[i].roman, sizeof chords[i].roman, "Cad64");
    }
}

void tx_analyze_romans(tx_chord *chords, size_t n, int tonic, int mode)
{
    for (size_t i = 0; i < n; i++) {
        chords[i].key_tonic = ((tonic % 12) + 12) % 12;
        chords[i].key_mode = mode;
    }
    romans_keyed(chords, n);
}

void tx_analyze_romans_local(tx_chord *chords, size_t n, const tx_key_segment *keys, size_t n_keys, int tonic,
                             int mode)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k + 1 < n_keys && keys[k + 1].start <= chords[i].onset)
            k++;
        int in = n_keys && keys[k].start <= chords[i].onset;
        chords[i].key_tonic = in ? keys[k].tonic : ((tonic % 12) + 12) % 12;
        chords[i].key_mode = in ? keys[k].mode : mode;
    }
    romans_keyed(chords, n);
}

/* Walks the onset slices of s: for each distinct onset of a pitched note, the notes sounding there.
 * Notes of zero length sound at their onset only. */
typedef struct slicer {
    const tx_score *s;
    size_t next;             /* next note to enter */
    size_t *active; size_t n_active, cap_active;
} slicer;

/* Advances to the next onset; returns 0 at the end, -1 out of memory, else 1 with *tick set. */
static int slicer_next(slicer *sl, tx_tick *tick)
{
    const tx_score *s = sl->s;
    while (sl->next < s->n_notes && !pitched(s, &s->notes[sl->next]))
        sl->next++;
    if (sl->next >= s->n_notes)
        return 0;
    tx_tick t = s->notes[sl->next].onset;
    size_t k = 0;
    for (size_t i = 0; i < sl->n_active; i++) {
        const tx_note *n = &s->notes[sl->active[i]];
        if (n->onset + n->duration > t)
            sl->active[k++] = sl->active[i];
    }
    sl->n_active = k;
    while (sl->next < s->n_notes && s->notes[sl->next].onset == t) {
        if (pitched(s, &s->notes[sl->next])) {
            if (tx_grow((void **)&sl->active, &sl->cap_active, sl->n_active + 1, sizeof *sl->active))
                return -1;
            sl->active[sl->n_active++] = sl->next;
        }
        sl->next++;
    }
    *tick = t;
    return 1;
}

int tx_analyze_chords(const tx_score *s, tx_chord **out, size_t *n, tx_error *err)
{
    *out = NULL;
    *n = 0;
    slicer sl = {s, 0, NULL, 0, 0};
    tx_chord *chords = NULL;
    size_t nc = 0, cap = 0;
    tx_tick t;
    int r;
    while ((r = slicer_next(&sl, &t)) > 0) {
        unsigned mask = 0;
        int low = 128;
        tx_tick end = t;
        for (size_t i = 0; i < sl.n_active; i++) {
            const tx_note *nt = &s->notes[sl.active[i]];
            mask |= 1u << (nt->pitch % 12);
            if (nt->pitch < low)
                low = nt->pitch;
            if (nt->onset + nt->duration > end)
                end = nt->onset + nt->duration;
        }
        tx_chord c;
        memset(&c, 0, sizeof c);
        if (nc)   /* the previous chord lasts until this slice at most */
            if (chords[nc - 1].end > t)
                chords[nc - 1].end = t;
        /* a slice of one or two pitch classes, all in the chord before it (which sounded until at
         * most a beat ago), continues that chord: broken chords and arpeggios, where the notes of one
         * harmony come one or two at a time */
        if (nc && popcount12(mask) < 3 && t - chords[nc - 1].end <= s->tpq) {
            tx_chord *p = &chords[nc - 1];
            unsigned pm = rotate_down(qualities[p->quality].mask, (12 - p->root) % 12);
            if ((mask & ~pm) == 0) {
                if (end > p->end)
                    p->end = end;
                continue;
            }
        }
        if (tx_chord_identify(mask, low, &c))
            continue;
        if (nc && chords[nc - 1].end == t && chords[nc - 1].root == c.root && chords[nc - 1].quality == c.quality
            && chords[nc - 1].bass == c.bass) {
            chords[nc - 1].end = end;
            continue;
        }
        if (tx_grow((void **)&chords, &cap, nc + 1, sizeof *chords)) {
            r = -1;
            break;
        }
        c.onset = t;
        c.end = end;
        chords[nc++] = c;
    }
    tx_free(sl.active);
    if (r < 0) {
        tx_free(chords);
        return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
    }
    *out = chords;
    *n = nc;
    return TX_OK;
}

/* ==== chord symbols ==== */

/* A note letter (either case) to its pitch class, -1 for anything else. */
static int letter_pc(int c)
{
    static const int nat[7] = {9, 11, 0, 2, 4, 5, 7};   /* A..G */
    if (c >= 'a' && c <= 'g')
        c -= 'a' - 'A';
    return c >= 'A' && c <= 'G' ? nat[c - 'A'] : -1;
}

/* Matches the literal w at *p and moves past it. */
static int eat(const char **p, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(*p, w, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* An accidental after a note letter: # b (and the UTF-8 sharp and flat signs); with `nottingham`
 * also + and - (the Nottingham set's "f+" for F#). Returns the alteration in semitones. */
static int accidental(const char **p, int nottingham)
{
    int alt = 0;
    for (int k = 0; k < 2; k++) {
        if (**p == '#' || (nottingham && **p == '+'))
            alt++, (*p)++;
        else if (**p == 'b' || (nottingham && **p == '-'))
            alt--, (*p)++;
        else if (eat(p, "\xe2\x99\xaf"))
            alt++;
        else if (eat(p, "\xe2\x99\xad"))
            alt--;
        else
            break;
    }
    return alt;
}

enum { THIRD_MAJOR, THIRD_MINOR, THIRD_DIM, THIRD_AUG, THIRD_HALFDIM, THIRD_SUS2, THIRD_SUS4, THIRD_POWER };
enum { SEV_NONE, SEV_SIXTH, SEV_MINOR, SEV_MAJOR };

int tx_chord_symbol_parse(const char *text, tx_chord_symbol *out)
{
    if (!text)
        return -1;
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    int paren = *p == '(';
    p += paren;
    int root = letter_pc(*p);
    if (root < 0 || *p < 'A' || *p > 'G')   /* roots are capitals: "a" or "b" would be ambiguous */
        return -1;
    p++;
    root = ((root + accidental(&p, 0)) % 12 + 12) % 12;
    int third = THIRD_MAJOR, sev = SEV_NONE, ext = 0, fifth = 0, maj = 0, first = 1, depth = 0;
    /* the quality: a third marker first, then numbers, suspensions, additions and alterations in any
     * order, parentheses allowed around them */
    for (;;) {
        const char *q = p;
        if (*p == '(' && !depth) {
            depth = 1;
            p++;
            continue;
        }
        if (*p == ')' && depth) {
            if (p[-1] == '(')
                return -1;   /* "C()" */
            depth = 0;
            p++;
            continue;
        }
        if (!*p || *p == '/' || *p == ')' || *p == ' ' || *p == '\t')
            break;
        if (eat(&p, "add")) {   /* before "a" (augmented) and "d" (diminished) */
            if (!(eat(&p, "13") || eat(&p, "11") || eat(&p, "9") || eat(&p, "2") || eat(&p, "4") || eat(&p, "6")))
                return -1;
        } else if (eat(&p, "maj") || eat(&p, "Maj") || eat(&p, "MAJ") || (strncmp(p, "ma", 2) == 0 && p[2] >= '0' && p[2] <= '9' && (p += 2))
            || eat(&p, "M") || eat(&p, "j")
            || eat(&p, "\xce\x94") || eat(&p, "\xe2\x88\x86") || eat(&p, "^")) {
            maj = 1;   /* a major seventh when a number follows, else the major triad */
        } else if (first && (eat(&p, "min") || eat(&p, "mi") || eat(&p, "m") || eat(&p, "-"))) {
            third = THIRD_MINOR;
        } else if (first && (eat(&p, "dim") || eat(&p, "o") || eat(&p, "\xc2\xb0") || eat(&p, "d"))) {
            third = THIRD_DIM;
        } else if (first && (eat(&p, "aug") || eat(&p, "+") || eat(&p, "a"))) {
            third = THIRD_AUG;
        } else if (eat(&p, "\xc3\xb8")) {
            third = THIRD_HALFDIM;
            sev = SEV_MINOR;
        } else if (eat(&p, "sus2")) {
            third = THIRD_SUS2;
        } else if (eat(&p, "sus4") || eat(&p, "sus")) {
            third = THIRD_SUS4;
        } else if (*p == 'b' || *p == '#' || *p == '-' || *p == '+') {
            /* an alteration: b5 #5 -5 +5 b9 #9 #11 b13 */
            int down = *p == 'b' || *p == '-';
            p++;
            if (eat(&p, "5"))
                fifth = down ? -1 : 1;
            else if (!(eat(&p, "13") || eat(&p, "11") || eat(&p, "9")))
                return -1;
            else {
                ext = 1;
                if (sev == SEV_NONE)
                    sev = SEV_MINOR;   /* C7b9 and C(b9) alike imply the seventh */
            }
        } else if (eat(&p, "13") || eat(&p, "11") || eat(&p, "9")) {
            ext = 1;
            if (sev != SEV_MAJOR)
                sev = maj ? SEV_MAJOR : SEV_MINOR;
        } else if (eat(&p, "7")) {
            sev = maj ? SEV_MAJOR : SEV_MINOR;
        } else if (eat(&p, "69") || eat(&p, "6")) {
            sev = SEV_SIXTH;
        } else if (first && eat(&p, "5")) {
            third = THIRD_POWER;
        } else {
            return -1;
        }
        if (p == q)
            return -1;
        first = 0;
    }
    if (depth)
        return -1;
    int bass = -1;
    if (*p == '/') {
        p++;
        bass = letter_pc(*p);
        if (bass < 0)
            return -1;
        p++;
        bass = ((bass + accidental(&p, 1)) % 12 + 12) % 12;
    }
    if (paren) {
        if (*p != ')')
            return -1;
        p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return -1;
    /* "maj" alone is the major triad; a lone "M" after minor is the minor-major seventh's */
    int quality, majmin = TX_MAJMIN_OTHER;
    switch (third) {
    case THIRD_MINOR:
        if (fifth < 0 && sev == SEV_MINOR)
            quality = TX_CHORD_HALF_DIMINISHED7;
        else {
            quality = sev == SEV_MAJOR ? TX_CHORD_MINOR_MAJOR7 : sev == SEV_SIXTH ? TX_CHORD_MINOR6
                      : sev == SEV_MINOR ? (ext ? TX_CHORD_MINOR9 : TX_CHORD_MINOR7) : TX_CHORD_MINOR;
            majmin = fifth ? TX_MAJMIN_OTHER : TX_MAJMIN_MINOR;
        }
        break;
    case THIRD_DIM:
        quality = sev == SEV_NONE || sev == SEV_MAJOR ? TX_CHORD_DIMINISHED
                  : sev == SEV_SIXTH || !maj ? TX_CHORD_DIMINISHED7 : TX_CHORD_DIMINISHED;
        break;
    case THIRD_AUG: quality = TX_CHORD_AUGMENTED; break;
    case THIRD_HALFDIM: quality = TX_CHORD_HALF_DIMINISHED7; break;
    case THIRD_SUS2: quality = TX_CHORD_SUS2; break;
    case THIRD_SUS4: quality = TX_CHORD_SUS4; break;
    case THIRD_POWER: quality = TX_CHORD_POWER; break;
    default:
        if (fifth > 0) {
            quality = TX_CHORD_AUGMENTED;
            break;
        }
        quality = sev == SEV_MAJOR ? (ext ? TX_CHORD_MAJOR9 : TX_CHORD_MAJOR7) : sev == SEV_SIXTH ? TX_CHORD_MAJOR6
                  : sev == SEV_MINOR ? (ext ? TX_CHORD_DOMINANT9 : TX_CHORD_DOMINANT7) : TX_CHORD_MAJOR;
        majmin = fifth ? TX_MAJMIN_OTHER : TX_MAJMIN_MAJOR;
        break;
    }
    out->root = root;
    out->quality = quality;
    out->bass = bass;
    out->majmin = majmin;
    return 0;
}

typedef struct symref {
    tx_tick tick;
    size_t text;   /* index into s->texts */
} symref;

static int symref_cmp(const void *a, const void *b)
{
    const symref *x = a, *y = b;
    if (x->tick != y->tick)
        return x->tick < y->tick ? -1 : 1;
    return x->text < y->text ? -1 : x->text > y->text;
}

/* The major or minor triad that the weights w (per pitch class) fit best: the weight of its three
 * classes less half the weight outside them (a thousandth of its root's weight breaking ties), plus a
 * fifth of the total for I, IV and V of the key
 * (scale, a mask above key_tonic; -1: no key), and the key's other diatonic triads winning ties.
 * *root -1 when w is empty.
 * How the weights were chosen: on the Nottingham set (slow-analyze-abc-chords.c, 44,180 major or minor
 * symbols over melodies) the agreement with the symbols was 0.503 with plain template matching (the
 * three classes in, the root counted twice, the rest out, onsets on a beat doubled), 0.535 without the
 * extra root weight and 0.640 with the bonus for the primary triads; a small grid around these values
 * (root weight 0 or 1, outside weight 0 to 1, beat weight 1 to 3, bonus 0 to 0.5) found nothing above
 * 0.643, so the round values stay. Breaking exact ties by the root (a held G scored the same for G, C
 * and Em, and the first triad in the loop won) then gave 0.673. A melody under a chord symbol is often a scale passage the triad
 * cannot be read from; the bonus says what folk-tune harmony mostly is. These figures are in-sample. */
static void best_triad(const double w[12], int key_tonic, unsigned scale, int *root, int *majmin)
{
    double total = 0, best = -INFINITY;
    for (int i = 0; i < 12; i++)
        total += w[i];
    *root = -1;
    *majmin = TX_MAJMIN_OTHER;
    if (!(total > 0))
        return;
    for (int r = 0; r < 12; r++)
        for (int m = 0; m < 2; m++) {
            int t3 = (r + (m ? 3 : 4)) % 12, t5 = (r + 7) % 12;
            double in = w[r] + w[t3] + w[t5];
            double sc = in - 0.5 * (total - in) + 1e-3 * w[r];   /* the root breaks ties (G alone: G) */
            unsigned rel = rotate_down((1u << r) | (1u << t3) | (1u << t5), key_tonic < 0 ? 0 : key_tonic);
            int dr = ((r - key_tonic) % 12 + 12) % 12;
            if (key_tonic >= 0 && (rel & ~scale) == 0)
                sc += (dr == 0 || dr == 5 || dr == 7 ? 0.2 : 1e-6) * total;
            if (sc > best) {
                best = sc;
                *root = r;
                *majmin = m ? TX_MAJMIN_MINOR : TX_MAJMIN_MAJOR;
            }
        }
}

int tx_analyze_chord_symbols(const tx_score *s, tx_symbol_report *out, tx_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < s->n_texts; i++)
        n += s->texts[i].kind == TX_TEXT_CHORD && s->texts[i].text;
    if (!n)
        return TX_OK;
    symref *refs = tx_calloc(n, sizeof *refs);
    tx_symbol_match *items = tx_calloc(n, sizeof *items);
    if (!refs || !items) {
        tx_free(refs);
        tx_free(items);
        return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n_texts; i++)
        if (s->texts[i].kind == TX_TEXT_CHORD && s->texts[i].text)
            refs[k++] = (symref){s->texts[i].tick, i};
    qsort(refs, n, sizeof *refs, symref_cmp);
    /* the key of the whole score breaks ties between triads */
    tx_key_result key;
    tx_analyze_key(s, TX_KEY_DEFAULT, &key);
    int kt = key.found ? key.best.tonic : -1;
    unsigned scale = key.found && key.best.mode == TX_MODE_MINOR ? 0x5ad : 0xab5;   /* natural minor, major */
    tx_tick last = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (pitched(s, &s->notes[i]) && s->notes[i].onset + s->notes[i].duration > last)
            last = s->notes[i].onset + s->notes[i].duration;
    /* one sweep over the notes: the spans come in tick order and do not overlap, so each note enters
     * once and stays in `act` while it may still sound */
    size_t *act = NULL, n_act = 0, cap_act = 0, next = 0;
    for (size_t j = 0; j < n; j++) {
        tx_symbol_match *m = &items[j];
        m->tick = refs[j].tick;
        size_t nx = j + 1;
        while (nx < n && refs[nx].tick == m->tick)
            nx++;
        m->end = nx < n ? refs[nx].tick : last > m->tick ? last : m->tick;
        m->text = s->texts[refs[j].text].text;
        m->heard_root = -1;
        m->heard_majmin = TX_MAJMIN_OTHER;
        m->understood = tx_chord_symbol_parse(m->text, &m->sym) == 0;
        out->not_understood += !m->understood;
        /* the notes that sound in the span: those still sounding from before, and those that start */
        size_t kept = 0;
        for (size_t i = 0; i < n_act; i++) {
            const tx_note *nt = &s->notes[act[i]];
            if (nt->onset + nt->duration > m->tick || (nt->duration == 0 && nt->onset >= m->tick))
                act[kept++] = act[i];
        }
        n_act = kept;
        for (; next < s->n_notes && s->notes[next].onset < m->end; next++) {
            const tx_note *nt = &s->notes[next];
            if (!pitched(s, nt) || (nt->onset + nt->duration <= m->tick && !(nt->duration == 0 && nt->onset >= m->tick)))
                continue;
            if (tx_grow((void **)&act, &cap_act, n_act + 1, sizeof *act)) {
                tx_free(act);
                tx_free(refs);
                tx_free(items);
                memset(out, 0, sizeof *out);
                return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
            }
            act[n_act++] = next;
        }
        double w[12] = {0};
        for (size_t i = 0; i < n_act; i++) {
            const tx_note *nt = &s->notes[act[i]];
            tx_tick a = nt->onset > m->tick ? nt->onset : m->tick, b = nt->onset + nt->duration;
            if (b > m->end)
                b = m->end;
            if (b <= a && !(nt->duration == 0 && nt->onset >= m->tick))
                continue;
            double len = b > a ? (double)(b - a) : s->tpq / 4.0;
            tx_barpos bp;
            tx_score_locate(s, nt->onset, &bp);
            w[nt->pitch % 12] += len * (nt->onset >= m->tick && bp.beat_offset == 0 ? 2 : 1);
        }
        best_triad(w, kt, scale, &m->heard_root, &m->heard_majmin);
        m->compared = m->understood && m->sym.majmin != TX_MAJMIN_OTHER && m->heard_root >= 0;
        m->agree = m->compared && m->sym.root == m->heard_root && m->sym.majmin == m->heard_majmin;
        out->compared += m->compared;
        out->agreed += m->agree;
    }
    tx_free(act);
    tx_free(refs);
    out->read = n;
    out->items = items;
    out->n_items = n;
    out->agreement = out->compared ? (double)out->agreed / (double)out->compared : 0;
    return TX_OK;
}

/* ==== cadences ==== */

const char *tx_cadence_kind_name(int kind)
{
    static const char *const names[TX_CADENCE_NKINDS] = {"perfect authentic", "imperfect authentic", "half",
                                                         "deceptive", "plagal"};
    return kind >= 0 && kind < TX_CADENCE_NKINDS ? names[kind] : "?";
}

/* The highest pitch sounding at tick t, or -1. */
static int top_pitch(const tx_score *s, tx_tick t)
{
    int top = -1;
    for (size_t i = 0; i < s->n_notes && s->notes[i].onset <= t; i++) {
        const tx_note *n = &s->notes[i];
        if (pitched(s, n) && (n->onset + n->duration > t || n->onset == t) && n->pitch > top)
            top = n->pitch;
    }
    return top;
}

static int cadence_kind(const tx_score *s, const tx_chord *p, const tx_chord *f, int tonic, int mode)
{
    int dp = ((p->root - tonic) % 12 + 12) % 12, df = ((f->root - tonic) % 12 + 12) % 12;
    int p_dominant = dp == 7 && (p->quality == TX_CHORD_MAJOR || p->quality == TX_CHORD_DOMINANT7
                                 || p->quality == TX_CHORD_DOMINANT9);
    int p_leading = dp == 11 && (p->quality == TX_CHORD_DIMINISHED || p->quality == TX_CHORD_DIMINISHED7
                                 || p->quality == TX_CHORD_HALF_DIMINISHED7);
    int f_triad = f->quality == TX_CHORD_MAJOR || f->quality == TX_CHORD_MINOR || f->quality == TX_CHORD_POWER;
    if (df == 0 && f_triad && (p_dominant || p_leading)) {
        int top = top_pitch(s, f->onset);
        if (p_dominant && p->inversion == 0 && f->inversion == 0 && top >= 0 && top % 12 == tonic)
            return TX_CADENCE_PERFECT_AUTHENTIC;
        return TX_CADENCE_IMPERFECT_AUTHENTIC;
    }
    if (df == 0 && f_triad && dp == 5 && (p->quality == TX_CHORD_MAJOR || p->quality == TX_CHORD_MINOR))
        return TX_CADENCE_PLAGAL;
    if (p_dominant && df == (mode == TX_MODE_MINOR ? 8 : 9)
        && (f->quality == TX_CHORD_MAJOR || f->quality == TX_CHORD_MINOR))
        return TX_CADENCE_DECEPTIVE;
    if (df == 7 && (f->quality == TX_CHORD_MAJOR || f->quality == TX_CHORD_POWER))
        return TX_CADENCE_HALF;
    return -1;
}

int tx_analyze_cadences(const tx_score *s, const tx_chord *chords, size_t n_chords, int tonic, int mode,
                        tx_cadence **out, size_t *n, tx_error *err)
{
    *out = NULL;
    *n = 0;
    tonic = ((tonic % 12) + 12) % 12;
    tx_cadence *cad = NULL;
    size_t nc = 0, cap = 0;
    /* the last pitched note's end: a last chord followed by other notes (a unison, a melody) does not
     * end the piece */
    tx_tick last = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (pitched(s, &s->notes[i]) && s->notes[i].onset + s->notes[i].duration > last)
            last = s->notes[i].onset + s->notes[i].duration;
    for (size_t i = 1; i < n_chords; i++) {
        int phrase_end = i + 1 == n_chords ? chords[i].end >= last : chords[i + 1].onset - chords[i].end >= s->tpq;
        if (!phrase_end)
            continue;
        /* in the final chord's own (local) key when it has one */
        int kt = tonic, km = mode;
        if (chords[i].key_tonic >= 0 && (chords[i].key_mode == TX_MODE_MAJOR || chords[i].key_mode == TX_MODE_MINOR)) {
            kt = chords[i].key_tonic % 12;
            km = chords[i].key_mode;
        }
        if (km != TX_MODE_MAJOR && km != TX_MODE_MINOR)
            continue;
        int kind = cadence_kind(s, &chords[i - 1], &chords[i], kt, km);
        if (kind < 0)
            continue;
        if (tx_grow((void **)&cad, &cap, nc + 1, sizeof *cad)) {
            tx_free(cad);
            return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
        }
        cad[nc++] = (tx_cadence){kind, chords[i].onset, i};
    }
    *out = cad;
    *n = nc;
    return TX_OK;
}

/* ==== voice leading ==== */

static const char *const vl_names[TX_VL_NKINDS] = {
    "parallel fifth", "parallel octave", "contrary fifth", "contrary octave", "hidden fifth",
    "hidden octave", "voice crossing", "voice overlap", "spacing", "range", "unresolved leading tone",
    "unresolved seventh",
};

const char *tx_vl_kind_name(int kind)
{
    return kind >= 0 && kind < TX_VL_NKINDS ? vl_names[kind] : "?";
}

static int add_finding(tx_vl_result *out, size_t *cap, int kind, tx_tick tick, int va, int vb, int fa, int fb,
                       int ta, int tb)
{
    out->counts[kind]++;
    if (tx_grow((void **)&out->findings, cap, out->n_findings + 1, sizeof *out->findings))
        return -1;
    out->findings[out->n_findings++] = (tx_vl_finding){kind, tick, va, vb, fa, fb, ta, tb, -1, -1};
    return 0;
}

/* A voice read as one line: its notes' indices in onset order, and those that may still sound. */
typedef struct voice_line {
    size_t *notes; size_t n;   /* indices of the voice's notes in onset order */
    size_t next;               /* the next note to enter */
    size_t *active; size_t n_active, cap_active;   /* entered notes that reach the current tick */
} voice_line;

/* The pitch voice v sounds at tick t (*now) and just before it (*before: a note that reaches t), each
 * its highest note or -1. A rest just before t breaks the line, so a move needs the voice to sound
 * up to t, as on a grid. Calls come with t growing. -1 when out of memory. */
static int line_pitch(const tx_score *s, voice_line *v, tx_tick t, int *now, int *before)
{
    size_t k = 0;
    for (size_t i = 0; i < v->n_active; i++) {
        const tx_note *n = &s->notes[v->active[i]];
        if (n->onset + n->duration >= t)
            v->active[k++] = v->active[i];
    }
    v->n_active = k;
    while (v->next < v->n && s->notes[v->notes[v->next]].onset <= t) {
        if (tx_grow((void **)&v->active, &v->cap_active, v->n_active + 1, sizeof *v->active))
            return -1;
        v->active[v->n_active++] = v->notes[v->next++];
    }
    *now = *before = -1;
    for (size_t i = 0; i < v->n_active; i++) {
        const tx_note *n = &s->notes[v->active[i]];
        tx_tick end = n->onset + n->duration;
        if ((end > t || (n->duration == 0 && n->onset == t)) && n->pitch > *now)
            *now = n->pitch;
        if (n->onset < t && end >= t && n->pitch > *before)
            *before = n->pitch;
    }
    return 0;
}

/* Four-part ranges (soprano, alto, tenor, bass) as MIDI keys: C4-G5, G3-C5, C3-G4, E2-C4, the ranges
 * Aldwell & Schachter (Harmony and Voice Leading) give for four-part writing, without the step
 * beyond them that the book allows now and then. Kostka & Payne (Tonal Harmony) are a little wider
 * in places; the stricter set is the one taught first. */
static const int satb_range[4][2] = {{60, 79}, {55, 72}, {48, 67}, {40, 60}};

/* The leading-tone and seventh rules at a change of chord (prev: the pitches just before t, cur: at
 * t, older: the pitch each voice had before prev; order: the voices, highest first). -1 when out of
 * memory. */
static int check_resolutions(tx_vl_result *out, size_t *cap, const tx_chord *from, const tx_chord *to, int tonic,
                             int mode, tx_tick t, const int *order, int nv, const int *prev, const int *cur,
                             const int *older)
{
    int lt = (tonic + 11) % 12;
    int df = ((from->root - tonic) % 12 + 12) % 12;
    int dominant = (df == 7 && (from->quality == TX_CHORD_MAJOR || from->quality == TX_CHORD_DOMINANT7
                                || from->quality == TX_CHORD_DOMINANT9))
                   || (df == 11 && (from->quality == TX_CHORD_DIMINISHED || from->quality == TX_CHORD_DIMINISHED7
                                    || from->quality == TX_CHORD_HALF_DIMINISHED7));
    int tonic_triad = to->root == tonic && ((mode == TX_MODE_MAJOR && to->quality == TX_CHORD_MAJOR)
                                            || (mode == TX_MODE_MINOR && (to->quality == TX_CHORD_MINOR
                                                                          || to->quality == TX_CHORD_MAJOR)));
    int seventh = qualities[from->quality].seventh;
    int sev_pc = seventh >= 0 && to->root != from->root ? (from->root + seventh) % 12 : -1;
    for (int k = 0; k < nv; k++) {
        int v = order[k], p = prev[v], c = cur[v];
        if (p < 0 || c < 0)
            continue;   /* a voice that rests on either side has no resolution to judge */
        if (dominant && tonic_triad && p % 12 == lt) {
            /* up a semitone to the tonic; an inner voice may fall a major third to the fifth instead
             * (the textbooks' "frustrated" leading tone, common in Bach's inner voices) */
            int inner = k > 0 && k < nv - 1;
            if (c != p + 1 && !(inner && c == p - 4)
                && add_finding(out, cap, TX_VL_UNRESOLVED_LEADING_TONE, t, v, -1, p, -1, c, -1))
                return -1;
        }
        /* a "seventh" reached by step and left by step upwards is an ascending passing tone or a lower
         * neighbour that chordify read into the chord, not a chordal seventh: left alone. On the
         * sixteenth grid of the chorales this removes most of what would be counted (see
         * test-analyze-jsb.c). */
        int o = older[v], step_in = o >= 0 && abs(p - o) >= 1 && abs(p - o) <= 2, step_up = c - p >= 1 && c - p <= 2;
        if (sev_pc >= 0 && p % 12 == sev_pc && c != p && c != p - 1 && c != p - 2 && !(step_in && step_up)
            && add_finding(out, cap, TX_VL_UNRESOLVED_SEVENTH, t, v, -1, p, -1, c, -1))
            return -1;
    }
    return 0;
}

int tx_analyze_voice_leading(const tx_score *s, tx_vl_result *out, tx_error *err)
{
    memset(out, 0, sizeof *out);
    size_t nt = s->n_tracks, cap = 0;
    if (nt < 2)
        return TX_OK;
    voice_line *lines = tx_calloc(nt, sizeof *lines);
    double *mean = tx_calloc(nt, sizeof *mean);
    size_t *count = tx_calloc(nt, sizeof *count);
    int *order = tx_calloc(nt, sizeof *order);     /* voices with notes, highest mean first */
    int *prev = tx_calloc(nt, sizeof *prev), *cur = tx_calloc(nt, sizeof *cur);
    int *wide = tx_calloc(nt, sizeof *wide);       /* per upper pair: more than an octave apart now */
    int *last = tx_malloc(nt * sizeof *last), *older = tx_malloc(nt * sizeof *older);   /* each voice's
                                                      latest pitch, and the one before it (-1: rest) */
    int out_of_range[4] = {0, 0, 0, 0};
    tx_tick *times = NULL;
    size_t n_times = 0, cap_times = 0;
    tx_chord *chords = NULL;
    tx_key_segment *keys = NULL;
    size_t n_chords = 0, n_keys = 0, ci = 0, ki = 0;
    int rc = TX_OK;
    if (!lines || !mean || !count || !order || !prev || !cur || !wide || !last || !older)
        goto oom;
    for (size_t v = 0; v < nt; v++)
        last[v] = older[v] = -1;
    for (size_t i = 0; i < s->n_notes; i++)
        if (pitched(s, &s->notes[i]))
            count[s->notes[i].track]++;
    for (size_t v = 0; v < nt; v++)
        if (count[v] && !(lines[v].notes = tx_malloc(count[v] * sizeof *lines[v].notes)))
            goto oom;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        if (!pitched(s, n))
            continue;
        voice_line *l = &lines[n->track];
        l->notes[l->n++] = i;
        mean[n->track] += n->pitch;
        if (!n_times || times[n_times - 1] != n->onset) {
            if (tx_grow((void **)&times, &cap_times, n_times + 1, sizeof *times))
                goto oom;
            times[n_times++] = n->onset;
        }
    }
    int nv = 0;
    for (size_t v = 0; v < nt; v++)
        if (count[v]) {
            mean[v] /= (double)count[v];
            order[nv++] = (int)v;
        }
    for (int a = 1; a < nv; a++)   /* insertion sort, highest mean first; ties keep track order */
        for (int b = a; b > 0 && mean[order[b]] > mean[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    if (nv < 2)
        goto done;
    /* chords and local keys for the resolution rules; both fail only when out of memory */
    if (tx_analyze_chords(s, &chords, &n_chords, err)
        || tx_analyze_local_keys(s, TX_KEY_DEFAULT, 8, &keys, &n_keys, err))
        goto oom;
    int top = order[0], bottom = order[nv - 1];
    for (size_t ti = 0; ti < n_times; ti++) {
        tx_tick t = times[ti];
        for (int k = 0; k < nv; k++)
            if (line_pitch(s, &lines[order[k]], t, &cur[order[k]], &prev[order[k]]))
                goto oom;
        for (int i = 0; i < nv; i++) {
            for (int j = i + 1; j < nv; j++) {
                int a = order[i], b = order[j];   /* a is the voice expected above */
                int pa = prev[a], pb = prev[b], ca = cur[a], cb = cur[b];
                if (ca >= 0 && cb >= 0 && ca < cb && !(pa >= 0 && pb >= 0 && pa < pb))
                    if (add_finding(out, &cap, TX_VL_CROSSING, t, a, b, pa, pb, ca, cb))
                        goto oom;
                if (pa < 0 || pb < 0 || ca < 0 || cb < 0 || pa == ca || pb == cb)
                    continue;   /* a move counts only where both voices sound and both change */
                if ((pa - pb) * (ca - cb) < 0)
                    continue;   /* the voices exchange places: no consecutive between them */
                int i1 = abs(pa - pb) % 12, i2 = abs(ca - cb) % 12;
                int da = ca > pa ? 1 : -1, db = cb > pb ? 1 : -1;
                int kind = -1;
                if (i1 == 7 && i2 == 7)
                    kind = da == db ? TX_VL_PARALLEL_FIFTH : TX_VL_CONTRARY_FIFTH;
                else if (i1 == 0 && i2 == 0)
                    kind = da == db ? TX_VL_PARALLEL_OCTAVE : TX_VL_CONTRARY_OCTAVE;
                else if (a == top && b == bottom && da == db && abs(ca - pa) > 2 && (i2 == 7 || i2 == 0))
                    kind = i2 == 7 ? TX_VL_HIDDEN_FIFTH : TX_VL_HIDDEN_OCTAVE;
                if (kind >= 0 && add_finding(out, &cap, kind, t, a, b, pa, pb, ca, cb))
                    goto oom;
            }
        }
        /* adjacent voices: overlap (not where they cross, which is reported as a crossing), and
         * spacing in every pair but the lowest */
        for (int k = 0; k + 1 < nv; k++) {
            int a = order[k], b = order[k + 1];
            int pa = prev[a], pb = prev[b], ca = cur[a], cb = cur[b];
            int crossed = (ca >= 0 && cb >= 0 && ca < cb) || (pa >= 0 && pb >= 0 && pa < pb);
            int up = pa >= 0 && pb >= 0 && cb >= 0 && cb != pb && cb > pa;     /* lower above upper's last */
            int down = pa >= 0 && pb >= 0 && ca >= 0 && ca != pa && ca < pb;   /* upper below lower's last */
            if ((up || down) && !crossed && add_finding(out, &cap, TX_VL_OVERLAP, t, a, b, pa, pb, ca, cb))
                goto oom;
            if (k + 2 < nv) {
                int w = ca >= 0 && cb >= 0 && ca - cb > 12;
                if (w && !wide[k] && add_finding(out, &cap, TX_VL_SPACING, t, a, b, pa, pb, ca, cb))
                    goto oom;
                wide[k] = w;
            }
        }
        /* ranges in four parts: one finding where a voice leaves its range; a rest does not end the
         * excursion, a note inside the range does */
        if (nv == 4)
            for (int k = 0; k < 4; k++) {
                int v = order[k], c = cur[v];
                if (c < 0)
                    continue;
                int o = c < satb_range[k][0] || c > satb_range[k][1];
                if (o && !out_of_range[k]) {
                    if (add_finding(out, &cap, TX_VL_RANGE, t, v, -1, -1, -1, c, -1))
                        goto oom;
                    out->findings[out->n_findings - 1].low = satb_range[k][0];
                    out->findings[out->n_findings - 1].high = satb_range[k][1];
                }
                out_of_range[k] = o;
            }
        /* a change of chord at t, straight from the chord before: leading tone and seventh */
        while (ci < n_chords && chords[ci].onset < t)
            ci++;
        if (ci > 0 && ci < n_chords && chords[ci].onset == t && chords[ci - 1].end == t && n_keys) {
            while (ki + 1 < n_keys && keys[ki + 1].start <= t)
                ki++;
            if (check_resolutions(out, &cap, &chords[ci - 1], &chords[ci], keys[ki].tonic, keys[ki].mode, t, order, nv,
                                  prev, cur, older))
                goto oom;
        }
        for (int k = 0; k < nv; k++)
            if (cur[order[k]] != last[order[k]]) {
                older[order[k]] = last[order[k]];
                last[order[k]] = cur[order[k]];
            }
    }
    goto done;
oom:
    rc = tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
    tx_free(out->findings);
    memset(out, 0, sizeof *out);
done:
    if (lines)
        for (size_t v = 0; v < nt; v++) {
            tx_free(lines[v].notes);
            tx_free(lines[v].active);
        }
    tx_free(lines);
    tx_free(mean);
    tx_free(count);
    tx_free(order);
    tx_free(prev);
    tx_free(cur);
    tx_free(wide);
    tx_free(last);
    tx_free(older);
    tx_free(times);
    tx_free(chords);
    tx_free(keys);
    return rc;
}

/* ==== statistics ==== */

typedef struct edge {
    tx_tick t;
    int d;    /* +1 a note starts, -1 one ends */
} edge;

static int edge_cmp(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->d - y->d;   /* ends before starts at one tick */
}

static double entropy(const double *counts, int n)
{
    double total = 0, h = 0;
    for (int i = 0; i < n; i++)
        total += counts[i];
    if (!(total > 0))
        return 0;
    for (int i = 0; i < n; i++)
        if (counts[i] > 0) {
            double p = counts[i] / total;
            h -= p * log2(p);
        }
    return h;
}

int tx_analyze_stats(const tx_score *s, tx_stats *out, tx_error *err)
{
    memset(out, 0, sizeof *out);
    out->pitch_min = out->pitch_max = -1;
    double pitch_counts[128] = {0}, pc[12] = {0};
    tx_tick end = 0;
    size_t n = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *nt = &s->notes[i];
        if (!pitched(s, nt))
            continue;
        n++;
        pitch_counts[nt->pitch]++;
        pc[nt->pitch % 12]++;
        if (out->pitch_min < 0 || nt->pitch < out->pitch_min)
            out->pitch_min = nt->pitch;
        if (nt->pitch > out->pitch_max)
            out->pitch_max = nt->pitch;
        if (nt->onset + nt->duration > end)
            end = nt->onset + nt->duration;
    }
    out->n_notes = n;
    out->tempo_bpm = s->n_tempos ? 6e7 / s->tempos[0].usec_per_quarter : 6e7 / TX_DEFAULT_TEMPO;
    out->tempo_min_bpm = out->tempo_max_bpm = out->tempo_bpm;
    for (size_t i = 0; i < s->n_tempos; i++) {
        double b = 6e7 / s->tempos[i].usec_per_quarter;
        if (b < out->tempo_min_bpm)
            out->tempo_min_bpm = b;
        if (b > out->tempo_max_bpm)
            out->tempo_max_bpm = b;
    }
    out->meter_num = s->n_timesigs ? s->timesigs[0].num : 4;
    out->meter_den = s->n_timesigs ? s->timesigs[0].den : 4;
    if (!n)
        return TX_OK;
    out->pitch_range = out->pitch_max - out->pitch_min;
    for (int i = 0; i < 12; i++) {
        out->pitch_classes_used += pc[i] > 0;
        out->pc_histogram[i] = pc[i] / (double)n;
    }
    out->pitch_entropy = entropy(pitch_counts, 128);
    out->pitch_class_entropy = entropy(pc, 12);
    /* scale consistency: the largest share of notes in one major or (natural) minor scale */
    static const unsigned major = 0xab5, minor = 0x5ad;   /* bits 0,2,4,5,7,9,11 and 0,2,3,5,7,8,10 */
    for (int r = 0; r < 12; r++)
        for (int m = 0; m < 2; m++) {
            unsigned sc = m ? minor : major;
            double in = 0;
            for (int i = 0; i < 12; i++)
                if ((sc >> i) & 1)
                    in += pc[(r + i) % 12];
            if (in / (double)n > out->scale_consistency)
                out->scale_consistency = in / (double)n;
        }
    out->seconds = tx_score_seconds(s, end);
    out->bars = tx_score_bar_count(s);
    out->notes_per_second = out->seconds > 0 ? (double)n / out->seconds : 0;
    out->notes_per_bar = out->bars > 0 ? (double)n / (double)out->bars : 0;

    /* polyphony from a sweep over note starts and ends */
    edge *e = tx_malloc(2 * n * sizeof *e);
    if (!e)
        return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *nt = &s->notes[i];
        if (!pitched(s, nt) || nt->duration <= 0)
            continue;
        e[k++] = (edge){nt->onset, 1};
        e[k++] = (edge){nt->onset + nt->duration, -1};
    }
    qsort(e, k, sizeof *e, edge_cmp);
    double sounding = 0, weighted = 0, poly = 0;
    int level = 0;
    for (size_t i = 0; i < k; i++) {
        if (i && e[i].t > e[i - 1].t && level > 0) {
            double span = (double)(e[i].t - e[i - 1].t);
            sounding += span;
            weighted += span * level;
            if (level >= 2)
                poly += span;
        }
        level += e[i].d;
    }
    tx_free(e);
    out->polyphony = sounding > 0 ? weighted / sounding : 0;
    out->polyphony_rate = end > 0 ? poly / (double)end : 0;

    /* empty beats: quarter notes (MusPy's beats are its resolution) with nothing sounding. Notes come
     * by onset, so the covered beats are a running union of intervals: no array as long as the
     * piece, which a hostile file could make huge. */
    int64_t n_beats = end / s->tpq + (end % s->tpq != 0), covered = 0, reach = 0;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *nt = &s->notes[i];
        if (!pitched(s, nt))
            continue;
        int64_t a = nt->onset / s->tpq, b = (nt->onset + nt->duration) / s->tpq
                                            + ((nt->onset + nt->duration) % s->tpq != 0);
        if (b <= a)
            b = a + 1;
        if (a < reach)
            a = reach;
        if (b > a) {
            covered += b - a;
            reach = b;
        }
    }
    if (covered > n_beats)
        covered = n_beats;   /* a zero-length note at the very end */
    out->empty_beat_rate = n_beats > 0 ? 1.0 - (double)covered / (double)n_beats : 0;

    /* groove consistency: the onset positions (ticks into the bar) of consecutive bars of one length
     * compared; the Hamming distance of two position sets is |A| + |B| - 2 |A and B|. Positions
     * within a bar come in ascending order because notes are sorted by onset. */
    tx_tick *pos[2] = {NULL, NULL};
    size_t npos[2] = {0, 0}, cappos[2] = {0, 0};
    int64_t cur_bar = -1, pairs = 0;
    tx_tick cur_len = 0;
    double dist = 0;
    int have_prev = 0;
    for (size_t i = 0; i <= s->n_notes; i++) {
        tx_barpos p;
        int at_end = i == s->n_notes;
        if (!at_end) {
            if (!pitched(s, &s->notes[i]))
                continue;
            tx_score_locate(s, s->notes[i].onset, &p);
        }
        if (at_end || p.bar != cur_bar) {
            if (cur_bar >= 0) {
                if (have_prev) {
                    size_t common = 0, x = 0, y = 0;
                    while (x < npos[0] && y < npos[1]) {
                        if (pos[0][x] == pos[1][y]) {
                            common++;
                            x++;
                            y++;
                        } else if (pos[0][x] < pos[1][y]) {
                            x++;
                        } else {
                            y++;
                        }
                    }
                    dist += (double)(npos[0] + npos[1] - 2 * common) / (double)cur_len;
                    pairs++;
                }
                tx_tick *t = pos[0];
                pos[0] = pos[1];
                pos[1] = t;
                size_t u = npos[0];
                npos[0] = npos[1];
                npos[1] = u;
                u = cappos[0];
                cappos[0] = cappos[1];
                cappos[1] = u;
                have_prev = 1;
            }
            if (at_end)
                break;
            /* a bar that does not follow the previous one, or a new bar length, starts afresh */
            if (p.bar != cur_bar + 1 || p.bar_length != cur_len)
                have_prev = 0;
            cur_bar = p.bar;
            cur_len = p.bar_length > 0 ? p.bar_length : 1;
            npos[1] = 0;
        }
        if (npos[1] && pos[1][npos[1] - 1] == p.offset)
            continue;
        if (tx_grow((void **)&pos[1], &cappos[1], npos[1] + 1, sizeof *pos[1])) {
            tx_free(pos[0]);
            tx_free(pos[1]);
            return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
        }
        pos[1][npos[1]++] = p.offset;
    }
    tx_free(pos[0]);
    tx_free(pos[1]);
    out->groove_consistency = pairs ? 1.0 - dist / (double)pairs : 1.0;
    return TX_OK;
}

/* ==== everything at once, and JSON ==== */

void tx_analyze_options_init(tx_analyze_options *o)
{
    o->profile = TX_KEY_DEFAULT;
    o->chords = 1;
    o->voice_leading = 1;
    o->local_key_bars = 8;
    o->chord_symbols = 1;
}

void tx_analysis_free(tx_analysis *a)
{
    if (!a)
        return;
    tx_free(a->chords);
    tx_free(a->local_keys);
    tx_free(a->cadences);
    tx_free(a->vl.findings);
    tx_free(a->symbols.items);
    tx_free(a);
}

int tx_analyze(const tx_score *s, const tx_analyze_options *opt, tx_analysis **out, tx_error *err)
{
    tx_analyze_options d;
    if (!opt) {
        tx_analyze_options_init(&d);
        opt = &d;
    }
    *out = NULL;
    tx_analysis *a = tx_calloc(1, sizeof *a);
    if (!a)
        return tx_error_set(err, TX_ENOMEM, "analyze: out of memory");
    int rc = tx_analyze_key(s, opt->profile, &a->key);
    if (rc) {
        tx_free(a);
        return tx_error_set(err, rc, "analyze: unknown key profile %d", opt->profile);
    }
    if ((opt->local_key_bars > 0
         && (rc = tx_analyze_local_keys(s, opt->profile, opt->local_key_bars, &a->local_keys, &a->n_local_keys, err)))
        || (opt->chords && (rc = tx_analyze_chords(s, &a->chords, &a->n_chords, err)))
        || (opt->voice_leading && (rc = tx_analyze_voice_leading(s, &a->vl, err)))
        || (opt->chord_symbols && (rc = tx_analyze_chord_symbols(s, &a->symbols, err)))
        || (rc = tx_analyze_stats(s, &a->stats, err))) {
        tx_analysis_free(a);
        return rc;
    }
    if (a->key.found) {
        /* each chord spelled and numbered in the local key at its onset */
        tx_analyze_romans_local(a->chords, a->n_chords, a->local_keys, a->n_local_keys, a->key.best.tonic,
                                a->key.best.mode);
        for (size_t i = 0; i < a->n_chords; i++)
            tx_chord_spell(&a->chords[i], a->chords[i].key_tonic, a->chords[i].key_mode);
        if ((rc = tx_analyze_cadences(s, a->chords, a->n_chords, a->key.best.tonic, a->key.best.mode, &a->cadences,
                                      &a->n_cadences, err))) {
            tx_analysis_free(a);
            return rc;
        }
    }
    *out = a;
    return TX_OK;
}

const char *tx_analyze_key_label(int tonic, int mode, char *buf)
{
    const char *t = tx_key_tonic_name(tonic, mode);
    snprintf(buf, 8, "%s", t);
    if (mode == TX_MODE_MINOR)
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

const char *tx_analyze_place(const tx_score *s, tx_tick tick, char *buf)
{
    tx_barpos p;
    tx_score_locate(s, tick < 0 ? 0 : tick, &p);
    if (p.beat_offset == 0 || p.beat_ticks <= 0)
        snprintf(buf, 48, "%" PRId64 ":%d", p.bar + 1, p.beat + 1);
    else
        snprintf(buf, 48, "%" PRId64 ":%.4g", p.bar + 1, p.beat + 1 + (double)p.beat_offset / (double)p.beat_ticks);
    return buf;
}

static void json_candidate(tx_buf *b, const tx_key_candidate *c)
{
    tx_buf_printf(b, "{\"tonic\": \"%s\", \"mode\": \"%s\", \"correlation\": %.4f}", tx_key_tonic_name(c->tonic, c->mode),
                  tx_mode_name(c->mode), c->correlation);
}

static void json_voice(tx_buf *b, const tx_score *s, int v)
{
    const char *name = v >= 0 && (size_t)v < s->n_tracks ? s->tracks[v].name : "";
    if (name && *name)
        tx_buf_json_string(b, name);
    else
        tx_buf_printf(b, "\"track %d\"", v);
}

int tx_analysis_json(const tx_analysis *a, const tx_score *s, tx_buf *b)
{
    char place[48], p1[16], p2[16];
    const tx_key_result *k = &a->key;
    if (k->found) {
        tx_buf_printf(b, "\"key\": {\"tonic\": \"%s\", \"mode\": \"%s\", \"profile\": \"%s\", \"correlation\": %.4f, "
                      "\"runners_up\": [", tx_key_tonic_name(k->best.tonic, k->best.mode), tx_mode_name(k->best.mode),
                      tx_key_profile_name(k->profile), k->best.correlation);
        for (int i = 0; i < TX_KEY_RUNNERS_UP; i++) {
            if (i)
                tx_buf_puts(b, ", ");
            json_candidate(b, &k->runners_up[i]);
        }
        tx_buf_puts(b, "]}");
    } else {
        tx_buf_puts(b, "\"key\": null");
    }
    tx_buf_puts(b, ", \"local_keys\": [");
    for (size_t i = 0; i < a->n_local_keys; i++) {
        const tx_key_segment *g = &a->local_keys[i];
        tx_buf_printf(b, "%s{\"from_bar\": %" PRId64 ", \"to_bar\": %" PRId64 ", \"tick\": %" PRId64
                      ", \"tonic\": \"%s\", \"mode\": \"%s\", \"correlation\": %.4f}", i ? ", " : "",
                      g->first_bar + 1, g->last_bar + 1, g->start, tx_key_tonic_name(g->tonic, g->mode),
                      tx_mode_name(g->mode), g->correlation);
    }
    tx_buf_puts(b, "], \"chords\": [");
    for (size_t i = 0; i < a->n_chords; i++) {
        const tx_chord *c = &a->chords[i];
        tx_buf_printf(b, "%s{\"at\": \"%s\", \"tick\": %" PRId64 ", \"name\": ", i ? ", " : "",
                      tx_analyze_place(s, c->onset, place), c->onset);
        tx_buf_json_string(b, c->name);
        tx_buf_printf(b, ", \"root\": \"%s\", \"quality\": \"%s\", \"inversion\": %d, \"roman\": ",
                      tx_pitch_class_name(c->root, 0), tx_chord_quality_name(c->quality), c->inversion);
        if (c->roman[0])
            tx_buf_json_string(b, c->roman);
        else
            tx_buf_puts(b, "null");
        if (c->roman[0] && c->key_tonic >= 0)
            tx_buf_printf(b, ", \"key\": \"%s\"", tx_analyze_key_label(c->key_tonic, c->key_mode, place));
        tx_buf_putc(b, '}');
    }
    tx_buf_puts(b, "], \"cadences\": [");
    for (size_t i = 0; i < a->n_cadences; i++) {
        const tx_cadence *cd = &a->cadences[i];
        tx_buf_printf(b, "%s{\"kind\": \"%s\", \"at\": \"%s\", \"tick\": %" PRId64 "}", i ? ", " : "",
                      tx_cadence_kind_name(cd->kind), tx_analyze_place(s, cd->tick, place), cd->tick);
    }
    tx_buf_puts(b, "], \"voice_leading\": {\"counts\": {");
    for (int kd = 0; kd < TX_VL_NKINDS; kd++)
        tx_buf_printf(b, "%s\"%s\": %zu", kd ? ", " : "", tx_vl_kind_name(kd), a->vl.counts[kd]);
    tx_buf_puts(b, "}, \"findings\": [");
    for (size_t i = 0; i < a->vl.n_findings; i++) {
        const tx_vl_finding *f = &a->vl.findings[i];
        tx_buf_printf(b, "%s{\"kind\": \"%s\", \"at\": \"%s\", \"tick\": %" PRId64 ", \"voices\": [", i ? ", " : "",
                      tx_vl_kind_name(f->kind), tx_analyze_place(s, f->tick, place), f->tick);
        /* one voice (range, leading tone, seventh) or two; "" for a pitch that is not there */
        json_voice(b, s, f->voice_a);
        if (f->voice_b >= 0) {
            tx_buf_puts(b, ", ");
            json_voice(b, s, f->voice_b);
        }
        tx_buf_printf(b, "], \"from\": [\"%s\"", f->from_a >= 0 ? tx_pitch_name(f->from_a, 0, p1) : "");
        if (f->voice_b >= 0)
            tx_buf_printf(b, ", \"%s\"", f->from_b >= 0 ? tx_pitch_name(f->from_b, 0, p2) : "");
        tx_buf_printf(b, "], \"to\": [\"%s\"", f->to_a >= 0 ? tx_pitch_name(f->to_a, 0, p1) : "");
        if (f->voice_b >= 0)
            tx_buf_printf(b, ", \"%s\"", f->to_b >= 0 ? tx_pitch_name(f->to_b, 0, p2) : "");
        tx_buf_putc(b, ']');
        if (f->kind == TX_VL_RANGE && f->low >= 0)
            tx_buf_printf(b, ", \"range\": [\"%s\", \"%s\"]", tx_pitch_name(f->low, 0, p1),
                          tx_pitch_name(f->high, 0, p2));
        tx_buf_putc(b, '}');
    }
    const tx_symbol_report *sy = &a->symbols;
    tx_buf_printf(b, "]}, \"chord_symbols\": {\"read\": %zu, \"not_understood\": %zu, \"compared\": %zu, "
                  "\"agreed\": %zu, \"agreement\": ", sy->read, sy->not_understood, sy->compared, sy->agreed);
    if (sy->compared)
        tx_buf_printf(b, "%.4f", sy->agreement);
    else
        tx_buf_puts(b, "null");
    tx_buf_puts(b, ", \"symbols\": [");
    for (size_t i = 0; i < sy->n_items; i++) {
        const tx_symbol_match *m = &sy->items[i];
        tx_buf_printf(b, "%s{\"at\": \"%s\", \"tick\": %" PRId64 ", \"symbol\": ", i ? ", " : "",
                      tx_analyze_place(s, m->tick, place), m->tick);
        tx_buf_json_string(b, m->text);
        if (m->heard_root >= 0)
            tx_buf_printf(b, ", \"heard\": \"%s%s\"", tx_pitch_class_name(m->heard_root, 0),
                          m->heard_majmin == TX_MAJMIN_MINOR ? "m" : "");
        else
            tx_buf_puts(b, ", \"heard\": null");
        tx_buf_printf(b, ", \"understood\": %s, \"agree\": %s}", m->understood ? "true" : "false",
                      m->compared ? (m->agree ? "true" : "false") : "null");
    }
    const tx_stats *st = &a->stats;
    tx_buf_puts(b, "]}, \"statistics\": {");
    tx_buf_printf(b, "\"notes\": %zu, ", st->n_notes);
    if (st->pitch_max >= 0)
        tx_buf_printf(b, "\"ambitus\": [\"%s\", \"%s\"], \"pitch_min\": %d, \"pitch_max\": %d, ",
                      tx_pitch_name(st->pitch_min, 0, p1), tx_pitch_name(st->pitch_max, 0, p2), st->pitch_min,
                      st->pitch_max);
    else
        tx_buf_puts(b, "\"ambitus\": null, \"pitch_min\": null, \"pitch_max\": null, ");
    tx_buf_printf(b, "\"pitch_range\": %d, \"pitch_classes_used\": %d, \"pitch_class_histogram\": [", st->pitch_range,
                  st->pitch_classes_used);
    for (int i = 0; i < 12; i++)
        tx_buf_printf(b, "%s%.4f", i ? ", " : "", st->pc_histogram[i]);
    tx_buf_printf(b, "], \"polyphony\": %.4f, \"polyphony_rate\": %.4f, \"scale_consistency\": %.4f, "
                  "\"pitch_entropy\": %.4f, \"pitch_class_entropy\": %.4f, \"empty_beat_rate\": %.4f, "
                  "\"groove_consistency\": %.4f, \"seconds\": %.3f, \"bars\": %" PRId64 ", \"notes_per_second\": %.4f, "
                  "\"notes_per_bar\": %.4f, \"tempo_bpm\": %.2f, \"tempo_min_bpm\": %.2f, \"tempo_max_bpm\": %.2f, "
                  "\"meter\": \"%d/%d\"}", st->polyphony, st->polyphony_rate, st->scale_consistency, st->pitch_entropy,
                  st->pitch_class_entropy, st->empty_beat_rate, st->groove_consistency, st->seconds, st->bars,
                  st->notes_per_second, st->notes_per_bar, st->tempo_bpm, st->tempo_min_bpm, st->tempo_max_bpm,
                  st->meter_num, st->meter_den);
    return b->oom ? TX_ENOMEM : TX_OK;
}
