/*
 * malloc-no-preallocate: only zero-size and mmap-sized os_malloc requests, so the heap is
 * never touched: no brk at all, every block is its own mapping of exactly 32 + need bytes.
 * Rules 2 (zero-size and mmap-sized requests never touch the heap), 4 (exact, not
 * page-rounded mmap/munmap lengths), 5 (classification), 7 (malloc(0) is NULL), 13 (munmap).
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_malloc(0, 0);                   /* NULL, no syscall */
	T_malloc(0, MALLOC_HEAP_MAX + 1); /* 131033: the smallest mapped request */
	T_malloc(1, 131040);
	T_malloc(2, 131041);              /* need 131048: mmap(131080) */
	T_malloc(3, 200000);
	T_malloc(4, 300007);
	T_malloc(5, 0);
	T_malloc(5, 1024 * 1024 + 3);
	T_free(1);
	T_free(0);
	T_malloc(0, 4 * 1024 * 1024);
	T_free(4);
	T_free(2);
	T_malloc(1, 131072);
	T_malloc(2, 0);
	T_free(0);
	T_free(1);
	T_free(3);
	T_free(5);
	return finish();
}
