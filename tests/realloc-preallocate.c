/*
 * realloc-preallocate: the first heap use through os_realloc(NULL, n) preallocates 128 KiB
 * (brk(0), then brk(HeapStart + 0x20000)); growing and shrinking blocks inside it then makes
 * no syscall at all; a mapped block before it does not touch the heap.
 * Rules 2 (preallocation, once), 14 (os_realloc(NULL, n) is os_malloc(n)), 17-18 (shrink and
 * grow in place inside the preallocated block).
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_realloc(9, 200000);   /* mapped first: still no heap */
	T_realloc(0, 100);      /* brk(0); brk(HeapStart + 0x20000) */
	expect_at(0, 0x20);
	expect_size(0, 104);
	expect_free_at(0x20 + 136, PREALLOC_FREE - 136);
	T_realloc(0, 1000);     /* grows in place over the FREE rest, no syscall */
	expect_at(0, 0x20);
	expect_size(0, 1000);
	expect_free_at(0x20 + 1032, PREALLOC_FREE - 1032);
	T_realloc(1, 5000);
	expect_at(1, 0x20 + 1032);
	T_realloc(0, 500);      /* shrinks in place: 504 + FREE 464 */
	expect_at(0, 0x20);
	expect_free_at(0x20 + 536, 464);
	T_realloc(2, 400);      /* best fit: the FREE 464 */
	expect_at(2, 0x20 + 536);
	T_realloc(3, 50000);
	expect_at(3, 0x20 + 1032 + 5032);
	T_realloc(9, 0);
	T_realloc(1, 0);
	T_realloc(3, 60000);    /* the FREE 5000 before it stays: grows over the FREE tail */
	expect_at(3, 0x20 + 1032 + 5032);
	T_free(0);
	T_free(2);
	T_free(3);
	return finish();
}
