// SPDX-License-Identifier: GPL-2.0-only
/*
 * splat: a throw-away module whose init does WARN_ON(1).
 *
 * It loads and unloads normally; the only effect is a kernel warning in the
 * log, which tools/vm/run's dmesg gate must turn into exit status 98
 * (tests/host/vm-gate.sh).
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init splat_init(void)
{
	WARN_ON(1);
	return 0;
}

static void __exit splat_exit(void)
{
}

module_init(splat_init);
module_exit(splat_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("WARN_ON(1) on load, to test the dmesg gate of tools/vm/run");
