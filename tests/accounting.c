// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who pays for a buffer (docs/uapi.md, "Limits and accounting"), seen by
 * unprivileged users: processes that drop to uid 65534 (and 65533) with
 * setgroups/setgid/setuid, left with no capability at all (CapEff is
 * checked), using a device fd opened before.
 *
 * - Every page of an extended-ABI buffer (UDMABUF_EXT_CREATE: pinned,
 *   moved, copied, or a memfd item's) is charged to the user's locked_vm
 *   against RLIMIT_MEMLOCK, as io_uring and iommufd charge pinned memory:
 *   neither fork() nor passing fds multiplies the limit, and the creator's
 *   VmPin shows the charge. CAP_IPC_LOCK is exempt, and its pins still show.
 * - The upstream ABI's memfd pages (UDMABUF_CREATE, _LIST), which upstream
 *   charges to nothing, count against the per-user cap user_limit_mb
 *   (EDQUOT), so one user's buffers never make another's create fail.
 * - Every counter (charged_pages, user_pages, users, debugfs users) returns
 *   to zero when the buffers are closed.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <grp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define NOBODY		65534
#define NOGROUP		65534
#define OTHER_USER	65533
#define USERS_FILE	"/sys/kernel/debug/udmabuf-ext/users"
#define MEMLOCK_LIMIT	(64 << 10)

/*
 * Become @uid without any capability: supplementary groups, gid, uid, in
 * that order (after setuid() nothing else could be dropped). 0 or -errno;
 * -EPERM if a capability is left.
 */
static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(NOGROUP) || setuid(uid))
		return -errno;
	if (getuid() != uid || geteuid() != uid || getgid() != NOGROUP)
		return -EPERM;
	return ub_status_num("CapEff", 16) == 0 ? 0 : -EPERM;
}

static int set_memlock(rlim_t bytes)
{
	struct rlimit rl = { bytes, bytes };

	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

/* Pages that debugfs lists for @uid (0 if it is not listed), or -1. */
static long users_pages(uid_t uid)
{
	char line[128];
	unsigned long u, pages, limit;
	long n = 0;
	FILE *f = fopen(USERS_FILE, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %lu %lu", &u, &pages, &limit) == 3 && u == uid)
			n = pages;
	fclose(f);
	return n;
}

/* Lines of debugfs users after its heading, or -1. */
static int users_listed(void)
{
	char line[128];
	int n = -1;
	FILE *f = fopen(USERS_FILE, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Anonymous memory, written: @len bytes. */
static uint8_t *filled(size_t len, uint32_t seed)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	ub_fill(p, len, seed);
	return p;
}

/* Send @msg and, if @fd >= 0, the fd over the datagram socket @sock. */
static int send_with_fd(int sock, const void *msg, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)msg, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, 0) == (ssize_t)len ? 0 : -errno;
}

/* Receive a message of @len bytes and the fd it carries (or -1). */
static int recv_with_fd(int sock, void *msg, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { msg, len };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	*fd = -1;
	if (recvmsg(sock, &m, 0) != (ssize_t)len)
		return -EIO;
	cm = CMSG_FIRSTHDR(&m);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* Wait for a child; its exit status, or -1 if it did not exit. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Run @fn(@dev, @res) in a child process, which may change its ids and
 * limits, and copy its *@res (@len bytes) back. 0, or -1 if the child
 * failed (@fn returns non-zero for a set-up failure).
 */
static int in_child(int (*fn)(int dev, void *res), int dev, void *res,
		    size_t len)
{
	int p[2], ret;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[0]);
		if (fn(dev, res))
			_exit(10);
		_exit(write(p[1], res, len) == (ssize_t)len ? 0 : 11);
	}
	close(p[1]);
	ret = reap(pid) == 0 && read(p[0], res, len) == (ssize_t)len ? 0 : -1;
	close(p[0]);
	return ret;
}

FIXTURE(acct) {
	int dev;
	long user_limit;	/* user_limit_mb to restore, or -1 */
};

FIXTURE_SETUP(acct)
{
	self->user_limit = -1;
	self->dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(acct)
{
	if (self->user_limit >= 0)
		ub_set_param("user_limit_mb", self->user_limit);
	close(self->dev);
}

/* Everything a test made is gone: every accounting counter is back at 0. */
static void expect_nothing_charged(struct __test_metadata *_metadata)
{
	EXPECT_EQ(0, ub_stat("charged_pages"));
	EXPECT_EQ(0, ub_stat("user_pages"));
	EXPECT_EQ(0, ub_stat("users"));
	EXPECT_EQ(0, users_listed());
}

/* ---- user_limit_mb --------------------------------------------------------- */

#define LIST_ITEMS	1024
#define RANGE		(64 << 10)	/* one 64 KiB memfd range, listed again and again */
#define LIST_BUFS	24
#define LIMIT_MB	256

struct list_result {
	int created;	/* buffers made before the first failure */
	int err;	/* that failure's errno, 0 if none */
};

/*
 * As uid 65534: up to LIST_BUFS buffers, each listing the same 64 KiB
 * memfd range LIST_ITEMS times (64 MiB each, for 64 KiB of memory). Reports
 * the result on @out, then holds the buffers until @hold closes.
 */
static int list_child(int dev, int memfd, int out, int hold)
{
	struct udmabuf_create_list *l;
	struct list_result r = { 0 };
	int i, fd;
	char c;

	if (drop_to(NOBODY))
		return 10;
	l = calloc(1, sizeof(*l) + LIST_ITEMS * sizeof(l->list[0]));
	if (!l)
		return 11;
	l->count = LIST_ITEMS;
	for (i = 0; i < LIST_ITEMS; i++)
		l->list[i] = (struct udmabuf_create_item){
			.memfd = memfd, .offset = 0, .size = RANGE,
		};
	for (i = 0; i < LIST_BUFS; i++) {
		fd = ioctl(dev, UDMABUF_CREATE_LIST, l);
		if (fd < 0) {
			r.err = errno;
			break;
		}
		r.created++;
	}
	if (write(out, &r, sizeof(r)) != sizeof(r))
		return 12;
	(void)!read(hold, &c, 1);	/* until the parent closes it */
	return 0;
}

/* As @uid, a 4 KiB memfd buffer: 0 or -errno. */
static int small_buffer_as(int dev, int memfd, uid_t uid)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (uid && drop_to(uid))
			_exit(10);
		fd = ub_create_memfd(dev, memfd, 0, UB_PAGE, 0);
		_exit(fd >= 0 ? 0 : -fd);
	}
	return -reap(pid);
}

/*
 * One user lists the same 64 KiB memfd range 1024 times in each of up to 24
 * buffers: the cap stops it at user_limit_mb (EDQUOT), counting the pages
 * of every item, and it never reaches another user, nor root.
 */
TEST_F(acct, user_limit_is_per_user)
{
	int memfd = ub_memfd(RANGE, F_SEAL_SHRINK, false);
	int res[2], hold[2];
	struct list_result r = { -1, -1 };
	long per_buf = LIST_ITEMS * (RANGE / UB_PAGE);
	pid_t pid;

	ASSERT_LE(0, memfd);
	self->user_limit = ub_param("user_limit_mb");
	ASSERT_LE(0, self->user_limit) TH_LOG("no user_limit_mb parameter");
	ASSERT_EQ(0, ub_set_param("user_limit_mb", LIMIT_MB));
	ASSERT_EQ(0, pipe(res));
	ASSERT_EQ(0, pipe(hold));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(hold[1]);
		_exit(list_child(self->dev, memfd, res[1], hold[0]));
	}
	close(hold[0]);
	close(res[1]);
	ASSERT_EQ(sizeof(r), read(res[0], &r, sizeof(r)))
		TH_LOG("the uid %d child did not report", NOBODY);

	/* Four 64 MiB buffers fit in 256 MiB; the fifth is EDQUOT. */
	EXPECT_EQ(LIMIT_MB / 64, r.created);
	EXPECT_EQ(EDQUOT, r.err);
	EXPECT_EQ(r.created * per_buf, users_pages(NOBODY));
	EXPECT_EQ(r.created * per_buf, ub_stat("user_pages"));
	EXPECT_EQ(1, ub_stat("users"));
	EXPECT_EQ(0, ub_stat("charged_pages"));

	/* Meanwhile: another user, and root. */
	EXPECT_EQ(0, small_buffer_as(self->dev, memfd, OTHER_USER));
	EXPECT_EQ(0, small_buffer_as(self->dev, memfd, 0));
	EXPECT_EQ(0, users_pages(OTHER_USER));

	close(hold[1]);
	EXPECT_EQ(0, reap(pid));
	close(res[0]);
	close(memfd);
	expect_nothing_charged(_metadata);
}

/* ---- RLIMIT_MEMLOCK ---------------------------------------------------------- */

struct memlock_result {
	int pin, move, copy;	/* 0 or -errno */
	int memfd_item;		/* a memfd item of UDMABUF_EXT_CREATE */
	int memfd_upstream;	/* the same memfd through UDMABUF_CREATE */
	long vmpin_kb;
	int data_kept;		/* the MOVE range still holds its bytes */
};

/*
 * Under RLIMIT_MEMLOCK = 64 KiB, a 16 MiB PIN, MOVE (which used to go
 * uncharged), COPY and memfd item of UDMABUF_EXT_CREATE all fail with
 * ENOMEM, charging nothing: not the module's counters, not the process's
 * VmPin, and the MOVE range keeps its data. The same memfd through the
 * upstream ABI works: it counts against user_limit_mb instead.
 */
#define MEMLOCK_TRY	(16 << 20)

/* An fd's result as 0 or -errno, the fd closed. */
static int result(int fd)
{
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int memlock_child(int dev, void *res)
{
	struct memlock_result *r = res;
	struct udmabuf_ext_item it = { .kind = UDMABUF_EXT_ITEM_MEMFD };
	int memfd;
	uint8_t *p;

	if (drop_to(NOBODY) || set_memlock(MEMLOCK_LIMIT))
		return -1;
	p = filled(MEMLOCK_TRY, 1);
	memfd = ub_memfd(MEMLOCK_TRY, F_SEAL_SHRINK, false);
	if (!p || memfd < 0)
		return -1;
	r->pin = result(ub_ext_create_user(dev, p, MEMLOCK_TRY,
					   UDMABUF_EXT_MODE_PIN, 0));
	r->move = result(ub_ext_create_user(dev, p, MEMLOCK_TRY,
					    UDMABUF_EXT_MODE_MOVE, 0));
	r->copy = result(ub_ext_create_user(dev, p, MEMLOCK_TRY,
					    UDMABUF_EXT_MODE_COPY, 0));
	it.memfd = memfd;
	it.size = MEMLOCK_TRY;
	r->memfd_item = result(ub_ext_create(dev, &it, 1, UDMABUF_EXT_MODE_PIN,
					     0, NULL));
	r->vmpin_kb = ub_vm_pin_kb();
	r->data_kept = ub_check(p, MEMLOCK_TRY, 1) == -1;
	/* Upstream's ABI is not charged to RLIMIT_MEMLOCK (QEMU relies on it). */
	r->memfd_upstream = result(ub_create_memfd(dev, memfd, 0, MEMLOCK_TRY, 0));
	close(memfd);
	return 0;
}

TEST_F(acct, memlock_limits_every_extended_create)
{
	struct memlock_result r = { 1, 1, 1, 1, 1, -1, 0 };

	ASSERT_EQ(0, in_child(memlock_child, self->dev, &r, sizeof(r)));
	EXPECT_EQ(-ENOMEM, r.pin);
	EXPECT_EQ(-ENOMEM, r.move);
	EXPECT_EQ(-ENOMEM, r.copy);
	EXPECT_EQ(-ENOMEM, r.memfd_item);
	EXPECT_EQ(0, r.vmpin_kb);
	EXPECT_TRUE(r.data_kept);
	EXPECT_EQ(0, r.memfd_upstream);
	expect_nothing_charged(_metadata);
}

#define NR_CHILDREN	64
#define CHILD_PAGES	12	/* 48 KiB each, under a 64 KiB limit */

struct child_msg {
	int ret;		/* the create's fd or -errno */
	long vmpin_kb;		/* the creator's VmPin right after */
};

/*
 * 64 children of uid 65534 each pin 48 KiB under RLIMIT_MEMLOCK = 64 KiB,
 * all at once, pass their buffers to the parent and exit. The limit is the
 * user's, not each process's: at most 64 KiB ends up pinned in all (one
 * buffer), by the module's count and by the buffers' own, and stays charged
 * after its creator exited. The creator's VmPin showed its charge.
 */
TEST_F(acct, memlock_is_per_user_across_processes)
{
	struct udmabuf_ext_info info;
	int sv[2], go[2], i, fd, ok = 0, enomem = 0, fds[NR_CHILDREN];
	long charged = 0, creator_pin = -1;
	pid_t pids[NR_CHILDREN];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < NR_CHILDREN; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			struct child_msg m = { -EPERM, -1 };
			uint8_t *p;
			char c;

			close(go[1]);
			if (!drop_to(NOBODY) && !set_memlock(MEMLOCK_LIMIT) &&
			    (p = filled(CHILD_PAGES * UB_PAGE, i))) {
				(void)!read(go[0], &c, 1);	/* all start together */
				m.ret = ub_ext_create_user(self->dev, p,
							   CHILD_PAGES * UB_PAGE,
							   UDMABUF_EXT_MODE_PIN, 0);
				m.vmpin_kb = ub_vm_pin_kb();
			}
			_exit(send_with_fd(sv[1], &m, sizeof(m), m.ret) ? 1 : 0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < NR_CHILDREN; i++) {
		struct child_msg m;

		fds[i] = -1;
		ASSERT_EQ(0, recv_with_fd(sv[0], &m, sizeof(m), &fd));
		if (m.ret >= 0) {
			ASSERT_LE(0, fd);
			fds[ok++] = fd;
			creator_pin = m.vmpin_kb;
		} else if (m.ret == -ENOMEM) {
			enomem++;
		} else {
			TH_LOG("child: %s", strerror(-m.ret));
		}
	}
	for (i = 0; i < NR_CHILDREN; i++)
		EXPECT_EQ(0, reap(pids[i]));

	/* 48 KiB fit in 64 KiB once; every other child was refused. */
	EXPECT_EQ(1, ok);
	EXPECT_EQ(NR_CHILDREN - 1, enomem);
	for (i = 0; i < ok; i++) {
		ASSERT_EQ(0, ub_info(self->dev, fds[i], &info));
		charged += info.nr_charged;
	}
	EXPECT_GE(MEMLOCK_LIMIT / UB_PAGE, charged);
	EXPECT_EQ(charged, ub_stat("charged_pages"));
	EXPECT_EQ(CHILD_PAGES, charged);
	EXPECT_EQ(CHILD_PAGES * UB_PAGE / 1024, creator_pin);
	EXPECT_EQ(0, ub_stat("user_pages"));

	for (i = 0; i < ok; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	expect_nothing_charged(_metadata);
}

struct cap_result {
	int big;		/* 1 MiB PIN with CAP_IPC_LOCK: 0 or -errno */
	long big_pin_kb;	/* VmPin after it */
	long big_charged;	/* its nr_charged */
	long stat_charged;	/* charged_pages after it */
	int small;		/* 48 KiB PIN without the capability */
	int over;		/* 80 KiB PIN without the capability */
};

/*
 * CAP_IPC_LOCK keeps its meaning: root with it pins 1 MiB beyond a 64 KiB
 * RLIMIT_MEMLOCK, which its VmPin and the buffer still show, but which is
 * not charged to root's locked_vm: the same user without the capability
 * then still pins 48 KiB, and is refused 80 KiB.
 */
#define CAP_BIG		(1 << 20)

static int cap_child(int dev, void *res)
{
	struct udmabuf_ext_info info = { 0 };
	uint8_t *p = filled(CAP_BIG, 2), *q = filled(20 * UB_PAGE, 3);
	struct cap_result *r = res;
	int fd;

	if (!p || !q || set_memlock(MEMLOCK_LIMIT))
		return -1;
	fd = ub_ext_create_user(dev, p, CAP_BIG, UDMABUF_EXT_MODE_PIN, 0);
	r->big = fd < 0 ? fd : 0;
	r->big_pin_kb = ub_vm_pin_kb();
	if (fd >= 0 && !ub_info(dev, fd, &info))
		r->big_charged = info.nr_charged;
	r->stat_charged = ub_stat("charged_pages");
	if (ub_drop_cap_ipc_lock())
		return -1;
	fd = ub_ext_create_user(dev, q, 12 * UB_PAGE, UDMABUF_EXT_MODE_PIN, 0);
	r->small = fd < 0 ? fd : 0;
	fd = ub_ext_create_user(dev, q, 20 * UB_PAGE, UDMABUF_EXT_MODE_PIN, 0);
	r->over = fd < 0 ? fd : 0;
	return 0;
}

TEST_F(acct, cap_ipc_lock_is_exempt_and_shown)
{
	struct cap_result r = { 1, -1, -1, -1, 1, 1 };

	ASSERT_EQ(0, in_child(cap_child, self->dev, &r, sizeof(r)));
	EXPECT_EQ(0, r.big);
	EXPECT_EQ(CAP_BIG >> 10, r.big_pin_kb);
	EXPECT_EQ(CAP_BIG / UB_PAGE, r.big_charged);
	EXPECT_EQ(CAP_BIG / UB_PAGE, r.stat_charged);
	EXPECT_EQ(0, r.small);
	EXPECT_EQ(-ENOMEM, r.over);
	expect_nothing_charged(_metadata);
}

/*
 * What an unprivileged user's buffers count, and that all of it goes with
 * them: a PIN and a COPY (charged to RLIMIT_MEMLOCK) and an upstream-ABI
 * memfd buffer (counted against user_limit_mb), as uid 65534; then every
 * counter is back at zero.
 */
TEST_F(acct, counters_return_to_zero)
{
	int ok = 0, memfd = ub_memfd(4 * UB_PAGE, F_SEAL_SHRINK, false);
	int res[2], hold[2];
	pid_t pid;

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, pipe(res));
	ASSERT_EQ(0, pipe(hold));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t *p = filled(8 * UB_PAGE, 4);
		int a, b, m;
		char ch;

		close(hold[1]);
		if (!p || drop_to(NOBODY) || set_memlock(MEMLOCK_LIMIT))
			_exit(10);
		a = ub_ext_create_user(self->dev, p, 8 * UB_PAGE,
				       UDMABUF_EXT_MODE_PIN, 0);
		b = ub_ext_create_user(self->dev, p + 1, 2 * UB_PAGE,
				       UDMABUF_EXT_MODE_COPY, 0);
		m = ub_create_memfd(self->dev, memfd, 0, 4 * UB_PAGE, 0);
		ok = a >= 0 && b >= 0 && m >= 0;
		if (write(res[1], &ok, sizeof(ok)) != sizeof(ok))
			_exit(11);
		(void)!read(hold[0], &ch, 1);
		_exit(0);	/* the buffers go with the process */
	}
	close(hold[0]);
	close(res[1]);
	ASSERT_EQ(sizeof(ok), read(res[0], &ok, sizeof(ok)));
	EXPECT_TRUE(ok);
	/* 8 pinned + 3 copied (2 pages from byte 1); 4 of the memfd. */
	EXPECT_EQ(11, ub_stat("charged_pages"));
	EXPECT_EQ(4, ub_stat("user_pages"));
	EXPECT_EQ(1, ub_stat("users"));
	EXPECT_EQ(4, users_pages(NOBODY));
	EXPECT_EQ(1, users_listed());
	close(hold[1]);
	EXPECT_EQ(0, reap(pid));
	close(res[0]);
	close(memfd);
	expect_nothing_charged(_metadata);
}

TEST_HARNESS_MAIN
