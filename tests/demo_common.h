/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the demo tests (tests/demo_*.c, run by tests/suites/demo): the
 * suite gate, the repository's tools, heap frames as udmabuf-ext dma-bufs. Include after udmabuf_test.h and before kselftest_harness.h.
 */
#ifndef UDMABUF_DEMO_COMMON_H
#define UDMABUF_DEMO_COMMON_H

#include <limits.h>
#include <libgen.h>
#include <sys/wait.h>

#include "udmabuf-ext-lib.h"
#include "../tools/demo/demo-util.h"

/* Set by tests/suites/demo; elsewhere (the default suite) the tests skip. */
#define DEMO_SUITE_ENV	"UDMABUF_DEMO_SUITE"
#define DEMO_GUARD	4096
#define DEMO_CANARY	0xa5

static inline bool demo_in_suite(void)
{
	return getenv(DEMO_SUITE_ENV) != NULL;
}

/* The repository root: two levels above build/tests/<program>. */
static inline int demo_repo(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -errno;
	exe[n] = 0;
	snprintf(buf, len, "%s", dirname(dirname(dirname(exe))));
	return 0;
}

/*
 * Configure vivid with tools/demo/vivid-setup (v4l2-ctl), exactly as the
 * demo does; the capture device's path goes to @dev.
 */
static inline int demo_vivid_setup(char *dev, size_t len)
{
	char repo[PATH_MAX], cmd[PATH_MAX + 64], line[256] = "";
	FILE *p;
	int st;

	if (demo_repo(repo, sizeof(repo)))
		return -ENOENT;
	snprintf(cmd, sizeof(cmd), "%s/tools/demo/vivid-setup 2>&1", repo);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	/* Its messages as KTAP diagnostics; the last line is the device. */
	while (fgets(line, sizeof(line), p))
		if (strncmp(line, "/dev/video", 10))
			printf("# %s", line);
	st = pclose(p);
	line[strcspn(line, "\n")] = 0;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) ||
	    strncmp(line, "/dev/video", 10))
		return -EIO;
	snprintf(dev, len, "%s", line);
	return 0;
}

/* A frame in heap memory, a guard after it, and its dma-buf. */
struct demo_frame {
	uint8_t *data;		/* the frame's pointer, what to free() */
	size_t size;
	int fd;
	uint32_t data_offset;
};

/*
 * A frame that devices may write (PIN): page aligned and whole pages, from
 * udmabuf_ext_alloc(), as the module requires of a writable range; the
 * guard is the rest of the last page and the page after it.
 */
static inline int demo_frame_create(int dev, size_t size, struct demo_frame *f)
{
	size_t share = (size + DEMO_PAGE - 1) & ~(size_t)(DEMO_PAGE - 1);
	struct udmabuf_ext_create c;

	f->size = size;
	f->data = udmabuf_ext_alloc(size + DEMO_GUARD, NULL);
	if (!f->data)
		return -errno;
	memset(f->data, 0, size);
	memset(f->data + size, DEMO_CANARY, DEMO_GUARD);
	f->fd = udmabuf_ext_create_user(dev, f->data, share, UDMABUF_EXT_MODE_PIN,
					UDMABUF_EXT_FLAGS_CLOEXEC, &c);
	if (f->fd < 0) {
		free(f->data);
		f->data = NULL;
		return f->fd;
	}
	f->data_offset = c.data_offset;
	return 0;
}

/*
 * An image that devices only read, in plain malloc()'d memory (not page
 * aligned), as a COPY buffer: a snapshot of @size bytes the caller filled
 * at *@data, which @f takes over. (A PRIME import maps a buffer for writing
 * too, so a READ_ONLY one would be refused.)
 */
static inline int demo_frame_copy(int dev, uint8_t *data, size_t size,
				  struct demo_frame *f)
{
	struct udmabuf_ext_create c;

	f->size = size;
	f->data = data;
	f->fd = udmabuf_ext_create_user(dev, data, size, UDMABUF_EXT_MODE_COPY,
					UDMABUF_EXT_FLAGS_CLOEXEC, &c);
	if (f->fd < 0) {
		f->data = NULL;
		return f->fd;
	}
	f->data_offset = c.data_offset;
	return 0;
}

static inline void demo_frame_destroy(struct demo_frame *f)
{
	if (f->data) {
		close(f->fd);
		free(f->data);
		f->data = NULL;
	}
}

/* The guard after the frame is intact. */
static inline bool demo_frame_guard_ok(const struct demo_frame *f)
{
	return demo_first_not(f->data + f->size, DEMO_CANARY, DEMO_GUARD) < 0;
}

#endif /* UDMABUF_DEMO_COMMON_H */
