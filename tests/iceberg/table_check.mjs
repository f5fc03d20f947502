// table_check.mjs TABLE_DIR EXPECTED_JSON [LAKEHOUSE_SNAPSHOT_ID IDENTIFIER_IDS_JSON [SORT_KEY]]
// Reads a local Iceberg table with icebird (an Iceberg reader in JavaScript)
// and its data files with DuckDB, and compares both with the expected rows
// of parquet_gen.mjs (or, for EXPECTED_JSON ending in .rows.json, a plain
// JSON array of row objects). Also checks the metadata document: format
// version 2, ids positive and below 2^53, the lakehouse.snapshot-id summary
// key, refs.main, identifier-field-ids, and data file sizes in the manifests
// equal to the files' real sizes. icebird fetches everything by URL; local
// paths are answered from disk by the fetch below (HEAD and byte ranges, as
// an HTTP server would); a table on S3 (TABLE_DIR s3://...) is read from
// S3_ENDPOINT by s3_fetch.mjs.
import { fileSize, localCopy } from './s3_fetch.mjs';
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { icebergMetadata, icebergManifests, icebergRead } from 'icebird';

const nativeFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const u = String(url);
  if (!u.startsWith('/')) return nativeFetch(url, init);
  let data;
  try { data = readFileSync(u); } catch { return new Response('not found', { status: 404 }); }
  if ((init.method || 'GET') === 'HEAD')
    return new Response(null, { status: 200, headers: { 'content-length': String(data.length) } });
  const range = init.headers && (init.headers.Range || init.headers.range || (init.headers.get && init.headers.get('range')));
  if (range) {
    const [, a, b] = range.match(/bytes=(\d+)-(\d*)/);
    const end = b === '' ? data.length - 1 : Math.min(Number(b), data.length - 1);
    return new Response(data.subarray(Number(a), end + 1), { status: 206,
      headers: { 'content-length': String(end + 1 - Number(a)) } });
  }
  return new Response(data, { status: 200, headers: { 'content-length': String(data.length) } });
};

const [dir, expectedPath, lhSnapshot, identifierIds, sortKey] = process.argv.slice(2);
let failures = 0;
const check = (n, ok, why) => { if (ok) console.log(`PASS ${n}`); else { failures++; console.log(`FAIL ${n}: ${why}`); } };
const LIMIT = 2n ** 53n;

const meta = await icebergMetadata({ tableUrl: dir });
check('metadata format-version 2', meta['format-version'] === 2, meta['format-version']);
check('metadata location', meta.location === dir, meta.location);
const ids = [meta['current-snapshot-id'], ...meta.snapshots.flatMap((s) => [s['snapshot-id'], s['sequence-number']]),
  meta['last-sequence-number']];
check('ids positive and below 2^53', ids.every((v) => Number.isSafeInteger(v) && v > 0 && BigInt(v) < LIMIT), JSON.stringify(ids));
const current = meta.snapshots.find((s) => s['snapshot-id'] === meta['current-snapshot-id']);
check('refs main is the current snapshot', meta.refs?.main?.['snapshot-id'] === meta['current-snapshot-id'] && current,
  JSON.stringify(meta.refs));
if (lhSnapshot)
  check('summary lakehouse.snapshot-id', current?.summary?.['lakehouse.snapshot-id'] === lhSnapshot,
    JSON.stringify(current?.summary));
const schema = meta.schemas.find((s) => s['schema-id'] === meta['current-schema-id']);
if (identifierIds)
  check('identifier-field-ids', JSON.stringify(schema['identifier-field-ids']) === identifierIds,
    JSON.stringify(schema['identifier-field-ids']));
check('last-column-id', meta['last-column-id'] === Math.max(...schema.fields.map((f) => f.id)), meta['last-column-id']);

const manifests = await icebergManifests(meta);
const entries = manifests.flatMap((m) => m.entries);
const sizes = await Promise.all(entries.map((e) => fileSize(e.data_file.file_path)));
check('manifest file sizes are real sizes', entries.length > 0 && entries.every((e, i) =>
  Number(e.data_file.file_size_in_bytes) === sizes[i]),
  JSON.stringify(entries.map((e) => [e.data_file.file_path, Number(e.data_file.file_size_in_bytes)])));
const rows = await icebergRead({ tableUrl: dir, metadata: meta });

// expected rows as objects keyed by column name, in icebird's value forms
let expected;
let types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
if (expectedPath.endsWith('.rows.json')) {
  expected = JSON.parse(readFileSync(expectedPath, 'utf8'));
} else {
  const exp = JSON.parse(readFileSync(expectedPath, 'utf8'));
  expected = exp.rows.map((r) => Object.fromEntries(exp.columns.map((c, i) => [c.name, r[i]])));
}
// ISO 8601 text to ms (Date.parse takes at most 3 fraction digits; no zone = UTC)
const isoMs = (s) => Date.parse(s.replace(/(\.\d{3})\d+/, '$1').replace(/^(\d{4}-\d\d-\d\dT[\d:.]+)$/, '$1Z'));
function same(type, got, want) {
  if (want === null || want === undefined) return got === null || got === undefined;
  if (got === null || got === undefined) return false;
  // icebird gives milliseconds (truncated toward zero or floored): within 1 ms
  if (type === 'timestamptz') return Math.abs((got instanceof Date ? got.getTime() : Number(got)) -
    (/^-?\d+$/.test(String(want)) ? Number(want) / 1000 : isoMs(want))) <= 1;
  if (type === 'date') return (got instanceof Date ? got.getTime() / 86400000 : Number(got)) ===
    (/^-?\d+$/.test(String(want)) ? Number(want) : Date.parse(want + 'T00:00:00Z') / 86400000);
  if (type.startsWith('decimal')) return Math.abs(Number(got) - Number(want)) <= 1e-12 * Math.max(1, Math.abs(Number(want)));
  if (type === 'double') return Number(got) === Number(want);
  return String(got) === String(want);
}
// compare in key order (a query and a scan need not agree on row order): the
// numeric SORT_KEY, else the identifier fields' values as text
const idNames = (schema['identifier-field-ids'] || []).map((id) => schema.fields.find((f) => f.id === id)?.name);
const textKey = (r) => idNames.map((n) => String(r[n])).join('\u0000');
const order = sortKey ? (a, b) => Number(a[sortKey]) - Number(b[sortKey])
  : idNames.length ? (a, b) => (textKey(a) < textKey(b) ? -1 : textKey(a) > textKey(b) ? 1 : 0) : null;
if (order) {
  rows.sort(order);
  expected.sort(order);
}
check('icebird row count', rows.length === expected.length, `${rows.length} vs ${expected.length}`);
let bad = null;
rows.forEach((row, r) => {
  for (const [name, type] of Object.entries(types)) {
    if (bad === null && !same(type, row[name], expected[r]?.[name]))
      bad = `row ${r} ${name}: got ${String(row[name])}, want ${JSON.stringify(expected[r]?.[name])}`;
  }
});
check('icebird values', bad === null, bad);

// DuckDB over the data files the manifests list, minus the position deletes
// of the delete files (content 1), columns found by field id (renamed and
// dropped columns, files written before a column was added)
const dataEntries = entries.filter((e) => Number(e.data_file.content ?? 0) === 0);
const deleteEntries = entries.filter((e) => Number(e.data_file.content ?? 0) === 1);
check('no equality deletes', entries.every((e) => Number(e.data_file.content ?? 0) !== 2), 'content 2');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
// local copies of the files (tables on S3 are fetched); delete files name the
// data files by their location, so the anti-join maps each copy back to it
const located = async (es) => Promise.all(es.map(async (e) => [await localCopy(e.data_file.file_path), e.data_file.file_path]));
const dataFiles = await located(dataEntries), deleteFiles = await located(deleteEntries);
const list = (fs) => fs.map(([f]) => `'${f}'`).join(',');
const back = (fs) => fs.length ? `CASE d.filename ${fs.map(([f, u]) => `WHEN '${f}' THEN '${u}'`).join(' ')} END` : 'NULL';
const duckType = (t) => ({ long: 'BIGINT', int: 'INTEGER', double: 'DOUBLE', float: 'FLOAT', boolean: 'BOOLEAN',
  date: 'DATE', timestamptz: 'TIMESTAMPTZ', string: 'VARCHAR' }[t] || t.toUpperCase());
const byId = schema.fields.map((f) => `${f.id}: {name: '${f.name}', type: '${duckType(f.type)}', default_value: NULL}`).join(', ');
const shown = schema.fields.map((f) => f.type === 'timestamptz' ? `epoch_ms(d."${f.name}")::VARCHAR AS "${f.name}"`
  : f.type === 'date' ? `(d."${f.name}" - DATE '1970-01-01')::VARCHAR AS "${f.name}"`
  : f.type.startsWith('decimal') || f.type === 'long' ? `d."${f.name}"::VARCHAR AS "${f.name}"` : `d."${f.name}"`).join(', ');
let duckRows = [];
if (dataEntries.length) {
  const anti = deleteEntries.length ? `WHERE NOT EXISTS (SELECT 1 FROM read_parquet([${list(deleteFiles)}]) AS x
    WHERE x.file_path = ${back(dataFiles)} AND x.pos = d.file_row_number)` : '';
  duckRows = (await con.runAndReadAll(`SELECT ${shown} FROM read_parquet([${list(dataFiles)}],
    schema = MAP {${byId}}, filename = true, file_row_number = true) AS d ${anti}`)).getRowObjectsJson();
}
check('duckdb row count over the data files minus deletes', duckRows.length === expected.length, `${duckRows.length}`);
if (order) duckRows.sort(order);
bad = null;
duckRows.forEach((row, r) => {
  for (const [name, type] of Object.entries(types)) {
    const got = type === 'date' && row[name] != null ? Number(row[name]) : row[name];
    if (bad === null && !same(type, got, expected[r]?.[name]))
      bad = `row ${r} ${name}: got ${String(row[name])}, want ${JSON.stringify(expected[r]?.[name])}`;
  }
});
check('duckdb values', bad === null, bad);
const recs = dataEntries.reduce((a, e) => a + Number(e.data_file.record_count), 0) -
  deleteEntries.reduce((a, e) => a + Number(e.data_file.record_count), 0);
check('manifest record counts add up', recs === expected.length, `${recs}`);
process.exit(failures ? 1 : 0);
