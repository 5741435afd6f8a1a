/*
 * canary: not graded. Makes exactly 500 top-level os_* calls (a mix of all four functions,
 * including os_realloc(NULL, n), os_realloc(p, 0), os_free(NULL), zero sizes, mapped
 * blocks, and calls made back to back from the same call site) and then prints
 * "calls: 500" on stdout. The checker compares the number of calls a tracer saw with it:
 * a tracer that loses calls (ltrace on IBT/.plt.sec or -z now builds) fails loudly here.
 * points: 0
 */
#include "common.h"

#define EXPECTED 500

static unsigned g_calls;

/* Counts one os_* call; the call itself is still made directly, through the PLT. */
#define CALL(expr) (g_calls++, (expr))

int main(void)
{
	void *p[16];
	int i, round;

	memset(p, 0, sizeof(p));
	CALL(os_free(NULL));                               /* 1 */
	CALL(os_malloc(0));                                /* 2 */
	for (round = 0; round < 8; round++) {              /* 8 * 60 = 480 */
		for (i = 0; i < 4; i++)                        /* 4 */
			p[i] = CALL(os_malloc((size_t)(16 << i) + round));
		for (i = 4; i < 8; i++)                        /* 4 */
			p[i] = CALL(os_calloc((size_t)i, 8 + (size_t)round));
		for (i = 8; i < 12; i++)                       /* 4 */
			p[i] = CALL(os_realloc(NULL, (size_t)(100 * i + round)));
		p[12] = CALL(os_malloc(200000));               /* 1 */
		p[13] = CALL(os_calloc(1, 5000));              /* 1 */
		for (i = 0; i < 12; i++)                       /* 12 */
			p[i] = CALL(os_realloc(p[i], (size_t)(50 * i + 8 * round + 1)));
		for (i = 0; i < 12; i++)                       /* 12 */
			CALL(os_free(NULL));
		p[12] = CALL(os_realloc(p[12], 1000));         /* 1 */
		p[13] = CALL(os_realloc(p[13], 300000));       /* 1 */
		for (i = 0; i < 6; i++)                        /* 6 */
			p[i] = CALL(os_realloc(p[i], 0));
		for (i = 6; i < 14; i++)                       /* 8 */
			CALL(os_free(p[i]));
		for (i = 0; i < 3; i++) {                      /* 6 */
			CALL(os_free(NULL));
			CALL(os_realloc(NULL, 0));
		}
	}
	for (i = 0; i < 6; i++)                            /* 6 */
		CALL(os_free(NULL));
	for (i = 0; i < 6; i++)                            /* 12 */
		CALL(os_free(CALL(os_malloc((size_t)i + 1))));
	if (g_calls != EXPECTED)
		die("internal: made %u os_* calls, expected %u", g_calls, EXPECTED);
	osmem_printf("calls: %u\n", g_calls);
	return finish();
}
