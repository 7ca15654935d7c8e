# lib.sh: the harness the shell tests share (sourced, not run). It makes a scratch folder $tmp (removed
# on exit) and defines:
#   ok / bad MESSAGE        count a passed or failed check (bad prints "FAIL: MESSAGE")
#   expect STATUS CMD...    run CMD with its output in $tmp/out and $tmp/err; check its exit status
#   contains FILE TEXT      FILE holds TEXT          lacks FILE TEXT   FILE does not hold TEXT
#   same FILE1 FILE2        the files are identical
#   finish                  print "N passed, N failed" and exit non-zero when something failed
fails=0
passes=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { passes=$((passes + 1)); }
bad() { fails=$((fails + 1)); echo "FAIL: $*" >&2; }
expect() {
    want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "$* exited $got, expected $want"; cat "$tmp/err" >&2; fi
}
contains() {
    if grep -qF -- "$2" "$1"; then ok; else bad "$1 lacks: $2"; sed 's/^/    /' "$1" >&2; fi
}
lacks() {
    if grep -qF -- "$2" "$1"; then bad "$1 holds: $2"; else ok; fi
}
same() {
    if cmp -s "$1" "$2"; then ok; else bad "$1 and $2 differ"; diff "$1" "$2" | head -20 >&2; fi
}
finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
    exit
}
