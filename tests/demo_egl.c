// SPDX-License-Identifier: GPL-2.0-only
/*
 * Why Mesa 22.3 cannot use a udmabuf-ext dma-buf as an EGL image on the
 * Cirrus display (tests/suites/demo; docs/demo.md, "The EGL verdict").
 *
 * Mesa has no DRI driver for cirrus and uses kms_swrast: llvmpipe rendering
 * into dumb buffers. Its winsys imports a dma-buf with
 * DRM_IOCTL_PRIME_FD_TO_HANDLE and maps it for the CPU with
 * DRM_IOCTL_MODE_MAP_DUMB + mmap of the DRM device
 * (kms_sw_displaytarget_add_from_prime, kms_sw_displaytarget_map). Linux
 * refuses DRM_IOCTL_MODE_MAP_DUMB on any imported GEM object
 * (drm_gem_dumb_map_offset: "Don't allow imported objects to be mapped"),
 * so the mapping fails; llvmpipe then reports GL_OUT_OF_MEMORY when the
 * image is read, and samples through a NULL pointer when it is drawn.
 *
 * These tests pin that down, so that a change on either side shows:
 *  - the kernel side, with the ioctls Mesa issues: the PRIME import of our
 *    buffer works, MAP_DUMB on it fails with EINVAL; exactly the same for a
 *    dma-buf of another exporter (vivid's vb2-vmalloc, VIDIOC_EXPBUF); a
 *    cirrus dumb buffer, even exported and imported again, maps; and our
 *    dma-buf's own mmap, which a mapping through the dma-buf would use,
 *    holds the image at the data offset;
 *  - Mesa's side, in a child process: eglCreateImageKHR succeeds,
 *    glReadPixels from the image fails with GL_OUT_OF_MEMORY, and drawing
 *    with it kills the process with SIGSEGV.
 */
#include "udmabuf_test.h"	/* first: it defines _GNU_SOURCE */
#include "demo_common.h"

#include <signal.h>
#include <xf86drm.h>
#include <gbm.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>

#include "kselftest_harness.h"

#define IMG_W	64
#define IMG_H	64

/* The first card driven by @driver, or -ENODEV; its path to @path. */
static int card_open(const char *driver, char *path, size_t len)
{
	int fd = ubm_drm_open(driver);
	char *name;

	if (fd < 0)
		return fd;
	name = drmGetDeviceNameFromFd2(fd);
	snprintf(path, len, "%s", name ? name : "?");
	free(name);
	return fd;
}

static int map_dumb(int card, uint32_t handle, uint64_t *offset)
{
	struct drm_mode_map_dumb m = { .handle = handle };

	if (drmIoctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m))
		return -errno;
	*offset = m.offset;
	return 0;
}

FIXTURE(egl) {
	int card;
	char path[32];
	int ext;
	struct demo_frame img;	/* IMG_W x IMG_H XRGB8888, malloc()'d, copied */
};

FIXTURE_SETUP(egl)
{
	uint8_t *data;
	int x, y;

	self->card = self->ext = -1;
	memset(&self->img, 0, sizeof(self->img));
	if (!demo_in_suite())
		SKIP(return, "runs in tests/suites/demo (%s)", DEMO_SUITE_ENV);
	self->card = card_open("cirrus", self->path, sizeof(self->path));
	ASSERT_LE(0, self->card) TH_LOG("no cirrus card (qemu -vga cirrus, modprobe cirrus)");
	self->ext = udmabuf_ext_open();
	ASSERT_LE(0, self->ext);
	data = malloc(IMG_W * IMG_H * 4);
	ASSERT_NE(NULL, data);
	for (y = 0; y < IMG_H; y++)
		for (x = 0; x < IMG_W; x++) {
			uint8_t *p = data + (y * IMG_W + x) * 4;

			p[0] = 0x20 + x;	/* B */
			p[1] = 0x40 + y;	/* G */
			p[2] = 0xc0;		/* R */
			p[3] = 0xff;
		}
	/* The texture is only read: a copy, at malloc()'s misalignment. */
	ASSERT_EQ(0, demo_frame_copy(self->ext, data, IMG_W * IMG_H * 4, &self->img));
	ASSERT_NE(0, self->img.data_offset) TH_LOG("malloc() gave a page-aligned pointer");
}

FIXTURE_TEARDOWN(egl)
{
	demo_frame_destroy(&self->img);
	if (self->ext >= 0)
		close(self->ext);
	if (self->card >= 0)
		close(self->card);
}

/* What kms_swrast does with an imported dma-buf, ioctl by ioctl. */
TEST_F(egl, kernel_refuses_map_dumb_of_any_import)
{
	struct drm_mode_create_dumb cd = { .width = 64, .height = 64, .bpp = 32 };
	struct v4l2_exportbuffer eb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	uint32_t h, h2, vh;
	uint64_t off;
	uint8_t *map;
	size_t len;
	char dev[64];
	int vfd, vbuf, fd;

	/* 6.1's harness runs the test body after a SKIP in the set-up. */
	if (_metadata->skip)
		return;

	/* 1. Our buffer: the import works, the dumb mapping is refused. */
	ASSERT_EQ(0, drmPrimeFDToHandle(self->card, self->img.fd, &h))
		TH_LOG("PRIME import into cirrus: %s", strerror(errno));
	EXPECT_EQ(-EINVAL, map_dumb(self->card, h, &off));

	/* 2. Another exporter's buffer: the very same refusal. */
	ASSERT_EQ(0, demo_vivid_setup(dev, sizeof(dev)));
	vfd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, vfd);
	ASSERT_EQ(0, ubm_reqbufs(vfd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 1));
	eb.index = 0;
	eb.flags = O_RDWR | O_CLOEXEC;
	ASSERT_EQ(0, ubm_xioctl(vfd, VIDIOC_EXPBUF, &eb));
	vbuf = eb.fd;
	ASSERT_EQ(0, drmPrimeFDToHandle(self->card, vbuf, &vh))
		TH_LOG("PRIME import of vivid's dma-buf: %s", strerror(errno));
	EXPECT_EQ(-EINVAL, map_dumb(self->card, vh, &off));
	drmCloseBufferHandle(self->card, vh);
	close(vbuf);
	ubm_reqbufs(vfd, V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_MEMORY_MMAP, 0);
	close(vfd);

	/* 3. cirrus's own buffer maps, even through a dma-buf round trip. */
	ASSERT_EQ(0, drmIoctl(self->card, DRM_IOCTL_MODE_CREATE_DUMB, &cd));
	EXPECT_EQ(0, map_dumb(self->card, cd.handle, &off));
	ASSERT_EQ(0, drmPrimeHandleToFD(self->card, cd.handle, DRM_CLOEXEC | DRM_RDWR, &fd));
	ASSERT_EQ(0, drmPrimeFDToHandle(self->card, fd, &h2));
	EXPECT_EQ(cd.handle, h2);	/* a self-import is the same object */
	EXPECT_EQ(0, map_dumb(self->card, h2, &off));
	close(fd);
	drmCloseBufferHandle(self->card, cd.handle);

	/*
	 * 4. A CPU mapping through the dma-buf itself works, and shows the
	 * image at the data offset (mmap is a page view): the offset an EGL
	 * importer mapping the buffer by pages must be given.
	 */
	map = udmabuf_ext_map(self->img.fd, PROT_READ, &len);
	ASSERT_NE(NULL, map) TH_LOG("mmap of the dma-buf: %s", strerror(errno));
	ASSERT_EQ(0, udmabuf_ext_cpu_begin(self->img.fd, DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, demo_first_diff(map + self->img.data_offset, self->img.data,
				      self->img.size));
	ASSERT_EQ(0, udmabuf_ext_cpu_end(self->img.fd, DMA_BUF_SYNC_READ));
	udmabuf_ext_unmap(map, len);
	drmCloseBufferHandle(self->card, h);
}

/* Child exit codes of the EGL probe. */
enum {
	CHILD_SAMPLED_OK = 0,	/* the import works: docs/demo.md is out of date */
	CHILD_SAMPLED_WRONG,
	CHILD_GL_ERROR,
	CHILD_NO_IMAGE,
	CHILD_SETUP,
};

/*
 * In the child: EGL (kms_swrast) on the card, the dma-buf imported at
 * @offset; the GL error of reading it back goes to @pipefd, then the image
 * is drawn and read back.
 */
static int egl_child(const char *path, const struct demo_frame *img,
		     uint32_t offset, int pipefd)
{
	static const EGLint ctx_attr[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	static const char vs[] =
		"attribute vec2 p; varying vec2 t;\n"
		"void main() { gl_Position = vec4(p, 0.0, 1.0); t = p * 0.5 + 0.5; }\n";
	static const char fs[] =
		"precision mediump float; uniform sampler2D s; varying vec2 t;\n"
		"void main() { gl_FragColor = texture2D(s, t); }\n";
	static const float quad[] = { -1, -1, 1, -1, 1, 1, -1, -1, 1, 1, -1, 1 };
	PFNEGLGETPLATFORMDISPLAYEXTPROC gpd;
	PFNEGLCREATEIMAGEKHRPROC create_image;
	PFNGLEGLIMAGETARGETTEXTURE2DOESPROC target;
	const EGLint attr[] = {
		EGL_WIDTH, IMG_W, EGL_HEIGHT, IMG_H,
		EGL_LINUX_DRM_FOURCC_EXT, DRM_FORMAT_XRGB8888,
		EGL_DMA_BUF_PLANE0_FD_EXT, img->fd,
		EGL_DMA_BUF_PLANE0_OFFSET_EXT, (EGLint)offset,
		EGL_DMA_BUF_PLANE0_PITCH_EXT, IMG_W * 4,
		EGL_NONE,
	};
	const char *src[2] = { vs, fs };
	GLuint tex, fbo, rt, prog, sh;
	struct gbm_device *gbm;
	EGLDisplay dpy;
	EGLContext ctx;
	EGLImageKHR eimg;
	uint8_t px[IMG_W * IMG_H * 4];
	GLenum e;
	int fd, i, x, y;

	setenv("MESA_LOADER_DRIVER_OVERRIDE", "kms_swrast", 1);
	fd = open(path, O_RDWR | O_CLOEXEC);
	gbm = fd >= 0 ? gbm_create_device(fd) : NULL;
	gpd = (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (!gbm || !gpd)
		return CHILD_SETUP;
	dpy = gpd(EGL_PLATFORM_GBM_KHR, gbm, NULL);
	if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, NULL, NULL) ||
	    !eglBindAPI(EGL_OPENGL_ES_API))
		return CHILD_SETUP;
	ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, ctx_attr);
	if (ctx == EGL_NO_CONTEXT || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
		return CHILD_SETUP;
	printf("# child: %s, %s\n", glGetString(GL_RENDERER), glGetString(GL_VERSION));
	create_image = (PFNEGLCREATEIMAGEKHRPROC)eglGetProcAddress("eglCreateImageKHR");
	target = (PFNGLEGLIMAGETARGETTEXTURE2DOESPROC)
		eglGetProcAddress("glEGLImageTargetTexture2DOES");
	eimg = create_image(dpy, EGL_NO_CONTEXT, EGL_LINUX_DMA_BUF_EXT, NULL, attr);
	if (eimg == EGL_NO_IMAGE_KHR)
		return CHILD_NO_IMAGE;
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	target(GL_TEXTURE_2D, eimg);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);

	/* Read the image back through a framebuffer object. */
	while (glGetError() != GL_NO_ERROR)
		;
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
	glReadPixels(0, 0, IMG_W, IMG_H, GL_RGBA, GL_UNSIGNED_BYTE, px);
	e = glGetError();
	if (write(pipefd, &e, sizeof(e)) != sizeof(e))
		return CHILD_SETUP;

	/* Draw with it into another texture and read that back. */
	glGenTextures(1, &rt);
	glBindTexture(GL_TEXTURE_2D, rt);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, IMG_W, IMG_H, 0, GL_RGBA,
		     GL_UNSIGNED_BYTE, NULL);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, rt, 0);
	prog = glCreateProgram();
	for (i = 0; i < 2; i++) {
		sh = glCreateShader(i ? GL_FRAGMENT_SHADER : GL_VERTEX_SHADER);
		glShaderSource(sh, 1, &src[i], NULL);
		glCompileShader(sh);
		glAttachShader(prog, sh);
	}
	glBindAttribLocation(prog, 0, "p");
	glLinkProgram(prog);
	glUseProgram(prog);
	glViewport(0, 0, IMG_W, IMG_H);
	glBindTexture(GL_TEXTURE_2D, tex);
	glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, quad);
	glEnableVertexAttribArray(0);
	fflush(stdout);
	glDrawArrays(GL_TRIANGLES, 0, 6);
	memset(px, 0, sizeof(px));
	glReadPixels(0, 0, IMG_W, IMG_H, GL_RGBA, GL_UNSIGNED_BYTE, px);
	if (glGetError() != GL_NO_ERROR)
		return CHILD_GL_ERROR;
	for (y = 0; y < IMG_H; y++)
		for (x = 0; x < IMG_W; x++) {
			const uint8_t *s = img->data + (y * IMG_W + x) * 4;
			const uint8_t *g = px + (y * IMG_W + x) * 4;

			if (g[0] != s[2] || g[1] != s[1] || g[2] != s[0])
				return CHILD_SAMPLED_WRONG;
		}
	return CHILD_SAMPLED_OK;
}

TEST_F(egl, mesa_kms_swrast_cannot_use_the_import)
{
	GLenum read_err = 0;
	int p[2], status;
	pid_t pid;

	/* 6.1's harness runs the test body after a SKIP in the set-up. */
	if (_metadata->skip)
		return;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		_exit(egl_child(self->path, &self->img, self->img.data_offset, p[1]));
	}
	close(p[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (read(p[0], &read_err, sizeof(read_err)) != sizeof(read_err))
		read_err = 0;
	close(p[0]);

	ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SAMPLED_OK)
		TH_LOG("Mesa now samples the imported dma-buf correctly: update docs/demo.md "
		       "(the EGL verdict) and this test");
	ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SETUP)
		TH_LOG("EGL on GBM on %s could not be set up", self->path);
	ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NO_IMAGE)
		TH_LOG("eglCreateImageKHR refused the dma-buf (it accepted it so far)");
	/* The documented behaviour, exactly. */
	EXPECT_EQ(GL_OUT_OF_MEMORY, read_err)
		TH_LOG("glReadPixels from the imported image: GL error %#x", read_err);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		TH_LOG("drawing with the imported image: status %#x, not SIGSEGV", status);
	ksft_print_msg("eglCreateImageKHR ok; glReadPixels of it: GL_OUT_OF_MEMORY; "
		       "drawing with it: %s\n", WIFSIGNALED(status) ?
		       strsignal(WTERMSIG(status)) : "no crash");
}

TEST_HARNESS_MAIN
