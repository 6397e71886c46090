// SPDX-License-Identifier: GPL-2.0-only
/*
 * ub-media: V4L2 and DRM set-up shared by the tests, the demo and the
 * benchmark (ub-media.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <xf86drm.h>

#include "ub-media.h"

#define UBM_NODES	64

int ubm_xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r == -1 && errno == EINTR);
	return r ? -errno : 0;
}

uint32_t ubm_dev_caps(const struct v4l2_capability *cap)
{
	return (cap->capabilities & V4L2_CAP_DEVICE_CAPS) ?
	       cap->device_caps : cap->capabilities;
}

int ubm_video_open(const char *driver, uint32_t want, const char *bus,
		   struct ubm_video *found)
{
	struct v4l2_capability cap;
	char path[32];
	int i, fd;

	for (i = 0; i < UBM_NODES; i++) {
		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!ubm_xioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    (ubm_dev_caps(&cap) & want) == want &&
		    (!driver || !strcmp((char *)cap.driver, driver)) &&
		    (!bus || !bus[0] ||
		     !strncmp(bus, (char *)cap.bus_info, sizeof(cap.bus_info)))) {
			if (found) {
				snprintf(found->path, sizeof(found->path), "%s", path);
				snprintf(found->bus, sizeof(found->bus), "%.*s",
					 (int)sizeof(cap.bus_info),
					 (char *)cap.bus_info);
			}
			return fd;
		}
		close(fd);
	}
	return -ENODEV;
}

int ubm_ctrl_find(int fd, const char *name, struct v4l2_query_ext_ctrl *q)
{
	const uint32_t next = V4L2_CTRL_FLAG_NEXT_CTRL |
			      V4L2_CTRL_FLAG_NEXT_COMPOUND;

	memset(q, 0, sizeof(*q));
	q->id = next;
	while (!ubm_xioctl(fd, VIDIOC_QUERY_EXT_CTRL, q)) {
		if (!strcmp(q->name, name))
			return 0;
		q->id |= next;
	}
	return -ENOENT;
}

int ubm_ctrl_set(int fd, const char *name, const char *item, int32_t value)
{
	struct v4l2_query_ext_ctrl q;
	struct v4l2_control c;
	int ret = ubm_ctrl_find(fd, name, &q);

	if (ret)
		return ret;
	if (item) {
		struct v4l2_querymenu m;
		int64_t i;

		value = -1;
		for (i = q.minimum; i <= q.maximum; i++) {
			memset(&m, 0, sizeof(m));
			m.id = q.id;
			m.index = i;
			if (!ubm_xioctl(fd, VIDIOC_QUERYMENU, &m) &&
			    !strcmp((char *)m.name, item)) {
				value = i;
				break;
			}
		}
		if (value < 0)
			return -ENOENT;
	}
	c = (struct v4l2_control){ .id = q.id, .value = value };
	ret = ubm_xioctl(fd, VIDIOC_S_CTRL, &c);
	if (ret)
		return ret;
	c.value = ~value;
	ret = ubm_xioctl(fd, VIDIOC_G_CTRL, &c);
	if (ret)
		return ret;
	return c.value == value ? 0 : -EIO;
}

int ubm_vivid_still_picture(int fd)
{
	static const struct { const char *name, *item; int32_t value; } s[] = {
		{ "Test Pattern", "100% Color Squares", 0 },
		{ "OSD Text Mode", "None", 0 },
		{ "Horizontal Movement", "No Movement", 0 },
		{ "Vertical Movement", "No Movement", 0 },
		{ "Show Border", NULL, 0 },
		{ "Show Square", NULL, 0 },
		{ "Fill Percentage of Frame", NULL, 100 },
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		ret = ubm_ctrl_set(fd, s[i].name, s[i].item, s[i].value);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The current input's or output's kind and number from its name ("HDMI 0",
 * "S-Video 1"): 0, or -ENOENT for another kind (a webcam).
 */
static int io_name(int fd, bool output, char kind[16], unsigned int *n)
{
	char name[32];
	int idx, ret;

	ret = ubm_xioctl(fd, output ? VIDIOC_G_OUTPUT : VIDIOC_G_INPUT, &idx);
	if (ret)
		return ret;
	if (output) {
		struct v4l2_output o = { .index = idx };

		ret = ubm_xioctl(fd, VIDIOC_ENUMOUTPUT, &o);
		snprintf(name, sizeof(name), "%s", (char *)o.name);
	} else {
		struct v4l2_input in = { .index = idx };

		ret = ubm_xioctl(fd, VIDIOC_ENUMINPUT, &in);
		snprintf(name, sizeof(name), "%s", (char *)in.name);
	}
	if (ret)
		return ret;
	if (sscanf(name, "HDMI %u", n) == 1)
		snprintf(kind, 16, "HDMI");
	else if (sscanf(name, "S-Video %u", n) == 1)
		snprintf(kind, 16, "S-Video");
	else
		return -ENOENT;
	return 0;
}

int ubm_vivid_loop(int cap, int out, bool on)
{
	const uint32_t next = V4L2_CTRL_FLAG_NEXT_CTRL |
			      V4L2_CTRL_FLAG_NEXT_COMPOUND;
	struct v4l2_query_ext_ctrl q;
	unsigned int in_n, out_n, inst, n;
	char kind[16], okind[16], want[64], item[64];
	int ret, len;

	/* 6.1. */
	if (!ubm_ctrl_find(cap, "Loop Video", &q))
		return ubm_ctrl_set(cap, "Loop Video", NULL, on);

	/* 6.12: the current input's "... Is Connected To" menu. */
	ret = io_name(cap, false, kind, &in_n);
	if (ret == -ENOENT && !on)
		return 0;	/* a webcam input loops nothing */
	if (ret)
		return ret;
	memset(&q, 0, sizeof(q));
	q.id = next;
	while (!ubm_xioctl(cap, VIDIOC_QUERY_EXT_CTRL, &q)) {
		snprintf(want, sizeof(want), "%s %%u-%%u Is Connected To%%n", kind);
		len = -1;
		if (sscanf(q.name, want, &inst, &n, &len) == 2 && len > 0 &&
		    !q.name[len] && n == in_n)
			break;
		q.id |= next;
	}
	if (len <= 0 || q.name[len] || n != in_n)
		return -ENOENT;
	if (!on)
		return ubm_ctrl_set(cap, q.name, "Test Pattern Generator", 0);
	ret = io_name(out, true, okind, &out_n);
	if (ret)
		return ret;
	if (strcmp(kind, okind))
		return -EINVAL;	/* vivid loops HDMI to HDMI, S-Video to S-Video */
	snprintf(item, sizeof(item), "Output %s %03u-%u", kind, inst, out_n);
	return ubm_ctrl_set(cap, q.name, item, 0);
}

int ubm_reqbufs(int fd, uint32_t type, uint32_t memory, uint32_t count)
{
	struct v4l2_requestbuffers r = {
		.count = count, .type = type, .memory = memory,
	};
	int ret = ubm_xioctl(fd, VIDIOC_REQBUFS, &r);

	if (ret)
		return ret;
	/* Drivers may round up (vivid's output queue: at least 2). */
	return (count ? r.count >= count : r.count == 0) ? 0 : -ENOBUFS;
}

int ubm_stream(int fd, uint32_t type, bool on)
{
	int t = type;

	return ubm_xioctl(fd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &t);
}

int ubm_qbuf(int fd, uint32_t type, uint32_t memory, uint32_t index,
	     uintptr_t ptr_or_fd, uint32_t length, uint32_t bytesused)
{
	struct v4l2_buffer b = {
		.index = index, .type = type, .memory = memory,
		.bytesused = bytesused, .length = length,
	};

	if (memory == V4L2_MEMORY_DMABUF)
		b.m.fd = (int)ptr_or_fd;
	else if (memory == V4L2_MEMORY_USERPTR)
		b.m.userptr = ptr_or_fd;
	return ubm_xioctl(fd, VIDIOC_QBUF, &b);
}

int ubm_dqbuf(int fd, uint32_t type, uint32_t memory, struct v4l2_buffer *b,
	      int timeout_ms)
{
	struct pollfd p = {
		.fd = fd,
		.events = type == V4L2_BUF_TYPE_VIDEO_OUTPUT ? POLLOUT : POLLIN,
	};
	int ret;

	for (;;) {
		memset(b, 0, sizeof(*b));
		b->type = type;
		b->memory = memory;
		ret = ubm_xioctl(fd, VIDIOC_DQBUF, b);
		if (ret != -EAGAIN)
			break;
		ret = poll(&p, 1, timeout_ms);
		if (ret == 0)
			return -ETIMEDOUT;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
	if (!ret && (b->flags & V4L2_BUF_FLAG_ERROR))
		return -EIO;
	return ret;
}

int ubm_drm_open(const char *driver)
{
	char path[32];
	int i, fd;

	for (i = 0; i < UBM_NODES; i++) {
		drmVersionPtr v;
		bool match;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		match = v && !strcmp(v->name, driver);
		drmFreeVersion(v);
		if (match)
			return fd;
		close(fd);
	}
	return -ENODEV;
}
