/* midi-write.c: a score to a Standard MIDI File, type 1, written through libsmf (smf-glue.c).
 *
 * The first track chunk is the conductor: the score's "title" as its track name, then the tempo map,
 * time and key signatures, and the texts that belong to no track. Each score track follows as its own
 * chunk: its name, a program change on its channel at tick 0, its texts, and its notes; as the reader
 * splits chunks by (channel, program), each such chunk reads back as exactly that one track. The
 * division is the score's tpq. The score must pass tx_score_check() (sorted, in range). This file
 * decides which events a score becomes and in which order; it is not the reader (midi.c) and it does
 * not call libsmf itself.
 *
 * What the reader gets back (midi.h describes the mapping): the same notes, tracks, tempos and
 * signatures, with these exceptions, which no score read from MIDI has:
 * - a track with channel -1 is given the lowest channel no other track uses (cycling when all are
 *   taken), never 9 unless it is a drum track; drum tracks always go to channel 9, and a non-drum
 *   track that asks for channel 9 is treated as if it had none (channel 9 would make it drums);
 * - a track without notes is written but read back as no track;
 * - the title is written, but the reader does not turn the conductor's name back into metadata; other
 *   metadata, the pickup and note flags have no place in SMF and are not written;
 * - SMF knows only major and minor keys: minor and aeolian are written as minor, every other mode
 *   (dorian, ..., none) as major with the same number of sharps or flats;
 * - chord symbols and annotations have no meta event of their own and are written as text events;
 * - texts, track names and the title are cut to 127 bytes (at a UTF-8 character boundary): libsmf
 *   1.3's smf_save() refuses longer meta events (it checks only the first byte of their length);
 * - two notes of one pitch on one track that nest (the later one ends before the earlier one) cannot
 *   survive first-in-first-out pairing: they come back with their ends exchanged.
 * Event order at one tick, which makes the reader's FIFO pairing recover every other note exactly:
 * track name and program change, meta events, note-offs of notes that began earlier, then note-ons in
 * the score's order (onset, pitch, duration), each zero-length note's note-off right after its on.
 *
 * The file is built completely in memory (by libsmf) before anything touches the disk, saved to a
 * temporary file beside the target, synced and renamed over it; on any failure the target is left as
 * it was and the temporary file is removed.
 */
#include "midi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smf-glue-priv.h"

/* ---- checks ---- */

static int tick_ok(tx_tick t)
{
    return t >= 0 && t <= TX_SMF_MAX_TICK;
}

/* Everything libsmf or the SMF format could not take, checked before anything is encoded. */
static int check_score(const tx_score *s, const char *path, tx_error *err)
{
    tx_error e;
    tx_error_clear(&e);
    if (tx_score_check(s, &e) != TX_OK)
        return tx_error_set(err, TX_EINVAL, "%s: cannot write this score: %s", path, e.msg);
    if (s->n_tracks + 1 > TX_MIDI_MAX_TRACKS)
        return tx_error_set(err, TX_ELIMIT, "%s: %zu tracks; at most %d fit in a MIDI file tactus reads",
                            path, s->n_tracks, TX_MIDI_MAX_TRACKS - 1);
    /* notes per track: each note is two events, and libsmf counts a track's events in an int */
    if (s->n_notes >= (size_t)TX_SMF_MAX_EVENTS / 2)
        return tx_error_set(err, TX_ELIMIT, "%s: %zu notes; at most %d can be written", path, s->n_notes,
                            TX_SMF_MAX_EVENTS / 2 - 1);
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tx_track *t = &s->tracks[i];
        if (t->program < 0 || t->program > 127 || t->channel < -1 || t->channel > 15)
            return tx_error_set(err, TX_EINVAL, "%s: track %zu: program %d or channel %d out of range",
                                path, i, t->program, t->channel);
    }
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        if (!tick_ok(n->onset) || n->duration < 0 || n->duration > TX_SMF_MAX_TICK - n->onset)
            return tx_error_set(err, TX_ELIMIT, "%s: note %zu ends beyond tick %d, the SMF limit", path, i,
                                TX_SMF_MAX_TICK);
    }
    for (size_t i = 0; i < s->n_tempos; i++) {
        if (!tick_ok(s->tempos[i].tick))
            return tx_error_set(err, TX_ELIMIT, "%s: tempo %zu beyond tick %d, the SMF limit", path, i,
                                TX_SMF_MAX_TICK);
        if (s->tempos[i].usec_per_quarter < 1 || s->tempos[i].usec_per_quarter > 0xFFFFFF)
            return tx_error_set(err, TX_EINVAL, "%s: tempo %zu out of range", path, i);
    }
    for (size_t i = 0; i < s->n_timesigs; i++) {
        const tx_timesig *t = &s->timesigs[i];
        if (!tick_ok(t->tick))
            return tx_error_set(err, TX_ELIMIT, "%s: time signature %zu beyond tick %d, the SMF limit",
                                path, i, TX_SMF_MAX_TICK);
        if (t->num < 1 || t->num > 255 || t->den < 1 || t->den > 128 ||
            (t->den & (t->den - 1)))
            return tx_error_set(err, TX_EINVAL, "%s: time signature %zu out of range", path, i);
    }
    for (size_t i = 0; i < s->n_keysigs; i++) {
        const tx_keysig *k = &s->keysigs[i];
        if (!tick_ok(k->tick))
            return tx_error_set(err, TX_ELIMIT, "%s: key signature %zu beyond tick %d, the SMF limit",
                                path, i, TX_SMF_MAX_TICK);
        if (k->fifths < -7 || k->fifths > 7 || k->mode < 0 || k->mode >= TX_NMODES)
            return tx_error_set(err, TX_EINVAL, "%s: key signature %zu out of range", path, i);
    }
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *t = &s->texts[i];
        if (!tick_ok(t->tick))
            return tx_error_set(err, TX_ELIMIT, "%s: text %zu beyond tick %d, the SMF limit", path, i,
                                TX_SMF_MAX_TICK);
        if (t->track < -1 || (t->track >= 0 && (size_t)t->track >= s->n_tracks) ||
            t->kind < 0 || t->kind >= TX_NTEXTS || !t->text)
            return tx_error_set(err, TX_EINVAL, "%s: text %zu out of range", path, i);
    }
    return TX_OK;
}

/* ---- channels ---- */

/* The channel each track is written on (see the top of the file). ch has n_tracks entries. */
static void assign_channels(const tx_score *s, int *ch)
{
    int used[16] = {0};
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tx_track *t = &s->tracks[i];
        ch[i] = t->is_drum ? 9 : (t->channel == 9 ? -1 : t->channel);
        if (ch[i] >= 0)
            used[ch[i]] = 1;
    }
    int next = 0;   /* where the search for a free channel starts; cycles once all are taken */
    for (size_t i = 0; i < s->n_tracks; i++) {
        if (ch[i] >= 0)
            continue;
        int pick = -1;
        for (int c = 0; c < 16 && pick < 0; c++)
            if (c != 9 && !used[c])
                pick = c;
        if (pick < 0) {
            pick = next;
            next = (next + 1) % 16;
            if (next == 9)
                next = 10;
        }
        used[pick] = 1;
        ch[i] = pick;
    }
}

/* ---- encoding ---- */

enum {                 /* order of events at one tick */
    CLS_HEAD = 0,      /* track name, program change */
    CLS_META = 1,      /* tempo, signatures, texts */
    CLS_OFF = 2,       /* note-offs of notes with a positive duration */
    CLS_ON = 3,        /* note-ons, and each zero-length note's off right after its on */
};

typedef struct item {
    uint32_t tick;
    uint32_t cls;
    uint64_t seq;      /* order within a class at one tick */
    uint32_t len;
    size_t off;        /* into the byte pool */
} item;

typedef struct encoder {
    tx_buf pool;                     /* event bytes of the track being built */
    item *items; size_t n, cap;
    tx_smf_event *ev; size_t cap_ev;
    int oom;
} encoder;

static void put(encoder *en, uint32_t tick, uint32_t cls, uint64_t seq, const void *bytes, size_t len)
{
    if (en->oom)
        return;
    if (tx_grow((void **)&en->items, &en->cap, en->n + 1, sizeof *en->items)) {
        en->oom = 1;
        return;
    }
    item *it = &en->items[en->n++];
    it->tick = tick;
    it->cls = cls;
    it->seq = seq;
    it->len = (uint32_t)len;
    it->off = en->pool.len;
    if (tx_buf_append(&en->pool, bytes, len))
        en->oom = 1;
}

static void put3(encoder *en, uint32_t tick, uint32_t cls, uint64_t seq, int b0, int b1, int b2)
{
    uint8_t b[3] = {(uint8_t)b0, (uint8_t)b1, (uint8_t)b2};
    put(en, tick, cls, seq, b, 3);
}

/* A meta event FF type <VLQ length> data. */
static void put_meta(encoder *en, uint32_t tick, uint32_t cls, uint64_t seq, int type, const void *data,
                     size_t len)
{
    uint8_t head[8];
    size_t h = 0;
    head[h++] = 0xFF;
    head[h++] = (uint8_t)type;
    uint8_t vlq[5];
    size_t v = 0;
    size_t x = len;
    do {
        vlq[v++] = (uint8_t)(x & 0x7F);
        x >>= 7;
    } while (x && v < sizeof vlq);
    while (v > 1) {   /* most significant group first; all but the last carry the high bit */
        v--;
        head[h++] = (uint8_t)(vlq[v] | 0x80);
    }
    head[h++] = vlq[0];
    /* one pool entry for head and data: append both, then fix the item's length */
    size_t before = en->n;
    put(en, tick, cls, seq, head, h);
    if (en->oom)
        return;
    if (tx_buf_append(&en->pool, data, len)) {
        en->oom = 1;
        return;
    }
    en->items[before].len = (uint32_t)(h + len);
}

/* A text meta event (text, name, lyric ...), cut to the 127 bytes libsmf can save, at a UTF-8
 * character boundary. */
static void put_text(encoder *en, uint32_t tick, uint32_t cls, uint64_t seq, int type, const char *text)
{
    size_t len = strlen(text);
    if (len == 0)
        return;   /* the reader skips empty texts; an empty name is no name */
    if (len > TX_SMF_MAX_META_DATA) {
        len = TX_SMF_MAX_META_DATA;
        while (len > 0 && ((uint8_t)text[len] & 0xC0) == 0x80)
            len--;   /* text[len] continues a character: cut before that character */
    }
    put_meta(en, tick, cls, seq, type, text, len);
}

static int text_meta_type(int kind)
{
    switch (kind) {
    case TX_TEXT_COPYRIGHT: return 0x02;
    case TX_TEXT_INSTRUMENT: return 0x04;
    case TX_TEXT_LYRIC: return 0x05;
    case TX_TEXT_MARKER: return 0x06;
    case TX_TEXT_CUE: return 0x07;
    default: return 0x01;   /* text, chord symbols, annotations */
    }
}

static int item_cmp(const void *pa, const void *pb)
{
    const item *a = pa, *b = pb;
    if (a->tick != b->tick)
        return a->tick < b->tick ? -1 : 1;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sorts the items, hands them to the writer as one track chunk, and empties the encoder. */
static int flush_track(encoder *en, tx_smf_writer *w, const char *path, tx_error *err)
{
    if (en->oom)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    /* keys are unique (tick, class, seq), so qsort's instability does not matter */
    if (en->n > 1)
        qsort(en->items, en->n, sizeof *en->items, item_cmp);
    if (tx_grow((void **)&en->ev, &en->cap_ev, en->n ? en->n : 1, sizeof *en->ev))
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    uint32_t end = 0;
    for (size_t i = 0; i < en->n; i++) {
        en->ev[i].tick = en->items[i].tick;
        en->ev[i].len = en->items[i].len;
        en->ev[i].off = en->items[i].off;
        end = en->items[i].tick;
    }
    int rc = tx_smf_writer_add_track(w, en->ev, en->n, (const uint8_t *)en->pool.data, en->pool.len, end,
                                     path, err);
    en->n = 0;
    tx_buf_reset(&en->pool);
    return rc;
}

static int encode_conductor(const tx_score *s, encoder *en, tx_smf_writer *w, const char *path,
                            tx_error *err)
{
    const char *title = tx_score_meta(s, "title");
    if (title && *title)
        put_text(en, 0, CLS_HEAD, 0, 0x03, title);
    uint64_t seq = 0;
    for (size_t i = 0; i < s->n_tempos; i++) {
        uint32_t u = s->tempos[i].usec_per_quarter;
        uint8_t d[3] = {(uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u};
        put_meta(en, (uint32_t)s->tempos[i].tick, CLS_META, seq++, 0x51, d, 3);
    }
    for (size_t i = 0; i < s->n_timesigs; i++) {
        const tx_timesig *t = &s->timesigs[i];
        int dd = 0;
        while ((1 << dd) < t->den)
            dd++;
        int clocks = 96 / t->den;   /* MIDI clocks (24 a quarter) per denominator note */
        uint8_t d[4] = {(uint8_t)t->num, (uint8_t)dd, (uint8_t)(clocks > 0 ? clocks : 1), 8};
        put_meta(en, (uint32_t)t->tick, CLS_META, seq++, 0x58, d, 4);
    }
    for (size_t i = 0; i < s->n_keysigs; i++) {
        const tx_keysig *k = &s->keysigs[i];
        int minor = k->mode == TX_MODE_MINOR || k->mode == TX_MODE_AEOLIAN;
        uint8_t d[2] = {(uint8_t)(int8_t)k->fifths, (uint8_t)minor};
        put_meta(en, (uint32_t)k->tick, CLS_META, seq++, 0x59, d, 2);
    }
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *t = &s->texts[i];
        if (t->track < 0)
            put_text(en, (uint32_t)t->tick, CLS_META, seq++, text_meta_type(t->kind), t->text);
    }
    return flush_track(en, w, path, err);
}

/* One score track: notes are those of s->notes listed in idx[0..n_idx), in score order. */
static int encode_track(const tx_score *s, size_t track, int ch, const size_t *idx, size_t n_idx,
                        encoder *en, tx_smf_writer *w, const char *path, tx_error *err)
{
    const tx_track *t = &s->tracks[track];
    if (t->name && *t->name)
        put_text(en, 0, CLS_HEAD, 0, 0x03, t->name);
    put(en, 0, CLS_HEAD, 1, (uint8_t[]){(uint8_t)(0xC0 | ch), (uint8_t)t->program}, 2);
    uint64_t seq = 0;
    for (size_t i = 0; i < s->n_texts; i++) {
        const tx_text *x = &s->texts[i];
        if (x->track >= 0 && (size_t)x->track == track)
            put_text(en, (uint32_t)x->tick, CLS_META, seq++, text_meta_type(x->kind), x->text);
    }
    for (size_t k = 0; k < n_idx; k++) {
        const tx_note *n = &s->notes[idx[k]];
        uint32_t on = (uint32_t)n->onset, off = (uint32_t)(n->onset + n->duration);
        put3(en, on, CLS_ON, 2 * (uint64_t)k, 0x90 | ch, n->pitch, n->velocity);
        if (n->duration == 0)
            put3(en, off, CLS_ON, 2 * (uint64_t)k + 1, 0x80 | ch, n->pitch, 64);
        else
            put3(en, off, CLS_OFF, 2 * (uint64_t)k, 0x80 | ch, n->pitch, 64);
    }
    return flush_track(en, w, path, err);
}

/* Builds the whole file in libsmf's memory. */
static int encode(const tx_score *s, tx_smf_writer *w, const char *path, tx_error *err)
{
    encoder en = {TX_BUF_INIT, NULL, 0, 0, NULL, 0, 0};
    int *ch = tx_malloc((s->n_tracks ? s->n_tracks : 1) * sizeof *ch);
    size_t *start = tx_calloc(s->n_tracks + 1, sizeof *start);
    size_t *idx = tx_malloc((s->n_notes ? s->n_notes : 1) * sizeof *idx);
    int rc;
    if (!ch || !start || !idx) {
        rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    assign_channels(s, ch);
    /* notes grouped by track, each group in score order (a counting sort, stable) */
    for (size_t i = 0; i < s->n_notes; i++)
        start[s->notes[i].track + 1]++;
    for (size_t t = 0; t < s->n_tracks; t++)
        start[t + 1] += start[t];
    {
        size_t *fill = tx_malloc((s->n_tracks ? s->n_tracks : 1) * sizeof *fill);
        if (!fill) {
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        memcpy(fill, start, s->n_tracks * sizeof *fill);
        for (size_t i = 0; i < s->n_notes; i++)
            idx[fill[s->notes[i].track]++] = i;
        tx_free(fill);
    }
    rc = encode_conductor(s, &en, w, path, err);
    for (size_t t = 0; rc == TX_OK && t < s->n_tracks; t++)
        rc = encode_track(s, t, ch[t], idx + start[t], start[t + 1] - start[t], &en, w, path, err);
out:
    tx_free(ch);
    tx_free(start);
    tx_free(idx);
    tx_free(en.items);
    tx_free(en.ev);
    tx_buf_free(&en.pool);
    return rc;
}

/* ---- the file ---- */

int tx_midi_write_file(const tx_score *s, const char *path, tx_error *err)
{
    if (!path)
        return tx_error_set(err, TX_EINVAL, "tx_midi_write_file: no path");
    if (!s)
        return tx_error_set(err, TX_EINVAL, "%s: no score to write", path);
    int rc = check_score(s, path, err);
    if (rc != TX_OK)
        return rc;
    tx_smf_writer *w = tx_smf_writer_new(s->tpq);
    if (!w)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    rc = encode(s, w, path, err);
    if (rc != TX_OK) {
        tx_smf_writer_free(w);
        return rc;
    }

    size_t pl = strlen(path);
    char *tmp = tx_malloc(pl + 16);
    if (!tmp) {
        tx_smf_writer_free(w);
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = tx_error_set(err, TX_EIO, "%s: %s", path, strerror(errno));
        tx_free(tmp);
        tx_smf_writer_free(w);
        return rc;
    }
    /* libsmf opens the temporary file by name and writes it; fd keeps it ours for fsync and mode. */
    rc = tx_smf_writer_save(w, tmp, path, err);
    tx_smf_writer_free(w);
    if (rc == TX_OK) {
        mode_t um = umask(0);   /* mkstemp makes the file 0600; give it a new file's usual mode */
        umask(um);
        if (fchmod(fd, 0666 & ~um) != 0 || fsync(fd) != 0)
            rc = tx_error_set(err, TX_EIO, "%s: %s", path, strerror(errno));
    }
    if (close(fd) != 0 && rc == TX_OK)
        rc = tx_error_set(err, TX_EIO, "%s: %s", path, strerror(errno));
    if (rc == TX_OK && rename(tmp, path) != 0)
        rc = tx_error_set(err, TX_EIO, "%s: %s", path, strerror(errno));
    if (rc != TX_OK)
        unlink(tmp);
    tx_free(tmp);
    return rc;
}
