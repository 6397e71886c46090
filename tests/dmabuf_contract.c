// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exporter contract of include/linux/dma-buf.h, seen by an importer.
 *
 * The importer is tests/importer (udmabuf_ext_importer.ko, built by "make
 * tests" into build/importer/<release>/ and loaded here when it is not
 * loaded yet): a test driver that attaches dma-bufs to devices of its own
 * through the dma-buf core and reports what it was given. Each case runs
 * for each of its devices (the fixture variants):
 * - platform: dma-direct, no DMA segment size limit;
 * - platform_seg64k: dma-direct, 64 KiB segments;
 * - pci: QEMU's pci-testdev, which tests/suites/iommu puts behind QEMU's
 *   intel-iommu (UB_EXPECT_IOMMU=1 there: the device must exist and be
 *   translated); skipped, with the reason, in guests without one.
 *
 * Checked:
 * - sg_*: every scatterlist entry starts at offset 0 of its page and has a
 *   PAGE_SIZE multiple length within the device's segment limit; the
 *   entries add up to the dma-buf's size; walking them gives the buffer's
 *   pages in order: the first 8 bytes of each entry's first page are the
 *   marker written at that page of the buffer, which the dma-buf's mmap
 *   shows at the same offset, and where a user mapping shows the pages, the
 *   PFNs from /proc/self/pagemap are the entries' PFNs. For an unaligned
 *   READ_ONLY user range, an unaligned COPY, a memfd, THP and hugetlb (huge
 *   pages are one entry each, or 64 KiB ones on the limited device, as
 *   tests/iommu_segments.c expects). DMA side: dma-direct gives each
 *   entry's physical address; behind the IOMMU every DMA segment's address
 *   and length are PAGE_SIZE aligned and add up to the size.
 * - vmap_*: byte 0 of the kernel mapping is byte 0 of the mmap, the data
 *   (the caller's byte at start) is at data_offset in both, and vmap covers
 *   all dmabuf->size bytes.
 * - map_twice: a second map of one attachment gets a table of its own; the
 *   module's "mappings" counter follows both and both unmap.
 * - detach_mapped: an importer that detaches with a table mapped: the
 *   exporter unmaps it ("mappings" back), and says so in the log once
 *   however often it happens (no warning splat: the dmesg gate).
 * - read_only: a READ_ONLY buffer maps only DMA_TO_DEVICE (EACCES for the
 *   others) and has no vmap (EINVAL).
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <dirent.h>
#include <limits.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "importer/udmabuf-ext-importer.h"
#include "kselftest_harness.h"

#define IMP_MODULE	"udmabuf_ext_importer"
#define IMP_PCI_DRIVER	"/sys/bus/pci/drivers/" IMP_MODULE "/"
#define DETACH_MSG	"udmabuf-ext: detached with tables still mapped; unmapping them"
#define MAX_ENTRIES	4096
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_PRESENT	(1ULL << 63)

/* The marker at the start of page @i of a buffer. */
static uint64_t marker(uint32_t seed, size_t i)
{
	return 0x5542000000000000ULL | (uint64_t)seed << 24 | i;
}

/* --- the importer ----------------------------------------------------- */

/* Set when this program loaded the importer: it unloads it at the end. */
static const char *loaded_flag = "/run/udmabuf-ext-importer.loaded";

/*
 * Open the importer, loading it first if it is not loaded: the fd, or
 * -errno with the reason in @why.
 */
static int importer_open(char *why, size_t len)
{
	char exe[256], ko[400];
	const char *env = getenv("UB_IMPORTER_KO");
	struct utsname u;
	ssize_t n;
	int fd, kfd, ret;

	fd = open(UBI_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		goto out;
	if (env) {
		snprintf(ko, sizeof(ko), "%s", env);
	} else {
		/* build/tests/<us> -> build/importer/<release>/ */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0 || uname(&u))
			return -errno;
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(ko, sizeof(ko), "%s/../importer/%s/%s.ko", exe,
			 u.release, IMP_MODULE);
	}
	kfd = open(ko, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		ret = -errno;
		snprintf(why, len, "test importer %s: %s (\"make tests KDIR=/lib/modules/<release>/build\" builds it)",
			 ko, strerror(errno));
		return ret;
	}
	ret = syscall(SYS_finit_module, kfd, "", 0) ? -errno : 0;
	close(kfd);
	if (ret && ret != -EEXIST) {
		snprintf(why, len, "loading %s: %s", ko, strerror(-ret));
		return ret;
	}
	if (!ret)
		close(open(loaded_flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	fd = open(UBI_DEV_PATH, O_RDWR | O_CLOEXEC);
out:
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s", UBI_DEV_PATH, strerror(errno));
		return ret;
	}
	return fd;
}

static int imp_attach(int imp, int fd, uint32_t target, struct ubi_attach *a)
{
	*a = (struct ubi_attach){ .fd = fd, .target = target };
	return ioctl(imp, UBI_ATTACH, a) ? -errno : 0;
}

static int imp_map(int imp, uint32_t att, uint32_t dir, struct ubi_map *m)
{
	*m = (struct ubi_map){ .handle = att, .dir = dir };
	return ioctl(imp, UBI_MAP, m) ? -errno : 0;
}

static int imp_unmap(int imp, uint32_t map)
{
	struct ubi_detach d = { .handle = map };

	return ioctl(imp, UBI_UNMAP, &d) ? -errno : 0;
}

/* Detach; the number of tables still mapped, or -errno. */
static int imp_detach(int imp, uint32_t att)
{
	struct ubi_detach d = { .handle = att };

	return ioctl(imp, UBI_DETACH, &d) ? -errno : (int)d.mapped;
}

/* The entries of a mapped table: their number, or -errno. */
static int imp_sg(int imp, uint32_t map, struct ubi_sg_entry *e, uint32_t room)
{
	struct ubi_sg s = { .map = map, .count = room, .entries = (uintptr_t)e };

	if (ioctl(imp, UBI_SG, &s))
		return -errno;
	return s.count <= room ? (int)s.count : -E2BIG;
}

/* Read @len bytes of the dma-buf @fd through vmap: 0 or -errno. */
static int imp_vmap(int imp, int fd, void *buf, size_t len, struct ubi_vmap *v)
{
	*v = (struct ubi_vmap){ .fd = fd, .buf = (uintptr_t)buf, .len = len };
	return ioctl(imp, UBI_VMAP, v) ? -errno : 0;
}

/* PFNs of @n pages from page-aligned @addr (root sees them): 0 or -errno. */
static int pagemap_pfns(const void *addr, size_t n, uint64_t *pfn)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t len;
	size_t i;

	if (fd < 0)
		return -errno;
	len = pread(fd, pfn, n * sizeof(*pfn),
		    (uintptr_t)addr / UB_PAGE * sizeof(*pfn));
	close(fd);
	if (len != (ssize_t)(n * sizeof(*pfn)))
		return len < 0 ? -errno : -EIO;
	for (i = 0; i < n; i++) {
		if (!(pfn[i] & PM_PRESENT) || !(pfn[i] & PM_PFN_MASK))
			return -ENOENT;
		pfn[i] &= PM_PFN_MASK;
	}
	return 0;
}

/* --- buffers ------------------------------------------------------------ */

enum kind { RO_UNALIGNED, COPY_UNALIGNED, MEMFD, THP, HUGETLB };

/* Where an unaligned range starts in its first page, and its length. */
#define UNALIGNED_OFF	0x810
#define UNALIGNED_LEN	(3 * UB_PAGE + 100)

struct buf {
	int fd;			/* the dma-buf */
	size_t size;		/* its size */
	size_t npages;
	uint32_t data_offset;
	uint32_t dir;		/* the direction the importer maps it with */
	uint8_t *data;		/* the caller's first byte */
	uint8_t *page0;		/* the caller's mapping of page 0 of the
				 * buffer, NULL if none shows its pages */
	bool huge;		/* made of 2 MiB pages */
	void *map;		/* to munmap */
	size_t map_len;
	int memfd;
	struct udmabuf_ext_info info;
};

static void buf_free(struct buf *b)
{
	if (b->fd >= 0)
		close(b->fd);
	if (b->map && b->map != MAP_FAILED)
		munmap(b->map, b->map_len);
	if (b->memfd >= 0)
		close(b->memfd);
	memset(b, 0, sizeof(*b));
	b->fd = b->memfd = -1;
}

/* An anonymous mapping of @len bytes, 2 MiB aligned if @align. */
static void *map_anon(struct buf *b, size_t len, bool align, int flags)
{
	uint8_t *p;

	b->map_len = len + (align ? UB_HPAGE : 0);
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	if (b->map == MAP_FAILED)
		return NULL;
	p = b->map;
	if (align)
		p = (uint8_t *)(((uintptr_t)p + UB_HPAGE - 1) & ~(UB_HPAGE - 1));
	return p;
}

/*
 * Make a buffer of @kind: 0, -errno, or 1 with a skip reason in @why.
 * The caller's bytes hold ub_fill(seed 7) before the create.
 */
static int buf_make(int dev, enum kind kind, struct buf *b, char *why,
		    size_t len)
{
	struct udmabuf_ext_create out;
	struct udmabuf_ext_item it = { .kind = UDMABUF_EXT_ITEM_USER };
	uint32_t mode = UDMABUF_EXT_MODE_PIN, flags = 0;
	uint8_t *p;

	memset(b, 0, sizeof(*b));
	b->fd = b->memfd = -1;
	b->dir = UBI_DMA_BIDIRECTIONAL;
	switch (kind) {
	case RO_UNALIGNED:
	case COPY_UNALIGNED:
		/* Like a malloc() pointer: mid-page, odd length. */
		p = map_anon(b, 6 * UB_PAGE, false, 0);
		if (!p)
			return -errno;
		ub_fill(p, 6 * UB_PAGE, 7);
		it.start = (uintptr_t)p + UB_PAGE + UNALIGNED_OFF;
		it.size = UNALIGNED_LEN;
		if (kind == RO_UNALIGNED) {
			flags = UDMABUF_EXT_FLAGS_READ_ONLY;
			b->dir = UBI_DMA_TO_DEVICE;
			b->page0 = p + UB_PAGE;
		} else {
			mode = UDMABUF_EXT_MODE_COPY;
		}
		break;
	case MEMFD:
		b->memfd = ub_memfd(8 * UB_PAGE, F_SEAL_SHRINK, false);
		if (b->memfd < 0)
			return b->memfd;
		b->map_len = 8 * UB_PAGE;
		b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE,
			      MAP_SHARED, b->memfd, 0);
		if (b->map == MAP_FAILED)
			return -errno;
		ub_fill(b->map, b->map_len, 7);
		it = (struct udmabuf_ext_item){
			.kind = UDMABUF_EXT_ITEM_MEMFD, .memfd = b->memfd,
			.start = 2 * UB_PAGE, .size = 5 * UB_PAGE,
		};
		b->page0 = (uint8_t *)b->map + 2 * UB_PAGE;
		break;
	case THP:
	case HUGETLB:
		p = map_anon(b, 2 * UB_HPAGE, kind == THP,
			     kind == HUGETLB ? MAP_HUGETLB : 0);
		if (!p && kind == HUGETLB) {
			snprintf(why, len, "no 2 MiB hugetlb pages (MAP_HUGETLB: %s; boot with hugepages=)",
				 strerror(errno));
			return 1;
		}
		if (!p)
			return -errno;
		if (kind == THP && madvise(p, 2 * UB_HPAGE, MADV_HUGEPAGE)) {
			snprintf(why, len, "MADV_HUGEPAGE: %s", strerror(errno));
			return 1;
		}
		ub_fill(p, 2 * UB_HPAGE, 7);
		it.start = (uintptr_t)p;
		it.size = 2 * UB_HPAGE;
		b->page0 = p;
		b->huge = true;
		break;
	}
	b->data = b->memfd >= 0 ? b->page0 : (uint8_t *)(uintptr_t)it.start;
	b->fd = ub_ext_create(dev, &it, 1, mode, flags, &out);
	if (b->fd < 0)
		return b->fd;
	b->size = out.size;
	b->npages = out.size / UB_PAGE;
	b->data_offset = out.data_offset;
	if (ub_info(dev, b->fd, &b->info))
		return -errno;
	if (kind == THP && !(b->info.source & UDMABUF_EXT_SOURCE_THP)) {
		snprintf(why, len, "no transparent huge page in the range (THP disabled?)");
		return 1;
	}
	return 0;
}

/*
 * Write marker(@seed, i) at the start of each page i of the buffer, through
 * the caller's mapping of the pages where there is one, else through the
 * dma-buf's mmap; then check that the dma-buf's mmap shows them.
 */
static int buf_mark(struct buf *b, uint32_t seed)
{
	uint8_t *m = mmap(NULL, b->size, PROT_READ | (b->page0 ? 0 : PROT_WRITE),
			  MAP_SHARED, b->fd, 0);
	int ret = 0;
	size_t i;

	if (m == MAP_FAILED)
		return -errno;
	for (i = 0; i < b->npages; i++) {
		uint64_t v = marker(seed, i);

		memcpy((b->page0 ? b->page0 : m) + i * UB_PAGE, &v, sizeof(v));
	}
	for (i = 0; i < b->npages && !ret; i++) {
		uint64_t v;

		memcpy(&v, m + i * UB_PAGE, sizeof(v));
		if (v != marker(seed, i))
			ret = -EIO;
	}
	munmap(m, b->size);
	return ret;
}

/* --- the fixture ---------------------------------------------------------- */

FIXTURE(contract) {
	int dev;
	int imp;
	bool expect_iommu;
	struct buf b;
	struct ubi_sg_entry *ent;
};

FIXTURE_VARIANT(contract) {
	uint32_t target;
};

FIXTURE_VARIANT_ADD(contract, platform) { .target = UBI_TARGET_PLATFORM };
FIXTURE_VARIANT_ADD(contract, platform_seg64k) {
	.target = UBI_TARGET_PLATFORM_SEG
};
FIXTURE_VARIANT_ADD(contract, pci) { .target = UBI_TARGET_PCI };

/*
 * Is the importer bound to a pci-testdev? Then @type is its IOMMU group's
 * type ("" without one): "DMA" or "DMA-FQ" when the IOMMU translates.
 */
static bool have_pci_target(char *type, size_t len)
{
	DIR *d = opendir(IMP_PCI_DRIVER);
	char path[512];
	struct dirent *e;
	bool found = false;
	FILE *f;

	type[0] = 0;
	while (d && !found && (e = readdir(d))) {
		if (e->d_name[0] != '0')	/* a PCI address, 0000:... */
			continue;
		found = true;
		snprintf(path, sizeof(path), IMP_PCI_DRIVER "%.64s/iommu_group/type",
			 e->d_name);
		f = fopen(path, "r");
		if (f && fgets(type, len, f))
			type[strcspn(type, "\n")] = 0;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

FIXTURE_SETUP(contract)
{
	char why[1000], type[32];

	self->b.fd = self->b.memfd = -1;
	self->imp = -1;
	self->expect_iommu = getenv("UB_EXPECT_IOMMU") != NULL;
	self->ent = calloc(MAX_ENTRIES, sizeof(*self->ent));
	ASSERT_NE(NULL, self->ent);
	self->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("%s: %s", UB_DEV, strerror(errno));
	self->imp = importer_open(why, sizeof(why));
	if (self->imp < 0)
		SKIP(return, "%s", why);
	if (variant->target != UBI_TARGET_PCI)
		return;
	if (!have_pci_target(type, sizeof(type))) {
		ASSERT_FALSE(self->expect_iommu)
			TH_LOG("UB_EXPECT_IOMMU: the guest needs QEMU's pci-testdev behind the IOMMU (tests/suites/iommu)");
		SKIP(return, "no QEMU pci-testdev in this guest (tests/suites/iommu adds one)");
	}
	if (self->expect_iommu)
		ASSERT_TRUE(!strcmp(type, "DMA") || !strcmp(type, "DMA-FQ"))
			TH_LOG("pci-testdev's IOMMU group type is '%s': not translated", type);
}

FIXTURE_TEARDOWN(contract)
{
	buf_free(&self->b);
	if (self->imp >= 0)
		close(self->imp);
	if (self->dev >= 0)
		close(self->dev);
	free(self->ent);
}

/*
 * Make a buffer of @kind in self->b and attach it to the variant's device:
 * the attachment handle; skips the test if the buffer cannot be had here.
 */
#define SETUP_BUF(kind, att)						\
	do {								\
		char _why[256];						\
		int _ret;						\
									\
		UB_RETURN_IF_SKIPPED();					\
		_ret = buf_make(self->dev, kind, &self->b, _why,	\
				sizeof(_why));				\
		if (_ret == 1)						\
			SKIP(return, "%s", _why);			\
		ASSERT_EQ(0, _ret) TH_LOG("create: %s", strerror(-_ret)); \
		ASSERT_EQ(0, imp_attach(self->imp, self->b.fd,		\
					variant->target, (att)));	\
		if (variant->target == UBI_TARGET_PCI &&		\
		    self->expect_iommu)					\
			ASSERT_EQ(1, (att)->iommu)			\
				TH_LOG("pci-testdev is not behind an IOMMU"); \
	} while (0)

/* The checks of the sg_* cases on the buffer in self->b. */
static void check_sg(struct __test_metadata *_metadata,
		     FIXTURE_DATA(contract) *self, const struct ubi_attach *a)
{
	struct buf *b = &self->b;
	struct ubi_map m;
	uint64_t *pfn = NULL, total = 0, dma_total = 0;
	size_t page = 0;
	int n, i;

	/* The unaligned ranges start at UNALIGNED_OFF; the others at 0. */
	ASSERT_EQ(b->huge || b->memfd >= 0 ? 0 : UNALIGNED_OFF, b->data_offset);
	ASSERT_EQ(0, buf_mark(b, 11)) TH_LOG("the dma-buf mmap does not show the buffer's pages");
	ASSERT_EQ(0, imp_map(self->imp, a->handle, b->dir, &m));
	n = imp_sg(self->imp, m.map, self->ent, MAX_ENTRIES);
	ASSERT_LT(0, n) TH_LOG("UBI_SG: %s", strerror(-n));
	ksft_print_msg("size %zu, data_offset %u, %u runs; max segment %u: %d entries, %u DMA segments%s\n",
		       b->size, b->data_offset, (unsigned int)b->info.nr_segments,
		       a->max_segment, n, m.nents, a->iommu ? " (IOMMU)" : "");
	if (b->page0) {
		pfn = calloc(b->npages, sizeof(*pfn));
		ASSERT_NE(NULL, pfn);
		ASSERT_EQ(0, pagemap_pfns(b->page0, b->npages, pfn));
	}
	for (i = 0; i < n; i++) {
		const struct ubi_sg_entry *e = &self->ent[i];
		uint32_t k;

		EXPECT_EQ(0, e->offset) TH_LOG("entry %d starts at offset %#x of its page", i, e->offset);
		EXPECT_EQ(0, e->length % UB_PAGE) TH_LOG("entry %d: length %#x", i, e->length);
		EXPECT_LT(0, e->length);
		EXPECT_GE(a->max_segment, e->length);
		if (b->huge && a->max_segment >= UB_HPAGE)
			EXPECT_EQ(0, e->length % UB_HPAGE)
				TH_LOG("entry %d: %#x bytes: a huge page split", i, e->length);
		ASSERT_GT(b->npages, page);
		EXPECT_EQ(marker(11, page), e->head)
			TH_LOG("entry %d's page is not page %zu of the buffer", i, page);
		for (k = 0; pfn && k < e->length / UB_PAGE && page + k < b->npages; k++)
			EXPECT_EQ(pfn[page + k], e->pfn + k)
				TH_LOG("page %zu: pagemap pfn %#llx, entry %d pfn %#llx + %u", page + k,
				       (unsigned long long)pfn[page + k], i,
				       (unsigned long long)e->pfn, k);
		total += e->length;
		page += e->length / UB_PAGE;
		if ((uint32_t)i >= m.nents)
			continue;
		dma_total += e->dma_length;
		if (a->iommu) {
			EXPECT_EQ(0, e->dma_address % UB_PAGE);
			EXPECT_EQ(0, e->dma_length % UB_PAGE);
		} else {
			EXPECT_EQ(e->pfn * UB_PAGE + e->offset, e->dma_address);
			EXPECT_EQ(e->length, e->dma_length);
		}
	}
	EXPECT_EQ(b->size, total);
	EXPECT_EQ(b->size, dma_total);
	if (!a->iommu)
		EXPECT_EQ((uint32_t)n, m.nents);
	/* Runs of contiguous pages are one entry each when the device allows. */
	if (a->max_segment == UINT_MAX) {
		EXPECT_EQ(b->info.nr_segments, (uint64_t)n);
	} else {
		EXPECT_LE(b->info.nr_segments, (uint64_t)n);
	}
	free(pfn);
	EXPECT_EQ(0, imp_unmap(self->imp, m.map));
	EXPECT_EQ(0, imp_detach(self->imp, a->handle));
}

/* A sg_* case: a buffer of @kind checked by check_sg(). */
#define SG_CASE(name, kind)						\
	TEST_F(contract, sg_##name)					\
	{								\
		struct ubi_attach a;					\
									\
		SETUP_BUF(kind, &a);					\
		check_sg(_metadata, self, &a);				\
	}

SG_CASE(read_only_unaligned, RO_UNALIGNED)
SG_CASE(copy_unaligned, COPY_UNALIGNED)
SG_CASE(memfd, MEMFD)
SG_CASE(thp, THP)
SG_CASE(hugetlb, HUGETLB)

/*
 * The kernel mapping and the mmap are the same bytes from byte 0, and the
 * caller's first byte is at data_offset in both.
 */
TEST_F(contract, vmap_is_mmap)
{
	struct ubi_attach a;
	struct ubi_vmap v;
	uint8_t *m, *k;
	size_t i;

	SETUP_BUF(COPY_UNALIGNED, &a);
	ASSERT_NE(0, self->b.data_offset);
	m = mmap(NULL, self->b.size, PROT_READ, MAP_SHARED, self->b.fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	k = calloc(1, self->b.size);
	ASSERT_NE(NULL, k);
	ASSERT_EQ(0, imp_vmap(self->imp, self->b.fd, k, self->b.size, &v));
	EXPECT_EQ(self->b.size, v.size);
	EXPECT_EQ(self->b.size, v.readable)
		TH_LOG("vmap covers %llu of %zu bytes", (unsigned long long)v.readable,
		       self->b.size);
	EXPECT_EQ(m[0], k[0]);
	EXPECT_EQ(self->b.data[0], m[self->b.data_offset]);
	EXPECT_EQ(self->b.data[0], k[self->b.data_offset]);
	for (i = 0; i < v.readable && m[i] == k[i]; i++)
		;
	EXPECT_EQ(v.readable, i) TH_LOG("vmap and mmap differ at byte %zu", i);
	EXPECT_EQ(0, memcmp(m + self->b.data_offset, self->b.data, UNALIGNED_LEN));
	free(k);
	munmap(m, self->b.size);
	EXPECT_EQ(0, imp_detach(self->imp, a.handle));
}

TEST_F(contract, map_twice)
{
	long m0 = ub_stat("mappings"), m[4];
	struct ubi_map m1, m2;
	struct ubi_attach a;
	int ret;

	SETUP_BUF(MEMFD, &a);
	ASSERT_EQ(0, imp_map(self->imp, a.handle, UBI_DMA_BIDIRECTIONAL, &m1));
	m[0] = ub_stat("mappings");
	ret = imp_map(self->imp, a.handle, UBI_DMA_TO_DEVICE, &m2);
	ASSERT_EQ(0, ret) TH_LOG("second map of one attachment: %s", strerror(-ret));
	m[1] = ub_stat("mappings");
	EXPECT_EQ(0, m2.shared) TH_LOG("the second map returned the first table again");
	EXPECT_EQ(m1.orig_nents, m2.orig_nents);
	EXPECT_EQ(0, imp_unmap(self->imp, m1.map));
	m[2] = ub_stat("mappings");
	EXPECT_EQ(0, imp_unmap(self->imp, m2.map));
	m[3] = ub_stat("mappings");
	EXPECT_EQ(0, imp_detach(self->imp, a.handle));
	/* The module's counter followed. */
	ASSERT_LE(0, m0) TH_LOG("no mappings counter in " UB_STATS);
	EXPECT_EQ(m0 + 1, m[0]);
	EXPECT_EQ(m0 + 2, m[1]);
	EXPECT_EQ(m0 + 1, m[2]);
	EXPECT_EQ(m0, m[3]);
}

/*
 * Twice: an attachment detached with a table mapped. The exporter unmaps
 * it; the log says so once in all.
 */
TEST_F(contract, detach_mapped)
{
	long m0 = ub_stat("mappings"), a0 = ub_stat("attachments");
	struct ubi_attach a;
	struct ubi_map m;
	int round, n;

	SETUP_BUF(MEMFD, &a);
	for (round = 0; round < 2; round++) {
		if (round)
			ASSERT_EQ(0, imp_attach(self->imp, self->b.fd,
						variant->target, &a));
		EXPECT_EQ(a0 + 1, ub_stat("attachments"));
		ASSERT_EQ(0, imp_map(self->imp, a.handle, UBI_DMA_BIDIRECTIONAL,
				     &m));
		EXPECT_EQ(m0 + 1, ub_stat("mappings"));
		EXPECT_EQ(1, imp_detach(self->imp, a.handle));
		EXPECT_EQ(m0, ub_stat("mappings"))
			TH_LOG("round %d: the table left mapped at detach was not unmapped", round);
		EXPECT_EQ(a0, ub_stat("attachments"));
	}
	n = ub_kmsg_count(DETACH_MSG);
	EXPECT_EQ(1, n) TH_LOG("\"%s\" logged %d times", DETACH_MSG, n);
	EXPECT_LE(0, m0) TH_LOG("no mappings counter in " UB_STATS);
}

TEST_F(contract, read_only)
{
	struct ubi_attach a;
	struct ubi_map m;
	struct ubi_vmap v;
	uint8_t byte;

	SETUP_BUF(RO_UNALIGNED, &a);
	EXPECT_EQ(-EACCES, imp_map(self->imp, a.handle, UBI_DMA_FROM_DEVICE, &m));
	EXPECT_EQ(-EACCES, imp_map(self->imp, a.handle, UBI_DMA_BIDIRECTIONAL, &m));
	ASSERT_EQ(0, imp_map(self->imp, a.handle, UBI_DMA_TO_DEVICE, &m));
	EXPECT_EQ(0, imp_unmap(self->imp, m.map));
	EXPECT_EQ(-EINVAL, imp_vmap(self->imp, self->b.fd, &byte, 1, &v));
	EXPECT_EQ(0, imp_detach(self->imp, a.handle));
}

/*
 * Last (a fixture of its own, as the harness runs plain TESTs first): the
 * importer, if this program loaded it, unloads: it holds nothing once its
 * files are closed.
 */
FIXTURE(importer) {
};

FIXTURE_SETUP(importer)
{
}

FIXTURE_TEARDOWN(importer)
{
}

TEST_F(importer, unloads)
{
	if (access(loaded_flag, F_OK))
		SKIP(return, "the test importer was not loaded by this program");
	unlink(loaded_flag);
	ASSERT_EQ(0, syscall(SYS_delete_module, IMP_MODULE, O_NONBLOCK))
		TH_LOG("rmmod %s: %s", IMP_MODULE, strerror(errno));
}

TEST_HARNESS_MAIN
