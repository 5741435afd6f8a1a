/*
 * use-after-free (deliberately buggy, not graded): frees a heap block, then writes into it and
 * reads it back. The block's payload is inaccessible once it is FREE: memcheck reports the
 * write and the read ("inside a block ... free'd"), ASan reports the write (use-after-poison).
 * memcheck: use-after-free
 * asan: use-after-poison WRITE
 */
#include <string.h>
#include <unistd.h>

#include "osmem.h"

int main(void)
{
	char *keep = os_malloc(32);
	char *p = os_malloc(64);

	memset(keep, 'k', 32);
	memset(p, 'a', 64);
	os_free(p);
	p[10] = 'b';                      /* the bug: a write into a FREE block */
	if (p[3] == 'a')                  /* and a read from it */
		if (write(STDOUT_FILENO, "stale data\n", 11) < 0)
			return 2;
	os_free(keep);
	return 0;
}
