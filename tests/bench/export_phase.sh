#!/usr/bin/env bash
# tests/bench/export_phase.sh - the Iceberg export phase of `make bench`, also
# runnable alone (bench.sh runs it and turns its output into rows of the table):
#
#   tests/bench/export_phase.sh BUILD_DIR WORK_DIR
#
# On its own data directory, with iceberg_export "local" (every other group of
# the bench runs with it off, so no other figure carries the export's cost):
#  1. the main table (BENCH_RECORDS records of bench/flights, as phase 1) is
#     ingested and merged by the processor alone, then exported whole with
#     `lakehouse export bench/flights --wait` (the initial export);
#  2. the update set (as phase 3: RECORDS/10 existing ids + RECORDS/30 new) is
#     ingested and merged, then exported the same way (incremental: position
#     deletes + new data files);
#  3. a short steady load (BENCH_EXPORT_STEADY_S, default BENCH_STEADY_S, at
#     BENCH_RATE) on a fresh supervised group, exported every
#     BENCH_EXPORT_EVERY_S (10) seconds with `lakehouse export bench/steady --wait`.
# The export tick itself is pushed out (iceberg_export_interval_s 86400) so
# that every export is one the phase asked for and timed.
# An export's time: (1, 2) from the request to the processor's log line
# `iceberg_exported layer=silver table=bench/flights ... duration_ms=` (the
# request exports the silver table first, then the endpoint's bronze, which is
# left out); (3) the command's wall time, silver and bronze together: the
# export runs in the processor's main thread, which does nothing else until
# it replies, so the sum over the load's seconds is the export's share of
# that thread (a merge in progress when the request came is counted too, so
# the share is an upper bound).
# Prints key=value lines:
#   records update_records
#   initial_ms initial_rows initial_mode initial_duration_ms initial_cli_ms
#   parquet_bytes      data files of the initial export
#   sqlite_bytes       silver/bench.db after the merge of the inserts (before any export)
#   sqlite_after_bytes the same file after both exports (the export state included)
#   incremental_ms incremental_rows incremental_deletes incremental_mode
#   incremental_parquet_bytes  data and delete files the incremental export added
#   ratio              incremental_ms / initial_ms (target <= 0.25)
#   steady_seconds steady_rate steady_exports steady_export_ms
#   steady_share       steady_export_ms / (steady_seconds * 1000)
#   steady_processor_cores   the processor's CPU over the load (/proc ticks each second)
#   steady_modes       how the run's silver exports were written, "mode:count,..."
# Exits 2 when something does not work (message on stderr).
set -u
BUILD=${1:?usage: export_phase.sh BUILD_DIR WORK_DIR}
W=${2:?usage: export_phase.sh BUILD_DIR WORK_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$SRC/$BUILD/bin" 2>/dev/null && pwd) || { echo "export_phase: no $BUILD/bin" >&2; exit 2; }
RECORDS=${BENCH_RECORDS:-1000000}
PRODUCERS=${BENCH_PRODUCERS:-4}
RATE=${BENCH_RATE:-100000}
STEADY_S=${BENCH_EXPORT_STEADY_S:-${BENCH_STEADY_S:-30}}
EVERY_S=${BENCH_EXPORT_EVERY_S:-10}
CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-bench}
S200=$CACHE/flights-200k.json
S20=$CACHE/flights-20k.json
export LAKEHOUSE_ICEBERG_EXPORT=local LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=86400

log() { echo "bench: export: $*" >&2; }
die() { echo "bench: export: $*" >&2; exit 2; }
[ -s "$S200" ] && [ -s "$S20" ] || die "no $S200 or $S20 (bench.sh fetches them)"

rm -rf "$W"
mkdir -p "$W"
D=$W/data
PLOG=$W/processor.log
PIDS=()
trap 'for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; wait "${PIDS[i]}" 2>/dev/null; done' EXIT

lh() { "$BIN/lakehouse" --data "$1" "${@:2}"; }
now_ms() { date +%s%3N; }
start_proc() { # start_proc NAME DATA LOG [ARGS]: pid in LAST_PID
    "$BIN/lakehouse-$1" --data "$2" "${@:4}" >>"$3" 2>&1 &
    LAST_PID=$!; PIDS+=("$LAST_PID")
}
stop_proc() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
wait_sock() { for _ in $(seq 1 600); do [ -S "$1" ] && return 0; sleep 0.05; done; die "no socket $1"; }
endpoint() { # endpoint DATA TABLE
    sed "s/\"name\": \"flights\"/\"name\": \"$2\"/" "$SRC/tests/bench/endpoint.json" >"$W/ep_$2.json"
    lh "$1" endpoint create "$W/ep_$2.json" >/dev/null || die "endpoint $2"
}
load() { # load OUT DATA ARGS...
    local out=$1 data=$2; shift 2
    "$BIN/lakehouse-bench" load --data "$data" --src200 "$S200" --src20 "$S20" "$@" >"$out" 2>"$out.err" ||
        { cat "$out.err" >&2; die "load failed ($out)"; }
}
kv() { sed -n "s/^$2=//p" "$1" | tail -1; }
ledger_files() {
    sqlite3 -batch -noheader "file:$D/silver/bench.db?mode=ro" \
        "SELECT count(*) FROM _ledger WHERE table_name='flights'" 2>/dev/null
}
bronze_files() { find "$D/bronze/bench/flights" -name '*.ndjson.lz4' 2>/dev/null | wc -l; }
wait_merged() {
    local deadline=$(( $(date +%s) + 3600 ))
    until [ "$(ledger_files)" = "$(bronze_files)" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || die "the merge did not finish"
        sleep 0.05
    done
}
ingest_set() { # ingest_set OUT ARGS...: ingest alone (the endpoint created first), then sealed
    local ing
    start_proc ingest "$D" "$W/ingest.log"; ing=$LAST_PID
    wait_sock "$D/run/ingest.sock"
    [ -f "$W/ep_flights.json" ] || endpoint "$D" flights
    load "$@"
    stop_proc "$ing"
}
file_bytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
parquet_files() { find "$D/iceberg/bench_silver/flights/data" -name '*.parquet' 2>/dev/null | sort; }
# field KEY: the value of KEY= in the line on stdin (quotes dropped)
field() { awk -v k="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { v = substr($i, length(k) + 1); gsub(/"/, "", v); print v } }'; }

# export_flights NAME: `lakehouse export bench/flights --wait`, timed; NAME_ms
# (request -> the silver table's log line), NAME_cli_ms and the line's figures
export_flights() {
    local name=$1 mark t0 t1 line ts
    mark=$(( $(wc -l <"$PLOG") + 1 ))
    t0=$(now_ms)
    lh "$D" export bench/flights --wait >"$W/export_$name.out" 2>&1 || die "export failed: $(cat "$W/export_$name.out")"
    t1=$(now_ms)
    line=$(tail -n +"$mark" "$PLOG" | grep ' iceberg_exported layer=silver table=bench/flights ' | tail -1)
    [ -n "$line" ] || die "no iceberg_exported line for the silver table (see $PLOG)"
    ts=$(echo "$line" | field ts)
    echo "${name}_ms=$(( $(date -d "$ts" +%s%3N) - t0 ))"
    echo "${name}_cli_ms=$(( t1 - t0 ))"
    echo "${name}_rows=$(echo "$line" | field rows)"
    echo "${name}_deletes=$(echo "$line" | field deletes)"
    echo "${name}_duration_ms=$(echo "$line" | field duration_ms)"
    echo "${name}_mode=$(echo "$line" | sed -n 's/.* mode="\([^"]*\)".*/\1/p' | tr ' ' '_')"
}

# 1. the inserts, merged by the processor alone, then the initial export
mkdir -p "$D"
: >"$PLOG"
log "ingest and merge $RECORDS records"
ingest_set "$W/ins.out" "$D" --table bench/flights --set base --records "$RECORDS" --producers "$PRODUCERS" --window 8
start_proc processor "$D" "$PLOG"; PROC=$LAST_PID
wait_merged
stop_proc "$PROC" # checkpointed: the database file alone holds the table
SQLITE_BYTES=$(file_bytes "$D/silver/bench.db")
start_proc processor "$D" "$PLOG"; PROC=$LAST_PID
wait_sock "$D/run/processor.sock"
log "initial export"
export_flights initial >"$W/initial.kv"
parquet_files >"$W/files_initial"
PARQUET_BYTES=$(xargs -r -a "$W/files_initial" stat -c %s | awk '{ s += $1 } END { print s + 0 }')

# 2. the update set, merged, then the incremental export
log "ingest and merge the update set"
ingest_set "$W/upd.out" "$D" --table bench/flights --set updates --base-records "$RECORDS" \
    --producers "$PRODUCERS" --window 8
wait_merged
log "incremental export"
export_flights incremental >"$W/incremental.kv"
parquet_files >"$W/files_all"
INC_BYTES=$(comm -13 "$W/files_initial" "$W/files_all" | xargs -r stat -c %s | awk '{ s += $1 } END { print s + 0 }')
stop_proc "$PROC"
SQLITE_AFTER=$(file_bytes "$D/silver/bench.db")

# 3. steady load on a fresh supervised group, exported every EVERY_S seconds
D3=$W/steady
mkdir -p "$D3"
PORT=$(( 20000 + RANDOM % 20000 ))
LAKEHOUSE_LISTEN=127.0.0.1:$PORT "$BIN/lakehouse-broker" --data "$D3" >>"$W/group.log" 2>&1 &
GRP=$!; PIDS+=("$GRP")
for s in ingest processor transformer; do wait_sock "$D3/run/$s.sock"; done
endpoint "$D3" steady
log "steady: $RATE rec/s for ${STEADY_S}s, exported every ${EVERY_S}s"
( load "$W/steady.out" "$D3" --table bench/steady --set steady --rate "$RATE" --seconds "$STEADY_S" \
    --window 64 ) &
LOADER=$!
PROC3=$(cat "$D3/run/processor.pid")
# one line per export: "start_ms end_ms"; the processor's CPU ticks each second: "unix_ms ticks"
: >"$W/steady.exports"
: >"$W/steady.ticks"
NEXT=$(( $(now_ms) + EVERY_S * 1000 ))
while kill -0 "$LOADER" 2>/dev/null; do
    sleep 1
    t0=$(now_ms)
    echo "$t0 $(awk '{ print $14 + $15 }' "/proc/$PROC3/stat")" >>"$W/steady.ticks"
    [ "$t0" -ge "$NEXT" ] || continue
    lh "$D3" export bench/steady --wait >>"$W/steady_export.out" 2>&1 || log "steady export failed (see $W/steady_export.out)"
    echo "$t0 $(now_ms)" >>"$W/steady.exports"
    NEXT=$(( t0 + EVERY_S * 1000 ))
done
wait "$LOADER" || die "the steady load failed"
kill -TERM "$GRP"; wait "$GRP" 2>/dev/null
T0=$(kv "$W/steady.out" start_unix_ms); SECS=$(kv "$W/steady.out" seconds)
# the exports that started during the load and their wall time; the processor's
# cores over the load (its ticks from the first to the last sample in it)
read -r NEXP EXP_MS <<<"$(awk -v t0="$T0" -v s="$SECS" '$1 >= t0 && $1 <= t0 + s * 1000 { n++; ms += $2 - $1 }
    END { printf "%d %d", n, ms }' "$W/steady.exports")"
CORES=$(awk -v t0="$T0" -v s="$SECS" -v hz="$(getconf CLK_TCK)" '$1 >= t0 && $1 <= t0 + s * 1000 {
        if (!a) { a = $1; ca = $2 } b = $1; cb = $2 }
    END { if (b > a) printf "%.2f", (cb - ca) / hz / ((b - a) / 1000); else print "?" }' "$W/steady.ticks")
# how the silver exports of the run were written (log mode), e.g. "first_export:1,incremental:4"
MODES=$(grep ' iceberg_exported layer=silver table=bench/steady ' "$W/group.log" |
    sed -n 's/.* mode="\([^"]*\)".*/\1/p' | tr ' ' '_' | sort | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $2, $1 }')

echo "records=$(kv "$W/ins.out" records)"
echo "update_records=$(kv "$W/upd.out" records)"
cat "$W/initial.kv" "$W/incremental.kv"
echo "parquet_bytes=$PARQUET_BYTES"
echo "sqlite_bytes=$SQLITE_BYTES"
echo "sqlite_after_bytes=$SQLITE_AFTER"
echo "incremental_parquet_bytes=$INC_BYTES"
echo "ratio=$(awk -v a="$(kv "$W/incremental.kv" incremental_ms)" -v b="$(kv "$W/initial.kv" initial_ms)" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 1) }')"
echo "steady_seconds=$SECS"
echo "steady_rate=$(kv "$W/steady.out" rate)"
echo "steady_exports=$NEXP"
echo "steady_export_ms=$EXP_MS"
echo "steady_share=$(awk -v a="$EXP_MS" -v s="$SECS" 'BEGIN { printf "%.4f", (s > 0 ? a / (s * 1000) : 0) }')"
echo "steady_processor_cores=$CORES"
echo "steady_modes=$MODES"
