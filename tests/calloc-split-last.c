/*
 * calloc-split-last: 32 callocs of 4056 leave a FREE last block of 224; it is the best fit
 * (a freed 4056 block in the middle is larger), so it is split, twice, and the split-off
 * remainder stays the last block: a calloc that fits nowhere grows exactly that remainder.
 * Rules 9-10 (best fit, split), 11 (the split-off last block grows), 6 (zeroed).
 * points: 2
 */
#include "common.h"

#define T (0x20 + 32 * 4088L)   /* payload of the FREE last block of 224 */

int main(void)
{
	int i;

	start_from_known_heap();
	for (i = 0; i < 32; i++)
		T_calloc(i, 4056, 1);
	expect_free_at(T, 224);
	T_free(5);

	T_calloc(40, 1, 100);      /* need 104: the last block, 224 -> 104 + FREE 88 */
	expect_at(40, T);
	expect_size(40, 104);
	expect_free_at(T + 136, 88);
	T_calloc(41, 5, 8);        /* 88 -> 40 + FREE 16 */
	expect_at(41, T + 136);
	expect_size(41, 40);
	expect_free_at(T + 208, 16);
	T_calloc(42, 1, 4056);     /* the freed block in the middle, exact */
	expect_at(42, 0x20 + 5 * 4088);
	T_calloc(43, 2, 1000);     /* fits nowhere: the FREE 16 at the end grows to 2000 */
	expect_at(43, T + 208);
	expect_size(43, 2000);

	for (i = 0; i < 44; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
