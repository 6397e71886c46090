// SPDX-License-Identifier: GPL-2.0-only
/*
 * F_SEAL_WRITE and fallocate(PUNCH_HOLE) on a memfd that a buffer holds
 * (issue 12, point 6; docs/uapi.md).
 *
 * A buffer holds references to the memfd's pages, so the kernel refuses
 * F_SEAL_WRITE with EBUSY (memfd_wait_for_pins() sees the extra references)
 * for as long as the pages are the file's. Punching a hole removes them
 * from the file: the buffer keeps the old pages and data, the file reads
 * zeros there, and once no page of the file is held any more, the seal
 * succeeds. Punched in two steps, so that the seal is seen to wait for the
 * last held page; for shmem and hugetlb memfds, through /dev/udmabuf (on
 * 6.12 the kernel's own udmabuf: the reference the module is compared
 * with) and /dev/udmabuf-ext.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include "kselftest_harness.h"

#define UNITS	4	/* pages of the memfd, 4 KiB or 2 MiB */

FIXTURE(punch) {
	int dev;
	int memfd;
	int buf;
	size_t unit;
	uint8_t *bmap;		/* the buffer's mmap */
};

FIXTURE_VARIANT(punch) {
	const char *dev;
	bool huge;
};

FIXTURE_VARIANT_ADD(punch, dropin_shmem) { UB_DROPIN_DEV, false };
FIXTURE_VARIANT_ADD(punch, dropin_hugetlb) { UB_DROPIN_DEV, true };
FIXTURE_VARIANT_ADD(punch, ext_shmem) { UB_DEV, false };
FIXTURE_VARIANT_ADD(punch, ext_hugetlb) { UB_DEV, true };

FIXTURE_SETUP(punch)
{
	size_t size;
	uint8_t *m;
	int ret;

	self->memfd = self->buf = -1;
	self->bmap = MAP_FAILED;
	self->unit = variant->huge ? UB_HPAGE : UB_PAGE;
	size = UNITS * self->unit;
	self->dev = open(variant->dev, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, "%s: %s", variant->dev, strerror(errno));
	if (strcmp(variant->dev, UB_DEV)) {
		ret = ub_dropin_is_kernels(self->dev);
		ASSERT_LE(0, ret);
		if (ret)
			ksft_print_msg("%s is the kernel's own udmabuf: the reference\n",
				       variant->dev);
	}
	self->memfd = ub_memfd(size, F_SEAL_SHRINK, variant->huge);
	if (self->memfd < 0 && variant->huge)
		SKIP(return, "hugetlb memfd: %s", strerror(-self->memfd));
	ASSERT_LE(0, self->memfd);
	/* Every page written (hugetlbfs has no write(): a mapping). */
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, self->memfd, 0);
	if (m == MAP_FAILED && variant->huge)
		SKIP(return, "no %d free 2 MiB huge pages: %s", UNITS,
		     strerror(errno));
	ASSERT_NE(MAP_FAILED, m);
	ub_fill(m, size, 5);
	munmap(m, size);
}

FIXTURE_TEARDOWN(punch)
{
	if (self->bmap != MAP_FAILED)
		munmap(self->bmap, UNITS * self->unit);
	if (self->buf >= 0)
		close(self->buf);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->dev >= 0)
		close(self->dev);
}

/* 1 if @len bytes of the memfd at @off read as zeros, 0 if not, -errno. */
static int memfd_zero(int memfd, off_t off, size_t len)
{
	static uint8_t chunk[1 << 16];
	size_t done, i;
	ssize_t n;

	for (done = 0; done < len; done += n) {
		n = pread(memfd, chunk, sizeof(chunk) < len - done ?
			  sizeof(chunk) : len - done, off + done);
		if (n <= 0)
			return n ? -errno : -EIO;
		for (i = 0; i < (size_t)n; i++)
			if (chunk[i])
				return 0;
	}
	return 1;
}

static int seal_write(int memfd)
{
	return fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE) ? -errno : 0;
}

static int punch(int memfd, off_t off, size_t len)
{
	return fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 off, len) ? -errno : 0;
}

TEST_F(punch, seal_write_after_punch)
{
	size_t size = UNITS * self->unit, half = size / 2;

	UB_RETURN_IF_SKIPPED();
	self->buf = ub_create_memfd(self->dev, self->memfd, 0, size, 0);
	ASSERT_LE(0, self->buf) TH_LOG("create: %s", strerror(-self->buf));
	self->bmap = mmap(NULL, size, PROT_READ, MAP_SHARED, self->buf, 0);
	ASSERT_NE(MAP_FAILED, self->bmap);

	/* The buffer holds the file's pages: no write seal. */
	EXPECT_EQ(-EBUSY, seal_write(self->memfd));

	/* Half of them punched out: the rest are still held. */
	ASSERT_EQ(0, punch(self->memfd, 0, half));
	EXPECT_EQ(1, memfd_zero(self->memfd, 0, half));
	EXPECT_EQ(0, memfd_zero(self->memfd, half, half));
	EXPECT_EQ(-EBUSY, seal_write(self->memfd));

	/* All of them: the file holds none of the buffer's pages. */
	ASSERT_EQ(0, punch(self->memfd, half, half));
	EXPECT_EQ(1, memfd_zero(self->memfd, 0, size));
	EXPECT_EQ(0, seal_write(self->memfd));

	/* The buffer kept the old pages and data. */
	EXPECT_EQ(-1, ub_check(self->bmap, size, 5));
	munmap(self->bmap, size);
	self->bmap = MAP_FAILED;
	close(self->buf);
	self->buf = -1;
	/* Still sealed after the buffer is gone; the file unchanged. */
	EXPECT_EQ(F_SEAL_SHRINK | F_SEAL_WRITE,
		  fcntl(self->memfd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_WRITE));
	EXPECT_EQ(1, memfd_zero(self->memfd, 0, size));
}

TEST_HARNESS_MAIN
