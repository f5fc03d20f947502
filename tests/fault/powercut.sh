#!/usr/bin/env bash
# Power-cut style faults through an LD_PRELOAD shim (powercut_shim.c, built
# here): a process dies (_exit) at its Nth fsync/fdatasync - between write
# and sync - or at its Nth rename - between sync and rename - or the call
# fails (EIO / ENOSPC). Each scenario starts the group with the shim, sends
# records until every batch is acknowledged (re-sends keep their batch ids),
# and then checks that silver holds every acknowledged record exactly once,
# gold is recomputed, no bronze .tmp is left and every database is intact.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fault.bash"
export LAKEHOUSE_RESTART_BACKOFF_MAX_MS=500
export LAKEHOUSE_RECONCILE_INTERVAL_MS=1000
SHIM="$T/powercut_shim.so"
cc -shared -fPIC -O1 -o "$SHIM" "$LAKEHOUSE_SOURCE/tests/fault/powercut_shim.c" -ldl ||
    { fail "build shim" "cc failed"; exit 1; }
# ASan wants its runtime first in the library list; the shim only wraps
# libc calls ASan does not intercept.
export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"

start_group || { fail "start" "group did not start"; exit 1; }
check_cmd "endpoint and job" fault_setup_events
check_cmd "baseline records" send_chunk base 500
stop_group

# prog call at mode
scenarios=(
    "lakehouse-ingest sync 3 exit"
    "lakehouse-ingest sync 12 exit"
    "lakehouse-ingest rename 1 exit"
    "lakehouse-ingest rename 3 exit"
    "lakehouse-ingest sync 6 fail"
    "lakehouse-ingest rename 2 fail"
    "lakehouse-processor sync 2 exit"
    "lakehouse-processor sync 1 exit"
    "lakehouse-ingest sync 1 exit"
    "lakehouse-transformer sync 2 exit"
    "lakehouse-processor sync 2 fail"
)
s=0
fired=0
for sc in "${scenarios[@]}"; do
    s=$((s + 1))
    read -r prog call at mode <<<"$sc"
    once="$T/fired.$s"
    FAULT_PROG=$prog FAULT_CALL=$call FAULT_AT=$at FAULT_MODE=$mode FAULT_ONCE=$once \
        LD_PRELOAD="$SHIM" start_group || { fail "scenario $s start" "$sc"; continue; }
    for c in 1 2 3 4; do
        send_chunk "s$s-c$c" 300 || fail "scenario $s ($sc): chunk $c acknowledged" "gave up"
        sleep 0.3
    done
    if wait_until 30 test -e "$once"; then fired=$((fired + 1)); pass "scenario $s ($sc): fault fired"; else
        fail "scenario $s ($sc): fault fired" "the shim never acted"; fi
    check_final "$(cat "$T/total")" "scenario $s ($sc)"
    stop_group; rc=$?
    check_eq "scenario $s: group stops with status 0" 0 "$rc"
done
total=$(cat "$T/total")
lost=$((total - $(sql_silver fault "SELECT count(DISTINCT rid) FROM events;")))
dups=$(( $(silver_count) - $(sql_silver fault "SELECT count(DISTINCT rid) FROM events;") ))
echo "FAULT-SUMMARY powercut scenarios=${#scenarios[@]} fired=$fired acked=$total lost=$lost duplicated=$dups"
finish
