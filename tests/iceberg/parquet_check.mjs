// parquet_check.mjs DIR CASE... - reads DIR/<case>.parquet with DuckDB and
// with hyparquet and compares with DIR/<case>.expected.json: values, field
// ids, types (logical and converted), null counts, and that each row group's
// min/max statistics cover every value of that row group. Prints one
// "PASS name" / "FAIL name: why" line per check.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects, parquetMetadata } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

const [dir, ...cases] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const query = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
let failures = 0;
const pass = (n) => console.log(`PASS ${n}`);
const fail = (n, why) => { failures++; console.log(`FAIL ${n}: ${why}`); };
const check = (n, ok, why) => (ok ? pass(n) : fail(n, why));

const CONVERTED = { date: 'DATE', timestamptz: 'TIMESTAMP_MICROS', decimal: 'DECIMAL', string: 'UTF8' };
const LOGICAL = { date: /^DateType/, timestamptz: /^TimestampType\(isAdjustedToUTC=1.*MICROS=MicroSeconds/,
  decimal: /^DecimalType/, string: /^StringType/ };

// canonical text of a DuckDB column, as parquet_gen.mjs writes expected values
function duckExpr(c) {
  const q = `"${c.name}"`;
  switch (c.type) {
    case 'double': return q;
    case 'date': return `CAST(${q} - DATE '1970-01-01' AS VARCHAR)`;
    case 'timestamptz': return `CAST(epoch_us(${q}) AS VARCHAR)`;
    default: return `CAST(${q} AS VARCHAR)`;
  }
}

const unscaled = (text, scale) => {
  const [i, f = ''] = text.replace('-', '').split('.');
  const v = BigInt(i + f.padEnd(scale, '0'));
  return text.startsWith('-') ? -v : v;
};
const tsMicros = (s) => { // DuckDB's "YYYY-MM-DD HH:MM:SS[.ffffff]+00"
  const m = s.match(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?\+00$/);
  if (!m) throw new Error(`timestamp ${s}`);
  return BigInt(Date.parse(`${m[1]}T${m[2]}Z`)) * 1000n + BigInt((m[3] || '').padEnd(6, '0'));
};
// a comparable key of an expected value (kind of value the column holds)
function key(c, v) {
  switch (c.type) {
    case 'long': case 'int': case 'timestamptz': case 'date': return BigInt(v);
    case 'decimal': return unscaled(v, c.scale);
    case 'double': return v;
    case 'boolean': return v === 'true' ? 1 : 0;
    case 'string': return Buffer.from(v, 'utf8');
  }
}
// the same from a DuckDB statistics string
function statKey(c, s) {
  switch (c.type) {
    case 'long': case 'int': return BigInt(s);
    case 'timestamptz': return tsMicros(s);
    case 'date': return BigInt(Date.parse(s + 'T00:00:00Z') / 86400000);
    case 'decimal': return unscaled(s, c.scale);
    case 'double': return Number(s);
    case 'boolean': return s === 'true' ? 1 : 0;
    case 'string': return Buffer.from(s, 'utf8');
  }
}
const cmp = (a, b) => (Buffer.isBuffer(a) ? Buffer.compare(a, b) : a < b ? -1 : a > b ? 1 : 0);

for (const name of cases) {
  const file = `${dir}/${name}.parquet`;
  const exp = JSON.parse(readFileSync(`${dir}/${name}.expected.json`, 'utf8'));
  const cols = exp.columns;

  // values through DuckDB
  const rows = await query(`SELECT ${cols.map((c) => `${duckExpr(c)} AS "${c.name}"`).join(', ')}
                            FROM read_parquet('${file}', file_row_number = true) ORDER BY file_row_number`);
  check(`${name} duckdb row count`, rows.length === exp.rows.length, `${rows.length} vs ${exp.rows.length}`);
  let bad = null;
  rows.forEach((row, r) => cols.forEach((c, i) => {
    const got = row[c.name], want = exp.rows[r][i];
    const same = c.type === 'double' && want !== null ? got === want : got === want;
    if (!same && bad === null) bad = `row ${r} ${c.name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
  }));
  check(`${name} duckdb values`, bad === null, bad);

  // schema: field ids, repetition, converted and logical types
  const schema = await query(`SELECT name, field_id, repetition_type, converted_type, logical_type, scale, precision
                              FROM parquet_schema('${file}') WHERE name <> 'schema'`);
  bad = null;
  cols.forEach((c, i) => {
    const s = schema[i] || {};
    const want = { name: c.name, field_id: String(c.field_id), repetition_type: c.required ? 'REQUIRED' : 'OPTIONAL',
      converted_type: CONVERTED[c.type] || null };
    for (const k of Object.keys(want))
      if (s[k] !== want[k] && bad === null) bad = `${c.name}.${k}: got ${s[k]}, want ${want[k]}`;
    if (LOGICAL[c.type] && !LOGICAL[c.type].test(s.logical_type || '') && bad === null)
      bad = `${c.name}: logical type ${s.logical_type}`;
    if (c.type === 'decimal' && (s.scale !== String(c.scale) || s.precision !== String(c.precision)) && bad === null)
      bad = `${c.name}: decimal(${s.precision},${s.scale})`;
  });
  check(`${name} duckdb schema (field ids, types)`, bad === null, bad);

  // statistics: per row group, null counts exact, bounds cover every value
  const meta = await query(`SELECT row_group_id, row_group_num_rows, column_id, stats_null_count,
                                   stats_min_value, stats_max_value, compression
                            FROM parquet_metadata('${file}') ORDER BY row_group_id, column_id`);
  const groups = [...new Set(meta.map((m) => m.row_group_id))];
  if (exp.row_group_bytes) check(`${name} several row groups`, groups.length > 1, `${groups.length} row group(s)`);
  const codec = { zstd: 'ZSTD', snappy: 'SNAPPY', none: 'UNCOMPRESSED' }[exp.codec];
  check(`${name} codec ${codec}`, meta.every((m) => m.compression === codec), meta[0]?.compression);
  bad = null;
  let start = 0, bounded = 0;
  for (const g of groups) {
    const gm = meta.filter((m) => m.row_group_id === g);
    const n = Number(gm[0].row_group_num_rows);
    cols.forEach((c, i) => {
      const m = gm[i];
      const vals = exp.rows.slice(start, start + n).map((r) => r[i]);
      const nulls = vals.filter((v) => v === null).length;
      if (Number(m.stats_null_count) !== nulls && bad === null)
        bad = `group ${g} ${c.name}: null_count ${m.stats_null_count}, want ${nulls}`;
      const present = vals.filter((v) => v !== null);
      if (present.length === 0) {
        if ((m.stats_min_value !== null || m.stats_max_value !== null) && bad === null)
          bad = `group ${g} ${c.name}: bounds on an all-null chunk`;
        return;
      }
      const keys = present.map((v) => key(c, v));
      if (m.stats_min_value === null && bad === null) bad = `group ${g} ${c.name}: no min`;
      if (m.stats_min_value !== null) {
        const lo = statKey(c, m.stats_min_value);
        if (keys.some((k) => cmp(k, lo) < 0) && bad === null) bad = `group ${g} ${c.name}: min ${m.stats_min_value} above a value`;
      }
      if (m.stats_max_value !== null) {
        const hi = statKey(c, m.stats_max_value);
        if (keys.some((k) => cmp(k, hi) > 0) && bad === null) bad = `group ${g} ${c.name}: max ${m.stats_max_value} below a value`;
        bounded++;
      } else if (c.type !== 'string' && bad === null) {
        bad = `group ${g} ${c.name}: no max`;
      }
    });
    start += n;
  }
  check(`${name} statistics cover every value`, bad === null, bad);
  if (exp.rows.some((r) => r.some((v) => v !== null)))
    check(`${name} statistics present`, bounded > 0, 'no bounds at all');

  // a second implementation: hyparquet (values, field ids, null counts)
  const buf = readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const hrows = await parquetReadObjects({ file: ab, compressors,
    parsers: { timestampFromMicroseconds: (m) => m, dateFromDays: (d) => d } });
  bad = null;
  check(`${name} hyparquet row count`, hrows.length === exp.rows.length, `${hrows.length}`);
  hrows.forEach((row, r) => cols.forEach((c, i) => {
    const got = row[c.name], want = exp.rows[r][i];
    let ok;
    if (want === null) ok = got === null || got === undefined;
    else if (c.type === 'decimal') ok = Math.abs(got - Number(want)) <= 1e-12 * Math.max(1, Math.abs(Number(want)));
    else if (c.type === 'double') ok = got === want;
    else ok = String(got) === want;
    if (!ok && bad === null) bad = `row ${r} ${c.name}: got ${String(got)}, want ${JSON.stringify(want)}`;
  }));
  check(`${name} hyparquet values`, bad === null, bad);
  const hm = parquetMetadata(ab);
  const ids = hm.schema.slice(1).map((s) => s.field_id);
  check(`${name} hyparquet field ids`, JSON.stringify(ids) === JSON.stringify(cols.map((c) => c.field_id)),
    JSON.stringify(ids));
  const hnulls = cols.map((_, i) => hm.row_groups.reduce((a, g) => a + Number(g.columns[i].meta_data.statistics.null_count), 0));
  const wnulls = cols.map((_, i) => exp.rows.filter((r) => r[i] === null).length);
  check(`${name} hyparquet null counts`, JSON.stringify(hnulls) === JSON.stringify(wnulls), JSON.stringify(hnulls));
}
process.exit(failures ? 1 : 0);
