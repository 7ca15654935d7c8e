/* slow-midi-mido.c: tactus's MIDI reader against mido on every MIDI file of the shared corpora
 * POP909 and ASAP (../shared/corpora; skips with 77 when absent or when mido is missing). Prints the
 * counts; fails when a file mido reads is read differently or refused by tactus. */
#include "harness.h"
#include "midi-mido.h"

#include <dirent.h>
#include <sys/stat.h>

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static void walk(const char *dir, list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
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
        } else {
            size_t l = strlen(path);
            if (l > 4 && (strcmp(path + l - 4, ".mid") == 0 || strcmp(path + l - 4, ".MID") == 0)) {
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 256;
                    out->v = realloc(out->v, out->cap * sizeof *out->v);
                }
                out->v[out->n++] = strdup(path);
            }
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    const char *corpora = tx_test_corpora();
    if (!corpora) {
        printf("shared corpora not found: skipped\n");
        return 77;
    }
    static const char *const sub[] = {"pop909/POP909", "midi-asap"};
    for (int c = 0; c < 2; c++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", corpora, sub[c]);
        list l = {0};
        walk(dir, &l);
        qsort(l.v, l.n, sizeof *l.v, cmp_str);
        mido_stats st = {0};
        int bad = 0;
        for (size_t i = 0; i < l.n; i += 100) {
            int k = (int)(l.n - i < 100 ? l.n - i : 100);
            int b = midi_compare_with_mido((const char *const *)l.v + i, k, stderr, &st);
            if (b < 0) {
                printf("mido is not available (python3-mido): skipped\n");
                return 77;
            }
            bad += b;
        }
        printf("%s: %d files, %d same as mido, %d differ, %d refused by tactus only, %d unreadable "
               "by mido\n", sub[c], st.files, st.same, st.differ, st.tactus_failed, st.mido_failed);
        CHECK(st.files > 0);
        CHECK_INT(bad, 0);
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
    }
    return tx_test_finish();
}
