/*
 * realloc-split-first: the first block of the heap is shrunk (split), grown back over its
 * own split-off remainder (absorbed, then split again), and finally moved away; the FREE
 * block it leaves at the start of the heap is split by a later request.
 * Rules 17 (shrink: split), 18 (absorb then split), 20 (move), 9-10.
 *
 * Layout: 4000 @0x20 | 100 @0xfe0 | FREE tail @0x1068.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_realloc(0, 4000);
	T_realloc(1, 100);
	expect_at(1, 0xfe0);

	T_realloc(0, 1000);      /* 1000 + FREE 2968 */
	expect_at(0, 0x20);
	expect_size(0, 1000);
	expect_free_at(0x20 + 1032, 2968);
	T_realloc(0, 2000);      /* absorbs the FREE 2968 (4000) -> 2000 + FREE 1968 */
	expect_at(0, 0x20);
	expect_size(0, 2000);
	expect_free_at(0x20 + 2032, 1968);
	T_realloc(2, 1900);      /* need 1904: best fit is the FREE 1968 -> 1904 + FREE 32 */
	expect_at(2, 0x20 + 2032);
	expect_free_at(0x20 + 2032 + 1936, 32);

	T_realloc(0, 3000);      /* next in use: moves to the FREE tail */
	expect_at(0, 0x1068);
	expect_free_at(0x20, 2000);
	T_realloc(3, 1000);      /* best fit: the FREE 2000 at the start -> 1000 + FREE 968 */
	expect_at(3, 0x20);
	expect_free_at(0x20 + 1032, 968);

	for (int i = 0; i < 4; i++)
		T_realloc(i, 0);
	return finish();
}
