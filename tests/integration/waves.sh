#!/usr/bin/env bash
# Wave scheduling on the whole group (events, gold.committed echoes and all):
# one silver commit feeding a chain beside a direct edge (base -> mid -> high
# -> top, base -> top, top in another domain) and a diamond (base -> left,
# base -> right, left + right + the silver table -> join) runs every job
# downstream of it exactly once, each on the final result of all its inputs.
# Job names sort downstream first (the catalog's order), which is the order
# that made a job waiting on its direct inputs only run once per path.
# Idle means: no execution RUNNING and every job's last run SUCCEEDED on the
# current snapshot of each of its inputs (no wall-clock pause).
source "$(dirname "$0")/../lib.sh"
start_group || { fail "start" "group did not start"; exit 1; }

cat >"$T/src.json" <<'EOF'
{"domain": "w", "name": "src", "mode": "MANUAL", "columns": [
  {"name": "id", "type": "integer", "required": true, "primary_key": true},
  {"name": "grp", "type": "string"},
  {"name": "v", "type": "integer"}
]}
EOF
check_cmd "endpoint create" lakehouse endpoint create "$T/src.json"

mkdir -p "$T/jobs"
job() {  # FILE DOMAIN SQL
    printf -- '-- domain: %s\n-- write_mode: overwrite\n%s\n' "$2" "$3" >"$T/jobs/$1.sql"
}
job z_base  w "SELECT grp, count(*) AS n, sum(v) AS v FROM w.silver.src GROUP BY grp"
job y_mid   w "SELECT grp, n, v * 2 AS v FROM w.gold.z_base"
job x_high  w "SELECT grp, n, v + 1 AS v FROM w.gold.y_mid"
job a_top   v "SELECT h.grp, h.v AS high, b.v AS base FROM w.gold.x_high AS h JOIN w.gold.z_base AS b USING (grp)"
job m_left  w "SELECT grp, v FROM w.gold.z_base WHERE grp <= 'b'"
job n_right w "SELECT grp, v FROM w.gold.z_base WHERE grp > 'b'"
job b_join  w "SELECT s.grp, count(*) AS rows_now,
                      (SELECT count(*) FROM w.gold.m_left) + (SELECT count(*) FROM w.gold.n_right) AS sides
               FROM w.silver.src AS s GROUP BY s.grp"
JOBS="w/z_base w/y_mid w/x_high v/a_top w/m_left w/n_right w/b_join"

batch() {  # FILE FIRST LAST V: ids FIRST..LAST in groups a..d with value V
    seq "$2" "$3" | awk -v v="$4" '{ printf "{\"id\":%d,\"grp\":\"%s\",\"v\":%d}\n", $1, substr("abcd", $1 % 4 + 1, 1), v }' >"$1"
}
batch "$T/b1.ndjson" 1 40 1
lakehouse send w/src "$T/b1.ndjson" >/dev/null || fail "send batch 1" "refused"
wait_eq 60 40 sql_silver w "SELECT count(*) FROM src" || fail "silver batch 1" "got $WAIT_LAST"
for j in $JOBS; do lakehouse job add "$T/jobs/${j#*/}.sql" >/dev/null || fail "job add $j" "refused"; done

cat_sql() { sqlite3 -batch -noheader "file:$LAKEHOUSE_DATA/catalog.db?mode=ro" "$1"; }
snapshot_of() {  # DOMAIN LAYER TABLE: its latest snapshot id (0: none)
    local db=$LAKEHOUSE_DATA/$2/$1.db
    [ -f "$db" ] || { echo 0; return; }
    sqlite3 -batch -noheader "file:$db?mode=ro" \
        "SELECT coalesce(max(snapshot_id), 0) FROM _snapshots WHERE table_name = '$3'"
}
# job_fresh DOMAIN/NAME: its last execution succeeded on the current inputs
job_fresh() {
    local d=${1%/*} n=${1#*/} row status inputs key id
    row=$(cat_sql "SELECT status || '|' || coalesce(inputs_json, '{}') FROM executions
                   WHERE domain = '$d' AND job = '$n' ORDER BY id DESC LIMIT 1")
    status=${row%%|*}; inputs=${row#*|}
    [ "$status" = SUCCEEDED ] || return 1
    for key in $(echo "$inputs" | jq -r 'keys[]'); do
        IFS=. read -r kd kl kt <<<"$key"
        id=$(snapshot_of "$kd" "$kl" "$kt")
        [ "$(echo "$inputs" | jq -r --arg k "$key" '.[$k]')" = "$id" ] || return 1
    done
}
dag_idle() {
    [ "$(cat_sql "SELECT count(*) FROM executions WHERE status = 'RUNNING'")" = 0 ] || return 1
    local j
    for j in $JOBS; do job_fresh "$j" || return 1; done
}
runs() { cat_sql "SELECT count(*) FROM executions WHERE domain = '${1%/*}' AND job = '${1#*/}'"; }

if wait_until 300 dag_idle; then pass "first build idle"; else fail "first build idle" "$(cat_sql "SELECT domain, job, status FROM executions ORDER BY id DESC LIMIT 5")"; fi
declare -A BEFORE
for j in $JOBS; do BEFORE[$j]=$(runs "$j"); done
silver_before=$(snapshot_of w silver src)

# one silver commit: updates and new rows in every group
batch "$T/b2.ndjson" 21 60 5
lakehouse send w/src "$T/b2.ndjson" >/dev/null || fail "send batch 2" "refused"
wait_eq 60 60 sql_silver w "SELECT count(*) FROM src" || fail "silver batch 2" "got $WAIT_LAST"
check_eq "batch 2 is one silver commit" "$((silver_before + 1))" "$(snapshot_of w silver src)"
if wait_until 300 dag_idle; then pass "DAG idle after the commit"; else fail "DAG idle after the commit" "$(cat_sql "SELECT domain, job, status FROM executions ORDER BY id DESC LIMIT 5")"; fi
for j in $JOBS; do
    check_eq "one run of $j" "$((BEFORE[$j] + 1))" "$(runs "$j")"
done
check_eq "no failed run" "" "$(cat_sql "SELECT domain || '/' || job || ': ' || error FROM executions WHERE status = 'FAILED'")"
# the results are those of the final inputs
check_eq "top sees the chain's result" \
    "$(sql_silver w "SELECT grp, 2 * sum(v) + 1, sum(v) FROM src GROUP BY grp ORDER BY grp")" \
    "$(sql_gold v "SELECT grp, high, base FROM a_top ORDER BY grp")"
check_eq "join sees both sides" "4" "$(sql_gold w "SELECT DISTINCT sides FROM b_join")"

finish
