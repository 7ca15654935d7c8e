/* optim.c: AdamW (decoupled weight decay, bias correction), global-norm gradient clipping, and the
 * warmup + cosine learning-rate schedule.
 *
 * The update follows torch.optim.AdamW operation for operation (decay first, then the moments, then
 * the step with bias-corrected denominators), so that the two agree to float rounding; tests check
 * that. Gradient accumulation is the model's job (tx_model_backward's scale); this file only steps.
 * The moments are one allocation of 2n floats; the state is the moments plus the step counter.
 */
#include "model-priv.h"

#include <math.h>
#include <string.h>

struct tx_adamw {
    tx_adamw_config c;
    size_t n;
    float *m, *v;            /* n each, one allocation */
    long step;               /* updates done */
    size_t n_ranges;
    struct range {
        size_t offset, count;
        int decay;
    } *ranges;
};

void tx_adamw_config_default(tx_adamw_config *c)
{
    memset(c, 0, sizeof *c);
    c->lr = 3e-4f;
    c->min_lr = 3e-5f;
    c->beta1 = 0.9f;
    c->beta2 = 0.95f;
    c->eps = 1e-8f;
    c->weight_decay = 0.1f;
    c->grad_clip = 1.0f;
}

int tx_adamw_new(const tx_adamw_config *c, const tx_model *m, tx_adamw **out, tx_error *err)
{
    *out = NULL;
    if (!(c->lr >= 0) || !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) ||
        !(c->eps > 0) || !(c->weight_decay >= 0) || !(c->grad_clip >= 0) || c->warmup_steps < 0 ||
        c->total_steps < 0)
        return tx_error_set(err, TX_EINVAL, "adamw: a setting is out of range (lr, betas in [0, 1), "
                            "eps > 0, weight decay, clip and steps not negative)");
    tx_adamw *o = tx_calloc(1, sizeof *o);
    size_t nt;
    const tx_model_tensor *t = tx_model_tensors(m, &nt);
    if (o) {
        o->n = tx_model_num_params(m);
        o->m = tx_calloc(2 * o->n, sizeof(float));
        o->ranges = tx_calloc(nt, sizeof *o->ranges);
    }
    if (!o || !o->m || !o->ranges) {
        tx_adamw_free(o);
        return tx_error_set(err, TX_ENOMEM, "adamw: out of memory");
    }
    o->c = *c;
    o->v = o->m + o->n;
    for (size_t i = 0; i < nt; i++) {
        o->ranges[i].offset = t[i].offset;
        o->ranges[i].count = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        o->ranges[i].decay = t[i].decay;
    }
    o->n_ranges = nt;
    *out = o;
    return TX_OK;
}

void tx_adamw_free(tx_adamw *o)
{
    if (!o)
        return;
    tx_free(o->m);
    tx_free(o->ranges);
    tx_free(o);
}

float tx_adamw_lr(const tx_adamw_config *c, long step)
{
    if (c->warmup_steps > 0 && step < c->warmup_steps)
        return c->lr * (float)(step + 1) / (float)c->warmup_steps;
    if (c->total_steps <= c->warmup_steps)
        return c->lr;
    double progress = (double)(step - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
    if (progress > 1.0)
        progress = 1.0;
    return (float)(c->min_lr + 0.5 * (c->lr - c->min_lr) * (1.0 + cos(3.14159265358979323846 * progress)));
}

float tx_grad_clip(float *g, size_t n, float max_norm)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)g[i] * g[i];
    float norm = (float)sqrt(ss);
    if (max_norm > 0 && norm > max_norm && isfinite(norm)) {
        /* the same factor torch.nn.utils.clip_grad_norm_ uses */
        float s = max_norm / (norm + 1e-6f);
        for (size_t i = 0; i < n; i++)
            g[i] *= s;
    }
    return norm;
}

int tx_adamw_step(tx_adamw *o, tx_model *m, float *norm_out, tx_error *err)
{
    if (tx_model_num_params(m) != o->n)
        return tx_error_set(err, TX_EINVAL, "adamw: the optimizer was made for another model");
    float *p = tx_model_param_data(m), *g = tx_model_grad_data(m);
    float norm = tx_grad_clip(g, o->n, o->c.grad_clip);
    if (norm_out)
        *norm_out = norm;
    if (!isfinite(norm))
        return tx_error_set(err, TX_EMODEL, "adamw: step %ld: the gradient norm is not finite", o->step);
    float lr = tx_adamw_lr(&o->c, o->step);
    o->step++;
    float b1 = o->c.beta1, b2 = o->c.beta2, eps = o->c.eps;
    /* the scalars in double, as PyTorch computes them in Python before applying them in float */
    double bc1 = 1.0 - pow(b1, (double)o->step);
    double bc2 = 1.0 - pow(b2, (double)o->step);
    float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t r = 0; r < o->n_ranges; r++) {
        size_t off = o->ranges[r].offset, end = off + o->ranges[r].count;
        float decay = o->ranges[r].decay ? (float)(1.0 - (double)lr * o->c.weight_decay) : 1.0f;
        float *pm = o->m, *pv = o->v;
        for (size_t i = off; i < end; i++) {
            p[i] *= decay;
            pm[i] = b1 * pm[i] + (1.0f - b1) * g[i];
            pv[i] = b2 * pv[i] + (1.0f - b2) * g[i] * g[i];
            float denom = sqrtf(pv[i]) / bc2_sqrt + eps;
            p[i] -= step_size * pm[i] / denom;
        }
    }
    return TX_OK;
}

long tx_adamw_get_step(const tx_adamw *o)
{
    return o->step;
}

void tx_adamw_set_step(tx_adamw *o, long step)
{
    o->step = step;
}

float *tx_adamw_moments(tx_adamw *o, int which, size_t *n)
{
    *n = o->n;
    return which ? o->v : o->m;
}
