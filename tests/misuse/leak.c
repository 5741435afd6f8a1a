/*
 * leak (deliberately buggy, not graded): loses the only pointers to three os_malloc blocks,
 * two on the heap and one mapped, and keeps a fourth in a global until exit.
 * `make memcheck` must report the three as definitely lost (an error) and the fourth as still
 * allocated at exit (not an error: the graded programs often keep blocks until exit).
 * memcheck: leak
 */
#include <string.h>

#include "osmem.h"

static char *kept;

/* The pointer dies with this frame; noinline so that no register of main keeps it. */
static __attribute__((noinline)) void lose(size_t size)
{
	char *p = os_malloc(size);

	if (p)
		memset(p, 1, size);
}

int main(void)
{
	kept = os_malloc(100);
	lose(40);
	lose(2000);
	lose(200000);
	memset(kept, 2, 100);
	return 0;
}
