#!/usr/bin/env bash
# tests/fuzz/build.sh OUT_DIR - build every libFuzzer target (fuzz_*.c) with
# clang -fsanitize=fuzzer,address,undefined into OUT_DIR/bin. The common
# library is compiled again with coverage instrumentation into OUT_DIR/obj.
set -eu
cd "$(dirname "$0")/../.."
OUT=${1:-build/fuzz}
CLANG=${CLANG:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# The libraries are the Makefile's (one list).
CFLAGS="-std=c17 -D_GNU_SOURCE -Icommon -Ibroker/http -O1 -g $SAN $(make -s --no-print-directory print-cflags)"
LIBS=$(make -s --no-print-directory print-ldlibs)
mkdir -p "$OUT/obj" "$OUT/bin"
tests/fuzz/stubs.sh "$OUT"
# compile PREFIX HEADER_DIRS FILE...: FILE.c into $OUT/obj/PREFIX<name>.o when
# it or a header under HEADER_DIRS changed; the objects in $objs
compile() {
    local prefix=$1 dirs=$2 c o
    shift 2
    objs=()
    for c in "$@"; do
        [ "$c" = ingest/main.c ] && continue
        o="$OUT/obj/$prefix$(basename "$c" .c).o"
        # shellcheck disable=SC2086
        if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find $dirs -name '*.h' -newer "$o")" ]; then
            $CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o"
        fi
        objs+=("$o")
    done
}
compile "" common common/*.c common/read/*.c
common_objs=("${objs[@]}")
# ingest's code without main() (validation lives there)
compile ingest_ "common ingest" ingest/*.c
rm -f "$OUT/libcommon-fuzz.a"
ar rcs "$OUT/libcommon-fuzz.a" "${common_objs[@]}" "${objs[@]}"
# the broker's HTTP code as a library: fuzz_http_route links its router from
# there, its own stub handlers being found before the archive's
compile broker_ "common broker" broker/http/*.c
rm -f "$OUT/libbroker-fuzz.a"
ar rcs "$OUT/libbroker-fuzz.a" "${objs[@]}"
for f in tests/fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    $CLANG $CFLAGS -I"$OUT" -fsanitize=fuzzer "$f" "$OUT/libbroker-fuzz.a" "$OUT/libcommon-fuzz.a" $LIBS -o "$OUT/bin/$name"
done
echo "built: $(ls "$OUT/bin" | tr '\n' ' ')"
