// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgpu-pattern: the picture of the QEMU client test (tests/qemu/blob.sh).
 *
 *   vgpu-pattern show [-d CARD] [-s WxH]
 *	In the inner guest: put the picture on the screen of a KMS device
 *	through a dumb buffer (virtio-gpu makes it a blob resource, which
 *	QEMU turns into a udmabuf), print "vgpu-pattern: shown WxH", keep it
 *	there until a line (or EOF) arrives on stdin, then take it down,
 *	free the buffer and print "vgpu-pattern: released".
 *   vgpu-pattern check [-s WxH] FILE.ppm
 *	In the outer guest: compare a screendump with the picture, pixel
 *	for pixel. Exit status 0 on an exact match, 1 otherwise.
 *   vgpu-pattern expect [-s WxH] FILE.ppm
 *	Write the picture as PPM.
 *
 * Every pixel of the picture is different (R = x, G = y, B = the high bits
 * of both, for up to 4096 x 4096), so a page of the buffer shown in the
 * wrong place, or a page of other memory, cannot match by chance.
 * Linked statically: the inner guest's initramfs has no C library.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "../../tools/demo/demo-util.h"

#define DEFAULT_W	1024
#define DEFAULT_H	768

static void __attribute__((noreturn)) usage(void)
{
	fputs("\nUsage:\n"
	      " vgpu-pattern show [options]\n"
	      " vgpu-pattern check [options] <file.ppm>\n"
	      " vgpu-pattern expect [options] <file.ppm>\n"
	      "\nShow the QEMU client test's picture on a KMS display through a dumb\n"
	      "buffer until stdin has a line; compare a screendump with it; write it.\n"
	      "\nOptions:\n"
	      " -d, --card <path>   KMS device (show; default /dev/dri/card0)\n"
	      " -s, --size <WxH>    the picture's size (default 1024x768)\n"
	      " -h, --help          display this help\n", stdout);
	exit(EXIT_SUCCESS);
}

static uint32_t pattern_xrgb(unsigned int x, unsigned int y)
{
	uint32_t r = x & 0xff, g = y & 0xff;
	uint32_t b = ((x >> 8) & 0xf) | ((y >> 8) & 0xf) << 4;

	return r << 16 | g << 8 | b;
}

static void pattern_fill(uint8_t *dst, unsigned int w, unsigned int h,
			 size_t pitch)
{
	unsigned int x, y;

	for (y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)(dst + y * pitch);

		for (x = 0; x < w; x++)
			row[x] = pattern_xrgb(x, y);
	}
}

static uint8_t *pattern_frame(unsigned int w, unsigned int h)
{
	uint8_t *f = malloc((size_t)w * h * 4);

	if (!f)
		err(EXIT_FAILURE, "malloc");
	pattern_fill(f, w, h, (size_t)w * 4);
	return f;
}

static int show(const char *card, unsigned int w, unsigned int h)
{
	uint32_t conn = 0, crtc = 0, handle, pitch, fb;
	drmModeModeInfo mode;
	uint64_t size, off;
	uint8_t *map;
	char line[64];
	int fd, ret;

	fd = open(card, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		err(EXIT_FAILURE, "%s", card);
	if (!demo_kms_pick(fd, w, h, &mode, &conn, &crtc))
		errx(EXIT_FAILURE, "%s: no connected output with a %ux%u mode", card, w, h);
	ret = drmModeCreateDumbBuffer(fd, w, h, 32, 0, &handle, &pitch, &size);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: create a %ux%u dumb buffer", card, w, h);
	ret = drmModeAddFB(fd, w, h, 24, 32, pitch, handle, &fb);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: add a framebuffer", card);
	ret = drmModeMapDumbBuffer(fd, handle, &off);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: map the dumb buffer", card);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (map == MAP_FAILED)
		err(EXIT_FAILURE, "%s: mmap the dumb buffer", card);
	pattern_fill(map, w, h, pitch);
	ret = drmModeSetCrtc(fd, crtc, fb, 0, 0, &conn, 1, &mode);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: set the mode", card);
	/* Drivers that need to be told what changed (virtio-gpu without blobs). */
	ret = drmModeDirtyFB(fd, fb, NULL, 0);
	if (ret && ret != -ENOSYS)
		demo_errc(EXIT_FAILURE, -ret, "%s: flush the framebuffer", card);
	printf("vgpu-pattern: shown %ux%u, %llu bytes, pitch %u\n", w, h,
	       (unsigned long long)size, pitch);
	fflush(stdout);

	if (!fgets(line, sizeof(line), stdin) && ferror(stdin))
		warn("stdin");
	/* Taken down in order: the CRTC, the framebuffer, the buffer. */
	ret = drmModeSetCrtc(fd, crtc, 0, 0, 0, NULL, 0, NULL);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: switch the output off", card);
	if (munmap(map, size))
		err(EXIT_FAILURE, "munmap");
	ret = drmModeRmFB(fd, fb);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: remove the framebuffer", card);
	ret = drmModeDestroyDumbBuffer(fd, handle);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: destroy the dumb buffer", card);
	close(fd);
	printf("vgpu-pattern: released\n");
	return EXIT_SUCCESS;
}

static int check(const char *path, unsigned int w, unsigned int h)
{
	const struct demo_format *fmt = demo_format_by_v4l2(V4L2_PIX_FMT_XBGR32);
	struct demo_image img = { 0 };
	unsigned long pages = 0, page, last = ~0UL;
	unsigned int fx = 0, fy = 0, x, y;
	uint8_t *frame;
	long bad;
	int ret;

	ret = demo_ppm_read(path, &img);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: not a readable binary PPM", path);
	if (img.w != w || img.h != h) {
		warnx("%s: %ux%u, the picture is %ux%u", path, img.w, img.h, w, h);
		return EXIT_FAILURE;
	}
	frame = pattern_frame(w, h);
	bad = demo_compare_region(&img, fmt, frame, (size_t)w * 4, 0, 0, w, h,
				  &fx, &fy);
	if (bad < 0)
		demo_errc(EXIT_FAILURE, (int)-bad, "compare");
	if (!bad) {
		printf("vgpu-pattern: %s matches the %ux%u picture exactly\n", path, w, h);
		free(frame);
		free(img.rgb);
		return EXIT_SUCCESS;
	}
	/* Which 4 KiB pages of a w * 4 byte pitch framebuffer differ. */
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			const uint8_t *s = img.rgb + ((size_t)y * w + x) * 3;
			uint32_t v = pattern_xrgb(x, y);

			if (s[0] == (v >> 16 & 0xff) && s[1] == (v >> 8 & 0xff) &&
			    s[2] == (v & 0xff))
				continue;
			page = ((size_t)y * w + x) * 4 / DEMO_PAGE;
			if (page != last)
				pages++;
			last = page;
		}
	}
	{
		const uint8_t *s = img.rgb + ((size_t)fy * w + fx) * 3;

		printf("vgpu-pattern: %s differs from the picture in %ld of %u pixels "
		       "(%lu of %zu pages of the framebuffer); first at %u,%u: "
		       "%02x%02x%02x, want %06x\n", path, bad, w * h, pages,
		       ((size_t)w * h * 4 + DEMO_PAGE - 1) / DEMO_PAGE, fx, fy,
		       s[0], s[1], s[2], pattern_xrgb(fx, fy));
	}
	free(frame);
	free(img.rgb);
	return EXIT_FAILURE;
}

static int expect(const char *path, unsigned int w, unsigned int h)
{
	const struct demo_format *fmt = demo_format_by_v4l2(V4L2_PIX_FMT_XBGR32);
	uint8_t *frame = pattern_frame(w, h);
	int ret = demo_ppm_write_frame(path, fmt, frame, w, h, (size_t)w * 4);

	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s", path);
	free(frame);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "card", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *card = "/dev/dri/card0", *cmd;
	unsigned int w = DEFAULT_W, h = DEFAULT_H;
	char end;
	int c;

	/* GNU getopt permutes: options may come before or after the command. */
	while ((c = getopt_long(argc, argv, "d:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			card = optarg;
			break;
		case 's':
			if (sscanf(optarg, "%ux%u%c", &w, &h, &end) != 2 ||
			    !w || !h || w > 4096 || h > 4096)
				errx(EXIT_FAILURE, "bad size '%s' (WxH, up to 4096x4096)", optarg);
			break;
		case 'h':
			usage();
		default:
			fprintf(stderr, "Try 'vgpu-pattern --help' for more information.\n");
			return 2;
		}
	}
	cmd = optind < argc ? argv[optind++] : "";
	if (!strcmp(cmd, "show") && optind == argc)
		return show(card, w, h);
	if (!strcmp(cmd, "check") && optind + 1 == argc)
		return check(argv[optind], w, h);
	if (!strcmp(cmd, "expect") && optind + 1 == argc)
		return expect(argv[optind], w, h);
	warnx("bad command line");
	fprintf(stderr, "Try 'vgpu-pattern --help' for more information.\n");
	return 2;
}
