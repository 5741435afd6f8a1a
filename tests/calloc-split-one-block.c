/*
 * calloc-split-one-block: one FREE block (full of old data), reused again and again by
 * smaller callocs: each time the chosen block keeps exactly need, the rest becomes a new FREE
 * block right after it, down to a remainder of 40 (an 8-byte FREE block); each piece zeroed.
 * Rules 9-10 (best fit then split), 6 (zeroed), 13.
 *
 * Layout: 4000 @0x20 | 8 @0xfe0 | FREE tail.
 * points: 2
 * hidden: yes
 */
#include "common.h"

int main(void)
{
	T_calloc(0, 1, 4000);
	T_calloc(1, 1, 8);
	expect_at(1, 0x20 + 4032);
	T_free(0);

	T_calloc(2, 10, 100);     /* 4000 -> 1000 + FREE 2968 */
	expect_at(2, 0x20);
	expect_size(2, 1000);
	expect_free_at(0x20 + 1032, 2968);

	T_calloc(3, 20, 100);     /* 2968 -> 2000 + FREE 936 */
	expect_at(3, 0x20 + 1032);
	expect_size(3, 2000);
	expect_free_at(0x20 + 3064, 936);

	T_calloc(4, 112, 8);      /* 896: 936 - 896 = 40, split: FREE 8 */
	expect_at(4, 0x20 + 3064);
	expect_size(4, 896);
	expect_free_at(0x20 + 3992, 8);

	T_calloc(5, 5, 1);        /* need 8: the last piece, exact */
	expect_at(5, 0x20 + 3992);
	expect_size(5, 8);

	T_free(3);
	T_calloc(6, 3, 500);      /* need 1504: 2000 -> 1504 + FREE 464 */
	expect_at(6, 0x20 + 1032);
	expect_free_at(0x20 + 2568, 464);
	T_calloc(7, 4, 100);      /* 464 -> 400 + FREE 32 */
	expect_at(7, 0x20 + 2568);
	expect_free_at(0x20 + 3000, 32);

	for (int i = 0; i < 8; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
