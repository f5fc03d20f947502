#!/usr/bin/env bash
# kill -9 of the processor while it exports a table (at random points of the
# export and its commit), again and again: after every kill the version the
# hint names is whole (metadata, manifest list, manifests, data files with
# their sizes), the hint catches up with the pointer in SQLite at restart,
# and at the end an export succeeds and reads like `lakehouse query`.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }
DATA_FILE="$SHARED_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
KILLS=${ICEBERG_CRASH_KILLS:-6}
export TZ=UTC LAKEHOUSE_QUERY_MAX_ROWS=200000 LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=3600
start_group || { fail "start" "group did not start"; exit 1; }
src() { sqlite3 -batch -noheader :memory: "$1"; }

check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
# flights-20k five times over (ids 1..100000): an export that takes a while
src "WITH k(n) AS (VALUES (0), (1), (2), (3), (4))
     SELECT json_set(value, '\$.id', key + 1 + n * 20000) FROM k, json_each(readfile('$DATA_FILE'));" >"$T/rows.ndjson"
lakehouse send air/flights "$T/rows.ndjson" >/dev/null
if wait_eq 300 100000 sql_silver air "SELECT count(*) FROM flights;"; then pass "rows merged"; else fail "rows merged" "got $WAIT_LAST"; fi
check_cmd "first export" lakehouse export air/flights
TD="$LAKEHOUSE_DATA/iceberg/air_silver/flights"
pointer() { sql_silver air "SELECT metadata_version FROM _iceberg_tables WHERE table_name='flights';"; }

kills=0
for k in $(seq 1 "$KILLS"); do
    # a new project snapshot, so that the export has work to do
    echo "{\"id\":$((100000 + k)),\"date\":\"2001/06/01 10:00\",\"delay\":$k,\"distance\":1,\"origin\":\"K$k\",\"destination\":\"X\"}" |
        lakehouse send air/flights >/dev/null
    wait_eq 60 $((100000 + k)) sql_silver air "SELECT count(*) FROM flights;" >/dev/null
    kill_during_export air/flights
    kills=$((kills + KILLED))
    node "$READERS/readable_check.mjs" "$TD" "kill $k: the hinted version is whole"
    if wait_until 30 sh -c "[ \"\$(cat '$TD/metadata/version-hint.text')\" = \"\$(sqlite3 -batch -noheader 'file:$LAKEHOUSE_DATA/silver/air.db?mode=ro' \"SELECT metadata_version FROM _iceberg_tables WHERE table_name='flights'\")\" ]"; then
        pass "kill $k: hint equals the pointer after restart"
    else
        fail "kill $k: hint equals the pointer after restart" "hint $(cat "$TD/metadata/version-hint.text") pointer $(pointer)"
    fi
done
echo "kills=$kills"
if [ "$kills" -ge $((KILLS / 2)) ]; then pass "killed the exporting processor $kills times"; else fail "kills" "only $kills landed"; fi

check_cmd "export after the kills" lakehouse export air/flights
S=$(sql_silver air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='flights';")
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/final.rows.json"
node "$READERS/table_check.mjs" "$TD" "$T/final.rows.json" "$S" "[1]" id | sed 's/^\(PASS\|FAIL\) /\1 final: /'
stop_group || fail "group stop" "non-zero exit"
exit 0
