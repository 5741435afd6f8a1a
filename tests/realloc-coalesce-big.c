/*
 * realloc-coalesce-big: 100 blocks of 1000 bytes (os_realloc(NULL, 1000)); blocks 1..99 are
 * freed in a scattered order and block 0 grows in place over them: first to 50000 (it absorbs
 * 48 of them and splits the excess, the rest stay FREE and apart), then to 131032, absorbing
 * everything up to the end of the preallocated heap. Then shrink, and regrow over a big
 * FREE successor.
 * Rules 18 (absorb one at a time, stop when large enough, split), 17, 11, 10.
 *
 * Block i: payload at 0x20 + i * 1032; the FREE tail of 27840 follows block 99.
 * points: 3
 */
#include "common.h"

#define N 100
#define V(i) (0x20 + (long)(i) * 1032)

int main(void)
{
	int i;

	start_from_known_heap();
	for (i = 0; i < N; i++)
		T_realloc(i, 1000);
	expect_free_at(V(N), 27840);
	for (i = 0; i < N - 1; i++)
		T_free(1 + (i * 37) % (N - 1));  /* 37 and 99 are coprime: blocks 1..99 */

	T_realloc(0, 50000);     /* 1000 + 48 * 1032 = 50536 -> 50000 + FREE 504 */
	expect_at(0, 0x20);
	expect_size(0, 50000);
	expect_free_at(0x20 + 50032, 504);
	expect_free_at(V(49), 1000);        /* not absorbed, not merged */
	expect_free_at(V(99), 1000);

	T_realloc(0, 131032);    /* absorbs all: 131040, excess 8: kept; no syscall */
	expect_at(0, 0x20);
	expect_size(0, 131040);

	T_realloc(0, 1000);      /* 1000 + FREE 130008 */
	expect_size(0, 1000);
	expect_free_at(0x20 + 1032, 130008);
	T_realloc(1, 131032);    /* os_realloc(NULL, n): no fit, the FREE last block grows */
	expect_at(1, 0x20 + 1032);
	T_realloc(1, 0);
	T_realloc(0, 131032);    /* absorbs the FREE 131032 (132064) -> 131032 + FREE 1000 */
	expect_at(0, 0x20);
	expect_size(0, 131032);
	expect_free_at(0x20 + 131064, 1000);

	T_realloc(0, 0);
	return finish();
}
