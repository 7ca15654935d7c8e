/* fuzz-main.c: a plain main() for fuzz targets, so that each runs without libFuzzer as a regression
 * test: `fuzz-X DIR...` feeds every file under each DIR (one level, sorted) or each FILE argument to
 * LLVMFuzzerTestOneInput() once. Exit 0 when all ran (a failing input aborts the process), 1 when a
 * file could not be read or no input was found. Not a fuzzer: it generates nothing. */
#include "memory.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    uint8_t *data;
    size_t len;
    tx_error err;
    if (tx_read_file(path, (size_t)1 << 28, &data, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* an exact-size copy, so a sanitizer sees reads one past the end */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return 1;
    memcpy(copy, data, len);
    tx_free(data);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0, ran = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb)) {
            fprintf(stderr, "%s: cannot stat\n", argv[a]);
            failed++;
            continue;
        }
        if (!S_ISDIR(sb.st_mode)) {
            failed += run_file(argv[a]);
            ran++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) {
            failed++;
            continue;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                names = realloc(names, cap * sizeof *names);
                if (!names)
                    return 1;
            }
            size_t l = strlen(argv[a]) + strlen(e->d_name) + 2;
            names[n] = malloc(l);
            snprintf(names[n], l, "%s/%s", argv[a], e->d_name);
            n++;
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++) {
            failed += run_file(names[i]);
            ran++;
            free(names[i]);
        }
        free(names);
    }
    printf("%d inputs run, %d unreadable\n", ran, failed);
    return failed || ran == 0 ? 1 : 0;
}
