/* vocab.c: `tactus vocab train`: learns BPE merges for a tokenizer (REMI, REMI+ or the ABC text
 * tokenizer) from files and folders of scores, and writes the model as a tokenizer.json that
 * `tactus tokenize --bpe` and `tactus detokenize --bpe` read.
 *
 * Reading and base tokenization run on --jobs threads; the trainer is fed on the main thread in the
 * sorted order of the files, so the model does not depend on the number of threads. The base ids of
 * everything read stay in memory until the end, to measure the compression the merges give.
 * Not here: the trainer (tokenizers/bpe), the tokenizers. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tokenizers/abctok.h"
#include "tokenizers/bpe.h"
#include "tokenizers/remi.h"

static const char options[] =
    "  -t, --tokenizer NAME    remi, remi+ or abc (required)\n"
    "  -c, --config FILE       a MidiTok tokenizer JSON; overrides remi / remi+\n"
    "  -b, --bpe N             the vocabulary size to reach: base tokens plus merges (as MidiTok's\n"
    "                          vocab_size; required)\n"
    "  -o, --out FILE          where to write the model (tokenizer.json; required)\n"
    "  -j, --jobs N            threads that read and tokenize (default: one per core)\n"
    "      --min-frequency N   stop when the most frequent pair occurs fewer than N times\n"
    "      --strip-text        abc: keep only the music fields\n"
    "      --strip-titles      abc: remove T: lines\n"
    "      --keep-x            abc: keep X: lines, renumbered X:1\n"
    "      --json              print the summary as one JSON object\n"
    "  -h, --help              show this help\n";

#define MAX_JOBS 64
#define MAX_FILE (1u << 30)   /* an input file read at most */

/* One input file's base tokens (REMI), or its text (ABC), made by a worker. */
typedef struct item {
    int done, rc;
    char msg[TX_ERROR_MSG_MAX];
    tx_remi_seqs q;           /* REMI */
    uint8_t *text;            /* ABC: the file */
    size_t len;
} item;

typedef struct work {
    const tx_remi *r;         /* NULL for abc */
    char **paths;
    item *items;
    size_t n, next, fed, window;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} work;

static void read_item(const work *w, size_t i, item *it)
{
    const char *path = w->paths[i];
    tx_error err;
    tx_error_clear(&err);
    it->q = (tx_remi_seqs)TX_REMI_SEQS_INIT;
    if (w->r) {
        tx_score *s = NULL;
        it->rc = tx_score_read_file(path, &s, NULL, &err);
        if (!it->rc && (it->rc = tx_remi_encode(w->r, s, &it->q, &err)) != TX_OK) {
            char msg[TX_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err.msg);
            tx_error_set(&err, it->rc, "%s: %s", path, msg);
        }
        tx_score_free(s);
    } else {
        it->rc = tx_read_file(path, MAX_FILE, &it->text, &it->len, &err);
        if (!it->rc && tx_format_detect(it->text, it->len, path) == TX_FORMAT_MIDI)
            it->rc = tx_error_set(&err, TX_EUNSUP, "%s: a MIDI file; the abc tokenizer reads ABC text", path);
    }
    if (it->rc)
        snprintf(it->msg, sizeof it->msg, "%s", err.msg);
}

static void *worker(void *ud)
{
    work *w = ud;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        /* stay at most `window` files ahead of the trainer, so memory follows the trainer */
        while (w->next < w->n && w->next >= w->fed + w->window)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->next >= w->n) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        size_t i = w->next++;
        pthread_mutex_unlock(&w->mu);
        item it;
        memset(&it, 0, sizeof it);
        read_item(w, i, &it);
        pthread_mutex_lock(&w->mu);
        w->items[i] = it;
        w->items[i].done = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Folders keep only the files of the tokenizer's format. */
static int keep_format(const char *path, void *ud)
{
    return tx_format_from_path(path) == *(const int *)ud;
}

/* What the training read, kept to measure the compression afterwards. */
typedef struct corpus {
    tx_bpe_ids ids;           /* REMI: every sequence's base ids, back to back */
    size_t *starts;           /* (n_seqs + 1) */
    size_t n_seqs, cap;
    char **texts;             /* ABC: every tune's text */
    size_t *lens;
    size_t n_texts, cap_texts, cap_lens;
} corpus;

static int corpus_add_seq(corpus *c, const int32_t *ids, size_t n)
{
    if (tx_grow((void **)&c->ids.ids, &c->ids.cap, c->ids.len + n + 1, sizeof *c->ids.ids) ||
        tx_grow((void **)&c->starts, &c->cap, c->n_seqs + 2, sizeof *c->starts))
        return TX_ENOMEM;
    if (n)
        memcpy(c->ids.ids + c->ids.len, ids, n * sizeof *ids);
    c->starts[0] = 0;
    c->ids.len += n;
    c->starts[++c->n_seqs] = c->ids.len;
    return TX_OK;
}

static int corpus_add_text(corpus *c, const char *text, size_t n)
{
    if (tx_grow((void **)&c->texts, &c->cap_texts, c->n_texts + 1, sizeof *c->texts) ||
        tx_grow((void **)&c->lens, &c->cap_lens, c->n_texts + 1, sizeof *c->lens))
        return TX_ENOMEM;
    char *copy = tx_malloc(n + 1);
    if (!copy)
        return TX_ENOMEM;
    memcpy(copy, text, n);
    copy[n] = '\0';
    c->texts[c->n_texts] = copy;
    c->lens[c->n_texts++] = n;
    return TX_OK;
}

static void corpus_free(corpus *c)
{
    tx_bpe_ids_free(&c->ids);
    tx_free(c->starts);
    for (size_t i = 0; i < c->n_texts; i++)
        tx_free(c->texts[i]);
    tx_free(c->texts);
    tx_free(c->lens);
}

/* Feeds one file to the trainer (and keeps it in c). Returns the sequences or tunes it held. */
static int feed(tx_bpe_trainer *tr, const tx_abctok *t, item *it, const char *path, corpus *c, size_t *n_seqs,
                tx_error *err)
{
    int rc = TX_OK;
    if (!t) {
        for (size_t k = 0; k < it->q.n_seqs && !rc; k++) {
            const int32_t *seq = it->q.ids + it->q.starts[k];
            size_t n = it->q.starts[k + 1] - it->q.starts[k];
            if (!(rc = tx_bpe_trainer_add(tr, seq, n, err)) && (rc = corpus_add_seq(c, seq, n)))
                tx_error_set(err, rc, "out of memory");
            (*n_seqs)++;
        }
        return rc;
    }
    size_t pos = 0, start, tlen, tunes = 0;
    const char *text = (const char *)it->text;
    while (!rc && tx_abctok_next_tune(text, it->len, &pos, &start, &tlen)) {
        tunes++;
        if (!(rc = tx_abctok_train_add(t, tr, text + start, tlen, err)) &&
            (rc = corpus_add_text(c, text + start, tlen)))
            tx_error_set(err, rc, "out of memory");
        if (rc) {
            char msg[TX_ERROR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", err->msg);
            tx_error_set(err, rc, "%s: tune %zu: %s", path, tunes, msg);
        }
    }
    *n_seqs += tunes;
    if (!rc && !tunes)
        rc = tx_error_set(err, TX_ESYNTAX, "%s: no tunes (a tune starts with a line \"X:\")", path);
    return rc;
}

/* Tokens after the merges, over what the training read. */
static int encoded_tokens(const corpus *c, const tx_bpe *b, tx_abctok *t, size_t *out, tx_error *err)
{
    tx_bpe_ids v = TX_BPE_IDS_INIT;
    int rc = TX_OK;
    *out = 0;
    for (size_t k = 0; k < c->n_seqs && !rc; k++) {
        v.len = 0;
        rc = tx_bpe_encode(b, c->ids.ids + c->starts[k], c->starts[k + 1] - c->starts[k], &v, err);
        *out += v.len;
    }
    for (size_t k = 0; k < c->n_texts && !rc; k++) {
        v.len = 0;
        rc = tx_abctok_encode(t, c->texts[k], c->lens[k], &v, err);
        *out += v.len;
    }
    tx_bpe_ids_free(&v);
    return rc;
}

static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int train(int argc, char **argv)
{
    enum { OPT_MINFREQ = 256, OPT_STRIP_TEXT, OPT_STRIP_TITLES, OPT_KEEP_X, OPT_JSON };
    static const struct option longopts[] = {
        {"tokenizer", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"bpe", required_argument, NULL, 'b'},
        {"out", required_argument, NULL, 'o'},
        {"jobs", required_argument, NULL, 'j'},
        {"min-frequency", required_argument, NULL, OPT_MINFREQ},
        {"strip-text", no_argument, NULL, OPT_STRIP_TEXT},
        {"strip-titles", no_argument, NULL, OPT_STRIP_TITLES},
        {"keep-x", no_argument, NULL, OPT_KEEP_X},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *config = NULL, *out_path = NULL;
    long target = 0, jobs = 0, min_freq = 0;
    int json = 0, abc_flags = 0, c;
    tx_abctok_options ao;
    tx_abctok_options_init(&ao);
    optind = 0;
    while ((c = getopt_long(argc, argv, "t:c:b:o:j:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': name = optarg; break;
        case 'c': config = optarg; break;
        case 'b':
            if (parse_count(optarg, 1, TX_BPE_MAX_VOCAB, &target))
                return cli_usage_error("vocab", "--bpe %s: expected a vocabulary size from 1 to %d", optarg,
                                       TX_BPE_MAX_VOCAB);
            break;
        case 'o': out_path = optarg; break;
        case 'j':
            if (parse_count(optarg, 1, MAX_JOBS, &jobs))
                return cli_usage_error("vocab", "--jobs %s: expected a number from 1 to %d", optarg, MAX_JOBS);
            break;
        case OPT_MINFREQ:
            if (parse_count(optarg, 0, 0x7fffffffL, &min_freq))
                return cli_usage_error("vocab", "--min-frequency %s: expected a count", optarg);
            break;
        case OPT_STRIP_TEXT: ao.strip_text = 1; abc_flags = 1; break;
        case OPT_STRIP_TITLES: ao.strip_titles = 1; abc_flags = 1; break;
        case OPT_KEEP_X: ao.x_mode = TX_ABCTOK_X_RENUMBER; abc_flags = 1; break;
        case OPT_JSON: json = 1; break;
        case 'h': cli_usage(stdout, "vocab", options); return cli_flush_stdout();
        default: return cli_usage_error("vocab", "bad option");
        }
    }
    if (!name && !config)
        return cli_usage_error("vocab", "no tokenizer (--tokenizer remi, remi+ or abc)");
    if (!target)
        return cli_usage_error("vocab", "no vocabulary size (--bpe N)");
    if (!out_path)
        return cli_usage_error("vocab", "no output file (--out)");
    if (optind >= argc)
        return cli_usage_error("vocab", "no input files or folders");
    int is_abc = name && !strcmp(name, "abc");
    if (is_abc && config)
        return cli_usage_error("vocab", "--config is for the REMI tokenizers, not abc");
    if (!is_abc && abc_flags)
        return cli_usage_error("vocab", "--strip-text, --strip-titles and --keep-x are for --tokenizer abc");

    tx_remi *r = NULL;
    tx_abctok *t = NULL;
    tx_error err;
    tx_error_clear(&err);
    if (is_abc) {
        if (!(t = tx_abctok_new(&ao, &err))) {
            cli_error("%s", err.msg);
            return EXIT_INPUT;
        }
    } else if (!(r = cli_remi_open(name ? name : "remi", config, 0))) {
        return EXIT_USAGE;
    }
    int base = is_abc ? TX_ABCTOK_BASE_SIZE : tx_remi_vocab_size(r);
    const char *tokname = config ? config : name;
    if (target <= base) {
        tx_abctok_free(t);
        tx_remi_free(r);
        return cli_usage_error("vocab", "--bpe %ld: the %s tokenizer has %d base tokens already; the vocabulary "
                               "size counts them and the merges", target, tokname, base);
    }

    /* the word rule: REMI merges within bars, specials stand alone */
    tx_bpe_words words;
    int32_t split[1], specials[TX_REMI_MAX_SPECIAL];
    if (is_abc) {
        tx_abctok_bpe_words(&words);
    } else {
        const tx_remi_config *cfg = tx_remi_get_config(r);
        size_t n_special = 0;
        for (int i = 0; i < cfg->n_special; i++) {
            int id = tx_remi_id(r, cfg->special[i]);
            if (id >= 0)
                specials[n_special++] = id;
        }
        split[0] = tx_remi_id(r, "Bar_None");
        words = (tx_bpe_words){base, split, split[0] >= 0, specials, n_special};
    }

    double t0 = tx_now();
    int status = EXIT_OK;
    char **paths = NULL;
    size_t n_paths = 0;
    int fmt = is_abc ? TX_FORMAT_ABC : TX_FORMAT_MIDI;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        tx_error_clear(&err);
        /* a file named on the command line is read whatever its name; a folder gives its files of
         * the tokenizer's format */
        if (stat(argv[i], &st) != 0) {
            cli_error("%s: no such file or folder", argv[i]);
            status = EXIT_INPUT;
        } else if (tx_find_files(argv[i], S_ISDIR(st.st_mode) ? keep_format : NULL, &fmt, &paths, &n_paths, &err)) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        }
    }

    tx_bpe_trainer *tr = tx_bpe_trainer_new(&words, &err);
    tx_bpe *model = NULL;
    corpus cp;
    memset(&cp, 0, sizeof cp);
    size_t failed = 0, n_seqs = 0, files_ok = 0;
    if (!tr) {
        cli_error("%s", err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    if (n_paths) {
        work w = {r, paths, NULL, n_paths, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
        w.items = tx_calloc(n_paths, sizeof *w.items);
        if (!w.items) {
            cli_error("out of memory");
            status = EXIT_INPUT;
            goto done;
        }
        if (!jobs)
            jobs = sysconf(_SC_NPROCESSORS_ONLN);
        if (jobs < 1)
            jobs = 1;
        if (jobs > MAX_JOBS)
            jobs = MAX_JOBS;
        if ((size_t)jobs > n_paths)
            jobs = (long)n_paths;
        w.window = 4 * (size_t)jobs;
        pthread_t threads[MAX_JOBS];
        int started = 0;
        for (long k = 0; k < jobs; k++)
            if (pthread_create(&threads[started], NULL, worker, &w) == 0)
                started++;
        if (!started) {
            /* no thread to be had: read on this one, everything is in the window */
            w.window = n_paths;
            worker(&w);
        }
        tx_progress bar;
        tx_progress_start(&bar, stderr, "reading", "files", n_paths);
        for (size_t i = 0; i < n_paths; i++) {
            pthread_mutex_lock(&w.mu);
            while (!w.items[i].done)
                pthread_cond_wait(&w.cv, &w.mu);
            pthread_mutex_unlock(&w.mu);
            item *it = &w.items[i];
            tx_error_clear(&err);
            if (it->rc) {
                cli_error("%s", it->msg);
                failed++;
            } else if (feed(tr, t, it, paths[i], &cp, &n_seqs, &err)) {
                cli_error("%s", err.msg);
                failed++;
            } else {
                files_ok++;
            }
            tx_remi_seqs_free(&it->q);
            tx_free(it->text);
            it->text = NULL;
            pthread_mutex_lock(&w.mu);
            w.fed = i + 1;
            pthread_cond_broadcast(&w.cv);
            pthread_mutex_unlock(&w.mu);
            tx_progress_update(&bar, i + 1, n_paths);
        }
        tx_progress_finish(&bar);
        for (int k = 0; k < started; k++)
            pthread_join(threads[k], NULL);
        tx_free(w.items);
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
    }
    if (failed)
        status = EXIT_INPUT;
    uint64_t base_tokens = tx_bpe_trainer_tokens(tr);
    if (base_tokens == 0) {
        cli_error("no tokens to train on (%zu file%s read)", files_ok, files_ok == 1 ? "" : "s");
        status = EXIT_INPUT;
        goto done;
    }

    tx_bpe_train_options o = {(int)target, min_freq, 0};
    tx_progress bar;
    tx_progress_start(&bar, stderr, "merging", "merges", (size_t)(target - base));
    int rc = tx_bpe_train(tr, &o, tx_progress_update, &bar, &model, &err);
    tx_progress_finish(&bar);
    if (!rc)
        rc = tx_bpe_save_file(model, out_path, &err);
    size_t tokens = 0;
    if (!rc && is_abc) {
        /* the tokenizer measures with the model attached (and owns it from here on) */
        rc = tx_abctok_set_bpe(t, model, &err);
        model = NULL;
    }
    const tx_bpe *m = is_abc ? tx_abctok_bpe(t) : model;
    if (!rc)
        rc = encoded_tokens(&cp, m, t, &tokens, &err);
    if (rc) {
        cli_error("%s", rc == TX_ENOMEM ? "out of memory" : err.msg);
        status = EXIT_INPUT;
        goto done;
    }
    double secs = tx_now() - t0;
    int merges = tx_bpe_n_merges(m);
    double ratio = tokens ? (double)base_tokens / (double)tokens : 0.0;
    if (json) {
        tx_buf b = TX_BUF_INIT;
        tx_buf_puts(&b, "{\"out\": ");
        tx_buf_json_string(&b, out_path);
        tx_buf_puts(&b, ", \"tokenizer\": ");
        tx_buf_json_string(&b, tokname);
        tx_buf_printf(&b, ", \"base_vocab\": %d, \"merges\": %d, \"vocab_size\": %d, \"requested\": %ld, "
                      "\"files\": %zu, \"failed\": %zu, \"sequences\": %zu, \"base_tokens\": %" PRIu64 ", "
                      "\"tokens\": %zu, \"compression\": %.4f, \"seconds\": %.3f}\n", base, merges,
                      tx_bpe_vocab_size(m), target, files_ok, failed, n_seqs, base_tokens, tokens, ratio,
                      secs);
        if (b.oom)
            cli_error("out of memory");
        else
            fwrite(b.data, 1, b.len, stdout);
        tx_buf_free(&b);
    } else {
        printf("%s: %d base tokens + %d merges = %d tokens", out_path, base, merges, tx_bpe_vocab_size(m));
        if (base + merges < target)
            printf(" (%ld asked; no pair left to merge)", target);
        printf("; %zu file%s, %zu %s, %" PRIu64 " base tokens -> %zu (%.2fx compression) in %.2f s\n", files_ok,
               files_ok == 1 ? "" : "s", n_seqs, is_abc ? "tunes" : "sequences", base_tokens, tokens, ratio, secs);
    }
    if (cli_flush_stdout())
        status = EXIT_INPUT;
done:
    corpus_free(&cp);
    tx_bpe_free(model);
    tx_bpe_trainer_free(tr);
    tx_free_paths(paths, n_paths);
    tx_abctok_free(t);
    tx_remi_free(r);
    return status;
}

int cmd_vocab(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        cli_usage(stdout, "vocab", options);
        return cli_flush_stdout();
    }
    if (argc < 2)
        return cli_usage_error("vocab", "expected a subcommand (train)");
    if (strcmp(argv[1], "train") != 0)
        return cli_usage_error("vocab", "'%s' is not a vocab subcommand (train)", argv[1]);
    return train(argc - 1, argv + 1);
}
