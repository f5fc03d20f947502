# tests/iceberg/readers.sh - sourced by the Iceberg export tests: installs the
# independent readers pinned by tests/iceberg/package-lock.json (DuckDB,
# hyparquet, avsc, icebird) once into a cache directory keyed by the lock
# file's hash, and copies the check scripts beside them (Node resolves an ES
# module's imports from the script's own directory).
# iceberg_readers: sets READERS to that directory; 1 when npm fails.
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
