#!/usr/bin/env bash
# Gold tables exported as Iceberg v2 tables (transformer, iceberg_export =
# local): an overwrite job and an upsert (unique_key) job over flights-20k,
# exported by `lakehouse export`, read by icebird and by DuckDB over the data
# files and compared with `lakehouse query` of the gold table, again after a
# second run; the pointer and state in gold/<domain>.db; types from the
# values; kill -9 of the transformer while it exports a larger table leaves
# the hinted version whole; files a crashed export left are swept at start;
# the periodic export picks up a changed gold table by itself.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
KILLS=${ICEBERG_CRASH_KILLS:-4}
iceberg_test_start 200000
silver_last() { sql_silver air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='flights';"; }
gold_last() { sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$1';"; }
# the silver snapshot the latest run of a gold table read
gold_read() {
    sql_gold air "SELECT l.input_snapshot_id FROM _lineage l WHERE l.snapshot_id =
                  (SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$1');" 2>/dev/null
}
# wait until every named gold table was built from the newest silver snapshot
wait_gold() {
    local s t; s=$(silver_last)
    for t in "$@"; do wait_eq 120 "$s" gold_read "$t" >/dev/null || return 1; done
}
rows_of() { lakehouse query --json "SELECT * FROM air.gold.$1" | jq '.data' >"$T/$1.$2.rows.json"; }
check_table() { # TABLE TAG IDENTIFIER_IDS
    rows_of "$1" "$2"
    node "$READERS/table_check.mjs" "$LAKEHOUSE_DATA/iceberg/air_gold/$1" "$T/$1.$2.rows.json" \
        "$(gold_last "$1")" "$3" | sed "s/^\(PASS\|FAIL\) /\1 $1 $2: /"
}

check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
mkdir -p "$T/jobs"
cat >"$T/jobs/delay_full.sql" <<'EOF'
-- domain: air
-- write_mode: overwrite
SELECT origin, substr(date, 1, 10) AS day, count(*) AS flights, sum(delay) AS total_delay,
       avg(distance) AS avg_distance
FROM air.silver.flights GROUP BY 1, 2
EOF
cat >"$T/jobs/delay_up.sql" <<'EOF'
-- domain: air
-- unique_key: origin, day
SELECT origin, substr(date, 1, 10) AS day, count(*) AS flights
FROM air.silver.flights GROUP BY 1, 2
EOF
check_cmd "job add (overwrite, upsert)" lakehouse job add "$T/jobs"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE'));" >"$T/flights.ndjson"
lakehouse send air/flights "$T/flights.ndjson" >/dev/null
if wait_eq 120 20000 sql_silver air "SELECT count(*) FROM flights;"; then pass "flights merged"; else fail "flights merged" "got $WAIT_LAST"; fi
if wait_gold delay_full delay_up; then pass "gold jobs ran"; else fail "gold jobs ran" "lineage $(gold_read delay_full) vs $(silver_last)"; fi

# ---- first export -------------------------------------------------------------
out=$(lakehouse export air --wait 2>&1)
check_cmd "export names the gold tables" grep -qx "gold: exported 2 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" <<<"$out"
FD="$LAKEHOUSE_DATA/iceberg/air_gold/delay_full"
UD="$LAKEHOUSE_DATA/iceberg/air_gold/delay_up"
check_cmd "gold table layout" test -f "$FD/metadata/v1.metadata.json" -a -d "$FD/data" -a -f "$UD/metadata/v1.metadata.json"
check_eq "version hint" "1" "$(cat "$FD/metadata/version-hint.text" 2>/dev/null)"
check_eq "pointer in the gold database" "1|$(gold_last delay_full)|$FD/metadata/v1.metadata.json" \
    "$(sql_gold air "SELECT metadata_version, exported_snapshot, metadata_file FROM _iceberg_tables WHERE table_name='delay_full';")"
check_eq "gold database at layout version 3" "3" "$(sql_gold air "PRAGMA user_version;")"
check_eq "types from the values" '["string","string","long","long","double"]' \
    "$(jq -c '[.schemas[-1].fields[].type]' "$FD/metadata/v1.metadata.json")"
check_eq "Iceberg timestamp = the gold snapshot's commit time" \
    "$(sql_gold air "SELECT CAST(strftime('%s', committed_at) AS INTEGER) * 1000 + CAST(substr(strftime('%f', committed_at), 4) AS INTEGER) FROM _snapshots WHERE snapshot_id = $(gold_last delay_full);")" \
    "$(jq -r '.snapshots[-1]["timestamp-ms"]' "$FD/metadata/v1.metadata.json")"
check_table delay_full v1 "[]"
check_table delay_up v1 "[1,2]"   # unique_key origin, day: no NULL in either

# ---- a second run: new rows, new gold snapshots, new Iceberg versions ---------
seq 20001 20100 | while read -r i; do echo "{\"id\":$i,\"date\":\"2001/06/01 10:00\",\"delay\":1,\"distance\":2,\"origin\":\"AAA\",\"destination\":\"BBB\"}"; done >"$T/more.ndjson"
lakehouse send air/flights "$T/more.ndjson" >/dev/null
if wait_eq 60 20100 sql_silver air "SELECT count(*) FROM flights;"; then pass "more rows merged"; else fail "more rows merged" "got $WAIT_LAST"; fi
if wait_gold delay_full delay_up; then pass "gold jobs ran again"; else fail "gold jobs ran again" "lineage $(gold_read delay_full)"; fi
out=$(lakehouse export air/delay_full 2>&1)
check_eq "export of one gold table" "gold: exported 1 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" "$out"
check_eq "version hint 2" "2" "$(cat "$FD/metadata/version-hint.text")"
check_eq "two Iceberg snapshots, parent linked, metadata log" "2|true|1|overwrite" \
    "$(jq -r '[(.snapshots | length), (.snapshots[1]["parent-snapshot-id"] == .snapshots[0]["snapshot-id"]), (."metadata-log" | length), .snapshots[1].summary.operation] | join("|")' "$FD/metadata/v2.metadata.json")"
check_eq "field ids kept across versions" "$(jq -c '[.schemas[0].fields[] | [.name, .id]]' "$FD/metadata/v1.metadata.json")" \
    "$(jq -c '[.schemas[-1].fields[] | [.name, .id]]' "$FD/metadata/v2.metadata.json")"
check_table delay_full v2 "[]"
check_cmd "export of the domain" lakehouse export air
check_eq "upserted table at version 2" "2" "$(cat "$UD/metadata/version-hint.text")"
check_table delay_up v2 "[1,2]"
# an upsert run that changed few rows: only those written, not a rewrite
check_eq "upserted table exported incrementally" "incremental" \
    "$(jq -r '.snapshots[-1].summary["lakehouse.export"]' "$UD/metadata/v2.metadata.json")"
check_eq "overwrite job written whole" "overwrite" \
    "$(jq -r '.snapshots[-1].summary["lakehouse.export"]' "$FD/metadata/v2.metadata.json")"
out=$(lakehouse export air 2>&1)
check_cmd "nothing new: no gold table exported" grep -qx "gold: exported 0 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" <<<"$out"
if wait_until 30 bash -c "curl -s http://$LAKEHOUSE_LISTEN/metrics | grep -q '^lakehouse_iceberg_export_lag_snapshots{domain=\"air\",table=\"gold.delay_full\"} 0'"; then
    pass "gold export lag in /metrics"; else fail "gold export lag in /metrics" "$(curl -s "http://$LAKEHOUSE_LISTEN/metrics" | grep iceberg)"; fi
if out=$(lakehouse export air/nosuch 2>&1); then fail "a table in neither layer refused" "$out"; else
    check_cmd "a table in neither layer refused" grep -q "no silver table air/nosuch" <<<"$out"; fi

# ---- kill -9 of the transformer while it exports -------------------------------
cat >"$T/big.sql" <<'EOF'
-- domain: air
-- write_mode: overwrite
SELECT f.*, k.n FROM air.silver.flights AS f,
       (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) AS k
EOF
check_cmd "job add (a larger table)" lakehouse job add "$T/big.sql"   # a new job runs at once
if wait_gold big; then pass "big built"; else fail "big built" "lineage $(gold_read big)"; fi
check_cmd "first export of big" lakehouse export air/big
BD="$LAKEHOUSE_DATA/iceberg/air_gold/big"
KILLED=0
for k in $(seq 1 "$KILLS"); do
    iceberg_send_flight $((30000 + k)) "$k" $((20100 + k))
    wait_gold big delay_full delay_up
    iceberg_kill_export "$k" transformer air/big "$BD" "$LAKEHOUSE_DATA/gold/air.db" big
done
if [ "$KILLED" -ge $((KILLS / 2)) ]; then pass "killed the exporting transformer $KILLED times"; else fail "kills" "only $KILLED landed"; fi
check_cmd "export after the kills" lakehouse export air/big
rows_of big final
node "$READERS/table_check.mjs" "$BD" "$T/big.final.rows.json" "$(gold_last big)" "[]" | sed 's/^\(PASS\|FAIL\) /\1 big final: /'
stop_group || fail "group stop" "non-zero exit"

# ---- files a crashed export left: swept at start once old; the periodic export --
iceberg_plant_orphans "$FD"
export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=1
start_group || { fail "restart" "group did not start"; exit 1; }
iceberg_check_swept "$FD" "$LAKEHOUSE_DATA/gold/air.db" delay_full
exported() { sql_gold air "SELECT exported_snapshot FROM _iceberg_tables WHERE table_name='delay_full';"; }
# the kills left delay_full's newer snapshots unexported: the periodic export catches up
if wait_eq 60 "$(gold_last delay_full)" exported; then pass "periodic export catches up"; else fail "periodic export catches up" "exported $WAIT_LAST"; fi
version=$(sql_gold air "SELECT metadata_version FROM _iceberg_tables WHERE table_name='delay_full';")
echo '{"id":40001,"date":"2001/06/03 10:00","delay":7,"distance":9,"origin":"PER","destination":"IOD"}' | lakehouse send air/flights >/dev/null
if wait_until 90 test -f "$FD/metadata/v$((version + 1)).metadata.json"; then pass "periodic export of a changed gold table"; else fail "periodic export of a changed gold table" "no v$((version + 1))"; fi
wait_until 10 grep -qx "$((version + 1))" "$FD/metadata/version-hint.text"
wait_gold delay_full
check_eq "periodic export equals the newest gold snapshot" "$(gold_last delay_full)" \
    "$(jq -r '.snapshots[-1].summary["lakehouse.snapshot-id"]' "$FD/metadata/v$((version + 1)).metadata.json")"
check_table delay_full periodic "[]"
stop_group || fail "group stop" "non-zero exit"
exit 0
