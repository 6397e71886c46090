#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/tools/cli.sh: the udmabuf-ext CLI, as installed by "make tests" into
# build/destdir (tests/lib.mk), in the guest with the module loaded.
#
# The acceptance case: "udmabuf-ext list" shows a buffer that another
# process ("udmabuf-ext create --hold", holding it until its stdin closes)
# created, with that process's pid and the right size, and the entry is gone
# once that process has exited.  Also info through /proc/PID/fd/N, limits,
# JSON output and the error paths.  Prints KTAP; exit 0 iff all passed.

set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
root=$top/build/destdir/usr/local
cli=$root/bin/udmabuf-ext
export LD_LIBRARY_PATH=$root/lib
work=$(mktemp -d /tmp/cli-test.XXXXXX) || exit 1
holder=
trap 'exec 7>&- 2>/dev/null; [ -z "$holder" ] || kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT

echo "TAP version 13"
echo "1..16"
n=0
failed=0
ok() {	# ok CONDITION-STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}
diag() {
	sed 's/^/# /' "$@"
}

if [ ! -x "$cli" ] || [ ! -e /dev/udmabuf-ext ]; then
	echo "# $cli or /dev/udmabuf-ext missing"
	for _ in $(seq 16); do ok 1 setup; done
	exit 1
fi

# 1. --version prints the package version.
"$cli" --version >"$work/version" 2>&1
grep -qF "udmabuf-ext $(cat "$top/VERSION")" "$work/version"
ok $? version_matches_VERSION_file

# 2. limits: module parameters (user_limit_mb, and no total_limit_mb any
# more), the process's RLIMIT_MEMLOCK, its user, and the per-user rules.
"$cli" limits -p $$ >"$work/limits" 2>&1
rc=$?
grep -Eq '^  size_limit_mb +[0-9]+' "$work/limits" &&
	grep -Eq '^  user_limit_mb +[0-9]+ +MiB per user, memfd pages of the upstream ABI' "$work/limits" &&
	! grep -q total_limit_mb "$work/limits" &&
	grep -Eq '^  RLIMIT_MEMLOCK ' "$work/limits" &&
	grep -q "^Process $$ " "$work/limits" &&
	grep -q "^User $(id -u):" "$work/limits" &&
	grep -Eq '^  extended ABI +UDMABUF_EXT_CREATE: every page' "$work/limits" &&
	grep -Eq '^  upstream ABI +UDMABUF_CREATE\(_LIST\): memfd pages count against user_limit_mb' "$work/limits" &&
	[ "$rc" -eq 0 ]
r=$?
[ "$r" -eq 0 ] || diag "$work/limits"
ok $r limits_shows_params_and_rlimit

# 3. Another process creates and holds a 100 KiB malloc'd buffer (unaligned:
# 26 pages; read-only, as devices may not write an unaligned range) until
# its stdin closes.  It prints its info first.
mkfifo "$work/fifo"
"$cli" create --source malloc --size 100K --read-only --hold <"$work/fifo" >"$work/create" 2>&1 &
holder=$!
exec 7>"$work/fifo"	# the holder's stdin stays open while fd 7 is
for _ in $(seq 100); do
	grep -q '^importers:' "$work/create" && break
	sleep 0.1
done
id=$(awk '$1 == "id:" { print $2 }' "$work/create")
fd=$(awk '$1 == "fd:" { print $2 }' "$work/create")
pages=$(awk '$1 == "pages:" { print $2 }' "$work/create")
owner=$(awk '$1 == "owner:" { print $2 }' "$work/create")
[ -n "$id" ] && [ -n "$fd" ] && [ "$owner" = "$holder" ] && [ "$pages" -ge 25 ]
r=$?
[ "$r" -eq 0 ] || diag "$work/create"
ok $r create_hold_prints_info

# 4. list shows it: right id, owner pid, command, size in bytes, mode.
"$cli" list --raw --noheadings --bytes >"$work/list" 2>&1
awk -v id="$id" -v pid="$holder" -v size=$((pages * 4096)) '
	$1 == id && $2 == pid && $3 == "udmabuf-ext" && $4 == size &&
	$5 == "pin" && $6 ~ /user/ { found = 1 }
	END { exit !found }' "$work/list"
r=$?
[ "$r" -eq 0 ] || { echo "# want id $id pid $holder pages $pages"; diag "$work/list"; }
ok $r list_shows_other_process_buffer

# 5. The human form and the headings.
"$cli" list >"$work/list-human" 2>&1
head -n 1 "$work/list-human" | grep -Eq '^ *ID +PID +COMMAND +SIZE +MODE +SOURCE'
r1=$?
awk -v id="$id" -v size="$((pages * 4))K" '$1 == id && $4 == size { f = 1 }
	END { exit !f }' "$work/list-human"
r=$((r1 | $?))
[ "$r" -eq 0 ] || diag "$work/list-human"
ok $r list_human_sizes_and_headings

# 6. -p filters by owner; another pid gives nothing.
"$cli" list -rnb -p "$holder" >"$work/list-p" 2>&1
"$cli" list -rnb -p 1 >"$work/list-p1" 2>&1
[ "$(wc -l <"$work/list-p")" -eq 1 ] && [ ! -s "$work/list-p1" ]
ok $? list_pid_filter

# 7. JSON is valid and holds the same buffer.
"$cli" list --json >"$work/list.json" 2>&1
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
b = [x for x in d["buffers"] if x["id"] == int(sys.argv[2])]
assert len(b) == 1 and b[0]["pid"] == int(sys.argv[3]), b
' "$work/list.json" "$id" "$holder" 2>"$work/json.err"
r=$?
[ "$r" -eq 0 ] || diag "$work/list.json" "$work/json.err"
ok $r list_json_valid

# 8. info through /proc/PID/fd/N: the same buffer, seen from outside.
"$cli" info "/proc/$holder/fd/$fd" >"$work/info" 2>&1
awk -v id="$id" -v pid="$holder" '
	$1 == "id:" && $2 == id { a = 1 } $1 == "owner:" && $2 == pid { b = 1 }
	END { exit !(a && b) }' "$work/info"
r=$?
[ "$r" -eq 0 ] || diag "$work/info"
ok $r info_proc_pid_fd

# 9. limits -p: the holder's pinned memory (VmPin) includes the buffer.
"$cli" limits -p "$holder" >"$work/limits-h" 2>&1
vmpin=$(awk '$1 == "VmPin" { print $2 }' "$work/limits-h")
[ -n "$vmpin" ] && [ "$vmpin" -ge $((pages * 4)) ]
r=$?
[ "$r" -eq 0 ] || diag "$work/limits-h"
ok $r limits_pid_shows_vmpin

# 10. The holder exits when its stdin closes, and the entry goes.
exec 7>&-
wait "$holder"
rc=$?
holder=
"$cli" list -rnb >"$work/list-after" 2>&1
! awk -v id="$id" '$1 == id { f = 1 } END { exit !f }' "$work/list-after" && [ "$rc" -eq 0 ]
r=$?
[ "$r" -eq 0 ] || { echo "# holder exit status $rc"; diag "$work/list-after"; }
ok $r entry_gone_after_holder_exits

# 11. create from a memfd (upstream ABI) and from a hugetlb memfd, JSON.
"$cli" create -S memfd -s 64K -J >"$work/memfd.json" 2>&1
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["buffers"][0]
assert b["size"] == 65536 and "memfd" in b["source"] and "dropin" in b["flags"], b
' "$work/memfd.json" 2>"$work/json.err"
r=$?
[ "$r" -eq 0 ] || diag "$work/memfd.json" "$work/json.err"
ok $r create_memfd_json

# 12. modes and flags reach the module: copy, read-only, move of anon.
"$cli" create -S anon -s 8K -m copy -r >"$work/copy" 2>&1 &&
	grep -q '^mode: *copy' "$work/copy" && grep -q '^flags: *ro' "$work/copy" &&
	"$cli" create -S anon -s 8K -m move >"$work/move" 2>&1 &&
	grep -q '^mode: *move' "$work/move"
r=$?
[ "$r" -eq 0 ] || diag "$work/copy" "$work/move"
ok $r create_modes_and_flags

# 13. Errors: not a dma-buf, no such file, bad option, unknown command,
# move and writable pin of a malloc'd (unaligned) range; each exits 1 with
# a message (the pin with how to make it work).
errs=0
"$cli" info /dev/null 2>"$work/e1" && errs=1
grep -q 'not a udmabuf-ext dma-buf' "$work/e1" || errs=1
"$cli" info /nonexistent 2>"$work/e2" && errs=1
grep -q 'No such file' "$work/e2" || errs=1
"$cli" list --bogus 2>/dev/null && errs=1
"$cli" frobnicate 2>/dev/null && errs=1
"$cli" create -S malloc -s 10000 -m move 2>"$work/e3" && errs=1
grep -q 'Invalid argument' "$work/e3" || errs=1
"$cli" create -S malloc -s 10000 2>"$work/e4" && errs=1
grep -q 'must be page aligned at both ends: use -S aligned' "$work/e4" || errs=1
[ "$errs" -eq 0 ] || diag "$work"/e[1234]
ok $errs errors_exit_1_with_message

# 14. --help of every command exits 0 and names the command.
errs=0
# (Output captured first: "| grep -q" would SIGPIPE the command under
# pipefail whenever grep finishes before the command has written.)
for c in list info limits create; do
	out=$("$cli" "$c" --help 2>&1) || errs=1
	case $out in *"$c"*) ;; *) errs=1 ;; esac
done
out=$("$cli" --help) || errs=1
case $out in Usage:*) ;; *) errs=1 ;; esac
ok $errs help_texts

# 15. Page-aligned heap memory of whole pages (udmabuf_ext_alloc()): a
# writable pin, data offset 0, 100 KiB exactly; a malloc'd range copied
# (COPY, with its data offset).
"$cli" create -S aligned -s 100K -b >"$work/aligned" 2>&1 &&
	grep -Eq '^size: +102400$' "$work/aligned" &&
	grep -Eq '^data_offset: +0$' "$work/aligned" &&
	grep -Eq '^mode: +pin$' "$work/aligned" &&
	"$cli" create -S malloc -s 10000 -m copy >"$work/mcopy" 2>&1 &&
	grep -Eq '^mode: +copy$' "$work/mcopy"
r=$?
[ "$r" -eq 0 ] || diag "$work/aligned" "$work/mcopy"
ok $r create_aligned_and_copy

# 16. limits counts what the user holds against user_limit_mb (as root with
# CAP_IPC_LOCK nothing is counted; without it, a memfd buffer is).
mkfifo "$work/fifo2"
setpriv --bounding-set -ipc_lock -- "$cli" create -S memfd -s 64K --hold \
	<"$work/fifo2" >"$work/memfd-hold" 2>&1 &
holder=$!
exec 8>"$work/fifo2"
for _ in $(seq 100); do
	grep -q '^importers:' "$work/memfd-hold" && break
	sleep 0.1
done
"$cli" limits -p "$holder" >"$work/limits-u" 2>&1
exec 8>&-
wait "$holder"
holder=
grep -Eq '^  CAP_IPC_LOCK +no ' "$work/limits-u" &&
	grep -Eq '^  user_limit_mb +64K held of ' "$work/limits-u"
r=$?
[ "$r" -eq 0 ] || diag "$work/memfd-hold" "$work/limits-u"
ok $r limits_shows_user_limit_use

exit $((failed > 0))
