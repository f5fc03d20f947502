#!/usr/bin/env bash
# Iceberg export to S3 (iceberg_export = "s3") against a real S3 server,
# Ceph's radosgw on loopback (tests/s3/radosgw.sh), and "beyond one host":
# two groups on this machine (two data directories, two ports), each owning
# its domains, export to one bucket under their own prefixes.
# - group A (domain air, prefix group-a) exports silver flights-20k, its
#   bronze (appended twice, read back by icebird over S3) and a
#   gold table: every file is an object under s3://BUCKET/group-a/, none is
#   left on local disk, the pointer in SQLite is the s3:// location;
# - the REST catalog's table load answers the s3:// metadata location, the
#   metadata read from S3 and the S3 client settings (no credentials);
# - the tables are read back over HTTP from the S3 server by icebird (an
#   Iceberg reader) with requests signed by curl's SigV4, and their data
#   files by DuckDB, and equal `lakehouse query`;
# - wrong credentials are refused: group B's exporter with a wrong secret
#   commits nothing (the export fails naming it), and so is a reader;
# - the exclusive create of v<N+1>.metadata.json: an object already there
#   (left by an export that did not commit) is seen and replaced;
# - group B (domain shop, prefix group-b) exports too, and a reader lists
#   the namespaces and tables of both catalogs and reads every table.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/iceberg/readers.sh"
iceberg_readers || { fail "readers" "npm could not install tests/iceberg/package-lock.json"; exit 1; }
DATA_FILE="$SHARED_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
source "$LAKEHOUSE_SOURCE/tests/s3/server.sh"
trap 's3_server_stop; cleanup' EXIT
s3_server_start || exit 1
BUCKET=lakehouse-tables
SECRET=$LAKEHOUSE_S3_SECRET_ACCESS_KEY
s3() { "$LAKEHOUSE_BIN/lakehouse-s3-tool" "$S3_ENDPOINT" "$BUCKET" "$@"; }
s3 mkbucket || { fail "bucket" "could not create $BUCKET"; exit 1; }
export TZ=UTC LAKEHOUSE_QUERY_MAX_ROWS=100000
export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=3600   # only `lakehouse export` exports here
export LAKEHOUSE_ICEBERG_EXPORT=s3 LAKEHOUSE_S3_ENDPOINT=$S3_ENDPOINT LAKEHOUSE_S3_BUCKET=$BUCKET \
    LAKEHOUSE_S3_REGION=$S3_REGION

# The two groups: data directory, HTTP address and prefix of each.
DATA_A=$T/data; LISTEN_A=$LAKEHOUSE_LISTEN; DATA_B=$T/data-b; LISTEN_B=127.0.0.1:$(free_port)
PID_A=""; PID_B=""
use_a() { export LAKEHOUSE_DATA=$DATA_A LAKEHOUSE_LISTEN=$LISTEN_A LAKEHOUSE_S3_PREFIX=group-a; GROUP_PID=$PID_A; }
use_b() { export LAKEHOUSE_DATA=$DATA_B LAKEHOUSE_LISTEN=$LISTEN_B LAKEHOUSE_S3_PREFIX=group-b; GROUP_PID=$PID_B; }
keep() { if [ "$LAKEHOUSE_DATA" = "$DATA_A" ]; then PID_A=$GROUP_PID; else PID_B=$GROUP_PID; fi; }
last_snapshot() { sql_silver "$1" "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='$2';"; }
# check_table NAME LOCATION ROWS_JSON SNAPSHOT IDENTIFIER_IDS SORT_KEY: icebird and DuckDB over S3
check_table() {
    node "$READERS/table_check.mjs" "$2" "$3" "$4" "$5" "$6" | sed "s/^\(PASS\|FAIL\) /\1 $1: /"
}
# load NAME BASE NS TABLE: the catalog's table load into $T/NAME.load.json; prints the HTTP code
load() {
    curl -s -o "$T/$1.load.json" -w '%{http_code}' "http://$2/iceberg/v1/lakehouse/namespaces/$3/tables/$4"
}

# ---- group A: silver and gold of domain air, exported to s3://BUCKET/group-a ------------
use_a
start_group || { fail "start A" "group did not start"; exit 1; }
keep
check_cmd "A: endpoint create" lakehouse endpoint create "$SAMPLE_DATA/air_flights.json"
mkdir -p "$T/jobs"
cat >"$T/jobs/delay_full.sql" <<'EOF'
-- domain: air
-- write_mode: overwrite
SELECT origin, substr(date, 1, 10) AS day, count(*) AS flights, sum(delay) AS total_delay
FROM air.silver.flights GROUP BY 1, 2
EOF
check_cmd "A: job add" lakehouse job add "$T/jobs"
sqlite3 -batch -noheader :memory: "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE'));" >"$T/flights.ndjson"
lakehouse send air/flights "$T/flights.ndjson" >/dev/null
if wait_eq 120 20000 sql_silver air "SELECT count(*) FROM flights;"; then pass "A: flights merged"; else fail "A: flights merged" "got $WAIT_LAST"; fi
gold_read() {
    sql_gold air "SELECT l.input_snapshot_id FROM _lineage l WHERE l.snapshot_id =
                  (SELECT max(snapshot_id) FROM _snapshots WHERE table_name='delay_full');" 2>/dev/null
}
if wait_eq 120 "$(last_snapshot air flights)" gold_read; then pass "A: gold job ran"; else fail "A: gold job ran" "got $WAIT_LAST"; fi
out=$(lakehouse export --wait 2>&1)
check_eq "A: lakehouse export names the bucket and prefix" \
    "exported 2 table(s) to s3://$BUCKET/group-a (the others were current)
gold: exported 1 table(s) to s3://$BUCKET/group-a (the others were current)" "$out"
LOC=s3://$BUCKET/group-a/air_silver/flights
GLOC=s3://$BUCKET/group-a/air_gold/delay_full
S=$(last_snapshot air flights)
check_eq "A: pointer in SQLite is the s3:// location" "1|$S|$LOC|$LOC/metadata/v1.metadata.json" \
    "$(sql_silver air "SELECT metadata_version, exported_snapshot, location, metadata_file FROM _iceberg_tables WHERE table_name='flights';")"
s3 list group-a/air_silver/flights/ | cut -f1 >"$T/keys"
check_eq "A: metadata, hint, manifest list and manifest on S3" "1|1|2" \
    "$(grep -c '/metadata/v1\.metadata\.json$' "$T/keys")|$(grep -c '/metadata/version-hint\.text$' "$T/keys")|$(grep -c '/metadata/.*\.avro$' "$T/keys")"
sql_silver air "SELECT path FROM _iceberg_files WHERE table_name='flights';" >"$T/referenced"
check_eq "A: every referenced file is an object of the bucket" "3+|" \
    "$([ "$(wc -l <"$T/referenced")" -ge 3 ] && echo 3+)|$(while read -r f; do
        grep -qx "${f#s3://$BUCKET/}" "$T/keys" || echo "$f"; done <"$T/referenced")"
check_cmd "A: data files are Parquet objects" grep -q '^group-a/air_silver/flights/data/.*\.parquet$' "$T/keys"
check_eq "A: nothing exported to local disk, nothing left staged" "0|0" \
    "$(find "$DATA_A/iceberg" -type f 2>/dev/null | wc -l)|$(find "$DATA_A/run/iceberg-staging" -type f 2>/dev/null | wc -l)"
s3 get group-a/air_silver/flights/metadata/version-hint.text "$T/hint"
check_eq "A: version hint" "1" "$(cat "$T/hint")"

# ---- the catalog hands out the S3 location and settings -------------------------------
code=$(load flights "$LISTEN_A" air_silver flights)
check_eq "A catalog: load of a table on S3" 200 "$code"
check_eq "A catalog: metadata-location and S3 client config" \
    "$LOC/metadata/v1.metadata.json|$S3_ENDPOINT|true|$S3_REGION" \
    "$(jq -r '[."metadata-location", .config."s3.endpoint", .config."s3.path-style-access", .config."client.region"] | join("|")' "$T/flights.load.json")"
s3 get group-a/air_silver/flights/metadata/v1.metadata.json "$T/v1.json"
check_eq "A catalog: the metadata is the object on S3" "$(jq -cS . "$T/v1.json")" "$(jq -cS .metadata "$T/flights.load.json")"
if grep -q "$SECRET" "$T/flights.load.json"; then fail "A catalog: no credentials in the answer" "secret found"
else pass "A catalog: no credentials in the answer"; fi

# ---- read back from S3 by readers we did not write -------------------------------------
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/flights.rows.json"
check_table "A silver flights" "$(jq -r .metadata.location "$T/flights.load.json")" "$T/flights.rows.json" "$S" "[1]" id
G=$(sql_gold air "SELECT max(snapshot_id) FROM _snapshots WHERE table_name='delay_full';")
lakehouse query --json "SELECT * FROM air.gold.delay_full" | jq '.data | sort_by(.origin, .day)' >"$T/gold.rows.json"
# table_check compares rows in scan order: the values are compared below in (origin, day) order
node "$READERS/table_check.mjs" "$GLOC" "$T/gold.rows.json" "$G" 2>&1 |
    grep -v 'icebird values' | sed 's/^\(PASS\|FAIL\) /\1 A gold delay_full: /'
(cd "$READERS" && node -e '
  import("icebird").then(async ({ icebergRead }) => { await import(process.argv[1]);
    const rows = (await icebergRead({ tableUrl: process.argv[2] }))
      .map((r) => [r.origin, r.day, Number(r.flights), Number(r.total_delay)]).sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
    console.log(JSON.stringify(rows)); })' "$READERS/s3_fetch.mjs" "$GLOC") >"$T/gold.icebird" 2>&1
check_eq "A gold delay_full: icebird rows from S3 equal lakehouse query" \
    "$(jq -c 'map([.origin, .day, .flights, .total_delay])' "$T/gold.rows.json")" "$(cat "$T/gold.icebird")"
out=$(LAKEHOUSE_S3_SECRET_ACCESS_KEY=wrong-secret node "$READERS/readable_check.mjs" "$LOC" "wrong secret" 2>&1)
case "$out" in FAIL*) pass "a reader with a wrong secret cannot read the table";; *) fail "a reader with a wrong secret cannot read the table" "$out";; esac
code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$LAKEHOUSE_S3_ACCESS_KEY_ID:wrong-secret" \
    "$S3_ENDPOINT/$BUCKET/group-a/air_silver/flights/metadata/v1.metadata.json")
check_eq "S3 refuses a wrong secret (403)" 403 "$code"

# ---- exclusive create of the next metadata version ------------------------------------
echo '{"left": "by an export that did not commit"}' >"$T/stale.json"
s3 put group-a/air_silver/flights/metadata/v2.metadata.json "$T/stale.json"
seq 20001 20050 | while read -r i; do echo "{\"id\":$i,\"date\":\"2001/06/01 10:00\",\"delay\":1,\"distance\":2,\"origin\":\"AAA\",\"destination\":\"BBB\"}"; done >"$T/more.ndjson"
lakehouse send air/flights "$T/more.ndjson" >/dev/null
if wait_eq 60 20050 sql_silver air "SELECT count(*) FROM flights;"; then pass "A: more rows merged"; else fail "A: more rows merged" "got $WAIT_LAST"; fi
check_cmd "A: second export" lakehouse export air/flights
check_cmd "A: the exclusive put saw v2 already there" grep -q "iceberg_metadata_exists file=$LOC/metadata/v2.metadata.json" "$T/group.log"
s3 get group-a/air_silver/flights/metadata/v2.metadata.json "$T/v2.json"
check_eq "A: v2 is the committed version, parent v1" "$(last_snapshot air flights)|2" \
    "$(jq -r '[.snapshots[-1].summary["lakehouse.snapshot-id"], (.snapshots | length)] | map(tostring) | join("|")' "$T/v2.json")"
lakehouse query --json "SELECT * FROM air.silver.flights" | jq '.data' >"$T/flights2.rows.json"
check_table "A silver flights v2" "$LOC" "$T/flights2.rows.json" "$(last_snapshot air flights)" "[1]" id
lakehouse query --json "SELECT * FROM air.bronze.flights" | jq '.data' >"$T/bronze.rows.json"
check_table "A bronze flights (appended twice)" "s3://$BUCKET/group-a/air_bronze/flights" "$T/bronze.rows.json" 0 "[]" _seq

# ---- group B: domain shop, prefix group-b; first with a wrong secret -------------------
cat >"$T/orders.json" <<'JSON'
{"domain": "shop", "name": "orders", "mode": "MANUAL",
 "columns": [
  {"name": "order_id", "type": "integer", "required": true, "primary_key": true},
  {"name": "customer", "type": "string", "required": true},
  {"name": "amount", "type": "decimal", "precision": 10, "scale": 2},
  {"name": "placed_at", "type": "timestamp"}
 ]}
JSON
seq 1 300 | while read -r i; do
    printf '{"order_id":%d,"customer":"c%d","amount":"%d.%02d","placed_at":"2024-03-%02dT10:00:00Z"}\n' \
        "$i" $((i % 17)) $((i * 3)) $((i % 100)) $((i % 28 + 1))
done >"$T/orders.ndjson"
use_b
LAKEHOUSE_S3_SECRET_ACCESS_KEY=wrong-secret start_group || { fail "start B" "group did not start"; exit 1; }
keep
check_cmd "B: endpoint create" lakehouse endpoint create "$T/orders.json"
lakehouse send shop/orders "$T/orders.ndjson" >/dev/null
if wait_eq 60 300 sql_silver shop "SELECT count(*) FROM orders;"; then pass "B: orders merged"; else fail "B: orders merged" "got $WAIT_LAST"; fi
rc=0; out=$(lakehouse export shop 2>&1) || rc=$?
case "$rc:$out" in [1-9]*:*"credentials refused"*) pass "B: export with a wrong secret fails naming it";;
    *) fail "B: export with a wrong secret fails naming it" "rc=$rc $out";; esac
case "$out" in *wrong-secret*) fail "B: the secret is not in the message" "$out";; *) pass "B: the secret is not in the message";; esac
check_eq "B: nothing committed, no object under group-b" "0|" \
    "$(sql_silver shop "SELECT count(*) FROM _iceberg_tables;" 2>/dev/null || echo 0)|$(s3 list group-b/ | cut -f1 | paste -sd' ')"
stop_group || fail "B: stop" "non-zero exit"
start_group || { fail "restart B" "group did not start"; exit 1; }
keep
out=$(lakehouse export shop 2>&1)
check_eq "B: export with the right secret" "exported 2 table(s) to s3://$BUCKET/group-b (the others were current)" \
    "$(echo "$out" | head -1)"
lakehouse query --json "SELECT * FROM shop.silver.orders" | jq '.data' >"$T/orders.rows.json"

# ---- beyond one host: a reader lists and reads the tables of both groups -------------
check_eq "one bucket, a prefix per group" "group-a group-b" \
    "$(s3 list group- | cut -f1 | cut -d/ -f1 | sort -u | paste -sd' ')"
: >"$T/found"
for base in "$LISTEN_A" "$LISTEN_B"; do
    for ns in $(curl -s "http://$base/iceberg/v1/lakehouse/namespaces" | jq -r '.namespaces[][0]'); do
        for t in $(curl -s "http://$base/iceberg/v1/lakehouse/namespaces/$ns/tables" | jq -r '.identifiers[].name'); do
            load "$ns.$t" "$base" "$ns" "$t" >/dev/null
            echo "$ns.$t $(jq -r '."metadata-location"' "$T/$ns.$t.load.json")" >>"$T/found"
        done
    done
done
check_eq "both catalogs list their tables, each at its group's prefix" \
    "air_bronze.flights s3://$BUCKET/group-a/air_bronze/flights/metadata/v2.metadata.json
air_gold.delay_full s3://$BUCKET/group-a/air_gold/delay_full/metadata/v1.metadata.json
air_silver.flights s3://$BUCKET/group-a/air_silver/flights/metadata/v2.metadata.json
shop_bronze.orders s3://$BUCKET/group-b/shop_bronze/orders/metadata/v1.metadata.json
shop_silver.orders s3://$BUCKET/group-b/shop_silver/orders/metadata/v1.metadata.json" "$(sort "$T/found")"
check_table "B silver orders (through B's catalog)" "$(jq -r .metadata.location "$T/shop_silver.orders.load.json")" \
    "$T/orders.rows.json" "$(last_snapshot shop orders)" "[1]" order_id
check_table "A silver flights (through A's catalog)" "$(jq -r .metadata.location "$T/air_silver.flights.load.json")" \
    "$T/flights2.rows.json" "$(use_a; last_snapshot air flights)" "[1]" id
stop_group || fail "B: stop" "non-zero exit"
use_a
stop_group || fail "A: stop" "non-zero exit"
finish
