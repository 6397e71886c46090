#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/qemu/udev-nodes.sh: the device nodes where the system expects them
# (docs/install.md, docs/qemu.md), with Debian's udev running in the guest
# and the package's rule: as installed (by the package, which "make
# deb-check" installs before it runs this in a guest, or by "make install"),
# else the tree's tools/install/60-udmabuf-ext.rules, put in
# /run/udev/rules.d (the guest's / is read-only).
#
# - /dev/udmabuf looks exactly as the kernel's own would: the package's
#   rule leaves it alone, and systemd's 50-udev-default.rules
#   (KERNEL=="udmabuf", GROUP="kvm" on Debian 12) gives it owner root, that
#   group and mode 0660 (udev's mode when a rule sets a group and no mode)
#   whether the module's drop-in or the kernel's own driver (6.12) serves it;
# - /dev/udmabuf-ext gets the package's group "udmabuf", mode 0660 (skipped
#   where the group does not exist: "make deb-check" installs the package,
#   which creates it, and checks that too).
#
# Suite qemu, first: the QEMU tests after it find the nodes so.  udevd is
# stopped again at the end (the nodes keep what it gave them).  Prints KTAP;
# exit 0 iff all passed.

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rule=
for r in /etc/udev/rules.d /lib/udev/rules.d /usr/lib/udev/rules.d; do
	[ -e "$r/60-udmabuf-ext.rules" ] && { rule=$r/60-udmabuf-ext.rules; break; }
done
installed=1
[ -n "$rule" ] || { rule=$top/tools/install/60-udmabuf-ext.rules; installed=0; }
systemd_rules=/lib/udev/rules.d/50-udev-default.rules
udevd=/lib/systemd/systemd-udevd
# udevadm refuses to act in a chroot, which the test guest is (tools/vm/init).
export SYSTEMD_IGNORE_CHROOT=1

# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"
q_plan 3
node() {	# node PATH: "owner:group mode" of a device node
	stat -c '%U:%G %a' "$1" 2>/dev/null || echo "missing"
}

for f in "$udevd" "$systemd_rules" "$rule"; do
	if [ ! -e "$f" ]; then
		echo "# $f not found (apt-get install udev)"
		for _ in 1 2 3; do q_ok 1 setup; done
		q_exit
	fi
done

# 1. The package's rule names /dev/udmabuf-ext only.
grep -Eq '^[^#]*KERNEL=="udmabuf-ext"' "$rule" && ! grep -Eq '^[^#]*KERNEL=="udmabuf"' "$rule"
q_ok $? rule_names_only_udmabuf_ext

# What systemd's own rules give the kernel's udmabuf node.
group=$(sed -n 's/^KERNEL=="udmabuf",.*GROUP="\([^"]*\)".*/\1/p' "$systemd_rules" | head -n 1)
mode=$(sed -n 's/^KERNEL=="udmabuf",.*MODE="0\{0,1\}\([0-7]*\)".*/\1/p' "$systemd_rules" | head -n 1)
[ -n "$mode" ] || { [ -n "$group" ] && mode=660; } || mode=600
want="root:${group:-root} $mode"
echo "# systemd's rules: $(grep '^KERNEL=="udmabuf"' "$systemd_rules")"
echo "# before udev: /dev/udmabuf $(node /dev/udmabuf), /dev/udmabuf-ext $(node /dev/udmabuf-ext)"

if [ "$installed" -eq 0 ]; then
	mkdir -p /run/udev/rules.d
	cp "$rule" /run/udev/rules.d/
fi
echo "# the package's rule: $rule"
started=0
if ! pgrep -x systemd-udevd >/dev/null; then
	"$udevd" --daemon 2>&1 | q_diag
	started=1
fi
udevadm trigger --subsystem-match=misc --action=add 2>&1 | q_diag
udevadm settle --timeout=60 2>&1 | q_diag

# 2. /dev/udmabuf as systemd gives it, whoever serves it.
got=$(node /dev/udmabuf)
if grep -qx 'CONFIG_UDMABUF=y' "/boot/config-$(uname -r)"; then
	echo "# /dev/udmabuf is the kernel's own driver here (CONFIG_UDMABUF=y)"
else
	echo "# /dev/udmabuf is the module's drop-in here"
fi
echo "# /dev/udmabuf: $got, systemd's default: $want"
[ "$got" = "$want" ]
q_ok $? udmabuf_node_as_systemd_default

# 3. /dev/udmabuf-ext: the package's group.
got=$(node /dev/udmabuf-ext)
echo "# /dev/udmabuf-ext: $got"
if getent group udmabuf >/dev/null; then
	[ "$got" = "root:udmabuf 660" ]
	q_ok $? udmabuf_ext_node_in_group_udmabuf
else
	q_skip udmabuf_ext_node_in_group_udmabuf "no group udmabuf on this system (the package creates it; make deb-check)"
fi

if [ "$started" -eq 1 ]; then
	udevadm control --exit 2>&1 | q_diag
fi
q_exit
