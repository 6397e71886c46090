/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The interface of the test importer (tests/importer/udmabuf_ext_importer.c),
 * shared by the driver and the tests that use it (tests/dmabuf_contract.c).
 *
 * /dev/udmabuf-ext-importer (root only). Each open file has its own
 * attachments and mapped tables, named by handles; closing it unmaps and
 * detaches whatever is left, as a well-behaved importer does.
 */
#ifndef UDMABUF_EXT_IMPORTER_H
#define UDMABUF_EXT_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define UBI_DEV_PATH		"/dev/udmabuf-ext-importer"

/* Devices an attachment can be made for, &ubi_attach.target. */
#define UBI_TARGET_PLATFORM	0	/* platform device, no segment limit */
#define UBI_TARGET_PLATFORM_SEG	1	/* platform device, 64 KiB segments */
#define UBI_TARGET_PCI		2	/* QEMU's pci-testdev, if present */
#define UBI_NR_TARGETS		3

/* Directions, &ubi_map.dir: the values of enum dma_data_direction. */
#define UBI_DMA_BIDIRECTIONAL	0
#define UBI_DMA_TO_DEVICE	1
#define UBI_DMA_FROM_DEVICE	2

/**
 * struct ubi_attach - argument of %UBI_ATTACH: dma_buf_attach()
 * @fd: in, a dma-buf file descriptor.
 * @target: in, %UBI_TARGET_*. ENODEV if that device does not exist.
 * @handle: out, the attachment.
 * @max_segment: out, the device's dma_get_max_seg_size().
 * @iommu: out, 1 if the device is in an IOMMU group, else 0.
 * @pad: zero.
 */
struct ubi_attach {
	__s32 fd;
	__u32 target;
	__u32 handle;
	__u32 max_segment;
	__u32 iommu;
	__u32 pad;
};

/**
 * struct ubi_map - argument of %UBI_MAP: map the attachment
 * @handle: in, an attachment.
 * @dir: in, %UBI_DMA_*.
 * @map: out, the mapped table.
 * @nents: out, DMA segments of the table.
 * @orig_nents: out, entries of the table.
 * @shared: out, how many tables already mapped on the attachment are the
 *	very table returned now (an exporter must return a fresh one).
 */
struct ubi_map {
	__u32 handle;
	__u32 dir;
	__u32 map;
	__u32 nents;
	__u32 orig_nents;
	__u32 shared;
};

/**
 * struct ubi_sg_entry - one scatterlist entry of a mapped table
 * @pfn: the PFN of the entry's page.
 * @dma_address: sg_dma_address() of the entry, for the first nents entries.
 * @head: the first 8 bytes of the entry's page (from the page's start,
 *	whatever the entry's offset), read through a kernel mapping of it:
 *	ties the page to what user space wrote.
 * @offset: the entry's offset in its page.
 * @length: the entry's length.
 * @dma_length: sg_dma_len() of the entry, for the first nents entries.
 * @pad: zero.
 */
struct ubi_sg_entry {
	__u64 pfn;
	__u64 dma_address;
	__u64 head;
	__u32 offset;
	__u32 length;
	__u32 dma_length;
	__u32 pad;
};

/**
 * struct ubi_sg - argument of %UBI_SG: read a mapped table's entries
 * @map: in, a mapped table.
 * @count: in, room at @entries; out, the table's entries (orig_nents),
 *	of which min(in, out) were written.
 * @entries: in, user pointer to an array of &struct ubi_sg_entry.
 */
struct ubi_sg {
	__u32 map;
	__u32 count;
	__u64 entries;
};

/**
 * struct ubi_detach - argument of %UBI_UNMAP and %UBI_DETACH
 * @handle: in, a mapped table (UNMAP) or an attachment (DETACH).
 * @mapped: out, for DETACH, the tables still mapped when
 *	dma_buf_detach() was called: this driver forgets them, the exporter
 *	must unmap them.
 */
struct ubi_detach {
	__u32 handle;
	__u32 mapped;
};

/**
 * struct ubi_vmap - argument of %UBI_VMAP: read a dma-buf through vmap
 * @fd: in, a dma-buf file descriptor.
 * @pad: zero.
 * @buf: in, user pointer to @len bytes.
 * @len: in, bytes to read from the start of the kernel mapping.
 * @size: out, the dma-buf's size.
 * @readable: out, the bytes that could be read from the mapping (whole
 *	pages of it) before the first one that faults, at most @len; they are
 *	copied to @buf.
 */
struct ubi_vmap {
	__s32 fd;
	__u32 pad;
	__u64 buf;
	__u64 len;
	__u64 size;
	__u64 readable;
};

#define UBI_ATTACH	_IOWR('U', 0xa0, struct ubi_attach)
#define UBI_MAP		_IOWR('U', 0xa1, struct ubi_map)
#define UBI_SG		_IOWR('U', 0xa2, struct ubi_sg)
#define UBI_UNMAP	_IOW('U', 0xa3, struct ubi_detach)
#define UBI_DETACH	_IOWR('U', 0xa4, struct ubi_detach)
#define UBI_VMAP	_IOWR('U', 0xa5, struct ubi_vmap)

#endif /* UDMABUF_EXT_IMPORTER_H */
