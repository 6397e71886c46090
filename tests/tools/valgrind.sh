#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/tools/valgrind.sh: the library's test program (build/tests/lib_api)
# and every udmabuf-ext CLI command under valgrind's memcheck, in the guest
# with the module loaded: no invalid access, no use of uninitialised memory,
# no leak (definite, indirect or possible), with --error-exitcode so that
# any report fails the test.  The CLI commands run while another valgrind'ed
# CLI holds a buffer.  valgrind under TCG takes ~12 s a run, so each command
# runs once, covering its success and error paths together where it can.
# Prints KTAP; exit 0 iff all passed.

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
root=$top/build/destdir/usr/local
cli=$root/bin/udmabuf-ext
export LD_LIBRARY_PATH=$root/lib
readonly E_VG=99
VG=(valgrind -q "--error-exitcode=$E_VG" --leak-check=full
	"--show-leak-kinds=definite,indirect,possible"
	"--errors-for-leak-kinds=definite,indirect,possible")
work=$(mktemp -d /tmp/valgrind-test.XXXXXX) || exit 1
holder=
trap 'exec 7>&- 2>/dev/null; [ -z "$holder" ] || kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT

tests=(lib_api cli_create_json_hold cli_list cli_info cli_limits)
echo "TAP version 13"
echo "1..${#tests[@]}"
n=0
failed=0
ok() {	# ok STATUS NAME [FILE...]: FILEs are shown on failure
	local st=$1 name=$2
	shift 2
	n=$((n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $n $name"
	else
		[ $# -eq 0 ] || tail -n 40 "$@" | sed 's/^/# /'
		echo "not ok $n $name"
		failed=$((failed + 1))
	fi
}

if ! command -v valgrind >/dev/null || [ ! -x "$cli" ] || [ ! -x "$top/build/tests/lib_api" ]; then
	echo "# valgrind, $cli or build/tests/lib_api missing"
	for t in "${tests[@]}"; do ok 1 "$t"; done
	exit 1
fi

# vg NAME [ARGS...]: valgrind the CLI with ARGS into $work/NAME.{out,rc}.
vg() {
	local name=$1 rc=0
	shift
	"${VG[@]}" "$cli" "$@" >"$work/$name.out" 2>&1 </dev/null || rc=$?
	echo "$rc" >"$work/$name.rc"
}
rc_of() {
	cat "$work/$1.rc" 2>/dev/null || echo missing
}

# The library's test under valgrind (its harness forks a child per test;
# valgrind follows them, and a child's report fails that test).
rc=0
"${VG[@]}" "$top/build/tests/lib_api" >"$work/lib_api.out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*==' "$work/lib_api.out" &&
	grep -q '^# PASSED' "$work/lib_api.out"
ok $? lib_api "$work/lib_api.out"

# A holder, valgrind'ed, until fd 7 closes; meanwhile the other commands,
# one at a time (parallel valgrinds are slower under TCG).
mkfifo "$work/fifo"
"${VG[@]}" "$cli" create -S aligned -s 64K --json --hold <"$work/fifo" >"$work/hold.out" 2>&1 &
holder=$!
exec 7>"$work/fifo"

vg list list
vg limits limits -p "$holder"
# info of a descriptor this process has: a dma-buf made through the library
# from Python (ctypes), passed down as fd 3, and /dev/null (an error).
python3 - "$root/lib/libudmabuf-ext.so.1" "$work/info" "${VG[@]}" "$cli" info 3 /dev/null <<'PY'
import ctypes, mmap, os, subprocess, sys
lib = ctypes.CDLL(sys.argv[1], use_errno=True)
lib.udmabuf_ext_create_user.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                                        ctypes.c_uint32, ctypes.c_uint32, ctypes.c_void_p]
dev = lib.udmabuf_ext_open()
mem = mmap.mmap(-1, 65536)
addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
fd = lib.udmabuf_ext_create_user(dev, addr, 65536, 0, 0, None)
if dev < 0 or fd < 0:
    sys.exit("open/create: %d %d" % (dev, fd))
os.dup2(fd, 3, inheritable=True)
with open(sys.argv[2] + ".out", "w") as out:
    rc = subprocess.run(sys.argv[3:], stdout=out, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, pass_fds=[3]).returncode
open(sys.argv[2] + ".rc", "w").write("%d\n" % rc)
PY

exec 7>&-
rc=0
wait "$holder" || rc=$?
holder=
[ "$rc" -eq 0 ] && grep -q '"buffers"' "$work/hold.out"
ok $? cli_create_json_hold "$work/hold.out"
[ "$(rc_of list)" = 0 ] && grep -q '^ *ID' "$work/list.out"
ok $? cli_list "$work/list.out"
# info: 1 because of /dev/null (valgrind's error would be 99); fd 3 shown.
[ "$(rc_of info)" = 1 ] && grep -q '^fd: *3$' "$work/info.out" &&
	grep -q 'not a udmabuf-ext dma-buf' "$work/info.out"
ok $? cli_info "$work/info.out"
[ "$(rc_of limits)" = 0 ] && grep -q '^  VmPin' "$work/limits.out"
ok $? cli_limits "$work/limits.out"

exit $((failed > 0))
