/*
 * calloc-coalesce-big: 200 tiny calloc'd blocks (8 bytes each); 120 consecutive ones are
 * freed in a scattered order and one calloc of 4056 (the largest heap calloc) finds them
 * merged into a single FREE block of 4768, full of old data and old headers, which must
 * come back zeroed. Then everything is freed and merged into one block again.
 * Rules 8 (every run merged into its first block), 9-10, 6 (zeroed after merging).
 *
 * Block i: payload at 0x20 + i * 40.
 * points: 3
 */
#include "common.h"

#define N 200
#define B(i) (0x20 + (long)(i) * 40)

int main(void)
{
	int i;

	start_from_known_heap();
	for (i = 0; i < N; i++)
		T_calloc(i, 1, 8);
	expect_at(N - 1, B(N - 1));
	for (i = 0; i < 120; i++)
		T_free(10 + (i * 7) % 120);  /* 7 and 120 are coprime: blocks 10..129 once each */
	expect_free_at(B(11), 8);          /* os_free does not merge */

	T_calloc(N, 4056, 1);              /* 120 * 40 - 32 = 4768 -> 4056 + FREE 680 */
	expect_at(N, B(10));
	expect_size(N, 4056);
	expect_free_at(B(10) + 4088, 680);

	T_calloc(N + 1, 85, 8);            /* 680, exact */
	expect_at(N + 1, B(10) + 4088);
	for (i = 0; i < N + 2; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);

	T_calloc(N + 2, 1, 4056);          /* the whole heap is one FREE block of 131040 again */
	expect_at(N + 2, 0x20);
	expect_free_at(0x20 + 4088, PREALLOC_FREE - 4088);
	T_free(N + 2);
	return finish();
}
