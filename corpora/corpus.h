/* corpus.h: the corpus index: one SQLite database per corpus, a row per source file (or ABC tune) with
 * its content hash, status and error, musical metadata, split and tokens; incremental re-indexing,
 * incremental analysis (key, chords, statistics per row), full-text search, read-only SQL queries,
 * statistics, and export of training shards.
 *
 * The schema is documented in man/tactus-corpus.5 and created by tx_corpus_open(). Writes happen in
 * transactions (WAL mode), so a run killed at any point leaves a consistent database, and a re-run
 * finishes the work. Splits and duplicate flags are derived from hashes, so they are stable as the
 * corpus grows.
 *
 * Ownership: tx_corpus_open() returns a handle the caller closes with tx_corpus_close().
 */
#ifndef TX_CORPUS_H
#define TX_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"
#include "progress.h"

#define TX_CORPUS_SCHEMA_VERSION 1

typedef struct tx_corpus tx_corpus;

/* Opens (creating when `create` and absent) the database at path. A read-only handle refuses writes
 * at the SQLite level, so `corpus query` cannot change the index whatever SQL it is given. */
TX_API int tx_corpus_open(const char *path, int create, int readonly, tx_corpus **out, tx_error *err);
TX_API void tx_corpus_close(tx_corpus *c);

typedef struct tx_corpus_index_opts {
    const char *const *roots;      /* folders (or single files) to walk */
    size_t n_roots;
    const char *const *tokenizers; /* names (tx_corpus_tokenizer_names), may be empty */
    size_t n_tokenizers;
    int jobs;                      /* worker threads; 0: one per core */
    int force;                     /* re-read every file, changed or not */
    tx_progress_fn progress;       /* may be NULL */
    void *progress_ud;
} tx_corpus_index_opts;

typedef struct tx_corpus_run {
    size_t seen;                   /* files found under the roots */
    size_t unchanged;              /* skipped: same size and mtime, nothing missing */
    size_t indexed;                /* read and parsed (new or changed) */
    size_t failed;                 /* of those, how many are errors */
    size_t vanished;               /* rows whose file is gone, marked missing */
    size_t bytes, notes, tokens;   /* of the files read */
    double seconds;
} tx_corpus_run;

/* Walks the roots and brings the index up to date. A file that cannot be read or parsed becomes a
 * row with status "error" and its message: it never stops the run. */
TX_API int tx_corpus_index(tx_corpus *c, const tx_corpus_index_opts *o, tx_corpus_run *run, tx_error *err);

typedef struct tx_corpus_analyze_opts {
    int jobs;                      /* worker threads; 0: one per core */
    int force;                     /* analyze every ok row again, up to date or not */
    tx_progress_fn progress;       /* may be NULL; counts files */
    void *progress_ud;
} tx_corpus_analyze_opts;

typedef struct tx_corpus_analyze_run {
    size_t rows;                   /* ok rows in the index */
    size_t up_to_date;             /* skipped: analysis made from the row's content hash */
    size_t analyzed;               /* analysis rows written */
    size_t failed;                 /* of those, how many are errors (the score would not read again) */
    size_t stale;                  /* skipped: the file changed since it was indexed (re-run index) */
    size_t files, notes;           /* files read; notes analyzed (drums and grace notes left out) */
    double seconds;
} tx_corpus_analyze_run;

/* Analyzes (tx_analyze, default options) every ok row whose analysis is missing or was made from other
 * content than the row's hash: re-reads the file (the tune at the row's place for ABC) on worker
 * threads, and writes the analysis table and the files.key column (the estimated key; the signature's
 * key stays in files.key_signature) in batched transactions, in path order. Like tx_corpus_index, a
 * run killed at any point leaves a consistent database and a re-run finishes the work. A row that
 * cannot be analyzed gets an analysis row with status "error" and its message. */
TX_API int tx_corpus_analyze(tx_corpus *c, const tx_corpus_analyze_opts *o, tx_corpus_analyze_run *run,
                             tx_error *err);

/* The tokenizer names the index knows ("remi", "remi+"), NULL-terminated. */
TX_API const char *const *tx_corpus_tokenizer_names(void);

/* Runs SQL and calls row() for every result row (column names and values as text, NULL for SQL NULL).
 * Several statements may be given; row() returning non-zero stops. */
typedef int (*tx_corpus_row_fn)(void *ud, int ncol, const char *const *names, const char *const *values);
TX_API int tx_corpus_query(tx_corpus *c, const char *sql, tx_corpus_row_fn row, void *ud, tx_error *err);

/* Full-text search over title, composer and path (FTS5 query syntax; plain words match words). Rows
 * are path, tune, title, composer, best match first. */
TX_API int tx_corpus_search(tx_corpus *c, const char *text, int limit, tx_corpus_row_fn row, void *ud,
                            tx_error *err);

/* Appends statistics as one JSON object: counts by format, status, split, key and meter, duplicates,
 * notes, and token totals per tokenizer. */
TX_API int tx_corpus_stats_json(tx_corpus *c, tx_buf *out, tx_error *err);

typedef struct tx_corpus_export_result {
    size_t documents, tokens;
    char dtype[8];                 /* "uint16" or "uint32" */
} tx_corpus_export_result;

/* Writes the tokens of one tokenizer and split as a shard: OUTDIR/<tokenizer>-<split>.bin (flat
 * little-endian ids, documents back to back) and OUTDIR/<tokenizer>-<split>.json (tokenizer, its
 * configuration, vocabulary size, dtype, token and document counts, document offsets). Streams rows:
 * memory stays flat however large the corpus. Both files appear atomically. Exact and musical
 * duplicates are left out (their first copy is kept). OUTDIR is made when missing (not its parents). */
TX_API int tx_corpus_export(tx_corpus *c, const char *tokenizer, const char *split, const char *outdir,
                            tx_corpus_export_result *res, tx_error *err);

/* The split a music hash falls in: "train" (90%), "valid" (5%) or "test" (5%). */
TX_API const char *tx_corpus_split_of(uint64_t music_hash);

#endif
