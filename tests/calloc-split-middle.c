/*
 * calloc-split-middle: FREE blocks of different sizes between live ones; best fit picks a
 * block in the middle of the heap (not the first, not the largest), splits it, and the
 * FREE remainder left in the middle is reused in turn; all zeroed.
 * Rules 9 (best fit), 10 (split / no split), 6 (zeroed), 8.
 *
 * Layout: 3000 @0x20 | 8 @0xbf8 | 1000 @0xc20 | 8 @0x1028 | 4000 @0x1050 | 8 @0x2010 | tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_calloc(0, 3, 1000);
	T_calloc(1, 1, 8);
	T_calloc(2, 1, 1000);
	T_calloc(3, 1, 8);
	T_calloc(4, 1, 4000);
	T_calloc(5, 1, 8);
	expect_at(5, 0x2010);
	T_free(0);
	T_free(2);
	T_free(4);

	T_calloc(6, 100, 9);      /* need 904: the 1000 in the middle -> 904 + FREE 64 */
	expect_at(6, 0xc20);
	expect_size(6, 904);
	expect_free_at(0xc20 + 936, 64);
	T_calloc(7, 6, 10);       /* need 64: the FREE 64 in the middle, exact */
	expect_at(7, 0xc20 + 936);
	T_calloc(8, 40, 80);      /* 3200: the 3000 is too small; 4000 -> 3200 + FREE 768 */
	expect_at(8, 0x1050);
	expect_free_at(0x1050 + 3232, 768);
	T_calloc(9, 95, 8);       /* 760: 768 - 760 = 8, no split */
	expect_at(9, 0x1050 + 3232);
	expect_size(9, 768);
	T_calloc(10, 25, 100);    /* the 3000 at the start at last */
	expect_at(10, 0x20);

	for (int i = 0; i < 11; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
