/*
 * malloc-coalesce-big: 140 blocks of 1000 bytes fill the preallocated heap and grow it; all
 * are freed in a scattered order, and one big request finds them merged into a single FREE
 * block covering the whole heap. Then again after a second round.
 * Rules 8 (every run merged into its first block), 9-10, 11-12 (growth past the prealloc).
 * points: 3
 */
#include "common.h"

#define N 140

int main(void)
{
	int i;

	start_from_known_heap();
	/* blocks 0..125 tile 130032 bytes; 126 takes the FREE tail of 1008 whole (remainder 8);
	 * 127..139 are appended: the heap ends at 131072 + 13 * 1032 = 144488 */
	for (i = 0; i < N; i++)
		T_malloc(i, 1000);
	expect_at(126, 0x20 + 126 * 1032);
	expect_size(126, 1008);
	expect_at(127, 0x20 + 131072);
	for (i = 0; i < N; i++)
		T_free((i * 37) % N);           /* 37 and 140 are coprime: every block once */

	T_malloc(N, 131032);              /* one FREE block of 144456: 131032 + FREE 13392 */
	expect_at(N, 0x20);
	expect_size(N, 131032);
	expect_free_at(0x20 + 131064, 13392);
	T_malloc(N + 1, 13392);           /* the rest, exact */
	expect_at(N + 1, 0x20 + 131064);

	T_free(N);
	for (i = 0; i < 100; i++)
		T_malloc(i, 1300);            /* 100 * 1332 = 133200 > 131032: the last ones move on */
	T_malloc(100, 5);
	for (i = 99; i >= 0; i--)
		T_free(i);
	T_free(N + 1);
	T_free(100);
	T_malloc(N + 2, 140000);          /* mapped */
	T_malloc(N + 3, 131000);          /* the whole heap merged again: 0x20 */
	expect_at(N + 3, 0x20);

	for (i = 0; i < N + 4; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
