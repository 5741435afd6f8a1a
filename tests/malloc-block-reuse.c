/*
 * malloc-block-reuse: freed heap blocks are reused by later requests of the same size, the
 * block chosen by best fit (smallest fitting FREE block, ties to the lowest address), not by
 * first fit; no syscall after the preallocation.
 * Rules 9 (best fit, ties to the lowest address), 10 (exact fit: nothing to split), 13.
 *
 * Layout (payload offsets): 1000 @0x20 | 64 @0x428 | 504 @0x488 | 64 @0x6a0 | 2000 @0x700 |
 * 64 @0xef0 | 504 @0xf50 | 64 @0x1168 | FREE tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 1000);
	T_malloc(1, 64);
	T_malloc(2, 504);
	T_malloc(3, 64);
	T_malloc(4, 2000);
	T_malloc(5, 64);
	T_malloc(6, 504);
	T_malloc(7, 64);
	expect_at(7, 0x1168);

	T_free(0);
	T_free(2);
	T_free(4);
	T_free(6);

	T_malloc(10, 500);   /* need 504: the two 504 blocks tie, the lower one wins */
	expect_at(10, 0x488);
	expect_size(10, 504);
	T_malloc(11, 497);   /* need 504: the other one */
	expect_at(11, 0xf50);
	T_malloc(12, 2000);  /* exact fit, though the 1000 block comes first */
	expect_at(12, 0x700);
	T_malloc(13, 993);   /* need 1000 */
	expect_at(13, 0x20);
	expect_size(13, 1000);

	T_free(3);
	T_malloc(14, 57);    /* need 64 */
	expect_at(14, 0x6a0);
	T_free(12);
	T_malloc(15, 1999);  /* need 2000: the same block once more */
	expect_at(15, 0x700);

	for (int i = 0; i < 17; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
