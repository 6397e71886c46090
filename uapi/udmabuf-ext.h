/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * udmabuf-ext: dma-buf file descriptors from user memory.
 *
 * Two device nodes share this header:
 *
 * /dev/udmabuf      the upstream memfd ABI (UDMABUF_CREATE, UDMABUF_CREATE_LIST
 *                   from <linux/udmabuf.h>), unchanged, for kernels that lack
 *                   their own udmabuf driver.
 * /dev/udmabuf-ext  the upstream ABI plus the extended ABI below: dma-bufs
 *                   from any user address range, in pin, copy or move mode,
 *                   and an info query on any udmabuf-ext dma-buf.
 */
#ifndef _UAPI_LINUX_UDMABUF_EXT_H
#define _UAPI_LINUX_UDMABUF_EXT_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/udmabuf.h>

/* Item kinds, for &udmabuf_ext_item.kind. */
#define UDMABUF_EXT_ITEM_USER		0	/* start is a user virtual address */
#define UDMABUF_EXT_ITEM_MEMFD		1	/* start is a byte offset in memfd */

/**
 * struct udmabuf_ext_item - one range of memory that a buffer is built from
 * @kind: %UDMABUF_EXT_ITEM_USER or %UDMABUF_EXT_ITEM_MEMFD.
 * @memfd: for %UDMABUF_EXT_ITEM_MEMFD, a shmem or hugetlbfs memfd sealed with
 *	F_SEAL_SHRINK and without F_SEAL_WRITE/F_SEAL_FUTURE_WRITE, exactly as
 *	for UDMABUF_CREATE. Must be 0 for %UDMABUF_EXT_ITEM_USER.
 * @start: the user virtual address (USER) or the byte offset in @memfd
 *	(MEMFD). MEMFD offsets must be page aligned. A USER range that devices
 *	may write (PIN and MOVE without %UDMABUF_EXT_FLAGS_READ_ONLY) must be
 *	page aligned at both ends: its pages are shared whole. A read-only or
 *	COPY buffer's first item may start anywhere and its last item end
 *	anywhere; every other boundary between items must be page aligned.
 * @size: length in bytes, > 0 (MEMFD: a multiple of the page size).
 */
struct udmabuf_ext_item {
	__u32 kind;
	__u32 memfd;
	__u64 start;
	__u64 size;
};

/* Modes, for &udmabuf_ext_create.mode. */
#define UDMABUF_EXT_MODE_PIN		0	/* long-term pin of the pages, zero copy */
#define UDMABUF_EXT_MODE_COPY		1	/* copy into pages owned by the buffer */
#define UDMABUF_EXT_MODE_MOVE		2	/* take anonymous pages, leave zero-fill */
/* AUTO: COPY up to auto_copy_max_kb or if writable and unaligned, else PIN. */
#define UDMABUF_EXT_MODE_AUTO		3

/* Flags, for &udmabuf_ext_create.flags. */
#define UDMABUF_EXT_FLAGS_CLOEXEC	0x01	/* same value as UDMABUF_FLAGS_CLOEXEC */
#define UDMABUF_EXT_FLAGS_READ_ONLY	0x02	/* devices and mappings may only read */
#define UDMABUF_EXT_CREATE_VALID_FLAGS \
	(UDMABUF_EXT_FLAGS_CLOEXEC | UDMABUF_EXT_FLAGS_READ_ONLY)

/**
 * struct udmabuf_ext_create - argument of %UDMABUF_EXT_CREATE
 * @flags: in, %UDMABUF_EXT_FLAGS_*; unknown bits are refused with EINVAL.
 * @mode: in, %UDMABUF_EXT_MODE_*.
 * @count: in, number of items at @items, 1 to the list_limit module
 *	parameter.
 * @fd: out, the new dma-buf file descriptor.
 * @items: in, user pointer to an array of @count &struct udmabuf_ext_item.
 * @size: out, size of the dma-buf in bytes: the whole pages spanned by the
 *	items.
 * @data_offset: out, offset of the first item's first byte inside the first
 *	page (0 unless the first item is an unaligned read-only or COPY user
 *	range). Every view of the buffer (its scatterlist, page arrays built by
 *	importers, vmap, mmap) covers the same whole pages from the first one,
 *	so the data is at this offset in all of them; pass it to importer APIs
 *	that take an offset (AddFB2 offsets[], V4L2 multi-planar data_offset).
 * @__pad: must be zero.
 * @reserved: must be zero.
 *
 * A MOVE's ranges must not contain this structure, which the results are
 * written to (EINVAL). Pages come from the items in order. All of them are charged to the
 * calling user's RLIMIT_MEMLOCK (ENOMEM beyond it), as io_uring charges its
 * pins; CAP_IPC_LOCK is exempt (docs/uapi.md, "Limits and accounting").
 */
struct udmabuf_ext_create {
	__u32 flags;
	__u32 mode;
	__u32 count;
	__u32 fd;
	__u64 items;
	__u64 size;
	__u32 data_offset;
	__u32 __pad;
	__u64 reserved[2];
};

/* Source bits, for &udmabuf_ext_info.source. */
#define UDMABUF_EXT_SOURCE_USER		0x01	/* some item was an address range */
#define UDMABUF_EXT_SOURCE_MEMFD	0x02	/* some item was a memfd range */
#define UDMABUF_EXT_SOURCE_ANON		0x04	/* private anonymous memory */
#define UDMABUF_EXT_SOURCE_SHMEM	0x08	/* shmem (memfd, tmpfs, MAP_SHARED anon) */
#define UDMABUF_EXT_SOURCE_HUGETLB	0x10	/* hugetlbfs pages */
#define UDMABUF_EXT_SOURCE_FILE		0x20	/* page cache of a regular file */
#define UDMABUF_EXT_SOURCE_THP		0x40	/* transparent huge pages were seen */

/* Buffer flags, for &udmabuf_ext_info.buf_flags. */
#define UDMABUF_EXT_INFO_READ_ONLY	0x01
#define UDMABUF_EXT_INFO_DROPIN		0x02	/* created through /dev/udmabuf's ABI */
/* MOVE found some page no longer where it took it: it may still be mapped. */
#define UDMABUF_EXT_INFO_MOVE_PARTIAL	0x04

/**
 * struct udmabuf_ext_info - argument of %UDMABUF_EXT_INFO
 * @fd: in, a dma-buf file descriptor created by this module; any other fd
 *	fails with EINVAL (a dma-buf of another exporter) or EBADF.
 * @flags: in, must be zero.
 * @size: out, dma-buf size in bytes.
 * @data_offset: out, see &udmabuf_ext_create.data_offset.
 * @mode: out, the mode the buffer uses (AUTO resolved to PIN or COPY).
 * @source: out, %UDMABUF_EXT_SOURCE_* bits.
 * @buf_flags: out, %UDMABUF_EXT_INFO_* bits.
 * @nr_pages: out, pages in the buffer.
 * @nr_segments: out, physically contiguous runs of pages: the number of DMA
 *	segments for an importer without a segment size limit and without an
 *	IOMMU merging them.
 * @nr_charged: out, pages charged to RLIMIT_MEMLOCK (all pages of a buffer
 *	of %UDMABUF_EXT_CREATE, none of the upstream ABI's): shown in the
 *	creator's VmPin and, unless it had CAP_IPC_LOCK, counted in its user's
 *	locked memory.
 * @meta_bytes: out, kernel memory used to describe the pages.
 * @owner_pid: out, thread group id of the creator in the caller's pid
 *	namespace, 0 if it is not visible there or has exited.
 * @nr_attachments: out, importers currently attached.
 * @id: out, a number unique to the buffer for the module's lifetime, as shown
 *	in debugfs.
 * @reserved: out, zero.
 */
struct udmabuf_ext_info {
	__u32 fd;
	__u32 flags;
	__u64 size;
	__u32 data_offset;
	__u32 mode;
	__u32 source;
	__u32 buf_flags;
	__u64 nr_pages;
	__u64 nr_segments;
	__u64 nr_charged;
	__u64 meta_bytes;
	__u32 owner_pid;
	__u32 nr_attachments;
	__u64 id;
	__u64 reserved[4];
};

#define UDMABUF_EXT_CREATE	_IOWR('u', 0x50, struct udmabuf_ext_create)
#define UDMABUF_EXT_INFO	_IOWR('u', 0x51, struct udmabuf_ext_info)

#endif /* _UAPI_LINUX_UDMABUF_EXT_H */
