// SPDX-License-Identifier: GPL-2.0-only
/*
 * The upstream memfd ABI, rule by rule, and content round trips through the
 * dma-buf for shmem and hugetlb memfds, on both nodes that serve it:
 * /dev/udmabuf (this module's drop-in where the kernel has no udmabuf of
 * its own, else the kernel's driver, tested as the reference) and
 * /dev/udmabuf-ext.  Where the drivers differ on purpose, each is held to
 * its own result (tests/udmabuf_driver.h).
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "udmabuf_driver.h"

#include <pthread.h>
#include <sys/resource.h>

#include "kselftest_harness.h"

#define NPAGES		1024

FIXTURE(dropin) {
	int dev;
	int memfd;
	struct ub_node node;
};

FIXTURE_VARIANT(dropin) {
	const char *path;
};

FIXTURE_VARIANT_ADD(dropin, udmabuf) { .path = UB_DROPIN_DEV };
FIXTURE_VARIANT_ADD(dropin, udmabuf_ext) { .path = UB_DEV };

/* Open @path, say whose it is; -1 and the errno if it is not there. */
static int node_open(const char *path, struct ub_node *node)
{
	*node = ub_node_probe(path);
	if (node->drv == UB_DRV_NONE) {
		errno = node->err;
		return -1;
	}
	ksft_print_msg("%s: %s\n", path, node->abi->name);
	return open(path, O_RDWR);
}

FIXTURE_SETUP(dropin)
{
	self->memfd = -1;
	self->dev = node_open(variant->path, &self->node);
	if (self->dev < 0)
		SKIP(return, "%s: %s", variant->path, strerror(errno));
	self->memfd = ub_memfd(NPAGES * UB_PAGE, F_SEAL_SHRINK, false);
	ASSERT_LE(0, self->memfd);
}

FIXTURE_TEARDOWN(dropin)
{
	if (self->dev >= 0)
		close(self->dev);
	if (self->memfd >= 0)
		close(self->memfd);
}

TEST_F(dropin, create_4_pages)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, 4 * UB_PAGE, 0);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	EXPECT_EQ(4 * UB_PAGE, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST_F(dropin, cloexec_flag)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, UB_PAGE,
				 UDMABUF_FLAGS_CLOEXEC);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* The module: EBADF; the kernel's driver: EBADFD. */
TEST_F(dropin, closed_fd)
{
	int memfd = ub_memfd(UB_PAGE, F_SEAL_SHRINK, false);

	UB_RETURN_IF_SKIPPED();

	close(memfd);
	EXPECT_EQ(self->node.abi->closed_fd,
		  ub_create_memfd(self->dev, memfd, 0, UB_PAGE, 0));
}

TEST_F(dropin, regular_file_is_ebadfd)
{
	int fd = open("/proc/self/exe", O_RDONLY);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBADFD, ub_create_memfd(self->dev, fd, 0, UB_PAGE, 0));
	close(fd);
}

TEST_F(dropin, pipe_is_ebadfd)
{
	int p[2];

	UB_RETURN_IF_SKIPPED();

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EBADFD, ub_create_memfd(self->dev, p[0], 0, UB_PAGE, 0));
	close(p[0]);
	close(p[1]);
}

TEST_F(dropin, missing_shrink_seal_is_einval)
{
	int memfd = ub_memfd(UB_PAGE, 0, false);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, memfd, 0, UB_PAGE, 0));
	close(memfd);
}

TEST_F(dropin, write_seal_is_einval)
{
	int memfd = ub_memfd(UB_PAGE, F_SEAL_SHRINK | F_SEAL_WRITE, false);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, memfd, 0, UB_PAGE, 0));
	close(memfd);
}

TEST_F(dropin, future_write_seal_is_einval)
{
	int memfd = ub_memfd(UB_PAGE, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE,
			     false);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, memfd, 0, UB_PAGE, 0));
	close(memfd);
}

/*
 * The module: a read-only fd must not yield a writable buffer of the file's
 * pages (EACCES); the kernel's driver accepts it.
 */
TEST_F(dropin, read_only_memfd)
{
	char path[64];
	int ro;

	UB_RETURN_IF_SKIPPED();

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->memfd);
	ro = open(path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(self->node.abi->read_only_memfd,
		  ub_created(ub_create_memfd(self->dev, ro, 0, UB_PAGE, 0)));
	close(ro);
}

TEST_F(dropin, unaligned_offset_is_einval)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, self->memfd, 1,
					   UB_PAGE, 0));
}

TEST_F(dropin, unaligned_size_is_einval)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, self->memfd, 0,
					   UB_PAGE + 1, 0));
}

TEST_F(dropin, zero_size_is_einval)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, self->memfd, 0, 0, 0));
}

TEST_F(dropin, range_past_eof_is_einval)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, self->memfd,
					   (NPAGES - 1) * UB_PAGE,
					   2 * UB_PAGE, 0));
}

TEST_F(dropin, offset_size_overflow_is_einval)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, self->memfd,
					   ~(uint64_t)0 & ~(UB_PAGE - 1),
					   2 * UB_PAGE, 0));
}

/* The module: EINVAL; the kernel's driver ignores unknown flags. */
TEST_F(dropin, unknown_flag)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(self->node.abi->unknown_flags,
		  ub_created(ub_create_memfd(self->dev, self->memfd, 0,
					     UB_PAGE, 0x2)));
}

TEST_F(dropin, over_size_limit_is_einval)
{
	long limit_mb = ub_abi_param(self->node.abi, "size_limit_mb");
	uint64_t size;
	int memfd;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LT(0, limit_mb);
	size = (limit_mb << 20) + UB_PAGE;
	memfd = ub_memfd(size, F_SEAL_SHRINK, false);
	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, ub_create_memfd(self->dev, memfd, 0, size, 0));
	close(memfd);
}

TEST_F(dropin, unknown_ioctl_is_enotty)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-1, ioctl(self->dev, _IO('u', 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
}

/* The extended ioctls are /dev/udmabuf-ext's only. */
TEST_F(dropin, extended_ioctl_only_on_udmabuf_ext)
{
	struct udmabuf_ext_info info = { .fd = -1 };

	UB_RETURN_IF_SKIPPED();

	EXPECT_EQ(-1, ioctl(self->dev, UDMABUF_EXT_INFO, &info));
	if (strcmp(variant->path, UB_DEV)) {
		EXPECT_EQ(ENOTTY, errno);
	} else {
		EXPECT_NE(ENOTTY, errno);
	}
}

static int create_list(int dev, struct udmabuf_create_item *items,
		       uint32_t count, uint32_t flags)
{
	struct udmabuf_create_list *l;
	int fd;

	l = calloc(1, sizeof(*l) + count * sizeof(*items));
	if (!l)
		return -ENOMEM;
	l->flags = flags;
	l->count = count;
	if (count)
		memcpy(l->list, items, count * sizeof(*items));
	fd = ioctl(dev, UDMABUF_CREATE_LIST, l);
	fd = fd < 0 ? -errno : fd;
	free(l);
	return fd;
}

TEST_F(dropin, list_count_zero_is_einval)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EINVAL, create_list(self->dev, NULL, 0, 0));
}

TEST_F(dropin, list_count_over_limit_is_einval)
{
	long limit = ub_abi_param(self->node.abi, "list_limit");
	struct udmabuf_create_item *items;
	long i;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LT(0, limit);
	items = calloc(limit + 1, sizeof(*items));
	ASSERT_NE(NULL, items);
	for (i = 0; i <= limit; i++) {
		items[i].memfd = self->memfd;
		items[i].size = 0;
	}
	items[0].size = UB_PAGE;
	EXPECT_EQ(-EINVAL, create_list(self->dev, items, limit + 1, 0));
	free(items);
}

/* The module: EINVAL; the kernel's driver ignores __pad and unknown flags. */
TEST_F(dropin, list_nonzero_pad)
{
	struct udmabuf_create_item it = {
		.memfd = self->memfd, .__pad = 1, .size = UB_PAGE,
	};

	UB_RETURN_IF_SKIPPED();

	EXPECT_EQ(self->node.abi->nonzero_pad,
		  ub_created(create_list(self->dev, &it, 1, 0)));
}

TEST_F(dropin, list_unknown_flag)
{
	struct udmabuf_create_item it = {
		.memfd = self->memfd, .size = UB_PAGE,
	};

	UB_RETURN_IF_SKIPPED();

	EXPECT_EQ(self->node.abi->unknown_flags,
		  ub_created(create_list(self->dev, &it, 1, 0x80)));
}

TEST_F(dropin, write_seal_after_create_is_ebusy)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, UB_PAGE, 0);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, fcntl(self->memfd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
	/* The pins are gone with the buffer: now the seal takes. */
	EXPECT_EQ(0, fcntl(self->memfd, F_ADD_SEALS, F_SEAL_WRITE));
}

/* RLIMIT_NOFILE forbids the new fd: nothing may be left behind. */
TEST_F(dropin, no_fd_left_leaks_nothing)
{
	long buffers = ub_stat("buffers");
	long pinned = ub_stat("pinned_pages");
	struct rlimit old, rl;
	int ret;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, buffers);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	rl = (struct rlimit){ 1, old.rlim_max };
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	ret = ub_create_memfd(self->dev, self->memfd, 0, 16 * UB_PAGE, 0);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	EXPECT_EQ(-EMFILE, ret);
	EXPECT_EQ(buffers, ub_stat("buffers"));
	EXPECT_EQ(pinned, ub_stat("pinned_pages"));
}

TEST_F(dropin, mmap_bounds)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, 4 * UB_PAGE, 0);
	void *p;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	p = mmap(NULL, 5 * UB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, UB_PAGE, PROT_READ, MAP_SHARED, fd, 4 * UB_PAGE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(dropin, mmap_private_is_einval)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, 4 * UB_PAGE, 0);

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, UB_PAGE, PROT_READ, MAP_PRIVATE,
				   fd, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(dropin, mmap_offset_is_honoured)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, 4 * UB_PAGE, 0);
	uint8_t *m, *d;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	m = mmap(NULL, 4 * UB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->memfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ub_fill(m, 4 * UB_PAGE, 7);
	d = mmap(NULL, UB_PAGE, PROT_READ, MAP_SHARED, fd, 2 * UB_PAGE);
	ASSERT_NE(MAP_FAILED, d);
	EXPECT_EQ(0, memcmp(d, m + 2 * UB_PAGE, UB_PAGE));
	munmap(d, UB_PAGE);
	munmap(m, 4 * UB_PAGE);
	close(fd);
}

/* Round trips, for shmem and hugetlb memfds, single items and lists. */
FIXTURE(roundtrip) {
	int dev;
	int memfd;
	size_t size;
	uint8_t *mem;
	struct ub_node node;
};

FIXTURE_VARIANT(roundtrip) {
	const char *path;
	bool huge;
	bool list;
};

FIXTURE_VARIANT_ADD(roundtrip, shmem) { UB_DROPIN_DEV, false, false };
FIXTURE_VARIANT_ADD(roundtrip, shmem_list) { UB_DROPIN_DEV, false, true };
FIXTURE_VARIANT_ADD(roundtrip, hugetlb) { UB_DROPIN_DEV, true, false };
FIXTURE_VARIANT_ADD(roundtrip, hugetlb_list) { UB_DROPIN_DEV, true, true };
FIXTURE_VARIANT_ADD(roundtrip, ext_shmem) { UB_DEV, false, false };
FIXTURE_VARIANT_ADD(roundtrip, ext_shmem_list) { UB_DEV, false, true };
FIXTURE_VARIANT_ADD(roundtrip, ext_hugetlb) { UB_DEV, true, false };
FIXTURE_VARIANT_ADD(roundtrip, ext_hugetlb_list) { UB_DEV, true, true };

FIXTURE_SETUP(roundtrip)
{
	self->mem = MAP_FAILED;
	self->memfd = -1;
	self->dev = node_open(variant->path, &self->node);
	if (self->dev < 0)
		SKIP(return, "%s: %s", variant->path, strerror(errno));
	self->size = variant->huge ? 4 * UB_HPAGE : NPAGES * UB_PAGE;
	self->memfd = ub_memfd(self->size, F_SEAL_SHRINK, variant->huge);
	if (self->memfd < 0 && variant->huge)
		SKIP(return, "no hugetlb memfd: %s", strerror(-self->memfd));
	ASSERT_LE(0, self->memfd);
	self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->memfd, 0);
	if (self->mem == MAP_FAILED && variant->huge)
		SKIP(return, "no free huge pages: %s", strerror(errno));
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(roundtrip)
{
	if (self->mem != MAP_FAILED)
		munmap(self->mem, self->size);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * The buffer: the whole memfd, or as a list 4 chunks of a quarter each,
 * taken in reverse order so that item order is visible.
 */
static int rt_create(int dev, int memfd, size_t size, bool list,
		     size_t *chunk_off)
{
	struct udmabuf_create_item items[4];
	size_t q = size / 4;
	int i;

	if (!list) {
		for (i = 0; i < 4; i++)
			chunk_off[i] = i * q;
		return ub_create_memfd(dev, memfd, 0, size, 0);
	}
	for (i = 0; i < 4; i++) {
		chunk_off[i] = (3 - i) * q;
		items[i] = (struct udmabuf_create_item) {
			.memfd = memfd, .offset = chunk_off[i], .size = q,
		};
	}
	return create_list(dev, items, 4, 0);
}

TEST_F(roundtrip, memfd_to_dmabuf)
{
	size_t off[4], q = self->size / 4;
	uint8_t *d;
	int fd, i;

	UB_RETURN_IF_SKIPPED();

	/* hugetlb pages are pinned here before their first write. */
	fd = rt_create(self->dev, self->memfd, self->size, variant->list, off);
	ASSERT_LE(0, fd);
	ub_fill(self->mem, self->size, 1);
	d = mmap(NULL, self->size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, d);
	ASSERT_EQ(0, ub_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, memcmp(d + i * q, self->mem + off[i], q));
	ASSERT_EQ(0, ub_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(d, self->size);
	close(fd);
}

TEST_F(roundtrip, dmabuf_to_memfd)
{
	size_t off[4], q = self->size / 4;
	uint8_t *d;
	int fd, i;

	UB_RETURN_IF_SKIPPED();

	memset(self->mem, 0, self->size);
	fd = rt_create(self->dev, self->memfd, self->size, variant->list, off);
	ASSERT_LE(0, fd);
	d = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, d);
	ASSERT_EQ(0, ub_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	ub_fill(d, self->size, 2);
	ASSERT_EQ(0, ub_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	munmap(d, self->size);
	close(fd);
	/* The buffer is gone; its writes stay in the memfd. */
	d = malloc(self->size);
	ASSERT_NE(NULL, d);
	ub_fill(d, self->size, 2);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, memcmp(self->mem + off[i], d + i * q, q));
	free(d);
}

TEST_F(roundtrip, segments_follow_folios)
{
	struct udmabuf_ext_info info;
	size_t off[4];
	int ext, fd;

	UB_RETURN_IF_SKIPPED();

	ext = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, ext);
	fd = rt_create(self->dev, self->memfd, self->size, variant->list, off);
	ASSERT_LE(0, fd);
	if (self->node.drv == UB_DRV_KERNEL) {
		/* Not the module's buffer: the module says nothing about it. */
		EXPECT_EQ(-EINVAL, ub_info(ext, fd, &info));
		close(fd);
		close(ext);
		return;
	}
	ASSERT_EQ(0, ub_info(ext, fd, &info));
	EXPECT_EQ(self->size / UB_PAGE, info.nr_pages);
	EXPECT_NE(0, info.buf_flags & UDMABUF_EXT_INFO_DROPIN);
	EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_MEMFD);
	/* A 2 MiB huge page is one run: never more runs than huge pages. */
	if (variant->huge) {
		EXPECT_GE(self->size / UB_HPAGE, info.nr_segments);
		EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_HUGETLB);
	} else {
		EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_SHMEM);
	}
	close(fd);
	close(ext);
}

/* Concurrent DMA_BUF_IOCTL_SYNC callers on one buffer. */
static void *sync_loop(void *arg)
{
	int fd = *(int *)arg, i;

	for (i = 0; i < 2000; i++) {
		if (ub_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
		    ub_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
			return (void *)1;
	}
	return NULL;
}

TEST_F(dropin, concurrent_sync)
{
	int fd = ub_create_memfd(self->dev, self->memfd, 0, 64 * UB_PAGE, 0);
	pthread_t t[4];
	void *ret;
	int i;

	UB_RETURN_IF_SKIPPED();

	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, sync_loop, &fd));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
	close(fd);
}

TEST_HARNESS_MAIN
