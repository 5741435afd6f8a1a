// SPDX-License-Identifier: BSD-3-Clause
/*
 * The heap list: every heap block, in address order.
 *
 * Invariants:
 *   - consecutive blocks touch: (char *)b + 32 + b->size == (char *)b->next, and the last
 *     block ends at the break, so the list tiles the heap with no gaps;
 *   - prev/next agree: b->next->prev == b, first->prev == NULL, last->next == NULL;
 *   - sizes are multiples of 8, statuses are STATUS_FREE or STATUS_ALLOC;
 *   - adjacent FREE blocks may exist: merging is deferred to block_list_coalesce(), called
 *     before a search, so os_free stays syscall-free;
 *   - the free index (free_index.c) agrees with the list after every function here returns:
 *     every change of a block's status, size or neighbours is told to it, and the runs it has
 *     on its pending list are the only ones block_list_coalesce() has to merge;
 *   - an ALLOC block's padding word (HEADER_PAD_OFFSET) is 1 when the block before it is
 *     FREE, else 0. Every function here that makes a block FREE or ALLOC, or gives it a new
 *     predecessor, rewrites its successor's word. os_free trusts a 0, so it reads the block
 *     before only when it is FREE and must be merged with; a 1 it checks (see
 *     block_prev_free): a program that scribbles on a header cannot make us merge a block
 *     that is not FREE.
 */
#include <string.h>

#include "osmem_internal.h"

static struct block_meta *first;
static struct block_meta *last;

uint32_t block_prev_free_word(const struct block_meta *block)
{
	uint32_t word;

	memcpy(&word, (const char *)block + HEADER_PAD_OFFSET, sizeof(word));
	return word;
}

static inline void set_prev_free(struct block_meta *b, bool prev_free)
{
	uint32_t word = prev_free;

	memcpy((char *)b + HEADER_PAD_OFFSET, &word, sizeof(word));
}

/* b (NULL: none) has a new predecessor, or its predecessor a new status: an ALLOC b notes it. */
static inline void note_prev(struct block_meta *b, bool prev_free)
{
	if (b && b->status == STATUS_ALLOC)
		set_prev_free(b, prev_free);
}

/* Whether the block before ALLOC block `block` is FREE: read only when the word says so, and
   then confirmed, so a word a program overwrote costs a read, never a wrong merge. */
static inline bool block_prev_free(const struct block_meta *block)
{
	return block_prev_free_word(block) && is_free(block->prev);
}

struct block_meta *block_list_first(void)
{
	return first;
}

struct block_meta *block_list_last(void)
{
	return last;
}

void block_list_append(struct block_meta *block, size_t size, int status)
{
	bool prev_free = is_free(last);

	block->size = size;
	block->status = status;
	block->prev = last;
	block->next = NULL;
	if (last)
		last->next = block;
	else
		first = block;
	last = block;
	if (status == STATUS_FREE)
		free_index_freed(block, prev_free);
	else
		set_prev_free(block, prev_free);
}

/* The block before block (in the heap, or none: block is the first) links to it. */
static bool linked_from_prev(const struct block_meta *block)
{
	return block->prev ? heap_holds_header(block->prev) && block->prev->next == block
			   : block == first;
}

/* The block after block (in the heap, or none: block is the last) links back to it. */
static bool linked_from_next(const struct block_meta *block)
{
	return block->next ? heap_holds_header(block->next) && block->next->prev == block
			   : block == last;
}

/*
 * block's header lies inside the heap (so the heap exists): the callers checked. A FREE block
 * is checked by both of its links. An ALLOC block, the one os_free and os_realloc meet, from
 * the side os_free reads: its successor links back to it and, when its word says the block
 * before is FREE, that block links to it too; the block before is not read otherwise (neither
 * os_free nor os_realloc uses it then). No pointer we did not hand out gets through that the
 * two-sided check would stop: a stale header (of a block merged into another) says FREE, and
 * a header made of a program's bytes passes only if the block it names as its successor
 * names it back.
 */
bool block_list_is_member(const struct block_meta *block)
{
	if (block->status == STATUS_ALLOC)
		return linked_from_next(block) &&
		       (!block_prev_free_word(block) || linked_from_prev(block));
	return block->status == STATUS_FREE && linked_from_prev(block) && linked_from_next(block);
}

/* Unlinks block->next, whose bytes become part of block's payload. */
static void swallow_next(struct block_meta *block)
{
	struct block_meta *gone = block->next;

	block->size += META_SIZE + gone->size;
	block->next = gone->next;
	if (gone->next)
		gone->next->prev = block;
	else
		last = block;
}

/* Merges every run of two FREE blocks or more: the free index lists them all. */
void block_list_coalesce(void)
{
	struct block_meta *b;

	while ((b = free_index_pending_pop())) {
		while (is_free(b->next))
			swallow_next(b);
		free_index_add_run(b);
	}
}

/* An ALLOC block becomes FREE (no merging: see block_list_coalesce). */
void block_mark_free(struct block_meta *block)
{
	bool prev_free = block_prev_free(block);   /* before the index takes the padding */

	block->status = STATUS_FREE;
	note_prev(block->next, true);
	free_index_freed(block, prev_free);
}

/* A FREE block with no FREE neighbour is handed out. */
void block_take(struct block_meta *block)
{
	free_index_take(block);
	block->status = STATUS_ALLOC;
	set_prev_free(block, false);
}

/* Cuts block down to `need` bytes when that leaves room for another block: the rest becomes
   a FREE block after it, returned (NULL when nothing is cut). */
static struct block_meta *cut(struct block_meta *block, size_t need)
{
	if (block->size - need < MIN_SPLIT_REMAINDER)
		return NULL;

	struct block_meta *rest = (struct block_meta *)((char *)payload_of(block) + need);

	rest->size = block->size - need - META_SIZE;
	rest->status = STATUS_FREE;
	rest->prev = block;
	rest->next = block->next;
	if (block->next)
		block->next->prev = rest;
	else
		last = rest;
	block->next = rest;
	block->size = need;
	return rest;
}

void block_split(struct block_meta *block, size_t need)
{
	struct block_meta *rest = cut(block, need);

	if (rest) {
		note_prev(rest->next, true);
		free_index_freed(rest, false);
	}
}

/* block_split for a block that was a whole (merged) free run: no FREE block follows it, so
   the rest is a run of one block, without looking at its neighbours; without a rest, the
   block after has an ALLOC block before it now. */
void block_split_run(struct block_meta *block, size_t need)
{
	struct block_meta *rest = cut(block, need);

	if (rest)
		free_index_add_single(rest);
	else
		note_prev(block->next, false);
}

/*
 * Grows block over its FREE successors, stopping as soon as it holds `need` bytes (at once, if
 * it already does). Swallowing
 * rewrites only prev links and block's size and next; each swallowed header keeps its size,
 * status and next, so undoing can rebuild the chain from old_next to new_next.
 */
void block_absorb_free_successors(struct block_meta *block, size_t need,
				  struct absorb_undo *undo)
{
	struct block_meta *run = block->next;

	undo->block = block;
	undo->old_size = block->size;
	undo->old_next = run;
	undo->new_next = run;
	if (block->size >= need || !is_free(run))
		return;
	free_index_forget_run(run);
	while (block->size < need && is_free(block->next))
		swallow_next(block);
	undo->new_next = block->next;
	if (is_free(block->next))
		free_index_add_run(block->next);
	else
		note_prev(block->next, false);
}

void block_absorb_undo(const struct absorb_undo *undo)
{
	struct block_meta *prev = undo->block;

	if (prev->next == undo->old_next)
		return;
	if (is_free(prev->next))
		free_index_forget_run(prev->next);
	prev->size = undo->old_size;
	prev->next = undo->old_next;
	for (struct block_meta *b = undo->old_next; b != undo->new_next; b = b->next) {
		b->prev = prev;
		prev = b;
	}
	if (undo->new_next)
		undo->new_next->prev = prev;
	else
		last = prev;
	note_prev(undo->new_next, true);
	free_index_add_run(undo->old_next);
}
