#!/usr/bin/env bash
# The broker's read-only Iceberg REST catalog (/iceberg/v1/...) with curl:
# config (prefix, the read-only endpoint list), namespaces per domain and
# layer, the exported tables, loading a table (metadata-location = the
# pointer committed in SQLite, metadata = that file), HEAD, errors in the
# catalog's shape ({"error": {"message", "type", "code"}}) for a missing
# namespace or table, the bearer token, and a second export moving the
# loaded metadata to the next version; then the same through npm iceberg-js.
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
export TZ=UTC LAKEHOUSE_HTTP_TOKEN=catalog-token
export LAKEHOUSE_ICEBERG_EXPORT_INTERVAL_S=3600   # only `lakehouse export` exports here
start_group || { fail "start" "group did not start"; exit 1; }
B="http://$LAKEHOUSE_LISTEN/iceberg/v1"
get() { curl -s -H "Authorization: Bearer $LAKEHOUSE_HTTP_TOKEN" -o "$T/body" -w '%{http_code}' "$@"; }

check_cmd "endpoint create" lakehouse endpoint create "$SAMPLE_DATA/air_flights.json"
sqlite3 -batch -noheader :memory: \
    "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 500;" >"$T/f.ndjson"
lakehouse send air/flights "$T/f.ndjson" >/dev/null
if wait_eq 60 500 sql_silver air "SELECT count(*) FROM flights;"; then pass "rows merged"; else fail "rows merged" "got $WAIT_LAST"; fi
check_cmd "export" lakehouse export air/flights --wait

check_eq "config: 200" 200 "$(get "$B/config")"
check_eq "config: prefix" "lakehouse" "$(jq -r .overrides.prefix "$T/body")"
check_eq "config: read-only endpoints" "GET GET HEAD GET GET HEAD" \
    "$(jq -r '.endpoints[] | split(" ")[0]' "$T/body" | paste -sd' ')"
P="$B/lakehouse"
check_eq "namespaces: 200" 200 "$(get "$P/namespaces")"
check_eq "namespaces: one per layer of the domain" '[["air_bronze"],["air_silver"],["air_gold"]]' \
    "$(jq -c .namespaces "$T/body")"
check_eq "namespace: 200" 200 "$(get "$P/namespaces/air_silver")"
check_eq "namespace: body" '["air_silver"]' "$(jq -c .namespace "$T/body")"
check_eq "namespace HEAD: 204" 204 "$(get -I "$P/namespaces/air_silver")"
check_eq "unknown namespace: 404" 404 "$(get "$P/namespaces/nope_silver")"
check_eq "unknown namespace: error shape" "NoSuchNamespaceException|404|true" \
    "$(jq -r '[.error.type, .error.code, (.error.message | length > 0)] | join("|")' "$T/body")"
check_eq "not a namespace name: 404" 404 "$(get "$P/namespaces/air_platinum")"
check_eq "unknown namespace HEAD: 404" 404 "$(get -I "$P/namespaces/nope_gold")"
check_eq "tables: 200" 200 "$(get "$P/namespaces/air_silver/tables")"
check_eq "tables: the exported table" '[{"namespace":["air_silver"],"name":"flights"}]' \
    "$(jq -c .identifiers "$T/body")"
check_eq "tables of a layer not exported: empty" 200 "$(get "$P/namespaces/air_gold/tables")"
check_eq "tables of a layer not exported: body" '[]' "$(jq -c .identifiers "$T/body")"
check_eq "load table: 200" 200 "$(get "$P/namespaces/air_silver/tables/flights")"
TD="$LAKEHOUSE_DATA/iceberg/air_silver/flights"
pointer=$(sql_silver air "SELECT metadata_file FROM _iceberg_tables WHERE table_name='flights';")
check_eq "load table: metadata-location is the committed pointer" "$pointer" \
    "$(jq -r '."metadata-location"' "$T/body")"
check_eq "load table: metadata is that file" "$(jq -cS . "$pointer")" "$(jq -cS .metadata "$T/body")"
check_eq "load table: format v2, current snapshot" "2|true" \
    "$(jq -r '[.metadata."format-version", (.metadata."current-snapshot-id" > 0)] | join("|")' "$T/body")"
check_eq "load table: no S3 config for a local table" '{}' "$(jq -c .config "$T/body")"
check_eq "table HEAD: 204" 204 "$(get -I "$P/namespaces/air_silver/tables/flights")"
check_eq "unknown table: 404" 404 "$(get "$P/namespaces/air_silver/tables/nope")"
check_eq "unknown table: error shape" "NoSuchTableException|404" \
    "$(jq -r '[.error.type, .error.code] | join("|")' "$T/body")"
check_eq "unknown table HEAD: 404" 404 "$(get -I "$P/namespaces/air_silver/tables/nope")"
check_eq "table in an unknown namespace: NoSuchNamespace" "404|NoSuchNamespaceException" \
    "$(get "$P/namespaces/nope_silver/tables/flights")|$(jq -r .error.type "$T/body")"
check_eq "read-only: POST refused" 405 "$(get -X POST -H 'Content-Type: application/json' -d '{}' "$P/namespaces")"
check_eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$P/namespaces")"
check_eq "wrong token: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$P/namespaces")"

# a second export: the catalog follows the new pointer
sqlite3 -batch -noheader :memory: \
    "SELECT json_set(value, '\$.id', key + 1) FROM json_each(readfile('$DATA_FILE')) LIMIT 100 OFFSET 500;" >"$T/g.ndjson"
lakehouse send air/flights "$T/g.ndjson" >/dev/null
if wait_eq 60 600 sql_silver air "SELECT count(*) FROM flights;"; then pass "more rows merged"; else fail "more rows merged" "got $WAIT_LAST"; fi
check_cmd "second export" lakehouse export air/flights --wait
get "$P/namespaces/air_silver/tables/flights" >/dev/null
check_eq "load after a second export: v2" "$TD/metadata/v2.metadata.json" "$(jq -r '."metadata-location"' "$T/body")"

# ---- a client nobody on the team wrote: iceberg-js (pinned by tests/catalog/package-lock.json)
CLIENT=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/catalog-client-$(cat "$LAKEHOUSE_SOURCE"/tests/catalog/package*.json | sha256sum | cut -c1-16)
if [ ! -f "$CLIENT/.installed" ]; then
    mkdir -p "$CLIENT" && cp "$LAKEHOUSE_SOURCE"/tests/catalog/package*.json "$CLIENT/" &&
        (cd "$CLIENT" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) && touch "$CLIENT/.installed"
fi
if [ -f "$CLIENT/.installed" ]; then
    cp "$LAKEHOUSE_SOURCE/tests/catalog/catalog.mjs" "$CLIENT/"
    out=$(node "$CLIENT/catalog.mjs" "http://$LAKEHOUSE_LISTEN/iceberg" "$LAKEHOUSE_HTTP_TOKEN" air_silver flights 2>&1)
    snap=$(jq -r '."current-snapshot-id"' "$TD/metadata/v2.metadata.json")
    check_eq "iceberg-js: namespaces, tables, load, missing table" \
        "namespaces air_bronze,air_silver,air_gold|tables flights|location $TD/metadata/v2.metadata.json|snapshot $snap|missing 404 NoSuchTableException" \
        "$(echo "$out" | paste -sd'|')"
else
    fail "iceberg-js" "npm could not install tests/catalog/package-lock.json"
fi
stop_group || fail "group stop" "non-zero exit"
finish
