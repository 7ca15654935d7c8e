/* bench-model.c: speed of the transformer engine: training tokens/s, generation tokens/s, and the
 * model's FLOP/s against the sgemm peak measured in the same run.
 *
 * Configurations from issue 6: training d_model 256, 4 layers, 4 heads, vocab 512, batch 8 x 256
 * (forward, backward and an AdamW step); generation d_model 288, 6 layers, 6 heads, vocab 512 (KV cache,
 * one token at a time, 256 tokens from position 0). Threads: OpenBLAS's, from $OPENBLAS_NUM_THREADS or
 * --threads N (default 1). The PyTorch side of the same benchmark is tests/torch-bench.py. This is a
 * benchmark, never a test: nothing here fails on a slow machine.
 *
 * usage: bench-model [--threads N] [--steps N] [--only train|generate|sgemm]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "progress.h"

void openblas_set_num_threads(int n);

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* sgemm GFLOP/s on square products of size n, for about a second. */
static double sgemm_peak(int n, double *per_cpu)
{
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    int reps = 0;
    double t0 = tx_now(), c0 = cpu_now(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        reps++;
        t = tx_now() - t0;
    } while (t < 1.0);
    double flops = 2.0 * n * n * (double)n * reps;
    *per_cpu = flops / (cpu_now() - c0) / 1e9;
    free(a);
    free(b);
    free(c);
    return flops / t / 1e9;
}

/* Matrix-product FLOPs per trained token: 6 per weight used in a product (forward 2, backward 4), plus
 * attention's scores and weighted sums (2 products of t x hd per query position and head, forward, and
 * twice that backward), counted over the full t x t square the kernels compute. */
static double train_flops_per_token(const tx_model_config *c, int t)
{
    double D = c->d_model, L = c->n_layers, V = c->vocab_size, F = c->d_ff;
    double hd = D / c->n_heads, K = c->n_kv_heads * hd;
    double weights = L * (D * (D + 2 * K) + D * D + 3 * D * F) + V * D;
    double attn = L * c->n_heads * 2.0 * 2.0 * t * hd;   /* QK^T and PV per token */
    return 6.0 * weights + 3.0 * attn;
}

static void bench_train(int steps)
{
    tx_model_config c;
    tx_model_config_default(&c, 512, 256, 256, 4, 4);
    tx_model *m;
    tx_adamw *o;
    tx_adamw_config oc;
    tx_error e;
    if (tx_model_new(&c, &m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    tx_model_init(m, 1);
    tx_adamw_config_default(&oc);
    if (tx_adamw_new(&oc, m, &o, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    enum { B = 8, T = 256 };
    int32_t *in = malloc(sizeof(int32_t) * B * T), *tg = malloc(sizeof(int32_t) * B * T);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < B * T; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        in[i] = (int32_t)(x % 512);
    }
    for (int i = 0; i < B * T; i++)
        tg[i] = in[(i + 1) % (B * T)];
    float loss = 0;
    double tf = 0, tb = 0, to = 0, t0 = 0, c0 = 0;
    for (int s = -1; s < steps; s++) {   /* step -1 warms up (allocation, page faults) */
        if (s == 0) {
            t0 = tx_now();
            c0 = cpu_now();
            tf = tb = to = 0;
        }
        double a = tx_now();
        tx_model_zero_grad(m);
        tx_model_forward(m, in, tg, B, T, &loss, &e);
        double b = tx_now();
        tx_model_backward(m, 1.0f, &e);
        double d = tx_now();
        tx_adamw_step(o, m, NULL, &e);
        double f = tx_now();
        tf += b - a;
        tb += d - b;
        to += f - d;
    }
    double wall = tx_now() - t0, cpu = cpu_now() - c0;
    double tps = (double)B * T * steps / wall;
    double fpt = train_flops_per_token(&c, T);
    printf("train: d_model 256, 4 layers, 4 heads, vocab 512, d_ff %d, batch %dx%d, %zu parameters\n",
           c.d_ff, B, T, tx_model_num_params(m));
    printf("train: %.0f tokens/s (%d steps, %.3f s/step: forward %.3f, backward %.3f, adamw %.3f), "
           "loss %.3f\n", tps, steps, wall / steps, tf / steps, tb / steps, to / steps, (double)loss);
    printf("train: %.0f tokens per CPU-second; model %.1f GFLOP/s wall, %.1f GFLOP per CPU-second "
           "(%.2f MFLOP/token)\n", (double)B * T * steps / cpu, fpt * tps / 1e9,
           fpt * B * T * steps / cpu / 1e9, fpt / 1e6);
    free(in);
    free(tg);
    tx_adamw_free(o);
    tx_model_free(m);
}

static void bench_generate(int runs)
{
    tx_model_config c;
    tx_model_config_default(&c, 512, 256, 288, 6, 6);
    c.d_ff = 768;   /* llama2.c's hidden size for d_model 288 */
    tx_model *m;
    tx_error e;
    if (tx_model_new(&c, &m, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    tx_model_init(m, 2);
    const int n = 256;
    double best = 0, total = 0, cpu = 0;
    int32_t tok = 1;
    for (int r = -1; r < runs; r++) {
        double t0 = tx_now(), c0 = cpu_now();
        tok = 1;
        for (int pos = 0; pos < n; pos++) {
            const float *lg;
            tx_model_decode(m, tok, pos, &lg, &e);
            int best_id = 0;
            for (int i = 1; i < c.vocab_size; i++)
                best_id = lg[i] > lg[best_id] ? i : best_id;
            tok = best_id;
        }
        double tps = n / (tx_now() - t0);
        if (r >= 0) {
            cpu += cpu_now() - c0;
            total += tps;
            best = tps > best ? tps : best;
        }
    }
    printf("generate: d_model 288, 6 layers, 6 heads, vocab 512, d_ff 768, %zu parameters\n",
           tx_model_num_params(m));
    printf("generate: %.0f tokens/s mean, %.0f best, %.0f tokens per CPU-second (%d runs of %d tokens "
           "from position 0, greedy; last token %d)\n", total / runs, best, n * runs / cpu, runs, n, tok);
    tx_model_free(m);
}

int main(int argc, char **argv)
{
    int threads = 1, steps = 5;
    const char *only = NULL, *env = getenv("OPENBLAS_NUM_THREADS");
    if (env && atoi(env) > 0)
        threads = atoi(env);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench-model [--threads N] [--steps N] [--only train|generate|sgemm]\n");
            return 2;
        }
    }
    if (threads < 1 || steps < 1) {
        fprintf(stderr, "bench-model: --threads and --steps must be positive\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    printf("threads: %d (OpenBLAS)\n", threads);
    if (!only || strcmp(only, "sgemm") == 0) {
        double per_cpu, peak = sgemm_peak(1024, &per_cpu);
        printf("sgemm 1024^3: %.1f GFLOP/s wall, %.1f GFLOP per CPU-second\n", peak, per_cpu);
    }
    if (!only || strcmp(only, "train") == 0)
        bench_train(steps);
    if (!only || strcmp(only, "generate") == 0)
        bench_generate(5);
    return 0;
}
