/*
 * realloc-block-reuse: blocks that cannot grow in place (their successor is in use) move:
 * the new place is chosen by best fit among the FREE blocks, and the block they leave is
 * reused by later requests. Blocks are made with os_realloc(NULL, n).
 * Rules 20 (move: heap allocation while the old block is still ALLOC, so it does not merge
 * with a FREE predecessor; copy, then FREE),
 * 9 (best fit, ties to the lowest address), 14.
 *
 * Layout (payload offsets): 1000 @0x20 | 64 @0x428 | 504 @0x488 | 64 @0x6a0 | 2000 @0x700 |
 * 64 @0xef0 | 504 @0xf50 | 64 @0x1168 | FREE tail.
 * points: 2
 * hidden: yes
 */
#include "common.h"

int main(void)
{
	T_realloc(0, 1000);
	T_realloc(1, 64);
	T_realloc(2, 504);
	T_realloc(3, 64);
	T_realloc(4, 2000);
	T_realloc(5, 64);
	T_realloc(6, 504);
	T_realloc(7, 64);
	expect_at(7, 0x1168);

	T_realloc(2, 0);        /* FREE 504 @0x488 */
	T_free(4);              /* FREE 2000 @0x700 */

	T_realloc(5, 500);      /* 64 @0xef0, next in use: moves to the FREE 504 */
	expect_at(5, 0x488);
	expect_free_at(0xef0, 64);
	T_realloc(0, 2000);     /* 1000 @0x20, next in use: moves to the FREE 2000, exact */
	expect_at(0, 0x700);
	expect_free_at(0x20, 1000);
	T_realloc(8, 1000);     /* os_realloc(NULL, 1000): the block left at 0x20 */
	expect_at(8, 0x20);
	T_realloc(9, 60);       /* need 64: the block left at 0xef0 */
	expect_at(9, 0xef0);
	T_realloc(6, 1000);     /* 504 @0xf50, next in use, no FREE block fits: the tail */
	expect_at(6, 0x11c8);
	T_realloc(10, 497);     /* need 504: the block left at 0xf50 */
	expect_at(10, 0xf50);
	T_realloc(3, 64);       /* the same size: stays */
	expect_at(3, 0x6a0);

	T_realloc(9, 0);        /* FREE 64 @0xef0 */
	T_free(10);             /* FREE 504 @0xf50: with the 64, 600 */
	T_realloc(7, 640);      /* 64 @0x1168, next in use: moves; while it is ALLOC the
	                         * 600 before it is too small: the tail */
	expect_at(7, 0x15d0);
	expect_free_at(0x1168, 64);
	T_realloc(11, 560);     /* 64 + 504 + the 64 left behind merge: 696 -> 560 + FREE 104 */
	expect_at(11, 0xef0);
	expect_free_at(0xef0 + 592, 104);

	for (int i = 0; i < 12; i++)
		if (slot_of(i)->kind != K_NONE)
			T_realloc(i, 0);
	return finish();
}
