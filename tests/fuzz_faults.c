// SPDX-License-Identifier: GPL-2.0-only
/*
 * Systematic fault injection into buffer creation, import and sync.
 *
 * On a kernel with CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB,
 * CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_USERCOPY (the sanitizer
 * kernel of tools/debug-kernel; Debian's kernel has none of them, and the
 * test skips there), /proc/thread-self/fail-nth makes the n-th slab
 * allocation, page allocation or user copy of this thread fail. Each
 * scenario below runs with n = 1, 2, ... until an n is not reached any more,
 * so every fault point of the operation fails once. After each run:
 * - the operation either succeeded (a fallback coped) and its buffer is
 *   complete and correct, or failed with a documented errno;
 * - a failed MOVE left the caller's bytes where they were;
 * - no temporary memfd mapping was left in the process;
 * - the module's counters are back where they started;
 * and at the end the kernel log is free of splats (the runner's gate).
 *
 * The test runs without CAP_IPC_LOCK (and with a RLIMIT_MEMLOCK its pins
 * fit in), so that the charges are taken for real and their fault points
 * (the per-user table's allocation) fail too: CAP_IPC_LOCK is exempt from
 * both limits and would skip them.
 *
 * The injected faults are counted and printed: that count is the "faults
 * injected" figure of docs/security.md. FAULTS_ONLY=i runs scenario i
 * alone, FAULTS_VERBOSE=1 prints every run.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <sys/resource.h>
#include <sys/syscall.h>

#include "race_util.h"
#include "kselftest_harness.h"

#define PG		UB_PAGE
#define MAX_NTH		5000
#define DBG		"/sys/kernel/debug/"

/* Fail what GFP_KERNEL and user copies do, quietly: no stack dumps. */
static int inject_setup(void)
{
	static const char * const knobs[][2] = {
		{ DBG "failslab/ignore-gfp-wait", "N" },
		{ DBG "failslab/verbose", "0" },
		{ DBG "fail_page_alloc/ignore-gfp-wait", "N" },
		{ DBG "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ DBG "fail_page_alloc/min-order", "0" },
		{ DBG "fail_page_alloc/verbose", "0" },
		{ DBG "fail_usercopy/verbose", "0" },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		ret = ub_write_str(knobs[i][0], knobs[i][1]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Number of mappings of a udmabuf-test memfd in this process. */
static int memfd_mappings(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:udmabuf-test"))
			n++;
	fclose(f);
	return n;
}

/*
 * ub_check() of memory that may not be mapped any more: read through
 * /proc/self/mem. -2 if it cannot be read (the range is gone).
 */
static long safe_check(const void *p, size_t len, uint32_t seed)
{
	static uint8_t copy[64 * 4096];
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || len > sizeof(copy))
		return -2;
	n = pread(fd, copy, len, (off_t)(uintptr_t)p);
	close(fd);
	if (n != (ssize_t)len)
		return -2;
	return ub_check(copy, len, seed);
}

/* 1 if [p, p + len) is mapped and reads as zeros. */
static int reads_zero(const void *p, size_t len)
{
	static const uint8_t zero[64 * 4096];
	static uint8_t copy[64 * 4096];
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || len > sizeof(copy))
		return 0;
	n = pread(fd, copy, len, (off_t)(uintptr_t)p);
	close(fd);
	return n == (ssize_t)len && !memcmp(copy, zero, len);
}

enum scenario {
	S_PIN, S_PIN_UNTOUCHED, S_PIN_RO, S_PIN_RO_UNTOUCHED, S_COPY,
	S_COPY_LARGE, S_MOVE,
	S_MOVE_VMA,
	S_MEMFD, S_MEMFD_EXT, S_LIST, S_MIXED, S_HUGETLB, S_IMPORT, S_SYNC,
	NR_SCENARIOS
};

static const char * const names[NR_SCENARIOS] = {
	"ext PIN 16 pages", "ext PIN 16 untouched pages", "ext PIN read-only",
	"ext PIN read-only, untouched pages", "ext COPY 16 pages", "ext COPY 2 MiB", "ext MOVE 8 pages",
	"ext MOVE of a whole VMA",
	"UDMABUF_CREATE 16 pages", "ext MEMFD item", "UDMABUF_CREATE_LIST 3 items",
	"ext USER+MEMFD, unaligned read-only", "hugetlb memfd", "vgem PRIME import",
	"DMA_BUF_IOCTL_SYNC with an importer",
};

struct env {
	int dev, drm, memfd, hmemfd, maps0;
	uint8_t *anon;		/* 512 pages, filled */
	uint8_t *alone;		/* 8 pages, a VMA of their own between guards */
	size_t anon_len;
	int nth_fd;		/* /proc/thread-self/fail-nth */
	int import_drm;		/* S_IMPORT: a vgem file of its own per run */
	int syncfd;		/* for S_SYNC: a buffer imported into vgem */
	uint32_t sync_handle;
};

/*
 * Run one scenario once. Returns 0 or -errno; *fd gets a buffer to check.
 * For MOVE, *moved tells whether the range must still hold its bytes.
 */
static int run_once(struct env *e, enum scenario s, int *fd)
{
	struct udmabuf_ext_item it[2];
	uint8_t *p;
	uint32_t h;
	int ret;

	*fd = -1;
	switch (s) {
	case S_PIN:
		ret = ub_ext_create_user(e->dev, e->anon, 16 * PG, UDMABUF_EXT_MODE_PIN, 0);
		break;
	case S_PIN_UNTOUCHED:
		p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		ret = ub_ext_create_user(e->dev, p, 16 * PG, UDMABUF_EXT_MODE_PIN, 0);
		munmap(p, 16 * PG);
		break;
	case S_PIN_RO:
		ret = ub_ext_create_user(e->dev, e->anon + 100, 16 * PG,
					 UDMABUF_EXT_MODE_PIN, UDMABUF_EXT_FLAGS_READ_ONLY);
		break;
	case S_PIN_RO_UNTOUCHED:
		/* Before 6.2 the pin breaks COW: it allocates the pages. */
		p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		ret = ub_ext_create_user(e->dev, p, 16 * PG, UDMABUF_EXT_MODE_PIN,
					 UDMABUF_EXT_FLAGS_READ_ONLY);
		munmap(p, 16 * PG);
		break;
	case S_COPY:
		ret = ub_ext_create_user(e->dev, e->anon, 16 * PG, UDMABUF_EXT_MODE_COPY, 0);
		break;
	case S_COPY_LARGE:
		ret = ub_ext_create_user(e->dev, e->anon, 512 * PG, UDMABUF_EXT_MODE_COPY, 0);
		break;
	case S_MOVE:
		p = e->anon + 256 * PG;
		ub_fill(p, 8 * PG, 0x30be);
		ret = ub_ext_create_user(e->dev, p, 8 * PG, UDMABUF_EXT_MODE_MOVE, 0);
		if (ret < 0 && safe_check(p, 8 * PG, 0x30be) != -1)
			return -ESTALE;	/* failed, and the bytes are gone */
		break;
	case S_MOVE_VMA:
		/*
		 * A whole VMA that cannot merge with its neighbours: the
		 * vacate zaps its pages and keeps the VMA. If the vacate's
		 * own allocation fails, the range keeps its bytes and the
		 * buffer says so (MOVE_PARTIAL).
		 */
		ub_fill(e->alone, 8 * PG, 0x30be);
		ret = ub_ext_create_user(e->dev, e->alone, 8 * PG, UDMABUF_EXT_MODE_MOVE, 0);
		if (ret < 0 && safe_check(e->alone, 8 * PG, 0x30be) != -1)
			return -ESTALE;
		break;
	case S_MEMFD:
		ret = ub_create_memfd(e->dev, e->memfd, 0, 16 * PG, 0);
		break;
	case S_MEMFD_EXT:
		it[0] = (struct udmabuf_ext_item){
			.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = e->memfd,
			.start = 4 * PG, .size = 8 * PG,
		};
		ret = ub_ext_create(e->dev, it, 1, UDMABUF_EXT_MODE_PIN, 0, NULL);
		break;
	case S_LIST: {
		struct udmabuf_create_list *l;
		char buf[sizeof(*l) + 3 * sizeof(l->list[0])];
		int i;

		l = (void *)buf;
		l->flags = 0;
		l->count = 3;
		for (i = 0; i < 3; i++)
			l->list[i] = (struct udmabuf_create_item){
				.memfd = e->memfd, .offset = 4 * PG * i, .size = 2 * PG,
			};
		ret = ioctl(e->dev, UDMABUF_CREATE_LIST, l);
		ret = ret < 0 ? -errno : ret;
		break;
	}
	case S_MIXED:
		/* Unaligned: devices may only read it. */
		it[0] = (struct udmabuf_ext_item){
			.kind = UDMABUF_EXT_ITEM_USER,
			.start = (uintptr_t)e->anon + 16, .size = 2 * PG - 16,
		};
		it[1] = (struct udmabuf_ext_item){
			.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = e->memfd,
			.start = 0, .size = 4 * PG,
		};
		ret = ub_ext_create(e->dev, it, 2, UDMABUF_EXT_MODE_PIN,
				    UDMABUF_EXT_FLAGS_READ_ONLY, NULL);
		break;
	case S_HUGETLB:
		ret = ub_create_memfd(e->dev, e->hmemfd, 0, UB_HPAGE, 0);
		break;
	case S_IMPORT:
		ret = ub_ext_create_user(e->dev, e->anon, 16 * PG, UDMABUF_EXT_MODE_PIN, 0);
		if (ret < 0)
			return -EAGAIN;	/* not what this scenario injects into */
		*fd = ret;
		ret = ub_prime_import(e->import_drm, *fd, &h);
		if (!ret)
			ub_gem_close(e->import_drm, h);
		return ret;
	case S_SYNC:
		if (ub_sync(e->syncfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
		    ub_sync(e->syncfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
			return -errno;
		return 0;
	default:
		return -EINVAL;
	}
	if (ret >= 0)
		*fd = ret;
	return ret < 0 ? ret : 0;
}

static int set_nth(struct env *e, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(e->nth_fd, buf, len, 0) == len ? 0 : -errno;
}

/* 1 if the n-th fault was injected since set_nth(), 0 if not reached. */
static int nth_hit(struct env *e)
{
	char buf[16] = { 0 };
	ssize_t n = pread(e->nth_fd, buf, sizeof(buf) - 1, 0);

	set_nth(e, 0);
	if (n < 0)
		return 0;	/* the read's own copy took the fault */
	return atoi(buf) == 0;
}

static bool scenario_available(struct env *e, enum scenario s)
{
	if (s == S_HUGETLB)
		return e->hmemfd >= 0;
	if (s == S_IMPORT || s == S_SYNC)
		return e->drm >= 0;
	return true;
}

FIXTURE(faults) {
	int unused;
};

FIXTURE_SETUP(faults)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(faults)
{
}

TEST_F_TIMEOUT(faults, every_fault_point_fails_cleanly, 1800)
{
	struct env e = { .drm = -1, .hmemfd = -1, .syncfd = -1 };
	struct ub_counters before, after;
	uint64_t injected = 0, succeeded_anyway = 0, failed = 0, points[NR_SCENARIOS];
	uint64_t partial_moves = 0;
	uint64_t errs[NR_SCENARIOS][3] = { { 0 } };	/* ENOMEM, EFAULT, other */
	char path[64];
	unsigned int n;
	int s, ret, fd, bad, problems = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	e.nth_fd = open(path, O_RDWR | O_CLOEXEC);
	if (e.nth_fd < 0)
		SKIP(return, "no %s: kernel without CONFIG_FAULT_INJECTION (run make check-debug)",
		     path);
	ret = inject_setup();
	if (ret)
		SKIP(return, "fault injection knobs in debugfs: %s (needs FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_USERCOPY, FAULT_INJECTION_DEBUG_FS)",
		     strerror(-ret));
	e.dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, e.dev);
	{
		struct rlimit rl = { 16 << 20, 16 << 20 };

		ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
		ASSERT_EQ(0, ub_drop_cap_ipc_lock());
	}
	e.anon_len = 512 * PG;
	e.anon = mmap(NULL, e.anon_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, e.anon);
	ub_fill(e.anon, e.anon_len, 7);
	/* Guard pages around: PROT_NONE neighbours never merge with it. */
	e.alone = mmap(NULL, 10 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e.alone);
	e.alone += PG;
	ASSERT_EQ(0, mprotect(e.alone, 8 * PG, PROT_READ | PROT_WRITE));
	e.memfd = ub_memfd(16 * PG, F_SEAL_SHRINK, false);
	ASSERT_LE(0, e.memfd);
	if (ub_free_hugepages() >= 2)
		e.hmemfd = ub_memfd(UB_HPAGE, F_SEAL_SHRINK, true);
	e.drm = ub_drm_open("vgem");
	if (e.drm >= 0) {
		e.syncfd = ub_ext_create_user(e.dev, e.anon, 16 * PG,
					      UDMABUF_EXT_MODE_PIN, 0);
		ASSERT_LE(0, e.syncfd);
		ASSERT_EQ(0, ub_prime_import(e.drm, e.syncfd, &e.sync_handle));
	}
	e.maps0 = memfd_mappings();
	ASSERT_EQ(0, ub_counters_read(&before));

	for (s = 0; s < NR_SCENARIOS; s++) {
		int bad_here = 0;

		points[s] = 0;
		if (getenv("FAULTS_ONLY") && atoi(getenv("FAULTS_ONLY")) != s)
			continue;
		if (!scenario_available(&e, s)) {
			ksft_print_msg("%-40s skipped (no vgem / no huge page)\n", names[s]);
			continue;
		}
		for (n = 1; n <= MAX_NTH && bad_here < 3; n++) {
			char why[160] = "";
			int hit, maps;

			/*
			 * DRM keeps a handle whose ioctl failed to copy it out
			 * (EFAULT), until the file is closed: a vgem file per
			 * run, closed after it.
			 */
			if (s == S_IMPORT) {
				e.import_drm = ub_drm_open("vgem");
				ASSERT_LE(0, e.import_drm);
			}
			ASSERT_EQ(0, set_nth(&e, n));
			ret = run_once(&e, s, &fd);
			hit = nth_hit(&e);
			if (s == S_IMPORT)
				close(e.import_drm);
			if (ret == -EAGAIN && s == S_IMPORT) {
				/* the set-up create took the fault */
			} else if (hit && ret) {
				failed++;
				errs[s][ret == -ENOMEM ? 0 : ret == -EFAULT ? 1 : 2]++;
				if (ret == -ESTALE)
					snprintf(why, sizeof(why), "failed, and the caller's bytes are gone");
				else if (ret != -ENOMEM && ret != -EFAULT && ret != -EINTR)
					snprintf(why, sizeof(why), "undocumented errno %s", strerror(-ret));
			} else if (hit) {
				succeeded_anyway++;
			} else if (ret) {
				/* Not reached: the operation must have worked. */
				snprintf(why, sizeof(why), "failed without a fault: %s", strerror(-ret));
			}
			if (hit)
				injected++, points[s]++;
			if (fd >= 0 && ret == 0 && s != S_IMPORT) {
				struct udmabuf_ext_info info;
				uint8_t *m = MAP_FAILED;

				if (ub_info(e.dev, fd, &info))
					snprintf(why, sizeof(why), "a buffer made under a fault has no info");
				else
					m = mmap(NULL, info.size, PROT_READ, MAP_SHARED, fd, 0);
				if (m == MAP_FAILED) {
					if (!why[0])
						snprintf(why, sizeof(why), "a buffer made under a fault does not map");
				} else {
					uint8_t *moved = s == S_MOVE ? e.anon + 256 * PG : e.alone;

					/*
					 * A MOVE that could not replace the
					 * range succeeds all the same (the
					 * buffer may hold the only copy), and
					 * says so; else the range is zero-fill.
					 */
					if ((s == S_MOVE || s == S_MOVE_VMA) && hit &&
					    (info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL))
						partial_moves++;
					else if ((s == S_MOVE || s == S_MOVE_VMA) &&
						 !reads_zero(moved, 8 * PG))
						snprintf(why, sizeof(why), "a MOVE left the range mapped without saying so");
					if (((s == S_MOVE || s == S_MOVE_VMA) &&
					     ub_check(m, 8 * PG, 0x30be) >= 0) ||
					    ((s == S_PIN || s == S_COPY || s == S_COPY_LARGE) &&
					     ub_check(m, info.size, 7) >= 0))
						snprintf(why, sizeof(why), "a buffer made under a fault has the wrong bytes");
					munmap(m, info.size);
				}
			}
			if (fd >= 0)
				close(fd);
			if (s == S_MOVE) {	/* remap and refill the range */
				mmap(e.anon + 256 * PG, 8 * PG, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
				ub_fill(e.anon, e.anon_len, 7);
			}
			if (s == S_MOVE_VMA)	/* a VMA of its own again */
				mmap(e.alone, 8 * PG, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			maps = memfd_mappings();
			if (maps != e.maps0) {
				snprintf(why, sizeof(why), "a temporary memfd mapping was left in the process (%d)",
					 maps - e.maps0);
				e.maps0 = maps;	/* report each one once */
			}
			if (s != S_SYNC) {
				bad = ub_counters_settle(&before, &after, 5);
				if (bad >= 0) {
					snprintf(why, sizeof(why), "counter %s %ld, was %ld",
						 ub_counter_names[bad], after.v[bad], before.v[bad]);
					before = after;
				}
			}
			if (getenv("FAULTS_VERBOSE"))
				ksft_print_msg("%s, n=%u: %s, %s\n", names[s], n,
					       hit ? "injected" : "not reached",
					       ret ? strerror(-ret) : "success");
			if (why[0]) {
				problems++;
				bad_here++;
				ksft_print_msg("%s, fault %u (%s, %s): %s\n", names[s], n,
					       hit ? "injected" : "not reached",
					       ret ? strerror(-ret) : "success", why);
			}
			if (!hit)
				break;
		}
		ksft_print_msg("%-40s %4llu fault points; failures ENOMEM %llu, EFAULT %llu, other %llu\n",
			       names[s], (unsigned long long)points[s],
			       (unsigned long long)errs[s][0], (unsigned long long)errs[s][1],
			       (unsigned long long)errs[s][2]);
	}
	ksft_print_msg("%llu faults injected: %llu calls failed, %llu succeeded through a fallback (%llu MOVEs flagged partial); %d problems\n",
		       (unsigned long long)injected, (unsigned long long)failed,
		       (unsigned long long)succeeded_anyway,
		       (unsigned long long)partial_moves, problems);
	EXPECT_LT(0, injected);
	EXPECT_EQ(0, problems);
	if (e.drm >= 0) {
		ub_gem_close(e.drm, e.sync_handle);
		close(e.syncfd);
		close(e.drm);
	}
	if (e.hmemfd >= 0)
		close(e.hmemfd);
	close(e.memfd);
	close(e.dev);
	close(e.nth_fd);
}

TEST_HARNESS_MAIN
