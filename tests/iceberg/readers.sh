# tests/iceberg/readers.sh - sourced by the Iceberg export tests: installs the
# independent readers pinned by tests/iceberg/package-lock.json (DuckDB,
# hyparquet, avsc, icebird) once into a cache directory keyed by the lock
# file's hash, and copies the check scripts beside them (Node resolves an ES
# module's imports from the script's own directory).
# iceberg_readers: sets READERS to that directory; 1 when npm fails.
# kill_during_export SCOPE: `lakehouse export SCOPE` in the background, a
# kill -9 of the processor at a random moment within a second, then a wait
# for the supervisor's restart; KILLED=1 when the kill landed, else 0.
iceberg_readers() {
    local src="$LAKEHOUSE_SOURCE/tests/iceberg" hash
    hash=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
    READERS=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/iceberg-readers-$hash
    if [ ! -f "$READERS/.installed" ]; then
        mkdir -p "$READERS" &&
        cp "$src/package.json" "$src/package-lock.json" "$READERS/" &&
        (cd "$READERS" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) &&
        touch "$READERS/.installed" || return 1
    fi
    cp "$src"/*.mjs "$READERS/"
}

kill_during_export() {
    local exporter pid
    KILLED=0
    lakehouse export "$1" >/dev/null 2>&1 &
    exporter=$!
    sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
    pid=$(cat "$LAKEHOUSE_DATA/run/processor.pid" 2>/dev/null)
    if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
        KILLED=1
        wait_until 30 sh -c "p=\$(cat '$LAKEHOUSE_DATA/run/processor.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p"
    fi
    # the request died with the processor: its client would wait for its timeout
    kill "$exporter" 2>/dev/null
    wait "$exporter" 2>/dev/null
    return 0
}
