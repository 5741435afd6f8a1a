// SPDX-License-Identifier: BSD-3-Clause
/*
 * The free-block index: where a heap request of `need` bytes should go.
 *
 * The answers are given as if every run of adjacent FREE blocks were already merged (the
 * contract merges them before searching), and computed without changing any block, so the
 * caller can make its brk() first and commit the merge only once nothing can fail.
 *
 * Invariants of the answers:
 *   - free_index_best_fit returns the run with the smallest merged size >= need; among equal
 *     sizes, the lowest address; or no run;
 *   - free_index_last_run returns the run that ends at the break, if the last block is FREE.
 *
 * This version walks the heap list: O(blocks). The interface is what an O(log n) index (a
 * size-ordered tree of runs, kept up to date by the block list) would serve unchanged.
 */
#include "osmem_internal.h"

/* The run starting at `first` (a FREE block); *after is set to the block that follows it. */
static size_t run_size(struct block_meta *first, struct block_meta **after)
{
	size_t size = first->size;
	struct block_meta *b = first->next;

	for (; b && b->status == STATUS_FREE; b = b->next)
		size += META_SIZE + b->size;
	*after = b;
	return size;
}

struct free_run free_index_best_fit(size_t need)
{
	struct free_run best = { NULL, 0 };
	struct block_meta *b = block_list_first();

	while (b) {
		if (b->status != STATUS_FREE) {
			b = b->next;
			continue;
		}
		struct block_meta *first = b;
		size_t size = run_size(first, &b);

		if (size >= need && (!best.first || size < best.size)) {
			best.first = first;
			best.size = size;
		}
	}
	return best;
}

struct free_run free_index_last_run(void)
{
	struct free_run run = { NULL, 0 };
	struct block_meta *b = block_list_last();

	if (!b || b->status != STATUS_FREE)
		return run;
	while (b->prev && b->prev->status == STATUS_FREE)
		b = b->prev;
	run.first = b;
	run.size = run_size(b, &b);
	return run;
}
