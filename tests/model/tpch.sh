# tests/model/tpch.sh - sourced by the modelling tests (after tests/lib.sh):
# the TPC-H endpoints and data into silver, and the DuckDB oracle
# (oracle.mjs; npm @duckdb/node-api pinned by tests/model/package-lock.json,
# installed once into the test cache).
TPCH=${TPCH_DATA:-$SAMPLE_DATA/tpch-dbt3}
DEF="$LAKEHOUSE_SOURCE/tests/data/tpch"
TABLES="region nation customer supplier part partsupp orders lineitem"

# tpch_oracle_install: 1 when npm fails.
tpch_oracle_install() { npm_cached model model-oracle && ORACLE_DIR=$NPM_CACHED; }
# tpch_endpoints / tpch_send: the eight endpoints; their NDJSON sent and
# waited for in silver.
tpch_endpoints() {
    local t
    for t in $TABLES; do
        lakehouse endpoint create "$DEF/$t.json" >/dev/null || fail "endpoint create $t" "refused"
    done
}
tpch_send() {
    local t n
    for t in $TABLES; do
        lakehouse send "tpch/$t" "$TPCH/$t.ndjson" >/dev/null 2>&1 || fail "send $t" "refused"
    done
    for t in $TABLES; do
        n=$(wc -l <"$TPCH/$t.ndjson")
        wait_eq 60 "$n" sql_silver tpch "SELECT count(*) FROM \"$t\"" || fail "silver $t" "got $WAIT_LAST of $n"
    done
}
# oracle ARGS...: runs oracle.mjs (see its head), passing its PASS/FAIL
# lines through and counting its failures (a crash is one).
oracle() {
    local out rc n
    out=$(node "$ORACLE_DIR/oracle.mjs" --defs "$DEF" --gold "$LAKEHOUSE_DATA/gold" "$@" 2>&1); rc=$?
    [ -n "$out" ] && echo "$out"
    n=$(grep -c '^FAIL ' <<<"$out")
    TEST_FAILURES=$((TEST_FAILURES + n))
    if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then fail "oracle $*" "exit $rc"; fi
}
