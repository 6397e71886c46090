// SPDX-License-Identifier: GPL-2.0-only
/*
 * mem_offline: seed 004's problem, shown fixed.
 *
 * A page that a driver holds for a long time with a plain get_user_pages()
 * reference cannot be migrated, so the ZONE_MOVABLE memory block (or CMA
 * area) holding it can never be offlined: writing "offline" to the block's
 * state blocks until interrupted. That is what 6.1's upstream udmabuf does.
 * FOLL_LONGTERM pins migrate the pages out of ZONE_MOVABLE and CMA first,
 * so the blocks that held them before the buffer was created go offline.
 *
 * For each source (shmem and hugetlb memfds through /dev/udmabuf -- the
 * module's drop-in, or the kernel's own driver as the reference where it has
 * one -- and through /dev/udmabuf-ext; private anonymous mmap'd, THP and
 * malloc'd memory through /dev/udmabuf-ext, USER item, PIN mode; the
 * malloc()'d block's whole pages, as a range devices may write must be page
 * aligned at both ends) the test:
 *  1. faults the memory in with a pattern and reads its PFNs from
 *     /proc/self/pagemap (root sees PFNs) to find the memory blocks
 *     (/sys/devices/system/memory/memoryN) and zones that hold it; at least
 *     one page must be in a Movable block, else the test would prove nothing
 *     and is skipped;
 *  2. creates the buffer, and asserts that none of the buffer's pages is in a
 *     Movable block any more. The dma-buf mmap is VM_PFNMAP, which pagemap
 *     does not walk, so the buffer's pages are read from the user side (the
 *     memfd through a fresh mapping, the anonymous memory through its own
 *     mapping); that these ARE the buffer's pages is proven by writing
 *     through one mapping and reading through the other, both ways;
 *  3. offlines every Movable block that held pages before the create. Each
 *     write runs in a child under alarm(): a write that blocks (the 6.1
 *     upstream udmabuf behaviour) is a failure, not a hung test. Blocks with
 *     PG_reserved pages (the memmap that memblock put at the top of RAM) can
 *     never go offline, whoever holds what, and are left out, with a note;
 *  4. checks that the offlined blocks do not hold the buffer's pages, that
 *     the pages did not move and that the content is intact through the
 *     dma-buf mmap and the user mapping; then onlines the blocks again
 *     ("online_movable"; the teardown does it too if an assertion fails).
 *
 * hugetlb is the exception on 6.1: GUP cannot migrate a huge page for a
 * long-term pin there (it WARNs and fails), so the module pins hugetlb ranges
 * without FOLL_LONGTERM and refuses pages in ZONE_MOVABLE or CMA itself. For
 * the module's hugetlb memfd buffers the test therefore asserts a clean
 * ENOMEM there; where GUP can (6.12, ub_gup_migrates_hugetlb()), the module
 * and the kernel's own udmabuf migrate and pin like for every other source.
 *
 * Negative control (control.plain_reference_blocks_offline): a page of
 * Movable memory held by a plain, long-lived page reference that is not
 * FOLL_LONGTERM -- vmsplice() into a pipe takes such references with
 * get_user_pages_fast() and keeps them until the pipe is read -- makes the
 * same offline write hang until the alarm; once the pipe is drained the very
 * same block goes offline. So the offline check above can fail, and does
 * fail for a page held without a prior migration; the pagemap check fails
 * for the same reason (the page would still be in the Movable block).
 *
 * Needs a guest booted with movablecore= (tests/suites/offline); elsewhere
 * every case is skipped, with the reason.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "udmabuf_driver.h"

#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"

#define MEM_SYSFS		"/sys/devices/system/memory/"
#define BUF_SIZE		(16UL << 20)
#define KPF_RESERVED		32	/* <linux/kernel-page-flags.h>, kernel-internal */
#define PM_PFN_MASK		((1ULL << 55) - 1)
#define PM_PRESENT		(1ULL << 63)
/* Seconds an offline may take before it counts as blocked. */
#define OFFLINE_TIMEOUT		30
/* ... in the negative control, where it is expected to block. */
#define CONTROL_TIMEOUT		3
#define MAX_BLOCKS		64

/* A set of memory blocks, each with the number of pages of interest in it. */
struct blkset {
	int n;
	long blk[MAX_BLOCKS];
	long cnt[MAX_BLOCKS];
};

static void blkset_add(struct blkset *s, long blk)
{
	int i;

	for (i = 0; i < s->n; i++) {
		if (s->blk[i] == blk) {
			s->cnt[i]++;
			return;
		}
	}
	if (s->n < MAX_BLOCKS) {
		s->blk[s->n] = blk;
		s->cnt[s->n++] = 1;
	}
}

static bool blkset_has(const struct blkset *s, long blk)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->blk[i] == blk)
			return true;
	return false;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Pages per memory block, or -errno. */
static long block_pages(void)
{
	unsigned long long bytes;
	FILE *f = fopen(MEM_SYSFS "block_size_bytes", "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%llx", &bytes);
	fclose(f);
	if (n != 1 || !bytes || bytes % UB_PAGE)
		return -EINVAL;
	return bytes / UB_PAGE;
}

/* The block's valid_zones (for an online block: its zone), or "". */
static void block_zone(long blk, char *zone, size_t len)
{
	char path[128];
	FILE *f;

	zone[0] = 0;
	snprintf(path, sizeof(path), MEM_SYSFS "memory%ld/valid_zones", blk);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(zone, len, f))
		zone[0] = 0;
	fclose(f);
	zone[strcspn(zone, "\n")] = 0;
}

static bool block_is_movable(long blk)
{
	char zone[64];

	block_zone(blk, zone, sizeof(zone));
	return !strcmp(zone, "Movable");
}

/* Is any online block in ZONE_MOVABLE? */
static bool have_movable_blocks(void)
{
	DIR *d = opendir(MEM_SYSFS);
	struct dirent *e;
	bool found = false;
	long blk;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (sscanf(e->d_name, "memory%ld", &blk) == 1)
			found = block_is_movable(blk);
	}
	closedir(d);
	return found;
}

/* PG_reserved pages in the block, from /proc/kpageflags, or -errno. */
static long block_reserved(long blk, long bpages)
{
	uint64_t *flags = malloc(bpages * sizeof(*flags));
	long i, n = 0;
	ssize_t len;
	int fd;

	if (!flags)
		return -ENOMEM;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0) {
		n = -errno;
		goto out;
	}
	len = pread(fd, flags, bpages * sizeof(*flags),
		    blk * bpages * sizeof(*flags));
	if (len != (ssize_t)(bpages * sizeof(*flags)))
		n = len < 0 ? -errno : -EIO;
	close(fd);
	for (i = 0; n >= 0 && i < bpages; i++)
		n += (flags[i] >> KPF_RESERVED) & 1;
out:
	free(flags);
	return n;
}

/*
 * PFNs of the @n pages from page-aligned @addr. Every page must be present,
 * and the PFN visible (it reads as 0 without CAP_SYS_ADMIN).
 */
static int read_pfns(const void *addr, size_t n, uint64_t *pfn)
{
	off_t off = (uintptr_t)addr / UB_PAGE * sizeof(*pfn);
	ssize_t len;
	size_t i;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -errno;
	len = pread(fd, pfn, n * sizeof(*pfn), off);
	close(fd);
	if (len != (ssize_t)(n * sizeof(*pfn)))
		return len < 0 ? -errno : -EIO;
	for (i = 0; i < n; i++) {
		if (!(pfn[i] & PM_PRESENT))
			return -ENOENT;
		pfn[i] &= PM_PFN_MASK;
		if (!pfn[i])
			return -EPERM;
	}
	return 0;
}

/*
 * Write @state to the block's state file in a child that is killed by
 * SIGALRM after @timeout_s seconds. The signal also makes a blocked offline
 * give up (offline_pages() backs off on a pending signal). Returns 0,
 * -errno of the write, or -ETIMEDOUT if it blocked.
 */
static int set_block_state(long blk, const char *state, unsigned int timeout_s)
{
	char path[128];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), MEM_SYSFS "memory%ld/state", blk);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		ssize_t len = (ssize_t)strlen(state);
		int fd;

		signal(SIGALRM, SIG_DFL);
		alarm(timeout_s);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			_exit(errno);
		if (write(fd, state, len) != len)
			_exit(errno ? errno : EIO);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGALRM ? -ETIMEDOUT : -EINTR;
	return -WEXITSTATUS(status);
}

static const char *state_err(int err)
{
	return err == -ETIMEDOUT ? "blocked until the alarm" : strerror(-err);
}

/* Sources of a buffer. */
enum src { SRC_SHMEM, SRC_HUGETLB, SRC_ANON, SRC_THP, SRC_MALLOC };

FIXTURE(offline) {
	long bpages;
	int dev;
	int memfd;
	int buf;
	uint8_t *mem;		/* the user's view of the data */
	void *heap;		/* what to free (malloc source) */
	void *map;		/* what to munmap (memfd and anon sources) */
	size_t map_len;
	uint8_t *dmap;		/* the dma-buf mmap */
	size_t dsize;
	uint32_t data_offset;
	long saved_hugepages;	/* nr_hugepages to restore, or -1 */
	enum ub_driver drv;	/* whose node the buffer comes from */
	int nr_offlined;
	long offlined[MAX_BLOCKS];	/* blocks to online at teardown */
};

FIXTURE_VARIANT(offline) {
	enum src src;
	bool ext;	/* a memfd source through /dev/udmabuf-ext */
};

FIXTURE_VARIANT_ADD(offline, shmem_memfd) { .src = SRC_SHMEM };
FIXTURE_VARIANT_ADD(offline, hugetlb_memfd) { .src = SRC_HUGETLB };
FIXTURE_VARIANT_ADD(offline, ext_shmem_memfd) { .src = SRC_SHMEM, .ext = true };
FIXTURE_VARIANT_ADD(offline, ext_hugetlb_memfd) { .src = SRC_HUGETLB, .ext = true };
FIXTURE_VARIANT_ADD(offline, anon_mmap) { .src = SRC_ANON };
FIXTURE_VARIANT_ADD(offline, anon_thp) { .src = SRC_THP };
FIXTURE_VARIANT_ADD(offline, malloc) { .src = SRC_MALLOC };

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define FREE_HUGEPAGES	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

/*
 * Allocate huge pages now, in a guest with a Movable zone: the pool takes
 * them with __GFP_MOVABLE, so they come from ZONE_MOVABLE first.
 */
static int grow_hugepage_pool(long need, long *saved)
{
	long total = read_long(NR_HUGEPAGES);
	long free = read_long(FREE_HUGEPAGES);
	int ret;

	if (total < 0 || free < 0)
		return -ENOENT;
	if (free >= need)
		return 0;
	*saved = total;
	ret = write_long(NR_HUGEPAGES, total + need - free);
	if (ret)
		return ret;
	return read_long(FREE_HUGEPAGES) >= need ? 0 : -ENOMEM;
}

FIXTURE_SETUP(offline)
{
	const char *dev = variant->src <= SRC_HUGETLB && !variant->ext ?
			  UB_DROPIN_DEV : UB_DEV;
	int ret;

	self->dev = self->memfd = self->buf = -1;
	self->map = self->dmap = MAP_FAILED;
	self->mem = NULL;
	self->saved_hugepages = -1;

	self->bpages = block_pages();
	if (self->bpages < 0)
		SKIP(return, "no memory blocks in sysfs: %s",
		     strerror(-self->bpages));
	if (!have_movable_blocks())
		SKIP(return, "no memory block in ZONE_MOVABLE: needs a guest booted with movablecore= (tests/suites/offline)");
	self->drv = ub_node_probe(dev).drv;
	self->dev = open(dev, O_RDWR);
	if (self->dev < 0)
		SKIP(return, "%s: %s", dev, strerror(errno));

	switch (variant->src) {
	case SRC_HUGETLB:
		ret = grow_hugepage_pool(BUF_SIZE / UB_HPAGE,
					 &self->saved_hugepages);
		if (ret)
			SKIP(return, "cannot get %lu free 2 MiB huge pages: %s",
			     BUF_SIZE / UB_HPAGE, strerror(-ret));
		/* fall through */
	case SRC_SHMEM:
		self->memfd = ub_memfd(BUF_SIZE, F_SEAL_SHRINK,
				       variant->src == SRC_HUGETLB);
		ASSERT_LE(0, self->memfd);
		self->map_len = BUF_SIZE;
		self->map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED, self->memfd, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		self->mem = self->map;
		break;
	case SRC_ANON:
		self->map_len = BUF_SIZE;
		self->map = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		ASSERT_EQ(0, madvise(self->map, BUF_SIZE, MADV_NOHUGEPAGE));
		self->mem = self->map;
		break;
	case SRC_THP:
		/* 2 MiB aligned, so that every 2 MiB of it can be a THP. */
		self->map_len = BUF_SIZE + UB_HPAGE;
		self->map = mmap(NULL, self->map_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		self->mem = (uint8_t *)(((uintptr_t)self->map + UB_HPAGE - 1) &
					~(UB_HPAGE - 1));
		if (madvise(self->mem, BUF_SIZE, MADV_HUGEPAGE))
			SKIP(return, "MADV_HUGEPAGE: %s", strerror(errno));
		break;
	case SRC_MALLOC:
		/*
		 * glibc serves this from its own mmap, 16 bytes into a page: the
		 * whole pages inside it are pinned (a writable range must be
		 * page aligned at both ends).
		 */
		self->heap = malloc(BUF_SIZE + UB_PAGE);
		ASSERT_NE(NULL, self->heap);
		self->mem = (uint8_t *)(((uintptr_t)self->heap + UB_PAGE - 1) &
					~(UB_PAGE - 1));
		break;
	}
	/* Fault everything in, in this fresh process: Movable comes first. */
	ub_fill(self->mem, BUF_SIZE, 1);
}

FIXTURE_TEARDOWN(offline)
{
	int i, ret;

	if (self->dmap != MAP_FAILED)
		munmap(self->dmap, self->dsize);
	if (self->buf >= 0)
		close(self->buf);
	if (self->map != MAP_FAILED)
		munmap(self->map, self->map_len);
	else if (variant->src == SRC_MALLOC)
		free(self->heap);
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->dev >= 0)
		close(self->dev);
	for (i = 0; i < self->nr_offlined; i++) {
		ret = set_block_state(self->offlined[i], "online_movable",
				      OFFLINE_TIMEOUT);
		if (ret)
			TH_LOG("teardown: memory%ld online_movable: %s",
			       self->offlined[i], state_err(ret));
	}
	if (self->saved_hugepages >= 0)
		write_long(NR_HUGEPAGES, self->saved_hugepages);
}

/* Create the buffer from self->mem; sets buf, dsize, data_offset. */
static int create_buffer(FIXTURE_DATA(offline) *self, enum src src)
{
	struct udmabuf_ext_create out;
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = (uintptr_t)self->mem, .size = BUF_SIZE,
	};
	int fd;

	if (src == SRC_SHMEM || src == SRC_HUGETLB) {
		fd = ub_create_memfd(self->dev, self->memfd, 0, BUF_SIZE, 0);
		if (fd >= 0) {
			self->dsize = BUF_SIZE;
			self->data_offset = 0;
		}
	} else {
		fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN, 0,
				   &out);
		if (fd >= 0) {
			self->dsize = out.size;
			self->data_offset = out.data_offset;
		}
	}
	self->buf = fd;
	return fd < 0 ? fd : 0;
}

/* Log a block set as "memoryN(pages) ...". */
static void log_blocks(const char *what, const struct blkset *s)
{
	char line[1024];
	size_t len = 0;
	int i;

	line[0] = 0;
	for (i = 0; i < s->n && len < sizeof(line) - 64; i++) {
		char zone[32];

		block_zone(s->blk[i], zone, sizeof(zone));
		len += snprintf(line + len, sizeof(line) - len,
				" memory%ld(%s: %ld)", s->blk[i], zone,
				s->cnt[i]);
	}
	ksft_print_msg("%s:%s\n", what, line);
}

TEST_F_TIMEOUT(offline, pin_migrates_and_blocks_go_offline, 300)
{
	uint8_t *page0 = (uint8_t *)((uintptr_t)self->mem & ~(UB_PAGE - 1));
	size_t npages = ((uintptr_t)self->mem + BUF_SIZE - (uintptr_t)page0 +
			 UB_PAGE - 1) / UB_PAGE;
	uint64_t *before, *after, *again;
	struct blkset held = { 0 }, now = { 0 };
	long movable_before = 0, movable_after = 0, reserved;
	uint8_t *fresh = MAP_FAILED;
	int targets = 0, i, ret;
	double t, t0 = now_ms();
	size_t p;

	if (_metadata->skip)
		return;	/* the setup skipped; 6.1's harness still runs us */

	before = calloc(npages, sizeof(*before));
	after = calloc(npages, sizeof(*after));
	again = calloc(npages, sizeof(*again));
	ASSERT_NE(NULL, before);
	ASSERT_NE(NULL, after);
	ASSERT_NE(NULL, again);

	/* 1. Where the memory is before the buffer exists. */
	ret = read_pfns(page0, npages, before);
	ASSERT_EQ(0, ret) TH_LOG("pagemap: %s", strerror(-ret));
	for (p = 0; p < npages; p++) {
		long blk = before[p] / self->bpages;

		blkset_add(&held, blk);
		movable_before += block_is_movable(blk);
	}
	log_blocks("before create, pages per block", &held);
	ksft_print_msg("before create: %ld of %zu pages in ZONE_MOVABLE\n",
		       movable_before, npages);
	if (!movable_before)
		SKIP(return, "no page of the buffer started in ZONE_MOVABLE: nothing to migrate");

	/*
	 * hugetlb: GUP on 6.1 cannot migrate a huge page for a long-term pin
	 * (its slow path WARNs and fails; io_uring hits the same without this
	 * module). The module pins hugetlb ranges without FOLL_LONGTERM and
	 * refuses pages in ZONE_MOVABLE itself: the create must fail cleanly,
	 * with ENOMEM and no kernel warning (the dmesg gate checks that).
	 * Where GUP can migrate them (6.12), the module and the kernel's own
	 * udmabuf pin them like any other page.
	 */
	if (variant->src == SRC_HUGETLB && self->drv == UB_DRV_MODULE &&
	    !ub_gup_migrates_hugetlb()) {
		EXPECT_EQ(-ENOMEM, create_buffer(self, variant->src));
		return;
	}

	/* 2. The pin must have moved every page out of ZONE_MOVABLE. */
	t = now_ms();
	ASSERT_EQ(0, create_buffer(self, variant->src));
	ksft_print_msg("create (%zu pages): %.0f ms\n",
		       npages, now_ms() - t);
	if (variant->src == SRC_SHMEM || variant->src == SRC_HUGETLB) {
		/* The memfd's pages as anyone mapping it now sees them. */
		fresh = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			     MAP_SHARED, self->memfd, 0);
		ASSERT_NE(MAP_FAILED, fresh);
		/* Map the pages (no write: that would dirty, not move them). */
		ASSERT_EQ(0, madvise(fresh, BUF_SIZE, MADV_POPULATE_READ));
		ret = read_pfns(fresh, npages, after);
		ASSERT_EQ(0, ret) TH_LOG("pagemap: %s", strerror(-ret));
		ret = read_pfns(page0, npages, again);
		ASSERT_EQ(0, ret) TH_LOG("pagemap: %s", strerror(-ret));
		/* ... and as the old mapping sees them (migration fixed it). */
		EXPECT_EQ(0, memcmp(after, again, npages * sizeof(*after)));
		munmap(fresh, BUF_SIZE);
	} else {
		ret = read_pfns(page0, npages, after);
		ASSERT_EQ(0, ret) TH_LOG("pagemap: %s", strerror(-ret));
	}
	for (p = 0; p < npages; p++) {
		long blk = after[p] / self->bpages;

		blkset_add(&now, blk);
		if (block_is_movable(blk) && !movable_after++)
			TH_LOG("page %zu is still in ZONE_MOVABLE: pfn %#llx, memory%ld",
			       p, (unsigned long long)after[p], blk);
	}
	log_blocks("after create, pages per block", &now);
	EXPECT_EQ(0, movable_after);

	/*
	 * Those are the buffer's pages: what is written through the user
	 * mapping shows through the dma-buf, and the other way round.
	 */
	self->dmap = mmap(NULL, self->dsize, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->buf, 0);
	ASSERT_NE(MAP_FAILED, self->dmap);
	ASSERT_EQ(0, ub_sync(self->buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, ub_check(self->dmap + self->data_offset, BUF_SIZE, 1));
	ub_fill(self->mem, BUF_SIZE, 2);
	EXPECT_EQ(-1, ub_check(self->dmap + self->data_offset, BUF_SIZE, 2));
	ub_fill(self->dmap + self->data_offset, BUF_SIZE, 3);
	EXPECT_EQ(-1, ub_check(self->mem, BUF_SIZE, 3));
	ASSERT_EQ(0, ub_sync(self->buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	/* 3. Offline every Movable block that held the pages before. */
	for (i = 0; i < held.n; i++) {
		long blk = held.blk[i];

		if (!block_is_movable(blk))
			continue;
		reserved = block_reserved(blk, self->bpages);
		ASSERT_LE(0, reserved) TH_LOG("kpageflags: %s",
					      strerror(-reserved));
		if (reserved) {
			ksft_print_msg("memory%ld: not offlined: %ld PG_reserved pages (memblock allocations) never go offline\n",
				       blk, reserved);
			continue;
		}
		/* The buffer's pages must not be in a block we offline. */
		EXPECT_FALSE(blkset_has(&now, blk));
		t = now_ms();
		ret = set_block_state(blk, "offline", OFFLINE_TIMEOUT);
		EXPECT_EQ(0, ret) TH_LOG("memory%ld offline (held %ld pages before create): %s",
					 blk, held.cnt[i], state_err(ret));
		if (ret)
			continue;
		self->offlined[self->nr_offlined++] = blk;
		targets++;
		ksft_print_msg("memory%ld: offline ok in %.0f ms (held %ld pages of the buffer before create)\n",
			       blk, now_ms() - t, held.cnt[i]);
	}
	if (!targets && !_metadata->passed)
		return;
	if (!targets)
		SKIP(return, "every Movable block that held the pages has reserved pages; nothing could be offlined");

	/* 4. The pinned pages stayed put, and the data is intact. */
	ret = read_pfns(page0, npages, again);
	ASSERT_EQ(0, ret) TH_LOG("pagemap: %s", strerror(-ret));
	EXPECT_EQ(0, memcmp(after, again, npages * sizeof(*after)));
	for (p = 0; p < npages; p++) {
		for (i = 0; i < self->nr_offlined; i++)
			if ((long)(again[p] / self->bpages) == self->offlined[i])
				break;
		ASSERT_EQ(self->nr_offlined, i)
			TH_LOG("page %zu (pfn %#llx) is in offlined memory%ld",
			       p, (unsigned long long)again[p],
			       self->offlined[i]);
	}
	ASSERT_EQ(0, ub_sync(self->buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(-1, ub_check(self->dmap + self->data_offset, BUF_SIZE, 3));
	EXPECT_EQ(-1, ub_check(self->mem, BUF_SIZE, 3));
	ub_fill(self->mem, BUF_SIZE, 4);
	EXPECT_EQ(-1, ub_check(self->dmap + self->data_offset, BUF_SIZE, 4));
	ASSERT_EQ(0, ub_sync(self->buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	/* Give the memory back. */
	while (self->nr_offlined) {
		long blk = self->offlined[self->nr_offlined - 1];

		t = now_ms();
		ret = set_block_state(blk, "online_movable", OFFLINE_TIMEOUT);
		ksft_print_msg("memory%ld: online_movable in %.0f ms\n", blk,
			       now_ms() - t);
		ASSERT_EQ(0, ret) TH_LOG("memory%ld online_movable: %s", blk,
					 state_err(ret));
		self->nr_offlined--;
		EXPECT_TRUE(block_is_movable(blk));
	}
	free(before);
	free(after);
	free(again);
	ksft_print_msg("total: %.0f ms\n", now_ms() - t0);
}

/*
 * The negative control: a plain long-lived page reference (vmsplice into a
 * pipe: get_user_pages_fast() without FOLL_LONGTERM) keeps a Movable page
 * where it is, and its block does not go offline.
 */
FIXTURE(control) {
	long bpages;
	uint8_t *mem;
	int pipe[2];
	long offlined;		/* block to online at teardown, or -1 */
};

/*
 * 256 MiB, two memory blocks: 6.1 gives a few pages from a Movable block
 * that can go offline; 6.12 fills the top block first, whose memmap
 * (PG_reserved) keeps it online whatever happens.
 */
#define CONTROL_PAGES	65536

FIXTURE_SETUP(control)
{
	self->pipe[0] = self->pipe[1] = -1;
	self->offlined = -1;
	self->mem = MAP_FAILED;
	self->bpages = block_pages();
	if (self->bpages < 0)
		SKIP(return, "no memory blocks in sysfs: %s",
		     strerror(-self->bpages));
	if (!have_movable_blocks())
		SKIP(return, "no memory block in ZONE_MOVABLE: needs a guest booted with movablecore= (tests/suites/offline)");
	self->mem = mmap(NULL, CONTROL_PAGES * UB_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, madvise(self->mem, CONTROL_PAGES * UB_PAGE,
			     MADV_NOHUGEPAGE));
	ub_fill(self->mem, CONTROL_PAGES * UB_PAGE, 5);
	ASSERT_EQ(0, pipe(self->pipe));
}

FIXTURE_TEARDOWN(control)
{
	int ret;

	if (self->pipe[0] >= 0)
		close(self->pipe[0]);
	if (self->pipe[1] >= 0)
		close(self->pipe[1]);
	if (self->mem != MAP_FAILED)
		munmap(self->mem, CONTROL_PAGES * UB_PAGE);
	if (self->offlined >= 0) {
		ret = set_block_state(self->offlined, "online_movable",
				      OFFLINE_TIMEOUT);
		if (ret)
			TH_LOG("teardown: memory%ld online_movable: %s",
			       self->offlined, state_err(ret));
	}
}

TEST_F_TIMEOUT(control, plain_reference_blocks_offline, 120)
{
	uint64_t *pfn = calloc(CONTROL_PAGES, sizeof(*pfn));
	uint8_t copy[UB_PAGE], *page = NULL;
	long blk = -1, reserved;
	struct iovec iov;
	int i, ret;

	if (_metadata->skip)
		return;

	ASSERT_NE(NULL, pfn);
	ret = read_pfns(self->mem, CONTROL_PAGES, pfn);
	ASSERT_EQ(0, ret) TH_LOG("pagemap: %s", strerror(-ret));
	/* A page in a Movable block that can go offline at all. */
	for (i = 0; i < CONTROL_PAGES && !page; i++) {
		long b = pfn[i] / self->bpages;

		if (!block_is_movable(b) || b == blk)
			continue;
		blk = b;
		reserved = block_reserved(b, self->bpages);
		ASSERT_LE(0, reserved);
		if (!reserved)
			page = self->mem + i * UB_PAGE;
	}
	if (!page) {
		long movable = 0;

		for (i = 0; i < CONTROL_PAGES; i++)
			movable += block_is_movable(pfn[i] / self->bpages);
		SKIP(return, "no page landed in a Movable block without reserved pages (%ld of %d in Movable blocks)",
		     movable, CONTROL_PAGES);
	}
	i = (page - self->mem) / UB_PAGE;
	ksft_print_msg("control: page pfn %#llx in memory%ld, held by a pipe\n",
		       (unsigned long long)pfn[i], blk);

	/* The pipe now holds a reference to the page until it is read. */
	iov = (struct iovec){ .iov_base = page, .iov_len = UB_PAGE };
	ASSERT_EQ((ssize_t)UB_PAGE, vmsplice(self->pipe[1], &iov, 1, 0));

	ret = set_block_state(blk, "offline", CONTROL_TIMEOUT);
	if (!ret)
		self->offlined = blk;
	ASSERT_NE(0, ret) TH_LOG("memory%ld went offline under a plain page reference: the offline check could not fail",
				 blk);
	ksft_print_msg("control: memory%ld offline with the page referenced: %s\n",
		       blk, state_err(ret));
	ASSERT_EQ(0, read_pfns(page, 1, &pfn[i]));
	EXPECT_EQ(blk, (long)(pfn[i] / self->bpages));

	/* Drop the reference (and see the pipe had the page's data). */
	ASSERT_EQ((ssize_t)UB_PAGE, read(self->pipe[0], copy, UB_PAGE));
	EXPECT_EQ(0, memcmp(copy, page, UB_PAGE));

	/* Now the same block goes offline, and the page moves out of it. */
	ret = set_block_state(blk, "offline", OFFLINE_TIMEOUT);
	ASSERT_EQ(0, ret) TH_LOG("memory%ld offline after the reference was dropped: %s",
				 blk, state_err(ret));
	self->offlined = blk;
	ksft_print_msg("control: memory%ld offline after the pipe was read: ok\n",
		       blk);
	ASSERT_EQ(0, read_pfns(page, 1, &pfn[i]));
	EXPECT_NE(blk, (long)(pfn[i] / self->bpages));
	EXPECT_EQ(-1, ub_check(self->mem, CONTROL_PAGES * UB_PAGE, 5));

	ret = set_block_state(blk, "online_movable", OFFLINE_TIMEOUT);
	ASSERT_EQ(0, ret) TH_LOG("memory%ld online_movable: %s", blk,
				 state_err(ret));
	self->offlined = -1;
	free(pfn);
}

/*
 * One USER item over an anonymous VMA and the hugetlb VMA right after it
 * (issue 12, point 6): the module pins each VMA with its own flags, so the
 * anonymous pages are migrated out of ZONE_MOVABLE (FOLL_LONGTERM) even
 * though the hugetlb part, before 6.10, is pinned without it. 23908b5
 * dropped FOLL_LONGTERM for the whole item, refused the anonymous pages in
 * ZONE_MOVABLE and failed with ENOMEM. The blocks that held the anonymous
 * pages then go offline while the buffer lives.
 *
 * On 6.1 a hugetlb page in ZONE_MOVABLE cannot be pinned long-term (ENOMEM,
 * see the hugetlb_memfd case), and the pool takes huge pages from
 * ZONE_MOVABLE first, boot-time ones (hugepages=) too. So the huge page is
 * placed outside it: with the Movable blocks offline (but the last one,
 * whose memmap keeps it online), the pool grows past that block's free
 * memory into DMA32, and one huge page of a hugetlb memfd found there by
 * its PFN is kept (mapped shared, so that a fork need not copy it while it
 * is pinned); the others are punched out. The same on 6.12, where the
 * hugetlb part is migrated like the rest and it would not matter.
 */
FIXTURE(mixed) {
	long bpages;
	int dev;
	int memfd;		/* the hugetlb memfd */
	int buf;
	uint8_t *region;	/* our part of the address space */
	size_t region_len;
	long saved_hugepages;
	int nr_offlined;
	long offlined[MAX_BLOCKS];
};

#define MIXED_ANON	(8UL << 20)	/* the anonymous part */
#define MIXED_POOL	64		/* huge pages to find one outside Movable */

FIXTURE_SETUP(mixed)
{
	self->dev = self->memfd = self->buf = -1;
	self->region = MAP_FAILED;
	self->saved_hugepages = -1;
	self->bpages = block_pages();
	if (self->bpages < 0)
		SKIP(return, "no memory blocks in sysfs: %s",
		     strerror(-self->bpages));
	if (!have_movable_blocks())
		SKIP(return, "no memory block in ZONE_MOVABLE: needs a guest booted with movablecore= (tests/suites/offline)");
	self->dev = open(UB_DEV, O_RDWR);
	ASSERT_LE(0, self->dev);
	self->saved_hugepages = read_long(NR_HUGEPAGES);
	ASSERT_LE(0, self->saved_hugepages);
}

/* Online again the blocks in self->offlined. */
static int mixed_online(FIXTURE_DATA(mixed) *self)
{
	int ret = 0, r;

	while (self->nr_offlined) {
		long blk = self->offlined[--self->nr_offlined];

		r = set_block_state(blk, "online_movable", OFFLINE_TIMEOUT);
		if (r) {
			ksft_print_msg("memory%ld online_movable: %s\n", blk,
				       state_err(r));
			ret = r;
		}
	}
	return ret;
}

FIXTURE_TEARDOWN(mixed)
{
	if (self->buf >= 0)
		close(self->buf);
	if (self->region != MAP_FAILED)
		munmap(self->region, self->region_len);
	if (self->memfd >= 0)
		close(self->memfd);
	mixed_online(self);
	if (self->saved_hugepages >= 0)
		write_long(NR_HUGEPAGES, self->saved_hugepages);
	if (self->dev >= 0)
		close(self->dev);
}

/* Offline every Movable block without reserved pages; the count. */
static int mixed_offline_movable(FIXTURE_DATA(mixed) *self)
{
	DIR *d = opendir(MEM_SYSFS);
	struct dirent *e;
	long blk;

	while (d && (e = readdir(d)) && self->nr_offlined < MAX_BLOCKS) {
		if (sscanf(e->d_name, "memory%ld", &blk) != 1 ||
		    !block_is_movable(blk) ||
		    block_reserved(blk, self->bpages))
			continue;
		if (!set_block_state(blk, "offline", OFFLINE_TIMEOUT))
			self->offlined[self->nr_offlined++] = blk;
	}
	if (d)
		closedir(d);
	return self->nr_offlined;
}

TEST_F_TIMEOUT(mixed, anon_and_hugetlb_item_migrates_anon, 300)
{
	size_t npages = (MIXED_ANON + UB_HPAGE) / UB_PAGE, hpages, p;
	struct blkset held = { 0 };
	struct udmabuf_ext_info info;
	uint64_t *before, *after, pfn;
	uint8_t *huge, *anon, *dmap;
	long movable = 0, moved_ok = 0;
	int i, j, ret, off;

	if (_metadata->skip)
		return;
	before = calloc(npages, sizeof(*before));
	after = calloc(npages, sizeof(*after));
	ASSERT_NE(NULL, before);
	ASSERT_NE(NULL, after);

	/* A huge page outside ZONE_MOVABLE (see above). */
	off = mixed_offline_movable(self);
	ASSERT_EQ(0, write_long(NR_HUGEPAGES, self->saved_hugepages + MIXED_POOL));
	if (read_long(FREE_HUGEPAGES) < MIXED_POOL)
		SKIP(return, "cannot grow the hugetlb pool by %d pages", MIXED_POOL);
	self->region_len = MIXED_ANON + (MIXED_POOL + 1) * UB_HPAGE;
	self->region = mmap(NULL, self->region_len, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->region);
	huge = (uint8_t *)(((uintptr_t)self->region + MIXED_ANON + UB_HPAGE - 1) &
			   ~(UB_HPAGE - 1));
	/*
	 * A hugetlb memfd, shared: a fork (set_block_state() forks) would
	 * have to copy a pinned private huge page, from an empty pool.
	 */
	self->memfd = ub_memfd(MIXED_POOL * UB_HPAGE, F_SEAL_SHRINK, true);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(huge, mmap(huge, MIXED_POOL * UB_HPAGE, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_FIXED, self->memfd, 0));
	for (j = -1, i = 0; i < MIXED_POOL; i++) {
		huge[i * UB_HPAGE] = 1;
		ASSERT_EQ(0, read_pfns(huge + i * UB_HPAGE, 1, &pfn));
		if (j < 0 && !block_is_movable(pfn / self->bpages))
			j = i;
	}
	if (j < 0)
		SKIP(return, "none of %d huge pages outside ZONE_MOVABLE (%d Movable blocks offline)",
		     MIXED_POOL, off);
	/* Keep page j, at the start of the mapping; give the rest back. */
	ASSERT_EQ(0, munmap(huge, MIXED_POOL * UB_HPAGE));
	if (j)
		ASSERT_EQ(0, fallocate(self->memfd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, 0, j * UB_HPAGE));
	if (j + 1 < MIXED_POOL)
		ASSERT_EQ(0, fallocate(self->memfd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, (j + 1) * UB_HPAGE,
				       (MIXED_POOL - j - 1) * UB_HPAGE));
	ASSERT_EQ(huge, mmap(huge, UB_HPAGE, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_FIXED, self->memfd, j * UB_HPAGE));
	ASSERT_EQ(0, mixed_online(self));

	/*
	 * The anonymous VMA right below it, faulted in: from ZONE_MOVABLE,
	 * and from the blocks just onlined, while the pool still fills the
	 * one that cannot go offline. Then the pool shrinks back.
	 */
	anon = huge - MIXED_ANON;
	ASSERT_EQ(anon, mmap(anon, MIXED_ANON, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(0, madvise(anon, MIXED_ANON, MADV_NOHUGEPAGE));
	ub_fill(anon, MIXED_ANON + UB_HPAGE, 1);
	ASSERT_EQ(0, write_long(NR_HUGEPAGES, self->saved_hugepages));
	ASSERT_EQ(0, read_pfns(anon, npages, before));
	hpages = UB_HPAGE / UB_PAGE;
	for (p = 0; p < npages; p++) {
		long blk = before[p] / self->bpages;

		if (p < npages - hpages) {
			blkset_add(&held, blk);
			movable += block_is_movable(blk);
		} else {
			ASSERT_FALSE(block_is_movable(blk));
		}
	}
	log_blocks("anonymous part before create, pages per block", &held);
	ksft_print_msg("huge page pfn %#llx (memory%ld); %ld of %zu anonymous pages in ZONE_MOVABLE\n",
		       (unsigned long long)before[npages - hpages],
		       (long)(before[npages - hpages] / self->bpages), movable,
		       npages - hpages);
	if (!movable)
		SKIP(return, "no anonymous page started in ZONE_MOVABLE: nothing to migrate");

	/* One item over both VMAs. */
	ret = ub_ext_create_user(self->dev, anon, MIXED_ANON + UB_HPAGE,
				 UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, ret) TH_LOG("create: %s", strerror(-ret));
	self->buf = ret;
	ASSERT_EQ(0, ub_info(self->dev, self->buf, &info));
	EXPECT_EQ(UDMABUF_EXT_SOURCE_ANON | UDMABUF_EXT_SOURCE_HUGETLB,
		  info.source & (UDMABUF_EXT_SOURCE_ANON | UDMABUF_EXT_SOURCE_HUGETLB));

	/* The anonymous pages left ZONE_MOVABLE; the huge page stayed. */
	ASSERT_EQ(0, read_pfns(anon, npages, after));
	for (p = movable = 0; p < npages - hpages; p++)
		movable += block_is_movable(after[p] / self->bpages);
	EXPECT_EQ(0, movable) TH_LOG("%ld anonymous pages still in ZONE_MOVABLE", movable);
	EXPECT_EQ(0, memcmp(before + npages - hpages, after + npages - hpages,
			    hpages * sizeof(*after)));

	/* The buffer has both parts' pages. */
	dmap = mmap(NULL, MIXED_ANON + UB_HPAGE, PROT_READ, MAP_SHARED,
		    self->buf, 0);
	ASSERT_NE(MAP_FAILED, dmap);
	EXPECT_EQ(-1, ub_check(dmap, MIXED_ANON + UB_HPAGE, 1));
	ub_fill(anon, MIXED_ANON + UB_HPAGE, 2);
	EXPECT_EQ(-1, ub_check(dmap, MIXED_ANON + UB_HPAGE, 2));
	munmap(dmap, MIXED_ANON + UB_HPAGE);

	/* The Movable blocks that held anonymous pages go offline now. */
	for (i = 0; i < held.n; i++) {
		long blk = held.blk[i];

		if (!block_is_movable(blk) || block_reserved(blk, self->bpages))
			continue;
		ret = set_block_state(blk, "offline", OFFLINE_TIMEOUT);
		EXPECT_EQ(0, ret) TH_LOG("memory%ld offline (held %ld anonymous pages before create): %s",
					 blk, held.cnt[i], state_err(ret));
		if (ret)
			continue;
		self->offlined[self->nr_offlined++] = blk;
		moved_ok++;
	}
	ksft_print_msg("%ld Movable blocks that held the anonymous pages went offline\n",
		       moved_ok);
	if (!moved_ok && _metadata->passed)
		SKIP(return, "every Movable block that held the pages has reserved pages");
	EXPECT_EQ(0, mixed_online(self));
	free(before);
	free(after);
}


TEST_HARNESS_MAIN
