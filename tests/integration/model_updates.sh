#!/usr/bin/env bash
# Modelling under updates: the TPC-H model applied twice, incremental (tpch)
# and with --profile full (tpchfull, the in-engine oracle), then two
# deterministic update batches (customers change nation, ship dates move,
# orders are deleted with their lines and one is sent again, new orders
# arrive). After each: every generated table equals DuckDB over the
# cumulative input (tests/model/oracle.mjs) and the full build, and the
# incremental jobs read only the changed rows. Then time travel to the first
# batch, and a definition change that reruns only the jobs it affects.
source "$(dirname "$0")/../lib.sh"
source "$LAKEHOUSE_SOURCE/tests/model/tpch.sh"
[ -f "$TPCH/lineitem.ndjson" ] || { fail "data" "missing $TPCH/lineitem.ndjson"; exit 1; }
tpch_oracle_install || { fail "oracle" "npm could not install tests/model/package-lock.json"; exit 1; }

cat_sql() { sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" "$1"; }
# silver has taken every record sent to TABLE so far (deletes included)
SENT_customer=0 SENT_orders=0 SENT_lineitem=0
send_batch() { # DIR: its tables in order, each waited for in silver
    local t n
    for t in customer orders lineitem; do
        [ -s "$1/$t.ndjson" ] || continue
        lakehouse send "tpch/$t" "$1/$t.ndjson" >/dev/null 2>&1 || fail "send $1/$t" "refused"
        n=$(( $(eval echo "\$SENT_$t") + $(wc -l <"$1/$t.ndjson") ))
        eval "SENT_$t=$n"
        wait_eq 120 "$n" sql_silver tpch "SELECT sum(records) FROM _ledger WHERE table_name = '$t'" ||
            fail "silver took $1/$t" "$WAIT_LAST of $n records"
    done
}
# DAG idle: every job of both models succeeded once, more executions than
# EXEC_BEFORE, none running, and nothing new for three seconds.
exec_state() {
    cat_sql "SELECT (SELECT count(*) FROM jobs j WHERE j.model IN ('tpch', 'tpchfull') AND NOT EXISTS
               (SELECT 1 FROM executions e WHERE e.domain = j.domain AND e.job = j.name
                AND e.status = 'SUCCEEDED')),
              (SELECT count(*) FROM executions WHERE status = 'RUNNING'),
              (SELECT count(*) FROM executions)"
}
EXEC_BEFORE=0
dag_idle() {
    local a b
    a=$(exec_state); case "$a" in 0\|0\|*) ;; *) return 1;; esac
    [ "${a##*|}" -gt "$EXEC_BEFORE" ] || return 1
    sleep 3
    b=$(exec_state); [ "$a" = "$b" ]
}
wait_idle() { # NAME
    if wait_until 600 dag_idle; then pass "$1: DAG idle"; else fail "$1: DAG idle" "$(exec_state)"; fi
    check_eq "$1: no failed run" "" \
        "$(cat_sql "SELECT domain || '/' || job || ': ' || error FROM executions WHERE status = 'FAILED' LIMIT 3")"
    EXEC_BEFORE=$(cat_sql "SELECT count(*) FROM executions")
}
# the silver customer snapshot each batch committed (the SCD2 versions' keys)
record_snapshot() { # BATCH
    echo "$1 $(sql_silver tpch "SELECT snapshot_id || ' ' || committed_at FROM _snapshots
        WHERE table_name = 'customer' ORDER BY snapshot_id DESC LIMIT 1")" >>"$T/snapshots"
}

start_group || { fail "start" "group did not start"; exit 1; }
tpch_endpoints
tpch_send
SENT_customer=150 SENT_orders=1500 SENT_lineitem=6005
record_snapshot 0
check_cmd "model apply" lakehouse model apply "$DEF/tpch.yaml"
sed 's/^model: tpch /model: tpchfull /' "$DEF/tpch.yaml" >"$T/full.yaml"
check_cmd "model apply --profile full (a second model)" lakehouse model apply "$T/full.yaml" --profile full
wait_idle "initial build"
oracle --input "$TPCH" --snapshots "$T/snapshots" --label "initial"

# ---------------------------------------------------------------- batches
# batch 1: customers 1-6 move to the next nation, lines of orders 7, 57, ...
# ship on their receipt date, orders 5 and 6 go with their lines, and two
# new orders (copies of orders 1 and 2 as 60001, 60002) arrive with lines.
B1="$T/b1" B2="$T/b2"; mkdir -p "$B1" "$B2"
jq -c 'select(.c_custkey <= 6) | .c_nationkey = ((.c_nationkey + 1) % 25)' "$TPCH/customer.ndjson" >"$B1/customer.ndjson"
{ jq -c 'select(.o_orderkey == 5 or .o_orderkey == 6) | {o_orderkey, _op: "delete"}' "$TPCH/orders.ndjson"
  jq -c 'select(.o_orderkey <= 2) | .o_orderkey += 60000' "$TPCH/orders.ndjson"; } >"$B1/orders.ndjson"
{ jq -c 'select(.l_orderkey == 5 or .l_orderkey == 6) | {l_orderkey, l_linenumber, _op: "delete"}' "$TPCH/lineitem.ndjson"
  jq -c 'select(.l_orderkey % 50 == 7) | .l_shipdate = .l_receiptdate' "$TPCH/lineitem.ndjson"
  jq -c 'select(.l_orderkey <= 2) | .l_orderkey += 60000' "$TPCH/lineitem.ndjson"; } >"$B1/lineitem.ndjson"
# batch 2: customers 1-2 move again (a third version), 7-9 move; order 5 is
# sent again with its lines; order 60003 arrives; other ship dates move.
jq -c 'select(.c_custkey <= 2) | .c_nationkey = ((.c_nationkey + 2) % 25)' "$TPCH/customer.ndjson" >"$B2/customer.ndjson"
jq -c 'select(.c_custkey >= 7 and .c_custkey <= 9) | .c_nationkey = ((.c_nationkey + 1) % 25)' "$TPCH/customer.ndjson" >>"$B2/customer.ndjson"
jq -c 'select(.o_orderkey == 5), (select(.o_orderkey == 3) | .o_orderkey = 60003)' "$TPCH/orders.ndjson" >"$B2/orders.ndjson"
jq -c 'select(.l_orderkey == 5), (select(.l_orderkey == 3) | .l_orderkey = 60003),
       (select(.l_orderkey % 50 == 8) | .l_shipdate = .l_commitdate)' "$TPCH/lineitem.ndjson" >"$B2/lineitem.ndjson"

# lineage: every incremental bag's last run read at most 3x the rows the
# batch sent to its table (an update is two change rows); the DAR jobs below
check_lineage() { # NAME DIR
    local t rows n bad=""
    for t in customer orders lineitem; do
        n=$(wc -l <"$2/$t.ndjson")
        rows=$(lakehouse lineage "tpch_dab/bag__$t" --json --files 0 2>/dev/null |
            jq -r --arg in "tpch.silver.$t" '[.. | objects | select(.table? == $in or .input_table? == $in) | .change_rows? // empty] | first // "none"')
        case "$rows" in ''|none|*[!0-9]*) bad="$bad bag__$t:$rows";; *) [ "$rows" -le $((3 * n)) ] || bad="$bad bag__$t:$rows>3x$n";; esac
    done
    check_eq "$1: the incremental bags read only the changed rows" "" "$bad"
    # the DAR upserts the batch reached: the change feeds their last run read
    # (their own bag's, their parents' stages' for inherited hooks, the
    # union's stages') within a small multiple of the batch, and under their
    # table's size (a full re-read reads at least that)
    local j sent=0 size report=""
    for t in customer orders lineitem; do sent=$((sent + $(wc -l <"$2/$t.ndjson"))); done
    bad=""
    local d
    for j in tpch_dar/bridge__customer tpch_dar/bridge__orders tpch_dar/bridge__lineitem \
        tpch_dar/events__orders tpch_dar/events__lineitem tpch_dar/uss_bridge \
        tpch_kimball/fct_orders tpch_kimball/fct_lineitem; do
        rows=$(lakehouse lineage "$j" --json --files 0 2>/dev/null |
            jq -r '[.inputs[]? | .change_rows? // empty | numbers] | if length == 0 then "none" else add end')
        d=${j%%/*}; j=${j#*/}
        size=$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/gold/$d.db?mode=ro" "SELECT count(*) FROM \"$j\"")
        report="$report $j:$rows"
        case "$rows" in ''|none|*[!0-9]*) bad="$bad $j:$rows";;
            *) { [ "$rows" -le $((20 * sent)) ] && [ "$rows" -lt "$size" ]; } || bad="$bad $j:$rows>20x$sent|$size";; esac
    done
    check_eq "$1: the incremental DAR jobs and facts read only the changed rows ($report)" "" "$bad"
    # the calendar's span (the union's min and max date, as its SQL reads
    # them): index seeks, no scan of the union
    local span
    span=$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/gold/tpch_dar.db?mode=ro" \
        "EXPLAIN QUERY PLAN SELECT (SELECT min(hook__epoch__date) FROM uss_bridge),
                                   (SELECT max(hook__epoch__date) FROM uss_bridge)" |
        grep -c 'SEARCH uss_bridge USING COVERING INDEX _ix_uss_bridge')
    check_eq "$1: the calendar's span is two seeks on the union's date index" "2" "$span"
}

send_batch "$B1"
record_snapshot 1
wait_idle "batch 1"
T1=$(date -u +%Y-%m-%dT%H:%M:%SZ)   # after batch 1's last commit (idle for 3 s)
oracle --input "$TPCH" --input "$B1" --snapshots "$T/snapshots" --label "batch 1" --properties
oracle --model tpch --same-as tpchfull --label "batch 1"
check_lineage "batch 1" "$B1"
sleep 1.1   # batch 2's commits fall after T1's second

send_batch "$B2"
record_snapshot 2
wait_idle "batch 2"
oracle --input "$TPCH" --input "$B1" --input "$B2" --snapshots "$T/snapshots" --label "batch 2" --properties
oracle --model tpch --same-as tpchfull --label "batch 2"
check_lineage "batch 2" "$B2"

# ---------------------------------------------------------------- time travel
# in pages: one answer holds at most query_max_rows rows
off=0; : >"$T/tt.ndjson"
while :; do
    lakehouse query --json "SELECT * FROM tpch_dar.gold.uss_bridge@'$T1' ORDER BY bridge_key LIMIT 5000 OFFSET $off" \
        >"$T/page.json" 2>&1 || { fail "query uss_bridge@'$T1'" "$(head -c 300 "$T/page.json")"; break; }
    jq -c '.data[]' "$T/page.json" >>"$T/tt.ndjson"
    [ "$(jq '.row_count' "$T/page.json")" -eq 5000 ] || break
    off=$((off + 5000))
done
oracle --input "$TPCH" --input "$B1" --snapshots "$T/snapshots" --label "uss_bridge@'time of batch 1'" \
    --actual "uss_bridge=$T/tt.ndjson"

# ---------------------------------------------------------------- definition change
# a new measure: exactly the jobs that carry it, and the jobs that read
# their tables, run again; every other job keeps its last execution
sed 's/^      revenue: {expr: "l_extendedprice \* (1 - l_discount)", event: shipped}$/&\n      tax: {expr: l_tax, event: shipped}/' \
    "$DEF/tpch.yaml" >"$T/tax.yaml"
lakehouse model plan "$T/tax.yaml" --out "$T/taxplan" >"$T/tax.out" 2>&1
changed=$(sed -n 's/^~ //p' "$T/tax.out" | sort)
affected=$changed
while :; do  # close over the jobs whose SQL reads an affected job's table
    more=$(for j in $affected; do grep -l "${j%%/*}\.gold\.${j#*/}\b" "$T"/taxplan/*/*.sql; done |
        sed "s|^$T/taxplan/||; s|\.sql$||" | sort -u)
    next=$(printf '%s\n' $affected $more | sort -u)
    [ "$next" = "$affected" ] && break
    affected=$next
done
last_runs() { cat_sql "SELECT j.domain || '/' || j.name || ' ' || coalesce(max(e.id), 0) FROM jobs j
    LEFT JOIN executions e ON e.domain = j.domain AND e.job = j.name WHERE j.model = 'tpch' GROUP BY j.domain, j.name ORDER BY 1"; }
last_runs >"$T/runs.before"
check_cmd "model apply with a new measure" lakehouse model apply "$T/tax.yaml"
wait_idle "definition change"
last_runs >"$T/runs.after"
rerun=$(join "$T/runs.before" "$T/runs.after" | awk '$2 != $3 { print $1 }' | sort | tr '\n' ' ')
check_eq "a new measure reruns exactly the changed jobs and their readers" "$(echo $affected) " "$rerun"
check_eq "the new measure sums over the bridge to its source sum" \
    "$(sql_silver tpch "SELECT printf('%.6f', sum(l_tax)) FROM lineitem")" \
    "$(sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/gold/tpch_dar.db?mode=ro" \
        "SELECT printf('%.6f', sum(measure__order_line__tax)) FROM uss_bridge")"
finish
