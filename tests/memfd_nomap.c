// SPDX-License-Identifier: GPL-2.0-only
/*
 * The upstream ABI maps nothing into the caller (issue 12, point 5).
 *
 * UDMABUF_CREATE and UDMABUF_CREATE_LIST take a memfd's pages, filling
 * holes and reading swapped-out pages back, without mapping the memfd into
 * the caller, as upstream udmabuf does. So the caller's mmap policy cannot
 * change the result: QEMU with -overcommit mem-lock=on calls mlockall() and
 * then creates buffers of guest memory that has holes.
 *
 * Each case runs, as an unprivileged user (uid 65534, no capabilities), in
 * a child that cannot map anything more, under one of (the variants):
 * - mlock: mlockall(MCL_CURRENT | MCL_FUTURE) with RLIMIT_MEMLOCK just
 *   above what is locked (a new mapping: EAGAIN);
 * - rlimit_as: RLIMIT_AS at the current size (ENOMEM);
 * - max_map_count: vm.max_map_count one below the current number of
 *   mappings, since mmap() only fails once the count is above the limit
 *   (ENOMEM);
 * on /dev/udmabuf (on 6.1 the module's drop-in; on 6.12 the kernel's own
 * udmabuf, checked as the reference) and /dev/udmabuf-ext. A control
 * mmap() in the child must fail as stated, so that each variant can fail.
 * The child creates a buffer of the whole memfd and a list of three of its
 * ranges; both must succeed and /proc/self/maps must read the same before
 * and after. The buffers are passed to the test (SCM_RIGHTS), which checks
 * through their mmap that holes read as zeros, written and swapped pages as
 * written, and that a later write to the memfd shows through both buffers
 * (they hold the file's pages).
 *
 * Memfds: shmem with holes; shmem whose pages were fallocate()d and never
 * written; shmem whose pages were swapped out (to a zram swap device this
 * test sets up, skipped with the reason where there is none); hugetlb with
 * a hole (a writable fd: filled); and, on /dev/udmabuf-ext, a hugetlb hole
 * through a read-only fd with UDMABUF_EXT_FLAGS_READ_ONLY: before 6.11 a
 * hugetlbfs hole can only be filled by fallocate(), which needs a writable
 * fd, so EINVAL, as upstream 6.1 refuses every hugetlbfs hole; from 6.11
 * memfd_pin_folios() fills it: success.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <grp.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define NOBODY		65534
#define NPAGES		16
#define HSIZE		(2 * UB_HPAGE)
#define MAX_MAP_COUNT	"/proc/sys/vm/max_map_count"
#define ZRAM_CONTROL	"/sys/class/zram-control/"

enum constraint { MLOCK, RLIMIT_AS_, MAX_MAPS };
enum memfd_kind { SHMEM_HOLES, SHMEM_FALLOCATED, SHMEM_SWAPPED, HUGETLB,
		  HUGETLB_RO };

/* A memfd and what its pages should read: seed of ub_fill(), or 0. */
struct model {
	int memfd;
	size_t size;
	size_t unit;		/* page size of the memfd */
	uint32_t seed[NPAGES];	/* per unit; 0: zeros */
};

/* The child's work and results, in memory shared with it. */
struct probe {
	/* in */
	int memfd;
	uint64_t size;
	uint32_t count;
	struct udmabuf_create_item items[3];
	bool ext_read_only;	/* UDMABUF_EXT_CREATE READ_ONLY instead */
	/* out */
	int setup;		/* 0 or -errno of the child's setup */
	char setup_what[64];
	int err[2];		/* CREATE (or EXT_CREATE), CREATE_LIST */
	int control;		/* -errno of a control mmap() */
	bool maps_same;
	uint64_t caps;		/* effective capabilities */
	long figure[2];		/* the constraint: in use, limit */
};

/* /proc/self/maps before and after, and a parsing buffer (no malloc). */
static char maps_before[65536], maps_after[65536], status_buf[8192];

/* Read @path into @buf: its length, or -errno. Nothing is mapped. */
static ssize_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1 &&
	       (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

/* A "Name:  N kB" figure of /proc/self/status, in bytes, or -1. */
static long status_bytes(const char *name)
{
	char *p;

	if (slurp("/proc/self/status", status_buf, sizeof(status_buf)) < 0)
		return -1;
	p = strstr(status_buf, name);
	return p ? strtol(p + strlen(name), NULL, 10) * 1024 : -1;
}

/* Mappings of the process: VMAs, not counting the vsyscall page. */
static long map_count(void)
{
	long n = 0;
	char *p;

	if (slurp("/proc/self/maps", status_buf, sizeof(status_buf)) < 0)
		return -1;
	for (p = status_buf; *p; p++)
		n += *p == '\n';
	return n - (strstr(status_buf, "[vsyscall]") != NULL);
}

/* Grow the stack now, so that it need not grow under the constraint. */
static __attribute__((noinline)) void grow_stack(void)
{
	volatile char big[256 << 10];

	memset((char *)big, 1, sizeof(big));
}

static int fail(struct probe *p, const char *what)
{
	p->setup = -errno;
	snprintf(p->setup_what, sizeof(p->setup_what), "%s", what);
	return p->setup;
}

/* Become uid/gid 65534 without capabilities; apply @c. 0 or -errno. */
static int constrain(struct probe *p, enum constraint c)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char val[32];
	int fd;

	grow_stack();
	/* Root-only steps first. */
	if (c == MLOCK && setrlimit(RLIMIT_MEMLOCK, &rl))
		return fail(p, "setrlimit(RLIMIT_MEMLOCK, infinity)");
	if (c == MAX_MAPS) {
		p->figure[0] = map_count();
		p->figure[1] = p->figure[0] - 1;
		snprintf(val, sizeof(val), "%ld\n", p->figure[1]);
		fd = open(MAX_MAP_COUNT, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
			return fail(p, "write " MAX_MAP_COUNT);
		close(fd);
	}
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return fail(p, "becoming uid 65534");
	if (syscall(SYS_capget, &h, d))
		return fail(p, "capget");
	p->caps = d[0].effective | (uint64_t)d[1].effective << 32;

	switch (c) {
	case MLOCK:
		if (mlockall(MCL_CURRENT | MCL_FUTURE))
			return fail(p, "mlockall");
		p->figure[0] = status_bytes("VmLck:");
		rl.rlim_cur = p->figure[0] + UB_PAGE / 2;
		p->figure[1] = rl.rlim_cur;
		if (p->figure[0] < 0 || setrlimit(RLIMIT_MEMLOCK, &rl))
			return fail(p, "setrlimit(RLIMIT_MEMLOCK)");
		break;
	case RLIMIT_AS_:
		p->figure[0] = p->figure[1] = status_bytes("VmSize:");
		rl.rlim_cur = p->figure[0];
		if (p->figure[0] < 0 || setrlimit(RLIMIT_AS, &rl))
			return fail(p, "setrlimit(RLIMIT_AS)");
		break;
	case MAX_MAPS:
		break;
	}
	return 0;
}

/* The child: constrain, create, report, pass the buffers on; no return. */
static void probe_child(int dev, enum constraint c, struct probe *p, int sock)
{
	static struct {
		struct udmabuf_create_list l;
		struct udmabuf_create_item items[3];
	} list;
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = p->memfd,
		.size = p->size,
	};
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	int fds[2], n = 0, i;
	void *m;

	if (constrain(p, c))
		_exit(1);
	if (slurp("/proc/self/maps", maps_before, sizeof(maps_before)) < 0)
		_exit(fail(p, "reading /proc/self/maps"));

	if (p->ext_read_only)
		fds[0] = ub_ext_create(dev, &it, 1, UDMABUF_EXT_MODE_PIN,
				       UDMABUF_EXT_FLAGS_READ_ONLY, NULL);
	else
		fds[0] = ub_create_memfd(dev, p->memfd, 0, p->size, 0);
	fds[1] = -EINVAL;
	if (p->count) {
		list.l.count = p->count;
		memcpy(list.items, p->items, sizeof(list.items));
		fds[1] = ioctl(dev, UDMABUF_CREATE_LIST, &list);
		if (fds[1] < 0)
			fds[1] = -errno;
	}

	slurp("/proc/self/maps", maps_after, sizeof(maps_after));
	p->maps_same = !strcmp(maps_before, maps_after);
	/* The control: the constraint does refuse a new mapping. */
	m = mmap(NULL, UB_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->control = m == MAP_FAILED ? -errno : 0;

	for (i = 0; i < 2; i++) {
		p->err[i] = fds[i] < 0 ? fds[i] : 0;
		if (fds[i] >= 0)
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)) + n++ * sizeof(int),
			       &fds[i], sizeof(int));
	}
	if (n) {
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(n * sizeof(int));
	} else {
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
	}
	_exit(sendmsg(sock, &msg, 0) == 1 ? 0 : 2);
}

/* Kernel release below @major.@minor? */
static bool kernel_below(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma < major || (ma == major && mi < minor);
}

/* --- swap ----------------------------------------------------------------- */

/*
 * A zram swap device for the test, unless swap is on already: its zram
 * number, -2 if swap was on, or -errno with the reason in @why.
 */
static int swap_setup(char *why, size_t len)
{
	char path[128], dev[32], num[16];
	int n, ret;

	if (slurp("/proc/swaps", status_buf, sizeof(status_buf)) > 0 &&
	    strchr(status_buf, '\n') != strrchr(status_buf, '\n'))
		return -2;	/* a header line and a device */
	if (system("modprobe zram >/dev/null 2>&1") ||
	    slurp(ZRAM_CONTROL "hot_add", num, sizeof(num)) <= 0) {
		snprintf(why, len, "no swap and no zram to make one (modprobe zram)");
		return -ENODEV;
	}
	n = atoi(num);
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", n);
	snprintf(dev, sizeof(dev), "/dev/zram%d", n);
	ret = ub_write_str(path, "64M");
	if (!ret) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "mkswap %s >/dev/null 2>&1", dev);
		ret = system(cmd) ? -EIO : 0;
	}
	if (!ret && swapon(dev, 0))
		ret = -errno;
	if (ret) {
		snprintf(why, len, "cannot make %s a swap device: %s", dev,
			 strerror(-ret));
		snprintf(num, sizeof(num), "%d", n);
		ub_write_str(ZRAM_CONTROL "hot_remove", num);
		return ret;
	}
	return n;
}

static void swap_teardown(int n)
{
	char dev[32], num[16];

	if (n < 0)
		return;
	snprintf(dev, sizeof(dev), "/dev/zram%d", n);
	swapoff(dev);
	snprintf(num, sizeof(num), "%d", n);
	ub_write_str(ZRAM_CONTROL "hot_remove", num);
}

/*
 * Push the memfd's pages out to swap (MADV_PAGEOUT on a mapping of them):
 * the number still resident afterwards, or -errno.
 */
static long swap_out(int memfd, size_t size)
{
	unsigned char vec[NPAGES];
	long left = 0;
	size_t i;
	int tries;
	void *m;

	for (tries = 0; tries < 5; tries++) {
		m = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE,
			 memfd, 0);
		if (m == MAP_FAILED)
			return -errno;
		madvise(m, size, MADV_PAGEOUT);
		munmap(m, size);
		/* A fresh mapping: mincore() asks the page cache. */
		m = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, 0);
		if (m == MAP_FAILED)
			return -errno;
		if (mincore(m, size, vec))
			left = -errno;
		munmap(m, size);
		if (left < 0)
			return left;
		for (i = left = 0; i < size / UB_PAGE; i++)
			left += vec[i] & 1;
		if (!left)
			break;
	}
	return left;
}

/* --- the fixture ---------------------------------------------------------- */

FIXTURE(nomap) {
	int dev;
	struct model md;
	struct probe *p;
	int buf[2];
	int zram;
	long saved_max_maps;
};

FIXTURE_VARIANT(nomap) {
	const char *dev;
	enum constraint c;
};

FIXTURE_VARIANT_ADD(nomap, dropin_mlock) { UB_DROPIN_DEV, MLOCK };
FIXTURE_VARIANT_ADD(nomap, dropin_rlimit_as) { UB_DROPIN_DEV, RLIMIT_AS_ };
FIXTURE_VARIANT_ADD(nomap, dropin_max_map_count) { UB_DROPIN_DEV, MAX_MAPS };
FIXTURE_VARIANT_ADD(nomap, ext_mlock) { UB_DEV, MLOCK };
FIXTURE_VARIANT_ADD(nomap, ext_rlimit_as) { UB_DEV, RLIMIT_AS_ };
FIXTURE_VARIANT_ADD(nomap, ext_max_map_count) { UB_DEV, MAX_MAPS };

FIXTURE_SETUP(nomap)
{
	int ret;

	self->md.memfd = self->buf[0] = self->buf[1] = -1;
	self->zram = -1;
	self->saved_max_maps = -1;
	self->p = mmap(NULL, sizeof(*self->p), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	self->dev = open(variant->dev, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, "%s: %s", variant->dev, strerror(errno));
	if (!strcmp(variant->dev, UB_DEV))
		return;
	ret = ub_dropin_is_kernels(self->dev);
	ASSERT_LE(0, ret);
	if (ret)
		ksft_print_msg("%s is the kernel's own udmabuf: checked as the reference\n",
			       variant->dev);
}

FIXTURE_TEARDOWN(nomap)
{
	char val[32];
	int i;

	for (i = 0; i < 2; i++)
		if (self->buf[i] >= 0)
			close(self->buf[i]);
	if (self->md.memfd >= 0)
		close(self->md.memfd);
	if (self->saved_max_maps > 0) {
		snprintf(val, sizeof(val), "%ld\n", self->saved_max_maps);
		ub_write_str(MAX_MAP_COUNT, val);
	}
	swap_teardown(self->zram);
	if (self->dev >= 0)
		close(self->dev);
	munmap(self->p, sizeof(*self->p));
}

/*
 * Make the memfd of @kind in self->md: 0, or 1 with a skip reason in @why.
 * Nothing of it stays mapped: the child must not inherit a mapping.
 */
static int make_memfd(FIXTURE_DATA(nomap) *self, enum memfd_kind kind,
		      char *why, size_t len)
{
	struct model *md = &self->md;
	bool huge = kind == HUGETLB || kind == HUGETLB_RO;
	uint8_t page[UB_PAGE];
	size_t i;
	void *m;
	long left;

	md->unit = huge ? UB_HPAGE : UB_PAGE;
	md->size = huge ? HSIZE : NPAGES * UB_PAGE;
	md->memfd = ub_memfd(md->size, F_SEAL_SHRINK, huge);
	if (md->memfd < 0) {
		snprintf(why, len, "memfd of %zu bytes%s: %s", md->size,
			 huge ? " (hugetlb; boot with hugepages=)" : "",
			 strerror(-md->memfd));
		return huge ? 1 : md->memfd;
	}
	switch (kind) {
	case SHMEM_HOLES:
		md->seed[0] = 1;
		md->seed[5] = 6;
		md->seed[9] = 10;
		break;
	case SHMEM_FALLOCATED:
		if (fallocate(md->memfd, 0, 0, md->size))
			return -errno;
		md->seed[5] = 6;
		break;
	case SHMEM_SWAPPED:
		for (i = 0; i < NPAGES; i++)
			md->seed[i] = i + 1;
		break;
	case HUGETLB:
	case HUGETLB_RO:
		/* hugetlbfs has no write(): through a mapping. */
		m = mmap(NULL, UB_HPAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 md->memfd, 0);
		if (m == MAP_FAILED) {
			snprintf(why, len, "no free 2 MiB huge page: %s",
				 strerror(errno));
			return 1;
		}
		ub_fill(m, UB_HPAGE, 1);
		munmap(m, UB_HPAGE);
		md->seed[0] = 1;
		return 0;
	}
	for (i = 0; i < NPAGES; i++) {
		if (!md->seed[i])
			continue;
		ub_fill(page, UB_PAGE, md->seed[i]);
		if (pwrite(md->memfd, page, UB_PAGE, i * UB_PAGE) != UB_PAGE)
			return -errno;
	}
	if (kind != SHMEM_SWAPPED)
		return 0;
	self->zram = swap_setup(why, len);
	if (self->zram < -2)
		return 1;
	left = swap_out(md->memfd, md->size);
	if (left < 0)
		return left;
	if (left) {
		snprintf(why, len, "%ld of %d pages stayed resident after MADV_PAGEOUT",
			 left, NPAGES);
		return 1;
	}
	ksft_print_msg("%d pages swapped out\n", NPAGES);
	return 0;
}

/*
 * Does the buffer @fd hold, unit by unit, the model's units @idx[0..@n)?
 * The first unit that differs, or -1.
 */
static int check_buffer(const struct model *md, int fd, const size_t *idx,
			size_t n)
{
	uint8_t *m = mmap(NULL, n * md->unit, PROT_READ, MAP_SHARED, fd, 0);
	int bad = -1;
	size_t i, k;

	if (m == MAP_FAILED)
		return -2;
	for (i = 0; i < n && bad < 0; i++) {
		const uint8_t *u = m + i * md->unit;
		uint32_t seed = md->seed[idx[i]];

		if (seed && ub_check(u, md->unit, seed) >= 0)
			bad = i;
		for (k = 0; !seed && k < md->unit && bad < 0; k++)
			if (u[k])
				bad = i;
	}
	munmap(m, n * md->unit);
	return bad;
}

/* Write a new pattern into unit @i of the memfd. */
static int rewrite(struct model *md, size_t i, uint32_t seed)
{
	uint8_t page[UB_PAGE];
	void *m;

	md->seed[i] = seed;
	if (md->unit == UB_PAGE) {
		ub_fill(page, UB_PAGE, seed);
		return pwrite(md->memfd, page, UB_PAGE, i * UB_PAGE) == UB_PAGE ?
		       0 : -errno;
	}
	m = mmap(NULL, md->unit, PROT_READ | PROT_WRITE, MAP_SHARED, md->memfd,
		 i * md->unit);
	if (m == MAP_FAILED)
		return -errno;
	ub_fill(m, md->unit, seed);
	munmap(m, md->unit);
	return 0;
}

/* Run the child on the memfd; receive its buffers into self->buf. */
static void run_probe(struct __test_metadata *_metadata,
		      FIXTURE_DATA(nomap) *self,
		      const FIXTURE_VARIANT(nomap) *variant, int memfd)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte, val[32];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct probe *p = self->p;
	int sv[2], status, n, i, k = 0;
	struct cmsghdr *c;
	pid_t pid;

	p->memfd = memfd;
	if (variant->c == MAX_MAPS) {
		ASSERT_LT(0, slurp(MAX_MAP_COUNT, val, sizeof(val)));
		self->saved_max_maps = atol(val);
	}
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sv[0]);
		probe_child(self->dev, variant->c, p, sv[1]);
	}
	close(sv[1]);
	n = recvmsg(sv[0], &msg, 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(sv[0]);
	if (self->saved_max_maps > 0) {
		snprintf(val, sizeof(val), "%ld\n", self->saved_max_maps);
		ASSERT_EQ(0, ub_write_str(MAX_MAP_COUNT, val));
		self->saved_max_maps = -1;
	}
	ASSERT_EQ(0, p->setup) TH_LOG("child: %s: %s", p->setup_what,
				      strerror(-p->setup));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_EQ(1, n);
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		int nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (i = 0; i < 2 && k < nfd; i++)
			if (!p->err[i])
				memcpy(&self->buf[i], CMSG_DATA(c) + k++ * sizeof(int),
				       sizeof(int));
	}
	ksft_print_msg("uid %u, capabilities %#llx; %s %ld, limit %ld\n",
		       NOBODY, (unsigned long long)p->caps,
		       variant->c == MLOCK ? "VmLck" : variant->c == RLIMIT_AS_ ?
		       "VmSize" : "mappings", p->figure[0], p->figure[1]);
	EXPECT_EQ(0, p->caps);
	/* The constraint is real: a new mapping fails. */
	EXPECT_EQ(variant->c == MLOCK ? -EAGAIN : -ENOMEM, p->control)
		TH_LOG("the child could still map memory: the case proves nothing");
}

/*
 * A case: a buffer of the whole memfd (UDMABUF_CREATE, or UDMABUF_EXT_CREATE
 * with READ_ONLY for HUGETLB_RO) and, but for HUGETLB_RO, a list of ranges
 * (UDMABUF_CREATE_LIST): shmem pages 2-4, 9 and 12-15; hugetlb's hole, then
 * its first page. Both must succeed unless @want says otherwise, and hold
 * what the memfd reads; then unit @hole (a hole, fallocate()d or swapped
 * out before, in both buffers) is rewritten and must show in both.
 */
static void run_case(struct __test_metadata *_metadata,
		     FIXTURE_DATA(nomap) *self,
		     const FIXTURE_VARIANT(nomap) *variant,
		     enum memfd_kind kind, int want, size_t hole)
{
	static const size_t shmem_list[] = { 2, 3, 4, 9, 12, 13, 14, 15 };
	static const size_t huge_list[] = { 1, 0 };
	bool huge = kind == HUGETLB || kind == HUGETLB_RO;
	const size_t *list = huge ? huge_list : shmem_list;
	size_t all[NPAGES], nlist = huge ? 2 : 8, nall, i;
	struct model *md = &self->md;
	struct probe *p = self->p;
	char why[256];
	int ret;

	UB_RETURN_IF_SKIPPED();
	ret = make_memfd(self, kind, why, sizeof(why));
	if (ret == 1)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, ret) TH_LOG("memfd: %s", strerror(-ret));
	nall = md->size / md->unit;
	for (i = 0; i < nall; i++)
		all[i] = i;
	p->size = md->size;
	p->ext_read_only = kind == HUGETLB_RO;
	p->count = 0;
	/* Each item: a run of consecutive units of the list. */
	for (i = 0; kind != HUGETLB_RO && i < nlist; i++) {
		if (i && list[i] == list[i - 1] + 1) {
			p->items[p->count - 1].size += md->unit;
			continue;
		}
		p->items[p->count++] = (struct udmabuf_create_item){
			.memfd = md->memfd, .offset = list[i] * md->unit,
			.size = md->unit,
		};
	}
	if (kind == HUGETLB_RO) {
		/* The same file, opened read-only. */
		char path[64];
		int ro;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", md->memfd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, ro);
		run_probe(_metadata, self, variant, ro);
		close(ro);
	} else {
		run_probe(_metadata, self, variant, md->memfd);
	}
	EXPECT_EQ(want, p->err[0]) TH_LOG("create of the whole memfd: %s",
					  strerror(-p->err[0]));
	if (p->count)
		EXPECT_EQ(0, p->err[1]) TH_LOG("UDMABUF_CREATE_LIST: %s",
					       strerror(-p->err[1]));
	EXPECT_TRUE(p->maps_same) TH_LOG("/proc/self/maps changed:\n%s---\n%s",
					 maps_before, maps_after);
	if (want)
		return;
	ASSERT_LE(0, self->buf[0]);
	EXPECT_EQ(-1, check_buffer(md, self->buf[0], all, nall));
	if (p->count) {
		ASSERT_LE(0, self->buf[1]);
		EXPECT_EQ(-1, check_buffer(md, self->buf[1], list, nlist));
	}
	/* The buffers hold the file's pages: a later write shows. */
	ASSERT_EQ(0, rewrite(md, hole, 99));
	EXPECT_EQ(-1, check_buffer(md, self->buf[0], all, nall))
		TH_LOG("a write to the memfd does not show in the buffer");
	if (p->count)
		EXPECT_EQ(-1, check_buffer(md, self->buf[1], list, nlist))
			TH_LOG("a write to the memfd does not show in the list's buffer");
}

TEST_F(nomap, shmem_holes)
{
	run_case(_metadata, self, variant, SHMEM_HOLES, 0, 3);
}

TEST_F(nomap, shmem_fallocated)
{
	run_case(_metadata, self, variant, SHMEM_FALLOCATED, 0, 3);
}

TEST_F(nomap, shmem_swapped)
{
	run_case(_metadata, self, variant, SHMEM_SWAPPED, 0, 3);
}

TEST_F(nomap, hugetlb_hole)
{
	run_case(_metadata, self, variant, HUGETLB, 0, 1);
}

TEST_F(nomap, hugetlb_hole_read_only_fd)
{
	bool fill = !kernel_below(6, 11);

	UB_RETURN_IF_SKIPPED();
	if (strcmp(variant->dev, UB_DEV))
		SKIP(return, "the upstream ABI has no read-only buffers");
	/*
	 * A READ_ONLY buffer needs the extended ABI, which charges every page
	 * to RLIMIT_MEMLOCK (docs/security.md): under the mlock constraint
	 * less than a page of it is left, and the charge refuses the create
	 * before any page is looked at. Nothing is mapped either way.
	 */
	if (variant->c == MLOCK) {
		ksft_print_msg("RLIMIT_MEMLOCK leaves less than a page to charge: ENOMEM\n");
		run_case(_metadata, self, variant, HUGETLB_RO, -ENOMEM, 1);
		return;
	}
	ksft_print_msg("%s\n", fill ?
		       "6.11+: memfd_pin_folios() fills the hugetlbfs hole itself: success" :
		       "before 6.11 only fallocate() fills a hugetlbfs hole, and it needs a writable fd: EINVAL, as upstream 6.1 refuses any hugetlbfs hole");
	run_case(_metadata, self, variant, HUGETLB_RO, fill ? 0 : -EINVAL, 1);
}

TEST_HARNESS_MAIN
