#!/usr/bin/env bash
# quickstart.sh - the README's quick start, exactly as a newcomer runs it:
# the group started as `make run` starts it (--demo: endpoint demo/flights,
# job demo/flights_by_origin), then the README's `lakehouse send demo/flights
# < tests/data/flights-20k.json` line (a JSON array on stdin), taken from the
# README itself and run from the repository's top folder. The silver table
# and the gold table must then appear in `lakehouse` output with the values
# computed independently from the source file with sqlite3's JSON functions.
# Last, `make demo` sends the same file again. (How fast is the benchmark's
# business: the waits here are generous because this is the sanitizer build.)
source "$(dirname "$0")/../lib.sh"
DATA_FILE="$SAMPLE_DATA/flights-20k.json"
[ -f "$DATA_FILE" ] || { fail "data" "missing $DATA_FILE"; exit 1; }
SEND_LINE=$(sed -n 's#^build/bin/\(lakehouse send demo/flights < [^ ]*\).*#\1#p' "$LAKEHOUSE_SOURCE/README.md")
case "$SEND_LINE" in
    "lakehouse send demo/flights < tests/data/"*) pass "README quick start sends a file of the repository";;
    *) fail "README quick start sends a file of the repository" "'$SEND_LINE'"; exit 1;;
esac

start_group --demo || { fail "start" "group did not start"; exit 1; }
pass "group started with the demo endpoint and job"

out=$(cd "$LAKEHOUSE_SOURCE" && eval "$SEND_LINE" 2>&1); rc=$?
check_eq "send from stdin exit status" 0 "$rc"
case "$out" in *"20000 accepted"*) pass "send reports 20000 accepted";; *) fail "send reports 20000 accepted" "$out";; esac

silver_count() { lakehouse query "SELECT count(*) AS n FROM demo.silver.flights" --json 2>/dev/null; }
if wait_until 60 bash -c "lakehouse query 'SELECT count(*) AS n FROM demo.silver.flights' --json 2>/dev/null | grep -q '\"n\": *20000'"; then
    pass "lakehouse query sees 20000 silver rows"
else
    fail "lakehouse query sees 20000 silver rows" "$(silver_count)"
fi

# flights per origin per day with the average delay, from the source file
expected_gold() {
    sqlite3 -batch -noheader -separator '|' :memory: "
      SELECT json_extract(value,'\$.origin') AS origin,
             replace(substr(json_extract(value,'\$.date'),1,10),'/','-') AS day,
             count(*), printf('%.6f', avg(json_extract(value,'\$.delay')))
      FROM json_each(readfile('$DATA_FILE')) GROUP BY origin, day ORDER BY origin, day;" | md5sum
}
gold_rows() {
    sql_gold demo "SELECT origin, day, flights, printf('%.6f', avg_delay) FROM flights_by_origin ORDER BY origin, day;" 2>/dev/null | md5sum
}
gold_total() { sql_gold demo "SELECT sum(flights) FROM flights_by_origin;" 2>/dev/null; }
if wait_eq 60 20000 gold_total; then pass "gold counts every flight"; else fail "gold counts every flight" "got '$WAIT_LAST'"; fi
check_eq "gold rows equal the recomputation from the source" "$(expected_gold)" "$(gold_rows)"

tables=$(lakehouse tables 2>&1)
case "$tables" in *silver*flights*20000*) pass "lakehouse tables shows demo silver flights";; *) fail "lakehouse tables shows demo silver flights" "$tables";; esac
case "$tables" in *gold*flights_by_origin*) pass "lakehouse tables shows the gold table";; *) fail "lakehouse tables shows the gold table" "$tables";; esac
top=$(lakehouse query "SELECT origin, sum(flights) AS n FROM demo.gold.flights_by_origin GROUP BY origin ORDER BY n DESC, origin LIMIT 1" 2>&1)
want=$(sqlite3 -batch -noheader :memory: "SELECT json_extract(value,'\$.origin') AS o FROM json_each(readfile('$DATA_FILE')) GROUP BY o ORDER BY count(*) DESC, o LIMIT 1;")
case "$top" in *"$want"*) pass "busiest origin through lakehouse query ($want)";; *) fail "busiest origin through lakehouse query" "want $want in: $top";; esac

# make demo: the same file once more (the demo table has no primary key).
out=$(make_prebuilt DATA="$LAKEHOUSE_DATA" demo 2>&1); rc=$?
check_eq "make demo exit status" 0 "$rc"
case "$out" in *"20000 accepted"*) pass "make demo reports 20000 accepted";; *) fail "make demo reports 20000 accepted" "$out";; esac
if wait_eq 60 40000 gold_total; then pass "gold counts the demo's flights too"; else fail "gold counts the demo's flights too" "got '$WAIT_LAST'"; fi

stop_group; check_eq "group stops with status 0" 0 "$?"
finish
