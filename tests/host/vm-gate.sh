#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/vm-gate.sh: proves the dmesg gate of tools/vm/run both ways.
#
# Builds tests/splat (a module whose init does WARN_ON(1)), then boots the
# runner three times with the same trivial command:
#   - without the module: must pass (status 0, no gate message);
#   - with it: must fail with the gate's status 98 and "vm: dmesg gate:"
#     quoting the WARNING, although the command itself (which also unloads
#     the module again) succeeded;
#   - with it and a failing command: still 98, not the command's 1.
# Prints KTAP; exits 0 iff every check passed.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
runner=$repo/tools/vm/run
# The kernel the runner boots by default (tools/kernels default, as in
# ../../Makefile).
KDIR=${KDIR:-$(tools/kernels kdir 2>/dev/null || true)}
readonly E_GATE=98

mkdir -p "$repo/build/vm"
work=$(mktemp -d "$repo/build/vm/test-gate.XXXXXX")

echo "TAP version 13"
echo "1..5"
n=0
failed=0
result() {	# result OK|FAIL NAME
	n=$((n + 1))
	if [[ $1 == OK ]]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}
diag() {	# diag FILE...: quote files as KTAP diagnostics
	sed 's/^/# /' "$@"
}

# runvm NAME ARGS...: runs the runner with out dir $work/NAME; sets rc and
# leaves stdout/stderr in $work/NAME.out/.err.
runvm() {
	local name=$1
	shift
	rc=0
	"$runner" -o "$work/$name" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
	echo "# $name: exit status $rc"
}

# 1. the splat module builds.
ko=$repo/tests/splat/splat.ko
rm -f "$ko"
if [[ -z $KDIR ]]; then
	echo "# no kernel headers (apt-get install linux-headers-amd64)"
	result FAIL splat_module_builds
elif make -C "$KDIR" M="$repo/tests/splat" modules >"$work/build.log" 2>&1 && [[ -f $ko ]]; then
	result OK splat_module_builds
else
	tail -n 20 "$work/build.log" | diag
	result FAIL splat_module_builds
fi

# 2. the command alone passes the gate.
runvm clean -- sh -c 'echo command-ran'
if [[ $rc -eq 0 ]] && grep -qx command-ran "$work/clean.out" &&
	! grep -q 'dmesg gate' "$work/clean.err"; then
	result OK vm_gate_clean_run_passes
else
	diag "$work/clean.out" "$work/clean.err"
	result FAIL vm_gate_clean_run_passes
fi

if [[ ! -f $ko ]]; then
	echo "# splat.ko was not built"
	result FAIL vm_gate_splat_fails_run
	result FAIL vm_gate_splat_module_unloads
	result FAIL vm_gate_splat_failed_command_still_98
else
	# 3./4. the same command with the splat module loaded first.
	runvm splat -k tests/splat/splat.ko -- sh -c 'rmmod splat && echo command-ran'
	if [[ $rc -eq $E_GATE ]] && grep -q '^vm: dmesg gate: .*WARNING:' "$work/splat.err"; then
		grep '^vm: dmesg gate:' "$work/splat.err" | diag
		result OK vm_gate_splat_fails_run
	else
		echo "# want exit status $E_GATE and 'vm: dmesg gate: ... WARNING:' on stderr"
		diag "$work/splat.out" "$work/splat.err"
		result FAIL vm_gate_splat_fails_run
	fi
	if grep -qx command-ran "$work/splat.out"; then
		result OK vm_gate_splat_module_unloads
	else
		echo "# the command (rmmod splat) did not succeed"
		diag "$work/splat.out" "$work/splat.err"
		result FAIL vm_gate_splat_module_unloads
	fi

	# 5. a failing command does not hide the splat.
	runvm splat-false -k tests/splat/splat.ko -- false
	if [[ $rc -eq $E_GATE ]] && grep -q '^vm: dmesg gate:' "$work/splat-false.err"; then
		result OK vm_gate_splat_failed_command_still_98
	else
		diag "$work/splat-false.out" "$work/splat-false.err"
		result FAIL vm_gate_splat_failed_command_still_98
	fi
fi

if [[ $failed -eq 0 ]]; then
	rm -rf "$work"
else
	echo "# $failed of $n failed; logs kept in $work"
fi
[[ $failed -eq 0 ]]
