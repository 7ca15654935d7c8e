/* corpus.c: the SQLite corpus index: schema, the incremental parallel indexer (worker threads parse
 * and tokenize, the calling thread is the only writer and writes in path order), duplicates and
 * splits, the analysis of every row (tx_analyze on worker threads, written the same way), search,
 * read-only queries, statistics, and streaming shard export.
 * Not a general database layer: every statement it runs is here. */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "hash.h"
#include "midi.h"
#include "paths.h"
#include "score.h"
#include "scoreio.h"
#include "tokenizers/remi.h"

struct tx_corpus {
    sqlite3 *db;
    char *path;
    int readonly;
};

/* ---- schema ---- */

/* Bump INDEXER_VERSION when what a row holds for the same file changes (a reader or tokenizer fix): a
 * re-run then reads every file again. */
#define INDEXER_VERSION "3"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS files(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  path TEXT NOT NULL,\n"
    "  tune INTEGER NOT NULL DEFAULT 0,\n"
    "  x INTEGER,\n"
    "  format TEXT NOT NULL,\n"
    "  size INTEGER NOT NULL,\n"
    "  mtime_ns INTEGER NOT NULL,\n"
    "  file_hash TEXT NOT NULL,\n"
    "  hash TEXT NOT NULL,\n"
    "  music_hash TEXT,\n"
    "  status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'missing')),\n"
    "  error TEXT,\n"
    "  title TEXT,\n"
    "  composer TEXT,\n"
    "  key TEXT,\n"
    "  meter TEXT,\n"
    "  tempo REAL,\n"
    "  ticks_per_quarter INTEGER,\n"
    "  duration_seconds REAL,\n"
    "  duration_bars INTEGER,\n"
    "  notes INTEGER,\n"
    "  tracks INTEGER,\n"
    "  programs TEXT,\n"
    "  pitch_min INTEGER,\n"
    "  pitch_max INTEGER,\n"
    "  split TEXT CHECK (split IN ('train', 'valid', 'test')),\n"
    "  duplicate TEXT CHECK (duplicate IN ('exact', 'musical')),\n"
    "  duplicate_of TEXT,\n"
    "  tokenized TEXT NOT NULL DEFAULT '',\n"
    "  indexer TEXT NOT NULL,\n"
    "  UNIQUE (path, tune));\n"
    "CREATE INDEX IF NOT EXISTS files_hash ON files(hash);\n"
    "CREATE INDEX IF NOT EXISTS files_music_hash ON files(music_hash);\n"
    "CREATE TABLE IF NOT EXISTS tokenizers(\n"
    "  name TEXT PRIMARY KEY,\n"
    "  vocab_size INTEGER NOT NULL,\n"
    "  dtype TEXT NOT NULL,\n"
    "  config TEXT NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS tokens(\n"
    "  file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
    "  tokenizer TEXT NOT NULL REFERENCES tokenizers(name),\n"
    "  seq INTEGER NOT NULL,\n"
    "  program INTEGER,\n"
    "  count INTEGER NOT NULL,\n"
    "  ids BLOB NOT NULL,\n"
    "  PRIMARY KEY (file_id, tokenizer, seq));\n"
    "CREATE TABLE IF NOT EXISTS analysis(\n"
    "  file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,\n"
    "  hash TEXT NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('ok', 'error')),\n"
    "  error TEXT,\n"
    "  key TEXT,\n"
    "  tonic TEXT,\n"
    "  mode TEXT,\n"
    "  profile TEXT,\n"
    "  correlation REAL,\n"
    "  json TEXT,\n"
    "  analyzer TEXT NOT NULL);\n"
    "CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5(title, composer, path, content='files',\n"
    "  content_rowid='id');\n"
    /* No triggers keep files_fts in step: each statement that touches an FTS5 table inside a
     * transaction makes FTS5 flush its pending terms at the statement's savepoint, which cost a
     * quarter of an indexing run. The index rebuilds the table once at the end of a run that
     * changed rows (tx_corpus_index). */
    "DROP TRIGGER IF EXISTS files_fts_insert;\n"
    "DROP TRIGGER IF EXISTS files_fts_delete;\n"
    "DROP TRIGGER IF EXISTS files_fts_update;\n";

static int db_error(tx_corpus *c, tx_error *err, const char *what)
{
    return tx_error_set(err, TX_EDB, "%s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
}

static int exec(tx_corpus *c, const char *sql, tx_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tx_error_set(err, TX_EDB, "%s: %s", c->path, msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        return TX_EDB;
    }
    return TX_OK;
}

/* files.key holds the analysis estimate once `corpus analyze` ran, and files.key_signature the first
 * key signature. Indexes made before that have no key_signature column: it is added here, filled from
 * key (which meant the signature then), inside the opening transaction. */
static int add_key_signature(tx_corpus *c, tx_error *err)
{
    sqlite3_stmt *st;
    int have = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM pragma_table_info('files') WHERE name = 'key_signature'",
                           -1, &st, NULL))
        return db_error(c, err, "preparing");
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (have)
        return TX_OK;
    return exec(c, "ALTER TABLE files ADD COLUMN key_signature TEXT; UPDATE files SET key_signature = key;", err);
}

int tx_corpus_open(const char *path, int create, int readonly, tx_corpus **out, tx_error *err)
{
    *out = NULL;
    tx_corpus *c = tx_calloc(1, sizeof *c);
    if (!c || !(c->path = tx_strdup(path))) {
        tx_free(c);
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    c->readonly = readonly;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = tx_error_set(err, TX_EDB, "%s: %s", path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
        tx_corpus_close(c);
        return rc;
    }
    sqlite3_busy_timeout(c->db, 10000);
    sqlite3_extended_result_codes(c->db, 1);
    int rc = TX_OK;
    if (!readonly) {
        rc = exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err);
        if (!rc)
            rc = exec(c, "BEGIN IMMEDIATE", err);
        if (!rc) {
            rc = exec(c, schema_sql, err);
            if (!rc)
                rc = exec(c, "INSERT OR IGNORE INTO meta VALUES ('schema_version', '1'), "
                             "('format', 'tactus corpus index')", err);
            if (!rc)
                rc = add_key_signature(c, err);
            rc = rc ? (exec(c, "ROLLBACK", NULL), rc) : exec(c, "COMMIT", err);
        }
    }
    if (!rc) {
        /* a database that is not a tactus index, or a newer schema, is refused before any write */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL)) {
            rc = tx_error_set(err, TX_EDB, "%s: not a tactus corpus index (%s)", path, sqlite3_errmsg(c->db));
        } else {
            if (sqlite3_step(st) != SQLITE_ROW)
                rc = tx_error_set(err, TX_EDB, "%s: not a tactus corpus index", path);
            else if (sqlite3_column_int(st, 0) != TX_CORPUS_SCHEMA_VERSION)
                rc = tx_error_set(err, TX_EDB, "%s: schema version %d, this tactus reads version %d", path,
                                  sqlite3_column_int(st, 0), TX_CORPUS_SCHEMA_VERSION);
            sqlite3_finalize(st);
        }
    }
    if (rc) {
        tx_corpus_close(c);
        return rc;
    }
    *out = c;
    return TX_OK;
}

void tx_corpus_close(tx_corpus *c)
{
    if (!c)
        return;
    sqlite3_close_v2(c->db);
    tx_free(c->path);
    tx_free(c);
}

/* ---- tokenizers ---- */

static const char *const tokenizer_names[] = {"remi", "remi+", NULL};

const char *const *tx_corpus_tokenizer_names(void)
{
    return tokenizer_names;
}

typedef struct tok {
    const char *name;
    tx_remi *remi;
    int vocab_size;
} tok;

static int tokenizer_make(const char *name, tok *t, tx_error *err)
{
    tx_remi_config cfg;
    if (strcmp(name, "remi") == 0)
        tx_remi_config_default(&cfg);
    else if (strcmp(name, "remi+") == 0)
        tx_remi_config_plus(&cfg);
    else
        return tx_error_set(err, TX_EINVAL, "unknown tokenizer '%s' (known: remi, remi+)", name);
    t->name = name;
    t->remi = tx_remi_new(&cfg, err);
    if (!t->remi)
        return err ? err->code : TX_ENOMEM;
    t->vocab_size = tx_remi_vocab_size(t->remi);
    return TX_OK;
}

/* ---- the walk ---- */

static int is_score_file(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) != TX_FORMAT_UNKNOWN;
}

/* ---- one file's work ---- */

typedef struct seqbuf {
    uint8_t *blob;         /* little-endian ids of the tokenizer's dtype */
    size_t bytes, count;
    int program;
} seqbuf;

/* One row: a MIDI file, or one tune of an ABC file. */
typedef struct entry {
    long tune;             /* 0 for MIDI; for ABC the tune's place in the file, from 1 */
    long x;                /* ABC: the tune's X: number (not unique in every file) */
    int ok;
    char hash[TX_SHA256_HEX_SIZE];   /* of the row's own bytes: the file, or the tune's text */
    char *error;
    char *title, *composer, *key, *meter, *programs;
    double tempo, seconds;
    int tpq, tracks, pitch_min, pitch_max;
    int64_t bars, notes;
    uint64_t music_hash;
    seqbuf *seqs;          /* per tokenizer: n_seqs[t] sequences, back to back */
    size_t *n_seqs, n_seqbufs;
} entry;

typedef struct item {
    const char *path;
    int format;
    int64_t size, mtime_ns;
    int indexed_before;    /* the path has rows that are not missing */
    char old_file_hash[TX_SHA256_HEX_SIZE];
    int old_complete;      /* its rows have everything this run asks for */
    /* results */
    int touch_only;        /* same bytes as indexed: only size and mtime are refreshed */
    char file_hash[TX_SHA256_HEX_SIZE];
    entry *rows;
    size_t n_rows;
    size_t notes, tokens, failed;
} item;

/* ---- an ordered parallel map ---- */

/* Worker threads call fn(ctx, i) for i = 0 .. n-1 in any order; the one writer takes the results in
 * order with omap_wait, so what it writes never depends on thread timing. Index and analyze share it. */
typedef struct omap {
    size_t n, next;          /* items, and the next one a worker takes */
    uint8_t *done;           /* n flags */
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t threads[64];
    int started;
} omap;

static void *omap_worker(void *arg)
{
    omap *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        size_t i = m->next < m->n ? m->next++ : m->n;
        pthread_mutex_unlock(&m->mu);
        if (i >= m->n)
            break;
        m->fn(m->ctx, i);
        pthread_mutex_lock(&m->mu);
        m->done[i] = 1;
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
    }
    return NULL;
}

/* Starts up to `jobs` workers (0: one per core; at most 64, and no more than items) over n items.
 * Returns TX_OK, or TX_ENOMEM when no worker could start (then nothing runs). */
static int omap_start(omap *m, size_t n, int jobs, void (*fn)(void *, size_t), void *ctx, tx_error *err)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->fn = fn;
    m->ctx = ctx;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    if (!(m->done = tx_calloc(n ? n : 1, 1)))
        return tx_error_set(err, TX_ENOMEM, "out of memory");
    if (jobs <= 0)
        jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    jobs = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs;
    for (int t = 0; t < jobs && (size_t)t < n; t++)
        if (pthread_create(&m->threads[m->started], NULL, omap_worker, m) == 0)
            m->started++;
    if (n && !m->started)
        return tx_error_set(err, TX_ENOMEM, "cannot start a worker thread");
    return TX_OK;
}

/* Waits until item i is done. */
static void omap_wait(omap *m, size_t i)
{
    pthread_mutex_lock(&m->mu);
    while (!m->done[i])
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

/* Lets the workers take no more items, waits for them, and frees the map. */
static void omap_finish(omap *m)
{
    pthread_mutex_lock(&m->mu);
    m->next = m->n;
    pthread_mutex_unlock(&m->mu);
    for (int t = 0; t < m->started; t++)
        pthread_join(m->threads[t], NULL);
    tx_free(m->done);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
}

/* What index's workers share: the items and the tokenizers. */
typedef struct job {
    item *items;
    tok *toks;
    size_t n_toks;
} job;

static char *dup_or_null(const char *s)
{
    return s && *s ? tx_strdup(s) : NULL;
}

static void row_clear(entry *r)
{
    tx_free(r->error);
    tx_free(r->title);
    tx_free(r->composer);
    tx_free(r->key);
    tx_free(r->meter);
    tx_free(r->programs);
    for (size_t k = 0; k < r->n_seqbufs; k++)
        tx_free(r->seqs[k].blob);
    tx_free(r->seqs);
    tx_free(r->n_seqs);
    memset(r, 0, sizeof *r);
}

static void item_clear(item *it)
{
    for (size_t i = 0; i < it->n_rows; i++)
        row_clear(&it->rows[i]);
    tx_free(it->rows);
    it->rows = NULL;
    it->n_rows = 0;
}

static entry *add_row(item *it, long tune, long x)
{
    entry *r = tx_realloc(it->rows, (it->n_rows + 1) * sizeof *r);
    if (!r)
        return NULL;
    it->rows = r;
    r = &it->rows[it->n_rows++];
    memset(r, 0, sizeof *r);
    r->tune = tune;
    r->x = x;
    return r;
}

static void describe(entry *rw, const tx_score *s)
{
    char buf[32];
    rw->title = dup_or_null(tx_score_meta(s, "title"));
    rw->composer = dup_or_null(tx_score_meta(s, "composer"));
    if (s->n_keysigs)
        rw->key = tx_strdup(tx_key_name(s->keysigs[0].fifths, s->keysigs[0].mode, buf));
    if (s->n_timesigs) {
        snprintf(buf, sizeof buf, "%d/%d", s->timesigs[0].num, s->timesigs[0].den);
        rw->meter = tx_strdup(buf);
    }
    rw->tempo = 6e7 / tx_score_tempo_at(s, 0);
    rw->seconds = tx_score_seconds(s, tx_score_end_tick(s));
    rw->bars = tx_score_bar_count(s);
    rw->notes = (int64_t)s->n_notes;
    rw->tpq = s->tpq;
    rw->tracks = (int)s->n_tracks;
    rw->pitch_min = 128;
    rw->pitch_max = -1;
    for (size_t i = 0; i < s->n_notes; i++) {
        if (s->notes[i].pitch < rw->pitch_min)
            rw->pitch_min = s->notes[i].pitch;
        if (s->notes[i].pitch > rw->pitch_max)
            rw->pitch_max = s->notes[i].pitch;
    }
    /* distinct programs in track order, drums as -1, as a JSON array */
    tx_buf p = TX_BUF_INIT;
    int seen[129] = {0};
    tx_buf_putc(&p, '[');
    for (size_t i = 0; i < s->n_tracks; i++) {
        int prog = s->tracks[i].is_drum ? -1 : s->tracks[i].program;
        if (seen[prog + 1]++)
            continue;
        tx_buf_printf(&p, "%s%d", p.len > 1 ? "," : "", prog);
    }
    tx_buf_putc(&p, ']');
    if (p.oom)
        tx_buf_free(&p);
    rw->programs = p.data;
    rw->music_hash = tx_score_music_hash(s);
}

static int tokenize(entry *rw, const tx_score *s, tok *toks, size_t n_toks, size_t *n_tokens, tx_error *err)
{
    rw->n_seqs = tx_calloc(n_toks ? n_toks : 1, sizeof *rw->n_seqs);
    if (!rw->n_seqs)
        return TX_ENOMEM;
    size_t cap = 0;
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    int rc = TX_OK;
    for (size_t t = 0; t < n_toks && !rc; t++) {
        if ((rc = tx_remi_encode(toks[t].remi, s, &q, err)))
            break;
        int wide = toks[t].vocab_size > 65536;
        for (size_t i = 0; i < q.n_seqs && !rc; i++) {
            if (tx_grow((void **)&rw->seqs, &cap, rw->n_seqbufs + 1, sizeof *rw->seqs)) {
                rc = TX_ENOMEM;
                break;
            }
            seqbuf *sb = &rw->seqs[rw->n_seqbufs];
            size_t n = q.starts[i + 1] - q.starts[i];
            sb->count = n;
            sb->program = q.programs ? q.programs[i] : 0;
            sb->bytes = n * (wide ? 4 : 2);
            sb->blob = tx_malloc(sb->bytes);
            if (!sb->blob) {
                rc = TX_ENOMEM;
                break;
            }
            rw->n_seqbufs++;
            rw->n_seqs[t]++;
            const int32_t *ids = q.ids + q.starts[i];
            for (size_t j = 0; j < n; j++) {
                uint32_t v = (uint32_t)ids[j];
                uint8_t *o = sb->blob + j * (wide ? 4 : 2);
                o[0] = (uint8_t)v;
                o[1] = (uint8_t)(v >> 8);
                if (wide) {
                    o[2] = (uint8_t)(v >> 16);
                    o[3] = (uint8_t)(v >> 24);
                }
            }
            *n_tokens += n;
        }
    }
    tx_remi_seqs_free(&q);
    return rc;
}

/* Fills a row from a parsed score (which it frees), or with the error. */
static void fill_row(item *it, entry *rw, tx_score *s, int rc, tx_error *err, tok *toks, size_t n_toks)
{
    if (rc == TX_OK) {
        describe(rw, s);
        size_t n_tokens = 0;
        rc = tokenize(rw, s, toks, n_toks, &n_tokens, err);
        if (rc == TX_ENOMEM)
            tx_error_set(err, TX_ENOMEM, "%s: out of memory", it->path);
        if (rc == TX_OK) {
            it->tokens += n_tokens;
            it->notes += (size_t)rw->notes;
        }
    }
    tx_score_free(s);
    if (rc) {
        long tune = rw->tune, x = rw->x;
        char hash[TX_SHA256_HEX_SIZE];
        memcpy(hash, rw->hash, sizeof hash);
        row_clear(rw);
        rw->tune = tune;
        rw->x = x;
        memcpy(rw->hash, hash, sizeof hash);
        rw->error = tx_strdup(err->msg[0] ? err->msg : tx_strerror(rc));
        it->failed++;
        return;
    }
    rw->ok = 1;
}

struct each_ctx {
    item *it;
    tok *toks;
    size_t n_toks;
    const uint8_t *data;
    size_t len;
};

/* One row per score the file holds (a MIDI file, or each tune of an ABC file). */
static int each_row(void *ud, tx_score_item *si)
{
    struct each_ctx *c = ud;
    entry *rw = add_row(c->it, si->index, si->format == TX_FORMAT_ABC ? si->number : -1);
    if (!rw)
        return TX_ENOMEM;
    if (si->bytes == c->data && si->n_bytes == c->len) {
        memcpy(rw->hash, c->it->file_hash, sizeof rw->hash);
    } else {
        uint8_t digest[TX_SHA256_SIZE];
        tx_sha256(si->bytes, si->n_bytes, digest);
        tx_sha256_hex(digest, rw->hash);
    }
    tx_error e = *si->error;
    fill_row(c->it, rw, si->score, si->status, &e, c->toks, c->n_toks);
    si->score = NULL;   /* fill_row freed it */
    return TX_OK;
}

static void process(item *it, tok *toks, size_t n_toks)
{
    uint8_t *data = NULL;
    size_t len = 0;
    tx_error err;
    tx_error_clear(&err);
    int rc = tx_read_file(it->path, TX_MIDI_MAX_FILE, &data, &len, &err);
    entry *rw;
    if (rc) {
        /* unreadable: one error row */
        if ((rw = add_row(it, 0, -1))) {
            rw->error = tx_strdup(err.msg);
            it->failed++;
        }
        return;
    }
    uint8_t digest[TX_SHA256_SIZE];
    tx_sha256(data, len, digest);
    tx_sha256_hex(digest, it->file_hash);
    it->size = (int64_t)len;
    if (it->old_complete && strcmp(it->file_hash, it->old_file_hash) == 0) {
        /* touched but not changed: the rows stay, with the new mtime */
        tx_free(data);
        it->touch_only = 1;
        return;
    }
    struct each_ctx ctx = {it, toks, n_toks, data, len};
    if (tx_score_read_each(data, len, it->path, each_row, &ctx) == TX_ENOMEM && (rw = add_row(it, 0, -1))) {
        rw->error = tx_strdup("out of memory");
        it->failed++;
    }
    tx_free(data);
}

static void process_one(void *ctx, size_t i)
{
    job *j = ctx;
    process(&j->items[i], j->toks, j->n_toks);
}

/* ---- writing ---- */

typedef struct writer {
    sqlite3_stmt *upsert, *del_tokens, *ins_token, *get_id, *touch, *gone_tunes;
} writer;

static const char upsert_sql[] =
    "INSERT INTO files(x, path, tune, format, size, mtime_ns, file_hash, hash, music_hash, status, error, title,"
    " composer, key, meter, tempo, ticks_per_quarter, duration_seconds, duration_bars, notes, tracks,"
    " programs, pitch_min, pitch_max, split, tokenized, indexer, key_signature)"
    " VALUES (?27, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
    " ?21, ?22, ?23, ?24, ?25, ?26, ?13)"
    " ON CONFLICT(path, tune) DO UPDATE SET x = excluded.x, format = excluded.format, size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, file_hash = excluded.file_hash, hash = excluded.hash,"
    " music_hash = excluded.music_hash, status = excluded.status, error = excluded.error,"
    " title = excluded.title, composer = excluded.composer, key_signature = excluded.key_signature,"
    /* key: the analysis estimate while the analysis matches the row's content (see tx_corpus_analyze) */
    " key = coalesce((SELECT a.key FROM analysis a WHERE a.file_id = files.id AND a.hash = excluded.hash"
    "   AND a.status = 'ok'), excluded.key), meter = excluded.meter,"
    " tempo = excluded.tempo, ticks_per_quarter = excluded.ticks_per_quarter,"
    " duration_seconds = excluded.duration_seconds, duration_bars = excluded.duration_bars,"
    " notes = excluded.notes, tracks = excluded.tracks, programs = excluded.programs,"
    " pitch_min = excluded.pitch_min, pitch_max = excluded.pitch_max, split = excluded.split,"
    " tokenized = excluded.tokenized, indexer = excluded.indexer";

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int write_row(tx_corpus *c, writer *w, const item *it, const entry *rw, tok *toks, size_t n_toks,
                     const char *tokenized, tx_error *err)
{
    sqlite3_stmt *st = w->upsert;
    char mh[17];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_text(st, 1, it->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rw->tune);
    sqlite3_bind_text(st, 3, tx_format_name(it->format), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, it->size);
    sqlite3_bind_int64(st, 5, it->mtime_ns);
    sqlite3_bind_text(st, 6, it->file_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, rw->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, rw->ok ? "ok" : "error", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 25, rw->ok ? tokenized : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 26, INDEXER_VERSION, -1, SQLITE_STATIC);
    if (rw->x >= 0)
        sqlite3_bind_int64(st, 27, rw->x);
    if (rw->ok) {
        snprintf(mh, sizeof mh, "%016" PRIx64, rw->music_hash);
        sqlite3_bind_text(st, 8, mh, -1, SQLITE_STATIC);
        bind_text_or_null(st, 11, rw->title);
        bind_text_or_null(st, 12, rw->composer);
        bind_text_or_null(st, 13, rw->key);
        bind_text_or_null(st, 14, rw->meter);
        sqlite3_bind_double(st, 15, rw->tempo);
        sqlite3_bind_int(st, 16, rw->tpq);
        sqlite3_bind_double(st, 17, rw->seconds);
        sqlite3_bind_int64(st, 18, rw->bars);
        sqlite3_bind_int64(st, 19, rw->notes);
        sqlite3_bind_int(st, 20, rw->tracks);
        bind_text_or_null(st, 21, rw->programs);
        if (rw->pitch_max >= 0) {
            sqlite3_bind_int(st, 22, rw->pitch_min);
            sqlite3_bind_int(st, 23, rw->pitch_max);
        }
        if (rw->notes)
            sqlite3_bind_text(st, 24, tx_corpus_split_of(rw->music_hash), -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(st, 10, rw->error ? rw->error : "unknown error", -1, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return db_error(c, err, "writing a file row");
    /* the row's id (an upsert does not report it through last_insert_rowid) */
    sqlite3_reset(w->get_id);
    sqlite3_bind_text(w->get_id, 1, it->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(w->get_id, 2, rw->tune);
    if (sqlite3_step(w->get_id) != SQLITE_ROW)
        return db_error(c, err, "finding a file row");
    int64_t id = sqlite3_column_int64(w->get_id, 0);
    sqlite3_reset(w->get_id);
    sqlite3_reset(w->del_tokens);
    sqlite3_bind_int64(w->del_tokens, 1, id);
    if (sqlite3_step(w->del_tokens) != SQLITE_DONE)
        return db_error(c, err, "deleting old tokens");
    if (!rw->ok)
        return TX_OK;
    size_t k = 0;
    for (size_t t = 0; t < n_toks; t++) {
        for (size_t q = 0; q < rw->n_seqs[t]; q++, k++) {
            const seqbuf *sb = &rw->seqs[k];
            sqlite3_stmt *ins = w->ins_token;
            sqlite3_reset(ins);
            sqlite3_bind_int64(ins, 1, id);
            sqlite3_bind_text(ins, 2, toks[t].name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, (int64_t)q);
            sqlite3_bind_int(ins, 4, sb->program);
            sqlite3_bind_int64(ins, 5, (int64_t)sb->count);
            sqlite3_bind_blob(ins, 6, sb->blob, (int)sb->bytes, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                return db_error(c, err, "writing tokens");
        }
    }
    return TX_OK;
}

static int write_item(tx_corpus *c, writer *w, const item *it, tok *toks, size_t n_toks, const char *tokenized,
                      tx_error *err)
{
    if (it->touch_only) {
        sqlite3_reset(w->touch);
        sqlite3_bind_int64(w->touch, 1, it->mtime_ns);
        sqlite3_bind_int64(w->touch, 2, it->size);
        sqlite3_bind_text(w->touch, 3, it->path, -1, SQLITE_STATIC);
        return sqlite3_step(w->touch) == SQLITE_DONE ? TX_OK : db_error(c, err, "updating a file row");
    }
    tx_buf tunes = TX_BUF_INIT;   /* the tunes written, as a JSON array for json_each */
    tx_buf_putc(&tunes, '[');
    for (size_t i = 0; i < it->n_rows; i++) {
        int rc = write_row(c, w, it, &it->rows[i], toks, n_toks, tokenized, err);
        if (rc) {
            tx_buf_free(&tunes);
            return rc;
        }
        tx_buf_printf(&tunes, "%s%ld", i ? "," : "", it->rows[i].tune);
    }
    tx_buf_putc(&tunes, ']');
    if (tunes.oom)
        return tx_error_set(err, TX_ENOMEM, "out of memory");
    /* tunes that were in the file before and are not now */
    sqlite3_reset(w->gone_tunes);
    sqlite3_bind_text(w->gone_tunes, 1, it->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->gone_tunes, 2, tunes.data, (int)tunes.len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(w->gone_tunes) == SQLITE_DONE ? TX_OK : db_error(c, err, "marking removed tunes");
    tx_buf_free(&tunes);
    return rc;
}

/* Duplicates: a row is an exact duplicate when an earlier row (by path, tune) has the same bytes, and
 * a musical duplicate when an earlier row has the same notes. Splits follow the music hash, so every
 * copy of one piece is in one split. Recomputed whole at the end of each run: cheap, and correct
 * after any interruption. */
static const char duplicates_sql[] =
    "UPDATE files SET duplicate = NULL, duplicate_of = NULL"
    "  WHERE duplicate IS NOT NULL OR duplicate_of IS NOT NULL;\n"
    "UPDATE files SET duplicate = 'exact', duplicate_of = (SELECT f2.path FROM files f2"
    "    WHERE f2.hash = files.hash AND f2.status = 'ok'"
    "      AND (f2.path, f2.tune) < (files.path, files.tune) ORDER BY f2.path, f2.tune LIMIT 1)"
    "  WHERE status = 'ok' AND EXISTS (SELECT 1 FROM files f2 WHERE f2.hash = files.hash"
    "    AND f2.status = 'ok' AND (f2.path, f2.tune) < (files.path, files.tune));\n"
    "UPDATE files SET duplicate = 'musical', duplicate_of = (SELECT f2.path FROM files f2"
    "    WHERE f2.music_hash = files.music_hash AND f2.status = 'ok'"
    "      AND (f2.path, f2.tune) < (files.path, files.tune) ORDER BY f2.path, f2.tune LIMIT 1)"
    "  WHERE status = 'ok' AND duplicate IS NULL AND notes > 0 AND EXISTS (SELECT 1 FROM files f2"
    "    WHERE f2.music_hash = files.music_hash AND f2.status = 'ok'"
    "      AND (f2.path, f2.tune) < (files.path, files.tune));\n";

static int record_tokenizers(tx_corpus *c, tok *toks, size_t n_toks, tx_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "INSERT INTO tokenizers VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE"
                           " SET vocab_size = excluded.vocab_size, dtype = excluded.dtype, config = excluded.config",
                           -1, &st, NULL))
        return db_error(c, err, "preparing");
    int rc = TX_OK;
    for (size_t t = 0; t < n_toks && !rc; t++) {
        tx_buf cfg = TX_BUF_INIT;
        tx_remi_config_write(tx_remi_get_config(toks[t].remi), &cfg);
        if (cfg.oom) {
            rc = tx_error_set(err, TX_ENOMEM, "out of memory");
        } else {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, toks[t].name, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, toks[t].vocab_size);
            sqlite3_bind_text(st, 3, toks[t].vocab_size > 65536 ? "uint32" : "uint16", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, cfg.data, (int)cfg.len, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = db_error(c, err, "recording a tokenizer");
        }
        tx_buf_free(&cfg);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Does the comma-separated list have every requested tokenizer? */
static int has_all(const char *list, tok *toks, size_t n_toks)
{
    for (size_t t = 0; t < n_toks; t++) {
        size_t n = strlen(toks[t].name);
        const char *p = list;
        int found = 0;
        while (p && *p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len == n && memcmp(p, toks[t].name, n) == 0)
                found = 1;
            p = e ? e + 1 : NULL;
        }
        if (!found)
            return 0;
    }
    return 1;
}

static int64_t mtime_ns_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The search table is stale when a run wrote rows after the last rebuild (a run marks it before its
 * first write and clears the mark when it rebuilds, so an interrupted run leaves it marked). */
static int fts_stale(tx_corpus *c)
{
    sqlite3_stmt *st;
    int stale = 1;
    if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM meta WHERE key = 'fts_dirty'", -1, &st, NULL) ==
            SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        stale = sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    return stale;
}

/* Items written per transaction: small enough that an interrupted run loses little, large enough that
 * commits don't dominate. TACTUS_CORPUS_BATCH overrides it (tests use 1 to interrupt between files). */
static size_t batch_size(void)
{
    const char *e = getenv("TACTUS_CORPUS_BATCH");
    long v = e ? strtol(e, NULL, 10) : 0;
    return v > 0 ? (size_t)v : 512;
}

/* Looks up what the index holds for it->path and decides whether the file must be read. Returns 1 to
 * skip it (unchanged and complete). */
static int unchanged(sqlite3_stmt *lookup, item *it, tok *toks, size_t n_toks, int force)
{
    sqlite3_reset(lookup);
    sqlite3_bind_text(lookup, 1, it->path, -1, SQLITE_STATIC);
    int rows = 0, complete = 1, same_stat = 1;
    while (sqlite3_step(lookup) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(lookup, 3);
        const char *have = (const char *)sqlite3_column_text(lookup, 4);
        const char *indexer = (const char *)sqlite3_column_text(lookup, 5);
        const char *hash = (const char *)sqlite3_column_text(lookup, 2);
        if (!rows++)
            snprintf(it->old_file_hash, sizeof it->old_file_hash, "%s", hash ? hash : "");
        if (!indexer || strcmp(indexer, INDEXER_VERSION) != 0 || !status ||
            (strcmp(status, "ok") == 0 && !has_all(have, toks, n_toks)))
            complete = 0;
        if (sqlite3_column_int64(lookup, 0) != it->size || sqlite3_column_int64(lookup, 1) != it->mtime_ns)
            same_stat = 0;
    }
    sqlite3_reset(lookup);
    it->indexed_before = rows > 0;
    it->old_complete = rows > 0 && complete && !force;
    return it->old_complete && same_stat;
}

int tx_corpus_index(tx_corpus *c, const tx_corpus_index_opts *o, tx_corpus_run *run, tx_error *err)
{
    double t0 = tx_now();
    memset(run, 0, sizeof *run);
    if (c->readonly)
        return tx_error_set(err, TX_EINVAL, "%s: opened read-only", c->path);
    tok *toks = tx_calloc(o->n_tokenizers ? o->n_tokenizers : 1, sizeof *toks);
    char **paths = NULL;
    size_t n_paths = 0;
    item *items = NULL;
    writer w = {0};
    sqlite3_stmt *lookup = NULL;
    int rc = toks ? TX_OK : tx_error_set(err, TX_ENOMEM, "out of memory");
    size_t n_toks = 0;
    for (size_t t = 0; t < o->n_tokenizers && !rc; t++) {
        int dup = 0;
        for (size_t u = 0; u < t; u++)
            dup |= strcmp(o->tokenizers[t], o->tokenizers[u]) == 0;
        if (!dup && !(rc = tokenizer_make(o->tokenizers[t], &toks[n_toks], err)))
            n_toks++;
    }
    /* the tokenized list, in the order given */
    tx_buf tl = TX_BUF_INIT;
    tx_buf_puts(&tl, "");
    for (size_t t = 0; t < n_toks; t++)
        tx_buf_printf(&tl, "%s%s", t ? "," : "", toks[t].name);
    if (!rc && tl.oom)
        rc = tx_error_set(err, TX_ENOMEM, "out of memory");

    /* 1. walk every root; sorted, so that rows are written in one order whatever the threads do */
    for (size_t r = 0; r < o->n_roots && !rc; r++)
        rc = tx_find_files(o->roots[r], is_score_file, NULL, &paths, &n_paths, err);
    /* the same file named twice (overlapping roots) is indexed once */
    size_t uniq = 0;
    for (size_t i = 0; i < n_paths; i++) {
        if (uniq && strcmp(paths[uniq - 1], paths[i]) == 0) {
            tx_free(paths[i]);
            continue;
        }
        paths[uniq++] = paths[i];
    }
    n_paths = uniq;
    run->seen = n_paths;

    /* 2. decide what needs reading: new files, changed files, and files lacking a tokenizer */
    if (!rc && sqlite3_prepare_v2(c->db, "SELECT size, mtime_ns, file_hash, status, tokenized, indexer FROM files"
                                  " WHERE path = ?1 AND status != 'missing'", -1, &lookup, NULL))
        rc = db_error(c, err, "preparing");
    items = rc ? NULL : tx_calloc(n_paths ? n_paths : 1, sizeof *items);
    if (!rc && !items)
        rc = tx_error_set(err, TX_ENOMEM, "out of memory");
    size_t n_items = 0;
    for (size_t i = 0; i < n_paths && !rc; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0)
            continue;
        item *it = &items[n_items];
        it->path = paths[i];
        it->format = tx_format_from_path(it->path);
        it->size = (int64_t)st.st_size;
        it->mtime_ns = mtime_ns_of(&st);
        if (unchanged(lookup, it, toks, n_toks, o->force)) {
            run->unchanged++;
            memset(it, 0, sizeof *it);
            continue;
        }
        n_items++;
    }

    /* 3. parse and tokenize on workers; write here, in path order, in batched transactions */
    job j = {items, toks, n_toks};
    omap map;
    int started = 0;
    if (!rc && n_items) {
        if (sqlite3_prepare_v2(c->db, upsert_sql, -1, &w.upsert, NULL) ||
            sqlite3_prepare_v2(c->db, "DELETE FROM tokens WHERE file_id = ?1", -1, &w.del_tokens, NULL) ||
            sqlite3_prepare_v2(c->db, "INSERT INTO tokens VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &w.ins_token, NULL) ||
            sqlite3_prepare_v2(c->db, "SELECT id FROM files WHERE path = ?1 AND tune = ?2", -1, &w.get_id, NULL) ||
            sqlite3_prepare_v2(c->db, "UPDATE files SET mtime_ns = ?1, size = ?2 WHERE path = ?3"
                               " AND status != 'missing'", -1, &w.touch, NULL) ||
            sqlite3_prepare_v2(c->db, "UPDATE files SET status = 'missing' WHERE path = ?1 AND status != 'missing'"
                               " AND tune NOT IN (SELECT value FROM json_each(?2))", -1, &w.gone_tunes, NULL))
            rc = db_error(c, err, "preparing");
        if (!rc)
            rc = exec(c, "BEGIN IMMEDIATE", err);
        if (!rc)   /* before the tokens that refer to them */
            rc = record_tokenizers(c, toks, n_toks, err);
        if (!rc)
            rc = exec(c, "INSERT OR REPLACE INTO meta VALUES ('fts_dirty', '1')", err);
        if (!rc) {
            rc = omap_start(&map, n_items, o->jobs, process_one, &j, err);
            started = 1;
        }
    }
    size_t batch = batch_size(), in_batch = 0;
    for (size_t i = 0; i < n_items && !rc; i++) {
        item *it = &items[i];
        omap_wait(&map, i);
        rc = write_item(c, &w, it, toks, n_toks, tl.data, err);
        run->indexed++;
        run->failed += it->failed;
        run->bytes += (size_t)it->size;
        run->notes += it->notes;
        run->tokens += it->tokens;
        item_clear(it);
        if (!rc && ++in_batch >= batch) {
            rc = exec(c, "COMMIT", err);
            if (!rc)
                rc = exec(c, "BEGIN IMMEDIATE", err);
            in_batch = 0;
        }
        if (o->progress)
            o->progress(o->progress_ud, run->unchanged + i + 1, run->seen);
    }
    if (started)
        omap_finish(&map);   /* after a failure the workers take no more items */
    if (n_items && started) {
        if (rc)
            exec(c, "ROLLBACK", NULL);
        else
            rc = exec(c, "COMMIT", err);
    }

    /* 4. rows under the roots whose file is gone are marked missing; then duplicates */
    if (!rc)
        rc = exec(c, "BEGIN IMMEDIATE; CREATE TEMP TABLE IF NOT EXISTS seen(path TEXT PRIMARY KEY);"
                     " DELETE FROM seen;", err);
    if (!rc) {
        sqlite3_stmt *ins = NULL, *mark = NULL;
        if (sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO seen VALUES (?1)", -1, &ins, NULL) ||
            sqlite3_prepare_v2(c->db, "UPDATE files SET status = 'missing' WHERE status != 'missing'"
                               " AND (path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/')"
                               " AND path NOT IN (SELECT path FROM seen)", -1, &mark, NULL))
            rc = db_error(c, err, "preparing");
        for (size_t i = 0; i < n_paths && !rc; i++) {
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, paths[i], -1, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = db_error(c, err, "recording seen files");
        }
        for (size_t r = 0; r < o->n_roots && !rc; r++) {
            /* roots are matched without a trailing slash */
            size_t n = strlen(o->roots[r]);
            while (n > 1 && o->roots[r][n - 1] == '/')
                n--;
            sqlite3_reset(mark);
            sqlite3_bind_text(mark, 1, o->roots[r], (int)n, SQLITE_STATIC);
            if (sqlite3_step(mark) != SQLITE_DONE)
                rc = db_error(c, err, "marking vanished files");
            run->vanished += (size_t)sqlite3_changes(c->db);
        }
        sqlite3_finalize(ins);
        sqlite3_finalize(mark);
        /* and when no file needed reading: an empty corpus still exports an empty shard of a known
         * tokenizer */
        if (!rc && !n_items)
            rc = record_tokenizers(c, toks, n_toks, err);
        if (!rc)
            rc = exec(c, duplicates_sql, err);
        /* full-text search over what changed (see schema_sql); a run interrupted before this point
         * leaves the previous search table, and the next run rebuilds it */
        if (!rc && fts_stale(c))
            rc = exec(c, "INSERT INTO files_fts(files_fts) VALUES ('rebuild');"
                         " DELETE FROM meta WHERE key = 'fts_dirty';", err);
        if (!rc)
            rc = exec(c, "COMMIT", err);
        else
            exec(c, "ROLLBACK", NULL);
    }

    sqlite3_finalize(lookup);
    sqlite3_finalize(w.upsert);
    sqlite3_finalize(w.del_tokens);
    sqlite3_finalize(w.ins_token);
    sqlite3_finalize(w.get_id);
    sqlite3_finalize(w.touch);
    sqlite3_finalize(w.gone_tunes);
    for (size_t i = 0; i < n_items; i++)
        item_clear(&items[i]);
    tx_free(items);
    tx_free_paths(paths, n_paths);
    for (size_t t = 0; t < n_toks; t++)
        tx_remi_free(toks[t].remi);
    tx_free(toks);
    tx_buf_free(&tl);
    run->seconds = tx_now() - t0;
    return rc;
}

/* ---- analysis ---- */

/* Bump ANALYZER_VERSION when what tx_analyze gives for the same score changes: a re-run then analyzes
 * every row again. */
#define ANALYZER_VERSION "3"

/* One row to analyze, and its result. */
typedef struct arow {
    int64_t id;
    long tune;
    char hash[TX_SHA256_HEX_SIZE];   /* files.hash: what the analysis must be made from */
    int state;             /* 0: not found in the file or its bytes changed (stale); 1: ok; 2: error */
    char *error;
    char key[48], tonic[8], mode[16], profile[32];
    int found;
    double correlation;
    tx_buf json;
    size_t notes;
} arow;

/* One file: every row of it that needs analysis. */
typedef struct afile {
    char *path;
    arow *rows;
    size_t n_rows;
} afile;

static void arow_clear(arow *r)
{
    tx_free(r->error);
    r->error = NULL;
    tx_buf_free(&r->json);
}

static void afile_clear(afile *f)
{
    for (size_t i = 0; i < f->n_rows; i++)
        arow_clear(&f->rows[i]);
    tx_free(f->rows);
    tx_free(f->path);
    memset(f, 0, sizeof *f);
}

static void arow_fail(arow *r, const char *msg)
{
    tx_buf_free(&r->json);
    r->state = 2;
    r->error = tx_strdup(msg && *msg ? msg : "unknown error");
}

static void analyze_row(arow *r, const tx_score *s, const char *path)
{
    tx_analysis *a = NULL;
    tx_error e;
    tx_error_clear(&e);
    int rc = tx_analyze(s, NULL, &a, &e);
    if (rc) {
        arow_fail(r, e.msg[0] ? e.msg : tx_strerror(rc));
        return;
    }
    r->state = 1;
    r->found = a->key.found;
    r->notes = a->stats.n_notes;
    if (a->key.found) {
        const tx_key_candidate *k = &a->key.best;
        snprintf(r->tonic, sizeof r->tonic, "%s", tx_key_tonic_name(k->tonic, k->mode));
        snprintf(r->mode, sizeof r->mode, "%s", tx_mode_name(k->mode));
        snprintf(r->key, sizeof r->key, "%s %s", r->tonic, r->mode);
        snprintf(r->profile, sizeof r->profile, "%s", tx_key_profile_name(a->key.profile));
        r->correlation = k->correlation;
    }
    tx_buf_putc(&r->json, '{');
    rc = tx_analysis_json(a, s, &r->json);
    tx_buf_putc(&r->json, '}');
    if (rc || r->json.oom) {
        char msg[TX_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s: out of memory", path);
        arow_fail(r, msg);
    }
    tx_analysis_free(a);
}

struct aeach_ctx {
    afile *f;
};

/* Matches each score of the file to the row at its place, and analyzes it when the bytes are still
 * the ones indexed. */
static int aeach(void *ud, tx_score_item *si)
{
    afile *f = ((struct aeach_ctx *)ud)->f;
    for (size_t i = 0; i < f->n_rows; i++) {
        arow *r = &f->rows[i];
        if (r->tune != si->index || r->state)
            continue;
        uint8_t digest[TX_SHA256_SIZE];
        char hex[TX_SHA256_HEX_SIZE];
        tx_sha256(si->bytes, si->n_bytes, digest);
        tx_sha256_hex(digest, hex);
        if (strcmp(hex, r->hash) != 0)
            break;   /* changed since indexed: left stale */
        if (si->status != TX_OK || !si->score)
            arow_fail(r, si->error && si->error->msg[0] ? si->error->msg : tx_strerror(si->status));
        else
            analyze_row(r, si->score, f->path);
        break;
    }
    return TX_OK;
}

static void analyze_file(afile *f)
{
    uint8_t *data = NULL;
    size_t len = 0;
    tx_error e;
    tx_error_clear(&e);
    /* an unreadable file leaves its rows stale: the index run marks it */
    if (tx_read_file(f->path, TX_MIDI_MAX_FILE, &data, &len, &e))
        return;
    struct aeach_ctx ctx = {f};
    if (tx_score_read_each(data, len, f->path, aeach, &ctx) == TX_ENOMEM) {
        char msg[TX_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s: out of memory", f->path);
        for (size_t i = 0; i < f->n_rows; i++)
            if (!f->rows[i].state)
                arow_fail(&f->rows[i], msg);
    }
    tx_free(data);
}

static void analyze_one(void *ctx, size_t i)
{
    analyze_file(&((afile *)ctx)[i]);
}

/* Collects the rows to analyze, grouped by file in path order. */
static int analyze_todo(tx_corpus *c, int force, afile **out, size_t *n_out, tx_corpus_analyze_run *run,
                        tx_error *err)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n_out = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT f.id, f.path, f.tune, f.hash, a.file_id IS NOT NULL AND a.hash = f.hash"
                           " AND a.analyzer = ?1 FROM files f LEFT JOIN analysis a ON a.file_id = f.id"
                           " WHERE f.status = 'ok' ORDER BY f.path, f.tune", -1, &st, NULL))
        return db_error(c, err, "preparing");
    sqlite3_bind_text(st, 1, ANALYZER_VERSION, -1, SQLITE_STATIC);
    afile *files = NULL;
    size_t n = 0, cap = 0, rcap = 0;
    int rc = TX_OK, s;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        run->rows++;
        if (sqlite3_column_int(st, 4) && !force) {
            run->up_to_date++;
            continue;
        }
        const char *path = (const char *)sqlite3_column_text(st, 1);
        const char *hash = (const char *)sqlite3_column_text(st, 3);
        if (!path || !hash)
            continue;
        if (!n || strcmp(files[n - 1].path, path) != 0) {
            if (tx_grow((void **)&files, &cap, n + 1, sizeof *files)) {
                rc = tx_error_set(err, TX_ENOMEM, "out of memory");
                break;
            }
            memset(&files[n], 0, sizeof files[n]);
            if (!(files[n].path = tx_strdup(path))) {
                rc = tx_error_set(err, TX_ENOMEM, "out of memory");
                break;
            }
            n++;
            rcap = 0;
        }
        afile *f = &files[n - 1];
        if (tx_grow((void **)&f->rows, &rcap, f->n_rows + 1, sizeof *f->rows)) {
            rc = tx_error_set(err, TX_ENOMEM, "out of memory");
            break;
        }
        arow *r = &f->rows[f->n_rows++];
        memset(r, 0, sizeof *r);
        r->json = (tx_buf)TX_BUF_INIT;
        r->id = sqlite3_column_int64(st, 0);
        r->tune = (long)sqlite3_column_int64(st, 2);
        snprintf(r->hash, sizeof r->hash, "%s", hash);
    }
    if (!rc && s != SQLITE_DONE)
        rc = db_error(c, err, "reading the rows to analyze");
    sqlite3_finalize(st);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            afile_clear(&files[i]);
        tx_free(files);
        return rc;
    }
    *out = files;
    *n_out = n;
    return TX_OK;
}

static int write_analysis(tx_corpus *c, sqlite3_stmt *ins, sqlite3_stmt *setkey, const arow *r, tx_error *err)
{
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    sqlite3_bind_int64(ins, 1, r->id);
    sqlite3_bind_text(ins, 2, r->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, r->state == 1 ? "ok" : "error", -1, SQLITE_STATIC);
    if (r->state == 2)
        sqlite3_bind_text(ins, 4, r->error ? r->error : "out of memory", -1, SQLITE_STATIC);
    if (r->state == 1 && r->found) {
        sqlite3_bind_text(ins, 5, r->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, r->tonic, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, r->mode, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 8, r->profile, -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 9, r->correlation);
    }
    if (r->state == 1 && r->json.data)
        sqlite3_bind_text(ins, 10, r->json.data, (int)r->json.len, SQLITE_STATIC);
    sqlite3_bind_text(ins, 11, ANALYZER_VERSION, -1, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE)
        return db_error(c, err, "writing an analysis row");
    /* the estimate, or the signature's key when there is none */
    sqlite3_reset(setkey);
    sqlite3_clear_bindings(setkey);
    sqlite3_bind_int64(setkey, 1, r->id);
    if (r->state == 1 && r->found)
        sqlite3_bind_text(setkey, 2, r->key, -1, SQLITE_STATIC);
    if (sqlite3_step(setkey) != SQLITE_DONE)
        return db_error(c, err, "writing a key");
    return TX_OK;
}

int tx_corpus_analyze(tx_corpus *c, const tx_corpus_analyze_opts *o, tx_corpus_analyze_run *run, tx_error *err)
{
    double t0 = tx_now();
    memset(run, 0, sizeof *run);
    if (c->readonly)
        return tx_error_set(err, TX_EINVAL, "%s: opened read-only", c->path);
    afile *files = NULL;
    size_t n_files = 0;
    int rc = analyze_todo(c, o->force, &files, &n_files, run, err);
    sqlite3_stmt *ins = NULL, *setkey = NULL;
    omap map;
    int started = 0;
    if (!rc && n_files) {
        if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO analysis(file_id, hash, status, error, key, tonic,"
                               " mode, profile, correlation, json, analyzer)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", -1, &ins, NULL) ||
            sqlite3_prepare_v2(c->db, "UPDATE files SET key = coalesce(?2, key_signature) WHERE id = ?1", -1,
                               &setkey, NULL))
            rc = db_error(c, err, "preparing");
        if (!rc)
            rc = exec(c, "BEGIN IMMEDIATE", err);
        if (!rc) {
            rc = omap_start(&map, n_files, o->jobs, analyze_one, files, err);
            started = 1;
        }
    }
    size_t batch = batch_size(), in_batch = 0;
    for (size_t i = 0; i < n_files && !rc; i++) {
        afile *f = &files[i];
        omap_wait(&map, i);
        run->files++;
        for (size_t k = 0; k < f->n_rows && !rc; k++) {
            arow *r = &f->rows[k];
            if (!r->state) {
                run->stale++;
                continue;
            }
            rc = write_analysis(c, ins, setkey, r, err);
            run->analyzed++;
            run->failed += r->state == 2;
            run->notes += r->notes;
        }
        afile_clear(f);
        if (!rc && ++in_batch >= batch) {
            rc = exec(c, "COMMIT", err);
            if (!rc)
                rc = exec(c, "BEGIN IMMEDIATE", err);
            in_batch = 0;
        }
        if (o->progress)
            o->progress(o->progress_ud, i + 1, n_files);
    }
    if (started)
        omap_finish(&map);
    if (n_files && started) {
        if (rc)
            exec(c, "ROLLBACK", NULL);
        else
            rc = exec(c, "COMMIT", err);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(setkey);
    for (size_t i = 0; i < n_files; i++)
        afile_clear(&files[i]);
    tx_free(files);
    run->seconds = tx_now() - t0;
    return rc;
}

/* ---- reading ---- */

int tx_corpus_query(tx_corpus *c, const char *sql, tx_corpus_row_fn row, void *ud, tx_error *err)
{
    const char *tail = sql;
    int rc = TX_OK;
    while (!rc && tail && *tail) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c->db, tail, -1, &st, &tail) != SQLITE_OK)
            return tx_error_set(err, TX_EDB, "%s: %s", c->path, sqlite3_errmsg(c->db));
        if (!st)
            continue;   /* whitespace or a comment */
        int n = sqlite3_column_count(st);
        const char **names = tx_calloc((size_t)n + 1, sizeof *names);
        const char **vals = tx_calloc((size_t)n + 1, sizeof *vals);
        if (!names || !vals)
            rc = tx_error_set(err, TX_ENOMEM, "out of memory");
        for (int i = 0; i < n && !rc; i++)
            names[i] = sqlite3_column_name(st, i);
        int s = SQLITE_DONE;
        while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
            for (int i = 0; i < n; i++)
                vals[i] = (const char *)sqlite3_column_text(st, i);
            if (row && row(ud, n, names, vals))
                break;
        }
        if (!rc && s != SQLITE_ROW && s != SQLITE_DONE)
            rc = tx_error_set(err, TX_EDB, "%s: %s", c->path, sqlite3_errmsg(c->db));
        tx_free(names);
        tx_free(vals);
        sqlite3_finalize(st);
    }
    return rc;
}

int tx_corpus_search(tx_corpus *c, const char *text, int limit, tx_corpus_row_fn row, void *ud, tx_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT f.path, f.tune, f.title, f.composer FROM files_fts"
                           " JOIN files f ON f.id = files_fts.rowid WHERE files_fts MATCH ?1"
                           " ORDER BY rank, f.path LIMIT ?2", -1, &st, NULL))
        return db_error(c, err, "preparing");
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
    static const char *const names[] = {"path", "tune", "title", "composer"};
    int rc = TX_OK, s = SQLITE_DONE;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *vals[4];
        for (int i = 0; i < 4; i++)
            vals[i] = (const char *)sqlite3_column_text(st, i);
        if (row && row(ud, 4, names, vals))
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = tx_error_set(err, TX_ESYNTAX, "%s: search '%s': %s", c->path, text, sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return rc;
}

/* Appends {"value": count, ...} for a GROUP BY query of (text, count) rows. */
static int json_counts(tx_corpus *c, tx_buf *out, const char *sql, tx_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL))
        return db_error(c, err, "preparing");
    tx_buf_putc(out, '{');
    int first = 1, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        if (!first)
            tx_buf_puts(out, ", ");
        first = 0;
        tx_buf_json_string(out, k ? k : "none");
        tx_buf_printf(out, ": %lld", (long long)sqlite3_column_int64(st, 1));
    }
    tx_buf_putc(out, '}');
    int rc = s == SQLITE_DONE ? TX_OK : db_error(c, err, "reading statistics");
    sqlite3_finalize(st);
    return rc;
}

static int64_t scalar(tx_corpus *c, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int tx_corpus_stats_json(tx_corpus *c, tx_buf *out, tx_error *err)
{
    int rc;
    tx_buf_printf(out, "{\"files\": %" PRId64 ", \"notes\": %" PRId64 ", \"duration_seconds\": %.1f",
                  scalar(c, "SELECT count(*) FROM files"),
                  scalar(c, "SELECT coalesce(sum(notes), 0) FROM files WHERE status = 'ok'"),
                  (double)scalar(c, "SELECT coalesce(sum(duration_seconds), 0) FROM files WHERE status = 'ok'"));
    static const struct { const char *name, *sql; } groups[] = {
        {"status", "SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 2 DESC, 1"},
        {"format", "SELECT format, count(*) FROM files GROUP BY 1 ORDER BY 2 DESC, 1"},
        {"split", "SELECT split, count(*) FROM files WHERE status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"},
        {"duplicates", "SELECT duplicate, count(*) FROM files WHERE duplicate IS NOT NULL GROUP BY 1 ORDER BY 1"},
        {"key", "SELECT key, count(*) FROM files WHERE status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"},
        {"meter", "SELECT meter, count(*) FROM files WHERE status = 'ok' GROUP BY 1 ORDER BY 2 DESC, 1"},
        {"tokens", "SELECT tokenizer, sum(count) FROM tokens GROUP BY 1 ORDER BY 1"},
    };
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++) {
        tx_buf_printf(out, ", \"%s\": ", groups[i].name);
        if ((rc = json_counts(c, out, groups[i].sql, err)))
            return rc;
    }
    tx_buf_puts(out, "}");
    return out->oom ? tx_error_set(err, TX_ENOMEM, "out of memory") : TX_OK;
}

/* ---- export ---- */

const char *tx_corpus_split_of(uint64_t music_hash)
{
    /* mix first: FNV's low bits are weak */
    uint64_t x = music_hash;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    unsigned r = (unsigned)(x % 100);
    return r < 90 ? "train" : r < 95 ? "valid" : "test";
}

int tx_corpus_export(tx_corpus *c, const char *tokenizer, const char *split, const char *outdir,
                     tx_corpus_export_result *res, tx_error *err)
{
    memset(res, 0, sizeof *res);
    if (strcmp(split, "train") && strcmp(split, "valid") && strcmp(split, "test"))
        return tx_error_set(err, TX_EINVAL, "unknown split '%s' (train, valid or test)", split);
    sqlite3_stmt *tk, *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT vocab_size, dtype, config FROM tokenizers WHERE name = ?1", -1, &tk, NULL))
        return db_error(c, err, "preparing");
    sqlite3_bind_text(tk, 1, tokenizer, -1, SQLITE_STATIC);
    if (sqlite3_step(tk) != SQLITE_ROW) {
        sqlite3_finalize(tk);
        return tx_error_set(err, TX_EINVAL, "%s: no tokens for tokenizer '%s' (index with --tokenizer %s)",
                            c->path, tokenizer, tokenizer);
    }
    int vocab = sqlite3_column_int(tk, 0);
    snprintf(res->dtype, sizeof res->dtype, "%s", (const char *)sqlite3_column_text(tk, 1));
    size_t width = strcmp(res->dtype, "uint32") == 0 ? 4 : 2;
    tx_buf base = TX_BUF_INIT, binp = TX_BUF_INIT, jsonp = TX_BUF_INIT, tmpb = TX_BUF_INIT, tmpj = TX_BUF_INIT;
    tx_buf_printf(&base, "%s/%s-%s", outdir, tokenizer, split);
    tx_buf_printf(&binp, "%s.bin", base.data);
    tx_buf_printf(&jsonp, "%s.json", base.data);
    tx_buf_printf(&tmpb, "%s.bin.tmp.%ld", base.data, (long)getpid());
    tx_buf_printf(&tmpj, "%s.json.tmp.%ld", base.data, (long)getpid());
    FILE *fb = NULL, *fj = NULL;
    int rc = TX_OK;
    if (base.oom || binp.oom || jsonp.oom || tmpb.oom || tmpj.oom)
        rc = tx_error_set(err, TX_ENOMEM, "out of memory");
    if (!rc && mkdir(outdir, 0777) != 0 && errno != EEXIST)
        rc = tx_error_set(err, TX_EIO, "%s: %s", outdir, strerror(errno));
    if (!rc && (!(fb = fopen(tmpb.data, "wb")) || !(fj = fopen(tmpj.data, "w"))))
        rc = tx_error_set(err, TX_EIO, "%s: %s", fb ? tmpj.data : tmpb.data, strerror(errno));
    if (!rc) {
        tx_buf head = TX_BUF_INIT;
        tx_buf_puts(&head, "{\"format\": \"tactus shard\", \"version\": 1, \"tokenizer\": ");
        tx_buf_json_string(&head, tokenizer);
        tx_buf_printf(&head, ", \"split\": \"%s\", \"vocab_size\": %d, \"dtype\": \"%s\", \"byte_order\": "
                      "\"little\", \"tokenizer_config\": %s, \"documents\": [", split, vocab, res->dtype,
                      (const char *)sqlite3_column_text(tk, 2));
        if (head.oom || fwrite(head.data, 1, head.len, fj) != head.len)
            rc = tx_error_set(err, TX_EIO, "%s: write failed", tmpj.data);
        tx_buf_free(&head);
    }
    sqlite3_finalize(tk);
    if (!rc && sqlite3_prepare_v2(c->db, "SELECT t.ids, t.count, f.path, f.tune, t.seq FROM tokens t"
                                  " JOIN files f ON f.id = t.file_id WHERE t.tokenizer = ?1 AND f.split = ?2"
                                  " AND f.status = 'ok' AND f.duplicate IS NULL ORDER BY f.path, f.tune, t.seq",
                                  -1, &st, NULL))
        rc = db_error(c, err, "preparing");
    if (!rc) {
        sqlite3_bind_text(st, 1, tokenizer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
        int s;
        uint64_t offset = 0;
        while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
            const void *blob = sqlite3_column_blob(st, 0);
            size_t bytes = (size_t)sqlite3_column_bytes(st, 0);
            size_t count = (size_t)sqlite3_column_int64(st, 1);
            if (bytes != count * width) {
                rc = tx_error_set(err, TX_EDB, "%s: tokens of %s hold %zu bytes for %zu ids", c->path,
                                  (const char *)sqlite3_column_text(st, 2), bytes, count);
                break;
            }
            if (bytes && fwrite(blob, 1, bytes, fb) != bytes) {
                rc = tx_error_set(err, TX_EIO, "%s: write failed", tmpb.data);
                break;
            }
            /* [offset, count, "path", tune, seq] per document */
            fprintf(fj, "%s\n  [%" PRIu64 ", %zu, ", res->documents ? "," : "", offset, count);
            tx_buf p = TX_BUF_INIT;
            tx_buf_json_string(&p, (const char *)sqlite3_column_text(st, 2));
            fprintf(fj, "%s, %d, %d]", p.data ? p.data : "\"\"", sqlite3_column_int(st, 3), sqlite3_column_int(st, 4));
            tx_buf_free(&p);
            offset += count;
            res->documents++;
            res->tokens += count;
        }
        if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
            rc = db_error(c, err, "reading tokens");
        if (!rc)
            fprintf(fj, "\n], \"n_documents\": %zu, \"n_tokens\": %zu}\n", res->documents, res->tokens);
    }
    sqlite3_finalize(st);
    if (fb && (fflush(fb) || fsync(fileno(fb))) && !rc)
        rc = tx_error_set(err, TX_EIO, "%s: %s", tmpb.data, strerror(errno));
    if (fj && (fflush(fj) || fsync(fileno(fj))) && !rc)
        rc = tx_error_set(err, TX_EIO, "%s: %s", tmpj.data, strerror(errno));
    if (fb && fclose(fb) && !rc)
        rc = tx_error_set(err, TX_EIO, "%s: %s", tmpb.data, strerror(errno));
    if (fj && fclose(fj) && !rc)
        rc = tx_error_set(err, TX_EIO, "%s: %s", tmpj.data, strerror(errno));
    /* the .bin first: a reader that finds the .json finds its data */
    if (!rc && (rename(tmpb.data, binp.data) || rename(tmpj.data, jsonp.data)))
        rc = tx_error_set(err, TX_EIO, "%s: %s", base.data, strerror(errno));
    if (rc) {
        if (tmpb.data)
            unlink(tmpb.data);
        if (tmpj.data)
            unlink(tmpj.data);
    }
    tx_buf_free(&base);
    tx_buf_free(&binp);
    tx_buf_free(&jsonp);
    tx_buf_free(&tmpb);
    tx_buf_free(&tmpj);
    return rc;
}
