// SPDX-License-Identifier: GPL-2.0-only
/*
 * libudmabuf-ext, as its users see it: this program is built against an
 * installed tree (make install DESTDIR=build/destdir) with nothing but
 * `pkg-config --cflags --libs udmabuf-ext` (plus the kselftest harness and an
 * rpath to that tree; see tests/lib.mk). Every call of the API, its -errno
 * convention, the EINTR restart, the fallback to /dev/udmabuf, and the data
 * path through the mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <udmabuf-ext-lib.h>

#include "kselftest_harness.h"

#define PAGE		4096UL
#define STATS		"/sys/class/misc/udmabuf-ext/stats/"

/*
 * ioctl() interposed: the library's calls resolve to this definition (the
 * executable comes first in symbol lookup), which fails the next
 * @eintr_budget calls with EINTR before doing the real ioctl. The library
 * must restart them.
 */
static int eintr_budget;
static int eintr_seen;

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (eintr_budget > 0) {
		eintr_budget--;
		eintr_seen++;
		errno = EINTR;
		return -1;
	}
	return (int)syscall(SYS_ioctl, fd, request, arg);
}

static long stat_counter(const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), STATS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* A sealed (F_SEAL_SHRINK) memfd of @size bytes filled with @c. */
static int sealed_memfd(size_t size, int c)
{
	int fd = memfd_create("lib_api", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		close(fd);
		return -errno;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	memset(p, c, size);
	munmap(p, size);
	return fd;
}

static int is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl >= 0 && (fl & FD_CLOEXEC);
}

FIXTURE(lib) {
	int dev;
	long buffers_before;
};

FIXTURE_SETUP(lib)
{
	self->dev = udmabuf_ext_open();
	ASSERT_LE(0, self->dev) TH_LOG("udmabuf_ext_open: %s", strerror(-self->dev));
	self->buffers_before = stat_counter("buffers");
	eintr_budget = 0;
	eintr_seen = 0;
}

FIXTURE_TEARDOWN(lib)
{
	close(self->dev);
	/* Every test closes what it made: the library leaks nothing. */
	EXPECT_EQ(self->buffers_before, stat_counter("buffers"));
}

TEST_F(lib, open_prefers_ext_node_and_is_cloexec)
{
	struct stat a, b;

	ASSERT_EQ(0, fstat(self->dev, &a));
	ASSERT_EQ(0, stat(UDMABUF_EXT_DEV_PATH, &b));
	EXPECT_EQ(b.st_rdev, a.st_rdev);
	EXPECT_TRUE(is_cloexec(self->dev));
	EXPECT_EQ(O_RDWR, fcntl(self->dev, F_GETFL) & O_ACCMODE);
}

TEST_F(lib, create_memfd_works_and_errors_are_negative_errno)
{
	int memfd = sealed_memfd(4 * PAGE, 'm');
	int fd;

	ASSERT_LE(0, memfd);
	fd = udmabuf_ext_create_memfd(self->dev, memfd, PAGE, 2 * PAGE,
				      UDMABUF_FLAGS_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_TRUE(is_cloexec(fd));
	EXPECT_EQ(2 * PAGE, (unsigned long)lseek(fd, 0, SEEK_END));
	close(fd);

	errno = 0;
	EXPECT_EQ(-EINVAL, udmabuf_ext_create_memfd(self->dev, memfd, 1, PAGE, 0));
	EXPECT_EQ(-EINVAL, udmabuf_ext_create_memfd(self->dev, memfd, 0, PAGE, 0x80));
	EXPECT_EQ(-EBADF, udmabuf_ext_create_memfd(self->dev, -1, 0, PAGE, 0));
	EXPECT_EQ(-EBADF, udmabuf_ext_create_memfd(-1, memfd, 0, PAGE, 0));
	close(memfd);
}

/* udmabuf_ext_alloc(): page-aligned whole pages that a device may write. */
TEST_F(lib, alloc_frames_share_pages)
{
	size_t n = 3 * PAGE + 100, len = 0, mlen;
	struct udmabuf_ext_create out;
	struct udmabuf_ext_info info;
	char *p, *map;
	int fd;

	p = udmabuf_ext_alloc(n, &len);
	ASSERT_NE(NULL, p) TH_LOG("udmabuf_ext_alloc: %s", strerror(errno));
	EXPECT_EQ(0, (uintptr_t)p % PAGE);
	EXPECT_EQ(4 * PAGE, len);
	memset(p, 'a', len);
	memset(&out, 0xff, sizeof(out));
	fd = udmabuf_ext_create_user(self->dev, p, len, UDMABUF_EXT_MODE_PIN,
				     UDMABUF_EXT_FLAGS_CLOEXEC, &out);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_EQ((uint32_t)fd, out.fd);
	EXPECT_EQ(0, out.data_offset);
	EXPECT_EQ(len, out.size);
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, out.mode);
	EXPECT_TRUE(is_cloexec(fd));

	ASSERT_EQ(0, udmabuf_ext_info(self->dev, fd, &info));
	EXPECT_EQ(out.size, info.size);
	EXPECT_EQ(0, info.data_offset);
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
	EXPECT_TRUE(info.source & UDMABUF_EXT_SOURCE_USER);
	EXPECT_EQ((uint32_t)getpid(), info.owner_pid);
	EXPECT_EQ(len / PAGE, info.nr_pages);

	/* The mapping and the allocated frame are the same pages. */
	map = udmabuf_ext_map(fd, PROT_READ | PROT_WRITE, &mlen);
	ASSERT_NE(NULL, map) TH_LOG("map: %s", strerror(errno));
	EXPECT_EQ(len, mlen);
	ASSERT_EQ(0, udmabuf_ext_cpu_begin(fd, DMA_BUF_SYNC_RW));
	EXPECT_EQ('a', map[0]);
	EXPECT_EQ('a', map[len - 1]);
	map[5] = 'Z';
	map[len - 1] = 'Y';
	ASSERT_EQ(0, udmabuf_ext_cpu_end(fd, DMA_BUF_SYNC_RW));
	EXPECT_EQ('Z', p[5]);
	EXPECT_EQ('Y', p[len - 1]);
	EXPECT_EQ(0, udmabuf_ext_unmap(map, mlen));
	close(fd);
	free(p);

	/* len_out may be NULL; a zero size is EINVAL. */
	p = udmabuf_ext_alloc(1, NULL);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % PAGE);
	free(p);
	errno = 0;
	EXPECT_EQ(NULL, udmabuf_ext_alloc(0, &len));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, udmabuf_ext_alloc(SIZE_MAX - 10, &len));
	EXPECT_EQ(ENOMEM, errno);
}

/*
 * Plain malloc() memory, not page aligned: devices may not write it (the
 * pages hold malloc's own bytes), but they may read it, and a copy may be
 * made of it.
 */
TEST_F(lib, create_user_unaligned_malloc)
{
	size_t n = 3 * PAGE + 100, len;
	struct udmabuf_ext_create out;
	struct udmabuf_ext_info info;
	char *src = malloc(n + 64), *p = src + 17, *map;
	int fd;

	ASSERT_NE(NULL, src);
	memset(p, 'a', n);
	EXPECT_EQ(-EINVAL, udmabuf_ext_create_user(self->dev, p, n,
						   UDMABUF_EXT_MODE_PIN, 0, NULL));

	memset(&out, 0xff, sizeof(out));
	fd = udmabuf_ext_create_user(self->dev, p, n, UDMABUF_EXT_MODE_PIN,
				     UDMABUF_EXT_FLAGS_READ_ONLY |
				     UDMABUF_EXT_FLAGS_CLOEXEC, &out);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_EQ((uint32_t)fd, out.fd);
	EXPECT_EQ((uintptr_t)p % PAGE, out.data_offset);
	EXPECT_EQ(0, out.size % PAGE);
	EXPECT_LE(n + out.data_offset, out.size);
	EXPECT_TRUE(is_cloexec(fd));
	ASSERT_EQ(0, udmabuf_ext_info(self->dev, fd, &info));
	EXPECT_EQ(out.size, info.size);
	EXPECT_EQ(out.data_offset, info.data_offset);
	EXPECT_EQ(UDMABUF_EXT_MODE_PIN, info.mode);
	EXPECT_TRUE(info.buf_flags & UDMABUF_EXT_INFO_READ_ONLY);
	EXPECT_EQ(info.size / PAGE, info.nr_pages);

	/* The read-only mapping and the malloc'd range are the same pages. */
	map = udmabuf_ext_map(fd, PROT_READ, &len);
	ASSERT_NE(NULL, map) TH_LOG("map: %s", strerror(errno));
	EXPECT_EQ(out.size, len);
	p[5] = 'Z';
	ASSERT_EQ(0, udmabuf_ext_cpu_begin(fd, DMA_BUF_SYNC_READ));
	EXPECT_EQ('a', map[out.data_offset]);
	EXPECT_EQ('a', map[out.data_offset + n - 1]);
	EXPECT_EQ('Z', map[out.data_offset + 5]);
	ASSERT_EQ(0, udmabuf_ext_cpu_end(fd, DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, udmabuf_ext_unmap(map, len));
	close(fd);

	/* A copy (out may be NULL), and AUTO copies a writable unaligned range. */
	fd = udmabuf_ext_create_user(self->dev, p, n, UDMABUF_EXT_MODE_COPY, 0, NULL);
	ASSERT_LE(0, fd);
	EXPECT_FALSE(is_cloexec(fd));
	ASSERT_EQ(0, udmabuf_ext_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_COPY, info.mode);
	EXPECT_EQ((uintptr_t)p % PAGE, info.data_offset);
	close(fd);
	fd = udmabuf_ext_create_user(self->dev, p, n, UDMABUF_EXT_MODE_AUTO, 0, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, udmabuf_ext_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_MODE_COPY, info.mode);
	close(fd);
	free(src);
}

TEST_F(lib, create_user_errors)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct udmabuf_ext_create out = { .fd = 12345 };

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, udmabuf_ext_create_user(self->dev, p, PAGE, 99, 0, NULL));
	EXPECT_EQ(-EINVAL, udmabuf_ext_create_user(self->dev, p, PAGE, 0, 0x80, &out));
	EXPECT_EQ(12345, out.fd);	/* untouched on failure */
	EXPECT_EQ(-EINVAL, udmabuf_ext_create_user(self->dev, p, 0, 0, 0, NULL));
	/* A hole. */
	ASSERT_EQ(0, munmap(p + PAGE, PAGE));
	EXPECT_EQ(-EFAULT, udmabuf_ext_create_user(self->dev, p, 2 * PAGE, 0, 0, NULL));
	/* Read-only memory, writable pin. */
	ASSERT_EQ(0, mprotect(p, PAGE, PROT_READ));
	EXPECT_EQ(-EACCES, udmabuf_ext_create_user(self->dev, p, PAGE, 0, 0, NULL));
	munmap(p, PAGE);
}

TEST_F(lib, create_list_mixes_user_and_memfd)
{
	char *anon = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int memfd = sealed_memfd(3 * PAGE, 'm');
	struct udmabuf_ext_item items[2] = {
		{ .kind = UDMABUF_EXT_ITEM_USER, .size = 2 * PAGE },
		{ .kind = UDMABUF_EXT_ITEM_MEMFD, .start = PAGE, .size = 2 * PAGE },
	};
	struct udmabuf_ext_create out;
	struct udmabuf_ext_info info;
	size_t len;
	char *map;
	int fd;

	ASSERT_NE(MAP_FAILED, anon);
	ASSERT_LE(0, memfd);
	memset(anon, 'u', 2 * PAGE);
	items[0].start = (uintptr_t)anon;
	items[1].memfd = memfd;
	fd = udmabuf_ext_create_list(self->dev, items, 2, UDMABUF_EXT_MODE_PIN,
				     UDMABUF_EXT_FLAGS_CLOEXEC, &out);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_EQ(4 * PAGE, out.size);
	ASSERT_EQ(0, udmabuf_ext_info(self->dev, fd, &info));
	EXPECT_EQ(UDMABUF_EXT_SOURCE_USER | UDMABUF_EXT_SOURCE_MEMFD,
		  info.source & (UDMABUF_EXT_SOURCE_USER | UDMABUF_EXT_SOURCE_MEMFD));

	map = udmabuf_ext_map(fd, PROT_READ, &len);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, udmabuf_ext_cpu_begin(fd, DMA_BUF_SYNC_READ));
	EXPECT_EQ('u', map[0]);
	EXPECT_EQ('u', map[2 * PAGE - 1]);
	EXPECT_EQ('m', map[2 * PAGE]);
	EXPECT_EQ('m', map[4 * PAGE - 1]);
	ASSERT_EQ(0, udmabuf_ext_cpu_end(fd, DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, udmabuf_ext_unmap(map, len));
	close(fd);

	EXPECT_EQ(-EINVAL, udmabuf_ext_create_list(self->dev, items, 0, 0, 0, NULL));
	EXPECT_EQ(-EFAULT, udmabuf_ext_create_list(self->dev, NULL, 1, 0, 0, NULL));
	close(memfd);
	munmap(anon, 2 * PAGE);
}

TEST_F(lib, info_errors)
{
	struct udmabuf_ext_info info;
	int memfd = sealed_memfd(PAGE, 0);

	ASSERT_LE(0, memfd);
	EXPECT_EQ(-EINVAL, udmabuf_ext_info(self->dev, memfd, &info));
	EXPECT_EQ(-EBADF, udmabuf_ext_info(self->dev, -1, &info));
	EXPECT_EQ(-EBADF, udmabuf_ext_info(self->dev, 1000000, &info));
	EXPECT_EQ(-EFAULT, udmabuf_ext_info(self->dev, memfd, NULL));
	close(memfd);
}

TEST_F(lib, read_only_buffer_refuses_writable_map)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t len = 0;
	void *map;
	int fd;

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'r';
	fd = udmabuf_ext_create_user(self->dev, p, PAGE, UDMABUF_EXT_MODE_PIN,
				     UDMABUF_EXT_FLAGS_READ_ONLY, NULL);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(NULL, udmabuf_ext_map(fd, PROT_READ | PROT_WRITE, &len));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, len);	/* untouched on failure */
	map = udmabuf_ext_map(fd, PROT_READ, NULL);
	ASSERT_NE(NULL, map);
	EXPECT_EQ('r', *(char *)map);
	EXPECT_EQ(0, udmabuf_ext_unmap(map, PAGE));
	close(fd);
	munmap(p, PAGE);
}

TEST_F(lib, cpu_sync_flags_and_errors)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd, memfd = sealed_memfd(PAGE, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_LE(0, memfd);
	fd = udmabuf_ext_create_user(self->dev, p, PAGE, 0, 0, NULL);
	ASSERT_LE(0, fd);
	/* 0 means RW; END in the flags of begin is ignored. */
	EXPECT_EQ(0, udmabuf_ext_cpu_begin(fd, 0));
	EXPECT_EQ(0, udmabuf_ext_cpu_end(fd, 0));
	EXPECT_EQ(0, udmabuf_ext_cpu_begin(fd, DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END));
	EXPECT_EQ(0, udmabuf_ext_cpu_end(fd, DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(-EINVAL, udmabuf_ext_cpu_begin(fd, 0x100));
	EXPECT_EQ(-ENOTTY, udmabuf_ext_cpu_begin(memfd, DMA_BUF_SYNC_RW));
	EXPECT_EQ(-EBADF, udmabuf_ext_cpu_end(-1, DMA_BUF_SYNC_RW));
	close(fd);
	close(memfd);
	munmap(p, PAGE);
}

TEST_F(lib, map_and_unmap_errors)
{
	errno = 0;
	EXPECT_EQ(NULL, udmabuf_ext_map(-1, PROT_READ, NULL));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-EINVAL, udmabuf_ext_unmap((void *)1, PAGE));
}

TEST_F(lib, eintr_is_restarted)
{
	struct udmabuf_ext_info info;
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd, memfd = sealed_memfd(PAGE, 0), fd2;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_LE(0, memfd);
	eintr_budget = 3;
	fd = udmabuf_ext_create_user(self->dev, p, PAGE, 0, 0, NULL);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	EXPECT_EQ(3, eintr_seen);
	eintr_budget = 2;
	EXPECT_EQ(0, udmabuf_ext_info(self->dev, fd, &info));
	eintr_budget = 2;
	EXPECT_EQ(0, udmabuf_ext_cpu_begin(fd, 0));
	eintr_budget = 2;
	EXPECT_EQ(0, udmabuf_ext_cpu_end(fd, 0));
	eintr_budget = 2;
	fd2 = udmabuf_ext_create_memfd(self->dev, memfd, 0, PAGE, 0);
	EXPECT_LE(0, fd2);
	EXPECT_EQ(11, eintr_seen);
	EXPECT_EQ(0, eintr_budget);
	close(fd2);
	close(fd);
	close(memfd);
	munmap(p, PAGE);
}

/*
 * In a private mount namespace, /dev holds only what the test puts there:
 * without /dev/udmabuf-ext, udmabuf_ext_open() falls back to /dev/udmabuf,
 * where memfd creation works and the extended calls give -ENOTTY, as with a
 * kernel's own udmabuf driver.
 */
static int fallback_child(dev_t dropin)
{
	struct udmabuf_ext_info info;
	char page[PAGE] __attribute__((aligned(PAGE)));
	int dev, memfd, fd;

	if (unshare(CLONE_NEWNS) ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755"))
		return 10;
	dev = udmabuf_ext_open();
	if (dev != -ENOENT)
		return 11;
	if (mknod(UDMABUF_EXT_DROPIN_DEV_PATH, S_IFCHR | 0600, dropin))
		return 12;
	dev = udmabuf_ext_open();
	if (dev < 0)
		return 13;
	memfd = sealed_memfd(PAGE, 'd');
	fd = udmabuf_ext_create_memfd(dev, memfd, 0, PAGE, 0);
	if (fd < 0)
		return 14;
	if (udmabuf_ext_info(dev, fd, &info) != -ENOTTY)
		return 15;
	if (udmabuf_ext_create_user(dev, page, PAGE, 0, 0, NULL) != -ENOTTY)
		return 16;
	close(fd);
	close(memfd);
	close(dev);
	return 0;
}

TEST(open_falls_back_to_dropin_node)
{
	struct stat st;
	pid_t pid;
	int status;

	if (stat(UDMABUF_EXT_DROPIN_DEV_PATH, &st))
		SKIP(return, "no %s (dropin=0?)", UDMABUF_EXT_DROPIN_DEV_PATH);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fallback_child(st.st_rdev));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
