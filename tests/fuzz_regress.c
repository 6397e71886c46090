// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests for what the reliability campaign (fuzz.c, race*.c,
 * docs/security.md) found. Each test names the finding it pins down.
 *
 * 1. MOVE must not destroy the caller's memory when the call fails after
 *    the pages were taken: the range is replaced by zero-fill memory only
 *    once nothing can fail any more. Before the fix, a MOVE that failed with
 *    EMFILE (no free fd) or EFAULT (the result could not be copied out) had
 *    already vacated the range, and released the pages with the buffer: the
 *    data was gone and the call reported failure.
 * 2. The THP source bit means transparent huge pages: a private hugetlb
 *    mapping (whose pages are anonymous) must report HUGETLB, not THP.
 * 3. (checked, holds) UDMABUF_EXT_INFO's owner_pid is "0 if it is not
 *    visible": once the creator has exited, its old pid number (which the
 *    kernel may give to an unrelated process) is not reported.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define NPAGES	4

FIXTURE(regress) {
	int dev;
	uint8_t *mem;
	size_t len;
};

FIXTURE_SETUP(regress)
{
	self->len = NPAGES * UB_PAGE;
	self->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("%s: %s", UB_DEV, strerror(errno));
	self->mem = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ub_fill(self->mem, self->len, 0x5eed);
}

FIXTURE_TEARDOWN(regress)
{
	munmap(self->mem, self->len);
	close(self->dev);
}

/* A MOVE create of the whole range, with the argument at @arg. */
static int move_create(int dev, uint8_t *mem, size_t len,
		       struct udmabuf_ext_create *arg)
{
	static struct udmabuf_ext_item it;

	it = (struct udmabuf_ext_item){
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = (uintptr_t)mem, .size = len,
	};
	memset(arg, 0, sizeof(*arg));
	arg->mode = UDMABUF_EXT_MODE_MOVE;
	arg->count = 1;
	arg->items = (uintptr_t)&it;
	return ioctl(dev, UDMABUF_EXT_CREATE, arg) ? -errno : (int)arg->fd;
}

/* In a child: fill the fd table, then MOVE. Exit 0 if EMFILE and the data
 * is intact, 1 if the data is gone, 2 for another result. */
static int move_with_no_free_fd(int dev, uint8_t *mem, size_t len)
{
	struct rlimit rl = { 64, 64 };
	struct udmabuf_ext_create c;
	int ret;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 3;
	while (open("/dev/null", O_RDONLY) >= 0)
		;
	if (errno != EMFILE)
		return 3;
	ret = move_create(dev, mem, len, &c);
	if (ret >= 0)
		return 2;
	if (ret != -EMFILE) {
		fprintf(stderr, "# MOVE with no free fd: %s\n", strerror(-ret));
		return 2;
	}
	if (ub_check(mem, len, 0x5eed) >= 0) {
		fprintf(stderr, "# MOVE failed with EMFILE, and the range now reads %#x at %ld\n",
			((uint32_t *)mem)[ub_check(mem, len, 0x5eed)],
			ub_check(mem, len, 0x5eed) * 4);
		return 1;
	}
	return 0;
}

TEST_F(regress, move_failing_with_emfile_keeps_the_data)
{
	long buffers = ub_stat("buffers");
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(move_with_no_free_fd(self->dev, self->mem, self->len));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_NE(2, WEXITSTATUS(status)) TH_LOG("MOVE did not fail with EMFILE");
	EXPECT_NE(3, WEXITSTATUS(status)) TH_LOG("could not fill the fd table");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("a failed MOVE destroyed the caller's data");
	EXPECT_EQ(buffers, ub_stat("buffers"));
}

TEST_F(regress, move_failing_with_efault_keeps_the_data)
{
	static struct udmabuf_ext_item it;
	struct udmabuf_ext_create *c;
	long buffers = ub_stat("buffers");
	int ret;

	/* The argument is readable but not writable: the copy-out fails. */
	c = mmap(NULL, UB_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	it = (struct udmabuf_ext_item){
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = (uintptr_t)self->mem, .size = self->len,
	};
	*c = (struct udmabuf_ext_create){
		.mode = UDMABUF_EXT_MODE_MOVE, .count = 1,
		.items = (uintptr_t)&it,
	};
	ASSERT_EQ(0, mprotect(c, UB_PAGE, PROT_READ));
	ret = ioctl(self->dev, UDMABUF_EXT_CREATE, c) ? -errno : 0;
	EXPECT_EQ(-EFAULT, ret);
	EXPECT_EQ(-1, ub_check(self->mem, self->len, 0x5eed))
		TH_LOG("a failed MOVE (EFAULT) destroyed the caller's data");
	EXPECT_EQ(buffers, ub_stat("buffers"));
	munmap(c, UB_PAGE);
}

TEST_F(regress, private_hugetlb_is_not_thp)
{
	struct udmabuf_ext_info info;
	uint8_t *p;
	int fd;

	p = mmap(NULL, UB_HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		SKIP(return, "no free 2 MiB huge page");
	memset(p, 1, UB_HPAGE);
	fd = ub_ext_create_user(self->dev, p, UB_HPAGE, UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, fd) TH_LOG("create: %s", strerror(-fd));
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_TRUE(info.source & UDMABUF_EXT_SOURCE_HUGETLB);
	EXPECT_FALSE(info.source & UDMABUF_EXT_SOURCE_THP)
		TH_LOG("source %#x: hugetlb pages reported as THP", info.source);
	close(fd);
	munmap(p, UB_HPAGE);
}

TEST_F(regress, dead_creator_is_owner_pid_0)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct udmabuf_ext_info info;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int sv[2], fd, status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child creates a buffer, hands it over and exits. */
		fd = ub_ext_create_user(self->dev, self->mem, self->len,
					UDMABUF_EXT_MODE_PIN, 0);
		if (fd < 0)
			_exit(1);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		_exit(sendmsg(sv[1], &m, 0) == 1 ? 0 : 1);
	}
	ASSERT_EQ(1, recvmsg(sv[0], &m, 0));
	cm = CMSG_FIRSTHDR(&m);
	ASSERT_NE(NULL, cm);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ((uint32_t)pid, info.owner_pid);	/* alive (or a zombie) */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(0, info.owner_pid)
		TH_LOG("the creator %d is gone, INFO still reports pid %u", pid,
		       info.owner_pid);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

TEST_HARNESS_MAIN
