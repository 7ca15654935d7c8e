/* paths.c: finding data files, installed or beside the sources; small path helpers. */
#include "paths.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "memory.h"
#include "tactus.h"
#include "tx-config.h"

const char *tx_version(void)
{
    return TX_VERSION;
}

static char *join_if_exists(const char *dir, const char *rel)
{
    if (!dir || !*dir)
        return NULL;
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = tx_malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, "%s/%s", dir, rel);
    struct stat st;
    if (stat(p, &st) == 0)
        return p;
    tx_free(p);
    return NULL;
}

char *tx_data_path(const char *rel)
{
    char *p = join_if_exists(getenv("TACTUS_DATA"), rel);
    if (!p)
        p = join_if_exists(TX_DATADIR, rel);
    if (!p)
        p = join_if_exists(TX_SOURCE_ROOT, rel);
    return p;
}

const char *tx_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

const char *tx_extension(const char *path, char *buf, size_t n)
{
    const char *base = tx_basename(path);
    const char *dot = strrchr(base, '.');
    size_t i = 0;
    if (dot && dot != base)
        for (dot++; *dot && i + 1 < n; dot++)
            buf[i++] = (char)tolower((unsigned char)*dot);
    if (n)
        buf[i] = '\0';
    return buf;
}

/* ---- finding files ---- */

typedef struct pathlist {
    char **v;
    size_t n, cap;
    int (*keep)(const char *, void *);
    void *ud;
} pathlist;

static int push_path(pathlist *l, const char *p)
{
    char *d = tx_strdup(p);
    if (!d || tx_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) {
        tx_free(d);
        return TX_ENOMEM;
    }
    l->v[l->n++] = d;
    return TX_OK;
}

/* The folders being walked, outermost first: a link back to one of them is a loop. */
typedef struct ancestors {
    dev_t dev[64];
    ino_t ino[64];
    int n;
} ancestors;

static int walk(const char *dir, ancestors *up, pathlist *l, tx_error *err)
{
    struct stat self;
    if (up->n == 64 || stat(dir, &self) != 0)
        return TX_OK;   /* an absurdly deep tree stops here */
    for (int i = 0; i < up->n; i++)
        if (up->dev[i] == self.st_dev && up->ino[i] == self.st_ino)
            return TX_OK;   /* a link back up */
    up->dev[up->n] = self.st_dev;
    up->ino[up->n] = self.st_ino;
    up->n++;
    DIR *d = opendir(dir);
    if (!d) {
        up->n--;
        return TX_OK;
    }
    struct dirent *e;
    int rc = TX_OK;
    tx_buf p = TX_BUF_INIT;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        tx_buf_reset(&p);
        tx_buf_printf(&p, "%s/%s", dir, e->d_name);
        if (p.oom) {
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", dir);
            break;
        }
        /* d_type spares a stat per entry (most entries of a corpus are not music files); links and
         * file systems that don't fill it in get a stat */
        int is_dir = e->d_type == DT_DIR, is_reg = e->d_type == DT_REG;
        if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
            struct stat st;
            if (stat(p.data, &st) != 0)
                continue;
            is_dir = S_ISDIR(st.st_mode);
            is_reg = S_ISREG(st.st_mode);
        }
        if (is_dir)
            rc = walk(p.data, up, l, err);
        else if (is_reg && (!l->keep || l->keep(p.data, l->ud)) && push_path(l, p.data))
            rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", dir);
    }
    closedir(d);
    tx_buf_free(&p);
    up->n--;
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tx_find_files(const char *root, int (*keep)(const char *path, void *ud), void *ud, char ***paths,
                  size_t *n, tx_error *err)
{
    pathlist l = {*paths, *n, *n, keep, ud};
    struct stat st;
    int rc;
    if (stat(root, &st) != 0)
        rc = tx_error_set(err, TX_EIO, "%s: %s", root, strerror(errno));
    else if (S_ISDIR(st.st_mode)) {
        ancestors up = {.n = 0};
        rc = walk(root, &up, &l, err);
    }
    else
        rc = push_path(&l, root) ? tx_error_set(err, TX_ENOMEM, "%s: out of memory", root) : TX_OK;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_path);
    *paths = l.v;
    *n = l.n;
    return rc;
}

void tx_free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tx_free(paths[i]);
    tx_free(paths);
}
