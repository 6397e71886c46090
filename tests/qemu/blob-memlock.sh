#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/qemu/blob-memlock.sh: the round trip of blob-root.sh with
# "-overcommit mem-lock=on", with which QEMU calls mlockall(MCL_CURRENT |
# MCL_FUTURE) before it creates any buffer: the udmabuf is created in a
# process whose every mapping, present and future, is locked (set-ups that
# must not page QEMU out run it so).  Suite qemu.  Prints KTAP; exit 0 iff
# all passed.

set -uo pipefail
# shellcheck source=tests/qemu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

q_plan 8
q_prereq 8
q_vmlck=
q_blob_case memlock 0:0 -- -overcommit mem-lock=on
# QEMU did run with its memory locked: VmLck covered the guest RAM.
[ -n "$q_vmlck" ] && [ "$q_vmlck" -ge $((${q_mem%M} * 1024)) ]
q_ok $? memlock_guest_ram_locked
q_exit
