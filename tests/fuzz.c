// SPDX-License-Identifier: GPL-2.0-only
/*
 * A structure-aware ioctl fuzzer for both nodes.
 *
 * Every call is generated from (seed, worker, call number) alone, so a seed
 * reproduces the same sequence of calls, and FUZZ_ONLY=n replays call n of
 * each worker alone. The calls cover UDMABUF_CREATE, UDMABUF_CREATE_LIST,
 * UDMABUF_EXT_CREATE and UDMABUF_EXT_INFO on /dev/udmabuf-ext and
 * /dev/udmabuf, and random ioctl numbers, with random sizes, offsets, flags,
 * modes, reserved and pad fields and list counts; bad argument and item
 * pointers (NULL, kernel, unmapped, read-only, straddling a guard page); fds
 * of every kind (closed, O_PATH, memfds with each of the 32 seal sets,
 * hugetlb memfds, read-only and write-only reopened memfds, tmpfs, ramfs and
 * 9p files, a directory, a pipe, a socket, an eventfd, /dev/null, the node
 * itself, dma-bufs of this module and of vgem, live buffers made by earlier
 * calls); and address ranges of every kind (anonymous touched and not,
 * guard pages, PROT_NONE, read-only, write-only, shared anonymous, memfd
 * shared/private/read-only, THP, hugetlb, ramfs shared rw/ro and private, a
 * private map of the test binary (9p), this module's dma-buf mmap and a vgem
 * dumb buffer mmap (VM_PFNMAP), vdso, vvar, malloc, a range across two
 * VMAs, an unmapped hole, kernel and non-canonical addresses).
 *
 * Each result is checked against docs/uapi.md:
 * - a failure's errno must be one that the ioctl documents;
 * - where the documented rules decide the outcome from the arguments alone
 *   (a bad header field, an invalid item, a closed fd, a write-sealed memfd,
 *   a PROT_NONE or VM_PFNMAP range, a writable pin of a read-only mapping,
 *   MOVE of shared memory, ...) the call must fail with one of the errnos
 *   of the rules broken, and never succeed;
 * - the limits are predicted exactly: the model keeps what each worker's
 *   live buffers are charged, so an extended create whose pages (all of
 *   them, whatever the mode and source) would exceed RLIMIT_MEMLOCK must
 *   fail with ENOMEM, an upstream-ABI create whose memfd pages would exceed
 *   user_limit_mb must fail with EDQUOT, and EDQUOT is refused everywhere
 *   else (ENOSPC and the module-wide pool are gone);
 * - a success must return an fd (CLOEXEC as asked) whose UDMABUF_EXT_INFO
 *   matches the request (size computed here from the items, data offset,
 *   mode with AUTO resolved as the rules say, flags, source bits, owner,
 *   page and charge counts), and which maps MAP_SHARED (writable unless
 *   read-only, where PROT_WRITE is EACCES) and refuses MAP_PRIVATE;
 * - no call leaves an fd behind, and at the end the module's counters are
 *   back where they started.
 *
 * Two workers run in parallel (one per guest CPU): worker 0 as root, with
 * CAP_IPC_LOCK (no limit applies), worker 1 without CAP_IPC_LOCK, with a
 * 256 KiB RLIMIT_MEMLOCK and user_limit_mb lowered to FUZZ_USER_LIMIT_MB
 * for the run, so that both limits refuse creates too. Worker w's calls use
 * seed + w.
 *
 * Environment: FUZZ_SEED (default: from the clock, printed), FUZZ_CALLS
 * (total over the workers, default 100000), FUZZ_SECONDS (default 60),
 * FUZZ_WORKERS (default 2), FUZZ_ONLY (replay one call number), FUZZ_VERBOSE.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "udmabuf_driver.h"

#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "race_util.h"
#include "kselftest_harness.h"

#define PG		UB_PAGE
#define NR_LIVE		8		/* buffers kept alive across calls */
#define MAX_BUILD	1100		/* most items generated for one call */
#define MAX_FAIL_MSGS	8
#define MAX_LFS		0x7fffffffffffffffull
#define HOLE		0x100000ul	/* 1 MiB: nothing is ever mapped there */
#define MEMLOCK_BYTES	(256 << 10)	/* worker 1's RLIMIT_MEMLOCK */
#define FUZZ_USER_LIMIT_MB 4		/* user_limit_mb during the run */

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif

/* ---- the pools ---------------------------------------------------------- */

enum region_id {
	REG_ANON, REG_ANON_UNTOUCHED, REG_GUARD, REG_NONE, REG_RDONLY,
	REG_WRONLY, REG_SHARED_ANON, REG_MEMFD_SHARED, REG_MEMFD_PRIVATE,
	REG_MEMFD_RO, REG_THP, REG_HUGETLB, REG_HUGETLB_SHARED,
	REG_FILE_SHARED_RW, REG_FILE_SHARED_RO, REG_FILE_PRIVATE, REG_EXE,
	REG_DMABUF, REG_VGEM, REG_VDSO, REG_VVAR, REG_ACROSS, REG_UNMAPPED,
	REG_HEAP, NR_REGIONS
};

/* What a range inside one region of one VMA does; see region_errs(). */
enum vma_class {
	VC_ANON,	/* private anonymous, rw */
	VC_ANON_RO,	/* private anonymous, read-only */
	VC_WRONLY,	/* PROT_WRITE only */
	VC_SHMEM,	/* shared, rw, shmem */
	VC_SHMEM_RO,	/* shared, read-only, shmem */
	VC_HUGETLB,	/* private hugetlb, rw */
	VC_HUGETLB_SH,	/* shared hugetlb, rw */
	VC_FILE_SH_RW,	/* shared rw map of a regular (ramfs) file */
	VC_FILE_SH_RO,	/* shared read-only map of a regular file */
	VC_FILE_PRIV,	/* private rw map of a regular file */
	VC_FILE_PRIV_RO,	/* private read-only map of a regular file */
	VC_SPECIAL_RO,	/* vdso */
	VC_FAULT,	/* PROT_NONE, VM_PFNMAP/VM_IO, unmapped */
	VC_MIXED,	/* several VMAs: no prediction */
};

struct region {
	const char *name;
	uintptr_t addr;
	size_t len;
	enum vma_class vc;
	bool present;
};

enum fd_class {
	FC_BADF,	/* not an open fd (closed, O_PATH, huge number) */
	FC_BADFD,	/* open, but no shmem/hugetlbfs regular file */
	FC_UNSEALED,	/* shmem file without F_SEAL_SHRINK (tmpfs, unsealable memfd) */
	FC_MEMFD,	/* a memfd; seals and size below decide */
};

struct fdent {
	const char *name;
	int fd;
	enum fd_class fc;
	unsigned int seals;
	uint64_t size;
	bool huge;
	bool ours;	/* a dma-buf of this module */
	int acc;	/* O_RDWR, O_RDONLY or O_WRONLY */
};

#define MAX_FDS	96

struct pool {
	struct region reg[NR_REGIONS];
	struct fdent fds[MAX_FDS];
	int nr_fds;
	int dev, dropin;
	int live[NR_LIVE];
	unsigned int list_limit;
	uint64_t size_limit_pages;
	uint64_t auto_copy_bytes;	/* AUTO copies up to this size */
	/* argument area */
	uint8_t *argpage;	/* rw */
	uint8_t *ropage;	/* read-only, holds a copy of the argument */
	uint8_t *items;		/* room for MAX_BUILD items, guard page after */
	uint8_t *items_guard;
	uintptr_t unmapped;	/* an unmapped page */
	int drm;
	uint32_t vgem_handle;
	char ramfs_dir[64];
	bool ramfs_mounted;
};

/* ---- results, shared between the workers and the test ---------------------- */

enum op {
	OP_EXT_CREATE, OP_CREATE, OP_CREATE_LIST, OP_INFO, OP_RANDOM_CMD,
	OP_EXT_ON_DROPIN, NR_OPS
};

static const char * const op_names[NR_OPS] = {
	"UDMABUF_EXT_CREATE", "UDMABUF_CREATE", "UDMABUF_CREATE_LIST",
	"UDMABUF_EXT_INFO", "random cmd", "ext cmd on /dev/udmabuf",
};

struct shared {
	uint64_t calls;
	uint64_t op_calls[NR_OPS];
	uint64_t op_ok[NR_OPS];
	uint64_t errnos[NR_OPS][134];
	uint64_t predicted;	/* calls whose outcome the rules decided */
	uint64_t checked_ok;	/* successes fully checked */
	uint64_t failures;
	double seconds;
	char msg[MAX_FAIL_MSGS][1600];
};

/*
 * What the worker's live buffers are charged (docs/uapi.md, "Limits and
 * accounting"): the extended ABI's pages against RLIMIT_MEMLOCK, the
 * upstream ABI's against user_limit_mb. Both workers run as root, but only worker
 * 1 is charged (worker 0 has CAP_IPC_LOCK), so root's charges are worker
 * 1's alone.
 */
struct charge {
	uint64_t locked;
	uint64_t counted;
};

struct worker {
	struct pool p;
	struct shared *sh;
	uint64_t seed;
	int id;
	bool exempt;		/* CAP_IPC_LOCK: no limit applies */
	uint64_t memlock_pages;	/* RLIMIT_MEMLOCK */
	uint64_t user_limit_pages;	/* user_limit_mb */
	struct charge held;	/* what the live buffers (and the pool's) hold */
	struct charge live[NR_LIVE];	/* each live slot's */
	char desc[1024];	/* the current call, for failure messages */
	size_t dlen;
};

static void desc_reset(struct worker *w)
{
	w->dlen = 0;
	w->desc[0] = 0;
}

static void __attribute__((format(printf, 2, 3)))
desc_add(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->dlen >= sizeof(w->desc) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->desc + w->dlen, sizeof(w->desc) - w->dlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->dlen = w->dlen + n < sizeof(w->desc) ? w->dlen + n :
			  sizeof(w->desc) - 1;
}

static void __attribute__((format(printf, 3, 4)))
fuzz_fail(struct worker *w, uint64_t call, const char *fmt, ...)
{
	uint64_t n = __atomic_fetch_add(&w->sh->failures, 1, __ATOMIC_RELAXED);
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n < MAX_FAIL_MSGS)
		snprintf(w->sh->msg[n], sizeof(w->sh->msg[n]),
			 "worker %d call %llu (FUZZ_SEED=%llu FUZZ_ONLY=%llu): %s | %s",
			 w->id, (unsigned long long)call,
			 (unsigned long long)(w->seed - w->id),
			 (unsigned long long)call, why, w->desc);
}

/* ---- errno sets (docs/uapi.md) -------------------------------------------- */

typedef unsigned __int128 errset;
#define E(x)	((errset)1 << (x))
#define ERRS_UPSTREAM	(E(EINVAL) | E(EBADF) | E(EBADFD) | E(EACCES) | \
			 E(ENOMEM) | E(EMFILE) | E(EDQUOT) | E(EINTR) | E(EFAULT))
#define ERRS_EXT	(E(EINVAL) | E(EFAULT) | E(EACCES) | E(EOPNOTSUPP) | \
			 E(ENOMEM) | E(EDQUOT) | E(EINTR) | E(EMFILE) | \
			 E(EBADF) | E(EBADFD))
#define ERRS_INFO	(E(EBADF) | E(EINVAL) | E(EFAULT))
/*
 * Errors that depend on the machine's state, not on the arguments. EDQUOT
 * is not one: the model predicts it (charge_errs()), and refuses it
 * anywhere else.
 */
#define ERRS_RESOURCE	(E(ENOMEM) | E(EINTR) | E(EMFILE))
/* What the fill stage may fail with: anything but the limits' EDQUOT. */
#define ERRS_FILL	(ERRS_EXT & ~E(EDQUOT))

static bool in_set(int err, errset set)
{
	return err > 0 && err < 128 && (set & E(err));
}

static void set_str(errset set, char *buf, size_t len)
{
	size_t o = 0;
	int e;

	buf[0] = 0;
	for (e = 1; e < 128 && o < len; e++)
		if (set & E(e))
			o += snprintf(buf + o, len - o, "%s%s", o ? "," : "",
				      strerrorname_np(e) ?: "?");
}

/* ---- pool set-up --------------------------------------------------------- */

static void reg_set(struct pool *p, enum region_id id, const char *name,
		    void *addr, size_t len, enum vma_class vc)
{
	struct region *r = &p->reg[id];

	r->name = name;
	r->vc = vc;
	if (addr == MAP_FAILED || !addr) {
		r->present = false;
		return;
	}
	r->addr = (uintptr_t)addr;
	r->len = len;
	r->present = true;
}

static void *anon(size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static void touch(void *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += PG)
		((volatile uint8_t *)p)[i] = (uint8_t)(i >> 12);
}

static int add_fd(struct pool *p, const char *name, int fd, enum fd_class fc,
		  unsigned int seals, uint64_t size, bool huge, int acc)
{
	if (p->nr_fds >= MAX_FDS)
		return -ENOSPC;
	p->fds[p->nr_fds++] = (struct fdent){
		.name = name, .fd = fd, .fc = fc, .seals = seals,
		.size = size, .huge = huge, .acc = acc,
	};
	return 0;
}

static int memfd_sealed(size_t size, unsigned int seals, bool huge)
{
	int fd = memfd_create("fuzz", MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0));

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) || (seals && fcntl(fd, F_ADD_SEALS, seals))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/* vdso and vvar from /proc/self/maps. */
static void find_special(struct pool *p)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a, b;

	reg_set(p, REG_VDSO, "vdso", NULL, 0, VC_SPECIAL_RO);
	reg_set(p, REG_VVAR, "vvar", NULL, 0, VC_FAULT);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (strstr(line, "[vdso]"))
			reg_set(p, REG_VDSO, "vdso", (void *)a, b - a, VC_SPECIAL_RO);
		else if (strstr(line, "[vvar]"))
			reg_set(p, REG_VVAR, "vvar", (void *)a, b - a, VC_FAULT);
	}
	fclose(f);
}

/* A ramfs, a "real" file system for the page-cache cases, in a private mount
 * namespace so that nothing outlives the worker. */
static int ramfs_file(struct pool *p, int id, int flags)
{
	char path[96];

	if (!p->ramfs_mounted) {
		snprintf(p->ramfs_dir, sizeof(p->ramfs_dir), "/tmp/ub-fuzz-%d", id);
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			return -1;
		mkdir(p->ramfs_dir, 0700);
		if (mount("ramfs", p->ramfs_dir, "ramfs", 0, "mode=0700"))
			return -1;
		p->ramfs_mounted = true;
	}
	snprintf(path, sizeof(path), "%s/f", p->ramfs_dir);
	return open(path, flags | O_CREAT | O_CLOEXEC, 0600);
}

static int pool_init(struct pool *p, int id)
{
	static const unsigned int seal_bits[] = {
		F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE,
		F_SEAL_SEAL,
	};
	static const unsigned int huge_seals[] = {
		0, F_SEAL_SHRINK, F_SEAL_SHRINK | F_SEAL_WRITE,
		F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE,
		F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
	};
	static char seal_names[32][48];
	static char huge_names[5][48];
	bool huge_ok = ub_free_hugepages() >= 8;
	uint8_t *a;
	int fd, mfd, ro, wo, i, j;
	uint32_t h = 0;
	uint64_t sz = 0;

	memset(p, 0, sizeof(*p));
	p->drm = -1;
	for (i = 0; i < NR_LIVE; i++)
		p->live[i] = -1;
	p->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	if (p->dev < 0)
		return -errno;
	/* The module's drop-in only: the kernel's own udmabuf has its rules. */
	p->dropin = -1;
	if (ub_node_probe(UB_DROPIN_DEV).drv == UB_DRV_MODULE) {
		p->dropin = open(UB_DROPIN_DEV, O_RDWR | O_CLOEXEC);
		if (p->dropin < 0)
			return -errno;
	}
	p->list_limit = ub_param("list_limit");
	p->size_limit_pages = (uint64_t)ub_param("size_limit_mb") << 8;
	p->auto_copy_bytes = (uint64_t)ub_param("auto_copy_max_kb") << 10;

	/* The argument area. */
	p->argpage = anon(PG, PROT_READ | PROT_WRITE, 0);
	p->ropage = anon(PG, PROT_READ, 0);
	a = anon(8 * PG, PROT_READ | PROT_WRITE, 0);
	if (p->argpage == MAP_FAILED || p->ropage == MAP_FAILED || a == MAP_FAILED)
		return -ENOMEM;
	p->items = a;
	p->items_guard = a + 7 * PG;
	mprotect(p->items_guard, PG, PROT_NONE);
	/* Holes that later mmaps cannot fill: top-down mmap never gets this low. */
	p->unmapped = HOLE + 16 * PG;

	/* Regions. */
	a = anon(64 * PG, PROT_READ | PROT_WRITE, 0);
	touch(a, 64 * PG);
	reg_set(p, REG_ANON, "anon", a, 64 * PG, VC_ANON);
	reg_set(p, REG_ANON_UNTOUCHED, "anon-untouched",
		anon(64 * PG, PROT_READ | PROT_WRITE, 0), 64 * PG, VC_ANON);
	a = anon(3 * PG, PROT_READ | PROT_WRITE, 0);
	if (a != MAP_FAILED)
		mprotect(a + PG, PG, PROT_NONE);
	reg_set(p, REG_GUARD, "guard", a, 3 * PG, VC_MIXED);
	reg_set(p, REG_NONE, "prot-none", anon(4 * PG, PROT_NONE, 0), 4 * PG,
		VC_FAULT);
	a = anon(4 * PG, PROT_READ | PROT_WRITE, 0);
	if (a != MAP_FAILED) {
		touch(a, 4 * PG);
		mprotect(a, 4 * PG, PROT_READ);
	}
	reg_set(p, REG_RDONLY, "read-only", a, 4 * PG, VC_ANON_RO);
	reg_set(p, REG_WRONLY, "write-only", anon(4 * PG, PROT_WRITE, 0), 4 * PG,
		VC_WRONLY);
	a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	reg_set(p, REG_SHARED_ANON, "shared-anon", a, 16 * PG, VC_SHMEM);

	mfd = memfd_sealed(16 * PG, 0, false);
	reg_set(p, REG_MEMFD_SHARED, "memfd-shared",
		mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0),
		16 * PG, VC_SHMEM);
	reg_set(p, REG_MEMFD_PRIVATE, "memfd-private",
		mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0),
		16 * PG, VC_ANON /* a private file map: COW, like anon for pins */);
	/* Private file maps are not "anonymous" for MOVE: see region_errs(). */
	ro = reopen(mfd, O_RDONLY);
	reg_set(p, REG_MEMFD_RO, "memfd-ro",
		mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, ro, 0), 16 * PG,
		VC_SHMEM_RO);
	if (ro >= 0)
		close(ro);

	a = anon(6 << 20, PROT_READ | PROT_WRITE, 0);
	if (a != MAP_FAILED) {
		uint8_t *t = (uint8_t *)(((uintptr_t)a + UB_HPAGE - 1) & ~(UB_HPAGE - 1));

		madvise(t, 4 << 20, MADV_HUGEPAGE);
		touch(t, 4 << 20);
		reg_set(p, REG_THP, "thp", t, 4 << 20, VC_ANON);
	} else {
		reg_set(p, REG_THP, "thp", NULL, 0, VC_ANON);
	}
	a = huge_ok ? anon(UB_HPAGE, PROT_READ | PROT_WRITE, MAP_HUGETLB) : MAP_FAILED;
	if (a != MAP_FAILED)
		touch(a, UB_HPAGE);
	reg_set(p, REG_HUGETLB, "hugetlb", a, UB_HPAGE, VC_HUGETLB);
	a = huge_ok ? mmap(NULL, UB_HPAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0) :
		      MAP_FAILED;
	reg_set(p, REG_HUGETLB_SHARED, "hugetlb-shared", a, UB_HPAGE,
		VC_HUGETLB_SH);

	fd = ramfs_file(p, id, O_RDWR);
	if (fd >= 0 && !ftruncate(fd, 16 * PG)) {
		reg_set(p, REG_FILE_SHARED_RW, "ramfs-shared-rw",
			mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
			16 * PG, VC_FILE_SH_RW);
		reg_set(p, REG_FILE_PRIVATE, "ramfs-private",
			mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0),
			16 * PG, VC_FILE_PRIV);
		ro = reopen(fd, O_RDONLY);
		reg_set(p, REG_FILE_SHARED_RO, "ramfs-shared-ro",
			mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, ro, 0), 16 * PG,
			VC_FILE_SH_RO);
		add_fd(p, "ramfs file", fd, FC_BADFD, 0, 0, false, O_RDWR);
		if (ro >= 0)
			close(ro);
	} else {
		reg_set(p, REG_FILE_SHARED_RW, "ramfs-shared-rw", NULL, 0, VC_FILE_SH_RW);
		reg_set(p, REG_FILE_PRIVATE, "ramfs-private", NULL, 0, VC_FILE_PRIV);
		reg_set(p, REG_FILE_SHARED_RO, "ramfs-shared-ro", NULL, 0, VC_FILE_SH_RO);
		if (fd >= 0)
			close(fd);
	}
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	reg_set(p, REG_EXE, "exe-private-ro",
		mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0), 4 * PG,
		VC_FILE_PRIV_RO);
	add_fd(p, "9p file", fd, FC_BADFD, 0, 0, false, O_RDONLY);

	/* Our own dma-buf: an fd for the pool, and its mmap (VM_PFNMAP). */
	a = anon(16 * PG, PROT_READ | PROT_WRITE, 0);
	fd = ub_ext_create_user(p->dev, a, 16 * PG, UDMABUF_EXT_MODE_COPY, 0);
	if (fd >= 0) {
		reg_set(p, REG_DMABUF, "dmabuf-mmap",
			mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
			16 * PG, VC_FAULT);
		add_fd(p, "udmabuf-ext dma-buf", fd, FC_BADFD, 0, 0, false, O_RDWR);
		p->fds[p->nr_fds - 1].ours = true;
	} else {
		reg_set(p, REG_DMABUF, "dmabuf-mmap", NULL, 0, VC_FAULT);
	}
	munmap(a, 16 * PG);

	/* vgem: a dumb buffer's mmap and its PRIME dma-buf. */
	reg_set(p, REG_VGEM, "vgem-mmap", NULL, 0, VC_FAULT);
	p->drm = ub_drm_open("vgem");
	if (p->drm >= 0 && !ub_dumb_create(p->drm, 64, 64, &h, &sz)) {
		p->vgem_handle = h;
		reg_set(p, REG_VGEM, "vgem-mmap", ub_dumb_mmap(p->drm, h, sz),
			sz, VC_FAULT);
		fd = ub_prime_export(p->drm, h);
		if (fd >= 0)
			add_fd(p, "vgem dma-buf", fd, FC_BADFD, 0, 0, false, O_RDWR);
	}
	find_special(p);

	/* Two VMAs: 8 pages anonymous, then 8 pages of a shared memfd map. */
	a = anon(16 * PG, PROT_READ | PROT_WRITE, 0);
	if (a != MAP_FAILED &&
	    mmap(a + 8 * PG, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 mfd, 0) == MAP_FAILED) {
		munmap(a, 16 * PG);
		a = MAP_FAILED;
	}
	reg_set(p, REG_ACROSS, "anon+memfd", a, 16 * PG, VC_MIXED);
	reg_set(p, REG_UNMAPPED, "unmapped", (void *)HOLE, 16 * PG, VC_FAULT);
	/* malloc: never freed, MOVE may zero its chunk header. */
	a = malloc((1 << 20) + 3 * PG);
	reg_set(p, REG_HEAP, "malloc", a ? a + 16 : NULL, 1 << 20, VC_ANON);
	if (mfd >= 0)
		add_fd(p, "memfd mapped", mfd, FC_MEMFD, 0, 16 * PG, false, O_RDWR);

	/* fds: every seal combination of a shmem memfd. */
	for (i = 0; i < 32; i++) {
		unsigned int seals = 0;

		for (j = 0; j < 5; j++)
			if (i & (1 << j))
				seals |= seal_bits[j];
		fd = memfd_sealed(16 * PG, seals, false);
		if (fd < 0)
			continue;
		snprintf(seal_names[i], sizeof(seal_names[i]), "memfd seals %#x", seals);
		add_fd(p, seal_names[i], fd, FC_MEMFD, seals, 16 * PG, false, O_RDWR);
	}
	for (i = 0; huge_ok && i < 5; i++) {
		fd = memfd_sealed(UB_HPAGE, huge_seals[i], true);
		if (fd < 0)
			continue;
		snprintf(huge_names[i], sizeof(huge_names[i]), "hugetlb memfd seals %#x",
			 huge_seals[i]);
		add_fd(p, huge_names[i], fd, FC_MEMFD, huge_seals[i], UB_HPAGE, true,
		       O_RDWR);
	}
	fd = memfd_create("fuzz-nosealing", 0);
	if (fd >= 0 && !ftruncate(fd, 16 * PG))
		add_fd(p, "memfd without sealing", fd, FC_UNSEALED, 0, 16 * PG, false,
		       O_RDWR);
	fd = memfd_sealed(5000, F_SEAL_SHRINK, false);
	if (fd >= 0)
		add_fd(p, "memfd of 5000 bytes", fd, FC_MEMFD, F_SEAL_SHRINK, 5000,
		       false, O_RDWR);
	mfd = memfd_sealed(16 * PG, F_SEAL_SHRINK, false);
	ro = reopen(mfd, O_RDONLY);
	wo = reopen(mfd, O_WRONLY);
	if (mfd >= 0)
		add_fd(p, "memfd shrink-sealed", mfd, FC_MEMFD, F_SEAL_SHRINK, 16 * PG,
		       false, O_RDWR);
	if (ro >= 0)
		add_fd(p, "memfd reopened O_RDONLY", ro, FC_MEMFD, F_SEAL_SHRINK,
		       16 * PG, false, O_RDONLY);
	if (wo >= 0)
		add_fd(p, "memfd reopened O_WRONLY", wo, FC_MEMFD, F_SEAL_SHRINK,
		       16 * PG, false, O_WRONLY);
	fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 && !ftruncate(fd, 16 * PG))
		add_fd(p, "tmpfs file", fd, FC_UNSEALED, 0, 16 * PG, false, O_RDWR);
	add_fd(p, "directory", open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
	       FC_BADFD, 0, 0, false, O_RDONLY);
	add_fd(p, "O_PATH", open("/dev/shm", O_PATH | O_CLOEXEC), FC_BADF, 0, 0,
	       false, O_RDONLY);
	{
		int pfd[2], sv[2];

		if (!pipe2(pfd, O_CLOEXEC)) {
			add_fd(p, "pipe read end", pfd[0], FC_BADFD, 0, 0, false, O_RDONLY);
			add_fd(p, "pipe write end", pfd[1], FC_BADFD, 0, 0, false, O_WRONLY);
		}
		if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			add_fd(p, "socket", sv[0], FC_BADFD, 0, 0, false, O_RDWR);
			close(sv[1]);
		}
	}
	add_fd(p, "eventfd", eventfd(0, EFD_CLOEXEC), FC_BADFD, 0, 0, false, O_RDWR);
	add_fd(p, "/dev/null", open("/dev/null", O_RDWR | O_CLOEXEC), FC_BADFD, 0,
	       0, false, O_RDWR);
	add_fd(p, "/dev/udmabuf-ext", p->dev, FC_BADFD, 0, 0, false, O_RDWR);
	add_fd(p, "closed fd 4000", 4000, FC_BADF, 0, 0, false, O_RDWR);
	add_fd(p, "fd 0x7fffffff", 0x7fffffff, FC_BADF, 0, 0, false, O_RDWR);
	add_fd(p, "fd 0xffffffff", -1, FC_BADF, 0, 0, false, O_RDWR);
	/* Drop entries whose open() failed. */
	for (i = j = 0; i < p->nr_fds; i++)
		if (p->fds[i].fd >= 0 || p->fds[i].fc == FC_BADF)
			p->fds[j++] = p->fds[i];
	p->nr_fds = j;
	return 0;
}

/* ---- generators ------------------------------------------------------------ */

static const uint64_t bad_addrs[] = {
	0, 0x1000, 0xffff888000000000ull, 0xffffffff81000000ull,
	0xfffffffffffff000ull, 0x7ffffffff000ull, 0x800000000000ull,
	0x7fffffffffffffffull, 0xffffffffffffffffull,
};

struct range {
	uint64_t start, size;
	int reg;	/* region id, or -1 for a special address */
};

static uint64_t rand_size(struct rng *r)
{
	switch (rng_below(r, 6)) {
	case 0: return 0;
	case 1: return 1ull << rng_below(r, 64);
	case 2: return ~0ull - rng_below(r, 2 * PG);
	case 3: return rng_next(r);
	default: return rng_below(r, 1 << 20);
	}
}

static void gen_user_range(struct worker *w, struct rng *r, struct range *out)
{
	const struct region *reg;
	uint64_t off, size;
	int id;

	if (rng_bad(r, 5)) {
		out->reg = -1;
		out->start = bad_addrs[rng_below(r, sizeof(bad_addrs) / sizeof(bad_addrs[0]))];
		out->size = rng_pct(r, 80) ? PG * (1 + rng_below(r, 4)) : rand_size(r);
		return;
	}
	id = rng_below(r, NR_REGIONS);
	if (!w->p.reg[id].present)
		id = REG_ANON;
	reg = &w->p.reg[id];
	switch (rng_below(r, 10)) {
	case 0 ... 5: off = 0; break;
	case 6 ... 8: off = rng_below(r, reg->len / PG) * PG; break;
	default: off = rng_below(r, reg->len); break;
	}
	switch (rng_below(r, r->sane ? 14 : 20)) {
	case 0 ... 7: size = PG * (1 + rng_below(r, 4)); break;
	case 8 ... 13: size = reg->len - off; break;
	case 14 ... 15: size = reg->len - off + PG * (1 + rng_below(r, 8)); break;
	case 16 ... 17: size = 1 + rng_below(r, reg->len); break;
	case 18: size = 0; break;
	default: size = rand_size(r); break;
	}
	out->reg = id;
	out->start = reg->addr + off;
	out->size = size;
}

static void gen_memfd_range(struct rng *r, __u64 *off, __u64 *size)
{
	if (r->sane && rng_pct(r, 90)) {
		*off = PG * rng_below(r, 8);
		*size = PG * (1 + rng_below(r, 8));
		return;
	}
	switch (rng_below(r, 10)) {
	case 0 ... 6: *off = PG * rng_below(r, 16); break;
	case 7: *off = rng_below(r, 16 * PG); break;
	case 8: *off = 0; break;
	default: *off = rand_size(r); break;
	}
	switch (rng_below(r, 10)) {
	case 0 ... 6: *size = PG * (1 + rng_below(r, 16)); break;
	case 7: *size = 0; break;
	case 8: *size = rng_below(r, 16 * PG); break;
	default: *size = rand_size(r); break;
	}
}

static const struct fdent *pick_fd(struct worker *w, struct rng *r, int *fdnum)
{
	const struct fdent *f = &w->p.fds[rng_below(r, w->p.nr_fds)];
	int slot, k;

	/* Sane calls mostly use a memfd that can work. */
	if (r->sane && rng_pct(r, 80)) {
		k = rng_below(r, w->p.nr_fds);
		for (slot = 0; slot < w->p.nr_fds; slot++) {
			const struct fdent *g = &w->p.fds[(k + slot) % w->p.nr_fds];

			if (g->fc == FC_MEMFD && g->acc == O_RDWR &&
			    (g->seals & F_SEAL_SHRINK) && g->size >= 16 * PG &&
			    !(g->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) {
				f = g;
				break;
			}
		}
	}

	*fdnum = f->fd;
	/* Sometimes a live buffer of an earlier call: EBADFD as a memfd. */
	if (rng_pct(r, 5)) {
		slot = rng_below(r, NR_LIVE);
		if (w->p.live[slot] >= 0) {
			static const struct fdent live = {
				.name = "live dma-buf", .fc = FC_BADFD,
				.ours = true,
			};

			*fdnum = w->p.live[slot];
			return &live;
		}
	}
	return f;
}

/* ---- the model: which rules a request breaks ------------------------------- */

/*
 * Errnos a range [start, start + size) (whole pages) of one region can fail
 * with, and whether it certainly fails: *certain is set when every such
 * range is refused. 0 means nothing is known (ranges that leave the region,
 * or regions of several VMAs).
 */
static errset region_errs(const struct pool *p, const struct range *rg,
			    bool write, bool move, bool copy, bool *certain)
{
	const struct region *reg;
	uint64_t s, e;

	*certain = false;
	if (rg->reg < 0)
		return 0;
	reg = &p->reg[rg->reg];
	s = rg->start & ~(PG - 1);
	e = (rg->start + rg->size + PG - 1) & ~(PG - 1);
	if (s < reg->addr || e > reg->addr + reg->len || e <= s)
		return 0;
	*certain = true;
	switch (reg->vc) {
	case VC_FAULT:
		return E(EFAULT);
	case VC_MIXED:
		if (rg->reg == REG_GUARD) {
			/* rw | PROT_NONE | rw */
			if (s < reg->addr + 2 * PG && e > reg->addr + PG)
				return E(EFAULT);
			*certain = false;
			return 0;
		}
		*certain = false;
		return 0;
	case VC_ANON:
		if (move && (rg->reg == REG_MEMFD_PRIVATE))
			return E(EOPNOTSUPP);
		*certain = false;
		return 0;
	case VC_ANON_RO:
		if (write || move)
			return E(EACCES);
		*certain = false;
		return 0;
	case VC_WRONLY:
		/* A read-only pin needs VM_READ (gup's EFAULT); COPY reads it. */
		if (!write && !copy)
			return E(EFAULT);
		*certain = false;
		return 0;
	case VC_SHMEM:
	case VC_HUGETLB:
	case VC_HUGETLB_SH:
	case VC_FILE_PRIV:
		if (move)
			return E(EOPNOTSUPP);
		*certain = false;
		return 0;
	case VC_SHMEM_RO:
	case VC_FILE_PRIV_RO:
	case VC_SPECIAL_RO:
	case VC_FILE_SH_RO:
		if (write || move)
			return E(EACCES) | (move ? E(EOPNOTSUPP) : 0);
		*certain = false;
		return 0;
	case VC_FILE_SH_RW:
		if (write || move)
			return E(EOPNOTSUPP);
		*certain = false;
		return 0;
	}
	*certain = false;
	return 0;
}

/*
 * What a memfd range does. Returns the errnos a request with this item
 * certainly fails with (*certain), or those it may fail with.
 */
static errset memfd_errs(const struct fdent *f, uint64_t off, uint64_t size,
			   bool write, bool *certain)
{
	*certain = true;
	switch (f->fc) {
	case FC_BADF:
		return E(EBADF);
	case FC_BADFD:
		return E(EBADFD);
	case FC_UNSEALED:
		return E(EINVAL);
	case FC_MEMFD:
		break;
	}
	if (!(f->seals & F_SEAL_SHRINK) ||
	    (f->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return E(EINVAL);
	if (off + size > f->size)
		return E(EINVAL);
	/* An empty range is skipped (upstream), before any mapping. */
	if (size && (f->acc == O_WRONLY || (f->acc == O_RDONLY && write)))
		return E(EACCES);
	*certain = false;
	return f->huge ? E(ENOMEM) : 0;
}

struct outcome {
	int ret;		/* 0 or an fd on success */
	int err;		/* errno on failure */
	errset allowed;		/* errnos allowed */
	errset must;		/* non-zero: must fail with one of these */
};

/*
 * The charge stage, which comes after every argument check and before any
 * page is taken: an extended create's pages against RLIMIT_MEMLOCK
 * (ENOMEM), an upstream one's against user_limit_mb (EDQUOT), with what the
 * worker's live buffers already hold. Returns the errno the limits decide,
 * or 0.
 */
static errset charge_errs(const struct worker *w, const struct charge *c)
{
	if (w->exempt)
		return 0;
	if (c->locked && w->held.locked + c->locked > w->memlock_pages)
		return E(ENOMEM);
	if (c->counted && w->held.counted + c->counted > w->user_limit_pages)
		return E(EDQUOT);
	return 0;
}

/* ---- checks of a success ------------------------------------------------------ */

struct expect {
	uint64_t size;
	uint32_t data_offset;
	uint32_t mode;		/* PIN, COPY or MOVE */
	uint32_t buf_flags;
	uint32_t source_must;	/* USER and/or MEMFD */
	struct charge charge;	/* what the buffer is charged */
	bool cloexec;
};

static void check_success(struct worker *w, uint64_t call, int fd,
			  const struct expect *x)
{
	struct udmabuf_ext_info info;
	int flags, ret;
	uint8_t *m;

	flags = fcntl(fd, F_GETFD);
	if (flags < 0) {
		fuzz_fail(w, call, "returned fd %d is not open", fd);
		return;
	}
	if (!!(flags & FD_CLOEXEC) != x->cloexec)
		fuzz_fail(w, call, "FD_CLOEXEC is %d, asked %d", !!(flags & FD_CLOEXEC),
			  x->cloexec);
	ret = ub_info(w->p.dev, fd, &info);
	if (ret) {
		fuzz_fail(w, call, "UDMABUF_EXT_INFO on the new buffer: %s",
			  strerror(-ret));
		return;
	}
	if (info.size != x->size || info.nr_pages * PG != x->size)
		fuzz_fail(w, call, "size %llu, %llu pages; expected %llu bytes",
			  (unsigned long long)info.size,
			  (unsigned long long)info.nr_pages,
			  (unsigned long long)x->size);
	if (info.data_offset != x->data_offset)
		fuzz_fail(w, call, "data_offset %u, expected %u", info.data_offset,
			  x->data_offset);
	if (info.mode != x->mode)
		fuzz_fail(w, call, "mode %u, expected %u", info.mode, x->mode);
	if (info.buf_flags != x->buf_flags)
		fuzz_fail(w, call, "buf_flags %#x, expected %#x", info.buf_flags,
			  x->buf_flags);
	if ((info.source & (UDMABUF_EXT_SOURCE_USER | UDMABUF_EXT_SOURCE_MEMFD)) !=
	    x->source_must)
		fuzz_fail(w, call, "source %#x, expected USER/MEMFD bits %#x",
			  info.source, x->source_must);
	if (info.nr_segments < 1 || info.nr_segments > info.nr_pages)
		fuzz_fail(w, call, "%llu segments for %llu pages",
			  (unsigned long long)info.nr_segments,
			  (unsigned long long)info.nr_pages);
	if (info.nr_charged != x->charge.locked)
		fuzz_fail(w, call, "%llu pages charged, expected %llu",
			  (unsigned long long)info.nr_charged,
			  (unsigned long long)x->charge.locked);
	if (info.owner_pid != (uint32_t)getpid() || info.nr_attachments ||
	    info.reserved[0] || info.reserved[1] || info.reserved[2] ||
	    info.reserved[3])
		fuzz_fail(w, call, "owner %u (pid %d), %u attachments, reserved set",
			  info.owner_pid, getpid(), info.nr_attachments);

	/* The dma-buf maps shared, read-only buffers only without PROT_WRITE. */
	m = mmap(NULL, x->size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fuzz_fail(w, call, "mmap PROT_READ: %s", strerror(errno));
	} else {
		volatile uint8_t sink = m[0] + m[x->size - 1];

		(void)sink;
		munmap(m, x->size);
	}
	m = mmap(NULL, x->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (x->buf_flags & UDMABUF_EXT_INFO_READ_ONLY) {
		if (m != MAP_FAILED || errno != EACCES)
			fuzz_fail(w, call, "writable mmap of a read-only buffer: %s",
				  m == MAP_FAILED ? strerror(errno) : "mapped");
	} else if (m == MAP_FAILED) {
		fuzz_fail(w, call, "mmap PROT_WRITE: %s", strerror(errno));
	} else {
		/* Rewrite what is there: the bytes may be the process's own. */
		m[x->size - 1] = m[x->size - 1];
	}
	if (m != MAP_FAILED)
		munmap(m, x->size);
	m = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED || errno != EINVAL) {
		fuzz_fail(w, call, "MAP_PRIVATE: %s", m == MAP_FAILED ?
			  strerror(errno) : "mapped");
		if (m != MAP_FAILED)
			munmap(m, PG);
	}
	if (ub_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
	    ub_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
		fuzz_fail(w, call, "DMA_BUF_IOCTL_SYNC failed");
	__atomic_fetch_add(&w->sh->checked_ok, 1, __ATOMIC_RELAXED);
}

static void charge_add(struct charge *to, const struct charge *c, int sign)
{
	to->locked += sign * c->locked;
	to->counted += sign * c->counted;
}

/* Close a live slot: its charge is returned at once (close runs release). */
static void close_live(struct worker *w, int slot)
{
	if (w->p.live[slot] < 0)
		return;
	close(w->p.live[slot]);
	w->p.live[slot] = -1;
	charge_add(&w->held, &w->live[slot], -1);
}

/*
 * Keep a success alive for a while (as an fd for later calls), or close
 * it; @c is what it is charged, if the worker is charged at all.
 */
static void keep_or_close(struct worker *w, struct rng *r, int fd,
			  const struct charge *c)
{
	int slot;

	if (!rng_pct(r, 30)) {
		close(fd);
		return;
	}
	slot = rng_below(r, NR_LIVE);
	close_live(w, slot);
	w->p.live[slot] = fd;
	w->live[slot] = w->exempt ? (struct charge){ 0 } : *c;
	charge_add(&w->held, &w->live[slot], 1);
}

/* ---- argument pointers --------------------------------------------------------- */

enum argp { ARGP_OK, ARGP_RO, ARGP_NULL, ARGP_KERNEL, ARGP_UNMAPPED };

static enum argp gen_argp(struct rng *r)
{
	if (!rng_bad(r, 5))
		return ARGP_OK;
	switch (rng_below(r, 5)) {
	case 0 ... 1: return ARGP_RO;
	case 2: return ARGP_NULL;
	case 3: return ARGP_KERNEL;
	default: return ARGP_UNMAPPED;
	}
}

/* Where the call's argument goes; the struct is built at w->p.argpage. */
static void *place_arg(struct worker *w, enum argp how, size_t len)
{
	switch (how) {
	case ARGP_OK:
		return w->p.argpage;
	case ARGP_RO:
		mprotect(w->p.ropage, PG, PROT_READ | PROT_WRITE);
		memcpy(w->p.ropage, w->p.argpage, len);
		mprotect(w->p.ropage, PG, PROT_READ);
		return w->p.ropage;
	case ARGP_NULL:
		return NULL;
	case ARGP_KERNEL:
		return (void *)0xffff888000001000ull;
	case ARGP_UNMAPPED:
		return (void *)w->p.unmapped;
	}
	return NULL;
}

static const char * const argp_names[] = { "ok", "read-only", "NULL", "kernel",
					   "unmapped" };

/* ---- the calls ---------------------------------------------------------------- */

static void judge(struct worker *w, uint64_t call, enum op op,
		  const struct outcome *o)
{
	char a[160], b[160];

	w->sh->op_calls[op]++;
	if (o->must)
		w->sh->predicted++;
	if (o->ret >= 0) {
		w->sh->op_ok[op]++;
		if (o->must) {
			set_str(o->must, a, sizeof(a));
			fuzz_fail(w, call, "succeeded; the rules say it fails with %s", a);
		}
		return;
	}
	if (o->err > 0 && o->err < 134)
		w->sh->errnos[op][o->err]++;
	if (!in_set(o->err, o->allowed)) {
		set_str(o->allowed, a, sizeof(a));
		fuzz_fail(w, call, "errno %s, not documented for %s (%s)",
			  strerrorname_np(o->err) ?: "?", op_names[op], a);
	} else if (o->must && !in_set(o->err, o->must | ERRS_RESOURCE)) {
		set_str(o->must, a, sizeof(a));
		set_str(o->allowed, b, sizeof(b));
		fuzz_fail(w, call, "errno %s; the rules say %s",
			  strerrorname_np(o->err) ?: "?", a);
	}
}

static int do_ioctl(int fd, unsigned long cmd, void *arg, int *err)
{
	int ret = ioctl(fd, cmd, arg);

	*err = ret < 0 ? errno : 0;
	return ret;
}

/*
 * The fill stage, item by item: the first item that certainly fails decides
 * the errno, if no item before it can fail otherwise.
 */
enum item_state { IS_OK, IS_UNKNOWN, IS_FAILS };

struct fill_pred {
	bool unknown_before;	/* an earlier item may fail unpredictably */
	errset must;		/* errnos of the first certain failure */
	bool fails;
};

static void pred_add(struct fill_pred *f, enum item_state st, errset errs)
{
	if (f->fails)
		return;
	if (st == IS_FAILS) {
		f->fails = true;
		f->must = f->unknown_before ? 0 : errs;
	} else if (st == IS_UNKNOWN) {
		f->unknown_before = true;
	}
}

/* A USER item inside one region: its outcome in the resolved @mode. */
static enum item_state user_state(const struct pool *p, const struct range *rg,
				  uint32_t mode, bool ro, errset *errs)
{
	bool certain, copy = mode == UDMABUF_EXT_MODE_COPY;
	const struct region *reg;
	uint64_t s, e;

	if (rg->reg < 0)
		return IS_UNKNOWN;
	*errs = region_errs(p, rg, !copy && !ro, mode == UDMABUF_EXT_MODE_MOVE,
			    copy, &certain);
	if (certain)
		return IS_FAILS;
	/* Not certain: known only for a range inside a one-VMA region. */
	reg = &p->reg[rg->reg];
	s = rg->start & ~(PG - 1);
	e = (rg->start + rg->size + PG - 1) & ~(PG - 1);
	if (reg->vc == VC_MIXED || s < reg->addr || e > reg->addr + reg->len)
		return IS_UNKNOWN;
	return IS_OK;
}

static enum item_state memfd_state(const struct fdent *f, uint64_t off,
				   uint64_t size, uint32_t mode, bool ro,
				   errset *errs)
{
	bool certain;

	*errs = memfd_errs(f, off, size, mode != UDMABUF_EXT_MODE_COPY && !ro,
			   &certain);
	return certain ? IS_FAILS : IS_OK;
}

/* A valid item of an EXT_CREATE, whose fill stage is judged once the mode is. */
struct pending {
	bool user;
	struct range rg;		/* user */
	const struct fdent *f;		/* memfd */
	uint64_t off, size;		/* memfd */
};

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	uint64_t xs = x->rg.start & ~(PG - 1), ys = y->rg.start & ~(PG - 1);

	return xs < ys ? -1 : xs > ys;
}

/*
 * Do two user items share a page? A MOVE would find a page listed twice
 * gone when its second item came, so the module refuses it (EINVAL).
 * Sorts @pend.
 */
static bool user_pages_overlap(struct pending *pend, uint32_t n)
{
	uint64_t end = 0;
	uint32_t i;

	qsort(pend, n, sizeof(*pend), cmp_pending);
	for (i = 0; i < n; i++) {
		uint64_t s = pend[i].rg.start & ~(PG - 1);
		uint64_t e = (pend[i].rg.start + pend[i].rg.size + PG - 1) & ~(PG - 1);

		if (!pend[i].user)
			continue;
		if (s < end)
			return true;
		if (e > end)
			end = e;
	}
	return false;
}

/*
 * AUTO, resolved as the module does once every item is valid: COPY for a
 * writable range whose outer ends are not page aligned (a device must
 * not write pages it was not offered whole) or for a buffer of at most
 * auto_copy_max_kb, PIN otherwise.
 */
static uint32_t resolve_mode(const struct pool *p, uint32_t mode, bool ro,
			     bool unaligned, uint64_t pages)
{
	if (mode != UDMABUF_EXT_MODE_AUTO)
		return mode;
	if ((unaligned && !ro) || pages * PG <= p->auto_copy_bytes)
		return UDMABUF_EXT_MODE_COPY;
	return UDMABUF_EXT_MODE_PIN;
}

static void call_ext_create(struct worker *w, struct rng *r, uint64_t call)
{
	static struct pending pend[MAX_BUILD];
	struct udmabuf_ext_create *c = (void *)w->p.argpage;
	struct udmabuf_ext_item *it;
	enum argp argp = gen_argp(r);
	struct outcome o = { .allowed = ERRS_EXT };
	struct expect x = { 0 };
	struct fill_pred fp = { 0 };
	errset hdr_errs = 0, item_errs = 0;
	uint64_t total = 0;
	bool items_bad = false, ro, move, writable, unaligned = false;
	uint32_t count, i, built, npend = 0, mode;
	/* Where the argument will be, for MOVE's rule about it. */
	uintptr_t argaddr = (uintptr_t)(argp == ARGP_RO ? w->p.ropage : w->p.argpage);
	int kind_sel;
	void *arg;

	memset(c, 0, sizeof(*c));
	c->flags = !rng_bad(r, 15) ? rng_below(r, 4) : (uint32_t)rng_next(r);
	c->mode = !rng_bad(r, 10) ? rng_below(r, 4) : (uint32_t)rng_next(r);
	switch (r->sane ? rng_below(r, 85) : rng_below(r, 100)) {
	case 0 ... 69: count = 1 + rng_below(r, 3); break;
	case 70 ... 84: count = 4 + rng_below(r, 61); break;
	case 85 ... 89: count = 0; break;
	case 90 ... 94: count = w->p.list_limit + rng_below(r, 2); break;
	default: count = (uint32_t)rng_next(r); break;
	}
	c->count = count;
	if (rng_bad(r, 3))
		c->__pad = rng_next(r) | 1;
	if (rng_bad(r, 3))
		c->reserved[rng_below(r, 2)] = rng_next(r) | 1;
	if (rng_pct(r, 10))
		c->fd = rng_next(r);	/* out fields: ignored on input */
	if (rng_pct(r, 10))
		c->size = rng_next(r);
	ro = c->flags & UDMABUF_EXT_FLAGS_READ_ONLY;
	move = c->mode == UDMABUF_EXT_MODE_MOVE;
	/* Devices may write the pages: the ranges must be page aligned. */
	writable = !ro && (move || c->mode == UDMABUF_EXT_MODE_PIN);

	if (c->flags & ~UDMABUF_EXT_CREATE_VALID_FLAGS || c->mode > 3 ||
	    c->__pad || c->reserved[0] || c->reserved[1] || (move && ro) ||
	    !count || count > w->p.list_limit)
		hdr_errs = E(EINVAL);

	/* The items end at the guard page (or run into it). */
	built = count <= MAX_BUILD ? count : 0;
	kind_sel = rng_below(r, 3);	/* 0 user only, 1 memfd only, 2 mixed */
	it = (struct udmabuf_ext_item *)(w->p.items_guard - (uint64_t)built * 24);
	switch (r->sane ? 4 + rng_below(r, 96) : rng_below(r, 100)) {
	case 0 ... 1: c->items = 0; items_bad = true; break;
	case 2: c->items = 0xffff888000000000ull; items_bad = true; break;
	case 3:
		if (built) {
			it = (void *)((uint8_t *)it + 8);
			items_bad = true;
		}
		c->items = (uintptr_t)it;
		break;
	default: c->items = (uintptr_t)it; break;
	}
	if (items_bad && (uintptr_t)it + built * 24 > (uintptr_t)w->p.items_guard)
		it = (struct udmabuf_ext_item *)(w->p.items_guard - (uint64_t)built * 24);
	desc_add(w, "EXT_CREATE flags=%#x mode=%u count=%u pad=%#x res=%#llx,%#llx items=%#llx arg=%s:",
		 c->flags, c->mode, count, c->__pad,
		 (unsigned long long)c->reserved[0],
		 (unsigned long long)c->reserved[1],
		 (unsigned long long)c->items, argp_names[argp]);

	for (i = 0; i < built; i++) {
		struct udmabuf_ext_item *e = &it[i];
		bool user = kind_sel == 0 || (kind_sel == 2 && rng_pct(r, 50));
		struct pending *pd = &pend[npend];
		uint64_t end, pages = 0;
		struct range rg;

		memset(e, 0, sizeof(*e));
		if (rng_bad(r, 3)) {
			e->kind = rng_pct(r, 50) ? 2 + rng_below(r, 5) : (uint32_t)rng_next(r) | 2;
			e->start = rng_next(r);
			e->size = rng_next(r);
			desc_add(w, " [kind %u]", e->kind);
			item_errs |= E(EINVAL);
			continue;
		}
		if (user) {
			gen_user_range(w, r, &rg);
			if (rng_bad(r, 2))
				e->memfd = 1 + rng_below(r, 100);
			/* Mostly keep interior boundaries aligned. */
			if (i > 0 && rng_pct(r, 90))
				rg.start &= ~(PG - 1);
			if (i + 1 < built && rng_pct(r, 90) && rg.size &&
			    rg.start + rg.size > rg.start)
				rg.size = ((rg.start + rg.size + PG - 1) & ~(PG - 1)) - rg.start;
			/* ... and mostly the outer ones of writable ranges. */
			if (writable && rng_pct(r, 80)) {
				rg.start &= ~(PG - 1);
				if (rg.size < (1ull << 62))
					rg.size = (rg.size + PG - 1) & ~(PG - 1);
			}
			e->kind = UDMABUF_EXT_ITEM_USER;
			e->start = rg.start;
			e->size = rg.size;
			desc_add(w, " [user %s+%#llx len %#llx memfd %u]",
				 rg.reg >= 0 ? w->p.reg[rg.reg].name : "special",
				 (unsigned long long)(rg.reg >= 0 ?
					e->start - w->p.reg[rg.reg].addr : e->start),
				 (unsigned long long)e->size, e->memfd);
			/*
			 * The argument checks, in the module's order; a MOVE
			 * may not take the page its own argument (the
			 * results) is in.
			 */
			if (__builtin_add_overflow(e->start, e->size, &end) ||
			    e->memfd || !e->size ||
			    (i > 0 && (e->start & (PG - 1))) ||
			    (i + 1 < count && (end & (PG - 1))) ||
			    (writable && ((e->start | end) & (PG - 1))) ||
			    (move && argaddr < end &&
			     e->start < argaddr + sizeof(*c))) {
				item_errs |= E(EINVAL);
				continue;
			}
			if (end > 0x7ffffffff000ull) {
				item_errs |= E(EFAULT);
				continue;
			}
			if ((e->start | end) & (PG - 1))
				unaligned = true;
			pages = (((end + PG - 1) & ~(PG - 1)) - (e->start & ~(PG - 1))) / PG;
			if (i == 0)
				x.data_offset = e->start & (PG - 1);
			x.source_must |= UDMABUF_EXT_SOURCE_USER;
			*pd = (struct pending){ .user = true, .rg = rg };
		} else {
			int fdnum;
			const struct fdent *f = pick_fd(w, r, &fdnum);

			e->kind = UDMABUF_EXT_ITEM_MEMFD;
			e->memfd = fdnum;
			gen_memfd_range(r, &e->start, &e->size);
			desc_add(w, " [memfd %s off %#llx len %#llx]", f->name,
				 (unsigned long long)e->start,
				 (unsigned long long)e->size);
			if (__builtin_add_overflow(e->start, e->size, &end) ||
			    (e->start | e->size) & (PG - 1) || end > MAX_LFS ||
			    !e->size || move) {
				item_errs |= E(EINVAL);
				continue;
			}
			pages = e->size / PG;
			x.source_must |= UDMABUF_EXT_SOURCE_MEMFD;
			*pd = (struct pending){ .f = f, .off = e->start,
						.size = e->size };
		}
		npend++;
		if (total + pages < total)
			item_errs |= E(EINVAL);
		total += pages;
	}
	if (!item_errs && built == count && (!total || total > w->p.size_limit_pages))
		item_errs |= E(EINVAL);

	/* The mode the buffer gets, and the fill stage in that mode. */
	mode = resolve_mode(&w->p, c->mode, ro, unaligned, total);
	for (i = 0; i < npend; i++) {
		enum item_state st;
		errset errs = 0;

		if (pend[i].user)
			st = user_state(&w->p, &pend[i].rg, mode, ro, &errs);
		else
			st = memfd_state(pend[i].f, pend[i].off, pend[i].size,
					 mode, ro, &errs);
		pred_add(&fp, st, errs);
	}
	/*
	 * MOVE may not name a page twice (checked once every item is valid;
	 * sorts @pend, which the fill stage above no longer needs).
	 */
	if (!item_errs && built == count && move &&
	    user_pages_overlap(pend, npend))
		item_errs |= E(EINVAL);
	/* The extended ABI charges every page to RLIMIT_MEMLOCK. */
	x.charge.locked = total;

	arg = place_arg(w, argp, sizeof(*c));
	o.ret = do_ioctl(w->p.dev, UDMABUF_EXT_CREATE, arg, &o.err);

	/* What the rules decide, stage by stage. */
	if (argp >= ARGP_NULL)
		o.must = E(EFAULT);
	else if (hdr_errs)
		o.must = hdr_errs;
	else if (items_bad)
		o.must = E(EFAULT);
	else if (item_errs)
		o.must = item_errs;
	else if ((o.must = charge_errs(w, &x.charge)))
		;
	else if (fp.fails)
		o.must = fp.must ?: ERRS_FILL;	/* fails; errno known or not */
	else if (argp == ARGP_RO)
		o.must = E(EFAULT) | ERRS_FILL;	/* copy_to_user at the latest */
	if (!(o.must & E(EDQUOT)))
		o.allowed &= ~E(EDQUOT);
	judge(w, call, OP_EXT_CREATE, &o);
	if (o.ret < 0)
		return;
	if (argp != ARGP_OK)
		return;
	x.size = c->size;
	x.cloexec = c->flags & UDMABUF_EXT_FLAGS_CLOEXEC;
	x.mode = mode;
	x.buf_flags = ro ? UDMABUF_EXT_INFO_READ_ONLY : 0;
	if (total * PG != c->size)
		fuzz_fail(w, call, "size %llu, items add up to %llu pages",
			  (unsigned long long)c->size, (unsigned long long)total);
	if (c->data_offset != x.data_offset)
		fuzz_fail(w, call, "data_offset out %u, expected %u",
			  c->data_offset, x.data_offset);
	if (c->__pad || c->reserved[0] || c->reserved[1])
		fuzz_fail(w, call, "pad/reserved changed on output");
	check_success(w, call, c->fd, &x);
	/* Its own fd as a memfd, and the info ioctl through /dev/udmabuf. */
	if (rng_pct(r, 10)) {
		struct udmabuf_ext_info info = { .fd = c->fd };
		int ret = ub_create_memfd(w->p.dev, c->fd, 0, PG, 0);

		if (ret != -EBADFD)
			fuzz_fail(w, call, "the dma-buf as a memfd: %d", ret);
		if (ret >= 0)
			close(ret);
		if (w->p.dropin >= 0 &&
		    (!ioctl(w->p.dropin, UDMABUF_EXT_INFO, &info) || errno != ENOTTY))
			fuzz_fail(w, call, "EXT_INFO on /dev/udmabuf: not ENOTTY");
	}
	keep_or_close(w, r, c->fd, &x.charge);
}

static void call_create(struct worker *w, struct rng *r, uint64_t call, int node,
			bool on_dropin)
{
	struct udmabuf_create *c = (void *)w->p.argpage;
	enum argp argp = gen_argp(r);
	struct outcome o = { .allowed = ERRS_UPSTREAM };
	struct charge charge = { 0 };
	const struct fdent *f;
	uint64_t end;
	errset errs;
	bool certain;
	int fdnum;
	void *arg;

	memset(c, 0, sizeof(*c));
	f = pick_fd(w, r, &fdnum);
	c->memfd = fdnum;
	c->flags = !rng_bad(r, 10) ? rng_below(r, 2) : (uint32_t)rng_next(r);
	gen_memfd_range(r, &c->offset, &c->size);
	desc_add(w, "CREATE on %s memfd=%s flags=%#x off=%#llx size=%#llx arg=%s",
		 on_dropin ? "/dev/udmabuf" : "/dev/udmabuf-ext", f->name, c->flags,
		 (unsigned long long)c->offset, (unsigned long long)c->size,
		 argp_names[argp]);
	/* Memfd pages count against user_limit_mb. */
	charge.counted = c->size / PG;
	arg = place_arg(w, argp, sizeof(*c));
	o.ret = do_ioctl(node, UDMABUF_CREATE, arg, &o.err);

	if (argp >= ARGP_NULL)
		o.must = E(EFAULT);
	else if (c->flags & ~UDMABUF_FLAGS_CLOEXEC ||
		 __builtin_add_overflow(c->offset, c->size, &end) ||
		 (c->offset | c->size) & (PG - 1) || end > MAX_LFS || !c->size ||
		 c->size / PG > w->p.size_limit_pages)
		o.must = E(EINVAL);
	else if ((o.must = charge_errs(w, &charge)))
		;
	else if ((errs = memfd_errs(f, c->offset, c->size, true, &certain)) && certain)
		o.must = errs;
	if (!(o.must & E(EDQUOT)))
		o.allowed &= ~E(EDQUOT);
	judge(w, call, OP_CREATE, &o);
	if (o.ret >= 0) {
		struct expect x = {
			.size = c->size, .mode = UDMABUF_EXT_MODE_PIN,
			.buf_flags = UDMABUF_EXT_INFO_DROPIN,
			.source_must = UDMABUF_EXT_SOURCE_MEMFD,
			.charge = charge,
			.cloexec = c->flags & UDMABUF_FLAGS_CLOEXEC,
		};

		check_success(w, call, o.ret, &x);
		keep_or_close(w, r, o.ret, &charge);
	}
}

static void call_create_list(struct worker *w, struct rng *r, uint64_t call,
			     int node, bool on_dropin)
{
	struct udmabuf_create_list *head;
	struct udmabuf_create_item *list;
	enum argp argp = gen_argp(r);
	struct outcome o = { .allowed = ERRS_UPSTREAM };
	struct charge charge = { 0 };
	struct fill_pred fp = { 0 };
	errset item_errs = 0;
	uint64_t total = 0;
	uint32_t count, i, cap = (PG - sizeof(*head)) / sizeof(*list);
	bool list_bad = false;
	void *arg;

	switch (r->sane ? rng_below(r, 90) : rng_below(r, 100)) {
	case 0 ... 79: count = 1 + rng_below(r, 4); break;
	case 80 ... 89: count = 5 + rng_below(r, cap - 5); break;
	case 90 ... 94: count = 0; break;
	default: count = w->p.list_limit + rng_below(r, 2); break;
	}
	/* The list ends at the guard page; 2%: its last item runs into it. */
	if (count && count <= MAX_BUILD && rng_bad(r, 2))
		list_bad = true;
	head = (void *)(w->p.items_guard - sizeof(*head) -
			(uint64_t)(count <= MAX_BUILD ? count : 0) * sizeof(*list) +
			(list_bad ? 8 : 0));
	/* A read-only argument is one page: only for short lists. */
	if (argp == ARGP_RO && (count > cap || list_bad))
		argp = ARGP_OK;
	memset(head, 0, sizeof(*head));
	head->flags = !rng_bad(r, 10) ? rng_below(r, 2) : (uint32_t)rng_next(r);
	head->count = count;
	list = head->list;
	desc_add(w, "CREATE_LIST on %s flags=%#x count=%u arg=%s%s:",
		 on_dropin ? "/dev/udmabuf" : "/dev/udmabuf-ext", head->flags, count,
		 argp_names[argp], list_bad ? " list runs into a guard page" : "");
	for (i = 0; i < count && i < MAX_BUILD; i++) {
		struct udmabuf_create_item item = { 0 };
		const struct fdent *f;
		uint64_t end;
		errset errs;
		bool certain;
		int fdnum;

		f = pick_fd(w, r, &fdnum);
		item.memfd = fdnum;
		item.__pad = rng_bad(r, 2) ? (uint32_t)rng_next(r) | 1 : 0;
		gen_memfd_range(r, &item.offset, &item.size);
		if (!list_bad || i + 1 < count)
			list[i] = item;
		if (i < 8)
			desc_add(w, " [%s off %#llx len %#llx pad %#x]", f->name,
				 (unsigned long long)item.offset,
				 (unsigned long long)item.size, item.__pad);
		if (item.__pad ||
		    __builtin_add_overflow(item.offset, item.size, &end) ||
		    (item.offset | item.size) & (PG - 1) || end > MAX_LFS) {
			item_errs |= E(EINVAL);
			continue;
		}
		total += item.size / PG;
		errs = memfd_errs(f, item.offset, item.size, true, &certain);
		pred_add(&fp, certain ? IS_FAILS : IS_OK, errs);
	}
	arg = argp == ARGP_OK ? (void *)head : place_arg(w, argp, PG);
	if (argp == ARGP_RO) {
		mprotect(w->p.ropage, PG, PROT_READ | PROT_WRITE);
		memcpy(w->p.ropage, head, sizeof(*head) + count * sizeof(*list));
		mprotect(w->p.ropage, PG, PROT_READ);
	}
	o.ret = do_ioctl(node, UDMABUF_CREATE_LIST, arg, &o.err);
	charge.counted = total;	/* memfd pages count against user_limit_mb */
	if (argp >= ARGP_NULL)
		o.must = E(EFAULT);
	else if (head->flags & ~UDMABUF_FLAGS_CLOEXEC || !count ||
		 count > w->p.list_limit)
		o.must = E(EINVAL);
	else if (list_bad)
		o.must = E(EFAULT);
	else if (item_errs || !total || total > w->p.size_limit_pages)
		o.must = E(EINVAL);
	else if ((o.must = charge_errs(w, &charge)))
		;
	else if (fp.fails)
		o.must = fp.must ?: ERRS_UPSTREAM & ~E(EDQUOT);
	if (!(o.must & E(EDQUOT)))
		o.allowed &= ~E(EDQUOT);
	judge(w, call, OP_CREATE_LIST, &o);
	if (o.ret >= 0) {
		struct expect x = {
			.size = total * PG, .mode = UDMABUF_EXT_MODE_PIN,
			.buf_flags = UDMABUF_EXT_INFO_DROPIN,
			.source_must = UDMABUF_EXT_SOURCE_MEMFD,
			.charge = charge,
			.cloexec = head->flags & UDMABUF_FLAGS_CLOEXEC,
		};

		check_success(w, call, o.ret, &x);
		keep_or_close(w, r, o.ret, &charge);
	}
}

static void call_info(struct worker *w, struct rng *r, uint64_t call)
{
	struct udmabuf_ext_info *in = (void *)w->p.argpage;
	enum argp argp = gen_argp(r);
	struct outcome o = { .allowed = ERRS_INFO };
	const struct fdent *f;
	int fdnum, slot;
	bool ours = false;
	void *arg;

	memset(in, 0, sizeof(*in));
	f = pick_fd(w, r, &fdnum);
	slot = rng_below(r, NR_LIVE);
	if (rng_pct(r, 40) && w->p.live[slot] >= 0) {
		fdnum = w->p.live[slot];
		ours = true;
	} else {
		ours = f->ours;
	}
	in->fd = fdnum;
	in->flags = !rng_bad(r, 10) ? 0 : (uint32_t)rng_next(r);
	if (rng_pct(r, 10))
		in->reserved[rng_below(r, 4)] = rng_next(r);	/* out: ignored */
	desc_add(w, "INFO fd=%s%s flags=%#x arg=%s", ours ? "ours " : "",
		 ours ? "" : f->name, in->flags, argp_names[argp]);
	arg = place_arg(w, argp, sizeof(*in));
	o.ret = do_ioctl(w->p.dev, UDMABUF_EXT_INFO, arg, &o.err);
	if (argp >= ARGP_NULL)
		o.must = E(EFAULT);
	else if (in->flags)
		o.must = E(EINVAL);
	else if (!ours)
		o.must = f->fc == FC_BADF ? E(EBADF) : E(EINVAL);
	else if (argp == ARGP_RO)
		o.must = E(EFAULT);
	judge(w, call, OP_INFO, &o);
	if (o.ret == 0 && (in->fd != (uint32_t)fdnum || !in->size ||
			   in->size != in->nr_pages * PG))
		fuzz_fail(w, call, "INFO returned fd %u size %llu pages %llu",
			  in->fd, (unsigned long long)in->size,
			  (unsigned long long)in->nr_pages);
}

static bool generic_cmd_type(unsigned int type)
{
	/* fs/ioctl.c handles these before the driver (FIFREEZE, FICLONE...). */
	return type == 0x00 || type == 'T' || type == 'X' || type == 'f' ||
	       type == 0x94;
}

static void call_random_cmd(struct worker *w, struct rng *r, uint64_t call,
			    int node, bool on_dropin)
{
	struct outcome o = { .allowed = E(ENOTTY), .must = E(ENOTTY) };
	unsigned long cmd;
	void *arg;

	do {
		cmd = (uint32_t)rng_next(r);
		if (rng_pct(r, 50))
			cmd = (cmd & ~0xff00ul) | ('u' << 8);
	} while (generic_cmd_type(_IOC_TYPE(cmd)) || cmd == UDMABUF_CREATE ||
		 cmd == UDMABUF_CREATE_LIST || cmd == UDMABUF_EXT_CREATE ||
		 cmd == UDMABUF_EXT_INFO);
	arg = rng_pct(r, 50) ? (void *)w->p.argpage : (void *)(uintptr_t)rng_next(r);
	memset(w->p.argpage, 0, 64);
	desc_add(w, "cmd %#lx on %s", cmd, on_dropin ? "/dev/udmabuf" :
		 "/dev/udmabuf-ext");
	o.ret = do_ioctl(node, cmd, arg, &o.err);
	judge(w, call, OP_RANDOM_CMD, &o);
}

/* The extended ioctls on /dev/udmabuf: ENOTTY whatever the argument. */
static void call_ext_on_dropin(struct worker *w, struct rng *r, uint64_t call)
{
	struct outcome o = { .allowed = E(ENOTTY), .must = E(ENOTTY) };
	unsigned long cmd = rng_pct(r, 50) ? UDMABUF_EXT_CREATE : UDMABUF_EXT_INFO;
	struct udmabuf_ext_item *it = (void *)w->p.items;
	struct udmabuf_ext_create *c = (void *)w->p.argpage;

	memset(c, 0, sizeof(*c));
	*it = (struct udmabuf_ext_item){
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = w->p.reg[REG_ANON].addr, .size = PG,
	};
	c->count = 1;
	c->items = (uintptr_t)it;
	desc_add(w, "%s on /dev/udmabuf", cmd == UDMABUF_EXT_CREATE ?
		 "EXT_CREATE" : "EXT_INFO");
	o.ret = do_ioctl(w->p.dropin, cmd, c, &o.err);
	judge(w, call, OP_EXT_ON_DROPIN, &o);
	if (o.ret >= 0 && cmd == UDMABUF_EXT_CREATE)
		close(c->fd);
}

static void one_call(struct worker *w, uint64_t call)
{
	struct rng r = { rng_mix(w->seed * 0x100000001b3ull ^ call), false };
	bool dropin;
	int node;

	r.sane = rng_pct(&r, 50);
	dropin = rng_pct(&r, 30) && w->p.dropin >= 0;
	node = dropin ? w->p.dropin : w->p.dev;
	desc_reset(w);
	switch (rng_below(&r, 100)) {
	case 0 ... 44:
		if (dropin)
			call_ext_on_dropin(w, &r, call);
		else
			call_ext_create(w, &r, call);
		break;
	case 45 ... 61:
		call_create(w, &r, call, node, dropin);
		break;
	case 62 ... 77:
		call_create_list(w, &r, call, node, dropin);
		break;
	case 78 ... 94:
		if (dropin)
			call_ext_on_dropin(w, &r, call);
		else
			call_info(w, &r, call);
		break;
	default:
		call_random_cmd(w, &r, call, node, dropin);
		break;
	}
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "# w%d %llu: %s\n", w->id, (unsigned long long)call,
			w->desc);
}

/* Does this process have CAP_IPC_LOCK (in its effective set)? */
static bool cap_ipc_lock(void)
{
	long long eff = ub_status_num("CapEff", 16);

	return eff > 0 && ((eff >> CAP_IPC_LOCK) & 1);
}

/* user_limit_mb in pages. */
static uint64_t user_limit_pages(void)
{
	long mb = ub_param("user_limit_mb");

	return mb > 0 ? (uint64_t)mb << 8 : 0;
}

static int worker_main(struct shared *sh, uint64_t seed, int id, uint64_t calls,
		       double deadline)
{
	struct worker *w = calloc(1, sizeof(*w));
	uint64_t only = env_u64("FUZZ_ONLY", ~0ull), i;
	double t0 = now_s();
	int fds0, ret, k;

	if (!w)
		return 2;
	w->sh = sh;
	w->seed = seed + id;
	w->id = id;
	if (id == 1) {
		struct rlimit rl = { MEMLOCK_BYTES, MEMLOCK_BYTES };

		if (ub_drop_cap_ipc_lock() || setrlimit(RLIMIT_MEMLOCK, &rl))
			return 3;
	}
	w->exempt = cap_ipc_lock();
	w->memlock_pages = MEMLOCK_BYTES / PG;
	w->user_limit_pages = user_limit_pages();
	ret = pool_init(&w->p, id);
	if (ret) {
		fprintf(stderr, "# worker %d: pool set-up failed: %s\n", id,
			strerror(-ret));
		return 2;
	}
	/* The pool's own dma-buf: a 16-page COPY, charged to RLIMIT_MEMLOCK. */
	for (k = 0; k < w->p.nr_fds && !w->exempt; k++)
		if (w->p.fds[k].ours)
			w->held.locked += 16;
	fds0 = ub_count_fds();
	for (i = 0; i < calls; i++) {
		if (only != ~0ull && i != only)
			continue;
		one_call(w, i);
		sh->calls++;
		if (!(i & 63) && now_s() > deadline)
			break;
		if (sh->failures >= MAX_FAIL_MSGS)
			break;
	}
	for (k = 0; k < NR_LIVE; k++)
		close_live(w, k);
	if (ub_count_fds() != fds0 - 0) {
		desc_reset(w);
		fuzz_fail(w, i, "%d fds open after the calls, %d before",
			  ub_count_fds(), fds0);
	}
	sh->seconds = now_s() - t0;
	return 0;
}

FIXTURE(fuzz) {
	long user_limit;	/* user_limit_mb to restore, or -1 */
};

FIXTURE_SETUP(fuzz)
{
	self->user_limit = -1;
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->user_limit >= 0)
		ub_set_param("user_limit_mb", self->user_limit);
}

/* FUZZ_SECONDS bounds the calls; the harness's timeout is a backstop. */
TEST_F_TIMEOUT(fuzz, ioctls, 7200)
{
	uint64_t seed = env_u64("FUZZ_SEED", 0);
	uint64_t calls = env_u64("FUZZ_CALLS", 100000);
	double secs = env_seconds("FUZZ_SECONDS", 60);
	int workers = env_u64("FUZZ_WORKERS", 2), k, i, e, status;
	struct ub_counters before, after;
	struct shared *sh;
	uint64_t total = 0, fails = 0, pred = 0, checked = 0;
	uint64_t op_calls[NR_OPS] = { 0 }, op_ok[NR_OPS] = { 0 };
	double deadline, elapsed = 0;
	pid_t pid[8];
	int bad;

	if (access(UB_DEV, F_OK))
		SKIP(return, "%s missing: udmabuf_ext not loaded", UB_DEV);
	if (ub_node_probe(UB_DROPIN_DEV).drv != UB_DRV_MODULE)
		ksft_print_msg("%s is not the module's: its memfd ABI is fuzzed on %s only\n",
			       UB_DROPIN_DEV, UB_DEV);
	if (workers < 1 || workers > 8)
		workers = 2;
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = rng_mix(ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20) ^ getpid()) >> 16;
	}
	ksft_print_msg("FUZZ_SEED=%llu FUZZ_CALLS=%llu FUZZ_SECONDS=%.0f FUZZ_WORKERS=%d\n",
		       (unsigned long long)seed, (unsigned long long)calls, secs,
		       workers);
	ASSERT_EQ(0, ub_counters_read(&before));
	/* Low enough that worker 1's creates meet it now and then. */
	self->user_limit = ub_param("user_limit_mb");
	ASSERT_LE(0, self->user_limit);
	ASSERT_EQ(0, ub_set_param("user_limit_mb", FUZZ_USER_LIMIT_MB));
	sh = mmap(NULL, workers * sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	deadline = now_s() + secs;
	for (k = 0; k < workers; k++) {
		pid[k] = fork();
		ASSERT_LE(0, pid[k]);
		if (!pid[k])
			_exit(worker_main(&sh[k], seed, k, calls / workers, deadline));
	}
	for (k = 0; k < workers; k++) {
		ASSERT_EQ(pid[k], waitpid(pid[k], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("worker %d: %s %d", k,
			       WIFSIGNALED(status) ? "killed by signal" : "exit",
			       WIFSIGNALED(status) ? WTERMSIG(status) :
			       WEXITSTATUS(status));
	}
	for (k = 0; k < workers; k++) {
		total += sh[k].calls;
		fails += sh[k].failures;
		pred += sh[k].predicted;
		checked += sh[k].checked_ok;
		if (sh[k].seconds > elapsed)
			elapsed = sh[k].seconds;
		for (i = 0; i < NR_OPS; i++) {
			op_calls[i] += sh[k].op_calls[i];
			op_ok[i] += sh[k].op_ok[i];
		}
		for (i = 0; i < MAX_FAIL_MSGS && i < (int)sh[k].failures; i++)
			ksft_print_msg("FAIL %s\n", sh[k].msg[i]);
	}
	ksft_print_msg("%llu calls in %.1f s (%.0f/s), seed %llu; %llu outcomes predicted by the rules, %llu successes checked\n",
		       (unsigned long long)total, elapsed,
		       elapsed > 0 ? total / elapsed : 0.0,
		       (unsigned long long)seed, (unsigned long long)pred,
		       (unsigned long long)checked);
	for (i = 0; i < NR_OPS; i++) {
		char buf[512];
		size_t o = 0;

		for (e = 1; e < 134; e++) {
			uint64_t n = 0;

			for (k = 0; k < workers; k++)
				n += sh[k].errnos[i][e];
			if (n && o < sizeof(buf))
				o += snprintf(buf + o, sizeof(buf) - o, " %s:%llu",
					      strerrorname_np(e) ?: "?",
					      (unsigned long long)n);
		}
		buf[o < sizeof(buf) ? o : sizeof(buf) - 1] = 0;
		ksft_print_msg("%-24s %7llu calls, %6llu ok;%s\n", op_names[i],
			       (unsigned long long)op_calls[i],
			       (unsigned long long)op_ok[i], buf);
	}
	EXPECT_EQ(0, fails);
	bad = ub_counters_settle(&before, &after, 5);
	EXPECT_EQ(-1, bad) TH_LOG("counter %s: %ld before, %ld after",
				  bad >= 0 ? ub_counter_names[bad] : "",
				  bad >= 0 ? before.v[bad] : 0,
				  bad >= 0 ? after.v[bad] : 0);
	munmap(sh, workers * sizeof(*sh));
}

TEST_HARNESS_MAIN
