// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: dma-bufs from user memory.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>

static const struct file_operations udmabuf_ext_fops = {
	.owner = THIS_MODULE,
};

static struct miscdevice udmabuf_ext_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "udmabuf-ext",
	.fops = &udmabuf_ext_fops,
	.mode = 0660,
};

static int __init udmabuf_ext_init(void)
{
	return misc_register(&udmabuf_ext_misc);
}

static void __exit udmabuf_ext_exit(void)
{
	misc_deregister(&udmabuf_ext_misc);
}

module_init(udmabuf_ext_init);
module_exit(udmabuf_ext_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dma-bufs from user memory (memfd ranges and user address ranges)");
MODULE_IMPORT_NS(DMA_BUF);
