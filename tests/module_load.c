// SPDX-License-Identifier: GPL-2.0-only
/*
 * module_load: with udmabuf_ext.ko loaded, /dev/udmabuf-ext is the misc
 * device the module registered, with the expected owner and mode, and
 * ioctls it does not know fail with ENOTTY.
 *
 * Runs in the test guest (tests/guest/run-tests) as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "kselftest_harness.h"

#define DEV_PATH	"/dev/udmabuf-ext"
#define SYSFS_DEV	"/sys/class/misc/udmabuf-ext/dev"
#define MODULE_DIR	"/sys/module/udmabuf_ext"
#define DEV_MODE	0660u

/* An ioctl number in the driver's 'u' space that no version will define. */
#define UDMABUF_EXT_IOCTL_UNKNOWN	_IO('u', 0x7f)

TEST(module_is_loaded)
{
	struct stat st;

	ASSERT_EQ(0, stat(MODULE_DIR, &st)) {
		TH_LOG("%s: %s (is udmabuf_ext.ko loaded?)", MODULE_DIR,
		       strerror(errno));
	}
	ASSERT_TRUE(S_ISDIR(st.st_mode));
}

TEST(device_node)
{
	unsigned int major, minor;
	struct stat st;
	FILE *f;

	ASSERT_EQ(0, stat(DEV_PATH, &st)) {
		TH_LOG("%s: %s", DEV_PATH, strerror(errno));
	}
	EXPECT_TRUE(S_ISCHR(st.st_mode)) {
		TH_LOG("%s is not a character device (mode %o)", DEV_PATH,
		       (unsigned int)st.st_mode);
	}
	EXPECT_EQ(DEV_MODE, st.st_mode & 07777) {
		TH_LOG("%s has mode %04o, expected %04o", DEV_PATH,
		       (unsigned int)(st.st_mode & 07777), DEV_MODE);
	}
	EXPECT_EQ(0u, st.st_uid) {
		TH_LOG("%s is owned by uid %u, expected root", DEV_PATH,
		       (unsigned int)st.st_uid);
	}

	/* The node is the misc device the module registered, not a leftover. */
	f = fopen(SYSFS_DEV, "r");
	ASSERT_NE(NULL, f) {
		TH_LOG("%s: %s", SYSFS_DEV, strerror(errno));
	}
	ASSERT_EQ(2, fscanf(f, "%u:%u", &major, &minor));
	fclose(f);
	EXPECT_EQ(major, major(st.st_rdev));
	EXPECT_EQ(minor, minor(st.st_rdev));
}

TEST(unknown_ioctl_is_enotty)
{
	int fd, ret;

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) {
		TH_LOG("open %s: %s", DEV_PATH, strerror(errno));
	}
	errno = 0;
	ret = ioctl(fd, UDMABUF_EXT_IOCTL_UNKNOWN, 0);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ENOTTY, errno) {
		TH_LOG("unknown ioctl: errno %d (%s), expected ENOTTY", errno,
		       strerror(errno));
	}
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
