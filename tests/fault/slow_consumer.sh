#!/usr/bin/env bash
# Slow consumer: the processor is frozen (SIGSTOP) while producers keep
# sending. Ingest keeps acknowledging and sealing, so bronze grows while
# silver stands still; the resident memory (VmRSS) of every process stays
# under a bound; after SIGCONT the backlog drains into silver exactly once.
# The bound is FAULT_RSS_MAX_KB (default 160 MB: ASan builds with a reduced
# quarantine; a process that buffered the backlog would go far above it);
# growth of each process over its own baseline is reported too.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fault.bash"
export LAKEHOUSE_RECONCILE_INTERVAL_MS=1000
export LAKEHOUSE_INGEST_QUEUE_MAX_BYTES=$((8 * 1024 * 1024))
export LAKEHOUSE_SEAL_MAX_BYTES=$((512 * 1024))
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=16:malloc_context_size=5"
RSS_MAX_KB=${FAULT_RSS_MAX_KB:-163840}
PRODUCERS=3
RECORDS=${FAULT_SLOW_RECORDS:-30000}   # per producer, ~150 bytes each

start_group || { fail "start" "group did not start"; exit 1; }
check_cmd "endpoint and job" fault_setup_events
check_cmd "baseline records" send_chunk base 100
wait_eq 60 100 silver_count || fail "baseline in silver" "got $WAIT_LAST"

declare -A peak base
sample_rss() {
    local name pid r
    for name in broker ingest processor transformer; do
        if [ "$name" = broker ]; then pid=$GROUP_PID; else pid=$(proc_pid "$name"); fi
        r=$(vmrss "$pid"); r=${r:-0}
        [ -n "${base[$name]:-}" ] || base[$name]=$r
        [ "$r" -gt "${peak[$name]:-0}" ] && peak[$name]=$r
    done
}
sample_rss
ledger_before=$(sql_silver fault "SELECT count(*) FROM _ledger;")
kill -STOP "$(proc_pid processor)"
pad=$(printf '%0100d' 0)
pids=()
for p in $(seq 1 $PRODUCERS); do
    seq 1 "$RECORDS" | awk -v p="$p" -v pad="$pad" \
        '{printf "{\"rid\":\"slow-%d-%d\",\"producer\":%d,\"n\":%d,\"payload\":\"%s\"}\n", p, $1, p, $1, pad}' >"$T/slow.$p"
    lakehouse send fault/events --batch-size 500 --id-prefix "slow-$p" "$T/slow.$p" >"$T/slow.$p.out" 2>&1 &
    pids+=($!)
done
running=1
while [ "$running" = 1 ]; do
    sample_rss
    running=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    sleep 0.3
done
ok=1
for pid in "${pids[@]}"; do wait "$pid" || ok=0; done
if [ "$ok" = 1 ]; then pass "producers acknowledged while the processor is stopped"; else
    fail "producers acknowledged while the processor is stopped" "$(tail -2 "$T"/slow.*.out)"; fi
total=$((100 + PRODUCERS * RECORDS))
wait_until 30 sh -c "[ -z \"\$(find '$LAKEHOUSE_DATA/spool' -name '*.ndjson' -size +0)\" ]"
bronze_files=$(find "$LAKEHOUSE_DATA/bronze" -name '*.ndjson.lz4' | wc -l)
check_eq "silver stood still while the processor was stopped" 100 "$(silver_count)"
if [ "$bronze_files" -gt $((ledger_before + 10)) ]; then pass "bronze grew to $bronze_files files (backlog)"; else
    fail "bronze grew (backlog)" "$bronze_files files, ledger had $ledger_before"; fi
kill -CONT "$(proc_pid processor)"
drained=0
deadline=$(( $(date +%s) + 180 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    sample_rss
    [ "$(silver_count)" = "$total" ] && { drained=1; break; }
    sleep 0.3
done
if [ "$drained" = 1 ]; then pass "backlog drained after SIGCONT"; else fail "backlog drained after SIGCONT" "silver $(silver_count) of $total"; fi
summary=""
for name in broker ingest processor transformer; do
    summary="$summary $name=$((base[$name] / 1024))->$((peak[$name] / 1024))MB"
    if [ "${peak[$name]}" -le "$RSS_MAX_KB" ]; then pass "VmRSS of $name stayed under $((RSS_MAX_KB / 1024)) MB (peak $((peak[$name] / 1024)) MB)"; else
        fail "VmRSS of $name stayed under $((RSS_MAX_KB / 1024)) MB" "peak $((peak[$name] / 1024)) MB"; fi
done
check_final "$total" "slow consumer"
echo "FAULT-SUMMARY slow_consumer records=$total bronze_backlog_files=$bronze_files rss_base_to_peak:$summary"
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
finish
