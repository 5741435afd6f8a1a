/*
 * realloc-absorb: growing in place absorbs FREE successors one at a time: one, two (and it
 * stops there although a third FREE block follows), and all of them up to the end of the
 * heap (then the heap is extended); no global coalescing happens first. A block that absorbs
 * and is still too small and not last moves: the heap allocation runs while it is still
 * ALLOC (it must not merge with its FREE predecessors), and the blocks it absorbed stay
 * absorbed (the FREE block it leaves has the absorbed size).
 * Rules 18 (absorb until large enough, then split; absorbed blocks stay absorbed; no global
 * coalescing), 19 (became last: brk to exactly need), 20 (move while still ALLOC, then FREE).
 *
 * Layout: a0..a7 of 1000 bytes, a_i @ 0x20 + i * 1032, 8 @0x2060, FREE tail @0x2088.
 * points: 3
 */
#include "common.h"

#define A(i) (0x20 + (long)(i) * 1032)
#define T 0x2088L

/*
 * Absorb only what is needed, seen in the trace (rule 18): x @0x20 | FREE 1000 @0x428 | FREE
 * 1000 @0x830 | guard. os_realloc(x, 2000) absorbs the first FREE block (2032: remainder 32,
 * no split) and stops, so the next os_malloc(1000) gets the second one, at 0x830. Absorbing
 * the whole FREE run (or a run that os_free or a coalescing os_realloc merged) splits at 2000
 * instead, and that os_malloc(1000) returns 0x810. Everything is freed again afterwards: the
 * next search merges it back into the known heap state.
 */
static void absorb_only_what_is_needed(void)
{
	T_malloc(100, 1000);
	T_malloc(101, 1000);
	T_malloc(102, 1000);
	T_malloc(103, 8);
	T_free(101);
	T_free(102);
	T_realloc(100, 2000);
	expect_at(100, 0x20);
	T_malloc(104, 1000);
	expect_at(104, 0x830);
	T_free(100);
	T_free(103);
	T_free(104);
}

int main(void)
{
	int i;

	start_from_known_heap();
	absorb_only_what_is_needed();
	for (i = 0; i < 8; i++)
		T_realloc(i, 1000);
	T_realloc(8, 8);
	expect_at(8, 0x2060);
	expect_free_at(T, PREALLOC - T);

	T_free(1);
	T_realloc(0, 1500);      /* one: absorbs a1 (2032) -> 1504 + FREE 496 */
	expect_at(0, A(0));
	expect_size(0, 1504);
	expect_free_at(A(0) + 1536, 496);

	T_free(3);
	T_free(4);
	T_free(5);
	T_realloc(2, 3000);      /* two: a3 (2032), a4 (3064), stop -> 3000 + FREE 32 */
	expect_at(2, A(2));
	expect_size(2, 3000);
	expect_free_at(A(2) + 3032, 32);
	expect_free_at(A(5), 1000);          /* not absorbed, not merged with the 32 */

	T_free(7);
	T_realloc(6, 2500);      /* absorbs a7 (2032), a8 in use: moves to the tail; while it
	                          * is ALLOC the FREE 32 + a5 before it merge to 1064 only */
	expect_at(6, T);
	expect_size(6, 2504);
	expect_free_at(A(6), 2032);          /* absorbed stays absorbed */
	expect_free_at(A(2) + 3032, 1064);

	T_realloc(9, 4000);      /* the FREE blocks before are too small: from the tail */
	expect_at(9, T + 2536);
	T_realloc(10, 4000);
	expect_at(10, T + 2536 + 4032);
	T_free(9);
	T_free(10);
	T_realloc(6, 131000);    /* all: 4000, 4000, the FREE tail (122744), then brk +8256 */
	expect_at(6, T);
	expect_size(6, 131000);

	for (i = 0; i < 11; i++)
		if (slot_of(i)->kind != K_NONE)
			T_realloc(i, 0);
	return finish();
}
