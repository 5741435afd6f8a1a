/*
 * realloc-split-vector: a vector of 12 blocks of 1000 bytes (os_realloc(NULL, 1000)); the
 * even ones are shrunk to 504 (FREE 464 after each), filled by new 400-byte blocks (FREE 32
 * after each); the odd ones are shrunk to 8 (FREE 960 after each); the FREE 32s are taken by
 * 25-byte requests (best fit, ties to the lowest address); then the odd ones grow back over
 * their FREE 960 (excess 32: kept whole; the last one's 960 had merged with the tail).
 * Rules 17 (shrink: split), 18 (absorb, no split of an excess of 32), 9-10, 14.
 *
 * Block i: payload at 0x20 + i * 1032.
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
		T_realloc(k, 1000);
	for (k = 0; k < N; k++)
		expect_at(k, V(k));

	for (k = 0; k < N; k += 2) {         /* 1000 -> 504 + FREE 464 */
		T_realloc(k, 500);
		expect_at(k, V(k));
		expect_size(k, 504);
		expect_free_at(V(k) + 536, 464);
	}
	for (k = 0; k < N; k += 2) {         /* 464 -> 400 + FREE 32 */
		T_realloc(N + k, 400);
		expect_at(N + k, V(k) + 536);
		expect_free_at(V(k) + 968, 32);
	}
	for (k = 1; k < N; k += 2) {         /* 1000 -> 8 + FREE 960 */
		T_realloc(k, 8);
		expect_at(k, V(k));
		expect_free_at(V(k) + 40, 960);
	}
	for (k = 0; k < N; k += 2) {         /* the FREE 32s, not the 960s */
		T_realloc(2 * N + k, 25);
		expect_at(2 * N + k, V(k) + 968);
		expect_size(2 * N + k, 32);
	}
	for (k = 1; k < N; k += 2) {         /* 8 + 32 + 960 = 1000, excess 32: whole */
		T_realloc(k, 968);
		expect_at(k, V(k));
		/* but the last one's FREE 960 was merged with the FREE tail by the allocations
		 * above (rule 8): it absorbs that and splits */
		expect_size(k, k == N - 1 ? 968 : 1000);
	}
	for (k = 1; k < N; k += 2) {         /* the same need: nothing changes */
		T_realloc(k, 1000);
		expect_at(k, V(k));
		expect_size(k, 1000);
	}

	for (k = 0; k < 3 * N; k++)
		if (slot_of(k)->kind != K_NONE)
			T_realloc(k, 0);
	return finish();
}
