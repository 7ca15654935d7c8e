/* abc-oracle.c: the ABC reader checked note for note against abc2midi (Debian abcmidi).
 *
 * For each ABC file, abc2midi converts every tune (`abc2midi FILE -NFNP -NGUI -NGRA -NFER`, with
 * `%%MIDI chordattack 0` added after each X: line) into a temporary folder; tactus's MIDI reader reads
 * those files back and the notes (onset, pitch, duration) are compared with what tx_abc_parse() gives
 * for the same tune, grace notes left out (abc2midi -NGRA drops them). abc2midi writes 480 ticks per
 * quarter and starts and ends each note one tick late, so its onsets are moved one tick earlier and
 * its durations one tick longer. Tunes whose X: number appears twice in a file are left out (abc2midi
 * names its output by number).
 *
 *   abc-oracle                 the default set: a few hundred tunes; every difference must be listed
 *                              in tests/known-abc-differences.md
 *   abc-oracle --all [--min R] every .abc file under the corpus; prints the rate of identical tunes
 *                              and fails below R percent
 *   abc-oracle FILE...         the given files, each difference printed
 *
 * Skips (exit 77) when the corpora or abc2midi are missing. Not a unit test of single features:
 * test-abc.c does that. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tokenizers/abc.h"
#include "midi.h"
#include "paths.h"
#include "progress.h"
#include "scoreio.h"

typedef struct trip {
    long long onset, duration;
    int pitch;
} trip;

static int trip_cmp(const void *a, const void *b)
{
    const trip *x = a, *y = b;
    if (x->onset != y->onset)
        return x->onset < y->onset ? -1 : 1;
    if (x->pitch != y->pitch)
        return x->pitch - y->pitch;
    return x->duration < y->duration ? -1 : x->duration > y->duration;
}

/* (onset, pitch, duration) of a score's notes, sorted; `shift` undoes abc2midi's late tick. */
static trip *trips(const tx_score *s, int abc2midi, size_t *n)
{
    trip *t = malloc((s->n_notes + 1) * sizeof *t);
    size_t k = 0;
    for (size_t i = 0; t && i < s->n_notes; i++) {
        const tx_note *x = &s->notes[i];
        if (x->flags & TX_NOTE_GRACE)
            continue;
        t[k].onset = x->onset - (abc2midi ? 1 : 0);
        t[k].duration = x->duration + (abc2midi ? 1 : 0);
        t[k].pitch = x->pitch;
        k++;
    }
    if (t)
        qsort(t, k, sizeof *t, trip_cmp);
    *n = k;
    return t;
}

/* ---- known differences: lines "- `path` X:n: reason", path relative to the abc corpus ---- */

static char *known;

static void load_known(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/tests/known-abc-differences.md", TX_SOURCE_ROOT);
    uint8_t *data;
    size_t len;
    tx_error err;
    if (tx_read_file(path, 1 << 22, &data, &len, &err) == TX_OK)
        known = (char *)data;
}

static int is_known(const char *rel, long x)
{
    if (!known)
        return 0;
    char key[600];
    snprintf(key, sizeof key, "`%s` X:%ld:", rel, x);
    return strstr(known, key) != NULL;
}

/* ---- running abc2midi ---- */

static int run_abc2midi(const char *dir)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (chdir(dir) != 0)
            _exit(126);
        execlp("abc2midi", "abc2midi", "t.abc", "-NFNP", "-NGUI", "-NGRA", "-NFER", "-silent", (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
}

typedef struct stats {
    size_t tunes, same, known_diff, unknown_diff, now_same;
    size_t bytes, parsed;
    double parse_s;
} stats;

static int abc2midi_missing;

/* Compares every tune of one file; rel is its path under the abc corpus. */
static void compare_file(const char *path, const char *rel, const char *tmp, int verbose, stats *st)
{
    uint8_t *data;
    size_t len;
    tx_error err;
    if (tx_read_file(path, TX_ABC_MAX_FILE, &data, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        tx_test_failed++;
        return;
    }
    /* our reading, timed on the bytes in memory */
    double t0 = tx_now();
    tx_abc_file *f = NULL;
    int rc = tx_abc_parse((const char *)data, len, path, NULL, &f, &err);
    st->parse_s += tx_now() - t0;
    st->bytes += len;
    CHECK_INT(rc, TX_OK);
    if (rc) {
        tx_free(data);
        return;
    }
    st->parsed += f->n_tunes;

    /* the copy for abc2midi */
    clear_dir(tmp);
    char tpath[4400];
    snprintf(tpath, sizeof tpath, "%s/t.abc", tmp);
    FILE *out = fopen(tpath, "wb");
    CHECK(out != NULL);
    if (!out) {
        tx_abc_file_free(f);
        tx_free(data);
        return;
    }
    for (size_t p = 0; p < len;) {
        size_t e = p;
        while (e < len && data[e] != '\n')
            e++;
        fwrite(data + p, 1, e - p + (e < len), out);
        if (e - p >= 2 && data[p] == 'X' && data[p + 1] == ':') {
            if (e == len)
                fputc('\n', out);
            fputs("%%MIDI chordattack 0\n", out);
        }
        p = e + 1;
    }
    fclose(out);
    int arc = run_abc2midi(tmp);
    if (arc == 127) {
        abc2midi_missing = 1;
        tx_abc_file_free(f);
        tx_free(data);
        return;
    }

    for (size_t i = 0; i < f->n_tunes; i++) {
        tx_abc_tune *t = &f->tunes[i];
        size_t dup = 0;
        for (size_t j = 0; j < f->n_tunes; j++)
            dup += f->tunes[j].number == t->number;
        if (dup != 1)
            continue;
        st->tunes++;
        char mpath[4400];
        snprintf(mpath, sizeof mpath, "%s/t%ld.mid", tmp, t->number);
        tx_score *ref = NULL;
        tx_error merr;
        struct stat sb;
        if (stat(mpath, &sb) == 0 && tx_midi_read_file(mpath, &ref, NULL, &merr) != TX_OK) {
            fprintf(stderr, "%s: %s\n", mpath, merr.msg);
            ref = NULL;
        }
        size_t na = 0, nb = 0;
        trip *a = ref ? trips(ref, 1, &na) : NULL;
        trip *b = t->score ? trips(t->score, 0, &nb) : NULL;
        int same = na == nb;
        size_t first = 0;
        for (; same && first < na; first++)
            if (trip_cmp(&a[first], &b[first]) != 0)
                same = 0;
        int listed = is_known(rel, t->number);
        if (same) {
            st->same++;
            if (listed) {
                st->now_same++;
                if (verbose)
                    printf("now identical (remove from the known differences): %s X:%ld\n", rel, t->number);
            }
        } else {
            if (listed)
                st->known_diff++;
            else
                st->unknown_diff++;
            if (verbose > 1 || (verbose && !listed)) {
                printf("%s%s X:%ld: ", listed ? "known: " : "DIFFERS: ", rel, t->number);
                if (t->status)
                    printf("tactus failed: %s\n", t->error.msg);
                else if (!ref)
                    printf("abc2midi wrote no file, tactus has %zu notes\n", nb);
                else if (na != nb && first >= (na < nb ? na : nb))
                    printf("%zu notes from abc2midi, %zu from tactus\n", na, nb);
                else {
                    while (first < na && first < nb && trip_cmp(&a[first], &b[first]) == 0)
                        first++;
                    if (first < na && first < nb)
                        printf("note %zu: abc2midi %lld/%d/%lld, tactus %lld/%d/%lld\n", first, a[first].onset,
                               a[first].pitch, a[first].duration, b[first].onset, b[first].pitch,
                               b[first].duration);
                    else
                        printf("%zu notes from abc2midi, %zu from tactus\n", na, nb);
                }
            }
        }
        free(a);
        free(b);
        tx_score_free(ref);
    }
    tx_abc_file_free(f);
    tx_free(data);
}

/* tx_find_files() keeps the ABC files (.abc in any case) and sorts them. */
static int is_abc(const char *path, void *ud)
{
    (void)ud;
    return tx_format_from_path(path) == TX_FORMAT_ABC;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends a copy of path to the list (tx_malloc'd, as tx_find_files() makes its entries). */
static void add_file(char ***files, size_t *n, size_t *cap, const char *path)
{
    char *d = tx_strdup(path);
    if (d && tx_grow((void **)files, cap, *n + 1, sizeof **files) == TX_OK)
        (*files)[(*n)++] = d;
    else
        tx_free(d);
}

/* The default set: about 560 tunes across the collections (a second or two). */
static const char *const default_set[] = {
    "nottingham/ABC_cleaned/hpps.abc",
    "nottingham/ABC_cleaned/jigs.abc",
    "nottingham/ABC_cleaned/morris.abc",
    "nottingham/ABC_cleaned/xmas.abc",
    "music21/oneills1850/0001-0050.abc",
    "music21/ryansMammoth/AcrobatsHornpipe.abc",
    "music21/ryansMammoth/42dHighlandRegimentStrathspey.abc",
    "music21/ryansMammoth/BanishMisfortune.abc",
    "music21/josquin/milleRegrets.abc",
    "music21/essenFolksong/test0.abc",
    "oldtime-rjl20/SlowerThanDirt.abc",
    "abcmidi-examples/boys.abc",
};

int main(int argc, char **argv)
{
    const char *corpora = tx_test_corpora();
    if (!corpora) {
        printf("no corpora: skipped\n");
        return 77;
    }
    char base[4200];
    snprintf(base, sizeof base, "%s/abc", corpora);
    int all = 0;
    double min_rate = -1;
    char **files = NULL;   /* tx_free_paths() */
    size_t nfiles = 0, cap = 0;
    int verbose = 1, explicit_files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--min") == 0 && i + 1 < argc)
            min_rate = atof(argv[++i]);
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 2;
        else {
            add_file(&files, &nfiles, &cap, argv[i]);
            explicit_files = 1;
        }
    }
    tx_error err;
    if (all && tx_find_files(base, is_abc, NULL, &files, &nfiles, &err) != TX_OK)
        fprintf(stderr, "%s\n", err.msg);   /* then no tunes: the check below fails */
    else if (!all && !explicit_files)
        for (size_t i = 0; i < sizeof default_set / sizeof *default_set; i++) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", base, default_set[i]);
            add_file(&files, &nfiles, &cap, p);
        }
    qsort(files, nfiles, sizeof *files, str_cmp);
    load_known();

    char tmp[4200];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/tactus-abc-oracle-XXXXXX", tmpdir && *tmpdir ? tmpdir : P_tmpdir);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    stats st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < nfiles && !abc2midi_missing; i++) {
        const char *rel = strncmp(files[i], base, strlen(base)) == 0 ? files[i] + strlen(base) + 1 : files[i];
        compare_file(files[i], rel, tmp, verbose, &st);
    }
    tx_free_paths(files, nfiles);
    clear_dir(tmp);
    rmdir(tmp);
    tx_free(known);
    if (abc2midi_missing) {
        printf("abc2midi not found: skipped\n");
        return 77;
    }
    double rate = st.tunes ? 100.0 * (double)st.same / (double)st.tunes : 0;
    printf("%zu tunes compared, %zu identical (%.2f%%), %zu known differences, %zu unexplained\n", st.tunes,
           st.same, rate, st.known_diff, st.unknown_diff);
    if (st.parse_s > 0)
        printf("tactus parse: %zu tunes, %.1f MB in %.3f s: %.0f tunes/s, %.1f MB/s, %.1f us per tune\n",
               st.parsed, (double)st.bytes / 1e6, st.parse_s, (double)st.parsed / st.parse_s,
               (double)st.bytes / 1e6 / st.parse_s, 1e6 * st.parse_s / (double)(st.parsed ? st.parsed : 1));
    CHECK(st.tunes > 0);
    if (all) {
        if (min_rate >= 0)
            CHECK(rate >= min_rate);
    } else if (!explicit_files) {
        CHECK_INT(st.unknown_diff, 0);
    }
    return tx_test_finish();
}
