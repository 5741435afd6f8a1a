// SPDX-License-Identifier: BSD-3-Clause
/*
 * osmem, an independent implementation written only from the contract, as a
 * second opinion on the checker: it must score exactly what src/ scores.
 *
 * Design: the heap is an *implicit* list. Blocks are found by address arithmetic
 * (next header = header + 32 + size), never by following pointers; prev/next are only
 * kept up to date for programs that read the header. Every operation is done in three
 * steps: plan (read-only), the one syscall it needs, commit. So a failed syscall has
 * nothing to undo.
 *
 * Invariants
 *  I1  heap_lo == NULL until the first heap use succeeds. From then on the heap blocks
 *      tile [heap_lo, heap_hi) without gaps: the first header is at heap_lo, each next one
 *      at (char *)b + 32 + b->size, and heap_hi is the program break this library last set.
 *  I2  Heap blocks are STATUS_FREE or STATUS_ALLOC; their prev/next equal their address
 *      neighbours (NULL at both ends) whenever an os_* call returns.
 *  I3  A mapped block is a whole mapping of 32 + size bytes with status STATUS_MAPPED and
 *      prev == next == NULL; it is never in the heap.
 *  I4  Every size is a multiple of 8, so every payload is 8-byte aligned.
 *  I5  Nothing in the heap is written before the syscall a step needs has succeeded. The
 *      one exception is realloc's absorption of free successors, which only changes the
 *      block's size field and is rolled back if the rest of the realloc fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "osmem.h"
#include "block_meta.h"

#define META        ((size_t)32)
#define PREALLOC    ((size_t)0x20000)  /* the first heap use: one 128 KiB brk */
#define MMAP_LIMIT  ((size_t)0x20000)  /* malloc/realloc map from this block size on */
#define MIN_REST    (META + 8)         /* smallest remainder worth a block of its own */

static char *heap_lo, *heap_hi;

static void *payload(struct block_meta *b)
{
	return (char *)b + META;
}

static struct block_meta *header(void *ptr)
{
	return (struct block_meta *)((char *)ptr - META);
}

/* The heap block right after b, or NULL when b ends at the break (I1). */
static struct block_meta *after(struct block_meta *b)
{
	char *n = (char *)b + META + b->size;

	return n < heap_hi ? (struct block_meta *)n : NULL;
}

static struct block_meta *first(void)
{
	return heap_lo < heap_hi ? (struct block_meta *)heap_lo : NULL;
}

/* Restore I2 between b and its address successor. */
static void relink(struct block_meta *b)
{
	b->next = after(b);
	if (b->next)
		b->next->prev = b;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* *need = ALIGN8(size); 0 when that overflows. */
static int align8(size_t size, size_t *need)
{
	if (size > SIZE_MAX - 7)
		return 0;
	*need = (size + 7) & ~(size_t)7;
	return 1;
}

static void *out_of_memory(void)
{
	errno = ENOMEM;
	return NULL;
}

/* Move the break to `to` (one raw brk). The kernel answers with the break it kept. */
static int set_break(char *to)
{
	return (char *)syscall(SYS_brk, to) == to;
}

static struct block_meta *map_block(size_t need)
{
	struct block_meta *b;
	void *m;

	if (need > SIZE_MAX - META)
		return out_of_memory();
	m = mmap(NULL, META + need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return out_of_memory();
	b = m;
	b->size = need;
	b->status = STATUS_MAPPED;
	b->prev = NULL;
	b->next = NULL;
	return b;
}

/* Rule 10: keep `need` bytes in b, give a remainder of at least 40 bytes its own FREE block. */
static void carve(struct block_meta *b, size_t need)
{
	if (b->size - need >= MIN_REST) {
		struct block_meta *rest = (struct block_meta *)((char *)b + META + need);

		rest->size = b->size - need - META;
		rest->status = STATUS_FREE;
		b->size = need;
		rest->prev = b;
		relink(rest);
	}
	relink(b);
}

/* Rule 8: every maximal run of FREE blocks becomes its first block. */
static void coalesce_all(void)
{
	struct block_meta *b, *c;

	for (b = first(); b; b = after(b)) {
		if (b->status != STATUS_FREE)
			continue;
		while ((c = after(b)) && c->status == STATUS_FREE)
			b->size += META + c->size;
		relink(b);
	}
}

/* Rule 2: brk(0), then brk(HeapStart + 128 KiB); the heap becomes one FREE block. */
static int first_heap_use(void)
{
	char *lo = (char *)syscall(SYS_brk, 0);
	struct block_meta *b;

	if (!set_break(lo + PREALLOC))
		return 0;
	heap_lo = lo;
	heap_hi = lo + PREALLOC;
	b = (struct block_meta *)lo;
	b->size = PREALLOC - META;
	b->status = STATUS_FREE;
	b->prev = NULL;
	b->next = NULL;
	return 1;
}

/* Rules 8-12: an ALLOC heap block of at least `need` bytes, or NULL with errno = ENOMEM. */
static struct block_meta *heap_take(size_t need)
{
	struct block_meta *b, *c, *best = NULL, *tail = NULL, *last = NULL;
	size_t span, best_span = 0, tail_span = 0;
	char *to;

	if (!heap_lo && !first_heap_use())
		return out_of_memory();

	/* Plan: look at the FREE runs as they will be once coalesced, without merging yet. */
	for (b = first(); b; b = c) {
		last = b;
		c = after(b);
		if (b->status != STATUS_FREE)
			continue;
		span = b->size;
		for (; c && c->status == STATUS_FREE; c = after(c))
			span += META + c->size;
		if (span >= need && (!best || span < best_span)) {
			best = b;
			best_span = span;
		}
		if (!c) {
			tail = b;
			tail_span = span;
		}
	}

	if (best) {                                     /* rules 9, 10 */
		coalesce_all();
		carve(best, need);
		best->status = STATUS_ALLOC;
		return best;
	}

	/* Rule 11 grows the FREE tail run to exactly need; rule 12 appends a block. */
	to = tail ? heap_hi + (need - tail_span) : heap_hi + META + need;
	if (!set_break(to))
		return out_of_memory();
	coalesce_all();                                 /* still bounded by the old break */
	if (tail) {
		b = tail;
	} else {
		b = (struct block_meta *)heap_hi;
		b->prev = last;
	}
	b->size = need;
	b->status = STATUS_ALLOC;
	heap_hi = to;
	if (b->prev)
		relink(b->prev);
	relink(b);
	return b;
}

/* A new block for `size` bytes (> 0): mapped when 32 + ALIGN8(size) >= limit, else heap. */
static struct block_meta *obtain(size_t size, size_t limit)
{
	size_t need;

	if (!align8(size, &need))
		return out_of_memory();
	if (need >= limit - META)
		return map_block(need);
	return heap_take(need);
}

void *os_malloc(size_t size)
{
	struct block_meta *b;

	if (size == 0)
		return NULL;
	b = obtain(size, MMAP_LIMIT);
	return b ? payload(b) : NULL;
}

void *os_calloc(size_t nmemb, size_t size)
{
	struct block_meta *b;

	if (nmemb == 0 || size == 0)
		return NULL;
	if (nmemb > SIZE_MAX / size)
		return out_of_memory();
	b = obtain(nmemb * size, (size_t)getpagesize());
	if (!b)
		return NULL;
	if (b->status == STATUS_ALLOC)          /* a fresh mapping is already zero */
		memset(payload(b), 0, b->size);
	return payload(b);
}

void os_free(void *ptr)
{
	struct block_meta *b;

	if (!ptr)
		return;
	b = header(ptr);
	if (b->status == STATUS_MAPPED)
		munmap(b, META + b->size);
	else if (b->status == STATUS_ALLOC)
		b->status = STATUS_FREE;            /* no merging here (rule 13) */
}

void *os_realloc(void *ptr, size_t size)
{
	struct block_meta *b, *c, *n;
	size_t need, old;
	char *to;

	if (!ptr)
		return os_malloc(size);
	if (size == 0) {
		os_free(ptr);
		return NULL;
	}
	b = header(ptr);
	if (b->status == STATUS_FREE)
		return NULL;

	if (b->status == STATUS_MAPPED) {       /* rule 15: new block first, munmap last */
		n = obtain(size, MMAP_LIMIT);
		if (!n)
			return NULL;
		memcpy(payload(n), ptr, min_size(b->size, size));
		munmap(b, META + b->size);
		return payload(n);
	}

	if (!align8(size, &need))
		return out_of_memory();
	if (need >= MMAP_LIMIT - META) {        /* rule 16 */
		n = map_block(need);
		if (!n)
			return NULL;
		memcpy(payload(n), ptr, min_size(b->size, size));
		b->status = STATUS_FREE;
		return payload(n);
	}

	if (need <= b->size) {                  /* rule 17 */
		carve(b, need);
		return ptr;
	}

	old = b->size;                          /* rule 18: absorb FREE successors */
	while (b->size < need && (c = after(b)) && c->status == STATUS_FREE)
		b->size += META + c->size;
	if (b->size >= need) {
		carve(b, need);
		return ptr;
	}

	if (!after(b)) {                        /* rule 19 */
		to = heap_hi + (need - b->size);
		if (!set_break(to)) {
			b->size = old;
			return out_of_memory();
		}
		b->size = need;
		heap_hi = to;
		relink(b);
		return ptr;
	}

	n = heap_take(need);                    /* rule 20: b is still ALLOC meanwhile */
	if (!n) {
		b->size = old;
		return NULL;
	}
	memcpy(payload(n), ptr, min_size(old, size));
	b->status = STATUS_FREE;
	relink(b);
	return payload(n);
}
