// SPDX-License-Identifier: BSD-3-Clause
/*
 * Hostile submissions: the reference allocator with one deliberate misbehaviour per CASE, to
 * show the checker survives what students hand in. Each case is one build of this file:
 *
 *   segfault      os_free writes through a bad pointer          -> crashed: killed by SIGSEGV
 *   abort         os_realloc calls abort()                      -> crashed: killed by SIGABRT
 *   hang          os_calloc never returns                       -> timed out
 *   exit          os_realloc calls exit(3)                      -> program exited with 3
 *   flood         os_malloc writes 16 MiB to stdout each call   -> flooded its output
 *   garbage       os_malloc writes binary junk to stderr        -> extra syscall write(2, ...)
 *   fork          os_malloc forks a child                       -> extra syscall clone(...)
 *   mremap        os_realloc of a mapped block calls mremap     -> extra syscall mremap(...)
 *   libc_malloc   os_malloc calls libc malloc (moves the break) -> brk calls that differ
 *   bad_pointer   os_malloc returns a pointer it never mapped   -> crashed: killed by SIGSEGV
 *   no_calloc     the library does not define os_calloc         -> library lacks os_calloc
 *
 * The reference sources are compiled with their API renamed to ref_* (see the Makefile), so
 * the wrappers below are the only os_* the library exports.
 */
#define _GNU_SOURCE /* mremap */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block_meta.h"

void *ref_malloc(size_t size);
void *ref_calloc(size_t nmemb, size_t size);
void *ref_realloc(void *ptr, size_t size);
void ref_free(void *ptr);

#define CASE_IS(name) (__builtin_strcmp(OSMEM_CASE, #name) == 0)

void *os_malloc(size_t size)
{
	if (CASE_IS(flood)) {
		static char junk[1 << 16];

		memset(junk, 'x', sizeof(junk));
		for (int i = 0; i < 256; i++)
			if (write(STDOUT_FILENO, junk, sizeof(junk)) < 0)
				break;
	}
	if (CASE_IS(garbage)) {
		static const char junk[] = "\x00\xff\xfe\x1b[2J\x1b[31mosmem says hi\x07\r\n";

		if (write(STDERR_FILENO, junk, sizeof(junk)) < 0)
			return NULL;
	}
	if (CASE_IS(fork)) {
		pid_t child = fork();

		if (child == 0)
			_exit(0);
	}
	if (CASE_IS(libc_malloc)) {
		void *volatile kept = malloc(64); /* volatile: the compiler may not elide the pair */

		free(kept);
	}
	if (CASE_IS(bad_pointer))
		return (void *)0x1000;
	return ref_malloc(size);
}

#ifndef OSMEM_NO_CALLOC
void *os_calloc(size_t nmemb, size_t size)
{
	if (CASE_IS(hang))
		for (volatile int spin = 1; spin;)
			;
	return ref_calloc(nmemb, size);
}
#endif

void *os_realloc(void *ptr, size_t size)
{
	if (CASE_IS(abort))
		abort();
	if (CASE_IS(exit))
		exit(3);
	if (CASE_IS(mremap) && ptr) {
		struct block_meta *block = (struct block_meta *)ptr - 1;
		size_t length = sizeof(*block) + block->size;

		if (block->status == STATUS_MAPPED)
			mremap(block, length, length, 0);
	}
	return ref_realloc(ptr, size);
}

void os_free(void *ptr)
{
	if (CASE_IS(segfault) && ptr)
		*(volatile int *)16 = 1;
	ref_free(ptr);
}
