// SPDX-License-Identifier: BSD-3-Clause
/*
 * The brk() heap.
 *
 * Invariants:
 *   - before the first successful heap_prepare() the heap is empty and no brk() was made;
 *     after it, [start, brk_end) is ours and the block list tiles it exactly;
 *   - the preallocation happens once per process; a failed one leaves nothing behind, so the
 *     next call tries again;
 *   - the break only grows, one brk() per growth, by exactly the bytes asked for (no rounding);
 *   - brk_end is the kernel's break as last set by us: no brk(0) queries after the first.
 *
 * The raw syscall is used instead of sbrk() so that what we ask the kernel is exactly what the
 * trace shows, independent of glibc's cached break. The kernel's brk never fails with an error
 * code: it returns the unchanged break, which is how failure is detected here.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "osmem_internal.h"

static uintptr_t start;
static uintptr_t brk_end;

static uintptr_t sys_brk(uintptr_t addr)
{
	return (uintptr_t)syscall(SYS_brk, addr);
}

bool heap_prepare(void)
{
	if (start)
		return true;

	uintptr_t current = sys_brk(0);
	uintptr_t wanted = current + HEAP_PREALLOC;

	if (sys_brk(wanted) != wanted) {
		errno = ENOMEM;
		return false;
	}
	start = current;
	brk_end = wanted;
	block_list_append((struct block_meta *)current, HEAP_PREALLOC - META_SIZE, STATUS_FREE);
	return true;
}

bool heap_extend(size_t bytes, uintptr_t *old_break)
{
	uintptr_t wanted = brk_end + bytes;

	if (bytes > UINTPTR_MAX - brk_end || sys_brk(wanted) != wanted) {
		errno = ENOMEM;
		return false;
	}
	*old_break = brk_end;
	brk_end = wanted;
	return true;
}

bool heap_contains(const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;

	return start && a >= start && a <= brk_end && len <= brk_end - a;
}

/*
 * heap_contains(addr, META_SIZE) once the heap exists (it spans at least HEAP_PREALLOC bytes):
 * addr - start wraps above the span when addr < start, so one comparison covers both ends.
 */
bool heap_holds_header(const void *addr)
{
	return (uintptr_t)addr - start <= brk_end - start - META_SIZE;
}

uintptr_t heap_start(void)
{
	return start;
}

uintptr_t heap_break(void)
{
	return brk_end;
}
