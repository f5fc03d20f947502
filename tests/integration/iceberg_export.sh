#!/usr/bin/env bash
# Silver tables exported as Iceberg v2 tables (processor, iceberg_export =
# local): flights-20k and a table of every column type with nulls, exported
# by `lakehouse export`, read by icebird (an Iceberg reader) and by DuckDB
# over the data files, and compared with `lakehouse query`; the commit
# pointer and export state in SQLite; a second export after new rows is a
# new metadata version whose snapshot equals the new project snapshot.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_test_start
last_snapshot() { sql_silver "$1" "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$2';"; }

# ---- flights-20k ------------------------------------------------------------
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE'));" >"$T/flights.ndjson"
lakehouse send air/flights "$T/flights.ndjson" >/dev/null
if wait_eq 120 20000 sql_silver air "SELECT count(*) FROM flights;"; then pass "flights merged"; else fail "flights merged" "got $WAIT_LAST"; fi
out=$(lakehouse export air/flights --wait 2>&1)
check_eq "lakehouse export (silver and bronze)" "exported 2 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" "$out"
TD="$LAKEHOUSE_DATA/iceberg/air_silver/flights"
check_cmd "table layout" test -f "$TD/metadata/v1.metadata.json" -a -d "$TD/data"
check_eq "version hint" "1" "$(cat "$TD/metadata/version-hint.text" 2>/dev/null)"
S=$(last_snapshot air flights)
check_eq "pointer in SQLite" "1|$S|$TD/metadata/v1.metadata.json" \
    "$(sql_silver air "SELECT metadata_version, exported_snapshot, metadata_file FROM _iceberg_tables WHERE table_name='flights';")"
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/flights.rows.json"
node "$READERS/table_check.mjs" "$TD" "$T/flights.rows.json" "$S" "[1]" id | sed 's/^\(PASS\|FAIL\) /\1 flights: /'
out=$(lakehouse export air/flights 2>&1)
if wait_until 30 bash -c "curl -s http://$LAKEHOUSE_LISTEN/metrics | grep -q '^lakehouse_iceberg_export_duration_seconds_count{domain=\"air\",table=\"flights\"} 1'"; then
    pass "export duration in /metrics"; else fail "export duration in /metrics" "$(curl -s "http://$LAKEHOUSE_LISTEN/metrics" | grep iceberg)"; fi
if wait_until 30 bash -c "curl -s http://$LAKEHOUSE_LISTEN/metrics | grep -q '^lakehouse_iceberg_export_lag_snapshots{domain=\"air\",table=\"flights\"} 0'"; then
    pass "export lag in /metrics"; else fail "export lag in /metrics" "$(curl -s "http://$LAKEHOUSE_LISTEN/metrics" | grep iceberg)"; fi
check_eq "nothing new: nothing exported" "exported 0 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" "$out"

# ---- every column type, with nulls ---------------------------------------------
cat >"$T/types.json" <<'JSON'
{"domain": "air", "name": "kinds", "mode": "MANUAL",
 "columns": [
  {"name": "id", "type": "integer", "required": true, "primary_key": true},
  {"name": "f", "type": "float"}, {"name": "b", "type": "boolean"},
  {"name": "d", "type": "date"}, {"name": "ts", "type": "timestamp"},
  {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
  {"name": "huge", "type": "decimal", "precision": 38, "scale": 6},
  {"name": "free", "type": "decimal"},
  {"name": "j", "type": "json"}, {"name": "a", "type": "array"}, {"name": "s", "type": "string"}
 ]}
JSON
check_cmd "types endpoint create" lakehouse endpoint create "$T/types.json"
node -e '
for (let i = 1; i <= 500; i++) {
  const n = (v) => (i % 7 === 3 ? null : v);
  const r = { id: i, f: n((i - 250) * 1.25), b: n(i % 2 === 0), d: n(new Date(Date.UTC(1960, 0, 1) + i * 86400000 * 37).toISOString().slice(0, 10)),
    ts: n(new Date(Date.UTC(1965, 0, 1) + i * 3600000 * 997).toISOString().replace(".000Z", "." + String(i).padStart(6, "0") + "Z")),
    amount: n(((i - 250) * 123.45).toFixed(2)), huge: n((i % 2 ? "-" : "") + "12345678901234567890123456789012." + String(i).padStart(6, "0")),
    free: n(String(i / 8)), j: n({ k: i, nested: [i] }), a: n([i, "x"]), s: n(i % 5 ? "näme " + i : "") };
  console.log(JSON.stringify(r));
}' >"$T/kinds.ndjson"
lakehouse send air/kinds "$T/kinds.ndjson" >/dev/null
if wait_eq 60 500 sql_silver air "SELECT count(*) FROM kinds;"; then pass "kinds merged"; else fail "kinds merged" "got $WAIT_LAST"; fi
check_cmd "export the domain" lakehouse export air
KD="$LAKEHOUSE_DATA/iceberg/air_silver/kinds"
check_eq "Iceberg types" '["long","double","boolean","date","timestamptz","decimal(12,2)","decimal(38,6)","string","string","string","string","long","timestamptz","int","string"]' \
    "$(jq -c '[.schemas[-1].fields[].type]' "$KD/metadata/v1.metadata.json")"
# json and array values are JSON text in Iceberg (string columns); booleans
# are 0/1 in SQLite
lakehouse query --json "SELECT * FROM air.silver.kinds" |
    jq '.data | map(.b |= (if . == null then null else (. == 1 or . == true) end)
                   | .j |= (if . == null then null elif type == "string" then . else tojson end)
                   | .a |= (if . == null then null elif type == "string" then . else tojson end))' >"$T/kinds.rows.json"
node "$READERS/table_check.mjs" "$KD" "$T/kinds.rows.json" "$(last_snapshot air kinds)" "[1]" id | sed 's/^\(PASS\|FAIL\) /\1 kinds: /'

# ---- a second export: new metadata version, snapshot = the new project snapshot
seq 20001 20100 | while read -r i; do echo "{\"id\":$i,\"date\":\"2001/06/01 10:00\",\"delay\":1,\"distance\":2,\"origin\":\"AAA\",\"destination\":\"BBB\"}"; done >"$T/more.ndjson"
lakehouse send air/flights "$T/more.ndjson" >/dev/null
if wait_eq 60 20100 sql_silver air "SELECT count(*) FROM flights;"; then pass "more rows merged"; else fail "more rows merged" "got $WAIT_LAST"; fi
check_cmd "second export" lakehouse export air/flights
check_eq "version hint 2" "2" "$(cat "$TD/metadata/version-hint.text")"
S2=$(last_snapshot air flights)
check_eq "two Iceberg snapshots, parent linked, metadata log" "2|true|1" \
    "$(jq -r '[(.snapshots | length), (.snapshots[1]["parent-snapshot-id"] == .snapshots[0]["snapshot-id"]), (."metadata-log" | length)] | join("|")' "$TD/metadata/v2.metadata.json")"
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/flights2.rows.json"
node "$READERS/table_check.mjs" "$TD" "$T/flights2.rows.json" "$S2" "[1]" id | sed 's/^\(PASS\|FAIL\) /\1 flights v2: /'
check_eq "field ids kept across versions" "$(jq -c '[.schemas[0].fields[] | [.name, .id]]' "$TD/metadata/v1.metadata.json")" \
    "$(jq -c '[.schemas[-1].fields[] | [.name, .id]]' "$TD/metadata/v2.metadata.json")"

# ---- errors name what is wrong ---------------------------------------------------
if out=$(lakehouse export air/nosuch 2>&1); then fail "unknown table refused" "$out"; else
    check_cmd "unknown table refused" grep -q "no silver table air/nosuch" <<<"$out"; fi
stop_group || fail "group stop" "non-zero exit"

# ---- files a crashed export left: swept at start once old, the rest kept ---------
iceberg_plant_orphans "$TD"

# ---- the periodic export: changed tables only, without `lakehouse export` ------
export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=1
start_group || { fail "restart" "group did not start"; exit 1; }
iceberg_check_swept "$TD" "$LAKEHOUSE_DATA/silver/air.db" flights
kinds_version=$(cat "$KD/metadata/version-hint.text")
seq 20101 20110 | while read -r i; do echo "{\"id\":$i,\"date\":\"2001/06/02 10:00\",\"delay\":3,\"distance\":4,\"origin\":\"CCC\",\"destination\":\"DDD\"}"; done >"$T/more2.ndjson"
lakehouse send air/flights "$T/more2.ndjson" >/dev/null
if wait_until 60 test -f "$TD/metadata/v3.metadata.json"; then pass "periodic export of a changed table"; else fail "periodic export of a changed table" "no v3"; fi
wait_until 10 grep -qx 3 "$TD/metadata/version-hint.text"
check_eq "periodic export equals the newest snapshot" "$(last_snapshot air flights)" \
    "$(jq -r '.snapshots[-1].summary["lakehouse.snapshot-id"]' "$TD/metadata/v3.metadata.json")"
check_eq "an unchanged table is not exported again" "$kinds_version" "$(cat "$KD/metadata/version-hint.text")"
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/flights3.rows.json"
node "$READERS/table_check.mjs" "$TD" "$T/flights3.rows.json" "$(last_snapshot air flights)" "[1]" id | sed 's/^\(PASS\|FAIL\) /\1 flights v3: /'
stop_group || fail "group stop" "non-zero exit"

# ---- settings ------------------------------------------------------------------
echo '{"iceberg_export": "bogus"}' >"$T/bad_ice.json"
rc=0; out=$(lakehouse config check "$T/bad_ice.json" 2>&1) || rc=$?
case "$rc:$out" in 1:*"iceberg_export 'bogus': must be off, local or s3"*) pass "config check names a bad iceberg_export";;
    *) fail "config check names a bad iceberg_export" "rc=$rc $out";; esac
echo '{"iceberg_export": "s3"}' >"$T/s3_ice.json"
rc=0; out=$(lakehouse config check "$T/s3_ice.json" 2>&1) || rc=$?
case "$rc:$out" in 1:*"iceberg_export 's3' needs s3_bucket"*) pass "config check: s3 without a bucket";;
    *) fail "config check: s3 without a bucket" "rc=$rc $out";; esac
exit 0
