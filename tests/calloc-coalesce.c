/*
 * calloc-coalesce: os_free never merges (the headers of freed neighbours stay as they were);
 * the next heap calloc first merges every run of adjacent FREE blocks into its first block,
 * also runs it does not choose, then best fit runs on the merged blocks. A merged block
 * (old data and old headers inside) must come back zeroed.
 * Rules 8 (coalesce before searching, every maximal run, size = sum + 32 (k - 1)), 13 (free
 * does not merge), 9-10, 6 (zeroed).
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
		T_calloc(i, 125, 8);
	T_calloc(8, 1, 8);
	expect_at(8, 0x2060);

	T_free(1);
	T_free(2);
	expect_free_at(A(1), 1000);          /* not merged by os_free */
	expect_free_at(A(2), 1000);
	T_calloc(10, 2, 1000);        /* a1 + a2 = 2032, remainder 32: no split */
	expect_at(10, A(1));
	expect_size(10, 2032);

	T_free(4);
	T_free(5);
	T_free(6);
	T_free(0);
	expect_free_at(A(4), 1000);
	expect_free_at(A(5), 1000);
	T_calloc(11, 20, 5);          /* a4..a6 merge into 3064; best fit: a0 */
	expect_at(11, A(0));
	expect_size(11, 104);
	expect_free_at(A(0) + 136, 864);
	expect_free_at(A(4), 3064);           /* merged although not chosen */

	T_calloc(12, 1000, 3);        /* the merged a4..a6: 3000 + FREE 32 */
	expect_at(12, A(4));
	expect_size(12, 3000);
	expect_free_at(A(4) + 3032, 32);

	T_free(10);
	T_free(3);
	T_calloc(13, 383, 8);         /* 864 + 2032 + 1000 merge into 3960 */
	expect_at(13, A(0) + 136);
	expect_size(13, 3064);
	expect_free_at(A(0) + 136 + 3096, 864);

	T_free(7);
	T_free(8);
	T_calloc(14, 4, 5);           /* 32 + a7 + 8 + the tail merge; best fit: 864 */
	expect_at(14, A(0) + 136 + 3096);
	expect_free_at(A(4) + 3032, PREALLOC - (A(4) + 3032));

	for (i = 0; i < 15; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
