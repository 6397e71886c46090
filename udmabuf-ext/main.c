// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: dma-bufs from user memory.
 *
 * /dev/udmabuf serves the upstream UAPI on kernels built without their own
 * udmabuf. /dev/udmabuf-ext serves it too, plus the extended UAPI of
 * <udmabuf-ext.h>. Both validate their arguments here and create buffers
 * through udmabuf_ext_export().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

unsigned int udmabuf_ext_size_limit_mb = 64;
module_param_named(size_limit_mb, udmabuf_ext_size_limit_mb, uint, 0644);
MODULE_PARM_DESC(size_limit_mb, "Largest buffer, in MiB (default 64, as upstream)");

unsigned int udmabuf_ext_list_limit = 1024;
module_param_named(list_limit, udmabuf_ext_list_limit, uint, 0644);
MODULE_PARM_DESC(list_limit, "Most items in one create call (default 1024, as upstream)");

unsigned long udmabuf_ext_user_limit_mb = 1024;
module_param_named(user_limit_mb, udmabuf_ext_user_limit_mb, ulong, 0644);
MODULE_PARM_DESC(user_limit_mb, "Most memory one user's buffers of the upstream ABI may hold, in MiB (default 1024)");

/* The PIN/COPY crossover measured by make bench: 4 KiB (docs/performance.md). */
unsigned int udmabuf_ext_auto_copy_max_kb = 4;
module_param_named(auto_copy_max_kb, udmabuf_ext_auto_copy_max_kb, uint, 0644);
MODULE_PARM_DESC(auto_copy_max_kb, "AUTO mode copies buffers up to this size, in KiB, and pins larger ones");

static int udmabuf_ext_dropin = -1;
module_param_named(dropin, udmabuf_ext_dropin, int, 0444);
MODULE_PARM_DESC(dropin, "Register /dev/udmabuf: -1 when the kernel has no udmabuf (default), 0 never, 1 always");

static struct dentry *udmabuf_ext_debugfs_dir;

/*
 * MOVE takes each page from the process once: a page named twice would be
 * found already given up the second time, which the vacate cannot tell
 * from one moved away meanwhile (MOVE_PARTIAL). At most list_limit items:
 * 13 ms for 1024 under TCG; a larger limit that root sets must not stall
 * the CPU.
 */
static bool udmabuf_ext_items_overlap(const struct udmabuf_ext_request *req)
{
	u32 i, j;

	for (i = 0; i < req->count; i++) {
		const struct udmabuf_ext_item *a = &req->items[i];

		for (j = i + 1; j < req->count; j++) {
			const struct udmabuf_ext_item *b = &req->items[j];

			if (a->start < b->start + b->size &&
			    b->start < a->start + a->size)
				return true;
		}
		cond_resched();
	}
	return false;
}

/*
 * Check a request and work out its page count. Errno rules follow upstream
 * where it has them: EINVAL for bad sizes, alignments, counts and limits.
 *
 * A user range that devices may write (PIN, MOVE) must be page aligned at
 * both ends: the pages are shared whole, and a device must never write
 * bytes of a page the caller did not offer (a malloc() chunk header sits
 * right before the pointer), as i915 userptr requires. Read-only pins and
 * copies may start and end anywhere: every view still covers whole pages,
 * with the data at data_offset in the first.
 */
static int udmabuf_ext_validate(struct udmabuf_ext_request *req)
{
	u64 limit = (u64)READ_ONCE(udmabuf_ext_size_limit_mb) << (20 - PAGE_SHIFT);
	bool writable = !(req->flags & UDMABUF_EXT_FLAGS_READ_ONLY);
	unsigned long total = 0;
	bool unaligned = false;
	u32 i;

	if (!req->count || req->count > READ_ONCE(udmabuf_ext_list_limit))
		return -EINVAL;

	for (i = 0; i < req->count; i++) {
		const struct udmabuf_ext_item *item = &req->items[i];
		unsigned long pages;
		u64 end;

		if (check_add_overflow(item->start, item->size, &end))
			return -EINVAL;

		switch (item->kind) {
		case UDMABUF_EXT_ITEM_MEMFD:
			if (!PAGE_ALIGNED(item->start) ||
			    !PAGE_ALIGNED(item->size) ||
			    end > MAX_LFS_FILESIZE)
				return -EINVAL;
			if (!item->size && !req->dropin)
				return -EINVAL;
			if (req->mode == UDMABUF_EXT_MODE_MOVE)
				return -EINVAL;
			pages = item->size >> PAGE_SHIFT;
			break;
		case UDMABUF_EXT_ITEM_USER:
			if (item->memfd || !item->size)
				return -EINVAL;
			/* Only the outer ends of the list may be unaligned. */
			if ((i > 0 && !PAGE_ALIGNED(item->start)) ||
			    (i < req->count - 1 && !PAGE_ALIGNED(end)))
				return -EINVAL;
			if (!PAGE_ALIGNED(item->start) || !PAGE_ALIGNED(end)) {
				if (writable &&
				    (req->mode == UDMABUF_EXT_MODE_PIN ||
				     req->mode == UDMABUF_EXT_MODE_MOVE))
					return -EINVAL;
				unaligned = true;
			}
			/* MOVE would zap the results the caller is to read. */
			if (req->mode == UDMABUF_EXT_MODE_MOVE && req->results &&
			    req->results < end &&
			    item->start < req->results +
					  sizeof(struct udmabuf_ext_create))
				return -EINVAL;
			if (!access_ok(u64_to_user_ptr(item->start), item->size))
				return -EFAULT;
			pages = (PAGE_ALIGN(end) - ALIGN_DOWN(item->start, PAGE_SIZE)) >>
				PAGE_SHIFT;
			if (i == 0)
				req->data_offset = offset_in_page(item->start);
			break;
		default:
			return -EINVAL;
		}
		if (check_add_overflow(total, pages, &total))
			return -EINVAL;
	}
	if (!total || total > limit)
		return -EINVAL;
	if (req->mode == UDMABUF_EXT_MODE_MOVE && udmabuf_ext_items_overlap(req))
		return -EINVAL;
	req->nr_pages = total;

	/* AUTO copies what it may not share writable, and what is small. */
	if (req->mode == UDMABUF_EXT_MODE_AUTO)
		req->mode = (unaligned && writable) ||
			    (u64)total << PAGE_SHIFT <=
			    (u64)READ_ONCE(udmabuf_ext_auto_copy_max_kb) << 10 ?
			    UDMABUF_EXT_MODE_COPY : UDMABUF_EXT_MODE_PIN;
	/* The extended ABI charges RLIMIT_MEMLOCK (account.c). */
	if (!req->dropin)
		req->nr_locked = total;
	return 0;
}

/* Validate, create and export; returns the dma-buf or an ERR_PTR(). */
static struct dma_buf *udmabuf_ext_create(struct udmabuf_ext_request *req)
{
	int ret = udmabuf_ext_validate(req);

	if (ret)
		return ERR_PTR(ret);
	return udmabuf_ext_export(req);
}

/* Upstream ABI: the new fd is the return value. */
static long udmabuf_ext_create_dropin(struct udmabuf_ext_request *req)
{
	struct dma_buf *dmabuf = udmabuf_ext_create(req);
	int fd;

	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	fd = get_unused_fd_flags((req->flags & UDMABUF_FLAGS_CLOEXEC) ?
				 O_CLOEXEC : 0);
	if (fd < 0) {
		dma_buf_put(dmabuf);	/* the release op undoes the rest */
		return fd;
	}
	fd_install(fd, dmabuf->file);
	return fd;
}

static long udmabuf_ext_ioctl_create(struct udmabuf_create __user *uarg)
{
	struct udmabuf_create arg;
	struct udmabuf_ext_item item;
	struct udmabuf_ext_request req = {
		.items = &item,
		.count = 1,
		.dropin = true,
	};

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~UDMABUF_FLAGS_CLOEXEC)
		return -EINVAL;
	item.kind = UDMABUF_EXT_ITEM_MEMFD;
	item.memfd = arg.memfd;
	item.start = arg.offset;
	item.size = arg.size;
	req.flags = arg.flags;
	return udmabuf_ext_create_dropin(&req);
}

static long udmabuf_ext_ioctl_create_list(struct udmabuf_create_list __user *uarg)
{
	struct udmabuf_create_list head;
	struct udmabuf_create_item *list;
	struct udmabuf_ext_item *items;
	struct udmabuf_ext_request req = { .dropin = true };
	long ret;
	u32 i;

	if (copy_from_user(&head, uarg, sizeof(head)))
		return -EFAULT;
	if (head.flags & ~UDMABUF_FLAGS_CLOEXEC)
		return -EINVAL;
	if (!head.count || head.count > READ_ONCE(udmabuf_ext_list_limit))
		return -EINVAL;

	list = memdup_user(uarg->list, array_size(head.count, sizeof(*list)));
	if (IS_ERR(list))
		return PTR_ERR(list);
	items = kvmalloc_array(head.count, sizeof(*items), GFP_KERNEL);
	if (!items) {
		ret = -ENOMEM;
		goto free_list;
	}
	for (i = 0; i < head.count; i++) {
		if (list[i].__pad) {
			ret = -EINVAL;
			goto free_items;
		}
		items[i].kind = UDMABUF_EXT_ITEM_MEMFD;
		items[i].memfd = list[i].memfd;
		items[i].start = list[i].offset;
		items[i].size = list[i].size;
	}
	req.items = items;
	req.count = head.count;
	req.flags = head.flags;
	ret = udmabuf_ext_create_dropin(&req);
free_items:
	kvfree(items);
free_list:
	kfree(list);
	return ret;
}

static long udmabuf_ext_ioctl_ext_create(struct udmabuf_ext_create __user *uarg)
{
	struct udmabuf_ext_create arg;
	struct udmabuf_ext_request req = {};
	struct udmabuf_ext_item *items;
	struct dma_buf *dmabuf;
	long ret;
	int fd;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~UDMABUF_EXT_CREATE_VALID_FLAGS ||
	    arg.mode > UDMABUF_EXT_MODE_AUTO || arg.__pad ||
	    arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	if (arg.mode == UDMABUF_EXT_MODE_MOVE &&
	    (arg.flags & UDMABUF_EXT_FLAGS_READ_ONLY))
		return -EINVAL;
	if (!arg.count || arg.count > READ_ONCE(udmabuf_ext_list_limit))
		return -EINVAL;

	items = memdup_user(u64_to_user_ptr(arg.items),
			    array_size(arg.count, sizeof(*items)));
	if (IS_ERR(items))
		return PTR_ERR(items);
	req.items = items;
	req.count = arg.count;
	req.flags = arg.flags;
	req.mode = arg.mode;
	req.results = (unsigned long)uarg;

	dmabuf = udmabuf_ext_create(&req);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto free_items;
	}
	fd = get_unused_fd_flags((arg.flags & UDMABUF_EXT_FLAGS_CLOEXEC) ?
				 O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto put_dmabuf;
	}
	arg.fd = fd;
	arg.size = dmabuf->size;
	arg.data_offset = req.data_offset;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		ret = -EFAULT;
		goto put_fd;
	}
	/*
	 * MOVE takes the caller's data last, once nothing else can fail: the
	 * process gives up the pages the buffer took, and only those.
	 */
	if (req.mode == UDMABUF_EXT_MODE_MOVE)
		udmabuf_ext_vacate(dmabuf->priv, &req);
	/* The fd goes live. */
	fd_install(fd, dmabuf->file);
	kfree(items);
	return 0;

put_fd:
	put_unused_fd(fd);
put_dmabuf:
	dma_buf_put(dmabuf);	/* the release op undoes the rest */
free_items:
	kfree(items);
	return ret;
}

static long udmabuf_ext_ioctl_info(struct udmabuf_ext_info __user *uarg)
{
	struct udmabuf_ext_info arg;
	struct dma_buf *dmabuf;
	u32 fd;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags)
		return -EINVAL;
	fd = arg.fd;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (!udmabuf_ext_is_ours(dmabuf)) {
		dma_buf_put(dmabuf);
		return -EINVAL;
	}
	memset(&arg, 0, sizeof(arg));
	arg.fd = fd;
	udmabuf_ext_fill_info(dmabuf->priv, &arg);
	dma_buf_put(dmabuf);

	if (copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return 0;
}

static long udmabuf_ext_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case UDMABUF_CREATE:
		return udmabuf_ext_ioctl_create(uarg);
	case UDMABUF_CREATE_LIST:
		return udmabuf_ext_ioctl_create_list(uarg);
	case UDMABUF_EXT_CREATE:
		return udmabuf_ext_ioctl_ext_create(uarg);
	case UDMABUF_EXT_INFO:
		return udmabuf_ext_ioctl_info(uarg);
	}
	return -ENOTTY;
}

/* /dev/udmabuf speaks the upstream ABI only. */
static long udmabuf_ext_dropin_ioctl(struct file *filp, unsigned int cmd,
				     unsigned long arg)
{
	if (cmd != UDMABUF_CREATE && cmd != UDMABUF_CREATE_LIST)
		return -ENOTTY;
	return udmabuf_ext_ioctl(filp, cmd, arg);
}

/*
 * Every argument is a pointer to a struct made of __u32/__u64 with explicit
 * padding, laid out the same for 32-bit callers, so compat_ptr_ioctl() is
 * all a 32-bit caller needs.
 */
static const struct file_operations udmabuf_ext_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = udmabuf_ext_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static const struct file_operations udmabuf_ext_dropin_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = udmabuf_ext_dropin_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static ssize_t udmabuf_ext_stat_show(struct device *dev,
				     struct device_attribute *attr, char *page)
{
	struct dev_ext_attribute *ea = container_of(attr, typeof(*ea), attr);

	return sysfs_emit(page, "%ld\n", atomic_long_read(ea->var));
}

#define UDMABUF_EXT_STAT(_name, _counter) \
	{ __ATTR(_name, 0444, udmabuf_ext_stat_show, NULL), _counter }

static struct dev_ext_attribute udmabuf_ext_stat_ext_attrs[] = {
	UDMABUF_EXT_STAT(buffers, &udmabuf_ext_stats.buffers),
	UDMABUF_EXT_STAT(pages, &udmabuf_ext_stats.pages),
	UDMABUF_EXT_STAT(pinned_pages, &udmabuf_ext_stats.pinned_pages),
	UDMABUF_EXT_STAT(charged_pages, &udmabuf_ext_stats.charged_pages),
	UDMABUF_EXT_STAT(user_pages, &udmabuf_ext_stats.user_pages),
	UDMABUF_EXT_STAT(users, &udmabuf_ext_stats.users),
	UDMABUF_EXT_STAT(copied_pages, &udmabuf_ext_stats.copied_pages),
	UDMABUF_EXT_STAT(moved_pages, &udmabuf_ext_stats.moved_pages),
	UDMABUF_EXT_STAT(meta_bytes, &udmabuf_ext_stats.meta_bytes),
	UDMABUF_EXT_STAT(attachments, &udmabuf_ext_stats.attachments),
	UDMABUF_EXT_STAT(mappings, &udmabuf_ext_stats.mappings),
	UDMABUF_EXT_STAT(vmaps, &udmabuf_ext_stats.vmaps),
};

/* Filled from udmabuf_ext_stat_ext_attrs at init, NULL-terminated. */
static struct attribute *
udmabuf_ext_stat_attrs[ARRAY_SIZE(udmabuf_ext_stat_ext_attrs) + 1];

static const struct attribute_group udmabuf_ext_stat_group = {
	.name = "stats",
	.attrs = udmabuf_ext_stat_attrs,
};

static const struct attribute_group *udmabuf_ext_groups[] = {
	&udmabuf_ext_stat_group,
	NULL
};

static struct miscdevice udmabuf_ext_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "udmabuf-ext",
	.fops = &udmabuf_ext_fops,
	.groups = udmabuf_ext_groups,
	.mode = 0660,
};

static struct miscdevice udmabuf_ext_dropin_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "udmabuf",
	.fops = &udmabuf_ext_dropin_fops,
	.mode = 0660,
};

DEFINE_SHOW_ATTRIBUTE(udmabuf_ext_debugfs);
DEFINE_SHOW_ATTRIBUTE(udmabuf_ext_users);

/*
 * The kernel's own udmabuf can only be built in, so whether the running
 * kernel has one is known from the configuration we are built against.
 */
static bool udmabuf_ext_want_dropin(void)
{
	if (udmabuf_ext_dropin < 0)
		return !IS_BUILTIN(CONFIG_UDMABUF);
	return udmabuf_ext_dropin;
}

static int __init udmabuf_ext_init(void)
{
	unsigned int i;
	int ret;

	if (udmabuf_ext_dropin > 0 && IS_BUILTIN(CONFIG_UDMABUF)) {
		pr_err("dropin=1, but this kernel has its own /dev/udmabuf\n");
		return -EEXIST;
	}

	for (i = 0; i < ARRAY_SIZE(udmabuf_ext_stat_ext_attrs); i++)
		udmabuf_ext_stat_attrs[i] = &udmabuf_ext_stat_ext_attrs[i].attr.attr;
	ret = misc_register(&udmabuf_ext_misc);
	if (ret)
		return ret;
	if (udmabuf_ext_want_dropin()) {
		ret = misc_register(&udmabuf_ext_dropin_misc);
		if (ret)
			goto deregister_ext;
	}

	udmabuf_ext_debugfs_dir = debugfs_create_dir("udmabuf-ext", NULL);
	debugfs_create_file("buffers", 0400, udmabuf_ext_debugfs_dir, NULL,
			    &udmabuf_ext_debugfs_fops);
	debugfs_create_file("users", 0400, udmabuf_ext_debugfs_dir, NULL,
			    &udmabuf_ext_users_fops);
	return 0;

deregister_ext:
	misc_deregister(&udmabuf_ext_misc);
	return ret;
}

static void __exit udmabuf_ext_exit(void)
{
	debugfs_remove_recursive(udmabuf_ext_debugfs_dir);
	if (udmabuf_ext_want_dropin())
		misc_deregister(&udmabuf_ext_dropin_misc);
	misc_deregister(&udmabuf_ext_misc);
}

module_init(udmabuf_ext_init);
module_exit(udmabuf_ext_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dma-bufs from user memory (memfd ranges and user address ranges)");
UDMABUF_EXT_IMPORT_DMA_BUF_NS();
