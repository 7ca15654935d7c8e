#!/bin/sh
# End-to-end tests of `tactus continue` and `tactus infill` on a tiny REMI+ model trained here with
# --fim on shards of corpora/sample: continuation adds the bars asked for after the prompt and keeps
# the prompt's notes exactly, is deterministic under a seed, writes MIDI, ABC and the new part alone;
# infill replaces the notes of the bars asked for and nothing else, and --nll scores both ways; the
# checkpoint's sentinels are in its vocabulary and generate and eval still read it; bad requests give
# clear errors (exit 1), bad usage exit 2.
# Usage: test-continue-cli.sh TACTUS_BINARY   (TACTUS_SOURCE_ROOT must name the source tree)
set -u
bin=${1:?usage: test-continue-cli.sh TACTUS_BINARY}
src=${TACTUS_SOURCE_ROOT:?}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$src/tests/cli/lib.sh"
cd "$tmp" || exit 1

# json_num FILE KEY: the number after "KEY": in FILE
json_num() { sed -n "s/.*\"$2\": \\([-0-9.e]*\\).*/\\1/p" "$1" | head -n 1; }
# notes FILE [ARGS]: the note count tactus info reports
notes() { "$bin" info --json "$@" | sed 's/"tracks".*//' | sed -n 's/.*"notes": \([0-9]*\).*/\1/p' | head -n 1; }

# ---- a tiny model that fills in the middle ----
expect 0 "$bin" corpus --db s.db --tokenizer remi+ index "$src/corpora/sample"
expect 0 "$bin" corpus --db s.db --tokenizer remi+ --split train --out . export
expect 0 "$bin" corpus --db s.db --tokenizer remi+ --split valid --out . export
tiny='{"d_model": 32, "layers": 2, "heads": 2, "context": 128}'
expect 0 "$bin" train --config "$tiny" --data remi+-train.json --steps 30 --lr 3e-3 --fim 0.5 --seed 3 \
    --out m.safetensors
contains out "step 30/30: loss"
grep -q 'FIM_Prefix.*FIM_Suffix.*FIM_Middle' m.safetensors && ok || bad "no sentinels in the vocabulary"
expect 0 "$bin" eval --model m.safetensors --data remi+-valid.json
contains out "bits/token"
expect 0 "$bin" generate --model m.safetensors -n 16 --seed 1
contains out "BOS_None"
# a model without the sentinels
expect 0 "$bin" train --config "$tiny" --data remi+-train.json --steps 2 --out plain.safetensors

# ---- continue ----
song=$src/corpora/sample/pop909-003.mid
before=$(notes "$song")
expect 0 "$bin" continue "$song" --model m.safetensors --bars 2 --seed 7 --json -o a.mid
cp out a.json
contains a.json '"bars": 2'
contains a.json '"stopped_by": "bars"'
added=$(json_num a.json notes)
after=$(notes a.mid)
[ -n "$added" ] && [ "$after" = $((before + added)) ] && ok || bad "continue: $before + $added notes, wrote $after"
# the Python with mido: $TACTUS_PYTHON, Debian's, or the one on PATH; checks that need it skip without
py=${TACTUS_PYTHON:-python3}
[ -x /usr/bin/python3 ] && [ -z "${TACTUS_PYTHON:-}" ] && py=/usr/bin/python3
"$py" -c 'import mido' 2>/dev/null && have_py=1 || have_py=0
if [ "$have_py" = 1 ]; then
    cat >notes.py <<'EOF'
import sys, mido
def notes(path, lo=0, hi=1 << 62):
    out = []
    for ti, tr in enumerate(mido.MidiFile(path).tracks):
        t, on = 0, {}
        for m in tr:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                on.setdefault(m.note, []).append(t)
            elif m.type in ("note_off", "note_on") and on.get(m.note):
                s = on[m.note].pop(0)
                if not lo <= s < hi:
                    out.append((s, t - s, m.note))
    return sorted(out)
a, b = sys.argv[1], sys.argv[2]
lo, hi = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, 0)
x, y = notes(a, lo, hi), notes(b, lo, hi)
if len(sys.argv) > 4:
    sys.exit(0 if x == y else 1)
sys.exit(0 if all(n in y for n in x) else 1)
EOF
    "$py" notes.py "$song" a.mid && ok || bad "continue changed the prompt's notes"
fi
expect 0 "$bin" continue "$song" --model m.safetensors --bars 2 --seed 7 --json -o b.mid
same a.mid b.mid
expect 0 "$bin" continue "$song" --model m.safetensors --bars 2 --seed 8 -o c.mid
cmp -s a.mid c.mid && bad "another seed gave the same continuation" || ok
contains out " generated (2 bars, "
# the new part alone
expect 0 "$bin" continue "$song" --model m.safetensors --bars 2 --seed 7 --only-new --svg new.svg --json -o new.mid
[ "$(notes new.mid)" = "$added" ] && ok || bad "--only-new wrote $(notes new.mid) notes, not $added"
contains new.svg "generated"
# ABC in, ABC out; a window that slides (more tokens than the context of 128)
tunes=$src/corpora/prompts/melodies.abc
expect 0 "$bin" continue "$tunes" --tune 2 --model m.safetensors --bars 3 --seed 1 -n 400 -o t.abc
expect 0 "$bin" info t.abc
contains out "Twinkle"
expect 0 "$bin" continue "$tunes" --model m.safetensors -n 300 --seed 1 --json -o long.mid
# a stop at the token limit drops a note left unfinished, so at most 300 ids are kept
g=$(json_num out generated_tokens)
[ -n "$g" ] && [ "$g" -ge 296 ] && [ "$g" -le 300 ] && ok || bad "-n 300 kept $g ids"
contains out '"stopped_by": "token limit"'
w=$(json_num out window_slides)
[ -n "$w" ] && [ "$w" -ge 1 ] && ok || bad "300 tokens in a context of 128 did not slide the window ($w)"

# the opening alone: 4 bars of the theme, then 4 new ones
expect 0 "$bin" continue "$tunes" --prompt-bars 4 --bars 4 --model m.safetensors --seed 2 -o open.mid
expect 0 "$bin" info --json open.mid
contains out '"bars": 8,'

# convert --bars: the excerpt the card compares continuations with (bars 9-12 of the theme: 17 notes)
expect 0 "$bin" convert --bars 9-12 --tune 1 "$tunes" ex.mid
[ "$(notes ex.mid)" = 17 ] && ok || bad "convert --bars 9-12 wrote $(notes ex.mid) notes, not 17"
expect 0 "$bin" info --json ex.mid
contains out '"bars": 4,'
expect 2 "$bin" convert --bars 5-2 "$tunes" ex2.mid

# ---- infill ----
expect 0 "$bin" convert "$tunes" --tune 1 ode.mid
expect 0 "$bin" infill ode.mid --bars 2-3 --model m.safetensors --seed 4 --json --svg in.svg -o in.mid
# the two bars, or as many as the room for the middle held, and a warning saying so
if grep -q '"generated_bars": 2' out; then ok
elif grep -q "the context filled during new bar [12] of 2" err; then ok
else bad "infill --bars 2-3 neither filled two bars nor said why"; cat out err >&2; fi
contains in.svg "infilled"
if [ "$have_py" = 1 ]; then
    # bars 2-3 of 4/4 at 480 ticks a quarter: [1920, 5760); every other note is where it was
    "$py" notes.py ode.mid in.mid 1920 5760 && ok || bad "infill changed notes outside bars 2-3"
fi
expect 0 "$bin" infill "$tunes" --tune 1 --bars 9-12 --model m.safetensors --nll --json
for k in nll_both nll_no_suffix nll_left tokens; do
    v=$(json_num out $k)
    [ -n "$v" ] && awk "BEGIN{exit !($v > 0)}" && ok || bad "--nll: $k is '$v'"
done
# a model trained in the order SUF suffix PRE prefix MID: the same bars, the same left-context score
# (the prefix is the same tokens), another score with both contexts (another order)
left=$(json_num out nll_left)
both=$(json_num out nll_both)
expect 0 "$bin" train --init m.safetensors --data remi+-train.json --steps 2 --lr 1e-9 --fim 0.5 --fim-spm \
    --out spm.safetensors
expect 0 "$bin" infill "$tunes" --tune 1 --bars 9-12 --model spm.safetensors --nll --json
l2=$(json_num out nll_left)
b2=$(json_num out nll_both)
if [ -n "$l2" ] && awk "BEGIN{d = $l2 - $left; exit !(d < 0.01 && d > -0.01 && ($b2 - $both > 0.01 || $both - $b2 > 0.01))}"
then ok; else bad "--fim-spm: left $left -> $l2, both $both -> $b2"; fi

# ---- errors ----
expect 1 "$bin" infill ode.mid --bars 2-3 --model plain.safetensors -o x.mid
contains err "not trained to fill in the middle"
expect 1 "$bin" infill ode.mid --bars 500-510 --model m.safetensors -o x.mid
contains err "bar 500 is outside"
expect 1 "$bin" continue missing.mid --model m.safetensors -o x.mid
expect 1 "$bin" continue "$song" --model missing.safetensors -o x.mid
expect 1 "$bin" continue "$tunes" --tune 99 --model m.safetensors -o x.mid
contains err "no tune with X: number 99"
[ -e x.mid ] && bad "a failed run left an output" || ok
expect 2 "$bin" continue "$song" --model m.safetensors
expect 2 "$bin" continue "$song" --model m.safetensors -o x.wav
expect 2 "$bin" continue "$song" --bars 0 -o x.mid
expect 2 "$bin" infill "$song" -o x.mid
expect 2 "$bin" infill "$song" --bars 4-2 -o x.mid
expect 2 "$bin" infill "$song" --bars 2-3
expect 0 "$bin" continue --help
contains out "usage: tactus continue"
expect 0 "$bin" infill --help
contains out "usage: tactus infill"
finish
