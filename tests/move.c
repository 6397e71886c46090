// SPDX-License-Identifier: GPL-2.0-only
/*
 * MOVE gives up exactly the pages the buffer took (docs/uapi.md, MOVE):
 * under the mmap lock, each page table entry of the ranges is checked to
 * still map the page the buffer pinned, and those are zapped as
 * MADV_DONTNEED does. The VMAs and their attributes stay; anything else in
 * the ranges stays untouched and is reported with MOVE_PARTIAL.
 *
 * The window between the pin and the vacate is made deterministic with
 * userfaultfd: UDMABUF_EXT_CREATE copies its argument back to the caller
 * (copy_to_user) after the pin and right before the vacate. The argument
 * sits in a page registered for write-protect faults and write-protected:
 * the ioctl's first read of it (copy_from_user) goes through, its write
 * faults, and the handler thread changes the MOVE range (maps something
 * else there, mremap()s it away) before it lets the write go on. One fault,
 * at that point, every time.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"

#define NPAGES		4
#define LEN		(NPAGES * UB_PAGE)
#define FAULT_WAIT_MS	10000

static void *map_anon(size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

/* A userfaultfd with @features, or -errno. */
static int uffd_open(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) || (api.features & features) != features) {
		close(fd);
		return -EOPNOTSUPP;
	}
	return fd;
}

static int uffd_register(int uffd, void *p, size_t len, uint64_t mode)
{
	struct uffdio_register r = {
		.range = { (uintptr_t)p, len }, .mode = mode,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

static int uffd_wp(int uffd, void *p, size_t len, bool on)
{
	struct uffdio_writeprotect w = {
		.range = { (uintptr_t)p, len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

/* The next page fault on @uffd within @ms: its address, or 0. */
static uint64_t uffd_next_fault(int uffd, int ms, uint64_t *flags)
{
	struct pollfd p = { .fd = uffd, .events = POLLIN };
	struct uffd_msg m;

	if (poll(&p, 1, ms) != 1 || read(uffd, &m, sizeof(m)) != sizeof(m) ||
	    m.event != UFFD_EVENT_PAGEFAULT)
		return 0;
	*flags = m.arg.pagefault.flags;
	return m.arg.pagefault.address;
}

/*
 * A MOVE of @range whose argument's write-back faults: @mutate runs then,
 * between the pin and the vacate.
 */
struct moving {
	int dev;
	int uffd;
	uint8_t *arg;			/* the write-protected argument page */
	struct udmabuf_ext_item *item;	/* in a page of its own */
	uint8_t *range;
	void (*mutate)(struct moving *m);
	uint8_t *other;			/* for @mutate */
	int faults;			/* write faults on the argument page */
};

static void *handler(void *arg)
{
	struct moving *m = arg;
	uint64_t flags = 0, addr;

	addr = uffd_next_fault(m->uffd, FAULT_WAIT_MS, &flags);
	if (!addr)
		return NULL;
	if ((addr & ~(UB_PAGE - 1)) == (uintptr_t)m->arg &&
	    (flags & UFFD_PAGEFAULT_FLAG_WP)) {
		m->faults++;
		m->mutate(m);
	}
	/* Let the write go on (and wake the faulting thread). */
	uffd_wp(m->uffd, m->arg, UB_PAGE, false);
	return NULL;
}

/*
 * Run the MOVE with @mutate in the window; the new fd, with its info in
 * *@info, or -errno.
 */
static int move_with_window(struct moving *m, void (*mutate)(struct moving *m),
			    struct udmabuf_ext_info *info)
{
	struct udmabuf_ext_create *c = (void *)m->arg;
	pthread_t t;
	int ret;

	*m->item = (struct udmabuf_ext_item){
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)m->range,
		.size = LEN,
	};
	m->mutate = mutate;
	memset(c, 0, sizeof(*c));
	c->mode = UDMABUF_EXT_MODE_MOVE;
	c->count = 1;
	c->items = (uintptr_t)m->item;
	ret = uffd_wp(m->uffd, m->arg, UB_PAGE, true);
	if (ret)
		return ret;
	if (pthread_create(&t, NULL, handler, m))
		return -EAGAIN;
	ret = ioctl(m->dev, UDMABUF_EXT_CREATE, c) ? -errno : (int)c->fd;
	pthread_join(t, NULL);
	if (ret >= 0 && ub_info(m->dev, ret, info)) {
		close(ret);
		return -EIO;
	}
	return ret;
}

FIXTURE(move) {
	struct moving m;
	uint8_t *items_page;
};

FIXTURE_SETUP(move)
{
	struct moving *m = &self->m;

	memset(m, 0, sizeof(*m));
	m->uffd = -1;
	self->items_page = MAP_FAILED;
	m->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, m->dev);
	m->arg = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, m->arg);
	self->items_page = map_anon(UB_PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, self->items_page);
	m->item = (void *)self->items_page;
	m->uffd = uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP);
	if (m->uffd < 0)
		SKIP(return, "no userfaultfd write-protect: %s", strerror(-m->uffd));
	ASSERT_EQ(0, uffd_register(m->uffd, m->arg, UB_PAGE,
				   UFFDIO_REGISTER_MODE_WP));
	m->range = map_anon(LEN, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(MAP_FAILED, m->range);
	ub_fill(m->range, LEN, 1);
}

FIXTURE_TEARDOWN(move)
{
	if (self->m.uffd >= 0)
		close(self->m.uffd);
	if (self->m.arg && self->m.arg != MAP_FAILED)
		munmap(self->m.arg, UB_PAGE);
	if (self->items_page != MAP_FAILED)
		munmap(self->items_page, UB_PAGE);
	close(self->m.dev);
}

/* Another thread maps something of its own over the range's second page. */
static void map_over_page1(struct moving *m)
{
	uint8_t *p = mmap(m->range + UB_PAGE, UB_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p != MAP_FAILED)
		ub_fill(p, UB_PAGE, 2);
}

/*
 * What another thread mapped over page 1 in the window (@mapper, its bytes
 * filled with @seed) keeps its data; the rest of the range is vacated;
 * MOVE_PARTIAL says that not everything was where the buffer took it. The
 * buffer has every page it took, charged.
 */
static void page1_mapped_over_is_kept(struct __test_metadata *_metadata,
				      FIXTURE_DATA(move) *self,
				      void (*mapper)(struct moving *),
				      uint32_t seed)
{
	struct udmabuf_ext_info info;
	uint8_t *b;
	int fd, i;

	fd = move_with_window(&self->m, mapper, &info);
	ASSERT_LE(0, fd) TH_LOG("MOVE: %s", strerror(-fd));
	EXPECT_EQ(1, self->m.faults);
	EXPECT_EQ(UDMABUF_EXT_INFO_MOVE_PARTIAL,
		  info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	EXPECT_EQ(NPAGES, info.nr_charged);
	/* The other mapping's bytes. */
	EXPECT_EQ(-1, ub_check(self->m.range + UB_PAGE, UB_PAGE, seed));
	/* The rest was the buffer's: zeros now. */
	for (i = 0; i < NPAGES; i++) {
		if (i == 1)
			continue;
		EXPECT_EQ(0, self->m.range[i * UB_PAGE]) TH_LOG("page %d", i);
		EXPECT_EQ(0, self->m.range[(i + 1) * UB_PAGE - 1]) TH_LOG("page %d", i);
	}
	b = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, ub_check(b, LEN, 1));
	munmap(b, LEN);
	close(fd);
	munmap(self->m.range, LEN);
}

/* (a) Anonymous memory mapped over page 1 in the window. */
TEST_F(move, other_mapping_in_the_window_is_kept)
{
	UB_RETURN_IF_SKIPPED();
	page1_mapped_over_is_kept(_metadata, self, map_over_page1, 2);
}

/* Another thread maps a shared memfd page, filled with seed 3, over page 1. */
static void map_file_over_page1(struct moving *m)
{
	int mfd = memfd_create("move-window", MFD_CLOEXEC);
	uint8_t *p;

	if (mfd < 0 || ftruncate(mfd, UB_PAGE))
		goto close_memfd;
	p = mmap(m->range + UB_PAGE, UB_PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, mfd, 0);
	if (p != MAP_FAILED)
		ub_fill(p, UB_PAGE, 3);
close_memfd:
	if (mfd >= 0)
		close(mfd);
}

/*
 * (a') A file mapped there: the vacate passes over a VMA that is not
 * private anonymous memory, which holds none of the buffer's pages, and
 * goes on with the next one in step.
 */
TEST_F(move, file_mapped_in_the_window_is_kept)
{
	UB_RETURN_IF_SKIPPED();
	page1_mapped_over_is_kept(_metadata, self, map_file_over_page1, 3);
}

/* Another thread mremap()s the whole range away, to m->other. */
static void mremap_away(struct moving *m)
{
	mremap(m->range, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, m->other);
}

/*
 * (b) A range mremap()ed away between the pin and the vacate keeps its data
 * at its new address, still the buffer's pages (MOVE_PARTIAL says they may
 * be mapped in the process), charged like PIN; nothing is mapped at the old
 * address.
 */
TEST_F(move, range_mremapped_away_keeps_its_data)
{
	struct udmabuf_ext_info info;
	uint8_t *b;
	int fd;

	UB_RETURN_IF_SKIPPED();
	/* Where the range goes: a reserved spot. */
	self->m.other = map_anon(LEN, PROT_NONE, 0);
	ASSERT_NE(MAP_FAILED, self->m.other);
	fd = move_with_window(&self->m, mremap_away, &info);
	ASSERT_LE(0, fd) TH_LOG("MOVE: %s", strerror(-fd));
	EXPECT_EQ(1, self->m.faults);
	EXPECT_EQ(UDMABUF_EXT_INFO_MOVE_PARTIAL,
		  info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	EXPECT_EQ(NPAGES, info.nr_charged);
	EXPECT_EQ(-1, ub_check(self->m.other, LEN, 1));
	/* Nothing was mapped where the range was. */
	EXPECT_EQ(-1, msync(self->m.range, LEN, MS_ASYNC));
	EXPECT_EQ(ENOMEM, errno);
	/* The moved mapping and the buffer still share the pages. */
	b = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, ub_check(b, LEN, 1));
	ub_fill(self->m.other, LEN, 3);
	EXPECT_EQ(-1, ub_check(b, LEN, 3));
	munmap(b, LEN);
	close(fd);
	munmap(self->m.other, LEN);
}

/* Control: nothing happens in the window; everything is vacated. */
static void nothing(struct moving *m)
{
	(void)m;
}

TEST_F(move, quiet_window_vacates_everything)
{
	struct udmabuf_ext_info info;
	int fd, i;

	UB_RETURN_IF_SKIPPED();
	fd = move_with_window(&self->m, nothing, &info);
	ASSERT_LE(0, fd) TH_LOG("MOVE: %s", strerror(-fd));
	EXPECT_EQ(1, self->m.faults);
	EXPECT_EQ(0, info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0, self->m.range[i * UB_PAGE]);
	close(fd);
	munmap(self->m.range, LEN);
}

/*
 * A MOVE range that holds the ioctl's own argument: the vacate, which runs
 * after the results are copied out, would zap them (the caller would read
 * fd 0 and leak the real one). Refused with EINVAL; nothing is taken.
 */
TEST(move_over_its_own_argument_is_einval)
{
	uint8_t *p = map_anon(LEN, PROT_READ | PROT_WRITE, 0);
	struct udmabuf_ext_item *it;
	struct udmabuf_ext_create *c;
	int dev, ret;

	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_NE(MAP_FAILED, p);
	it = malloc(sizeof(*it));
	ASSERT_NE(NULL, it);
	ub_fill(p, LEN, 7);
	c = (struct udmabuf_ext_create *)(p + UB_PAGE);
	*it = (struct udmabuf_ext_item){
		.kind = UDMABUF_EXT_ITEM_USER, .start = (uintptr_t)p, .size = LEN,
	};
	*c = (struct udmabuf_ext_create){
		.mode = UDMABUF_EXT_MODE_MOVE, .count = 1, .items = (uintptr_t)it,
	};
	ret = ioctl(dev, UDMABUF_EXT_CREATE, c) ? -errno : (int)c->fd;
	EXPECT_EQ(-EINVAL, ret);
	if (ret >= 0)
		close(ret);
	EXPECT_EQ(-1, ub_check(p, UB_PAGE, 7));
	free(it);
	munmap(p, LEN);
	close(dev);
}

/* ---- the VMA and its attributes ------------------------------------------- */

/* VmFlags of the smaps entry starting at @addr, into @flags; 0 or -1. */
static int vm_flags(const void *addr, char *flags, size_t len)
{
	char line[512], want[32];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)addr);
	flags[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			strncpy(flags, line + 8, len - 1);
			flags[len - 1] = 0;
			break;
		}
	}
	fclose(f);
	return flags[0] ? 0 : -1;
}

static bool has_flag(const char *flags, const char *f)
{
	char pad[8];

	snprintf(pad, sizeof(pad), " %s", f);
	return strstr(flags, pad) != NULL;
}

/* Present pages of [p, p + len) per /proc/self/pagemap. */
static int present_pages(const void *p, size_t len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), n = 0;
	uint64_t e;
	size_t i;

	if (fd < 0)
		return -1;
	for (i = 0; i < len / UB_PAGE; i++)
		if (pread(fd, &e, sizeof(e),
			  ((uintptr_t)p / UB_PAGE + i) * sizeof(e)) == sizeof(e) &&
		    (e >> 63))
			n++;
	close(fd);
	return n;
}

/*
 * (c) The VMA survives MOVE with its attributes: the process has as many
 * mappings as before, and the range's keeps VM_LOCKED ("lo": mlock()),
 * VM_DONTCOPY ("dc": MADV_DONTFORK) and VM_HUGEPAGE ("hg":
 * MADV_HUGEPAGE). It reads zeros, and as it is mlock()ed, its pages are
 * there again at once, as mlock() would have them.
 */
TEST(move_keeps_the_vma_and_its_flags)
{
	size_t len = 8 * UB_PAGE;
	uint8_t *p = map_anon(len, PROT_READ | PROT_WRITE, 0), *b;
	struct udmabuf_ext_info info;
	char flags[512];
	int dev, fd, maps;
	size_t i;

	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, madvise(p, len, MADV_DONTFORK));
	ASSERT_EQ(0, madvise(p, len, MADV_HUGEPAGE));
	ASSERT_EQ(0, mlock(p, len));
	ub_fill(p, len, 4);
	ASSERT_EQ(0, vm_flags(p, flags, sizeof(flags)));
	ASSERT_TRUE(has_flag(flags, "lo") && has_flag(flags, "dc") &&
		    has_flag(flags, "hg")) TH_LOG("before: %s", flags);
	maps = ub_count_maps();

	fd = ub_ext_create_user(dev, p, len, UDMABUF_EXT_MODE_MOVE, 0);
	ASSERT_LE(0, fd) TH_LOG("MOVE: %s", strerror(-fd));
	ASSERT_EQ(0, ub_info(dev, fd, &info));
	EXPECT_EQ(0, info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	EXPECT_EQ(maps, ub_count_maps());
	ASSERT_EQ(0, vm_flags(p, flags, sizeof(flags))) TH_LOG("no VMA at the range");
	EXPECT_TRUE(has_flag(flags, "lo")) TH_LOG("after: %s", flags);
	EXPECT_TRUE(has_flag(flags, "dc")) TH_LOG("after: %s", flags);
	EXPECT_TRUE(has_flag(flags, "hg")) TH_LOG("after: %s", flags);
	EXPECT_EQ((int)(len / UB_PAGE), present_pages(p, len));
	for (i = 0; i < len; i += UB_PAGE)
		EXPECT_EQ(0, p[i]);
	b = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, ub_check(b, len, 4));
	munmap(b, len);
	close(fd);
	munlock(p, len);
	munmap(p, len);
	close(dev);
}

struct reader {
	volatile uint8_t *p;
	uint8_t seen;
};

static void *read_one(void *arg)
{
	struct reader *r = arg;

	r->seen = r->p[0];
	return NULL;
}

/*
 * (c) A userfaultfd MISSING registration of the range survives MOVE: the
 * first access afterwards is delivered to the handler, which resolves it
 * with a zero page.
 */
TEST(move_keeps_the_uffd_registration)
{
	struct uffdio_zeropage z = { .range = { 0, UB_PAGE } };
	struct reader r = { .seen = 0xff };
	uint8_t *p = map_anon(LEN, PROT_READ | PROT_WRITE, 0);
	uint64_t flags = 0, addr;
	int dev, fd, uffd;
	pthread_t t;

	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p, LEN, 5);
	uffd = uffd_open(0);
	if (uffd < 0)
		SKIP(return, "no userfaultfd: %s", strerror(-uffd));
	ASSERT_EQ(0, uffd_register(uffd, p, LEN, UFFDIO_REGISTER_MODE_MISSING));

	fd = ub_ext_create_user(dev, p, LEN, UDMABUF_EXT_MODE_MOVE, 0);
	ASSERT_LE(0, fd) TH_LOG("MOVE: %s", strerror(-fd));
	/* The vacate itself raised no fault. */
	EXPECT_EQ(0, uffd_next_fault(uffd, 0, &flags));

	r.p = p;
	ASSERT_EQ(0, pthread_create(&t, NULL, read_one, &r));
	addr = uffd_next_fault(uffd, FAULT_WAIT_MS, &flags);
	EXPECT_EQ((uintptr_t)p, addr & ~(UB_PAGE - 1));
	EXPECT_EQ(0, flags & UFFD_PAGEFAULT_FLAG_WP);
	z.range.start = (uintptr_t)p;
	if (addr)
		EXPECT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &z));
	pthread_join(t, NULL);
	EXPECT_EQ(0, r.seen);
	close(fd);
	close(uffd);
	munmap(p, LEN);
	close(dev);
}

/*
 * A range the process may write but not read (PROT_WRITE only) is still
 * the process's private memory: MOVE takes and vacates it like any other,
 * and does not report it as partial.
 */
TEST(move_of_write_only_memory_vacates_it)
{
	uint8_t *p = map_anon(LEN, PROT_READ | PROT_WRITE, 0), *b;
	struct udmabuf_ext_info info;
	int dev, fd, i;

	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p, LEN, 6);
	ASSERT_EQ(0, mprotect(p, LEN, PROT_WRITE));
	fd = ub_ext_create_user(dev, p, LEN, UDMABUF_EXT_MODE_MOVE, 0);
	ASSERT_LE(0, fd) TH_LOG("MOVE: %s", strerror(-fd));
	ASSERT_EQ(0, ub_info(dev, fd, &info));
	EXPECT_EQ(0, info.buf_flags & UDMABUF_EXT_INFO_MOVE_PARTIAL);
	ASSERT_EQ(0, mprotect(p, LEN, PROT_READ | PROT_WRITE));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0, p[i * UB_PAGE]) TH_LOG("page %d", i);
	b = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(-1, ub_check(b, LEN, 6));
	munmap(b, LEN);
	close(fd);
	munmap(p, LEN);
	close(dev);
}

/*
 * Items that name a page twice: MOVE would find it given up already the
 * second time, as if moved away meanwhile. EINVAL, before anything is
 * pinned: the process keeps its data.
 */
TEST(move_overlapping_items_is_einval)
{
	uint8_t *p = map_anon(LEN, PROT_READ | PROT_WRITE, 0);
	struct udmabuf_ext_item it[2] = {
		{ .kind = UDMABUF_EXT_ITEM_USER, .size = 2 * UB_PAGE },
		{ .kind = UDMABUF_EXT_ITEM_USER, .size = 2 * UB_PAGE },
	};
	int dev, fd, i;

	ASSERT_NE(MAP_FAILED, p);
	ub_fill(p, LEN, 7);
	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	it[0].start = (uintptr_t)p;
	it[1].start = (uintptr_t)p + UB_PAGE;		/* page 1 twice */
	fd = ub_ext_create(dev, it, 2, UDMABUF_EXT_MODE_MOVE, 0, NULL);
	EXPECT_EQ(-EINVAL, fd);
	if (fd >= 0)
		close(fd);
	it[1].start = (uintptr_t)p + 2 * UB_PAGE;	/* next to it: fine */
	fd = ub_ext_create(dev, it, 2, UDMABUF_EXT_MODE_MOVE, 0, NULL);
	ASSERT_LE(0, fd) TH_LOG("MOVE of adjacent items: %s", strerror(-fd));
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(0, p[i * UB_PAGE]) TH_LOG("page %d", i);
	close(fd);
	close(dev);
	munmap(p, LEN);
}

TEST_HARNESS_MAIN
