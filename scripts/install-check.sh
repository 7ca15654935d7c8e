#!/bin/sh
# install-check.sh BUILD_DIR: installs a build into a scratch DESTDIR and checks what a user gets: the
# binary (which runs), the man pages, the sample corpus, the bundled model (which continues a piece from
# the installed data alone), libtactus with its pkg-config file, and public
# headers that a program can include and link against.
set -eu
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null
prefix=$(meson introspect "$build" --buildoptions | python3 -c \
    'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
root="$dest$prefix"
fail=0
for f in bin/tactus share/man/man1/tactus.1 share/man/man1/tactus-info.1 share/man/man5/tactus-corpus.5 \
         share/tactus/corpora/sample/pop909-001.mid share/tactus/corpora/prompts/melodies.abc \
         share/tactus/models/tactus-base.safetensors share/man/man1/tactus-continue.1 include/tactus/tactus.h; do
    [ -e "$root/$f" ] || { echo "install-check: $f not installed" >&2; fail=1; }
done
pc=$(find "$root" -name libtactus.pc | head -n 1)
[ -n "$pc" ] || { echo "install-check: libtactus.pc not installed" >&2; fail=1; }
libdir=$(dirname "$(find "$root" -name 'libtactus.so' | head -n 1)")
"$root/bin/tactus" --version >/dev/null || { echo "install-check: the installed binary does not run" >&2; fail=1; }
TACTUS_DATA="$root/share/tactus" "$root/bin/tactus" continue "$root/share/tactus/corpora/prompts/melodies.abc" \
    --bars 2 --seed 1 -o "$dest/more.mid" >/dev/null ||
    { echo "install-check: the installed model does not continue a piece" >&2; fail=1; }
# a program against the installed headers and library alone
cat >"$dest/use.c" <<'C'
#include <tactus.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    tx_score *s;
    tx_error err;
    if (argc < 2 || tx_midi_read_file(argv[1], &s, NULL, &err)) {
        fprintf(stderr, "%s\n", argc < 2 ? "no file" : err.msg);
        return 1;
    }
    printf("%s %zu\n", tx_version(), s->n_notes);
    tx_score_free(s);
    return 0;
}
C
cc -std=c11 -Wall -Werror -I"$root/include/tactus" "$dest/use.c" -L"$libdir" -ltactus -o "$dest/use" ||
    { echo "install-check: a program cannot build against the installed headers" >&2; fail=1; }
out=$(LD_LIBRARY_PATH="$libdir" "$dest/use" "$root/share/tactus/corpora/sample/pop909-001.mid") ||
    { echo "install-check: the program linked against libtactus failed" >&2; fail=1; }
[ "$fail" -eq 0 ] && echo "install-check: ok ($out notes)"
exit "$fail"
