// SPDX-License-Identifier: GPL-2.0-only
/*
 * qemu-screendump: save a QEMU guest's display through its human monitor
 * (HMP) socket, and return only once QEMU has written the file.
 *
 * The monitor prints "(qemu) " when it is ready for a command; the command
 * "screendump FILE" writes the display as a binary PPM and the next
 * "(qemu) " prompt says it is done. Runs on the host, next to
 * tools/vm/run -s SOCKET.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define TIMEOUT_MS	30000

static void __attribute__((noreturn)) usage(void)
{
	fputs("\nUsage:\n"
	      " qemu-screendump [options] <monitor-socket> <file.ppm>\n"
	      "\nSave the display of the QEMU guest whose human monitor listens on\n"
	      "<monitor-socket> (qemu -monitor unix:<socket>,server=on,wait=off) as\n"
	      "a PPM file, waiting until QEMU has written it.\n"
	      "\nOptions:\n"
	      " -h, --help     display this help\n"
	      " -V, --version  display version\n", stdout);
	exit(EXIT_SUCCESS);
}

/*
 * Read from @fd until the monitor prompt, appending to @buf (@len bytes
 * held, @cap capacity). Returns 0, or -1 on timeout, EOF or error.
 */
static int read_prompt(int fd, char *buf, size_t *len, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		ssize_t n;

		buf[*len] = 0;
		if (strstr(buf, "(qemu) "))
			return 0;
		if (*len + 1 >= cap) {
			/* Keep the tail: the prompt may straddle. */
			memmove(buf, buf + *len - 16, 16);
			*len = 16;
		}
		if (poll(&p, 1, TIMEOUT_MS) <= 0)
			return -1;
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n <= 0)
			return -1;
		*len += n;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[8192], cmd[4200];
	size_t len = 0;
	int c, fd;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
		case 'V':
			printf("qemu-screendump from udmabuf-ext %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'qemu-screendump --help' for more information.\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		warnx("need a monitor socket and a file");
		fprintf(stderr, "Try 'qemu-screendump --help' for more information.\n");
		return 2;
	}
	if (strlen(argv[optind]) >= sizeof(sa.sun_path))
		errx(EXIT_FAILURE, "socket path too long: %s", argv[optind]);
	if (strpbrk(argv[optind + 1], "\n\r\"") ||
	    strlen(argv[optind + 1]) > 4096)
		errx(EXIT_FAILURE, "unusable file name: %s", argv[optind + 1]);
	strcpy(sa.sun_path, argv[optind]);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err(EXIT_FAILURE, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err(EXIT_FAILURE, "connect %s", sa.sun_path);
	if (read_prompt(fd, buf, &len, sizeof(buf)))
		errx(EXIT_FAILURE, "%s: no monitor prompt", sa.sun_path);

	snprintf(cmd, sizeof(cmd), "screendump \"%s\"\n", argv[optind + 1]);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		err(EXIT_FAILURE, "write to the monitor");
	len = 0;
	if (read_prompt(fd, buf, &len, sizeof(buf)))
		errx(EXIT_FAILURE, "%s: screendump did not finish", sa.sun_path);
	close(fd);
	/* The echo of the command, then QEMU's messages, if any. */
	if (strstr(buf, "rror") || strstr(buf, "ould not") || strstr(buf, "nknown"))
		errx(EXIT_FAILURE, "screendump failed: %s", buf);
	if (access(argv[optind + 1], R_OK))
		err(EXIT_FAILURE, "screendump wrote no %s", argv[optind + 1]);
	return EXIT_SUCCESS;
}
