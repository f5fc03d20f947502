#!/usr/bin/env bash
# Kill loop: several producers send without pause (each chunk re-sent with
# the same batch ids until acknowledged) while kill -9 hits a random process
# (ingest, processor, transformer or the broker) at random moments. The
# supervisor restarts a killed worker; a killed broker's children must exit
# by themselves (PR_SET_PDEATHSIG) and the harness starts the group again.
# At the end every acknowledged record is in silver exactly once (the table
# has no primary key), gold equals a recomputation from silver, no bronze
# file is half-written and every database passes PRAGMA integrity_check.
# FAULT_KILLS (default 50; FAULT_LONG=1: 300) sets the number of kills.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fault.bash"
export LAKEHOUSE_RESTART_BACKOFF_MAX_MS=1000
export LAKEHOUSE_RECONCILE_INTERVAL_MS=1000
if [ -n "${FAULT_LONG:-}" ]; then KILLS=${FAULT_KILLS:-300}; else KILLS=${FAULT_KILLS:-50}; fi
PRODUCERS=${FAULT_PRODUCERS:-3}
CHUNK=${FAULT_CHUNK:-400}

start_group || { fail "start" "group did not start"; exit 1; }
check_cmd "endpoint and job" fault_setup_events

ppids=()
for p in $(seq 1 "$PRODUCERS"); do
    producer_loop "$p" "$CHUNK" &
    ppids+=($!)
done

declare -A killed=([ingest]=0 [processor]=0 [transformer]=0 [broker]=0)
kills=0
restart_fail=0
started=$(date +%s)
for k in $(seq 1 "$KILLS"); do
    sleep "0.$((RANDOM % 8 + 1))"
    r=$((RANDOM % 10))
    if [ "$r" -lt 3 ]; then target=ingest; elif [ "$r" -lt 6 ]; then target=processor;
    elif [ "$r" -lt 8 ]; then target=transformer; else target=broker; fi
    # the first four kills take each kind once, so every run covers all four
    [ "$k" -le 4 ] && target=$(echo ingest processor transformer broker | cut -d' ' -f"$k")
    if [ "$target" = broker ]; then
        group_restart || restart_fail=$((restart_fail + 1))
        kills=$((kills + 1)); killed[broker]=$((killed[broker] + 1))
        continue
    fi
    pid=$(proc_pid "$target")
    if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
        kills=$((kills + 1)); killed[$target]=$((killed[$target] + 1))
        wait_new_pid "$target" "$pid" || restart_fail=$((restart_fail + 1))
    fi
done
elapsed=$(( $(date +%s) - started ))
touch "$T/stop"
prod_ok=1
for pid in "${ppids[@]}"; do wait "$pid" || prod_ok=0; done

echo "kills=$kills ingest=${killed[ingest]} processor=${killed[processor]} transformer=${killed[transformer]} broker=${killed[broker]} seconds=$elapsed"
if [ "$kills" -ge "$KILLS" ]; then pass "kill -9 landed $kills times"; else fail "kill -9 landed $kills times" "expected $KILLS"; fi
for p in ingest processor transformer broker; do
    if [ "${killed[$p]}" -ge 1 ]; then pass "$p killed (${killed[$p]} times)"; else fail "$p killed" "never"; fi
done
check_eq "every killed process came back" 0 "$restart_fail"
check_eq "no child of a killed broker lingered" 0 "$LINGER_FAILURES"
if [ "$prod_ok" = 1 ]; then pass "every producer got every chunk acknowledged"; else
    fail "every producer got every chunk acknowledged" "$(tail -3 "$T"/send.*.out)"; fi

total=0
for p in $(seq 1 "$PRODUCERS"); do total=$((total + $(cat "$T/acked.$p") * CHUNK)); done
[ "$total" -gt 0 ] || fail "records acknowledged" "none"
check_final "$total" "kill loop"
lost=$((total - $(sql_silver fault "SELECT count(DISTINCT rid) FROM events;")))
dups=$(( $(silver_count) - $(sql_silver fault "SELECT count(DISTINCT rid) FROM events;") ))
echo "FAULT-SUMMARY kill_loop kills=$kills (ingest ${killed[ingest]}, processor ${killed[processor]}, transformer ${killed[transformer]}, broker ${killed[broker]}) acked=$total lost=$lost duplicated=$dups"
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
finish
