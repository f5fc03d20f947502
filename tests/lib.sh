# tests/lib.sh - helpers for integration tests (sourced by tests/integration/*.sh).
#
# Each check prints "PASS <name>" or "FAIL <name>: <why>"; tests/run.sh counts
# them. Processes are real binaries from $LAKEHOUSE_BIN on a temporary data
# directory ($T) that is removed at exit, with every started process killed.
set -u
LAKEHOUSE_BIN=${LAKEHOUSE_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/asan/bin}
LAKEHOUSE_SOURCE=${LAKEHOUSE_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# Sample data shipped in the repository (tests/data/README.md says what and
# from where): flights-20k.json, airports.csv, tpch-dbt3/*.ndjson.
SAMPLE_DATA=${SAMPLE_DATA:-$LAKEHOUSE_SOURCE/tests/data}
SHARED_DATA=${SHARED_DATA:-$SAMPLE_DATA}    # former name, for tests not yet renamed
export PATH="$LAKEHOUSE_BIN:$PATH"
# Leak checking is done by the unit tests; long-running processes killed by
# signals in fault tests would report spurious leaks.
export ASAN_OPTIONS=${LAKEHOUSE_PROCESS_ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}

T=$(mktemp -d /tmp/lh-it.XXXXXX)

# free_port: a loopback TCP port nobody listens on now, below the kernel's
# ephemeral range (32768-60999), so that no outgoing connection takes it
# between this check and the bind.
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
# Every test group serves its HTTP API on a port of its own.
export LAKEHOUSE_LISTEN=${LAKEHOUSE_LISTEN:-127.0.0.1:$(free_port)}
export LAKEHOUSE_DATA="$T/data"
GROUP_PID=""
TEST_FAILURES=0

cleanup() {
    if [ -n "$GROUP_PID" ] && kill -0 "$GROUP_PID" 2>/dev/null; then
        kill -TERM "$GROUP_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$GROUP_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$GROUP_PID" 2>/dev/null
    fi
    pkill -KILL -f -- "--data $T/data" 2>/dev/null
    [ -n "${KEEP_TEST_DIR:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; TEST_FAILURES=$((TEST_FAILURES + 1)); }

# check NAME EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}
# check_cmd NAME command...   (passes when the command succeeds)
check_cmd() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "command failed: $* -> $(echo "$out" | tail -3)"; fi
}

# wait_until TIMEOUT_SECONDS command...  (0 when the command succeeded in time)
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# wait_eq TIMEOUT EXPECTED command... : re-run the command until its output
# equals EXPECTED (0) or the time is up (1). The last output is in $WAIT_LAST.
WAIT_LAST=""
wait_eq() {
    local limit=$1 expected=$2; shift 2
    local deadline=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    while :; do
        WAIT_LAST=$("$@" 2>/dev/null)
        [ "$WAIT_LAST" = "$expected" ] && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# Start the supervised group in the background on $LAKEHOUSE_DATA; logs to $T/group.log.
start_group() {
    lakehouse-broker --data "$LAKEHOUSE_DATA" "$@" >>"$T/group.log" 2>&1 &
    GROUP_PID=$!
    wait_until 20 test -S "$LAKEHOUSE_DATA/run/ingest.sock" || { echo "group did not start"; tail -50 "$T/group.log"; return 1; }
    wait_until 20 test -S "$LAKEHOUSE_DATA/run/processor.sock" || { echo "processor did not start"; tail -50 "$T/group.log"; return 1; }
    wait_until 20 test -S "$LAKEHOUSE_DATA/run/transformer.sock" || { echo "transformer did not start"; tail -50 "$T/group.log"; return 1; }
}

# make_prebuilt ARGS...: make in the source tree with BUILD = the build under
# test, whose five installed programs are taken as they are (make -o: never
# rebuilt, whatever their timestamps say).
make_prebuilt() {
    local build_dir o="" b
    build_dir=$(dirname "$LAKEHOUSE_BIN")
    for b in lakehouse lakehouse-broker lakehouse-ingest lakehouse-processor lakehouse-transformer; do
        o="$o -o $build_dir/bin/$b"
    done
    make -s -C "$LAKEHOUSE_SOURCE" BUILD="$build_dir" $o "$@"
}

# Stop the group with SIGTERM and wait for it; returns its exit status.
stop_group() {
    [ -n "$GROUP_PID" ] || return 0
    kill -TERM "$GROUP_PID"
    local rc=0
    wait "$GROUP_PID" || rc=$?
    GROUP_PID=""
    return $rc
}

# Every sqlite3 the tests run waits for locks instead of failing at once: a reader that
# opens a WAL database while its last writer connection closes (and checkpoints) gets
# SQLITE_BUSY, which without a timeout reads as an empty answer.
sqlite3() { command sqlite3 -cmd ".timeout 10000" "$@"; }

# npm_cached DIR PREFIX: installs tests/DIR/package-lock.json once into the
# test cache (keyed by the hash of its package*.json) and copies DIR's *.mjs
# beside it (Node resolves an ES module's imports from the script's own
# directory); NPM_CACHED is that directory. 1 when npm fails.
npm_cached() {
    local src="$LAKEHOUSE_SOURCE/tests/$1"
    NPM_CACHED=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/$2-$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
    if [ ! -f "$NPM_CACHED/.installed" ]; then
        mkdir -p "$NPM_CACHED" &&
        cp "$src/package.json" "$src/package-lock.json" "$NPM_CACHED/" &&
        (cd "$NPM_CACHED" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) &&
        touch "$NPM_CACHED/.installed" || return 1
    fi
    cp "$src"/*.mjs "$NPM_CACHED/"
}
# sql_silver DOMAIN SQL  /  sql_gold DOMAIN SQL : read a database directly with sqlite3.
sql_silver() { sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/silver/$1.db?mode=ro" "$2"; }
sql_gold()   { sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/gold/$1.db?mode=ro" "$2"; }

# Extra HTTP servers: the test driver lakehouse-http-serve with other settings.
# serve LOG ENV... starts one on $LAKEHOUSE_DATA with extra environment (its
# stderr in LOG, stdout in LOG.out); 0 once it listens. stop_serves stops them.
SERVE_PIDS=()
stop_serves() { for p in "${SERVE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; SERVE_PIDS=(); }
serve() {
    local log=$1; shift
    env "$@" lakehouse-http-serve --data "$LAKEHOUSE_DATA" >"$log.out" 2>"$log" &
    SERVE_PIDS+=($!)
    wait_until 10 grep -q '^http port=' "$log.out"
}

# HTTP checks against the API at $B (set by the test):
# req METHOD PATH [BODY] [curl args...]: sets CODE and BODY (response body);
# the response headers are in $T/headers.
req() {
    local method=$1 path=$2; shift 2
    local data=()
    if [ $# -gt 0 ]; then data=(--data-binary "$1"); shift; fi
    CODE=$(curl -s -o "$T/resp" -D "$T/headers" -w '%{http_code}' -X "$method" \
           -H 'Content-Type: application/json' "${data[@]}" "$@" "$B$path")
    BODY=$(cat "$T/resp")
}
jf() { echo "$BODY" | jq -r "$1"; }
expect() { # NAME CODE [JQ-EXPR EXPECTED]
    local name=$1 code=$2
    if [ "$CODE" != "$code" ]; then fail "$name" "HTTP $CODE (expected $code): $BODY"; return; fi
    if [ $# -ge 4 ] && [ "$(jf "$3")" != "$4" ]; then fail "$name" "$3 = '$(jf "$3")' (expected '$4'): $BODY"; return; fi
    pass "$name"
}

# A sanitizer report from any process of the group is a failure, even when the
# supervisor restarted the process and the checks above all passed.
finish() {
    if [ -f "$T/group.log" ]; then
        local reports
        reports=$(grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/group.log" | head -3)
        if [ -z "$reports" ]; then pass "no sanitizer report from the group"
        else fail "no sanitizer report from the group" "$reports"; fi
    fi
    [ "$TEST_FAILURES" -eq 0 ]
}
