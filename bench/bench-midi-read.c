/* bench-midi-read.c: how fast tactus's MIDI reader is next to libsmf's, on a folder of MIDI files.
 *
 * `bench-midi-read DIR` loads every .mid under DIR (recursively) into memory, then times, median of
 * 3 runs, parsing all of them from memory:
 *   - tactus: tx_midi_read() to a sorted score, notes counted, score freed;
 *   - libsmf, direct free: smf_load_from_memory(), every event visited with smf_get_next_event(),
 *     then the events freed directly (free() on each event and its buffer, through the public
 *     smf_track_t.events_array) before smf_delete(), which then has no events to remove;
 *   - libsmf, smf_delete: the same, freed with smf_delete() alone, whose event removal is quadratic
 *     in the events of a track (each removal searches and renumbers the track's array).
 * and prints MB/s, files/s and notes/s for each, and the ratios. libsmf's notes are its note-on
 * events with a velocity above 0. Only valid files belong here: libsmf asserts on bad input. This is
 * a benchmark, not a test; it is built on demand (`meson compile -C BUILD bench`).
 */
#include "midi.h"
#include "progress.h"

#include <dirent.h>
#include <glib.h>
#include <smf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file {
    char *path;
    uint8_t *data;
    size_t len;
} file;

typedef struct files {
    file *v;
    size_t n, cap;
    size_t bytes;
} files;

static void walk(const char *dir, files *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench-midi-read: %s: cannot open\n", dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb))
            continue;
        if (S_ISDIR(sb.st_mode)) {
            walk(path, out);
            continue;
        }
        size_t l = strlen(path);
        if (l < 4 || (strcmp(path + l - 4, ".mid") && strcmp(path + l - 4, ".MID")))
            continue;
        file f = {strdup(path), NULL, 0};
        tx_error err;
        if (tx_read_file(path, TX_MIDI_MAX_FILE, &f.data, &f.len, &err)) {
            fprintf(stderr, "bench-midi-read: %s\n", err.msg);
            free(f.path);
            continue;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 1024;
            out->v = realloc(out->v, out->cap * sizeof *out->v);
            if (!out->v) {
                fprintf(stderr, "bench-midi-read: out of memory\n");
                exit(1);
            }
        }
        out->v[out->n++] = f;
        out->bytes += f.len;
    }
    closedir(d);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const file *)a)->path, ((const file *)b)->path);
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

/* Frees every event of every track without smf_event_delete()'s search and renumbering. libsmf
 * allocates events and their buffers with malloc (smf_event_new), so free() matches. */
static void free_events_directly(smf_t *smf)
{
    for (int t = 1; t <= smf->number_of_tracks; t++) {
        smf_track_t *track = smf_get_track_by_number(smf, t);
        if (!track)
            continue;
        for (guint k = 0; k < track->events_array->len; k++) {
            smf_event_t *ev = g_ptr_array_index(track->events_array, k);
            free(ev->midi_buffer);
            free(ev);
        }
        g_ptr_array_set_size(track->events_array, 0);
        track->number_of_events = 0;
    }
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
            free_events_directly(smf);
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
    walk(argv[1], &fs);
    if (fs.n == 0) {
        fprintf(stderr, "bench-midi-read: no .mid files under %s\n", argv[1]);
        return 1;
    }
    qsort(fs.v, fs.n, sizeof *fs.v, cmp_file);
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
    for (size_t i = 0; i < fs.n; i++) {
        free(fs.v[i].path);
        tx_free(fs.v[i].data);
    }
    free(fs.v);
    return 0;
}
