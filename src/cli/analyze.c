/* analyze.c: `tactus analyze`: key, chords, voice leading and statistics of score files, one result
 * per file or per ABC tune, for people (a short report) or scripts (--json, one object per line).
 * The analysis itself is the library's (src/analyze.h); this file parses arguments and prints.
 * A file that fails is reported and the others go on. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "lm.h"

static const char options[] =
    "  -j, --json           one JSON object per file (per tune for ABC) per line\n"
    "  -t, --tune N         from a file of tunes (ABC), analyze only the tune with X: number N\n"
    "  -p, --profile NAME   key profile: ensemble (default), krumhansl-kessler, aarden-essen,\n"
    "                       simple, bellman-budge, temperley-kostka-payne\n"
    "  -n, --max-list N     list at most N chords and N findings in the text report (default 16)\n"
    "  -e, --explain        a readable report: why this key, each cadence, each voice-leading finding\n"
    "  -s, --surprisal      each note's information content and entropy under the bundled model\n"
    "  -m, --model CKPT     the same under another checkpoint of tactus train\n"
    "  -h, --help           show this help\n";

typedef struct analyze_ctx {
    const char *path;
    int json, explain;
    long tune;               /* -1: every tune */
    long matched;
    long max_list;
    tx_analyze_options opt;
    int status;
    tx_buf out;
    cli_lm *lm;              /* --surprisal: the model, NULL otherwise */
} analyze_ctx;

/* ---- surprisal ---- */

typedef struct surprisal {
    cli_lm_note_ic *notes;
    size_t n;
    long bar_shift;          /* 1 when a pickup was padded: the tokenizer's bar 1 is the pickup, bar 0 */
    double mean_ic, mean_entropy;
    size_t top[5], n_top;    /* the most surprising notes, by pitch information content */
} surprisal;

/* Information content of every note of s under the model (s's pickup is padded for the tokenizer). */
static int surprisal_of(cli_lm *lm, tx_score *s, surprisal *out, tx_error *err)
{
    memset(out, 0, sizeof *out);
    out->bar_shift = cli_lm_pad_pickup(s) > 0;
    int rc = cli_lm_surprisal(lm, s, &out->notes, &out->n, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        out->mean_ic += out->notes[i].ic / (double)out->n;
        out->mean_entropy += out->notes[i].entropy / (double)out->n;
        /* insertion into the top five */
        size_t k = out->n_top < 5 ? out->n_top++ : 4;
        if (k == 4 && out->n_top == 5 && out->notes[out->top[4]].ic >= out->notes[i].ic && i >= 5)
            continue;
        while (k > 0 && out->notes[out->top[k - 1]].ic < out->notes[i].ic) {
            out->top[k] = out->top[k - 1];
            k--;
        }
        out->top[k] = i;
    }
    return TX_OK;
}

static void surprisal_json(const surprisal *u, const cli_lm *lm, tx_buf *b)
{
    char name[8];
    tx_buf_puts(b, ", \"surprisal\": {\"model\": ");
    tx_buf_json_string(b, lm->path);
    tx_buf_printf(b, ", \"notes\": %zu, \"mean_ic\": %.4f, \"mean_entropy\": %.4f, \"most\": [", u->n, u->mean_ic,
                  u->mean_entropy);
    for (size_t i = 0; i < u->n_top; i++) {
        const cli_lm_note_ic *no = &u->notes[u->top[i]];
        tx_buf_printf(b, "%s{\"bar\": %ld, \"beat\": %.3g, \"pitch\": \"%s\", \"ic\": %.3f}", i ? ", " : "",
                      no->bar - u->bar_shift, no->beat, tx_pitch_name(no->pitch, 0, name), no->ic);
    }
    tx_buf_puts(b, "], \"per_note\": [");
    for (size_t i = 0; i < u->n; i++) {
        const cli_lm_note_ic *no = &u->notes[i];
        tx_buf_printf(b, "%s[%ld, %.4g, %d, %.3f, %.3f, %.3f]", i ? ", " : "", no->bar - u->bar_shift, no->beat,
                      no->pitch, no->ic, no->entropy, no->ic_note);
    }
    tx_buf_puts(b, "]}");
}

static void surprisal_text(const surprisal *u, tx_buf *b, int explain)
{
    char name[8];
    if (explain)
        tx_buf_printf(b, "Surprisal: under the model, a pitch of this piece carries %.2f bits of information on "
                      "average (how unexpected it was after everything before it), where the model expected "
                      "%.2f bits of uncertainty. The most surprising notes:\n", u->mean_ic, u->mean_entropy);
    else
        tx_buf_printf(b, "  %-12s %.2f bits per pitch (entropy %.2f); most surprising:", "surprisal:", u->mean_ic,
                      u->mean_entropy);
    for (size_t i = 0; i < u->n_top; i++) {
        const cli_lm_note_ic *no = &u->notes[u->top[i]];
        if (explain)
            tx_buf_printf(b, "  bar %ld, beat %.3g: %s, %.1f bits (the model expected %.1f bits of "
                          "uncertainty there)\n", no->bar - u->bar_shift, no->beat, tx_pitch_name(no->pitch, 0, name),
                          no->ic, no->entropy);
        else
            tx_buf_printf(b, "%s bar %ld beat %.3g %s %.1f", i ? "," : "", no->bar - u->bar_shift, no->beat,
                          tx_pitch_name(no->pitch, 0, name), no->ic);
    }
    tx_buf_puts(b, explain ? "\n" : "\n");
}

static const char *voice_name(const tx_score *s, int v, char *buf)
{
    if (v >= 0 && (size_t)v < s->n_tracks && s->tracks[v].name && *s->tracks[v].name)
        return s->tracks[v].name;
    snprintf(buf, 24, "track %d", v);
    return buf;
}

/* "G" (or "g" for G minor) into buf where chord i is the first read in its key, as RomanText marks a
 * key change before the numeral ("G: V7"); "" elsewhere. */
static const char *key_prefix(const tx_analysis *a, size_t i, char *buf)
{
    const tx_chord *ch = &a->chords[i];
    buf[0] = '\0';
    if (ch->key_tonic < 0)
        return buf;
    for (size_t j = i; j-- > 0;)
        if (a->chords[j].roman[0]) {   /* the last chord with a numeral before this one */
            if (a->chords[j].key_tonic == ch->key_tonic && a->chords[j].key_mode == ch->key_mode)
                return buf;
            break;
        }
    return tx_analyze_key_label(ch->key_tonic, ch->key_mode, buf);
}

static void print_text(analyze_ctx *c, const tx_score_item *it, const tx_analysis *a)
{
    tx_buf *b = &c->out;
    const tx_score *s = it->score;
    char place[48], p1[16], p2[16], va[24], vb[24], kl[8];
    if (it->format == TX_FORMAT_ABC)
        tx_buf_printf(b, "%s: tune %ld%s%s\n", c->path, it->number, *it->title ? ": " : "", it->title);
    else
        tx_buf_printf(b, "%s:\n", c->path);
    const tx_key_result *k = &a->key;
    if (k->found) {
        tx_buf_printf(b, "  %-12s %s %s (%s, r = %.3f); then", "key:", tx_key_tonic_name(k->best.tonic, k->best.mode),
                      tx_mode_name(k->best.mode), tx_key_profile_name(k->profile), k->best.correlation);
        for (int i = 0; i < TX_KEY_RUNNERS_UP; i++)
            tx_buf_printf(b, "%s %s %s %.3f", i ? "," : "", tx_key_tonic_name(k->runners_up[i].tonic, k->runners_up[i].mode),
                          tx_mode_name(k->runners_up[i].mode), k->runners_up[i].correlation);
        tx_buf_putc(b, '\n');
    } else {
        tx_buf_printf(b, "  %-12s none (no pitched notes)\n", "key:");
    }
    if (a->n_local_keys > 1) {
        tx_buf_printf(b, "  %-12s", "local keys:");
        for (size_t i = 0; i < a->n_local_keys; i++) {
            const tx_key_segment *g = &a->local_keys[i];
            tx_buf_printf(b, "%s bars %" PRId64 "-%" PRId64 " %s %s", i ? "," : "", g->first_bar + 1, g->last_bar + 1,
                          tx_key_tonic_name(g->tonic, g->mode), tx_mode_name(g->mode));
        }
        tx_buf_putc(b, '\n');
    }
    tx_buf_printf(b, "  %-12s %zu", "chords:", a->n_chords);
    for (size_t i = 0; i < a->n_chords && (long)i < c->max_list; i++) {
        const tx_chord *ch = &a->chords[i];
        tx_buf_printf(b, "%s %s %s", i ? "," : ":", tx_analyze_place(s, ch->onset, place), ch->name);
        if (*ch->roman) {
            key_prefix(a, i, kl);   /* before the call: argument order is unspecified */
            tx_buf_printf(b, " (%s%s%s)", kl, *kl ? ": " : "", ch->roman);
        }
    }
    if ((long)a->n_chords > c->max_list)
        tx_buf_puts(b, ", ...");
    tx_buf_putc(b, '\n');
    const tx_symbol_report *sy = &a->symbols;
    if (sy->read) {
        tx_buf_printf(b, "  %-12s %zu read, %zu not understood, %zu compared with the notes", "symbols:", sy->read,
                      sy->not_understood, sy->compared);
        if (sy->compared)
            tx_buf_printf(b, ", %zu agree (%.1f%%)", sy->agreed, 100 * sy->agreement);
        tx_buf_putc(b, '\n');
    }
    if (a->n_cadences) {
        tx_buf_printf(b, "  %-12s %zu", "cadences:", a->n_cadences);
        for (size_t i = 0; i < a->n_cadences && (long)i < c->max_list; i++)
            tx_buf_printf(b, "%s %s %s", i ? "," : ":", tx_analyze_place(s, a->cadences[i].tick, place),
                          tx_cadence_kind_name(a->cadences[i].kind));
        if ((long)a->n_cadences > c->max_list)
            tx_buf_puts(b, ", ...");
        tx_buf_putc(b, '\n');
    }
    tx_buf_printf(b, "  %-12s", "voices:");
    for (int kd = 0; kd < TX_VL_NKINDS; kd++)
        tx_buf_printf(b, "%s %zu %s%s", kd ? "," : "", a->vl.counts[kd], tx_vl_kind_name(kd),
                      a->vl.counts[kd] == 1 ? "" : "s");
    tx_buf_putc(b, '\n');
    for (size_t i = 0; i < a->vl.n_findings && (long)i < c->max_list; i++) {
        const tx_vl_finding *f = &a->vl.findings[i];
        if (f->voice_b < 0) {   /* one voice: range, leading tone, seventh */
            tx_buf_printf(b, "  %-12s %s: %s, %s", "", tx_analyze_place(s, f->tick, place), tx_vl_kind_name(f->kind),
                          voice_name(s, f->voice_a, va));
            if (f->from_a >= 0)
                tx_buf_printf(b, ", %s", tx_pitch_name(f->from_a, 0, p1));
            tx_buf_printf(b, "%s %s", f->from_a >= 0 ? " to" : ",", tx_pitch_name(f->to_a, 0, p1));
            if (f->kind == TX_VL_RANGE)
                tx_buf_printf(b, " (range %s-%s)", tx_pitch_name(f->low, 0, p1), tx_pitch_name(f->high, 0, p2));
            tx_buf_putc(b, '\n');
            continue;
        }
        tx_buf_printf(b, "  %-12s %s: %s, %s and %s", "", tx_analyze_place(s, f->tick, place), tx_vl_kind_name(f->kind),
                      voice_name(s, f->voice_a, va), voice_name(s, f->voice_b, vb));
        if (f->from_a >= 0 && f->from_b >= 0)
            tx_buf_printf(b, ", %s-%s", tx_pitch_name(f->from_a, 0, p1), tx_pitch_name(f->from_b, 0, p2));
        tx_buf_printf(b, " to %s-%s\n", tx_pitch_name(f->to_a, 0, p1), tx_pitch_name(f->to_b, 0, p2));
    }
    if ((long)a->vl.n_findings > c->max_list)
        tx_buf_printf(b, "  %-12s ... %zu findings in all\n", "", a->vl.n_findings);
    const tx_stats *st = &a->stats;
    tx_buf_printf(b, "  %-12s %zu, %.2f per second, %.2f per bar\n", "notes:", st->n_notes, st->notes_per_second,
                  st->notes_per_bar);
    if (st->pitch_max >= 0)
        tx_buf_printf(b, "  %-12s %s to %s (%d semitones), %d pitch classes\n", "ambitus:",
                      tx_pitch_name(st->pitch_min, 0, p1), tx_pitch_name(st->pitch_max, 0, p2), st->pitch_range,
                      st->pitch_classes_used);
    tx_buf_printf(b, "  %-12s", "pc profile:");
    for (int i = 0; i < 12; i++)
        tx_buf_printf(b, " %s %.2f", tx_pitch_class_name(i, 0), st->pc_histogram[i]);
    tx_buf_putc(b, '\n');
    tx_buf_printf(b, "  %-12s polyphony %.2f, polyphony rate %.2f, scale consistency %.2f, pitch entropy %.2f, "
                  "pitch-class entropy %.2f, empty beats %.2f, groove consistency %.3f\n", "metrics:", st->polyphony,
                  st->polyphony_rate, st->scale_consistency, st->pitch_entropy, st->pitch_class_entropy,
                  st->empty_beat_rate, st->groove_consistency);
    tx_buf_printf(b, "  %-12s %.2f bpm", "tempo:", st->tempo_bpm);
    if (st->tempo_min_bpm != st->tempo_max_bpm)
        tx_buf_printf(b, " (%.2f to %.2f)", st->tempo_min_bpm, st->tempo_max_bpm);
    tx_buf_printf(b, ", meter %d/%d, %" PRId64 " bars, %.3f s\n", st->meter_num, st->meter_den, st->bars, st->seconds);
}

static const char *const degree_names[12] = {"tonic", "minor second", "second", "minor third", "major third",
                                             "fourth", "tritone", "fifth", "minor sixth", "major sixth",
                                             "minor seventh", "major seventh"};

/* One voice-leading finding as a sentence. */
static void explain_finding(tx_buf *b, const tx_score *s, const tx_vl_finding *f)
{
    char place[48], p1[16], p2[16], p3[16], p4[16], va[24], vb[24];
    const char *a = voice_name(s, f->voice_a, va);
    tx_buf_printf(b, "  bar:beat %s: ", tx_analyze_place(s, f->tick, place));
    switch (f->kind) {
    case TX_VL_RANGE:
        tx_buf_printf(b, "range: %s sings %s, outside its range %s-%s\n", a, tx_pitch_name(f->to_a, 0, p1),
                      tx_pitch_name(f->low, 0, p2), tx_pitch_name(f->high, 0, p3));
        return;
    case TX_VL_UNRESOLVED_LEADING_TONE:
        tx_buf_printf(b, "unresolved leading tone in %s: %s goes to %s at the tonic chord, not up to %s\n", a,
                      tx_pitch_name(f->from_a, 0, p1), tx_pitch_name(f->to_a, 0, p2),
                      tx_pitch_name(f->from_a + 1, 0, p3));
        return;
    case TX_VL_UNRESOLVED_SEVENTH:
        tx_buf_printf(b, "unresolved seventh in %s: %s, the seventh of the chord before, goes to %s, not down "
                      "by step\n", a, tx_pitch_name(f->from_a, 0, p1), tx_pitch_name(f->to_a, 0, p2));
        return;
    default:
        break;
    }
    const char *v2 = voice_name(s, f->voice_b, vb);
    tx_buf_printf(b, "%s between %s and %s", tx_vl_kind_name(f->kind), a, v2);
    if (f->kind == TX_VL_CROSSING)
        tx_buf_printf(b, ": %s goes to %s, below %s\n", a, tx_pitch_name(f->to_a, 0, p1),
                      tx_pitch_name(f->to_b, 0, p2));
    else if (f->kind == TX_VL_SPACING)
        tx_buf_printf(b, ": %s and %s are %d semitones apart, more than an octave\n", tx_pitch_name(f->to_a, 0, p1),
                      tx_pitch_name(f->to_b, 0, p2), f->to_a - f->to_b);
    else if (f->kind == TX_VL_OVERLAP && f->to_b > f->from_a)
        tx_buf_printf(b, ": %s rises to %s, above %s, which %s has just left\n", v2, tx_pitch_name(f->to_b, 0, p1),
                      tx_pitch_name(f->from_a, 0, p2), a);
    else if (f->kind == TX_VL_OVERLAP)
        tx_buf_printf(b, ": %s falls to %s, below %s, which %s has just left\n", a, tx_pitch_name(f->to_a, 0, p1),
                      tx_pitch_name(f->from_b, 0, p2), v2);
    else
        tx_buf_printf(b, ": %s-%s moves to %s-%s\n", tx_pitch_name(f->from_a, 0, p1), tx_pitch_name(f->from_b, 0, p2),
                      tx_pitch_name(f->to_a, 0, p3), tx_pitch_name(f->to_b, 0, p4));
}

/* --explain: sentences for students and teachers rather than a table. */
static void print_explain(analyze_ctx *c, const tx_score_item *it, const tx_analysis *a)
{
    tx_buf *b = &c->out;
    const tx_score *s = it->score;
    char place[48];
    if (it->format == TX_FORMAT_ABC)
        tx_buf_printf(b, "%s, tune %ld%s%s\n\n", c->path, it->number, *it->title ? ": " : "", it->title);
    else
        tx_buf_printf(b, "%s\n\n", c->path);
    const tx_key_result *k = &a->key;
    if (!k->found) {
        tx_buf_puts(b, "Key: none; the piece has no pitched notes.\n\n");
    } else {
        int t = k->best.tonic, m = k->best.mode;
        tx_buf_printf(b, "Key: %s %s.\n", tx_key_tonic_name(t, m), tx_mode_name(m));
        /* the three pitch classes that weigh most, named as degrees of the key */
        int top[3] = {-1, -1, -1};
        double total = 0;
        for (int i = 0; i < 12; i++)
            total += k->histogram[i];
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < 12; i++) {
                if (i == top[0] || i == top[1])
                    continue;
                if (top[r] < 0 || k->histogram[i] > k->histogram[top[r]])
                    top[r] = i;
            }
        tx_buf_puts(b, "  The notes that last longest are");
        for (int r = 0; r < 3; r++)
            tx_buf_printf(b, "%s %s (the %s, %.0f%% of the sounding time)", r == 0 ? "" : r == 2 ? " and" : ",",
                          tx_key_tonic_name(top[r], m), degree_names[(top[r] - t + 12) % 12],
                          total > 0 ? 100 * k->histogram[top[r]] / total : 0);
        tx_buf_printf(b, ".\n  Their durations match the %s profile of %s %s best (correlation %.3f); the next "
                      "candidate, %s %s, reaches %.3f.\n", tx_key_profile_name(k->profile), tx_key_tonic_name(t, m),
                      tx_mode_name(m), k->best.correlation, tx_key_tonic_name(k->runners_up[0].tonic, k->runners_up[0].mode),
                      tx_mode_name(k->runners_up[0].mode), k->runners_up[0].correlation);
        if (k->best.correlation - k->runners_up[0].correlation < 0.05)
            tx_buf_puts(b, "  The two are close, so the key is uncertain (often relative or parallel keys).\n");
        if (a->n_local_keys > 1) {
            tx_buf_puts(b, "  The key moves:");
            for (size_t i = 0; i < a->n_local_keys; i++) {
                const tx_key_segment *g = &a->local_keys[i];
                tx_buf_printf(b, "%s bars %" PRId64 " to %" PRId64 " in %s %s", i ? "," : "", g->first_bar + 1,
                              g->last_bar + 1, tx_key_tonic_name(g->tonic, g->mode), tx_mode_name(g->mode));
            }
            tx_buf_puts(b, ".\n");
        }
        tx_buf_putc(b, '\n');
    }
    if (a->n_cadences) {
        tx_buf_puts(b, "Cadences (at the last chord and before rests):\n");
        for (size_t i = 0; i < a->n_cadences; i++) {
            const tx_cadence *cd = &a->cadences[i];
            const tx_chord *f = &a->chords[cd->chord], *p = cd->chord ? &a->chords[cd->chord - 1] : f;
            tx_buf_printf(b, "  bar:beat %s: %s cadence, %s (%s) to %s (%s)", tx_analyze_place(s, cd->tick, place),
                          tx_cadence_kind_name(cd->kind), p->name, p->roman, f->name, f->roman);
            /* name the key where it is not the key of the piece */
            if (f->key_tonic >= 0 && (f->key_tonic != k->best.tonic || f->key_mode != k->best.mode))
                tx_buf_printf(b, " in %s %s", tx_key_tonic_name(f->key_tonic, f->key_mode), tx_mode_name(f->key_mode));
            tx_buf_putc(b, '\n');
        }
        tx_buf_putc(b, '\n');
    } else if (k->found) {
        tx_buf_puts(b, "Cadences: none found at the last chord or before rests.\n\n");
    }
    const tx_symbol_report *sy = &a->symbols;
    if (sy->read) {
        tx_buf_printf(b, "Chord symbols: %zu in the score", sy->read);
        if (sy->not_understood)
            tx_buf_printf(b, ", %zu not understood", sy->not_understood);
        tx_buf_printf(b, ". %zu major or minor ones were compared with the triad their notes fit best (root and "
                      "major or minor only)", sy->compared);
        if (sy->compared)
            tx_buf_printf(b, "; %zu agree (%.1f%%)", sy->agreed, 100 * sy->agreement);
        tx_buf_puts(b, ".\n");
        long listed = 0;
        for (size_t i = 0; i < sy->n_items; i++) {
            const tx_symbol_match *m = &sy->items[i];
            if (m->understood && (!m->compared || m->agree))
                continue;
            if (listed++ >= c->max_list) {
                tx_buf_puts(b, "  ...\n");
                break;
            }
            if (!m->understood)
                tx_buf_printf(b, "  bar:beat %s: \"%s\" is not a chord symbol tactus reads\n",
                              tx_analyze_place(s, m->tick, place), m->text);
            else
                tx_buf_printf(b, "  bar:beat %s: \"%s\", where the notes suggest %s %s\n",
                              tx_analyze_place(s, m->tick, place), m->text,
                              tx_pitch_class_name(m->heard_root, 0), m->heard_majmin == TX_MAJMIN_MINOR ? "minor" : "major");
        }
        tx_buf_putc(b, '\n');
    }
    if (a->vl.n_findings) {
        tx_buf_puts(b, "Voice leading:\n");
        for (size_t i = 0; i < a->vl.n_findings; i++)
            explain_finding(b, s, &a->vl.findings[i]);
        tx_buf_putc(b, '\n');
    } else {
        tx_buf_puts(b, "Voice leading: no parallel, contrary or hidden fifths or octaves, no crossings or overlaps, "
                    "no wide spacing, no voice out of range, no unresolved leading tone or seventh.\n\n");
    }
}

/* Analyzes and prints one score of a file (the file, or one ABC tune). */
static int analyze_item(void *ud, tx_score_item *it)
{
    analyze_ctx *c = ud;
    /* --tune N: the first tune numbered N; a file that could not be read is reported whatever N is */
    if (c->tune >= 0 && it->bytes && (it->number != c->tune || c->matched))
        return 0;
    c->matched++;
    tx_analysis *a = NULL;
    tx_error err;
    tx_error_clear(&err);
    int rc = it->status;
    const char *msg = rc ? it->error->msg : NULL;
    if (!rc && (rc = tx_analyze(it->score, &c->opt, &a, &err)))
        msg = err.msg;
    surprisal u = {NULL, 0, 0, 0, 0, {0}, 0};
    if (!rc && c->lm && (rc = surprisal_of(c->lm, it->score, &u, &err)))
        msg = err.msg;
    tx_buf *b = &c->out;
    tx_buf_reset(b);
    if (c->json) {
        cli_json_head(b, c->path, it);
        if (rc) {
            tx_buf_puts(b, ", \"error\": ");
            tx_buf_json_string(b, msg);
        } else {
            tx_buf_puts(b, ", ");
            tx_analysis_json(a, it->score, b);
            if (c->lm)
                surprisal_json(&u, c->lm, b);
        }
        tx_buf_puts(b, "}\n");
    } else if (!rc && c->explain) {
        print_explain(c, it, a);
        if (c->lm)
            surprisal_text(&u, b, 1);
    } else if (!rc) {
        print_text(c, it, a);
        if (c->lm)
            surprisal_text(&u, b, 0);
    }
    tx_free(u.notes);
    tx_analysis_free(a);
    return cli_emit_item(c->path, rc, msg, b, &c->status);
}

int cmd_analyze(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"tune", required_argument, NULL, 't'},
        {"profile", required_argument, NULL, 'p'},
        {"max-list", required_argument, NULL, 'n'},
        {"explain", no_argument, NULL, 'e'},
        {"surprisal", no_argument, NULL, 's'},
        {"model", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    analyze_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.tune = -1;
    ctx.max_list = 16;
    tx_analyze_options_init(&ctx.opt);
    int c, surprise = 0;
    const char *model = NULL;
    char *end;
    while ((c = getopt_long(argc, argv, "jt:p:n:esm:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': ctx.json = 1; break;
        case 's': surprise = 1; break;
        case 'm': model = optarg; surprise = 1; break;
        case 'e': ctx.explain = 1; break;
        case 't':
            ctx.tune = strtol(optarg, &end, 10);
            if (*end || end == optarg || ctx.tune < 0)
                return cli_usage_error("analyze", "--tune takes an X: number");
            break;
        case 'p':
            if ((ctx.opt.profile = tx_key_profile_from_name(optarg)) < 0)
                return cli_usage_error("analyze", "unknown key profile '%s'", optarg);
            break;
        case 'n':
            ctx.max_list = strtol(optarg, &end, 10);
            if (*end || end == optarg || ctx.max_list < 0)
                return cli_usage_error("analyze", "--max-list takes a count");
            break;
        case 'h': cli_usage(stdout, "analyze", options); return cli_flush_stdout();
        default: return cli_usage_error("analyze", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("analyze", "no input files");
    cli_lm lm;
    if (surprise) {
        if (cli_lm_open(&lm, model))
            return EXIT_INPUT;
        ctx.lm = &lm;
    }
    for (int i = optind; i < argc; i++) {
        ctx.path = argv[i];
        ctx.matched = 0;
        if (cli_each_score(ctx.path, analyze_item, &ctx)) {
            ctx.status = EXIT_INPUT;
            break;
        }
        if (ctx.tune >= 0 && !ctx.matched) {
            cli_error("%s: no tune with X: number %ld", ctx.path, ctx.tune);
            ctx.status = EXIT_INPUT;
        }
    }
    tx_buf_free(&ctx.out);
    if (ctx.lm)
        cli_lm_close(ctx.lm);
    return ctx.status;
}
