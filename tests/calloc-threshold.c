/*
 * calloc-threshold: os_calloc totals on both sides of the page threshold, to the byte, in
 * both argument orders and as products: 32 + ALIGN8(nmemb * size) >= 4096 maps, so totals
 * up to 4056 stay on the heap (4049..4056 round up to 4056) while 4057 (rounded up to 4064)
 * and above are mapped, with mapping lengths of exactly 32 + need; everything zeroed.
 * Rules 6 (the calloc threshold is the page, not 128 KiB), 4, 2, 9-10.
 * points: 1
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_calloc(0, 1, 4056);         /* heap: split off the known heap's FREE block */
	expect_at(0, 0x20);
	expect_size(0, 4056);
	T_calloc(1, 4056, 1);         /* heap */
	T_calloc(2, 1, 4057);         /* mapped: 32 + 4064 = 4096 */
	T_calloc(3, 4057, 1);         /* mapped */
	T_calloc(4, 1, 4064);         /* mapped */
	T_calloc(5, 4080, 1);         /* mapped: 4112 */
	T_calloc(6, 2, 2028);         /* 4056: heap */
	T_calloc(7, 2, 2029);         /* 4058: mapped */
	T_calloc(8, 8, 507);          /* 4056: heap */
	T_calloc(9, 3, 1352);         /* 4056: heap */
	T_calloc(10, 4055, 1);        /* need 4056: heap */
	T_calloc(11, 1, 4049);        /* need 4056: heap */
	T_calloc(12, 1, 4048);        /* heap */
	T_calloc(13, 1, 4023);        /* heap */
	T_calloc(14, 4096, 1);        /* mapped: 4128 */
	T_calloc(15, 1, 4095);        /* mapped: 4128 */
	T_calloc(16, 13, 313);        /* 4069: mapped */
	T_calloc(17, 313, 13);        /* mapped */
	T_calloc(18, 4064, 2);        /* 8128: mapped */
	T_calloc(19, 131033, 1);      /* mapped */
	for (int i = 0; i < 20; i++)
		T_free(i);
	T_calloc(20, 1, 4056);        /* heap again: the first FREE block fits */
	expect_at(20, 0x20);
	T_free(20);
	return finish();
}
