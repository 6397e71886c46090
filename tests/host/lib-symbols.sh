#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/lib-symbols.sh: the export check of libudmabuf-ext
# (tools/lib/check-symbols, run by the library's build after linking) passes
# on the real library and fails the build when the exports and the list in
# tools/lib/libudmabuf-ext.map disagree.  Each case builds a copy of
# tools/lib with one change, in a scratch directory:
#   1. no change: builds, exports exactly the listed symbols, versioned;
#   2. a function marked UDMABUF_EXT_EXPORT but not listed: the build fails
#      naming it, and leaves no library behind;
#   3. a non-static internal function (exported by the static archive): fails;
#   4. a listed symbol that the code does not define: fails;
#   5. no "local: *" in the map (everything exported): fails.
# Prints KTAP; exits 0 iff every case passed.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$repo/build"
work=$(mktemp -d "$repo/build/lib-symbols.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

echo "TAP version 13"
echo "1..5"
n=0
failed=0
result() {	# result 0|1 NAME [LOG]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		[ -z "${3:-}" ] || sed 's/^/# /' "$3"
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

# build CASE: copy tools/lib to $work/CASE/lib (then modified by the caller)
# and build it there; sets rc, the log is $work/CASE.log.
copy() {
	mkdir -p "$work/$1"
	cp -r "$repo/tools/lib" "$work/$1/lib"
}
build() {
	rc=0
	make -C "$work/$1/lib" TOP="$repo" SRCDIR="$work/$1/lib" O="$work/$1/out" \
		>"$work/$1.log" 2>&1 || rc=$?
}
so() {
	echo "$work/$1/out/libudmabuf-ext.so.1.1.0"
}

# 1. unchanged
copy clean
build clean
# Each listed symbol with the version node it is listed in.
listed=$(awk '/^[A-Z_0-9.]+ *[{]/{node=$1} /global:/{g=1;next} /local:|}/{g=0}
	g&&/;/{gsub(/[ \t;]/,"");print $0 "@@" node}' \
	"$repo/tools/lib/libudmabuf-ext.map" | sort)
exported=$(nm -D --defined-only "$(so clean)" 2>/dev/null | awk '$2 != "A" { print $3 }' | sort)
[ "$rc" -eq 0 ] && [ -n "$listed" ] &&
	[ "$exported" = "$listed" ] &&
	grep -q 'CHECK   exported symbols' "$work/clean.log"
r=$?
[ "$r" -eq 0 ] || { echo "# listed: $listed"; echo "# exported: $exported"; }
result $r clean_library_exports_exactly_the_list "$work/clean.log"

# 2. exported but not listed
copy unlisted
cat >>"$work/unlisted/lib/udmabuf-ext.c" <<'EOF'

UDMABUF_EXT_EXPORT int udmabuf_ext_not_in_the_map(void);
UDMABUF_EXT_EXPORT int udmabuf_ext_not_in_the_map(void)
{
	return 42;
}
EOF
build unlisted
[ "$rc" -ne 0 ] && grep -q "exports 'udmabuf_ext_not_in_the_map'.*not listed" "$work/unlisted.log" &&
	[ ! -e "$(so unlisted)" ]
result $? exported_unlisted_symbol_fails_build "$work/unlisted.log"
# Shown once, as the issue asks: the failing build's own words.
grep 'check-symbols' "$work/unlisted.log" | sort -u | sed 's/^/# /'

# 3. a global internal helper
copy internal
cat >>"$work/internal/lib/udmabuf-ext.c" <<'EOF'

int helper_without_static(void);
int helper_without_static(void)
{
	return 1;
}
EOF
build internal
[ "$rc" -ne 0 ] && grep -q "internal global 'helper_without_static'" "$work/internal.log"
result $? global_internal_helper_fails_build "$work/internal.log"

# 4. listed, not defined
copy missing
sed -i 's/^\tudmabuf_ext_unmap;$/\tudmabuf_ext_unmap;\n\tudmabuf_ext_never_written;/' \
	"$work/missing/lib/libudmabuf-ext.map"
build missing
grep -q udmabuf_ext_never_written "$work/missing/lib/libudmabuf-ext.map" &&
	[ "$rc" -ne 0 ] && grep -q 'udmabuf_ext_never_written' "$work/missing.log"
result $? listed_undefined_symbol_fails_build "$work/missing.log"

# 5. the map without "local: *": every global symbol of the code (here the
# shared library's own, none extra) is still checked; add a helper that would
# then be exported.
copy nolocal
sed -i '/^local:/d; /^\t\*;$/d' "$work/nolocal/lib/libudmabuf-ext.map"
cat >>"$work/nolocal/lib/udmabuf-ext.c" <<'EOF'

UDMABUF_EXT_EXPORT int udmabuf_ext_leaks_without_local(void);
UDMABUF_EXT_EXPORT int udmabuf_ext_leaks_without_local(void)
{
	return 2;
}
EOF
build nolocal
! grep -q '^local:' "$work/nolocal/lib/libudmabuf-ext.map" && [ "$rc" -ne 0 ] &&
	grep -q "exports 'udmabuf_ext_leaks_without_local'" "$work/nolocal.log"
result $? map_without_local_fails_build "$work/nolocal.log"

exit $((failed > 0))
