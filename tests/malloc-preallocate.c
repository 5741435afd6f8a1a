/*
 * malloc-preallocate: the first heap use preallocates 128 KiB (brk(0), then
 * brk(HeapStart + 0x20000)) and later small requests are carved out of it with no further
 * syscall; a mapped request before it does not touch the heap.
 * Rules 2 (preallocation, once), 9-10 (the one FREE block of 131040 is split), 5.
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_malloc(9, 200000);   /* mapped first: still no heap */
	T_malloc(0, 100);      /* brk(0); brk(HeapStart + 0x20000) */
	expect_at(0, 0x20);
	expect_size(0, 104);
	expect_free_at(0x20 + 104 + 32, PREALLOC_FREE - 104 - 32);
	T_malloc(1, 1000);     /* no syscall from here on */
	expect_at(1, 0x20 + 104 + 32);
	T_malloc(2, 20000);
	T_malloc(3, 50000);
	T_malloc(4, 8);
	T_malloc(5, 1);
	expect_at(5, 0x20 + (104 + 32) + (1000 + 32) + (20000 + 32) + (50000 + 32) + (8 + 32));
	T_free(1);
	T_free(9);
	T_free(3);
	T_malloc(6, 30000);    /* best fit: the 50000 block, split */
	expect_at(6, 0x20 + (104 + 32) + (1000 + 32) + (20000 + 32));
	T_free(0);
	T_free(2);
	T_free(4);
	T_free(5);
	T_free(6);
	return finish();
}
