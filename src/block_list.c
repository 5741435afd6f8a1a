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
 *     on its pending list are the only ones block_list_coalesce() has to merge.
 */
#include "osmem_internal.h"

static struct block_meta *first;
static struct block_meta *last;

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
		free_index_freed(block);
}

/* block's header lies inside the heap (so the heap exists): the callers checked. */
bool block_list_is_member(const struct block_meta *block)
{
	if (block->status != STATUS_FREE && block->status != STATUS_ALLOC)
		return false;
	if (block->prev ? !heap_holds_header(block->prev) || block->prev->next != block
			: block != first)
		return false;
	if (block->next ? !heap_holds_header(block->next) || block->next->prev != block
			: block != last)
		return false;
	return true;
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
		while (b->next && b->next->status == STATUS_FREE)
			swallow_next(b);
		free_index_add_run(b);
	}
}

/* An ALLOC block becomes FREE (no merging: see block_list_coalesce). */
void block_mark_free(struct block_meta *block)
{
	block->status = STATUS_FREE;
	free_index_freed(block);
}

/* A FREE block with no FREE neighbour is handed out. */
void block_take(struct block_meta *block)
{
	free_index_take(block);
	block->status = STATUS_ALLOC;
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

	if (rest)
		free_index_freed(rest);
}

/* block_split for a block that was a whole (merged) free run: no FREE block follows it, so
   the rest is a run of one block, without looking at its neighbours. */
void block_split_run(struct block_meta *block, size_t need)
{
	struct block_meta *rest = cut(block, need);

	if (rest)
		free_index_add_single(rest);
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
	if (block->size >= need || !run || run->status != STATUS_FREE)
		return;
	free_index_forget_run(run);
	while (block->size < need && block->next && block->next->status == STATUS_FREE)
		swallow_next(block);
	undo->new_next = block->next;
	if (block->next && block->next->status == STATUS_FREE)
		free_index_add_run(block->next);
}

void block_absorb_undo(const struct absorb_undo *undo)
{
	struct block_meta *prev = undo->block;

	if (prev->next == undo->old_next)
		return;
	if (prev->next && prev->next->status == STATUS_FREE)
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
	free_index_add_run(undo->old_next);
}
