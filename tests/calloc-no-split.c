/*
 * calloc-no-split: a FREE block whose remainder after the request would be exactly 32 bytes
 * is not split: the calloc'd block keeps its whole size. A remainder of 40 is split (a FREE
 * block of 8 bytes). Also for a FREE block made by merging two. Reused blocks come back zeroed.
 * Rules 10 (split iff size - need >= 40), 6, 8, 9.
 *
 * Layout: 1000 @0x20 | 8 @0x428 | 1000 @0x450 | 8 @0x858 | FREE tail of 128896 @0x880.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_calloc(0, 1, 1000);
	T_calloc(1, 1, 8);
	T_calloc(2, 1000, 1);
	T_calloc(3, 8, 1);
	expect_at(3, 0x858);
	expect_free_at(0x880, 128896);

	T_free(0);
	T_calloc(4, 8, 121);      /* 968: 1000 - 968 = 32, no split */
	expect_at(4, 0x20);
	expect_size(4, 1000);

	T_free(2);
	T_calloc(5, 2, 480);      /* 960: 1000 - 960 = 40, split: a FREE block of 8 follows */
	expect_at(5, 0x450);
	expect_size(5, 960);
	expect_free_at(0x450 + 960 + 32, 8);
	T_calloc(6, 4, 2);        /* best fit: the FREE 8 */
	expect_at(6, 0x450 + 992);

	T_free(4);
	T_free(1);
	T_calloc(7, 16, 63);      /* 1008: 1000 + 8 merge into 1040, remainder 32: no split */
	expect_at(7, 0x20);
	expect_size(7, 1040);

	T_free(5);
	T_calloc(8, 3, 321);      /* need 968: the FREE 960 is too small, the tail is split */
	T_calloc(9, 1, 921);      /* need 928 of 960: remainder 32, no split */
	expect_at(9, 0x450);
	expect_size(9, 960);

	for (int i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
