/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the fuzzer (fuzz.c) and the race tests (race*.c):
 * a seeded PRNG, clocks, environment knobs, the module's counters as one
 * snapshot and vgem (dumb buffers, PRIME). Include after udmabuf_test.h;
 * link with libdrm (tests/Makefile).
 */
#ifndef UDMABUF_RACE_UTIL_H
#define UDMABUF_RACE_UTIL_H

#include <time.h>
#include <xf86drm.h>
#include <drm_mode.h>

#include "ub-media.h"

/* ---- PRNG: splitmix64, so that any call i can be regenerated alone. ---- */

static inline uint64_t rng_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct rng {
	uint64_t s;
	bool sane;	/* make invalid choices 5 times less often */
};

static inline uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return rng_mix(r->s);
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

/* True with probability pct percent. */
static inline bool rng_pct(struct rng *r, unsigned int pct)
{
	return rng_below(r, 100) < pct;
}

/* An invalid choice, with probability pct percent (pct / 5 if sane). */
static inline bool rng_bad(struct rng *r, unsigned int pct)
{
	return rng_below(r, 500) < (r->sane ? pct : 5 * pct);
}

/* ---- time and environment ------------------------------------------- */

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	char *end;
	uint64_t x;

	if (!v || !*v)
		return def;
	errno = 0;
	x = strtoull(v, &end, 0);
	return errno || *end ? def : x;
}

static inline double env_seconds(const char *name, double def)
{
	const char *v = getenv(name);
	char *end;
	double x;

	if (!v || !*v)
		return def;
	x = strtod(v, &end);
	return *end || x <= 0 ? def : x;
}

/* ---- the module's counters ------------------------------------------ */

static const char * const ub_counter_names[] = {
	"buffers", "pages", "pinned_pages", "charged_pages", "user_pages",
	"users", "copied_pages", "moved_pages", "meta_bytes", "attachments",
	"mappings", "vmaps",
};
#define UB_NR_COUNTERS	(sizeof(ub_counter_names) / sizeof(ub_counter_names[0]))

struct ub_counters {
	long v[UB_NR_COUNTERS];
};

static inline int ub_counters_read(struct ub_counters *c)
{
	size_t i;

	for (i = 0; i < UB_NR_COUNTERS; i++) {
		c->v[i] = ub_stat(ub_counter_names[i]);
		if (c->v[i] < 0)
			return -EIO;
	}
	return 0;
}

/*
 * Wait up to @timeout_s for the counters to equal @want (a dma-buf's release
 * can trail the close that dropped it, e.g. through a dying process's
 * files). Returns the index of a counter that differs, or -1.
 */
static inline int ub_counters_settle(const struct ub_counters *want,
				     struct ub_counters *got, double timeout_s)
{
	double end = now_s() + timeout_s;
	size_t i;

	for (;;) {
		int bad = -1;

		if (ub_counters_read(got))
			return 0;
		for (i = 0; i < UB_NR_COUNTERS; i++)
			if (got->v[i] != want->v[i])
				bad = i;
		if (bad < 0 || now_s() > end)
			return bad;
		usleep(20000);
	}
}

/* ---- vgem ------------------------------------------------------------- */

/* The first /dev/dri/card* driven by @driver, or -ENODEV (tools/media). */
static inline int ub_drm_open(const char *driver)
{
	return ubm_drm_open(driver);
}

static inline int ub_dumb_create(int drm, uint32_t w, uint32_t h,
				 uint32_t *handle, uint64_t *size)
{
	struct drm_mode_create_dumb c = { .width = w, .height = h, .bpp = 32 };

	if (drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return -errno;
	*handle = c.handle;
	*size = c.size;
	return 0;
}

/* mmap a dumb buffer: the address or MAP_FAILED (errno set). */
static inline void *ub_dumb_mmap(int drm, uint32_t handle, size_t size)
{
	struct drm_mode_map_dumb m = { .handle = handle };

	if (drmIoctl(drm, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return MAP_FAILED;
	return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, drm,
		    m.offset);
}

static inline int ub_prime_import(int drm, int fd, uint32_t *handle)
{
	return drmPrimeFDToHandle(drm, fd, handle) ? -errno : 0;
}

static inline int ub_prime_export(int drm, uint32_t handle)
{
	int fd;

	if (drmPrimeHandleToFD(drm, handle, DRM_CLOEXEC | DRM_RDWR, &fd))
		return -errno;
	return fd;
}

static inline int ub_gem_close(int drm, uint32_t handle)
{
	return drmCloseBufferHandle(drm, handle) ? -errno : 0;
}

/* ---- misc ------------------------------------------------------------- */

/* Number of open fds of this process. */
static inline int ub_count_fds(void)
{
	int n = 0, fd;

	/* Probe, rather than opendir(): the probe must not open an fd itself. */
	for (fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* Number of free huge pages of the default size, or 0. */
static inline long ub_free_hugepages(void)
{
	char line[128];
	long n = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

#endif /* UDMABUF_RACE_UTIL_H */
