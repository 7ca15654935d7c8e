/* lm.c: what generate, continue and infill share: a checkpoint opened with its tokenizer (the REMI
 * configuration and vocabulary in its metadata, and the fill-in-the-middle sentinels of tactus train
 * --fim after it), the tokenizer's grammar as the sampler's mask, and the sampling loop that counts bars
 * and slides its window when the context fills.
 *
 * The bundled model is found with tx_data_path() (installed data, $TACTUS_DATA, or the source tree).
 * Nothing here reads scores or writes files: the commands do.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lm.h"

#define META_TOKENIZER "tactus.tokenizer"
#define META_TOK_CONFIG "tactus.tokenizer.config"
#define META_TOK_VOCAB "tactus.tokenizer.vocab"
#define META_TRAIN "tactus.train"

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Rebuilds the REMI tokenizer from the checkpoint's metadata and checks it against the stored
 * vocabulary (the tokenizer's tokens, then at most the three sentinels) and the model. */
static int open_tokenizer(cli_lm *lm, const char *path)
{
    const tx_safetensors *st = lm->st;
    const char *name = tx_safetensors_meta(st, META_TOKENIZER), *cfg = tx_safetensors_meta(st, META_TOK_CONFIG);
    const char *vocab = tx_safetensors_meta(st, META_TOK_VOCAB);
    if (!name || !cfg) {
        cli_error("%s: the checkpoint names no tokenizer (metadata \"%s\"): train it with tactus train on a "
                  "shard of tactus corpus export", path, META_TOKENIZER);
        return EXIT_INPUT;
    }
    if (strncmp(name, "remi", 4) != 0) {
        cli_error("%s: works with REMI tokenizers; the checkpoint's is \"%.64s\"", path, name);
        return EXIT_INPUT;
    }
    tx_remi_config c;
    tx_error err;
    char where[600];
    snprintf(where, sizeof where, "%s: %s", path, META_TOK_CONFIG);
    if (tx_remi_config_read(&c, cfg, strlen(cfg), where, &err) || !(lm->r = tx_remi_new(&c, &err))) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    const tx_remi *r = lm->r;
    int nv = tx_remi_vocab_size(r), model_vocab = tx_model_get_config(lm->m)->vocab_size;
    if (nv > model_vocab) {
        cli_error("%s: the tokenizer has %d tokens, the model only %d", path, nv, model_vocab);
        return EXIT_INPUT;
    }
    if (!vocab)
        return EXIT_OK;
    /* the stored vocabulary must be the one this configuration builds, token for token */
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    int status = EXIT_OK;
    snprintf(where, sizeof where, "%s: %s", path, META_TOK_VOCAB);
    if (tx_json_parse(vocab, strlen(vocab), where, &a, &j, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
    } else if (j->type != TX_JSON_ARRAY || j->len < (size_t)nv || j->len > (size_t)nv + 3 ||
               j->len > (size_t)model_vocab) {
        cli_error("%s: the stored vocabulary does not match the tokenizer configuration", where);
        status = EXIT_INPUT;
    } else {
        for (size_t i = 0; i < j->len && !status; i++) {
            const char *t = j->items[i]->type == TX_JSON_STRING ? j->items[i]->str : "";
            if (i < (size_t)nv && strcmp(t, tx_remi_token(r, (int)i)) != 0) {
                cli_error("%s: token %zu is not \"%s\" as the configuration has it", where, i,
                          tx_remi_token(r, (int)i));
                status = EXIT_INPUT;
            } else if (i >= (size_t)nv) {
                int32_t *slot = !strcmp(t, TX_FIM_PREFIX) ? &lm->fim_prefix
                                : !strcmp(t, TX_FIM_SUFFIX) ? &lm->fim_suffix
                                : !strcmp(t, TX_FIM_MIDDLE) ? &lm->fim_middle : NULL;
                if (!slot) {
                    cli_error("%s: token %zu (\"%.64s\") is not a tokenizer token nor a sentinel", where, i, t);
                    status = EXIT_INPUT;
                } else {
                    *slot = (int32_t)i;
                }
            }
        }
    }
    tx_arena_free(&a);
    return status;
}

/* From the training settings: the BOS id the model was trained with ("bos"; the tokenizer's
 * otherwise) and the order of its fill-in-the-middle rows ("fim_spm"; 0 otherwise). */
static void training_settings(const tx_safetensors *st, const tx_remi *r, int32_t *bos, int *spm)
{
    *bos = tx_remi_id(r, "BOS_None");
    *spm = 0;
    const char *tr = tx_safetensors_meta(st, META_TRAIN);
    if (!tr)
        return;
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    tx_error err;
    if (!tx_json_parse(tr, strlen(tr), "train", &a, &j, &err)) {
        int64_t b = tx_json_get_int(j, "bos", *bos);
        *bos = b >= -1 && b < tx_remi_vocab_size(r) ? (int32_t)b : *bos;
        *spm = tx_json_get_int(j, "fim_spm", 0) == 1;
    }
    tx_arena_free(&a);
}

int cli_lm_open(cli_lm *lm, const char *path)
{
    memset(lm, 0, sizeof *lm);
    lm->fim_prefix = lm->fim_suffix = lm->fim_middle = -1;
    tx_error err;
    if (!path) {
        lm->bundled = tx_data_path(CLI_LM_BUNDLED);
        if (!lm->bundled) {
            cli_error("%s: the bundled model is not installed (give one with --model)", CLI_LM_BUNDLED);
            return EXIT_INPUT;
        }
        path = lm->bundled;
    }
    lm->path = path;
    int status = EXIT_INPUT;
    if (tx_read_file(path, TX_MODEL_MAX_FILE, &lm->bytes, &lm->len, &err) ||
        tx_model_load_memory(lm->bytes, lm->len, path, &lm->m, &err) ||
        tx_safetensors_parse(lm->bytes, lm->len, path, &lm->st, &err))
        cli_error("%s", err.msg);
    else
        status = open_tokenizer(lm, path);
    if (status) {
        cli_lm_close(lm);
        return status;
    }
    lm->context = tx_model_get_config(lm->m)->context;
    lm->remi_vocab = tx_remi_vocab_size(lm->r);
    training_settings(lm->st, lm->r, &lm->bos, &lm->fim_spm);
    lm->eos = tx_remi_id(lm->r, "EOS_None");
    lm->bar = tx_remi_id(lm->r, "Bar_None");
    return EXIT_OK;
}

void cli_lm_close(cli_lm *lm)
{
    tx_remi_free(lm->r);
    tx_safetensors_free(lm->st);
    tx_model_free(lm->m);
    tx_free(lm->bytes);
    tx_free(lm->bundled);
    memset(lm, 0, sizeof *lm);
}

int cli_lm_has_fim(const cli_lm *lm)
{
    return lm->fim_prefix >= 0 && lm->fim_suffix >= 0 && lm->fim_middle >= 0;
}

int cli_lm_mask(void *ud, const int32_t *ids, size_t n, uint8_t *allowed, int vocab)
{
    cli_lm_grammar *gm = ud;
    for (; gm->fed < n; gm->fed++)
        if (tx_remi_grammar_feed(&gm->g, ids[gm->fed]))
            return TX_EINVAL;
    tx_remi_grammar_mask(&gm->g, allowed);
    /* ids the model has beyond the tokenizer's vocabulary (sentinels) never come out */
    for (int i = gm->remi_vocab; i < vocab; i++)
        allowed[i] = 0;
    if (gm->only >= 0)
        for (int i = 0; i < vocab; i++)
            allowed[i] = allowed[i] && i == gm->only;
    if (gm->banned >= 0 && gm->banned < vocab)
        allowed[gm->banned] = 0;
    return TX_OK;
}

int cli_lm_grammar_start(const cli_lm *lm, cli_lm_grammar *gm, const int32_t *ids, size_t n, int is_drum,
                         size_t *bad)
{
    tx_remi_grammar_init(&gm->g, lm->r, 0, is_drum);
    gm->fed = 0;
    gm->remi_vocab = lm->remi_vocab;
    gm->only = -1;
    gm->banned = -1;
    for (size_t i = 0; i < n; i++)
        if (tx_remi_grammar_feed(&gm->g, ids[i])) {
            *bad = i;
            return TX_EINVAL;
        }
    gm->fed = n;
    return TX_OK;
}

/* The start of the window that slides in: the last bar line that leaves at most `keep` ids of
 * hist[0..n) after it, or n - keep when no bar line does. */
static size_t window_start(const cli_lm *lm, const int32_t *hist, size_t n, size_t keep)
{
    size_t lo = n > keep ? n - keep : 0;
    for (size_t i = lo; i < n; i++)
        if (hist[i] == lm->bar)
            return i;
    return lo;
}

int cli_lm_run(cli_lm *lm, tx_sampler *smp, cli_lm_grammar *gm, const int32_t *ctx, int n_ctx, int32_t *hist,
               size_t *n_hist, const cli_lm_limits *lim, cli_lm_result *res, tx_error *err)
{
    const float *logits;
    int pos = n_ctx;
    size_t start_hist = *n_hist;
    memset(res, 0, sizeof *res);
    int32_t *win = NULL;
    int rc = tx_model_prefill(lm->m, ctx, n_ctx, &logits, err);
    while (!rc && (lim->max_new < 0 || (long)(*n_hist - start_hist) < lim->max_new)) {
        if (pos >= lm->context) {
            if (!lim->slide) {
                res->full = 1;
                break;
            }
            /* the window slides: the last half of the music, from a bar line, is run through again */
            size_t from = window_start(lm, hist, *n_hist, (size_t)lm->context / 2);
            int n = (int)(*n_hist - from);
            if (!win && !(win = tx_malloc((size_t)lm->context * sizeof *win))) {
                rc = tx_error_set(err, TX_ENOMEM, "out of memory");
                break;
            }
            memcpy(win, hist + from, (size_t)n * sizeof *win);
            res->slides++;
            if ((rc = tx_model_prefill(lm->m, win, n, &logits, err)))
                break;
            pos = n;
        }
        gm->only = lim->first_bar && *n_hist == start_hist ? lm->bar : -1;
        gm->banned = lim->no_eos ? lm->eos : -1;
        int32_t id;
        if ((rc = tx_sampler_sample(smp, logits, hist, *n_hist, cli_lm_mask, gm, &id, err)))
            break;
        if (id == lm->eos) {
            res->eos = 1;
            break;
        }
        if (id == lm->bar && lim->max_bars >= 0 && res->bars == lim->max_bars) {
            res->bar_end = 1;   /* the next bar would begin: the bars asked for are complete */
            break;
        }
        res->bars += id == lm->bar;
        hist[(*n_hist)++] = id;
        rc = tx_model_decode(lm->m, id, pos++, &logits, err);
    }
    gm->only = gm->banned = -1;
    tx_free(win);
    /* a stop inside a note (Program / Pitch / Velocity waiting for the rest) drops that part, so what
     * was generated decodes in full */
    while (*n_hist > start_hist) {
        const char *t = tx_remi_token(lm->r, hist[*n_hist - 1]);
        if (!(starts_with(t, "Program_") || starts_with(t, "Pitch") || starts_with(t, "Velocity_")))
            break;
        (*n_hist)--;
    }
    res->generated = *n_hist - start_hist;
    return rc;
}

int cli_lm_decode(const cli_lm *lm, const int32_t *ids, size_t n, int is_drum, tx_score **out, size_t *skipped,
                  tx_error *err)
{
    int32_t *dec = tx_malloc((n + 1) * sizeof *dec);
    if (!dec)
        return tx_error_set(err, TX_ENOMEM, "out of memory");
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {   /* special tokens carry no music */
        const char *t = ids[i] < lm->remi_vocab ? tx_remi_token(lm->r, ids[i]) : "";
        if (ids[i] < lm->remi_vocab && !starts_with(t, "BOS_") && !starts_with(t, "EOS_") &&
            !starts_with(t, "PAD_") && !starts_with(t, "MASK_"))
            dec[nd++] = ids[i];
    }
    const int32_t *seqs[1] = {dec};
    int program = is_drum ? -1 : 0;
    tx_remi_decode_stats ds;
    int rc = tx_remi_decode(lm->r, seqs, &nd, &program, 1, out, &ds, err);
    if (!rc && skipped)
        *skipped = ds.skipped;
    tx_free(dec);
    return rc;
}

/* ---- the score around the tokens ---- */

int cli_lm_read_piece(const cli_lm *lm, const char *path, long tune, size_t room, cli_lm_piece *p)
{
    memset(p, 0, sizeof *p);
    if (cli_read_one(path, tune, &p->score, NULL))
        return EXIT_INPUT;
    p->pickup = p->score->pickup;
    p->pad = cli_lm_pad_pickup(p->score);
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    tx_error err;
    int status = EXIT_INPUT;
    if (tx_remi_encode(lm->r, p->score, &q, &err)) {
        cli_error("%s: %s", path, err.msg);
    } else if (q.n_seqs == 0) {
        cli_error("%s: no notes in the tokenizer's pitch range", path);
    } else {
        /* a tokenizer of one stream per track: the first track is the piece */
        size_t n = q.starts[1];
        if (!(p->ids = tx_malloc((n + 1 + room) * sizeof *p->ids))) {
            cli_error("%s: out of memory", path);
        } else {
            if (lm->bos >= 0)
                p->ids[p->n++] = lm->bos;
            memcpy(p->ids + p->n, q.ids, n * sizeof *p->ids);
            p->n += n;
            status = EXIT_OK;
        }
    }
    tx_remi_seqs_free(&q);
    if (status)
        cli_lm_piece_free(p);
    return status;
}

void cli_lm_piece_free(cli_lm_piece *p)
{
    tx_score_free(p->score);
    tx_free(p->ids);
    memset(p, 0, sizeof *p);
}

static void move_ticks(tx_score *s, tx_tick from, tx_tick by)
{
    for (size_t i = 0; i < s->n_tempos; i++)
        s->tempos[i].tick += s->tempos[i].tick >= from ? by : 0;
    for (size_t i = 0; i < s->n_timesigs; i++)
        s->timesigs[i].tick += s->timesigs[i].tick >= from ? by : 0;
    for (size_t i = 0; i < s->n_keysigs; i++)
        s->keysigs[i].tick += s->keysigs[i].tick >= from ? by : 0;
    for (size_t i = 0; i < s->n_texts; i++)
        s->texts[i].tick += s->texts[i].tick >= from ? by : 0;
}

tx_tick cli_lm_pad_pickup(tx_score *s)
{
    if (s->pickup <= 0)
        return 0;
    tx_barpos bp;
    tx_score_locate(s, 0, &bp);
    tx_tick d = -bp.bar_start;
    if (d <= 0)
        return 0;
    for (size_t i = 0; i < s->n_notes; i++)
        s->notes[i].onset += d;
    move_ticks(s, 1, d);
    s->pickup = 0;
    return d;
}

void cli_lm_unpad(tx_score *s, tx_tick d, tx_tick pickup)
{
    if (d <= 0)
        return;
    cli_score_shift_earlier(s, d);   /* a note written into the padding has no place to go */
    s->pickup = pickup;
}

typedef struct note_key {
    tx_tick onset, duration;
    int pitch, velocity, program;
} note_key;

static int key_cmp(const void *pa, const void *pb)
{
    const note_key *a = pa, *b = pb;
    if (a->onset != b->onset) return a->onset < b->onset ? -1 : 1;
    if (a->pitch != b->pitch) return a->pitch - b->pitch;
    if (a->program != b->program) return a->program - b->program;
    if (a->duration != b->duration) return a->duration < b->duration ? -1 : 1;
    return a->velocity - b->velocity;
}

static note_key *note_keys(const tx_score *s)
{
    note_key *k = tx_malloc((s->n_notes + 1) * sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        const tx_track *t = &s->tracks[n->track];
        k[i] = (note_key){n->onset, n->duration, n->pitch, n->velocity, t->is_drum ? -1 : t->program};
    }
    qsort(k, s->n_notes, sizeof *k, key_cmp);
    return k;
}

/* into's first track of the program (-1: drums), or a new one named "generated". */
static int track_for(tx_score *into, int program, int *track)
{
    for (size_t i = 0; i < into->n_tracks; i++)
        if ((program < 0 && into->tracks[i].is_drum) || (program >= 0 && !into->tracks[i].is_drum &&
                                                        into->tracks[i].program == program)) {
            *track = (int)i;
            return TX_OK;
        }
    return tx_score_add_track(into, "generated", program < 0 ? 0 : program, program < 0 ? 9 : -1, program < 0,
                              track);
}

int cli_lm_add_new_notes(const tx_score *all, const tx_score *base, tx_score *into, tx_tick from, tx_tick to,
                         cli_lm_span *span, tx_error *err)
{
    memset(span, 0, sizeof *span);
    span->first = -1;
    note_key *ka = note_keys(all), *kb = note_keys(base);
    int rc = TX_OK;
    if (!ka || !kb)
        rc = tx_error_set(err, TX_ENOMEM, "out of memory");
    size_t j = 0;
    for (size_t i = 0; !rc && i < all->n_notes; i++) {
        while (j < base->n_notes && key_cmp(&kb[j], &ka[i]) < 0)
            j++;
        if (j < base->n_notes && key_cmp(&kb[j], &ka[i]) == 0) {   /* the prompt's own note */
            j++;
            continue;
        }
        /* the tokenizer's resolution to the score's, rounding to the nearest tick */
        tx_tick on = (ka[i].onset * into->tpq + all->tpq / 2) / all->tpq;
        tx_tick dur = (ka[i].duration * into->tpq + all->tpq / 2) / all->tpq;
        if (on < from || (to >= 0 && on >= to))
            continue;
        int track;
        if ((rc = track_for(into, ka[i].program, &track)) ||
            (rc = tx_score_add_note(into, on, dur, ka[i].pitch, ka[i].velocity, track, 0))) {
            tx_error_set(err, rc, "out of memory");
            break;
        }
        if (span->first < 0 || on < span->first)
            span->first = on;
        if (on + dur > span->end)
            span->end = on + dur;
        span->notes++;
    }
    tx_free(ka);
    tx_free(kb);
    if (!rc && (rc = tx_score_sort(into)))
        tx_error_set(err, rc, "out of memory");
    return rc;
}

void cli_lm_remove_notes(tx_score *s, tx_tick from, tx_tick to)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_notes; i++)
        if (s->notes[i].onset < from || s->notes[i].onset >= to)
            s->notes[k++] = s->notes[i];
    s->n_notes = k;
}

/* ---- sampler options ---- */

void cli_lm_sampler_defaults(tx_sampler_config *sc)
{
    tx_sampler_config_default(sc);
    sc->temperature = 0.8f;
    sc->top_k = 40;
    sc->top_p = 0.95f;
    sc->min_p = 0.05f;
    sc->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

void cli_lm_sampler_music(tx_sampler_config *sc)
{
    cli_lm_sampler_defaults(sc);
    sc->temperature = 1.0f;
    sc->top_k = 0;
    sc->min_p = 0.02f;
}

/* cli_parse_double() into a float */
static int parse_float(const char *s, double lo, double hi, float *out)
{
    double v;
    if (cli_parse_double(s, lo, hi, &v))
        return -1;
    *out = (float)v;
    return 0;
}

int cli_lm_sampler_option(const char *cmd, int c, const char *arg, tx_sampler_config *sc)
{
    long v;
    switch (c) {
    case CLI_O_TEMP:
        if (parse_float(arg, 0, 1e6, &sc->temperature))
            return cli_usage_error(cmd, "--temp must be a number of 0 or more"), -1;
        return 1;
    case CLI_O_TOPK:
        if (cli_parse_long(arg, 0, TX_MODEL_MAX_VOCAB, &v))
            return cli_usage_error(cmd, "--top-k must be an integer of 0 or more"), -1;
        sc->top_k = (int)v;
        return 1;
    case CLI_O_TOPP:
        if (parse_float(arg, 0, 1, &sc->top_p) || sc->top_p <= 0)
            return cli_usage_error(cmd, "--top-p must be a number in (0, 1]"), -1;
        return 1;
    case CLI_O_MINP:
        if (parse_float(arg, 0, 1, &sc->min_p))
            return cli_usage_error(cmd, "--min-p must be a number in [0, 1]"), -1;
        return 1;
    case CLI_O_PENALTY:
        if (parse_float(arg, 0, 1e6, &sc->repetition_penalty) || sc->repetition_penalty <= 0)
            return cli_usage_error(cmd, "--repeat-penalty must be a number above 0"), -1;
        return 1;
    case CLI_O_LASTN:
        if (cli_parse_long(arg, 0, TX_MODEL_MAX_CONTEXT, &v))
            return cli_usage_error(cmd, "--repeat-last-n must be an integer of 0 or more"), -1;
        sc->penalty_window = (int)v;
        return 1;
    case 's': {
        char *end;
        errno = 0;
        unsigned long long sv = strtoull(arg, &end, 10);
        if (!*arg || *end || errno || *arg == '-')
            return cli_usage_error(cmd, "--seed must be an integer of 0 or more"), -1;
        sc->seed = (uint64_t)sv;
        return 1;
    }
    default:
        return 0;
    }
}

int cli_render_file(const tx_score *s, const char *path, tx_tick from, tx_tick to, const char *label)
{
    tx_render_options o;
    tx_render_options_init(&o);
    o.mark_from = from;
    o.mark_to = to;
    o.mark_label = label;
    tx_buf svg = TX_BUF_INIT;
    tx_error err;
    int rc = tx_render_svg(s, &o, &svg, &err);
    if (!rc)
        rc = tx_write_file_atomic(path, svg.data, svg.len, &err);
    tx_buf_free(&svg);
    if (rc) {
        cli_error("%s: %s", path, err.msg);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* ---- surprisal ---- */

/* log-softmax of logits (n) into lp, returning nothing; the largest logit is subtracted first */
static void log_softmax(const float *logits, int n, double *lp)
{
    double mx = logits[0], sum = 0;
    for (int i = 1; i < n; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    for (int i = 0; i < n; i++)
        sum += exp(logits[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < n; i++)
        lp[i] = logits[i] - lse;
}

int cli_lm_surprisal(cli_lm *lm, const tx_score *s, cli_lm_note_ic **out, size_t *n_out, tx_error *err)
{
    *out = NULL;
    *n_out = 0;
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    int rc = tx_remi_encode(lm->r, s, &q, err);
    if (rc)
        return rc;
    size_t n_body = q.n_seqs ? q.starts[1] : 0, n = n_body + (lm->bos >= 0);
    int32_t *ids = tx_malloc((n + 1) * sizeof *ids);
    const int V = tx_model_get_config(lm->m)->vocab_size, C = lm->context;
    double *lp = tx_malloc((size_t)V * sizeof *lp);
    double *tok_ic = tx_malloc((n + 1) * sizeof *tok_ic), *tok_h = tx_malloc((n + 1) * sizeof *tok_h);
    cli_lm_note_ic *notes = tx_calloc(n + 1, sizeof *notes);
    uint8_t *is_pitch = tx_calloc((size_t)lm->remi_vocab, 1);
    if (!ids || !lp || !tok_ic || !tok_h || !notes || !is_pitch) {
        rc = tx_error_set(err, TX_ENOMEM, "out of memory");
        goto done;
    }
    for (int v = 0; v < lm->remi_vocab; v++)
        is_pitch[v] = strncmp(tx_remi_token(lm->r, v), "Pitch", 5) == 0;
    size_t k = 0;
    if (lm->bos >= 0)
        ids[k++] = lm->bos;
    memcpy(ids + k, q.ids, n_body * sizeof *ids);
    /* every token's information content, from windows of the context sliding by half of it: a token
     * is scored in the first window that gives it half a context of history (or all there is) */
    for (size_t i = 0; i <= n; i++)
        tok_ic[i] = tok_h[i] = -1;
    size_t stride = (size_t)C / 2;
    for (size_t w = 0; w + 1 < n; w += stride) {
        int t = (int)(n - w - 1 < (size_t)C ? n - w - 1 : (size_t)C);
        if ((rc = tx_model_forward(lm->m, ids + w, NULL, 1, t, NULL, err)))
            goto done;
        const float *logits = tx_model_logits(lm->m);
        for (int p = w ? (int)stride - 1 : 0; p < t; p++) {
            size_t target = w + (size_t)p + 1;
            if (tok_ic[target] >= 0)
                continue;
            log_softmax(logits + (size_t)p * V, V, lp);
            tok_ic[target] = -lp[ids[target]] / log(2.0);
            if (is_pitch[ids[target]]) {
                /* the entropy of the pitch the model expected there, over Pitch tokens renormalized */
                double z = 0, h = 0;
                for (int v = 0; v < lm->remi_vocab; v++)
                    if (is_pitch[v])
                        z += exp(lp[v]);
                for (int v = 0; v < lm->remi_vocab && z > 0; v++)
                    if (is_pitch[v] && lp[v] > -700) {
                        double pv = exp(lp[v]) / z;
                        h -= pv > 0 ? pv * log2(pv) : 0;
                    }
                tok_h[target] = h;
            }
        }
        if (w + (size_t)t + 1 >= n)
            break;
    }
    /* notes: a Pitch token with the Program before it and the Velocity and Duration after it; bar and
     * position from the Bar and Position tokens */
    int res = 1;
    const tx_remi_config *rc_ = tx_remi_get_config(lm->r);
    for (int i = 0; i < rc_->n_beat_res; i++)
        res = rc_->beat_res[i].res > res ? rc_->beat_res[i].res : res;
    long bar = 0;
    int pos = 0, program = 0;
    size_t nn = 0;
    double group = 0;   /* IC of the tokens since the last note (position, program) */
    for (size_t i = 0; i < n; i++) {
        const char *tn = tx_remi_token(lm->r, ids[i]);
        double ic = tok_ic[i] > 0 ? tok_ic[i] : 0;
        if (!strcmp(tn, "Bar_None")) {
            bar++;
            pos = 0;
        } else if (!strncmp(tn, "Position_", 9)) {
            pos = atoi(tn + 9);
        } else if (!strncmp(tn, "Program_", 8)) {
            program = atoi(tn + 8);
        } else if (!strncmp(tn, "Pitch", 5) && tok_ic[i] >= 0) {
            const char *u = strchr(tn, '_');
            cli_lm_note_ic *no = &notes[nn++];
            no->bar = bar;
            no->beat = 1.0 + (double)pos / res;
            no->pitch = u ? atoi(u + 1) : 0;
            no->program = program;
            no->ic = tok_ic[i];
            no->entropy = tok_h[i];
            no->ic_note = group + ic;
            for (size_t j = i + 1; j < n && j <= i + 2; j++) {   /* its velocity and duration */
                const char *tj = tx_remi_token(lm->r, ids[j]);
                if (strncmp(tj, "Velocity_", 9) && strncmp(tj, "Duration_", 9))
                    break;
                no->ic_note += tok_ic[j] > 0 ? tok_ic[j] : 0;
            }
            group = 0;
            continue;
        }
        if (strncmp(tn, "Velocity_", 9) && strncmp(tn, "Duration_", 9))
            group += !strcmp(tn, "Bar_None") ? 0 : ic;
    }
    *out = notes;
    *n_out = nn;
    notes = NULL;
done:
    tx_free(notes);
    tx_free(ids);
    tx_free(lp);
    tx_free(tok_ic);
    tx_free(tok_h);
    tx_free(is_pitch);
    tx_remi_seqs_free(&q);
    return rc;
}
