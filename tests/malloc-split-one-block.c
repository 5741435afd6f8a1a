/*
 * malloc-split-one-block: one FREE block, reused again and again by smaller requests: each
 * time the chosen block keeps exactly need and the rest becomes a new FREE block right after
 * it, down to a remainder of 40 (the smallest that splits: an 8-byte FREE block).
 * Rules 9-10 (best fit then split), 13.
 *
 * Layout: 10000 @0x20 | 8 @0x2750 | FREE tail.
 * points: 2
 * hidden: yes
 */
#include "common.h"

int main(void)
{
	T_malloc(0, 10000);
	T_malloc(1, 8);
	expect_at(1, 0x20 + 10032);
	T_free(0);

	T_malloc(2, 1000);      /* 10000 -> 1000 + FREE 8968 */
	expect_at(2, 0x20);
	expect_size(2, 1000);
	expect_free_at(0x20 + 1032, 8968);

	T_malloc(3, 3000);      /* 8968 -> 3000 + FREE 5936 */
	expect_at(3, 0x20 + 1032);
	expect_size(3, 3000);
	expect_free_at(0x20 + 4064, 5936);

	T_malloc(4, 5893);      /* need 5896: 5936 - 5896 = 40, split: FREE 8 */
	expect_at(4, 0x20 + 4064);
	expect_size(4, 5896);
	expect_free_at(0x20 + 9992, 8);

	T_malloc(5, 5);         /* need 8: the last piece, exact fit */
	expect_at(5, 0x20 + 9992);
	expect_size(5, 8);

	T_free(3);
	T_malloc(6, 2000);      /* 3000 -> 2000 + FREE 968 */
	expect_at(6, 0x20 + 1032);
	expect_free_at(0x20 + 3064, 968);
	T_malloc(7, 900);       /* 968 -> 904 + FREE 32 */
	expect_at(7, 0x20 + 3064);
	expect_free_at(0x20 + 3064 + 936, 32);

	for (int i = 0; i < 8; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
