#!/usr/bin/env bash
# Incremental Iceberg export of a silver table: flights-20k, then an update
# batch (upserts, deletes, new rows), appends only, a rename, a drop and an
# added column, small batches until compaction, a widening, and the expiry
# of snapshots beyond the retention horizon. After every
# export the rows icebird reads, and those DuckDB recomputes from the Parquet
# files (data files anti-joined with the position deletes, columns found by
# field id), equal `lakehouse query "SELECT * FROM t@S"` for the exported S;
# the snapshot summary says whether the export was incremental (and its
# position-delete count) or why it rewrote the table.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_test_start
TD="$LAKEHOUSE_DATA/iceberg/air_silver/flights"
last_snapshot() { sql_silver air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='flights';"; }
current_meta() { echo "$TD/metadata/v$(cat "$TD/metadata/version-hint.text").metadata.json"; }
summary() { jq -r ".snapshots[-1].summary[\"$1\"]" "$(current_meta)"; }
merged_upto() { # wait until the table has a snapshot newer than $1
    wait_until 120 bash -c "[ \"\$(sqlite3 -batch -noheader 'file:$LAKEHOUSE_DATA/silver/air.db?mode=ro' \
        \"SELECT coalesce(max(snapshot_id), 0) FROM _snapshots WHERE table_name='flights'\")\" -gt $1 ]"
}
# export now and compare the table with t@S; $1 names the step
# A send's wait can end at a schema change's snapshot while its rows are still
# being merged, so the check reads the snapshot the export says it covered: at
# least the newest one before the export, and equal to t@S row for row.
export_and_check() {
    local S0 S out
    S0=$(last_snapshot)
    out=$(lakehouse export air/flights --wait 2>&1) || { fail "$1: export" "$out"; return; }
    S=$(summary lakehouse.snapshot-id)
    if [ -n "$S" ] && [ "$S" -ge "$S0" ] && [ "$S" -le "$(last_snapshot)" ]; then
        pass "$1: snapshot exported"
    else
        fail "$1: snapshot exported" "exported '$S', newest before the export $S0"
    fi
    lakehouse query --json "SELECT * FROM air.silver.flights@$S" | jq '.data' >"$T/at.rows.json"
    node "$READERS/table_check.mjs" "$TD" "$T/at.rows.json" "$S" "[1]" id | sed "s/^\(PASS\|FAIL\) /\1 $1: /"
}
# send a file and wait for its merge
send() {
    local before
    before=$(last_snapshot)
    lakehouse send air/flights "$1" >/dev/null
    if merged_upto "${before:-0}"; then pass "$2 merged"; else fail "$2 merged" "no new snapshot"; fi
}
flight() { echo "{\"id\":$1,\"date\":\"2001/06/0$(($1 % 9 + 1)) 10:00\",\"delay\":$2,\"distance\":$((100 + $1 % 50)),\"origin\":\"AAA\",\"destination\":\"BBB\"${3:-}}"; }

# ---- flights-20k: the first export writes the table --------------------------------
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
sqlite3 -batch -noheader :memory: "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE'));" >"$T/flights.ndjson"
lakehouse send air/flights "$T/flights.ndjson" >/dev/null
if wait_eq 120 20000 sql_silver air "SELECT count(*) FROM flights;"; then pass "flights merged"; else fail "flights merged" "got $WAIT_LAST"; fi
export_and_check "initial"
check_eq "initial: a full export" "first export|append" "$(summary lakehouse.export)|$(summary operation)"
data_files_v1=$(jq -r '.snapshots[-1].summary["total-data-files"]' "$(current_meta)")

# ---- an update batch: 400 upserts, 50 deletes, 100 new rows --------------------------
{ for i in $(seq 1 400); do flight "$((i * 37))" "$((i % 60))"; done
  for i in $(seq 1 50); do echo "{\"id\":$((i * 11 + 15000)),\"_op\":\"delete\"}"; done
  for i in $(seq 20001 20100); do flight "$i" 7; done; } >"$T/update.ndjson"
send "$T/update.ndjson" "update batch"
export_and_check "update batch"
check_eq "update batch: incremental, position deletes of the changed rows" "incremental|overwrite|450|500" \
    "$(summary lakehouse.export)|$(summary operation)|$(summary added-position-deletes)|$(summary added-records)"
check_eq "update batch: data files = first ones + one" "$((data_files_v1 + 1))" "$(summary total-data-files)"
check_eq "state: one position per row" "$(sql_silver air "SELECT count(*) FROM flights;")" \
    "$(sql_silver air "SELECT count(*) FROM _iceberg_rows WHERE table_name='flights';")"

# ---- appends only -------------------------------------------------------------------
for i in $(seq 20101 20150); do flight "$i" 8; done >"$T/append.ndjson"
send "$T/append.ndjson" "appended rows"
export_and_check "append"
check_eq "append: an append snapshot without deletes" "incremental|append|0|50" \
    "$(summary lakehouse.export)|$(summary operation)|$(summary added-position-deletes)|$(summary added-records)"

# ---- rename delay -> dep_delay, drop distance, add gate: metadata only ------------------
delay_id=$(jq -r '.schemas[-1].fields[] | select(.name == "delay") | .id' "$(current_meta)")
cat >"$T/v2.json" <<'JSON'
{"domain": "air", "name": "flights", "mode": "MANUAL",
 "columns": [
  {"name": "id", "type": "integer", "required": true, "primary_key": true},
  {"name": "date", "type": "timestamp", "format": "%Y/%m/%d %H:%M", "required": true},
  {"name": "dep_delay", "type": "integer", "renamed_from": "delay"},
  {"name": "origin", "type": "string", "required": true},
  {"name": "destination", "type": "string", "required": true},
  {"name": "gate", "type": "string"}]}
JSON
check_cmd "schema v2" lakehouse endpoint create "$T/v2.json"
for i in $(seq 20151 20160); do echo "{\"id\":$i,\"date\":\"2001/07/01 10:00\",\"dep_delay\":9,\"origin\":\"CCC\",\"destination\":\"DDD\",\"gate\":\"G$i\"}"; done >"$T/v2.ndjson"
echo "{\"id\":3,\"date\":\"2001/07/02 10:00\",\"dep_delay\":99,\"origin\":\"EEE\",\"destination\":\"FFF\",\"gate\":\"G3\"}" >>"$T/v2.ndjson"
send "$T/v2.ndjson" "rows of schema v2"
export_and_check "rename and drop"
check_eq "rename: dep_delay keeps the id of delay" "$delay_id" \
    "$(jq -r '.schemas[-1].fields[] | select(.name == "dep_delay") | .id' "$(current_meta)")"
check_eq "rename and drop: no rewrite" "incremental|1" "$(summary lakehouse.export)|$(summary added-position-deletes)"
check_eq "drop: distance left the schema" "" "$(jq -r '.schemas[-1].fields[] | select(.name == "distance") | .id' "$(current_meta)")"

# ---- small batches until compaction folds files, manifests and deletes ---------------
why=""
for round in $(seq 1 10); do
    for i in $(seq 1 5); do echo "{\"id\":$((round * 100 + i)),\"date\":\"2001/08/01 10:00\",\"dep_delay\":$round,\"origin\":\"GGG\",\"destination\":\"HHH\"}"; done >"$T/small.ndjson"
    send "$T/small.ndjson" "small batch $round"
    export_and_check "small batch $round"
    why=$(summary lakehouse.export)
    [ "$why" = "incremental" ] || break
done
check_eq "compaction after many manifests" "compaction: manifests" "$why"
check_eq "compaction: one data manifest, no delete file" "1|0" \
    "$(jq -r '.snapshots[-1].summary | [.["total-data-files"], .["total-delete-files"]] | join("|")' "$(current_meta)")"

# ---- widening integer -> float: a new field id and a rewrite --------------------------
sed 's/"dep_delay", "type": "integer", "renamed_from": "delay"/"dep_delay", "type": "float"/' "$T/v2.json" >"$T/v3.json"
check_cmd "schema v3 (widen)" lakehouse endpoint create "$T/v3.json"
flight 20201 1 | sed 's/"delay"/"dep_delay"/; s/,"distance":[0-9]*//' >"$T/v3.ndjson"
send "$T/v3.ndjson" "rows of schema v3"
export_and_check "widen"
check_eq "widen: rewritten with a new field id" "type change|true" \
    "$(summary lakehouse.export)|$(jq -r "[.schemas[-1].fields[] | select(.name == \"dep_delay\") | .id] | .[0] != $delay_id" "$(current_meta)")"
stop_group || fail "group stop" "non-zero exit"

# ---- expiry: snapshots beyond the retention horizon leave the metadata; files only
# they referenced are deleted once expired for the grace period ------------------------
SDB="$LAKEHOUSE_DATA/silver/air.db"
snapshots_before=$(jq '.snapshots | length' "$(current_meta)")
# as if every exported snapshot were 1000 days old (silver keeps 730)
sqlite3 "$SDB" "UPDATE _iceberg_snapshots SET timestamp_ms = timestamp_ms - 1000 * 86400000;"
start_group || { fail "restart" "group did not start"; exit 1; }
flight 20202 2 | sed 's/"delay"/"dep_delay"/; s/,"distance":[0-9]*//' >"$T/late.ndjson"
send "$T/late.ndjson" "row after the horizon moved"
export_and_check "expiry"
check_eq "expiry: only the new snapshot is left" "1" "$(jq '.snapshots | length' "$(current_meta)")"
expired=$(sql_silver air "SELECT count(*) FROM _iceberg_expired WHERE table_name='flights';")
if [ "${expired:-0}" -gt 0 ] && [ "$snapshots_before" -gt 1 ]; then pass "expiry: files of expired snapshots listed ($expired)"; else fail "expiry: files listed" "$expired"; fi
sql_silver air "SELECT path FROM _iceberg_expired WHERE table_name='flights';" >"$T/expired.txt"
still=$(while read -r f; do [ -e "$f" ] && echo x; done <"$T/expired.txt" | wc -l)
check_eq "expiry: expired files kept during the grace period" "$expired" "$still"
stop_group || fail "group stop" "non-zero exit"
sqlite3 "$SDB" "UPDATE _iceberg_expired SET expired_at_ms = expired_at_ms - 3600000;"
start_group || { fail "restart" "group did not start"; exit 1; }
if wait_until 60 bash -c "! while read -r f; do [ -e \"\$f\" ] && echo x; done <'$T/expired.txt' | grep -q x"; then
    pass "expiry: expired files deleted after the grace period"; else fail "expiry: expired files deleted" "still there"; fi
missing=$(sql_silver air "SELECT path FROM _iceberg_files WHERE table_name='flights';" | while read -r f; do [ -f "$f" ] || echo "$f"; done)
check_eq "expiry: every referenced file kept" "" "$missing"
S=$(last_snapshot)
lakehouse query --json "SELECT * FROM air.silver.flights@$S" | jq '.data' >"$T/at.rows.json"
node "$READERS/table_check.mjs" "$TD" "$T/at.rows.json" "$S" "[1]" id | sed "s/^\(PASS\|FAIL\) /\1 after expiry: /"
stop_group || fail "group stop" "non-zero exit"
exit 0
