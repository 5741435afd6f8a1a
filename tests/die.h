/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How the test programs and the kit's instruments report a violated check: one line
 * "<context>: <message>\n" on stderr, formatted without allocating and written with one
 * write(), then _exit(status), so nothing else (no atexit handler, no stdio) reaches the trace.
 *
 * die() is the one every program uses. Its context is the program's source file name, or what
 * the program last set with die_context() (the case it runs, the script line it is at).
 */
#ifndef OSMEM_TESTS_DIE_H
#define OSMEM_TESTS_DIE_H

#include <stdarg.h>
#include <unistd.h>

#include "printf.h"

static char die_where[64];

__attribute__((noreturn))
static inline void vdie_in(int status, const char *context, const char *fmt, va_list ap)
{
	char message[448];

	osmem_vsnprintf(message, sizeof(message), fmt, ap);
	osmem_dprintf(STDERR_FILENO, "%s: %s\n", context, message);
	_exit(status);
}

/* What die() writes before its message from now on. */
__attribute__((format(printf, 1, 2)))
static inline void die_context(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	osmem_vsnprintf(die_where, sizeof(die_where), fmt, ap);
	va_end(ap);
}

/* The file name of the program's main source (no directory), its default context. */
static inline const char *program_file(void)
{
	const char *s = __BASE_FILE__, *b = s;

	for (; *s; s++)
		if (*s == '/')
			b = s + 1;
	return b;
}

/* Writes "<context>: <message>\n" to stderr and exits with status 1. */
__attribute__((noreturn, format(printf, 1, 2)))
static inline void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie_in(1, die_where[0] ? die_where : program_file(), fmt, ap);
}

#endif /* OSMEM_TESTS_DIE_H */
