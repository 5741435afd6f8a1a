/*
 * calloc-no-preallocate: only zero-size and mmap-sized os_calloc requests (for calloc the
 * threshold is the page: 32 + ALIGN8(nmemb * size) >= 4096), so the heap is never touched:
 * no brk at all; every block is its own mapping of exactly 32 + need bytes, and zeroed.
 * Rules 2, 4 (exact mmap/munmap lengths), 6 (calloc classification, zeroed), 7, 13.
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_calloc(0, 0, 100);         /* NULL, no syscall */
	T_calloc(0, 100, 0);         /* NULL */
	T_calloc(0, 1, 4057);        /* 32 + 4064 = 4096: the smallest mapped total */
	T_calloc(1, 4064, 1);
	T_calloc(2, 4080, 1);
	T_calloc(3, 2, 2048);
	T_calloc(4, 100, 100);
	T_calloc(5, 0, 0);
	T_calloc(5, 1000, 1000);
	T_calloc(6, 3, 131033);
	T_free(2);
	T_free(0);
	T_calloc(0, 17, 513);
	T_free(5);
	T_free(3);
	T_calloc(2, 8, 1024);
	T_free(0);
	T_free(1);
	T_free(2);
	T_free(4);
	T_free(6);
	return finish();
}
