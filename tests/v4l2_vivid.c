// SPDX-License-Identifier: GPL-2.0-only
/*
 * vivid as a real dma-buf importer of udmabuf-ext buffers.
 *
 * vivid's default allocator is vb2-vmalloc: a DMABUF plane is used through
 * the exporter's vmap (taken at VIDIOC_QBUF), never through an attachment
 * and a scatterlist. These tests capture frames into /dev/udmabuf memfd
 * buffers and into udmabuf-ext buffers of heap, THP and hugetlb memory
 * and compare them byte for byte with frames captured into vivid's own MMAP
 * buffers; they play udmabuf-ext buffers on vivid's video output and read
 * them back through vivid's HDMI loopback; and they check that the module's
 * counters return to their starting values once vivid lets go.
 *
 * vivid's frames are made deterministic by selecting the webcam input, the
 * "100% Color Squares" pattern (it varies along both axes), no movement, no
 * border/square and "OSD Text Mode" = "None" (the OSD prints a running
 * timestamp and frame counter). The driver-private controls are looked up
 * by name, never by id.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "udmabuf_driver.h"

#include <linux/videodev2.h>

#include "kselftest_harness.h"
#include "ub-media.h"

#define NR_VIDEO_NODES	64
#define DQ_TIMEOUT_MS	5000
#define CANARY		0xa5
#define OUT_CANARY	0x5a
#define FMT_W		640
#define FMT_H		480
#define MAX_BUFS	4

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uintptr_t)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((uintptr_t)(a) - 1))

/* ---- V4L2 helpers: each returns 0 or a negative errno. ---------------- */

/* The first vivid node with all of @want on bus @bus (any if empty), which
 * receives the node's bus_info. */
static int vivid_open(uint32_t want, char bus[32])
{
	struct ubm_video v;
	int fd = ubm_video_open("vivid", want, bus, &v);

	if (fd >= 0)
		memcpy(bus, v.bus, 32);
	return fd;
}

/* Select the first input (or output) with exactly the capability bits @caps
 * among @mask: webcam = none, HDMI = DV timings. */
static int select_input(int fd, uint32_t mask, uint32_t caps)
{
	struct v4l2_input in;
	int i;

	for (i = 0;; i++) {
		memset(&in, 0, sizeof(in));
		in.index = i;
		if (ubm_xioctl(fd, VIDIOC_ENUMINPUT, &in))
			return -ENODEV;
		if (in.type == V4L2_INPUT_TYPE_CAMERA &&
		    (in.capabilities & mask) == caps)
			return ubm_xioctl(fd, VIDIOC_S_INPUT, &i);
	}
}

static int select_output(int fd, uint32_t mask, uint32_t caps)
{
	struct v4l2_output out;
	int i;

	for (i = 0;; i++) {
		memset(&out, 0, sizeof(out));
		out.index = i;
		if (ubm_xioctl(fd, VIDIOC_ENUMOUTPUT, &out))
			return -ENODEV;
		if ((out.capabilities & mask) == caps)
			return ubm_xioctl(fd, VIDIOC_S_OUTPUT, &i);
	}
}

/* A packed YUYV format of @w x @h; *@size receives sizeimage. */
static int set_fmt(int fd, uint32_t type, uint32_t w, uint32_t h,
		   size_t *size)
{
	struct v4l2_format f = { .type = type };
	int ret;

	f.fmt.pix.width = w;
	f.fmt.pix.height = h;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	f.fmt.pix.bytesperline = w * 2;
	ret = ubm_xioctl(fd, VIDIOC_S_FMT, &f);
	if (ret)
		return ret;
	if (f.fmt.pix.width != w || f.fmt.pix.height != h ||
	    f.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV ||
	    f.fmt.pix.field != V4L2_FIELD_NONE ||
	    f.fmt.pix.bytesperline != w * 2 ||
	    f.fmt.pix.sizeimage != w * h * 2)
		return -EINVAL;
	*size = f.fmt.pix.sizeimage;
	return 0;
}

static int qbuf_dmabuf(int fd, uint32_t type, uint32_t index, int dmabuf,
		       uint32_t bytesused)
{
	return ubm_qbuf(fd, type, V4L2_MEMORY_DMABUF, index, dmabuf, 0,
			bytesused);
}

static int qbuf_mmap(int fd, uint32_t index)
{
	return ubm_qbuf(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP,
			index, 0, 0, 0);
}

/* ---- Content checks ---------------------------------------------------- */

/* Offset of the first byte where @a and @b differ, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
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
static long first_not(const uint8_t *p, uint8_t c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != c)
			return i;
	return -1;
}

/*
 * @size bytes at @data must equal @ref, and the rest of the pages they
 * span, before and after, must still hold CANARY. Returns 0, or -1 after
 * printing what is wrong.
 */
static int check_frame(const uint8_t *data, const uint8_t *ref, size_t size)
{
	const uint8_t *head = (const uint8_t *)ALIGN_DOWN((uintptr_t)data, UB_PAGE);
	const uint8_t *end = data + size;
	const uint8_t *tail = (const uint8_t *)ALIGN_UP((uintptr_t)end, UB_PAGE);
	long off;

	off = first_diff(data, ref, size);
	if (off >= 0) {
		ksft_print_msg("frame at %p differs from the reference at byte %ld (%#x, want %#x)\n",
			       data, off, data[off], ref[off]);
		return -1;
	}
	off = first_not(head, CANARY, data - head);
	if (off >= 0) {
		ksft_print_msg("canary before the frame overwritten at page offset %ld\n",
			       off);
		return -1;
	}
	off = first_not(end, CANARY, tail - end);
	if (off >= 0) {
		ksft_print_msg("canary after the frame overwritten at byte %ld past its end\n",
			       off);
		return -1;
	}
	return 0;
}

/* ---- vivid set-ups ----------------------------------------------------- */

/* Webcam input, deterministic picture, 640x480 YUYV, fastest frame rate. */
static int setup_webcam(int fd, size_t *size)
{
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	int ret;

	ret = select_input(fd, V4L2_IN_CAP_DV_TIMINGS | V4L2_IN_CAP_STD, 0);
	if (ret)
		return ret;
	ret = ubm_vivid_still_picture(fd);
	if (ret)
		return ret;
	ret = set_fmt(fd, V4L2_BUF_TYPE_VIDEO_CAPTURE, FMT_W, FMT_H, size);
	if (ret)
		return ret;
	/* vivid picks the nearest interval it has for this size (1/25). */
	parm.parm.capture.timeperframe = (struct v4l2_fract){ 1, 60 };
	ubm_xioctl(fd, VIDIOC_S_PARM, &parm);
	return 0;
}

/*
 * Capture @n frames into vivid's own MMAP buffers and copy them to
 * @frames (@n * @size bytes). Leaves the queue empty.
 */
static int capture_mmap(int fd, size_t size, uint8_t *frames, int n)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	void *map[2] = { MAP_FAILED, MAP_FAILED };
	struct v4l2_buffer b;
	int i, ret;

	ret = ubm_reqbufs(fd, type, V4L2_MEMORY_MMAP, 2);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		memset(&b, 0, sizeof(b));
		b.index = i;
		b.type = type;
		b.memory = V4L2_MEMORY_MMAP;
		ret = ubm_xioctl(fd, VIDIOC_QUERYBUF, &b);
		if (ret)
			goto out;
		if (b.length < size) {
			ret = -ENOSPC;
			goto out;
		}
		map[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED, fd,
			      b.m.offset);
		if (map[i] == MAP_FAILED) {
			ret = -errno;
			goto out;
		}
		ret = qbuf_mmap(fd, i);
		if (ret)
			goto out;
	}
	ret = ubm_stream(fd, type, true);
	for (i = 0; !ret && i < n; i++) {
		ret = ubm_dqbuf(fd, type, V4L2_MEMORY_MMAP, &b, DQ_TIMEOUT_MS);
		if (ret)
			break;
		if (b.bytesused != size) {
			ret = -EPROTO;
			break;
		}
		memcpy(frames + i * size, map[b.index], size);
		ret = qbuf_mmap(fd, b.index);
	}
	ubm_stream(fd, type, false);
out:
	for (i = 0; i < 2; i++)
		if (map[i] != MAP_FAILED)
			munmap(map[i], size);
	ubm_reqbufs(fd, type, V4L2_MEMORY_MMAP, 0);
	return ret;
}

/*
 * The reference frame: three MMAP captures that must be byte-identical
 * (else the picture is not deterministic and nothing can be compared) and
 * must not be a uniform picture.
 */
static int reference_frame(int fd, size_t size, uint8_t **ref)
{
	uint8_t *f = malloc(3 * size);
	int ret;

	if (!f)
		return -ENOMEM;
	ret = capture_mmap(fd, size, f, 3);
	if (!ret && (first_diff(f, f + size, size) >= 0 ||
		     first_diff(f, f + 2 * size, size) >= 0)) {
		ksft_print_msg("vivid MMAP frames differ from each other: pattern is not deterministic\n");
		ret = -EPROTO;
	}
	/* Rows differ (squares vary vertically), bytes within a row too. */
	if (!ret && (!memcmp(f, f + size / 2, FMT_W * 2) ||
		     first_not(f, f[0], FMT_W * 2) < 0)) {
		ksft_print_msg("vivid reference frame is uniform\n");
		ret = -EPROTO;
	}
	if (ret) {
		free(f);
		return ret;
	}
	*ref = f;
	return 0;
}

/*
 * One capture round into @n DMABUF buffers: QBUF all (STREAMON first time),
 * DQBUF @n frames; each buffer must come back exactly once, full and with
 * its fd.
 */
static int capture_round(int fd, int n, const int *fds, size_t size,
			 bool start)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	unsigned int seen = 0;
	struct v4l2_buffer b;
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = qbuf_dmabuf(fd, type, i, fds[i], 0);
		if (ret)
			return ret;
	}
	if (start) {
		ret = ubm_stream(fd, type, true);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = ubm_dqbuf(fd, type, V4L2_MEMORY_DMABUF, &b, DQ_TIMEOUT_MS);
		if (ret)
			return ret;
		if (b.index >= (uint32_t)n || (seen & (1u << b.index)) ||
		    b.bytesused != size || b.m.fd != fds[b.index]) {
			ksft_print_msg("bad DQBUF: index %u, bytesused %u, fd %d\n",
				       b.index, b.bytesused, b.m.fd);
			return -EPROTO;
		}
		seen |= 1u << b.index;
	}
	return 0;
}

/*
 * Kernel splats since kmsg_open(): the number of kernel log records, read
 * from /dev/kmsg, that contain "WARNING:", "BUG:" or "Call Trace" (each
 * printed). The runner's dmesg gate sees them too, but only for a whole
 * run; this names the test that caused them.
 */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static int kmsg_splats(int fd)
{
	static const char * const pat[] = { "WARNING:", "BUG:", "Call Trace" };

	if (fd < 0)
		return 0;
	return ub_kmsg_scan(fd, pat, sizeof(pat) / sizeof(pat[0]), true);
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/udmabuf_ext/refcnt", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The module's counters that must return to their starting values. */
struct counters {
	long buffers, pages, pinned_pages, attachments, vmaps, refcnt;
};

static void counters_read(struct counters *c)
{
	c->buffers = ub_stat("buffers");
	c->pages = ub_stat("pages");
	c->pinned_pages = ub_stat("pinned_pages");
	c->attachments = ub_stat("attachments");
	c->vmaps = ub_stat("vmaps");
	c->refcnt = module_refcnt();
}

/* ---- Capture from the webcam input ------------------------------------ */

FIXTURE(capture) {
	int fd;
	int ext;
	size_t size;
	uint8_t *ref;
	struct counters base;
};

FIXTURE_SETUP(capture)
{
	char bus[32] = "";
	int ret;

	self->ref = NULL;
	self->ext = -1;
	self->fd = vivid_open(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING, bus);
	if (self->fd < 0)
		SKIP(return, "no vivid video capture node (modprobe vivid)");
	self->ext = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ext) TH_LOG("%s: %s", UB_DEV, strerror(errno));
	ret = setup_webcam(self->fd, &self->size);
	ASSERT_EQ(0, ret) TH_LOG("webcam set-up: %s", strerror(-ret));
	ret = reference_frame(self->fd, self->size, &self->ref);
	ASSERT_EQ(0, ret) TH_LOG("reference frame: %s", strerror(-ret));
	counters_read(&self->base);
	ASSERT_LE(0, self->base.buffers);
	ASSERT_LE(0, self->base.refcnt);
}

FIXTURE_TEARDOWN(capture)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->ext >= 0)
		close(self->ext);
	free(self->ref);
}

/*
 * A shmem memfd, through the upstream ABI of @path: four buffers at four
 * offsets of one memfd, two capture rounds each checked through the memfd's
 * own mapping (the CANARY is rewritten between rounds, so the second round
 * proves fresh writes).  @path is /dev/udmabuf (the module's drop-in, or
 * the kernel's own driver, whose buffers vivid must take the same way) or
 * /dev/udmabuf-ext; the module's counters only move for its own buffers.
 */
static void capture_into_memfd(struct __test_metadata *_metadata,
			       FIXTURE_DATA(capture) *self, const char *path)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	size_t slot = ALIGN_UP(self->size, UB_PAGE);
	struct udmabuf_ext_info info;
	int dev, memfd, fds[MAX_BUFS], i, round;
	bool ours = ub_node_probe(path).drv == UB_DRV_MODULE;
	uint8_t *mem;

	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		SKIP(return, "%s: %s", path, strerror(errno));
	memfd = ub_memfd(MAX_BUFS * slot, F_SEAL_SHRINK, false);
	ASSERT_LE(0, memfd);
	mem = mmap(NULL, MAX_BUFS * slot, PROT_READ | PROT_WRITE, MAP_SHARED,
		   memfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, CANARY, MAX_BUFS * slot);
	for (i = 0; i < MAX_BUFS; i++) {
		fds[i] = ub_create_memfd(dev, memfd, i * slot, slot, 0);
		ASSERT_LE(0, fds[i]) TH_LOG("UDMABUF_CREATE: %s", strerror(-fds[i]));
	}
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, MAX_BUFS));

	for (round = 0; round < 2; round++) {
		if (round)
			memset(mem, CANARY, MAX_BUFS * slot);
		ASSERT_EQ(0, capture_round(self->fd, MAX_BUFS, fds, self->size,
					   round == 0));
		for (i = 0; i < MAX_BUFS; i++) {
			EXPECT_EQ(0, check_frame(mem + i * slot, self->ref,
						 self->size))
				TH_LOG("round %d, buffer %d", round, i);
		}
	}

	/* vb2-vmalloc holds one vmap per buffer and never attaches. */
	EXPECT_EQ(self->base.vmaps + (ours ? MAX_BUFS : 0), ub_stat("vmaps"));
	EXPECT_EQ(self->base.attachments, ub_stat("attachments"));
	if (ours) {
		ASSERT_EQ(0, ub_info(self->ext, fds[0], &info));
		EXPECT_EQ(0, info.nr_attachments);
	}

	ASSERT_EQ(0, ubm_stream(self->fd, type, false));
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(self->base.vmaps, ub_stat("vmaps"));
	for (i = 0; i < MAX_BUFS; i++)
		close(fds[i]);
	munmap(mem, MAX_BUFS * slot);
	close(memfd);
	close(dev);
}

TEST_F(capture, capture_into_memfd_dropin)
{
	UB_RETURN_IF_SKIPPED();
	capture_into_memfd(_metadata, self, UB_DROPIN_DEV);
}

TEST_F(capture, capture_into_memfd_ext)
{
	UB_RETURN_IF_SKIPPED();
	capture_into_memfd(_metadata, self, UB_DEV);
}

/*
 * A READ_ONLY buffer may not be written by a device. vb2-vmalloc takes the
 * vmap at QBUF; the module refuses vmap of READ_ONLY buffers (EACCES) and
 * vb2-vmalloc reports every vmap failure as EFAULT, so QBUF fails with
 * EFAULT. Capture then runs into another buffer while the read-only pages
 * keep their canary. The same memory without READ_ONLY queues fine.
 */
TEST_F(capture, read_only_buffer_refused_for_capture)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	size_t len = ALIGN_UP(self->size, UB_PAGE);
	uint8_t *ro_mem, *rw_mem, *view;
	int ro, rw, ctl, kmsg, fds[1];

	ro_mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rw_mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro_mem);
	ASSERT_NE(MAP_FAILED, rw_mem);
	memset(ro_mem, CANARY, len);
	memset(rw_mem, CANARY, len);
	ro = ub_ext_create_user(self->ext, ro_mem, self->size,
				UDMABUF_EXT_MODE_PIN, UDMABUF_EXT_FLAGS_READ_ONLY);
	ASSERT_LE(0, ro) TH_LOG("READ_ONLY create: %s", strerror(-ro));
	ctl = ub_ext_create_user(self->ext, ro_mem, self->size,
				 UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, ctl);
	rw = ub_ext_create_user(self->ext, rw_mem, self->size,
				UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, rw);
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 2));

	kmsg = kmsg_open();
	EXPECT_EQ(-EFAULT, qbuf_dmabuf(self->fd, type, 0, ro, 0));
	EXPECT_EQ(self->base.vmaps, ub_stat("vmaps"));
	/* A refusal, not a kernel warning (6.1's dma_buf_vmap WARNs once
	 * when an exporter's vmap op fails). */
	EXPECT_EQ(0, kmsg_splats(kmsg));

	/* Control: the same pages without READ_ONLY are accepted. */
	ASSERT_EQ(0, qbuf_dmabuf(self->fd, type, 0, ctl, 0));
	EXPECT_EQ(self->base.vmaps + 1, ub_stat("vmaps"));
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(self->base.vmaps, ub_stat("vmaps"));
	close(ctl);

	/* Stream into the writable buffer with the read-only one refused. */
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 2));
	EXPECT_EQ(-EFAULT, qbuf_dmabuf(self->fd, type, 1, ro, 0));
	fds[0] = rw;
	ASSERT_EQ(0, capture_round(self->fd, 1, fds, self->size, true));
	ASSERT_EQ(0, capture_round(self->fd, 1, fds, self->size, false));
	EXPECT_EQ(0, check_frame(rw_mem, self->ref, self->size));
	ASSERT_EQ(0, ubm_stream(self->fd, type, false));
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 0));

	/* The read-only pages, directly and through the dma-buf. */
	EXPECT_EQ(-1, first_not(ro_mem, CANARY, len));
	view = mmap(NULL, len, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, view);
	EXPECT_EQ(-1, first_not(view, CANARY, len));
	munmap(view, len);

	close(ro);
	close(rw);
	munmap(ro_mem, len);
	munmap(rw_mem, len);
	EXPECT_EQ(self->base.buffers, ub_stat("buffers"));
}

/*
 * Three buffers streaming; our fds are closed while vivid still has them
 * queued, so vivid's references keep them (and the module) alive; STREAMOFF
 * and REQBUFS(0) then release everything: every counter and the module's
 * reference count return to their starting values (rmmod is possible).
 */
TEST_F(capture, release_after_streamoff_and_reqbufs0)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	size_t slot = ALIGN_UP(self->size, UB_PAGE) + UB_PAGE;
	struct counters now;
	int fds[3], i;
	uint8_t *mem;

	mem = mmap(NULL, 3 * slot, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, CANARY, 3 * slot);
	for (i = 0; i < 3; i++) {
		fds[i] = ub_ext_create_user(self->ext, mem + i * slot,
					    ALIGN_UP(self->size, UB_PAGE),
					    UDMABUF_EXT_MODE_PIN, 0);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 3));
	ASSERT_EQ(0, capture_round(self->fd, 3, fds, self->size, true));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, check_frame(mem + i * slot, self->ref,
					 self->size));
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, qbuf_dmabuf(self->fd, type, i, fds[i], 0));
	}
	for (i = 0; i < 3; i++)
		close(fds[i]);

	counters_read(&now);
	EXPECT_EQ(self->base.buffers + 3, now.buffers);
	EXPECT_EQ(self->base.vmaps + 3, now.vmaps);
	EXPECT_EQ(self->base.attachments, now.attachments);
	EXPECT_LT(self->base.pinned_pages, now.pinned_pages);
	EXPECT_EQ(self->base.refcnt + 3, now.refcnt);

	ASSERT_EQ(0, ubm_stream(self->fd, type, false));
	counters_read(&now);
	EXPECT_EQ(self->base.buffers + 3, now.buffers);	/* still allocated */
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 0));
	counters_read(&now);
	EXPECT_EQ(self->base.buffers, now.buffers);
	EXPECT_EQ(self->base.pages, now.pages);
	EXPECT_EQ(self->base.pinned_pages, now.pinned_pages);
	EXPECT_EQ(self->base.attachments, now.attachments);
	EXPECT_EQ(self->base.vmaps, now.vmaps);
	EXPECT_EQ(self->base.refcnt, now.refcnt);
	munmap(mem, 3 * slot);
}

/* The same, with the video node closed while streaming: its release
 * stops the stream and drops every buffer. */
TEST_F(capture, release_on_close_while_streaming)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	size_t slot = ALIGN_UP(self->size, UB_PAGE);
	int memfd, fds[2], i;
	struct counters now;
	uint8_t *mem;

	memfd = ub_memfd(2 * slot, F_SEAL_SHRINK, false);
	ASSERT_LE(0, memfd);
	mem = mmap(NULL, 2 * slot, PROT_READ | PROT_WRITE, MAP_SHARED,
		   memfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, CANARY, 2 * slot);
	for (i = 0; i < 2; i++) {
		fds[i] = ub_create_memfd(self->ext, memfd, i * slot, slot, 0);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 2));
	ASSERT_EQ(0, capture_round(self->fd, 2, fds, self->size, true));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, check_frame(mem + i * slot, self->ref,
					 self->size));
		ASSERT_EQ(0, qbuf_dmabuf(self->fd, type, i, fds[i], 0));
		close(fds[i]);
	}
	counters_read(&now);
	EXPECT_EQ(self->base.buffers + 2, now.buffers);
	EXPECT_EQ(self->base.vmaps + 2, now.vmaps);

	close(self->fd);		/* streaming, two buffers queued */
	self->fd = -1;
	counters_read(&now);
	EXPECT_EQ(self->base.buffers, now.buffers);
	EXPECT_EQ(self->base.pages, now.pages);
	EXPECT_EQ(self->base.pinned_pages, now.pinned_pages);
	EXPECT_EQ(self->base.attachments, now.attachments);
	EXPECT_EQ(self->base.vmaps, now.vmaps);
	EXPECT_EQ(self->base.refcnt, now.refcnt);
	munmap(mem, 2 * slot);
	close(memfd);
}

/* ---- Capture into user memory through UDMABUF_EXT_CREATE ---------------- */

/*
 * Frames a device writes: page aligned and whole pages (a writable range
 * must be, EINVAL otherwise), from the heap (aligned_alloc(), as
 * udmabuf_ext_alloc() does), from a THP or from a hugetlb page.
 */
enum mem_kind { MEM_HEAP, MEM_THP, MEM_HUGETLB };

FIXTURE(capture_into) {
	int fd;
	int ext;
	size_t size;
	uint8_t *ref;
	void *alloc;		/* what to free or unmap */
	size_t alloc_len;
	uint8_t *region;	/* page-aligned start of the slots */
	size_t slot;
};

FIXTURE_VARIANT(capture_into) {
	enum mem_kind kind;
};

FIXTURE_VARIANT_ADD(capture_into, heap) { .kind = MEM_HEAP };
FIXTURE_VARIANT_ADD(capture_into, thp) { .kind = MEM_THP };
FIXTURE_VARIANT_ADD(capture_into, hugetlb) { .kind = MEM_HUGETLB };

#define NR_USER_BUFS	2

FIXTURE_SETUP(capture_into)
{
	char bus[32] = "";
	int ret;

	self->ref = NULL;
	self->alloc = NULL;
	self->ext = -1;
	self->fd = vivid_open(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING, bus);
	if (self->fd < 0)
		SKIP(return, "no vivid video capture node (modprobe vivid)");
	self->ext = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ext) TH_LOG("%s: %s", UB_DEV, strerror(errno));
	ret = setup_webcam(self->fd, &self->size);
	ASSERT_EQ(0, ret) TH_LOG("webcam set-up: %s", strerror(-ret));

	/* Slots of whole pages with a spare page between frames. */
	self->slot = ALIGN_UP(self->size, UB_PAGE) + UB_PAGE;

	switch (variant->kind) {
	case MEM_HEAP:
		self->alloc_len = NR_USER_BUFS * self->slot;
		self->alloc = aligned_alloc(UB_PAGE, self->alloc_len);
		ASSERT_NE(NULL, self->alloc);
		self->region = self->alloc;
		break;
	case MEM_THP: {
		uint8_t *p;

		/* 4 MiB mapped, the 2 MiB-aligned huge page inside used. */
		self->alloc_len = 2 * UB_HPAGE;
		p = mmap(NULL, self->alloc_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		self->alloc = p;
		self->region = (uint8_t *)ALIGN_UP((uintptr_t)p, UB_HPAGE);
		ASSERT_EQ(0, madvise(self->region, UB_HPAGE, MADV_HUGEPAGE));
		break;
	}
	case MEM_HUGETLB: {
		void *p;

		self->alloc_len = UB_HPAGE;
		p = mmap(NULL, self->alloc_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			SKIP(return, "no 2 MiB hugetlb page: %s", strerror(errno));
		self->alloc = p;
		self->region = p;
		break;
	}
	}
	if (variant->kind != MEM_HEAP) {
		ASSERT_GE(UB_HPAGE, NR_USER_BUFS * self->slot);
	}
	/* Faults every page in (a huge page for THP and hugetlb). */
	memset(self->region, CANARY, NR_USER_BUFS * self->slot);

	ret = reference_frame(self->fd, self->size, &self->ref);
	ASSERT_EQ(0, ret) TH_LOG("reference frame: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(capture_into)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->ext >= 0)
		close(self->ext);
	free(self->ref);
	if (self->alloc) {
		if (variant->kind == MEM_HEAP)
			free(self->alloc);
		else
			munmap(self->alloc, self->alloc_len);
	}
}

/*
 * PIN-mode buffers of whole pages whose first byte is the frame pointer:
 * vivid's frame must land exactly at the pointer, the rest of its last
 * page and the spare page after it untouched; data_offset is 0; huge pages
 * give a single segment.
 */
TEST_F(capture_into, frame_lands_at_pointer)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct udmabuf_ext_create c;
	struct udmabuf_ext_info info;
	int fds[NR_USER_BUFS], i, round;
	uint8_t *data[NR_USER_BUFS];
	long vmaps = ub_stat("vmaps");
	size_t npages;

	for (i = 0; i < NR_USER_BUFS; i++) {
		struct udmabuf_ext_item it = {
			.kind = UDMABUF_EXT_ITEM_USER,
			.start = (uintptr_t)(self->region + i * self->slot),
			.size = ALIGN_UP(self->size, UB_PAGE),
		};

		data[i] = self->region + i * self->slot;
		fds[i] = ub_ext_create(self->ext, &it, 1, UDMABUF_EXT_MODE_PIN,
				       0, &c);
		ASSERT_LE(0, fds[i]) TH_LOG("create: %s", strerror(-fds[i]));
		npages = ALIGN_UP(self->size, UB_PAGE) / UB_PAGE;
		EXPECT_EQ(0, c.data_offset);
		EXPECT_EQ(npages * UB_PAGE, c.size);

		ASSERT_EQ(0, ub_info(self->ext, fds[i], &info));
		EXPECT_EQ(0, info.data_offset);
		EXPECT_EQ(npages, info.nr_pages);
		EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
		EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_USER);
		switch (variant->kind) {
		case MEM_HEAP:
			EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_ANON);
			break;
		case MEM_THP:
			EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_ANON);
			EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_THP)
				TH_LOG("no transparent huge page behind the range");
			EXPECT_EQ(1, info.nr_segments);
			break;
		case MEM_HUGETLB:
			EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_HUGETLB);
			EXPECT_EQ(1, info.nr_segments);
			break;
		}
	}
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, NR_USER_BUFS));

	for (round = 0; round < 2; round++) {
		if (round)
			memset(self->region, CANARY, NR_USER_BUFS * self->slot);
		ASSERT_EQ(0, capture_round(self->fd, NR_USER_BUFS, fds,
					   self->size, round == 0));
		for (i = 0; i < NR_USER_BUFS; i++) {
			EXPECT_EQ(0, check_frame(data[i], self->ref, self->size))
				TH_LOG("round %d, buffer %d", round, i);
		}
	}
	EXPECT_EQ(vmaps + NR_USER_BUFS, ub_stat("vmaps"));
	ASSERT_EQ(0, ubm_stream(self->fd, type, false));
	ASSERT_EQ(0, ubm_reqbufs(self->fd, type, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(vmaps, ub_stat("vmaps"));
	for (i = 0; i < NR_USER_BUFS; i++)
		close(fds[i]);
}

/* ---- Output, read back through vivid's HDMI loopback ------------------- */

FIXTURE(loop) {
	int cap;
	int out;
	int ext;
	size_t size;
	uint32_t w, h;
};

FIXTURE_SETUP(loop)
{
	struct v4l2_dv_timings t = { 0 };
	size_t out_size;
	char bus[32] = "";
	int ret;

	self->out = self->ext = -1;
	self->cap = vivid_open(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING, bus);
	if (self->cap < 0)
		SKIP(return, "no vivid video capture node (modprobe vivid)");
	self->out = vivid_open(V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING, bus);
	if (self->out < 0)
		SKIP(return, "no video output node on %s", bus);
	self->ext = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ext) TH_LOG("%s: %s", UB_DEV, strerror(errno));

	/* vivid loops only HDMI in to HDMI out (or S-Video to S-Video). */
	ret = select_input(self->cap, V4L2_IN_CAP_DV_TIMINGS,
			   V4L2_IN_CAP_DV_TIMINGS);
	if (ret == -ENODEV)
		SKIP(return, "vivid has no HDMI input (input_types)");
	ASSERT_EQ(0, ret);
	ret = select_output(self->out, V4L2_OUT_CAP_DV_TIMINGS,
			    V4L2_OUT_CAP_DV_TIMINGS);
	if (ret == -ENODEV)
		SKIP(return, "vivid has no HDMI output (output_types)");
	ASSERT_EQ(0, ret);
	/* ... with equal resolutions: the output takes the input's timings. */
	ASSERT_EQ(0, ubm_xioctl(self->cap, VIDIOC_G_DV_TIMINGS, &t));
	ASSERT_EQ(0, ubm_xioctl(self->out, VIDIOC_S_DV_TIMINGS, &t));
	ASSERT_EQ(V4L2_DV_BT_656_1120, t.type);
	ASSERT_EQ(0, t.bt.interlaced);
	self->w = t.bt.width;
	self->h = t.bt.height;
	ret = ubm_vivid_still_picture(self->cap);
	ASSERT_EQ(0, ret) TH_LOG("controls: %s", strerror(-ret));
	ret = ubm_vivid_loop(self->cap, self->out, true);
	ASSERT_EQ(0, ret) TH_LOG("vivid loopback: %s", strerror(-ret));
	/* ... and the same fourcc and field on both sides. */
	ASSERT_EQ(0, set_fmt(self->cap, V4L2_BUF_TYPE_VIDEO_CAPTURE,
			     self->w, self->h, &self->size));
	ASSERT_EQ(0, set_fmt(self->out, V4L2_BUF_TYPE_VIDEO_OUTPUT,
			     self->w, self->h, &out_size));
	ASSERT_EQ(self->size, out_size);
}

FIXTURE_TEARDOWN(loop)
{
	if (self->cap >= 0) {
		/* Leave vivid as the other tests expect it. */
		int zero = 0;

		ubm_reqbufs(self->cap, V4L2_BUF_TYPE_VIDEO_CAPTURE,
			V4L2_MEMORY_MMAP, 0);
		ubm_vivid_loop(self->cap, self->out, false);
		ubm_xioctl(self->cap, VIDIOC_S_INPUT, &zero);
		close(self->cap);
	}
	if (self->out >= 0) {
		int zero = 0;

		ubm_reqbufs(self->out, V4L2_BUF_TYPE_VIDEO_OUTPUT,
			V4L2_MEMORY_DMABUF, 0);
		ubm_xioctl(self->out, VIDIOC_S_OUTPUT, &zero);
		close(self->out);
	}
	if (self->ext >= 0)
		close(self->ext);
}

/*
 * A frame to play: the pointer, its dma-buf, its fd. vb2-vmalloc reads it
 * through vmap, which only a writable buffer has, and from the buffer's
 * first byte: the frame is page aligned, in whole pages. A READ_ONLY frame
 * is plain malloc() memory one page in, whose misalignment a read-only
 * buffer accepts. The rest of the pages holds a canary.
 */
struct out_buf {
	uint8_t *alloc;
	uint8_t *data;
	size_t len;		/* bytes shared: whole pages if writable */
	int fd;
};

static int out_buf_create(int ext, size_t size, uint32_t seed,
			  uint32_t flags, struct out_buf *b)
{
	if (flags & UDMABUF_EXT_FLAGS_READ_ONLY) {
		b->alloc = malloc(size + 2 * UB_PAGE);
		if (!b->alloc)
			return -ENOMEM;
		b->data = b->alloc + UB_PAGE;
		if (!((uintptr_t)b->data & (UB_PAGE - 1)))
			b->data += 16;
		b->len = size;
	} else {
		b->len = ALIGN_UP(size, UB_PAGE);
		b->alloc = aligned_alloc(UB_PAGE, b->len + UB_PAGE);
		if (!b->alloc)
			return -ENOMEM;
		b->data = b->alloc;
	}
	memset((void *)ALIGN_DOWN((uintptr_t)b->data, UB_PAGE), OUT_CANARY,
	       ALIGN_UP(size, UB_PAGE) + UB_PAGE);
	ub_fill(b->data, size, seed);
	b->fd = ub_ext_create_user(ext, b->data, b->len, UDMABUF_EXT_MODE_PIN,
				   flags);
	if (b->fd < 0) {
		free(b->alloc);
		return b->fd;
	}
	return 0;
}

static void out_buf_destroy(struct out_buf *b)
{
	close(b->fd);
	free(b->alloc);
}

/*
 * Capture frames until one equals @want (return its number, from 0) or
 * @max_frames went by (-ETIMEDOUT); a frame equal to neither @want nor
 * @also is -EPROTO (with the offending bytes printed).
 */
static int capture_until(int cap, uint8_t **maps, size_t size,
			 const uint8_t *want, const uint8_t *also,
			 int max_frames)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_buffer b;
	int i, ret;

	for (i = 0; i < max_frames; i++) {
		const uint8_t *f;
		long off;

		ret = ubm_dqbuf(cap, type, V4L2_MEMORY_MMAP, &b, DQ_TIMEOUT_MS);
		if (ret)
			return ret;
		if (b.bytesused != size)
			return -EPROTO;
		/* Compare before the buffer goes back to vivid. */
		f = maps[b.index];
		off = first_diff(f, want, size);
		if (off >= 0 && !(also && first_diff(f, also, size) < 0)) {
			ksft_print_msg("captured frame %d (seq %u) is neither output image: byte %ld is %#x, want %#x\n",
				       i, b.sequence, off, f[off], want[off]);
			return -EPROTO;
		}
		ret = qbuf_mmap(cap, b.index);
		if (ret)
			return ret;
		if (off < 0)
			return i;
	}
	return -ETIMEDOUT;
}

/*
 * vivid's output reads a udmabuf-ext buffer through vmap, and its HDMI
 * loopback copies what it read into the capture buffers:
 *  1. A alone is queued: vivid's output keeps its last buffer, so every
 *     captured frame must be A's bytes, read from A's pointer.
 *  2. B is queued: vivid's output completes A (DQBUF returns A) and the
 *     capture switches to B's bytes.
 *  3. A's memory is rewritten through its pointer (PIN: the device
 *     sees the process's pages) and A requeued: B completes, the capture
 *     shows A's new bytes.
 * vmaps counts one mapping per queued buffer; vb2-vmalloc never attaches.
 */
TEST_F(loop, output_reads_through_vmap)
{
	const uint32_t ctype = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	const uint32_t otype = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	long vmaps = ub_stat("vmaps"), att = ub_stat("attachments");
	uint8_t *maps[MAX_BUFS], *img_a, *img_b;
	struct out_buf a, b;
	struct v4l2_buffer vb;
	int i, ret;

	img_a = malloc(self->size);
	img_b = malloc(self->size);
	ASSERT_NE(NULL, img_a);
	ASSERT_NE(NULL, img_b);
	ub_fill(img_a, self->size, 1);
	ub_fill(img_b, self->size, 2);
	ASSERT_EQ(0, out_buf_create(self->ext, self->size, 1, 0, &a));
	ASSERT_EQ(0, out_buf_create(self->ext, self->size, 2, 0, &b));

	ASSERT_EQ(0, ubm_reqbufs(self->cap, ctype, V4L2_MEMORY_MMAP, MAX_BUFS));
	for (i = 0; i < MAX_BUFS; i++) {
		memset(&vb, 0, sizeof(vb));
		vb.index = i;
		vb.type = ctype;
		vb.memory = V4L2_MEMORY_MMAP;
		ASSERT_EQ(0, ubm_xioctl(self->cap, VIDIOC_QUERYBUF, &vb));
		maps[i] = mmap(NULL, self->size, PROT_READ, MAP_SHARED,
			       self->cap, vb.m.offset);
		ASSERT_NE(MAP_FAILED, maps[i]);
		ASSERT_EQ(0, qbuf_mmap(self->cap, i));
	}
	ASSERT_EQ(0, ubm_reqbufs(self->out, otype, V4L2_MEMORY_DMABUF, 2));

	/* 1. */
	ASSERT_EQ(0, qbuf_dmabuf(self->out, otype, 0, a.fd, self->size));
	EXPECT_EQ(vmaps + 1, ub_stat("vmaps"));
	ASSERT_EQ(0, ubm_stream(self->out, otype, true));
	ASSERT_EQ(0, ubm_stream(self->cap, ctype, true));
	for (i = 0; i < 3; i++) {
		ret = capture_until(self->cap, maps, self->size, img_a, NULL, 1);
		ASSERT_EQ(0, ret) TH_LOG("phase 1, frame %d: %d", i, ret);
	}
	EXPECT_EQ(vmaps + 1, ub_stat("vmaps"));
	EXPECT_EQ(att, ub_stat("attachments"));

	/* 2. */
	ASSERT_EQ(0, qbuf_dmabuf(self->out, otype, 1, b.fd, self->size));
	EXPECT_EQ(vmaps + 2, ub_stat("vmaps"));
	ASSERT_EQ(0, ubm_dqbuf(self->out, otype, V4L2_MEMORY_DMABUF, &vb, DQ_TIMEOUT_MS));
	EXPECT_EQ(0, vb.index);
	EXPECT_EQ(a.fd, vb.m.fd);
	ret = capture_until(self->cap, maps, self->size, img_b, img_a, 30);
	ASSERT_LE(0, ret) TH_LOG("phase 2: %d", ret);

	/* 3. */
	ub_fill(a.data, self->size, 3);
	ub_fill(img_a, self->size, 3);
	ASSERT_EQ(0, qbuf_dmabuf(self->out, otype, 0, a.fd, self->size));
	ASSERT_EQ(0, ubm_dqbuf(self->out, otype, V4L2_MEMORY_DMABUF, &vb, DQ_TIMEOUT_MS));
	EXPECT_EQ(1, vb.index);
	EXPECT_EQ(b.fd, vb.m.fd);
	ret = capture_until(self->cap, maps, self->size, img_a, img_b, 30);
	ASSERT_LE(0, ret) TH_LOG("phase 3: %d", ret);
	EXPECT_EQ(vmaps + 2, ub_stat("vmaps"));
	EXPECT_EQ(att, ub_stat("attachments"));

	ASSERT_EQ(0, ubm_stream(self->cap, ctype, false));
	ASSERT_EQ(0, ubm_stream(self->out, otype, false));
	ASSERT_EQ(0, ubm_reqbufs(self->out, otype, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(vmaps, ub_stat("vmaps"));
	/* vivid only read: the frames and the canaries after them are intact. */
	EXPECT_EQ(-1, first_not(a.data + self->size, OUT_CANARY,
				ALIGN_UP(self->size, UB_PAGE) + UB_PAGE - self->size));
	EXPECT_EQ(-1, ub_check(b.data, self->size, 2));
	EXPECT_EQ(-1, first_not(b.data + self->size, OUT_CANARY,
				ALIGN_UP(self->size, UB_PAGE) + UB_PAGE - self->size));
	for (i = 0; i < MAX_BUFS; i++)
		munmap(maps[i], self->size);
	out_buf_destroy(&a);
	out_buf_destroy(&b);
	free(img_a);
	free(img_b);
}

/*
 * Documented behaviour, not a wish: a READ_ONLY buffer (here of unaligned
 * malloc() memory, which only a read-only buffer may be made of) cannot be
 * an output source for a vb2-vmalloc driver either, although the device
 * only reads:
 * the module refuses every vmap of a READ_ONLY buffer (EACCES; vmap has no
 * access mode), which vb2-vmalloc turns into EFAULT at QBUF.
 */
TEST_F(loop, read_only_buffer_refused_for_output)
{
	const uint32_t otype = V4L2_BUF_TYPE_VIDEO_OUTPUT;
	long vmaps = ub_stat("vmaps");
	struct out_buf ro;
	int kmsg;

	ASSERT_EQ(0, out_buf_create(self->ext, self->size, 4,
				    UDMABUF_EXT_FLAGS_READ_ONLY, &ro));
	ASSERT_EQ(0, ubm_reqbufs(self->out, otype, V4L2_MEMORY_DMABUF, 1));
	kmsg = kmsg_open();
	EXPECT_EQ(-EFAULT, qbuf_dmabuf(self->out, otype, 0, ro.fd, self->size));
	EXPECT_EQ(vmaps, ub_stat("vmaps"));
	EXPECT_EQ(0, kmsg_splats(kmsg));
	ASSERT_EQ(0, ubm_reqbufs(self->out, otype, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(-1, ub_check(ro.data, self->size, 4));
	out_buf_destroy(&ro);
}

TEST_HARNESS_MAIN
