#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/qemu/blob-root.sh: QEMU as root, with virtio-gpu blob resources on
# a memfd guest RAM, shows the inner guest's picture through /dev/udmabuf
# (tests/qemu/lib.sh, q_blob_case: 7 results).  Suite qemu.  Prints KTAP;
# exit 0 iff all passed.

set -uo pipefail
# shellcheck source=tests/qemu/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

q_plan 7
q_prereq 7
q_blob_case root 0:0 --
q_exit
