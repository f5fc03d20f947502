#!/usr/bin/env bash
# A whole Iceberg v2 table as lakehouse-iceberg-tool writes it (the same
# writers the exporter uses): data files rolled at a target size, manifest,
# manifest list, v1.metadata.json and version-hint.text, read back by icebird
# (an Iceberg reader) and by DuckDB over the data files: every row and value,
# ids below 2^53, identifier fields, real file sizes.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }

D="$T/ice"
mkdir -p "$D"
node "$READERS/parquet_gen.mjs" "$D" || { fail "generate" "parquet_gen.mjs failed"; exit 1; }
for c in zstd-required snappy-nulls zstd-multi; do
    # identifier: the first column (required in the "required" case only)
    jq '.identifier = ["c_long"] | .lakehouse_snapshot_id = 42 | .timestamp_ms = 1700000000000
        | if .columns | length > 0 then . else . end | .target_file_bytes = 300000' \
        "$D/$c.spec.json" >"$D/$c.table.json"
    if out=$(lakehouse-iceberg-tool table "$D/$c" "$D/$c.table.json" <"$D/$c.rows.ndjson" 2>&1); then
        pass "$c table written"
    else
        fail "$c table written" "$out"; continue
    fi
    check_eq "$c version hint" "1" "$(cat "$D/$c/metadata/version-hint.text")"
    ids='[]'
    [ "$c" = zstd-required ] && ids="[$(jq '.columns[0].field_id' "$D/$c.spec.json")]"
    node "$READERS/table_check.mjs" "$D/$c" "$D/$c.expected.json" 42 "$ids" | sed "s/^\(PASS\|FAIL\) /\1 $c: /"
done
# the big case was rolled into several data files
check_cmd "several data files" test "$(ls "$D/zstd-multi/data" | wc -l)" -gt 1
# a metadata version is never overwritten
if lakehouse-iceberg-tool table "$D/zstd-required" "$D/zstd-required.table.json" <"$D/zstd-required.rows.ndjson" 2>"$D/again.err"; then
    fail "v1 not overwritten" "a second v1 was written"
else
    check_cmd "v1 not overwritten" grep -q "v1.metadata.json: File exists" "$D/again.err"
fi
exit 0
