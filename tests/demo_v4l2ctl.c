// SPDX-License-Identifier: GPL-2.0-only
/*
 * Byte identity against a real V4L2 client (tests/suites/demo).
 *
 * With the demo's vivid settings (tools/demo/vivid-setup, v4l2-ctl: HDMI
 * input, 800x600 XR24, "100% Color Squares", no movement, no OSD), the
 * frames captured into malloc()'d memory through udmabuf-ext dma-bufs
 * (V4L2_MEMORY_DMABUF, PIN mode, unaligned pointers) must be byte-identical
 * to the frames `v4l2-ctl --stream-mmap --stream-count=N --stream-to=FILE`
 * captures into vivid's own buffers, frame by frame.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "demo_common.h"

#include "kselftest_harness.h"

#define NR_FRAMES	8
#define NR_BUFS		4

FIXTURE(identity) {
	char dev[64];
	int vfd;
	int ext;
	size_t size;
	struct demo_frame f[NR_BUFS];
	uint8_t *ctl;		/* v4l2-ctl's frames */
};

FIXTURE_SETUP(identity)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	int i, ret;

	self->vfd = self->ext = -1;
	self->ctl = NULL;
	memset(self->f, 0, sizeof(self->f));
	if (!demo_in_suite())
		SKIP(return, "runs in tests/suites/demo (%s)", DEMO_SUITE_ENV);
	ret = demo_vivid_setup(self->dev, sizeof(self->dev));
	ASSERT_EQ(0, ret) TH_LOG("tools/demo/vivid-setup failed (vivid loaded?)");
	self->vfd = open(self->dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->vfd);
	ASSERT_EQ(0, ubm_xioctl(self->vfd, VIDIOC_G_FMT, &fmt));
	ASSERT_EQ(V4L2_PIX_FMT_XBGR32, fmt.fmt.pix.pixelformat);
	ASSERT_EQ(800, fmt.fmt.pix.width);
	ASSERT_EQ(600, fmt.fmt.pix.height);
	self->size = fmt.fmt.pix.sizeimage;
	ASSERT_EQ(800 * 600 * 4, self->size);
	self->ext = udmabuf_ext_open();
	ASSERT_LE(0, self->ext) TH_LOG("udmabuf_ext_open: %s", strerror(-self->ext));
	for (i = 0; i < NR_BUFS; i++) {
		ret = demo_frame_create(self->ext, self->size, &self->f[i]);
		ASSERT_EQ(0, ret) TH_LOG("buffer %d: %s", i, strerror(-ret));
	}
}

FIXTURE_TEARDOWN(identity)
{
	int i;

	if (self->vfd >= 0)
		close(self->vfd);
	for (i = 0; i < NR_BUFS; i++)
		demo_frame_destroy(&self->f[i]);
	if (self->ext >= 0)
		close(self->ext);
	free(self->ctl);
}

/* v4l2-ctl's capture: NR_FRAMES frames into one file, read back. */
static int v4l2ctl_capture(const char *dev, size_t size, uint8_t **out)
{
	char path[] = "/tmp/demo-v4l2ctl.XXXXXX", cmd[256];
	uint8_t *buf;
	struct stat st;
	int fd, ret;

	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "v4l2-ctl -d %s --stream-mmap --stream-count=%d --stream-to=%s "
		 ">/dev/null 2>&1", dev, NR_FRAMES, path);
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret) || WEXITSTATUS(ret)) {
		ksft_print_msg("'%s' failed (status %#x)\n", cmd, ret);
		unlink(path);
		return -EIO;
	}
	if (stat(path, &st) || (size_t)st.st_size != NR_FRAMES * size) {
		ksft_print_msg("v4l2-ctl wrote %lld bytes, want %zu\n",
			       (long long)st.st_size, NR_FRAMES * size);
		unlink(path);
		return -EIO;
	}
	buf = malloc(NR_FRAMES * size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0 || read(fd, buf, NR_FRAMES * size) != (ssize_t)(NR_FRAMES * size)) {
		free(buf);
		if (fd >= 0)
			close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	unlink(path);
	*out = buf;
	return 0;
}

/*
 * Two captures (v4l2-ctl's and ours) of vivid frames drawn on one vCPU under
 * TCG: about 10 s alone, more than the harness's default 30 s when other
 * guests share the host.
 */
TEST_F_TIMEOUT(identity, dmabuf_frames_equal_v4l2ctl_stream_mmap, 120)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_buffer b;
	unsigned int seen = 0;
	long off;
	int i, ret;

	/* 6.1's harness runs the test body after a SKIP in the set-up. */
	if (_metadata->skip)
		return;

	/* The real client first, with the very same settings. */
	ret = v4l2ctl_capture(self->dev, self->size, &self->ctl);
	ASSERT_EQ(0, ret);
	/* A still picture, and not a blank one. */
	ASSERT_LE(0, demo_first_not(self->ctl, self->ctl[0], self->size))
		TH_LOG("v4l2-ctl's frame is uniform");
	for (i = 1; i < NR_FRAMES; i++)
		ASSERT_EQ(-1, demo_first_diff(self->ctl, self->ctl + i * self->size,
					      self->size))
			TH_LOG("v4l2-ctl's frames 0 and %d differ: the settings are not deterministic", i);

	/* Ours: page-aligned heap frames, V4L2_MEMORY_DMABUF. */
	for (i = 0; i < NR_BUFS; i++)
		EXPECT_EQ(0, self->f[i].data_offset);
	ASSERT_EQ(0, ubm_reqbufs(self->vfd, type, V4L2_MEMORY_DMABUF, NR_BUFS));
	for (i = 0; i < NR_BUFS; i++)
		ASSERT_EQ(0, ubm_qbuf(self->vfd, type, V4L2_MEMORY_DMABUF, i,
				       self->f[i].fd, self->size, 0));
	ASSERT_EQ(0, ubm_stream(self->vfd, type, true));
	for (i = 0; i < NR_FRAMES; i++) {
		struct demo_frame *f;

		ret = ubm_dqbuf(self->vfd, type, V4L2_MEMORY_DMABUF, &b, DEMO_DQ_TIMEOUT_MS);
		ASSERT_EQ(0, ret) TH_LOG("frame %d: DQBUF: %s", i, strerror(-ret));
		ASSERT_GT(NR_BUFS, b.index);
		ASSERT_EQ(self->size, b.bytesused);
		f = &self->f[b.index];
		ASSERT_EQ(0, udmabuf_ext_cpu_begin(f->fd, DMA_BUF_SYNC_READ));
		off = demo_first_diff(f->data, self->ctl + i * self->size, self->size);
		EXPECT_EQ(-1, off)
			TH_LOG("frame %d (buffer %u at %p) differs from v4l2-ctl's frame %d at byte %ld: %#x, want %#x",
			       i, b.index, (void *)f->data, i, off,
			       off >= 0 ? f->data[off] : 0,
			       off >= 0 ? self->ctl[i * self->size + off] : 0);
		EXPECT_TRUE(demo_frame_guard_ok(f))
			TH_LOG("frame %d: vivid wrote past the frame", i);
		ASSERT_EQ(0, udmabuf_ext_cpu_end(f->fd, DMA_BUF_SYNC_READ));
		seen |= 1u << b.index;
		/* Wiped before it goes back: the next frame must fill it again. */
		memset(f->data, 0, self->size);
		ASSERT_EQ(0, ubm_qbuf(self->vfd, type, V4L2_MEMORY_DMABUF, b.index,
				       f->fd, self->size, 0));
	}
	EXPECT_EQ((1u << NR_BUFS) - 1, seen);
	ASSERT_EQ(0, ubm_stream(self->vfd, type, false));
	ASSERT_EQ(0, ubm_reqbufs(self->vfd, type, V4L2_MEMORY_DMABUF, 0));
	ksft_print_msg("%d frames of %zu bytes from %s, captured into page-aligned heap "
		       "frames (udmabuf_ext_alloc()), equal v4l2-ctl --stream-mmap's byte for byte\n",
		       NR_FRAMES, self->size, self->dev);
}

TEST_HARNESS_MAIN
