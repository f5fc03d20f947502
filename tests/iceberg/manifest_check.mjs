// manifest_check.mjs MANIFEST SPEC LIST LIST_SPEC - reads an Iceberg manifest
// and manifest list written by lakehouse-iceberg-tool with avsc and compares
// them with the specs they were written from: header metadata keys, every
// field id of the spec's schemas, entry counts and values, explicit sequence
// numbers on EXISTING/DELETED entries, real file sizes, metrics equal to the
// Parquet writer's, and bounds (decoded from the spec's binary form) that
// cover every value of the data file (entry.expected: parquet_gen's file).
import { readFileSync, statSync } from 'node:fs';
import avro from 'avsc';

const [manifest, specPath, list, listSpecPath] = process.argv.slice(2);
let failures = 0;
const check = (n, ok, why) => { if (ok) console.log(`PASS ${n}`); else { failures++; console.log(`FAIL ${n}: ${why}`); } };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function decode(path) {
  return new Promise((resolve, reject) => {
    const records = [];
    let header;
    avro.createFileDecoder(path, { wrapUnions: false })
      .on('metadata', (type, codec, h) => { header = h; })
      .on('data', (r) => records.push(r))
      .on('end', () => resolve({ header, records }))
      .on('error', reject);
  });
}
const meta = (h, k) => (h.meta[k] === undefined ? undefined : h.meta[k].toString('utf8'));

// every "field-id" / "element-id" in an Avro schema, by dotted name
function ids(schema, prefix = '', out = {}) {
  if (Array.isArray(schema)) { schema.forEach((s) => ids(s, prefix, out)); return out; }
  if (typeof schema !== 'object' || schema === null) return out;
  if (schema.type === 'record') for (const f of schema.fields) {
    out[prefix + f.name] = f['field-id'];
    ids(f.type, prefix + f.name + '.', out);
  }
  if (schema.type === 'array') {
    if (schema['element-id'] !== undefined) out[prefix + 'element'] = schema['element-id'];
    ids(schema.items, prefix, out);
  }
  return out;
}

const ENTRY_IDS = { status: 0, snapshot_id: 1, sequence_number: 3, file_sequence_number: 4, data_file: 2,
  'data_file.content': 134, 'data_file.file_path': 100, 'data_file.file_format': 101, 'data_file.partition': 102,
  'data_file.record_count': 103, 'data_file.file_size_in_bytes': 104,
  'data_file.column_sizes': 108, 'data_file.column_sizes.key': 117, 'data_file.column_sizes.value': 118,
  'data_file.value_counts': 109, 'data_file.value_counts.key': 119, 'data_file.value_counts.value': 120,
  'data_file.null_value_counts': 110, 'data_file.null_value_counts.key': 121, 'data_file.null_value_counts.value': 122,
  'data_file.nan_value_counts': 137, 'data_file.nan_value_counts.key': 138, 'data_file.nan_value_counts.value': 139,
  'data_file.lower_bounds': 125, 'data_file.lower_bounds.key': 126, 'data_file.lower_bounds.value': 127,
  'data_file.upper_bounds': 128, 'data_file.upper_bounds.key': 129, 'data_file.upper_bounds.value': 130,
  'data_file.key_metadata': 131, 'data_file.split_offsets': 132, 'data_file.split_offsets.element': 133,
  'data_file.equality_ids': 135, 'data_file.equality_ids.element': 136, 'data_file.sort_order_id': 140 };
const LIST_IDS = { manifest_path: 500, manifest_length: 501, partition_spec_id: 502, content: 517,
  sequence_number: 515, min_sequence_number: 516, added_snapshot_id: 503, added_files_count: 504,
  existing_files_count: 505, deleted_files_count: 506, added_rows_count: 512, existing_rows_count: 513,
  deleted_rows_count: 514, partitions: 507, 'partitions.element': 508, 'partitions.contains_null': 509,
  'partitions.contains_nan': 518, 'partitions.lower_bound': 510, 'partitions.upper_bound': 511, key_metadata: 519 };
const idsMatch = (got, want) => Object.entries(want).filter(([k, v]) => got[k] !== v).map(([k, v]) => `${k}: ${got[k]} != ${v}`);

// single-value binary form -> comparable key, by Iceberg type
function boundKey(type, buf) {
  if (type === 'long' || type === 'timestamptz') return buf.readBigInt64LE(0);
  if (type === 'int' || type === 'date') return BigInt(buf.readInt32LE(0));
  if (type === 'double') return buf.readDoubleLE(0);
  if (type === 'boolean') return buf[0];
  if (type === 'string') return buf;
  if (type.startsWith('decimal')) { let v = 0n; for (const b of buf) v = v * 256n + BigInt(b); return buf[0] & 0x80 ? v - (1n << BigInt(8 * buf.length)) : v; }
  throw new Error(type);
}
function valueKey(type, v) { // parquet_gen.mjs canonical values
  if (type === 'double') return v;
  if (type === 'boolean') return v === 'true' ? 1 : 0;
  if (type === 'string') return Buffer.from(v, 'utf8');
  if (type.startsWith('decimal')) {
    const scale = Number(type.match(/,\s*(\d+)\)/)[1]);
    const [i, f = ''] = v.replace('-', '').split('.');
    const u = BigInt(i + f.padEnd(scale, '0'));
    return v.startsWith('-') ? -u : u;
  }
  return BigInt(v);
}
const cmp = (a, b) => (Buffer.isBuffer(a) ? Buffer.compare(a, b) : a < b ? -1 : a > b ? 1 : 0);
const mapOf = (arr) => Object.fromEntries((arr || []).map((kv) => [kv.key, kv.value]));

const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const { header, records } = await decode(manifest);
check('manifest metadata keys', same(['schema', 'schema-id', 'partition-spec', 'partition-spec-id', 'format-version', 'content']
  .map((k) => meta(header, k) !== undefined), [true, true, true, true, true, true]), Object.keys(header.meta).join(','));
check('manifest format-version 2', meta(header, 'format-version') === '2', meta(header, 'format-version'));
check('manifest content', meta(header, 'content') === (spec.content || 'data'), meta(header, 'content'));
check('manifest schema-id', meta(header, 'schema-id') === String(spec.schema_id), meta(header, 'schema-id'));
check('manifest table schema', same(JSON.parse(meta(header, 'schema')), spec.schema), meta(header, 'schema'));
check('manifest partition-spec', same(JSON.parse(meta(header, 'partition-spec')), []) && meta(header, 'partition-spec-id') === '0',
  meta(header, 'partition-spec'));
const bad = idsMatch(ids(JSON.parse(meta(header, 'avro.schema'))), ENTRY_IDS);
check('manifest field ids', bad.length === 0, bad.join('; '));
check('manifest entry count', records.length === spec.entries.length, `${records.length}`);

const types = Object.fromEntries(spec.schema.fields.map((f) => [f.id, f.type]));
records.forEach((r, i) => {
  const e = spec.entries[i], f = e.file, d = r.data_file;
  const n = `manifest entry ${i}`;
  check(`${n} status and snapshot`, r.status === e.status && Number(r.snapshot_id) === e.snapshot_id, `${r.status} ${r.snapshot_id}`);
  const seq = [r.sequence_number, r.file_sequence_number];
  if (e.status === 1 && e.sequence_number === null) check(`${n} sequence numbers inherited (null)`, same(seq, [null, null]), same(seq));
  else check(`${n} sequence numbers explicit`, same(seq.map(Number), [e.sequence_number, e.file_sequence_number]), JSON.stringify(seq));
  check(`${n} path, format, content`, d.file_path === f.path && d.file_format === 'PARQUET' &&
    d.content === (spec.content === 'deletes' ? 1 : 0), `${d.file_path} ${d.file_format} ${d.content}`);
  check(`${n} file_size_in_bytes is the real size`, Number(d.file_size_in_bytes) === statSync(f.path).size,
    `${d.file_size_in_bytes} vs ${statSync(f.path).size}`);
  check(`${n} record_count`, Number(d.record_count) === f.record_count, `${d.record_count}`);
  const vc = mapOf(d.value_counts), nc = mapOf(d.null_value_counts), cs = mapOf(d.column_sizes);
  check(`${n} value and null counts`, f.metrics.every((m) => Number(vc[m.field_id]) === m.value_count &&
    Number(nc[m.field_id]) === m.null_count && Number(cs[m.field_id]) === m.column_size), JSON.stringify([vc, nc]));
  if (!e.expected) return;
  const exp = JSON.parse(readFileSync(e.expected, 'utf8'));
  const lo = mapOf(d.lower_bounds), hi = mapOf(d.upper_bounds);
  let why = null, bounded = 0, present = 0;
  exp.columns.forEach((c, k) => {
    const type = types[c.field_id];
    const vals = exp.rows.map((row) => row[k]).filter((v) => v !== null).map((v) => valueKey(type, v));
    present += vals.length;
    if (vals.length === 0) { if ((lo[c.field_id] || hi[c.field_id]) && !why) why = `${c.name}: bounds without values`; return; }
    if (!lo[c.field_id] && !why) why = `${c.name}: no lower bound`;
    if (lo[c.field_id]) { bounded++; const b = boundKey(type, lo[c.field_id]); if (vals.some((v) => cmp(v, b) < 0) && !why) why = `${c.name}: lower bound above a value`; }
    if (hi[c.field_id]) { const b = boundKey(type, hi[c.field_id]); if (vals.some((v) => cmp(v, b) > 0) && !why) why = `${c.name}: upper bound below a value`; }
    else if (type !== 'string' && !why) why = `${c.name}: no upper bound`;
    if (type === 'string' && lo[c.field_id] && lo[c.field_id].toString('utf8').length > 16 && !why) why = `${c.name}: lower bound not truncated`;
  });
  check(`${n} bounds cover every value`, why === null && (bounded > 0 || present === 0), why || 'no bounds');
});

const listSpec = JSON.parse(readFileSync(listSpecPath, 'utf8'));
const L = await decode(list);
check('list metadata', meta(L.header, 'snapshot-id') === String(listSpec.snapshot_id) &&
  meta(L.header, 'sequence-number') === String(listSpec.sequence_number) && meta(L.header, 'format-version') === '2',
  JSON.stringify(Object.keys(L.header.meta)));
const lbad = idsMatch(ids(JSON.parse(meta(L.header, 'avro.schema'))), LIST_IDS);
check('list field ids', lbad.length === 0, lbad.join('; '));
check('list entry count', L.records.length === listSpec.manifests.length, `${L.records.length}`);
L.records.forEach((r, i) => {
  const m = listSpec.manifests[i];
  check(`list entry ${i} manifest_length is the real size`, Number(r.manifest_length) === statSync(m.path).size,
    `${r.manifest_length} vs ${statSync(m.path).size}`);
  const want = [m.path, m.content === 'deletes' ? 1 : 0, m.sequence_number, m.min_sequence_number, m.added_snapshot_id,
    m.added_files, m.existing_files, m.deleted_files, m.added_rows, m.existing_rows, m.deleted_rows, 0];
  const got = [r.manifest_path, r.content, r.sequence_number, r.min_sequence_number, r.added_snapshot_id,
    r.added_files_count, r.existing_files_count, r.deleted_files_count, r.added_rows_count, r.existing_rows_count,
    r.deleted_rows_count, r.partition_spec_id].map((v) => (typeof v === 'string' ? v : Number(v)));
  check(`list entry ${i} values`, same(got, want), JSON.stringify(got));
});
process.exit(failures ? 1 : 0);
