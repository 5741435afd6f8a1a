/*
 * calloc-expand-block: 32 callocs of 4056 bytes fill the preallocated heap but a FREE last
 * block of 224 bytes; later callocs that fit nowhere grow that FREE last block by exactly the
 * missing bytes (instead of appending), also when it is the merge of several FREE blocks.
 * The grown block, with its old contents, must come back zeroed.
 * Rules 11 (grow the FREE last block to exactly need; a mapped block is never the last heap
 * block), 6 (zeroed), 8 (coalesce first), 12.
 * points: 2
 */
#include "common.h"

#define T (0x20 + 32 * 4088L)   /* payload of the FREE last block of 224 */

int main(void)
{
	int i;

	start_from_known_heap();
	for (i = 0; i < 32; i++)
		T_calloc(i, 1, 4056);
	expect_free_at(T, 224);
	T_calloc(44, 1, 8000);   /* a mapping: not a heap block, never the last one */

	T_calloc(40, 1, 1000);     /* no fit: the FREE last block grows by 776 */
	expect_at(40, T);
	expect_size(40, 1000);
	T_free(40);
	T_calloc(40, 10, 200);     /* need 2000: the freed last block grows again, by 1000 */
	expect_at(40, T);
	expect_size(40, 2000);
	T_calloc(41, 1, 1000);     /* last block ALLOC: append */
	expect_at(41, T + 2032);
	T_calloc(42, 2, 1000);     /* append */
	T_free(41);
	T_free(42);
	T_calloc(41, 4000, 1);     /* 1000 and 2000 merge into 3032, too small: grow it */
	expect_at(41, T + 2032);
	expect_size(41, 4000);
	T_calloc(42, 1, 1);        /* append */
	expect_at(42, T + 2032 + 4032);
	T_free(42);
	T_free(5);
	T_calloc(42, 3, 1000);     /* only the freed 4056 block fits: split */
	expect_at(42, 0x20 + 5 * 4088);
	T_calloc(43, 3, 1000);     /* fits nowhere: the FREE 8 at the end grows to 3000 */
	expect_at(43, T + 2032 + 4032);
	expect_size(43, 3000);

	for (i = 0; i < 45; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
