// readable_check.mjs TABLE_DIR - the table's current version (by its
// version hint) is whole: the metadata file, the current snapshot's
// manifest list, its manifests and every data file they list exist with
// the sizes the manifests give. One PASS/FAIL line.
import { fileSize } from './s3_fetch.mjs';
import { icebergMetadata, icebergManifests } from 'icebird';

const nativeFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => { // local paths answered from disk
  const u = String(url);
  if (!u.startsWith('/')) return nativeFetch(url, init);
  const { readFileSync } = await import('node:fs');
  try { return new Response(readFileSync(u), { status: 200 }); } catch { return new Response('', { status: 404 }); }
};
const [dir, name = 'readable'] = process.argv.slice(2);
try {
  const meta = await icebergMetadata({ tableUrl: dir });
  const entries = (await icebergManifests(meta)).flatMap((m) => m.entries);
  const sizes = await Promise.all(entries.map((e) => fileSize(e.data_file.file_path)));
  const bad = entries.filter((e, i) => sizes[i] !== Number(e.data_file.file_size_in_bytes));
  console.log(bad.length === 0 ? `PASS ${name}` : `FAIL ${name}: ${bad.map((e) => e.data_file.file_path).join(' ')}`);
} catch (e) {
  console.log(`FAIL ${name}: ${e.message}`);
}
