/*
 * realloc-coalesce: os_realloc grows a block in place by absorbing FREE successors one at a
 * time, stopping as soon as it is large enough (the next FREE block is left alone), and does
 * no global coalescing (FREE blocks elsewhere stay apart); a later allocation merges them
 * (rule 8), and a block that has to move lands in such a merged block.
 * Rules 18 (absorb, stop when large enough, split the excess), 8 (coalesce before searching,
 * also for a move), 20 (move), 10.
 *
 * Layout: a0..a7 of 1000 bytes, a_i @ 0x20 + i * 1032, then 8 @0x2060, then the FREE tail.
 * points: 3
 */
#include "common.h"

#define A(i) (0x20 + (long)(i) * 1032)

int main(void)
{
	int i;

	start_from_known_heap();
	for (i = 0; i < 8; i++)
		T_realloc(i, 1000);
	T_realloc(8, 8);
	expect_at(8, 0x2060);

	T_free(1);
	T_free(2);
	T_realloc(0, 2000);      /* absorbs a1 (2032) and stops: a2 stays FREE */
	expect_at(0, A(0));
	expect_size(0, 2032);
	expect_free_at(A(2), 1000);
	T_realloc(0, 3000);      /* absorbs a2 (3064) -> 3000 + FREE 32 */
	expect_at(0, A(0));
	expect_size(0, 3000);
	expect_free_at(A(0) + 3032, 32);

	T_realloc(4, 0);
	T_free(5);
	T_realloc(6, 0);
	T_realloc(3, 1500);      /* need 1504: absorbs a4 (2032) -> 1504 + FREE 496 */
	expect_at(3, A(3));
	expect_size(3, 1504);
	expect_free_at(A(3) + 1536, 496);
	expect_free_at(A(5), 1000);       /* no global coalescing */
	expect_free_at(A(6), 1000);

	T_realloc(9, 2400);      /* 496 + a5 + a6 merge (2560) -> 2400 + FREE 128 */
	expect_at(9, A(3) + 1536);
	expect_free_at(A(3) + 1536 + 2432, 128);

	T_free(9);
	T_realloc(7, 2500);      /* next in use: moves; 2400 + 128 merge (2560) -> 2504 + FREE 24 */
	expect_at(7, A(3) + 1536);
	expect_size(7, 2504);
	expect_free_at(A(3) + 1536 + 2536, 24);
	expect_free_at(A(7), 1000);

	for (i = 0; i < 10; i++)
		if (slot_of(i)->kind != K_NONE)
			T_realloc(i, 0);
	return finish();
}
