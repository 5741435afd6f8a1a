// SPDX-License-Identifier: BSD-3-Clause
/*
 * Hostile submissions: the reference allocator with one deliberate misbehaviour per CASE, to
 * show the checker survives what students hand in. Each case is one build of this file:
 *
 *   segfault      os_free writes through a bad pointer          -> crashed: killed by SIGSEGV
 *   abort         os_realloc calls abort()                      -> crashed: killed by SIGABRT
 *   hang          os_calloc never returns                       -> timed out
 *   exit          os_realloc calls exit(3)                      -> program exited with 3
 *   flood         os_malloc writes 16 MiB to stdout each call   -> flooded its output
 *   garbage       os_malloc writes binary junk to stderr        -> extra syscall write(2, ...)
 *   fork          os_malloc forks a child                       -> extra syscall clone(...)
 *   mremap        os_realloc of a mapped block calls mremap     -> extra syscall mremap(...)
 *   libc_malloc   os_malloc calls libc malloc (moves the break) -> brk calls that differ
 *   bad_pointer   os_malloc returns a pointer it never mapped   -> crashed: SIGSEGV or SIGABRT
 *   no_calloc     the library does not define os_calloc         -> library lacks os_calloc
 *
 * Attacks on the grading itself (each must score no more than `stub`, or than the reference
 * allocator without the trick, and leave the kit's checkout as it was):
 *
 *   stub            every os_* returns NULL and does nothing: the baseline
 *   forge_markers   a constructor reads the program's ref if it can, writes the checker's call
 *                   markers, a brk and a completion report itself, and _exit(0)s before main()
 *   replace_trace   a constructor replaces every file named like a trace it can reach with a
 *                   forged one; then a stub
 *   truncate_ref    a constructor truncates its program's ref (found from /proc/self/exe and
 *                   from the kit's path); then a stub
 *   extra_after_ret os_malloc: the reference call, then a forged "ret" marker and syscalls the
 *                   trace would otherwise put after the call
 *   untraced_thread os_*: syscalls from a child started with CLONE_UNTRACED
 *   setsid_total    os_* (first call): a child leaves the session (setsid) and, later, prints a
 *                   fake "Total: 100/100"
 *   escapes         os_*: terminal escapes on stderr that would redraw the Total line, exit(1)
 *   kill_worker     os_*: kills its parent and every process it may signal
 *   fork_bomb       os_* (first call): forks until fork fails, every child and then itself
 *                   waiting forever: other runs graded meanwhile must not be starved
 *
 * The reference sources are compiled with their API renamed to ref_* (see the Makefile), so
 * the wrappers below are the only os_* the library exports.
 */
#define _GNU_SOURCE /* mremap, clone */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "block_meta.h"
#include "printf.h"

void *ref_malloc(size_t size);
void *ref_calloc(size_t nmemb, size_t size);
void *ref_realloc(void *ptr, size_t size);
void ref_free(void *ptr);

#define CASE_IS(name) (__builtin_strcmp(OSMEM_CASE, #name) == 0)
#define STUB (CASE_IS(stub) || CASE_IS(replace_trace) || CASE_IS(truncate_ref))

static void say(int fd, const char *text)
{
	if (write(fd, text, strlen(text)) < 0)
		return;
}

/* The program's ref, by the two routes a submission could take: relative to its binary
 * (build/tests/NAME -> tests/ref/NAME.ref) and from the kit's own path. */
static int open_refs(int flags, int *fds)
{
	char exe[512], path[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int count = 0;

	if (n <= 0)
		return 0;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');

	if (!slash)
		return 0;
	*slash = '\0';
	osmem_snprintf(path, sizeof(path), "%s/../../tests/ref/%s.ref", exe, slash + 1);
	if ((fds[count] = open(path, flags)) >= 0)
		count++;
	osmem_snprintf(path, sizeof(path), "%s/tests/ref/%s.ref", KIT_ROOT, slash + 1);
	if ((fds[count] = open(path, flags)) >= 0)
		count++;
	return count;
}

static const char forged_trace[] =
	"1 write(-1, \"osmem:call os_malloc 1\", 22) = -1 EBADF\n"
	"1 write(-1, \"osmem:ret os_malloc 0x1020\", 26) = -1 EBADF\n"
	"1 +++ exited with 0 +++\n";

__attribute__((constructor))
static void hostile_start(void)
{
	int fds[2];

	if (CASE_IS(forge_markers)) {
		if (open_refs(O_RDONLY, fds) > 0)
			say(STDERR_FILENO, "hostile: read the ref\n");
		say(-1, "osmem:call os_malloc 1");
		syscall(SYS_brk, 0);
		say(-1, "osmem:ret os_malloc 0x1020");
		say(-1, "osmem:finished 1");
		_exit(0);
	}
	if (CASE_IS(replace_trace)) {
		static const char *const places[] = { "trace", "../trace", "/tmp/trace", "../../trace" };

		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
			unlink(places[i]);
			int fd = open(places[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd >= 0) {
				say(fd, forged_trace);
				close(fd);
			}
		}
	}
	if (CASE_IS(truncate_ref) && open_refs(O_WRONLY | O_TRUNC, fds) > 0)
		say(STDERR_FILENO, "hostile: truncated the ref\n");
}

static char child_stack[1 << 16];

static int untraced_child(void *unused)
{
	(void)unused;
	for (int i = 0; i < 8; i++)
		syscall(SYS_getpid);
	return 0;
}

/* The tricks played on the grading inside each os_* call. */
static void misbehave(void)
{
	static int calls;

	calls++;
	if (CASE_IS(untraced_thread))
		clone(untraced_child, child_stack + sizeof(child_stack), CLONE_UNTRACED | SIGCHLD,
		      NULL);
	if (CASE_IS(setsid_total) && calls == 1 && fork() == 0) {
		setsid();
		prctl(PR_SET_NAME, "osmem-linger");
		sleep(20);
		say(STDOUT_FILENO, "Total: 100/100\n");
		_exit(0);
	}
	if (CASE_IS(escapes)) {
		say(STDERR_FILENO, "\x1b[2K\r\x1b[1A\x1b[2KTotal: 100/100\x1b[0m\x07\n");
		exit(1);
	}
	if (CASE_IS(kill_worker)) {
		kill(getppid(), SIGKILL);
		kill(-1, SIGKILL);
	}
	if (CASE_IS(fork_bomb) && calls == 1) {
		pid_t child;

		while ((child = fork()) > 0)
			;
		for (;;)
			pause();
	}
}

void *os_malloc(size_t size)
{
	misbehave();
	if (STUB)
		return NULL;
	if (CASE_IS(extra_after_ret)) {
		void *p = ref_malloc(size);
		char text[64];
		int len = osmem_snprintf(text, sizeof(text), "osmem:ret os_malloc %p", p);

		if (write(-1, text, (size_t)len) < 0)
			munmap(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 4096);
		return p;
	}
	if (CASE_IS(flood)) {
		static char junk[1 << 16];

		memset(junk, 'x', sizeof(junk));
		for (int i = 0; i < 256; i++)
			if (write(STDOUT_FILENO, junk, sizeof(junk)) < 0)
				break;
	}
	if (CASE_IS(garbage)) {
		static const char junk[] = "\x00\xff\xfe\x1b[2J\x1b[31mosmem says hi\x07\r\n";

		if (write(STDERR_FILENO, junk, sizeof(junk)) < 0)
			return NULL;
	}
	if (CASE_IS(fork)) {
		pid_t child = fork();

		if (child == 0)
			_exit(0);
	}
	if (CASE_IS(libc_malloc)) {
		void *volatile kept = malloc(64); /* volatile: the compiler may not elide the pair */

		free(kept);
	}
	if (CASE_IS(bad_pointer))
		return (void *)0x1000;
	return ref_malloc(size);
}

#ifndef OSMEM_NO_CALLOC
void *os_calloc(size_t nmemb, size_t size)
{
	misbehave();
	if (STUB)
		return NULL;
	if (CASE_IS(hang))
		for (volatile int spin = 1; spin;)
			;
	return ref_calloc(nmemb, size);
}
#endif

void *os_realloc(void *ptr, size_t size)
{
	misbehave();
	if (STUB)
		return NULL;
	if (CASE_IS(abort))
		abort();
	if (CASE_IS(exit))
		exit(3);
	if (CASE_IS(mremap) && ptr) {
		struct block_meta *block = (struct block_meta *)ptr - 1;
		size_t length = sizeof(*block) + block->size;

		if (block->status == STATUS_MAPPED)
			mremap(block, length, length, 0);
	}
	return ref_realloc(ptr, size);
}

void os_free(void *ptr)
{
	misbehave();
	if (STUB)
		return;
	if (CASE_IS(segfault) && ptr)
		*(volatile int *)16 = 1;
	ref_free(ptr);
}
