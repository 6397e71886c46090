// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext: what a buffer holds is charged to the user who made it.
 *
 * Every page a buffer holds is counted against one of two per-user limits,
 * decided by the ABI that created it and kept until it is released:
 *
 * - The extended ABI (UDMABUF_EXT_CREATE) charges every page to
 *   RLIMIT_MEMLOCK, whatever its source or mode: pinned, referenced or
 *   copied, it is memory that cannot be swapped out as long as the buffer
 *   lives. It is charged the way io_uring and iommufd charge pinned memory:
 *   to the user (user_struct->locked_vm of the creator's real uid), so that
 *   neither fork() nor passing the fd to another process multiplies the
 *   limit. The creator's pinned_vm shows it too (VmPin in
 *   /proc/<pid>/status), as io_uring's and RDMA's pins do.
 *
 * - The upstream ABI (UDMABUF_CREATE, UDMABUF_CREATE_LIST, memfd pages only)
 *   charges nothing to RLIMIT_MEMLOCK, as upstream does not and QEMU relies
 *   on that; its pages count against the module's own per-user cap,
 *   user_limit_mb, in a table of users kept here.
 *
 * There is no module-wide pool: what one user holds never makes another's
 * create fail.
 *
 * A caller with CAP_IPC_LOCK (in the initial user namespace) is exempt from
 * both limits, as from RLIMIT_MEMLOCK everywhere; its pins still show in its
 * VmPin.
 *
 * The mm is held with mmgrab() (not mmget()) and the user with get_uid(), so
 * that a buffer that outlives its creator can still return what it was
 * charged.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>

#include "internal.h"

/**
 * struct udmabuf_ext_user - one user's pages counted against user_limit_mb
 * @node: entry in udmabuf_ext_users.
 * @uid: the user.
 * @pages: pages counted; the entry is freed when this drops to zero.
 *
 * Entries live in udmabuf_ext_users under udmabuf_ext_users_lock.
 */
struct udmabuf_ext_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned long pages;
};

#define UDMABUF_EXT_USERS_BITS	6

static DEFINE_HASHTABLE(udmabuf_ext_users, UDMABUF_EXT_USERS_BITS);
static DEFINE_SPINLOCK(udmabuf_ext_users_lock);

/* The per-user cap in pages. */
static unsigned long udmabuf_ext_user_limit(void)
{
	unsigned long mb = READ_ONCE(udmabuf_ext_user_limit_mb);

	return min(mb, ULONG_MAX >> (20 - PAGE_SHIFT)) << (20 - PAGE_SHIFT);
}

static struct udmabuf_ext_user *udmabuf_ext_user_find(kuid_t uid)
{
	struct udmabuf_ext_user *u;

	lockdep_assert_held(&udmabuf_ext_users_lock);
	hash_for_each_possible(udmabuf_ext_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Count @nr pages against @uid's cap: 0, -EDQUOT or -ENOMEM. */
static int udmabuf_ext_user_add(kuid_t uid, unsigned long nr)
{
	unsigned long limit = udmabuf_ext_user_limit();
	struct udmabuf_ext_user *u, *new = NULL;
	int ret = 0;

	spin_lock(&udmabuf_ext_users_lock);
	u = udmabuf_ext_user_find(uid);
	if (!u) {
		/* The first buffer of this user: allocate outside the lock. */
		spin_unlock(&udmabuf_ext_users_lock);
		new = kzalloc(sizeof(*new), GFP_KERNEL);
		if (!new)
			return -ENOMEM;
		new->uid = uid;
		spin_lock(&udmabuf_ext_users_lock);
		u = udmabuf_ext_user_find(uid);
		if (!u) {
			u = new;
			new = NULL;
			hash_add(udmabuf_ext_users, &u->node, __kuid_val(uid));
			atomic_long_inc(&udmabuf_ext_stats.users);
		}
	}
	if (nr > limit || u->pages > limit - nr) {
		ret = -EDQUOT;
		if (!u->pages) {
			hash_del(&u->node);
			atomic_long_dec(&udmabuf_ext_stats.users);
			new = u;	/* freed below */
		}
	} else {
		u->pages += nr;
	}
	spin_unlock(&udmabuf_ext_users_lock);
	kfree(new);
	return ret;
}

static void udmabuf_ext_user_sub(kuid_t uid, unsigned long nr)
{
	struct udmabuf_ext_user *u;

	spin_lock(&udmabuf_ext_users_lock);
	u = udmabuf_ext_user_find(uid);
	if (WARN_ON_ONCE(!u || u->pages < nr)) {
		spin_unlock(&udmabuf_ext_users_lock);
		return;
	}
	u->pages -= nr;
	if (u->pages) {
		u = NULL;
	} else {
		hash_del(&u->node);
		atomic_long_dec(&udmabuf_ext_stats.users);
	}
	spin_unlock(&udmabuf_ext_users_lock);
	kfree(u);
}

/* Charge @nr pages to @user's locked_vm within RLIMIT_MEMLOCK, as io_uring. */
static int udmabuf_ext_lock_pages(struct user_struct *user, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur = atomic_long_read(&user->locked_vm);

	do {
		if (nr > limit || cur > limit - nr)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, cur + nr));
	return 0;
}

/**
 * udmabuf_ext_charge() - charge a new buffer to the calling user
 * @c: the buffer's charge, zeroed.
 * @locked: pages to charge to RLIMIT_MEMLOCK (the extended ABI's).
 * @counted: pages to count against user_limit_mb (the upstream ABI's).
 *
 * Return: 0; -ENOMEM if @locked would exceed RLIMIT_MEMLOCK; -EDQUOT if
 * @counted would exceed user_limit_mb; nothing is charged on error.
 */
int udmabuf_ext_charge(struct udmabuf_ext_charge *c, unsigned long locked,
		       unsigned long counted)
{
	struct user_struct *user = current_user();
	kuid_t uid = current_uid();
	int ret;

	if (!locked && !counted)
		return 0;
	c->locked = locked;
	/* As io_uring: no audit record for the many who lack it. */
	if (!ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK)) {
		if (locked) {
			ret = udmabuf_ext_lock_pages(user, locked);
			if (ret)
				goto uncharge;
			c->user = get_uid(user);
		}
		if (counted) {
			ret = udmabuf_ext_user_add(uid, counted);
			if (ret)
				goto uncharge;
			c->uid = uid;
			c->counted = counted;
			atomic_long_add(counted, &udmabuf_ext_stats.user_pages);
		}
	}
	if (locked) {
		c->mm = current->mm;
		mmgrab(c->mm);
		atomic64_add(locked, &c->mm->pinned_vm);
		atomic_long_add(locked, &udmabuf_ext_stats.charged_pages);
	}
	return 0;

uncharge:
	udmabuf_ext_uncharge(c);
	return ret;
}

/**
 * udmabuf_ext_uncharge() - return everything a buffer was charged
 * @c: the buffer's charge; zeroed on return, so a second call does nothing.
 */
void udmabuf_ext_uncharge(struct udmabuf_ext_charge *c)
{
	if (c->user) {
		atomic_long_sub(c->locked, &c->user->locked_vm);
		free_uid(c->user);
	}
	if (c->mm) {
		atomic64_sub(c->locked, &c->mm->pinned_vm);
		atomic_long_sub(c->locked, &udmabuf_ext_stats.charged_pages);
		mmdrop(c->mm);
	}
	if (c->counted) {
		udmabuf_ext_user_sub(c->uid, c->counted);
		atomic_long_sub(c->counted, &udmabuf_ext_stats.user_pages);
	}
	memset(c, 0, sizeof(*c));
}

/* debugfs "users": each user's pages counted against user_limit_mb. */
int udmabuf_ext_users_show(struct seq_file *m, void *unused)
{
	struct udmabuf_ext_user *u;
	int bkt;

	seq_puts(m, "uid\tpages\tlimit\n");
	spin_lock(&udmabuf_ext_users_lock);
	hash_for_each(udmabuf_ext_users, bkt, u, node)
		seq_printf(m, "%u\t%lu\t%lu\n",
			   from_kuid_munged(seq_user_ns(m), u->uid), u->pages,
			   udmabuf_ext_user_limit());
	spin_unlock(&udmabuf_ext_users_lock);
	return 0;
}
