#!/usr/bin/env bash
# Parquet data files as other engines read them: every column type, required
# / with nulls / all null, ZSTD, SNAPPY and uncompressed, and a file of many
# pages and row groups, written by lakehouse-iceberg-tool and read back by
# DuckDB (read_parquet, parquet_schema, parquet_metadata) and by hyparquet:
# values equal, field ids and types right, statistics cover every value. The
# statistics the writer reports (for Iceberg manifests) are checked too.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }

mkdir -p "$T/pq"
node "$READERS/parquet_gen.mjs" "$T/pq" || { fail "generate" "parquet_gen.mjs failed"; exit 1; }
cases=""
for spec in "$T"/pq/*.spec.json; do
    c=$(basename "$spec" .spec.json)
    if lakehouse-iceberg-tool parquet "$T/pq/$c.parquet" "$spec" <"$T/pq/$c.rows.ndjson" >"$T/pq/$c.out" 2>"$T/pq/$c.err"; then
        pass "$c written"
        cases="$cases $c"
    else
        fail "$c written" "$(cat "$T/pq/$c.err")"
        continue
    fi
    # what the writer reports: the real size, the rows and nulls of each column
    check_eq "$c reported size" "$(stat -c %s "$T/pq/$c.parquet")" "$(jq .file_size "$T/pq/$c.out")"
    want=$(jq -c '[.columns as $c | range($c | length) as $i | {values: (.rows | length), nulls: ([.rows[] | select(.[$i] == null)] | length)}]' "$T/pq/$c.expected.json")
    check_eq "$c reported counts" "$want" "$(jq -c '[.columns[] | {values, nulls}]' "$T/pq/$c.out")"
done
# shellcheck disable=SC2086
node "$READERS/parquet_check.mjs" "$T/pq" $cases

# a writer error removes the file: a null in a required column
echo '[1]' >"$T/bad.ndjson"
echo '[null]' >>"$T/bad.ndjson"
echo '{"columns":[{"name":"id","type":"long","field_id":1,"required":true}]}' >"$T/bad.spec.json"
if lakehouse-iceberg-tool parquet "$T/bad.parquet" "$T/bad.spec.json" <"$T/bad.ndjson" 2>"$T/bad.err"; then
    fail "null in a required column refused" "the tool succeeded"
else
    check_cmd "null in a required column refused" grep -q "null in a required column" "$T/bad.err"
fi
check_eq "failed file removed" "no" "$([ -e "$T/bad.parquet" ] && echo yes || echo no)"
# never overwrites
touch "$T/exists.parquet"
if lakehouse-iceberg-tool parquet "$T/exists.parquet" "$T/bad.spec.json" </dev/null 2>/dev/null; then
    fail "existing file kept" "the tool overwrote it"
else
    check_eq "existing file kept" "0" "$(stat -c %s "$T/exists.parquet")"
fi
exit 0
