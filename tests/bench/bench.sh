#!/usr/bin/env bash
# tests/bench/bench.sh - the driver of `make bench` / `make bench-check`.
#
#   tests/bench/bench.sh [--check] BUILD_DIR
#
# Runs every stage of the pipeline against a limit measured in the same run on
# the same records (see tests/bench/README.md for the method), prints one
# table and writes it to tests/bench/results.md. With --check it exits 1 when
# a target is missed. It never runs as part of `make test`.
#
# Sizes (environment):
#   BENCH_RECORDS   records of the main table (default 1000000; the issue's
#                   full size is 3000000). The update set is RECORDS/10
#                   existing ids + RECORDS/30 new ids (300k + 100k at 3M).
#   BENCH_STEADY_S  seconds of the steady run (default 30; full size 60)
#   BENCH_RATE      offered records/s of the steady run (default 100000)
#   BENCH_PRODUCERS producers of the throughput runs (default 4)
#   BENCH_PROBES    1,000-row update batches per table size (default 10)
#   BENCH_IDLE_TRIES single records posted to the idle group (default 60)
#   BENCH_MODEL_SCALE TPC-H replicas of the model phase (default 100, about
#                   860k rows; 0 skips the phase; tests/bench/model_phase.sh
#                   runs it alone)
#   BENCH_MODEL_FULL=1 the model phase also rebuilds with --profile full and
#                   times a second 1 % batch through it (a comparison row)
#   BENCH_EXPORT=0  skips the Iceberg export phase (tests/bench/export_phase.sh
#                   runs it alone: the initial and incremental export of the
#                   main table, and the export's share during a steady load
#                   of BENCH_EXPORT_STEADY_S, default BENCH_STEADY_S, exported
#                   every BENCH_EXPORT_EVERY_S, default 10)
#   BENCH_PROFILE=1 sample ingest, processor and broker with `perf record`
#                   (cpu-clock) and append the top symbols to the results
#   BENCH_DIR       work directory (default <build>/bench-run, removed first)
#   BENCH_CACHE     where vega-datasets is cached (~/.cache/lakehouse-bench)
set -u
CHECK=0
if [ "${1:-}" = "--check" ]; then CHECK=1; shift; fi
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$SRC/$BUILD/bin" 2>/dev/null && pwd) || { echo "bench: no $BUILD/bin (make build first)"; exit 2; }
RECORDS=${BENCH_RECORDS:-1000000}
STEADY_S=${BENCH_STEADY_S:-30}
RATE=${BENCH_RATE:-100000}
PRODUCERS=${BENCH_PRODUCERS:-4}
PROBES=${BENCH_PROBES:-10}
IDLE_TRIES=${BENCH_IDLE_TRIES:-60}
MODEL_SCALE=${BENCH_MODEL_SCALE:-100}
EXPORT=${BENCH_EXPORT:-1}
PROFILE=${BENCH_PROFILE:-0}
W=${BENCH_DIR:-$SRC/$BUILD/bench-run}
CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-bench}
VEGA=3.2.1
RESULTS=$SRC/tests/bench/results.md
KEPT=$(sed -n '/^## Profile of the update merge$/,$p' "$RESULTS" 2>/dev/null)
SMALL=30000
T_START=$(date +%s)
# machine busy time (jiffies: user+nice+system+irq+softirq+steal) and load at the start,
# to report how much CPU other processes used while the bench ran (a noisy run shows it)
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
BUSY_START=$(cpu_busy)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 2; }

# ---- data: flights-200k.json (and flights-20k.json for date/origin/destination)
mkdir -p "$CACHE"
if [ ! -s "$CACHE/flights-200k.json" ] || [ ! -s "$CACHE/flights-20k.json" ]; then
    command -v npm >/dev/null || die "npm is needed once to fetch vega-datasets@$VEGA (make deps)"
    log "fetching vega-datasets@$VEGA with npm pack into $CACHE"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "vega-datasets@$VEGA" >/dev/null) || die "npm pack failed"
    tar -xzf "$tmp/vega-datasets-$VEGA.tgz" -C "$tmp" package/data/flights-200k.json package/data/flights-20k.json ||
        die "unexpected package layout"
    mv "$tmp/package/data/flights-200k.json" "$tmp/package/data/flights-20k.json" "$CACHE/"
    rm -rf "$tmp"
fi
S200=$CACHE/flights-200k.json
S20=$CACHE/flights-20k.json

# The figures measure ingest, merge and transforms: the Iceberg export (which
# runs in the processor's loop between merges) is off for every group here
# but the export phase's own (tests/bench/export_phase.sh).
export LAKEHOUSE_ICEBERG_EXPORT=off

rm -rf "$W"
mkdir -p "$W"
PIDS=()
# 1-minute load average every 5 s during the run (includes the bench's own processes)
( while :; do cut -d' ' -f1 /proc/loadavg; sleep 5; done ) >"$W/load.samples" 2>/dev/null &
LOADS_PID=$!; PIDS+=("$LOADS_PID")
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT

# kv FILE KEY: a key=value line of a lakehouse-bench output
kv() { sed -n "s/^$2=//p" "$1" | tail -1; }
# hwm PID: peak RSS in MiB (VmHWM)
hwm() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# calc EXPR (awk arithmetic, prints with %.3g-ish formatting given)
calc() { awk "BEGIN { v = $1; printf \"%.${2:-2}f\", v }"; }

start_proc() { # start_proc NAME DATA [env...] -> pid in $LAST_PID
    local name=$1 data=$2; shift 2
    env "$@" "$BIN/lakehouse-$name" --data "$data" >>"$W/$name.$(basename "$data").log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}
stop_proc() { # stop_proc PID: SIGTERM and wait (ingest seals its spool)
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
wait_sock() { for _ in $(seq 1 200); do [ -S "$1" ] && return 0; sleep 0.05; done; die "no socket $1"; }
profile_start() { # profile_start NAME PID
    [ "$PROFILE" = 1 ] || return 0
    perf record -e cpu-clock -F 999 -p "$2" -o "$W/perf.$1.data" >/dev/null 2>&1 &
    PERF_PID=$!
}
profile_stop() {
    [ "$PROFILE" = 1 ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null
    wait "$PERF_PID" 2>/dev/null
}
silver_sql() { sqlite3 -batch -noheader "file:$1/silver/$2.db?mode=ro" "$3" 2>/dev/null; }
# merged_rows DATA TABLE: rows merged so far (sum over snapshots)
ledger_files() { silver_sql "$1" bench "SELECT count(*) FROM _ledger WHERE table_name='$2'"; }
bronze_files() { find "$1/bronze/bench/$2" -name '*.ndjson.lz4' 2>/dev/null | wc -l; }
wait_merged() { # wait_merged DATA TABLE TIMEOUT_S: every bronze file of the table in the ledger
    local deadline=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        [ "$(ledger_files "$1" "$2")" = "$(bronze_files "$1" "$2")" ] && return 0
        sleep 0.05
    done
    return 1
}
# merge_ms LOG TABLE [FROM_LINE]: sum of the processor's per-file merge times
merge_ms() { tail -n +"${3:-1}" "$1" | awk -v t="table=bench.$2" '$0 ~ / merged / && index($0, t" ") { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) s += substr($i, 4) } END { print s + 0 }'; }
merge_rows() { tail -n +"${3:-1}" "$1" | awk -v t="table=bench.$2" '$0 ~ / merged / && index($0, t" ") { for (i = 1; i <= NF; i++) if ($i ~ /^records=/) s += substr($i, 9) } END { print s + 0 }'; }

# endpoint_json TABLE: the endpoint of tests/bench/endpoint.json under the name TABLE
endpoint_json() { sed "s/\"name\": \"flights\"/\"name\": \"$1\"/" "$SRC/tests/bench/endpoint.json"; }
make_endpoints() { # make_endpoints DATA TABLE...
    local d=$1; shift
    for t in "$@"; do
        endpoint_json "$t" >"$W/ep_$t.json"
        "$BIN/lakehouse" --data "$d" endpoint create "$W/ep_$t.json" >/dev/null || die "endpoint $t"
    done
}
start_group() { # start_group DATA LOG TABLE: the supervised group with HTTP on $PORT, one endpoint
    mkdir -p "$1"
    PORT=$(( 20000 + RANDOM % 20000 ))
    LAKEHOUSE_LISTEN=127.0.0.1:$PORT "$BIN/lakehouse-broker" --data "$1" >>"$2" 2>&1 &
    GRP=$!; PIDS+=("$GRP")
    for s in ingest processor transformer; do wait_sock "$1/run/$s.sock"; done
    make_endpoints "$1" "$3"
}
load() { # load OUT DATA ARGS...: the native load generator
    local out=$1 data=$2; shift 2
    "$BIN/lakehouse-bench" load --data "$data" --src200 "$S200" --src20 "$S20" "$@" >"$out" 2>"$out.err" ||
        { cat "$out.err" >&2; die "load failed ($out)"; }
}

declare -A HWM
note_hwm() { # note_hwm NAME PID: keep the largest peak seen per process
    local v; v=$(hwm "$2")
    [ -n "$v" ] || return 0
    if [ -z "${HWM[$1]:-}" ] || awk "BEGIN{exit !($v > ${HWM[$1]})}"; then HWM[$1]=$v; fi
}

########################################################################
# Phase 1: durable ingest, JSON (ingest alone, so it has the machine)
D1=$W/main
mkdir -p "$D1"
start_proc ingest "$D1"; ING=$LAST_PID
wait_sock "$D1/run/ingest.sock"
make_endpoints "$D1" flights small
log "ingest JSON: $RECORDS records, $PRODUCERS producers, batches of 1000"
profile_start ingest_json "$ING"
load "$W/ingest_json.out" "$D1" --table bench/flights --set base --records "$RECORDS" \
    --producers "$PRODUCERS" --window 8 --parse-baseline
profile_stop
load "$W/small.out" "$D1" --table bench/small --set base --records "$SMALL" --producers 1
note_hwm ingest "$ING"
stop_proc "$ING"

# Phase 2: silver merge, inserts (processor alone) vs the bare loop
start_proc processor "$D1"; PROC=$LAST_PID
PLOG=$W/processor.main.log
log "merge inserts"
profile_start merge "$PROC"
wait_merged "$D1" flights 1800 || die "merge of the inserts did not finish"
wait_merged "$D1" small 600 || die "merge of the small table did not finish"
profile_stop
note_hwm processor "$PROC"
stop_proc "$PROC"
MERGE_INS_MS=$(merge_ms "$PLOG" flights)
MERGE_INS_ROWS=$(merge_rows "$PLOG" flights)
find "$D1/bronze/bench/flights" -name '*.ndjson.lz4' | sort >"$W/files_ins"
log "bare loop inserts"
"$BIN/lakehouse-bench" bare --out "$W/bare.db" --silver "$D1/silver/bench.db" --table flights \
    --list "$W/files_ins" >"$W/bare_ins.out" || die "bare loop failed"
# the second limit: the bare loop that also writes row history (_h_flights, same layout)
"$BIN/lakehouse-bench" bare --history --out "$W/bareh.db" --silver "$D1/silver/bench.db" --table flights \
    --list "$W/files_ins" >"$W/bareh_ins.out" || die "bare loop with history failed"

# Phase 3: updates (RECORDS/10 existing ids + RECORDS/30 new) through ingest, then merged
start_proc ingest "$D1"; ING=$LAST_PID
wait_sock "$D1/run/ingest.sock"
log "ingest updates"
load "$W/updates.out" "$D1" --table bench/flights --set updates --base-records "$RECORDS" \
    --producers "$PRODUCERS" --window 8
note_hwm ingest "$ING"
stop_proc "$ING"
PLINE=$(( $(wc -l <"$PLOG") + 1 ))
start_proc processor "$D1"; PROC=$LAST_PID
log "merge updates"
wait_merged "$D1" flights 1800 || die "merge of the updates did not finish"
note_hwm processor "$PROC"
MERGE_UPD_MS=$(merge_ms "$PLOG" flights "$PLINE")
MERGE_UPD_ROWS=$(merge_rows "$PLOG" flights "$PLINE")
find "$D1/bronze/bench/flights" -name '*.ndjson.lz4' | sort >"$W/files_all"
comm -13 "$W/files_ins" "$W/files_all" >"$W/files_upd"
log "bare loop updates"
"$BIN/lakehouse-bench" bare --out "$W/bare.db" --silver "$D1/silver/bench.db" --table flights \
    --list "$W/files_upd" >"$W/bare_upd.out" || die "bare loop failed"
"$BIN/lakehouse-bench" bare --history --out "$W/bareh.db" --silver "$D1/silver/bench.db" --table flights \
    --list "$W/files_upd" >"$W/bareh_upd.out" || die "bare loop with history failed"

# Phase 4: merge cost vs table size: 1,000-row update batches, one file each
start_proc ingest "$D1"; ING=$LAST_PID
wait_sock "$D1/run/ingest.sock"
log "merge cost vs table size ($PROBES batches per table)"
PLINE=$(( $(wc -l <"$PLOG") + 1 ))
for k in $(seq 1 "$PROBES"); do
    for t in small flights; do
        n=$SMALL; [ "$t" = flights ] && n=$RECORDS
        load "$W/probe.out" "$D1" --table "bench/$t" --set probe --records 1000 --base-records "$n" \
            --seed "$k" --producers 1 --window 1
        wait_merged "$D1" "$t" 60 || die "probe merge did not finish"
    done
done
probe_ms() { tail -n +"$PLINE" "$PLOG" | awk -v t="table=bench.$1" '$0 ~ / merged / && index($0, t" ") && / records=1000 / { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) print substr($i, 4) }' | sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : 0) }'; }
PROBE_SMALL_MS=$(probe_ms small)
PROBE_BIG_MS=$(probe_ms flights)
stop_proc "$ING"

# Phase 5: replay (rebuild of the whole table from bronze) vs the bare loop over the same files
log "replay"
RLINE=$(( $(wc -l <"$PLOG") + 1 ))
"$BIN/lakehouse" --data "$D1" replay bench/flights >"$W/replay.out" 2>&1 || { cat "$W/replay.out"; die "replay failed"; }
note_hwm processor "$PROC"
stop_proc "$PROC"
REPLAY_MS=$(tail -n +"$RLINE" "$PLOG" | awk '/ replayed / && /table=bench.flights / { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) s = substr($i, 4) } END { print s + 0 }')
find "$D1/bronze/bench/flights" -name '*.ndjson.lz4' | sort >"$W/files_replay"
REPLAY_ROWS=$(sqlite3 -batch -noheader "$D1/silver/bench.db" "SELECT coalesce(sum(records), 0) FROM _ledger WHERE table_name='flights'")
rm -f "$W/bare2.db"*
log "bare loop replay"
"$BIN/lakehouse-bench" bare --out "$W/bare2.db" --silver "$D1/silver/bench.db" --table flights \
    --list "$W/files_replay" >"$W/bare_replay.out" || die "bare loop failed"
rm -rf "$D1/spool" "$W"/bare*.db*

########################################################################
# Phase 6: msgpack and HTTP ingest (ingest + broker HTTP only)
D2=$W/wire
mkdir -p "$D2"
start_proc ingest "$D2"; ING=$LAST_PID
wait_sock "$D2/run/ingest.sock"
make_endpoints "$D2" mp http
log "ingest msgpack"
load "$W/ingest_mp.out" "$D2" --table bench/mp --set base --records "$RECORDS" \
    --producers "$PRODUCERS" --window 8 --format msgpack --parse-baseline
note_hwm ingest "$ING"
PORT=$(( 20000 + RANDOM % 20000 ))
# the broker only serves HTTP here (--no-supervise: ingest already runs)
LAKEHOUSE_LISTEN=127.0.0.1:$PORT "$BIN/lakehouse-broker" --data "$D2" --no-supervise >>"$W/broker.wire.log" 2>&1 &
BRK=$!; PIDS+=("$BRK")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.05; done
log "ingest HTTP"
profile_start http "$BRK"
"$BIN/lakehouse-bench" http --port "$PORT" --table bench/http --src200 "$S200" --src20 "$S20" \
    --records "$RECORDS" --connections "$PRODUCERS" >"$W/http.out" 2>"$W/http.out.err" ||
    { cat "$W/http.out.err" >&2; die "HTTP load failed"; }
profile_stop
# many producers: 1,000 keep-alive connections against 4, same batches of 100
log "ingest HTTP, 4 and 1,000 producers, batches of 100"
"$BIN/lakehouse-bench" http --port "$PORT" --table bench/http --src200 "$S200" --src20 "$S20" \
    --records "$RECORDS" --batch 100 --connections 4 >"$W/http4.out" 2>"$W/http4.out.err" ||
    { cat "$W/http4.out.err" >&2; die "HTTP load (4 producers) failed"; }
"$BIN/lakehouse-bench" http --port "$PORT" --table bench/http --src200 "$S200" --src20 "$S20" \
    --records "$RECORDS" --batch 100 --connections 1000 >"$W/http1000.out" 2>"$W/http1000.out.err" ||
    { cat "$W/http1000.out.err" >&2; die "HTTP load (1,000 producers) failed"; }
"$BIN/lakehouse-bench" http --port "$PORT" --table bench/http --src200 "$S200" --src20 "$S20" \
    --records "$RECORDS" --batch 100 --connections 1000 --rate "$RATE" >"$W/http1000r.out" 2>"$W/http1000r.out.err" ||
    { cat "$W/http1000r.out.err" >&2; die "HTTP load (1,000 producers, paced) failed"; }
note_hwm broker "$BRK"
note_hwm ingest "$ING"
stop_proc "$BRK"
stop_proc "$ING"
rm -rf "$D2"

########################################################################
# Phase 7: steady load on the whole supervised group: ack latency, freshness, memory
D3=$W/steady
start_group "$D3" "$W/group.log" steady
# The accumulating incremental form of README "Incremental transforms": each run
# reads the change feed since its last success and adds the signed counts and
# sums per (origin, day) to the stored groups (a group whose count comes to 0 is
# deleted), so a run costs the change rows, never the whole silver table.
cat >"$W/steady_by_origin.sql" <<'EOF'
-- job: steady_by_origin
-- domain: bench
-- unique_key: origin, day
-- incremental: true
-- accumulate: flights, delay_sum, delay_n
-- schedule: dependency
SELECT origin, substr(date, 1, 10) AS day,
       sum(CASE WHEN _change_type IN ('insert', 'update_after') THEN 1 ELSE -1 END) AS flights,
       sum(CASE WHEN _change_type IN ('insert', 'update_after') THEN delay ELSE -delay END)
           AS delay_sum,
       sum(CASE WHEN delay IS NULL THEN 0
                WHEN _change_type IN ('insert', 'update_after') THEN 1 ELSE -1 END) AS delay_n
FROM bench.silver.steady@changes GROUP BY 1, 2
EOF
"$BIN/lakehouse" --data "$D3" job add "$W/steady_by_origin.sql" >/dev/null || die "job add failed"
pid_of() { cat "$D3/run/$1.pid" 2>/dev/null; }
# RSS and CPU samples each second: "unix_ms name kib cpu_ticks" (aligned with the load's own
# start below); "machine" is every core's busy ticks (/proc/stat), to show how much of the
# machine the steady load leaves
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
(
    while :; do
        t=$(date +%s%3N)
        for s in broker ingest processor transformer; do
            p=$(pid_of "$s"); [ -n "$p" ] && echo "$t $s $(rss_kib "$p") $(cpu_ticks "$p")"
        done
        awk -v t="$t" '$1 == "cpu" { print t, "machine", 0, $2 + $3 + $4 + $7 + $8 }' /proc/stat
        sleep 1
    done
) >"$W/rss.samples" 2>/dev/null &
SAMPLER=$!; PIDS+=("$SAMPLER")
log "steady: $RATE rec/s for ${STEADY_S}s on the whole group (freshness, ack latency, memory)"
load "$W/steady.out" "$D3" --table bench/steady --set steady --rate "$RATE" --seconds "$STEADY_S" \
    --window 64 --poll-silver steady --poll-gold steady_by_origin --drain-s 60
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
for s in broker ingest processor transformer; do p=$(pid_of "$s"); [ -n "$p" ] && note_hwm "$s" "$p"; done
# growth: mean RSS of the last 10 s of the load vs its first 10 s, in seconds from the moment
# the generator started sending (its bodies are built first, while the group idles)
LOAD_T0=$(kv "$W/steady.out" start_unix_ms)
growth() {
    awk -v s="$1" -v end="$STEADY_S" -v t0="$LOAD_T0" '{ $1 = ($1 - t0) / 1000 }
        $2 == s && $1 >= 0 && $1 < 10 { a += $3; na++ } $2 == s && $1 >= end - 10 && $1 < end { b += $3; nb++ }
        END { if (na && nb) printf "%.1f %.1f %.1f", (b / nb - a / na) * 100 / (a / na), a / na / 1024, b / nb / 1024; else print "n/a" }' "$W/rss.samples"
}
# mean RSS (MiB) of each 10 s of the load: whether growth is warm-up (it levels off) or a leak
rss_series() {
    awk -v s="$1" -v end="$STEADY_S" -v t0="$LOAD_T0" '{ $1 = ($1 - t0) / 1000 }
        $2 == s && $1 >= 0 && $1 < end { w = int($1 / 10); a[w] += $3; n[w]++; if (w > m) m = w }
        END { for (i = 0; i <= m; i++) if (n[i]) printf "%s%.1f", (i ? " " : ""), a[i] / n[i] / 1024 }' "$W/rss.samples"
}
# cores each process used during the load (CPU ticks over the load's seconds)
cores_used() {
    awk -v s="$1" -v end="$STEADY_S" -v t0="$LOAD_T0" -v hz="$(getconf CLK_TCK)" '{ $1 = ($1 - t0) / 1000 }
        $2 == s && $1 >= 0 && $1 <= end { if (!seen) { t1 = $1; c1 = $4; seen = 1 } t2 = $1; c2 = $4 }
        END { if (seen && t2 > t1) printf "%.2f", (c2 - c1) / hz / (t2 - t1); else print "?" }' "$W/rss.samples"
}
ST_CORES=""
for s in ingest processor transformer broker machine; do ST_CORES="$ST_CORES $s $(cores_used "$s"),"; done
ST_RSS=""
for s in broker ingest processor transformer; do ST_RSS="$ST_RSS $s [$(rss_series "$s")];"; done
kill -TERM "$GRP"; wait "$GRP" 2>/dev/null
# what the steady run's stages cost: the processor's per-file merges of bench.steady and
# the transformer's runs of the gold job (ms each, rows each run wrote, change rows read)
stats() { sort -n | awk '{ a[NR] = $1; s += $1 } END { if (NR) printf "n=%d mean=%.0f p50=%s p99=%s max=%s", NR, s / NR, a[int((NR + 1) / 2)], a[int((NR * 99 + 99) / 100)], a[NR]; else print "n=0" }'; }
field() { awk -v k="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1) }'; }
ST_MERGE_MS=$(grep ' merged ' "$W/group.log" | grep 'table=bench.steady ' | field ms | stats)
ST_MERGE_REC=$(grep ' merged ' "$W/group.log" | grep 'table=bench.steady ' | field records | stats)
ST_GOLD_MS=$(grep ' run_ok ' "$W/group.log" | grep 'job=bench.steady_by_origin ' | field ms | stats)
ST_GOLD_ROWS=$(grep ' run_ok ' "$W/group.log" | grep 'job=bench.steady_by_origin ' | field rows | stats)
ST_GOLD_CHG=$(grep ' run_changes ' "$W/group.log" | grep 'job=bench.steady_by_origin ' |
    grep -o '"rows":[0-9]*' | cut -d: -f2 | stats)
GOLD_GROUPS=$(sqlite3 -batch -noheader "file:$D3/gold/bench.db?mode=ro" 'SELECT count(*) FROM steady_by_origin' 2>/dev/null)

########################################################################
# Phase 8: idle freshness: one record at a time over HTTP to an idle group, then the
# query API polled until silver (and a dependency gold job counting silver's rows) has it
D4=$W/idle
start_group "$D4" "$W/idle.log" idle
cat >"$W/idle_count.sql" <<'EOF'
-- job: idle_count
-- domain: bench
-- schedule: dependency
SELECT count(*) AS n FROM bench.silver.idle
EOF
"$BIN/lakehouse" --data "$D4" job add "$W/idle_count.sql" >/dev/null || die "job add failed"
log "idle freshness: $IDLE_TRIES single records over HTTP"
python3 "$SRC/tests/bench/idle.py" --port "$PORT" --domain bench --endpoint idle \
    --gold-table idle_count --tries "$IDLE_TRIES" >"$W/idle.out" 2>"$W/idle.out.err" ||
    log "idle freshness: $(cat "$W/idle.out.err")"
kill -TERM "$GRP"; wait "$GRP" 2>/dev/null
IDLE_FILES=$(bronze_files "$D4" idle)

########################################################################
# Phase 9: the data model: TPC-H x MODEL_SCALE into silver, `lakehouse model apply`
# of tests/data/tpch/tpch.yaml (full build), then a 1 % update batch (incremental
# build); the whole phase is tests/bench/model_phase.sh
model_phase() {
    [ "$MODEL_SCALE" -gt 0 ] || return 0
    log "model: TPC-H x$MODEL_SCALE, full build and a 1 % update batch"
    BENCH_MODEL_SCALE=$MODEL_SCALE "$SRC/tests/bench/model_phase.sh" "$BUILD" "$W/model" \
        >"$W/model.out" 2>"$W/model.err" || log "model phase failed: $(tail -3 "$W/model.err")"
}
# model_rows: its rows of the table (from the phase's key=value output)
model_rows() {
    [ "$MODEL_SCALE" -gt 0 ] || return 0
    local M=$W/model.out rows full ratio
    mkv() { local v; v=$(kv "$M" "$1"); echo "${v:-0}"; }
    msec() { calc "$(mkv "$1") / 1000" 1; }
    rows=$(mkv rows); full=$(mkv full_run_ms); ratio=$(mkv ratio)
    [ "$full" -gt 0 ] || ratio=1 # the phase failed: both rows are missed
    row "model TPC-H x$MODEL_SCALE ($(k "$rows")k rows, $(mkv jobs) jobs): full build, wall; sum of runs" \
        "$(msec full_wall_ms) s; $(msec full_run_ms) s in $(mkv full_runs) runs" "-" "-" \
        "every run succeeded" "$(( $(le "$(mkv failed)" 0) & $(ge "$full" 1) ))"
    row "model, 1 % update batch ($(mkv update_rows) rows): incremental build, wall; sum of runs" \
        "$(msec inc_wall_ms) s; $(msec inc_run_ms) s in $(mkv inc_runs) runs" \
        "full build's runs $(msec full_run_ms) s" "$ratio" "≤ 0.05" "$(le "$ratio" 0.05)"
    [ -n "$(kv "$M" full_profile_update_run_ms)" ] || return 0
    row "model --profile full (every job a full rebuild): rebuild; a second 1 % batch, sums of runs" \
        "$(msec full_profile_build_run_ms) s; $(msec full_profile_update_run_ms) s" \
        "incremental batch $(msec inc_run_ms) s" \
        "$(calc "$(mkv inc_run_ms) / ($(mkv full_profile_update_run_ms) > 0 ? $(mkv full_profile_update_run_ms) : 1)" 2)" "- (comparison)" 1
}
model_phase

########################################################################
# Phase 10: the Iceberg export of the main table: initial, incremental after the
# update set, and its share during a steady load, on its own data directories
# with the export on; the whole phase is tests/bench/export_phase.sh
export_phase() {
    [ "$EXPORT" = 1 ] || return 0
    log "export: initial and incremental export of $RECORDS records, export during a steady load"
    BENCH_RECORDS=$RECORDS BENCH_PRODUCERS=$PRODUCERS BENCH_RATE=$RATE BENCH_STEADY_S=$STEADY_S \
        BENCH_CACHE=$CACHE "$SRC/tests/bench/export_phase.sh" "$BUILD" "$W/export" \
        >"$W/export.out" 2>"$W/export.err" || log "export phase failed: $(tail -3 "$W/export.err")"
}
# export_rows: its rows of the table (from the phase's key=value output)
export_rows() {
    [ "$EXPORT" = 1 ] || return 0
    local E=$W/export.out ini inc mode
    ekv() { local v; v=$(kv "$E" "$1"); echo "${v:-0}"; }
    mib() { calc "$(ekv "$1") / 1048576" 1; }
    ini=$(ekv initial_ms); inc=$(ekv incremental_ms); mode=$(kv "$E" incremental_mode)
    row "Iceberg export, initial ($(k "$(ekv initial_rows)")k rows): s, rows/s; Parquet vs the SQLite file" \
        "$(calc "$ini / 1000" 1) s, $(k "$(calc "$(ekv initial_rows) / ($ini > 0 ? $ini : 1) * 1000" 0)")k rows/s; $(mib parquet_bytes) MiB" \
        "silver/bench.db $(mib sqlite_bytes) MiB" "$(calc "$(ekv parquet_bytes) / ($(ekv sqlite_bytes) > 0 ? $(ekv sqlite_bytes) : 1)" 2)" \
        "- (exported)" "$(ge "$(ekv initial_rows)" 1)"
    row "Iceberg export, incremental after the update set ($(k "$(ekv update_records)")k records): s" \
        "$(calc "$inc / 1000" 1) s (${mode:-none}: $(k "$(ekv incremental_rows)")k rows, $(k "$(ekv incremental_deletes)")k position deletes)" \
        "initial export $(calc "$ini / 1000" 1) s" "$(ekv ratio)" "≤ 0.25, incremental" \
        "$(( $(le "$(ekv ratio)" 0.25) & $( [ "$mode" = incremental ] && echo 1 || echo 0) ))"
    row "Iceberg export during a $(calc "$(ekv steady_seconds)" 0) s steady load at $(k "$RATE")k rec/s, every ${BENCH_EXPORT_EVERY_S:-10} s: share of the processor's thread" \
        "$(calc "$(ekv steady_share) * 100" 1) % ($(ekv steady_exports) exports, $(ekv steady_export_ms) ms; $(kv "$E" steady_modes))" \
        "processor $(kv "$E" steady_processor_cores) cores" "-" "- (reported)" "$(ge "$(ekv steady_exports)" 1)"
}
export_phase

########################################################################
# The table
I=$W/ingest_json.out
JSON_RATE=$(kv "$I" rate); PARSE_RATE=$(kv "$I" parse_rate)
MP_RATE=$(kv "$W/ingest_mp.out" rate); MP_PARSE=$(kv "$W/ingest_mp.out" parse_rate)
HTTP_RATE=$(kv "$W/http.out" rate)
INS_RATE=$(calc "$MERGE_INS_ROWS / ($MERGE_INS_MS / 1000)" 0)
UPD_RATE=$(calc "$MERGE_UPD_ROWS / ($MERGE_UPD_MS / 1000)" 0)
BARE_INS=$(kv "$W/bare_ins.out" rate); BARE_UPD=$(kv "$W/bare_upd.out" rate)
BAREH_INS=$(kv "$W/bareh_ins.out" rate); BAREH_UPD=$(kv "$W/bareh_upd.out" rate)
BARE_REPLAY=$(kv "$W/bare_replay.out" rate)
REPLAY_RATE=$(calc "$REPLAY_ROWS / ($REPLAY_MS / 1000)" 0)
ST=$W/steady.out

ROWS=()
MISSES=0
# row FIGURE VALUE LIMIT RATIO TARGET OK(1/0)
row() {
    local mark=met
    if [ "$6" != 1 ]; then mark="**MISSED**"; MISSES=$((MISSES + 1)); fi
    ROWS+=("| $1 | $2 | $3 | $4 | $5 | $mark |")
}
# A figure that is not a number ("inf": never seen; empty: the phase failed)
# misses its target (awk would read a bare word as a variable worth 0).
numeric() { case "$1 $2" in *inf*|*nan*|*"  "*|" "*|*" ") return 1 ;; esac; }
ge() { numeric "$1" "$2" && awk "BEGIN { exit !(($1) >= ($2)) }" && echo 1 || echo 0; }
le() { numeric "$1" "$2" && awk "BEGIN { exit !(($1) <= ($2)) }" && echo 1 || echo 0; }
r() { calc "$1 / $2" 2; }
k() { calc "$1 / 1000" 0; }

row "durable ingest, JSON (rec/s)" "$(k "$JSON_RATE")k" "jansson parse $(k "$PARSE_RATE")k" "$(r "$JSON_RATE" "$PARSE_RATE")" "≥ 400k and ≥ 0.6" \
    "$(( $(ge "$JSON_RATE" 400000) & $(ge "$JSON_RATE / $PARSE_RATE" 0.6) ))"
row "durable ingest, msgpack (rec/s)" "$(k "$MP_RATE")k" "msgpack unpack $(k "$MP_PARSE")k" "$(r "$MP_RATE" "$MP_PARSE")" "≥ 1,000k" "$(ge "$MP_RATE" 1000000)"
row "HTTP ingest, POST …/batch keep-alive (rec/s)" "$(k "$HTTP_RATE")k" "native JSON ingest $(k "$JSON_RATE")k" "$(r "$HTTP_RATE" "$JSON_RATE")" "≥ 150k" "$(ge "$HTTP_RATE" 150000)"
H4=$W/http4.out; H1000=$W/http1000.out
row "HTTP ingest, 1,000 keep-alive producers, batches of 100 (rec/s; p99)" "$(k "$(kv "$H1000" rate)")k; p99 $(kv "$H1000" p99_ms) ms" \
    "4 producers $(k "$(kv "$H4" rate)")k; p99 $(kv "$H4" p99_ms) ms" "$(r "$(kv "$H1000" rate)" "$(kv "$H4" rate)")" "≥ 0.8, none failed" \
    "$(( $(ge "$(kv "$H1000" rate) / $(kv "$H4" rate)" 0.8) & $(ge 0 "$(kv "$H1000" failed)") ))"
H1000R=$W/http1000r.out
row "HTTP ingest, 1,000 producers at $(k "$RATE")k rec/s offered: request p50 / p99" "$(kv "$H1000R" p50_ms) / $(kv "$H1000R" p99_ms) ms" \
    "achieved $(k "$(kv "$H1000R" rate)")k rec/s" "-" "p99 ≤ 250 ms, none failed" \
    "$(( $(le "$(kv "$H1000R" p99_ms)" 250) & $(ge 0 "$(kv "$H1000R" failed)") ))"
row "ack latency p50 / p99 at $(k "$RATE")k rec/s offered" "$(kv "$ST" ack_p50_ms) / $(kv "$ST" ack_p99_ms) ms" "achieved $(k "$(kv "$ST" rate)")k rec/s" "-" "p99 ≤ 5 ms" "$(le "$(kv "$ST" ack_p99_ms)" 5)"
# the target is the ratio to the bare loop; the ratio to the bare loop that also writes row
# history (the same _h_ layout) is printed beside it: it says how much of a miss that layout costs
row "silver merge, inserts (rows/s)" "$(k "$INS_RATE")k" "bare loop $(k "$BARE_INS")k; with history $(k "$BAREH_INS")k" "$(r "$INS_RATE" "$BARE_INS"); $(r "$INS_RATE" "$BAREH_INS") with history" "≥ 0.7" "$(ge "$INS_RATE / $BARE_INS" 0.7)"
row "silver merge, updates (rows/s)" "$(k "$UPD_RATE")k" "bare loop $(k "$BARE_UPD")k; with history $(k "$BAREH_UPD")k" "$(r "$UPD_RATE" "$BARE_UPD"); $(r "$UPD_RATE" "$BAREH_UPD") with history" "≥ 0.7" "$(ge "$UPD_RATE / $BARE_UPD" 0.7)"
row "merge cost vs table size (1,000-row batch, median ms)" "$PROBE_BIG_MS ms @ $(k "$RECORDS")k rows" "$PROBE_SMALL_MS ms @ 30k rows" "$(calc "$PROBE_BIG_MS / ($PROBE_SMALL_MS > 0 ? $PROBE_SMALL_MS : 1)" 2)" "≤ 3" "$(le "$PROBE_BIG_MS / ($PROBE_SMALL_MS > 0 ? $PROBE_SMALL_MS : 1)" 3)"
row "freshness ack → silver, p50 / p99" "$(kv "$ST" silver_p50_ms) / $(kv "$ST" silver_p99_ms) ms" "poll every 2 ms" "-" "p99 ≤ 100 ms" "$(le "$(kv "$ST" silver_p99_ms)" 100)"
row "gold freshness ack → gold, p50 / p99" "$(kv "$ST" gold_p50_ms) / $(kv "$ST" gold_p99_ms) ms" "poll every 10 ms" "-" "p99 ≤ 1000 ms" "$(le "$(kv "$ST" gold_p99_ms)" 1000)"
IO=$W/idle.out
row "idle freshness, one record → silver, p50 / p99" "$(kv "$IO" silver_p50_ms) / $(kv "$IO" silver_p99_ms) ms" "poll back to back" "-" "p99 ≤ 50 ms" "$(le "$(kv "$IO" silver_p99_ms)" 50)"
row "idle freshness, one record → dependency gold job, p50 / p99" "$(kv "$IO" gold_p50_ms) / $(kv "$IO" gold_p99_ms) ms" "poll back to back" "-" "p99 ≤ 250 ms" "$(le "$(kv "$IO" gold_p99_ms)" 250)"
row "replay, rebuild from bronze (rows/s)" "$(k "$REPLAY_RATE")k" "bare loop $(k "$BARE_REPLAY")k" "$(r "$REPLAY_RATE" "$BARE_REPLAY")" "≥ 0.7" "$(ge "$REPLAY_RATE / $BARE_REPLAY" 0.7)"
for s in broker ingest processor transformer; do
    read -r g a b <<<"$(growth "$s")"
    ok=$(( $(le "${HWM[$s]:-0}" 256) & $( [ "$g" = n/a ] && echo 1 || le "$g" 5) ))
    row "memory: $s peak RSS / RSS growth, first → last 10 s of the steady run" "${HWM[$s]:-?} MiB / ${g}% (${a:-?} → ${b:-?} MiB)" "-" "-" "≤ 256 MiB, ≤ 5 %" "$ok"
done

model_rows
export_rows

ELAPSED=$(( $(date +%s) - T_START ))
kill "$LOADS_PID" 2>/dev/null; wait "$LOADS_PID" 2>/dev/null
# CPU used by the bench (this shell's waited-for children: every daemon, the load
# generator, sqlite3, perf) vs the whole machine over the same time
times >"$W/times" # in this shell (a pipeline would time a subshell)
BENCH_CPU_S=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } } END { printf "%.0f", s }' "$W/times")
MACHINE_CPU_S=$(awk -v a="$BUSY_START" -v b="$(cpu_busy)" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (b - a) / hz }')
OTHER_CPU_S=$(( MACHINE_CPU_S > BENCH_CPU_S ? MACHINE_CPU_S - BENCH_CPU_S : 0 ))
LOAD_STATS=$(sort -n "$W/load.samples" | awk '{ a[NR] = $1; s += $1 } END { if (NR) printf "mean %.2f, max %.2f", s / NR, a[NR]; else print "n/a" }')
CPU=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)
{
    echo "# Benchmark results"
    echo
    echo "Generated by \`make bench\` (tests/bench/bench.sh) on $(date -u +%Y-%m-%d) — $(nproc) cores, $CPU,"
    echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr). Run took ${ELAPSED} s."
    echo "Source: ${BENCH_REV:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo "not a git tree")}."
    echo
    echo "Machine load: 1-min load average $LOAD_START (1/5/15 min) at the start; during the run $LOAD_STATS"
    echo "(the bench's own processes included). CPU time: machine ${MACHINE_CPU_S} s, the bench ${BENCH_CPU_S} s,"
    echo "other processes ${OTHER_CPU_S} s ($(calc "$OTHER_CPU_S / ($ELAPSED > 0 ? $ELAPSED : 1)" 2) cores on average) of $(( $(nproc) * ELAPSED )) s available."
    echo
    echo "Size: $RECORDS records in the main table (full size: 3,000,000 with BENCH_RECORDS=3000000),"
    echo "update set $(kv "$W/updates.out" records) records, steady run ${STEADY_S} s at $RATE rec/s offered"
    echo "(full size: BENCH_STEADY_S=60), $PRODUCERS producers, batches of 1,000, default configuration."
    echo "Records: $(kv "$I" body_bytes_per_record) bytes each as NDJSON. Limits are measured in the same run on"
    echo "the same records; a ratio is figure / limit."
    echo
    echo "| figure | measured | limit (same run) | ratio | target | |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Steady run details: offered $(kv "$ST" records) records, acked $(kv "$ST" acked) in $(kv "$ST" seconds) s;"
    echo "ack max $(kv "$ST" ack_max_ms) ms; silver max $(kv "$ST" silver_max_ms) ms, batches never seen in silver"
    echo "within 60 s after the load: $(kv "$ST" silver_unseen); gold max $(kv "$ST" gold_max_ms) ms, never seen in gold:"
    echo "$(kv "$ST" gold_unseen) (gold rows counted $(kv "$ST" gold_final_rows) of $(kv "$ST" gold_expected_rows));"
    echo "mean poll query $(kv "$ST" silver_poll_ms) ms (silver) / $(kv "$ST" gold_poll_ms) ms (gold)."
    echo "Steady run stages (from the group's log): processor merges of bench.steady, ms per file: $ST_MERGE_MS;"
    echo "records per file: $ST_MERGE_REC. Gold job steady_by_origin (incremental, accumulating, unique_key origin, day;"
    echo "$GOLD_GROUPS groups at the end), ms per run: $ST_GOLD_MS; rows upserted per run: $ST_GOLD_ROWS;"
    echo "change rows read per run: $ST_GOLD_CHG."
    echo "Cores used during the steady load (of $(nproc); machine = all processes, the load generator included):${ST_CORES%,}."
    echo "Mean RSS per 10 s of the steady load, MiB:${ST_RSS%;}."
    echo "Idle freshness: $(kv "$IO" tries) single records (POST /ingest/bench/idle, one at a time, 300 ms apart), not seen within 10 s: $(kv "$IO" missed); silver max $(kv "$IO" silver_max_ms) ms, gold max $(kv "$IO" gold_max_ms) ms; bronze files left: $IDLE_FILES (one per record: every record was sealed on its own, seal_quiet_ms)."
    echo "Busy answers: JSON $(kv "$I" busy), msgpack $(kv "$W/ingest_mp.out" busy), HTTP retries $(kv "$W/http.out" retries)."
    [ "$PROFILE" = 1 ] && echo "Profiled run: perf sampled ingest (JSON phase), processor (insert merge) and broker (HTTP phase) at 999 Hz."
    [ "$MODEL_SCALE" -gt 0 ] && echo "Model phase (TPC-H x$MODEL_SCALE): longest runs of the incremental build: $(kv "$W/model.out" inc_top)."
    [ "$EXPORT" = 1 ] && echo "Iceberg export phase (own data directories, iceberg_export local): initial export $(kv "$W/export.out" initial_mode), its command $(kv "$W/export.out" initial_cli_ms) ms with the endpoint's bronze; incremental: $(kv "$W/export.out" incremental_cli_ms) ms with bronze, $(calc "$(kv "$W/export.out" incremental_parquet_bytes) / 1048576" 1) MiB of data and delete files added; silver/bench.db $(calc "$(kv "$W/export.out" sqlite_bytes) / 1048576" 1) MiB before the exports, $(calc "$(kv "$W/export.out" sqlite_after_bytes) / 1048576" 1) MiB after (the export state); steady load achieved $(k "$(kv "$W/export.out" steady_rate)")k rec/s."
    echo "Merge times are the processor's own per-file times (log \`merged ... ms=\`); replay is its \`replayed ... ms=\`."
    if [ "$PROFILE" = 1 ]; then
        for p in ingest_json merge http; do
            [ -s "$W/perf.$p.data" ] || continue
            echo
            echo "### Profile: $p (perf record -e cpu-clock -F 999: share of samples by library, then top symbols)"
            echo
            echo '```'
            perf report -i "$W/perf.$p.data" --stdio --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -8
            echo
            perf report -i "$W/perf.$p.data" --stdio --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' |
                sed 's/ *$//' | head -15
            echo '```'
        done
    fi
    # hand-written profiles (sections from "## Profile of the update merge" on) are kept
    if [ -n "$KEPT" ]; then echo; printf '%s\n' "$KEPT"; fi
} >"$RESULTS.new"
mv "$RESULTS.new" "$RESULTS"
cat "$RESULTS"
[ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"
if [ "$CHECK" = 1 ] && [ "$MISSES" -gt 0 ]; then
    echo "bench-check: $MISSES target(s) missed" >&2
    exit 1
fi
exit 0
