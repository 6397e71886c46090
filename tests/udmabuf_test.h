/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the udmabuf-ext guest tests. Every helper returns a
 * negative errno on failure so that tests can assert on exact errnos.
 */
#ifndef UDMABUF_TEST_H
#define UDMABUF_TEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/dma-buf.h>

#include "udmabuf-ext.h"

#define UB_PAGE		4096UL
#define UB_HPAGE	(2UL << 20)
#define UB_DEV		"/dev/udmabuf-ext"
#define UB_DROPIN_DEV	"/dev/udmabuf"
#define UB_STATS	"/sys/class/misc/udmabuf-ext/stats/"
#define UB_PARAMS	"/sys/module/udmabuf_ext/parameters/"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/*
 * 6.1's kselftest harness still runs a test body after its FIXTURE_SETUP
 * called SKIP(): every test of a fixture that can skip starts with this.
 */
#define UB_RETURN_IF_SKIPPED() do { if (_metadata->skip) return; } while (0)

/* A memfd of @size bytes with @seals added; hugetlb-backed if @huge. */
static inline int ub_memfd(size_t size, unsigned int seals, bool huge)
{
	int fd = memfd_create("udmabuf-test", MFD_ALLOW_SEALING |
			      (huge ? MFD_HUGETLB : 0));

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) || (seals && fcntl(fd, F_ADD_SEALS, seals))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* UDMABUF_CREATE on @dev: the new fd or -errno. */
static inline int ub_create_memfd(int dev, int memfd, uint64_t offset,
				  uint64_t size, uint32_t flags)
{
	struct udmabuf_create c = {
		.memfd = memfd, .flags = flags, .offset = offset, .size = size,
	};
	int fd = ioctl(dev, UDMABUF_CREATE, &c);

	return fd < 0 ? -errno : fd;
}

/* UDMABUF_EXT_CREATE with @count items: the new fd or -errno. */
static inline int ub_ext_create(int dev, const struct udmabuf_ext_item *items,
				uint32_t count, uint32_t mode, uint32_t flags,
				struct udmabuf_ext_create *out)
{
	struct udmabuf_ext_create c = {
		.flags = flags, .mode = mode, .count = count,
		.items = (uintptr_t)items,
	};

	int ret = ioctl(dev, UDMABUF_EXT_CREATE, &c) ? -errno : (int)c.fd;

	if (out)
		*out = c;
	return ret;
}

/* One USER item: the new fd or -errno. */
static inline int ub_ext_create_user(int dev, const void *addr, size_t size,
				     uint32_t mode, uint32_t flags)
{
	struct udmabuf_ext_item it = {
		.kind = UDMABUF_EXT_ITEM_USER,
		.start = (uintptr_t)addr, .size = size,
	};

	return ub_ext_create(dev, &it, 1, mode, flags, NULL);
}

static inline int ub_info(int dev, int fd, struct udmabuf_ext_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = fd;
	return ioctl(dev, UDMABUF_EXT_INFO, info) ? -errno : 0;
}

/* Write @s to the file @path (a sysfs, procfs or debugfs knob): 0 or -errno. */
static inline int ub_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : n == (ssize_t)strlen(s) ? 0 : -EIO;
	close(fd);
	return n;
}

/* A number from the file @dir@name, or -1 if it cannot be read. */
static inline long ub_read_long(const char *dir, const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* A module counter from sysfs, or -1 if it cannot be read. */
static inline long ub_stat(const char *name)
{
	return ub_read_long(UB_STATS, name);
}

/* A module parameter, or -1 if it cannot be read. */
static inline long ub_param(const char *name)
{
	return ub_read_long(UB_PARAMS, name);
}

static inline int ub_set_param(const char *name, long value)
{
	char path[256];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), UB_PARAMS "%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", value) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/*
 * Lines of /proc/self/maps: the process's mappings (plus the vsyscall page
 * where there is one), or -1. A temporary mapping left behind shows here.
 */
static inline int ub_count_maps(void)
{
	char buf[4096];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0;
	ssize_t r, i;

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < r; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

/* The number of the line "@key: ..." of /proc/self/status, in @base; or -1. */
static inline long long ub_status_num(const char *key, int base)
{
	char line[256];
	size_t klen = strlen(key);
	long long n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			n = strtoll(line + klen + 1, NULL, base);
			break;
		}
	}
	fclose(f);
	return n;
}

/* VmPin of this process in kB (pinned memory, buffers' charges included). */
static inline long ub_vm_pin_kb(void)
{
	return ub_status_num("VmPin", 10);
}

/* Drop CAP_IPC_LOCK from the effective set, so that the limits apply. */
static inline int ub_drop_cap_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[0].effective &= ~(1u << CAP_IPC_LOCK);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* Fill @len bytes with a pattern that depends on @seed and the offset. */
static inline void ub_fill(void *p, size_t len, uint32_t seed)
{
	uint32_t *w = p;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = seed * 2654435761u + (uint32_t)i;
}

/* Index of the first word that differs from ub_fill(@seed), or -1. */
static inline long ub_check(const void *p, size_t len, uint32_t seed)
{
	const uint32_t *w = p;
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != seed * 2654435761u + (uint32_t)i)
			return i;
	return -1;
}

/* Kernel-side sync brackets around CPU access through the dma-buf mmap. */
static inline int ub_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/*
 * Is /dev/udmabuf (open as @dropin) the kernel's own udmabuf (6.12) rather
 * than the module's drop-in? The module's buffers answer UDMABUF_EXT_INFO
 * on /dev/udmabuf-ext, other dma-bufs get EINVAL. 1, 0 or -errno.
 */
static inline int ub_dropin_is_kernels(int dropin)
{
	int memfd = ub_memfd(UB_PAGE, F_SEAL_SHRINK, false), ext, fd, ret;
	struct udmabuf_ext_info info;

	if (memfd < 0)
		return memfd;
	fd = ub_create_memfd(dropin, memfd, 0, UB_PAGE, 0);
	close(memfd);
	if (fd < 0)
		return fd;
	ext = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ret = ext < 0 ? -errno : ub_info(ext, fd, &info);
	if (ext >= 0)
		close(ext);
	close(fd);
	return ret == -EINVAL ? 1 : ret;
}

/*
 * Read the kernel log from @fd (/dev/kmsg, opened O_NONBLOCK) to its end
 * and close it: the records that contain any of the @npat strings of @pat,
 * each printed as a diagnostic if @print.
 */
static inline int ub_kmsg_scan(int fd, const char * const *pat, size_t npat,
			       bool print)
{
	char rec[2048];
	ssize_t len;
	size_t i;
	int n = 0;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = 0;
		for (i = 0; i < npat; i++) {
			if (!strstr(rec, pat[i]))
				continue;
			if (print)	/* a KTAP diagnostic */
				printf("# kernel: %s", strchr(rec, ';') ?
				       strchr(rec, ';') + 1 : rec);
			n++;
			break;
		}
	}
	close(fd);
	return n;
}

/* Records of the kernel log (since boot) that contain @s, or -errno. */
static inline int ub_kmsg_count(const char *s)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return ub_kmsg_scan(fd, &s, 1, false);
}

#endif /* UDMABUF_TEST_H */
