#!/usr/bin/env bash
# Drop-folder ingestion (landing/<domain>/<endpoint>/): CSV, NDJSON and JSON
# array files, renamed in or written in place, become silver rows exactly
# once; the file moves to landing/_done/ (or _failed/ with a .error file); a
# re-drop of the same name and content is not ingested again, a new content
# is; refused records go to rejected/; files dropped while ingest is down are
# taken at start; kill -9 of ingest in the middle of a big file leaves every
# record in silver exactly once (tables without a primary key, so a duplicate
# would be a second row).
source "$(dirname "$0")/../lib.sh"
export LAKEHOUSE_RESTART_BACKOFF_MAX_MS=${LAKEHOUSE_RESTART_BACKOFF_MAX_MS:-1000}
# Small chunks: many chunk commits, so the kill lands between or inside them.
export LAKEHOUSE_BATCH_MAX_RECORDS=${LAKEHOUSE_BATCH_MAX_RECORDS:-2000}
AIRPORTS="$SAMPLE_DATA/airports.csv"
L="$LAKEHOUSE_DATA/landing"

start_group || { fail "start" "group did not start"; exit 1; }

cat > "$T/airports.json" <<'EOF'
{"domain": "land", "name": "airports", "mode": "MANUAL",
 "columns": [
  {"name": "iata", "type": "string", "required": true},
  {"name": "name", "type": "string"}, {"name": "city", "type": "string"},
  {"name": "state", "type": "string"}, {"name": "country", "type": "string"},
  {"name": "latitude", "type": "float"}, {"name": "longitude", "type": "float"}]}
EOF
cat > "$T/events.json" <<'EOF'
{"domain": "land", "name": "events", "mode": "MANUAL",
 "columns": [
  {"name": "rid", "type": "string", "required": true},
  {"name": "n", "type": "integer", "required": true},
  {"name": "payload", "type": "string"}]}
EOF
check_cmd "endpoint create land/airports" lakehouse endpoint create "$T/airports.json"
check_cmd "endpoint create land/events" lakehouse endpoint create "$T/events.json"
mkdir -p "$L/land/airports" "$L/land/events" "$L/land/nothere"

airports() { sql_silver land "SELECT count(*) FROM airports;" 2>/dev/null; }
events() { sql_silver land "SELECT count(*) FROM events;" 2>/dev/null; }
bronze_lines() { find "$LAKEHOUSE_DATA/bronze/land/$1" -name '*.ndjson.lz4' -exec lz4cat {} + 2>/dev/null | wc -l; }
gone() { [ ! -e "$1" ]; }
rows=$(($(wc -l < "$AIRPORTS") - 1))

# 1. CSV written elsewhere, renamed in.
cp "$AIRPORTS" "$L/land/airports/.airports.csv.tmp"
mv "$L/land/airports/.airports.csv.tmp" "$L/land/airports/airports.csv"
if wait_eq 60 "$rows" airports; then pass "CSV renamed in: $rows rows in silver"; else fail "CSV renamed in" "silver has $WAIT_LAST rows, expected $rows"; fi
wait_until 20 gone "$L/land/airports/airports.csv" && pass "CSV left landing/" || fail "CSV left landing/" "still there"
check_eq "CSV moved to _done" "$rows" "$(($(wc -l < "$L/_done/land/airports/airports.csv") - 1))"
check_eq "CSV values typed by the schema" "SEA|Seattle-Tacoma Intl|47.44898194" \
  "$(sql_silver land "SELECT iata, name, latitude FROM airports WHERE iata = 'SEA';")"

# 2. NDJSON written in place (closed after writing).
seq 1 100 | awk '{printf "{\"rid\":\"a-%d\",\"n\":%d}\n", $1, $1}' > "$L/land/events/a.ndjson"
if wait_eq 60 100 events; then pass "NDJSON written in place: 100 rows"; else fail "NDJSON written in place" "got $WAIT_LAST"; fi

# 3. A pretty-printed JSON array (records spanning lines), renamed in.
{ echo "["; seq 1 50 | awk '{printf "%s  {\n    \"rid\": \"j-%d\",\n    \"n\": %d,\n    \"payload\": \"x, ] }\"\n  }\n", ($1 > 1 ? "," : ""), $1, $1}'; echo "]"; } > "$T/j.json"
mv "$T/j.json" "$L/land/events/j.json"
if wait_eq 60 150 events; then pass "JSON array renamed in: 50 more rows"; else fail "JSON array renamed in" "got $WAIT_LAST"; fi
check_eq "JSON string with brackets kept" "x, ] }" "$(sql_silver land "SELECT payload FROM events WHERE rid = 'j-7';")"

# 4. The same name and content dropped again: not ingested again.
wait_until 20 gone "$L/land/airports/airports.csv"
b_before=$(bronze_lines airports)
cp "$AIRPORTS" "$T/again.csv"
mv "$T/again.csv" "$L/land/airports/airports.csv"
wait_until 30 gone "$L/land/airports/airports.csv" && pass "re-dropped file left landing/" || fail "re-dropped file left landing/" "still there"
wait_until 10 grep -q 'landing_duplicate file=landing/land/airports/airports.csv' "$T/group.log" \
  && pass "re-drop logged as duplicate" || fail "re-drop logged as duplicate" "no log line"
sleep 1
check_eq "re-drop: silver unchanged" "$rows" "$(airports)"
check_eq "re-drop: bronze unchanged" "$b_before" "$(bronze_lines airports)"
check_eq "re-drop kept in _done under a new name" "yes" "$([ -f "$L/_done/land/airports/airports.csv.1" ] && echo yes)"

# 5. The same name with another content is ingested.
wait_until 20 gone "$L/land/events/a.ndjson"
seq 101 110 | awk '{printf "{\"rid\":\"a-%d\",\"n\":%d}\n", $1, $1}' > "$T/a.ndjson"
mv "$T/a.ndjson" "$L/land/events/a.ndjson"
if wait_eq 60 160 events; then pass "same name, new content: ingested"; else fail "same name, new content" "got $WAIT_LAST"; fi

# 6. Bad records (non-strict): stored rows plus rejected/ lines with reasons.
cat > "$T/bad.ndjson" <<'EOF'
{"rid":"b-1","n":1}
{"rid":"b-2","n":"abc"}

{"n":3}
{"rid":"b-4", broken
{"rid":"b-5","n":5}
EOF
mv "$T/bad.ndjson" "$L/land/events/bad.ndjson"
if wait_eq 60 162 events; then pass "bad records: the 2 good ones stored"; else fail "bad records: good ones stored" "got $WAIT_LAST"; fi
rejected_count() { cat "$LAKEHOUSE_DATA"/rejected/land/events/*.ndjson 2>/dev/null | grep -c '"batch_id":"landing-'; }
if wait_eq 20 3 rejected_count; then pass "bad records: 3 lines in rejected/"; else fail "bad records in rejected/" "got $WAIT_LAST"; fi
check_eq "rejected reasons" "1 field 'n'|2 field 'rid'|3 invalid JSON" \
  "$(cat "$LAKEHOUSE_DATA"/rejected/land/events/*.ndjson | jq -r 'select(.batch_id|startswith("landing-")) | "\(.index) \(.reason)"' \
     | sed -E "s/^([0-9]) (field '[a-z]+'|line [0-9]+, column [0-9]+: invalid JSON).*/\1 \2/; s/line [0-9]+, column [0-9]+: //" | paste -sd'|')"
wait_until 20 test -f "$L/_done/land/events/bad.ndjson" && pass "file with bad records moved to _done" || fail "bad file to _done" "missing"

# 7. Failures: _failed/ with a .error file saying why; nothing stored.
echo "a,b" > "$T/x.csv"; echo "1,2" >> "$T/x.csv"
mv "$T/x.csv" "$L/land/nothere/x.csv"
wait_until 30 test -f "$L/_failed/land/nothere/x.csv.error" && pass "unknown endpoint: _failed with .error" || fail "unknown endpoint" "no .error"
grep -q "unknown endpoint land/nothere" "$L/_failed/land/nothere/x.csv.error" 2>/dev/null \
  && pass ".error names the unknown endpoint" || fail ".error names the unknown endpoint" "$(cat "$L/_failed/land/nothere/x.csv.error" 2>&1)"
check_eq "failed file moved beside its .error" "yes" "$([ -f "$L/_failed/land/nothere/x.csv" ] && echo yes)"
printf '[{"rid":"u-1","n":1},\n{"rid":"u-2","n":2}\n' > "$T/u.json"
mv "$T/u.json" "$L/land/events/u.json"
wait_until 30 test -f "$L/_failed/land/events/u.json.error" && pass "unparsable JSON array: _failed" || fail "unparsable JSON array" "no .error"
grep -q "unparsable file: line 3: unexpected end of file: the array is not closed" "$L/_failed/land/events/u.json.error" 2>/dev/null \
  && pass ".error says where the file is broken" || fail ".error says where" "$(cat "$L/_failed/land/events/u.json.error" 2>&1)"
printf 'rid,n\nc-1,1\nc-2,2,extra\n' > "$T/c.csv"
mv "$T/c.csv" "$L/land/events/c.csv"
wait_until 30 test -f "$L/_failed/land/events/c.csv.error" && pass "CSV row with too many cells: _failed" || fail "CSV too many cells" "no .error"
grep -q "line 3: 3 cells but the header has 2 columns" "$L/_failed/land/events/c.csv.error" 2>/dev/null \
  && pass ".error names the CSV line" || fail ".error names the CSV line" "$(cat "$L/_failed/land/events/c.csv.error" 2>&1)"
sleep 1
check_eq "failed files stored nothing" 162 "$(events)"

# 8. Files outside an endpoint directory are refused with a log line and left alone.
echo "x" > "$L/land/stray.csv"
echo "x" > "$L/stray.csv"
mkdir -p "$L/Bad-Domain"
wait_until 20 grep -q 'landing_refused path=landing/land/stray.csv' "$T/group.log" \
  && pass "file in a domain dir refused with a log line" || fail "file in domain dir refused" "no log line"
wait_until 20 grep -q 'landing_refused path=landing/stray.csv' "$T/group.log" \
  && pass "file in landing/ refused with a log line" || fail "file in landing/ refused" "no log line"
wait_until 20 grep -q 'landing_refused path=landing/Bad-Domain reason="not a valid domain name' "$T/group.log" \
  && pass "badly named directory refused" || fail "badly named directory refused" "no log line"
check_eq "refused file left where it was" "yes" "$([ -f "$L/land/stray.csv" ] && echo yes)"
rm -f "$L/land/stray.csv" "$L/stray.csv"; rmdir "$L/Bad-Domain"

# 9. Files dropped while ingest is down are taken at start.
stop_group; rc=$?
check_eq "group stops with status 0" 0 "$rc"
seq 1 30 | awk '{printf "{\"rid\":\"s-%d\",\"n\":%d}\n", $1, $1}' > "$L/land/events/offline.ndjson"
touch -d '-10 seconds' "$L/land/events/offline.ndjson"
start_group || { fail "restart" "group did not start"; exit 1; }
if wait_eq 60 192 events; then pass "file dropped while stopped: ingested at start"; else fail "file dropped while stopped" "got $WAIT_LAST"; fi

# 10. kill -9 of ingest in the middle of a big file: exactly once.
BIG=${LANDING_BIG_RECORDS:-120000}
pad=$(printf '%0100d' 0)
seq 1 "$BIG" | awk -v pad="$pad" '{printf "{\"rid\":\"k-%d\",\"n\":%d,\"payload\":\"%s\"}\n", $1, $1, pad}' > "$T/big.ndjson"
done_records() { sqlite3 -batch -noheader "file:$L/_state.db?mode=ro" "SELECT coalesce(max(records_done),0) FROM files WHERE name = 'big.ndjson';" 2>/dev/null; }
mv "$T/big.ndjson" "$L/land/events/big.ndjson"
kills=0
for threshold in $((BIG / 5)) $((BIG / 2)); do
  wait_until 120 sh -c "[ \"\$(sqlite3 -batch -noheader 'file:$L/_state.db?mode=ro' \"SELECT coalesce(max(records_done),0) FROM files WHERE name = 'big.ndjson';\" 2>/dev/null || echo 0)\" -ge $threshold ]"
  pid=$(cat "$LAKEHOUSE_DATA/run/ingest.pid" 2>/dev/null)
  if [ -f "$L/land/events/big.ndjson" ] && [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    wait_until 30 sh -c "p=\$(cat '$LAKEHOUSE_DATA/run/ingest.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $pid ] && kill -0 \$p"
  fi
done
if [ "$kills" -ge 1 ]; then pass "ingest killed $kills times in the middle of the big file"; else fail "kill in the middle" "the file was done before a kill landed"; fi
total=$((192 + BIG))
if wait_eq 300 "$total" events; then pass "big file: every record in silver"; else fail "big file: every record in silver" "got $WAIT_LAST, expected $total"; fi
sleep 2
check_eq "big file: every record once" "$BIG $BIG" "$(sql_silver land "SELECT count(*) || ' ' || count(DISTINCT rid) FROM events WHERE rid LIKE 'k-%';")"
check_eq "big file: no extra rows" "$total" "$(events)"
check_eq "big file: records in bronze equal rows" "$total" "$(bronze_lines events)"
check_eq "big file: state row done with every record" "done|$BIG" \
  "$(sqlite3 -batch -noheader "file:$L/_state.db?mode=ro" "SELECT status, records_done FROM files WHERE name = 'big.ndjson';")"
wait_until 20 test -f "$L/_done/land/events/big.ndjson" && pass "big file moved to _done" || fail "big file to _done" "missing"
check_eq "no landing intent left" 0 "$(sqlite3 -batch -noheader "file:$L/_state.db?mode=ro" "SELECT count(*) FROM intent;")"
check_eq "silver integrity_check" ok "$(sql_silver land "PRAGMA integrity_check;")"

# Files and directories the system creates are closed to other users (0640 /
# 0750): everything but the users' own files and folders in landing/ (moved
# as they are) and the sockets (inside run/, itself 0750).
open_to_others=$(find "$LAKEHOUSE_DATA" \( -path "$LAKEHOUSE_DATA/landing/*" ! -name '_state.db*' \) -prune \
    -o ! -type s -perm /o=rwx -printf '%m %P\n' | head -5)
check_eq "nothing the system created is open to other users" "" "$open_to_others"
check_eq "landing state database mode" 640 "$(stat -c %a "$LAKEHOUSE_DATA/landing/_state.db")"
check_eq "silver database mode" 640 "$(stat -c %a "$LAKEHOUSE_DATA/silver/land.db")"

stop_group; rc=$?
check_eq "group stops with status 0 at the end" 0 "$rc"
finish
