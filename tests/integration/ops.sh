#!/usr/bin/env bash
# ops.sh - operations: GET /metrics, `lakehouse status`,
# `lakehouse config check`, log_format json and SIGHUP reload.
#  - /metrics is Prometheus text with every series it documents, and the
#    values move as data flows: ingest counters per endpoint go up, rows go
#    up, the merge/transform histograms count, the bronze backlog returns
#    to 0, a killed worker shows in process_restarts_total;
#  - with the processor SIGSTOPped, records sent make `lakehouse status`
#    show the table and the processor as lagging (and /metrics a backlog);
#    after SIGCONT the backlog drains and the lag is gone;
#  - `lakehouse config check` names every wrong key and value (exit 1) and
#    accepts the file `config print --defaults` writes;
#  - SIGHUP to the broker reloads log_level/log_format in every process:
#    the workers then log JSON lines.
source "$(dirname "$0")/../lib.sh"

B="http://$LAKEHOUSE_LISTEN"
RUN="$LAKEHOUSE_DATA/run"
CONF="$T/lakehouse.json"
# A 4 s seal age (and no sealing when quiet) lets a scrape see acknowledged records
# waiting in the spool.
echo '{"log_level": "info", "seal_max_age_ms": 4000, "seal_quiet_ms": 0}' >"$CONF"

scrape() { curl -s "$B/metrics"; }
# metric 'name{labels}': its value in a fresh scrape ("" when absent)
metric() { scrape | awk -v k="$1" '$1 == k { print $2 }'; }
# at_least TIMEOUT MIN 'name{labels}': wait until the value is >= MIN
at_least() {
    local limit=$1 min=$2 name=$3
    wait_until "$limit" bash -c "v=\$(curl -s '$B/metrics' | awk -v k='$name' '\$1 == k { print \$2 }'); [ -n \"\$v\" ] && awk -v v=\"\$v\" -v m=$min 'BEGIN { exit !(v >= m) }'"
}
flights() { # flights N SEED: N valid demo/flights records
    for i in $(seq 1 "$1"); do
        echo "{\"date\":\"2024/01/0$(( (i % 9) + 1 )) 10:00\",\"delay\":$i,\"distance\":$2,\"origin\":\"SEA\",\"destination\":\"LAX\"}"
    done
}

start_group --demo --config "$CONF" || exit 1
wait_until 20 curl -sf "$B/metrics" || { fail "metrics reachable" "no answer on $B/metrics"; exit 1; }

# ---- format and series ----
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$B/metrics")
check_eq "metrics content type" "text/plain; version=0.0.4; charset=utf-8" "$ctype"
for p in broker ingest processor transformer; do
    wait_eq 20 1 metric "lakehouse_process_up{process=\"$p\"}" || true
    check_eq "metrics up $p" 1 "$WAIT_LAST"
done

{ flights 5 100; echo '{"date":"not a date","delay":1}'; } >"$T/batch1.ndjson"
lakehouse send demo/flights "$T/batch1.ndjson" >/dev/null 2>&1
A='lakehouse_ingest_records_accepted_total{domain="demo",endpoint="flights"}'
R='lakehouse_ingest_records_refused_total{domain="demo",endpoint="flights"}'
ROWS='lakehouse_table_rows{domain="demo",layer="silver",table="flights"}'
BACKLOG='lakehouse_bronze_backlog_files{domain="demo",table="flights"}'
wait_eq 30 5 metric "$A"; check_eq "accepted counter" 5 "$WAIT_LAST"
wait_eq 30 1 metric "$R"; check_eq "refused counter" 1 "$WAIT_LAST"
wait_eq 30 5 metric "$ROWS"; check_eq "silver rows" 5 "$WAIT_LAST"
wait_eq 30 0 metric "$BACKLOG"; check_eq "backlog drained" 0 "$WAIT_LAST"
if at_least 30 1 'lakehouse_transform_duration_seconds_count{domain="demo",job="flights_by_origin"}'; then
    pass "transform histogram counts"; else fail "transform histogram counts" "no run counted"; fi
# the processor writes its stats file every second: wait for the merge
if at_least 30 1 'lakehouse_merge_duration_seconds_count{domain="demo",table="flights"}'; then
    pass "merge histogram counts"; else fail "merge histogram counts" "no merge counted"; fi

out=$(scrape)
missing=""
for s in lakehouse_process_up lakehouse_process_start_time_seconds lakehouse_process_resident_memory_bytes \
         lakehouse_process_restarts_total lakehouse_table_rows lakehouse_table_snapshots \
         lakehouse_table_last_commit_timestamp_seconds lakehouse_table_freshness_seconds \
         lakehouse_database_bytes lakehouse_bronze_backlog_files lakehouse_spool_bytes \
         lakehouse_ingest_records_accepted_total lakehouse_ingest_records_refused_total \
         lakehouse_merge_duration_seconds_bucket lakehouse_merge_duration_seconds_count \
         lakehouse_merge_duration_seconds_sum lakehouse_transform_duration_seconds_bucket \
         lakehouse_processor_pending_files lakehouse_transformer_pending_runs; do
    echo "$out" | grep -q "^$s[{ ]" || missing="$missing $s"
done
check_eq "metrics series present" "" "$missing"
bad=$(echo "$out" | grep -v '^#' | grep -Ev '^lakehouse_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+$' | head -3)
check_eq "metrics lines well-formed" "" "$bad"
types=$(echo "$out" | grep -c '^# TYPE ')
names=$(echo "$out" | grep '^# TYPE ' | awk '{print $3}' | sort -u | wc -l)
check_eq "one TYPE line per family" "$types" "$names"
inf=$(echo "$out" | awk -F' ' '/^lakehouse_merge_duration_seconds_bucket\{domain="demo",table="flights",le="\+Inf"\}/ {print $2}')
cnt=$(echo "$out" | awk '/^lakehouse_merge_duration_seconds_count\{domain="demo",table="flights"\}/ {print $2}')
check_eq "histogram +Inf bucket = count" "$cnt" "$inf"
snaps=$(echo "$out" | awk '/^lakehouse_table_snapshots\{domain="demo",layer="silver",table="flights"\}/ {print $2}')
check_eq "snapshot count = ledger files" "$(sql_silver demo 'SELECT count(*) FROM _snapshots WHERE table_name = "flights"')" "$snaps"
fresh=$(echo "$out" | awk '/^lakehouse_table_freshness_seconds\{domain="demo",table="flights"\}/ {print $2}')
if awk -v f="$fresh" 'BEGIN { exit !(f >= 0 && f < 600) }'; then pass "freshness plausible"; else fail "freshness plausible" "got '$fresh'"; fi

# values move: a second batch
SNAPS='lakehouse_table_snapshots{domain="demo",layer="silver",table="flights"}'
COMMIT='lakehouse_table_last_commit_timestamp_seconds{domain="demo",layer="silver",table="flights"}'
GOLD_SNAPS='lakehouse_table_snapshots{domain="demo",layer="gold",table="flights_by_origin"}'
BRONZE_BYTES='lakehouse_bronze_bytes{domain="demo",table="flights"}'
SPOOL='lakehouse_spool_bytes{domain="demo",table="flights"}'
DB_BYTES='lakehouse_database_bytes{domain="demo",layer="silver"}'
RUNS='lakehouse_transform_duration_seconds_count{domain="demo",job="flights_by_origin"}'
wait_until 30 bash -c "[ \"\$(curl -s '$B/metrics' | awk -v k='$SPOOL' '\$1 == k { print \$2 }')\" = 0 ]"
before=$(scrape)
val() { echo "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
flights 3 200 | lakehouse send demo/flights >/dev/null 2>&1
# acknowledged, not sealed yet (4 s seal age): the spool holds them
spool_now=$(metric "$SPOOL")
if [ "${spool_now:-0}" -gt 0 ] 2>/dev/null; then pass "spool bytes up after an ack"; else fail "spool bytes up after an ack" "got '$spool_now'"; fi
wait_eq 30 8 metric "$A"; check_eq "accepted counter moves" 8 "$WAIT_LAST"
wait_eq 30 8 metric "$ROWS"; check_eq "rows move" 8 "$WAIT_LAST"
if at_least 30 2 'lakehouse_merge_duration_seconds_count{domain="demo",table="flights"}'; then
    pass "merge histogram moves"; else fail "merge histogram moves" "count < 2"; fi
wait_eq 30 0 metric "$SPOOL"; check_eq "spool bytes back to 0 once sealed" 0 "$WAIT_LAST"
for series in "$SNAPS" "$COMMIT" "$BRONZE_BYTES" "$GOLD_SNAPS" "$RUNS"; do
    b=$(val "$before" "$series")
    if at_least 30 "$(awk -v b="${b:-0}" 'BEGIN { printf "%.6f", b + 0.000001 }')" "$series"; then
        pass "metric moves: $series"; else fail "metric moves: $series" "before '$b', now '$(metric "$series")'"; fi
done
b=$(val "$before" "$DB_BYTES"); now=$(metric "$DB_BYTES")
if [ -n "$b" ] && [ "${now:-0}" -ge "$b" ] && [ "$now" -gt 0 ]; then pass "database bytes present and not shrinking"
else fail "database bytes present and not shrinking" "before '$b', now '$now'"; fi

# ---- status: a stopped processor lags ----
PROC=$(cat "$RUN/processor.pid")
kill -STOP "$PROC"
flights 2 300 | lakehouse send demo/flights >/dev/null 2>&1
if wait_until 30 bash -c "lakehouse status --lag-seconds 1 | grep -q '^processor .*lagging'"; then
    pass "status shows the processor lagging"
else
    fail "status shows the processor lagging" "$(lakehouse status --lag-seconds 1 2>&1 | head -12)"
fi
st=$(lakehouse status --json --lag-seconds 1)
check_eq "status json table lagging" "lagging" "$(echo "$st" | jq -r '.tables[] | select(.layer=="silver" and .table=="flights") | .state')"
check_eq "status json processor stopped" "stopped" "$(echo "$st" | jq -r '.processes[] | select(.process=="processor") | .state')"
check_eq "status json processor lagging" "true" "$(echo "$st" | jq -r '.processes[] | select(.process=="processor") | .lagging')"
if [ "$(metric "$BACKLOG")" -ge 1 ] 2>/dev/null; then pass "metrics backlog while stopped"; else fail "metrics backlog while stopped" "$(metric "$BACKLOG")"; fi
kill -CONT "$PROC"
wait_eq 30 0 metric "$BACKLOG"; check_eq "backlog back to 0" 0 "$WAIT_LAST"
wait_eq 30 ok bash -c "lakehouse status --json --lag-seconds 1 | jq -r '.tables[] | select(.layer==\"silver\" and .table==\"flights\") | .state'"
check_eq "status no longer lagging" ok "$WAIT_LAST"
check_eq "status json since" "true" "$(lakehouse status --json | jq '[.processes[] | .since != null] | all')"

# ---- restarts ----
kill -KILL "$(cat "$RUN/transformer.pid")"
wait_eq 30 1 metric 'lakehouse_process_restarts_total{process="transformer"}'
check_eq "restart counted" 1 "$WAIT_LAST"
if wait_until 20 bash -c "lakehouse status --json | jq -e '.last_errors[] | select(.process==\"broker\" and (.message | test(\"child_died proc=transformer\")))'"; then
    pass "status last errors"; else fail "status last errors" "child_died not listed"; fi

# ---- config check ----
cat >"$T/bad.json" <<'JSON'
{"log_level": "loud", "seal_ms": 5, "seal_max_bytes": "big", "batch_max_records": 0, "log_format": "xml", "http_lisen": "x", "worker_nice": 20}
JSON
rc=0; out=$(lakehouse config check "$T/bad.json" 2>&1) || rc=$?
check_eq "config check exit" 1 "$rc"
for want in "unknown key 'seal_ms'" "unknown key 'http_lisen'" "key 'seal_max_bytes' must be an integer, got 'big'" \
            "log_level 'loud'" "log_format 'xml'" "batch_max_records: must be a positive integer, got 0" \
            "worker_nice: must be between 0 and 19, got 20" "7 problems"; do
    if echo "$out" | grep -qF "$want"; then pass "config check names: $want"; else fail "config check names: $want" "$out"; fi
done
# string settings are checked for their form too, each naming key and value
cat >"$T/bad_strings.json" <<'JSON'
{"http_listen": "nonsense", "ingest_endpoint": "foo", "retention_tables": "bogus:x=y"}
JSON
rc=0; out=$(lakehouse config check "$T/bad_strings.json" 2>&1) || rc=$?
check_eq "config check exit (strings)" 1 "$rc"
for want in "http_listen 'nonsense': expected host:port" "ingest_endpoint 'foo': must be ipc://PATH or tcp://HOST:PORT" \
            "retention_tables: 'bogus:x=y' is not layer:domain/table=days" "3 problems"; do
    if echo "$out" | grep -qF "$want"; then pass "config check names: $want"; else fail "config check names: $want" "$out"; fi
done
echo '{"http_listen": "0.0.0.0:8080"}' >"$T/open.json"
rc=0; out=$(env -u LAKEHOUSE_HTTP_TOKEN lakehouse config check "$T/open.json" 2>&1) || rc=$?
case "$rc:$out" in 1:*"http_listen '0.0.0.0:8080': a non-loopback address needs http_token"*) pass "config check: non-loopback without a token";;
    *) fail "config check: non-loopback without a token" "rc=$rc $out";; esac
check_cmd "config check: non-loopback with a token" env LAKEHOUSE_HTTP_TOKEN=secret lakehouse config check "$T/open.json"
rc=0; env -u LAKEHOUSE_LISTEN lakehouse-processor --data "$T/other2" --config "$T/bad_strings.json" >"$T/bad2.log" 2>&1 || rc=$?
check_eq "daemon refuses a bad retention_tables at start" 1 "$rc"
check_cmd "daemon names the bad retention_tables" grep -q "retention_tables: 'bogus:x=y'" "$T/bad2.log"
lakehouse --data /var/lib/lakehouse config print --defaults >"$T/default.json"
check_cmd "config check of the defaults" lakehouse config check "$T/default.json"
check_cmd "defaults load back" lakehouse --config "$T/default.json" --data "$LAKEHOUSE_DATA" tables
rc=0; lakehouse-ingest --data "$T/other" --config "$T/bad.json" >"$T/bad.log" 2>&1 || rc=$?
check_eq "daemon refuses a bad config" 1 "$rc"
if grep -q "unknown key 'seal_ms'.*unknown key 'http_lisen'" "$T/bad.log"; then pass "daemon names every unknown key"; else fail "daemon names every unknown key" "$(tail -1 "$T/bad.log")"; fi

# ---- SIGHUP: log_format json, log_level debug ----
echo '{"log_level": "debug", "log_format": "json", "seal_max_age_ms": 4000, "seal_quiet_ms": 0}' >"$CONF"
lines_before=$(wc -l <"$T/group.log")
kill -HUP "$GROUP_PID"
if wait_until 20 bash -c "tail -n +$((lines_before + 1)) '$T/group.log' | grep -q '\"proc\":\"processor\".*\"event\":\"reloaded\"'"; then
    pass "SIGHUP reaches the processor"; else fail "SIGHUP reaches the processor" "$(tail -5 "$T/group.log")"; fi
flights 1 400 | lakehouse send demo/flights >/dev/null 2>&1
wait_eq 30 11 metric "$ROWS"
check_eq "still working after reload" 11 "$WAIT_LAST"
json_lines=$(tail -n +$((lines_before + 1)) "$T/group.log" | grep '^{' )
if [ -n "$json_lines" ] && echo "$json_lines" | jq -e -s 'all(.ts and .level and .proc and .event)' >/dev/null 2>&1; then
    pass "log_format json lines parse"; else fail "log_format json lines parse" "$(echo "$json_lines" | head -3)"; fi
if echo "$json_lines" | grep -q '"level":"debug"'; then pass "log_level debug reloaded"; else fail "log_level debug reloaded" "no debug line"; fi
echo '{"log_level": "info", "seal_max_bytes": 1000, "seal_max_age_ms": 4000, "seal_quiet_ms": 0}' >"$CONF"
kill -HUP "$GROUP_PID"
if wait_until 20 grep -q 'reloaded .*restart_needed="seal_max_bytes"' "$T/group.log"; then
    pass "reload names settings needing a restart"; else fail "reload names settings needing a restart" "$(tail -3 "$T/group.log")"; fi

stop_group; check_eq "group stops cleanly" 0 $?
finish
