/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSMEM_CHECK=1 hook (check.c): one line at the top of each os_* function,
 *
 *     OSMEM_CHECK_ON_RETURN("os_malloc");
 *
 * runs the heap check (no syscalls) when that function starts (so a header the program broke
 * since the last call is reported before the library acts on it) and on every return path,
 * when the variable is set, and aborts with "os_malloc(): heap check failed: <what>" on a
 * violation. When it is not set the cost is a load and a branch at each end; nothing is ever
 * allocated and no syscall is made.
 */
#ifndef OSMEM_CHECK_H
#define OSMEM_CHECK_H

/* -1: OSMEM_CHECK not read yet; 0: off; 1: on. */
extern int osmem_check_mode __attribute__((visibility("hidden")));
void osmem_check_now(const char *const *function) __attribute__((visibility("hidden")));

static inline void osmem_check_on_return(const char *const *function)
{
	if (osmem_check_mode)
		osmem_check_now(function);
}

#define OSMEM_CHECK_ON_RETURN(function)						\
	const char *const osmem_check_function_					\
		__attribute__((cleanup(osmem_check_on_return), unused)) = (function);	\
	osmem_check_on_return(&osmem_check_function_)

#endif /* OSMEM_CHECK_H */
