// SPDX-License-Identifier: GPL-2.0-only
/*
 * How a shmem memfd's pages are taken: by reference from the page cache
 * where they are there and ready, by mapping and pinning otherwise (holes,
 * fallocate()d pages never written), and both in one buffer. Each test ends
 * by sealing the memfd against writes, which the kernel refuses while any
 * page of it has an extra reference or pin: a reference the buffer failed
 * to give back fails the test.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/mman.h>

#include "kselftest_harness.h"

#define NPAGES	32
#define SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

FIXTURE(memfd) {
	int dev;
	int memfd;
	int maps0;
	long pinned0;
};

FIXTURE_SETUP(memfd)
{
	self->memfd = -1;
	self->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	self->memfd = ub_memfd(NPAGES * UB_PAGE, F_SEAL_SHRINK, false);
	ASSERT_LE(0, self->memfd);
	self->pinned0 = ub_stat("pinned_pages");
	self->maps0 = ub_count_maps();
}

FIXTURE_TEARDOWN(memfd)
{
	if (self->memfd >= 0)
		close(self->memfd);
	close(self->dev);
}

static int create(int dev, int memfd, uint64_t off, uint64_t size,
		  uint32_t flags)
{
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = memfd,
		.start = off, .size = size,
	};

	return ub_ext_create(dev, &it, 1, UDMABUF_EXT_MODE_PIN, flags, NULL);
}

/* Write page @i of the memfd with the pattern of seed @i. */
static int put_page_pattern(int memfd, unsigned int i)
{
	static uint8_t page[UB_PAGE];

	ub_fill(page, UB_PAGE, i);
	return pwrite(memfd, page, UB_PAGE, i * UB_PAGE) == UB_PAGE ? 0 : -1;
}

/* 1 if page @i of the memfd holds @byte in every byte. */
static int memfd_page_is(int memfd, unsigned int i, uint8_t byte)
{
	static uint8_t page[UB_PAGE];
	size_t k;

	if (pread(memfd, page, UB_PAGE, i * UB_PAGE) != UB_PAGE)
		return 0;
	for (k = 0; k < UB_PAGE; k++)
		if (page[k] != byte)
			return 0;
	return 1;
}

static int page_is_zero(const uint8_t *p)
{
	size_t k;

	for (k = 0; k < UB_PAGE; k++)
		if (p[k])
			return 0;
	return 1;
}

/*
 * Every page of a buffer over the whole memfd: the pattern where @written
 * says so, zeros elsewhere; then a byte written through the buffer to each
 * page must show in the memfd (the buffer's pages are the file's).
 */
static void check_buffer(struct __test_metadata *_metadata, int fd,
			 const bool *written)
{
	uint8_t *m = mmap(NULL, NPAGES * UB_PAGE, PROT_READ | PROT_WRITE,
			  MAP_SHARED, fd, 0);
	unsigned int i;

	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < NPAGES; i++) {
		if (written[i]) {
			EXPECT_EQ(-1, ub_check(m + i * UB_PAGE, UB_PAGE, i))
				TH_LOG("page %u", i);
		} else {
			EXPECT_TRUE(page_is_zero(m + i * UB_PAGE))
				TH_LOG("page %u", i);
		}
		memset(m + i * UB_PAGE, 0x5a, UB_PAGE);
	}
	munmap(m, NPAGES * UB_PAGE);
}

static void check_shared(struct __test_metadata *_metadata, int memfd)
{
	unsigned int i;

	for (i = 0; i < NPAGES; i++)
		EXPECT_TRUE(memfd_page_is(memfd, i, 0x5a)) TH_LOG("page %u", i);
}

/* Nothing held any more: no pins, no references, no temporary mapping. */
static void check_released(struct __test_metadata *_metadata,
			   FIXTURE_DATA(memfd) *self)
{
	EXPECT_EQ(self->pinned0, ub_stat("pinned_pages"));
	EXPECT_EQ(self->maps0, ub_count_maps());
	EXPECT_EQ(0, fcntl(self->memfd, F_ADD_SEALS, F_SEAL_WRITE))
		TH_LOG("F_SEAL_WRITE: %s (a page still held?)", strerror(errno));
}

/*
 * A buffer over the whole memfd, with the pages @written has written: it
 * holds every page, leaves no mapping behind, shows the right bytes and
 * shares them with the file, keeps the write seal out, and gives every
 * page back when closed.
 */
static void whole_buffer(struct __test_metadata *_metadata,
			 FIXTURE_DATA(memfd) *self, const bool *written)
{
	int fd = create(self->dev, self->memfd, 0, NPAGES * UB_PAGE, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(self->pinned0 + NPAGES, ub_stat("pinned_pages"));
	EXPECT_EQ(self->maps0, ub_count_maps());
	check_buffer(_metadata, fd, written);
	check_shared(_metadata, self->memfd);
	EXPECT_EQ(-1, fcntl(self->memfd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
	check_released(_metadata, self);
}

TEST_F(memfd, populated_pages)
{
	bool written[NPAGES];
	unsigned int i;

	for (i = 0; i < NPAGES; i++) {
		ASSERT_EQ(0, put_page_pattern(self->memfd, i));
		written[i] = true;
	}
	whole_buffer(_metadata, self, written);
}

TEST_F(memfd, holes_are_faulted_in)
{
	bool written[NPAGES] = { false };
	unsigned int i;

	/* Two stretches written, two holes, one at the end. */
	for (i = 0; i < NPAGES; i++) {
		if ((i / 8) % 2)
			continue;
		ASSERT_EQ(0, put_page_pattern(self->memfd, i));
		written[i] = true;
	}
	whole_buffer(_metadata, self, written);
}

TEST_F(memfd, fallocated_pages_read_zero)
{
	bool written[NPAGES] = { false };

	/* Allocated but not uptodate: the page cache has them, unzeroed. */
	ASSERT_EQ(0, fallocate(self->memfd, 0, 0, NPAGES * UB_PAGE));
	ASSERT_EQ(0, put_page_pattern(self->memfd, 3));
	written[3] = true;
	whole_buffer(_metadata, self, written);
}

/* Two buffers, then two items, over the same pages. */
TEST_F(memfd, same_pages_twice)
{
	struct udmabuf_ext_item it[2] = {
		{ .kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = self->memfd,
		  .start = 0, .size = 8 * UB_PAGE },
		{ .kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = self->memfd,
		  .start = 4 * UB_PAGE, .size = 8 * UB_PAGE },
	};
	unsigned int i;
	int a, b, c;

	for (i = 0; i < NPAGES; i++)
		ASSERT_EQ(0, put_page_pattern(self->memfd, i));
	a = create(self->dev, self->memfd, 0, 16 * UB_PAGE, 0);
	ASSERT_LE(0, a);
	b = create(self->dev, self->memfd, 8 * UB_PAGE, 16 * UB_PAGE, 0);
	ASSERT_LE(0, b);
	c = ub_ext_create(self->dev, it, 2, UDMABUF_EXT_MODE_PIN, 0, NULL);
	ASSERT_LE(0, c);
	EXPECT_EQ(self->pinned0 + 48, ub_stat("pinned_pages"));
	close(b);
	close(a);
	close(c);
	check_released(_metadata, self);
}

TEST_F(memfd, read_only_fd)
{
	char path[64];
	int ro, fd;

	ASSERT_EQ(0, put_page_pattern(self->memfd, 0));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EACCES, create(self->dev, ro, 0, UB_PAGE, 0));
	fd = create(self->dev, ro, 0, UB_PAGE, UDMABUF_EXT_FLAGS_READ_ONLY);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	close(ro);
	check_released(_metadata, self);
}

/* An append-only file cannot be mapped writable, so no writable buffer. */
TEST_F(memfd, append_only_is_eacces_for_writing)
{
	int flags = FS_APPEND_FL, fd;

	ASSERT_EQ(0, put_page_pattern(self->memfd, 0));
	if (ioctl(self->memfd, FS_IOC_SETFLAGS, &flags))
		SKIP(return, "FS_IOC_SETFLAGS(FS_APPEND_FL): %s", strerror(errno));
	EXPECT_EQ(-EACCES, create(self->dev, self->memfd, 0, UB_PAGE, 0));
	fd = create(self->dev, self->memfd, 0, UB_PAGE, UDMABUF_EXT_FLAGS_READ_ONLY);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	flags = 0;
	ASSERT_EQ(0, ioctl(self->memfd, FS_IOC_SETFLAGS, &flags));
	check_released(_metadata, self);
}

/*
 * Shmem THP: a 2 MiB folio taken in parts, by two items that meet inside
 * it and by a range across two folios. Each page holds one reference of its
 * own, whatever the runs merge into.
 */
TEST_F(memfd, thp_folios_in_parts)
{
	struct udmabuf_ext_item it[2] = {
		{ .kind = UDMABUF_EXT_ITEM_MEMFD, .start = UB_HPAGE / 4,
		  .size = UB_HPAGE / 4 },
		{ .kind = UDMABUF_EXT_ITEM_MEMFD, .start = UB_HPAGE / 2,
		  .size = UB_HPAGE / 4 },
	};
	struct udmabuf_ext_info info;
	char old[64] = "";
	uint8_t *r, *p, *m;
	int memfd, fd, fd2, set;
	size_t len = 2 * UB_HPAGE;

	set = open(SHMEM_THP, O_RDWR | O_CLOEXEC);
	if (set < 0)
		SKIP(return, "no %s", SHMEM_THP);
	ASSERT_LT(0, read(set, old, sizeof(old) - 1));
	ASSERT_LT(0, pwrite(set, "advise", 6, 0));
	memfd = ub_memfd(len, F_SEAL_SHRINK, false);
	ASSERT_LE(0, memfd);
	r = mmap(NULL, len + UB_HPAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	p = (uint8_t *)(((uintptr_t)r + UB_HPAGE - 1) & ~(UB_HPAGE - 1));
	ASSERT_NE(MAP_FAILED, mmap(p, len, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, memfd, 0));
	ASSERT_EQ(0, madvise(p, len, MADV_HUGEPAGE));
	ub_fill(p, len, 77);
	/* The old setting back ("... [chosen] ..."): the folios stay huge. */
	{
		char *b = strchr(old, '['), *e = b ? strchr(b, ']') : NULL;

		if (b && e)
			ASSERT_LT(0, pwrite(set, b + 1, e - b - 1, 0));
	}
	close(set);

	/* Across the two folios: at most two runs if they are huge. */
	fd = create(self->dev, memfd, UB_HPAGE / 2, UB_HPAGE, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	if (info.nr_segments > 2) {
		close(fd);
		munmap(r, len + UB_HPAGE);
		close(memfd);
		SKIP(return, "no shmem THP here (%u segments)", (unsigned int)info.nr_segments);
	}
	m = mmap(NULL, UB_HPAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, memcmp(m, p + UB_HPAGE / 2, UB_HPAGE));
	munmap(m, UB_HPAGE);

	/* Two items meeting inside one folio: one run, two items' refs. */
	it[0].memfd = memfd;
	it[1].memfd = memfd;
	fd2 = ub_ext_create(self->dev, it, 2, UDMABUF_EXT_MODE_PIN, 0, NULL);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ub_info(self->dev, fd2, &info));
	EXPECT_EQ(1, info.nr_segments);
	m = mmap(NULL, UB_HPAGE / 2, PROT_READ, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, memcmp(m, p + UB_HPAGE / 4, UB_HPAGE / 2));
	munmap(m, UB_HPAGE / 2);
	EXPECT_EQ(self->pinned0 + (UB_HPAGE + UB_HPAGE / 2) / UB_PAGE,
		  ub_stat("pinned_pages"));

	close(fd);
	close(fd2);
	munmap(r, len + UB_HPAGE);
	EXPECT_EQ(self->pinned0, ub_stat("pinned_pages"));
	EXPECT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE))
		TH_LOG("F_SEAL_WRITE: %s (a page still held?)", strerror(errno));
	close(memfd);
}

/* COPY of a memfd range: the buffer's pages are copies, not the file's. */
TEST_F(memfd, copy_mode_copies)
{
	long copied = ub_stat("copied_pages");
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = self->memfd,
		.start = 0, .size = 4 * UB_PAGE,
	};
	uint8_t *m;
	unsigned int i;
	int fd;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, put_page_pattern(self->memfd, i));
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_COPY, 0, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(copied + 4, ub_stat("copied_pages"));
	EXPECT_EQ(self->pinned0, ub_stat("pinned_pages"));
	/* Held nothing of the file's: the seal goes on. */
	EXPECT_EQ(0, fcntl(self->memfd, F_ADD_SEALS, F_SEAL_WRITE));
	m = mmap(NULL, 4 * UB_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(-1, ub_check(m + i * UB_PAGE, UB_PAGE, i));
	munmap(m, 4 * UB_PAGE);
	close(fd);
	EXPECT_EQ(copied, ub_stat("copied_pages"));
}

/* Free 2 MiB huge pages, or -1. */
static long free_huge_pages(void)
{
	return ub_read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/", "free_hugepages");
}

/*
 * hugetlbfs: the first huge page is in the page cache (by reference), the
 * second is a hole (mapped and pinned, which faults it in).
 */
TEST_F(memfd, hugetlb_page_and_hole)
{
	size_t len = 2 * UB_HPAGE;
	uint8_t *p, *m;
	int memfd, fd;
	size_t k;

	if (free_huge_pages() < 2)
		SKIP(return, "fewer than 2 free 2 MiB huge pages");
	memfd = ub_memfd(len, F_SEAL_SHRINK, true);
	ASSERT_LE(0, memfd);
	p = mmap(NULL, UB_HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p, UB_HPAGE, 88);
	munmap(p, UB_HPAGE);

	fd = create(self->dev, memfd, UB_HPAGE / 2, UB_HPAGE, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(self->pinned0 + UB_HPAGE / UB_PAGE, ub_stat("pinned_pages"));
	EXPECT_EQ(self->maps0, ub_count_maps());
	m = mmap(NULL, UB_HPAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	p = malloc(UB_HPAGE);
	ASSERT_NE(NULL, p);
	ub_fill(p, UB_HPAGE, 88);
	EXPECT_EQ(0, memcmp(m, p + UB_HPAGE / 2, UB_HPAGE / 2));
	for (k = UB_HPAGE / 2; k < UB_HPAGE && !m[k]; k++)
		;
	EXPECT_EQ(UB_HPAGE, k);
	free(p);
	munmap(m, UB_HPAGE);
	EXPECT_EQ(-1, fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
	EXPECT_EQ(self->pinned0, ub_stat("pinned_pages"));
	EXPECT_EQ(0, fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE))
		TH_LOG("F_SEAL_WRITE: %s (a page still held?)", strerror(errno));
	close(memfd);
}

TEST_HARNESS_MAIN
