/* test-model.c: correctness of the transformer engine without outside oracles.
 *
 * Every kernel's hand-written backward is checked against central finite differences of an
 * independent double-precision forward written here; the whole model's forward is compared with a
 * double-precision reference model (also written here, straight from the equations) and its gradient
 * with finite differences of that reference, for every parameter of a tiny model (tied and untied,
 * grouped-query heads, an ignored target). Also: the OpenBLAS and plain-loop matrix products agree,
 * KV-cache decoding matches the batched forward, gradient accumulation matches one big batch, the
 * schedule, clipping and AdamW's first step match their formulas, and the samplers do what their
 * settings say. PyTorch comparisons live in test-model-torch.c.
 */
#include "harness.h"

#include "model-priv.h"
#include "model.h"

/* ---- helpers ---- */

static tx_rng trng;

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * tx_rng_normal(&trng));
}

static double *todouble(const float *x, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* Compares an analytic gradient with a numeric one: the largest difference must stay within
 * tol times the largest numeric magnitude (plus a small floor). Prints the largest difference. */
static void check_grad(const char *what, const float *ana, const double *num, size_t n, double tol)
{
    double maxd = 0, maxn = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(ana[i] - num[i]);
        maxd = d > maxd ? d : maxd;
        maxn = fabs(num[i]) > maxn ? fabs(num[i]) : maxn;
    }
    printf("  %-28s largest difference %.3g (largest gradient %.3g)\n", what, maxd, maxn);
    CHECK(maxn > 0);
    CHECK(maxd <= tol * maxn + 1e-7);
}

/* ---- double-precision reference kernels ---- */

static void rmsnorm_d(double *out, const double *x, const double *w, int d, double eps)
{
    double ss = 0;
    for (int j = 0; j < d; j++)
        ss += x[j] * x[j];
    double s = 1.0 / sqrt(ss / d + eps);
    for (int j = 0; j < d; j++)
        out[j] = x[j] * s * w[j];
}

static void rope_d(double *v, int hd, int pos, double theta)
{
    for (int i = 0; i < hd / 2; i++) {
        double a = pos * pow(theta, -2.0 * i / hd), c = cos(a), s = sin(a);
        double x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * c - x1 * s;
        v[2 * i + 1] = x0 * s + x1 * c;
    }
}

/* out (t, o) = in (t, i) w^T */
static void linear_d(double *out, const double *in, const double *w, int t, int i, int o)
{
    for (int r = 0; r < t; r++)
        for (int k = 0; k < o; k++) {
            double s = 0;
            for (int j = 0; j < i; j++)
                s += in[r * i + j] * w[k * i + j];
            out[r * o + k] = s;
        }
}

/* causal attention for one sequence: q (t, nh*hd), k and v (t, nkv*hd) */
static void attention_d(double *out, const double *q, const double *k, const double *v, int t, int nh,
                        int nkv, int hd)
{
    double *p = malloc((size_t)t * sizeof *p);
    for (int h = 0; h < nh; h++) {
        int g = h / (nh / nkv);
        for (int i = 0; i < t; i++) {
            double mx = -1e300, sum = 0;
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int e = 0; e < hd; e++)
                    s += q[i * nh * hd + h * hd + e] * k[j * nkv * hd + g * hd + e];
                p[j] = s / sqrt((double)hd);
                mx = p[j] > mx ? p[j] : mx;
            }
            for (int j = 0; j <= i; j++)
                sum += (p[j] = exp(p[j] - mx));
            for (int e = 0; e < hd; e++) {
                double o = 0;
                for (int j = 0; j <= i; j++)
                    o += p[j] / sum * v[j * nkv * hd + g * hd + e];
                out[i * nh * hd + h * hd + e] = o;
            }
        }
    }
    free(p);
}

/* ---- the whole model in double precision ---- */

struct offs {
    size_t emb, an, qkv, wo, mn, w13, w2, fn, out;
};

static struct offs offsets_of(tx_model *m)
{
    const tx_model_params *p = tx_model_param_views(m);
    const float *b = tx_model_param_data(m);
    struct offs o = {(size_t)(p->tok_emb - b), (size_t)(p->attn_norm - b), (size_t)(p->wqkv - b),
                     (size_t)(p->wo - b), (size_t)(p->mlp_norm - b), (size_t)(p->w13 - b),
                     (size_t)(p->w2 - b), (size_t)(p->final_norm - b), (size_t)(p->out - b)};
    return o;
}

/* Mean cross-entropy over counted targets; logits (b, t, V) filled when not NULL. */
static double ref_forward(const tx_model_config *c, const double *P, struct offs o, const int32_t *in,
                          const int32_t *tg, int B, int T, double *logits)
{
    int D = c->d_model, hd = D / c->n_heads, Q = c->n_heads * hd, K = c->n_kv_heads * hd, F = c->d_ff;
    int V = c->vocab_size, C = Q + 2 * K;
    double *x = malloc(sizeof(double) * T * D), *h = malloc(sizeof(double) * T * D);
    double *q = malloc(sizeof(double) * T * Q), *k = malloc(sizeof(double) * T * K);
    double *v = malloc(sizeof(double) * T * K), *a = malloc(sizeof(double) * T * Q);
    double *y = malloc(sizeof(double) * T * D), *g1 = malloc(sizeof(double) * T * F);
    double *g3 = malloc(sizeof(double) * T * F), *lg = malloc(sizeof(double) * V);
    double loss = 0;
    int counted = 0;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++)
            for (int j = 0; j < D; j++)
                x[t * D + j] = P[o.emb + (size_t)in[b * T + t] * D + j];
        for (int l = 0; l < c->n_layers; l++) {
            const double *wqkv = P + o.qkv + (size_t)l * C * D;
            for (int t = 0; t < T; t++)
                rmsnorm_d(h + t * D, x + t * D, P + o.an + (size_t)l * D, D, c->norm_eps);
            linear_d(q, h, wqkv, T, D, Q);
            linear_d(k, h, wqkv + (size_t)Q * D, T, D, K);
            linear_d(v, h, wqkv + (size_t)(Q + K) * D, T, D, K);
            for (int t = 0; t < T; t++) {
                for (int hh = 0; hh < c->n_heads; hh++)
                    rope_d(q + t * Q + hh * hd, hd, t, c->rope_theta);
                for (int hh = 0; hh < c->n_kv_heads; hh++)
                    rope_d(k + t * K + hh * hd, hd, t, c->rope_theta);
            }
            attention_d(a, q, k, v, T, c->n_heads, c->n_kv_heads, hd);
            linear_d(y, a, P + o.wo + (size_t)l * D * Q, T, Q, D);
            for (int i = 0; i < T * D; i++)
                x[i] += y[i];
            for (int t = 0; t < T; t++)
                rmsnorm_d(h + t * D, x + t * D, P + o.mn + (size_t)l * D, D, c->norm_eps);
            const double *w13 = P + o.w13 + (size_t)l * 2 * F * D;
            linear_d(g1, h, w13, T, D, F);
            linear_d(g3, h, w13 + (size_t)F * D, T, D, F);
            for (int i = 0; i < T * F; i++)
                g1[i] = g1[i] / (1 + exp(-g1[i])) * g3[i];
            linear_d(y, g1, P + o.w2 + (size_t)l * D * F, T, F, D);
            for (int i = 0; i < T * D; i++)
                x[i] += y[i];
        }
        for (int t = 0; t < T; t++) {
            rmsnorm_d(h, x + t * D, P + o.fn, D, c->norm_eps);
            linear_d(lg, h, P + o.out, 1, D, V);
            if (logits)
                memcpy(logits + ((size_t)b * T + t) * V, lg, sizeof(double) * V);
            int target = tg ? tg[b * T + t] : -1;
            if (target < 0)
                continue;
            double mx = lg[0], s = 0;
            for (int j = 1; j < V; j++)
                mx = lg[j] > mx ? lg[j] : mx;
            for (int j = 0; j < V; j++)
                s += exp(lg[j] - mx);
            loss += mx + log(s) - lg[target];
            counted++;
        }
    }
    free(x); free(h); free(q); free(k); free(v); free(a); free(y); free(g1); free(g3); free(lg);
    return counted ? loss / counted : 0;
}

static tx_model *tiny_model(int tied, int kv_heads, uint64_t seed)
{
    tx_model_config c;
    tx_model_config_default(&c, 11, 8, 8, 2, 2);
    c.n_kv_heads = kv_heads;
    c.d_ff = 12;
    c.tied = tied;
    tx_model *m = NULL;
    tx_error e;
    CHECK_INT(tx_model_new(&c, &m, &e), TX_OK);
    tx_model_init(m, seed);
    /* larger weights and non-unit gains than the initialisation, so every path carries signal */
    float *p = tx_model_param_data(m);
    size_t nt;
    const tx_model_tensor *t = tx_model_tensors(m, &nt);
    for (size_t i = 0; i < nt; i++) {
        size_t n = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        for (size_t k = 0; k < n; k++)
            p[t[i].offset + k] = t[i].ndim == 1 ? (float)(1.0 + 0.3 * tx_rng_normal(&trng))
                                                : (float)(0.4 * tx_rng_normal(&trng));
    }
    return m;
}

/* ---- tests ---- */

static void test_matmul_seam(void)
{
    /* OpenBLAS against the plain loops for every transpose combination with padded leading dims */
    int m = 7, n = 5, k = 9;
    float a[16 * 16], b[16 * 16], c1[16 * 16], c2[16 * 16];
    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            fill(a, 256, 1);
            fill(b, 256, 1);
            fill(c1, 256, 1);
            memcpy(c2, c1, sizeof c1);
            tx_matmul(c1, a, b, m, n, k, ta, tb, 0.7f, 0.3f, 12, 13, 11);
            tx_matmul_use_reference(1);
            tx_matmul(c2, a, b, m, n, k, ta, tb, 0.7f, 0.3f, 12, 13, 11);
            tx_matmul_use_reference(0);
            double maxd = 0;
            for (int i = 0; i < 256; i++)
                maxd = fmax(maxd, fabs(c1[i] - c2[i]));
            CHECK(maxd < 1e-5);
        }
    }
    /* and a hand-computed product: [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50] */
    float x[4] = {1, 2, 3, 4}, y[4] = {5, 6, 7, 8}, z[4];
    tx_matmul(z, x, y, 2, 2, 2, 0, 0, 1, 0, 2, 2, 2);
    CHECK(z[0] == 19 && z[1] == 22 && z[2] == 43 && z[3] == 50);
    float w[6] = {1, 2, 3, 4, 5, 6}, v[3] = {1, 0, -1}, r[2];
    tx_op_matvec(r, w, v, 2, 3);
    CHECK(r[0] == -2 && r[1] == -2);
}

/* d/dx of sum(out * R) for the linear layer. */
static void test_grad_linear(void)
{
    enum { N = 4, I = 5, O = 3 };
    float in[N * I], w[O * I], R[N * O], din[N * I], dw[O * I];
    fill(in, N * I, 1);
    fill(w, O * I, 1);
    fill(R, N * O, 1);
    memset(dw, 0, sizeof dw);
    tx_op_linear_backward(din, dw, R, in, w, N, I, O);
    double *di = todouble(in, N * I), *dwd = todouble(w, O * I), num_in[N * I], num_w[O * I], out[N * O];
    const double h = 1e-6;
    for (int pass = 0; pass < 2; pass++) {
        double *x = pass ? dwd : di, *num = pass ? num_w : num_in;
        int n = pass ? O * I : N * I;
        for (int i = 0; i < n; i++) {
            double s[2], keep = x[i];
            for (int sgn = 0; sgn < 2; sgn++) {
                x[i] = keep + (sgn ? -h : h);
                linear_d(out, di, dwd, N, I, O);
                s[sgn] = 0;
                for (int j = 0; j < N * O; j++)
                    s[sgn] += out[j] * R[j];
            }
            x[i] = keep;
            num[i] = (s[0] - s[1]) / (2 * h);
        }
    }
    check_grad("linear d(input)", din, num_in, N * I, 1e-4);
    check_grad("linear d(weight)", dw, num_w, O * I, 1e-4);
    free(di);
    free(dwd);
}

static void test_grad_rmsnorm(void)
{
    enum { N = 3, D = 6 };
    float in[N * D], w[D], R[N * D], out[N * D], rstd[N], din[N * D], dw[D];
    fill(in, N * D, 1);
    fill(w, D, 1);
    fill(R, N * D, 1);
    tx_op_rmsnorm_forward(out, rstd, in, w, N, D, 1e-5f);
    memset(din, 0, sizeof din);
    memset(dw, 0, sizeof dw);
    tx_op_rmsnorm_backward(din, dw, R, in, w, rstd, N, D);
    double *x = todouble(in, N * D), *wd = todouble(w, D), num_x[N * D], num_w[D], o[D];
    /* forward agrees with the double reference */
    double maxf = 0;
    for (int r = 0; r < N; r++) {
        rmsnorm_d(o, x + r * D, wd, D, 1e-5);
        for (int j = 0; j < D; j++)
            maxf = fmax(maxf, fabs(o[j] - out[r * D + j]));
    }
    CHECK(maxf < 1e-5);
    const double h = 1e-6;
    for (int pass = 0; pass < 2; pass++) {
        double *v = pass ? wd : x, *num = pass ? num_w : num_x;
        int n = pass ? D : N * D;
        for (int i = 0; i < n; i++) {
            double s[2], keep = v[i];
            for (int sgn = 0; sgn < 2; sgn++) {
                v[i] = keep + (sgn ? -h : h);
                s[sgn] = 0;
                for (int r = 0; r < N; r++) {
                    rmsnorm_d(o, x + r * D, wd, D, 1e-5);
                    for (int j = 0; j < D; j++)
                        s[sgn] += o[j] * R[r * D + j];
                }
            }
            v[i] = keep;
            num[i] = (s[0] - s[1]) / (2 * h);
        }
    }
    check_grad("rmsnorm d(input)", din, num_x, N * D, 1e-4);
    check_grad("rmsnorm d(weight)", dw, num_w, D, 1e-4);
    free(x);
    free(wd);
}

static void test_grad_rope(void)
{
    enum { T = 5, NH = 2, HD = 4, CTX = 8 };
    float cs[CTX * HD / 2], sn[CTX * HD / 2], x[T * NH * HD], R[T * NH * HD], g[T * NH * HD];
    tx_op_rope_tables(cs, sn, CTX, HD, 10000.0);
    fill(x, T * NH * HD, 1);
    fill(R, T * NH * HD, 1);
    double *xd = todouble(x, T * NH * HD), num[T * NH * HD], y[T * NH * HD];
    /* forward against the reference, at a starting position of 2 */
    float xf[T * NH * HD];
    memcpy(xf, x, sizeof x);
    tx_op_rope(xf, T, T, NH * HD, NH, HD, 2, cs, sn, 0);
    double maxf = 0;
    memcpy(y, xd, sizeof y);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < NH; h++)
            rope_d(y + t * NH * HD + h * HD, HD, t + 2, 10000.0);
    for (int i = 0; i < T * NH * HD; i++)
        maxf = fmax(maxf, fabs(y[i] - xf[i]));
    CHECK(maxf < 1e-6);
    memcpy(g, R, sizeof R);
    tx_op_rope(g, T, T, NH * HD, NH, HD, 2, cs, sn, 1);
    const double h = 1e-6;
    for (int i = 0; i < T * NH * HD; i++) {
        double s[2], keep = xd[i];
        for (int sgn = 0; sgn < 2; sgn++) {
            xd[i] = keep + (sgn ? -h : h);
            memcpy(y, xd, sizeof y);
            for (int t = 0; t < T; t++)
                for (int hh = 0; hh < NH; hh++)
                    rope_d(y + t * NH * HD + hh * HD, HD, t + 2, 10000.0);
            s[sgn] = 0;
            for (int j = 0; j < T * NH * HD; j++)
                s[sgn] += y[j] * R[j];
        }
        xd[i] = keep;
        num[i] = (s[0] - s[1]) / (2 * h);
    }
    check_grad("rope d(input)", g, num, T * NH * HD, 1e-4);
    free(xd);
}

static void check_attention(int B, int T, int NH, int NKV, int HD)
{
    int QD = NH * HD, KD = NKV * HD, C = QD + 2 * KD;
    float *qkv = malloc(sizeof(float) * B * T * C), *R = malloc(sizeof(float) * B * T * QD);
    float *out = malloc(sizeof(float) * B * T * QD), *att = malloc(sizeof(float) * B * NH * T * T);
    float *dqkv = calloc((size_t)B * T * C, sizeof(float)), *scratch = malloc(sizeof(float) * T * T);
    fill(qkv, (size_t)B * T * C, 1);
    fill(R, (size_t)B * T * QD, 1);
    tx_op_attention_forward(out, att, qkv, B, T, NH, NKV, HD);
    tx_op_attention_backward(dqkv, R, qkv, att, scratch, B, T, NH, NKV, HD);
    double *x = todouble(qkv, (size_t)B * T * C), *num = malloc(sizeof(double) * B * T * C);
    double *q = malloc(sizeof(double) * T * QD), *k = malloc(sizeof(double) * T * KD);
    double *v = malloc(sizeof(double) * T * KD), *o = malloc(sizeof(double) * T * QD);
    double maxf = 0;
    const double h = 1e-6;
    for (int i = -1; i < B * T * C; i++) {
        double s[2], keep = i >= 0 ? x[i] : 0;
        for (int sgn = 0; sgn < 2; sgn++) {
            if (i >= 0)
                x[i] = keep + (sgn ? -h : h);
            s[sgn] = 0;
            /* only the sequence holding element i changes; the others add the same on both sides */
            for (int b = 0; b < B; b++) {
                if (i >= 0 && i / (T * C) != b)
                    continue;
                for (int t = 0; t < T; t++) {
                    memcpy(q + t * QD, x + (b * T + t) * C, sizeof(double) * QD);
                    memcpy(k + t * KD, x + (b * T + t) * C + QD, sizeof(double) * KD);
                    memcpy(v + t * KD, x + (b * T + t) * C + QD + KD, sizeof(double) * KD);
                }
                attention_d(o, q, k, v, T, NH, NKV, HD);
                for (int j = 0; j < T * QD; j++) {
                    s[sgn] += o[j] * R[b * T * QD + j];
                    if (i < 0)
                        maxf = fmax(maxf, fabs(o[j] - out[b * T * QD + j]));
                }
            }
        }
        if (i >= 0) {
            x[i] = keep;
            num[i] = (s[0] - s[1]) / (2 * h);
        }
    }
    printf("  attention (b %d, t %d, heads %d, kv heads %d): forward largest difference %.3g\n", B, T, NH,
           NKV, maxf);
    CHECK(maxf < 1e-5);
    check_grad("attention d(qkv)", dqkv, num, (size_t)B * T * C, 1e-4);
    free(x); free(num); free(q); free(k); free(v); free(o);
    free(qkv); free(R); free(out); free(att); free(dqkv); free(scratch);
}

static void test_grad_attention(void)
{
    check_attention(2, 5, 4, 2, 4);
    check_attention(1, 130, 2, 1, 4);   /* three query blocks of the blocked kernel, the last partial */
}

static void test_grad_swiglu(void)
{
    enum { N = 3, F = 23 };   /* vector chunks and a tail */
    float h13[N * 2 * F], R[N * F], out[N * F], d[N * 2 * F];
    fill(h13, N * 2 * F, 2);
    fill(R, N * F, 1);
    tx_op_swiglu_forward(out, h13, N, F);
    tx_op_swiglu_backward(d, R, h13, N, F);
    double maxf = 0;
    for (int r = 0; r < N; r++)
        for (int j = 0; j < F; j++) {
            double a = h13[r * 2 * F + j], b = h13[r * 2 * F + F + j];
            maxf = fmax(maxf, fabs(a / (1 + exp(-a)) * b - out[r * F + j]) / fmax(1, fabs(a * b)));
        }
    CHECK(maxf < 1e-6);
    /* saturated gates: sigmoid 0 and 1, no NaN or infinity */
    float big[2 * 8] = {-200, -90, -87.5f, -30, 30, 87.5f, 90, 200, 1, 1, 1, 1, 1, 1, 1, 1}, y[8];
    tx_op_swiglu_forward(y, big, 1, 8);
    for (int j = 0; j < 8; j++) {
        double a = big[j], want = a > 0 ? a : a * exp(a);
        CHECK(isfinite(y[j]));
        CHECK_NEAR(y[j], want, 1e-6 * fmax(1, fabs(a)));
    }
    double *x = todouble(h13, N * 2 * F), num[N * 2 * F];
    const double h = 1e-6;
    for (int i = 0; i < N * 2 * F; i++) {
        double s[2], keep = x[i];
        for (int sgn = 0; sgn < 2; sgn++) {
            x[i] = keep + (sgn ? -h : h);
            s[sgn] = 0;
            for (int r = 0; r < N; r++)
                for (int j = 0; j < F; j++) {
                    double a = x[r * 2 * F + j], b = x[r * 2 * F + F + j];
                    s[sgn] += a / (1 + exp(-a)) * b * R[r * F + j];
                }
        }
        x[i] = keep;
        num[i] = (s[0] - s[1]) / (2 * h);
    }
    check_grad("swiglu d(input)", d, num, N * 2 * F, 1e-4);
    free(x);
}

static void test_grad_crossentropy(void)
{
    enum { N = 4, V = 7 };
    float lg[N * V], loss[N], lse[N];
    int32_t tg[N] = {3, -1, 0, 6};
    fill(lg, N * V, 2);
    double *x = todouble(lg, N * V), num[N * V];
    CHECK_INT(tx_op_crossentropy_forward(loss, lse, lg, tg, N, V), 3);
    CHECK(loss[1] == 0.0f);
    float g[N * V];
    memcpy(g, lg, sizeof lg);
    tx_op_crossentropy_backward(g, lse, tg, N, V, 0.5f);
    const double h = 1e-6;
    for (int i = 0; i < N * V; i++) {
        double s[2], keep = x[i];
        for (int sgn = 0; sgn < 2; sgn++) {
            x[i] = keep + (sgn ? -h : h);
            s[sgn] = 0;
            for (int r = 0; r < N; r++) {
                if (tg[r] < 0)
                    continue;
                double mx = -1e300, sum = 0;
                for (int j = 0; j < V; j++)
                    mx = fmax(mx, x[r * V + j]);
                for (int j = 0; j < V; j++)
                    sum += exp(x[r * V + j] - mx);
                s[sgn] += 0.5 * (mx + log(sum) - x[r * V + tg[r]]);
            }
        }
        x[i] = keep;
        num[i] = (s[0] - s[1]) / (2 * h);
    }
    check_grad("cross-entropy d(logits)", g, num, N * V, 1e-4);
    free(x);
}

/* The whole model: forward against the double reference, gradient of every parameter against finite
 * differences of the reference. */
static void check_whole_model(int tied, int kv_heads)
{
    tx_model *m = tiny_model(tied, kv_heads, 7 + (uint64_t)tied);
    const tx_model_config *c = tx_model_get_config(m);
    enum { B = 2, T = 6 };
    int32_t in[B * T], tg[B * T];
    for (int i = 0; i < B * T; i++) {
        in[i] = (int32_t)(tx_rng_next(&trng) % (uint64_t)c->vocab_size);
        tg[i] = (int32_t)(tx_rng_next(&trng) % (uint64_t)c->vocab_size);
    }
    tg[3] = -1;   /* an ignored target */
    tx_error e;
    float loss = 0;
    CHECK_INT(tx_model_forward(m, in, tg, B, T, &loss, &e), TX_OK);
    size_t np = tx_model_num_params(m);
    double *P = todouble(tx_model_param_data(m), np);
    struct offs o = offsets_of(m);
    double *lref = malloc(sizeof(double) * B * T * c->vocab_size);
    double ref = ref_forward(c, P, o, in, tg, B, T, lref);
    const float *lg = tx_model_logits(m);
    double maxl = 0;
    for (int i = 0; i < B * T * c->vocab_size; i++)
        maxl = fmax(maxl, fabs(lg[i] - lref[i]));
    printf("  model (tied %d, kv_heads %d): logits largest difference %.3g, loss %.7f vs %.7f\n", tied,
           kv_heads, maxl, (double)loss, ref);
    CHECK(maxl < 1e-4);
    CHECK_NEAR(loss, ref, 1e-5);
    tx_model_zero_grad(m);
    CHECK_INT(tx_model_backward(m, 1.0f, &e), TX_OK);
    double *num = malloc(np * sizeof *num);
    const double h = 1e-5;
    for (size_t i = 0; i < np; i++) {
        double keep = P[i];
        P[i] = keep + h;
        double a = ref_forward(c, P, o, in, tg, B, T, NULL);
        P[i] = keep - h;
        double b = ref_forward(c, P, o, in, tg, B, T, NULL);
        P[i] = keep;
        num[i] = (a - b) / (2 * h);
    }
    /* per tensor, so that a wrong gradient in a small tensor is not hidden by a large one elsewhere */
    size_t nt;
    const tx_model_tensor *t = tx_model_tensors(m, &nt);
    const float *g = tx_model_grad_data(m);
    for (size_t i = 0; i < nt; i++) {
        size_t n = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        check_grad(t[i].name, g + t[i].offset, num + t[i].offset, n, 2e-3);
    }
    free(num);
    free(P);
    free(lref);
    tx_model_free(m);
}

static void test_grad_model(void)
{
    check_whole_model(0, 1);   /* untied, grouped-query (2 heads sharing one k/v head) */
    check_whole_model(1, 2);   /* tied, full multi-head */
}

/* The OpenBLAS model and the plain-loop model give the same logits. */
static void test_reference_path(void)
{
    tx_model *m = tiny_model(0, 2, 3);
    int32_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tx_error e;
    CHECK_INT(tx_model_forward(m, in, NULL, 1, 8, NULL, &e), TX_OK);
    float a[8 * 11];
    memcpy(a, tx_model_logits(m), sizeof a);
    tx_matmul_use_reference(1);
    CHECK_INT(tx_model_forward(m, in, NULL, 1, 8, NULL, &e), TX_OK);
    tx_matmul_use_reference(0);
    double maxd = 0;
    for (int i = 0; i < 8 * 11; i++)
        maxd = fmax(maxd, fabs(a[i] - tx_model_logits(m)[i]));
    CHECK(maxd < 1e-5);
    tx_model_free(m);
}

/* Prefill + single-token decode with the KV cache gives the batched forward's logits. */
static void test_decode_matches_forward(void)
{
    tx_model *m = tiny_model(0, 1, 5);
    int32_t seq[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    tx_error e;
    CHECK_INT(tx_model_forward(m, seq, NULL, 1, 8, NULL, &e), TX_OK);
    float full[8 * 11];
    memcpy(full, tx_model_logits(m), sizeof full);
    const float *lg;
    double maxd = 0;
    /* token by token from position 0 */
    for (int pos = 0; pos < 8; pos++) {
        CHECK_INT(tx_model_decode(m, seq[pos], pos, &lg, &e), TX_OK);
        for (int j = 0; j < 11; j++)
            maxd = fmax(maxd, fabs(lg[j] - full[pos * 11 + j]));
    }
    /* a prefill of 5 then decoding the rest */
    CHECK_INT(tx_model_prefill(m, seq, 5, &lg, &e), TX_OK);
    for (int j = 0; j < 11; j++)
        maxd = fmax(maxd, fabs(lg[j] - full[4 * 11 + j]));
    for (int pos = 5; pos < 8; pos++) {
        CHECK_INT(tx_model_decode(m, seq[pos], pos, &lg, &e), TX_OK);
        for (int j = 0; j < 11; j++)
            maxd = fmax(maxd, fabs(lg[j] - full[pos * 11 + j]));
    }
    printf("  decode vs forward: largest difference %.3g\n", maxd);
    CHECK(maxd < 1e-5);
    CHECK_INT(tx_model_decode(m, 11, 0, &lg, &e), TX_EINVAL);
    CHECK_INT(tx_model_decode(m, 0, 8, &lg, &e), TX_EINVAL);
    tx_model_free(m);
}

/* Two micro-batches with scale 1/2 give the gradient of the one batch that holds both. */
static void test_grad_accumulation(void)
{
    tx_model *m = tiny_model(0, 2, 9);
    enum { B = 4, T = 6 };
    int32_t in[B * T], tg[B * T];
    for (int i = 0; i < B * T; i++) {
        in[i] = (int32_t)(tx_rng_next(&trng) % 11);
        tg[i] = (int32_t)(tx_rng_next(&trng) % 11);
    }
    tx_error e;
    float loss;
    size_t np = tx_model_num_params(m);
    tx_model_zero_grad(m);
    CHECK_INT(tx_model_forward(m, in, tg, B, T, &loss, &e), TX_OK);
    CHECK_INT(tx_model_backward(m, 1.0f, &e), TX_OK);
    float *full = malloc(np * sizeof *full);
    memcpy(full, tx_model_grad_data(m), np * sizeof *full);
    tx_model_zero_grad(m);
    for (int half = 0; half < 2; half++) {
        CHECK_INT(tx_model_forward(m, in + half * 2 * T, tg + half * 2 * T, 2, T, &loss, &e), TX_OK);
        CHECK_INT(tx_model_backward(m, 0.5f, &e), TX_OK);
    }
    double maxd = 0, maxg = 0;
    for (size_t i = 0; i < np; i++) {
        maxd = fmax(maxd, fabs(full[i] - tx_model_grad_data(m)[i]));
        maxg = fmax(maxg, fabs(full[i]));
    }
    printf("  accumulation: largest difference %.3g of %.3g\n", maxd, maxg);
    CHECK(maxd < 1e-6 * maxg + 1e-8);
    /* backward without a forward with targets is refused */
    CHECK_INT(tx_model_backward(m, 1.0f, &e), TX_EINVAL);
    free(full);
    tx_model_free(m);
}

static void test_bad_input(void)
{
    tx_model_config c;
    tx_error e;
    tx_model *m = NULL;
    tx_model_config_default(&c, 10, 8, 10, 1, 3);   /* 3 heads do not divide 10 */
    CHECK_INT(tx_model_new(&c, &m, &e), TX_EMODEL);
    CHECK(m == NULL);
    tx_model_config_default(&c, 10, 8, 12, 1, 2);
    c.n_kv_heads = 4;
    CHECK_INT(tx_model_config_check(&c, "x", &e), TX_EMODEL);
    tx_model_config_default(&c, 10, 8, 12, 1, 4);   /* head size 3 is odd */
    CHECK_INT(tx_model_config_check(&c, "x", &e), TX_EMODEL);
    tx_model_config_default(&c, TX_MODEL_MAX_VOCAB, 8, TX_MODEL_MAX_DIM, TX_MODEL_MAX_LAYERS, 8);
    CHECK_INT(tx_model_config_check(&c, "big", &e), TX_ELIMIT);
    m = tiny_model(0, 2, 1);
    int32_t in[4] = {1, 2, 11, 0}, tg[4] = {0, 1, 2, 3};
    CHECK_INT(tx_model_forward(m, in, tg, 1, 4, NULL, &e), TX_EINVAL);
    CHECK(strstr(e.msg, "vocabulary") != NULL);
    in[2] = 3;
    CHECK_INT(tx_model_forward(m, in, tg, 1, 9, NULL, &e), TX_EINVAL);   /* beyond the context */
    tx_model_free(m);
}

static void test_config_json(void)
{
    tx_model_config c, d;
    tx_error e;
    const char *txt = "{\"vocab\": 512, \"context\": 256, \"d_model\": 64, \"layers\": 2, \"heads\": 4, "
                      "\"kv_heads\": 2, \"tied\": true, \"dropout\": 0}";
    CHECK_INT(tx_model_config_parse(txt, strlen(txt), "cfg.json", &c, &e), TX_OK);
    CHECK_INT(c.vocab_size, 512);
    CHECK_INT(c.n_kv_heads, 2);
    CHECK_INT(c.d_ff, 192);   /* 8/3 * 64 = 170.67, rounded up to a multiple of 32 */
    CHECK_INT(c.tied, 1);
    tx_buf b = TX_BUF_INIT;
    CHECK_INT(tx_model_config_to_json(&c, &b), 0);
    CHECK_INT(tx_model_config_parse(b.data, b.len, "again", &d, &e), TX_OK);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    tx_buf_free(&b);
    const char *bad[] = {
        "{\"vocab\": 512, \"context\": 256, \"d_model\": 64, \"layers\": 2}",
        "{\"vocab\": 512, \"context\": 256, \"d_model\": 64, \"layers\": 2, \"heads\": 4.5}",
        "{\"vocab\": -1, \"context\": 256, \"d_model\": 64, \"layers\": 2, \"heads\": 4}",
        "{\"vocab\": 512, \"context\": 256, \"d_model\": 64, \"layers\": 2, \"heads\": 4, \"dropout\": 0.1}",
        "{\"vocab\": 512, \"context\": 99999999999, \"d_model\": 64, \"layers\": 2, \"heads\": 4}",
        "[1, 2]",
        "{\"vocab\": 512,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = tx_model_config_parse(bad[i], strlen(bad[i]), "bad.json", &c, &e);
        CHECK(rc != TX_OK);
        CHECK(strncmp(e.msg, "bad.json", 8) == 0);
    }
}

static void test_schedule_clip_adamw(void)
{
    tx_adamw_config c;
    tx_adamw_config_default(&c);
    c.lr = 1.0f;
    c.min_lr = 0.1f;
    c.warmup_steps = 10;
    c.total_steps = 110;
    CHECK_NEAR(tx_adamw_lr(&c, 0), 0.1, 1e-7);
    CHECK_NEAR(tx_adamw_lr(&c, 9), 1.0, 1e-7);
    CHECK_NEAR(tx_adamw_lr(&c, 10), 1.0, 1e-7);
    CHECK_NEAR(tx_adamw_lr(&c, 60), 0.55, 1e-6);    /* half way down the cosine */
    CHECK_NEAR(tx_adamw_lr(&c, 110), 0.1, 1e-7);
    CHECK_NEAR(tx_adamw_lr(&c, 500), 0.1, 1e-7);
    float g[2] = {3, 4};
    CHECK_NEAR(tx_grad_clip(g, 2, 1.0f), 5.0, 1e-6);
    CHECK_NEAR(sqrt(g[0] * g[0] + g[1] * g[1]), 1.0, 1e-5);
    CHECK_NEAR(tx_grad_clip(g, 2, 0), 1.0, 1e-5);

    /* the first AdamW step: m_hat = g, v_hat = g^2, so p <- p (1 - lr wd) - lr g / (|g| + eps) */
    tx_model *m = tiny_model(0, 2, 4);
    tx_adamw *o;
    tx_error e;
    tx_adamw_config_default(&c);
    c.lr = 0.01f;
    c.weight_decay = 0.5f;
    c.grad_clip = 0;
    CHECK_INT(tx_adamw_new(&c, m, &o, &e), TX_OK);
    size_t np = tx_model_num_params(m);
    float *p = tx_model_param_data(m), *gr = tx_model_grad_data(m);
    float *before = malloc(np * sizeof *before);
    memcpy(before, p, np * sizeof *before);
    fill(gr, np, 1e-2f);
    CHECK_INT(tx_adamw_step(o, m, NULL, &e), TX_OK);
    CHECK_INT(tx_adamw_get_step(o), 1);
    const tx_model_params *v = tx_model_param_views(m);
    size_t i_mat = (size_t)(v->wo - p) + 3, i_norm = (size_t)(v->mlp_norm - p) + 1;
    double want_mat = before[i_mat] * (1 - 0.01 * 0.5) - 0.01 * gr[i_mat] / (fabs(gr[i_mat]) + 1e-8);
    double want_norm = before[i_norm] - 0.01 * gr[i_norm] / (fabs(gr[i_norm]) + 1e-8);
    CHECK_NEAR(p[i_mat], want_mat, 1e-6);
    CHECK_NEAR(p[i_norm], want_norm, 1e-6);   /* no decay on norm gains */
    /* a NaN gradient is refused and changes nothing */
    memcpy(before, p, np * sizeof *before);
    gr[5] = NAN;
    CHECK_INT(tx_adamw_step(o, m, NULL, &e), TX_EMODEL);
    CHECK(memcmp(before, p, np * sizeof *before) == 0);
    CHECK_INT(tx_adamw_get_step(o), 1);
    free(before);
    tx_adamw_free(o);
    tx_model_free(m);
}

/* ---- samplers ---- */

static int mask_even(void *ud, const int32_t *ids, size_t n, uint8_t *allowed, int vocab)
{
    (void)ud;
    (void)ids;
    (void)n;
    for (int i = 1; i < vocab; i += 2)
        allowed[i] = 0;
    return TX_OK;
}

static int mask_none(void *ud, const int32_t *ids, size_t n, uint8_t *allowed, int vocab)
{
    (void)ud;
    (void)ids;
    (void)n;
    memset(allowed, 0, (size_t)vocab);
    return TX_OK;
}

static void sample_counts(const tx_sampler_config *c, const float *logits, int vocab, int draws,
                          int *counts)
{
    tx_sampler *s;
    tx_error e;
    CHECK_INT(tx_sampler_new(c, vocab, &s, &e), TX_OK);
    memset(counts, 0, (size_t)vocab * sizeof *counts);
    for (int i = 0; i < draws; i++) {
        int32_t id = -1;
        CHECK_INT(tx_sampler_sample(s, logits, NULL, 0, NULL, NULL, &id, &e), TX_OK);
        if (id >= 0 && id < vocab)
            counts[id]++;
    }
    tx_sampler_free(s);
}

static void test_samplers(void)
{
    /* probabilities 0.5, 0.3, 0.15, 0.05 */
    float lg[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
    tx_sampler_config c;
    int counts[6];
    tx_sampler_config_default(&c);
    c.seed = 42;
    sample_counts(&c, lg, 4, 20000, counts);
    CHECK_NEAR(counts[0] / 20000.0, 0.5, 0.02);
    CHECK_NEAR(counts[1] / 20000.0, 0.3, 0.02);
    CHECK_NEAR(counts[2] / 20000.0, 0.15, 0.02);
    CHECK_NEAR(counts[3] / 20000.0, 0.05, 0.01);
    c.temperature = 0;
    sample_counts(&c, lg, 4, 50, counts);
    CHECK_INT(counts[0], 50);
    tx_sampler_config_default(&c);
    c.top_k = 2;
    sample_counts(&c, lg, 4, 5000, counts);
    CHECK(counts[2] == 0 && counts[3] == 0);
    CHECK_NEAR(counts[0] / 5000.0, 0.625, 0.03);   /* 0.5 / 0.8 */
    tx_sampler_config_default(&c);
    c.top_p = 0.7f;   /* 0.5 + 0.3 reach 0.7: two survive */
    sample_counts(&c, lg, 4, 5000, counts);
    CHECK(counts[0] > 0 && counts[1] > 0 && counts[2] == 0 && counts[3] == 0);
    tx_sampler_config_default(&c);
    c.min_p = 0.2f;   /* keeps p >= 0.1: three survive */
    sample_counts(&c, lg, 4, 5000, counts);
    CHECK(counts[2] > 0 && counts[3] == 0);
    tx_sampler_config_default(&c);
    c.temperature = 0.01f;   /* near greedy */
    sample_counts(&c, lg, 4, 200, counts);
    CHECK_INT(counts[0], 200);

    /* the same seed gives the same sequence; another seed another */
    tx_sampler *a, *b;
    tx_error e;
    tx_sampler_config_default(&c);
    c.seed = 7;
    CHECK_INT(tx_sampler_new(&c, 4, &a, &e), TX_OK);
    CHECK_INT(tx_sampler_new(&c, 4, &b, &e), TX_OK);
    int same = 1;
    for (int i = 0; i < 100; i++) {
        int32_t x, y;
        tx_sampler_sample(a, lg, NULL, 0, NULL, NULL, &x, &e);
        tx_sampler_sample(b, lg, NULL, 0, NULL, NULL, &y, &e);
        same &= x == y;
    }
    CHECK(same);
    tx_sampler_free(b);
    c.seed = 8;
    CHECK_INT(tx_sampler_new(&c, 4, &b, &e), TX_OK);
    same = 1;
    for (int i = 0; i < 100; i++) {
        int32_t x, y;
        tx_sampler_sample(a, lg, NULL, 0, NULL, NULL, &x, &e);
        tx_sampler_sample(b, lg, NULL, 0, NULL, NULL, &y, &e);
        same &= x == y;
    }
    CHECK(!same);
    tx_sampler_free(a);
    tx_sampler_free(b);

    /* the mask: only even ids; a mask that allows nothing is an error */
    tx_sampler_config_default(&c);
    float flat[6] = {0, 0, 0, 0, 0, 0};
    CHECK_INT(tx_sampler_new(&c, 6, &a, &e), TX_OK);
    int odd = 0;
    for (int i = 0; i < 300; i++) {
        int32_t x;
        CHECK_INT(tx_sampler_sample(a, flat, NULL, 0, mask_even, NULL, &x, &e), TX_OK);
        odd += x % 2;
    }
    CHECK_INT(odd, 0);
    int32_t x;
    CHECK_INT(tx_sampler_sample(a, flat, NULL, 0, mask_none, NULL, &x, &e), TX_EMODEL);
    tx_sampler_free(a);

    /* repetition penalty: 2.0 vs 1.9, token 0 seen, penalty 2 -> 1.0 vs 1.9, greedy picks 1 */
    float two[2] = {2.0f, 1.9f};
    int32_t hist[3] = {0, 0, 0};
    tx_sampler_config_default(&c);
    c.temperature = 0;
    c.repetition_penalty = 2.0f;
    CHECK_INT(tx_sampler_new(&c, 2, &a, &e), TX_OK);
    CHECK_INT(tx_sampler_sample(a, two, hist, 3, NULL, NULL, &x, &e), TX_OK);
    CHECK_INT(x, 1);
    CHECK_INT(tx_sampler_sample(a, two, NULL, 0, NULL, NULL, &x, &e), TX_OK);
    CHECK_INT(x, 0);
    CHECK(two[0] == 2.0f);   /* the caller's logits are not changed */
    tx_sampler_free(a);
    c.top_p = 0;
    CHECK_INT(tx_sampler_new(&c, 2, &a, &e), TX_EINVAL);
}

/* Greedy generation through the KV cache picks, at every step, the argmax of the batched forward pass
 * over the whole sequence so far. */
static void test_generate(void)
{
    tx_model *m = tiny_model(0, 1, 12);
    tx_sampler *s;
    tx_sampler_config sc;
    tx_error e;
    tx_sampler_config_default(&sc);
    sc.temperature = 0;
    CHECK_INT(tx_sampler_new(&sc, 11, &s, &e), TX_OK);
    int32_t prompt[2] = {3, 1}, out[8], want[8] = {3, 1};
    int n = 0;
    CHECK_INT(tx_model_generate(m, s, prompt, 2, 6, -1, NULL, NULL, out, &n, &e), TX_OK);
    CHECK_INT(n, 8);
    for (int len = 2; len < 8; len++) {
        CHECK_INT(tx_model_forward(m, want, NULL, 1, len, NULL, &e), TX_OK);
        const float *lg = tx_model_logits(m) + (size_t)(len - 1) * 11;
        int best = 0;
        for (int i = 1; i < 11; i++)
            best = lg[i] > lg[best] ? i : best;
        want[len] = best;
    }
    CHECK(memcmp(out, want, sizeof want) == 0);
    /* a stop id ends it; the mask is obeyed; too long is refused */
    CHECK_INT(tx_model_generate(m, s, prompt, 2, 6, want[2], NULL, NULL, out, &n, &e), TX_OK);
    CHECK_INT(n, 3);
    tx_sampler_free(s);
    sc.temperature = 1;
    sc.seed = 3;
    CHECK_INT(tx_sampler_new(&sc, 11, &s, &e), TX_OK);
    CHECK_INT(tx_model_generate(m, s, prompt, 2, 6, -1, mask_even, NULL, out, &n, &e), TX_OK);
    int odd = 0;
    for (int i = 2; i < n; i++)
        odd += out[i] % 2;
    CHECK_INT(n, 8);
    CHECK_INT(odd, 0);
    CHECK_INT(tx_model_generate(m, s, prompt, 2, 7, -1, NULL, NULL, out, &n, &e), TX_EINVAL);
    tx_sampler_free(s);
    tx_model_free(m);
}

int main(void)
{
    tx_rng_seed(&trng, 1234);
    RUN(test_matmul_seam);
    RUN(test_grad_linear);
    RUN(test_grad_rmsnorm);
    RUN(test_grad_rope);
    RUN(test_grad_attention);
    RUN(test_grad_swiglu);
    RUN(test_grad_crossentropy);
    RUN(test_grad_model);
    RUN(test_reference_path);
    RUN(test_decode_matches_forward);
    RUN(test_grad_accumulation);
    RUN(test_bad_input);
    RUN(test_config_json);
    RUN(test_schedule_clip_adamw);
    RUN(test_samplers);
    RUN(test_generate);
    return tx_test_finish();
}
