/*
 * realloc-expand-block: growing the last heap block with os_realloc extends the heap in
 * place by exactly the missing bytes (after absorbing a FREE successor when there is one),
 * and os_realloc(NULL, n) grows a FREE last block instead of appending.
 * Rules 18 (absorb FREE successors), 19 (still too small and last: brk to exactly need),
 * 11 (through os_realloc(NULL, n)), 17 (shrink first, then grow again); a mapped block is
 * not in the heap list, so it is never the last block.
 * points: 3
 */
#include "common.h"

#define X (0x20 + 100032L)   /* payload of the second block */

int main(void)
{
	start_from_known_heap();
	T_realloc(0, 100000);    /* the known heap's FREE block; FREE tail 31008 */
	T_realloc(6, 200000);    /* a mapping: not a heap block, never the last one */
	T_realloc(1, 20000);     /* 31008 -> 20000 + FREE 10976 */
	expect_at(1, X);
	expect_free_at(X + 20032, 10976);

	T_realloc(1, 40000);     /* absorbs the FREE 10976 (31008), now last: brk +8992 */
	expect_at(1, X);
	expect_size(1, 40000);
	T_realloc(1, 50000);     /* last and ALLOC: brk +10000 */
	expect_at(1, X);
	expect_size(1, 50000);

	T_realloc(2, 1000);      /* os_realloc(NULL, n): appended */
	expect_at(2, X + 50032);
	T_free(2);
	T_realloc(1, 52000);     /* absorbs the FREE last 1000 (51032), brk +968 */
	expect_at(1, X);
	expect_size(1, 52000);

	T_realloc(3, 8);         /* appended */
	expect_at(3, X + 52032);
	T_realloc(3, 0);
	T_realloc(4, 100);       /* os_realloc(NULL, 100): the FREE last 8 grows to 104 */
	expect_at(4, X + 52032);
	expect_size(4, 104);
	T_realloc(4, 8);         /* 104 -> 8 + FREE 64 */
	expect_free_at(X + 52032 + 40, 64);
	T_realloc(4, 200);       /* absorbs the FREE 64 (104), last: brk +96 */
	expect_at(4, X + 52032);
	expect_size(4, 200);

	T_realloc(0, 0);
	T_realloc(5, 100008);    /* the FREE 100000 at the start is too small: a new block */
	T_realloc(1, 0);
	T_realloc(4, 0);
	T_realloc(5, 0);
	T_realloc(6, 0);
	return finish();
}
