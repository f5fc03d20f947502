#!/usr/bin/env bash
# Schema evolution declared in new MANUAL schema versions, on real data
# (flights-20k, key = row number): rename a column ("renamed_from"), drop a
# column, widen a column to string ("widen": true); each is a schema_change
# snapshot in the table's history; time travel to a snapshot before a change
# shows the columns (and values) of its time; records after the change are
# validated against the new version (an old field name lands in _rescued);
# unsafe changes are refused with the column and the reason; and a replay of
# bronze written under the old versions rebuilds the same table (rule 6).
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }

start_group || { fail "start" "group did not start"; exit 1; }
q() { lakehouse query --json "$1" | jq -r '.data[] | [.[]] | map(tostring) | join("|")'; }
qcols() { lakehouse query --json "$1" | jq -r '.columns | join(",")'; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
last_snapshot() { sql_silver air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='flights';"; }
columns() { sql_silver air "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('flights') ORDER BY cid);"; }
hcolumns() { sql_silver air "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('_h_flights') ORDER BY cid);"; }
schema_changes() { sql_silver air "SELECT count(*) FROM _snapshots WHERE table_name='flights' AND operation='schema_change';"; }
fcount() { sql_silver air "SELECT count(*) FROM flights;" 2>/dev/null; }

endpoint() { # endpoint FILE VERSION-COLUMNS-JSON
    printf '{"domain":"air","name":"flights","mode":"MANUAL","columns":[%s]}\n' "$2" > "$1"
}
ID='{"name":"id","type":"integer","required":true,"primary_key":true}'
DATE='{"name":"date","type":"timestamp","format":"%Y/%m/%d %H:%M","required":true}'
TAIL='{"name":"origin","type":"string","required":true},{"name":"destination","type":"string","required":true}'

# ---- version 1, first data ------------------------------------------------------
endpoint "$T/v1.json" "$ID,$DATE,{\"name\":\"delay\",\"type\":\"integer\"},{\"name\":\"distance\",\"type\":\"integer\"},$TAIL"
check_cmd "v1 created" lakehouse endpoint create "$T/v1.json"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key < 5000;" > "$T/b1.ndjson"
exp_v1=$(src "SELECT count(*), sum(json_extract(value,'\$.delay')), sum(json_extract(value,'\$.distance'))
              FROM json_each(readfile('$DATA_FILE')) WHERE key < 5000;")
lakehouse send air/flights "$T/b1.ndjson" >/dev/null
if wait_eq 60 5000 fcount; then pass "v1 data merged"; else fail "v1 data merged" "got $WAIT_LAST"; fi
S1=$(last_snapshot)
check_eq "v1 columns" "id,date,delay,distance,origin,destination,_seq,_insert_date,_schema_version,_rescued" "$(columns)"

# ---- refused changes: the column and why ---------------------------------------------
refused() { # refused NAME FILE EXPECTED-SUBSTRING
    local out
    if out=$(lakehouse endpoint create "$2" 2>&1); then fail "$1" "accepted: $out"; return; fi
    case "$out" in *"$3"*) pass "$1";; *) fail "$1" "message '$out' lacks '$3'";; esac
}
endpoint "$T/bad1.json" "$DATE,{\"name\":\"delay\",\"type\":\"integer\"},{\"name\":\"distance\",\"type\":\"integer\"},$TAIL"
refused "dropping the key refused" "$T/bad1.json" "column 'id': dropping a primary-key column is not allowed"
endpoint "$T/bad2.json" "$ID,$DATE,{\"name\":\"delay\",\"type\":\"string\"},{\"name\":\"distance\",\"type\":\"integer\"},$TAIL"
refused "any -> string without widen refused" "$T/bad2.json" "column 'delay': changing the type from integer to string is not allowed"
endpoint "$T/bad3.json" "$ID,$DATE,{\"name\":\"delay\",\"type\":\"integer\"},{\"name\":\"km\",\"type\":\"integer\",\"renamed_from\":\"miles\"},$TAIL"
refused "rename from an unknown column refused" "$T/bad3.json" "column 'km': \"renamed_from\": 'miles' is not a column of version 1"
endpoint "$T/bad4.json" "$ID,$DATE,{\"name\":\"delay\",\"type\":\"float\"},{\"name\":\"distance\",\"type\":\"integer\"},{\"name\":\"dist\",\"type\":\"integer\",\"renamed_from\":\"distance\"},$TAIL"
refused "rename keeping the old name refused" "$T/bad4.json" "column 'distance': renamed to 'dist' but still a column"
check_eq "refusals made no version" 1 "$(lakehouse endpoint show air/flights | jq .version)"

# ---- version 2: rename delay -> dep_delay -----------------------------------------------
endpoint "$T/v2.json" "$ID,$DATE,{\"name\":\"dep_delay\",\"type\":\"integer\",\"renamed_from\":\"delay\"},{\"name\":\"distance\",\"type\":\"integer\"},$TAIL"
check_cmd "v2 (rename) created" lakehouse endpoint create "$T/v2.json"
if wait_eq 30 1 schema_changes; then pass "rename applied (schema.changed)"; else fail "rename applied" "got $WAIT_LAST schema_change snapshots"; fi
S2=$(last_snapshot)
check_eq "v2 columns: renamed in place" "id,date,dep_delay,distance,origin,destination,_seq,_insert_date,_schema_version,_rescued" "$(columns)"
check_eq "renamed column keeps its values" "$exp_v1" "$(q "SELECT count(*), sum(dep_delay), sum(distance) FROM air.silver.flights")"
check_eq "rename snapshot" "schema_change|2|schema v2: rename delay -> dep_delay|0|0|0" \
    "$(sql_silver air "SELECT operation, schema_version, source, rows_inserted, rows_updated, rows_deleted FROM _snapshots WHERE snapshot_id=$S2;")"

# ---- version 3: drop distance ------------------------------------------------------------
endpoint "$T/v3.json" "$ID,$DATE,{\"name\":\"dep_delay\",\"type\":\"integer\",\"renamed_from\":\"delay\"},$TAIL"
check_cmd "v3 (drop) created" lakehouse endpoint create "$T/v3.json"
if wait_eq 30 2 schema_changes; then pass "drop applied"; else fail "drop applied" "got $WAIT_LAST schema_change snapshots"; fi
S3=$(last_snapshot)
check_eq "v3 columns: distance gone" "id,date,dep_delay,origin,destination,_seq,_insert_date,_schema_version,_rescued" "$(columns)"
case "$(hcolumns)" in *_dropped_${S3}_*) pass "history keeps the dropped column";; *) fail "history keeps the dropped column" "$(hcolumns)";; esac
check_eq "drop snapshot" "schema_change|3|schema v3: drop distance" \
    "$(sql_silver air "SELECT operation, schema_version, source FROM _snapshots WHERE snapshot_id=$S3;")"

# ---- data after the changes: validated against v3 ------------------------------------------
# rows 5001..10000 with the new name; rows 1..100 again with dep_delay + 1000; 3 records
# still sending the old names (unknown now: kept in _rescued, as MANUAL does).
src "SELECT json_object('id', key + 1, 'date', json_extract(value,'\$.date'), 'dep_delay', json_extract(value,'\$.delay'),
                        'origin', json_extract(value,'\$.origin'), 'destination', json_extract(value,'\$.destination'))
       FROM json_each(readfile('$DATA_FILE')) WHERE key >= 5000 AND key < 10000;
     SELECT json_object('id', key + 1, 'date', json_extract(value,'\$.date'), 'dep_delay', json_extract(value,'\$.delay') + 1000,
                        'origin', json_extract(value,'\$.origin'), 'destination', json_extract(value,'\$.destination'))
       FROM json_each(readfile('$DATA_FILE')) WHERE key < 100;
     SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key >= 10000 AND key < 10003;" > "$T/b2.ndjson"
exp_now=$(src "SELECT count(*), sum(CASE WHEN key >= 10000 THEN 0 WHEN key < 100 THEN json_extract(value,'\$.delay') + 1000 ELSE json_extract(value,'\$.delay') END)
               FROM json_each(readfile('$DATA_FILE')) WHERE key < 10003;")
lakehouse send air/flights "$T/b2.ndjson" >/dev/null
if wait_eq 60 10003 fcount; then pass "v3 data merged"; else fail "v3 data merged" "got $WAIT_LAST"; fi
S3B=$(last_snapshot)
check_eq "current table: count, sum(dep_delay)" "$exp_now" "$(q "SELECT count(*), sum(dep_delay) FROM air.silver.flights")"
check_eq "old field names go to _rescued" "3|3|3" \
    "$(q "SELECT count(*), count(json_extract(_rescued,'\$.delay')), count(json_extract(_rescued,'\$.distance')) FROM air.silver.flights WHERE _rescued IS NOT NULL")"
check_eq "new and updated rows carry schema version 3" 5103 "$(q "SELECT count(*) FROM air.silver.flights WHERE _schema_version = 3")"
check_eq "current columns in queries" "id,date,dep_delay,origin,destination,_seq,_insert_date,_schema_version,_rescued" \
    "$(qcols "SELECT * FROM air.silver.flights LIMIT 1")"

# ---- time travel: the schema of each snapshot's time ------------------------------------------
check_eq "t@S1 has v1's columns" "id,date,delay,distance,origin,destination,_seq,_insert_date,_schema_version,_rescued" \
    "$(qcols "SELECT * FROM air.silver.flights@$S1 LIMIT 1")"
check_eq "t@S1 old values (delay, distance)" "$exp_v1" "$(q "SELECT count(*), sum(delay), sum(distance) FROM air.silver.flights@$S1")"
check_eq "t@S2 renamed, distance still there" "id,date,dep_delay,distance,origin,destination,_seq,_insert_date,_schema_version,_rescued" \
    "$(qcols "SELECT * FROM air.silver.flights@$S2 LIMIT 1")"
check_eq "t@S2 values" "$exp_v1" "$(q "SELECT count(*), sum(dep_delay), sum(distance) FROM air.silver.flights@$S2")"
check_eq "t@S3 without distance" "id,date,dep_delay,origin,destination,_seq,_insert_date,_schema_version,_rescued" \
    "$(qcols "SELECT * FROM air.silver.flights@$S3 LIMIT 1")"
check_eq "t@S1 row 7 as it was" "$(src "SELECT json_extract(value,'\$.delay') || '|' || json_extract(value,'\$.distance') FROM json_each(readfile('$DATA_FILE')) WHERE key = 6;")" \
    "$(q "SELECT delay, distance FROM air.silver.flights@$S1 AS h WHERE h.id = 7")"
out=$(lakehouse query "SELECT distance FROM air.silver.flights" 2>&1)
case "$out" in *"no such column: distance"*) pass "dropped column gone from the current table";; *) fail "dropped column gone" "$out";; esac
check_eq "change feed uses the current columns" "id,date,dep_delay,origin,destination,_seq,_insert_date,_schema_version,_rescued,_change_type,_snapshot_id,_committed_at" \
    "$(qcols "SELECT * FROM air.silver.flights@changes($S1) LIMIT 1")"

# ---- a late bronze file written under version 1 (bronze is immutable) --------------------------
# its "delay" lands in dep_delay, its "distance" is left out (no column comes back)
BD="$LAKEHOUSE_DATA/bronze/air/flights/dt=2000-01-01"
mkdir -p "$BD"
printf '{"_insert_date":"2000-01-01T00:00:00Z","_domain":"air","_endpoint":"flights","_seq":1,"_schema_version":1,"id":20001,"date":"2000-01-01T00:00:00","delay":5,"distance":999,"origin":"SEA","destination":"PDX"}\n' \
    | lz4 -q >"$T/late.lz4"
cp "$T/late.lz4" "$BD/.incoming" && mv "$BD/.incoming" "$BD/$(printf '%020d-%020d.ndjson.lz4' 1 1)"
if wait_eq 60 10004 fcount; then pass "late v1 file merged"; else fail "late v1 file merged" "got $WAIT_LAST"; fi
check_eq "late v1 record: renamed field mapped, dropped field left out" "5|null|1" \
    "$(q "SELECT dep_delay, _rescued, _schema_version FROM air.silver.flights WHERE id = 20001")"
check_eq "late v1 file: no column came back" "id,date,dep_delay,origin,destination,_seq,_insert_date,_schema_version,_rescued" "$(columns)"

# ---- history lists the changes -------------------------------------------------------------
check_eq "history: the schema changes" "schema_change|3|schema v3: drop distance
schema_change|2|schema v2: rename delay -> dep_delay" \
    "$(lakehouse history air/flights --json | jq -r '.[] | select(.operation == "schema_change") | "\(.operation)|\(.schema_version)|\(.source)"')"

# ---- version 4: widen dep_delay to string (declared) -------------------------------------------
endpoint "$T/v4.json" "$ID,$DATE,{\"name\":\"dep_delay\",\"type\":\"string\",\"widen\":true},$TAIL"
check_cmd "v4 (widen to string) created" lakehouse endpoint create "$T/v4.json"
if wait_eq 30 3 schema_changes; then pass "widen applied"; else fail "widen applied" "got $WAIT_LAST schema_change snapshots"; fi
S4=$(last_snapshot)
check_eq "widened column declared TEXT" "TEXT" "$(sql_silver air "SELECT type FROM pragma_table_info('flights') WHERE name='dep_delay';")"
check_eq "widened column keeps its place" "id,date,dep_delay,origin,destination,_seq,_insert_date,_schema_version,_rescued" "$(columns)"
check_eq "widened values became text" "10004|0" \
    "$(q "SELECT count(*), sum(typeof(dep_delay) NOT IN ('text', 'null')) FROM air.silver.flights")"
printf '{"id":1,"date":"2001/01/01 00:47","dep_delay":"007","origin":"DTW","destination":"LAS"}\n' > "$T/b3.ndjson"
lakehouse send air/flights "$T/b3.ndjson" >/dev/null
if wait_eq 60 "007" q "SELECT dep_delay FROM air.silver.flights WHERE id = 1"; then pass "a string stays a string after widening"; else fail "widened string" "got $WAIT_LAST"; fi
check_eq "widen snapshot" "schema_change|4|schema v4: widen dep_delay to string" \
    "$(sql_silver air "SELECT operation, schema_version, source FROM _snapshots WHERE snapshot_id=$S4;")"
check_eq "time travel before the widening: same values" "$exp_now" "$(q "SELECT count(*), sum(dep_delay) FROM air.silver.flights@$S3B")"

# ---- replay equals live ------------------------------------------------------------------------
dump() { sql_silver air "SELECT * FROM flights ORDER BY id;" | md5sum; }
types() { sql_silver air "SELECT group_concat(name || ' ' || type || ' ' || pk, ',') FROM (SELECT * FROM pragma_table_info('flights') ORDER BY cid);"; }
before=$(dump); before_types=$(types); before_snap=$(last_snapshot)
check_cmd "replay" lakehouse replay air/flights
check_eq "replay: same columns and types" "$before_types" "$(types)"
check_eq "replay: identical table" "$before" "$(dump)"
check_eq "replay: history unchanged (nothing differs)" 0 \
    "$(sql_silver air "SELECT count(*) FROM _h_flights WHERE _valid_from > $before_snap OR _valid_to > $before_snap;")"
check_eq "replay: time travel to S1 still shows v1" "$exp_v1" "$(q "SELECT count(*), sum(delay), sum(distance) FROM air.silver.flights@$S1")"
check_eq "replay: no schema change re-applied" 3 "$(schema_changes)"
[ "$(last_snapshot)" -gt "$before_snap" ] && pass "replay is a snapshot" || fail "replay is a snapshot" "$(last_snapshot)"

# ---- renaming a key column and the sequence_by column, with delete tombstones ---------------------
cat > "$T/i1.json" <<'JSON'
{"domain":"evo","name":"items","mode":"MANUAL","sequence_by":"updated","columns":[
 {"name":"id","type":"integer","primary_key":true},{"name":"updated","type":"integer"},{"name":"name","type":"string"}]}
JSON
cat > "$T/i2.json" <<'JSON'
{"domain":"evo","name":"items","mode":"MANUAL","sequence_by":"version_no","columns":[
 {"name":"item_id","type":"integer","primary_key":true,"renamed_from":"id"},
 {"name":"version_no","type":"integer","renamed_from":"updated"},{"name":"name","type":"string"}]}
JSON
check_cmd "keyed endpoint created" lakehouse endpoint create "$T/i1.json"
merged() { sql_silver evo "SELECT coalesce(sum(records), 0) FROM _ledger WHERE table_name='items';" 2>/dev/null; }
printf '{"id":1,"updated":10,"name":"a"}\n{"id":2,"updated":10,"name":"b"}\n' > "$T/i1.ndjson"
lakehouse send evo/items "$T/i1.ndjson" >/dev/null
printf '{"id":2,"updated":20,"_op":"delete"}\n' > "$T/i2.ndjson"
lakehouse send evo/items "$T/i2.ndjson" >/dev/null
if wait_eq 60 3 merged; then pass "keyed rows and a delete merged"; else fail "keyed rows merged" "got $WAIT_LAST"; fi
check_cmd "rename of the key and sequence_by columns accepted" lakehouse endpoint create "$T/i2.json"
ichanges() { sql_silver evo "SELECT count(*) FROM _snapshots WHERE table_name='items' AND operation='schema_change';"; }
if wait_eq 30 1 ichanges; then pass "key rename applied"; else fail "key rename applied" "got $WAIT_LAST"; fi
check_eq "tombstones follow the rename" "item_id,version_no,_seq" \
    "$(sql_silver evo "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('_d_items') ORDER BY cid);")"
# an older record of the deleted key stays deleted; an older one of key 1 loses; a newer one wins
printf '{"item_id":2,"version_no":15,"name":"late"}\n{"item_id":1,"version_no":5,"name":"older"}\n{"item_id":1,"version_no":30,"name":"newer"}\n' > "$T/i3.ndjson"
lakehouse send evo/items "$T/i3.ndjson" >/dev/null
if wait_eq 60 6 merged; then pass "records under the new names merged"; else fail "new names merged" "got $WAIT_LAST"; fi
istate() { sql_silver evo "SELECT group_concat(item_id || ':' || name || ':' || version_no, ',') FROM (SELECT * FROM items ORDER BY item_id);"; }
check_eq "sequence_by and tombstones still decide after the rename" "1:newer:30" "$(istate)"
check_eq "time travel before the rename: old key name" "id,updated,name" \
    "$(lakehouse query --json "SELECT id, updated, name FROM evo.silver.items@1 AS h" | jq -r '.columns | join(",")')"
check_cmd "replay (keyed)" lakehouse replay evo/items
check_eq "replay (keyed): same rows" "1:newer:30" "$(istate)"

stop_group || fail "stop" "group exit status $?"
finish
