/* eval.c: `tactus eval`: how well a checkpoint predicts the tokens of corpus shards: mean loss (nats),
 * perplexity, bits per token, and bits per note where the vocabulary shows notes (REMI's Pitch and
 * PitchDrum tokens: the information a note costs, which compares tokenizers of different lengths).
 *
 * Every token of every document is predicted exactly once, in windows of the training context with
 * the BOS token the model was trained with (tx_model_evaluate). With --ngram N, an interpolated
 * Kneser-Ney N-gram model (models/ngram.h) is trained on --train instead and scored over the same
 * targets, with the same report, so that a checkpoint's figures can be read against the baseline's line
 * by line. This file parses options, counts notes and prints; the numbers come from the engine.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char options[] =
    "  -m, --model CKPT     the checkpoint (.safetensors from tactus train)\n"
    "  --ngram N            instead of a checkpoint, a Kneser-Ney N-gram model (N in 1..8)\n"
    "  --train SHARD.json   the shard the N-gram model is trained on\n"
    "  --data SHARD.json    a shard to evaluate (repeatable)\n"
    "  --context T          tokens per window (the training context)\n"
    "  --batch B            windows per forward pass (8)\n"
    "  -j, --json           one JSON object per shard\n"
    "  -h, --help           show this help\n";

#define META_TOKENIZER "tactus.tokenizer"
#define META_TOK_VOCAB "tactus.tokenizer.vocab"
#define META_TRAIN "tactus.train"

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* What eval needs from the checkpoint besides the weights. */
typedef struct ckpt_info {
    char tokenizer[64];     /* "" when the checkpoint names none */
    uint8_t *is_note;       /* (vocab) 1 for Pitch / PitchDrum tokens; NULL without a vocabulary */
    int n_vocab;            /* the tokenizer's entries of the stored vocabulary, 0 when none */
    int32_t bos;            /* BOS the model was trained with, -1 for none */
    int context;            /* the training context, 0 when unknown */
} ckpt_info;

/* Reads the metadata: the tokenizer's name, which ids are notes, and the training BOS and context. */
static int read_info(const tx_safetensors *st, const char *path, ckpt_info *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->bos = -1;
    const char *name = tx_safetensors_meta(st, META_TOKENIZER);
    if (name)
        snprintf(ci->tokenizer, sizeof ci->tokenizer, "%s", name);
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    tx_error err;
    tx_error_clear(&err);
    char where[600];
    const char *tr = tx_safetensors_meta(st, META_TRAIN);
    if (tr) {
        snprintf(where, sizeof where, "%s: %s", path, META_TRAIN);
        if (tx_json_parse(tr, strlen(tr), where, &a, &j, &err)) {
            cli_error("%s", err.msg);
            tx_arena_free(&a);
            return EXIT_INPUT;
        }
        int64_t bos = tx_json_get_int(j, "bos", -1), ctx = tx_json_get_int(j, "context", 0);
        ci->bos = bos >= -1 && bos < TX_MODEL_MAX_VOCAB ? (int32_t)bos : -1;
        ci->context = ctx > 0 && ctx <= TX_MODEL_MAX_CONTEXT ? (int)ctx : 0;
        tx_arena_free(&a);
    }
    const char *vocab = tx_safetensors_meta(st, META_TOK_VOCAB);
    if (vocab) {
        snprintf(where, sizeof where, "%s: %s", path, META_TOK_VOCAB);
        if (tx_json_parse(vocab, strlen(vocab), where, &a, &j, &err) || j->type != TX_JSON_ARRAY ||
            j->len > TX_MODEL_MAX_VOCAB) {
            cli_error("%s", err.code ? err.msg : "the vocabulary is not an array of token strings");
            tx_arena_free(&a);
            return EXIT_INPUT;
        }
        /* the fill-in-the-middle sentinels of tactus train --fim follow the tokenizer's tokens */
        size_t n = j->len;
        while (n > 0 && j->items[n - 1]->type == TX_JSON_STRING &&
               (!strcmp(j->items[n - 1]->str, TX_FIM_PREFIX) || !strcmp(j->items[n - 1]->str, TX_FIM_SUFFIX) ||
                !strcmp(j->items[n - 1]->str, TX_FIM_MIDDLE)))
            n--;
        ci->n_vocab = (int)n;
        ci->is_note = tx_calloc(j->len ? j->len : 1, 1);
        if (!ci->is_note) {
            tx_arena_free(&a);
            cli_error("%s: out of memory", path);
            return EXIT_INPUT;
        }
        for (size_t i = 0; i < j->len; i++)
            ci->is_note[i] = j->items[i]->type == TX_JSON_STRING && strncmp(j->items[i]->str, "Pitch", 5) == 0;
        tx_arena_free(&a);
    }
    return EXIT_OK;
}

/* The note targets of a shard: the same windows tx_model_evaluate walks, counting targets that are
 * notes. */
static int count_notes(const tx_shard *s, const ckpt_info *ci, int b, int t, size_t *notes)
{
    size_t bt = (size_t)b * (size_t)t;
    int32_t *in = tx_malloc(2 * bt * sizeof *in);
    if (!in)
        return -1;
    uint64_t cursor = 0;
    *notes = 0;
    while (tx_shard_eval_batch(s, b, t, ci->bos, &cursor, in, in + bt) > 0)
        for (size_t i = 0; i < bt; i++) {
            int32_t id = in[bt + i];
            if (id >= 0 && id < ci->n_vocab && ci->is_note[id])
                (*notes)++;
        }
    tx_free(in);
    return 0;
}

/* Reads the name of the shard's tokenizer from its header into buf ("" when none). */
static int shard_tokenizer(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    if (cli_read_json_file(path, (size_t)1 << 30, &a, &j)) {
        tx_arena_free(&a);
        return EXIT_INPUT;
    }
    snprintf(buf, n, "%s", tx_json_get_str(j, "tokenizer", ""));
    tx_arena_free(&a);
    return EXIT_OK;
}

/* Prints one shard's figures (text, or one JSON object with --json); order > 0 names the n-gram. */
static int report(const char *path, size_t tokens, double loss, int have_vocab, size_t notes, int order,
                  int json)
{
    double bits = loss / log(2.0), ppl = exp(loss);
    double per_note = notes ? bits * (double)tokens / (double)notes : 0;
    if (json) {
        tx_buf o = TX_BUF_INIT;
        tx_buf_puts(&o, "{\"data\": ");
        tx_buf_json_string(&o, path);
        if (order)
            tx_buf_printf(&o, ", \"ngram\": %d", order);
        tx_buf_printf(&o, ", \"tokens\": %zu, \"loss\": %.6f, \"perplexity\": %.4f, \"bits_per_token\": %.6f",
                      tokens, loss, ppl, bits);
        if (have_vocab)
            tx_buf_printf(&o, ", \"notes\": %zu", notes);
        if (notes)
            tx_buf_printf(&o, ", \"bits_per_note\": %.6f", per_note);
        else
            tx_buf_puts(&o, ", \"bits_per_note\": null");
        tx_buf_puts(&o, "}\n");
        int oom = o.oom;
        if (!oom && o.data)
            fputs(o.data, stdout);
        tx_buf_free(&o);
        if (oom) {
            cli_error("%s: out of memory", path);
            return EXIT_INPUT;
        }
    } else {
        printf("%s: %zu tokens: loss %.6f, perplexity %.4f, %.4f bits/token", path, tokens, loss, ppl, bits);
        if (notes)
            printf(", %zu notes, %.3f bits/note", notes, per_note);
        putchar('\n');
    }
    return cli_flush_stdout();
}

static int eval_one(tx_model *m, const ckpt_info *ci, const char *path, int b, int t, int json)
{
    tx_shard *s;
    tx_error err;
    char tok[64];
    if (shard_tokenizer(path, tok, sizeof tok))
        return EXIT_INPUT;
    if (*ci->tokenizer && *tok && strcmp(tok, ci->tokenizer) != 0) {
        cli_error("%s: the shard holds %s tokens, the model was trained on %s tokens", path, tok, ci->tokenizer);
        return EXIT_INPUT;
    }
    if (tx_shard_open(path, &s, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    int status = EXIT_OK;
    double loss;
    size_t tokens, notes = 0;
    if (ci->n_vocab && tx_shard_vocab(s) != ci->n_vocab) {
        cli_error("%s: the shard's vocabulary has %d tokens, the model's tokenizer %d", path, tx_shard_vocab(s),
                  ci->n_vocab);
        status = EXIT_INPUT;
    } else if (tx_model_evaluate(m, s, b, t, ci->bos, &loss, &tokens, &err)) {
        cli_error("%s: %s", path, err.msg);
        status = EXIT_INPUT;
    } else if (tokens == 0) {
        cli_error("%s: the shard holds no tokens to predict", path);
        status = EXIT_INPUT;
    } else if (ci->is_note && count_notes(s, ci, b, t, &notes)) {
        cli_error("%s: out of memory", path);
        status = EXIT_INPUT;
    } else {
        status = report(path, tokens, loss, ci->is_note != NULL, notes, 0, json);
    }
    tx_shard_free(s);
    return status;
}

/* ---- the n-gram baseline ---- */


/* What the n-gram takes from the training shard's header instead of a checkpoint: the tokenizer's name,
 * which ids are notes and BOS_None's id, from the REMI tokenizer its configuration rebuilds (as
 * `tactus train` does). Prints the error. */
static int shard_info(const char *path, int shard_vocab, ckpt_info *ci)
{
    tx_error err;
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    if (cli_read_json_file(path, (size_t)1 << 30, &a, &j)) {
        tx_arena_free(&a);
        return EXIT_INPUT;
    }
    const char *name = tx_json_get_str(j, "tokenizer", "");
    const tx_json *cfg = tx_json_get(j, "tokenizer_config");
    if (strncmp(name, "remi", 4) != 0 || !cfg || cfg->type != TX_JSON_OBJECT) {
        cli_error("%s: the shard names no REMI tokenizer; the n-gram model needs its BOS_None token", path);
        tx_arena_free(&a);
        return EXIT_INPUT;
    }
    snprintf(ci->tokenizer, sizeof ci->tokenizer, "%s", name);
    tx_buf raw = TX_BUF_INIT;
    cli_json_write(&raw, cfg);
    tx_arena_free(&a);
    tx_remi_config c;
    tx_remi *r = NULL;
    char where[600];
    snprintf(where, sizeof where, "%s: tokenizer_config", path);
    int status = EXIT_OK;
    if (raw.oom) {
        cli_error("%s: out of memory", path);
        status = EXIT_INPUT;
    } else if (tx_remi_config_read(&c, raw.data, raw.len, where, &err) || !(r = tx_remi_new(&c, &err))) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
    } else if (tx_remi_vocab_size(r) != shard_vocab) {
        cli_error("%s: the tokenizer's vocabulary has %d tokens, the shard says %d", path,
                  tx_remi_vocab_size(r), shard_vocab);
        status = EXIT_INPUT;
    } else if ((ci->bos = tx_remi_id(r, "BOS_None")) < 0) {
        cli_error("%s: the tokenizer has no BOS_None token", path);
        status = EXIT_INPUT;
    } else if (!(ci->is_note = tx_calloc((size_t)shard_vocab, 1))) {
        cli_error("%s: out of memory", path);
        status = EXIT_INPUT;
    } else {
        ci->n_vocab = shard_vocab;
        for (int id = 0; id < shard_vocab; id++)
            ci->is_note[id] = strncmp(tx_remi_token(r, id), "Pitch", 5) == 0;
    }
    tx_remi_free(r);
    tx_buf_free(&raw);
    return status;
}

static int eval_ngram_one(const tx_ngram *m, const ckpt_info *ci, const char *path, int json)
{
    tx_shard *s;
    tx_error err;
    char tok[64];
    if (shard_tokenizer(path, tok, sizeof tok))
        return EXIT_INPUT;
    if (strcmp(tok, ci->tokenizer) != 0) {
        cli_error("%s: the shard holds %s tokens, the n-gram model was trained on %s tokens", path,
                  *tok ? tok : "unnamed", ci->tokenizer);
        return EXIT_INPUT;
    }
    if (tx_shard_open(path, &s, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    int status = EXIT_OK;
    double loss;
    size_t tokens, notes = 0;
    if (tx_shard_vocab(s) != ci->n_vocab) {
        cli_error("%s: the shard's vocabulary has %d tokens, the training shard's %d", path, tx_shard_vocab(s),
                  ci->n_vocab);
        status = EXIT_INPUT;
    } else if (tx_ngram_evaluate(m, s, ci->bos, &loss, &tokens, &err)) {
        cli_error("%s: %s", path, err.msg);
        status = EXIT_INPUT;
    } else if (tokens == 0) {
        cli_error("%s: the shard holds no tokens to predict", path);
        status = EXIT_INPUT;
    } else if (count_notes(s, ci, 8, 1024, &notes)) {   /* the targets do not depend on the windows */
        cli_error("%s: out of memory", path);
        status = EXIT_INPUT;
    } else {
        status = report(path, tokens, loss, 1, notes, tx_ngram_order(m), json);
    }
    tx_shard_free(s);
    return status;
}

/* Trains the order-N model on train_path and reports it on each data shard. */
static int eval_ngram(int order, const char *train_path, const char *const *data, int n_data, int json)
{
    tx_shard *ts;
    tx_error err;
    if (tx_shard_open(train_path, &ts, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    ckpt_info ci = {{0}, NULL, 0, -1, 0};
    tx_ngram *m = NULL;
    int status = shard_info(train_path, tx_shard_vocab(ts), &ci);
    if (!status && tx_ngram_train(ts, order, ci.bos, &m, &err)) {
        cli_error("%s: %s", train_path, err.msg);
        status = EXIT_INPUT;
    }
    tx_shard_free(ts);
    /* a shard that fails is reported and the others go on */
    for (int i = 0; m && i < n_data; i++)
        if (eval_ngram_one(m, &ci, data[i], json))
            status = EXIT_INPUT;
    tx_ngram_free(m);
    tx_free(ci.is_note);
    return status;
}

int cmd_eval(int argc, char **argv)
{
    enum { O_DATA = 256, O_CONTEXT, O_BATCH, O_NGRAM, O_TRAIN };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, O_DATA},
        {"context", required_argument, NULL, O_CONTEXT},
        {"batch", required_argument, NULL, O_BATCH},
        {"ngram", required_argument, NULL, O_NGRAM},
        {"train", required_argument, NULL, O_TRAIN},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *train = NULL;
    const char *data[64];
    int n_data = 0, context = 0, batch = 8, json = 0, ngram = 0, c;
    while ((c = getopt_long(argc, argv, "m:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case O_DATA:
            if (n_data == (int)(sizeof data / sizeof *data))
                return cli_usage_error("eval", "too many --data options");
            data[n_data++] = optarg;
            break;
        case O_CONTEXT:
            if (parse_int(optarg, 1, TX_MODEL_MAX_CONTEXT, &context))
                return cli_usage_error("eval", "--context must be an integer in 1..%d", TX_MODEL_MAX_CONTEXT);
            break;
        case O_BATCH:
            if (parse_int(optarg, 1, 1 << 16, &batch))
                return cli_usage_error("eval", "--batch must be an integer in 1..65536");
            break;
        case O_NGRAM:
            if (parse_int(optarg, 1, TX_NGRAM_MAX_ORDER, &ngram))
                return cli_usage_error("eval", "--ngram must be an integer in 1..%d", TX_NGRAM_MAX_ORDER);
            break;
        case O_TRAIN: train = optarg; break;
        case 'j': json = 1; break;
        case 'h': cli_usage(stdout, "eval", options); return cli_flush_stdout();
        default: return cli_usage_error("eval", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (ngram || train) {
        if (model)
            return cli_usage_error("eval", "--model and --ngram exclude each other");
        if (!ngram || !train || !n_data)
            return cli_usage_error("eval", "--ngram N, --train SHARD.json and --data SHARD.json go together");
        return eval_ngram(ngram, train, data, n_data, json);
    }
    if (!model || !n_data)
        return cli_usage_error("eval", "--model CKPT and --data SHARD.json are required");

    uint8_t *bytes;
    size_t len;
    tx_error err;
    if (tx_read_file(model, TX_MODEL_MAX_FILE, &bytes, &len, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    tx_safetensors *st = NULL;
    tx_model *m = NULL;
    ckpt_info ci = {{0}, NULL, 0, -1, 0};
    int status = EXIT_OK;
    if (tx_model_load_memory(bytes, len, model, &m, &err) || tx_safetensors_parse(bytes, len, model, &st, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
    } else if (!(status = read_info(st, model, &ci))) {
        int ctx = context ? context : ci.context ? ci.context : tx_model_get_config(m)->context;
        if (ctx > tx_model_get_config(m)->context) {
            cli_error("--context %d is longer than the model's context of %d", ctx, tx_model_get_config(m)->context);
            status = EXIT_INPUT;
        }
        /* a shard that fails is reported and the others go on */
        for (int i = 0; i < n_data && ctx <= tx_model_get_config(m)->context; i++)
            if (eval_one(m, &ci, data[i], batch, ctx, json))
                status = EXIT_INPUT;
    }
    tx_free(ci.is_note);
    tx_safetensors_free(st);
    tx_model_free(m);
    tx_free(bytes);
    return status;
}
