#!/usr/bin/env bash
# CURVE on a tcp:// producer endpoint (common/curve.h, ingest/zap.c): keys
# made by `lakehouse keygen` (modes 0600/0644, never overwritten); the group
# started with ingest_endpoint tcp://127.0.0.1:<port> and CURVE configured;
# `lakehouse send` with an authorized client key is acknowledged, the HTTP
# API forwards with the broker's client key; a client key not in
# curve_authorized_keys_dir, a client without CURVE and a wrong server
# public key each get a clear error (exit 2), ingest logs the refusal, and
# none of their records land; a .pub file added to the directory is
# accepted without a restart. Start-up rules: keys on an ipc:// endpoint
# are ignored with a warning, a non-loopback tcp:// endpoint without CURVE
# logs a warning, a server key without curve_authorized_keys_dir is refused.
source "$(dirname "$0")/../lib.sh"

K=$T/keys
PORT=$(free_port) || { fail "port" "no free port"; exit 1; }
EP="tcp://127.0.0.1:$PORT"
HTTP="http://$LAKEHOUSE_LISTEN"
mode() { stat -c %a "$1"; }

# ---- keygen
check_cmd "keygen server" lakehouse keygen "$K"
check_cmd "keygen producer" lakehouse keygen "$K" --client producer
check_cmd "keygen broker" lakehouse keygen "$K" --client broker
check_cmd "keygen intruder" lakehouse keygen "$K" --client intruder
check_eq "secret key mode 0600" "600" "$(mode "$K/server.key")"
check_eq "public key mode 0644" "644" "$(mode "$K/producer.pub")"
check_eq "key dir mode 0700" "700" "$(mode "$K")"
check_eq "key is 40 Z85 characters" "40" "$(head -1 "$K/server.pub" | tr -d '\n' | wc -c)"
before=$(cat "$K/server.key")
if lakehouse keygen "$K" >"$T/kg.out" 2>&1; then
    fail "keygen never overwrites" "second keygen succeeded"
else
    check_eq "keygen never overwrites" "$before" "$(cat "$K/server.key")"
fi
if lakehouse keygen "$K" --client ../x >/dev/null 2>&1; then
    fail "keygen refuses a bad client name" "accepted ../x"
else
    pass "keygen refuses a bad client name"
fi

mkdir -p "$K/authorized"
cp "$K/producer.pub" "$K/broker.pub" "$K/authorized/"

# The group's configuration: ingest is the CURVE server; the broker (HTTP
# ingest) is a client with its own key. Producers override the client key
# by environment.
cat > "$T/curve.json" <<JSON
{"ingest_endpoint": "$EP",
 "curve_server_secret_key_file": "$K/server.key",
 "curve_authorized_keys_dir": "$K/authorized",
 "curve_client_secret_key_file": "$K/broker.key",
 "curve_server_public_key_file": "$K/server.pub"}
JSON
# A producer that knows nothing of CURVE.
echo "{\"ingest_endpoint\": \"$EP\"}" > "$T/plain.json"
# A producer with the wrong server public key.
cat > "$T/wrongserver.json" <<JSON
{"ingest_endpoint": "$EP",
 "curve_client_secret_key_file": "$K/producer.key",
 "curve_server_public_key_file": "$K/intruder.pub"}
JSON

lakehouse-broker --data "$LAKEHOUSE_DATA" --config "$T/curve.json" >>"$T/group.log" 2>&1 &
GROUP_PID=$!
if ! wait_until 30 grep -q 'event=started endpoint=tcp\|started endpoint=tcp' "$T/group.log" ||
   ! wait_until 30 test -S "$LAKEHOUSE_DATA/run/transformer.sock" ||
   ! wait_until 30 test -S "$LAKEHOUSE_DATA/run/processor.sock"; then
    fail "group starts with CURVE" "$(tail -20 "$T/group.log")"
    exit 1
fi
pass "group starts with CURVE"
check_cmd "ingest logs curve_enabled" grep -q "curve_enabled endpoint=$EP" "$T/group.log"

L() { lakehouse --config "$T/curve.json" "$@"; }
cat > "$T/flights.json" <<'JSON'
{"domain":"demo","name":"flights","mode":"MANUAL","columns":[
 {"name":"origin","type":"string","required":true},{"name":"delay","type":"integer"}]}
JSON
check_cmd "endpoint create" L endpoint create "$T/flights.json"

# ---- authorized producer
printf '{"origin":"OK1","delay":1}\n{"origin":"OK2","delay":2}\n{"origin":"OK3","delay":3}\n' > "$T/ok.ndjson"
out=$(LAKEHOUSE_CURVE_CLIENT_SECRET_KEY_FILE="$K/producer.key" L send demo/flights "$T/ok.ndjson" 2>&1)
rc=$?
check_eq "authorized send exits 0" "0" "$rc"
case "$out" in *"3 accepted"*) pass "authorized send acknowledged" ;;
               *) fail "authorized send acknowledged" "$out" ;; esac

# ---- HTTP ingest through the broker's client key
code=$(curl -s -o "$T/http.out" -w '%{http_code}' -X POST "$HTTP/ingest/demo/flights" \
       -H 'Content-Type: application/json' -d '{"data": {"origin": "WEB", "delay": 4}}')
check_eq "HTTP ingest over CURVE" "200" "$code"

# ---- refused clients: each gets a clear error, nothing lands
printf '{"origin":"BAD","delay":9}\n' > "$T/bad.ndjson"
out=$(LAKEHOUSE_CURVE_CLIENT_SECRET_KEY_FILE="$K/intruder.key" \
      L send demo/flights --timeout-ms 2000 "$T/bad.ndjson" 2>&1)
rc=$?
check_eq "unauthorized key exits 2" "2" "$rc"
case "$out" in *"refused this client's CURVE key"*) pass "unauthorized key: clear error" ;;
               *) fail "unauthorized key: clear error" "$out" ;; esac
check_cmd "ingest logs the refusal" grep -qF "producer_refused address=127.0.0.1 key=$(head -1 "$K/intruder.pub")" "$T/group.log"

out=$(lakehouse --config "$T/plain.json" send demo/flights --timeout-ms 2000 "$T/bad.ndjson" 2>&1)
rc=$?
check_eq "client without CURVE exits 2" "2" "$rc"
case "$out" in *"handshake with ingest failed"*) pass "client without CURVE: clear error" ;;
               *) fail "client without CURVE: clear error" "$out" ;; esac

out=$(lakehouse --config "$T/wrongserver.json" send demo/flights --timeout-ms 2000 \
      "$T/bad.ndjson" 2>&1)
rc=$?
check_eq "wrong server key exits 2" "2" "$rc"
case "$out" in *"handshake with ingest failed"*|*"no reply from ingest"*) pass "wrong server key: error" ;;
               *) fail "wrong server key: error" "$out" ;; esac

# a client key file that is not a key
echo "not a key" > "$T/junk.key"
out=$(LAKEHOUSE_CURVE_CLIENT_SECRET_KEY_FILE="$T/junk.key" L send demo/flights "$T/bad.ndjson" 2>&1)
rc=$?
check_eq "malformed key file exits 2" "2" "$rc"
case "$out" in *"not a 40-character Z85 key"*) pass "malformed key file: clear error" ;;
               *) fail "malformed key file: clear error" "$out" ;; esac

# ---- a key added to the directory is accepted at the next connection
cp "$K/intruder.pub" "$K/authorized/"
printf '{"origin":"NEW","delay":5}\n' > "$T/new.ndjson"
out=$(LAKEHOUSE_CURVE_CLIENT_SECRET_KEY_FILE="$K/intruder.key" L send demo/flights "$T/new.ndjson" 2>&1)
check_eq "added key accepted without restart" "0" "$?"

if wait_eq 60 "NEW,OK1,OK2,OK3,WEB" sql_silver demo "SELECT group_concat(origin) FROM (SELECT origin FROM flights ORDER BY origin)"; then
    pass "only authorized records in silver"
else
    fail "only authorized records in silver" "got '$WAIT_LAST'"
fi
check_eq "no refused record in bronze" "0" \
    "$(find "$LAKEHOUSE_DATA/bronze" -name '*.lz4' | xargs -r lz4cat 2>/dev/null | grep -c '"BAD"')"
check_eq "no refused record in spool" "0" "$(cat "$LAKEHOUSE_DATA"/spool/*/*/* 2>/dev/null | grep -c '"BAD"')"
stop_group
check_eq "group stops cleanly" "0" "$?"

# ---- start-up rules (ingest alone, each on its own data directory)
# start_alone NAME CONFIG: runs ingest until it logs started (then SIGTERM)
# or exits; its log is $T/NAME.log, its exit status in ALONE_RC.
start_alone() {
    local name=$1 config=$2
    lakehouse-ingest --data "$T/$name" --config "$config" >"$T/$name.log" 2>&1 &
    local pid=$!
    wait_until 30 bash -c "grep -q 'started endpoint' '$T/$name.log' || ! kill -0 $pid"
    kill -TERM "$pid" 2>/dev/null
    ALONE_RC=0
    wait "$pid" || ALONE_RC=$?
}
P2=$(free_port)
cat > "$T/ipc.json" <<JSON
{"curve_server_secret_key_file": "$K/server.key", "curve_authorized_keys_dir": "$K/authorized"}
JSON
start_alone ipc "$T/ipc.json"
check_cmd "keys on ipc:// ignored with a warning" grep -q "curve_ignored" "$T/ipc.log"
check_cmd "ipc ingest started" grep -q "started endpoint=ipc://" "$T/ipc.log"

echo "{\"ingest_endpoint\": \"tcp://0.0.0.0:$P2\"}" > "$T/open.json"
start_alone open "$T/open.json"
check_cmd "non-loopback tcp:// without CURVE warns" grep -q "ingest_unprotected" "$T/open.log"

echo "{\"ingest_endpoint\": \"tcp://127.0.0.1:$P2\"}" > "$T/lo.json"
start_alone lo "$T/lo.json"
if grep -q "ingest_unprotected" "$T/lo.log"; then
    fail "loopback tcp:// without CURVE: no warning" "$(grep ingest_unprotected "$T/lo.log")"
else
    pass "loopback tcp:// without CURVE: no warning"
fi

cat > "$T/nodir.json" <<JSON
{"ingest_endpoint": "tcp://127.0.0.1:$P2", "curve_server_secret_key_file": "$K/server.key"}
JSON
start_alone nodir "$T/nodir.json"
check_eq "server key without authorized dir: exit 1" "1" "$ALONE_RC"
check_cmd "server key without authorized dir: reason" grep -q "needs curve_authorized_keys_dir" "$T/nodir.log"

finish
