// SPDX-License-Identifier: BSD-3-Clause
/*
 * The fault driver: replays a graded program's sequence of os_* calls (a script made from its
 * ref by checker/selftest/test_faults.py) while strace makes one brk or mmap fail, and checks
 * that the failure is clean. `fault_driver <script>`; prints "faults N" and exits 0 when every
 * check holds, else one line on stderr and exit 1.
 *
 * Script, one call per line (slots name the blocks; -1 is NULL):
 *     m <slot> <size> <ok>                os_malloc(size) into slot
 *     c <slot> <nmemb> <size> <ok>        os_calloc(nmemb, size) into slot
 *     r <dst> <src> <size> <ok>           os_realloc(slot src's pointer, size) into slot dst
 *     f <slot>                            os_free(slot's pointer; it may already be freed)
 * where <ok> is 1 when the clean run returns a pointer and 0 when it returns NULL.
 *
 * Checks (run it with OSMEM_CHECK=1: the library then checks its invariants inside every call):
 *   - every live block is filled with its own pattern, so an overlap shows too; calloc memory
 *     is zero; realloc keeps min(old, new) bytes. After every call both ends of every live
 *     block are checked; every 64 calls, after a fault and at the end, every byte of every
 *     live block, and osmem_check_heap() (all invariants, mappings proved with mincore);
 *   - a call that returns NULL where the clean run did not is a fault: errno must be ENOMEM,
 *     osmem_heap_digest() must equal its value before the call (no block, break or mapping
 *     lost or changed), every live block keeps its contents; then the same call is made again
 *     (the fault is gone: strace injects once) and must succeed. That retry is why the rest of
 *     the trace equals the clean one, which the test checks.
 *
 * No stdio, no libc malloc (they would move the program break): read(), osmem_dprintf only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "block_meta.h"
#include "die.h"
#include "osmem.h"
#include "osmem_debug.h"
#include "printf.h"

#define MAX_SLOTS 4096
#define MAX_SCRIPT (1 << 20)
#define EDGE 32                 /* bytes checked at each end of a block after every call */
#define FULL_CHECK_EVERY 64     /* calls between full checks of every block */

struct slot {
	unsigned char *ptr;     /* last pointer handed out, kept after a free (double frees) */
	size_t size;            /* bytes the caller asked for */
	unsigned seed;          /* pattern of the contents */
	int live;
};

static struct slot slots[MAX_SLOTS];
static char script[MAX_SCRIPT];
static unsigned line_no = 1, next_seed = 1, faults, calls_done;

static unsigned char pattern(unsigned seed, size_t i)
{
	return (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

static void fill(struct slot *s)
{
	s->seed = next_seed++;
	for (size_t i = 0; i < s->size; i++)
		s->ptr[i] = pattern(s->seed, i);
}

static void verify(const struct slot *s, size_t n, const char *when)
{
	for (size_t i = 0; i < n; i++)
		if (s->ptr[i] != pattern(s->seed, i))
			die("slot %ld: byte %zu of %zu changed %s", (long)(s - slots), i, s->size, when);
}

/* Every live block's contents, and the invariants (osmem_check_heap, with mincore). */
static void verify_all(const char *when)
{
	char why[256];

	if (osmem_check_heap(why, sizeof(why)))
		die("heap check failed %s: %s", when, why);
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].live)
			verify(&slots[i], slots[i].size, when);
}

/* The cheap check after an ordinary call: both ends of every live block. */
static void verify_edges(const char *when)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		const struct slot *s = &slots[i];

		if (!s->live)
			continue;
		size_t edge = s->size < EDGE ? s->size : EDGE;

		for (size_t k = 0; k < edge; k++)
			if (s->ptr[k] != pattern(s->seed, k) ||
			    s->ptr[s->size - 1 - k] != pattern(s->seed, s->size - 1 - k))
				die("slot %d: the edges of its %zu bytes changed %s", i, s->size, when);
	}
}

static struct slot *slot_at(long index)
{
	if (index < 0 || index >= MAX_SLOTS)
		die("bad slot %ld", index);
	return &slots[index];
}

static long field(char **cursor)
{
	char *s = *cursor;
	long sign = 1, value = 0;

	while (*s == ' ')
		s++;
	if (*s == '-') {
		sign = -1;
		s++;
	}
	if (*s < '0' || *s > '9')
		die("expected a number");
	/* Sizes may be above LONG_MAX: parse as unsigned, wrap like size_t. */
	unsigned long u = 0;

	while (*s >= '0' && *s <= '9')
		u = u * 10 + (unsigned long)(*s++ - '0');
	value = (long)u;
	*cursor = s;
	return sign * value;
}

enum op { MALLOC, CALLOC, REALLOC };

static void *call(enum op op, void *ptr, size_t a, size_t b)
{
	switch (op) {
	case MALLOC:
		return os_malloc(a);
	case CALLOC:
		return os_calloc(a, b);
	default:
		return os_realloc(ptr, a);
	}
}

/* One allocating call; a NULL where the clean run got a pointer is an injected fault. */
static void *call_checked(enum op op, void *ptr, size_t a, size_t b, int ok)
{
	uint64_t digest = osmem_heap_digest();

	errno = 0;
	void *result = call(op, ptr, a, b);

	if (result || !ok)
		return result;
	if (errno != ENOMEM)
		die("failed call: errno %d, expected ENOMEM (%d)", errno, ENOMEM);
	if (osmem_heap_digest() != digest)
		die("failed call changed the heap list, the break or the mappings");
	verify_all("by the failed call");
	faults++;
	result = call(op, ptr, a, b);
	if (!result)
		die("the call fails again once the fault is gone");
	return result;
}

static void run_line(char *line)
{
	char kind = *line++;
	long dst, src;
	size_t a, b = 0;
	int ok;
	void *result;
	struct slot *d, *s;

	switch (kind) {
	case 'm':
	case 'c':
		dst = field(&line);
		a = (size_t)field(&line);
		if (kind == 'c')
			b = (size_t)field(&line);
		ok = (int)field(&line);
		result = call_checked(kind == 'm' ? MALLOC : CALLOC, NULL, a, b, ok);
		if (!result != !ok)
			die("returned %p, the clean run %s", result, ok ? "did not" : "returned NULL");
		if (!result)
			break;
		d = slot_at(dst);
		d->ptr = result;
		d->size = kind == 'm' ? a : a * b;
		d->live = 1;
		for (size_t i = 0; kind == 'c' && i < d->size; i++)
			if (d->ptr[i])
				die("calloc memory is not zero at byte %zu", i);
		fill(d);
		break;
	case 'r':
		dst = field(&line);
		src = field(&line);
		a = (size_t)field(&line);
		ok = (int)field(&line);
		s = src < 0 ? NULL : slot_at(src);
		result = call_checked(REALLOC, s ? s->ptr : NULL, a, 0, ok);
		if (!result != !ok)
			die("returned %p, the clean run %s", result, ok ? "did not" : "returned NULL");
		if (!result) {
			if (s && a == 0)
				s->live = 0;       /* realloc(p, 0) frees */
			break;
		}
		d = slot_at(dst);
		if (s && s->live) {
			struct slot moved = *s;

			moved.ptr = result;
			verify(&moved, a < s->size ? a : s->size, "by realloc");
			s->live = 0;
		}
		d->ptr = result;
		d->size = a;
		d->live = 1;
		fill(d);
		break;
	case 'f':
		src = field(&line);
		s = src < 0 ? NULL : slot_at(src);
		os_free(s ? s->ptr : NULL);
		if (s)
			s->live = 0;
		break;
	default:
		die("unknown operation '%c'", kind);
	}
	/* OSMEM_CHECK=1 made the library check its invariants inside the call already. */
	if (++calls_done % FULL_CHECK_EVERY == 0)
		verify_all("after the call");
	else
		verify_edges("after the call");
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: fault_driver <script>");
	int fd = open(argv[1], O_RDONLY);
	size_t len = 0;

	if (fd < 0)
		die("cannot open %s", argv[1]);
	for (ssize_t n; (n = read(fd, script + len, sizeof(script) - 1 - len)) > 0;)
		len += (size_t)n;
	close(fd);
	script[len] = '\0';

	for (char *line = script; *line; line_no++) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		die_context("fault_driver: script line %u", line_no);
		if (*line && *line != '#')
			run_line(line);
		if (!end)
			break;
		line = end + 1;
	}
	verify_all("at the end");
	osmem_printf("faults %u\n", faults);
	return 0;
}
