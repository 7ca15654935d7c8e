/* sample.c: choosing the next token from logits: repetition penalty, a grammar's mask, temperature,
 * top-k, top-p (nucleus), min-p, and a seeded random number generator.
 *
 * The order follows llama.cpp's default chain (penalty, then the filters on sorted candidates, then
 * temperature-scaled sampling) so that flags mean the same thing in both. This file does not run the
 * model and knows nothing of tokenizers: the grammar comes in as a mask callback.
 */
#include "model-priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cand {
    float logit;
    int32_t id;
};

struct tx_sampler {
    tx_sampler_config c;
    int vocab;
    tx_rng rng;
    float *logits;        /* (vocab) working copy */
    uint8_t *allowed;     /* (vocab) */
    struct cand *cands;   /* (vocab) */
};

void tx_sampler_config_default(tx_sampler_config *c)
{
    memset(c, 0, sizeof *c);
    c->temperature = 1.0f;
    c->top_p = 1.0f;
    c->repetition_penalty = 1.0f;
    c->penalty_window = 64;
}

int tx_sampler_new(const tx_sampler_config *c, int vocab, tx_sampler **out, tx_error *err)
{
    *out = NULL;
    if (vocab < 1 || vocab > TX_MODEL_MAX_VOCAB)
        return tx_error_set(err, TX_EINVAL, "sampler: vocabulary size %d outside 1..%d", vocab,
                            TX_MODEL_MAX_VOCAB);
    if (!(c->temperature >= 0) || !isfinite(c->temperature) || c->top_k < 0 ||
        !(c->top_p > 0 && c->top_p <= 1) || !(c->min_p >= 0 && c->min_p <= 1) ||
        !(c->repetition_penalty > 0) || !isfinite(c->repetition_penalty) || c->penalty_window < 0)
        return tx_error_set(err, TX_EINVAL, "sampler: a setting is out of range (temperature >= 0, "
                            "top-k >= 0, top-p in (0, 1], min-p in [0, 1], penalty > 0)");
    tx_sampler *s = tx_calloc(1, sizeof *s);
    if (s) {
        s->logits = tx_malloc((size_t)vocab * sizeof(float));
        s->allowed = tx_malloc((size_t)vocab);
        s->cands = tx_malloc((size_t)vocab * sizeof *s->cands);
    }
    if (!s || !s->logits || !s->allowed || !s->cands) {
        tx_sampler_free(s);
        return tx_error_set(err, TX_ENOMEM, "sampler: out of memory");
    }
    s->c = *c;
    s->vocab = vocab;
    tx_rng_seed(&s->rng, c->seed);
    *out = s;
    return TX_OK;
}

void tx_sampler_free(tx_sampler *s)
{
    if (!s)
        return;
    tx_free(s->logits);
    tx_free(s->allowed);
    tx_free(s->cands);
    tx_free(s);
}

/* Descending logit, then ascending id, so that ties sort the same way everywhere. */
static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int tx_sampler_sample(tx_sampler *s, const float *logits, const int32_t *history, size_t n,
                      tx_mask_fn mask, void *ud, int32_t *out, tx_error *err)
{
    int V = s->vocab;
    const tx_sampler_config *c = &s->c;
    memcpy(s->logits, logits, (size_t)V * sizeof(float));
    memset(s->allowed, 1, (size_t)V);

    if (c->repetition_penalty != 1.0f && history) {
        /* each id is penalised once however often it occurs; the allowed array marks the done ones */
        size_t from = c->penalty_window && n > (size_t)c->penalty_window ? n - (size_t)c->penalty_window : 0;
        for (size_t i = from; i < n; i++) {
            int32_t id = history[i];
            if (id < 0 || id >= V || !s->allowed[id])
                continue;
            s->allowed[id] = 0;
            float *l = &s->logits[id];
            *l = *l > 0 ? *l / c->repetition_penalty : *l * c->repetition_penalty;
        }
        memset(s->allowed, 1, (size_t)V);
    }
    if (mask) {
        int rc = mask(ud, history, n, s->allowed, V);
        if (rc)
            return tx_error_set(err, rc, "sampler: the grammar mask failed at token %zu", n);
    }
    int nc = 0;
    for (int i = 0; i < V; i++) {
        if (s->allowed[i] && !isnan(s->logits[i]) && s->logits[i] != -INFINITY) {
            s->cands[nc].logit = s->logits[i];
            s->cands[nc].id = i;
            nc++;
        }
    }
    if (nc == 0)
        return tx_error_set(err, TX_EMODEL, "sampler: token %zu: no token is allowed", n);
    if (c->temperature == 0.0f) {
        int best = 0;
        for (int i = 1; i < nc; i++)
            if (s->cands[i].logit > s->cands[best].logit)
                best = i;
        *out = s->cands[best].id;
        return TX_OK;
    }
    qsort(s->cands, (size_t)nc, sizeof *s->cands, cmp_cand);
    if (c->top_k > 0 && c->top_k < nc)
        nc = c->top_k;
    /* probabilities of the survivors at this temperature, reusing the logits array */
    float *pr = s->logits;
    float mx = s->cands[0].logit;
    double sum = 0;
    for (int i = 0; i < nc; i++) {
        pr[i] = expf((s->cands[i].logit - mx) / c->temperature);
        sum += pr[i];
    }
    if (c->min_p > 0) {
        /* pr[0] is the most likely candidate's unnormalised probability */
        float floor_p = c->min_p * pr[0];
        int keep = 1;
        while (keep < nc && pr[keep] >= floor_p)
            keep++;
        for (int i = keep; i < nc; i++)
            sum -= pr[i];
        nc = keep;
    }
    if (c->top_p < 1.0f) {
        double cum = 0, limit = c->top_p * sum;
        int keep = 0;
        while (keep < nc) {
            cum += pr[keep++];
            if (cum >= limit)
                break;
        }
        sum = cum;
        nc = keep;
    }
    double r = (double)tx_rng_float(&s->rng) * sum, acc = 0;
    for (int i = 0; i < nc; i++) {
        acc += pr[i];
        if (r < acc) {
            *out = s->cands[i].id;
            return TX_OK;
        }
    }
    *out = s->cands[nc - 1].id;   /* rounding left r at the very top */
    return TX_OK;
}
