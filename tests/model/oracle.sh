# tests/model/oracle.sh - sourced by the modelling tests: installs DuckDB
# (npm @duckdb/node-api, pinned by tests/model/package-lock.json) once into a
# cache directory keyed by the lock file's hash, and runs oracle.mjs from
# there (Node resolves an ES module's imports from the script's directory).
# model_oracle_install: 1 when npm fails.
model_oracle_install() {
    local src="$LAKEHOUSE_SOURCE/tests/model" hash
    hash=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
    ORACLE_DIR=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/model-oracle-$hash
    if [ ! -f "$ORACLE_DIR/.installed" ]; then
        mkdir -p "$ORACLE_DIR" &&
        cp "$src/package.json" "$src/package-lock.json" "$ORACLE_DIR/" &&
        (cd "$ORACLE_DIR" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) &&
        touch "$ORACLE_DIR/.installed" || return 1
    fi
    cp "$src/oracle.mjs" "$ORACLE_DIR/"
}
# oracle ARGS...: runs oracle.mjs (see its head), passing its PASS/FAIL
# lines through and counting its failures (a crash is one).
oracle() {
    local out rc
    out=$(node "$ORACLE_DIR/oracle.mjs" --defs "$LAKEHOUSE_SOURCE/tests/data/tpch" \
        --gold "$LAKEHOUSE_DATA/gold" "$@" 2>&1); rc=$?
    [ -n "$out" ] && echo "$out"
    local n; n=$(grep -c '^FAIL ' <<<"$out")
    TEST_FAILURES=$((TEST_FAILURES + n))
    if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then fail "oracle $*" "exit $rc"; fi
}
