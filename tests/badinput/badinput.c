// SPDX-License-Identifier: BSD-3-Clause
/*
 * Bad input to the library, one case per run: `badinput <case>` (run by
 * checker/selftest/test_badinput.py, which also reads the strace trace of the returning cases).
 *
 * Returning cases exit 0 when every check holds, else print one line to stderr and exit 1:
 *   sizes          sizes that cannot be served (malloc, calloc both orders, realloc of a heap
 *                  and of a mapped block): NULL, errno == ENOMEM, the heap unchanged
 *                  (osmem_heap_digest) and sound (osmem_check_heap), old blocks intact and
 *                  still usable afterwards;
 *   free-null      os_free(NULL) does nothing;
 *   double-free    a second os_free of a heap block changes nothing; os_realloc of a freed
 *                  heap block returns NULL and changes nothing;
 *   scribbled-padding  a live block's header padding (the library's 4 bytes after `status`)
 *                  overwritten, as a write 17 to 20 bytes before its payload would: os_free
 *                  must not merge it with the ALLOC block before it, and the heap stays sound;
 *   corrupt-<what> the invariant checker itself: corrupt one header (as a buggy program
 *                  would), osmem_check_heap must report it; its message goes to stdout. With
 *                  OSMEM_CHECK=1 the next os_malloc aborts with the same message.
 *   write-after-free-<what>  a freed block's first payload bytes overwritten (bytes, a
 *                  pointer); the next os_malloc must abort with "osmem: heap corruption: free
 *                  block 0x... was written after it was freed" (its heap check, with
 *                  OSMEM_CHECK=1).
 *   write-after-free-among-<size>  the same in the middle one of three free blocks of one
 *                  size (100: a small size's bin; 5000: the larger sizes' shared index): the
 *                  blocks of that size are taken again, lowest address first; the library
 *                  must abort at the latest when the written block's turn comes, having
 *                  handed out ("got 0x...") only the block below it ("below 0x...").
 * Aborting cases print "ptr 0x..." (the pointer about to be passed) on stdout, then pass a
 * pointer the allocator never handed out; the library must write exactly
 * "<function>(): invalid pointer 0x...\n" and abort(). Some pointers are chosen so that
 * reading their would-be header faults (SIGSEGV instead of SIGABRT would show the read).
 *
 * No stdio and no libc malloc (they would move the program break): osmem_dprintf only.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block_meta.h"
#include "die.h"
#include "osmem.h"
#include "osmem_debug.h"
#include "printf.h"

#define PAGE 4096UL


static void check_heap(const char *after)
{
	char why[256];

	if (osmem_check_heap(why, sizeof(why)))
		die("heap check failed after %s: %s", after, why);
}

static void fill(void *p, size_t n, unsigned char seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7);
}

static void expect_filled(const char *what, const void *p, size_t n, unsigned char seed)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seed + i * 7))
			die("%s: byte %zu of the old block changed", what, i);
}

static struct block_meta *header(void *p)
{
	return (struct block_meta *)p - 1;
}

/* One call that must fail: NULL, ENOMEM, nothing changed. `what` names it in messages. */
static void expect_enomem(const char *what, void *result, uint64_t digest_before)
{
	int saved = errno;

	if (result)
		die("%s returned %p, expected NULL", what, result);
	if (saved != ENOMEM)
		die("%s: errno %d, expected ENOMEM (%d)", what, saved, ENOMEM);
	check_heap(what);
	if (osmem_heap_digest() != digest_before)
		die("%s changed the heap or the mappings", what);
}

#define FAIL(call)								\
	do {									\
		uint64_t before_ = osmem_heap_digest();				\
		errno = 0;							\
		void *r_ = (call);						\
		expect_enomem(#call, r_, before_);				\
		tried++;							\
	} while (0)

/* Every unservable size, against a heap block `h` (hsize bytes) and a mapped block `m`. */
static int huge_sizes(void)
{
	const size_t sizes[] = {
		SIZE_MAX, SIZE_MAX - 30, SIZE_MAX - 7, (size_t)PTRDIFF_MAX + 1,
		(size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX - 31,
		/* Representable, but no mapping that large exists: mmap itself fails. */
		(size_t)PTRDIFF_MAX - 40, (size_t)1 << 62, (size_t)1 << 50,
	};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	int tried = 0;

	/* Before any heap use: no preallocation may happen. */
	for (size_t i = 0; i < n; i++)
		FAIL(os_malloc(sizes[i]));
	/* Products that overflow size_t, in both orders, and ones above PTRDIFF_MAX. */
	const size_t pairs[][2] = {
		{ SIZE_MAX / 2 + 1, 2 }, { (size_t)1 << 32, (size_t)1 << 32 },
		{ SIZE_MAX, SIZE_MAX }, { SIZE_MAX, 2 }, { 3, SIZE_MAX / 3 + 1 },
		{ (size_t)1 << 61, 5 }, { (size_t)PTRDIFF_MAX / 8 + 1, 8 },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		FAIL(os_calloc(pairs[i][0], pairs[i][1]));
		FAIL(os_calloc(pairs[i][1], pairs[i][0]));
	}

	const size_t hsize = 100, msize = 200000;
	char *h = os_malloc(hsize);
	char *m = os_malloc(msize);

	if (!h || !m)
		die("os_malloc(%zu) or os_malloc(%zu) failed", hsize, msize);
	fill(h, hsize, 1);
	fill(m, msize, 2);
	struct block_meta hmeta = *header(h), mmeta = *header(m);

	for (size_t i = 0; i < n; i++) {
		FAIL(os_malloc(sizes[i]));
		FAIL(os_realloc(h, sizes[i]));
		FAIL(os_realloc(m, sizes[i]));
	}
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		FAIL(os_calloc(pairs[i][0], pairs[i][1]));

	/* The old blocks: same header, same contents, still usable. */
	if (memcmp(&hmeta, header(h), sizeof(hmeta)) || memcmp(&mmeta, header(m), sizeof(mmeta)))
		die("a failed call changed the header of an old block");
	expect_filled("heap block", h, hsize, 1);
	expect_filled("mapped block", m, msize, 2);
	h = os_realloc(h, 2 * hsize);
	m = os_realloc(m, 2 * msize);
	if (!h || !m)
		die("the old blocks cannot be reallocated after the failures");
	expect_filled("heap block after a realloc", h, hsize, 1);
	expect_filled("mapped block after a realloc", m, msize, 2);
	check_heap("the reallocs");
	os_free(h);
	os_free(m);
	check_heap("the frees");
	return tried;
}

static void free_null(void)
{
	uint64_t before = osmem_heap_digest();

	os_free(NULL);
	if (osmem_heap_digest() != before)
		die("os_free(NULL) changed the heap");
	char *p = os_malloc(10);

	before = osmem_heap_digest();
	os_free(NULL);
	if (!p || osmem_heap_digest() != before)
		die("os_free(NULL) changed the heap");
	check_heap("os_free(NULL)");
}

static void double_free(void)
{
	char *a = os_malloc(100), *b = os_malloc(100);

	if (!a || !b)
		die("os_malloc failed");
	fill(b, 100, 3);
	os_free(a);
	uint64_t before = osmem_heap_digest();

	os_free(a);
	if (osmem_heap_digest() != before || header(a)->status != STATUS_FREE)
		die("a second os_free of a heap block changed something");
	errno = 0;
	void *r = os_realloc(a, 50);

	if (r || osmem_heap_digest() != before)
		die("os_realloc of a freed heap block returned %p or changed the heap", r);
	r = os_realloc(a, 5000);
	if (r || osmem_heap_digest() != before)
		die("os_realloc of a freed heap block returned %p or changed the heap", r);
	expect_filled("neighbour", b, 100, 3);
	check_heap("the double free");
	os_free(b);
}

static void scribbled_padding(void)
{
	char *a = os_malloc(100), *b = os_malloc(100), *c = os_malloc(100);

	if (!a || !b || !c)
		die("os_malloc failed");
	fill(a, 100, 1);
	memset((char *)header(b) + offsetof(struct block_meta, status) + sizeof(int), 0xff,
	       sizeof(int));
	os_free(b);
	check_heap("os_free of a block with scribbled padding");
	if (header(a)->status != STATUS_ALLOC || header(a)->size != 104 ||
	    header(a)->next != header(b) || header(b)->status != STATUS_FREE)
		die("os_free merged the freed block with the ALLOC block before it");
	if (os_malloc(100) != b)
		die("the freed block is not the best fit for its own size");
	expect_filled("the block before", a, 100, 1);
	os_free(a);
	os_free(b);
	os_free(c);
	check_heap("the frees");
}

/* Pointers never handed out: print it, pass it, and the library must abort. */
static void announce(void *ptr)
{
	osmem_printf("ptr %p\n", ptr);
}

static void *unmapped_header_page(void)
{
	char *two = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (two == MAP_FAILED || munmap(two, PAGE))
		die("mmap/munmap failed");
	return two + PAGE;     /* header would be in the unmapped page before it */
}

static void invalid(const char *name)
{
	long local[8] = { 0 };
	char *p = os_malloc(100);

	if (!p)
		die("os_malloc failed");
	if (!strcmp(name, "free-stack")) {
		announce(&local[4]);
		os_free(&local[4]);
	} else if (!strcmp(name, "realloc-stack")) {
		announce(&local[4]);
		os_realloc(&local[4], 10);
	} else if (!strcmp(name, "free-middle")) {
		announce(p + 48);
		os_free(p + 48);
	} else if (!strcmp(name, "free-misaligned")) {
		announce(p + 3);
		os_free(p + 3);
	} else if (!strcmp(name, "free-fake-header")) {
		/* A plausible header inside the payload, pointing back at the real block. */
		struct block_meta *fake = (struct block_meta *)(p + 16);

		fake->size = 24;
		fake->status = STATUS_ALLOC;
		fake->prev = header(p);
		fake->next = NULL;
		announce(fake + 1);
		os_free(fake + 1);
	} else if (!strcmp(name, "free-foreign-mapping")) {
		/* Someone else's mapping with a header that looks like a mapped block. */
		struct block_meta *fake = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (fake == MAP_FAILED)
			die("mmap failed");
		fake->size = PAGE - META_SIZE;
		fake->status = STATUS_MAPPED;
		announce(fake + 1);
		os_free(fake + 1);
	} else if (!strcmp(name, "free-unmapped-header")) {
		void *ptr = unmapped_header_page();

		announce(ptr);
		os_free(ptr);
	} else if (!strcmp(name, "realloc-unmapped-header")) {
		void *ptr = unmapped_header_page();

		announce(ptr);
		os_realloc(ptr, 100);
	} else if (!strcmp(name, "free-mapped-twice")) {
		char *m = os_malloc(200000);

		if (!m)
			die("os_malloc failed");
		os_free(m);            /* its header is unmapped now */
		announce(m);
		os_free(m);
	} else if (!strcmp(name, "realloc-mapped-freed")) {
		char *m = os_malloc(200000);

		if (!m)
			die("os_malloc failed");
		os_free(m);
		announce(m);
		os_realloc(m, 10);
	} else if (!strcmp(name, "free-before-heap")) {
		/* Just below HeapStart: the would-be header is outside the heap. */
		announce(p - 16);
		os_free(p - 16);
	} else {
		die("unknown case");
	}
	die("the library did not abort");
}

/* Corrupt one invariant, then the checker must name it. */
static void corrupt(const char *name)
{
	char *a = os_malloc(100), *b = os_malloc(200), *c = os_malloc(300);
	char *m = os_malloc(300000);
	char why[256];

	if (!a || !b || !c || !m)
		die("os_malloc failed");
	os_free(b);
	check_heap("setup");
	if (!strcmp(name, "corrupt-size"))
		header(a)->size += 4;
	else if (!strcmp(name, "corrupt-status"))
		header(b)->status = 7;
	else if (!strcmp(name, "corrupt-prev"))
		header(a)->prev = header(c);   /* the first block has no prev */
	else if (!strcmp(name, "corrupt-next"))
		header(a)->next = (struct block_meta *)((char *)header(a)->next + 8);
	else if (!strcmp(name, "corrupt-tiling"))
		header(c)->size += 8;     /* runs into the next block: a gap/overlap */
	else if (!strcmp(name, "corrupt-mapped-status"))
		header(m)->status = STATUS_ALLOC;
	else if (!strcmp(name, "corrupt-mapped-size"))
		header(m)->size = 300001;
	else if (!strcmp(name, "corrupt-prev-free"))   /* c's padding: "the block before is FREE" */
		memset((char *)header(c) + offsetof(struct block_meta, status) + sizeof(int), 0,
		       sizeof(int));
	else
		die("unknown case");
	if (!osmem_check_heap(why, sizeof(why)))
		die("osmem_check_heap did not see the corruption");
	osmem_printf("%s\n", why);
	os_malloc(8);   /* with OSMEM_CHECK=1 this aborts */
}

/*
 * A program writes into a block it freed (a use after free): the allocator must notice when it
 * next follows the free index through that block, and abort rather than hand out memory from
 * links the program wrote.
 */
static void write_after_free(const char *name)
{
	char *a = os_malloc(100), *guard = os_malloc(100);

	if (!a || !guard)
		die("os_malloc failed");
	os_free(a);
	announce(a);
	if (!strcmp(name, "write-after-free-bytes"))
		memset(a, 'A', 8);
	else if (!strcmp(name, "write-after-free-pointer"))
		memcpy(a, &guard, sizeof(guard));   /* a list node's `next`, as a stale node keeps */
	else
		die("unknown case");
	os_malloc(8);   /* its best fit is a's block: the index is read there */
	die("the library did not abort");
}

static void write_after_free_among(const char *name)
{
	size_t size = (size_t)atol(name + strlen("write-after-free-among-"));
	char *free_block[3];

	if (size == 0 || size > 100000)
		die("unknown case");
	/* Three free blocks of one size, each kept apart by a live guard (no coalescing). */
	for (int i = 0; i < 3; i++)
		if (!(free_block[i] = os_malloc(size)) || !os_malloc(8))
			die("os_malloc failed");
	for (int i = 0; i < 3; i++)
		os_free(free_block[i]);
	osmem_printf("below %p\n", free_block[0]);
	announce(free_block[1]);
	memset(free_block[1], 'A', 8);
	for (int i = 0; i < 3; i++)
		osmem_printf("got %p\n", os_malloc(size));
	die("the library did not abort");
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: badinput <case>");
	die_context("badinput %s", argv[1]);
	if (!strcmp(argv[1], "sizes"))
		osmem_printf("bad sizes tried: %d\n", huge_sizes());
	else if (!strcmp(argv[1], "free-null"))
		free_null();
	else if (!strcmp(argv[1], "double-free"))
		double_free();
	else if (!strcmp(argv[1], "scribbled-padding"))
		scribbled_padding();
	else if (!strncmp(argv[1], "corrupt-", 8))
		corrupt(argv[1]);
	else if (!strncmp(argv[1], "write-after-free-among-", 23))
		write_after_free_among(argv[1]);
	else if (!strncmp(argv[1], "write-after-free-", 17))
		write_after_free(argv[1]);
	else
		invalid(argv[1]);
	return 0;
}
