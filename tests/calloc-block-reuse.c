/*
 * calloc-block-reuse: freed heap blocks (still full of old data) are reused by later
 * callocs, chosen by best fit (smallest fitting FREE block, ties to the lowest address), and
 * must come back zeroed; no syscall after the preallocation.
 * Rules 6 (zeroed, also when a FREE block is reused), 9 (best fit, ties to the lowest
 * address), 10 (exact fit), 13.
 *
 * Layout (payload offsets): 1000 @0x20 | 64 @0x428 | 504 @0x488 | 64 @0x6a0 | 2000 @0x700 |
 * 64 @0xef0 | 504 @0xf50 | 64 @0x1168 | FREE tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_calloc(0, 8, 125);
	T_calloc(1, 8, 8);
	T_calloc(2, 7, 72);
	T_calloc(3, 64, 1);
	T_calloc(4, 16, 125);
	T_calloc(5, 2, 32);
	T_calloc(6, 504, 1);
	T_calloc(7, 1, 64);
	expect_at(7, 0x1168);

	T_free(0);
	T_free(2);
	T_free(4);
	T_free(6);

	T_calloc(10, 4, 125);   /* need 504: the two 504 blocks tie, the lower one wins */
	expect_at(10, 0x488);
	expect_size(10, 504);
	T_calloc(11, 7, 71);    /* need 504: the other one */
	expect_at(11, 0xf50);
	T_calloc(12, 2000, 1);  /* exact fit, though the 1000 block comes first */
	expect_at(12, 0x700);
	T_calloc(13, 3, 331);   /* need 1000 */
	expect_at(13, 0x20);
	expect_size(13, 1000);

	T_free(3);
	T_calloc(14, 3, 19);    /* need 64 */
	expect_at(14, 0x6a0);
	T_free(12);
	T_calloc(15, 1, 1999);  /* need 2000: the same block once more */
	expect_at(15, 0x700);

	for (int i = 0; i < 16; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
