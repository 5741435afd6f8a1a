/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * osmem: the design, and the interfaces between its parts.
 *
 * Every block is a 32-byte struct block_meta followed by its payload; the caller gets the
 * payload. Payload sizes are multiples of 8, so payloads stay 8-byte aligned.
 *
 * Two kinds of block:
 *   - heap blocks (STATUS_FREE or STATUS_ALLOC) tile the brk() heap [start, break) with no
 *     gaps, linked in address order in the heap list (block_list.c). The heap is created on
 *     first use with one 128 KiB brk() (heap.c) and only grows, by exactly what is needed.
 *   - mapped blocks (STATUS_MAPPED) each own one mmap() of exactly 32 + payload bytes and are
 *     linked in a registry of live mappings (mapped.c), never in the heap list.
 *
 * A request of `need` = ALIGN8(size) bytes goes to a mapping when 32 + need reaches the mmap
 * threshold (128 KiB; the page size for calloc). On the heap it takes the best fit among the
 * free runs (a run = adjacent FREE blocks, merged just before the search), split when at least
 * 40 bytes would be left over; with no fit, the last block grows in place if it is free, else a
 * new block is appended at the break. os_free never merges and never calls brk.
 *
 * Cost: the free index (free_index.c) keeps the free runs ordered by merged size, and the
 * runs still to merge on a list of their own, so a search, a free and a merge cost O(log n)
 * (amortised for merges) instead of a walk of the heap; the block list keeps it current.
 *
 * Failure atomicity: every path that can fail (brk, mmap, size overflow) makes its syscall
 * before changing any block, or undoes what it changed (see struct absorb_undo), so a failed
 * call returns NULL with errno == ENOMEM and leaves the heap exactly as it was.
 *
 * The library is single-threaded and never allocates with libc or prints through stdio.
 */
#ifndef OSMEM_INTERNAL_H
#define OSMEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block_meta.h"

/* The library's internal functions are not interposable: direct calls, inlined where it pays. */
#pragma GCC visibility push(hidden)

#define ALIGNMENT 8
#define ALIGN8(n) (((n) + (ALIGNMENT - 1)) & ~(size_t)(ALIGNMENT - 1))

#define MMAP_THRESHOLD ((size_t)128 * 1024)
#define HEAP_PREALLOC ((size_t)128 * 1024)
/* A split must leave room for a header and at least one aligned word of payload. */
#define MIN_SPLIT_REMAINDER (META_SIZE + ALIGNMENT)
/* Larger requests cannot be represented as object sizes (as in glibc): ENOMEM. */
#define MAX_REQUEST ((size_t)PTRDIFF_MAX - META_SIZE - ALIGNMENT)

static inline void *payload_of(struct block_meta *block)
{
	return block + 1;
}

static inline struct block_meta *block_of(void *payload)
{
	return (struct block_meta *)payload - 1;
}

static inline bool is_free(const struct block_meta *block)
{
	return block && block->status == STATUS_FREE;
}

/*
 * The 4 bytes of padding after a header's `status` are the library's: a FREE block lends them
 * to the free index (its links, free_index.c); an ALLOC heap block holds there whether the
 * block before it is FREE (block_list.c), so that os_free, which must know, reads that block's
 * header only when it is (as glibc's PREV_INUSE bit spares it the previous chunk's).
 */
#define HEADER_PAD_OFFSET (offsetof(struct block_meta, status) + sizeof(int))
_Static_assert(HEADER_PAD_OFFSET + sizeof(uint32_t) == offsetof(struct block_meta, prev),
	       "block_meta has 4 bytes of padding after status");

/* heap.c: the brk() region. */
bool heap_prepare(void);                       /* first use: preallocate; false on failure */
bool heap_extend(size_t bytes, uintptr_t *old_break);   /* one brk() by exactly `bytes` */
bool heap_contains(const void *addr, size_t len);
bool heap_holds_header(const void *addr);      /* the same for a header, once the heap exists */
uintptr_t heap_start(void);
uintptr_t heap_break(void);

/* block_list.c: the address-ordered list of heap blocks; it keeps the free index current. */
struct block_meta *block_list_first(void);
struct block_meta *block_list_last(void);
void block_list_append(struct block_meta *block, size_t size, int status);
bool block_list_is_member(const struct block_meta *block);
uint32_t block_prev_free_word(const struct block_meta *block);   /* for check.c */
void block_list_coalesce(void);
void block_mark_free(struct block_meta *block);
void block_take(struct block_meta *block);
void block_split(struct block_meta *block, size_t need);
void block_split_run(struct block_meta *block, size_t need);

/* What block_absorb_free_successors changed, so a failed realloc can put it back. */
struct absorb_undo {
	struct block_meta *block;
	size_t old_size;
	struct block_meta *old_next;
	struct block_meta *new_next;
};
void block_absorb_free_successors(struct block_meta *block, size_t need,
				  struct absorb_undo *undo);
void block_absorb_undo(const struct absorb_undo *undo);

/*
 * free_index.c: the free runs by merged size, and the runs not merged yet. The answers are
 * given as if every run were merged, without changing anything.
 */
struct free_run {
	struct block_meta *first;   /* first block of the run, NULL when there is none */
	size_t size;                /* its payload once the run is merged */
};
struct free_run free_index_best_fit(size_t need);
struct free_run free_index_last_run(void);
/* Told by the block list: */
void free_index_freed(struct block_meta *block, bool prev_free);   /* block has just become FREE */
void free_index_take(struct block_meta *single);        /* a one-block run leaves the index */
void free_index_add_run(struct block_meta *first);      /* a run starts at first */
void free_index_add_single(struct block_meta *single);  /* ... and has one block only */
void free_index_forget_run(struct block_meta *first);   /* ... is about to change */
struct block_meta *free_index_pending_pop(void);        /* an unmerged run to merge, or NULL */
/* For osmem_check_heap: NULL when sound, else what is wrong. */
const char *free_index_verify_singles(size_t singles);
const char *free_index_verify_pending(size_t runs);
bool free_index_holds_single(const struct block_meta *single, size_t singles);

/* mapped.c: blocks in their own mapping, and the registry of live ones. */
struct block_meta *mapped_alloc(size_t need);
void mapped_free(struct block_meta *block);
bool mapped_is_live(const struct block_meta *block);
struct block_meta *mapped_first(void);   /* the registry's head, for check.c */
const char *mapped_verify_set(size_t registered);   /* for check.c: NULL when sound */

#pragma GCC visibility pop

#endif /* OSMEM_INTERNAL_H */
