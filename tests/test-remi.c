/* test-remi.c: unit tests of the REMI / REMI+ tokenizer and of SHA-256.
 *
 * Oracles: MidiTok's own vocabularies and configuration files and its token streams (sha256 sums in
 * index.tsv) from the shared golden folder (../shared/golden/miditok-remi, or $TACTUS_GOLDEN); the
 * MIDI inputs from the shared corpora. Without them those tests print a note and are left out.
 * Built with TX_REMI_SLOW_ALL (slow-remi-golden.c) it checks all 180 files of both configurations and
 * prints how many match; otherwise ~10 per configuration.
 *
 * The MIDI inputs are read by a small reader of this file that keeps symusic 0.5.8's note order (the
 * file's NoteOn order within a track, tracks per (chunk, channel, program) in channel then program
 * order), because MidiTok tokenizes notes at one onset in that order and the score model sorts them.
 * It is a test fixture, not a MIDI reader for the library.
 */
#include "harness.h"

#include "hash.h"
#include "json.h"
#include "midi.h"
#include "score.h"
#include "tokenizers/remi.h"

#include <errno.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------- */
/* helpers                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static const char *golden_dir(void)
{
    static char path[4096];
    static int done;
    static const char *result;
    if (done)
        return result;
    done = 1;
    const char *env = getenv("TACTUS_GOLDEN");
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "%s/../shared/golden/miditok-remi", TX_SOURCE_ROOT);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/remi-default/vocab.txt", path);
    FILE *f = fopen(probe, "r");
    if (!f) {
        fprintf(stderr, "note: golden MidiTok files not found at %s; golden checks left out\n", path);
        return result = NULL;
    }
    fclose(f);
    return result = path;
}

static char *slurp(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    tx_error err;
    if (tx_read_file(path, 64u << 20, &data, len, &err))
        return NULL;
    return (char *)data;
}

/* gunzip through the gzip program: the golden token files are small. */
static char *gunzip(const char *path, size_t *len)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    tx_buf b = TX_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        tx_buf_append(&b, chunk, n);
    if (pclose(p) != 0 || b.oom) {
        tx_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    if (!b.data) {
        b.data = tx_malloc(1);
        b.data[0] = '\0';
    }
    return b.data;
}

/* ---------------------------------------------------------------------------------------------- */
/* a MIDI reader that keeps symusic's note order (test fixture)                                   */
/* ---------------------------------------------------------------------------------------------- */

typedef struct fnote { int64_t on, dur; int pitch, vel, key; } fnote;   /* key: channel*128+program */

static uint32_t rd_vlq(const uint8_t *d, size_t end, size_t *p, int *bad)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*p >= end) { *bad = 1; return 0; }
        uint8_t b = d[(*p)++];
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80))
            return v;
    }
    *bad = 1;
    return 0;
}

typedef struct qslot { int64_t on; size_t idx; } qslot;

static tx_score *read_midi_file_order(const char *path)
{
    size_t len;
    uint8_t *d = (uint8_t *)slurp(path, &len);
    if (!d || len < 14 || memcmp(d, "MThd", 4)) {
        tx_free(d);
        return NULL;
    }
    int ntrk = d[10] << 8 | d[11], div = d[12] << 8 | d[13];
    if (div & 0x8000) {
        tx_free(d);
        return NULL;
    }
    tx_score *s = tx_score_new(div);
    size_t p = 8 + ((size_t)d[4] << 24 | (size_t)d[5] << 16 | (size_t)d[6] << 8 | d[7]);
    typedef struct tev { int64_t t; int kind; uint32_t a, b; } tev;   /* tempo / time signature */
    tev *gl = NULL;
    size_t ngl = 0, capgl = 0;
    qslot *queue[16][128];
    size_t qn[16][128], qcap[16][128];
    memset(queue, 0, sizeof queue);
    for (int trk = 0; trk < ntrk && p + 8 <= len; trk++) {
        size_t clen = (size_t)d[p + 4] << 24 | (size_t)d[p + 5] << 16 | (size_t)d[p + 6] << 8 | d[p + 7];
        int is_trk = !memcmp(d + p, "MTrk", 4);
        size_t q = p + 8, end = q + clen > len ? len : q + clen;
        p = q + clen;
        if (!is_trk)
            continue;
        fnote *notes = NULL;
        size_t nn = 0, capn = 0;
        int prog[16] = {0};
        memset(qn, 0, sizeof qn);
        memset(qcap, 0, sizeof qcap);
        int64_t t = 0;
        int status = 0, bad = 0;
        while (q < end && !bad) {
            t += rd_vlq(d, end, &q, &bad);
            if (bad || q >= end)
                break;
            int b = d[q];
            if (b & 0x80) {
                q++;
                if (b < 0xf0)
                    status = b;
            } else if (!status) {
                break;
            } else {
                b = status;
            }
            if (b == 0xff) {
                if (q >= end) break;
                int type = d[q++];
                uint32_t l = rd_vlq(d, end, &q, &bad);
                if (bad || q + l > end) break;
                if (type == 0x51 && l == 3) {
                    tx_grow((void **)&gl, &capgl, ngl + 1, sizeof *gl);
                    gl[ngl++] = (tev){t, 0, (uint32_t)d[q] << 16 | (uint32_t)d[q + 1] << 8 | d[q + 2], 0};
                } else if (type == 0x58 && l >= 2) {
                    tx_grow((void **)&gl, &capgl, ngl + 1, sizeof *gl);
                    gl[ngl++] = (tev){t, 1, d[q], 1u << (d[q + 1] & 31)};
                }
                q += l;
                if (type == 0x2f)
                    break;
                continue;
            }
            if (b == 0xf0 || b == 0xf7) {
                uint32_t l = rd_vlq(d, end, &q, &bad);
                q += l;
                continue;
            }
            int hi = b & 0xf0, ch = b & 15;
            int nbytes = (hi == 0xc0 || hi == 0xd0) ? 1 : 2;
            if (q + (size_t)nbytes > end) break;
            int a1 = d[q], a2 = nbytes == 2 ? d[q + 1] : 0;
            q += (size_t)nbytes;
            if (hi == 0xc0) {
                prog[ch] = a1 & 127;
            } else if (hi == 0x90 && a2 > 0) {
                /* the note takes its place in NoteOn order now; its end comes later */
                tx_grow((void **)&notes, &capn, nn + 1, sizeof *notes);
                notes[nn] = (fnote){t, -1, a1 & 127, a2 & 127, ch * 128 + prog[ch]};
                int pi = a1 & 127;
                if (qn[ch][pi] + 1 > qcap[ch][pi])
                    tx_grow((void **)&queue[ch][pi], &qcap[ch][pi], qn[ch][pi] + 1, sizeof(qslot));
                queue[ch][pi][qn[ch][pi]++] = (qslot){t, nn};
                nn++;
            } else if (hi == 0x80 || hi == 0x90) {
                int pi = a1 & 127;
                if (qn[ch][pi] > 0 && t >= queue[ch][pi][0].on) {   /* first in, first out */
                    notes[queue[ch][pi][0].idx].dur = t - queue[ch][pi][0].on;
                    memmove(queue[ch][pi], queue[ch][pi] + 1, (qn[ch][pi] - 1) * sizeof(qslot));
                    qn[ch][pi]--;
                }
            }
        }
        /* tracks of this chunk: (channel, program) keys in increasing order */
        for (int key = 0; key < 16 * 128; key++) {
            int has = 0;
            for (size_t i = 0; i < nn && !has; i++)
                has = notes[i].key == key && notes[i].dur >= 0;
            if (!has)
                continue;
            int ti;
            int ch = key / 128;
            tx_score_add_track(s, "", key % 128, ch, ch == 9, &ti);
            for (size_t i = 0; i < nn; i++)
                if (notes[i].key == key && notes[i].dur >= 0)
                    tx_score_add_note(s, notes[i].on, notes[i].dur, notes[i].pitch, notes[i].vel, ti, 0);
        }
        tx_free(notes);
        for (int c = 0; c < 16; c++)
            for (int k = 0; k < 128; k++) {
                tx_free(queue[c][k]);
                queue[c][k] = NULL;
            }
    }
    /* maps in time order, stable (the notes keep their order: no tx_score_sort) */
    for (size_t i = 1; i < ngl; i++) {
        tev x = gl[i];
        size_t j = i;
        while (j > 0 && gl[j - 1].t > x.t) {
            gl[j] = gl[j - 1];
            j--;
        }
        gl[j] = x;
    }
    for (size_t i = 0; i < ngl; i++) {
        if (gl[i].kind == 0) {
            /* of tempos at one tick the last wins, as tx_score_sort() would do */
            if (s->n_tempos && s->tempos[s->n_tempos - 1].tick == gl[i].t)
                s->n_tempos--;
            tx_score_add_tempo(s, gl[i].t, gl[i].a ? gl[i].a : 1);
        } else {
            tx_score_add_timesig(s, gl[i].t, (int)gl[i].a, (int)gl[i].b);
        }
    }
    tx_free(gl);
    tx_free(d);
    return s;
}

/* ---------------------------------------------------------------------------------------------- */
/* SHA-256                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

static void test_sha256(void)
{
    uint8_t dg[32];
    char hex[65];
    tx_sha256("", 0, dg);
    CHECK_STR(tx_sha256_hex(dg, hex), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    tx_sha256("abc", 3, dg);
    CHECK_STR(tx_sha256_hex(dg, hex), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    tx_sha256(two, strlen(two), dg);
    CHECK_STR(tx_sha256_hex(dg, hex), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* streaming in odd pieces gives the same digest as one call */
    tx_sha256_ctx h;
    tx_sha256_init(&h);
    for (size_t i = 0; i < strlen(two); i += 7)
        tx_sha256_update(&h, two + i, strlen(two) - i < 7 ? strlen(two) - i : 7);
    uint8_t dg2[32];
    tx_sha256_final(&h, dg2);
    CHECK(!memcmp(dg, dg2, 32));
    /* one million 'a' */
    char *m = tx_malloc(1000000);
    memset(m, 'a', 1000000);
    tx_sha256_init(&h);
    tx_sha256_update(&h, m, 999999);
    tx_sha256_update(&h, m, 1);
    tx_sha256_final(&h, dg);
    CHECK_STR(tx_sha256_hex(dg, hex), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    tx_free(m);
}

/* ---------------------------------------------------------------------------------------------- */
/* vocabulary and configuration                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static tx_remi *make(int plus)
{
    tx_remi_config c;
    if (plus)
        tx_remi_config_plus(&c);
    else
        tx_remi_config_default(&c);
    tx_error err;
    tx_remi *r = tx_remi_new(&c, &err);
    if (!r)
        fprintf(stderr, "tx_remi_new: %s\n", err.msg);
    return r;
}

static void test_vocab_builtin(void)
{
    tx_remi *d = make(0), *p = make(1);
    CHECK(d && p);
    if (!d || !p)
        return;
    CHECK_INT(tx_remi_vocab_size(d), 284);
    CHECK_INT(tx_remi_vocab_size(p), 518);
    CHECK_STR(tx_remi_token(d, 0), "PAD_None");
    CHECK_STR(tx_remi_token(d, 4), "Bar_None");
    CHECK_STR(tx_remi_token(d, 5), "Pitch_21");
    CHECK_INT(tx_remi_id(p, "Tempo_121.29"), tx_remi_id(p, "Tempo_114.52") + 1);
    CHECK_INT(tx_remi_id(p, "Tempo_40.0") >= 0, 1);
    CHECK_INT(tx_remi_id(p, "TimeSig_4/4"), 517);
    CHECK_INT(tx_remi_id(d, "Tempo_40.0"), -1);
    CHECK_INT(tx_remi_id(d, "Pitch_20"), -1);
    CHECK_INT(tx_remi_id(d, "Duration_12.0.4") > 0, 1);
    CHECK(tx_remi_token(d, 284) == NULL);
    CHECK(tx_remi_token(d, -1) == NULL);
    for (int i = 0; i < tx_remi_vocab_size(p); i++)
        CHECK_INT(tx_remi_id(p, tx_remi_token(p, i)), i);
    tx_remi_free(d);
    tx_remi_free(p);
}

static void test_vocab_golden(void)
{
    const char *g = golden_dir();
    if (!g)
        return;
    for (int plus = 0; plus < 2; plus++) {
        tx_remi *r = make(plus);
        char path[4400];
        snprintf(path, sizeof path, "%s/%s/vocab.txt", g, plus ? "remi-plus" : "remi-default");
        size_t len;
        char *text = slurp(path, &len);
        CHECK(text != NULL);
        if (!text || !r) {
            tx_remi_free(r);
            continue;
        }
        int line = 0, mismatches = 0;
        for (char *a = text; *a; line++) {
            char *nl = strchr(a, '\n');
            size_t n = nl ? (size_t)(nl - a) : strlen(a);
            const char *t = tx_remi_token(r, line);
            if (!t || strlen(t) != n || memcmp(t, a, n)) {
                if (mismatches++ < 5)
                    fprintf(stderr, "vocab line %d: \"%.*s\" but tactus has \"%s\"\n", line, (int)n, a,
                            t ? t : "(none)");
            }
            a += n + (nl ? 1 : 0);
        }
        CHECK_INT(mismatches, 0);
        CHECK_INT(line, tx_remi_vocab_size(r));
        tx_free(text);
        tx_remi_free(r);
    }
}

static void test_config_json(void)
{
    const char *g = golden_dir();
    for (int plus = 0; plus < 2; plus++) {
        tx_remi_config c, back;
        if (plus)
            tx_remi_config_plus(&c);
        else
            tx_remi_config_default(&c);
        tx_buf b = TX_BUF_INIT;
        CHECK_INT(tx_remi_config_write(&c, &b), TX_OK);
        tx_error err;
        tx_error_clear(&err);
        /* write -> read gives the same configuration */
        int rc = tx_remi_config_read(&back, b.data, b.len, "written.json", &err);
        CHECK_INT(rc, TX_OK);
        if (rc)
            fprintf(stderr, "%s\n", err.msg);
        else
            CHECK(!memcmp(&c, &back, sizeof c));
        if (g) {
            /* MidiTok's own file: the same text except the tokenizers-version line, and it reads back
             * to the built-in configuration */
            char path[4400];
            snprintf(path, sizeof path, "%s/%s/config.json", g, plus ? "remi-plus" : "remi-default");
            size_t len;
            char *text = slurp(path, &len);
            CHECK(text != NULL);
            if (text) {
                char *h1 = strstr(text, "    \"hf_tokenizers_version\"");
                char *h2 = strstr(b.data, "    \"hf_tokenizers_version\"");
                CHECK(h1 && h2);
                if (h1 && h2) {
                    CHECK_INT(h1 - text, h2 - b.data);
                    CHECK(!memcmp(text, b.data, (size_t)(h1 - text)));
                }
                tx_remi_config fromfile;
                rc = tx_remi_config_read(&fromfile, text, len, "config.json", &err);
                CHECK_INT(rc, TX_OK);
                if (!rc)
                    CHECK(!memcmp(&c, &fromfile, sizeof c));
                tx_free(text);
            }
        }
        tx_buf_free(&b);
    }
    /* unsupported features are refused with TX_EUNSUP, broken files with TX_ESYNTAX */
    tx_remi_config c;
    tx_error err;
    const char *chords = "{\"config\": {\"use_chords\": true}, \"tokenization\": \"REMI\"}";
    CHECK_INT(tx_remi_config_read(&c, chords, strlen(chords), "c.json", &err), TX_EUNSUP);
    const char *tsd = "{\"config\": {}, \"tokenization\": \"TSD\"}";
    CHECK_INT(tx_remi_config_read(&c, tsd, strlen(tsd), "t.json", &err), TX_EUNSUP);
    const char *broken = "{\"config\": {\"beat_res\": {\"0_x\": 8}}}";
    CHECK_INT(tx_remi_config_read(&c, broken, strlen(broken), "b.json", &err), TX_ESYNTAX);
    const char *custom = "{\"config\": {\"beat_res\": {\"0_2\": 4, \"2_4\": 2}, \"pitch_range\": [40, 80],"
                         "\"num_velocities\": 8, \"use_programs\": true}}";
    CHECK_INT(tx_remi_config_read(&c, custom, strlen(custom), "x.json", &err), TX_OK);
    tx_remi *r = tx_remi_new(&c, &err);
    CHECK(r != NULL);
    if (r) {
        /* durations (0,1,4)..(1,3,4), (2,0,2)..(3,1,2), (4,0,2): 7 + 4 + 1 */
        CHECK_INT(tx_remi_id(r, "Duration_4.0.2") - tx_remi_id(r, "Duration_0.1.4"), 11);
        CHECK_INT(tx_remi_id(r, "Position_15"), tx_remi_id(r, "Position_0") + 15);
        CHECK_INT(tx_remi_id(r, "Position_16"), -1);
        CHECK_INT(tx_remi_id(r, "Velocity_127") - tx_remi_id(r, "Velocity_15"), 7);
        tx_remi_free(r);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* golden token streams                                                                           */
/* ---------------------------------------------------------------------------------------------- */

typedef struct golden_row { char corpus[32], source[512], tokens_file[600], sha[65]; long n_tokens; } golden_row;

static golden_row *read_index(const char *dir, const char *config, size_t *n)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/index.tsv", dir, config);
    size_t len;
    char *text = slurp(path, &len);
    *n = 0;
    if (!text)
        return NULL;
    golden_row *rows = NULL;
    size_t cap = 0;
    char *line = strchr(text, '\n');   /* skip the header */
    while (line && *++line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        golden_row g;
        long nseq;
        if (sscanf(line, "%31[^\t]\t%511[^\t]\t%599[^\t]\t%ld\t%ld\t%64[0-9a-f]", g.corpus, g.source,
                   g.tokens_file, &nseq, &g.n_tokens, g.sha) == 6) {
            tx_grow((void **)&rows, &cap, *n + 1, sizeof *rows);
            rows[(*n)++] = g;
        }
        line = nl;
    }
    tx_free(text);
    return rows;
}

/* The token text of all sequences, one line each, as MidiTok's golden files hold it. */
static void seqs_text(const tx_remi *r, const tx_remi_seqs *q, tx_buf *b)
{
    for (size_t i = 0; i < q->n_seqs; i++) {
        tx_remi_ids_to_text(r, q->ids + q->starts[i], q->starts[i + 1] - q->starts[i], b);
        tx_buf_putc(b, '\n');
    }
}

/* Which golden file rows to check: a spread over both corpora, or all. */
static int pick(size_t i, size_t n)
{
#ifdef TX_REMI_SLOW_ALL
    (void)i; (void)n;
    return 1;
#else
    /* 6 POP909 files and the ASAP files that exercise the most paths (scores with time signatures,
     * performances, the 3 mixed-denominator scores), 12 of 180 */
    static const size_t picks[] = {0, 1, 37, 59, 88, 119, 120, 124, 127, 129, 140, 179};
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++)
        if (picks[k] == i && i < n)
            return 1;
    return 0;
#endif
}

/* Prints where our text first differs from the golden file. */
static void show_difference(const char *dir, const char *cfgname, const golden_row *row, const tx_buf *ours)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/%s", dir, cfgname, row->tokens_file);
    size_t len;
    char *gold = gunzip(path, &len);
    if (!gold) {
        fprintf(stderr, "%s: %s: tokens differ (golden file unreadable)\n", cfgname, row->source);
        return;
    }
    size_t k = 0, tok = 0, line = 0;
    while (k < len && k < ours->len && gold[k] == ours->data[k]) {
        if (gold[k] == ' ') tok++;
        if (gold[k] == '\n') { line++; tok = 0; }
        k++;
    }
    size_t from = k;
    while (from > 0 && gold[from - 1] != ' ' && gold[from - 1] != '\n')
        from--;
    fprintf(stderr, "%s: %s: tokens differ at line %zu, token %zu: MidiTok \"%.40s\", tactus \"%.40s\"\n",
            cfgname, row->source, line, tok, gold + from, ours->len > from ? ours->data + from : "");
    tx_free(gold);
}

/* Sorts the note groups ([Program] Pitch Velocity Duration) inside each run between time tokens, so
 * that two sequences that differ only in the order of notes at one position compare equal. */
static const tx_remi *canon_r;
static int canon_glen;
static int cmp_group(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(int32_t) * (size_t)canon_glen);
}

static void canon_groups(const tx_remi *r, int32_t *ids, size_t n)
{
    int glen = tx_remi_get_config(r)->use_programs ? 4 : 3;
    int first = tx_remi_get_config(r)->use_programs ? 'P' : 0;
    canon_r = r;
    canon_glen = glen;
    size_t i = 0;
    while (i < n) {
        const char *t = tx_remi_token(r, ids[i]);
        int starts = first ? !strncmp(t, "Program_", 8) : (!strncmp(t, "Pitch", 5));
        if (!starts) {
            i++;
            continue;
        }
        size_t j = i;
        while (j + (size_t)glen <= n) {
            const char *u = tx_remi_token(r, ids[j]);
            if (first ? strncmp(u, "Program_", 8) : strncmp(u, "Pitch", 5))
                break;
            j += (size_t)glen;
        }
        qsort(ids + i, (j - i) / (size_t)glen, sizeof(int32_t) * (size_t)glen, cmp_group);
        i = j > i ? j : i + 1;
    }
}

/* MidiTok's tokens -> tactus's decoder -> tactus's encoder gives MidiTok's tokens back, up to the
 * order of notes at one position (the score model sorts those by pitch). */
static int golden_decodes(const tx_remi *r, const tx_remi_seqs *gq, const int *programs)
{
    const int32_t **seqs = tx_calloc(gq->n_seqs, sizeof *seqs);
    size_t *lens = tx_calloc(gq->n_seqs, sizeof *lens);
    for (size_t k = 0; k < gq->n_seqs; k++) {
        seqs[k] = gq->ids + gq->starts[k];
        lens[k] = gq->starts[k + 1] - gq->starts[k];
    }
    tx_score *s = NULL;
    tx_error err;
    tx_remi_decode_stats st = {0, 0};
    tx_remi_seqs back = TX_REMI_SEQS_INIT;
    int same = tx_remi_decode(r, seqs, lens, programs, gq->n_seqs, &s, &st, &err) == TX_OK &&
               st.skipped == 0 && tx_remi_encode(r, s, &back, &err) == TX_OK && back.n_ids == gq->n_ids &&
               back.n_seqs == gq->n_seqs;
    if (same) {
        int32_t *a = tx_malloc(sizeof *a * gq->n_ids);
        memcpy(a, gq->ids, sizeof *a * gq->n_ids);
        for (size_t k = 0; k < gq->n_seqs; k++) {
            canon_groups(r, a + gq->starts[k], gq->starts[k + 1] - gq->starts[k]);
            canon_groups(r, back.ids + back.starts[k], back.starts[k + 1] - back.starts[k]);
        }
        same = !memcmp(a, back.ids, sizeof *a * gq->n_ids);
        tx_free(a);
    }
    tx_remi_seqs_free(&back);
    tx_score_free(s);
    tx_free(seqs);
    tx_free(lens);
    return same;
}

static int is_mixed_denominator_file(const char *src)
{
    return strstr(src, "15-4/midi_score") || strstr(src, "18-4/midi_score") ||
           strstr(src, "Kreisleriana/1/midi_score");
}

static void test_golden(void)
{
    const char *g = golden_dir(), *corp = tx_test_corpora();
    if (!g || !corp) {
        fprintf(stderr, "note: golden files or corpora missing; golden token checks left out\n");
        return;
    }
    for (int plus = 0; plus < 2; plus++) {
        const char *cfgname = plus ? "remi-plus" : "remi-default";
        size_t n;
        golden_row *rows = read_index(g, cfgname, &n);
        CHECK_INT(n, 180);
        tx_remi_config c;
        if (plus) tx_remi_config_plus(&c); else tx_remi_config_default(&c);
        tx_error err;
        tx_remi *r = tx_remi_new(&c, &err);
        c.compat_miditok_bugs = 1;
        tx_remi *rc_compat = tx_remi_new(&c, &err);
        tx_remi_seqs q = TX_REMI_SEQS_INIT;
        size_t checked = 0, match = 0, match_compat = 0, match_sorted = 0, accepted = 0, tokens = 0;
        size_t decoded = 0;
        for (size_t i = 0; i < n; i++) {
            if (!pick(i, n))
                continue;
            char path[5000];
            snprintf(path, sizeof path, "%s/%s/%s", corp, rows[i].corpus, rows[i].source);
            tx_score *s = read_midi_file_order(path);
            CHECK(s != NULL);
            if (!s)
                continue;
            checked++;
            uint8_t dg[32];
            char hex[65];
            tx_buf b = TX_BUF_INIT;
            int erc = tx_remi_encode(r, s, &q, &err);
            CHECK_INT(erc, TX_OK);
            seqs_text(r, &q, &b);
            tx_sha256(b.data ? b.data : "", b.len, dg);
            int ok = !strcmp(tx_sha256_hex(dg, hex), rows[i].sha);
            match += ok;
            tokens += q.n_ids;
            int mixed = plus && is_mixed_denominator_file(rows[i].source);
            if (!ok && !mixed)
                show_difference(g, cfgname, &rows[i], &b);
            /* the grammar accepts every sequence of MidiTok's own file */
            char gpath[4400];
            snprintf(gpath, sizeof gpath, "%s/%s/%s", g, cfgname, rows[i].tokens_file);
            size_t glen;
            char *gold = gunzip(gpath, &glen);
            tx_remi_seqs gq = TX_REMI_SEQS_INIT;
            CHECK(gold != NULL);
            if (gold) {
                CHECK_INT(tx_remi_text_to_ids(r, gold, glen, gpath, &gq, &err), TX_OK);
                CHECK_INT(gq.n_seqs, q.n_seqs);
            }
            for (size_t k = 0; k < gq.n_seqs && k < q.n_seqs; k++) {
                tx_remi_grammar gr;
                tx_remi_grammar_init(&gr, r, 0, q.programs[k] == -1);
                size_t j = gq.starts[k];
                for (; j < gq.starts[k + 1]; j++)
                    if (tx_remi_grammar_feed(&gr, gq.ids[j]))
                        break;
                int acc = j == gq.starts[k + 1] && tx_remi_grammar_can_end(&gr);
                if (!acc)
                    fprintf(stderr, "%s: %s: grammar refuses token %zu (%s)\n", cfgname, rows[i].source,
                            j - gq.starts[k], j < gq.starts[k + 1] ? tx_remi_token(r, gq.ids[j]) : "end");
                CHECK(acc);
                accepted += acc;
            }
            /* decoding MidiTok's tokens and encoding again gives them back (MidiTok's own round trip
             * differs for Kreisleriana 1 in REMI+ only, whose repeated positions merge) */
            if (gq.n_seqs == q.n_seqs && gq.n_seqs) {
                int back = golden_decodes(r, &gq, q.programs);
                int expect = !(plus && strstr(rows[i].source, "Kreisleriana/1/midi_score"));
                if (back != expect)
                    fprintf(stderr, "%s: %s: decode + encode %s MidiTok's tokens\n", cfgname,
                            rows[i].source, back ? "gives back" : "does not give back");
                CHECK_INT(back, expect);
                decoded += back;
            }
            tx_remi_seqs_free(&gq);
            tx_free(gold);
            /* compatibility mode reproduces MidiTok's indexing bug */
            tx_buf_reset(&b);
            CHECK_INT(tx_remi_encode(rc_compat, s, &q, &err), TX_OK);
            seqs_text(rc_compat, &q, &b);
            tx_sha256(b.data ? b.data : "", b.len, dg);
            int okc = !strcmp(tx_sha256_hex(dg, hex), rows[i].sha);
            match_compat += okc;
            if (mixed)
                fprintf(stderr, "%s: %s (mixed denominators): default %s, compatibility mode %s\n",
                        cfgname, rows[i].source, ok ? "matches" : "differs (expected)",
                        okc ? "matches" : "DIFFERS");
            else
                CHECK(ok);
            if (mixed)
                CHECK(okc);
            /* and the same file through the library's MIDI reader (canonical note order) */
            tx_score *s2 = NULL;
            if (tx_midi_read_file(path, &s2, NULL, &err) == TX_OK) {
                tx_buf_reset(&b);
                if (tx_remi_encode(rc_compat, s2, &q, &err) == TX_OK) {
                    seqs_text(rc_compat, &q, &b);
                    tx_sha256(b.data ? b.data : "", b.len, dg);
                    int oks = !strcmp(tx_sha256_hex(dg, hex), rows[i].sha);
                    match_sorted += oks;
#ifdef TX_REMI_SLOW_ALL
                    if (!oks && getenv("TX_REMI_SHOW_READER_DIFFS"))
                        show_difference(g, cfgname, &rows[i], &b);
#endif
                }
                tx_score_free(s2);
            }
            tx_buf_free(&b);
            tx_score_free(s);
        }
        printf("%s: %zu files checked, %zu identical to MidiTok (%zu in compatibility mode), "
               "%zu through tx_midi_read (compatibility mode); %zu tokens; %zu sequences accepted by the "
               "grammar; %zu files decode and re-encode to MidiTok's tokens (up to note order at a position)\n", cfgname,
               checked, match, match_compat, match_sorted, tokens, accepted, decoded);
        tx_remi_seqs_free(&q);
        tx_remi_free(r);
        tx_remi_free(rc_compat);
        tx_free(rows);
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* encoding of small hand-made scores                                                             */
/* ---------------------------------------------------------------------------------------------- */

static void encode_text(const tx_remi *r, const tx_score *s, tx_buf *b)
{
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    tx_error err;
    tx_buf_reset(b);
    if (tx_remi_encode(r, s, &q, &err) == TX_OK)
        seqs_text(r, &q, b);
    else
        tx_buf_printf(b, "error: %s", err.msg);
    tx_remi_seqs_free(&q);
}

static void test_encode_small(void)
{
    tx_remi *d = make(0), *p = make(1);
    tx_buf b = TX_BUF_INIT;
    /* 480 tpq: 8 positions per beat are 60 ticks. Ticks 30 and 90 round half away from zero. */
    tx_score *s = tx_score_new(480);
    int t0, t1;
    tx_score_add_track(s, "a", 0, 0, 0, &t0);
    tx_score_add_track(s, "drums", 0, 9, 1, &t1);
    tx_score_add_note(s, 30, 10, 60, 100, t0, 0);     /* onset 0.5 -> 1, duration -> 1 step min */
    tx_score_add_note(s, 4 * 1920 + 90, 480, 64, 5, t0, 0);   /* bar 4, velocity 5 ties up to 7 */
    tx_score_add_note(s, 0, 240, 36, 90, t1, 0);
    tx_score_add_note(s, 0, 240, 20, 90, t1, 0);     /* outside the drum range: dropped */
    tx_score_add_tempo(s, 0, 600000);                 /* 100 bpm -> 100.97 */
    tx_score_add_tempo(s, 1920, 500000);              /* 120 bpm -> 121.29 */
    tx_score_sort(s);
    encode_text(d, s, &b);
    CHECK_STR(b.data, "Bar_None Position_1 Pitch_60 Velocity_99 Duration_0.1.8 Bar_None Bar_None Bar_None "
                      "Bar_None Position_2 Pitch_64 Velocity_7 Duration_1.0.8\n"
                      "Bar_None Position_0 PitchDrum_36 Velocity_91 Duration_0.4.8\n");
    encode_text(p, s, &b);
    CHECK_STR(b.data, "Bar_None TimeSig_4/4 Position_0 Tempo_100.97 Program_-1 PitchDrum_36 Velocity_91 "
                      "Duration_0.4.8 Position_1 Program_0 Pitch_60 Velocity_99 Duration_0.1.8 "
                      "Bar_None TimeSig_4/4 Position_0 Tempo_121.29 Bar_None TimeSig_4/4 Bar_None TimeSig_4/4 "
                      "Bar_None TimeSig_4/4 Position_2 Program_0 Pitch_64 Velocity_7 Duration_1.0.8\n");
    tx_score_free(s);

    /* time signatures: 3/4 then 6/8 in the middle of a bar (delayed to the next bar), 5/16 dropped */
    s = tx_score_new(8);
    tx_score_add_track(s, "", 0, 0, 0, &t0);
    tx_score_add_timesig(s, 0, 3, 4);
    tx_score_add_timesig(s, 30, 6, 8);   /* 3/4 bars are 24 ticks at tpq 8: delayed to 48 */
    tx_score_add_timesig(s, 100, 5, 16);
    tx_score_add_note(s, 0, 8, 60, 64, t0, 0);
    tx_score_add_note(s, 50, 4, 62, 64, t0, 0);
    tx_score_sort(s);
    encode_text(p, s, &b);
    /* tpq 16: 3/4 bars are 48 ticks, so the 6/8 at 60 moves to 96; 6/8 bars are 48 ticks with positions
     * of 1 tick, and the note at 50 (100 at tpq 16) is at position 4 of the first 6/8 bar */
    CHECK_STR(b.data, "Bar_None TimeSig_3/4 Position_0 Tempo_121.29 Program_0 Pitch_60 Velocity_63 "
                      "Duration_1.0.8 Bar_None TimeSig_3/4 Bar_None TimeSig_6/8 Position_4 Program_0 Pitch_62 Velocity_63 Duration_1.0.8\n");
    tx_score_free(s);

    /* an empty score: no sequences without programs, the global events with them */
    s = tx_score_new(96);
    encode_text(d, s, &b);
    CHECK_STR(b.data ? b.data : "", "");
    encode_text(p, s, &b);
    CHECK_STR(b.data, "Bar_None TimeSig_4/4 Position_0 Tempo_121.29\n");
    tx_score_free(s);
    tx_buf_free(&b);
    tx_remi_free(d);
    tx_remi_free(p);
}

/* ---------------------------------------------------------------------------------------------- */
/* decoding and the grammar                                                                       */
/* ---------------------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* A random walk of the grammar: mostly note tokens, with a bias towards ending after min_len. */
static size_t random_walk(const tx_remi *r, int canonical, int is_drum, int32_t *out, size_t max,
                          size_t min_len)
{
    tx_remi_grammar g;
    tx_remi_grammar_init(&g, r, canonical, is_drum);
    int vs = tx_remi_vocab_size(r);
    uint8_t *mask = tx_malloc((size_t)vs);
    int *cand = tx_malloc(sizeof *cand * (size_t)vs);
    size_t n = 0;
    int eos = tx_remi_id(r, "EOS_None"), bos = tx_remi_id(r, "BOS_None"), bar = tx_remi_id(r, "Bar_None");
    while (n < max) {
        if (n >= min_len && tx_remi_grammar_can_end(&g))
            break;
        int k = 0;
        tx_remi_grammar_mask(&g, mask);
        for (int id = 0; id < vs; id++)
            if (mask[id] && id != eos && id != bos)
                cand[k++] = id;
        if (k == 0)
            break;
        int pickid = cand[rnd() % (uint32_t)k];
        /* fewer bars, so that positions and notes get exercised */
        if (pickid == bar && k > 1 && rnd() % 4)
            pickid = cand[rnd() % (uint32_t)k];
        if (tx_remi_grammar_feed(&g, pickid))
            break;
        out[n++] = pickid;
    }
    if (!tx_remi_grammar_can_end(&g))
        n = 0;   /* ran out of room: discard */
    tx_free(mask);
    tx_free(cand);
    return n;
}

static void test_roundtrip_random(void)
{
#ifdef TX_REMI_SLOW_ALL
    const int walks = 3000;
#else
    const int walks = 300;
#endif
    for (int plus = 0; plus < 2; plus++) {
        tx_remi *r = make(plus);
        int32_t *seq = tx_malloc(sizeof *seq * 4000);
        int tested = 0, equal = 0;
        tx_remi_seqs q = TX_REMI_SEQS_INIT;
        for (int w = 0; w < walks; w++) {
            int drum = !plus && (w % 5 == 4);
            size_t n = random_walk(r, 1, drum, seq, 4000, 20 + rnd() % 400);
            if (!n)
                continue;
            tested++;
            const int32_t *seqs[1] = {seq};
            size_t lens[1] = {n};
            int progs[1] = {drum ? -1 : 0};
            tx_score *s = NULL;
            tx_remi_decode_stats st;
            tx_error err;
            int rc = tx_remi_decode(r, seqs, lens, progs, 1, &s, &st, &err);
            CHECK_INT(rc, TX_OK);
            if (rc)
                continue;
            CHECK_INT(st.skipped, 0);
            CHECK_INT(tx_score_check(s, &err), TX_OK);
            rc = tx_remi_encode(r, s, &q, &err);
            CHECK_INT(rc, TX_OK);
            int same = !rc && q.n_seqs == 1 && q.n_ids == n && !memcmp(q.ids, seq, n * sizeof *seq);
            if (!same && tested - equal <= 3) {
                tx_buf a = TX_BUF_INIT, bb = TX_BUF_INIT;
                tx_remi_ids_to_text(r, seq, n, &a);
                tx_remi_ids_to_text(r, q.ids, q.n_ids, &bb);
                size_t k = 0;
                while (k < a.len && k < bb.len && a.data[k] == bb.data[k])
                    k++;
                size_t from = k > 200 ? k - 200 : 0;
                fprintf(stderr, "%s walk %d differs at char %zu:\n  walk:   ...%.300s\n  re-enc: ...%.300s\n",
                        plus ? "REMI+" : "REMI", w, k, a.data + from, bb.len > from ? bb.data + from : "");
                tx_buf_free(&a);
                tx_buf_free(&bb);
            }
            equal += same;
            tx_score_free(s);
        }
        /* walks of the relaxed grammar (MidiTok's order) decode without a skipped group too */
        int relaxed = 0;
        for (int w = 0; w < walks / 3; w++) {
            size_t n = random_walk(r, 0, 0, seq, 4000, 20 + rnd() % 400);
            if (!n)
                continue;
            const int32_t *seqs[1] = {seq};
            size_t lens[1] = {n};
            tx_score *s = NULL;
            tx_remi_decode_stats st = {0, 0};
            tx_error err;
            CHECK_INT(tx_remi_decode(r, seqs, lens, NULL, 1, &s, &st, &err), TX_OK);
            CHECK_INT(st.skipped, 0);
            if (s) {
                size_t expect = 0;
                for (size_t k = 0; k < n; k++)
                    expect += tx_remi_token(r, seq[k])[0] == 'D';   /* one Duration per note */
                CHECK_INT(st.notes, expect);
                relaxed++;
            }
            tx_score_free(s);
        }
        CHECK(relaxed > walks / 6);
        printf("%s: %d random grammar walks, %d decode and re-encode to the same ids; %d relaxed walks "
               "decode\n", plus ? "REMI+" : "REMI", tested, equal, relaxed);
        CHECK(tested > walks / 2);
        CHECK_INT(equal, tested);
        tx_remi_seqs_free(&q);
        tx_free(seq);
        tx_remi_free(r);
    }
}

static void test_grammar_rules(void)
{
    tx_remi *d = make(0), *p = make(1);
    tx_remi_grammar g;
    tx_remi_grammar_init(&g, d, 0, 0);
#define ID(r, s) tx_remi_id(r, s)
    CHECK(tx_remi_grammar_allows(&g, ID(d, "BOS_None")));
    CHECK(!tx_remi_grammar_allows(&g, ID(d, "Position_3")));   /* a Bar opens the sequence */
    CHECK(!tx_remi_grammar_allows(&g, ID(d, "EOS_None")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Bar_None")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Position_3")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(d, "Velocity_3")));   /* Pitch first */
    CHECK(!tx_remi_grammar_allows(&g, ID(d, "PitchDrum_36")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Pitch_60")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(d, "Duration_0.1.8")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Velocity_3")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Duration_0.1.8")), TX_OK);
    CHECK(tx_remi_grammar_can_end(&g));
    /* positions rise within a bar; a repeat only outside canonical mode (MidiTok's bug files) */
    CHECK(tx_remi_grammar_allows(&g, ID(d, "Position_3")));
    CHECK(!tx_remi_grammar_allows(&g, ID(d, "Position_2")));
    tx_remi_grammar gc = g;
    gc.canonical = 1;
    CHECK(!tx_remi_grammar_allows(&gc, ID(d, "Position_3")));
    CHECK(tx_remi_grammar_allows(&g, ID(d, "Position_31")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Position_2")), TX_EINVAL);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(d, "Bar_None")), TX_OK);
    CHECK(tx_remi_grammar_allows(&g, ID(d, "Position_2")));
    CHECK(!tx_remi_grammar_can_end(&g));

    /* REMI+: Bar TimeSig Position_0 Tempo first; a 3/4 bar has 24 positions */
    tx_remi_grammar_init(&g, p, 1, 0);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Bar_None")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Position_0")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "TimeSig_3/4")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Position_1")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Position_0")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Program_0")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Tempo_121.29")), TX_OK);
    CHECK(tx_remi_grammar_allows(&g, ID(p, "Position_23")));
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Position_24")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Program_-1")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Pitch_36")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "PitchDrum_36")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Velocity_63")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Duration_0.4.8")), TX_OK);
    /* canonical: program 0 is new (ranks after drums), drums again may not follow it here */
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Program_0")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Pitch_60")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Velocity_63")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Duration_0.4.8")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Program_-1")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Program_0")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Pitch_59")));     /* pitches rise at one position */
    CHECK(tx_remi_grammar_allows(&g, ID(p, "Pitch_60")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Pitch_60")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Velocity_3")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Duration_0.4.8")));   /* (60, 0.4.8, 3) < (60, 0.4.8, 63) */
    CHECK(tx_remi_grammar_allows(&g, ID(p, "Duration_0.5.8")));
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "Duration_0.5.8")), TX_OK);
    CHECK_INT(tx_remi_grammar_feed(&g, ID(p, "EOS_None")), TX_OK);
    CHECK(!tx_remi_grammar_allows(&g, ID(p, "Bar_None")));
    CHECK(tx_remi_grammar_allows(&g, ID(p, "PAD_None")));
#undef ID
    tx_remi_free(d);
    tx_remi_free(p);
}

static void test_decode_malformed(void)
{
    tx_remi *p = make(1);
    const char *text = "Bar_None TimeSig_4/4 Position_0 Tempo_100.97 Program_0 Pitch_60 Velocity_63 "
                       "Duration_1.0.8 Pitch_61 Duration_1.0.8 Velocity_63 Position_8 Program_0 Pitch_62 "
                       "Velocity_63 Duration_0.4.8 Program_-1 PitchDrum_40 Velocity_99 Duration_0.1.8 "
                       "Bar_None TimeSig_3/4 Position_4 Program_0 Pitch_64 Velocity_63";
    int32_t ids[64];
    size_t n = 0;
    for (const char *a = text; *a;) {
        const char *sp = strchr(a, ' ');
        size_t len = sp ? (size_t)(sp - a) : strlen(a);
        ids[n] = tx_remi_id_n(p, a, len);
        CHECK(ids[n] >= 0);
        n++;
        a += len + (sp ? 1 : 0);
    }
    ids[n++] = 9999;   /* an id outside the vocabulary */
    const int32_t *seqs[1] = {ids};
    size_t lens[1] = {n};
    tx_score *s = NULL;
    tx_remi_decode_stats st;
    tx_error err;
    CHECK_INT(tx_remi_decode(p, seqs, lens, NULL, 1, &s, &st, &err), TX_OK);
    if (!s)
        return;
    CHECK_INT(st.notes, 3);
    /* Pitch_61 without Velocity; its Duration and Velocity; the unfinished last note (Pitch, Velocity);
     * the unknown id */
    CHECK_INT(st.skipped, 6);
    CHECK_INT(s->tpq, 16);
    CHECK_INT(s->n_tracks, 2);
    CHECK_INT(s->n_notes, 3);
    CHECK_INT(s->n_tempos, 1);
    CHECK_INT(s->tempos[0].usec_per_quarter, 594236);   /* 60e6 / 100.97, rounded */
    CHECK_INT(s->n_timesigs, 2);
    CHECK_INT(s->timesigs[1].tick, 64);
    CHECK_INT(s->timesigs[1].num, 3);
    if (s->n_notes == 3) {
        CHECK_INT(s->notes[0].onset, 0);
        CHECK_INT(s->notes[0].duration, 16);
        CHECK_INT(s->notes[1].onset, 16);   /* Position_8: 2 ticks per position at tpq 16 */
        CHECK_INT(s->notes[1].duration, 2);   /* Duration_0.1.8: 1/8 of a 16-tick beat */
        CHECK_INT(s->notes[2].duration, 8);
        CHECK_INT(s->notes[2].pitch, 62);
        CHECK_INT(s->notes[1].pitch, 40);
        CHECK(s->tracks[s->notes[1].track].is_drum);
    }
    tx_score_free(s);
    tx_remi_free(p);
}

static void test_text(void)
{
    tx_remi *d = make(0);
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    tx_error err;
    const char *ok = "Bar_None Position_0 Pitch_60 Velocity_63 Duration_1.0.8\n\nBar_None  Bar_None\r\n";
    CHECK_INT(tx_remi_text_to_ids(d, ok, strlen(ok), "t.txt", &q, &err), TX_OK);
    CHECK_INT(q.n_seqs, 2);
    CHECK_INT(q.n_ids, 7);
    if (q.n_seqs == 2) {
        CHECK_INT(q.starts[1], 5);
        CHECK_INT(q.ids[0], tx_remi_id(d, "Bar_None"));
        CHECK_INT(q.ids[4], tx_remi_id(d, "Duration_1.0.8"));
        tx_buf b = TX_BUF_INIT;
        seqs_text(d, &q, &b);
        CHECK_STR(b.data, "Bar_None Position_0 Pitch_60 Velocity_63 Duration_1.0.8\nBar_None Bar_None\n");
        tx_buf_free(&b);
    }
    const char *bad = "Bar_None Position_0\nBar_None Pitch_200 Velocity_63\n";
    CHECK_INT(tx_remi_text_to_ids(d, bad, strlen(bad), "t.txt", &q, &err), TX_ESYNTAX);
    CHECK_STR(err.msg, "t.txt:2: token 2: unknown token \"Pitch_200\"");
    CHECK_INT(err.line, 2);
    CHECK_INT(err.column, 10);
    CHECK_INT(q.n_seqs, 0);
    tx_remi_seqs_free(&q);
    tx_remi_free(d);
}

/* ids -> score -> MIDI file -> score -> ids, for a sequence without overlapping notes of one pitch
 * (a MIDI file cannot keep those apart: its note-offs pair first in, first out). */
static void test_midi_roundtrip(void)
{
    tx_remi *p = make(1);
    const char *text = "Bar_None TimeSig_3/4 Position_0 Tempo_100.97 Program_0 Pitch_60 Velocity_63 "
                       "Duration_1.0.8 Program_0 Pitch_64 Velocity_63 Duration_2.0.8 Program_-1 PitchDrum_36 "
                       "Velocity_99 Duration_0.1.8 Position_8 Program_0 Pitch_67 Velocity_95 Duration_0.4.8 "
                       "Bar_None TimeSig_6/8 Position_3 Tempo_60.32 Program_-1 PitchDrum_38 Velocity_99 "
                       "Duration_0.1.8 Program_40 Pitch_72 Velocity_127 Duration_1.4.8\n";
    tx_remi_seqs q = TX_REMI_SEQS_INIT, back = TX_REMI_SEQS_INIT;
    tx_error err;
    CHECK_INT(tx_remi_text_to_ids(p, text, strlen(text), "t", &q, &err), TX_OK);
    const int32_t *seqs[1] = {q.ids};
    size_t lens[1] = {q.n_ids};
    tx_score *s = NULL, *s2 = NULL;
    CHECK_INT(tx_remi_decode(p, seqs, lens, NULL, 1, &s, NULL, &err), TX_OK);
    const char *file = "test-remi-roundtrip.mid";   /* in the test's working directory */
    int rc = s ? tx_midi_write_file(s, file, &err) : -1;
    CHECK_INT(rc, TX_OK);
    if (!rc) {
        rc = tx_midi_read_file(file, &s2, NULL, &err);
        CHECK_INT(rc, TX_OK);
        if (!rc) {
            CHECK_INT(tx_remi_encode(p, s2, &back, &err), TX_OK);
            tx_buf b = TX_BUF_INIT;
            seqs_text(p, &back, &b);
            CHECK_STR(b.data, text);
            tx_buf_free(&b);
        }
        remove(file);
    } else {
        fprintf(stderr, "tx_midi_write_file: %s\n", err.msg);
    }
    tx_score_free(s);
    tx_score_free(s2);
    tx_remi_seqs_free(&q);
    tx_remi_seqs_free(&back);
    tx_remi_free(p);
}

static void test_hostile(void)
{
    /* scores the encoder must not crash on: huge ticks, tpq 1, notes on missing tracks are ignored */
    tx_remi *d = make(0), *p = make(1);
    tx_score *s = tx_score_new(1);
    int t0;
    tx_score_add_track(s, "", 0, 0, 0, &t0);
    tx_score_add_note(s, 0, 0, 60, 1, t0, 0);
    tx_score_add_note(s, 5, 1000000, 127, 127, t0, 0);
    tx_score_add_timesig(s, 3, 7, 16);
    tx_score_add_tempo(s, 0, 16777215);
    tx_score_add_tempo(s, 1, 1);
    tx_score_sort(s);
    tx_remi_seqs q = TX_REMI_SEQS_INIT;
    tx_error err;
    CHECK_INT(tx_remi_encode(d, s, &q, &err), TX_OK);
    CHECK_INT(tx_remi_encode(p, s, &q, &err), TX_OK);
    tx_score_free(s);
    s = tx_score_new(480);
    tx_score_add_track(s, "", 0, 0, 0, &t0);
    tx_score_add_note(s, (int64_t)1 << 40, 10, 60, 64, t0, 0);   /* 2^40 ticks: too many bars */
    tx_score_sort(s);
    CHECK_INT(tx_remi_encode(d, s, &q, &err), TX_ELIMIT);
    CHECK_INT(q.n_seqs, 0);
    tx_score_add_note(s, (int64_t)1 << 62, 10, 60, 64, t0, 0);   /* would overflow: refused first */
    tx_score_sort(s);
    CHECK_INT(tx_remi_encode(p, s, &q, &err), TX_ELIMIT);
    tx_score_free(s);
    tx_remi_seqs_free(&q);
    tx_remi_free(d);
    tx_remi_free(p);
}

int main(void)
{
    RUN(test_sha256);
    RUN(test_vocab_builtin);
    RUN(test_vocab_golden);
    RUN(test_config_json);
    RUN(test_encode_small);
    RUN(test_grammar_rules);
    RUN(test_decode_malformed);
    RUN(test_text);
    RUN(test_midi_roundtrip);
    RUN(test_hostile);
    RUN(test_roundtrip_random);
    RUN(test_golden);
    return tx_test_finish();
}
