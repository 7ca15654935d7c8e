#!/bin/sh
# End-to-end tests of `tactus tokenize --tokenizer abc`, `--bpe` in tokenize and detokenize, and
# `tactus vocab train`: ABC tokens go back to the same normalised text; a model trained on
# tests/data/bpe/tunes.abc is byte for byte the golden one the library's test made; BPE tokens decode
# to what the base tokens decode to (REMI, REMI+, ABC; strings and ids); training does not depend on
# -j; bad models, size mismatches and unknown tokens are clear errors (exit 1), bad usage exit 2; the
# man pages of these commands match --help and their examples run.
# Usage: test-vocab-cli.sh TACTUS_BINARY   (TACTUS_SOURCE_ROOT must name the source tree)
set -u
bin=${1:?usage: test-vocab-cli.sh TACTUS_BINARY}
src=${TACTUS_SOURCE_ROOT:?}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$src/tests/cli/lib.sh"
cd "$tmp" || exit 1

words() { wc -w <"$1" | tr -d ' '; }

tunes=$src/tests/data/bpe/tunes.abc
golden=$src/tests/data/bpe/tunes-bpe-100.json
mid=$src/corpora/sample/pop909-001.mid

# ---- ABC tokens and back ----
expect 0 "$bin" tokenize --tokenizer abc "$tunes"
cp out a.tok
[ "$(wc -l <a.tok)" -eq 5 ] && ok || bad "tunes.abc gave $(wc -l <a.tok) lines, expected 5 tunes"
# one JSON literal per character: the first tune starts with its title (X: is dropped)
case $(head -n 1 a.tok) in '"T" ":" "T" "e" "s" "t" " " "R" "e" "e" "l" " " "O" "n" "e" "\n" "R" ":"'*) ok ;;
    *) bad "first tune's tokens: $(head -c 80 a.tok)" ;; esac
expect 0 "$bin" detokenize --tokenizer abc -o a.abc a.tok
contains a.abc "X:1"
contains a.abc "X:5"
contains a.abc "K:Bb"
# the comment goes, and the space before it
grep -qx 'T:Test Waltz' a.abc && ok || bad "a.abc lacks the line 'T:Test Waltz'"
lacks a.abc "%"
lacks a.abc "comment"
# the text is normalised already: it tokenizes to the same tokens and decodes to itself
expect 0 "$bin" tokenize --tokenizer abc a.abc
same out a.tok
cp out a2.tok
expect 0 "$bin" detokenize --tokenizer abc -o a2.abc a2.tok
same a2.abc a.abc
# ids, standard output
expect 0 "$bin" tokenize --tokenizer abc --ids "$tunes"
cp out a.ids
case $(head -c 12 a.ids) in '58 32 58 75 '*) ok ;; *) bad "ids start $(head -c 12 a.ids)" ;; esac
expect 0 "$bin" detokenize --tokenizer abc --ids -o - a.ids
same out a.abc
# --json: one object per file
expect 0 "$bin" tokenize --tokenizer abc --json "$tunes"
contains out "{\"file\": \"$tunes\", \"sequences\": [[\"T\", \":\", "
if command -v python3 >/dev/null 2>&1; then
    n=$(python3 -c 'import json,sys; print(len(json.loads(sys.stdin.read())["sequences"]))' <out)
    [ "$n" = 5 ] && ok || bad "--json: $n sequences"
fi
# the normalisation options
expect 0 "$bin" tokenize --tokenizer abc --strip-text --strip-titles --keep-x "$tunes"
cp out s.tok
expect 0 "$bin" detokenize --tokenizer abc -o s.abc s.tok
lacks s.abc "T:"
lacks s.abc "R:reel"
lacks s.abc "w:la"
contains s.abc "K:D"
contains s.abc "V:2 clef=bass"
[ "$(grep -c '^X:1$' s.abc)" -eq 5 ] && ok || bad "--keep-x: X:1 $(grep -c '^X:1$' s.abc) times"
expect 0 "$bin" tokenize --tokenizer abc --strip-titles "$tunes"
lacks out '"T" ":"'
contains out '"R" ":"'

# ---- vocab train, abc: the library's golden model, whatever -j ----
expect 0 "$bin" vocab train --tokenizer abc --bpe 201 --out abc1.json -j 1 "$tunes"
contains out "abc1.json: 101 base tokens + 100 merges = 201 tokens; 1 file, 5 tunes, "
same abc1.json "$golden"
expect 0 "$bin" vocab train --tokenizer abc --bpe 201 --out abc2.json -j 2 "$src/tests/data/bpe"
same abc2.json "$golden"
ls ./*.tmp* >/dev/null 2>&1 && bad "a temporary file was left behind" || ok
expect 0 "$bin" tokenize --tokenizer abc --bpe abc1.json "$tunes"
cp out b.tok
[ "$(words b.tok)" -lt "$(words a.tok)" ] && ok || bad "BPE did not shorten the ABC tokens"
contains b.tok '"M:4/4\n"'
expect 0 "$bin" detokenize --tokenizer abc --bpe abc1.json -o b.abc b.tok
same b.abc a.abc
expect 0 "$bin" tokenize --tokenizer abc --bpe abc1.json --ids "$tunes"
cp out b.ids
expect 0 "$bin" detokenize --tokenizer abc --bpe abc1.json --ids -o b2.abc b.ids
same b2.abc a.abc
# the summary as JSON
expect 0 "$bin" vocab train --tokenizer abc --bpe 201 --out abc3.json --json "$tunes"
contains out '"base_vocab": 101, "merges": 100, "vocab_size": 201, "requested": 201, "files": 1, "failed": 0, "sequences": 5, "base_tokens": 702, "tokens": 327, "compression": 2.1468'

# ---- vocab train, REMI and REMI+ ----
expect 0 "$bin" vocab train --tokenizer remi --bpe 600 --out r1.json -j 1 "$src/corpora/sample"
contains out "r1.json: 284 base tokens + 316 merges = 600 tokens; 24 files, "
expect 0 "$bin" vocab train --tokenizer remi --bpe 600 --out r2.json -j 2 "$src/corpora/sample"
same r1.json r2.json
expect 0 "$bin" tokenize "$mid"
cp out r.tok
expect 0 "$bin" tokenize --bpe r1.json "$mid"
cp out rb.tok
contains rb.tok "+Duration_"
[ "$(words rb.tok)" -lt "$(words r.tok)" ] && ok || bad "BPE did not shorten the REMI tokens"
expect 0 "$bin" detokenize -o r.mid r.tok
expect 0 "$bin" detokenize --bpe r1.json -o rb.mid rb.tok
same rb.mid r.mid
expect 0 "$bin" tokenize --bpe r1.json --ids "$mid"
cp out rb.ids
expect 0 "$bin" detokenize --bpe r1.json --ids -o rbi.mid rb.ids
same rbi.mid r.mid
expect 0 "$bin" tokenize --bpe r1.json --json "$mid"
contains out "{\"file\": \"$mid\", \"sequences\": [[\"Bar_None\""
# a tokenizer.json numbered its own way (as MidiTok's are): the same token strings, other ids
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys
j = json.load(open("r1.json")); v = j["model"]["vocab"]; n = len(v)
j["model"]["vocab"] = {k: n - 1 - i for k, i in v.items()}; del j["tactus"]
json.dump(j, open("rev.json", "w"), ensure_ascii=False)'
    expect 0 "$bin" tokenize --bpe rev.json "$mid"
    same out rb.tok
    expect 0 "$bin" tokenize --bpe rev.json --ids "$mid"
    cmp -s out rb.ids && bad "renumbered model gave the same ids" || ok
    cp out rev.ids
    expect 0 "$bin" detokenize --bpe rev.json --ids -o rev.mid rev.ids
    same rev.mid r.mid
fi
# REMI+: one stream per file
expect 0 "$bin" vocab train --tokenizer remi+ --bpe 2000 --out p.json "$src/corpora/sample/pop909-001.mid" \
    "$src/corpora/sample/pop909-002.mid"
contains out " 2 files, 2 sequences, "
expect 0 "$bin" tokenize --tokenizer remi+ "$mid"
cp out p.tok
expect 0 "$bin" tokenize --tokenizer remi+ --bpe p.json "$mid"
cp out pb.tok
[ "$(wc -l <pb.tok)" -eq 1 ] && [ "$(words pb.tok)" -lt "$(words p.tok)" ] && ok || bad "REMI+ BPE tokens"
expect 0 "$bin" detokenize --tokenizer remi+ -o p.mid p.tok
expect 0 "$bin" detokenize --tokenizer remi+ --bpe p.json -o pb.mid pb.tok
same pb.mid p.mid

# ---- errors: exit 1 with a message that names the place ----
expect 1 "$bin" tokenize --bpe "$tmp/missing.json" "$mid"
contains err "tactus: $tmp/missing.json: No such file or directory"
printf '{"model": {"type": "BPE", "vocab": ' >broken.json
expect 1 "$bin" tokenize --bpe broken.json "$mid"
contains err "tactus: broken.json:1:"
expect 1 "$bin" tokenize --bpe abc1.json "$mid"
contains err "tactus: abc1.json: a BPE model for a base vocabulary of 101 tokens, but the remi tokenizer has 284"
expect 1 "$bin" tokenize --tokenizer remi+ --bpe r1.json "$mid"
contains err "r1.json: a BPE model for a base vocabulary of 284 tokens, but the remi+ tokenizer has "
expect 1 "$bin" tokenize --tokenizer abc --bpe r1.json "$tunes"
contains err "but the abc tokenizer has 101"
expect 1 "$bin" detokenize --tokenizer abc --bpe r1.json -o x.abc b.tok
contains err "but the abc tokenizer has 101"
# tokens the model does not know
printf 'Bar_None Position_0+Bar_None\n' >unk.tok
expect 1 "$bin" detokenize --bpe r1.json -o x.mid unk.tok
contains err "unk.tok:1: token 2: unknown token \"Position_0+Bar_None\""
printf '4 5\n4 600\n' >unk.ids
expect 1 "$bin" detokenize --bpe r1.json --ids -o x.mid unk.ids
contains err "unk.ids:2: token 2: \"600\" is not an id of this vocabulary (600 tokens)"
printf '"K" ":" "G" "\\n"\n"K" "QQ"\n' >unk-abc.tok
expect 1 "$bin" detokenize --tokenizer abc -o x.abc unk-abc.tok
contains err "unk-abc.tok:2: token 2: unknown token \"QQ\""
printf '"K" G\n' >bare.tok
expect 1 "$bin" detokenize --tokenizer abc -o x.abc bare.tok
contains err "bare.tok:1: token 2: expected a JSON string literal"
[ -e x.abc ] || [ -e x.mid ] && bad "a failed detokenize wrote its output" || ok
# the wrong kind of file
expect 1 "$bin" tokenize --tokenizer abc "$mid" "$tunes"
contains err "pop909-001.mid: a MIDI file; the abc tokenizer reads ABC text"
[ "$(wc -l <out)" -eq 5 ] && ok || bad "the good file after a bad one was not tokenized"
printf 'no tunes here\n' >empty.abc
expect 1 "$bin" tokenize --tokenizer abc --json empty.abc
contains out "{\"file\": \"empty.abc\", \"error\": \"empty.abc: no tunes"
# a bad input is reported and skipped; the model is written from the others
mkdir part
cp "$src/corpora/sample/pop909-001.mid" "$src/corpora/sample/pop909-002.mid" part/
printf 'MThd\0\0\0\6\0\1\0\2\1\340MTrk\0\0\0\20\0\220' >part/bad.mid
expect 1 "$bin" vocab train --tokenizer remi --bpe 400 --out part.json part
contains err "tactus: part/bad.mid: track 0, byte "
contains out " 2 files, "
[ -s part.json ] && ok || bad "no model written after a bad input"
expect 1 "$bin" vocab train --tokenizer remi --bpe 400 --out none.json "$tmp/missing-folder"
contains err "missing-folder: no such file or folder"
mkdir emptydir
expect 1 "$bin" vocab train --tokenizer abc --bpe 400 --out none.json emptydir
contains err "tactus: no tokens to train on (0 files read)"
[ -e none.json ] && bad "a model was written with nothing to train on" || ok

# ---- usage errors: exit 2 ----
expect 2 "$bin" vocab
contains err "expected a subcommand (train)"
expect 2 "$bin" vocab learn
expect 2 "$bin" vocab train --bpe 600 --out x.json "$mid"
contains err "no tokenizer"
expect 2 "$bin" vocab train --tokenizer remi --out x.json "$mid"
expect 2 "$bin" vocab train --tokenizer remi --bpe 600 "$mid"
expect 2 "$bin" vocab train --tokenizer remi --bpe 600 --out x.json
expect 2 "$bin" vocab train --tokenizer remi --bpe 200 --out x.json "$mid"
contains err "--bpe 200: the remi tokenizer has 284 base tokens already"
expect 2 "$bin" vocab train --tokenizer remi --bpe x --out x.json "$mid"
expect 2 "$bin" vocab train --tokenizer remi --bpe 600 -j 0 --out x.json "$mid"
expect 2 "$bin" vocab train --tokenizer remi --strip-text --bpe 600 --out x.json "$mid"
expect 2 "$bin" vocab train --tokenizer nope --bpe 600 --out x.json "$mid"
expect 2 "$bin" tokenize --tokenizer nope "$mid"
expect 2 "$bin" tokenize --keep-x "$mid"
expect 2 "$bin" tokenize --tokenizer abc --config x.json "$tunes"
expect 2 "$bin" detokenize --tokenizer abc --programs 1 -o x.abc a.tok
expect 2 "$bin" detokenize -o - r.tok
[ -e x.json ] && bad "a usage error wrote a model" || ok
expect 0 "$bin" vocab --help
contains out "usage: tactus vocab train "
expect 0 "$bin" help vocab

# ---- the man pages: synopsis, lint, examples ----
if command -v mandoc >/dev/null 2>&1; then
    mkdir ex && ln -s "$src/corpora" ex/corpora && ln -s "$src/tests" ex/tests
    for cmd in tokenize detokenize vocab; do
        page=$src/man/tactus-$cmd.1
        syn=$(mandoc -Tascii -Owidth=300 "$page" | col -b | awk '/^SYNOPSIS/{f=1;next} /^[A-Z]/{f=0} f' |
              tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//')
        use=$("$bin" "$cmd" --help | sed -n 's/^usage: //p')
        if [ "$syn" = "$use" ]; then ok; else bad "man page synopsis of $cmd: '$syn' but --help says '$use'"; fi
        expect 0 mandoc -Tlint -Wwarning "$page"
        mandoc -Tascii -Owidth=300 "$page" | col -b | awk '/^EXAMPLES/{f=1;next} /^[A-Z]/{f=0} f' |
            sed -n 's/^[[:space:]]*tactus /tactus /p' >examples
        [ -s examples ] && ok || bad "no example in tactus-$cmd.1"
        while read -r line; do
            (cd ex && eval "\"$bin\" ${line#tactus }") >/dev/null 2>err
            if [ $? -eq 0 ]; then ok; else bad "example in tactus-$cmd.1 failed: $line"; cat err >&2; fi
        done <examples
    done
else
    echo "mandoc not installed: man page checks skipped" >&2
fi

finish
