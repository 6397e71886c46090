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

/* 6.5: get_user_pages() lost its vmas argument too. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define udmabuf_ext_get_user_pages(start, nr, flags, pages) \
	get_user_pages(start, nr, flags, pages, NULL)
#else
#define udmabuf_ext_get_user_pages(start, nr, flags, pages) \
	get_user_pages(start, nr, flags, pages)
#endif

/*
 * 6.2, "mm/gup: reliable R/O long-term pinning in COW mappings": a read-only
 * FOLL_LONGTERM pin of a private (COW) mapping unshares what the process
 * does not own exclusively (the shared zero page, the huge zero folio, a
 * page-cache page of a MAP_PRIVATE file, a page shared with a fork) before
 * pinning it, so that the pinned page stays the one the process sees.
 * Before 6.2 the pin takes whatever is mapped, and the process's next write
 * moves to a new page behind the buffer's back: break COW first with a
 * forced write pin, as 6.1's ib_umem_get() does. The buffer stays read-only
 * to devices either way; only the pin writes.
 */
static inline unsigned int udmabuf_ext_ro_pin_flags(struct vm_area_struct *vma)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	if (is_cow_mapping(vma->vm_flags))
		return FOLL_WRITE | FOLL_FORCE;
#endif
	return 0;
}

/*
 * 6.10, "mm: gup: stop abusing try_grab_folio": GUP's slow path long-term
 * pins hugetlb pages in ZONE_MOVABLE or CMA by migrating them, as it does
 * every other page. Before, it WARNs and fails with ENOMEM on such a page
 * (follow_hugetlb_page() grabs it with the GUP-fast helper, which refuses
 * it), so a hugetlb range is pinned without FOLL_LONGTERM and such pages
 * are refused by the caller.
 */
static inline bool udmabuf_ext_longterm_hugetlb(void)
{
	return LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0);
}

/*
 * 6.3: zap_page_range() gave way to zap_page_range_single(), exported in its
 * place (probed by Kbuild). Both are what MADV_DONTNEED does to one VMA.
 */
#ifdef UDMABUF_EXT_HAVE_ZAP_PAGE_RANGE
#define udmabuf_ext_zap(vma, start, size)	zap_page_range(vma, start, size)
#else
#define udmabuf_ext_zap(vma, start, size) \
	zap_page_range_single(vma, start, size, NULL)
#endif

/*
 * 6.4: per-VMA locks: a page fault may hold only its VMA's lock, not
 * mmap_lock. Write-locking the VMA (until mmap_write_unlock()) excludes it.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
static inline void udmabuf_ext_vma_start_write(struct vm_area_struct *vma)
{
}
#else
#define udmabuf_ext_vma_start_write	vma_start_write
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
 * get_user_pages_fast_only() (probed likewise): the same lockless walk,
 * taking references; what a PMD maps comes in one step. Without it, 0
 * pages: the caller falls back to get_user_pages().
 */
#ifdef UDMABUF_EXT_HAVE_GET_FAST_ONLY
#define udmabuf_ext_get_fast_only(start, nr, flags, pages) \
	get_user_pages_fast_only(start, nr, flags, pages)
#else
#define udmabuf_ext_get_fast_only(start, nr, flags, pages)	0
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
