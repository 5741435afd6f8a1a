/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The header in front of every payload. Part of the contract: test programs read it.
 *
 * A block is this 32-byte header followed by `size` payload bytes; the user pointer is
 * header + 32. `size` is always a multiple of 8, so payloads stay 8-byte aligned.
 */
#ifndef OSMEM_BLOCK_META_H
#define OSMEM_BLOCK_META_H

#include <stddef.h>

struct block_meta {
	size_t size;              /* payload bytes */
	int status;               /* STATUS_FREE, STATUS_ALLOC or STATUS_MAPPED */
	struct block_meta *prev;  /* neighbours in the heap list (or the mapped registry) */
	struct block_meta *next;
};

#define STATUS_FREE   0
#define STATUS_ALLOC  1
#define STATUS_MAPPED 2

#define META_SIZE sizeof(struct block_meta)

_Static_assert(sizeof(struct block_meta) == 32, "the contract fixes the header at 32 bytes");

#endif /* OSMEM_BLOCK_META_H */
