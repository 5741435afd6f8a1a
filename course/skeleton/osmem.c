// SPDX-License-Identifier: BSD-3-Clause
/*
 * Your allocator: os_malloc, os_calloc, os_realloc, os_free (declared in utils/osmem.h).
 *
 * The behaviour to implement is the contract in README.md, to the syscall: the rule numbers
 * below are the ones the checker names when a trace differs ("rule 9 (best fit)"). Every
 * function compiles and does nothing yet, so `make check` runs and fails every program.
 *
 * What the checker holds you to, whatever you write:
 *   - inside os_* only brk(), mmap() and munmap() are made (rule 1): no libc malloc, no stdio
 *     (print with utils/printf.h's printf, which allocates nothing);
 *   - a block is a struct block_meta (utils/block_meta.h, 32 bytes) followed by its payload,
 *     and the pointer you return is the header + 32.
 * Add as many .c and .h files to src/ as you like: every one of them is compiled into the
 * library (libosmem.so).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block_meta.h"
#include "osmem.h"

/*
 * Rules 5 and 7: NULL for size 0; mapped with mmap() when 32 + ALIGN8(size) >= 128 KiB
 * (rule 4: exactly that length), else on the brk() heap, preallocated with 128 KiB on first
 * use (rule 2). On the heap: coalesce FREE runs (rule 8), best fit (rule 9), split (rule 10),
 * else grow a FREE last block (rule 11) or append at the break (rules 3 and 12).
 */
void *os_malloc(size_t size)
{
	(void)size;
	return NULL;
}

/*
 * Rule 13: NULL does nothing; a mapped block is unmapped; a heap block becomes FREE, with no
 * syscall and no merging.
 */
void os_free(void *ptr)
{
	(void)ptr;
}

/*
 * Rule 6: like os_malloc(nmemb * size), but mapped from the page size (4096) on, and the
 * memory is zero, also when a FREE heap block is reused. Overflow: NULL, errno = ENOMEM.
 */
void *os_calloc(size_t nmemb, size_t size)
{
	(void)nmemb;
	(void)size;
	return NULL;
}

/*
 * Rules 14-20, in this order: NULL ptr is os_malloc (14); size 0 frees (14); a FREE block
 * returns NULL (14); a mapped block always moves, munmap last (15); a heap block going
 * mmap-sized moves to a mapping (16); shrink in place and split (17); absorb FREE successors
 * (18); grow the last block with brk (19); otherwise move, the old block still ALLOC while the
 * new one is chosen (20).
 */
void *os_realloc(void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
	return NULL;
}
