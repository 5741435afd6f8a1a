// SPDX-License-Identifier: BSD-3-Clause
/*
 * A hostile os_* library for the drop-in's sandbox. Its constructor, which runs in the
 * program before main(), attacks what it should not reach:
 *
 *   - it creates a file beside the kit's Makefile and appends a line to its README.md, found
 *     by the checkout's path (CHECKOUT, given at build time: what a student could guess);
 *   - it leaves a process behind: a child in a session of its own, named dropin-linger, that
 *     sleeps forever;
 *
 * then writes on stderr how many of the writes succeeded ("tamper: 0 of 2 writes into the
 * checkout succeeded") and aborts, so the run ends at once with that line in its verdict.
 *
 * Invariants: the constructor allocates nothing (its os_* functions are never reached) and
 * reports through write(2) alone, so nothing of the drop-in runs before it aborts.
 */
#define _GNU_SOURCE /* dprintf */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

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

__attribute__((constructor))
static void tamper(void)
{
	int written = write_into(CHECKOUT "/tampered-beside-the-Makefile", O_CREAT | O_EXCL)
		    + write_into(CHECKOUT "/README.md", O_APPEND);

	if (fork() == 0) {
		setsid();
		prctl(PR_SET_NAME, "dropin-linger");
		for (;;)
			pause();
	}
	dprintf(STDERR_FILENO, "tamper: %d of 2 writes into the checkout succeeded\n", written);
	abort();
}

void *os_malloc(size_t size)
{
	(void)size;
	return NULL;
}

void *os_calloc(size_t nmemb, size_t size)
{
	(void)nmemb;
	(void)size;
	return NULL;
}

void *os_realloc(void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
	return NULL;
}

void os_free(void *ptr)
{
	(void)ptr;
}
