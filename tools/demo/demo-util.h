/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the demo programs (tools/demo/), the demo tests
 * (tests/demo_*.c) and the QEMU client test (tests/qemu/): V4L2 plumbing,
 * the format table between V4L2 and DRM fourccs, picking a KMS output, PPM
 * files, frame comparison and CPU clocks.
 *
 * Header-only (static inline), so each program takes what it uses. Every
 * function that can fail returns 0 or a negative errno.
 */
#ifndef UDMABUF_DEMO_UTIL_H
#define UDMABUF_DEMO_UTIL_H

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <linux/videodev2.h>
#include <drm_fourcc.h>
#include <xf86drmMode.h>

#include "ub-media.h"

#define DEMO_PAGE		4096UL
#define DEMO_DQ_TIMEOUT_MS	10000	/* for ubm_dqbuf() */

/* err() with an explicit error code (glibc before 2.38 has no errc()). */
static inline void __attribute__((noreturn, format(printf, 3, 4)))
demo_errc(int status, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errno = code;
	verr(status, fmt, ap);
}

/* ---- V4L2 -------------------------------------------------------------- */

/*
 * V4L2 node discovery, controls and streaming calls are tools/media's
 * (ub-media.h: ubm_video_open(), ubm_reqbufs(), ubm_qbuf(), ubm_dqbuf(),
 * ...), shared with the tests and the benchmark.
 */

/* ---- Formats ----------------------------------------------------------- */

/*
 * Packed single-plane formats with the same bytes in memory on both sides,
 * and how to turn a pixel into R, G, B (byte positions; cpp 2 = RGB565).
 */
struct demo_format {
	uint32_t v4l2;
	uint32_t drm;
	unsigned int cpp;
	int r, g, b;		/* byte index of each channel (cpp 3 and 4) */
	const char *name;
};

static const struct demo_format demo_formats[] = {
	/* V4L2 XBGR32 is B,G,R,X in memory: DRM XRGB8888 (little endian). */
	{ V4L2_PIX_FMT_XBGR32, DRM_FORMAT_XRGB8888, 4, 2, 1, 0, "XR24/XRGB8888" },
	{ V4L2_PIX_FMT_ABGR32, DRM_FORMAT_ARGB8888, 4, 2, 1, 0, "AR24/ARGB8888" },
	{ V4L2_PIX_FMT_BGR32, DRM_FORMAT_XRGB8888, 4, 2, 1, 0, "BGR4/XRGB8888" },
	/* V4L2 XRGB32 is X,R,G,B in memory: DRM BGRX8888. */
	{ V4L2_PIX_FMT_XRGB32, DRM_FORMAT_BGRX8888, 4, 1, 2, 3, "BX24/BGRX8888" },
	/* V4L2 BGR24 is B,G,R: DRM RGB888. */
	{ V4L2_PIX_FMT_BGR24, DRM_FORMAT_RGB888, 3, 2, 1, 0, "BGR3/RGB888" },
	{ V4L2_PIX_FMT_RGB24, DRM_FORMAT_BGR888, 3, 0, 1, 2, "RGB3/BGR888" },
	{ V4L2_PIX_FMT_RGB565, DRM_FORMAT_RGB565, 2, -1, -1, -1, "RGBP/RGB565" },
};

static inline const struct demo_format *demo_format_by_v4l2(uint32_t v4l2)
{
	size_t i;

	for (i = 0; i < sizeof(demo_formats) / sizeof(demo_formats[0]); i++)
		if (demo_formats[i].v4l2 == v4l2)
			return &demo_formats[i];
	return NULL;
}

static inline const char *demo_fourcc_str(uint32_t f, char buf[5])
{
	buf[0] = f & 0xff;
	buf[1] = (f >> 8) & 0xff;
	buf[2] = (f >> 16) & 0xff;
	buf[3] = (f >> 24) & 0x7f;
	buf[4] = 0;
	return buf;
}

/* The pixel at @p in @fmt as 8-bit R, G, B. */
static inline void demo_pixel_rgb(const struct demo_format *fmt,
				  const uint8_t *p, uint8_t rgb[3])
{
	if (fmt->cpp == 2) {
		uint16_t v = p[0] | p[1] << 8;
		unsigned int r = v >> 11, g = (v >> 5) & 0x3f, b = v & 0x1f;

		rgb[0] = (r << 3) | (r >> 2);
		rgb[1] = (g << 2) | (g >> 4);
		rgb[2] = (b << 3) | (b >> 2);
		return;
	}
	rgb[0] = p[fmt->r];
	rgb[1] = p[fmt->g];
	rgb[2] = p[fmt->b];
}

/* ---- KMS --------------------------------------------------------------- */

/*
 * Find a connected output of the KMS device @fd with a (progressive) @w x @h
 * mode: its mode, connector and a CRTC for it (the connector's current one,
 * else the first its encoders can use). Returns false if there is none.
 */
static inline bool demo_kms_pick(int fd, unsigned int w, unsigned int h,
				 drmModeModeInfo *mode, uint32_t *conn_id,
				 uint32_t *crtc_id)
{
	drmModeRes *res = drmModeGetResources(fd);
	bool found = false;
	int i, j;

	if (!res)
		return false;
	for (i = 0; i < res->count_connectors && !found; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		drmModeEncoder *e;

		if (!c)
			continue;
		if (c->connection != DRM_MODE_CONNECTED) {
			drmModeFreeConnector(c);
			continue;
		}
		for (j = 0; j < c->count_modes; j++) {
			if (c->modes[j].hdisplay == w && c->modes[j].vdisplay == h &&
			    !(c->modes[j].flags & DRM_MODE_FLAG_INTERLACE)) {
				*mode = c->modes[j];
				found = true;
				break;
			}
		}
		if (!found) {
			drmModeFreeConnector(c);
			continue;
		}
		*conn_id = c->connector_id;
		*crtc_id = 0;
		e = c->encoder_id ? drmModeGetEncoder(fd, c->encoder_id) : NULL;
		if (e && e->crtc_id)
			*crtc_id = e->crtc_id;
		drmModeFreeEncoder(e);
		for (j = 0; !*crtc_id && j < c->count_encoders; j++) {
			int m;

			e = drmModeGetEncoder(fd, c->encoders[j]);
			if (!e)
				continue;
			for (m = 0; m < res->count_crtcs; m++) {
				if (e->possible_crtcs & (1u << m)) {
					*crtc_id = res->crtcs[m];
					break;
				}
			}
			drmModeFreeEncoder(e);
		}
		if (!*crtc_id)
			found = false;
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return found;
}

/* ---- PPM (binary P6, maxval 255) --------------------------------------- */

struct demo_image {
	unsigned int w, h;
	uint8_t *rgb;		/* w * h * 3 bytes */
};

/* Write a frame of @fmt (@pitch bytes per row) as PPM. */
static inline int demo_ppm_write_frame(const char *path,
				       const struct demo_format *fmt,
				       const uint8_t *frame, unsigned int w,
				       unsigned int h, size_t pitch)
{
	uint8_t *row = malloc((size_t)w * 3);
	unsigned int x, y;
	int ret = 0;
	FILE *f;

	if (!row)
		return -ENOMEM;
	f = fopen(path, "we");
	if (!f) {
		free(row);
		return -errno;
	}
	fprintf(f, "P6\n%u %u\n255\n", w, h);
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++)
			demo_pixel_rgb(fmt, frame + y * pitch + x * fmt->cpp,
				       row + x * 3);
		if (fwrite(row, 3, w, f) != w) {
			ret = -EIO;
			break;
		}
	}
	if (fclose(f) && !ret)
		ret = -errno;
	free(row);
	return ret;
}

static inline int demo_write_file(const char *path, const void *data,
				  size_t len)
{
	FILE *f = fopen(path, "we");
	int ret = 0;

	if (!f)
		return -errno;
	if (fwrite(data, 1, len, f) != len)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* Skip whitespace and '#' comments in a PPM header. */
static inline int demo_ppm_skip(FILE *f)
{
	int c;

	for (;;) {
		c = fgetc(f);
		if (c == '#') {
			while (c != '\n' && c != EOF)
				c = fgetc(f);
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == EOF)
			return -EINVAL;
		ungetc(c, f);
		return 0;
	}
}

/* Read a binary PPM (P6, maxval 255), as QEMU's screendump writes it. */
static inline int demo_ppm_read(const char *path, struct demo_image *img)
{
	unsigned int w, h, maxval;
	size_t n;
	FILE *f;
	int c;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgetc(f) != 'P' || fgetc(f) != '6' || demo_ppm_skip(f) ||
	    fscanf(f, "%u", &w) != 1 || demo_ppm_skip(f) ||
	    fscanf(f, "%u", &h) != 1 || demo_ppm_skip(f) ||
	    fscanf(f, "%u", &maxval) != 1 || maxval != 255 ||
	    !w || !h || w > 16384 || h > 16384) {
		fclose(f);
		return -EINVAL;
	}
	c = fgetc(f);	/* the single whitespace before the raster */
	if (c != '\n' && c != ' ' && c != '\t' && c != '\r') {
		fclose(f);
		return -EINVAL;
	}
	n = (size_t)w * h * 3;
	img->rgb = malloc(n);
	if (!img->rgb) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(img->rgb, 1, n, f) != n) {
		free(img->rgb);
		img->rgb = NULL;
		fclose(f);
		return -EIO;
	}
	fclose(f);
	img->w = w;
	img->h = h;
	return 0;
}

/*
 * Compare the @rw x @rh region at (@rx, @ry) of screenshot @img with the
 * same region of @frame. Returns the number of differing pixels (0: exact
 * match) and the first one in *@fx, *@fy; -EINVAL if the region does not
 * fit.
 */
static inline long demo_compare_region(const struct demo_image *img,
				       const struct demo_format *fmt,
				       const uint8_t *frame, size_t pitch,
				       unsigned int rx, unsigned int ry,
				       unsigned int rw, unsigned int rh,
				       unsigned int *fx, unsigned int *fy)
{
	unsigned int x, y;
	long bad = 0;
	uint8_t rgb[3];

	if (!rw || !rh || rx + rw > img->w || ry + rh > img->h)
		return -EINVAL;
	for (y = ry; y < ry + rh; y++) {
		for (x = rx; x < rx + rw; x++) {
			const uint8_t *s = img->rgb + ((size_t)y * img->w + x) * 3;

			demo_pixel_rgb(fmt, frame + y * pitch + x * fmt->cpp, rgb);
			if (memcmp(s, rgb, 3)) {
				if (!bad++) {
					*fx = x;
					*fy = y;
				}
			}
		}
	}
	return bad;
}

/* ---- Frames ------------------------------------------------------------ */

/* Offset of the first byte where @a and @b differ, or -1. */
static inline long demo_first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	if (!memcmp(a, b, n))
		return -1;
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

/* Offset of the first byte that is not @c, or -1. */
static inline long demo_first_not(const uint8_t *p, uint8_t c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != c)
			return i;
	return -1;
}

/* ---- Clocks ------------------------------------------------------------ */

static inline double demo_now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* UDMABUF_DEMO_UTIL_H */
