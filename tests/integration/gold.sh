#!/usr/bin/env bash
# Gold table semantics on real data (flights-20k keyed by row number):
# snapshots of gold commits with their execution as source, lineage (the
# _lineage rows and `lakehouse lineage`, through a gold-over-gold job down to
# bronze files), and an incremental job (@changes) that equals the full
# recomputation after insert and update batches (rows moving between groups
# included) while reading only the changed rows.
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }

start_group || { fail "start" "group did not start"; exit 1; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"

AGG="origin, substr(date, 1, 10) AS day, count(*) AS flights, sum(delay) AS total_delay"
mkdir -p "$T/jobs"
cat > "$T/jobs/delay_full.sql" <<EOF
-- domain: air
-- write_mode: overwrite
SELECT $AGG FROM air.silver.flights GROUP BY 1, 2
EOF
cat > "$T/jobs/delay_inc.sql" <<EOF
-- domain: air
-- unique_key: origin, day
-- incremental: true
WITH touched AS (SELECT DISTINCT origin, substr(date, 1, 10) AS day
                 FROM air.silver.flights@changes),
     agg AS (SELECT $AGG FROM air.silver.flights
             WHERE (origin, substr(date, 1, 10)) IN (SELECT origin, day FROM touched)
             GROUP BY 1, 2)
SELECT t.origin, t.day, a.flights, a.total_delay, a.origin IS NULL AS _delete
FROM touched AS t LEFT JOIN agg AS a ON a.origin = t.origin AND a.day = t.day
EOF
# the same aggregate as an accumulating job: signed counts and sums of the
# change rows, added to the stored groups (cost follows the changes only)
cat > "$T/jobs/delay_acc.sql" <<'EOF'
-- domain: air
-- unique_key: origin, day
-- incremental: true
-- accumulate: flights, total_delay
SELECT origin, substr(date, 1, 10) AS day,
       sum(CASE WHEN _change_type IN ('insert', 'update_after') THEN 1 ELSE -1 END) AS flights,
       sum(CASE WHEN _change_type IN ('insert', 'update_after') THEN delay ELSE -delay END)
           AS total_delay
FROM air.silver.flights@changes GROUP BY 1, 2
EOF
cat > "$T/jobs/top_origins.sql" <<EOF
-- domain: air
SELECT origin, sum(flights) AS flights FROM air.gold.delay_inc GROUP BY origin
EOF
check_cmd "job add (full, incremental, gold over gold)" lakehouse job add "$T/jobs"

# refused definitions
cat > "$T/bad1.sql" <<EOF
-- domain: air
-- unique_key: origin
SELECT origin, count(*) AS n FROM air.silver.flights@changes GROUP BY origin
EOF
out=$(lakehouse job add "$T/bad1.sql" 2>&1)
check_eq "bare @changes outside an incremental job is refused" 1 \
    "$(echo "$out" | grep -c 'incremental: true')"
cat > "$T/bad2.sql" <<EOF
-- domain: air
-- incremental: true
SELECT origin, count(*) AS n FROM air.silver.flights@changes GROUP BY origin
EOF
out=$(lakehouse job add "$T/bad2.sql" 2>&1)
check_eq "incremental overwrite is refused" 1 "$(echo "$out" | grep -c 'incremental needs write_mode append')"
check_eq "the catalog stores incremental" "1|0" \
    "$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" \
        "SELECT group_concat(incremental, '|') FROM (SELECT incremental FROM jobs WHERE name IN ('delay_inc', 'delay_full') ORDER BY name DESC);")"
check_eq "job show names incremental" 1 "$(lakehouse job show air/delay_inc | grep -c 'incremental')"

# batches: ids 1..8000; 8001..14000; updates (delay for id % 7 = 0, origin
# moved to another group for id % 11 = 0, ids <= 14000); 14001..20000 with
# more updates (date moved to another day for id % 13 = 0)
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key < 8000;" > "$T/b1.ndjson"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key >= 8000 AND key < 14000;" > "$T/b2.ndjson"
src "SELECT json_set(value, '\$.id', key + 1,
            '\$.delay', json_extract(value, '\$.delay') + CASE WHEN (key + 1) % 7 = 0 THEN 100 ELSE 0 END,
            '\$.origin', CASE WHEN (key + 1) % 11 = 0 THEN 'ZZZ' ELSE json_extract(value, '\$.origin') END)
       FROM json_each(readfile('$DATA_FILE')) WHERE key < 14000 AND ((key + 1) % 7 = 0 OR (key + 1) % 11 = 0);" > "$T/b3.ndjson"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key >= 14000;
     SELECT json_set(value, '\$.id', key + 1, '\$.date', '2001/12/31 23:59')
       FROM json_each(readfile('$DATA_FILE')) WHERE key < 14000 AND (key + 1) % 13 = 0;" > "$T/b4.ndjson"

silver_max() { sql_silver air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'flights';" 2>/dev/null; }
# the input snapshot the latest gold snapshot of table $1 recorded for air.silver.flights
gold_input() {
    sql_gold air "SELECT input_snapshot_id FROM _lineage WHERE input_table = '${2:-air.silver.flights}'
                  AND snapshot_id = (SELECT max(snapshot_id) FROM _snapshots WHERE table_name = '$1');" 2>/dev/null
}
caught_up() {
    local s; s=$(silver_max)
    [ -n "$s" ] && [ "$(gold_input delay_full)" = "$s" ] && [ "$(gold_input delay_inc)" = "$s" ] &&
        [ "$(gold_input delay_acc)" = "$s" ] &&
        [ "$(gold_input top_origins air.gold.delay_inc)" = \
          "$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_inc';")" ]
}
# rows of (full EXCEPT inc) + (inc EXCEPT full), and the silver truth vs inc
diff_rows() {
    sql_gold air "SELECT (SELECT count(*) FROM (SELECT origin, day, flights, total_delay FROM delay_full
                                               EXCEPT SELECT origin, day, flights, total_delay FROM delay_inc))
                       + (SELECT count(*) FROM (SELECT origin, day, flights, total_delay FROM delay_inc
                                               EXCEPT SELECT origin, day, flights, total_delay FROM delay_full));"
}
truth() {
    sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/silver/air.db?mode=ro" \
        "SELECT count(*), sum(flights), sum(total_delay) FROM (SELECT $AGG FROM flights GROUP BY 1, 2);"
}
# the accumulating job vs the full recomputation (a group of NULL delays sums to NULL
# there and to 0 here: compared as 0)
acc_diff() {
    sql_gold air "SELECT (SELECT count(*) FROM (SELECT origin, day, flights, coalesce(total_delay, 0) FROM delay_full
                                               EXCEPT SELECT origin, day, flights, coalesce(total_delay, 0) FROM delay_acc))
                       + (SELECT count(*) FROM (SELECT origin, day, flights, coalesce(total_delay, 0) FROM delay_acc
                                               EXCEPT SELECT origin, day, flights, coalesce(total_delay, 0) FROM delay_full));"
}
inc_state() { sql_gold air "SELECT count(*), sum(flights), sum(total_delay) FROM delay_inc;"; }
fcount() { sql_silver air "SELECT count(*) FROM flights;" 2>/dev/null; }
fdelay() { sql_silver air "SELECT sum(delay) FROM flights;" 2>/dev/null; }

n=0
for b in 1 2 3 4; do
    prev_inc=$(sql_gold air "SELECT coalesce(max(snapshot_id), 0) FROM _snapshots WHERE table_name = 'delay_inc';" 2>/dev/null || echo 0)
    lakehouse send air/flights "$T/b$b.ndjson" >/dev/null
    case $b in
        1) wait_eq 90 8000 fcount ;;
        2) wait_eq 90 14000 fcount ;;
        3) wait_eq 90 "$(src "SELECT sum(json_extract(value,'\$.delay') + CASE WHEN (key + 1) % 7 = 0 THEN 100 ELSE 0 END) FROM json_each(readfile('$DATA_FILE')) WHERE key < 14000;")" fdelay ;;
        4) wait_eq 90 20000 fcount ;;
    esac || fail "batch $b merged" "got $WAIT_LAST"
    if wait_until 90 caught_up; then pass "batch $b: gold caught up"; else fail "batch $b: gold caught up" "silver $(silver_max), full $(gold_input delay_full), inc $(gold_input delay_inc)"; fi
    check_eq "batch $b: incremental equals the full recomputation" 0 "$(diff_rows)"
    check_eq "batch $b: incremental equals the silver table's aggregate" "$(truth)" "$(inc_state)"
    check_eq "batch $b: accumulating job equals the full recomputation" 0 "$(acc_diff)"
    # what the incremental runs of this batch read: exactly the change feed of the
    # snapshots they covered, and (after the first batch) far less than the table
    read=$(sql_gold air "SELECT coalesce(sum(change_rows), 0) FROM _lineage l JOIN _snapshots s USING (snapshot_id)
                         WHERE s.table_name = 'delay_inc' AND l.snapshot_id > $prev_inc;")
    first=$(sql_gold air "SELECT min(changes_from) FROM _lineage l JOIN _snapshots s USING (snapshot_id)
                          WHERE s.table_name = 'delay_inc' AND l.snapshot_id > $prev_inc;")
    feed=$(lakehouse query --json "SELECT count(*) AS n FROM air.silver.flights@changes($first, $(silver_max))" | jq -r '.data[0].n')
    check_eq "batch $b: incremental runs read exactly the change feed since the last run" "$feed" "$read"
    case $b in
        1) check_eq "batch 1: first incremental run reads every change" 8000 "$read" ;;
        2) check_eq "batch 2: reads only the 6000 new rows" 6000 "$read" ;;
        3) exp=$(src "SELECT 2 * count(*) FROM json_each(readfile('$DATA_FILE')) WHERE key < 14000 AND ((key + 1) % 7 = 0 OR (key + 1) % 11 = 0) AND ((key + 1) % 11 = 0 OR json_extract(value, '\$.delay') IS NOT NULL);")
           check_eq "batch 3: reads the before and after of each updated row only" "$exp" "$read" ;;
        4) total=$(fcount)
           if [ "$read" -lt "$total" ]; then pass "batch 4: read $read change rows of $total"; else fail "batch 4: fewer rows than the table" "$read >= $total"; fi ;;
    esac
done
out=$(lakehouse query "SELECT count(*) FROM air.silver.flights@changes" 2>&1)
check_eq "bare @changes in a query says what to write" 1 "$(echo "$out" | grep -c '@changes(<from>')"
check_eq "groups that lost every row were deleted (rows_deleted)" 1 \
    "$(sql_gold air "SELECT sum(rows_deleted) > 0 FROM _snapshots WHERE table_name = 'delay_inc';")"
check_eq "moved rows left their old group (origin ZZZ exists)" 1 \
    "$(sql_gold air "SELECT count(*) > 0 FROM delay_inc WHERE origin = 'ZZZ';")"
# the row history of the incremental upsert (gold_history.sh has the rest)
canon_inc() { echo "SELECT group_concat(r, ',') AS s FROM (SELECT quote(origin) || quote(day) || quote(flights) || quote(total_delay) AS r FROM $1 ORDER BY origin, day)"; }
inc_last=$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_inc';")
check_eq "delay_inc@latest equals the table" "$(sql_gold air "$(canon_inc delay_inc)")" \
    "$(lakehouse query --json "$(canon_inc "air.gold.delay_inc@$inc_last")" | jq -r '.data[0].s')"
check_eq "groups deleted by _delete rows are deletes in the change feed" \
    "$(sql_gold air "SELECT sum(rows_deleted) FROM _snapshots WHERE table_name = 'delay_inc';")" \
    "$(lakehouse query --json "SELECT count(*) AS n FROM air.gold.delay_inc@changes(1) WHERE _change_type = 'delete'" | jq -r '.data[0].n')"

# ---- gold snapshots -----------------------------------------------------
last=$(sql_gold air "SELECT snapshot_id || '|' || operation || '|' || source FROM _snapshots WHERE table_name = 'delay_inc' ORDER BY snapshot_id DESC LIMIT 1;")
exec_id=${last##*execution:}
check_eq "gold snapshot: operation upsert, source the execution" "upsert" "$(echo "$last" | cut -d'|' -f2)"
ex=$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" "SELECT status FROM executions WHERE id = $exec_id;")
check_eq "the snapshot's execution succeeded" SUCCEEDED "$ex"
check_eq "upsert snapshot counts = execution rows" \
    "$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" "SELECT \"rows\" FROM executions WHERE id = $exec_id;")" \
    "$(sql_gold air "SELECT rows_inserted + rows_updated FROM _snapshots WHERE source = 'execution:$exec_id';")"
check_eq "overwrite snapshot: deleted = previous rows, inserted = new rows" 1 \
    "$(sql_gold air "SELECT s.rows_inserted = (SELECT count(*) FROM delay_full)
                        AND s.rows_deleted = (SELECT p.rows_inserted FROM _snapshots p WHERE p.table_name = 'delay_full'
                                              AND p.snapshot_id < s.snapshot_id ORDER BY p.snapshot_id DESC LIMIT 1)
                     FROM _snapshots s WHERE s.table_name = 'delay_full' ORDER BY s.snapshot_id DESC LIMIT 1;")"
check_eq "every gold snapshot has lineage" 0 \
    "$(sql_gold air "SELECT count(*) FROM _snapshots s WHERE NOT EXISTS (SELECT 1 FROM _lineage l WHERE l.snapshot_id = s.snapshot_id);")"

# ---- lineage command ------------------------------------------------------
S=$(silver_max)
files=$(sql_silver air "SELECT count(*) FROM _ledger WHERE table_name = 'flights';")
j=$(lakehouse lineage air/delay_inc --json)
check_eq "lineage: input table and snapshot" "air.silver.flights|$S" "$(echo "$j" | jq -r '.inputs[0] | "\(.table)|\(.snapshot_id)"')"
check_eq "lineage: every bronze file under the current snapshot" \
    "$files|$(sql_silver air "SELECT sum(records) FROM _ledger WHERE table_name = 'flights';")" \
    "$(echo "$j" | jq -r '.inputs[0] | "\(.bronze_file_count)|\(.bronze_records)"')"
check_eq "lineage: files are real bronze files" "$(echo "$j" | jq -r '.inputs[0].bronze_files | length')" \
    "$(echo "$j" | jq -r '.inputs[0].bronze_files[].file' | while read -r f; do [ -f "$LAKEHOUSE_DATA/$f" ] && echo ok; done | grep -c ok)"
first_inc=$(sql_gold air "SELECT min(snapshot_id) FROM _snapshots WHERE table_name = 'delay_inc';")
first_in=$(sql_gold air "SELECT input_snapshot_id FROM _lineage WHERE snapshot_id = $first_inc;")
j1=$(lakehouse lineage air/delay_inc --snapshot "$first_inc" --files 0 --json)
check_eq "lineage --snapshot: the silver snapshot it read then, and only older files" \
    "$first_in|$(sql_silver air "SELECT count(*) FROM _ledger WHERE table_name = 'flights' AND snapshot_id <= $first_in;")" \
    "$(echo "$j1" | jq -r '.inputs[0] | "\(.snapshot_id)|\(.bronze_files | length)"')"
j2=$(lakehouse lineage air/top_origins --json)
check_eq "lineage recurses through gold inputs" "air.gold.delay_inc|air.silver.flights|$S" \
    "$(echo "$j2" | jq -r '"\(.inputs[0].table)|\(.inputs[0].inputs[0].table)|\(.inputs[0].inputs[0].snapshot_id)"')"
txt=$(lakehouse lineage air/top_origins)
check_eq "lineage text names the silver snapshot and its bronze files" 1 \
    "$(echo "$txt" | grep -c "air.silver.flights snapshot $S .*: $files bronze files")"
out=$(lakehouse lineage air/nope 2>&1); rc=$?
check_eq "lineage of an unknown table fails with a message" "1|1" "$rc|$(echo "$out" | grep -c 'air.gold.nope has no snapshots')"

# ---- a changed definition recomputes everything ----------------------------
before=$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_inc';")
sed -i 's/sum(delay) AS total_delay/sum(delay) AS total_delay, max(distance) AS longest/; s/a.total_delay, a.origin/a.total_delay, a.longest, a.origin/' "$T/jobs/delay_inc.sql"
check_cmd "job add (changed incremental job)" lakehouse job add "$T/jobs/delay_inc.sql"
new_run() { [ "$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_inc';")" != "$before" ]; }
if wait_until 60 new_run; then pass "changed definition runs"; else fail "changed definition runs" "no new snapshot"; fi
check_eq "changed definition: read every change, every group has the new column" \
    "$(sql_gold air "SELECT count(*) FROM delay_inc;")|0" \
    "$(sql_gold air "SELECT count(*) FROM delay_inc WHERE longest IS NOT NULL;")|$(sql_gold air "SELECT min(changes_from) FROM _lineage WHERE snapshot_id = (SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_inc');")"

check_eq "accumulate: groups whose count came to 0 were deleted (origin moved away)" 0 \
    "$(sql_gold air "SELECT count(*) FROM delay_acc WHERE flights = 0;")"
check_eq "accumulate: the catalog stores the columns" "flights,total_delay" \
    "$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" "SELECT accumulate FROM jobs WHERE name = 'delay_acc';")"
# a changed definition reads every change again: the table starts empty, nothing counted twice
before=$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_acc';")
sed -i 's/GROUP BY 1, 2$/GROUP BY 1, 2 -- changed/' "$T/jobs/delay_acc.sql"
check_cmd "job add (changed accumulating job)" lakehouse job add "$T/jobs/delay_acc.sql"
acc_ran() { [ "$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_acc';")" != "$before" ]; }
if wait_until 60 acc_ran; then pass "changed accumulating job runs"; else fail "changed accumulating job runs" "no new snapshot"; fi
check_eq "changed accumulating job: still equals the full recomputation" 0 "$(acc_diff)"
acc_snap=$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'delay_acc';")
check_eq "changed accumulating job: its history still equals the table" \
    "$(sql_gold air "SELECT count(*), sum(flights) FROM delay_acc;")" \
    "$(lakehouse query --json "SELECT count(*) AS n, sum(flights) AS f FROM air.gold.delay_acc@$acc_snap" | jq -r '.data[0] | "\(.n)|\(.f)"')"
printf -- '-- domain: air\n-- accumulate: flights\nSELECT origin, count(*) AS flights FROM air.silver.flights GROUP BY 1\n' > "$T/bad_acc.sql"
out=$(lakehouse job add "$T/bad_acc.sql" 2>&1)
check_eq "accumulate without unique_key is refused" 1 "$(echo "$out" | grep -c 'accumulate adds to the stored row of a key and needs a unique_key')"

stop_group; rc=$?
check_eq "group stops cleanly" 0 "$rc"
finish
