# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2154
#
# tools/bench/common.sh: the build and guest set-up shared by tools/bench/run
# and tools/bench/profile (sourced; TOP, BENCH, prog and die() are the
# caller's).

# bench_kernel KERNEL: the release of KERNEL, a release under /lib/modules
# or a major.minor of "tools/kernels list" (6.1, 6.12); die if unknown.
bench_kernel() {
	local k=$1 rel short
	if [[ -r /boot/vmlinuz-$k && -d /lib/modules/$k ]]; then
		echo "$k"
		return 0
	fi
	while read -r rel short; do
		[[ $short == "$k" ]] && { echo "$rel"; return 0; }
	done < <("$TOP/tools/kernels" list 2>/dev/null || true)
	die "unknown kernel '$k' (a release in /lib/modules, or 6.1, 6.12)"
}

# bench_own_udmabuf REL: true if kernel REL has its own udmabuf built in
# (6.12: CONFIG_UDMABUF=y), which the bench then compares against.
bench_own_udmabuf() {
	grep -qx 'CONFIG_UDMABUF=y' "/boot/config-$1" 2>/dev/null
}

# bench_programs OUT: udmabuf-bench and bench-report in OUT/bin (once for
# every kernel: they are userspace programs).
bench_programs() {
	local out=$1

	pkg-config --exists libdrm || die "libdrm not found (apt-get install libdrm-dev)"
	echo "$prog: building the bench programs" >&2
	mkdir -p "$out/bin"
	local cflags=(-O2 -g -Wall -Wextra -Werror)
	# shellcheck disable=SC2046
	cc "${cflags[@]}" -I "$TOP/uapi" -I "$TOP/tools/media" $(pkg-config --cflags libdrm) \
		-o "$out/bin/udmabuf-bench" "$BENCH/udmabuf-bench.c" "$TOP/tools/media/ub-media.c" \
		$(pkg-config --libs libdrm) || die "udmabuf-bench build failed"
	cc "${cflags[@]}" -o "$out/bin/bench-report" "$BENCH/bench-report.c" -lm ||
		die "bench-report build failed"
}

# bench_modules KDIR_OUT REL [KO]: the modules one kernel's guest loads, in
# KDIR_OUT: udmabuf-ext built for REL (tools/module-build, a private copy
# since udmabuf-ext/ may be rebuilt while a guest runs; KO instead if given)
# and, on a kernel without a udmabuf of its own, upstream 6.1's as the
# comparison (tools/bench/upstream-build; 6.1 only, whose source it adapts).
# Sets BENCH_UPSTREAM to that module's path, or empty.
bench_modules() {
	local out=$1 rel=$2 ko=${3:-} short
	short=$("$TOP/tools/kernels" short "$rel")

	mkdir -p "$out"
	if [[ -n $ko ]]; then
		[[ -f $ko ]] || die "no module $ko"
		echo "$prog: $short: using the module $ko" >&2
		[[ $ko -ef $out/udmabuf_ext.ko ]] || cp "$ko" "$out/udmabuf_ext.ko"
	else
		echo "$prog: $short: building udmabuf-ext for $rel" >&2
		"$TOP/tools/module-build" "$rel" "$out/module" >/dev/null 2>&1 || {
			tail -n 30 "$out/module/build.log" >&2
			die "module build failed; see $out/module/build.log"
		}
		cp "$out/module/udmabuf-ext/udmabuf_ext.ko" "$out/udmabuf_ext.ko"
	fi

	BENCH_UPSTREAM=
	if bench_own_udmabuf "$rel"; then
		echo "$prog: $short: comparing with the kernel's own udmabuf" >&2
	elif [[ $short == 6.1 ]]; then
		echo "$prog: $short: building upstream 6.1 udmabuf (comparison module)" >&2
		KDIR=/lib/modules/$rel/build "$BENCH/upstream-build" "$out/upstream" >/dev/null
		BENCH_UPSTREAM=$out/upstream/udmabuf_upstream.ko
	else
		echo "$prog: $short: no udmabuf to compare with (neither the kernel's own nor 6.1)" >&2
	fi
}

# bench_runner OUT MEM TIMEOUT ICOUNT ERMS REL: set VM_RUN and RUNNER (the
# tools/vm/run options) for a bench guest of kernel REL with the modules of
# bench_modules OUT (BENCH_UPSTREAM), vgem and vivid.
bench_runner() {
	local out=$1 mem=$2 timeout=$3 icount=$4 erms=$5 rel=$6 cpu_append

	VM_RUN=$TOP/tools/vm/run
	# The guest kernel copies with rep movsq, not rep movsb: TCG runs
	# every iteration of a rep-prefixed string instruction on its own, so
	# a byte-wise rep movsb costs 8 times what rep movsq does per byte,
	# whereas hardware with ERMS runs both at about the same speed.
	# Hiding ERMS/FSRM keeps COPY from being charged for an emulator
	# artifact (--erms keeps them).
	cpu_append=clearcpuid=erms,fsrm
	((erms)) && cpu_append=
	RUNNER=(
		--kver "$rel"
		-m "$mem"
		-a "transparent_hugepage=always $cpu_append"
		-k "$out/udmabuf_ext.ko size_limit_mb=2048"
	)
	[[ -z ${BENCH_UPSTREAM:-} ]] || RUNNER+=(-k "$BENCH_UPSTREAM size_limit_mb=2048")
	RUNNER+=(
		-p vgem -p vivid
		# The same for glibc: memcpy/memset stay on their vector loops
		# (the bench's memcpy_rep line measures rep movsq on its own).
		-e "GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=0x7fffffffffff:glibc.cpu.x86_rep_stosb_threshold=0x7fffffffffff"
		-o "$out/guest"
		-t "$timeout"
	)
	if ((icount)); then
		# QEMU refuses -icount with multi-threaded TCG ("No MTTCG when
		# icount is enabled"), and tools/vm/run hard-codes -accel
		# tcg,thread=multi.  Until it has an option for that, run a
		# private copy of it that asks for single-threaded TCG (its
		# caches go to OUT/icount-vm/build/vm).
		if "$VM_RUN" --help | grep -q -- '--accel'; then
			RUNNER+=(--accel "tcg,thread=single")
		else
			local vmcopy=$out/icount-vm
			mkdir -p "$vmcopy/tools/vm"
			sed 's/-accel tcg,thread=multi/-accel tcg,thread=single/' \
				"$VM_RUN" >"$vmcopy/tools/vm/run"
			chmod +x "$vmcopy/tools/vm/run"
			grep -q 'thread=single' "$vmcopy/tools/vm/run" ||
				die "--icount: cannot switch tools/vm/run to single-threaded TCG"
			# The runner's helpers (init, the image builders) beside it.
			find "$TOP/tools/vm" -maxdepth 1 -type f ! -name run \
				-exec cp -p {} "$vmcopy/tools/vm/" \;
			VM_RUN=$vmcopy/tools/vm/run
		fi
		# Secondary CPUs never come up under -icount (QEMU 7.2, x86
		# guest): one vCPU.
		RUNNER+=(-q "-icount shift=0,sleep=off" --smp 1)
	fi
	mkdir -p "$out/guest"
}

# bench_guest_status RC OUT: die with the reason of a failed guest run.
bench_guest_status() {
	case $1 in
	0) ;;
	98) die "the guest's dmesg shows a kernel warning or splat; see $2/guest/dmesg.txt" ;;
	*) die "the guest run failed (exit $1); see $2/guest/console.log" ;;
	esac
}
