// s3_fetch.mjs - imported by the checks before they read a table. With
// S3_ENDPOINT set, requests for s3://BUCKET/KEY (and for the
// https://BUCKET.s3.amazonaws.com/KEY icebird turns them into) go to
// S3_ENDPOINT/BUCKET/KEY (path style), signed by curl's own SigV4
// (--aws-sigv4) with LAKEHOUSE_S3_ACCESS_KEY_ID / LAKEHOUSE_S3_SECRET_ACCESS_KEY
// in S3_REGION: the tables are read over HTTP from the S3 server, with
// nothing of the project's S3 client. fileSize and localCopy serve the checks
// that look at data files (DuckDB reads local copies: its httpfs extension is
// downloaded from the internet, which tests cannot reach). Local paths pass
// through unchanged.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const endpoint = process.env.S3_ENDPOINT;
const tmp = endpoint ? mkdtempSync(join(tmpdir(), 'lh-s3-fetch.')) : null;
if (tmp) process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// The endpoint URL of an S3 location, or null for anything else.
function s3Url(u) {
  if (!endpoint) return null;
  const m = u.match(/^s3a?:\/\/([^/]+)\/(.*)$/) || u.match(/^https:\/\/([^./]+)\.s3\.amazonaws\.com\/(.*)$/);
  return m ? `${endpoint}/${m[1]}/${m[2]}` : null;
}

function s3Request(url, method, range) {
  const out = join(tmp, 'body');
  const args = ['-s', '-o', out, '-w', '%{http_code}', '--aws-sigv4',
    `aws:amz:${process.env.S3_REGION || 'us-east-1'}:s3`, '--user',
    `${process.env.LAKEHOUSE_S3_ACCESS_KEY_ID}:${process.env.LAKEHOUSE_S3_SECRET_ACCESS_KEY}`,
    // S3 wants the payload hash header, which curl does not add by itself
    '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD'];
  if (method === 'HEAD') args.push('-I');
  if (range) args.push('-H', `Range: ${range}`);
  args.push(url);
  const status = Number(execFileSync('curl', args).toString());
  let body;
  try { body = readFileSync(out); } catch { body = Buffer.alloc(0); }
  rmSync(out, { force: true });
  return { status, body };
}

if (endpoint) {
  const previous = globalThis.fetch;
  globalThis.fetch = async (url, init = {}) => {
    const target = s3Url(String(url));
    if (!target) return previous(url, init);
    const method = init.method || 'GET';
    const h = init.headers;
    const range = h && (h.Range || h.range || (h.get && h.get('range')));
    const r = s3Request(target, method, range);
    if (method === 'HEAD') {
      const len = /content-length:\s*(\d+)/i.exec(r.body.toString())?.[1] ?? '0';
      return new Response(null, { status: r.status, headers: { 'content-length': len } });
    }
    return new Response(r.body, { status: r.status, headers: { 'content-length': String(r.body.length) } });
  };
}

// The size of a data file (undefined when there is none).
export async function fileSize(path) {
  if (!s3Url(path)) return statSync(path, { throwIfNoEntry: false })?.size;
  const r = await fetch(path, { method: 'HEAD' });
  return r.ok ? Number(r.headers.get('content-length')) : undefined;
}

let copies = 0;
// A local file with the bytes of path (path itself when it is local).
export async function localCopy(path) {
  if (!s3Url(path)) return path;
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  const f = join(tmp, `copy-${copies++}.parquet`);
  writeFileSync(f, Buffer.from(await r.arrayBuffer()));
  return f;
}
