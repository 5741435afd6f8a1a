/*
 * malloc-split-middle: FREE blocks of different sizes between live ones; best fit picks a
 * block in the middle of the heap (not the first, not the largest), splits it, and the
 * FREE remainder left in the middle is reused in turn.
 * Rules 9 (best fit), 10 (split / no split), 8.
 *
 * Layout: 3000 @0x20 | 8 @0xbf8 | 1000 @0xc20 | 8 @0x1028 | 5000 @0x1050 | 8 @0x23f8 | tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 3000);
	T_malloc(1, 8);
	T_malloc(2, 1000);
	T_malloc(3, 8);
	T_malloc(4, 5000);
	T_malloc(5, 8);
	expect_at(5, 0x23f8);
	T_free(0);
	T_free(2);
	T_free(4);

	T_malloc(6, 900);       /* need 904: the 1000 in the middle -> 904 + FREE 64 */
	expect_at(6, 0xc20);
	expect_size(6, 904);
	expect_free_at(0xc20 + 936, 64);
	T_malloc(7, 60);        /* need 64: the FREE 64 in the middle, exact */
	expect_at(7, 0xc20 + 936);
	T_malloc(8, 4000);      /* the 5000 -> 4000 + FREE 968 */
	expect_at(8, 0x1050);
	expect_free_at(0x1050 + 4032, 968);
	T_malloc(9, 960);       /* 968 - 960 = 8: no split */
	expect_at(9, 0x1050 + 4032);
	expect_size(9, 968);
	T_malloc(10, 2500);     /* the 3000 at the start at last */
	expect_at(10, 0x20);

	for (int i = 0; i < 11; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
