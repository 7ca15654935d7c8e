/* test-model-io.c: safetensors files and model checkpoints.
 *
 * The writer and reader round-trip tensors and metadata; the reader refuses each kind of hostile file
 * with a clear error (huge or overlong header length, offsets out of range, overlapping, misaligned or
 * uncovered ranges, shape/dtype disagreement, unknown dtypes, repeated names), every truncation of a
 * real checkpoint, and random corruption without crashing; checkpoints restore the model bit for bit,
 * refuse NaN weights and mismatched shapes, and optimizer state saved and restored resumes training
 * exactly. Files are written in the working directory under names ending in .tmp.safetensors.
 */
#include "harness.h"

#include <math.h>
#include <unistd.h>

#include "model-priv.h"
#include "model.h"
#include "safetensors.h"

/* A file made of an 8-byte length, the header text, and n_data bytes of data (values 1, 2, 3 ...). */
static uint8_t *make_file(const char *header, size_t n_data, uint64_t claimed_len, size_t *len)
{
    size_t hl = strlen(header);
    *len = 8 + hl + n_data;
    uint8_t *b = malloc(*len);
    uint64_t L = claimed_len ? claimed_len : hl;
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(L >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < n_data; i++)
        b[8 + hl + i] = (uint8_t)(i + 1);
    return b;
}

static void expect_error(const char *header, size_t n_data, uint64_t claimed, int code, const char *words)
{
    size_t len;
    uint8_t *b = make_file(header, n_data, claimed, &len);
    tx_safetensors *st = (tx_safetensors *)1;
    tx_error e;
    tx_error_clear(&e);
    int rc = tx_safetensors_parse(b, len, "bad.safetensors", &st, &e);
    if (rc != code || !strstr(e.msg, words))
        fprintf(stderr, "  header %s: got %d \"%s\"\n", header, rc, e.msg);
    CHECK_INT(rc, code);
    CHECK(st == NULL);
    CHECK(strncmp(e.msg, "bad.safetensors", 15) == 0);
    CHECK(strstr(e.msg, words) != NULL);
    free(b);
}

static void test_safetensors_roundtrip(void)
{
    float a[6] = {1, 2, 3, 4, 5, 6};
    int32_t b[3] = {-1, 0, 70000};
    uint8_t c[3] = {9, 8, 7};
    tx_st_tensor t[3] = {
        {"alpha", TX_ST_F32, 2, {2, 3}, a, sizeof a},
        {"beta \"quoted\"", TX_ST_I32, 1, {3}, b, sizeof b},
        {"gamma", TX_ST_U8, 1, {3}, c, sizeof c},
    };
    const char *keys[2] = {"note", "tokenizer"}, *vals[2] = {"line\nbreak", "{\"kind\": \"remi\"}"};
    tx_buf buf = TX_BUF_INIT;
    tx_error e;
    CHECK_INT(tx_safetensors_encode(&buf, t, 3, keys, vals, 2, &e), TX_OK);
    /* header length little-endian, data 8-aligned */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (uint8_t)buf.data[i];
    CHECK_INT((8 + hl) % 8, 0);
    CHECK_INT(buf.len, 8 + hl + sizeof a + sizeof b + sizeof c);
    CHECK(strstr(buf.data + 8, "\"format\":\"pt\"") != NULL);
    tx_safetensors *st;
    CHECK_INT(tx_safetensors_parse((const uint8_t *)buf.data, buf.len, "rt", &st, &e), TX_OK);
    CHECK_INT(st->n_tensors, 3);
    const tx_st_tensor *x = tx_safetensors_find(st, "alpha");
    CHECK(x && x->dtype == TX_ST_F32 && x->ndim == 2 && x->shape[0] == 2 && x->shape[1] == 3);
    CHECK(x && memcmp(x->data, a, sizeof a) == 0);
    x = tx_safetensors_find(st, "beta \"quoted\"");
    CHECK(x && x->dtype == TX_ST_I32 && memcmp(x->data, b, sizeof b) == 0);
    x = tx_safetensors_find(st, "gamma");
    CHECK(x && x->nbytes == 3 && memcmp(x->data, c, 3) == 0);
    CHECK_STR(tx_safetensors_meta(st, "format"), "pt");
    CHECK_STR(tx_safetensors_meta(st, "note"), "line\nbreak");
    CHECK_STR(tx_safetensors_meta(st, "tokenizer"), "{\"kind\": \"remi\"}");
    CHECK(tx_safetensors_meta(st, "absent") == NULL);
    tx_safetensors_free(st);
    tx_buf_free(&buf);
    /* the writer refuses a size that disagrees with the shape, and repeated names */
    t[0].nbytes = 20;
    CHECK_INT(tx_safetensors_encode(&buf, t, 3, NULL, NULL, 0, &e), TX_EINVAL);
    t[0].nbytes = sizeof a;
    t[1].name = "alpha";
    CHECK_INT(tx_safetensors_encode(&buf, t, 3, NULL, NULL, 0, &e), TX_EINVAL);
    tx_buf_free(&buf);
}

static void test_safetensors_hostile(void)
{
    size_t len;
    tx_error e;
    tx_safetensors *st;
    uint8_t tiny[5] = {1, 0, 0, 0, 0};
    CHECK_INT(tx_safetensors_parse(tiny, 5, "bad.safetensors", &st, &e), TX_EMODEL);
    expect_error("{}", 0, (uint64_t)1 << 62, TX_ELIMIT, "exceeds the limit");
    expect_error("{}", 0, 4000, TX_EMODEL, "past the end");
    expect_error("[1]", 0, 0, TX_EMODEL, "start with '{'");
    expect_error("  {}", 0, 0, TX_EMODEL, "start with '{'");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0, TX_EMODEL,
                 "outside the 8 data bytes");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, 0, TX_EMODEL,
                 "outside");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, 0, TX_EMODEL,
                 "overlaps");
    expect_error("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 6, 0, TX_EMODEL,
                 "not aligned");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0, TX_EMODEL,
                 "do not hold");
    expect_error("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, TX_EMODEL,
                 "unknown");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, 0, TX_EMODEL,
                 "belong to no tensor");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0, TX_EMODEL,
                 "belong to no tensor");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, 0, TX_EMODEL,
                 "appears twice");
    expect_error("{\"__metadata__\":{\"format\":1}}", 0, 0, TX_EMODEL, "not a string");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, 0, TX_EMODEL,
                 "shape");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],"
                 "\"data_offsets\":[0,0]}}", 0, 0, TX_EMODEL, "do not hold");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0,
                 TX_EMODEL, "at most 8");
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, 0, TX_EMODEL,
                 "two integers");
    expect_error("{\"a\":7}", 0, 0, TX_EMODEL, "not an object");
    /* a JSON syntax error keeps the JSON reader's place */
    size_t n;
    uint8_t *b = make_file("{\"a\":", 0, 0, &n);
    CHECK(tx_safetensors_parse(b, n, "bad.safetensors", &st, &e) != TX_OK);
    CHECK(strncmp(e.msg, "bad.safetensors", 15) == 0);
    free(b);
    /* empty and zero-size tensors are fine */
    b = make_file("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}", 0, 0, &len);
    CHECK_INT(tx_safetensors_parse(b, len, "ok", &st, &e), TX_OK);
    tx_safetensors_free(st);
    free(b);
}

static tx_model *small_model(int tied, uint64_t seed)
{
    tx_model_config c;
    tx_model_config_default(&c, 13, 16, 8, 2, 2);
    c.n_kv_heads = 1;
    c.tied = tied;
    tx_model *m;
    tx_error e;
    CHECK_INT(tx_model_new(&c, &m, &e), TX_OK);
    tx_model_init(m, seed);
    return m;
}

static const char *ckpt = "test-model-io-1.tmp.safetensors";
static const char *ckpt2 = "test-model-io-2.tmp.safetensors";

static void test_checkpoint_roundtrip(void)
{
    for (int tied = 0; tied < 2; tied++) {
        tx_model *m = small_model(tied, 11), *r = NULL;
        tx_error e;
        const char *k[1] = {"tokenizer"}, *v[1] = {"{\"name\": \"test\"}"};
        CHECK_INT(tx_model_save(m, NULL, k, v, 1, ckpt, &e), TX_OK);
        CHECK_INT(tx_model_load(ckpt, &r, &e), TX_OK);
        if (!r)
            continue;
        CHECK(memcmp(tx_model_get_config(m), tx_model_get_config(r), sizeof(tx_model_config)) == 0);
        CHECK_INT(tx_model_num_params(r), tx_model_num_params(m));
        CHECK(memcmp(tx_model_param_data(m), tx_model_param_data(r),
                     tx_model_num_params(m) * sizeof(float)) == 0);
        int32_t in[5] = {1, 2, 3, 4, 12};
        CHECK_INT(tx_model_forward(m, in, NULL, 1, 5, NULL, &e), TX_OK);
        CHECK_INT(tx_model_forward(r, in, NULL, 1, 5, NULL, &e), TX_OK);
        CHECK(memcmp(tx_model_logits(m), tx_model_logits(r), 5 * 13 * sizeof(float)) == 0);
        tx_safetensors *st;
        CHECK_INT(tx_safetensors_read(ckpt, 1 << 24, &st, &e), TX_OK);
        CHECK_STR(tx_safetensors_meta(st, "tokenizer"), "{\"name\": \"test\"}");
        CHECK_STR(tx_safetensors_meta(st, "format"), "pt");
        CHECK(tx_safetensors_meta(st, "tactus.config") != NULL);
        CHECK((tx_safetensors_find(st, "output.weight") != NULL) == !tied);
        CHECK(tx_safetensors_find(st, "layers.1.feed_forward.w3.weight") != NULL);
        tx_safetensors_free(st);
        tx_model_free(m);
        tx_model_free(r);
    }
}

/* Half-precision weights: stored as F16 or BF16 (rounded to nearest even), widened back on load within
 * half an ulp; special values land on the right bit patterns; a weight beyond F16 is refused. */
static void test_half_weights(void)
{
    static const struct { int dtype; double rel; } kinds[2] = {{TX_ST_F16, 1.0 / 2048}, {TX_ST_BF16, 1.0 / 256}};
    for (int kind = 0; kind < 2; kind++) {
        tx_model *m = small_model(1, 21), *r = NULL;
        float *p = tx_model_param_data(m);
        /* chosen values: F16 patterns 0x3c00 (1), 0x7bff (65504), 0x0001 (2^-24, subnormal), 0x3c00 (a tie
         * 1 + 2^-11 rounds to even), 0xc000 (-2), 0x0000 (2^-26 underflows) */
        p[0] = 1.0f;
        p[1] = kind == 0 ? 65504.0f : 3.0e38f;
        p[2] = ldexpf(1.0f, -24);
        p[3] = 1.0f + ldexpf(1.0f, -11);
        p[4] = -2.0f;
        p[5] = ldexpf(1.0f, -26);
        tx_error e;
        CHECK_INT(tx_model_save_weights(m, kinds[kind].dtype, NULL, NULL, 0, ckpt, &e), TX_OK);
        tx_safetensors *st;
        CHECK_INT(tx_safetensors_read(ckpt, 1 << 24, &st, &e), TX_OK);
        const tx_st_tensor *t = st ? tx_safetensors_find(st, "tok_embeddings.weight") : NULL;
        CHECK(t && t->dtype == kinds[kind].dtype && t->nbytes == 13 * 8 * 2);
        CHECK(st && tx_safetensors_find(st, "optim.m") == NULL);
        if (t && kind == 0) {
            const uint8_t *b = t->data;
            static const uint16_t want[6] = {0x3c00, 0x7bff, 0x0001, 0x3c00, 0xc000, 0x0000};
            for (int i = 0; i < 6; i++)
                CHECK_INT(b[2 * i] | b[2 * i + 1] << 8, want[i]);
        }
        tx_safetensors_free(st);
        CHECK_INT(tx_model_load(ckpt, &r, &e), TX_OK);
        if (r) {
            const float *q = tx_model_param_data(r);
            int far = 0;
            for (size_t i = 6; i < tx_model_num_params(m); i++)
                far += fabs((double)q[i] - p[i]) > kinds[kind].rel * fabs((double)p[i]) + 1e-7;
            CHECK_INT(far, 0);
            CHECK(q[0] == 1.0f && q[4] == -2.0f && q[3] == 1.0f);
            if (kind == 0)
                CHECK(q[1] == 65504.0f && q[2] == ldexpf(1.0f, -24) && q[5] == 0.0f);
        }
        tx_model_free(r);
        /* beyond F16: refused, nothing written */
        if (kind == 0) {
            unlink(ckpt);
            p[1] = 70000.0f;
            CHECK_INT(tx_model_save_weights(m, TX_ST_F16, NULL, NULL, 0, ckpt, &e), TX_ELIMIT);
            CHECK(strstr(e.msg, "does not fit F16") != NULL);
            CHECK(access(ckpt, F_OK) != 0);
            CHECK_INT(tx_model_save_weights(m, TX_ST_I32, NULL, NULL, 0, ckpt, &e), TX_EINVAL);
        }
        tx_model_free(m);
    }
    unlink(ckpt);
}

static void test_checkpoint_bad(void)
{
    tx_model *m = small_model(0, 3), *r = (tx_model *)1;
    tx_error e;
    /* a NaN weight */
    tx_model_param_data(m)[tx_model_param_views(m)->wo - tx_model_param_data(m) + 5] = NAN;
    CHECK_INT(tx_model_save(m, NULL, NULL, NULL, 0, ckpt, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt, &r, &e), TX_EMODEL);
    CHECK(r == NULL);
    CHECK(strstr(e.msg, "layers.0.attention.wo.weight") && strstr(e.msg, "not a finite number"));
    tx_model_free(m);

    /* a shape that disagrees with the configuration, and a dtype other than F32 */
    m = small_model(0, 3);
    tx_buf cfg = TX_BUF_INIT;
    tx_model_config_to_json(tx_model_get_config(m), &cfg);
    size_t nt;
    const tx_model_tensor *mt = tx_model_tensors(m, &nt);
    tx_st_tensor *t = calloc(nt, sizeof *t);
    for (size_t i = 0; i < nt; i++) {
        t[i].name = mt[i].name;
        t[i].dtype = TX_ST_F32;
        t[i].ndim = mt[i].ndim;
        t[i].shape[0] = mt[i].shape[0];
        t[i].shape[1] = mt[i].shape[1];
        t[i].data = tx_model_param_data(m) + mt[i].offset;
        t[i].nbytes = (size_t)mt[i].shape[0] * (size_t)(mt[i].ndim == 2 ? mt[i].shape[1] : 1) * 4;
    }
    const char *key = "tactus.config", *val = cfg.data;
    /* swap the two dimensions of wo (8 x 8 would not show it; wq is 8 x 8 too): use w2 (8 x F) */
    size_t w2 = 9;   /* layers.0.feed_forward.w2.weight */
    CHECK_STR(t[w2].name, "layers.0.feed_forward.w2.weight");
    int64_t s0 = t[w2].shape[0];
    t[w2].shape[0] = t[w2].shape[1];
    t[w2].shape[1] = s0;
    CHECK_INT(tx_safetensors_write(ckpt, t, nt, &key, &val, 1, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt, &r, &e), TX_EMODEL);
    CHECK(strstr(e.msg, "w2.weight") && strstr(e.msg, "shape"));
    t[w2].shape[1] = t[w2].shape[0];
    t[w2].shape[0] = s0;
    t[0].dtype = TX_ST_I32;
    CHECK_INT(tx_safetensors_write(ckpt, t, nt, &key, &val, 1, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt, &r, &e), TX_EMODEL);
    CHECK(strstr(e.msg, "tok_embeddings.weight is I32") || strstr(e.msg, "is I32, expected F32"));
    t[0].dtype = TX_ST_F32;
    /* a missing tensor; no configuration at all; a configuration larger than the file */
    CHECK_INT(tx_safetensors_write(ckpt, t, nt - 1, &key, &val, 1, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt, &r, &e), TX_EMODEL);
    CHECK(strstr(e.msg, "missing") || strstr(e.msg, "needs"));
    CHECK_INT(tx_safetensors_write(ckpt, t, nt, NULL, NULL, 0, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt, &r, &e), TX_EMODEL);
    CHECK(strstr(e.msg, "not a tactus checkpoint") != NULL);
    const char *huge = "{\"vocab\": 1000000, \"context\": 64, \"d_model\": 1024, \"layers\": 2, \"heads\": 8}";
    CHECK_INT(tx_safetensors_write(ckpt, t, nt, &key, &huge, 1, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt, &r, &e), TX_EMODEL);
    CHECK(strstr(e.msg, "the file holds") != NULL);
    CHECK_INT(tx_model_load("no-such-file.tmp.safetensors", &r, &e), TX_EIO);
    free(t);
    tx_buf_free(&cfg);
    tx_model_free(m);
}

/* Every prefix of a real checkpoint, and random corruption of it, is refused or loaded without a
 * crash (the sanitizer build turns any overread into a failure). */
static void test_checkpoint_truncated_and_corrupt(void)
{
    tx_model *m = small_model(1, 5), *r;
    tx_error e;
    CHECK_INT(tx_model_save(m, NULL, NULL, NULL, 0, ckpt, &e), TX_OK);
    uint8_t *data;
    size_t len;
    CHECK_INT(tx_read_file(ckpt, 1 << 24, &data, &len, &e), TX_OK);
    int refused = 0;
    for (size_t n = 0; n < len; n++) {
        int rc = tx_model_load_memory(data, n, "cut", &r, &e);
        refused += rc != TX_OK;
        tx_model_free(r);
    }
    CHECK_INT(refused, len);
    CHECK_INT(tx_model_load_memory(data, len, "whole", &r, &e), TX_OK);
    tx_model_free(r);
    tx_rng g;
    tx_rng_seed(&g, 99);
    uint8_t *copy = malloc(len);
    int loaded = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(copy, data, len);
        int flips = 1 + (int)(tx_rng_next(&g) % 4);
        for (int f = 0; f < flips; f++) {
            /* mostly in the header, where the checks are */
            size_t at = tx_rng_next(&g) % (i % 2 ? len : 8 + 600);
            copy[at] = (uint8_t)tx_rng_next(&g);
        }
        if (tx_model_load_memory(copy, len, "flip", &r, &e) == TX_OK)
            loaded++;
        tx_model_free(r);
    }
    printf("  corruption: %d of 3000 corrupted files still loaded (data bytes flipped)\n", loaded);
    CHECK(loaded < 3000);
    free(copy);
    tx_free(data);
    tx_model_free(m);
}

static void train_steps(tx_model *m, tx_adamw *o, int from, int to, float *losses)
{
    tx_error e;
    enum { B = 2, T = 8 };
    for (int s = from; s < to; s++) {
        int32_t in[B * T], tg[B * T];
        tx_rng g;
        tx_rng_seed(&g, 1000 + (uint64_t)s);   /* the batch depends on the step only */
        for (int i = 0; i < B * T; i++) {
            in[i] = (int32_t)(tx_rng_next(&g) % 13);
            tg[i] = (in[i] + 1) % 13;
        }
        tx_model_zero_grad(m);
        CHECK_INT(tx_model_forward(m, in, tg, B, T, &losses[s], &e), TX_OK);
        CHECK_INT(tx_model_backward(m, 1.0f, &e), TX_OK);
        CHECK_INT(tx_adamw_step(o, m, NULL, &e), TX_OK);
    }
}

static void test_exact_resume(void)
{
    tx_adamw_config oc;
    tx_adamw_config_default(&oc);
    oc.lr = 1e-2f;
    oc.warmup_steps = 2;
    oc.total_steps = 8;
    tx_error e;
    float la[8], lb[8];
    tx_model *a = small_model(0, 21), *b = small_model(0, 21), *c = NULL;
    tx_adamw *oa, *ob, *ocr;
    CHECK_INT(tx_adamw_new(&oc, a, &oa, &e), TX_OK);
    CHECK_INT(tx_adamw_new(&oc, b, &ob, &e), TX_OK);
    train_steps(a, oa, 0, 8, la);
    train_steps(b, ob, 0, 5, lb);
    CHECK_INT(tx_model_save(b, ob, NULL, NULL, 0, ckpt2, &e), TX_OK);
    CHECK_INT(tx_model_load(ckpt2, &c, &e), TX_OK);
    CHECK_INT(tx_adamw_new(&oc, c, &ocr, &e), TX_OK);
    CHECK_INT(tx_adamw_load(ocr, ckpt2, &e), TX_OK);
    CHECK_INT(tx_adamw_get_step(ocr), 5);
    train_steps(c, ocr, 5, 8, lb);
    CHECK(memcmp(la, lb, sizeof la) == 0);
    CHECK(memcmp(tx_model_param_data(a), tx_model_param_data(c), tx_model_num_params(a) * sizeof(float)) == 0);
    printf("  resume: losses %.5f .. %.5f, identical after restoring at step 5\n", (double)la[0],
           (double)la[7]);
    CHECK(la[7] < la[0]);   /* it learns the +1 mapping at least a little */
    /* a checkpoint without optimizer state cannot restore one */
    CHECK_INT(tx_model_save(b, NULL, NULL, NULL, 0, ckpt2, &e), TX_OK);
    CHECK_INT(tx_adamw_load(ocr, ckpt2, &e), TX_EMODEL);
    tx_adamw_free(oa);
    tx_adamw_free(ob);
    tx_adamw_free(ocr);
    tx_model_free(a);
    tx_model_free(b);
    tx_model_free(c);
}

/* ---- out of memory: every allocation in turn fails, and each failure is reported cleanly ---- */

static long fail_countdown = -1;   /* allocations left before the next one fails; -1: never */

static void *failing_realloc(void *ud, void *ptr, size_t size)
{
    (void)ud;
    if (fail_countdown == 0)
        return NULL;
    if (fail_countdown > 0)
        fail_countdown--;
    return realloc(ptr, size);
}

static void plain_free(void *ud, void *ptr)
{
    (void)ud;
    free(ptr);
}

static void test_out_of_memory(void)
{
    tx_model *m = small_model(0, 8);
    tx_adamw *o;
    tx_adamw_config oc;
    tx_error e;
    tx_adamw_config_default(&oc);
    CHECK_INT(tx_adamw_new(&oc, m, &o, &e), TX_OK);
    CHECK_INT(tx_model_save(m, o, NULL, NULL, 0, ckpt, &e), TX_OK);
    tx_allocator a = {failing_realloc, plain_free, NULL};
    tx_set_allocator(&a);
    int ok_at = -1, bad = 0;
    for (long n = 0; n < 400 && ok_at < 0; n++) {
        fail_countdown = n;
        tx_model *r = (tx_model *)1;
        tx_adamw *ro = NULL;
        int rc = tx_model_load(ckpt, &r, &e);
        if (rc == TX_OK)
            rc = tx_adamw_new(&oc, r, &ro, &e);
        if (rc == TX_OK)
            rc = tx_adamw_load(ro, ckpt, &e);
        int32_t in[4] = {1, 2, 3, 4}, tg[4] = {2, 3, 4, 5};
        const float *lg;
        if (rc == TX_OK)
            rc = tx_model_forward(r, in, tg, 1, 4, NULL, &e);
        if (rc == TX_OK)
            rc = tx_model_decode(r, 1, 0, &lg, &e);
        if (rc == TX_OK)
            ok_at = (int)n;
        else if (rc != TX_ENOMEM && rc != TX_EIO)
            bad++;
        else if (r == (tx_model *)1)
            bad++;   /* the output was never set */
        if (r != (tx_model *)1)
            tx_model_free(r);
        tx_adamw_free(ro);
    }
    fail_countdown = -1;
    tx_set_allocator(NULL);
    printf("  out of memory: every one of the first %d allocations failed in turn, all reported\n", ok_at);
    CHECK(ok_at > 5);
    CHECK_INT(bad, 0);
    tx_adamw_free(o);
    tx_model_free(m);
}

int main(void)
{
    RUN(test_safetensors_roundtrip);
    RUN(test_safetensors_hostile);
    RUN(test_checkpoint_roundtrip);
    RUN(test_half_weights);
    RUN(test_checkpoint_bad);
    RUN(test_checkpoint_truncated_and_corrupt);
    RUN(test_exact_resume);
    RUN(test_out_of_memory);
    unlink(ckpt);
    unlink(ckpt2);
    return tx_test_finish();
}
