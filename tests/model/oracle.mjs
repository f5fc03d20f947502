// oracle.mjs - the independent oracle of the modelling tests: DuckDB
// recomputes every table the TPC-H concept file (tests/data/tpch/tpch.yaml)
// generates, straight from the NDJSON input, and compares it with the gold
// tables as multisets (numbers within 1e-9 relative). Prints PASS/FAIL lines
// as tests/lib.sh does.
//
//   node oracle.mjs --defs DIR --input DIR [--input DIR ...] --gold DIR
//        [--model NAME] [--snapshots FILE] [--actual NAME=FILE ...]
//        [--label TEXT] [--tables a,b] [--properties]
//   node oracle.mjs --gold DIR --model NAME --same-as NAME2 [--label TEXT]
//
// --input: the base data, then each update batch, in order; each holds
//   <table>.ndjson (a batch may lack a table). A row replaces the row of its
//   primary key; {"_op": "delete", key...} removes it.
// --snapshots: lines "batch snapshot_id committed_at" of the silver customer
//   table (the SCD2 dimension's version keys and validity come from them).
// --actual NAME=FILE: compare the JSON array or NDJSON in FILE (what
//   `lakehouse query --json` answered) with the expected table NAME instead
//   of reading the gold database; NAME may also be one of the named queries
//   (stage_counts, revenue_per_region).
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const args = { input: [], actual: [] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const key = a.replace(/^--/, '').replace(/-/g, '_');
  if (key === 'properties') args.properties = true;
  else if (key === 'input' || key === 'actual') args[key].push(process.argv[++i]);
  else args[key] = process.argv[++i];
}
const model = args.model || 'tpch';
const label = args.label ? `${args.label}: ` : '';
let failures = 0;
const pass = (name) => console.log(`PASS ${label}${name}`);
const fail = (name, why) => { failures++; console.log(`FAIL ${label}${name}: ${why}`); };

const TABLES = ['region', 'nation', 'customer', 'supplier', 'part', 'partsupp', 'orders', 'lineitem'];
const LAYER = (t) => t.startsWith('bag__') ? 'dab' : (t.startsWith('dim_') || t.startsWith('fct_')) ? 'kimball' : 'dar';
const GENERATED = [
  ...TABLES.map((t) => `bag__${t}`), ...TABLES.map((t) => `bridge__${t}`),
  'events__orders', 'events__lineitem', 'uss_bridge', 'calendar',
  'dim_customer', 'dim_supplier', 'dim_part', 'dim_nation', 'fct_lineitem', 'fct_orders'];

// ---------------------------------------------------------------- actual
function sqliteRows(db, sql) {
  const out = execFileSync('sqlite3', ['-cmd', '.timeout 10000', '-json', `file:${db}?mode=ro`, sql],
    { maxBuffer: 1 << 30, encoding: 'utf8' });
  return out.trim() === '' ? [] : JSON.parse(out);
}
function goldColumns(m, table) {
  return sqliteRows(path.join(args.gold, `${m}_${LAYER(table)}.db`),
    `SELECT name FROM pragma_table_info('${table}') ORDER BY cid`).map((r) => r.name);
}
function goldRows(m, table) {
  return sqliteRows(path.join(args.gold, `${m}_${LAYER(table)}.db`), `SELECT * FROM "${table}"`);
}
function fileRows(file) {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (text === '') return [];
  if (text.startsWith('[')) return JSON.parse(text);
  if (text.startsWith('{"columns"')) { // lakehouse query --json
    const o = JSON.parse(text);
    if (o.truncated) throw new Error(`${file}: the answer was truncated`);
    return o.data;
  }
  return text.split('\n').map((l) => JSON.parse(l));
}

// ---------------------------------------------------------------- compare
const norm = (v) => v === null || v === undefined ? null
  : typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? (v ? 1 : 0)
  : typeof v === 'number' || typeof v === 'string' ? v : String(v);
const rank = (v) => v === null ? 0 : typeof v === 'number' ? 1 : 2;
function cmpValue(a, b) {
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a === null) return 0;
  if (typeof a === 'number') return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}
const cmpRow = (x, y) => { for (let i = 0; i < x.length; i++) { const c = cmpValue(x[i], y[i]); if (c) return c; } return 0; };
function sameValue(a, b) {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  return a === b;
}
// multiset equality of two lists of objects over the expected columns
function compare(name, columns, expected, actual, actualColumns) {
  if (actualColumns) {
    const missing = columns.filter((c) => !actualColumns.includes(c));
    const extra = actualColumns.filter((c) => !columns.includes(c));
    if (missing.length || extra.length) {
      fail(name, `columns differ: missing [${missing}] extra [${extra}]`);
      return;
    }
  }
  const rows = (list) => list.map((r) => columns.map((c) => norm(r[c]))).sort(cmpRow);
  const e = rows(expected), a = rows(actual);
  if (e.length !== a.length) {
    fail(name, `${a.length} rows, expected ${e.length}`);
    return;
  }
  for (let i = 0; i < e.length; i++) {
    const j = columns.findIndex((_, k) => !sameValue(e[i][k], a[i][k]));
    if (j >= 0) {
      fail(name, `row ${i} column ${columns[j]}: expected ${JSON.stringify(e[i])}, got ${JSON.stringify(a[i])}`);
      return;
    }
  }
  pass(name);
}

// ---------------------------------------------------------------- same-as
if (args.same_as) {
  for (const t of GENERATED) {
    const cols = goldColumns(args.same_as, t);
    compare(`${model} ${t} equals ${args.same_as} ${t}`, cols, goldRows(args.same_as, t),
      goldRows(model, t), goldColumns(model, t));
  }
  process.exit(failures ? 1 : 0);
}

// ---------------------------------------------------------------- input
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const run = (sql) => con.run(sql);
const all = async (sql) => (await con.runAndReadAll(sql)).getRowObjects();

const SQLTYPE = { integer: 'BIGINT', float: 'DOUBLE', date: 'VARCHAR', timestamp: 'VARCHAR', string: 'VARCHAR', boolean: 'BOOLEAN' };
const defs = {};
for (const t of TABLES) defs[t] = JSON.parse(fs.readFileSync(path.join(args.defs, `${t}.json`), 'utf8')).columns;

// raw_<t>: every input row with its batch and position; cur_<t> (or the
// state up to batch b) is the last row of each key unless that is a delete.
for (const t of TABLES) {
  const cols = defs[t].map((c) => `"${c.name}" ${SQLTYPE[c.type]}`).join(', ');
  await run(`CREATE TABLE raw_${t} (_batch INTEGER, _seq BIGINT, _op VARCHAR, ${cols})`);
  const tmp = path.join(fs.mkdtempSync('/tmp/oracle-'), `${t}.ndjson`);
  const out = [];
  args.input.forEach((dir, batch) => {
    const f = path.join(dir, `${t}.ndjson`);
    if (!fs.existsSync(f)) return;
    fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).forEach((l) => {
      const o = JSON.parse(l);
      out.push(JSON.stringify({ ...o, _batch: batch, _seq: out.length, _op: o._op || 'upsert' }));
    });
  });
  fs.writeFileSync(tmp, out.join('\n') + '\n');
  const spec = [['_batch', 'INTEGER'], ['_seq', 'BIGINT'], ['_op', 'VARCHAR'],
    ...defs[t].map((c) => [c.name, SQLTYPE[c.type]])].map(([n, ty]) => `'${n}': '${ty}'`).join(', ');
  await run(`INSERT INTO raw_${t} BY NAME SELECT * FROM read_json('${tmp}', format = 'newline_delimited', columns = {${spec}})`);
  fs.rmSync(path.dirname(tmp), { recursive: true });
  const keys = defs[t].filter((c) => c.primary_key).map((c) => `"${c.name}"`).join(', ');
  const names = defs[t].map((c) => `"${c.name}"`).join(', ');
  await run(`CREATE MACRO state_${t}(upto) AS TABLE SELECT ${names} FROM (
      SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY _seq DESC) AS rn
      FROM raw_${t} WHERE _batch <= upto) WHERE rn = 1 AND _op <> 'delete'`);
  await run(`CREATE TABLE ${t} AS SELECT * FROM state_${t}(${args.input.length - 1})`);
}

// ---------------------------------------------------------------- expected
// The tables as the README's Modelling section defines them, written from
// the definitions (joins of the source tables), not from the generated SQL.
const PREFIX = { region: ['region', 'r_'], nation: ['nation', 'n_'], customer: ['customer', 'c_'],
  supplier: ['supplier', 's_'], part: ['part', 'p_'], partsupp: ['partsupp', 'ps_'],
  orders: ['order', 'o_'], lineitem: ['order_line', 'l_'] };
const bagCols = (t, alias) => defs[t].map((c) =>
  `${alias}."${c.name}" AS "${PREFIX[t][0]}__${c.name.slice(PREFIX[t][1].length)}"`).join(', ');
const HOOKS = {
  region: `'tpch.region|' || r_regionkey AS hook__region`,
  nation: `'tpch.nation|' || n_nationkey AS hook__nation, 'tpch.region|' || n_regionkey AS hook__region`,
  customer: `'tpch.customer|' || c_custkey AS hook__customer, 'tpch.nation|' || c_nationkey AS hook__nation__customer`,
  supplier: `'tpch.supplier|' || s_suppkey AS hook__supplier, 'tpch.nation|' || s_nationkey AS hook__nation__supplier`,
  part: `'tpch.part|' || p_partkey AS hook__part`,
  partsupp: `'tpch.partsupp|' || ps_partkey || '~' || ps_suppkey AS hook__partsupp,
             'tpch.part|' || ps_partkey AS hook__part, 'tpch.supplier|' || ps_suppkey AS hook__supplier`,
  orders: `'tpch.order|' || o_orderkey AS hook__order, 'tpch.customer|' || o_custkey AS hook__customer`,
  lineitem: `'tpch.order_line|' || l_orderkey || '~' || l_linenumber AS hook__order_line,
             'tpch.order|' || l_orderkey AS hook__order,
             'tpch.partsupp|' || l_partkey || '~' || l_suppkey AS hook__partsupp,
             'tpch.part|' || l_partkey AS hook__part, 'tpch.supplier|' || l_suppkey AS hook__supplier`,
};
for (const t of TABLES)
  await run(`CREATE VIEW exp_bag__${t} AS SELECT ${HOOKS[t]}, ${bagCols(t, t)} FROM ${t}`);

// the region of a nation, the nation and region of a customer or supplier
// (NULL when the parent row is missing: inherited only through the parent)
await run(`CREATE VIEW nat AS SELECT n_nationkey, 'tpch.region|' || n_regionkey AS region FROM nation`);
await run(`CREATE VIEW cust AS SELECT c.c_custkey, 'tpch.customer|' || c.c_custkey AS hook,
    'tpch.nation|' || c.c_nationkey AS nation, n.region FROM customer c LEFT JOIN nat n ON n.n_nationkey = c.c_nationkey`);
await run(`CREATE VIEW supp AS SELECT s.s_suppkey, 'tpch.nation|' || s.s_nationkey AS nation, n.region
    FROM supplier s LEFT JOIN nat n ON n.n_nationkey = s.s_nationkey`);
const STAGES = {
  region: `SELECT 'region' AS stage, 'tpch.region|' || r_regionkey AS bridge_key, 'tpch.region|' || r_regionkey AS hook__region FROM region`,
  nation: `SELECT 'nation' AS stage, 'tpch.nation|' || n_nationkey AS bridge_key, 'tpch.nation|' || n_nationkey AS hook__nation,
    'tpch.region|' || n_regionkey AS hook__region FROM nation`,
  customer: `SELECT 'customer' AS stage, c.hook AS bridge_key, c.hook AS hook__customer, c.nation AS hook__nation__customer,
    c.region AS hook__region__customer FROM cust c`,
  supplier: `SELECT 'supplier' AS stage, 'tpch.supplier|' || s_suppkey AS bridge_key, 'tpch.supplier|' || s_suppkey AS hook__supplier,
    nation AS hook__nation__supplier, region AS hook__region__supplier FROM supp`,
  part: `SELECT 'part' AS stage, 'tpch.part|' || p_partkey AS bridge_key, 'tpch.part|' || p_partkey AS hook__part FROM part`,
  partsupp: `SELECT 'partsupp' AS stage, 'tpch.partsupp|' || ps_partkey || '~' || ps_suppkey AS bridge_key,
    'tpch.partsupp|' || ps_partkey || '~' || ps_suppkey AS hook__partsupp, 'tpch.part|' || ps_partkey AS hook__part,
    'tpch.supplier|' || ps_suppkey AS hook__supplier, s.nation AS hook__nation__supplier, s.region AS hook__region__supplier
    FROM partsupp p LEFT JOIN supp s ON s.s_suppkey = p.ps_suppkey`,
  orders: `SELECT 'orders' AS stage, 'tpch.order|' || o_orderkey AS bridge_key, 'tpch.order|' || o_orderkey AS hook__order,
    'tpch.customer|' || o_custkey AS hook__customer, c.nation AS hook__nation__customer, c.region AS hook__region__customer
    FROM orders o LEFT JOIN cust c ON c.c_custkey = o.o_custkey`,
  lineitem: `SELECT 'lineitem' AS stage, 'tpch.order_line|' || l_orderkey || '~' || l_linenumber AS bridge_key,
    'tpch.order_line|' || l_orderkey || '~' || l_linenumber AS hook__order_line, 'tpch.order|' || l_orderkey AS hook__order,
    'tpch.partsupp|' || l_partkey || '~' || l_suppkey AS hook__partsupp, 'tpch.part|' || l_partkey AS hook__part,
    'tpch.supplier|' || l_suppkey AS hook__supplier,
    CASE WHEN o.o_orderkey IS NOT NULL THEN 'tpch.customer|' || o.o_custkey END AS hook__customer,
    c.nation AS hook__nation__customer, c.region AS hook__region__customer,
    s.nation AS hook__nation__supplier, s.region AS hook__region__supplier
    FROM lineitem l LEFT JOIN orders o ON o.o_orderkey = l.l_orderkey LEFT JOIN cust c ON c.c_custkey = o.o_custkey
    LEFT JOIN supp s ON s.s_suppkey = l.l_suppkey`,
};
for (const [t, sql] of Object.entries(STAGES)) await run(`CREATE VIEW exp_bridge__${t} AS ${sql}`);

// event rows: one per distinct date of a row (one with a NULL date when it
// has none), flags on the dates of their events, measures on their event's
await run(`CREATE VIEW ev_orders AS SELECT 'tpch.order|' || o_orderkey AS key, o_orderdate AS placed,
    o_totalprice AS total_price FROM orders`);
await run(`CREATE VIEW ev_lineitem AS SELECT 'tpch.order_line|' || l_orderkey || '~' || l_linenumber AS key,
    l_shipdate AS shipped, l_commitdate AS committed, l_receiptdate AS received,
    l_quantity AS quantity, l_extendedprice * (1 - l_discount) AS revenue FROM lineitem`);
await run(`CREATE VIEW exp_events__orders AS
  WITH days AS (SELECT DISTINCT key, placed AS day FROM ev_orders)
  SELECT st.* EXCLUDE (bridge_key), CASE WHEN d.day IS NULL THEN d.key ELSE d.key || '@' || d.day END AS bridge_key,
    'epoch.date|' || d.day AS hook__epoch__date,
    CASE WHEN e.placed = d.day THEN 1 ELSE 0 END AS event__order__placed,
    CASE WHEN e.placed = d.day THEN e.total_price END AS measure__order__total_price
  FROM days d JOIN ev_orders e ON e.key = d.key JOIN exp_bridge__orders st ON st.bridge_key = d.key`);
await run(`CREATE VIEW exp_events__lineitem AS
  WITH dates AS (SELECT key, unnest([shipped, committed, received]) AS day FROM ev_lineitem),
  days AS (SELECT DISTINCT key, day FROM dates WHERE day IS NOT NULL
           UNION ALL SELECT key, NULL FROM ev_lineitem WHERE shipped IS NULL AND committed IS NULL AND received IS NULL)
  SELECT st.* EXCLUDE (bridge_key), CASE WHEN d.day IS NULL THEN d.key ELSE d.key || '@' || d.day END AS bridge_key,
    'epoch.date|' || d.day AS hook__epoch__date,
    CASE WHEN e.shipped = d.day THEN 1 ELSE 0 END AS event__order_line__shipped,
    CASE WHEN e.committed = d.day THEN 1 ELSE 0 END AS event__order_line__committed,
    CASE WHEN e.received = d.day THEN 1 ELSE 0 END AS event__order_line__received,
    CASE WHEN e.shipped = d.day THEN e.quantity END AS measure__order_line__quantity,
    CASE WHEN e.shipped = d.day THEN e.revenue END AS measure__order_line__revenue
  FROM days d JOIN ev_lineitem e ON e.key = d.key JOIN exp_bridge__lineitem st ON st.bridge_key = d.key`);
const FLAGS = ['event__order__placed', 'event__order_line__shipped', 'event__order_line__committed', 'event__order_line__received'];
await run(`CREATE VIEW exp_uss_bridge AS
  SELECT COLUMNS(c -> c NOT IN (${FLAGS.map((f) => `'${f}'`).join(', ')})), ${FLAGS.map((f) => `coalesce(${f}, 0) AS ${f}`).join(', ')}
  FROM (${['region', 'nation', 'customer', 'supplier', 'part', 'partsupp'].map((t) => `SELECT * FROM exp_bridge__${t}`)
    .concat(['SELECT * FROM exp_events__orders', 'SELECT * FROM exp_events__lineitem']).join(' UNION ALL BY NAME ')})`);
await run(`CREATE VIEW exp_calendar AS
  WITH b AS (SELECT min(CAST(substr(hook__epoch__date, 12) AS DATE)) AS lo, max(CAST(substr(hook__epoch__date, 12) AS DATE)) AS hi
             FROM exp_uss_bridge),
  days AS (SELECT CAST(unnest(generate_series(lo, hi, INTERVAL 1 DAY)) AS DATE) AS d FROM b WHERE lo IS NOT NULL)
  SELECT 'epoch.date|' || strftime(d, '%Y-%m-%d') AS hook__epoch__date, strftime(d, '%Y-%m-%d') AS epoch__date,
    year(d) AS epoch__year, quarter(d) AS epoch__quarter, month(d) AS epoch__month, day(d) AS epoch__day,
    dayofweek(d) AS epoch__weekday FROM days`);

// SCD2 customer: a version starts at each batch that changed the row; its
// key and validity come from the silver snapshot that batch committed
const snaps = args.snapshots ? fs.readFileSync(args.snapshots, 'utf8').trim().split('\n').filter(Boolean)
  .map((l) => l.split(/\s+/)).map(([b, s, ...at]) => `(${b}, ${s}, '${at.join(' ')}')`) : [];
await run(`CREATE TABLE snap (batch INTEGER, snapshot_id BIGINT, committed_at VARCHAR)`);
if (snaps.length) await run(`INSERT INTO snap VALUES ${snaps.join(', ')}`);
const cattrs = defs.customer.map((c) => `"${c.name}"`).join(', ');
const batches = args.input.map((_, b) => `SELECT ${b} AS batch, * FROM state_customer(${b})`).join(' UNION ALL ');
await run(`CREATE VIEW cust_versions AS
  WITH states AS (${batches}),
  marked AS (SELECT *, lag(md5(CAST(row(${cattrs}) AS VARCHAR))) OVER (PARTITION BY c_custkey ORDER BY batch) AS prev,
                md5(CAST(row(${cattrs}) AS VARCHAR)) AS cur,
                lag(batch) OVER (PARTITION BY c_custkey ORDER BY batch) AS prev_batch FROM states),
  starts AS (SELECT * FROM marked WHERE prev IS NULL OR prev <> cur OR prev_batch <> batch - 1),
  v AS (SELECT s.*, row_number() OVER (PARTITION BY c_custkey ORDER BY batch) AS version,
          lead(batch) OVER (PARTITION BY c_custkey ORDER BY batch) AS next_batch FROM starts s)
  SELECT v.*, sn.snapshot_id, CASE WHEN v.version = 1 THEN '0001-01-01' ELSE sn.committed_at END AS valid_from,
    nx.committed_at AS valid_to, CASE WHEN v.next_batch IS NULL THEN 1 ELSE 0 END AS is_current
  FROM v LEFT JOIN snap sn ON sn.batch = v.batch LEFT JOIN snap nx ON nx.batch = v.next_batch`);
const unknownRow = async (view, key) => {
  const cols = (await all(`DESCRIBE ${view}`)).map((r) => r.column_name).filter((c) => c !== key);
  return `SELECT 'unknown' AS ${key}, ${cols.map((c) => `NULL AS ${c}`).join(', ')}`;
};
const natCols = bagCols('nation', 'n'), regCols = bagCols('region', 'r');
await run(`CREATE VIEW dim_customer_rows AS SELECT 'tpch.customer|' || v.c_custkey || '#' || v.snapshot_id AS key__customer,
    'tpch.customer|' || v.c_custkey AS hook__customer, 'tpch.nation|' || v.c_nationkey AS hook__nation__customer,
    ${bagCols('customer', 'v')}, ${natCols}, v.valid_from, v.valid_to, v.is_current
  FROM cust_versions v LEFT JOIN nation n ON n.n_nationkey = v.c_nationkey`);
await run(`CREATE VIEW exp_dim_customer AS ${await unknownRow('dim_customer_rows', 'key__customer')} UNION ALL SELECT * FROM dim_customer_rows`);
await run(`CREATE VIEW dim_supplier_rows AS SELECT 'tpch.supplier|' || s_suppkey AS key__supplier, ${HOOKS.supplier},
    ${bagCols('supplier', 's')}, ${natCols} FROM supplier s LEFT JOIN nation n ON n.n_nationkey = s.s_nationkey`);
await run(`CREATE VIEW exp_dim_supplier AS ${await unknownRow('dim_supplier_rows', 'key__supplier')} UNION ALL SELECT * FROM dim_supplier_rows`);
await run(`CREATE VIEW dim_part_rows AS SELECT 'tpch.part|' || p_partkey AS key__part, ${HOOKS.part}, ${bagCols('part', 'p')} FROM part p`);
await run(`CREATE VIEW exp_dim_part AS ${await unknownRow('dim_part_rows', 'key__part')} UNION ALL SELECT * FROM dim_part_rows`);
await run(`CREATE VIEW dim_nation_rows AS SELECT 'tpch.nation|' || n_nationkey AS key__nation, ${HOOKS.nation},
    ${natCols}, ${regCols} FROM nation n LEFT JOIN region r ON r.r_regionkey = n.n_regionkey`);
await run(`CREATE VIEW exp_dim_nation AS ${await unknownRow('dim_nation_rows', 'key__nation')} UNION ALL SELECT * FROM dim_nation_rows`);

// facts: one row per source row, each dimension key the version valid at
// the event date ('unknown' when none is; a date compares as its midnight)
const custAt = (hook, day) => `coalesce((SELECT 'tpch.customer|' || v.c_custkey || '#' || v.snapshot_id FROM cust_versions v
    WHERE 'tpch.customer|' || v.c_custkey = ${hook} AND CAST(v.valid_from AS TIMESTAMP) <= CAST(${day} AS TIMESTAMP)
    AND (v.valid_to IS NULL OR CAST(${day} AS TIMESTAMP) < CAST(v.valid_to AS TIMESTAMP))), 'unknown')`;
const inDim = (hook, dim, col) => `CASE WHEN ${hook} IN (SELECT hook FROM (SELECT '${dim}|' || ${col} AS hook FROM ${dim.split('.')[1]})) THEN ${hook} ELSE 'unknown' END`;
await run(`CREATE VIEW exp_fct_lineitem AS SELECT st.hook__order_line, e.shipped AS date__shipped,
    'epoch.date|' || e.shipped AS hook__epoch__date, ${custAt('st.hook__customer', 'e.shipped')} AS key__customer,
    ${inDim('st.hook__supplier', 'tpch.supplier', 's_suppkey')} AS key__supplier,
    ${inDim('st.hook__part', 'tpch.part', 'p_partkey')} AS key__part,
    ${inDim('st.hook__nation__customer', 'tpch.nation', 'n_nationkey')} AS key__nation__customer,
    ${inDim('st.hook__nation__supplier', 'tpch.nation', 'n_nationkey')} AS key__nation__supplier,
    e.quantity, e.revenue
  FROM ev_lineitem e JOIN exp_bridge__lineitem st ON st.bridge_key = e.key`);
await run(`CREATE VIEW exp_fct_orders AS SELECT st.hook__order, e.placed AS date__placed,
    'epoch.date|' || e.placed AS hook__epoch__date, ${custAt('st.hook__customer', 'e.placed')} AS key__customer,
    ${inDim('st.hook__nation__customer', 'tpch.nation', 'n_nationkey')} AS key__nation__customer, e.total_price
  FROM ev_orders e JOIN exp_bridge__orders st ON st.bridge_key = e.key`);

// the README's queries, as a new user would ask them
await run(`CREATE VIEW exp_stage_counts AS SELECT stage, count(*) AS n FROM exp_uss_bridge GROUP BY stage`);
await run(`CREATE VIEW exp_revenue_per_region AS SELECT r.r_name AS region__name, sum(l.l_extendedprice * (1 - l.l_discount)) AS revenue
  FROM lineitem l JOIN orders o ON o.o_orderkey = l.l_orderkey JOIN customer c ON c.c_custkey = o.o_custkey
  JOIN nation n ON n.n_nationkey = c.c_nationkey JOIN region r ON r.r_regionkey = n.n_regionkey GROUP BY 1`);

// ---------------------------------------------------------------- checks
const expected = async (name) => {
  const cols = (await all(`DESCRIBE exp_${name}`)).map((r) => r.column_name);
  return [cols, await all(`SELECT * FROM exp_${name}`)];
};
const overrides = Object.fromEntries(args.actual.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
if (Object.keys(overrides).length && !args.tables) args.tables = '';
const wanted = args.tables === undefined ? GENERATED : args.tables.split(',').filter(Boolean);
for (const t of wanted) {
  const [cols, rows] = await expected(t);
  compare(`${model} ${t} equals DuckDB`, cols, rows, goldRows(model, t), goldColumns(model, t));
}
for (const [name, file] of Object.entries(overrides)) {
  const [cols, rows] = await expected(name);
  const act = fileRows(file);
  compare(`${name} equals DuckDB`, cols, rows, act, act.length ? Object.keys(act[0]) : cols);
}

if (args.properties) {
  // the gold bridge and region bag loaded beside the source tables
  for (const t of ['uss_bridge', 'bag__region']) {
    const types = await all(`DESCRIBE exp_${t}`);
    const tmp = fs.mkdtempSync('/tmp/oracle-');
    fs.writeFileSync(`${tmp}/a.ndjson`, goldRows(model, t).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const spec = types.map((r) => `'${r.column_name}': '${r.column_type === 'INTEGER' ? 'BIGINT' : r.column_type}'`).join(', ');
    await run(`CREATE TABLE act_${t} AS SELECT * FROM read_json('${tmp}/a.ndjson', format = 'newline_delimited', columns = {${spec}})`);
    fs.rmSync(tmp, { recursive: true });
  }
  const one = async (sql) => (await all(sql)).map((r) => Object.values(r).map(norm));
  const prop = async (name, exp, act) => {
    const e = await one(exp), a = await one(act);
    const same = e.length === a.length && e.every((r, i) => r.length === a[i].length && r.every((v, j) => sameValue(v, a[i][j])));
    if (same) pass(name); else fail(name, `expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
  };
  const HOOK = { region: 'hook__region', nation: 'hook__nation', customer: 'hook__customer', supplier: 'hook__supplier',
    part: 'hook__part', partsupp: 'hook__partsupp', orders: 'hook__order', lineitem: 'hook__order_line' };
  await prop('no loss: every stage holds every source row once',
    TABLES.map((t) => `SELECT '${t}' AS s, (SELECT count(*) FROM ${t}) AS n`).join(' UNION ALL ') + ' ORDER BY 1',
    `SELECT stage, count(DISTINCT CASE ${TABLES.map((t) => `WHEN stage = '${t}' THEN ${HOOK[t]}`).join(' ')} END)
     FROM act_uss_bridge GROUP BY 1 ORDER BY 1`);
  await prop('no loss: stages without events have one row per source row',
    TABLES.filter((t) => t !== 'orders' && t !== 'lineitem').map((t) => `SELECT '${t}' AS s, (SELECT count(*) FROM ${t}) AS n`).join(' UNION ALL ') + ' ORDER BY 1',
    `SELECT stage, count(*) FROM act_uss_bridge WHERE stage NOT IN ('orders', 'lineitem') GROUP BY 1 ORDER BY 1`);
  await prop('no loss: customers without orders stay',
    `SELECT count(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.o_custkey = c.c_custkey)`,
    `SELECT count(*) FROM act_uss_bridge b WHERE stage = 'customer' AND NOT EXISTS
       (SELECT 1 FROM act_uss_bridge o WHERE o.stage = 'orders' AND o.hook__customer = b.hook__customer)`);
  const close = (x) => x;
  await prop('no fan trap: every measure sums over the bridge to its source sum',
    `SELECT ${close('(SELECT sum(o_totalprice) FROM orders)')}, ${close('(SELECT sum(l_quantity) FROM lineitem)')},
            ${close('(SELECT sum(l_extendedprice * (1 - l_discount)) FROM lineitem)')}`,
    `SELECT ${close('sum(measure__order__total_price)')}, ${close('sum(measure__order_line__quantity)')},
            ${close('sum(measure__order_line__revenue)')} FROM act_uss_bridge`);
  await prop('no fan trap: revenue and total price per region through the customer role',
    `SELECT r.r_name, ${close('sum(x.rev)')}, ${close('sum(x.tp)')} FROM (
       SELECT o_custkey AS ck, l_extendedprice * (1 - l_discount) AS rev, NULL AS tp FROM lineitem JOIN orders ON o_orderkey = l_orderkey
       UNION ALL SELECT o_custkey, NULL, o_totalprice FROM orders) x
     JOIN customer c ON c.c_custkey = x.ck JOIN nation n ON n.n_nationkey = c.c_nationkey
     JOIN region r ON r.r_regionkey = n.n_regionkey GROUP BY 1 ORDER BY 1`,
    `SELECT r.region__name, ${close('sum(b.measure__order_line__revenue)')}, ${close('sum(b.measure__order__total_price)')}
     FROM act_uss_bridge b JOIN act_bag__region r ON r.hook__region = b.hook__region__customer
     WHERE b.measure__order_line__revenue IS NOT NULL OR b.measure__order__total_price IS NOT NULL GROUP BY 1 ORDER BY 1`);
  await prop('measures only on their own stage and event row', `SELECT 0, 0, 0`,
    `SELECT count(*) FILTER (measure__order__total_price IS NOT NULL AND (stage <> 'orders' OR event__order__placed <> 1)),
            count(*) FILTER (measure__order_line__quantity IS NOT NULL AND (stage <> 'lineitem' OR event__order_line__shipped <> 1)),
            count(*) FILTER (measure__order_line__revenue IS NOT NULL AND (stage <> 'lineitem' OR event__order_line__shipped <> 1))
     FROM act_uss_bridge`);
  await prop('event flag counts equal non-null date counts',
    `SELECT (SELECT count(o_orderdate) FROM orders), count(l_shipdate), count(l_commitdate), count(l_receiptdate) FROM lineitem`,
    `SELECT sum(event__order__placed), sum(event__order_line__shipped), sum(event__order_line__committed),
            sum(event__order_line__received) FROM act_uss_bridge`);
}
process.exit(failures ? 1 : 0);
