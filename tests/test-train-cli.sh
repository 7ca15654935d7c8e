#!/bin/sh
# End-to-end tests of `tactus train`, `tactus eval` and `tactus generate` on a tiny model (d_model 32,
# 2 layers, context 64) trained on shards that `tactus corpus export` makes from corpora/sample: the
# loss falls, an interrupted and resumed run prints the losses of an uninterrupted one, eval gives
# finite numbers, generation under a seed is deterministic and decodes to a MIDI file `tactus info`
# reads, and bad checkpoints, configurations and shards give clear errors (exit 1), bad usage exit 2.
# Usage: test-train-cli.sh TACTUS_BINARY   (TACTUS_SOURCE_ROOT must name the source tree)
set -u
bin=${1:?usage: test-train-cli.sh TACTUS_BINARY}
src=${TACTUS_SOURCE_ROOT:?}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$src/tests/cli/lib.sh"
cd "$tmp" || exit 1

# losses FILE: the step lines without the timing ("step 3/20: loss 5.1, lr ..., grad norm ...")
losses() { grep '^step [0-9]*/' "$1" | sed 's/, [0-9]* tokens\/s$//'; }

# ---- shards from the sample corpus ----
expect 0 "$bin" corpus --db s.db --tokenizer remi index "$src/corpora/sample"
expect 0 "$bin" corpus --db s.db --tokenizer remi --split train --out . export
expect 0 "$bin" corpus --db s.db --tokenizer remi --split valid --out . export
tiny='{"d_model": 32, "layers": 2, "heads": 2, "context": 64}'
common="--data remi-train.json --batch 8 --lr 3e-3 --seed 5 --log-every 1"

# ---- the loss goes down ----
expect 0 "$bin" train --config "$tiny" $common --steps 40 --valid remi-valid.json --out a.safetensors
cp out train.log
first=$(sed -n 's/^step 1\/40: loss \([0-9.]*\),.*/\1/p' train.log)
last=$(sed -n 's/^step 40\/40: loss \([0-9.]*\),.*/\1/p' train.log)
if [ -n "$first" ] && [ -n "$last" ] && awk "BEGIN{exit !($last < $first - 0.5)}"; then ok
else bad "the loss did not fall by 0.5 in 40 steps: '$first' to '$last'"; cat train.log >&2; fi
contains train.log "tokens/s"
contains train.log "step 40: valid loss "
[ -s a.safetensors ] && ok || bad "no checkpoint written"
ls ./*.tmp* >/dev/null 2>&1 && bad "a temporary file was left behind" || ok

# ---- resume is exact ----
expect 0 "$bin" train --config "$tiny" $common --steps 20 --out full.safetensors
losses out >full.log
expect 0 "$bin" train --config "$tiny" $common --steps 20 --stop-after 8 --out part.safetensors
losses out >part.log
[ "$(wc -l <part.log)" -eq 8 ] && ok || bad "--stop-after 8 ran $(wc -l <part.log) steps"
# the settings come back from the checkpoint: only --resume, --data and --out are given
expect 0 "$bin" train --resume part.safetensors --data remi-train.json --out part.safetensors --log-every 1
losses out >>part.log
if cmp -s full.log part.log; then ok; else bad "a resumed run differs from an uninterrupted one"; diff full.log part.log >&2; fi
cmp -s full.safetensors part.safetensors && ok || bad "the resumed checkpoint differs from the uninterrupted one"
expect 1 "$bin" train --resume full.safetensors --data remi-train.json --out x.safetensors
contains err "already at step 20 of 20"

# ---- --init starts from the weights with a new schedule ----
expect 0 "$bin" train --init full.safetensors --data remi-train.json --out init.safetensors --steps 3 --lr 1e-3 \
    --log-every 1
i1=$(sed -n 's/^step 1\/3: loss \([0-9.]*\),.*/\1/p' out)
f20=$(sed -n 's/^step 20\/20: loss \([0-9.]*\),.*/\1/p' full.log)
# the first loss is the trained model's (within a step of noise), not a fresh one's (~6.3 = ln 516)
if [ -n "$i1" ] && [ -n "$f20" ] && awk "BEGIN{exit !($i1 < $f20 + 0.5)}"; then ok
else bad "--init did not start from the weights: step 1 loss '$i1', the run ended at '$f20'"; fi
contains out "steps 1 to 3 of 3"
expect 0 "$bin" train --resume init.safetensors --data remi-train.json --out init.safetensors --steps 4
# rows with repeated bars; the rate is a setting of the checkpoint
expect 0 "$bin" train --init full.safetensors --data remi-train.json --out rep.safetensors --steps 2 --repeat 0.5
grep -q 'repeat\\": 0.5' rep.safetensors && ok || bad "--repeat 0.5 is not in the checkpoint's settings"
expect 2 "$bin" train --init full.safetensors --resume full.safetensors --data remi-train.json --out x.safetensors
expect 1 "$bin" train --init full.safetensors --config '{"d_model": 64, "layers": 2, "heads": 2, "context": 64}' \
    --data remi-train.json --out x.safetensors
contains err "the checkpoint's model differs from --config"

# ---- SIGTERM finishes the step, writes the checkpoint, and the run resumes from it ----
"$bin" train --config "$tiny" $common --steps 1000000 --warmup 10 --out sig.safetensors >sig.log 2>sig.err &
pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q '^step 3/' sig.log 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
wait $pid
[ $? -eq 1 ] && ok || bad "an interrupted run did not exit 1"
contains sig.err "interrupted at step"
k=$(sed -n 's/.*interrupted at step \([0-9]*\) .*/\1/p' sig.err)
expect 0 "$bin" train --resume sig.safetensors --data remi-train.json --out sig.safetensors --stop-after 2 --log-every 1
losses out >sig-resumed.log
expect 0 "$bin" train --config "$tiny" $common --steps 1000000 --warmup 10 --stop-after $((k + 2)) --out sig2.safetensors
losses out | tail -n 2 >sig-straight.log
if [ -n "$k" ] && cmp -s sig-resumed.log sig-straight.log; then ok
else bad "resuming after SIGTERM at step '$k' differs"; diff sig-straight.log sig-resumed.log >&2; fi

# ---- eval ----
expect 0 "$bin" eval --model a.safetensors --data remi-valid.json
contains out "remi-valid.json: 17950 tokens: loss "
contains out "bits/note"
expect 0 "$bin" eval --model a.safetensors --data remi-valid.json --json
if awk '{ if (match($0, /"loss": [0-9.]+/) && match($0, /"perplexity": [0-9.]+/) && $0 ~ /"bits_per_note": [0-9.]+/) ok = 1 } END { exit !ok }' out; then ok
else bad "eval --json lacks finite numbers"; cat out >&2; fi
# the valid loss train printed at the end is the one eval computes
v1=$(sed -n 's/^step 40: valid loss \([0-9.]*\),.*/\1/p' train.log)
v2=$(sed -n 's/.*"loss": \([0-9.]*\),.*/\1/p' out)
[ -n "$v1" ] && [ "$v1" = "$v2" ] && ok || bad "train's valid loss '$v1' and eval's '$v2' differ"

# ---- generate ----
expect 0 "$bin" generate --model a.safetensors -n 48 --seed 7
cp out g1
expect 0 "$bin" generate --model a.safetensors -n 48 --seed 7 --out g.mid
cmp -s out g1 && ok || bad "generate with one seed gave two outputs"
contains g1 "BOS_None Bar_None"
n=$(wc -w <g1)
[ "$n" -ge 40 ] && [ "$n" -le 49 ] && ok || bad "generate -n 48 printed $n tokens"
expect 0 "$bin" info g.mid
contains out "g.mid: midi"
expect 0 "$bin" generate --model a.safetensors -n 48 --seed 7 --ids
[ "$(wc -w <out)" -eq "$n" ] && ok || bad "--ids printed another number of tokens"
# the output decodes in full: detokenize finds no malformed group in it
sed 's/BOS_None //' g1 >g1.txt
expect 0 "$bin" detokenize -o g2.mid g1.txt
if [ -s err ]; then bad "the generated tokens did not decode cleanly"; cat err >&2; else ok; fi
# greedy decoding with a score prompt: cut to whole bars to fit the context
expect 0 "$bin" generate --model a.safetensors --prompt "$src/corpora/sample/pop909-001.mid" -n 16 --temp 0
contains err "the prompt is cut to its first"
expect 0 "$bin" generate --model a.safetensors --tokens "Bar_None Position_4 Pitch_60 Velocity_63 Duration_1.0.8" -n 8 --seed 1
contains out "BOS_None Bar_None Position_4 Pitch_60 Velocity_63 Duration_1.0.8 "
expect 0 "$bin" generate --model a.safetensors --tokens "1 4" -n 8 --seed 1
contains out "BOS_None Bar_None "
expect 1 "$bin" generate --model a.safetensors --tokens "Pitch_60 Velocity_63" -n 8
contains err "--tokens: token 1 (Pitch_60) cannot follow"
expect 1 "$bin" generate --model a.safetensors --tokens "Bar_None Pitch_600" -n 8
contains err "Pitch_600"
expect 1 "$bin" generate --model a.safetensors --tokens "Bar_None" -n 100
contains err "do not fit the model's context of 64"

# ---- bad checkpoints, configurations and shards: exit 1 with the place first ----
printf 'not a checkpoint' >junk.safetensors
expect 1 "$bin" eval --model junk.safetensors --data remi-valid.json
contains err "tactus: junk.safetensors: "
head -c 1000 a.safetensors >trunc.safetensors
expect 1 "$bin" generate --model trunc.safetensors -n 4
contains err "tactus: trunc.safetensors: "
expect 1 "$bin" eval --model missing.safetensors --data remi-valid.json
contains err "missing.safetensors"
expect 1 "$bin" train --resume junk.safetensors --data remi-train.json --out x.safetensors
contains err "tactus: junk.safetensors: "
expect 1 "$bin" train --config '{"d_model": 32, "layers": 2, "heads": 3, "context": 64}' --data remi-train.json --out x.safetensors
contains err "heads 3 does not divide d_model 32"
expect 1 "$bin" train --config '{"d_model": 32, "layers": 2, "heads": 2, "context": 64, "vocab": 100}' --data remi-train.json --out x.safetensors
contains err "larger than the model's (100)"
printf '{"d_model": 32,' >bad.json
expect 1 "$bin" train --config bad.json --data remi-train.json --out x.safetensors
contains err "tactus: bad.json:1:"
expect 1 "$bin" train --config nothere.json --data remi-train.json --out x.safetensors
contains err "nothere.json"
expect 1 "$bin" train --config "$tiny" --data remi-train.json --context 65 --out x.safetensors
contains err "longer than the model's context of 64"
printf '{"dtype": "uint16", "vocab_size": 284, "n_tokens": 10, "documents": [[0, 10]]}' >short.json
printf 'abc' >short.bin
expect 1 "$bin" train --config "$tiny" --data short.json --out x.safetensors
contains err "tactus: short.bin: 3 bytes"
expect 1 "$bin" eval --model a.safetensors --data short.json
contains err "short.bin"
expect 1 "$bin" train --config "$tiny" --data nothere.json --out x.safetensors
[ -e x.safetensors ] && bad "a failed run wrote a checkpoint" || ok
expect 1 "$bin" train --config "$tiny" --data remi-train.json --out no/such/dir/x.safetensors --steps 2
contains err "no/such/dir/x.safetensors"

# an empty shard (from an empty corpus): no validation, no evaluation
mkdir -p empty empty-out
expect 0 "$bin" corpus --db e.db --tokenizer remi index empty
expect 0 "$bin" corpus --db e.db --tokenizer remi --split test --out empty-out export
cp empty-out/remi-test.bin remi-empty.bin
sed 's/"split": "test"/"split": "empty"/' empty-out/remi-test.json >remi-empty.json
expect 1 "$bin" train --config "$tiny" --data remi-train.json --valid remi-empty.json --out x.safetensors
contains err "remi-empty.json: the validation shard holds no tokens"
expect 1 "$bin" eval --model a.safetensors --data remi-empty.json
contains err "remi-empty.json: the shard holds no tokens to predict"
# a shard that names no tokenizer trains (without BOS) and evaluates, but cannot generate
cp remi-train.bin bare.bin
printf '{"dtype": "uint16", "vocab_size": 284, "n_tokens": %d, "documents": [[0, %d]]}' \
    $(($(wc -c <bare.bin) / 2)) $(($(wc -c <bare.bin) / 2)) >bare.json
expect 0 "$bin" train --config "$tiny" --data bare.json --steps 3 --out bare.safetensors
expect 0 "$bin" eval --model bare.safetensors --data bare.json --json
contains out '"bits_per_note": null'
expect 1 "$bin" generate --model bare.safetensors --tokens "Bar_None" -n 4
contains err "bare.safetensors: the checkpoint names no tokenizer"
expect 1 "$bin" eval --model bare.safetensors --data remi-valid.json --context 65
contains err "--context 65 is longer than the model's context of 64"

# ---- usage errors: exit 2 ----
expect 2 "$bin" train --config "$tiny" --out x.safetensors
expect 2 "$bin" train --data remi-train.json --out x.safetensors
expect 2 "$bin" train --config "$tiny" --data remi-train.json --out x.safetensors --steps 0
expect 2 "$bin" train --config "$tiny" --data remi-train.json --out x.safetensors --lr abc
expect 2 "$bin" train --bogus
expect 2 "$bin" eval --data remi-valid.json
expect 2 "$bin" eval --model a.safetensors
expect 2 "$bin" generate -n 4
expect 2 "$bin" generate --model a.safetensors --prompt x.mid --tokens "Bar_None"
expect 2 "$bin" generate --model a.safetensors --top-p 0
expect 2 "$bin" generate --model a.safetensors -n -1
expect 0 "$bin" train --help
contains out "usage: tactus train "
expect 0 "$bin" eval --help
expect 0 "$bin" generate --help

finish
