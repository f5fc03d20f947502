#!/usr/bin/env bash
# Real messy data through the HTTP API and AUTO_INFERENCE: the vega-datasets
# npm package's movies.json (nulls, numbers and strings mixed in one field)
# and birdstrikes.csv (column names with spaces and '$'), checked against
# expectations computed from the source files with jq and sqlite3 alone.
# The package is fetched once with `npm pack` into a cache directory.
source "$(dirname "$0")/../lib.sh"

VEGA_VERSION=3.2.1
CACHE=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/vega-datasets-$VEGA_VERSION
if [ ! -f "$CACHE/movies.json" ] || [ ! -f "$CACHE/birdstrikes.csv" ]; then
    mkdir -p "$CACHE" "$T/npm"
    (cd "$T/npm" && npm pack --silent "vega-datasets@$VEGA_VERSION" >/dev/null 2>&1 &&
     tar xzf "vega-datasets-$VEGA_VERSION.tgz" package/data/movies.json package/data/birdstrikes.csv &&
     cp package/data/movies.json package/data/birdstrikes.csv "$CACHE/") \
        || { fail "data" "could not fetch vega-datasets@$VEGA_VERSION with npm pack"; exit 1; }
fi
MOVIES="$CACHE/movies.json"
BIRDS="$CACHE/birdstrikes.csv"

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
PORT=$(free_port) || { fail "port" "no free port"; exit 1; }
export LAKEHOUSE_LISTEN="127.0.0.1:$PORT"
B="http://127.0.0.1:$PORT"
SERVE_PID=""
trap '[ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null; cleanup' EXIT

start_group || { fail "start" "group did not start"; exit 1; }
if ! curl -s -o /dev/null "$B/"; then
    lakehouse-http-serve --data "$LAKEHOUSE_DATA" >"$T/http.out" 2>"$T/http.log" &
    SERVE_PID=$!
    wait_until 10 grep -q '^http port=' "$T/http.out" || { fail "http start" "$(cat "$T/http.log")"; exit 1; }
fi

post() { curl -s -o "$T/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$2" "$B$1"; }
postf() { curl -s -o "$T/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "@$2" "$B$1"; }
col_type() { curl -s "$B/endpoints/vega/$1" | jq -r --arg c "$2" '.columns[]|select(.name==$c)|.type'; }

# ---- movies.json ----
check_eq "create movies (AUTO_INFERENCE)" 201 "$(post /endpoints '{"domain":"vega","name":"movies","mode":"AUTO_INFERENCE"}')"
check_eq "ingest movies batch" 200 "$(postf /ingest/vega/movies/batch "$MOVIES")"
total=$(jq length "$MOVIES")
check_eq "movies: every record accepted" "$total,$total,0" "$(jq -r '[.total_records,.sent_count,.rejected_count]|join(",")' "$T/resp")"
check_eq "movies: 'US Gross' inferred as us_gross integer" integer "$(col_type movies us_gross)"
check_eq "movies: 'IMDB Rating' inferred as imdb_rating float" float "$(col_type movies imdb_rating)"
check_eq "movies: 'Title' inferred as string" string "$(col_type movies title)"
check_eq "movies: 'Running Time min' column" integer "$(col_type movies running_time_min)"
mcount() { sql_silver vega "SELECT count(*) FROM movies;" 2>/dev/null; }
movies_done() { test "$(mcount)" = "$total"; }
if wait_until 60 movies_done; then pass "movies: silver has every record"; else fail "movies: silver has every record" "got $(mcount) of $total"; fi
check_eq "movies: sum of US Gross" "$(jq '[.[]."US Gross"|numbers]|add' "$MOVIES")" \
    "$(sql_silver vega 'SELECT sum(us_gross) FROM movies;')"
check_eq "movies: null IMDB ratings stay null" "$(jq '[.[]|select(."IMDB Rating"==null)]|length' "$MOVIES")" \
    "$(sql_silver vega 'SELECT count(*) FROM movies WHERE imdb_rating IS NULL;')"
# Titles that are JSON numbers (e.g. 1776) cannot go in the string column as
# they are: they are kept, in title or in _rescued, never dropped.
check_eq "movies: every title kept (column or _rescued)" "$(jq '[.[]|select(.Title!=null)]|length' "$MOVIES")" \
    "$(sql_silver vega "SELECT count(*) FROM movies WHERE title IS NOT NULL OR json_extract(_rescued,'\$.Title') IS NOT NULL;")"
q=$(curl -s -G "$B/consumption/query" --data-urlencode "sql=SELECT count(*) AS n FROM vega.silver.movies WHERE imdb_rating >= 8")
check_eq "movies: query over HTTP" "$(jq '[.[]|select((."IMDB Rating"|numbers) >= 8)]|length' "$MOVIES")" "$(echo "$q" | jq '.data[0].n')"

# ---- birdstrikes.csv (as JSON records of strings, as a CSV reader makes them) ----
sqlite3 -batch :memory: -cmd ".import --csv $BIRDS b" ".mode json" "SELECT * FROM b;" > "$T/birds.json"
rows=$(jq length "$T/birds.json")
check_eq "birdstrikes: source rows (sqlite3 .import)" "$(tail -n +2 "$BIRDS" | grep -c '')" "$rows"
check_eq "create birdstrikes (AUTO_INFERENCE)" 201 "$(post /endpoints '{"domain":"vega","name":"birdstrikes","mode":"AUTO_INFERENCE"}')"
check_eq "ingest birdstrikes batch" 200 "$(postf /ingest/vega/birdstrikes/batch "$T/birds.json")"
check_eq "birdstrikes: every record accepted" "$rows,0" "$(jq -r '[.sent_count,.rejected_count]|join(",")' "$T/resp")"
check_eq "birdstrikes: 'Cost Total \$' became cost_total" string "$(col_type birdstrikes cost_total)"
check_eq "birdstrikes: 'Speed IAS in knots' became speed_ias_in_knots" string "$(col_type birdstrikes speed_ias_in_knots)"
bcount() { sql_silver vega "SELECT count(*) FROM birdstrikes;" 2>/dev/null; }
birds_done() { test "$(bcount)" = "$rows"; }
if wait_until 60 birds_done; then pass "birdstrikes: silver has every record"; else fail "birdstrikes: silver has every record" "got $(bcount)"; fi
check_eq "birdstrikes: total cost" \
    "$(sqlite3 -batch :memory: -cmd ".import --csv $BIRDS b" 'SELECT sum(CAST("Cost Total $" AS INTEGER)) FROM b;')" \
    "$(sql_silver vega 'SELECT sum(CAST(cost_total AS INTEGER)) FROM birdstrikes;')"

# ---- birdstrikes.csv as it is, through the drop folder and our CSV reader ----
check_eq "create birdstrikes_csv (AUTO_INFERENCE)" 201 "$(post /endpoints '{"domain":"vega","name":"birdstrikes_csv","mode":"AUTO_INFERENCE"}')"
mkdir -p "$LAKEHOUSE_DATA/landing/vega/birdstrikes_csv"
cp "$BIRDS" "$LAKEHOUSE_DATA/landing/vega/birdstrikes_csv/.birdstrikes.csv.tmp"
mv "$LAKEHOUSE_DATA/landing/vega/birdstrikes_csv/.birdstrikes.csv.tmp" "$LAKEHOUSE_DATA/landing/vega/birdstrikes_csv/birdstrikes.csv"
ccount() { sql_silver vega "SELECT count(*) FROM birdstrikes_csv;" 2>/dev/null; }
if wait_eq 60 "$rows" ccount; then pass "birdstrikes.csv via landing/: silver has every record"; else
    fail "birdstrikes.csv via landing/: silver has every record" "got '$WAIT_LAST' of $rows"; fi
check_cmd "birdstrikes.csv moved to _done" test -f "$LAKEHOUSE_DATA/landing/_done/vega/birdstrikes_csv/birdstrikes.csv"
cols() { curl -s "$B/endpoints/vega/$1" | jq -r '[.columns[]|.name+":"+.type]|join(",")'; }
check_eq "birdstrikes.csv: the CSV reader infers the same columns as the JSON path" "$(cols birdstrikes)" "$(cols birdstrikes_csv)"
case "$(cols birdstrikes_csv)" in *"cost_total:"*"speed_ias_in_knots:"*|*"speed_ias_in_knots:"*"cost_total:"*) pass "birdstrikes.csv: header names with spaces and \$ normalised";;
    *) fail "birdstrikes.csv: header names with spaces and \$ normalised" "$(cols birdstrikes_csv)";; esac
check_eq "birdstrikes.csv: total cost" \
    "$(sqlite3 -batch :memory: -cmd ".import --csv $BIRDS b" 'SELECT sum(CAST("Cost Total $" AS INTEGER)) FROM b;')" \
    "$(sql_silver vega 'SELECT sum(CAST(cost_total AS INTEGER)) FROM birdstrikes_csv;')"
check_eq "birdstrikes.csv: same rows as through HTTP" \
    "$(sql_silver vega 'SELECT count(*), sum(CAST(cost_total AS INTEGER)), count(DISTINCT airport_name) FROM birdstrikes;')" \
    "$(sql_silver vega 'SELECT count(*), sum(CAST(cost_total AS INTEGER)), count(DISTINCT airport_name) FROM birdstrikes_csv;')"

[ -n "$SERVE_PID" ] && { kill -TERM "$SERVE_PID"; wait "$SERVE_PID"; SERVE_PID=""; }
stop_group || fail "group stop" "non-zero exit"
finish
