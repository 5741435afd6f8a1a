/*
 * calloc-split-vector: a vector of 12 calloc'd blocks of 1000 bytes, every even one freed;
 * callocs of 500, then 400, then 25 bytes split the FREE blocks (full of old data) one after
 * the other (best fit, ties to the lowest address) until the vector is tiled again without a
 * gap; every piece must come back zeroed.
 * Rules 9 (best fit, ties to the lowest address), 10 (split into need + FREE remainder),
 * 6 (zeroed), 8.
 *
 * Block i: payload at 0x20 + i * 1032. Each even block ends up as 504 | 400 | 32.
 * points: 3
 */
#include "common.h"

#define N 12
#define V(i) (0x20 + (long)(i) * 1032)

int main(void)
{
	int k;

	start_from_known_heap();
	for (k = 0; k < N; k++)
		T_calloc(k, 8, 125);
	for (k = 0; k < N; k++)
		expect_at(k, V(k));
	for (k = 0; k < N; k += 2)
		T_free(k);

	for (k = 0; k < N; k += 2) {         /* 1000 -> 504 + FREE 464 */
		T_calloc(N + k, 4, 125);
		expect_at(N + k, V(k));
		expect_size(N + k, 504);
		expect_free_at(V(k) + 536, 464);
	}
	for (k = 0; k < N; k += 2) {         /* 464 -> 400 + FREE 32 */
		T_calloc(2 * N + k, 50, 8);
		expect_at(2 * N + k, V(k) + 536);
		expect_size(2 * N + k, 400);
		expect_free_at(V(k) + 968, 32);
	}
	for (k = 0; k < N; k += 2) {         /* the 32s, exact */
		T_calloc(3 * N + k, 5, 5);
		expect_at(3 * N + k, V(k) + 968);
		expect_size(3 * N + k, 32);
	}

	for (k = 1; k < N; k += 2)
		T_free(k);
	for (k = 0; k < N; k += 2)
		T_free(3 * N + k);
	/* each FREE 32 merges with the FREE 1000 after it: 1064 (the last run takes the tail) */
	T_calloc(4 * N, 1000, 1);             /* 1064 -> 1000 + FREE 32 */
	expect_at(4 * N, V(0) + 968);
	expect_size(4 * N, 1000);
	expect_free_at(V(1) + 968, 32);
	expect_free_at(V(2) + 968, 1064);    /* merged although not chosen */

	for (k = 0; k < 5 * N; k++)
		if (slot_of(k)->kind != K_NONE)
			T_free(k);
	return finish();
}
