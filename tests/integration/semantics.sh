#!/usr/bin/env bash
# Table semantics on real data: deletes ("_op":"delete") with tombstones that
# keep a late, older record from bringing a row back (also through replay),
# and sequence_by on the vega-datasets earthquakes feed (newer versions sent
# first, older ones after: silver keeps the newer). Expectations are
# computed from the source files with jq and sqlite3 alone.
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }

VEGA_VERSION=3.2.1
CACHE=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/vega-datasets-$VEGA_VERSION
if [ ! -f "$CACHE/earthquakes.json" ]; then
    mkdir -p "$CACHE" "$T/npm"
    (cd "$T/npm" && npm pack --silent "vega-datasets@$VEGA_VERSION" >/dev/null 2>&1 &&
     tar xzf "vega-datasets-$VEGA_VERSION.tgz" package/data/earthquakes.json &&
     cp package/data/earthquakes.json "$CACHE/") \
        || { fail "data" "could not fetch vega-datasets@$VEGA_VERSION with npm pack"; exit 1; }
fi
QUAKES="$CACHE/earthquakes.json"

export LAKEHOUSE_RECONCILE_INTERVAL_MS=1000   # a blocked file is tried again soon
start_group || { fail "start" "group did not start"; exit 1; }
q() { lakehouse query --json "$1" | jq -r '.data[] | [.[]] | map(tostring) | join("|")'; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
last_snapshot() { sql_silver "$1" "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$2';"; }
merged_files() { sql_silver "$1" "SELECT count(*) FROM _ledger WHERE table_name='$2';" 2>/dev/null; }
# records of the table's merged files (wait for it to know a batch is merged)
merged_records() { sql_silver "$1" "SELECT coalesce(sum(records), 0) FROM _ledger WHERE table_name='$2';" 2>/dev/null; }

# ---- deletes (flights, key = row number) ------------------------------------
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key < 2000;" > "$T/rows.ndjson"
# deletes carry only the key (the other required fields are absent)
src "SELECT json_object('id', key + 1, '_op', 'delete') FROM json_each(readfile('$DATA_FILE')) WHERE key < 2000 AND (key + 1) % 10 = 0;" > "$T/deletes.ndjson"
exp_after=$(src "SELECT count(*), sum(json_extract(value,'\$.delay')) FROM json_each(readfile('$DATA_FILE')) WHERE key < 2000 AND (key + 1) % 10 <> 0;")
fstate() { sql_silver air "SELECT count(*), sum(delay) FROM flights;" 2>/dev/null; }

lakehouse send air/flights "$T/rows.ndjson" >/dev/null
if wait_eq 60 2000 sql_silver air "SELECT count(*) FROM flights;"; then pass "rows merged"; else fail "rows merged" "got $WAIT_LAST"; fi
S1=$(last_snapshot air flights)
out=$(lakehouse send air/flights "$T/deletes.ndjson" 2>&1)
check_eq "deletes accepted without the other required fields" "sent 200 records: 200 accepted, 0 refused (1 batches)" "$out"
if wait_eq 60 "$exp_after" fstate; then pass "deletes remove their keys"; else fail "deletes remove their keys" "got $WAIT_LAST"; fi
check_eq "no deleted key left" 0 "$(sql_silver air "SELECT count(*) FROM flights WHERE id % 10 = 0;")"
check_eq "bronze keeps the delete marker" 200 "$(lz4cat "$LAKEHOUSE_DATA"/bronze/air/flights/*/*.lz4 | grep -c '"_op":"delete"')"
check_eq "snapshots count rows_deleted" 200 \
    "$(sql_silver air "SELECT sum(rows_deleted) FROM _snapshots WHERE table_name='flights' AND snapshot_id > $S1;")"
check_eq "change feed shows the deletes" "delete|200" \
    "$(q "SELECT _change_type, count(*) FROM air.silver.flights@changes($((S1 + 1))) GROUP BY 1")"
check_eq "history versions of deleted keys are closed" 0 \
    "$(sql_silver air "SELECT count(*) FROM _h_flights WHERE id % 10 = 0 AND _valid_to IS NULL;")"
check_eq "time travel before the deletes still has the rows" 2000 "$(q "SELECT count(*) FROM air.silver.flights@$S1")"
check_eq "SCD2: a deleted key has no current version" "1|0" \
    "$(q "SELECT count(*), max(_is_current) FROM air.silver.flights@scd2 AS h WHERE h.id = 10")"

# refusals: a wrong operation, a delete without its key, a table without a key
printf '%s\n' '{"id":5,"_op":"upsert"}' '{"_op":"delete","delay":3}' > "$T/bad.ndjson"
out=$(lakehouse send air/flights "$T/bad.ndjson" 2>&1)
case "$out" in *"the only operation is \"delete\""*"primary key is missing"*) pass "bad deletes refused with reasons";; *) fail "bad deletes refused with reasons" "$out";; esac
check_eq "refused deletes kept in rejected/" 2 "$(cat "$LAKEHOUSE_DATA"/rejected/air/flights/*.ndjson | wc -l)"
cat > "$T/nokey.json" <<'J'
{"domain": "air", "name": "nokey", "mode": "MANUAL", "columns": [{"name": "id", "type": "integer"}]}
J
lakehouse endpoint create "$T/nokey.json" >/dev/null
out=$(echo '{"id":1,"_op":"delete"}' | lakehouse send air/nokey - 2>&1)
case "$out" in *"has no primary key, so a delete cannot name a row"*) pass "delete on a table without key refused";; *) fail "delete on a table without key refused" "$out";; esac

# a late, older file merged after the deletes cannot bring the rows back: the
# first file is merged again (its ledger row removed while the group is down)
if stop_group; then pass "stop for the late file"; else fail "stop for the late file" "exit status"; fi
nfiles=$(merged_files air flights)
first=$(sql_silver air "SELECT file FROM _ledger WHERE table_name='flights' ORDER BY file LIMIT 1;")
sqlite3 "$LAKEHOUSE_DATA/silver/air.db" "DELETE FROM _ledger WHERE file='$first';"
start_group || { fail "restart" "group did not start"; exit 1; }
if wait_eq 60 "$nfiles" merged_files air flights; then pass "late file merged again"; else fail "late file merged again" "$(merged_files air flights)"; fi
check_eq "late older records do not resurrect deleted keys" "$exp_after" "$(fstate)"
check_eq "the late file's snapshot: all unchanged" "0|0|2000" \
    "$(sql_silver air "SELECT rows_inserted, rows_updated, rows_unchanged FROM _snapshots WHERE table_name='flights' AND source='$first' ORDER BY snapshot_id DESC LIMIT 1;")"

# a newer upsert brings a deleted key back (and removes its tombstone)
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key = 9;" | lakehouse send air/flights - >/dev/null
if wait_eq 60 1 sql_silver air "SELECT count(*) FROM flights WHERE id = 10;"; then pass "newer upsert re-inserts a deleted key"; else fail "newer upsert re-inserts a deleted key" "$WAIT_LAST"; fi
check_eq "its tombstone is gone" "0|199" "$(sql_silver air "SELECT count(*) FILTER (WHERE id = 10), count(*) FROM _d_flights;")"
exp_back=$(sql_silver air "SELECT count(*), sum(delay) FROM flights;")

# replay = live
before=$(sql_silver air "SELECT count(*), sum(delay), sum(_seq) FROM flights;")
check_cmd "replay" lakehouse replay air/flights
check_eq "replay equals live (deletes, tombstones, late file)" "$before" \
    "$(sql_silver air "SELECT count(*), sum(delay), sum(_seq) FROM flights;")"
check_eq "replay keeps the tombstones" 199 "$(sql_silver air "SELECT count(*) FROM _d_flights;")"
check_eq "state after replay" "$exp_back" "$(fstate)"

# a rollback to before the deletes brings the rows back and voids their
# tombstones (a tombstone may only name a key that has no row)
check_cmd "rollback to before the deletes" lakehouse rollback air/flights "$S1"
check_eq "rollback brings the deleted rows back" 2000 "$(sql_silver air "SELECT count(*) FROM flights;")"
check_eq "rollback leaves no tombstone of a present key" "0|0" \
    "$(sql_silver air "SELECT count(*), (SELECT count(*) FROM _d_flights d WHERE EXISTS (SELECT 1 FROM flights f WHERE f.id = d.id)) FROM _d_flights;")"
# the same deletes sent again remove the rows again (and tombstone them)
lakehouse send air/flights "$T/deletes.ndjson" >/dev/null
if wait_eq 60 "$exp_after" fstate; then pass "deletes after the rollback apply"; else fail "deletes after the rollback apply" "got $WAIT_LAST"; fi
check_eq "deletes after the rollback keep tombstones" 200 "$(sql_silver air "SELECT count(*) FROM _d_flights;")"

# ---- sequence_by (earthquakes: key id, sequence updated) ---------------------
cat > "$T/quakes.json" <<'J'
{"domain": "geo", "name": "quakes", "mode": "MANUAL", "sequence_by": "updated",
 "columns": [
  {"name": "id", "type": "string", "required": true, "primary_key": true},
  {"name": "updated", "type": "integer", "required": true},
  {"name": "mag", "type": "float"},
  {"name": "place", "type": "string"}]}
J
check_cmd "endpoint with sequence_by" lakehouse endpoint create "$T/quakes.json"
check_eq "sequence_by is kept in the schema" updated "$(lakehouse endpoint show geo/quakes 2>/dev/null | grep -o '"sequence_by": *"[a-z]*"' | grep -o '"updated"' | tr -d '"')"
n=$(jq '.features | length' "$QUAKES")
# newer versions (updated + 60000, place marked) first, the original (older) ones after
jq -c '.features[] | {id, updated: (.properties.updated + 60000), mag: .properties.mag, place: ("v2 " + (.properties.place // ""))}' "$QUAKES" > "$T/newer.ndjson"
jq -c '.features[] | {id, updated: .properties.updated, mag: .properties.mag, place: .properties.place}' "$QUAKES" > "$T/older.ndjson"
exp_newer="$n|$(jq '[.features[].properties.updated + 60000] | add' "$QUAKES")|$n"
qstate() { sql_silver geo "SELECT count(*), sum(updated), count(*) FILTER (WHERE place LIKE 'v2 %') FROM quakes;" 2>/dev/null; }
lakehouse send geo/quakes "$T/newer.ndjson" >/dev/null
if wait_eq 60 "$exp_newer" qstate; then pass "newer versions merged"; else fail "newer versions merged" "got $WAIT_LAST"; fi
SQ1=$(last_snapshot geo quakes)
lakehouse send geo/quakes "$T/older.ndjson" >/dev/null
if wait_eq 60 $((2 * n)) merged_records geo quakes; then pass "older versions merged"; else fail "older versions merged" "$WAIT_LAST records"; fi
check_eq "silver keeps the newer versions" "$exp_newer" "$(qstate)"
check_eq "older versions counted unchanged" "0|0|$n" \
    "$(sql_silver geo "SELECT sum(rows_inserted), sum(rows_updated), sum(rows_unchanged) FROM _snapshots WHERE table_name='quakes' AND snapshot_id > $SQ1;")"
# ties: the same sequence value, the later record wins
first_id=$(jq -r '.features[0].id' "$QUAKES")
head -1 "$T/newer.ndjson" | jq -c '.place = "tie"' | lakehouse send geo/quakes - >/dev/null
if wait_eq 60 tie sql_silver geo "SELECT place FROM quakes WHERE id = '$first_id';"; then pass "tie: the later record wins"; else fail "tie: the later record wins" "$WAIT_LAST"; fi
# deletes are ordered by the sequence value too
upd=$(jq '.features[0].properties.updated' "$QUAKES")
echo "{\"id\":\"$first_id\",\"updated\":$upd,\"_op\":\"delete\"}" | lakehouse send geo/quakes - >/dev/null
second_id=$(jq -r '.features[1].id' "$QUAKES")
upd2=$(jq '.features[1].properties.updated + 120000' "$QUAKES")
echo "{\"id\":\"$second_id\",\"updated\":$upd2,\"_op\":\"delete\"}" | lakehouse send geo/quakes - >/dev/null
if wait_eq 60 "$((n - 1))" sql_silver geo "SELECT count(*) FROM quakes;"; then pass "a newer delete removes its key"; else fail "a newer delete removes its key" "$WAIT_LAST"; fi
check_eq "an older delete leaves the newer row" 1 "$(sql_silver geo "SELECT count(*) FROM quakes WHERE id = '$first_id';")"
sed -n 2p "$T/newer.ndjson" | lakehouse send geo/quakes - >/dev/null
wait_eq 60 $((2 * n + 4)) merged_records geo quakes
check_eq "an older record after a newer delete stays deleted" 0 "$(sql_silver geo "SELECT count(*) FROM quakes WHERE id = '$second_id';")"
out=$(echo "{\"id\":\"$second_id\",\"_op\":\"delete\"}" | lakehouse send geo/quakes - 2>&1)
case "$out" in *"field 'updated': a delete on an endpoint with sequence_by must carry it"*) pass "delete without the sequence value refused";; *) fail "delete without the sequence value refused" "$out";; esac
before=$(sql_silver geo "SELECT count(*), sum(updated), group_concat(place) FROM (SELECT * FROM quakes ORDER BY id);")
check_cmd "replay quakes" lakehouse replay geo/quakes
check_eq "replay equals live (sequence_by)" "$before" \
    "$(sql_silver geo "SELECT count(*), sum(updated), group_concat(place) FROM (SELECT * FROM quakes ORDER BY id);")"

# schema rules
bad_schema() { # NAME EXPECTED-TEXT JSON
    echo "$3" > "$T/bad.json"
    local o; o=$(lakehouse endpoint create "$T/bad.json" 2>&1)
    case "$o" in *"$2"*) pass "$1";; *) fail "$1" "$o";; esac
}
bad_schema "sequence_by on a string column refused" "sequence_by column 'place' is string" \
    '{"domain":"geo","name":"q2","sequence_by":"place","columns":[{"name":"id","type":"string","primary_key":true},{"name":"place","type":"string"}]}'
bad_schema "sequence_by of an unknown column refused" "sequence_by 'nope' is not a column" \
    '{"domain":"geo","name":"q2","sequence_by":"nope","columns":[{"name":"id","type":"string","primary_key":true}]}'
bad_schema "sequence_by without a key refused" "sequence_by needs a primary key" \
    '{"domain":"geo","name":"q2","sequence_by":"t","columns":[{"name":"t","type":"timestamp"}]}'
bad_schema "changing sequence_by refused" "sequence_by: changing it from 'updated' to ''" \
    "$(jq -c 'del(.sequence_by)' "$T/quakes.json")"

# ---- expectations (flights) -------------------------------------------------
exp_schema() { # ACTION-OF-origin_code
    cat <<J
{"domain": "air", "name": "checked", "mode": "MANUAL",
 "expectations": [
  {"name": "short_haul", "rule": "distance < 2000", "action": "warn"},
  {"name": "delay_sane", "rule": "delay < 300", "action": "drop"},
  {"name": "origin_code", "rule": "origin IS NOT NULL AND length(origin) = 3", "action": "$1"}],
 "columns": [
  {"name": "date", "type": "timestamp", "format": "%Y/%m/%d %H:%M"},
  {"name": "delay", "type": "integer"}, {"name": "distance", "type": "integer"},
  {"name": "origin", "type": "string"}, {"name": "destination", "type": "string"}]}
J
}
exp_schema fail > "$T/checked.json"
check_cmd "endpoint with expectations" lakehouse endpoint create "$T/checked.json"
counts=$(src "SELECT count(*) - sum(json_extract(value,'\$.delay') >= 300), sum(json_extract(value,'\$.delay') >= 300), sum(json_extract(value,'\$.distance') >= 2000) FROM json_each(readfile('$DATA_FILE'));")
kept=${counts%%|*}; rest=${counts#*|}; dropped=${rest%%|*}; long=${rest#*|}
lakehouse send air/checked "$DATA_FILE" >/dev/null
if wait_eq 120 20000 merged_records air checked; then pass "checked flights merged"; else fail "checked flights merged" "$WAIT_LAST"; fi
check_eq "drop: records failing delay_sane are not in silver" "$kept|0" \
    "$(sql_silver air "SELECT count(*), count(*) FILTER (WHERE delay >= 300) FROM checked;")"
check_eq "counts per rule (warn kept, drop dropped)" "delay_sane|drop|$dropped
origin_code|fail|0
short_haul|warn|$long" \
    "$(sql_silver air "SELECT rule, action, sum(failed) FROM _expectations WHERE table_name='checked' GROUP BY rule ORDER BY rule;")"
check_eq "warn keeps the records" "$long" "$(sql_silver air "SELECT count(*) FROM checked WHERE distance >= 2000;")"
check_eq "every snapshot has a count per rule" "0|0" \
    "$(sql_silver air "SELECT count(*) FILTER (WHERE n <> 3), (SELECT count(*) FROM _snapshots WHERE table_name='checked') - count(*) FROM (SELECT s.snapshot_id, (SELECT count(*) FROM _expectations e WHERE e.snapshot_id = s.snapshot_id) AS n FROM _snapshots s WHERE s.table_name = 'checked');")"
# the same counts through the query API: t@expectations (CLI and HTTP)
check_eq "t@expectations: counts per rule through lakehouse query" "delay_sane|drop|$dropped
origin_code|fail|0
short_haul|warn|$long" \
    "$(q "SELECT rule, action, sum(failed) FROM air.silver.checked@expectations GROUP BY rule ORDER BY rule")"
check_eq "t@expectations: one row per rule per snapshot, each with its commit time" \
    "$(sql_silver air "SELECT count(*) FROM _expectations WHERE table_name='checked';")|0" \
    "$(q "SELECT count(*), count(*) FILTER (WHERE committed_at IS NULL) FROM air.silver.checked@expectations")"
check_eq "t@expectations over HTTP" "$dropped" \
    "$(curl -sS -G "http://$LAKEHOUSE_LISTEN/consumption/query" \
        --data-urlencode "sql=SELECT sum(failed) AS n FROM air.silver.checked@expectations WHERE rule = 'delay_sane'" | jq -r '.data[0].n')"
check_eq "t@expectations of a table without rules is empty" 0 \
    "$(q "SELECT count(*) FROM air.silver.flights@expectations")"
out=$(lakehouse query "SELECT * FROM air.silver.nosuch@expectations" 2>&1)
if [[ "$out" == *"air.silver.nosuch@expectations: no such table"* ]]; then pass "t@expectations of an unknown table refused"; else
    fail "t@expectations of an unknown table refused" "$out"; fi
check_eq "dropped records in rejected/ with the rule's name" "$dropped|$dropped" \
    "$(cat "$LAKEHOUSE_DATA"/rejected/air/checked/*-expectations.ndjson | jq -s '[length, (map(select(.reason == "expectation delay_sane failed" and .record.delay >= 300 and .batch_id != null)) | length)] | join("|")' -r)"
# fail: the file stops, stays pending, and other tables go on
echo '{"date":"2001/01/01 10:00","delay":1,"distance":100,"origin":"XXXX","destination":"SEA"}' | lakehouse send air/checked - >/dev/null
if wait_until 60 grep -q 'merge_blocked .*table=air.checked reason="expectation origin_code failed on line 1' "$T/group.log"; then pass "fail: the merge stops and says why"; else fail "fail: the merge stops and says why" "$(grep -c merge_blocked "$T/group.log")"; fi
check_eq "fail: nothing of the file merged" 20000 "$(merged_records air checked)"
before=$(merged_records air flights)
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key = 19;" | lakehouse send air/flights - >/dev/null
if wait_eq 60 $((before + 1)) merged_records air flights; then pass "fail: other tables go on"; else fail "fail: other tables go on" "$WAIT_LAST"; fi
check_eq "fail: the file is kept pending, not quarantined" 0 "$(sql_silver air "SELECT count(*) FROM _quarantine WHERE table_name='checked';")"
# relaxing the rule (a new schema version) lets the pending file merge
exp_schema warn > "$T/checked.json"
check_cmd "new version with origin_code as warn" lakehouse endpoint create "$T/checked.json"
if wait_eq 60 20001 merged_records air checked; then pass "the pending file merges after the rule changed"; else fail "the pending file merges after the rule changed" "$WAIT_LAST"; fi
check_eq "its warning is counted" 1 "$(sql_silver air "SELECT sum(failed) FROM _expectations WHERE table_name='checked' AND rule='origin_code';")"
# rules are checked when the endpoint is created: pure expressions over the columns only
bad_rule() { # NAME RULE EXPECTED-TEXT
    jq -c --arg r "$2" '.name = "bad" | .expectations = [{"name":"r1","rule":$r,"action":"warn"}]' "$T/checked.json" > "$T/bad.json"
    local o; o=$(lakehouse endpoint create "$T/bad.json" 2>&1)
    case "$o" in *"$3"*) pass "$1";; *) fail "$1" "$o";; esac
}
bad_rule "rule reading a table refused" "(SELECT count(*) FROM sqlite_master) > 0" "rule \"(SELECT count(*) FROM sqlite_master) > 0\" is not a valid expression"
bad_rule "rule with a second statement refused" "1; DROP TABLE x" "is not a valid expression"
bad_rule "rule on an unknown column refused" "nope > 1" "no such column: nope"
bad_rule "rule escaping the expression refused" "1) FROM sqlite_master --" "is not a valid expression"
bad_rule "rule with a pragma refused" "(SELECT * FROM pragma_table_info('x')) IS NULL" "is not a valid expression"

stop_group
finish
