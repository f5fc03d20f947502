#!/usr/bin/env bash
# torn_group.sh - a group commit torn by a crash. kill -9 (or a power cut)
# in the middle of ingest's write() of a group leaves a prefix of the group's
# lines in the spool: complete lines of batches that were never acknowledged.
# Recovery keeps the complete lines (it cannot tell them from acknowledged
# ones) and remembers their batch ids; when the producer re-sends such a
# batch, ingest must store the records the crash cut off, not answer
# "duplicate" for the whole batch (which lost them: found by the kill loop,
# 19 records of one batch of 100). Made here by cutting a spool by hand to
# its first lines while ingest is down.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fault.bash"
cat >"$T/torn.json" <<'JSON'
{"seal_max_age_ms": 600000, "seal_quiet_ms": 0, "restart_backoff_min_ms": 4000, "restart_backoff_max_ms": 4000}
JSON
start_group --config "$T/torn.json" || { fail "start" "group did not start"; exit 1; }
check_cmd "endpoint and job" fault_setup_events

records() { # records FROM TO: events of producer 7
    seq "$1" "$2" | awk '{ printf "{\"rid\":\"t-%d\",\"producer\":7,\"n\":%d}\n", $1, $1 }'
}
# batch "torn-1": 10 records, acknowledged, kept in the spool (10 min seal age, no quiet seal)
records 1 10 >"$T/batch.ndjson"
check_cmd "first attempt acknowledged" lakehouse send fault/events --batch-size 10 --id-prefix torn "$T/batch.ndjson"
SPOOL_DIR="$LAKEHOUSE_DATA/spool/fault/events"
spool=$(ls "$SPOOL_DIR"/*.ndjson 2>/dev/null | head -1)
check_eq "the batch waits in one spool file" 10 "$(cat "$spool" 2>/dev/null | wc -l)"

# the crash: ingest dies; what survives of the group is its first 4 lines
pid=$(proc_pid ingest)
kill -KILL "$pid"
head -n 4 "$spool" >"$spool.cut" && cat "$spool.cut" >"$spool" && rm -f "$spool.cut"
check_eq "spool cut to a prefix of the batch" 4 "$(wc -l <"$spool")"
wait_until 30 bash -c "p=\$(cat '$LAKEHOUSE_DATA/run/ingest.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && test -S '$LAKEHOUSE_DATA/run/ingest.sock'" ||
    fail "ingest restarted" "no new ingest"

# the producer, which never saw an ack for the torn attempt, sends it again
out=$(lakehouse send fault/events --batch-size 10 --id-prefix torn "$T/batch.ndjson" 2>&1); rc=$?
check_eq "re-send acknowledged" 0 "$rc"
n() { sql_silver fault "SELECT count(*) FROM events WHERE producer = 7;" 2>/dev/null; }
all_merged() {
    [ "$(find "$LAKEHOUSE_DATA/bronze/fault/events" -name '*.ndjson.lz4' | wc -l)" = \
      "$(sql_silver fault "SELECT count(*) FROM _ledger WHERE table_name = 'events';" 2>/dev/null)" ]
}
# the bronze file of the recovered prefix merges at once; the rest waits for
# its seal: stop the group (ingest seals its spool) and count
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
start_group --config "$T/torn.json" || { fail "restart" "group did not start"; exit 1; }
wait_until 30 all_merged || fail "bronze merged" "backlog left"
if wait_eq 30 10 n; then pass "all 10 records of the torn batch in silver"; else fail "all 10 records of the torn batch in silver" "got $WAIT_LAST"; fi
check_eq "each exactly once" 10 "$(sql_silver fault "SELECT count(DISTINCT rid) FROM events WHERE producer = 7;")"
check_cmd "ingest says it completed the batch" grep -q 'batch_completed domain=fault endpoint=events id=torn-1' "$T/group.log"

# a batch whose first attempt is whole on disk stays a plain duplicate
out=$(lakehouse send fault/events --batch-size 10 --id-prefix torn "$T/batch.ndjson" 2>&1)
case "$out" in *duplicate*|*"10 accepted"*) pass "a whole batch re-sent after restart: answered";; *) fail "a whole batch re-sent after restart" "$out";; esac
stop_group; rc=$?
check_eq "group stops with status 0 at the end" 0 "$rc"
start_group --config "$T/torn.json" || { fail "restart" "group did not start"; exit 1; }
wait_until 30 all_merged || fail "bronze merged (end)" "backlog left"
check_eq "still exactly 10 records after the last re-send" 10 "$(n)"
echo "FAULT-SUMMARY torn_group batch=10 cut_to=4 stored=$(n)"
stop_group
finish
