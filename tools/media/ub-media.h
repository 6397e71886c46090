/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ub-media: the V4L2 and DRM set-up that the tests (tests/), the demo
 * (tools/demo/) and the benchmark (tools/bench/) share: finding vivid, vgem
 * and cirrus nodes, vivid's controls (found by name, and what differs
 * between kernels discovered here, in one place), and the V4L2 streaming
 * calls.  DRM itself is libdrm's (xf86drm.h); this only picks the card.
 *
 * Every function that can fail returns 0 (or an fd) or a negative errno.
 * Build: compile tools/media/ub-media.c with the program, -I tools/media,
 * and libdrm from pkg-config.
 */
#ifndef UB_MEDIA_H
#define UB_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/videodev2.h>

/* ---- V4L2 ---------------------------------------------------------------- */

/* ioctl() restarted on EINTR: 0 or -errno. */
int ubm_xioctl(int fd, unsigned long req, void *arg);

/* The node's own capabilities (device_caps when the driver has them). */
uint32_t ubm_dev_caps(const struct v4l2_capability *cap);

/* What ubm_video_open() found. */
struct ubm_video {
	char path[32];		/* /dev/videoN */
	char bus[32];		/* bus_info: nodes of one vivid instance share it */
};

/*
 * Open (O_RDWR | O_NONBLOCK | O_CLOEXEC) the first /dev/videoN whose
 * device capabilities include all of @want, whose driver is @driver (any if
 * NULL) and whose bus_info is @bus (any if NULL or empty); @found (if not
 * NULL) says which.  Returns the fd or -ENODEV.
 */
int ubm_video_open(const char *driver, uint32_t want, const char *bus,
		   struct ubm_video *found);

/* Find the control called @name: 0 and *@q, or -ENOENT. */
int ubm_ctrl_find(int fd, const char *name, struct v4l2_query_ext_ctrl *q);

/*
 * Set the control called @name to @value or, for a menu control, to the
 * item called @item (if not NULL); read it back.  -ENOENT if the control
 * or the item is missing, -EIO if the value did not stick.
 */
int ubm_ctrl_set(int fd, const char *name, const char *item, int32_t value);

/*
 * vivid's picture made deterministic for byte-for-byte comparisons: "100%
 * Color Squares" (it varies along both axes), no movement, no border or
 * square, no OSD text (a running timestamp and frame counter otherwise),
 * the whole frame filled.
 */
int ubm_vivid_still_picture(int fd);

/*
 * vivid's video loopback from the output node @out to the capture node
 * @cap (their current output and input, HDMI or S-Video, of one instance)
 * on or off.  In 6.1 a "Loop Video" control of the capture node does it;
 * in 6.12 each input has an "<type> <instance>-<n> Is Connected To" menu
 * naming the output that feeds it ("Output <type> <instance>-<m>") or
 * "Test Pattern Generator".  Which one the kernel has is found out here.
 * @out may be -1 to turn the loop off.
 */
int ubm_vivid_loop(int cap, int out, bool on);

/* VIDIOC_REQBUFS of @count buffers; -ENOBUFS if the driver gave fewer. */
int ubm_reqbufs(int fd, uint32_t type, uint32_t memory, uint32_t count);

int ubm_stream(int fd, uint32_t type, bool on);

/*
 * QBUF of any memory type; @ptr_or_fd is the dma-buf fd (DMABUF) or the
 * address (USERPTR), ignored for MMAP.
 */
int ubm_qbuf(int fd, uint32_t type, uint32_t memory, uint32_t index,
	     uintptr_t ptr_or_fd, uint32_t length, uint32_t bytesused);

/*
 * DQBUF on a non-blocking node, waiting up to @timeout_ms for a buffer:
 * -ETIMEDOUT then; a buffer flagged V4L2_BUF_FLAG_ERROR is -EIO.
 */
int ubm_dqbuf(int fd, uint32_t type, uint32_t memory, struct v4l2_buffer *b,
	      int timeout_ms);

/* ---- DRM ----------------------------------------------------------------- */

/*
 * Open the first /dev/dri/card* driven by @driver ("vgem", "cirrus", ...,
 * as drmGetVersion() names it): the fd or -ENODEV.
 */
int ubm_drm_open(const char *driver);

#endif /* UB_MEDIA_H */
