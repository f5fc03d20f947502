# tests/iceberg/readers.sh - sourced by the Iceberg export tests: the
# independent readers pinned by tests/iceberg/package-lock.json (DuckDB,
# hyparquet, avsc, icebird) with the check scripts, in the test cache.
# iceberg_readers: sets READERS to that directory; 1 when npm fails.
iceberg_readers() {
    npm_cached iceberg iceberg-readers || return 1
    READERS=$NPM_CACHED
}
