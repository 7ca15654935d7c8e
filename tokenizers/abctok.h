/* abctok.h: the ABC text tokenizer: ABC tune text to ids and back, for ABC language models.
 *
 * It works on the text, not on the music: a tune is normalised (below), written as one id per
 * character, cut into words at bar lines and line ends, and, when a BPE model is attached, merged
 * within those words (merges never cross a bar line, as in MuPT's and NotaGen's bar patching).
 * decode(encode(t)) == tx_abctok_normalize(t) for every text t. It is not an ABC parser
 * (tokenizers/abc.h reads the music) and it checks nothing about the music.
 *
 * Vocabulary (TX_ABCTOK_BASE_SIZE base ids): 0 PAD_None, 1 BOS_None, 2 EOS_None, 3 MASK_None,
 * 4 UNK_None (any character outside the vocabulary; it decodes as U+FFFD), 5 the newline, and
 * 6 + (c - 32) for each printable ASCII character c from ' ' (32) to '~' (126). BPE ids follow
 * (tx_bpe.h numbering: base_size + merge rank).
 *
 * Normalisation, in this order, line by line (a line ends at LF, CR LF or CR):
 *  1. Characters: tabs become spaces; every other character outside printable ASCII (a control
 *     character, a non-ASCII UTF-8 character, or one byte of invalid UTF-8) becomes U+FFFD, one per
 *     character or invalid byte.
 *  2. Comments: a '%' that is not preceded by '\' starts a comment that runs to the end of the line
 *     and is removed; except that a line starting with "%%" is a directive and is kept whole.
 *  3. Spaces: runs of spaces become one space; spaces at the start and end of a line are removed.
 *  4. Field lines (a letter or '+' then ':' at the start of the line, "K: G"): the spaces after the
 *     colon are removed ("K:G"). Then, by field:
 *       X:  removed (x_mode TX_ABCTOK_X_DROP, the default) or written "X:1" (TX_ABCTOK_X_RENUMBER);
 *       T:  removed when strip_titles is set;
 *       with strip_text set, only the music fields K: L: M: Q: P: V: U: I: m: stay (and T:, X: as
 *       above); every other field (A: B: C: D: F: G: H: N: O: R: S: W: Z: r: w:, unknown letters)
 *       is removed, and so are directives other than "%%MIDI";
 *       a "+:" continuation line goes wherever the field line before it went.
 *  5. Empty lines are removed; the lines kept are joined with '\n' and the text ends with '\n'
 *     (an empty text stays empty).
 *
 * Words (the spans BPE merges stay inside): a field or directive line is one word, its newline
 * included. A music line is cut after each bar line: a '|' (outside "..." strings, !...! and +...+
 * decorations and [X:...] inline fields) together with the '|', ':' and ']' characters and then the
 * digits, ',' and '-' (ending numbers) right after it; a run of two or more ':' is a bar line too.
 * The line's newline ends the last word of the line (so it joins the last bar's word).
 *
 * Ownership: tx_abctok_new() returns a tokenizer freed with tx_abctok_free(); one attached with
 * tx_abctok_set_bpe() owns its model from then on.
 */
#ifndef TX_ABCTOK_H
#define TX_ABCTOK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memory.h"
#include "bpe.h"

enum {
    TX_ABCTOK_PAD = 0, TX_ABCTOK_BOS = 1, TX_ABCTOK_EOS = 2, TX_ABCTOK_MASK = 3, TX_ABCTOK_UNK = 4,
    TX_ABCTOK_NEWLINE = 5, TX_ABCTOK_FIRST_CHAR = 6,
    TX_ABCTOK_BASE_SIZE = 6 + 95
};

enum { TX_ABCTOK_X_DROP = 0, TX_ABCTOK_X_RENUMBER = 1 };

#define TX_ABCTOK_MAX_TUNE (64u << 20)   /* tune texts over 64 MiB are refused */

typedef struct tx_abctok_options {
    int x_mode;          /* TX_ABCTOK_X_DROP or TX_ABCTOK_X_RENUMBER */
    int strip_titles;    /* remove T: lines */
    int strip_text;      /* keep only music fields (see above) */
    int add_bos_eos;     /* encode writes BOS first and EOS last */
} tx_abctok_options;

typedef struct tx_abctok tx_abctok;

/* Defaults: X: dropped, titles and text kept, no BOS/EOS. */
TX_API void tx_abctok_options_init(tx_abctok_options *o);
/* o may be NULL (the defaults). NULL with err set on out of memory or a bad option. */
TX_API tx_abctok *tx_abctok_new(const tx_abctok_options *o, tx_error *err);
TX_API void tx_abctok_free(tx_abctok *t);
/* Attaches a BPE model (taking ownership, also on failure; NULL detaches and frees the one
 * attached). Its base size must be TX_ABCTOK_BASE_SIZE, else TX_EINVAL. */
TX_API int tx_abctok_set_bpe(tx_abctok *t, tx_bpe *b, tx_error *err);
/* The attached model, or NULL. Borrowed. */
TX_API const tx_bpe *tx_abctok_bpe(const tx_abctok *t);
/* The word rule for training a model for this tokenizer: base size, specials isolated. */
TX_API void tx_abctok_bpe_words(tx_bpe_words *w);

/* ---- vocabulary ---- */

/* TX_ABCTOK_BASE_SIZE, or the attached model's vocabulary size. */
TX_API int tx_abctok_vocab_size(const tx_abctok *t);
/* Appends the text of id ("PAD_None" ... "UNK_None" for the specials, the characters otherwise; a
 * BPE token is the text of its characters). TX_EINVAL for an id outside the vocabulary. */
TX_API int tx_abctok_token(const tx_abctok *t, int32_t id, tx_buf *out);

/* ---- text ---- */

/* Appends the normalised form of len bytes of tune text (see above) to out. TX_ENOMEM, or TX_ELIMIT
 * for a text over TX_ABCTOK_MAX_TUNE. */
TX_API int tx_abctok_normalize(const tx_abctok *t, const char *text, size_t len, tx_buf *out, tx_error *err);
/* Normalises one tune's text and appends its ids to out (BPE applied when a model is attached;
 * BOS / EOS around it when the options say so). */
TX_API int tx_abctok_encode(const tx_abctok *t, const char *text, size_t len, tx_bpe_ids *out, tx_error *err);
/* Appends the text of ids[0 .. n) to out: PAD, BOS, EOS and MASK write nothing, UNK writes U+FFFD.
 * An id outside the vocabulary is TX_EINVAL naming its position. */
TX_API int tx_abctok_decode(const tx_abctok *t, const int32_t *ids, size_t n, tx_buf *out, tx_error *err);
/* Normalises one tune's text and adds its words (base ids, never BOS / EOS) to a trainer made with
 * tx_abctok_bpe_words(). */
TX_API int tx_abctok_train_add(const tx_abctok *t, tx_bpe_trainer *tr, const char *text, size_t len,
                               tx_error *err);

/* Finds the next tune in an ABC file from *pos on: a tune starts at a line beginning "X:" and runs up
 * to (not including) the first empty or blank line after it, or the end of the text. Sets *start and
 * *tlen and moves *pos past it; returns 0 when no tune is left. Text outside tunes (the file header,
 * free text between tunes) is skipped. */
TX_API int tx_abctok_next_tune(const char *text, size_t len, size_t *pos, size_t *start, size_t *tlen);

#endif
