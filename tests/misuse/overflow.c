/*
 * overflow (deliberately buggy, not graded): two adjacent heap blocks of 24 bytes; filling
 * the first writes one byte too many, into the size field of the second one's header. Headers
 * are inaccessible outside os_* calls: memcheck reports the write ("0 bytes after a block of
 * size 24"), ASan reports it (use-after-poison). The program exits without another os_* call,
 * so the corrupted header is never used (the library would abort on it).
 * memcheck: overflow
 * asan: use-after-poison WRITE
 */
#include "osmem.h"

static char *a, *b;

int main(void)
{
	a = os_malloc(24);
	b = os_malloc(24);                /* its header starts right after a's 24 bytes */
	for (volatile int i = 0; i <= 24; i++)
		a[i] = 'x';                   /* the bug: i == 24 is b's header */
	return 0;
}
