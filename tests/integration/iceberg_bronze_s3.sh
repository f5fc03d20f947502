#!/usr/bin/env bash
# Bronze exported to S3 (iceberg_export "s3", Ceph's radosgw on loopback,
# tests/s3/radosgw.sh): an append after a first export lands under
# <bucket>/<prefix>/air_bronze/flights/ (metadata versions, manifests and data
# files as s3:// locations), the pointer in SQLite is the s3:// metadata
# location, and the REST catalog loads the table from there.
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SHARED_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
RGW="$T/rgw"
trap 'bash "$LAKEHOUSE_SOURCE/tests/s3/radosgw.sh" stop "$RGW" >/dev/null 2>&1; cleanup' EXIT
port=$(free_port); mon_port=$(free_port)
if ! out=$(bash "$LAKEHOUSE_SOURCE/tests/s3/radosgw.sh" start "$RGW" "$port" "$mon_port" 2>&1); then
    fail "radosgw start" "$(echo "$out" | tail -3)"; exit 1
fi
pass "radosgw start"
kv() { echo "$out" | sed -n "s/^$1=//p"; }
E=$(kv endpoint)
export LAKEHOUSE_S3_ACCESS_KEY_ID=$(kv access_key) LAKEHOUSE_S3_SECRET_ACCESS_KEY=$(kv secret_key)
s3() { "$LAKEHOUSE_BIN/lakehouse-s3-tool" "$E" lakehouse-bronze "$@"; }
check_cmd "create bucket" s3 mkbucket
export TZ=UTC LAKEHOUSE_ICEBERG_EXPORT=s3 LAKEHOUSE_S3_ENDPOINT="$E" LAKEHOUSE_S3_BUCKET=lakehouse-bronze \
    LAKEHOUSE_S3_PREFIX=group-a LAKEHOUSE_S3_REGION="$(kv region)" LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=3600
start_group || { fail "start" "group did not start"; exit 1; }
src() { sqlite3 -batch -noheader :memory: "$1"; }
check_cmd "endpoint create" lakehouse endpoint create "$LAKEHOUSE_SOURCE/tests/data/air_flights.json"
for part in 0 1; do
    src "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 1000 OFFSET $((part * 1000));" |
        lakehouse send air/flights >/dev/null
    if wait_eq 120 $((part * 1000 + 1000)) sql_silver air "SELECT count(*) FROM flights;"; then pass "part $part merged"; else fail "part $part merged" "got $WAIT_LAST"; fi
    check_cmd "export $part" lakehouse export air/flights
done
LOC="s3://lakehouse-bronze/group-a/air_bronze/flights"
check_eq "pointer: the s3 location of version 2" "$LOC/metadata/v2.metadata.json" \
    "$(sql_silver air "SELECT metadata_file FROM _iceberg_bronze_tables WHERE endpoint='flights';")"
check_cmd "metadata read back" s3 get group-a/air_bronze/flights/metadata/v2.metadata.json "$T/v2.json"
check_eq "location, append, records" "$LOC|append|2000" \
    "$(jq -r '[.location, .snapshots[-1].summary.operation, .snapshots[-1].summary["total-records"]] | join("|")' "$T/v2.json")"
s3 list group-a/air_bronze/flights/ >"$T/keys" 2>&1
check_eq "data files on S3 (one per export)" 2 "$(grep -c '/data/.*\.parquet' "$T/keys")"
check_eq "version hint on S3" 2 "$(s3 get group-a/air_bronze/flights/metadata/version-hint.text "$T/hint" >/dev/null && cat "$T/hint")"
check_eq "nothing under the local iceberg dir" "" "$(find "$LAKEHOUSE_DATA/iceberg" -path '*bronze*' -type f 2>/dev/null)"
check_eq "catalog loads air_bronze.flights from S3" "$LOC/metadata/v2.metadata.json|2000" \
    "$(curl -s "http://$LAKEHOUSE_LISTEN/iceberg/v1/lakehouse/namespaces/air_bronze/tables/flights" |
        jq -r '[."metadata-location", .metadata.snapshots[-1].summary["total-records"]] | join("|")')"
stop_group || fail "group stop" "non-zero exit"
exit 0
