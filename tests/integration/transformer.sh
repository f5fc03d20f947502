#!/usr/bin/env bash
# The transformer alone on a temporary data directory, without a broker:
# silver databases are built by hand with sqlite3 in the layout.h shape (with
# their _snapshots rows, as the processor writes them), jobs go into the
# catalog (`lakehouse job add` when the client is built, else sqlite3), and
# every run is driven by reconcile (events are hints, the bus is absent).
# Checks: gold rows of a dependency job, a DAG across gold tables and
# domains, overwrite / append / unique_key upsert, execution records with
# inputs_json, coalescing of many commits, a failing job recorded with its
# error and not retried on the same inputs, a job waiting for a missing input,
# cron jobs, run requests over the control socket, crash recovery of RUNNING
# executions, SIGTERM finishing the running job.
source "$(dirname "$0")/../lib.sh"
D=$LAKEHOUSE_DATA
export LAKEHOUSE_RECONCILE_INTERVAL_MS=300
TPID=""

# --- helpers ----------------------------------------------------------------
LAYOUT_SILVER_DDL="
CREATE TABLE IF NOT EXISTS _snapshots (snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL, committed_at TEXT NOT NULL, operation TEXT NOT NULL,
  source TEXT NOT NULL, rows_inserted INTEGER NOT NULL, rows_updated INTEGER NOT NULL,
  rows_unchanged INTEGER NOT NULL, rows_deleted INTEGER NOT NULL, schema_version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _ledger (file TEXT PRIMARY KEY, table_name TEXT NOT NULL,
  snapshot_id INTEGER NOT NULL, records INTEGER NOT NULL, merged_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS _quarantine (file TEXT PRIMARY KEY, table_name TEXT NOT NULL,
  reason TEXT NOT NULL, at TEXT NOT NULL);"

silver_init() {  # DOMAIN
    mkdir -p "$D/silver"
    sqlite3 -batch "$D/silver/$1.db" "PRAGMA journal_mode=WAL; PRAGMA user_version=1; $LAYOUT_SILVER_DDL" >/dev/null
}
# silver_commit DOMAIN TABLE SQL: one transaction with its _snapshots row, as the processor does.
silver_commit() {
    sqlite3 -batch "$D/silver/$1.db" "PRAGMA busy_timeout=10000; BEGIN IMMEDIATE; $3;
      INSERT INTO _snapshots (table_name, committed_at, operation, source, rows_inserted,
        rows_updated, rows_unchanged, rows_deleted, schema_version)
      VALUES ('$2', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'merge', 'bronze/test', 1, 0, 0, 0, 1);
      COMMIT;" >/dev/null
}
silver_snapshot() { sql_silver "$1" "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$2';"; }
cat_sql() { sqlite3 -batch -noheader "file:$D/catalog.db?mode=ro" "$1" 2>/dev/null; }
execs() { cat_sql "SELECT count(*) FROM executions WHERE domain='$1' AND job='$2'${3:+ AND $3};"; }
input_snap() { last_exec "$1" "$2" "json_extract(inputs_json, '\$.\"$3\"')"; }
# until_true TIMEOUT 'shell test': re-evaluated on every try (unlike arguments
# expanded once when wait_until is called)
until_true() { wait_until "$1" eval "$2"; }
last_exec() { cat_sql "SELECT $3 FROM executions WHERE domain='$1' AND job='$2' ORDER BY id DESC LIMIT 1;"; }

start_transformer() {
    rm -f "$D/run/transformer.sock"
    lakehouse-transformer --data "$D" >>"$T/transformer.log" 2>&1 &
    TPID=$!
    wait_until 20 test -S "$D/run/transformer.sock"
}
stop_transformer() {  # returns the exit status
    local rc=0
    kill -TERM "$TPID"
    wait "$TPID" || rc=$?
    TPID=""
    return $rc
}

HAVE_CLI=0
JOBS=$T/jobs
mkdir -p "$JOBS"
# add_job FILE: through the client when it is built, else straight into catalog.db.
add_job() {
    local f=$1
    if [ "$HAVE_CLI" = 1 ]; then
        lakehouse job add "$f" >/dev/null
        return
    fi
    hdr() { sed -n "s/^-- *$1: *//p" "$f" | head -1 | sed 's/ *$//'; }
    local name domain mode uk sched cron sql
    name=$(hdr job); domain=$(hdr domain); mode=$(hdr write_mode); uk=$(hdr unique_key | tr -d ' ')
    sched=$(hdr schedule); cron=$(hdr cron)
    [ -n "$uk" ] && [ -z "$mode" ] && mode=append
    [ -n "$cron" ] && [ -z "$sched" ] && sched=cron
    sql=$(grep -v '^--' "$f" | sed "s/'/''/g")
    sqlite3 -batch "$D/catalog.db" "PRAGMA busy_timeout=10000;
      INSERT OR REPLACE INTO jobs (domain, name, sql, write_mode, unique_key, schedule, cron, created_at, updated_at)
      VALUES ('$domain', '$name', '$sql', '${mode:-overwrite}', '$uk', '${sched:-dependency}', '$cron',
              strftime('%Y-%m-%dT%H:%M:%fZ','now'), strftime('%Y-%m-%dT%H:%M:%fZ','now'));" >/dev/null
}

# --- silver, by hand ----------------------------------------------------------
silver_init demo
silver_commit demo flights "
  CREATE TABLE flights (id INTEGER PRIMARY KEY, origin TEXT, delay INTEGER,
    _seq INTEGER NOT NULL, _insert_date TEXT, _schema_version INTEGER, _rescued TEXT);
  INSERT INTO flights (id, origin, delay, _seq, _insert_date, _schema_version) VALUES
    (1,'JFK',10,1,'2026-11-21T00:00:00Z',1), (2,'JFK',20,2,'2026-11-21T00:00:00Z',1),
    (3,'LAX',5,3,'2026-11-21T00:00:00Z',1),  (4,'SFO',-3,4,'2026-11-21T00:00:00Z',1),
    (5,'LAX',7,5,'2026-11-21T00:00:00Z',1)"
silver_commit demo events "
  CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, _seq INTEGER NOT NULL,
    _insert_date TEXT, _schema_version INTEGER, _rescued TEXT);
  INSERT INTO events (id, kind, _seq) VALUES (1, 'a', 1)"

# --- start without a broker --------------------------------------------------
if start_transformer; then pass "transformer starts without a broker"; else
    fail "transformer starts without a broker" "$(tail -20 "$T/transformer.log")"; exit 1; fi
check_eq "pid file written" "$TPID" "$(cat "$D/run/transformer.pid" 2>/dev/null)"
if lakehouse job list >/dev/null 2>&1; then HAVE_CLI=1; fi
echo "# using $([ "$HAVE_CLI" = 1 ] && echo 'lakehouse job add' || echo 'sqlite3') to store jobs"

cat > "$JOBS/by_origin.sql" <<'EOF'
-- job: by_origin
-- domain: demo
-- write_mode: overwrite
SELECT origin, count(*) AS flights, sum(delay) AS total_delay
FROM demo.silver.flights GROUP BY origin
EOF
cat > "$JOBS/top_origin.sql" <<'EOF'
-- job: top_origin
-- domain: demo
-- reads the gold table of another job: runs after it (DAG)
SELECT origin, flights FROM demo.gold.by_origin ORDER BY flights DESC, origin LIMIT 1
EOF
cat > "$JOBS/origins_report.sql" <<'EOF'
-- job: origins_report
-- domain: report
SELECT b.origin, b.flights, (SELECT max(delay) FROM demo.silver.flights f WHERE f.origin = b.origin) AS worst
FROM demo.gold.by_origin AS b
EOF
cat > "$JOBS/flights_log.sql" <<'EOF'
-- job: flights_log
-- domain: demo
-- write_mode: append
SELECT count(*) AS flights, max(_seq) AS max_seq FROM demo.silver.flights
EOF
cat > "$JOBS/origin_stats.sql" <<'EOF'
-- job: origin_stats
-- domain: demo
-- unique_key: origin
SELECT origin, max(delay) AS max_delay, count(*) AS flights FROM demo.silver.flights GROUP BY origin
EOF
cat > "$JOBS/broken.sql" <<'EOF'
-- job: broken
-- domain: demo
SELECT no_such_column FROM demo.silver.flights
EOF
cat > "$JOBS/waits.sql" <<'EOF'
-- job: waits
-- domain: demo
SELECT count(*) AS n FROM demo.silver.later
EOF
cat > "$JOBS/nightly.sql" <<'EOF'
-- job: nightly
-- domain: demo
-- schedule: cron
-- cron: 0 2 * * ? *
SELECT count(*) AS n FROM demo.silver.flights
EOF
cat > "$JOBS/every_minute.sql" <<'EOF'
-- job: every_minute
-- domain: demo
-- write_mode: append
-- cron: * * * * *
SELECT count(*) AS n FROM demo.silver.flights
EOF
cat > "$JOBS/slow_count.sql" <<'EOF'
-- job: slow_count
-- domain: demo
WITH RECURSIVE spin(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM spin WHERE x < 6000000)
SELECT (SELECT count(*) FROM spin) AS spun, count(*) AS events, max(id) AS last_id FROM demo.silver.events
EOF
for j in by_origin top_origin origins_report flights_log origin_stats broken waits nightly every_minute slow_count; do
    add_job "$JOBS/$j.sql" || fail "add job $j" "could not store it"
done

# --- a dependency job and the DAG ----------------------------------------------
expected_by_origin() { sql_silver demo "SELECT origin, count(*), sum(delay) FROM flights GROUP BY origin ORDER BY origin;"; }
gold_by_origin() { sql_gold demo "SELECT origin, flights, total_delay FROM by_origin ORDER BY origin;" 2>/dev/null; }
if until_true 30 'test "$(expected_by_origin)" = "$(gold_by_origin)"'; then pass "dependency job builds gold rows"; else
    fail "dependency job builds gold rows" "got '$(gold_by_origin)'"; fi
until_true 20 'test "$(execs demo top_origin "status='"'SUCCEEDED'"'")" -ge 1'
check_eq "DAG: job reading gold ran" "JFK|2" "$(sql_gold demo "SELECT origin, flights FROM top_origin;" 2>/dev/null)"
check_eq "DAG: downstream started after upstream finished" 1 "$(cat_sql "
  SELECT (SELECT min(started_at) FROM executions WHERE job='top_origin')
      >= (SELECT min(finished_at) FROM executions WHERE job='by_origin' AND status='SUCCEEDED');")"
until_true 20 'test "$(execs report origins_report "status='"'SUCCEEDED'"'")" -ge 1'
check_eq "DAG across domains (gold/report.db reads demo gold and silver)" "JFK|2|20
LAX|2|7
SFO|1|-3" "$(sql_gold report "SELECT origin, flights, worst FROM origins_report ORDER BY origin;" 2>/dev/null)"

snap1=$(silver_snapshot demo flights)
check_eq "execution SUCCEEDED with rows" "SUCCEEDED|3|" "$(last_exec demo by_origin "status, \"rows\", error")"
check_eq "execution inputs_json has the snapshot read" "$snap1" \
    "$(last_exec demo by_origin "json_extract(inputs_json, '\$.\"demo.silver.flights\"')")"
check_eq "execution timestamps" 1 "$(last_exec demo by_origin "started_at LIKE '____-__-__T__:__:__.___Z' AND finished_at >= started_at")"
by_origin_id=$(last_exec demo by_origin id)
check_eq "gold _snapshots row for the run" "overwrite|execution:$by_origin_id|3" \
    "$(sql_gold demo "SELECT operation, source, rows_inserted FROM _snapshots WHERE table_name='by_origin' ORDER BY snapshot_id DESC LIMIT 1;")"
check_eq "downstream inputs_json names the gold snapshot" \
    "$(sql_gold demo "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='by_origin';")" \
    "$(last_exec demo top_origin "json_extract(inputs_json, '\$.\"demo.gold.by_origin\"')")"
check_eq "gold database is WAL with user_version" "wal|3" \
    "$(sqlite3 -batch "$D/gold/demo.db" "PRAGMA journal_mode; PRAGMA user_version;" | paste -sd '|')"

# --- failures ------------------------------------------------------------------
until_true 20 'test "$(execs demo broken)" -ge 1'
check_eq "failed SQL recorded as FAILED" "FAILED|0" "$(last_exec demo broken "status, \"rows\"")"
err=$(last_exec demo broken error)
case "$err" in *"no such column: no_such_column"*) pass "failed execution keeps the error";;
    *) fail "failed execution keeps the error" "error='$err'";; esac
check_eq "failed job leaves no gold table" "" "$(sql_gold demo "SELECT name FROM sqlite_master WHERE name='broken';")"
sleep 1.5  # several reconcile intervals
check_eq "failure not retried on the same inputs" 1 "$(execs demo broken)"
check_eq "job with a missing input waits (no execution)" 0 "$(execs demo waits)"

# --- cron ------------------------------------------------------------------------
check_eq "cron job stored" "cron|0 2 * * ? *" "$(cat_sql "SELECT schedule, cron FROM jobs WHERE name='nightly';")"
if [ "$(date -u +%H%M)" != "0200" ]; then
    check_eq "cron job does not run outside its minute" 0 "$(execs demo nightly)"
fi
if until_true 10 'test "$(execs demo every_minute "status='"'SUCCEEDED'"'")" -ge 1'; then
    pass "cron job runs in a matching minute"; else fail "cron job runs in a matching minute" "$(execs demo every_minute)"; fi
check_eq "cron run recorded with trigger cron" cron "$(last_exec demo every_minute '"trigger"')"
check_eq "cron job runs once per minute" 1 "$(cat_sql "SELECT max(c) FROM (SELECT count(*) AS c FROM executions
  WHERE job='every_minute' GROUP BY substr(started_at, 1, 16));")"
if [ "$HAVE_CLI" = 1 ]; then
    printf -- '-- job: bad_cron\n-- domain: demo\n-- cron: 0 24 * * *\nSELECT 1 AS one\n' > "$T/bad_cron.sql"
    out=$(lakehouse job add "$T/bad_cron.sql" 2>&1); rc=$?
    case "$rc:$out" in 0:*) fail "invalid cron refused" "accepted: $out";;
        *"hour field '24'"*) pass "invalid cron refused";; *) fail "invalid cron refused" "$out";; esac
fi

# a stored definition that does not validate (written around the client) is
# reported once and never run; the transformer keeps going
sqlite3 -batch "$D/catalog.db" "PRAGMA busy_timeout=10000; INSERT INTO jobs (domain, name, sql, write_mode,
  unique_key, schedule, cron, created_at, updated_at) VALUES ('demo', 'bad_stored', 'SELECT 1 AS one',
  'overwrite', '', 'cron', '0 25 * * *', 'x', 'x');" >/dev/null
sleep 1.5
check_eq "invalid stored job reported once" 1 "$(grep -c 'job_invalid job=demo.bad_stored' "$T/transformer.log")"
check_eq "invalid stored job never runs" 0 "$(execs demo bad_stored)"
if [ "$HAVE_CLI" = 1 ]; then
    out=$(lakehouse job run demo/bad_stored 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && [[ "$out" == *"is invalid"*"hour field"* ]]; then pass "run of an invalid job refused"; else
        fail "run of an invalid job refused" "rc=$rc $out"; fi
fi

# --- new commits: overwrite, append, upsert ------------------------------------------
check_eq "append: one row after the first run" "5|5" "$(sql_gold demo "SELECT flights, max_seq FROM flights_log;" 2>/dev/null)"
check_eq "upsert: first run" "JFK|20|2
LAX|7|2
SFO|-3|1" "$(sql_gold demo "SELECT origin, max_delay, flights FROM origin_stats ORDER BY origin;" 2>/dev/null)"
silver_commit demo flights "
  UPDATE flights SET delay = 99, _seq = 6 WHERE id = 3;
  INSERT INTO flights (id, origin, delay, _seq) VALUES (6, 'BOS', 1, 7), (7, 'JFK', 2, 8)"
snap2=$(silver_snapshot demo flights)
if until_true 30 'test "$(expected_by_origin)" = "$(gold_by_origin)"'; then pass "overwrite: gold follows a new commit"; else
    fail "overwrite: gold follows a new commit" "got '$(gold_by_origin)'"; fi
check_eq "overwrite replaces the table (no duplicate rows)" 4 "$(sql_gold demo "SELECT count(*) FROM by_origin;")"
check_eq "overwrite snapshot counts rows replaced" "4|3" \
    "$(sql_gold demo "SELECT rows_inserted, rows_deleted FROM _snapshots WHERE table_name='by_origin' ORDER BY snapshot_id DESC LIMIT 1;")"
until_true 20 'test "$(sql_gold demo "SELECT origin, flights FROM top_origin;" 2>/dev/null)" = "JFK|3"'
check_eq "DAG: downstream follows the upstream's new result" "JFK|3" "$(sql_gold demo "SELECT origin, flights FROM top_origin;")"
until_true 20 'test "$(sql_gold demo "SELECT count(*) FROM flights_log;" 2>/dev/null)" = 2'
check_eq "append adds rows, one per run" "5|5
7|8" "$(sql_gold demo "SELECT flights, max_seq FROM flights_log ORDER BY max_seq;")"
until_true 20 'test "$(input_snap demo origin_stats demo.silver.flights)" = "$snap2"'
check_eq "upsert on unique_key updates and inserts" "BOS|1|1
JFK|20|3
LAX|99|2
SFO|-3|1" "$(sql_gold demo "SELECT origin, max_delay, flights FROM origin_stats ORDER BY origin;")"
check_eq "upsert snapshot: 1 inserted, 3 updated" "upsert|1|3" \
    "$(sql_gold demo "SELECT operation, rows_inserted, rows_updated FROM _snapshots WHERE table_name='origin_stats' ORDER BY snapshot_id DESC LIMIT 1;")"
check_eq "upsert keeps a unique index on the key" 1 \
    "$(sql_gold demo "SELECT count(*) FROM pragma_index_list('origin_stats') WHERE \"unique\" = 1;")"
until_true 20 'test "$(execs demo broken)" -ge 2'
check_eq "failed job retried when its inputs change" 2 "$(execs demo broken "status='FAILED'")"

# --- a missing input appears ------------------------------------------------------------
silver_commit demo later "CREATE TABLE later (id INTEGER, _seq INTEGER NOT NULL); INSERT INTO later VALUES (1, 1), (2, 2)"
if until_true 20 'test "$(sql_gold demo "SELECT n FROM waits;" 2>/dev/null)" = 2'; then pass "job runs once its input exists"; else
    fail "job runs once its input exists" "executions: $(execs demo waits)"; fi

# --- coalescing: many commits while a slow job runs -> bounded runs -----------------------
until_true 30 'test "$(execs demo slow_count "status='"'SUCCEEDED'"'")" -ge 1'
runs_before=$(execs demo slow_count)
commits=40
for i in $(seq 2 $((commits + 1))); do
    silver_commit demo events "INSERT INTO events (id, kind, _seq) VALUES ($i, 'b', $i)"
    sleep 0.05  # spread over several reconcile intervals and runs
done
last_events=$(silver_snapshot demo events)
if until_true 60 'test "$(input_snap demo slow_count demo.silver.events)" = "$last_events"'; then
    pass "slow job catches up with the last commit"; else fail "slow job catches up with the last commit" "$(last_exec demo slow_count inputs_json)"; fi
check_eq "slow job result is the final one" "$((commits + 1))|$((commits + 1))" \
    "$(sql_gold demo "SELECT events, last_id FROM slow_count;")"
runs=$(( $(execs demo slow_count) - runs_before ))
if [ "$runs" -ge 1 ] && [ "$runs" -le 8 ]; then pass "coalescing: $commits commits -> $runs runs"; else
    fail "coalescing: $commits commits -> bounded runs" "$runs runs"; fi
sleep 1
check_eq "no run without a new commit" "$((runs + runs_before))" "$(execs demo slow_count)"

# --- the control socket -------------------------------------------------------------------
if [ "$HAVE_CLI" = 1 ]; then
    before=$(execs demo by_origin)
    out=$(lakehouse job run demo/by_origin --wait 2>&1); rc=$?
    check_eq "job run exit status" 0 "$rc"
    case "$out" in *SUCCEEDED*) pass "job run --wait reports success";; *) fail "job run --wait reports success" "$out";; esac
    check_eq "manual run recorded" "manual|SUCCEEDED" "$(last_exec demo by_origin "\"trigger\", status")"
    check_eq "manual run made one execution" $((before + 1)) "$(execs demo by_origin)"
    out=$(lakehouse job run demo/nope 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && [[ "$out" == *"unknown job demo/nope"* ]]; then pass "run of an unknown job refused"; else
        fail "run of an unknown job refused" "rc=$rc $out"; fi
fi

# --- SIGTERM finishes the running job ------------------------------------------------------
silver_commit demo events "INSERT INTO events (id, kind, _seq) VALUES (1000, 'c', 1000)"
if until_true 20 'test "$(last_exec demo slow_count status)" = RUNNING'; then
    stop_transformer; rc=$?
    check_eq "SIGTERM during a run: exit status 0" 0 "$rc"
    check_eq "SIGTERM: the running job finished" "SUCCEEDED" "$(last_exec demo slow_count status)"
else
    fail "SIGTERM during a run" "the slow job did not start"
    stop_transformer
fi
check_eq "pid file removed on exit" no "$([ -e "$D/run/transformer.pid" ] && echo yes || echo no)"
check_eq "control socket removed on exit" no "$([ -e "$D/run/transformer.sock" ] && echo yes || echo no)"

# --- crash recovery --------------------------------------------------------------------------
# Two executions left RUNNING by a "crash": one died before its gold commit,
# the other after it (its _executions row is in gold, the catalog never heard).
sqlite3 -batch "$D/catalog.db" "INSERT INTO executions (domain, job, \"trigger\", status, started_at)
  VALUES ('demo', 'by_origin', 'dependency', 'RUNNING', strftime('%Y-%m-%dT%H:%M:%fZ','now'));"
crashed=$(cat_sql "SELECT max(id) FROM executions;")
sqlite3 -batch "$D/catalog.db" "INSERT INTO executions (domain, job, \"trigger\", status, started_at)
  VALUES ('demo', 'flights_log', 'dependency', 'RUNNING', strftime('%Y-%m-%dT%H:%M:%fZ','now'));"
committed=$(cat_sql "SELECT max(id) FROM executions;")
sqlite3 -batch "$D/gold/demo.db" "INSERT INTO _executions (execution_id, table_name, snapshot_id, row_count, inputs_json)
  VALUES ($committed, 'flights_log', 1, 1, '{\"demo.silver.flights\":$snap2}');"
by_origin_runs=$(execs demo by_origin "status='SUCCEEDED'")
flights_log_rows=$(sql_gold demo "SELECT count(*) FROM flights_log;")
start_transformer || fail "restart" "$(tail -20 "$T/transformer.log")"
until_true 10 'test "$(cat_sql "SELECT status FROM executions WHERE id=$crashed;")" = FAILED'
check_eq "RUNNING execution left by a crash marked FAILED" "FAILED" "$(cat_sql "SELECT status FROM executions WHERE id=$crashed;")"
case "$(cat_sql "SELECT error FROM executions WHERE id=$crashed;")" in *interrupted*) pass "crashed execution says interrupted";;
    *) fail "crashed execution says interrupted" "$(cat_sql "SELECT error FROM executions WHERE id=$crashed;")";; esac
check_eq "RUNNING execution whose gold write committed recovered as SUCCEEDED" "SUCCEEDED|1|$snap2" \
    "$(cat_sql "SELECT status, \"rows\", json_extract(inputs_json, '\$.\"demo.silver.flights\"') FROM executions WHERE id=$committed;")"
sleep 1
check_eq "recovered append job not run again" "$flights_log_rows" "$(sql_gold demo "SELECT count(*) FROM flights_log;")"
check_eq "restart does not re-run up-to-date jobs" "$by_origin_runs" "$(execs demo by_origin "status='SUCCEEDED'")"
stop_transformer; rc=$?
check_eq "clean stop exit status" 0 "$rc"
if grep -q 'runtime error\|AddressSanitizer' "$T/transformer.log"; then
    fail "no sanitizer reports" "$(grep -m3 'runtime error\|AddressSanitizer' "$T/transformer.log")"; else pass "no sanitizer reports"; fi
finish
