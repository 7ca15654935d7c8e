/* fuzz-abc.c: the libFuzzer target for the ABC reader (tx_abc_parse), also linked with fuzz-main.c
 * into a plain regression runner over the seed corpus abc-seeds/.
 *
 * Any input must be read (tx_abc_parse returns TX_OK for anything up to TX_ABC_MAX_FILE bytes) and
 * every tune must either give a valid score (tx_score_check passes) or fail with a message that names
 * the input with a line and a column; anything else aborts, so the fuzzer and the regression runner
 * both report it. The standard-behaviour options are exercised on every other input. Not a test of
 * the musical result: test-abc and abc-oracle do that. */
#include "tokenizers/abc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tx_abc_options opt;
    tx_abc_options_init(&opt);
    if (size && (data[0] & 1)) {
        opt.standard_accidentals = 1;
        opt.standard_chords = 1;
        opt.written_order = (data[0] & 2) != 0;
    }
    tx_abc_file *f = NULL;
    tx_error err;
    int rc = tx_abc_parse((const char *)data, size, "fuzz.abc", &opt, &f, &err);
    if (rc != TX_OK || !f) {
        fprintf(stderr, "fuzz-abc: input refused: %s\n", err.msg);
        abort();
    }
    size_t failed = 0;
    for (size_t i = 0; i < f->n_tunes; i++) {
        tx_abc_tune *t = &f->tunes[i];
        if (t->status == TX_OK) {
            if (!t->score || tx_score_check(t->score, &err) != TX_OK) {
                fprintf(stderr, "fuzz-abc: tune %zu gives an invalid score: %s\n", i, t->score ? err.msg : "NULL");
                abort();
            }
        } else {
            failed++;
            if (t->score || strncmp(t->error.msg, "fuzz.abc:", 9) != 0) {
                fprintf(stderr, "fuzz-abc: tune %zu failed without its place: %s\n", i, t->error.msg);
                abort();
            }
        }
    }
    if (failed != f->n_failed)
        abort();
    tx_abc_file_free(f);
    return 0;
}
