/*
 * malloc-no-split: a FREE block whose remainder after the request would be exactly 32 bytes
 * (room for a header and an empty payload) is not split: the block keeps its whole size.
 * A remainder of 40 is split (a FREE block of 8 bytes). Also for the preallocated tail.
 * Rule 10 (split iff size - need >= 40), 9, 12.
 *
 * Layout: 1000 @0x20 | 8 @0x428 | 1000 @0x450 | 8 @0x858 | FREE tail of 128896 @0x880.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 1000);
	T_malloc(1, 8);
	T_malloc(2, 1000);
	T_malloc(3, 8);
	expect_at(3, 0x858);
	expect_free_at(0x880, 128896);

	T_free(0);
	T_malloc(4, 968);       /* 1000 - 968 = 32: no split */
	expect_at(4, 0x20);
	expect_size(4, 1000);

	T_free(2);
	T_malloc(5, 960);       /* 1000 - 960 = 40: split, a FREE block of 8 follows */
	expect_at(5, 0x450);
	expect_size(5, 960);
	expect_free_at(0x450 + 960 + 32, 8);

	T_malloc(6, 128864);    /* the tail: 128896 - 128864 = 32, no split, no brk */
	expect_at(6, 0x880);
	expect_size(6, 128896);

	T_malloc(7, 8);         /* best fit: the 8-byte FREE block */
	expect_at(7, 0x450 + 960 + 32);
	T_malloc(8, 16);        /* no FREE block left and the last is ALLOC: append */
	expect_at(8, 0x20 + 131072);

	T_free(4);
	T_malloc(9, 961);       /* need 968 of 1000: no split */
	expect_at(9, 0x20);
	expect_size(9, 1000);

	for (int i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
