#!/bin/sh
# End-to-end tests of `tactus render`: a sample MIDI file and ABC tunes become SVG files that an XML
# parser accepts (Python's xml.dom.minidom when python3 is present; skipped otherwise), --mark outlines
# the notes of its bars, -o - writes to standard output, --tune picks a tune, and bad input or usage
# gives exit 1 or 2 without leaving a file behind.
# Usage: test-render-cli.sh TACTUS_BINARY   (TACTUS_SOURCE_ROOT must name the source tree)
set -u
bin=${1:?usage: test-render-cli.sh TACTUS_BINARY}
src=${TACTUS_SOURCE_ROOT:?}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
. "$src/tests/cli/lib.sh"
cd "$tmp" || exit 1

mid=$src/corpora/sample/pop909-001.mid
abc=$src/tests/data/info/tunes.abc

# parses FILE as XML; prints the number of <rect> elements whose class holds WORD
xml_count() {
    python3 -c 'import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1])
assert d.documentElement.tagName == "svg"
rects = d.getElementsByTagName("rect")
print(sum(1 for r in rects if sys.argv[2] in r.getAttribute("class").split()))' "$1" "$2"
}
have_python=0
python3 -c 'import xml.dom.minidom' 2>/dev/null && have_python=1
[ $have_python -eq 1 ] || echo "python3 with xml.dom.minidom not found: XML parse checks skipped" >&2

expect 0 "$bin" render -o roll.svg "$mid"
[ -s roll.svg ] && ok || bad "render wrote no file"
contains roll.svg '<svg xmlns="http://www.w3.org/2000/svg" version="1.1"'
contains roll.svg 'MELODY (Acoustic Grand Piano)'
notes=$("$bin" info --json "$mid" | sed -n 's/^[^[]*"notes": \([0-9]*\),.*/\1/p')
rects=$(grep -c '<rect class="note ' roll.svg)
[ -n "$notes" ] && [ "$notes" = "$rects" ] && ok || bad "$rects note rectangles for $notes notes"
lacks roll.svg ' marked"'
if [ $have_python -eq 1 ]; then
    n=$(xml_count roll.svg note)
    [ "$n" = "$notes" ] && ok || bad "minidom counted $n notes, expected $notes"
fi

# --mark: the notes of bars 9 to the end are outlined, and fewer with an end bar
expect 0 "$bin" render --mark 9- -o marked.svg "$mid"
contains marked.svg '>generated</text>'
all=$(grep -c ' marked"' marked.svg)
expect 0 "$bin" render --mark 9-12 --width 1200 --ppq 30 -o - "$mid"
some=$(grep -c ' marked"' "$tmp/out")
[ "$all" -gt "$some" ] && [ "$some" -gt 0 ] && ok || bad "--mark 9- outlined $all notes, 9-12 $some"
contains "$tmp/out" 'width="1200"'
if [ $have_python -eq 1 ]; then
    n=$(xml_count marked.svg marked)
    [ "$n" = "$all" ] && ok || bad "minidom counted $n marked notes, expected $all"
fi

# ABC: the first tune by default, another with --tune; its title shows
expect 0 "$bin" render -o first.svg "$abc"
contains first.svg '>First'
expect 1 "$bin" render --tune 3 -o broken.svg "$abc"
[ -e broken.svg ] && bad "a tune that does not parse gave a picture" || ok
expect 1 "$bin" render --tune 7 -o none.svg "$abc"
contains "$tmp/err" "no tune with X: number 7"
[ $have_python -eq 1 ] && { xml_count first.svg note >/dev/null && ok || bad "first.svg does not parse"; }

# usage and input errors
expect 2 "$bin" render "$mid"
expect 2 "$bin" render -o x.svg
expect 2 "$bin" render --mark 5 -o x.svg "$mid"
expect 2 "$bin" render --mark 5-3 -o x.svg "$mid"
expect 2 "$bin" render --mark 0- -o x.svg "$mid"
contains "$tmp/err" "bars count from 1"
expect 2 "$bin" render --width 10 -o x.svg "$mid"
expect 2 "$bin" render --ppq 0 -o x.svg "$mid"
expect 1 "$bin" render -o x.svg "$tmp/missing.mid"
expect 1 "$bin" render -o "$tmp/no/such/dir/x.svg" "$mid"
[ -e x.svg ] || [ -e "$tmp/no" ] && bad "a failed render left files behind" || ok
expect 0 "$bin" render --help
contains "$tmp/out" "usage: tactus render [--tune N] [--mark BARS] [--width PX] [--ppq PX] -o OUT.svg IN"

finish
