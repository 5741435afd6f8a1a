/*
 * malloc-split-last: the only FREE block that fits is the last heap block: it is split, and
 * the split-off remainder becomes the new last block (a later request that fits nowhere
 * grows exactly that remainder).
 * Rules 9-10 (best fit, split), 11 (the split-off last block grows), 8.
 *
 * Layout: 60000 @0x20 | 8 @0xeaa0 | FREE tail of 70968 @0xeac8.
 * points: 2
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 60000);
	T_malloc(1, 8);
	expect_at(1, 0xeaa0);
	expect_free_at(0xeac8, 70968);
	T_free(0);

	T_malloc(2, 65000);     /* only the last block fits: 70968 -> 65000 + FREE 5936 */
	expect_at(2, 0xeac8);
	expect_size(2, 65000);
	expect_free_at(0xeac8 + 65032, 5936);
	T_malloc(3, 5000);      /* best fit is the last block again: 5936 -> 5000 + FREE 904 */
	expect_at(3, 0xeac8 + 65032);
	expect_free_at(0xeac8 + 70064, 904);
	T_malloc(4, 70000);     /* fits nowhere: the 904 last block grows to 70000 */
	expect_at(4, 0xeac8 + 70064);
	expect_size(4, 70000);
	T_malloc(5, 59000);     /* the first block: 60000 -> 59000 + FREE 968 */
	expect_at(5, 0x20);
	expect_free_at(0x20 + 59032, 968);

	for (int i = 0; i < 6; i++)
		if (slot_of(i)->kind != K_NONE)
			T_free(i);
	return finish();
}
