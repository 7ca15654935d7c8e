/* continue.c: `tactus continue`: reads a piece (MIDI, ABC, grid), tokenizes it with the model's
 * tokenizer, keeps the tail that fits the context (from a bar line), samples a continuation of N bars
 * (or N tokens) under the tokenizer's grammar, sliding the window when the context fills, and writes
 * the piece with the new music after it, or the new music alone.
 *
 * The output is the input score itself (its tracks, tempo, signatures and metadata kept exactly) with
 * the generated notes added on the track of their program: the notes come from decoding the prompt's
 * tokens with and without the continuation and keeping the difference, so the prompt is never
 * replaced by its quantized copy. The bundled model (models/) serves unless --model names another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static const char options[] =
    "  -o, --out FILE         the output: .mid or .abc (required)\n"
    "  -m, --model CKPT       a checkpoint of tactus train (default: the bundled model)\n"
    "  --bars N               bars to add (8)\n"
    "  -n, --n-predict N      tokens to generate at most (with --bars: a cap; alone: the length)\n"
    "  --tune N               from a file of tunes (ABC), the tune with X: number N (default: the first)\n"
    "  --prompt-bars N        continue after the first N bars of IN (default: after all of it)\n"
    "  --only-new             write the continuation alone, moved to the start\n"
    "  --svg FILE             also draw the result as a piano roll, the new bars marked\n"
    CLI_LM_SAMPLER_HELP
    "  -j, --json             print a JSON summary instead of text\n"
    "  -h, --help             show this help\n";

int cmd_continue(int argc, char **argv)
{
    enum { O_BARS = 256, O_TUNE, O_ONLY_NEW, O_SVG, O_PROMPT_BARS };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"bars", required_argument, NULL, O_BARS},
        {"prompt-bars", required_argument, NULL, O_PROMPT_BARS},
        {"n-predict", required_argument, NULL, 'n'},
        {"tune", required_argument, NULL, O_TUNE},
        {"only-new", no_argument, NULL, O_ONLY_NEW},
        {"svg", required_argument, NULL, O_SVG},
        CLI_LM_SAMPLER_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *model = NULL, *svg = NULL;
    long bars = -1, n_new = -1, tune = -1, prompt_bars = -1;
    int only_new = 0, json = 0, c;
    tx_sampler_config sc;
    cli_lm_sampler_music(&sc);
    while ((c = getopt_long(argc, argv, "o:m:n:s:jh", longopts, NULL)) != -1) {
        int taken = cli_lm_sampler_option("continue", c, optarg, &sc);
        if (taken < 0)
            return EXIT_USAGE;
        if (taken)
            continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': model = optarg; break;
        case O_SVG: svg = optarg; break;
        case O_ONLY_NEW: only_new = 1; break;
        case O_PROMPT_BARS:
            if (cli_parse_long(optarg, 1, 1 << 20, &prompt_bars))
                return cli_usage_error("continue", "--prompt-bars must be a positive integer");
            break;
        case O_BARS:
            if (cli_parse_long(optarg, 1, 4096, &bars))
                return cli_usage_error("continue", "--bars must be an integer in 1..4096");
            break;
        case 'n':
            if (cli_parse_long(optarg, 1, 1 << 24, &n_new))
                return cli_usage_error("continue", "-n must be a positive integer");
            break;
        case O_TUNE:
            if (cli_parse_long(optarg, 0, 1L << 40, &tune))
                return cli_usage_error("continue", "--tune takes an X: number");
            break;
        case 'j': json = 1; break;
        case 'h': cli_usage(stdout, "continue", options); return cli_flush_stdout();
        default: return cli_usage_error("continue", "bad option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("continue", optind < argc ? "one input file only" : "an input file is required");
    if (!out)
        return cli_usage_error("continue", "-o OUT (.mid or .abc) is required");
    const char *in = argv[optind];
    int out_format = tx_format_from_path(out);
    if (out_format != TX_FORMAT_MIDI && out_format != TX_FORMAT_ABC)
        return cli_usage_error("continue", "%s: the output must end in .mid or .abc", out);
    if (bars < 0 && n_new < 0)
        bars = 8;
    if (n_new < 0)
        n_new = bars * 1024;   /* a cap far above any bar the tokenizer writes */

    cli_lm lm;
    if (cli_lm_open(&lm, model))
        return EXIT_INPUT;
    int status = EXIT_INPUT;
    tx_score *dec_all = NULL, *dec_base = NULL;
    cli_lm_piece piece = {0};
    tx_sampler *smp = NULL;
    tx_error err;
    tx_buf text = TX_BUF_INIT;
    if (cli_lm_read_piece(&lm, in, tune, (size_t)n_new, &piece))
        goto done;
    tx_score *s = piece.score;
    tx_tick pickup = piece.pickup, pad = piece.pad;
    if (prompt_bars > 0) {
        /* the opening alone: bars 1..N (and the pickup), in the tokens and in the score */
        long keep = prompt_bars + (pad > 0), seen = 0;
        for (size_t i = 0; i < piece.n; i++)
            if (piece.ids[i] == lm.bar && seen++ == keep) {
                piece.n = i;
                break;
            }
        cli_lm_remove_notes(s, tx_score_bar_tick(s, keep), tx_score_end_tick(s) + 1);
    }
    int32_t *hist = piece.ids;
    size_t n_prompt = piece.n, n_hist = piece.n;

    cli_lm_grammar gm;
    size_t bad;
    if (cli_lm_grammar_start(&lm, &gm, hist, n_hist, 0, &bad)) {
        cli_error("%s: token %zu (%s) breaks the tokenizer's grammar", in, bad, tx_remi_token(lm.r, hist[bad]));
        goto done;
    }
    /* the model sees the tail of the piece, from a bar line, leaving a quarter of the context to write */
    size_t keep = (size_t)lm.context * 3 / 4, from = n_hist > keep ? n_hist - keep : 0;
    for (size_t i = from; from > 0 && i < n_hist; i++)
        if (hist[i] == lm.bar) {
            from = i;
            break;
        }
    cli_lm_limits lim = {n_new, bars, 1, 0, 1};
    cli_lm_result res;
    double t0 = tx_now();
    if (tx_sampler_new(&sc, tx_model_get_config(lm.m)->vocab_size, &smp, &err) ||
        cli_lm_run(&lm, smp, &gm, hist + from, (int)(n_hist - from), hist, &n_hist, &lim, &res, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    double secs = tx_now() - t0;

    /* the new notes: the decoded piece with the continuation, less the decoded piece */
    tx_tick start = tx_score_end_tick(s) - pad;
    if (cli_lm_decode(&lm, hist, n_prompt, 0, &dec_base, NULL, &err) ||
        cli_lm_decode(&lm, hist, n_hist, 0, &dec_all, NULL, &err)) {
        cli_error("%s: %s", in, err.msg);
        goto done;
    }
    if (only_new)
        s->n_notes = 0;
    cli_lm_span span;
    if (cli_lm_add_new_notes(dec_all, dec_base, s, 0, -1, &span, &err)) {
        cli_error("%s: %s", out, err.msg);
        goto done;
    }
    cli_lm_unpad(s, pad, pickup);
    if (span.first >= 0 && span.first - pad < start)
        start = span.first - pad;
    if (only_new) {   /* moved to the start of the bar the continuation begins in */
        tx_barpos bp;
        tx_score_locate(s, start > 0 ? start : 0, &bp);
        tx_tick shift = bp.bar_start > 0 ? bp.bar_start : 0;
        cli_lm_unpad(s, shift, 0);
        start -= shift;
        if (tx_score_sort(s)) {
            cli_error("%s: out of memory", out);
            goto done;
        }
    }
    if (tx_score_write_file(s, out, out_format, &err)) {
        cli_error("%s", err.msg);
        goto done;
    }
    if (svg && cli_render_file(s, svg, start, -1, "generated"))
        goto done;
    const char *why = res.bar_end ? "bars" : "token limit";
    if (json) {
        tx_buf_puts(&text, "{\"file\": ");
        tx_buf_json_string(&text, in);
        tx_buf_puts(&text, ", \"out\": ");
        tx_buf_json_string(&text, out);
        tx_buf_printf(&text, ", \"model\": ");
        tx_buf_json_string(&text, lm.path);
        tx_buf_printf(&text, ", \"prompt_tokens\": %zu, \"context_tokens\": %zu, \"generated_tokens\": %zu, "
                      "\"bars\": %ld, \"notes\": %zu, \"stopped_by\": \"%s\", \"window_slides\": %d, "
                      "\"seconds\": %.3f, \"tokens_per_second\": %.1f, \"seed\": %llu}\n",
                      n_prompt, n_prompt - from, res.generated, res.bars, span.notes, why, res.slides, secs,
                      secs > 0 ? res.generated / secs : 0.0, (unsigned long long)sc.seed);
    } else {
        tx_buf_printf(&text, "%s: %zu prompt tokens (the model saw the last %zu), %zu generated (%ld bars, %zu "
                      "notes, stopped by %s) in %.2f s, %.0f tokens/s; wrote %s\n", in, n_prompt, n_prompt - from,
                      res.generated, res.bars, span.notes, why, secs, secs > 0 ? res.generated / secs : 0.0, out);
    }
    if (text.oom) {
        cli_error("out of memory");
        goto done;
    }
    fputs(text.data, stdout);
    status = cli_flush_stdout();
done:
    tx_buf_free(&text);
    tx_sampler_free(smp);
    tx_score_free(dec_all);
    tx_score_free(dec_base);
    cli_lm_piece_free(&piece);
    cli_lm_close(&lm);
    return status;
}
