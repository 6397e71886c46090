#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/dkms.sh: the DKMS round trip ("make dkms-check" runs it too).
#
#   1. dkms.conf's PACKAGE_VERSION (and debian/changelog's) is VERSION;
#   2. make dkms-source: a clean source tree in build/dkms/;
#   3. dkms add (copies it to /usr/src/udmabuf-ext-VERSION);
#   4. for each kernel K that make check tests (tools/kernels list: 6.1 and
#      6.12, both installed): dkms build -k K against its headers
#      (dkms_build@K);
#   5. dkms install -k K: the module is in /lib/modules/K/updates/dkms
#      (dkms_install@K);
#   6. in a guest booting K (which sees this machine's /): modprobe
#      udmabuf_ext loads that module, /dev/udmabuf-ext appears, rmmod
#      (guest_modprobe_loads_dkms_module@K);
#   7. dkms remove --all, and nothing is left: no /usr/src copy, no
#      /var/lib/dkms entry, no module file, modules.dep clean.
#
# Whatever happens, the exit trap removes the module from DKMS and deletes
# what this test created (including the MOK key pair that DKMS generates to
# sign modules, if there was none before).  Runs as root; one at a time (a
# lock).  Refuses to run (not ok) if udmabuf-ext is already known to DKMS,
# e.g. installed from the .deb, so as not to remove the user's install.
# Prints KTAP; exits 0 iff every step passed.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
name=udmabuf-ext
version=$(cat VERSION)
mapfile -t kernels < <(tools/kernels list 2>/dev/null)
src=/usr/src/$name-$version
mok_key=/var/lib/dkms/mok.key
mok_pub=/var/lib/dkms/mok.pub
total=$((4 + 3 * ${#kernels[@]}))

mkdir -p build/dkms
work=$(mktemp -d "$repo/build/dkms/check.XXXXXX") || exit 1

echo "TAP version 13"
echo "1..$total"
n=0
failed=0
result() {	# result 0|1 NAME [LOG...]
	local st=$1 tname=$2
	shift 2
	n=$((n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $n $tname"
	else
		[ $# -eq 0 ] || tail -n 30 "$@" | sed 's/^/# /'
		echo "not ok $n $tname"
		failed=$((failed + 1))
	fi
}
bail() {	# bail REASON: the remaining steps fail
	echo "# $1"
	while [ "$n" -lt "$total" ]; do
		result 1 "not_run"
	done
	exit 1
}

[ "$(id -u)" -eq 0 ] || bail "not root"
command -v dkms >/dev/null || bail "dkms is not installed (apt-get install dkms)"
[ "${#kernels[@]}" -gt 0 ] || bail "no kernels to build for (tools/kernels list)"

exec 9>/run/lock/udmabuf-ext-dkms-check.lock
flock 9

if dkms status -m "$name" 2>/dev/null | grep -q . || [ -e "$src" ]; then
	dkms status -m "$name" | sed 's/^/# /'
	bail "$name is already registered with DKMS or $src exists: not touching it"
fi
had_key=0
[ -e "$mok_key" ] && had_key=1

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	dkms remove -m "$name" -v "$version" --all >/dev/null 2>&1
	rm -rf "$src" "/var/lib/dkms/$name"
	if [ "$had_key" -eq 0 ]; then
		rm -f "$mok_key" "$mok_pub"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# 1. versions agree
bad=0
conf_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
[ "$conf_version" = "$version" ] || { echo "# dkms.conf: $conf_version, VERSION: $version"; bad=1; }
if [ -f debian/changelog ]; then
	deb_version=$(sed -n '1s/^[^(]*(\([^)-]*\).*/\1/p' debian/changelog)
	[ "$deb_version" = "$version" ] || { echo "# debian/changelog: $deb_version"; bad=1; }
fi
result $bad versions_agree

# 2. the source tree
make --no-print-directory dkms-source >"$work/source.log" 2>&1 &&
	[ -f "build/dkms/$name-$version/dkms.conf" ] &&
	[ -f "build/dkms/$name-$version/udmabuf-ext/Kbuild" ] &&
	! ls "build/dkms/$name-$version/udmabuf-ext/"*.o >/dev/null 2>&1
result $? dkms_source "$work/source.log"

# 3.-5.
dkms add "build/dkms/$name-$version" >"$work/add.log" 2>&1 &&
	dkms status -m "$name" -v "$version" | grep -q added
result $? dkms_add "$work/add.log"

for line in "${kernels[@]}"; do
	kver=${line% *}
	k=${line#* }
	dkms build -m "$name" -v "$version" -k "$kver" >"$work/build-$k.log" 2>&1
	r=$?
	[ "$r" -eq 0 ] || cp "/var/lib/dkms/$name/$version/$kver/x86_64/log/make.log" \
		"$work/make-$k.log" 2>/dev/null ||
		cp "/var/lib/dkms/$name/$version/build/make.log" "$work/make-$k.log" 2>/dev/null
	result $r "dkms_build@$k" "$work/build-$k.log" "$work/make-$k.log"

	dkms install -m "$name" -v "$version" -k "$kver" >"$work/install-$k.log" 2>&1
	r=$?
	ko=$(modinfo -k "$kver" -n udmabuf_ext 2>/dev/null)
	case $ko in
	"/lib/modules/$kver/updates/dkms/udmabuf_ext.ko"*) ;;
	*) echo "# modinfo -k $kver -n udmabuf_ext: '$ko'"; r=1 ;;
	esac
	result $r "dkms_install@$k" "$work/install-$k.log"

	# 6. the guest loads what DKMS installed (no -k: modprobe finds it)
	# shellcheck disable=SC2016 # expanded in the guest
	tools/vm/run -o "$work/vm-$k" --kver "$kver" -- sh -c '
		modprobe udmabuf_ext && test -c /dev/udmabuf-ext &&
		grep -q "^udmabuf_ext " /proc/modules &&
		echo "loaded: $(modinfo -n udmabuf_ext)" && rmmod udmabuf_ext' \
		>"$work/vm-$k.log" 2>&1 </dev/null
	r=$?
	grep -q "^loaded: /lib/modules/$kver/updates/dkms/udmabuf_ext.ko" "$work/vm-$k.log" || r=1
	result $r "guest_modprobe_loads_dkms_module@$k" "$work/vm-$k.log"
done

# 7. remove, and nothing left
dkms remove -m "$name" -v "$version" --all >"$work/remove.log" 2>&1
r=$?
rm -rf "$src"
left=
dep=0
for line in "${kernels[@]}"; do
	kver=${line% *}
	left+=$(find "/lib/modules/$kver" -name 'udmabuf_ext.ko*' 2>/dev/null)
	grep -q udmabuf_ext "/lib/modules/$kver/modules.dep" && dep=1
done
if [ -n "$left" ] || [ -e "/var/lib/dkms/$name" ] || [ "$dep" -eq 1 ] ||
	dkms status -m "$name" | grep -q .; then
	echo "# left behind: ${left:-} $(ls -d "/var/lib/dkms/$name" 2>/dev/null)"
	r=1
fi
result $r dkms_remove_leaves_nothing "$work/remove.log"

exit $((failed > 0))
