/*
 * realloc-free-block: os_realloc of a heap block that is already FREE returns NULL and does
 * nothing else, whatever the size: no split, no move, no mapping, nothing absorbed (also
 * when a FREE block follows), and size 0 frees nothing; the heap is then used as before.
 * Rules 14 (block FREE -> NULL, decided before every other realloc rule), 13.
 *
 * Layout: 1000 @0x20 | 100 @0x428 | 2000 @0x4b0 | FREE tail @0xca0.
 * points: 1
 */
#include "common.h"

static void realloc_free(void *p, size_t n, size_t size)
{
	void *q = os_realloc(p, n);

	if (q)
		die("os_realloc(<FREE block>, %zu) returned %p, expected NULL", n, q);
	expect_free_block("os_realloc of a FREE block", p, size);
}

int main(void)
{
	void *p0, *p2;

	start_from_known_heap();
	T_malloc(0, 1000);
	T_malloc(1, 100);
	T_malloc(2, 2000);
	expect_free_at(0xca0, PREALLOC - 0xca0);
	p0 = P(0);
	p2 = P(2);

	T_free(0);
	realloc_free(p0, 500, 1000);      /* would split */
	realloc_free(p0, 1000, 1000);
	realloc_free(p0, 2000, 1000);     /* would move */
	realloc_free(p0, 200000, 1000);   /* would map */
	realloc_free(p0, 0, 1000);        /* would free: already FREE */

	T_free(2);
	realloc_free(p2, 3000, 2000);     /* would absorb the FREE tail */
	realloc_free(p2, 1000, 2000);
	realloc_free(p2, 131032, 2000);   /* would absorb and grow the heap */
	expect_free_at(0xca0, PREALLOC - 0xca0);

	T_malloc(3, 1000);                /* the heap as it was: the FREE 1000, exact */
	expect_at(3, 0x20);
	T_malloc(4, 2000);                /* the FREE 2000 and the tail, merged */
	expect_at(4, 0x4b0);
	T_free(1);
	T_free(3);
	T_free(4);
	return finish();
}
