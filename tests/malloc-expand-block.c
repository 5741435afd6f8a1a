/*
 * malloc-expand-block: when no FREE block fits and the last heap block is FREE, the heap
 * grows by exactly the missing bytes and that last block is used (instead of appending a new
 * block after it); also when that last FREE block is the merge of several FREE blocks.
 * Rules 11 (grow the FREE last block with brk to exactly need; a mapped block is not in the
 * heap list, so it is never the last block), 8 (coalesce first), 12.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 100000);   /* the known heap's FREE block; the FREE tail left is 131040 - 100032 = 31008 */
	T_malloc(8, 200000);     /* a mapping: not a heap block, never the last one */
	expect_free_at(0x20 + 100032, 31008);
	T_malloc(1, 40000);    /* no fit: the FREE tail grows by 8992 */
	expect_at(1, 0x20 + 100032);
	expect_size(1, 40000);
	T_free(1);
	T_malloc(1, 49999);    /* need 50000: the freed last block grows again, by 10000 */
	expect_at(1, 0x20 + 100032);
	expect_size(1, 50000);
	T_malloc(2, 1000);     /* last block ALLOC: append */
	expect_at(2, 0x20 + 100032 + 50032);
	T_malloc(3, 2000);     /* append */
	T_free(2);
	T_free(3);
	T_malloc(2, 5000);     /* 1000 and 2000 merge into 3032, still too small: grow it */
	expect_at(2, 0x20 + 100032 + 50032);
	expect_size(2, 5000);
	T_malloc(3, 1);        /* append */
	expect_at(3, 0x20 + 100032 + 50032 + 5032);
	T_free(0);
	T_free(3);
	T_malloc(0, 100008);   /* the first block is too small by 8: the FREE last block grows */
	expect_at(0, 0x20 + 100032 + 50032 + 5032);
	expect_size(0, 100008);
	T_free(0);
	T_free(1);
	T_free(2);
	T_free(8);
	return finish();
}
