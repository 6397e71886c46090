// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: a buffer's pages, kept as runs of physically contiguous pages.
 *
 * The run list is built while a buffer is created, by the memfd source
 * (memfd.c) and the user-range source (user.c), and is immutable once the
 * buffer is exported: readers need no lock.
 *
 * Ownership: a page added to the list belongs to the buffer from then on and
 * is released by udmabuf_ext_put_pages(), on the error path of creation as
 * well as at release. A page holds exactly one of: a FOLL_PIN pin (pinned
 * runs), one folio reference (runs marked UDMABUF_EXT_RUN_REF), or, for a
 * buffer that owns its pages (COPY), its share of a folio the buffer
 * allocated.
 */
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"

/* Words a run list starts with; it doubles from there as runs come in. */
#define UDMABUF_EXT_RUNS_MIN	64

/* Slack the run list keeps rather than reallocate: a cache line. */
#define UDMABUF_EXT_RUNS_SLACK	(64 / sizeof(unsigned long))

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

/**
 * udmabuf_ext_pages_reserve() - make room for more words
 * @p: the run list.
 * @words: words needed.
 *
 * Appending a page takes at most one word and a longer run at most two, so
 * callers reserve before they append and appending cannot fail. The list
 * grows with runs, not pages: a 1 GiB hugetlb buffer needs 1024 words, not
 * 262144.
 *
 * Return: 0 or -ENOMEM.
 */
int udmabuf_ext_pages_reserve(struct udmabuf_ext_pages *p, size_t words)
{
	unsigned long *ent;
	size_t cap;

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
	unsigned long *last = p->nr_runs ? &p->ent[p->last] : NULL;

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

/**
 * udmabuf_ext_pages_first() - a cursor at the first page of a run list
 * @p: the run list, not empty.
 * @cur: the cursor to set.
 */
void udmabuf_ext_pages_first(const struct udmabuf_ext_pages *p,
			     struct udmabuf_ext_cursor *cur)
{
	cur->pos = 0;
	cur->off = 0;
	udmabuf_ext_next_run(p, &cur->pos, &cur->run);
}

/**
 * udmabuf_ext_pages_next() - the cursor's page, then step to the next one
 * @p: the run list.
 * @cur: a cursor set by udmabuf_ext_pages_first(), not past the last page.
 *
 * Return: the page the cursor was at.
 */
struct page *udmabuf_ext_pages_next(const struct udmabuf_ext_pages *p,
				    struct udmabuf_ext_cursor *cur)
{
	struct page *page = nth_page(cur->run.page, cur->off);

	if (++cur->off == cur->run.nr && udmabuf_ext_next_run(p, &cur->pos,
							      &cur->run))
		cur->off = 0;
	return page;
}

/* Largest allocation tried for COPY-mode pages: a PMD-sized folio. */
#define UDMABUF_EXT_COPY_ORDER	min_t(unsigned int, 9, UDMABUF_EXT_MAX_PAGE_ORDER)

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

/**
 * udmabuf_ext_pages_copy() - fill a COPY buffer with pages of its own
 * @ctx: the buffer being filled; it owns its pages.
 * @nr: pages to add.
 * @fill: copies the next pages of the source into @page and the pages
 *	after it (@n of them, one allocation); returns 0 or a negative errno.
 * @arg: passed to @fill.
 *
 * Called without locks: @fill may fault.
 *
 * Return: 0 or a negative errno; pages added stay in the buffer.
 */
int udmabuf_ext_pages_copy(struct udmabuf_ext_fill_ctx *ctx, unsigned long nr,
			   int (*fill)(void *arg, struct page *page,
				       unsigned long n),
			   void *arg)
{
	struct udmabuf_ext_pages *pages = &ctx->buf->pages;

	while (nr) {
		unsigned int order;
		struct page *page;
		unsigned long n;
		int ret;

		if (udmabuf_ext_pages_reserve(pages, 2))
			return -ENOMEM;
		page = udmabuf_ext_alloc_copy_pages(nr, &order);
		if (!page)
			return -ENOMEM;
		n = 1UL << order;
		ret = fill(arg, page, n);
		if (ret) {
			__free_pages(page, order);
			return ret;
		}
		udmabuf_ext_pages_add(pages, page, n, 0);
		atomic_long_add(n, &udmabuf_ext_stats.copied_pages);
		nr -= n;

		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}
