// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: where a buffer's pages come from.
 *
 * Every item, memfd or user range, ends up as a range of the caller's address
 * space: a memfd range is mapped for the duration of the call with vm_mmap().
 * Its pages are then pinned with FOLL_LONGTERM (PIN, MOVE), which migrates
 * them out of ZONE_MOVABLE and CMA first, or copied into pages the buffer
 * allocates (COPY).
 *
 * Ownership: a page added to buf->pages belongs to the buffer from then on
 * and is released by udmabuf_ext_put_pages(), on the error path of creation
 * as well as at release. Pages not yet added are released where they were
 * taken.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

/* Pages pinned per pin_user_pages() call: one page of pointers. */
#define UDMABUF_EXT_CHUNK	(PAGE_SIZE / sizeof(struct page *))

/* Largest allocation tried for COPY-mode pages: a PMD-sized folio. */
#define UDMABUF_EXT_COPY_ORDER	min_t(unsigned int, 9, UDMABUF_EXT_MAX_PAGE_ORDER)

/* Words a run list starts with; it doubles from there as runs come in. */
#define UDMABUF_EXT_RUNS_MIN	64

int udmabuf_ext_pages_init(struct udmabuf_ext_pages *p, unsigned long max_pages)
{
	/* One word more than pages: appending reserves a word ahead. */
	p->cap = min_t(unsigned long, max_pages + 1, UDMABUF_EXT_RUNS_MIN);
	p->ent = kvmalloc_array(p->cap, sizeof(*p->ent), GFP_KERNEL_ACCOUNT);
	if (!p->ent)
		return -ENOMEM;
	p->nr_ent = 0;
	p->nr_pages = 0;
	p->nr_runs = 0;
	p->last = 0;
	return 0;
}

/*
 * Make room for @words more words. Appending a page takes at most one word
 * and a longer run at most two, so callers reserve before they append and
 * appending cannot fail. The list grows with runs, not pages: a 1 GiB
 * hugetlb buffer needs 1024 words, not 262144.
 */
static int udmabuf_ext_pages_reserve(struct udmabuf_ext_pages *p, size_t words)
{
	size_t cap;
	unsigned long *ent;

	if (p->nr_ent + words <= p->cap)
		return 0;
	cap = max(p->cap * 2, p->nr_ent + words);
	ent = kvmalloc_array(cap, sizeof(*ent), GFP_KERNEL_ACCOUNT);
	if (!ent)
		return -ENOMEM;
	memcpy(ent, p->ent, p->nr_ent * sizeof(*ent));
	kvfree(p->ent);
	p->ent = ent;
	p->cap = cap;
	return 0;
}

/* The last run's first word, or NULL. */
static unsigned long *udmabuf_ext_last_run(struct udmabuf_ext_pages *p)
{
	return p->nr_runs ? &p->ent[p->last] : NULL;
}

/**
 * udmabuf_ext_pages_add() - append physically contiguous pages
 * @p: the run list, with room reserved for two more words.
 * @page: the first page.
 * @nr: number of pages.
 * @bits: 0 for pinned or owned pages, UDMABUF_EXT_RUN_REF for referenced
 *	ones.
 *
 * Pages that continue the last run physically, and are held the same way,
 * extend it.
 */
void udmabuf_ext_pages_add(struct udmabuf_ext_pages *p, struct page *page,
			   unsigned long nr, unsigned long bits)
{
	unsigned long *last = udmabuf_ext_last_run(p);

	p->nr_pages += nr;
	if (last && (*last & UDMABUF_EXT_RUN_REF) == bits) {
		bool is_long = *last & UDMABUF_EXT_RUN_LONG;
		struct page *first = (struct page *)(*last & ~UDMABUF_EXT_RUN_BITS);
		unsigned long len = is_long ? last[1] : 1;

		if (page_to_pfn(first) + len == page_to_pfn(page)) {
			if (is_long) {
				last[1] += nr;
			} else {
				*last |= UDMABUF_EXT_RUN_LONG;
				p->ent[p->nr_ent++] = len + nr;
			}
			return;
		}
	}
	p->nr_runs++;
	p->last = p->nr_ent;
	if (nr == 1) {
		p->ent[p->nr_ent++] = (unsigned long)page | bits;
	} else {
		p->ent[p->nr_ent++] = (unsigned long)page | bits |
				      UDMABUF_EXT_RUN_LONG;
		p->ent[p->nr_ent++] = nr;
	}
}

/* Slack the run list keeps rather than reallocate: a cache line. */
#define UDMABUF_EXT_RUNS_SLACK	(64 / sizeof(unsigned long))

/* Give back the room that merged runs did not need. */
void udmabuf_ext_pages_shrink(struct udmabuf_ext_pages *p)
{
	unsigned long *ent;

	if (!p->nr_ent || p->cap - p->nr_ent < UDMABUF_EXT_RUNS_SLACK)
		return;
	ent = kvmalloc_array(p->nr_ent, sizeof(*ent), GFP_KERNEL_ACCOUNT);
	if (!ent)
		return;	/* keep the larger array; it is still correct */
	memcpy(ent, p->ent, p->nr_ent * sizeof(*ent));
	kvfree(p->ent);
	p->ent = ent;
	p->cap = p->nr_ent;
}

void udmabuf_ext_pages_fini(struct udmabuf_ext_pages *p)
{
	kvfree(p->ent);
	p->ent = NULL;
	p->cap = 0;
	p->nr_ent = 0;
}

/*
 * Drop the page references of a run, folio by folio: each page of the run
 * holds one reference on its folio.
 */
static void udmabuf_ext_put_refs(struct udmabuf_ext_run *run, bool dirty)
{
	while (run->nr) {
		struct folio *folio = page_folio(run->page);
		unsigned long n = min_t(unsigned long, run->nr,
					folio_nr_pages(folio) -
					folio_page_idx(folio, run->page));

		if (dirty && !folio_test_dirty(folio))
			set_page_dirty_lock(&folio->page);
		folio_put_refs(folio, n);
		run->page = nth_page(run->page, n);
		run->nr -= n;
	}
}

/**
 * udmabuf_ext_put_pages() - release every page a buffer holds
 * @buf: the buffer; its run list stays allocated.
 *
 * Pinned pages are unpinned per folio, and referenced pages released per
 * folio, dirtied first if the buffer was writable. Owned pages were
 * allocated as whole folios, each starting a run or following the previous
 * folio, and are freed per folio.
 */
void udmabuf_ext_put_pages(struct udmabuf_ext_buf *buf)
{
	struct udmabuf_ext_run run;
	size_t pos = 0;

	atomic_long_sub(buf->pages.nr_pages, buf->owned ?
			&udmabuf_ext_stats.copied_pages :
			&udmabuf_ext_stats.pinned_pages);
	while (udmabuf_ext_next_run(&buf->pages, &pos, &run)) {
		if (run.ref) {
			udmabuf_ext_put_refs(&run, buf->dirty_on_release);
			continue;
		}
		if (!buf->owned) {
			unpin_user_page_range_dirty_lock(run.page, run.nr,
							 buf->dirty_on_release);
			continue;
		}
		while (run.nr) {
			struct folio *folio = page_folio(run.page);
			unsigned long n = folio_nr_pages(folio);

			folio_put(folio);
			run.page = nth_page(run.page, n);
			run.nr -= n;
		}
	}
}

/* Per-item state while a buffer is filled. */
struct udmabuf_ext_fill_ctx {
	struct udmabuf_ext_buf *buf;
	struct page **chunk;
	unsigned long chunk_len;
	unsigned int gup_flags;
	/* For memfd items: pinned pages must belong to this mapping. */
	struct address_space *mapping;
};

/*
 * Check the VMAs that cover [start, end) before pinning from them, so that
 * each refusal has its own errno rather than gup's generic EFAULT.
 * Returns UDMABUF_EXT_SOURCE_* bits or a negative errno.
 */
static int udmabuf_ext_check_vmas(struct mm_struct *mm, unsigned long start,
				  unsigned long end, bool write, u32 mode)
{
	bool move = mode == UDMABUF_EXT_MODE_MOVE;
	bool copy = mode == UDMABUF_EXT_MODE_COPY;
	unsigned long addr = start;
	int source = 0;

	mmap_assert_locked(mm);

	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		struct file *file;

		if (!vma || vma->vm_start > addr)
			return -EFAULT;		/* a hole */
		if (vma->vm_flags & (VM_IO | VM_PFNMAP))
			return -EFAULT;		/* no struct pages behind it */
		if (!(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC)))
			return -EFAULT;		/* PROT_NONE */
		if (write && !(vma->vm_flags & VM_WRITE))
			return -EACCES;
		/*
		 * A read-only pin of a mapping without read permission, as
		 * GUP's slow path refuses it: its lockless walk cannot tell
		 * (x86 page tables have no write-only pages). COPY reads
		 * with copy_from_user(), which can.
		 */
		if (!write && !copy && !(vma->vm_flags & VM_READ))
			return -EFAULT;
		if (vma_is_fsdax(vma))
			return -EOPNOTSUPP;

		file = vma->vm_file;
		if (is_vm_hugetlb_page(vma)) {
			source |= UDMABUF_EXT_SOURCE_HUGETLB;
		} else if (vma_is_anonymous(vma)) {
			source |= UDMABUF_EXT_SOURCE_ANON;
		} else if (file &&
			   file_inode(file)->i_sb->s_magic == TMPFS_MAGIC) {
			source |= UDMABUF_EXT_SOURCE_SHMEM;
		} else {
			/*
			 * Page cache of a real file: a device writing to it
			 * behind writeback's back corrupts the file system,
			 * so only read-only pins are allowed when the mapping
			 * is shared (private ones COW on a write pin).
			 */
			if (write && (vma->vm_flags & VM_SHARED))
				return -EOPNOTSUPP;
			source |= UDMABUF_EXT_SOURCE_FILE;
		}
		/* Only private anonymous pages can be taken from a process. */
		if (move && (!vma_is_anonymous(vma) || is_vm_hugetlb_page(vma)))
			return -EOPNOTSUPP;

		addr = vma->vm_end;
	}
	return source;
}

/*
 * Pin @nr pages at @start into the buffer. Called with mmap_lock held.
 *
 * Without FOLL_LONGTERM in @gup_flags (hugetlb, see udmabuf_ext_add_range()),
 * nothing migrates the pages, so a page that a long-term pin must not hold
 * (ZONE_MOVABLE, CMA) fails the call instead.
 */
static int udmabuf_ext_pin_range(struct udmabuf_ext_fill_ctx *ctx,
				 unsigned long start, unsigned long nr,
				 unsigned int gup_flags)
{
	bool check_pinnable = !(gup_flags & FOLL_LONGTERM);
	struct udmabuf_ext_buf *buf = ctx->buf;

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
		 * (not present, not writable yet, to be migrated) goes the
		 * slow way, which faults it in.
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
			/*
			 * The memfd was mapped by us, but another thread can
			 * replace that mapping: make sure the pages are the
			 * file's.
			 */
			if (ctx->mapping && folio->mapping != ctx->mapping) {
				ret = -EFAULT;
				break;
			}
			if (check_pinnable && !folio_is_longterm_pinnable(folio)) {
				ret = -ENOMEM;
				break;
			}
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
		nr -= got;
	}
	return 0;
}

/* Allocate a folio for COPY mode, as large as @nr pages allow. */
static struct page *udmabuf_ext_alloc_copy_pages(unsigned long nr,
						 unsigned int *order)
{
	unsigned int o = min_t(unsigned int, ilog2(nr), UDMABUF_EXT_COPY_ORDER);
	struct page *page;

	for (;; o = o > 4 ? 4 : 0) {
		gfp_t gfp = GFP_HIGHUSER | __GFP_ACCOUNT | __GFP_NOWARN;

		if (o)
			gfp |= __GFP_COMP | __GFP_NORETRY;
		page = alloc_pages(gfp, o);
		if (page || !o)
			break;
	}
	*order = o;
	return page;
}

/* Copy @nr pages at @start into pages the buffer owns. No locks held. */
static int udmabuf_ext_copy_range(struct udmabuf_ext_fill_ctx *ctx,
				  unsigned long start, unsigned long nr)
{
	struct udmabuf_ext_buf *buf = ctx->buf;

	while (nr) {
		unsigned int order;
		struct page *page;
		unsigned long i, n;

		if (udmabuf_ext_pages_reserve(&buf->pages, 2))
			return -ENOMEM;
		page = udmabuf_ext_alloc_copy_pages(nr, &order);
		if (!page)
			return -ENOMEM;
		n = 1UL << order;
		for (i = 0; i < n; i++) {
			void *dst = kmap_local_page(nth_page(page, i));
			unsigned long left;

			left = copy_from_user(dst, (void __user *)start, PAGE_SIZE);
			kunmap_local(dst);
			if (left) {
				__free_pages(page, order);
				return -EFAULT;
			}
			start += PAGE_SIZE;
		}
		udmabuf_ext_pages_add(&buf->pages, page, n, 0);
		atomic_long_add(n, &udmabuf_ext_stats.copied_pages);
		nr -= n;

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/* Fill from [start, start + nr pages) of the caller's address space. */
static int udmabuf_ext_add_range(struct udmabuf_ext_fill_ctx *ctx,
				 unsigned long start, unsigned long nr)
{
	struct udmabuf_ext_buf *buf = ctx->buf;
	struct mm_struct *mm = current->mm;
	bool write = ctx->gup_flags & FOLL_WRITE;
	unsigned int gup_flags;
	int ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = udmabuf_ext_check_vmas(mm, start, start + (nr << PAGE_SHIFT),
				     write, buf->mode);
	if (ret < 0)
		goto unlock;
	if (!ctx->mapping)
		buf->source |= ret;

	if (buf->mode == UDMABUF_EXT_MODE_COPY) {
		/* copy_from_user() may fault: it must not run under mmap_lock. */
		mmap_read_unlock(mm);
		return udmabuf_ext_copy_range(ctx, start, nr);
	}
	/*
	 * GUP cannot migrate hugetlb pages for a long-term pin on 6.1: its
	 * slow path WARNs and fails with ENOMEM on a huge page in ZONE_MOVABLE
	 * or CMA. Pin hugetlb ranges without FOLL_LONGTERM and refuse such
	 * pages ourselves; other pages still migrate as usual.
	 */
	gup_flags = ctx->gup_flags;
	if (ret & UDMABUF_EXT_SOURCE_HUGETLB)
		gup_flags &= ~FOLL_LONGTERM;
	ret = udmabuf_ext_pin_range(ctx, start, nr, gup_flags);
unlock:
	mmap_read_unlock(mm);
	return ret;
}

/* The seals a memfd's inode carries, or NULL if it is no shmem/hugetlbfs file. */
static unsigned int *udmabuf_ext_memfd_seals(struct file *file,
					     unsigned long *align, u32 *source)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return NULL;
	switch (inode->i_sb->s_magic) {
	case TMPFS_MAGIC:
		*align = PAGE_SIZE;
		*source = UDMABUF_EXT_SOURCE_SHMEM;
		return &SHMEM_I(inode)->seals;
#ifdef CONFIG_HUGETLBFS
	case HUGETLBFS_MAGIC:
		*align = huge_page_size(hstate_inode(inode));
		*source = UDMABUF_EXT_SOURCE_HUGETLB;
		return &HUGETLBFS_I(inode)->seals;
#endif
	}
	return NULL;
}

static bool udmabuf_ext_seals_ok(const unsigned int *seals)
{
	unsigned int s = READ_ONCE(*seals);

	return (s & F_SEAL_SHRINK) && !(s & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE));
}

/* Folio references a buffer may add: far from overflowing the count. */
#define UDMABUF_EXT_MAX_FOLIO_REFS	(INT_MAX / 2)

/*
 * Take page-cache folios of a memfd by reference, from page @index on, up to
 * @nr pages: no mapping, no fault, a lookup per folio. It stops at the first
 * page it cannot take this way and returns the number of pages taken (or a
 * negative errno); the caller maps and pins the rest, which faults in what
 * is missing or swapped out, zeroes what fallocate() left unwritten, and
 * migrates (or, for hugetlb, refuses) what sits in ZONE_MOVABLE or CMA.
 *
 * The seals are checked under the inode lock, which F_ADD_SEALS takes
 * exclusively, and the references taken before it is released; from then
 * on memfd_wait_for_pins() counts them and F_SEAL_WRITE fails with EBUSY.
 */
static long udmabuf_ext_memfd_refs(struct udmabuf_ext_fill_ctx *ctx,
				   struct file *file, const unsigned int *seals,
				   pgoff_t index, unsigned long nr)
{
	struct udmabuf_ext_pages *pages = &ctx->buf->pages;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = file_inode(file);
	unsigned int shift = udmabuf_ext_cache_shift(inode);
	pgoff_t next = index >> shift, end = (index + nr - 1) >> shift;
	struct folio_batch fbatch;
	unsigned long taken = 0;
	bool stop = false;
	long ret = 0;

	folio_batch_init(&fbatch);
	/* inode_lock_shared(), killable: 6.1 has no helper for it. */
	if (down_read_killable(&inode->i_rwsem))
		return -EINTR;
	if (!udmabuf_ext_seals_ok(seals)) {
		ret = -EINVAL;
		goto unlock;
	}
	while (!stop && taken < nr) {
		unsigned int i, got;

		/* Holes are skipped here, and caught below as a gap. */
		got = filemap_get_folios(mapping, &next, end, &fbatch);
		if (!got)
			break;
		for (i = 0; i < got; i++) {
			struct folio *folio = fbatch.folios[i];
			pgoff_t first = folio->index << shift;
			pgoff_t want = index + taken;
			unsigned long off, n;

			if (stop || folio->mapping != mapping ||
			    want < first ||
			    want >= first + folio_nr_pages(folio) ||
			    !folio_test_uptodate(folio) ||
			    folio_test_hwpoison(folio) ||
			    (folio_test_large(folio) &&
			     folio_test_has_hwpoisoned(folio)) ||
			    !folio_is_longterm_pinnable(folio) ||
			    folio_ref_count(folio) > UDMABUF_EXT_MAX_FOLIO_REFS) {
				stop = true;
				folio_put(folio);
				continue;
			}
			ret = udmabuf_ext_pages_reserve(pages, 2);
			if (ret) {
				stop = true;
				folio_put(folio);
				continue;
			}
			off = want - first;
			n = min(folio_nr_pages(folio) - off, nr - taken);
			/* The lookup's reference is the first page's. */
			if (n > 1)
				folio_ref_add(folio, n - 1);
			udmabuf_ext_pages_add(pages, folio_page(folio, off), n,
					      UDMABUF_EXT_RUN_REF);
			atomic_long_add(n, &udmabuf_ext_stats.pinned_pages);
			taken += n;
		}
		folio_batch_init(&fbatch);
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		if (ret)
			break;
		cond_resched();
	}
unlock:
	inode_unlock_shared(inode);
	return ret ? ret : taken;
}

/* Tries at unmapping a temporary mapping. */
#define UDMABUF_EXT_UNMAP_TRIES	8

/*
 * Unmap the temporary mapping of a memfd. On 6.1 unmapping allocates (maple
 * tree nodes) and can fail for a moment: retry. It can also keep failing:
 * the mapping may have merged with the caller's own mappings of the file,
 * and unmapping its middle needs a split that vm.max_map_count refuses.
 * Then the create fails, and the mapping, of the caller's own file, stays.
 */
static int udmabuf_ext_unmap_temp(unsigned long addr, unsigned long len)
{
	int i, ret;

	for (i = 0; i < UDMABUF_EXT_UNMAP_TRIES; i++) {
		ret = vm_munmap(addr, len);
		if (ret != -ENOMEM)
			break;
		cond_resched();
	}
	return ret;
}

/*
 * Fill from a memfd range: by reference from the page cache as far as that
 * goes, then by mapping the rest for the call and pinning it.
 *
 * In the mapped part, the seals are checked without the inode lock, which
 * cannot be held across vm_mmap(): hugetlbfs takes it under mmap_lock. The
 * check is race-free all the same. Seals are only ever added. F_SEAL_SHRINK,
 * once seen, keeps the range inside the file. The writable shared mapping
 * made here makes F_ADD_SEALS(F_SEAL_WRITE) fail with EBUSY until it is
 * unmapped, and after that the pins do. A write seal added before the
 * mapping fails vm_mmap() (or the check after it). F_SEAL_FUTURE_WRITE added
 * after the check is an ordinary seal added after creation: like existing
 * writable mappings, the buffer keeps working.
 */
static int udmabuf_ext_add_memfd(struct udmabuf_ext_fill_ctx *ctx,
				 const struct udmabuf_ext_item *item)
{
	bool write = ctx->gup_flags & FOLL_WRITE;
	unsigned long align, maddr, mstart, mlen;
	u64 start = item->start, size = item->size;
	unsigned int *seals;
	struct file *file;
	u32 source;
	long ret;

	file = fget(item->memfd);
	if (!file)
		return -EBADF;

	ret = -EBADFD;
	seals = udmabuf_ext_memfd_seals(file, &align, &source);
	if (!seals)
		goto put_file;
	ret = -EINVAL;
	if (!udmabuf_ext_seals_ok(seals))
		goto put_file;
	if (start + size > i_size_read(file_inode(file)))
		goto put_file;
	ret = 0;
	if (!size)
		goto put_file;
	/* What mmap() requires of the file, whichever way pages are taken. */
	ret = -EACCES;
	if (!(file->f_mode & FMODE_READ) ||
	    (write && (!(file->f_mode & FMODE_WRITE) ||
		       IS_APPEND(file_inode(file)))))
		goto put_file;
	ctx->buf->source |= source;

	/* COPY reads through the mapping: the buffer's pages are its own. */
	if (!ctx->buf->owned) {
		ret = udmabuf_ext_memfd_refs(ctx, file, seals,
					     start >> PAGE_SHIFT,
					     size >> PAGE_SHIFT);
		if (ret < 0)
			goto put_file;
		start += (u64)ret << PAGE_SHIFT;
		size -= (u64)ret << PAGE_SHIFT;
		ret = 0;
		if (!size)
			goto put_file;
	}

	/* hugetlbfs maps whole huge pages only: map around the range. */
	mstart = ALIGN_DOWN(start, align);
	mlen = ALIGN(start + size, align) - mstart;
	/*
	 * MAP_POPULATE fills the page tables with read faults, which map
	 * neighbouring pages of the page cache too (fault-around): far fewer
	 * faults than the pin taking one write fault per page.
	 */
	maddr = vm_mmap(file, 0, mlen, PROT_READ | (write ? PROT_WRITE : 0),
			MAP_SHARED | MAP_POPULATE, mstart);
	if (IS_ERR_VALUE(maddr)) {
		ret = (long)maddr;
		if (ret == -EPERM)	/* a write seal won the race */
			ret = -EINVAL;
		goto put_file;
	}
	if (!udmabuf_ext_seals_ok(seals)) {
		ret = -EINVAL;
		goto unmap;
	}

	ctx->mapping = file->f_mapping;
	ret = udmabuf_ext_add_range(ctx, maddr + (start - mstart),
				    size >> PAGE_SHIFT);
	ctx->mapping = NULL;
unmap:
	if (udmabuf_ext_unmap_temp(maddr, mlen) && !ret)
		ret = -ENOMEM;
put_file:
	fput(file);
	return ret;
}

/**
 * udmabuf_ext_vacate() - finish a MOVE: leave zero-fill memory behind
 * @req: the request the buffer was made from, in MOVE mode.
 *
 * The pinned pages now belong to the buffer. Each user range is replaced by
 * a fresh private anonymous mapping, as mmap(MAP_FIXED) would, in one step
 * under mmap_lock, so that other threads of the process never see a hole:
 * they read the old pages or zeros. This destroys what the process had in
 * the ranges, so it is the last step of a create, once nothing else can
 * fail: a MOVE that fails earlier leaves them untouched.
 *
 * Replacing a mapping can fail for lack of memory or of mappings, before the
 * old mapping is gone (the range still maps the buffer's pages) or after it
 * (the range is a hole, and only the buffer has the data). Either way the
 * buffer is kept; each range is tried all the same.
 *
 * Return: true if some range could not be replaced.
 */
bool udmabuf_ext_vacate(const struct udmabuf_ext_request *req)
{
	bool partial = false;
	u32 i;

	for (i = 0; i < req->count; i++) {
		const struct udmabuf_ext_item *item = &req->items[i];
		unsigned long addr;

		addr = vm_mmap(NULL, item->start, item->size,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
		if (IS_ERR_VALUE(addr))
			partial = true;
	}
	return partial;
}

/**
 * udmabuf_ext_fill() - take the pages of every item of a request
 * @buf: the new buffer, with an empty run list big enough for the request.
 * @req: the validated request.
 *
 * On error the pages taken so far stay in @buf for the caller to release
 * with udmabuf_ext_put_pages().
 *
 * Return: 0 or a negative errno.
 */
int udmabuf_ext_fill(struct udmabuf_ext_buf *buf,
		     const struct udmabuf_ext_request *req)
{
	struct udmabuf_ext_fill_ctx ctx = { .buf = buf };
	u32 i;
	int ret = 0;

	/* COPY only reads the source; the copy is the buffer's own. */
	ctx.gup_flags = FOLL_LONGTERM;
	if (!(req->flags & UDMABUF_EXT_FLAGS_READ_ONLY) &&
	    buf->mode != UDMABUF_EXT_MODE_COPY)
		ctx.gup_flags |= FOLL_WRITE;

	/* Pointers for one pin call: allocated by the first that needs it. */
	ctx.chunk_len = min_t(unsigned long, req->nr_pages, UDMABUF_EXT_CHUNK);

	for (i = 0; i < req->count && !ret; i++) {
		const struct udmabuf_ext_item *item = &req->items[i];
		unsigned long start, end;

		if (item->kind == UDMABUF_EXT_ITEM_MEMFD) {
			buf->source |= UDMABUF_EXT_SOURCE_MEMFD;
			ret = udmabuf_ext_add_memfd(&ctx, item);
			continue;
		}
		buf->source |= UDMABUF_EXT_SOURCE_USER;
		start = ALIGN_DOWN(item->start, PAGE_SIZE);
		end = PAGE_ALIGN(item->start + item->size);
		ret = udmabuf_ext_add_range(&ctx, start,
					    (end - start) >> PAGE_SHIFT);
	}

	kfree(ctx.chunk);
	return ret;
}
