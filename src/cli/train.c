/* train.c: `tactus train`: trains a model (models/model.h) on a corpus shard, printing a line per
 * logged step, evaluating on a validation shard now and then, and writing a checkpoint that holds the
 * weights, the optimizer state, the training settings and the shard's tokenizer (configuration and
 * vocabulary), so that the one file resumes training exactly and is all `generate` needs.
 *
 * Exact resume rests on three things the engine guarantees: batches are a function of (seed, step)
 * alone, the optimizer state (moments and step) is saved bit for bit, and the schedule is a function
 * of the step. This file only parses options, wires the engine together and prints; it is not a
 * training library (the loop is a dozen lines over tx_model_forward / backward / tx_adamw_step).
 *
 * Under mpirun (a build with -Dmpi=enabled; models/dist.h) every process draws the same global batch
 * and takes the rows rank, rank + size, ...; each weights its gradient by its share of the batch's
 * targets, the gradients are summed over the processes once per step, and every process takes the
 * same optimizer step, so the run follows the one-process run with the same --batch. Only rank 0
 * prints, evaluates and writes checkpoints; the others learn of its failures at the end of each step.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"

static const char options[] =
    "  --config FILE|JSON   the model configuration: a JSON file, or the JSON itself; \"vocab\"\n"
    "                       defaults to the shard's vocabulary (not needed with --resume)\n"
    "  --data SHARD.json    the training shard (from tactus corpus export)\n"
    "  --out CKPT           where to write the checkpoint (.safetensors)\n"
    "  --valid SHARD.json   a validation shard, evaluated every --eval-every steps and at the end\n"
    "  --steps N            optimizer steps in all, counting those of a resumed checkpoint (1000)\n"
    "  --batch B            sequences per micro-batch (8)\n"
    "  --context T          tokens per sequence (the model's context)\n"
    "  --accum N            micro-batches accumulated per step (1)\n"
    "  --lr X               peak learning rate (3e-4); cosine decay to X/10 by the last step\n"
    "  --warmup N           linear warmup steps (steps/10, at most 100)\n"
    "  --weight-decay X     AdamW decoupled weight decay on matrices (0.1)\n"
    "  --clip X             gradient clipping by global norm, 0 = off (1.0)\n"
    "  --seed S             initialisation and data order (0)\n"
    "  --log-every N        print every N steps (10; the first and last step always)\n"
    "  --eval-every N       evaluate on --valid every N steps (0: only at the end)\n"
    "  --save-every N       also write the checkpoint every N steps (0: only at the end)\n"
    "  --stop-after N       stop after N steps of this run, write the checkpoint, keep the schedule\n"
    "  --fim RATE           train this share of rows to fill in the middle: PRE prefix SUF suffix\n"
    "                       MID middle, with sentinels FIM_Prefix, FIM_Suffix, FIM_Middle added\n"
    "                       after the tokenizer's vocabulary (0: off)\n"
    "  --fim-bars N         middles of 1..N whole bars, most with a suffix after them (8); 0: a\n"
    "                       middle from any bar to a later one or to the window's end\n"
    "  --fim-spm            fill-in-the-middle rows in the order SUF suffix PRE prefix MID middle,\n"
    "                       so that the middle follows its prefix directly\n"
    "  --repeat RATE        play 1..4 bars of this share of the other rows twice, as at a repeat sign,\n"
    "                       so that the model learns to copy (0: off)\n"
    "  --resume CKPT        continue from a checkpoint written by tactus train\n"
    "  --init CKPT          start from a checkpoint's weights with a new optimizer and schedule\n"
    "                       (fine-tuning); the settings are this command line's\n"
    "  --release FILE       also write the weights alone in float16 (half the size, not resumable);\n"
    "                       with --resume of a finished run, only this\n"
    "  -j, --json           one JSON object per logged step\n"
    "  -h, --help           show this help\n";

#define META_TOKENIZER "tactus.tokenizer"
#define META_TOK_CONFIG "tactus.tokenizer.config"
#define META_TOK_VOCAB "tactus.tokenizer.vocab"
#define META_TRAIN "tactus.train"
#define MAX_JSON_FILE (64u << 20)
#define MAX_FIM_BARS 1000

/* The training settings, saved in the checkpoint as "tactus.train" so that a resumed run can take them
 * back; `given` marks the ones set on this command line (they win over the checkpoint's). */
typedef struct settings {
    long steps, warmup, log_every, eval_every, save_every, stop_after;
    int batch, context, accum;
    double lr, weight_decay, clip, fim, repeat;
    int fim_bars, fim_spm;
    uint64_t seed;
    int32_t bos;
} settings;

enum { G_STEPS = 1, G_WARMUP = 2, G_BATCH = 4, G_CONTEXT = 8, G_ACCUM = 16, G_LR = 32, G_WD = 64,
       G_CLIP = 128, G_SEED = 256, G_FIM = 512, G_FIM_BARS = 1024, G_REPEAT = 2048, G_FIM_SPM = 4096 };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- the tokenizer, from the shard's header ---- */

typedef struct tokenizer_meta {
    tx_buf name, config, vocab;   /* metadata values; vocab is a JSON array of token strings */
    int32_t bos;                  /* BOS_None's id, -1 when the tokenizer has none */
    int32_t bar;                  /* Bar_None's id, -1 when the tokenizer has none */
} tokenizer_meta;

static void tokenizer_meta_free(tokenizer_meta *t)
{
    tx_buf_free(&t->name);
    tx_buf_free(&t->config);
    tx_buf_free(&t->vocab);
}

/* Reads the shard's header for its tokenizer. A REMI tokenizer is rebuilt from its configuration, so
 * the checkpoint gets MidiTok's JSON and the vocabulary in order; the rebuilt vocabulary must match
 * the shard's size. A shard without a tokenizer gives empty metadata (generate will refuse it). */
static int read_tokenizer(const char *shard, int shard_vocab, tokenizer_meta *t)
{
    tx_error err;
    memset(t, 0, sizeof *t);
    t->bos = -1;
    t->bar = -1;
    tx_arena a = TX_ARENA_INIT;
    tx_json *root;
    if (cli_read_json_file(shard, MAX_JSON_FILE << 4, &a, &root)) {
        tx_arena_free(&a);
        return EXIT_INPUT;
    }
    const char *name = tx_json_get_str(root, "tokenizer", NULL);
    const tx_json *cfg = tx_json_get(root, "tokenizer_config");
    int status = EXIT_OK;
    if (!name || !cfg || cfg->type != TX_JSON_OBJECT) {
        tx_arena_free(&a);
        return EXIT_OK;
    }
    tx_buf_puts(&t->name, name);
    tx_buf raw = TX_BUF_INIT;
    cli_json_write(&raw, cfg);
    if (strncmp(name, "remi", 4) == 0 && !raw.oom) {
        tx_remi_config rc_;
        tx_remi *r = NULL;
        char where[600];
        snprintf(where, sizeof where, "%s: tokenizer_config", shard);
        if (tx_remi_config_read(&rc_, raw.data, raw.len, where, &err) || !(r = tx_remi_new(&rc_, &err))) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        } else if (tx_remi_vocab_size(r) != shard_vocab) {
            cli_error("%s: the tokenizer's vocabulary has %d tokens, the shard says %d", shard,
                      tx_remi_vocab_size(r), shard_vocab);
            status = EXIT_INPUT;
        } else {
            tx_remi_config_write(&rc_, &t->config);
            tx_buf_putc(&t->vocab, '[');
            for (int id = 0; id < tx_remi_vocab_size(r); id++) {
                if (id)
                    tx_buf_puts(&t->vocab, ", ");
                tx_buf_json_string(&t->vocab, tx_remi_token(r, id));
            }
            tx_buf_putc(&t->vocab, ']');
            t->bos = tx_remi_id(r, "BOS_None");
            t->bar = tx_remi_id(r, "Bar_None");
        }
        tx_remi_free(r);
    } else {
        tx_buf_append(&t->config, raw.data, raw.len);
    }
    tx_buf_free(&raw);
    tx_arena_free(&a);
    if (!status && (t->name.oom || t->config.oom || t->vocab.oom)) {
        cli_error("%s: out of memory", shard);
        status = EXIT_INPUT;
    }
    return status;
}

/* ---- the model configuration ---- */

/* Reads --config (a file, or JSON text when it starts with '{'); "vocab" defaults to the shard's. */
static int read_config(const char *arg, int shard_vocab, tx_model_config *c)
{
    const char *p = arg;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    int inline_json = *p == '{';
    const char *name = inline_json ? "--config" : arg;
    uint8_t *text = NULL;
    size_t len;
    tx_error err;
    if (inline_json) {
        len = strlen(arg);
    } else if (tx_read_file(arg, MAX_JSON_FILE, &text, &len, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    int rc = tx_json_parse(inline_json ? arg : (const char *)text, len, name, &a, &j, &err);
    tx_free(text);
    if (!rc && j->type == TX_JSON_OBJECT && !tx_json_get(j, "vocab")) {
        /* a copy of the object with one more member, the shard's vocabulary size */
        tx_json *vj = tx_arena_alloc(&a, sizeof *vj), *nj = tx_arena_alloc(&a, sizeof *nj);
        tx_json **items = tx_arena_alloc(&a, (j->len + 1) * sizeof *items);
        const char **keys = tx_arena_alloc(&a, (j->len + 1) * sizeof *keys);
        if (!vj || !nj || !items || !keys) {
            rc = tx_error_set(&err, TX_ENOMEM, "%s: out of memory", name);
        } else {
            memset(vj, 0, sizeof *vj);
            vj->type = TX_JSON_NUMBER;
            vj->num = shard_vocab;
            vj->integer = shard_vocab;
            vj->is_integer = 1;
            *nj = *j;
            if (j->len) {
                memcpy(items, j->items, j->len * sizeof *items);
                memcpy(keys, j->keys, j->len * sizeof *keys);
            }
            items[j->len] = vj;
            keys[j->len] = "vocab";
            nj->items = items;
            nj->keys = keys;
            nj->len = j->len + 1;
            j = nj;
        }
    }
    if (!rc)
        rc = tx_model_config_from_json(j, name, c, &err);
    tx_arena_free(&a);
    if (rc) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* ---- settings in the checkpoint ---- */

static void settings_json(const settings *s, tx_buf *b)
{
    tx_buf_printf(b, "{\"steps\": %ld, \"batch\": %d, \"context\": %d, \"accum\": %d, \"lr\": %.9g, "
                  "\"warmup\": %ld, \"weight_decay\": %.9g, \"clip\": %.9g, \"seed\": %" PRIu64 ", "
                  "\"bos\": %d, \"fim\": %.9g, \"fim_bars\": %d, \"repeat\": %.9g, \"fim_spm\": %d}",
                  s->steps, s->batch, s->context, s->accum, s->lr, s->warmup, s->weight_decay, s->clip, s->seed,
                  (int)s->bos, s->fim, s->fim_bars, s->repeat, s->fim_spm);
}

/* Takes the settings of a checkpoint's "tactus.train" that this command line did not give. */
static int settings_from_checkpoint(const char *path, const char *text, settings *s, unsigned given)
{
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    tx_error err;
    char name[600];
    snprintf(name, sizeof name, "%s: %s", path, META_TRAIN);
    if (tx_json_parse(text, strlen(text), name, &a, &j, &err)) {
        cli_error("%s", err.msg);
        tx_arena_free(&a);
        return EXIT_INPUT;
    }
    int64_t steps = tx_json_get_int(j, "steps", -1), batch = tx_json_get_int(j, "batch", -1);
    int64_t context = tx_json_get_int(j, "context", -1), accum = tx_json_get_int(j, "accum", -1);
    int64_t warmup = tx_json_get_int(j, "warmup", -1), seed = tx_json_get_int(j, "seed", -1);
    int64_t bos = tx_json_get_int(j, "bos", -2);
    int64_t fim_bars = tx_json_get_int(j, "fim_bars", 0);   /* checkpoints from before the option: 0 */
    double lr = tx_json_get_num(j, "lr", -1), wd = tx_json_get_num(j, "weight_decay", -1);
    double clip = tx_json_get_num(j, "clip", -1), fim = tx_json_get_num(j, "fim", 0);
    double repeat = tx_json_get_num(j, "repeat", 0);
    int64_t fim_spm = tx_json_get_int(j, "fim_spm", 0);
    tx_arena_free(&a);
    if (steps < 1 || batch < 1 || batch > 1 << 20 || context < 1 || context > TX_MODEL_MAX_CONTEXT ||
        accum < 1 || accum > 1 << 20 || warmup < 0 || seed < 0 || bos < -1 || bos > TX_MODEL_MAX_VOCAB ||
        !(lr >= 0) || !(wd >= 0) || !(clip >= 0) || !(fim >= 0 && fim <= 1) || !(repeat >= 0 && repeat <= 1) ||
        fim_spm < 0 || fim_spm > 1 || fim_bars < 0 || fim_bars > MAX_FIM_BARS) {
        cli_error("%s: missing or out-of-range training settings", name);
        return EXIT_INPUT;
    }
    if (!(given & G_STEPS)) s->steps = (long)steps;
    if (!(given & G_BATCH)) s->batch = (int)batch;
    if (!(given & G_CONTEXT)) s->context = (int)context;
    if (!(given & G_ACCUM)) s->accum = (int)accum;
    if (!(given & G_WARMUP)) s->warmup = (long)warmup;
    if (!(given & G_SEED)) s->seed = (uint64_t)seed;
    if (!(given & G_LR)) s->lr = lr;
    if (!(given & G_WD)) s->weight_decay = wd;
    if (!(given & G_CLIP)) s->clip = clip;
    if (!(given & G_FIM)) s->fim = fim;
    if (!(given & G_FIM_BARS)) s->fim_bars = (int)fim_bars;
    if (!(given & G_REPEAT)) s->repeat = repeat;
    if (!(given & G_FIM_SPM)) s->fim_spm = (int)fim_spm;
    s->bos = (int32_t)bos;
    return EXIT_OK;
}

/* The metadata of a checkpoint (tokenizer and settings), copied into tm and *train (tx_malloc'd). */
static int read_checkpoint_meta(const char *path, tokenizer_meta *tm, char **train)
{
    tx_safetensors *st;
    tx_error err;
    memset(tm, 0, sizeof *tm);
    tm->bos = -1;
    tm->bar = -1;
    *train = NULL;
    if (tx_safetensors_read(path, TX_MODEL_MAX_FILE, &st, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    const char *name = tx_safetensors_meta(st, META_TOKENIZER), *cfg = tx_safetensors_meta(st, META_TOK_CONFIG);
    const char *vocab = tx_safetensors_meta(st, META_TOK_VOCAB), *tr = tx_safetensors_meta(st, META_TRAIN);
    if (name)
        tx_buf_puts(&tm->name, name);
    if (cfg)
        tx_buf_puts(&tm->config, cfg);
    if (vocab)
        tx_buf_puts(&tm->vocab, vocab);
    *train = tr ? tx_strdup(tr) : NULL;
    tx_safetensors_free(st);
    if (!tr) {
        cli_error("%s: no \"%s\" in the metadata: not a checkpoint of tactus train", path, META_TRAIN);
        return EXIT_INPUT;
    }
    if (!*train || tm->name.oom || tm->config.oom || tm->vocab.oom) {
        cli_error("%s: out of memory", path);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Writes the checkpoint; with release, the weights alone in F16 instead (no optimizer state). */
static int save(const tx_model *m, const tx_adamw *o, const tokenizer_meta *tm, const settings *s,
                const char *out, int release)
{
    const char *keys[4], *vals[4];
    size_t n = 0;
    tx_buf tj = TX_BUF_INIT;
    settings_json(s, &tj);
    keys[n] = META_TRAIN;
    vals[n++] = tj.data;
    if (tm->name.len) {
        keys[n] = META_TOKENIZER;
        vals[n++] = tm->name.data;
        keys[n] = META_TOK_CONFIG;
        vals[n++] = tm->config.len ? tm->config.data : "{}";
    }
    if (tm->vocab.len) {
        keys[n] = META_TOK_VOCAB;
        vals[n++] = tm->vocab.data;
    }
    tx_error err;
    int rc = tj.oom ? tx_error_set(&err, TX_ENOMEM, "%s: out of memory", out)
                    : release ? tx_model_save_weights(m, TX_ST_F16, keys, vals, n, out, &err)
                              : tx_model_save(m, o, keys, vals, n, out, &err);
    tx_buf_free(&tj);
    if (rc) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Evaluates on the validation shard and prints the result. */
static int validate(tx_model *m, const tx_shard *valid, const settings *s, long step, int json)
{
    double loss;
    size_t tokens;
    tx_error err;
    if (tx_model_evaluate(m, valid, s->batch, s->context, s->bos, &loss, &tokens, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    if (json)
        printf("{\"step\": %ld, \"valid_loss\": %.6f, \"valid_perplexity\": %.4f, \"valid_tokens\": %zu}\n",
               step, loss, exp(loss), tokens);
    else
        printf("step %ld: valid loss %.6f, perplexity %.4f (%zu tokens)\n", step, loss, exp(loss), tokens);
    return cli_flush_stdout();
}

/* ---- data parallel (models/dist.h) ---- */

/* Status of the whole group: EXIT_INPUT when any process's status is not EXIT_OK. Every process calls
 * it at the same points, so that all leave together instead of waiting forever in a collective. */
static int group_status(int status)
{
    double failed = status != EXIT_OK;
    tx_error err;
    if (tx_dist_allreduce_sum_double(&failed, 1, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    return status ? status : failed > 0 ? EXIT_INPUT : EXIT_OK;
}

static size_t count_targets(const int32_t *targets, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += targets[i] >= 0;
    return k;
}

int cmd_train(int argc, char **argv)
{
    enum { O_CONFIG = 256, O_DATA, O_OUT, O_VALID, O_STEPS, O_BATCH, O_CONTEXT, O_ACCUM, O_LR, O_WARMUP,
           O_WD, O_CLIP, O_SEED, O_LOG, O_EVAL, O_SAVE, O_STOP, O_RESUME, O_FIM, O_RELEASE,
           O_FIM_BARS, O_INIT, O_REPEAT, O_FIM_SPM };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"data", required_argument, NULL, O_DATA},
        {"out", required_argument, NULL, O_OUT},
        {"valid", required_argument, NULL, O_VALID},
        {"steps", required_argument, NULL, O_STEPS},
        {"batch", required_argument, NULL, O_BATCH},
        {"context", required_argument, NULL, O_CONTEXT},
        {"accum", required_argument, NULL, O_ACCUM},
        {"lr", required_argument, NULL, O_LR},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"weight-decay", required_argument, NULL, O_WD},
        {"clip", required_argument, NULL, O_CLIP},
        {"seed", required_argument, NULL, O_SEED},
        {"log-every", required_argument, NULL, O_LOG},
        {"eval-every", required_argument, NULL, O_EVAL},
        {"save-every", required_argument, NULL, O_SAVE},
        {"stop-after", required_argument, NULL, O_STOP},
        {"resume", required_argument, NULL, O_RESUME},
        {"fim", required_argument, NULL, O_FIM},
        {"release", required_argument, NULL, O_RELEASE},
        {"fim-bars", required_argument, NULL, O_FIM_BARS},
        {"init", required_argument, NULL, O_INIT},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"fim-spm", no_argument, NULL, O_FIM_SPM},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *data = NULL, *out = NULL, *valid_path = NULL, *resume = NULL, *release = NULL;
    const char *init = NULL;
    settings s = {1000, -1, 10, 0, 0, 0, 8, 0, 1, 3e-4, 0.1, 1.0, 0, 0, 8, 0, 0, -1};
    unsigned given = 0;
    int json = 0, c;
    long v;
    double d;
    while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        switch (c) {
        case O_CONFIG: config = optarg; break;
        case O_DATA: data = optarg; break;
        case O_OUT: out = optarg; break;
        case O_VALID: valid_path = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_RELEASE: release = optarg; break;
        case O_INIT: init = optarg; break;
        case O_STEPS:
            if (cli_parse_long(optarg, 1, 1L << 40, &s.steps))
                return cli_usage_error("train", "--steps must be a positive integer");
            given |= G_STEPS;
            break;
        case O_BATCH:
            if (cli_parse_long(optarg, 1, 1 << 20, &v))
                return cli_usage_error("train", "--batch must be a positive integer");
            s.batch = (int)v;
            given |= G_BATCH;
            break;
        case O_CONTEXT:
            if (cli_parse_long(optarg, 1, TX_MODEL_MAX_CONTEXT, &v))
                return cli_usage_error("train", "--context must be an integer in 1..%d", TX_MODEL_MAX_CONTEXT);
            s.context = (int)v;
            given |= G_CONTEXT;
            break;
        case O_ACCUM:
            if (cli_parse_long(optarg, 1, 1 << 20, &v))
                return cli_usage_error("train", "--accum must be a positive integer");
            s.accum = (int)v;
            given |= G_ACCUM;
            break;
        case O_LR:
            if (cli_parse_double(optarg, 0, 10, &s.lr))
                return cli_usage_error("train", "--lr must be a number in 0..10");
            given |= G_LR;
            break;
        case O_WARMUP:
            if (cli_parse_long(optarg, 0, 1L << 40, &s.warmup))
                return cli_usage_error("train", "--warmup must be an integer of 0 or more");
            given |= G_WARMUP;
            break;
        case O_WD:
            if (cli_parse_double(optarg, 0, 10, &s.weight_decay))
                return cli_usage_error("train", "--weight-decay must be a number in 0..10");
            given |= G_WD;
            break;
        case O_CLIP:
            if (cli_parse_double(optarg, 0, 1e30, &s.clip))
                return cli_usage_error("train", "--clip must be a number of 0 or more");
            given |= G_CLIP;
            break;
        case O_SEED:
            if (cli_parse_double(optarg, 0, 9007199254740992.0, &d) || d != floor(d))
                return cli_usage_error("train", "--seed must be an integer of 0 or more");
            s.seed = (uint64_t)d;
            given |= G_SEED;
            break;
        case O_LOG:
            if (cli_parse_long(optarg, 1, 1L << 40, &s.log_every))
                return cli_usage_error("train", "--log-every must be a positive integer");
            break;
        case O_EVAL:
            if (cli_parse_long(optarg, 0, 1L << 40, &s.eval_every))
                return cli_usage_error("train", "--eval-every must be an integer of 0 or more");
            break;
        case O_SAVE:
            if (cli_parse_long(optarg, 0, 1L << 40, &s.save_every))
                return cli_usage_error("train", "--save-every must be an integer of 0 or more");
            break;
        case O_STOP:
            if (cli_parse_long(optarg, 1, 1L << 40, &s.stop_after))
                return cli_usage_error("train", "--stop-after must be a positive integer");
            break;
        case O_FIM:
            if (cli_parse_double(optarg, 0, 1, &s.fim))
                return cli_usage_error("train", "--fim must be a number in 0..1");
            given |= G_FIM;
            break;
        case O_FIM_SPM:
            s.fim_spm = 1;
            given |= G_FIM_SPM;
            break;
        case O_REPEAT:
            if (cli_parse_double(optarg, 0, 1, &s.repeat))
                return cli_usage_error("train", "--repeat must be a number in 0..1");
            given |= G_REPEAT;
            break;
        case O_FIM_BARS:
            if (cli_parse_long(optarg, 0, MAX_FIM_BARS, &v))
                return cli_usage_error("train", "--fim-bars must be an integer in 0..%d", MAX_FIM_BARS);
            s.fim_bars = (int)v;
            given |= G_FIM_BARS;
            break;
        case 'j': json = 1; break;
        case 'h': cli_usage(stdout, "train", options); return cli_flush_stdout();
        default: return cli_usage_error("train", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!data || !out)
        return cli_usage_error("train", "--data SHARD.json and --out CKPT are required");
    if (resume && init)
        return cli_usage_error("train", "--resume and --init exclude each other");
    if (!config && !resume && !init)
        return cli_usage_error("train", "--config is required (unless --resume or --init gives the model)");

    int status = EXIT_OK;
    tx_shard *shard = NULL, *valid = NULL;
    tx_model *m = NULL;
    tx_adamw *o = NULL;
    tokenizer_meta tm = {TX_BUF_INIT, TX_BUF_INIT, TX_BUF_INIT, -1, -1};
    char *train_meta = NULL;
    int32_t *batch = NULL, *mine = NULL;
    tx_error err;
    struct sigaction sa, old_int, old_term;
    int handlers = 0, synced = 0;

    if (tx_dist_init(&err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    const int nproc = tx_dist_size(), rank = tx_dist_rank();
    if (tx_shard_open(data, &shard, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    if (tx_shard_tokens(shard) == 0) {
        cli_error("%s: the shard holds no tokens", data);
        status = EXIT_INPUT;
        goto done;
    }
    if (valid_path && tx_shard_open(valid_path, &valid, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    if (valid && tx_shard_tokens(valid) == 0) {
        cli_error("%s: the validation shard holds no tokens", valid_path);
        status = EXIT_INPUT;
        goto done;
    }
    if ((status = read_tokenizer(data, tx_shard_vocab(shard), &tm)))
        goto done;
    s.bos = tm.bos;

    tx_model_config mc;
    if (config && (status = read_config(config, tx_shard_vocab(shard) + (s.fim > 0 ? 3 : 0), &mc)))
        goto done;
    const char *source = resume ? resume : init;   /* the checkpoint whose weights start the run */
    if (source) {
        tokenizer_meta old;
        status = read_checkpoint_meta(source, &old, &train_meta);
        if (!status && old.name.len && (strcmp(old.name.data, tm.name.data ? tm.name.data : "") ||
                                       strcmp(old.config.data ? old.config.data : "",
                                              tm.config.data ? tm.config.data : ""))) {
            cli_error("%s: the checkpoint was trained with another tokenizer than %s's", source, data);
            status = EXIT_INPUT;
        }
        tokenizer_meta_free(&old);
        if (status || (resume && (status = settings_from_checkpoint(resume, train_meta, &s, given))))
            goto done;
        if (tx_model_load(source, &m, &err)) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
            goto done;
        }
        if (config) {
            tx_buf a = TX_BUF_INIT, b = TX_BUF_INIT;
            tx_model_config_to_json(&mc, &a);
            tx_model_config_to_json(tx_model_get_config(m), &b);
            int same = a.data && b.data && strcmp(a.data, b.data) == 0;
            tx_buf_free(&a);
            tx_buf_free(&b);
            if (!same) {
                cli_error("%s: the checkpoint's model differs from --config %s", source, config);
                status = EXIT_INPUT;
                goto done;
            }
        }
    } else {
        if (tx_model_new(&mc, &m, &err)) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
            goto done;
        }
        tx_model_init(m, s.seed);
    }
    const tx_model_config *cfg = tx_model_get_config(m);
    if (tx_shard_vocab(shard) > cfg->vocab_size || (valid && tx_shard_vocab(valid) > cfg->vocab_size)) {
        cli_error("%s: the shard's vocabulary (%d) is larger than the model's (%d)",
                  tx_shard_vocab(shard) > cfg->vocab_size ? data : valid_path,
                  tx_shard_vocab(shard) > cfg->vocab_size ? tx_shard_vocab(shard) : tx_shard_vocab(valid),
                  cfg->vocab_size);
        status = EXIT_INPUT;
        goto done;
    }
    if (valid && tx_shard_vocab(valid) != tx_shard_vocab(shard)) {
        cli_error("%s: its vocabulary (%d) differs from %s's (%d)", valid_path, tx_shard_vocab(valid), data,
                  tx_shard_vocab(shard));
        status = EXIT_INPUT;
        goto done;
    }
    tx_fim fim = {(float)s.fim, tx_shard_vocab(shard), tx_shard_vocab(shard) + 1, tx_shard_vocab(shard) + 2,
                  tm.bar, s.fim_bars, (float)s.repeat, s.fim_spm};
    if ((s.fim > 0 || s.repeat > 0) && (tm.bar < 0 || !tm.vocab.len)) {
        cli_error("%s: --%s needs a tokenizer with bar tokens (remi, remi+)", data, s.fim > 0 ? "fim" : "repeat");
        status = EXIT_INPUT;
        goto done;
    }
    if (s.fim > 0) {
        if (cfg->vocab_size < tx_shard_vocab(shard) + 3) {
            cli_error("--fim needs a model vocabulary of the shard's %d tokens + 3 sentinels; the model has %d",
                      tx_shard_vocab(shard), cfg->vocab_size);
            status = EXIT_INPUT;
            goto done;
        }
        /* the sentinels' names follow the tokenizer's vocabulary in the checkpoint */
        tm.vocab.len--;   /* the closing bracket */
        tx_buf_puts(&tm.vocab, ", \"" TX_FIM_PREFIX "\", \"" TX_FIM_SUFFIX "\", \"" TX_FIM_MIDDLE "\"]");
        if (tm.vocab.oom) {
            cli_error("%s: out of memory", data);
            status = EXIT_INPUT;
            goto done;
        }
    }
    if (s.context == 0)
        s.context = cfg->context;
    if (s.context > cfg->context) {
        cli_error("--context %d is longer than the model's context of %d", s.context, cfg->context);
        status = EXIT_INPUT;
        goto done;
    }
    if (s.warmup < 0)
        s.warmup = s.steps / 10 < 100 ? s.steps / 10 : 100;

    tx_adamw_config ac;
    tx_adamw_config_default(&ac);
    ac.lr = (float)s.lr;
    ac.min_lr = (float)(s.lr / 10);
    ac.weight_decay = (float)s.weight_decay;
    ac.grad_clip = (float)s.clip;
    ac.warmup_steps = s.warmup;
    ac.total_steps = s.steps;
    if (tx_adamw_new(&ac, m, &o, &err) || (resume && tx_adamw_load(o, resume, &err))) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    if (s.batch < nproc) {
        cli_error("--batch %d is smaller than the %d processes: each needs a row at least", s.batch, nproc);
        status = EXIT_INPUT;
        goto done;
    }
    size_t bt = (size_t)s.batch * (size_t)s.context;
    /* this process's rows of the global batch: rank, rank + nproc, ... */
    const int my_rows = (s.batch - rank + nproc - 1) / nproc;
    const size_t mt = (size_t)my_rows * (size_t)s.context;
    batch = tx_malloc(2 * bt * sizeof *batch);
    if (nproc > 1)
        mine = tx_malloc(2 * mt * sizeof *mine);
    if (!batch || (nproc > 1 && !mine)) {
        cli_error("%s: out of memory for a batch of %d x %d", data, s.batch, s.context);
        status = EXIT_INPUT;
        goto done;
    }
    long step = tx_adamw_get_step(o);
    long stop = s.steps;
    if (s.stop_after && step + s.stop_after < stop)
        stop = step + s.stop_after;
    if (step >= s.steps && release) {   /* a finished run: only the release copy is asked for */
        if (rank == 0)
            status = save(m, o, &tm, &s, release, 1);
        goto done;
    }
    if (step >= s.steps) {
        cli_error("%s: already at step %ld of %ld; give a larger --steps to go on", resume, step, s.steps);
        status = EXIT_INPUT;
        goto done;
    }
    /* every process has come this far, or all stop here; then they start from rank 0's state */
    synced = 1;
    if ((status = group_status(status)))
        goto done;
    {
        size_t n_m, n_v;
        float *mom = tx_adamw_moments(o, 0, &n_m), *vel = tx_adamw_moments(o, 1, &n_v);
        if (tx_dist_broadcast(tx_model_param_data(m), tx_model_num_params(m), &err) ||
            tx_dist_broadcast(mom, n_m, &err) || tx_dist_broadcast(vel, n_v, &err)) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
            goto done;
        }
    }
    char procs[48] = "";
    if (nproc > 1)
        snprintf(procs, sizeof procs, ", over %d processes", nproc);
    if (rank == 0) {
        if (json)
            printf("{\"parameters\": %zu, \"vocab\": %d, \"context\": %d, \"batch\": %d, \"accum\": %d, "
                   "\"documents\": %zu, \"tokens\": %zu, \"from_step\": %ld, \"steps\": %ld, "
                   "\"processes\": %d}\n",
                   tx_model_num_params(m), cfg->vocab_size, s.context, s.batch, s.accum,
                   tx_shard_documents(shard), tx_shard_tokens(shard), step, s.steps, nproc);
        else
            printf("training %zu parameters on %zu tokens (%zu documents), batch %d x %d%s, steps %ld to %ld "
                   "of %ld%s\n", tx_model_num_params(m), tx_shard_tokens(shard), tx_shard_documents(shard),
                   s.batch, s.context, s.accum > 1 ? " accumulated" : "", step + 1, stop, s.steps, procs);
        status = cli_flush_stdout();
    }
    if ((status = group_status(status)))
        goto done;

    /* Ctrl-C (or a scheduler's SIGTERM) finishes the step under way and writes the checkpoint. */
    interrupted = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;

    double t_last = tx_now();
    size_t tok_since = 0;
    int stop_now = 0;
    while (step < stop && !stop_now) {
        float lsum = 0, norm = 0;
        tx_model_zero_grad(m);
        for (int a = 0; a < s.accum && !status; a++) {
            float loss = 0, share = 1;
            const int32_t *in = batch, *tg = batch + bt;
            const tx_fim *rw = s.fim > 0 || s.repeat > 0 ? &fim : NULL;   /* rows rewritten */
            if (tx_shard_batch_fim(shard, s.batch, s.context, s.bos, rw, s.seed, step * s.accum + a, batch,
                                   batch + bt, &err)) {
                cli_error("step %ld: %s", step + 1, err.msg);
                status = EXIT_INPUT;
                break;
            }
            if (nproc > 1) {
                /* this process's rows; its mean loss counts by its share of the batch's targets */
                for (int r = 0; r < my_rows; r++) {
                    size_t from = (size_t)(rank + r * nproc) * s.context, to = (size_t)r * s.context;
                    memcpy(mine + to, batch + from, s.context * sizeof *mine);
                    memcpy(mine + mt + to, batch + bt + from, s.context * sizeof *mine);
                }
                size_t all = count_targets(batch + bt, bt), own = count_targets(mine + mt, mt);
                share = all ? (float)((double)own / (double)all) : 0.0f;
                in = mine;
                tg = mine + mt;
            }
            if (tx_model_forward(m, in, tg, my_rows, s.context, &loss, &err) ||
                tx_model_backward(m, share / (float)s.accum, &err)) {
                cli_error("step %ld: %s", step + 1, err.msg);
                status = EXIT_INPUT;
            }
            lsum += share * loss;
        }
        /* the batch's loss, and whether any process failed; then the summed gradients */
        double red[2] = {lsum, status != EXIT_OK};
        if (tx_dist_allreduce_sum_double(red, 2, &err)) {
            cli_error("step %ld: %s", step + 1, err.msg);
            status = EXIT_INPUT;
            break;
        }
        if (red[1] > 0) {
            status = EXIT_INPUT;
            break;
        }
        lsum = (float)red[0];
        if (nproc > 1 && tx_dist_allreduce_sum(tx_model_grad_data(m), tx_model_num_params(m), 1.0f, &err)) {
            cli_error("step %ld: %s", step + 1, err.msg);
            status = EXIT_INPUT;
            break;
        }
        float lr = tx_adamw_lr(&ac, step);
        if (tx_adamw_step(o, m, &norm, &err)) {
            cli_error("step %ld: %s", step + 1, err.msg);
            status = EXIT_INPUT;
            break;
        }
        step++;
        tok_since += bt * (size_t)s.accum;
        if (rank == 0 && (step % s.log_every == 0 || step == stop || step == 1)) {
            double now = tx_now(), rate = tok_since / (now - t_last > 1e-9 ? now - t_last : 1e-9);
            float loss = lsum / (float)s.accum;
            if (json)
                printf("{\"step\": %ld, \"steps\": %ld, \"loss\": %.6f, \"lr\": %.6e, \"grad_norm\": %.6f, "
                       "\"tokens_per_second\": %.0f}\n", step, s.steps, loss, lr, norm, rate);
            else
                printf("step %ld/%ld: loss %.6f, lr %.3e, grad norm %.4f, %.0f tokens/s\n", step, s.steps,
                       loss, lr, norm, rate);
            status = cli_flush_stdout();
            t_last = tx_now();
            tok_since = 0;
        }
        if (rank == 0 && !status && valid && s.eval_every && step % s.eval_every == 0 && step != stop) {
            status = validate(m, valid, &s, step, json);
            t_last = tx_now();
        }
        if (rank == 0 && !status && s.save_every && step % s.save_every == 0 && step != stop)
            status = save(m, o, &tm, &s, out, 0);
        /* rank 0's failures, and a signal to any process, end the run of every process after this step */
        red[0] = status != EXIT_OK;
        red[1] = interrupted;
        if (tx_dist_allreduce_sum_double(red, 2, &err)) {
            cli_error("step %ld: %s", step, err.msg);
            status = EXIT_INPUT;
            break;
        }
        if (red[0] > 0) {
            status = status ? status : EXIT_INPUT;
            break;
        }
        stop_now = red[1] > 0;
    }
    if (status)
        goto done;
    if (rank == 0 && (status = save(m, o, &tm, &s, out, 0)))
        goto done;
    if (rank == 0 && release && (status = save(m, o, &tm, &s, release, 1)))
        goto done;
    if (stop_now) {
        if (rank == 0)
            cli_error("interrupted at step %ld of %ld; the checkpoint is %s (go on with --resume %s)", step,
                      s.steps, out, out);
        status = EXIT_INPUT;
        goto done;
    }
    if (valid && rank == 0)
        status = validate(m, valid, &s, step, json);
done:
    /* a process that failed before the first collective tells the others, which wait for it there */
    if (!synced)
        group_status(status);
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    tx_free(batch);
    tx_free(mine);
    tx_free(train_meta);
    tokenizer_meta_free(&tm);
    tx_adamw_free(o);
    tx_model_free(m);
    tx_shard_free(valid);
    tx_shard_free(shard);
    tx_dist_finalize();
    return status;
}
