// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-bench: measure udmabuf-ext against the alternatives, in the guest.
 *
 * Group "create": for each backing (4k, thp, hugetlb) and size, and for each
 * method, one sample is
 *   create     the ioctl that makes the dma-buf (or the memcpy),
 *   map        an importer's first map_dma_buf: PRIME import into vgem, which
 *              in 6.1 attaches and maps the attachment (DMA_BIDIRECTIONAL)
 *              at import time,
 *   cpu        (memfd methods only) CPU access through the dma-buf's own
 *              mmap, as an application reads a buffer: mmap, SYNC_START,
 *              one load from every page (checked against the memfd), SYNC_END,
 *              munmap,
 *   release    close of the fd and of the GEM handle: the importer unmaps and
 *              detaches, the exporter's release op runs,
 * in nanoseconds of CLOCK_MONOTONIC. Methods:
 *   pin        UDMABUF_EXT_CREATE, USER item, PIN
 *   pin_ro     the same with READ_ONLY (vgem maps BIDIRECTIONAL, which a
 *              read-only buffer refuses: create and release only)
 *   move       MOVE (private anonymous memory only: not on hugetlb)
 *   copy       COPY: the in-kernel "just copy it" into kernel-owned pages
 *   memfd      UDMABUF_CREATE on /dev/udmabuf-ext (udmabuf-ext's memfd ABI,
 *              the same code as its drop-in /dev/udmabuf on 6.1)
 *   memfd_up   UDMABUF_CREATE on /dev/udmabuf-upstream (6.1's algorithm,
 *              built as a module by tools/bench/upstream-build)
 *   memfd_kernel UDMABUF_CREATE on the kernel's own /dev/udmabuf, where it
 *              has one (6.12: built in, memfd_pin_folios())
 *   memcpy     plain userspace memcpy of the same bytes into a faulted-in
 *              buffer (a reference line; "create" is the memcpy)
 *   memcpy_rep the same copy with rep movsq, the instruction the guest
 *              kernel's copy_from_user() uses: how much the emulator
 *              charges for string instructions
 * Methods run interleaved, the first one rotating from rep to rep, so that
 * load from outside the guest hits all of them alike; ratios are taken
 * within a rep.
 *
 * Group "v4l2": vivid capture at 1920x1080 YUYV, CPU time of this process
 * (CLOCK_PROCESS_CPUTIME_ID) and of the whole guest (/proc/stat) per frame
 * for DMABUF from heap memory through udmabuf-ext, USERPTR, MMAP, and
 * MMAP plus a memcpy of each frame into heap memory.
 *
 * Output: CSV, one line per measured value:
 *   group,backing,size,method,rep,metric,value
 * tools/bench/bench-report turns it into the summary, table and plots.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>
#include <xf86drm.h>

#include "udmabuf-ext.h"
#include "ub-media.h"

#define PAGE_SZ		4096UL
#define HPAGE_SZ	(2UL << 20)
#define DEV_EXT		"/dev/udmabuf-ext"
#define DEV_KERNEL	"/dev/udmabuf"
#define DEV_UPSTREAM	"/dev/udmabuf-upstream"
/* Present iff /dev/udmabuf is the kernel's own driver (module "udmabuf"). */
#define KERNEL_LIMIT	"/sys/module/udmabuf/parameters/size_limit_mb"
#define SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((a) - 1))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif

static FILE *out;
static int verbose = 1;
static bool warmup = true;
/* Written "1" before and "0" after each measured sample (e.g. ftrace). */
static const char *toggle_file;

static void msg(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void emit(const char *group, const char *backing, uint64_t size,
		 const char *method, int rep, const char *metric, double value)
{
	fprintf(out, "%s,%s,%" PRIu64 ",%s,%d,%s,%.0f\n", group, backing, size,
		method, rep, metric, value);
}

/* ---- sysfs/procfs knobs ------------------------------------------------ */

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static void toggle(bool on)
{
	if (toggle_file)
		write_file(toggle_file, on ? "1" : "0");
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* The bracketed choice of a sysfs setting such as "always [madvise] never". */
static int read_choice(const char *path, char *buf, size_t len)
{
	char all[256], *a, *b;
	int ret = read_file(path, all, sizeof(all));

	if (ret)
		return ret;
	a = strchr(all, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!b)
		return -EINVAL;
	*b = 0;
	snprintf(buf, len, "%s", a + 1);
	return 0;
}

static long hugepages_set(long n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", n);
	write_file(NR_HUGEPAGES, buf);
	if (read_file(NR_HUGEPAGES, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* ---- size parsing ------------------------------------------------------ */

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	return *end ? 0 : v;
}

static void size_name(uint64_t s, char *buf, size_t len)
{
	if (s >= (1ull << 30) && !(s & ((1ull << 30) - 1)))
		snprintf(buf, len, "%" PRIu64 "G", s >> 30);
	else if (s >= (1ull << 20) && !(s & ((1ull << 20) - 1)))
		snprintf(buf, len, "%" PRIu64 "M", s >> 20);
	else
		snprintf(buf, len, "%" PRIu64 "K", s >> 10);
}

/* ---- the methods ------------------------------------------------------- */

enum method {
	M_PIN, M_PIN_RO, M_MOVE, M_COPY, M_MEMFD, M_MEMFD_UP, M_MEMFD_KERNEL,
	M_MEMCPY, M_MEMCPY_REP, NR_METHODS
};

static const char * const method_name[NR_METHODS] = {
	[M_PIN] = "pin", [M_PIN_RO] = "pin_ro", [M_MOVE] = "move",
	[M_COPY] = "copy", [M_MEMFD] = "memfd", [M_MEMFD_UP] = "memfd_up",
	[M_MEMFD_KERNEL] = "memfd_kernel",
	[M_MEMCPY] = "memcpy", [M_MEMCPY_REP] = "memcpy_rep",
};

enum backing { B_4K, B_4KFRAG, B_THP, B_HUGETLB, NR_BACKINGS };

static const char * const backing_name[NR_BACKINGS] = {
	[B_4K] = "4k", [B_4KFRAG] = "4kfrag", [B_THP] = "thp",
	[B_HUGETLB] = "hugetlb",
};

struct env {
	int ext;	/* /dev/udmabuf-ext */
	int kern;	/* the kernel's own /dev/udmabuf, or -1 */
	int up;		/* /dev/udmabuf-upstream, or -1 */
	int drm;	/* vgem card, or -1 */
};

/*
 * The memory one (backing, size) is measured on:
 *   user   the USER range of pin/pin_ro/move/copy and memcpy's source:
 *          private anonymous memory (4k: MADV_NOHUGEPAGE, thp:
 *          MADV_HUGEPAGE, 2 MiB aligned), or for hugetlb the memfd's own
 *          shared mapping; 4kfrag is 4k faulted in last page first, so that
 *          no two pages are physically contiguous in address order (the
 *          worst case for runs, segments and metadata);
 *   memfd  a shmem (4k, thp) or hugetlbfs memfd sealed with F_SEAL_SHRINK,
 *          faulted in through its mapping mfd_map;
 *   dst    memcpy's destination: the memfd mapping (4k, thp), or faulted-in
 *          anonymous memory (hugetlb).
 */
struct src {
	enum backing b;
	uint64_t size;
	uint64_t span;		/* size rounded up to 2 MiB */
	void *user_map;		/* what to munmap for user (anon only) */
	size_t user_map_len;
	uint8_t *user;
	int memfd;
	uint8_t *mfd_map;
	uint8_t *dst;
	void *dst_map;
	size_t dst_map_len;
};

/*
 * Fault in @len bytes at @p with stores; @descending: last page first, so
 * that consecutive addresses get pages in descending physical order and no
 * two of them form a run (the worst case of a fragmented machine).
 */
static void touch(uint8_t *p, size_t len, int c, bool descending)
{
	size_t off;

	if (!descending) {
		memset(p, c, len);
		return;
	}
	for (off = ALIGN_UP(len, PAGE_SZ); off; off -= PAGE_SZ) {
		size_t page = off - PAGE_SZ;

		memset(p + page, c, off > len ? len - page : PAGE_SZ);
	}
}

/* An anonymous mapping of @len bytes at a 2 MiB boundary, faulted in. */
static uint8_t *anon_alloc(size_t len, bool huge, bool descending, void **map,
			   size_t *map_len)
{
	size_t mlen = ALIGN_UP(len, HPAGE_SZ) + HPAGE_SZ;
	uint8_t *p = mmap(NULL, mlen, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)ALIGN_UP((uintptr_t)p, HPAGE_SZ);
	madvise(a, ALIGN_UP(len, HPAGE_SZ), huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	touch(a, len, 0x5a, descending);
	*map = p;
	*map_len = mlen;
	return a;
}

static int src_user_alloc(struct src *s)
{
	if (s->b == B_HUGETLB) {
		s->user = s->mfd_map;
		return 0;
	}
	s->user = anon_alloc(s->size, s->b == B_THP, s->b == B_4KFRAG,
			     &s->user_map, &s->user_map_len);
	return s->user ? 0 : -ENOMEM;
}

static void src_user_free(struct src *s)
{
	if (s->user_map)
		munmap(s->user_map, s->user_map_len);
	s->user_map = NULL;
	s->user = NULL;
}

static void src_free(struct src *s)
{
	src_user_free(s);
	if (s->dst_map)
		munmap(s->dst_map, s->dst_map_len);
	if (s->mfd_map)
		munmap(s->mfd_map, s->span);
	if (s->memfd >= 0)
		close(s->memfd);
	s->dst_map = NULL;
	s->mfd_map = NULL;
	s->memfd = -1;
}

static int src_alloc(struct src *s, enum backing b, uint64_t size)
{
	unsigned int mfd_flags = MFD_ALLOW_SEALING | MFD_CLOEXEC;
	bool small;
	int ret;

	memset(s, 0, sizeof(*s));
	s->memfd = -1;
	s->b = b;
	s->size = size;
	s->span = ALIGN_UP(size, HPAGE_SZ);
	if (b == B_HUGETLB)
		mfd_flags |= MFD_HUGETLB;
	s->memfd = memfd_create("udmabuf-bench", mfd_flags);
	if (s->memfd < 0)
		return -errno;
	small = b == B_4K || b == B_4KFRAG;
	if (ftruncate(s->memfd, small ? size : s->span) ||
	    fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		ret = -errno;
		goto fail;
	}
	/* A 2 MiB aligned window, so that shmem can map huge folios. */
	{
		size_t l = s->span + HPAGE_SZ;
		uint8_t *r = mmap(NULL, l, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		uint8_t *a;

		if (r == MAP_FAILED) {
			ret = -errno;
			goto fail;
		}
		a = (uint8_t *)ALIGN_UP((uintptr_t)r, HPAGE_SZ);
		munmap(r, l);
		s->mfd_map = mmap(a, small ? size : s->span,
				  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				  s->memfd, 0);
		if (s->mfd_map == MAP_FAILED) {
			s->mfd_map = NULL;
			ret = -errno;
			goto fail;
		}
		if (b == B_THP)
			madvise(s->mfd_map, s->span, MADV_HUGEPAGE);
		if (small)
			s->span = size;	/* for munmap */
	}
	touch(s->mfd_map, s->size, 0xa5, b == B_4KFRAG);
	if (b == B_HUGETLB) {
		s->dst = anon_alloc(size, true, false, &s->dst_map,
				    &s->dst_map_len);
		if (!s->dst) {
			ret = -ENOMEM;
			goto fail;
		}
	} else {
		s->dst = s->mfd_map;
	}
	ret = src_user_alloc(s);
	if (ret)
		goto fail;
	return 0;
fail:
	src_free(s);
	return ret;
}

struct sample {
	uint64_t create, map, cpu, release;
	bool mapped, accessed;
	bool have_info;
	struct udmabuf_ext_info info;
};

static int ext_create(int dev, const void *addr, size_t size, uint32_t mode,
		      uint32_t flags)
{
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = (uintptr_t)addr, .size = size,
	};
	struct udmabuf_ext_create c = {
		.flags = flags | UDMABUF_EXT_FLAGS_CLOEXEC, .mode = mode,
		.count = 1, .items = (uintptr_t)&it,
	};

	if (ioctl(dev, UDMABUF_EXT_CREATE, &c))
		return -errno;
	return c.fd;
}

static int memfd_create_buf(int dev, int memfd, uint64_t size)
{
	struct udmabuf_create c = {
		.memfd = memfd, .flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = 0, .size = size,
	};
	int fd = ioctl(dev, UDMABUF_CREATE, &c);

	return fd < 0 ? -errno : fd;
}

static bool method_applies(enum method m, enum backing b, const struct env *e)
{
	switch (m) {
	case M_MOVE:
		return b != B_HUGETLB;	/* private anonymous memory only */
	case M_MEMFD_UP:
		return e->up >= 0;
	case M_MEMFD_KERNEL:
		return e->kern >= 0;
	default:
		return true;
	}
}

static bool is_memfd_method(enum method m)
{
	return m == M_MEMFD || m == M_MEMFD_UP || m == M_MEMFD_KERNEL;
}

/*
 * CPU access to dma-buf @fd of @s's memfd through the dma-buf's own mmap,
 * as an application reads a buffer: mmap, DMA_BUF_IOCTL_SYNC START, one
 * load from every page, SYNC END, munmap. Every page must show the bytes
 * of the memfd (all alike: each method fills the whole range), or -EIO.
 */
static int cpu_access(int fd, const struct src *s, uint64_t *ns)
{
	struct dma_buf_sync sync = {
		.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
	};
	const uint8_t want = s->mfd_map[0];
	const volatile uint8_t *p;
	uint64_t t0 = now_ns();
	unsigned int bad = 0;
	size_t off;
	int ret = 0;

	p = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync))
		ret = -errno;
	for (off = 0; off < s->size; off += PAGE_SZ)
		bad |= p[off] ^ want;
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) && !ret)
		ret = -errno;
	munmap((void *)p, s->size);
	*ns = now_ns() - t0;
	return ret ? ret : bad ? -EIO : 0;
}

/* One sample of @m; 0 or -errno (nothing is left behind either way). */
static int run_method(const struct env *e, struct src *s, enum method m,
		      struct sample *r)
{
	uint64_t t0, t1, t2, t3;
	uint32_t handle = 0;
	int fd, ret = 0;

	memset(r, 0, sizeof(*r));
	t0 = now_ns();
	switch (m) {
	case M_PIN:
		fd = ext_create(e->ext, s->user, s->size, UDMABUF_EXT_MODE_PIN, 0);
		break;
	case M_PIN_RO:
		fd = ext_create(e->ext, s->user, s->size, UDMABUF_EXT_MODE_PIN,
				UDMABUF_EXT_FLAGS_READ_ONLY);
		break;
	case M_MOVE:
		fd = ext_create(e->ext, s->user, s->size, UDMABUF_EXT_MODE_MOVE, 0);
		break;
	case M_COPY:
		fd = ext_create(e->ext, s->user, s->size, UDMABUF_EXT_MODE_COPY, 0);
		break;
	case M_MEMFD:
		fd = memfd_create_buf(e->ext, s->memfd, s->size);
		break;
	case M_MEMFD_UP:
		fd = memfd_create_buf(e->up, s->memfd, s->size);
		break;
	case M_MEMFD_KERNEL:
		fd = memfd_create_buf(e->kern, s->memfd, s->size);
		break;
	case M_MEMCPY:
		memcpy(s->dst, s->user, s->size);
		r->create = now_ns() - t0;
		/* Keep the copy from being optimized away. */
		__asm__ volatile("" : : "r"(s->dst) : "memory");
		return 0;
	case M_MEMCPY_REP:
		/*
		 * The instruction copy_from_user() copies with on a CPU with
		 * REP_GOOD but without ERMS/FSRM (the bench guest's kernel:
		 * tools/bench/run boots it with clearcpuid=erms,fsrm).
		 */
		{
			void *d = s->dst;
			const void *sp = s->user;
			size_t n = s->size / 8;

			__asm__ volatile("rep movsq"
					 : "+D"(d), "+S"(sp), "+c"(n) : : "memory");
		}
		r->create = now_ns() - t0;
		return 0;
	default:
		return -EINVAL;
	}
	t1 = now_ns();
	if (fd < 0)
		return fd;
	r->create = t1 - t0;

	if (m != M_PIN_RO && e->drm >= 0) {
		if (drmPrimeFDToHandle(e->drm, fd, &handle)) {
			ret = -errno;
			handle = 0;
		} else {
			r->mapped = true;
		}
	}
	t2 = now_ns();
	r->map = t2 - t1;
	/*
	 * Not upstream 6.1's mmap of hugetlb pages: its fault handler hands
	 * the core mm a subpage of a huge page for a normal mapping, whose
	 * mapcount it then corrupts ("BUG: Bad page state ... nonzero
	 * mapcount" when the pool shrinks). Fixed upstream in 6.12 (PFN map).
	 */
	if (is_memfd_method(m) && !ret &&
	    !(m == M_MEMFD_UP && s->b == B_HUGETLB)) {
		ret = cpu_access(fd, s, &r->cpu);
		r->accessed = !ret;
	}
	/* The buffer's metadata: udmabuf-ext's own buffers only. */
	if (m != M_MEMFD_UP && m != M_MEMFD_KERNEL && !ret) {
		memset(&r->info, 0, sizeof(r->info));
		r->info.fd = fd;
		r->have_info = !ioctl(e->ext, UDMABUF_EXT_INFO, &r->info);
	}

	t2 = now_ns();
	close(fd);
	if (handle)
		drmCloseBufferHandle(e->drm, handle);
	t3 = now_ns();
	r->release = t3 - t2;

	if (m == M_MOVE) {
		/* The range now reads zeros: give it fresh pages of its kind. */
		src_user_free(s);
		if (src_user_alloc(s))
			return -ENOMEM;
	}
	return ret;
}

/* ---- the create group -------------------------------------------------- */

struct create_opts {
	uint64_t sizes[64];
	int nr_sizes;
	bool backing[NR_BACKINGS];
	bool method[NR_METHODS];
	int reps;		/* 0: by size */
};

static int reps_for(const struct create_opts *o, uint64_t size)
{
	if (o->reps)
		return o->reps;
	if (size <= (1ull << 20))
		return 21;
	if (size <= (64ull << 20))
		return 11;
	return 7;
}

/*
 * Under TCG, a rep-prefixed string instruction runs one emulated iteration
 * per element: COPY (copy_from_user() is rep movsq in the bench guest) and
 * memcpy_rep are the slowest methods by far. Their ratios to PIN are in the
 * hundreds at these sizes, so fewer reps do; the rep movsq calibration line
 * stops at 64 MiB.
 */
static int slow_reps(enum method m, uint64_t size)
{
	if (m == M_MEMCPY_REP && size > (64ull << 20))
		return 0;
	if (m != M_COPY && m != M_MEMCPY_REP)
		return INT32_MAX;
	if (size >= (1ull << 30))
		return 2;
	if (size >= (256ull << 20))
		return 3;
	return INT32_MAX;
}

static void emit_sample(enum backing b, uint64_t size, enum method m, int rep,
			const struct sample *r)
{
	const char *bn = backing_name[b], *mn = method_name[m];

	emit("create", bn, size, mn, rep, "create_ns", r->create);
	if (m == M_MEMCPY || m == M_MEMCPY_REP) {
		emit("create", bn, size, mn, rep, "first_map_ns", r->create);
		emit("create", bn, size, mn, rep, "cycle_ns", r->create);
		return;
	}
	if (r->mapped) {
		emit("create", bn, size, mn, rep, "map_ns", r->map);
		emit("create", bn, size, mn, rep, "first_map_ns",
		     r->create + r->map);
	}
	if (r->accessed) {
		emit("create", bn, size, mn, rep, "cpu_ns", r->cpu);
		if (r->mapped)
			emit("create", bn, size, mn, rep, "use_ns",
			     r->create + r->map + r->cpu);
	}
	emit("create", bn, size, mn, rep, "release_ns", r->release);
	emit("create", bn, size, mn, rep, "cycle_ns",
	     r->create + r->map + r->release);
	if (r->have_info && rep == 0) {
		emit("create", bn, size, mn, rep, "meta_bytes", r->info.meta_bytes);
		emit("create", bn, size, mn, rep, "nr_pages", r->info.nr_pages);
		emit("create", bn, size, mn, rep, "nr_segments",
		     r->info.nr_segments);
		emit("create", bn, size, mn, rep, "source", r->info.source);
	}
}

static void run_create(const struct env *e, const struct create_opts *o)
{
	/* hugetlb first, while memory is unfragmented, then give the pool back. */
	static const enum backing order[] = { B_HUGETLB, B_THP, B_4K, B_4KFRAG };
	unsigned int bi;
	int si;

	for (bi = 0; bi < ARRAY_SIZE(order); bi++) {
		enum backing b = order[bi];
		long want = 0, got = 0;

		if (!o->backing[b])
			continue;
		if (b == B_HUGETLB) {
			for (si = 0; si < o->nr_sizes; si++) {
				long n = ALIGN_UP(o->sizes[si], HPAGE_SZ) / HPAGE_SZ;

				if (n > want)
					want = n;
			}
			got = hugepages_set(want);
			msg("hugetlb: %ld of %ld huge pages\n", got, want);
		}
		for (si = 0; si < o->nr_sizes; si++) {
			uint64_t size = o->sizes[si];
			int reps = reps_for(o, size), rep, k, ret;
			char sn[32];
			struct src s;
			uint64_t t0 = now_ns();

			size_name(size, sn, sizeof(sn));
			if (b == B_HUGETLB && ALIGN_UP(size, HPAGE_SZ) / HPAGE_SZ > (uint64_t)got) {
				msg("%s %s: skipped, not enough huge pages\n",
				    backing_name[b], sn);
				emit("create", backing_name[b], size, "all", 0,
				     "error", ENOMEM);
				continue;
			}
			ret = src_alloc(&s, b, size);
			if (ret) {
				msg("%s %s: cannot set up the source: %s\n",
				    backing_name[b], sn, strerror(-ret));
				emit("create", backing_name[b], size, "all", 0,
				     "error", -ret);
				continue;
			}
			/* rep -1 warms up every path and is not reported. */
			for (rep = warmup ? -1 : 0; rep < reps; rep++) {
				for (k = 0; k < NR_METHODS; k++) {
					enum method m = (k + (rep < 0 ? 0 : rep)) % NR_METHODS;
					struct sample r;

					if (!o->method[m] || !method_applies(m, b, e) ||
					    rep >= slow_reps(m, size))
						continue;
					/* Large sizes need no warm-up of the slow ones. */
					if (rep < 0 && size >= (64ull << 20) &&
					    slow_reps(m, size) < INT32_MAX)
						continue;
					if (rep >= 0)
						toggle(true);
					ret = run_method(e, &s, m, &r);
					if (rep >= 0)
						toggle(false);
					if (ret) {
						if (rep <= 0)
							msg("%s %s %s: %s\n",
							    backing_name[b], sn,
							    method_name[m],
							    strerror(-ret));
						emit("create", backing_name[b],
						     size, method_name[m],
						     rep < 0 ? 0 : rep, "error", -ret);
						continue;
					}
					if (rep >= 0)
						emit_sample(b, size, m, rep, &r);
				}
				fflush(out);
			}
			src_free(&s);
			msg("%-8s %5s: %d reps, %.1f s\n", backing_name[b], sn,
			    reps, (now_ns() - t0) / 1e9);
		}
		if (b == B_HUGETLB)
			hugepages_set(0);
	}
}

/* ---- the v4l2 group ---------------------------------------------------- */

#define V4L2_W		1920
#define V4L2_H		1080
#define V4L2_BUFS	4
#define DQ_TIMEOUT_MS	10000

enum v4l2_method { V_DMABUF, V_USERPTR, V_MMAP, V_MMAP_MEMCPY, NR_V4L2 };

static const char * const v4l2_name[NR_V4L2] = {
	[V_DMABUF] = "dmabuf", [V_USERPTR] = "userptr", [V_MMAP] = "mmap",
	[V_MMAP_MEMCPY] = "mmap_memcpy",
};

/* Webcam input, 1920x1080 YUYV, the fastest interval vivid has for it. */
static int vivid_setup(int fd, size_t *size, double *fps)
{
	struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_input in;
	int i, ret;

	for (i = 0;; i++) {
		memset(&in, 0, sizeof(in));
		in.index = i;
		if (ubm_xioctl(fd, VIDIOC_ENUMINPUT, &in))
			return -ENODEV;
		if (in.type == V4L2_INPUT_TYPE_CAMERA &&
		    !(in.capabilities & (V4L2_IN_CAP_DV_TIMINGS | V4L2_IN_CAP_STD)))
			break;
	}
	ret = ubm_xioctl(fd, VIDIOC_S_INPUT, &i);
	if (ret)
		return ret;
	f.fmt.pix.width = V4L2_W;
	f.fmt.pix.height = V4L2_H;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	ret = ubm_xioctl(fd, VIDIOC_S_FMT, &f);
	if (ret)
		return ret;
	if (f.fmt.pix.width != V4L2_W || f.fmt.pix.height != V4L2_H ||
	    f.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV)
		return -EINVAL;
	*size = f.fmt.pix.sizeimage;
	parm.parm.capture.timeperframe = (struct v4l2_fract){ 1, 60 };
	ubm_xioctl(fd, VIDIOC_S_PARM, &parm);
	memset(&parm, 0, sizeof(parm));
	parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	*fps = 0;
	if (!ubm_xioctl(fd, VIDIOC_G_PARM, &parm) &&
	    parm.parm.capture.timeperframe.numerator)
		*fps = (double)parm.parm.capture.timeperframe.denominator /
		       parm.parm.capture.timeperframe.numerator;
	return 0;
}

/* Busy (non-idle, non-iowait) jiffies of the whole guest, in ns. */
static uint64_t guest_busy_ns(void)
{
	unsigned long long v[10] = { 0 };
	char line[512];
	FILE *f = fopen("/proc/stat", "r");
	uint64_t busy = 0;
	int i;

	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9]) >= 8) {
		for (i = 0; i < 8; i++)
			if (i != 3 && i != 4)	/* idle, iowait */
				busy += v[i];
	}
	fclose(f);
	return busy * (1000000000ull / sysconf(_SC_CLK_TCK));
}

static int qbuf(int fd, enum v4l2_method m, int i, int *fds, uint8_t **ptr,
		size_t size)
{
	struct v4l2_buffer b = {
		.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
	};

	switch (m) {
	case V_DMABUF:
		b.memory = V4L2_MEMORY_DMABUF;
		b.m.fd = fds[i];
		break;
	case V_USERPTR:
		b.memory = V4L2_MEMORY_USERPTR;
		b.m.userptr = (unsigned long)ptr[i];
		b.length = size;
		break;
	default:
		b.memory = V4L2_MEMORY_MMAP;
		break;
	}
	return ubm_xioctl(fd, VIDIOC_QBUF, &b);
}

struct v4l2_result {
	double cpu_per_frame;		/* this process, ns */
	double guest_per_frame;		/* whole guest, ns */
	double wall_per_frame;		/* ns */
};

/*
 * Stream @frames frames (after @warm unmeasured ones) with method @m.
 * Buffers: heap memory (DMABUF through udmabuf-ext PIN, USERPTR) or vivid's
 * own (MMAP); MMAP_MEMCPY also copies each frame to heap memory.
 */
static int v4l2_run(int vfd, int ext, enum v4l2_method m, size_t size,
		    int warm, int frames, struct v4l2_result *res)
{
	uint32_t memory = m == V_DMABUF ? V4L2_MEMORY_DMABUF :
			  m == V_USERPTR ? V4L2_MEMORY_USERPTR : V4L2_MEMORY_MMAP;
	struct v4l2_requestbuffers rb = {
		.count = V4L2_BUFS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};
	int fds[V4L2_BUFS], type = V4L2_BUF_TYPE_VIDEO_CAPTURE, i, ret;
	uint8_t *ptr[V4L2_BUFS] = { NULL }, *copy = NULL;
	uint64_t c0 = 0, g0 = 0, w0 = 0;
	bool streaming = false;
	struct v4l2_buffer b;

	for (i = 0; i < V4L2_BUFS; i++)
		fds[i] = -1;
	ret = ubm_xioctl(vfd, VIDIOC_REQBUFS, &rb);
	if (ret)
		return ret;
	if (rb.count < V4L2_BUFS) {
		ret = -ENOBUFS;
		goto out;
	}
	for (i = 0; i < V4L2_BUFS; i++) {
		if (m == V_DMABUF || m == V_USERPTR) {
			/*
			 * Heap memory a device may write: page aligned, whole
			 * pages (as udmabuf_ext_alloc() gives it), which a
			 * writable PIN range must be. USERPTR gets the same.
			 */
			ptr[i] = aligned_alloc(PAGE_SZ, ALIGN_UP(size, PAGE_SZ));
			if (!ptr[i]) {
				ret = -ENOMEM;
				goto out;
			}
			memset(ptr[i], 0, size);
			if (m == V_DMABUF) {
				fds[i] = ext_create(ext, ptr[i], ALIGN_UP(size, PAGE_SZ),
						    UDMABUF_EXT_MODE_PIN, 0);
				if (fds[i] < 0) {
					ret = fds[i];
					goto out;
				}
			}
		} else {
			struct v4l2_buffer q = {
				.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP,
			};

			ret = ubm_xioctl(vfd, VIDIOC_QUERYBUF, &q);
			if (ret)
				goto out;
			ptr[i] = mmap(NULL, q.length, PROT_READ, MAP_SHARED, vfd,
				      q.m.offset);
			if (ptr[i] == MAP_FAILED) {
				ptr[i] = NULL;
				ret = -errno;
				goto out;
			}
		}
		ret = qbuf(vfd, m, i, fds, ptr, size);
		if (ret)
			goto out;
	}
	if (m == V_MMAP_MEMCPY) {
		copy = malloc(size);
		if (!copy) {
			ret = -ENOMEM;
			goto out;
		}
		memset(copy, 0, size);
	}
	ret = ubm_xioctl(vfd, VIDIOC_STREAMON, &type);
	if (ret)
		goto out;
	streaming = true;
	for (i = 0; i < warm + frames; i++) {
		if (i == warm) {
			c0 = cpu_ns();
			g0 = guest_busy_ns();
			w0 = now_ns();
		}
		ret = ubm_dqbuf(vfd, V4L2_BUF_TYPE_VIDEO_CAPTURE, memory, &b,
				DQ_TIMEOUT_MS);
		if (ret)
			goto out;
		if (b.bytesused != size) {
			ret = -EPROTO;
			goto out;
		}
		if (copy)
			memcpy(copy, ptr[b.index], size);
		ret = qbuf(vfd, m, b.index, fds, ptr, size);
		if (ret)
			goto out;
	}
	res->cpu_per_frame = (double)(cpu_ns() - c0) / frames;
	res->guest_per_frame = (double)(guest_busy_ns() - g0) / frames;
	res->wall_per_frame = (double)(now_ns() - w0) / frames;
out:
	if (streaming)
		ubm_xioctl(vfd, VIDIOC_STREAMOFF, &type);
	rb.count = 0;
	ubm_xioctl(vfd, VIDIOC_REQBUFS, &rb);
	for (i = 0; i < V4L2_BUFS; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (!ptr[i])
			continue;
		if (m == V_DMABUF || m == V_USERPTR)
			free(ptr[i]);
		else
			munmap(ptr[i], size);
	}
	free(copy);
	return ret;
}

static void run_v4l2(const struct env *e, int reps, int frames)
{
	size_t size;
	double fps;
	int vfd, ret, rep, k;

	vfd = ubm_video_open("vivid", V4L2_CAP_VIDEO_CAPTURE |
			     V4L2_CAP_STREAMING, NULL, NULL);
	if (vfd < 0) {
		msg("v4l2: no vivid capture node: skipped\n");
		emit("v4l2", "malloc", 0, "all", 0, "error", ENODEV);
		return;
	}
	ret = vivid_setup(vfd, &size, &fps);
	if (ret) {
		msg("v4l2: vivid set-up for %dx%d failed: %s\n", V4L2_W, V4L2_H,
		    strerror(-ret));
		emit("v4l2", "malloc", 0, "all", 0, "error", -ret);
		close(vfd);
		return;
	}
	msg("v4l2: %dx%d YUYV, %zu bytes per frame, vivid at %.1f fps\n",
	    V4L2_W, V4L2_H, size, fps);
	for (rep = -1; rep < reps; rep++) {
		for (k = 0; k < NR_V4L2; k++) {
			enum v4l2_method m = (k + (rep < 0 ? 0 : rep)) % NR_V4L2;
			struct v4l2_result r = { 0 };
			uint64_t t0 = now_ns();

			/* The warm-up rep only checks that each method works. */
			ret = v4l2_run(vfd, e->ext, m, size, 2,
				       rep < 0 ? 2 : frames, &r);
			if (ret) {
				msg("v4l2 %s: %s\n", v4l2_name[m], strerror(-ret));
				emit("v4l2", "malloc", size, v4l2_name[m],
				     rep < 0 ? 0 : rep, "error", -ret);
				continue;
			}
			if (rep < 0)
				continue;
			emit("v4l2", "malloc", size, v4l2_name[m], rep,
			     "cpu_ns_per_frame", r.cpu_per_frame);
			emit("v4l2", "malloc", size, v4l2_name[m], rep,
			     "guest_cpu_ns_per_frame", r.guest_per_frame);
			emit("v4l2", "malloc", size, v4l2_name[m], rep,
			     "wall_ns_per_frame", r.wall_per_frame);
			msg("v4l2 %-11s rep %d: %.2f ms CPU/frame (%.1f s)\n",
			    v4l2_name[m], rep, r.cpu_per_frame / 1e6,
			    (now_ns() - t0) / 1e9);
		}
		fflush(out);
	}
	close(vfd);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: udmabuf-bench [OPTIONS]\n"
"\n"
"Benchmark udmabuf-ext against the alternatives; run as root in the test\n"
"guest with udmabuf_ext, vgem and vivid loaded, and udmabuf_upstream where\n"
"the kernel has no udmabuf of its own (tools/bench/run does all of that).\n"
"Writes CSV lines\n"
"  group,backing,size,method,rep,metric,value\n"
"\n"
"  -o, --out FILE        write the CSV to FILE (default: stdout)\n"
"  -g, --groups LIST     create,v4l2 (default: both)\n"
"  -s, --sizes LIST      sizes for the create group, comma-separated, with\n"
"                        K/M/G suffixes, or a preset: all (4K..1M in powers\n"
"                        of 2, 2M, then powers of 4 to 1G), small (4K..2M),\n"
"                        quick (4K,16K,64K,256K,2M,16M)  (default: all)\n"
"  -b, --backings LIST   4k,4kfrag,thp,hugetlb (default: all four)\n"
"  -m, --methods LIST    pin,pin_ro,move,copy,memfd,memfd_up,memfd_kernel,\n"
"                        memcpy,memcpy_rep\n"
"                        (default: all)\n"
"  -r, --reps N          repetitions per size (default: 21 up to 1M, 11 up\n"
"                        to 64M, 7 above); copy and memcpy_rep at most 3\n"
"                        from 256M, 2 from 1G; memcpy_rep up to 64M only\n"
"      --v4l2-reps N     repetitions of the V4L2 group (default 7)\n"
"      --frames N        frames per V4L2 run (default 24)\n"
"      --no-warmup       no unreported warm-up rep before each size\n"
"      --toggle FILE     write 1 to FILE before each measured create-group\n"
"                        sample and 0 after it (e.g. ftrace's\n"
"                        function_profile_enabled or tracing_on)\n"
"  -q, --quiet           no progress on stderr\n"
"  -h, --help            this help\n");
}

static int parse_sizes(const char *arg, struct create_opts *o)
{
	static const char * const all[] = {
		"4K", "8K", "16K", "32K", "64K", "128K", "256K", "512K", "1M",
		"2M", "4M", "16M", "64M", "256M", "1G",
	};
	static const char * const small[] = {
		"4K", "8K", "16K", "32K", "64K", "128K", "256K", "512K", "1M",
		"2M",
	};
	static const char * const quick[] = {
		"4K", "16K", "64K", "256K", "2M", "16M",
	};
	const char * const *preset = NULL;
	size_t n = 0, i;
	char *copy, *tok, *save = NULL;

	if (!strcmp(arg, "all")) {
		preset = all;
		n = ARRAY_SIZE(all);
	} else if (!strcmp(arg, "small")) {
		preset = small;
		n = ARRAY_SIZE(small);
	} else if (!strcmp(arg, "quick")) {
		preset = quick;
		n = ARRAY_SIZE(quick);
	}
	o->nr_sizes = 0;
	if (preset) {
		for (i = 0; i < n; i++)
			o->sizes[o->nr_sizes++] = parse_size(preset[i]);
		return 0;
	}
	copy = strdup(arg);
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t s = parse_size(tok);

		if (!s || s % PAGE_SZ || o->nr_sizes >= (int)ARRAY_SIZE(o->sizes)) {
			free(copy);
			return -1;
		}
		o->sizes[o->nr_sizes++] = s;
	}
	free(copy);
	return o->nr_sizes ? 0 : -1;
}

/* Set flags[i] for each name of @names in comma-separated @arg. */
static int parse_names(const char *arg, const char * const *names, int n,
		       bool *flags)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int i;

	if (!copy)
		return -1;
	for (i = 0; i < n; i++)
		flags[i] = false;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n; i++)
			if (!strcmp(tok, names[i]))
				break;
		if (i == n) {
			fprintf(stderr, "udmabuf-bench: unknown name '%s'\n", tok);
			free(copy);
			return -1;
		}
		flags[i] = true;
	}
	free(copy);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "groups", required_argument, NULL, 'g' },
		{ "sizes", required_argument, NULL, 's' },
		{ "backings", required_argument, NULL, 'b' },
		{ "methods", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "v4l2-reps", required_argument, NULL, 'R' },
		{ "frames", required_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-warmup", no_argument, NULL, 'W' },
		{ "toggle", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char * const group_names[] = { "create", "v4l2" };
	struct create_opts o = { .reps = 0 };
	bool groups[2] = { true, true };
	int v4l2_reps = 7, frames = 24, c, i;
	const char *outfile = NULL;
	char shmem_old[32] = "", limit_old[32] = "";
	struct env e;

	parse_sizes("all", &o);
	for (i = 0; i < NR_BACKINGS; i++)
		o.backing[i] = true;
	for (i = 0; i < NR_METHODS; i++)
		o.method[i] = true;

	while ((c = getopt_long(argc, argv, "o:g:s:b:m:r:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outfile = optarg;
			break;
		case 'g':
			if (parse_names(optarg, group_names, 2, groups))
				return 2;
			break;
		case 's':
			if (parse_sizes(optarg, &o)) {
				fprintf(stderr, "udmabuf-bench: bad --sizes '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_names(optarg, backing_name, NR_BACKINGS, o.backing))
				return 2;
			break;
		case 'm':
			if (parse_names(optarg, method_name, NR_METHODS, o.method))
				return 2;
			break;
		case 'r':
			o.reps = atoi(optarg);
			if (o.reps < 1) {
				fprintf(stderr, "udmabuf-bench: bad --reps '%s'\n", optarg);
				return 2;
			}
			break;
		case 'R':
			v4l2_reps = atoi(optarg);
			if (v4l2_reps < 1)
				return 2;
			break;
		case 'F':
			frames = atoi(optarg);
			if (frames < 1)
				return 2;
			break;
		case 'q':
			verbose = 0;
			break;
		case 'W':
			warmup = false;
			break;
		case 'T':
			toggle_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	out = stdout;
	if (outfile) {
		out = fopen(outfile, "w");
		if (!out) {
			perror(outfile);
			return 1;
		}
	}
	e.ext = open(DEV_EXT, O_RDWR | O_CLOEXEC);
	if (e.ext < 0) {
		perror(DEV_EXT);
		return 1;
	}
	/*
	 * /dev/udmabuf is the kernel's own driver where module "udmabuf"
	 * exists (6.12: built in); on 6.1 it is udmabuf-ext's drop-in node,
	 * which "memfd" measures through /dev/udmabuf-ext.
	 */
	e.kern = -1;
	if (!access(KERNEL_LIMIT, F_OK))
		e.kern = open(DEV_KERNEL, O_RDWR | O_CLOEXEC);
	e.up = open(DEV_UPSTREAM, O_RDWR | O_CLOEXEC);
	e.drm = ubm_drm_open("vgem");
	if (e.kern < 0)
		msg("%s: not the kernel's own udmabuf: memfd_kernel skipped\n",
		    DEV_KERNEL);
	if (e.up < 0)
		msg("%s: not present: memfd_up skipped\n", DEV_UPSTREAM);
	if (e.drm < 0)
		msg("no vgem card: no importer maps measured\n");

	fprintf(out, "group,backing,size,method,rep,metric,value\n");
	if (groups[0]) {
		/* shmem THP for the thp backing's memfd: through MADV_HUGEPAGE. */
		if (!read_choice(SHMEM_THP, shmem_old, sizeof(shmem_old)) &&
		    strcmp(shmem_old, "advise"))
			write_file(SHMEM_THP, "advise");
		/* The kernel's udmabuf allows 64 MiB unless told otherwise. */
		if (e.kern >= 0 && read_file(KERNEL_LIMIT, limit_old,
					     sizeof(limit_old)))
			limit_old[0] = 0;
		if (limit_old[0]) {
			uint64_t max = 0;
			char v[32];

			for (i = 0; i < o.nr_sizes; i++)
				if (o.sizes[i] > max)
					max = o.sizes[i];
			snprintf(v, sizeof(v), "%" PRIu64 "\n", (max >> 20) + 1);
			if (strtoull(limit_old, NULL, 10) < (max >> 20) + 1 &&
			    write_file(KERNEL_LIMIT, v))
				msg("%s: cannot raise it to %s", KERNEL_LIMIT, v);
		}
		run_create(&e, &o);
		if (limit_old[0])
			write_file(KERNEL_LIMIT, limit_old);
		if (shmem_old[0] && strcmp(shmem_old, "advise"))
			write_file(SHMEM_THP, shmem_old);
	}
	if (groups[1])
		run_v4l2(&e, v4l2_reps, frames);

	if (fclose(out)) {
		perror("udmabuf-bench: output");
		return 1;
	}
	return 0;
}
