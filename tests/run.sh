#!/usr/bin/env bash
# Run the whole test suite against one build directory (default build/asan):
# the cmocka unit tests in <build>/tests/, then every tests/integration/*.sh.
# Integration scripts report each check as a line "PASS <name>" or
# "FAIL <name>: <why>" (tests/lib.sh); a script that exits non-zero without
# reporting a failure counts as one failure. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/asan}
export LAKEHOUSE_BIN="$PWD/$BUILD/bin"
export LAKEHOUSE_SOURCE="$PWD"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
failures=()
log_dir=$(mktemp -d /tmp/lakehouse-tests.XXXXXX)

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out="$log_dir/$name.log"
    "$t" >"$out" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("unit $name (log: $out)")
        echo "FAIL unit $name"; grep -E '^\[  (FAILED|ERROR) \]|ERROR|Sanitizer|runtime error' "$out" | head -20
    else
        echo "PASS unit $name ($p tests)"
    fi
done

for t in tests/integration/*.sh tests/fault/*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    out="$log_dir/$name.log"
    echo "== $name"
    bash "$t" >"$out" 2>&1
    rc=$?
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    grep -E '^(PASS|FAIL) ' "$out"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1; echo "FAIL $name: exited with status $rc"; tail -30 "$out"
    fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -gt 0 ] && failures+=("$name (log: $out)")
done

# The figures of the README's reliability table, from this run's logs.
summary="$BUILD/reliability.txt"
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, build $BUILD"
    grep -h '^FAULT-SUMMARY' "$log_dir"/*.log 2>/dev/null
    if [ -f "$log_dir/bad_input.log" ]; then
        echo "FAULT-SUMMARY bad_input checks=$(grep -c '^PASS ' "$log_dir/bad_input.log") failed=$(grep -c '^FAIL ' "$log_dir/bad_input.log")"
    fi
    if [ -f "$log_dir/fuzz_short.log" ]; then
        echo "FAULT-SUMMARY fuzz targets=$(grep -Ec '^(PASS|FAIL) fuzz_' "$log_dir/fuzz_short.log") crashed=$(grep -c '^FAIL fuzz_' "$log_dir/fuzz_short.log") runs=$(grep -Eo 'Done [0-9]+ runs' "$log_dir/fuzz_short.log" | awk '{ s += $2 } END { print s + 0 }')"
    fi
} >"$summary" 2>/dev/null
echo "reliability figures ($summary):"
sed 's/^/  /' "$summary"

if [ "${#failures[@]}" -gt 0 ]; then
    echo "failed:"; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
