/* generate.c: `tactus generate`: continues a prompt (a score file, token strings or ids, or nothing but
 * BOS) with a checkpoint of tactus train, samples under the REMI grammar so that every sequence decodes,
 * prints the tokens, and writes the music as MIDI with --out.
 *
 * The checkpoint carries its tokenizer (MidiTok configuration and vocabulary in the safetensors
 * metadata), so the one file is all this needs. Sampling is the engine's (KV cache, samplers:
 * models/model.h); the grammar is the tokenizer's (tx_remi_grammar_*), reached through the sampler's
 * mask callback. Flags follow llama.cpp where they overlap. This file parses, wires and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char options[] =
    "  -m, --model CKPT       the checkpoint (.safetensors from tactus train)\n"
    "  --prompt FILE          a score (MIDI, ABC) to continue, tokenized with the model's tokenizer\n"
    "  --tokens TEXT          a prompt as token strings or ids, separated by blanks\n"
    "  -n, --n-predict N      tokens to generate (256, at most what the context leaves)\n"
    "  --temp X               temperature, 0 = greedy (0.8)\n"
    "  --top-k K              keep the K likeliest tokens, 0 = off (40)\n"
    "  --top-p P              keep the likeliest tokens up to probability P, 1 = off (0.95)\n"
    "  --min-p P              drop tokens below P times the likeliest one's probability (0.05)\n"
    "  --repeat-penalty X     penalise the last --repeat-last-n tokens, 1 = off (1.0)\n"
    "  --repeat-last-n N      how many recent tokens the penalty looks at, 0 = all (64)\n"
    "  -s, --seed S           random seed (default: from the clock)\n"
    "  -o, --out FILE         also write the whole sequence as a MIDI file\n"
    "  --ids                  print ids instead of token strings\n"
    "  -h, --help             show this help\n";

#define META_TOKENIZER "tactus.tokenizer"
#define META_TOK_CONFIG "tactus.tokenizer.config"
#define META_TOK_VOCAB "tactus.tokenizer.vocab"
#define META_TRAIN "tactus.train"
#define MAX_TOKENS_TEXT (16u << 20)

/* cli_parse_double() into a float */
static int parse_float(const char *s, double lo, double hi, float *out)
{
    double v;
    if (cli_parse_double(s, lo, hi, &v))
        return -1;
    *out = (float)v;
    return 0;
}

/* ---- the checkpoint's tokenizer ---- */

/* Rebuilds the REMI tokenizer from the checkpoint's metadata and checks it against the stored
 * vocabulary and the model. Prints the error and returns NULL on failure. */
static tx_remi *open_tokenizer(const tx_safetensors *st, const char *path, const tx_model *m)
{
    const char *name = tx_safetensors_meta(st, META_TOKENIZER), *cfg = tx_safetensors_meta(st, META_TOK_CONFIG);
    const char *vocab = tx_safetensors_meta(st, META_TOK_VOCAB);
    if (!name || !cfg) {
        cli_error("%s: the checkpoint names no tokenizer (metadata \"%s\"): train it with tactus train on a "
                  "shard of tactus corpus export", path, META_TOKENIZER);
        return NULL;
    }
    if (strncmp(name, "remi", 4) != 0) {
        cli_error("%s: generate works with REMI tokenizers; the checkpoint's is \"%.64s\"", path, name);
        return NULL;
    }
    tx_remi_config c;
    tx_error err;
    char where[600];
    snprintf(where, sizeof where, "%s: %s", path, META_TOK_CONFIG);
    tx_remi *r = NULL;
    if (tx_remi_config_read(&c, cfg, strlen(cfg), where, &err) || !(r = tx_remi_new(&c, &err))) {
        cli_error("%s", err.msg);
        return NULL;
    }
    int ok = tx_remi_vocab_size(r) <= tx_model_get_config(m)->vocab_size;
    if (!ok)
        cli_error("%s: the tokenizer has %d tokens, the model only %d", path, tx_remi_vocab_size(r),
                  tx_model_get_config(m)->vocab_size);
    if (ok && vocab) {
        /* the stored vocabulary must be the one this configuration builds, token for token */
        tx_arena a = TX_ARENA_INIT;
        tx_json *j;
        snprintf(where, sizeof where, "%s: %s", path, META_TOK_VOCAB);
        if (tx_json_parse(vocab, strlen(vocab), where, &a, &j, &err)) {
            cli_error("%s", err.msg);
            ok = 0;
        } else if (j->type != TX_JSON_ARRAY || j->len != (size_t)tx_remi_vocab_size(r)) {
            cli_error("%s: the stored vocabulary does not match the tokenizer configuration", where);
            ok = 0;
        } else {
            for (size_t i = 0; i < j->len && ok; i++)
                if (j->items[i]->type != TX_JSON_STRING || strcmp(j->items[i]->str, tx_remi_token(r, (int)i))) {
                    cli_error("%s: token %zu is not \"%s\" as the configuration has it", where, i,
                              tx_remi_token(r, (int)i));
                    ok = 0;
                }
        }
        tx_arena_free(&a);
    }
    if (!ok) {
        tx_remi_free(r);
        return NULL;
    }
    return r;
}

/* The BOS id the model was trained with ("bos" in the training settings); the tokenizer's otherwise. */
static int32_t training_bos(const tx_safetensors *st, const tx_remi *r)
{
    int32_t bos = tx_remi_id(r, "BOS_None");
    const char *tr = tx_safetensors_meta(st, META_TRAIN);
    if (!tr)
        return bos;
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    tx_error err;
    if (!tx_json_parse(tr, strlen(tr), "train", &a, &j, &err)) {
        int64_t b = tx_json_get_int(j, "bos", bos);
        bos = b >= -1 && b < tx_remi_vocab_size(r) ? (int32_t)b : bos;
    }
    tx_arena_free(&a);
    return bos;
}

/* ---- the prompt ---- */

/* Ids from --tokens: token strings, or ids when every word is a number. */
static int tokens_prompt(const tx_remi *r, const char *text, tx_remi_seqs *q)
{
    tx_error err;
    int numeric = 1, words = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',')
            continue;
        words++;
        for (; *p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ','); p++)
            if (*p < '0' || *p > '9')
                numeric = 0;
        if (!*p)
            break;
    }
    if (!words) {
        tx_remi_seqs_reset(q);
        return EXIT_OK;
    }
    if (!numeric) {
        if (tx_remi_text_to_ids(r, text, strlen(text), "--tokens", q, &err)) {
            cli_error("%s", err.msg);
            return EXIT_INPUT;
        }
        return EXIT_OK;
    }
    tx_buf line = TX_BUF_INIT;
    int word = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',')
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        word++;
        if (errno || v < 0 || v >= tx_remi_vocab_size(r)) {
            cli_error("--tokens: word %d: %.*s is not an id of the vocabulary of %d", word, (int)(end - p), p,
                      tx_remi_vocab_size(r));
            tx_buf_free(&line);
            return EXIT_INPUT;
        }
        tx_buf_printf(&line, "%s%s", line.len ? " " : "", tx_remi_token(r, (int)v));
        p = end;
    }
    int rc = line.oom ? tx_error_set(&err, TX_ENOMEM, "--tokens: out of memory")
                      : tx_remi_text_to_ids(r, line.data, line.len, "--tokens", q, &err);
    tx_buf_free(&line);
    if (rc) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Ids of a score file: its first sequence (REMI: the first track the tokenizer keeps). */
static int file_prompt(const tx_remi *r, const char *path, tx_remi_seqs *q, int *is_drum)
{
    tx_score *s;
    tx_error err;
    if (tx_score_read_file(path, &s, NULL, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    int rc = tx_remi_encode(r, s, q, &err);
    tx_score_free(s);
    if (rc) {
        cli_error("%s: %s", path, err.msg);
        return EXIT_INPUT;
    }
    if (q->n_seqs == 0) {
        cli_error("%s: no notes in the tokenizer's pitch range", path);
        return EXIT_INPUT;
    }
    q->n_ids = q->starts[1];
    q->n_seqs = 1;
    *is_drum = !tx_remi_get_config(r)->one_token_stream && q->programs[0] == -1;
    return EXIT_OK;
}

/* ---- the grammar as the sampler's mask ---- */

typedef struct grammar_mask {
    tx_remi_grammar g;
    size_t fed;             /* ids of the history already fed to g */
    int remi_vocab;
} grammar_mask;

static int mask_fn(void *ud, const int32_t *ids, size_t n, uint8_t *allowed, int vocab)
{
    grammar_mask *gm = ud;
    for (; gm->fed < n; gm->fed++)
        if (tx_remi_grammar_feed(&gm->g, ids[gm->fed]))
            return TX_EINVAL;
    tx_remi_grammar_mask(&gm->g, allowed);
    /* ids the model has beyond the tokenizer's vocabulary never come out */
    for (int i = gm->remi_vocab; i < vocab; i++)
        allowed[i] = 0;
    return TX_OK;
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int cmd_generate(int argc, char **argv)
{
    enum { O_PROMPT = 256, O_TOKENS, O_TEMP, O_TOPK, O_TOPP, O_MINP, O_PENALTY, O_LASTN, O_IDS };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"prompt", required_argument, NULL, O_PROMPT},
        {"tokens", required_argument, NULL, O_TOKENS},
        {"n-predict", required_argument, NULL, 'n'},
        {"temp", required_argument, NULL, O_TEMP},
        {"top-k", required_argument, NULL, O_TOPK},
        {"top-p", required_argument, NULL, O_TOPP},
        {"min-p", required_argument, NULL, O_MINP},
        {"repeat-penalty", required_argument, NULL, O_PENALTY},
        {"repeat-last-n", required_argument, NULL, O_LASTN},
        {"seed", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"ids", no_argument, NULL, O_IDS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *prompt = NULL, *tokens = NULL, *out = NULL;
    long n_new = -1, v;
    int ids = 0, have_seed = 0, c;
    tx_sampler_config sc;
    tx_sampler_config_default(&sc);
    sc.temperature = 0.8f;
    sc.top_k = 40;
    sc.top_p = 0.95f;
    sc.min_p = 0.05f;
    while ((c = getopt_long(argc, argv, "m:n:s:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case O_PROMPT: prompt = optarg; break;
        case O_TOKENS: tokens = optarg; break;
        case 'o': out = optarg; break;
        case O_IDS: ids = 1; break;
        case 'n':
            if (cli_parse_long(optarg, 0, TX_MODEL_MAX_CONTEXT, &n_new))
                return cli_usage_error("generate", "-n must be an integer in 0..%d", TX_MODEL_MAX_CONTEXT);
            break;
        case O_TEMP:
            if (parse_float(optarg, 0, 1e6, &sc.temperature))
                return cli_usage_error("generate", "--temp must be a number of 0 or more");
            break;
        case O_TOPK:
            if (cli_parse_long(optarg, 0, TX_MODEL_MAX_VOCAB, &v))
                return cli_usage_error("generate", "--top-k must be an integer of 0 or more");
            sc.top_k = (int)v;
            break;
        case O_TOPP:
            if (parse_float(optarg, 0, 1, &sc.top_p) || sc.top_p <= 0)
                return cli_usage_error("generate", "--top-p must be a number in (0, 1]");
            break;
        case O_MINP:
            if (parse_float(optarg, 0, 1, &sc.min_p))
                return cli_usage_error("generate", "--min-p must be a number in [0, 1]");
            break;
        case O_PENALTY:
            if (parse_float(optarg, 0, 1e6, &sc.repetition_penalty) || sc.repetition_penalty <= 0)
                return cli_usage_error("generate", "--repeat-penalty must be a number above 0");
            break;
        case O_LASTN:
            if (cli_parse_long(optarg, 0, TX_MODEL_MAX_CONTEXT, &v))
                return cli_usage_error("generate", "--repeat-last-n must be an integer of 0 or more");
            sc.penalty_window = (int)v;
            break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long sv = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || *optarg == '-')
                return cli_usage_error("generate", "--seed must be an integer of 0 or more");
            sc.seed = (uint64_t)sv;
            have_seed = 1;
            break;
        }
        case 'h': cli_usage(stdout, "generate", options); return cli_flush_stdout();
        default: return cli_usage_error("generate", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("generate", "unexpected argument '%s'", argv[optind]);
    if (!model)
        return cli_usage_error("generate", "--model CKPT is required");
    if (prompt && tokens)
        return cli_usage_error("generate", "give --prompt or --tokens, not both");
    if (!have_seed)
        sc.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

    uint8_t *bytes;
    size_t len;
    tx_error err;
    if (tx_read_file(model, TX_MODEL_MAX_FILE, &bytes, &len, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    int status = EXIT_OK, is_drum = 0, n_out = 0;
    tx_safetensors *st = NULL;
    tx_model *m = NULL;
    tx_remi *r = NULL;
    tx_sampler *smp = NULL;
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    int32_t *seq = NULL, *gen = NULL, *dec = NULL;
    tx_score *score = NULL;
    tx_buf text = TX_BUF_INIT;
    grammar_mask gm;
    if (tx_model_load_memory(bytes, len, model, &m, &err) || tx_safetensors_parse(bytes, len, model, &st, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    if (!(r = open_tokenizer(st, model, m))) {
        status = EXIT_INPUT;
        goto done;
    }
    if ((tokens && (status = tokens_prompt(r, tokens, &q))) ||
        (prompt && (status = file_prompt(r, prompt, &q, &is_drum))))
        goto done;

    /* the sequence: BOS (when the model was trained with one), then the prompt */
    const tx_model_config *mc = tx_model_get_config(m);
    int context = mc->context;
    int32_t bos = training_bos(st, r), eos = tx_remi_id(r, "EOS_None");
    size_t n_prompt = q.n_ids + (bos >= 0 && !(q.n_ids && q.ids[0] == bos));
    seq = tx_malloc(n_prompt * sizeof *seq + 1);
    gen = tx_malloc(((size_t)context + 1) * sizeof *gen);
    if (!seq || !gen) {
        cli_error("%s: out of memory", model);
        status = EXIT_INPUT;
        goto done;
    }
    size_t k = 0;
    if (bos >= 0 && !(q.n_ids && q.ids[0] == bos))
        seq[k++] = bos;
    if (q.n_ids)
        memcpy(seq + k, q.ids, q.n_ids * sizeof *seq);
    if (n_prompt == 0) {
        cli_error("the model was trained without BOS: give a prompt with --prompt or --tokens");
        status = EXIT_INPUT;
        goto done;
    }

    /* the prompt must be a sentence of the grammar so far */
    tx_remi_grammar_init(&gm.g, r, 0, is_drum);
    gm.fed = 0;
    gm.remi_vocab = tx_remi_vocab_size(r);
    for (size_t i = 0; i < n_prompt; i++)
        if (tx_remi_grammar_feed(&gm.g, seq[i])) {
            cli_error("%s: token %zu (%s) cannot follow %s", prompt ? prompt : "--tokens", i + 1 - k,
                      tx_remi_token(r, seq[i]), i ? tx_remi_token(r, seq[i - 1]) : "the start");
            status = EXIT_INPUT;
            goto done;
        }
    gm.fed = n_prompt;

    /* make room: a score prompt is cut at a bar line, so what stays is whole bars */
    long want = n_new >= 0 ? n_new : 256;
    if (n_new < 0 && want > context - (long)n_prompt)
        want = context - (long)n_prompt > 0 ? context - (long)n_prompt : 0;
    if ((long)n_prompt + want > context) {
        size_t cut = 0, room = want < context ? (size_t)(context - want) : 0;
        for (size_t i = 1; prompt && i <= room && i < n_prompt; i++)
            if (starts_with(tx_remi_token(r, seq[i]), "Bar_"))
                cut = i;
        if (!cut) {
            cli_error("a prompt of %zu tokens and -n %ld do not fit the model's context of %d", n_prompt, want,
                      context);
            status = EXIT_INPUT;
            goto done;
        }
        fprintf(stderr, "tactus: %s: the prompt is cut to its first %zu tokens (whole bars) to leave room "
                "for -n %ld in the context of %d\n", prompt, cut, want, context);
        n_prompt = cut;
        tx_remi_grammar_init(&gm.g, r, 0, is_drum);
        for (size_t i = 0; i < n_prompt; i++)
            tx_remi_grammar_feed(&gm.g, seq[i]);
        gm.fed = n_prompt;
    }

    if (tx_sampler_new(&sc, mc->vocab_size, &smp, &err) ||
        tx_model_generate(m, smp, seq, (int)n_prompt, (int)want, eos, mask_fn, &gm, gen, &n_out, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    /* -n may stop inside a note (Program / Pitch / Velocity waiting for the rest): drop that part, so
     * what is printed decodes in full */
    while (n_out > (int)n_prompt) {
        const char *t = tx_remi_token(r, gen[n_out - 1]);
        if (!(starts_with(t, "Program_") || starts_with(t, "Pitch") || starts_with(t, "Velocity_")))
            break;
        n_out--;
    }
    for (int i = 0; i < n_out; i++) {
        if (ids)
            tx_buf_printf(&text, "%s%d", i ? " " : "", (int)gen[i]);
        else
            tx_buf_printf(&text, "%s%s", i ? " " : "", tx_remi_token(r, gen[i]));
    }
    tx_buf_putc(&text, '\n');
    if (text.oom) {
        cli_error("out of memory");
        status = EXIT_INPUT;
        goto done;
    }
    fputs(text.data, stdout);
    if ((status = cli_flush_stdout()))
        goto done;

    if (out) {
        /* special tokens carry no music */
        dec = tx_malloc(((size_t)n_out + 1) * sizeof *dec);
        if (!dec) {
            cli_error("%s: out of memory", out);
            status = EXIT_INPUT;
            goto done;
        }
        size_t nd = 0;
        for (int i = 0; i < n_out; i++)
            if (!starts_with(tx_remi_token(r, gen[i]), "BOS_") && !starts_with(tx_remi_token(r, gen[i]), "EOS_") &&
                !starts_with(tx_remi_token(r, gen[i]), "PAD_"))
                dec[nd++] = gen[i];
        const int32_t *seqs[1] = {dec};
        int program = is_drum ? -1 : 0;
        tx_remi_decode_stats ds;
        if (tx_remi_decode(r, seqs, &nd, &program, 1, &score, &ds, &err) ||
            tx_midi_write_file(score, out, &err)) {
            cli_error("%s: %s", out, err.msg);
            status = EXIT_INPUT;
            goto done;
        }
        if (ds.skipped)
            fprintf(stderr, "tactus: %s: %zu malformed token groups skipped\n", out, ds.skipped);
    }
done:
    tx_score_free(score);
    tx_buf_free(&text);
    tx_free(dec);
    tx_free(seq);
    tx_free(gen);
    tx_remi_seqs_free(&q);
    tx_sampler_free(smp);
    tx_remi_free(r);
    tx_safetensors_free(st);
    tx_model_free(m);
    tx_free(bytes);
    return status;
}
