/*
 * realloc-threshold: os_realloc uses os_malloc's threshold (32 + ALIGN8(size) >= 131072
 * maps) for every path: os_realloc(NULL, n), a heap block crossing it (131032 stays, 131033
 * maps), a mapped block coming back under it (131032 lands on the heap), a shrink that stays
 * mapped, and heap resizes right below it.
 * Rules 5 (threshold), 15 (mapped: allocate anew with the malloc rules, copy, munmap last),
 * 16 (heap block to a mapped size: new mapping, old block FREE), 17.
 * points: 1
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_realloc(0, 131033);         /* os_realloc(NULL, 131033): mapped */
	T_realloc(1, 131032);         /* heap: the preallocated block, whole */
	expect_at(1, 0x20);
	expect_size(1, 131040);
	T_realloc(1, 131033);         /* heap block to a mapped size: new mapping, old FREE */
	expect_free_at(0x20, 131040);
	T_realloc(1, 131032);         /* mapped to heap: the FREE 131040 */
	expect_at(1, 0x20);
	T_realloc(0, 131040);         /* mapped to mapped (same need): new mapping */
	T_realloc(0, 131025);         /* need 131032: heap, appended */
	expect_at(0, 0x20 + 131072);
	T_realloc(1, 131024);         /* heap shrink by 16: stays whole */
	expect_at(1, 0x20);
	expect_size(1, 131040);
	T_realloc(1, 131026);         /* need 131032 <= 131040: stays */
	expect_at(1, 0x20);
	T_realloc(1, 131040);         /* need 131040: 32 + 131040 = 131072 maps */
	T_realloc(0, 131031);         /* the same need 131032: stays */
	T_realloc(2, 131041);         /* mapped */
	T_realloc(2, 131033);         /* shrinks, still mapped: new mapping */
	T_realloc(2, 131031);         /* heap: the FREE 131040 at the start */
	expect_at(2, 0x20);
	T_realloc(3, 200000);
	T_realloc(3, 131032);         /* mapped to heap: the last block is ALLOC, appended */
	for (int i = 0; i < 4; i++)
		T_realloc(i, 0);
	return finish();
}
