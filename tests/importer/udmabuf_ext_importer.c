// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf_ext_importer: a test driver that imports dma-bufs as a device
 * driver does, and shows user space what it was given.
 *
 * Why it exists: the exporter contract of include/linux/dma-buf.h is about
 * what importers see: the scatterlist map_dma_buf returns (PAGE_SIZE
 * aligned addresses and lengths), the kernel mapping vmap returns, a fresh
 * table for each map call, and what happens when an importer detaches with
 * a table still mapped. No importer in the kernel lets user space see a
 * scatterlist, map one attachment twice or detach with a table mapped, so
 * the exporter's side of that contract cannot be tested through them. This
 * driver is a real importer: it calls the dma-buf core's importer API for
 * devices of its own, under the core's locking rules, and reports the
 * results; it mocks nothing. It is built by "make tests", loaded only by the
 * tests that use it (tests/dmabuf_contract.c) and is not part of
 * udmabuf-ext.
 *
 * Devices (&ubi_attach.target):
 * - two platform devices with a 64-bit DMA mask, one without a DMA segment
 *   size limit and one with 64 KiB; no IOMMU translates for them
 *   (dma-direct: DMA addresses are physical addresses);
 * - QEMU's pci-testdev (1b36:0005), when the guest has one: this driver
 *   binds to it, so that with QEMU's intel-iommu a table is mapped through
 *   a real (emulated) IOMMU (tests/suites/iommu).
 *
 * Interface: /dev/udmabuf-ext-importer, see udmabuf-ext-importer.h.
 *
 * Locking: ubi_file.lock serializes one open file's operations and
 * protects its lists; the dma-buf core's locks are taken inside it, by the
 * core itself (the _unlocked calls, see the compat section). ubi_pci_lock
 * protects ubi_pci.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "udmabuf-ext-importer.h"

/* --- compat: importer API differences between the kernels tested ------- */

/*
 * 6.2, "dma-buf: Move dma_buf_map_attachment() to dynamic locking
 * specification" and its vmap sibling: the plain calls expect the
 * reservation lock held; importers that do not hold it call the _unlocked
 * variants, which take it. Before, the plain calls took what they needed.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define ubi_buf_map		dma_buf_map_attachment
#define ubi_buf_unmap		dma_buf_unmap_attachment
#define ubi_buf_vmap		dma_buf_vmap
#define ubi_buf_vunmap		dma_buf_vunmap
#else
#define ubi_buf_map		dma_buf_map_attachment_unlocked
#define ubi_buf_unmap		dma_buf_unmap_attachment_unlocked
#define ubi_buf_vmap		dma_buf_vmap_unlocked
#define ubi_buf_vunmap		dma_buf_vunmap_unlocked
#endif

/* 6.13: symbol namespaces became string literals. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
MODULE_IMPORT_NS(DMA_BUF);
#else
MODULE_IMPORT_NS("DMA_BUF");
#endif

/*
 * With CONFIG_DMABUF_DEBUG the dma-buf core scrambles the page pointers of
 * a table before handing it to the importer, so that importers that use
 * them are caught. Reporting the pages is this driver's purpose: undo it
 * (the core does the same before handing the table back to the exporter).
 */
static struct page *ubi_sg_page(struct scatterlist *sg)
{
#ifdef CONFIG_DMABUF_DEBUG
	struct scatterlist tmp = *sg;

	tmp.page_link ^= ~0xffUL;
	return sg_page(&tmp);
#else
	return sg_page(sg);
#endif
}

/* --- devices ------------------------------------------------------------ */

#define UBI_NAME		"udmabuf-ext-importer"
#define UBI_PCI_TESTDEV		0x0005	/* QEMU's pci-testdev, docs/specs/pci-testdev.txt */

static struct platform_device *ubi_pdev[UBI_TARGET_PCI];
static struct pci_dev *ubi_pci;
static DEFINE_MUTEX(ubi_pci_lock);

/* The device of @target with a reference, or NULL. */
static struct device *ubi_get_target(u32 target)
{
	struct device *dev = NULL;

	if (target < UBI_TARGET_PCI)
		return get_device(&ubi_pdev[target]->dev);
	if (target == UBI_TARGET_PCI) {
		mutex_lock(&ubi_pci_lock);
		if (ubi_pci)
			dev = get_device(&ubi_pci->dev);
		mutex_unlock(&ubi_pci_lock);
	}
	return dev;
}

static int ubi_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	/* Mappings only: the device never does DMA, so it stays disabled. */
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);
	mutex_lock(&ubi_pci_lock);
	if (ubi_pci) {
		ret = -EBUSY;	/* one is enough */
	} else {
		ubi_pci = pdev;
		dev_info(&pdev->dev, "test importer device, %s\n",
			 device_iommu_mapped(&pdev->dev) ? "behind an IOMMU" :
			 "no IOMMU");
	}
	mutex_unlock(&ubi_pci_lock);
	return ret;
}

static void ubi_pci_remove(struct pci_dev *pdev)
{
	mutex_lock(&ubi_pci_lock);
	if (ubi_pci == pdev)
		ubi_pci = NULL;
	mutex_unlock(&ubi_pci_lock);
}

static const struct pci_device_id ubi_pci_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT, UBI_PCI_TESTDEV) },
	{ }
};

static struct pci_driver ubi_pci_driver = {
	.name = "udmabuf_ext_importer",
	.id_table = ubi_pci_ids,
	.probe = ubi_pci_probe,
	.remove = ubi_pci_remove,
};

/* --- attachments and tables --------------------------------------------- */

/**
 * struct ubi_table - a table this driver has mapped
 * @node: entry in &ubi_att.tables.
 * @handle: its handle.
 * @sgt: the table.
 * @dir: the direction it was mapped with.
 */
struct ubi_table {
	struct list_head node;
	u32 handle;
	struct sg_table *sgt;
	enum dma_data_direction dir;
};

/**
 * struct ubi_att - an attachment
 * @node: entry in &ubi_file.atts.
 * @handle: its handle.
 * @dev: the attached device, referenced.
 * @dmabuf: the dma-buf, referenced.
 * @attach: the dma-buf core's attachment.
 * @tables: &struct ubi_table mapped on @attach.
 */
struct ubi_att {
	struct list_head node;
	u32 handle;
	struct device *dev;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct list_head tables;
};

/**
 * struct ubi_file - one open file
 * @lock: serializes the file's operations, protects @atts and @next.
 * @atts: &struct ubi_att.
 * @next: the next handle.
 */
struct ubi_file {
	struct mutex lock;	/* see above */
	struct list_head atts;
	u32 next;
};

static struct ubi_att *ubi_find_att(struct ubi_file *f, u32 handle)
{
	struct ubi_att *a;

	list_for_each_entry(a, &f->atts, node)
		if (a->handle == handle)
			return a;
	return NULL;
}

static struct ubi_table *ubi_find_table(struct ubi_file *f, u32 handle,
					struct ubi_att **att)
{
	struct ubi_table *t;
	struct ubi_att *a;

	list_for_each_entry(a, &f->atts, node) {
		list_for_each_entry(t, &a->tables, node) {
			if (t->handle == handle) {
				*att = a;
				return t;
			}
		}
	}
	return NULL;
}

static long ubi_attach(struct ubi_file *f, struct ubi_attach *arg)
{
	struct ubi_att *a;
	long ret;

	if (arg->pad)
		return -EINVAL;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	INIT_LIST_HEAD(&a->tables);
	a->dev = ubi_get_target(arg->target);
	if (!a->dev) {
		ret = -ENODEV;
		goto free;
	}
	a->dmabuf = dma_buf_get(arg->fd);
	if (IS_ERR(a->dmabuf)) {
		ret = PTR_ERR(a->dmabuf);
		goto put_dev;
	}
	a->attach = dma_buf_attach(a->dmabuf, a->dev);
	if (IS_ERR(a->attach)) {
		ret = PTR_ERR(a->attach);
		goto put_buf;
	}
	a->handle = f->next++;
	list_add_tail(&a->node, &f->atts);
	arg->handle = a->handle;
	arg->max_segment = dma_get_max_seg_size(a->dev);
	arg->iommu = device_iommu_mapped(a->dev);
	return 0;

put_buf:
	dma_buf_put(a->dmabuf);
put_dev:
	put_device(a->dev);
free:
	kfree(a);
	return ret;
}

static long ubi_map(struct ubi_file *f, struct ubi_map *arg)
{
	struct ubi_att *a = ubi_find_att(f, arg->handle);
	struct ubi_table *t, *other;

	if (!a)
		return -EINVAL;
	if (arg->dir != DMA_BIDIRECTIONAL && arg->dir != DMA_TO_DEVICE &&
	    arg->dir != DMA_FROM_DEVICE)
		return -EINVAL;
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->dir = arg->dir;
	t->sgt = ubi_buf_map(a->attach, t->dir);
	if (IS_ERR(t->sgt)) {
		long ret = PTR_ERR(t->sgt);

		kfree(t);
		return ret;
	}
	arg->shared = 0;
	list_for_each_entry(other, &a->tables, node)
		arg->shared += other->sgt == t->sgt;
	t->handle = f->next++;
	list_add_tail(&t->node, &a->tables);
	arg->map = t->handle;
	arg->nents = t->sgt->nents;
	arg->orig_nents = t->sgt->orig_nents;
	return 0;
}

static long ubi_sg(struct ubi_file *f, struct ubi_sg *arg)
{
	struct ubi_sg_entry __user *out = u64_to_user_ptr(arg->entries);
	struct ubi_att *a = NULL;
	struct ubi_table *t = ubi_find_table(f, arg->map, &a);
	struct scatterlist *sg;
	unsigned int i;

	if (!t)
		return -EINVAL;
	for_each_sgtable_sg(t->sgt, sg, i) {
		struct page *page = ubi_sg_page(sg);
		struct ubi_sg_entry e = { };
		void *va;

		if (i >= arg->count)
			break;
		e.pfn = page_to_pfn(page);
		va = kmap_local_page(page);
		memcpy(&e.head, va, sizeof(e.head));
		kunmap_local(va);
		e.offset = sg->offset;
		e.length = sg->length;
		if (i < t->sgt->nents) {
			e.dma_address = sg_dma_address(sg);
			e.dma_length = sg_dma_len(sg);
		}
		if (copy_to_user(&out[i], &e, sizeof(e)))
			return -EFAULT;
	}
	arg->count = t->sgt->orig_nents;
	return 0;
}

static void ubi_unmap_one(struct ubi_att *a, struct ubi_table *t)
{
	list_del(&t->node);
	ubi_buf_unmap(a->attach, t->sgt, t->dir);
	kfree(t);
}

static long ubi_unmap(struct ubi_file *f, struct ubi_detach *arg)
{
	struct ubi_att *a = NULL;
	struct ubi_table *t = ubi_find_table(f, arg->handle, &a);

	if (!t)
		return -EINVAL;
	ubi_unmap_one(a, t);
	return 0;
}

/*
 * Detach @a. With @unmap false, tables still mapped are left to the
 * exporter, as a buggy importer would: that is what UBI_DETACH tests.
 * Returns the number of tables that were still mapped.
 */
static u32 ubi_detach_one(struct ubi_att *a, bool unmap)
{
	struct ubi_table *t, *tmp;
	u32 mapped = 0;

	list_for_each_entry_safe(t, tmp, &a->tables, node) {
		mapped++;
		if (unmap) {
			ubi_unmap_one(a, t);
		} else {
			list_del(&t->node);
			kfree(t);
		}
	}
	list_del(&a->node);
	dma_buf_detach(a->dmabuf, a->attach);
	dma_buf_put(a->dmabuf);
	put_device(a->dev);
	kfree(a);
	return mapped;
}

static long ubi_detach(struct ubi_file *f, struct ubi_detach *arg)
{
	struct ubi_att *a = ubi_find_att(f, arg->handle);

	if (!a)
		return -EINVAL;
	arg->mapped = ubi_detach_one(a, false);
	return 0;
}

/*
 * Copy up to @len bytes from the kernel mapping at @vaddr to @ubuf, a page
 * of the mapping at a time, until one faults (copy_from_kernel_nofault():
 * an exporter whose mapping is shorter than the dma-buf must not oops the
 * test). Returns the bytes copied or -EFAULT if @ubuf is bad.
 */
static long ubi_read_mapping(const void *vaddr, u64 len, u8 __user *ubuf)
{
	u64 done = 0;
	void *bounce;
	long ret = 0;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (done < len) {
		size_t n = min_t(u64, len - done,
				 PAGE_SIZE - offset_in_page(vaddr + done));

		if (copy_from_kernel_nofault(bounce, vaddr + done, n))
			break;
		if (copy_to_user(ubuf + done, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		done += n;
		cond_resched();
	}
	kfree(bounce);
	return ret ? ret : done;
}

static long ubi_vmap_read(struct ubi_vmap *arg)
{
	struct iosys_map map;
	struct dma_buf *dmabuf;
	long ret;

	if (arg->pad)
		return -EINVAL;
	dmabuf = dma_buf_get(arg->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	arg->size = dmabuf->size;
	arg->readable = 0;
	ret = dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE);
	if (ret)
		goto put;
	ret = ubi_buf_vmap(dmabuf, &map);
	if (!ret) {
		if (map.is_iomem)
			ret = -EOPNOTSUPP;
		else
			ret = ubi_read_mapping(map.vaddr, arg->len,
					       u64_to_user_ptr(arg->buf));
		if (ret >= 0) {
			arg->readable = ret;
			ret = 0;
		}
		ubi_buf_vunmap(dmabuf, &map);
	}
	dma_buf_end_cpu_access(dmabuf, DMA_FROM_DEVICE);
put:
	dma_buf_put(dmabuf);
	return ret;
}

/* --- the device node ---------------------------------------------------- */

static int ubi_open(struct inode *inode, struct file *file)
{
	struct ubi_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	INIT_LIST_HEAD(&f->atts);
	f->next = 1;
	file->private_data = f;
	return 0;
}

static int ubi_release(struct inode *inode, struct file *file)
{
	struct ubi_file *f = file->private_data;
	struct ubi_att *a, *tmp;

	list_for_each_entry_safe(a, tmp, &f->atts, node)
		ubi_detach_one(a, true);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

/* The argument sizes of the commands, by command number. */
static size_t ubi_arg_size(unsigned int cmd)
{
	switch (cmd) {
	case UBI_ATTACH:
		return sizeof(struct ubi_attach);
	case UBI_MAP:
		return sizeof(struct ubi_map);
	case UBI_SG:
		return sizeof(struct ubi_sg);
	case UBI_UNMAP:
	case UBI_DETACH:
		return sizeof(struct ubi_detach);
	case UBI_VMAP:
		return sizeof(struct ubi_vmap);
	}
	return 0;
}

static long ubi_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	struct ubi_file *f = file->private_data;
	void __user *up = (void __user *)uarg;
	union {
		struct ubi_attach attach;
		struct ubi_map map;
		struct ubi_sg sg;
		struct ubi_detach detach;
		struct ubi_vmap vmap;
	} arg;
	size_t size = ubi_arg_size(cmd);
	long ret;

	if (!size)
		return -ENOTTY;
	if (copy_from_user(&arg, up, size))
		return -EFAULT;
	mutex_lock(&f->lock);
	switch (cmd) {
	case UBI_ATTACH:
		ret = ubi_attach(f, &arg.attach);
		break;
	case UBI_MAP:
		ret = ubi_map(f, &arg.map);
		break;
	case UBI_SG:
		ret = ubi_sg(f, &arg.sg);
		break;
	case UBI_UNMAP:
		ret = ubi_unmap(f, &arg.detach);
		break;
	case UBI_DETACH:
		ret = ubi_detach(f, &arg.detach);
		break;
	default:
		ret = ubi_vmap_read(&arg.vmap);
		break;
	}
	mutex_unlock(&f->lock);
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(up, &arg, size))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations ubi_fops = {
	.owner = THIS_MODULE,
	.open = ubi_open,
	.release = ubi_release,
	.unlocked_ioctl = ubi_ioctl,
};

static struct miscdevice ubi_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = UBI_NAME,
	.fops = &ubi_fops,
	.mode = 0600,
};

/* --- module ------------------------------------------------------------- */

static void ubi_remove_platform(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(ubi_pdev); i++) {
		if (!IS_ERR_OR_NULL(ubi_pdev[i]))
			platform_device_unregister(ubi_pdev[i]);
		ubi_pdev[i] = NULL;
	}
}

static int __init ubi_init(void)
{
	static const unsigned int max_seg[] = {
		[UBI_TARGET_PLATFORM] = UINT_MAX,
		[UBI_TARGET_PLATFORM_SEG] = SZ_64K,
	};
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(ubi_pdev); i++) {
		struct platform_device_info info = {
			.name = UBI_NAME,
			.id = i,
			.dma_mask = DMA_BIT_MASK(64),
		};

		ubi_pdev[i] = platform_device_register_full(&info);
		if (IS_ERR(ubi_pdev[i])) {
			ret = PTR_ERR(ubi_pdev[i]);
			goto remove;
		}
		dma_set_max_seg_size(&ubi_pdev[i]->dev, max_seg[i]);
	}
	ret = pci_register_driver(&ubi_pci_driver);
	if (ret)
		goto remove;
	ret = misc_register(&ubi_misc);
	if (ret)
		goto unregister;
	return 0;

unregister:
	pci_unregister_driver(&ubi_pci_driver);
remove:
	ubi_remove_platform();
	return ret;
}

static void __exit ubi_exit(void)
{
	misc_deregister(&ubi_misc);
	pci_unregister_driver(&ubi_pci_driver);
	ubi_remove_platform();
}

module_init(ubi_init);
module_exit(ubi_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test importer of dma-bufs: reports what an exporter gives importers");
