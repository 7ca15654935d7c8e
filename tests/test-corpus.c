/* test-corpus.c: the corpus index: rows and metadata, error rows, exact and musical duplicates,
 * splits, incremental re-runs (unchanged, touched, changed, vanished, a new tokenizer), read-only
 * queries, search, statistics, shard export, and interruption by SIGKILL at many points: a re-run
 * must end with the same database as an uninterrupted run, and integrity_check must say ok. The same
 * for `corpus analyze`: an analysis row per ok row, incremental re-runs, old databases upgraded, and
 * SIGKILL mid-run. */
#include "harness.h"
#include "tactus.h"
#include "corpus.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[256];

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s/%s", root, dir, name);
}

static int copy_file(const char *from, const char *to)
{
    uint8_t *d;
    size_t len;
    tx_error err;
    if (tx_read_file(from, 1 << 26, &d, &len, &err))
        return -1;
    int rc = tx_write_file_atomic(to, d, len, &err);
    tx_free(d);
    return rc;
}

static void rm_rf(const char *p)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", p);
}

/* One query's rows joined into text: "a|b\nc|d\n" */
typedef struct dump {
    tx_buf b;
} dump;

static int dump_row(void *ud, int n, const char *const *names, const char *const *vals)
{
    (void)names;
    dump *d = ud;
    for (int i = 0; i < n; i++)
        tx_buf_printf(&d->b, "%s%s", i ? "|" : "", vals[i] ? vals[i] : "NULL");
    tx_buf_putc(&d->b, '\n');
    return 0;
}

static char *query(tx_corpus *c, const char *sql)
{
    dump d = {TX_BUF_INIT};
    tx_error err;
    if (tx_corpus_query(c, sql, dump_row, &d, &err)) {
        fprintf(stderr, "query failed: %s\n", err.msg);
        tx_buf_free(&d.b);
        return tx_strdup("(failed)");
    }
    return d.b.data ? d.b.data : tx_strdup("");
}

static int check_query(tx_corpus *c, const char *sql, const char *want, int line)
{
    char *got = query(c, sql);
    int ok = strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "line %d: %s\n  got:\n%s  expected:\n%s", line, sql, got, want);
    tx_free(got);
    return ok;
}
#define CHECK_QUERY(c, sql, want) CHECK(check_query(c, sql, want, __LINE__))

static int run_index(const char *db, const char *dir, const char *const *toks, size_t n_toks, tx_corpus_run *run)
{
    tx_corpus *c;
    tx_error err;
    if (tx_corpus_open(db, 1, 0, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    const char *roots[] = {dir};
    tx_corpus_index_opts o = {roots, 1, toks, n_toks, 2, 0, NULL, NULL};
    int rc = tx_corpus_index(c, &o, run, &err);
    if (rc)
        fprintf(stderr, "index: %s\n", err.msg);
    tx_corpus_close(c);
    return rc;
}

/* A score with the same notes as `from` at twice the resolution: a musical, not exact, duplicate. */
static int write_resampled(const char *from, const char *to)
{
    tx_score *s;
    tx_error err;
    if (tx_midi_read_file(from, &s, NULL, &err))
        return -1;
    int rc = tx_score_resample(s, s->tpq * 2);
    if (!rc)
        rc = tx_midi_write_file(s, to, &err);
    tx_score_free(s);
    return rc;
}

static void make_corpus(const char *dir)
{
    char d[4400], p[4400], src[4400];
    snprintf(d, sizeof d, "%s/%s", root, dir);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/sub", d);
    mkdir(p, 0755);
    for (int i = 1; i <= 4; i++) {
        snprintf(src, sizeof src, "%s/corpora/sample/pop909-00%d.mid", TX_SOURCE_ROOT, i);
        snprintf(p, sizeof p, "%s/%s%d.mid", d, i % 2 ? "" : "sub/", i);
        CHECK_INT(copy_file(src, p), 0);
    }
    snprintf(src, sizeof src, "%s/corpora/sample/pop909-001.mid", TX_SOURCE_ROOT);
    snprintf(p, sizeof p, "%s/z-exact-copy.mid", d);
    CHECK_INT(copy_file(src, p), 0);
    snprintf(p, sizeof p, "%s/z-resampled.mid", d);
    CHECK_INT(write_resampled(src, p), 0);
    snprintf(p, sizeof p, "%s/bad.mid", d);
    CHECK_INT(tx_write_file_atomic(p, "MThd\0\0\0\6\0\1\0\1\1\340MTrk\0\0\0\100\0\220", 24, NULL), 0);
    /* ABC: one row per tune, numbered by place (two tunes share X:1), one tune with an error */
    snprintf(p, sizeof p, "%s/tunes.abc", d);
    const char *abc = "X:1\nT:First\nM:4/4\nL:1/8\nK:G\nGABc d2 B2|]\n\nX:1\nT:Second\nK:D\nDEFG A4|]\n\n"
                      "X:3\nT:Broken\nK:C\n[CEG2 c4|]\n";
    CHECK_INT(tx_write_file_atomic(p, abc, strlen(abc), NULL), 0);
    snprintf(p, sizeof p, "%s/notes.txt", d);   /* not indexed: no MIDI or ABC extension */
    CHECK_INT(tx_write_file_atomic(p, "hello", 5, NULL), 0);
}

static void test_index(void)
{
    char db[4400], dir[4400], p[4400];
    snprintf(db, sizeof db, "%s/a.db", root);
    snprintf(dir, sizeof dir, "%s/a", root);
    make_corpus("a");
    const char *remi[] = {"remi"};
    tx_corpus_run run;
    CHECK_INT(run_index(db, dir, remi, 1, &run), 0);
    CHECK_INT(run.seen, 8);
    CHECK_INT(run.indexed, 8);
    CHECK_INT(run.failed, 2);
    CHECK(run.tokens > 1000);
    tx_corpus *c;
    tx_error err;
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    /* paths relative to the root, in order; the error row keeps its message */
    size_t n = strlen(dir) + 2;
    char sql[4400];
    snprintf(sql, sizeof sql, "SELECT substr(path, %zu), tune, x, format, status, title, tracks, notes, "
             "duplicate, substr(duplicate_of, %zu) FROM files ORDER BY path, tune", n, n);
    CHECK_QUERY(c, sql,
                "1.mid|0|NULL|midi|ok|NULL|3|1556|NULL|NULL\n"
                "3.mid|0|NULL|midi|ok|NULL|3|1887|NULL|NULL\n"
                "bad.mid|0|NULL|midi|error|NULL|NULL|NULL|NULL|NULL\n"
                "sub/2.mid|0|NULL|midi|ok|NULL|3|1408|NULL|NULL\n"
                "sub/4.mid|0|NULL|midi|ok|NULL|3|985|NULL|NULL\n"
                "tunes.abc|1|1|abc|ok|First|1|6|NULL|NULL\n"
                "tunes.abc|2|1|abc|ok|Second|1|5|NULL|NULL\n"
                "tunes.abc|3|3|abc|error|NULL|NULL|NULL|NULL|NULL\n"
                "z-exact-copy.mid|0|NULL|midi|ok|NULL|3|1556|exact|1.mid\n"
                "z-resampled.mid|0|NULL|midi|ok|NULL|3|1556|musical|1.mid\n");
    char *e = query(c, "SELECT error FROM files WHERE status = 'error' ORDER BY path");
    CHECK(strstr(e, "bad.mid: track 0, byte ") != NULL);
    CHECK(strstr(e, "tunes.abc:16:") != NULL);   /* ABC errors carry line and column */
    tx_free(e);
    /* every copy of a piece is in one split */
    CHECK_QUERY(c, "SELECT count(DISTINCT split) FROM files WHERE music_hash = "
                   "(SELECT music_hash FROM files WHERE path LIKE '%/1.mid')", "1\n");
    CHECK_QUERY(c, "SELECT count(DISTINCT music_hash), count(DISTINCT hash) FROM files WHERE notes = 1556", "1|2\n");
    /* tokens: 3 sequences (one per track) for each ok file, counts match blob sizes */
    CHECK_QUERY(c, "SELECT count(*), sum(length(ids) = 2 * count) FROM tokens", "20|20\n");
    CHECK_QUERY(c, "SELECT name, vocab_size, dtype FROM tokenizers", "remi|284|uint16\n");
    /* a read-only handle refuses writes, whatever the SQL */
    CHECK(tx_corpus_query(c, "DELETE FROM files", NULL, NULL, &err) == TX_EDB);
    CHECK(strstr(err.msg, "readonly") != NULL);
    /* search over path words */
    dump d = {TX_BUF_INIT};
    CHECK_INT(tx_corpus_search(c, "resampled", 10, dump_row, &d, &err), 0);
    CHECK(d.b.data && strstr(d.b.data, "z-resampled.mid|0|") != NULL);
    tx_buf_free(&d.b);
    CHECK_INT(tx_corpus_search(c, "\"unbalanced", 10, dump_row, &d, &err), TX_ESYNTAX);
    tx_buf st = TX_BUF_INIT;
    CHECK_INT(tx_corpus_stats_json(c, &st, &err), 0);
    tx_arena a = TX_ARENA_INIT;
    tx_json *j;
    CHECK_INT(tx_json_parse(st.data, st.len, "stats", &a, &j, &err), 0);
    CHECK_INT(tx_json_get_int(j, "files", 0), 10);
    CHECK_INT(tx_json_get_int(tx_json_get(j, "status"), "error", 0), 2);
    CHECK_INT(tx_json_get_int(tx_json_get(j, "duplicates"), "musical", 0), 1);
    tx_arena_free(&a);
    tx_buf_free(&st);

    /* export: train shard of remi; duplicates left out; offsets add up */
    tx_corpus_export_result res;
    CHECK_INT(tx_corpus_export(c, "remi", "train", root, &res, &err), 0);
    tx_corpus_export_result r2;
    CHECK_INT(tx_corpus_export(c, "remi", "valid", root, &r2, &err), 0);
    tx_corpus_export_result r3;
    CHECK_INT(tx_corpus_export(c, "remi", "test", root, &r3, &err), 0);
    CHECK_INT(res.documents + r2.documents + r3.documents, 14);   /* 4 pieces x 3 tracks, 2 tunes */
    char *total = query(c, "SELECT sum(t.count) FROM tokens t JOIN files f ON f.id = t.file_id WHERE f.duplicate IS NULL");
    CHECK_INT(strtoll(total, NULL, 10), (long long)(res.tokens + r2.tokens + r3.tokens));
    tx_free(total);
    path_in(p, sizeof p, ".", "remi-train.bin");
    struct stat sb;
    CHECK_INT(stat(p, &sb), 0);
    CHECK_INT(sb.st_size, (long long)res.tokens * 2);
    path_in(p, sizeof p, ".", "remi-train.json");
    uint8_t *text;
    size_t len;
    CHECK_INT(tx_read_file(p, 1 << 24, &text, &len, &err), 0);
    CHECK_INT(tx_json_parse((char *)text, len, p, &a, &j, &err), 0);
    CHECK_INT(tx_json_get_int(j, "vocab_size", 0), 284);
    CHECK_STR(tx_json_get_str(j, "dtype", ""), "uint16");
    const tx_json *docs = tx_json_get(j, "documents");
    CHECK(docs && docs->len == res.documents);
    uint64_t off = 0;
    int offsets_ok = 1;
    for (size_t i = 0; docs && i < docs->len; i++) {
        if (docs->items[i]->len != 5 || docs->items[i]->items[0]->integer != (int64_t)off)
            offsets_ok = 0;
        else
            off += (uint64_t)docs->items[i]->items[1]->integer;
    }
    CHECK(offsets_ok && off == res.tokens);
    tx_free(text);
    tx_arena_free(&a);
    CHECK_INT(tx_corpus_export(c, "remi+", "train", root, &res, &err), TX_EINVAL);
    CHECK_INT(tx_corpus_export(c, "remi", "nope", root, &res, &err), TX_EINVAL);
    tx_corpus_close(c);

    /* incremental: nothing changed */
    CHECK_INT(run_index(db, dir, remi, 1, &run), 0);
    CHECK_INT(run.unchanged, 8);
    CHECK_INT(run.indexed, 0);
    /* touched (same bytes, new mtime), changed, removed, added */
    snprintf(p, sizeof p, "%s/3.mid", dir);
    struct timespec ts[2] = {{0, UTIME_NOW}, {1000000000, 0}};
    CHECK_INT(utimensat(AT_FDCWD, p, ts, 0), 0);
    snprintf(p, sizeof p, "%s/sub/4.mid", dir);
    char src[4400];
    snprintf(src, sizeof src, "%s/corpora/sample/pop909-005.mid", TX_SOURCE_ROOT);
    CHECK_INT(copy_file(src, p), 0);
    snprintf(p, sizeof p, "%s/sub/2.mid", dir);
    CHECK_INT(unlink(p), 0);
    CHECK_INT(run_index(db, dir, remi, 1, &run), 0);
    CHECK_INT(run.seen, 7);
    CHECK_INT(run.unchanged, 5);
    CHECK_INT(run.indexed, 2);
    CHECK_INT(run.vanished, 1);
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    snprintf(sql, sizeof sql, "SELECT substr(path, %zu), status, notes FROM files "
             "WHERE path LIKE '%%/sub/%%' OR path LIKE '%%/3.mid' ORDER BY path", n);
    CHECK_QUERY(c, sql, "3.mid|ok|1887\nsub/2.mid|missing|1408\nsub/4.mid|ok|1524\n");
    CHECK_QUERY(c, "SELECT mtime_ns FROM files WHERE path LIKE '%/3.mid'", "1000000000000000000\n");
    tx_corpus_close(c);
    /* a new tokenizer: every ok file is tokenized again, no file counts as unchanged */
    const char *both[] = {"remi", "remi+"};
    CHECK_INT(run_index(db, dir, both, 2, &run), 0);
    CHECK_INT(run.unchanged, 1);   /* the error row has nothing to tokenize */
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    CHECK_QUERY(c, "SELECT tokenized, count(*) FROM files WHERE status = 'ok' GROUP BY 1", "remi,remi+|7\n");
    /* the vanished file keeps its row and tokens (marked missing; export leaves it out) */
    CHECK_QUERY(c, "SELECT tokenizer, count(*) FROM tokens GROUP BY 1", "remi|20\nremi+|7\n");
    CHECK_QUERY(c, "PRAGMA integrity_check", "ok\n");
    tx_corpus_close(c);
    /* a tune removed from an ABC file: the rows after it move up, the last place is marked missing */
    snprintf(p, sizeof p, "%s/tunes.abc", dir);
    const char *fewer = "X:1\nT:First\nM:4/4\nL:1/8\nK:G\nGABc d2 B2|]\n\nX:3\nT:Broken\nK:C\n[CEG2 c4|]\n";
    CHECK_INT(tx_write_file_atomic(p, fewer, strlen(fewer), NULL), 0);
    CHECK_INT(run_index(db, dir, both, 2, &run), 0);
    CHECK_INT(run.indexed, 1);
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    CHECK_QUERY(c, "SELECT tune, x, status FROM files WHERE path LIKE '%/tunes.abc' ORDER BY tune",
                "1|1|ok\n2|3|error\n3|3|missing\n");
    tx_corpus_close(c);
    /* opening something that is not an index fails before writing */
    snprintf(p, sizeof p, "%s/a/notes.txt", root);
    CHECK(tx_corpus_open(p, 0, 0, &c, &err) == TX_EDB);
}

/* Dump of everything a run decides (ids included), for comparing databases. */
static char *dump_db(const char *db)
{
    tx_corpus *c;
    tx_error err;
    if (tx_corpus_open(db, 0, 1, &c, &err))
        return tx_strdup("(cannot open)");
    tx_buf b = TX_BUF_INIT;
    static const char *const sqls[] = {
        "SELECT id, path, tune, format, size, mtime_ns, hash, music_hash, status, error, title, key, meter, "
        "tempo, notes, tracks, programs, pitch_min, pitch_max, split, duplicate, duplicate_of, tokenized FROM files ORDER BY id",
        "SELECT file_id, tokenizer, seq, count, hex(ids) FROM tokens ORDER BY 1, 2, 3",
        "SELECT * FROM tokenizers ORDER BY name",
        "SELECT rowid, path FROM files_fts WHERE files_fts MATCH 'mid' ORDER BY rowid",
        "PRAGMA integrity_check",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof *sqls; i++) {
        char *q = query(c, sqls[i]);
        tx_buf_puts(&b, q);
        tx_free(q);
    }
    tx_corpus_close(c);
    return b.data;
}

static void test_kill9(void)
{
    /* a corpus large enough that a run takes a while: every POP909 file of 001..060 when the shared
     * corpora are there, else copies of the sample */
    char dir[4400], db[4400], ref[4400], p[4400];
    snprintf(dir, sizeof dir, "%s/k", root);
    mkdir(dir, 0755);
    const char *corp = tx_test_corpora();
    for (int i = 1; i <= 60; i++) {
        char src[4400];
        if (corp)
            snprintf(src, sizeof src, "%s/pop909/POP909/%03d/%03d.mid", corp, i, i);
        else
            snprintf(src, sizeof src, "%s/corpora/sample/pop909-00%d.mid", TX_SOURCE_ROOT, 1 + i % 6);
        snprintf(p, sizeof p, "%s/%03d.mid", dir, i);
        CHECK_INT(copy_file(src, p), 0);
    }
    snprintf(p, sizeof p, "%s/bad.mid", dir);
    tx_write_file_atomic(p, "MThd", 4, NULL);
    const char *toks[] = {"remi", "remi+"};
    tx_corpus_run run;
    snprintf(ref, sizeof ref, "%s/ref.db", root);
    CHECK_INT(run_index(ref, dir, toks, 2, &run), 0);
    char *want = dump_db(ref);
    CHECK(strstr(want, "\nok\n") != NULL);
    /* kill a run after various delays (and again while it re-runs), then finish it */
    setenv("TACTUS_CORPUS_BATCH", "1", 1);
    int kills = 0;
    for (int round = 0; round < 8; round++) {
        snprintf(db, sizeof db, "%s/k%d.db", root, round);
        for (int attempt = 0; attempt < 3; attempt++) {
            pid_t pid = fork();
            if (pid == 0) {
                tx_corpus_run r;
                _exit(run_index(db, dir, toks, 2, &r) ? 1 : 0);
            }
            struct timespec delay = {0, (long)(2000000 + 9000000 * round + 3000000 * attempt)};
            nanosleep(&delay, NULL);
            kill(pid, SIGKILL);
            int status;
            waitpid(pid, &status, 0);
            if (WIFSIGNALED(status))
                kills++;
        }
        unsetenv("TACTUS_CORPUS_BATCH");
        CHECK_INT(run_index(db, dir, toks, 2, &run), 0);
        setenv("TACTUS_CORPUS_BATCH", "1", 1);
        char *got = dump_db(db);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "round %d: the database differs from an uninterrupted run\n", round);
        CHECK(strcmp(got, want) == 0);
        tx_free(got);
    }
    unsetenv("TACTUS_CORPUS_BATCH");
    printf("# %d runs killed mid-way\n", kills);
    CHECK(kills > 0);
    tx_free(want);
}

static int run_analyze(const char *db, tx_corpus_analyze_run *run)
{
    tx_corpus *c;
    tx_error err;
    if (tx_corpus_open(db, 0, 0, &c, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    tx_corpus_analyze_opts o = {2, 0, NULL, NULL};
    int rc = tx_corpus_analyze(c, &o, run, &err);
    if (rc)
        fprintf(stderr, "analyze: %s\n", err.msg);
    tx_corpus_close(c);
    return rc;
}

static void test_analyze(void)
{
    char db[4400], dir[4400], p[4400], src[4400];
    snprintf(db, sizeof db, "%s/b.db", root);
    snprintf(dir, sizeof dir, "%s/b", root);
    make_corpus("b");
    tx_corpus_run run;
    CHECK_INT(run_index(db, dir, NULL, 0, &run), 0);
    tx_corpus_analyze_run ar;
    CHECK_INT(run_analyze(db, &ar), 0);
    CHECK_INT(ar.rows, 8);           /* the ok rows: 6 MIDI files and 2 ABC tunes */
    CHECK_INT(ar.analyzed, 8);
    CHECK_INT(ar.failed, 0);
    CHECK_INT(ar.stale, 0);
    CHECK_INT(ar.files, 7);          /* both tunes from one read of tunes.abc */
    tx_corpus *c;
    tx_error err;
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    /* every ok row has an ok analysis made from its content; error rows have none */
    CHECK_QUERY(c, "SELECT f.status, count(a.file_id), sum(a.hash = f.hash), sum(a.status = 'ok') FROM files f"
                   " LEFT JOIN analysis a ON a.file_id = f.id GROUP BY 1 ORDER BY 1", "error|0|NULL|NULL\nok|8|8|8\n");
    /* files.key holds the estimate, the same as the table's and the JSON's; the signature is kept */
    CHECK_QUERY(c, "SELECT count(*), sum(f.key = a.key), sum(a.key = a.tonic || ' ' || a.mode),"
                   " sum(json_extract(a.json, '$.key.tonic') = a.tonic), sum(json_extract(a.json, '$.key.mode') = a.mode),"
                   " sum(a.profile = 'ensemble'), sum(a.correlation > 0.5 AND a.correlation <= 1) FROM files f"
                   " JOIN analysis a ON a.file_id = f.id", "8|8|8|8|8|8|8\n");
    CHECK_QUERY(c, "SELECT f.tune, f.key_signature, a.key FROM files f JOIN analysis a ON a.file_id = f.id"
                   " WHERE f.format = 'abc' ORDER BY f.tune", "1|G major|G major\n2|D major|D major\n");
    /* most of the MIDI files have no key signature (NULL); the estimate fills key all the same */
    CHECK_QUERY(c, "SELECT count(*), sum(key IS NOT NULL), sum(key_signature IS NULL) FROM files"
                   " WHERE format = 'midi' AND status = 'ok'", "6|6|5\n");
    /* the exact copy and the resampled copy get the same key and correlation as the original (the JSON
     * differs: it has ticks) */
    CHECK_QUERY(c, "SELECT count(DISTINCT a.key), count(DISTINCT round(a.correlation, 9)), count(DISTINCT a.json)"
                   " FROM files f JOIN analysis a ON a.file_id = f.id WHERE f.notes = 1556", "1|1|2\n");
    tx_corpus_close(c);
    /* a re-run does nothing */
    CHECK_INT(run_analyze(db, &ar), 0);
    CHECK_INT(ar.up_to_date, 8);
    CHECK_INT(ar.analyzed, 0);
    CHECK_INT(ar.files, 0);
    /* a changed file is re-indexed, then re-analyzed, alone */
    snprintf(p, sizeof p, "%s/sub/4.mid", dir);
    snprintf(src, sizeof src, "%s/corpora/sample/pop909-005.mid", TX_SOURCE_ROOT);
    CHECK_INT(copy_file(src, p), 0);
    /* analyzing before the index knows is a no-op for it: the row's hash still names the old bytes */
    CHECK_INT(run_analyze(db, &ar), 0);
    CHECK_INT(ar.analyzed, 0);
    CHECK_INT(run_index(db, dir, NULL, 0, &run), 0);
    CHECK_INT(run.indexed, 1);
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    CHECK_QUERY(c, "SELECT count(*) FROM files f JOIN analysis a ON a.file_id = f.id WHERE a.hash != f.hash"
                   " AND f.key IS f.key_signature", "1\n");   /* stale: key falls back to the signature */
    tx_corpus_close(c);
    CHECK_INT(run_analyze(db, &ar), 0);
    CHECK_INT(ar.analyzed, 1);
    CHECK_INT(ar.up_to_date, 7);
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    CHECK_QUERY(c, "SELECT count(*), sum(a.hash = f.hash), sum(f.key = a.key) FROM files f JOIN analysis a"
                   " ON a.file_id = f.id WHERE f.status = 'ok'", "8|8|8\n");
    char *before = query(c, "SELECT id, key, key_signature FROM files ORDER BY id");
    tx_corpus_close(c);
    /* re-indexing every file (same bytes) keeps the estimates in files.key */
    CHECK_INT(tx_corpus_open(db, 0, 0, &c, &err), 0);
    const char *roots[] = {dir};
    tx_corpus_index_opts io = {roots, 1, NULL, 0, 2, 1, NULL, NULL};
    CHECK_INT(tx_corpus_index(c, &io, &run, &err), 0);
    CHECK_INT(run.indexed, 8);
    char *after = query(c, "SELECT id, key, key_signature FROM files ORDER BY id");
    CHECK_STR(after, before);
    tx_free(after);
    /* an index from before key_signature existed: the column is added on opening, filled from key */
    CHECK_INT(tx_corpus_query(c, "DELETE FROM analysis; UPDATE files SET key = key_signature;"
                              " ALTER TABLE files DROP COLUMN key_signature", NULL, NULL, &err), 0);
    tx_corpus_close(c);
    CHECK_INT(tx_corpus_open(db, 0, 0, &c, &err), 0);
    CHECK_QUERY(c, "SELECT count(*), sum(key IS key_signature) FROM files", "10|10\n");
    tx_corpus_close(c);
    CHECK_INT(run_analyze(db, &ar), 0);
    CHECK_INT(ar.analyzed, 8);
    CHECK_INT(tx_corpus_open(db, 0, 1, &c, &err), 0);
    after = query(c, "SELECT id, key, key_signature FROM files ORDER BY id");
    CHECK_STR(after, before);
    tx_free(after);
    tx_free(before);
    tx_corpus_close(c);
}

/* Dump of what an analysis run decides, for comparing databases. */
static char *dump_analysis(const char *db)
{
    tx_corpus *c;
    tx_error err;
    if (tx_corpus_open(db, 0, 1, &c, &err))
        return tx_strdup("(cannot open)");
    tx_buf b = TX_BUF_INIT;
    static const char *const sqls[] = {
        "SELECT file_id, hash, status, error, key, tonic, mode, profile, correlation, json, analyzer"
        " FROM analysis ORDER BY file_id",
        "SELECT id, key, key_signature FROM files ORDER BY id",
        "PRAGMA integrity_check",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof *sqls; i++) {
        char *q = query(c, sqls[i]);
        tx_buf_puts(&b, q);
        tx_free(q);
    }
    tx_corpus_close(c);
    return b.data;
}

/* Analysis rows committed so far (-1 when the database cannot be read). */
static long analysis_rows(const char *db)
{
    tx_corpus *c;
    tx_error err;
    if (tx_corpus_open(db, 0, 1, &c, &err))
        return -1;
    char *n = query(c, "SELECT count(*) FROM analysis");
    long done = strtol(n, NULL, 10);
    tx_free(n);
    tx_corpus_close(c);
    return done;
}

static void test_analyze_kill9(void)
{
    /* 24 sample pieces; each round indexes them, kills analysis runs part-way, then finishes */
    char dir[4400], db[4400], ref[4400], p[4400], src[4400];
    snprintf(dir, sizeof dir, "%s/ka", root);
    mkdir(dir, 0755);
    for (int i = 1; i <= 24; i++) {
        snprintf(src, sizeof src, "%s/corpora/sample/pop909-%03d.mid", TX_SOURCE_ROOT, 1 + (i - 1) % 8);
        snprintf(p, sizeof p, "%s/%03d.mid", dir, i);
        CHECK_INT(copy_file(src, p), 0);
    }
    tx_corpus_run run;
    tx_corpus_analyze_run ar;
    snprintf(ref, sizeof ref, "%s/ka-ref.db", root);
    CHECK_INT(run_index(ref, dir, NULL, 0, &run), 0);
    CHECK_INT(run_analyze(ref, &ar), 0);
    CHECK_INT(ar.analyzed, 24);
    char *want = dump_analysis(ref);
    CHECK(strstr(want, "\nok\n") != NULL);
    int kills = 0, partial = 0;
    for (int round = 0; round < 6; round++) {
        snprintf(db, sizeof db, "%s/ka%d.db", root, round);
        CHECK_INT(run_index(db, dir, NULL, 0, &run), 0);
        /* first kill once the run has committed some rows (so the round is cut part-way however fast
         * the machine is), then kill the resumed run after a short delay */
        setenv("TACTUS_CORPUS_BATCH", "1", 1);
        for (int attempt = 0; attempt < 2; attempt++) {
            pid_t pid = fork();
            if (pid == 0) {
                tx_corpus_analyze_run r;
                _exit(run_analyze(db, &r) ? 1 : 0);
            }
            long target = 1 + 3 * round, done = 0;
            for (int wait = 0; attempt == 0 && done < target && wait < 20000; wait++) {
                struct timespec tick = {0, 1000000};
                nanosleep(&tick, NULL);
                done = analysis_rows(db);
            }
            if (attempt == 1) {
                struct timespec delay = {0, (long)(2000000 + 4000000 * round)};
                nanosleep(&delay, NULL);
            }
            kill(pid, SIGKILL);
            int status;
            waitpid(pid, &status, 0);
            if (WIFSIGNALED(status))
                kills++;
            if (attempt == 0) {
                done = analysis_rows(db);
                partial += done > 0 && done < 24;
            }
        }
        unsetenv("TACTUS_CORPUS_BATCH");
        CHECK_INT(run_analyze(db, &ar), 0);
        CHECK(ar.analyzed + ar.up_to_date == 24);
        char *got = dump_analysis(db);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "round %d: the analysis differs from an uninterrupted run\n", round);
        CHECK(strcmp(got, want) == 0);
        tx_free(got);
    }
    printf("# %d analysis runs killed, %d rounds left part of the table\n", kills, partial);
    CHECK(kills > 0);
    CHECK(partial >= 3);
    tx_free(want);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/tactus-corpus-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_index);
    RUN(test_kill9);
    RUN(test_analyze);
    RUN(test_analyze_kill9);
    rm_rf(root);
    return tx_test_finish();
}
