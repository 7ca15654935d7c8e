/* midi.c: the bounds-checked Standard MIDI File reader (SMF type 0 and 1, bytes to tx_score).
 *
 * One pass over the bytes, no allocation per event or per note: notes go straight into the score's
 * note array (which grows by doubling) at their note-on and wait there for their note-off, the
 * per-chunk state is fixed-size arrays, and the notes, already in onset order per chunk, are put in
 * canonical order by an adaptive merge rather than a full sort. Every read is checked against the
 * end of its chunk before it happens. The rules (what becomes a track, what is an error, what is
 * tolerated) are documented in midi.h. This file is not the writer (midi-write.c,
 * through libsmf) and knows nothing of controllers, pitch bends or sysex contents: they are skipped.
 */
#include "midi.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- reader state ---- */

#define NKEYS (16 * 128)   /* (channel, pitch) for pairing, (channel, program) for tracks */
#define NIL UINT32_MAX

typedef struct reader {
    const uint8_t *data;   /* the SMF bytes (inside a RIFF wrapper when there is one) */
    size_t len;
    size_t base;           /* offset of data in the caller's input, for messages */
    const char *name;
    tx_error *err;
    tx_score *s;
    tx_midi_info *info;
    int chunk;             /* MTrk chunk being read, -1 outside */

    /* Sounding notes: a note takes its place in the score's note array at its note-on, so notes
     * stay in note-on (onset) order, and waits there for its note-off in a FIFO list per (channel,
     * pitch): head and tail are note indices, and while a note sounds its duration field holds the
     * index of the next note in its list (NIL at the end). */
    uint32_t head[NKEYS], tail[NKEYS];
    size_t open;                         /* notes sounding in the current chunk */

    uint8_t program[16];                 /* program in force per channel, this chunk */
    uint8_t used[NKEYS];                 /* (channel, program) keys that got notes, this chunk */
    uint16_t keys[NKEYS];                /* the same keys as a list, n_used of them */
    int n_used;
    uint16_t remap[NKEYS];               /* key -> score track, while a chunk is finished */
    const uint8_t *track_name;           /* the chunk's last track name (borrowed from data) */
    size_t track_name_len;
    tx_buf scratch;                      /* NUL-terminated copies of texts */
} reader;

/* Formats "NAME: track T, byte N: MESSAGE" (or "NAME: byte N: MESSAGE" outside a chunk) and sets
 * the place fields. `off` is relative to r->data. */
TX_PRINTF(4, 5)
static int fail(reader *r, int code, size_t off, const char *fmt, ...)
{
    if (!r->err)
        return code;
    char what[TX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t at = r->base + off;
    if (r->chunk >= 0)
        tx_error_set(r->err, code, "%s: track %d, byte %zu: %s", r->name, r->chunk, at, what);
    else
        tx_error_set(r->err, code, "%s: byte %zu: %s", r->name, at, what);
    r->err->track = r->chunk;
    r->err->offset = at > (size_t)LONG_MAX ? -1 : (long)at;
    return code;
}

static int oom(reader *r, size_t off)
{
    return fail(r, TX_ENOMEM, off, "out of memory");
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* ---- notes ---- */

static int note_on(reader *r, unsigned ch, unsigned pitch, unsigned velocity, tx_tick tick)
{
    tx_score *s = r->s;
    /* Written directly rather than through tx_score_add_note(): the note's track is only known
     * when it ends and its chunk ends (tracks come in (channel, program) order), and this is the
     * hot path. The file size limit keeps note indices far below NIL. */
    if (s->n_notes == s->cap_notes &&
        (s->n_notes >= NIL - 1 ||
         tx_grow((void **)&s->notes, &s->cap_notes, s->n_notes + 1, sizeof *s->notes)))
        return TX_ENOMEM;
    uint32_t idx = (uint32_t)s->n_notes++;
    tx_note *n = &s->notes[idx];
    n->onset = tick;
    n->duration = NIL;
    n->pitch = (uint8_t)pitch;
    n->velocity = (uint8_t)velocity;
    n->track = 0;
    n->flags = 0;
    n->seq = idx;   /* note-on order over the whole file, chunk after chunk */
    unsigned k = ch << 7 | pitch;
    if (r->head[k] == NIL)
        r->head[k] = idx;
    else
        s->notes[r->tail[k]].duration = idx;
    r->tail[k] = idx;
    r->open++;
    return TX_OK;
}

/* Ends the earliest sounding note of (ch, pitch), if any (first in, first out). Its track field
 * holds its (channel, program) key until the chunk ends. */
static void note_off(reader *r, unsigned ch, unsigned pitch, tx_tick tick)
{
    unsigned k = ch << 7 | pitch;
    uint32_t idx = r->head[k];
    if (idx == NIL) {
        if (r->info)
            r->info->warnings |= TX_MIDI_WARN_STRAY_OFF;
        return;
    }
    tx_note *n = &r->s->notes[idx];
    r->head[k] = (uint32_t)n->duration;
    n->duration = tick - n->onset;
    unsigned key = ch << 7 | r->program[ch];
    n->track = (uint16_t)key;
    if (!r->used[key]) {
        r->used[key] = 1;
        r->keys[r->n_used++] = (uint16_t)key;
    }
    r->open--;
}

/* ---- chunks ---- */

/* Closes the notes still sounding at `end`, turns the chunk's (channel, program) keys into score
 * tracks in key order, and points the chunk's notes and texts at them. */
static int finish_chunk(reader *r, size_t first_note, size_t first_text, tx_tick end, size_t off)
{
    tx_score *s = r->s;
    if (r->open) {
        if (r->info)
            r->info->warnings |= TX_MIDI_WARN_OPEN_NOTES;
        for (unsigned k = 0; k < NKEYS && r->open; k++)
            while (r->head[k] != NIL)
                note_off(r, k >> 7, k & 127, end);
    }
    int first_track = -1;
    if (r->n_used) {
        tx_buf_reset(&r->scratch);
        if (tx_buf_append(&r->scratch, r->track_name ? (const char *)r->track_name : "",
                          r->track_name_len))
            return oom(r, off);
        /* the keys in order: insertion sort of the short list real files give (one or two keys
         * per chunk), a scan of the flags when a chunk uses many */
        int nk = r->n_used;
        if (nk <= 32) {
            for (int i = 1; i < nk; i++) {
                uint16_t x = r->keys[i];
                int j = i;
                for (; j > 0 && r->keys[j - 1] > x; j--)
                    r->keys[j] = r->keys[j - 1];
                r->keys[j] = x;
            }
        } else {
            nk = 0;
            for (unsigned k = 0; k < NKEYS; k++)
                if (r->used[k])
                    r->keys[nk++] = (uint16_t)k;
        }
        for (int i = 0; i < nk; i++) {
            unsigned k = r->keys[i], ch = k >> 7;
            int idx;
            int rc = tx_score_add_track(s, r->scratch.data, (int)(k & 127), (int)ch, ch == 9, &idx);
            if (rc == TX_EINVAL)
                return fail(r, TX_ELIMIT, off, "more than %d tracks", TX_MAX_TRACKS);
            if (rc)
                return oom(r, off);
            r->remap[k] = (uint16_t)idx;
            if (first_track < 0)
                first_track = idx;
            r->used[k] = 0;
        }
        r->n_used = 0;
        for (size_t i = first_note; i < s->n_notes; i++)
            s->notes[i].track = r->remap[s->notes[i].track];
    } else if (r->chunk == 0 && r->track_name_len && !tx_score_meta(s, "title")) {
        /* the name of a first chunk without notes (a type-1 conductor track) names the piece, as
         * sequencers write it and as tx_midi_write_file() writes the "title" */
        tx_buf_reset(&r->scratch);
        if (tx_buf_append(&r->scratch, (const char *)r->track_name, r->track_name_len))
            return oom(r, off);
        if (r->scratch.data[0] && tx_score_set_meta(s, "title", r->scratch.data))
            return oom(r, off);
    }
    for (size_t i = first_text; i < s->n_texts; i++)
        s->texts[i].track = first_track;
    return TX_OK;
}

/* Reads a variable-length quantity at *p (at most 4 bytes, not past end). */
static int read_vlq(reader *r, size_t *p, size_t end, uint32_t *out)
{
    const uint8_t *d = r->data;
    size_t q = *p;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (q >= end)
            return fail(r, TX_EMIDI, *p, "variable-length quantity runs past the end of the track chunk");
        uint8_t b = d[q++];
        v = v << 7 | (b & 0x7f);
        if (!(b & 0x80)) {
            *p = q;
            *out = v;
            return TX_OK;
        }
    }
    return fail(r, TX_EMIDI, *p, "variable-length quantity longer than 4 bytes");
}

static int add_text(reader *r, tx_tick tick, int kind, const uint8_t *text, size_t n, size_t off)
{
    if (n == 0)
        return TX_OK;
    tx_buf_reset(&r->scratch);
    if (tx_buf_append(&r->scratch, text, n))
        return oom(r, off);
    if (r->scratch.data[0] == '\0')
        return TX_OK;   /* a text that starts with NUL is empty as a C string */
    if (tx_score_add_text(r->s, tick, -1, kind, r->scratch.data))
        return oom(r, off);
    return TX_OK;
}

/* Interprets a meta event of `type` with n bytes at d (already bounds-checked). */
static int meta_event(reader *r, unsigned type, const uint8_t *d, size_t n, tx_tick tick, size_t off)
{
    tx_score *s = r->s;
    switch (type) {
    case 0x01: return add_text(r, tick, TX_TEXT_TEXT, d, n, off);
    case 0x02: return add_text(r, tick, TX_TEXT_COPYRIGHT, d, n, off);
    case 0x03:
        r->track_name = d;
        r->track_name_len = n;
        return TX_OK;
    case 0x04: return add_text(r, tick, TX_TEXT_INSTRUMENT, d, n, off);
    case 0x05: return add_text(r, tick, TX_TEXT_LYRIC, d, n, off);
    case 0x06: return add_text(r, tick, TX_TEXT_MARKER, d, n, off);
    case 0x07: return add_text(r, tick, TX_TEXT_CUE, d, n, off);
    case 0x51: {
        uint32_t t = n >= 3 ? (uint32_t)d[0] << 16 | (uint32_t)d[1] << 8 | d[2] : 0;
        if (t == 0)
            break;
        return tx_score_add_tempo(s, tick, t) ? oom(r, off) : TX_OK;
    }
    case 0x58: {
        if (n < 2 || d[0] == 0 || d[1] > 7)
            break;
        return tx_score_add_timesig(s, tick, d[0], 1 << d[1]) ? oom(r, off) : TX_OK;
    }
    case 0x59: {
        int sf = n >= 2 ? (int)(int8_t)d[0] : 99;
        if (sf < -7 || sf > 7 || d[1] > 1)
            break;
        return tx_score_add_keysig(s, tick, sf, d[1] ? TX_MODE_MINOR : TX_MODE_MAJOR) ? oom(r, off)
                                                                                       : TX_OK;
    }
    default:
        return TX_OK;   /* sequence number, channel prefix, port, SMPTE offset, sequencer data ... */
    }
    if (r->info)
        r->info->skipped++;
    return TX_OK;
}

static const char *const channel_event_name[8] = {
    "note-off", "note-on", "key pressure", "control change", "program change", "channel pressure",
    "pitch bend", "?"
};

/* Reads the events of the MTrk chunk whose events span [start, end) of r->data. */
static int read_track(reader *r, size_t start, size_t end)
{
    const uint8_t *d = r->data;
    tx_score *s = r->s;
    size_t first_note = s->n_notes, first_text = s->n_texts, events = 0;
    size_t p = start;
    tx_tick tick = 0;
    unsigned status = 0;
    int eot = 0, rc;

    memset(r->program, 0, sizeof r->program);
    r->track_name = NULL;
    r->track_name_len = 0;

    while (p < end) {
        /* delta time: up to 4 bytes, inlined for the common one-byte case */
        size_t ev = p;
        uint32_t delta = d[p];
        if (delta < 0x80)
            p++;
        else if ((rc = read_vlq(r, &p, end, &delta)))
            return rc;
        tick += delta;
        if (p >= end)
            return fail(r, TX_EMIDI, ev, "event runs past the end of the track chunk");
        size_t at = p;
        unsigned b = d[p];
        if (b & 0x80) {
            p++;
            if (b >= 0xf0) {
                events++;
                if (b == 0xff) {
                    if (p >= end)
                        return fail(r, TX_EMIDI, at, "meta event runs past the end of the track chunk");
                    unsigned type = d[p++];
                    uint32_t n;
                    if ((rc = read_vlq(r, &p, end, &n)))
                        return rc;
                    if (n > end - p)
                        return fail(r, TX_EMIDI, at,
                                    "meta event length %" PRIu32 " runs past the end of the track chunk "
                                    "(%zu bytes left)", n, end - p);
                    if ((rc = meta_event(r, type, d + p, n, tick, at)))
                        return rc;
                    p += n;
                    if (type == 0x2f) {
                        eot = 1;
                        break;
                    }
                } else if (b == 0xf0 || b == 0xf7) {
                    uint32_t n;
                    if ((rc = read_vlq(r, &p, end, &n)))
                        return rc;
                    if (n > end - p)
                        return fail(r, TX_EMIDI, at,
                                    "sysex length %" PRIu32 " runs past the end of the track chunk "
                                    "(%zu bytes left)", n, end - p);
                    p += n;
                } else {
                    return fail(r, TX_EMIDI, at, "illegal status byte 0x%02X", b);
                }
                continue;
            }
            status = b;
        } else if (!status) {
            return fail(r, TX_EMIDI, at, "running status without a previous status byte");
        }

        /* a channel message: status, then one or two data bytes */
        unsigned type = status >> 4, ch = status & 15;
        size_t need = (type == 0xc || type == 0xd) ? 1 : 2;
        if (end - p < need)
            return fail(r, TX_EMIDI, at, "%s event runs past the end of the track chunk",
                        channel_event_name[type - 8]);
        unsigned d1 = d[p], d2 = need == 2 ? d[p + 1] : 0;
        if ((d1 | d2) & 0x80) {
            size_t bad = d1 & 0x80 ? p : p + 1;
            return fail(r, TX_EMIDI, bad, "status byte 0x%02X where a data byte of a %s event is needed",
                        d[bad], channel_event_name[type - 8]);
        }
        p += need;
        events++;
        if (type == 0x9 && d2) {
            if (note_on(r, ch, d1, d2, tick))
                return oom(r, at);
        } else if (type == 0x9 || type == 0x8) {
            note_off(r, ch, d1, tick);
        } else if (type == 0xc) {
            r->program[ch] = (uint8_t)d1;
        }
    }
    if (r->info) {
        r->info->events += events;
        if (!eot)
            r->info->warnings |= TX_MIDI_WARN_NO_EOT;
        else if (p < end)
            r->info->warnings |= TX_MIDI_WARN_AFTER_EOT;
    }
    return finish_chunk(r, first_note, first_text, tick, p);
}

/* ---- canonical note order ---- */

/* True when a comes before b in the score's note order (score.c's note_cmp: onset, pitch, track,
 * duration, velocity, flags, seq), written out here because the merge below calls it for every note;
 * tx_score_check() verifies the result in the tests and the fuzz target. */
static inline int note_less(const tx_note *a, const tx_note *b)
{
    if (a->onset != b->onset)
        return a->onset < b->onset;
    if (a->pitch != b->pitch)
        return a->pitch < b->pitch;
    if (a->track != b->track)
        return a->track < b->track;
    if (a->duration != b->duration)
        return a->duration < b->duration;
    if (a->velocity != b->velocity)
        return a->velocity < b->velocity;
    if (a->flags != b->flags)
        return a->flags < b->flags;
    return a->seq < b->seq;
}

/* End of the ascending run that starts at i. */
static size_t run_end(const tx_note *v, size_t i, size_t n)
{
    for (i++; i < n && !note_less(&v[i], &v[i - 1]); i++)
        ;
    return i;
}

#define SMALL_GROUP 16   /* notes at one onset sorted by insertion; bigger groups go to the merge */

/* Puts the notes in canonical order. They arrive in onset order within each chunk, with the notes
 * of a chord in note-on order: sorting each chord makes every chunk one ascending run, and runs
 * are then merged pairwise, O(n log chunks) for real files. A hostile file (huge chords, broken
 * runs) costs at most O(n log n): only small groups are insertion-sorted. */
static int sort_notes(tx_score *s)
{
    tx_note *v = s->notes;
    size_t n = s->n_notes;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].onset == v[i].onset)
            j++;
        if (j - i > 1 && j - i <= SMALL_GROUP)
            for (size_t k = i + 1; k < j; k++) {
                tx_note x = v[k];
                size_t m = k;
                for (; m > i && note_less(&x, &v[m - 1]); m--)
                    v[m] = v[m - 1];
                v[m] = x;
            }
        i = j;
    }
    if (n < 2 || run_end(v, 0, n) == n)
        return TX_OK;
    tx_note *tmp = tx_malloc(n * sizeof *tmp);
    if (!tmp)
        return TX_ENOMEM;
    tx_note *src = v, *dst = tmp;
    for (;;) {
        size_t runs = 0;
        for (size_t i = 0; i < n; runs++) {
            size_t mid = run_end(src, i, n), end = mid < n ? run_end(src, mid, n) : n;
            size_t a = i, b = mid, o = i;
            while (a < mid && b < end)
                dst[o++] = note_less(&src[b], &src[a]) ? src[b++] : src[a++];
            memcpy(dst + o, src + a, (mid - a) * sizeof *dst);
            o += mid - a;
            memcpy(dst + o, src + b, (end - b) * sizeof *dst);
            i = end;
        }
        tx_note *t = src;
        src = dst;
        dst = t;
        if (runs == 1)
            break;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    tx_free(tmp);
    return TX_OK;
}

/* ---- the file ---- */

/* Finds the SMF inside a RIFF RMID wrapper: sets r->data, r->len and r->base to its "data" chunk. */
static int unwrap_riff(reader *r)
{
    const uint8_t *d = r->data;
    size_t len = r->len, p = 12;
    while (len - p >= 8) {
        uint32_t n = le32(d + p + 4);
        if (n > len - p - 8)
            return fail(r, TX_EMIDI, p, "RIFF chunk length %" PRIu32 " runs past the end of the file", n);
        if (memcmp(d + p, "data", 4) == 0) {
            r->data = d + p + 8;
            r->len = n;
            r->base = p + 8;
            if (r->info)
                r->info->warnings |= TX_MIDI_WARN_RIFF;
            return TX_OK;
        }
        p += 8 + (size_t)n + (n & 1);
        if (p > len)
            break;
    }
    return fail(r, TX_EMIDI, 0, "RIFF MIDI file without a data chunk");
}

static int read_smf(reader *r)
{
    const uint8_t *d = r->data;
    size_t len = r->len;

    if (len == 0)
        return fail(r, TX_EMIDI, 0, "empty file");
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "RMID", 4) == 0) {
        int rc = unwrap_riff(r);
        if (rc)
            return rc;
        d = r->data;
        len = r->len;
    }
    if (len < 4 || memcmp(d, "MThd", 4) != 0)
        return fail(r, TX_EMIDI, 0, "not a MIDI file (no MThd header)");
    if (len < 14)
        return fail(r, TX_EMIDI, len, "file ends inside the header (%zu bytes)", len);
    uint32_t hlen = be32(d + 4);
    if (hlen < 6)
        return fail(r, TX_EMIDI, 4, "header length %" PRIu32 ", expected 6", hlen);
    if (hlen > len - 8)
        return fail(r, TX_EMIDI, 4, "header length %" PRIu32 " runs past the end of the file", hlen);
    unsigned format = be16(d + 8), ntrks = be16(d + 10), division = be16(d + 12);
    if (r->info) {
        r->info->format = (int)format;
        r->info->n_announced = (int)ntrks;
        r->info->division = (int)division;
    }
    if (format == 2)
        return fail(r, TX_EUNSUP, 8, "SMF type 2 (independent sequences) is not supported");
    if (format > 2)
        return fail(r, TX_EMIDI, 8, "unknown SMF type %u", format);
    if (division & 0x8000)
        return fail(r, TX_EUNSUP, 12,
                    "SMPTE time division (%d frames per second, %u ticks per frame) is not supported",
                    -(int)(int8_t)(division >> 8), division & 0xff);
    if (division == 0)
        return fail(r, TX_EMIDI, 12, "time division of 0 ticks per quarter note");

    r->s = tx_score_new((int)division);
    if (!r->s)
        return oom(r, 0);
    /* A first guess at the note count saves most regrowth; capped so a big file of non-notes does
     * not reserve much. A note takes at least 6 bytes (on and off with running status). */
    size_t guess = len / 8 < 65536 ? len / 8 : 65536;
    if (guess && tx_grow((void **)&r->s->notes, &r->s->cap_notes, guess, sizeof *r->s->notes))
        return oom(r, 0);

    size_t p = 8 + (size_t)hlen;
    int n_mtrk = 0;
    while (p < len) {
        int expected = n_mtrk < (int)ntrks;   /* a broken chunk is an error only while expected */
        if (len - p < 8) {
            if (expected)
                return fail(r, TX_EMIDI, p, "file ends inside a chunk header (%zu bytes left)", len - p);
            if (r->info)
                r->info->warnings |= TX_MIDI_WARN_TRAILING;
            break;
        }
        uint32_t n = be32(d + p + 4);
        if (n > len - p - 8) {
            if (expected) {
                r->chunk = memcmp(d + p, "MTrk", 4) == 0 ? n_mtrk : -1;
                return fail(r, TX_EMIDI, p + 4,
                            "chunk length %" PRIu32 " runs past the end of the file (%zu bytes left)", n,
                            len - p - 8);
            }
            if (r->info)
                r->info->warnings |= TX_MIDI_WARN_TRAILING;
            break;
        }
        if (memcmp(d + p, "MTrk", 4) == 0) {
            if (n_mtrk >= TX_MIDI_MAX_TRACKS)
                return fail(r, TX_ELIMIT, p, "more than %d track chunks", TX_MIDI_MAX_TRACKS);
            r->chunk = n_mtrk;
            int rc = read_track(r, p + 8, p + 8 + n);
            if (rc)
                return rc;
            r->chunk = -1;
            n_mtrk++;
            if (r->info)
                r->info->n_chunks = n_mtrk;
        }
        p += 8 + (size_t)n;
    }
    if (n_mtrk == 0 && ntrks > 0)
        return fail(r, TX_EMIDI, len, "file ends before its first track chunk");
    if (n_mtrk != (int)ntrks && r->info)
        r->info->warnings |= TX_MIDI_WARN_TRACK_COUNT;
    /* The notes are put in order here, by an adaptive merge of the chunks' runs; tx_score_sort() then
     * finds them in order and sorts only the maps and texts. */
    if (sort_notes(r->s) || tx_score_sort(r->s))
        return oom(r, len);
    return TX_OK;
}

int tx_midi_read(const uint8_t *data, size_t len, const char *name, tx_score **out, tx_midi_info *info,
                 tx_error *err)
{
    *out = NULL;
    if (info) {
        memset(info, 0, sizeof *info);
        info->bytes = len;
    }
    tx_error_clear(err);
    reader *r = tx_malloc(sizeof *r);
    if (!r)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name ? name : "<midi>");
    memset(r, 0, offsetof(reader, head));
    r->data = data;
    r->len = data ? len : 0;
    r->name = name ? name : "<midi>";
    r->err = err;
    r->info = info;
    r->chunk = -1;
    memset(r->head, 0xff, sizeof r->head);   /* NIL */
    r->open = 0;
    memset(r->used, 0, sizeof r->used);
    r->n_used = 0;
    r->scratch = (tx_buf)TX_BUF_INIT;

    int rc = read_smf(r);
    if (rc) {
        tx_score_free(r->s);
        r->s = NULL;
    }
    *out = r->s;
    tx_buf_free(&r->scratch);
    tx_free(r);
    return rc;
}

int tx_midi_read_file(const char *path, tx_score **out, tx_midi_info *info, tx_error *err)
{
    uint8_t *data;
    size_t len;
    *out = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    int rc = tx_read_file(path, TX_MIDI_MAX_FILE, &data, &len, err);
    if (rc)
        return rc;
    rc = tx_midi_read(data, len, path, out, info, err);
    tx_free(data);
    return rc;
}
