#!/usr/bin/env bash
# Modelling: the eight TPC-H tables into silver, the concept file of
# tests/data/tpch applied with `lakehouse model apply`, then, once the DAG is
# idle, the bridge properties (no loss, no fan trap, measures only on their
# own stage, event flags = dates) and the generated tables against an
# independent recomputation by DuckDB (tests/model/oracle.mjs) straight from
# the NDJSON files, and the README's two queries against DuckDB's answers.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/model/tpch.sh"
[ -f "$TPCH/lineitem.ndjson" ] || { fail "data" "missing $TPCH/lineitem.ndjson"; exit 1; }
tpch_oracle_install || { fail "oracle" "npm could not install tests/model/package-lock.json"; exit 1; }

start_group || { fail "start" "group did not start"; exit 1; }
tpch_endpoints

# check and plan before any data: the schemas are enough
check_cmd "model check" lakehouse model check "$DEF/tpch.yaml"
lakehouse model plan "$DEF/tpch.yaml" --out "$T/plan" >"$T/plan.out" 2>&1
check_eq "model plan lists every job as new" "26" "$(grep -c '^+ ' "$T/plan.out")"
check_eq "model plan writes the job files" "26" "$(find "$T/plan" -name '*.sql' | wc -l)"

# the README's concept file is valid too
awk '/^### The concept file/ { on = 1 } on && /^```yaml/ { b = 1; next } b && /^```/ { exit } b' \
    "$LAKEHOUSE_SOURCE/README.md" >"$T/readme.yaml"
check_cmd "model check of the README's concept file" lakehouse model check "$T/readme.yaml"

# a refusal names file:line:column
sed 's/o_orderdate}/o_orderstatus}/' "$DEF/tpch.yaml" >"$T/bad.yaml"
out=$(lakehouse model check "$T/bad.yaml" 2>&1)
case "$out" in
*"bad.yaml:"*":"*"column o_orderstatus is string, not a date or timestamp"*) pass "check refuses an event on a string column";;
*) fail "check refuses an event on a string column" "$out";;
esac

tpch_send
pass "eight tables in silver"

check_cmd "model apply" lakehouse model apply "$DEF/tpch.yaml"
out=$(lakehouse job delete tpch_dab/bag__customer 2>&1)
case "$out" in *"managed by model tpch"*) pass "job delete refuses a managed job";;
*) fail "job delete refuses a managed job" "$out";; esac
lakehouse model list >"$T/list.out"
check_eq "model list" "1" "$(grep -c '^tpch ' "$T/list.out")"

# DAG idle: every job of the model succeeded, none runs, and the set of
# executions stays the same for two seconds.
cat_sql() { sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" "$1"; }
cat_sql_silver() { sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/silver/tpch.db?mode=ro" "$1"; }
idle_state() {
    cat_sql "SELECT (SELECT count(*) FROM jobs j WHERE j.model = 'tpch' AND NOT EXISTS
               (SELECT 1 FROM executions e WHERE e.domain = j.domain AND e.job = j.name
                AND e.status = 'SUCCEEDED')),
              (SELECT count(*) FROM executions WHERE status = 'RUNNING'),
              (SELECT count(*) FROM executions)"
}
dag_idle() {
    local a b
    a=$(idle_state); case "$a" in 0\|0\|*) ;; *) return 1;; esac
    sleep 2
    b=$(idle_state); [ "$a" = "$b" ]
}
if wait_until 300 dag_idle; then pass "DAG idle"; else fail "DAG idle" "$(idle_state)"; fi
failed=$(cat_sql "SELECT domain || '/' || job || ': ' || error FROM executions WHERE status = 'FAILED' LIMIT 3")
check_eq "no failed run" "" "$failed"

# ---------------------------------------------------------------- oracle
# DuckDB recomputes every generated table from the same NDJSON and compares
# it with gold as a multiset; then the bridge properties (no loss, no fan
# trap, measures only on their own stage and event, flags = dates).
echo "0 $(cat_sql_silver "SELECT snapshot_id || ' ' || committed_at FROM _snapshots WHERE table_name = 'customer'
    ORDER BY snapshot_id DESC LIMIT 1")" >"$T/snapshots"
oracle --input "$TPCH" --snapshots "$T/snapshots" --properties
# the README's two queries, asked as a new user would
lakehouse query --json "SELECT stage, count(*) AS n FROM tpch_dar.gold.uss_bridge GROUP BY stage" >"$T/stages.json" 2>&1
lakehouse query --json "SELECT r.region__name, sum(b.measure__order_line__revenue) AS revenue
  FROM tpch_dar.gold.uss_bridge AS b JOIN tpch_dab.gold.bag__region AS r
  ON r.hook__region = b.hook__region__customer GROUP BY 1 ORDER BY 2 DESC" >"$T/revenue.json" 2>&1
oracle --input "$TPCH" --label "README query" --actual "stage_counts=$T/stages.json" --actual "revenue_per_region=$T/revenue.json"

G="$LAKEHOUSE_DATA/gold"
# q SQL: over the gold databases and silver, read-only
q() {
    sqlite3 -batch -noheader :memory: \
        "ATTACH 'file:$G/tpch_dab.db?mode=ro' AS dab; ATTACH 'file:$G/tpch_dar.db?mode=ro' AS dar;
         ATTACH 'file:$G/tpch_kimball.db?mode=ro' AS kim;
         ATTACH 'file:$LAKEHOUSE_DATA/silver/tpch.db?mode=ro' AS sil; $1"
}
# the incremental stages find a parent's children through the bag's index
check_eq "secondary index on a bag's inheriting hook (-- index:)" "1" \
    "$(q "SELECT count(*) FROM dab.sqlite_master WHERE type = 'index' AND name = '_ix_bag__customer'
          AND sql LIKE '%hook__nation__customer%'")"
check_eq "unique index of an incremental bridge stage" "1" \
    "$(q "SELECT count(*) FROM dar.sqlite_master WHERE type = 'index' AND name = '_uk_bridge__customer'")"

lakehouse model docs tpch --format mermaid >"$T/docs.mmd" 2>&1
check_eq "model docs mermaid draws the relations" "yes" \
    "$(grep -q 'lineitem }o--|| orders' "$T/docs.mmd" && grep -q '^flowchart' "$T/docs.mmd" && echo yes)"
# a definition change (a new measure) changes exactly the jobs that carry it
sed 's/^      revenue: {expr: "l_extendedprice \* (1 - l_discount)", event: shipped}$/&\n      tax: {expr: l_tax, event: shipped}/' \
    "$DEF/tpch.yaml" >"$T/tax.yaml"
lakehouse model plan "$T/tax.yaml" >"$T/tax.out" 2>&1
check_eq "a new measure changes the lineitem events, the bridge and the lineitem fact only" \
    "~ tpch_dar/events__lineitem ~ tpch_dar/uss_bridge ~ tpch_kimball/fct_lineitem" \
    "$(grep -v '^= ' "$T/tax.out" | grep '^[~+-] ' | tr '\n' ' ' | sed 's/ $//')"

# the HTTP form
B="http://$LAKEHOUSE_LISTEN"
code=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/yaml' \
    --data-binary "@$DEF/tpch.yaml" "$B/models/tpch")
check_eq "PUT /models/tpch again" "200 26" "$code $(jq '.jobs | length' "$T/put.json")"
check_eq "GET /models/tpch/plan: nothing to change" "26 0" \
    "$(curl -s "$B/models/tpch/plan" | jq -r '[(.jobs | map(select(.status == "unchanged")) | length), (.removed | length)] | join(" ")')"
check_eq "GET /models" "tpch 26" "$(curl -s "$B/models" | jq -r '.[0] | "\(.name) \(.jobs)"')"
curl -s "$B/models/tpch/docs?format=md" >"$T/docs.md"
check_eq "GET /models/tpch/docs (md)" "yes" \
    "$(grep -q '^## Glossary' "$T/docs.md" && grep -q 'customer__acctbal' "$T/docs.md" && echo yes)"
code=$(curl -s -o "$T/bad.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/yaml' \
    --data-binary "@$T/bad.yaml" "$B/models/tpch")
check_eq "PUT a refused concept file: 400 with file:line:column" "400 1" \
    "$code $(jq '[.problems[] | select(test("^models/tpch:[0-9]+:[0-9]+: event placed"))] | length' "$T/bad.json")"
check_eq "DELETE of a managed job: 409" "409" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$B/transform/jobs/tpch_dab/bag__customer")"

# an incremental job over a bag's change feed (bare @changes on a gold input)
cat >"$T/opc.sql" <<'EOF'
-- job: orders_per_customer
-- domain: tpch_x
-- unique_key: hook__customer
-- incremental: true
-- accumulate: orders, total
SELECT hook__customer,
       sum(CASE WHEN _change_type IN ('insert', 'update_after') THEN 1 ELSE -1 END) AS orders,
       sum(CASE WHEN _change_type IN ('insert', 'update_after') THEN order__totalprice
                ELSE -order__totalprice END) AS total
FROM tpch_dab.gold.bag__orders@changes GROUP BY 1
EOF
check_cmd "job add: incremental over tpch_dab.gold.bag__orders@changes" lakehouse job add "$T/opc.sql"
per_customer_bag() { q "SELECT hook__customer, count(*), printf('%.2f', sum(order__totalprice)) FROM dab.bag__orders GROUP BY 1 ORDER BY 1"; }
per_customer_job() {
    sqlite3 -batch -noheader "file:$G/tpch_x.db?mode=ro" \
        "SELECT hook__customer, orders, printf('%.2f', total) FROM orders_per_customer ORDER BY 1"
}
if wait_eq 600 "$(per_customer_bag)" per_customer_job; then pass "incremental job over a gold change feed equals the bag"
else fail "incremental job over a gold change feed equals the bag" "$(echo "$WAIT_LAST" | head -3)"; fi
# three orders move to customer 1
head -3 "$TPCH/orders.ndjson" | sed 's/"o_custkey":[0-9]*/"o_custkey":1/' >"$T/move.ndjson"
echo '{"o_orderkey": 4, "_op": "delete"}' >>"$T/move.ndjson"   # and order 4 goes
lakehouse send tpch/orders "$T/move.ndjson" >/dev/null 2>&1 || fail "send moved orders" "refused"
moved() { q "SELECT count(*) FROM dab.bag__orders WHERE hook__customer = 'tpch.customer|1' AND order__orderkey IN (1, 2, 3)"; }
wait_eq 300 3 moved || fail "moved orders in the bag" "$WAIT_LAST of 3"
if wait_eq 600 "$(per_customer_bag)" per_customer_job; then pass "after an update batch the incremental job still equals the bag"
else fail "after an update batch the incremental job still equals the bag" "$(echo "$WAIT_LAST" | head -3)"; fi
rows=$(sqlite3 -batch -noheader "file:$G/tpch_x.db?mode=ro" \
    "SELECT change_rows FROM _lineage WHERE input_table = 'tpch_dab.gold.bag__orders' ORDER BY snapshot_id DESC LIMIT 1")
if [ -n "$rows" ] && [ "$rows" -le 12 ]; then pass "the incremental run read only the changed bag rows ($rows)"
else fail "the incremental run read only the changed bag rows" "change_rows '$rows'"; fi
check_eq "the deleted order left the bag" "0" "$(q "SELECT count(*) FROM dab.bag__orders WHERE order__orderkey = 4")"
rows=$(sqlite3 -batch -noheader "file:$G/tpch_dab.db?mode=ro" \
    "SELECT change_rows FROM _lineage WHERE input_table = 'tpch.silver.orders' ORDER BY snapshot_id DESC LIMIT 1")
if [ -n "$rows" ] && [ "$rows" -le 8 ]; then pass "the incremental bag read only the changed silver rows ($rows)"
else fail "the incremental bag read only the changed silver rows" "change_rows '$rows'"; fi
# the incremental bags equal their --profile full queries over the same silver
lakehouse model plan "$DEF/tpch.yaml" --profile full --out "$T/full" >/dev/null 2>&1
for t in orders customer lineitem partsupp; do
    body=$(grep -v '^--' "$T/full/tpch_dab/bag__$t.sql" | sed 's/tpch\.silver\./sil./g')
    check_eq "incremental bag__$t equals --profile full" "0 0 $(q "SELECT count(*) FROM sil.$t")" \
        "$(q "SELECT (SELECT count(*) FROM ($body EXCEPT SELECT * FROM dab.bag__$t)),
                     (SELECT count(*) FROM (SELECT * FROM dab.bag__$t EXCEPT $body)),
                     (SELECT count(*) FROM dab.bag__$t)" | tr '|' ' ')"
done

lakehouse model status tpch >"$T/status.out" 2>&1
check_eq "model status: no drift, nothing failing, diamonds agree" \
    "0 diamond lineitem.hook__part: 0 rows whose paths disagree" \
    "$? $(grep 'diamond lineitem.hook__part:' "$T/status.out")"
# drift: a column added to the customer endpoint is not in the bag until apply
sed 's/{"name": "c_comment", "type": "string"}/{"name": "c_comment", "type": "string"}, {"name": "c_tier", "type": "string"}/' \
    "$DEF/customer.json" >"$T/customer2.json"
lakehouse endpoint create "$T/customer2.json" >/dev/null 2>&1 || fail "evolve customer" "refused"
lakehouse model status tpch >"$T/status2.out" 2>&1
check_eq "model status reports a new silver column as drift" "1 1" \
    "$? $(grep -c 'drift: tpch.silver.customer.c_tier is not in tpch_dab.gold.bag__customer' "$T/status2.out")"

check_cmd "job delete (unmanaged)" lakehouse job delete tpch_x/orders_per_customer
# the endpoint change above may have started runs: a table is dropped between them
wait_until 300 dag_idle || fail "DAG idle before model delete" "$(idle_state)"
if out=$(lakehouse model delete tpch --tables 2>&1); then pass "model delete --tables"
else fail "model delete --tables" "$out"; fi
check_eq "model delete removes its jobs" "0" "$(cat_sql "SELECT count(*) FROM jobs WHERE model = 'tpch'")"
check_eq "model delete --tables drops the gold tables, their history and snapshots" "0 0 0 0" \
    "$(q "SELECT (SELECT count(*) FROM dab.sqlite_master WHERE name IN ('bag__customer', '_h_bag__customer')),
             (SELECT count(*) FROM dab._snapshots WHERE table_name = 'bag__customer'),
             (SELECT count(*) FROM dar.sqlite_master WHERE name = 'uss_bridge'),
             (SELECT count(*) FROM kim.sqlite_master WHERE type = 'table' AND (name LIKE 'dim\_%' ESCAPE '\' OR name LIKE 'fct\_%' ESCAPE '\'))" | tr '|' ' ')"
finish
