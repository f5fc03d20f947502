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

# iceberg_kill_export K PROC TARGET TD DB TABLE: kill -9 of PROC (processor or
# transformer) at a random point of `lakehouse export TARGET`; then the version
# the hint of the table at TD names must be whole, and the hint must catch up
# with the pointer of TABLE in DB (a silver or gold database file) once PROC
# is back. KILLED counts the kills that landed.
iceberg_kill_export() {
    local k=$1 proc=$2 target=$3 td=$4 db=$5 table=$6 exporter pid
    local pidfile="$LAKEHOUSE_DATA/run/$2.pid" sock="$LAKEHOUSE_DATA/run/$2.sock"
    local pointer="SELECT metadata_version FROM _iceberg_tables WHERE table_name='$table'"
    lakehouse export "$target" >"$T/export$k.out" 2>&1 &
    exporter=$!
    sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
    pid=$(cat "$pidfile" 2>/dev/null)
    if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
        KILLED=$((KILLED + 1))
        wait_until 30 sh -c "p=\$(cat '$pidfile' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p"
        [ "$proc" != transformer ] || wait_until 30 test -S "$sock"
    fi
    # the request died with the process: its client would wait for its timeout
    kill "$exporter" 2>/dev/null
    wait "$exporter" 2>/dev/null
    node "$READERS/readable_check.mjs" "$td" "kill $k: the hinted version is whole"
    if wait_until 30 sh -c "[ \"\$(cat '$td/metadata/version-hint.text')\" = \"\$(sqlite3 -batch -noheader 'file:$db?mode=ro' \"$pointer\")\" ]"; then
        pass "kill $k: hint equals the pointer after restart"
    else
        fail "kill $k: hint equals the pointer after restart" \
            "hint $(cat "$td/metadata/version-hint.text") pointer $(sqlite3 -batch -noheader "file:$db?mode=ro" "$pointer")"
    fi
}

# iceberg_plant_orphans TD: the files a crashed export leaves under the table
# at TD: old ones (to be swept at the next start) and a young one (kept).
iceberg_plant_orphans() {
    touch -d '2 hours ago' "$1/data/99999-stray.parquet" "$1/metadata/v9.metadata.json" "$1/metadata/stray-m0.avro"
    touch "$1/data/99998-young.parquet"
}

# iceberg_check_swept TD DB TABLE: after a start, the old planted orphans are
# gone, the young one and every file _iceberg_files of DB lists are kept.
iceberg_check_swept() {
    local td=$1 db=$2 table=$3 missing
    if wait_until 30 bash -c "! test -e '$td/data/99999-stray.parquet'"; then pass "$table: old orphan data file swept"
    else fail "$table: old orphan data file swept" "still there"; fi
    check_eq "$table: orphan metadata swept, a young file kept" "no|no|yes" \
        "$(for f in metadata/v9.metadata.json metadata/stray-m0.avro data/99998-young.parquet; do [ -e "$td/$f" ] && printf yes || printf no; printf '|'; done | sed 's/|$//')"
    missing=$(sqlite3 -batch -noheader "file:$db?mode=ro" "SELECT path FROM _iceberg_files WHERE table_name='$table';" |
        while read -r f; do [ -f "$f" ] || echo "$f"; done)
    check_eq "$table: every referenced file kept" "" "$missing"
}

# iceberg_test_start [MAX_ROWS]: the readers, flights-20k (DATA_FILE) and a
# group that exports only on `lakehouse export` and answers queries of up to
# MAX_ROWS rows (100000); exits the test when one is missing.
iceberg_test_start() {
    iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }
    DATA_FILE="$SHARED_DATA/flights-20k.json"
    [ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
    export TZ=UTC LAKEHOUSE_QUERY_MAX_ROWS=${1:-100000}
    export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=3600   # only `lakehouse export` exports
    start_group || { fail "start" "group did not start"; exit 1; }
}

# src SQL: SQLite without a database (JSON functions, readfile) for test data.
src() { sqlite3 -batch -noheader :memory: "$1"; }

# iceberg_send_flight ID K ROWS: one flight (id ID, delay K, origin K<K>) sent to
# air/flights, then wait until the silver table has ROWS rows.
iceberg_send_flight() {
    echo "{\"id\":$1,\"date\":\"2001/06/01 10:00\",\"delay\":$2,\"distance\":1,\"origin\":\"K$2\",\"destination\":\"X\"}" |
        lakehouse send air/flights >/dev/null
    wait_eq 60 "$3" sql_silver air "SELECT count(*) FROM flights;" >/dev/null
}
