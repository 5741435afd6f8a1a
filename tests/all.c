/*
 * all: a mixed program exercising everything at once: zero sizes and NULL pointers, mapped
 * blocks before the heap exists, the known heap state (start_from_known_heap), then 1500 operations drawn from a fixed
 * pseudo-random sequence (a constant-seeded LCG: the calls never depend on addresses) over
 * 48 slots: os_malloc, os_calloc and os_realloc of sizes around both thresholds and in
 * between, grow/shrink/same-size/zero reallocs, frees, and right after a heap block is freed
 * a second os_free and an os_realloc of the FREE block. Every block keeps its own pattern;
 * calloc memory is zero; realloc keeps the contents; in the layout profile, headers match
 * the classification.
 * Rules 1-20.
 * points: 4
 */
#include "common.h"

#define SLOTS 48
#define OPS 1500

static uint64_t g_rng = 0x2545f4914f6cdd1dULL;

static unsigned rnd(unsigned n)
{
	g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((g_rng >> 33) % n);
}

/* A request size: mostly small, some around the thresholds, some mapped. */
static size_t pick_size(void)
{
	unsigned r = rnd(100);

	if (r < 40)
		return 1 + rnd(256);
	if (r < 65)
		return 257 + rnd(3800);
	if (r < 78)
		return 4057 + rnd(60000);
	if (r < 84)
		return 131024 + rnd(18);     /* 131024..131041: both sides of 131032/131033 */
	if (r < 88)
		return 4049 + rnd(16);       /* 4049..4064: the calloc threshold */
	if (r < 90)
		return 0;
	return 131033 + rnd(200000);
}

static void calloc_some(int i)
{
	size_t total = pick_size();
	unsigned r = rnd(3);

	if (total == 0) {
		T_calloc(i, rnd(2) ? 0 : 1 + rnd(100), 0);
		if (slot_of(i)->kind == K_NONE)
			T_calloc(i, 0, 1 + rnd(100));
		return;
	}
	if (r == 0 || total % 8)
		T_calloc(i, 1, total);
	else if (r == 1)
		T_calloc(i, total / 8, 8);
	else
		T_calloc(i, 8, total / 8);
}

static void free_heap_twice(int i)
{
	struct slot *s = slot_of(i);
	void *p = s->p;
	size_t size;

	if (s->kind != K_HEAP) {
		T_free(i);
		return;
	}
	size = hdr(p)->size;
	T_free(i);
	os_free(p);                                /* rule 13: nothing */
	if (os_realloc(p, 1 + rnd(1000)) != NULL)  /* rule 14: NULL */
		die("os_realloc of a FREE block returned non-NULL");
	expect_free_block("a second os_free or os_realloc of a FREE block", p, size);
}

int main(void)
{
	int i, op;

	/* before the heap exists: nothing of this touches it */
	T_malloc(0, 0);
	T_calloc(0, 0, 10);
	T_realloc(0, 0);
	os_free(NULL);
	T_malloc(0, 300000);
	T_calloc(1, 2, 4096);
	T_realloc(2, 131033);
	T_realloc(2, 131040);
	/* the known heap state; a mapped block coming back to the heap */
	start_from_known_heap();
	T_realloc(1, 100);
	expect_at(1, 0x20);

	for (op = 0; op < OPS; op++) {
		unsigned r = rnd(100);

		i = (int)rnd(SLOTS);
		if (slot_of(i)->kind == K_NONE) {
			if (r < 40)
				T_malloc(i, pick_size());
			else if (r < 70)
				calloc_some(i);
			else if (r < 97)
				T_realloc(i, pick_size());
			else
				os_free(NULL);
		} else {
			if (r < 25)
				T_free(i);
			else if (r < 32)
				free_heap_twice(i);
			else if (r < 50)
				T_realloc(i, slot_of(i)->n + 1 + rnd(2000));      /* grow */
			else if (r < 65)
				T_realloc(i, 1 + rnd((unsigned)slot_of(i)->n));   /* shrink */
			else if (r < 70)
				T_realloc(i, slot_of(i)->n);                      /* same */
			else if (r < 73)
				T_realloc(i, 0);
			else
				T_realloc(i, pick_size());
		}
		if (op % 250 == 249)
			verify_all("all");
	}

	for (i = 0; i < SLOTS; i++)
		if (slot_of(i)->kind != K_NONE) {
			if (i % 3 == 0)
				T_realloc(i, 0);
			else
				T_free(i);
		}
	T_malloc(0, 131032);      /* everything merged again */
	expect_at(0, 0x20);
	T_free(0);
	return finish();
}
