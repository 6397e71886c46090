// SPDX-License-Identifier: GPL-2.0-only
/*
 * Race tests: each runs its threads or processes for RACE_SECONDS (default
 * 3 s of guest time) and prints how many iterations and races it ran.
 *
 * - create_close: threads create (both nodes, all three create ioctls),
 *   query and close buffers while another closes them behind their back;
 * - mm_vs_create: munmap/mmap, mremap, madvise(MADV_DONTNEED), mprotect and
 *   fork on a range while other threads create PIN, COPY and MOVE buffers
 *   from it;
 * - fork_vs_pin: the seed-2 promise under a race: a buffer created while
 *   another thread forks still sees the parent's writes, never the child's;
 * - seals_vs_create: F_ADD_SEALS(F_SEAL_WRITE) against a writable create of
 *   the same memfd: never both succeed while the buffer lives;
 * - close_with_importers: the dma-buf fd closed while vgem holds it (and
 *   re-exports it), with syncs and info queries going on;
 * - vivid_streaming: buffers replaced and their fds closed while vivid
 *   streams into them;
 * - sync_threads: DMA_BUF_IOCTL_SYNC from 8 threads while importers attach
 *   and detach;
 * - sigkill_mid_create: large creates killed with SIGKILL at random times;
 * - rlimit_nofile: RLIMIT_NOFILE=1 with 4 threads competing for fd 0.
 *
 * After each test, the module's counters must be back where they were.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/videodev2.h>

#include "race_util.h"
#include "kselftest_harness.h"

#define PG	UB_PAGE

static double race_seconds(void)
{
	return env_seconds("RACE_SECONDS", 3);
}

static bool errno_in(int err, const int *set, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (err == set[i])
			return true;
	return false;
}

struct counted {
	pthread_mutex_t lock;
	uint64_t n[16];
	char fail[256];
	int failures;
};

static void __attribute__((format(printf, 2, 3)))
race_fail(struct counted *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->lock);
	if (!c->failures++) {
		va_start(ap, fmt);
		vsnprintf(c->fail, sizeof(c->fail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&c->lock);
}

static void count(struct counted *c, int i)
{
	__atomic_fetch_add(&c->n[i], 1, __ATOMIC_RELAXED);
}

FIXTURE(race) {
	int dev, dropin;
	struct ub_counters before;
	double secs;
};

FIXTURE_SETUP(race)
{
	self->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("%s: %s", UB_DEV, strerror(errno));
	self->dropin = open(UB_DROPIN_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_EQ(0, ub_counters_read(&self->before));
	self->secs = race_seconds();
}

FIXTURE_TEARDOWN(race)
{
	struct ub_counters after;
	int bad;

	if (self->dropin >= 0)
		close(self->dropin);
	close(self->dev);
	if (_metadata->skip)
		return;
	bad = ub_counters_settle(&self->before, &after, 10);
	EXPECT_EQ(-1, bad) TH_LOG("counter %s: %ld before, %ld after",
				  bad >= 0 ? ub_counter_names[bad] : "",
				  bad >= 0 ? self->before.v[bad] : 0,
				  bad >= 0 ? after.v[bad] : 0);
}

static void *map_rw(size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

/* ---- create_close ------------------------------------------------------- */

#define CC_SLOTS	16

struct cc_ctx {
	struct counted c;
	int dev, dropin, memfd;
	uint8_t *shared;	/* 64 pages everyone pins and copies */
	int slots[CC_SLOTS];	/* live buffers, closed by anyone */
	double end;
};

enum { CC_CREATED, CC_INFO_OK, CC_INFO_EBADF, CC_CLOSED_BY_OTHER, CC_MMAP };

static void *cc_thread(void *arg)
{
	struct cc_ctx *x = arg;
	struct rng r = { (uintptr_t)&r ^ (uint64_t)pthread_self(), false };
	/* Root with CAP_IPC_LOCK: no limit applies, only memory can run out. */
	static const int create_errs[] = { ENOMEM };
	struct udmabuf_ext_info info;
	int fd, slot, old, ret;

	while (now_s() < x->end) {
		switch (rng_below(&r, 5)) {
		case 0:
			fd = ub_ext_create_user(x->dev, x->shared + PG * rng_below(&r, 32),
						PG * (1 + rng_below(&r, 32)),
						rng_below(&r, 2) ? UDMABUF_EXT_MODE_PIN :
						UDMABUF_EXT_MODE_COPY,
						rng_below(&r, 2) ? UDMABUF_EXT_FLAGS_READ_ONLY : 0);
			break;
		case 1:
			old = rng_below(&r, 8);
			fd = ub_create_memfd(rng_below(&r, 2) || x->dropin < 0 ?
					     x->dev : x->dropin, x->memfd,
					     PG * old, PG * (1 + rng_below(&r, 8 - old)),
					     UDMABUF_FLAGS_CLOEXEC);
			break;
		case 2: {
			struct udmabuf_create_list *l;
			char buf[sizeof(*l) + 3 * sizeof(l->list[0])];
			int i;

			l = (void *)buf;
			l->flags = 0;
			l->count = 3;
			for (i = 0; i < 3; i++)
				l->list[i] = (struct udmabuf_create_item){
					.memfd = x->memfd, .offset = PG * i, .size = PG,
				};
			fd = ioctl(x->dev, UDMABUF_CREATE_LIST, l);
			if (fd < 0)
				fd = -errno;
			break;
		}
		default:
			/* Query or map a buffer another thread may be closing. */
			slot = rng_below(&r, CC_SLOTS);
			fd = __atomic_load_n(&x->slots[slot], __ATOMIC_ACQUIRE);
			if (fd < 0)
				continue;
			ret = ub_info(x->dev, fd, &info);
			if (!ret)
				count(&x->c, CC_INFO_OK);
			else if (ret == -EBADF || ret == -EINVAL)
				count(&x->c, CC_INFO_EBADF);	/* closed, maybe reused */
			else
				race_fail(&x->c, "INFO of a racing fd: %s", strerror(-ret));
			if (!ret && rng_below(&r, 4) == 0) {
				void *m = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);

				if (m != MAP_FAILED) {
					count(&x->c, CC_MMAP);
					munmap(m, PG);
				}
			}
			/* Close it: if it was replaced meanwhile, by accident
			 * another thread's buffer; both are ours to close. */
			if (rng_below(&r, 2) &&
			    __atomic_compare_exchange_n(&x->slots[slot], &fd, -1, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				close(fd);
				count(&x->c, CC_CLOSED_BY_OTHER);
			}
			continue;
		}
		if (fd < 0) {
			if (!errno_in(-fd, create_errs, 1))
				race_fail(&x->c, "create: %s", strerror(-fd));
			continue;
		}
		count(&x->c, CC_CREATED);
		slot = rng_below(&r, CC_SLOTS);
		old = __atomic_exchange_n(&x->slots[slot], fd, __ATOMIC_ACQ_REL);
		if (old >= 0)
			close(old);
	}
	return NULL;
}

TEST_F_TIMEOUT(race, create_close, 120)
{
	struct cc_ctx x = { .c.lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[4];
	int i;

	x.dev = self->dev;
	x.dropin = self->dropin;
	x.memfd = ub_memfd(8 * PG, F_SEAL_SHRINK, false);
	ASSERT_LE(0, x.memfd);
	x.shared = map_rw(64 * PG, MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, x.shared);
	for (i = 0; i < CC_SLOTS; i++)
		x.slots[i] = -1;
	x.end = now_s() + self->secs;
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, cc_thread, &x));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < CC_SLOTS; i++)
		if (x.slots[i] >= 0)
			close(x.slots[i]);
	ksft_print_msg("create_close: %llu buffers created, %llu infos, %llu infos of closed fds, %llu closed by another thread, %llu mmaps\n",
		       (unsigned long long)x.c.n[CC_CREATED],
		       (unsigned long long)x.c.n[CC_INFO_OK],
		       (unsigned long long)x.c.n[CC_INFO_EBADF],
		       (unsigned long long)x.c.n[CC_CLOSED_BY_OTHER],
		       (unsigned long long)x.c.n[CC_MMAP]);
	EXPECT_EQ(0, x.c.failures) TH_LOG("%s", x.c.fail);
	EXPECT_LT(0, x.c.n[CC_CREATED]);
	munmap(x.shared, 64 * PG);
	close(x.memfd);
}

/* ---- mm_vs_create ---------------------------------------------------------- */

#define MM_PAGES	16

struct mm_ctx {
	struct counted c;
	int dev;
	uint8_t *range;		/* MM_PAGES pages, remapped all the time */
	uint8_t *spare;		/* where mremap moves it to and from */
	double end;
};

enum { MM_OK, MM_EFAULT, MM_ENOMEM, MM_OTHER_ERR, MM_OPS, MM_FORKS };

static void *mm_creator(void *arg)
{
	struct mm_ctx *x = arg;
	struct rng r = { (uint64_t)pthread_self(), false };
	static const uint32_t modes[] = {
		UDMABUF_EXT_MODE_PIN, UDMABUF_EXT_MODE_COPY, UDMABUF_EXT_MODE_MOVE,
	};
	struct udmabuf_ext_info info;
	int fd, ret;

	while (now_s() < x->end) {
		uint32_t mode = modes[rng_below(&r, 3)];
		uint64_t off = PG * rng_below(&r, MM_PAGES);
		uint64_t len = PG * (1 + rng_below(&r, MM_PAGES - off / PG));

		fd = ub_ext_create_user(x->dev, x->range + off, len, mode,
					mode != UDMABUF_EXT_MODE_MOVE &&
					rng_below(&r, 4) == 0 ?
					UDMABUF_EXT_FLAGS_READ_ONLY : 0);
		if (fd >= 0) {
			count(&x->c, MM_OK);
			ret = ub_info(x->dev, fd, &info);
			if (ret || info.nr_pages != len / PG || info.mode != mode)
				race_fail(&x->c, "info: %d, %llu pages for %llu, mode %u",
					  ret, (unsigned long long)info.nr_pages,
					  (unsigned long long)(len / PG), info.mode);
			close(fd);
		} else if (fd == -EFAULT) {
			count(&x->c, MM_EFAULT);	/* the range was not there */
		} else if (fd == -ENOMEM || fd == -EACCES) {
			count(&x->c, MM_ENOMEM);	/* PROT_READ phase, no memory */
		} else {
			count(&x->c, MM_OTHER_ERR);
			race_fail(&x->c, "create (mode %u): %s", mode, strerror(-fd));
		}
	}
	return NULL;
}

static void *mm_mutator(void *arg)
{
	struct mm_ctx *x = arg;
	struct rng r = { (uint64_t)pthread_self() * 7, false };
	size_t len = MM_PAGES * PG;
	pid_t pid;
	void *p;

	while (now_s() < x->end) {
		switch (rng_below(&r, 6)) {
		case 0:	/* munmap and map again */
			munmap(x->range, len);
			sched_yield();
			p = mmap(x->range, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (p != x->range)
				race_fail(&x->c, "remap: %s", strerror(errno));
			break;
		case 1:	/* mremap away and back (one VMA only: may be EFAULT) */
			p = mremap(x->range, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
				   x->spare);
			if (p != MAP_FAILED) {
				sched_yield();
				p = mremap(x->spare, len, len,
					   MREMAP_MAYMOVE | MREMAP_FIXED, x->range);
			}
			if (p == MAP_FAILED &&
			    mmap(x->range, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != x->range)
				race_fail(&x->c, "remap after mremap: %s", strerror(errno));
			break;
		case 2: {
			uint64_t first = rng_below(&r, MM_PAGES);

			madvise(x->range + PG * first,
				PG * (1 + rng_below(&r, MM_PAGES - first)),
				MADV_DONTNEED);
			break;
		}
		case 3:
			mprotect(x->range, len, rng_below(&r, 2) ? PROT_NONE : PROT_READ);
			sched_yield();
			mprotect(x->range, len, PROT_READ | PROT_WRITE);
			break;
		case 4:
			memset(x->range + PG * rng_below(&r, MM_PAGES), 0x5a, PG);
			break;
		default:
			pid = fork();
			if (!pid)
				_exit(0);
			if (pid > 0) {
				waitpid(pid, NULL, 0);
				count(&x->c, MM_FORKS);
			}
			break;
		}
		count(&x->c, MM_OPS);
	}
	return NULL;
}

TEST_F_TIMEOUT(race, mm_vs_create, 120)
{
	struct mm_ctx x = { .c.lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[3];
	int i;

	x.dev = self->dev;
	x.range = map_rw(MM_PAGES * PG, MAP_POPULATE);
	x.spare = map_rw(MM_PAGES * PG, 0);
	ASSERT_NE(MAP_FAILED, x.range);
	ASSERT_NE(MAP_FAILED, x.spare);
	x.end = now_s() + self->secs;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, mm_creator, &x));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, mm_creator, &x));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, mm_mutator, &x));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("mm_vs_create: %llu creates ok, %llu EFAULT, %llu EACCES/ENOMEM, against %llu munmap/mremap/madvise/mprotect/write/fork (%llu forks)\n",
		       (unsigned long long)x.c.n[MM_OK],
		       (unsigned long long)x.c.n[MM_EFAULT],
		       (unsigned long long)x.c.n[MM_ENOMEM],
		       (unsigned long long)x.c.n[MM_OPS],
		       (unsigned long long)x.c.n[MM_FORKS]);
	EXPECT_EQ(0, x.c.failures) TH_LOG("%s", x.c.fail);
	EXPECT_LT(0, x.c.n[MM_OK]);
	munmap(x.range, MM_PAGES * PG);
	munmap(x.spare, MM_PAGES * PG);
}

/* ---- fork_vs_pin ------------------------------------------------------------- */

struct fork_ctx {
	struct counted c;
	uint8_t *range;
	size_t len;
	volatile bool stop;
};

/* Fork as fast as possible; each child scribbles on its copy and exits. */
static void *forker(void *arg)
{
	struct fork_ctx *x = arg;
	pid_t pid;

	while (!x->stop) {
		pid = fork();
		if (!pid) {
			memset(x->range, 0xcc, x->len);
			_exit(0);
		}
		if (pid > 0) {
			waitpid(pid, NULL, 0);
			count(&x->c, 0);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(race, fork_vs_pin, 120)
{
	struct fork_ctx x = { .c.lock = PTHREAD_MUTEX_INITIALIZER, .len = 8 * PG };
	double end = now_s() + self->secs;
	uint64_t rounds = 0, bad = 0;
	uint32_t seed = 1;
	pthread_t t;
	uint8_t *m;
	int fd;

	x.range = map_rw(x.len, MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, x.range);
	ASSERT_EQ(0, pthread_create(&t, NULL, forker, &x));
	while (now_s() < end) {
		ub_fill(x.range, x.len, seed);
		fd = ub_ext_create_user(self->dev, x.range, x.len,
					UDMABUF_EXT_MODE_PIN, 0);
		if (fd < 0) {
			race_fail(&x.c, "create: %s", strerror(-fd));
			break;
		}
		/* Later writes by the parent must reach the buffer. */
		ub_fill(x.range, x.len, ++seed);
		m = mmap(NULL, x.len, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			race_fail(&x.c, "mmap: %s", strerror(errno));
			close(fd);
			break;
		}
		if (ub_check(m, x.len, seed) >= 0)
			bad++;
		munmap(m, x.len);
		close(fd);
		rounds++;
	}
	x.stop = true;
	pthread_join(t, NULL);
	ksft_print_msg("fork_vs_pin: %llu buffers created against %llu forks; %llu lost the parent's writes\n",
		       (unsigned long long)rounds, (unsigned long long)x.c.n[0],
		       (unsigned long long)bad);
	EXPECT_EQ(0, x.c.failures) TH_LOG("%s", x.c.fail);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, rounds);
	munmap(x.range, x.len);
}

/* ---- seals_vs_create --------------------------------------------------------- */

struct seal_ctx {
	pthread_barrier_t go;
	int memfd;
	int seal_ret;
	double end;
	volatile bool stop;
};

static void *sealer(void *arg)
{
	struct seal_ctx *x = arg;

	for (;;) {
		pthread_barrier_wait(&x->go);
		if (x->stop)
			break;
		x->seal_ret = fcntl(x->memfd, F_ADD_SEALS, F_SEAL_WRITE) ? -errno : 0;
		pthread_barrier_wait(&x->go);
	}
	return NULL;
}

TEST_F_TIMEOUT(race, seals_vs_create, 120)
{
	struct seal_ctx x = { 0 };
	uint64_t rounds = 0, create_won = 0, seal_won = 0, both_failed = 0;
	uint64_t violations = 0, bad_errno = 0;
	double end = now_s() + self->secs;
	pthread_t t;
	int fd, cerr;

	ASSERT_EQ(0, pthread_barrier_init(&x.go, NULL, 2));
	ASSERT_EQ(0, pthread_create(&t, NULL, sealer, &x));
	while (now_s() < end) {
		struct udmabuf_ext_item it = {
			.kind = UDMABUF_EXT_ITEM_MEMFD, .size = 4 * PG,
		};

		x.memfd = ub_memfd(4 * PG, F_SEAL_SHRINK, false);
		ASSERT_LE(0, x.memfd);
		it.memfd = x.memfd;
		pthread_barrier_wait(&x.go);
		if (rounds & 1)
			fd = ub_create_memfd(self->dev, x.memfd, 0, 4 * PG, 0);
		else
			fd = ub_ext_create(self->dev, &it, 1, UDMABUF_EXT_MODE_PIN, 0,
					   NULL);
		pthread_barrier_wait(&x.go);	/* the seal attempt is over */
		cerr = fd < 0 ? -fd : 0;
		if (!cerr && !x.seal_ret) {
			violations++;
			ksft_print_msg("round %llu: F_SEAL_WRITE and a writable buffer both succeeded\n",
				       (unsigned long long)rounds);
		} else if (!cerr) {
			create_won++;
			if (x.seal_ret != -EBUSY)
				bad_errno++;
		} else if (!x.seal_ret) {
			seal_won++;
			if (cerr != EINVAL)
				bad_errno++;
		} else {
			both_failed++;
		}
		if (!cerr) {
			/* A writable buffer: its writes reach the memfd. */
			uint8_t *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED,
					  fd, 0);
			uint8_t b = 0;

			EXPECT_NE(MAP_FAILED, m);
			if (m != MAP_FAILED) {
				m[0] = 0x42;
				munmap(m, PG);
				EXPECT_EQ(1, pread(x.memfd, &b, 1, 0));
				EXPECT_EQ(0x42, b);
			}
			close(fd);
		}
		close(x.memfd);
		rounds++;
	}
	x.stop = true;
	pthread_barrier_wait(&x.go);
	pthread_join(t, NULL);
	ksft_print_msg("seals_vs_create: %llu rounds: create won %llu (seal EBUSY), seal won %llu (create EINVAL), both failed %llu, both succeeded %llu\n",
		       (unsigned long long)rounds, (unsigned long long)create_won,
		       (unsigned long long)seal_won, (unsigned long long)both_failed,
		       (unsigned long long)violations);
	EXPECT_EQ(0, violations);
	EXPECT_EQ(0, bad_errno);
	EXPECT_EQ(0, both_failed);
	EXPECT_LT(0, rounds);
}

/* ---- close_with_importers (vgem) ---------------------------------------------- */

struct imp_ctx {
	struct counted c;
	int dev, drm;
	uint8_t *mem;
	double end;
};

enum { IMP_ROUNDS, IMP_REEXPORTS, IMP_SYNCS };

static void *importer(void *arg)
{
	struct imp_ctx *x = arg;
	struct rng r = { (uint64_t)pthread_self(), false };
	struct udmabuf_ext_info info;
	uint8_t *mem;
	uint32_t handle;
	int fd, fd2, ret;

	/*
	 * All threads share 32 pages, so that buffers overlap and the device
	 * maps the same pages several times at once (with DMA_API_DEBUG, a
	 * mapping that syncs the CPU cache itself would trip its "overlapping
	 * mappings aren't supported" check).
	 */
	mem = x->mem;
	while (now_s() < x->end) {
		fd = ub_ext_create_user(x->dev, mem + PG * rng_below(&r, 16),
					PG * (1 + rng_below(&r, 16)),
					rng_below(&r, 2) ? UDMABUF_EXT_MODE_PIN :
					UDMABUF_EXT_MODE_COPY, 0);
		if (fd < 0) {
			race_fail(&x->c, "create: %s", strerror(-fd));
			break;
		}
		ret = ub_prime_import(x->drm, fd, &handle);
		if (ret) {
			race_fail(&x->c, "import: %s", strerror(-ret));
			close(fd);
			break;
		}
		/* The importer holds the buffer now: drop our fd. */
		close(fd);
		if (rng_below(&r, 2)) {
			fd2 = ub_prime_export(x->drm, handle);
			if (fd2 < 0) {
				race_fail(&x->c, "re-export: %s", strerror(-fd2));
			} else {
				ret = ub_info(x->dev, fd2, &info);
				if (ret || info.nr_attachments < 1)
					race_fail(&x->c, "info of the re-export: %d, %u attachments",
						  ret, info.nr_attachments);
				if (ub_sync(fd2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) ||
				    ub_sync(fd2, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW))
					race_fail(&x->c, "sync failed");
				count(&x->c, IMP_SYNCS);
				count(&x->c, IMP_REEXPORTS);
				/* Close the last fd before or after the handle. */
				if (rng_below(&r, 2)) {
					close(fd2);
					fd2 = -1;
				}
				ret = ub_gem_close(x->drm, handle);
				if (ret)
					race_fail(&x->c, "gem close: %s", strerror(-ret));
				if (fd2 >= 0)
					close(fd2);
				count(&x->c, IMP_ROUNDS);
				continue;
			}
		}
		ret = ub_gem_close(x->drm, handle);
		if (ret)
			race_fail(&x->c, "gem close: %s", strerror(-ret));
		count(&x->c, IMP_ROUNDS);
	}
	return NULL;
}

TEST_F_TIMEOUT(race, close_with_importers, 120)
{
	struct imp_ctx x = { .c.lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[3];
	int i;

	x.drm = ub_drm_open("vgem");
	if (x.drm < 0)
		SKIP(return, "no vgem card (modprobe vgem)");
	x.dev = self->dev;
	x.mem = map_rw(32 * PG, MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, x.mem);
	x.end = now_s() + self->secs;
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, importer, &x));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("close_with_importers: %llu buffers imported into vgem and their fd closed while attached; %llu re-exported, synced and queried\n",
		       (unsigned long long)x.c.n[IMP_ROUNDS],
		       (unsigned long long)x.c.n[IMP_REEXPORTS]);
	EXPECT_EQ(0, x.c.failures) TH_LOG("%s", x.c.fail);
	EXPECT_LT(0, x.c.n[IMP_ROUNDS]);
	close(x.drm);
	munmap(x.mem, 32 * PG);
}

/* ---- sync_threads ------------------------------------------------------------- */

struct sync_ctx {
	struct counted c;
	int fd, drm;
	double end;
};

static void *syncer(void *arg)
{
	struct sync_ctx *x = arg;
	static const uint64_t dirs[] = {
		DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW,
	};
	uint64_t i = 0, d;

	while (now_s() < x->end) {
		d = dirs[i++ % 3];
		if (ub_sync(x->fd, DMA_BUF_SYNC_START | d) ||
		    ub_sync(x->fd, DMA_BUF_SYNC_END | d)) {
			race_fail(&x->c, "sync: %s", strerror(errno));
			break;
		}
		count(&x->c, 0);
	}
	return NULL;
}

static void *attacher(void *arg)
{
	struct sync_ctx *x = arg;
	uint32_t handle;
	int ret;

	while (now_s() < x->end) {
		ret = ub_prime_import(x->drm, x->fd, &handle);
		if (ret) {
			race_fail(&x->c, "import: %s", strerror(-ret));
			break;
		}
		sched_yield();
		ub_gem_close(x->drm, handle);
		count(&x->c, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(race, sync_threads, 120)
{
	struct sync_ctx x = { .c.lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[9];
	int i, n = 8, keep_drm;
	uint32_t keep = 0;
	uint8_t *mem;

	mem = map_rw(16 * PG, MAP_POPULATE);
	ASSERT_NE(MAP_FAILED, mem);
	x.fd = ub_ext_create_user(self->dev, mem, 16 * PG, UDMABUF_EXT_MODE_PIN, 0);
	ASSERT_LE(0, x.fd);
	/*
	 * A long-lived mapped attachment (one vgem file), and an attacher
	 * (another vgem file, so a second attachment of the same buffer by
	 * the same device) that comes and goes under the syncers' walks of
	 * the attachment list.
	 */
	keep_drm = ub_drm_open("vgem");
	x.drm = ub_drm_open("vgem");
	if (keep_drm >= 0)
		ASSERT_EQ(0, ub_prime_import(keep_drm, x.fd, &keep));
	x.end = now_s() + self->secs;
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, syncer, &x));
	if (x.drm >= 0)
		ASSERT_EQ(0, pthread_create(&t[n++], NULL, attacher, &x));
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("sync_threads: %llu sync pairs from 8 threads, against %llu attach/detach cycles%s\n",
		       (unsigned long long)x.c.n[0], (unsigned long long)x.c.n[1],
		       x.drm < 0 ? " (no vgem: no importer)" : "");
	EXPECT_EQ(0, x.c.failures) TH_LOG("%s", x.c.fail);
	EXPECT_LT(0, x.c.n[0]);
	if (x.drm >= 0)
		close(x.drm);
	if (keep_drm >= 0) {
		ub_gem_close(keep_drm, keep);
		close(keep_drm);
	}
	close(x.fd);
	munmap(mem, 16 * PG);
}

/* ---- vivid_streaming ----------------------------------------------------------- */

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r == -1 && errno == EINTR);
	return r ? -errno : 0;
}

static int vivid_capture_open(void)
{
	struct v4l2_capability cap;
	char path[32];
	int i, fd;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!xioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid") &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) &&
		    (cap.device_caps & V4L2_CAP_STREAMING))
			return fd;
		close(fd);
	}
	return -ENODEV;
}

/*
 * A capture buffer of @size bytes: a PIN buffer of heap memory (page
 * aligned and whole pages: the device writes it) or a memfd one.
 */
static int capture_buffer(int dev, size_t size, bool memfd, void **mem)
{
	size_t len = (size + PG - 1) & ~(PG - 1);
	int fd, mfd;

	if (memfd) {
		mfd = ub_memfd(len, F_SEAL_SHRINK, false);
		if (mfd < 0)
			return mfd;
		fd = ub_create_memfd(dev, mfd, 0, len, 0);
		close(mfd);
		*mem = NULL;
		return fd;
	}
	*mem = aligned_alloc(PG, len);
	if (!*mem)
		return -ENOMEM;
	return ub_ext_create_user(dev, *mem, len, UDMABUF_EXT_MODE_PIN, 0);
}

TEST_F_TIMEOUT(race, vivid_streaming, 180)
{
	const uint32_t type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_format f = { .type = type };
	struct v4l2_requestbuffers rb = {
		.count = 4, .type = type, .memory = V4L2_MEMORY_DMABUF,
	};
	void *mem[64] = { 0 };
	double end;
	uint64_t frames = 0, swaps = 0;
	int vfd, fd, i, ret, nmem = 0, t = type;
	size_t size;

	vfd = vivid_capture_open();
	if (vfd < 0)
		SKIP(return, "no vivid capture node (modprobe vivid)");
	f.fmt.pix.width = 320;
	f.fmt.pix.height = 240;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(0, xioctl(vfd, VIDIOC_S_FMT, &f));
	size = f.fmt.pix.sizeimage;
	ASSERT_EQ(0, xioctl(vfd, VIDIOC_REQBUFS, &rb));
	ASSERT_LE(2, rb.count);
	for (i = 0; i < (int)rb.count; i++) {
		struct v4l2_buffer b = {
			.index = i, .type = type, .memory = V4L2_MEMORY_DMABUF,
		};

		fd = capture_buffer(self->dev, size, i & 1, &mem[nmem++]);
		ASSERT_LE(0, fd);
		b.m.fd = fd;
		ASSERT_EQ(0, xioctl(vfd, VIDIOC_QBUF, &b));
		close(fd);	/* vb2 holds the buffer now */
	}
	ASSERT_EQ(0, xioctl(vfd, VIDIOC_STREAMON, &t));
	end = now_s() + self->secs;
	while (now_s() < end) {
		struct v4l2_buffer b = { .type = type, .memory = V4L2_MEMORY_DMABUF };
		struct pollfd p = { .fd = vfd, .events = POLLIN };

		ret = xioctl(vfd, VIDIOC_DQBUF, &b);
		if (ret == -EAGAIN) {
			ASSERT_LT(0, poll(&p, 1, 5000)) TH_LOG("no frame in 5 s");
			continue;
		}
		ASSERT_EQ(0, ret);
		frames++;
		/* Queue a new buffer in its slot; its fd is closed at once. */
		if (nmem < 64) {
			fd = capture_buffer(self->dev, size, frames & 1, &mem[nmem]);
			nmem++;
		} else {
			void *none;

			fd = capture_buffer(self->dev, size, true, &none);
		}
		ASSERT_LE(0, fd);
		b.m.fd = fd;
		b.bytesused = 0;
		ASSERT_EQ(0, xioctl(vfd, VIDIOC_QBUF, &b));
		close(fd);
		swaps++;
	}
	/* Close the device while streaming: vb2 lets go of everything. */
	close(vfd);
	for (i = 0; i < nmem; i++)
		free(mem[i]);
	ksft_print_msg("vivid_streaming: %llu frames; %llu buffers replaced while streaming, each fd closed while queued; closed while streaming\n",
		       (unsigned long long)frames, (unsigned long long)swaps);
	EXPECT_LT(0, frames);
}

/* ---- sigkill_mid_create --------------------------------------------------------- */

#define BIG	(64ul << 20)

/* The child: large creates forever; *busy is 1 while inside the ioctl. */
static void big_creator(int dev, volatile uint32_t *busy, unsigned int kind)
{
	struct udmabuf_create_list *l;
	uint8_t *mem = NULL;
	int memfd = -1, fd, i;

	switch (kind) {
	case 0: case 1:
		mem = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		break;
	default:
		memfd = ub_memfd(BIG, F_SEAL_SHRINK, false);
		break;
	}
	l = malloc(sizeof(*l) + 1024 * sizeof(l->list[0]));
	for (;;) {
		*busy = 1;
		switch (kind) {
		case 0:	/* 64 MiB PIN of untouched memory: faults every page */
			fd = ub_ext_create_user(dev, mem, BIG, UDMABUF_EXT_MODE_PIN, 0);
			break;
		case 1:	/* 16 MiB COPY */
			fd = ub_ext_create_user(dev, mem, BIG / 4, UDMABUF_EXT_MODE_COPY, 0);
			break;
		case 2:	/* 64 MiB memfd */
			fd = ub_create_memfd(dev, memfd, 0, BIG, 0);
			break;
		default: /* 1024 items */
			l->flags = 0;
			l->count = 1024;
			for (i = 0; i < 1024; i++)
				l->list[i] = (struct udmabuf_create_item){
					.memfd = memfd, .offset = i * 16 * PG,
					.size = 16 * PG,
				};
			fd = ioctl(dev, UDMABUF_CREATE_LIST, l);
			break;
		}
		*busy = 0;
		if (fd >= 0)
			close(fd);
	}
}

TEST_F_TIMEOUT(race, sigkill_mid_create, 180)
{
	volatile uint32_t *busy;
	double end = now_s() + self->secs * 2;
	uint64_t kills = 0, mid = 0, rounds = 0;
	struct ub_counters after;
	struct rng r = { 12345, false };
	int status, bad;
	pid_t pid;

	if (ub_param("size_limit_mb") < 64)
		SKIP(return, "size_limit_mb below 64");
	busy = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, busy);
	while (now_s() < end) {
		*busy = 0;
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			big_creator(self->dev, busy, rounds % 4);
		usleep(1000 * (5 + rng_below(&r, 200)));
		mid += *busy;
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			kills++;
		/* The victim's buffers go with it. */
		bad = ub_counters_settle(&self->before, &after, 10);
		ASSERT_EQ(-1, bad) TH_LOG("after kill %llu: %s is %ld, was %ld",
					  (unsigned long long)kills,
					  ub_counter_names[bad], after.v[bad],
					  self->before.v[bad]);
		rounds++;
	}
	ksft_print_msg("sigkill_mid_create: %llu children killed, %llu of them inside a 64 MiB / 1024-item create; counters back to zero after each\n",
		       (unsigned long long)kills, (unsigned long long)mid);
	EXPECT_LT(0, kills);
	munmap((void *)busy, PG);
}

/* ---- rlimit_nofile -------------------------------------------------------------- */

struct nofile_ctx {
	struct counted c;
	int dev, memfd;
	uint8_t *mem;
	double end;
};

enum { NF_GOT_FD0, NF_EMFILE };

static void *nofile_thread(void *arg)
{
	struct nofile_ctx *x = arg;
	struct udmabuf_ext_info info;
	uint64_t i = 0;
	int fd, ret;

	while (now_s() < x->end) {
		if (i++ & 1)
			fd = ub_ext_create_user(x->dev, x->mem, 4 * PG,
						UDMABUF_EXT_MODE_PIN, 0);
		else
			fd = ub_create_memfd(x->dev, x->memfd, 0, 4 * PG, 0);
		if (fd == -EMFILE) {
			count(&x->c, NF_EMFILE);
			continue;
		}
		if (fd != 0) {
			race_fail(&x->c, "create with RLIMIT_NOFILE=1: %d", fd);
			if (fd > 0)
				close(fd);
			continue;
		}
		count(&x->c, NF_GOT_FD0);
		ret = ub_info(x->dev, fd, &info);
		if (ret && ret != -EBADF)
			race_fail(&x->c, "info: %s", strerror(-ret));
		close(fd);
	}
	return NULL;
}

/* In a child: fd 0 is the only one free under RLIMIT_NOFILE=1. */
static int nofile_child(int dev, double secs, uint64_t *got, uint64_t *emfile)
{
	struct nofile_ctx x = { .c.lock = PTHREAD_MUTEX_INITIALIZER, .dev = dev };
	struct rlimit rl = { 1, 1 };
	pthread_t t[4];
	int i;

	x.memfd = ub_memfd(4 * PG, F_SEAL_SHRINK, false);
	x.mem = map_rw(4 * PG, MAP_POPULATE);
	if (x.memfd < 0 || x.mem == MAP_FAILED)
		return 2;
	/* Threads need no fd; stdout and stderr stay open above the limit. */
	close(0);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 2;
	/* With fd 0 taken, every create is EMFILE and leaves nothing. */
	if (dup2(x.memfd, 0) != 0)
		return 2;
	for (i = 0; i < 2; i++) {
		int fd = i ? ub_ext_create_user(dev, x.mem, 4 * PG, UDMABUF_EXT_MODE_PIN, 0) :
			     ub_create_memfd(dev, x.memfd, 0, 4 * PG, 0);

		if (fd != -EMFILE) {
			fprintf(stderr, "# create with no free fd: %d\n", fd);
			return 1;
		}
		x.c.n[NF_EMFILE]++;
	}
	close(0);
	x.end = now_s() + secs;
	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, nofile_thread, &x))
			return 2;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	*got = x.c.n[NF_GOT_FD0];
	*emfile = x.c.n[NF_EMFILE];
	if (x.c.failures)
		fprintf(stderr, "# %s\n", x.c.fail);
	return x.c.failures ? 1 : 0;
}

TEST_F_TIMEOUT(race, rlimit_nofile, 120)
{
	uint64_t *res;
	int status;
	pid_t pid;

	res = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(nofile_child(self->dev, self->secs, &res[0], &res[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ksft_print_msg("rlimit_nofile: 4 threads under RLIMIT_NOFILE=1: %llu creates got fd 0, %llu were EMFILE\n",
		       (unsigned long long)res[0], (unsigned long long)res[1]);
	EXPECT_LT(0, res[0]);
	EXPECT_LT(0, res[1]);
	munmap(res, PG);
}

TEST_HARNESS_MAIN
