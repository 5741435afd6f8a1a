/*
 * realloc-split-one-block: one block shrunk again and again with os_realloc: each time it
 * keeps exactly need and the rest becomes a new FREE block right after it, which is NOT
 * merged with the FREE block left by the previous shrink; down to a remainder of 40 (FREE 8),
 * then 8 (no split). A later allocation finds all the pieces merged.
 * Rules 17 (shrink in place, split, no merge with a FREE successor), 10, 8.
 *
 * Layout: 10000 @0x20 | 8 @0x2750 | FREE tail.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_realloc(0, 10000);
	T_realloc(1, 8);
	expect_at(1, 0x20 + 10032);

	T_realloc(0, 5000);      /* 5000 + FREE 4968 */
	expect_at(0, 0x20);
	expect_size(0, 5000);
	expect_free_at(0x20 + 5032, 4968);
	T_realloc(0, 2000);      /* 2000 + FREE 2968, not merged with the FREE 4968 */
	expect_size(0, 2000);
	expect_free_at(0x20 + 2032, 2968);
	expect_free_at(0x20 + 5032, 4968);
	T_realloc(0, 1000);      /* 1000 + FREE 968 */
	expect_size(0, 1000);
	expect_free_at(0x20 + 1032, 968);
	T_realloc(0, 960);       /* 40: split, FREE 8 */
	expect_size(0, 960);
	expect_free_at(0x20 + 992, 8);
	T_realloc(0, 950);       /* need 952: 8 left, no split */
	expect_at(0, 0x20);
	expect_size(0, 960);

	T_realloc(2, 8000);      /* 8 + 968 + 2968 + 4968 merge into 9008 -> 8000 + FREE 976 */
	expect_at(2, 0x20 + 992);
	expect_size(2, 8000);
	expect_free_at(0x20 + 992 + 8032, 976);

	T_realloc(0, 0);
	T_realloc(1, 0);
	T_realloc(2, 0);
	return finish();
}
