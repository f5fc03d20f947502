#!/usr/bin/env bash
# Fuzz corpus replay: every libFuzzer target of tests/fuzz/ is built here
# without libFuzzer (tests/fuzz/replay_main.c) against the build's common
# library, with ASan+UBSan, and run once over its corpus
# tests/fuzz/corpus/<target>/: the seeds and every input that once crashed
# (regress-*). A crash fixed stays fixed.
source "$(dirname "$0")/../lib.sh"
SRC="$LAKEHOUSE_SOURCE"
LIB="$LAKEHOUSE_BIN/../lib/liblakehouse-common.a"
# Targets of ingest's code (validation, the fast readers) link its library.
INGEST_LIB="$LAKEHOUSE_BIN/../lib/liblakehouse-ingest.a"
# fuzz_http_route links the router from the broker's library (its stub
# handlers come first and stand in for the real ones).
BROKER_LIB="$LAKEHOUSE_BIN/../lib/liblakehouse-broker.a"
LIBS=$(make -s --no-print-directory -C "$SRC" print-ldlibs)
PKG_CFLAGS=$(make -s --no-print-directory -C "$SRC" print-cflags)
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$SRC/tests/fuzz/stubs.sh" "$T"
for f in "$SRC"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    corpus="$SRC/tests/fuzz/corpus/$name"
    if ! cc -std=c17 -D_GNU_SOURCE -I"$SRC/common" -I"$SRC/broker/http" -I"$T" -O1 -g \
            -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            $PKG_CFLAGS \
            "$f" "$SRC/tests/fuzz/replay_main.c" "$BROKER_LIB" "$INGEST_LIB" "$LIB" $LIBS -o "$T/$name" 2>"$T/$name.build"; then
        fail "fuzz corpus $name: build" "$(head -5 "$T/$name.build")"
        continue
    fi
    files=("$corpus"/*)
    [ -e "${files[0]}" ] || { fail "fuzz corpus $name" "no corpus in $corpus"; continue; }
    if out=$("$T/$name" "${files[@]}" 2>&1); then
        pass "fuzz corpus $name: ${#files[@]} inputs ($(ls "$corpus" | grep -c '^regress-') regressions)"
    else
        fail "fuzz corpus $name" "$(echo "$out" | grep -E 'ERROR|runtime error|SUMMARY' | head -3)"
    fi
done
finish
