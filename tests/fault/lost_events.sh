#!/usr/bin/env bash
# Lost events: PUB/SUB events are hints, durable state is the truth.
# Part 1: the transformer subscribes to an address where nobody publishes
# (LAKEHOUSE_EVENTS_SUB_ENDPOINT for it alone), so it never hears
# silver.committed nor job.changed; gold must still follow silver, and a job
# added meanwhile must still run, through reconciliation alone.
# Part 2: the whole group runs, and the broker (the event forwarder) is
# frozen with SIGSTOP while records arrive: every event in that time goes
# nowhere, yet silver and gold complete.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fault.bash"
export LAKEHOUSE_RECONCILE_INTERVAL_MS=1000
export LAKEHOUSE_RESTART_BACKOFF_MAX_MS=1000

# ---- part 1: processes started by hand, the transformer deaf to events
lakehouse-broker --data "$LAKEHOUSE_DATA" --no-supervise >>"$T/group.log" 2>&1 &
bpid=$!
lakehouse-ingest --data "$LAKEHOUSE_DATA" >>"$T/group.log" 2>&1 &
ipid=$!
lakehouse-processor --data "$LAKEHOUSE_DATA" >>"$T/group.log" 2>&1 &
ppid_=$!
LAKEHOUSE_EVENTS_SUB_ENDPOINT="ipc://$T/nobody-publishes-here.sock" \
    lakehouse-transformer --data "$LAKEHOUSE_DATA" >>"$T/group.log" 2>&1 &
tpid=$!
wait_until 30 test -S "$LAKEHOUSE_DATA/run/ingest.sock" && wait_until 30 test -S "$LAKEHOUSE_DATA/run/transformer.sock" ||
    { fail "start" "processes did not start"; tail -30 "$T/group.log"; exit 1; }
check_cmd "endpoint and job" fault_setup_events
check_cmd "records sent" send_chunk e1 2000
if wait_eq 60 2000 silver_count; then pass "deaf transformer: silver has 2000 rows"; else fail "deaf transformer: silver has 2000 rows" "got $WAIT_LAST"; fi
if wait_until 60 gold_matches; then pass "deaf transformer: gold follows silver by reconciliation"; else
    fail "deaf transformer: gold follows silver by reconciliation" "gold '$(gold_now | tr '\n' ' ')'"; fi
cat >"$T/late.sql" <<'SQL'
-- job: late_job
-- domain: fault
-- write_mode: overwrite
-- schedule: dependency
SELECT count(*) AS records FROM fault.silver.events
SQL
check_cmd "job added while events are lost" lakehouse job add "$T/late.sql"
late_count() { sql_gold fault "SELECT records FROM late_job;" 2>/dev/null; }
if wait_eq 60 2000 late_count; then pass "deaf transformer: a job added meanwhile ran (job.changed lost)"; else
    fail "deaf transformer: a job added meanwhile ran (job.changed lost)" "got '$WAIT_LAST'"; fi
check_cmd "more records sent" send_chunk e2 1000
if wait_eq 60 3000 late_count; then pass "deaf transformer: both jobs follow new commits"; else
    fail "deaf transformer: both jobs follow new commits" "got '$WAIT_LAST'"; fi
wait_until 60 gold_matches || fail "deaf transformer: gold after the second chunk" "$(gold_now | tr '\n' ' ')"
for pid in $tpid $ppid_ $ipid $bpid; do kill -TERM "$pid"; wait "$pid"; done
pass "part 1 processes stopped"

# ---- part 2: the event forwarder frozen
start_group || { fail "start" "group did not start"; exit 1; }
kill -STOP "$GROUP_PID"
check_cmd "records sent while the broker is frozen" send_chunk e3 2000
if wait_eq 60 5000 silver_count; then pass "frozen broker: silver has 5000 rows"; else fail "frozen broker: silver has 5000 rows" "got $WAIT_LAST"; fi
if wait_until 60 gold_matches; then pass "frozen broker: gold follows silver by reconciliation"; else
    fail "frozen broker: gold follows silver by reconciliation" "gold '$(gold_now | tr '\n' ' ')'"; fi
if wait_eq 60 5000 late_count; then pass "frozen broker: every job ran"; else fail "frozen broker: every job ran" "got '$WAIT_LAST'"; fi
kill -CONT "$GROUP_PID"
check_cmd "records sent after the broker thawed" send_chunk e4 500
wait_eq 60 5500 silver_count && wait_until 60 gold_matches && pass "thawed broker: silver and gold complete" ||
    fail "thawed broker: silver and gold complete" "silver $(silver_count) gold $(gold_now | tr '\n' ' ')"
check_final 5500 "lost events"
echo "FAULT-SUMMARY lost_events deaf_transformer_records=3000 frozen_broker_records=2000 acked=5500 lost=$((5500 - $(silver_count)))"
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
finish
