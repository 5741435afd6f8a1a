/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared helpers of the osmem test programs (tests/NAME.c). Header-only: every program is a
 * single translation unit, so everything here is static.
 *
 * Rules every program follows (the checker compares the exact ltrace/strace trace):
 *   - no stdio, no libc malloc or anything that may allocate (it would move the program
 *     break): output only through write()/osmem_dprintf();
 *   - os_* are called directly (through the PLT), never through function pointers;
 *   - the sequence of os_* calls and their arguments depends only on the program, never on
 *     the addresses returned (those are only passed back and checked).
 *
 * What the programs check themselves (the trace cannot show it): payload alignment, calloc
 * zeroing, the contents kept by realloc, and that no two live blocks overlap (rule 21): every
 * allocation is filled with a pattern derived from a unique id and the pattern is verified
 * before the block is freed or reallocated, and at the end. The block_meta header (its size,
 * its status, FREE blocks where the splits put them: rules 22-24) is checked only in the
 * layout profile (OSMEM_PROFILE=layout in the environment, set by `make check
 * PROFILE=layout`): the default profile grades what the trace, the returned addresses and the
 * memory show, and never reads a header.
 * On a violation a program writes one line to stderr, ending with the rule its check stands
 * for ("[rule 22]"), and exits with status 1.
 *
 * Most programs begin with start_from_known_heap() (below): one known heap state, so that a
 * bug in the very first allocation costs only the programs about the preallocation.
 *
 * Two layers:
 *   - plain helpers (die() from die.h): fill_pattern(), check_pattern(), check_zero(), hdr(), ...
 *   - tracked slots: T_malloc(i, n), T_calloc(i, nmemb, size), T_realloc(i, n), T_free(i)
 *     make the os_* call for slot i, check the result against the contract's classification
 *     (heap or mapped, header, alignment, zeroing, kept contents), and keep the slot filled
 *     with its pattern. expect_at()/expect_size()/expect_free_at() pin down the exact
 *     layout where a scenario depends on it (offsets are relative to HeapStart, the start
 *     of the heap, learnt from the first heap block: it is always at HeapStart).
 */
#ifndef OSMEM_TESTS_COMMON_H
#define OSMEM_TESTS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_meta.h"
#include "die.h"
#include "osmem.h"
#include "printf.h"

/* ---- completion report ---------------------------------------------------------------- */

/*
 * A program passes only if its main() finished: every os_* call it makes is counted (the
 * macros below wrap each call site; a macro does not expand inside its own expansion, so the
 * call itself is the real function), and finish() reports the count as the program's last act:
 * "osmem:finished N" written to fd -1 (EBADF, no effect) by the program's own syscall
 * instruction. The checker cross-checks the report with the trace (N top-level calls, written
 * from outside the graded library): a library that exits from a constructor or from inside a
 * call, or writes the report itself, gets nothing.
 */
static unsigned long g_os_calls;

#define os_malloc(size)         (g_os_calls++, os_malloc(size))
#define os_calloc(nmemb, size)  (g_os_calls++, os_calloc(nmemb, size))
#define os_realloc(ptr, size)   (g_os_calls++, os_realloc(ptr, size))
#define os_free(ptr)            (g_os_calls++, os_free(ptr))

static inline void report_completion(void)
{
	char text[48];
	long len = osmem_snprintf(text, sizeof(text), "osmem:finished %lu", g_os_calls);
	long ret;

#if defined(__x86_64__)
	__asm__ volatile ("syscall"
			  : "=a"(ret)
			  : "0"(1L /* SYS_write */), "D"(-1L), "S"(text), "d"(len)
			  : "rcx", "r11", "memory");
#else
#error "the completion report is a raw write() syscall, written for x86_64"
#endif
	(void)ret;
}

/* ---- contract constants -------------------------------------------------------------- */

#define META           32UL
#define ALIGN8(n)      (((size_t)(n) + 7) & ~(size_t)7)
#define MMAP_THRESHOLD (128UL * 1024)        /* rule 5: mmap iff META + need >= this */
#define PAGE           4096UL                /* rule 6: calloc threshold */
#define PREALLOC       (128UL * 1024)        /* rule 2: first heap use */
#define PREALLOC_FREE  (PREALLOC - META)     /* the one FREE block it makes: 131040 */
#define MIN_SPLIT      (META + 8)            /* rule 10: split iff size - need >= 40 */

/* Largest heap request for malloc/realloc, smallest mapped one. */
#define MALLOC_HEAP_MAX (MMAP_THRESHOLD - META - 8)      /* 131032 */
/* Largest heap total for calloc: 32 + ALIGN8(4056) = 4088 < 4096; 4057 maps. */
#define CALLOC_HEAP_MAX (PAGE - META - 8)                /* 4056 */

/* ---- reporting ----------------------------------------------------------------------- */

/* die() and die_context() are in die.h. */

/* ---- patterns ------------------------------------------------------------------------ */

/* Byte i of the pattern of block `id`: never 0 (so that zeroing is visible), and different
 * ids give different sequences (so that overlapping blocks are caught). */
static inline unsigned char pattern_byte(unsigned id, size_t i)
{
	uint32_t h = (uint32_t)id * 2654435761u ^ (uint32_t)(i * 40503u + (i >> 8) * 131u);

	h ^= h >> 13;
	return (unsigned char)(h % 255 + 1);
}

static inline void fill_pattern(void *p, size_t n, unsigned id)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		c[i] = pattern_byte(id, i);
}

/* what: the scenario step, for the message. */
static inline void check_pattern(const char *what, const void *p, size_t n, unsigned id)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != pattern_byte(id, i))
			die("%s: byte %zu of block %u is 0x%02x, expected 0x%02x (its contents were "
			    "overwritten: overlapping blocks or a bad copy) [rule 21]",
			    what, i, id, c[i], pattern_byte(id, i));
}

static inline void check_zero(const char *what, const void *p, size_t n, unsigned id)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != 0)
			die("%s: byte %zu of block %u is 0x%02x, expected 0 (calloc memory must be zero) "
			    "[rule 21]",
			    what, i, id, c[i]);
}

static inline void dirty(void *p, size_t n)
{
	memset(p, 0x5a, n);
}

/* ---- headers (checked in the layout profile only) ----------------------------------- */

/* 1 when the header contents are graded (OSMEM_PROFILE=layout), else 0. */
static inline int layout_profile(void)
{
	static int profile = -1;

	if (profile < 0) {
		const char *name = getenv("OSMEM_PROFILE");

		profile = name && strcmp(name, "layout") == 0;
	}
	return profile;
}

static inline struct block_meta *hdr(const void *p)
{
	return (struct block_meta *)p - 1;
}

static inline const char *status_name(int s)
{
	switch (s) {
	case STATUS_FREE: return "STATUS_FREE";
	case STATUS_ALLOC: return "STATUS_ALLOC";
	case STATUS_MAPPED: return "STATUS_MAPPED";
	default: return "an unknown status";
	}
}

static inline void check_aligned(const char *what, const void *p)
{
	if ((uintptr_t)p & 7)
		die("%s: returned %p, which is not 8-byte aligned [rule 21]", what, p);
}

static inline void check_status(const char *what, const void *p, int status)
{
	int s;

	if (!layout_profile())
		return;
	s = hdr(p)->status;
	if (s != status)
		die("%s: header status is %d (%s), expected %d (%s) [rule 23]", what, s,
		    status_name(s), status, status_name(status));
}

static inline void check_hdr_size(const char *what, const void *p, size_t size)
{
	size_t s;

	if (!layout_profile())
		return;
	s = hdr(p)->size;
	if (s != size)
		die("%s: header size is %zu, expected %zu [rule 22]", what, s, size);
}

/* ---- heap offsets -------------------------------------------------------------------- */

/* HeapStart, learnt from the first heap block a program gets (rule 2: it starts there). */
static char *g_heap0;

static inline void note_heap(const void *p)
{
	if (!g_heap0)
		g_heap0 = (char *)hdr(p);
}

/* Offset of a payload from HeapStart, as in the refs ("HeapStart + 0x20" -> 0x20). */
static inline long heap_off(const void *p)
{
	return (long)((const char *)p - g_heap0);
}

/* ---- tracked slots ------------------------------------------------------------------- */

enum kind { K_NONE, K_HEAP, K_MAPPED };

struct slot {
	char *p;
	size_t n;     /* bytes requested (and filled with the pattern) */
	unsigned id;  /* pattern id */
	enum kind kind;
};

#define MAX_SLOTS 256
static struct slot g_slot[MAX_SLOTS];
static unsigned g_next_id = 1;

static inline struct slot *slot_of(int i)
{
	if (i < 0 || i >= MAX_SLOTS)
		die("internal: slot %d out of range", i);
	return &g_slot[i];
}

static inline void *P(int i)
{
	return slot_of(i)->p;
}

static inline int malloc_maps(size_t n)
{
	return META + ALIGN8(n) >= MMAP_THRESHOLD;
}

static inline int calloc_maps(size_t total)
{
	return META + ALIGN8(total) >= PAGE;
}

/* Checks a fresh (or moved) block of `n` requested bytes against its expected kind. */
static inline void check_block(const char *what, int i, void *p, size_t n, enum kind k)
{
	size_t need = ALIGN8(n);

	if (!p)
		die("%s: slot %d: returned NULL for %zu bytes", what, i, n);
	check_aligned(what, p);
	if (k == K_MAPPED) {
		check_status(what, p, STATUS_MAPPED);
		check_hdr_size(what, p, need);
	} else {
		size_t s = hdr(p)->size;

		check_status(what, p, STATUS_ALLOC);
		note_heap(p);
		/* rule 22: a heap block keeps need, or need plus a remainder too small to split
		 * (short: the score table shows this message) */
		if (layout_profile() && (s < need || s - need >= MIN_SPLIT || (s & 7)))
			die("%s: header size %zu, expected %zu..%zu [rule 22]", what, s, need,
			    need + MIN_SPLIT - 8);
	}
}

static inline void verify(const char *what, int i)
{
	struct slot *s = slot_of(i);

	if (s->kind != K_NONE)
		check_pattern(what, s->p, s->n, s->id);
}

/* Rule 24 (layout profile): the heap list starts at HeapStart and links the blocks in address
 * order, each `next` right after its block's payload and pointing back with `prev`. */
static inline void check_heap_list(const char *what)
{
	const struct block_meta *b = (const struct block_meta *)g_heap0;
	long steps = 0;

	if (!layout_profile() || !b)
		return;
	for (; b->next; b = b->next) {
		const char *after = (const char *)b + META + b->size;

		if ((const char *)b->next != after)
			die("%s: the heap list goes from the block at HeapStart + 0x%lx (size %zu) to "
			    "HeapStart + 0x%lx, expected HeapStart + 0x%lx, the next address [rule 24]",
			    what, heap_off(b + 1), b->size, heap_off(b->next + 1), heap_off(after + META));
		if (b->next->prev != b)
			die("%s: the block at HeapStart + 0x%lx does not point back (prev) to the one "
			    "before it [rule 24]", what, heap_off(b->next + 1));
		if (++steps > (1L << 22))
			die("%s: the heap list does not end [rule 24]", what);
	}
}

static inline void verify_all(const char *what)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		verify(what, i);
	check_heap_list(what);
}

static inline void track(int i, void *p, size_t n, enum kind k)
{
	struct slot *s = slot_of(i);

	s->p = p;
	s->n = n;
	s->kind = k;
	s->id = g_next_id++;
	fill_pattern(p, n, s->id);
}

static inline void *T_malloc(int i, size_t n)
{
	struct slot *s = slot_of(i);
	char what[64];
	void *p;

	if (s->kind != K_NONE)
		die("internal: slot %d is in use", i);
	osmem_snprintf(what, sizeof(what), "os_malloc(%zu) [slot %d]", n, i);
	p = os_malloc(n);
	if (n == 0) {
		if (p)
			die("%s: returned %p, expected NULL", what, p);
		return NULL;
	}
	check_block(what, i, p, n, malloc_maps(n) ? K_MAPPED : K_HEAP);
	track(i, p, n, malloc_maps(n) ? K_MAPPED : K_HEAP);
	return p;
}

static inline void *T_calloc(int i, size_t nmemb, size_t size)
{
	struct slot *s = slot_of(i);
	size_t total = nmemb * size;
	char what[80];
	enum kind k;
	void *p;

	if (s->kind != K_NONE)
		die("internal: slot %d is in use", i);
	osmem_snprintf(what, sizeof(what), "os_calloc(%zu, %zu) [slot %d]", nmemb, size, i);
	p = os_calloc(nmemb, size);
	if (total == 0) {
		if (p)
			die("%s: returned %p, expected NULL", what, p);
		return NULL;
	}
	k = calloc_maps(total) ? K_MAPPED : K_HEAP;
	check_block(what, i, p, total, k);
	check_zero(what, p, total, g_next_id);
	track(i, p, total, k);
	return p;
}

/* os_realloc(P(i), n); with an empty slot this is os_realloc(NULL, n). */
static inline void *T_realloc(int i, size_t n)
{
	struct slot *s = slot_of(i);
	struct slot old = *s;
	char what[64];
	void *p;

	osmem_snprintf(what, sizeof(what), "os_realloc(slot %d, %zu)", i, n);
	if (old.kind != K_NONE)
		check_pattern(what, old.p, old.n, old.id);
	p = os_realloc(old.p, n);
	if (n == 0) {
		if (p)
			die("%s: returned %p, expected NULL", what, p);
		if (old.kind == K_HEAP)
			check_status("os_realloc(ptr, 0) frees: the old block", old.p, STATUS_FREE);
		s->kind = K_NONE;
		s->p = NULL;
		return NULL;
	}
	check_block(what, i, p, n, malloc_maps(n) ? K_MAPPED : K_HEAP);
	if (old.kind != K_NONE) {
		size_t keep = old.n < n ? old.n : n;

		check_pattern(what, p, keep, old.id);
		/* a moved heap block is freed (rule 20, rule 16) */
		if (old.kind == K_HEAP && p != old.p)
			check_status("os_realloc moved the block: the old block", old.p, STATUS_FREE);
	}
	track(i, p, n, malloc_maps(n) ? K_MAPPED : K_HEAP);
	return p;
}

static inline void T_free(int i)
{
	struct slot *s = slot_of(i);
	char what[48];

	osmem_snprintf(what, sizeof(what), "os_free(slot %d)", i);
	verify(what, i);
	os_free(s->p);
	if (s->kind == K_HEAP)
		check_status(what, s->p, STATUS_FREE);
	s->kind = K_NONE;
	s->p = NULL;
}

/* ---- exact layout expectations ------------------------------------------------------- */

/* Slot i's payload is at HeapStart + off (as the refs write it). */
static inline void expect_at(int i, long off)
{
	struct slot *s = slot_of(i);

	if (s->kind != K_HEAP)
		die("slot %d: expected a heap block at HeapStart + 0x%lx, but it is %s", i, off,
		    s->kind == K_MAPPED ? "a mapped block" : "empty");
	if (heap_off(s->p) != off)
		die("slot %d: payload at HeapStart + 0x%lx, expected HeapStart + 0x%lx", i,
		    heap_off(s->p), off);
}

/* Slot i's header size is exactly size (the split/no-split outcome). */
static inline void expect_size(int i, size_t size)
{
	char what[32];

	osmem_snprintf(what, sizeof(what), "slot %d", i);
	check_hdr_size(what, slot_of(i)->p, size);
}

/* A FREE block with payload size `size` has its payload at HeapStart + off (rule 24: FREE
 * blocks stay where the splits put them, unmerged until the next search). */
static inline void expect_free_at(long off, size_t size)
{
	const struct block_meta *b;

	if (!layout_profile())
		return;
	if (!g_heap0)
		die("internal: no heap yet");
	b = (const struct block_meta *)(g_heap0 + off) - 1;
	if (b->status != STATUS_FREE || b->size != size)
		die("the block at HeapStart + 0x%lx: header says %s, size %zu; expected STATUS_FREE, "
		    "size %zu [rule 24]", off, status_name(b->status), b->size, size);
}

/* The FREE block whose payload is p still has its own header, FREE with payload size `size`
 * (rule 24: os_free and os_realloc of a FREE block change nothing, merge nothing). */
static inline void expect_free_block(const char *what, const void *p, size_t size)
{
	if (!layout_profile())
		return;
	if (hdr(p)->status != STATUS_FREE || hdr(p)->size != size)
		die("%s: header says %s, size %zu; expected STATUS_FREE, size %zu [rule 24]", what,
		    status_name(hdr(p)->status), hdr(p)->size, size);
}

/*
 * The known heap state most programs start from: the preallocation done (rule 2) and the heap
 * one FREE block of 131040 bytes at HeapStart, as after the first heap use but with no block
 * split off. os_malloc(131032) takes the whole preallocated block (its remainder, 8, is too
 * small to split: rule 10) and os_free gives it back (rule 13). In the refs these are the
 * first two calls:
 *     os_malloc(131032) = HeapStart + 0x20     brk(0); brk(HeapStart + 0x20000)
 *     os_free(HeapStart + 0x20)
 * Only the programs about the preallocation itself (*-preallocate, *-no-preallocate,
 * realloc-mmap-to-heap) start from an empty heap instead. No header is checked here, even in
 * the layout profile: a header bug then costs the programs whose own checks catch it.
 */
static inline void start_from_known_heap(void)
{
	const char *what = "start_from_known_heap: os_malloc(131032)";
	void *p = os_malloc(MALLOC_HEAP_MAX);

	if (!p)
		die("%s returned NULL", what);
	check_aligned(what, p);
	note_heap(p);
	os_free(p);
}

/* The end of a program: everything still live must be intact. */
static inline int finish(void)
{
	verify_all("at exit");
	report_completion();
	return 0;
}

#endif /* OSMEM_TESTS_COMMON_H */
