#!/usr/bin/env bash
# http_load.sh - the HTTP API under load and against clients that misbehave,
# on loopback with bounded counts: queries that would need too much memory
# fail with 422 while the broker's peak RSS stays within its documented
# bound, query_max_concurrent answers 503; 1,000 concurrent keep-alive
# producers posting batches are all answered 200 (none refused or timed
# out) and every record reaches silver; 1,000 connections stalled
# mid-header, or trickling a body, do not keep a well-behaved client from
# its answers and are closed after http_request_timeout_ms; beyond
# http_max_connections new connections are closed, the count never grows.
# Latency figures go to `make bench`, not here.
source "$(dirname "$0")/../lib.sh"
# ASan keeps freed memory in a quarantine (256 MiB by default), which would
# count in the broker's peak RSS: keep it small here.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=16"
LOAD="$LAKEHOUSE_SOURCE/tests/tools/http_load.py"

PORT=$(free_port) || { fail "port" "no free port"; exit 1; }
export LAKEHOUSE_LISTEN="127.0.0.1:$PORT"
B="http://127.0.0.1:$PORT"
MEM_MIB=32
export LAKEHOUSE_QUERY_MAX_MEMORY_MIB=$MEM_MIB LAKEHOUSE_QUERY_MAX_CONCURRENT=1 \
       LAKEHOUSE_QUERY_TIMEOUT_MS=3000 LAKEHOUSE_HTTP_REQUEST_TIMEOUT_MS=3000
trap 'stop_serves; cleanup' EXIT
J='Content-Type: application/json'
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start_group || { fail "start" "group did not start"; exit 1; }
wait_until 10 curl -sf -o /dev/null "$B/" || { fail "broker serves" "nothing on $B"; exit 1; }
BROKER=$GROUP_PID
# the servers of the limit checks start now: later, the load's many client
# sockets may hold a free port for a while
LPORT=$(free_port)
serve "$T/http-limit.log" LAKEHOUSE_LISTEN="127.0.0.1:$LPORT" LAKEHOUSE_HTTP_MAX_CONNECTIONS=50 \
      LAKEHOUSE_HTTP_REQUEST_TIMEOUT_MS=60000 || fail "limit server" "$(cat "$T/http-limit.log")"
IPORT=$(free_port)
serve "$T/http-ip.log" LAKEHOUSE_LISTEN="127.0.0.1:$IPORT" LAKEHOUSE_HTTP_MAX_CONNECTIONS_PER_IP=10 \
    || fail "per-ip server" "$(cat "$T/http-ip.log")"

# ---- queries have a memory bound ----
q() { curl -s -o "$T/resp" -w '%{http_code}' -G "$B/consumption/query" --data-urlencode "sql=$1"; }
check_eq "randomblob(900000000) refused 422" 422 "$(q 'SELECT length(randomblob(900000000))')"
grep -q 'query_max_memory_mib' "$T/resp" && pass "the refusal names query_max_memory_mib" || fail "the refusal names query_max_memory_mib" "$(cat "$T/resp")"
check_eq "a huge group_concat refused 422" 422 "$(q 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 10) SELECT length(group_concat(hex(randomblob(1000000)))) FROM c')"
check_eq "a huge zeroblob refused 422" 422 "$(q 'SELECT zeroblob(2000000000)')"
check_eq "a small query still runs" 200 "$(q 'SELECT length(randomblob(1000000)) AS n')"
rc=0; out=$(lakehouse query 'SELECT length(randomblob(900000000))' 2>&1) || rc=$?
case "$rc:$out" in 1:*query_max_memory_mib*) pass "lakehouse query: same bound";; *) fail "lakehouse query: same bound" "rc=$rc $out";; esac
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$BROKER/status")
# README (Query): peak RSS <= 256 MiB + query_max_concurrent x 2 x query_max_memory_mib
bound=$(( (256 + 1 * 2 * MEM_MIB) * 1024 ))
if [ -n "$hwm" ] && [ "$hwm" -lt "$bound" ]; then pass "broker peak RSS ${hwm} kB under the bound ${bound} kB"
else fail "broker peak RSS under the bound" "VmHWM=$hwm kB, bound $bound kB"; fi
# one slot: a second query while the first runs is answered 503
( q 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c' >"$T/slow.code" ) &
slow=$!
sleep 1
h=$(curl -s -D - -o /dev/null -G "$B/consumption/query" --data-urlencode 'sql=SELECT 1' | tr -d '\r')
case "$h" in *" 503 "*"Retry-After: "*) pass "query_max_concurrent: 503 + Retry-After";; *) fail "query_max_concurrent: 503 + Retry-After" "$h";; esac
wait "$slow"
check_eq "the long query ran out of time" 504 "$(cat "$T/slow.code")"

# ---- 1,000 concurrent keep-alive producers ----
check_eq "create load/ev" 201 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$J" "$B/endpoints" -d '{"domain":"load","name":"ev","mode":"MANUAL","columns":[{"name":"id","type":"integer","primary_key":true},{"name":"v","type":"string"}]}')"
python3 "$LOAD" producers --url "$B" --path /ingest/load/ev/batch --connections 1000 --requests 3 --records 20 --timeout 60 >"$T/producers.json" 2>"$T/producers.err"
r=$(cat "$T/producers.json")
check_eq "1000 producers: every batch 200" 3000 "$(echo "$r" | jget "['ok']")"
check_eq "1000 producers: none timed out" 0 "$(echo "$r" | jget "['timeouts']")"
check_eq "1000 producers: none refused" 0 "$(echo "$r" | jget "['refused']")"
wait_eq 180 60000 sql_silver load "SELECT count(*) FROM ev" && pass "every acked record in silver" || fail "every acked record in silver" "$WAIT_LAST"

# ---- stalled and trickling clients ----
python3 "$LOAD" stall --url "$B" --connections 1000 --hold 7 >"$T/stall.json" 2>"$T/stall.err"
r=$(cat "$T/stall.json")
check_eq "1000 stalled: all opened" 1000 "$(echo "$r" | jget "['opened']")"
[ "$(echo "$r" | jget "['probes']")" -ge 1 ] && [ "$(echo "$r" | jget "['probes']")" = "$(echo "$r" | jget "['probe_ok']")" ] \
    && pass "1000 stalled: a well-behaved client gets every answer" || fail "1000 stalled: a well-behaved client gets every answer" "$r"
check_eq "1000 stalled: all closed after http_request_timeout_ms" 1000 "$(echo "$r" | jget "['closed_by_server']")"
python3 "$LOAD" stall --trickle --url "$B" --connections 200 --hold 7 >"$T/trickle.json" 2>"$T/trickle.err"
r=$(cat "$T/trickle.json")
[ "$(echo "$r" | jget "['probes']")" = "$(echo "$r" | jget "['probe_ok']")" ] \
    && pass "200 trickling: a well-behaved client gets every answer" || fail "200 trickling: a well-behaved client gets every answer" "$r"
check_eq "200 trickling: all closed after http_request_timeout_ms" 200 "$(echo "$r" | jget "['closed_by_server']")"
check_eq "still serving" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/")"

# ---- connection limits ----
python3 "$LOAD" stall --url "http://127.0.0.1:$LPORT" --connections 100 --hold 15 >"$T/limit.json" 2>&1 &
stall_pid=$!
busy() { curl -s -D - -o /dev/null --max-time 5 "http://127.0.0.1:$LPORT/" | tr -d '\r' >"$T/busy.h"; grep -q ' 503 ' "$T/busy.h"; }
wait_until 12 busy
h=$(cat "$T/busy.h")
case "$h" in *" 503 "*"Retry-After: 1"*) pass "http_max_connections: beyond it 503 + Retry-After";; *) fail "http_max_connections: beyond it 503 + Retry-After" "$h";; esac
wait "$stall_pid"
r=$(cat "$T/limit.json")
[ "$(echo "$r" | jget "['closed_by_server']")" -ge 50 ] && pass "http_max_connections: connections beyond it are closed" \
    || fail "http_max_connections: connections beyond it are closed" "$r"
python3 "$LOAD" stall --url "http://127.0.0.1:$IPORT" --connections 30 --hold 2 >"$T/ip.json" 2>&1
r=$(cat "$T/ip.json")
[ "$(echo "$r" | jget "['closed_by_server']")" -ge 20 ] && pass "http_max_connections_per_ip: connections beyond it are closed" \
    || fail "http_max_connections_per_ip: connections beyond it are closed" "$r"

stop_serves
stop_group || fail "group stop" "non-zero exit"
if grep -q "ERROR: AddressSanitizer\|runtime error" "$T"/http*.log; then fail "sanitizers" "$(grep -h -A5 'Sanitizer\|runtime error' "$T"/http*.log | head -20)"; else pass "no sanitizer reports"; fi
finish
