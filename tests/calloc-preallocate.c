/*
 * calloc-preallocate: the first heap calloc preallocates 128 KiB (brk(0), then
 * brk(HeapStart + 0x20000)), like malloc does, and later small callocs are carved out of it
 * with no further syscall; a mapped calloc before it does not touch the heap. All zeroed.
 * Rules 2 (preallocation, once), 6 (calloc below the page threshold is on the heap), 9-10.
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_calloc(9, 2, 5000);    /* mapped first: still no heap */
	T_calloc(0, 10, 10);     /* brk(0); brk(HeapStart + 0x20000) */
	expect_at(0, 0x20);
	expect_size(0, 104);
	expect_free_at(0x20 + 104 + 32, PREALLOC_FREE - 104 - 32);
	T_calloc(1, 25, 40);     /* no syscall from here on */
	expect_at(1, 0x20 + 136);
	T_calloc(2, 1, 4056);
	T_calloc(3, 4000, 1);
	T_calloc(4, 1, 1);
	expect_at(4, 0x20 + 136 + 1032 + 4088 + 4032);
	T_free(1);
	T_free(9);
	T_free(3);
	T_calloc(5, 30, 100);    /* best fit: the 4000 block, split */
	expect_at(5, 0x20 + 136 + 1032 + 4088);
	T_free(0);
	T_free(2);
	T_free(4);
	T_free(5);
	return finish();
}
