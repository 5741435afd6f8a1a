// SPDX-License-Identifier: BSD-3-Clause
/*
 * The API: os_malloc, os_calloc, os_realloc, os_free.
 *
 * This file classifies each request (zero, heap or mapped), validates pointers, and runs the
 * rules of the contract in their order; the block list, heap, index and mappings do the rest.
 *
 * Invariants kept by every function here:
 *   - a call that fails returns NULL with errno == ENOMEM (EINVAL for a freed block given to
 *     os_realloc) and leaves every block and the break as they were;
 *   - a pointer is only dereferenced after it is known to be a block we handed out: inside
 *     the heap and linked from its neighbours, or registered as a live mapping. Anything else
 *     is reported on stderr and the process aborts, as glibc does for invalid pointers;
 *   - no libc allocation and no stdio: messages go through the heap-free printf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "osmem.h"
#include "annotate.h"
#include "osmem_internal.h"
#include "printf.h"

static bool needs_mapping(size_t need, size_t threshold)
{
	return META_SIZE + need >= threshold;
}

/* Rules 8-12: coalesce, best fit, split; else grow a free last block; else append. */
static struct block_meta *heap_alloc(size_t need)
{
	if (!heap_prepare())
		return NULL;

	struct free_run fit = free_index_best_fit(need);
	struct block_meta *block;

	if (fit.first) {
		block_list_coalesce();
		block = fit.first;
		block_take(block);
		block_split_run(block, need);
	} else {
		struct free_run tail = free_index_last_run();
		uintptr_t old_break;

		if (tail.first) {
			if (!heap_extend(need - tail.size, &old_break))
				return NULL;
			block_list_coalesce();
			block = tail.first;
			block_take(block);
			block->size = need;
		} else {
			if (!heap_extend(META_SIZE + need, &old_break))
				return NULL;
			block_list_coalesce();
			block = (struct block_meta *)old_break;
			block_list_append(block, need, STATUS_ALLOC);
		}
	}
	block->status = STATUS_ALLOC;
	return block;
}

static struct block_meta *alloc_block(size_t need, size_t mmap_threshold)
{
	return needs_mapping(need, mmap_threshold) ? mapped_alloc(need) : heap_alloc(need);
}

static void *payload_or_null(struct block_meta *block)
{
	return block ? payload_of(block) : NULL;
}

static bool size_ok(size_t size)
{
	if (size <= MAX_REQUEST)
		return true;
	errno = ENOMEM;
	return false;
}

static void __attribute__((noreturn)) invalid_pointer(const char *function, void *ptr)
{
	osmem_dprintf(STDERR_FILENO, "%s(): invalid pointer %p\n", function, ptr);
	abort();
}

/*
 * The block whose payload starts at ptr, or abort: see the invariants above. Inlined: os_free
 * runs it on every call.
 */
static inline __attribute__((always_inline)) struct block_meta *
checked_block(void *ptr, const char *function)
{
	struct block_meta *block = block_of(ptr);

	if ((uintptr_t)ptr % ALIGNMENT == 0) {
		if (heap_contains(block, META_SIZE) && block_list_is_member(block))
			return block;
		if (mapped_is_live(block))
			return block;
	}
	invalid_pointer(function, ptr);
}

void *os_malloc(size_t size)
{
	OSMEM_CHECK_ON_RETURN("os_malloc");

	if (size == 0 || !size_ok(size))
		return NULL;
	ANNOTATE_CALL();
	return ANNOTATE_MALLOC(payload_or_null(alloc_block(ALIGN8(size), MMAP_THRESHOLD)), false);
}

void *os_calloc(size_t nmemb, size_t size)
{
	OSMEM_CHECK_ON_RETURN("os_calloc");

	size_t total;

	if (nmemb == 0 || size == 0)
		return NULL;
	if (__builtin_mul_overflow(nmemb, size, &total) || !size_ok(total)) {
		errno = ENOMEM;
		return NULL;
	}

	ANNOTATE_CALL();
	struct block_meta *block = alloc_block(ALIGN8(total), (size_t)getpagesize());

	if (!block)
		return NULL;
	/* A fresh mapping is already zero; a reused heap block is not. */
	if (block->status == STATUS_ALLOC)
		memset(payload_of(block), 0, block->size);
	return ANNOTATE_MALLOC(payload_of(block), true);
}

void os_free(void *ptr)
{
	OSMEM_CHECK_ON_RETURN("os_free");

	if (!ptr)
		return;

	ANNOTATE_CALL();
	struct block_meta *block = checked_block(ptr, "os_free");
	int status = block->status;

	/* Before ANNOTATE_FREE closes the payload: the free index keeps its links there. */
	if (status == STATUS_ALLOC)
		block_mark_free(block);
	ANNOTATE_FREE(ptr);
	if (status == STATUS_MAPPED)
		mapped_free(block);
}

static void *move_block(struct block_meta *old, size_t copy, struct block_meta *moved)
{
	if (!moved)
		return NULL;
	(void)ANNOTATE_MALLOC(payload_of(moved), false);
	memcpy(payload_of(moved), payload_of(old), copy);
	if (old->status != STATUS_MAPPED)
		block_mark_free(old);
	ANNOTATE_FREE(payload_of(old));
	if (old->status == STATUS_MAPPED)
		mapped_free(old);
	return payload_of(moved);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Rules 17-20 for an ALLOC heap block and a heap-sized need. */
static void *realloc_heap_block(struct block_meta *block, size_t size, size_t need)
{
	size_t old_size = block->size;
	struct absorb_undo undo;
	uintptr_t old_break;

	block_absorb_free_successors(block, need, &undo);
	if (need <= block->size) {
		block_split(block, need);
		return ANNOTATE_RESIZE(payload_of(block), old_size);
	}
	if (!block->next) {
		if (!heap_extend(need - block->size, &old_break)) {
			block_absorb_undo(&undo);
			return NULL;
		}
		block->size = need;
		return ANNOTATE_RESIZE(payload_of(block), old_size);
	}

	void *moved = move_block(block, min_size(old_size, size), heap_alloc(need));

	if (!moved)
		block_absorb_undo(&undo);
	return moved;
}

void *os_realloc(void *ptr, size_t size)
{
	OSMEM_CHECK_ON_RETURN("os_realloc");

	if (!ptr)
		return os_malloc(size);
	if (size == 0) {
		os_free(ptr);
		return NULL;
	}

	ANNOTATE_CALL();
	struct block_meta *block = checked_block(ptr, "os_realloc");

	if (block->status == STATUS_FREE) {
		errno = EINVAL;
		return NULL;
	}
	if (!size_ok(size))
		return NULL;

	size_t need = ALIGN8(size);
	size_t copy = min_size(block->size, size);

	if (block->status == STATUS_MAPPED)
		return move_block(block, copy, alloc_block(need, MMAP_THRESHOLD));
	if (needs_mapping(need, MMAP_THRESHOLD))
		return move_block(block, copy, mapped_alloc(need));
	return realloc_heap_block(block, size, need);
}
