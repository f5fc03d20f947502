#!/usr/bin/env bash
# Crash test: while several producers send, kill -9 the processor again and
# again (also in the middle of merges) and kill -9 ingest while batches are in
# flight. The supervisor restarts them; producers re-send unacknowledged
# batches with the same batch id. At the end silver must hold every record
# exactly once: the table has no primary key, so a duplicate would be a second
# row, and a lost record a missing one.
source "$(dirname "$0")/../lib.sh"
# Restarts must follow the kills quickly; the default backoff climbs to 30 s.
export LAKEHOUSE_RESTART_BACKOFF_MAX_MS=${LAKEHOUSE_RESTART_BACKOFF_MAX_MS:-1000}
PRODUCERS=${CRASH_PRODUCERS:-3}
RECORDS=${CRASH_RECORDS:-20000}   # per producer
KILLS=${CRASH_KILLS:-12}

start_group || { fail "start" "group did not start"; exit 1; }
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/crash_events.json"

pad=$(printf '%0200d' 0)
for p in $(seq 1 "$PRODUCERS"); do
  seq 1 "$RECORDS" | awk -v p="$p" -v pad="$pad" '{printf "{\"rid\":\"p%d-%d\",\"producer\":%d,\"n\":%d,\"payload\":\"%s\"}\n", p, $1, p, $1, pad}' > "$T/p$p.ndjson"
done

pids=()
for p in $(seq 1 "$PRODUCERS"); do
  lakehouse send crash/events --batch-size 500 --timeout-ms 3000 "$T/p$p.ndjson" > "$T/send$p.out" 2>&1 &
  pids+=($!)
done

proc_pid() { cat "$LAKEHOUSE_DATA/run/$1.pid" 2>/dev/null; }
kills=0
ingest_killed=0
for k in $(seq 1 "$KILLS"); do
  sleep "0.$((RANDOM % 6 + 2))"
  target=processor
  if [ "$k" -eq 3 ] || [ "$k" -eq 8 ]; then target=ingest; fi
  pid=$(proc_pid $target)
  if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    [ "$target" = ingest ] && ingest_killed=$((ingest_killed + 1))
    # wait for the supervisor to bring it back (a new pid file)
    wait_until 30 sh -c "p=\$(cat '$LAKEHOUSE_DATA/run/$target.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p"
  fi
done
echo "kills=$kills ingest_kills=$ingest_killed"
if [ "$kills" -ge $((KILLS / 2)) ]; then pass "killed processes $kills times (ingest $ingest_killed)"; else fail "kills" "only $kills kills landed"; fi

acked=0
all_ok=1
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then all_ok=0; fi
  a=$(sed -n 's/.* \([0-9][0-9]*\) accepted.*/\1/p' "$T/send$((i + 1)).out" | tail -1)
  acked=$((acked + ${a:-0}))
done
if [ "$all_ok" = 1 ]; then pass "every producer finished with all records acknowledged"; else
  fail "every producer finished with all records acknowledged" "$(cat "$T"/send*.out | tail -5)"; fi
total=$((PRODUCERS * RECORDS))
check_eq "acknowledged records" "$total" "$acked"

count() { sql_silver crash "SELECT count(*) FROM events;" 2>/dev/null; }
if wait_eq 120 "$total" count; then pass "silver reached $total rows"; else fail "silver reached $total rows" "got $WAIT_LAST"; fi
sleep 1
check_eq "no duplicates in silver" "$total" "$(sql_silver crash "SELECT count(DISTINCT rid) FROM events;")"
check_eq "no extra rows in silver" "$total" "$(count)"
check_eq "every record of every producer present" "$PRODUCERS" \
  "$(sql_silver crash "SELECT count(*) FROM (SELECT producer, count(*) c, min(n) lo, max(n) hi FROM events GROUP BY producer) WHERE c = $RECORDS AND lo = 1 AND hi = $RECORDS;")"
check_eq "silver integrity_check" ok "$(sql_silver crash "PRAGMA integrity_check;")"
check_eq "every bronze file merged exactly once" \
  "$(find "$LAKEHOUSE_DATA/bronze/crash/events" -name '*.ndjson.lz4' | wc -l)" \
  "$(sql_silver crash "SELECT count(*) FROM _ledger;")"
check_eq "no half-written bronze file" "" "$(find "$LAKEHOUSE_DATA/bronze" -name '*.tmp')"
check_eq "records in bronze equal acked" "$total" \
  "$(find "$LAKEHOUSE_DATA/bronze/crash/events" -name '*.ndjson.lz4' -exec lz4cat {} + | wc -l)"
check_eq "no quarantined file" 0 "$(sql_silver crash "SELECT count(*) FROM _quarantine;")"
grep -q "restart" "$T/group.log" && pass "supervisor logged restarts" || fail "supervisor logged restarts" "no restart line in log"

stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
finish
