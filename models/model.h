/* model.h: the decoder-only transformer (Llama-style), its training step, its optimizer, and the
 * basics of generation (KV cache, single-token decoding, samplers).
 *
 * The model: token embedding, n_layers blocks of (RMSNorm, causal multi-head attention with rotary
 * position embedding and optional grouped-query heads, residual; RMSNorm, SwiGLU MLP, residual), a final
 * RMSNorm and an output projection (tied to the embedding or not). No biases, no dropout. Float32
 * parameters live in one allocation with named views (llm.c style), gradients in a second, optimizer
 * state in a third. Weights use PyTorch's nn.Linear layout (out, in), so a checkpoint maps one to one
 * onto a PyTorch module. Every matrix product goes through tx_matmul() (OpenBLAS, or plain loops for
 * tests).
 *
 * This is not a tensor library and not a data loader: it takes token ids and gives logits, a loss and
 * gradients. Checkpoint files are models/safetensors.h.
 *
 * Ownership: tx_model_new() / tx_model_load() return a model the caller frees with tx_model_free();
 * pointers into it (parameters, gradients, logits) are borrowed and valid until the next call that
 * changes its batch shape, or until it is freed. Optimizers and samplers follow the same new/free pairing.
 */
#ifndef TX_MODEL_H
#define TX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"
#include "memory.h"

/* ---- configuration ---- */

/* Limits a configuration may not pass (hostile configs and checkpoints are refused, not allocated). */
#define TX_MODEL_MAX_VOCAB (1 << 20)
#define TX_MODEL_MAX_CONTEXT (1 << 16)
#define TX_MODEL_MAX_DIM (1 << 14)
#define TX_MODEL_MAX_LAYERS 256
#define TX_MODEL_MAX_PARAMS ((size_t)1 << 31)   /* floats */

typedef struct tx_model_config {
    int vocab_size;    /* "vocab" */
    int context;       /* "context": the longest sequence (rotary tables and KV cache size) */
    int d_model;       /* "d_model" */
    int n_layers;      /* "layers" */
    int n_heads;       /* "heads" */
    int n_kv_heads;    /* "kv_heads" (defaults to heads; heads must be a multiple of it) */
    int d_ff;          /* "d_ff" (defaults to 8/3 d_model rounded up to a multiple of 32) */
    int tied;          /* "tied": the output projection is the embedding matrix */
    float rope_theta;  /* "rope_theta", 10000 */
    float norm_eps;    /* "norm_eps", 1e-5 */
} tx_model_config;

/* Fills c with the defaults for the given sizes (kv_heads = heads, d_ff from d_model, untied). */
TX_API void tx_model_config_default(tx_model_config *c, int vocab, int context, int d_model, int layers,
                                    int heads);
/* Checks a configuration against the rules and limits above; the message names `name`. */
TX_API int tx_model_config_check(const tx_model_config *c, const char *name, tx_error *err);
/* Reads a configuration from a JSON object (keys as quoted above; "dropout" must be 0 when present). */
TX_API int tx_model_config_from_json(const tx_json *j, const char *name, tx_model_config *c,
                                     tx_error *err);
/* Parses JSON text (a config file or checkpoint metadata) into c. */
TX_API int tx_model_config_parse(const char *text, size_t len, const char *name, tx_model_config *c,
                                 tx_error *err);
/* Appends c as one JSON object. */
TX_API int tx_model_config_to_json(const tx_model_config *c, tx_buf *b);
/* The number of float parameters of a (checked) configuration. */
TX_API size_t tx_model_config_params(const tx_model_config *c);

/* ---- the model ---- */

/* Named views into one parameter (or gradient) allocation. Shapes in comments: L layers, D d_model,
 * Q = heads * head_dim (= D), K = kv_heads * head_dim, C = Q + 2K, F = d_ff, V = vocab. */
typedef struct tx_model_params {
    float *tok_emb;     /* (V, D) */
    float *attn_norm;   /* (L, D) */
    float *wqkv;        /* (L, C, D): per layer wq (Q, D), then wk (K, D), then wv (K, D) */
    float *wo;          /* (L, D, Q) */
    float *mlp_norm;    /* (L, D) */
    float *w13;         /* (L, 2F, D): per layer w1 (gate, F x D), then w3 (up, F x D) */
    float *w2;          /* (L, D, F) */
    float *final_norm;  /* (D) */
    float *out;         /* (V, D); the same pointer as tok_emb when tied */
} tx_model_params;

/* One named tensor of the model, as a checkpoint stores it. */
typedef struct tx_model_tensor {
    char name[64];      /* "layers.3.attention.wq.weight" */
    size_t offset;      /* in floats, from the start of the parameters */
    int ndim;
    int64_t shape[2];
    int decay;          /* 1 for matrices (weight decay applies), 0 for norm gains */
} tx_model_tensor;

typedef struct tx_model tx_model;

/* A new model with parameters set to zero (call tx_model_init or load weights). Caller frees. */
TX_API int tx_model_new(const tx_model_config *c, tx_model **out, tx_error *err);
TX_API void tx_model_free(tx_model *m);
/* Random initialisation under a seed: N(0, 0.02) for matrices, N(0, 0.02 / sqrt(2 L)) for the
 * projections into the residual stream (wo, w2), ones for norm gains. */
TX_API void tx_model_init(tx_model *m, uint64_t seed);

TX_API const tx_model_config *tx_model_get_config(const tx_model *m);
TX_API size_t tx_model_num_params(const tx_model *m);
/* The flat parameters and gradients (borrowed), and their named views. */
TX_API float *tx_model_param_data(tx_model *m);
TX_API float *tx_model_grad_data(tx_model *m);
TX_API const tx_model_params *tx_model_param_views(const tx_model *m);
TX_API const tx_model_params *tx_model_grad_views(const tx_model *m);
/* The checkpoint tensors, in storage order (n of them). Borrowed. */
TX_API const tx_model_tensor *tx_model_tensors(const tx_model *m, size_t *n);

/* Forward pass over b sequences of t tokens (inputs (b, t)). When targets is not NULL (b, t; a target
 * below 0 is ignored), *loss receives the mean cross-entropy over the counted targets and the pass keeps
 * what backward needs. Ids outside the vocabulary and t beyond the context are refused. */
TX_API int tx_model_forward(tx_model *m, const int32_t *inputs, const int32_t *targets, int b, int t,
                            float *loss, tx_error *err);
/* The logits (b, t, V) of the last forward pass. Borrowed; tx_model_backward() overwrites them. */
TX_API const float *tx_model_logits(const tx_model *m);
TX_API void tx_model_zero_grad(tx_model *m);
/* Backward pass of the last forward with targets: adds scale * d(loss)/d(parameters) to the gradients
 * (scale 1 for one batch, 1/n to accumulate n micro-batches). */
TX_API int tx_model_backward(tx_model *m, float scale, tx_error *err);

/* ---- the matrix-product seam ---- */

/* c (m, n) = alpha * op(a) op(b) + beta * c, row-major with leading dimensions lda, ldb, ldc; op(a) is
 * (m, k): a is (m, k), or (k, m) when ta; op(b) is (k, n): b is (k, n), or (n, k) when tb. */
TX_API void tx_matmul(float *c, const float *a, const float *b, int m, int n, int k, int ta, int tb,
                      float alpha, float beta, int lda, int ldb, int ldc);
/* on = 1 routes tx_matmul and the decoder's matrix-vector products through plain loops (tests); 0 back
 * to OpenBLAS. Process-wide; set it before work starts. */
TX_API void tx_matmul_use_reference(int on);

/* ---- optimizer: AdamW with decoupled weight decay and bias correction ---- */

typedef struct tx_adamw_config {
    float lr;            /* peak learning rate */
    float min_lr;        /* the cosine schedule's floor */
    float beta1, beta2, eps;
    float weight_decay;  /* decoupled: p -= lr * wd * p, on matrices only */
    float grad_clip;     /* global-norm clipping; 0 = off */
    long warmup_steps;   /* linear warmup from lr / warmup_steps */
    long total_steps;    /* cosine decay to min_lr by this step; 0 = constant after warmup */
} tx_adamw_config;

typedef struct tx_adamw tx_adamw;

/* lr 3e-4, min_lr 3e-5, betas (0.9, 0.95), eps 1e-8, weight decay 0.1, clip 1.0, no schedule. */
TX_API void tx_adamw_config_default(tx_adamw_config *c);
/* An optimizer for the parameters of m (decay applies to the tensors that tx_model_tensors() marks).
 * Caller frees with tx_adamw_free(). */
TX_API int tx_adamw_new(const tx_adamw_config *c, const tx_model *m, tx_adamw **out, tx_error *err);
TX_API void tx_adamw_free(tx_adamw *o);
/* The learning rate at step (0-based): warmup, then cosine from lr to min_lr. */
TX_API float tx_adamw_lr(const tx_adamw_config *c, long step);
/* Scales g (n) so that its global L2 norm is at most max_norm (0 = off); returns the norm before. */
TX_API float tx_grad_clip(float *g, size_t n, float max_norm);
/* One update of m's parameters from its gradients: clip, schedule, AdamW. *norm (may be NULL) gets
 * the gradient norm before clipping. A non-finite gradient norm is refused and nothing changes. */
TX_API int tx_adamw_step(tx_adamw *o, tx_model *m, float *norm, tx_error *err);
/* The step counter (updates done) and the moment arrays m and v (n floats each; borrowed), for saving
 * and restoring the state exactly. */
TX_API long tx_adamw_get_step(const tx_adamw *o);
TX_API void tx_adamw_set_step(tx_adamw *o, long step);
TX_API float *tx_adamw_moments(tx_adamw *o, int which, size_t *n);

/* ---- generation: KV cache and single-token decoding ---- */

/* Runs the prompt (n tokens, starting at position 0, n <= context) through the batched forward pass,
 * fills the KV cache, and points *logits (V, borrowed) at the last position's logits. */
TX_API int tx_model_prefill(tx_model *m, const int32_t *tokens, int n, const float **logits,
                            tx_error *err);
/* Feeds one token at position pos (the cache must hold positions 0 .. pos-1) with matrix-vector
 * kernels and points *logits (V, borrowed) at its logits. */
TX_API int tx_model_decode(tx_model *m, int32_t token, int pos, const float **logits, tx_error *err);

/* ---- samplers ---- */

typedef struct tx_sampler_config {
    float temperature;         /* 0 = greedy (argmax) */
    int top_k;                 /* 0 = off */
    float top_p;               /* 1 = off */
    float min_p;               /* 0 = off: drop tokens below min_p * p(max) */
    float repetition_penalty;  /* 1 = off: logits of tokens in the recent window are divided (>0) or
                                  multiplied (<0) by it, as in CTRL and llama.cpp */
    int penalty_window;        /* how many recent tokens the penalty looks at; 0 = all */
    uint64_t seed;
} tx_sampler_config;

/* A grammar's mask: given the n ids so far, set allowed[i] = 0 for every id i (of vocab) that may not
 * come next (allowed starts all ones). Returns TX_OK, or a status that stops sampling. */
typedef int (*tx_mask_fn)(void *ud, const int32_t *ids, size_t n, uint8_t *allowed, int vocab);

typedef struct tx_sampler tx_sampler;

/* temperature 1, top_k 0, top_p 1, min_p 0, penalty 1, window 64, seed 0. */
TX_API void tx_sampler_config_default(tx_sampler_config *c);
TX_API int tx_sampler_new(const tx_sampler_config *c, int vocab, tx_sampler **out, tx_error *err);
TX_API void tx_sampler_free(tx_sampler *s);
/* Picks the next id from logits (vocab; not changed) given the history (n ids). A mask that leaves no
 * id allowed is an error (TX_EMODEL). */
TX_API int tx_sampler_sample(tx_sampler *s, const float *logits, const int32_t *history, size_t n,
                             tx_mask_fn mask, void *ud, int32_t *out, tx_error *err);

/* Continues a prompt (n_prompt >= 1 ids): prefill, then up to n_new sampled ids, each fed back through
 * the KV cache (n_prompt + n_new <= context). out (room for n_prompt + n_new ids) receives the prompt
 * and what followed; *n_out their count. Sampling stops after an id equal to stop (when stop >= 0). */
TX_API int tx_model_generate(tx_model *m, tx_sampler *s, const int32_t *prompt, int n_prompt, int n_new,
                             int32_t stop, tx_mask_fn mask, void *ud, int32_t *out, int *n_out,
                             tx_error *err);

/* ---- training data: corpus shards (corpora/corpus.h writes them) ---- */

/* A shard is NAME.json (tokenizer, vocab_size, dtype uint16 or uint32, documents as [offset, count, ...])
 * beside NAME.bin (the ids, little-endian, documents back to back). */
typedef struct tx_shard tx_shard;

/* Opens a shard from its .json path (the .bin is found beside it), checking the header, the data's
 * size, the document ranges and every id against the vocabulary. Caller frees. */
TX_API int tx_shard_open(const char *json_path, tx_shard **out, tx_error *err);
TX_API void tx_shard_free(tx_shard *s);
TX_API int tx_shard_vocab(const tx_shard *s);
TX_API size_t tx_shard_documents(const tx_shard *s);
TX_API size_t tx_shard_tokens(const tx_shard *s);

/* Training batches: b windows of t + 1 tokens, each inside one document (chosen with probability
 * proportional to its length) with bos (when >= 0) in front of the document, so a window that starts
 * at the document's beginning starts with bos. Inputs are the first t tokens, targets the last t;
 * windows shorter than t + 1 (short documents) are padded with inputs 0 and targets -1 (ignored). The
 * batch is a function of (seed, step) alone, so a resumed run sees the same data. */
TX_API void tx_shard_batch(const tx_shard *s, int b, int t, int32_t bos, uint64_t seed, long step,
                           int32_t *inputs, int32_t *targets);
/* Fill-in-the-middle (as code models and the Anticipatory Music Transformer train): with probability
 * rate a row becomes PRE prefix SUF suffix MID middle (or, with spm, SUF suffix PRE prefix MID middle,
 * where the middle follows the prefix directly), where prefix middle suffix is a window of t - 3
 * tokens and the middle a run of whole bars; targets that are sentinels are ignored. Rows whose window
 * holds no bar token stay plain. With max_bars 0 the middle starts at any bar token and ends at a later
 * one or at the window's end, uniformly (the suffix is then often empty); with max_bars N > 0 it is 1..N
 * whole bars followed by a suffix that starts with a bar token, as `tactus infill` asks, except in one
 * row in eight, where it runs to the window's end (the piece's last bars). */
#define TX_FIM_PREFIX "FIM_Prefix"
#define TX_FIM_SUFFIX "FIM_Suffix"
#define TX_FIM_MIDDLE "FIM_Middle"
typedef struct tx_fim {
    float rate;                      /* 0..1: the share of rows rewritten */
    int32_t prefix, suffix, middle;  /* the sentinel ids (beyond the tokenizer's vocabulary) */
    int32_t bar;                     /* the tokenizer's bar id */
    int max_bars;                    /* 0: any span; N: 1..N bars with a suffix after them (see above) */
    float repeat;                    /* 0..1: the share of the other rows where 1..4 whole bars are played
                                      * twice in a row, as at a repeat sign (teaches copying) */
    int spm;                         /* 1: the order SUF suffix PRE prefix MID middle instead */
} tx_fim;

/* tx_shard_batch with fill-in-the-middle and repeated rows (fim may be NULL, or both rates 0: the same
 * batches as tx_shard_batch). */
TX_API int tx_shard_batch_fim(const tx_shard *s, int b, int t, int32_t bos, const tx_fim *fim, uint64_t seed,
                              long step, int32_t *inputs, int32_t *targets, tx_error *err);
/* Evaluation: every token of every document is a target exactly once. *cursor (start at 0) walks the
 * shard; fills up to b rows and returns how many were filled (0 when the shard is done); unfilled rows
 * have all targets -1. */
TX_API int tx_shard_eval_batch(const tx_shard *s, int b, int t, int32_t bos, uint64_t *cursor,
                               int32_t *inputs, int32_t *targets);

/* Mean cross-entropy of m over every target of the shard, in evaluation windows of b x t
 * (tx_shard_eval_batch); *tokens (may be NULL) receives the number of targets. Perplexity is exp(*loss),
 * bits per token *loss / ln 2. */
TX_API int tx_model_evaluate(tx_model *m, const tx_shard *s, int b, int t, int32_t bos, double *loss,
                             size_t *tokens, tx_error *err);

/* ---- checkpoints (safetensors; see models/safetensors.h for the format) ---- */

/* Writes m's parameters, its configuration (metadata "tactus.config") and the given extra metadata
 * pairs (keys[i] = values[i], n of them; for example the tokenizer) to path, atomically. When o is not
 * NULL the optimizer state goes too ("optim.m", "optim.v", metadata "tactus.optim.step"). */
TX_API int tx_model_save(const tx_model *m, const tx_adamw *o, const char *const *keys,
                         const char *const *values, size_t n, const char *path, tx_error *err);
/* Writes m's weights alone (no optimizer state) stored as dtype: TX_ST_F32, TX_ST_F16 or TX_ST_BF16
 * (models/safetensors.h; rounded to nearest even), with the configuration and the extra metadata, as
 * tx_model_save does. A weight beyond F16's range is an error (TX_ELIMIT). */
TX_API int tx_model_save_weights(const tx_model *m, int dtype, const char *const *keys,
                                 const char *const *values, size_t n, const char *path, tx_error *err);
/* Reads a checkpoint into a new model (caller frees). Every tensor is checked (name, dtype F32, F16 or
 * BF16, which are widened to F32, shape, finite values). */
TX_API int tx_model_load(const char *path, tx_model **out, tx_error *err);
/* The same from len bytes in memory (borrowed; name is used in messages). */
TX_API int tx_model_load_memory(const uint8_t *data, size_t len, const char *name, tx_model **out,
                                tx_error *err);
/* The largest checkpoint file tx_model_load() reads. */
#define TX_MODEL_MAX_FILE ((size_t)1 << 36)
/* Restores optimizer state saved with the model in path into o (made for the same model). */
TX_API int tx_adamw_load(tx_adamw *o, const char *path, tx_error *err);

#endif
