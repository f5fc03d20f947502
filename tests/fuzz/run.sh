#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [OUT_DIR] - build the fuzz targets and run each
# for SECONDS (default 20) starting from its seed corpus
# tests/fuzz/corpus/<target>/. New interesting inputs go to
# OUT_DIR/corpus/<target>/ (not into the source tree). A crash leaves its
# input in OUT_DIR/crashes/<target>/; copy it into tests/fuzz/corpus/<target>/
# (named regress-*) once fixed, so every CI run replays it
# (tests/integration/fuzz_regress.sh). Exit 1 when any target crashed.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-20}
OUT=${2:-build/fuzz}
tests/fuzz/build.sh "$OUT" || exit 2
failed=()
for bin in "$OUT"/bin/fuzz_*; do
    name=$(basename "$bin")
    mkdir -p "$OUT/corpus/$name" "$OUT/crashes/$name" "tests/fuzz/corpus/$name"
    echo "== $name (${SECONDS_EACH}s)"
    if ! "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -print_final_stats=0 \
            -artifact_prefix="$OUT/crashes/$name/" \
            "$OUT/corpus/$name" "tests/fuzz/corpus/$name" >"$OUT/$name.log" 2>&1; then
        echo "FAIL $name: see $OUT/$name.log and $OUT/crashes/$name/"
        grep -E 'ERROR|runtime error|SUMMARY' "$OUT/$name.log" | head -5
        failed+=("$name")
    else
        echo "PASS $name: $(grep -Eo "Done [0-9]+ runs.*" "$OUT/$name.log" | tail -1)"
    fi
done
[ "${#failed[@]}" -eq 0 ] || { echo "crashed: ${failed[*]}"; exit 1; }
