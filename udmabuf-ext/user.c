// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: pages from a user address range (UDMABUF_EXT_ITEM_USER), in
 * each mode:
 *
 * - PIN: a FOLL_PIN | FOLL_LONGTERM pin of the pages the process maps, the
 *   way Documentation/core-api/pin_user_pages.rst asks of DMA that lasts
 *   (case 2 there): pages in ZONE_MOVABLE or CMA are migrated out first, and
 *   a writable pin breaks COW, so that the buffer and the process share the
 *   pages for the buffer's life, also across fork().
 * - read-only PIN: the same without FOLL_WRITE. Before 6.2 a read-only pin
 *   of a private mapping could hold a page the process no longer sees after
 *   its next write (the shared zero page, a MAP_PRIVATE file's page cache):
 *   the pin breaks COW first, see udmabuf_ext_ro_pin_flags().
 * - MOVE: a writable pin of private anonymous pages, which the process then
 *   gives up (udmabuf_ext_vacate()): MADV_DONTNEED of exactly the pages the
 *   buffer took.
 * - COPY: copy_from_user() into pages the buffer allocates.
 *
 * Whatever the mode, a buffer only ever holds pages of the process's own
 * memory: anonymous pages or page cache. The shared zero page, the huge zero
 * folio and driver pages are refused.
 */
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

/* Pages per pin or lookup call: one page of pointers. */
#define UDMABUF_EXT_CHUNK	(PAGE_SIZE / sizeof(struct page *))

/*
 * Check a VMA the range covers before pinning from it, so that each refusal
 * has its own errno rather than GUP's generic EFAULT.
 * @write: the pages will be pinned writable.
 * Returns UDMABUF_EXT_SOURCE_* bits or a negative errno.
 */
static int udmabuf_ext_vma_source(struct vm_area_struct *vma, bool write,
				  u32 mode)
{
	struct file *file = vma->vm_file;
	int source;

	mmap_assert_locked(vma->vm_mm);

	if (vma->vm_flags & (VM_IO | VM_PFNMAP))
		return -EFAULT;		/* no struct pages behind it */
	if (!(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return -EFAULT;		/* PROT_NONE */
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EACCES;
	/*
	 * A read-only pin of a mapping without read permission, as GUP's slow
	 * path refuses it: its lockless walk cannot tell (x86 page tables have
	 * no write-only pages). COPY reads with copy_from_user(), which can.
	 */
	if (!write && mode != UDMABUF_EXT_MODE_COPY &&
	    !(vma->vm_flags & VM_READ))
		return -EFAULT;
	if (vma_is_fsdax(vma))
		return -EOPNOTSUPP;

	if (is_vm_hugetlb_page(vma)) {
		source = UDMABUF_EXT_SOURCE_HUGETLB;
	} else if (vma_is_anonymous(vma)) {
		source = UDMABUF_EXT_SOURCE_ANON;
	} else if (file && !S_ISREG(file_inode(file)->i_mode)) {
		/*
		 * A driver's mapping (a device node, even on devtmpfs, which
		 * is shmem; a block device's page cache; perf's ring buffer,
		 * any anonymous inode) may hold pages with a ->mapping of
		 * their own: only regular files' pages are memory a buffer
		 * may take. (A special mapping without a file, the vDSO,
		 * holds pages without a ->mapping, which
		 * udmabuf_ext_check_pinned() refuses.)
		 */
		return -EFAULT;
	} else if (file && file_inode(file)->i_sb->s_magic == TMPFS_MAGIC) {
		source = UDMABUF_EXT_SOURCE_SHMEM;
	} else {
		/*
		 * Page cache of a real file: a device writing to it behind
		 * writeback's back corrupts the file system, so only
		 * read-only pins are allowed when the mapping is shared
		 * (private ones COW on a write pin).
		 */
		if (write && (vma->vm_flags & VM_SHARED))
			return -EOPNOTSUPP;
		source = UDMABUF_EXT_SOURCE_FILE;
	}
	/* Only private anonymous pages can be taken from a process. */
	if (mode == UDMABUF_EXT_MODE_MOVE &&
	    (!vma_is_anonymous(vma) || is_vm_hugetlb_page(vma)))
		return -EOPNOTSUPP;
	return source;
}

/* The GUP flags that pin a range of @vma for a buffer. */
static unsigned int udmabuf_ext_pin_flags(struct vm_area_struct *vma,
					  bool write)
{
	unsigned int flags = FOLL_LONGTERM;

	if (write)
		flags |= FOLL_WRITE;
	else
		flags |= udmabuf_ext_ro_pin_flags(vma);
	if (is_vm_hugetlb_page(vma) && !udmabuf_ext_longterm_hugetlb())
		flags &= ~FOLL_LONGTERM;
	return flags;
}

/*
 * Check a stretch of pinned pages of @folio, from @page on, for the buffer.
 * @index: for a memfd's temporary mapping, the file page @page must be.
 */
static int udmabuf_ext_check_pinned(struct folio *folio, struct page *page,
				    unsigned int gup_flags,
				    const struct udmabuf_ext_expect *expect,
				    pgoff_t index)
{
	if (expect) {
		/* Another thread may have replaced the temporary mapping. */
		if (folio->mapping != expect->mapping ||
		    folio->index + folio_page_idx(folio, page) != index)
			return -EFAULT;
	} else if (!folio_test_anon(folio) && !READ_ONCE(folio->mapping)) {
		/*
		 * Neither anonymous memory nor page cache: the shared zero
		 * page or huge zero folio (which a read-only pin must never
		 * hold: the process's writes go elsewhere, and a device
		 * writing despite DMA_TO_DEVICE would corrupt it for the whole
		 * system), a driver's page, or a page truncated meanwhile.
		 */
		return -EFAULT;
	}
	/* Without FOLL_LONGTERM nothing migrated it: refuse what must move. */
	if (!(gup_flags & FOLL_LONGTERM) && !folio_is_longterm_pinnable(folio))
		return -ENOMEM;
	/*
	 * Each pin adds GUP_PIN_COUNTING_BIAS references to a small folio, and
	 * items may name one page any number of times: stop well before GUP
	 * would find the count overflowing (it WARNs then). One chunk adds at
	 * most a page of pointers' worth of pins beyond this.
	 */
	if (folio_ref_count(folio) > UDMABUF_EXT_MAX_FOLIO_REFS)
		return -ENOMEM;
	return 0;
}

/**
 * udmabuf_ext_pin_range() - pin pages of the caller's address space
 * @ctx: the buffer being filled.
 * @start: page-aligned address.
 * @nr: pages to pin.
 * @gup_flags: FOLL_* flags for the pin.
 * @expect: NULL for a user range; for a memfd's temporary mapping, the file
 *	pages the range must map.
 *
 * Called with mmap_lock held. Pages are added to the buffer in order as they
 * are pinned and checked.
 *
 * Return: 0 or a negative errno; pages added stay in the buffer either way.
 */
int udmabuf_ext_pin_range(struct udmabuf_ext_fill_ctx *ctx,
			  unsigned long start, unsigned long nr,
			  unsigned int gup_flags,
			  const struct udmabuf_ext_expect *expect)
{
	struct udmabuf_ext_buf *buf = ctx->buf;
	pgoff_t index = expect ? expect->index : 0;

	mmap_assert_locked(current->mm);

	if (!ctx->chunk) {
		ctx->chunk = kmalloc_array(ctx->chunk_len, sizeof(*ctx->chunk),
					   GFP_KERNEL);
		if (!ctx->chunk)
			return -ENOMEM;
	}
	while (nr) {
		unsigned long n = min(nr, ctx->chunk_len);
		long got, done, j;
		int ret;

		/*
		 * The lockless walk first: populated page tables, huge ones
		 * included, pin without a lookup per page. What it leaves
		 * (not present, not writable yet, to be migrated or unshared)
		 * goes the slow way, which faults it in.
		 */
		got = udmabuf_ext_pin_fast_only(start, n, gup_flags, ctx->chunk);
		if (!got)
			got = udmabuf_ext_pin_user_pages(start, n, gup_flags,
							 ctx->chunk);
		if (got <= 0)
			return got ? got : -EFAULT;

		/*
		 * Stretch by stretch of consecutive pages of one folio (a huge
		 * page is one): the checks are the folio's, and the stretch is
		 * appended whole, into room reserved per stretch so that the
		 * list grows with runs. Pages up to @done belong to the buffer.
		 */
		ret = 0;
		done = 0;
		while (done < got) {
			struct page *page = ctx->chunk[done];
			struct folio *folio = page_folio(page);
			long left = folio_nr_pages(folio) -
				    folio_page_idx(folio, page);

			ret = udmabuf_ext_pages_reserve(&buf->pages, 2);
			if (ret)
				break;
			for (j = done + 1; j < got && j - done < left &&
			     ctx->chunk[j] == nth_page(page, j - done); j++)
				;
			ret = udmabuf_ext_check_pinned(folio, page, gup_flags,
						       expect, index + done);
			if (ret)
				break;
			if (folio_test_large(folio) && folio_test_anon(folio) &&
			    !folio_test_hugetlb(folio))
				buf->source |= UDMABUF_EXT_SOURCE_THP;
			udmabuf_ext_pages_add(&buf->pages, page, j - done, 0);
			done = j;
		}
		atomic_long_add(done, &udmabuf_ext_stats.pinned_pages);
		if (ret) {
			unpin_user_pages(ctx->chunk + done, got - done);
			return ret;
		}
		start += got << PAGE_SHIFT;
		index += got;
		nr -= got;
	}
	return 0;
}

/* Copy the next @n pages of the caller's range at *@arg into @page on. */
static int udmabuf_ext_user_read(void *arg, struct page *page, unsigned long n)
{
	unsigned long *addr = arg;
	unsigned long i;

	for (i = 0; i < n; i++) {
		void *dst = kmap_local_page(nth_page(page, i));
		unsigned long left;

		left = copy_from_user(dst, (void __user *)*addr, PAGE_SIZE);
		kunmap_local(dst);
		if (left)
			return -EFAULT;
		*addr += PAGE_SIZE;
	}
	return 0;
}

/**
 * udmabuf_ext_user_fill() - take the pages of a user-range item
 * @ctx: the buffer being filled.
 * @item: a validated %UDMABUF_EXT_ITEM_USER item; an unaligned end takes
 *	the whole page it falls in.
 *
 * Each VMA of the range is checked, then pinned with the flags it needs
 * (udmabuf_ext_pin_flags()), all under one mmap_lock; COPY checks them all,
 * then copies without the lock.
 *
 * Return: 0 or a negative errno; pages taken stay in the buffer either way.
 */
int udmabuf_ext_user_fill(struct udmabuf_ext_fill_ctx *ctx,
			  const struct udmabuf_ext_item *item)
{
	struct udmabuf_ext_buf *buf = ctx->buf;
	struct mm_struct *mm = current->mm;
	unsigned long start = ALIGN_DOWN(item->start, PAGE_SIZE);
	unsigned long end = PAGE_ALIGN(item->start + item->size);
	unsigned long addr = start;
	int ret = 0;

	buf->source |= UDMABUF_EXT_SOURCE_USER;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		unsigned long next;

		if (!vma) {
			ret = -EFAULT;		/* a hole */
			break;
		}
		ret = udmabuf_ext_vma_source(vma, ctx->write, buf->mode);
		if (ret < 0)
			break;
		buf->source |= ret;
		ret = 0;
		next = min(end, vma->vm_end);
		if (buf->mode != UDMABUF_EXT_MODE_COPY) {
			ret = udmabuf_ext_pin_range(ctx, addr,
						    (next - addr) >> PAGE_SHIFT,
						    udmabuf_ext_pin_flags(vma, ctx->write),
						    NULL);
			if (ret)
				break;
		}
		addr = next;
	}
	mmap_read_unlock(mm);

	/* copy_from_user() may fault: it must not run under mmap_lock. */
	if (!ret && buf->mode == UDMABUF_EXT_MODE_COPY)
		ret = udmabuf_ext_pages_copy(ctx, (end - start) >> PAGE_SHIFT,
					     udmabuf_ext_user_read, &start);
	return ret;
}

/*
 * Lock a range of an mlock()ed VMA whose pages were just zapped back in,
 * with zero-fill pages, as mlock() would have: best effort, as a failure
 * only leaves the range to fault in later, as with MLOCK_ONFAULT.
 */
static void udmabuf_ext_repopulate(struct vm_area_struct *vma,
				   unsigned long start, unsigned long end,
				   struct page **pages)
{
	unsigned int flags = (vma->vm_flags & VM_WRITE) ? FOLL_WRITE : 0;

	if ((vma->vm_flags & (VM_LOCKED | VM_LOCKONFAULT)) != VM_LOCKED)
		return;
	while (start < end) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      UDMABUF_EXT_CHUNK);
		long got = udmabuf_ext_get_user_pages(start, n, flags, pages);

		if (got <= 0)
			return;
		release_pages(pages, got);
		start += got << PAGE_SHIFT;
	}
}

/*
 * Drop the references a lookup took on @n pages: one folio_put_refs() per
 * folio, where release_pages() would drop the 512 of a THP one by one.
 */
static void udmabuf_ext_put_looked_up(struct page **pages, long n)
{
	long i = 0;

	while (i < n) {
		struct folio *folio = page_folio(pages[i]);
		long k = 1;

		while (i + k < n && page_folio(pages[i + k]) == folio)
			k++;
		folio_put_refs(folio, k);
		i += k;
	}
}

/*
 * Give up, in @vma, the pages of [@start, @end) that the buffer holds,
 * walked in order with @cur. Each page table entry is checked to map the
 * page the buffer took; matching stretches are zapped as MADV_DONTNEED does.
 * Returns true if some page was not found where it was taken.
 */
static bool udmabuf_ext_vacate_vma(struct udmabuf_ext_buf *buf,
				   struct udmabuf_ext_cursor *cur,
				   struct vm_area_struct *vma,
				   unsigned long start, unsigned long end,
				   struct page **pages)
{
	unsigned long addr = start, zap = start;
	bool partial = false;

	while (addr < end) {
		unsigned long n = min((end - addr) >> PAGE_SHIFT,
				      UDMABUF_EXT_CHUNK);
		long got, j;

		/*
		 * The lockless walk first: it never faults, and takes a
		 * PMD-mapped THP in one step where get_user_pages() looks up
		 * each subpage. It may take references under the write lock:
		 * it takes no lock. What it cannot walk (a PROT_NONE or
		 * NUMA-hinting entry, say) goes the slow way, with
		 * FOLL_FORCE to look at what is mapped whatever the
		 * protection (a write-only range has no VM_READ, which a
		 * plain lookup needs); nothing is written or faulted in.
		 */
		got = udmabuf_ext_get_fast_only(addr, n, 0, pages);
		if (got <= 0)
			got = udmabuf_ext_get_user_pages(addr, n,
							 FOLL_NOFAULT |
							 FOLL_FORCE, pages);
		if (got <= 0) {
			/* Not mapped any more (or migrating): keep it. */
			got = 1;
			pages[0] = NULL;
		}
		for (j = 0; j < got; j++, addr += PAGE_SIZE) {
			struct page *want = udmabuf_ext_pages_next(&buf->pages,
								   cur);

			if (pages[j] == want)
				continue;
			/* Not the buffer's page: zap up to it, skip it. */
			partial = true;
			if (zap < addr)
				udmabuf_ext_zap(vma, zap, addr - zap);
			zap = addr + PAGE_SIZE;
		}
		if (pages[0])
			udmabuf_ext_put_looked_up(pages, got);
	}
	if (zap < end)
		udmabuf_ext_zap(vma, zap, end - zap);
	udmabuf_ext_repopulate(vma, start, end, pages);
	return partial;
}

/**
 * udmabuf_ext_vacate() - finish a MOVE: the process gives up the pages
 * @buf: a MOVE buffer, filled from @req, not yet visible to anyone.
 * @req: the request.
 *
 * The buffer holds writable, long-term pins of the ranges' pages, which were
 * private anonymous memory. Under mmap_lock held for writing (no fault,
 * madvise(), munmap() or mremap() in between, and with each VMA
 * write-locked, no fault under a per-VMA lock either), each page table
 * entry of the ranges is checked to still map the page the buffer took, and
 * exactly those are zapped, as MADV_DONTNEED does: the VMAs stay, with
 * their flags (mlock, madvise, userfaultfd registration, name), and the
 * process reads zeros there from now on. Anything else (a page that was
 * unmapped, mremap()ed away or replaced since the pin) stays as it is, and
 * the buffer says so with %UDMABUF_EXT_INFO_MOVE_PARTIAL: some of its pages
 * may still be mapped in the process. This cannot fail; MOVE is charged
 * like PIN either way.
 */
void udmabuf_ext_vacate(struct udmabuf_ext_buf *buf,
			const struct udmabuf_ext_request *req)
{
	struct mm_struct *mm = current->mm;
	struct udmabuf_ext_cursor cur;
	bool partial = true;
	struct page **pages;
	u32 i;

	pages = kmalloc_array(UDMABUF_EXT_CHUNK, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		goto out;
	if (mmap_write_lock_killable(mm))
		goto free_pages;
	partial = false;
	udmabuf_ext_pages_first(&buf->pages, &cur);
	for (i = 0; i < req->count; i++) {
		const struct udmabuf_ext_item *item = &req->items[i];
		unsigned long addr = item->start, end = item->start + item->size;

		while (addr < end) {
			struct vm_area_struct *vma = vma_lookup(mm, addr);
			unsigned long next;

			if (!vma) {
				/* A hole now: the buffer alone has the data. */
				udmabuf_ext_pages_next(&buf->pages, &cur);
				partial = true;
				addr += PAGE_SIZE;
				continue;
			}
			next = min(end, vma->vm_end);
			/*
			 * The pages were pinned from private anonymous memory;
			 * anything else mapped here now (a file or hugetlbfs,
			 * which have vm_ops; a driver's PFN mapping, which may
			 * not) holds none of them, and its pages may want
			 * more than a plain put.
			 */
			if (!vma_is_anonymous(vma) ||
			    (vma->vm_flags & (VM_IO | VM_PFNMAP))) {
				for (; addr < next; addr += PAGE_SIZE)
					udmabuf_ext_pages_next(&buf->pages, &cur);
				partial = true;
				continue;
			}
			udmabuf_ext_vma_start_write(vma);
			partial |= udmabuf_ext_vacate_vma(buf, &cur, vma, addr,
							  next, pages);
			addr = next;
		}
	}
	mmap_write_unlock(mm);
free_pages:
	kfree(pages);
out:
	if (partial)
		buf->info_flags |= UDMABUF_EXT_INFO_MOVE_PARTIAL;
}
