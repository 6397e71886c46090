// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: pages from a memfd range (UDMABUF_CREATE, UDMABUF_CREATE_LIST,
 * and UDMABUF_EXT_ITEM_MEMFD items).
 *
 * The pages are taken from the file's page cache, by reference, with nothing
 * mapped into the caller: what the caller's mmap policy (mlockall(),
 * RLIMIT_AS, vm.max_map_count, LSM mmap hooks) allows never changes the
 * result, as with upstream udmabuf.
 *
 * - Pages in the page cache that a long-term pin may hold are taken by
 *   reference, a batch lookup per folio run (udmabuf_ext_memfd_refs()).
 * - The rest goes through the kernel's own way of filling a memfd
 *   (udmabuf_ext_memfd_slow()): holes are allocated, swapped-out pages read
 *   back, fallocate()d pages zeroed, and pages in ZONE_MOVABLE or CMA
 *   migrated out first, as a FOLL_LONGTERM pin would. From 6.11 that is
 *   memfd_pin_folios(), which the kernel's own udmabuf uses. Before it,
 *   shmem_read_mapping_page_gfp() fills shmem (as upstream 6.1 does),
 *   fallocate() fills hugetlbfs holes, and migration, which only GUP offers
 *   to modules there, goes through a temporary mapping of just the pages to
 *   migrate; if that mapping or pin cannot be had, the pages are taken
 *   unmigrated, as upstream 6.1 takes every page.
 *
 * Seals are checked with the inode lock held shared across the taking of
 * the references: F_ADD_SEALS takes it exclusively, and from then on
 * memfd_wait_for_pins() counts the references, so F_SEAL_WRITE fails with
 * EBUSY while the buffer holds the pages. Seals are only ever added, and
 * F_SEAL_SHRINK, once seen, keeps the range inside the file. Punching a
 * hole (fallocate(PUNCH_HOLE)) removes pages from the file while the buffer
 * still holds them: the buffer keeps the old pages, the file gets new ones,
 * and F_SEAL_WRITE can then succeed. See docs/uapi.md.
 */
#include <linux/bvec.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/uio.h>

#include "compat.h"
#include "internal.h"

/* The seals a memfd's inode carries, or NULL if it is no shmem/hugetlbfs file. */
static unsigned int *udmabuf_ext_memfd_seals(struct file *file, u32 *source)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return NULL;
	switch (inode->i_sb->s_magic) {
	case TMPFS_MAGIC:
		*source = UDMABUF_EXT_SOURCE_SHMEM;
		return &SHMEM_I(inode)->seals;
#ifdef CONFIG_HUGETLBFS
	case HUGETLBFS_MAGIC:
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

/*
 * Can the buffer hold pages of @folio by reference, as it is? It must be the
 * file's, up to date, not poisoned, allowed in a long-term pin, and far from
 * overflowing its reference count.
 */
static bool udmabuf_ext_folio_takeable(struct folio *folio,
				       struct address_space *mapping)
{
	return folio->mapping == mapping && folio_test_uptodate(folio) &&
	       !folio_test_hwpoison(folio) &&
	       !(folio_test_large(folio) && folio_test_has_hwpoisoned(folio)) &&
	       folio_is_longterm_pinnable(folio) &&
	       folio_ref_count(folio) <= UDMABUF_EXT_MAX_FOLIO_REFS;
}

/*
 * Add @nr pages of @folio from @page on, holding the one folio reference
 * the caller passes for the first page and taking one more for each other.
 */
static int udmabuf_ext_memfd_add(struct udmabuf_ext_fill_ctx *ctx,
				 struct folio *folio, struct page *page,
				 unsigned long nr)
{
	int ret = udmabuf_ext_pages_reserve(&ctx->buf->pages, 2);

	if (ret) {
		folio_put(folio);
		return ret;
	}
	if (nr > 1)
		folio_ref_add(folio, nr - 1);
	udmabuf_ext_pages_add(&ctx->buf->pages, page, nr, UDMABUF_EXT_RUN_REF);
	atomic_long_add(nr, &udmabuf_ext_stats.pinned_pages);
	return 0;
}

/* Pages of @folio from the one at file page @index on, at most @nr. */
static unsigned long udmabuf_ext_folio_left(struct folio *folio,
					    unsigned int shift, pgoff_t index,
					    unsigned long nr)
{
	pgoff_t first = folio->index << shift;

	return min_t(unsigned long, folio_nr_pages(folio) - (index - first), nr);
}

/*
 * Take page-cache folios by reference from page @index on, up to @nr pages,
 * as long as they can be taken as they are (udmabuf_ext_folio_takeable()):
 * a lookup per batch of folios. Stops at the first page that cannot.
 * Called with the inode lock held.
 *
 * Return: the number of pages taken, or a negative errno.
 */
static long udmabuf_ext_memfd_refs(struct udmabuf_ext_fill_ctx *ctx,
				   struct file *file, pgoff_t index,
				   unsigned long nr)
{
	struct address_space *mapping = file->f_mapping;
	unsigned int shift = udmabuf_ext_cache_shift(file_inode(file));
	pgoff_t next = index >> shift, end = (index + nr - 1) >> shift;
	struct folio_batch fbatch;
	unsigned long taken = 0;
	bool stop = false;
	int ret = 0;

	lockdep_assert_held(&file_inode(file)->i_rwsem);

	folio_batch_init(&fbatch);
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
			unsigned long n;

			if (stop || want < first ||
			    want >= first + folio_nr_pages(folio) ||
			    !udmabuf_ext_folio_takeable(folio, mapping)) {
				stop = true;
				folio_put(folio);
				continue;
			}
			n = udmabuf_ext_folio_left(folio, shift, want, nr - taken);
			/* The lookup's reference is the first page's. */
			ret = udmabuf_ext_memfd_add(ctx, folio,
						    folio_page(folio, want - first),
						    n);
			if (ret) {
				stop = true;
				continue;
			}
			taken += n;
		}
		folio_batch_init(&fbatch);
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		if (ret)
			break;
		cond_resched();
	}
	return ret ? ret : taken;
}

#ifdef UDMABUF_EXT_HAVE_MEMFD_PIN_FOLIOS

/* Folios per memfd_pin_folios() call: a small array on the stack. */
#define UDMABUF_EXT_PIN_FOLIOS	16

/*
 * 6.11: memfd_pin_folios() allocates holes (shmem and hugetlbfs), reads
 * swapped-out pages back, zeroes fallocate()d ones and migrates what a
 * long-term pin may not hold, exactly as for the kernel's own udmabuf. It
 * pins each folio once; the buffer holds its pages by reference like all
 * the others, so each pin is traded for the references.
 *
 * Takes at least the page at @index, at most @nr pages.
 */
static long udmabuf_ext_memfd_slow(struct udmabuf_ext_fill_ctx *ctx,
				   struct file *file, pgoff_t index,
				   unsigned long nr)
{
	struct folio *folios[UDMABUF_EXT_PIN_FOLIOS];
	unsigned long taken = 0;
	pgoff_t off;
	long got, i;
	int ret = 0;

	got = memfd_pin_folios(file, (loff_t)index << PAGE_SHIFT,
			       ((loff_t)(index + nr) << PAGE_SHIFT) - 1,
			       folios, ARRAY_SIZE(folios), &off);
	if (got < 0)
		return got;
	for (i = 0; i < got; i++) {
		struct folio *folio = folios[i];
		unsigned long first = i ? 0 : off >> PAGE_SHIFT;
		unsigned long n = min_t(unsigned long,
					folio_nr_pages(folio) - first,
					nr - taken);

		if (!ret && folio_ref_count(folio) > UDMABUF_EXT_MAX_FOLIO_REFS)
			ret = -ENOMEM;
		if (!ret) {
			folio_get(folio);
			ret = udmabuf_ext_memfd_add(ctx, folio,
						    folio_page(folio, first), n);
		}
		if (!ret)
			taken += n;
		unpin_folio(folio);
	}
	return ret ? ret : taken;
}

/* memfd_pin_folios() fills hugetlbfs holes itself. */
static int udmabuf_ext_memfd_fill_holes(struct file *file, pgoff_t index,
					unsigned long nr)
{
	return -EINVAL;
}

#else /* !UDMABUF_EXT_HAVE_MEMFD_PIN_FOLIOS */

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

/* Most pages migrated through one temporary mapping: 2 MiB. */
#define UDMABUF_EXT_MIGRATE_PAGES	512

/*
 * Keep the temporary mapping at @addr out of children that another thread
 * forks while it exists. vm_mmap() cannot say so itself, so a fork can
 * still slip in before this; the child then has a read-only view of the
 * caller's own file, as it would of any mapping the caller made.
 */
static void udmabuf_ext_dontcopy(unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_write_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	if (vma)
		udmabuf_ext_vm_flags_set(vma, VM_DONTCOPY);
	mmap_write_unlock(current->mm);
}

/*
 * Migrate shmem pages from @index on (at most @nr, at most
 * UDMABUF_EXT_MIGRATE_PAGES) out of ZONE_MOVABLE or CMA and pin them: before
 * 6.11 only GUP does this for a module, and GUP needs a mapping. The mapping
 * is read-only and shared, of exactly these pages, and lives for this call
 * only; the pins check that the pages are the file's, at the right index, in
 * case another thread replaced it. The inode lock may stay held: shmem takes
 * it neither to map nor to fault (the order is the write(2) path's: i_rwsem,
 * then mmap_lock).
 *
 * The caller's mmap policy (mlockall(MCL_FUTURE) at its RLIMIT_MEMLOCK,
 * RLIMIT_AS, vm.max_map_count, an LSM) may refuse the mapping. The pages are
 * then taken where they are, as upstream 6.1 takes every page, and no other
 * mapping is tried for this create: the result never depends on it, only
 * whether these pages can still move.
 *
 * Return: the pages pinned (0 if the mapping or the pin could not be had),
 * or a negative errno.
 */
static long udmabuf_ext_memfd_migrate(struct udmabuf_ext_fill_ctx *ctx,
				      struct file *file, pgoff_t index,
				      unsigned long nr)
{
	struct udmabuf_ext_expect expect = {
		.mapping = file->f_mapping,
		.index = index,
	};
	unsigned long before = ctx->buf->pages.nr_pages, len, addr;
	int ret;

	if (ctx->no_temp_map)
		return 0;
	nr = min_t(unsigned long, nr, UDMABUF_EXT_MIGRATE_PAGES);
	len = nr << PAGE_SHIFT;
	addr = vm_mmap(file, 0, len, PROT_READ, MAP_SHARED,
		       (unsigned long)index << PAGE_SHIFT);
	if (IS_ERR_VALUE(addr)) {
		ctx->no_temp_map = true;
		return 0;
	}
	udmabuf_ext_dontcopy(addr);
	if (mmap_read_lock_killable(current->mm)) {
		ret = -EINTR;
	} else {
		ret = udmabuf_ext_pin_range(ctx, addr, nr, FOLL_LONGTERM,
					    &expect);
		mmap_read_unlock(current->mm);
	}
	if (udmabuf_ext_unmap_temp(addr, len))
		return -ENOMEM;
	if (ret == -EINTR)
		return ret;
	return ctx->buf->pages.nr_pages - before;
}

/*
 * Read a shmem page into the page cache: allocate a hole, swap in, zero a
 * fallocate()d page. PF_MEMALLOC_PIN keeps what is allocated out of
 * ZONE_MOVABLE and CMA, as memfd_pin_folios() does from 6.11: the buffer
 * will hold it for long.
 */
static struct page *udmabuf_ext_shmem_read(struct address_space *mapping,
					   pgoff_t index)
{
	unsigned int flags = memalloc_pin_save();
	struct page *page;

	page = shmem_read_mapping_page_gfp(mapping, index,
					   mapping_gfp_mask(mapping));
	memalloc_pin_restore(flags);
	return page;
}

/*
 * Before 6.11: take at least the page at @index, at most @nr pages, of a
 * page the lookup of udmabuf_ext_memfd_refs() could not take as it was.
 *
 * Return: the pages taken; -ENODATA for a hugetlbfs hole, to be filled
 * with udmabuf_ext_memfd_fill_holes() without the inode lock; or another
 * negative errno.
 */
static long udmabuf_ext_memfd_slow(struct udmabuf_ext_fill_ctx *ctx,
				   struct file *file, pgoff_t index,
				   unsigned long nr)
{
	struct address_space *mapping = file->f_mapping;
	unsigned int shift = udmabuf_ext_cache_shift(file_inode(file));
	struct folio *folio;
	struct page *page;
	unsigned long n;
	long ret;

	if (file_inode(file)->i_sb->s_magic == TMPFS_MAGIC) {
		page = udmabuf_ext_shmem_read(mapping, index);
		if (IS_ERR(page))
			return PTR_ERR(page);
		folio = page_folio(page);
	} else {
		struct folio_batch fbatch;
		pgoff_t hindex = index >> shift;

		folio_batch_init(&fbatch);
		if (!filemap_get_folios(mapping, &hindex, index >> shift,
					&fbatch))
			return -ENODATA;
		folio = fbatch.folios[0];
		page = folio_page(folio, index - (folio->index << shift));
	}
	n = udmabuf_ext_folio_left(folio, shift, index, nr);

	if (folio_test_hwpoison(folio) ||
	    (folio_test_large(folio) && folio_test_has_hwpoisoned(folio))) {
		ret = -EIO;
		goto put_folio;
	}
	if (folio_ref_count(folio) > UDMABUF_EXT_MAX_FOLIO_REFS) {
		ret = -ENOMEM;
		goto put_folio;
	}
	if (!folio_is_longterm_pinnable(folio)) {
		/*
		 * Mapping hugetlbfs takes the inode lock, and GUP cannot
		 * migrate hugetlb pages for a long-term pin before 6.10
		 * anyway (udmabuf_ext_longterm_hugetlb()): refuse them rather
		 * than block memory offline and CMA for the buffer's life.
		 */
		ret = -ENOMEM;
		if (folio_test_hugetlb(folio))
			goto put_folio;
		folio_put(folio);
		ret = udmabuf_ext_memfd_migrate(ctx, file, index, nr);
		if (ret)
			return ret;
		/* No way to migrate: take the pages as they are. */
		page = udmabuf_ext_shmem_read(mapping, index);
		if (IS_ERR(page))
			return PTR_ERR(page);
		folio = page_folio(page);
		n = udmabuf_ext_folio_left(folio, shift, index, nr);
	}
	ret = udmabuf_ext_memfd_add(ctx, folio, page, n);
	return ret ? ret : n;

put_folio:
	folio_put(folio);
	return ret;
}

/*
 * Allocate the missing huge pages of a hugetlbfs memfd range in its page
 * cache, without mapping anything: fallocate(FALLOC_FL_KEEP_SIZE), as a user
 * would (it needs the fd open for writing). Upstream 6.1 refuses such holes
 * with EINVAL, and so does this without a writable fd. Called without the
 * inode lock, which fallocate() takes exclusively. As with a user's
 * fallocate(), the file's ctime changes, fsnotify sees a modification, and
 * the pages stay in the file even if the create then fails.
 */
static int udmabuf_ext_memfd_fill_holes(struct file *file, pgoff_t index,
					unsigned long nr)
{
	unsigned int flags;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EINVAL;
	/* Huge pages from the pool outside ZONE_MOVABLE and CMA, as above. */
	flags = memalloc_pin_save();
	ret = vfs_fallocate(file, FALLOC_FL_KEEP_SIZE,
			    (loff_t)index << PAGE_SHIFT,
			    (loff_t)nr << PAGE_SHIFT);
	memalloc_pin_restore(flags);
	return ret;
}

#endif /* UDMABUF_EXT_HAVE_MEMFD_PIN_FOLIOS */

/* A COPY buffer's source: a memfd, read from @pos on. */
struct udmabuf_ext_memfd_reader {
	struct file *file;
	loff_t pos;
};

/* Read the next @n pages of the memfd into @page and those after it. */
static int udmabuf_ext_memfd_read(void *arg, struct page *page,
				  unsigned long n)
{
	struct udmabuf_ext_memfd_reader *r = arg;
	size_t len = n << PAGE_SHIFT;
	struct bio_vec bv = {
		.bv_page = page,
		.bv_len = len,
	};
	struct iov_iter iter;
	ssize_t ret;

	iov_iter_bvec(&iter, ITER_DEST, &bv, 1, len);
	ret = vfs_iter_read(r->file, &iter, &r->pos, 0);
	if (ret < 0)
		return ret;
	return ret == len ? 0 : -EIO;
}

/*
 * COPY of a memfd range: read(2) into the buffer's own pages, which reads
 * holes as zeros and takes nothing from the file.
 */
static int udmabuf_ext_memfd_copy(struct udmabuf_ext_fill_ctx *ctx,
				  struct file *file, u64 start, u64 size)
{
	struct udmabuf_ext_memfd_reader r = {
		.file = file,
		.pos = start,
	};

	return udmabuf_ext_pages_copy(ctx, size >> PAGE_SHIFT,
				      udmabuf_ext_memfd_read, &r);
}

/*
 * Take @nr pages from page @index of @file into the buffer. The inode lock
 * is held shared while references are taken, and the seals are checked
 * whenever it is (re)taken.
 */
static int udmabuf_ext_memfd_take(struct udmabuf_ext_fill_ctx *ctx,
				  struct file *file, const unsigned int *seals,
				  pgoff_t index, unsigned long nr)
{
	struct inode *inode = file_inode(file);
	long ret = 0;

	while (nr) {
		/* inode_lock_shared(), killable: 6.1 has no helper for it. */
		if (down_read_killable(&inode->i_rwsem))
			return -EINTR;
		if (!udmabuf_ext_seals_ok(seals))
			ret = -EINVAL;
		while (!ret && nr) {
			ret = udmabuf_ext_memfd_refs(ctx, file, index, nr);
			if (ret == 0)
				ret = udmabuf_ext_memfd_slow(ctx, file, index,
							     nr);
			if (ret > 0) {
				index += ret;
				nr -= ret;
				ret = 0;
			} else if (ret == 0) {
				ret = -EIO;	/* no progress: must not happen */
			}
			if (!ret && fatal_signal_pending(current))
				ret = -EINTR;
			cond_resched();
		}
		inode_unlock_shared(inode);
		if (ret != -ENODATA)
			break;
		ret = udmabuf_ext_memfd_fill_holes(file, index, nr);
		if (ret)
			break;
	}
	return ret;
}

/**
 * udmabuf_ext_memfd_fill() - take the pages of a memfd item
 * @ctx: the buffer being filled.
 * @item: a validated %UDMABUF_EXT_ITEM_MEMFD item (page aligned).
 *
 * Return: 0 or a negative errno; pages taken stay in the buffer either way.
 */
int udmabuf_ext_memfd_fill(struct udmabuf_ext_fill_ctx *ctx,
			   const struct udmabuf_ext_item *item)
{
	u64 start = item->start, size = item->size;
	unsigned int *seals;
	struct file *file;
	u32 source;
	int ret;

	file = fget(item->memfd);
	if (!file)
		return -EBADF;

	ret = -EBADFD;
	seals = udmabuf_ext_memfd_seals(file, &source);
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
	/* What mmap() would require of the file to share it this way. */
	ret = -EACCES;
	if (!(file->f_mode & FMODE_READ) ||
	    (ctx->write && (!(file->f_mode & FMODE_WRITE) ||
			    IS_APPEND(file_inode(file)))))
		goto put_file;
	ctx->buf->source |= source;

	if (ctx->buf->owned)
		ret = udmabuf_ext_memfd_copy(ctx, file, start, size);
	else
		ret = udmabuf_ext_memfd_take(ctx, file, seals,
					     start >> PAGE_SHIFT,
					     size >> PAGE_SHIFT);
put_file:
	fput(file);
	return ret;
}
