/*
 * realloc-no-preallocate: blocks allocated through os_realloc(NULL, n) and resized with
 * os_realloc, only with zero and mmap-sized requests: the heap is never touched (no brk at
 * all). A mapped block is always moved to a new mapping (grow, shrink, same size), the old
 * mapping unmapped last; os_realloc(ptr, 0) unmaps.
 * Rules 2, 4-5, 7 (os_realloc(NULL, 0) is NULL), 14 (NULL ptr, size 0), 15 (mapped: new
 * mapping, copy min(old, new), munmap the old one).
 * points: 1
 */
#include "common.h"

int main(void)
{
	T_realloc(0, 0);              /* os_realloc(NULL, 0): NULL, no syscall */
	T_realloc(0, 131033);         /* os_realloc(NULL, n): mmap(131072) */
	T_realloc(0, 200000);         /* grow: new mapping, copy, munmap */
	T_realloc(0, 150000);         /* shrink, still mapped: new mapping */
	T_realloc(0, 150000);         /* same size: new mapping too */
	T_realloc(1, 1024 * 1024);
	T_realloc(1, 131040);
	T_realloc(0, 150001);         /* need 150008: grows by 8 */
	T_realloc(1, 0);              /* munmap */
	T_realloc(2, 300000);
	T_realloc(0, 0);
	T_realloc(2, 131033);
	T_free(2);
	return finish();
}
