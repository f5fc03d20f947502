#!/usr/bin/env bash
# broker.sh - the supervisor, the event bus and the `lakehouse` command.
#  - the group starts its three workers as children (pid files, processes);
#  - kill -9 of a child: restarted with a new pid, the log says how it died;
#  - events flow through the broker's proxy: with the periodic reconcile made
#    very slow, a job added after start (job.changed) runs as soon as silver
#    commits (silver.committed), and a job reading its gold table runs after
#    it (gold.committed) - these hints only reach the transformer through the
#    proxy;
#  - the CLI commands work and refuse bad input with clear messages;
#  - SIGTERM stops the children in order ingest -> processor -> transformer,
#    exit status 0, nothing left running.
source "$(dirname "$0")/../lib.sh"

# Events must do the work: no periodic re-scan during the test.
export LAKEHOUSE_RECONCILE_INTERVAL_MS=600000

pid_of() { cat "$LAKEHOUSE_DATA/run/$1.pid" 2>/dev/null; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# check_out NAME PATTERN command... : passes when the combined output matches
check_out() {
    local name=$1 pattern=$2; shift 2
    local out
    out=$("$@" 2>&1)
    case "$out" in *$pattern*) pass "$name";; *) fail "$name" "output lacks '$pattern': $(echo "$out" | tail -3)";; esac
}
# check_rc NAME EXPECTED_STATUS command...
check_rc() {
    local name=$1 expected=$2; shift 2
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" = "$expected" ]; then pass "$name"; else fail "$name" "exit $rc (expected $expected): $(echo "$out" | tail -3)"; fi
}

start_group || { fail "start" "group did not start"; exit 1; }
pass "group started"
check_eq "broker pid file" "$GROUP_PID" "$(pid_of broker)"

for p in ingest processor transformer; do
    pid=$(pid_of $p)
    if alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "lakehouse-$p --data $LAKEHOUSE_DATA"; then
        pass "$p runs (pid $pid)"
    else
        fail "$p runs" "pid file '$pid' does not name a running lakehouse-$p"
    fi
    check_eq "$p is a child of the broker" "$GROUP_PID" "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)"
    # worker_nice (default 5): merges and transforms yield the CPU to ingest
    want=5; [ "$p" = ingest ] && want=$(ps -o ni= -p "$GROUP_PID" | tr -d ' ')
    check_eq "$p niceness" "$want" "$(ps -o ni= -p "$pid" | tr -d ' ')"
done

# ---- endpoints ----
cat > "$T/trips.json" <<'EOF'
{"domain":"city","name":"trips","mode":"MANUAL",
 "columns":[{"name":"id","type":"integer","primary_key":true},
            {"name":"station","type":"string","required":true},
            {"name":"minutes","type":"integer"}]}
EOF
check_out "endpoint create" "created (version 1" lakehouse endpoint create "$T/trips.json"
check_out "endpoint create again is unchanged" "unchanged (version 1" lakehouse endpoint create "$T/trips.json"
check_out "endpoint list" "trips" lakehouse endpoint list --domain city
check_out "endpoint show" '"station"' lakehouse endpoint show city/trips
check_rc "endpoint show unknown: exit 1" 1 lakehouse endpoint show city/nope
check_out "endpoint show unknown: message" "unknown endpoint city/nope" lakehouse endpoint show city/nope
check_out "endpoint show invalid name" "invalid domain name 'City'" lakehouse endpoint show City/trips
echo '{"domain":"city","name":"bad-name","columns":[]}' > "$T/bad.json"
check_rc "endpoint create invalid: exit 1" 1 lakehouse endpoint create "$T/bad.json"
check_out "endpoint create invalid: message names it" "bad-name" lakehouse endpoint create "$T/bad.json"
echo '{"domain":' > "$T/broken.json"
check_out "endpoint create broken JSON" "invalid JSON" lakehouse endpoint create "$T/broken.json"
sed 's/"minutes","type":"integer"/"minutes","type":"string"/' "$T/trips.json" > "$T/narrow.json"
check_out "endpoint create incompatible change refused" "minutes" lakehouse endpoint create "$T/narrow.json"
sed 's/{"name":"minutes","type":"integer"}/{"name":"minutes","type":"integer"},{"name":"bikes","type":"integer"}/' "$T/trips.json" > "$T/v2.json"
check_out "endpoint create version 2" "version 2" lakehouse endpoint create "$T/v2.json"
check_out "endpoint versions lists version 1" "id integer key, station string, minutes integer" lakehouse endpoint versions city/trips
check_out "endpoint versions lists version 2" "minutes integer, bikes" lakehouse endpoint versions city/trips
check_eq "endpoint versions: one line per version" 2 "$(lakehouse endpoint versions city/trips | grep -c MANUAL)"
check_out "endpoint versions unknown" "unknown endpoint city/nope" lakehouse endpoint versions city/nope

# ---- jobs (added after start: the transformer learns it from job.changed) ----
cat > "$T/by_station.sql" <<'EOF'
-- domain: city
-- write_mode: overwrite
SELECT station, count(*) AS trips, sum(minutes) AS minutes
FROM city.silver.trips GROUP BY station
EOF
check_out "job add" "job city/by_station stored" lakehouse job add "$T/by_station.sql"
check_out "job list" "by_station" lakehouse job list
check_out "job show" "FROM city.silver.trips" lakehouse job show city/by_station
# a job on the gold table: only gold.committed (through the proxy) can start it
printf -- '-- job: top_station\n-- domain: city\n-- write_mode: overwrite\nSELECT station, trips FROM city.gold.by_station ORDER BY trips DESC, station LIMIT 1\n' > "$T/top.sql"
check_out "job add (reads gold)" "job city/top_station stored" lakehouse job add "$T/top.sql"
printf -- '-- domain: city\n-- colour: blue\nSELECT 1\n' > "$T/badjob.sql"
check_rc "job add with an unknown header key: exit 1" 1 lakehouse job add "$T/badjob.sql"
check_out "job run unknown" "unknown job city/nope" lakehouse job run city/nope

# ---- send ----
printf '%s\n' '{"id":1,"station":"north","minutes":10}' '{"id":2,"station":"south","minutes":20}' \
    '' '{"id":3,"station":"north","minutes":5}' > "$T/trips.ndjson"
check_out "send NDJSON" "sent 3 records: 3 accepted, 0 refused (1 batches)" lakehouse send city/trips "$T/trips.ndjson"
printf '[{"id":4,"station":"east","minutes":7},\n {"id":5,"station":"east",\n  "minutes":8}]\n' > "$T/trips.json.txt"
check_out "send JSON array" "sent 2 records: 2 accepted" lakehouse send city/trips "$T/trips.json.txt"
printf 'id,station,minutes\n6,west,1\n7,"west",2\n' > "$T/trips.csv"
check_out "send CSV (stdin, small batches)" "sent 2 records: 2 accepted, 0 refused (2 batches)" \
    sh -c "lakehouse send city/trips --batch-size 1 < '$T/trips.csv'"
printf '%s\n' '{"id":8,"station":"x","minutes":"long"}' '{"id":9,"station":"y"}' > "$T/mixed.ndjson"
check_rc "send with a bad record: exit 1" 1 lakehouse send city/trips "$T/mixed.ndjson"
check_out "send reports the refusal reason" "minutes" lakehouse send city/trips --id-prefix again "$T/mixed.ndjson"
check_out "re-send with the same ids is acknowledged" "1 accepted, 1 refused" lakehouse send city/trips --id-prefix again "$T/mixed.ndjson"
check_rc "send to an unknown endpoint: exit 1" 1 lakehouse send city/nope "$T/trips.ndjson"
check_out "send to an unknown endpoint: message" "unknown endpoint city/nope" lakehouse send city/nope "$T/trips.ndjson"
check_rc "send with an invalid name: exit 2" 2 lakehouse send City/trips "$T/trips.ndjson"
printf '[{"id":10},\n{"id": }]\n' > "$T/broken.json.txt"
check_rc "send broken JSON array: exit 2" 2 lakehouse send city/trips "$T/broken.json.txt"

rows() { sql_silver city "SELECT count(*) FROM trips;" 2>/dev/null; }
rows_are() { test "$(rows)" = "$1"; }
if wait_until 30 rows_are 8; then pass "silver has the 8 accepted records"; else fail "silver rows" "got $(rows)"; fi

# ---- events through the proxy: the job ran without any periodic reconcile ----
gold() { sql_gold city "SELECT group_concat(station || ':' || trips, ',') FROM (SELECT * FROM by_station ORDER BY station);" 2>/dev/null; }
expected="east:2,north:2,south:1,west:2,y:1"
gold_is() { test "$(gold)" = "$1"; }
if wait_until 30 gold_is "$expected"; then pass "events flowed: gold built on silver.committed"; else
    fail "events flowed: gold built on silver.committed" "gold is '$(gold)'"; fi
top() { sql_gold city "SELECT station || ':' || trips FROM top_station;" 2>/dev/null; }
if wait_eq 30 "east:2" top; then pass "events flowed: the gold-reading job ran on gold.committed"; else
    fail "events flowed: the gold-reading job ran on gold.committed" "top_station is '$WAIT_LAST'"; fi

# ---- query / tables / status ----
check_out "query" "8" lakehouse query "SELECT count(*) AS n FROM city.silver.trips"
check_out "query --json" '"row_count":1' lakehouse query --json "SELECT max(minutes) AS m FROM city.silver.trips"
check_out "query joins silver and gold" "north" lakehouse query \
    "SELECT g.station, count(*) FROM city.gold.by_station g JOIN city.silver.trips s USING (station) WHERE g.station = 'north'"
check_rc "query refuses DELETE: exit 1" 1 lakehouse query "DELETE FROM city.silver.trips"
check_out "query refuses DELETE: message" "not allowed" lakehouse query "DELETE FROM city.silver.trips"
check_out "query refuses DROP" "not allowed" lakehouse query "DROP TABLE city.silver.trips"
check_out "query refuses ATTACH" "not allowed: ATTACH" lakehouse query "ATTACH DATABASE '$T/x.db' AS x"
check_out "query refuses PRAGMA writes" "not allowed: PRAGMA" lakehouse query "PRAGMA journal_mode=DELETE"
check_out "query: bad SQL" "syntax error" lakehouse query "SELEKT 1"
check_out "query: unknown domain" "no such domain database: nowhere (silver)" lakehouse query "SELECT * FROM nowhere.silver.t"
check_out "query: unknown table" "no such table: city.silver.nope" lakehouse query "SELECT * FROM city.silver.nope"
check_eq "silver untouched by refused queries" 8 "$(rows)"
check_out "tables lists silver" "trips" lakehouse tables
check_out "tables lists gold" "by_station" lakehouse tables
check_out "status: processes up" "processor    up" lakehouse status
check_out "status --json" '"backlog":0' lakehouse status --json
check_out "job run --wait" "SUCCEEDED" lakehouse job run city/by_station --wait
check_out "job executions" "SUCCEEDED" lakehouse job executions city/by_station
# a job to delete: the catalog forgets it, its gold table stays readable
sed 's/^-- domain: city/-- job: doomed\n-- domain: city/' "$T/by_station.sql" > "$T/doomed.sql"
check_out "job add (to delete)" "job city/doomed stored" lakehouse job add "$T/doomed.sql"
check_out "job run (to delete)" "SUCCEEDED" lakehouse job run city/doomed --wait
check_out "job delete" "job city/doomed deleted" lakehouse job delete city/doomed
check_rc "job show after delete: exit 1" 1 lakehouse job show city/doomed
check_out "job delete unknown" "no job city/doomed" lakehouse job delete city/doomed
check_rc "job delete unknown: exit 1" 1 lakehouse job delete city/doomed
check_out "deleted job's gold table kept" "north" lakehouse query "SELECT station FROM city.gold.doomed ORDER BY station"

# ---- a child killed: restarted, the log says how it died ----
old=$(pid_of processor)
kill -9 "$old"
if wait_until 30 sh -c "p=\$(cat '$LAKEHOUSE_DATA/run/processor.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ] && kill -0 \$p"; then
    pass "processor restarted with a new pid"; else fail "processor restarted" "pid file still '$(pid_of processor)'"; fi
if grep -q "child_died proc=processor pid=$old how=\"killed by signal 9" "$T/group.log"; then
    pass "log says how the child died"; else fail "log says how the child died" "$(grep child_ "$T/group.log" | tail -3)"; fi
wait_until 20 test -S "$LAKEHOUSE_DATA/run/processor.sock"
check_out "replay after the restart" "replay done" lakehouse replay city/trips
check_eq "replay keeps the rows" 8 "$(rows)"
printf '%s\n' '{"id":20,"station":"after","minutes":1}' > "$T/after.ndjson"
check_out "send after the restart" "1 accepted" lakehouse send city/trips "$T/after.ndjson"
if wait_until 30 rows_are 9; then pass "restarted processor merges"; else fail "restarted processor merges" "got $(rows)"; fi

# ---- ordered stop ----
pids="$GROUP_PID $(pid_of ingest) $(pid_of processor) $(pid_of transformer)"
stop_group; rc=$?
check_eq "broker exits 0 on SIGTERM" 0 "$rc"
order=$(sed -n 's/.*child_stopping proc=\([a-z]*\).*/\1/p' "$T/group.log" | tr '\n' ' ')
check_eq "children stopped in order" "ingest processor transformer " "$order"
left=""
for p in $pids; do alive "$p" && left="$left $p"; done
check_eq "no process left" "" "$left"
check_eq "no process on the data directory" "" "$(pgrep -f -- "--data $LAKEHOUSE_DATA" || true)"
check_eq "broker pid file removed" "" "$(ls "$LAKEHOUSE_DATA/run/broker.pid" 2>/dev/null)"
finish
