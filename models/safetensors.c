/* safetensors.c: the safetensors writer and its hostile-input reader.
 *
 * The writer builds the whole file in memory and hands it to tx_write_file_atomic(), so a crash never
 * leaves half a checkpoint. The reader checks every field of the header before anything points into
 * the data (see safetensors.h for the list). This file knows nothing about models: checkpoint.c maps
 * tensors onto parameters.
 */
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[TX_ST_NDTYPES] = {
    [TX_ST_BOOL] = {"BOOL", 1}, [TX_ST_U8] = {"U8", 1},     [TX_ST_I8] = {"I8", 1},
    [TX_ST_I16] = {"I16", 2},   [TX_ST_U16] = {"U16", 2},   [TX_ST_F16] = {"F16", 2},
    [TX_ST_BF16] = {"BF16", 2}, [TX_ST_I32] = {"I32", 4},   [TX_ST_U32] = {"U32", 4},
    [TX_ST_F32] = {"F32", 4},   [TX_ST_F64] = {"F64", 8},   [TX_ST_I64] = {"I64", 8},
    [TX_ST_U64] = {"U64", 8},
};

const char *tx_st_dtype_name(int dtype)
{
    return dtype >= 0 && dtype < TX_ST_NDTYPES ? dtypes[dtype].name : NULL;
}

size_t tx_st_dtype_size(int dtype)
{
    return dtype >= 0 && dtype < TX_ST_NDTYPES ? dtypes[dtype].size : 0;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Elements of a shape times the element size, or 0 with *ok = 0 on overflow past 2^62. */
static size_t shape_bytes(const int64_t *shape, int ndim, size_t esize, int *ok)
{
    const uint64_t cap = (uint64_t)1 << 62;
    uint64_t n = esize;
    *ok = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && n > cap / (uint64_t)shape[i])) {
            *ok = 0;
            return 0;
        }
        n *= (uint64_t)shape[i];
    }
    if (n > SIZE_MAX) {
        *ok = 0;
        return 0;
    }
    return (size_t)n;
}

/* ---- writing ---- */

int tx_safetensors_encode(tx_buf *out, const tx_st_tensor *t, size_t n, const char *const *keys,
                          const char *const *values, size_t n_meta, tx_error *err)
{
    if (!host_is_little_endian())
        return tx_error_set(err, TX_EUNSUP, "safetensors: writing needs a little-endian host");
    tx_buf h = TX_BUF_INIT;
    int has_format = 0;
    for (size_t i = 0; i < n_meta; i++)
        has_format |= strcmp(keys[i], "format") == 0;
    tx_buf_puts(&h, "{\"__metadata__\":{");
    if (!has_format)
        tx_buf_puts(&h, "\"format\":\"pt\"");
    for (size_t i = 0; i < n_meta; i++) {
        if (i > 0 || !has_format)
            tx_buf_putc(&h, ',');
        tx_buf_json_string(&h, keys[i]);
        tx_buf_putc(&h, ':');
        tx_buf_json_string(&h, values[i]);
    }
    tx_buf_putc(&h, '}');
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        int ok;
        size_t esize = tx_st_dtype_size(t[i].dtype);
        size_t want = esize && t[i].ndim >= 0 && t[i].ndim <= TX_SAFETENSORS_MAX_DIMS
                          ? shape_bytes(t[i].shape, t[i].ndim, esize, &ok) : (ok = 0, 0);
        if (!ok || want != t[i].nbytes || !t[i].name || !*t[i].name ||
            strcmp(t[i].name, "__metadata__") == 0) {
            tx_buf_free(&h);
            return tx_error_set(err, TX_EINVAL, "safetensors: tensor %zu (%s): bad name, dtype or shape, "
                                "or %zu bytes for its shape", i, t[i].name ? t[i].name : "?", t[i].nbytes);
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(t[k].name, t[i].name) == 0) {
                tx_buf_free(&h);
                return tx_error_set(err, TX_EINVAL, "safetensors: tensor name '%s' is repeated",
                                    t[i].name);
            }
        }
        tx_buf_putc(&h, ',');
        tx_buf_json_string(&h, t[i].name);
        tx_buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", tx_st_dtype_name(t[i].dtype));
        for (int d = 0; d < t[i].ndim; d++)
            tx_buf_printf(&h, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        tx_buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + t[i].nbytes);
        off += t[i].nbytes;
    }
    tx_buf_putc(&h, '}');
    /* spaces after the JSON so that the data starts at a multiple of 8 */
    while ((8 + h.len) % 8 != 0)
        tx_buf_putc(&h, ' ');
    if (h.oom) {
        tx_buf_free(&h);
        return tx_error_set(err, TX_ENOMEM, "safetensors: out of memory");
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
    tx_buf_append(out, len8, 8);
    tx_buf_append(out, h.data, h.len);
    tx_buf_free(&h);
    for (size_t i = 0; i < n; i++)
        if (t[i].nbytes)
            tx_buf_append(out, t[i].data, t[i].nbytes);
    if (out->oom)
        return tx_error_set(err, TX_ENOMEM, "safetensors: out of memory");
    return TX_OK;
}

int tx_safetensors_write(const char *path, const tx_st_tensor *t, size_t n, const char *const *keys,
                         const char *const *values, size_t n_meta, tx_error *err)
{
    tx_buf b = TX_BUF_INIT;
    int rc = tx_safetensors_encode(&b, t, n, keys, values, n_meta, err);
    if (rc == TX_OK)
        rc = tx_write_file_atomic(path, b.data, b.len, err);
    tx_buf_free(&b);
    if (rc && err && rc == TX_EINVAL) {
        /* put the path in front of an encoding error */
        char msg[TX_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        tx_error_set(err, rc, "%s: %s", path, msg);
    }
    return rc;
}

/* ---- reading ---- */

static int parse_dtype(const char *s)
{
    for (int i = 0; i < TX_ST_NDTYPES; i++)
        if (strcmp(s, dtypes[i].name) == 0)
            return i;
    return -1;
}

static int cmp_offset(const void *a, const void *b)
{
    const tx_st_tensor *x = a, *y = b;
    const uint8_t *px = x->data, *py = y->data;
    if (px != py)
        return px < py ? -1 : 1;
    return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

static int cmp_name(const void *a, const void *b)
{
    const tx_st_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int parse_tensor(tx_safetensors *st, const char *name, const char *tname, const tx_json *v,
                        const uint8_t *data, size_t data_len, tx_st_tensor *t, tx_error *err)
{
    if (!*tname)
        return tx_error_set(err, TX_EMODEL, "%s: header: a tensor has an empty name", name);
    if (v->type != TX_JSON_OBJECT)
        return tx_error_set(err, TX_EMODEL, "%s: header: tensor '%s' is not an object", name, tname);
    const char *dt = tx_json_get_str(v, "dtype", NULL);
    int dtype = dt ? parse_dtype(dt) : -1;
    if (dtype < 0)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': unknown or missing dtype%s%s", name, tname,
                            dt ? " " : "", dt ? dt : "");
    const tx_json *shape = tx_json_get(v, "shape");
    if (!shape || shape->type != TX_JSON_ARRAY || shape->len > TX_SAFETENSORS_MAX_DIMS)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': shape must be an array of at most %d "
                            "sizes", name, tname, TX_SAFETENSORS_MAX_DIMS);
    t->ndim = (int)shape->len;
    for (size_t i = 0; i < shape->len; i++) {
        const tx_json *d = shape->items[i];
        if (d->type != TX_JSON_NUMBER || !d->is_integer || d->integer < 0)
            return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': shape holds something other than a "
                                "size", name, tname);
        t->shape[i] = d->integer;
    }
    const tx_json *offs = tx_json_get(v, "data_offsets");
    if (!offs || offs->type != TX_JSON_ARRAY || offs->len != 2 ||
        offs->items[0]->type != TX_JSON_NUMBER || !offs->items[0]->is_integer ||
        offs->items[1]->type != TX_JSON_NUMBER || !offs->items[1]->is_integer)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': data_offsets must be two integers", name,
                            tname);
    int64_t b = offs->items[0]->integer, e = offs->items[1]->integer;
    if (b < 0 || e < b || (uint64_t)e > (uint64_t)data_len)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': data_offsets [%lld, %lld] outside the %zu "
                            "data bytes", name, tname, (long long)b, (long long)e, data_len);
    size_t esize = tx_st_dtype_size(dtype);
    if ((uint64_t)b % esize != 0)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': offset %lld is not aligned to its %zu-byte "
                            "elements", name, tname, (long long)b, esize);
    int ok;
    size_t want = shape_bytes(t->shape, t->ndim, esize, &ok);
    if (!ok || want != (size_t)(e - b))
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': %lld bytes do not hold a %s tensor of its "
                            "shape", name, tname, (long long)(e - b), dt);
    t->name = tx_arena_strdup(&st->arena, tname);
    if (!t->name)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
    t->dtype = dtype;
    t->data = data + b;
    t->nbytes = (size_t)(e - b);
    return TX_OK;
}

static int parse_header(tx_safetensors *st, const uint8_t *data, size_t len, const char *name,
                        tx_error *err)
{
    if (len < 8)
        return tx_error_set(err, TX_EMODEL, "%s: %zu bytes are too short for a safetensors file", name,
                            len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | data[i];
    if (hl > TX_SAFETENSORS_MAX_HEADER)
        return tx_error_set(err, TX_ELIMIT, "%s: header length %llu exceeds the limit of %u bytes", name,
                            (unsigned long long)hl, TX_SAFETENSORS_MAX_HEADER);
    if (hl > len - 8)
        return tx_error_set(err, TX_EMODEL, "%s: header length %llu runs past the end of the file (%zu "
                            "bytes)", name, (unsigned long long)hl, len);
    if (hl < 2 || data[8] != '{')
        return tx_error_set(err, TX_EMODEL, "%s: the header does not start with '{'", name);
    const uint8_t *dstart = data + 8 + hl;
    size_t dlen = len - 8 - (size_t)hl;
    tx_json *j = NULL;
    int rc = tx_json_parse((const char *)data + 8, (size_t)hl, name, &st->arena, &j, err);
    if (rc)
        return rc;   /* the JSON reader's message already names the file and the place */
    if (j->type != TX_JSON_OBJECT)
        return tx_error_set(err, TX_EMODEL, "%s: the header is not a JSON object", name);
    size_t nt = 0, nm = 0;
    for (size_t i = 0; i < j->len; i++) {
        if (strcmp(j->keys[i], "__metadata__") != 0) {
            nt++;
            continue;
        }
        const tx_json *md = j->items[i];
        if (md->type != TX_JSON_OBJECT)
            return tx_error_set(err, TX_EMODEL, "%s: __metadata__ is not an object", name);
        for (size_t k = 0; k < md->len; k++)
            if (md->items[k]->type != TX_JSON_STRING)
                return tx_error_set(err, TX_EMODEL, "%s: __metadata__ value '%s' is not a string", name,
                                    md->keys[k]);
        nm = md->len;
    }
    st->tensors = tx_arena_alloc(&st->arena, (nt ? nt : 1) * sizeof *st->tensors);
    st->meta_keys = tx_arena_alloc(&st->arena, (nm ? nm : 1) * sizeof *st->meta_keys);
    st->meta_values = tx_arena_alloc(&st->arena, (nm ? nm : 1) * sizeof *st->meta_values);
    if (!st->tensors || !st->meta_keys || !st->meta_values)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < j->len; i++) {
        if (strcmp(j->keys[i], "__metadata__") == 0) {
            /* a repeated __metadata__ keeps the last one, as lookups do */
            const tx_json *md = j->items[i];
            st->n_meta = 0;
            for (size_t k = 0; k < md->len; k++) {
                st->meta_keys[st->n_meta] = md->keys[k];
                st->meta_values[st->n_meta] = md->items[k]->str;
                st->n_meta++;
            }
            continue;
        }
        tx_st_tensor *t = &st->tensors[st->n_tensors];
        memset(t, 0, sizeof *t);
        if ((rc = parse_tensor(st, name, j->keys[i], j->items[i], dstart, dlen, t, err)))
            return rc;
        st->n_tensors++;
    }
    /* repeated names: sort pointers by name and compare neighbours */
    if (st->n_tensors > 1) {
        const tx_st_tensor **byname = tx_arena_alloc(&st->arena, st->n_tensors * sizeof *byname);
        if (!byname)
            return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
        for (size_t i = 0; i < st->n_tensors; i++)
            byname[i] = &st->tensors[i];
        qsort(byname, st->n_tensors, sizeof *byname, cmp_name);
        for (size_t i = 1; i < st->n_tensors; i++)
            if (strcmp(byname[i - 1]->name, byname[i]->name) == 0)
                return tx_error_set(err, TX_EMODEL, "%s: tensor '%s' appears twice", name, byname[i]->name);
    }
    /* the ranges must tile the data exactly: no overlap, no gap (no hidden bytes) */
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_offset);
    size_t at = 0;
    for (size_t i = 0; i < st->n_tensors; i++) {
        const tx_st_tensor *t = &st->tensors[i];
        size_t b = (size_t)((const uint8_t *)t->data - dstart);
        if (b < at)
            return tx_error_set(err, TX_EMODEL, "%s: tensor '%s' overlaps tensor '%s'", name, t->name,
                                st->tensors[i - 1].name);
        if (b > at)
            return tx_error_set(err, TX_EMODEL, "%s: data bytes %zu..%zu belong to no tensor", name, at, b);
        at = b + t->nbytes;
    }
    if (at != dlen)
        return tx_error_set(err, TX_EMODEL, "%s: data bytes %zu..%zu belong to no tensor", name, at, dlen);
    return TX_OK;
}

int tx_safetensors_parse(const uint8_t *data, size_t len, const char *name, tx_safetensors **out,
                         tx_error *err)
{
    *out = NULL;
    if (!host_is_little_endian())
        return tx_error_set(err, TX_EUNSUP, "%s: reading safetensors needs a little-endian host", name);
    tx_safetensors *st = tx_calloc(1, sizeof *st);
    if (!st)
        return tx_error_set(err, TX_ENOMEM, "%s: out of memory", name);
    tx_arena_init(&st->arena);
    int rc = parse_header(st, data, len, name, err);
    if (rc) {
        tx_safetensors_free(st);
        return rc;
    }
    *out = st;
    return TX_OK;
}

int tx_safetensors_read(const char *path, size_t max_size, tx_safetensors **out, tx_error *err)
{
    *out = NULL;
    uint8_t *data;
    size_t len;
    int rc = tx_read_file(path, max_size, &data, &len, err);
    if (rc)
        return rc;
    rc = tx_safetensors_parse(data, len, path, out, err);
    if (rc) {
        tx_free(data);
        return rc;
    }
    (*out)->owned = data;
    return TX_OK;
}

void tx_safetensors_free(tx_safetensors *st)
{
    if (!st)
        return;
    tx_arena_free(&st->arena);
    tx_free(st->owned);
    tx_free(st);
}

const tx_st_tensor *tx_safetensors_find(const tx_safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

const char *tx_safetensors_meta(const tx_safetensors *st, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            v = st->meta_values[i];
    return v;
}
