#!/usr/bin/env bash
# Refresh the console's vendored front-end libraries from the npm registry
# (`make console-vendor`): install the versions pinned in vendor/package.json
# (vendor/package-lock.json keeps name, version and integrity), copy their
# minified files and licences into vendor/, bundle CodeMirror with esbuild and
# write vendor/VENDOR.lock (package, version, integrity, file, sha256).
# The normal build never runs this: it embeds what vendor/ holds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
v=$here/vendor
work=$(mktemp -d /tmp/lakehouse-vendor.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$v/package.json" "$work/"
[ -f "$v/package-lock.json" ] && cp "$v/package-lock.json" "$work/"
(cd "$work" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >&2
cp "$work/package-lock.json" "$v/package-lock.json"
m=$work/node_modules
cp "$m/@dagrejs/dagre/dist/dagre.min.js" "$v/dagre.min.js"
cp "$m/uplot/dist/uPlot.iife.min.js" "$v/uplot.min.js"
cp "$m/uplot/dist/uPlot.min.css" "$v/uplot.min.css"
cp "$m/d3/dist/d3.min.js" "$v/d3.min.js"
cp "$m/@observablehq/plot/dist/plot.umd.min.js" "$v/plot.min.js"
cp "$v/codemirror-entry.js" "$work/cm-entry.js"
"$m/.bin/esbuild" "$work/cm-entry.js" --bundle --minify --format=iife --global-name=CM \
    --legal-comments=none --log-level=warning --outfile="$v/codemirror.min.js"
mkdir -p "$v/licenses"
rm -f "$v/licenses/"*
for p in @dagrejs/dagre uplot d3 @observablehq/plot codemirror @codemirror/lang-sql \
         @codemirror/view @codemirror/state @codemirror/language @codemirror/commands \
         @codemirror/autocomplete @codemirror/search @codemirror/lint @lezer/common \
         @lezer/highlight @lezer/lr style-mod w3c-keyname crelt internmap delaunator robust-predicates isoformat interval-tree-1d binary-search-bounds; do
    [ -d "$m/$p" ] || continue
    lic=$(ls "$m/$p" | grep -iE '^(licen[cs]e|copying)' | head -1) || true
    [ -n "$lic" ] && cp "$m/$p/$lic" "$v/licenses/$(echo "$p" | tr '/@' '__' | sed 's/^_//').LICENSE"
done
node -e '
const lock = require(process.argv[1]);
const files = {"@dagrejs/dagre":["dagre.min.js"], "uplot":["uplot.min.js","uplot.min.css"],
  "d3":["d3.min.js"], "@observablehq/plot":["plot.min.js"], "codemirror":["codemirror.min.js"]};
const crypto = require("crypto"), fs = require("fs"), path = require("path");
let out = "# name\tversion\tintegrity\tfile\tsha256\n";
for (const [name, fl] of Object.entries(files)) {
  const p = lock.packages["node_modules/" + name];
  for (const f of fl) {
    const sum = crypto.createHash("sha256").update(fs.readFileSync(path.join(process.argv[2], f))).digest("hex");
    out += [name, p.version, p.integrity, f, sum].join("\t") + "\n";
  }
}
fs.writeFileSync(path.join(process.argv[2], "VENDOR.lock"), out);
' "$v/package-lock.json" "$v"
echo "vendored into $v:" >&2
cat "$v/VENDOR.lock" >&2
