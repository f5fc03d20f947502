#!/usr/bin/env bash
# Ingest test: lakehouse-ingest alone on a temporary data directory, driven
# by lakehouse-ingest-tool (tests/tools/ingest_tool.c: a protocol client that
# prints each reply as JSON, and catalog setup). Checks: a reply comes only
# once the records are in the spool file; metadata columns and _rescued;
# strictly increasing _seq; strict refusal with every bad index; rejected/
# lines with reason; per-record NDJSON parse errors with line/column; a
# broken JSON-array body refused with its position; msgpack bodies (uint64
# overflow is a per-record error); AUTO_INFERENCE evolution; unknown
# endpoint; batch-id dedup (re-sent and within one group); an endpoint
# created or changed in the catalog without any event is picked up; busy
# under back-pressure; SIGTERM seals every spool into bronze readable by
# lz4cat; restart recovers a hand-made spool with a torn tail (only complete
# lines reach bronze), removes a spool whose bronze file exists already,
# refills the dedup window, keeps _seq increasing; sealing by age.
source "$(dirname "$0")/../lib.sh"

D=$LAKEHOUSE_DATA
ILOG=$T/ingest.log
INGEST_PID=""
# tests/tools/ingest_tool.c, linked like a process (Makefile: lakehouse-ingest-tool)
TOOL=""
for c in "$LAKEHOUSE_BIN/lakehouse-ingest-tool" "$LAKEHOUSE_BIN/../tests/tools/ingest_tool"; do
    [ -x "$c" ] && { TOOL=$c; break; }
done
if [ -z "$TOOL" ]; then
    fail "ingest tool built" "missing $LAKEHOUSE_BIN/lakehouse-ingest-tool (tests/tools/ingest_tool.c)"
    exit 1
fi
mkdir -p "$D"

start_ingest() {
    rm -f "$D/run/ingest.sock"
    # no sealing when quiet: the checks read acknowledged records in the spool
    LAKEHOUSE_SEAL_QUIET_MS=0 lakehouse-ingest --data "$D" >>"$ILOG" 2>&1 &
    INGEST_PID=$!
    wait_until 20 test -S "$D/run/ingest.sock" || { echo "ingest did not start"; tail -30 "$ILOG"; return 1; }
}
# stop_ingest: SIGTERM and wait; returns the exit status
stop_ingest() {
    kill -TERM "$INGEST_PID"
    local rc=0
    wait "$INGEST_PID" || rc=$?
    INGEST_PID=""
    return $rc
}
send() { "$TOOL" send "$D" "$@"; }
# field NAME JSON-LINE: a top-level scalar of a reply line (numbers, booleans, strings)
field() { printf '%s' "$2" | sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" | head -1 | tr -d '"'; }
indexes() { printf '%s' "$1" | grep -o '"index":[0-9]*' | cut -d: -f2 | paste -sd, -; }
spool_lines() { cat "$D"/spool/demo/"$1"/*.ndjson 2>/dev/null | wc -l; }
spool_text() { cat "$D"/spool/demo/"$1"/*.ndjson 2>/dev/null; }
bronze_text() { find "$D/bronze/demo/$1" -name '*.ndjson.lz4' 2>/dev/null | sort | xargs -r lz4cat 2>/dev/null; }
bronze_files() { find "$D/bronze/demo/$1" -name '*.ndjson.lz4' 2>/dev/null | wc -l; }
spool_empty() { [ "$(find "$D/spool" -type f | wc -l)" -eq 0 ]; }

cat > "$T/flights.json" <<'EOF'
{"domain":"demo","name":"flights","mode":"MANUAL","columns":[
 {"name":"date","type":"timestamp","format":"%Y/%m/%d %H:%M"},
 {"name":"delay","type":"integer"},{"name":"distance","type":"integer"},
 {"name":"origin","type":"string","required":true},{"name":"destination","type":"string"}]}
EOF
cat > "$T/auto.json" <<'EOF'
{"domain":"demo","name":"auto","mode":"AUTO_INFERENCE","columns":[{"name":"id","type":"integer"}]}
EOF
check_eq "endpoint demo/flights created" 1 "$("$TOOL" endpoint-create "$D" "$T/flights.json" 2>&1)"
check_eq "endpoint demo/auto created" 1 "$("$TOOL" endpoint-create "$D" "$T/auto.json" 2>&1)"

# Phase 1: no sealing by age, so the spool can be inspected after each ack.
export LAKEHOUSE_SEAL_MAX_AGE_MS=3600000
start_ingest || exit 1

# ---------------------------------------------------------------- ack = on disk
cat > "$T/good.ndjson" <<'EOF'
{"date":"2001/01/01 00:47","delay":66,"distance":1750,"origin":"DTW","destination":"LAS","gate":"A1"}
{"date":"2001/01/01 01:10","delay":95,"distance":2399,"origin":"HNL","destination":"SFO"}
{"date":"2001/01/01 01:24","delay":-5,"distance":407,"origin":"LAS","destination":"OAK"}
EOF
r=$(send demo/flights ndjson "$T/good.ndjson" --id a1)
# Read the spool right after the reply: it must already hold the records.
lines=$(spool_lines flights)
check_eq "ok batch: status" ok "$(field status "$r")"
check_eq "ok batch: accepted" 3 "$(field accepted "$r")"
check_eq "ack only after the records are in the spool" 3 "$lines"
line1=$(spool_text flights | head -1)
for f in _insert_date _domain _endpoint _seq _schema_version _batch_id; do
    case "$line1" in *"\"$f\":"*) pass "metadata $f present" ;; *) fail "metadata $f present" "$line1" ;; esac
done
case "$line1" in *'"_rescued":{"gate":"A1"}'*) pass "unknown field kept in _rescued" ;; *) fail "unknown field kept in _rescued" "$line1" ;; esac
case "$line1" in *'"date":"2001-01-01T00:47:00"'*) pass "timestamp normalised" ;; *) fail "timestamp normalised" "$line1" ;; esac
check_eq "_batch_id written" 3 "$(spool_text flights | grep -c '"_batch_id":"a1"}$')"

# ---------------------------------------------------------------- strict
cat > "$T/mixed.ndjson" <<'EOF'
{"date":"2001/01/02 00:47","delay":1,"distance":10,"origin":"AAA"}
{"date":"2001/01/02 00:48","delay":"late","distance":10,"origin":"BBB"}
{"date":"2001/01/02 00:49","delay":3,"distance":10,"origin":"CCC"}

{"date":"2001/01/02 00:50","delay":4,"distance":10,"origin":"DDD"
{"date":"2001/01/02 00:51","delay":5,"distance":10}
EOF
r=$(send demo/flights ndjson "$T/mixed.ndjson" --id s1 --strict)
check_eq "strict: refused" refused "$(field status "$r")"
check_eq "strict: every record refused" 5 "$(field refused "$r")"
check_eq "strict: bad indexes listed" "1,3,4" "$(indexes "$r")"
check_eq "strict: nothing stored" 3 "$(spool_lines flights)"
case "$r" in *'line 5, column'*) pass "strict: parse error names line and column" ;; *) fail "strict: parse error names line and column" "$r" ;; esac
check_eq "strict: nothing rejected" 0 "$(cat "$D"/rejected/demo/flights/*.ndjson 2>/dev/null | wc -l)"

# ---------------------------------------------------------------- non-strict
r=$(send demo/flights ndjson "$T/mixed.ndjson" --id p1)
check_eq "partial: status" partial "$(field status "$r")"
check_eq "partial: accepted" 2 "$(field accepted "$r")"
check_eq "partial: refused" 3 "$(field refused "$r")"
check_eq "partial: indexes" "1,3,4" "$(indexes "$r")"
check_eq "partial: good records stored" 5 "$(spool_lines flights)"
rej=$(cat "$D"/rejected/demo/flights/*.ndjson 2>/dev/null)
check_eq "rejected/: one line per refused record" 3 "$(printf '%s\n' "$rej" | grep -c '"batch_id":"p1"')"
case "$rej" in *'"index":1,"reason":"field '"'"'delay'"'"': expected integer'*'"record":{'*) pass "rejected/: reason and record" ;; *) fail "rejected/: reason and record" "$rej" ;; esac
case "$rej" in *'"index":3,"reason":"line 5, column'*'"record":"{'*) pass "rejected/: raw text of an unparsable line" ;; *) fail "rejected/: raw text of an unparsable line" "$rej" ;; esac
case "$rej" in *'"index":4,"reason":"'*origin*) pass "rejected/: missing required field" ;; *) fail "rejected/: missing required field" "$rej" ;; esac

# ---------------------------------------------------------------- JSON array, msgpack
printf '[{"date":"2001/01/03 00:00","delay":1,"origin":"EEE"},\n {"date":"2001/01/03 00:01", "delay":2 "origin":"FFF"}]' > "$T/broken.json"
r=$(send demo/flights json "$T/broken.json" --id j0)
check_eq "broken JSON array: refused" refused "$(field status "$r")"
case "$(field message "$r")" in *"line 2, column"*"byte"*) pass "broken JSON array: position in message" ;; *) fail "broken JSON array: position in message" "$r" ;; esac
printf '[{"date":"2001/01/03 00:00","delay":1,"origin":"EEE"},{"date":"2001/01/03 00:01","delay":2,"origin":"FFF"}]' > "$T/array.json"
r=$(send demo/flights json "$T/array.json" --id j1)
check_eq "JSON array: accepted" 2 "$(field accepted "$r")"
printf '[{"date":"2001/01/04 00:00","delay":7,"origin":"GGG"},{"date":"2001/01/04 00:01","delay":"u64:18446744073709551615","origin":"HHH"},{"date":"2001/01/04 00:02","delay":-9,"distance":3.5,"origin":"III"}]' > "$T/mp.json"
"$TOOL" json2msgpack "$T/mp.json" > "$T/mp.bin"
r=$(send demo/flights msgpack "$T/mp.bin" --id m1)
check_eq "msgpack: status" partial "$(field status "$r")"
check_eq "msgpack: uint64 overflow and a float are refused" "1,2" "$(indexes "$r")"
case "$r" in *"field 'delay': integer 18446744073709551615 is out of range"*) pass "msgpack: overflow reason names the field" ;; *) fail "msgpack: overflow reason names the field" "$r" ;; esac
check_eq "msgpack: good record stored" 1 "$(spool_text flights | grep -c '"origin":"GGG"')"
check_eq "msgpack: overflow kept as base64 in rejected/" 1 "$(grep '"batch_id":"m1","index":1' "$D"/rejected/demo/flights/*.ndjson | grep -c record_base64)"
printf '\x92\x81\xa6origin' > "$T/trunc.bin"
r=$(send demo/flights msgpack "$T/trunc.bin" --id m2)
check_eq "truncated msgpack: refused" refused "$(field status "$r")"

# ---------------------------------------------------------------- unknown endpoint, dedup
r=$(send demo/nope ndjson "$T/good.ndjson")
check_eq "unknown endpoint: refused" refused "$(field status "$r")"
check_eq "unknown endpoint: message" "unknown endpoint demo/nope" "$(field message "$r")"
before=$(spool_lines flights)
r=$(send demo/flights ndjson "$T/good.ndjson" --id a1)
check_eq "re-sent id: duplicate" true "$(field duplicate "$r")"
check_eq "re-sent id: stored counts" 3 "$(field accepted "$r")"
check_eq "re-sent id: not stored again" "$before" "$(spool_lines flights)"
out=$(send demo/flights ndjson "$T/good.ndjson" --id g1 --repeat 3)
check_eq "same id three times at once: one stored" $((before + 3)) "$(spool_lines flights)"
check_eq "same id three times at once: two duplicates" 2 "$(printf '%s\n' "$out" | grep -c '"duplicate":true')"
check_eq "same id three times at once: all ok" 3 "$(printf '%s\n' "$out" | grep -c '"status":"ok"')"

# ---------------------------------------------------------------- AUTO_INFERENCE
printf '{"id":1,"name":"x","score":1.5}\n{"id":2,"name":"y","tags":[1,2]}\n' > "$T/auto.ndjson"
r=$(send demo/auto ndjson "$T/auto.ndjson" --id e1)
check_eq "auto: accepted" 2 "$(field accepted "$r")"
check_eq "auto: new schema version in the catalog" 2 "$(sqlite3 -batch -noheader "file:$D/catalog.db?mode=ro" "SELECT max(version) FROM endpoints WHERE domain='demo' AND name='auto'")"
check_eq "auto: records carry the new version" 2 "$(spool_text auto | grep -c '"_schema_version":2')"
check_eq "auto: new fields are columns, not rescued" 0 "$(spool_text auto | grep -c _rescued)"

# ---------------------------------------------------------------- catalog changes without events
# (ingest_tool writes the catalog but publishes no schema.changed: as if the
# event was lost)
cat > "$T/late.json" <<'EOF'
{"domain":"demo","name":"late","mode":"MANUAL","columns":[{"name":"k","type":"string"}]}
EOF
printf '{"k":"a"}\n' > "$T/late.ndjson"
r=$(send demo/late ndjson "$T/late.ndjson")
check_eq "endpoint not yet created: refused" refused "$(field status "$r")"
"$TOOL" endpoint-create "$D" "$T/late.json" >/dev/null
r=$(send demo/late ndjson "$T/late.ndjson")
check_eq "endpoint created meanwhile: catalog re-queried" ok "$(field status "$r")"
sed 's/{"name":"destination","type":"string"}/&,{"name":"carrier","type":"string"}/' "$T/flights.json" > "$T/flights2.json"
check_eq "new version of demo/flights" 2 "$("$TOOL" endpoint-create "$D" "$T/flights2.json" 2>&1)"
printf '{"date":"2001/01/05 00:00","delay":1,"origin":"UUU","carrier":"UA"}\n' > "$T/carrier.ndjson"
probe=0
carrier_is_column() {
    probe=$((probe + 1))
    send demo/flights ndjson "$T/carrier.ndjson" --id "c$probe" >/dev/null
    spool_text flights | grep "\"_batch_id\":\"c$probe\"" |
        grep -q '"carrier":"UA","_insert_date":.*"_schema_version":2,'
}
if wait_until 10 carrier_is_column; then
    pass "new schema version picked up by the periodic catalog check"
else
    fail "new schema version picked up by the periodic catalog check" "$(spool_text flights | tail -1)"
fi

# ---------------------------------------------------------------- _seq, SIGTERM seals
seqs=$(spool_text flights | grep -o '"_seq":[0-9]*' | cut -d: -f2)
check_eq "_seq strictly increasing" "$(printf '%s\n' "$seqs" | sort -n -u | paste -sd,)" "$(printf '%s\n' "$seqs" | paste -sd,)"
total=$(spool_lines flights)
max_seq=$(printf '%s\n' "$seqs" | tail -1)
stop_ingest; rc=$?
check_eq "SIGTERM: exit 0" 0 "$rc"
check_eq "SIGTERM: spools sealed" 0 "$(find "$D/spool" -type f | wc -l)"
check_eq "SIGTERM: bronze holds every record" "$total" "$(bronze_text flights | wc -l)"
check_eq "SIGTERM: bronze of auto" 2 "$(bronze_text auto | wc -l)"
check_eq "pid file removed" no "$(test -e "$D/run/ingest.pid" && echo yes || echo no)"
name=$(basename "$(find "$D/bronze/demo/flights" -name '*.ndjson.lz4' | head -1)")
first=$(bronze_text flights | head -1 | grep -o '"_seq":[0-9]*' | cut -d: -f2)
check_eq "bronze name is <first_seq>-<last_seq>" "$(printf '%020d-%020d.ndjson.lz4' "$first" "$max_seq")" "$name"

# ---------------------------------------------------------------- restart recovery
today=$(date -u +%Y-%m-%d)
mkdir -p "$D/spool/demo/flights"
s1=$((max_seq + 1000)); s2=$((max_seq + 1001))
meta() { printf '"_insert_date":"%sT00:00:00.000Z","_domain":"demo","_endpoint":"flights","_seq":%s,"_schema_version":1' "$today" "$1"; }
{
    printf '{"origin":"T01",%s,"_batch_id":"t1"}\n' "$(meta $s1)"
    printf '{"origin":"T02",%s,"_batch_id":"t1"}\n' "$(meta $s2)"
    printf '{"origin":"T03","_seq":%s' $((s2 + 1))
} > "$D/spool/demo/flights/$(printf '%020d' $s1)-$today.ndjson"
# A spool whose bronze file was sealed before a crash lost the unlink.
sealed=$(find "$D/bronze/demo/flights" -name '*.ndjson.lz4' | head -1)
sealed_first=$(basename "$sealed" | cut -c1-20)
sealed_date=$(basename "$(dirname "$sealed")" | cut -c4-)
lz4cat "$sealed" > "$D/spool/demo/flights/$sealed_first-$sealed_date.ndjson"
files_before=$(bronze_files flights)

export LAKEHOUSE_SEAL_MAX_AGE_MS=300
export LAKEHOUSE_INGEST_QUEUE_MAX_BYTES=4000
start_ingest || exit 1
check_eq "recovery: spools gone" 0 "$(find "$D/spool" -type f | wc -l)"
check_eq "recovery: one new bronze file (the sealed spool only removed)" $((files_before + 1)) "$(bronze_files flights)"
torn=$(lz4cat "$(printf '%s/bronze/demo/flights/dt=%s/%020d-%020d.ndjson.lz4' "$D" "$today" $s1 $s2)" 2>/dev/null)
check_eq "recovery: torn tail cut, complete lines kept" "T01,T02" "$(printf '%s\n' "$torn" | grep -o '"origin":"T0[0-9]"' | cut -d'"' -f4 | paste -sd,)"
check_eq "recovery: no record duplicated" $((total + 2)) "$(bronze_text flights | wc -l)"
r=$(send demo/flights ndjson "$T/good.ndjson" --id a1)
check_eq "restart: dedup window refilled from bronze" true "$(field duplicate "$r")"
# t1's first attempt was torn (2 complete lines on disk, the third cut): its
# re-send (3 records) stores only what the crash cut off, the third record
before_t1=$(bronze_text flights | wc -l)
r=$(send demo/flights ndjson "$T/good.ndjson" --id t1)
check_eq "restart: a torn batch's re-send is completed, not a duplicate" "false 3" "$(field duplicate "$r") $(field accepted "$r")"
wait_until 10 spool_empty
check_eq "restart: the torn batch gained only its missing record" $((before_t1 + 1)) "$(bronze_text flights | wc -l)"
check_eq "restart: t1 is whole on disk now" 3 "$(bronze_text flights | grep -c '"_batch_id":"t1"')"
r=$(send demo/flights ndjson "$T/good.ndjson" --id t1)
check_eq "restart: t1 again is a duplicate" "true 3" "$(field duplicate "$r") $(field accepted "$r")"
r=$(send demo/flights ndjson "$T/mixed.ndjson" --id p1)
check_eq "restart: refused count refilled from rejected/" "2 3" "$(field accepted "$r") $(field refused "$r")"
r=$(send demo/flights ndjson "$T/good.ndjson" --id n1)
check_eq "restart: new batch ok" ok "$(field status "$r")"
wait_until 10 spool_empty
new_seq=$(bronze_text flights | grep '"_batch_id":"n1"' | head -1 | grep -o '"_seq":[0-9]*' | cut -d: -f2)
check_eq "restart: _seq continues above the recovered spool" yes "$([ "${new_seq:-0}" -gt $s2 ] && echo yes || echo no)"
check_eq "sealed by age (seal_max_age_ms)" 3 "$(bronze_text flights | grep -c '"_batch_id":"n1"')"

# ---------------------------------------------------------------- busy
# Stop ingest so that every batch waits in its queue, then let it drain
# them in one group: beyond ingest_queue_max_bytes the answer is busy.
kill -STOP "$INGEST_PID"
send demo/flights ndjson "$T/good.ndjson" --id busy --distinct --repeat 12 > "$T/busy.out" &
sender=$!
sleep 0.5
kill -CONT "$INGEST_PID"
wait $sender
check_eq "busy: every batch answered" 12 "$(grep -c '"status":' "$T/busy.out")"
nbusy=$(grep -c '"status":"busy"' "$T/busy.out")
nok=$(grep -c '"status":"ok"' "$T/busy.out")
check_eq "busy: some refused with busy, the rest stored" "yes 12" "$([ "$nbusy" -gt 0 ] && [ "$nok" -gt 0 ] && echo yes || echo no) $((nbusy + nok))"
wait_until 10 spool_empty
check_eq "busy: only the ok batches stored" $((nok * 3)) "$(bronze_text flights | grep -c '"_batch_id":"busy-')"

stop_ingest; rc=$?
check_eq "second SIGTERM: exit 0" 0 "$rc"
check_eq "no sanitizer reports" 0 "$(grep -c -E 'runtime error|AddressSanitizer' "$ILOG")"
finish
