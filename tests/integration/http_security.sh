#!/usr/bin/env bash
# http_security.sh - the HTTP API as a hostile web page would call it through
# the operator's browser, and its transport security: a foreign Host (DNS
# rebinding) is refused without a token; a body that is not JSON (a form,
# text/plain) gets 415 and nothing is stored; a foreign Origin gets 403 and
# nothing is stored; CORS answers only the configured origins; every answer
# carries nosniff and none is HTML. Then the token file, and native TLS with
# a certificate made here (openssl): curl --cacert works, plain HTTP to the
# TLS port and a wrong CA fail; `lakehouse config check` names missing files.
source "$(dirname "$0")/../lib.sh"

PORT=$(free_port) || { fail "port" "no free port"; exit 1; }
export LAKEHOUSE_LISTEN="127.0.0.1:$PORT"
B="http://127.0.0.1:$PORT"
trap 'stop_serves; cleanup' EXIT
# code [curl args...]: the status code only
code() { curl -s -o "$T/resp" -w '%{http_code}' "$@"; }
J='Content-Type: application/json'

start_group || { fail "start" "group did not start"; exit 1; }
wait_until 10 curl -sf -o /dev/null "$B/" || { fail "broker serves" "nothing on $B"; exit 1; }
check_eq "create endpoint with JSON" 201 "$(code -X POST "$B/endpoints" -H "$J" -d '{"domain":"sec","name":"ev","mode":"MANUAL","columns":[{"name":"id","type":"integer","primary_key":true}]}')"

# ---- Host (DNS rebinding), token-less mode ----
check_eq "Host evil.example refused" 421 "$(code -H 'Host: evil.example' "$B/endpoints")"
grep -q '"detail"' "$T/resp" && pass "Host refusal has a detail" || fail "Host refusal has a detail" "$(cat "$T/resp")"
check_eq "Host evil.example with the port refused" 421 "$(code -H "Host: evil.example:$PORT" "$B/endpoints")"
check_eq "Host evil.example POST refused" 421 "$(code -X POST -H "Host: evil.example:$PORT" -H "$J" -d '[{"id":99}]' "$B/ingest/sec/ev/batch")"
check_eq "Host on another port refused" 421 "$(code -H "Host: 127.0.0.1:$((PORT + 1))" "$B/endpoints")"
check_eq "Host localhost without the port refused" 421 "$(code -H 'Host: localhost' "$B/endpoints")"
for h in "localhost:$PORT" "127.0.0.1:$PORT" "[::1]:$PORT" "LOCALHOST:$PORT"; do
    check_eq "Host $h answered" 200 "$(code -H "Host: $h" "$B/endpoints")"
done

# ---- body type: what a browser sends without a preflight is refused ----
check_eq "text/plain ingest 415" 415 "$(code -X POST -H 'Content-Type: text/plain' -d '[{"id":1}]' "$B/ingest/sec/ev/batch")"
grep -q 'application/json' "$T/resp" && pass "415 says which type" || fail "415 says which type" "$(cat "$T/resp")"
check_eq "form ingest 415" 415 "$(code -X POST -d '{"data":{"id":2}}' "$B/ingest/sec/ev")"
check_eq "multipart ingest 415" 415 "$(code -X POST -F 'data={"id":3}' "$B/ingest/sec/ev")"
check_eq "body without a type 415" 415 "$(code -X POST -H 'Content-Type:' -d '[{"id":4}]' "$B/ingest/sec/ev/batch")"
check_eq "form endpoint create 415" 415 "$(code -X POST -d '{"domain":"sec","name":"form","mode":"AUTO_INFERENCE"}' "$B/endpoints")"
check_eq "form job run 415" 415 "$(code -X POST -H 'Content-Type: application/x-www-form-urlencoded' "$B/transform/jobs/sec/j/run")"
check_eq "form endpoint delete 415" 415 "$(code -X DELETE -H 'Content-Type: text/plain' -d x "$B/endpoints/sec/ev")"
check_eq "the refused endpoint was not created" 404 "$(code "$B/endpoints/sec/form")"
check_eq "the endpoint survived" 200 "$(code "$B/endpoints/sec/ev")"
check_eq "JSON with charset accepted" 200 "$(code -X POST -H 'Content-Type: application/json; charset=utf-8' -d '[{"id":10}]' "$B/ingest/sec/ev/batch")"
check_eq "NDJSON type accepted for a batch" 400 "$(code -X POST -H 'Content-Type: application/x-ndjson' -d '{"id":11}' "$B/ingest/sec/ev/batch")"
check_eq "NDJSON type refused for one record" 415 "$(code -X POST -H 'Content-Type: application/x-ndjson' -d '{"data":{"id":12}}' "$B/ingest/sec/ev")"

# ---- Origin ----
check_eq "foreign Origin POST 403" 403 "$(code -X POST -H 'Origin: http://evil.example' -H "$J" -d '[{"id":20}]' "$B/ingest/sec/ev/batch")"
grep -q 'http_cors_origins' "$T/resp" && pass "403 names http_cors_origins" || fail "403 names http_cors_origins" "$(cat "$T/resp")"
check_eq "foreign Origin GET 403" 403 "$(code -H 'Origin: http://evil.example' "$B/endpoints")"
check_eq "Origin null 403" 403 "$(code -H 'Origin: null' "$B/endpoints")"
check_eq "foreign Origin delete 403" 403 "$(code -X DELETE -H 'Origin: http://evil.example' "$B/endpoints/sec/ev")"
check_eq "own Origin accepted" 200 "$(code -X POST -H "Origin: $B" -H "$J" -d '[{"id":21}]' "$B/ingest/sec/ev/batch")"
check_eq "preflight without CORS config 403" 403 "$(code -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST' "$B/endpoints")"
wait_eq 30 "10,21" sql_silver sec "SELECT group_concat(id) FROM (SELECT id FROM ev ORDER BY id)" \
    && pass "only the accepted records are stored" || fail "only the accepted records are stored" "$WAIT_LAST"

# ---- lakehouse send: progress on a terminal only ----
seq 100 2099 | awk '{printf "{\"id\":%d}\n", $1}' >"$T/ids.ndjson"
out=$(lakehouse send sec/ev "$T/ids.ndjson")
check_eq "send into a pipe prints only its summary" "sent 2000 records: 2000 accepted, 0 refused (2 batches)" "$out"
if command -v script >/dev/null; then
    tty=$(script -qec "lakehouse send --id-prefix tty sec/ev '$T/ids.ndjson'" /dev/null | tr '\r' '\n')
    echo "$tty" | grep -q "records/s.*%" && pass "send on a terminal shows progress" || fail "send on a terminal shows progress" "$tty"
fi

# ---- headers of every answer ----
for path in / /endpoints /nope "/consumption/query?sql=SELECT%201"; do
    h=$(curl -s -D - -o /dev/null "$B$path" | tr -d '\r')
    echo "$h" | grep -qi '^X-Content-Type-Options: nosniff' && pass "nosniff on $path" || fail "nosniff on $path" "$h"
    echo "$h" | grep -qi '^Content-Type: text/html' && fail "not HTML: $path" "$h" || pass "not HTML: $path"
done
h=$(curl -s -D - -o /dev/null -H 'Content-Type: text/plain' -d x "$B/endpoints" | tr -d '\r')
echo "$h" | grep -qi '^X-Content-Type-Options: nosniff' && pass "nosniff on a refusal" || fail "nosniff on a refusal" "$h"

# ---- CORS for configured origins only ----
CPORT=$(free_port)
C="http://127.0.0.1:$CPORT"
serve "$T/http-cors.log" LAKEHOUSE_LISTEN="127.0.0.1:$CPORT" \
      LAKEHOUSE_HTTP_CORS_ORIGINS="https://console.example, http://localhost:3000" \
    || fail "cors server" "$(cat "$T/http-cors.log")"
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: https://console.example' \
        -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type' "$C/endpoints" | tr -d '\r')
case "$h" in *" 204 "*"Access-Control-Allow-Origin: https://console.example"*) pass "preflight of a listed origin 204";; *) fail "preflight of a listed origin 204" "$h";; esac
echo "$h" | grep -qi '^Access-Control-Allow-Headers:.*Content-Type' && pass "preflight allows Content-Type" || fail "preflight allows Content-Type" "$h"
check_eq "preflight of another origin 403" 403 "$(code -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST' "$C/endpoints")"
h=$(curl -s -D - -o /dev/null -H 'Origin: http://localhost:3000' "$C/endpoints" | tr -d '\r')
case "$h" in *" 200 "*"Access-Control-Allow-Origin: http://localhost:3000"*) pass "listed origin GET with CORS header";; *) fail "listed origin GET with CORS header" "$h";; esac
h=$(curl -s -D - -o /dev/null "$C/endpoints" | tr -d '\r')
echo "$h" | grep -qi '^Access-Control-Allow-Origin' && fail "no CORS header without Origin" "$h" || pass "no CORS header without Origin"
check_eq "unlisted origin still 403" 403 "$(code -H 'Origin: https://evil.example' "$C/endpoints")"
grep -q 'level=info.*loopback clients only' "$T/http-cors.log" && pass "token-less start says so (info)" || fail "token-less start says so (info)" "$(head -3 "$T/http-cors.log")"

# ---- token file ----
printf 'f1le-t0ken\n' >"$T/token"
TPORT=$(free_port)
serve "$T/http-tokfile.log" LAKEHOUSE_LISTEN="127.0.0.1:$TPORT" LAKEHOUSE_HTTP_TOKEN_FILE="$T/token" \
    || fail "token file server" "$(cat "$T/http-tokfile.log")"
check_eq "token file: no token 401" 401 "$(code "http://127.0.0.1:$TPORT/endpoints")"
check_eq "token file: its token 200" 200 "$(code -H 'Authorization: Bearer f1le-t0ken' "http://127.0.0.1:$TPORT/endpoints")"
check_eq "token file: no Host rule with a token" 200 "$(code -H 'Authorization: Bearer f1le-t0ken' -H 'Host: lake.example' "http://127.0.0.1:$TPORT/endpoints")"
out=$(LAKEHOUSE_LISTEN="127.0.0.1:$(free_port)" LAKEHOUSE_HTTP_TOKEN_FILE="$T/missing" lakehouse-http-serve --data "$LAKEHOUSE_DATA" 2>&1); rc=$?
case "$rc:$out" in 1:*"http_token_file"*"$T/missing"*) pass "missing token file: no start, names it";; *) fail "missing token file: no start, names it" "rc=$rc $out";; esac
echo "{\"http_token_file\": \"$T/missing\"}" >"$T/c1.json"
out=$(lakehouse config check "$T/c1.json" 2>&1); rc=$?
case "$rc:$out" in 1:*"http_token_file '$T/missing': cannot read"*) pass "config check names a missing token file";; *) fail "config check names a missing token file" "rc=$rc $out";; esac

# ---- TLS ----
mkcert() { # DIR: a self-signed certificate for localhost and 127.0.0.1
    mkdir -p "$1"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
        -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}
mkcert "$T/tls" && mkcert "$T/other" && pass "test certificates" || fail "test certificates" "openssl failed"
SPORT=$(free_port)
serve "$T/http-tls.log" LAKEHOUSE_LISTEN="127.0.0.1:$SPORT" LAKEHOUSE_HTTP_TOKEN=tls-t0ken \
      LAKEHOUSE_HTTP_TLS_CERT_FILE="$T/tls/cert.pem" LAKEHOUSE_HTTP_TLS_KEY_FILE="$T/tls/key.pem" \
    || fail "tls server" "$(cat "$T/http-tls.log")"
check_eq "HTTPS with the right CA" 200 "$(code --cacert "$T/tls/cert.pem" -H 'Authorization: Bearer tls-t0ken' "https://127.0.0.1:$SPORT/endpoints")"
check_eq "HTTPS by name" 200 "$(code --cacert "$T/tls/cert.pem" "https://localhost:$SPORT/")"
rc=0; curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$SPORT/" || rc=$?
[ "$rc" -ne 0 ] && pass "plain HTTP to the TLS port fails" || fail "plain HTTP to the TLS port fails" "curl succeeded"
rc=0; curl -s -o /dev/null --max-time 5 --cacert "$T/other/cert.pem" "https://127.0.0.1:$SPORT/" || rc=$?
check_eq "a wrong CA fails (curl 60)" 60 "$rc"
grep -q 'tls=on' "$T/http-tls.log" && pass "TLS start logged" || fail "TLS start logged" "$(head -3 "$T/http-tls.log")"
echo "{\"http_tls_cert_file\": \"$T/nocert.pem\", \"http_tls_key_file\": \"$T/tls/key.pem\"}" >"$T/c2.json"
out=$(lakehouse config check "$T/c2.json" 2>&1); rc=$?
case "$rc:$out" in 1:*"http_tls_cert_file '$T/nocert.pem': cannot read"*) pass "config check names a missing certificate";; *) fail "config check names a missing certificate" "rc=$rc $out";; esac
echo "{\"http_tls_cert_file\": \"$T/tls/cert.pem\", \"http_tls_key_file\": \"$T/nokey.pem\"}" >"$T/c3.json"
out=$(lakehouse config check "$T/c3.json" 2>&1); rc=$?
case "$rc:$out" in 1:*"http_tls_key_file '$T/nokey.pem': cannot read"*) pass "config check names a missing key";; *) fail "config check names a missing key" "rc=$rc $out";; esac
echo "{\"http_tls_cert_file\": \"$T/tls/cert.pem\", \"http_tls_key_file\": \"$T/tls/key.pem\"}" >"$T/c4.json"
check_cmd "config check accepts readable certificate and key" lakehouse config check "$T/c4.json"
out=$(LAKEHOUSE_LISTEN="127.0.0.1:$(free_port)" LAKEHOUSE_HTTP_TLS_CERT_FILE="$T/nocert.pem" LAKEHOUSE_HTTP_TLS_KEY_FILE="$T/tls/key.pem" \
      lakehouse-http-serve --data "$LAKEHOUSE_DATA" 2>&1); rc=$?
case "$rc:$out" in 1:*"http_tls_cert_file"*) pass "missing certificate: no start, names it";; *) fail "missing certificate: no start, names it" "rc=$rc $out";; esac
# a token on a non-loopback address without TLS: starts, with a warning
WPORT=$(free_port)
serve "$T/http-clear.log" LAKEHOUSE_LISTEN="0.0.0.0:$WPORT" LAKEHOUSE_HTTP_TOKEN=t \
    || fail "clear-token server" "$(cat "$T/http-clear.log")"
grep -q 'level=warn.*token_in_clear' "$T/http-clear.log" && pass "token in clear: warning at start" || fail "token in clear: warning at start" "$(head -3 "$T/http-clear.log")"
grep -q 'token_in_clear' "$T/http-tls.log" && fail "no clear-token warning with TLS" "$(cat "$T/http-tls.log")" || pass "no clear-token warning on loopback"

stop_serves
stop_group || fail "group stop" "non-zero exit"
if grep -q "ERROR: AddressSanitizer\|runtime error" "$T"/http*.log; then fail "sanitizers" "$(grep -h -A5 'Sanitizer\|runtime error' "$T"/http*.log | head -20)"; else pass "no sanitizer reports"; fi
finish
