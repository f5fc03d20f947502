#!/bin/sh
# build.sh BUILD_DIR CONFIG [OUT_DIR] - `make deb`: stage the package tree
# from the programs in BUILD_DIR/bin and the default configuration CONFIG,
# and build OUT_DIR/lakehouse_<version>_<arch>.deb (default OUT_DIR: BUILD_DIR)
# with dpkg-deb (no debhelper: the tree is small and fixed). The version is
# the first entry of changelog; prints the package's path.
set -eu

build=$(cd "$1" && pwd)
config=$2
out=$(cd "${3:-$1}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bins="lakehouse lakehouse-broker lakehouse-ingest lakehouse-processor lakehouse-transformer"
units="lakehouse.target lakehouse-broker.service lakehouse-ingest.service
       lakehouse-processor.service lakehouse-transformer.service"

version=$(sed -n '1s/^lakehouse (\([^)]*\)).*/\1/p' "$here/changelog")
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "build.sh: no version in $here/changelog" >&2; exit 1; }

work=$out/deb
root=$work/root
rm -rf "$work"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
    "$root/etc/lakehouse" "$root/usr/share/man/man1" "$root/usr/share/doc/lakehouse"

for b in $bins; do
    install -m 0755 "$build/bin/$b" "$root/usr/bin/$b"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/$b"
done
# the units of deploy/systemd/, with the packaged program paths
for u in $units; do
    sed -e 's#/usr/local/bin/#/usr/bin/#g' -e 's#`make install` writes the defaults#the package installs the defaults#' \
        -e "/^Description=/a Documentation=man:${u%.*}(1)" \
        "$src/deploy/systemd/$u" >"$root/lib/systemd/system/$u"
    chmod 0644 "$root/lib/systemd/system/$u"
done
install -m 0644 "$src/deploy/systemd/lakehouse.sysusers.conf" "$root/usr/lib/sysusers.d/lakehouse.conf"
install -m 0644 "$config" "$root/etc/lakehouse/lakehouse.json"

# man pages from --help (help2man), in a clean environment so that no
# LAKEHOUSE_* variable of the build shows up as a default
for b in $bins; do
    case $b in
        lakehouse) what="the lakehouse command: send, query, jobs, history, status";;
        lakehouse-broker) what="lakehouse event bus, HTTP API and supervisor";;
        lakehouse-ingest) what="lakehouse producer protocol, validation, spool and bronze";;
        lakehouse-processor) what="lakehouse merge of bronze files into silver tables";;
        lakehouse-transformer) what="lakehouse transform jobs building gold tables";;
    esac
    env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 help2man --no-info --no-discard-stderr \
        --version-string="$version" --name="$what" --output="$work/$b.1" "$build/bin/$b"
    gzip -9n <"$work/$b.1" >"$root/usr/share/man/man1/$b.1.gz"
done

install -m 0644 "$here/copyright" "$root/usr/share/doc/lakehouse/copyright"
mkdir -p "$root/usr/share/lintian/overrides"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/lakehouse"
gzip -9n <"$here/changelog" >"$root/usr/share/doc/lakehouse/changelog.gz"

# runtime dependencies: the Debian packages of the shared libraries the
# programs link (dpkg-shlibdeps wants a debian/control beside it)
mkdir -p "$work/src/debian"
printf 'Source: lakehouse\n\nPackage: lakehouse\nArchitecture: any\n' >"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O $(for b in $bins; do printf ' %s' "$root/usr/bin/$b"; done) |
          sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | LC_ALL=C sort |
    xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    "$here/control.in" >"$root/DEBIAN/control"

find "$root" -type d -exec chmod 0755 {} +
deb=$out/lakehouse_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
