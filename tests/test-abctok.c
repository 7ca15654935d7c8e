/* test-abctok.c: unit tests of the ABC text tokenizer.
 *
 * Oracles: normalised texts worked out by hand from the rules in abctok.h; decode(encode(t)) ==
 * normalize(t) on the tunes of the shared ABC corpus (a few hundred by default; every tune with
 * --all, the slow suite), with and without a BPE model trained on them, and on random bytes; the tune
 * starts tx_abc_parse() finds; BPE merges that must never join a bar line to the bar after it; a
 * model trained on tests/data/bpe/tunes.abc that must save byte for byte as the golden file beside it.
 */
#include "harness.h"
#include "alloc-budget.h"

#include "tokenizers/abc.h"
#include "tokenizers/abctok.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

static int all_tunes;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static char *norm(const tx_abctok *t, const char *s)
{
    static tx_buf b;
    tx_buf_reset(&b);
    tx_error err;
    if (tx_abctok_normalize(t, s, strlen(s), &b, &err))
        return NULL;
    return b.data ? b.data : (char *)"";
}

static void test_normalize(void)
{
    tx_error err;
    tx_abctok *t = tx_abctok_new(NULL, &err);
    const char *in = "X: 12\r\nT:  My  \tTune % a comment\r\n%%MIDI program 1\n% only a comment\n"
                     "C: Someone\nR:reel\n+: more\nM:6/8\nL:1/8\nK: G\n\n  abc  def|\"A|m\" g2 \\% x % y\n"
                     "!trill!B|]\n\xC3\xA9\xFF|\n";
    CHECK_STR(norm(t, in), "T:My Tune\n%%MIDI program 1\nC:Someone\nR:reel\n+:more\nM:6/8\nL:1/8\nK:G\n"
                           "abc def|\"A|m\" g2 \\% x\n!trill!B|]\n\xEF\xBF\xBD\xEF\xBF\xBD|\n");
    tx_abctok_free(t);

    tx_abctok_options o;
    tx_abctok_options_init(&o);
    o.x_mode = TX_ABCTOK_X_RENUMBER;
    o.strip_titles = 1;
    o.strip_text = 1;
    t = tx_abctok_new(&o, &err);
    CHECK_STR(norm(t, in), "X:1\n%%MIDI program 1\nM:6/8\nL:1/8\nK:G\nabc def|\"A|m\" g2 \\% x\n!trill!B|]\n"
                           "\xEF\xBF\xBD\xEF\xBF\xBD|\n");
    CHECK_STR(norm(t, "%%score 1 2\nV:1\nw:la la\nI:abc\n+:x\nr:remark\n+:y\nabc\r"), "V:1\nI:abc\n+:x\nabc\n");
    CHECK_STR(norm(t, ""), "");
    CHECK_STR(norm(t, "\n\r\n  \n% x\n"), "");
    tx_abctok_free(t);
    o.x_mode = 7;
    CHECK(tx_abctok_new(&o, &err) == NULL);
    CHECK_INT(err.code, TX_EINVAL);
}

static void test_ids(void)
{
    tx_error err;
    tx_abctok_options o;
    tx_abctok_options_init(&o);
    o.add_bos_eos = 1;
    tx_abctok *t = tx_abctok_new(&o, &err);
    tx_bpe_ids ids = TX_BPE_IDS_INIT;
    CHECK_INT(tx_abctok_encode(t, "K:G\n\xC3\xA9 A|", 9, &ids, &err), TX_OK);
    int32_t want[] = {TX_ABCTOK_BOS, 6 + 'K' - 32, 6 + ':' - 32, 6 + 'G' - 32, TX_ABCTOK_NEWLINE,
                      TX_ABCTOK_UNK, 6, 6 + 'A' - 32, 6 + '|' - 32, TX_ABCTOK_NEWLINE, TX_ABCTOK_EOS};
    CHECK_INT(ids.len, 11);
    for (size_t i = 0; i < 11 && i < ids.len; i++)
        CHECK_INT(ids.ids[i], want[i]);
    tx_buf b = TX_BUF_INIT;
    CHECK_INT(tx_abctok_decode(t, ids.ids, ids.len, &b, &err), TX_OK);
    CHECK_STR(b.data, "K:G\n\xEF\xBF\xBD A|\n");
    tx_buf_reset(&b);
    CHECK_INT(tx_abctok_token(t, TX_ABCTOK_MASK, &b), TX_OK);
    CHECK_INT(tx_abctok_token(t, 6 + '~' - 32, &b), TX_OK);
    CHECK_INT(tx_abctok_token(t, TX_ABCTOK_BASE_SIZE, &b), TX_EINVAL);
    CHECK_STR(b.data, "MASK_None~");
    CHECK_INT(tx_abctok_vocab_size(t), 101);
    int32_t bad[] = {3, 101};
    CHECK_INT(tx_abctok_decode(t, bad, 2, &b, &err), TX_EINVAL);
    CHECK(strstr(err.msg, "token 1") != NULL);
    /* a model of another base size is refused (and freed) */
    tx_bpe_words w = {50, NULL, 0, NULL, 0};
    tx_bpe_trainer *tr = tx_bpe_trainer_new(&w, &err);
    tx_bpe_train_options to = {60, 0, 0};
    tx_bpe *bp = NULL;
    CHECK_INT(tx_bpe_train(tr, &to, NULL, NULL, &bp, &err), TX_OK);
    CHECK_INT(tx_abctok_set_bpe(t, bp, &err), TX_EINVAL);
    tx_bpe_trainer_free(tr);
    tx_buf_free(&b);
    tx_bpe_ids_free(&ids);
    tx_abctok_free(t);
}

/* ---- the corpus ---- */

typedef struct corpus {
    char **texts;
    size_t *lens;
    size_t n, cap;
    size_t files;
} corpus;

static void add_file(corpus *c, const char *path, size_t max)
{
    uint8_t *data = NULL;
    size_t len = 0;
    tx_error err;
    if (tx_read_file(path, 64u << 20, &data, &len, &err))
        return;
    c->files++;
    size_t pos = 0, s, n, taken = 0;
    while (taken < max && tx_abctok_next_tune((char *)data, len, &pos, &s, &n)) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 256;
            c->texts = realloc(c->texts, c->cap * sizeof *c->texts);
            c->lens = realloc(c->lens, c->cap * sizeof *c->lens);
        }
        c->texts[c->n] = malloc(n + 1);
        memcpy(c->texts[c->n], data + s, n);
        c->texts[c->n][n] = '\0';
        c->lens[c->n++] = n;
        taken++;
    }
    tx_free(data);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every .abc file under dir, in sorted order (so the default run is repeatable). */
static void walk(const char *dir, char ***paths, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t nn = 0, nc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (nn == nc) {
            nc = nc ? nc * 2 : 64;
            names = realloc(names, nc * sizeof *names);
        }
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                walk(path, paths, n, cap);
            } else if (strlen(names[i]) > 4 && !strcmp(names[i] + strlen(names[i]) - 4, ".abc")) {
                if (*n == *cap) {
                    *cap = *cap ? *cap * 2 : 256;
                    *paths = realloc(*paths, *cap * sizeof **paths);
                }
                (*paths)[(*n)++] = strdup(path);
            }
        }
        free(names[i]);
    }
    free(names);
}

/* The default run takes a few tunes from every 4th file (about 300 files of all six collections);
 * --all takes every tune. */
static void load_corpus(corpus *c, const char *dir)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    walk(dir, &paths, &n, &cap);
    for (size_t i = 0; i < n; i++) {
        if (all_tunes || i % 4 == 0)
            add_file(c, paths[i], all_tunes ? SIZE_MAX : 8);
        free(paths[i]);
    }
    free(paths);
}

static void free_corpus(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->texts[i]);
    free(c->texts);
    free(c->lens);
}

/* decode(encode(t)) == normalize(t) for every tune; returns how many differ. */
static size_t round_trips(const tx_abctok *t, const corpus *c, size_t *tokens, size_t *chars)
{
    size_t bad = 0;
    tx_bpe_ids ids = TX_BPE_IDS_INIT;
    tx_buf a = TX_BUF_INIT, b = TX_BUF_INIT;
    *tokens = *chars = 0;
    for (size_t i = 0; i < c->n; i++) {
        tx_error err;
        ids.len = 0;
        tx_buf_reset(&a);
        tx_buf_reset(&b);
        if (tx_abctok_encode(t, c->texts[i], c->lens[i], &ids, &err) ||
            tx_abctok_normalize(t, c->texts[i], c->lens[i], &a, &err) ||
            tx_abctok_decode(t, ids.ids, ids.len, &b, &err) || a.len != b.len ||
            (a.len && memcmp(a.data, b.data, a.len))) {
            if (bad++ < 3)
                fprintf(stderr, "tune %zu does not round-trip\n", i);
        }
        *tokens += ids.len;
        for (size_t k = 0; k < a.len; k++)   /* characters, not bytes: U+FFFD is one UNK */
            *chars += ((uint8_t)a.data[k] & 0xC0) != 0x80;
    }
    tx_bpe_ids_free(&ids);
    tx_buf_free(&a);
    tx_buf_free(&b);
    return bad;
}

static int is_bar_tail(char c) { return c == '|' || c == ':' || c == ']' || c == ',' || c == '-' || c == '\n' || (c >= '0' && c <= '9'); }

static void test_corpus(void)
{
    const char *root = tx_test_corpora();
    if (!root) {
        fprintf(stderr, "note: shared corpora not found; corpus checks left out\n");
        return;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/abc", root);
    corpus c = {0};
    load_corpus(&c, dir);
    printf("%zu tunes from %zu files\n", c.n, c.files);
    CHECK(c.n >= (all_tunes ? 10000u : 300u));

    tx_error err;
    tx_abctok_options o;
    tx_abctok_options_init(&o);
    tx_abctok *plain = tx_abctok_new(&o, &err);
    o.strip_text = o.strip_titles = 1;
    o.x_mode = TX_ABCTOK_X_RENUMBER;
    o.add_bos_eos = 1;
    tx_abctok *strip = tx_abctok_new(&o, &err);
    size_t tokens, chars;
    CHECK_INT(round_trips(plain, &c, &tokens, &chars), 0);
    CHECK_INT(tokens, chars);   /* one id per character without BPE */
    CHECK_INT(round_trips(strip, &c, &tokens, &chars), 0);

    /* BPE trained on the stripped tunes, then attached */
    tx_bpe_words w;
    tx_abctok_bpe_words(&w);
    tx_bpe_trainer *tr = tx_bpe_trainer_new(&w, &err);
    for (size_t i = 0; i < c.n; i++)
        CHECK_INT(tx_abctok_train_add(strip, tr, c.texts[i], c.lens[i], &err), TX_OK);
    tx_bpe_train_options to = {TX_ABCTOK_BASE_SIZE + 1000, 2, 0};
    tx_bpe *b = NULL;
    CHECK_INT(tx_bpe_train(tr, &to, NULL, NULL, &b, &err), TX_OK);
    tx_bpe_trainer_free(tr);
    if (!b)
        return;
    CHECK_INT(tx_bpe_n_merges(b), 1000);
    CHECK_INT(tx_abctok_set_bpe(strip, b, &err), TX_OK);
    /* no merge joins a bar line to what follows it (outside strings and decorations) */
    tx_buf l = TX_BUF_INIT, r = TX_BUF_INIT;
    size_t crossing = 0;
    for (int k = 0; k < tx_bpe_n_merges(b); k++) {
        int32_t li, ri;
        tx_bpe_merge(b, k, &li, &ri, NULL);
        tx_buf_reset(&l);
        tx_buf_reset(&r);
        CHECK_INT(tx_abctok_token(strip, li, &l), TX_OK);
        CHECK_INT(tx_abctok_token(strip, ri, &r), TX_OK);
        if (!l.len || !r.len)
            continue;
        if (strpbrk(l.data, "\"!+[") || strpbrk(r.data, "\"!+["))
            continue;
        if (l.data[l.len - 1] == '|' && !is_bar_tail(r.data[0])) {
            if (crossing++ < 3)
                fprintf(stderr, "merge %d crosses a bar: \"%s\" + \"%s\" (ids %d %d)\n", k, l.data, r.data,
                        (int)li, (int)ri);
        }
    }
    CHECK_INT(crossing, 0);
    tx_buf_free(&l);
    tx_buf_free(&r);
    CHECK_INT(tx_abctok_vocab_size(strip), TX_ABCTOK_BASE_SIZE + 1000);
    CHECK_INT(round_trips(strip, &c, &tokens, &chars), 0);
    printf("bpe: %zu characters -> %zu tokens (%.2fx)\n", chars, tokens, (double)chars / (double)tokens);
    CHECK(tokens * 2 < chars);

    tx_abctok_free(plain);
    tx_abctok_free(strip);
    free_corpus(&c);
}

static void test_tune_split(void)
{
    const char *root = tx_test_corpora();
    if (!root)
        return;
    static const char *files[] = {"cre/CRE_clean.abc", "abcmidi-examples/demo.abc"};
    for (size_t f = 0; f < 2; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/abc/%s", root, files[f]);
        uint8_t *data = NULL;
        size_t len = 0;
        tx_error err;
        if (tx_read_file(path, 64u << 20, &data, &len, &err)) {
            fprintf(stderr, "note: %s: %s\n", files[f], err.msg);
            continue;
        }
        tx_abc_file *af = NULL;
        CHECK_INT(tx_abc_parse((char *)data, len, files[f], NULL, &af, &err), TX_OK);
        size_t pos = 0, s, n, k = 0, same = 0;
        while (tx_abctok_next_tune((char *)data, len, &pos, &s, &n)) {
            if (af && k < af->n_tunes && af->tunes[k].offset == s)
                same++;
            k++;
        }
        CHECK(af && k == af->n_tunes);
        CHECK_INT(same, k);
        tx_abc_file_free(af);
        tx_free(data);
    }
    /* by hand */
    const char *t = "header\n\nX:1\nK:C\nabc\n \nfree\nX:2\r\nK:D\n";
    size_t pos = 0, s, n;
    CHECK(tx_abctok_next_tune(t, strlen(t), &pos, &s, &n));
    CHECK(s == 8 && n == 11);
    CHECK(tx_abctok_next_tune(t, strlen(t), &pos, &s, &n));
    CHECK(s == 27 && n == strlen(t) - 27 - 1);
    CHECK(!tx_abctok_next_tune(t, strlen(t), &pos, &s, &n));
}

static void test_hostile(void)
{
    tx_error err;
    tx_abctok_options o;
    tx_abctok_options_init(&o);
    o.strip_text = 1;
    tx_abctok *t = tx_abctok_new(&o, &err);
    /* a small BPE so that merges are exercised too */
    tx_bpe_words w;
    tx_abctok_bpe_words(&w);
    tx_bpe_trainer *tr = tx_bpe_trainer_new(&w, &err);
    const char *tune = "X:1\nK:G\n|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|\n\"G\"GABc dedB|]\n";
    for (int i = 0; i < 5; i++)
        tx_abctok_train_add(t, tr, tune, strlen(tune), &err);
    tx_bpe_train_options to = {TX_ABCTOK_BASE_SIZE + 50, 0, 0};
    tx_bpe *b = NULL;
    CHECK_INT(tx_bpe_train(tr, &to, NULL, NULL, &b, &err), TX_OK);
    tx_bpe_trainer_free(tr);
    CHECK_INT(tx_abctok_set_bpe(t, b, &err), TX_OK);
    static const char alphabet[] = "|:[]\"!+%\\ \t\r\nXKT:abcABC123,-\xC3\xA9\xFF";
    char buf[300];
    int bad = 0;
    tx_bpe_ids ids = TX_BPE_IDS_INIT;
    tx_buf x = TX_BUF_INIT, y = TX_BUF_INIT;
    for (int round = 0; round < 2000; round++) {
        size_t n = rnd() % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = round & 1 ? (char)rnd() : alphabet[rnd() % (sizeof alphabet - 1)];
        ids.len = 0;
        tx_buf_reset(&x);
        tx_buf_reset(&y);
        if (tx_abctok_encode(t, buf, n, &ids, &err) || tx_abctok_normalize(t, buf, n, &x, &err) ||
            tx_abctok_decode(t, ids.ids, ids.len, &y, &err) || x.len != y.len ||
            (x.len && memcmp(x.data, y.data, x.len)))
            bad++;
    }
    CHECK_INT(bad, 0);
    /* normalising is idempotent */
    tx_buf_reset(&x);
    tx_buf_reset(&y);
    const char *messy = "T: a \t b\r\nK:G % c\nabc | \xE2\x82\xAC d\n";
    tx_abctok_normalize(t, messy, strlen(messy), &x, &err);
    tx_abctok_normalize(t, x.data, x.len, &y, &err);
    CHECK_STR(y.data, x.data);
    tx_bpe_ids_free(&ids);
    tx_buf_free(&x);
    tx_buf_free(&y);
    tx_abctok_free(t);
}

/* ---- a fixed model: training is deterministic and its file format stable ---- */

static size_t progress_calls;
static void on_progress(void *ud, size_t done, size_t total)
{
    (void)ud;
    progress_calls++;
    CHECK(done <= total);
}

/* tests/data/bpe/tunes.abc trained to 100 merges must save byte for byte as
 * tests/data/bpe/tunes-bpe-100.json (TACTUS_UPDATE_GOLDEN=1 rewrites it after a reviewed change). */
static void test_golden_model(void)
{
    char path[4200], gpath[4200];
    snprintf(path, sizeof path, "%s/tests/data/bpe/tunes.abc", TX_SOURCE_ROOT);
    snprintf(gpath, sizeof gpath, "%s/tests/data/bpe/tunes-bpe-100.json", TX_SOURCE_ROOT);
    uint8_t *data = NULL;
    size_t len = 0;
    tx_error err;
    CHECK_INT(tx_read_file(path, 1 << 20, &data, &len, &err), TX_OK);
    if (!data)
        return;
    tx_abctok *t = tx_abctok_new(NULL, &err);
    tx_bpe_words w;
    tx_abctok_bpe_words(&w);
    tx_bpe_trainer *tr = tx_bpe_trainer_new(&w, &err);
    size_t pos = 0, s, n, tunes = 0;
    while (tx_abctok_next_tune((char *)data, len, &pos, &s, &n)) {
        CHECK_INT(tx_abctok_train_add(t, tr, (char *)data + s, n, &err), TX_OK);
        tunes++;
    }
    CHECK_INT(tunes, 5);
    tx_bpe_train_options o = {TX_ABCTOK_BASE_SIZE + 100, 0, 0};
    tx_bpe *b = NULL;
    CHECK_INT(tx_bpe_train(tr, &o, on_progress, NULL, &b, &err), TX_OK);
    tx_bpe_trainer_free(tr);
    CHECK(progress_calls >= 1);
    if (!b) {
        tx_free(data);
        tx_abctok_free(t);
        return;
    }
    CHECK_INT(tx_bpe_n_merges(b), 100);
    tx_buf j = TX_BUF_INIT;
    CHECK_INT(tx_bpe_save(b, &j), TX_OK);
    const char *upd = getenv("TACTUS_UPDATE_GOLDEN");
    if (upd && *upd == '1') {
        CHECK_INT(tx_write_file_atomic(gpath, j.data, j.len, &err), TX_OK);
        printf("rewrote %s\n", gpath);
    }
    uint8_t *golden = NULL;
    size_t glen = 0;
    CHECK_INT(tx_read_file(gpath, 1 << 20, &golden, &glen, &err), TX_OK);
    CHECK(golden && glen == j.len && !memcmp(golden, j.data, glen));
    /* the golden file loads and tokenizes every tune back to its normalised text */
    tx_bpe *g = NULL;
    CHECK_INT(tx_bpe_load_file(gpath, &g, &err), TX_OK);
    CHECK_INT(tx_abctok_set_bpe(t, g, &err), TX_OK);
    pos = 0;
    size_t bad = 0, ids_total = 0, chars = 0;
    tx_bpe_ids ids = TX_BPE_IDS_INIT;
    tx_buf x = TX_BUF_INIT, y = TX_BUF_INIT;
    while (tx_abctok_next_tune((char *)data, len, &pos, &s, &n)) {
        ids.len = 0;
        tx_buf_reset(&x);
        tx_buf_reset(&y);
        tx_abctok_encode(t, (char *)data + s, n, &ids, &err);
        tx_abctok_normalize(t, (char *)data + s, n, &x, &err);
        tx_abctok_decode(t, ids.ids, ids.len, &y, &err);
        bad += x.len != y.len || memcmp(x.data, y.data, x.len);
        ids_total += ids.len;
        chars += x.len;
    }
    CHECK_INT(bad, 0);
    CHECK(ids_total * 2 < chars);
    tx_bpe_ids_free(&ids);
    tx_buf_free(&x);
    tx_buf_free(&y);
    tx_free(golden);
    tx_buf_free(&j);
    tx_bpe_free(b);
    tx_abctok_free(t);
    tx_free(data);
}

/* ---- out of memory ---- */

static int abctok_everything(const char *tune)
{
    tx_error err;
    tx_abctok_options o;
    tx_abctok_options_init(&o);
    o.add_bos_eos = 1;
    tx_abctok *t = tx_abctok_new(&o, &err);
    if (!t)
        return err.code;
    tx_bpe_words w;
    tx_abctok_bpe_words(&w);
    tx_bpe_trainer *tr = tx_bpe_trainer_new(&w, &err);
    tx_bpe *b = NULL;
    tx_bpe_ids ids = TX_BPE_IDS_INIT;
    tx_buf x = TX_BUF_INIT, y = TX_BUF_INIT;
    int rc = tr ? tx_abctok_train_add(t, tr, tune, strlen(tune), &err) : err.code;
    tx_bpe_train_options to = {TX_ABCTOK_BASE_SIZE + 30, 0, 0};
    if (!rc)
        rc = tx_bpe_train(tr, &to, NULL, NULL, &b, &err);
    if (!rc) {
        rc = tx_abctok_set_bpe(t, b, &err);
        b = NULL;
    }
    if (!rc)
        rc = tx_abctok_encode(t, tune, strlen(tune), &ids, &err);
    if (!rc)
        rc = tx_abctok_normalize(t, tune, strlen(tune), &x, &err);
    if (!rc)
        rc = tx_abctok_decode(t, ids.ids, ids.len, &y, &err);
    if (!rc)
        rc = tx_abctok_token(t, ids.ids[1], &y);
    if (!rc && (y.len < x.len || memcmp(x.data, y.data, x.len)))
        rc = -1;
    tx_bpe_trainer_free(tr);
    tx_bpe_free(b);
    tx_abctok_free(t);
    tx_bpe_ids_free(&ids);
    tx_buf_free(&x);
    tx_buf_free(&y);
    return rc;
}

static void test_out_of_memory(void)
{
    const char *tune = "X:3\nT:Test\nM:4/4\nK:D\n|:DFA dAF|GBd gdB:|\n|]\xC3\xA9 abc|abc|\n";
    int ok = 0, leaks = 0, wrong = 0;
    for (long budget = 0; budget < 5000 && !ok; budget++) {
        tx_test_alloc_begin(budget);
        int rc = abctok_everything(tune);
        long live = tx_test_alloc_end();
        if (rc == TX_OK)
            ok = 1;
        else if (rc != TX_ENOMEM)
            wrong++;
        if (live != 0)
            leaks++;
    }
    CHECK(ok);
    CHECK_INT(leaks, 0);
    CHECK_INT(wrong, 0);
}

int main(int argc, char **argv)
{
    all_tunes = argc > 1 && !strcmp(argv[1], "--all");
    if (!all_tunes) {
        RUN(test_normalize);
        RUN(test_ids);
        RUN(test_tune_split);
        RUN(test_hostile);
        RUN(test_out_of_memory);
        RUN(test_golden_model);
    }
    RUN(test_corpus);
    return tx_test_finish();
}
