/*
 * malloc-threshold: os_malloc requests on both sides of the mmap threshold, to the byte:
 * 32 + ALIGN8(size) >= 131072 maps, so 131032 (and 131025..131031, rounded up to it) stay
 * on the heap while 131033 (rounded up to 131040) and above are mapped; mapped lengths are
 * exactly 32 + need.
 * Rules 5 (the threshold), 4 (exact mmap length), 2-3, 12, 10 (131032 in the 131040 of the
 * preallocation: remainder 8, no split).
 * points: 1
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 131032);          /* heap: the preallocated block, whole (remainder 8) */
	expect_at(0, 0x20);
	expect_size(0, 131040);
	T_malloc(1, 131033);          /* mapped: mmap(131072) */
	T_malloc(2, 131031);          /* heap, need 131032: appended */
	expect_at(2, 0x20 + 131072);
	expect_size(2, 131032);
	T_malloc(3, 131040);          /* mapped */
	T_malloc(4, 131024);          /* heap, appended */
	expect_at(4, 0x20 + 131072 + 131064);
	expect_size(4, 131024);
	T_malloc(5, 131025);          /* heap, need 131032 */
	T_malloc(6, 131041);          /* mapped, need 131048 */
	T_malloc(7, 131072);          /* mapped */
	T_free(2);
	T_malloc(8, 131026);          /* heap: the freed 131032, exact */
	expect_at(8, 0x20 + 131072);
	T_free(1);
	T_malloc(9, 131039);          /* mapped */
	for (int i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
