// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: the exported buffer and its dma_buf_ops.
 *
 * Lifetime: a buffer is created by udmabuf_ext_export() and lives as long as
 * its dma-buf file: every importer attachment, mmap and fd holds a reference
 * to that file, so the release op runs when all of them are gone. The pages,
 * the RLIMIT_MEMLOCK charge and the owner pid are held until then.
 *
 * Views: every view of a buffer covers the same whole pages from the first
 * one: the scatterlist (whose addresses and lengths are PAGE_SIZE aligned,
 * as include/linux/dma-buf.h requires of map_dma_buf), the page arrays
 * importers build from it, vmap and mmap. The first item's data starts
 * data_offset bytes into the first page in all of them.
 *
 * Locking: buf->lock protects the attachment list, each attachment's mapped
 * tables and the kernel mapping. It is taken inside the dma-buf core's locks
 * (dmabuf->lock or the reservation lock, depending on the kernel version) and
 * takes none of its own. udmabuf_ext_list_lock protects the list of live
 * buffers and nests outside buf->lock.
 */
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "internal.h"

struct udmabuf_ext_stats udmabuf_ext_stats;

static LIST_HEAD(udmabuf_ext_list);
static DEFINE_MUTEX(udmabuf_ext_list_lock);
static atomic64_t udmabuf_ext_next_id;

/**
 * struct udmabuf_ext_attachment - one importer's view of a buffer
 * @node: entry in &udmabuf_ext_buf.attachments.
 * @dev: the importing device.
 * @mappings: the tables mapped for @dev, &struct udmabuf_ext_mapping.
 */
struct udmabuf_ext_attachment {
	struct list_head node;
	struct device *dev;
	struct list_head mappings;
};

/**
 * struct udmabuf_ext_mapping - one table returned by map_dma_buf
 * @node: entry in &udmabuf_ext_attachment.mappings.
 * @sgt: the table, mapped for the attachment's device.
 * @dir: the direction @sgt was mapped with; syncs and the unmap use it.
 *
 * Each map_dma_buf call builds and maps a table of its own, as the dma-buf
 * documentation expects of an exporter that does not cache them, so one
 * attachment may have several at once.
 */
struct udmabuf_ext_mapping {
	struct list_head node;
	struct sg_table sgt;
	enum dma_data_direction dir;
};

static size_t udmabuf_ext_meta_bytes(const struct udmabuf_ext_buf *buf)
{
	return sizeof(*buf) + buf->pages.cap * sizeof(*buf->pages.ent);
}

static int udmabuf_ext_attach(struct dma_buf *dmabuf,
			      struct dma_buf_attachment *attach)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;
	struct udmabuf_ext_attachment *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->dev = attach->dev;
	INIT_LIST_HEAD(&a->mappings);
	attach->priv = a;

	mutex_lock(&buf->lock);
	list_add(&a->node, &buf->attachments);
	buf->nr_attachments++;
	mutex_unlock(&buf->lock);
	atomic_long_inc(&udmabuf_ext_stats.attachments);
	return 0;
}

/* Unmap and free a mapped table. */
static void udmabuf_ext_unmap_one(struct udmabuf_ext_buf *buf,
				  struct udmabuf_ext_attachment *a,
				  struct udmabuf_ext_mapping *m)
{
	lockdep_assert_held(&buf->lock);

	list_del(&m->node);
	/* Unmap as mapped, whatever direction the importer passes. */
	dma_unmap_sgtable(a->dev, &m->sgt, m->dir, 0);
	sg_free_table(&m->sgt);
	kfree(m);
	atomic_long_dec(&udmabuf_ext_stats.mappings);
}

/*
 * An importer must unmap its tables before it detaches. One that does not
 * would leave the device's mappings (IOMMU entries, swiotlb bounce buffers)
 * behind for ever: unmap them here, and say so once.
 */
static void udmabuf_ext_detach(struct dma_buf *dmabuf,
			       struct dma_buf_attachment *attach)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;
	struct udmabuf_ext_attachment *a = attach->priv;
	struct udmabuf_ext_mapping *m, *tmp;

	mutex_lock(&buf->lock);
	if (!list_empty(&a->mappings))
		dev_warn_once(a->dev, "udmabuf-ext: detached with tables still mapped; unmapping them\n");
	list_for_each_entry_safe(m, tmp, &a->mappings, node)
		udmabuf_ext_unmap_one(buf, a, m);
	list_del(&a->node);
	buf->nr_attachments--;
	mutex_unlock(&buf->lock);
	atomic_long_dec(&udmabuf_ext_stats.attachments);
	kfree(a);
}

/*
 * Build the scatterlist for a device whose segments may not exceed @max_seg
 * bytes (a multiple of PAGE_SIZE). Each run becomes as few entries as that
 * allows, so a huge page is one entry when the device accepts it. Every
 * entry starts and ends on a page boundary.
 */
static int udmabuf_ext_build_sgt(struct udmabuf_ext_buf *buf,
				 struct sg_table *sgt, unsigned int max_seg)
{
	struct udmabuf_ext_run run;
	struct scatterlist *sg;
	unsigned int nents = 0;
	size_t pos = 0;
	int ret;

	/* Segments end at multiples of max_seg from the start of each run. */
	while (udmabuf_ext_next_run(&buf->pages, &pos, &run))
		nents += DIV_ROUND_UP(run.nr << PAGE_SHIFT, max_seg);

	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		return ret;

	sg = sgt->sgl;
	pos = 0;
	while (udmabuf_ext_next_run(&buf->pages, &pos, &run)) {
		unsigned long len = run.nr << PAGE_SHIFT, off;

		for (off = 0; off < len; off += max_seg) {
			sg_set_page(sg, nth_page(run.page, off >> PAGE_SHIFT),
				    min_t(unsigned long, len - off, max_seg), 0);
			sg = sg_next(sg);
		}
	}
	return 0;
}

static struct sg_table *udmabuf_ext_map(struct dma_buf_attachment *attach,
					enum dma_data_direction dir)
{
	struct udmabuf_ext_buf *buf = attach->dmabuf->priv;
	struct udmabuf_ext_attachment *a = attach->priv;
	struct udmabuf_ext_mapping *m;
	unsigned int max_seg;
	int ret;

	/*
	 * A read-only buffer may hold pages the owner cannot write: a device
	 * may only read them. With an IOMMU, DMA_TO_DEVICE also makes that
	 * the hardware's rule.
	 */
	if ((buf->info_flags & UDMABUF_EXT_INFO_READ_ONLY) &&
	    dir != DMA_TO_DEVICE)
		return ERR_PTR(-EACCES);

	max_seg = max_t(unsigned int, dma_get_max_seg_size(a->dev) & PAGE_MASK,
			PAGE_SIZE);

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	ret = udmabuf_ext_build_sgt(buf, &m->sgt, max_seg);
	if (ret)
		goto free_mapping;
	/*
	 * The same pages may be in several buffers at once (one memfd range or
	 * user range made into two buffers), so one device may map them twice.
	 * DMA-API debug refuses to track overlapping mappings that sync the CPU
	 * caches themselves; map without the sync and sync explicitly, which
	 * is the same cache maintenance.
	 */
	ret = dma_map_sgtable(a->dev, &m->sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		goto free_table;
	dma_sync_sgtable_for_device(a->dev, &m->sgt, dir);
	m->dir = dir;

	mutex_lock(&buf->lock);
	list_add(&m->node, &a->mappings);
	mutex_unlock(&buf->lock);
	atomic_long_inc(&udmabuf_ext_stats.mappings);
	dev_dbg(a->dev, "udmabuf-ext: buffer %llu mapped, %u segments\n",
		buf->id, m->sgt.nents);
	return &m->sgt;

free_table:
	sg_free_table(&m->sgt);
free_mapping:
	kfree(m);
	return ERR_PTR(ret);
}

static void udmabuf_ext_unmap(struct dma_buf_attachment *attach,
			      struct sg_table *sgt,
			      enum dma_data_direction dir)
{
	struct udmabuf_ext_buf *buf = attach->dmabuf->priv;
	struct udmabuf_ext_attachment *a = attach->priv;
	struct udmabuf_ext_mapping *m;

	mutex_lock(&buf->lock);
	list_for_each_entry(m, &a->mappings, node) {
		if (&m->sgt == sgt) {
			udmabuf_ext_unmap_one(buf, a, m);
			break;
		}
	}
	mutex_unlock(&buf->lock);
}

/*
 * CPU access brackets: hand the pages to the CPU from every device that has
 * them mapped, and back. Under buf->lock so that concurrent callers and
 * concurrent map/unmap see a stable set of mappings.
 */
static int udmabuf_ext_cpu_access(struct dma_buf *dmabuf, bool begin)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;
	struct udmabuf_ext_attachment *a;
	struct udmabuf_ext_mapping *m;

	mutex_lock(&buf->lock);
	list_for_each_entry(a, &buf->attachments, node) {
		list_for_each_entry(m, &a->mappings, node) {
			if (begin)
				dma_sync_sgtable_for_cpu(a->dev, &m->sgt, m->dir);
			else
				dma_sync_sgtable_for_device(a->dev, &m->sgt,
							    m->dir);
		}
	}
	mutex_unlock(&buf->lock);
	return 0;
}

static int udmabuf_ext_begin_cpu_access(struct dma_buf *dmabuf,
					enum dma_data_direction dir)
{
	return udmabuf_ext_cpu_access(dmabuf, true);
}

static int udmabuf_ext_end_cpu_access(struct dma_buf *dmabuf,
				      enum dma_data_direction dir)
{
	return udmabuf_ext_cpu_access(dmabuf, false);
}

/*
 * Map the pages as PFNs: no struct page reference or mapcount is taken, so
 * hugetlb subpages and pages no longer mapped by their owner (MOVE) are
 * safe to map. The mapping holds the dma-buf file, which holds the pages.
 */
static int udmabuf_ext_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;
	unsigned long pgoff = vma->vm_pgoff;
	unsigned long npages = vma_pages(vma);
	struct udmabuf_ext_run run;
	unsigned long idx = 0;
	size_t pos = 0;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (pgoff >= buf->pages.nr_pages ||
	    npages > buf->pages.nr_pages - pgoff)
		return -EINVAL;
	if (buf->info_flags & UDMABUF_EXT_INFO_READ_ONLY) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		udmabuf_ext_vm_flags_clear(vma, VM_MAYWRITE);
	}
	udmabuf_ext_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);

	while (idx < pgoff + npages &&
	       udmabuf_ext_next_run(&buf->pages, &pos, &run)) {
		unsigned long s = max(idx, pgoff);
		unsigned long e = min(idx + run.nr, pgoff + npages);
		int ret;

		if (s < e) {
			ret = remap_pfn_range(vma, vma->vm_start +
					      ((s - pgoff) << PAGE_SHIFT),
					      page_to_pfn(run.page) + (s - idx),
					      (e - s) << PAGE_SHIFT,
					      vma->vm_page_prot);
			if (ret)
				return ret;
		}
		idx += run.nr;
	}
	return 0;
}

/*
 * The kernel mapping of the whole pages, like every other view.
 *
 * Read-only buffers never get here: their ops have no vmap (see below).
 */
static int udmabuf_ext_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;
	unsigned long n = buf->pages.nr_pages, i = 0;
	struct udmabuf_ext_run run;
	struct page **pages;
	size_t pos = 0;
	void *vaddr;
	int ret = 0;

	mutex_lock(&buf->lock);
	if (buf->vaddr) {
		ret = -EBUSY;
		goto unlock;
	}
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		ret = -ENOMEM;
		goto unlock;
	}
	while (udmabuf_ext_next_run(&buf->pages, &pos, &run)) {
		unsigned long j;

		for (j = 0; j < run.nr; j++)
			pages[i++] = nth_page(run.page, j);
	}
	vaddr = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!vaddr) {
		ret = -ENOMEM;
		goto unlock;
	}
	buf->vaddr = vaddr;
	iosys_map_set_vaddr(map, vaddr);
	atomic_long_inc(&udmabuf_ext_stats.vmaps);
unlock:
	mutex_unlock(&buf->lock);
	return ret;
}

static void udmabuf_ext_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;

	mutex_lock(&buf->lock);
	if (buf->vaddr) {
		vunmap(buf->vaddr);
		buf->vaddr = NULL;
		atomic_long_dec(&udmabuf_ext_stats.vmaps);
	}
	mutex_unlock(&buf->lock);
}

static void udmabuf_ext_release(struct dma_buf *dmabuf)
{
	struct udmabuf_ext_buf *buf = dmabuf->priv;
	unsigned long nr = buf->pages.nr_pages;

	mutex_lock(&udmabuf_ext_list_lock);
	list_del(&buf->node);
	mutex_unlock(&udmabuf_ext_list_lock);

	pr_debug("buffer %llu released\n", buf->id);
	udmabuf_ext_put_pages(buf);
	if (buf->mode == UDMABUF_EXT_MODE_MOVE)
		atomic_long_sub(nr, &udmabuf_ext_stats.moved_pages);
	udmabuf_ext_uncharge(&buf->charge);
	atomic_long_sub(nr, &udmabuf_ext_stats.pages);
	atomic_long_sub(udmabuf_ext_meta_bytes(buf),
			&udmabuf_ext_stats.meta_bytes);
	atomic_long_dec(&udmabuf_ext_stats.buffers);

	put_pid(buf->owner);
	udmabuf_ext_pages_fini(&buf->pages);
	mutex_destroy(&buf->lock);
	kfree(buf);
}

static const struct dma_buf_ops udmabuf_ext_dmabuf_ops = {
	.attach = udmabuf_ext_attach,
	.detach = udmabuf_ext_detach,
	.map_dma_buf = udmabuf_ext_map,
	.unmap_dma_buf = udmabuf_ext_unmap,
	.release = udmabuf_ext_release,
	.begin_cpu_access = udmabuf_ext_begin_cpu_access,
	.end_cpu_access = udmabuf_ext_end_cpu_access,
	.mmap = udmabuf_ext_mmap,
	.vmap = udmabuf_ext_vmap,
	.vunmap = udmabuf_ext_vunmap,
};

/*
 * Read-only buffers have no vmap: a vmap user is given no access mode, and a
 * write through a read-only kernel mapping would oops the writer. Without
 * the op, dma_buf_vmap() fails with EINVAL by itself; an exporter's vmap
 * that fails instead trips a WARN in the dma-buf core (6.1).
 */
static const struct dma_buf_ops udmabuf_ext_dmabuf_ro_ops = {
	.attach = udmabuf_ext_attach,
	.detach = udmabuf_ext_detach,
	.map_dma_buf = udmabuf_ext_map,
	.unmap_dma_buf = udmabuf_ext_unmap,
	.release = udmabuf_ext_release,
	.begin_cpu_access = udmabuf_ext_begin_cpu_access,
	.end_cpu_access = udmabuf_ext_end_cpu_access,
	.mmap = udmabuf_ext_mmap,
};

bool udmabuf_ext_is_ours(const struct dma_buf *dmabuf)
{
	return dmabuf->ops == &udmabuf_ext_dmabuf_ops ||
	       dmabuf->ops == &udmabuf_ext_dmabuf_ro_ops;
}

/*
 * Take the pages of every item of @req into @buf, in order. On error the
 * pages taken so far stay in @buf for the caller to release.
 */
static int udmabuf_ext_fill(struct udmabuf_ext_buf *buf,
			    const struct udmabuf_ext_request *req)
{
	struct udmabuf_ext_fill_ctx ctx = {
		.buf = buf,
		/* One pin call's pointers: allocated by the first that needs it. */
		.chunk_len = min_t(unsigned long, req->nr_pages,
				   PAGE_SIZE / sizeof(struct page *)),
		/* COPY only reads the source; the copy is the buffer's own. */
		.write = !(req->flags & UDMABUF_EXT_FLAGS_READ_ONLY) &&
			 buf->mode != UDMABUF_EXT_MODE_COPY,
	};
	int ret = 0;
	u32 i;

	for (i = 0; i < req->count && !ret; i++) {
		const struct udmabuf_ext_item *item = &req->items[i];

		if (item->kind == UDMABUF_EXT_ITEM_MEMFD) {
			buf->source |= UDMABUF_EXT_SOURCE_MEMFD;
			ret = udmabuf_ext_memfd_fill(&ctx, item);
		} else {
			ret = udmabuf_ext_user_fill(&ctx, item);
		}
	}
	kfree(ctx.chunk);
	return ret;
}

/**
 * udmabuf_ext_export() - create a buffer and its dma-buf
 * @req: a validated request.
 *
 * Return: the dma-buf, holding the one reference the caller must install
 * in an fd or put; or an ERR_PTR(), with everything taken undone.
 */
struct dma_buf *udmabuf_ext_export(struct udmabuf_ext_request *req)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct udmabuf_ext_buf *buf;
	struct dma_buf *dmabuf;
	int ret;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&buf->lock);
	INIT_LIST_HEAD(&buf->attachments);
	buf->mode = req->mode;
	buf->data_offset = req->data_offset;
	buf->owned = req->mode == UDMABUF_EXT_MODE_COPY;
	if (req->flags & UDMABUF_EXT_FLAGS_READ_ONLY)
		buf->info_flags |= UDMABUF_EXT_INFO_READ_ONLY;
	else
		buf->dirty_on_release = !buf->owned;
	if (req->dropin)
		buf->info_flags |= UDMABUF_EXT_INFO_DROPIN;

	/* Charged before the pages are taken, so nothing is taken in vain. */
	ret = udmabuf_ext_charge(&buf->charge, req->nr_locked,
				 req->nr_pages - req->nr_locked);
	if (ret)
		goto free_buf;
	ret = udmabuf_ext_pages_init(&buf->pages, req->nr_pages);
	if (ret)
		goto uncharge;
	atomic_long_add(req->nr_pages, &udmabuf_ext_stats.pages);
	ret = udmabuf_ext_fill(buf, req);
	if (ret)
		goto put_pages;
	udmabuf_ext_pages_shrink(&buf->pages);

	if (buf->info_flags & UDMABUF_EXT_INFO_READ_ONLY) {
		exp_info.ops = &udmabuf_ext_dmabuf_ro_ops;
		exp_info.flags = O_RDONLY;
	} else {
		exp_info.ops = &udmabuf_ext_dmabuf_ops;
		exp_info.flags = O_RDWR;
	}
	exp_info.size = buf->pages.nr_pages << PAGE_SHIFT;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto put_pages;
	}

	/* From here on the release op undoes everything. */
	buf->dmabuf = dmabuf;
	buf->owner = get_task_pid(current, PIDTYPE_TGID);
	buf->id = atomic64_inc_return(&udmabuf_ext_next_id);
	if (buf->mode == UDMABUF_EXT_MODE_MOVE)
		atomic_long_add(buf->pages.nr_pages,
				&udmabuf_ext_stats.moved_pages);
	atomic_long_add(udmabuf_ext_meta_bytes(buf),
			&udmabuf_ext_stats.meta_bytes);
	atomic_long_inc(&udmabuf_ext_stats.buffers);

	mutex_lock(&udmabuf_ext_list_lock);
	list_add_tail(&buf->node, &udmabuf_ext_list);
	mutex_unlock(&udmabuf_ext_list_lock);

	pr_debug("buffer %llu: %lu pages in %lu runs, mode %u, source %#x\n",
		 buf->id, buf->pages.nr_pages, buf->pages.nr_runs, buf->mode,
		 buf->source);
	return dmabuf;

put_pages:
	udmabuf_ext_put_pages(buf);
	udmabuf_ext_pages_fini(&buf->pages);
	atomic_long_sub(req->nr_pages, &udmabuf_ext_stats.pages);
uncharge:
	udmabuf_ext_uncharge(&buf->charge);
free_buf:
	mutex_destroy(&buf->lock);
	kfree(buf);
	return ERR_PTR(ret);
}

/*
 * The creator's pid in the caller's namespace, or 0 once it has exited: its
 * number may belong to another process by then.
 */
static pid_t udmabuf_ext_owner_vnr(struct udmabuf_ext_buf *buf)
{
	return pid_has_task(buf->owner, PIDTYPE_TGID) ? pid_vnr(buf->owner) : 0;
}

void udmabuf_ext_fill_info(struct udmabuf_ext_buf *buf,
			   struct udmabuf_ext_info *info)
{
	info->size = buf->pages.nr_pages << PAGE_SHIFT;
	info->data_offset = buf->data_offset;
	info->mode = buf->mode;
	info->source = buf->source;
	info->buf_flags = buf->info_flags;
	info->nr_pages = buf->pages.nr_pages;
	info->nr_segments = buf->pages.nr_runs;
	info->nr_charged = buf->charge.locked;
	info->meta_bytes = udmabuf_ext_meta_bytes(buf);
	info->owner_pid = udmabuf_ext_owner_vnr(buf);
	info->id = buf->id;
	mutex_lock(&buf->lock);
	info->nr_attachments = buf->nr_attachments;
	mutex_unlock(&buf->lock);
}

static const char * const udmabuf_ext_mode_names[] = {
	[UDMABUF_EXT_MODE_PIN] = "pin",
	[UDMABUF_EXT_MODE_COPY] = "copy",
	[UDMABUF_EXT_MODE_MOVE] = "move",
};

int udmabuf_ext_debugfs_show(struct seq_file *m, void *unused)
{
	struct udmabuf_ext_buf *buf;

	seq_puts(m, "id\tpid\tsize\tmode\tsource\tflags\tpages\tsegments\tcharged\tattachments\tvmapped\n");
	mutex_lock(&udmabuf_ext_list_lock);
	list_for_each_entry(buf, &udmabuf_ext_list, node) {
		mutex_lock(&buf->lock);
		seq_printf(m, "%llu\t%d\t%lu\t%s\t%#x\t%#x\t%lu\t%lu\t%lu\t%u\t%d\n",
			   buf->id, udmabuf_ext_owner_vnr(buf),
			   buf->pages.nr_pages << PAGE_SHIFT,
			   udmabuf_ext_mode_names[buf->mode], buf->source,
			   buf->info_flags, buf->pages.nr_pages,
			   buf->pages.nr_runs, buf->charge.locked,
			   buf->nr_attachments, !!buf->vaddr);
		mutex_unlock(&buf->lock);
	}
	mutex_unlock(&udmabuf_ext_list_lock);
	return 0;
}
