#!/usr/bin/env bash
# The web console in a real browser: Debian's chromium, driven by
# puppeteer-core (pinned in tests/browser/package-lock.json, installed once
# into a cache directory), against the real process group with a token.
# Checks that what the pages show equals what the API answers, live updates,
# sign-in, errors, accessibility (axe-core) and the page's own hygiene (no
# console errors, failed requests or CSP violations); saves a screenshot of
# each page under the build directory. Also the serving contract with curl.
source "$(dirname "$0")/../lib.sh"

TOKEN=console-test-token-$RANDOM$RANDOM
export LAKEHOUSE_HTTP_TOKEN=$TOKEN
export LAKEHOUSE_QUERY_TIMEOUT_MS=1500
B="http://$LAKEHOUSE_LISTEN"
AUTH=(-H "Authorization: Bearer $TOKEN")

# ---- serving, with curl ----
start_group --demo || { fail "group" "did not start"; exit 1; }
wait_until 20 curl -sf "$B/" || { fail "http" "API did not answer"; exit 1; }
hdr=$(curl -s -D - -o /dev/null "$B/console/")
check_cmd "console page without a token" grep -q '^HTTP/1.1 200' <<<"$hdr"
check_cmd "CSP header: default-src 'self', no inline scripts" grep -qi "^content-security-policy: default-src 'self'; script-src 'self';" <<<"$hdr"
check_cmd "nosniff on the page" grep -qi '^x-content-type-options: nosniff' <<<"$hdr"
check_cmd "no-cache on the page" grep -qi '^cache-control: no-cache' <<<"$hdr"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' <<<"$hdr")
check_eq "ETag revalidation answers 304" 304 "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$B/console/")"
check_eq "gzip when accepted" gzip "$(curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$B/console/vendor/d3.min.js" | sed -n 's/^[Cc]ontent-[Ee]ncoding: *\(.*\)\r$/\1/p')"
gz=$(curl -s -H 'Accept-Encoding: gzip' "$B/console/js/app.js" | gunzip | sha256sum)
check_eq "gzip'd file = the file" "$(sha256sum <"$LAKEHOUSE_SOURCE/broker/console/js/app.js")" "$gz"
check_eq "favicon without a token" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/favicon.ico")"
check_eq "a browser at / is sent to the console" "302 /console/" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$B/" | sed "s#$B##")"
check_cmd "JSON clients at / keep the health answer" grep -q '"status":"ok"' <<<"$(curl -s "$B/")"
check_eq "unknown console file 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$B/console/nope.js")"
check_eq "the API still wants the token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B/endpoints")"
if grep -rqE 'innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function' "$LAKEHOUSE_SOURCE"/broker/console/js/; then
    fail "console code sets no HTML from strings and never evals" "$(grep -rnE 'innerHTML|outerHTML|insertAdjacentHTML|eval\(|new Function' "$LAKEHOUSE_SOURCE"/broker/console/js/ | head -3)"
else pass "console code sets no HTML from strings and never evals"; fi

# ---- data: flights (demo), an endpoint with expectations ----
FLIGHTS=${SAMPLE_DATA:-$SHARED_DATA}/flights-20k.json
lakehouse --data "$LAKEHOUSE_DATA" send demo/flights "$FLIGHTS" >/dev/null || fail "send flights" "lakehouse send failed"
curl -sf -X POST "$B/endpoints" "${AUTH[@]}" -H 'Content-Type: application/json' -d '{
  "domain": "demo", "name": "checks", "mode": "MANUAL",
  "columns": [{"name": "id", "type": "integer", "primary_key": true}, {"name": "v", "type": "integer"}],
  "expectations": [{"name": "v_small", "rule": "v < 100", "action": "drop"},
                   {"name": "v_even", "rule": "v % 2 = 0", "action": "warn"}]}' >/dev/null \
    || fail "checks endpoint" "could not create it"
silver_rows() { curl -s "${AUTH[@]}" "$B/consumption/query?sql=SELECT+count(*)+AS+n+FROM+demo.silver.flights" | jq -r '.data[0].n'; }
gold_tables() { curl -s "${AUTH[@]}" "$B/consumption/tables" | jq -r '[.[] | select(.layer == "gold")] | length'; }
checks_snapshots() { curl -s "${AUTH[@]}" "$B/tables/demo/silver/checks/history" | jq -r '.history | length'; }
# Two snapshots of demo/checks, so that Quality has more than one row.
for i in 1 2; do
    seq 1 40 | awk -v b=$i '{ printf "{\"id\": %d, \"v\": %d}\n", $1 + b * 100, ($1 * 7 + b) % 150 }' >"$T/checks$i.ndjson"
    lakehouse --data "$LAKEHOUSE_DATA" send demo/checks "$T/checks$i.ndjson" >/dev/null
    wait_eq 60 "$i" checks_snapshots || fail "checks" "snapshot $i of demo/checks did not come ($WAIT_LAST)"
done
wait_eq 90 20000 silver_rows || fail "silver" "flights did not reach silver ($WAIT_LAST rows)"
wait_eq 60 1 gold_tables || fail "gold" "the demo gold table did not appear"
jq -c '.[:200][]' "$FLIGHTS" >"$T/more.ndjson"

# ---- the browser ----
CACHE=${LAKEHOUSE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lakehouse-test-data}/browser-$(sha256sum "$LAKEHOUSE_SOURCE/tests/browser/package-lock.json" | cut -c1-12)
if [ ! -d "$CACHE/node_modules/puppeteer-core" ]; then
    mkdir -p "$CACHE"
    cp "$LAKEHOUSE_SOURCE/tests/browser/package.json" "$LAKEHOUSE_SOURCE/tests/browser/package-lock.json" "$CACHE/"
    (cd "$CACHE" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null 2>&1) \
        || { fail "npm" "could not install tests/browser/package-lock.json"; exit 1; }
fi
[ -x /usr/bin/chromium ] || { fail "chromium" "Debian's chromium is not installed (make deps)"; exit 1; }
SHOTS=${LAKEHOUSE_BIN%/bin}/screenshots
mkdir -p "$SHOTS"
cp "$LAKEHOUSE_SOURCE/tests/browser/console.test.mjs" "$CACHE/"
BASE=$B TOKEN=$TOKEN LAKEHOUSE="$LAKEHOUSE_BIN/lakehouse" DATA=$LAKEHOUSE_DATA SEND_FILE="$T/more.ndjson" SHOTS=$SHOTS \
    node "$CACHE/console.test.mjs" || true
finish
