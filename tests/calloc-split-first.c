/*
 * calloc-split-first: several FREE blocks separated by live ones; best fit picks the first
 * block of the heap (the smallest that fits) and splits it, then splits its remainder again;
 * each reused piece comes back zeroed.
 * Rules 9 (best fit), 10 (split), 6 (zeroed), 8 (nothing to merge: not adjacent).
 *
 * Layout: 2000 @0x20 | 8 @0x810 | 4000 @0x838 | 8 @0x17f8 | 3000 @0x1820 | 8 @0x23f8 | tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_calloc(0, 2, 1000);
	T_calloc(1, 1, 8);
	T_calloc(2, 4, 1000);
	T_calloc(3, 2, 4);
	T_calloc(4, 3, 1000);
	T_calloc(5, 8, 1);
	expect_at(5, 0x23f8);
	T_free(4);
	T_free(2);
	T_free(0);

	T_calloc(6, 1, 1000);     /* 2000 -> 1000 + FREE 968 */
	expect_at(6, 0x20);
	expect_size(6, 1000);
	expect_free_at(0x20 + 1032, 968);
	expect_free_at(0x838, 4000);
	T_calloc(7, 9, 100);      /* need 904: 968 -> 904 + FREE 32 */
	expect_at(7, 0x20 + 1032);
	expect_size(7, 904);
	expect_free_at(0x20 + 1032 + 936, 32);
	T_calloc(8, 4, 8);        /* the 32 left, exact */
	expect_at(8, 0x20 + 1032 + 936);
	T_calloc(9, 7, 500);      /* 3500: the 3000 is too small, 4000 -> 3504 + FREE 464 */
	expect_at(9, 0x838);
	expect_free_at(0x838 + 3536, 464);

	for (int i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
