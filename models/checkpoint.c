/* checkpoint.c: saving and loading a model (and optionally its optimizer state) as safetensors.
 *
 * A checkpoint holds one F32 tensor per named parameter (tx_model_tensors(); Meta-Llama names), the
 * configuration as JSON under the metadata key "tactus.config", any extra metadata the caller gives
 * (the tokenizer), and, for resuming, the AdamW moments as "optim.m" / "optim.v" with the step in
 * "tactus.optim.step". Loading checks every tensor against the configuration before anything is
 * copied and refuses non-finite weights. The file format itself is safetensors.c.
 */
#include "model-priv.h"
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_KEY "tactus.config"
#define STEP_KEY "tactus.optim.step"

/* IEEE half precision from single, rounding to nearest even; too large a value gives infinity. */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
    int32_t e = (int32_t)((x >> 23) & 0xffu);
    if (e == 0xff)
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    int32_t exp = e - 127 + 15;
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {   /* a subnormal half, or zero */
        if (exp < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp), h = mant >> shift, rem = mant & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        h += rem > halfway || (rem == halfway && (h & 1));
        return (uint16_t)(sign | h);
    }
    uint32_t h = sign | (uint32_t)exp << 10 | mant >> 13, rem = mant & 0x1fffu;
    h += rem > 0x1000u || (rem == 0x1000u && (h & 1));   /* a carry into the exponent is right */
    return (uint16_t)h;
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
    if (exp == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    if (exp == 31)
        x = sign | 0x7f800000u | mant << 13;
    else
        x = sign | (exp - 15 + 127) << 23 | mant << 13;
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

/* bfloat16 from single, rounding to nearest even (NaN kept a NaN). */
static uint16_t f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

int tx_model_save_weights(const tx_model *m, int dtype, const char *const *keys, const char *const *values,
                          size_t n, const char *path, tx_error *err)
{
    if (dtype == TX_ST_F32)
        return tx_model_save(m, NULL, keys, values, n, path, err);
    if (dtype != TX_ST_F16 && dtype != TX_ST_BF16)
        return tx_error_set(err, TX_EINVAL, "%s: weights are stored as F32, F16 or BF16", path);
    size_t np = m->n_params;
    uint16_t *half = tx_malloc((np ? np : 1) * sizeof *half);
    tx_st_tensor *t = tx_calloc(m->n_tensors, sizeof *t);
    const char **k = tx_calloc(n + 1, sizeof *k), **v = tx_calloc(n + 1, sizeof *v);
    tx_buf cfg = TX_BUF_INIT;
    int rc = TX_OK;
    if (!half || !t || !k || !v || tx_model_config_to_json(&m->c, &cfg) != 0) {
        rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < np && !rc; i++) {
        half[i] = dtype == TX_ST_F16 ? f32_to_f16(m->params[i]) : f32_to_bf16(m->params[i]);
        if ((half[i] & 0x7c00u) == 0x7c00u && dtype == TX_ST_F16)
            rc = tx_error_set(err, TX_ELIMIT, "%s: parameter %zu (%g) does not fit F16", path, i,
                              (double)m->params[i]);
    }
    if (rc)
        goto done;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tx_model_tensor *mt = &m->tensors[i];
        t[i].name = mt->name;
        t[i].dtype = dtype;
        t[i].ndim = mt->ndim;
        t[i].shape[0] = mt->shape[0];
        t[i].shape[1] = mt->shape[1];
        t[i].data = half + mt->offset;
        t[i].nbytes = (size_t)mt->shape[0] * (size_t)(mt->ndim == 2 ? mt->shape[1] : 1) * sizeof *half;
    }
    k[0] = CONFIG_KEY;
    v[0] = cfg.data;
    for (size_t i = 0; i < n; i++) {
        k[i + 1] = keys[i];
        v[i + 1] = values[i];
    }
    rc = tx_safetensors_write(path, t, m->n_tensors, k, v, n + 1, err);
done:
    tx_free(half);
    tx_free(t);
    tx_free(k);
    tx_free(v);
    tx_buf_free(&cfg);
    return rc;
}

int tx_model_save(const tx_model *m, const tx_adamw *o, const char *const *keys,
                  const char *const *values, size_t n, const char *path, tx_error *err)
{
    size_t nt = m->n_tensors + (o ? 2 : 0);
    tx_st_tensor *t = tx_calloc(nt, sizeof *t);
    const char **k = tx_calloc(n + 2, sizeof *k), **v = tx_calloc(n + 2, sizeof *v);
    tx_buf cfg = TX_BUF_INIT;
    char step[32];
    int rc;
    if (!t || !k || !v || tx_model_config_to_json(&m->c, &cfg) != 0) {
        rc = tx_error_set(err, TX_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tx_model_tensor *mt = &m->tensors[i];
        t[i].name = mt->name;
        t[i].dtype = TX_ST_F32;
        t[i].ndim = mt->ndim;
        t[i].shape[0] = mt->shape[0];
        t[i].shape[1] = mt->shape[1];
        t[i].data = m->params + mt->offset;
        t[i].nbytes = (size_t)mt->shape[0] * (size_t)(mt->ndim == 2 ? mt->shape[1] : 1) * sizeof(float);
    }
    size_t nk = 0;
    k[nk] = CONFIG_KEY;
    v[nk++] = cfg.data;
    if (o) {
        size_t cnt;
        tx_adamw *ow = (tx_adamw *)o;   /* the moments are only read here */
        for (int w = 0; w < 2; w++) {
            tx_st_tensor *ot = &t[m->n_tensors + w];
            ot->name = w ? "optim.v" : "optim.m";
            ot->dtype = TX_ST_F32;
            ot->ndim = 1;
            ot->data = tx_adamw_moments(ow, w, &cnt);
            ot->shape[0] = (int64_t)cnt;
            ot->nbytes = cnt * sizeof(float);
        }
        snprintf(step, sizeof step, "%ld", tx_adamw_get_step(o));
        k[nk] = STEP_KEY;
        v[nk++] = step;
    }
    for (size_t i = 0; i < n; i++) {
        k[nk] = keys[i];
        v[nk++] = values[i];
    }
    rc = tx_safetensors_write(path, t, nt, k, v, nk, err);
done:
    tx_free(t);
    tx_free(k);
    tx_free(v);
    tx_buf_free(&cfg);
    return rc;
}

static int check_tensor(const tx_st_tensor *st, const tx_model_tensor *mt, const char *name,
                        tx_error *err)
{
    if (!st)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s' is missing", name, mt->name);
    if (st->dtype != TX_ST_F32 && st->dtype != TX_ST_F16 && st->dtype != TX_ST_BF16)
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s' is %s, expected F32, F16 or BF16", name, mt->name,
                            tx_st_dtype_name(st->dtype));
    if (st->ndim != mt->ndim || st->shape[0] != mt->shape[0] || (mt->ndim == 2 && st->shape[1] != mt->shape[1]))
        return tx_error_set(err, TX_EMODEL, "%s: tensor '%s' has a shape other than the configuration's "
                            "(%lld x %lld)", name, mt->name, (long long)mt->shape[0],
                            (long long)(mt->ndim == 2 ? mt->shape[1] : 1));
    return TX_OK;
}

/* Copies count values of dtype (F32, F16 or BF16) from possibly unaligned little-endian bytes into
 * floats, refusing NaN and infinities. */
static int copy_finite(float *dst, const void *src, int dtype, size_t count, const char *name,
                       const char *tname, tx_error *err)
{
    if (dtype == TX_ST_F32) {
        memcpy(dst, src, count * sizeof(float));
    } else {
        const uint8_t *b = src;
        for (size_t i = 0; i < count; i++) {
            uint16_t h = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            dst[i] = dtype == TX_ST_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(dst[i]))
            return tx_error_set(err, TX_EMODEL, "%s: tensor '%s': element %zu is not a finite number", name,
                                tname, i);
    return TX_OK;
}

int tx_model_load_memory(const uint8_t *data, size_t len, const char *name, tx_model **out,
                         tx_error *err)
{
    *out = NULL;
    tx_safetensors *st;
    int rc = tx_safetensors_parse(data, len, name, &st, err);
    if (rc)
        return rc;
    tx_model *m = NULL;
    const char *cj = tx_safetensors_meta(st, CONFIG_KEY);
    if (!cj) {
        rc = tx_error_set(err, TX_EMODEL, "%s: no \"%s\" in the metadata: not a tactus checkpoint", name,
                          CONFIG_KEY);
        goto fail;
    }
    tx_model_config c;
    char cname[300];
    snprintf(cname, sizeof cname, "%s: %s", name, CONFIG_KEY);
    if ((rc = tx_model_config_parse(cj, strlen(cj), cname, &c, err)))
        goto fail;
    /* the file must hold every parameter before the model is allocated: a small hostile file cannot
     * make us allocate a huge model */
    size_t have = 0;
    for (size_t i = 0; i < st->n_tensors; i++)
        have += st->tensors[i].nbytes / (tx_st_dtype_size(st->tensors[i].dtype) ? tx_st_dtype_size(st->tensors[i].dtype) : 1);
    if (tx_model_config_params(&c) > have) {
        rc = tx_error_set(err, TX_EMODEL, "%s: the configuration needs %zu parameters, the file holds %zu",
                          name, tx_model_config_params(&c), have);
        goto fail;
    }
    if ((rc = tx_model_new(&c, &m, err)))
        goto fail;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tx_model_tensor *mt = &m->tensors[i];
        const tx_st_tensor *t = tx_safetensors_find(st, mt->name);
        if ((rc = check_tensor(t, mt, name, err)) ||
            (rc = copy_finite(m->params + mt->offset, t->data, t->dtype,
                              t->nbytes / tx_st_dtype_size(t->dtype), name, mt->name, err)))
            goto fail;
    }
    for (size_t i = 0; i < st->n_tensors; i++) {
        const char *tn = st->tensors[i].name;
        int known = strncmp(tn, "optim.", 6) == 0;
        for (size_t k = 0; !known && k < m->n_tensors; k++)
            known = strcmp(tn, m->tensors[k].name) == 0;
        if (!known) {
            rc = tx_error_set(err, TX_EMODEL, "%s: unexpected tensor '%s'%s", name, tn,
                              strcmp(tn, "output.weight") == 0 ? " in a model with tied embeddings" : "");
            goto fail;
        }
    }
    tx_safetensors_free(st);
    *out = m;
    return TX_OK;
fail:
    tx_model_free(m);
    tx_safetensors_free(st);
    return rc;
}

int tx_model_load(const char *path, tx_model **out, tx_error *err)
{
    *out = NULL;
    uint8_t *data;
    size_t len;
    int rc = tx_read_file(path, TX_MODEL_MAX_FILE, &data, &len, err);
    if (rc)
        return rc;
    rc = tx_model_load_memory(data, len, path, out, err);
    tx_free(data);
    return rc;
}

int tx_adamw_load(tx_adamw *o, const char *path, tx_error *err)
{
    tx_safetensors *st;
    int rc = tx_safetensors_read(path, TX_MODEL_MAX_FILE, &st, err);
    if (rc)
        return rc;
    const char *sv = tx_safetensors_meta(st, STEP_KEY);
    char *end = NULL;
    errno = 0;
    long step = sv ? strtol(sv, &end, 10) : -1;
    if (!sv || errno || *end || step < 0) {
        rc = tx_error_set(err, TX_EMODEL, "%s: no valid \"%s\" in the metadata: the checkpoint holds no "
                          "optimizer state", path, STEP_KEY);
        goto done;
    }
    for (int w = 0; w < 2; w++) {
        size_t n;
        float *dst = tx_adamw_moments(o, w, &n);
        const char *tn = w ? "optim.v" : "optim.m";
        const tx_st_tensor *t = tx_safetensors_find(st, tn);
        if (!t || t->dtype != TX_ST_F32 || t->ndim != 1 || (size_t)t->shape[0] != n) {
            rc = tx_error_set(err, TX_EMODEL, "%s: tensor '%s' is missing or is not F32 of %zu elements",
                              path, tn, n);
            goto done;
        }
        if ((rc = copy_finite(dst, t->data, TX_ST_F32, n, path, tn, err)))
            goto done;
    }
    tx_adamw_set_step(o, step);
done:
    tx_safetensors_free(st);
    return rc;
}
