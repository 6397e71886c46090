// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-cube: a kmscube-style spinning cube textured from a malloc()'d
 * image imported into EGL as a dma-buf.
 *
 * The texture is plain malloc()'d memory (not page aligned) copied into a
 * dma-buf by udmabuf-ext (COPY mode: a texture is made once, then only
 * read; a GPU import maps the buffer for writing too, and devices may only
 * write whole pages of memory that is page aligned at both ends, which a
 * malloc()'d block is not), imported with EGL_EXT_image_dma_buf_import
 * (eglCreateImageKHR(EGL_LINUX_DMA_BUF_EXT)) and bound with
 * glEGLImageTargetTexture2DOES. The plumbing is kmscube's: GBM surface on
 * the KMS device, EGL on GBM, GLES2, drmModeAddFB2 of the front buffer,
 * drmModeSetCrtc, then drmModePageFlip.
 *
 * The import is checked before the cube is drawn: the texture is drawn
 * into a framebuffer object and read back; it must equal the malloc()'d
 * image. When it does not (Mesa's kms_swrast cannot map imported buffers
 * on Linux 6.1, see docs/demo.md), the program says why, probing the
 * kernel the way Mesa does, and with --fallback (the default) draws the
 * cube anyway with the same pixels uploaded by glTexImage2D, so that the
 * rest of the plumbing is still shown; the exit status then says so.
 *
 * With --screenshot, the screenshot taken while the last frame is on screen
 * must contain the texture's colours.
 */
#define _GNU_SOURCE
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <xf86drm.h>
#include <xf86drmMode.h>
#include <gbm.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <GLES2/gl2ext.h>

#include "udmabuf-ext-lib.h"
#include "demo-util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_CHECK	3	/* a content check failed */
#define EXIT_FALLBACK	4	/* the import was unusable; cube drawn by upload */

#define TEX_SIZE	256
#define TEX_CELL	32
/* The texture's colours (R, G, B); the background is none of them. */
static const uint8_t tex_colors[4][3] = {
	{ 0xe0, 0x30, 0x30 },	/* red */
	{ 0x30, 0xc0, 0x40 },	/* green */
	{ 0x30, 0x50, 0xe0 },	/* blue */
	{ 0xf0, 0xd0, 0x20 },	/* yellow */
};
static const char * const tex_color_names[4] = { "red", "green", "blue", "yellow" };
static const uint8_t bg_color[3] = { 0x20, 0x20, 0x28 };
/* Pixels of each texture colour the screenshot must contain. */
#define MIN_PIXELS	200

enum tex_offset { TEX_OFFSET_DATA, TEX_OFFSET_ZERO };

struct opts {
	const char *card;
	const char *outdir;
	const char *on_shown;
	const char *screenshot;
	unsigned int frames;
	unsigned int mode_w, mode_h;
	unsigned int hold;
	enum tex_offset tex_offset;
	bool fallback;
};

struct display {
	int fd;
	char path[32];
	uint32_t conn_id, crtc_id;
	drmModeModeInfo mode;
	drmModeCrtc *saved;
	struct gbm_device *gbm;
	struct gbm_surface *gs;
	EGLDisplay dpy;
	EGLConfig config;
	EGLContext ctx;
	EGLSurface surf;
	bool crtc_set;
	bool flip_pending;
};

/* The malloc()'d texture and its dma-buf, a copy of it. */
struct texture {
	uint8_t *data;		/* malloc() pointer, XRGB8888 rows */
	size_t pitch, size;
	int fd;
	uint32_t data_offset;
};

static FILE *summary;

static void summary_kv(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void summary_kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (!summary)
		return;
	fprintf(summary, "%s=", key);
	va_start(ap, fmt);
	vfprintf(summary, fmt, ap);
	va_end(ap);
	fputc('\n', summary);
	fflush(summary);
}

static void __attribute__((noreturn)) usage(void)
{
	fputs("\nUsage:\n"
	      " udmabuf-cube [options]\n"
	      "\nDraw a spinning cube on a KMS display with GBM, EGL and GLES2, textured\n"
	      "from a malloc()'d image imported as a udmabuf-ext dma-buf with\n"
	      "EGL_EXT_image_dma_buf_import, and check the import.\n"
	      "\nOptions:\n"
	      " -c, --card <dev>           DRM/KMS device (default: the first with a\n"
	      "                              connected output)\n"
	      " -m, --mode <w>x<h>         display mode (default: the preferred one)\n"
	      " -n, --frames <n>           frames to draw (default 30)\n"
	      " -o, --output <dir>         save texture.ppm and cube.summary there\n"
	      "     --texture-offset <data|0>\n"
	      "                            EGL_DMA_BUF_PLANE0_OFFSET_EXT: the buffer's data\n"
	      "                              offset (default; Mesa maps the dma-buf by\n"
	      "                              pages) or 0\n"
	      "     --no-fallback          fail if the import is unusable, instead of\n"
	      "                              drawing the cube with glTexImage2D\n"
	      "     --on-shown <cmd>       run <cmd> with /bin/sh while the last frame is\n"
	      "                              on screen\n"
	      "     --screenshot <file>    afterwards, check that this PPM contains the\n"
	      "                              texture's colours\n"
	      "     --hold <seconds>       keep the last frame on screen this long\n"
	      "\n -h, --help                 display this help\n"
	      " -V, --version              display version\n"
	      "\nExit status: 0 when the imported texture was verified and shown, 1 on\n"
	      "errors, 2 on bad usage, 3 when a content check failed, 4 when the import\n"
	      "was unusable and the cube was drawn with the uploaded fallback texture.\n"
	      "\nSee docs/demo.md.\n", stdout);
	exit(EXIT_SUCCESS);
}

/* ---- the texture ------------------------------------------------------- */

static void texture_create(int dev, struct texture *t)
{
	struct udmabuf_ext_create c;
	unsigned int x, y;
	int fd;

	t->pitch = TEX_SIZE * 4;
	t->size = t->pitch * TEX_SIZE;
	t->data = malloc(t->size);	/* not page aligned */
	if (!t->data)
		err(EXIT_FAILURE, "malloc");
	for (y = 0; y < TEX_SIZE; y++) {
		for (x = 0; x < TEX_SIZE; x++) {
			/* Checkerboard cells cycling through the four colours. */
			const uint8_t *c4 = tex_colors[(x / TEX_CELL + 2 * (y / TEX_CELL)) % 4];
			uint8_t *p = t->data + y * t->pitch + x * 4;

			p[0] = c4[2];	/* XRGB8888: B, G, R, X in memory */
			p[1] = c4[1];
			p[2] = c4[0];
			p[3] = 0xff;
		}
	}
	/* Filled first: the buffer is a snapshot (its data at data_offset). */
	fd = udmabuf_ext_create_user(dev, t->data, t->size, UDMABUF_EXT_MODE_COPY,
				     UDMABUF_EXT_FLAGS_CLOEXEC, &c);
	if (fd < 0)
		demo_errc(EXIT_FAILURE, -fd, "udmabuf_ext_create_user");
	t->fd = fd;
	t->data_offset = c.data_offset;
}

/* ---- KMS + GBM + EGL (kmscube's plumbing) ------------------------------ */

static bool pick_output(struct display *d, unsigned int w, unsigned int h)
{
	drmModeRes *res = drmModeGetResources(d->fd);
	bool found = false;
	int i, j;

	if (!res)
		return false;
	for (i = 0; i < res->count_connectors && !found; i++) {
		drmModeConnector *c = drmModeGetConnector(d->fd, res->connectors[i]);
		drmModeEncoder *e;
		int pick = -1;

		if (!c)
			continue;
		if (c->connection != DRM_MODE_CONNECTED || !c->count_modes) {
			drmModeFreeConnector(c);
			continue;
		}
		for (j = 0; j < c->count_modes; j++) {
			if (w ? (c->modes[j].hdisplay == w && c->modes[j].vdisplay == h) :
			    (c->modes[j].type & DRM_MODE_TYPE_PREFERRED)) {
				pick = j;
				break;
			}
		}
		if (pick < 0 && !w)
			pick = 0;
		if (pick < 0) {
			drmModeFreeConnector(c);
			continue;
		}
		d->mode = c->modes[pick];
		d->conn_id = c->connector_id;
		d->crtc_id = 0;
		e = c->encoder_id ? drmModeGetEncoder(d->fd, c->encoder_id) : NULL;
		if (e && e->crtc_id)
			d->crtc_id = e->crtc_id;
		drmModeFreeEncoder(e);
		for (j = 0; !d->crtc_id && j < c->count_encoders; j++) {
			int m;

			e = drmModeGetEncoder(d->fd, c->encoders[j]);
			if (!e)
				continue;
			for (m = 0; m < res->count_crtcs; m++) {
				if (e->possible_crtcs & (1u << m)) {
					d->crtc_id = res->crtcs[m];
					break;
				}
			}
			drmModeFreeEncoder(e);
		}
		found = d->crtc_id != 0;
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return found;
}

static void display_open(struct display *d, const struct opts *o)
{
	char path[32];
	int i;

	d->fd = -1;
	for (i = 0; i < 16 && d->fd < 0; i++) {
		if (o->card)
			snprintf(path, sizeof(path), "%s", o->card);
		else
			snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		d->fd = open(path, O_RDWR | O_CLOEXEC);
		if (d->fd >= 0 && !pick_output(d, o->mode_w, o->mode_h)) {
			close(d->fd);
			d->fd = -1;
		}
		if (o->card)
			break;
	}
	if (d->fd < 0) {
		if (o->mode_w)
			errx(EXIT_FAILURE, "no DRM device with a connected output that "
			     "has a %ux%u mode", o->mode_w, o->mode_h);
		errx(EXIT_FAILURE, "no DRM device with a connected output");
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->saved = drmModeGetCrtc(d->fd, d->crtc_id);
}

static bool has_ext(const char *list, const char *ext)
{
	size_t n = strlen(ext);
	const char *p = list;

	while (p && (p = strstr(p, ext))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static void egl_init(struct display *d)
{
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display;
	static const EGLint ctx_attr[] = {
		EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE,
	};
	static const EGLint cfg_attr[] = {
		EGL_SURFACE_TYPE, EGL_WINDOW_BIT,
		EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
		EGL_ALPHA_SIZE, 0, EGL_DEPTH_SIZE, 16,
		EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT,
		EGL_NONE,
	};
	EGLConfig cfgs[64];
	EGLint major, minor, n = 0, i;
	const char *exts;

	d->gbm = gbm_create_device(d->fd);
	if (!d->gbm)
		errx(EXIT_FAILURE, "%s: gbm_create_device failed", d->path);
	d->gs = gbm_surface_create(d->gbm, d->mode.hdisplay, d->mode.vdisplay,
				   GBM_FORMAT_XRGB8888,
				   GBM_BO_USE_SCANOUT | GBM_BO_USE_RENDERING);
	if (!d->gs)
		errx(EXIT_FAILURE, "%s: gbm_surface_create failed", d->path);

	exts = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	if (!exts || !has_ext(exts, "EGL_EXT_platform_base"))
		errx(EXIT_FAILURE, "EGL_EXT_platform_base missing");
	get_platform_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)
		eglGetProcAddress("eglGetPlatformDisplayEXT");
	d->dpy = get_platform_display(EGL_PLATFORM_GBM_KHR, d->gbm, NULL);
	if (d->dpy == EGL_NO_DISPLAY || !eglInitialize(d->dpy, &major, &minor))
		errx(EXIT_FAILURE, "EGL on GBM: cannot initialize (%#x)", eglGetError());
	if (!eglBindAPI(EGL_OPENGL_ES_API))
		errx(EXIT_FAILURE, "eglBindAPI(GLES)");
	if (!eglChooseConfig(d->dpy, cfg_attr, cfgs, 64, &n) || n < 1)
		errx(EXIT_FAILURE, "no EGL config for GLES2 with a depth buffer");
	d->config = NULL;
	for (i = 0; i < n; i++) {
		EGLint id;

		if (eglGetConfigAttrib(d->dpy, cfgs[i], EGL_NATIVE_VISUAL_ID, &id) &&
		    id == GBM_FORMAT_XRGB8888) {
			d->config = cfgs[i];
			break;
		}
	}
	if (!d->config)
		errx(EXIT_FAILURE, "no EGL config matches GBM_FORMAT_XRGB8888");
	d->ctx = eglCreateContext(d->dpy, d->config, EGL_NO_CONTEXT, ctx_attr);
	if (d->ctx == EGL_NO_CONTEXT)
		errx(EXIT_FAILURE, "eglCreateContext (%#x)", eglGetError());
	d->surf = eglCreateWindowSurface(d->dpy, d->config,
					 (EGLNativeWindowType)d->gs, NULL);
	if (d->surf == EGL_NO_SURFACE)
		errx(EXIT_FAILURE, "eglCreateWindowSurface (%#x)", eglGetError());
	if (!eglMakeCurrent(d->dpy, d->surf, d->surf, d->ctx))
		errx(EXIT_FAILURE, "eglMakeCurrent (%#x)", eglGetError());
	printf("EGL %d.%d (%s), GL: %s, %s\n", major, minor,
	       eglQueryString(d->dpy, EGL_VENDOR), glGetString(GL_RENDERER),
	       glGetString(GL_VERSION));
	summary_kv("gl_renderer", "%s", (const char *)glGetString(GL_RENDERER));
	summary_kv("gl_version", "%s", (const char *)glGetString(GL_VERSION));
}

/* The KMS framebuffer of a GBM buffer object, made once per bo. */
struct bo_fb {
	int drm_fd;
	uint32_t fb;
};

static void bo_fb_destroy(struct gbm_bo *bo, void *data)
{
	struct bo_fb *f = data;

	(void)bo;
	drmModeRmFB(f->drm_fd, f->fb);
	free(f);
}

static uint32_t bo_fb_get(struct display *d, struct gbm_bo *bo)
{
	struct bo_fb *f = gbm_bo_get_user_data(bo);
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };

	if (f)
		return f->fb;
	f = calloc(1, sizeof(*f));
	if (!f)
		err(EXIT_FAILURE, "calloc");
	f->drm_fd = d->fd;
	handles[0] = gbm_bo_get_handle(bo).u32;
	pitches[0] = gbm_bo_get_stride(bo);
	if (drmModeAddFB2(d->fd, gbm_bo_get_width(bo), gbm_bo_get_height(bo),
			  DRM_FORMAT_XRGB8888, handles, pitches, offsets, &f->fb, 0))
		err(EXIT_FAILURE, "%s: drmModeAddFB2", d->path);
	gbm_bo_set_user_data(bo, f, bo_fb_destroy);
	return f->fb;
}

static void flip_done(int fd, unsigned int seq, unsigned int sec,
		      unsigned int usec, void *data)
{
	(void)fd;
	(void)seq;
	(void)sec;
	(void)usec;
	*(bool *)data = false;
}

static void show_fb(struct display *d, uint32_t fb)
{
	drmEventContext ev = { .version = 2, .page_flip_handler = flip_done };
	struct pollfd p = { .fd = d->fd, .events = POLLIN };

	if (d->crtc_set) {
		d->flip_pending = true;
		if (!drmModePageFlip(d->fd, d->crtc_id, fb, DRM_MODE_PAGE_FLIP_EVENT,
				     &d->flip_pending)) {
			while (d->flip_pending) {
				int r = poll(&p, 1, 5000);

				if (r == 0)
					errx(EXIT_FAILURE, "page flip timed out");
				if (r > 0)
					drmHandleEvent(d->fd, &ev);
			}
			return;
		}
		d->flip_pending = false;
	}
	if (drmModeSetCrtc(d->fd, d->crtc_id, fb, 0, 0, &d->conn_id, 1, &d->mode))
		err(EXIT_FAILURE, "%s: drmModeSetCrtc(%s)", d->path, d->mode.name);
	d->crtc_set = true;
}

/* ---- GL ------------------------------------------------------------------ */

static const char vs_src[] =
	"uniform mat4 mvp;\n"
	"attribute vec3 pos;\n"
	"attribute vec2 uv;\n"
	"varying vec2 v_uv;\n"
	"void main() {\n"
	"	gl_Position = mvp * vec4(pos, 1.0);\n"
	"	v_uv = uv;\n"
	"}\n";

/* No lighting: every fragment is exactly a texel, so the screenshot holds
 * the texture's own colours. */
static const char fs_src[] =
	"precision mediump float;\n"
	"uniform sampler2D tex;\n"
	"varying vec2 v_uv;\n"
	"void main() {\n"
	"	gl_FragColor = vec4(texture2D(tex, v_uv).rgb, 1.0);\n"
	"}\n";

static GLuint shader(GLenum type, const char *src)
{
	GLuint s = glCreateShader(type);
	GLint ok = 0;
	char log[512];

	glShaderSource(s, 1, &src, NULL);
	glCompileShader(s);
	glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
	if (!ok) {
		glGetShaderInfoLog(s, sizeof(log), NULL, log);
		errx(EXIT_FAILURE, "shader: %s", log);
	}
	return s;
}

static GLuint program(void)
{
	GLuint p = glCreateProgram();
	GLint ok = 0;

	glAttachShader(p, shader(GL_VERTEX_SHADER, vs_src));
	glAttachShader(p, shader(GL_FRAGMENT_SHADER, fs_src));
	glBindAttribLocation(p, 0, "pos");
	glBindAttribLocation(p, 1, "uv");
	glLinkProgram(p);
	glGetProgramiv(p, GL_LINK_STATUS, &ok);
	if (!ok)
		errx(EXIT_FAILURE, "cannot link the GL program");
	return p;
}

/* 4x4 matrices, column major. */
static void mat_mul(float r[16], const float a[16], const float b[16])
{
	float t[16];
	int i, j, k;

	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++) {
			t[j * 4 + i] = 0;
			for (k = 0; k < 4; k++)
				t[j * 4 + i] += a[k * 4 + i] * b[j * 4 + k];
		}
	memcpy(r, t, sizeof(t));
}

static void mat_rot(float m[16], float deg, float x, float y, float z)
{
	float a = deg * (float)M_PI / 180, c = cosf(a), s = sinf(a);
	float n = sqrtf(x * x + y * y + z * z);

	x /= n;
	y /= n;
	z /= n;
	memset(m, 0, 16 * sizeof(float));
	m[0] = x * x * (1 - c) + c;
	m[1] = y * x * (1 - c) + z * s;
	m[2] = x * z * (1 - c) - y * s;
	m[4] = x * y * (1 - c) - z * s;
	m[5] = y * y * (1 - c) + c;
	m[6] = y * z * (1 - c) + x * s;
	m[8] = x * z * (1 - c) + y * s;
	m[9] = y * z * (1 - c) - x * s;
	m[10] = z * z * (1 - c) + c;
	m[15] = 1;
}

static void mat_frustum(float m[16], float l, float r, float b, float t,
			float n, float f)
{
	memset(m, 0, 16 * sizeof(float));
	m[0] = 2 * n / (r - l);
	m[5] = 2 * n / (t - b);
	m[8] = (r + l) / (r - l);
	m[9] = (t + b) / (t - b);
	m[10] = -(f + n) / (f - n);
	m[11] = -1;
	m[14] = -2 * f * n / (f - n);
}

/* The cube: 6 faces of 2 triangles, position and texture coordinates. */
static void cube_vertices(float v[36 * 5])
{
	static const float face[6][4][3] = {
		{ { -1, -1, 1 }, { 1, -1, 1 }, { 1, 1, 1 }, { -1, 1, 1 } },
		{ { 1, -1, -1 }, { -1, -1, -1 }, { -1, 1, -1 }, { 1, 1, -1 } },
		{ { 1, -1, 1 }, { 1, -1, -1 }, { 1, 1, -1 }, { 1, 1, 1 } },
		{ { -1, -1, -1 }, { -1, -1, 1 }, { -1, 1, 1 }, { -1, 1, -1 } },
		{ { -1, 1, 1 }, { 1, 1, 1 }, { 1, 1, -1 }, { -1, 1, -1 } },
		{ { -1, -1, -1 }, { 1, -1, -1 }, { 1, -1, 1 }, { -1, -1, 1 } },
	};
	static const float uv[4][2] = { { 0, 1 }, { 1, 1 }, { 1, 0 }, { 0, 0 } };
	static const int tri[6] = { 0, 1, 2, 0, 2, 3 };
	int f, i, n = 0;

	for (f = 0; f < 6; f++)
		for (i = 0; i < 6; i++) {
			memcpy(&v[n], face[f][tri[i]], 3 * sizeof(float));
			memcpy(&v[n + 3], uv[tri[i]], 2 * sizeof(float));
			n += 5;
		}
}

static void tex_params(void)
{
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
	glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

/* Import the dma-buf as an EGLImage and bind it to a new texture. */
static GLuint import_texture(struct display *d, const struct texture *t,
			     uint32_t offset, EGLImageKHR *img_out)
{
	PFNEGLCREATEIMAGEKHRPROC create_image = (PFNEGLCREATEIMAGEKHRPROC)
		eglGetProcAddress("eglCreateImageKHR");
	PFNGLEGLIMAGETARGETTEXTURE2DOESPROC target_texture =
		(PFNGLEGLIMAGETARGETTEXTURE2DOESPROC)
		eglGetProcAddress("glEGLImageTargetTexture2DOES");
	const EGLint attr[] = {
		EGL_WIDTH, TEX_SIZE,
		EGL_HEIGHT, TEX_SIZE,
		EGL_LINUX_DRM_FOURCC_EXT, DRM_FORMAT_XRGB8888,
		EGL_DMA_BUF_PLANE0_FD_EXT, t->fd,
		EGL_DMA_BUF_PLANE0_OFFSET_EXT, (EGLint)offset,
		EGL_DMA_BUF_PLANE0_PITCH_EXT, (EGLint)t->pitch,
		EGL_NONE,
	};
	EGLImageKHR img;
	GLuint tex;

	if (!create_image || !target_texture)
		errx(EXIT_FAILURE, "eglCreateImageKHR/glEGLImageTargetTexture2DOES missing");
	img = create_image(d->dpy, EGL_NO_CONTEXT, EGL_LINUX_DMA_BUF_EXT, NULL, attr);
	if (img == EGL_NO_IMAGE_KHR) {
		warnx("eglCreateImageKHR(EGL_LINUX_DMA_BUF_EXT, offset %u) failed: %#x",
		      offset, eglGetError());
		return 0;
	}
	glGenTextures(1, &tex);
	glBindTexture(GL_TEXTURE_2D, tex);
	target_texture(GL_TEXTURE_2D, img);
	tex_params();
	*img_out = img;
	return tex;
}

/*
 * Draw texture @tex over a TEX_SIZE square framebuffer object and read it
 * back: the number of pixels that differ from the malloc()'d image, or -1
 * with *@glerr set if GL failed.
 */
static long verify_texture(GLuint prog, GLuint tex, const struct texture *t,
			   GLenum *glerr)
{
	static const float quad[] = {
		-1, -1, 0, 0, 0,  1, -1, 0, 1, 0,  1, 1, 0, 1, 1,
		-1, -1, 0, 0, 0,  1, 1, 0, 1, 1,  -1, 1, 0, 0, 1,
	};
	static const float ident[16] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 };
	uint8_t *px = malloc((size_t)TEX_SIZE * TEX_SIZE * 4);
	GLuint fbo, rt;
	long bad = 0;
	int x, y;

	if (!px)
		err(EXIT_FAILURE, "malloc");
	while (glGetError() != GL_NO_ERROR)
		;
	glGenTextures(1, &rt);
	glBindTexture(GL_TEXTURE_2D, rt);
	glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, TEX_SIZE, TEX_SIZE, 0, GL_RGBA,
		     GL_UNSIGNED_BYTE, NULL);
	tex_params();
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D,
			       rt, 0);
	glViewport(0, 0, TEX_SIZE, TEX_SIZE);
	glDisable(GL_DEPTH_TEST);
	glUseProgram(prog);
	glUniformMatrix4fv(glGetUniformLocation(prog, "mvp"), 1, GL_FALSE, ident);
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(GL_TEXTURE_2D, tex);
	glUniform1i(glGetUniformLocation(prog, "tex"), 0);
	glBindBuffer(GL_ARRAY_BUFFER, 0);
	glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 5 * sizeof(float), quad);
	glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, 5 * sizeof(float), quad + 3);
	glEnableVertexAttribArray(0);
	glEnableVertexAttribArray(1);
	glDrawArrays(GL_TRIANGLES, 0, 6);
	memset(px, 0, (size_t)TEX_SIZE * TEX_SIZE * 4);
	glReadPixels(0, 0, TEX_SIZE, TEX_SIZE, GL_RGBA, GL_UNSIGNED_BYTE, px);
	*glerr = glGetError();
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glDeleteFramebuffers(1, &fbo);
	glDeleteTextures(1, &rt);
	if (*glerr != GL_NO_ERROR) {
		free(px);
		return -1;
	}
	/* Texture row v = 0 is the image's first row; so is GL's row 0. */
	for (y = 0; y < TEX_SIZE; y++)
		for (x = 0; x < TEX_SIZE; x++) {
			const uint8_t *s = t->data + y * t->pitch + x * 4;
			const uint8_t *g = px + ((size_t)y * TEX_SIZE + x) * 4;

			if (g[0] != s[2] || g[1] != s[1] || g[2] != s[0])
				bad++;
		}
	free(px);
	return bad;
}

/*
 * Why the import is unusable: do what Mesa's kms_swrast winsys does with an
 * imported dma-buf (kms_sw_displaytarget_add_from_prime, then
 * kms_sw_displaytarget_map), on a file of our own so that Mesa's handles
 * are not disturbed: PRIME import, then DRM_IOCTL_MODE_MAP_DUMB.
 */
static void diagnose(const struct display *d, const struct texture *t)
{
	struct drm_mode_map_dumb m = { 0 };
	uint32_t handle;
	int fd = open(d->path, O_RDWR | O_CLOEXEC);
	int map_err = 0;

	if (fd < 0) {
		warn("%s", d->path);
		return;
	}
	if (drmPrimeFDToHandle(fd, t->fd, &handle)) {
		printf("egl: verdict: the KMS device cannot import the dma-buf: "
		       "DRM_IOCTL_PRIME_FD_TO_HANDLE: %s\n", strerror(errno));
		summary_kv("egl_verdict", "prime_import_failed:%s", strerror(errno));
		close(fd);
		return;
	}
	m.handle = handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
		map_err = errno;
	printf("egl: probe: DRM_IOCTL_PRIME_FD_TO_HANDLE ok (handle %u), "
	       "DRM_IOCTL_MODE_MAP_DUMB on it: %s\n", handle,
	       map_err ? strerror(map_err) : "ok");
	if (map_err == EINVAL) {
		printf("egl: verdict: Mesa's kms_swrast maps every imported buffer "
		       "with DRM_IOCTL_MODE_MAP_DUMB + mmap of the DRM device, and the "
		       "kernel refuses DRM_IOCTL_MODE_MAP_DUMB on any imported GEM "
		       "object (drm_gem_dumb_map_offset: EINVAL), whoever exported it. "
		       "Not an exporter problem: see docs/demo.md\n");
		summary_kv("egl_verdict", "kms_swrast_map_dumb_einval");
	} else {
		summary_kv("egl_verdict", "unexplained:map_dumb=%s",
			   map_err ? strerror(map_err) : "ok");
	}
	drmCloseBufferHandle(fd, handle);
	close(fd);
}

/* ---- the import probe, in a child process ------------------------------ */

/*
 * What became of the imported texture. The probe runs in a child process,
 * because Mesa 22.3's llvmpipe dereferences a NULL mapping when it samples
 * an imported buffer it could not map, and the crash must not take the
 * demo with it.
 */
enum probe_result {
	PROBE_OK,		/* the texture reads back equal to the image */
	PROBE_MISMATCH,		/* it reads back, differently */
	PROBE_GL_ERROR,		/* GL reported an error */
	PROBE_NO_IMAGE,		/* eglCreateImageKHR failed */
	PROBE_CRASH,		/* the child was killed by a signal */
	PROBE_SETUP,		/* the child could not set up EGL */
};

#define PROBE_EXIT_BASE	20

/* In the child: EGL on GBM on our own file of the card, no surface. */
static int probe_child(const char *card, const struct texture *t, uint32_t offset)
{
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display;
	static const EGLint ctx_attr[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	struct display d = { .fd = -1 };
	struct gbm_device *gbm;
	EGLImageKHR img;
	GLuint prog, tex, fbo;
	GLenum glerr;
	uint8_t px[4];
	long bad;

	d.fd = open(card, O_RDWR | O_CLOEXEC);
	if (d.fd < 0)
		return PROBE_SETUP;
	gbm = gbm_create_device(d.fd);
	get_platform_display = (PFNEGLGETPLATFORMDISPLAYEXTPROC)
		eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (!gbm || !get_platform_display)
		return PROBE_SETUP;
	d.dpy = get_platform_display(EGL_PLATFORM_GBM_KHR, gbm, NULL);
	if (d.dpy == EGL_NO_DISPLAY || !eglInitialize(d.dpy, NULL, NULL) ||
	    !eglBindAPI(EGL_OPENGL_ES_API))
		return PROBE_SETUP;
	d.ctx = eglCreateContext(d.dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, ctx_attr);
	if (d.ctx == EGL_NO_CONTEXT ||
	    !eglMakeCurrent(d.dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, d.ctx))
		return PROBE_SETUP;
	prog = program();
	tex = import_texture(&d, t, offset, &img);
	if (!tex)
		return PROBE_NO_IMAGE;
	printf("egl: probe: eglCreateImageKHR(EGL_LINUX_DMA_BUF_EXT, fd %d, offset %u, "
	       "pitch %zu) ok, bound with glEGLImageTargetTexture2DOES\n",
	       t->fd, offset, t->pitch);

	/* 1. The texture as a framebuffer attachment, read back. */
	while (glGetError() != GL_NO_ERROR)
		;
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D,
			       tex, 0);
	memset(px, 0, sizeof(px));
	glReadPixels(0, 0, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
	glerr = glGetError();
	printf("egl: probe: glReadPixels from the imported texture: %s%s "
	       "(texel %02x%02x%02x, image %02x%02x%02x)\n",
	       glerr ? "GL error " : "ok", glerr == GL_OUT_OF_MEMORY ?
	       "GL_OUT_OF_MEMORY" : glerr ? "(see value)" : "", px[0], px[1], px[2],
	       t->data[2], t->data[1], t->data[0]);
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glDeleteFramebuffers(1, &fbo);

	/* 2. The texture sampled by a draw, read back. */
	printf("egl: probe: sampling the imported texture in a draw\n");
	fflush(stdout);
	bad = verify_texture(prog, tex, t, &glerr);
	if (bad < 0) {
		printf("egl: probe: GL error %#x\n", glerr);
		return PROBE_GL_ERROR;
	}
	printf("egl: probe: %ld of %d texels differ from the malloc()'d image\n",
	       bad, TEX_SIZE * TEX_SIZE);
	return bad ? PROBE_MISMATCH : PROBE_OK;
}

static enum probe_result probe_import(const char *card, const struct texture *t,
				      uint32_t offset, int *sig)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		err(EXIT_FAILURE, "fork");
	if (pid == 0) {
		int r = probe_child(card, t, offset);

		fflush(NULL);
		_exit(PROBE_EXIT_BASE + r);
	}
	if (waitpid(pid, &status, 0) != pid)
		err(EXIT_FAILURE, "waitpid");
	if (WIFSIGNALED(status)) {
		*sig = WTERMSIG(status);
		return PROBE_CRASH;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) >= PROBE_EXIT_BASE &&
	    WEXITSTATUS(status) <= PROBE_EXIT_BASE + PROBE_SETUP)
		return WEXITSTATUS(status) - PROBE_EXIT_BASE;
	return PROBE_SETUP;
}

static const char *probe_str(enum probe_result r)
{
	switch (r) {
	case PROBE_OK: return "ok";
	case PROBE_MISMATCH: return "mismatch";
	case PROBE_GL_ERROR: return "gl_error";
	case PROBE_NO_IMAGE: return "no_image";
	case PROBE_CRASH: return "crash";
	default: return "setup_failed";
	}
}

/* ---- the screenshot check ---------------------------------------------- */

static int run_on_shown(const char *cmd)
{
	int status;

	fflush(NULL);
	status = system(cmd);
	if (status == -1)
		err(EXIT_FAILURE, "system(%s)", cmd);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		warnx("--on-shown command failed (status %#x): %s", status, cmd);
		return -1;
	}
	return 0;
}

static int check_screenshot(const char *path)
{
	struct demo_image img = { 0 };
	unsigned long count[4] = { 0 }, bg = 0;
	size_t i, n;
	int c, ret, bad = 0;

	ret = demo_ppm_read(path, &img);
	if (ret) {
		warnx("cannot read the screenshot %s: %s", path, strerror(-ret));
		return -1;
	}
	n = (size_t)img.w * img.h;
	for (i = 0; i < n; i++) {
		const uint8_t *p = img.rgb + i * 3;

		for (c = 0; c < 4; c++)
			if (!memcmp(p, tex_colors[c], 3))
				count[c]++;
		if (!memcmp(p, bg_color, 3))
			bg++;
	}
	free(img.rgb);
	printf("screenshot %ux%u: texture colours:", img.w, img.h);
	for (c = 0; c < 4; c++) {
		printf(" %s %lu px", tex_color_names[c], count[c]);
		if (count[c] < MIN_PIXELS)
			bad = 1;
	}
	printf("; background %lu px\n", bg);
	summary_kv("screenshot_pixels", "red=%lu green=%lu blue=%lu yellow=%lu background=%lu",
		   count[0], count[1], count[2], count[3], bg);
	if (bad || !bg) {
		warnx("the screenshot lacks the texture's colours (at least %d px of "
		      "each) or the background", MIN_PIXELS);
		return -1;
	}
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		OPT_TEXOFF = CHAR_MAX + 1, OPT_NO_FALLBACK, OPT_ON_SHOWN,
		OPT_SCREENSHOT, OPT_HOLD,
	};
	static const struct option longopts[] = {
		{ "card", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "frames", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "texture-offset", required_argument, NULL, OPT_TEXOFF },
		{ "no-fallback", no_argument, NULL, OPT_NO_FALLBACK },
		{ "on-shown", required_argument, NULL, OPT_ON_SHOWN },
		{ "screenshot", required_argument, NULL, OPT_SCREENSHOT },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->frames = 30;
	o->fallback = true;
	while ((c = getopt_long(argc, argv, "c:m:n:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->card = optarg;
			break;
		case 'm':
			if (sscanf(optarg, "%ux%u", &o->mode_w, &o->mode_h) != 2 ||
			    !o->mode_w || !o->mode_h)
				errx(EXIT_FAILURE + 1, "invalid --mode '%s' (WxH)", optarg);
			break;
		case 'n':
			errno = 0;
			o->frames = strtoul(optarg, &end, 0);
			if (errno || *end || !o->frames || o->frames > 100000)
				errx(EXIT_FAILURE + 1, "invalid --frames '%s'", optarg);
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case OPT_TEXOFF:
			if (!strcmp(optarg, "data"))
				o->tex_offset = TEX_OFFSET_DATA;
			else if (!strcmp(optarg, "0"))
				o->tex_offset = TEX_OFFSET_ZERO;
			else
				errx(EXIT_FAILURE + 1, "invalid --texture-offset '%s'", optarg);
			break;
		case OPT_NO_FALLBACK:
			o->fallback = false;
			break;
		case OPT_ON_SHOWN:
			o->on_shown = optarg;
			break;
		case OPT_SCREENSHOT:
			o->screenshot = optarg;
			break;
		case OPT_HOLD:
			errno = 0;
			o->hold = strtoul(optarg, &end, 0);
			if (errno || *end || o->hold > 3600)
				errx(EXIT_FAILURE + 1, "invalid --hold '%s'", optarg);
			break;
		case 'h':
			usage();
		case 'V':
			printf("udmabuf-cube from udmabuf-ext %s\n", PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try 'udmabuf-cube --help' for more information.\n");
			exit(EXIT_FAILURE + 1);
		}
	}
	if (optind < argc)
		errx(EXIT_FAILURE + 1, "unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
	struct display d = { .fd = -1 };
	struct texture t;
	struct opts o;
	EGLImageKHR img = EGL_NO_IMAGE_KHR;
	struct gbm_bo *bo, *prev = NULL;
	float verts[36 * 5], proj[16], rot[16], r2[16], mvp[16], aspect;
	uint32_t offset, other;
	GLuint prog, tex = 0;
	GLenum glerr = GL_NO_ERROR;
	enum probe_result pr;
	long bad = -1;
	int sig = 0;
	bool imported = false;
	double t0, c0, wall, cpu;
	char path[PATH_MAX];
	unsigned int i;
	int dev, failed = 0;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.outdir) {
		if (mkdir(o.outdir, 0755) && errno != EEXIST)
			err(EXIT_FAILURE, "mkdir %s", o.outdir);
		snprintf(path, sizeof(path), "%s/cube.summary", o.outdir);
		summary = fopen(path, "we");
		if (!summary)
			err(EXIT_FAILURE, "%s", path);
	}
	dev = udmabuf_ext_open();
	if (dev < 0)
		demo_errc(EXIT_FAILURE, -dev, "cannot open %s (is the module loaded?)",
		     UDMABUF_EXT_DEV_PATH);
	texture_create(dev, &t);
	printf("texture: malloc(%zu) at %p, %dx%d XRGB8888, copied into a "
	       "udmabuf-ext dma-buf with data offset %u\n", t.size, (void *)t.data, TEX_SIZE, TEX_SIZE,
	       t.data_offset);
	summary_kv("texture_data_offset", "%u", t.data_offset);
	if (o.outdir) {
		const struct demo_format *xrgb = demo_format_by_v4l2(V4L2_PIX_FMT_XBGR32);

		snprintf(path, sizeof(path), "%s/texture.ppm", o.outdir);
		demo_ppm_write_frame(path, xrgb, t.data, TEX_SIZE, TEX_SIZE, t.pitch);
	}

	display_open(&d, &o);
	printf("display: %s, connector %u, CRTC %u, mode %s\n", d.path, d.conn_id,
	       d.crtc_id, d.mode.name);
	summary_kv("mode", "%s", d.mode.name);
	/*
	 * The import, checked first in a child process, before this process
	 * sets up EGL: the texture drawn into a framebuffer object and read
	 * back must equal the image.
	 */
	offset = o.tex_offset == TEX_OFFSET_DATA ? t.data_offset : 0;
	other = o.tex_offset == TEX_OFFSET_DATA ? 0 : t.data_offset;
	pr = probe_import(d.path, &t, offset, &sig);
	if (pr == PROBE_CRASH)
		printf("egl: probe: the process was killed by signal %d (%s) while "
		       "using the imported texture\n", sig, strsignal(sig));
	summary_kv("egl_texture_offset", "%u", offset);
	summary_kv("egl_probe", "%s%s%s", probe_str(pr), pr == PROBE_CRASH ? ":" : "",
		   pr == PROBE_CRASH ? strsignal(sig) : "");
	if (pr == PROBE_MISMATCH && t.data_offset) {
		/* Which offset shows the image, then? */
		enum probe_result pr2 = probe_import(d.path, &t, other, &sig);

		printf("egl: with offset %u instead: %s\n", other, probe_str(pr2));
		summary_kv("egl_probe_other_offset", "%u:%s", other, probe_str(pr2));
	}
	/* Now the display's own EGL. */
	egl_init(&d);
	if (!has_ext(eglQueryString(d.dpy, EGL_EXTENSIONS),
		     "EGL_EXT_image_dma_buf_import"))
		errx(EXIT_FAILURE, "EGL_EXT_image_dma_buf_import is not offered");
	prog = program();
	if (pr == PROBE_OK) {
		tex = import_texture(&d, &t, offset, &img);
		bad = tex ? verify_texture(prog, tex, &t, &glerr) : -1;
		imported = bad == 0;
		if (!imported)
			warnx("the import worked in the probe, not here (%ld, %#x)",
			      bad, glerr);
	}
	if (imported) {
		printf("egl: the imported texture reads back equal to the malloc()'d "
		       "image (%d x %d texels, offset %u)\n", TEX_SIZE, TEX_SIZE, offset);
		summary_kv("egl_import", "pass");
	} else {
		printf("egl: the imported texture is unusable\n");
		summary_kv("egl_import", "fail");
		diagnose(&d, &t);
		if (!o.fallback)
			errx(EXIT_CHECK, "the imported texture is unusable");
		/* The same malloc()'d pixels, uploaded: GL_BGRA_EXT is B,G,R,A. */
		if (tex)
			glDeleteTextures(1, &tex);
		glGenTextures(1, &tex);
		glBindTexture(GL_TEXTURE_2D, tex);
		glTexImage2D(GL_TEXTURE_2D, 0, GL_BGRA_EXT, TEX_SIZE, TEX_SIZE, 0,
			     GL_BGRA_EXT, GL_UNSIGNED_BYTE, t.data);
		tex_params();
		bad = verify_texture(prog, tex, &t, &glerr);
		if (bad != 0)
			errx(EXIT_FAILURE, "even the uploaded texture reads back wrong "
			     "(%ld texels, GL error %#x)", bad, glerr);
		printf("egl: FALLBACK: the cube is drawn with the same malloc()'d pixels "
		       "uploaded by glTexImage2D, not imported\n");
	}
	summary_kv("texture_path", "%s", imported ? "dmabuf_import" : "upload_fallback");

	/* The cube. */
	cube_vertices(verts);
	aspect = (float)d.mode.vdisplay / d.mode.hdisplay;
	mat_frustum(proj, -2.8f, 2.8f, -2.8f * aspect, 2.8f * aspect, 6, 10);
	glViewport(0, 0, d.mode.hdisplay, d.mode.vdisplay);
	glEnable(GL_DEPTH_TEST);
	glEnable(GL_CULL_FACE);
	glUseProgram(prog);
	glActiveTexture(GL_TEXTURE0);
	glBindTexture(GL_TEXTURE_2D, tex);
	glUniform1i(glGetUniformLocation(prog, "tex"), 0);
	glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 5 * sizeof(float), verts);
	glVertexAttribPointer(1, 2, GL_FLOAT, GL_FALSE, 5 * sizeof(float), verts + 3);
	glEnableVertexAttribArray(0);
	glEnableVertexAttribArray(1);
	t0 = demo_now(CLOCK_MONOTONIC);
	c0 = demo_now(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < o.frames; i++) {
		/* Spinning into a pose with three faces in view at the end. */
		float ang = 45.0f - 4.0f * (o.frames - 1 - i);

		glClearColor(bg_color[0] / 255.0f, bg_color[1] / 255.0f,
			     bg_color[2] / 255.0f, 1);
		glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
		mat_rot(rot, ang, 0, 1, 0);
		mat_rot(r2, 30.0f, 1, 0, 0);
		mat_mul(rot, r2, rot);
		/* translate z by -8 */
		rot[14] -= 8;
		mat_mul(mvp, proj, rot);
		glUniformMatrix4fv(glGetUniformLocation(prog, "mvp"), 1, GL_FALSE, mvp);
		glDrawArrays(GL_TRIANGLES, 0, 36);
		if (!eglSwapBuffers(d.dpy, d.surf))
			errx(EXIT_FAILURE, "eglSwapBuffers (%#x)", eglGetError());
		bo = gbm_surface_lock_front_buffer(d.gs);
		if (!bo)
			errx(EXIT_FAILURE, "gbm_surface_lock_front_buffer failed");
		show_fb(&d, bo_fb_get(&d, bo));
		if (prev)
			gbm_surface_release_buffer(d.gs, prev);
		prev = bo;
	}
	wall = demo_now(CLOCK_MONOTONIC) - t0;
	cpu = demo_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("cube: %u frames shown, %.1f frames/s, CPU %.1f ms/frame (llvmpipe "
	       "renders on the CPU)\n", o.frames, o.frames / wall, cpu / o.frames * 1e3);
	summary_kv("frames", "%u", o.frames);
	summary_kv("fps", "%.2f", o.frames / wall);

	if (o.on_shown && run_on_shown(o.on_shown))
		failed = 1;
	if (o.hold)
		sleep(o.hold);
	if (o.screenshot) {
		if (check_screenshot(o.screenshot)) {
			failed = 1;
			summary_kv("screenshot_check", "fail");
		} else {
			printf("screenshot: the texture's colours are on screen\n");
			summary_kv("screenshot_check", "pass");
		}
	}
	if (d.saved && d.saved->buffer_id && d.saved->mode_valid)
		drmModeSetCrtc(d.fd, d.saved->crtc_id, d.saved->buffer_id,
			       d.saved->x, d.saved->y, &d.conn_id, 1, &d.saved->mode);
	drmModeFreeCrtc(d.saved);
	summary_kv("result", "%s", failed ? "fail" : imported ? "pass" : "fallback");
	if (summary)
		fclose(summary);
	if (failed)
		return EXIT_CHECK;
	return imported ? EXIT_SUCCESS : EXIT_FALLBACK;
}
