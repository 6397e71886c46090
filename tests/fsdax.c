// SPDX-License-Identifier: GPL-2.0-only
/*
 * fs-dax mappings are refused (EOPNOTSUPP): their "page cache" is the
 * persistent memory itself, which a long-term pin must not hold. Even a
 * read-only pin, which a shared mapping of an ordinary file allows, fails.
 *
 * Needs a pmem device: the guest boots with memmap=SIZE!OFFSET, which makes
 * that RAM an emulated persistent memory region (/dev/pmem0). An ext4 made
 * on it is mounted with -o dax in a private mount namespace.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define PMEM		"/dev/pmem0"
#define LEN		(4 * UB_PAGE)

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX	0x00200000
#endif

static int run(const char *cmd)
{
	int status = system(cmd);

	return status == 0 ? 0 : -1;
}

FIXTURE(fsdax) {
	int dev;
	int fd;
	char dir[32];
	uint8_t *p;
};

FIXTURE_SETUP(fsdax)
{
	struct statx stx;
	char path[64];

	self->fd = -1;
	self->p = MAP_FAILED;
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	if (access(PMEM, F_OK))
		run("modprobe -q nd_e820; modprobe -q nd_pmem; sleep 1");
	if (access(PMEM, F_OK))
		SKIP(return, "no %s: boot the guest with memmap=SIZE!OFFSET", PMEM);
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, run("modprobe -q ext4 && mkfs.ext4 -q -F -b 4096 " PMEM));
	strcpy(self->dir, "/tmp/ub-dax-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, mount(PMEM, self->dir, "ext4", 0, "dax=always"))
		TH_LOG("mount -o dax: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/file", self->dir);
	self->fd = open(path, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, LEN));
	/* Really DAX, or the test proves nothing. */
	ASSERT_EQ(0, statx(self->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx));
	ASSERT_NE(0, stx.stx_attributes & STATX_ATTR_DAX);
	self->p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		       self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	ub_fill(self->p, LEN, 91);
}

FIXTURE_TEARDOWN(fsdax)
{
	if (self->p != MAP_FAILED)
		munmap(self->p, LEN);
	if (self->fd >= 0)
		close(self->fd);
	close(self->dev);
}

TEST_F(fsdax, writable_pin_is_eopnotsupp)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EOPNOTSUPP, ub_ext_create_user(self->dev, self->p, LEN,
						  UDMABUF_EXT_MODE_PIN, 0));
}

TEST_F(fsdax, read_only_pin_is_eopnotsupp)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EOPNOTSUPP, ub_ext_create_user(self->dev, self->p, LEN,
						  UDMABUF_EXT_MODE_PIN,
						  UDMABUF_EXT_FLAGS_READ_ONLY));
}

/* The VMA checks apply to every mode, COPY included. */
TEST_F(fsdax, copy_is_eopnotsupp_too)
{
	UB_RETURN_IF_SKIPPED();
	EXPECT_EQ(-EOPNOTSUPP, ub_ext_create_user(self->dev, self->p, LEN,
						  UDMABUF_EXT_MODE_COPY, 0));
}

TEST_HARNESS_MAIN
