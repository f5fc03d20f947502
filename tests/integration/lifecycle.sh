#!/usr/bin/env bash
# lifecycle.sh - behaviours of the group that the other tests pass over:
#  - ingest seals a spool file into bronze when it reaches seal_max_bytes,
#    long before seal_max_age_ms (seal_quiet_ms off), and a spool that has
#    gone quiet at once (seal_quiet_ms on, its default);
#  - group commit: many batches in flight share one fdatasync (the stats
#    count fewer commit groups than batches);
#  - Ctrl-C (SIGINT, how `make run` is stopped) stops the group in order
#    with status 0, ingest sealing what its spool still held;
#  - an overwrite job's table is replaced atomically: a reader polling it
#    during runs sees only whole tables;
#  - the supervisor's restart delay doubles for a worker that keeps dying,
#    up to restart_backoff_max_ms.
source "$(dirname "$0")/../lib.sh"
B="http://$LAKEHOUSE_LISTEN"

cat >"$T/lifecycle.json" <<'JSON'
{"seal_max_bytes": 20000, "seal_max_age_ms": 600000, "seal_quiet_ms": 0,
 "restart_backoff_min_ms": 100, "restart_backoff_max_ms": 300}
JSON
cat >"$T/events.json" <<'JSON'
{"domain":"life","name":"events","mode":"MANUAL",
 "columns":[{"name":"id","type":"integer","primary_key":true},{"name":"payload","type":"string"}]}
JSON
start_group --config "$T/lifecycle.json" || { fail "start" "group did not start"; exit 1; }
# a clean start logs no warning (`lakehouse status` would show it as the last
# one): the HTTP API answering means the broker's start is over
wait_until 20 curl -sf "$B/metrics"
check_eq "clean start logs no warning" "" "$(grep -E 'level=(warn|error)' "$T/group.log")"
check_cmd "endpoint create" lakehouse endpoint create "$T/events.json"

metric() { curl -s "$B/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
bronze_files() { find "$LAKEHOUSE_DATA/bronze/life/events" -name '*.ndjson.lz4' 2>/dev/null | wc -l; }
bronze_records() { find "$LAKEHOUSE_DATA/bronze/life/events" -name '*.ndjson.lz4' -exec lz4cat {} + 2>/dev/null | wc -l; }

# ---- seal by size; group commit ----
wait_until 20 bash -c "[ -n \"\$(curl -s '$B/metrics' | awk '\$1 == \"lakehouse_ingest_batches_total\" { print \$2 }')\" ]"
batches0=$(metric lakehouse_ingest_batches_total); groups0=$(metric lakehouse_ingest_group_commits_total)
pad=$(printf '%080d' 0)
seq 1 2005 | awk -v pad="$pad" '{ printf "{\"id\":%d,\"payload\":\"%s\"}\n", $1, pad }' >"$T/events.ndjson"
out=$(lakehouse send life/events --batch-size 10 --window 50 "$T/events.ndjson" 2>&1); rc=$?
check_eq "send 2005 records in 201 batches" 0 "$rc"
# 2005 records of ~250 bytes (with metadata) make 25 files of 20 kB and 5
# records left in the spool; the age limit is 10 min
if wait_until 20 bash -c "[ \$(find '$LAKEHOUSE_DATA/bronze/life/events' -name '*.ndjson.lz4' | wc -l) -ge 10 ]"; then
    pass "sealed by size ($(bronze_files) bronze files at once)"
else
    fail "sealed by size" "$(bronze_files) bronze files"
fi
check_eq "nothing sealed by age: the rest waits in the spool" 1 \
    "$(awk -v b="$(metric 'lakehouse_spool_bytes{domain="life",table="events"}')" 'BEGIN { print (b > 0 && b < 20000) ? 1 : 0 }')"
wait_eq 20 201 bash -c "echo \$(( \$(curl -s '$B/metrics' | awk '\$1 == \"lakehouse_ingest_batches_total\" { print \$2 }') - $batches0 ))"
check_eq "ingest counted 201 batches" 201 "$WAIT_LAST"
groups=$(( $(metric lakehouse_ingest_group_commits_total) - groups0 ))
if [ "$groups" -ge 1 ] && [ "$groups" -lt 201 ]; then pass "group commit: 201 batches in $groups fdatasync groups"; else
    fail "group commit: fewer fdatasync groups than batches" "$groups groups for 201 batches"; fi

# ---- overwrite is atomic: readers see the old or the new table, never a part ----
printf -- '-- job: all_events\n-- domain: life\n-- write_mode: overwrite\nSELECT id, payload FROM life.silver.events\n' >"$T/all.sql"
check_cmd "job add (overwrite)" lakehouse job add "$T/all.sql"
silver_n() { sql_silver life "SELECT count(*) FROM events;" 2>/dev/null; }
gold_n() { sql_gold life "SELECT count(*) FROM all_events;" 2>/dev/null; }
wait_eq 30 2000 silver_n || fail "silver has the sealed records" "got '$WAIT_LAST'"
wait_eq 30 2000 gold_n || fail "gold has every silver row" "got '$WAIT_LAST'"
( for _ in $(seq 1 8); do lakehouse job run life/all_events --wait >/dev/null 2>&1; done; touch "$T/runs.done" ) &
runner=$!
: >"$T/seen"
while [ ! -e "$T/runs.done" ]; do gold_n >>"$T/seen"; done
wait "$runner"
check_eq "8 overwrite runs recorded" 8 "$(lakehouse job executions life/all_events 2>/dev/null | grep -c SUCCEEDED | awk '{ print ($1 >= 8) ? 8 : $1 }')"
check_eq "a reader during 8 overwrites always saw the whole table ($(wc -l <"$T/seen") reads)" "2000" \
    "$(sort -u "$T/seen" | tr '\n' ' ' | sed 's/ $//')"

# ---- restart backoff: 100, 200, 300 (capped), 300 ----
for round in 1 2 3 4; do
    pid=$(cat "$LAKEHOUSE_DATA/run/transformer.pid")
    kill -KILL "$pid"
    wait_until 20 bash -c "p=\$(cat '$LAKEHOUSE_DATA/run/transformer.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p" ||
        fail "transformer back after kill $round" "no new pid"
done
delays=$(grep -o 'child_died proc=transformer .*restart_in_ms=[0-9]*' "$T/group.log" | sed 's/.*restart_in_ms=//' | tr '\n' ' ')
check_eq "restart delay doubles up to the maximum" "100 200 300 300 " "$delays"

# ---- Ctrl-C: ordered stop, spool sealed ----
kill -INT "$GROUP_PID"
rc=0; wait "$GROUP_PID" || rc=$?
GROUP_PID=""
check_eq "SIGINT: group exits 0" 0 "$rc"
check_eq "SIGINT: ingest sealed its spool (every record in bronze)" 2005 "$(bronze_records)"
order=$(grep -o 'child_stopping proc=[a-z]*' "$T/group.log" | sed 's/.*=//' | tr '\n' ' ')
check_eq "SIGINT: workers stopped in order" "ingest processor transformer " "$order"

# ---- seal when quiet: the same size and age limits, seal_quiet_ms at its default ----
printf '{"seal_max_bytes": 20000, "seal_max_age_ms": 600000}\n' >"$T/quiet.json"
start_group --config "$T/quiet.json" || { fail "restart" "group did not start"; finish; exit 1; }
wait_until 20 curl -sf "$B/metrics"
seq 2006 2010 | awk '{ printf "{\"id\":%d,\"payload\":\"q\"}\n", $1 }' >"$T/quiet.ndjson"
check_cmd "send 5 records in one batch" lakehouse send life/events "$T/quiet.ndjson"
if wait_eq 20 2010 bronze_records; then pass "a spool gone quiet is sealed long before seal_max_age_ms"
else fail "a spool gone quiet is sealed long before seal_max_age_ms" "$WAIT_LAST records in bronze"; fi
wait_eq 20 2010 silver_n || fail "silver has the quiet spool's records" "got '$WAIT_LAST'"
finish
