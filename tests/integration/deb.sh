#!/usr/bin/env bash
# deb.sh - `make deb`: the package is named lakehouse_<version>_<arch>.deb,
# lintian finds no error in it, it holds the five programs (no test tools),
# the units with the packaged paths, the sysusers file, the default
# configuration as its one conffile and a man page per program, and depends
# on the package of every shared library the programs need. Its postinst,
# run on a scratch root (DPKG_ROOT), creates the lakehouse user, the state
# directory and a private token, and keeps the token on a second run; purge
# removes the token and keeps the data. The programs of the build under test
# are packaged as they are (make -o: never rebuilt).
source "$(dirname "$0")/../lib.sh"

BINS="lakehouse lakehouse-broker lakehouse-ingest lakehouse-processor lakehouse-transformer"
UNITS="lakehouse.target lakehouse-broker.service lakehouse-ingest.service lakehouse-processor.service lakehouse-transformer.service"

OUT="$T/deb"
if make_prebuilt DEB_OUT="$OUT" deb >"$T/deb.log" 2>&1; then
    pass "make deb"; else fail "make deb" "$(tail -5 "$T/deb.log")"; exit 1; fi
version=$(sed -n '1s/^lakehouse (\([^)]*\)).*/\1/p' "$LAKEHOUSE_SOURCE/deploy/debian/changelog")
DEB="$OUT/lakehouse_${version}_$(dpkg --print-architecture).deb"
if [ -n "$version" ] && [ -f "$DEB" ]; then pass "package named lakehouse_${version}_<arch>.deb"
else fail "package named lakehouse_<version>_<arch>.deb" "$(ls "$OUT")"; exit 1; fi

# lintian: no error (warnings are listed in the check's name, not failed)
if command -v lintian >/dev/null; then
    lintian --no-tag-display-limit "$DEB" >"$T/lintian.out" 2>&1
    errors=$(grep '^E:' "$T/lintian.out")
    warnings=$(grep -c '^W:' "$T/lintian.out")
    check_eq "lintian reports no error ($warnings warnings)" "" "$errors"
else
    fail "lintian reports no error" "lintian is not installed (make deps)"
fi

field() { dpkg-deb -f "$DEB" "$1"; }
check_eq "Package field" lakehouse "$(field Package)"
check_eq "Version field" "$version" "$(field Version)"
deps=$(field Depends)
# every shared library the programs need comes from a package in Depends
missing=""
for b in $BINS; do
    for so in $(objdump -p "$LAKEHOUSE_BIN/$b" | awk '$1 == "NEEDED" { print $2 }'); do
        path=$(ldd "$LAKEHOUSE_BIN/$b" | awk -v so="$so" '$1 == so { print $3 }')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
        case ", $deps," in *", $pkg "*|*", $pkg,"*) ;; *) missing="$missing $so($pkg)";; esac
    done
done
check_eq "Depends names the package of every linked library" "" "$missing"
case ", $deps," in *", systemd,"*) pass "Depends on systemd (units, sysusers)";; *) fail "Depends on systemd" "$deps";; esac
check_eq "one conffile: the configuration" "/etc/lakehouse/lakehouse.json" \
    "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)"

dpkg-deb -c "$DEB" >"$T/contents"
owner() { awk -v p="./$1" '$6 == p { print $1, $2 }' "$T/contents"; }
for b in $BINS; do
    check_eq "usr/bin/$b (root, 0755)" "-rwxr-xr-x root/root" "$(owner "usr/bin/$b")"
    check_eq "man page of $b" "-rw-r--r-- root/root" "$(owner "usr/share/man/man1/$b.1.gz")"
done
check_eq "nothing else in usr/bin" "" \
    "$(awk '$6 ~ /^\.\/usr\/bin\/./ { print $6 }' "$T/contents" | sed 's#^\./usr/bin/##' | grep -vxF -e lakehouse -e lakehouse-broker -e lakehouse-ingest -e lakehouse-processor -e lakehouse-transformer)"
for u in $UNITS; do
    check_eq "unit $u" "-rw-r--r-- root/root" "$(owner "lib/systemd/system/$u")"
done
check_eq "sysusers file" "-rw-r--r-- root/root" "$(owner usr/lib/sysusers.d/lakehouse.conf)"
check_eq "copyright file" "-rw-r--r-- root/root" "$(owner usr/share/doc/lakehouse/copyright)"

# the files themselves, unpacked into a scratch root
R="$T/root"
dpkg-deb -x "$DEB" "$R" && dpkg-deb -e "$DEB" "$R/DEBIAN"
check_eq "units start the packaged programs with the packaged config" 4 \
    "$(grep -l '^ExecStart=/usr/bin/lakehouse-[a-z]* .*--data /var/lib/lakehouse --config /etc/lakehouse/lakehouse.json' "$R"/lib/systemd/system/*.service | wc -l)"
check_eq "no /usr/local left in units" "" "$(grep -l /usr/local "$R"/lib/systemd/system/* 2>/dev/null)"
CONF="$R/etc/lakehouse/lakehouse.json"
check_cmd "packaged config checks" "$LAKEHOUSE_BIN/lakehouse" config check "$CONF"
check_eq "packaged config: data_dir" /var/lib/lakehouse "$(jq -r .data_dir "$CONF")"
if env -i "$LAKEHOUSE_BIN/lakehouse" config print --defaults | jq -e 'has("http_token_file")' >/dev/null; then
    check_eq "packaged config names the generated token" /etc/lakehouse/http_token "$(jq -r .http_token_file "$CONF")"
fi
# man page text without roff escapes (\- is '-', \fB..\fR are fonts)
man_text() { zcat "$R/usr/share/man/man1/$1.1.gz" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g'; }
for b in $BINS; do
    th=$(man_text "$b" | sed -n 's/^\.TH \([^ ]*\) .*/\1/p')
    name=$(man_text "$b" | sed -n '/^\.SH NAME/{n;p;q}')
    if [ "$th" = "$(echo "$b" | tr a-z A-Z)" ] && [ "${name%% - *}" = "$b" ]; then
        pass "man page $b names its program"; else fail "man page $b names its program" ".TH $th / $name"; fi
    if man_text "$b" | grep -q -- '--data'; then
        pass "man page $b has the options of --help"; else fail "man page $b has the options of --help" "no --data in it"; fi
done

# maintainer scripts on the scratch root (the root's own user database)
for s in postinst prerm postrm; do check_cmd "$s is valid sh" sh -n "$R/DEBIAN/$s"; done
if [ "$(id -u)" -ne 0 ]; then
    fail "postinst on a scratch root" "needs root (chown to the lakehouse user)"
    finish; exit
fi
if DPKG_ROOT="$R" sh "$R/DEBIAN/postinst" configure >"$T/postinst.log" 2>&1; then
    pass "postinst configure"; else fail "postinst configure" "$(tail -3 "$T/postinst.log")"; fi
ids=$(awk -F: '$1 == "lakehouse" { print $3 ":" $4 }' "$R/etc/passwd" 2>/dev/null)
check_eq "postinst created the system user lakehouse" "lakehouse:/var/lib/lakehouse" \
    "$(awk -F: '$1 == "lakehouse" { print $1 ":" $6 }' "$R/etc/passwd" 2>/dev/null)"
check_eq "state directory owned by lakehouse, 0770" "$ids 770" "$(stat -c '%u:%g %a' "$R/var/lib/lakehouse" 2>&1)"
TOKEN="$R/etc/lakehouse/http_token"
check_eq "token readable by root and the lakehouse group only" "0:${ids#*:} 640" "$(stat -c '%u:%g %a' "$TOKEN" 2>&1)"
token=$(cat "$TOKEN" 2>/dev/null)
if [[ "$token" =~ ^[0-9a-f]{64}$ ]]; then pass "token is 32 random bytes in hex"; else fail "token is 32 random bytes in hex" "'$token'"; fi
echo keep >"$R/var/lib/lakehouse/table"
DPKG_ROOT="$R" sh "$R/DEBIAN/postinst" configure "$version" >"$T/postinst2.log" 2>&1
check_eq "an upgrade keeps the token" "$token" "$(cat "$TOKEN" 2>/dev/null)"
check_eq "an upgrade keeps one lakehouse user" 1 "$(grep -c '^lakehouse:' "$R/etc/passwd")"
R2="$T/root2"; mkdir -p "$R2"
cp -a "$R/." "$R2/" && rm -f "$R2/etc/lakehouse/http_token" "$R2/etc/passwd" "$R2/etc/group" "$R2/etc/shadow" "$R2/etc/gshadow"
DPKG_ROOT="$R2" sh "$R2/DEBIAN/postinst" configure >/dev/null 2>&1
if [ "$(cat "$R2/etc/lakehouse/http_token" 2>/dev/null)" != "$token" ]; then pass "each install draws its own token"
else fail "each install draws its own token" "same token twice"; fi
DPKG_ROOT="$R" sh "$R/DEBIAN/postrm" purge >"$T/postrm.log" 2>&1
if [ ! -e "$TOKEN" ]; then pass "purge removes the token"; else fail "purge removes the token" "still there"; fi
check_eq "purge keeps the data" keep "$(cat "$R/var/lib/lakehouse/table" 2>&1)"
finish
