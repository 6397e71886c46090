#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/bench-smoke.sh: the benchmark still builds, runs and reports.
#
# Not the benchmark itself ("make bench", docs/performance.md): one short
# run of tools/bench/run --quick --sizes small (4 KiB to 2 MiB, 3 reps, one
# short V4L2 rep), a guest per kernel of "tools/kernels list", into its own
# output directory, then checks that
#   1. the run succeeded (which includes building the module for every
#      kernel and upstream's 6.1 udmabuf as the comparison module on 6.1,
#      and a clean guest dmesg on each);
#   2. each kernel's samples.csv is well-formed: the header, 7 fields per
#      line, numeric size, rep and value, known groups, no failed method;
#   3. every method was measured on every backing it applies to: on 6.1
#      all of them, against upstream 6.1's udmabuf; on a kernel with its own
#      udmabuf (6.12) the memfd path against it, with its CPU access;
#   4. each results.csv is well-formed (11 fields, numeric statistics, min
#      <= median <= max) and has the per-rep speedup rows;
#   5. each results.md has its goal verdicts, the plots were drawn, and
#      the combined results.md has every kernel's.
# Prints KTAP; exits 0 iff every check passed.  About two minutes.

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
out=$(mktemp -d "$repo/build/bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT

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

start=$SECONDS
rc=0
timeout 600 tools/bench/run --quick --sizes small --v4l2-reps 1 --frames 3 \
	--out "$out" >"$out/run.out" 2>"$out/run.err" </dev/null || rc=$?
echo "# tools/bench/run --quick --sizes small: exit $rc after $((SECONDS - start)) s"
if [[ $rc -eq 0 ]]; then
	result OK bench_run
else
	tail -n 20 "$out/run.err" | sed 's/^/# /'
	result FAIL bench_run
fi

mapfile -t kernels < <(tools/kernels list 2>/dev/null)
[[ ${#kernels[@]} -gt 0 ]] || echo "# tools/kernels list: no kernel"

# The checks below, on every kernel's directory: the first failure's lines.
bad=
for k in "${kernels[@]}"; do
	read -r rel short <<<"$k"
	bad+=$(awk -F, -v k="$short" '
		NR == 1 { if ($0 != "group,backing,size,method,rep,metric,value") print k ": header: " $0; next }
		NF != 7 { print k ": " NR ": " NF " fields"; next }
		$1 != "create" && $1 != "v4l2" { print k ": " NR ": group " $1 }
		$3 !~ /^[0-9]+$/ || $5 !~ /^[0-9]+$/ || $7 !~ /^-?[0-9]+$/ { print k ": " NR ": not numeric: " $0 }
		$6 == "error" { print k ": " NR ": failed: " $0 }
		END { if (NR < 2) print k ": no samples" }' "$out/$short/samples.csv" 2>&1 | head -n 5)
done
if [[ -z $bad ]]; then
	result OK samples_csv_well_formed
else
	printf '%s\n' "$bad" | sed 's/^/# /'
	result FAIL samples_csv_well_formed
fi

missing=
for k in "${kernels[@]}"; do
	read -r rel short <<<"$k"
	s=$out/$short/samples.csv
	if grep -qx 'CONFIG_UDMABUF=y' "/boot/config-$rel"; then
		# The kernel's own udmabuf: the memfd path against it.
		for b in 4k thp hugetlb; do
			for m in memfd memfd_kernel; do
				grep -q "^create,$b,[0-9]*,$m,[0-9]*,cpu_ns," "$s" 2>/dev/null ||
					missing+=" $short/$b/$m"
			done
		done
		continue
	fi
	for b in 4k 4kfrag thp hugetlb; do
		for m in pin pin_ro move copy memfd memfd_up memcpy memcpy_rep; do
			[[ $b == hugetlb && $m == move ]] && continue	# MOVE: anonymous memory only
			grep -q "^create,$b,[0-9]*,$m,[0-9]*,create_ns," "$s" 2>/dev/null ||
				missing+=" $short/$b/$m"
		done
	done
	grep -q "^create,4k,[0-9]*,memfd,[0-9]*,cpu_ns," "$s" 2>/dev/null ||
		missing+=" $short/4k/memfd/cpu"
	for m in dmabuf userptr mmap mmap_memcpy; do
		grep -q "^v4l2,malloc,[0-9]*,$m,[0-9]*,cpu_ns_per_frame," "$s" 2>/dev/null ||
			missing+=" $short/v4l2/$m"
	done
done
if [[ -z $missing && ${#kernels[@]} -gt 0 ]]; then
	result OK every_method_measured
else
	echo "# not measured:$missing"
	result FAIL every_method_measured
fi

bad=
for k in "${kernels[@]}"; do
	read -r rel short <<<"$k"
	bad+=$(awk -F, -v k="$short" '
		NR == 1 { if ($0 != "group,backing,size,method,metric,n,median,min,p25,p75,max") print k ": header: " $0; next }
		NF != 11 { print k ": " NR ": " NF " fields"; next }
		{ for (i = 6; i <= 11; i++) if ($i !~ /^-?[0-9.e+-]+$/) { print k ": " NR ": not numeric: " $0; next } }
		$8 > $7 || $7 > $11 { print k ": " NR ": min <= median <= max violated: " $0 }
		$5 ~ /^speedup_vs_/ { speedups++ }
		END { if (!speedups) print k ": no speedup rows" }' "$out/$short/results.csv" 2>&1 | head -n 5)
done
if [[ -z $bad ]]; then
	result OK results_csv_well_formed
else
	printf '%s\n' "$bad" | sed 's/^/# /'
	result FAIL results_csv_well_formed
fi

bad=
for k in "${kernels[@]}"; do
	read -r rel short <<<"$k"
	grep -q '^## Goals' "$out/$short/results.md" 2>/dev/null || bad+=" $short/results.md"
	grep -q "^## Linux $rel\$" "$out/results.md" 2>/dev/null || bad+=" results.md:$short"
	if grep -qx 'CONFIG_UDMABUF=y' "/boot/config-$rel"; then
		plots="first_map speedup release meta vs-kernel"
	else
		plots="first_map speedup release meta v4l2 vs-upstream"
	fi
	for p in $plots; do
		[[ -s $out/$short/$p.png ]] || bad+=" $short/$p.png"
	done
done
if [[ -z $bad ]]; then
	result OK report_and_plots
else
	echo "# missing:$bad"
	result FAIL report_and_plots
fi

echo "# $((n - failed)) passed, $failed failed"
[[ $failed -eq 0 ]]
