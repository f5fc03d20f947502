#!/usr/bin/env bash
# Iceberg manifests and manifest lists (Avro object container files) as other
# implementations read them: Parquet files of parquet_gen.mjs, their writer
# metrics in a manifest of ADDED / EXISTING / DELETED entries, a position-
# delete manifest, and a manifest list over both, read back by npm avsc and by
# Debian's python3-avro: metadata keys, field ids, counts, explicit sequence
# numbers, real sizes, bounds covering every value.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }
PY=/usr/bin/python3   # Debian's python, which has python3-avro

D="$T/ice"
mkdir -p "$D"
node "$READERS/parquet_gen.mjs" "$D" || { fail "generate" "parquet_gen.mjs failed"; exit 1; }
for c in zstd-nulls snappy-required zstd-allnull; do
    lakehouse-iceberg-tool parquet "$D/$c.parquet" "$D/$c.spec.json" <"$D/$c.rows.ndjson" >"$D/$c.out" \
        || { fail "parquet $c" "tool failed"; exit 1; }
done

# the Iceberg schema of parquet_gen's columns
jq -c '{type: "struct", "schema-id": 0, fields: [.columns[] | {id: .field_id, name, required,
        type: (if .type == "decimal" then "decimal(\(.precision),\(.scale))" else .type end)}]}' \
    "$D/zstd-nulls.spec.json" >"$D/schema.json"
entry() { # FILE-CASE STATUS SNAPSHOT SEQ FILESEQ
    jq -c --arg p "$D/$1.parquet" --arg e "$D/$1.expected.json" --argjson st "$2" --argjson sn "$3" \
          --argjson sq "$4" --argjson fs "$5" --slurpfile out "$D/$1.out" \
        '{status: $st, snapshot_id: $sn, sequence_number: $sq, file_sequence_number: $fs, expected: $e,
          file: {path: $p, record_count: (.rows | length), metrics: [$out[0].columns[].metrics]}}' \
        "$D/$1.expected.json"
}
jq -n --slurpfile s "$D/schema.json" \
      --argjson a "$(entry zstd-nulls 1 4503599627370495 null null)" \
      --argjson b "$(entry snappy-required 0 17 3 2)" \
      --argjson c "$(entry zstd-allnull 2 4503599627370495 1 1)" \
    '{schema: $s[0], schema_id: 0, content: "data", entries: [$a, $b, $c]}' >"$D/manifest.json"
jq '.content = "deletes" | .entries = [.entries[0]]' "$D/manifest.json" >"$D/deletes.json"
check_cmd "manifest written" lakehouse-iceberg-tool manifest "$D/m-data.avro" "$D/manifest.json"
check_cmd "delete manifest written" lakehouse-iceberg-tool manifest "$D/m-deletes.avro" "$D/deletes.json"
jq -n --arg m1 "$D/m-data.avro" --arg m2 "$D/m-deletes.avro" \
    '{snapshot_id: 4503599627370495, parent_id: 17, sequence_number: 4, manifests: [
       {path: $m1, content: "data", sequence_number: 4, min_sequence_number: 1, added_snapshot_id: 4503599627370495,
        added_files: 1, existing_files: 1, deleted_files: 1, added_rows: 300, existing_rows: 300, deleted_rows: 300},
       {path: $m2, content: "deletes", sequence_number: 4, min_sequence_number: 4, added_snapshot_id: 4503599627370495,
        added_files: 1, existing_files: 0, deleted_files: 0, added_rows: 300, existing_rows: 0, deleted_rows: 0}]}' \
    >"$D/list.json"
check_cmd "manifest list written" lakehouse-iceberg-tool manifest-list "$D/snap.avro" "$D/list.json"

node "$READERS/manifest_check.mjs" "$D/m-data.avro" "$D/manifest.json" "$D/snap.avro" "$D/list.json"
node "$READERS/manifest_check.mjs" "$D/m-deletes.avro" "$D/deletes.json" "$D/snap.avro" "$D/list.json" \
    | sed 's/^\(PASS\|FAIL\) /\1 deletes: /'
PYTHONWARNINGS=ignore $PY "$LAKEHOUSE_SOURCE/tests/iceberg/manifest_check.py" "$D/m-data.avro" "$D/manifest.json" "$D/snap.avro" "$D/list.json"

# an EXISTING entry without its sequence numbers is refused, and nothing is written
jq '.entries[1].sequence_number = null' "$D/manifest.json" >"$D/bad.json"
if lakehouse-iceberg-tool manifest "$D/bad.avro" "$D/bad.json" 2>"$D/bad.err"; then
    fail "existing entry needs sequence numbers" "written"
else
    check_cmd "existing entry needs sequence numbers" grep -q "needs its sequence numbers" "$D/bad.err"
fi
check_eq "no manifest left by the refusal" "no" "$([ -e "$D/bad.avro" ] && echo yes || echo no)"
exit 0
