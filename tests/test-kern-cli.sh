#!/bin/sh
# test-kern-cli.sh BIN DATA: Humdrum **kern files on the command line: `tactus info`, `convert` (to MIDI
# and ABC; kern output refused), `analyze`, detection by content whatever the extension, and a
# malformed file reported at its line and column with exit status 1. DATA holds cadence.krn, a
# four-part cadence in G major written for these tests.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$2
src=${TACTUS_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"

krn="$data/cadence.krn"
expect 0 "$bin" info "$krn"
contains "$tmp/out" "cadence.krn: kern, 1 ticks per quarter, 4 tracks"
contains "$tmp/out" "title:     A short cadence"
contains "$tmp/out" "notes:     35, pitch G2 (43) to A4 (69)"
contains "$tmp/out" "key:       G major at tick 0"
contains "$tmp/out" "4 bars"
contains "$tmp/out" "track 3    Soprano"
expect 0 "$bin" info --json "$krn"
contains "$tmp/out" '"format": "kern"'
contains "$tmp/out" '"notes": 35'

# to MIDI and back: the same notes
expect 0 "$bin" convert "$krn" "$tmp/cadence.mid"
expect 0 "$bin" info "$tmp/cadence.mid"
contains "$tmp/out" "notes:     35, pitch G2 (43) to A4 (69)"
contains "$tmp/out" "key:       G major at tick 0"
# to ABC: the tie over the barline stays a tie
expect 0 "$bin" convert "$krn" "$tmp/cadence.abc"
contains "$tmp/cadence.abc" "T:A short cadence"
contains "$tmp/cadence.abc" "K:G"
contains "$tmp/cadence.abc" "G,2- | G,"
expect 2 "$bin" convert "$krn" "$tmp/copy.krn"
contains "$tmp/err" "copy.krn: unknown output format"

expect 0 "$bin" analyze --json "$krn"
contains "$tmp/out" '"format": "kern", "key": {"tonic": "G", "mode": "major"'
contains "$tmp/out" '"perfect authentic"'

# detected by content under another name
cp "$krn" "$tmp/cadence.txt"
expect 0 "$bin" info "$tmp/cadence.txt"
contains "$tmp/out" "kern, 1 ticks per quarter"

# a malformed file: the place first, exit status 1
printf '**kern\t**kern\n4c\t4e\n4d\n*-\t*-\n' >"$tmp/bad.krn"
expect 1 "$bin" info "$tmp/bad.krn"
contains "$tmp/err" "bad.krn:3:3: 1 token, but 2 spines are open"

finish
