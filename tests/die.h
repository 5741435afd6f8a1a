/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How the test programs and the kit's instruments report a violated check: one line
 * "<context>: <message>\n" on stderr, formatted without allocating and written with one
 * write(), then _exit(status), so nothing else (no atexit handler, no stdio) reaches the trace.
 */
#ifndef OSMEM_TESTS_DIE_H
#define OSMEM_TESTS_DIE_H

#include <stdarg.h>
#include <unistd.h>

#include "printf.h"

__attribute__((noreturn))
static inline void vdie_in(int status, const char *context, const char *fmt, va_list ap)
{
	char message[448];

	osmem_vsnprintf(message, sizeof(message), fmt, ap);
	osmem_dprintf(STDERR_FILENO, "%s: %s\n", context, message);
	_exit(status);
}

#endif /* OSMEM_TESTS_DIE_H */
