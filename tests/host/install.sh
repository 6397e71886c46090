#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/install.sh: "make install" into a scratch DESTDIR, and what a
# user of the installed tree needs from it:
#   - every file in its place (module via modules_install, library with its
#     symlinks and static archive, headers, .pc, CLI, man pages, udev rule),
#     the soname, the module's vermagic;
#   - pkg-config: valid file, version, flags pointing into the tree;
#   - the man page's EXAMPLE compiles with -Wall -Wextra -Werror and only
#     pkg-config's flags, linked both dynamically and statically, and runs
#     (here, without the module: it must report that it cannot open the
#     device);
#   - the man pages format without groff warnings; the header's kernel-doc
#     is clean and documents every exported function;
#   - PREFIX=/usr puts the udev rule where udev reads packages' rules
#     (pkg-config udev: /lib/udev/rules.d on Debian 12);
#   - the CLI of a plain "make" (build/cli/udmabuf-ext) runs as it is,
#     without LD_LIBRARY_PATH, from any directory (RUNPATH $ORIGIN/../lib),
#     while the installed one has no RPATH/RUNPATH at all;
#   - "make uninstall" removes everything again.
# Prints KTAP; exits 0 iff every check passed.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
mkdir -p build
work=$(mktemp -d "$repo/build/install-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
root=$work/root
usr=$root/usr/local
KDIR=${KDIR:-$(tools/kernels kdir 2>/dev/null || true)}
# (not "make kernelrelease" or include/config/kernel.release: in Debian's
# headers they say 6.1.N, where modules go to /lib/modules/6.1.0-N-amd64)
kver=$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' "$KDIR/include/generated/utsrelease.h" 2>/dev/null)

echo "TAP version 13"
echo "1..12"
n=0
failed=0
result() {	# result 0|1 NAME [LOG...]
	n=$((n + 1))
	local st=$1 name=$2
	shift 2
	if [ "$st" -eq 0 ]; then
		echo "ok $n $name"
	else
		[ $# -eq 0 ] || tail -n 30 "$@" | sed 's/^/# /'
		echo "not ok $n $name"
		failed=$((failed + 1))
	fi
}

# 1. make install DESTDIR=...
make --no-print-directory install DESTDIR="$root" KDIR="$KDIR" >"$work/install.log" 2>&1
result $? make_install_destdir "$work/install.log"

# 2. the files
missing=0
for f in "lib/modules/$kver/extra/udmabuf_ext.ko" \
	usr/local/bin/udmabuf-ext \
	usr/local/include/udmabuf-ext.h usr/local/include/udmabuf-ext-lib.h \
	usr/local/lib/libudmabuf-ext.so.1.1.0 usr/local/lib/libudmabuf-ext.a \
	usr/local/lib/pkgconfig/udmabuf-ext.pc \
	usr/local/share/man/man1/udmabuf-ext.1 \
	usr/local/share/man/man3/libudmabuf-ext.3 \
	usr/local/share/man/man3/udmabuf_ext_create_user.3 \
	etc/udev/rules.d/60-udmabuf-ext.rules; do
	[ -f "$root/$f" ] || { echo "# missing $f"; missing=1; }
done
if [ "$(readlink "$usr/lib/libudmabuf-ext.so.1")" != libudmabuf-ext.so.1.1.0 ] ||
	[ "$(readlink "$usr/lib/libudmabuf-ext.so")" != libudmabuf-ext.so.1 ]; then
	echo "# bad library symlinks"
	missing=1
fi
grep -q 'GROUP="udmabuf", MODE="0660"' "$root/etc/udev/rules.d/60-udmabuf-ext.rules" ||
	missing=1
result $missing installed_files

# 3. soname and vermagic
soname=$(readelf -dW "$usr/lib/libudmabuf-ext.so.1.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
vermagic=$(modinfo -F vermagic "$root/lib/modules/$kver/extra/udmabuf_ext.ko" 2>/dev/null)
[ "$soname" = libudmabuf-ext.so.1 ] && [ "${vermagic%% *}" = "$kver" ]
r=$?
[ "$r" -eq 0 ] || echo "# soname '$soname', vermagic '$vermagic', kernel '$kver'"
result $r soname_and_vermagic

# 4. pkg-config
pc() {
	PKG_CONFIG_LIBDIR=$usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@"
}
pc --validate udmabuf-ext >"$work/pc.log" 2>&1 &&
	[ "$(pc --modversion udmabuf-ext)" = 1.1.0 ] &&
	[ "$(pc --cflags udmabuf-ext | xargs)" = "-I$usr/include" ] &&
	[ "$(pc --libs udmabuf-ext | xargs)" = "-L$usr/lib -ludmabuf-ext" ]
r=$?
[ "$r" -eq 0 ] || { pc --cflags --libs udmabuf-ext; cat "$work/pc.log"; } | sed 's/^/# /'
result $r pkg_config_file

# 5.-6. the man page's example, dynamic and static, with pkg-config only
awk '/^\.SH EXAMPLE/ { e = 1 } e && /^\.fi/ { exit } e && f { print } e && /^\.nf/ { f = 1 }' \
	tools/lib/libudmabuf-ext.3 | sed -e 's/\\e/\\/g' -e 's/\\-/-/g' >"$work/example.c"
flags=$(pc --cflags --libs udmabuf-ext)
# shellcheck disable=SC2086 # flags are words
cc -Wall -Wextra -Werror -o "$work/example" "$work/example.c" $flags >"$work/cc.log" 2>&1 &&
	LD_LIBRARY_PATH=$usr/lib "$work/example" >"$work/run.log" 2>&1
rc=$?
# Without the module (this machine's kernel cannot load it) the example must
# fail to open the device; with it, print "x".
{ [ "$rc" -eq 1 ] && grep -q '^open: ' "$work/run.log"; } ||
	{ [ "$rc" -eq 0 ] && grep -qx x "$work/run.log"; }
result $? man_example_builds_and_runs_shared "$work/example.c" "$work/cc.log" "$work/run.log"

cflags=$(pc --cflags udmabuf-ext)
# shellcheck disable=SC2086
cc -Wall -Wextra -Werror -o "$work/example-static" "$work/example.c" \
	$cflags -L"$usr/lib" -Wl,-Bstatic -ludmabuf-ext -Wl,-Bdynamic \
	>"$work/cc-static.log" 2>&1 && "$work/example-static" >"$work/run-static.log" 2>&1
rc=$?
! readelf -dW "$work/example-static" 2>/dev/null | grep -q 'libudmabuf-ext' &&
	{ { [ "$rc" -eq 1 ] && grep -q '^open: ' "$work/run-static.log"; } ||
		{ [ "$rc" -eq 0 ] && grep -qx x "$work/run-static.log"; }; }
result $? man_example_links_static_archive "$work/cc-static.log" "$work/run-static.log"

# 7. man pages: no groff warnings, the function pages point to the library's
warn=0
for m in "$usr/share/man/man1/udmabuf-ext.1" "$usr/share/man/man3/libudmabuf-ext.3"; do
	if [ -n "$(groff -ww -z -man "$m" 2>&1)" ]; then
		groff -ww -z -man "$m" 2>&1 | sed 's/^/# /'
		warn=1
	fi
done
grep -qx '.so man3/libudmabuf-ext.3' "$usr/share/man/man3/udmabuf_ext_open.3" || warn=1
result $warn man_pages_clean

# 8. kernel-doc: no warning, and every function of the map documented
kdoc=
for k in "$KDIR/scripts/kernel-doc" /usr/lib/linux-kbuild-*/scripts/kernel-doc; do
	[ -f "$k" ] && { kdoc=$k; break; }
done
hdr=$usr/include/udmabuf-ext-lib.h
bad=0
if [ -z "$kdoc" ]; then
	echo "# no scripts/kernel-doc (linux-kbuild)"
	bad=1
elif [ -n "$(perl "$kdoc" -none -Werror "$hdr" 2>&1)" ]; then
	perl "$kdoc" -none -Werror "$hdr" 2>&1 | sed 's/^/# /'
	bad=1
else
	while read -r f; do
		perl "$kdoc" -rst -function "$f" "$hdr" 2>/dev/null | grep -q "c:function:: .*$f" ||
			{ echo "# $f: no kernel-doc"; bad=1; }
	done < <(awk '/global:/{g=1;next} /local:|}/{g=0} g&&/;/{gsub(/[ \t;]/,"");print}' \
		tools/lib/libudmabuf-ext.map)
fi
result $bad header_kernel_doc

# 9. the installed CLI runs from the tree, and carries no search path into
#    the build tree (or anywhere: Debian policy 10.2)
LD_LIBRARY_PATH=$usr/lib "$usr/bin/udmabuf-ext" --version >"$work/version.log" 2>&1 &&
	grep -q "udmabuf-ext $(cat VERSION)" "$work/version.log" &&
	! readelf -dW "$usr/bin/udmabuf-ext" | grep -E '\((RPATH|RUNPATH)\)' >>"$work/version.log"
result $? installed_cli_runs_without_rpath "$work/version.log"

# 10. the CLI of a plain "make" runs as it is, from another directory,
#     without LD_LIBRARY_PATH: its RUNPATH ($ORIGIN/../lib) finds the
#     library of the tree, build/lib
# shellcheck disable=SC2016 # $ORIGIN is the dynamic linker's, not the shell's
make --no-print-directory cli >"$work/cli.log" 2>&1 &&
	(cd / && env -u LD_LIBRARY_PATH "$repo/build/cli/udmabuf-ext" --version &&
		env -u LD_LIBRARY_PATH ldd "$repo/build/cli/udmabuf-ext") >>"$work/cli.log" 2>&1 &&
	grep -q "udmabuf-ext $(cat VERSION)" "$work/cli.log" &&
	grep -q "libudmabuf-ext.so.1 => $repo/build/cli/../lib/libudmabuf-ext.so.1" "$work/cli.log" &&
	readelf -dW build/cli/udmabuf-ext | grep '(RUNPATH)' | grep -qF '[$ORIGIN/../lib]'
result $? build_tree_cli_runs_in_place "$work/cli.log"

# 11. PREFIX=/usr: the udev rule where udev reads packages' rules, .pc with /usr
udevdir=$(pkg-config --variable=udevdir udev 2>/dev/null)
make --no-print-directory install-user DESTDIR="$work/usr-root" PREFIX=/usr \
	>"$work/install-usr.log" 2>&1 &&
	[ -f "$work/usr-root${udevdir:-/usr/lib/udev}/rules.d/60-udmabuf-ext.rules" ] &&
	[ ! -e "$work/usr-root/etc" ] &&
	grep -qx 'prefix=/usr' "$work/usr-root/usr/lib/pkgconfig/udmabuf-ext.pc"
result $? prefix_usr_layout "$work/install-usr.log"
# Leave build/lib's .pc for the default prefix again.
make --no-print-directory lib >/dev/null 2>&1

# 12. uninstall leaves nothing (but directories)
make --no-print-directory uninstall DESTDIR="$root" KDIR="$KDIR" >"$work/uninstall.log" 2>&1
r=$?
left=$(cd "$root" && find . ! -type d | sort)
[ -z "$left" ] || r=1
[ "$r" -eq 0 ] || printf '# left: %s\n' "$left"
result $r uninstall_removes_everything "$work/uninstall.log"

exit $((failed > 0))
