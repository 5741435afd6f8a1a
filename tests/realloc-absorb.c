/*
 * realloc-absorb: growing in place absorbs FREE successors: one, two, and all of them up to
 * the end of the heap (then the heap is extended); a block that absorbs and is still too
 * small and not last moves, and the blocks it absorbed stay absorbed (the FREE block it
 * leaves has the absorbed size).
 * Rules 18 (absorb until large enough, then split; absorbed blocks stay absorbed),
 * 19 (became last: brk to exactly need), 20 (move while still ALLOC, then FREE).
 *
 * Layout: a0..a5 of 1000 bytes, a_i @ 0x20 + i * 1032, 8 @0x1850, FREE tail @0x1878.
 * points: 3
 */
#include "common.h"

#define A(i) (0x20 + (long)(i) * 1032)
#define T 0x1878L

int main(void)
{
	int i;

	for (i = 0; i < 6; i++)
		T_realloc(i, 1000);
	T_realloc(6, 8);
	expect_at(6, 0x1850);
	expect_free_at(T, PREALLOC - T);

	T_free(1);
	T_realloc(0, 1500);      /* one: absorbs a1 (2032) -> 1504 + FREE 496 */
	expect_at(0, A(0));
	expect_size(0, 1504);
	expect_free_at(A(0) + 1536, 496);

	T_free(3);
	T_free(4);
	T_realloc(2, 3000);      /* two: a3 (2032), a4 (3064) -> 3000 + FREE 32 */
	expect_at(2, A(2));
	expect_size(2, 3000);
	expect_free_at(A(2) + 3032, 32);

	T_realloc(0, 3000);      /* absorbs the FREE 496 (2032), a2 in use: moves to the tail */
	expect_at(0, T);
	expect_free_at(A(0), 2032);          /* absorbed stays absorbed */

	T_realloc(9, 2032);      /* the block left behind, exact */
	expect_at(9, A(0));
	T_realloc(7, 1000);      /* from the tail: 1000 + FREE ... */
	expect_at(7, T + 3032);
	T_realloc(8, 1000);
	expect_at(8, T + 4064);
	T_free(7);
	T_free(8);
	T_realloc(0, 131000);    /* all: 1000, 1000, the FREE tail (124808), then brk +6192 */
	expect_at(0, T);
	expect_size(0, 131000);

	for (i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_realloc(i, 0);
	return finish();
}
