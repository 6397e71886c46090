/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences between the kernels udmabuf-ext builds for.
 * Only what the module uses; each entry names the release that changed it.
 */
#ifndef UDMABUF_EXT_COMPAT_H
#define UDMABUF_EXT_COMPAT_H

#include <linux/version.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>

/* 6.3: vma->vm_flags became read-only, written through vm_flags_*(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void udmabuf_ext_vm_flags_set(struct vm_area_struct *vma,
					    unsigned long set)
{
	vma->vm_flags |= set;
}

static inline void udmabuf_ext_vm_flags_clear(struct vm_area_struct *vma,
					      unsigned long clear)
{
	vma->vm_flags &= ~clear;
}
#else
#define udmabuf_ext_vm_flags_set	vm_flags_set
#define udmabuf_ext_vm_flags_clear	vm_flags_clear
#endif

/* 6.5: pin_user_pages() lost its vmas argument. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define udmabuf_ext_pin_user_pages(start, nr, flags, pages) \
	pin_user_pages(start, nr, flags, pages, NULL)
#else
#define udmabuf_ext_pin_user_pages(start, nr, flags, pages) \
	pin_user_pages(start, nr, flags, pages)
#endif

/*
 * pin_user_pages_fast_only() (probed by Kbuild: gone in later kernels): a
 * lockless page-table walk that pins a THP-mapped 2 MiB in one step where
 * pin_user_pages() looks up each subpage. Without it, 0 pages: the caller
 * falls back to pin_user_pages().
 */
#ifdef UDMABUF_EXT_HAVE_PIN_FAST_ONLY
#define udmabuf_ext_pin_fast_only(start, nr, flags, pages) \
	pin_user_pages_fast_only(start, nr, flags, pages)
#else
#define udmabuf_ext_pin_fast_only(start, nr, flags, pages)	0
#endif

/*
 * 6.7: hugetlbfs's page cache became indexed in base pages, like any other
 * file's; before, one index per huge page. The shift from the page cache's
 * index to base pages.
 */
static inline unsigned int udmabuf_ext_cache_shift(struct inode *inode)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0) && defined(CONFIG_HUGETLBFS)
	if (inode->i_sb->s_magic == HUGETLBFS_MAGIC)
		return huge_page_order(hstate_inode(inode));
#endif
	return 0;
}

/*
 * 6.4: MAX_ORDER became the largest order itself rather than one past it;
 * 6.8: renamed MAX_PAGE_ORDER.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define UDMABUF_EXT_MAX_PAGE_ORDER	(MAX_ORDER - 1)
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define UDMABUF_EXT_MAX_PAGE_ORDER	MAX_ORDER
#else
#define UDMABUF_EXT_MAX_PAGE_ORDER	MAX_PAGE_ORDER
#endif

/* 6.13: namespaces became string literals. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define UDMABUF_EXT_IMPORT_DMA_BUF_NS()	MODULE_IMPORT_NS(DMA_BUF)
#else
#define UDMABUF_EXT_IMPORT_DMA_BUF_NS()	MODULE_IMPORT_NS("DMA_BUF")
#endif

#endif /* UDMABUF_EXT_COMPAT_H */
