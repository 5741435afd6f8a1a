/*
 * zero-sizes: os_malloc(0), os_calloc(0, n), os_calloc(n, 0), os_calloc(0, 0) and
 * os_realloc(NULL, 0) return NULL and make no syscall, before the heap exists (they do not
 * trigger the preallocation) and after (from the known heap state); os_realloc(ptr, 0) frees ptr and returns NULL (a
 * heap block becomes FREE and is reused, a mapped block is unmapped).
 * Rules 7 (zero sizes), 2 (they never touch the heap), 14 (size 0 frees), 13.
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_malloc(0, 0);
	T_calloc(0, 0, 5);
	T_calloc(0, 5, 0);
	T_calloc(0, 0, 0);
	T_realloc(0, 0);              /* os_realloc(NULL, 0) */

	start_from_known_heap();      /* the zero sizes above touched nothing */
	T_malloc(1, 100);
	expect_at(1, 0x20);
	T_malloc(2, 200000);          /* mapped */
	T_calloc(3, 1, 50);

	T_malloc(0, 0);
	T_calloc(0, 0, 4096);
	T_calloc(0, 4096, 0);
	T_realloc(0, 0);

	T_realloc(1, 0);              /* frees: FREE, no syscall */
	expect_free_at(0x20, 104);
	T_realloc(2, 0);              /* munmap */
	T_realloc(3, 0);
	T_malloc(4, 100);             /* the block freed by os_realloc(ptr, 0) */
	expect_at(4, 0x20);
	T_calloc(5, 10, 5);           /* the calloc'd one freed by os_realloc(ptr, 0) */
	expect_at(5, 0x20 + 136);
	T_malloc(0, 0);
	T_free(4);
	T_free(5);
	return finish();
}
