// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/udmabuf-ext: dma-bufs from user address ranges. Every refusal and its
 * errno, every mode and source, and the lifetime cases the seeds worried
 * about: fork, munmap, exit, RLIMIT_MEMLOCK.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

static void *map_anon(size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

/* A 2 MiB-aligned anonymous region of @len bytes. */
static void *map_aligned(size_t len)
{
	uint8_t *p = map_anon(len + UB_HPAGE, PROT_READ | PROT_WRITE, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return p;
	a = ((uintptr_t)p + UB_HPAGE - 1) & ~(UB_HPAGE - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + UB_HPAGE - a);
	return (void *)a;
}

FIXTURE(userptr) {
	int dev;
};

FIXTURE_SETUP(userptr)
{
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev) TH_LOG("%s: %s", UB_DEV, strerror(errno));
}

FIXTURE_TEARDOWN(userptr)
{
	close(self->dev);
}

static int raw_create(int dev, struct udmabuf_ext_create *c)
{
	return ioctl(dev, UDMABUF_EXT_CREATE, c) ? -errno : (int)c->fd;
}

/* A valid one-page request over @page, for the argument checks. */
static struct udmabuf_ext_create one_page(struct udmabuf_ext_item *it,
					  void *page)
{
	*it = (struct udmabuf_ext_item){
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = (uintptr_t)page, .size = UB_PAGE,
	};
	return (struct udmabuf_ext_create){ .count = 1, .items = (uintptr_t)it };
}

TEST_F(userptr, valid_request_works)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);
	int fd = raw_create(self->dev, &c);

	ASSERT_LE(0, fd);
	EXPECT_EQ(UB_PAGE, c.size);
	EXPECT_EQ(0, c.data_offset);
	close(fd);
}

TEST_F(userptr, unknown_flag_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.flags = 0x80;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, unknown_mode_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.mode = 4;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, nonzero_pad_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.__pad = 1;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, nonzero_reserved_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, count_zero_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.count = 0;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, count_over_limit_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.count = ub_param("list_limit") + 1;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, items_pointer_unmapped_is_efault)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	c.items = 8;
	EXPECT_EQ(-EFAULT, raw_create(self->dev, &c));
}

TEST_F(userptr, unknown_kind_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	it.kind = 9;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, user_item_with_memfd_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	it.memfd = 3;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, zero_size_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	it.size = 0;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, wraparound_is_einval)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	it.start = ~(uint64_t)0 - 100;
	it.size = 4096;
	EXPECT_EQ(-EINVAL, raw_create(self->dev, &c));
}

TEST_F(userptr, kernel_address_is_efault)
{
	static uint8_t page[UB_PAGE] __attribute__((aligned(UB_PAGE)));
	struct udmabuf_ext_item it;
	struct udmabuf_ext_create c = one_page(&it, page);

	it.start = 0xffff888000000000ull;
	EXPECT_EQ(-EFAULT, raw_create(self->dev, &c));
}

TEST_F(userptr, over_size_limit_is_einval)
{
	long mb = ub_param("size_limit_mb");
	size_t len = (mb << 20) + UB_PAGE;
	void *p = map_anon(len, PROT_READ | PROT_WRITE, MAP_NORESERVE);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, ub_ext_create_user(self->dev, p, len,
					      UDMABUF_EXT_MODE_PIN, 0));
	munmap(p, len);
}

TEST_F(userptr, hole_is_efault)
{
	uint8_t *p = map_anon(3 * UB_PAGE, PROT_READ | PROT_WRITE, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + UB_PAGE, UB_PAGE));
	EXPECT_EQ(-EFAULT, ub_ext_create_user(self->dev, p, 3 * UB_PAGE,
					      UDMABUF_EXT_MODE_PIN, 0));
	munmap(p, 3 * UB_PAGE);
}

TEST_F(userptr, prot_none_is_efault)
{
	uint8_t *p = map_anon(2 * UB_PAGE, PROT_READ | PROT_WRITE, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + UB_PAGE, UB_PAGE, PROT_NONE));
	EXPECT_EQ(-EFAULT, ub_ext_create_user(self->dev, p, 2 * UB_PAGE,
					      UDMABUF_EXT_MODE_PIN, 0));
	munmap(p, 2 * UB_PAGE);
}

/* A dma-buf mmap is VM_PFNMAP: no struct pages to pin behind it. */
TEST_F(userptr, pfnmap_is_efault)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, 0), *m;
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	fd = ub_ext_create_user(self->dev, p, UB_PAGE, UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, fd);
	m = mmap(NULL, UB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-EFAULT, ub_ext_create_user(self->dev, m, UB_PAGE,
					      UDMABUF_EXT_MODE_PIN, 0));
	munmap(m, UB_PAGE);
	close(fd);
	munmap(p, UB_PAGE);
}

TEST_F(userptr, write_pin_of_readonly_mapping_is_eacces)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EACCES, ub_ext_create_user(self->dev, p, UB_PAGE,
					      UDMABUF_EXT_MODE_PIN, 0));
	munmap(p, UB_PAGE);
}

TEST_F(userptr, read_only_pin_of_readonly_mapping_works)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ, 0);
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	fd = ub_ext_create_user(self->dev, p, UB_PAGE, UDMABUF_EXT_MODE_PIN,
				UDMABUF_EXT_FLAGS_READ_ONLY);
	EXPECT_LE(0, fd);
	close(fd);
	munmap(p, UB_PAGE);
}

/*
 * A shared writable mapping of a real file (ramfs: page cache, not shmem):
 * writable pins are refused, read-only pins allowed.
 */
FIXTURE(filemap) {
	int dev;
	int fd;
	uint8_t *p;
};

FIXTURE_SETUP(filemap)
{
	char dir[] = "/tmp/ub-ramfs-XXXXXX";
	char path[64];

	self->p = MAP_FAILED;
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	ASSERT_NE(NULL, mkdtemp(dir));
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		SKIP(return, "no private mount namespace: %s", strerror(errno));
	if (mount("ramfs", dir, "ramfs", 0, NULL))
		SKIP(return, "cannot mount ramfs: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/file", dir);
	self->fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, 4 * UB_PAGE));
	self->p = mmap(NULL, 4 * UB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	ub_fill(self->p, 4 * UB_PAGE, 5);
}

FIXTURE_TEARDOWN(filemap)
{
	if (self->p != MAP_FAILED)
		munmap(self->p, 4 * UB_PAGE);
	close(self->dev);
}

TEST_F(filemap, writable_pin_is_eopnotsupp)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EOPNOTSUPP, ub_ext_create_user(self->dev, self->p,
						  4 * UB_PAGE,
						  UDMABUF_EXT_MODE_PIN, 0));
}

TEST_F(filemap, read_only_pin_works)
{
	struct udmabuf_ext_info info;
	uint8_t *m;
	int fd;

	UB_RETURN_IF_SKIPPED();

	fd = ub_ext_create_user(self->dev, self->p, 4 * UB_PAGE,
				UDMABUF_EXT_MODE_PIN,
				UDMABUF_EXT_FLAGS_READ_ONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_FILE);
	m = mmap(NULL, 4 * UB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, 4 * UB_PAGE, 5));
	munmap(m, 4 * UB_PAGE);
	close(fd);
}

/*
 * A driver's mapping whose pages carry a ->mapping of the driver's own,
 * not page cache: perf's ring buffer (an anonymous inode's pages, inserted
 * by its fault handler). Neither anonymous memory nor page cache: EFAULT,
 * in every mode.
 */
TEST(driver_mapping_is_efault)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr), .type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY, .disabled = 1,
		.exclude_kernel = 1, .exclude_hv = 1,
	};
	size_t len = 2 * UB_PAGE;	/* the header page and one data page */
	int dev, ev, fd;
	void *m;

	ev = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (ev < 0)
		SKIP(return, "perf_event_open: %s (CONFIG_PERF_EVENTS?)",
		     strerror(errno));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ev, 0);
	ASSERT_NE(MAP_FAILED, m) TH_LOG("perf ring buffer mmap: %s",
					strerror(errno));
	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	fd = ub_ext_create_user(dev, m, len, UDMABUF_EXT_MODE_PIN,
				UDMABUF_EXT_FLAGS_READ_ONLY);
	EXPECT_EQ(-EFAULT, fd);
	if (fd >= 0)
		close(fd);
	fd = ub_ext_create_user(dev, m, len, UDMABUF_EXT_MODE_COPY, 0);
	EXPECT_EQ(-EFAULT, fd);
	if (fd >= 0)
		close(fd);
	close(dev);
	munmap(m, len);
	close(ev);
}

/*
 * A block device's page cache, through its node: on devtmpfs, which is
 * shmem, so a check of the file system alone would take it for a memfd.
 * Not memory a buffer may take (a writable pin would also write behind
 * writeback's back): EFAULT in every mode. The default suite loads brd for
 * /dev/ram0.
 */
TEST(block_device_mapping_is_efault)
{
	static const struct { uint32_t mode, flags; const char *name; } m[] = {
		{ UDMABUF_EXT_MODE_PIN, UDMABUF_EXT_FLAGS_READ_ONLY, "READ_ONLY PIN" },
		{ UDMABUF_EXT_MODE_PIN, 0, "PIN" },
		{ UDMABUF_EXT_MODE_COPY, 0, "COPY" },
	};
	size_t len = 4 * UB_PAGE, i;
	int dev, bd, fd;
	uint8_t *p;

	bd = open("/dev/ram0", O_RDWR | O_CLOEXEC);
	if (bd < 0)
		SKIP(return, "no /dev/ram0 (%s): the brd module, loaded by tests/suites/default",
		     strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, len);			/* the page cache is there */
	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		fd = ub_ext_create_user(dev, p, len, m[i].mode, m[i].flags);
		EXPECT_EQ(-EFAULT, fd) TH_LOG("%s of /dev/ram0", m[i].name);
		if (fd >= 0)
			close(fd);
	}
	close(dev);
	munmap(p, len);
	close(bd);
}

TEST_F(userptr, read_only_mmap_write_is_eacces)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, 0), *m;
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	fd = ub_ext_create_user(self->dev, p, UB_PAGE, UDMABUF_EXT_MODE_PIN,
				UDMABUF_EXT_FLAGS_READ_ONLY);
	ASSERT_LE(0, fd);
	m = mmap(NULL, UB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EACCES, errno);
	m = mmap(NULL, UB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, mprotect(m, UB_PAGE, PROT_READ | PROT_WRITE));
	munmap(m, UB_PAGE);
	close(fd);
	munmap(p, UB_PAGE);
}

TEST_F(userptr, move_read_only_is_einval)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, ub_ext_create_user(self->dev, p, UB_PAGE,
					      UDMABUF_EXT_MODE_MOVE,
					      UDMABUF_EXT_FLAGS_READ_ONLY));
	munmap(p, UB_PAGE);
}

/*
 * A range that devices may write (PIN or MOVE without READ_ONLY) must be
 * page aligned at both ends: its pages are shared whole, and a device must
 * never write bytes the caller did not offer (malloc's chunk header sits
 * right before the pointer). One errno per broken end and mode.
 */
static int create_writable(int dev, uint32_t mode, size_t head, size_t tail)
{
	uint8_t *p = map_anon(3 * UB_PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	int ret;

	if (p == MAP_FAILED)
		return -errno;
	ret = ub_ext_create_user(dev, p + head, 2 * UB_PAGE - head - tail, mode, 0);
	if (ret >= 0)
		close(ret);
	munmap(p, 3 * UB_PAGE);
	return ret >= 0 ? 0 : ret;
}

TEST_F(userptr, pin_unaligned_start_is_einval)
{
	EXPECT_EQ(-EINVAL, create_writable(self->dev, UDMABUF_EXT_MODE_PIN, 16, 0));
}

TEST_F(userptr, pin_unaligned_end_is_einval)
{
	EXPECT_EQ(-EINVAL, create_writable(self->dev, UDMABUF_EXT_MODE_PIN, 0, 16));
}

TEST_F(userptr, move_unaligned_start_is_einval)
{
	EXPECT_EQ(-EINVAL, create_writable(self->dev, UDMABUF_EXT_MODE_MOVE, 16, 0));
}

TEST_F(userptr, move_unaligned_end_is_einval)
{
	EXPECT_EQ(-EINVAL, create_writable(self->dev, UDMABUF_EXT_MODE_MOVE, 0, 16));
}

/* Control: the same ranges page aligned, or read-only, work. */
TEST_F(userptr, aligned_or_read_only_ranges_work)
{
	uint8_t *p = map_anon(3 * UB_PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, create_writable(self->dev, UDMABUF_EXT_MODE_PIN, 0, 0));
	EXPECT_EQ(0, create_writable(self->dev, UDMABUF_EXT_MODE_MOVE, 0, 0));
	fd = ub_ext_create_user(self->dev, p + 16, UB_PAGE, UDMABUF_EXT_MODE_PIN,
				UDMABUF_EXT_FLAGS_READ_ONLY);
	EXPECT_LE(0, fd);
	close(fd);
	munmap(p, 3 * UB_PAGE);
}

/* The alignment rule is an argument check: it comes before access_ok(). */
TEST_F(userptr, writable_unaligned_kernel_address_is_einval)
{
	EXPECT_EQ(-EINVAL, ub_ext_create_user(self->dev,
					      (void *)0xffff888000000010ull,
					      UB_PAGE, UDMABUF_EXT_MODE_PIN, 0));
}

/* A read-only buffer may end anywhere: the last page is taken whole. */
TEST_F(userptr, read_only_unaligned_end_works)
{
	uint8_t *p = map_anon(2 * UB_PAGE, PROT_READ | PROT_WRITE, 0), *m;
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = 0, .size = UB_PAGE + 100,
	};
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	it.start = (uintptr_t)p;
	ub_fill(p, 2 * UB_PAGE, 13);
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN,
			   UDMABUF_EXT_FLAGS_READ_ONLY, &out);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, out.data_offset);
	EXPECT_EQ(2 * UB_PAGE, out.size);
	m = mmap(NULL, out.size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, 2 * UB_PAGE, 13));
	munmap(m, out.size);
	close(fd);
	munmap(p, 2 * UB_PAGE);
}

/* COPY takes any range: a snapshot at data_offset in pages of its own. */
TEST_F(userptr, copy_unaligned_reports_data_offset)
{
	size_t len = 5 * UB_PAGE + 300;
	uint8_t *a = malloc(len + 2 * UB_PAGE), *p, *m;
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_info info;
	struct udmabuf_ext_item it = { .kind = UDMABUF_EXT_ITEM_USER };
	int fd;

	ASSERT_NE(NULL, a);
	p = (uint8_t *)(((uintptr_t)a + UB_PAGE) & ~(UB_PAGE - 1)) + 1000;
	it.start = (uintptr_t)p;
	it.size = len;
	ub_fill(p, len, 14);
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_COPY, 0, &out);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1000, out.data_offset);
	EXPECT_EQ(6 * UB_PAGE, out.size);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_COPY, info.mode);
	EXPECT_EQ(1000, info.data_offset);
	/* The extended ABI charges every page to RLIMIT_MEMLOCK. */
	EXPECT_EQ(6, info.nr_charged);
	ub_fill(p, len, 15);	/* a snapshot: the buffer keeps seed 14 */
	m = mmap(NULL, out.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, len, 14));
	munmap(m, out.size);
	close(fd);
	free(a);
}

/*
 * AUTO shares what it may: a writable range that is not page aligned is
 * copied whatever its size; the same range read-only, or page aligned, is
 * pinned once it is larger than auto_copy_max_kb.
 */
TEST_F(userptr, auto_copies_writable_unaligned)
{
	size_t len = (ub_param("auto_copy_max_kb") << 10) + 4 * UB_PAGE;
	uint8_t *p = map_anon(len + 2 * UB_PAGE, PROT_READ | PROT_WRITE, 0);
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_info info;
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .size = len,
	};
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len + 2 * UB_PAGE);
	it.start = (uintptr_t)p + 16;
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_AUTO, 0, &out);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_COPY, info.mode);
	EXPECT_EQ(16, info.data_offset);
	close(fd);
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_AUTO,
			   UDMABUF_EXT_FLAGS_READ_ONLY, &out);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
	EXPECT_EQ(16, info.data_offset);
	close(fd);
	it.start = (uintptr_t)p;
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_AUTO, 0, &out);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
	close(fd);
	munmap(p, len + 2 * UB_PAGE);
}

TEST_F(userptr, move_shared_memory_is_eopnotsupp)
{
	uint8_t *p = mmap(NULL, UB_PAGE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EOPNOTSUPP, ub_ext_create_user(self->dev, p, UB_PAGE,
						  UDMABUF_EXT_MODE_MOVE, 0));
	munmap(p, UB_PAGE);
}

TEST_F(userptr, move_memfd_item_is_einval)
{
	int memfd = ub_memfd(UB_PAGE, F_SEAL_SHRINK, false);
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = memfd, .size = UB_PAGE,
	};

	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, ub_ext_create(self->dev, &it, 1,
					 UDMABUF_EXT_MODE_MOVE, 0, NULL));
	close(memfd);
}

TEST_F(userptr, list_interior_unaligned_is_einval)
{
	uint8_t *p = map_anon(4 * UB_PAGE, PROT_READ | PROT_WRITE, 0);
	struct udmabuf_ext_item it[2] = {
		{ .kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)p,
		  .size = UB_PAGE + 8 },
		{ .kind = UDMABUF_EXT_ITEM_USER,
		  .start = (uintptr_t)p + 2 * UB_PAGE, .size = UB_PAGE },
	};

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, ub_ext_create(self->dev, it, 2,
					 UDMABUF_EXT_MODE_PIN, 0, NULL));
	munmap(p, 4 * UB_PAGE);
}

TEST_F(userptr, info_bad_fd_is_ebadf)
{
	struct udmabuf_ext_info info;

	EXPECT_EQ(-EBADF, ub_info(self->dev, 999, &info));
}

TEST_F(userptr, info_not_a_dmabuf_is_einval)
{
	struct udmabuf_ext_info info;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, ub_info(self->dev, p[0], &info));
	close(p[0]);
	close(p[1]);
}

TEST_F(userptr, info_nonzero_flags_is_einval)
{
	struct udmabuf_ext_info info = { .fd = 0, .flags = 1 };

	EXPECT_EQ(-1, ioctl(self->dev, UDMABUF_EXT_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * The malloc() case, read-only: any pointer, any length. (Devices may not
 * write such a range: see the writable_unaligned tests.)
 */
TEST_F(userptr, unaligned_malloc_reports_data_offset)
{
	size_t len = 3 * UB_PAGE + 100;
	uint8_t *p = malloc(len + 64) + 40;
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_info info;
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)p, .size = len,
	};
	uintptr_t first = (uintptr_t)p & ~(UB_PAGE - 1);
	uintptr_t end = ((uintptr_t)p + len + UB_PAGE - 1) & ~(UB_PAGE - 1);
	uint8_t *m;
	int fd;

	ub_fill(p, len & ~3ul, 11);
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN,
			   UDMABUF_EXT_FLAGS_READ_ONLY, &out);
	ASSERT_LE(0, fd);
	EXPECT_NE(0, out.data_offset);
	EXPECT_EQ((uintptr_t)p & (UB_PAGE - 1), out.data_offset);
	EXPECT_EQ(end - first, out.size);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(out.data_offset, info.data_offset);
	EXPECT_EQ(out.size, info.size);
	EXPECT_EQ((end - first) / UB_PAGE, info.nr_pages);
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
	EXPECT_EQ(getpid(), (pid_t)info.owner_pid);
	EXPECT_EQ(info.nr_pages, info.nr_charged);
	EXPECT_NE(0, info.source & UDMABUF_EXT_SOURCE_USER);
	m = mmap(NULL, out.size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, len & ~3ul, 11));
	/* The same pages: what the process writes next shows too. */
	ub_fill(p, len & ~3ul, 12);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, len & ~3ul, 12));
	munmap(m, out.size);
	close(fd);
	free(p - 40);
}

/* Round trips for every source kind, in PIN mode. */
FIXTURE(source) {
	int dev;
	uint8_t *p;
	size_t len;
	int memfd;
};

FIXTURE_VARIANT(source) {
	const char *name;
	size_t len;
	/*
	 * 0 anon, 1 shared anon, 2 memfd map, 3 thp, 4 hugetlb, 5 heap (page
	 * aligned, whole pages), 6 heap at malloc's own alignment
	 */
	int kind;
	uint32_t want;
};

FIXTURE_VARIANT_ADD(source, heap) {
	.len = 6 * UB_PAGE, .kind = 5, .want = UDMABUF_EXT_SOURCE_ANON,
};
FIXTURE_VARIANT_ADD(source, heap_unaligned) {
	.len = 5 * UB_PAGE + 123, .kind = 6, .want = UDMABUF_EXT_SOURCE_ANON,
};
FIXTURE_VARIANT_ADD(source, anon) {
	.len = 64 * UB_PAGE, .kind = 0, .want = UDMABUF_EXT_SOURCE_ANON,
};
FIXTURE_VARIANT_ADD(source, shared_anon) {
	.len = 64 * UB_PAGE, .kind = 1, .want = UDMABUF_EXT_SOURCE_SHMEM,
};
FIXTURE_VARIANT_ADD(source, memfd_mapping) {
	.len = 64 * UB_PAGE, .kind = 2, .want = UDMABUF_EXT_SOURCE_SHMEM,
};
FIXTURE_VARIANT_ADD(source, thp) {
	.len = 4 * UB_HPAGE, .kind = 3, .want = UDMABUF_EXT_SOURCE_THP,
};
/* Seed 002's IOMMU concern: 64 MiB of THP maps as at most 32 segments. */
FIXTURE_VARIANT_ADD(source, thp64) {
	.len = 32 * UB_HPAGE, .kind = 3, .want = UDMABUF_EXT_SOURCE_THP,
};
FIXTURE_VARIANT_ADD(source, hugetlb) {
	.len = 2 * UB_HPAGE, .kind = 4, .want = UDMABUF_EXT_SOURCE_HUGETLB,
};

FIXTURE_SETUP(source)
{
	int prot = PROT_READ | PROT_WRITE;

	self->memfd = -1;
	self->p = MAP_FAILED;
	self->len = variant->len;
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	switch (variant->kind) {
	case 0:
		self->p = map_anon(self->len, prot, 0);
		break;
	case 1:
		self->p = mmap(NULL, self->len, prot, MAP_SHARED | MAP_ANONYMOUS,
			       -1, 0);
		break;
	case 2:
		self->memfd = ub_memfd(self->len, 0, false);
		ASSERT_LE(0, self->memfd);
		self->p = mmap(NULL, self->len, prot, MAP_SHARED, self->memfd, 0);
		break;
	case 3:
		self->p = map_aligned(self->len);
		ASSERT_NE(MAP_FAILED, self->p);
		if (madvise(self->p, self->len, MADV_HUGEPAGE))
			SKIP(return, "MADV_HUGEPAGE: %s", strerror(errno));
		break;
	case 4:
		self->p = map_anon(self->len, prot, MAP_HUGETLB);
		if (self->p == MAP_FAILED)
			SKIP(return, "no huge pages: %s", strerror(errno));
		break;
	case 5:
		self->p = aligned_alloc(UB_PAGE, self->len);
		ASSERT_NE(NULL, self->p);
		break;
	case 6:
		self->p = malloc(self->len);
		ASSERT_NE(NULL, self->p);
		ASSERT_NE(0, (uintptr_t)self->p & (UB_PAGE - 1));
		break;
	}
	ASSERT_NE(MAP_FAILED, self->p);
	ub_fill(self->p, self->len & ~3ul, 21);
}

FIXTURE_TEARDOWN(source)
{
	if (variant->kind >= 5)
		free(self->p);
	else if (self->p != MAP_FAILED)
		munmap(self->p, self->len);
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->dev);
}

TEST_F(source, pin_round_trip)
{
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_info info;
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)self->p,
		.size = self->len,
	};
	size_t words = self->len & ~3ul;
	bool unaligned = variant->kind == 6;
	uint8_t *m;
	int fd;

	UB_RETURN_IF_SKIPPED();

	/* Devices may only read a range that is not page aligned. */
	if (unaligned)
		ASSERT_EQ(-EINVAL, ub_ext_create(self->dev, &it, 1,
						 UDMABUF_EXT_MODE_PIN, 0, &out));
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN,
			   unaligned ? UDMABUF_EXT_FLAGS_READ_ONLY : 0, &out);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	if (variant->kind == 3 && !(info.source & UDMABUF_EXT_SOURCE_THP))
		SKIP(goto out, "no THP was allocated");
	EXPECT_EQ(variant->want, info.source & variant->want);
	EXPECT_EQ((uintptr_t)self->p & (UB_PAGE - 1), out.data_offset);
	if (variant->kind >= 3 && variant->kind <= 4)
		EXPECT_GE(self->len / UB_HPAGE, info.nr_segments);

	m = mmap(NULL, out.size, PROT_READ | (unaligned ? 0 : PROT_WRITE),
		 MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	/* The process wrote: the buffer sees it. */
	EXPECT_EQ(-1, ub_check(m + out.data_offset, words, 21));
	/* The buffer is written: the process sees it in its own memory. */
	if (unaligned)
		ub_fill(self->p, words, 22);
	else
		ub_fill(m + out.data_offset, words, 22);
	EXPECT_EQ(-1, ub_check(self->p, words, 22));
	/* And the other way again, after the buffer was written. */
	ub_fill(self->p, words, 23);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, words, 23));
	munmap(m, out.size);
out:
	close(fd);
}

TEST_F(source, copy_is_a_snapshot)
{
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_info info;
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)self->p,
		.size = self->len,
	};
	size_t words = self->len & ~3ul;
	long copied = ub_stat("copied_pages");
	uint8_t *m;
	int fd;

	UB_RETURN_IF_SKIPPED();

	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_COPY, 0, &out);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_COPY, info.mode);
	/* Copies are memory the buffer holds too: charged like pins. */
	EXPECT_EQ(info.nr_pages, info.nr_charged);
	EXPECT_EQ(copied + (long)info.nr_pages, ub_stat("copied_pages"));
	ub_fill(self->p, words, 24);
	m = mmap(NULL, out.size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, words, 21));
	munmap(m, out.size);
	close(fd);
	EXPECT_EQ(copied, ub_stat("copied_pages"));
}

TEST_F(userptr, move_takes_the_pages)
{
	size_t len = 16 * UB_PAGE;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0), *m;
	struct udmabuf_ext_info info;
	long moved = ub_stat("moved_pages");
	long pin_kb = ub_vm_pin_kb();
	size_t i;
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p, len, 31);
	fd = ub_ext_create_user(self->dev, p, len, UDMABUF_EXT_MODE_MOVE, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_MOVE, info.mode);
	/* Charged like PIN: the pages are pinned for the buffer's life. */
	EXPECT_EQ(16, info.nr_charged);
	EXPECT_EQ(pin_kb + 64, ub_vm_pin_kb());
	EXPECT_EQ(moved + 16, ub_stat("moved_pages"));
	for (i = 0; i < len; i++)
		if (p[i])
			break;
	EXPECT_EQ(len, i);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, len, 31));
	/* The range is ordinary memory again, not the buffer's. */
	p[0] = 1;
	EXPECT_EQ(-1, ub_check(m, len, 31));
	munmap(m, len);
	close(fd);
	EXPECT_EQ(moved, ub_stat("moved_pages"));
	EXPECT_EQ(pin_kb, ub_vm_pin_kb());
	munmap(p, len);
}

/*
 * A read-only pin needs read permission, whether or not the pages are
 * present (the lockless walk, which sees them, must not decide otherwise).
 */
TEST_F(userptr, read_only_pin_of_write_only_memory_is_efault)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, mprotect(p, UB_PAGE, PROT_WRITE));
	EXPECT_EQ(-EFAULT, ub_ext_create_user(self->dev, p, UB_PAGE,
					      UDMABUF_EXT_MODE_PIN,
					      UDMABUF_EXT_FLAGS_READ_ONLY));
	munmap(p, UB_PAGE);
}

#define MAX_MAP_COUNT	"/proc/sys/vm/max_map_count"

/*
 * Lower vm.max_map_count to at most the number of mappings the process has
 * (the list may show one more, the vsyscall page), so that no mapping of it
 * can be split. Returns the knob's fd, with the old value in @old, or -1.
 */
static int tighten_map_count(char *old, size_t len)
{
	char lim[32];
	int k = open(MAX_MAP_COUNT, O_RDWR | O_CLOEXEC), n;

	if (k < 0)
		return -1;
	memset(old, 0, len);
	n = ub_count_maps();
	snprintf(lim, sizeof(lim), "%d\n", n - 1);
	if (n < 2 || read(k, old, len - 1) <= 0 ||
	    pwrite(k, lim, strlen(lim), 0) <= 0) {
		close(k);
		return -1;
	}
	return k;
}

static int restore_map_count(int k, const char *old)
{
	int ret = pwrite(k, old, strlen(old), 0) > 0 ? 0 : -1;

	close(k);
	return ret;
}

/*
 * MOVE gives the pages up as MADV_DONTNEED does: nothing is mapped over the
 * range and no mapping is split, so even with vm.max_map_count at the
 * number of mappings the process has, the middle page of a mapping is
 * vacated (it used to be replaced by a new mapping, which the limit
 * refused). It reads zeros afterwards, and the buffer is charged.
 */
TEST_F(userptr, move_splits_no_mapping)
{
	size_t len = 3 * UB_PAGE;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, MAP_POPULATE), *m;
	long charged = ub_stat("charged_pages");
	struct udmabuf_ext_info info;
	char old[32];
	int fd, k, maps;

	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p + UB_PAGE, UB_PAGE, 41);
	k = tighten_map_count(old, sizeof(old));
	if (k < 0)
		SKIP(return, "cannot set %s", MAX_MAP_COUNT);
	maps = ub_count_maps();
	fd = ub_ext_create_user(self->dev, p + UB_PAGE, UB_PAGE,
				UDMABUF_EXT_MODE_MOVE, 0);
	ASSERT_EQ(0, restore_map_count(k, old));
	ASSERT_LE(0, fd);
	EXPECT_EQ(maps, ub_count_maps());
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(0, info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	EXPECT_EQ(1, info.nr_charged);
	EXPECT_EQ(charged + 1, ub_stat("charged_pages"));
	m = mmap(NULL, UB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, UB_PAGE, 41));
	/* Vacated: the range reads zeros and is the buffer's no more. */
	EXPECT_EQ(0, p[UB_PAGE]);
	EXPECT_EQ(0, p[2 * UB_PAGE - 1]);
	p[UB_PAGE] ^= 0xff;
	EXPECT_EQ(-1, ub_check(m, UB_PAGE, 41));
	munmap(m, UB_PAGE);
	close(fd);
	EXPECT_EQ(charged, ub_stat("charged_pages"));
	munmap(p, len);
}

TEST_F(userptr, move_takes_the_pages_and_flags_nothing)
{
	uint8_t *p = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	struct udmabuf_ext_info info;
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	fd = ub_ext_create_user(self->dev, p, UB_PAGE, UDMABUF_EXT_MODE_MOVE, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(0, info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	close(fd);
	munmap(p, UB_PAGE);
}

TEST_F(userptr, auto_copies_small_and_pins_large)
{
	long max_kb = ub_param("auto_copy_max_kb");
	size_t small = max_kb * 1024, large = small + 2 * UB_PAGE;
	uint8_t *p = map_anon(large, PROT_READ | PROT_WRITE, 0);
	struct udmabuf_ext_info info;
	int fd;

	ASSERT_LT(0, max_kb);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, large);
	fd = ub_ext_create_user(self->dev, p, small, UDMABUF_EXT_MODE_AUTO, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_COPY, info.mode);
	close(fd);
	fd = ub_ext_create_user(self->dev, p, large, UDMABUF_EXT_MODE_AUTO, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
	close(fd);
	munmap(p, large);
}

TEST_F(userptr, mixed_list_keeps_item_order)
{
	int memfd = ub_memfd(4 * UB_PAGE, F_SEAL_SHRINK, false);
	uint8_t *a = malloc(3 * UB_PAGE), *b, *m;
	uint8_t *mf;
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_item it[3];
	uintptr_t a_end;
	int fd;

	ASSERT_LE(0, memfd);
	ASSERT_NE(NULL, a);
	b = map_anon(2 * UB_PAGE, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(MAP_FAILED, b);
	mf = mmap(NULL, 4 * UB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		  memfd, 0);
	ASSERT_NE(MAP_FAILED, mf);
	/* Unaligned start, aligned end: the first item. */
	a_end = ((uintptr_t)a + 2 * UB_PAGE) & ~(UB_PAGE - 1);
	memset(a, 0xa1, a_end - (uintptr_t)a);
	memset(mf, 0xb2, 4 * UB_PAGE);
	memset(b, 0xc3, 2 * UB_PAGE);
	it[0] = (struct udmabuf_ext_item){ UDMABUF_EXT_ITEM_USER, 0,
		(uintptr_t)a, a_end - (uintptr_t)a };
	it[1] = (struct udmabuf_ext_item){ UDMABUF_EXT_ITEM_MEMFD, memfd,
		UB_PAGE, 2 * UB_PAGE };
	it[2] = (struct udmabuf_ext_item){ UDMABUF_EXT_ITEM_USER, 0,
		(uintptr_t)b, UB_PAGE + 10 };
	/* Unaligned outer ends: devices may only read it. */
	EXPECT_EQ(-EINVAL, ub_ext_create(self->dev, it, 3, UDMABUF_EXT_MODE_PIN,
					 0, NULL));
	fd = ub_ext_create(self->dev, it, 3, UDMABUF_EXT_MODE_PIN,
			   UDMABUF_EXT_FLAGS_READ_ONLY, &out);
	ASSERT_LE(0, fd);
	EXPECT_EQ((uintptr_t)a & (UB_PAGE - 1), out.data_offset);
	m = mmap(NULL, out.size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0xa1, m[out.data_offset]);
	EXPECT_EQ(0xa1, m[out.data_offset + it[0].size - 1]);
	EXPECT_EQ(0xb2, m[out.data_offset + it[0].size]);
	EXPECT_EQ(0xb2, m[out.data_offset + it[0].size + 2 * UB_PAGE - 1]);
	EXPECT_EQ(0xc3, m[out.data_offset + it[0].size + 2 * UB_PAGE]);
	EXPECT_EQ(out.size, (size_t)out.data_offset + it[0].size + 4 * UB_PAGE);
	munmap(m, out.size);
	close(fd);
	munmap(mf, 4 * UB_PAGE);
	munmap(b, 2 * UB_PAGE);
	close(memfd);
	free(a);
}

/*
 * fork: the pinned pages stay the parent's. The child gets copies at fork
 * time, so its writes reach neither the parent nor the buffer.
 */
TEST_F(userptr, fork_child_writes_stay_private)
{
	size_t len = 8 * UB_PAGE;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0), *m;
	int fd, status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p, len, 41);
	fd = ub_ext_create_user(self->dev, p, len, UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, fd);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		ub_fill(p, len, 42);
		_exit(ub_check(p, len, 42) == -1 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-1, ub_check(p, len, 41));
	EXPECT_EQ(-1, ub_check(m, len, 41));
	/* Parent and buffer still share the pages. */
	ub_fill(p, len, 43);
	EXPECT_EQ(-1, ub_check(m, len, 43));
	munmap(m, len);
	close(fd);
	munmap(p, len);
}

FIXTURE(after_create) {
	int dev;
	int fd;
	uint8_t *p;
	uint8_t *m;
	size_t len;
};

FIXTURE_SETUP(after_create)
{
	self->len = 8 * UB_PAGE;
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	self->p = map_anon(self->len, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	ub_fill(self->p, self->len, 51);
	self->fd = ub_ext_create_user(self->dev, self->p, self->len,
				      UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, self->fd);
	self->m = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->m);
}

FIXTURE_TEARDOWN(after_create)
{
	munmap(self->m, self->len);
	close(self->fd);
	close(self->dev);
}

/* The buffer keeps its pages, whatever the process does to the range. */
TEST_F(after_create, munmap)
{
	ASSERT_EQ(0, munmap(self->p, self->len));
	EXPECT_EQ(-1, ub_check(self->m, self->len, 51));
	ub_fill(self->m, self->len, 52);
	EXPECT_EQ(-1, ub_check(self->m, self->len, 52));
}

TEST_F(after_create, mremap)
{
	uint8_t *q = mremap(self->p, self->len, 2 * self->len, MREMAP_MAYMOVE);

	ASSERT_NE(MAP_FAILED, q);
	/* The pages moved with the mapping: still shared with the buffer. */
	ub_fill(q, self->len, 53);
	EXPECT_EQ(-1, ub_check(self->m, self->len, 53));
	munmap(q, 2 * self->len);
}

TEST_F(after_create, madv_dontneed)
{
	ASSERT_EQ(0, madvise(self->p, self->len, MADV_DONTNEED));
	EXPECT_EQ(0, self->p[0]);
	EXPECT_EQ(-1, ub_check(self->m, self->len, 51));
	munmap(self->p, self->len);
}

/* The creator exits while the buffer lives on in another process. */
TEST_F(userptr, creator_exits_first)
{
	long charged = ub_stat("charged_pages");
	int sv[2], fd = -1, status;
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	uint8_t *m;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t *p = map_anon(4 * UB_PAGE, PROT_READ | PROT_WRITE, 0);
		int bfd;

		ub_fill(p, 4 * UB_PAGE, 61);
		bfd = ub_ext_create_user(self->dev, p, 4 * UB_PAGE,
					 UDMABUF_EXT_MODE_PIN, 0);
		if (bfd < 0)
			_exit(1);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &bfd, sizeof(int));
		_exit(sendmsg(sv[1], &msg, 0) == 1 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, recvmsg(sv[0], &msg, 0));
	cm = CMSG_FIRSTHDR(&msg);
	ASSERT_NE(NULL, cm);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	EXPECT_EQ(charged + 4, ub_stat("charged_pages"));
	m = mmap(NULL, 4 * UB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, 4 * UB_PAGE, 61));
	munmap(m, 4 * UB_PAGE);
	close(fd);
	/* The dead creator's charge was returned. */
	EXPECT_EQ(charged, ub_stat("charged_pages"));
	close(sv[0]);
	close(sv[1]);
}

/* RLIMIT_MEMLOCK, as mlock(2) applies it. */
TEST_F(userptr, memlock_charge_comes_and_goes)
{
	size_t len = 32 * UB_PAGE;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0);
	long before = ub_vm_pin_kb();
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);
	fd = ub_ext_create_user(self->dev, p, len, UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(before + (long)(len / 1024), ub_vm_pin_kb());
	close(fd);
	EXPECT_EQ(before, ub_vm_pin_kb());
	munmap(p, len);
}

TEST_F(userptr, memlock_exceeded_is_enomem)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	size_t len = 1 << 20;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0);
	long before = ub_vm_pin_kb();

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, ub_drop_cap_ipc_lock());
	EXPECT_EQ(-ENOMEM, ub_ext_create_user(self->dev, p, len,
					      UDMABUF_EXT_MODE_PIN, 0));
	EXPECT_EQ(before, ub_vm_pin_kb());
	munmap(p, len);
}

/*
 * A copy is memory that cannot be swapped out either: the extended ABI
 * charges it to RLIMIT_MEMLOCK like a pin.
 */
TEST_F(userptr, memlock_applies_to_copy)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	size_t len = 1 << 20;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0);
	long before = ub_vm_pin_kb();

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, ub_drop_cap_ipc_lock());
	EXPECT_EQ(-ENOMEM, ub_ext_create_user(self->dev, p, len,
					      UDMABUF_EXT_MODE_COPY, 0));
	EXPECT_EQ(before, ub_vm_pin_kb());
	munmap(p, len);
}

TEST_F(userptr, cap_ipc_lock_bypasses_memlock)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	size_t len = 1 << 20;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0);
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, len);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	fd = ub_ext_create_user(self->dev, p, len, UDMABUF_EXT_MODE_PIN, 0);
	EXPECT_LE(0, fd);
	close(fd);
	munmap(p, len);
}

/* ---- READ_ONLY of memory the process has not written yet --------------- */

/* The PFN that /proc/self/pagemap shows at @addr (root only), or 0. */
static uint64_t pfn_at(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), ((uintptr_t)addr / UB_PAGE) * sizeof(e)) !=
	    sizeof(e))
		e = 0;
	close(fd);
	return (e >> 63) ? e & ((1ull << 55) - 1) : 0;
}

/* The shared zero page's PFN: what a read fault of private memory maps. */
static uint64_t zero_pfn(void)
{
	volatile uint8_t *p = map_anon(UB_PAGE, PROT_READ, 0);
	uint64_t pfn;

	if ((void *)p == MAP_FAILED)
		return 0;
	(void)p[0];
	pfn = pfn_at((void *)p);
	munmap((void *)p, UB_PAGE);
	return pfn;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * A READ_ONLY buffer of private memory that the process writes only after
 * the create: memory never written (a fresh anonymous mapping, a THP-sized
 * one, a fresh large malloc()) and a MAP_PRIVATE file mapping that was only
 * read. Before 6.2, a read-only pin of such memory held the shared zero
 * page or the file's page cache, and the process's writes went to new pages
 * behind the buffer's back. The buffer must show what the process writes,
 * twice over, so it holds the pages the process maps from then on; and
 * those (their PFNs from /proc/self/pagemap) are never the shared zero page
 * (whose PFN a read fault of private memory shows), never the file's page
 * cache, and never twice the same page. (pagemap cannot show the PFNs of
 * the dma-buf's own mmap: it skips VM_PFNMAP mappings as holes.)
 */
FIXTURE(ro_unwritten) {
	int dev;
	int memfd;
	uint8_t *map;		/* what to unmap, or NULL */
	size_t map_len;
	void *heap;		/* what to free, or NULL */
	uint8_t *data;		/* the range */
	size_t len;
};

FIXTURE_VARIANT(ro_unwritten) {
	int kind;	/* 0 anon, 1 thp-sized anon, 2 malloc, 3 private file */
};

FIXTURE_VARIANT_ADD(ro_unwritten, anon) { .kind = 0 };
FIXTURE_VARIANT_ADD(ro_unwritten, thp) { .kind = 1 };
FIXTURE_VARIANT_ADD(ro_unwritten, malloc) { .kind = 2 };
FIXTURE_VARIANT_ADD(ro_unwritten, private_file) { .kind = 3 };

FIXTURE_SETUP(ro_unwritten)
{
	self->memfd = -1;
	self->map = NULL;
	self->heap = NULL;
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	switch (variant->kind) {
	case 0:
		self->len = 8 * UB_PAGE;
		self->map = map_anon(self->len, PROT_READ | PROT_WRITE, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		self->map_len = self->len;
		self->data = self->map;
		break;
	case 1:
		self->len = UB_HPAGE;
		self->map = map_aligned(self->len);
		ASSERT_NE(MAP_FAILED, self->map);
		self->map_len = self->len;
		self->data = self->map;
		madvise(self->map, self->len, MADV_HUGEPAGE);
		break;
	case 2:
		/* The case: a 640x480 RGB frame, above the mmap threshold. */
		self->len = 307200;
		self->heap = malloc(self->len);
		ASSERT_NE(NULL, self->heap);
		self->data = self->heap;
		break;
	case 3:
		self->len = 8 * UB_PAGE;
		self->memfd = ub_memfd(self->len, 0, false);
		ASSERT_LE(0, self->memfd);
		self->map = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
				 MAP_SHARED, self->memfd, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		ub_fill(self->map, self->len, 90);	/* the file's bytes */
		munmap(self->map, self->len);
		self->map = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE, self->memfd, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		self->map_len = self->len;
		self->data = self->map;
		/* Read, not written: the page cache is mapped. */
		ASSERT_EQ(-1, ub_check(self->data, self->len, 90));
		break;
	}
}

FIXTURE_TEARDOWN(ro_unwritten)
{
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, self->map_len);
	free(self->heap);
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->dev);
}

TEST_F(ro_unwritten, buffer_shows_later_writes)
{
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)self->data,
		.size = self->len,
	};
	uint8_t *first = (uint8_t *)((uintptr_t)self->data & ~(UB_PAGE - 1));
	uint64_t zero = zero_pfn(), *pfns, *cache = NULL;
	size_t words = self->len & ~3ul, n, i;
	uint8_t *m, *view;
	int fd;

	ASSERT_NE(0, zero) TH_LOG("no PFN from /proc/self/pagemap (root?)");
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN,
			   UDMABUF_EXT_FLAGS_READ_ONLY, &out);
	ASSERT_LE(0, fd) TH_LOG("READ_ONLY create: %s", strerror(-fd));
	EXPECT_EQ((uintptr_t)self->data & (UB_PAGE - 1), out.data_offset);
	n = out.size / UB_PAGE;

	/* The process writes after the create; the buffer shows it. */
	ub_fill(self->data, words, 91);
	m = mmap(NULL, out.size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, words, 91));

	/* Again: the same pages, not a copy made at the first write. */
	ub_fill(self->data, words, 92);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, words, 92));

	/* Those pages: all different, none the zero page. */
	pfns = calloc(n, sizeof(*pfns));
	ASSERT_NE(NULL, pfns);
	for (i = 0; i < n; i++) {
		pfns[i] = pfn_at(first + i * UB_PAGE);
		ASSERT_NE(0, pfns[i]) TH_LOG("page %zu not present", i);
		EXPECT_NE(zero, pfns[i]) TH_LOG("page %zu is the zero page", i);
	}
	if (variant->kind == 3) {
		/* Not the file's page cache, which keeps the file's bytes. */
		view = mmap(NULL, self->len, PROT_READ, MAP_SHARED, self->memfd, 0);
		ASSERT_NE(MAP_FAILED, view);
		EXPECT_EQ(-1, ub_check(view, words, 90));
		cache = calloc(n, sizeof(*cache));
		ASSERT_NE(NULL, cache);
		for (i = 0; i < n; i++)
			cache[i] = pfn_at(view + i * UB_PAGE);
		munmap(view, self->len);
	}
	qsort(pfns, n, sizeof(*pfns), cmp_u64);
	for (i = 1; i < n; i++)
		EXPECT_NE(pfns[i - 1], pfns[i]);
	for (i = 0; cache && i < n; i++)
		EXPECT_EQ(NULL, bsearch(&cache[i], pfns, n, sizeof(*pfns), cmp_u64));
	free(cache);
	free(pfns);
	munmap(m, out.size);
	close(fd);
}

TEST_HARNESS_MAIN
