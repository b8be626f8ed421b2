#!/bin/sh
# Install the Debian packages a make target needs, and only those that are missing.
# Usage: scripts/deps.sh build|test|bench|refs|fuzz|serve|mpi|speech
# Says what it installs; does nothing (silently) when everything is present.
set -e

case "${1:-build}" in
build) pkgs="gcc make libc6-dev libcjson-dev libutf8proc-dev libcsv-dev libpng-dev zlib1g-dev libsndfile1-dev libsamplerate0-dev libfftw3-dev libmicrohttpd-dev" ;;
test) pkgs="gcc make libc6-dev libcjson-dev libutf8proc-dev libcsv-dev libpng-dev zlib1g-dev libsndfile1-dev libsamplerate0-dev libfftw3-dev libmicrohttpd-dev curl npm python3-torch pkgconf libxml2-utils" ;;
bench) pkgs="gcc make libc6-dev libcjson-dev libutf8proc-dev libcsv-dev libpng-dev zlib1g-dev libsndfile1-dev libsamplerate0-dev libfftw3-dev libmicrohttpd-dev npm libopenblas-dev python3-torch" ;;
refs) pkgs="python3-torch python3-numpy python3-regex" ;;
# tests/serve: the real clients of zhuyi serve (headless chromium, npm for openai and
# playwright-core, curl to wait for the server).
serve) pkgs="chromium npm curl" ;;
# data-parallel training: Open MPI (mpicc, mpirun)
mpi) pkgs="gcc make libc6-dev libcjson-dev libutf8proc-dev libcsv-dev libpng-dev zlib1g-dev libsndfile1-dev libsamplerate0-dev libfftw3-dev libmicrohttpd-dev openmpi-bin libopenmpi-dev" ;;
# libFuzzer and the sanitizer runtimes come with clang's compiler-rt package.
# scripts/speech_corpus.sh: synthetic speech (espeak-ng), noise and resampling (sox; WAV
# is built in, libsox-fmt-base adds the other common formats).
speech) pkgs="espeak-ng sox libsox-fmt-base" ;;
fuzz) pkgs="clang libclang-rt-14-dev make libc6-dev libcjson-dev libutf8proc-dev libcsv-dev libpng-dev zlib1g-dev libsndfile1-dev libsamplerate0-dev libfftw3-dev libmicrohttpd-dev" ;;
*) echo "scripts/deps.sh: unknown target '$1' (build, test, bench, refs, fuzz, serve, mpi, speech)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    # npm may come with a nodejs package from elsewhere; the command is what matters.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    # Any pkg-config will do (Debian's pkgconf, or the older pkg-config package).
    if [ "$p" = pkgconf ] && command -v pkg-config >/dev/null 2>&1; then continue; fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "zhuyi: installing missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "zhuyi: need root to install:$missing (run: apt-get install -y$missing)" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty on a fresh machine; refresh them once.
${SUDO:-} apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
    ${SUDO:-} apt-get update -q >/dev/null
    ${SUDO:-} apt-get install -y --no-install-recommends $missing
}
echo "zhuyi: installed:$missing"
