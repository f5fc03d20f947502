#!/usr/bin/env bash
# kill -9 of the processor while it exports a table (at random points of the
# export and its commit), again and again: after every kill the version the
# hint names is whole (metadata, manifest list, manifests, data files with
# their sizes), the hint catches up with the pointer in SQLite at restart,
# and at the end an export succeeds and reads like `lakehouse query`.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
KILLS=${ICEBERG_CRASH_KILLS:-6}
iceberg_test_start 200000

check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
# flights-20k five times over (ids 1..100000): an export that takes a while
src "WITH k(n) AS (VALUES (0), (1), (2), (3), (4))
     SELECT json_set(value, '\$.id', key + 1 + n * 20000) FROM k, json_each(readfile('$DATA_FILE'));" >"$T/rows.ndjson"
lakehouse send air/flights "$T/rows.ndjson" >/dev/null
if wait_eq 300 100000 sql_silver air "SELECT count(*) FROM flights;"; then pass "rows merged"; else fail "rows merged" "got $WAIT_LAST"; fi
check_cmd "first export" lakehouse export air/flights
TD="$LAKEHOUSE_DATA/iceberg/air_silver/flights"

KILLED=0
for k in $(seq 1 "$KILLS"); do
    # a new project snapshot, so that the export has work to do
    iceberg_send_flight $((100000 + k)) "$k" $((100000 + k))
    iceberg_kill_export "$k" processor air/flights "$TD" "$LAKEHOUSE_DATA/silver/air.db" flights
done
echo "kills=$KILLED"
if [ "$KILLED" -ge $((KILLS / 2)) ]; then pass "killed the exporting processor $KILLED times"; else fail "kills" "only $KILLED landed"; fi

check_cmd "export after the kills" lakehouse export air/flights
S=$(sql_silver air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='flights';")
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/final.rows.json"
node "$READERS/table_check.mjs" "$TD" "$T/final.rows.json" "$S" "[1]" id | sed 's/^\(PASS\|FAIL\) /\1 final: /'
stop_group || fail "group stop" "non-zero exit"
exit 0
