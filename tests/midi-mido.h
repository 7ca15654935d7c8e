/* midi-mido.h: compares tactus's MIDI reader with mido's reading of the same files, for
 * test-midi-mido (the fixtures) and slow-midi-mido (whole corpora). Both sides print the dump that
 * tests/mido-notes.py documents; the dumps must be equal line for line. Header-only test helper, not
 * part of the library. */
#ifndef TX_TEST_MIDI_MIDO_H
#define TX_TEST_MIDI_MIDO_H

#include "harness.h"
#include "midi.h"
#include "paths.h"

#include <unistd.h>

static int mido_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends tactus's dump of s (mido-notes.py's format) to out. */
static void midi_dump_score(const tx_score *s, const char *file, tx_buf *out)
{
    tx_buf_printf(out, "file %s\ntpq %d\n", tx_basename(file), s->tpq);
    for (size_t i = 0; i < s->n_tracks; i++)
        tx_buf_printf(out, "track %zu %d %d %s\n", i, s->tracks[i].channel, s->tracks[i].program,
                      s->tracks[i].name);
    char **lines = malloc((s->n_notes + 1) * sizeof *lines);
    for (size_t i = 0; i < s->n_notes; i++) {
        const tx_note *n = &s->notes[i];
        const tx_track *t = &s->tracks[n->track];
        lines[i] = malloc(96);
        snprintf(lines[i], 96, "note %" PRId64 " %" PRId64 " %d %d %d %d", n->onset, n->duration,
                 n->pitch, n->velocity, t->channel, t->program);
    }
    qsort(lines, s->n_notes, sizeof *lines, mido_strcmp_p);
    for (size_t i = 0; i < s->n_notes; i++) {
        tx_buf_printf(out, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    for (size_t i = 0; i < s->n_tempos; i++)
        tx_buf_printf(out, "tempo %" PRId64 " %u\n", s->tempos[i].tick,
                      (unsigned)s->tempos[i].usec_per_quarter);
    for (size_t i = 0; i < s->n_timesigs; i++)
        tx_buf_printf(out, "timesig %" PRId64 " %d %d\n", s->timesigs[i].tick, s->timesigs[i].num,
                      s->timesigs[i].den);
    for (size_t i = 0; i < s->n_keysigs; i++)
        tx_buf_printf(out, "keysig %" PRId64 " %d %d\n", s->keysigs[i].tick, s->keysigs[i].fifths,
                      s->keysigs[i].mode == TX_MODE_MINOR);
}

/* The Python with mido: $TACTUS_PYTHON, else Debian's /usr/bin/python3 (where python3-mido puts
 * mido), else python3 from PATH. */
static const char *mido_python(void)
{
    const char *env = getenv("TACTUS_PYTHON");
    if (env && *env)
        return env;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Appends mido-notes.py's dump of the n files to out. Returns 0, or -1 when Python or mido is
 * missing (the script exits 3 then) or it failed. */
static int mido_dump(const char *const *paths, int n, tx_buf *out)
{
    tx_buf cmd = TX_BUF_INIT;
    tx_buf_printf(&cmd, "'%s' '%s/tests/mido-notes.py'", mido_python(), TX_SOURCE_ROOT);
    for (int i = 0; i < n; i++) {
        if (strchr(paths[i], '\'')) {
            tx_buf_free(&cmd);
            return -1;
        }
        tx_buf_printf(&cmd, " '%s'", paths[i]);
    }
    FILE *f = popen(cmd.data, "r");
    tx_buf_free(&cmd);
    if (!f)
        return -1;
    char block[65536];
    size_t got;
    while ((got = fread(block, 1, sizeof block, f)) > 0)
        tx_buf_append(out, block, got);
    int st = pclose(f);
    return st == 0 ? 0 : -1;
}

/* Finds the block of `out` for the i-th file: starts at the i-th line that begins with "file ". */
static const char *mido_block(const char *text, int i, size_t *len)
{
    const char *p = text;
    int k = -1;
    const char *start = NULL;
    while (p && *p) {
        if (strncmp(p, "file ", 5) == 0) {
            k++;
            if (k == i)
                start = p;
            else if (k == i + 1)
                break;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!start) {
        *len = 0;
        return "";
    }
    *len = (size_t)((p && *p ? p : start + strlen(start)) - start);
    return start;
}

typedef struct mido_stats {
    int files, same, differ, tactus_failed, mido_failed;
} mido_stats;

/* Reads the n files with tactus and with mido and compares the dumps, logging each difference (the
 * first differing line) to log. Files mido cannot read are counted, not compared. Returns -1 when
 * mido is unavailable, else the number of files that differ or that only tactus failed on. */
static int midi_compare_with_mido(const char *const *paths, int n, FILE *log, mido_stats *st)
{
    tx_buf py = TX_BUF_INIT;
    if (mido_dump(paths, n, &py)) {
        tx_buf_free(&py);
        return -1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        size_t blen;
        const char *mb = mido_block(py.data ? py.data : "", i, &blen);
        tx_score *s;
        tx_error err;
        st->files++;
        int mido_err = blen == 0 || strstr(mb, "\nerror ") != NULL;
        if (tx_midi_read_file(paths[i], &s, NULL, &err)) {
            if (mido_err) {
                st->mido_failed++;
                continue;
            }
            st->tactus_failed++;
            fprintf(log, "%s: tactus failed where mido read it: %s\n", paths[i], err.msg);
            bad++;
            continue;
        }
        if (tx_score_check(s, &err)) {
            fprintf(log, "%s: tactus's score fails its check: %s\n", paths[i], err.msg);
            st->differ++;
            bad++;
            tx_score_free(s);
            continue;
        }
        if (mido_err) {
            st->mido_failed++;
            tx_score_free(s);
            continue;
        }
        tx_buf mine = TX_BUF_INIT;
        midi_dump_score(s, paths[i], &mine);
        tx_score_free(s);
        if (mine.len == blen && memcmp(mine.data, mb, blen) == 0) {
            st->same++;
        } else {
            st->differ++;
            bad++;
            size_t k = 0, line = 1;
            while (k < mine.len && k < blen && mine.data[k] == mb[k])
                if (mine.data[k++] == '\n')
                    line++;
            fprintf(log, "%s: tactus and mido differ at line %zu of the dump\n", paths[i], line);
        }
        tx_buf_free(&mine);
    }
    tx_buf_free(&py);
    return bad;
}

#endif
