// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory pressure and the OOM killer while buffers are live.
 *
 * A child process in a cgroup v2 group with memory.max creates buffers in
 * every mode (COPY: pages charged to its memory cgroup; PIN: its own
 * anonymous memory, charged to RLIMIT_MEMLOCK too; a /dev/udmabuf memfd
 * buffer; MOVE), hands some of their fds to the parent over a unix socket,
 * and then allocates memory until the OOM killer kills it. The parent
 * checks that:
 * - the child died by SIGKILL and memory.events counts an oom_kill;
 * - the buffers it was handed still hold the child's bytes, mapped and
 *   synced, after their creator is gone;
 * - once those are closed too, the module's counters are back where they
 *   started, and the group can be removed.
 *
 * The OOM killer's report includes a stack dump ("Call Trace:"), which the
 * runner's dmesg gate counts as a splat. So this test only runs when
 * UB_RACE_OOM=1 (tests/suites/oom sets it; see docs/security.md), and it
 * checks the kernel log itself: every "Call Trace" since it started must
 * belong to an OOM report, and nothing else may look like a splat.
 * OOM_ROUNDS (default 3) rounds run.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "race_util.h"
#include "kselftest_harness.h"

#define PG		UB_PAGE
#define CG_ROOT		"/sys/fs/cgroup"
#define MB		(1ul << 20)
#define NR_PASSED	4

static long read_key(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	size_t k = strlen(key);
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ' ')
			v = strtol(line + k + 1, NULL, 10);
	fclose(f);
	return v;
}

/* A cgroup v2 hierarchy with the memory controller, and our group in it. */
static int cg_setup(char *group, size_t len, unsigned long max_mb)
{
	char path[256], val[32];
	int ret;

	if (access(CG_ROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
		return -errno;
	ret = ub_write_str(CG_ROOT "/cgroup.subtree_control", "+memory");
	if (ret)
		return ret;
	snprintf(group, len, CG_ROOT "/ub-oom-%d", getpid());
	if (mkdir(group, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.max", group);
	snprintf(val, sizeof(val), "%lu", max_mb * MB);
	ret = ub_write_str(path, val);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/memory.swap.max", group);
	ub_write_str(path, "0");	/* absent without swap accounting */
	return 0;
}

static int send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * NR_PASSED)] = { 0 };
	char byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

static int recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * NR_PASSED)];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -errno ?: -EPROTO;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int) * n))
		return -EPROTO;
	memcpy(fds, CMSG_DATA(cm), sizeof(int) * n);
	return 0;
}

/* Sizes and seeds of what the child makes; the parent checks the bytes. */
static const struct {
	uint32_t mode;
	size_t len;
	bool memfd;
} made[NR_PASSED] = {
	{ UDMABUF_EXT_MODE_COPY, 16 * MB, false },
	{ UDMABUF_EXT_MODE_PIN, 16 * MB, false },
	{ UDMABUF_EXT_MODE_PIN, 8 * MB, true },
	{ UDMABUF_EXT_MODE_MOVE, 8 * MB, false },
};

/* The victim: make the buffers, pass them on, then eat memory until killed. */
static int victim(const char *group, int sock, int dev, int round)
{
	char path[256], pid[16];
	int fds[NR_PASSED], i;
	uint8_t *p;

	snprintf(path, sizeof(path), "%s/cgroup.procs", group);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (ub_write_str(path, pid))
		return 10;
	for (i = 0; i < NR_PASSED; i++) {
		if (made[i].memfd) {
			int mfd = ub_memfd(made[i].len, F_SEAL_SHRINK, false);

			p = mmap(NULL, made[i].len, PROT_READ | PROT_WRITE, MAP_SHARED,
				 mfd, 0);
			if (mfd < 0 || p == MAP_FAILED)
				return 11;
			ub_fill(p, made[i].len, round * 16 + i);
			fds[i] = ub_create_memfd(dev, mfd, 0, made[i].len, 0);
			munmap(p, made[i].len);
			close(mfd);
		} else {
			p = mmap(NULL, made[i].len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				return 11;
			ub_fill(p, made[i].len, round * 16 + i);
			fds[i] = ub_ext_create_user(dev, p, made[i].len, made[i].mode, 0);
			/* PIN: keep the mapping (the pages are shared with it). */
			if (made[i].mode != UDMABUF_EXT_MODE_PIN)
				munmap(p, made[i].len);
		}
		if (fds[i] < 0) {
			fprintf(stderr, "# victim: create %d: %s\n", i, strerror(-fds[i]));
			return 12;
		}
	}
	/* Every other round, the buffers die with their creator. */
	if (round & 1 && send_fds(sock, fds, NR_PASSED))
		return 13;
	if (!(round & 1) && send(sock, "n", 1, 0) != 1)
		return 13;
	for (;;) {
		p = mmap(NULL, 4 * MB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			usleep(1000);
	}
}

/* Splats in the kernel log since @fd was opened, other than OOM reports. */
static int kmsg_non_oom_splats(int fd, int *oom_reports)
{
	static const char * const pat[] = {
		"WARNING:", "BUG:", "Call Trace", "Oops", "general protection",
		"KASAN", "UBSAN", "unreferenced object", "cut here",
		"possible circular locking", "possible recursive locking",
		"inconsistent lock state", "suspicious RCU usage",
		"blocked for more than", "soft lockup", "rcu: INFO",
	};
	bool in_oom = false;
	char rec[2048];
	int n = 0;
	ssize_t len;
	size_t i;

	*oom_reports = 0;
	for (;;) {
		char *msg;

		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		/* An OOM report runs from "invoked oom-killer" to the kill. */
		if (strstr(msg, "invoked oom-killer:")) {
			in_oom = true;
			(*oom_reports)++;
			continue;
		}
		if (in_oom && (strstr(msg, "Memory cgroup out of memory: Killed process") ||
			       strstr(msg, "Out of memory: Killed process"))) {
			in_oom = false;
			continue;
		}
		if (in_oom)
			continue;	/* the report itself, stack dump included */
		for (i = 0; i < sizeof(pat) / sizeof(pat[0]); i++) {
			if (strstr(msg, pat[i])) {
				ksft_print_msg("kernel: %s", msg);
				n++;
				break;
			}
		}
	}
	return n;
}

TEST(oom_kills_the_creator_and_nothing_leaks)
{
	int rounds = env_u64("OOM_ROUNDS", 3), r, i, sv[2], status, dev, kmsg;
	struct ub_counters before, after;
	uint64_t kills = 0, survivors_checked = 0;
	char group[128], path[256];
	long oom0, oom1;
	int oom_reports = 0;
	pid_t pid;
	int bad;

	if (!getenv("UB_RACE_OOM"))
		SKIP(return, "UB_RACE_OOM not set: runs in tests/suites/oom only (the OOM report trips the dmesg gate)");
	dev = open(UB_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	r = cg_setup(group, sizeof(group), 96);
	if (r)
		SKIP(return, "no cgroup v2 memory controller: %s", strerror(-r));
	snprintf(path, sizeof(path), "%s/memory.events", group);
	ASSERT_EQ(0, ub_counters_read(&before));
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, kmsg);
	lseek(kmsg, 0, SEEK_END);

	for (r = 0; r < rounds; r++) {
		int fds[NR_PASSED];
		char c;

		oom0 = read_key(path, "oom_kill");
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			close(sv[0]);
			_exit(victim(group, sv[1], dev, r));
		}
		close(sv[1]);
		if (r & 1) {
			ASSERT_EQ(0, recv_fds(sv[0], fds, NR_PASSED));
		} else {
			ASSERT_EQ(1, recv(sv[0], &c, 1, 0));
		}
		close(sv[0]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("round %d: the victim %s %d", r,
			       WIFSIGNALED(status) ? "died of signal" : "exited with",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		oom1 = read_key(path, "oom_kill");
		EXPECT_LT(oom0, oom1) TH_LOG("memory.events oom_kill %ld -> %ld", oom0, oom1);
		kills++;
		if (r & 1) {
			/* The creator is gone; its buffers are intact. */
			for (i = 0; i < NR_PASSED; i++) {
				struct udmabuf_ext_info info;
				uint8_t *m;

				ASSERT_EQ(0, ub_info(dev, fds[i], &info));
				m = mmap(NULL, made[i].len, PROT_READ, MAP_SHARED, fds[i], 0);
				ASSERT_NE(MAP_FAILED, m);
				EXPECT_EQ(0, ub_sync(fds[i], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
				EXPECT_EQ(-1, ub_check(m, made[i].len, r * 16 + i))
					TH_LOG("round %d buffer %d lost the victim's bytes", r, i);
				EXPECT_EQ(0, ub_sync(fds[i], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
				munmap(m, made[i].len);
				close(fds[i]);
				survivors_checked++;
			}
		}
		bad = ub_counters_settle(&before, &after, 20);
		EXPECT_EQ(-1, bad) TH_LOG("round %d: %s is %ld, was %ld", r,
					  bad >= 0 ? ub_counter_names[bad] : "",
					  bad >= 0 ? after.v[bad] : 0,
					  bad >= 0 ? before.v[bad] : 0);
	}
	EXPECT_EQ(0, rmdir(group)) TH_LOG("rmdir %s: %s", group, strerror(errno));
	EXPECT_EQ(0, kmsg_non_oom_splats(kmsg, &oom_reports));
	ksft_print_msg("%llu OOM kills of a process holding 4 buffers (48 MiB, every mode) in a 96 MiB memory cgroup; %llu buffers checked intact after their creator was killed; %d OOM reports in the log, no other splat\n",
		       (unsigned long long)kills, (unsigned long long)survivors_checked,
		       oom_reports);
	close(kmsg);
	close(dev);
}

TEST_HARNESS_MAIN
