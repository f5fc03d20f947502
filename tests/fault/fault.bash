# tests/fault/fault.bash - helpers shared by the fault tests (sourced after
# tests/lib.sh; not a test itself, hence not *.sh).
#
#   fault_setup_events          endpoint fault/events (no primary key) and the
#                               dependency job fault/by_producer
#   producer_loop P CHUNK       send chunks of CHUNK records until $T/stop
#                               exists; a chunk is re-sent with the same batch
#                               ids until `lakehouse send` exits 0 (acked)
#   proc_pid NAME               pid from run/NAME.pid
#   group_restart               kill -9 the broker, check its children exit
#                               by themselves (PR_SET_PDEATHSIG), start again
#   check_final TOTAL           the end checks: silver exactly once, gold equals
#                               a recomputation, no *.tmp, integrity_check
#   vmrss PID                   resident set size in kB
#
# The Iceberg export is off here: it rewrites whole tables in the processor's
# loop and writes files these tests neither check nor leave room for (the
# disk-full test's tmpfs); its own crash test is tests/integration/iceberg_crash.sh.

export LAKEHOUSE_ICEBERG_EXPORT=off

fault_setup_events() {
    cat >"$T/events.json" <<'JSON'
{"domain": "fault", "name": "events", "mode": "MANUAL",
 "description": "append-only (no primary key): a duplicate shows as a second row",
 "columns": [
  {"name": "rid", "type": "string", "required": true},
  {"name": "producer", "type": "integer", "required": true},
  {"name": "n", "type": "integer", "required": true},
  {"name": "payload", "type": "string"}]}
JSON
    cat >"$T/by_producer.sql" <<'SQL'
-- job: by_producer
-- domain: fault
-- write_mode: overwrite
-- schedule: dependency
SELECT producer, count(*) AS records, sum(n) AS total FROM fault.silver.events GROUP BY producer
SQL
    lakehouse endpoint create "$T/events.json" >/dev/null &&
        lakehouse job add "$T/by_producer.sql" >/dev/null
}

# producer_loop P CHUNK: chunk c holds records "p<P>-c<c>-<i>"; the number of
# acknowledged chunks is kept in $T/acked.<P>.
producer_loop() {
    local p=$1 size=$2 c=0 pad
    pad=$(printf '%0100d' 0)
    echo 0 >"$T/acked.$p"
    while [ ! -e "$T/stop" ]; do
        c=$((c + 1))
        seq 1 "$size" | awk -v p="$p" -v c="$c" -v pad="$pad" \
            '{printf "{\"rid\":\"p%d-c%d-%d\",\"producer\":%d,\"n\":%d,\"payload\":\"%s\"}\n", p, c, $1, p, $1, pad}' \
            >"$T/chunk.$p"
        local tries=0
        until lakehouse send fault/events --batch-size 100 --window 4 --timeout-ms 2000 \
                --id-prefix "p$p-c$c" "$T/chunk.$p" >>"$T/send.$p.out" 2>&1; do
            tries=$((tries + 1))
            [ "$tries" -ge 200 ] && { echo "producer $p gave up on chunk $c" >>"$T/send.$p.out"; return 1; }
            sleep 0.2
        done
        echo "$c" >"$T/acked.$p"
    done
}

proc_pid() { cat "$LAKEHOUSE_DATA/run/$1.pid" 2>/dev/null; }

# is_running PID: alive and not a zombie
is_running() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
        ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# wait_new_pid NAME OLDPID: a running process with another pid wrote NAME.pid
wait_new_pid() {
    local name=$1 old=$2
    wait_until 60 sh -c "p=\$(cat '$LAKEHOUSE_DATA/run/$name.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != '$old' ] && kill -0 \$p"
}

LINGER_FAILURES=0
BROKER_KILLS=0
# group_restart: kill -9 the broker; each child must exit on its own (it got
# PR_SET_PDEATHSIG(SIGTERM)); then start the group again.
group_restart() {
    local kids=() name pid
    for name in ingest processor transformer; do
        pid=$(proc_pid "$name")
        [ -n "$pid" ] && kids+=("$pid")
    done
    kill -9 "$GROUP_PID" 2>/dev/null
    wait "$GROUP_PID" 2>/dev/null
    GROUP_PID=""
    BROKER_KILLS=$((BROKER_KILLS + 1))
    for pid in "${kids[@]}"; do
        if ! wait_until 60 not_running "$pid"; then
            LINGER_FAILURES=$((LINGER_FAILURES + 1))
            echo "child $pid still alive 60 s after its broker was killed" >&2
            kill -9 "$pid" 2>/dev/null
        fi
    done
    local old_i old_p old_t
    old_i=$(proc_pid ingest); old_p=$(proc_pid processor); old_t=$(proc_pid transformer)
    lakehouse-broker --data "$LAKEHOUSE_DATA" >>"$T/group.log" 2>&1 &
    GROUP_PID=$!
    wait_new_pid ingest "$old_i" && wait_new_pid processor "$old_p" &&
        wait_new_pid transformer "$old_t"
}

not_running() { ! is_running "$1"; }

vmrss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

silver_count() { sql_silver fault "SELECT count(*) FROM events;" 2>/dev/null; }
gold_now() { sql_gold fault "SELECT producer, records, total FROM by_producer ORDER BY producer;" 2>/dev/null; }
gold_expected() {
    sql_silver fault "SELECT producer, count(*), sum(n) FROM events GROUP BY producer ORDER BY producer;" 2>/dev/null
}
gold_matches() { [ -n "$(gold_expected)" ] && [ "$(gold_now)" = "$(gold_expected)" ]; }

# check_final TOTAL PREFIX
check_final() {
    local total=$1 pfx=$2
    if wait_eq 180 "$total" silver_count; then pass "$pfx: silver holds all $total acknowledged records"; else
        fail "$pfx: silver holds all $total acknowledged records" "got $WAIT_LAST"; fi
    check_eq "$pfx: no duplicate in silver" "$total" \
        "$(sql_silver fault "SELECT count(DISTINCT rid) FROM events;")"
    if wait_until 120 gold_matches; then pass "$pfx: gold equals a recomputation from silver"; else
        fail "$pfx: gold equals a recomputation from silver" "gold '$(gold_now | tr '\n' ' ')' silver '$(gold_expected | tr '\n' ' ')'"; fi
    check_eq "$pfx: no half-written bronze file" "" "$(find "$LAKEHOUSE_DATA/bronze" -name '*.tmp')"
    check_eq "$pfx: no quarantined file" 0 "$(sql_silver fault "SELECT count(*) FROM _quarantine;")"
    local db bad=""
    for db in "$LAKEHOUSE_DATA"/catalog.db "$LAKEHOUSE_DATA"/silver/*.db "$LAKEHOUSE_DATA"/gold/*.db \
              "$LAKEHOUSE_DATA"/landing/_state.db; do
        [ -f "$db" ] || continue
        [ "$(sqlite3 "file:$db?mode=ro" 'PRAGMA integrity_check;' 2>&1)" = ok ] || bad="$bad $db"
    done
    check_eq "$pfx: PRAGMA integrity_check ok on every database" "" "$bad"
}

# send_chunk NAME COUNT: make COUNT records "NAME-<i>" and send them until
# acknowledged (same batch ids on every attempt). Adds COUNT to $T/total.
send_chunk() {
    local name=$1 count=$2 tries=0 pad
    pad=$(printf '%0100d' 0)
    seq 1 "$count" | awk -v c="$name" -v pad="$pad" \
        '{printf "{\"rid\":\"%s-%d\",\"producer\":9,\"n\":%d,\"payload\":\"%s\"}\n", c, $1, $1, pad}' \
        >"$T/chunk.$name"
    until lakehouse send fault/events --batch-size 50 --timeout-ms 2000 \
            --id-prefix "$name" "$T/chunk.$name" >>"$T/send.$name.out" 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -ge 100 ] && return 1
        sleep 0.3
    done
    echo $(( $(cat "$T/total" 2>/dev/null || echo 0) + count )) >"$T/total"
}
