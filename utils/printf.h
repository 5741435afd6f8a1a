/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A printf that never allocates: safe inside the allocator, in test programs (libc's stdio
 * buffers would call malloc and move the program break) and in signal handlers.
 *
 * Conversions: %d %i %u %ld %lu %lld %llu %zu %zd %x %lx %zx %p %s %c %%, with an optional
 * '0' flag and field width (e.g. %08lx). Output longer than 512 bytes per call is cut.
 */
#ifndef OSMEM_PRINTF_H
#define OSMEM_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

/* Like vsnprintf: writes at most n - 1 characters plus NUL, returns the untruncated length. */
int osmem_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int osmem_snprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats into a stack buffer and write()s it to fd in one call. Returns bytes written or -1. */
int osmem_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int osmem_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* OSMEM_PRINTF_H */
