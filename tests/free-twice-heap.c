/*
 * free-twice-heap: freeing a heap block that is already FREE does nothing (no syscall, no
 * merging, no change of its header), also when its neighbours are FREE; the blocks are then
 * reused and merged as if it had been freed once.
 * Rules 13 (os_free of a FREE block: nothing; no merging in os_free), 8.
 *
 * Layout: 1000 @0x20 | 1000 @0x428 | 1000 @0x830 | 8 @0xc38 | FREE tail.
 * points: 1
 */
#include "common.h"

static void free_again(void *p, size_t size)
{
	os_free(p);
	expect_free_block("a second os_free", p, size);
}

int main(void)
{
	void *p0, *p1;

	start_from_known_heap();
	T_malloc(0, 1000);
	T_malloc(1, 1000);
	T_malloc(2, 1000);
	T_malloc(3, 8);
	expect_at(3, 0xc38);
	p0 = P(0);
	p1 = P(1);

	T_free(1);
	free_again(p1, 1000);             /* nothing */
	free_again(p1, 1000);
	T_free(0);
	free_again(p0, 1000);             /* its FREE neighbour is not merged */
	expect_free_at(0x428, 1000);
	free_again(p1, 1000);

	T_malloc(4, 2000);                /* 1000 + 1000 merge: 2032, excess 32 kept */
	expect_at(4, 0x20);
	expect_size(4, 2032);
	T_malloc(5, 500);                 /* the tail: nothing else is FREE */
	expect_at(5, 0xc38 + 40);
	p0 = P(5);
	T_free(5);
	free_again(p0, 504);
	T_malloc(6, 500);                 /* the same place again */
	expect_at(6, 0xc38 + 40);
	p1 = P(4);
	T_free(4);
	free_again(p1, 2032);
	T_free(2);
	free_again(p1, 2032);
	T_malloc(7, 3000);                /* 2032 + 1000 merge: 3064 -> 3000 + FREE 32 */
	expect_at(7, 0x20);
	expect_size(7, 3000);
	T_free(3);
	T_free(6);
	T_free(7);
	return finish();
}
