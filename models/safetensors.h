/* safetensors.h: reading and writing the safetensors checkpoint format.
 *
 * The format: 8 bytes of little-endian header length N, N bytes of JSON header (an object mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional "__metadata__"
 * object of string values), then the tensors' bytes, offsets counted from the end of the header. The
 * writer pads the header with spaces so that the data starts 8-aligned, puts "format": "pt" in the
 * metadata, and writes atomically. The reader treats the file as hostile: it refuses a header length
 * beyond the file or TX_SAFETENSORS_MAX_HEADER, unknown dtypes, shapes whose size disagrees with the
 * byte range, offsets out of range, overlapping ranges, ranges not aligned to their element size,
 * bytes no tensor covers, and repeated names. It does not check values (the model loader refuses NaN).
 *
 * Ownership: tx_safetensors_read() returns a handle that owns the file's bytes; tx_safetensors_parse()
 * returns one that borrows the caller's buffer (which must outlive it). Both are freed with
 * tx_safetensors_free(); tensor data, names and metadata strings are borrowed from the handle.
 */
#ifndef TX_SAFETENSORS_H
#define TX_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"

#define TX_SAFETENSORS_MAX_HEADER (100u * 1000u * 1000u)   /* the reference implementation's limit */
#define TX_SAFETENSORS_MAX_DIMS 8

enum tx_st_dtype {
    TX_ST_BOOL, TX_ST_U8, TX_ST_I8, TX_ST_I16, TX_ST_U16, TX_ST_F16, TX_ST_BF16, TX_ST_I32, TX_ST_U32,
    TX_ST_F32, TX_ST_F64, TX_ST_I64, TX_ST_U64, TX_ST_NDTYPES
};

typedef struct tx_st_tensor {
    const char *name;
    int dtype;                                   /* enum tx_st_dtype */
    int ndim;                                    /* 0 .. TX_SAFETENSORS_MAX_DIMS */
    int64_t shape[TX_SAFETENSORS_MAX_DIMS];
    const void *data;                            /* nbytes, little-endian; may be unaligned */
    size_t nbytes;
} tx_st_tensor;

typedef struct tx_safetensors {
    size_t n_tensors;
    tx_st_tensor *tensors;                       /* in file order (by data offset) */
    size_t n_meta;
    const char **meta_keys, **meta_values;
    tx_arena arena;                              /* holds the above */
    uint8_t *owned;                              /* the file's bytes when read from a path */
} tx_safetensors;

/* "F32", "BF16" ...; NULL for an unknown code. */
TX_API const char *tx_st_dtype_name(int dtype);
/* Bytes per element (1 for BOOL), 0 for an unknown code. */
TX_API size_t tx_st_dtype_size(int dtype);

/* Appends a whole safetensors file to out: n tensors (data in the given order), then n_meta metadata
 * pairs (keys[i], values[i]); "format": "pt" is added unless a key "format" is given. Tensor names must
 * be unique, non-empty and not "__metadata__"; nbytes must match dtype and shape. */
TX_API int tx_safetensors_encode(tx_buf *out, const tx_st_tensor *t, size_t n, const char *const *keys,
                                 const char *const *values, size_t n_meta, tx_error *err);
/* Encodes and writes path atomically (a temporary file beside it, then rename). */
TX_API int tx_safetensors_write(const char *path, const tx_st_tensor *t, size_t n,
                                const char *const *keys, const char *const *values, size_t n_meta,
                                tx_error *err);

/* Parses len bytes (borrowed); name is used in messages. */
TX_API int tx_safetensors_parse(const uint8_t *data, size_t len, const char *name, tx_safetensors **out,
                                tx_error *err);
/* Reads and parses a file of at most max_size bytes. */
TX_API int tx_safetensors_read(const char *path, size_t max_size, tx_safetensors **out, tx_error *err);
TX_API void tx_safetensors_free(tx_safetensors *st);

/* The tensor called name, or NULL. */
TX_API const tx_st_tensor *tx_safetensors_find(const tx_safetensors *st, const char *name);
/* The metadata value for key, or NULL. */
TX_API const char *tx_safetensors_meta(const tx_safetensors *st, const char *key);

#endif
