/*
 * malloc-split-first: several FREE blocks separated by live ones; best fit picks the first
 * block of the heap (the smallest that fits) and splits it, then splits its remainder again.
 * Rules 9 (best fit), 10 (split), 8 (nothing to coalesce: the FREE blocks are not adjacent).
 *
 * Layout: 2000 @0x20 | 8 @0x810 | 4000 @0x838 | 8 @0x17f8 | 8000 @0x1820 | 8 @0x3780 | tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 2000);
	T_malloc(1, 8);
	T_malloc(2, 4000);
	T_malloc(3, 8);
	T_malloc(4, 8000);
	T_malloc(5, 8);
	expect_at(5, 0x3780);
	T_free(4);
	T_free(2);
	T_free(0);

	T_malloc(6, 1000);      /* 2000 -> 1000 + FREE 968 */
	expect_at(6, 0x20);
	expect_size(6, 1000);
	expect_free_at(0x20 + 1032, 968);
	expect_free_at(0x838, 4000);
	T_malloc(7, 900);       /* 968 -> 904 + FREE 32 */
	expect_at(7, 0x20 + 1032);
	expect_size(7, 904);
	expect_free_at(0x20 + 1032 + 936, 32);
	T_malloc(8, 32);        /* the 32 left, exact */
	expect_at(8, 0x20 + 1032 + 936);
	T_malloc(9, 3000);      /* the 4000 block now */
	expect_at(9, 0x838);
	expect_free_at(0x838 + 3032, 968);

	for (int i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
