#!/usr/bin/env bash
# tests/bench/model_phase.sh - the model phase of `make bench`, also runnable
# alone (bench.sh runs it and turns its output into rows of the table):
#
#   tests/bench/model_phase.sh BUILD_DIR WORK_DIR
#
# TPC-H (tests/data/tpch-dbt3) replicated BENCH_MODEL_SCALE times with keys
# offset per replica (tpch_scale.py) is sent into silver (the event bus and the
# three workers, started one by one), then tests/data/tpch/tpch.yaml is applied with `lakehouse model
# apply` and the DAG runs to idle: the full build. Then the 1 % update batch
# (every 100th row of each table, existing rows updated) goes into silver
# while the transformer is stopped, then the transformer starts and the DAG
# runs to idle again: the incremental build, one wave. Idle = no execution RUNNING
# and every job of the model last SUCCEEDED on the current snapshot of each
# of its inputs (no pause to wait for quiet). Prints key=value lines:
#   scale rows update_rows jobs
#   full_wall_ms  model apply -> the last run of the full build finished
#   full_run_ms   sum of the full build's run times (transformer `run_ok ms=`)
#   full_runs     runs in the full build
#   inc_wall_ms   the first run of the incremental build -> the last one finished
#   inc_run_ms / inc_runs  the same for the incremental build
#   ratio         inc_run_ms / full_run_ms (target <= 0.05)
#   failed        FAILED executions (0 expected)
#   inc_top       the incremental build's five longest runs, "job ms rows; ..."
# With BENCH_MODEL_FULL=1, then `model apply --profile full` (every job a full
# rebuild) and a second 1 % batch through it:
#   full_profile_build_{wall_ms,run_ms,runs}   the rebuild
#   full_profile_update_{wall_ms,run_ms,runs}  the second batch
# Exits 2 when something does not work (message on stderr).
set -u
BUILD=${1:?usage: model_phase.sh BUILD_DIR WORK_DIR}
W=${2:?usage: model_phase.sh BUILD_DIR WORK_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$SRC/$BUILD/bin" 2>/dev/null && pwd) || { echo "model_phase: no $BUILD/bin" >&2; exit 2; }
SCALE=${BENCH_MODEL_SCALE:-100}
TPCH=$SRC/tests/data/tpch-dbt3
DEF=$SRC/tests/data/tpch
TABLES="region nation customer supplier part partsupp orders lineitem"
TIMEOUT_S=${BENCH_MODEL_TIMEOUT_S:-7200}
export LAKEHOUSE_ICEBERG_EXPORT=off # as every group of the bench

log() { echo "bench: model: $*" >&2; }
die() { echo "bench: model: $*" >&2; exit 2; }

rm -rf "$W"
mkdir -p "$W"
D=$W/data
GLOG=$W/group.log

lh() { "$BIN/lakehouse" --data "$D" "$@"; }
cat_sql() { sqlite3 -batch -noheader -cmd ".timeout 10000" "file:$D/catalog.db?mode=ro" "$1" 2>/dev/null; }
silver() { sqlite3 -batch -noheader -cmd ".timeout 10000" "file:$D/silver/tpch.db?mode=ro" "$1" 2>/dev/null; }
now_ms() { date +%s%3N; }
# until_ok TIMEOUT_S CMD...: poll CMD every 0.2 s
until_ok() {
    local end=$(( $(date +%s) + $1 )); shift
    until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done
}

log "generating TPC-H x$SCALE"
python3 "$SRC/tests/bench/tpch_scale.py" --src "$TPCH" --out "$W/in" --scale "$SCALE" >"$W/gen.out" ||
    die "generating the input failed"
ROWS=$(sed -n 's/^rows=//p' "$W/gen.out"); UPDATE_ROWS=$(sed -n 's/^update_rows=//p' "$W/gen.out")

mkdir -p "$D"
# the event bus alone and each worker started here, so the transformer can be
# stopped while the update batch goes into silver
PIDS=()
# at exit, workers first and the bus last
trap 'for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null; wait "${PIDS[i]}" 2>/dev/null; done' EXIT
start() { # start NAME [ARGS]: lakehouse-NAME on the data directory (its pid in PID_NAME)
    "$BIN/lakehouse-$1" --data "$D" "${@:2}" >>"$GLOG" 2>&1 &
    PIDS+=("$!"); eval "PID_$1=$!"
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
start broker --no-supervise
until_ok 30 test -S "$D/run/events-in.sock" || die "no event bus (see $GLOG)"
for s in ingest processor transformer; do
    start "$s"
    until_ok 30 test -S "$D/run/$s.sock" || die "no $s socket (see $GLOG)"
done
for t in $TABLES; do lh endpoint create "$DEF/$t.json" >/dev/null || die "endpoint $t"; done

log "sending $ROWS rows into silver"
for t in $TABLES; do lh send "tpch/$t" "$W/in/$t.ndjson" >/dev/null 2>>"$W/send.err" || die "send $t"; done
rows_are() { [ "$(silver "SELECT count(*) FROM \"$1\"")" = "$2" ]; }
for t in $TABLES; do
    until_ok "$TIMEOUT_S" rows_are "$t" "$(wc -l <"$W/in/$t.ndjson")" || die "silver $t incomplete"
done

# dag_idle: no execution RUNNING and every job of the model last succeeded on
# the current snapshot of each of its inputs (its inputs_json), in one sqlite3
# query over the catalog and the databases (polled once a second: the poll
# must not take the CPU the runs are timed on)
dag_idle() {
    local attach="" cur="" i=0 f dom layer
    for f in "$D"/silver/tpch.db "$D"/gold/tpch_*.db; do
        [ -f "$f" ] || continue
        dom=$(basename "$f" .db); layer=$(basename "$(dirname "$f")"); i=$((i + 1))
        attach="$attach ATTACH 'file:$f?mode=ro' AS d$i;"
        cur="$cur${cur:+ UNION ALL }SELECT '$dom.$layer.' || table_name AS k, max(snapshot_id) AS id
             FROM d$i._snapshots GROUP BY table_name"
    done
    [ -n "$cur" ] || return 1
    [ "$(sqlite3 -batch -noheader -cmd ".timeout 10000" "file:$D/catalog.db?mode=ro" "$attach
        WITH cur AS ($cur),
        last AS (SELECT j.domain, j.name, (SELECT e.id FROM executions e WHERE e.domain = j.domain
                 AND e.job = j.name ORDER BY e.id DESC LIMIT 1) AS id FROM jobs j WHERE j.model = 'tpch')
        SELECT (SELECT count(*) FROM executions WHERE status = 'RUNNING')
             + (SELECT count(*) FROM last l LEFT JOIN executions e ON e.id = l.id
                WHERE e.status IS NOT 'SUCCEEDED'
                   OR EXISTS (SELECT 1 FROM json_each(coalesce(e.inputs_json, '{}')) AS x
                              WHERE x.value IS NOT (SELECT id FROM cur WHERE cur.k = x.key)))" 2>/dev/null)" = 0 ]
}
dag_idle_poll() { dag_idle || { sleep 0.8; return 1; }; }
# run_ok lines of the model's jobs in the group log after line $1: "count sum_ms"
runs_after() {
    tail -n +"$1" "$GLOG" | awk '/ run_ok / && / job=tpch_/ { for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) s += substr($i, 4); n++ }
        END { printf "%d %d", n, s }'
}
# ms between an ISO time and the last finished run of the model's jobs after execution id $2
wall_ms() {
    cat_sql "SELECT CAST(round((julianday(max(finished_at)) - julianday('$1')) * 86400000) AS INTEGER)
             FROM executions WHERE id > $2 AND domain LIKE 'tpch\\_%' ESCAPE '\\'"
}
last_exec() { cat_sql "SELECT coalesce(max(id), 0) FROM executions"; }
# top_runs LINE: the five longest runs of the model's jobs in the group log after LINE
top_runs() {
    tail -n +"$1" "$GLOG" | awk '/ run_ok / && / job=tpch_/ { j = ""; m = 0; r = 0
        for (i = 1; i <= NF; i++) { if ($i ~ /^job=/) j = substr($i, 5); if ($i ~ /^ms=/) m = substr($i, 4); if ($i ~ /^rows=/) r = substr($i, 6) }
        print m, j, r }' | sort -rn | head -5 | awk '{ printf "%s%s %s ms %s rows", (NR > 1 ? "; " : ""), $2, $1, $3 }'
}

log "model apply and the full build"
MARK=$(( $(wc -l <"$GLOG") + 1 )); E0=$(last_exec)
T0=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
lh model apply "$DEF/tpch.yaml" >"$W/apply.out" 2>&1 || die "model apply: $(tail -3 "$W/apply.out")"
until_ok "$TIMEOUT_S" dag_idle_poll || die "the full build did not finish"
read -r FULL_RUNS FULL_RUN_MS <<<"$(runs_after "$MARK")"
FULL_WALL_MS=$(wall_ms "$T0" "$E0")
JOBS=$(cat_sql "SELECT count(*) FROM jobs WHERE model = 'tpch'")

# update_wave NAME SUFFIX: the batch OUT/<table>.NAME.ndjson (its comments end
# in SUFFIX) into silver while the transformer is stopped, so it is one wave
# (the transformer's reconcile at start queues the bags, each job runs once);
# then the DAG to idle. Sets WAVE_RUNS, WAVE_RUN_MS, WAVE_WALL_MS.
update_wave() {
    local name=$1 suffix=$2 mark e t
    stop "$PID_transformer"
    mark=$(( $(wc -l <"$GLOG") + 1 )); e=$(last_exec)
    for t in $TABLES; do
        lh send "tpch/$t" "$W/in/$t.$name.ndjson" >/dev/null 2>>"$W/send.err" || die "send $name $t"
    done
    for t in $TABLES; do until_ok "$TIMEOUT_S" updated "$t" "$name" "$suffix" || die "silver $name of $t incomplete"; done
    start transformer
    until_ok "$TIMEOUT_S" dag_idle_poll || die "the build after $name did not finish"
    read -r WAVE_RUNS WAVE_RUN_MS <<<"$(runs_after "$mark")"
    WAVE_WALL_MS=$(wall_ms "$(cat_sql "SELECT min(started_at) FROM executions WHERE id > $e")" "$e")
    LAST_MARK=$mark
}
updated() { # TABLE NAME SUFFIX: silver holds every row of the batch
    local col
    col=$(head -1 "$W/in/$1.ndjson" | grep -o '"[a-z]*_comment"' | tr -d '"')
    [ "$(silver "SELECT count(*) FROM \"$1\" WHERE \"$col\" LIKE '% $3'")" = "$(wc -l <"$W/in/$1.$2.ndjson")" ]
}

log "the 1 % update batch ($UPDATE_ROWS rows) and the incremental build"
update_wave update "(u)"
INC_RUNS=$WAVE_RUNS; INC_RUN_MS=$WAVE_RUN_MS; INC_WALL_MS=$WAVE_WALL_MS; MARK=$LAST_MARK
INC_TOP=$(top_runs "$MARK")

# optional: the same model with every job a full rebuild (--profile full), its
# build and a second 1 % batch through it
if [ "${BENCH_MODEL_FULL:-0}" = 1 ]; then
    log "--profile full: rebuild and a second 1 % batch"
    M2=$(( $(wc -l <"$GLOG") + 1 )); E2=$(last_exec)
    T2=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
    lh model apply "$DEF/tpch.yaml" --profile full >>"$W/apply.out" 2>&1 || die "model apply --profile full"
    until_ok "$TIMEOUT_S" dag_idle_poll || die "the full-profile build did not finish"
    read -r PF_BUILD_RUNS PF_BUILD_RUN_MS <<<"$(runs_after "$M2")"
    PF_BUILD_WALL_MS=$(wall_ms "$T2" "$E2")
    update_wave update2 "(v)"
    PF_RUNS=$WAVE_RUNS; PF_RUN_MS=$WAVE_RUN_MS; PF_WALL_MS=$WAVE_WALL_MS
fi
FAILED=$(cat_sql "SELECT count(*) FROM executions WHERE status = 'FAILED'")

echo "scale=$SCALE"
echo "rows=$ROWS"
echo "update_rows=$UPDATE_ROWS"
echo "jobs=$JOBS"
echo "full_wall_ms=$FULL_WALL_MS"
echo "full_run_ms=$FULL_RUN_MS"
echo "full_runs=$FULL_RUNS"
echo "inc_wall_ms=${INC_WALL_MS:-0}"
echo "inc_run_ms=$INC_RUN_MS"
echo "inc_runs=$INC_RUNS"
echo "ratio=$(awk -v a="$INC_RUN_MS" -v b="$FULL_RUN_MS" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')"
echo "failed=$FAILED"
echo "inc_top=$INC_TOP"
if [ "${BENCH_MODEL_FULL:-0}" = 1 ]; then
    echo "full_profile_build_wall_ms=$PF_BUILD_WALL_MS"
    echo "full_profile_build_run_ms=$PF_BUILD_RUN_MS"
    echo "full_profile_build_runs=$PF_BUILD_RUNS"
    echo "full_profile_update_wall_ms=$PF_WALL_MS"
    echo "full_profile_update_run_ms=$PF_RUN_MS"
    echo "full_profile_update_runs=$PF_RUNS"
fi
