/*
 * realloc-no-split: shrinking a block by exactly 32 bytes leaves it whole (no room for a
 * header plus a payload), by 40 splits off a FREE 8; growing over a FREE successor with an
 * excess of exactly 32 keeps the excess, with 40 it is split off.
 * Rules 10 (split iff size - need >= 40) as used by 17 (shrink in place) and 18 (grow in
 * place).
 *
 * Layout: 1000 @0x20 | 8 @0x428 | 1000 @0x450 | 64 @0x858 | 8 @0x8b8 | FREE tail.
 * points: 2
 */
#include "common.h"

/*
 * A shrink splits in place, seen in the trace (rule 17): x(1000) @0x20 | guard @0x428.
 * os_realloc(x, 500) keeps 504 and splits off a FREE 464 @0x238, which os_malloc(400) gets
 * (remainder 64: split again). Had x been kept whole, there would be no FREE block before the
 * guard and os_malloc(400) would land after it. Everything is freed again afterwards.
 */
static void shrink_splits(void)
{
	T_malloc(100, 1000);
	T_malloc(101, 8);
	T_realloc(100, 500);
	T_malloc(102, 400);
	expect_at(102, 0x238);
	T_free(100);
	T_free(101);
	T_free(102);
}

int main(void)
{
	start_from_known_heap();
	shrink_splits();
	T_realloc(0, 1000);
	T_realloc(1, 8);
	T_realloc(2, 1000);
	T_realloc(3, 64);
	T_realloc(4, 8);
	expect_at(4, 0x8b8);

	T_realloc(0, 968);       /* 1000 - 968 = 32: stays whole */
	expect_at(0, 0x20);
	expect_size(0, 1000);
	T_realloc(0, 961);       /* need 968: the same */
	expect_size(0, 1000);
	T_realloc(0, 960);       /* 40: split, FREE 8 */
	expect_at(0, 0x20);
	expect_size(0, 960);
	expect_free_at(0x20 + 992, 8);
	T_realloc(0, 1000);      /* absorbs the FREE 8: 1000, exact */
	expect_at(0, 0x20);
	expect_size(0, 1000);

	T_free(3);
	T_realloc(2, 1064);      /* absorbs the FREE 64: 1096, excess 32: kept */
	expect_at(2, 0x450);
	expect_size(2, 1096);
	T_realloc(2, 1056);      /* 1096 - 1056 = 40: split, FREE 8 */
	expect_size(2, 1056);
	expect_free_at(0x450 + 1088, 8);
	T_realloc(2, 1057);      /* need 1064: absorbs the FREE 8 (1096), excess 32: kept */
	expect_size(2, 1096);

	T_realloc(1, 0);
	T_realloc(0, 1024);      /* absorbs the FREE 8 after it: 1040, excess 16: kept */
	expect_at(0, 0x20);
	expect_size(0, 1040);

	T_realloc(0, 0);
	T_realloc(2, 0);
	T_realloc(4, 0);
	return finish();
}
