// SPDX-License-Identifier: GPL-2.0-only
/*
 * Built with -m32: the UAPI from a 32-bit process through compat_ioctl.
 * Pointers travel in __u64 fields; every struct has the same layout for
 * i386 and x86_64 callers.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include "kselftest_harness.h"

_Static_assert(sizeof(void *) == 4, "this test must be built with -m32");
_Static_assert(sizeof(struct udmabuf_ext_create) == 56, "layout");
_Static_assert(sizeof(struct udmabuf_ext_item) == 24, "layout");
_Static_assert(sizeof(struct udmabuf_ext_info) == 112, "layout");
_Static_assert(sizeof(struct udmabuf_create) == 24, "layout");

FIXTURE(compat32) {
	int dev;
};

FIXTURE_SETUP(compat32)
{
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(compat32)
{
	close(self->dev);
}

/* A writable range: page aligned, written through the dma-buf. */
TEST_F(compat32, user_range_round_trip)
{
	size_t len = 3 * UB_PAGE;
	uint8_t *p = aligned_alloc(UB_PAGE, len), *m;
	struct udmabuf_ext_info info;
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)p, .size = len,
	};
	int fd;

	ASSERT_NE(NULL, p);
	ub_fill(p, len, 71);
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN, 0, &out);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, out.data_offset);
	EXPECT_EQ(len, out.size);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(out.size, info.size);
	EXPECT_EQ(getpid(), (pid_t)info.owner_pid);
	EXPECT_EQ(len / UB_PAGE, info.nr_charged);
	m = mmap(NULL, out.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m, len, 71));
	ub_fill(m, len, 72);
	EXPECT_EQ(-1, ub_check(p, len, 72));
	munmap(m, out.size);
	close(fd);
	free(p);
}

/* An unaligned malloc()'d range: read-only, with its data offset. */
TEST_F(compat32, unaligned_read_only_round_trip)
{
	size_t len = 3 * UB_PAGE;
	uint8_t *p = malloc(len + 100) + 20, *m;
	struct udmabuf_ext_info info;
	struct udmabuf_ext_create out = { 0 };
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)p, .size = len,
	};
	int fd;

	ub_fill(p, len, 73);
	ASSERT_NE(0, (uintptr_t)p & (UB_PAGE - 1));
	fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN,
			   UDMABUF_EXT_FLAGS_READ_ONLY, &out);
	ASSERT_LE(0, fd);
	EXPECT_EQ((uintptr_t)p & (UB_PAGE - 1), out.data_offset);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(out.size, info.size);
	EXPECT_EQ(out.data_offset, info.data_offset);
	m = mmap(NULL, out.size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, ub_check(m + out.data_offset, len, 73));
	munmap(m, out.size);
	close(fd);
	free(p - 20);
}

/* An unaligned range writable: refused, through the compat path too. */
TEST_F(compat32, unaligned_writable_is_einval)
{
	static uint8_t page[2 * UB_PAGE] __attribute__((aligned(UB_PAGE)));

	EXPECT_EQ(-EINVAL, ub_ext_create_user(self->dev, page + 16, UB_PAGE,
					      UDMABUF_EXT_MODE_PIN, 0));
}

TEST_F(compat32, upstream_abi)
{
	int memfd = ub_memfd(8 * UB_PAGE, F_SEAL_SHRINK, false);
	struct {
		struct udmabuf_create_list head;
		struct udmabuf_create_item items[2];
	} l = {
		.head.count = 2,
		.items = {
			{ .memfd = memfd, .offset = 0, .size = UB_PAGE },
			{ .memfd = memfd, .offset = 4 * UB_PAGE, .size = UB_PAGE },
		},
	};
	int fd;

	ASSERT_LE(0, memfd);
	fd = ub_create_memfd(self->dev, memfd, 0, 8 * UB_PAGE, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(8 * UB_PAGE, lseek(fd, 0, SEEK_END));
	close(fd);
	fd = ioctl(self->dev, UDMABUF_CREATE_LIST, &l);
	ASSERT_LE(0, fd);
	EXPECT_EQ(2 * UB_PAGE, lseek(fd, 0, SEEK_END));
	close(fd);
	close(memfd);
}

TEST_F(compat32, errno_survives_compat)
{
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER, .start = 4096, .size = UB_PAGE,
	};

	EXPECT_EQ(-EINVAL, ub_ext_create(self->dev, &it, 1, 9, 0, NULL));
}

TEST_HARNESS_MAIN
