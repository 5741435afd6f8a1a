/*
 * uninit (deliberately buggy, not graded): reads an os_malloc'd element it never wrote and
 * branches on it. os_malloc memory is undefined until written (os_calloc's is zero): memcheck
 * reports the conditional jump and, with --track-origins, the os_malloc that made the value.
 * memcheck: uninitialised
 */
#include <unistd.h>

#include "osmem.h"

int main(void)
{
	int *v = os_malloc(10 * sizeof(int));
	int *z = os_calloc(10, sizeof(int));

	for (int i = 0; i < 5; i++)
		v[i] = i;
	if (z[7] != 0)                    /* fine: calloc memory is defined (and zero) */
		return 3;
	if (v[7] > 100)                   /* the bug: v[7] was never written */
		if (write(STDOUT_FILENO, "big\n", 4) < 0)
			return 2;
	os_free(v);
	os_free(z);
	return 0;
}
