#!/usr/bin/env bash
# tests/fuzz/stubs.sh OUT_DIR - write OUT_DIR/fuzz_http_stubs.h: STUB(name)
# for every handler in the route table of broker/http/http_route.c (used by
# fuzz_http_route.c, which links no real handler).
set -eu
src="$(dirname "$0")/../../broker/http/http_route.c"
mkdir -p "$1"
grep -Eo '"[^"]*", *http_[a-z_]+\}' "$src" | grep -Eo 'http_[a-z_]+' | sort -u |
    sed 's/.*/STUB(&)/' >"$1/fuzz_http_stubs.h"
