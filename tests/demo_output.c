// SPDX-License-Identifier: GPL-2.0-only
/*
 * The output direction, end to end (tests/suites/demo): heap frames played
 * on vivid's video output over V4L2_MEMORY_DMABUF, looped by vivid from its
 * HDMI output to its HDMI input, and captured into heap frames over
 * V4L2_MEMORY_DMABUF again. Both sides are udmabuf-ext PIN buffers of
 * page-aligned whole pages (udmabuf_ext_alloc(): vivid reads and writes
 * them through vmap, which only a writable buffer has), in the demo's
 * format (800x600 XR24, set up by tools/demo/vivid-setup with v4l2-ctl).
 *
 * Three different frames are played in turn; the capture must show each of
 * them, byte for byte, in order, and nothing else; vivid's output returns
 * each one when the next is queued; the played frames are not written to.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "demo_common.h"

#include "kselftest_harness.h"

#define NR_OUT		3
#define NR_CAP		4
#define MAX_WAIT	60	/* captured frames to wait for a switch */

/* The output with DV timings: vivid's HDMI output. */
static int select_hdmi_output(int fd)
{
	struct v4l2_output out;
	int i;

	for (i = 0;; i++) {
		memset(&out, 0, sizeof(out));
		out.index = i;
		if (ubm_xioctl(fd, VIDIOC_ENUMOUTPUT, &out))
			return -ENODEV;
		if (out.capabilities & V4L2_OUT_CAP_DV_TIMINGS)
			return ubm_xioctl(fd, VIDIOC_S_OUTPUT, &i);
	}
}

/* A picture that differs per frame and along both axes, X bytes too. */
static void fill_frame(uint8_t *p, unsigned int w, unsigned int h, int k)
{
	unsigned int x, y;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			uint8_t *q = p + ((size_t)y * w + x) * 4;

			q[0] = x * (k + 1) + y;			/* B */
			q[1] = (x / 8) * 16 + k * 85;		/* G */
			q[2] = (y / 8) * 16 + (k == 1 ? 0x80 : 0);	/* R */
			q[3] = 0xff;				/* X */
		}
}

FIXTURE(loop) {
	int cap, out, ext;
	char dev[64];
	size_t size;
	unsigned int w, h;
	struct demo_frame o[NR_OUT], c[NR_CAP];
	uint8_t *img[NR_OUT];	/* what each output frame holds */
};

FIXTURE_SETUP(loop)
{
	const uint32_t otype = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_capability vc;
	struct v4l2_dv_timings t = { 0 };
	char bus[64];
	int i, ret;

	self->cap = self->out = self->ext = -1;
	memset(self->o, 0, sizeof(self->o));
	memset(self->c, 0, sizeof(self->c));
	memset(self->img, 0, sizeof(self->img));
	if (!demo_in_suite())
		SKIP(return, "runs in tests/suites/demo (%s)", DEMO_SUITE_ENV);
	ASSERT_EQ(0, demo_vivid_setup(self->dev, sizeof(self->dev)));
	self->cap = open(self->dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->cap);
	memset(&vc, 0, sizeof(vc));
	ASSERT_EQ(0, ubm_xioctl(self->cap, VIDIOC_QUERYCAP, &vc));
	snprintf(bus, sizeof(bus), "%s", (char *)vc.bus_info);
	/* The output node of the same vivid instance. */
	self->out = ubm_video_open("vivid", V4L2_CAP_VIDEO_OUTPUT, bus, NULL);
	ASSERT_LE(0, self->out) TH_LOG("no vivid video output node on %s", bus);
	ASSERT_EQ(0, select_hdmi_output(self->out));

	/* The output takes the input's timings and the capture's format. */
	ASSERT_EQ(0, ubm_xioctl(self->cap, VIDIOC_G_DV_TIMINGS, &t));
	ASSERT_EQ(0, ubm_xioctl(self->out, VIDIOC_S_DV_TIMINGS, &t));
	ASSERT_EQ(0, ubm_xioctl(self->cap, VIDIOC_G_FMT, &f));
	self->w = f.fmt.pix.width;
	self->h = f.fmt.pix.height;
	self->size = f.fmt.pix.sizeimage;
	ASSERT_EQ(V4L2_PIX_FMT_XBGR32, f.fmt.pix.pixelformat);
	ASSERT_EQ(self->w * 4, f.fmt.pix.bytesperline);
	f.type = otype;
	ASSERT_EQ(0, ubm_xioctl(self->out, VIDIOC_S_FMT, &f));
	ASSERT_EQ(V4L2_PIX_FMT_XBGR32, f.fmt.pix.pixelformat);
	ASSERT_EQ(self->w, f.fmt.pix.width);
	ASSERT_EQ(self->h, f.fmt.pix.height);
	ASSERT_EQ(self->size, f.fmt.pix.sizeimage);
	ret = ubm_vivid_loop(self->cap, self->out, true);
	ASSERT_EQ(0, ret) TH_LOG("vivid loopback: %s", strerror(-ret));

	self->ext = udmabuf_ext_open();
	ASSERT_LE(0, self->ext);
	for (i = 0; i < NR_OUT; i++) {
		ASSERT_EQ(0, demo_frame_create(self->ext, self->size, &self->o[i]));
		self->img[i] = malloc(self->size);
		ASSERT_NE(NULL, self->img[i]);
		fill_frame(self->img[i], self->w, self->h, i);
		memcpy(self->o[i].data, self->img[i], self->size);
	}
	for (i = 0; i < NR_CAP; i++)
		ASSERT_EQ(0, demo_frame_create(self->ext, self->size, &self->c[i]));
}

FIXTURE_TEARDOWN(loop)
{
	int i, zero = 0;

	if (self->cap >= 0) {
		ubm_stream(self->cap, V4L2_BUF_TYPE_VIDEO_CAPTURE, false);
		ubm_reqbufs(self->cap, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_DMABUF, 0);
		ubm_vivid_loop(self->cap, self->out, false);
		close(self->cap);
	}
	if (self->out >= 0) {
		ubm_stream(self->out, V4L2_BUF_TYPE_VIDEO_OUTPUT, false);
		ubm_reqbufs(self->out, V4L2_BUF_TYPE_VIDEO_OUTPUT, V4L2_MEMORY_DMABUF, 0);
		ubm_xioctl(self->out, VIDIOC_S_OUTPUT, &zero);
		close(self->out);
	}
	for (i = 0; i < NR_OUT; i++) {
		demo_frame_destroy(&self->o[i]);
		free(self->img[i]);
	}
	for (i = 0; i < NR_CAP; i++)
		demo_frame_destroy(&self->c[i]);
	if (self->ext >= 0)
		close(self->ext);
}

/*
 * Capture until a frame equals image @k (returns how many frames it took);
 * every frame before must equal image @prev (-1: none allowed).
 */
static int capture_until(struct __test_metadata *_metadata,
			 FIXTURE_DATA(loop) *self, int k, int prev)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_buffer b;
	int i, ret;

	for (i = 0; i < MAX_WAIT; i++) {
		struct demo_frame *f;
		long off, off_prev = 0;

		ret = ubm_dqbuf(self->cap, type, V4L2_MEMORY_DMABUF, &b, DEMO_DQ_TIMEOUT_MS);
		if (ret) {
			TH_LOG("capture DQBUF: %s", strerror(-ret));
			return -1;
		}
		if (b.index >= NR_CAP || b.bytesused != self->size) {
			TH_LOG("capture: bad buffer %u, %u bytes", b.index, b.bytesused);
			return -1;
		}
		f = &self->c[b.index];
		udmabuf_ext_cpu_begin(f->fd, DMA_BUF_SYNC_READ);
		off = demo_first_diff(f->data, self->img[k], self->size);
		if (off >= 0 && prev >= 0)
			off_prev = demo_first_diff(f->data, self->img[prev], self->size);
		udmabuf_ext_cpu_end(f->fd, DMA_BUF_SYNC_READ);
		if (!demo_frame_guard_ok(f)) {
			TH_LOG("capture: vivid wrote past frame %u", b.index);
			return -1;
		}
		if (off >= 0 && (prev < 0 || off_prev >= 0)) {
			TH_LOG("captured frame %d (seq %u) is neither output frame %d nor %d: byte %ld is %#x, want %#x",
			       i, b.sequence, k, prev, off, f->data[off], self->img[k][off]);
			return -1;
		}
		memset(f->data, 0, self->size);
		ret = ubm_qbuf(self->cap, type, V4L2_MEMORY_DMABUF, b.index, f->fd,
				self->size, 0);
		if (ret) {
			TH_LOG("capture QBUF: %s", strerror(-ret));
			return -1;
		}
		if (off < 0)
			return i + 1;
	}
	TH_LOG("output frame %d never reached the capture in %d frames", k, MAX_WAIT);
	return -1;
}

TEST_F(loop, malloc_frames_out_and_back)
{
	const uint32_t otype = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	const uint32_t ctype = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_buffer b;
	int i, n;

	/* 6.1's harness runs the test body after a SKIP in the set-up. */
	if (_metadata->skip)
		return;

	ASSERT_EQ(0, ubm_reqbufs(self->out, otype, V4L2_MEMORY_DMABUF, NR_OUT));
	ASSERT_EQ(0, ubm_reqbufs(self->cap, ctype, V4L2_MEMORY_DMABUF, NR_CAP));
	for (i = 0; i < NR_CAP; i++)
		ASSERT_EQ(0, ubm_qbuf(self->cap, ctype, V4L2_MEMORY_DMABUF, i,
				       self->c[i].fd, self->size, 0));

	/* Frame 0 alone: vivid's output keeps it; the capture shows only it. */
	ASSERT_EQ(0, ubm_qbuf(self->out, otype, V4L2_MEMORY_DMABUF, 0, self->o[0].fd,
			       self->size, self->size));
	ASSERT_EQ(0, ubm_stream(self->out, otype, true));
	ASSERT_EQ(0, ubm_stream(self->cap, ctype, true));
	n = capture_until(_metadata, self, 0, -1);
	ASSERT_EQ(1, n) TH_LOG("the first captured frame is not output frame 0");
	for (i = 0; i < 2; i++)
		ASSERT_EQ(1, capture_until(_metadata, self, 0, -1));

	/* Then 1 and 2: each replaces the one before, which comes back. */
	for (i = 1; i < NR_OUT; i++) {
		ASSERT_EQ(0, ubm_qbuf(self->out, otype, V4L2_MEMORY_DMABUF, i,
				       self->o[i].fd, self->size, self->size));
		ASSERT_EQ(0, ubm_dqbuf(self->out, otype, V4L2_MEMORY_DMABUF, &b, DEMO_DQ_TIMEOUT_MS));
		EXPECT_EQ(i - 1, (int)b.index);
		EXPECT_EQ(self->o[i - 1].fd, b.m.fd);
		n = capture_until(_metadata, self, i, i - 1);
		ASSERT_LT(0, n);
		ksft_print_msg("output frame %d reached the capture after %d frame(s)\n",
			       i, n);
		ASSERT_EQ(1, capture_until(_metadata, self, i, -1));
	}
	ASSERT_EQ(0, ubm_stream(self->cap, ctype, false));
	ASSERT_EQ(0, ubm_stream(self->out, otype, false));

	/* vivid only read the played frames. */
	for (i = 0; i < NR_OUT; i++) {
		EXPECT_EQ(-1, demo_first_diff(self->o[i].data, self->img[i], self->size));
		EXPECT_TRUE(demo_frame_guard_ok(&self->o[i]));
	}
	ksft_print_msg("%d heap %ux%u XR24 frames played over DMABUF, looped back and "
		       "captured into heap frames, byte for byte\n",
		       NR_OUT, self->w, self->h);
}

TEST_HARNESS_MAIN
