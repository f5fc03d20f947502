// parquet_gen.mjs DIR - writes Parquet test cases for lakehouse-iceberg-tool:
// DIR/<case>.spec.json, DIR/<case>.rows.ndjson (tool input) and
// DIR/<case>.expected.json (the same values in a canonical text form that
// parquet_check.mjs compares readers' output with). Every project type,
// required / with nulls / all null, each codec; one case with many pages and
// row groups. Values come from a seeded generator and include the extremes.
import { writeFileSync } from 'node:fs';

const dir = process.argv[2];
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const digits = (n) => { let s = ''; for (let i = 0; i < n; i++) s += Math.floor(rnd() * 10); return s; };

const COLUMNS = [
  { name: 'c_long', type: 'long' },
  { name: 'c_int', type: 'int' },
  { name: 'c_double', type: 'double' },
  { name: 'c_bool', type: 'boolean' },
  { name: 'c_date', type: 'date' },
  { name: 'c_ts', type: 'timestamptz' },
  { name: 'c_dec9', type: 'decimal', precision: 9, scale: 3 },
  { name: 'c_dec18', type: 'decimal', precision: 18, scale: 0 },
  { name: 'c_dec38', type: 'decimal', precision: 38, scale: 10 },
  { name: 'c_str', type: 'string' },
];
COLUMNS.forEach((c, i) => { c.field_id = 7 * i + 3; });

const LONG_STR = 'x'.repeat(62) + 'é' + 'ü'.repeat(80); // a multibyte char across the stats cut
const STRINGS = ['', 'a', 'héllo wörld', '😀 emoji', 'tab\there "quoted"', 'zzz', '\u00ff', 'Zebra',
  LONG_STR, 'ÿ' + 'y'.repeat(70)];

function decimal(p, s, extreme) {
  const neg = rnd() < 0.5;
  let int = extreme ? '9'.repeat(p - s) : digits(Math.floor(rnd() * (p - s + 1)));
  int = int.replace(/^0+/, '') || '0';
  const frac = extreme ? '9'.repeat(s) : digits(s);
  const text = int + (s ? '.' + frac : '');
  const zero = /^[0.]*$/.test(text);
  return (neg && !zero ? '-' : '') + text;
}

function tsText(micros) {
  let secs = micros / 1000000n, frac = micros % 1000000n;
  if (frac < 0n) { frac += 1000000n; secs -= 1n; }
  const iso = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${iso}.${String(frac).padStart(6, '0')}Z`;
}
const dateText = (days) => new Date(days * 86400000).toISOString().slice(0, 10);

// [tool input as JSON text, canonical expected value]
function value(col, r) {
  const edge = r % 17 === 1 ? 'min' : r % 17 === 2 ? 'max' : null;
  switch (col.type) {
    case 'long': {
      const v = edge === 'min' ? -(2n ** 63n) : edge === 'max' ? 2n ** 63n - 1n
        : BigInt(Math.floor((rnd() - 0.5) * 2 ** 53)) * BigInt(1 + Math.floor(rnd() * 1000));
      return [v.toString(), v.toString()];
    }
    case 'int': {
      const v = edge === 'min' ? -(2 ** 31) : edge === 'max' ? 2 ** 31 - 1 : Math.floor((rnd() - 0.5) * 2 ** 20);
      return [String(v), String(v)];
    }
    case 'double': {
      if (r % 13 === 5) return ['-0.0', -0];
      const v = edge === 'min' ? -1e300 : edge === 'max' ? 1.7e308 : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12);
      return [JSON.stringify(v), v];
    }
    case 'boolean': { const v = rnd() < 0.5; return [String(v), String(v)]; }
    case 'date': {
      const d = edge === 'min' ? -25567 : edge === 'max' ? 60000 : Math.floor((rnd() - 0.3) * 40000);
      return [JSON.stringify(dateText(d)), String(d)];
    }
    case 'timestamptz': {
      const m = BigInt(Math.floor((rnd() - 0.3) * 2e9)) * 1000000n + BigInt(Math.floor(rnd() * 1e6));
      return [JSON.stringify(tsText(m)), m.toString()];
    }
    case 'decimal': {
      const d = decimal(col.precision, col.scale, edge !== null);
      return [JSON.stringify(d), d];
    }
    case 'string': { const s = pick(STRINGS); return [JSON.stringify(s), s]; }
  }
  throw new Error(col.type);
}

function writeCase(name, codec, variant, rows, extra = {}) {
  const columns = COLUMNS.map((c) => ({ ...c, required: variant === 'required' }));
  const lines = [], expected = [];
  for (let r = 0; r < rows; r++) {
    const text = [], exp = [];
    for (const c of columns) {
      const isNull = variant === 'allnull' || (variant === 'nulls' && (r === 0 || rnd() < 0.3));
      if (isNull) { text.push('null'); exp.push(null); continue; }
      const [t, e] = value(c, r);
      text.push(t); exp.push(e);
    }
    lines.push('[' + text.join(',') + ']');
    expected.push(exp);
  }
  writeFileSync(`${dir}/${name}.spec.json`, JSON.stringify({ codec, columns, ...extra }));
  writeFileSync(`${dir}/${name}.rows.ndjson`, lines.join('\n') + '\n');
  writeFileSync(`${dir}/${name}.expected.json`, JSON.stringify({ codec, columns, rows: expected, ...extra }));
}

for (const codec of ['zstd', 'snappy', 'none'])
  for (const variant of ['required', 'nulls', 'allnull'])
    writeCase(`${codec}-${variant}`, codec, variant, 300);
// many pages and row groups: small limits
writeCase('zstd-multi', 'zstd', 'nulls', 30000, { page_bytes: 4096, row_group_bytes: 200000 });
