#!/bin/sh
# Data-parallel `tactus train` (a build with -Dmpi=enabled): `mpirun -np 2 tactus train` on shards of
# corpora/sample prints the losses of one process with the same global batch, within 1e-5 relative
# (the largest difference is printed), with an even and an uneven split of the batch and with gradient
# accumulation; only rank 0 prints and writes the checkpoint; `mpirun -np 1` prints exactly what a
# plain run prints; SIGTERM to mpirun stops every process after the step (none hangs) and the
# checkpoint rank 0 writes resumes; a batch smaller than the process count is refused.
# Usage: test-mpi.sh TACTUS_BINARY MPIRUN   (TACTUS_SOURCE_ROOT must name the source tree)
set -u
bin=${1:?usage: test-mpi.sh TACTUS_BINARY MPIRUN}
mpirun=${2:?usage: test-mpi.sh TACTUS_BINARY MPIRUN}
src=${TACTUS_SOURCE_ROOT:?}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$src/tests/cli/lib.sh"
cd "$tmp" || exit 1
# one BLAS thread per process: two processes share the cores, and the runs compare like for like
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
mpiflags="--oversubscribe"
[ "$(id -u)" -eq 0 ] && mpiflags="$mpiflags --allow-run-as-root"
# run ARGS...: mpirun with the flags above. OpenMPI does not free its own state at MPI_Finalize, so
# LeakSanitizer (in a -Db_sanitize=address build) is off for the MPI processes only; the plain runs
# here and in test-train-cli.sh still check tactus's own memory, and AddressSanitizer stays on.
run() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$mpirun" $mpiflags "$@"; }

# a machine whose MPI cannot start two local processes at all skips (77) rather than fails
if ! run -np 2 true >"$tmp/out" 2>&1; then
    echo "mpirun cannot start local processes here; skipped:" >&2
    sed 's/^/    /' "$tmp/out" >&2
    exit 77
fi
# losses FILE: "STEP LOSS" per step line, and "valid LOSS" for the evaluation
losses() {
    sed -n 's/^step \([0-9]*\)\/[0-9]*: loss \([0-9.]*\),.*/\1 \2/p; s/^step [0-9]*: valid loss \([0-9.]*\),.*/valid \1/p' "$1"
}
# same NAME A B: the two loss lists have the same steps, losses within 1e-5 relative
same() {
    losses "$2" >"$1.a"
    losses "$3" >"$1.b"
    n=$(wc -l <"$1.a")
    if [ "$n" -lt 2 ] || [ "$n" -ne "$(wc -l <"$1.b")" ]; then
        bad "$1: $n loss lines against $(wc -l <"$1.b")"; cat "$2" "$3" >&2; return
    fi
    if paste -d ' ' "$1.a" "$1.b" | awk -v name="$1" '
        $1 != $3 { bad = 1 }
        { d = $2 - $4; if (d < 0) d = -d; r = d / ($2 > 0 ? $2 : 1); if (r > worst) { worst = r; at = $1 } }
        END { printf "%s: largest relative loss difference %.3g (at step %s)\n", name, worst, at ? at : "-";
              exit bad || worst > 1e-5 }'
    then ok; else bad "$1: the losses differ"; paste "$1.a" "$1.b" >&2; fi
}

expect 0 "$bin" corpus --db s.db --tokenizer remi index "$src/corpora/sample"
expect 0 "$bin" corpus --db s.db --tokenizer remi --split train --out . export
expect 0 "$bin" corpus --db s.db --tokenizer remi --split valid --out . export
tiny='{"d_model": 32, "layers": 2, "heads": 2, "context": 64}'
common="--data remi-train.json --lr 3e-3 --seed 5 --log-every 1 --steps 20"

# ---- an even split (4 + 4 rows), with a validation at the end by rank 0 ----
expect 0 "$bin" train --config "$tiny" $common --batch 8 --valid remi-valid.json --out one.safetensors
cp out one.log
expect 0 run -np 2 "$bin" train --config "$tiny" $common --batch 8 --valid remi-valid.json \
    --out two.safetensors
cp out two.log
same even one.log two.log
contains two.log "over 2 processes"
[ "$(grep -c '^step 20/20:' two.log)" -eq 1 ] && ok || bad "the last step was printed other than once"
[ -s two.safetensors ] && ok || bad "no checkpoint written"
ls ./*.tmp* >/dev/null 2>&1 && bad "a temporary file was left behind" || ok
# the checkpoint is the model the losses came from: eval agrees with the single-process one
expect 0 "$bin" eval --model one.safetensors --data remi-valid.json
sed 's/^[^:]*: //' out >eval-one
expect 0 "$bin" eval --model two.safetensors --data remi-valid.json
sed 's/^[^:]*: //' out >eval-two
l1=$(sed -n 's/.*loss \([0-9.]*\),.*/\1/p' eval-one); l2=$(sed -n 's/.*loss \([0-9.]*\),.*/\1/p' eval-two)
if [ -n "$l1" ] && awk "BEGIN{d = $l1 - $l2; if (d < 0) d = -d; exit !(d <= 1e-5 * $l1)}"; then ok
else bad "eval of the two checkpoints: '$l1' and '$l2'"; fi

# ---- an uneven split (3 + 2 rows) with two accumulated micro-batches per step ----
expect 0 "$bin" train --config "$tiny" $common --batch 5 --accum 2 --out one-b.safetensors
cp out one-b.log
expect 0 run -np 2 "$bin" train --config "$tiny" $common --batch 5 --accum 2 --json \
    --out two-b.safetensors
# the JSON lines, turned back into the text form that `losses` reads
sed -n 's/^{"step": \([0-9]*\), "steps": \([0-9]*\), "loss": \([0-9.]*\),.*/step \1\/\2: loss \3, x/p' out >two-b.log
contains out '"processes": 2'
same uneven one-b.log two-b.log

# ---- one process under mpirun is the plain run, digit for digit ----
expect 0 run -np 1 "$bin" train --config "$tiny" $common --batch 8 --valid remi-valid.json \
    --out np1.safetensors
losses out >np1.losses
losses one.log >one.losses
cmp -s np1.losses one.losses && ok || bad "mpirun -np 1 differs from a plain run"
cmp -s np1.safetensors one.safetensors && ok || bad "mpirun -np 1 wrote another checkpoint"

# ---- SIGTERM to mpirun: every process stops after the step, rank 0 writes the checkpoint ----
# (mpirun itself in the background, not the function `run`, so that the signal goes to mpirun)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$mpirun" $mpiflags -np 2 "$bin" train \
    --config "$tiny" $common --batch 8 --steps 1000000 --warmup 10 --out sig.safetensors >sig.log 2>sig.err &
pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q '^step 3/' sig.log 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -TERM $pid
# no process may hang in a collective: the job ends within 30 s or fails
i=0
while [ $i -lt 300 ] && kill -0 $pid 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then bad "mpirun still runs 30 s after SIGTERM"; kill -KILL $pid; fi
wait $pid
[ $? -eq 1 ] && ok || bad "an interrupted data-parallel run did not exit 1"
if [ "$(grep -c 'interrupted at step' sig.err)" -eq 1 ]; then ok; else bad "not one 'interrupted' message"; cat sig.err >&2; fi
k=$(sed -n 's/.*interrupted at step \([0-9]*\) .*/\1/p' sig.err)
# the checkpoint resumes in one process, at the step where the group stopped
expect 0 "$bin" train --resume sig.safetensors --data remi-train.json --out sig.safetensors --stop-after 1 --log-every 1
contains out "step $((k + 1))/1000000: loss "

# ---- a batch smaller than the group is refused by every process, which all exit ----
expect 1 run -np 2 "$bin" train --config "$tiny" $common --batch 1 --out x.safetensors
contains err "--batch 1 is smaller than the 2 processes"
[ -e x.safetensors ] && bad "a failed run wrote a checkpoint" || ok

finish
