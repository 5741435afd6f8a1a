// SPDX-License-Identifier: BSD-3-Clause
/*
 * The kit's launcher: the last step before a graded program starts, inside the sandbox.
 *
 *     osmem-launcher CPU_SECONDS ADDRESS_SPACE FILE_SIZE PROCESSES PROGRAM [ARGS...]
 *
 * sets the resource limits (CPU seconds, bytes of address space, bytes per written file,
 * processes of the sandbox's user; no core files), then installs a seccomp filter and execs
 * PROGRAM (searched in PATH when it has no slash). The filter makes threads the tracer cannot
 * see impossible:
 *
 *   - clone with CLONE_UNTRACED fails with ENOSYS (strace and ltrace never attach to such a
 *     child, so its syscalls would vanish from the trace);
 *   - clone3 fails with ENOSYS (its flags live in memory, where a filter cannot read them;
 *     libc falls back to clone, which the filter can);
 *   - any syscall of another ABI (int 0x80, x32) fails with ENOSYS, so the two rules above
 *     cannot be sidestepped through a second syscall table.
 *
 * The tracer sees each refused call with its ENOSYS (seccomp runs after the tracer's stop),
 * and the checker reports it: nothing is absorbed silently.
 *
 * Invariants: statically linked and allocation-free, so that it runs in a sandbox that holds
 * nothing but the program and its libraries, and leaves no trace after its execve other than
 * the limits and the filter; on any failure it exits with 125 and one line on stderr (the
 * errno's text, for an execve that failed), without running PROGRAM. An execve that fails
 * with a transient error (EAGAIN, ETXTBSY) is tried again, for up to a second.
 */
#define _GNU_SOURCE /* CLONE_UNTRACED */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "printf.h"

#define LAUNCH_FAILED 125
#define EXEC_TRIES 20
#define EXEC_PAUSE_US 50000

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define FOREIGN_ABI_BIT 0x40000000u   /* x32 syscall numbers */
#else
#error "the launcher's seccomp filter is written for x86_64"
#endif

__attribute__((noreturn))
static void fail(const char *what, const char *detail)
{
	osmem_dprintf(STDERR_FILENO, "osmem-launcher: %s%s%s\n", what, detail ? ": " : "",
		      detail ? detail : "");
	_exit(LAUNCH_FAILED);
}

static rlim_t number(const char *text, const char *what)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || *end)
		fail("not a number", what);
	return (rlim_t)value;
}

static void limit(int resource, rlim_t value, const char *what)
{
	struct rlimit rl = { value, value };

	if (setrlimit(resource, &rl) != 0)
		fail("cannot set the limit", what);
}

#define REFUSE (SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))

static void install_filter(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, REFUSE),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, FOREIGN_ABI_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, REFUSE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, REFUSE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
		/* clone's flags are its first argument; CLONE_UNTRACED is in the low word */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_UNTRACED, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, REFUSE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = { sizeof(code) / sizeof(code[0]), code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail("cannot set no_new_privs", NULL);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
		fail("cannot install the seccomp filter", NULL);
}

int main(int argc, char *argv[])
{
	if (argc < 6)
		fail("usage", "osmem-launcher CPU_SECONDS ADDRESS_SPACE FILE_SIZE PROCESSES "
		     "PROGRAM [ARGS...]");
	limit(RLIMIT_CPU, number(argv[1], "CPU_SECONDS"), "CPU seconds");
	limit(RLIMIT_AS, number(argv[2], "ADDRESS_SPACE"), "address space");
	limit(RLIMIT_FSIZE, number(argv[3], "FILE_SIZE"), "file size");
	limit(RLIMIT_NPROC, number(argv[4], "PROCESSES"), "processes");
	limit(RLIMIT_CORE, 0, "core file size");
	install_filter();
	/*
	 * Both can pass: EAGAIN, the process limit checked again at exec after a change of uid
	 * (it counts this sandbox's processes only); ETXTBSY, a copy whose writer is closing it.
	 */
	for (int tries = 1; ; tries++) {
		execvp(argv[5], &argv[5]);
		if ((errno != EAGAIN && errno != ETXTBSY) || tries == EXEC_TRIES)
			break;
		usleep(EXEC_PAUSE_US);
	}
	const char *why = strerror(errno);

	osmem_dprintf(STDERR_FILENO, "osmem-launcher: cannot run: %s: %s\n", argv[5], why);
	_exit(LAUNCH_FAILED);
}
