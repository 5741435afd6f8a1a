/*
 * realloc-mmap-to-heap: mapped blocks resized to heap sizes are allocated anew with the
 * malloc rules, the contents copied, and the old mapping unmapped last: the first one
 * triggers the heap preallocation from inside os_realloc; a calloc'd mapped block realloc'd
 * to its own size moves to the heap (os_realloc uses the malloc threshold); others land in a
 * FREE block by best fit, or grow the FREE last block; a mapped shrink stays mapped.
 * Rules 15 (mapped: allocate with the malloc rules, copy min(old, new), munmap last),
 * 2 (preallocation inside os_realloc), 5-6, 9-11.
 * points: 2
 */
#include "common.h"

int main(void)
{
	T_malloc(0, 200000);          /* mapped; no heap yet */
	T_realloc(0, 1000);           /* brk(0), brk(+0x20000), copy 1000, munmap */
	expect_at(0, 0x20);
	expect_size(0, 1000);

	T_calloc(1, 1, 5000);         /* mapped: above the page */
	T_realloc(1, 5000);           /* the same size, but heap for os_realloc */
	expect_at(1, 0x20 + 1032);

	T_malloc(2, 300000);
	T_free(0);
	T_realloc(2, 900);            /* best fit: the FREE 1000 -> 904 + FREE 64 */
	expect_at(2, 0x20);
	expect_free_at(0x20 + 936, 64);

	T_realloc(3, 131033);         /* os_realloc(NULL, n): mapped */
	T_realloc(3, 131032);         /* no fit: the FREE last block grows (brk) */
	expect_at(3, 0x20 + 1032 + 5032);
	expect_size(3, 131032);

	T_malloc(4, 1024 * 1024);
	T_realloc(4, 200000);         /* still mapped: a new, smaller mapping */
	T_realloc(4, 60);             /* best fit: the FREE 64 */
	expect_at(4, 0x20 + 936);

	for (int i = 0; i < 5; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
