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

#include "lm.h"

static const char options[] =
    "  -m, --model CKPT       the checkpoint (.safetensors from tactus train)\n"
    "  --prompt FILE          a score (MIDI, ABC) to continue, tokenized with the model's tokenizer\n"
    "  --tokens TEXT          a prompt as token strings or ids, separated by blanks\n"
    "  -n, --n-predict N      tokens to generate (256, at most what the context leaves)\n"
    CLI_LM_SAMPLER_HELP
    "  -o, --out FILE         also write the whole sequence as a MIDI file\n"
    "  --ids                  print ids instead of token strings\n"
    "  -h, --help             show this help\n";

#define MAX_TOKENS_TEXT (16u << 20)

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

int cmd_generate(int argc, char **argv)
{
    enum { O_PROMPT = 256, O_TOKENS, O_IDS };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"prompt", required_argument, NULL, O_PROMPT},
        {"tokens", required_argument, NULL, O_TOKENS},
        {"n-predict", required_argument, NULL, 'n'},
        CLI_LM_SAMPLER_LONGOPTS,
        {"out", required_argument, NULL, 'o'},
        {"ids", no_argument, NULL, O_IDS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *prompt = NULL, *tokens = NULL, *out = NULL;
    long n_new = -1;
    int ids = 0, c;
    tx_sampler_config sc;
    cli_lm_sampler_defaults(&sc);
    while ((c = getopt_long(argc, argv, "m:n:s:o:h", longopts, NULL)) != -1) {
        int taken = cli_lm_sampler_option("generate", c, optarg, &sc);
        if (taken < 0)
            return EXIT_USAGE;
        if (taken)
            continue;
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

    cli_lm lm;
    if (cli_lm_open(&lm, model))
        return EXIT_INPUT;
    tx_model *m = lm.m;
    const tx_remi *r = lm.r;
    tx_error err;
    int status = EXIT_OK, is_drum = 0, n_out = 0;
    tx_sampler *smp = NULL;
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    int32_t *seq = NULL, *gen = NULL;
    tx_score *score = NULL;
    tx_buf text = TX_BUF_INIT;
    cli_lm_grammar gm;
    if ((tokens && (status = tokens_prompt(r, tokens, &q))) ||
        (prompt && (status = file_prompt(r, prompt, &q, &is_drum))))
        goto done;

    /* the sequence: BOS (when the model was trained with one), then the prompt */
    const tx_model_config *mc = tx_model_get_config(m);
    int context = mc->context;
    int32_t bos = lm.bos;
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
    size_t bad;
    if (cli_lm_grammar_start(&lm, &gm, seq, n_prompt, is_drum, &bad)) {
        cli_error("%s: token %zu (%s) cannot follow %s", prompt ? prompt : "--tokens", bad + 1 - k,
                  tx_remi_token(r, seq[bad]), bad ? tx_remi_token(r, seq[bad - 1]) : "the start");
        status = EXIT_INPUT;
        goto done;
    }

    /* make room: a score prompt is cut at a bar line, so what stays is whole bars */
    long want = n_new >= 0 ? n_new : 256;
    if (n_new < 0 && want > context - (long)n_prompt)
        want = context - (long)n_prompt > 0 ? context - (long)n_prompt : 0;
    if ((long)n_prompt + want > context) {
        size_t cut = 0, room = want < context ? (size_t)(context - want) : 0;
        for (size_t i = 1; prompt && i <= room && i < n_prompt; i++)
            if (seq[i] == lm.bar)
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
        cli_lm_grammar_start(&lm, &gm, seq, n_prompt, is_drum, &bad);
    }

    /* the prompt and what follows it, in gen; -n may stop inside a note, whose start is dropped */
    memcpy(gen, seq, n_prompt * sizeof *gen);
    size_t n_gen = n_prompt;
    cli_lm_limits lim = {want, -1, 0, 0, 0};
    cli_lm_result res;
    if (tx_sampler_new(&sc, mc->vocab_size, &smp, &err) ||
        cli_lm_run(&lm, smp, &gm, seq, (int)n_prompt, gen, &n_gen, &lim, &res, &err)) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    n_out = (int)n_gen;
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
        size_t skipped = 0;
        if (cli_lm_decode(&lm, gen, (size_t)n_out, is_drum, &score, &skipped, &err) ||
            tx_midi_write_file(score, out, &err)) {
            cli_error("%s: %s", out, err.msg);
            status = EXIT_INPUT;
            goto done;
        }
        if (skipped)
            fprintf(stderr, "tactus: %s: %zu malformed token groups skipped\n", out, skipped);
    }
done:
    tx_score_free(score);
    tx_buf_free(&text);
    tx_free(seq);
    tx_free(gen);
    tx_remi_seqs_free(&q);
    tx_sampler_free(smp);
    cli_lm_close(&lm);
    return status;
}
