/* cli.h: what the command-line front shares: the command table, exit codes, and small helpers for
 * printing errors and checking output. The library never prints; everything printed is printed here. */
#ifndef TX_CLI_H
#define TX_CLI_H

#include <stdio.h>

#include "tactus.h"
#include "tokenizers/bpe.h"
#include "tokenizers/remi.h"

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2 };

typedef struct tx_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;      /* one line, for `tactus help` */
    const char *synopsis;     /* the usage lines, exactly as the man page's SYNOPSIS has them */
} tx_command;

extern const tx_command tx_commands[];
const tx_command *cli_find_command(const char *name);

/* "tactus: " + message on stderr. */
void cli_error(const char *fmt, ...) TX_PRINTF(1, 2);
/* Prints a command's usage (synopsis and options) to `out`. */
void cli_usage(FILE *out, const char *name, const char *options);
/* Exit status for a usage error: prints "tactus: MSG" and a hint, returns EXIT_USAGE. */
int cli_usage_error(const char *name, const char *fmt, ...) TX_PRINTF(2, 3);
/* Flushes stdout; a failed write (a full disk, a closed pipe) is an error: returns 0 or EXIT_INPUT. */
int cli_flush_stdout(void);

/* The REMI tokenizer named (remi, remi+) or configured by a MidiTok JSON file; prints the error and
 * returns NULL on failure. Caller frees with tx_remi_free(). */
tx_remi *cli_remi_open(const char *name, const char *config, int compat);
/* A BPE model (--bpe FILE) made for a base vocabulary of `base` tokens (the `tokname` tokenizer's);
 * prints the error and returns NULL otherwise. Caller frees with tx_bpe_free(). */
tx_bpe *cli_bpe_open(const char *path, int base, const char *tokname);

/* Reads path and hands each score it holds to fn (tx_score_read_each: a MIDI file, or every ABC tune);
 * a file that cannot be read is handed over as one failed item with no bytes. Returns what fn
 * returned when it stopped the walk, else 0. */
int cli_each_score(const char *path, tx_score_item_fn fn, void *ud);
/* Reads the first score of path, or with tune >= 0 its first tune with that X: number (ABC); *format
 * (may be NULL) gets the format. Prints the error and returns EXIT_INPUT on failure. */
int cli_read_one(const char *path, long tune, tx_score **out, int *format);
/* --bars A-B or A (0 <= A <= B): 0, or -1 when s is not one. */
int cli_parse_bars(const char *s, long *a, long *b);
/* Moves everything in s earlier by d ticks: notes before d are dropped, maps and texts before d go to
 * tick 0 (the last of each kind there wins once the score is sorted again). */
void cli_score_shift_earlier(tx_score *s, tx_tick d);
/* Writes a parsed JSON value back as text. */
void cli_json_write(tx_buf *b, const tx_json *j);
/* Reads and parses a JSON file of at most max bytes into arena a (the caller frees it). Prints the
 * error and returns EXIT_INPUT on failure. */
int cli_read_json_file(const char *path, size_t max, tx_arena *a, tx_json **out);
/* Appends {"file": PATH, and for an ABC tune its "tune", "index" and "title", then "format": the keys
 * every JSON object about one score starts with. */
void cli_json_head(tx_buf *b, const char *path, const tx_score_item *it);

/* Ends the report on one score: prints msg as an error when rc is set, writes b to standard output (or
 * says it ran out of memory), flushes; sets *status to EXIT_INPUT on any failure. Returns -1 when
 * standard output failed (the caller stops), else 0. */
int cli_emit_item(const char *path, int rc, const char *msg, const tx_buf *b, int *status);

/* Whole-string numbers within [lo, hi] for option arguments: 0, or -1 (out is untouched) when s is not
 * one (empty, trailing text, out of range, not finite). */
int cli_parse_long(const char *s, long lo, long hi, long *out);
int cli_parse_double(const char *s, double lo, double hi, double *out);

/* commands */
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_continue(int argc, char **argv);
int cmd_infill(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
