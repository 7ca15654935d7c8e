#!/bin/sh
# bench-corpus.sh TACTUS SHARED_DIR: indexes the shared MIDI corpora (POP909 and ASAP), then the ABC
# collections, into a fresh database, with and without REMI tokens, then again with nothing changed,
# and prints files/s, notes/s and tokens/s for each run (median of 3). The goals: 2,000 files/s or more with SQLite writes, and
# 20,000 files/s or more for a re-run with nothing changed.
set -eu
bin=$1
shared=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
midi_roots="$shared/corpora/pop909 $shared/corpora/midi-asap"
abc_roots="$shared/corpora/abc"

median() { sort -n | sed -n 2p; }

run() {   # run LABEL FRESH(0/1) ARGS...: three timed runs, prints the median
    label=$1; fresh=$2; shift 2
    for i in 1 2 3; do
        [ "$fresh" -eq 1 ] && rm -f "$tmp/c.db" "$tmp/c.db-wal" "$tmp/c.db-shm"
        # shellcheck disable=SC2086
        TACTUS_NO_PROGRESS=1 "$bin" corpus --db "$tmp/c.db" --json "$@" index $roots >"$tmp/out.$i" || true
    done
    for i in 1 2 3; do
        sed 's/.*"seconds": \([0-9.]*\).*/\1/' "$tmp/out.$i"
    done | median >"$tmp/sec"
    sec=$(cat "$tmp/sec")
    line=$(cat "$tmp/out.1")
    files=$(echo "$line" | sed 's/.*"seen": \([0-9]*\).*/\1/')
    notes=$(echo "$line" | sed 's/.*"notes": \([0-9]*\).*/\1/')
    tokens=$(echo "$line" | sed 's/.*"tokens": \([0-9]*\).*/\1/')
    mb=$(echo "$line" | sed 's/.*"bytes": \([0-9]*\).*/\1/')
    awk -v l="$label" -v s="$sec" -v f="$files" -v n="$notes" -v t="$tokens" -v b="$mb" 'BEGIN {
        printf "%-34s %6d files %7.3f s  %8.0f files/s  %6.1f MB/s  %10.0f notes/s  %10.0f tokens/s\n",
               l, f, s, f / s, b / s / 1e6, n / s, t / s }'
}

echo "corpora: POP909 + ASAP MIDI ($(nproc) cores)"
roots=$midi_roots
run "index, no tokens" 1
run "index, REMI tokens" 1 --tokenizer remi
run "index, REMI + REMI+ tokens" 1 --tokenizer remi --tokenizer remi+
run "re-run, nothing changed" 0 --tokenizer remi --tokenizer remi+
echo "corpora: every ABC collection (files hold many tunes; a row per tune)"
roots=$abc_roots
run "index, no tokens" 1
run "index, REMI tokens" 1 --tokenizer remi
run "re-run, nothing changed" 0 --tokenizer remi
