#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/host/demo.sh: the acceptance test of "make demo" (docs/demo.md).
#
# Runs tools/demo/run, the command behind "make demo", into a fresh
# build/demo-check.XXXXXX/ (removed when every check passed; a QEMU guest with a Cirrus VGA display, vivid and the module; the
# screenshots come from the QEMU monitor, so this runs on the host), then
# checks its results here, with netpbm, independently of the demo programs'
# own checks:
#   - the run passed, its guest's dmesg clean (tools/vm/run's gate);
#   - the screenshot PNG exists, and the screenshot equals the shown frame,
#     as the capture's raw bytes (B,G,R,X) say, exactly, on a known region
#     and on the whole screen;
#   - a frame copied into plain malloc()'d memory (not page aligned), shown
#     as a COPY buffer with framebuffer offsets[0] = its data offset, is on
#     screen exactly (every view of the buffer starts at its first page);
#   - the cube screenshot contains the colours of the malloc()'d texture
#     image (texture.ppm), and the texture path taken is the documented
#     one (imported, or the upload fallback with the MAP_DUMB verdict);
#   - the comparison ran, and MMAP + memcpy spends more CPU time in the
#     program than DMABUF (the copy).
# Prints KTAP; exit status 0 iff every check passed.

# Check functions are called through check(): shellcheck cannot see it.
# shellcheck disable=SC2317
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
mkdir -p "$repo/build"
out=$(mktemp -d "$repo/build/demo-check.XXXXXX") || exit 1
n=0
failed=0

ok() {	# NAME
	n=$((n + 1))
	echo "ok $n $1"
}
not_ok() {	# NAME REASON
	n=$((n + 1))
	echo "# $1: $2"
	echo "not ok $n $1"
	failed=1
}
check() {	# NAME REASON COMMAND...
	local name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else not_ok "$name" "$why"; fi
}
kv() {	# FILE KEY
	sed -n "s/^$2=//p" "$1" 2>/dev/null | tail -n 1
}
field() {	# "a=1 b=2" NAME
	local w
	for w in $1; do
		[[ $w == "$2="* ]] && { printf '%s' "${w#*=}"; return; }
	done
}

echo "TAP version 13"
echo "1..9"

for t in pnmtopng pamcut ppmhist perl; do
	command -v "$t" >/dev/null || { echo "# $t missing (tools/deps.txt: netpbm, perl)"; }
done

t0=$SECONDS
rc=0
DEMO_FRAMES=30 DEMO_ROUNDS=3 DEMO_CUBE_FRAMES=10 tools/demo/run -o "$out" \
	>"$out.log" 2>&1 || rc=$?
echo "# tools/demo/run -o ${out#"$repo"/}: exit status $rc in $((SECONDS - t0)) s"
sed -n '/^udmabuf-ext demo,/,$p' "$out.log" | sed 's/^/# /'
if [[ $rc -eq 0 ]]; then
	ok demo_run_passes
else
	tail -n 30 "$out.log" | sed 's/^/# /'
	not_ok demo_run_passes "tools/demo/run failed (exit status $rc)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/demo-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- the display -------------------------------------------------------------------
png_ok() {
	[[ -s $1 ]] && [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]
}
check screenshot_png_written "no PNG screenshot at ${out#"$repo"/}/screen-demo.png" \
	png_ok "$out/screen-demo.png"

# The frame as captured (shown.raw: B,G,R,X bytes, 800x600), as a PPM made
# here; the screenshot must equal it.
w=800
h=600
raw_to_ppm() {	# RAW PPM
	perl -e 'local $/; my $d = <STDIN>; my $o = "";
		for (my $i = 0; $i < length($d); $i += 4) {
			$o .= substr($d, $i + 2, 1) . substr($d, $i + 1, 1) . substr($d, $i, 1);
		}
		print "P6\n'"$w $h"'\n255\n", $o;' <"$1" >"$2"
}
region_equal() {	# A B LEFT TOP WIDTH HEIGHT
	pamcut -left "$3" -top "$4" -width "$5" -height "$6" "$1" >"$tmp/a.pnm" 2>/dev/null &&
		pamcut -left "$3" -top "$4" -width "$5" -height "$6" "$2" >"$tmp/b.pnm" 2>/dev/null &&
		cmp -s "$tmp/a.pnm" "$tmp/b.pnm"
}
display_check() {
	[[ -s $out/shown.raw && -s $out/screen-demo.ppm ]] || return 1
	raw_to_ppm "$out/shown.raw" "$tmp/shown.ppm" || return 1
	# Not a blank picture: vivid's colour squares have 8 colours.
	[[ $(ppmhist -noheader "$tmp/shown.ppm" | wc -l) -ge 8 ]] || return 1
	# The known region: the centre quarter; then the whole screen.
	region_equal "$out/screen-demo.ppm" "$tmp/shown.ppm" 200 150 400 300 || return 1
	region_equal "$out/screen-demo.ppm" "$tmp/shown.ppm" 0 0 "$w" "$h"
}
check screenshot_equals_shown_frame \
	"screen-demo.ppm differs from the captured bytes of the shown frame (shown.raw)" \
	display_check

# An unaligned copy, offsets[0] = its data offset: the picture is exact.
fb_offset_check() {
	local off
	off=$(kv "$out/fb-offset/demo.summary" copy_data_offset)
	[[ $off =~ ^[0-9]+$ ]] && ((off > 0)) || return 1
	[[ $(kv "$out/fb-offset/demo.summary" fb_offset) == data ]] || return 1
	raw_to_ppm "$out/fb-offset/shown.raw" "$tmp/fbo.ppm" || return 1
	region_equal "$out/screen-fb-offset.ppm" "$tmp/fbo.ppm" 0 0 "$w" "$h"
}
check fb_offset_data_shows_unaligned_copy \
	"an unaligned COPY buffer with offsets[0] = data offset is not on screen exactly" \
	fb_offset_check

# --- the cube ------------------------------------------------------------------------
check cube_screenshot_png_written "no PNG at ${out#"$repo"/}/screen-cube.png" \
	png_ok "$out/screen-cube.png"

# Every colour of the malloc()'d texture image (copied into its dma-buf)
# appears in the screenshot,
# on at least 200 pixels.
cube_colours_check() {
	local r g b cnt colours=0
	[[ -s $out/texture.ppm && -s $out/screen-cube.ppm ]] || return 1
	ppmhist -noheader "$out/screen-cube.ppm" | awk '{ print $1, $2, $3, $NF }' >"$tmp/screen.hist"
	while read -r r g b _; do
		colours=$((colours + 1))
		cnt=$(awk -v r="$r" -v g="$g" -v b="$b" '$1 == r && $2 == g && $3 == b { print $4 }' \
			"$tmp/screen.hist")
		echo "# texture colour $r,$g,$b: ${cnt:-0} pixels in the cube screenshot"
		[[ ${cnt:-0} -ge 200 ]] || return 1
	done < <(ppmhist -noheader "$out/texture.ppm" | awk '{ print $1, $2, $3, $NF }')
	((colours >= 2))
}
check cube_screenshot_has_texture_colours \
	"the cube screenshot lacks colours of the malloc()'d texture" cube_colours_check

cube_path_check() {
	local path verdict
	path=$(kv "$out/cube.summary" texture_path)
	verdict=$(kv "$out/cube.summary" egl_verdict)
	echo "# cube texture path: ${path:-?}; EGL verdict: ${verdict:-none}"
	[[ $path == dmabuf_import ]] ||
		[[ $path == upload_fallback && $verdict == kms_swrast_map_dumb_einval ]]
}
check cube_texture_path_documented \
	"the cube's texture path is neither the import nor the documented fallback" \
	cube_path_check

# --- the numbers ---------------------------------------------------------------------
compare_check() {
	local d m
	d=$(field "$(kv "$out/demo.summary" loop_dmabuf)" program_ms_per_frame)
	m=$(field "$(kv "$out/demo.summary" loop_mmap_memcpy)" program_ms_per_frame)
	[[ -n $d && -n $m ]] || return 1
	echo "# CPU ms/frame in the program: DMABUF $d, MMAP + memcpy $m"
	awk -v d="$d" -v m="$m" 'BEGIN { exit !(m > d) }'
}
check compare_memcpy_costs_more \
	"the comparison is missing, or MMAP + memcpy did not cost more CPU in the program" \
	compare_check

summary_check() {
	[[ -s $out/summary.txt ]] && grep -q '^result  : pass$' "$out/summary.txt"
}
check summary_says_pass "${out#"$repo"/}/summary.txt does not say pass" summary_check

if [[ $failed -eq 0 ]]; then
	rm -rf "$out" "$out.log"
else
	echo "# results kept in ${out#"$repo"/}/ (summary.txt, *.png) and ${out#"$repo"/}.log"
fi
exit "$failed"
