/* fuzz-safetensors.c: the libFuzzer target for the safetensors reader and the checkpoint loader
 * (tx_safetensors_parse, tx_model_load_memory), also linked with fuzz-main.c into a plain regression
 * runner over the seed corpus safetensors-seeds/.
 *
 * Any input must give either a handle whose tensors all lie inside the input and tile its data, or a
 * failure with a NULL handle and a message that names the input; a loaded model must hold only finite
 * parameters. Anything else aborts. Not a test of the values: test-model-io does that. */
#include "model.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bad_failure(const char *what, int rc, const tx_error *err)
{
    fprintf(stderr, "fuzz-safetensors: %s: bad failure report (%d): %s\n", what, rc, err->msg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tx_safetensors *st = (tx_safetensors *)&st;   /* must be overwritten */
    tx_error err;
    int rc = tx_safetensors_parse(data, size, "fuzz.safetensors", &st, &err);
    if (rc == TX_OK) {
        size_t total = 0;
        for (size_t i = 0; i < st->n_tensors; i++) {
            const tx_st_tensor *t = &st->tensors[i];
            const uint8_t *p = t->data;
            if (p < data || p + t->nbytes > data + size || t->nbytes % tx_st_dtype_size(t->dtype))
                abort();
            total += t->nbytes;
            if (t->nbytes) {   /* touch the first and last byte so a sanitizer sees a bad range */
                volatile uint8_t x = p[0] ^ p[t->nbytes - 1];
                (void)x;
            }
        }
        if (total > size)
            abort();
        for (size_t i = 0; i < st->n_meta; i++)
            if (!st->meta_keys[i] || !st->meta_values[i])
                abort();
        tx_safetensors_free(st);
    } else if (st != NULL || err.code != rc || strncmp(err.msg, "fuzz.safetensors", 16) != 0) {
        bad_failure("parse", rc, &err);
    }

    tx_model *m = (tx_model *)&m;
    rc = tx_model_load_memory(data, size, "fuzz.safetensors", &m, &err);
    if (rc == TX_OK) {
        const float *p = tx_model_param_data(m);
        for (size_t i = 0; i < tx_model_num_params(m); i++)
            if (!isfinite(p[i]))
                abort();
        tx_model_free(m);
    } else if (m != NULL || err.code != rc || strncmp(err.msg, "fuzz.safetensors", 16) != 0) {
        bad_failure("load", rc, &err);
    }
    return 0;
}
