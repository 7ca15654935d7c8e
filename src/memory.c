/* memory.c: the allocation hook, arenas, byte buffers and whole-file I/O.
 * Not a general-purpose allocator: arenas are bump allocators over a list of blocks. */
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the allocation hook ---- */

static void *libc_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    return realloc(ptr, size);
}

static void libc_free(void *ud, void *ptr)
{
    (void)ud;
    free(ptr);
}

static tx_allocator alloc = {libc_realloc, libc_free, NULL};

void tx_set_allocator(const tx_allocator *a)
{
    if (a)
        alloc = *a;
    else
        alloc = (tx_allocator){libc_realloc, libc_free, NULL};
}

void *tx_malloc(size_t size)
{
    return alloc.realloc_fn(alloc.ud, NULL, size ? size : 1);
}

void *tx_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = tx_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *tx_realloc(void *ptr, size_t size)
{
    return alloc.realloc_fn(alloc.ud, ptr, size ? size : 1);
}

void tx_free(void *ptr)
{
    if (ptr)
        alloc.free_fn(alloc.ud, ptr);
}

int tx_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return -1;
    void *p = tx_realloc(*arr, ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

char *tx_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = tx_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- arenas ---- */

struct tx_arena_block {
    tx_arena_block *next;
    size_t size;
    /* data follows, 16-byte aligned by the header's size */
    max_align_t pad[];
};

#define ARENA_MIN_BLOCK 8192u

void tx_arena_init(tx_arena *a)
{
    memset(a, 0, sizeof *a);
}

void *tx_arena_alloc(tx_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if (!a->head || a->size - a->used < size) {
        size_t bs = a->size ? a->size * 2 : ARENA_MIN_BLOCK;
        if (bs < size)
            bs = size;
        if (bs > (1u << 24) && size < (1u << 24))
            bs = 1u << 24;   /* growth stops at 16 MiB blocks; big requests get their own */
        if (bs > SIZE_MAX - sizeof(tx_arena_block))
            return NULL;
        tx_arena_block *b = tx_malloc(sizeof *b + bs);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = bs;
        a->head = b;
        a->used = 0;
        a->size = bs;
    }
    char *p = (char *)a->head->pad + a->used;
    a->used += size;
    a->total += size;
    return p;
}

char *tx_arena_strndup(tx_arena *a, const char *s, size_t n)
{
    char *p = tx_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *tx_arena_strdup(tx_arena *a, const char *s)
{
    return s ? tx_arena_strndup(a, s, strlen(s)) : NULL;
}

char *tx_arena_printf(tx_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = tx_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void tx_arena_free(tx_arena *a)
{
    tx_arena_block *b = a->head;
    while (b) {
        tx_arena_block *next = b->next;
        tx_free(b);
        b = next;
    }
    tx_arena_init(a);
}

/* ---- byte buffers ---- */

int tx_buf_append(tx_buf *b, const void *data, size_t n)
{
    if (b->oom)
        return -1;
    if (n > SIZE_MAX - b->len - 1 || tx_grow((void **)&b->data, &b->cap, b->len + n + 1, 1)) {
        b->oom = 1;
        return -1;
    }
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int tx_buf_puts(tx_buf *b, const char *s)
{
    return tx_buf_append(b, s, strlen(s));
}

int tx_buf_putc(tx_buf *b, int c)
{
    char ch = (char)c;
    return tx_buf_append(b, &ch, 1);
}

int tx_buf_vprintf(tx_buf *b, const char *fmt, va_list ap)
{
    if (b->oom)
        return -1;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || tx_grow((void **)&b->data, &b->cap, b->len + (size_t)n + 1, 1)) {
        b->oom = 1;
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int tx_buf_printf(tx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = tx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80)
        return 1;
    else if ((c & 0xe0) == 0xc0)
        n = 2, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0)
        n = 3, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0)
        n = 4, min = 0x10000, c &= 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return n;
}

int tx_buf_json_string(tx_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    tx_buf_putc(b, '"');
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            tx_buf_putc(b, '\\');
            tx_buf_putc(b, (int)c);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': tx_buf_puts(b, "\\n"); break;
            case '\t': tx_buf_puts(b, "\\t"); break;
            case '\r': tx_buf_puts(b, "\\r"); break;
            default: tx_buf_printf(b, "\\u%04x", c); break;
            }
            p++;
        } else {
            int n = utf8_len(p);
            if (n == 0) {
                tx_buf_puts(b, "\xef\xbf\xbd");
                p++;
            } else {
                tx_buf_append(b, p, (size_t)n);
                p += n;
            }
        }
    }
    return tx_buf_putc(b, '"');
}

void tx_buf_reset(tx_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

void tx_buf_free(tx_buf *b)
{
    tx_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* ---- whole files ---- */

int tx_read_file(const char *path, size_t max_size, uint8_t **out, size_t *len, tx_error *err)
{
    *out = NULL;
    *len = 0;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return tx_error_set(err, TX_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (!is_stdin && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return tx_error_set(err, TX_EIO, "%s: is a directory", path);
    }
    /* Read in chunks rather than trusting st_size: pipes and /proc files report 0. */
    size_t cap = 0, n = 0;
    uint8_t *data = NULL;
    for (;;) {
        if (tx_grow((void **)&data, &cap, n + 65536 + 1, 1)) {
            tx_free(data);
            if (!is_stdin)
                fclose(f);
            return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (n > max_size) {
            tx_free(data);
            if (!is_stdin)
                fclose(f);
            return tx_error_set(err, TX_ELIMIT, "%s: larger than %zu bytes", path, max_size);
        }
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    if (!is_stdin)
        fclose(f);
    if (bad) {
        tx_free(data);
        return tx_error_set(err, TX_EIO, "%s: read error", path);
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    return TX_OK;
}

int tx_write_file_atomic(const char *path, const void *data, size_t len, tx_error *err)
{
    size_t pl = strlen(path);
    char *tmp = tx_malloc(pl + 16);
    if (!tmp)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int rc = tx_error_set(err, TX_EIO, "%s: %s", path, strerror(errno));
        tx_free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    int ok = left == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0)
        ok = 0;
    if (ok) {
        /* mkstemp makes the file 0600; give it the usual permissions a new file would get. */
        mode_t um = umask(0);
        umask(um);
        chmod(tmp, 0666 & ~um);
        if (rename(tmp, path) == 0) {
            tx_free(tmp);
            return TX_OK;
        }
        saved = errno;
    }
    unlink(tmp);
    tx_free(tmp);
    return tx_error_set(err, TX_EIO, "%s: %s", path, strerror(saved ? saved : EIO));
}
