// SPDX-License-Identifier: GPL-2.0-only
/*
 * udmabuf-ext(1): list, inspect and create udmabuf-ext dma-bufs; show the
 * limits that apply to them. Built on libudmabuf-ext.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "udmabuf-ext-lib.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define DEBUGFS_BUFFERS	"/sys/kernel/debug/udmabuf-ext/buffers"
#define DEBUGFS_USERS	"/sys/kernel/debug/udmabuf-ext/users"
#define PARAMS_DIR	"/sys/module/udmabuf_ext/parameters"
#define STATS_DIR	"/sys/class/misc/udmabuf-ext/stats"
#define MODULE_DIR	"/sys/module/udmabuf_ext"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#define CAP_IPC_LOCK_BIT 14

/* Global options. */
static const char *device;	/* -d: device node, else udmabuf_ext_open() */

/* ------------------------------------------------------------------------ */
/* helpers */

static void __attribute__((noreturn)) errx_errno(int neg_errno, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* errx() with the text of a -errno returned by the library. */
static void errx_errno(int neg_errno, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errx(EXIT_FAILURE, "%s: %s", msg, strerror(-neg_errno));
}

static int open_device(void)
{
	int fd;

	if (device) {
		fd = open(device, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			err(EXIT_FAILURE, "cannot open %s", device);
		return fd;
	}
	fd = udmabuf_ext_open();
	if (fd < 0)
		errx_errno(fd, "cannot open %s or %s%s", UDMABUF_EXT_DEV_PATH,
			   UDMABUF_EXT_DROPIN_DEV_PATH,
			   fd == -ENOENT ? " (is the udmabuf_ext module loaded?)" : "");
	return fd;
}

/* "4K", "1.5M", ... as util-linux prints sizes; or bytes with -b. */
static void format_size(char *buf, size_t len, uint64_t bytes, bool raw_bytes)
{
	static const char units[] = "BKMGTPE";
	unsigned int exp = 0;
	uint64_t unit = 1;

	if (raw_bytes) {
		snprintf(buf, len, "%" PRIu64, bytes);
		return;
	}
	while (exp < sizeof(units) - 2 && bytes >= unit * 1024) {
		unit *= 1024;
		exp++;
	}
	if (exp == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else if (bytes % unit == 0)
		snprintf(buf, len, "%" PRIu64 "%c", bytes / unit, units[exp]);
	else
		snprintf(buf, len, "%.1f%c", (double)bytes / (double)unit, units[exp]);
}

/* SIZE with an optional K, M, G or T (KiB, ... also accepted) suffix. */
static uint64_t parse_size(const char *s, const char *what)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		errx(EXIT_FAILURE, "invalid %s: '%s'", what, s);
	v = strtoull(s, &end, 0);
	if (errno)
		err(EXIT_FAILURE, "invalid %s: '%s'", what, s);
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		errx(EXIT_FAILURE, "invalid %s: '%s'", what, s);
	}
	if (*end) {
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			errx(EXIT_FAILURE, "invalid %s: '%s'", what, s);
	}
	if (shift && v > (UINT64_MAX >> shift))
		errx(EXIT_FAILURE, "%s too large: '%s'", what, s);
	return (uint64_t)v << shift;
}

static long parse_long(const char *s, const char *what, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		errx(EXIT_FAILURE, "invalid %s: '%s'", what, s);
	return v;
}

/* First line of a small file, without the newline; NULL if unreadable. */
static char *read_line(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* The command name of @pid, or "-"; the caller frees it. */
static char *pid_comm(long pid)
{
	char path[64];
	char *comm;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	comm = pid > 0 ? read_line(path) : NULL;
	return comm ? comm : strdup("-");
}

/* A JSON string literal. */
static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static const char *mode_name(uint32_t mode)
{
	switch (mode) {
	case UDMABUF_EXT_MODE_PIN:
		return "pin";
	case UDMABUF_EXT_MODE_COPY:
		return "copy";
	case UDMABUF_EXT_MODE_MOVE:
		return "move";
	case UDMABUF_EXT_MODE_AUTO:
		return "auto";
	}
	return "?";
}

struct bit_name {
	uint32_t bit;
	const char *name;
};

static const struct bit_name source_bits[] = {
	{ UDMABUF_EXT_SOURCE_USER, "user" },
	{ UDMABUF_EXT_SOURCE_MEMFD, "memfd" },
	{ UDMABUF_EXT_SOURCE_ANON, "anon" },
	{ UDMABUF_EXT_SOURCE_SHMEM, "shmem" },
	{ UDMABUF_EXT_SOURCE_HUGETLB, "hugetlb" },
	{ UDMABUF_EXT_SOURCE_FILE, "file" },
	{ UDMABUF_EXT_SOURCE_THP, "thp" },
};

static const struct bit_name flag_bits[] = {
	{ UDMABUF_EXT_INFO_READ_ONLY, "ro" },
	{ UDMABUF_EXT_INFO_DROPIN, "dropin" },
};

/* Comma-separated names of the bits set in @v; unknown bits in hex. */
#define bits_string(buf, len, v, table) \
	bits_to_string(buf, len, v, table, sizeof(table) / sizeof(table[0]))
static void bits_to_string(char *buf, size_t len, uint32_t v,
			   const struct bit_name *table, size_t n)
{
	size_t used = 0, i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!(v & table[i].bit))
			continue;
		used += snprintf(buf + used, len - used, "%s%s",
				 used ? "," : "", table[i].name);
		v &= ~table[i].bit;
		if (used >= len)
			return;
	}
	if (v && used < len)
		used += snprintf(buf + used, len - used, "%s%#x", used ? "," : "", v);
	if (!used)
		snprintf(buf, len, "-");
}

/* ------------------------------------------------------------------------ */
/* info */

static void print_info(const struct udmabuf_ext_info *in, int fd, bool json,
		       bool raw_bytes, bool first)
{
	char size[32], src[128], flags[64];
	char *comm = pid_comm(in->owner_pid);

	bits_string(src, sizeof(src), in->source, source_bits);
	bits_string(flags, sizeof(flags), in->buf_flags, flag_bits);
	if (json) {
		printf("%s      {\"fd\": %d, \"id\": %" PRIu64 ", \"size\": %" PRIu64
		       ", \"data_offset\": %u, \"mode\": \"%s\", \"source\": \"%s\""
		       ", \"flags\": \"%s\", \"pages\": %" PRIu64
		       ", \"segments\": %" PRIu64 ", \"charged\": %" PRIu64
		       ", \"meta_bytes\": %" PRIu64 ", \"owner_pid\": %u"
		       ", \"command\": ", first ? "" : ",\n", fd, (uint64_t)in->id,
		       (uint64_t)in->size, in->data_offset, mode_name(in->mode),
		       src, flags, (uint64_t)in->nr_pages,
		       (uint64_t)in->nr_segments, (uint64_t)in->nr_charged,
		       (uint64_t)in->meta_bytes, in->owner_pid);
		json_string(stdout, comm);
		printf(", \"importers\": %u}", in->nr_attachments);
		free(comm);
		return;
	}
	format_size(size, sizeof(size), in->size, raw_bytes);
	if (!first)
		putchar('\n');
	printf("fd:          %d\n", fd);
	printf("id:          %" PRIu64 "\n", (uint64_t)in->id);
	printf("size:        %s\n", size);
	printf("data_offset: %u\n", in->data_offset);
	printf("mode:        %s\n", mode_name(in->mode));
	printf("source:      %s\n", src);
	printf("flags:       %s\n", flags);
	printf("pages:       %" PRIu64 "\n", (uint64_t)in->nr_pages);
	printf("segments:    %" PRIu64 "\n", (uint64_t)in->nr_segments);
	printf("charged:     %" PRIu64 " pages\n", (uint64_t)in->nr_charged);
	printf("meta_bytes:  %" PRIu64 "\n", (uint64_t)in->meta_bytes);
	printf("owner:       %u (%s)\n", in->owner_pid, comm);
	printf("importers:   %u\n", in->nr_attachments);
	free(comm);
}

/*
 * An fd for @arg: a number is a descriptor of this process (as inherited,
 * e.g. "udmabuf-ext info 3 3<..."); anything else is a path. A dma-buf has no
 * open method, so reopening /proc/PID/fd/N fails (ENXIO); for that path the
 * descriptor is duplicated from the process with pidfd_getfd(2) instead,
 * which needs ptrace access to PID (as reading /proc/PID/fd/N does).
 */
static int fd_from_arg(const char *arg, bool *close_it)
{
	char *end;
	long pid, n;
	int fd, pidfd, open_errno;

	*close_it = false;
	errno = 0;
	n = strtol(arg, &end, 10);
	if (*arg && !*end && !errno && n >= 0 && n <= INT_MAX)
		return (int)n;

	fd = open(arg, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		*close_it = true;
		return fd;
	}
	open_errno = errno;
	if (!strncmp(arg, "/proc/self/fd/", 14)) {
		n = parse_long(arg + 14, "file descriptor", 0);
		return (int)n;
	}
	if (sscanf(arg, "/proc/%ld/fd/%ld", &pid, &n) != 2 || pid <= 0 || n < 0) {
		errno = open_errno;
		return -1;
	}
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)n, 0);
	close(pidfd);
	if (fd < 0)
		return -1;
	*close_it = true;
	return fd;
}

static void __attribute__((noreturn)) usage_info(void)
{
	printf("Usage:\n"
	       " %s [options] info [options] <fd|path>...\n\n"
	       "Show what the module says about udmabuf-ext dma-bufs.\n"
	       "<fd> is a descriptor of this process; <path> may be /proc/<pid>/fd/<n>.\n\n"
	       "Options:\n"
	       " -b, --bytes    print sizes in bytes\n"
	       " -J, --json     use JSON output format\n"
	       " -h, --help     display this help\n",
	       program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, raw_bytes = false, close_it;
	struct udmabuf_ext_info in;
	int c, dev, fd, ret, i, rc = EXIT_SUCCESS, shown = 0;

	while ((c = getopt_long(argc, argv, "bJh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			raw_bytes = true;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			usage_info();
		default:
			fprintf(stderr, "Try '%s info --help' for more information.\n",
				program_invocation_short_name);
			return EXIT_FAILURE;
		}
	}
	if (optind >= argc)
		errx(EXIT_FAILURE, "info: no fd or path given");

	dev = open_device();
	if (json)
		printf("{\n   \"buffers\": [\n");
	for (i = optind; i < argc; i++) {
		fd = fd_from_arg(argv[i], &close_it);
		if (fd < 0) {
			warn("%s", argv[i]);
			rc = EXIT_FAILURE;
			continue;
		}
		ret = udmabuf_ext_info(dev, fd, &in);
		if (ret < 0) {
			warnx("%s: %s%s", argv[i], strerror(-ret),
			      ret == -EINVAL ? " (not a udmabuf-ext dma-buf)" :
			      ret == -ENOTTY ? " (the device has no extended ABI)" : "");
			rc = EXIT_FAILURE;
		} else {
			print_info(&in, fd, json, raw_bytes, !shown++);
		}
		if (close_it)
			close(fd);
	}
	if (json)
		printf("%s   ]\n}\n", shown ? "\n" : "");
	close(dev);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* list */

enum col_type { COL_NUM, COL_SIZE, COL_STR };

struct column {
	const char *name;	/* heading */
	const char *key;	/* debugfs column, NULL for COMMAND */
	enum col_type type;
	bool right;
};

static const struct column list_cols[] = {
	{ "ID", "id", COL_NUM, true },
	{ "PID", "pid", COL_NUM, true },
	{ "COMMAND", NULL, COL_STR, false },
	{ "SIZE", "size", COL_SIZE, true },
	{ "MODE", "mode", COL_STR, false },
	{ "SOURCE", "source", COL_STR, false },
	{ "FLAGS", "flags", COL_STR, false },
	{ "PAGES", "pages", COL_NUM, true },
	{ "SEGMENTS", "segments", COL_NUM, true },
	{ "CHARGED", "charged", COL_NUM, true },
	{ "IMPORTERS", "attachments", COL_NUM, true },
	{ "VMAP", "vmapped", COL_NUM, true },
};
#define NCOLS (sizeof(list_cols) / sizeof(list_cols[0]))

/* Split @line at tabs in place; returns the number of fields (<= max). */
static size_t split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL, *tok;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, "\t", &save); tok && n < max;
	     tok = strtok_r(NULL, "\t", &save))
		fields[n++] = tok;
	return n;
}

#define MAX_FIELDS 32

struct row {
	char *cell[NCOLS];
};

static void free_rows(struct row *rows, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < NCOLS; j++)
			free(rows[i].cell[j]);
	free(rows);
}

static void __attribute__((noreturn)) debugfs_error(void)
{
	int e = errno;

	if (access(MODULE_DIR, F_OK))
		errx(EXIT_FAILURE, "the udmabuf_ext module is not loaded");
	if (e == ENOENT)
		errx(EXIT_FAILURE, "cannot open %s: %s (is debugfs mounted? "
		     "mount -t debugfs none /sys/kernel/debug)",
		     DEBUGFS_BUFFERS, strerror(e));
	errno = e;
	err(EXIT_FAILURE, "cannot open %s%s", DEBUGFS_BUFFERS,
	    e == EACCES || e == EPERM ? " (root only)" : "");
}

static void __attribute__((noreturn)) usage_list(void)
{
	printf("Usage:\n"
	       " %s [options] list [options]\n\n"
	       "List the live udmabuf-ext buffers (from debugfs; root only).\n\n"
	       "Options:\n"
	       " -b, --bytes        print sizes in bytes\n"
	       " -J, --json         use JSON output format\n"
	       " -n, --noheadings   don't print headings\n"
	       " -p, --pid <pid>    only buffers owned by this process\n"
	       " -r, --raw          use the raw output format (no alignment)\n"
	       " -h, --help         display this help\n\n"
	       "Columns: ID PID COMMAND SIZE MODE SOURCE FLAGS PAGES SEGMENTS CHARGED\n"
	       "IMPORTERS VMAP; see udmabuf-ext(1).\n",
	       program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, raw = false, raw_bytes = false, headings = true;
	long only_pid = -1;
	char *line = NULL, *fields[MAX_FIELDS], *names[MAX_FIELDS];
	char *header = NULL;
	int idx[NCOLS];
	size_t cap = 0, nnames, nf, width[NCOLS], nrows = 0, i, j;
	struct row *rows = NULL;
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "bJnp:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			raw_bytes = true;
			break;
		case 'J':
			json = true;
			break;
		case 'n':
			headings = false;
			break;
		case 'p':
			only_pid = parse_long(optarg, "pid", 0);
			break;
		case 'r':
			raw = true;
			break;
		case 'h':
			usage_list();
		default:
			fprintf(stderr, "Try '%s list --help' for more information.\n",
				program_invocation_short_name);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc)
		errx(EXIT_FAILURE, "list: unexpected argument '%s'", argv[optind]);

	f = fopen(DEBUGFS_BUFFERS, "re");
	if (!f)
		debugfs_error();
	/* The header names the columns: find ours by name. */
	if (getline(&header, &cap, f) < 0)
		errx(EXIT_FAILURE, "%s: empty", DEBUGFS_BUFFERS);
	nnames = split_tabs(header, names, MAX_FIELDS);
	for (j = 0; j < NCOLS; j++) {
		idx[j] = -1;
		for (i = 0; list_cols[j].key && i < nnames; i++)
			if (!strcmp(names[i], list_cols[j].key))
				idx[j] = (int)i;
		if (list_cols[j].key && idx[j] < 0)
			errx(EXIT_FAILURE, "%s: no column '%s'", DEBUGFS_BUFFERS,
			     list_cols[j].key);
	}
	cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		char buf[64];
		struct row *r;
		long pid;

		nf = split_tabs(line, fields, MAX_FIELDS);
		if (nf < nnames)
			continue;
		pid = strtol(fields[idx[1]], NULL, 10);
		if (only_pid >= 0 && pid != only_pid)
			continue;
		r = realloc(rows, (nrows + 1) * sizeof(*rows));
		if (!r)
			err(EXIT_FAILURE, "realloc");
		rows = r;
		r = &rows[nrows++];
		for (j = 0; j < NCOLS; j++) {
			const char *v = list_cols[j].key ? fields[idx[j]] : NULL;

			if (!list_cols[j].key) {
				r->cell[j] = pid_comm(pid);
				continue;
			}
			if (list_cols[j].type == COL_SIZE) {
				format_size(buf, sizeof(buf),
					    strtoull(v, NULL, 0), raw_bytes);
				v = buf;
			} else if (!strcmp(list_cols[j].key, "source")) {
				bits_string(buf, sizeof(buf),
					    (uint32_t)strtoul(v, NULL, 0), source_bits);
				v = buf;
			} else if (!strcmp(list_cols[j].key, "flags")) {
				bits_string(buf, sizeof(buf),
					    (uint32_t)strtoul(v, NULL, 0), flag_bits);
				v = buf;
			}
			r->cell[j] = strdup(v);
			if (!r->cell[j])
				err(EXIT_FAILURE, "strdup");
		}
	}
	free(line);
	free(header);
	fclose(f);

	if (json) {
		printf("{\n   \"buffers\": [");
		for (i = 0; i < nrows; i++) {
			printf("%s\n      {", i ? "," : "");
			for (j = 0; j < NCOLS; j++) {
				char key[32];
				size_t k;

				for (k = 0; list_cols[j].name[k] && k < sizeof(key) - 1; k++)
					key[k] = (char)tolower((unsigned char)list_cols[j].name[k]);
				key[k] = '\0';
				printf("%s\"%s\": ", j ? ", " : "", key);
				if (list_cols[j].type == COL_STR ||
				    (list_cols[j].type == COL_SIZE && !raw_bytes))
					json_string(stdout, rows[i].cell[j]);
				else
					fputs(rows[i].cell[j], stdout);
			}
			putchar('}');
		}
		printf("%s   ]\n}\n", nrows ? "\n" : "");
		free_rows(rows, nrows);
		return EXIT_SUCCESS;
	}

	for (j = 0; j < NCOLS; j++) {
		width[j] = headings ? strlen(list_cols[j].name) : 0;
		for (i = 0; i < nrows; i++)
			if (strlen(rows[i].cell[j]) > width[j])
				width[j] = strlen(rows[i].cell[j]);
	}
	for (i = 0; i <= nrows; i++) {
		if (i == 0 && !headings)
			continue;
		for (j = 0; j < NCOLS; j++) {
			const char *v = i ? rows[i - 1].cell[j] : list_cols[j].name;
			const char *sep = j + 1 < NCOLS ? " " : "\n";

			if (raw)
				printf("%s%s", v, sep);
			else if (list_cols[j].right)
				printf("%*s%s", (int)width[j], v, sep);
			else if (j + 1 < NCOLS)
				printf("%-*s%s", (int)width[j], v, sep);
			else
				printf("%s%s", v, sep);
		}
	}
	free_rows(rows, nrows);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* limits */

static const struct {
	const char *name;
	const char *what;
} param_help[] = {
	{ "size_limit_mb", "MiB, largest buffer" },
	{ "list_limit", "most items in one create" },
	{ "user_limit_mb", "MiB per user, memfd pages of the upstream ABI" },
	{ "auto_copy_max_kb", "KiB, AUTO mode copies up to this size" },
	{ "dropin", "/dev/udmabuf: -1 if the kernel has none, 0 never, 1 always" },
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print "  name value [what]" for every file of @dir, sorted; -1 if none. */
static int print_dir(const char *dir, bool with_help)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, i, k;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char **p;

		if (de->d_name[0] == '.')
			continue;
		p = realloc(names, (n + 1) * sizeof(*names));
		if (!p)
			err(EXIT_FAILURE, "realloc");
		names = p;
		names[n] = strdup(de->d_name);
		if (!names[n++])
			err(EXIT_FAILURE, "strdup");
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		const char *what = "";
		char *v;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		v = read_line(path);
		for (k = 0; with_help && k < sizeof(param_help) / sizeof(param_help[0]); k++)
			if (!strcmp(param_help[k].name, names[i]))
				what = param_help[k].what;
		printf("  %-18s %-10s %s\n", names[i], v ? v : "?", what);
		free(v);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* The value of "Key:" in /proc/PID/status, or NULL; the caller frees it. */
static char *status_field(long pid, const char *key)
{
	char path[64], *line = NULL, *v = NULL;
	size_t cap = 0, klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (getline(&line, &cap, f) >= 0) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *s = line + klen + 1;

			s += strspn(s, " \t");
			s[strcspn(s, "\n")] = '\0';
			v = strdup(s);
			break;
		}
	}
	free(line);
	fclose(f);
	return v;
}

static void format_rlim(char *buf, size_t len, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		format_size(buf, len, (uint64_t)v, false);
}

/*
 * The pages debugfs counts for @uid against user_limit_mb into @pages, and
 * the limit into @limit (both in pages); 0 if @uid is not listed (it holds
 * no such page), -1 if the file cannot be read (root only).
 */
static int user_counted(unsigned long uid, unsigned long *pages,
			unsigned long *limit)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long u, p, l;
	FILE *f = fopen(DEBUGFS_USERS, "re");

	*pages = 0;
	*limit = 0;
	if (!f)
		return -1;
	while (getline(&line, &cap, f) >= 0) {
		if (sscanf(line, "%lu %lu %lu", &u, &p, &l) == 3 && u == uid) {
			*pages = p;
			*limit = l;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

static void __attribute__((noreturn)) usage_limits(void)
{
	printf("Usage:\n"
	       " %s [options] limits [options]\n\n"
	       "Show the module's parameters and usage, what limits a process's\n"
	       "buffers (RLIMIT_MEMLOCK, its pinned memory (VmPin), CAP_IPC_LOCK), what\n"
	       "its user holds against user_limit_mb, and the rules.\n\n"
	       "Options:\n"
	       " -p, --pid <pid>   the process to show (default: this one, whose\n"
	       "                   limits are the caller's)\n"
	       " -h, --help        display this help\n",
	       program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

static int cmd_limits(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char soft[32], hard[32], held[32], lim[32], *comm, *pin, *lck, *cap, *uid;
	unsigned long ruid = 0, pages, limit;
	long pid = getpid(), psz = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	int c, rc = EXIT_SUCCESS;
	bool have_cap = false;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = parse_long(optarg, "pid", 1);
			break;
		case 'h':
			usage_limits();
		default:
			fprintf(stderr, "Try '%s limits --help' for more information.\n",
				program_invocation_short_name);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc)
		errx(EXIT_FAILURE, "limits: unexpected argument '%s'", argv[optind]);

	printf("Module parameters (%s):\n", PARAMS_DIR);
	if (print_dir(PARAMS_DIR, true) < 0) {
		printf("  (the udmabuf_ext module is not loaded)\n");
		rc = EXIT_FAILURE;
	}
	printf("Module usage (%s):\n", STATS_DIR);
	if (print_dir(STATS_DIR, false) < 0)
		printf("  (not available)\n");

	if (prlimit((pid_t)pid, RLIMIT_MEMLOCK, NULL, &rl))
		err(EXIT_FAILURE, "cannot read RLIMIT_MEMLOCK of process %ld", pid);
	comm = pid_comm(pid);
	pin = status_field(pid, "VmPin");
	lck = status_field(pid, "VmLck");
	cap = status_field(pid, "CapEff");
	uid = status_field(pid, "Uid");	/* real, effective, saved, fs */
	if (cap)
		have_cap = (strtoull(cap, NULL, 16) >> CAP_IPC_LOCK_BIT) & 1;
	if (uid)
		ruid = strtoul(uid, NULL, 10);
	format_rlim(soft, sizeof(soft), rl.rlim_cur);
	format_rlim(hard, sizeof(hard), rl.rlim_max);
	printf("Process %ld (%s):\n", pid, comm);
	printf("  %-18s %s (hard limit %s)\n", "RLIMIT_MEMLOCK", soft, hard);
	printf("  %-18s %s\n", "VmPin", pin ? pin : "?");
	printf("  %-18s %s\n", "VmLck", lck ? lck : "?");
	printf("  %-18s %s\n", "CAP_IPC_LOCK",
	       !cap ? "?" : have_cap ? "yes (neither limit applies to its buffers)" :
	       "no (its buffers count against both limits below)");
	printf("User %lu:\n", ruid);
	if (!uid || user_counted(ruid, &pages, &limit) < 0) {
		printf("  %-18s ? (reading %s needs root)\n", "user_limit_mb",
		       DEBUGFS_USERS);
	} else if (!pages) {
		printf("  %-18s nothing held\n", "user_limit_mb");
	} else {
		format_size(held, sizeof(held), (uint64_t)pages * psz, false);
		format_size(lim, sizeof(lim), (uint64_t)limit * psz, false);
		printf("  %-18s %s held of %s\n", "user_limit_mb", held, lim);
	}
	printf("Rules (per user, all its processes together; CAP_IPC_LOCK is exempt):\n"
	       "  %-18s UDMABUF_EXT_CREATE: every page (pin, move, copy, memfd item)\n"
	       "  %-18s is charged to the user's RLIMIT_MEMLOCK (ENOMEM beyond it) and\n"
	       "  %-18s shown in the creator's VmPin\n"
	       "  %-18s UDMABUF_CREATE(_LIST): memfd pages count against user_limit_mb\n"
	       "  %-18s (EDQUOT beyond it), as upstream charges them to nothing\n"
	       "  %-18s RLIMIT_MEMLOCK plus user_limit_mb\n",
	       "extended ABI", "", "", "upstream ABI", "", "at most");
	free(comm);
	free(pin);
	free(lck);
	free(cap);
	free(uid);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* create */

enum source { SRC_MEMFD, SRC_HUGETLB, SRC_MALLOC, SRC_ALIGNED, SRC_ANON };

static void __attribute__((noreturn)) usage_create(void)
{
	printf("Usage:\n"
	       " %s [options] create [options]\n\n"
	       "Create a dma-buf from new memory, print its info, and optionally hold it.\n\n"
	       "Options:\n"
	       " -s, --size <size>      size in bytes; K, M, G suffixes (default 1M)\n"
	       " -S, --source <source>  memfd (default), hugetlb (2 MiB memfd pages),\n"
	       "                        malloc (a malloc()'d range, usually unaligned:\n"
	       "                        devices may only read it, so -r, -m copy or\n"
	       "                        -m auto), aligned (page-aligned heap memory of\n"
	       "                        whole pages, udmabuf_ext_alloc()) or anon (an\n"
	       "                        anonymous mmap)\n"
	       " -m, --mode <mode>      pin, copy, move or auto (UDMABUF_EXT_CREATE);\n"
	       "                        without it a memfd goes through UDMABUF_CREATE\n"
	       "                        and other sources use pin\n"
	       " -r, --read-only        a read-only buffer\n"
	       " -H, --hold[=<secs>]    keep the buffer for <secs> seconds, or without\n"
	       "                        <secs> until standard input reaches end of file\n"
	       " -b, --bytes            print sizes in bytes\n"
	       " -J, --json             use JSON output format\n"
	       " -h, --help             display this help\n",
	       program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

static uint32_t parse_mode(const char *s)
{
	static const char *const names[] = { "pin", "copy", "move", "auto" };
	uint32_t i;

	for (i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	errx(EXIT_FAILURE, "unknown mode '%s' (pin, copy, move, auto)", s);
}

static enum source parse_source(const char *s)
{
	if (!strcmp(s, "memfd"))
		return SRC_MEMFD;
	if (!strcmp(s, "hugetlb"))
		return SRC_HUGETLB;
	if (!strcmp(s, "malloc"))
		return SRC_MALLOC;
	if (!strcmp(s, "aligned"))
		return SRC_ALIGNED;
	if (!strcmp(s, "anon"))
		return SRC_ANON;
	errx(EXIT_FAILURE, "unknown source '%s' (memfd, hugetlb, malloc, aligned, anon)", s);
}

static void hold(long secs)
{
	char buf[256];
	ssize_t n;

	if (secs >= 0) {
		unsigned int left = (unsigned int)secs;

		while (left)
			left = sleep(left);
		return;
	}
	do {
		n = read(STDIN_FILENO, buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, 'S' },
		{ "mode", required_argument, NULL, 'm' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "hold", optional_argument, NULL, 'H' },
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 1 << 20;
	enum source src = SRC_MEMFD;
	int64_t mode = -1;
	bool ro = false, json = false, raw_bytes = false, holding = false;
	long hold_secs = -1;
	struct udmabuf_ext_info in;
	void *mem = NULL, *map = MAP_FAILED;
	size_t map_len = 0;
	int c, dev, memfd = -1, fd, ret;

	while ((c = getopt_long(argc, argv, "s:S:m:rH::bJh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			size = parse_size(optarg, "size");
			break;
		case 'S':
			src = parse_source(optarg);
			break;
		case 'm':
			mode = parse_mode(optarg);
			break;
		case 'r':
			ro = true;
			break;
		case 'H':
			holding = true;
			if (optarg)
				hold_secs = parse_long(optarg, "hold time", 0);
			break;
		case 'b':
			raw_bytes = true;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			usage_create();
		default:
			fprintf(stderr, "Try '%s create --help' for more information.\n",
				program_invocation_short_name);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc)
		errx(EXIT_FAILURE, "create: unexpected argument '%s'", argv[optind]);
	if (!size || size > SIZE_MAX / 2)
		errx(EXIT_FAILURE, "invalid size %" PRIu64, size);

	dev = open_device();
	if (src == SRC_MEMFD || src == SRC_HUGETLB) {
		uint64_t align = src == SRC_HUGETLB ? 2 << 20 : (uint64_t)sysconf(_SC_PAGESIZE);

		/* memfd ranges are whole pages (whole huge pages for hugetlb). */
		size = (size + align - 1) / align * align;
		memfd = memfd_create("udmabuf-ext-cli", MFD_CLOEXEC | MFD_ALLOW_SEALING |
				     (src == SRC_HUGETLB ? MFD_HUGETLB : 0));
		if (memfd < 0)
			err(EXIT_FAILURE, "memfd_create");
		if (ftruncate(memfd, (off_t)size))
			err(EXIT_FAILURE, "cannot size the memfd to %" PRIu64 " bytes%s",
			    size, src == SRC_HUGETLB ? " (free huge pages?)" : "");
		if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK))
			err(EXIT_FAILURE, "F_ADD_SEALS");
		if (mode < 0 && !ro) {
			fd = udmabuf_ext_create_memfd(dev, memfd, 0, size,
						      UDMABUF_FLAGS_CLOEXEC);
		} else {
			struct udmabuf_ext_item item = {
				.kind = UDMABUF_EXT_ITEM_MEMFD,
				.memfd = (uint32_t)memfd,
				.start = 0,
				.size = size,
			};

			fd = udmabuf_ext_create_list(dev, &item, 1,
						     mode < 0 ? UDMABUF_EXT_MODE_PIN : (uint32_t)mode,
						     UDMABUF_EXT_FLAGS_CLOEXEC |
						     (ro ? UDMABUF_EXT_FLAGS_READ_ONLY : 0), NULL);
		}
	} else {
		if (src == SRC_MALLOC) {
			mem = malloc(size);
			if (!mem)
				err(EXIT_FAILURE, "malloc");
			memset(mem, 0xa5, size);
		} else if (src == SRC_ALIGNED) {
			size_t len;

			mem = udmabuf_ext_alloc(size, &len);
			if (!mem)
				err(EXIT_FAILURE, "udmabuf_ext_alloc");
			size = len;
			memset(mem, 0xa5, size);
		} else {
			map = mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (map == MAP_FAILED)
				err(EXIT_FAILURE, "mmap");
			map_len = size;
			memset(map, 0xa5, size);
		}
		fd = udmabuf_ext_create_user(dev, mem ? mem : map, size,
					     mode < 0 ? UDMABUF_EXT_MODE_PIN : (uint32_t)mode,
					     UDMABUF_EXT_FLAGS_CLOEXEC |
					     (ro ? UDMABUF_EXT_FLAGS_READ_ONLY : 0), NULL);
	}
	if (fd == -EINVAL && src == SRC_MALLOC && !ro &&
	    (mode < 0 || mode == UDMABUF_EXT_MODE_PIN || mode == UDMABUF_EXT_MODE_MOVE)) {
		warnx("cannot create a %" PRIu64 "-byte buffer: %s", size,
		      strerror(-fd));
		errx(EXIT_FAILURE, "a range that devices may write must be page "
		     "aligned at both ends: use -S aligned, -r or -m copy");
	}
	if (fd < 0)
		errx_errno(fd, "cannot create a %" PRIu64 "-byte buffer", size);

	ret = udmabuf_ext_info(dev, fd, &in);
	if (ret < 0) {
		/* A kernel's own /dev/udmabuf: no info, but the buffer exists. */
		warnx("no info on this device: %s", strerror(-ret));
		printf("fd:          %d\nsize:        %" PRIu64 "\nowner:       %d\n",
		       fd, size, getpid());
	} else if (json) {
		printf("{\n   \"buffers\": [\n");
		print_info(&in, fd, true, raw_bytes, true);
		printf("\n   ]\n}\n");
	} else {
		print_info(&in, fd, false, raw_bytes, true);
	}
	if (fflush(stdout))
		err(EXIT_FAILURE, "stdout");

	if (holding)
		hold(hold_secs);

	close(fd);
	if (memfd >= 0)
		close(memfd);
	if (map != MAP_FAILED)
		munmap(map, map_len);
	free(mem);
	close(dev);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */

static void __attribute__((noreturn)) usage(void)
{
	printf("Usage:\n"
	       " %s [options] <command> [<args>]\n\n"
	       "Inspect and create udmabuf-ext dma-bufs.\n\n"
	       "Commands:\n"
	       " list                    list live buffers (owner, size, mode, pages, importers)\n"
	       " info <fd|path>...       describe dma-bufs (e.g. /proc/<pid>/fd/<n>)\n"
	       " limits [-p <pid>]       module parameters, RLIMIT_MEMLOCK and pinned memory\n"
	       " create [options]        create a buffer (for scripts and tests)\n\n"
	       "Options:\n"
	       " -d, --device <path>     device node (default: %s, else %s)\n"
	       " -h, --help              display this help\n"
	       " -V, --version           display version\n\n"
	       "Run '%s <command> --help' for a command's options.\n"
	       "For more details see udmabuf-ext(1).\n",
	       program_invocation_short_name, UDMABUF_EXT_DEV_PATH,
	       UDMABUF_EXT_DROPIN_DEV_PATH, program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "list", cmd_list },
		{ "info", cmd_info },
		{ "limits", cmd_limits },
		{ "create", cmd_create },
	};
	const char *cmd;
	size_t i;
	int c;

	/* "+": stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage();
		case 'V':
			printf("%s from udmabuf-ext %s (libudmabuf-ext %d.%d.%d)\n",
			       program_invocation_short_name, PACKAGE_VERSION,
			       UDMABUF_EXT_LIB_VERSION_MAJOR, UDMABUF_EXT_LIB_VERSION_MINOR,
			       UDMABUF_EXT_LIB_VERSION_MICRO);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				program_invocation_short_name);
			return EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		warnx("no command given");
		fprintf(stderr, "Try '%s --help' for more information.\n",
			program_invocation_short_name);
		return EXIT_FAILURE;
	}
	cmd = argv[optind];
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name))
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;	/* glibc: restart getopt for the command */
		return cmds[i].fn(argc, argv);
	}
	warnx("unknown command '%s'", cmd);
	fprintf(stderr, "Try '%s --help' for more information.\n",
		program_invocation_short_name);
	return EXIT_FAILURE;
}
