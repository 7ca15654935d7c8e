/* memory.h: the one allocation hook, arenas, and growable byte buffers.
 *
 * Every heap allocation in tactus goes through tx_malloc / tx_realloc / tx_free, so that tests can
 * swap the allocator and inject out-of-memory failures. Arenas hand out memory that is freed in one
 * call (parse results, strings, token streams); a tx_buf is a growable byte string (output text,
 * file contents). Ownership: memory from tx_malloc is freed with tx_free; memory from an arena lives
 * until tx_arena_free on that arena; a tx_buf owns its bytes until tx_buf_free.
 */
#ifndef TX_MEMORY_H
#define TX_MEMORY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* ---- the allocation hook ---- */

typedef struct tx_allocator {
    void *(*realloc_fn)(void *ud, void *ptr, size_t size); /* size 0 never reaches it */
    void (*free_fn)(void *ud, void *ptr);
    void *ud;
} tx_allocator;

/* Installs a (NULL restores the C library's malloc). Not thread-safe: set it before any other call. */
TX_API void tx_set_allocator(const tx_allocator *a);
TX_API void *tx_malloc(size_t size);
TX_API void *tx_calloc(size_t n, size_t size);   /* NULL when n * size overflows */
TX_API void *tx_realloc(void *ptr, size_t size);
TX_API void tx_free(void *ptr);
/* Grows *arr (of element size `elem`) so that it holds at least `need` elements, doubling; returns 0
 * or -1 on overflow or out of memory (the array is untouched then). *cap is updated. */
TX_API int tx_grow(void **arr, size_t *cap, size_t need, size_t elem);
/* A tx_malloc'd copy of s (NULL stays NULL; NULL on out of memory). */
TX_API char *tx_strdup(const char *s);

/* ---- arenas ---- */

typedef struct tx_arena_block tx_arena_block;
typedef struct tx_arena {
    tx_arena_block *head;
    size_t used, size;   /* in the head block */
    size_t total;        /* bytes handed out, for statistics */
} tx_arena;

#define TX_ARENA_INIT {NULL, 0, 0, 0}
TX_API void tx_arena_init(tx_arena *a);
/* Aligned to 16 bytes. NULL on out of memory. */
TX_API void *tx_arena_alloc(tx_arena *a, size_t size);
TX_API char *tx_arena_strdup(tx_arena *a, const char *s);
TX_API char *tx_arena_strndup(tx_arena *a, const char *s, size_t n);
TX_API char *tx_arena_printf(tx_arena *a, const char *fmt, ...) TX_PRINTF(2, 3);
TX_API void tx_arena_free(tx_arena *a);

/* ---- growable byte buffers ---- */

typedef struct tx_buf {
    char *data;      /* always NUL-terminated when len > 0 or after any append */
    size_t len, cap;
    int oom;         /* set once an append failed; later appends are ignored */
} tx_buf;

#define TX_BUF_INIT {NULL, 0, 0, 0}
TX_API int tx_buf_append(tx_buf *b, const void *data, size_t n);
TX_API int tx_buf_puts(tx_buf *b, const char *s);
TX_API int tx_buf_putc(tx_buf *b, int c);
TX_API int tx_buf_printf(tx_buf *b, const char *fmt, ...) TX_PRINTF(2, 3);
TX_API int tx_buf_vprintf(tx_buf *b, const char *fmt, va_list ap) TX_PRINTF(2, 0);
/* Appends s as a JSON string literal, quotes included; bytes that are not valid UTF-8 become U+FFFD. */
TX_API int tx_buf_json_string(tx_buf *b, const char *s);
TX_API void tx_buf_reset(tx_buf *b);   /* len = 0, keeps the memory */
TX_API void tx_buf_free(tx_buf *b);

/* Reads a whole file into a tx_malloc'd buffer (NUL-terminated; *len excludes the NUL); the path "-"
 * reads standard input. Files over max_size bytes are refused with TX_ELIMIT. Caller frees *out with
 * tx_free. */
TX_API int tx_read_file(const char *path, size_t max_size, uint8_t **out, size_t *len, tx_error *err);
/* Writes data to path atomically: a temporary file beside it, fsync, rename. */
TX_API int tx_write_file_atomic(const char *path, const void *data, size_t len, tx_error *err);

#endif
