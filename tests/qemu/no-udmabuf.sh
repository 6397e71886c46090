#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/qemu/no-udmabuf.sh: QEMU without the module (suite qemu-nomodule).
# On a kernel without udmabuf (Debian 12's 6.1) there is no /dev/udmabuf,
# and QEMU refuses "-device virtio-gpu-pci,blob=true" with "cannot enable
# blob resources without udmabuf", while it accepts the same command line
# with blob=false; on a kernel with its own udmabuf (6.12) it accepts both.
# Prints KTAP; exit 0 iff all passed.

set -uo pipefail
# shellcheck source=tests/qemu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

q_plan 3
if q_module_loaded; then
	echo "# udmabuf_ext is loaded: this test needs a guest without it"
	q_ok 1 setup; q_ok 1 setup; q_ok 1 setup
	q_exit
fi
echo "# /dev/udmabuf: $(ls -l /dev/udmabuf 2>&1)"

q_try false
[ -z "$q_err" ] || printf '%s\n' "$q_err" | q_diag
q_ok "$q_status" qemu_starts_without_blob

q_try true
[ -z "$q_err" ] || printf '%s\n' "$q_err" | q_diag
if [ -e /dev/udmabuf ]; then
	q_skip blob_refused_without_udmabuf "this kernel has its own /dev/udmabuf (CONFIG_UDMABUF=y)"
	q_ok "$q_status" blob_starts_with_kernels_udmabuf
else
	[ "$q_status" -ne 0 ] && [[ $q_err == *"$q_message"* ]]
	q_ok $? blob_refused_without_udmabuf
	q_skip blob_starts_with_kernels_udmabuf "this kernel has no udmabuf of its own (CONFIG_UDMABUF is not y)"
fi
q_exit
