# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2154
#
# tools/bench/common.sh: the build and guest set-up shared by tools/bench/run
# and tools/bench/profile (sourced; TOP, BENCH, prog and die() are the
# caller's).

# bench_build OUT [KO]: the module (a private copy, since the module may be
# rebuilt while a guest runs; KO instead of building udmabuf-ext/ if given),
# upstream 6.1's udmabuf (tools/bench/upstream-build) and the bench programs,
# all under OUT.
bench_build() {
	local out=$1 ko=${2:-}

	pkg-config --exists libdrm || die "libdrm not found (apt-get install libdrm-dev)"
	if [[ -n $ko ]]; then
		[[ -f $ko ]] || die "no module $ko"
		echo "$prog: using the module $ko" >&2
		[[ $ko -ef $out/udmabuf_ext.ko ]] || cp "$ko" "$out/udmabuf_ext.ko"
	else
		echo "$prog: building udmabuf-ext" >&2
		make -s -C "$TOP" module >"$out/module_build.log" 2>&1 || {
			tail -n 30 "$out/module_build.log" >&2
			die "module build failed; see $out/module_build.log"
		}
		cp "$TOP/udmabuf-ext/udmabuf_ext.ko" "$out/udmabuf_ext.ko"
	fi

	echo "$prog: building upstream 6.1 udmabuf (comparison module)" >&2
	"$BENCH/upstream-build" "$out/upstream" >/dev/null

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

# bench_runner OUT MEM TIMEOUT ICOUNT ERMS: set VM_RUN and RUNNER (the
# tools/vm/run options) for a bench guest with both modules, vgem and vivid.
bench_runner() {
	local out=$1 mem=$2 timeout=$3 icount=$4 erms=$5 cpu_append

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
		-m "$mem"
		-a "transparent_hugepage=always $cpu_append"
		-k "$out/udmabuf_ext.ko size_limit_mb=2048"
		-k "$out/upstream/udmabuf_upstream.ko size_limit_mb=2048"
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
			cp "$TOP/tools/vm/init" "$vmcopy/tools/vm/init"
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
