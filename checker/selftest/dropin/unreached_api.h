/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The os_* functions a library of this directory defines only so that it has the whole API:
 * its misbehaviour happens before any of them is called, so they return NULL and do nothing.
 * Define UNREACHED_NO_CALLOC to leave os_calloc out (a library that lacks it).
 */
#ifndef UNREACHED_API_H
#define UNREACHED_API_H

#include <stddef.h>

#ifndef UNREACHED_NO_CALLOC
void *os_calloc(size_t nmemb, size_t size)
{
	(void)nmemb;
	(void)size;
	return NULL;
}
#endif

void *os_realloc(void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
	return NULL;
}

void os_free(void *ptr)
{
	(void)ptr;
}

#endif /* UNREACHED_API_H */
