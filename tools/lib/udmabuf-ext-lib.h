/* SPDX-License-Identifier: MIT */
/*
 * libudmabuf-ext: dma-buf file descriptors from user memory.
 *
 * A thin C library over the udmabuf-ext UAPI (<udmabuf-ext.h>, included
 * below) and the dma-buf CPU-access ioctl. Every function that returns an int
 * returns a non-negative value on success and a negative errno on failure,
 * never -1 with errno; calls interrupted by a signal (EINTR) are restarted.
 * The library keeps no global state and is safe to use from several threads.
 *
 * Build with: cc ... $(pkg-config --cflags --libs udmabuf-ext)
 * Reference: libudmabuf-ext(3), docs/library.md.
 */
#ifndef UDMABUF_EXT_LIB_H
#define UDMABUF_EXT_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <linux/dma-buf.h>

#include "udmabuf-ext.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header; the shared library's soname is libudmabuf-ext.so.1. */
#define UDMABUF_EXT_LIB_VERSION_MAJOR	1
#define UDMABUF_EXT_LIB_VERSION_MINOR	1
#define UDMABUF_EXT_LIB_VERSION_MICRO	0

/* The device nodes udmabuf_ext_open() tries, in this order. */
#define UDMABUF_EXT_DEV_PATH		"/dev/udmabuf-ext"
#define UDMABUF_EXT_DROPIN_DEV_PATH	"/dev/udmabuf"

/**
 * udmabuf_ext_open() - open the udmabuf device
 *
 * Opens /dev/udmabuf-ext, or, if that cannot be opened, /dev/udmabuf (this
 * module's drop-in node or a kernel's own udmabuf driver), with
 * O_RDWR | O_CLOEXEC. On /dev/udmabuf only udmabuf_ext_create_memfd() works;
 * the other create calls and udmabuf_ext_info() fail there with -ENOTTY.
 *
 * Return: a file descriptor, or -errno. When both nodes fail, the error of
 * the node that exists is returned (e.g. -EACCES), else -ENOENT.
 */
int udmabuf_ext_open(void);

/**
 * udmabuf_ext_create_memfd() - make a dma-buf from a memfd range
 * @dev: file descriptor from udmabuf_ext_open() (either node)
 * @memfd: a shmem or hugetlbfs memfd, sealed with F_SEAL_SHRINK and without
 *	F_SEAL_WRITE / F_SEAL_FUTURE_WRITE
 * @offset: page-aligned byte offset in @memfd
 * @size: page-aligned length in bytes, > 0
 * @flags: UDMABUF_FLAGS_CLOEXEC or 0
 *
 * Issues UDMABUF_CREATE, the upstream ABI, so it works with a kernel's own
 * /dev/udmabuf too.
 *
 * Return: the new dma-buf file descriptor, or -errno (see docs/uapi.md).
 */
int udmabuf_ext_create_memfd(int dev, int memfd, uint64_t offset,
			     uint64_t size, uint32_t flags);

/**
 * udmabuf_ext_create_user() - make a dma-buf from a user address range
 * @dev: file descriptor of /dev/udmabuf-ext
 * @ptr: first byte of the range; page aligned if devices may write it
 * @len: length in bytes, > 0; @ptr + @len page aligned if devices may write
 *	it
 * @mode: UDMABUF_EXT_MODE_PIN, _COPY, _MOVE or _AUTO
 * @flags: UDMABUF_EXT_FLAGS_CLOEXEC and/or UDMABUF_EXT_FLAGS_READ_ONLY
 * @out: if not NULL, receives the completed request, notably @out->size
 *	(whole pages spanned) and @out->data_offset (where @ptr's byte lies in
 *	the first page)
 *
 * A buffer that devices may write (PIN or MOVE without
 * UDMABUF_EXT_FLAGS_READ_ONLY) shares whole pages, so the range must start
 * and end on page boundaries: memory from udmabuf_ext_alloc() does. A
 * read-only or COPY buffer may start and end anywhere, and AUTO copies a
 * writable range that is not page aligned.
 *
 * Return: the new dma-buf file descriptor, or -errno; -EINVAL for a
 * writable PIN or MOVE range that is not page aligned; -ENOTTY on a node
 * without the extended ABI.
 */
int udmabuf_ext_create_user(int dev, const void *ptr, size_t len,
			    uint32_t mode, uint32_t flags,
			    struct udmabuf_ext_create *out);

/**
 * udmabuf_ext_alloc() - allocate memory that devices may write
 * @size: bytes wanted, > 0
 * @len_out: if not NULL, receives the length to share: @size rounded up to
 *	whole pages
 *
 * A device writes whole pages. The bytes around a plain malloc() block are
 * the allocator's (glibc keeps a chunk header in the 16 bytes before a
 * large block's pointer), so the module refuses a writable PIN or MOVE
 * range that is not page aligned at both ends, as i915 userptr does. This
 * allocates heap memory that starts on a page boundary and spans whole
 * pages (posix_memalign()), for frames a device captures into: pass the
 * pointer and *@len_out to udmabuf_ext_create_user(). Release it with
 * free() once no buffer holds it any more.
 *
 * Return: the memory, uninitialized as malloc()'s, or NULL with errno set
 * (EINVAL for a zero @size, ENOMEM).
 */
void *udmabuf_ext_alloc(size_t size, size_t *len_out);

/**
 * udmabuf_ext_create_list() - make a dma-buf from a list of ranges
 * @dev: file descriptor of /dev/udmabuf-ext
 * @items: @count items, each a user range (UDMABUF_EXT_ITEM_USER) or a memfd
 *	range (UDMABUF_EXT_ITEM_MEMFD), in buffer order
 * @count: number of items, 1 to the list_limit module parameter
 * @mode: UDMABUF_EXT_MODE_*
 * @flags: UDMABUF_EXT_FLAGS_*
 * @out: if not NULL, receives the completed request (size, data_offset, fd)
 *
 * Return: the new dma-buf file descriptor, or -errno.
 */
int udmabuf_ext_create_list(int dev, const struct udmabuf_ext_item *items,
			    uint32_t count, uint32_t mode, uint32_t flags,
			    struct udmabuf_ext_create *out);

/**
 * udmabuf_ext_info() - describe a udmabuf-ext dma-buf
 * @dev: file descriptor of /dev/udmabuf-ext
 * @buf_fd: a dma-buf created by this module, through either node
 * @info: filled in on success (cleared first; the input fields are set by
 *	this function)
 *
 * Return: 0, or -errno: -EINVAL for a dma-buf of another exporter or a
 * non-dma-buf, -EBADF for a closed fd, -ENOTTY on /dev/udmabuf.
 */
int udmabuf_ext_info(int dev, int buf_fd, struct udmabuf_ext_info *info);

/**
 * udmabuf_ext_cpu_begin() - start CPU access to a dma-buf
 * @buf_fd: any dma-buf file descriptor
 * @sync_flags: DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE or DMA_BUF_SYNC_RW;
 *	0 means DMA_BUF_SYNC_RW. DMA_BUF_SYNC_END is ignored.
 *
 * Issues DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_START. Bracket every CPU access
 * through a mapping of the buffer with udmabuf_ext_cpu_begin() and
 * udmabuf_ext_cpu_end(), with the same @sync_flags.
 *
 * Return: 0, or -errno.
 */
int udmabuf_ext_cpu_begin(int buf_fd, uint64_t sync_flags);

/**
 * udmabuf_ext_cpu_end() - end CPU access to a dma-buf
 * @buf_fd: any dma-buf file descriptor
 * @sync_flags: as given to udmabuf_ext_cpu_begin(); 0 means DMA_BUF_SYNC_RW
 *
 * Issues DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_END.
 *
 * Return: 0, or -errno.
 */
int udmabuf_ext_cpu_end(int buf_fd, uint64_t sync_flags);

/**
 * udmabuf_ext_map() - mmap a whole dma-buf
 * @buf_fd: any dma-buf file descriptor
 * @prot: PROT_READ, PROT_WRITE or both (a read-only buffer refuses
 *	PROT_WRITE with EACCES)
 * @len_out: if not NULL, receives the mapping's length (the dma-buf's size)
 *
 * Maps the buffer MAP_SHARED from offset 0; its size is found with
 * lseek(SEEK_END). The first page holds the data at the buffer's
 * data_offset. Unmap with udmabuf_ext_unmap() or munmap(). The mapping keeps
 * the buffer alive after @buf_fd is closed.
 *
 * Return: the address, or NULL with errno set.
 */
void *udmabuf_ext_map(int buf_fd, int prot, size_t *len_out);

/**
 * udmabuf_ext_unmap() - unmap what udmabuf_ext_map() mapped
 * @addr: the address udmabuf_ext_map() returned
 * @len: its length (*@len_out)
 *
 * Return: 0, or -errno.
 */
int udmabuf_ext_unmap(void *addr, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* UDMABUF_EXT_LIB_H */
