/* corpus.c: `tactus corpus index|analyze|search|query|stats|export`: the command-line front of the corpus
 * index (corpora/corpus.h). Argument parsing and printing only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "corpus.h"

static const char options[] =
    "  --db FILE          the index database (required)\n"
    "  --tokenizer NAME   index: also store tokens (remi, remi+; repeatable); export: which tokens\n"
    "  -j, --jobs N       index, analyze: worker threads (default: one per core)\n"
    "  --force            index: read every file again; analyze: analyze every row again\n"
    "  --split NAME       export: train, valid or test\n"
    "  --out DIR          export: the folder for the shard files\n"
    "  --limit N          search: at most N results (default 20)\n"
    "  --json             JSON output (index, analyze, search, query, stats)\n"
    "  -h, --help         show this help\n"
    "\nsubcommands:\n"
    "  index DIR...       add new and changed files under DIR, mark vanished ones\n"
    "  analyze            key, chords, cadences, statistics of every row not yet analyzed\n"
    "  search TEXT        full-text search over title, composer and path\n"
    "  query SQL          run read-only SQL and print the rows\n"
    "  stats              counts by format, status, split, key, meter; token totals\n"
    "  export             write training shards of one tokenizer and split\n";

typedef struct printer {
    int json;
    int header_done;
    int rows;
} printer;

static int print_row(void *ud, int n, const char *const *names, const char *const *vals)
{
    printer *p = ud;
    tx_buf b = TX_BUF_INIT;
    if (p->json) {
        tx_buf_putc(&b, '{');
        for (int i = 0; i < n; i++) {
            if (i)
                tx_buf_puts(&b, ", ");
            tx_buf_json_string(&b, names[i]);
            tx_buf_puts(&b, ": ");
            if (vals[i])
                tx_buf_json_string(&b, vals[i]);
            else
                tx_buf_puts(&b, "null");
        }
        tx_buf_puts(&b, "}\n");
    } else {
        if (!p->header_done) {
            for (int i = 0; i < n; i++)
                tx_buf_printf(&b, "%s%s", i ? "\t" : "", names[i]);
            tx_buf_putc(&b, '\n');
            p->header_done = 1;
        }
        for (int i = 0; i < n; i++)
            tx_buf_printf(&b, "%s%s", i ? "\t" : "", vals[i] ? vals[i] : "");
        tx_buf_putc(&b, '\n');
    }
    if (b.data)
        fwrite(b.data, 1, b.len, stdout);
    tx_buf_free(&b);
    p->rows++;
    return ferror(stdout) ? 1 : 0;
}

int cmd_corpus(int argc, char **argv)
{
    enum { O_DB = 256, O_TOK, O_FORCE, O_SPLIT, O_OUT, O_LIMIT, O_JSON };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, O_DB},
        {"tokenizer", required_argument, NULL, O_TOK},
        {"jobs", required_argument, NULL, 'j'},
        {"force", no_argument, NULL, O_FORCE},
        {"split", required_argument, NULL, O_SPLIT},
        {"out", required_argument, NULL, O_OUT},
        {"limit", required_argument, NULL, O_LIMIT},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *split = NULL, *out = NULL;
    const char *toks[16];
    size_t n_toks = 0;
    int jobs = 0, force = 0, json = 0, limit = 20, c;
    while ((c = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DB: db = optarg; break;
        case O_TOK:
            if (n_toks == sizeof toks / sizeof *toks)
                return cli_usage_error("corpus", "too many --tokenizer options");
            toks[n_toks++] = optarg;
            break;
        case 'j':
            jobs = atoi(optarg);
            if (jobs < 1)
                return cli_usage_error("corpus", "--jobs must be 1 or more");
            break;
        case O_FORCE: force = 1; break;
        case O_SPLIT: split = optarg; break;
        case O_OUT: out = optarg; break;
        case O_LIMIT: limit = atoi(optarg); break;
        case O_JSON: json = 1; break;
        case 'h': cli_usage(stdout, "corpus", options); return cli_flush_stdout();
        default: return cli_usage_error("corpus", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("corpus", "expected a subcommand: index, analyze, search, query, stats or export");
    const char *sub = argv[optind++];
    if (!db)
        return cli_usage_error("corpus", "--db FILE is required");
    int is_index = strcmp(sub, "index") == 0, is_analyze = strcmp(sub, "analyze") == 0;
    if (!is_index && !is_analyze && strcmp(sub, "search") && strcmp(sub, "query") && strcmp(sub, "stats") && strcmp(sub, "export"))
        return cli_usage_error("corpus", "'%s' is not a corpus subcommand", sub);
    for (size_t t = 0; t < n_toks; t++) {
        int known = 0;
        for (const char *const *k = tx_corpus_tokenizer_names(); *k; k++)
            known |= strcmp(*k, toks[t]) == 0;
        if (!known)
            return cli_usage_error("corpus", "unknown tokenizer '%s' (remi, remi+)", toks[t]);
    }
    if (is_index && optind >= argc)
        return cli_usage_error("corpus", "index needs at least one folder");
    if ((!strcmp(sub, "search") || !strcmp(sub, "query")) && argc - optind != 1)
        return cli_usage_error("corpus", "%s takes one argument", sub);
    if (!strcmp(sub, "export") && (n_toks != 1 || !split || !out))
        return cli_usage_error("corpus", "export needs --tokenizer NAME, --split NAME and --out DIR");
    if ((!strcmp(sub, "stats") || is_analyze) && optind != argc)
        return cli_usage_error("corpus", "%s takes no arguments", sub);

    tx_corpus *cp;
    tx_error err;
    /* only index and analyze write; query and search open the database read-only */
    int readonly = !is_index && !is_analyze;
    if (tx_corpus_open(db, is_index, readonly, &cp, &err)) {
        cli_error("%s", err.msg);
        return EXIT_INPUT;
    }
    int status = EXIT_OK;
    if (is_index) {
        tx_progress bar;
        tx_progress_start(&bar, stderr, "indexing", "files", 0);
        tx_corpus_index_opts o = {(const char *const *)argv + optind, (size_t)(argc - optind), toks, n_toks,
                                  jobs, force, tx_progress_update, &bar};
        tx_corpus_run run;
        int rc = tx_corpus_index(cp, &o, &run, &err);
        tx_progress_finish(&bar);
        if (rc) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        } else {
            double s = run.seconds > 0 ? run.seconds : 1e-9;
            if (json)
                printf("{\"seen\": %zu, \"unchanged\": %zu, \"indexed\": %zu, \"failed\": %zu, \"vanished\": %zu, "
                       "\"bytes\": %zu, \"notes\": %zu, \"tokens\": %zu, \"seconds\": %.3f, \"files_per_second\": %.0f}\n",
                       run.seen, run.unchanged, run.indexed, run.failed, run.vanished, run.bytes, run.notes,
                       run.tokens, run.seconds, run.seen / s);
            else
                printf("%zu files: %zu unchanged, %zu indexed (%zu failed), %zu vanished; %zu notes, %zu tokens; "
                       "%.2f s, %.0f files/s\n", run.seen, run.unchanged, run.indexed, run.failed, run.vanished,
                       run.notes, run.tokens, run.seconds, run.seen / s);
            /* files that failed are rows, not a failed run; exit 1 tells a script some input failed */
            if (run.failed)
                status = EXIT_INPUT;
        }
    } else if (is_analyze) {
        tx_progress bar;
        tx_progress_start(&bar, stderr, "analyzing", "files", 0);
        tx_corpus_analyze_opts o = {jobs, force, tx_progress_update, &bar};
        tx_corpus_analyze_run run;
        int rc = tx_corpus_analyze(cp, &o, &run, &err);
        tx_progress_finish(&bar);
        if (rc) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        } else {
            double s = run.seconds > 0 ? run.seconds : 1e-9;
            if (json)
                printf("{\"rows\": %zu, \"up_to_date\": %zu, \"analyzed\": %zu, \"failed\": %zu, \"stale\": %zu, "
                       "\"files\": %zu, \"notes\": %zu, \"seconds\": %.3f, \"files_per_second\": %.1f}\n",
                       run.rows, run.up_to_date, run.analyzed, run.failed, run.stale, run.files, run.notes,
                       run.seconds, run.files / s);
            else
                printf("%zu rows: %zu up to date, %zu analyzed (%zu failed), %zu stale; %zu files, %zu notes; "
                       "%.2f s, %.1f files/s\n", run.rows, run.up_to_date, run.analyzed, run.failed, run.stale,
                       run.files, run.notes, run.seconds, run.files / s);
            if (run.failed)
                status = EXIT_INPUT;
        }
    } else if (!strcmp(sub, "search") || !strcmp(sub, "query")) {
        printer p = {json, 0, 0};
        int rc = !strcmp(sub, "search") ? tx_corpus_search(cp, argv[optind], limit, print_row, &p, &err)
                                       : tx_corpus_query(cp, argv[optind], print_row, &p, &err);
        if (rc) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        }
    } else if (!strcmp(sub, "stats")) {
        tx_buf b = TX_BUF_INIT;
        if (tx_corpus_stats_json(cp, &b, &err)) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        } else {
            /* the JSON is the report; people get it one group per line */
            if (!json)
                for (size_t i = 0; i + 2 < b.len; i++)
                    if (b.data[i] == ',' && b.data[i + 1] == ' ' && b.data[i + 2] == '"' &&
                        (i + 3 < b.len && (strncmp(b.data + i + 3, "status", 6) == 0 || strncmp(b.data + i + 3, "format", 6) == 0 ||
                         strncmp(b.data + i + 3, "split", 5) == 0 || strncmp(b.data + i + 3, "duplicates", 10) == 0 ||
                         strncmp(b.data + i + 3, "key\"", 4) == 0 || strncmp(b.data + i + 3, "meter", 5) == 0 ||
                         strncmp(b.data + i + 3, "tokens", 6) == 0)))
                        b.data[i + 1] = '\n';
            printf("%s\n", b.data);
        }
        tx_buf_free(&b);
    } else {
        tx_corpus_export_result res;
        if (tx_corpus_export(cp, toks[0], split, out, &res, &err)) {
            cli_error("%s", err.msg);
            status = EXIT_INPUT;
        } else {
            printf("%s/%s-%s.bin: %zu documents, %zu tokens (%s)\n", out, toks[0], split, res.documents,
                   res.tokens, res.dtype);
        }
    }
    tx_corpus_close(cp);
    if (cli_flush_stdout())
        status = EXIT_INPUT;
    return status;
}
