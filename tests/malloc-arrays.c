/*
 * malloc-arrays: many os_malloc sizes across the alignment boundaries and the mmap
 * threshold, allocated as an array, half of them freed and reallocated in another order,
 * then everything freed. Heap requests first fill the preallocated block, then grow the heap.
 * Rules 2-5 (brk/mmap and their exact lengths), 8-12 (the heap allocation path), 13.
 * points: 2
 */
#include "common.h"

static const size_t sizes[] = {
	1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 63, 64, 100, 127, 128, 255, 256, 511,
	1000, 1023, 1024, 2047, 4000, 4095, 4096, 4097, 8192, 10000, 16384, 32768,
	131032, 131033, 131072, 200000, 262144, 1000000, 50000, 65536, 100000, 3, 5000, 777,
};
#define N (sizeof(sizes) / sizeof(sizes[0]))

int main(void)
{
	size_t i;

	start_from_known_heap();
	for (i = 0; i < N; i++)
		T_malloc((int)i, sizes[i]);
	for (i = 0; i < N; i += 2)
		T_free((int)i);
	verify_all("after freeing every other block");
	for (i = N; i-- > 0;)
		if (i % 2 == 0)
			T_malloc((int)i, sizes[N - 1 - i]);
	for (i = 1; i < N; i += 2)
		T_free((int)i);
	verify_all("after freeing the odd blocks");
	for (i = 1; i < N; i += 4)
		T_malloc((int)i, sizes[i] / 2 + 1);
	for (i = 0; i < N; i++)
		if (slot_of((int)i)->kind != K_NONE)
			T_free((int)i);
	return finish();
}
