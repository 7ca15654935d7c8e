/* info.c: `tactus info`: what a score file holds, for people (a short report) or scripts (--json,
 * one object per file per line). A file that fails is reported and the others go on. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char options[] =
    "  -j, --json     one JSON object per file per line\n"
    "  -h, --help     show this help\n";

typedef struct summary {
    size_t *track_notes;   /* notes per track */
    int pitch_min, pitch_max;
    tx_tick end;
    int64_t bars;
    double seconds;
} summary;

static int summarize(const tx_score *s, summary *sm)
{
    memset(sm, 0, sizeof *sm);
    sm->track_notes = tx_calloc(s->n_tracks ? s->n_tracks : 1, sizeof *sm->track_notes);
    if (!sm->track_notes)
        return TX_ENOMEM;
    sm->pitch_min = 128;
    sm->pitch_max = -1;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        sm->track_notes[n->track]++;
        if (n->pitch < sm->pitch_min)
            sm->pitch_min = n->pitch;
        if (n->pitch > sm->pitch_max)
            sm->pitch_max = n->pitch;
    }
    sm->end = tx_score_end_tick(s);
    sm->bars = tx_score_bar_count(s);
    sm->seconds = tx_score_seconds(s, sm->end);
    return TX_OK;
}

static void print_json(tx_buf *b, const char *path, const tx_score_item *it, const summary *sm)
{
    char name[24];
    const tx_score *s = it->score;
    cli_json_head(b, path, it);
    tx_buf_printf(b, ", \"ticks_per_quarter\": %d", s->tpq);
    const char *title = tx_score_meta(s, "title");
    if (title && it->format != TX_FORMAT_ABC) {
        tx_buf_puts(b, ", \"title\": ");
        tx_buf_json_string(b, title);
    }
    tx_buf_printf(b, ", \"notes\": %zu, \"duration_ticks\": %" PRId64 ", \"duration_seconds\": %.3f, "
                  "\"bars\": %" PRId64, s->n_notes, sm->end, sm->seconds, sm->bars);
    if (sm->pitch_max >= 0)
        tx_buf_printf(b, ", \"pitch_min\": %d, \"pitch_max\": %d", sm->pitch_min, sm->pitch_max);
    else
        tx_buf_puts(b, ", \"pitch_min\": null, \"pitch_max\": null");
    tx_buf_puts(b, ", \"tracks\": [");
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tx_track *t = &s->tracks[i];
        tx_buf_printf(b, "%s{\"index\": %zu, \"name\": ", i ? ", " : "", i);
        tx_buf_json_string(b, t->name);
        tx_buf_printf(b, ", \"program\": %d, \"channel\": %d, \"drum\": %s, \"notes\": %zu}", t->program,
                      t->channel, t->is_drum ? "true" : "false", sm->track_notes[i]);
    }
    tx_buf_puts(b, "], \"tempos\": [");
    for (size_t i = 0; i < s->n_tempos; i++)
        tx_buf_printf(b, "%s{\"tick\": %" PRId64 ", \"usec_per_quarter\": %u, \"bpm\": %.2f}", i ? ", " : "",
                      s->tempos[i].tick, s->tempos[i].usec_per_quarter, 6e7 / s->tempos[i].usec_per_quarter);
    tx_buf_puts(b, "], \"time_signatures\": [");
    for (size_t i = 0; i < s->n_timesigs; i++) {
        tx_barpos p;
        tx_score_locate(s, s->timesigs[i].tick, &p);
        tx_buf_printf(b, "%s{\"tick\": %" PRId64 ", \"bar\": %" PRId64 ", \"numerator\": %d, "
                      "\"denominator\": %d}", i ? ", " : "", s->timesigs[i].tick, p.bar + 1,
                      s->timesigs[i].num, s->timesigs[i].den);
    }
    tx_buf_puts(b, "], \"key_signatures\": [");
    for (size_t i = 0; i < s->n_keysigs; i++) {
        const tx_keysig *k = &s->keysigs[i];
        tx_buf_printf(b, "%s{\"tick\": %" PRId64 ", \"fifths\": %d, \"mode\": \"%s\", \"name\": \"%s\"}",
                      i ? ", " : "", k->tick, k->fifths, tx_mode_name(k->mode),
                      tx_key_name(k->fifths, k->mode, name));
    }
    tx_buf_puts(b, "]}\n");
}

static void print_text(tx_buf *b, const char *path, const tx_score_item *it, const summary *sm)
{
    char lo[16], hi[16], key[24];
    const tx_score *s = it->score;
    if (it->format == TX_FORMAT_ABC)
        tx_buf_printf(b, "%s: tune %ld: ", path, it->number);
    else
        tx_buf_printf(b, "%s: ", path);
    tx_buf_printf(b, "%s, %d ticks per quarter, %zu track%s\n", tx_format_name(it->format), s->tpq,
                  s->n_tracks, s->n_tracks == 1 ? "" : "s");
    const char *title = tx_score_meta(s, "title");
    if (title && *title)
        tx_buf_printf(b, "  %-10s %s\n", "title:", title);
    int minutes = (int)(sm->seconds / 60);
    tx_buf_printf(b, "  %-10s %" PRId64 " ticks, %d:%06.3f (%.3f s), %" PRId64 " bar%s\n", "duration:", sm->end, minutes,
                  sm->seconds - 60.0 * minutes, sm->seconds, sm->bars, sm->bars == 1 ? "" : "s");
    tx_buf_printf(b, "  %-10s %zu", "notes:", s->n_notes);
    if (sm->pitch_max >= 0)
        tx_buf_printf(b, ", pitch %s (%d) to %s (%d)", tx_pitch_name(sm->pitch_min, 0, lo), sm->pitch_min,
                      tx_pitch_name(sm->pitch_max, 0, hi), sm->pitch_max);
    tx_buf_putc(b, '\n');
    if (s->n_tempos == 0)
        tx_buf_printf(b, "  %-10s 120 bpm (none given)\n", "tempo:");
    for (size_t i = 0; i < s->n_tempos && i < 8; i++)
        tx_buf_printf(b, "  %-10s %.2f bpm at tick %" PRId64 "\n", i ? "" : "tempo:", 6e7 /
                      s->tempos[i].usec_per_quarter, s->tempos[i].tick);
    if (s->n_tempos > 8)
        tx_buf_printf(b, "             ... %zu tempo changes in all\n", s->n_tempos);
    for (size_t i = 0; i < s->n_timesigs && i < 8; i++) {
        tx_barpos p;
        tx_score_locate(s, s->timesigs[i].tick, &p);
        tx_buf_printf(b, "  %-10s %d/%d at bar %" PRId64 "\n", i ? "" : "meter:", s->timesigs[i].num,
                      s->timesigs[i].den, p.bar + 1);
    }
    if (s->n_timesigs > 8)
        tx_buf_printf(b, "  %-10s ... %zu time signatures in all\n", "", s->n_timesigs);
    for (size_t i = 0; i < s->n_keysigs && i < 8; i++)
        tx_buf_printf(b, "  %-10s %s at tick %" PRId64 "\n", i ? "" : "key:",
                      tx_key_name(s->keysigs[i].fifths, s->keysigs[i].mode, key), s->keysigs[i].tick);
    if (s->n_keysigs > 8)
        tx_buf_printf(b, "  %-10s ... %zu key signatures in all\n", "", s->n_keysigs);
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tx_track *t = &s->tracks[i];
        tx_buf_printf(b, "  track %-4zu %-20s %s", i, *t->name ? t->name : "(unnamed)",
                      t->is_drum ? "drums" : tx_gm_program_name(t->program));
        if (!t->is_drum)
            tx_buf_printf(b, " (program %d)", t->program);
        if (t->channel >= 0)
            tx_buf_printf(b, ", channel %d", t->channel + 1);
        tx_buf_printf(b, ", %zu notes\n", sm->track_notes[i]);
    }
}

typedef struct info_ctx {
    const char *path;
    int json;
    int status;
    tx_buf out;
} info_ctx;

/* Prints one score of a file (the file, or one ABC tune). */
static int info_item(void *ud, tx_score_item *it)
{
    info_ctx *c = ud;
    summary sm = {0};
    int rc = it->status;
    const char *msg = rc ? it->error->msg : NULL;
    if (!rc && (rc = summarize(it->score, &sm)))
        msg = "out of memory";
    tx_buf *b = &c->out;
    tx_buf_reset(b);
    if (c->json && rc) {
        cli_json_head(b, c->path, it);
        tx_buf_puts(b, ", \"error\": ");
        tx_buf_json_string(b, msg);
        tx_buf_puts(b, "}\n");
    } else if (c->json) {
        print_json(b, c->path, it, &sm);
    } else if (!rc) {
        print_text(b, c->path, it, &sm);
    }
    tx_free(sm.track_notes);
    return cli_emit_item(c->path, rc, msg, b, &c->status);
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': cli_usage(stdout, "info", options); return cli_flush_stdout();
        default: return cli_usage_error("info", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("info", "no input files");
    info_ctx ctx = {NULL, json, EXIT_OK, TX_BUF_INIT};
    for (int i = optind; i < argc; i++) {
        ctx.path = argv[i];
        if (cli_each_score(ctx.path, info_item, &ctx)) {
            ctx.status = EXIT_INPUT;
            break;
        }
    }
    tx_buf_free(&ctx.out);
    return ctx.status;
}
