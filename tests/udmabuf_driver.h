/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which driver serves a memfd-ABI device node, asked of the running guest
 * rather than assumed from a kernel version, and how the two drivers differ
 * on purpose.
 *
 * /dev/udmabuf is this module's drop-in on kernels without a udmabuf of
 * their own (Debian's 6.1) and the kernel's own driver where it has one
 * (CONFIG_UDMABUF=y, Debian's 6.12); /dev/udmabuf-ext serves the same memfd
 * ABI (UDMABUF_CREATE, UDMABUF_CREATE_LIST) on every kernel.  A test that
 * runs against "/dev/udmabuf, whoever serves it" checks the module where it
 * is the drop-in and the kernel's driver, as the reference, where it is not;
 * the differences below are asserted per driver and documented in
 * docs/uapi.md, "Differences from the kernel's own udmabuf (6.12)".
 */
#ifndef UDMABUF_DRIVER_H
#define UDMABUF_DRIVER_H

#include <sys/utsname.h>

#include "udmabuf_test.h"

enum ub_driver {
	UB_DRV_NONE,		/* no such node (errno in ub_node.err) */
	UB_DRV_MODULE,		/* udmabuf_ext */
	UB_DRV_KERNEL,		/* the kernel's own drivers/dma-buf/udmabuf.c */
};

/* The deliberate differences, as the results each driver gives. */
struct ub_abi {
	const char *name;	/* "udmabuf-ext module", "kernel udmabuf" */
	int closed_fd;		/* a memfd number that is not open */
	int read_only_memfd;	/* a memfd opened O_RDONLY (0: accepted) */
	int unknown_flags;	/* CREATE/CREATE_LIST flags besides CLOEXEC */
	int nonzero_pad;	/* a CREATE_LIST item with __pad != 0 */
	const char *params;	/* size_limit_mb and list_limit live here */
};

static const struct ub_abi ub_abi_module = {
	.name = "udmabuf-ext module",
	.closed_fd = -EBADF,
	.read_only_memfd = -EACCES,
	.unknown_flags = -EINVAL,
	.nonzero_pad = -EINVAL,
	.params = UB_PARAMS,
};

static const struct ub_abi ub_abi_kernel = {
	.name = "kernel udmabuf",
	.closed_fd = -EBADFD,
	.read_only_memfd = 0,
	.unknown_flags = 0,
	.nonzero_pad = 0,
	.params = "/sys/module/udmabuf/parameters/",
};

struct ub_node {
	enum ub_driver drv;
	const struct ub_abi *abi;	/* NULL for UB_DRV_NONE */
	int err;			/* why UB_DRV_NONE: an errno */
};

/* "exp_name:\t<name>" of a dma-buf fd (/proc/self/fdinfo): 0 or -errno. */
static inline int ub_exp_name(int fd, char *name, size_t len)
{
	char path[64], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "exp_name:", 9))
			continue;
		snprintf(name, len, "%s", line + 9 + strspn(line + 9, " \t"));
		name[strcspn(name, "\n")] = 0;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * Who serves @path: a one-page buffer is made there and its exporter's
 * name read back ("udmabuf_ext" is the module, "udmabuf" the kernel).
 */
static inline struct ub_node ub_node_probe(const char *path)
{
	struct ub_node n = { .drv = UB_DRV_NONE, .err = ENODEV };
	char name[64] = "";
	int dev, memfd, fd;

	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		n.err = errno;
		return n;
	}
	memfd = ub_memfd(UB_PAGE, F_SEAL_SHRINK, false);
	fd = memfd < 0 ? memfd : ub_create_memfd(dev, memfd, 0, UB_PAGE, 0);
	if (fd >= 0 && !ub_exp_name(fd, name, sizeof(name))) {
		if (!strcmp(name, "udmabuf_ext")) {
			n.drv = UB_DRV_MODULE;
			n.abi = &ub_abi_module;
		} else if (!strcmp(name, "udmabuf")) {
			n.drv = UB_DRV_KERNEL;
			n.abi = &ub_abi_kernel;
		}
	} else {
		n.err = fd < 0 ? -fd : ENOENT;
	}
	if (fd >= 0)
		close(fd);
	if (memfd >= 0)
		close(memfd);
	close(dev);
	return n;
}

/* A driver's module parameter (size_limit_mb, list_limit), or -1. */
static inline long ub_abi_param(const struct ub_abi *abi, const char *name)
{
	return ub_read_long(abi->params, name);
}

/* A creation's result as an ub_abi field holds it: 0 for a (closed) fd. */
static inline int ub_created(int fd)
{
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/*
 * Whether the running kernel's GUP can long-term-pin a hugetlb page in
 * ZONE_MOVABLE or CMA by migrating it first.  6.1's cannot (it WARNs and
 * fails), so there the module refuses such pages itself with ENOMEM; 6.12's
 * can (its own udmabuf relies on it), and there the module pins them the
 * same way.  Asked of the guest's release, the one thing user space sees:
 * the two kernels tested here are known, a release before 6.12 is taken to
 * be like 6.1.
 */
static inline bool ub_gup_migrates_hugetlb(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 12);
}

#endif /* UDMABUF_DRIVER_H */
