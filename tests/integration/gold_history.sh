#!/usr/bin/env bash
# Row history of gold tables on real data (flights-20k keyed by row number):
# an overwrite job and an upsert job (unique_key origin) run by hand after
# each silver batch (inserts, updates, rows moved between groups, deletes
# that empty a group, a rerun without change). After each run the gold table
# is copied aside; then domain.gold.t@S must equal the copy taken right after
# snapshot S, t@'time' the copy of the snapshot current then, t@changes(a,b)
# exactly the difference of two copies, and `history` / the HTTP history
# endpoint the snapshots; through `lakehouse query` and the HTTP query API.
# Also: a gold database from before history (no _h_ table) gets it at its
# next run; rollback of a gold table is refused; retention expires gold row
# versions but never current ones.
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
HTTP="http://$LAKEHOUSE_LISTEN"

start_group || { fail "start" "group did not start"; exit 1; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"

# cron jobs that never fire during the test: every run is a `job run` here,
# so each gold snapshot follows exactly one copy below
AGG="origin, count(*) AS flights, sum(delay) AS total_delay"
mkdir -p "$T/jobs"
cat > "$T/jobs/by_origin.sql" <<EOF
-- domain: air
-- write_mode: overwrite
-- schedule: cron
-- cron: 0 3 1 1 *
SELECT $AGG FROM air.silver.flights GROUP BY origin
EOF
cat > "$T/jobs/origin_up.sql" <<EOF
-- domain: air
-- unique_key: origin
-- schedule: cron
-- cron: 0 3 1 1 *
SELECT $AGG FROM air.silver.flights GROUP BY origin
EOF
check_cmd "job add (overwrite, upsert)" lakehouse job add "$T/jobs"

# batches: ids 1..8000; 8001..14000; updates (delay + 100 for id % 7 = 0,
# origin moved to ZZZ for id % 11 = 0); 14001..20000; deletes of every row of
# the origin X with the fewest flights (its group disappears)
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key < 8000;" > "$T/b1.ndjson"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key >= 8000 AND key < 14000;" > "$T/b2.ndjson"
src "SELECT json_set(value, '\$.id', key + 1,
            '\$.delay', json_extract(value, '\$.delay') + CASE WHEN (key + 1) % 7 = 0 THEN 100 ELSE 0 END,
            '\$.origin', CASE WHEN (key + 1) % 11 = 0 THEN 'ZZZ' ELSE json_extract(value, '\$.origin') END)
       FROM json_each(readfile('$DATA_FILE')) WHERE key < 14000 AND ((key + 1) % 7 = 0 OR (key + 1) % 11 = 0);" > "$T/b3.ndjson"
src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) WHERE key >= 14000;" > "$T/b4.ndjson"
X=$(src "SELECT json_extract(value, '\$.origin') AS o FROM json_each(readfile('$DATA_FILE'))
         WHERE NOT (key < 14000 AND (key + 1) % 11 = 0) GROUP BY o ORDER BY count(*), o LIMIT 1;")
src "SELECT json_object('id', key + 1, '_op', 'delete') FROM json_each(readfile('$DATA_FILE'))
     WHERE json_extract(value, '\$.origin') = '$X' AND NOT (key < 14000 AND (key + 1) % 11 = 0);" > "$T/b5.ndjson"
NDEL=$(wc -l < "$T/b5.ndjson")

fcount() { sql_silver air "SELECT count(*) FROM flights;" 2>/dev/null; }
fdelay() { sql_silver air "SELECT sum(delay) FROM flights;" 2>/dev/null; }
gold_max() { sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = '$1';"; }
CAPS="$T/caps.db"
# copy table $1 as it is now into caps.db as $1_$2; prints the table's snapshot
capture() {
    sqlite3 "$CAPS" "ATTACH 'file:$LAKEHOUSE_DATA/gold/air.db?mode=ro' AS g;
                     CREATE TABLE $1_$2 AS SELECT * FROM g.$1;" >/dev/null
    gold_max "$1"
}
ROW="quote(origin) || ':' || quote(flights) || ':' || quote(total_delay)"
canon_sql() { echo "SELECT group_concat(r, ',') AS s FROM (SELECT $ROW AS r FROM $1 ORDER BY origin)"; }
canon_cap() { sqlite3 -batch -noheader "$CAPS" "$(canon_sql "$1")"; }
q_cli() { lakehouse query --json "$1" | jq -r '.data[0].s // ""'; }
q_http() { curl -s -G "$HTTP/consumption/query" --data-urlencode "sql=$1" | jq -r '.data[0].s // ""'; }

declare -A SNAP
step=0
run_both() {
    step=$((step + 1))
    for t in by_origin origin_up; do
        lakehouse job run "air/$t" --wait >/dev/null 2>&1 || fail "step $step: run $t" "failed"
        SNAP[$t,$step]=$(capture "$t" "$step")
    done
}
for b in 1 2 3 4 5; do
    lakehouse send air/flights "$T/b$b.ndjson" >/dev/null
    case $b in
        1) wait_eq 90 8000 fcount ;;
        2) wait_eq 90 14000 fcount ;;
        3) wait_eq 90 "$(src "SELECT sum(json_extract(value,'\$.delay') + CASE WHEN (key + 1) % 7 = 0 THEN 100 ELSE 0 END) FROM json_each(readfile('$DATA_FILE')) WHERE key < 14000;")" fdelay ;;
        4) wait_eq 90 20000 fcount ;;
        5) wait_eq 90 $((20000 - NDEL)) fcount ;;
    esac || fail "batch $b merged" "got $WAIT_LAST"
    run_both
    if [ "$b" = 3 ]; then run_both; fi # a rerun that changes nothing (step 4)
done
LAST=$step
check_eq "one gold snapshot per run" "$LAST|$LAST" "$(sql_gold air "SELECT count(*) FROM _snapshots WHERE table_name = 'by_origin';")|$(sql_gold air "SELECT count(*) FROM _snapshots WHERE table_name = 'origin_up';")"
check_eq "group $X is gone from the overwrite table" 0 "$(sql_gold air "SELECT count(*) FROM by_origin WHERE origin = '$X';")"
check_eq "history table beside each gold table" "2" \
    "$(sql_gold air "SELECT count(*) FROM sqlite_master WHERE name IN ('_h_by_origin', '_h_origin_up');")"

# ---- t@S equals the table right after S -----------------------------------
for t in by_origin origin_up; do
    for i in $(seq 1 $LAST); do
        S=${SNAP[$t,$i]}
        want=$(canon_cap "${t}_$i")
        check_eq "$t@$S (step $i) = the table after that run (CLI)" "$want" "$(q_cli "$(canon_sql "air.gold.$t@$S")")"
    done
    for i in 2 5; do
        S=${SNAP[$t,$i]}
        check_eq "$t@$S (step $i) = the table after that run (HTTP)" "$(canon_cap "${t}_$i")" \
            "$(q_http "$(canon_sql "air.gold.$t@$S AS h")")"
    done
    check_eq "$t: the latest snapshot = the table" \
        "$(sql_gold air "$(canon_sql "$t")")" "$(q_cli "$(canon_sql "air.gold.$t@${SNAP[$t,$LAST]}")")"
done
# ---- t@'time' ------------------------------------------------------------------
for i in 2 3; do
    S=${SNAP[by_origin,$i]}
    at=$(sql_gold air "SELECT committed_at FROM _snapshots WHERE snapshot_id = $S;")
    check_eq "by_origin@'$at' = the table after step $i (CLI)" "$(canon_cap by_origin_$i)" \
        "$(q_cli "$(canon_sql "air.gold.by_origin@'$at'")")"
    check_eq "by_origin@'$at' = the table after step $i (HTTP)" "$(canon_cap by_origin_$i)" \
        "$(q_http "$(canon_sql "air.gold.by_origin@'$at'")")"
done
out=$(lakehouse query "SELECT * FROM air.gold.by_origin@'2000-01-01T00:00:00Z'" 2>&1)
check_eq "a time before the first snapshot says so" 1 "$(echo "$out" | grep -c 'air.gold.by_origin has no snapshot at or before')"
out=$(lakehouse query "SELECT * FROM air.gold.by_origin@99999" 2>&1)
check_eq "an unknown gold snapshot gives the range" 1 "$(echo "$out" | grep -c 'unknown snapshot 99999 of air.gold.by_origin (its snapshots are between')"

# ---- t@changes(a,b): exactly the rows that differ ------------------------------
CH="_change_type || '/' || $ROW"
changes_sql() { echo "SELECT group_concat(r, ',') AS s FROM (SELECT $CH AS r FROM air.gold.$1@changes($2,$3) ORDER BY 1)"; }
# expected from two copies; $4 = key column (upsert) or empty (overwrite: no pairs)
expected_changes() {
    local a=$1_$2 b=$1_$3 key=${4:-}
    local ins="'insert'" del="'delete'"
    if [ -n "$key" ]; then
        ins="CASE WHEN $key IN (SELECT $key FROM $a) THEN 'update_after' ELSE 'insert' END"
        del="CASE WHEN $key IN (SELECT $key FROM $b) THEN 'update_before' ELSE 'delete' END"
    fi
    sqlite3 -batch -noheader "$CAPS" "SELECT group_concat(r, ',') FROM (
        SELECT $ins || '/' || $ROW AS r FROM (SELECT * FROM $b EXCEPT SELECT * FROM $a)
        UNION ALL SELECT $del || '/' || $ROW FROM (SELECT * FROM $a EXCEPT SELECT * FROM $b) ORDER BY 1)"
}
for t in by_origin origin_up; do
    key=""; [ "$t" = origin_up ] && key=origin
    for i in 2 3 5 6; do
        p=$((i - 1))
        a=$((${SNAP[$t,$p]} + 1)); b=${SNAP[$t,$i]}
        want=$(expected_changes "$t" "$p" "$i" "$key")
        check_eq "$t@changes($a,$b) = the rows that differ between steps $p and $i (CLI)" "$want" \
            "$(q_cli "$(changes_sql "$t" "$a" "$b")")"
    done
    a=$((${SNAP[$t,4]})); b=${SNAP[$t,4]}
    check_eq "$t: a rerun without change changes nothing (unchanged rows keep their version)" "" \
        "$(q_cli "$(changes_sql "$t" "$a" "$b")")"
done
a=$((${SNAP[origin_up,2]} + 1)); b=${SNAP[origin_up,3]}
check_eq "origin_up@changes over HTTP" "$(expected_changes origin_up 2 3 origin)" "$(q_http "$(changes_sql origin_up "$a" "$b")")"
n_pairs=$(q_cli "SELECT count(*) AS s FROM air.gold.origin_up@changes($a,$b) WHERE _change_type = 'update_after'")
if [ "${n_pairs:-0}" -gt 0 ]; then pass "upsert changes pair on the unique key ($n_pairs updates)"; else fail "upsert changes pair on the unique key" "$n_pairs"; fi
check_eq "overwrite (no key): no update pairs" 0 \
    "$(q_cli "SELECT count(*) AS s FROM air.gold.by_origin@changes(1) WHERE _change_type LIKE 'update%'")"
out=$(lakehouse changes air.gold.by_origin "$a" "$b" --json | jq -r '.row_count')
check_eq "lakehouse changes D.gold.T" "$(q_cli "SELECT count(*) AS s FROM air.gold.by_origin@changes($a,$b)")" "$out"
check_eq "the deleted group is a delete at step 6" "delete/'$X'" \
    "$(q_cli "SELECT group_concat(_change_type || '/' || quote(origin)) AS s FROM air.gold.by_origin@changes($((${SNAP[by_origin,5]} + 1)),${SNAP[by_origin,6]}) WHERE origin = '$X'")"

# ---- @scd2 ------------------------------------------------------------------------
check_eq "origin_up@scd2: one current version per key" "$(sql_gold air "SELECT count(*) FROM origin_up;")" \
    "$(q_cli "SELECT count(*) AS s FROM air.gold.origin_up@scd2 WHERE _is_current")"
check_eq "origin_up@scd2: every version" "$(sql_gold air "SELECT count(*) FROM _h_origin_up;")" \
    "$(q_cli "SELECT count(*) AS s FROM air.gold.origin_up@scd2")"
check_eq "origin_up@scd2: versions of a key do not overlap" 0 \
    "$(q_cli "SELECT count(*) AS s FROM air.gold.origin_up@scd2 AS a JOIN air.gold.origin_up@scd2 AS b
              ON a.origin = b.origin AND a._from_snapshot < b._from_snapshot
              AND (a._to_snapshot IS NULL OR a._to_snapshot > b._from_snapshot)")"

# ---- history --------------------------------------------------------------------------
for t in by_origin origin_up; do
    want=$(sql_gold air "SELECT group_concat(snapshot_id) FROM (SELECT snapshot_id FROM _snapshots WHERE table_name = '$t' ORDER BY snapshot_id DESC);")
    check_eq "lakehouse history air.gold.$t lists its snapshots" "$want" \
        "$(lakehouse history "air.gold.$t" --json | jq -r '[.[].snapshot_id] | join(",")')"
    check_eq "HTTP history of gold $t" "gold|$want" \
        "$(curl -s "$HTTP/tables/air/gold/$t/history" | jq -r '"\(.layer)|\([.history[].snapshot_id] | join(","))"')"
done
check_eq "history operations" "overwrite|upsert" \
    "$(lakehouse history air.gold.by_origin --limit 1 --json | jq -r '.[0].operation')|$(lakehouse history air.gold.origin_up --limit 1 --json | jq -r '.[0].operation')"
check_eq "HTTP history of an unknown gold table: 404" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/tables/air/gold/nope/history")"
out=$(lakehouse history air.gold.nope 2>&1); rc=$?
check_eq "history of an unknown gold table fails with a message" "1|1" "$rc|$(echo "$out" | grep -c 'no gold table air.gold.nope')"

# ---- a job reading its own domain's gold table as of a snapshot -----------------------
cat > "$T/as_of.sql" <<EOF
-- domain: air
-- write_mode: overwrite
-- schedule: cron
-- cron: 0 3 1 1 *
SELECT origin, flights, total_delay FROM air.gold.by_origin@${SNAP[by_origin,2]}
EOF
check_cmd "job add (reads air.gold.by_origin@S)" lakehouse job add "$T/as_of.sql"
check_cmd "job run (reads air.gold.by_origin@S)" lakehouse job run air/as_of --wait
check_eq "a job reads gold time travel of its own domain" "$(canon_cap by_origin_2)" "$(sql_gold air "$(canon_sql as_of)")"

# ---- rollback is for silver ------------------------------------------------------------
out=$(lakehouse rollback air.gold.by_origin "${SNAP[by_origin,2]}" 2>&1); rc=$?
check_eq "rollback of a gold table is refused" "1|1" "$rc|$(echo "$out" | grep -c 'rollback is for silver tables: gold table air.gold.by_origin is rewritten by its job')"
out=$(lakehouse rollback air/by_origin "${SNAP[by_origin,2]}" 2>&1); rc=$?
check_eq "rollback of D/T naming a gold table says it is gold" "1|1" "$rc|$(echo "$out" | grep -c 'air.gold.by_origin is a gold table')"

# ---- a gold table from before history ---------------------------------------------------
stop_group || fail "group stops" "status $?"
sqlite3 "$LAKEHOUSE_DATA/gold/air.db" "DROP TABLE _h_by_origin;"
start_group || fail "group restarts" "$(tail -5 "$T/group.log")"
old=$(gold_max by_origin)
capture by_origin 7 >/dev/null
out=$(lakehouse query "SELECT * FROM air.gold.by_origin@$old" 2>&1)
check_eq "no history yet: the message says the next run starts it" 1 "$(echo "$out" | grep -c 'the next run starts it')"
echo '{"id": 2, "date": "2001/01/01 06:00", "delay": 777, "distance": 100, "origin": "NEW", "destination": "SFO"}' > "$T/b6.ndjson"
lakehouse send air/flights "$T/b6.ndjson" >/dev/null
wait_eq 90 1 sql_silver air "SELECT count(*) FROM flights WHERE origin = 'NEW';" || fail "legacy: update merged" "$WAIT_LAST"
check_cmd "legacy: the job runs" lakehouse job run air/by_origin --wait
new=$(capture by_origin 8)
check_eq "legacy: history created, seeded from the rows it held" 1 "$(grep -c 'gold_history_created table=by_origin' "$T/group.log")"
check_eq "legacy: @old = the rows before the run" "$(canon_cap by_origin_7)" "$(q_cli "$(canon_sql "air.gold.by_origin@$old")")"
check_eq "legacy: @new = the table" "$(canon_cap by_origin_8)" "$(q_cli "$(canon_sql "air.gold.by_origin@$new")")"
check_eq "legacy: the run's changes are exactly the rows that differ" "$(expected_changes by_origin 7 8)" \
    "$(q_cli "$(changes_sql by_origin "$new" "$new")")"

# ---- retention: old versions go, current ones stay ---------------------------------------
sqlite3 "$LAKEHOUSE_DATA/gold/air.db" "UPDATE _snapshots SET committed_at = '2001-01-01T00:00:00.000Z' WHERE table_name = 'origin_up';"
cut=$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'origin_up' AND snapshot_id < (SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'origin_up');")
gone=$(sql_gold air "SELECT count(*) FROM _h_origin_up WHERE _valid_to <= $cut;")
cur=$(sql_gold air "SELECT count(*) FROM _h_origin_up WHERE _valid_to IS NULL;")
out=$(lakehouse expire air/origin_up 2>&1)
case "$out" in *"history rows)"*"air.gold.origin_up: "*" snapshots and $gone history rows before"*) pass "expire reports gold history rows ($gone)" ;;
    *) fail "expire reports gold history rows" "$out" ;; esac
check_eq "expired versions removed, current versions kept" "0|$cur" \
    "$(sql_gold air "SELECT count(*) FROM _h_origin_up WHERE _valid_to <= $cut;")|$(sql_gold air "SELECT count(*) FROM _h_origin_up WHERE _valid_to IS NULL;")"
check_eq "after expiry, the latest snapshot still equals the table" "$(sql_gold air "$(canon_sql origin_up)")" \
    "$(q_cli "$(canon_sql "air.gold.origin_up@${SNAP[origin_up,$LAST]}")")"
out=$(lakehouse query "SELECT * FROM air.gold.origin_up@${SNAP[origin_up,1]}" 2>&1)
check_eq "an expired gold snapshot is unknown" 1 "$(echo "$out" | grep -c "unknown snapshot ${SNAP[origin_up,1]} of air.gold.origin_up")"
check_eq "gold retention logged with history rows" "origin_up|gold|$gone" \
    "$(sql_gold air "SELECT table_name, layer, history_rows FROM _retention;")"

grep "level=error" "$T/group.log" | head -5
stop_group; rc=$?
check_eq "group stops cleanly" 0 "$rc"
finish
