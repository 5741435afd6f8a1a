/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * osmem debug interface: check the allocator's invariants from a test or a debugger.
 *
 * Not part of the graded API (a submission need not provide it). libosmem.so exports these
 * two symbols; nothing else in the library depends on them.
 *
 * Setting OSMEM_CHECK=1 in the environment makes every os_* call run the same check (without
 * the syscalls, see below) after itself and abort() with a one-line message on stderr when an
 * invariant is violated:  "os_malloc(): heap check failed: <what>".
 */
#ifndef OSMEM_DEBUG_H
#define OSMEM_DEBUG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Checks every invariant of the heap list and of the registry of mapped blocks:
 *   - the heap blocks tile [HeapStart, break) without gaps, in address order;
 *   - payload sizes are multiples of 8, statuses are FREE or ALLOC (MAPPED in the registry);
 *   - prev/next agree in both lists, and the lists end where the library says they do;
 *   - no block overlaps another (heap blocks, mappings, heap vs mappings);
 *   - every registered mapping is page-aligned and really mapped (checked with mincore(),
 *     and so is the heap range: this entry point makes mincore syscalls, the OSMEM_CHECK=1
 *     hook does not).
 * Returns 0 when all hold; otherwise 1, with the first violated invariant written as a
 * NUL-terminated line (no newline) into why[why_len] (why may be NULL when why_len is 0).
 * Never allocates, never reads memory that is not a header the lists lead to.
 */
int osmem_check_heap(char *why, size_t why_len);

/*
 * A fingerprint of every block's place, size and status, the break and the registry (not of
 * payload contents): equal before and after a failed call when nothing changed. No syscalls.
 */
uint64_t osmem_heap_digest(void);

#endif /* OSMEM_DEBUG_H */
