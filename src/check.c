// SPDX-License-Identifier: BSD-3-Clause
/*
 * Heap invariants: osmem_check_heap(), osmem_heap_digest() (utils/osmem_debug.h) and the
 * OSMEM_CHECK=1 hook (check.h): the heap list, the free index against it, the mappings.
 *
 * The checker trusts nothing it reads: it only dereferences a header after proving it lies
 * inside [HeapStart, break) (heap list) or is the head or a link of the registry of mappings,
 * and every walk is bounded, so a corrupted list gives a message, not a crash or a hang.
 * A registry link is dereferenced only after it passed the address checks (page-aligned,
 * outside the heap); that it is really mapped is proved with mincore() by the explicit entry
 * point only: the hook runs inside os_* calls, whose syscalls are graded, so it makes none.
 *
 * In the annotated builds (annotate.h) headers are closed to ASan and memcheck between calls:
 * the checks open them for their duration (ANNOTATE_CALL), and the walks are not instrumented.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "annotate.h"
#include "check.h"
#include "osmem_debug.h"
#include "osmem_internal.h"
#include "printf.h"

#define NO_SANITIZE __attribute__((no_sanitize_address))
/* More registered mappings than this is treated as a cycle in the registry. */
#define REGISTRY_LIMIT ((size_t)1 << 22)

struct report {
	char *buf;
	size_t len;
};

static int fail(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct report *r, const char *fmt, ...)
{
	if (r->buf && r->len) {
		va_list ap;

		va_start(ap, fmt);
		osmem_vsnprintf(r->buf, r->len, fmt, ap);
		va_end(ap);
	}
	return 1;
}

/* [addr, addr + len) is mapped (mincore fails with ENOMEM on any unmapped page). */
static bool range_mapped(uintptr_t addr, size_t len)
{
	static unsigned char vec[4096];
	uintptr_t page = (uintptr_t)getpagesize();
	uintptr_t start = addr & ~(page - 1);
	uintptr_t end = addr + len;

	while (start < end) {
		size_t pages = (end - start + page - 1) / page;

		if (pages > sizeof(vec))
			pages = sizeof(vec);
		if (mincore((void *)start, pages * page, vec) != 0)
			return false;
		start += pages * page;
	}
	return true;
}

NO_SANITIZE static uintptr_t end_of(const struct block_meta *b)
{
	return (uintptr_t)b + META_SIZE + b->size;
}

NO_SANITIZE static int check_heap_list(struct report *r)
{
	uintptr_t start = heap_start(), brk_end = heap_break();
	struct block_meta *first = block_list_first(), *last = block_list_last();

	if (!start) {
		if (first || last)
			return fail(r, "no heap yet, but the heap list is not empty");
		return 0;
	}
	if (brk_end < start || (brk_end - start) % ALIGNMENT || brk_end - start < META_SIZE)
		return fail(r, "heap range [%p, %p) is not a whole number of blocks",
			    (void *)start, (void *)brk_end);
	if ((uintptr_t)first != start)
		return fail(r, "first heap block %p is not at HeapStart %p", (void *)first,
			    (void *)start);

	const struct block_meta *prev = NULL;
	uintptr_t at = start;
	size_t steps = 0, max_steps = (brk_end - start) / META_SIZE;

	while (at != brk_end) {
		const struct block_meta *b = (const struct block_meta *)at;

		if (++steps > max_steps || !heap_contains(b, META_SIZE))
			return fail(r, "heap block %p: header outside the heap [%p, %p)", (void *)b,
				    (void *)start, (void *)brk_end);
		if (b->status != STATUS_FREE && b->status != STATUS_ALLOC)
			return fail(r, "heap block %p: invalid status %d", (void *)b, b->status);
		if (b->size % ALIGNMENT)
			return fail(r, "heap block %p: size %zu is not a multiple of 8", (void *)b,
				    b->size);
		if (b->size > brk_end - at - META_SIZE)
			return fail(r, "heap block %p: size %zu runs past the break %p", (void *)b,
				    b->size, (void *)brk_end);
		if (b->prev != prev)
			return fail(r, "heap block %p: prev is %p, expected %p", (void *)b,
				    (void *)b->prev, (void *)prev);
		if (b->status == STATUS_ALLOC) {
			uint32_t recorded = block_prev_free_word(b);
			bool prev_free = prev && prev->status == STATUS_FREE;

			if (recorded > 1)
				return fail(r, "heap block %p: the padding after its status is "
					    "neither 0 nor 1", (void *)b);
			if (recorded != prev_free)
				return fail(r, "heap block %p: its padding says the block before "
					    "it is %s, but it is %s", (void *)b,
					    recorded ? "FREE" : "not FREE",
					    prev_free ? "FREE" : "not FREE");
		}
		uintptr_t end = end_of(b);

		if (end == brk_end) {
			if (b->next)
				return fail(r, "heap block %p ends at the break but next is %p",
					    (void *)b, (void *)b->next);
			if (b != last)
				return fail(r, "last heap block is %p, the list says %p", (void *)b,
					    (void *)last);
		} else if ((uintptr_t)b->next != end) {
			return fail(r, "heap block %p (size %zu): next is %p, expected %p "
				    "(blocks must tile the heap without gaps)", (void *)b, b->size,
				    (void *)b->next, (void *)end);
		}
		prev = b;
		at = end;
	}
	return 0;
}

/*
 * The free index against the heap list (which check_heap_list proved sound): every run of one
 * FREE block is in the size-ordered index, every longer run is on the pending list by its
 * first block, and they hold nothing else.
 */
NO_SANITIZE static int check_free_index(struct report *r)
{
	size_t singles = 0, pending = 0;
	const char *why;

	for (const struct block_meta *b = block_list_first(); b; b = b->next) {
		if (b->status != STATUS_FREE || (b->prev && b->prev->status == STATUS_FREE))
			continue;
		if (b->next && b->next->status == STATUS_FREE)
			pending++;
		else
			singles++;
	}
	why = free_index_verify_singles(singles);
	if (!why)
		why = free_index_verify_pending(pending);
	if (why)
		return fail(r, "free index: %s", why);
	for (const struct block_meta *b = block_list_first(); b; b = b->next) {
		if (b->status != STATUS_FREE || (b->prev && b->prev->status == STATUS_FREE) ||
		    (b->next && b->next->status == STATUS_FREE))
			continue;
		if (!free_index_holds_single(b, singles))
			return fail(r, "free index: FREE block %p (size %zu) is missing from it",
				    (void *)b, b->size);
	}
	return 0;
}

/* Mapping [a, a + len) overlaps [b, b + blen). */
static bool overlaps(uintptr_t a, size_t len, uintptr_t b, size_t blen)
{
	return a < b + blen && b < a + len;
}

NO_SANITIZE static int check_registry(struct report *r, bool syscalls)
{
	uintptr_t page = (uintptr_t)getpagesize();
	uintptr_t start = heap_start(), heap_len = heap_break() - heap_start();
	const struct block_meta *prev = NULL;
	size_t count = 0;

	for (const struct block_meta *b = mapped_first(); b; prev = b, b = b->next) {
		uintptr_t a = (uintptr_t)b;

		if (++count > REGISTRY_LIMIT)
			return fail(r, "registry of mappings: more than %zu entries (a cycle?)",
				    REGISTRY_LIMIT);
		if (a % page)
			return fail(r, "mapped block %p is not page-aligned", (void *)b);
		if (start && overlaps(a, META_SIZE, start, heap_len))
			return fail(r, "mapped block %p lies inside the heap", (void *)b);
		if (syscalls && !range_mapped(a, META_SIZE))
			return fail(r, "mapped block %p: its header is not mapped", (void *)b);
		if (b->prev != prev)
			return fail(r, "mapped block %p: prev is %p, expected %p", (void *)b,
				    (void *)b->prev, (void *)prev);
		if (b->status != STATUS_MAPPED)
			return fail(r, "mapped block %p: status %d, expected MAPPED (%d)", (void *)b,
				    b->status, STATUS_MAPPED);
		if (b->size % ALIGNMENT || b->size > MAX_REQUEST)
			return fail(r, "mapped block %p: invalid size %zu", (void *)b, b->size);
		size_t len = META_SIZE + b->size;

		if (start && overlaps(a, len, start, heap_len))
			return fail(r, "mapped block %p (size %zu) overlaps the heap", (void *)b,
				    b->size);
		if (syscalls && !range_mapped(a, len))
			return fail(r, "mapped block %p (size %zu) is not entirely mapped",
				    (void *)b, b->size);
		/* Pairwise, against the entries already proved sound. */
		for (const struct block_meta *o = mapped_first(); o != b; o = o->next)
			if (overlaps(a, len, (uintptr_t)o, META_SIZE + o->size))
				return fail(r, "mapped blocks %p and %p overlap", (void *)o,
					    (void *)b);
	}
	const char *why = mapped_verify_set(count);

	return why ? fail(r, "registry of mappings: %s", why) : 0;
}

static int check_all(char *why, size_t why_len, bool syscalls)
{
	ANNOTATE_CALL();
	struct report r = { why, why_len };

	if (why && why_len)
		why[0] = '\0';
	if (check_heap_list(&r) || check_free_index(&r) || check_registry(&r, syscalls))
		return 1;
	if (syscalls && heap_start() && !range_mapped(heap_start(), heap_break() - heap_start()))
		return fail(&r, "the heap [%p, %p) is not entirely mapped", (void *)heap_start(),
			    (void *)heap_break());
	return 0;
}

int osmem_check_heap(char *why, size_t why_len)
{
	int saved_errno = errno;
	int result = check_all(why, why_len, true);

	errno = saved_errno;
	return result;
}

static uint64_t mix(uint64_t hash, uint64_t value)
{
	for (int i = 0; i < 8; i++, value >>= 8)
		hash = (hash ^ (value & 0xff)) * 0x100000001b3ULL;
	return hash;
}

/* Only meaningful on a sound heap: call osmem_check_heap() first. */
NO_SANITIZE uint64_t osmem_heap_digest(void)
{
	ANNOTATE_CALL();
	uint64_t hash = 0xcbf29ce484222325ULL;

	hash = mix(hash, heap_start());
	hash = mix(hash, heap_break());
	for (const struct block_meta *b = block_list_first(); b; b = b->next) {
		hash = mix(hash, (uintptr_t)b);
		hash = mix(hash, b->size);
		hash = mix(hash, (uint64_t)b->status);
	}
	hash = mix(hash, 0);
	for (const struct block_meta *b = mapped_first(); b; b = b->next) {
		hash = mix(hash, (uintptr_t)b);
		hash = mix(hash, b->size);
		hash = mix(hash, (uint64_t)b->status);
	}
	return hash;
}

/* Read once, on the first call; getenv neither allocates nor makes syscalls. */
int osmem_check_mode = -1;

void osmem_check_now(const char *const *function)
{
	if (osmem_check_mode < 0) {
		const char *value = getenv("OSMEM_CHECK");

		osmem_check_mode = value && value[0] == '1' && value[1] == '\0';
	}
	if (!osmem_check_mode)
		return;

	char why[256];
	int saved_errno = errno;

	if (check_all(why, sizeof(why), false)) {
		osmem_dprintf(STDERR_FILENO, "%s(): heap check failed: %s\n", *function, why);
		abort();
	}
	errno = saved_errno;
}
