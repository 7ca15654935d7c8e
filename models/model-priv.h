/* model-priv.h: the numeric kernels of the transformer, shared between the files of models/ and
 * reachable from the unit tests (hidden from the shared library).
 *
 * Every kernel has the signature (out, in, weights, dims...) over flat row-major float arrays, and every
 * backward kernel accumulates into its gradient outputs (+=) unless it says otherwise, so that one
 * gradient buffer can collect the contributions of several paths (residual stream, tied embedding).
 * These are not a general tensor library: shapes are the ones the model needs, checked by the caller.
 * Ownership: kernels never allocate; all buffers belong to the caller.
 */
#ifndef TX_MODEL_PRIV_H
#define TX_MODEL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* ---- linear layers (weights in PyTorch's nn.Linear layout: (out, in)) ---- */

/* out (n, o) = in (n, i) @ w^T, w (o, i). */
void tx_op_linear_forward(float *out, const float *in, const float *w, int n, int i, int o);
/* din (n, i) = dout (n, o) @ w (overwritten); dw (o, i) += dout^T @ in. din or dw may be NULL. */
void tx_op_linear_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                           int n, int i, int o);

/* ---- RMSNorm ---- */

/* out (n, d) = in * rstd * w; rstd (n) receives 1 / sqrt(mean(in^2) + eps) per row. */
void tx_op_rmsnorm_forward(float *out, float *rstd, const float *in, const float *w, int n, int d,
                           float eps);
/* din (n, d) += ..., dw (d) += ... from dout, the forward's input and rstd. */
void tx_op_rmsnorm_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                            const float *rstd, int n, int d);

/* ---- rotary position embedding (pairs (x[2i], x[2i+1]) of each head rotate together) ---- */

/* The tables: cos and sin (context, head_dim / 2) of pos * theta^(-2i / head_dim). */
void tx_op_rope_tables(float *cosv, float *sinv, int context, int head_dim, double theta);
/* Rotates, in place, nh heads of head_dim in each of t rows (row r is at x + r * stride, position
 * pos0 + r % seq); backward = 1 applies the inverse rotation, which is the gradient of the forward. */
void tx_op_rope(float *x, int t, int seq, size_t stride, int nh, int head_dim, int pos0,
                const float *cosv, const float *sinv, int backward);

/* ---- causal attention with grouped-query heads ---- */

/* qkv (b, t, stride): per row, q (nh, hd) at 0, k (nkv, hd) at nh*hd, v (nkv, hd) at (nh+nkv)*hd, with
 * rotary already applied. out (b, t, nh*hd); att (b, nh, t, t) receives the probabilities on and below
 * the diagonal (what lies above it is unspecified: zeros near the diagonal, untouched further right). */
void tx_op_attention_forward(float *out, float *att, const float *qkv, int b, int t, int nh, int nkv,
                             int hd);
/* dqkv (b, t, stride) += from dout (b, t, nh*hd), qkv, att. scratch holds t*t floats. */
void tx_op_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                              float *scratch, int b, int t, int nh, int nkv, int hd);

/* ---- SwiGLU ---- */

/* h13 (n, 2f): per row, gate a at [0, f) and up b at [f, 2f); out (n, f) = silu(a) * b. */
void tx_op_swiglu_forward(float *out, const float *h13, int n, int f);
/* dh13 (n, 2f) = (overwritten, not accumulated) from dout (n, f). */
void tx_op_swiglu_backward(float *dh13, const float *dout, const float *h13, int n, int f);

/* ---- softmax cross-entropy ---- */

/* For each of n rows of logits (n, v): lse[r] = log sum exp, loss[r] = lse - logit[target] (0 for a
 * target < 0, which is ignored). Returns the number of counted rows. */
int tx_op_crossentropy_forward(float *loss, float *lse, const float *logits, const int32_t *targets,
                               int n, int v);
/* Overwrites logits (n, v) with d(scale * sum of losses) / d(logits). */
void tx_op_crossentropy_backward(float *logits, const float *lse, const int32_t *targets, int n, int v,
                                 float scale);

/* ---- matrix-vector products for single-token decoding ---- */

/* y (o) = w (o, i) @ x (i). Through OpenBLAS sgemv, or plain loops under the reference switch. */
void tx_op_matvec(float *y, const float *w, const float *x, int o, int i);
/* The same with a leading dimension: y (o) = w x, or with trans y (i) = w^T x (x has o elements); w is
 * (o, i) with rows ld floats apart (attention over the KV cache, one head of a wider row). */
void tx_op_matvec_ld(float *y, const float *w, const float *x, int o, int i, int ld, int trans);

/* ---- random numbers: splitmix64-seeded xoshiro256** (small, fast, and the same everywhere) ---- */

typedef struct tx_rng {
    uint64_t s[4];
} tx_rng;

void tx_rng_seed(tx_rng *r, uint64_t seed);
uint64_t tx_rng_next(tx_rng *r);
/* Uniform in [0, 1) with 24 bits. */
float tx_rng_float(tx_rng *r);
/* Standard normal (Box-Muller, double precision). */
double tx_rng_normal(tx_rng *r);

/* ---- the model's insides, shared by model.c, generate.c, optim.c and checkpoint code ---- */

struct tx_model {
    tx_model_config c;
    int hd, qd, kd, cd, f;         /* head_dim, Q = heads*hd, K = kv_heads*hd, C = Q + 2K, F */
    size_t n_params;
    float *params, *grads;         /* one allocation each */
    tx_model_params p, g;
    tx_model_tensor *tensors;
    size_t n_tensors;
    float *rope_cos, *rope_sin;    /* (context, hd/2) */

    /* activations of the last forward pass, for a batch of ab x at tokens (N = ab * at rows) */
    int ab, at, fb, ft;            /* allocated shape; shape of the last forward */
    int have_targets, counted;
    float *acts;                   /* one allocation holding the views below */
    float *resid;                  /* (L+1, N, D): the residual stream before each layer and after */
    float *ln1, *rstd1;            /* (L, N, D), (L, N) */
    float *qkv;                    /* (L, N, C), rotary applied */
    float *att;                    /* (L, b, heads, t, t) */
    float *atty;                   /* (L, N, Q) */
    float *resid2;                 /* (L, N, D): after attention's residual add */
    float *ln2, *rstd2;            /* (L, N, D), (L, N) */
    float *h13;                    /* (L, N, 2F) */
    float *hg;                     /* (L, N, F) */
    float *lnf, *rstdf;            /* (N, D), (N) */
    float *logits;                 /* (N, V) */
    float *lse, *losses;           /* (N), (N) */
    int32_t *tokens;               /* (2, N): inputs, then targets */
    float *scratch;                /* backward: dres (N, D), dln (N, D), dqkv (N, C), datty (N, Q),
                                      dh13 (N, 2F), dhg (N, F), datt (t, t) */

    /* single-token decoding */
    float *kv;                     /* one allocation: kcache, vcache (L, context, K), then buffers */
    float *kcache, *vcache;
    float *dx, *dxb, *dxb2, *dqkv, *datty, *dh13, *dhg, *dscore, *dlogits;
};

#endif
