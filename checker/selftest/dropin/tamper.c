// SPDX-License-Identifier: BSD-3-Clause
/*
 * A hostile os_* library for the drop-in's sandbox. Its constructor, which runs in the
 * program before main(), attacks what it should not reach:
 *
 *   - it creates a file beside the kit's Makefile and appends a line to its README.md, found
 *     by the checkout's path (CHECKOUT, given at build time: what a student could guess);
 *   - it leaves a process behind: a child in a session of its own, named dropin-linger, that
 *     sleeps forever;
 *   - it fills its working directory with files of 16 MiB, up to FILL_LIMIT bytes;
 *
 * then writes on stderr what it achieved ("tamper: 0 of 2 writes into the checkout
 * succeeded; 63 MiB written of 256") and aborts, so the run ends at once with that line in
 * its verdict.
 *
 * Invariants: the constructor allocates nothing (its os_* functions are never reached) and
 * reports through write(2) alone, so nothing of the drop-in runs before it aborts; it writes
 * at most FILL_LIMIT bytes, so that even unconfined it cannot fill the disk.
 */
#define _GNU_SOURCE /* dprintf */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define MIB (1L << 20)
#define FILE_SIZE (16 * MIB)
#define FILL_LIMIT (256 * MIB)

#ifndef CHECKOUT
#error "build with -DCHECKOUT='\"/path/of/the/checkout\"'"
#endif

static int write_into(const char *path, int flags)
{
	int fd = open(path, O_WRONLY | flags, 0644);

	if (fd < 0)
		return 0;
	if (write(fd, "tampered\n", 9) != 9) {
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}

/* Bytes written into files fill-0, fill-1, ... of the working directory until one fails. */
static long fill(void)
{
	static char chunk[MIB];
	long total = 0;

	memset(chunk, 'x', sizeof(chunk));
	for (int number = 0; total < FILL_LIMIT; number++) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "fill-%d", number);
		fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return total;
		for (long size = 0; size < FILE_SIZE; size += MIB) {
			if (write(fd, chunk, MIB) != MIB) {
				close(fd);
				return total;
			}
			total += MIB;
		}
		close(fd);
	}
	return total;
}

__attribute__((constructor))
static void tamper(void)
{
	int written = write_into(CHECKOUT "/tampered-beside-the-Makefile", O_CREAT | O_EXCL)
		    + write_into(CHECKOUT "/README.md", O_APPEND);
	long filled;

	if (fork() == 0) {
		setsid();
		prctl(PR_SET_NAME, "dropin-linger");
		for (;;)
			pause();
	}
	filled = fill();
	dprintf(STDERR_FILENO, "tamper: %d of 2 writes into the checkout succeeded; %ld MiB written "
		"of %ld\n", written, filled / MIB, FILL_LIMIT / MIB);
	abort();
}

void *os_malloc(size_t size)
{
	(void)size;
	return NULL;
}

#include "unreached_api.h"
