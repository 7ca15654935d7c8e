/* ops.c: the numeric kernels of the transformer (forward and hand-written backward), the matrix-product
 * seam tx_matmul (OpenBLAS or plain loops), and the random number generator.
 *
 * Kernels work on flat row-major float arrays with the shapes documented in model-priv.h; they never
 * allocate and never check input (the model checks shapes and ids before calling them). This file is
 * not the model: the order of operations and the buffers live in model.c.
 */
#include "model-priv.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---- the matrix-product seam ---- */

static int use_reference;

void tx_matmul_use_reference(int on)
{
    use_reference = on;
}

/* The plain-loop product tests compare against: double accumulation, no blocking. */
static void matmul_ref(float *c, const float *a, const float *b, int m, int n, int k, int ta, int tb,
                       float alpha, float beta, int lda, int ldb, int ldc)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                s += av * bv;
            }
            float *cp = &c[(size_t)i * ldc + j];
            /* beta 0 must ignore what c held (it may be uninitialised or NaN), as BLAS does */
            *cp = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cp));
        }
    }
}

void tx_matmul(float *c, const float *a, const float *b, int m, int n, int k, int ta, int tb,
               float alpha, float beta, int lda, int ldb, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    if (use_reference) {
        matmul_ref(c, a, b, m, n, k, ta, tb, alpha, beta, lda, ldb, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

void tx_op_matvec(float *y, const float *w, const float *x, int o, int i)
{
    if (use_reference) {
        for (int r = 0; r < o; r++) {
            const float *row = w + (size_t)r * i;
            double s = 0;
            for (int j = 0; j < i; j++)
                s += (double)row[j] * x[j];
            y[r] = (float)s;
        }
        return;
    }
    /* sgemv streams each weight once; sgemm with M = 1 would repack the matrix on every call */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, o, i, 1.0f, w, i, x, 1, 0.0f, y, 1);
}

void tx_op_matvec_ld(float *y, const float *w, const float *x, int o, int i, int ld, int trans)
{
    if (use_reference) {
        int n = trans ? i : o;
        for (int r = 0; r < n; r++) {
            double s = 0;
            if (trans)
                for (int j = 0; j < o; j++)
                    s += (double)w[(size_t)j * ld + r] * x[j];
            else
                for (int j = 0; j < i; j++)
                    s += (double)w[(size_t)r * ld + j] * x[j];
            y[r] = (float)s;
        }
        return;
    }
    cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, o, i, 1.0f, w, ld, x, 1, 0.0f, y, 1);
}

/* ---- linear ---- */

void tx_op_linear_forward(float *out, const float *in, const float *w, int n, int i, int o)
{
    tx_matmul(out, in, w, n, o, i, 0, 1, 1.0f, 0.0f, i, i, o);
}

void tx_op_linear_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                           int n, int i, int o)
{
    if (din)
        tx_matmul(din, dout, w, n, i, o, 0, 0, 1.0f, 0.0f, o, i, i);
    if (dw)
        tx_matmul(dw, dout, in, o, i, n, 1, 0, 1.0f, 1.0f, o, i, i);
}

/* ---- RMSNorm ---- */

void tx_op_rmsnorm_forward(float *out, float *rstd, const float *in, const float *w, int n, int d,
                           float eps)
{
    for (int r = 0; r < n; r++) {
        const float *x = in + (size_t)r * d;
        float *y = out + (size_t)r * d;
        float ss = 0.0f;
        for (int j = 0; j < d; j++)
            ss += x[j] * x[j];
        float s = 1.0f / sqrtf(ss / (float)d + eps);
        rstd[r] = s;
        for (int j = 0; j < d; j++)
            y[j] = x[j] * s * w[j];
    }
}

void tx_op_rmsnorm_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                            const float *rstd, int n, int d)
{
    for (int r = 0; r < n; r++) {
        const float *x = in + (size_t)r * d;
        const float *dy = dout + (size_t)r * d;
        float *dx = din + (size_t)r * d;
        float s = rstd[r];
        /* y_j = x_j s w_j with s = (mean x^2 + eps)^(-1/2); ds/dx_j = -s^3 x_j / d */
        float dot = 0.0f;
        for (int j = 0; j < d; j++)
            dot += dy[j] * w[j] * x[j];
        float c = dot * s * s * s / (float)d;
        for (int j = 0; j < d; j++) {
            dx[j] += dy[j] * w[j] * s - c * x[j];
            dw[j] += dy[j] * x[j] * s;
        }
    }
}

/* ---- rotary position embedding ---- */

void tx_op_rope_tables(float *cosv, float *sinv, int context, int head_dim, double theta)
{
    int half = head_dim / 2;
    for (int p = 0; p < context; p++) {
        for (int i = 0; i < half; i++) {
            double freq = pow(theta, -2.0 * i / head_dim);
            double a = p * freq;
            cosv[(size_t)p * half + i] = (float)cos(a);
            sinv[(size_t)p * half + i] = (float)sin(a);
        }
    }
}

void tx_op_rope(float *x, int t, int seq, size_t stride, int nh, int head_dim, int pos0,
                const float *cosv, const float *sinv, int backward)
{
    int half = head_dim / 2;
    float sg = backward ? -1.0f : 1.0f;
    for (int r = 0; r < t; r++) {
        int pos = pos0 + r % seq;
        const float *cs = cosv + (size_t)pos * half, *sn = sinv + (size_t)pos * half;
        float *row = x + (size_t)r * stride;
        for (int h = 0; h < nh; h++) {
            float *v = row + (size_t)h * head_dim;
            for (int i = 0; i < half; i++) {
                float c = cs[i], s = sg * sn[i];
                float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * c - b * s;
                v[2 * i + 1] = a * s + b * c;
            }
        }
    }
}

/* ---- causal attention ----
 *
 * Queries go in blocks of ATT_BLOCK rows; a block only meets the keys up to its last row, so the
 * products skip most of the masked upper triangle (about 40% of the attention work at t = 256) while
 * staying large enough for sgemm to run at full speed. Entries above the diagonal inside a block are
 * written as zeros; entries right of a block's last key are never touched. */

#define ATT_BLOCK 64

void tx_op_attention_forward(float *out, float *att, const float *qkv, int b, int t, int nh, int nkv,
                             int hd)
{
    int qd = nh * hd, stride = (nh + 2 * nkv) * hd, group = nh / nkv;
    float scale = 1.0f / sqrtf((float)hd);
    for (int bi = 0; bi < b; bi++) {
        const float *base = qkv + (size_t)bi * t * stride;
        for (int h = 0; h < nh; h++) {
            int g = h / group;
            const float *q = base + (size_t)h * hd;
            const float *k = base + (size_t)(nh + g) * hd;
            const float *v = base + (size_t)(nh + nkv + g) * hd;
            float *p = att + ((size_t)bi * nh + h) * t * t;
            for (int i0 = 0; i0 < t; i0 += ATT_BLOCK) {
                int bs = t - i0 < ATT_BLOCK ? t - i0 : ATT_BLOCK, nk = i0 + bs;
                float *pb = p + (size_t)i0 * t;
                tx_matmul(pb, q + (size_t)i0 * stride, k, bs, nk, hd, 0, 1, scale, 0.0f, stride, stride, t);
                for (int i = i0; i < nk; i++) {
                    float *row = p + (size_t)i * t;
                    float mx = row[0];
                    for (int j = 1; j <= i; j++)
                        mx = row[j] > mx ? row[j] : mx;
                    float sum = 0.0f;
                    for (int j = 0; j <= i; j++) {
                        row[j] = expf(row[j] - mx);
                        sum += row[j];
                    }
                    float inv = 1.0f / sum;
                    for (int j = 0; j <= i; j++)
                        row[j] *= inv;
                    for (int j = i + 1; j < nk; j++)
                        row[j] = 0.0f;
                }
                tx_matmul(out + ((size_t)bi * t + i0) * qd + (size_t)h * hd, pb, v, bs, hd, nk, 0, 0, 1.0f,
                          0.0f, t, stride, qd);
            }
        }
    }
}

void tx_op_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                              float *scratch, int b, int t, int nh, int nkv, int hd)
{
    int qd = nh * hd, stride = (nh + 2 * nkv) * hd, group = nh / nkv;
    float scale = 1.0f / sqrtf((float)hd);
    for (int bi = 0; bi < b; bi++) {
        const float *base = qkv + (size_t)bi * t * stride;
        float *dbase = dqkv + (size_t)bi * t * stride;
        for (int h = 0; h < nh; h++) {
            int g = h / group;
            const float *q = base + (size_t)h * hd;
            const float *k = base + (size_t)(nh + g) * hd;
            const float *v = base + (size_t)(nh + nkv + g) * hd;
            float *dq = dbase + (size_t)h * hd;
            float *dk = dbase + (size_t)(nh + g) * hd;
            float *dv = dbase + (size_t)(nh + nkv + g) * hd;
            const float *p = att + ((size_t)bi * nh + h) * t * t;
            const float *dO = dout + (size_t)bi * t * qd + (size_t)h * hd;
            for (int i0 = 0; i0 < t; i0 += ATT_BLOCK) {
                int bs = t - i0 < ATT_BLOCK ? t - i0 : ATT_BLOCK, nk = i0 + bs;
                const float *pb = p + (size_t)i0 * t, *dOb = dO + (size_t)i0 * qd;
                float *dp = scratch + (size_t)i0 * t;
                tx_matmul(dp, dOb, v, bs, nk, hd, 0, 1, 1.0f, 0.0f, qd, stride, t);           /* dP = dO V^T */
                tx_matmul(dv, pb, dOb, nk, hd, bs, 1, 0, 1.0f, 1.0f, t, qd, stride);          /* dV += P^T dO */
                for (int i = i0; i < nk; i++) {                                              /* softmax */
                    const float *pr = p + (size_t)i * t;
                    float *dr = scratch + (size_t)i * t;
                    float dot = 0.0f;
                    for (int j = 0; j <= i; j++)
                        dot += pr[j] * dr[j];
                    for (int j = 0; j <= i; j++)
                        dr[j] = pr[j] * (dr[j] - dot);
                    for (int j = i + 1; j < nk; j++)
                        dr[j] = 0.0f;
                }
                tx_matmul(dq + (size_t)i0 * stride, dp, k, bs, hd, nk, 0, 0, scale, 1.0f, t, stride,
                          stride);                                                           /* dQ += dS K */
                tx_matmul(dk, dp, q + (size_t)i0 * stride, nk, hd, bs, 1, 0, scale, 1.0f, t, stride,
                          stride);                                                           /* dK += dS^T Q */
            }
        }
    }
}

/* ---- SwiGLU ----
 *
 * The gate's sigmoid is the costliest elementwise work of a training step. With GCC or clang it runs
 * four lanes at a time through the compilers' generic vector extension (plain SSE2 or better, whatever
 * the target, and independent of -O level or -ffast-math), with exp from Cody-Waite range reduction and
 * a degree-7 Taylor polynomial (relative error below 3e-7, against expf's 1 ulp). Tails and other
 * compilers use expf. */

#if defined(__GNUC__)
#define HAVE_V4 1
/* 16 bytes: the width every x86-64 and arm64 target has, so passing one by value costs no ABI trouble */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static v4f v4_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void v4_store(float *p, v4f v)
{
    memcpy(p, &v, sizeof v);
}

/* 1 / (1 + exp(-a)), lane by lane. */
static inline __attribute__((always_inline)) v4f v4_sigmoid(v4f a)
{
    v4f x = -a;
    /* clamp to [-87, 87] so that 2^n stays a normal float; the sigmoid is 0 or 1 to float precision
     * well before that */
    v4i big = x > 87.0f, small = x < -87.0f;
    v4f c87 = x * 0.0f + 87.0f;
    x = (v4f)(((v4i)x & ~big) | ((v4i)c87 & big));
    x = (v4f)(((v4i)x & ~small) | ((v4i)(-c87) & small));
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick: the integer lands in the low mantissa bits */
    v4f t = x * 1.44269504088896341f + 12582912.0f;
    v4f nf = t - 12582912.0f;
    v4i n = (v4i)t - 0x4B400000;
    v4f r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
    v4f p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
            r * (1.0f / 720 + r * (1.0f / 5040)))))));
    v4f e = p * (v4f)((n + 127) << 23);
    return 1.0f / (1.0f + e);
}
#endif

void tx_op_swiglu_forward(float *out, const float *h13, int n, int f)
{
    for (int r = 0; r < n; r++) {
        const float *a = h13 + (size_t)r * 2 * f, *bu = a + f;
        float *y = out + (size_t)r * f;
        int j = 0;
#ifdef HAVE_V4
        for (; j + 4 <= f; j += 4) {
            v4f av = v4_load(a + j);
            v4_store(y + j, av * v4_sigmoid(av) * v4_load(bu + j));
        }
#endif
        for (; j < f; j++)
            y[j] = a[j] / (1.0f + expf(-a[j])) * bu[j];
    }
}

void tx_op_swiglu_backward(float *dh13, const float *dout, const float *h13, int n, int f)
{
    for (int r = 0; r < n; r++) {
        const float *a = h13 + (size_t)r * 2 * f, *bu = a + f;
        const float *dy = dout + (size_t)r * f;
        float *da = dh13 + (size_t)r * 2 * f, *db = da + f;
        int j = 0;
#ifdef HAVE_V4
        for (; j + 4 <= f; j += 4) {
            v4f av = v4_load(a + j), s = v4_sigmoid(av), d = v4_load(dy + j);
            v4_store(da + j, d * v4_load(bu + j) * s * (1.0f + av * (1.0f - s)));
            v4_store(db + j, d * av * s);
        }
#endif
        for (; j < f; j++) {
            float s = 1.0f / (1.0f + expf(-a[j]));
            float silu = a[j] * s;
            da[j] = dy[j] * bu[j] * s * (1.0f + a[j] * (1.0f - s));
            db[j] = dy[j] * silu;
        }
    }
}

/* ---- softmax cross-entropy ---- */

int tx_op_crossentropy_forward(float *loss, float *lse, const float *logits, const int32_t *targets,
                               int n, int v)
{
    int counted = 0;
    for (int r = 0; r < n; r++) {
        const float *x = logits + (size_t)r * v;
        float mx = x[0];
        for (int j = 1; j < v; j++)
            mx = x[j] > mx ? x[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < v; j++)
            sum += expf(x[j] - mx);
        lse[r] = mx + logf(sum);
        if (targets && targets[r] >= 0) {
            loss[r] = lse[r] - x[targets[r]];
            counted++;
        } else {
            loss[r] = 0.0f;
        }
    }
    return counted;
}

void tx_op_crossentropy_backward(float *logits, const float *lse, const int32_t *targets, int n, int v,
                                 float scale)
{
    for (int r = 0; r < n; r++) {
        float *x = logits + (size_t)r * v;
        if (targets[r] < 0) {
            memset(x, 0, (size_t)v * sizeof *x);
            continue;
        }
        float l = lse[r];
        for (int j = 0; j < v; j++)
            x[j] = scale * expf(x[j] - l);
        x[targets[r]] -= scale;
    }
}

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tx_rng_seed(tx_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tx_rng_next(tx_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float tx_rng_float(tx_rng *r)
{
    return (float)(tx_rng_next(r) >> 40) / 16777216.0f;
}

double tx_rng_normal(tx_rng *r)
{
    double u1 = ((double)(tx_rng_next(r) >> 11) + 1.0) / 9007199254740993.0;   /* (0, 1] */
    double u2 = (double)(tx_rng_next(r) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
