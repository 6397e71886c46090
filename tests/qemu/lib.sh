# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # variables for the scripts that source this
#
# tests/qemu/lib.sh: sourced by the QEMU client tests (tests/qemu/*.sh),
# which run in the test guest (suites qemu and qemu-nomodule) and start
# Debian's QEMU in it, nested, as the user of /dev/udmabuf.  docs/qemu.md
# describes the set-up they test; docs/testing.md the suites.
#
# The inner guest (tests/qemu/build-guest, built by "make tests") boots a
# Debian kernel (6.1) with an initramfs whose /init (tests/qemu/init)
# loads virtio-gpu and runs "vgpu-pattern show": a picture in a KMS dumb
# buffer, which the virtio-gpu driver makes a blob resource when the device
# has blob=true, and which QEMU turns into a dma-buf with
# UDMABUF_CREATE_LIST over its memfd guest RAM and scans out from the
# dma-buf's mmap.  The tests talk to the inner guest over its serial port
# (a pair of FIFOs) and to QEMU over its monitor socket (screendump).
#
# Environment: QEMU_SHOW_TIMEOUT, seconds until the picture is on the
# inner guest's screen (default 900; about 2 minutes on an idle machine).

q_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
q_pattern=$q_top/build/qemu/vgpu-pattern
q_screendump=$q_top/build/demo/bin/qemu-screendump
q_cli=$q_top/build/cli/udmabuf-ext	# runs in place (RUNPATH into build/lib)
q_stats=/sys/class/misc/udmabuf-ext/stats
q_kver=$(uname -r)
q_guest=$q_top/build/qemu/guest
q_size=1024x768
q_fb_pages=$((1024 * 768 * 4 / 4096))
q_mem=256M
q_show_timeout=${QEMU_SHOW_TIMEOUT:-900}
q_message='cannot enable blob resources without udmabuf'

# --- KTAP ----------------------------------------------------------------------
q_n=0
q_failed=0
q_plan() {
	echo "TAP version 13"
	echo "1..$1"
}
q_ok() {	# q_ok STATUS NAME [FILE...]: the FILEs' tails are shown on failure
	local st=$1 name=$2
	shift 2
	q_n=$((q_n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $q_n $name"
	else
		[ $# -eq 0 ] || tail -n 30 "$@" 2>/dev/null | sed 's/^/# /'
		echo "not ok $q_n $name"
		q_failed=$((q_failed + 1))
	fi
}
q_skip() {	# q_skip NAME REASON
	q_n=$((q_n + 1))
	echo "ok $q_n $1 # SKIP $2"
}
q_diag() {
	sed 's/^/# /' "$@"
}
q_exit() {
	exit $((q_failed > 0))
}

# --- which driver serves /dev/udmabuf ----------------------------------------------
# The kernel's own udmabuf can only be built in: with CONFIG_UDMABUF=y it
# serves /dev/udmabuf and the module registers /dev/udmabuf-ext only
# (dropin=-1); otherwise the module's drop-in does.  QEMU's dma-bufs say
# which one made them: their exporter name (fdinfo exp_name) is "udmabuf"
# for the kernel's driver, "udmabuf_ext" for the module.
q_kernel_has_udmabuf() {
	grep -qx 'CONFIG_UDMABUF=y' "/boot/config-$q_kver"
}
q_exporter() {
	if q_kernel_has_udmabuf; then echo udmabuf; else echo udmabuf_ext; fi
}
q_module_loaded() {
	[ -d "$q_stats" ]
}

# The exporter names of PID's dma-buf descriptors, one per line (only a
# dma-buf's fdinfo has an exp_name line).
q_dmabufs() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		sed -n 's/^exp_name:[[:space:]]*//p' "$f" 2>/dev/null
	done
}

# Every counter of the module is zero; prints the ones that are not.
q_counters_zero() {
	local f r=0
	for f in "$q_stats"/*; do
		if [ "$(cat "$f")" != 0 ]; then
			echo "$(basename "$f") = $(cat "$f")"
			r=1
		fi
	done
	return $r
}

# --- QEMU ----------------------------------------------------------------------
# q_qemu_args BLOB [EXTRA...]: the inner QEMU's command line, in q_args:
# the guest RAM a memfd (memory-backend-memfd, sealed), virtio-gpu with
# blob=BLOB (true or false), no display, then EXTRA.
q_qemu_args() {
	local blob=$1
	shift
	# shellcheck disable=SC2054 # commas inside QEMU option values
	q_args=(qemu-system-x86_64 -nodefaults -no-user-config
		-machine q35,memory-backend=mem -accel tcg -cpu max -smp 1 -m "$q_mem"
		-object "memory-backend-memfd,id=mem,size=$q_mem"
		-device "virtio-gpu-pci,blob=$blob,xres=${q_size%x*},yres=${q_size#*x}"
		-display none -no-reboot "$@")
}

q_pid=
q_reader=
q_cleanup() {
	[ -z "$q_pid" ] || kill "$q_pid" 2>/dev/null
	[ -z "$q_reader" ] || kill "$q_reader" 2>/dev/null
	[ -z "${q_dir:-}" ] || rm -rf "$q_dir"
}
trap q_cleanup EXIT

# q_start DIR OWNER [PREFIX...] -- [EXTRA...]: start the inner QEMU in the
# background, through PREFIX (setpriv ..., which execs QEMU, so that q_pid is
# QEMU's pid), as OWNER (uid:gid, which owns DIR and the FIFOs).  Its serial
# output goes to DIR/serial.log, its stderr to DIR/qemu.err.
q_start() {
	local dir=$1 owner=$2 pre=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		pre+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	q_qemu_args true -monitor "unix:$dir/monitor,server=on,wait=off" \
		-serial "pipe:$dir/serial" \
		-kernel "$q_guest/vmlinux" -initrd "$q_guest/initrd.cpio" \
		-append "console=ttyS0 quiet panic=-1 mitigations=off cryptomgr.notests=1" \
		"$@"
	mkfifo "$dir/serial.in" "$dir/serial.out"
	chown -R "$owner" "$dir"
	: >"$dir/serial.log"
	cat "$dir/serial.out" >"$dir/serial.log" &
	q_reader=$!
	"${pre[@]}" "${q_args[@]}" </dev/null >"$dir/qemu.out" 2>"$dir/qemu.err" &
	q_pid=$!
}

# q_wait DIR REGEX TIMEOUT: wait until the serial log has a line matching
# REGEX.  Fails when QEMU exits, the inner /init reports a failure, or after
# TIMEOUT seconds.
q_wait() {
	local dir=$1 re=$2 end=$((SECONDS + $3))
	while ! grep -Eq "$re" "$dir/serial.log"; do
		if ! kill -0 "$q_pid" 2>/dev/null; then
			echo "# QEMU exited before the inner guest printed /$re/"
			return 1
		fi
		if grep -Eq 'vgpu-init: (insmod|cannot)|vgpu-pattern: [^sr]' "$dir/serial.log"; then
			echo "# the inner guest failed:"
			q_diag "$dir/serial.log"
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			echo "# no /$re/ from the inner guest after $3 s"
			return 1
		fi
		sleep 0.5
	done
}

# q_send DIR LINE: a line to the inner guest's console.
q_send() {
	printf '%s\n' "$2" >"$1/serial.in"
}

# q_wait_exit TIMEOUT: wait for QEMU to exit; its exit status in q_status
# (124 after TIMEOUT seconds, when it is killed).
q_wait_exit() {
	local end=$((SECONDS + $1))
	while kill -0 "$q_pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
		sleep 0.5
	done
	if kill -0 "$q_pid" 2>/dev/null; then
		kill "$q_pid"
		wait "$q_pid"
		q_status=124
	else
		q_status=0
		wait "$q_pid" || q_status=$?
	fi
	q_pid=
	wait "$q_reader" 2>/dev/null
	q_reader=
}

# q_try BLOB [PREFIX...] -- [EXTRA...]: start QEMU paused (-S), without
# a guest, and tell it to quit at once on its monitor (stdio): does it accept
# its command line?  Sets q_status (0: it started) and q_err (its stderr).
q_try() {
	local blob=$1 pre=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		pre+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	q_qemu_args "$blob" -S -monitor stdio "$@"
	q_status=0
	q_err=$(echo quit | timeout 300 "${pre[@]}" "${q_args[@]}" 2>&1 >/dev/null) ||
		q_status=$?
}

# --- one round trip ------------------------------------------------------------------
# q_blob_case NAME OWNER [PREFIX...] -- [EXTRA...]: the inner guest shows
# its picture through QEMU and /dev/udmabuf, 7 results:
#   NAME_shows_picture          the screendump equals the picture exactly
#   NAME_buffers_from_DRIVER    QEMU's dma-bufs come from the driver that
#                               serves /dev/udmabuf on this kernel
#   NAME_module_counts_buffer   the module's counters: 1 buffer, the
#                               framebuffer's pages (module only)
#   NAME_list_shows_qemu        "udmabuf-ext list": the buffer, owned by
#                               QEMU's pid (module only)
#   NAME_released_while_running the picture taken down: QEMU holds no
#                               dma-buf any more (and the counters are 0)
#   NAME_qemu_exits_cleanly     the inner guest powers off, QEMU exits 0
#   NAME_counters_zero_after_exit  (module only)
# Also sets q_vmlck: QEMU's VmLck (kB) while the picture was shown.
q_blob_case() {
	local name=$1 owner=$2 exporter pid t0 st names n
	shift 2
	exporter=$(q_exporter)
	q_dir=$(mktemp -d /tmp/qemu-client.XXXXXX)
	chmod 755 "$q_dir"
	t0=$SECONDS
	q_start "$q_dir" "$owner" "$@"
	pid=$q_pid
	if ! q_wait "$q_dir" '^vgpu-pattern: shown' "$q_show_timeout"; then
		q_diag "$q_dir/qemu.err" "$q_dir/serial.log"
		for n in shows_picture "buffers_from_$exporter" module_counts_buffer \
			list_shows_qemu released_while_running qemu_exits_cleanly \
			counters_zero_after_exit; do
			q_ok 1 "${name}_$n"
		done
		return
	fi
	echo "# $name: the picture was on the inner guest's screen after $((SECONDS - t0)) s"
	q_vmlck=$(awk '/^VmLck:/ { print $2 }' "/proc/$pid/status")
	echo "# QEMU's VmLck: ${q_vmlck:-?} kB"

	st=0
	"$q_screendump" "$q_dir/monitor" "$q_dir/screen.ppm" >"$q_dir/dump.log" 2>&1 &&
		"$q_pattern" check -s "$q_size" "$q_dir/screen.ppm" >>"$q_dir/dump.log" 2>&1 || st=1
	q_diag "$q_dir/dump.log"
	q_ok $st "${name}_shows_picture"

	names=$(q_dmabufs "$pid" | sort | uniq -c | sed 's/^ *//')
	echo "# QEMU (pid $pid) holds dma-bufs exported by: ${names:-none}"
	st=1
	if [ -n "$names" ] && [ "$(q_dmabufs "$pid" | sort -u)" = "$exporter" ]; then
		st=0
	fi
	q_ok $st "${name}_buffers_from_$exporter"

	if [ "$exporter" = udmabuf ]; then
		q_skip "${name}_module_counts_buffer" "/dev/udmabuf is the kernel's own driver here (CONFIG_UDMABUF=y): the module does not serve QEMU"
		q_skip "${name}_list_shows_qemu" "/dev/udmabuf is the kernel's own driver here (CONFIG_UDMABUF=y)"
	else
		st=0
		[ "$(cat "$q_stats/buffers")" = 1 ] && [ "$(cat "$q_stats/pages")" = "$q_fb_pages" ] || st=1
		echo "# module: buffers $(cat "$q_stats/buffers"), pages $(cat "$q_stats/pages") (want 1, $q_fb_pages)"
		q_ok $st "${name}_module_counts_buffer"

		"$q_cli" list -rnb >"$q_dir/list" 2>&1
		q_diag "$q_dir/list"
		awk -v pid="$pid" -v size=$((q_fb_pages * 4096)) '
			$2 == pid && $3 == "qemu-system-x86" && $4 == size && $6 ~ /^memfd/ { hit++ }
			END { exit !(hit == 1 && NR == 1) }' "$q_dir/list"
		q_ok $? "${name}_list_shows_qemu"
	fi

	# The picture taken down: the inner guest frees the resource, QEMU
	# closes the dma-buf while it runs on.
	q_send "$q_dir" 'done'
	st=0
	q_wait "$q_dir" '^vgpu-init: vgpu-pattern exit' 120 &&
		grep -q '^vgpu-init: vgpu-pattern exit 0' "$q_dir/serial.log" || st=1
	for _ in $(seq 40); do
		[ -n "$(q_dmabufs "$pid")" ] || break
		sleep 0.25
	done
	[ -z "$(q_dmabufs "$pid")" ] && kill -0 "$pid" 2>/dev/null || st=1
	if [ "$exporter" = udmabuf_ext ]; then
		[ "$(cat "$q_stats/buffers")" = 0 ] || st=1
	fi
	[ "$st" -eq 0 ] || q_diag "$q_dir/serial.log"
	q_ok $st "${name}_released_while_running"

	q_send "$q_dir" off
	q_wait_exit 300
	echo "# $name: QEMU exit status $q_status, $((SECONDS - t0)) s in all"
	[ "$q_status" -eq 0 ]
	q_ok $? "${name}_qemu_exits_cleanly" "$q_dir/qemu.err"

	if [ "$exporter" = udmabuf ]; then
		q_skip "${name}_counters_zero_after_exit" "/dev/udmabuf is the kernel's own driver here (CONFIG_UDMABUF=y)"
	else
		st=0
		q_counters_zero >"$q_dir/counters" || st=1
		"$q_cli" list -rn >>"$q_dir/counters" 2>&1
		[ "$(grep -c . "$q_dir/counters")" -eq 0 ] || st=1
		q_ok $st "${name}_counters_zero_after_exit" "$q_dir/counters"
	fi
	rm -rf "$q_dir"
	q_dir=
}

# q_prereq: what every test here needs; fails the whole plan otherwise.
q_prereq() {	# q_prereq PLANNED-COUNT
	local why=
	command -v qemu-system-x86_64 >/dev/null || why="qemu-system-x86_64 not found"
	[ -x "$q_pattern" ] && [ -x "$q_screendump" ] && [ -r "$q_guest/initrd.cpio" ] &&
		[ -r "$q_guest/vmlinux" ] ||
		why="${why:-no inner guest in build/qemu/guest/ (make tests)}"
	[ -z "$why" ] && return 0
	echo "# $why"
	while [ "$q_n" -lt "$1" ]; do q_ok 1 setup; done
	exit 1
}
