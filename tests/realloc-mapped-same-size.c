/*
 * realloc-mapped-same-size: os_realloc of a mapped block to the same size (or the same
 * need) still makes a new mapping, copies the contents, and unmaps the old one last; again
 * and again, for malloc'd, calloc'd and realloc'd mapped blocks.
 * Rules 15 (mapped: allocate anew, copy, munmap last, also for the same size), 4.
 * points: 1
 */
#include "common.h"

int main(void)
{
	start_from_known_heap();
	T_malloc(0, 200000);
	T_realloc(0, 200000);         /* mmap(200032), copy, munmap(old, 200032) */
	T_realloc(0, 200000);
	T_realloc(0, 199993);         /* the same need */
	T_calloc(1, 1000, 1000);
	T_realloc(1, 1000000);
	T_realloc(2, 131033);         /* os_realloc(NULL, n) */
	T_realloc(2, 131040);         /* the same need */
	T_realloc(2, 131033);
	T_free(0);
	T_free(1);
	T_free(2);
	return finish();
}
