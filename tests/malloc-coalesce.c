/*
 * malloc-coalesce: os_free never merges (the headers of freed neighbours stay as they were);
 * the next heap allocation first merges every run of adjacent FREE blocks into its first
 * block, also runs it does not choose, then best fit runs on the merged blocks.
 * Rules 8 (coalesce before searching, every maximal run, size = sum + 32 (k - 1)), 13 (free
 * does not merge), 9-10.
 *
 * Layout: a0..a7 of 1000 bytes, a_i @ 0x20 + i * 1032, then 8 @0x2060, then the FREE tail.
 * points: 3
 */
#include "common.h"

#define A(i) (0x20 + (long)(i) * 1032)

/*
 * Every FREE run is merged before a search, not only the chosen one, seen in the trace
 * (rule 8): x(1000) @0x20 | b1, b2 (1000 each) @0x428, @0x830 | guard | a1, a2 (496 each) @0xc60,
 * @0xe70 | guard. Both runs are freed; os_malloc(1000) takes the a run (1024: remainder 24, no
 * split) and merges the b run too (2032). os_realloc(x, 2000) absorbs the merged b run (3064)
 * and splits: x keeps 2000 and a FREE 1032 follows, which os_malloc(1000) gets at 0x810. Had
 * the b run stayed two blocks, x would absorb only b1 (2032: no split) and os_malloc(1000)
 * would get b2 at 0x830. Everything is freed again: back to the known heap state.
 */
static void every_run_is_merged(void)
{
	T_malloc(100, 1000);
	T_malloc(101, 1000);
	T_malloc(102, 1000);
	T_malloc(103, 8);
	T_malloc(104, 496);
	T_malloc(105, 496);
	T_malloc(106, 8);
	expect_at(104, 0xc60);
	T_free(104);
	T_free(105);
	T_free(101);
	T_free(102);
	T_malloc(107, 1000);
	expect_at(107, 0xc60);
	T_realloc(100, 2000);
	T_malloc(108, 1000);
	expect_at(108, 0x810);
	for (int i = 100; i <= 108; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
}

int main(void)
{
	int i;

	start_from_known_heap();
	every_run_is_merged();
	for (i = 0; i < 8; i++)
		T_malloc(i, 1000);
	T_malloc(8, 8);
	expect_at(8, 0x2060);

	T_free(1);
	T_free(2);
	expect_free_at(A(1), 1000);          /* not merged by os_free */
	expect_free_at(A(2), 1000);
	T_malloc(10, 2000);                   /* a1 + a2 = 2032, remainder 32: no split */
	expect_at(10, A(1));
	expect_size(10, 2032);

	T_free(4);
	T_free(5);
	T_free(6);
	T_free(0);
	expect_free_at(A(4), 1000);
	expect_free_at(A(5), 1000);
	T_malloc(11, 100);                    /* a4..a6 merge into 3064; best fit: a0 */
	expect_at(11, A(0));
	expect_size(11, 104);
	expect_free_at(A(0) + 136, 864);
	expect_free_at(A(4), 3064);           /* merged although not chosen */

	T_malloc(12, 3000);                   /* the merged a4..a6: 3000 + FREE 32 */
	expect_at(12, A(4));
	expect_size(12, 3000);
	expect_free_at(A(4) + 3032, 32);

	T_free(10);
	T_free(3);
	T_malloc(13, 3064);                   /* 864 + 2032 + 1000 merge into 3960 */
	expect_at(13, A(0) + 136);
	expect_size(13, 3064);
	expect_free_at(A(0) + 136 + 3096, 864);

	T_free(7);
	T_free(8);
	T_malloc(14, 20);                     /* 32 + a7 + 8 + the tail merge; best fit: 864 */
	expect_at(14, A(0) + 136 + 3096);
	expect_free_at(A(4) + 3032, PREALLOC - (A(4) + 3032));

	for (i = 0; i < 15; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
