// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA segments as importers really get them, with and without an IOMMU.
 *
 * The module logs every map_dma_buf with dev_dbg ("udmabuf-ext: buffer ID
 * mapped, N segments", N = the mapped table's nents), which dynamic debug
 * turns on here. Buffers are imported into:
 * - vgem, a platform device with no IOMMU in front of it (dma-direct), whose
 *   maximum segment is dma_get_max_seg_size()'s default, 64 KiB: each run
 *   of physically contiguous pages becomes ceil(run / 64 KiB) segments;
 * - cirrus (QEMU's cirrus-vga, a PCI device, max segment 64 KiB set by the
 *   PCI core), which in tests/suites/iommu sits behind QEMU's intel-iommu
 *   with intel_iommu=on iommu=nopt: dma-iommu maps the scattered pages of a
 *   buffer to contiguous IOVA and merges them up to 64 KiB, so 16 scattered
 *   pages are 1 segment where dma-direct gives 16.
 * With UB_EXPECT_IOMMU=1 (set by tests/suites/iommu) the IOMMU must be
 * active: an entry in /sys/class/iommu, "DMAR: IOMMU enabled" in the log,
 * and cirrus in an IOMMU group of type DMA or DMA-FQ (translated, not
 * identity-mapped).
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <dirent.h>
#include <sys/sysmacros.h>
#include <limits.h>

#include "race_util.h"
#include "kselftest_harness.h"

#define PG		UB_PAGE
#define MAX_SEG		(64u << 10)
#define DDEBUG		"/sys/kernel/debug/dynamic_debug/control"

static int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The segment count logged for buffer @id by a device whose name starts
 * with @drv, or -1 if none was logged since @kmsg was opened.
 */
static long logged_segments(int kmsg, const char *drv, uint64_t id)
{
	char rec[1024], want[64];
	long n = -1;
	ssize_t len;

	snprintf(want, sizeof(want), "udmabuf-ext: buffer %llu mapped, ",
		 (unsigned long long)id);
	for (;;) {
		char *msg, *hit;

		len = read(kmsg, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		/* "<driver or bus> <device>: udmabuf-ext: buffer ..." */
		hit = strstr(msg, want);
		if (hit && memmem(msg, hit - msg, drv, strlen(drv)))
			n = strtol(hit + strlen(want), NULL, 10);
	}
	return n;
}

/* True if the kernel log (from boot) has a line containing @s. */
static bool log_has(const char *s)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char rec[1024];
	bool found = false;
	ssize_t len;

	if (fd < 0)
		return false;
	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = 0;
		if (strstr(rec, s))
			found = true;
	}
	close(fd);
	return found;
}

/* The IOMMU group type of the device behind DRM card @drm ("" if none). */
static void group_type(int drm, char *type, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct stat st;
	ssize_t n;
	FILE *f;

	type[0] = 0;
	if (fstat(drm, &st))
		return;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/iommu_group",
		 major(st.st_rdev), minor(st.st_rdev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return;
	link[n] = 0;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/type",
		 strrchr(link, '/') + 1);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(type, len, f))
		type[strcspn(type, "\n")] = 0;
	fclose(f);
}

static bool have_iommu_class(void)
{
	DIR *d = opendir("/sys/class/iommu");
	struct dirent *e;
	bool any = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			any = true;
	closedir(d);
	return any;
}

FIXTURE(seg) {
	int dev, vgem, cirrus, kmsg;
	bool expect_iommu;
};

/*
 * @n pages of which no two neighbours are physically consecutive: every
 * other page of a 2n-page region, moved (mremap) in reverse order.
 */
static uint8_t *scattered_pages(int n)
{
	uint8_t *r, *t;
	int j;

	r = mmap(NULL, 2 * n * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED || t == MAP_FAILED)
		return MAP_FAILED;
	madvise(r, 2 * n * PG, MADV_NOHUGEPAGE);
	for (j = 0; j < 2 * n; j++)
		r[j * PG] = j;
	for (j = 0; j < n; j++)
		if (mremap(r + 2 * (n - 1 - j) * PG, PG, PG,
			   MREMAP_MAYMOVE | MREMAP_FIXED, t + j * PG) == MAP_FAILED)
			return MAP_FAILED;
	munmap(r, 2 * n * PG);
	return t;
}

/*
 * A PIN buffer of @n scattered pages: every page its own run (the allocator
 * may still hand out two consecutive pages: try again). Returns the fd, *@p
 * the memory.
 */
static int scattered_buffer(int dev, int n, uint8_t **p)
{
	struct udmabuf_ext_info info;
	int tries, fd = -1;

	for (tries = 0; tries < 8; tries++) {
		*p = scattered_pages(n);
		if (*p == MAP_FAILED)
			return -ENOMEM;
		fd = ub_ext_create_user(dev, *p, n * PG, UDMABUF_EXT_MODE_PIN, 0);
		if (fd < 0 || ub_info(dev, fd, &info) ||
		    info.nr_segments == info.nr_pages)
			return fd;
		close(fd);
		munmap(*p, n * PG);
	}
	return -EAGAIN;
}

FIXTURE_SETUP(seg)
{
	self->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	self->vgem = ub_drm_open("vgem");
	self->cirrus = ub_drm_open("cirrus");
	self->expect_iommu = getenv("UB_EXPECT_IOMMU") != NULL;
	if (ub_write_str(DDEBUG, "module udmabuf_ext +p"))
		SKIP(return, "no dynamic debug control (%s)", DDEBUG);
	self->kmsg = kmsg_open_end();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(seg)
{
	ub_write_str(DDEBUG, "module udmabuf_ext -p");
	if (self->vgem >= 0)
		close(self->vgem);
	if (self->cirrus >= 0)
		close(self->cirrus);
	close(self->kmsg);
	close(self->dev);
}

/* Import @fd into @drm; the logged segment count or -errno. */
static long import_segments(int drm, const char *drv, int kmsg, int dev, int fd)
{
	struct udmabuf_ext_info info;
	uint32_t h;
	long n;
	int ret;

	ret = ub_info(dev, fd, &info);
	if (ret)
		return ret;
	lseek(kmsg, 0, SEEK_END);
	ret = ub_prime_import(drm, fd, &h);
	if (ret)
		return ret;
	n = logged_segments(kmsg, drv, info.id);
	ub_gem_close(drm, h);
	return n < 0 ? -ENOENT : n;
}

TEST_F(seg, iommu_is_active)
{
	char type[32];

	UB_RETURN_IF_SKIPPED();
	if (!self->expect_iommu)
		SKIP(return, "UB_EXPECT_IOMMU not set (tests/suites/iommu sets it)");
	EXPECT_TRUE(have_iommu_class()) TH_LOG("/sys/class/iommu is empty");
	EXPECT_TRUE(log_has("DMAR: IOMMU enabled"));
	ASSERT_LE(0, self->cirrus) TH_LOG("no cirrus card: -device cirrus-vga, modprobe cirrus");
	group_type(self->cirrus, type, sizeof(type));
	ksft_print_msg("cirrus is in an IOMMU group of type '%s'\n", type);
	EXPECT_TRUE(!strcmp(type, "DMA") || !strcmp(type, "DMA-FQ"))
		TH_LOG("cirrus's IOMMU group type is '%s': not translated", type);
}

/* vgem (dma-direct): one segment per 64 KiB of each run. */
TEST_F(seg, vgem_direct_scattered)
{
	struct udmabuf_ext_info info;
	long n;
	int fd;

	UB_RETURN_IF_SKIPPED();
	if (self->vgem < 0)
		SKIP(return, "no vgem");
	uint8_t *p;

	fd = scattered_buffer(self->dev, 16, &p);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	n = import_segments(self->vgem, "vgem", self->kmsg, self->dev, fd);
	ksft_print_msg("vgem: 16 pages in %llu runs -> %ld DMA segments\n",
		       (unsigned long long)info.nr_segments, n);
	ASSERT_EQ(info.nr_pages, info.nr_segments) TH_LOG("pages not scattered");
	EXPECT_EQ(16, n);
	close(fd);
}

static uint8_t *huge_region(bool hugetlb)
{
	uint8_t *p;

	if (hugetlb) {
		p = mmap(NULL, UB_HPAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	} else {
		uint8_t *a = mmap(NULL, 2 * UB_HPAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a == MAP_FAILED)
			return a;
		p = (uint8_t *)(((uintptr_t)a + UB_HPAGE - 1) & ~(UB_HPAGE - 1));
		madvise(p, UB_HPAGE, MADV_HUGEPAGE);
	}
	if (p != MAP_FAILED)
		memset(p, 0x11, UB_HPAGE);
	return p;
}

/*
 * A 2 MiB huge page is one run of 512 pages: 32 segments of 64 KiB, with
 * or without an IOMMU (64 KiB is each device's limit either way).
 */
static void huge_case(struct __test_metadata *_metadata, FIXTURE_DATA(seg) *self,
		      bool hugetlb, int drm, const char *drv)
{
	struct udmabuf_ext_info info;
	uint8_t *p = huge_region(hugetlb);
	long n;
	int fd;

	if (p == MAP_FAILED)
		SKIP(return, "no %s page", hugetlb ? "free hugetlb" : "THP");
	fd = ub_ext_create_user(self->dev, p, UB_HPAGE, UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	n = import_segments(drm, drv, self->kmsg, self->dev, fd);
	ksft_print_msg("%s: 2 MiB %s in %llu runs -> %ld DMA segments (max segment 64 KiB)\n",
		       drv, hugetlb ? "hugetlb page" : "THP",
		       (unsigned long long)info.nr_segments, n);
	if (info.nr_segments == 1) {
		EXPECT_EQ(UB_HPAGE / MAX_SEG, n);
	} else if (!hugetlb) {
		SKIP(goto out, "no THP formed (%llu runs)",
		     (unsigned long long)info.nr_segments);
	} else {
		EXPECT_EQ(1, info.nr_segments);
	}
out:
	close(fd);
}

TEST_F(seg, vgem_direct_hugetlb)
{
	UB_RETURN_IF_SKIPPED();
	if (self->vgem < 0)
		SKIP(return, "no vgem");
	huge_case(_metadata, self, true, self->vgem, "vgem");
}

TEST_F(seg, vgem_direct_thp)
{
	UB_RETURN_IF_SKIPPED();
	if (self->vgem < 0)
		SKIP(return, "no vgem");
	huge_case(_metadata, self, false, self->vgem, "vgem");
}

/* Through the IOMMU, 16 scattered pages become one 64 KiB IOVA segment. */
TEST_F(seg, cirrus_iommu_merges_scattered_pages)
{
	struct udmabuf_ext_info info;
	long n;
	int fd;

	UB_RETURN_IF_SKIPPED();
	if (self->cirrus < 0)
		SKIP(return, "no cirrus card (tests/suites/iommu has one)");
	uint8_t *p;

	fd = scattered_buffer(self->dev, 16, &p);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	n = import_segments(self->cirrus, "cirrus", self->kmsg, self->dev, fd);
	ksft_print_msg("cirrus: 16 pages in %llu runs -> %ld DMA segments\n",
		       (unsigned long long)info.nr_segments, n);
	ASSERT_EQ(info.nr_pages, info.nr_segments) TH_LOG("pages not scattered");
	if (self->expect_iommu) {
		EXPECT_EQ(1, n);	/* ceil(16 pages / 64 KiB) */
	} else {
		EXPECT_EQ(16, n);
	}
	close(fd);
}

/*
 * 48 scattered pages: three 64 KiB IOVA segments. (A writable range is page
 * aligned: every segment starts on a page boundary.)
 */
TEST_F(seg, cirrus_iommu_48_pages)
{
	struct udmabuf_ext_info info;
	uint8_t *p;
	long n;
	int fd;

	UB_RETURN_IF_SKIPPED();
	if (self->cirrus < 0)
		SKIP(return, "no cirrus card (tests/suites/iommu has one)");
	fd = scattered_buffer(self->dev, 48, &p);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	ASSERT_EQ(0, ub_info(self->dev, fd, &info));
	EXPECT_EQ(0, info.data_offset);
	n = import_segments(self->cirrus, "cirrus", self->kmsg, self->dev, fd);
	ksft_print_msg("cirrus: 48 pages in %llu runs -> %ld DMA segments\n",
		       (unsigned long long)info.nr_segments, n);
	ASSERT_EQ(info.nr_pages, info.nr_segments) TH_LOG("pages not scattered");
	if (self->expect_iommu) {
		EXPECT_EQ(3, n);	/* 16 + 16 + 16 pages */
	} else {
		EXPECT_EQ(48, n);
	}
	close(fd);
	munmap(p, 48 * PG);
}

TEST_F(seg, cirrus_iommu_hugetlb)
{
	UB_RETURN_IF_SKIPPED();
	if (self->cirrus < 0)
		SKIP(return, "no cirrus card (tests/suites/iommu has one)");
	huge_case(_metadata, self, true, self->cirrus, "cirrus");
}

/* The IOMMU enforces direction: a read-only buffer is refused read-write. */
TEST_F(seg, cirrus_read_only_buffer_refused)
{
	uint32_t h;
	int fd, ret;

	UB_RETURN_IF_SKIPPED();
	if (self->cirrus < 0)
		SKIP(return, "no cirrus card (tests/suites/iommu has one)");
	uint8_t *p = scattered_pages(16);

	ASSERT_NE(MAP_FAILED, p);
	fd = ub_ext_create_user(self->dev, p, 16 * PG,
				UDMABUF_EXT_MODE_PIN, UDMABUF_EXT_FLAGS_READ_ONLY);
	ASSERT_LE(0, fd);
	ret = ub_prime_import(self->cirrus, fd, &h);
	EXPECT_EQ(-EACCES, ret);
	if (!ret)
		ub_gem_close(self->cirrus, h);
	close(fd);
}

TEST_HARNESS_MAIN
