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
 * reading memory that may be unmapped: only registered headers are dereferenced. Asking it
 * must not cost a walk of every mapping, so the live blocks are also in a set: an open-
 * addressing hash table (linear probing, deletion by backward shift, so no tombstones pile up)
 * in static memory, since allocating it would show in the trace. Its slots are twice the
 * kernel's default vm.max_map_count, which bounds the live mappings of a process; should a
 * raised limit fill it to half, later blocks are "spilled": registered only, and a lookup that
 * misses the set walks the registry as before.
 *
 * Invariants (osmem_check_heap checks them):
 *   - the set holds only registered blocks, at most LIVE_SLOTS / 2 of them, each reachable
 *     from its home slot without crossing an empty slot;
 *   - every registered block is in the set, or `spilled` counts it.
 */
#include <errno.h>
#include <sys/mman.h>

#include "annotate.h"
#include "osmem_internal.h"

static struct block_meta *registry;

#define LIVE_SLOTS ((size_t)1 << 17)
static const struct block_meta *live[LIVE_SLOTS];
static size_t live_count, spilled;

/*
 * The page number, folded: mappings are page-aligned, and neighbouring mappings (the kernel
 * places them side by side) land in neighbouring slots, so the table's pages that are touched,
 * and become resident, are about one per 2 MiB of address space the live mappings span
 * (a scrambling hash would touch one page per mapping, up to the whole megabyte). The fold
 * keeps mappings 512 MiB apart off each other's slots.
 */
static size_t home_slot(const struct block_meta *block)
{
	uintptr_t page = (uintptr_t)block >> 12;

	return (size_t)(page ^ page >> 17) & (LIVE_SLOTS - 1);
}

static size_t slot_after(size_t slot)
{
	return (slot + 1) & (LIVE_SLOTS - 1);
}

/* The slot holding block, or the empty slot where it would go. */
static size_t live_find(const struct block_meta *block)
{
	size_t slot = home_slot(block);

	while (live[slot] && live[slot] != block)
		slot = slot_after(slot);
	return slot;
}

static void live_add(struct block_meta *block)
{
	if (live_count >= LIVE_SLOTS / 2) {
		spilled++;
		return;
	}
	live[live_find(block)] = block;
	live_count++;
}

static void live_remove(const struct block_meta *block)
{
	size_t hole = live_find(block);

	if (!live[hole]) {
		spilled--;
		return;
	}
	live[hole] = NULL;
	live_count--;
	/* Close the hole: a later entry moves back into it unless its home lies after the hole. */
	for (size_t slot = slot_after(hole); live[slot]; slot = slot_after(slot)) {
		size_t home = home_slot(live[slot]);

		if ((slot - home) % LIVE_SLOTS >= (slot - hole) % LIVE_SLOTS) {
			live[hole] = live[slot];
			live[slot] = NULL;
			hole = slot;
		}
	}
}

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
	live_add(block);
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
	live_remove(block);
	ANNOTATE_UNMAP(block);
	munmap(block, META_SIZE + block->size);
}

bool mapped_is_live(const struct block_meta *block)
{
	if (live[live_find(block)])
		return true;
	for (const struct block_meta *b = registry; spilled && b; b = b->next)
		if (b == block)
			return true;
	return false;
}

const char *mapped_verify_set(size_t registered)
{
	size_t found = 0;

	for (const struct block_meta *b = registry; b; b = b->next)
		found += live[live_find(b)] != NULL;
	if (found != live_count)
		return "the set of live mappings holds blocks that are not registered";
	if (found + spilled != registered)
		return "a registered mapping is missing from the set of live mappings";
	return NULL;
}

struct block_meta *mapped_first(void)
{
	return registry;
}
