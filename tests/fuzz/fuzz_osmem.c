// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer harness for os_* (`make fuzz-lib`): clang -fsanitize=fuzzer,address,undefined,
 * linked with the library's sources, whose ASan build poisons headers and FREE payloads
 * (src/annotate.h), so a stray write by the library into a neighbour is reported too.
 *
 * Input: a sequence of operations, each an opcode byte and a few argument bytes (missing bytes
 * read as 0), on 32 slots:
 *   op % 8 == 0, 1  malloc(slot, size)        2  calloc(slot, nmemb, size)
 *             3, 4  realloc(slot, size)       5  free(slot)
 *                6  realloc(slot, 0)          7  rewrite slot's pattern
 * size: one class byte and two value bytes (small, medium, around the calloc threshold, around
 * the mmap threshold, large), so thresholds are hit often.
 *
 * After every operation: the result is checked against the contract (NULL exactly for zero
 * sizes, 8-byte alignment, calloc memory zero, realloc keeps min(old, new) bytes), every live
 * slot still holds its own pattern at both ends (no overlap; the whole block is verified before
 * each free and realloc), and osmem_check_heap() finds
 * every heap and mapping invariant intact. At the end of an input every slot is freed and the
 * heap is checked again. A violation aborts: libFuzzer saves the input as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_meta.h"
#include "osmem.h"
#include "osmem_debug.h"

#define SLOTS 32
#define MAX_OPS 200
#define EDGE 64

struct slot {
	unsigned char *p;
	size_t n;
	unsigned seed;
};

static struct slot slots[SLOTS];
static unsigned next_seed = 1;
static const uint8_t *in;
static size_t in_len;
static size_t op_index;

static __attribute__((noreturn)) void fail(const char *what, int slot)
{
	fprintf(stderr, "fuzz_osmem: op #%zu, slot %d: %s\n", op_index, slot, what);
	abort();
}

static uint8_t take(void)
{
	if (!in_len)
		return 0;
	in_len--;
	return *in++;
}

static size_t take_size(void)
{
	uint8_t cls = take();
	size_t v = take() | (size_t)take() << 8;

	switch (cls % 8) {
	case 0:
		return 0;
	case 1: case 2: case 3:
		return v % 257;                         /* small, alignment edges */
	case 4:
		return v % 8193;                        /* medium */
	case 5:
		return 4056 - 48 + v % 96;              /* calloc's page threshold (4056/4057) */
	case 6:
		return 131032 - 48 + v % 96;            /* the mmap threshold (131032/131033) */
	default:
		return v * 5 % 300000;                  /* large, up to ~300 KB */
	}
}

static unsigned char pattern(unsigned seed, size_t i)
{
	uint32_t h = seed * 2654435761u ^ (uint32_t)(i * 40503u + (i >> 8));

	return (unsigned char)(h ^ h >> 13);
}

static void fill(struct slot *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->p[i] = pattern(s->seed, i);
}

static void verify(const struct slot *s, int slot, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (s->p[i] != pattern(s->seed, i))
			fail(what, slot);
}

static void check_new(int slot, void *p, size_t n, const char *what)
{
	if (!n) {
		if (p)
			fail("a zero size did not return NULL", slot);
		return;
	}
	if (!p)
		fail(what, slot);
	if ((uintptr_t)p % 8)
		fail("a payload is not 8-byte aligned", slot);
}

static void set(int slot, void *p, size_t n)
{
	struct slot *s = &slots[slot];

	s->p = p;
	s->n = p ? n : 0;
	s->seed = next_seed++;
	fill(s);
}

static void do_free(int slot)
{
	struct slot *s = &slots[slot];

	verify(s, slot, s->n, "contents changed before os_free");
	os_free(s->p);
	s->p = NULL;
	s->n = 0;
}

static void check_all(void)
{
	char why[256];

	/* The edges of every live block, where a neighbour's header or split would land; the
	 * whole block is verified before it is freed or reallocated. */
	for (int i = 0; i < SLOTS; i++) {
		const struct slot *s = &slots[i];
		size_t edge = s->n < 2 * EDGE ? s->n : EDGE;

		verify(s, i, edge, "contents changed by another call (overlap?)");
		for (size_t j = s->n - edge; j < s->n; j++)
			if (s->p[j] != pattern(s->seed, j))
				fail("the end of a block changed by another call (overlap?)", i);
	}
	if (osmem_check_heap(why, sizeof(why))) {
		fprintf(stderr, "fuzz_osmem: heap check: %s\n", why);
		fail("osmem_check_heap failed", -1);
	}
}

static void step(uint8_t op)
{
	int slot = take() % SLOTS;
	struct slot *s = &slots[slot];

	switch (op % 8) {
	case 0: case 1: {
		size_t n = take_size();

		if (s->p)
			do_free(slot);
		void *p = os_malloc(n);

		check_new(slot, p, n, "os_malloc returned NULL");
		set(slot, p, n);
		break;
	}
	case 2: {
		size_t nmemb = take() % 17, size = take_size() / 16;

		if (s->p)
			do_free(slot);
		unsigned char *p = os_calloc(nmemb, size);

		check_new(slot, p, nmemb * size, "os_calloc returned NULL");
		for (size_t i = 0; p && i < nmemb * size; i++)
			if (p[i])
				fail("os_calloc memory is not zero", slot);
		set(slot, p, nmemb * size);
		break;
	}
	case 3: case 4: case 6: {
		size_t n = op % 8 == 6 ? 0 : take_size();
		size_t keep = s->n < n ? s->n : n;
		struct slot old = *s;

		verify(s, slot, s->n, "contents changed before os_realloc");
		unsigned char *p = os_realloc(s->p, n);

		if (!n) {
			if (p)
				fail("os_realloc(ptr, 0) did not return NULL", slot);
			s->p = NULL;
			s->n = 0;
			break;
		}
		check_new(slot, p, n, "os_realloc returned NULL");
		old.p = p;
		verify(&old, slot, keep, "os_realloc lost contents");
		set(slot, p, n);
		break;
	}
	case 5:
		if (s->p)
			do_free(slot);
		break;
	default:
		if (s->p) {
			verify(s, slot, s->n, "contents changed");
			s->seed = next_seed++;
			fill(s);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];

	in = data;
	in_len = size;
	for (op_index = 0; in_len && op_index < MAX_OPS; op_index++) {
		step(take());
		check_all();
	}
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].p)
			do_free(i);
	if (osmem_check_heap(why, sizeof(why))) {
		fprintf(stderr, "fuzz_osmem: heap check after freeing all: %s\n", why);
		fail("osmem_check_heap failed", -1);
	}
	return 0;
}
