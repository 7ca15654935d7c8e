/* scoreio.c: format detection and dispatch to the readers and writers. No parsing of its own. */
#include "scoreio.h"

#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "kern.h"
#include "midi.h"
#include "tokenizers/abc.h"
#include "paths.h"

const char *tx_format_name(int format)
{
    switch (format) {
    case TX_FORMAT_MIDI: return "midi";
    case TX_FORMAT_ABC: return "abc";
    case TX_FORMAT_GRID: return "grid";
    case TX_FORMAT_KERN: return "kern";
    default: return "unknown";
    }
}

int tx_format_from_path(const char *path)
{
    char ext[16];
    tx_extension(path, ext, sizeof ext);
    if (!strcmp(ext, "mid") || !strcmp(ext, "midi") || !strcmp(ext, "kar") || !strcmp(ext, "smf"))
        return TX_FORMAT_MIDI;
    if (!strcmp(ext, "abc"))
        return TX_FORMAT_ABC;
    if (!strcmp(ext, "csv"))
        return TX_FORMAT_GRID;
    if (!strcmp(ext, "krn"))
        return TX_FORMAT_KERN;
    return TX_FORMAT_UNKNOWN;
}

int tx_format_detect(const uint8_t *data, size_t len, const char *path)
{
    if (len >= 4 && memcmp(data, "MThd", 4) == 0)
        return TX_FORMAT_MIDI;
    if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "RMID", 4) == 0)
        return TX_FORMAT_MIDI;
    if (len >= 6 && memcmp(data, "note0,", 6) == 0)
        return TX_FORMAT_GRID;
    if (tx_kern_detect(data, len))
        return TX_FORMAT_KERN;
    return path ? tx_format_from_path(path) : TX_FORMAT_UNKNOWN;
}

int tx_score_read_file(const char *path, tx_score **out, int *format, tx_error *err)
{
    *out = NULL;
    if (format)
        *format = TX_FORMAT_UNKNOWN;
    uint8_t *data;
    size_t len;
    int rc = tx_read_file(path, TX_MIDI_MAX_FILE, &data, &len, err);
    if (rc)
        return rc;
    rc = tx_score_read_mem(data, len, path, out, format, err);
    tx_free(data);
    return rc;
}

int tx_score_read_mem(const uint8_t *data, size_t len, const char *path, tx_score **out, int *format,
                      tx_error *err)
{
    int rc, fmt = tx_format_detect(data, len, path);
    *out = NULL;
    if (format)
        *format = fmt;
    switch (fmt) {
    case TX_FORMAT_MIDI:
        rc = tx_midi_read(data, len, path, out, NULL, err);
        break;
    case TX_FORMAT_ABC:
        /* one score from a file of tunes: the first; tx_score_read_each gives them all */
        rc = tx_abc_read_tune((const char *)data, len, path, NULL, out, err);
        break;
    case TX_FORMAT_GRID:
        rc = tx_grid_read_csv(data, len, path, out, err);
        break;
    case TX_FORMAT_KERN:
        rc = tx_kern_read(data, len, path, out, err);
        break;
    default:
        rc = len == 0 ? tx_error_set(err, TX_EUNSUP, "%s: empty file", path)
                      : tx_error_set(err, TX_EUNSUP, "%s: not a MIDI file (no MThd header) and no known "
                                     "extension", path);
        break;
    }
    return rc;
}

int tx_score_read_each(const uint8_t *data, size_t len, const char *path, tx_score_item_fn fn, void *ud)
{
    tx_error err;
    tx_error_clear(&err);
    tx_score_item it = {tx_format_detect(data, len, path), 0, -1, "", data, len, TX_OK, &err, NULL};
    int rc;
    if (it.format == TX_FORMAT_ABC) {
        tx_abc_file *f = NULL;
        it.status = tx_abc_parse((const char *)data, len, path, NULL, &f, &err);
        if (it.status != TX_OK)
            return fn(ud, &it);
        rc = 0;
        for (size_t i = 0; i < f->n_tunes && !rc; i++) {
            tx_abc_tune *t = &f->tunes[i];
            tx_score_item ti = {TX_FORMAT_ABC, (long)i + 1, t->number, t->title, data + t->offset, t->length,
                                t->status, &t->error, tx_abc_take_score(f, i)};
            rc = fn(ud, &ti);
            tx_score_free(ti.score);
        }
        tx_abc_file_free(f);
        return rc;
    }
    it.status = tx_score_read_mem(data, len, path, &it.score, NULL, &err);
    if (it.score) {
        const char *title = tx_score_meta(it.score, "title");
        if (title)
            it.title = title;
    }
    rc = fn(ud, &it);
    tx_score_free(it.score);
    return rc;
}

int tx_score_write_file(const tx_score *s, const char *path, int format, tx_error *err)
{
    switch (format) {
    case TX_FORMAT_MIDI:
        return tx_midi_write_file(s, path, err);
    case TX_FORMAT_ABC: {
        /* one tune, numbered as the tune it was read from (X: kept as "abc:X"), else 1 */
        tx_abc_write_options o;
        tx_abc_write_options_init(&o);
        const char *x = tx_score_meta(s, "abc:X");
        if (x) {
            char *end;
            long n = strtol(x, &end, 10);
            if (end != x && n > 0)
                o.number = n;
        }
        tx_buf b = TX_BUF_INIT;
        int rc = tx_abc_write(s, &o, &b, err);
        if (rc == TX_OK)
            rc = tx_write_file_atomic(path, b.data, b.len, err);
        else if (err) {
            /* the output's name first, as in every other message here */
            char m[TX_ERROR_MSG_MAX];
            memcpy(m, err->msg, sizeof m);
            tx_error_set(err, rc, "%.200s: %.300s", path, m);
        }
        tx_buf_free(&b);
        return rc;
    }
    case TX_FORMAT_GRID:
        return tx_error_set(err, TX_EUNSUP, "%s: writing voice grids (.csv) is not supported (use .mid, .midi "
                            "or .abc)", path);
    case TX_FORMAT_KERN:
        return tx_error_set(err, TX_EUNSUP, "%s: writing **kern (.krn) is not supported (use .mid, .midi or "
                            ".abc)", path);
    default:
        return tx_error_set(err, TX_EUNSUP, "%s: unknown output format (use .mid, .midi or .abc)", path);
    }
}
