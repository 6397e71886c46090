/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences between the kernels udmabuf-ext builds for.
 * Only what the module uses; each entry names the release that changed it.
 */
#ifndef UDMABUF_EXT_COMPAT_H
#define UDMABUF_EXT_COMPAT_H

#include <linux/version.h>
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
