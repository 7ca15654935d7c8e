/* generate.c: the KV cache, batched prompt prefill, and single-token decoding with matrix-vector
 * kernels.
 *
 * Decoding one token reads every weight once, so it is bound by memory bandwidth: the products are
 * sgemv (OpenBLAS sgemm with M = 1 repacks the weights on every call and runs several times slower),
 * with the q/k/v and gate/up projections fused into one product each. This file holds one sequence's
 * cache; it is not the sampler (sample.c) and not the generate command.
 */
#include "model-priv.h"

#include <math.h>
#include <string.h>

static int alloc_cache(tx_model *m, tx_error *err)
{
    if (m->kv)
        return TX_OK;
    const tx_model_config *c = &m->c;
    size_t cache = (size_t)c->n_layers * (size_t)c->context * (size_t)m->kd;
    size_t D = (size_t)c->d_model;
    size_t bufs = 3 * D + (size_t)m->cd + (size_t)m->qd + 3 * (size_t)m->f + (size_t)c->context +
                  (size_t)c->vocab_size;
    m->kv = tx_malloc((2 * cache + bufs) * sizeof(float));
    if (!m->kv)
        return tx_error_set(err, TX_ENOMEM, "model: out of memory for the KV cache");
    float *p = m->kv;
    m->kcache = p;   p += cache;
    m->vcache = p;   p += cache;
    m->dx = p;       p += D;
    m->dxb = p;      p += D;
    m->dxb2 = p;     p += D;
    m->dqkv = p;     p += m->cd;
    m->datty = p;    p += m->qd;
    m->dh13 = p;     p += 2 * (size_t)m->f;
    m->dhg = p;      p += m->f;
    m->dscore = p;   p += c->context;
    m->dlogits = p;
    return TX_OK;
}

int tx_model_prefill(tx_model *m, const int32_t *tokens, int n, const float **logits, tx_error *err)
{
    const tx_model_config *c = &m->c;
    if (n < 1 || n > c->context)
        return tx_error_set(err, TX_EINVAL, "model: a prompt of %d tokens outside 1..%d", n, c->context);
    int rc = alloc_cache(m, err);
    if (rc)
        return rc;
    if ((rc = tx_model_forward(m, tokens, NULL, 1, n, NULL, err)))
        return rc;
    size_t K = (size_t)m->kd, C = (size_t)m->cd, Q = (size_t)m->qd;
    for (int l = 0; l < c->n_layers; l++) {
        const float *qkv = m->qkv + (size_t)l * n * C;
        float *kc = m->kcache + (size_t)l * c->context * K, *vc = m->vcache + (size_t)l * c->context * K;
        for (int r = 0; r < n; r++) {
            memcpy(kc + (size_t)r * K, qkv + (size_t)r * C + Q, K * sizeof(float));
            memcpy(vc + (size_t)r * K, qkv + (size_t)r * C + Q + K, K * sizeof(float));
        }
    }
    *logits = m->logits + (size_t)(n - 1) * c->vocab_size;
    return TX_OK;
}

static void rmsnorm1(float *out, const float *x, const float *w, int d, float eps)
{
    float ss = 0.0f;
    for (int j = 0; j < d; j++)
        ss += x[j] * x[j];
    float s = 1.0f / sqrtf(ss / (float)d + eps);
    for (int j = 0; j < d; j++)
        out[j] = x[j] * s * w[j];
}

int tx_model_decode(tx_model *m, int32_t token, int pos, const float **logits, tx_error *err)
{
    const tx_model_config *c = &m->c;
    if (token < 0 || token >= c->vocab_size)
        return tx_error_set(err, TX_EINVAL, "model: token %d outside the vocabulary of %d", token,
                            c->vocab_size);
    if (pos < 0 || pos >= c->context)
        return tx_error_set(err, TX_EINVAL, "model: position %d outside the context of %d", pos,
                            c->context);
    int rc = alloc_cache(m, err);
    if (rc)
        return rc;
    const tx_model_params *p = &m->p;
    int D = c->d_model, C = m->cd, Q = m->qd, K = m->kd, F = m->f, hd = m->hd;
    int nh = c->n_heads, group = c->n_heads / c->n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    float *x = m->dx, *xb = m->dxb, *xb2 = m->dxb2, *qkv = m->dqkv, *att = m->dscore;
    memcpy(x, p->tok_emb + (size_t)token * D, (size_t)D * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        rmsnorm1(xb, x, p->attn_norm + (size_t)l * D, D, c->norm_eps);
        tx_op_matvec(qkv, p->wqkv + (size_t)l * C * D, xb, C, D);
        tx_op_rope(qkv, 1, 1, (size_t)C, nh + c->n_kv_heads, hd, pos, m->rope_cos, m->rope_sin, 0);
        float *kc = m->kcache + (size_t)l * c->context * K, *vc = m->vcache + (size_t)l * c->context * K;
        memcpy(kc + (size_t)pos * K, qkv + Q, (size_t)K * sizeof(float));
        memcpy(vc + (size_t)pos * K, qkv + Q + K, (size_t)K * sizeof(float));
        for (int h = 0; h < nh; h++) {
            /* scores = K_g q and out = V_g^T p as strided matrix-vector products over the cache */
            size_t koff = (size_t)(h / group) * hd;
            tx_op_matvec_ld(att, kc + koff, qkv + (size_t)h * hd, pos + 1, hd, K, 0);
            float mx = -INFINITY;
            for (int j = 0; j <= pos; j++) {
                att[j] *= scale;
                mx = att[j] > mx ? att[j] : mx;
            }
            float sum = 0.0f;
            for (int j = 0; j <= pos; j++) {
                att[j] = expf(att[j] - mx);
                sum += att[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j <= pos; j++)
                att[j] *= inv;
            tx_op_matvec_ld(m->datty + (size_t)h * hd, vc + koff, att, pos + 1, hd, K, 1);
        }
        tx_op_matvec(xb2, p->wo + (size_t)l * D * Q, m->datty, D, Q);
        for (int j = 0; j < D; j++)
            x[j] += xb2[j];
        rmsnorm1(xb, x, p->mlp_norm + (size_t)l * D, D, c->norm_eps);
        tx_op_matvec(m->dh13, p->w13 + (size_t)l * 2 * F * D, xb, 2 * F, D);
        tx_op_swiglu_forward(m->dhg, m->dh13, 1, F);
        tx_op_matvec(xb2, p->w2 + (size_t)l * D * F, m->dhg, D, F);
        for (int j = 0; j < D; j++)
            x[j] += xb2[j];
    }
    rmsnorm1(xb, x, p->final_norm, D, c->norm_eps);
    tx_op_matvec(m->dlogits, p->out, xb, c->vocab_size, D);
    *logits = m->dlogits;
    return TX_OK;
}

int tx_model_generate(tx_model *m, tx_sampler *s, const int32_t *prompt, int n_prompt, int n_new,
                      int32_t stop, tx_mask_fn mask, void *ud, int32_t *out, int *n_out, tx_error *err)
{
    *n_out = 0;
    if (n_prompt < 1 || n_new < 0 || n_prompt > m->c.context || n_new > m->c.context - n_prompt)
        return tx_error_set(err, TX_EINVAL, "model: a prompt of %d and %d new tokens do not fit the context "
                            "of %d", n_prompt, n_new, m->c.context);
    const float *logits;
    int rc = tx_model_prefill(m, prompt, n_prompt, &logits, err);
    if (rc)
        return rc;
    memcpy(out, prompt, (size_t)n_prompt * sizeof *out);
    int n = n_prompt;
    for (int i = 0; i < n_new; i++) {
        int32_t id;
        if ((rc = tx_sampler_sample(s, logits, out, (size_t)n, mask, ud, &id, err)))
            break;
        out[n++] = id;
        if (id == stop || i + 1 == n_new)
            break;
        if ((rc = tx_model_decode(m, id, n - 1, &logits, err)))
            break;
    }
    *n_out = n;
    return rc;
}
