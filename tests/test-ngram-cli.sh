#!/bin/sh
# End-to-end tests of `tactus eval --ngram N --train SHARD`: the Kneser-Ney baseline trained on the REMI
# shards `tactus corpus export` makes from corpora/sample, reported in the form a checkpoint's
# evaluation takes (text and JSON, the same token and note counts), with higher orders beating the
# unigram, and clear errors for shards it cannot use (exit 1) and bad usage (exit 2).
# Usage: test-ngram-cli.sh TACTUS_BINARY   (TACTUS_SOURCE_ROOT must name the source tree)
set -u
bin=${1:?usage: test-ngram-cli.sh TACTUS_BINARY}
src=${TACTUS_SOURCE_ROOT:?}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$src/tests/cli/lib.sh"
cd "$tmp" || exit 1

# bits N: the bits per token `eval --ngram N` gives on the valid split
bits() {
    "$bin" eval --ngram "$1" --train remi-train.json --data remi-valid.json --json |
        sed -n 's/.*"bits_per_token": \([0-9.]*\).*/\1/p'
}

expect 0 "$bin" corpus --db s.db --tokenizer remi -j 1 index "$src/corpora/sample"
expect 0 "$bin" corpus --db s.db --tokenizer remi --split train --out . export
expect 0 "$bin" corpus --db s.db --tokenizer remi --split valid --out . export

# ---- the report: the targets and notes a checkpoint's evaluation counts (test-train-cli.sh) ----
expect 0 "$bin" eval --ngram 3 --train remi-train.json --data remi-valid.json
contains out "remi-valid.json: 17950 tokens: loss "
contains out " bits/token, "
contains out " notes, "
contains out " bits/note"
[ "$(wc -l <out)" -eq 1 ] && ok || bad "one shard gave $(wc -l <out) lines"
expect 0 "$bin" eval --ngram 3 --train remi-train.json --data remi-valid.json --data remi-train.json --json
[ "$(wc -l <out)" -eq 2 ] && ok || bad "two shards gave $(wc -l <out) lines"
contains out '{"data": "remi-valid.json", "ngram": 3, "tokens": 17950, "loss": '
if awk '{ if ($0 ~ /"perplexity": [0-9.]+/ && $0 ~ /"bits_per_note": [0-9.]+/ && $0 ~ /"notes": [0-9]+/) n++ }
         END { exit n != 2 }' out; then ok; else bad "eval --ngram --json lacks finite numbers"; cat out >&2; fi

# ---- the figures: every order is a real model; context helps ----
b1=$(bits 1); b2=$(bits 2); b5=$(bits 5)
# a unigram is better than uniform over the vocabulary; a bigram better than a unigram
v=$(sed -n 's/.*"vocab_size": \([0-9]*\).*/\1/p' remi-train.json)
if [ -n "$b1" ] && [ -n "$b2" ] && [ -n "$b5" ] && [ -n "$v" ] &&
   awk "BEGIN { exit !($b1 < log($v) / log(2) && $b2 < $b1 - 1 && $b5 < $b1) }"; then ok
else bad "bits per token: order 1 '$b1', 2 '$b2', 5 '$b5' (vocabulary '$v')"; fi
# on its own training data a higher order fits better
t2=$("$bin" eval --ngram 2 --train remi-train.json --data remi-train.json --json | sed -n 's/.*"loss": \([0-9.]*\),.*/\1/p')
t5=$("$bin" eval --ngram 5 --train remi-train.json --data remi-train.json --json | sed -n 's/.*"loss": \([0-9.]*\),.*/\1/p')
if [ -n "$t2" ] && [ -n "$t5" ] && awk "BEGIN { exit !($t5 < $t2) }"; then ok
else bad "training loss of order 5 '$t5' not below order 2 '$t2'"; fi

# ---- shards it cannot use: exit 1, the place first ----
expect 1 "$bin" eval --ngram 3 --train nothere.json --data remi-valid.json
contains err "tactus: nothere.json"
cp remi-train.bin bare.bin
printf '{"dtype": "uint16", "vocab_size": %d, "n_tokens": %d, "documents": [[0, %d]]}' \
    "$v" $(($(wc -c <bare.bin) / 2)) $(($(wc -c <bare.bin) / 2)) >bare.json
expect 1 "$bin" eval --ngram 3 --train bare.json --data remi-valid.json
contains err "tactus: bare.json: the shard names no REMI tokenizer"
expect 1 "$bin" eval --ngram 3 --train remi-train.json --data bare.json
contains err "tactus: bare.json: the shard holds unnamed tokens, the n-gram model was trained on remi tokens"
# one bad shard among good ones: the good ones are still reported
expect 1 "$bin" eval --ngram 2 --train remi-train.json --data nothere.json --data remi-valid.json
contains out "remi-valid.json: 17950 tokens"
contains err "nothere.json"
mkdir -p empty empty-out
expect 0 "$bin" corpus --db e.db --tokenizer remi index empty
expect 0 "$bin" corpus --db e.db --tokenizer remi --split test --out empty-out export
expect 1 "$bin" eval --ngram 2 --train remi-train.json --data empty-out/remi-test.json
contains err "remi-test.json: the shard holds no tokens to predict"
# an empty training shard gives the uniform distribution: log2(vocabulary) bits
expect 0 "$bin" eval --ngram 3 --train empty-out/remi-test.json --data remi-valid.json --json
u=$(sed -n 's/.*"bits_per_token": \([0-9.]*\).*/\1/p' out)
if [ -n "$u" ] && awk "BEGIN { d = $u - log($v) / log(2); exit !(d < 1e-5 && d > -1e-5) }"; then ok
else bad "an empty training shard gave '$u' bits, not log2($v)"; fi

# ---- usage errors: exit 2 ----
expect 2 "$bin" eval --ngram 0 --train remi-train.json --data remi-valid.json
expect 2 "$bin" eval --ngram 9 --train remi-train.json --data remi-valid.json
expect 2 "$bin" eval --ngram x --train remi-train.json --data remi-valid.json
expect 2 "$bin" eval --ngram 3 --data remi-valid.json
expect 2 "$bin" eval --train remi-train.json --data remi-valid.json
expect 2 "$bin" eval --ngram 3 --train remi-train.json
expect 2 "$bin" eval --ngram 3 --train remi-train.json --model a.safetensors --data remi-valid.json
contains err "--model and --ngram exclude each other"
expect 0 "$bin" eval --help
contains out "--ngram N"

finish
