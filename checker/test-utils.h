/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The course's tests/snippets/test-utils.h, as far as an allocator uses it: the DIE macro.
 * A submission written for the course includes it as "../tests/snippets/test-utils.h"; the
 * checker's build puts this file there (checker/submission.py). It is not used by the kit.
 *
 * DIE(assertion, what): when `assertion` holds, writes "(file, line): what: <errno's name>" to
 * stderr and exits with errno. Unlike the course's version it uses no stdio (no allocation,
 * so it cannot move the program break the checker traces).
 */
#ifndef OSMEM_COMPAT_TEST_UTILS_H
#define OSMEM_COMPAT_TEST_UTILS_H

#include <errno.h>
#include <string.h>
#include <unistd.h>

static inline void osmem_compat_write(const char *text)
{
	ssize_t ignored = write(STDERR_FILENO, text, strlen(text));

	(void)ignored;
}

static inline void osmem_compat_die(const char *file, int line, const char *what)
{
	int saved = errno;
	char number[16];
	int at = (int)sizeof(number) - 1;

	number[at] = '\0';
	do {
		number[--at] = (char)('0' + line % 10);
		line /= 10;
	} while (line > 0 && at > 0);
	osmem_compat_write("(");
	osmem_compat_write(file);
	osmem_compat_write(", ");
	osmem_compat_write(number + at);
	osmem_compat_write("): ");
	osmem_compat_write(what);
	osmem_compat_write(": ");
	osmem_compat_write(strerror(saved));
	osmem_compat_write("\n");
	_exit(saved ? saved : 1);
}

#define DIE(assertion, call_description)						\
	do {									\
		if (assertion)							\
			osmem_compat_die(__FILE__, __LINE__, call_description);	\
	} while (0)

#endif /* OSMEM_COMPAT_TEST_UTILS_H */
