/* remi-json.c: MidiTok's tokenizer JSON (`tokenizer.save()`), read and written.
 *
 * Writing gives MidiTok's layout (json.dump with indent 4, its field order, its defaults for the
 * features tactus does not implement), so a tactus configuration loads in MidiTok. Reading takes the
 * fields REMI uses and refuses enabled features tactus does not implement. It is not a general
 * TokenizerConfig reader for MidiTok's other tokenizers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "remi-priv.h"

/* ==================================================================================================
 * MidiTok's tokenizer JSON
 * ================================================================================================== */

/* Python's json.dumps(indent=4) layout: one value per line inside lists and objects. */
static void put_indent(tx_buf *b, int level)
{
    for (int i = 0; i < level * 4; i++)
        tx_buf_putc(b, ' ');
}

static void put_key(tx_buf *b, int level, const char *key, int first)
{
    if (!first)
        tx_buf_puts(b, ",\n");
    put_indent(b, level);
    tx_buf_json_string(b, key);
    tx_buf_puts(b, ": ");
}

static void put_int_list(tx_buf *b, int level, const int *v, int n)
{
    if (n == 0) {
        tx_buf_puts(b, "[]");
        return;
    }
    tx_buf_puts(b, "[\n");
    for (int i = 0; i < n; i++) {
        put_indent(b, level + 1);
        tx_buf_printf(b, "%d%s\n", v[i], i + 1 < n ? "," : "");
    }
    put_indent(b, level);
    tx_buf_putc(b, ']');
}

/* A number as Python prints it: integers without a fraction when they were given as integers. */
static void put_number(tx_buf *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        tx_buf_printf(b, "%.0f", v);
    else {
        char buf[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        tx_buf_puts(b, buf);
    }
}

#define BOOL(x) ((x) ? "true" : "false")

int tx_remi_config_write(const tx_remi_config *c, tx_buf *b)
{
    static const struct { const char *name; int n; int v[5]; } chords[] = {
        {"min", 3, {0, 3, 7}}, {"maj", 3, {0, 4, 7}}, {"dim", 3, {0, 3, 6}}, {"aug", 3, {0, 4, 8}},
        {"sus2", 3, {0, 2, 7}}, {"sus4", 3, {0, 5, 7}}, {"7dom", 4, {0, 4, 7, 10}},
        {"7min", 4, {0, 3, 7, 10}}, {"7maj", 4, {0, 4, 7, 11}}, {"7halfdim", 4, {0, 3, 6, 10}},
        {"7dim", 4, {0, 3, 6, 9}}, {"7aug", 4, {0, 4, 8, 11}}, {"9maj", 5, {0, 4, 7, 10, 14}},
        {"9min", 5, {0, 4, 7, 10, 13}},
    };
    int L = 2;
    tx_buf_puts(b, "{\n    \"config\": {\n");
    put_key(b, L, "pitch_range", 1);
    int pr[2] = {c->pitch_lo, c->pitch_hi};
    put_int_list(b, L, pr, 2);
    put_key(b, L, "beat_res", 0);
    tx_buf_puts(b, "{\n");
    for (int i = 0; i < c->n_beat_res; i++) {
        put_indent(b, L + 1);
        tx_buf_printf(b, "\"%d_%d\": %d%s\n", c->beat_res[i].lo, c->beat_res[i].hi, c->beat_res[i].res,
                      i + 1 < c->n_beat_res ? "," : "");
    }
    put_indent(b, L);
    tx_buf_putc(b, '}');
    put_key(b, L, "num_velocities", 0);
    tx_buf_printf(b, "%d", c->num_velocities);
    put_key(b, L, "remove_duplicated_notes", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "encode_ids_split", 0);
    tx_buf_puts(b, "\"bar\"");
    put_key(b, L, "special_tokens", 0);
    if (c->n_special == 0)
        tx_buf_puts(b, "[]");
    else {
        tx_buf_puts(b, "[\n");
        for (int i = 0; i < c->n_special; i++) {
            put_indent(b, L + 1);
            tx_buf_json_string(b, c->special[i]);
            tx_buf_puts(b, i + 1 < c->n_special ? ",\n" : "\n");
        }
        put_indent(b, L);
        tx_buf_putc(b, ']');
    }
    put_key(b, L, "use_velocities", 0);
    tx_buf_puts(b, "true");
    put_key(b, L, "use_note_duration_programs", 0);
    put_int_list(b, L, c->programs, c->n_programs);
    put_key(b, L, "use_chords", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "use_rests", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "use_tempos", 0);
    tx_buf_puts(b, BOOL(c->use_tempos));
    put_key(b, L, "use_time_signatures", 0);
    tx_buf_puts(b, BOOL(c->use_time_signatures));
    put_key(b, L, "use_sustain_pedals", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "use_pitch_bends", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "use_programs", 0);
    tx_buf_puts(b, BOOL(c->use_programs));
    put_key(b, L, "use_pitch_intervals", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "use_pitchdrum_tokens", 0);
    tx_buf_puts(b, BOOL(c->use_pitchdrum_tokens));
    put_key(b, L, "default_note_duration", 0);
    tx_buf_puts(b, "0.5");
    put_key(b, L, "programs", 0);
    put_int_list(b, L, c->programs, c->n_programs);
    put_key(b, L, "one_token_stream_for_programs", 0);
    tx_buf_puts(b, BOOL(c->one_token_stream));
    put_key(b, L, "program_changes", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "beat_res_rest", 0);
    tx_buf_puts(b, "{\n            \"0_1\": 8,\n            \"1_2\": 4,\n            \"2_12\": 2\n        }");
    put_key(b, L, "chord_maps", 0);
    tx_buf_puts(b, "{\n");
    for (size_t i = 0; i < sizeof chords / sizeof chords[0]; i++) {
        put_indent(b, L + 1);
        tx_buf_printf(b, "\"%s\": ", chords[i].name);
        put_int_list(b, L + 1, chords[i].v, chords[i].n);
        tx_buf_puts(b, i + 1 < sizeof chords / sizeof chords[0] ? ",\n" : "\n");
    }
    put_indent(b, L);
    tx_buf_putc(b, '}');
    put_key(b, L, "chord_tokens_with_root_note", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "chord_unknown", 0);
    tx_buf_puts(b, "null");
    put_key(b, L, "num_tempos", 0);
    tx_buf_printf(b, "%d", c->num_tempos);
    put_key(b, L, "tempo_range", 0);
    tx_buf_puts(b, "[\n            ");
    put_number(b, c->tempo_lo);
    tx_buf_puts(b, ",\n            ");
    put_number(b, c->tempo_hi);
    tx_buf_puts(b, "\n        ]");
    put_key(b, L, "log_tempos", 0);
    tx_buf_puts(b, BOOL(c->log_tempos));
    put_key(b, L, "delete_equal_successive_tempo_changes", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "time_signature_range", 0);
    tx_buf_puts(b, "{\n");
    int done_den[TX_REMI_MAX_TIMESIGS], n_done = 0;
    for (int i = 0; i < c->n_timesigs; i++) {
        int den = c->timesigs[i].den, seen = 0;
        for (int k = 0; k < n_done; k++)
            seen |= done_den[k] == den;
        if (seen)
            continue;
        done_den[n_done++] = den;
        int nums[TX_REMI_MAX_TIMESIGS], nn = 0;
        for (int j = i; j < c->n_timesigs; j++)
            if (c->timesigs[j].den == den)
                nums[nn++] = c->timesigs[j].num;
        if (n_done > 1)
            tx_buf_puts(b, ",\n");
        put_indent(b, L + 1);
        tx_buf_printf(b, "\"%d\": ", den);
        put_int_list(b, L + 1, nums, nn);
    }
    tx_buf_putc(b, '\n');
    put_indent(b, L);
    tx_buf_putc(b, '}');
    put_key(b, L, "delete_equal_successive_time_sig_changes", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "sustain_pedal_duration", 0);
    tx_buf_puts(b, "false");
    put_key(b, L, "pitch_bend_range", 0);
    int pb[3] = {-8192, 8191, 32};
    put_int_list(b, L, pb, 3);
    put_key(b, L, "max_pitch_interval", 0);
    tx_buf_puts(b, "16");
    put_key(b, L, "pitch_intervals_max_time_dist", 0);
    tx_buf_puts(b, "1");
    put_key(b, L, "drums_pitch_range", 0);
    int dr[2] = {c->drums_lo, c->drums_hi};
    put_int_list(b, L, dr, 2);
    static const char *ac[][2] = {
        {"ac_polyphony_track", "false"}, {"ac_polyphony_bar", "false"}, {"ac_polyphony_min", "1"},
        {"ac_polyphony_max", "6"}, {"ac_pitch_class_bar", "false"}, {"ac_note_density_track", "false"},
        {"ac_note_density_track_min", "0"}, {"ac_note_density_track_max", "18"},
        {"ac_note_density_bar", "false"}, {"ac_note_density_bar_max", "18"},
        {"ac_note_duration_bar", "false"}, {"ac_note_duration_track", "false"},
        {"ac_repetition_track", "false"}, {"ac_repetition_track_num_bins", "10"},
        {"ac_repetition_track_num_consec_bars", "4"},
    };
    for (size_t i = 0; i < sizeof ac / sizeof ac[0]; i++) {
        put_key(b, L, ac[i][0], 0);
        tx_buf_puts(b, ac[i][1]);
    }
    put_key(b, L, "additional_params", 0);
    tx_buf_puts(b, "{\n            \"max_bar_embedding\": null,\n            \"use_bar_end_tokens\": false,\n"
                   "            \"add_trailing_bars\": false\n        }\n    },\n");
    tx_buf_puts(b, "    \"tokenization\": \"REMI\",\n    \"miditok_version\": \"3.0.6.post1\",\n"
                   "    \"symusic_version\": \"0.5.8\",\n    \"hf_tokenizers_version\": \"none (tactus)\"\n}");
    return b->oom ? TX_ENOMEM : TX_OK;
}

static int read_int_list(const tx_json *j, int *out, int max, int *n, const char *name, const char *key,
                         tx_error *err)
{
    if (!j || j->type != TX_JSON_ARRAY || (int)j->len > max)
        return tx_error_set(err, TX_ESYNTAX, "%s: %s must be a list of at most %d integers", name, key, max);
    for (size_t i = 0; i < j->len; i++) {
        const tx_json *v = j->items[i];
        if (v->type != TX_JSON_NUMBER || !v->is_integer || v->integer < -100000 || v->integer > 100000)
            return tx_error_set(err, TX_ESYNTAX, "%s:%ld:%ld: %s: expected an integer", name, v->line,
                                v->column, key);
        out[i] = (int)v->integer;
    }
    *n = (int)j->len;
    return TX_OK;
}

static int parse_small_int(const char *s, const char *end, int *out)
{
    long v = 0;
    if (s == end)
        return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > 100000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = (int)v;
    return 0;
}

int tx_remi_config_read(tx_remi_config *c, const char *text, size_t len, const char *name, tx_error *err)
{
    tx_arena a = TX_ARENA_INIT;
    tx_json *root;
    int rc = tx_json_parse(text, len, name, &a, &root, err);
    if (rc)
        return rc;
    const tx_json *j = tx_json_get(root, "config");
    if (!j)
        j = root;
    if (j->type != TX_JSON_OBJECT) {
        tx_arena_free(&a);
        return tx_error_set(err, TX_ESYNTAX, "%s: expected a JSON object", name);
    }
    const char *tok = tx_json_get_str(root, "tokenization", "REMI");
    if (strcmp(tok, "REMI") && strcmp(tok, "REMIPlus")) {
        rc = tx_error_set(err, TX_EUNSUP, "%s: tokenization \"%.64s\" is not REMI", name, tok);
        tx_arena_free(&a);
        return rc;
    }
    tx_remi_config_default(c);
    static const char *unsupported[] = {
        "use_chords", "use_rests", "use_sustain_pedals", "use_pitch_bends", "use_pitch_intervals",
        "program_changes", "remove_duplicated_notes", "delete_equal_successive_tempo_changes",
        "delete_equal_successive_time_sig_changes", "ac_polyphony_track", "ac_polyphony_bar",
        "ac_pitch_class_bar", "ac_note_density_track", "ac_note_density_bar", "ac_note_duration_bar",
        "ac_note_duration_track", "ac_repetition_track",
    };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (tx_json_get_bool(j, unsupported[i], 0)) {
            tx_arena_free(&a);
            return tx_error_set(err, TX_EUNSUP, "%s: %s is not supported by tactus's REMI", name,
                                unsupported[i]);
        }
    if (!tx_json_get_bool(j, "use_velocities", 1)) {
        tx_arena_free(&a);
        return tx_error_set(err, TX_EUNSUP, "%s: use_velocities false is not supported", name);
    }
    const tx_json *ap = tx_json_get(j, "additional_params");
    if (ap && ((tx_json_get(ap, "max_bar_embedding") &&
                tx_json_get(ap, "max_bar_embedding")->type != TX_JSON_NULL) ||
               tx_json_get_bool(ap, "use_bar_end_tokens", 0) || tx_json_get_bool(ap, "add_trailing_bars", 0))) {
        tx_arena_free(&a);
        return tx_error_set(err, TX_EUNSUP, "%s: additional_params (bar embedding, bar end, trailing bars) "
                            "are not supported", name);
    }
    int tmp[256], n;
    const tx_json *v;
    if ((v = tx_json_get(j, "pitch_range"))) {
        if ((rc = read_int_list(v, tmp, 2, &n, name, "pitch_range", err)) || n != 2)
            goto bad;
        c->pitch_lo = tmp[0];
        c->pitch_hi = tmp[1];
    }
    if ((v = tx_json_get(j, "drums_pitch_range"))) {
        if ((rc = read_int_list(v, tmp, 2, &n, name, "drums_pitch_range", err)) || n != 2)
            goto bad;
        c->drums_lo = tmp[0];
        c->drums_hi = tmp[1];
    }
    if ((v = tx_json_get(j, "beat_res"))) {
        if (v->type != TX_JSON_OBJECT || v->len < 1 || v->len > TX_REMI_MAX_BEAT_RES)
            goto bad_msg;
        c->n_beat_res = (int)v->len;
        for (size_t i = 0; i < v->len; i++) {
            const char *k = v->keys[i], *us = strchr(k, '_');
            const tx_json *x = v->items[i];
            if (!us || parse_small_int(k, us, &c->beat_res[i].lo) ||
                parse_small_int(us + 1, k + strlen(k), &c->beat_res[i].hi) || x->type != TX_JSON_NUMBER ||
                !x->is_integer || x->integer < 1 || x->integer > 64)
                goto bad_msg;
            c->beat_res[i].res = (int)x->integer;
        }
    }
    c->num_velocities = (int)tx_json_get_int(j, "num_velocities", c->num_velocities);
    if ((v = tx_json_get(j, "special_tokens"))) {
        if (v->type != TX_JSON_ARRAY || v->len > TX_REMI_MAX_SPECIAL)
            goto bad_msg;
        c->n_special = (int)v->len;
        for (size_t i = 0; i < v->len; i++) {
            if (v->items[i]->type != TX_JSON_STRING || v->items[i]->len >= sizeof c->special[0])
                goto bad_msg;
            snprintf(c->special[i], sizeof c->special[i], "%s", v->items[i]->str);
            if (!strchr(c->special[i], '_'))   /* MidiTok appends "_None" to bare names */
                snprintf(c->special[i] + strlen(c->special[i]),
                         sizeof c->special[i] - strlen(c->special[i]), "_None");
        }
    }
    c->use_tempos = tx_json_get_bool(j, "use_tempos", 0);
    c->use_time_signatures = tx_json_get_bool(j, "use_time_signatures", 0);
    c->use_programs = tx_json_get_bool(j, "use_programs", 0);
    c->one_token_stream = tx_json_get_bool(j, "one_token_stream_for_programs", 0) && c->use_programs;
    c->use_pitchdrum_tokens = tx_json_get_bool(j, "use_pitchdrum_tokens", 1);
    if ((v = tx_json_get(j, "programs"))) {
        if ((rc = read_int_list(v, tmp, 129, &n, name, "programs", err)))
            goto bad;
        c->n_programs = n;
        memcpy(c->programs, tmp, sizeof tmp[0] * (size_t)n);
    }
    if ((v = tx_json_get(j, "use_note_duration_programs"))) {
        if ((rc = read_int_list(v, tmp, 256, &n, name, "use_note_duration_programs", err)))
            goto bad;
        for (int i = 0; i < c->n_programs; i++) {
            int found = 0;
            for (int k = 0; k < n; k++)
                found |= tmp[k] == c->programs[i];
            if (!found) {
                tx_arena_free(&a);
                return tx_error_set(err, TX_EUNSUP, "%s: notes without durations (program %d) are not "
                                    "supported", name, c->programs[i]);
            }
        }
    }
    c->num_tempos = (int)tx_json_get_int(j, "num_tempos", c->num_tempos);
    if ((v = tx_json_get(j, "tempo_range"))) {
        if (v->type != TX_JSON_ARRAY || v->len != 2 || v->items[0]->type != TX_JSON_NUMBER ||
            v->items[1]->type != TX_JSON_NUMBER)
            goto bad_msg;
        c->tempo_lo = v->items[0]->num;
        c->tempo_hi = v->items[1]->num;
    }
    c->log_tempos = tx_json_get_bool(j, "log_tempos", 0);
    if ((v = tx_json_get(j, "time_signature_range"))) {
        if (v->type != TX_JSON_OBJECT)
            goto bad_msg;
        c->n_timesigs = 0;
        for (size_t i = 0; i < v->len; i++) {
            int den;
            if (parse_small_int(v->keys[i], v->keys[i] + strlen(v->keys[i]), &den))
                goto bad_msg;
            const tx_json *x = v->items[i];
            if (x->type != TX_JSON_ARRAY)
                goto bad_msg;
            for (size_t k = 0; k < x->len; k++) {
                int num;
                if (x->items[k]->type == TX_JSON_NUMBER && x->items[k]->is_integer) {
                    num = (int)x->items[k]->integer;
                    if (c->n_timesigs == TX_REMI_MAX_TIMESIGS || num < 1 || num > 64)
                        goto bad_msg;
                    c->timesigs[c->n_timesigs].num = num;
                    c->timesigs[c->n_timesigs].den = den;
                    c->n_timesigs++;
                } else if (x->items[k]->type == TX_JSON_ARRAY && x->items[k]->len == 2) {
                    /* MidiTok also accepts [lo, hi] ranges of numerators */
                    const tx_json *lo = x->items[k]->items[0], *hi = x->items[k]->items[1];
                    if (lo->type != TX_JSON_NUMBER || hi->type != TX_JSON_NUMBER || lo->integer < 1 ||
                        hi->integer > 64)
                        goto bad_msg;
                    for (int64_t q = lo->integer; q <= hi->integer; q++) {
                        if (c->n_timesigs == TX_REMI_MAX_TIMESIGS)
                            goto bad_msg;
                        c->timesigs[c->n_timesigs].num = (int)q;
                        c->timesigs[c->n_timesigs].den = den;
                        c->n_timesigs++;
                    }
                } else {
                    goto bad_msg;
                }
            }
        }
    }
    tx_arena_free(&a);
    tx_error e2;
    tx_error_clear(&e2);
    if (remi_check_config(c, &e2))
        return tx_error_set(err, e2.code, "%s: %s", name, e2.msg);
    return TX_OK;
bad_msg:
    tx_arena_free(&a);
    return tx_error_set(err, TX_ESYNTAX, "%s: malformed tokenizer configuration", name);
bad:
    tx_arena_free(&a);
    if (!rc)
        rc = tx_error_set(err, TX_ESYNTAX, "%s: malformed tokenizer configuration", name);
    return rc;
}
