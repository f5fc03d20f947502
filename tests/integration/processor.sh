#!/usr/bin/env bash
# Processor test: lakehouse-processor alone on a temporary data directory, fed
# with hand-made bronze files (NDJSON lines with the metadata fields, LZ4
# compressed by the lz4 CLI, written to a .tmp name and renamed into place as
# ingest does). Checks: files present at start are merged (reconcile); new
# dt= and endpoint directories are watched; upsert where the larger _seq wins
# even when the older file arrives later; duplicates collapse; value mapping;
# schema evolution (ADD COLUMN); append without duplicates on re-merge;
# ledger and snapshot rows; corrupt files quarantined and never half merged;
# replay (table, domain + date range, everything) equals live processing;
# SIGTERM finishes the merge in progress; kill -9 in the middle of a merge
# leaves silver consistent and the restart merges everything exactly once.
source "$(dirname "$0")/../lib.sh"

D=$LAKEHOUSE_DATA
PLOG=$T/processor.log
PROC_PID=""
# debug level: the test waits for "merging file=..." before signalling
export LAKEHOUSE_LOG_LEVEL=debug
mkdir -p "$D"

start_processor() {
    rm -f "$D/run/processor.sock" # a kill -9 leaves the ipc file behind
    lakehouse-processor --data "$D" >>"$PLOG" 2>&1 &
    PROC_PID=$!
    wait_until 20 test -S "$D/run/processor.sock" || { echo "processor did not start"; tail -30 "$PLOG"; return 1; }
}
# stop_processor: SIGTERM and wait; returns the exit status
stop_processor() {
    kill -TERM "$PROC_PID"
    local rc=0
    wait "$PROC_PID" || rc=$?
    PROC_PID=""
    return $rc
}

# bronze ENDPOINT DATE FIRST_SEQ LAST_SEQ < ndjson  (atomic: tmp + rename)
bronze_path() { printf '%s/bronze/demo/%s/dt=%s/%020d-%020d.ndjson.lz4' "$D" "$1" "$2" "$3" "$4"; }
bronze() {
    local path; path=$(bronze_path "$@")
    mkdir -p "$(dirname "$path")"
    lz4 -q -c > "$path.tmp" && mv "$path.tmp" "$path"
}
# raw bytes (stdin, no compression) under a bronze name
bronze_raw() {
    local path; path=$(bronze_path "$@")
    mkdir -p "$(dirname "$path")"
    cat > "$path.tmp" && mv "$path.tmp" "$path"
}
# user SEQ ID NAME SCORE [EXTRA_JSON_FIELDS]
user() {
    printf '{"id":%s,"name":"%s","score":%s%s,"_insert_date":"2024-05-01T00:00:%02d.000Z","_domain":"demo","_endpoint":"users","_seq":%s,"_schema_version":1}\n' \
        "$2" "$3" "$4" "${5:+,$5}" $(( $1 % 60 )) "$1"
}
# log SEQ MSG N
logline() {
    printf '{"msg":"%s","n":%s,"_insert_date":"2024-05-01T00:00:00.000Z","_domain":"demo","_endpoint":"logs","_seq":%s,"_schema_version":1,"_batch_id":"b-%s"}\n' "$2" "$3" "$1" "$1"
}

q() { sql_silver demo "$1" 2>/dev/null; }
ledger_is() { [ "$(q 'SELECT count(*) FROM _ledger')" = "$1" ]; }
quarantine_is() { [ "$(q 'SELECT count(*) FROM _quarantine')" = "$1" ]; }
file_merged() { [ "$(q "SELECT count(*) FROM _ledger WHERE file = '$1'")" = 1 ]; }
log_has() { grep -q -- "$1" "$PLOG"; }
rel() { local p; p=$(bronze_path "$@"); echo "${p#"$D"/}"; }

# ---------------------------------------------------------------- catalog
cat > "$T/users.json" <<'EOF'
{"domain":"demo","name":"users","mode":"MANUAL","columns":[
 {"name":"id","type":"integer","required":true,"primary_key":true},
 {"name":"name","type":"string"},{"name":"score","type":"float"},
 {"name":"active","type":"boolean"},{"name":"meta","type":"json"},
 {"name":"email","type":"string"}]}
EOF
cat > "$T/logs.json" <<'EOF'
{"domain":"demo","name":"logs","mode":"MANUAL","columns":[
 {"name":"msg","type":"string"},{"name":"n","type":"integer"}]}
EOF
check_cmd "endpoint create demo/users" lakehouse endpoint create "$T/users.json"
check_cmd "endpoint create demo/logs" lakehouse endpoint create "$T/logs.json"

# ------------------------------------------- files present before the start
{
    user 100 1 one 1.5 '"active":true,"meta":{"k":"v","n":[1,2]}'
    user 101 2 two 2
    user 102 3 three 3
    user 103 3 three 3 # same data, newer _seq: collapses
} | bronze users 2024-05-01 100 103
{ logline 100 a 1; logline 101 b 2; } | bronze logs 2024-05-01 100 101
F1=$(rel users 2024-05-01 100 103)

start_processor || { fail "start" "processor did not start"; exit 1; }
check_eq "pid file" "$PROC_PID" "$(cat "$D/run/processor.pid" 2>/dev/null)"
wait_until 20 ledger_is 2
check_eq "reconcile merges files present at start (users)" 3 "$(q 'SELECT count(*) FROM users')"
check_eq "reconcile merges files present at start (logs)" 2 "$(q 'SELECT count(*) FROM logs')"
check_eq "duplicate key collapses, larger _seq kept" "1|103" "$(q 'SELECT count(*), max(_seq) FROM users WHERE id = 3')"
check_eq "value mapping (boolean, json, real, metadata)" \
    '1|{"k":"v","n":[1,2]}|real|1.5|2024-05-01T00:00:40.000Z|1|' \
    "$(q 'SELECT active, meta, typeof(score), score, _insert_date, _schema_version, _rescued FROM users WHERE id = 1')"
check_eq "table created from the endpoint schema (key, types)" \
    'id|INTEGER|1 name|TEXT|0 score|REAL|0 active|INTEGER|0 meta|TEXT|0 email|TEXT|0 _seq|INTEGER|0 _insert_date|TEXT|0 _schema_version|INTEGER|0 _rescued|TEXT|0' \
    "$(q "SELECT name || '|' || type || '|' || pk FROM pragma_table_info('users')" | tr '\n' ' ' | sed 's/ $//')"
check_eq "snapshot row of the first file" "merge|3|0|1|0|1" \
    "$(q "SELECT operation, rows_inserted, rows_updated, rows_unchanged, rows_deleted, schema_version FROM _snapshots WHERE source = '$F1'")"
check_eq "ledger row of the first file" "users|4" \
    "$(q "SELECT l.table_name, l.records FROM _ledger l JOIN _snapshots s USING (snapshot_id) WHERE l.file = '$F1'")"

# ------------------------------------------------------------ live files
# a new dt= directory after the start; a field the table lacks
user 300 1 one-new 10 '"nickname":"uno","active":false' | bronze users 2024-05-02 300 300
wait_until 20 ledger_is 3
check_eq "new dt= directory is watched, newer record updates" "one-new|10.0|0|uno|300" \
    "$(q 'SELECT name, score, active, nickname, _seq FROM users WHERE id = 1')"
check_eq "missing column added (type inferred)" "TEXT" "$(q "SELECT type FROM pragma_table_info('users') WHERE name = 'nickname'")"
check_eq "absent field becomes NULL" "" "$(q 'SELECT meta FROM users WHERE id = 1')"

# an OLDER file arriving later must not roll id 1 back
{ user 200 1 one-old 0; user 201 4 four 4; } | bronze users 2024-05-02 200 201
F4=$(rel users 2024-05-02 200 201)
wait_until 20 ledger_is 4
check_eq "older file arriving later does not roll back" "one-new|300" "$(q 'SELECT name, _seq FROM users WHERE id = 1')"
check_eq "older file still inserts new keys" "four" "$(q 'SELECT name FROM users WHERE id = 4')"
check_eq "snapshot counts of the late file" "1|0|1" \
    "$(q "SELECT rows_inserted, rows_updated, rows_unchanged FROM _snapshots WHERE source = '$F4'")"

# a new table directory after the start (append table, no key)
{ logline 300 c 3; logline 301 d 4; } | bronze logs 2024-05-02 300 301
wait_until 20 ledger_is 5
check_eq "append table" "4|4" "$(q 'SELECT count(*), count(DISTINCT _seq) FROM logs')"
check_eq "_seq is UNIQUE in an append table" "1" \
    "$(q "SELECT count(*) FROM pragma_index_list('logs') WHERE \"unique\" = 1")"

# -------------------------------------------------------------- corrupt files
printf 'this is not an lz4 frame\n' | bronze_raw users 2024-05-02 400 400
{ user 401 7 seven 7 '"ghost":1'; echo '{"id":8,"name":'; } | bronze users 2024-05-02 401 402
user 403 9 nine 9 | lz4 -q -c > "$T/full.lz4"
head -c $(( $(stat -c %s "$T/full.lz4") - 6 )) "$T/full.lz4" | bronze_raw users 2024-05-02 403 403
printf '{"name":"no key","_seq":404,"_domain":"demo","_endpoint":"users"}\n' | bronze users 2024-05-02 404 404
wait_until 20 quarantine_is 4
check_eq "corrupt files quarantined" 4 "$(q "SELECT count(*) FROM _quarantine WHERE table_name = 'users' AND reason <> ''")"
check_eq "quarantine reasons" 4 "$(q "SELECT count(*) FROM _quarantine WHERE reason LIKE '%LZ4%' OR reason LIKE '%line 2: invalid JSON%' OR reason LIKE '%truncated%' OR reason LIKE '%primary key column ''id'' is missing%'")"
check_eq "a corrupt file is never half merged" "0" "$(q 'SELECT count(*) FROM users WHERE id IN (7, 8, 9)')"
check_eq "a quarantined file's new column is rolled back" "0" "$(q "SELECT count(*) FROM pragma_table_info('users') WHERE name = 'ghost'")"
check_eq "quarantined files are not in the ledger" 5 "$(q 'SELECT count(*) FROM _ledger')"
check_cmd "processor survives corrupt files" kill -0 "$PROC_PID"

# ------------------------------------------------------------------- replay
users_dump() { q 'SELECT * FROM users ORDER BY id'; }
logs_dump() { q 'SELECT * FROM logs ORDER BY _seq'; }
USERS_LIVE=$(users_dump)
LOGS_LIVE=$(logs_dump)
SNAP_BEFORE=$(q 'SELECT max(snapshot_id) FROM _snapshots')

check_cmd "replay demo/users" lakehouse replay demo/users
check_eq "replay of a table equals live" "$USERS_LIVE" "$(users_dump)"
check_eq "replay keeps the column order" "id name score active meta email _seq _insert_date _schema_version _rescued nickname" \
    "$(q "SELECT name FROM pragma_table_info('users')" | tr '\n' ' ' | sed 's/ $//')"
check_eq "replay snapshots" "3" "$(q "SELECT count(*) FROM _snapshots WHERE operation = 'replay' AND table_name = 'users' AND snapshot_id > $SNAP_BEFORE")"
check_eq "replay reports the dropped rows" "4" "$(q "SELECT sum(rows_deleted) FROM _snapshots WHERE operation = 'replay' AND snapshot_id > $SNAP_BEFORE")"
check_eq "replay rewrites the ledger" "5|4" "$(q 'SELECT (SELECT count(*) FROM _ledger), (SELECT count(*) FROM _quarantine)')"

check_cmd "replay demo --from/--to" lakehouse replay demo --from 2024-05-02 --to 2024-05-02
check_eq "date-range replay is idempotent (upsert)" "$USERS_LIVE" "$(users_dump)"
check_eq "date-range replay is idempotent (append)" "$LOGS_LIVE" "$(logs_dump)"

check_cmd "replay everything" lakehouse replay
check_eq "full replay equals live (users)" "$USERS_LIVE" "$(users_dump)"
check_eq "full replay equals live (logs)" "$LOGS_LIVE" "$(logs_dump)"
if lakehouse replay demo/nosuch >/dev/null 2>&1; then fail "replay of an unknown table" "succeeded"; else pass "replay of an unknown table is an error"; fi

# ------------------------------------------------- SIGTERM during a merge
# Big files of a keyed table with shuffled keys (random B-tree inserts) make
# a merge last long enough to be interrupted.
BIG=${PROCESSOR_TEST_BIG:-200000}
cat > "$T/bulk.json" <<'EOF'
{"domain":"demo","name":"bulk","mode":"MANUAL","columns":[
 {"name":"k","type":"string","required":true,"primary_key":true},
 {"name":"a","type":"integer"},{"name":"b","type":"string"},{"name":"c","type":"float"}]}
EOF
check_cmd "endpoint create demo/bulk" lakehouse endpoint create "$T/bulk.json"
gen_bulk() { # FIRST_SEQ COUNT KEY_PREFIX
    awk -v f="$1" -v n="$2" -v p="$3" 'BEGIN { for (i = 0; i < n; i++) printf "{\"k\":\"%s%09d\",\"a\":%d,\"b\":\"value %d\",\"c\":%d.25,\"_insert_date\":\"2024-05-03T00:00:00.000Z\",\"_domain\":\"demo\",\"_endpoint\":\"bulk\",\"_seq\":%d,\"_schema_version\":1}\n", p, (i * 7919) % n, i, i, i, f + i }'
}
S1=1000000
gen_bulk $S1 "$BIG" x | bronze bulk 2024-05-03 $S1 $((S1 + BIG - 1))
FB1=$(rel bulk 2024-05-03 $S1 $((S1 + BIG - 1)))
wait_until 30 log_has "merging file=$FB1"
rc=0; stop_processor || rc=$?
check_eq "SIGTERM during a merge exits 0" 0 "$rc"
check_eq "SIGTERM finishes the merge in progress" "1|$BIG" \
    "$(q "SELECT (SELECT count(*) FROM _ledger WHERE file = '$FB1'), (SELECT count(*) FROM bulk)")"
check_eq "pid file removed on clean exit" "no" "$(test -e "$D/run/processor.pid" && echo yes || echo no)"

# -------------------------------------------------- kill -9 during a merge
S2=2000000
gen_bulk $S2 "$BIG" y | bronze bulk 2024-05-03 $S2 $((S2 + BIG - 1))
FB2=$(rel bulk 2024-05-03 $S2 $((S2 + BIG - 1)))
user 500 5 five 5 | bronze users 2024-05-03 500 500   # lands while the processor is down
start_processor || { fail "restart" "processor did not start"; exit 1; }
wait_until 30 log_has "merging file=$FB2"
kill -KILL "$PROC_PID"; wait "$PROC_PID" 2>/dev/null; PROC_PID=""
check_eq "kill -9: database intact" "ok" "$(q 'PRAGMA integrity_check')"
check_eq "kill -9: rows match the ledger" \
    "$(q "SELECT sum(records) FROM _ledger WHERE table_name = 'bulk'")" "$(q 'SELECT count(*) FROM bulk')"
check_eq "kill -9: interrupted file not in the ledger" 0 "$(q "SELECT count(*) FROM _ledger WHERE file = '$FB2'")"
start_processor || { fail "restart" "processor did not start"; exit 1; }
wait_until 120 file_merged "$FB2"
wait_until 20 file_merged "$(rel users 2024-05-03 500 500)"
check_eq "restart merges everything exactly once" "$((2 * BIG))|$((2 * BIG))" \
    "$(q 'SELECT count(*), count(DISTINCT _seq) FROM bulk')"
check_eq "file dropped while down merged at restart" "five" "$(q 'SELECT name FROM users WHERE id = 5')"
check_eq "every file once in the ledger" "8" "$(q 'SELECT count(DISTINCT file) FROM _ledger')"
rc=0; stop_processor || rc=$?
check_eq "clean stop" 0 "$rc"
if grep -E "AddressSanitizer|runtime error" "$PLOG" >/dev/null; then
    fail "sanitizers" "$(grep -E -m3 'AddressSanitizer|runtime error' "$PLOG")"
else
    pass "no sanitizer reports"
fi
finish
