#!/usr/bin/env bash
# One record reader: the same files through `lakehouse send`, the drop folder
# (landing/) and HTTP (JSON arrays, the one file format POST .../batch takes)
# give the same records and the same errors. Files: NDJSON with a byte order
# mark, CRLF, blank lines and trailing blanks; a pretty-printed JSON array
# with a byte order mark; CSV with a byte order mark and a quoted cell over
# two lines; NDJSON with a malformed line 3; a JSON array with a malformed
# element on line 3; a JSON array not closed.
source "$(dirname "$0")/../lib.sh"
B="http://$LAKEHOUSE_LISTEN"
L="$LAKEHOUSE_DATA/landing"
F="$T/files"
mkdir -p "$F"

start_group || { fail "start" "group did not start"; exit 1; }
for e in s l h; do
    cat > "$T/$e.json" <<EOF
{"domain": "rr", "name": "$e", "mode": "MANUAL",
 "columns": [{"name": "id", "type": "integer", "required": true},
             {"name": "name", "type": "string"}, {"name": "note", "type": "string"}]}
EOF
    check_cmd "endpoint create rr/$e" lakehouse endpoint create "$T/$e.json"
done
mkdir -p "$L/rr/l"

printf '\xEF\xBB\xBF{"id":1,"name":"a"}\r\n\r\n{"id":2,"name":"b, c"}  \n  \n{"id":3,"note":"x"}\n' > "$F/bom.ndjson"
printf '\xEF\xBB\xBF[\n  {\n    "id": 11,\n    "name": "k"\n  },\n  {"id": 12, "note": "] }"},\n  {"id": 13}\n]\n' > "$F/array.json"
printf '\xEF\xBB\xBFid,name,note\r\n21,"two\nlines",n\r\n\r\n22,,m\r\n23,z,\r\n' > "$F/rows.csv"
printf '{"id":31}\n{"id":32}\n{"id":33,\n{"id":34}\n' > "$F/badline.ndjson"
printf '[{"id":41},\n {"id":42},\n {"id" 43}\n]\n' > "$F/badarray.json"
printf '[{"id":51},\n{"id":52}\n' > "$F/unclosed.json"

# Through send (one run per file), the drop folder and HTTP.
for f in bom.ndjson array.json rows.csv badline.ndjson badarray.json unclosed.json; do
    lakehouse send rr/s "$F/$f" >"$T/send-$f.out" 2>"$T/send-$f.err"
    echo $? > "$T/send-$f.rc"
    cp "$F/$f" "$L/rr/l/.$f.tmp" && mv "$L/rr/l/.$f.tmp" "$L/rr/l/$f"
done
http_post() { curl -s -o "$T/http-$1.body" -w '%{http_code}' -X POST --data-binary "@$F/$1" \
    -H 'Content-Type: application/json' "$B/ingest/rr/h/batch"; }
check_eq "HTTP: the JSON array with a byte order mark is stored" 200 "$(http_post array.json)"
check_eq "HTTP: the malformed array is refused" 400 "$(http_post badarray.json)"

settled() { [ "$(ls "$L/_done/rr/l" 2>/dev/null | wc -l)" -eq 4 ] &&
            [ -f "$L/_failed/rr/l/badarray.json.error" ] && [ -f "$L/_failed/rr/l/unclosed.json.error" ]; }
wait_until 60 settled && pass "landing: good files in _done, broken ones in _failed" ||
    fail "landing settled" "$(ls -R "$L/_done" "$L/_failed" 2>&1 | tr '\n' ' ')"

# Same records: send and landing hold the same rows (the good records of the
# good files and of the file with a malformed line); HTTP the array's.
rows() { sql_silver rr "SELECT id, coalesce(name,'-'), coalesce(note,'-') FROM $1 WHERE id $2 ORDER BY id;" 2>/dev/null | tr '\n' ' '; }
want="1|a|- 2|b, c|- 3|-|x 11|k|- 12|-|] } 13|-|- 21|two
lines|n 22|-|m 23|z|- 31|-|- 32|-|- 34|-|- "
want=$(printf '%s' "$want" | tr '\n' ' ')
wait_eq 60 "$want" rows l "< 40" && pass "landing: the records of every good file" || fail "landing records" "$WAIT_LAST"
wait_eq 60 "$want" rows s "< 40" && pass "send: the same records" || fail "send records" "$WAIT_LAST"
wait_eq 60 "$(rows l 'BETWEEN 11 AND 13')" rows h "BETWEEN 11 AND 13" && pass "HTTP: the array's records as landing stored them" ||
    fail "HTTP records" "$WAIT_LAST"

# Same errors. A malformed NDJSON line is a refused record, with one reason.
landing_reason=$(cat "$LAKEHOUSE_DATA"/rejected/rr/l/*.ndjson 2>/dev/null | jq -r 'select(.record == "{\"id\":33,") | .reason')
case "$landing_reason" in "line 3, column "*"invalid JSON"*) pass "landing: rejected/ names line 3" ;;
    *) fail "landing: rejected/ names line 3" "$landing_reason" ;; esac
check_eq "send: exit 1 (a record refused)" 1 "$(cat "$T/send-badline.ndjson.rc")"
grep -qF "refused: $F/badline.ndjson: line 3: $landing_reason" "$T/send-badline.ndjson.err" &&
    pass "send: the same reason at line 3" || fail "send: the same reason" "$(cat "$T/send-badline.ndjson.err")"

# A broken JSON array: the same message from send (exit 2) and in the .error file.
for f in badarray.json unclosed.json; do
    msg=$(sed -n 's/^unparsable file: //p' "$L/_failed/rr/l/$f.error" 2>/dev/null)
    check_eq "send: $f stops with exit 2" 2 "$(cat "$T/send-$f.rc")"
    if [ -n "$msg" ] && grep -qF "$F/$f: $msg" "$T/send-$f.err"; then pass "send and landing: $f: $msg"
    else fail "send and landing: same error for $f" "landing: $msg; send: $(cat "$T/send-$f.err")"; fi
done
check_eq "the malformed element is named at line 3" "line 3: invalid JSON: ':' expected near '43'" \
    "$(sed -n 's/^unparsable file: //p' "$L/_failed/rr/l/badarray.json.error")"
check_eq "the unclosed array is named at line 3" "line 3: unexpected end of input: the JSON array is not closed with ']'" \
    "$(sed -n 's/^unparsable file: //p' "$L/_failed/rr/l/unclosed.json.error")"
check_eq "HTTP: the malformed array's error names line 3" 3 "$(jq -r .line "$T/http-badarray.json.body" 2>/dev/null)"
check_eq "landing stored nothing of a broken array" 0 "$(sql_silver rr "SELECT count(*) FROM l WHERE id > 40;")"

stop_group
finish
