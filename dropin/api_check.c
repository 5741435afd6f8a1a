// SPDX-License-Identifier: BSD-3-Clause
/*
 * api_check: the drop-in's API edge cases, run with LD_PRELOAD=libosmem_malloc.so.
 *
 * It prints facts, one per line, that checker/selftest/test_dropin.py compares exactly: which
 * library malloc comes from, counts of misaligned or undersized blocks (expected 0) out of
 * counts of calls, the result and errno of each overflowing or invalid call, contents kept by
 * realloc, and threads and fork under load. Nothing here decides pass or fail: the numbers
 * are printed as measured, so a wrong drop-in prints a different line.
 * `api_check <case>` instead gives the drop-in one invalid pointer (free-misaligned,
 * realloc-misaligned, free-stack), which must abort the process.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errno_name(int error)
{
	switch (error) {
	case 0: return "0";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	default: return "other";
	}
}

static int misaligned(const void *p, size_t align)
{
	return (uintptr_t)p % align != 0;
}

/* Sizes around the interesting boundaries: tiny, the 128 KiB mmap threshold, pages. */
static const size_t SIZES[] = {
	0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 100, 127, 128, 255, 256, 1000,
	4000, 4056, 4057, 4095, 4096, 4097, 8192, 65536, 131000, 131032, 131033, 131072, 200000,
	1 << 20,
};
enum { NSIZES = sizeof(SIZES) / sizeof(SIZES[0]) };

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7);
}

static int intact(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed * 131 + i * 7))
			return 0;
	return 1;
}

static void check_origin(void)
{
	Dl_info info;
	void *symbol = dlsym(RTLD_DEFAULT, "malloc");
	const char *name = symbol && dladdr(symbol, &info) && info.dli_fname ? info.dli_fname : "?";
	const char *slash = strrchr(name, '/');

	printf("malloc from %s\n", slash ? slash + 1 : name);
}

/* malloc, calloc and realloc of every size: alignment, usable size, contents, zeroing. */
static void check_basic(void)
{
	void *blocks[3 * NSIZES];
	size_t sizes[3 * NSIZES];
	int bad_align = 0, short_usable = 0, not_zero = 0, corrupted = 0, calls = 0;

	for (int i = 0; i < NSIZES; i++) {
		/* Dirty memory first, so calloc has to zero what it reuses. */
		void *dirty = malloc(SIZES[i]);

		memset(dirty, 0xa5, SIZES[i]);
		free(dirty);
		blocks[3 * i] = malloc(SIZES[i]);
		blocks[3 * i + 1] = calloc(1, SIZES[i]);
		blocks[3 * i + 2] = realloc(NULL, SIZES[i]);
		for (int k = 0; k < 3; k++) {
			void *p = blocks[3 * i + k];

			calls++;
			sizes[3 * i + k] = malloc_usable_size(p);
			bad_align += !p || misaligned(p, 16);
			short_usable += !p || sizes[3 * i + k] < SIZES[i];
		}
		for (size_t b = 0; b < SIZES[i]; b++)
			not_zero += ((unsigned char *)blocks[3 * i + 1])[b] != 0;
	}
	/* Every byte malloc_usable_size promises is the block's own: fill all, then check all. */
	for (int i = 0; i < 3 * NSIZES; i++)
		fill(blocks[i], sizes[i], (unsigned)i);
	for (int i = 0; i < 3 * NSIZES; i++) {
		corrupted += !intact(blocks[i], sizes[i], (unsigned)i);
		free(blocks[i]);
	}
	printf("malloc/calloc/realloc(NULL): %d calls, %d misaligned, %d short of the size, "
	       "%d blocks corrupted when filled to malloc_usable_size\n", calls, bad_align,
	       short_usable, corrupted);
	printf("calloc: %d nonzero bytes\n", not_zero);

	void *zero1 = malloc(0), *zero2 = malloc(0);

	printf("malloc(0): %s\n", zero1 && zero2 && zero1 != zero2 ? "two distinct pointers"
								   : "NULL or same pointer");
	free(zero1);
	free(zero2);
	errno = 0;
	free(NULL);
	printf("free(NULL): errno %s\n", errno_name(errno));
}

/* realloc grows and shrinks one block across the heap and mmap, keeping its contents. */
static void check_realloc(void)
{
	static const size_t steps[] = {1, 24, 100, 4000, 50000, 131072, 300000, 1 << 21, 200000,
				       5000, 40, 3, 70000, 16};
	unsigned char *p = NULL;
	size_t kept = 0;
	int lost = 0, bad_align = 0;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		p = realloc(p, steps[i]);
		size_t common = kept < steps[i] ? kept : steps[i];

		lost += !intact(p, common, 3);
		bad_align += misaligned(p, 16);
		fill(p, steps[i], 3);
		kept = steps[i];
	}
	printf("realloc chain: %zu steps, %d lost contents, %d misaligned\n",
	       sizeof(steps) / sizeof(steps[0]), lost, bad_align);
	errno = 0;
	void *gone = realloc(p, 0);

	printf("realloc(p, 0) = %s errno %s\n", gone ? "pointer" : "NULL", errno_name(errno));

	/* A block placed for a large alignment, then grown and shrunk by realloc. */
	unsigned char *q = memalign(4096, 3000);

	fill(q, 3000, 9);
	q = realloc(q, 9000);
	int grown_ok = intact(q, 3000, 9) && !misaligned(q, 16);

	q = realloc(q, 100);
	printf("realloc of memalign(4096, 3000): grown %s, shrunk %s\n", grown_ok ? "kept" : "lost",
	       intact(q, 100, 9) && !misaligned(q, 16) ? "kept" : "lost");
	free(q);
}

/* posix_memalign, aligned_alloc, memalign: every power of two from 16 to 65536. */
static void check_aligned(void)
{
	static const size_t sizes[] = {1, 100, 4096, 5000, 200000};
	int calls = 0, bad = 0;

	for (size_t align = 16; align <= 65536; align *= 2) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			void *a = NULL;
			int result = posix_memalign(&a, align, sizes[s]);
			void *b = aligned_alloc(align, sizes[s]);
			void *c = memalign(align, sizes[s]);

			calls += 3;
			bad += result != 0 || !a || misaligned(a, align) ||
			       malloc_usable_size(a) < sizes[s];
			bad += !b || misaligned(b, align) || malloc_usable_size(b) < sizes[s];
			bad += !c || misaligned(c, align) || malloc_usable_size(c) < sizes[s];
			fill(a, sizes[s], 1);
			fill(b, sizes[s], 2);
			fill(c, sizes[s], 3);
			bad += !intact(a, sizes[s], 1) + !intact(b, sizes[s], 2) +
			       !intact(c, sizes[s], 3);
			free(a);
			free(b);
			free(c);
		}
	}
	printf("posix_memalign/aligned_alloc/memalign 16..65536: %d calls, %d misaligned, short "
	       "or corrupted\n", calls, bad);

	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *v = valloc(10), *pv = pvalloc(10), *pv0 = pvalloc(0);

	printf("valloc(10): page-aligned %s\n", v && !misaligned(v, page) ? "yes" : "no");
	printf("pvalloc(10): page-aligned %s, usable >= page %s\n",
	       pv && !misaligned(pv, page) ? "yes" : "no",
	       pv && malloc_usable_size(pv) >= page ? "yes" : "no");
	printf("pvalloc(0): %s\n", pv0 && !misaligned(pv0, page) ? "a page-aligned block" : "NULL");
	free(v);
	free(pv);
	free(pv0);
	printf("memalign(24, 10): 32-aligned %s\n",
	       (v = memalign(24, 10)) && !misaligned(v, 32) ? "yes" : "no");
	free(v);

	static const size_t bad_alignments[] = {0, 3, 4, 24, 100};

	for (size_t i = 0; i < sizeof(bad_alignments) / sizeof(bad_alignments[0]); i++) {
		void *untouched = &v;
		int result = posix_memalign(&untouched, bad_alignments[i], 10);

		printf("posix_memalign(alignment %zu) = %s, pointer %s\n", bad_alignments[i],
		       errno_name(result), untouched == &v ? "untouched" : "changed");
	}
	errno = 0;
	v = aligned_alloc(48, 10);
	printf("aligned_alloc(48, 10) = %s errno %s\n", v ? "pointer" : "NULL", errno_name(errno));
	free(v);
}

#define REPORT(label, call)                                                          \
	do {                                                                         \
		errno = 0;                                                           \
		void *result = (call);                                               \
		printf("%s = %s errno %s\n", label, result ? "pointer" : "NULL",     \
		       errno_name(errno));                                           \
		free(result);                                                        \
	} while (0)

/* Sizes the compiler cannot see, so it does not reject the overflowing calls at build time. */
static size_t opaque(size_t n)
{
	volatile size_t hidden = n;

	return hidden;
}

/* Requests that cannot be served: NULL and ENOMEM, and the old block left as it was, which is
 * what the reads of `block` after a failed realloc check (GCC assumes the call succeeded). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuse-after-free"
static void check_overflow(void)
{
	REPORT("malloc(SIZE_MAX)", malloc(opaque(SIZE_MAX)));
	REPORT("malloc(SIZE_MAX - 16)", malloc(opaque(SIZE_MAX - 16)));
	REPORT("malloc((size_t)PTRDIFF_MAX + 1)", malloc(opaque((size_t)PTRDIFF_MAX + 1)));
	REPORT("calloc(SIZE_MAX / 2, 3)", calloc(opaque(SIZE_MAX / 2), 3));
	REPORT("calloc(3, SIZE_MAX / 2)", calloc(3, opaque(SIZE_MAX / 2)));
	REPORT("calloc((size_t)1 << 32, (size_t)1 << 32)", calloc(opaque((size_t)1 << 32), (size_t)1 << 32));
	REPORT("aligned_alloc(4096, SIZE_MAX - 100)", aligned_alloc(4096, opaque(SIZE_MAX - 100)));
	REPORT("memalign((size_t)1 << 20, SIZE_MAX - 4096)", memalign((size_t)1 << 20, opaque(SIZE_MAX - 4096)));
	REPORT("valloc(SIZE_MAX)", valloc(opaque(SIZE_MAX)));
	REPORT("pvalloc(SIZE_MAX)", pvalloc(opaque(SIZE_MAX)));

	void *p = NULL;
	int result = posix_memalign(&p, 64, opaque(SIZE_MAX));

	printf("posix_memalign(64, SIZE_MAX) = %s\n", errno_name(result));

	unsigned char *block = malloc(100);

	fill(block, 100, 5);
	errno = 0;
	void *grown = realloc(block, opaque(SIZE_MAX));

	printf("realloc(p, SIZE_MAX) = %s errno %s, old block %s\n", grown ? "pointer" : "NULL",
	       errno_name(errno), intact(block, 100, 5) ? "intact" : "changed");
	errno = 0;
	grown = reallocarray(block, opaque(SIZE_MAX / 2), 3);
	printf("reallocarray(p, SIZE_MAX/2, 3) = %s errno %s, old block %s\n",
	       grown ? "pointer" : "NULL", errno_name(errno),
	       intact(block, 100, 5) ? "intact" : "changed");
	block = reallocarray(block, 50, 4);
	printf("reallocarray(p, 50, 4): contents %s, usable >= 200 %s\n",
	       block && intact(block, 100, 5) ? "kept" : "lost",
	       block && malloc_usable_size(block) >= 200 ? "yes" : "no");
	free(block);
}
#pragma GCC diagnostic pop

enum { THREADS = 4, OPS = 10000, SLOTS = 64 };

struct worker {
	unsigned id;
	long ops;           /* operations to run; 0: until *stop */
	atomic_int *stop;
	int corrupted, misaligned, failed;
};

static size_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (size_t)*state;
}

/* Random malloc/calloc/realloc/free on private slots, each block filled and checked. */
static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned char *slot[SLOTS] = {0};
	size_t size[SLOTS] = {0};
	uint64_t state = 0x9e3779b97f4a7c15ULL * (w->id + 1);

	for (long op = 0; w->ops ? op < w->ops : !atomic_load(w->stop); op++) {
		size_t r = next_random(&state), i = r % SLOTS;
		size_t n = (r >> 8) % 64 == 0 ? 140000 + (r >> 16) % 20000 : (r >> 16) % 2048;
		unsigned seed = (unsigned)(w->id * SLOTS + i);

		if (slot[i] && !intact(slot[i], size[i], seed))
			w->corrupted++;
		switch ((r >> 40) % 4) {
		case 0:
			free(slot[i]);
			slot[i] = NULL;
			size[i] = 0;
			continue;
		case 1:
			free(slot[i]);
			slot[i] = calloc(1, n);
			break;
		case 2:
			free(slot[i]);
			slot[i] = malloc(n);
			break;
		default:
			slot[i] = realloc(slot[i], n);
			if (slot[i] && !intact(slot[i], size[i] < n ? size[i] : n, seed))
				w->corrupted++;
		}
		w->failed += !slot[i] && n;
		w->misaligned += slot[i] && misaligned(slot[i], 16);
		size[i] = slot[i] ? n : 0;
		if (slot[i])
			fill(slot[i], n, seed);
	}
	for (int i = 0; i < SLOTS; i++)
		free(slot[i]);
	return NULL;
}

static void check_threads(void)
{
	pthread_t threads[THREADS];
	struct worker workers[THREADS];
	int corrupted = 0, bad_align = 0, failed = 0;

	for (unsigned t = 0; t < THREADS; t++) {
		workers[t] = (struct worker){.id = t, .ops = OPS};
		pthread_create(&threads[t], NULL, work, &workers[t]);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		pthread_join(threads[t], NULL);
		corrupted += workers[t].corrupted;
		bad_align += workers[t].misaligned;
		failed += workers[t].failed;
	}
	printf("threads: %d x %d operations, %d corrupted, %d misaligned, %d failed\n", THREADS,
	       OPS, corrupted, bad_align, failed);
}

/* fork() while other threads allocate: each child must be able to allocate and exit. */
static void check_fork(void)
{
	enum { BUSY = 3, FORKS = 10, CHILD_OPS = 500 };
	pthread_t threads[BUSY];
	struct worker workers[BUSY];
	atomic_int stop = 0;
	int exited_zero = 0;

	for (unsigned t = 0; t < BUSY; t++) {
		workers[t] = (struct worker){.id = 10 + t, .stop = &stop};
		pthread_create(&threads[t], NULL, work, &workers[t]);
	}
	for (int i = 0; i < FORKS; i++) {
		pid_t child = fork();

		if (child == 0) {
			alarm(5);  /* a child deadlocked on an allocator lock dies, not hangs */
			struct worker alone = {.id = 100, .ops = CHILD_OPS};
			unsigned char *big = malloc(300000);

			fill(big, 300000, 7);
			work(&alone);
			_exit(alone.corrupted || alone.failed || !intact(big, 300000, 7));
		}
		int status = 0;

		if (child <= 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			break;  /* one deadlock costs the alarm: do not wait for more */
		exited_zero++;
	}
	atomic_store(&stop, 1);
	for (unsigned t = 0; t < BUSY; t++)
		pthread_join(threads[t], NULL);
	printf("fork with %d threads allocating: %d of %d children allocated and exited 0 "
	       "(stops at the first that does not)\n", BUSY, exited_zero, FORKS);
}

/* Pointers the allocator never handed out: the drop-in must abort, naming the function. */
static int invalid_pointer(const char *which)
{
	char *block = malloc(64);

	if (strcmp(which, "free-misaligned") == 0)
		free(block + 8);
	else if (strcmp(which, "realloc-misaligned") == 0)
		block = realloc(block + 8, 100);
	else if (strcmp(which, "free-stack") == 0) {
		/* A header that points above the pointer: no os_* block lies there. */
		_Alignas(16) void *fake[4] = {&fake[3], (void *)64, 0, 0};

		free(&fake[2]);
	}
	printf("%s: survived\n", which);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2)
		return invalid_pointer(argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_origin();
	check_basic();
	check_realloc();
	check_aligned();
	check_overflow();
	check_threads();
	check_fork();
	return 0;
}
