/*
 * realloc-split-last: the last heap block is shrunk twice: each split-off remainder is a
 * FREE block at the end of the heap, the second not merged with the first; a request that
 * fits nowhere merges them and grows the merged last block; shrinking and regrowing the
 * last block absorbs its FREE successor and extends the heap.
 * Rules 17 (shrink: split, no merge with a FREE successor), 8, 11, 18-19.
 * points: 2
 */
#include "common.h"

#define X (0x20 + 100032L)   /* payload of the last block */

int main(void)
{
	start_from_known_heap();
	T_realloc(0, 100000);
	T_realloc(1, 31008);     /* the whole FREE tail, exact: the heap is full */
	expect_at(1, X);
	expect_size(1, 31008);

	T_realloc(1, 20000);     /* 20000 + FREE 10976, the last block */
	expect_size(1, 20000);
	expect_free_at(X + 20032, 10976);
	T_realloc(1, 10000);     /* 10000 + FREE 9968, not merged with the FREE 10976 */
	expect_size(1, 10000);
	expect_free_at(X + 10032, 9968);
	expect_free_at(X + 20032, 10976);

	T_realloc(2, 25000);     /* 9968 + 10976 merge (20976), last: grows by 4024 */
	expect_at(2, X + 10032);
	expect_size(2, 25000);
	T_realloc(2, 20000);     /* 20000 + FREE 4968, the last block */
	expect_free_at(X + 10032 + 20032, 4968);
	T_realloc(2, 30000);     /* absorbs it (25000), last: brk +5000 */
	expect_at(2, X + 10032);
	expect_size(2, 30000);

	T_realloc(0, 0);
	T_realloc(1, 0);
	T_realloc(2, 0);
	return finish();
}
