/* test-midi-corpus.c: MIDI over real files: the round trip (tactus reads, writes through libsmf, reads
 * again: the same score) and the libsmf cross-check (libsmf reads the same file, a score is built
 * from its events with the tactus reader's rules, and it must hold the same tracks, notes, tempos,
 * time and key signatures, and texts). The written files are read with libsmf as well, and must give
 * the same score again.
 *
 * The files are the POP909 and ASAP MIDI files in the shared corpora (tx_test_corpora(); exit 77 when
 * absent). The unit suite runs a fixed, evenly spread subset of 15; the slow suite runs every file:
 * the test runs in full when its executable is named slow-*, when $TACTUS_CORPUS_FULL is set, or with
 * the argument --all. libsmf only ever reads valid files here (the corpus and what tactus wrote),
 * never fuzzed bytes.
 * This file is not the unit test of the writer (test-midi-write.c) or of the reader (test-midi.c).
 */
#include "harness.h"
#include "midi.h"
#include "paths.h"
#include "progress.h"
#include "sanitizer.h"
#include "scoreio.h"
#include "smf-glue-priv.h"

#include <smf.h>
#include <sys/stat.h>
#include <unistd.h>

/* libsmf grows its output buffer with one realloc per event, and under AddressSanitizer every
 * realloc moves the block, so writing is quadratic there: sanitizer builds pick the fast subset
 * among files under 16 KB (TX_TEST_SANITIZED, sanitizer.h). */

/* ---- file lists ---- */

typedef struct list {
    char **items;
    size_t n, cap;
} list;

/* tx_find_files() keeps the MIDI files (.mid, .midi, .kar, .smf in any case) and sorts them. */
static int is_midi(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) == TX_FORMAT_MIDI;
}

/* Every MIDI file under dir, sorted; a folder that cannot be read leaves l empty (checked below). */
static void find_midi(const char *dir, list *l)
{
    tx_error err;
    if (tx_find_files(dir, is_midi, NULL, &l->items, &l->n, &err) != TX_OK)
        fprintf(stderr, "%s\n", err.msg);
    l->cap = l->n;
}

static void list_free(list *l)
{
    tx_free_paths(l->items, l->n);
}

/* ---- the libsmf oracle ---- */

/* Notes waiting for their note-off, per (channel, pitch): a FIFO with a moving head. */
typedef struct fifo {
    tx_tick *onset;
    uint8_t *velocity;
    size_t head, n, cap;
} fifo;

typedef struct pending_note {
    tx_tick onset, end;
    uint8_t pitch, velocity;
    uint16_t key;         /* channel << 7 | program */
} pending_note;

typedef struct oracle {
    fifo q[16 * 128];
    pending_note *notes;
    size_t n_notes, cap_notes;
    uint8_t used[16 * 128];
    int remap[16 * 128];
} oracle;

static void fifo_push(fifo *f, tx_tick onset, uint8_t velocity)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        f->onset = tx_realloc(f->onset, cap * sizeof *f->onset);
        f->velocity = tx_realloc(f->velocity, cap * sizeof *f->velocity);
        if (!f->onset || !f->velocity) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
        f->cap = cap;
    }
    f->onset[f->n] = onset;
    f->velocity[f->n++] = velocity;
}

static void end_note(oracle *o, unsigned ch, unsigned pitch, tx_tick tick, const uint8_t *program)
{
    fifo *f = &o->q[ch << 7 | pitch];
    if (f->head == f->n)
        return;   /* nothing sounding: ignored, as the reader does */
    if (tx_grow((void **)&o->notes, &o->cap_notes, o->n_notes + 1, sizeof *o->notes)) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    pending_note *n = &o->notes[o->n_notes++];
    n->onset = f->onset[f->head];
    n->velocity = f->velocity[f->head];
    n->end = tick;
    n->pitch = (uint8_t)pitch;
    n->key = (uint16_t)(ch << 7 | program[ch]);
    o->used[n->key] = 1;
    if (++f->head == f->n)
        f->head = f->n = 0;
}

static int text_kind(unsigned type)
{
    switch (type) {
    case 0x01: return TX_TEXT_TEXT;
    case 0x02: return TX_TEXT_COPYRIGHT;
    case 0x04: return TX_TEXT_INSTRUMENT;
    case 0x05: return TX_TEXT_LYRIC;
    case 0x06: return TX_TEXT_MARKER;
    case 0x07: return TX_TEXT_CUE;
    default: return -1;
    }
}

/* The data of a meta event: after FF, type and the VLQ length (libsmf keeps the event whole). */
static const uint8_t *meta_data(const smf_event_t *e, size_t *n)
{
    const uint8_t *b = e->midi_buffer;
    size_t len = (size_t)e->midi_buffer_length, i = 2;
    uint32_t v = 0;
    while (i < len && i < 6) {
        v = v << 7 | (b[i] & 0x7F);
        if (!(b[i++] & 0x80))
            break;
    }
    *n = v <= len - i ? v : len - i;
    return b + i;
}

/* A C string of at most n bytes of d (MIDI texts may hold NUL; the reader stops there too). */
static char *cstr(const uint8_t *d, size_t n)
{
    char *s = tx_malloc(n + 1);
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

/* Reads path with libsmf and builds the score the tactus reader should build (midi.h's rules).
 * NULL when libsmf refuses the file; *why then says what libsmf logged. */
static tx_score *score_from_libsmf(const char *path, char *why, size_t why_len)
{
    tx_smf_log log;
    tx_smf_log_begin(&log);
    smf_t *smf = smf_load(path);
    tx_smf_log_end(&log);
    if (!smf) {
        snprintf(why, why_len, "libsmf refused it: %s", log.first);
        return NULL;
    }
    oracle *o = tx_calloc(1, sizeof *o);
    tx_score *s = tx_score_new(smf->ppqn);
    for (int c = 1; c <= smf->number_of_tracks; c++) {
        smf_track_t *t = smf_get_track_by_number(smf, c);
        uint8_t program[16] = {0};
        char *name = NULL;
        size_t first_text = s->n_texts;
        tx_tick end = 0;
        o->n_notes = 0;
        for (int j = 1; j <= t->number_of_events; j++) {
            const smf_event_t *e = smf_track_get_event_by_number(t, j);
            const uint8_t *b = e->midi_buffer;
            tx_tick tick = e->time_pulses;
            end = tick;
            if (e->midi_buffer_length < 1)
                continue;
            unsigned st = b[0];
            if (st == 0xFF && e->midi_buffer_length >= 2) {
                size_t n;
                const uint8_t *d = meta_data(e, &n);
                unsigned type = b[1];
                if (type == 0x2F)
                    break;
                if (type == 0x03) {
                    tx_free(name);
                    name = cstr(d, n);
                } else if (text_kind(type) >= 0) {
                    char *x = cstr(d, n);
                    if (*x)
                        tx_score_add_text(s, tick, -1, text_kind(type), x);
                    tx_free(x);
                } else if (type == 0x51 && n >= 3) {
                    uint32_t u = (uint32_t)d[0] << 16 | (uint32_t)d[1] << 8 | d[2];
                    if (u)
                        tx_score_add_tempo(s, tick, u);
                } else if (type == 0x58 && n >= 2 && d[0] && d[1] <= 7) {
                    tx_score_add_timesig(s, tick, d[0], 1 << d[1]);
                } else if (type == 0x59 && n >= 2) {
                    int sf = (int8_t)d[0];
                    if (sf >= -7 && sf <= 7 && d[1] <= 1)
                        tx_score_add_keysig(s, tick, sf, d[1] ? TX_MODE_MINOR : TX_MODE_MAJOR);
                }
                continue;
            }
            if (st < 0x80 || st >= 0xF0 || e->midi_buffer_length < 2)
                continue;
            unsigned type = st >> 4, ch = st & 15, d1 = b[1];
            unsigned d2 = e->midi_buffer_length >= 3 ? b[2] : 0;
            if (type == 0x9 && d2)
                fifo_push(&o->q[ch << 7 | d1], tick, (uint8_t)d2);
            else if (type == 0x9 || type == 0x8)
                end_note(o, ch, d1, tick, program);
            else if (type == 0xC)
                program[ch] = (uint8_t)d1;
        }
        /* notes still sounding end with the chunk */
        for (unsigned k = 0; k < 16 * 128; k++)
            while (o->q[k].head < o->q[k].n)
                end_note(o, k >> 7, k & 127, end, program);
        int first_track = -1;
        for (unsigned k = 0; k < 16 * 128; k++) {
            if (!o->used[k])
                continue;
            int idx;
            tx_score_add_track(s, name ? name : "", (int)(k & 127), (int)(k >> 7), (k >> 7) == 9, &idx);
            o->remap[k] = idx;
            if (first_track < 0)
                first_track = idx;
            o->used[k] = 0;
        }
        for (size_t i = 0; i < o->n_notes; i++) {
            const pending_note *n = &o->notes[i];
            tx_score_add_note(s, n->onset, n->end - n->onset, n->pitch, n->velocity, o->remap[n->key], 0);
        }
        for (size_t i = first_text; i < s->n_texts; i++)
            s->texts[i].track = first_track;
        tx_free(name);
    }
    tx_smf_delete_fast(smf);
    for (unsigned k = 0; k < 16 * 128; k++) {
        tx_free(o->q[k].onset);
        tx_free(o->q[k].velocity);
    }
    tx_free(o->notes);
    tx_free(o);
    tx_score_sort(s);
    return s;
}

/* ---- comparing ---- */

static int text_cmp(const void *pa, const void *pb)
{
    const tx_text *a = pa, *b = pb;
    if (a->tick != b->tick)
        return a->tick < b->tick ? -1 : 1;
    if (a->track != b->track)
        return a->track < b->track ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return strcmp(a->text, b->text);
}

/* Texts as a multiset: at one tick, the order of texts from different chunks depends on which chunk
 * they sat in, and the writer moves texts that belong to no track into the conductor chunk. */
static int same_texts(tx_score *a, tx_score *b, tx_buf *why)
{
    if (a->n_texts != b->n_texts) {
        tx_buf_printf(why, "%zu texts vs %zu", a->n_texts, b->n_texts);
        return 0;
    }
    if (a->n_texts == 0)
        return 1;
    qsort(a->texts, a->n_texts, sizeof *a->texts, text_cmp);
    qsort(b->texts, b->n_texts, sizeof *b->texts, text_cmp);
    for (size_t i = 0; i < a->n_texts; i++)
        if (text_cmp(&a->texts[i], &b->texts[i])) {
            tx_buf_printf(why, "text %zu: tick %" PRId64 " track %d \"%s\" vs tick %" PRId64
                          " track %d \"%s\"", i, a->texts[i].tick, a->texts[i].track, a->texts[i].text,
                          b->texts[i].tick, b->texts[i].track, b->texts[i].text);
            return 0;
        }
    return 1;
}

typedef struct totals {
    size_t files, notes, tempos, timesigs, keysigs, texts, bytes;
    size_t failed;
    double t_read, t_write, t_libsmf;
} totals;

/* Checks that a and b hold the same score and the same texts (two checks); on a difference, why says
 * where. Returns 1 when they are the same. */
static int check_same(tx_score *a, tx_score *b, tx_buf *why)
{
    int d = tx_score_diff(a, b, why);
    int texts_ok = d == 0 && same_texts(a, b, why);
    CHECK_INT(d, 0);
    CHECK(texts_ok);
    return !d && texts_ok;
}

/* Adds one compared file, score a of `bytes` bytes, to the totals. */
static void count(totals *t, const tx_score *a, size_t bytes)
{
    t->files++;
    t->notes += a->n_notes;
    t->tempos += a->n_tempos;
    t->timesigs += a->n_timesigs;
    t->keysigs += a->n_keysigs;
    t->texts += a->n_texts;
    t->bytes += bytes;
}

/* (a) read -> write -> read gives the same score, and libsmf reads the written file to it too. */
static void round_trip(const char *path, const char *out, totals *t)
{
    tx_score *a = NULL, *b = NULL;
    tx_midi_info info;
    tx_error err;
    tx_buf why = TX_BUF_INIT;
    double t0 = tx_now();
    int rc = tx_midi_read_file(path, &a, &info, &err);
    t->t_read += tx_now() - t0;
    size_t bytes = info.bytes;
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "%s: read: %s\n", path, err.msg);
        t->failed++;
        return;
    }
    t0 = tx_now();
    rc = tx_midi_write_file(a, out, &err);
    t->t_write += tx_now() - t0;
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "%s: write: %s\n", path, err.msg);
        t->failed++;
        tx_score_free(a);
        return;
    }
    rc = tx_midi_read_file(out, &b, &info, &err);
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "%s: reading the written file: %s\n", path, err.msg);
        t->failed++;
    } else {
        CHECK_INT(info.warnings, 0);
        if (!check_same(a, b, &why)) {
            fprintf(stderr, "%s: round trip differs: %s\n", path, why.data);
            t->failed++;
        }
        /* and libsmf reads the written file to the same score too */
        char refused[512];
        tx_score *c = score_from_libsmf(out, refused, sizeof refused);
        CHECK(c != NULL);
        tx_buf_reset(&why);
        if (!c) {
            fprintf(stderr, "%s: the written file: %s\n", path, refused);
            t->failed++;
        } else if (tx_score_diff(a, c, &why) || !same_texts(a, c, &why)) {
            CHECK(0);
            fprintf(stderr, "%s: libsmf reads the written file differently: %s\n", path, why.data);
            t->failed++;
        }
        tx_score_free(c);
        count(t, a, bytes);
    }
    unlink(out);
    tx_buf_free(&why);
    tx_score_free(a);
    tx_score_free(b);
}

/* (b) libsmf and tactus read the same file to the same score. */
static void cross_check(const char *path, totals *t)
{
    tx_score *a = NULL;
    tx_midi_info info;
    tx_error err;
    tx_buf why = TX_BUF_INIT;
    int rc = tx_midi_read_file(path, &a, &info, &err);
    CHECK_INT(rc, TX_OK);
    if (rc) {
        fprintf(stderr, "%s: read: %s\n", path, err.msg);
        t->failed++;
        return;
    }
    char refused[512];
    double t0 = tx_now();
    tx_score *b = score_from_libsmf(path, refused, sizeof refused);
    t->t_libsmf += tx_now() - t0;
    CHECK(b != NULL);
    if (!b) {
        fprintf(stderr, "%s: %s\n", path, refused);
        t->failed++;
    } else {
        if (!check_same(a, b, &why)) {
            fprintf(stderr, "%s: tactus and libsmf differ: %s\n", path, why.data);
            t->failed++;
        }
        count(t, a, info.bytes);
    }
    tx_buf_free(&why);
    tx_score_free(a);
    tx_score_free(b);
}

static void report(const char *what, const totals *t)
{
    printf("%s: %zu files (%.1f MB), %zu notes, %zu tempos, %zu time signatures, %zu key signatures, "
           "%zu texts compared; %zu differ or failed\n", what, t->files, t->bytes / 1e6, t->notes,
           t->tempos, t->timesigs, t->keysigs, t->texts, t->failed);
}

/* ---- main ---- */

/* Picks n files spread evenly over the sorted list (all of them when n is 0), of those no larger
 * than max_size bytes (0: any size). */
static void pick(const list *all, size_t n, size_t max_size, list *out)
{
    list small = {0};
    const list *l = all;
    if (max_size) {
        for (size_t i = 0; i < all->n; i++) {
            struct stat st;
            if (stat(all->items[i], &st) == 0 && (size_t)st.st_size <= max_size &&
                tx_grow((void **)&small.items, &small.cap, small.n + 1, sizeof *small.items) == 0)
                small.items[small.n++] = all->items[i];
        }
        l = &small;
    }
    size_t take = n && n < l->n ? n : l->n;
    for (size_t i = 0; i < take; i++) {
        size_t k = take == l->n ? i : i * l->n / take + l->n / (2 * take);
        if (tx_grow((void **)&out->items, &out->cap, out->n + 1, sizeof *out->items) == 0)
            out->items[out->n++] = tx_strdup(l->items[k]);
    }
    tx_free(small.items);   /* borrowed strings */
}

int main(int argc, char **argv)
{
    const char *corpora = tx_test_corpora();
    if (!corpora) {
        printf("shared corpora not found: skipped\n");
        return 77;
    }
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    const char *env = getenv("TACTUS_CORPUS_FULL");
    int full = strncmp(base, "slow-", 5) == 0 || (env && *env && strcmp(env, "0") != 0) ||
               (argc > 1 && strcmp(argv[1], "--all") == 0);

    list pop = {0}, asap = {0}, files = {0};
    char dir[4200];   /* the corpora path is at most 4095 bytes */
    snprintf(dir, sizeof dir, "%s/pop909", corpora);
    find_midi(dir, &pop);
    snprintf(dir, sizeof dir, "%s/midi-asap", corpora);
    find_midi(dir, &asap);
    CHECK(pop.n > 0);
    CHECK(asap.n > 0);
    size_t max_size = !full && TX_TEST_SANITIZED ? 16000 : 0;
    pick(&pop, full ? 0 : 8, max_size, &files);
    pick(&asap, full ? 0 : 7, max_size, &files);
    printf("%s run: %zu of %zu files (%zu POP909, %zu ASAP)\n", full ? "full" : "fast", files.n,
           pop.n + asap.n, pop.n, asap.n);

    char scratch[] = "midi-corpus-XXXXXX";
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "cannot make a scratch folder\n");
        return 1;
    }
    char out[sizeof scratch + 16];
    snprintf(out, sizeof out, "%s/out.mid", scratch);

    totals rt = {0}, xc = {0};
    tx_test_current = "round_trip";
    for (size_t i = 0; i < files.n; i++)
        round_trip(files.items[i], out, &rt);
    tx_test_current = "libsmf_cross_check";
    for (size_t i = 0; i < files.n; i++)
        cross_check(files.items[i], &xc);
    rmdir(scratch);

    report("round trip (read, write, read)", &rt);
    printf("  tactus read %.1f MB/s, write through libsmf %.1f MB/s\n",
           rt.t_read > 0 ? rt.bytes / 1e6 / rt.t_read : 0.0, rt.t_write > 0 ? rt.bytes / 1e6 / rt.t_write : 0.0);
    report("libsmf cross-check", &xc);
    printf("  libsmf load and oracle %.1f MB/s\n", xc.t_libsmf > 0 ? xc.bytes / 1e6 / xc.t_libsmf : 0.0);
    CHECK_INT(rt.files, files.n);
    CHECK_INT(xc.files, files.n);
    list_free(&pop);
    list_free(&asap);
    list_free(&files);
    return tx_test_finish();
}
