/* infill.c: `tactus infill`: regenerates bars A..B of a piece from what comes before and after them,
 * with a model trained to fill in the middle (tactus train --fim): the model reads
 * PRE prefix SUF suffix MID (or SUF suffix PRE prefix MID, as it was trained) and writes the middle,
 * bar by bar, until the bars asked for are complete.
 * With --nll it writes nothing and measures instead how well the model predicts the bars that are
 * there, with both contexts and with the left one alone (the test of an infilling model).
 *
 * Bars are counted as a reader counts them: bar 1 is the first whole bar, a pickup is bar 0. The
 * output is the input score with the notes that start in those bars replaced; everything else (tracks,
 * maps, metadata, the other bars) is kept exactly. Decoding is continue.c's: the difference between
 * the decoded prefix with and without the new middle.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static const char options[] =
    "  --bars A-B             the bars to write again (A alone: one bar); bar 1 is the first whole bar\n"
    "  -o, --out FILE         the output: .mid or .abc (required unless --nll)\n"
    "  -m, --model CKPT       a checkpoint of tactus train --fim (default: the bundled model)\n"
    "  --tune N               from a file of tunes (ABC), the tune with X: number N (default: the first)\n"
    "  --svg FILE             also draw the result as a piano roll, the new bars marked\n"
    "  --nll                  generate nothing: print the negative log-likelihood of the bars as they\n"
    "                         are, with the context on both sides and with the left one alone\n"
    CLI_LM_SAMPLER_HELP
    "  -j, --json             print a JSON summary instead of text\n"
    "  -h, --help             show this help\n";

/* Negative log-likelihood in nats of targets[k] (ids[k + 1]) for k in [from, n - 1): one forward pass. */
/* The context of a fill-in-the-middle query into out, in the order the model was trained with:
 * PRE prefix SUF suffix MID, or SUF suffix PRE prefix MID (--fim-spm). Returns its length. */
static size_t fim_context(const cli_lm *lm, int32_t *out, const int32_t *pre, size_t n_pre, const int32_t *suf,
                          size_t n_suf)
{
    size_t k = 0;
    if (lm->fim_spm) {
        out[k++] = lm->fim_suffix;
        if (n_suf)   /* suf may be NULL then */
            memcpy(out + k, suf, n_suf * sizeof *out);
        k += n_suf;
    }
    out[k++] = lm->fim_prefix;
    if (n_pre)
        memcpy(out + k, pre, n_pre * sizeof *out);
    k += n_pre;
    if (!lm->fim_spm) {
        out[k++] = lm->fim_suffix;
        if (n_suf)   /* suf may be NULL then */
            memcpy(out + k, suf, n_suf * sizeof *out);
        k += n_suf;
    }
    out[k++] = lm->fim_middle;
    return k;
}

static int sequence_nll(tx_model *m, const int32_t *ids, int n, int from, double *nll, int *count, tx_error *err)
{
    int32_t *tg = tx_malloc((size_t)n * sizeof *tg);
    if (!tg)
        return tx_error_set(err, TX_ENOMEM, "out of memory");
    *count = 0;
    for (int i = 0; i < n; i++) {
        tg[i] = i >= from && i + 1 < n ? ids[i + 1] : -1;
        *count += tg[i] >= 0;
    }
    float loss = 0;
    int rc = tx_model_forward(m, ids, tg, 1, n - 1, &loss, err);
    tx_free(tg);
    *nll = (double)loss * *count;
    return rc;
}

int cmd_infill(int argc, char **argv)
{
    enum { O_BARS = 256, O_TUNE, O_SVG, O_NLL };
    static const struct option longopts[] = {
        {"bars", required_argument, NULL, O_BARS},
        {"out", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"tune", required_argument, NULL, O_TUNE},
        {"svg", required_argument, NULL, O_SVG},
        {"nll", no_argument, NULL, O_NLL},
        CLI_LM_SAMPLER_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *model = NULL, *svg = NULL;
    long bar_a = -1, bar_b = -1, tune = -1;
    int json = 0, nll = 0, c;
    tx_sampler_config sc;
    cli_lm_sampler_music(&sc);
    while ((c = getopt_long(argc, argv, "o:m:s:jh", longopts, NULL)) != -1) {
        int taken = cli_lm_sampler_option("infill", c, optarg, &sc);
        if (taken < 0)
            return EXIT_USAGE;
        if (taken)
            continue;
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': model = optarg; break;
        case O_SVG: svg = optarg; break;
        case O_NLL: nll = 1; break;
        case O_BARS:
            if (cli_parse_bars(optarg, &bar_a, &bar_b))
                return cli_usage_error("infill", "--bars takes A-B or A (bar numbers, A <= B)");
            break;
        case O_TUNE:
            if (cli_parse_long(optarg, 0, 1L << 40, &tune))
                return cli_usage_error("infill", "--tune takes an X: number");
            break;
        case 'j': json = 1; break;
        case 'h': cli_usage(stdout, "infill", options); return cli_flush_stdout();
        default: return cli_usage_error("infill", "bad option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("infill", optind < argc ? "one input file only" : "an input file is required");
    if (bar_a < 0)
        return cli_usage_error("infill", "--bars A-B is required");
    int out_format = out ? tx_format_from_path(out) : TX_FORMAT_UNKNOWN;
    if (!nll && !out)
        return cli_usage_error("infill", "-o OUT (.mid or .abc) is required");
    if (out && out_format != TX_FORMAT_MIDI && out_format != TX_FORMAT_ABC)
        return cli_usage_error("infill", "%s: the output must end in .mid or .abc", out);
    const char *in = argv[optind];

    cli_lm lm;
    if (cli_lm_open(&lm, model))
        return EXIT_INPUT;
    int status = EXIT_INPUT;
    tx_score *dec_all = NULL, *dec_base = NULL;
    cli_lm_piece piece = {0};
    tx_sampler *smp = NULL;
    int32_t *hist = NULL, *ctx = NULL;
    size_t *bar_at = NULL;
    tx_error err;
    tx_buf text = TX_BUF_INIT;
    if (!cli_lm_has_fim(&lm)) {
        cli_error("%s: the model was not trained to fill in the middle (tactus train --fim)", lm.path);
        goto done;
    }
    if (cli_lm_read_piece(&lm, in, tune, 0, &piece))
        goto done;
    tx_score *s = piece.score;
    tx_tick pickup = piece.pickup, pad = piece.pad;
    const int32_t *ids = piece.ids;
    size_t n_ids = piece.n;
    bar_at = tx_malloc((n_ids + 1) * sizeof *bar_at);
    ctx = tx_malloc(((size_t)lm.context + 1) * sizeof *ctx);
    hist = tx_malloc((n_ids + (size_t)lm.context + 1) * sizeof *hist);
    if (!bar_at || !ctx || !hist) {
        cli_error("%s: out of memory", in);
        goto done;
    }
    size_t n_bars = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] == lm.bar)
            bar_at[n_bars++] = i;
    bar_at[n_bars] = n_ids;

    /* bar A (1 = the first whole bar) is the tokenizer's bar A - 1, or A after a padded pickup */
    long first = bar_a - 1 + (pad > 0), last = bar_b - 1 + (pad > 0);
    if (first < 0 || first >= (long)n_bars) {
        cli_error("%s: bar %ld is outside the piece's %zu bars", in, bar_a, n_bars - (pad > 0));
        goto done;
    }
    if (last >= (long)n_bars)
        last = (long)n_bars - 1;
    size_t a = bar_at[first], b = bar_at[last + 1], n_mid = b - a;
    tx_tick tick_a = tx_score_bar_tick(s, first), tick_b = last + 1 < (long)n_bars ? tx_score_bar_tick(s, last + 1)
                                                                                    : tx_score_end_tick(s) + 1;
    /* room: the middle's own length twice over for the new one, then the suffix and prefix share the rest */
    size_t ctxn = (size_t)lm.context, room = 2 * n_mid + 16;
    if (room > ctxn / 2)
        room = ctxn / 2;
    size_t avail = ctxn - 3 - room;
    size_t n_suf = n_ids - b < avail / 2 ? n_ids - b : avail / 2;
    size_t n_pre = a < avail - n_suf ? a : avail - n_suf;
    if (n_suf < n_ids - b && n_suf < avail - n_pre)
        n_suf = n_ids - b < avail - n_pre ? n_ids - b : avail - n_pre;
    size_t n_ctx = fim_context(&lm, ctx, ids + a - n_pre, n_pre, ids + b, n_suf);

    if (nll) {
        /* the bars as they are: after the prefix and suffix in the model's order, after the form without a
         * suffix (the format
         * without what follows: tells the suffix's use from the format's cost), and after the prefix alone */
        double with_both, no_suffix, left_only;
        int count_both, count_none, count_left;
        size_t fit = n_ctx + n_mid <= ctxn ? n_mid : ctxn - n_ctx;
        memcpy(hist, ctx, n_ctx * sizeof *hist);
        memcpy(hist + n_ctx, ids + a, fit * sizeof *hist);
        if (sequence_nll(lm.m, hist, (int)(n_ctx + fit), (int)n_ctx - 1, &with_both, &count_both, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        size_t k = fim_context(&lm, hist, ids + a - n_pre, n_pre, NULL, 0);
        memcpy(hist + k, ids + a, fit * sizeof *hist);
        if (sequence_nll(lm.m, hist, (int)(k + fit), (int)k - 1, &no_suffix, &count_none, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        memcpy(hist, ids + a - n_pre, (n_pre + fit) * sizeof *hist);
        if (sequence_nll(lm.m, hist, (int)(n_pre + fit), n_pre > 0 ? (int)n_pre - 1 : 0, &left_only, &count_left,
                         &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        if (json) {
            tx_buf_puts(&text, "{\"file\": ");
            tx_buf_json_string(&text, in);
            tx_buf_printf(&text, ", \"bars\": [%ld, %ld], \"tokens\": %d, \"prefix_tokens\": %zu, "
                          "\"suffix_tokens\": %zu, \"nll_both\": %.6f, \"nll_no_suffix\": %.6f, \"nll_left\": %.6f, "
                          "\"left_tokens\": %d}\n", bar_a, bar_b, count_both, n_pre, n_suf, with_both, no_suffix,
                          left_only, count_left);
        }
        else
            tx_buf_printf(&text, "%s: bars %ld-%ld, %d tokens: %.3f nats (%.4f bits/token) with both sides, "
                          "%.3f nats (%.4f bits/token) in the same form without what follows, %.3f nats over %d "
                          "tokens (%.4f bits/token) with the left side alone\n", in, bar_a, bar_b, count_both,
                          with_both, count_both ? with_both / count_both / log(2) : 0.0, no_suffix,
                          count_none ? no_suffix / count_none / log(2) : 0.0, left_only, count_left,
                          count_left ? left_only / count_left / log(2) : 0.0);
    } else {
        /* the new middle goes after the prefix, through the grammar */
        size_t n_hist = a;
        memcpy(hist, ids, a * sizeof *hist);
        cli_lm_grammar gm;
        size_t bad;
        if (cli_lm_grammar_start(&lm, &gm, hist, n_hist, 0, &bad)) {
            cli_error("%s: token %zu (%s) breaks the tokenizer's grammar", in, bad, tx_remi_token(lm.r, hist[bad]));
            goto done;
        }
        cli_lm_limits lim = {(long)(ctxn - n_ctx), last - first + 1, 0, 1, 1};
        cli_lm_result res;
        double t0 = tx_now();
        if (tx_sampler_new(&sc, tx_model_get_config(lm.m)->vocab_size, &smp, &err) ||
            cli_lm_run(&lm, smp, &gm, ctx, (int)n_ctx, hist, &n_hist, &lim, &res, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        double secs = tx_now() - t0;
        if (!res.bar_end)   /* the room for the middle ran out before its last bar was complete */
            fprintf(stderr, "tactus: %s: the context filled during new bar %ld of %ld; what follows stays empty\n", in,
                    res.bars, last - first + 1);
        if (cli_lm_decode(&lm, hist, a, 0, &dec_base, NULL, &err) ||
            cli_lm_decode(&lm, hist, n_hist, 0, &dec_all, NULL, &err)) {
            cli_error("%s: %s", in, err.msg);
            goto done;
        }
        cli_lm_remove_notes(s, tick_a, tick_b);
        cli_lm_span span;
        if (cli_lm_add_new_notes(dec_all, dec_base, s, tick_a, tick_b, &span, &err)) {
            cli_error("%s: %s", out, err.msg);
            goto done;
        }
        cli_lm_unpad(s, pad, pickup);
        if (tx_score_write_file(s, out, out_format, &err)) {
            cli_error("%s", err.msg);
            goto done;
        }
        if (svg && cli_render_file(s, svg, tick_a - pad, tick_b - pad, "infilled"))
            goto done;
        if (json) {
            tx_buf_puts(&text, "{\"file\": ");
            tx_buf_json_string(&text, in);
            tx_buf_puts(&text, ", \"out\": ");
            tx_buf_json_string(&text, out);
            tx_buf_printf(&text, ", \"bars\": [%ld, %ld], \"prefix_tokens\": %zu, \"suffix_tokens\": %zu, "
                          "\"generated_tokens\": %zu, \"generated_bars\": %ld, \"notes\": %zu, \"seconds\": %.3f, "
                          "\"seed\": %llu}\n", bar_a, bar_b, n_pre, n_suf, res.generated, res.bars, span.notes, secs,
                          (unsigned long long)sc.seed);
        }
        else
            tx_buf_printf(&text, "%s: bars %ld-%ld written again from %zu tokens before and %zu after: %zu tokens, "
                          "%zu notes in %.2f s; wrote %s\n", in, bar_a, bar_b, n_pre, n_suf, res.generated, span.notes,
                          secs, out);
    }
    if (text.oom) {
        cli_error("out of memory");
        goto done;
    }
    fputs(text.data, stdout);
    status = cli_flush_stdout();
done:
    tx_buf_free(&text);
    tx_free(bar_at);
    tx_free(ctx);
    tx_free(hist);
    tx_sampler_free(smp);
    tx_score_free(dec_all);
    tx_score_free(dec_base);
    cli_lm_piece_free(&piece);
    cli_lm_close(&lm);
    return status;
}
