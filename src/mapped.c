// SPDX-License-Identifier: BSD-3-Clause
/*
 * Mapped blocks: one private anonymous mmap() each, of exactly 32 + payload bytes.
 *
 * Invariants:
 *   - a mapped block has status STATUS_MAPPED and starts its mapping, so the mapping's length
 *     is always 32 + size (no page rounding: the kernel rounds, we ask for the exact length);
 *   - every live mapped block is in the registry, a doubly linked list through the headers'
 *     prev/next (mapped blocks are never in the heap list), and nothing else is;
 *   - munmap() uses the same address and length as the mmap() that made the block.
 *
 * The registry lets os_free/os_realloc tell a live mapped block from any other pointer without
 * reading memory that may be unmapped: only registered headers are dereferenced.
 */
#include <errno.h>
#include <sys/mman.h>

#include "annotate.h"
#include "osmem_internal.h"

static struct block_meta *registry;

struct block_meta *mapped_alloc(size_t need)
{
	void *map = mmap(NULL, META_SIZE + need, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	struct block_meta *block = map;

	block->size = need;
	block->status = STATUS_MAPPED;
	block->prev = NULL;
	block->next = registry;
	if (registry)
		registry->prev = block;
	registry = block;
	return block;
}

void mapped_free(struct block_meta *block)
{
	if (block->prev)
		block->prev->next = block->next;
	else
		registry = block->next;
	if (block->next)
		block->next->prev = block->prev;
	ANNOTATE_UNMAP(block);
	munmap(block, META_SIZE + block->size);
}

bool mapped_is_live(const struct block_meta *block)
{
	for (const struct block_meta *b = registry; b; b = b->next)
		if (b == block)
			return true;
	return false;
}

struct block_meta *mapped_first(void)
{
	return registry;
}
