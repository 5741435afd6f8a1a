/*
 * null-args: os_free(NULL) does nothing (no syscall), before the heap exists and after;
 * os_realloc(NULL, n) is exactly os_malloc(n): it maps large sizes (without preallocating),
 * and, from the known heap state, splits and reuses FREE blocks by best fit.
 * Rules 13 (os_free(NULL)), 14 (os_realloc(NULL, n) acts as os_malloc(n)), 5, 9, 10.
 * points: 1
 */
#include "common.h"

int main(void)
{
	os_free(NULL);
	T_realloc(0, 200000);         /* os_realloc(NULL, n): mapped */
	os_free(NULL);                /* still no heap */
	start_from_known_heap();
	T_realloc(1, 10);             /* os_realloc(NULL, 10): best fit in the known heap */
	expect_at(1, 0x20);
	expect_size(1, 16);
	T_realloc(2, 1000);
	expect_at(2, 0x20 + 48);
	T_realloc(3, 16);
	T_free(1);
	os_free(NULL);
	T_realloc(4, 9);              /* need 16: the FREE 16 at the start */
	expect_at(4, 0x20);
	T_realloc(5, 131033);         /* mapped */
	os_free(NULL);
	T_free(0);
	T_free(2);
	T_free(3);
	T_free(4);
	T_free(5);
	os_free(NULL);
	return finish();
}
