/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Annotations: what valgrind's memcheck and ASan are told about the allocator's memory.
 *
 * Built three ways; the graded build (plain `make`) is the first, where every macro below is a
 * no-op (an expression macro yields its argument), so the code and the syscall trace are
 * exactly those of the unannotated library:
 *   - default:          no annotations;
 *   - -DOSMEM_VALGRIND:  valgrind client requests (<valgrind/memcheck.h>), `make memcheck`;
 *   - ASan (gcc's __SANITIZE_ADDRESS__ or clang's address_sanitizer feature): manual
 *                        poisoning (<sanitizer/asan_interface.h>), `make asan`, `make fuzz-lib`.
 *
 * The state both tools are given, between two os_* calls:
 *   - every header (heap and mapped) is inaccessible: a program writing into a neighbour's
 *     header, or before its own payload, is reported;
 *   - the payload of a FREE heap block is inaccessible: use after free is reported;
 *   - an ALLOC payload, or a mapped one, is accessible for exactly its header's `size` bytes.
 *     For memcheck it is a client block (MALLOCLIKE / FREELIKE / RESIZEINPLACE), so it also
 *     takes part in the leak check, and os_malloc memory is undefined until written (calloc
 *     memory is defined).
 *
 * The allocator's own accesses stay legal without touching its code: every public os_* call
 * opens the headers (and the free payloads it may split or absorb, defined for memcheck:
 * the free index keeps its links there, free_index.c) when it starts, through
 * ANNOTATE_CALL(), and a cleanup handler closes them again from the heap list and the mapped
 * registry when it returns, whatever path it returns by. Nested calls (os_realloc calling
 * os_malloc or os_free) only count a depth. This costs O(blocks) per call, in these builds only.
 *
 * Test programs read their block's header on purpose (the contract lets them): those reads are
 * exempted by the tools' own means, not here (checker/memcheck.supp; the ASan ignorelist).
 */
#ifndef OSMEM_ANNOTATE_H
#define OSMEM_ANNOTATE_H

#include "osmem_internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

#if defined(OSMEM_VALGRIND) && defined(__SANITIZE_ADDRESS__)
#error "annotate.h: choose valgrind (-DOSMEM_VALGRIND) or ASan, not both"
#endif

#if defined(OSMEM_VALGRIND) || defined(__SANITIZE_ADDRESS__)
#define OSMEM_ANNOTATE 1

#ifdef OSMEM_VALGRIND
#include <valgrind/memcheck.h>
#define ANN_HDR_OPEN(b)        VALGRIND_MAKE_MEM_DEFINED((b), META_SIZE)
#define ANN_HDR_CLOSE(b)       VALGRIND_MAKE_MEM_NOACCESS((b), META_SIZE)
#define ANN_FREE_OPEN(p, n)    VALGRIND_MAKE_MEM_DEFINED((p), (n))
#define ANN_FREE_CLOSE(p, n)   VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define ANN_LIVE(p, n)         ((void)(p), (void)(n))  /* client blocks: see below */
#else
#include <sanitizer/asan_interface.h>
#define ANN_HDR_OPEN(b)        ASAN_UNPOISON_MEMORY_REGION((b), META_SIZE)
#define ANN_HDR_CLOSE(b)       ASAN_POISON_MEMORY_REGION((b), META_SIZE)
#define ANN_FREE_OPEN(p, n)    ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define ANN_FREE_CLOSE(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define ANN_LIVE(p, n)         ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif

static int annotate_depth;

static inline int annotate_enter(void)
{
	if (annotate_depth++)
		return 0;
	for (struct block_meta *b = block_list_first(); b; b = b->next) {
		ANN_HDR_OPEN(b);
		if (b->status == STATUS_FREE)
			ANN_FREE_OPEN(payload_of(b), b->size);
	}
	for (struct block_meta *b = mapped_first(); b; b = b->next)
		ANN_HDR_OPEN(b);
	return 0;
}

static inline void annotate_leave(int *unused)
{
	(void)unused;
	if (--annotate_depth)
		return;
	/* A header made inside a payload this call (a split) may be closed by now: reopen. */
	for (struct block_meta *b = block_list_first(), *next; b; b = next) {
		ANN_HDR_OPEN(b);
		void *payload = payload_of(b);
		size_t size = b->size;
		int status = b->status;

		next = b->next;
		ANN_HDR_CLOSE(b);
		if (status == STATUS_FREE)
			ANN_FREE_CLOSE(payload, size);
		else
			ANN_LIVE(payload, size);
	}
	for (struct block_meta *b = mapped_first(), *next; b; b = next) {
		void *payload = payload_of(b);
		size_t size = b->size;

		next = b->next;
		ANN_HDR_CLOSE(b);
		ANN_LIVE(payload, size);
	}
}

/* First statement of a public os_* call that touches blocks: open now, close on return. */
#define ANNOTATE_CALL() \
	int osmem_annotate_scope_ __attribute__((cleanup(annotate_leave), unused)) = \
		annotate_enter()

#ifdef OSMEM_VALGRIND
/* p (a payload or NULL) was just handed out; yields p. Size: its header's. */
static inline void *annotate_malloc(void *p, bool zeroed)
{
	if (p)
		VALGRIND_MALLOCLIKE_BLOCK(p, block_of(p)->size, 0, zeroed);
	return p;
}

/* p's block, `old_size` bytes before, now has its header's size, in place; yields p. */
static inline void *annotate_resize(void *p, size_t old_size)
{
	VALGRIND_RESIZEINPLACE_BLOCK(p, old_size, block_of(p)->size, 0);
	return p;
}

#define ANNOTATE_MALLOC(p, zeroed)   annotate_malloc((p), (zeroed))
#define ANNOTATE_RESIZE(p, old_size) annotate_resize((p), (old_size))
#define ANNOTATE_FREE(p)             VALGRIND_FREELIKE_BLOCK((p), 0)
#define ANNOTATE_UNMAP(block)        ((void)0)
#else
#define ANNOTATE_MALLOC(p, zeroed)   (p)
#define ANNOTATE_RESIZE(p, old_size) (p)
#define ANNOTATE_FREE(p)             ((void)0)
/* ASan's shadow outlives a mapping: leave none of our poison behind for the next mmap. */
#define ANNOTATE_UNMAP(block) \
	ASAN_UNPOISON_MEMORY_REGION((block), META_SIZE + (block)->size)
#endif

#else /* the graded build */

#define ANNOTATE_CALL()              do { } while (0)
#define ANNOTATE_MALLOC(p, zeroed)   (p)
#define ANNOTATE_RESIZE(p, old_size) (p)
#define ANNOTATE_FREE(p)             ((void)0)
#define ANNOTATE_UNMAP(block)        ((void)0)

#endif

#endif /* OSMEM_ANNOTATE_H */
