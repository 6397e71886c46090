// SPDX-License-Identifier: MIT
/*
 * libudmabuf-ext: see udmabuf-ext-lib.h and libudmabuf-ext(3).
 *
 * Everything here is built with -fvisibility=hidden: only functions marked
 * UDMABUF_EXT_EXPORT are exported, and they must be exactly the symbols of
 * libudmabuf-ext.map (checked by the build, see Makefile).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "udmabuf-ext-lib.h"

#define UDMABUF_EXT_EXPORT __attribute__((visibility("default")))

/* ioctl() restarted on EINTR; returns its result or -errno. */
static int xioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int open_node(const char *path)
{
	int fd;

	do {
		fd = open(path, O_RDWR | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* The node is not there (or has no driver behind it). */
static int absent(int err)
{
	return err == -ENOENT || err == -ENODEV || err == -ENXIO;
}

UDMABUF_EXT_EXPORT int udmabuf_ext_open(void)
{
	int ext, dropin;

	ext = open_node(UDMABUF_EXT_DEV_PATH);
	if (ext >= 0)
		return ext;
	dropin = open_node(UDMABUF_EXT_DROPIN_DEV_PATH);
	if (dropin >= 0)
		return dropin;
	/* Report the node that exists: EACCES says more than ENOENT. */
	return absent(ext) ? dropin : ext;
}

UDMABUF_EXT_EXPORT int udmabuf_ext_create_memfd(int dev, int memfd,
						uint64_t offset,
						uint64_t size, uint32_t flags)
{
	struct udmabuf_create c = {
		.memfd = (uint32_t)memfd,
		.flags = flags,
		.offset = offset,
		.size = size,
	};

	if (memfd < 0)
		return -EBADF;
	return xioctl(dev, UDMABUF_CREATE, &c);
}

UDMABUF_EXT_EXPORT int udmabuf_ext_create_list(int dev,
					       const struct udmabuf_ext_item *items,
					       uint32_t count, uint32_t mode,
					       uint32_t flags,
					       struct udmabuf_ext_create *out)
{
	struct udmabuf_ext_create c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.flags = flags;
	c.mode = mode;
	c.count = count;
	c.items = (uint64_t)(uintptr_t)items;
	ret = xioctl(dev, UDMABUF_EXT_CREATE, &c);
	if (ret < 0)
		return ret;
	if (out)
		*out = c;
	return (int)c.fd;
}

UDMABUF_EXT_EXPORT int udmabuf_ext_create_user(int dev, const void *ptr,
					       size_t len, uint32_t mode,
					       uint32_t flags,
					       struct udmabuf_ext_create *out)
{
	struct udmabuf_ext_item item;

	memset(&item, 0, sizeof(item));
	item.kind = UDMABUF_EXT_ITEM_USER;
	item.start = (uint64_t)(uintptr_t)ptr;
	item.size = len;
	return udmabuf_ext_create_list(dev, &item, 1, mode, flags, out);
}

UDMABUF_EXT_EXPORT void *udmabuf_ext_alloc(size_t size, size_t *len_out)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len;
	void *p;
	int ret;

	if (page <= 0)
		page = 4096;
	if (!size) {
		errno = EINVAL;
		return NULL;
	}
	if (size > SIZE_MAX - (size_t)page + 1) {
		errno = ENOMEM;
		return NULL;
	}
	len = (size + (size_t)page - 1) & ~((size_t)page - 1);
	ret = posix_memalign(&p, (size_t)page, len);
	if (ret) {
		errno = ret;
		return NULL;
	}
	if (len_out)
		*len_out = len;
	return p;
}

UDMABUF_EXT_EXPORT int udmabuf_ext_info(int dev, int buf_fd,
					struct udmabuf_ext_info *info)
{
	int ret;

	if (!info)
		return -EFAULT;
	if (buf_fd < 0)
		return -EBADF;
	memset(info, 0, sizeof(*info));
	info->fd = (uint32_t)buf_fd;
	ret = xioctl(dev, UDMABUF_EXT_INFO, info);
	return ret < 0 ? ret : 0;
}

static int cpu_sync(int buf_fd, uint64_t sync_flags, uint64_t phase)
{
	struct dma_buf_sync s;
	int ret;

	sync_flags &= ~(uint64_t)DMA_BUF_SYNC_END;
	if (!sync_flags)
		sync_flags = DMA_BUF_SYNC_RW;
	s.flags = sync_flags | phase;
	ret = xioctl(buf_fd, DMA_BUF_IOCTL_SYNC, &s);
	return ret < 0 ? ret : 0;
}

UDMABUF_EXT_EXPORT int udmabuf_ext_cpu_begin(int buf_fd, uint64_t sync_flags)
{
	return cpu_sync(buf_fd, sync_flags, DMA_BUF_SYNC_START);
}

UDMABUF_EXT_EXPORT int udmabuf_ext_cpu_end(int buf_fd, uint64_t sync_flags)
{
	return cpu_sync(buf_fd, sync_flags, DMA_BUF_SYNC_END);
}

UDMABUF_EXT_EXPORT void *udmabuf_ext_map(int buf_fd, int prot, size_t *len_out)
{
	off_t end;
	void *p;

	/* dma-bufs only allow lseek(fd, 0, SEEK_END), which gives the size. */
	end = lseek(buf_fd, 0, SEEK_END);
	if (end < 0)
		return NULL;
	if (end == 0) {
		errno = EINVAL;
		return NULL;
	}
	do {
		p = mmap(NULL, (size_t)end, prot, MAP_SHARED, buf_fd, 0);
	} while (p == MAP_FAILED && errno == EINTR);
	if (p == MAP_FAILED)
		return NULL;
	if (len_out)
		*len_out = (size_t)end;
	return p;
}

UDMABUF_EXT_EXPORT int udmabuf_ext_unmap(void *addr, size_t len)
{
	return munmap(addr, len) ? -errno : 0;
}
