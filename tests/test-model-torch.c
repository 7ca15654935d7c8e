/* test-model-torch.c: the transformer against PyTorch (Debian python3-torch).
 *
 * The C side writes a small model as a tactus checkpoint and a batch as a safetensors file; the script
 * tests/torch-model.py opens the checkpoint with a plain reader of the format, rebuilds the model in
 * PyTorch, and returns logits, loss and gradients (and, in a second run, the parameters after a few
 * torch.optim.AdamW steps). Everything must agree within 1e-4 relative to the largest magnitude of each
 * tensor; the largest differences are printed. Skips (77) where PyTorch is absent.
 */
#include "harness.h"

#include <unistd.h>

#include "model-priv.h"
#include "model.h"
#include "safetensors.h"

/* The Python with torch: $TACTUS_PYTHON, else Debian's python3 (where python3-torch installs), else
 * python3 from PATH. */
static const char *python(void)
{
    const char *p = getenv("TACTUS_PYTHON");
    if (p && *p)
        return p;
    return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Three jobs for one run of the script (importing torch takes seconds): grads of an untied
 * grouped-query model, grads of a tied model, AdamW steps. */
enum { B = 3, T = 7, JOBS = 3 };
static char ckpt[JOBS][64], batch[JOBS][64], result[JOBS][64];

static int run_script(void)
{
    static const char *modes[JOBS] = {"grads", "grads", "adamw"};
    tx_buf cmd = TX_BUF_INIT;
    tx_buf_printf(&cmd, "'%s' '%s/tests/torch-model.py'", python(), TX_SOURCE_ROOT);
    for (int j = 0; j < JOBS; j++) {
        tx_buf_printf(&cmd, " %s %s %s %s", modes[j], ckpt[j], batch[j], result[j]);
        unlink(result[j]);
    }
    int rc = system(cmd.data);
    if (rc != 0)
        fprintf(stderr, "%s: exit status %d\n", cmd.data, rc);
    tx_buf_free(&cmd);
    return rc;
}

static tx_model *make_model(int tied, int kv)
{
    tx_model_config c;
    tx_model_config_default(&c, 37, 16, 16, 2, 4);
    c.n_kv_heads = kv;
    c.d_ff = 24;
    c.tied = tied;
    tx_model *m;
    tx_error e;
    if (tx_model_new(&c, &m, &e) != TX_OK)
        return NULL;
    /* random gains and weights large enough that attention is far from uniform */
    tx_rng r;
    tx_rng_seed(&r, 77 + (uint64_t)tied);
    size_t nt;
    const tx_model_tensor *t = tx_model_tensors(m, &nt);
    float *p = tx_model_param_data(m);
    for (size_t i = 0; i < nt; i++) {
        size_t n = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        for (size_t k = 0; k < n; k++)
            p[t[i].offset + k] = t[i].ndim == 1 ? (float)(1 + 0.2 * tx_rng_normal(&r))
                                                : (float)(0.3 * tx_rng_normal(&r));
    }
    return m;
}

static void write_batch(int job, const int32_t *in, const int32_t *tg, const char *const *keys,
                        const char *const *vals, size_t n)
{
    tx_st_tensor t[2] = {
        {"inputs", TX_ST_I32, 2, {B, T}, in, sizeof(int32_t) * B * T},
        {"targets", TX_ST_I32, 2, {B, T}, tg, sizeof(int32_t) * B * T},
    };
    tx_error e;
    CHECK_INT(tx_safetensors_write(batch[job], t, 2, keys, vals, n, &e), TX_OK);
}

/* Largest |a - b| over n, and largest |b|. */
static double compare(const char *what, const float *a, const void *b_bytes, size_t n, double *maxb)
{
    double maxd = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        float b;
        memcpy(&b, (const uint8_t *)b_bytes + 4 * i, 4);
        maxd = fmax(maxd, fabs((double)a[i] - b));
        mb = fmax(mb, fabs((double)b));
    }
    *maxb = mb;
    return maxd;
}

static void check_close(const char *what, const float *a, const tx_st_tensor *t, size_t n, int verbose)
{
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_INT(t->nbytes, n * 4);
    if (t->nbytes != n * 4)
        return;
    double mb, d = compare(what, a, t->data, n, &mb);
    if (verbose || d > 1e-4 * mb)
        printf("  %-34s largest difference %.3g, relative %.3g\n", what, d, mb > 0 ? d / mb : d);
    CHECK(mb > 0);
    CHECK(d <= 1e-4 * mb);
}

/* What the C side computed for each job, kept until the script has run. */
static struct job {
    tx_model *m;
    tx_adamw *o;
    float loss, losses[4];
    float *logits, *start;
} jobs[JOBS];

static const int adamw_steps = 4;

static void random_batch(uint64_t seed, int32_t *in, int32_t *tg)
{
    tx_rng r;
    tx_rng_seed(&r, seed);
    for (int i = 0; i < B * T; i++) {
        in[i] = (int32_t)(tx_rng_next(&r) % 37);
        tg[i] = (int32_t)(tx_rng_next(&r) % 37);
    }
    tg[4] = -1;   /* an ignored target */
}

static void prepare_grads(int j, int tied, int kv)
{
    struct job *J = &jobs[j];
    J->m = make_model(tied, kv);
    CHECK(J->m != NULL);
    if (!J->m)
        return;
    int32_t in[B * T], tg[B * T];
    random_batch(5 + (uint64_t)j, in, tg);
    tx_error e;
    CHECK_INT(tx_model_save(J->m, NULL, NULL, NULL, 0, ckpt[j], &e), TX_OK);
    write_batch(j, in, tg, NULL, NULL, 0);
    CHECK_INT(tx_model_forward(J->m, in, tg, B, T, &J->loss, &e), TX_OK);
    J->logits = malloc(sizeof(float) * B * T * 37);
    memcpy(J->logits, tx_model_logits(J->m), sizeof(float) * B * T * 37);
    tx_model_zero_grad(J->m);
    CHECK_INT(tx_model_backward(J->m, 1.0f, &e), TX_OK);
}

static void prepare_adamw(int j)
{
    struct job *J = &jobs[j];
    J->m = make_model(0, 2);
    CHECK(J->m != NULL);
    if (!J->m)
        return;
    int32_t in[B * T], tg[B * T];
    random_batch(6, in, tg);
    tx_adamw_config oc;
    tx_adamw_config_default(&oc);
    oc.lr = 1e-2f;
    oc.weight_decay = 0.1f;
    oc.beta1 = 0.9f;
    oc.beta2 = 0.95f;
    oc.eps = 1e-8f;
    oc.grad_clip = 1.0f;
    const char *keys[7] = {"lr", "weight_decay", "beta1", "beta2", "eps", "grad_clip", "steps"};
    /* the settings as the floats the C side uses, printed exactly */
    char v[7][32];
    snprintf(v[0], 32, "%.9g", (double)oc.lr);
    snprintf(v[1], 32, "%.9g", (double)oc.weight_decay);
    snprintf(v[2], 32, "%.9g", (double)oc.beta1);
    snprintf(v[3], 32, "%.9g", (double)oc.beta2);
    snprintf(v[4], 32, "%.9g", (double)oc.eps);
    snprintf(v[5], 32, "%.9g", (double)oc.grad_clip);
    snprintf(v[6], 32, "%d", adamw_steps);
    const char *vals[7] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    tx_error e;
    CHECK_INT(tx_model_save(J->m, NULL, NULL, NULL, 0, ckpt[j], &e), TX_OK);
    write_batch(j, in, tg, keys, vals, 7);
    CHECK_INT(tx_adamw_new(&oc, J->m, &J->o, &e), TX_OK);
    size_t np = tx_model_num_params(J->m);
    J->start = malloc(np * sizeof(float));
    memcpy(J->start, tx_model_param_data(J->m), np * sizeof(float));
    for (int s = 0; s < adamw_steps; s++) {
        tx_model_zero_grad(J->m);
        CHECK_INT(tx_model_forward(J->m, in, tg, B, T, &J->losses[s], &e), TX_OK);
        CHECK_INT(tx_model_backward(J->m, 1.0f, &e), TX_OK);
        CHECK_INT(tx_adamw_step(J->o, J->m, NULL, &e), TX_OK);
    }
}

static tx_safetensors *read_result(int j)
{
    tx_safetensors *st = NULL;
    tx_error e;
    int rc = tx_safetensors_read(result[j], 1 << 26, &st, &e);
    CHECK_INT(rc, TX_OK);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    return st;
}

static void check_grads(int j)
{
    struct job *J = &jobs[j];
    tx_safetensors *st = read_result(j);
    if (!st || !J->m)
        return;
    const tx_model_config *c = tx_model_get_config(J->m);
    printf(" tied %d, kv_heads %d:\n", c->tied, c->n_kv_heads);
    check_close("logits (checkpoint read in PyTorch)", J->logits, tx_safetensors_find(st, "logits"),
                (size_t)B * T * 37, 1);
    check_close("loss", &J->loss, tx_safetensors_find(st, "loss"), 1, 1);
    size_t nt;
    const tx_model_tensor *t = tx_model_tensors(J->m, &nt);
    double worst = 0;
    for (size_t i = 0; i < nt; i++) {
        char name[96];
        snprintf(name, sizeof name, "grad.%s", t[i].name);
        size_t n = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        const tx_st_tensor *g = tx_safetensors_find(st, name);
        check_close(name, tx_model_grad_data(J->m) + t[i].offset, g, n, 0);
        if (g && g->nbytes == n * 4) {
            double mb, d = compare(name, tx_model_grad_data(J->m) + t[i].offset, g->data, n, &mb);
            worst = fmax(worst, mb > 0 ? d / mb : d);
        }
    }
    printf("  gradients of %zu tensors: largest relative difference %.3g\n", nt, worst);
    tx_safetensors_free(st);
}

static void check_adamw(int j)
{
    struct job *J = &jobs[j];
    tx_safetensors *st = read_result(j);
    if (!st || !J->m)
        return;
    check_close("losses over 4 AdamW steps", J->losses, tx_safetensors_find(st, "losses"),
                (size_t)adamw_steps, 1);
    size_t nt;
    const tx_model_tensor *t = tx_model_tensors(J->m, &nt);
    /* compare the updates (parameter minus start), so the tolerance is relative to what moved */
    double worst = 0;
    for (size_t i = 0; i < nt; i++) {
        char name[96];
        snprintf(name, sizeof name, "param.%s", t[i].name);
        size_t n = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        const tx_st_tensor *p = tx_safetensors_find(st, name);
        CHECK(p && p->nbytes == n * 4);
        if (!p || p->nbytes != n * 4)
            continue;
        double maxd = 0, maxu = 0;
        for (size_t k = 0; k < n; k++) {
            float tp;
            memcpy(&tp, (const uint8_t *)p->data + 4 * k, 4);
            double s0 = J->start[t[i].offset + k];
            maxd = fmax(maxd, fabs((double)tx_model_param_data(J->m)[t[i].offset + k] - tp));
            maxu = fmax(maxu, fabs(tp - s0));
        }
        CHECK(maxu > 0);
        CHECK(maxd <= 1e-4 * maxu + 1e-7);
        if (maxd > 1e-4 * maxu + 1e-7)
            printf("  %s: largest difference %.3g of updates up to %.3g\n", name, maxd, maxu);
        worst = fmax(worst, maxd / maxu);
    }
    printf("  AdamW vs torch.optim.AdamW, %d steps: largest difference relative to the update %.3g\n",
           adamw_steps, worst);
    tx_safetensors_free(st);
}

static void test_against_torch(void)
{
    prepare_grads(0, 0, 2);   /* untied, grouped-query heads */
    prepare_grads(1, 1, 4);   /* tied, full multi-head */
    prepare_adamw(2);
    CHECK_INT(run_script(), 0);
    check_grads(0);
    check_grads(1);
    check_adamw(2);
}

int main(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", python());
    if (system(cmd) != 0) {
        printf("PyTorch is not available (Debian python3-torch): skipped\n");
        return 77;
    }
    for (int j = 0; j < JOBS; j++) {
        snprintf(ckpt[j], sizeof ckpt[j], "test-model-torch-%d-ckpt.tmp.safetensors", j);
        snprintf(batch[j], sizeof batch[j], "test-model-torch-%d-batch.tmp.safetensors", j);
        snprintf(result[j], sizeof result[j], "test-model-torch-%d-out.tmp.safetensors", j);
    }
    RUN(test_against_torch);
    for (int j = 0; j < JOBS; j++) {
        unlink(ckpt[j]);
        unlink(batch[j]);
        unlink(result[j]);
        tx_model_free(jobs[j].m);
        tx_adamw_free(jobs[j].o);
        free(jobs[j].logits);
        free(jobs[j].start);
    }
    return tx_test_finish();
}
