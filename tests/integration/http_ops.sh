#!/usr/bin/env bash
# The operator routes of the HTTP API against the real process group, each
# compared with what the `lakehouse` command does on the same state: /status,
# gold lineage, /lineage/graph, rollback (silver; gold refused), /replay,
# /maintenance/expire and compact, /export, /config/check (each answer equal
# to the command's --json output), refused records and quarantined files,
# the /events stream (delivery, Last-Event-ID resume, the stream cap), row
# counts kept per snapshot, and _domain/_endpoint on every silver table,
# also after an upgrade from a database of the previous layout version.
source "$(dirname "$0")/../lib.sh"

PORT=$(free_port) || { fail "port" "no free port"; exit 1; }
export LAKEHOUSE_LISTEN="127.0.0.1:$PORT"
export LAKEHOUSE_HTTP_MAX_EVENT_STREAMS=2
B="http://127.0.0.1:$PORT"
STREAM_PIDS=()
stop_streams() { for p in "${STREAM_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; STREAM_PIDS=(); }
trap 'stop_streams; stop_serves; cleanup' EXIT

flight() { # DAY HOUR ORIGIN DELAY
    printf '{"date":"2024/01/%s %s:00","delay":%s,"distance":100,"origin":"%s","destination":"LAX"}\n' "$1" "$2" "$4" "$3"
}
silver_rows() { sql_silver demo "SELECT count(*) FROM flights"; }
table_dump() { sql_silver demo "SELECT date, origin, delay FROM flights ORDER BY date, origin"; }
last_snapshot() { sql_silver demo "SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'flights'"; }
# After a restart the old socket files are there before the new processes
# listen: wait until every process of the group is up.
group_up() { lakehouse status --json | jq -e '[.processes[] | select(.state != "up")] | length == 0' >/dev/null; }

start_group --demo || { fail "start" "group did not start"; exit 1; }

# ---------------------------------------------------------------- events
# A stream opened before anything happens: it must carry the commits below.
curl -sN "$B/events" >"$T/events1" 2>/dev/null &
STREAM_PIDS+=($!)
wait_until 10 grep -q '^: connected' "$T/events1" && pass "events stream opens" || fail "events stream opens" "$(cat "$T/events1")"
check_eq "events stream is text/event-stream" "text/event-stream" \
    "$(curl -s -m 2 -o /dev/null -D - "$B/events" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-type"{print $2}')"

{ flight 01 10 SEA 5; flight 01 11 SEA 7; flight 02 10 PDX 1; } | lakehouse send demo/flights >/dev/null 2>&1 ||
    fail "send" "lakehouse send failed"
wait_eq 30 3 silver_rows || fail "flights in silver" "$WAIT_LAST"
wait_eq 30 3 sql_gold demo "SELECT sum(flights) FROM flights_by_origin" || fail "flights in gold" "$WAIT_LAST"

wait_until 10 grep -q '^event: silver.committed' "$T/events1" && pass "events: silver.committed delivered" ||
    fail "events: silver.committed delivered" "$(cat "$T/events1")"
wait_until 10 grep -q '^event: job.finished' "$T/events1" && pass "events: job.finished delivered" ||
    fail "events: job.finished delivered" "$(cat "$T/events1")"
SILVER_EV=$(grep -A2 '^event: silver.committed' "$T/events1" | grep '^data: ' | head -1 | sed 's/^data: //')
check_eq "silver event names domain, layer, table, snapshot" "demo|silver|flights|1" \
    "$(echo "$SILVER_EV" | jq -r '"\(.domain)|\(.layer)|\(.table)|\(.snapshot_id)"')"
for topic in bronze.sealed job.started gold.committed; do
    grep -q "^event: $topic" "$T/events1" && pass "events: $topic delivered" || fail "events: $topic delivered" "$(cat "$T/events1")"
done
check_eq "job.finished says SUCCEEDED" "SUCCEEDED|demo/flights_by_origin" \
    "$(grep -A1 '^event: job.finished' "$T/events1" | grep '^data: ' | head -1 | sed 's/^data: //' | jq -r '"\(.status)|\(.job)"')"
ids=$(grep '^id: ' "$T/events1" | sed 's/^id: //')
check_eq "event ids count up by one" "$(seq "$(echo "$ids" | head -1)" "$(echo "$ids" | tail -1)")" "$ids"

# Delivery time of a silver commit: a reader stamps each line as it arrives
# (bash's clock, no fork); the event carries the time of its commit. The
# best of three commits, so that one stall of a loaded machine is not taken
# for the stream's delay.
( curl -sN "$B/events" | while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$line"; done ) >"$T/events2" 2>/dev/null &
STREAM_PIDS+=($!)
wait_until 10 grep -q ': connected' "$T/events2"
best=""
for i in 1 2 3; do
    flight 03 1$i SFO 2 | lakehouse send demo/flights >/dev/null 2>&1
    wait_eq 30 $((3 + i)) silver_rows
    wait_until 10 test "$(grep -c 'event: silver.committed' "$T/events2")" -ge "$i"
    line=$(grep -A1 'event: silver.committed' "$T/events2" | grep ' data: ' | sed -n "${i}p")
    got_us=${line%% *}
    commit_ms=$(date -d "$(echo "${line#* data: }" | jq -r .time)" +%s%3N)
    lag=$((got_us / 1000 - commit_ms))
    if [ -z "$best" ] || [ "$lag" -lt "$best" ]; then best=$lag; fi
    [ "$best" -le 1000 ] && break
done
if [ "$best" -le 1000 ]; then pass "silver commit delivered within 1 s ($best ms)"; else fail "silver commit delivered within 1 s" "$best ms"; fi
ROWS=$(silver_rows)

# the cap: two streams are open, a third is refused with Retry-After
CODE=$(curl -s -m 3 -o "$T/resp" -D "$T/headers" -w '%{http_code}' "$B/events"); BODY=$(cat "$T/resp")
expect "third stream over http_max_event_streams is 503" 503
grep -qi '^Retry-After: ' "$T/headers" && pass "503 carries Retry-After" || fail "503 carries Retry-After" "$(cat "$T/headers")"
stop_streams
# a client that hangs up frees its slot: a server with room for one stream
# takes a second once the first client is gone
EPORT=$(free_port)
if serve "$T/http-events.log" LAKEHOUSE_LISTEN="127.0.0.1:$EPORT" LAKEHOUSE_HTTP_MAX_EVENT_STREAMS=1; then
    curl -sN "http://127.0.0.1:$EPORT/events" >"$T/ev_a" 2>/dev/null & EV_A=$!
    wait_until 10 grep -q ': connected' "$T/ev_a"
    check_eq "a second stream is refused" 503 \
        "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EPORT/events")"
    kill "$EV_A"; wait "$EV_A" 2>/dev/null
    if wait_until 10 bash -c "curl -sN -m 1 'http://127.0.0.1:$EPORT/events' | grep -q ': connected'"
    then pass "a hung-up stream frees its slot"; else fail "a hung-up stream frees its slot" "$(tail -3 "$T/http-events.log")"; fi
    stop_serves
else fail "events server" "$(cat "$T/http-events.log")"; fi

# resume: after Last-Event-ID N the first event is N+1 (the ring still holds it)
SID=$(grep -B1 '^event: silver.committed' "$T/events1" | grep '^id: ' | head -1 | sed 's/^id: //')
wait_until 20 bash -c "curl -s -m 2 -H 'Last-Event-ID: $((SID - 1))' '$B/events' >'$T/events3'; grep -q '^id: ' '$T/events3'"
check_eq "Last-Event-ID resumes after that event" "$SID" "$(grep '^id: ' "$T/events3" | head -1 | sed 's/^id: //')"
check_eq "resumed event is the same" "silver.committed" "$(grep '^event: ' "$T/events3" | head -1 | sed 's/^event: //')"
req GET /events '' -H 'Last-Event-ID: abc'
expect "bad Last-Event-ID is 400" 400

# ---------------------------------------------------------------- status
strip_status='del(.collected_at) | .processes |= map(del(.rss_bytes, .since)) | .tables |= map(del(.freshness_seconds, .backlog_oldest_age_seconds))
              | .last_errors |= map(select(.message | test("^http ") | not)) | .processes |= map(.last_errors |= map(select(.message | test("^http ") | not)))'
req GET /status
expect "GET /status" 200 '.processes | length' 4
lakehouse status --json >"$T/status.cli"
check_eq "GET /status equals lakehouse status --json" "$(jq -S "$strip_status" "$T/status.cli")" "$(echo "$BODY" | jq -S "$strip_status")"
req GET '/status?lag_seconds=x'
expect "bad lag_seconds is 400" 400

# ---------------------------------------------------------------- lineage
req GET /tables/demo/gold/flights_by_origin/lineage
expect "GET gold lineage" 200 '.table' demo.gold.flights_by_origin
check_eq "gold lineage equals lakehouse lineage --json" \
    "$(lakehouse lineage demo/flights_by_origin --json | jq -S .)" "$(echo "$BODY" | jq -S .)"
req GET '/tables/demo/gold/flights_by_origin/lineage?snapshot=1&files=0'
check_eq "gold lineage ?snapshot&files equals the CLI's" \
    "$(lakehouse lineage demo/flights_by_origin --snapshot 1 --files 0 --json | jq -S .)" "$(echo "$BODY" | jq -S .)"
req GET /tables/demo/gold/nope/lineage
expect "lineage of an unknown gold table is 404" 404
req GET '/tables/demo/gold/flights_by_origin/lineage?snapshot=0'
expect "lineage snapshot=0 is 400" 400

req GET /lineage/graph
expect "GET /lineage/graph" 200
check_eq "graph nodes" "demo.bronze.flights demo.gold.flights_by_origin demo.silver.flights" \
    "$(jf '[.nodes[].id] | sort | join(" ")')"
check_eq "gold node names its job" "demo/flights_by_origin" "$(jf '.nodes[] | select(.layer == "gold") | .job')"
check_eq "graph edges" "demo.bronze.flights>demo.silver.flights> demo.silver.flights>demo.gold.flights_by_origin>demo/flights_by_origin" \
    "$(jf '[.edges[] | "\(.from)>\(.to)>\(.job // "")"] | join(" ")')"

# ---------------------------------------------------------------- rollback
S1=1
BEFORE=$(table_dump)
AT_S1=$(lakehouse query --json "SELECT date, origin, delay FROM demo.silver.flights@$S1 ORDER BY date, origin" | jq -r '.data[] | "\(.date)|\(.origin)|\(.delay)"')
LATEST=$(last_snapshot)
req POST /tables/demo/silver/flights/rollback "{\"snapshot_id\": $S1}"
expect "HTTP rollback" 200 '.to_snapshot' "$S1"
HTTP_SNAP=$(jf .snapshot_id)
check_eq "rollback answers the new snapshot" "$(last_snapshot)" "$HTTP_SNAP"
AFTER_HTTP=$(table_dump)
check_eq "HTTP rollback gives the state at the snapshot" "$AT_S1" "$AFTER_HTTP"
# back to where we were, then the same rollback through the CLI
lakehouse rollback demo/flights "$LATEST" >/dev/null || fail "CLI roll forward" "failed"
check_eq "roll forward restores the table" "$BEFORE" "$(table_dump)"
lakehouse rollback demo/flights "$S1" >/dev/null || fail "CLI rollback" "failed"
check_eq "HTTP rollback and CLI rollback give the same table" "$AFTER_HTTP" "$(table_dump)"
lakehouse rollback demo/flights "$LATEST" >/dev/null
req POST /tables/demo/gold/flights_by_origin/rollback '{"snapshot_id": 1}'
expect "gold rollback is 409" 409
check_eq "gold rollback says what the CLI says" \
    "$(lakehouse rollback demo.gold.flights_by_origin 1 2>&1 | sed 's/^lakehouse: //')" "$(jf .detail)"
req POST /tables/demo/silver/nope/rollback '{"snapshot_id": 1}'
expect "rollback of an unknown table is 404" 404
req POST /tables/demo/silver/flights/rollback '{"snapshot_id": 999}'
expect "rollback to an unknown snapshot is 404" 404
req POST /tables/demo/silver/flights/rollback '{"snapshot_id": "x"}'
expect "rollback without a number is 400" 400

# ---------------------------------------------------------------- replay
BEFORE=$(table_dump)
req POST /replay '{"domain": "demo", "table": "flights"}'
expect "POST /replay is 202" 202 '.status' running
RID=$(jf .id)
replay_status() { curl -s "$B/replay/$RID" | jq -r .status; }
wait_eq 60 succeeded replay_status || fail "replay finishes" "$(curl -s "$B/replay/$RID")"
req GET "/replay/$RID"
expect "GET /replay/{id}" 200 '.status' succeeded
check_eq "replay progress: its one table done" "1/1" "$(jf '"\(.progress.tables_done)/\(.progress.tables_total)"')"
HTTP_FILES=$(jf .files_merged)
check_eq "HTTP replay rebuilds the same table" "$BEFORE" "$(table_dump)"
CLI_OUT=$(lakehouse replay demo/flights)
check_eq "CLI replay rebuilds the same table" "$BEFORE" "$(table_dump)"
check_eq "HTTP replay reports what the CLI prints" "$CLI_OUT" \
    "replay done: $HTTP_FILES file$([ "$HTTP_FILES" = 1 ] || echo s) merged - $(jf .message)"
req GET /replay/999
expect "unknown replay is 404" 404
req GET /replay/abc
expect "replay id not a number is 400" 400
req POST /replay '{"from": "2024-13-01"}'
expect "replay with a bad date is 400" 400
req POST /replay '{"table": "flights"}'
expect "replay table without domain is 400" 400

# ---------------------------------------------------------------- maintenance
req POST /maintenance/expire '{"table": "demo/flights", "dry_run": true}'
expect "expire dry run" 200 '.dry_run' true
check_eq "expire dry run says what the CLI prints" \
    "$(lakehouse expire --dry-run demo/flights 2>/dev/null)" "$(jf '.silver.message, .gold.message')"
req POST /maintenance/expire '{"table": "demo"}'
expect "expire" 200 '.dry_run' false
req POST /maintenance/expire '{"table": "demo/no such"}'
expect "expire of a bad name is 400" 400
BEFORE=$(table_dump)
TODAY=$(date -u +%F)
FILES_BEFORE=$(find "$LAKEHOUSE_DATA/bronze/demo/flights" -name '*.lz4' | wc -l)
req POST /maintenance/compact "{\"table\": \"demo/flights\", \"date\": \"$TODAY\"}"
expect "compact" 200
check_eq "compact read the day's files" "$FILES_BEFORE" "$(jf .input_files)"
check_eq "compact wrote one file" 1 "$(jf .files_written)"
check_eq "compact answers the CLI's message form" "compacted $FILES_BEFORE files into 1" "$(jf .message | sed 's/ (.*//')"
check_eq "compact keeps the table" "$BEFORE" "$(table_dump)"
check_eq "CLI compact of the same day has nothing left" \
    "compacted 0 files into 0" "$(lakehouse compact demo/flights --date "$TODAY" | sed 's/ (.*//')"
req POST /maintenance/compact '{"date": "yesterday"}'
expect "compact with a bad date is 400" 400
req POST /maintenance/expire '{"table": "demo/flights", "dry_run": true}'
check_eq "expire --json prints the HTTP answer" "$(jf . | jq -S .)" \
    "$(lakehouse expire --dry-run demo/flights --json 2>/dev/null | jq -S .)"
req POST /maintenance/compact "{\"table\": \"demo/flights\", \"date\": \"$TODAY\"}"
CLI_COMPACT=$(lakehouse compact demo/flights --date "$TODAY" --json)
check_eq "compact --json prints the HTTP answer" "$(jf 'del(.message)' | jq -S .)" \
    "$(echo "$CLI_COMPACT" | jq -S 'del(.message)')"
check_eq "compact --json says what HTTP says" "$(jf .message | sed 's/ (.*//')" \
    "$(echo "$CLI_COMPACT" | jq -r .message | sed 's/ (.*//')"

# ---------------------------------------------------------------- export
req POST /export '{"domain": "demo", "table": "flights", "wait": true}'
expect "HTTP export" 200 '.silver.message | startswith("exported ")' true
check_eq "HTTP export of a silver-only table has no gold part" null "$(jf .gold)"
check_eq "the table is exported: nothing left" \
    "exported 0 table(s) to $LAKEHOUSE_DATA/iceberg (the others were current)" \
    "$(lakehouse export demo/flights 2>/dev/null)"
req POST /export '{"domain": "demo", "table": "flights"}'
check_eq "export --json prints the HTTP answer" "$(jf . | jq -S .)" \
    "$(lakehouse export demo/flights --json 2>/dev/null | jq -S .)"
req POST /export '{"domain": "demo"}'
expect "HTTP export of a domain" 200 '.gold.message | startswith("gold: exported ")' true
req POST /export '{"domain": "demo", "table": "nosuch"}'
expect "export of an unknown table is 404" 404
check_eq "export of an unknown table says what the CLI says" \
    "$(lakehouse export demo/nosuch 2>&1 | sed 's/^lakehouse: //')" "$(jf .detail)"
req POST /export '{"table": "flights"}'
expect "export table without domain is 400" 400
req POST /export '{"wait": "yes"}'
expect "export with a wait that is no boolean is 400" 400

# ---------------------------------------------------------------- config check
printf '{"log_level": "loud", "no_such_key": 1}' >"$T/bad-config.json"
req POST /config/check "$(cat "$T/bad-config.json")"
expect "config check of a bad file" 200 '.ok' false
check_eq "config check names both problems" 2 "$(jf '.problems | length')"
check_eq "config check --json prints the HTTP answer" "$(jf . | jq -S .)" \
    "$(lakehouse config check "$T/bad-config.json" --json | jq -S .)"
req POST /config/check '{"log_level": "debug"}'
expect "config check of a good file" 200 '.ok' true
req POST /config/check '{"log_level": '
expect "config check of broken JSON says where" 200 '.problems[0] | startswith("line 1")' true

# ---------------------------------------------------------------- long calls hold no worker
# With the processor stopped, compactions wait for it, each on a thread of its
# own: at most 8 at once (then 503 with Retry-After), while other requests
# are answered; once it runs again they all finish.
PROC=$(cat "$LAKEHOUSE_DATA/run/processor.pid")
kill -STOP "$PROC"
LONG_PIDS=()
for i in 1 2 3 4 5 6 7 8; do
    curl -s -o "$T/long$i" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
         -d '{"table": "demo/flights"}' "$B/maintenance/compact" >"$T/long$i.code" &
    LONG_PIDS+=($!)
done
probe_full() { # a waiting call beyond the 8 is refused (one accepted fills a slot)
    curl -s -m 3 -D "$T/probe-headers" -o /dev/null -w '%{http_code}' -X POST \
         -H 'Content-Type: application/json' -d '{"table": "demo/flights"}' "$B/maintenance/compact" |
        grep -qx 503
}
if wait_until 60 probe_full; then pass "long calls beyond 8 at once are 503"; else
    fail "long calls beyond 8 at once are 503" "no 503"; fi
grep -qi '^Retry-After: ' "$T/probe-headers" && pass "that 503 carries Retry-After" ||
    fail "that 503 carries Retry-After" "$(cat "$T/probe-headers")"
check_eq "the API answers while 8 long calls wait" 200 \
    "$(curl -s -m 20 -o /dev/null -w '%{http_code}' "$B/status")"
kill -CONT "$PROC"
for p in "${LONG_PIDS[@]}"; do wait "$p"; done
check_eq "the waiting calls answer once the processor runs (200, or 503 when a probe took the slot)" "" \
    "$(cat "$T"/long?.code | grep -vxE '200|503')"
if grep -qx 200 "$T"/long?.code; then pass "a waiting compaction answered 200"; else
    fail "a waiting compaction answered 200" "$(cat "$T"/long?.code)"; fi

curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$B/ingest/demo/flights" \
     -d '{"data": {"date": "bad", "delay": 1, "origin": "SEA"}}'
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$B/ingest/demo/flights/batch" \
     -d '[{"date": "2024/01/05 10:00", "delay": "late", "origin": "SEA"}, {"date": "also bad", "origin": "SEA"}]'
rejected_count() { curl -s "$B/tables/demo/flights/rejected" | jq '.records | length'; }
wait_eq 20 3 rejected_count || fail "three refused records" "$WAIT_LAST"
req GET /tables/demo/flights/rejected
expect "GET rejected" 200 '.records[0].source' validation
check_eq "newest first" '"also bad"' "$(jf '.records[0].record.date | tojson')"
check_eq "each has a reason" 3 "$(jf '[.records[] | select(.reason | length > 0)] | length')"
req GET '/tables/demo/flights/rejected?offset=1&limit=1'
expect "paged" 200 '.records | length' 1
check_eq "page 2 of size 1 is the second newest" '"late"' "$(jf '.records[0].record.delay | tojson')"
check_eq "has_more" true "$(jf .has_more)"
req GET '/tables/demo/flights/rejected?reason=delay'
check_eq "reason filter" '"late"' "$(jf '[.records[].record.delay] | map(tojson) | join(",")')"
req GET "/tables/demo/flights/rejected?date=2000-01-01"
expect "other date: none" 200 '.records | length' 0
req GET '/tables/demo/flights/rejected?limit=0'
expect "limit 0 is 400" 400
req GET /tables/demo/nope/rejected
expect "rejected of an unknown endpoint is 404" 404

DIR="$LAKEHOUSE_DATA/bronze/demo/flights/dt=$TODAY"
printf 'not an lz4 frame\n' >"$DIR/.junk.tmp" && mv "$DIR/.junk.tmp" "$DIR/00000000000000000001-00000000000000000001.ndjson.lz4"
quarantined() { curl -s "$B/tables/demo/silver/flights/quarantine" | jq '.files | length'; }
wait_eq 20 1 quarantined || fail "quarantined file listed" "$WAIT_LAST"
req GET /tables/demo/silver/flights/quarantine
expect "GET quarantine" 200 '.files[0].file' "bronze/demo/flights/dt=$TODAY/00000000000000000001-00000000000000000001.ndjson.lz4"
check_eq "quarantine says why" "$(sql_silver demo "SELECT reason FROM _quarantine")" "$(jf '.files[0].reason')"

# ---------------------------------------------------------------- row counts, _domain/_endpoint
counts_match() {
    local api db
    api=$(curl -s "$B/consumption/tables" | jq -r '.[] | select(.layer != "bronze") | "\(.layer).\(.table)=\(.rows)"' | sort)
    db=$( { for t in $(sql_silver demo "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'"); do
                echo "silver.$t=$(sql_silver demo "SELECT count(*) FROM \"$t\"")"; done
            for t in $(sql_gold demo "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'"); do
                echo "gold.$t=$(sql_gold demo "SELECT count(*) FROM \"$t\"")"; done; } | sort)
    [ "$api" = "$db" ] && [ -n "$api" ] && return 0
    echo "api: $api" | tr '\n' ' '; echo; echo "db: $db" | tr '\n' ' '
    return 1
}
check_cmd "consumption/tables rows equal count(*) after rollback and replay" counts_match
check_eq "row counts kept with every snapshot" 0 \
    "$(sql_silver demo "SELECT count(*) FROM _snapshots WHERE row_count IS NULL")"

req POST /endpoints '{"domain": "demo", "name": "orders", "mode": "AUTO_INFERENCE"}'
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$B/ingest/demo/orders" -d '{"data": {"id": 1}}'
wait_eq 20 1 sql_silver demo "SELECT count(*) FROM orders" || fail "orders merged" "$WAIT_LAST"
check_eq "_domain and _endpoint in every silver table" "flights=2 orders=2" \
    "$(for t in flights orders; do printf '%s=%s ' "$t" "$(sql_silver demo "SELECT count(*) FROM pragma_table_xinfo('$t') WHERE name IN ('_domain', '_endpoint')")"; done | sed 's/ $//')"
req GET /consumption/query '' -G --data-urlencode "sql=SELECT DISTINCT _domain, _endpoint FROM demo.silver.orders"
expect "query API answers _domain and _endpoint" 200 '.data[0] | "\(._domain)/\(._endpoint)"' demo/orders
req GET /consumption/query '' -G --data-urlencode "sql=SELECT * FROM demo.silver.flights LIMIT 1"
check_eq "SELECT * carries them too" "_domain _endpoint" "$(jf '.columns[-2:] | join(" ")')"
check_cmd "consumption/tables rows equal count(*) after a new table" counts_match
req POST /replay '{"domain": "demo"}'
expect "domain replay is 202" 202 '.progress.tables_done' 0
RID=$(jf .id)
wait_eq 60 succeeded replay_status || fail "domain replay finishes" "$(curl -s "$B/replay/$RID")"
req GET "/replay/$RID"
check_eq "domain replay progress counts its tables" "2/2" "$(jf '"\(.progress.tables_done)/\(.progress.tables_total)"')"

# ---------------------------------------------------------------- more topics
curl -sN "$B/events" >"$T/events4" 2>/dev/null &
STREAM_PIDS+=($!)
wait_until 10 grep -q '^: connected' "$T/events4"
TPID=$(cat "$LAKEHOUSE_DATA/run/transformer.pid")
kill -KILL "$TPID"
wait_until 30 grep -q '^event: process.up' "$T/events4" && pass "events: process.down and process.up" ||
    fail "events: process.down and process.up" "$(cat "$T/events4")"
check_eq "process.down names the process and pid" "transformer|$TPID" \
    "$(grep -A1 '^event: process.down' "$T/events4" | grep '^data: ' | head -1 | sed 's/^data: //' | jq -r '"\(.process)|\(.pid)"')"
wait_until 20 test -S "$LAKEHOUSE_DATA/run/transformer.sock"
req POST /endpoints '{"domain": "demo", "name": "checked", "mode": "MANUAL", "columns": [{"name": "n", "type": "integer"}],
                      "expectations": [{"name": "positive", "rule": "n > 0", "action": "fail"}]}'
expect "endpoint with a fail expectation" 201
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "$B/ingest/demo/checked" -d '{"data": {"n": -1}}'
wait_until 30 grep -q '^event: merge.blocked' "$T/events4" && pass "events: merge.blocked" ||
    fail "events: merge.blocked" "$(cat "$T/events4")"
check_eq "merge.blocked names the table" "demo|silver|checked" \
    "$(grep -A1 '^event: merge.blocked' "$T/events4" | grep '^data: ' | head -1 | sed 's/^data: //' | jq -r '"\(.domain)|\(.layer)|\(.table)"')"
stop_streams

# Upgrade: make silver/demo.db look like version 1 (no row counts, no
# generated columns) and restart: both come back, listings stay right.
stop_group; check_eq "group stops" 0 "$?"
sqlite3 "$LAKEHOUSE_DATA/silver/demo.db" "ALTER TABLE flights DROP COLUMN _domain; ALTER TABLE flights DROP COLUMN _endpoint;
    ALTER TABLE orders DROP COLUMN _domain; ALTER TABLE orders DROP COLUMN _endpoint;
    ALTER TABLE _snapshots DROP COLUMN row_count; PRAGMA user_version = 1;" || fail "downgrade" "sqlite3 failed"
check_eq "downgraded" 0 "$(sql_silver demo "SELECT count(*) FROM pragma_table_xinfo('flights') WHERE name = '_domain'")"
start_group --demo || { fail "restart" "group did not start"; exit 1; }
wait_until 60 group_up || fail "group up after the restart" "$(lakehouse status 2>&1 | head -8)"
check_cmd "listing a version-1 database counts rows" counts_match
flight 04 10 SEA 3 | lakehouse send demo/flights >/dev/null 2>&1
wait_eq 30 $((ROWS + 1)) silver_rows || fail "merge after upgrade" "$WAIT_LAST"
check_eq "upgraded database is at the current layout version" 3 "$(sql_silver demo "PRAGMA user_version")"
check_eq "upgraded tables have _domain and _endpoint again" "demo|flights demo|orders" \
    "$(sql_silver demo "SELECT (SELECT DISTINCT _domain || '|' || _endpoint FROM flights) || ' ' || (SELECT DISTINCT _domain || '|' || _endpoint FROM orders)")"
if wait_until 30 counts_match >/dev/null; then pass "consumption/tables rows equal count(*) after the upgrade"; else
    fail "consumption/tables rows equal count(*) after the upgrade" "$(counts_match)"; fi

# A kept count that drifted from its table is corrected when the processor opens it.
stop_group; check_eq "group stops" 0 "$?"
sqlite3 "$LAKEHOUSE_DATA/silver/demo.db" "UPDATE _snapshots SET row_count = 999 WHERE snapshot_id =
    (SELECT max(snapshot_id) FROM _snapshots WHERE table_name = 'flights')"
start_group --demo || { fail "restart" "group did not start"; exit 1; }
wait_until 60 group_up || fail "group up after the restart" "$(lakehouse status 2>&1 | head -8)"
flight 05 10 SEA 3 | lakehouse send demo/flights >/dev/null 2>&1
wait_eq 30 $((ROWS + 2)) silver_rows || fail "merge after restart" "$WAIT_LAST"
# (the gold job runs after the silver commit: wait for it too)
if wait_until 30 counts_match >/dev/null; then pass "a drifted row count is corrected"; else
    fail "a drifted row count is corrected" "$(counts_match)"; fi
check_cmd "the correction is logged" grep -q 'row_count_corrected table=demo.flights' "$T/group.log"

stop_group; check_eq "group stops with status 0" 0 "$?"
finish
