#!/usr/bin/env bash
# The S3 client (common/s3.c, through lakehouse-s3-tool) against a real S3
# server: Ceph's radosgw on a one-node cluster on loopback
# (tests/s3/radosgw.sh). PUT / GET / HEAD / LIST (paged) / DELETE round trip,
# keys that need encoding, a body of several MiB, wrong credentials refused
# as "auth", the exclusive put (If-None-Match: *) refused as "exists" the
# second time, a missing key as "not found", a closed port as
# "unreachable"; the table store (iceberg_store.h) on S3 and on disk; the
# REST catalog loading a table whose metadata is on S3; and
# `lakehouse config check` and the broker's start on the s3 settings.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/s3/server.sh"
SERVE_PID=""
trap '[ -z "$SERVE_PID" ] || kill "$SERVE_PID" 2>/dev/null; s3_server_stop; cleanup' EXIT
s3_server_start || exit 1
E=$S3_ENDPOINT
s3() { "$LAKEHOUSE_BIN/lakehouse-s3-tool" "$E" lakehouse-test "$@"; }
# s3_rc NAME EXPECTED_STATUS command... : the tool's exit status names the error kind
s3_rc() {
    local name=$1 want=$2; shift 2
    local got=0
    s3 "$@" >"$T/out" 2>"$T/err" || got=$?
    check_eq "$name" "$want" "$got"
}

s3_rc "create bucket" 0 mkbucket
s3_rc "head bucket" 0 headbucket
printf 'hello s3\n' >"$T/small"
head -c 5000000 /dev/urandom >"$T/big"
s3_rc "put" 0 put "t/a b+c=d.txt" "$T/small"
s3_rc "put big" 0 put t/big.bin "$T/big"
s3_rc "get" 0 get "t/a b+c=d.txt" "$T/small.back"
check_cmd "get returns the bytes put" cmp "$T/small" "$T/small.back"
s3_rc "get big" 0 get t/big.bin "$T/big.back"
check_cmd "get big returns the bytes put" cmp "$T/big" "$T/big.back"
s3 head t/big.bin >"$T/size"
check_eq "head size" "5000000" "$(cat "$T/size")"
s3_rc "exclusive put of a new key" 0 put-new t/v1.metadata.json "$T/small"
s3_rc "exclusive put of an existing key: exists" 13 put-new t/v1.metadata.json "$T/big"
s3 get t/v1.metadata.json "$T/v1.back"
check_cmd "the refused exclusive put left the object alone" cmp "$T/small" "$T/v1.back"
for i in 1 2 3 4 5; do s3 put "t/page/$i" "$T/small"; done
S3_LIST_PAGE=2 s3 list t/ >"$T/list" 2>"$T/err"
check_eq "list (pages of 2 keys)" "t/a b+c=d.txt|9 t/big.bin|5000000 t/page/1|9 t/page/2|9 t/page/3|9 t/page/4|9 t/page/5|9 t/v1.metadata.json|9" \
    "$(cut -f1,2 "$T/list" | tr '\t' '|' | paste -sd' ')"
check_cmd "list carries LastModified" grep -qE $'\t20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "$T/list"
s3 list t/page/ >"$T/list2"
check_eq "list with a prefix" "5" "$(wc -l <"$T/list2")"
s3_rc "delete" 0 delete t/page/3
s3_rc "head after delete: not found" 12 head t/page/3
s3_rc "get of a missing key: not found" 12 get t/none "$T/none"
check_cmd "a not-found message names bucket and key" grep -q "s3://lakehouse-test/t/none" "$T/err"
LAKEHOUSE_S3_SECRET_ACCESS_KEY=wrong-secret s3_rc "wrong secret: auth" 11 get t/big.bin "$T/x"
LAKEHOUSE_S3_ACCESS_KEY_ID=nobody s3_rc "unknown access key: auth" 11 list t/
LAKEHOUSE_S3_SECRET_ACCESS_KEY=wrong-secret s3_rc "wrong secret cannot put" 11 put t/evil "$T/small"
if grep -q "wrong-secret" "$T/err"; then fail "secret not in messages" "$(cat "$T/err")"; else pass "secret not in messages"; fi
got=0; "$LAKEHOUSE_BIN/lakehouse-s3-tool" "$E" no-such-bucket headbucket 2>/dev/null || got=$?
check_eq "missing bucket: not found" 12 "$got"
closed=$(free_port)
got=0; "$LAKEHOUSE_BIN/lakehouse-s3-tool" "http://127.0.0.1:$closed" lakehouse-test headbucket 2>/dev/null || got=$?
check_eq "closed port: unreachable" 14 "$got"
S3_VIRTUAL_HOST=0 s3_rc "path style explicitly" 0 head t/big.bin

# ---- the table store (common/iceberg_store.h) on S3 and on local disk --------------------
store_expect() {
    printf '%s\n' "put ok, put-new ok, put-new again exists" 'get ok {"v":1}' "uri $1" \
        "list ns_silver/t/data/0-a.parquet 4 mtime" "list ns_silver/t/metadata/v1.metadata.json 7 mtime" \
        "list ok" "delete ok, get after delete not found, delete again ok"
}
"$LAKEHOUSE_BIN/lakehouse-s3-tool" "$E" lakehouse-test store /group-a/ 2>&1 | sort >"$T/store"
check_eq "table store on S3: exclusive metadata put, get, uri, list, delete" \
    "$(store_expect s3://lakehouse-test/group-a/ns_silver/t/metadata/v1.metadata.json | sort)" "$(cat "$T/store")"
check_eq "table store on S3: keys under s3_prefix" "group-a/ns_silver/t/metadata/v1.metadata.json" \
    "$(s3 list group-a/ | cut -f1 | paste -sd' ')"
"$LAKEHOUSE_BIN/lakehouse-s3-tool" "$T/local" - store "" 2>&1 | sort >"$T/store"
check_eq "table store on disk: the same operations" \
    "$(store_expect "$T/local/iceberg/ns_silver/t/metadata/v1.metadata.json" | sort)" "$(cat "$T/store")"

# ---- the REST catalog loads a table whose metadata is on S3 ------------------------------
# (the export state names an s3:// metadata file; the broker's HTTP API alone serves it)
CD="$T/catdata"; mkdir -p "$CD/silver"
jq -n '{"format-version": 2, "table-uuid": "9c12d5a6-0000-4000-8000-000000000001",
        "location": "s3://lakehouse-test/cat/air_silver/flights", "last-sequence-number": 0,
        "last-updated-ms": 1, "last-column-id": 1, "current-schema-id": 0,
        "schemas": [{"type": "struct", "schema-id": 0, "fields": [{"id": 1, "name": "id", "required": true, "type": "long"}]}],
        "default-spec-id": 0, "partition-specs": [{"spec-id": 0, "fields": []}], "last-partition-id": 999,
        "default-sort-order-id": 0, "sort-orders": [{"order-id": 0, "fields": []}],
        "current-snapshot-id": -1, "snapshots": [], "snapshot-log": [], "metadata-log": []}' >"$T/meta.json"
s3 put cat/air_silver/flights/metadata/v1.metadata.json "$T/meta.json"
sqlite3 "$CD/silver/air.db" "CREATE TABLE _iceberg_tables (table_name TEXT PRIMARY KEY, metadata_file TEXT NOT NULL);
  INSERT INTO _iceberg_tables VALUES ('flights', 's3://lakehouse-test/cat/air_silver/flights/metadata/v1.metadata.json');"
cport=$(free_port)
env LAKEHOUSE_LISTEN="127.0.0.1:$cport" LAKEHOUSE_ICEBERG_EXPORT=s3 LAKEHOUSE_S3_ENDPOINT="$E" \
    LAKEHOUSE_S3_BUCKET=lakehouse-test LAKEHOUSE_S3_REGION="$S3_REGION" \
    "$LAKEHOUSE_BIN/lakehouse-http-serve" --data "$CD" >"$T/serve.out" 2>"$T/serve.log" &
SERVE_PID=$!
wait_until 10 grep -q '^http port=' "$T/serve.out" || fail "http serve" "$(tail -3 "$T/serve.log")"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @"$SAMPLE_DATA/air_flights.json" \
    "http://127.0.0.1:$cport/endpoints"
code=$(curl -s -o "$T/load.json" -w '%{http_code}' "http://127.0.0.1:$cport/iceberg/v1/lakehouse/namespaces/air_silver/tables/flights")
check_eq "catalog: load a table on S3" 200 "$code"
check_eq "catalog: its metadata read from S3" "$(jq -cS . "$T/meta.json")" "$(jq -cS .metadata "$T/load.json")"
check_eq "catalog: metadata-location and S3 client config" \
    "s3://lakehouse-test/cat/air_silver/flights/metadata/v1.metadata.json|$E|true|$S3_REGION" \
    "$(jq -r '[."metadata-location", .config."s3.endpoint", .config."s3.path-style-access", .config."client.region"] | join("|")' "$T/load.json")"
if grep -q "$LAKEHOUSE_S3_SECRET_ACCESS_KEY" "$T/load.json"; then fail "catalog: no credentials in the answer" "secret found"; else pass "catalog: no credentials in the answer"; fi
kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=""

# ---- lakehouse config check on the s3 settings ---------------------------------------
cfg() { echo "$1" >"$T/c.json"; "$LAKEHOUSE_BIN/lakehouse" config check "$T/c.json" 2>&1; }
out=$(cfg "{\"iceberg_export\": \"s3\", \"s3_endpoint\": \"$E\", \"s3_bucket\": \"lakehouse-test\"}")
check_eq "config check: s3 settings that work" "config $T/c.json: ok" "$out"
out=$(cfg "{\"iceberg_export\": \"s3\", \"s3_endpoint\": \"$E\"}")
case "$out" in *"needs s3_bucket"*) pass "config check: s3 without bucket";; *) fail "config check: s3 without bucket" "$out";; esac
out=$(LAKEHOUSE_S3_ACCESS_KEY_ID= cfg "{\"iceberg_export\": \"s3\", \"s3_endpoint\": \"$E\", \"s3_bucket\": \"lakehouse-test\"}")
case "$out" in *"no S3 credentials"*) pass "config check: s3 without credentials";; *) fail "config check: s3 without credentials" "$out";; esac
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$LAKEHOUSE_S3_ACCESS_KEY_ID" "$LAKEHOUSE_S3_SECRET_ACCESS_KEY" >"$T/creds"
out=$(LAKEHOUSE_S3_ACCESS_KEY_ID= LAKEHOUSE_S3_SECRET_ACCESS_KEY= cfg "{\"iceberg_export\": \"s3\", \"s3_endpoint\": \"$E\", \"s3_bucket\": \"lakehouse-test\", \"s3_credentials_file\": \"$T/creds\", \"s3_path_style\": true}")
check_eq "config check: credentials from s3_credentials_file" "config $T/c.json: ok" "$out"
out=$(LAKEHOUSE_S3_SECRET_ACCESS_KEY=wrong-secret cfg "{\"iceberg_export\": \"s3\", \"s3_endpoint\": \"$E\", \"s3_bucket\": \"lakehouse-test\"}")
case "$out" in *"credentials refused"*) pass "config check: wrong credentials";; *) fail "config check: wrong credentials" "$out";; esac
case "$out" in *wrong-secret*) fail "config check does not print the secret" "$out";; *) pass "config check does not print the secret";; esac
out=$(cfg "{\"iceberg_export\": \"s3\", \"s3_endpoint\": \"http://127.0.0.1:$closed\", \"s3_bucket\": \"lakehouse-test\"}")
case "$out" in *unreachable*) pass "config check: unreachable endpoint";; *) fail "config check: unreachable endpoint" "$out";; esac
out=$(cfg '{"iceberg_export": "ftp"}')
case "$out" in *"iceberg_export 'ftp': must be off, local or s3"*) pass "config check: unknown mode";; *) fail "config check: unknown mode" "$out";; esac
rc=0; out=$(LAKEHOUSE_ICEBERG_EXPORT=s3 LAKEHOUSE_S3_ACCESS_KEY_ID= timeout 20 "$LAKEHOUSE_BIN/lakehouse-broker" --data "$T/nobucket" 2>&1) || rc=$?
case "$rc:$out" in 1:*"needs s3_bucket"*"no S3 credentials"*) pass "broker refuses to start: s3 without bucket and credentials";;
    *) fail "broker refuses to start: s3 without bucket and credentials" "rc=$rc $out";; esac
finish
