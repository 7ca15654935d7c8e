#!/bin/sh
# test-analyze-cli.sh BIN DATA: `tactus analyze`: exit codes, --tune, --profile, JSON per tune, the
# --help synopsis against man/tactus-analyze.1, and the man page's examples run from the source root.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
data=$2
src=${TACTUS_SOURCE_ROOT:?}
. "$src/tests/cli/lib.sh"
lines() {
    n=$(wc -l <"$1")
    if [ "$n" -eq "$2" ]; then ok; else bad "$1 has $n lines, expected $2"; fi
}

abc="$data/tunes.abc"
expect 0 "$bin" analyze --json "$abc"
lines "$tmp/out" 3
contains "$tmp/out" '"tune": 1, "index": 1, "title": "Scale in G", "format": "abc", "key": {"tonic": "G", "mode": "major", "profile": "ensemble"'
contains "$tmp/out" '"tune": 2, "index": 2, "title": "Two voices in A minor", "format": "abc", "key": {"tonic": "A", "mode": "minor"'
contains "$tmp/out" '"meter": "4/4"'
expect 0 "$bin" analyze --json --tune 2 --profile temperley-kostka-payne "$abc"
lines "$tmp/out" 1
contains "$tmp/out" '"profile": "temperley-kostka-payne"'
contains "$tmp/out" '"name": "Am"'
expect 0 "$bin" analyze --tune 2 "$abc"
contains "$tmp/out" "tunes.abc: tune 2: Two voices in A minor"
contains "$tmp/out" "key:         A minor (ensemble, r = "
contains "$tmp/out" "ambitus:"
expect 0 "$bin" analyze --explain --tune 1 "$abc"
contains "$tmp/out" "Key: G major."
contains "$tmp/out" "G (the tonic, "
contains "$tmp/out" "Cadences: none found"
expect 0 "$bin" analyze --explain --tune 3 "$abc"
contains "$tmp/out" "perfect authentic cadence, D7 (V7) to G (I)"
expect 0 "$bin" analyze --json --tune 3 "$abc"
contains "$tmp/out" '"cadences": [{"kind": "perfect authentic", "at": "2:3"'
contains "$tmp/out" '"roman": "IV"' 
# four voices on a sixteenth grid (CSV), a quarter note a row: I IV Cad64 V I, then IV with the soprano
# at A5 (out of range), V, and I with the soprano's leading tone falling to G4 (unresolved)
{ echo "note0,note1,note2,note3"
  for r in 72,67,64,48 72,69,65,53 72,67,64,55 71,67,62,55 72,67,64,48 81,69,65,53 71,67,62,55 67,64,60,48; do
      printf '%s\n%s\n%s\n%s\n' "$r" "$r" "$r" "$r"
  done; } >"$tmp/satb.csv"
expect 0 "$bin" analyze --json "$tmp/satb.csv"
contains "$tmp/out" '"roman": "Cad64"'
contains "$tmp/out" '"range": 1, "unresolved leading tone": 1, "unresolved seventh": 0}'
contains "$tmp/out" '{"kind": "range", "at": "2:2", "tick": 20, "voices": ["soprano"], "from": [""], "to": ["A5"], "range": ["C4", "G5"]}'
contains "$tmp/out" '{"kind": "unresolved leading tone", "at": "2:4", "tick": 28, "voices": ["soprano"], "from": ["B4"], "to": ["G4"]}'
expect 0 "$bin" analyze --explain "$tmp/satb.csv"
contains "$tmp/out" "bar:beat 2:2: range: soprano sings A5, outside its range C4-G5"
contains "$tmp/out" "bar:beat 2:4: unresolved leading tone in soprano: B4 goes to G4 at the tonic chord, not up to C5"
expect 0 "$bin" analyze "$tmp/satb.csv"
contains "$tmp/out" "1 range, 1 unresolved leading tone, 0 unresolved sevenths"
contains "$tmp/out" "2:4: unresolved leading tone, soprano, B4 to G4"
expect 0 "$bin" analyze --explain --tune 1 "$abc"
contains "$tmp/out" "Voice leading: no parallel, contrary or hidden fifths or octaves, no crossings or overlaps"
expect 1 "$bin" analyze --tune 9 "$abc"
contains "$tmp/err" "tactus: $abc: no tune with X: number 9"
expect 2 "$bin" analyze --profile nonsense "$abc"
contains "$tmp/err" "unknown key profile 'nonsense'"
expect 2 "$bin" analyze
contains "$tmp/err" "no input files"
expect 2 "$bin" analyze --tune x "$abc"
expect 1 "$bin" analyze --json "$tmp/missing.mid" "$abc"
contains "$tmp/out" "\"error\": \"$tmp/missing.mid: "
lines "$tmp/out" 4
printf 'MThd\0\0\0\6\0\1\0\2\1\340MTrk\0\0\0\20\0\220' >"$tmp/trunc.mid"
expect 1 "$bin" analyze "$tmp/trunc.mid"
contains "$tmp/err" "tactus: $tmp/trunc.mid: track 0, byte "

# roman numerals in the local key: eight bars of C major (with V7/V V in bar 4), eight of G major; the
# first numeral in each key carries the key, RomanText style ("G: V7")
cat >"$tmp/mod.abc" <<'EOF'
X:1
T:C to G
M:4/4
L:1/2
K:C
[C,EGc][F,FAc]|[G,,FBd][C,EGc]|[A,,EAc][F,,FAc]|[D,^FAc][G,,DGB]|[C,EGc][F,,FAc]|[D,FAd][G,,FBd]|[C,EGc][A,,EAc]|[F,,FAc][C,EGc]|
[G,,DGB][D,D^FA]|[D,^FAc][G,,DGB]|[E,,EGB][B,,D^FB]|[A,,EG^c][D,^FAd]|[G,,DGB][E,,EGB]|[A,,EAc][D,^FAc]|[G,,DGB][D,D^FA]|[D,^FAc][G,,DBg]|]
EOF
expect 0 "$bin" analyze --max-list 40 "$tmp/mod.abc"
contains "$tmp/out" "local keys:  bars 1-9 C major, bars 10-16 G major"
contains "$tmp/out" "1:1 C (C: I), 1:3 F (IV)"
contains "$tmp/out" "4:1 D7 (V7/V), 4:3 G (V)"
contains "$tmp/out" "10:1 D7 (G: V7), 10:3 G (I)"
contains "$tmp/out" "16:1 D7 (V7), 16:3 G (I)"
expect 0 "$bin" analyze --json "$tmp/mod.abc"
contains "$tmp/out" '"name": "D7", "root": "D", "quality": "dominant seventh", "inversion": 0, "roman": "V7/V", "key": "C"}'
contains "$tmp/out" '"name": "D7", "root": "D", "quality": "dominant seventh", "inversion": 0, "roman": "V7", "key": "G"}'
expect 0 "$bin" analyze --explain "$tmp/mod.abc"
contains "$tmp/out" "perfect authentic cadence, D7 (V7) to G (I) in G major"

# chord symbols compared with the melody under them
cat >"$tmp/sym.abc" <<'EOF'
X:1
T:Symbols
M:4/4
L:1/4
K:G
"G"GBdB|"Em"EGBG|"Am"cAEA|"D7"D^FAc|"G"G4|"H"G4|"Bdim"Bd=fB|"C"EGBG|]
EOF
expect 0 "$bin" analyze "$tmp/sym.abc"
contains "$tmp/out" "symbols:     8 read, 1 not understood, 6 compared with the notes, 5 agree (83.3%)"
expect 0 "$bin" analyze --json "$tmp/sym.abc"
contains "$tmp/out" '"chord_symbols": {"read": 8, "not_understood": 1, "compared": 6, "agreed": 5, "agreement": 0.8333, "symbols": [{"at": "1:1", "tick": 0, "symbol": "G", "heard": "G", "understood": true, "agree": true}'
contains "$tmp/out" '"symbol": "H", "heard": "G", "understood": false, "agree": null}'
contains "$tmp/out" '"symbol": "Bdim", "heard": "G", "understood": true, "agree": null}'
expect 0 "$bin" analyze --explain "$tmp/sym.abc"
contains "$tmp/out" "Chord symbols: 8 in the score, 1 not understood. 6 major or minor ones were compared"
contains "$tmp/out" 'bar:beat 6:1: "H" is not a chord symbol tactus reads'
contains "$tmp/out" 'bar:beat 8:1: "C", where the notes suggest E minor'

# --surprisal: every note of the tune gets an information content, with the bundled model or another
tunes=$src/corpora/prompts/melodies.abc
expect 0 "$bin" analyze --surprisal --json --tune 1 "$tunes"
cp "$tmp/out" "$tmp/sur.json"
contains "$tmp/sur.json" '"surprisal": {"model": '
contains "$tmp/sur.json" '"notes": 62, '
n=$(grep -o '\], \[' "$tmp/sur.json" | wc -l)
[ "$n" -eq 61 ] && ok || bad "--surprisal: $((n + 1)) per-note entries for 62 notes"
m=$(sed -n 's/.*"mean_ic": \([0-9.]*\).*/\1/p' "$tmp/sur.json")
[ -n "$m" ] && awk "BEGIN{exit !($m > 0.1 && $m < 20)}" && ok || bad "--surprisal: mean_ic '$m'"
expect 0 "$bin" analyze --surprisal --explain --tune 2 "$tunes"
contains "$tmp/out" "Surprisal: under the model"
expect 1 "$bin" analyze --model "$tmp/missing.safetensors" "$tunes"

# --help against the man page
expect 0 "$bin" analyze --help
if command -v mandoc >/dev/null 2>&1; then
    page="$src/man/tactus-analyze.1"
    syn=$(mandoc -Tascii -Owidth=300 "$page" | col -b | awk '/^SYNOPSIS/{f=1;next} /^[A-Z]/{f=0} f' |
          tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//')
    use=$(sed -n 's/^usage: //p' "$tmp/out")
    if [ "$syn" = "$use" ]; then ok; else bad "man page synopsis '$syn' but --help says '$use'"; fi
    expect 0 mandoc -Tlint -Wwarning "$page"
    mandoc -Tascii -Owidth=300 "$page" | col -b | awk '/^EXAMPLES/{f=1;next} /^[A-Z]/{f=0} f' |
        sed -n 's/^[[:space:]]*tactus /tactus /p' >"$tmp/examples"
    if [ -s "$tmp/examples" ]; then ok; else bad "no example in the man page"; fi
    while read -r line; do
        (cd "$src" && eval "\"$bin\" ${line#tactus }") >"$tmp/exout" 2>"$tmp/err"
        if [ $? -eq 0 ] && [ -s "$tmp/exout" ]; then ok; else bad "example failed: $line"; cat "$tmp/err" >&2; fi
    done <"$tmp/examples"
fi

finish
