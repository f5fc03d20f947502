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
# Landing files with refused records: ingest dies right before a chunk's
# write to the rejected file (scenario a), or right before its spool write,
# its rejected lines already written and synced (scenario b). At restart the
# chunk in doubt is resolved: every good record reaches silver once and every
# refused one has exactly one line in rejected/ (none lost, none twice).
landing_file() { # name: 1000 records, every 10th with a non-integer n
    awk -v c="$1" 'BEGIN { for (i = 1; i <= 1000; i++)
        printf "{\"rid\":\"%s-%d\",\"producer\":8,\"n\":%s}\n", c, i, (i % 10 == 0 ? "\"x\"" : i) }' \
        >"$T/$1.ndjson"
}
landing_rejected() { cat "$LAKEHOUSE_DATA"/rejected/fault/events/*.ndjson 2>/dev/null |
    jq -r "select(.batch_id // \"\" | startswith(\"landing-\")) | select(.record.rid | startswith(\"$1-\")) | .record.rid" |
    sort | uniq | wc -l; }
landing_rejected_lines() { cat "$LAKEHOUSE_DATA"/rejected/fault/events/*.ndjson 2>/dev/null |
    grep -c "\"rid\":\"$1-"; }
for sc in "a /rejected/fault/events/" "b /spool/fault/events/"; do
    read -r name path <<<"$sc"
    once="$T/fired.landing-$name"
    landing_file "land$name"
    FAULT_PROG=lakehouse-ingest FAULT_CALL=write FAULT_PATH=$path FAULT_AT=1 FAULT_MODE=exit \
        FAULT_ONCE=$once LAKEHOUSE_BATCH_MAX_RECORDS=100 LD_PRELOAD="$SHIM" start_group ||
        { fail "landing $name start" "$sc"; continue; }
    mkdir -p "$LAKEHOUSE_DATA/landing/fault/events"
    cp "$T/land$name.ndjson" "$LAKEHOUSE_DATA/landing/fault/events/.land$name.tmp"
    mv "$LAKEHOUSE_DATA/landing/fault/events/.land$name.tmp" "$LAKEHOUSE_DATA/landing/fault/events/land$name.ndjson"
    if wait_until 30 test -e "$once"; then fired=$((fired + 1)); pass "landing $name (ingest dies before its write to $path): fault fired"; else
        fail "landing $name: fault fired" "the shim never acted"; fi
    echo $(( $(cat "$T/total") + 900 )) >"$T/total"
    check_final "$(cat "$T/total")" "landing $name"
    wait_eq 30 100 landing_rejected "land$name" >/dev/null
    check_eq "landing $name: every refused record in rejected/" 100 "$(landing_rejected "land$name")"
    check_eq "landing $name: no refused record twice in rejected/" 100 "$(landing_rejected_lines "land$name")"
    stop_group; rc=$?
    check_eq "landing $name: group stops with status 0" 0 "$rc"
done
scenarios+=("landing a" "landing b")

total=$(cat "$T/total")
lost=$((total - $(sql_silver fault "SELECT count(DISTINCT rid) FROM events;")))
dups=$(( $(silver_count) - $(sql_silver fault "SELECT count(DISTINCT rid) FROM events;") ))
echo "FAULT-SUMMARY powercut scenarios=${#scenarios[@]} fired=$fired acked=$total lost=$lost duplicated=$dups"
finish
