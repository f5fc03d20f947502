#!/usr/bin/env bash
# A short libFuzzer run of every target (tests/fuzz/, clang) in each `make
# test`: FUZZ_SECONDS each (default 10), starting from the committed corpora.
# tests/fuzz/run.sh prints a PASS or FAIL line per target; a crash leaves its
# input under the temporary directory named in the FAIL line (KEEP_TEST_DIR=1
# keeps it). `make fuzz` / `make fuzz-long` are the longer runs.
source "$(dirname "$0")/../lib.sh"
cd "$LAKEHOUSE_SOURCE" || exit 1
command -v clang >/dev/null || { fail "clang" "clang is not installed (make deps installs it)"; exit 1; }
tests/fuzz/run.sh "${FUZZ_SECONDS:-10}" "$T/fuzz"
