#!/usr/bin/env bash
# Bronze exported as append-only Iceberg tables (processor): an endpoint with
# a schema (air/flights) and one without (its catalog entry deleted, the data
# kept: the bronze query form is one JSON column `record`). The rows icebird
# and DuckDB read equal `lakehouse query` on the bronze table; a second export
# appends (one more manifest, the earlier data files kept); the export state
# records the bronze files covered; a kill -9 during an export leaves the
# hinted version whole and the next export neither loses nor repeats a file.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }
DATA_FILE="$SHARED_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
export TZ=UTC LAKEHOUSE_QUERY_MAX_ROWS=200000
export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=3600   # only `lakehouse export` exports here
start_group || { fail "start" "group did not start"; exit 1; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
bronze_count() { lakehouse query --json "SELECT count(*) AS n FROM $1" 2>/dev/null | jq -r '.data[0].n'; }
# the bronze query form as JSON rows (booleans as SQLite gives them: 0/1)
bronze_rows() { lakehouse query --json "SELECT * FROM $1" | jq '.data'; }
check_table() { # DIR ROWS LABEL
    node "$READERS/table_check.mjs" "$1" "$2" 0 "[]" _seq | sed "s/^\(PASS\|FAIL\) /\1 $3: /"
}

# ---- an endpoint with a schema --------------------------------------------------
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 5000;" >"$T/flights.ndjson"
lakehouse send air/flights "$T/flights.ndjson" >/dev/null
if wait_eq 120 5000 sql_silver air "SELECT count(*) FROM flights;"; then pass "flights merged"; else fail "flights merged" "got $WAIT_LAST"; fi
out=$(lakehouse export air/flights --wait 2>&1)
check_eq "export covers silver and bronze" "exported 2 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" "$out"
BD="$LAKEHOUSE_DATA/iceberg/air_bronze/flights"
check_cmd "bronze table layout" test -f "$BD/metadata/v1.metadata.json" -a -d "$BD/data"
check_eq "version hint" "1" "$(cat "$BD/metadata/version-hint.text" 2>/dev/null)"
check_eq "bronze columns: the query form's, without _file" \
    "$(lakehouse query --json "SELECT * FROM air.bronze.flights LIMIT 1" | jq -c '[.columns[] | if type == "object" then .name else . end | select(. != "_file")]')" \
    "$(jq -c '[.schemas[-1].fields[].name]' "$BD/metadata/v1.metadata.json")"
check_eq "metadata column types" '["timestamptz","long","int","string","string"]' \
    "$(jq -c '[.schemas[-1].fields[-5:][].type]' "$BD/metadata/v1.metadata.json")"
bronze_rows air.bronze.flights >"$T/b1.rows.json"
check_table "$BD" "$T/b1.rows.json" "bronze v1"
files1=$(find "$LAKEHOUSE_DATA/bronze/air/flights" -name '*.ndjson.lz4' | wc -l)
check_eq "the commit records the bronze files covered" "$files1" \
    "$(sql_silver air "SELECT count(*) FROM _iceberg_bronze_files WHERE endpoint='flights';")"

# ---- an append: a new snapshot, one more manifest, earlier data files kept -------
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 1000 OFFSET 5000;" >"$T/more.ndjson"
lakehouse send air/flights "$T/more.ndjson" >/dev/null
if wait_eq 120 6000 sql_silver air "SELECT count(*) FROM flights;"; then pass "more merged"; else fail "more merged" "got $WAIT_LAST"; fi
data1=$(ls "$BD/data" | sort)
check_cmd "second export" lakehouse export air/flights
check_eq "version hint 2" "2" "$(cat "$BD/metadata/version-hint.text")"
check_eq "operation append, parent linked, 6000 records" "append|true|6000" \
    "$(jq -r '.snapshots[-1] as $s | [$s.summary.operation, ($s["parent-snapshot-id"] != null), $s.summary["total-records"]] | join("|")' "$BD/metadata/v2.metadata.json")"
check_eq "earlier data files kept" "" "$(comm -23 <(echo "$data1") <(ls "$BD/data" | sort))"
check_eq "two manifests committed" "2" \
    "$(sql_silver air "SELECT count(*) FROM _iceberg_bronze_manifests WHERE endpoint='flights';")"
bronze_rows air.bronze.flights >"$T/b2.rows.json"
check_table "$BD" "$T/b2.rows.json" "bronze v2"
out=$(lakehouse export air/flights 2>&1)
check_eq "nothing new: nothing exported" "exported 0 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" "$out"

# ---- an endpoint without a schema: one JSON column `record` ---------------------
echo '{"domain": "web", "name": "raw", "mode": "MANUAL", "columns": [{"name": "k", "type": "integer"}]}' >"$T/raw.json"
check_cmd "raw endpoint create" lakehouse endpoint create "$T/raw.json"
for i in $(seq 1 300); do echo "{\"k\":$i,\"extra\":{\"n\":$i,\"s\":\"x$i\"},\"flag\":$((i % 2 == 0))}"; done |
    sed 's/"flag":1/"flag":true/; s/"flag":0/"flag":false/' >"$T/raw.ndjson"
lakehouse send web/raw "$T/raw.ndjson" >/dev/null
if wait_eq 120 300 sql_silver web "SELECT count(*) FROM raw;"; then pass "raw merged"; else fail "raw merged" "got $WAIT_LAST"; fi
check_cmd "raw endpoint delete (data kept)" lakehouse endpoint delete web/raw
check_eq "bronze query form without a schema" "record" \
    "$(lakehouse query --json "SELECT * FROM web.bronze.raw LIMIT 1" | jq -r '[.columns[] | if type == "object" then .name else . end][0]')"
check_cmd "export the schemaless bronze" lakehouse export web/raw
RD="$LAKEHOUSE_DATA/iceberg/web_bronze/raw"
check_eq "schemaless columns" '["record","_insert_date","_seq","_schema_version","_batch_id","_rescued"]' \
    "$(jq -c '[.schemas[-1].fields[].name]' "$RD/metadata/v1.metadata.json")"
bronze_rows web.bronze.raw >"$T/raw.rows.json"
check_table "$RD" "$T/raw.rows.json" "schemaless bronze"

# ---- the REST catalog lists and loads the bronze namespace ------------------------
check_eq "catalog lists air_bronze tables" '["flights"]' \
    "$(curl -s "http://$LAKEHOUSE_LISTEN/iceberg/v1/lakehouse/namespaces/air_bronze/tables" | jq -c '[.identifiers[].name]')"
check_eq "catalog loads air_bronze.flights" "$BD/metadata/v2.metadata.json" \
    "$(curl -s "http://$LAKEHOUSE_LISTEN/iceberg/v1/lakehouse/namespaces/air_bronze/tables/flights" | jq -r '."metadata-location"')"

# ---- kill -9 during exports: the hinted version stays whole, no file lost or repeated
kills=0
for k in 1 2 3 4; do
    src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 2000 OFFSET $((4000 + k * 2000));" |
        lakehouse send air/flights >/dev/null
    wait_eq 120 $((6000 + k * 2000)) sql_silver air "SELECT count(*) FROM flights;" >/dev/null
    lakehouse export air/flights >/dev/null 2>&1 &
    exporter=$!
    sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
    pid=$(cat "$LAKEHOUSE_DATA/run/processor.pid" 2>/dev/null)
    if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
        kills=$((kills + 1))
        wait_until 30 sh -c "p=\$(cat '$LAKEHOUSE_DATA/run/processor.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p"
    fi
    kill "$exporter" 2>/dev/null # the request died with the processor
    wait "$exporter" 2>/dev/null
    node "$READERS/readable_check.mjs" "$BD" "kill $k: the hinted bronze version is whole"
done
echo "kills=$kills"
check_cmd "export after the kills" lakehouse export air/flights
wait_until 30 sh -c "[ \"\$(cat '$BD/metadata/version-hint.text')\" = \"\$(sqlite3 -batch -noheader 'file:$LAKEHOUSE_DATA/silver/air.db?mode=ro' \"SELECT metadata_version FROM _iceberg_bronze_tables WHERE endpoint='flights'\")\" ]"
bronze_rows air.bronze.flights >"$T/b3.rows.json"
check_eq "after the kills: every record once" "14000|14000" \
    "$(jq -r '[length, (map(._seq) | unique | length)] | join("|")' "$T/b3.rows.json")"
check_table "$BD" "$T/b3.rows.json" "bronze after kills"
stop_group || fail "group stop" "non-zero exit"

# ---- an export that fails: retried with backoff, logged, shown as lagging, caught up
export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=1
start_group || { fail "restart" "group did not start"; exit 1; }
bronze_status() { lakehouse status --json --lag-seconds 0 | jq -r "[.iceberg[] | select(.layer == \"bronze\" and .table == \"flights\")][0] | $1"; }
if wait_until 60 sh -c "[ \"\$(lakehouse status --json | jq -r '[.iceberg[] | select(.layer == \"bronze\" and .table == \"flights\")][0].lag_snapshots')\" = 0 ]"; then
    pass "status: bronze current"; else fail "status: bronze current" "$(lakehouse status --json | jq -c .iceberg)"; fi
check_cmd "status shows the silver export's project snapshot" test \
    "$(lakehouse status --json | jq -r '.iceberg[] | select(.layer == "silver" and .table == "flights") | .exported_snapshot')" = \
    "$(sql_silver air "SELECT exported_snapshot FROM _iceberg_tables WHERE table_name='flights';")"
mv "$BD/data" "$T/bronze-data" && echo broken >"$BD/data"   # not a directory: every write fails
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 500 OFFSET 15000;" |
    lakehouse send air/flights >/dev/null
if wait_eq 120 14500 sql_silver air "SELECT count(*) FROM flights;"; then pass "rows merged while export fails"; else fail "rows merged while export fails" "got $WAIT_LAST"; fi
if wait_until 60 grep -q 'iceberg_export_failed table=air/bronze.flights reason=.*action=retry_with_backoff' "$T/group.log"; then
    pass "failure logged with table and reason"; else fail "failure logged with table and reason" "$(grep iceberg_export "$T/group.log" | tail -3)"; fi
if wait_until 60 sh -c "lakehouse status --json --lag-seconds 0 | jq -e '.iceberg[] | select(.layer == \"bronze\" and .table == \"flights\" and .state == \"lagging\" and .lag_snapshots > 0)' >/dev/null"; then
    pass "status shows the bronze export lagging"; else fail "status shows the bronze export lagging" "$(lakehouse status --json | jq -c .iceberg)"; fi
check_cmd "status text names the Iceberg export" sh -c "lakehouse status --lag-seconds 0 | grep -A20 'Iceberg export:' | grep -q 'bronze.*flights.*lagging'"
if wait_until 60 sh -c "curl -s http://$LAKEHOUSE_LISTEN/metrics | grep -Eq '^lakehouse_iceberg_export_lag_snapshots\{domain=\"air\",table=\"bronze.flights\"\} [1-9]'"; then
    pass "lag in /metrics"; else fail "lag in /metrics" "$(curl -s "http://$LAKEHOUSE_LISTEN/metrics" | grep iceberg_export_lag)"; fi
rm -f "$BD/data" && mv "$T/bronze-data" "$BD/data"
if wait_until 120 sh -c "[ \"\$(lakehouse status --json | jq -r '[.iceberg[] | select(.layer == \"bronze\" and .table == \"flights\")][0].lag_snapshots')\" = 0 ]"; then
    pass "caught up after the failure"; else fail "caught up after the failure" "$(lakehouse status --json | jq -c .iceberg)"; fi
if wait_until 60 sh -c "curl -s http://$LAKEHOUSE_LISTEN/metrics | grep -q '^lakehouse_iceberg_export_lag_snapshots{domain=\"air\",table=\"bronze.flights\"} 0'"; then
    pass "metrics: lag back to 0"; else fail "metrics: lag back to 0" "$(curl -s "http://$LAKEHOUSE_LISTEN/metrics" | grep iceberg_export_lag)"; fi
check_cmd "export duration in /metrics" sh -c "curl -s http://$LAKEHOUSE_LISTEN/metrics | grep -q '^lakehouse_iceberg_export_duration_seconds_count{domain=\"air\",table=\"bronze.flights\"}'"
bronze_rows air.bronze.flights >"$T/b4.rows.json"
check_table "$BD" "$T/b4.rows.json" "bronze after the failure"
stop_group || fail "group stop" "non-zero exit"
exit 0
