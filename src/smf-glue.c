/* smf-glue.c: the fence around libsmf: a GLib log handler for the "libsmf" domain that turns its
 * messages into tactus errors, a writer that hands libsmf only events checked here first, and a
 * linear-time way to free an smf_t.
 *
 * It is not a MIDI encoder (midi-write.c decides which events a score becomes) and not a reader:
 * tactus reads MIDI with its own parser (midi.c), and libsmf never sees untrusted bytes.
 * libsmf allocates with malloc(); what it allocates it also frees, except in tx_smf_delete_fast().
 */
#include "smf-glue-priv.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smf.h>

#include "memory.h"

/* ---- the log handler ---- */

/* The capture that receives this thread's libsmf messages (NULL: none, pass them on). */
static _Thread_local tx_smf_log *current_log;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

static void on_libsmf_message(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
    tx_smf_log *log = current_log;
    if (!log) {
        g_log_default_handler(domain, level, msg, ud);
        return;
    }
    if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                   G_LOG_FLAG_FATAL)))
        return;   /* debug and info chatter ("SMF header contents: ...") */
    int critical = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL)) != 0;
    log->n_messages++;
    if (critical)
        log->n_critical++;
    if (log->n_messages == 1 || (critical && log->n_critical == 1)) {
        /* tactus style: no trailing period */
        snprintf(log->first, sizeof log->first, "%s", msg ? msg : "(no message)");
        size_t len = strlen(log->first);
        while (len && (log->first[len - 1] == '.' || log->first[len - 1] == '\n'))
            log->first[--len] = '\0';
    }
}

static void install_handler(void)
{
    g_log_set_handler("libsmf", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      on_libsmf_message, NULL);
}

void tx_smf_log_begin(tx_smf_log *log)
{
    pthread_once(&handler_once, install_handler);
    log->n_messages = 0;
    log->n_critical = 0;
    log->first[0] = '\0';
    log->prev = current_log;
    current_log = log;
}

void tx_smf_log_end(tx_smf_log *log)
{
    if (current_log == log)
        current_log = log->prev;
}

/* ---- checking events before libsmf sees them ---- */

/* Bytes of a channel message with this status (its high nibble), or 0 for a status libsmf should
 * never get from us. */
static unsigned channel_message_length(uint8_t status)
{
    switch (status & 0xF0) {
    case 0x80: case 0x90: case 0xA0: case 0xB0: case 0xE0:
        return 3;
    case 0xC0: case 0xD0:
        return 2;
    default:
        return 0;
    }
}

/* 0 when b[0..len) is one complete channel or meta message as libsmf's smf_event_is_valid() wants
 * it; otherwise a short reason. End of track is refused: the writer adds its own. */
static const char *event_problem(const uint8_t *b, size_t len)
{
    if (len < 1)
        return "empty event";
    if (len > TX_SMF_MAX_EVENT_BYTES)
        return "event too long";
    if (b[0] < 0x80)
        return "no status byte";
    if (b[0] < 0xF0) {
        if (len != channel_message_length(b[0]))
            return "channel message of the wrong length";
        for (size_t i = 1; i < len; i++)
            if (b[i] & 0x80)
                return "data byte with the high bit set";
        return NULL;
    }
    if (b[0] != 0xFF)
        return "system message (not written by tactus)";
    if (len < 3 || (b[1] & 0x80))
        return "malformed meta event";
    if (b[1] == 0x2F)
        return "explicit end of track";
    uint32_t n = 0;
    size_t i = 2;
    for (;;) {
        if (i >= len || i >= 6)
            return "meta event length is not a valid VLQ";
        n = (n << 7) | (b[i] & 0x7F);
        if (!(b[i++] & 0x80))
            break;
    }
    if ((size_t)n != len - i)
        return "meta event length disagrees with its data";
    if (n > TX_SMF_MAX_META_DATA)
        return "meta event longer than libsmf can save (127 bytes of data)";
    return NULL;
}

/* ---- the writer ---- */

struct tx_smf_writer {
    smf_t *smf;
    size_t bytes;     /* an upper bound of the file size so far */
    int done;         /* saved, or left with a half-added track: only tx_smf_writer_free() is left
                         (smf_save() asserts when called again after a failed save) */
};

tx_smf_writer *tx_smf_writer_new(int division)
{
    if (division < 1 || division > 0x7FFF)
        return NULL;
    tx_smf_writer *w = tx_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    tx_smf_log log;
    tx_smf_log_begin(&log);
    w->smf = smf_new();
    int bad = !w->smf || smf_set_ppqn(w->smf, division) != 0 || smf_set_format(w->smf, 1) != 0;
    tx_smf_log_end(&log);
    if (bad) {
        tx_smf_writer_free(w);
        return NULL;
    }
    w->bytes = 14;
    return w;
}

void tx_smf_writer_free(tx_smf_writer *w)
{
    if (!w)
        return;
    tx_smf_delete_fast(w->smf);
    tx_free(w);
}

int tx_smf_writer_add_track(tx_smf_writer *w, const tx_smf_event *ev, size_t n, const uint8_t *pool,
                            size_t pool_len, uint32_t end_tick, const char *name, tx_error *err)
{
    if (w->done)
        return tx_error_set(err, TX_EINVAL, "%s: this MIDI writer is finished", name);
    if (w->smf->number_of_tracks >= 0xFFFF)
        return tx_error_set(err, TX_ELIMIT, "%s: more than 65535 track chunks", name);
    if (n >= TX_SMF_MAX_EVENTS)
        return tx_error_set(err, TX_ELIMIT, "%s: track %d: more than %d events", name,
                            w->smf->number_of_tracks, TX_SMF_MAX_EVENTS);
    /* Check everything first: libsmf asserts on much of what could be wrong here. */
    size_t bytes = 8 + 4;   /* chunk header, end of track */
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (ev[i].off > pool_len || ev[i].len > pool_len - ev[i].off)
            why = "event outside its buffer";
        else if (ev[i].tick > TX_SMF_MAX_TICK)
            why = "tick beyond the SMF limit";
        else if (ev[i].tick < last)
            why = "events out of order";
        else
            why = event_problem(pool + ev[i].off, ev[i].len);
        if (why) {
            tx_error_set(err, TX_EINVAL, "%s: track %d, event %zu at tick %" PRIu32 ": %s", name,
                         w->smf->number_of_tracks, i, ev[i].tick, why);
            if (err)
                err->track = w->smf->number_of_tracks;
            return TX_EINVAL;
        }
        last = ev[i].tick;
        bytes += 4 + ev[i].len;
    }
    if (end_tick < last || end_tick > TX_SMF_MAX_TICK)
        return tx_error_set(err, TX_EINVAL, "%s: track %d: end of track at tick %" PRIu32
                            " is before the last event or beyond the SMF limit", name,
                            w->smf->number_of_tracks, end_tick);
    if (bytes > TX_SMF_MAX_FILE_BYTES - w->bytes)
        return tx_error_set(err, TX_ELIMIT, "%s: more than %d bytes of MIDI", name, TX_SMF_MAX_FILE_BYTES);

    tx_smf_log log;
    tx_smf_log_begin(&log);
    int rc = TX_OK;
    smf_track_t *t = smf_track_new();
    if (!t) {
        rc = TX_ENOMEM;
        goto out;
    }
    smf_add_track(w->smf, t);
    for (size_t i = 0; i < n; i++) {
        /* libsmf's prototype takes a non-const pointer; it only copies from it. */
        smf_event_t *e = smf_event_new_from_pointer((void *)(uintptr_t)(pool + ev[i].off), (int)ev[i].len);
        if (!e) {
            rc = TX_ENOMEM;
            goto out;
        }
        smf_track_add_event_pulses(t, e, (int)ev[i].tick);
    }
    if (smf_track_add_eot_pulses(t, (int)end_tick) != 0)
        rc = TX_ENOMEM;
out:
    tx_smf_log_end(&log);
    if (rc == TX_OK && log.n_critical)
        rc = TX_EINVAL;
    if (rc != TX_OK)
        w->done = 1;   /* the smf may hold part of this track */
    if (rc != TX_OK)
        return tx_error_set(err, rc, "%s: libsmf: %s", name, log.first[0] ? log.first : tx_strerror(rc));
    w->bytes += bytes;
    return TX_OK;
}

int tx_smf_writer_save(tx_smf_writer *w, const char *path, const char *name, tx_error *err)
{
    if (w->smf->number_of_tracks < 1)
        return tx_error_set(err, TX_EINVAL, "%s: no track to write", name);
    if (w->done)
        return tx_error_set(err, TX_EINVAL, "%s: this MIDI writer is finished", name);
    w->done = 1;
    tx_smf_log log;
    tx_smf_log_begin(&log);
    int rc = smf_save(w->smf, path);
    tx_smf_log_end(&log);
    if (rc != 0 || log.n_critical)
        return tx_error_set(err, TX_EIO, "%s: libsmf could not save: %s", name,
                            log.first[0] ? log.first : "no reason given");
    return TX_OK;
}

/* ---- freeing ---- */

void tx_smf_delete_fast(void *p)
{
    smf_t *smf = p;
    if (!smf)
        return;
    /* Free the events ourselves and empty each track's array, so that smf_delete() finds tracks
     * without events; it then only frees the tracks, the tempo map and the smf itself. */
    for (int i = 1; i <= smf->number_of_tracks; i++) {
        smf_track_t *t = smf_get_track_by_number(smf, i);
        if (!t)
            continue;
        for (guint j = 0; j < t->events_array->len; j++) {
            smf_event_t *e = g_ptr_array_index(t->events_array, j);
            free(e->midi_buffer);
            free(e);
        }
        g_ptr_array_set_size(t->events_array, 0);
        t->number_of_events = 0;
        t->next_event_number = 0;
    }
    smf_delete(smf);
}
