// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-demo: heap frames from V4L2 capture to a KMS display.
 *
 * Each frame buffer is heap memory from udmabuf_ext_alloc() turned into a
 * dma-buf by udmabuf-ext (PIN mode: the process, the capture device and the
 * display all use the same pages). Not plain malloc(): a device writes
 * whole pages, and the bytes around a malloc()'d block are the allocator's
 * (glibc's chunk header sits in the 16 bytes before a large block's
 * pointer), so the module only lets devices write ranges that are page
 * aligned at both ends, as i915 userptr does. udmabuf_ext_alloc() returns
 * page-aligned memory of whole pages. The capture device writes the frames into it
 * (V4L2_MEMORY_DMABUF); the display device imports the same dma-buf by
 * PRIME (drmPrimeFDToHandle), wraps it in a framebuffer (drmModeAddFB2) and
 * shows it (drmModeSetCrtc, then drmModePageFlip). No copy is made by the
 * program.
 *
 * Every hop is checked:
 *  - capture: each frame has the full size, lands at the frame's pointer
 *    without touching the guard bytes after it, and, when the source is a
 *    still picture, equals the frame the device captures into its own MMAP
 *    buffers;
 *  - import: the GEM handle re-exports the very same dma-buf, whose pages
 *    hold the frame, and the buffer has an importer attached;
 *  - display: with --screenshot, the screenshot taken while the last frame
 *    is on screen (--on-shown) must equal that frame, pixel for pixel.
 *
 * With --compare the same capture loop also runs over V4L2_MEMORY_USERPTR
 * and over V4L2_MEMORY_MMAP followed by memcpy() into heap memory, and the
 * CPU time per frame of the three is compared.
 *
 * With --show-copy the shown frame is then copied into plain malloc()'d
 * memory, which is not page aligned, and given to the display as a COPY
 * buffer (devices may not write such a range; a display import maps it
 * for writing too, so read-only will not do), with drmModeAddFB2
 * offsets[0] = the buffer's data offset (--fb-offset data) or 0: every view
 * of the buffer starts at its first page, so the data offset is where the
 * frame is for the display too.
 *
 * Nothing here is specific to the QEMU guest that "make demo" uses; the
 * guest specifics (vivid's configuration, the screendump) are in
 * tools/demo/run and tools/demo/guest.
 */
#define _GNU_SOURCE
#include <err.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <xf86drm.h>
#include <xf86drmMode.h>

#include "udmabuf-ext-lib.h"
#include "demo-util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_CHECK	3	/* a content check failed */
#define MAX_BUFS	16
#define GUARD		DEMO_PAGE	/* bytes after each frame that must stay */
#define CANARY		0xa5

enum fb_offset { FB_OFFSET_ZERO, FB_OFFSET_DATA };
enum expect { EXPECT_EXACT, EXPECT_SHIFTED };

struct opts {
	const char *video;
	const char *card;
	const char *outdir;
	const char *on_shown;
	const char *screenshot;
	unsigned int frames;
	unsigned int nbufs;
	bool display;
	bool compare;
	unsigned int rounds;
	unsigned int hold;
	enum fb_offset fb_offset;
	enum expect expect;
	bool show_copy;
	uint32_t set_fourcc;
	unsigned int set_w, set_h;
	unsigned int rx, ry, rw, rh;	/* region; rw == 0: whole frame */
};

/* One frame buffer: heap memory and its udmabuf-ext dma-buf. */
struct buf {
	uint8_t *data;		/* the frame's pointer: the frame lands here */
	void *alloc;		/* what to free() */
	int fd;			/* its dma-buf */
	uint32_t data_offset;
	uint64_t dmabuf_size;
	uint32_t handle;	/* GEM handle of the PRIME import */
	uint32_t fb;		/* KMS framebuffer */
};

struct capture {
	int fd;
	char path[64];
	char card[32];		/* the device's name (QUERYCAP card) */
	const struct demo_format *fmt;
	unsigned int w, h;
	size_t pitch, size;
	uint8_t *ref;		/* still picture from MMAP, or NULL if live */
};

struct kms {
	int fd;
	char path[32];
	uint32_t conn_id, crtc_id;
	drmModeModeInfo mode;
	drmModeCrtc *saved;
	bool crtc_set;
	bool can_flip;
	bool flip_pending;
};

/* Results of one capture loop. */
struct loop_stats {
	const char *name;
	unsigned int frames;
	double wall, cpu, user, sys;
	double in_v4l2;		/* CPU time inside the V4L2 calls */
};

/* CPU time of this (single-threaded) process. */
static double cpu_now(void)
{
	return demo_now(CLOCK_PROCESS_CPUTIME_ID);
}

static FILE *summary;	/* <outdir>/demo.summary, key=value lines */

static void summary_kv(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void summary_kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (!summary)
		return;
	fprintf(summary, "%s=", key);
	va_start(ap, fmt);
	vfprintf(summary, fmt, ap);
	va_end(ap);
	fputc('\n', summary);
	fflush(summary);
}

static void __attribute__((noreturn)) usage(void)
{
	FILE *out = stdout;

	fputs("\nUsage:\n"
	      " udmabuf-demo [options]\n"
	      "\nCapture frames from a V4L2 device straight into heap memory shared\n"
	      "through udmabuf-ext (V4L2_MEMORY_DMABUF; udmabuf_ext_alloc(): page\n"
	      "aligned, whole pages, as memory a device writes must be), import each\n"
	      "frame into a KMS device by PRIME and show it, and check every hop.\n"
	      "\nOptions:\n"
	      " -d, --video <dev>        V4L2 capture device (default: the first\n"
	      "                            streaming capture device)\n"
	      " -c, --card <dev>         DRM/KMS device (default: the first with a\n"
	      "                            connected output)\n"
	      " -n, --frames <n>         frames to capture and show (default 60)\n"
	      " -b, --buffers <n>        buffers in the loop, 2-16 (default 4)\n"
	      " -f, --format <fourcc>    set this V4L2 pixel format first (default: keep\n"
	      "                            the device's; e.g. XR24, AR24, BX24, BGR3, RGBP)\n"
	      " -s, --size <w>x<h>       set this frame size first (default: keep)\n"
	      " -o, --output <dir>       save frames (PPM and raw) and demo.summary there\n"
	      "     --no-display         capture only, no KMS device\n"
	      "     --compare            also time the capture loop over USERPTR and over\n"
	      "                            MMAP + memcpy(), and compare CPU time per frame\n"
	      "     --rounds <n>         interleaved rounds of the comparison, 1-9; the\n"
	      "                            median round counts (default 3)\n"
	      "     --fb-offset <0|data> framebuffer offsets[0]: 0 (default) or the\n"
	      "                            buffer's data offset (where the data is in\n"
	      "                            every view of the buffer)\n"
	      "     --show-copy          then show the last frame copied into plain\n"
	      "                            malloc()'d memory (not page aligned) as a COPY\n"
	      "                            buffer, with --fb-offset's offsets[0]\n"
	      "     --on-shown <cmd>     run <cmd> with /bin/sh while the last frame is on\n"
	      "                            screen (e.g. to take a screenshot); DEMO_SHOWN\n"
	      "                            holds the path of that frame as PPM (with -o)\n"
	      "     --screenshot <file>  afterwards, compare this PPM with the shown frame\n"
	      "     --region <x,y,w,h>   compare only this region (default: whole frame)\n"
	      "     --expect <exact|shifted>\n"
	      "                          what the screenshot must show: the frame exactly\n"
	      "                            (default), or the frame shifted right by the\n"
	      "                            data offset (--show-copy with --fb-offset 0)\n"
	      "     --hold <seconds>     keep the last frame on screen this long\n"
	      "\n -h, --help               display this help\n"
	      " -V, --version            display version\n"
	      "\nExit status: 0 when every check passed, 1 on errors, 2 on bad usage,\n"
	      "3 when a content check failed.\n"
	      "\nSee docs/demo.md.\n", out);
	exit(EXIT_SUCCESS);
}

static unsigned long parse_ul(const char *s, const char *what, unsigned long min,
			      unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		errx(EXIT_FAILURE + 1, "invalid %s: '%s' (%lu to %lu)", what, s,
		     min, max);
	return v;
}

/* ---- udmabuf-ext buffers ------------------------------------------------ */

/*
 * @n frame buffers of @size bytes that devices may write: page aligned,
 * whole pages (udmabuf_ext_alloc()), the guard after the frame partly in
 * its last page and partly past the buffer.
 */
static void bufs_create(int dev, struct buf *bufs, unsigned int n, size_t size)
{
	size_t share = (size + DEMO_PAGE - 1) & ~(size_t)(DEMO_PAGE - 1);
	struct udmabuf_ext_create c;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct buf *b = &bufs[i];
		int fd;

		b->data = udmabuf_ext_alloc(size + GUARD, NULL);
		if (!b->data)
			err(EXIT_FAILURE, "udmabuf_ext_alloc");
		b->alloc = b->data;
		memset(b->data, 0, size);
		memset(b->data + size, CANARY, GUARD);
		fd = udmabuf_ext_create_user(dev, b->data, share,
					     UDMABUF_EXT_MODE_PIN,
					     UDMABUF_EXT_FLAGS_CLOEXEC, &c);
		if (fd < 0)
			demo_errc(EXIT_FAILURE, -fd, "udmabuf_ext_create_user(%p, %zu)",
			     (void *)b->data, share);
		b->fd = fd;
		b->data_offset = c.data_offset;
		b->dmabuf_size = c.size;
	}
}

/*
 * --show-copy: the frame of @src copied into plain malloc()'d memory, which
 * is not page aligned (16 bytes into a page with glibc), made a COPY buffer:
 * devices may not write the pages of such a range, and a display's PRIME
 * import maps the buffer for writing too, so neither PIN nor READ_ONLY
 * would do. *@cb gets it.
 */
static void copy_create(int dev, const struct buf *src, size_t size,
			struct buf *cb)
{
	struct udmabuf_ext_create c;
	int fd;

	memset(cb, 0, sizeof(*cb));
	cb->alloc = malloc(size + 2 * DEMO_PAGE);
	if (!cb->alloc)
		err(EXIT_FAILURE, "malloc");
	cb->data = cb->alloc;
	if (!((uintptr_t)cb->data & (DEMO_PAGE - 1)))
		cb->data += 16;		/* as glibc's large blocks are */
	memcpy(cb->data, src->data, size);
	fd = udmabuf_ext_create_user(dev, cb->data, size, UDMABUF_EXT_MODE_COPY,
				     UDMABUF_EXT_FLAGS_CLOEXEC, &c);
	if (fd < 0)
		demo_errc(EXIT_FAILURE, -fd, "udmabuf_ext_create_user(%p, %zu, COPY)",
			  (void *)cb->data, size);
	cb->fd = fd;
	cb->data_offset = c.data_offset;
	cb->dmabuf_size = c.size;
}

/* ---- capture ------------------------------------------------------------ */

static const char *fourcc(uint32_t f)
{
	static char buf[5];

	return demo_fourcc_str(f, buf);
}

static void capture_open(struct capture *cap, const struct opts *o)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_capability vc;
	struct v4l2_format f = { .type = type };
	int ret;

	if (o->video) {
		snprintf(cap->path, sizeof(cap->path), "%s", o->video);
		cap->fd = open(o->video, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (cap->fd < 0)
			err(EXIT_FAILURE, "cannot open %s", o->video);
	} else {
		struct ubm_video v;

		cap->fd = ubm_video_open(NULL, V4L2_CAP_VIDEO_CAPTURE |
					 V4L2_CAP_STREAMING, NULL, &v);
		if (cap->fd < 0)
			errx(EXIT_FAILURE, "no V4L2 capture device found (use --video)");
		snprintf(cap->path, sizeof(cap->path), "%s", v.path);
	}
	memset(&vc, 0, sizeof(vc));
	ret = ubm_xioctl(cap->fd, VIDIOC_QUERYCAP, &vc);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: VIDIOC_QUERYCAP", cap->path);
	if ((ubm_dev_caps(&vc) & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING)) !=
	    (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING))
		errx(EXIT_FAILURE, "%s: not a single-planar streaming capture device",
		     cap->path);
	snprintf(cap->card, sizeof(cap->card), "%s", (char *)vc.card);

	ret = ubm_xioctl(cap->fd, VIDIOC_G_FMT, &f);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: VIDIOC_G_FMT", cap->path);
	if (o->set_fourcc || o->set_w) {
		if (o->set_fourcc)
			f.fmt.pix.pixelformat = o->set_fourcc;
		if (o->set_w) {
			f.fmt.pix.width = o->set_w;
			f.fmt.pix.height = o->set_h;
		}
		f.fmt.pix.field = V4L2_FIELD_NONE;
		f.fmt.pix.bytesperline = 0;
		f.fmt.pix.sizeimage = 0;
		ret = ubm_xioctl(cap->fd, VIDIOC_S_FMT, &f);
		if (ret)
			demo_errc(EXIT_FAILURE, -ret, "%s: VIDIOC_S_FMT", cap->path);
		if ((o->set_fourcc && f.fmt.pix.pixelformat != o->set_fourcc) ||
		    (o->set_w && (f.fmt.pix.width != o->set_w ||
				  f.fmt.pix.height != o->set_h)))
			errx(EXIT_FAILURE, "%s: the device chose %ux%u %s instead",
			     cap->path, f.fmt.pix.width, f.fmt.pix.height,
			     fourcc(f.fmt.pix.pixelformat));
	}
	cap->fmt = demo_format_by_v4l2(f.fmt.pix.pixelformat);
	if (!cap->fmt)
		errx(EXIT_FAILURE, "%s: pixel format %s has no DRM equivalent here "
		     "(use --format XR24, AR24, BX24, BGR3, RGB3 or RGBP)",
		     cap->path, fourcc(f.fmt.pix.pixelformat));
	if (f.fmt.pix.field != V4L2_FIELD_NONE)
		errx(EXIT_FAILURE, "%s: interlaced formats are not shown", cap->path);
	cap->w = f.fmt.pix.width;
	cap->h = f.fmt.pix.height;
	cap->pitch = f.fmt.pix.bytesperline;
	cap->size = f.fmt.pix.sizeimage;
	if (cap->pitch < cap->w * cap->fmt->cpp || cap->size < cap->pitch * cap->h)
		errx(EXIT_FAILURE, "%s: odd format: %ux%u, %zu bytes per line, %zu bytes",
		     cap->path, cap->w, cap->h, cap->pitch, cap->size);
}

/*
 * Capture @n frames into the device's own MMAP buffers and copy each to
 * @frames[i] (if not NULL). Used for the still-picture reference and for
 * the MMAP + memcpy() loop; @st (if not NULL) gets the loop's times.
 */
static int capture_mmap(struct capture *cap, unsigned int nbufs, unsigned int n,
			uint8_t **frames, struct buf *dst, struct loop_stats *st)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	void *map[MAX_BUFS];
	size_t maplen[MAX_BUFS];
	struct v4l2_buffer b;
	struct rusage r0, r1;
	double t0 = 0, c0 = 0, in_v4l2 = 0;
	unsigned int i, got = 0;
	int ret;

	ret = ubm_reqbufs(cap->fd, type, V4L2_MEMORY_MMAP, nbufs);
	if (ret)
		return ret;
	for (i = 0; i < nbufs; i++)
		map[i] = MAP_FAILED;
	for (i = 0; i < nbufs; i++) {
		memset(&b, 0, sizeof(b));
		b.index = i;
		b.type = type;
		b.memory = V4L2_MEMORY_MMAP;
		ret = ubm_xioctl(cap->fd, VIDIOC_QUERYBUF, &b);
		if (ret)
			goto out;
		if (b.length < cap->size) {
			ret = -ENOSPC;
			goto out;
		}
		maplen[i] = b.length;
		map[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED, cap->fd,
			      b.m.offset);
		if (map[i] == MAP_FAILED) {
			ret = -errno;
			goto out;
		}
		ret = ubm_qbuf(cap->fd, type, V4L2_MEMORY_MMAP, i, 0, 0, 0);
		if (ret)
			goto out;
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = demo_now(CLOCK_MONOTONIC);
	c0 = demo_now(CLOCK_PROCESS_CPUTIME_ID);
	ret = ubm_stream(cap->fd, type, true);
	for (got = 0; !ret && got < n; got++) {
		double v0 = cpu_now();

		ret = ubm_dqbuf(cap->fd, type, V4L2_MEMORY_MMAP, &b, DEMO_DQ_TIMEOUT_MS);
		in_v4l2 += cpu_now() - v0;
		if (ret)
			break;
		if (b.bytesused != cap->size) {
			warnx("MMAP frame %u: %u bytes, want %zu", got,
			      b.bytesused, cap->size);
			ret = -EPROTO;
			break;
		}
		if (frames)
			memcpy(frames[got], map[b.index], cap->size);
		if (dst)
			memcpy(dst[got % nbufs].data, map[b.index], cap->size);
		v0 = cpu_now();
		ret = ubm_qbuf(cap->fd, type, V4L2_MEMORY_MMAP, b.index, 0, 0, 0);
		in_v4l2 += cpu_now() - v0;
	}
	if (st) {
		st->in_v4l2 = in_v4l2;
		st->cpu = demo_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		st->wall = demo_now(CLOCK_MONOTONIC) - t0;
		getrusage(RUSAGE_SELF, &r1);
		st->user = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
			   (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6;
		st->sys = (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
			  (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
		st->frames = got;
	}
	ubm_stream(cap->fd, type, false);
out:
	for (i = 0; i < nbufs; i++)
		if (map[i] != MAP_FAILED)
			munmap(map[i], maplen[i]);
	ubm_reqbufs(cap->fd, type, V4L2_MEMORY_MMAP, 0);
	return ret;
}

/*
 * The still-picture reference: two MMAP frames. If they are equal the
 * source shows a still picture and every frame must equal it; if not, the
 * source is live (a camera, a moving pattern) and frames are checked for
 * size and guard bytes only.
 */
static void capture_reference(struct capture *cap)
{
	uint8_t *f[2];
	int ret;

	f[0] = malloc(cap->size);
	f[1] = malloc(cap->size);
	if (!f[0] || !f[1])
		err(EXIT_FAILURE, "malloc");
	ret = capture_mmap(cap, 2, 2, f, NULL, NULL);
	if (ret)
		demo_errc(EXIT_FAILURE, -ret, "%s: MMAP reference capture", cap->path);
	if (demo_first_diff(f[0], f[1], cap->size) < 0 &&
	    demo_first_not(f[0], f[0][0], cap->size) >= 0) {
		cap->ref = f[0];
	} else {
		cap->ref = NULL;
		free(f[0]);
	}
	free(f[1]);
}

/* Check a captured frame in @b. Returns 0 or -1 after printing why. */
static int check_frame(const struct capture *cap, const struct buf *b,
		       unsigned int n)
{
	long off;

	off = demo_first_not(b->data + cap->size, CANARY, GUARD);
	if (off >= 0) {
		warnx("frame %u: the device wrote past the frame (guard byte %ld)",
		      n, off);
		return -1;
	}
	if (cap->ref) {
		off = demo_first_diff(b->data, cap->ref, cap->size);
		if (off >= 0) {
			warnx("frame %u differs from the MMAP reference at byte %ld "
			      "(%#x, want %#x)", n, off, b->data[off], cap->ref[off]);
			return -1;
		}
	} else if (demo_first_not(b->data, b->data[0], cap->size) < 0) {
		warnx("frame %u is uniform: nothing was captured", n);
		return -1;
	}
	return 0;
}

/* ---- KMS ------------------------------------------------------------------ */

static bool kms_pick(struct kms *k, unsigned int w, unsigned int h)
{
	return demo_kms_pick(k->fd, w, h, &k->mode, &k->conn_id, &k->crtc_id);
}

/* Does the primary plane of our CRTC scan out @drm_fourcc? */
static bool kms_format_ok(struct kms *k, uint32_t drm_fourcc)
{
	drmModePlaneRes *pr;
	drmModeRes *res;
	int crtc_idx = -1, i;
	bool ok = false;
	uint32_t p, f;

	res = drmModeGetResources(k->fd);
	if (!res)
		return false;
	for (i = 0; i < res->count_crtcs; i++)
		if (res->crtcs[i] == k->crtc_id)
			crtc_idx = i;
	drmModeFreeResources(res);
	drmSetClientCap(k->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
	pr = drmModeGetPlaneResources(k->fd);
	if (!pr || crtc_idx < 0)
		return false;
	for (p = 0; p < pr->count_planes && !ok; p++) {
		drmModePlane *pl = drmModeGetPlane(k->fd, pr->planes[p]);

		if (!pl)
			continue;
		if (pl->possible_crtcs & (1u << crtc_idx))
			for (f = 0; f < pl->count_formats; f++)
				if (pl->formats[f] == drm_fourcc)
					ok = true;
		drmModeFreePlane(pl);
	}
	drmModeFreePlaneResources(pr);
	return ok;
}

static bool kms_try(struct kms *k, const char *path, unsigned int w,
		    unsigned int h)
{
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0)
		return false;
	if (kms_pick(k, w, h)) {
		snprintf(k->path, sizeof(k->path), "%s", path);
		return true;
	}
	close(k->fd);
	k->fd = -1;
	return false;
}

static void kms_open(struct kms *k, const struct opts *o,
		     const struct capture *cap)
{
	char path[32];
	uint64_t cap_prime = 0;
	int i;

	k->fd = -1;
	if (o->card) {
		if (!kms_try(k, o->card, cap->w, cap->h))
			errx(EXIT_FAILURE, "%s: no connected output with a %ux%u mode "
			     "(capture at a size the display has, see --size)",
			     o->card, cap->w, cap->h);
	} else {
		for (i = 0; i < 16 && k->fd < 0; i++) {
			snprintf(path, sizeof(path), "/dev/dri/card%d", i);
			kms_try(k, path, cap->w, cap->h);
		}
		if (k->fd < 0)
			errx(EXIT_FAILURE, "no DRM device with a connected %ux%u output "
			     "(use --card, or capture at a size the display has)",
			     cap->w, cap->h);
	}
	if (drmGetCap(k->fd, DRM_CAP_PRIME, &cap_prime) ||
	    !(cap_prime & DRM_PRIME_CAP_IMPORT))
		errx(EXIT_FAILURE, "%s: the driver cannot import dma-bufs (PRIME)",
		     k->path);
	if (!kms_format_ok(k, cap->fmt->drm))
		errx(EXIT_FAILURE, "%s: the primary plane cannot scan out %s "
		     "(choose another --format)", k->path, cap->fmt->name);
	/* Page flips where the driver has them (kms_show() falls back). */
	k->can_flip = true;
	k->saved = drmModeGetCrtc(k->fd, k->crtc_id);
}

static void kms_import(struct kms *k, const struct capture *cap, struct buf *b,
		       enum fb_offset fbo)
{
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };

	if (drmPrimeFDToHandle(k->fd, b->fd, &b->handle))
		err(EXIT_FAILURE, "%s: drmPrimeFDToHandle", k->path);
	handles[0] = b->handle;
	pitches[0] = cap->pitch;
	offsets[0] = fbo == FB_OFFSET_DATA ? b->data_offset : 0;
	if (drmModeAddFB2(k->fd, cap->w, cap->h, cap->fmt->drm, handles, pitches,
			  offsets, &b->fb, 0))
		err(EXIT_FAILURE, "%s: drmModeAddFB2(%ux%u %s, pitch %zu, offset %u)",
		    k->path, cap->w, cap->h, cap->fmt->name, cap->pitch,
		    offsets[0]);
}

static void flip_done(int fd, unsigned int seq, unsigned int sec,
		      unsigned int usec, void *data)
{
	(void)fd;
	(void)seq;
	(void)sec;
	(void)usec;
	*(bool *)data = false;
}

/* Show framebuffer @fb: the first time by a mode set, then by page flips. */
static void kms_show(struct kms *k, uint32_t fb)
{
	drmEventContext ev = {
		.version = 2,
		.page_flip_handler = flip_done,
	};
	struct pollfd p = { .fd = k->fd, .events = POLLIN };

	if (k->crtc_set && k->can_flip) {
		k->flip_pending = true;
		if (!drmModePageFlip(k->fd, k->crtc_id, fb,
				     DRM_MODE_PAGE_FLIP_EVENT, &k->flip_pending)) {
			while (k->flip_pending) {
				int r = poll(&p, 1, 5000);

				if (r == 0)
					errx(EXIT_FAILURE, "%s: page flip timed out",
					     k->path);
				if (r < 0 && errno != EINTR)
					err(EXIT_FAILURE, "poll");
				if (r > 0)
					drmHandleEvent(k->fd, &ev);
			}
			return;
		}
		/* No page flips here: mode sets then. */
		k->flip_pending = false;
		k->can_flip = false;
	}
	if (drmModeSetCrtc(k->fd, k->crtc_id, fb, 0, 0, &k->conn_id, 1, &k->mode))
		err(EXIT_FAILURE, "%s: drmModeSetCrtc(%ux%u)%s", k->path,
		    k->mode.hdisplay, k->mode.vdisplay,
		    errno == EACCES ? " (another program is the DRM master?)" : "");
	k->crtc_set = true;
}

static void kms_restore(struct kms *k)
{
	drmModeCrtc *s = k->saved;

	if (s && s->buffer_id && s->mode_valid)
		drmModeSetCrtc(k->fd, s->crtc_id, s->buffer_id, s->x, s->y,
			       &k->conn_id, 1, &s->mode);
	drmModeFreeCrtc(s);
	k->saved = NULL;
}

/*
 * The import hop: the GEM handle must re-export the same dma-buf (same
 * file), its pages must hold the frame at the data offset (the page view
 * of mmap), and the buffer must have an importer attached.
 */
static int check_import(int dev, const struct kms *k, const struct capture *cap,
			const struct buf *b)
{
	struct udmabuf_ext_info info;
	struct stat s1, s2;
	size_t len;
	uint8_t *map;
	long off;
	int fd, ret;

	if (drmPrimeHandleToFD(k->fd, b->handle, DRM_CLOEXEC, &fd)) {
		warn("%s: drmPrimeHandleToFD", k->path);
		return -1;
	}
	if (fstat(fd, &s1) || fstat(b->fd, &s2) || s1.st_ino != s2.st_ino) {
		warnx("import: GEM handle %u does not re-export our dma-buf", b->handle);
		close(fd);
		return -1;
	}
	ret = udmabuf_ext_info(dev, fd, &info);
	if (ret) {
		warnx("import: UDMABUF_EXT_INFO: %s", strerror(-ret));
		close(fd);
		return -1;
	}
	if (info.nr_attachments < 1) {
		warnx("import: no importer attached to the buffer");
		close(fd);
		return -1;
	}
	map = udmabuf_ext_map(fd, PROT_READ, &len);
	if (!map) {
		warn("import: mmap of the re-exported dma-buf");
		close(fd);
		return -1;
	}
	udmabuf_ext_cpu_begin(fd, DMA_BUF_SYNC_READ);
	off = demo_first_diff(map + info.data_offset, b->data, cap->size);
	udmabuf_ext_cpu_end(fd, DMA_BUF_SYNC_READ);
	udmabuf_ext_unmap(map, len);
	close(fd);
	if (off >= 0) {
		warnx("import: the dma-buf's pages differ from the frame at byte %ld", off);
		return -1;
	}
	printf("import: GEM handle %u re-exports the same dma-buf (%u importer(s) "
	       "attached); its pages hold the frame at data offset %u\n",
	       b->handle, info.nr_attachments, info.data_offset);
	return 0;
}

/* ---- the loops -------------------------------------------------------- */

static void stats_begin(struct rusage *r, double *t, double *c)
{
	getrusage(RUSAGE_SELF, r);
	*t = demo_now(CLOCK_MONOTONIC);
	*c = demo_now(CLOCK_PROCESS_CPUTIME_ID);
}

static void stats_end(struct loop_stats *st, const struct rusage *r0, double t0,
		      double c0, double excluded)
{
	struct rusage r1;

	st->cpu = demo_now(CLOCK_PROCESS_CPUTIME_ID) - c0 - excluded;
	st->wall = demo_now(CLOCK_MONOTONIC) - t0;
	getrusage(RUSAGE_SELF, &r1);
	st->user = (r1.ru_utime.tv_sec - r0->ru_utime.tv_sec) +
		   (r1.ru_utime.tv_usec - r0->ru_utime.tv_usec) / 1e6;
	st->sys = (r1.ru_stime.tv_sec - r0->ru_stime.tv_sec) +
		  (r1.ru_stime.tv_usec - r0->ru_stime.tv_usec) / 1e6;
}

/*
 * Capture @n frames into @bufs over @memory (DMABUF: their dma-bufs;
 * USERPTR: their pointers), each checked (the checks' CPU time is
 * not counted). With @k, show each frame and keep the shown one out of the
 * queue until the next is on screen; *@shown gets its index.
 */
static int capture_loop(struct capture *cap, struct buf *bufs, unsigned int nb,
			uint32_t memory, unsigned int n, struct kms *k,
			int *shown, struct loop_stats *st, const char *outdir)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_buffer vb;
	struct rusage r0;
	double t0, c0, v0, excluded = 0, in_v4l2 = 0;
	unsigned int i, got;
	int ret, bad = 0, on_screen = -1;

	ret = ubm_reqbufs(cap->fd, type, memory, nb);
	if (ret)
		return ret;
	for (i = 0; i < nb; i++) {
		memset(bufs[i].data, 0, cap->size);
		ret = ubm_qbuf(cap->fd, type, memory, i,
				memory == V4L2_MEMORY_DMABUF ? (uintptr_t)bufs[i].fd :
				(uintptr_t)bufs[i].data, cap->size, 0);
		if (ret)
			goto out;
	}
	stats_begin(&r0, &t0, &c0);
	ret = ubm_stream(cap->fd, type, true);
	for (got = 0; !ret && got < n; got++) {
		double x0;
		struct buf *b;

		v0 = cpu_now();
		ret = ubm_dqbuf(cap->fd, type, memory, &vb, DEMO_DQ_TIMEOUT_MS);
		in_v4l2 += cpu_now() - v0;
		if (ret)
			break;
		if (vb.index >= nb || vb.bytesused != cap->size ||
		    (memory == V4L2_MEMORY_DMABUF && vb.m.fd != bufs[vb.index].fd)) {
			warnx("%s frame %u: bad buffer (index %u, %u bytes)",
			      st->name, got, vb.index, vb.bytesused);
			ret = -EPROTO;
			break;
		}
		b = &bufs[vb.index];
		x0 = cpu_now();
		if (memory == V4L2_MEMORY_DMABUF)
			udmabuf_ext_cpu_begin(b->fd, DMA_BUF_SYNC_READ);
		if (check_frame(cap, b, got))
			bad++;
		if (outdir && got == 0) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/capture-first.ppm", outdir);
			demo_ppm_write_frame(path, cap->fmt, b->data, cap->w,
					     cap->h, cap->pitch);
		}
		if (memory == V4L2_MEMORY_DMABUF)
			udmabuf_ext_cpu_end(b->fd, DMA_BUF_SYNC_READ);
		excluded += cpu_now() - x0;

		if (k) {
			kms_show(k, b->fb);
			v0 = cpu_now();
			if (on_screen >= 0)
				ret = ubm_qbuf(cap->fd, type, memory, on_screen,
						(uintptr_t)bufs[on_screen].fd,
						cap->size, 0);
			in_v4l2 += cpu_now() - v0;
			on_screen = vb.index;
		} else {
			v0 = cpu_now();
			ret = ubm_qbuf(cap->fd, type, memory, vb.index,
					memory == V4L2_MEMORY_DMABUF ?
					(uintptr_t)b->fd : (uintptr_t)b->data,
					cap->size, 0);
			in_v4l2 += cpu_now() - v0;
		}
	}
	stats_end(st, &r0, t0, c0, excluded);
	st->in_v4l2 = in_v4l2;
	st->frames = got;
	/* STREAMOFF takes the queued buffers back; the shown one stays as is. */
	ubm_stream(cap->fd, type, false);
	if (shown)
		*shown = on_screen;
out:
	ubm_reqbufs(cap->fd, type, memory, 0);
	if (!ret && bad)
		ret = -EBADMSG;
	return ret;
}

static double per_frame_ms(double v, const struct loop_stats *st)
{
	return st->frames ? v / st->frames * 1e3 : 0;
}

static void print_stats(const struct loop_stats *st, const struct loop_stats *base)
{
	double per = per_frame_ms(st->cpu, st);

	printf("  %-22s %4u frames %6.1f frames/s  CPU %7.3f ms/frame = "
	       "%7.3f in V4L2 calls + %6.3f in the program", st->name, st->frames,
	       st->wall > 0 ? st->frames / st->wall : 0, per,
	       per_frame_ms(st->in_v4l2, st), per_frame_ms(st->cpu - st->in_v4l2, st));
	if (base && base->frames && base->cpu > 0)
		printf("  x%.2f", per / per_frame_ms(base->cpu, base));
	putchar('\n');
}

static void summary_stats(const char *key, const struct loop_stats *st)
{
	summary_kv(key, "frames=%u fps=%.2f cpu_ms_per_frame=%.3f v4l2_ms_per_frame=%.3f "
		   "program_ms_per_frame=%.3f user_s=%.3f sys_s=%.3f",
		   st->frames, st->wall > 0 ? st->frames / st->wall : 0,
		   per_frame_ms(st->cpu, st), per_frame_ms(st->in_v4l2, st),
		   per_frame_ms(st->cpu - st->in_v4l2, st), st->user, st->sys);
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct loop_stats *x = a, *y = b;
	double px = x->frames ? x->cpu / x->frames : 0;
	double py = y->frames ? y->cpu / y->frames : 0;

	return (px > py) - (px < py);
}

#define MAX_ROUNDS	9

/*
 * The comparison: the three capture loops, capture only, interleaved for
 * @rounds rounds (each round in another order), and per method the round
 * with the median CPU time per frame.
 */
static int compare_loops(struct capture *cap, struct buf *bufs, const struct opts *o)
{
	static const char * const names[3] = {
		"DMABUF (udmabuf-ext)", "USERPTR", "MMAP + memcpy",
	};
	static const char * const keys[3] = {
		"loop_dmabuf", "loop_userptr", "loop_mmap_memcpy",
	};
	struct loop_stats st[3][MAX_ROUNDS], med[3];
	unsigned int r, j, i;
	int ret, failed = 0;

	memset(st, 0, sizeof(st));
	for (r = 0; r < o->rounds; r++) {
		for (j = 0; j < 3; j++) {
			unsigned int m = (j + r) % 3;
			struct loop_stats *s = &st[m][r];

			s->name = names[m];
			if (m == 2) {
				for (i = 0; i < o->nbufs; i++)
					memset(bufs[i].data, 0, cap->size);
				ret = capture_mmap(cap, o->nbufs, o->frames, NULL, bufs, s);
				for (i = 0; !ret && i < o->nbufs && i < s->frames; i++)
					if (check_frame(cap, &bufs[i], i))
						failed = 1;
			} else {
				ret = capture_loop(cap, bufs, o->nbufs, m == 0 ?
						   V4L2_MEMORY_DMABUF : V4L2_MEMORY_USERPTR,
						   o->frames, NULL, NULL, s, NULL);
				if (ret == -EBADMSG) {
					failed = 1;
					ret = 0;
				}
			}
			if (ret)
				demo_errc(EXIT_FAILURE, -ret, "%s capture loop", names[m]);
		}
	}
	for (j = 0; j < 3; j++) {
		qsort(st[j], o->rounds, sizeof(st[j][0]), cmp_cpu);
		med[j] = st[j][o->rounds / 2];
	}
	printf("compare: the same capture loop, capture only, %u buffers, %u frames, "
	       "median of %u interleaved rounds (CPU time of this process; "
	       "x = ratio to DMABUF):\n", o->nbufs, o->frames, o->rounds);
	for (j = 0; j < 3; j++) {
		print_stats(&med[j], &med[0]);
		summary_stats(keys[j], &med[j]);
	}
	if (med[0].frames && med[0].cpu > 0) {
		summary_kv("ratio_userptr", "%.2f", per_frame_ms(med[1].cpu, &med[1]) /
			   per_frame_ms(med[0].cpu, &med[0]));
		summary_kv("ratio_mmap_memcpy", "%.2f", per_frame_ms(med[2].cpu, &med[2]) /
			   per_frame_ms(med[0].cpu, &med[0]));
	}
	summary_kv("compare_rounds", "%u", o->rounds);
	summary_kv("compare_check", "%s", failed ? "fail" : "pass");
	return failed ? -1 : 0;
}

/* ---- the display check ------------------------------------------------- */

static int run_on_shown(const char *cmd, const char *shown_ppm)
{
	int status;

	if (shown_ppm)
		setenv("DEMO_SHOWN", shown_ppm, 1);
	fflush(NULL);
	status = system(cmd);
	if (status == -1)
		err(EXIT_FAILURE, "system(%s)", cmd);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		warnx("--on-shown command failed (status %#x): %s", status, cmd);
		return -1;
	}
	return 0;
}

/*
 * Compare the screenshot with the shown frame in the region. With
 * --expect shifted, the screenshot must instead show the bytes from the
 * start of the frame's first page on (what the display reads of an
 * unaligned buffer with offsets[0] = 0: every view starts at the first
 * page), that is the frame shifted right by the data offset.
 */
static int check_screenshot(const struct opts *o, const struct capture *cap,
			    const struct buf *b)
{
	struct demo_image img = { 0 };
	unsigned int rx = o->rx, ry = o->ry, rw = o->rw, rh = o->rh;
	unsigned int fx = 0, fy = 0;
	long bad, shifted_bad;
	int ret;

	ret = demo_ppm_read(o->screenshot, &img);
	if (ret) {
		warnx("cannot read the screenshot %s: %s", o->screenshot,
		      strerror(-ret));
		return -1;
	}
	if (!rw) {
		rx = ry = 0;
		rw = cap->w;
		rh = cap->h;
	}
	if (img.w < cap->w || img.h < cap->h || rx + rw > cap->w ||
	    ry + rh > cap->h) {
		warnx("screenshot is %ux%u, the frame %ux%u, the region %ux%u+%u+%u",
		      img.w, img.h, cap->w, cap->h, rw, rh, rx, ry);
		free(img.rgb);
		return -1;
	}
	/* The first page's bytes before the frame are the process's too. */
	shifted_bad = demo_compare_region(&img, cap->fmt, b->data - b->data_offset,
					  cap->pitch, rx, ry, rw, rh, &fx, &fy);
	bad = demo_compare_region(&img, cap->fmt, b->data, cap->pitch, rx, ry,
				  rw, rh, &fx, &fy);
	summary_kv("display_region", "%u,%u,%u,%u", rx, ry, rw, rh);
	summary_kv("display_mismatched_pixels", "%ld", bad);
	summary_kv("display_shifted_by_data_offset", "%s",
		   b->data_offset && shifted_bad == 0 ? "yes" : "no");
	if (o->expect == EXPECT_EXACT) {
		if (bad) {
			uint8_t rgb[3];

			demo_pixel_rgb(cap->fmt, b->data + fy * cap->pitch +
				       fx * cap->fmt->cpp, rgb);
			warnx("display: %ld of %u pixels differ from the shown frame; "
			      "first at (%u,%u): screen %02x%02x%02x, frame %02x%02x%02x%s",
			      bad, rw * rh, fx, fy,
			      img.rgb[(fy * img.w + fx) * 3],
			      img.rgb[(fy * img.w + fx) * 3 + 1],
			      img.rgb[(fy * img.w + fx) * 3 + 2], rgb[0], rgb[1], rgb[2],
			      b->data_offset && shifted_bad == 0 ?
			      "; the screen shows the frame shifted by the data offset" : "");
			free(img.rgb);
			return -1;
		}
		printf("display: screenshot equals the shown frame in %ux%u+%u+%u "
		       "(%u pixels, exact)\n", rw, rh, rx, ry, rw * rh);
	} else {
		if (!b->data_offset) {
			warnx("display: --expect shifted needs an unaligned buffer");
			free(img.rgb);
			return -1;
		}
		if (shifted_bad || !bad) {
			warnx("display: the screen does not show the frame shifted by "
			      "the data offset (%ld pixels differ from that, %ld from "
			      "the frame)", shifted_bad, bad);
			free(img.rgb);
			return -1;
		}
		printf("display: with offsets[0] = 0 the screen shows the frame "
		       "shifted right by its data offset (%u bytes): the display "
		       "reads the buffer from its first page\n", b->data_offset);
	}
	free(img.rgb);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static void parse_region(const char *s, struct opts *o)
{
	if (sscanf(s, "%u,%u,%u,%u", &o->rx, &o->ry, &o->rw, &o->rh) != 4 ||
	    !o->rw || !o->rh)
		errx(EXIT_FAILURE + 1, "invalid --region '%s' (x,y,w,h)", s);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		OPT_NO_DISPLAY = CHAR_MAX + 1, OPT_COMPARE, OPT_FB_OFFSET,
		OPT_ON_SHOWN, OPT_SCREENSHOT, OPT_REGION, OPT_EXPECT, OPT_HOLD,
		OPT_SHOW_COPY,
		OPT_ROUNDS,
	};
	static const struct option longopts[] = {
		{ "video", required_argument, NULL, 'd' },
		{ "card", required_argument, NULL, 'c' },
		{ "frames", required_argument, NULL, 'n' },
		{ "buffers", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-display", no_argument, NULL, OPT_NO_DISPLAY },
		{ "compare", no_argument, NULL, OPT_COMPARE },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "fb-offset", required_argument, NULL, OPT_FB_OFFSET },
		{ "show-copy", no_argument, NULL, OPT_SHOW_COPY },
		{ "on-shown", required_argument, NULL, OPT_ON_SHOWN },
		{ "screenshot", required_argument, NULL, OPT_SCREENSHOT },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->frames = 60;
	o->nbufs = 4;
	o->rounds = 3;
	o->display = true;
	while ((c = getopt_long(argc, argv, "d:c:n:b:f:s:o:hV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			o->video = optarg;
			break;
		case 'c':
			o->card = optarg;
			break;
		case 'n':
			o->frames = parse_ul(optarg, "frame count", 1, 100000);
			break;
		case 'b':
			o->nbufs = parse_ul(optarg, "buffer count", 2, MAX_BUFS);
			break;
		case 'f':
			if (strlen(optarg) < 3 || strlen(optarg) > 4)
				errx(EXIT_FAILURE + 1, "invalid --format '%s'", optarg);
			o->set_fourcc = v4l2_fourcc(optarg[0], optarg[1], optarg[2],
						    optarg[3] ? optarg[3] : ' ');
			break;
		case 's':
			if (sscanf(optarg, "%ux%u", &o->set_w, &o->set_h) != 2 ||
			    !o->set_w || !o->set_h)
				errx(EXIT_FAILURE + 1, "invalid --size '%s' (WxH)", optarg);
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case OPT_NO_DISPLAY:
			o->display = false;
			break;
		case OPT_COMPARE:
			o->compare = true;
			break;
		case OPT_ROUNDS:
			o->rounds = parse_ul(optarg, "round count", 1, MAX_ROUNDS);
			break;
		case OPT_FB_OFFSET:
			if (!strcmp(optarg, "0"))
				o->fb_offset = FB_OFFSET_ZERO;
			else if (!strcmp(optarg, "data"))
				o->fb_offset = FB_OFFSET_DATA;
			else
				errx(EXIT_FAILURE + 1, "invalid --fb-offset '%s' (0 or data)",
				     optarg);
			break;
		case OPT_SHOW_COPY:
			o->show_copy = true;
			break;
		case OPT_ON_SHOWN:
			o->on_shown = optarg;
			break;
		case OPT_SCREENSHOT:
			o->screenshot = optarg;
			break;
		case OPT_REGION:
			parse_region(optarg, o);
			break;
		case OPT_EXPECT:
			if (!strcmp(optarg, "exact"))
				o->expect = EXPECT_EXACT;
			else if (!strcmp(optarg, "shifted"))
				o->expect = EXPECT_SHIFTED;
			else
				errx(EXIT_FAILURE + 1, "invalid --expect '%s'", optarg);
			break;
		case OPT_HOLD:
			o->hold = parse_ul(optarg, "hold time", 0, 3600);
			break;
		case 'h':
			usage();
		case 'V':
			printf("udmabuf-demo from udmabuf-ext %s\n", PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try 'udmabuf-demo --help' for more information.\n");
			exit(EXIT_FAILURE + 1);
		}
	}
	if (optind < argc)
		errx(EXIT_FAILURE + 1, "unexpected argument '%s'", argv[optind]);
	if ((o->screenshot || o->on_shown || o->show_copy) && !o->display)
		errx(EXIT_FAILURE + 1, "--on-shown, --screenshot and --show-copy need the display");
}

int main(int argc, char **argv)
{
	struct buf bufs[MAX_BUFS];
	struct capture cap = { .fd = -1 };
	struct kms k = { .fd = -1 };
	struct loop_stats show = { .name = "DMABUF + display" };
	struct buf copy = { .fd = -1 };
	struct opts o;
	char path[PATH_MAX], shown_ppm[PATH_MAX] = "";
	unsigned int i;
	int dev, ret, shown = -1, failed = 0;
	double t_create;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.outdir) {
		if (mkdir(o.outdir, 0755) && errno != EEXIST)
			err(EXIT_FAILURE, "mkdir %s", o.outdir);
		snprintf(path, sizeof(path), "%s/demo.summary", o.outdir);
		summary = fopen(path, "we");
		if (!summary)
			err(EXIT_FAILURE, "%s", path);
	}

	dev = udmabuf_ext_open();
	if (dev < 0)
		demo_errc(EXIT_FAILURE, -dev, "cannot open %s (is the module loaded?)",
		     UDMABUF_EXT_DEV_PATH);

	capture_open(&cap, &o);
	printf("capture: %s (%s), %ux%u %s, %zu bytes per line, %zu bytes per frame\n",
	       cap.path, cap.card, cap.w, cap.h, cap.fmt->name, cap.pitch, cap.size);
	summary_kv("video", "%s", cap.path);
	summary_kv("format", "%ux%u %s pitch=%zu size=%zu", cap.w, cap.h,
		   cap.fmt->name, cap.pitch, cap.size);

	capture_reference(&cap);
	printf("capture: the source shows %s\n", cap.ref ?
	       "a still picture: every frame must equal the device's own MMAP capture" :
	       "a live picture: frames are checked for size and guard bytes");
	summary_kv("source", "%s", cap.ref ? "still" : "live");

	t_create = demo_now(CLOCK_MONOTONIC);
	bufs_create(dev, bufs, o.nbufs, cap.size);
	t_create = demo_now(CLOCK_MONOTONIC) - t_create;
	printf("buffers: %u x udmabuf_ext_alloc(%zu) -> udmabuf-ext PIN dma-bufs "
	       "(page aligned, whole pages: devices write them), e.g. %p: "
	       "data offset %u, dma-buf %" PRIu64 " bytes; %.3f ms per create\n",
	       o.nbufs, cap.size, (void *)bufs[0].data, bufs[0].data_offset,
	       bufs[0].dmabuf_size, t_create / o.nbufs * 1e3);
	summary_kv("buffers", "%u", o.nbufs);
	summary_kv("data_offset", "%u", bufs[0].data_offset);
	summary_kv("create_ms", "%.3f", t_create / o.nbufs * 1e3);

	if (o.display) {
		kms_open(&k, &o, &cap);
		for (i = 0; i < o.nbufs; i++)
			kms_import(&k, &cap, &bufs[i], o.fb_offset);
		printf("display: %s, connector %u, CRTC %u, mode %s; %u dma-bufs "
		       "imported by PRIME, framebuffers %s with offsets[0] = %s\n",
		       k.path, k.conn_id, k.crtc_id, k.mode.name, o.nbufs,
		       cap.fmt->name, o.fb_offset == FB_OFFSET_DATA ?
		       "data offset" : "0");
		summary_kv("card", "%s", k.path);
		summary_kv("mode", "%s", k.mode.name);
		summary_kv("fb_offset", "%s", o.fb_offset == FB_OFFSET_DATA ?
			   "data" : "0");
	}

	ret = capture_loop(&cap, bufs, o.nbufs, V4L2_MEMORY_DMABUF, o.frames,
			   o.display ? &k : NULL, &shown, &show, o.outdir);
	if (ret == -EBADMSG) {
		failed = 1;
	} else if (ret) {
		demo_errc(EXIT_FAILURE, -ret, "DMABUF capture loop");
	}
	printf("capture: %u frames into heap memory over V4L2_MEMORY_DMABUF%s: %s\n",
	       show.frames, o.display ? ", each shown" : "",
	       failed ? "FAILED" : cap.ref ? "all equal the MMAP reference" :
	       "all complete");
	summary_kv("capture_check", "%s", failed ? "fail" : "pass");
	summary_stats(o.display ? "loop_dmabuf_display" : "loop_dmabuf", &show);

	if (o.display && shown >= 0) {
		struct buf *b = &bufs[shown];

		printf("display: frame %u (buffer %d) is on screen\n", show.frames - 1,
		       shown);
		if (o.show_copy) {
			copy_create(dev, b, cap.size, &copy);
			kms_import(&k, &cap, &copy, o.fb_offset);
			kms_show(&k, copy.fb);
			b = &copy;
			printf("display: the frame copied into malloc(%zu) at %p (data "
			       "offset %u) is on screen as a COPY dma-buf, offsets[0] = %u\n",
			       cap.size, (void *)b->data, b->data_offset,
			       o.fb_offset == FB_OFFSET_DATA ? b->data_offset : 0);
			summary_kv("copy_data_offset", "%u", b->data_offset);
		}
		if (check_import(dev, &k, &cap, b)) {
			failed = 1;
			summary_kv("import_check", "fail");
		} else {
			summary_kv("import_check", "pass");
		}
		if (o.outdir) {
			snprintf(shown_ppm, sizeof(shown_ppm), "%s/shown.ppm", o.outdir);
			ret = demo_ppm_write_frame(shown_ppm, cap.fmt, b->data, cap.w,
						   cap.h, cap.pitch);
			if (ret)
				demo_errc(EXIT_FAILURE, -ret, "%s", shown_ppm);
			snprintf(path, sizeof(path), "%s/shown.raw", o.outdir);
			ret = demo_write_file(path, b->data, cap.size);
			if (ret)
				demo_errc(EXIT_FAILURE, -ret, "%s", path);
		}
		if (o.on_shown && run_on_shown(o.on_shown, shown_ppm[0] ? shown_ppm : NULL))
			failed = 1;
		if (o.hold)
			sleep(o.hold);
		if (o.screenshot) {
			if (check_screenshot(&o, &cap, b)) {
				failed = 1;
				summary_kv("display_check", "fail");
			} else {
				summary_kv("display_check", "pass");
			}
		}
		kms_restore(&k);
	}

	if (o.compare && compare_loops(&cap, bufs, &o))
		failed = 1;

	if (o.display) {
		printf("timing (with display):\n");
		print_stats(&show, NULL);
	}
	for (i = 0; i < o.nbufs; i++) {
		if (o.display) {
			drmModeRmFB(k.fd, bufs[i].fb);
			drmCloseBufferHandle(k.fd, bufs[i].handle);
		}
		close(bufs[i].fd);
		free(bufs[i].alloc);
	}
	if (copy.fd >= 0) {
		drmModeRmFB(k.fd, copy.fb);
		drmCloseBufferHandle(k.fd, copy.handle);
		close(copy.fd);
		free(copy.alloc);
	}
	summary_kv("result", "%s", failed ? "fail" : "pass");
	printf("result: %s\n", failed ? "FAILED" : "every check passed");
	if (summary)
		fclose(summary);
	return failed ? EXIT_CHECK : EXIT_SUCCESS;
}
