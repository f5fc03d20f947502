#!/usr/bin/env bash
# install.sh - `make install` / `make uninstall` into a DESTDIR: the tree
# holds the five programs (and no test tools), the units with ExecStart
# under PREFIX, the sysusers file, and a default config that loads back;
# every program answers --help; uninstall removes all of it. The binaries of
# the build under test are installed as they are (make -o: never rebuilt).
source "$(dirname "$0")/../lib.sh"

D="$T/root"
BINS="lakehouse lakehouse-broker lakehouse-ingest lakehouse-processor lakehouse-transformer"
mk() { make_prebuilt PREFIX=/usr DESTDIR="$D" "$@"; }

if mk install >"$T/install.log" 2>&1; then pass "make install"; else fail "make install" "$(tail -5 "$T/install.log")"; fi
for b in $BINS; do
    if [ -x "$D/usr/bin/$b" ]; then pass "installed $b"; else fail "installed $b" "missing"; fi
    rc=0; out=$("$D/usr/bin/$b" --help 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^usage: $b"; then pass "$b --help"; else fail "$b --help" "exit $rc: $(echo "$out" | head -2)"; fi
done
extra=$(ls "$D/usr/bin" | grep -Ev '^(lakehouse|lakehouse-broker|lakehouse-ingest|lakehouse-processor|lakehouse-transformer)$')
check_eq "no test tools installed" "" "$extra"
for u in lakehouse.target lakehouse-broker.service lakehouse-ingest.service lakehouse-processor.service lakehouse-transformer.service; do
    if [ -f "$D/usr/lib/systemd/system/$u" ]; then pass "unit $u"; else fail "unit $u" "missing"; fi
done
check_eq "ExecStart under PREFIX" "/usr/bin/lakehouse-processor" \
    "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$D/usr/lib/systemd/system/lakehouse-processor.service")"
check_eq "units read the installed config" 4 \
    "$(grep -l '^ExecStart=.* --config /etc/lakehouse/lakehouse.json' "$D"/usr/lib/systemd/system/*.service | wc -l)"
check_eq "no /usr/local left in units" "" "$(grep -l /usr/local "$D"/usr/lib/systemd/system/* 2>/dev/null)"
if [ -f "$D/usr/lib/sysusers.d/lakehouse.conf" ]; then pass "sysusers file"; else fail "sysusers file" "missing"; fi
CONF="$D/etc/lakehouse/lakehouse.json"
if [ -f "$CONF" ] && jq -e '.data_dir == "/var/lib/lakehouse" and .log_format == "text"' "$CONF" >/dev/null; then
    pass "default config"; else fail "default config" "$(head -3 "$CONF" 2>&1)"; fi
check_cmd "default config checks" "$D/usr/bin/lakehouse" config check "$CONF"
check_cmd "default config loads" "$D/usr/bin/lakehouse" --config "$CONF" --data "$T/data" config print

# a changed config survives a re-install
echo '{"log_level": "debug"}' >"$CONF"
mk install >/dev/null 2>&1
check_eq "install keeps a changed config" '{"log_level": "debug"}' "$(cat "$CONF")"
mk uninstall >"$T/uninstall.log" 2>&1
check_eq "uninstall keeps a changed config" '{"log_level": "debug"}' "$(cat "$CONF" 2>&1)"
rm -f "$CONF"

mk install >/dev/null 2>&1
if mk uninstall >"$T/uninstall.log" 2>&1; then pass "make uninstall"; else fail "make uninstall" "$(tail -5 "$T/uninstall.log")"; fi
left=$(find "$D" -type f | sed "s#^$D##")
check_eq "uninstall removes every file" "" "$left"
finish
