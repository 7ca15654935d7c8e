/* bpe.h: byte-pair encoding over token ids: a trainer that learns merges from sequences of base ids,
 * and an encoder / decoder that applies them. Both tokenizers use it: REMI merges ids within bars
 * (as MidiTok does with Hugging Face `tokenizers`), the ABC text tokenizer merges characters within
 * bars. It is not a text tokenizer itself: it knows ids, not strings.
 *
 * Words. Merges never cross a word boundary. A sequence is cut into words before every id listed in
 * `split_before` (REMI: the Bar id, so each bar is a word, as MidiTok's default `encode_ids_split`
 * "bar"), and every id listed in `isolated` is a word of its own that is never merged (the special
 * tokens). Callers that know more boundaries (the ABC tokenizer's bar lines) pass each word, or each
 * bar, in its own call: a call's ends are always boundaries.
 *
 * Training follows Hugging Face's BpeTrainer: words are counted; a pair's count is the sum over words
 * of (word count) x (adjacent occurrences, overlapping ones included); each step merges the pair with
 * the highest count, ties broken by the lowest (left id, right id); a word is merged left to right
 * without overlaps ("a a a" with (a, a) gives "aa a"). Training stops at the target vocabulary size,
 * or when the best count falls below min_frequency, or when no pair is left. Deterministic.
 *
 * Ids. Base ids are 0 .. base_size - 1; the merge of rank k (k-th learned) makes id base_size + k, so
 * the vocabulary is base_size + n_merges. A model loaded from a Hugging Face tokenizer.json made
 * elsewhere (MidiTok) may number its tokens differently: then the file's ids are the encoded ids,
 * and base id b is the token whose string is the character U+(b + 33) (MidiTok's CHR_ID_START).
 *
 * Encoding is Hugging Face's BPE model: in each word, the adjacent pair of lowest merge rank is merged
 * first (the leftmost of equal ranks), until no adjacent pair has a merge. Decoding expands every id
 * back to its base ids, so decode(encode(x)) == x for every sequence of base ids.
 *
 * JSON: tx_bpe_save() writes the structure of a Hugging Face tokenizer.json ("model": {"type": "BPE",
 * "vocab": {string: id}, "merges": ["left right", ...]}) where a base id b is the one-character string
 * U+(b + 33) and a merged token is the concatenation of its parts; the word rule and base size go in
 * a top-level "tactus" object. tx_bpe_load() reads that, and also a file without the "tactus" object
 * (merges as "a b" strings or as ["a", "b"] pairs).
 *
 * Ownership: tx_bpe_trainer_new() / tx_bpe_train() / tx_bpe_load() return objects the caller frees
 * with tx_bpe_trainer_free() / tx_bpe_free(). A tx_bpe is read-only after it is made, so one model may
 * encode from several threads. A tx_bpe_ids owns its array until tx_bpe_ids_free().
 */
#ifndef TX_BPE_H
#define TX_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"

#define TX_BPE_CHR_START 33                          /* base id b <-> character U+(b + 33) */
#define TX_BPE_MAX_BASE (0xD800 - TX_BPE_CHR_START)  /* base ids stay below the surrogates */
#define TX_BPE_MAX_VOCAB (1 << 22)                   /* base plus merged tokens */
#define TX_BPE_MAX_JSON (512u << 20)                 /* tokenizer.json files read at most */

typedef struct tx_bpe tx_bpe;
typedef struct tx_bpe_trainer tx_bpe_trainer;

/* A growable array of ids. Encoding and decoding append to one. */
typedef struct tx_bpe_ids {
    int32_t *ids;
    size_t len, cap;
} tx_bpe_ids;

#define TX_BPE_IDS_INIT {NULL, 0, 0}
TX_API void tx_bpe_ids_free(tx_bpe_ids *v);

/* How a sequence is cut into words. The arrays are copied by whoever takes them. */
typedef struct tx_bpe_words {
    int base_size;                 /* base ids are 0 .. base_size - 1; 1 .. TX_BPE_MAX_BASE */
    const int32_t *split_before;   /* a word starts at each of these ids (REMI: Bar) */
    size_t n_split_before;
    const int32_t *isolated;       /* each of these ids is a word alone, never merged (specials) */
    size_t n_isolated;
} tx_bpe_words;

/* ---- training ---- */

typedef struct tx_bpe_train_options {
    int vocab_size;                /* target: base_size + merges; no merges when <= base_size */
    int64_t min_frequency;         /* stop when the best pair's count is below this (0 and 1: any) */
    int max_token_length;          /* longest merged token in base ids; 0: no limit */
} tx_bpe_train_options;

/* NULL with err set when the word rule is invalid (an id outside the base) or memory runs out. */
TX_API tx_bpe_trainer *tx_bpe_trainer_new(const tx_bpe_words *w, tx_error *err);
TX_API void tx_bpe_trainer_free(tx_bpe_trainer *t);
/* Counts the words of ids[0 .. n) (cut by the word rule; the call's ends are boundaries). An id
 * outside the base is TX_EINVAL naming its position. */
TX_API int tx_bpe_trainer_add(tx_bpe_trainer *t, const int32_t *ids, size_t n, tx_error *err);
/* Base tokens counted so far. */
TX_API uint64_t tx_bpe_trainer_tokens(const tx_bpe_trainer *t);
/* Learns merges from what was added (the trainer can be fed more and trained again). progress, when
 * not NULL, is called with (merges done, merges wanted) now and then. Caller frees *out with
 * tx_bpe_free(). */
TX_API int tx_bpe_train(tx_bpe_trainer *t, const tx_bpe_train_options *o,
                        void (*progress)(void *ud, size_t done, size_t total), void *ud,
                        tx_bpe **out, tx_error *err);

/* ---- the model ---- */

TX_API void tx_bpe_free(tx_bpe *b);
TX_API int tx_bpe_base_size(const tx_bpe *b);
TX_API int tx_bpe_vocab_size(const tx_bpe *b);
TX_API int tx_bpe_n_merges(const tx_bpe *b);
/* The parts of merge `rank` (0-based) and the id it makes; TX_EINVAL when rank is out of range. */
TX_API int tx_bpe_merge(const tx_bpe *b, int rank, int32_t *left, int32_t *right, int32_t *result);
/* How many base ids id stands for (1 for a base token), or 0 when id is not in the vocabulary. */
TX_API int tx_bpe_token_length(const tx_bpe *b, int32_t id);

/* Appends the encoding of base ids[0 .. n) to out (the call's ends are word boundaries). An id that
 * is not a base id is TX_EINVAL: "bpe: token 17: id 900 is not a base id". */
TX_API int tx_bpe_encode(const tx_bpe *b, const int32_t *ids, size_t n, tx_bpe_ids *out, tx_error *err);
/* Appends the base ids of ids[0 .. n) to out. An id outside the vocabulary is TX_EINVAL naming it
 * and its position. */
TX_API int tx_bpe_decode(const tx_bpe *b, const int32_t *ids, size_t n, tx_bpe_ids *out, tx_error *err);

/* ---- JSON ---- */

/* Appends the model as a Hugging Face style tokenizer.json (see the top of this file). */
TX_API int tx_bpe_save(const tx_bpe *b, tx_buf *out);
/* Parses a tokenizer.json (the whole file; `name` is for messages). Malformed or inconsistent files
 * are TX_ESYNTAX with the place: "bpe.json:1:40: merge 3: \"ab\" is not in the vocabulary".
 * Caller frees *out with tx_bpe_free(). */
TX_API int tx_bpe_load(const char *json, size_t len, const char *name, tx_bpe **out, tx_error *err);
/* Writes / reads a file (atomically; at most TX_BPE_MAX_JSON bytes). */
TX_API int tx_bpe_save_file(const tx_bpe *b, const char *path, tx_error *err);
TX_API int tx_bpe_load_file(const char *path, tx_bpe **out, tx_error *err);

#endif
