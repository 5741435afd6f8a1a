// SPDX-License-Identifier: BSD-3-Clause
/*
 * os_* libraries that break under the drop-in, one way per build (-DBREAK_<case>), for
 * checker/selftest/test_dropin.py to check the one-line verdict `make dropin` prints:
 *
 *   BREAK_segfault   os_malloc writes through NULL              -> crashed: SIGSEGV
 *   BREAK_hang       os_malloc never returns                    -> timed out
 *   BREAK_reentrant  os_malloc calls malloc (the drop-in's)     -> crashed: SIGABRT, with the
 *                                                                  drop-in's own message
 *   BREAK_flood      os_malloc writes to stdout without end     -> flooded its output
 *   BREAK_no_calloc  os_calloc is not defined                   -> refused before anything runs
 *
 * Invariant: every case breaks at the program's first os_malloc, so the other functions are
 * never reached; they exist (returning NULL) so that the library defines the whole API.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *os_malloc(size_t size)
{
#if defined(BREAK_segfault)
	*(volatile int *)0 = (int)size;
	return NULL;
#elif defined(BREAK_hang)
	(void)size;
	for (;;)
		pause();
	return NULL;
#elif defined(BREAK_reentrant)
	return malloc(size);
#elif defined(BREAK_flood)
	char junk[1 << 16];

	(void)size;
	memset(junk, 'x', sizeof(junk));
	while (write(STDOUT_FILENO, junk, sizeof(junk)) > 0)
		;
	_exit(3);           /* not reached: the file size limit kills the program first */
#elif defined(BREAK_no_calloc)
	(void)size;
	return NULL;
#else
#error "build with -DBREAK_<case>: segfault, hang, reentrant, flood or no_calloc"
#endif
}

#if defined(BREAK_no_calloc)
#define UNREACHED_NO_CALLOC
#endif
#include "unreached_api.h"
