/*
 * realloc-split-middle: a block in the middle of the heap, followed by a FREE block, is
 * shrunk: the split-off remainder is a new FREE block that is NOT merged with the FREE block
 * after it; the next allocation merges the two and splits the result; shrinking again leaves
 * a small FREE block in the middle that is reused exactly.
 * Rules 17 (shrink in place, no merge), 8 (coalesce before searching), 9-10.
 *
 * Layout: 1000 @0x20 | 3000 @0x428 | 1000 @0x1000 | 8 @0x1408 | FREE tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_realloc(0, 1000);
	T_realloc(1, 3000);
	T_realloc(2, 1000);
	T_realloc(3, 8);
	expect_at(3, 0x1408);
	T_free(2);

	T_realloc(1, 1000);      /* 1000 + FREE 1968; the FREE 1000 after it stays apart */
	expect_at(1, 0x428);
	expect_size(1, 1000);
	expect_free_at(0x428 + 1032, 1968);
	expect_free_at(0x1000, 1000);

	T_realloc(4, 2500);      /* 1968 + 1000 merge (3000) -> 2504 + FREE 464 */
	expect_at(4, 0x428 + 1032);
	expect_size(4, 2504);
	expect_free_at(0x428 + 1032 + 2536, 464);

	T_realloc(1, 900);       /* need 904: 904 + FREE 64 */
	expect_size(1, 904);
	expect_free_at(0x428 + 936, 64);
	T_realloc(5, 60);        /* need 64: the FREE 64 in the middle, exact */
	expect_at(5, 0x428 + 936);
	T_realloc(6, 460);       /* need 464: the FREE 464, exact */
	expect_at(6, 0x428 + 1032 + 2536);

	for (int i = 0; i < 7; i++)
		if (slot_of(i)->kind != K_NONE)
			T_realloc(i, 0);
	return finish();
}
