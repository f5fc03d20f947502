#!/usr/bin/env bash
# Retention and compaction test: lakehouse-processor alone on a temporary
# data directory, fed with hand-made bronze files (some in old dt= dates),
# driven by `lakehouse expire` and `lakehouse compact`. Checks: a dry run
# lists what would go and deletes nothing; expire removes only old bronze
# files, old snapshots and ended row versions, never current rows; ledger rows
# stay, so a restart merges nothing again; a rebuild replay is refused when
# bronze was expired; compaction turns many small files of a day into one,
# silver unchanged, bronze queries never count twice (also while both the
# inputs and the output are on disk), ledger consistent, replay equals live;
# kill -9 of the processor during compaction leaves everything consistent.
# Then gold (lakehouse-transformer alone, one job): expire removes old gold
# snapshots and their lineage, never the newest; dry run deletes nothing.
source "$(dirname "$0")/../lib.sh"

D=$LAKEHOUSE_DATA
PLOG=$T/processor.log
PROC_PID=""
export LAKEHOUSE_QUERY_TIMEOUT_MS=1000 # the compaction grace period follows it
mkdir -p "$D"
TODAY=$(date -u +%F)
YESTERDAY=$(date -u -d yesterday +%F)

start_processor() {
    rm -f "$D/run/processor.sock"
    lakehouse-processor --data "$D" >>"$PLOG" 2>&1 &
    PROC_PID=$!
    wait_until 20 test -S "$D/run/processor.sock" || { echo "processor did not start"; tail -30 "$PLOG"; return 1; }
}
stop_processor() {
    kill -TERM "$PROC_PID"; local rc=0; wait "$PROC_PID" || rc=$?; PROC_PID=""; return $rc
}
bronze_path() { printf '%s/bronze/demo/%s/dt=%s/%020d-%020d.ndjson.lz4' "$D" "$1" "$2" "$3" "$4"; }
bronze() {
    local path; path=$(bronze_path "$@")
    mkdir -p "$(dirname "$path")"
    lz4 -q -c > "$path.tmp" && mv "$path.tmp" "$path"
}
user() { # SEQ ID NAME
    printf '{"id":%s,"name":"%s","_insert_date":"2020-01-01T00:00:00.000Z","_domain":"demo","_endpoint":"users","_seq":%s,"_schema_version":1}\n' "$2" "$3" "$1"
}
logline() { # SEQ N
    printf '{"msg":"m%s","n":%s,"_insert_date":"2020-01-01T00:00:00.000Z","_domain":"demo","_endpoint":"logs","_seq":%s,"_schema_version":1}\n' "$2" "$2" "$1"
}
q() { sql_silver demo "$1" 2>/dev/null; }
# bq SQL: the one value of a one-row, one-column query through the query engine
bq() { lakehouse --data "$D" query --json "$1" 2>&1 | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(list(d[0].values())[0])' 2>&1; }
lh() { lakehouse --data "$D" "$@"; }
dump() { q "SELECT id, name, _seq FROM users ORDER BY id;" | md5sum; q "SELECT n, msg, _seq FROM logs ORDER BY _seq;" | md5sum; }
ledger_count() { q "SELECT count(*) FROM _ledger;"; }
files_in() { find "$D/bronze/demo/$1/dt=$2" -name '*.ndjson.lz4' 2>/dev/null | wc -l; }

cat > "$T/users.json" <<'EOF'
{"domain":"demo","name":"users","mode":"MANUAL","columns":[
 {"name":"id","type":"integer","required":true,"primary_key":true},{"name":"name","type":"string"}]}
EOF
cat > "$T/logs.json" <<'EOF'
{"domain":"demo","name":"logs","mode":"MANUAL","columns":[{"name":"msg","type":"string"},{"name":"n","type":"integer"}]}
EOF
check_cmd "endpoint create demo/users" lh endpoint create "$T/users.json"
check_cmd "endpoint create demo/logs" lh endpoint create "$T/logs.json"
start_processor

# ---- old data: two old days, the second updates id 1 (so a row version ends in an old snapshot)
{ user 1 1 one-v1; user 2 2 two; } | bronze users 2020-01-01 1 2
wait_eq 30 1 ledger_count || fail "old file 1 merged" "$WAIT_LAST"
{ user 3 3 three; user 4 1 one-v2; } | bronze users 2020-01-02 3 4
wait_eq 30 2 ledger_count || fail "old file 2 merged" "$WAIT_LAST"
# ---- today: many small files (one record each), id 1 updated again
for i in $(seq 0 19); do
    s=$((100 + i))
    if [ "$i" -eq 0 ]; then user $s 1 one-v3; else user $s $((10 + i)) "u$i"; fi | bronze users "$TODAY" $s $s
    logline $((500 + i)) "$i" | bronze logs "$TODAY" $((500 + i)) $((500 + i))
done
if wait_eq 60 42 ledger_count; then pass "all 42 files merged"; else fail "all 42 files merged" "$WAIT_LAST"; fi
check_eq "users rows" "22" "$(q 'SELECT count(*) FROM users;')"
check_eq "id 1 current version" "one-v3|100" "$(q 'SELECT name, _seq FROM users WHERE id = 1;')"

# ---- make the snapshots of the two old files old (as if merged in 2020)
stop_processor
sqlite3 "$D/silver/demo.db" "UPDATE _snapshots SET committed_at = '2020-01-0' || snapshot_id || 'T00:00:00.000Z' WHERE source LIKE '%dt=2020-%';"
start_processor
SNAPS=$(q "SELECT count(*) FROM _snapshots;")
HIST=$(q "SELECT count(*) FROM _h_users;")
BEFORE=$(dump)

# ---- dry run
out=$(lh expire --dry-run demo 2>&1)
case "$out" in
*"would expire 2 bronze files (4 records), 2 snapshots, 1 history rows"*) pass "dry run lists what would go" ;;
*) fail "dry run lists what would go" "$out" ;;
esac
check_eq "dry run: old files still there" "1 1" "$(files_in users 2020-01-01) $(files_in users 2020-01-02)"
check_eq "dry run: snapshots untouched" "$SNAPS" "$(q 'SELECT count(*) FROM _snapshots;')"
check_eq "dry run: history untouched" "$HIST" "$(q 'SELECT count(*) FROM _h_users;')"

# ---- expire
out=$(lh expire demo 2>&1)
case "$out" in
*"expired 2 bronze files (4 records), 2 snapshots, 1 history rows"*) pass "expire reports what went" ;;
*) fail "expire reports what went" "$out" ;;
esac
check_eq "expire: old bronze files and their dt= dirs gone" "no no" \
    "$(test -d "$D/bronze/demo/users/dt=2020-01-01" && echo yes || echo no) $(test -d "$D/bronze/demo/users/dt=2020-01-02" && echo yes || echo no)"
check_eq "expire: today's files kept" "20" "$(files_in users "$TODAY")"
check_eq "expire: current silver rows untouched" "$BEFORE" "$(dump)"
check_eq "expire: ledger rows of expired files kept" "2" "$(q "SELECT count(*) FROM _ledger WHERE file LIKE '%dt=2020-%';")"
check_eq "expire: old snapshots gone, newest kept" "$((SNAPS - 2)) 0" \
    "$(q 'SELECT count(*) FROM _snapshots;') $(q "SELECT count(*) FROM _snapshots WHERE committed_at < '2021';")"
check_eq "expire: only the ended old version left history" "$((HIST - 1)) 0" \
    "$(q 'SELECT count(*) FROM _h_users;') $(q "SELECT count(*) FROM _h_users WHERE name = 'one-v1';")"
check_eq "expire: current versions all still in history" "22" "$(q 'SELECT count(*) FROM _h_users WHERE _valid_to IS NULL;')"
check_eq "expire: logged in _retention" "bronze|2|4
silver|2|1" "$(q "SELECT layer, CASE layer WHEN 'bronze' THEN files ELSE snapshots END, CASE layer WHEN 'bronze' THEN records ELSE history_rows END FROM _retention ORDER BY layer;")"
out=$(lh expire demo 2>&1)
case "$out" in *"expired 0 bronze files (0 records), 0 snapshots, 0 history rows"*) pass "expire again: nothing more" ;; *) fail "expire again: nothing more" "$out" ;; esac
out=$(lh replay demo/users 2>&1) && fail "rebuild replay refused after expiry" "$out" || {
    case "$out" in *"expired by retention"*) pass "rebuild replay refused after expiry" ;; *) fail "rebuild replay refused after expiry" "$out" ;; esac; }
check_eq "refused replay left silver as it was" "$BEFORE" "$(dump)"
SNAPS=$(q "SELECT count(*) FROM _snapshots;")
stop_processor; start_processor
sleep 1
check_eq "restart: nothing merged again" "$SNAPS" "$(q 'SELECT count(*) FROM _snapshots;')"

# ---- compaction of today's 20+20 small files
LEDGER=$(ledger_count)
BQ_USERS=$(bq "SELECT count(*) FROM demo.bronze.users")
out=$(lh compact demo --date "$TODAY" 2>&1)
case "$out" in *"compacted 40 files into 2"*) pass "compact: 40 files into 2" ;; *) fail "compact: 40 files into 2" "$out" ;; esac
check_eq "compact: both inputs and output on disk during the grace" "21" "$(files_in users "$TODAY")"
check_eq "compact: a bronze query never counts twice" "$BQ_USERS" "$(bq "SELECT count(*) FROM demo.bronze.users")"
if wait_eq 30 "1 1" sh -c "echo \$(find '$D/bronze/demo/users/dt=$TODAY' -name '*.lz4' | wc -l) \$(find '$D/bronze/demo/logs/dt=$TODAY' -name '*.lz4' | wc -l)"; then
    pass "compact: inputs removed after the grace"; else fail "compact: inputs removed after the grace" "$WAIT_LAST"; fi
F=$(find "$D/bronze/demo/users/dt=$TODAY" -name '*.lz4' -printf '%f\n')
check_eq "compact: named first-last of its inputs" "$(printf '%020d-%020d.ndjson.lz4' 100 119)" "$F"
check_eq "compact: the file holds every record" "20" "$(lz4cat "$D/bronze/demo/users/dt=$TODAY/$F" | wc -l)"
check_eq "compact: silver unchanged" "$BEFORE" "$(dump)"
check_eq "compact: no new snapshot" "$SNAPS" "$(q 'SELECT count(*) FROM _snapshots;')"
check_eq "compact: ledger = inputs replaced by outputs" "$((LEDGER - 40 + 2))" "$(ledger_count)"
check_eq "compact: ledger row of the output" "20|$(q "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'users';")" \
    "$(q "SELECT records, snapshot_id FROM _ledger WHERE file LIKE '%/$F';")"
check_eq "compact: recorded as done" "done|20" "$(q "SELECT state, files FROM _compactions WHERE table_name = 'users';")"
check_eq "compact: bronze query after" "$BQ_USERS" "$(bq "SELECT count(*) FROM demo.bronze.users")"
stop_processor; start_processor
sleep 1
check_eq "compact: restart merges nothing again" "$SNAPS" "$(q 'SELECT count(*) FROM _snapshots;')"
out=$(lh replay demo/logs 2>&1) || fail "replay logs" "$out"
out=$(lh replay demo/users --from "$TODAY" 2>&1) || fail "replay users range" "$out"
check_eq "compact: replay equals live" "$BEFORE" "$(dump)"

# ---- kill -9 during compaction of yesterday (a closed day: compacted without --date)
for i in $(seq 0 59); do
    s=$((1000 + i)); logline $s $((100 + i)) | bronze logs "$YESTERDAY" $s $s
done
wait_eq 60 60 sh -c "sqlite3 'file:$D/silver/demo.db?mode=ro' \"SELECT count(*) FROM _ledger WHERE file LIKE '%dt=$YESTERDAY%'\"" \
    || fail "yesterday merged" "$WAIT_LAST"
LIVE=$(dump)
for delay in 0.05 0.15 0.3; do
    lh compact demo/logs >/dev/null 2>&1 &
    cpid=$!
    sleep $delay
    kill -9 "$PROC_PID" 2>/dev/null; wait "$PROC_PID" 2>/dev/null; PROC_PID=""
    kill "$cpid" 2>/dev/null; wait $cpid 2>/dev/null # its request died with the processor
    start_processor
done
out=$(lh compact demo/logs 2>&1) || fail "compact after kills" "$out"
if wait_eq 30 1 sh -c "find '$D/bronze/demo/logs/dt=$YESTERDAY' -name '*.lz4' | wc -l"; then
    pass "kill -9: compaction completes after restart"; else fail "kill -9: compaction completes after restart" "$WAIT_LAST"; fi
check_eq "kill -9: silver unchanged" "$LIVE" "$(dump)"
check_eq "kill -9: every record once in bronze" "60 60" \
    "$(bq "SELECT count(*) || ' ' || count(DISTINCT _seq) FROM demo.bronze.logs WHERE _seq >= 1000")"
check_eq "kill -9: ledger has just the compacted file for that day" "1|60" \
    "$(q "SELECT count(*), sum(records) FROM _ledger WHERE file LIKE '%dt=$YESTERDAY%';")"
check_eq "kill -9: no compaction left pending, no leftovers" "0 0" \
    "$(q "SELECT count(*) FROM _compactions WHERE state = 'pending';") $(ls "$D/spool/.compact" 2>/dev/null | wc -l)"
check_eq "kill -9: each file merged once, the output never" "60" \
    "$(q "SELECT count(*) FROM _snapshots WHERE source LIKE '%dt=$YESTERDAY%';")"
out=$(lh replay demo/logs 2>&1) || fail "replay logs after kills" "$out"
check_eq "kill -9: replay equals live" "$LIVE" "$(dump)"

# ---- gold retention: the transformer (gold's only writer) alone, one job
TLOG=$T/transformer.log
TRANS_PID=""
start_transformer() {
    rm -f "$D/run/transformer.sock"
    lakehouse-transformer --data "$D" >>"$TLOG" 2>&1 &
    TRANS_PID=$!
    wait_until 20 test -S "$D/run/transformer.sock" || { echo "transformer did not start"; tail -30 "$TLOG"; return 1; }
}
stop_transformer() {
    kill -TERM "$TRANS_PID"; local rc=0; wait "$TRANS_PID" || rc=$?; TRANS_PID=""; return $rc
}
gq() { sqlite3 "file:$D/gold/demo.db?mode=ro" "$1" 2>/dev/null; }
printf -- '-- job: user_count\n-- domain: demo\nSELECT count(*) AS n FROM demo.silver.users\n' >"$T/uc.sql"
check_cmd "gold: job add" lh job add "$T/uc.sql"
start_transformer || fail "gold: transformer starts" "$(tail -5 "$TLOG")"
for i in 1 2 3; do lh job run demo/user_count --wait >/dev/null 2>&1 || fail "gold: run $i" "failed"; done
GS=$(gq "SELECT count(*) FROM _snapshots WHERE table_name = 'user_count';")
GN=$(gq "SELECT n FROM user_count;")
if [ "${GS:-0}" -ge 3 ]; then pass "gold: runs made snapshots ($GS)"; else fail "gold: runs made snapshots" "$GS"; fi
check_eq "gold: one lineage row per snapshot" "$GS" "$(gq "SELECT count(*) FROM _lineage;")"
stop_transformer || fail "gold: transformer exits 0" "status $?"
# every gold snapshot committed long ago (before the default 2555-day horizon)
sqlite3 "$D/gold/demo.db" "UPDATE _snapshots SET committed_at = '2001-01-01T00:00:00.000Z';"
out=$(lh expire demo 2>&1)
case "$out" in *"gold: not expired, the transformer is not running"*) pass "gold: expire without the transformer says so" ;;
    *) fail "gold: expire without the transformer says so" "$out" ;; esac
check_eq "gold: nothing expired without the transformer" "$GS" "$(gq "SELECT count(*) FROM _snapshots;")"
start_transformer || fail "gold: transformer restarts" "$(tail -5 "$TLOG")"
out=$(lh expire --dry-run demo 2>&1)
case "$out" in *"gold: would expire $((GS - 1)) snapshots ($((GS - 1)) lineage rows, 0 history rows)"*) pass "gold: dry run lists what would go" ;;
    *) fail "gold: dry run lists what would go" "$out" ;; esac
check_eq "gold: dry run deletes nothing" "$GS $GS" "$(gq "SELECT count(*) FROM _snapshots;") $(gq "SELECT count(*) FROM _lineage;")"
NEWEST=$(gq "SELECT max(snapshot_id) FROM _snapshots;")
out=$(lh expire demo/user_count 2>&1)
case "$out" in *"gold: expired $((GS - 1)) snapshots ($((GS - 1)) lineage rows, 0 history rows); demo.gold.user_count"*) pass "gold: expire reports what went" ;;
    *) fail "gold: expire reports what went" "$out" ;; esac
check_eq "gold: only the newest snapshot and its lineage left" "1|$NEWEST 1|$NEWEST" \
    "$(gq "SELECT count(*), max(snapshot_id) FROM _snapshots;") $(gq "SELECT count(*), max(snapshot_id) FROM _lineage;")"
check_eq "gold: table rows untouched" "$GN" "$(gq "SELECT n FROM user_count;")"
# history_rows: row versions (the count never changed: none ended)
check_eq "gold: logged in _retention" "user_count|gold|$((GS - 1))|0" \
    "$(gq "SELECT table_name, layer, snapshots, history_rows FROM _retention;")"
out=$(lh expire demo 2>&1)
case "$out" in *"gold: expired 0 snapshots (0 lineage rows, 0 history rows)"*) pass "gold: expire again: nothing more (newest kept)" ;;
    *) fail "gold: expire again: nothing more (newest kept)" "$out" ;; esac
check_cmd "gold: the job runs after expiry" lh job run demo/user_count --wait
check_eq "gold: a new snapshot after expiry" "2" "$(gq "SELECT count(*) FROM _snapshots;")"
stop_transformer || fail "gold: transformer exits 0" "status $?"
grep "level=error" "$TLOG" | head -5

stop_processor || fail "processor exits 0" "status $?"
grep "level=error" "$PLOG" | grep -v "expired by retention" | head -5
finish
