#!/bin/sh
# Installs the Debian packages tactus builds with, and the oracles its tests compare against.
# Run as root, or as a user who may sudo. Usage: sh scripts/install-deps.sh [--build-only]
set -e
build="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libsmf-dev libpcre2-dev libopenblas-dev libsqlite3-dev"
oracles="python3 python3-mido python3-torch abcmidi mandoc"
mpi="libopenmpi-dev openmpi-bin"   # data-parallel training (meson setup -Dmpi=enabled); CI tests it
pkgs="$build"
[ "${1:-}" = "--build-only" ] || pkgs="$build $oracles $mpi"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
