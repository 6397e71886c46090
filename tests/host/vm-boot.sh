#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/vm-boot.sh: the fixed cost of a guest run, `tools/vm/run -- true`,
# must stay under 15 s.  The first boot may also rebuild the runner's caches
# (initramfs, unpacked vmlinux) and a shared machine may be busy, so up to 3
# boots are timed and the fastest counts.  Prints KTAP; exits 0 iff every
# check passed.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
runner=$repo/tools/vm/run
readonly LIMIT_MS=15000 TRIES=3

mkdir -p "$repo/build/vm"
work=$(mktemp -d "$repo/build/vm/test-boot.XXXXXX")

echo "TAP version 13"
echo "1..2"

best=
all_ok=1
for ((i = 1; i <= TRIES; i++)); do
	rc=0
	t0=$(date +%s%N)
	"$runner" -o "$work/out" -- true >"$work/out.txt" 2>"$work/err.txt" </dev/null || rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	printf '# boot %d: %d.%03d s, exit status %d\n' "$i" $((ms / 1000)) $((ms % 1000)) "$rc"
	if [[ $rc -ne 0 ]]; then
		all_ok=0
		sed 's/^/# /' "$work/out.txt" "$work/err.txt"
		break
	fi
	[[ -n $best && $best -le $ms ]] || best=$ms
	((best >= LIMIT_MS)) || break
done

failed=0
if [[ $all_ok -eq 1 ]]; then
	echo "ok 1 vm_boot_true_succeeds"
else
	echo "not ok 1 vm_boot_true_succeeds"
	failed=1
fi
if [[ -n $best ]]; then
	printf '# fixed cost of tools/vm/run -- true: %d.%03d s (limit %d s)\n' \
		$((best / 1000)) $((best % 1000)) $((LIMIT_MS / 1000))
fi
if [[ -n $best ]] && ((best < LIMIT_MS)); then
	echo "ok 2 vm_boot_under_15s"
else
	echo "not ok 2 vm_boot_under_15s"
	failed=1
fi

if [[ $failed -eq 0 ]]; then
	rm -rf "$work"
else
	echo "# logs kept in $work"
fi
[[ $failed -eq 0 ]]
