#!/usr/bin/env bash
# Row history of silver tables on real data: time travel by snapshot id and by
# time, the snapshot list (CLI and HTTP), the change feed, the SCD2 view,
# rollback and its undo, merges on top of a rollback, and replay keeping
# history consistent. Data: flights-20k (key = row number) and the
# earthquakes feed of the vega-datasets npm package (key = id); expectations
# are computed from the source files with sqlite3 alone.
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

start_group || { fail "start" "group did not start"; exit 1; }
B="http://$LAKEHOUSE_LISTEN"
q() { lakehouse query --json "$1" | jq -r '.data[] | [.[]] | map(tostring) | join("|")'; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
last_snapshot() { sql_silver "$1" "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$2';"; }

# ---- flights -------------------------------------------------------------
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
# batch 1: rows 1..10000; batch 2: rows 1..10000 with id % 7 = 0 get delay + 1000
# (1428 updates) and rows 10001..20000 (inserts).
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key < 10000;" > "$T/b1.ndjson"
src "SELECT json_set(value, '\$.id', key + 1, '\$.delay', json_extract(value, '\$.delay') + 1000)
       FROM json_each(readfile('$DATA_FILE')) WHERE key < 10000 AND (key + 1) % 7 = 0;
     SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key >= 10000;" > "$T/b2.ndjson"
exp_s1=$(src "SELECT count(*), sum(json_extract(value,'\$.delay')) FROM json_each(readfile('$DATA_FILE')) WHERE key < 10000;")
exp_s2=$(src "SELECT count(*), sum(json_extract(value,'\$.delay') + CASE WHEN key < 10000 AND (key + 1) % 7 = 0 THEN 1000 ELSE 0 END) FROM json_each(readfile('$DATA_FILE'));")

fcount() { sql_silver air "SELECT count(*) FROM flights;" 2>/dev/null; }
fstate() { sql_silver air "SELECT count(*), sum(delay) FROM flights;" 2>/dev/null; }
lakehouse send air/flights "$T/b1.ndjson" >/dev/null
if wait_eq 60 10000 fcount; then pass "batch 1 merged"; else fail "batch 1 merged" "got $WAIT_LAST"; fi
S1=$(last_snapshot air flights)
T1=$(sql_silver air "SELECT committed_at FROM _snapshots WHERE snapshot_id=$S1;")
sleep 1.1   # the next commits are later than T1 by more than the timestamp precision
lakehouse send air/flights "$T/b2.ndjson" >/dev/null
if wait_eq 60 "$exp_s2" fstate; then pass "batch 2 merged"; else fail "batch 2 merged" "got $WAIT_LAST"; fi
S2=$(last_snapshot air flights)

check_eq "time travel @S1 (count, sum delay)" "$exp_s1" "$(q "SELECT count(*), sum(delay) FROM air.silver.flights@$S1")"
check_eq "time travel @S2 equals the table" "$exp_s2" "$(q "SELECT count(*), sum(delay) FROM air.silver.flights@$S2")"
check_eq "time travel @'time of S1'" "$exp_s1" "$(q "SELECT count(*), sum(delay) FROM air.silver.flights@'$T1'")"
check_eq "time travel row value before the update" \
    "$(src "SELECT json_extract(value,'\$.delay') FROM json_each(readfile('$DATA_FILE')) WHERE key = 6;")" \
    "$(q "SELECT delay FROM air.silver.flights@$S1 WHERE id = 7")"
check_eq "time travel joins with the current table" 1428 \
    "$(q "SELECT count(*) FROM air.silver.flights@$S1 AS o JOIN air.silver.flights AS n USING (id) WHERE n.delay = o.delay + 1000")"
check_eq "history rows: one per version" "21428|20000" \
    "$(sql_silver air "SELECT count(*), count(*) - count(_valid_to) FROM _h_flights;")"
check_eq "one current version per key" 0 \
    "$(sql_silver air "SELECT count(*) FROM (SELECT id FROM _h_flights WHERE _valid_to IS NULL GROUP BY id HAVING count(*) > 1);")"
out=$(lakehouse query "SELECT * FROM air.silver.flights@999999" 2>&1)
case "$out" in *"unknown snapshot 999999 of air.silver.flights"*) pass "unknown snapshot: clear message";; *) fail "unknown snapshot: clear message" "$out";; esac
out=$(lakehouse query "SELECT * FROM air.silver.flights@'2001-01-01T00:00:00Z'" 2>&1)
case "$out" in *"no snapshot at or before 2001-01-01"*) pass "time before the first snapshot: clear message";; *) fail "time before the first snapshot" "$out";; esac

# the snapshot list
check_eq "history lists every snapshot" "$(sql_silver air "SELECT count(*) FROM _snapshots WHERE table_name='flights';")" \
    "$(lakehouse history air/flights --json | jq length)"
check_eq "history newest first" "$S2" "$(lakehouse history air/flights --json | jq '.[0].snapshot_id')"
check_eq "history rows inserted add up" 20000 "$(lakehouse history air/flights --json | jq '[.[].rows_inserted]|add')"
check_eq "HTTP history" "$S2|merge" "$(curl -s "$B/tables/air/silver/flights/history?limit=1" | jq -r '.history[0] | "\(.snapshot_id)|\(.operation)"')"
check_eq "HTTP history of an unknown table is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/tables/air/silver/nope/history")"

# change feed of batch 2
check_eq "change feed counts" "insert|10000
update_after|1428
update_before|1428" "$(q "SELECT _change_type, count(*) FROM air.silver.flights@changes($((S1 + 1)),$S2) GROUP BY 1 ORDER BY 1")"
check_eq "change feed: before and after of one update" "7|$(src "SELECT json_extract(value,'\$.delay') FROM json_each(readfile('$DATA_FILE')) WHERE key = 6;")|update_before
7|$(src "SELECT json_extract(value,'\$.delay') + 1000 FROM json_each(readfile('$DATA_FILE')) WHERE key = 6;")|update_after" \
    "$(q "SELECT id, delay, _change_type FROM air.silver.flights@changes($((S1 + 1))) WHERE id = 7 ORDER BY _change_type DESC")"
check_eq "lakehouse changes (cut at query_max_rows)" "10000|true" \
    "$(lakehouse changes air/flights $((S1 + 1)) "$S2" --json | jq -r '"\(.row_count)|\(.truncated)"')"

# SCD2
check_eq "scd2: versions, current ones" "21428|20000" \
    "$(q "SELECT count(*), sum(_is_current) FROM air.silver.flights@scd2")"
check_eq "scd2: a superseded version ends when its successor starts" 0 \
    "$(q "SELECT count(*) FROM air.silver.flights@scd2 AS a JOIN air.silver.flights@scd2 AS b ON a.id = b.id AND a._to_snapshot = b._from_snapshot WHERE a._valid_to IS NOT b._valid_from")"

# rollback, merges on top, undo
before=$(sql_silver air "SELECT id, date, delay, distance, origin, destination FROM flights ORDER BY id;" | md5sum)
out=$(lakehouse rollback air/flights "$S1" 2>&1); rc=$?
check_eq "rollback exit status" 0 "$rc"
check_eq "rollback: the table equals snapshot S1" "$exp_s1" "$(fstate)"
R1=$(last_snapshot air flights)
check_eq "rollback is a snapshot" "rollback|snapshot:$S1|0|1428|10000" \
    "$(sql_silver air "SELECT operation, source, rows_inserted, rows_updated, rows_deleted FROM _snapshots WHERE snapshot_id=$R1;")"
src "SELECT json_set(value, '\$.id', 30000 + key) FROM json_each(readfile('$DATA_FILE')) WHERE key < 10;" > "$T/b3.ndjson"
lakehouse send air/flights "$T/b3.ndjson" >/dev/null
if wait_eq 60 10010 fcount; then pass "a merge after the rollback applies on top"; else fail "merge after rollback" "got $WAIT_LAST"; fi
check_cmd "undo the rollback" lakehouse rollback air/flights "$S2"
check_eq "undo: the table equals snapshot S2 again" "$before" \
    "$(sql_silver air "SELECT id, date, delay, distance, origin, destination FROM flights ORDER BY id;" | md5sum)"
check_eq "time travel into the rolled-back state" "$exp_s1" "$(q "SELECT count(*), sum(delay) FROM air.silver.flights@$R1")"
out=$(lakehouse rollback air/flights 999999 2>&1)
case "$out" in *"unknown snapshot 999999"*) pass "rollback to an unknown snapshot refused";; *) fail "rollback unknown snapshot" "$out";; esac

# replay rebuilds from bronze (b1, b2, b3): history keeps its past and
# records only the difference (the 10 rows of b3)
check_cmd "replay" lakehouse replay air/flights
check_eq "replay: table has every bronze row" 20010 "$(fcount)"
check_eq "replay: history current versions equal the table" \
    "$(sql_silver air "SELECT id, date, delay, distance, origin, destination FROM flights ORDER BY id;" | md5sum)" \
    "$(sql_silver air "SELECT id, date, delay, distance, origin, destination FROM _h_flights WHERE _valid_to IS NULL ORDER BY id;" | md5sum)"
RP=$(last_snapshot air flights)
check_eq "replay: the change is the 10 rows of b3" "insert|10" \
    "$(q "SELECT _change_type, count(*) FROM air.silver.flights@changes($RP,$RP) GROUP BY 1")"
check_eq "replay: time travel before the rebuild still works" "$exp_s1" \
    "$(q "SELECT count(*), sum(delay) FROM air.silver.flights@$S1")"

# ---- earthquakes (vega-datasets) -----------------------------------------
cat > "$T/quakes.json" <<'EOF'
{"domain": "geo", "name": "quakes", "mode": "MANUAL",
 "columns": [
  {"name": "id", "type": "string", "required": true, "primary_key": true},
  {"name": "mag", "type": "float"},
  {"name": "place", "type": "string"},
  {"name": "time", "type": "integer"},
  {"name": "updated", "type": "integer"}]}
EOF
check_cmd "quakes endpoint" lakehouse endpoint create "$T/quakes.json"
flat="SELECT json_object('id', json_extract(value,'\$.id'), 'mag', json_extract(value,'\$.properties.mag'),
        'place', json_extract(value,'\$.properties.place'), 'time', json_extract(value,'\$.properties.time'),
        'updated', json_extract(value,'\$.properties.updated'))"
src "$flat FROM json_each(readfile('$QUAKES'), '\$.features');" > "$T/q1.ndjson"
# a revised feed: the first 200 events re-reported with mag + 0.5, later 'updated'
src "SELECT json_object('id', json_extract(value,'\$.id'), 'mag', json_extract(value,'\$.properties.mag') + 0.5,
        'place', json_extract(value,'\$.properties.place'), 'time', json_extract(value,'\$.properties.time'),
        'updated', json_extract(value,'\$.properties.updated') + 60000)
     FROM json_each(readfile('$QUAKES'), '\$.features') WHERE key < 200;" > "$T/q2.ndjson"
nq=$(wc -l < "$T/q1.ndjson")
qexp1=$(src "SELECT count(*), round(sum(json_extract(value,'\$.properties.mag')), 3) FROM json_each(readfile('$QUAKES'), '\$.features');")
qexp2=$(src "SELECT count(*), round(sum(json_extract(value,'\$.properties.mag') + CASE WHEN key < 200 THEN 0.5 ELSE 0 END), 3) FROM json_each(readfile('$QUAKES'), '\$.features');")
qstate() { sql_silver geo "SELECT count(*), round(sum(mag), 3) FROM quakes;" 2>/dev/null; }
lakehouse send geo/quakes "$T/q1.ndjson" >/dev/null
if wait_eq 60 "$qexp1" qstate; then pass "quakes merged"; else fail "quakes merged" "got $WAIT_LAST"; fi
Q1=$(last_snapshot geo quakes)
lakehouse send geo/quakes "$T/q2.ndjson" >/dev/null
if wait_eq 60 "$qexp2" qstate; then pass "revised quakes merged"; else fail "revised quakes merged" "got $WAIT_LAST"; fi
Q2=$(last_snapshot geo quakes)
check_eq "quakes: time travel to the first feed" "$qexp1" "$(q "SELECT count(*), round(sum(mag), 3) FROM geo.silver.quakes@$Q1")"
check_eq "quakes: change feed of the revision" "update_after|200
update_before|200" "$(q "SELECT _change_type, count(*) FROM geo.silver.quakes@changes($((Q1 + 1)),$Q2) GROUP BY 1 ORDER BY 1")"
check_eq "quakes: revision raises each magnitude by 0.5" 200 \
    "$(q "SELECT count(*) FROM geo.silver.quakes@changes($((Q1 + 1))) AS a JOIN geo.silver.quakes@changes($((Q1 + 1))) AS b ON a.id = b.id AND a._change_type = 'update_before' AND b._change_type = 'update_after' WHERE round(b.mag - a.mag, 6) = 0.5 AND b.updated = a.updated + 60000")"
check_eq "quakes: lakehouse changes" "400|200" \
    "$(lakehouse changes geo/quakes $((Q1 + 1)) --json | jq -r '"\(.row_count)|\([.data[]|select(._change_type=="update_after")]|length)"')"
check_eq "quakes: scd2 versions" "$((nq + 200))|$nq" "$(q "SELECT count(*), sum(_is_current) FROM geo.silver.quakes@scd2")"
check_cmd "quakes: rollback to the first feed" lakehouse rollback geo/quakes "$Q1"
check_eq "quakes: rolled back" "$qexp1" "$(qstate)"
check_eq "quakes: rollback in the change feed" "update_after|200
update_before|200" "$(q "SELECT _change_type, count(*) FROM geo.silver.quakes@changes($((Q2 + 1))) GROUP BY 1 ORDER BY 1")"

stop_group; check_eq "group stops cleanly" 0 "$?"
finish
