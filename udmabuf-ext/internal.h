/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * udmabuf-ext internal interfaces.
 */
#ifndef UDMABUF_EXT_INTERNAL_H
#define UDMABUF_EXT_INTERNAL_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "udmabuf-ext.h"	/* uapi */

struct pid;

/**
 * struct udmabuf_ext_pages - the pages of a buffer, as runs
 * @ent: the runs. A run of one page is a single word holding its struct page
 *	pointer. A longer run of physically contiguous pages is two words: the
 *	first page's pointer with bit 0 set, then the number of pages. A 4 KiB
 *	page thus costs at most 8 bytes, a 2 MiB huge page 16 bytes in all.
 *	Bit 1 of the pointer word marks a run held by page references rather
 *	than FOLL_PIN pins (page-cache pages of a memfd, see pin.c).
 * @nr_ent: words used in @ent.
 * @cap: words allocated for @ent.
 * @nr_pages: pages in all runs.
 * @nr_runs: number of runs.
 * @last: index in @ent of the last run's first word, while there is one (a
 *	run's second word can look like a first word: it cannot be found by
 *	looking back).
 *
 * Built while the buffer is created, growing with the runs, and shrunk to
 * fit; immutable afterwards, so readers need no lock. Runs are walked in
 * order with udmabuf_ext_next_run().
 */
struct udmabuf_ext_pages {
	unsigned long *ent;
	size_t nr_ent;
	size_t cap;
	unsigned long nr_pages;
	unsigned long nr_runs;
	size_t last;
};

#define UDMABUF_EXT_RUN_LONG	1UL
#define UDMABUF_EXT_RUN_REF	2UL
#define UDMABUF_EXT_RUN_BITS	(UDMABUF_EXT_RUN_LONG | UDMABUF_EXT_RUN_REF)

/**
 * struct udmabuf_ext_run - one run of physically contiguous pages
 * @page: the first page.
 * @nr: the number of pages, at least 1.
 * @ref: each page holds a page reference, not a pin.
 */
struct udmabuf_ext_run {
	struct page *page;
	unsigned long nr;
	bool ref;
};

static inline bool udmabuf_ext_next_run(const struct udmabuf_ext_pages *p,
					size_t *pos,
					struct udmabuf_ext_run *run)
{
	unsigned long w;

	if (*pos >= p->nr_ent)
		return false;
	w = p->ent[(*pos)++];
	run->page = (struct page *)(w & ~UDMABUF_EXT_RUN_BITS);
	run->nr = (w & UDMABUF_EXT_RUN_LONG) ? p->ent[(*pos)++] : 1;
	run->ref = w & UDMABUF_EXT_RUN_REF;
	return true;
}

/**
 * struct udmabuf_ext_cursor - a position in a run list, page by page
 * @pos: the word after the current run.
 * @run: the current run.
 * @off: the page's index in @run.
 */
struct udmabuf_ext_cursor {
	size_t pos;
	struct udmabuf_ext_run run;
	unsigned long off;
};

/* pages.c */
int udmabuf_ext_pages_init(struct udmabuf_ext_pages *p, unsigned long max_pages);
int udmabuf_ext_pages_reserve(struct udmabuf_ext_pages *p, size_t words);
void udmabuf_ext_pages_add(struct udmabuf_ext_pages *p, struct page *page,
			   unsigned long nr, unsigned long bits);
void udmabuf_ext_pages_shrink(struct udmabuf_ext_pages *p);
void udmabuf_ext_pages_fini(struct udmabuf_ext_pages *p);
void udmabuf_ext_pages_first(const struct udmabuf_ext_pages *p,
			     struct udmabuf_ext_cursor *cur);
struct page *udmabuf_ext_pages_next(const struct udmabuf_ext_pages *p,
				    struct udmabuf_ext_cursor *cur);
struct udmabuf_ext_fill_ctx;
int udmabuf_ext_pages_copy(struct udmabuf_ext_fill_ctx *ctx, unsigned long nr,
			   int (*fill)(void *arg, struct page *page,
				       unsigned long n),
			   void *arg);

/**
 * struct udmabuf_ext_charge - what a buffer was charged, and to whom
 * @user: the user whose locked_vm holds @locked pages against
 *	RLIMIT_MEMLOCK (get_uid()); NULL if nothing was, or the creator had
 *	CAP_IPC_LOCK.
 * @mm: the creator's mm, whose pinned_vm shows @locked pages (mmgrab());
 *	NULL if @locked is 0.
 * @locked: pages of a buffer of the extended ABI, all of them.
 * @uid: the user whose user_limit_mb counts @counted pages.
 * @counted: pages of a buffer of the upstream ABI; 0 with CAP_IPC_LOCK.
 *
 * See account.c for the rules.
 */
struct udmabuf_ext_charge {
	struct user_struct *user;
	struct mm_struct *mm;
	unsigned long locked;
	kuid_t uid;
	unsigned long counted;
};

/**
 * struct udmabuf_ext_buf - one exported buffer
 * @pages: the buffer's pages; immutable once exported.
 * @owned: the pages were allocated by the buffer (COPY mode) and are freed
 *	with it; otherwise each page holds one FOLL_PIN pin or, in runs marked
 *	UDMABUF_EXT_RUN_REF, one page reference taken at creation.
 * @dirty_on_release: the pages may have been written and are dirtied when
 *	released.
 * @data_offset: where the first item's first byte sits in the first page.
 *	Informational: every view of the buffer starts at the first page.
 * @mode: UDMABUF_EXT_MODE_PIN, _COPY or _MOVE.
 * @source: UDMABUF_EXT_SOURCE_* bits.
 * @info_flags: UDMABUF_EXT_INFO_* bits.
 * @charge: what the buffer was charged (account.c), returned at release.
 * @owner: the creating thread group.
 * @id: unique id, for debugfs and the info ioctl.
 * @dmabuf: the exported dma-buf.
 * @node: entry in the global buffer list, under udmabuf_ext_list_lock.
 * @lock: protects @attachments, @nr_attachments, each attachment's mapped
 *	tables, and @vaddr.
 * @attachments: list of &struct udmabuf_ext_attachment.
 * @nr_attachments: length of @attachments.
 * @vaddr: kernel mapping of the pages while vmapped (the dma-buf core counts
 *	vmap users, so the exporter sees one vmap at a time).
 */
struct udmabuf_ext_buf {
	struct udmabuf_ext_pages pages;
	bool owned;
	bool dirty_on_release;
	u32 data_offset;
	u32 mode;
	u32 source;
	u32 info_flags;
	struct udmabuf_ext_charge charge;
	struct pid *owner;
	u64 id;
	struct dma_buf *dmabuf;
	struct list_head node;

	struct mutex lock;	/* see above: attachments and vmap state */
	struct list_head attachments;
	unsigned int nr_attachments;
	void *vaddr;
};

/**
 * struct udmabuf_ext_stats - module-wide counters, shown in sysfs
 * @buffers: live buffers.
 * @pages: pages held by live buffers.
 * @pinned_pages: pages holding a FOLL_PIN pin or a page reference of ours.
 * @charged_pages: pages of buffers of the extended ABI, in their creators'
 *	VmPin and (without CAP_IPC_LOCK) their users' locked_vm.
 * @user_pages: pages of buffers of the upstream ABI, counted against their
 *	users' user_limit_mb.
 * @users: users with pages counted against user_limit_mb.
 * @copied_pages: pages owned by COPY-mode buffers.
 * @moved_pages: pages taken by MOVE-mode buffers.
 * @meta_bytes: kernel memory describing live buffers.
 * @attachments: importers attached to live buffers.
 * @mappings: tables mapped for importers.
 * @vmaps: live kernel mappings of buffers.
 */
struct udmabuf_ext_stats {
	atomic_long_t buffers;
	atomic_long_t pages;
	atomic_long_t pinned_pages;
	atomic_long_t charged_pages;
	atomic_long_t user_pages;
	atomic_long_t users;
	atomic_long_t copied_pages;
	atomic_long_t moved_pages;
	atomic_long_t meta_bytes;
	atomic_long_t attachments;
	atomic_long_t mappings;
	atomic_long_t vmaps;
};

extern struct udmabuf_ext_stats udmabuf_ext_stats;

/**
 * struct udmabuf_ext_request - a validated create request
 * @items: the items, kernel copy.
 * @count: number of @items.
 * @flags: UDMABUF_EXT_FLAGS_*.
 * @mode: UDMABUF_EXT_MODE_*, AUTO already resolved.
 * @dropin: made through the upstream ABI.
 * @nr_pages: pages the buffer will have.
 * @nr_locked: of those, pages charged to RLIMIT_MEMLOCK: all of them for
 *	the extended ABI, none for the upstream one (see account.c).
 * @data_offset: offset of the first byte in the first page.
 * @results: for the extended ABI, the user address the results are copied
 *	to (struct udmabuf_ext_create), which a MOVE must not take.
 */
struct udmabuf_ext_request {
	const struct udmabuf_ext_item *items;
	u32 count;
	u32 flags;
	u32 mode;
	bool dropin;
	unsigned long nr_pages;
	unsigned long nr_locked;
	u32 data_offset;
	unsigned long results;
};

/**
 * struct udmabuf_ext_fill_ctx - state while a buffer's pages are taken
 * @buf: the new buffer.
 * @chunk: page pointers for one pin call, allocated by the first call that
 *	needs them.
 * @chunk_len: entries in @chunk.
 * @write: devices may write the pages.
 * @no_temp_map: a temporary mapping to migrate memfd pages could not be
 *	made for this create; do not try again (memfd.c, before 6.11).
 */
struct udmabuf_ext_fill_ctx {
	struct udmabuf_ext_buf *buf;
	struct page **chunk;
	unsigned long chunk_len;
	bool write;
	bool no_temp_map;
};

/**
 * struct udmabuf_ext_expect - the file pages a pinned range must map
 * @mapping: the file's page cache.
 * @index: the page index in the file of the range's first page.
 */
struct udmabuf_ext_expect {
	struct address_space *mapping;
	pgoff_t index;
};

/* Folio references a buffer may add: far from overflowing the count. */
#define UDMABUF_EXT_MAX_FOLIO_REFS	(INT_MAX / 2)

/* Module parameters (main.c). */
extern unsigned int udmabuf_ext_size_limit_mb;
extern unsigned int udmabuf_ext_list_limit;
extern unsigned long udmabuf_ext_user_limit_mb;
extern unsigned int udmabuf_ext_auto_copy_max_kb;

/* buffer.c */
struct dma_buf *udmabuf_ext_export(struct udmabuf_ext_request *req);
bool udmabuf_ext_is_ours(const struct dma_buf *dmabuf);
void udmabuf_ext_fill_info(struct udmabuf_ext_buf *buf,
			   struct udmabuf_ext_info *info);
int udmabuf_ext_debugfs_show(struct seq_file *m, void *unused);

/* pages.c: see above. */
void udmabuf_ext_put_pages(struct udmabuf_ext_buf *buf);

/* user.c */
int udmabuf_ext_user_fill(struct udmabuf_ext_fill_ctx *ctx,
			  const struct udmabuf_ext_item *item);
int udmabuf_ext_pin_range(struct udmabuf_ext_fill_ctx *ctx,
			  unsigned long start, unsigned long nr,
			  unsigned int gup_flags,
			  const struct udmabuf_ext_expect *expect);
void udmabuf_ext_vacate(struct udmabuf_ext_buf *buf,
			const struct udmabuf_ext_request *req);

/* memfd.c */
int udmabuf_ext_memfd_fill(struct udmabuf_ext_fill_ctx *ctx,
			   const struct udmabuf_ext_item *item);

/* account.c */
int udmabuf_ext_charge(struct udmabuf_ext_charge *c, unsigned long locked,
		       unsigned long counted);
void udmabuf_ext_uncharge(struct udmabuf_ext_charge *c);
int udmabuf_ext_users_show(struct seq_file *m, void *unused);

#endif /* UDMABUF_EXT_INTERNAL_H */
