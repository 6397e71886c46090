#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/bench-smoke.sh: the benchmark still builds, runs and reports.
#
# Not the benchmark itself ("make bench", docs/performance.md): one short
# guest run of tools/bench/run --quick --sizes small (4 KiB to 2 MiB, 3
# reps, one short V4L2 rep) into its own output directory, then checks that
#   1. the run succeeded (which includes building upstream's 6.1 udmabuf as
#      the comparison module, and a clean guest dmesg);
#   2. samples.csv is well-formed: the header, 7 fields per line, numeric
#      size, rep and value, known groups, no failed method;
#   3. every method was measured on every backing it applies to;
#   4. results.csv is well-formed (11 fields, numeric statistics, min <=
#      median <= max) and has the per-rep speedup rows;
#   5. results.md has its goal verdicts, and the plots were drawn.
# Prints KTAP; exits 0 iff every check passed.  About a minute.

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

s=$out/samples.csv
r=$out/results.csv
bad=$(awk -F, '
	NR == 1 { if ($0 != "group,backing,size,method,rep,metric,value") print "header: " $0; next }
	NF != 7 { print NR ": " NF " fields"; next }
	$1 != "create" && $1 != "v4l2" { print NR ": group " $1 }
	$3 !~ /^[0-9]+$/ || $5 !~ /^[0-9]+$/ || $7 !~ /^-?[0-9]+$/ { print NR ": not numeric: " $0 }
	$6 == "error" { print NR ": failed: " $0 }
	END { if (NR < 2) print "no samples" }' "$s" 2>&1 | head -n 5)
if [[ -z $bad ]]; then
	result OK samples_csv_well_formed
else
	printf '%s\n' "$bad" | sed 's/^/# /'
	result FAIL samples_csv_well_formed
fi

missing=
for b in 4k 4kfrag thp hugetlb; do
	for m in pin pin_ro move copy memfd memfd_up memcpy memcpy_rep; do
		[[ $b == hugetlb && $m == move ]] && continue	# MOVE: anonymous memory only
		grep -q "^create,$b,[0-9]*,$m,[0-9]*,create_ns," "$s" 2>/dev/null ||
			missing+=" $b/$m"
	done
done
for m in dmabuf userptr mmap mmap_memcpy; do
	grep -q "^v4l2,malloc,[0-9]*,$m,[0-9]*,cpu_ns_per_frame," "$s" 2>/dev/null ||
		missing+=" v4l2/$m"
done
if [[ -z $missing ]]; then
	result OK every_method_measured
else
	echo "# not measured:$missing"
	result FAIL every_method_measured
fi

bad=$(awk -F, '
	NR == 1 { if ($0 != "group,backing,size,method,metric,n,median,min,p25,p75,max") print "header: " $0; next }
	NF != 11 { print NR ": " NF " fields"; next }
	{ for (i = 6; i <= 11; i++) if ($i !~ /^-?[0-9.e+-]+$/) { print NR ": not numeric: " $0; next } }
	$8 > $7 || $7 > $11 { print NR ": min <= median <= max violated: " $0 }
	$5 ~ /^speedup_vs_/ { speedups++ }
	END { if (!speedups) print "no speedup rows" }' "$r" 2>&1 | head -n 5)
if [[ -z $bad ]]; then
	result OK results_csv_well_formed
else
	printf '%s\n' "$bad" | sed 's/^/# /'
	result FAIL results_csv_well_formed
fi

bad=
grep -q '^## Goals' "$out/results.md" 2>/dev/null || bad+=" results.md"
for p in first_map speedup release meta v4l2; do
	[[ -s $out/$p.png ]] || bad+=" $p.png"
done
if [[ -z $bad ]]; then
	result OK report_and_plots
else
	echo "# missing:$bad"
	result FAIL report_and_plots
fi

echo "# $((n - failed)) passed, $failed failed"
[[ $failed -eq 0 ]]
