/*
 * realloc-heap-to-mmap: heap blocks resized to mmap sizes get a new mapping, their contents
 * copied, and the old heap block marked FREE; there is no attempt to grow in place first,
 * even when the block is last (no brk) or followed by a FREE block (nothing absorbed).
 * Rules 16 (heap -> mapped: mmap, copy, old block FREE), 5, 13, 8.
 *
 * Layout: 1000 @0x20 | 100 @0x428 | 5000 @0x4b0 | 124840 @0x1858 (the heap is full).
 * points: 1
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 1000);
	T_malloc(1, 100);
	T_malloc(2, 5000);
	T_malloc(3, 124840);
	expect_at(3, 0x1858);

	T_realloc(0, 200000);         /* mmap, copy 1000 bytes, the heap block FREE */
	expect_free_at(0x20, 1000);
	T_realloc(3, 140000);         /* the last block: mmap, not brk */
	expect_free_at(0x1858, 124840);
	T_realloc(2, 131033);         /* followed by a FREE block: still mmap, nothing absorbed */
	expect_free_at(0x4b0, 5000);
	expect_free_at(0x1858, 124840);

	T_calloc(4, 1, 3000);         /* 5000 + 124840 merge: 3000 of it */
	expect_at(4, 0x4b0);
	T_realloc(4, 131072);         /* mmap, copy 3000 */
	expect_free_at(0x4b0, 3000);              /* not merged with the FREE rest */
	expect_free_at(0x4b0 + 3032, PREALLOC - 0x4b0 - 3032);
	T_realloc(1, 131040);         /* need 131040: mapped */
	expect_free_at(0x428, 104);

	for (int i = 0; i < 5; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
