/* ngram.h: an interpolated modified Kneser-Ney n-gram model over token ids, the baseline the
 * transformer's held-out figures are stated against, and a fast fallback model.
 *
 * Trained on a corpus shard (model.h) with the same view of the data the transformer has: every token of
 * every document is a target once, and its history is the document so far with order - 1 BOS tokens in
 * front, so documents never bleed into each other. Smoothing follows Chen & Goodman (1998): three
 * discounts D1, D2, D3+ per order from that order's count-of-counts, continuation counts (the number of
 * distinct left extensions) for every order below the highest, and interpolation all the way down to a
 * uniform distribution over the vocabulary, so no token ever gets probability zero.
 *
 * This is not a general language-model toolkit: no pruning, no ARPA files, no saving; the model lives
 * in memory for as long as it is used. N-grams are identified by a 64-bit hash of (length, ids), as
 * KenLM's probing tables do: two different n-grams sharing a hash would share their counts (about one
 * chance in 10^3 for a hundred million n-grams), which never breaks anything but the figures of those two.
 *
 * Ownership: tx_ngram_train() returns a model the caller frees with tx_ngram_free(); it keeps no pointer
 * into the shard.
 */
#ifndef TX_NGRAM_H
#define TX_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

#define TX_NGRAM_MAX_ORDER 8

typedef struct tx_ngram tx_ngram;

/* Counts the n-grams (1 .. order) of every document of s and computes the discounts. order is 1 ..
 * TX_NGRAM_MAX_ORDER; bos (the id padding each document's history) must lie in the shard's vocabulary.
 * Shards of 2^32 - 1 tokens or more are refused (TX_ELIMIT). Caller frees with tx_ngram_free(). */
TX_API int tx_ngram_train(const tx_shard *s, int order, int32_t bos, tx_ngram **out, tx_error *err);
TX_API void tx_ngram_free(tx_ngram *m);

/* The probability of token after the n ids of history (the last order - 1 of them count; a shorter
 * history is padded on the left with BOS, as at a document's start). Ids outside the vocabulary in the
 * history are treated as never seen; a token outside the vocabulary has probability 0. */
TX_API double tx_ngram_prob(const tx_ngram *m, const int32_t *history, size_t n, int32_t token);
/* The whole next-token distribution after history: probs (vocab floats) sums to 1. */
TX_API void tx_ngram_dist(const tx_ngram *m, const int32_t *history, size_t n, float *probs);

/* Mean cross-entropy in nats of m over exactly the targets tx_model_evaluate() counts: every token of
 * every document, bos as the first history. bos must be the one m was trained with, and the shard's
 * vocabulary no larger than m's. *tokens (may be NULL) receives the number of targets. */
TX_API int tx_ngram_evaluate(const tx_ngram *m, const tx_shard *s, int32_t bos, double *loss_nats,
                             size_t *tokens, tx_error *err);

TX_API int tx_ngram_order(const tx_ngram *m);
TX_API int tx_ngram_vocab(const tx_ngram *m);
/* The discount D_c (c = 1, 2, 3 for 3 or more) of order k (1 .. order). */
TX_API double tx_ngram_discount(const tx_ngram *m, int k, int c);
/* Distinct n-grams (and contexts) stored, and the bytes the model holds. */
TX_API size_t tx_ngram_entries(const tx_ngram *m);
TX_API size_t tx_ngram_bytes(const tx_ngram *m);

#endif
