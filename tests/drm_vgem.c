// SPDX-License-Identifier: GPL-2.0-only
/*
 * vgem as a DRM PRIME importer of udmabuf-ext buffers.
 *
 * vgem (DRM shmem helpers) imports a dma-buf with dma_buf_attach() and
 * dma_buf_map_attachment(DMA_BIDIRECTIONAL), keeps the attachment for the
 * GEM object's life, and re-exports an imported object as the very dma-buf
 * it came from. It refuses DRM_IOCTL_MODE_MAP_DUMB on imported objects
 * (drm_gem_dumb_map_offset), so a CPU view of an import goes through the
 * dma-buf itself.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "udmabuf_driver.h"

#include <sys/wait.h>
#include <xf86drm.h>

#include "kselftest_harness.h"
#include "ub-media.h"

#define NR_CARDS	64
#define BUF_PAGES	16

/* PRIME import: 0 and *@handle, or -errno. */
static int prime_import(int drm, int fd, uint32_t *handle)
{
	return drmPrimeFDToHandle(drm, fd, handle) ? -errno : 0;
}

/* PRIME export: the new fd or -errno. */
static int prime_export(int drm, uint32_t handle)
{
	int fd;

	if (drmPrimeHandleToFD(drm, handle, DRM_CLOEXEC | DRM_RDWR, &fd))
		return -errno;
	return fd;
}

static int gem_close(int drm, uint32_t handle)
{
	return drmCloseBufferHandle(drm, handle) ? -errno : 0;
}

static int dumb_create(int drm, uint32_t w, uint32_t h, uint32_t *handle,
		       uint64_t *size)
{
	struct drm_mode_create_dumb c = { .width = w, .height = h, .bpp = 32 };

	if (drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return -errno;
	*handle = c.handle;
	*size = c.size;
	return 0;
}

/* DRM_IOCTL_MODE_MAP_DUMB: 0 and the fake mmap offset, or -errno. */
static int map_dumb(int drm, uint32_t handle, uint64_t *offset)
{
	struct drm_mode_map_dumb m = { .handle = handle };

	if (drmIoctl(drm, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return -errno;
	*offset = m.offset;
	return 0;
}

static uint64_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* Kernel splats since kmsg_open() (see v4l2_vivid.c). */
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
	char rec[2048];
	int n = 0;
	ssize_t len;
	size_t i;

	if (fd < 0)
		return 0;
	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = 0;
		for (i = 0; i < sizeof(pat) / sizeof(pat[0]); i++) {
			if (strstr(rec, pat[i])) {
				ksft_print_msg("kernel: %s", strchr(rec, ';') ?
					       strchr(rec, ';') + 1 : rec);
				n++;
				break;
			}
		}
	}
	close(fd);
	return n;
}

/*
 * A buffer to import: its data as the process sees it, and its dma-buf.
 * - SRC_DROPIN_MEMFD: a memfd through /dev/udmabuf (the module's drop-in, or
 *   the kernel's own driver);
 * - SRC_EXT_MEMFD: a memfd through /dev/udmabuf-ext's UDMABUF_CREATE;
 * - SRC_EXT_ALIGNED: page-aligned heap memory of whole pages, PIN (a
 *   writable range must be page aligned at both ends);
 * - SRC_EXT_MALLOC_COPY: plain malloc() memory, one page in so that
 *   malloc's misalignment (16 bytes with glibc) is the data offset, and not
 *   a whole number of pages either: COPY, whose pages are the buffer's own.
 */
enum src_kind {
	SRC_DROPIN_MEMFD, SRC_EXT_MEMFD, SRC_EXT_ALIGNED, SRC_EXT_MALLOC_COPY,
};

struct src {
	uint8_t *data;		/* first byte of the buffer's data */
	size_t len;		/* bytes of data */
	bool shared;		/* the process and the buffer share the pages */
	void *alloc;
	int memfd;
	int fd;			/* the dma-buf */
};

static int src_create(enum src_kind kind, int dropin, int ext, uint32_t flags,
		      uint32_t seed, struct src *s)
{
	memset(s, 0, sizeof(*s));
	s->memfd = -1;
	s->fd = -1;
	if (kind == SRC_DROPIN_MEMFD || kind == SRC_EXT_MEMFD) {
		s->len = BUF_PAGES * UB_PAGE;
		s->memfd = ub_memfd(s->len, F_SEAL_SHRINK, false);
		if (s->memfd < 0)
			return s->memfd;
		s->data = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       s->memfd, 0);
		if (s->data == MAP_FAILED)
			return -errno;
		ub_fill(s->data, s->len, seed);
		s->shared = true;
		s->fd = ub_create_memfd(kind == SRC_DROPIN_MEMFD ? dropin : ext,
					s->memfd, 0, s->len, 0);
		return s->fd < 0 ? s->fd : 0;
	}
	if (kind == SRC_EXT_ALIGNED) {
		s->len = BUF_PAGES * UB_PAGE;
		s->alloc = aligned_alloc(UB_PAGE, s->len);
		if (!s->alloc)
			return -ENOMEM;
		s->data = s->alloc;
		s->shared = true;
		ub_fill(s->data, s->len, seed);
		s->fd = ub_ext_create_user(ext, s->data, s->len,
					   UDMABUF_EXT_MODE_PIN, flags);
		return s->fd < 0 ? s->fd : 0;
	}
	s->len = BUF_PAGES * UB_PAGE - 100;
	s->alloc = malloc(s->len + 2 * UB_PAGE);
	if (!s->alloc)
		return -ENOMEM;
	s->data = (uint8_t *)s->alloc + UB_PAGE;
	if (!((uintptr_t)s->data & (UB_PAGE - 1)))
		s->data += 16;
	ub_fill(s->data, s->len, seed);
	s->fd = ub_ext_create_user(ext, s->data, s->len, UDMABUF_EXT_MODE_COPY,
				   flags);
	return s->fd < 0 ? s->fd : 0;
}

static void src_destroy(struct src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->memfd >= 0) {
		if (s->data && s->data != MAP_FAILED)
			munmap(s->data, s->len);
		close(s->memfd);
	}
	free(s->alloc);
}

/* Per-test state: the vgem card, both udmabuf nodes, counters at start. */
struct vgem_env {
	int drm;
	int ext;
	int dropin;
	int dropin_errno;	/* why dropin is -1 */
	enum ub_driver dropin_drv;	/* whose /dev/udmabuf it is */
	long attachments;
	long buffers;
};

/* 0, or -ENODEV without vgem, or another -errno. */
static int env_open(struct vgem_env *e)
{
	e->ext = e->dropin = -1;
	e->drm = ubm_drm_open("vgem");
	if (e->drm < 0)
		return -ENODEV;
	e->ext = open(UB_DEV, O_RDWR | O_CLOEXEC);
	if (e->ext < 0)
		return -errno;
	e->dropin_drv = ub_node_probe(UB_DROPIN_DEV).drv;
	e->dropin = open(UB_DROPIN_DEV, O_RDWR | O_CLOEXEC);
	e->dropin_errno = e->dropin < 0 ? errno : 0;
	e->attachments = ub_stat("attachments");
	e->buffers = ub_stat("buffers");
	return e->attachments < 0 || e->buffers < 0 ? -EIO : 0;
}

static void env_close(struct vgem_env *e)
{
	if (e->drm >= 0)
		close(e->drm);
	if (e->ext >= 0)
		close(e->ext);
	if (e->dropin >= 0)
		close(e->dropin);
}

/* Tests that do not depend on where the buffer comes from. */
FIXTURE(vgem) {
	struct vgem_env e;
};

FIXTURE_SETUP(vgem)
{
	int ret = env_open(&self->e);

	if (ret == -ENODEV)
		SKIP(return, "no vgem card in /dev/dri (modprobe vgem)");
	ASSERT_EQ(0, ret) TH_LOG("set-up: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(vgem)
{
	env_close(&self->e);
}

/*
 * Tests run for a /dev/udmabuf memfd buffer (the module's drop-in, or the
 * kernel's own driver as the reference), a memfd buffer and a malloc'd one
 * of /dev/udmabuf-ext.
 */
FIXTURE(vgem_import) {
	struct vgem_env e;
};

FIXTURE_VARIANT(vgem_import) {
	enum src_kind kind;
};

FIXTURE_VARIANT_ADD(vgem_import, dropin_memfd) { .kind = SRC_DROPIN_MEMFD };
FIXTURE_VARIANT_ADD(vgem_import, ext_memfd) { .kind = SRC_EXT_MEMFD };
FIXTURE_VARIANT_ADD(vgem_import, ext_aligned) { .kind = SRC_EXT_ALIGNED };
FIXTURE_VARIANT_ADD(vgem_import, ext_malloc_copy) {
	.kind = SRC_EXT_MALLOC_COPY,
};

FIXTURE_SETUP(vgem_import)
{
	int ret = env_open(&self->e);

	if (ret == -ENODEV)
		SKIP(return, "no vgem card in /dev/dri (modprobe vgem)");
	ASSERT_EQ(0, ret) TH_LOG("set-up: %s", strerror(-ret));
	if (self->e.dropin < 0 && variant->kind == SRC_DROPIN_MEMFD)
		SKIP(return, "%s: %s", UB_DROPIN_DEV,
		     strerror(self->e.dropin_errno));
}

FIXTURE_TEARDOWN(vgem_import)
{
	env_close(&self->e);
}

/*
 * Import, re-export: vgem hands back the same dma-buf (same inode, same
 * udmabuf-ext id, same bytes through its mmap at the same data offset,
 * writes through it land at the source if the buffer shares its pages and
 * not if it is a copy), one attachment while imported, none after
 * GEM_CLOSE; the import alone keeps the buffer alive once our fd is closed.
 */
TEST_F(vgem_import, prime_import_and_reexport)
{
	/* The kernel's buffers: no udmabuf-ext info or counters to check. */
	bool ours = variant->kind != SRC_DROPIN_MEMFD ||
		    self->e.dropin_drv == UB_DRV_MODULE;
	struct udmabuf_ext_info info = { 0 }, rinfo;
	uint32_t h, h2;
	struct src s;
	uint8_t *map;
	int re, re2;
	size_t off = 0, size;

	ASSERT_EQ(0, src_create(variant->kind, self->e.dropin, self->e.ext, 0, 1,
				&s));
	size = lseek(s.fd, 0, SEEK_END);
	if (ours) {
		ASSERT_EQ(0, ub_info(self->e.ext, s.fd, &info));
		EXPECT_EQ(0, info.nr_attachments);
		EXPECT_EQ(size, info.size);
		off = info.data_offset;
	}
	EXPECT_EQ((uintptr_t)s.data & (UB_PAGE - 1), off);

	ASSERT_EQ(0, prime_import(self->e.drm, s.fd, &h));
	if (ours) {
		ASSERT_EQ(0, ub_info(self->e.ext, s.fd, &rinfo));
		EXPECT_EQ(1, rinfo.nr_attachments);
	}
	EXPECT_EQ(self->e.attachments + ours, ub_stat("attachments"));
	/* A second import of the same dma-buf is the same GEM object. */
	ASSERT_EQ(0, prime_import(self->e.drm, s.fd, &h2));
	EXPECT_EQ(h, h2);
	if (ours) {
		ASSERT_EQ(0, ub_info(self->e.ext, s.fd, &rinfo));
		EXPECT_EQ(1, rinfo.nr_attachments);
	}

	re = prime_export(self->e.drm, h);
	ASSERT_LE(0, re) TH_LOG("re-export: %s", strerror(-re));
	EXPECT_NE(s.fd, re);
	EXPECT_EQ(ino_of(s.fd), ino_of(re));
	if (ours) {
		ASSERT_EQ(0, ub_info(self->e.ext, re, &rinfo));
		EXPECT_EQ(info.id, rinfo.id);
		EXPECT_EQ(info.size, rinfo.size);
		EXPECT_EQ(off, rinfo.data_offset);
	}

	/* The bytes, read and written through the re-exported fd. */
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, re, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, ub_sync(re, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, ub_check(map + off, s.len, 1));
	ub_fill(map + off, s.len, 2);
	ASSERT_EQ(0, ub_sync(re, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	munmap(map, size);
	EXPECT_EQ(-1, ub_check(s.data, s.len, s.shared ? 2 : 1));

	/* Our fds gone, the import still holds the buffer. */
	close(re);
	close(s.fd);
	s.fd = -1;
	EXPECT_EQ(self->e.buffers + ours, ub_stat("buffers"));
	re2 = prime_export(self->e.drm, h);
	ASSERT_LE(0, re2);
	EXPECT_EQ((off_t)size, lseek(re2, 0, SEEK_END));
	if (ours) {
		ASSERT_EQ(0, ub_info(self->e.ext, re2, &rinfo));
		EXPECT_EQ(info.id, rinfo.id);
		EXPECT_EQ(1, rinfo.nr_attachments);
	}

	/* GEM_CLOSE detaches; the re-exported fd keeps the buffer. */
	ASSERT_EQ(0, gem_close(self->e.drm, h));
	if (ours) {
		ASSERT_EQ(0, ub_info(self->e.ext, re2, &rinfo));
		EXPECT_EQ(0, rinfo.nr_attachments);
	}
	EXPECT_EQ(self->e.attachments, ub_stat("attachments"));
	EXPECT_EQ(self->e.buffers + ours, ub_stat("buffers"));
	close(re2);
	EXPECT_EQ(self->e.buffers, ub_stat("buffers"));
	src_destroy(&s);
}

/*
 * vgem maps every import DMA_BIDIRECTIONAL; a READ_ONLY buffer only maps
 * DMA_TO_DEVICE, so the import fails with the exporter's EACCES, quietly,
 * leaving no attachment behind and the data untouched. The same memory
 * without READ_ONLY imports.
 */
TEST_F(vgem, import_read_only_refused)
{
	struct udmabuf_ext_info info;
	struct src s;
	uint32_t h;
	int kmsg, ctl;

	ASSERT_EQ(0, src_create(SRC_EXT_ALIGNED, self->e.dropin, self->e.ext,
				UDMABUF_EXT_FLAGS_READ_ONLY, 3, &s));
	ASSERT_EQ(0, ub_info(self->e.ext, s.fd, &info));
	EXPECT_NE(0, info.buf_flags & UDMABUF_EXT_INFO_READ_ONLY);

	kmsg = kmsg_open();
	EXPECT_EQ(-EACCES, prime_import(self->e.drm, s.fd, &h));
	EXPECT_EQ(0, kmsg_splats(kmsg));
	ASSERT_EQ(0, ub_info(self->e.ext, s.fd, &info));
	EXPECT_EQ(0, info.nr_attachments);
	EXPECT_EQ(self->e.attachments, ub_stat("attachments"));
	EXPECT_EQ(-1, ub_check(s.data, s.len, 3));

	/* Control: the same pages, writable. */
	ctl = ub_ext_create_user(self->e.ext, s.data, s.len,
				 UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, prime_import(self->e.drm, ctl, &h));
	EXPECT_EQ(self->e.attachments + 1, ub_stat("attachments"));
	ASSERT_EQ(0, gem_close(self->e.drm, h));
	EXPECT_EQ(self->e.attachments, ub_stat("attachments"));
	close(ctl);
	src_destroy(&s);
}

/*
 * UDMABUF_EXT_INFO answers for our dma-bufs only: a vgem dma-buf (a real
 * one: its mmap shows the bytes written through vgem's own mapping) is
 * EINVAL, a pipe EINVAL, a closed fd EBADF, and a failed query leaves the
 * caller's struct as it was.
 */
/*
 * The creator dies while an importer holds its buffer: the child imports
 * into the DRM file it shares with us, closes its dma-buf and exits. The
 * import alone keeps the pages, with the dead process's RLIMIT_MEMLOCK
 * charge, until the GEM handle goes.
 */
TEST_F(vgem, creator_exits_while_imported)
{
	long charged = ub_stat("charged_pages");
	size_t len = BUF_PAGES * UB_PAGE;
	uint32_t handle = 0;
	int p[2], status, fd;
	uint8_t *m;
	pid_t pid;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, charged);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int bfd;

		ub_fill(mem, len, 81);
		bfd = ub_ext_create_user(self->e.ext, mem, len,
					 UDMABUF_EXT_MODE_PIN, 0);
		if (bfd < 0 || prime_import(self->e.drm, bfd, &handle))
			_exit(1);
		close(bfd);
		_exit(write(p[1], &handle, sizeof(handle)) == sizeof(handle) ?
		      0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(sizeof(handle), read(p[0], &handle, sizeof(handle)));
	close(p[0]);
	close(p[1]);

	EXPECT_EQ(self->e.buffers + 1, ub_stat("buffers"));
	EXPECT_EQ(self->e.attachments + 1, ub_stat("attachments"));
	EXPECT_EQ(charged + BUF_PAGES, ub_stat("charged_pages"));
	fd = prime_export(self->e.drm, handle);
	ASSERT_LE(0, fd);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, len, 81));
	munmap(m, len);
	close(fd);

	ASSERT_EQ(0, gem_close(self->e.drm, handle));
	EXPECT_EQ(self->e.buffers, ub_stat("buffers"));
	EXPECT_EQ(self->e.attachments, ub_stat("attachments"));
	EXPECT_EQ(charged, ub_stat("charged_pages"));
}

TEST_F(vgem, vgem_dmabuf_info_is_einval)
{
	struct udmabuf_ext_info info;
	uint64_t size = 0, offset = 0;
	uint8_t *gem, *view;
	uint32_t h = 0;
	int vfd, p[2], closed;

	ASSERT_EQ(0, dumb_create(self->e.drm, 64, 64, &h, &size));
	ASSERT_EQ(0, map_dumb(self->e.drm, h, &offset));
	gem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->e.drm,
		   offset);
	ASSERT_NE(MAP_FAILED, gem);
	ub_fill(gem, size, 5);
	vfd = prime_export(self->e.drm, h);
	ASSERT_LE(0, vfd);
	view = mmap(NULL, size, PROT_READ, MAP_SHARED, vfd, 0);
	ASSERT_NE(MAP_FAILED, view);
	EXPECT_EQ(-1, ub_check(view, size, 5));
	munmap(view, size);

	EXPECT_EQ(-EINVAL, ub_info(self->e.ext, vfd, &info));
	EXPECT_EQ(0, info.id);
	EXPECT_EQ(0, info.size);
	EXPECT_EQ((uint32_t)vfd, info.fd);

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, ub_info(self->e.ext, p[0], &info));
	EXPECT_EQ(0, info.size);
	close(p[0]);
	close(p[1]);

	closed = dup(vfd);
	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-EBADF, ub_info(self->e.ext, closed, &info));
	EXPECT_EQ(0, info.size);

	munmap(gem, size);
	close(vfd);
	ASSERT_EQ(0, gem_close(self->e.drm, h));
}

/*
 * vgem in 6.1 has no CPU path into an imported object: MAP_DUMB on an
 * import is EINVAL (drm_gem_dumb_map_offset refuses imports), while it
 * works for vgem's own objects. The import's bytes stay reachable through
 * the dma-buf that vgem re-exports.
 */
TEST_F(vgem_import, map_dumb_refused_for_imports)
{
	uint64_t offset = 0, size = 0, doff = 0;
	uint32_t h = 0, dh = 0;
	struct src s;
	uint8_t *map;
	int re;

	ASSERT_EQ(0, src_create(variant->kind, self->e.dropin, self->e.ext, 0, 7,
				&s));
	ASSERT_EQ(0, prime_import(self->e.drm, s.fd, &h));
	EXPECT_EQ(-EINVAL, map_dumb(self->e.drm, h, &offset));
	EXPECT_EQ(0, offset);

	/* Control: vgem's own dumb object maps, through the DRM fd. */
	ASSERT_EQ(0, dumb_create(self->e.drm, 64, 64, &dh, &size));
	ASSERT_EQ(0, map_dumb(self->e.drm, dh, &doff));
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->e.drm,
		   doff);
	ASSERT_NE(MAP_FAILED, map);
	munmap(map, size);
	ASSERT_EQ(0, gem_close(self->e.drm, dh));

	/* The import's bytes, through the re-exported dma-buf. */
	re = prime_export(self->e.drm, h);
	ASSERT_LE(0, re);
	size = lseek(re, 0, SEEK_END);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, re, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, ub_sync(re, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, ub_check(map + ((uintptr_t)s.data & (UB_PAGE - 1)),
			       s.len, 7));
	ASSERT_EQ(0, ub_sync(re, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(map, size);
	close(re);
	ASSERT_EQ(0, gem_close(self->e.drm, h));
	src_destroy(&s);
}

TEST_HARNESS_MAIN
