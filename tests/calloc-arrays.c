/*
 * calloc-arrays: many os_calloc shapes (nmemb, size) across the alignment boundaries and
 * the page threshold, allocated as an array, half of them freed and reallocated (so that
 * FREE heap blocks full of old data are reused and must come back zeroed), then all freed.
 * Rules 2-4, 6 (calloc classification by 32 + ALIGN8(total) >= 4096; zeroed), 8-13.
 * points: 2
 */
#include "common.h"

static const size_t shapes[][2] = {
	{1, 1}, {1, 7}, {7, 1}, {2, 4}, {3, 3}, {1, 15}, {4, 4}, {17, 1}, {3, 8}, {31, 1},
	{8, 4}, {1, 33}, {5, 8}, {9, 7}, {16, 4}, {10, 10}, {127, 1}, {32, 4}, {5, 51},
	{256, 1}, {73, 7}, {1000, 1}, {1, 1023}, {4, 256}, {23, 89}, {2, 2000}, {1, 4056},
	{4056, 1}, {1, 4057}, {4057, 1}, {8, 507}, {4, 1016}, {1, 4096}, {4097, 1},
	{100, 100}, {1024, 8}, {3, 5000}, {1, 131033}, {1000, 1000}, {12, 333}, {500, 3},
};
#define N (sizeof(shapes) / sizeof(shapes[0]))

int main(void)
{
	size_t i;

	start_from_known_heap();
	for (i = 0; i < N; i++)
		T_calloc((int)i, shapes[i][0], shapes[i][1]);
	for (i = 0; i < N; i += 2)
		T_free((int)i);
	verify_all("after freeing every other block");
	for (i = N; i-- > 0;)
		if (i % 2 == 0)
			T_calloc((int)i, shapes[N - 1 - i][1], shapes[N - 1 - i][0]);
	for (i = 1; i < N; i += 2)
		T_free((int)i);
	verify_all("after freeing the odd blocks");
	for (i = 1; i < N; i += 4)
		T_calloc((int)i, shapes[i][0], shapes[i][1] / 2 + 1);
	for (i = 0; i < N; i++)
		if (slot_of((int)i)->kind != K_NONE)
			T_free((int)i);
	return finish();
}
