#!/bin/sh
# The command-line tests: exit codes, error messages, --help against each man page's SYNOPSIS, the man
# pages' EXAMPLES run for real, and `info --json` against golden files.
# Usage: run.sh [--update]   (--update rewrites the golden files after a reviewed change)
set -u
bin=${TACTUS_BIN:?}
src=${TACTUS_SOURCE_ROOT:?}
update=0
[ "${1:-}" = "--update" ] && update=1
. "$src/tests/cli/lib.sh"

# ---- exit codes and messages ----
expect 0 "$bin" --version
contains "$tmp/out" "tactus "
expect 2 "$bin"
expect 2 "$bin" nosuchcommand
contains "$tmp/err" "tactus: 'nosuchcommand' is not a tactus command"
expect 2 "$bin" info
contains "$tmp/err" "tactus: no input files"
expect 2 "$bin" info --bogus x.mid
expect 1 "$bin" info "$tmp/missing.mid"
contains "$tmp/err" "tactus: $tmp/missing.mid: No such file or directory"
printf 'MThd\0\0\0\6\0\1\0\2\1\340MTrk\0\0\0\20\0\220' >"$tmp/trunc.mid"
expect 1 "$bin" info "$tmp/trunc.mid" "$src/corpora/sample/pop909-001.mid"
contains "$tmp/err" "tactus: $tmp/trunc.mid: track 0, byte "
contains "$tmp/out" "pop909-001.mid: midi, 480 ticks per quarter"
expect 1 "$bin" info --json "$tmp/trunc.mid"
contains "$tmp/out" "\"error\": \"$tmp/trunc.mid: track 0, byte "
printf 'hello' >"$tmp/text.txt"
expect 1 "$bin" info "$tmp/text.txt"
contains "$tmp/err" "not a MIDI file"
expect 2 "$bin" convert "$src/corpora/sample/pop909-001.mid"
expect 2 "$bin" convert "$src/corpora/sample/pop909-001.mid" "$tmp/out.xyz"
expect 0 "$bin" convert "$src/corpora/sample/pop909-001.mid" "$tmp/copy.mid"
expect 1 "$bin" convert "$src/corpora/sample/pop909-001.mid" "$tmp/copy.mid"
contains "$tmp/err" "exists (use --force to replace it)"
expect 0 "$bin" convert --force "$src/corpora/sample/pop909-001.mid" "$tmp/copy.mid"
expect 1 "$bin" convert "$src/corpora/sample/pop909-001.mid" "$tmp/no/such/dir/x.mid"
[ -e "$tmp/no" ] && bad "a failed convert left files behind" || ok
# a converted file describes the same music
"$bin" info --json "$src/corpora/sample/pop909-001.mid" | sed 's/"file": "[^"]*", //' >"$tmp/a.json"
"$bin" info --json "$tmp/copy.mid" | sed 's/"file": "[^"]*", //' >"$tmp/b.json"
if cmp -s "$tmp/a.json" "$tmp/b.json"; then ok; else bad "convert changed the score"; diff "$tmp/a.json" "$tmp/b.json" >&2; fi
# a closed pipe or full disk is an error, not silence
if [ -w /dev/full ]; then
    "$bin" info "$src/corpora/sample/pop909-001.mid" >/dev/full 2>"$tmp/err"
    if [ $? -eq 1 ]; then ok; else bad "a write to a full disk did not fail"; fi
    contains "$tmp/err" "tactus: error writing to standard output"
fi

# ---- --help matches each man page's SYNOPSIS ----
if command -v mandoc >/dev/null 2>&1; then
    for page in "$src"/man/tactus-*.1; do
        cmd=$(basename "$page" .1); cmd=${cmd#tactus-}
        syn=$(mandoc -Tascii -Owidth=300 "$page" | col -b | awk '/^SYNOPSIS/{f=1;next} /^[A-Z]/{f=0} f' |
              tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//')
        use=$("$bin" "$cmd" --help | sed -n 's/^usage: //p')
        if [ "$syn" = "$use" ]; then ok; else bad "man page synopsis of $cmd: '$syn' but --help says '$use'"; fi
        expect 0 mandoc -Tlint -Wwarning "$page"
    done
    # the man pages' examples run (from a folder that has the sample corpus and the test fixtures)
    mkdir -p "$tmp/ex" && ln -s "$src/corpora" "$tmp/ex/corpora" && ln -s "$src/tests" "$tmp/ex/tests"
    for page in "$src"/man/tactus*.1; do
        mandoc -Tascii -Owidth=300 "$page" | col -b | awk '/^EXAMPLES/{f=1;next} /^[A-Z]/{f=0} f' |
            sed -n 's/^[[:space:]]*tactus /tactus /p' >"$tmp/examples"
        # every command page shows at least one example, and it is run
        if [ -s "$tmp/examples" ]; then ok; else bad "no example found in $(basename "$page")"; fi
        while read -r line; do
            (cd "$tmp/ex" && eval "\"$bin\" ${line#tactus }") >/dev/null 2>"$tmp/err"
            if [ $? -eq 0 ]; then ok; else bad "example in $(basename "$page") failed: $line"; cat "$tmp/err" >&2; fi
        done <"$tmp/examples"
    done
else
    echo "mandoc not installed: man page checks skipped" >&2
fi

# ---- ABC: info per tune, convert one file per tune ----
abc="$src/tests/data/info/tunes.abc"
expect 1 "$bin" info "$abc"
contains "$tmp/out" "tunes.abc: tune 1: abc, 480 ticks per quarter, 1 track"
contains "$tmp/err" "tunes.abc:16:9: "
expect 1 "$bin" convert "$abc" "$tmp/t.mid"
[ -e "$tmp/t-1-1.mid" ] && [ -e "$tmp/t-1-2.mid" ] && [ ! -e "$tmp/t-3.mid" ] && ok || bad "convert of tunes.abc made $(ls "$tmp")"
expect 1 "$bin" convert "$abc" "$tmp/t.abc"
[ -e "$tmp/t-1-1.abc" ] && [ -e "$tmp/t-1-2.abc" ] && ok || bad "convert to ABC made $(ls "$tmp")"
expect 0 "$bin" info "$tmp/t-1-1.abc"
contains "$tmp/out" "notes:     6,"
expect 0 "$bin" convert --tune 1 "$abc" "$tmp/one.mid"
expect 0 "$bin" info "$tmp/one.mid"
contains "$tmp/out" "notes:     6,"
expect 1 "$bin" convert --tune 9 "$abc" "$tmp/nine.mid"
contains "$tmp/err" "no tune with X: number 9"
expect 2 "$bin" convert --tune x "$abc" "$tmp/nine.mid"

# ---- golden: info --json on fixtures ----
for f in "$src"/tests/data/info/*.mid "$src"/tests/data/info/*.abc; do
    [ -e "$f" ] || continue
    exp="${f%.*}.expected"
    (cd "$(dirname "$f")" && "$bin" info --json "$(basename "$f")") >"$tmp/got" 2>/dev/null
    if [ $update -eq 1 ]; then cp "$tmp/got" "$exp"; continue; fi
    if cmp -s "$tmp/got" "$exp"; then ok; else bad "info --json $(basename "$f") differs from its golden file"; diff "$exp" "$tmp/got" >&2; fi
done

finish
