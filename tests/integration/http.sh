#!/usr/bin/env bash
# The HTTP API driven with curl against the real server and the
# real group: schema registry, ingestion with its durability and error
# answers, query, transform jobs, bearer-token auth and the body limit.
# The broker serves the API; the test driver lakehouse-http-serve starts
# extra servers with other settings (body limit, token).
source "$(dirname "$0")/../lib.sh"

PORT=$(free_port) || { fail "port" "no free port"; exit 1; }
export LAKEHOUSE_LISTEN="127.0.0.1:$PORT"
B="http://127.0.0.1:$PORT"
trap 'stop_serves; cleanup' EXIT


start_group || { fail "start" "group did not start"; exit 1; }
if wait_until 10 curl -sf -o /dev/null "$B/"; then pass "broker serves the HTTP API"; else
    fail "broker serves the HTTP API" "nothing answers on $B"; exit 1; fi

# ---- health, routing ----
req GET /;                 expect "health" 200 .status ok
req GET /nope;             expect "unknown route 404" 404
req DELETE /endpoints;     expect "wrong method 405" 405
allow=$(curl -s -D - -o /dev/null -X DELETE "$B/endpoints" | tr -d '\r' | sed -n 's/^Allow: //p')
check_eq "405 carries Allow" "POST, GET" "$allow"

# ---- endpoints ----
FLIGHTS='{"domain":"demo","name":"flights","mode":"MANUAL","description":"test flights",
 "columns":[{"name":"id","type":"integer","required":true,"primary_key":true},
            {"name":"origin","type":"string"},{"name":"delay","type":"integer"}]}'
req POST /endpoints "$FLIGHTS"
expect "create endpoint 201" 201 '[.id,.version,.mode,.status]|join(",")' "demo/flights,1,MANUAL,ACTIVE"
check_eq "endpoint_url" "$B/ingest/demo/flights" "$(jf .endpoint_url)"
check_eq "schema_url" "$B/endpoints/demo/flights" "$(jf .schema_url)"
[ "$(jf .created_at)" != null ] && [ "$(jf .updated_at)" != null ] && pass "timestamps" || fail "timestamps" "$BODY"
req POST /endpoints "$FLIGHTS";                      expect "create twice 409" 409
req POST /endpoints '{"domain":"demo","name":"x","mode":"MANUAL","columns":[{"name":"a","type":"nope"}]}'
expect "bad type 400" 400
case "$(jf .detail)" in *nope*) pass "bad type names the type";; *) fail "bad type names the type" "$BODY";; esac
req POST /endpoints '{"domain":"demo","name":"x",';  expect "bad JSON 400 with position" 400 .position 28
req GET /endpoints/Demo/flights;                     expect "invalid name 400" 400
req GET /endpoints/demo/nothere;                     expect "unknown endpoint 404" 404
req GET /endpoints/demo/flights;                     expect "get endpoint" 200 '.columns|length' 3
req PUT /endpoints/demo/flights '{"mode":"MANUAL","columns":[{"name":"id","type":"integer","primary_key":true},
  {"name":"origin","type":"string"},{"name":"delay","type":"integer"},{"name":"distance","type":"integer"}]}'
expect "update -> version 2" 200 .version 2
req PUT /endpoints/demo/flights '{"mode":"MANUAL","columns":[{"name":"id","type":"string","primary_key":true}]}'
expect "incompatible change 409" 409
case "$(jf .detail)" in *"column 'id'"*) pass "incompatible names the column";; *) fail "incompatible names the column" "$BODY";; esac
req PUT /endpoints/demo/other "$FLIGHTS";            expect "update body/path mismatch 400" 400
V2COLS='[{"name":"id","type":"integer","primary_key":true},{"name":"origin","type":"string"},{"name":"delay","type":"integer"},{"name":"distance","type":"integer"}]'
req PUT /endpoints/demo/flights "{\"mode\":\"MANUAL\",\"columns\":$V2COLS,\"expectations\":[{\"name\":\"bad\",\"rule\":\"nosuchcol > 1\",\"action\":\"warn\"}]}"
expect "update with a bad expectation 400" 400
case "$(jf .detail)" in *nosuchcol*) pass "bad expectation named";; *) fail "bad expectation named" "$BODY";; esac
req PUT /endpoints/demo/flights '{"mode":"MANUAL","columns":[{"name":"id","type":"integer"},{"name":"origin","type":"string","primary_key":true},{"name":"delay","type":"integer"},{"name":"distance","type":"integer"}]}'
expect "primary key change 409" 409
case "$(jf .detail)" in *"primary key"*|*primary_key*) pass "primary key change says why";; *) fail "primary key change says why" "$BODY";; esac
req PUT /endpoints/demo/nothere "{\"mode\":\"MANUAL\",\"columns\":$V2COLS}"; expect "update unknown endpoint 404" 404
req DELETE /endpoints/demo/nothere;                  expect "delete unknown endpoint 404" 404
req GET /endpoints/demo/nothere/versions;            expect "versions of unknown endpoint 404" 404
req GET /endpoints/demo/nothere/yaml;                expect "yaml of unknown endpoint 404" 404
req GET "/endpoints/demo/flights?version=1";         expect "get version 1" 200 '.columns|length' 3
req GET "/endpoints/demo/flights?version=9";         expect "unknown version 404" 404
req GET /endpoints/demo/flights/versions;            expect "versions" 200 'map(.version)|join(",")' "1,2"
req POST /endpoints '{"domain":"web","name":"clicks","mode":"SINGLE_COLUMN"}'
expect "create SINGLE_COLUMN" 201 .mode SINGLE_COLUMN
req GET "/endpoints?domain=demo";                    expect "list by domain" 200 'map(.id)|join(",")' "demo/flights"
req GET "/endpoints?order_by=-domain";               expect "list order_by" 200 'map(.id)|join(",")' "web/clicks,demo/flights"
req GET "/endpoints?order_by=colour";                expect "bad order_by 400" 400
yaml=$(curl -s "$B/endpoints/demo/flights/yaml")
case "$yaml" in *'name: "distance"'*'type: "integer"'*) pass "yaml";; *) fail "yaml" "$yaml";; esac
disp=$(curl -s -D - -o "$T/dl.json" "$B/endpoints/demo/flights/download" | tr -d '\r' | sed -n 's/^Content-Disposition: //p')
check_eq "download disposition" 'attachment; filename="demo.flights.v2.json"' "$disp"
check_eq "download is the definition" 4 "$(jq '.columns|length' "$T/dl.json")"
req POST "/endpoints/infer?domain=demo&name=movies" '[{"Title":"A","Year":1999,"Rating":7.5,"Cost $":"x"},{"Title":"B","Year":null,"Rating":8,"Good":true}]'
expect "infer" 200 '[.columns[]|.name+":"+.type]|join(",")' "title:string,year:integer,rating:float,cost:string,good:boolean"

# ---- ingest ----
req POST /ingest/demo/flights '{"data":{"id":1,"origin":"SEA","delay":5}}'
expect "ingest one" 200 '[.status,.endpoint,.records_sent,.validated]|join(",")' "sent,demo/flights,1,true"
req POST /ingest/demo/flights/batch '[{"id":2,"origin":"SFO","delay":1},{"id":3,"origin":"LAX","delay":2},{"id":4,"origin":"SEA","delay":"late"}]'
expect "ingest batch" 200 '[.status,.total_records,.validated_count,.sent_count,.rejected_count]|join(",")' "completed,3,2,2,1"
check_eq "batch refusal says why" 2 "$(jf '.errors[0].index')"
req POST "/ingest/demo/flights/batch?strict=true" '[{"id":5,"origin":"SFO"},{"id":"six"}]'
expect "strict batch with a bad record 422" 422 '.errors[0].index' 1
req POST /ingest/demo/flights '{"data":{"id":7,"delay":"x"}}'
expect "single bad record 422" 422 .status rejected
req POST "/ingest/demo/flights/batch?batch_id=b-1" '[{"id":10,"origin":"JFK"}]'
expect "batch with id" 200 .sent_count 1
req POST "/ingest/demo/flights/batch?batch_id=b-1" '[{"id":10,"origin":"JFK"}]'
expect "same batch id again: duplicate" 200 .duplicate true
req POST /ingest/demo/nothere '{"data":{"id":1}}';  expect "ingest unknown endpoint 404" 404
req POST /ingest/demo/flights '{"data":{"id":1,}}'
expect "ingest bad JSON 400 with position" 400 '[.line,.column]|join(",")' "1,17"
req POST /ingest/demo/flights/batch '{"id":1}';     expect "batch not an array 400" 400
req POST /ingest/demo/flights/batch '[{"id":11,"origin":"SFO"},{"id":12,}]'
expect "batch bad JSON 400 with position" 400 '[.line,.column,.position]|join(",")' "1,36,36"
req POST "/ingest/demo/flights?strict=maybe" '{"data":{"id":1}}'; expect "bad boolean param 400" 400
req POST /ingest/web/clicks '{"data":{"any":["thing",1]}}'; expect "ingest SINGLE_COLUMN" 200 .records_sent 1

# ---- query ----
count() { sql_silver demo "SELECT count(*) FROM flights;" 2>/dev/null; }
silver_done() { test "$(count)" = 4; }
if wait_until 30 silver_done; then pass "silver has the ingested rows"; else fail "silver has the ingested rows" "got $(count)"; fi
req GET "/consumption/query" "" -G --data-urlencode "sql=SELECT id, origin FROM demo.silver.flights ORDER BY id"
expect "query" 200 '[.row_count, (.data|map(.origin)|join(","))]|join(" ")' "4 SEA,SFO,LAX,JFK"
req GET "/consumption/query" "" -G --data-urlencode "sql=DELETE FROM demo.silver.flights"
expect "query cannot write 400" 400
req GET "/consumption/query" "" -G --data-urlencode "sql=SELECT * FROM demo.silver.nope"
expect "query unknown table 400" 400
case "$(jf .detail)" in *nope*) pass "query error names the table";; *) fail "query error names the table" "$BODY";; esac
req GET /consumption/query;                          expect "query without sql 400" 400
req POST /consumption/query '{"sql":"SELECT count(*) AS n FROM demo.silver.flights"}'
expect "query by POST" 200 ".data[0].n" 4
req GET /consumption/tables
expect "tables" 200 '[.[]|select(.domain=="demo" and .table=="flights")|.layer+":"+(.rows|tostring)]|join(",")' "bronze:4,silver:4"

# validate=false: values are stored as given (no type check), still durable
req POST "/ingest/demo/flights?validate=false" '{"data":{"id":50,"origin":"XX","delay":"late"}}'
expect "ingest validate=false" 200 '[.status,.validated]|join(",")' "sent,false"
unvalidated() { sql_silver demo "SELECT delay FROM flights WHERE id = 50;" 2>/dev/null; }
if wait_eq 30 late unvalidated; then pass "validate=false stores the value as given"; else fail "validate=false stores the value as given" "got '$WAIT_LAST'"; fi
req POST "/ingest/demo/flights" '{"data":{"id":51,"origin":"XX","delay":"late"}}'
expect "the same record validated is refused 422" 422

# ---- jobs ----
JOB='{"domain":"demo","job_name":"by_origin","query":"SELECT origin, count(*) AS n FROM demo.silver.flights GROUP BY origin","write_mode":"overwrite","schedule_type":"dependency"}'
req POST /transform/jobs "$JOB";                     expect "create job 201" 201 .id demo/by_origin
req POST /transform/jobs "$JOB";                     expect "create job twice 409" 409
req POST /transform/jobs '{"domain":"demo","job_name":"bad","query":"SELECT * FROM demo.bronze.flights"}'
expect "invalid job 400" 400
req GET /transform/jobs/demo/by_origin;              expect "get job" 200 .write_mode overwrite
req GET "/transform/jobs?domain=demo";               expect "list jobs" 200 'map(.job_name)|join(",")' by_origin
req POST /transform/jobs '{"domain":"demo","job_name":"a_first","query":"SELECT 1 AS one","write_mode":"overwrite","schedule_type":"cron","cron_schedule":"0 2 * * ? *"}'
expect "create cron job" 201 .schedule_type cron
req GET "/transform/jobs?domain=demo&order_by=job_name"; expect "list jobs order_by" 200 'map(.job_name)|join(",")' "a_first,by_origin"
req GET "/transform/jobs?domain=demo&order_by=-job_name"; expect "list jobs order_by desc" 200 'map(.job_name)|join(",")' "by_origin,a_first"
req GET "/transform/jobs?order_by=colour";           expect "list jobs bad order_by 400" 400
req DELETE /transform/jobs/demo/a_first;             expect "delete cron job" 200 .status deleted
req PUT /transform/jobs/demo/nothere '{"write_mode":"append"}'; expect "update unknown job 404" 404
req PUT /transform/jobs/demo/by_origin '{"query":"SELECT origin, count(*) AS flights FROM demo.silver.flights GROUP BY origin","write_mode":"overwrite"}'
expect "update job" 200 .query "SELECT origin, count(*) AS flights FROM demo.silver.flights GROUP BY origin"
req PUT /transform/jobs/demo/by_origin '{"write_mode":"append"}'
expect "partial update keeps the rest" 200 '[.write_mode,.query]|join(" | ")' "append | SELECT origin, count(*) AS flights FROM demo.silver.flights GROUP BY origin"
req PUT /transform/jobs/demo/by_origin '{"write_mode":"overwrite"}'; expect "partial update back" 200 .write_mode overwrite
req POST /transform/jobs/demo/by_origin/run
expect "run job" 200 '[.status,.domain,.job_name]|join(",")' "RUNNING,demo,by_origin"
EXEC=$(jf .execution_id)
exec_status() { curl -s "$B/transform/executions/$EXEC" | jq -r .status; }
exec_done() { test "$(exec_status)" = SUCCEEDED; }
if wait_until 30 exec_done; then pass "execution succeeded"; else fail "execution succeeded" "$(curl -s "$B/transform/executions/$EXEC")"; fi
req GET "/consumption/query" "" -G --data-urlencode "sql=SELECT flights FROM demo.gold.by_origin WHERE origin='SFO'"
expect "gold table via query" 200 ".data[0].flights" 1
req GET /consumption/tables
expect "tables lists the gold table" 200 '[.[]|select(.layer=="gold" and .table=="by_origin")|.domain]|join(",")' demo
req GET /transform/executions/999999;                expect "unknown execution 404" 404
req GET /transform/executions/abc;                   expect "bad execution id 400" 400
req POST /transform/jobs/demo/nothere/run;           expect "run unknown job 404" 404
req DELETE /transform/jobs/demo/by_origin;           expect "delete job" 200 .status deleted
req GET /transform/jobs/demo/by_origin;              expect "deleted job 404" 404

# ---- endpoint delete ----
req DELETE /endpoints/web/clicks;                    expect "delete endpoint" 200 .status deleted
req GET /endpoints/web/clicks;                       expect "deleted endpoint 404" 404
req GET "/consumption/query" "" -G --data-urlencode "sql=SELECT count(*) AS n FROM web.bronze.clicks"
expect "bronze table via query, data kept after delete" 200 ".data[0].n" 1
req DELETE "/endpoints/web/clicks?delete_data=true"; expect "delete_data: the data goes too" 200 .data_kept false
[ ! -e "$LAKEHOUSE_DATA/bronze/web/clicks" ] && pass "delete_data removed bronze" || fail "delete_data removed bronze" "$(ls -R "$LAKEHOUSE_DATA/bronze/web")"
check_eq "delete_data dropped silver and its ledger" "0 0" "$(sql_silver web "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'clicks'), (SELECT count(*) FROM _ledger WHERE table_name = 'clicks');" | tr '|' ' ')"
req DELETE "/endpoints/web/clicks?delete_data=true"; expect "delete_data with nothing left 404" 404

# ---- concurrency: parallel batches, each answered after its own ack ----
req POST /endpoints '{"domain":"par","name":"events","mode":"MANUAL","columns":[{"name":"n","type":"integer","primary_key":true}]}'
expect "create par/events" 201
par_pids=()
for i in $(seq 0 19); do
    seq $((i * 50 + 1)) $((i * 50 + 50)) | jq -cs 'map({n: .})' > "$T/par-$i.json"
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Content-Type: application/json" --data-binary "@$T/par-$i.json" "$B/ingest/par/events/batch" > "$T/par-$i.code" &
    par_pids+=($!)
done
wait "${par_pids[@]}" # not a bare wait: the group and the server run in the background too
check_eq "20 parallel batches all 200" 20 "$(cat "$T"/par-*.code | grep -c '^200$')"
par_done() { test "$(sql_silver par 'SELECT count(*) FROM events;' 2>/dev/null)" = 1000; }
if wait_until 30 par_done; then pass "parallel batches: 1000 rows in silver"; else fail "parallel batches: 1000 rows in silver" "$(sql_silver par 'SELECT count(*) FROM events;' 2>&1)"; fi

# ---- limits: body size, ingest not answering ----
LPORT=$(free_port)
serve "$T/http-limits.log" LAKEHOUSE_LISTEN="127.0.0.1:$LPORT" LAKEHOUSE_HTTP_BODY_MAX_BYTES=100 \
      LAKEHOUSE_INGEST_ENDPOINT="ipc://$T/nobody.sock" LAKEHOUSE_HTTP_INGEST_TIMEOUT_MS=500 \
    || fail "limits server" "$(cat "$T/http-limits.log")"
big=$(printf '[%s{"id":1}]' "$(printf '{"id":1},%.0s' $(seq 1 20))")
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Content-Type: application/json" --data-binary "$big" "http://127.0.0.1:$LPORT/ingest/demo/flights/batch")
check_eq "body over the limit 413" 413 "$code"
hdr=$(curl -s -D - -o "$T/resp" -X POST -H "Content-Type: application/json" --data-binary '{"data":{"id":1}}' "http://127.0.0.1:$LPORT/ingest/demo/flights" | tr -d '\r')
case "$hdr" in *" 503 "*"Retry-After: 1"*) pass "ingest not answering 503 + Retry-After";; *) fail "ingest not answering 503 + Retry-After" "$hdr $(cat "$T/resp")";; esac

# ---- auth ----
APORT=$(free_port)
serve "$T/http-auth.log" LAKEHOUSE_LISTEN="127.0.0.1:$APORT" LAKEHOUSE_HTTP_TOKEN=s3cret \
    || fail "auth server" "$(cat "$T/http-auth.log")"
A="http://127.0.0.1:$APORT"
check_eq "auth: health is open" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$A/")"
check_eq "auth: no token 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$A/endpoints")"
check_eq "auth: wrong token 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$A/endpoints")"
check_eq "auth: right token 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$A/endpoints")"
out=$(LAKEHOUSE_LISTEN="0.0.0.0:$APORT" lakehouse-http-serve --data "$LAKEHOUSE_DATA" 2>&1); rc=$?
case "$rc:$out" in 1:*"non-loopback"*) pass "no token: refuses a non-loopback address";; *) fail "no token: refuses a non-loopback address" "rc=$rc $out";; esac

stop_serves; SERVE_PIDS=()
stop_group || fail "group stop" "non-zero exit"
if grep -q "ERROR: AddressSanitizer\|runtime error" "$T"/http*.log; then fail "sanitizers" "$(grep -h -A5 'Sanitizer\|runtime error' "$T"/http*.log | head -20)"; else pass "no sanitizer reports"; fi
finish
