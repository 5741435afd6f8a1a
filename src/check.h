/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSMEM_CHECK=1 hook (check.c): one line at the top of each os_* function,
 *
 *     OSMEM_CHECK_ON_RETURN("os_malloc");
 *
 * runs the heap check (no syscalls) on every return path of that function when the variable is
 * set, and aborts with "os_malloc(): heap check failed: <what>" on a violation. When it is not
 * set the cost is one load and one branch; nothing is ever allocated and no syscall is made.
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
		__attribute__((cleanup(osmem_check_on_return), unused)) = (function)

#endif /* OSMEM_CHECK_H */
