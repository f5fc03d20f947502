#!/usr/bin/env bash
# Bad input: every kind of hostile or broken input gets a clear error and
# changes nothing already accepted. Covers the producer protocol (malformed
# JSON, truncated msgpack, wrong types, missing required fields and keys,
# oversized records and batches, deep nesting, invalid UTF-8, NUL bytes, huge
# numbers, unknown endpoints, name tricks in the header), the CLI, HTTP paths,
# job definitions and SQL references, bronze files damaged or placed by hand
# (quarantined with the reason, never merged in part) and hostile SQL in the
# query API (writes, ATTACH, PRAGMA, load_extension, endless queries).
# Silver is fingerprinted before and compared after.
source "$(dirname "$0")/../lib.sh"
export LAKEHOUSE_RECORD_MAX_BYTES=65536
export LAKEHOUSE_BATCH_MAX_RECORDS=1000
export LAKEHOUSE_QUERY_TIMEOUT_MS=2000
export LAKEHOUSE_RECONCILE_INTERVAL_MS=1000
HTTP="http://$LAKEHOUSE_LISTEN"
ING="ipc://$LAKEHOUSE_DATA/run/ingest.sock"

# raw_send: frames exactly as given (the clients refuse bad names themselves).
RAW="$T/raw_send"
LIBS="$(pkg-config --libs libzmq msgpack jansson sqlite3 liblz4) $(pkg-config --libs libcrypto 2>/dev/null)"
cc -fsanitize=address,undefined -D_GNU_SOURCE -I"$LAKEHOUSE_SOURCE/common" \
    "$LAKEHOUSE_SOURCE/tests/fault/raw_send.c" "$LAKEHOUSE_BIN/../lib/liblakehouse-common.a" $LIBS -o "$RAW" ||
    { fail "build raw_send" "cc failed"; exit 1; }
tomp() { lakehouse-ingest-tool json2msgpack "$1"; }   # JSON file -> msgpack on stdout
# hdr JSON -> a header frame file path
hdr() { printf '%s' "$1" >"$T/h.json"; tomp "$T/h.json" >"$T/h.mp"; echo "$T/h.mp"; }
body() { printf "$1" >"$T/b.bin"; echo "$T/b.bin"; }
H_OK='{"v":3,"domain":"bad","endpoint":"items","format":"ndjson","strict":true}'

start_group || { fail "start" "group did not start"; exit 1; }
# the workers' pids now: at the end the same processes must still serve
START_PIDS=$(for p in ingest processor transformer; do cat "$LAKEHOUSE_DATA/run/$p.pid"; done | tr '\n' ' ')
cat >"$T/items.json" <<'JSON'
{"domain": "bad", "name": "items", "mode": "MANUAL",
 "columns": [
  {"name": "id", "type": "integer", "primary_key": true},
  {"name": "name", "type": "string", "required": true},
  {"name": "price", "type": "decimal", "precision": 10, "scale": 2},
  {"name": "at", "type": "timestamp"},
  {"name": "tags", "type": "array"}]}
JSON
check_cmd "endpoint bad/items" lakehouse endpoint create "$T/items.json"
seq 1 200 | awk '{printf "{\"id\":%d,\"name\":\"item %d\",\"price\":\"%d.50\",\"at\":\"2026-01-02T03:04:05Z\",\"tags\":[\"a\"]}\n", $1, $1, $1}' >"$T/good.ndjson"
check_cmd "good records" lakehouse send bad/items --id-prefix good "$T/good.ndjson"
fingerprint() { sql_silver bad "SELECT count(*), sum(id), group_concat(name || '=' || price || '@' || at, ','), max(_seq) FROM (SELECT * FROM items ORDER BY id);" 2>/dev/null; }
wait_until 60 sh -c "[ \"\$(sqlite3 'file:$LAKEHOUSE_DATA/silver/bad.db?mode=ro' 'SELECT count(*) FROM items' 2>/dev/null)\" = 200 ]" ||
    fail "good records in silver" "not 200"
BEFORE=$(fingerprint)
ipid=$(proc_pid() { cat "$LAKEHOUSE_DATA/run/$1.pid"; }; proc_pid ingest)

# expect_refused NAME PATTERN HEADER_JSON BODY_FILE: status refused/error, message or errors match PATTERN
expect_refused() {
    local name=$1 pat=$2 out
    out=$("$RAW" "$ING" "$(hdr "$3")" "$4" 2>&1)
    if echo "$out" | head -1 | grep -Eq '^status=(refused|error) accepted=0' && echo "$out" | grep -Eiq -- "$pat"; then
        pass "protocol: $name"
    else
        fail "protocol: $name" "$(echo "$out" | head -3 | cut -c1-300)"
    fi
}

# ---- records
expect_refused "malformed JSON" "json|invalid|expected" "$H_OK" "$(body '{"id":1,"name":"x"\n{"id":2,')"
expect_refused "wrong type" "field 'id'.*integer" "$H_OK" "$(body '{"id":"abc","name":"x"}\n')"
expect_refused "missing required field" "name" "$H_OK" "$(body '{"id":9001}\n')"
expect_refused "missing primary key" "id" "$H_OK" "$(body '{"name":"no key"}\n')"
expect_refused "invalid UTF-8" "utf-8|invalid" "$H_OK" "$(body '{"id":9002,"name":"\xff\xfe"}\n')"
expect_refused "NUL escape" "nul|\\\\u0000|invalid" "$H_OK" "$(body '{"id":9003,"name":"a\\u0000b"}\n')"
expect_refused "raw NUL byte" "nul|invalid|control|json" "$H_OK" "$(body '{"id":9004,"name":"a\0b"}\n')"
expect_refused "huge integer" "id" "$H_OK" "$(body '{"id":99999999999999999999999,"name":"x"}\n')"
expect_refused "huge float as key" "id" "$H_OK" "$(body '{"id":1e400,"name":"x"}\n')"
expect_refused "decimal over precision" "price" "$H_OK" "$(body '{"id":9005,"name":"x","price":"123456789012.5"}\n')"
expect_refused "decimal as long JSON number" "price|string" "$H_OK" "$(body '{"id":9006,"name":"x","price":12345678.123456789}\n')"
expect_refused "bad timestamp" "at" "$H_OK" "$(body '{"id":9007,"name":"x","at":"yesterday"}\n')"
expect_refused "array column given an object" "tags" "$H_OK" "$(body '{"id":9008,"name":"x","tags":{"a":1}}\n')"
expect_refused "not an object" "object" "$H_OK" "$(body '[1,2,3]\n')"
python3 -c "print('{\"id\":9009,\"name\":\"x\",\"deep\":' + '['*100000 + ']'*100000 + '}')" >"$T/deep.ndjson"
expect_refused "deeply nested JSON" "depth|nest|json|invalid" "$H_OK" "$T/deep.ndjson"
python3 -c "print('{\"id\":9010,\"name\":\"' + 'x'*70000 + '\"}')" >"$T/big.ndjson"
expect_refused "record over record_max_bytes" "record|bytes|large|long" "$H_OK" "$T/big.ndjson"
seq 1 1001 | awk '{printf "{\"id\":%d,\"name\":\"many\"}\n", 10000 + $1}' >"$T/many.ndjson"
expect_refused "batch over batch_max_records" "record|batch|1000" "$H_OK" "$T/many.ndjson"
printf '{"id":1,"name":"x"}' | tomp /dev/stdin >"$T/one.mp" 2>/dev/null || true
printf '[{"id":9011,"name":"truncated"},{"id":9012,"name":"msgpack"}]' >"$T/arr.json"
tomp "$T/arr.json" | head -c 20 >"$T/trunc.mp"
expect_refused "truncated msgpack" "truncat|malformed|msgpack" \
    '{"v":3,"domain":"bad","endpoint":"items","format":"msgpack","strict":true}' "$T/trunc.mp"
printf '\xdd\xff\xff\xff\xff' >"$T/hugearr.mp"
expect_refused "msgpack array claiming 4 billion elements" "truncat|malformed|msgpack|batch_max_records" \
    '{"v":3,"domain":"bad","endpoint":"items","format":"msgpack","strict":true}' "$T/hugearr.mp"
expect_refused "unknown endpoint" "unknown endpoint bad/nope" \
    '{"v":3,"domain":"bad","endpoint":"nope","format":"ndjson"}' "$(body '{"id":1,"name":"x"}\n')"
expect_refused "unknown domain" "unknown endpoint nowhere/items" \
    '{"v":3,"domain":"nowhere","endpoint":"items","format":"ndjson"}' "$(body '{"id":1,"name":"x"}\n')"

# ---- names in the protocol header
long=$(printf 'a%.0s' $(seq 1 200))
for n in '../etc' 'bad/../x' 'a\"b' "it's" 'Bad' 'sqlite_master' 'ѕelect' "$long" '' 'x y' 'a;drop table items'; do
    expect_refused "header domain '${n:0:40}'" "domain|name" \
        "{\"v\":3,\"domain\":\"$n\",\"endpoint\":\"items\",\"format\":\"ndjson\"}" "$(body '{"id":1,"name":"x"}\n')"
    expect_refused "header endpoint '${n:0:40}'" "endpoint|name" \
        "{\"v\":3,\"domain\":\"bad\",\"endpoint\":\"$n\",\"format\":\"ndjson\"}" "$(body '{"id":1,"name":"x"}\n')"
done
expect_refused "header batch id with control characters" "id" \
    '{"v":3,"domain":"bad","endpoint":"items","format":"ndjson","id":"a\nb"}' "$(body '{"id":1,"name":"x"}\n')"
expect_refused "header id over 128 characters" "id" \
    "{\"v\":3,\"domain\":\"bad\",\"endpoint\":\"items\",\"format\":\"ndjson\",\"id\":\"$long\"}" "$(body '{"id":1,"name":"x"}\n')"
expect_refused "header unknown key" "unknown key" \
    '{"v":3,"domain":"bad","endpoint":"items","format":"ndjson","evil":1}' "$(body '{"id":1,"name":"x"}\n')"
expect_refused "header wrong version" "version" \
    '{"v":99,"domain":"bad","endpoint":"items","format":"ndjson"}' "$(body '{"id":1,"name":"x"}\n')"
printf '\x81' >"$T/trunc_hdr.mp"
out=$("$RAW" "$ING" "$T/trunc_hdr.mp" "$(body '{}')")
echo "$out" | grep -q '^status=refused' && pass "protocol: truncated header" || fail "protocol: truncated header" "$out"
out=$("$RAW" "$ING" "$(hdr "$H_OK")")
echo "$out" | grep -q '^status=refused' && pass "protocol: missing body frame" || fail "protocol: missing body frame" "$out"
check_eq "ingest survived every bad request (same pid)" "$ipid" "$(cat "$LAKEHOUSE_DATA/run/ingest.pid")"

# ---- non-strict: bad records go to rejected/ with the reason, good ones stored
out=$("$RAW" "$ING" "$(hdr '{"v":3,"domain":"bad","endpoint":"items","format":"ndjson","id":"mixed-1"}')" \
    "$(body '{"id":500,"name":"good one"}\n{"id":"bad","name":"x"}\n')")
echo "$out" | grep -q '^status=partial accepted=1 refused=1' && pass "non-strict: partial" || fail "non-strict: partial" "$out"
rej=$(cat "$LAKEHOUSE_DATA"/rejected/bad/items/*.ndjson 2>/dev/null)
echo "$rej" | jq -e 'select(.batch_id == "mixed-1" and .index == 1 and (.reason | test("id")))' >/dev/null &&
    pass "non-strict: rejected/ keeps the record with its reason" || fail "non-strict: rejected/ keeps the record with its reason" "$rej"

# ---- the CLI
cli_refuses() { # NAME PATTERN command...
    local name=$1 pat=$2 out rc; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && echo "$out" | grep -Eiq -- "$pat"; then pass "cli: $name"; else
        fail "cli: $name" "rc=$rc $(echo "$out" | head -2 | cut -c1-200)"; fi
}
echo '{"id":1,"name":"x"}' >"$T/one.ndjson"
for n in '../etc/items' 'bad/../../x' 'bad/it"ems' "bad/$long" 'BAD/items' 'bad/ѕelect' 'bad' 'bad/items/x'; do
    cli_refuses "send to '${n:0:40}'" "name|domain|endpoint|usage|DOMAIN" lakehouse send "$n" "$T/one.ndjson"
done
cli_refuses "endpoint show ../x" "name|domain" lakehouse endpoint show '../x/y'
cli_refuses "replay bad\"x" "name|domain|table" lakehouse replay 'bad"x'
cli_refuses "replay with a bad date" "date|YYYY" lakehouse replay bad/items --from 2026-13-45
cli_refuses "job run of a path" "name|domain|job" lakehouse job run '../../etc/passwd'
cli_refuses "send malformed JSON file" "json|invalid|line" lakehouse send bad/items --strict "$T/deep.ndjson"
printf '{"domain":"bad","name":"../../x","mode":"MANUAL","columns":[{"name":"a","type":"string"}]}' >"$T/ep1.json"
cli_refuses "endpoint with a path as name" "name" lakehouse endpoint create "$T/ep1.json"
printf '{"domain":"bad","name":"evil","mode":"MANUAL","columns":[{"name":"a\\" TEXT); DROP TABLE items; --","type":"string"}]}' >"$T/ep2.json"
cli_refuses "endpoint with SQL in a column name" "column|name" lakehouse endpoint create "$T/ep2.json"
printf '{"domain":"bad","name":"evil","mode":"MANUAL","columns":[{"name":"_seq","type":"string"}]}' >"$T/ep3.json"
cli_refuses "endpoint with a reserved column name" "reserved|_|name" lakehouse endpoint create "$T/ep3.json"
printf -- '-- job: x"; DROP TABLE items; --\n-- domain: bad\nSELECT 1 AS a\n' >"$T/j1.sql"
cli_refuses "job with SQL in its name" "name|job" lakehouse job add "$T/j1.sql"
# Jobs whose SQL is not one SELECT are refused when they are defined (checked
# on the text, so the input tables need not exist yet); nothing is stored.
job_refused() { # NAME PATTERN FILE
    local out rc
    out=$(lakehouse job add "$3" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && echo "$out" | grep -Eiq -- "$2" &&
        ! lakehouse job show "bad/$(sed -n 's/^-- job: //p' "$3")" >/dev/null 2>&1; then
        pass "job: $1 is refused with a clear error"; else
        fail "job: $1 is refused with a clear error" "rc=$rc $(echo "$out" | head -3 | cut -c1-200)"; fi
}
printf -- '-- job: wipe\n-- domain: bad\nDELETE FROM bad.silver.items\n' >"$T/j2.sql"
job_refused "that deletes" "single select" "$T/j2.sql"
printf -- '-- job: att\n-- domain: bad\nATTACH DATABASE "%s" AS x\n' "$T/att.db" >"$T/j3.sql"
job_refused "that attaches" "single select.*attach" "$T/j3.sql"
test ! -e "$T/att.db" && pass "job: ATTACH created no file" || fail "job: ATTACH created no file" "$T/att.db exists"
printf -- '-- job: two\n-- domain: bad\nSELECT 1 AS a; DROP TABLE bad.silver.items\n' >"$T/j4.sql"
job_refused "with two statements" "single select.*another statement" "$T/j4.sql"
printf -- '-- job: cte\n-- domain: bad\nWITH x AS (SELECT 1) DELETE FROM bad.silver.items\n' >"$T/j6.sql"
job_refused "WITH ... DELETE" "single select" "$T/j6.sql"
printf -- '-- job: ref\n-- domain: bad\nSELECT * FROM bad.silver."../../etc"\n' >"$T/j5.sql"
cli_refuses "job with a path as table reference" "name|table" lakehouse job add "$T/j5.sql"

# SQL keywords are fine as names: quoted everywhere.
printf '{"domain":"bad","name":"select","mode":"MANUAL","columns":[{"name":"from","type":"integer","primary_key":true},{"name":"where","type":"string"}]}' >"$T/kw.json"
check_cmd "keywords as names: endpoint bad/select" lakehouse endpoint create "$T/kw.json"
echo '{"from":1,"where":"x\"; DROP TABLE items; --"}' | lakehouse send bad/select >/dev/null 2>&1
kw() { sql_silver bad 'SELECT "where" FROM "select" WHERE "from" = 1;'; }
if wait_eq 60 'x"; DROP TABLE items; --' kw; then pass "keywords as names: value stored verbatim"; else fail "keywords as names" "got '$WAIT_LAST'"; fi

# ---- HTTP paths
http_code() { curl -s --path-as-is -o "$T/http.out" -w '%{http_code}' -H 'Content-Type: application/json' "$@"; }
for path in '/endpoints/..%2F..%2Fetc/passwd' '/endpoints/bad/items%22' "/endpoints/bad/$long" \
            '/endpoints/BAD/items' '/endpoints/bad/%D1%95elect' '/transform/jobs/bad/..' \
            '/transform/executions/1%20OR%201=1' '/ingest/bad/..%2Fitems'; do
    c=$(http_code "$HTTP$path")
    case "$c" in 400|404|405) pass "http: $path -> $c";; *) fail "http: $path" "status $c: $(head -c 200 "$T/http.out")";; esac
done
c=$(http_code -X POST "$HTTP/ingest/bad/items" --data-binary '{"data": {"id": 1, "name": ')
check_eq "http: malformed JSON body is 400" 400 "$c"
jq -e '.detail | test("line|position|column")' "$T/http.out" >/dev/null && pass "http: malformed JSON names the position" ||
    fail "http: malformed JSON names the position" "$(cat "$T/http.out")"
c=$(http_code -X POST "$HTTP/ingest/bad/items" --data-binary '{"data": {"id": "x", "name": "y"}}')
check_eq "http: bad record is 422" 422 "$c"
c=$(http_code -X POST "$HTTP/ingest/bad/nope" --data-binary '{"data": {"id": 1}}')
check_eq "http: unknown endpoint is 404" 404 "$c"
c=$(http_code -X POST "$HTTP/transform/jobs" --data-binary '{"domain":"bad","job_name":"../x","query":"SELECT 1 AS a","write_mode":"overwrite","schedule_type":"dependency"}')
check_eq "http: job name with a path is 400" 400 "$c"
c=$(http_code -X POST "$HTTP/transform/jobs" --data-binary '{"domain":"bad","job_name":"wipe_http","query":"DELETE FROM bad.silver.items","write_mode":"overwrite","schedule_type":"dependency"}')
if [ "$c" = 400 ] && grep -qi "single select" "$T/http.out"; then pass "http: a job that deletes is 400"; else
    fail "http: a job that deletes is 400" "$c $(cat "$T/http.out")"; fi

# ---- hostile SQL in the query API (CLI and HTTP)
q_refused() { # NAME PATTERN SQL [HTTP_STATUS (default 400)]
    local out rc c
    out=$(lakehouse query "$3" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && echo "$out" | grep -Eiq -- "$2"; then pass "query: $1"; else fail "query: $1" "rc=$rc $(echo "$out" | head -2 | cut -c1-200)"; fi
    c=$(curl -s -o "$T/q.out" -w '%{http_code}' -G "$HTTP/consumption/query" --data-urlencode "sql=$3")
    if [ "$c" = "${4:-400}" ] && jq -r .detail "$T/q.out" | grep -Eiq -- "$2"; then pass "http query: $1 ($c)"
    else fail "http query: $1" "status $c (expected ${4:-400}) $(head -c 200 "$T/q.out")"; fi
}
q_refused "DELETE" "not allowed|read-only|readonly" "DELETE FROM bad.silver.items"
q_refused "UPDATE" "not allowed|read-only|readonly" "UPDATE bad.silver.items SET name = 'x'"
q_refused "INSERT" "not allowed|read-only|readonly" "INSERT INTO bad.silver.items (id, name) VALUES (77777, 'x')"
q_refused "DROP TABLE" "not allowed|read-only|readonly" "DROP TABLE bad.silver.items"
q_refused "CREATE TABLE" "not allowed|read-only|readonly" "CREATE TABLE t AS SELECT 1"
q_refused "ATTACH" "not allowed|attach" "ATTACH DATABASE '$T/evil.db' AS evil"
q_refused "DETACH" "not allowed|detach|no such" "DETACH silver_bad"
q_refused "PRAGMA" "not allowed|pragma" "PRAGMA writable_schema = 1"
q_refused "PRAGMA function" "not allowed|pragma" "SELECT * FROM pragma_table_info('items')"
q_refused "load_extension" "not allowed|load_extension|not authorized" "SELECT load_extension('/tmp/evil.so')"
q_refused "VACUUM INTO" "not allowed|vacuum" "VACUUM INTO '$T/copy.db'"
q_refused "two statements" "one statement|single|multiple|not allowed" "SELECT 1; DELETE FROM bad.silver.items"
q_refused "transaction control" "not allowed" "BEGIN"
q_refused "path as table name" "name|table|no such" "SELECT * FROM bad.silver.\"../../etc/passwd\""
q_refused "unknown table" "no such|unknown" "SELECT * FROM bad.silver.nothing_here"
q_refused "endless query (time limit)" "time|timeout|interrupt|limit" \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c" 504
test ! -e "$T/evil.db" && test ! -e "$T/copy.db" && pass "query: no file was created" || fail "query: no file was created" "$(ls "$T")"
out=$(lakehouse query --json "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c" 2>&1)
echo "$out" | jq -e '.truncated == true' >/dev/null 2>&1 && pass "query: endless rows cut at query_max_rows" ||
    fail "query: endless rows cut at query_max_rows" "$(echo "$out" | tail -c 200)"
c=$(curl -s -o "$T/q.out" -w '%{http_code}' -G "$HTTP/consumption/query" \
    --data-urlencode "sql=WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c")
check_eq "http query: endless rows cut at query_max_rows" "200 true" "$c $(jq -r '.truncated' "$T/q.out")"

# ---- bronze files damaged or placed by hand
BD="$LAKEHOUSE_DATA/bronze/bad/items/dt=2026-01-01"
mkdir -p "$BD"
place() { cp "$1" "$BD/.incoming"; mv "$BD/.incoming" "$BD/$2"; }   # atomic, as ingest does
seqname() { printf '%020d-%020d.ndjson.lz4' "$1" "$2"; }
# valid frame, new rows, one byte flipped near the end: only the checksum tells
seq 1 300 | awk '{printf "{\"_insert_date\":\"2026-01-01T00:00:00Z\",\"_domain\":\"bad\",\"_endpoint\":\"items\",\"_seq\":%d,\"_schema_version\":1,\"id\":%d,\"name\":\"hand %d\"}\n", 100 + $1, 5000 + $1, $1}' >"$T/hand.ndjson"
lz4 -q -f --content-size "$T/hand.ndjson" "$T/hand.lz4" 2>/dev/null || lz4 -q -f "$T/hand.ndjson" "$T/hand.lz4"
python3 - "$T/hand.lz4" "$T/flipped.lz4" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[len(b) - 12] ^= 0x55
open(sys.argv[2], 'wb').write(bytes(b))
PY
place "$T/flipped.lz4" "$(seqname 101 400)"
head -c $(( $(stat -c %s "$T/hand.lz4") / 2 )) "$T/hand.lz4" >"$T/cut.lz4"
place "$T/cut.lz4" "$(seqname 401 500)"
head -c 5000 /dev/urandom >"$T/noise.lz4"
place "$T/noise.lz4" "$(seqname 501 600)"
printf '{"_seq":601,"_insert_date":"2026-01-01T00:00:00Z","_domain":"bad","_endpoint":"items","id":6001,"name":"ok"}\nnot json at all\n' | lz4 -q >"$T/halfjson.lz4"
place "$T/halfjson.lz4" "$(seqname 601 602)"
printf '{"_seq":701,"_insert_date":"2026-01-01T00:00:00Z","_domain":"bad","_endpoint":"items","id":7001,"name":"ok"}\n{"_seq":702,"_insert_date":"2026-01-01T00:00:00Z","_domain":"bad","_endpoint":"items","id":7002,"name":"x","bad col; drop":1}\n' | lz4 -q >"$T/badcol.lz4"
place "$T/badcol.lz4" "$(seqname 701 702)"
printf '{"_seq":801,"_insert_date":"2026-01-01T00:00:00Z","_domain":"other","_endpoint":"items","id":8001,"name":"ok"}\n' | lz4 -q >"$T/wrongtable.lz4"
place "$T/wrongtable.lz4" "$(seqname 801 801)"
: >"$T/empty.lz4"
place "$T/empty.lz4" "$(seqname 901 901)"
lakehouse reconcile >/dev/null 2>&1 || true
qcount() { sql_silver bad "SELECT count(*) FROM _quarantine;"; }
if wait_eq 60 7 qcount; then pass "hand-placed: every damaged file quarantined (7)"; else
    fail "hand-placed: every damaged file quarantined (7)" "got $WAIT_LAST: $(sql_silver bad 'SELECT * FROM _quarantine;')"; fi
reasons=$(sql_silver bad "SELECT count(*) FROM _quarantine WHERE length(reason) > 10;")
check_eq "hand-placed: each quarantine row has a reason" 7 "$reasons"
sql_silver bad "SELECT file, reason FROM _quarantine;" | cut -c1-200
check_eq "hand-placed: nothing of them merged (no id >= 5000)" 0 "$(sql_silver bad "SELECT count(*) FROM items WHERE id >= 5000;")"
check_eq "hand-placed: not in the ledger" 0 "$(sql_silver bad "SELECT count(*) FROM _ledger WHERE file LIKE '%dt=2026-01-01%';")"

# ---- nothing accepted before was affected
AFTER=$(sql_silver bad "SELECT count(*), sum(id), group_concat(name || '=' || price || '@' || at, ','), max(_seq) FROM (SELECT * FROM items WHERE id <> 500 ORDER BY id);")
check_eq "silver unchanged apart from the one good non-strict record" "$BEFORE" "$AFTER"
check_eq "the good non-strict record arrived" 1 "$(sql_silver bad "SELECT count(*) FROM items WHERE id = 500;")"
check_eq "silver integrity_check" ok "$(sql_silver bad 'PRAGMA integrity_check;')"
for p in ingest processor transformer; do
    test -n "$(cat "$LAKEHOUSE_DATA/run/$p.pid" 2>/dev/null)" && kill -0 "$(cat "$LAKEHOUSE_DATA/run/$p.pid")" &&
        pass "$p still running" || fail "$p still running" "no pid"
done
END_PIDS=$(for p in ingest processor transformer; do cat "$LAKEHOUSE_DATA/run/$p.pid"; done | tr '\n' ' ')
check_eq "the same processes serve from start to end (none restarted)" "$START_PIDS" "$END_PIDS"
grep -c 'child_died\|child_stopped' "$T/group.log" | grep -qx 0 && pass "no process crashed or restarted" ||
    fail "no process crashed or restarted" "$(grep 'child_died\|child_stopped' "$T/group.log" | head -3)"
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
finish
