/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * osmem: the public API of libosmem.so.
 *
 * Small requests are served from a brk() heap, large ones from their own mmap() mapping.
 * Failures return NULL with errno == ENOMEM and leave every block as it was.
 * The exact, syscall-level behaviour is stated in README.md ("The contract").
 */
#ifndef OSMEM_H
#define OSMEM_H

#include <stddef.h>

void *os_malloc(size_t size);
void *os_calloc(size_t nmemb, size_t size);
void *os_realloc(void *ptr, size_t size);
void os_free(void *ptr);

#endif /* OSMEM_H */
