#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/deb.sh: the Debian packaging builds ("make deb": dpkg-buildpackage
# -us -uc -b on a copy of the tree, results in build/deb/), and each package
# holds what it should.  Installing them is "make deb-check"
# (tools/install/deb-check), which changes this machine's package set and is
# therefore not part of "make check".
# Prints KTAP; exits 0 iff every check passed.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
deb=build/deb
mkdir -p build
log=$(mktemp "$repo/build/deb-test.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT

echo "TAP version 13"
echo "1..7"
n=0
failed=0
result() {	# result 0|1 NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}
# has PACKAGE PATH...: the package contains each PATH (regex, anchored)
has() {
	local pkg=$1 f list r=0
	shift
	list=$(dpkg-deb -c "$deb/${pkg}_${version}_"*.deb 2>/dev/null | awk '{ print $6 }')
	for f in "$@"; do
		grep -Eqx "\\.$f" <<<"$list" || { echo "# $pkg: no $f"; r=1; }
	done
	return $r
}

make --no-print-directory deb >"$log" 2>&1
r=$?
[ "$r" -eq 0 ] || tail -n 30 "$log" | sed 's/^/# /'
result $r dpkg_buildpackage

src=/usr/src/udmabuf-ext-$(cat VERSION)
has udmabuf-ext-dkms "$src/dkms.conf" "$src/udmabuf-ext/Kbuild" "$src/udmabuf-ext/main.c" \
	"$src/uapi/udmabuf-ext.h" '/(usr/)?lib/udev/rules.d/60-udmabuf-ext.rules'
r=$?
dpkg-deb -I "$deb/udmabuf-ext-dkms_${version}_all.deb" postinst 2>/dev/null |
	grep -q 'addgroup --system --quiet udmabuf' || { echo "# postinst creates no group"; r=1; }
dpkg-deb -c "$deb/udmabuf-ext-dkms_${version}_all.deb" | grep -q '\.o$' && r=1
result $r dkms_package

has libudmabuf-ext1 '/usr/lib/[^/]+/libudmabuf-ext.so.1.1.0' '/usr/lib/[^/]+/libudmabuf-ext.so.1'
result $? library_package

has libudmabuf-ext-dev /usr/include/udmabuf-ext-lib.h /usr/include/udmabuf-ext.h \
	'/usr/lib/[^/]+/libudmabuf-ext.so' '/usr/lib/[^/]+/libudmabuf-ext.a' \
	'/usr/lib/[^/]+/pkgconfig/udmabuf-ext.pc' /usr/share/man/man3/libudmabuf-ext.3.gz
result $? dev_package

has udmabuf-ext-tools /usr/bin/udmabuf-ext /usr/share/man/man1/udmabuf-ext.1.gz
result $? tools_package

# The packaged CLI has no RPATH or RUNPATH (Debian policy 10.2; the one of
# the build tree, build/cli/udmabuf-ext, has one into build/lib).
x=$(mktemp -d "$repo/build/deb-test.XXXXXX")
r=1
if dpkg-deb -x "$deb/udmabuf-ext-tools_${version}_"*.deb "$x" 2>/dev/null &&
	[ -f "$x/usr/bin/udmabuf-ext" ]; then
	rp=$(readelf -dW "$x/usr/bin/udmabuf-ext" | grep -E '\((RPATH|RUNPATH)\)')
	[ -z "$rp" ] && r=0 || echo "# $rp"
fi
result $r packaged_cli_has_no_rpath
rm -rf "$x"

# The library's symbols file matches what it exports (dpkg-gensymbols fails
# the build on a mismatch; make sure it was used).
grep -q 'dpkg-gensymbols' "$log" || grep -q 'dh_makeshlibs' "$log"
r=$?
dpkg-deb -I "$deb/libudmabuf-ext1_${version}_amd64.deb" symbols 2>/dev/null |
	grep -q 'udmabuf_ext_create_user@LIBUDMABUF_EXT_1.0' || r=1
result $r symbols_file_shipped

exit $((failed > 0))
