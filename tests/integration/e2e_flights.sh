#!/usr/bin/env bash
# End to end on real data: the supervised group on a temporary directory, the
# flights-20k records sent with `lakehouse send`, an update batch (CSV), and a
# two-job DAG. Every expectation is computed independently of the pipeline,
# with sqlite3's JSON functions straight from tests/data/flights-20k.json.
# Leak checking on for every process of this test: they all stop cleanly here,
# so LeakSanitizer reports at exit are real leaks (checked at the end).
export LAKEHOUSE_PROCESS_ASAN_OPTIONS=${LAKEHOUSE_PROCESS_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }

start_group || { fail "start" "group did not start"; exit 1; }
pass "group started"

check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
check_cmd "job add (dependency)" lakehouse job add "$LAKEHOUSE_SOURCE/tests/data/delay_by_origin_day.sql"
check_cmd "job add (reads gold)" lakehouse job add "$LAKEHOUSE_SOURCE/tests/data/busiest_origins.sql"

# The source as NDJSON with id = row number (1-based), made by sqlite3 alone.
sqlite3 -batch -noheader :memory: \
  "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE'));" > "$T/flights.ndjson"
check_eq "source rows" 20000 "$(wc -l < "$T/flights.ndjson")"

# Expected silver rows, computed from the source: the timestamp normalised
# from "2001/01/14 21:55" to "2001-01-14T21:55:00".
expected_rows() {
  sqlite3 -batch -noheader -separator '|' :memory: "
    CREATE TABLE src AS SELECT key + 1 AS id, json_extract(value,'\$.date') AS d,
      json_extract(value,'\$.delay') AS delay, json_extract(value,'\$.distance') AS distance,
      json_extract(value,'\$.origin') AS origin, json_extract(value,'\$.destination') AS destination
      FROM json_each(readfile('$DATA_FILE'));
    $1
    SELECT id, substr(d,1,4)||'-'||substr(d,6,2)||'-'||substr(d,9,2)||'T'||substr(d,12,5)||':00',
           delay, distance, origin, destination FROM src ORDER BY id;" | md5sum
}
silver_rows() {
  sql_silver air "SELECT id, date, delay, distance, origin, destination FROM flights ORDER BY id;" | md5sum
}
silver_count() { sql_silver air "SELECT count(*) FROM flights;" 2>/dev/null; }

out=$(lakehouse send air/flights < "$T/flights.ndjson" 2>&1); rc=$?
check_eq "send exit status" 0 "$rc"
case "$out" in *"20000 accepted"*) pass "send reports 20000 accepted";; *) fail "send reports 20000 accepted" "$out";; esac

if wait_eq 60 20000 silver_count; then pass "silver has 20000 rows"; else fail "silver has 20000 rows" "got $WAIT_LAST"; fi
check_eq "silver values equal the source" "$(expected_rows '')" "$(silver_rows)"
check_eq "every silver row has _seq and _insert_date" 0 \
  "$(sql_silver air "SELECT count(*) FROM flights WHERE _seq IS NULL OR _insert_date NOT LIKE '____-__-__T__:__:__%Z';")"
check_eq "ledger covers every bronze file" \
  "$(find "$LAKEHOUSE_DATA/bronze/air/flights" -name '*.ndjson.lz4' | wc -l)" \
  "$(sql_silver air "SELECT count(*) FROM _ledger WHERE table_name='flights';")"
check_eq "bronze files hold every record (lz4cat)" 20000 \
  "$(find "$LAKEHOUSE_DATA/bronze/air/flights" -name '*.ndjson.lz4' -exec lz4cat {} + | wc -l)"

# Update batch, as CSV: every 7th flight gets delay + 1000; 100 new flights.
{
  echo "id,date,delay,distance,origin,destination"
  sqlite3 -batch -noheader -separator ',' :memory: "
    SELECT key + 1, json_extract(value,'\$.date'), json_extract(value,'\$.delay') + 1000,
           json_extract(value,'\$.distance'), json_extract(value,'\$.origin'), json_extract(value,'\$.destination')
    FROM json_each(readfile('$DATA_FILE')) WHERE (key + 1) % 7 = 0;
    SELECT 20000 + key + 1, json_extract(value,'\$.date'), json_extract(value,'\$.delay'),
           json_extract(value,'\$.distance'), json_extract(value,'\$.origin'), json_extract(value,'\$.destination')
    FROM json_each(readfile('$DATA_FILE')) WHERE key < 100;"
} > "$T/update.csv"
out=$(lakehouse send air/flights "$T/update.csv" 2>&1); rc=$?
check_eq "update send exit status" 0 "$rc"
case "$out" in *"2957 accepted"*) pass "update reports 2957 accepted";; *) fail "update reports 2957 accepted" "$out";; esac

if wait_eq 60 20100 silver_count; then pass "silver has 20100 rows after update"; else fail "silver has 20100 rows after update" "got $WAIT_LAST"; fi
expected_after=$(expected_rows "
    UPDATE src SET delay = delay + 1000 WHERE id % 7 = 0;
    INSERT INTO src SELECT key + 20001, json_extract(value,'\$.date'), json_extract(value,'\$.delay'),
      json_extract(value,'\$.distance'), json_extract(value,'\$.origin'), json_extract(value,'\$.destination')
      FROM json_each(readfile('$DATA_FILE')) WHERE key < 100;")
if wait_eq 30 "$expected_after" silver_rows; then pass "silver values after update"; else fail "silver values after update" "table differs from expectation"; fi
check_eq "snapshots count the updates" "20100|2857" \
  "$(sql_silver air "SELECT sum(rows_inserted), sum(rows_updated) FROM _snapshots WHERE table_name='flights';")"

# Gold, expected from the source with the same update applied.
expected_gold() {
  sqlite3 -batch -noheader -separator '|' :memory: "
    CREATE TABLE src AS SELECT key + 1 AS id, json_extract(value,'\$.date') AS d,
      json_extract(value,'\$.delay') AS delay, json_extract(value,'\$.origin') AS origin
      FROM json_each(readfile('$DATA_FILE'));
    UPDATE src SET delay = delay + 1000 WHERE id % 7 = 0;
    INSERT INTO src SELECT key + 20001, json_extract(value,'\$.date'), json_extract(value,'\$.delay'),
      json_extract(value,'\$.origin') FROM json_each(readfile('$DATA_FILE')) WHERE key < 100;
    $1"
}
exp_gold1=$(expected_gold "SELECT origin, replace(substr(d,1,10),'/','-') AS day, count(*), printf('%.6f', avg(delay))
                           FROM src GROUP BY origin, day ORDER BY origin, day;" | md5sum)
gold1() { sql_gold air "SELECT origin, day, flights, printf('%.6f', avg_delay) FROM delay_by_origin_day ORDER BY origin, day;" 2>/dev/null | md5sum; }
if wait_eq 60 "$exp_gold1" gold1; then pass "gold delay_by_origin_day equals recomputation"; else
  fail "gold delay_by_origin_day equals recomputation" "rows: $(sql_gold air 'SELECT count(*) FROM delay_by_origin_day' 2>&1)"; fi
exp_gold2=$(expected_gold "SELECT origin, count(*), count(DISTINCT substr(d,1,10)) FROM src GROUP BY origin ORDER BY origin;" | md5sum)
gold2() { sql_gold air "SELECT origin, flights, days FROM busiest_origins ORDER BY origin;" 2>/dev/null | md5sum; }
if wait_eq 60 "$exp_gold2" gold2; then pass "gold busiest_origins (reads gold) equals recomputation"; else
  fail "gold busiest_origins (reads gold) equals recomputation" "differs"; fi
# The downstream job's last run started after the upstream job's last run finished.
order=$(sqlite3 -batch -noheader "$LAKEHOUSE_DATA/catalog.db" "
  SELECT (SELECT max(started_at) FROM executions WHERE job='busiest_origins' AND status='SUCCEEDED')
      >= (SELECT max(finished_at) FROM executions WHERE job='delay_by_origin_day' AND status='SUCCEEDED');")
check_eq "DAG: downstream ran after upstream" 1 "$order"
check_eq "no failed executions" 0 "$(sqlite3 -batch -noheader "$LAKEHOUSE_DATA/catalog.db" "SELECT count(*) FROM executions WHERE status='FAILED';")"

# The client shows both layers.
out=$(lakehouse query "SELECT count(*) AS n FROM air.silver.flights" 2>&1)
case "$out" in *20100*) pass "lakehouse query reads silver";; *) fail "lakehouse query reads silver" "$out";; esac
out=$(lakehouse query "SELECT origin, flights FROM air.gold.busiest_origins ORDER BY flights DESC LIMIT 3" 2>&1)
top=$(expected_gold "SELECT origin FROM src GROUP BY origin ORDER BY count(*) DESC LIMIT 1;")
case "$out" in *"$top"*) pass "lakehouse query reads gold";; *) fail "lakehouse query reads gold" "$out";; esac
out=$(lakehouse tables 2>&1)
case "$out" in *flights*delay_by_origin_day*|*delay_by_origin_day*flights*) pass "lakehouse tables lists silver and gold";; *) fail "lakehouse tables lists silver and gold" "$out";; esac
out=$(lakehouse query "DELETE FROM air.silver.flights" 2>&1); rc=$?
if [ "$rc" -ne 0 ]; then pass "query refuses writes"; else fail "query refuses writes" "$out"; fi

# Replay equals live.
before=$(silver_rows)
snap_before=$(sql_silver air "SELECT max(snapshot_id) FROM _snapshots;")
check_cmd "replay air/flights" lakehouse replay air/flights
check_eq "replay rebuilt the table identically" "$before" "$(silver_rows)"
check_eq "replay recorded new snapshots" 1 "$(sql_silver air "SELECT count(*) > 0 FROM _snapshots WHERE snapshot_id > $snap_before AND operation='replay';")"

# Clean stop: exit 0, nothing left running.
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
sleep 0.5
check_eq "no process left" "" "$(pgrep -f -- "--data $LAKEHOUSE_DATA" || true)"
if grep -q "LeakSanitizer" "$T/group.log"; then fail "no leaks (LeakSanitizer)" "$(grep -A8 LeakSanitizer "$T/group.log" | head -20)"; else pass "no leaks (LeakSanitizer)"; fi
check_eq "spool empty after stop" "" "$(find "$LAKEHOUSE_DATA/spool" -type f -name '*.ndjson' 2>/dev/null)"
finish
