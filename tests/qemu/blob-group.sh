#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/qemu/blob-group.sh: QEMU as an unprivileged user.  Outside the group
# that owns /dev/udmabuf, it refuses blob=true; as a member of that group
# (systemd's rules make it "kvm", the group libvirt runs QEMU in; see
# tests/qemu/udev-nodes.sh), it shows the inner guest's picture through
# /dev/udmabuf like root does (tests/qemu/lib.sh, q_blob_case).  The user
# is a bare uid and gid (setpriv), no account: no capability, the default
# RLIMIT_MEMLOCK.  Suite qemu.  Prints KTAP; exit 0 iff all passed.

set -uo pipefail
# shellcheck source=tests/qemu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

user=4242
q_plan 8
q_prereq 8
node=/dev/udmabuf
gid=$(stat -c %g "$node" 2>/dev/null)
echo "# $node: $(stat -c '%A %U:%G' "$node" 2>/dev/null); QEMU runs as uid $user, gid $user"
if [ -z "$gid" ]; then
	echo "# no $node"
	q_ok 1 outside_group_refused
else
	q_try true setpriv --reuid="$user" --regid="$user" --clear-groups --
	[ -z "$q_err" ] || printf '%s\n' "$q_err" | q_diag
	[ "$q_status" -ne 0 ] && [[ $q_err == *"$q_message"* ]]
	q_ok $? outside_group_refused
fi
echo "# in the group $(getent group "$gid" | cut -d: -f1) ($gid)"
q_blob_case group "$user:$user" setpriv --reuid="$user" --regid="$user" --groups="$gid" --
q_exit
