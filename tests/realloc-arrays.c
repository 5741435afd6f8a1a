/*
 * realloc-arrays: an array of blocks of many sizes (across the alignment boundaries and the
 * mmap threshold) allocated with os_realloc(NULL, n), then each one resized with os_realloc:
 * grown, shrunk, moved between the heap and mappings; the contents kept (min of the old and
 * new sizes) are checked each time; finally everything is released with os_realloc(p, 0).
 * Rules 14-20 (every os_realloc path), 5 (classification), 2-4, 8-12.
 * points: 2
 */
#include "common.h"

static const size_t sizes[] = {
	1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 63, 64, 100, 127, 128, 255, 256, 511,
	1000, 1023, 1024, 2047, 4000, 4095, 4096, 4097, 8192, 10000, 16384, 32768,
	131032, 131033, 131072, 200000, 50000, 65536, 100000, 3, 5000, 777,
};
#define N (sizeof(sizes) / sizeof(sizes[0]))

int main(void)
{
	size_t i;

	start_from_known_heap();
	for (i = 0; i < N; i++)
		T_realloc((int)i, sizes[i]);
	for (i = 0; i < N; i++)                 /* another size from the same list */
		T_realloc((int)i, sizes[(i * 7 + 3) % N]);
	for (i = 0; i < N; i += 3)              /* shrink */
		T_realloc((int)i, sizes[i] / 3 + 1);
	for (i = 1; i < N; i += 3)              /* grow */
		T_realloc((int)i, sizes[i] * 2 + 5);
	for (i = 2; i < N; i += 3)              /* the same size */
		T_realloc((int)i, slot_of((int)i)->n);
	for (i = N; i-- > 0;)
		if (i % 2)
			T_realloc((int)i, 0);
	for (i = 0; i < N; i += 2)
		T_realloc((int)i, sizes[N - 1 - i]);
	for (i = 0; i < N; i++)
		if (slot_of((int)i)->kind != K_NONE)
			T_realloc((int)i, 0);
	return finish();
}
