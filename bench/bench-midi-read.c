/* bench-midi-read.c: how fast tactus's MIDI reader is next to libsmf's, on a folder of MIDI files.
 *
 * `bench-midi-read DIR` loads every MIDI file under DIR (recursively, sorted) into memory, then
 * times, median of 3 runs, parsing all of them from memory:
 *   - tactus: tx_midi_read() to a sorted score, notes counted, score freed;
 *   - libsmf, direct free: smf_load_from_memory(), every event visited with smf_get_next_event(),
 *     then freed with tx_smf_delete_fast() (smf-glue.c), which frees the events directly (free() on
 *     each event and its buffer, through the public smf_track_t.events_array) before smf_delete(),
 *     which then has no events to remove;
 *   - libsmf, smf_delete: the same, freed with smf_delete() alone, whose event removal is quadratic
 *     in the events of a track (each removal searches and renumbers the track's array).
 * and prints MB/s, files/s and notes/s for each, and the ratios. libsmf's notes are its note-on
 * events with a velocity above 0. Only valid files belong here: libsmf asserts on bad input. This is
 * a benchmark, not a test; it is built on demand (`meson compile -C BUILD bench`).
 */
#include "midi.h"
#include "paths.h"
#include "progress.h"
#include "scoreio.h"
#include "smf-glue-priv.h"

#include <glib.h>
#include <smf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct file {
    const char *path;   /* borrowed from the list tx_find_files() made */
    uint8_t *data;
    size_t len;
} file;

typedef struct files {
    file *v;
    size_t n;
    size_t bytes;
} files;

/* tx_find_files() keeps the MIDI files (.mid, .midi, .kar, .smf in any case) and sorts them. */
static int is_midi(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) == TX_FORMAT_MIDI;
}

/* Every MIDI file under dir, sorted, read into memory; a file that cannot be read is reported and left
 * out. The paths are borrowed from *paths, which the caller frees with tx_free_paths(). */
static int load(const char *dir, char ***paths, size_t *n_paths, files *out)
{
    tx_error err;
    if (tx_find_files(dir, is_midi, NULL, paths, n_paths, &err) != TX_OK) {
        fprintf(stderr, "bench-midi-read: %s\n", err.msg);
        return -1;
    }
    out->v = *n_paths ? calloc(*n_paths, sizeof *out->v) : NULL;
    if (*n_paths && !out->v) {
        fprintf(stderr, "bench-midi-read: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < *n_paths; i++) {
        file f = {(*paths)[i], NULL, 0};
        if (tx_read_file(f.path, TX_MIDI_MAX_FILE, &f.data, &f.len, &err)) {
            fprintf(stderr, "bench-midi-read: %s\n", err.msg);
            continue;
        }
        out->v[out->n++] = f;
        out->bytes += f.len;
    }
    return 0;
}

/* One pass of the tactus reader over all files; returns notes read, counts failures. */
static size_t run_tactus(const files *fs, size_t *failed)
{
    size_t notes = 0;
    for (size_t i = 0; i < fs->n; i++) {
        tx_score *s;
        tx_error err;
        if (tx_midi_read(fs->v[i].data, fs->v[i].len, fs->v[i].path, &s, NULL, &err)) {
            (*failed)++;
            continue;
        }
        notes += s->n_notes;
        tx_score_free(s);
    }
    return notes;
}

static size_t run_libsmf(const files *fs, int direct_free, size_t *failed)
{
    size_t notes = 0;
    for (size_t i = 0; i < fs->n; i++) {
        smf_t *smf = smf_load_from_memory(fs->v[i].data, (int)fs->v[i].len);
        if (!smf) {
            (*failed)++;
            continue;
        }
        smf_event_t *ev;
        while ((ev = smf_get_next_event(smf)) != NULL)
            if (ev->midi_buffer_length == 3 && (ev->midi_buffer[0] & 0xf0) == 0x90 && ev->midi_buffer[2])
                notes++;
        if (direct_free)
            tx_smf_delete_fast(smf);   /* the events freed directly, then smf_delete() */
        else
            smf_delete(smf);
    }
    return notes;
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ud)
{
    (void)domain, (void)level, (void)msg;
    (*(size_t *)ud)++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct result {
    const char *name;
    double sec;        /* median of 3 */
    size_t notes;
} result;

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench-midi-read DIR\n");
        return 2;
    }
    files fs = {0};
    char **paths = NULL;
    size_t n_paths = 0;
    if (load(argv[1], &paths, &n_paths, &fs) != 0)
        return 1;
    if (fs.n == 0) {
        fprintf(stderr, "bench-midi-read: no MIDI files under %s\n", argv[1]);
        return 1;
    }
    size_t glib_messages = 0;
    g_log_set_handler("libsmf", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION, quiet,
                      &glib_messages);

    result res[3] = {{"tactus", 0, 0}, {"libsmf, direct free", 0, 0}, {"libsmf, smf_delete", 0, 0}};
    size_t failed[3] = {0, 0, 0};
    for (int r = 0; r < 3; r++) {
        double t[3];
        for (int k = 0; k < 3; k++) {
            size_t fail = 0;
            double t0 = tx_now();
            res[r].notes = r == 0 ? run_tactus(&fs, &fail) : run_libsmf(&fs, r == 1, &fail);
            t[k] = tx_now() - t0;
            failed[r] = fail;
        }
        qsort(t, 3, sizeof *t, cmp_double);
        res[r].sec = t[1];
    }

    double mb = (double)fs.bytes / 1e6;
    printf("bench-midi-read: %zu files, %.2f MB, median of 3 runs\n", fs.n, mb);
    printf("%-22s %10s %10s %12s %12s %8s\n", "reader", "MB/s", "files/s", "notes/s", "notes", "failed");
    for (int r = 0; r < 3; r++)
        printf("%-22s %10.1f %10.0f %12.0f %12zu %8zu\n", res[r].name, mb / res[r].sec,
               (double)fs.n / res[r].sec, (double)res[r].notes / res[r].sec, res[r].notes, failed[r]);
    printf("tactus / libsmf (direct free): %.1fx\n", res[1].sec / res[0].sec);
    printf("tactus / libsmf (smf_delete): %.1fx\n", res[2].sec / res[0].sec);
    if (glib_messages)
        printf("libsmf logged %zu messages\n", glib_messages);
    for (size_t i = 0; i < fs.n; i++)
        tx_free(fs.v[i].data);
    free(fs.v);
    tx_free_paths(paths, n_paths);
    return 0;
}
