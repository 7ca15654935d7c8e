/* model.c: the transformer's configuration, its parameter layout, and the batched forward and backward
 * passes (training, evaluation and prompt prefill).
 *
 * Parameters, gradients and activations are one allocation each with named views into them. The pass
 * order follows the Llama block exactly as the PyTorch reference (tests/torch-model.py) writes it; the
 * kernels are in ops.c, single-token decoding in generate.c, the optimizer in optim.c, checkpoints in
 * checkpoint.c. This file does not read files.
 */
#include "model-priv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- configuration ---- */

void tx_model_config_default(tx_model_config *c, int vocab, int context, int d_model, int layers,
                             int heads)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = vocab;
    c->context = context;
    c->d_model = d_model;
    c->n_layers = layers;
    c->n_heads = heads;
    c->n_kv_heads = heads;
    /* Llama's hidden size: two thirds of 4 d_model, rounded up to a multiple of 32 */
    c->d_ff = ((8 * d_model / 3) + 31) / 32 * 32;
    c->tied = 0;
    c->rope_theta = 10000.0f;
    c->norm_eps = 1e-5f;
}

int tx_model_config_check(const tx_model_config *c, const char *name, tx_error *err)
{
    if (c->vocab_size < 1 || c->vocab_size > TX_MODEL_MAX_VOCAB)
        return tx_error_set(err, TX_EMODEL, "%s: vocab %d outside 1..%d", name, c->vocab_size,
                            TX_MODEL_MAX_VOCAB);
    if (c->context < 1 || c->context > TX_MODEL_MAX_CONTEXT)
        return tx_error_set(err, TX_EMODEL, "%s: context %d outside 1..%d", name, c->context,
                            TX_MODEL_MAX_CONTEXT);
    if (c->d_model < 2 || c->d_model > TX_MODEL_MAX_DIM)
        return tx_error_set(err, TX_EMODEL, "%s: d_model %d outside 2..%d", name, c->d_model,
                            TX_MODEL_MAX_DIM);
    if (c->n_layers < 1 || c->n_layers > TX_MODEL_MAX_LAYERS)
        return tx_error_set(err, TX_EMODEL, "%s: layers %d outside 1..%d", name, c->n_layers,
                            TX_MODEL_MAX_LAYERS);
    if (c->n_heads < 1 || c->d_model % c->n_heads != 0)
        return tx_error_set(err, TX_EMODEL, "%s: heads %d does not divide d_model %d", name, c->n_heads,
                            c->d_model);
    if ((c->d_model / c->n_heads) % 2 != 0)
        return tx_error_set(err, TX_EMODEL, "%s: head size %d is odd (rotary needs pairs)", name,
                            c->d_model / c->n_heads);
    if (c->n_kv_heads < 1 || c->n_heads % c->n_kv_heads != 0)
        return tx_error_set(err, TX_EMODEL, "%s: kv_heads %d does not divide heads %d", name,
                            c->n_kv_heads, c->n_heads);
    if (c->d_ff < 1 || c->d_ff > 4 * TX_MODEL_MAX_DIM)
        return tx_error_set(err, TX_EMODEL, "%s: d_ff %d outside 1..%d", name, c->d_ff,
                            4 * TX_MODEL_MAX_DIM);
    if (!(c->rope_theta > 1.0f) || !isfinite(c->rope_theta))
        return tx_error_set(err, TX_EMODEL, "%s: rope_theta must be a finite number above 1", name);
    if (!(c->norm_eps > 0.0f) || !(c->norm_eps < 1.0f))
        return tx_error_set(err, TX_EMODEL, "%s: norm_eps must lie in (0, 1)", name);
    if (tx_model_config_params(c) > TX_MODEL_MAX_PARAMS)
        return tx_error_set(err, TX_ELIMIT, "%s: %zu parameters exceed the limit of %zu", name,
                            tx_model_config_params(c), TX_MODEL_MAX_PARAMS);
    return TX_OK;
}

/* The sizes fit in size_t without overflow under the limits tx_model_config_check enforces (each
 * product stays below 2^40), so the count itself is safe to compute before the check finishes. */
size_t tx_model_config_params(const tx_model_config *c)
{
    size_t v = (size_t)c->vocab_size, d = (size_t)c->d_model, l = (size_t)c->n_layers;
    size_t hd = d / (size_t)(c->n_heads > 0 ? c->n_heads : 1);
    size_t k = (size_t)c->n_kv_heads * hd, f = (size_t)c->d_ff;
    size_t per_layer = d + (d + 2 * k) * d + d * d + d + 2 * f * d + d * f;
    return v * d + l * per_layer + d + (c->tied ? 0 : v * d);
}

static int json_int(const tx_json *j, const char *key, const char *name, int lo, int hi, int *out,
                    int required, tx_error *err)
{
    const tx_json *v = tx_json_get(j, key);
    if (!v) {
        if (required)
            return tx_error_set(err, TX_EMODEL, "%s: missing \"%s\"", name, key);
        return TX_OK;
    }
    if (v->type != TX_JSON_NUMBER || !v->is_integer || v->integer < lo || v->integer > hi)
        return tx_error_set(err, TX_EMODEL, "%s:%ld:%ld: \"%s\" must be an integer in %d..%d", name,
                            v->line, v->column, key, lo, hi);
    *out = (int)v->integer;
    return TX_OK;
}

static int json_float(const tx_json *j, const char *key, const char *name, float *out, tx_error *err)
{
    const tx_json *v = tx_json_get(j, key);
    if (!v)
        return TX_OK;
    if (v->type != TX_JSON_NUMBER || !isfinite(v->num))
        return tx_error_set(err, TX_EMODEL, "%s:%ld:%ld: \"%s\" must be a number", name, v->line,
                            v->column, key);
    *out = (float)v->num;
    return TX_OK;
}

int tx_model_config_from_json(const tx_json *j, const char *name, tx_model_config *c, tx_error *err)
{
    if (!j || j->type != TX_JSON_OBJECT)
        return tx_error_set(err, TX_EMODEL, "%s: the model configuration must be a JSON object", name);
    int vocab = 0, context = 0, d = 0, layers = 0, heads = 0, rc;
    if ((rc = json_int(j, "vocab", name, 1, TX_MODEL_MAX_VOCAB, &vocab, 1, err)) ||
        (rc = json_int(j, "context", name, 1, TX_MODEL_MAX_CONTEXT, &context, 1, err)) ||
        (rc = json_int(j, "d_model", name, 2, TX_MODEL_MAX_DIM, &d, 1, err)) ||
        (rc = json_int(j, "layers", name, 1, TX_MODEL_MAX_LAYERS, &layers, 1, err)) ||
        (rc = json_int(j, "heads", name, 1, TX_MODEL_MAX_DIM, &heads, 1, err)))
        return rc;
    tx_model_config_default(c, vocab, context, d, layers, heads);
    if ((rc = json_int(j, "kv_heads", name, 1, TX_MODEL_MAX_DIM, &c->n_kv_heads, 0, err)) ||
        (rc = json_int(j, "d_ff", name, 1, 4 * TX_MODEL_MAX_DIM, &c->d_ff, 0, err)) ||
        (rc = json_float(j, "rope_theta", name, &c->rope_theta, err)) ||
        (rc = json_float(j, "norm_eps", name, &c->norm_eps, err)))
        return rc;
    const tx_json *t = tx_json_get(j, "tied");
    if (t) {
        if (t->type != TX_JSON_TRUE && t->type != TX_JSON_FALSE)
            return tx_error_set(err, TX_EMODEL, "%s:%ld:%ld: \"tied\" must be true or false", name,
                                t->line, t->column);
        c->tied = t->type == TX_JSON_TRUE;
    }
    const tx_json *dr = tx_json_get(j, "dropout");
    if (dr && (dr->type != TX_JSON_NUMBER || dr->num != 0.0))
        return tx_error_set(err, TX_EUNSUP, "%s:%ld:%ld: \"dropout\" must be 0 (dropout is not "
                            "implemented)", name, dr->line, dr->column);
    return tx_model_config_check(c, name, err);
}

int tx_model_config_parse(const char *text, size_t len, const char *name, tx_model_config *c,
                          tx_error *err)
{
    tx_arena a = TX_ARENA_INIT;
    tx_json *j = NULL;
    int rc = tx_json_parse(text, len, name, &a, &j, err);
    if (rc == TX_OK)
        rc = tx_model_config_from_json(j, name, c, err);
    tx_arena_free(&a);
    return rc;
}

int tx_model_config_to_json(const tx_model_config *c, tx_buf *b)
{
    /* %.9g keeps every float exactly through a round trip */
    return tx_buf_printf(b, "{\"vocab\": %d, \"context\": %d, \"d_model\": %d, \"layers\": %d, "
                         "\"heads\": %d, \"kv_heads\": %d, \"d_ff\": %d, \"tied\": %s, "
                         "\"rope_theta\": %.9g, \"norm_eps\": %.9g, \"dropout\": 0}",
                         c->vocab_size, c->context, c->d_model, c->n_layers, c->n_heads, c->n_kv_heads,
                         c->d_ff, c->tied ? "true" : "false", (double)c->rope_theta,
                         (double)c->norm_eps);
}

/* ---- parameters ---- */

static void point_params(tx_model *m, float *base, tx_model_params *v)
{
    const tx_model_config *c = &m->c;
    size_t V = (size_t)c->vocab_size, D = (size_t)c->d_model, L = (size_t)c->n_layers;
    size_t C = (size_t)m->cd, Q = (size_t)m->qd, F = (size_t)m->f;
    float *p = base;
    v->tok_emb = p;     p += V * D;
    v->attn_norm = p;   p += L * D;
    v->wqkv = p;        p += L * C * D;
    v->wo = p;          p += L * D * Q;
    v->mlp_norm = p;    p += L * D;
    v->w13 = p;         p += L * 2 * F * D;
    v->w2 = p;          p += L * D * F;
    v->final_norm = p;  p += D;
    v->out = c->tied ? v->tok_emb : p;
}

static void add_tensor(tx_model *m, const char *name, const float *at, int ndim, int64_t d0, int64_t d1)
{
    tx_model_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = (size_t)(at - m->params);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->decay = ndim == 2;
}

static void list_tensors(tx_model *m)
{
    const tx_model_params *p = &m->p;
    int64_t D = m->c.d_model, Q = m->qd, K = m->kd, C = m->cd, F = m->f, V = m->c.vocab_size;
    char name[64];
    m->n_tensors = 0;
    add_tensor(m, "tok_embeddings.weight", p->tok_emb, 2, V, D);
    for (int l = 0; l < m->c.n_layers; l++) {
        const float *qkv = p->wqkv + (size_t)l * C * D, *w13 = p->w13 + (size_t)l * 2 * F * D;
        snprintf(name, sizeof name, "layers.%d.attention_norm.weight", l);
        add_tensor(m, name, p->attn_norm + (size_t)l * D, 1, D, 0);
        snprintf(name, sizeof name, "layers.%d.attention.wq.weight", l);
        add_tensor(m, name, qkv, 2, Q, D);
        snprintf(name, sizeof name, "layers.%d.attention.wk.weight", l);
        add_tensor(m, name, qkv + (size_t)Q * D, 2, K, D);
        snprintf(name, sizeof name, "layers.%d.attention.wv.weight", l);
        add_tensor(m, name, qkv + (size_t)(Q + K) * D, 2, K, D);
        snprintf(name, sizeof name, "layers.%d.attention.wo.weight", l);
        add_tensor(m, name, p->wo + (size_t)l * D * Q, 2, D, Q);
        snprintf(name, sizeof name, "layers.%d.ffn_norm.weight", l);
        add_tensor(m, name, p->mlp_norm + (size_t)l * D, 1, D, 0);
        snprintf(name, sizeof name, "layers.%d.feed_forward.w1.weight", l);
        add_tensor(m, name, w13, 2, F, D);
        snprintf(name, sizeof name, "layers.%d.feed_forward.w3.weight", l);
        add_tensor(m, name, w13 + (size_t)F * D, 2, F, D);
        snprintf(name, sizeof name, "layers.%d.feed_forward.w2.weight", l);
        add_tensor(m, name, p->w2 + (size_t)l * D * F, 2, D, F);
    }
    add_tensor(m, "norm.weight", p->final_norm, 1, D, 0);
    if (!m->c.tied)
        add_tensor(m, "output.weight", p->out, 2, V, D);
}

int tx_model_new(const tx_model_config *c, tx_model **out, tx_error *err)
{
    *out = NULL;
    int rc = tx_model_config_check(c, "model", err);
    if (rc)
        return rc;
    tx_model *m = tx_calloc(1, sizeof *m);
    if (!m)
        return tx_error_set(err, TX_ENOMEM, "model: out of memory");
    m->c = *c;
    m->hd = c->d_model / c->n_heads;
    m->qd = c->n_heads * m->hd;
    m->kd = c->n_kv_heads * m->hd;
    m->cd = m->qd + 2 * m->kd;
    m->f = c->d_ff;
    m->n_params = tx_model_config_params(c);
    m->params = tx_calloc(m->n_params, sizeof(float));
    m->grads = tx_calloc(m->n_params, sizeof(float));
    m->tensors = tx_calloc((size_t)c->n_layers * 9 + 3, sizeof *m->tensors);
    size_t half = (size_t)m->hd / 2;
    m->rope_cos = tx_malloc((size_t)c->context * half * 2 * sizeof(float));
    if (!m->params || !m->grads || !m->tensors || !m->rope_cos) {
        size_t n = m->n_params;
        tx_model_free(m);
        return tx_error_set(err, TX_ENOMEM, "model: out of memory for %zu parameters", n);
    }
    m->rope_sin = m->rope_cos + (size_t)c->context * half;
    tx_op_rope_tables(m->rope_cos, m->rope_sin, c->context, m->hd, c->rope_theta);
    point_params(m, m->params, &m->p);
    point_params(m, m->grads, &m->g);
    list_tensors(m);
    *out = m;
    return TX_OK;
}

void tx_model_free(tx_model *m)
{
    if (!m)
        return;
    tx_free(m->params);
    tx_free(m->grads);
    tx_free(m->tensors);
    tx_free(m->rope_cos);
    tx_free(m->acts);
    tx_free(m->tokens);
    tx_free(m->scratch);
    tx_free(m->kv);
    tx_free(m);
}

void tx_model_init(tx_model *m, uint64_t seed)
{
    tx_rng r;
    tx_rng_seed(&r, seed);
    double resid_std = 0.02 / sqrt(2.0 * m->c.n_layers);
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tx_model_tensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        size_t n = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        if (t->ndim == 1) {
            for (size_t k = 0; k < n; k++)
                p[k] = 1.0f;
            continue;
        }
        int resid = strstr(t->name, ".wo.") || strstr(t->name, ".w2.");
        double sd = resid ? resid_std : 0.02;
        for (size_t k = 0; k < n; k++)
            p[k] = (float)(sd * tx_rng_normal(&r));
    }
}

const tx_model_config *tx_model_get_config(const tx_model *m)
{
    return &m->c;
}

size_t tx_model_num_params(const tx_model *m)
{
    return m->n_params;
}

float *tx_model_param_data(tx_model *m)
{
    return m->params;
}

float *tx_model_grad_data(tx_model *m)
{
    return m->grads;
}

const tx_model_params *tx_model_param_views(const tx_model *m)
{
    return &m->p;
}

const tx_model_params *tx_model_grad_views(const tx_model *m)
{
    return &m->g;
}

const tx_model_tensor *tx_model_tensors(const tx_model *m, size_t *n)
{
    *n = m->n_tensors;
    return m->tensors;
}

void tx_model_zero_grad(tx_model *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

/* ---- activations ---- */

/* a *= x, failing (returning 0) when the product would pass 2^46 elements (far beyond any memory). */
static int mulz(size_t *a, size_t x)
{
    const size_t cap = (size_t)1 << 46;
    if (x && *a > cap / x)
        return 0;
    *a *= x;
    return 1;
}

static int alloc_acts(tx_model *m, int b, int t, tx_error *err)
{
    if (m->acts && m->ab == b && m->at == t)
        return TX_OK;
    tx_free(m->acts);
    tx_free(m->tokens);
    tx_free(m->scratch);
    m->acts = m->scratch = NULL;
    m->tokens = NULL;
    m->ab = m->at = 0;
    const tx_model_config *c = &m->c;
    size_t N = (size_t)b * (size_t)t, L = (size_t)c->n_layers, D = (size_t)c->d_model;
    size_t C = (size_t)m->cd, Q = (size_t)m->qd, F = (size_t)m->f, V = (size_t)c->vocab_size;
    size_t att = L;
    int ok = mulz(&att, (size_t)b) && mulz(&att, (size_t)c->n_heads) && mulz(&att, (size_t)t) &&
             mulz(&att, (size_t)t);
    size_t per_row = (L + 1) * D + L * (D + 1 + C + Q + D + D + 1 + 2 * F + F) + D + 1 + V + 2;
    size_t total = N;
    ok = ok && mulz(&total, per_row) && total + att > total;
    size_t scratch = N;
    ok = ok && mulz(&scratch, 2 * D + C + Q + 3 * F) && scratch + (size_t)t * t > scratch;
    if (!ok)
        return tx_error_set(err, TX_ELIMIT, "model: a batch of %d x %d tokens is too large", b, t);
    total += att;
    scratch += (size_t)t * t;
    m->acts = tx_malloc(total * sizeof(float));
    m->scratch = tx_malloc(scratch * sizeof(float));
    m->tokens = tx_malloc(2 * N * sizeof(int32_t));
    if (!m->acts || !m->scratch || !m->tokens) {
        tx_free(m->acts);
        tx_free(m->scratch);
        tx_free(m->tokens);
        m->acts = m->scratch = NULL;
        m->tokens = NULL;
        return tx_error_set(err, TX_ENOMEM, "model: out of memory for a batch of %d x %d tokens", b, t);
    }
    float *p = m->acts;
    m->resid = p;   p += (L + 1) * N * D;
    m->ln1 = p;     p += L * N * D;
    m->rstd1 = p;   p += L * N;
    m->qkv = p;     p += L * N * C;
    m->atty = p;    p += L * N * Q;
    m->resid2 = p;  p += L * N * D;
    m->ln2 = p;     p += L * N * D;
    m->rstd2 = p;   p += L * N;
    m->h13 = p;     p += L * N * 2 * F;
    m->hg = p;      p += L * N * F;
    m->lnf = p;     p += N * D;
    m->rstdf = p;   p += N;
    m->logits = p;  p += N * V;
    m->lse = p;     p += N;
    m->losses = p;  p += N;
    m->att = p;
    m->ab = b;
    m->at = t;
    return TX_OK;
}

/* ---- forward ---- */

int tx_model_forward(tx_model *m, const int32_t *inputs, const int32_t *targets, int b, int t,
                     float *loss, tx_error *err)
{
    const tx_model_config *c = &m->c;
    if (b < 1 || t < 1 || t > c->context)
        return tx_error_set(err, TX_EINVAL, "model: batch %d x %d outside 1.. x 1..%d", b, t, c->context);
    if ((size_t)b * (size_t)t > ((size_t)1 << 28))   /* row counts stay ints below */
        return tx_error_set(err, TX_ELIMIT, "model: a batch of %d x %d tokens is too large", b, t);
    int rc = alloc_acts(m, b, t, err);
    if (rc)
        return rc;
    int N = b * t, D = c->d_model, L = c->n_layers, C = m->cd, Q = m->qd, F = m->f, V = c->vocab_size;
    for (int r = 0; r < N; r++) {
        if (inputs[r] < 0 || inputs[r] >= V)
            return tx_error_set(err, TX_EINVAL, "model: input %d at position %d outside the vocabulary "
                                "of %d", inputs[r], r, V);
        if (targets && targets[r] >= V)
            return tx_error_set(err, TX_EINVAL, "model: target %d at position %d outside the "
                                "vocabulary of %d", targets[r], r, V);
    }
    memcpy(m->tokens, inputs, (size_t)N * sizeof(int32_t));
    if (targets)
        memcpy(m->tokens + N, targets, (size_t)N * sizeof(int32_t));
    m->fb = b;
    m->ft = t;
    m->have_targets = 0;

    const tx_model_params *p = &m->p;
    size_t ND = (size_t)N * D;
    for (int r = 0; r < N; r++)
        memcpy(m->resid + (size_t)r * D, p->tok_emb + (size_t)inputs[r] * D, (size_t)D * sizeof(float));
    for (int l = 0; l < L; l++) {
        float *x = m->resid + (size_t)l * ND, *xn = m->resid + (size_t)(l + 1) * ND;
        float *ln1 = m->ln1 + (size_t)l * ND, *qkv = m->qkv + (size_t)l * N * C;
        float *atty = m->atty + (size_t)l * N * Q, *r2 = m->resid2 + (size_t)l * ND;
        float *ln2 = m->ln2 + (size_t)l * ND, *h13 = m->h13 + (size_t)l * N * 2 * F;
        float *hg = m->hg + (size_t)l * N * F;
        float *att = m->att + (size_t)l * b * c->n_heads * t * t;
        tx_op_rmsnorm_forward(ln1, m->rstd1 + (size_t)l * N, x, p->attn_norm + (size_t)l * D, N, D,
                              c->norm_eps);
        tx_op_linear_forward(qkv, ln1, p->wqkv + (size_t)l * C * D, N, D, C);
        tx_op_rope(qkv, N, t, (size_t)C, c->n_heads, m->hd, 0, m->rope_cos, m->rope_sin, 0);
        tx_op_rope(qkv + Q, N, t, (size_t)C, c->n_kv_heads, m->hd, 0, m->rope_cos, m->rope_sin, 0);
        tx_op_attention_forward(atty, att, qkv, b, t, c->n_heads, c->n_kv_heads, m->hd);
        /* residual add folded into the product: r2 = x + atty wo^T */
        memcpy(r2, x, ND * sizeof(float));
        tx_matmul(r2, atty, p->wo + (size_t)l * D * Q, N, D, Q, 0, 1, 1.0f, 1.0f, Q, Q, D);
        tx_op_rmsnorm_forward(ln2, m->rstd2 + (size_t)l * N, r2, p->mlp_norm + (size_t)l * D, N, D,
                              c->norm_eps);
        tx_op_linear_forward(h13, ln2, p->w13 + (size_t)l * 2 * F * D, N, D, 2 * F);
        tx_op_swiglu_forward(hg, h13, N, F);
        memcpy(xn, r2, ND * sizeof(float));
        tx_matmul(xn, hg, p->w2 + (size_t)l * D * F, N, D, F, 0, 1, 1.0f, 1.0f, F, F, D);
    }
    tx_op_rmsnorm_forward(m->lnf, m->rstdf, m->resid + (size_t)L * ND, p->final_norm, N, D, c->norm_eps);
    tx_op_linear_forward(m->logits, m->lnf, p->out, N, D, V);
    if (targets) {
        int counted = tx_op_crossentropy_forward(m->losses, m->lse, m->logits, targets, N, V);
        double sum = 0;
        for (int r = 0; r < N; r++)
            sum += m->losses[r];
        m->counted = counted;
        m->have_targets = 1;
        if (loss)
            *loss = counted ? (float)(sum / counted) : 0.0f;
    }
    return TX_OK;
}

const float *tx_model_logits(const tx_model *m)
{
    return m->logits;
}

/* ---- backward ---- */

int tx_model_backward(tx_model *m, float scale, tx_error *err)
{
    if (!m->have_targets)
        return tx_error_set(err, TX_EINVAL, "model: backward needs a forward pass with targets first");
    m->have_targets = 0;   /* the logits are about to become their gradient */
    if (m->counted == 0)
        return TX_OK;
    const tx_model_config *c = &m->c;
    const tx_model_params *p = &m->p, *g = &m->g;
    int b = m->fb, t = m->ft, N = b * t, D = c->d_model, L = c->n_layers, C = m->cd, Q = m->qd;
    int F = m->f, V = c->vocab_size;
    size_t ND = (size_t)N * D;
    const int32_t *inputs = m->tokens, *targets = m->tokens + N;
    float *dres = m->scratch, *dln = dres + ND, *dqkv = dln + ND, *datty = dqkv + (size_t)N * C;
    float *dh13 = datty + (size_t)N * Q, *dhg = dh13 + (size_t)N * 2 * F, *datt = dhg + (size_t)N * F;

    float *dlogits = m->logits;
    tx_op_crossentropy_backward(dlogits, m->lse, targets, N, V, scale / (float)m->counted);
    tx_op_linear_backward(dln, g->out, dlogits, m->lnf, p->out, N, D, V);
    memset(dres, 0, ND * sizeof(float));
    tx_op_rmsnorm_backward(dres, g->final_norm, dln, m->resid + (size_t)L * ND, p->final_norm, m->rstdf,
                           N, D);
    for (int l = L - 1; l >= 0; l--) {
        float *x = m->resid + (size_t)l * ND;
        float *ln1 = m->ln1 + (size_t)l * ND, *qkv = m->qkv + (size_t)l * N * C;
        float *atty = m->atty + (size_t)l * N * Q, *r2 = m->resid2 + (size_t)l * ND;
        float *ln2 = m->ln2 + (size_t)l * ND, *h13 = m->h13 + (size_t)l * N * 2 * F;
        float *hg = m->hg + (size_t)l * N * F;
        float *att = m->att + (size_t)l * b * c->n_heads * t * t;
        /* x_{l+1} = r2 + hg w2^T; dres carries d x_{l+1} and becomes d r2 */
        tx_op_linear_backward(dhg, g->w2 + (size_t)l * D * F, dres, hg, p->w2 + (size_t)l * D * F, N, F, D);
        tx_op_swiglu_backward(dh13, dhg, h13, N, F);
        tx_op_linear_backward(dln, g->w13 + (size_t)l * 2 * F * D, dh13, ln2, p->w13 + (size_t)l * 2 * F * D,
                              N, D, 2 * F);
        tx_op_rmsnorm_backward(dres, g->mlp_norm + (size_t)l * D, dln, r2, p->mlp_norm + (size_t)l * D,
                               m->rstd2 + (size_t)l * N, N, D);
        /* r2 = x + atty wo^T; dres becomes d x */
        tx_op_linear_backward(datty, g->wo + (size_t)l * D * Q, dres, atty, p->wo + (size_t)l * D * Q, N, Q, D);
        memset(dqkv, 0, (size_t)N * C * sizeof(float));
        tx_op_attention_backward(dqkv, datty, qkv, att, datt, b, t, c->n_heads, c->n_kv_heads, m->hd);
        tx_op_rope(dqkv, N, t, (size_t)C, c->n_heads, m->hd, 0, m->rope_cos, m->rope_sin, 1);
        tx_op_rope(dqkv + Q, N, t, (size_t)C, c->n_kv_heads, m->hd, 0, m->rope_cos, m->rope_sin, 1);
        tx_op_linear_backward(dln, g->wqkv + (size_t)l * C * D, dqkv, ln1, p->wqkv + (size_t)l * C * D, N, D, C);
        tx_op_rmsnorm_backward(dres, g->attn_norm + (size_t)l * D, dln, x, p->attn_norm + (size_t)l * D,
                               m->rstd1 + (size_t)l * N, N, D);
    }
    for (int r = 0; r < N; r++) {
        float *ge = g->tok_emb + (size_t)inputs[r] * D;
        const float *dr = dres + (size_t)r * D;
        for (int j = 0; j < D; j++)
            ge[j] += dr[j];
    }
    return TX_OK;
}
