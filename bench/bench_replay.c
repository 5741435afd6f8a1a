// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench_replay: replays one allocation workload against one allocator, checks it, times it.
 *
 * Usage: bench_replay [--osmem LIB] [--min-seconds S] [--budget S] [--max-passes P]
 *                     [--fill-limit S] WORKLOAD
 *
 *   WORKLOAD  FILE             a malloc-lab trace: header lines of numbers, then one request a
 *                              line: `a ID SIZE` (malloc), `r ID SIZE` (realloc), `f ID` (free)
 *             steady:N:STEPS:SEED
 *                              the steady state: N live blocks (sizes uniform in 8..1024), then
 *                              STEPS times: free a random live block, allocate one in its place
 *   --osmem LIB     call os_malloc/os_realloc/os_free of LIB (dlopen); default: malloc, realloc,
 *                   free of the process (glibc, or whatever LD_PRELOAD puts first)
 *   --min-seconds   timed passes are repeated until they add up to this (default 0.1)
 *   --max-passes    at most this many passes, the checking pass included (default 1000)
 *   --budget        no new pass (no new step of the steady state) after this many seconds of
 *                   passes, except that one timed pass always runs (with at least half the
 *                   budget for the steady state): a slow allocator still gets a throughput
 *                   (default 5); a trace pass is never cut short
 *   --fill-limit    give up (exit 4) when placing the steady state's N blocks takes longer
 *                   than this (default 20)
 *
 * Output: one JSON line on stdout (see print_result). Exit 0; 2 for bad usage or a malformed
 * workload; 3 when the allocator is wrong (a NULL for a non-zero size, a misaligned pointer, a
 * block whose contents changed): a broken allocator is reported, never timed; 4 when it is too
 * slow to place the steady state's blocks.
 *
 * Invariants:
 *   - the allocator is called through one function table, the same code for every contender;
 *   - the driver makes no libc allocation of its own (its tables are mmap()ed), so every malloc
 *     call in the process is the workload's;
 *   - pass 1 is the checking pass: every byte of every block is written with the block's
 *     pattern byte and read back before the block is freed or reallocated (the kept prefix after
 *     a realloc), so overlapping blocks and lost contents are caught; the sum of the bytes read
 *     back is the checksum, a function of the workload alone for a correct allocator;
 *   - later passes are timed: they write the pattern byte at both ends of each block and check
 *     them before the block is freed or reallocated;
 *   - the allocator is never reset: pass k + 1 starts from the heap pass k left (a trace's
 *     blocks still live at its end are freed between passes, untimed);
 *   - each pass is bracketed by write(-1, "osmem-bench: pass K begin|end") so that a syscall
 *     trace of the run can count the allocator's brk/mmap calls pass by pass.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STEADY_MIN_SIZE 8
#define STEADY_MAX_SIZE 1024
#define BUDGET_CHECK_EVERY 256

struct allocator {
	const char *name;
	void *(*alloc)(size_t size);
	void *(*resize)(void *ptr, size_t size);
	void (*release)(void *ptr);
	size_t alignment;       /* every non-NULL pointer returned must be a multiple of it */
};

enum op_kind { OP_ALLOC = 'a', OP_REALLOC = 'r', OP_FREE = 'f' };

struct op {
	uint32_t kind;
	uint32_t id;
	uint64_t size;
};

struct block {
	unsigned char *ptr;
	uint64_t size;
	unsigned char pattern;
	unsigned char live;
};

struct workload {
	/* a trace */
	struct op *ops;
	size_t n_ops;
	size_t n_ids;
	/* the steady state */
	int steady;
	size_t live;
	size_t steps;
	uint64_t seed;
};

static struct allocator g_alloc;
static struct block *g_blocks;
static uint64_t g_serial;       /* blocks allocated so far: the source of pattern bytes */
static uint64_t g_live_payload;
static uint64_t g_peak_payload;
static uint64_t g_checksum;
static const char *g_workload_name;
static const char *g_context = "";

__attribute__((noreturn, format(printf, 2, 3)))
static void die(int status, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	dprintf(2, "bench_replay: %s%s%s\n", g_workload_name ? g_workload_name : "",
		g_workload_name ? ": " : "", message);
	_exit(status);
}

static void *map_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die(2, "cannot map %zu bytes for the driver's tables", bytes);
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void marker(const char *what, unsigned pass)
{
	char text[64];
	int len = snprintf(text, sizeof(text), "osmem-bench: pass %u %s", pass, what);

	/* EBADF on purpose: a syscall a tracer shows, with no effect */
	if (write(-1, text, (size_t)len) >= 0)
		die(2, "write(-1) succeeded");
}

/* ---- the allocators ---------------------------------------------------------------------- */

static void use_libc(void)
{
	g_alloc = (struct allocator){ "malloc", malloc, realloc, free, 16 };
}

static void use_osmem(const char *path)
{
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		die(2, "cannot load %s: %s", path, dlerror());
	g_alloc.name = "osmem";
	g_alloc.alloc = (void *(*)(size_t))dlsym(lib, "os_malloc");
	g_alloc.resize = (void *(*)(void *, size_t))dlsym(lib, "os_realloc");
	g_alloc.release = (void (*)(void *))dlsym(lib, "os_free");
	/* the contract: a 32-byte header on an 8-aligned address, the payload right after it */
	g_alloc.alignment = 8;
	if (!g_alloc.alloc || !g_alloc.resize || !g_alloc.release)
		die(2, "%s lacks os_malloc, os_realloc or os_free", path);
}

/* ---- reading a trace --------------------------------------------------------------------- */

static int parse_u64(const char **cursor, uint64_t *value)
{
	const char *p = *cursor;
	uint64_t v = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*cursor = p;
	*value = v;
	return 1;
}

static int rest_is_blank(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return *p == '\0';
}

static void read_trace(const char *path, struct workload *w)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *text, *line, *next;
	size_t line_no = 0, header_values = 0, capacity;
	uint64_t header[4] = { 0 };
	unsigned char *live;
	size_t live_bytes;

	if (fd < 0 || fstat(fd, &st) != 0)
		die(2, "cannot open %s: %s", path, strerror(errno));
	text = map_zeroed((size_t)st.st_size + 1);
	for (size_t done = 0; done < (size_t)st.st_size;) {
		ssize_t n = read(fd, text + done, (size_t)st.st_size - done);

		if (n <= 0)
			die(2, "cannot read %s", path);
		done += (size_t)n;
	}
	close(fd);
	capacity = (size_t)st.st_size / 4 + 1;     /* "f 0\n" is the shortest request line */
	w->ops = map_zeroed(capacity * sizeof(*w->ops));
	live_bytes = 1 << 20;
	live = map_zeroed(live_bytes);

	for (line = text; line && *line; line = next) {
		const char *p = line;
		struct op op = { 0 };
		uint64_t id, size = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		if (rest_is_blank(p))
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p >= '0' && *p <= '9') {
			uint64_t value;

			if (w->n_ops > 0 || header_values == 4 || !parse_u64(&p, &value) ||
			    !rest_is_blank(p))
				die(2, "%s:%zu: a header line (one number) after the requests began",
				    path, line_no);
			header[header_values++] = value;
			continue;
		}
		op.kind = (unsigned char)*p++;
		if (op.kind != OP_ALLOC && op.kind != OP_REALLOC && op.kind != OP_FREE)
			die(2, "%s:%zu: unknown request '%c' (a, r or f)", path, line_no,
			    (char)op.kind);
		if (!parse_u64(&p, &id) || (op.kind != OP_FREE && !parse_u64(&p, &size)) ||
		    !rest_is_blank(p))
			die(2, "%s:%zu: malformed request (a ID SIZE, r ID SIZE or f ID)", path,
			    line_no);
		if (id >= live_bytes)
			die(2, "%s:%zu: block id %llu is too large", path, line_no,
			    (unsigned long long)id);
		if (size > (1ULL << 40))
			die(2, "%s:%zu: size %llu is too large", path, line_no,
			    (unsigned long long)size);
		if (op.kind == OP_ALLOC && live[id])
			die(2, "%s:%zu: block %llu allocated while live", path, line_no,
			    (unsigned long long)id);
		if (op.kind != OP_ALLOC && !live[id])
			die(2, "%s:%zu: block %llu is not live", path, line_no,
			    (unsigned long long)id);
		live[id] = op.kind != OP_FREE;
		op.id = (uint32_t)id;
		op.size = size;
		w->ops[w->n_ops++] = op;
		if (id + 1 > w->n_ids)
			w->n_ids = id + 1;
	}
	/* the lab's 4-line header: heap size, ids, requests, weight */
	if (header_values == 4 && header[2] != w->n_ops)
		die(2, "%s: the header announces %llu requests, the file has %zu", path,
		    (unsigned long long)header[2], w->n_ops);
	if (w->n_ops == 0)
		die(2, "%s: no requests", path);
	munmap(live, live_bytes);
	munmap(text, (size_t)st.st_size + 1);
}

static void parse_steady(const char *spec, struct workload *w)
{
	const char *p = spec + strlen("steady:");
	uint64_t live, steps, seed;

	if (!parse_u64(&p, &live) || *p++ != ':' || !parse_u64(&p, &steps) || *p++ != ':' ||
	    !parse_u64(&p, &seed) || *p != '\0' || live == 0 || live > (1u << 24))
		die(2, "bad steady-state workload %s (steady:N:STEPS:SEED, 1 <= N <= 2^24)", spec);
	w->steady = 1;
	w->live = live;
	w->steps = steps;
	w->seed = seed ? seed : 1;
	w->n_ids = live;
}

/* ---- checking blocks --------------------------------------------------------------------- */

static unsigned char next_pattern(void)
{
	return (unsigned char)(1 + g_serial++ % 251);
}

static void check_pointer(const void *ptr, uint64_t size, size_t id)
{
	if (!ptr)
		die(3, "%s%s returned NULL for %llu bytes (block %zu)", g_context, g_alloc.name,
		    (unsigned long long)size, id);
	/* malloc's blocks under 16 bytes hold no 16-byte object: 8 is enough (jemalloc,
	   mimalloc and tcmalloc use it) */
	size_t alignment = size < 16 && g_alloc.alignment > 8 ? 8 : g_alloc.alignment;

	if ((uintptr_t)ptr % alignment)
		die(3, "%sblock %zu at %p is not %zu-byte aligned", g_context, id, ptr, alignment);
}

/* Checks that bytes [0, len) of block `id` all hold its pattern; adds them to the checksum. */
static void verify_all(size_t id, uint64_t len)
{
	const struct block *b = &g_blocks[id];

	if (len == 0)
		return;
	/* all bytes equal the first (memcmp against itself shifted by one), the first right */
	if (b->ptr[0] != b->pattern || memcmp(b->ptr, b->ptr + 1, len - 1) != 0) {
		uint64_t i = 0;

		while (b->ptr[i] == b->pattern)
			i++;
		die(3, "%sblock %zu (%llu bytes at %p) changed: byte %llu is 0x%02x, "
		    "expected 0x%02x (overlapping blocks, or contents lost)", g_context, id,
		    (unsigned long long)b->size, (void *)b->ptr, (unsigned long long)i,
		    b->ptr[i], b->pattern);
	}
	g_checksum += len * b->pattern;
}

static void verify_ends(size_t id, uint64_t len)
{
	const struct block *b = &g_blocks[id];

	if (len && (b->ptr[0] != b->pattern || b->ptr[len - 1] != b->pattern))
		die(3, "%sblock %zu (%llu bytes at %p) changed at one of its ends (expected 0x%02x)",
		    g_context, id, (unsigned long long)b->size, (void *)b->ptr, b->pattern);
}

static void mark(struct block *b, uint64_t from, int full)
{
	if (b->size == 0)
		return;
	if (full)
		memset(b->ptr + from, b->pattern, b->size - from);
	else
		b->ptr[0] = b->ptr[b->size - 1] = b->pattern;
}

static void payload_changed(uint64_t old_size, uint64_t new_size)
{
	g_live_payload = g_live_payload - old_size + new_size;
	if (g_live_payload > g_peak_payload)
		g_peak_payload = g_live_payload;
}

static void do_alloc(size_t id, uint64_t size, int full)
{
	struct block *b = &g_blocks[id];

	b->ptr = g_alloc.alloc(size);
	b->size = size;
	b->pattern = next_pattern();
	b->live = 1;
	if (size == 0)
		return;         /* os_malloc(0) is NULL by contract, malloc(0) may be anything */
	check_pointer(b->ptr, size, id);
	mark(b, 0, full);
	payload_changed(0, size);
}

static void do_free(size_t id, int full)
{
	struct block *b = &g_blocks[id];

	if (full)
		verify_all(id, b->size);
	else
		verify_ends(id, b->size);
	g_alloc.release(b->ptr);
	payload_changed(b->size, 0);
	b->ptr = NULL;
	b->size = 0;
	b->live = 0;
}

static void do_realloc(size_t id, uint64_t size, int full)
{
	struct block *b = &g_blocks[id];
	uint64_t old_size = b->size;
	uint64_t kept = old_size < size ? old_size : size;
	void *moved;

	if (full)
		verify_all(id, b->size);
	else
		verify_ends(id, b->size);
	moved = g_alloc.resize(b->ptr, size);
	if (size == 0) {        /* realloc(p, 0) frees, for os_realloc and glibc alike */
		payload_changed(old_size, 0);
		b->ptr = moved;
		b->size = 0;
		return;
	}
	check_pointer(moved, size, id);
	b->ptr = moved;
	if (full) {
		verify_all(id, kept);
		b->size = size;
		mark(b, kept, 1);
	} else {
		if (kept && b->ptr[0] != b->pattern)
			die(3, "%sblock %zu lost its first byte in realloc", g_context, id);
		b->size = size;
		mark(b, 0, 0);
	}
	payload_changed(old_size, size);
}

/* ---- passes ------------------------------------------------------------------------------ */

static uint64_t g_rng;

static uint64_t next_random(void)
{
	/* xorshift64*: deterministic, the same sequence for every contender */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * 2685821657736338717ULL;
}

static uint64_t steady_size(void)
{
	return STEADY_MIN_SIZE + next_random() % (STEADY_MAX_SIZE - STEADY_MIN_SIZE + 1);
}

static double g_budget_end;

/* One pass over the workload; returns the allocator calls made. */
static uint64_t run_pass(const struct workload *w, int full)
{
	uint64_t calls = 0;

	if (w->steady) {
		for (size_t step = 0; step < w->steps; step++) {
			size_t id = (size_t)(next_random() % w->live);

			if (step % BUDGET_CHECK_EVERY == 0 && step && now() > g_budget_end)
				break;
			do_free(id, full);
			do_alloc(id, steady_size(), full);
			calls += 2;
		}
		return calls;
	}
	for (size_t i = 0; i < w->n_ops; i++) {
		const struct op *op = &w->ops[i];

		switch (op->kind) {
		case OP_ALLOC:
			do_alloc(op->id, op->size, full);
			break;
		case OP_REALLOC:
			do_realloc(op->id, op->size, full);
			break;
		default:
			do_free(op->id, full);
		}
	}
	return w->n_ops;
}

static void free_leftovers(const struct workload *w)
{
	if (w->steady)
		return;
	for (size_t id = 0; id < w->n_ids; id++)
		if (g_blocks[id].live)
			do_free(id, 0);
}

static long status_kib(const char *field)
{
	char text[4096], *at;
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	at = strstr(text, field);
	return at ? strtol(at + strlen(field) + 1, NULL, 10) : -1;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); returns whether it could. */
static int reset_peak_rss(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	int ok = fd >= 0 && write(fd, "5", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* `text` as the inside of a JSON string (a trace's path may hold quotes or backslashes) */
static const char *json_string(const char *text)
{
	static char escaped[512];
	size_t n = 0;

	for (; *text && n + 7 < sizeof(escaped); text++) {
		unsigned char c = (unsigned char)*text;

		if (c == '"' || c == '\\') {
			escaped[n++] = '\\';
			escaped[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(escaped + n, sizeof(escaped) - n, "\\u%04x", c);
		} else {
			escaped[n++] = (char)c;
		}
	}
	escaped[n] = '\0';
	return escaped;
}

struct pass_record {
	uint64_t calls;
	double seconds;
};

int main(int argc, char **argv)
{
	const char *osmem = NULL, *spec = NULL;
	double min_seconds = 0.1, budget = 5.0, fill_limit = 20.0, timed = 0, fill_seconds = 0;
	double start;
	unsigned max_passes = 1000, passes = 0;
	struct workload w = { 0 };
	struct pass_record *records;
	long rss_base, rss_peak;
	int peak_reset;
	void *brk_start;
	char line[1024];
	int len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--osmem") && i + 1 < argc)
			osmem = argv[++i];
		else if (!strcmp(argv[i], "--min-seconds") && i + 1 < argc)
			min_seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--budget") && i + 1 < argc)
			budget = atof(argv[++i]);
		else if (!strcmp(argv[i], "--fill-limit") && i + 1 < argc)
			fill_limit = atof(argv[++i]);
		else if (!strcmp(argv[i], "--max-passes") && i + 1 < argc)
			max_passes = (unsigned)atoi(argv[++i]);
		else if (argv[i][0] != '-' && !spec)
			spec = argv[i];
		else
			die(2, "usage: bench_replay [--osmem LIB] [--min-seconds S] [--budget S] "
			    "[--max-passes P] [--fill-limit S] FILE.rep|steady:N:STEPS:SEED");
	}
	if (!spec || max_passes < 1)
		die(2, "usage: bench_replay [--osmem LIB] [--min-seconds S] [--budget S] "
		    "[--max-passes P] [--fill-limit S] FILE.rep|steady:N:STEPS:SEED");
	g_workload_name = spec;
	if (osmem)
		use_osmem(osmem);
	else
		use_libc();
	if (!strncmp(spec, "steady:", 7))
		parse_steady(spec, &w);
	else
		read_trace(spec, &w);
	g_blocks = map_zeroed(w.n_ids * sizeof(*g_blocks));
	records = map_zeroed(max_passes * sizeof(*records));
	g_rng = w.seed;

	brk_start = sbrk(0);
	peak_reset = reset_peak_rss();
	rss_base = status_kib("VmRSS:");
	if (w.steady) {
		g_context = "filling: ";
		marker("begin", 0);
		start = now();
		for (size_t id = 0; id < w.live; id++) {
			if (id % BUDGET_CHECK_EVERY == 0 && now() - start > fill_limit)
				die(4, "placed only %zu of %zu blocks in %g s", id, w.live,
				    fill_limit);
			do_alloc(id, steady_size(), 1);
		}
		fill_seconds = now() - start;
		marker("end", 0);
	}
	start = now();
	g_budget_end = start + budget;
	while (passes < max_passes) {
		int full = passes == 0;
		double t0;
		static char context[48];

		snprintf(context, sizeof(context), "pass %u: ", passes + 1);
		g_context = context;
		marker("begin", passes + 1);
		t0 = now();
		records[passes].calls = run_pass(&w, full);
		records[passes].seconds = now() - t0;
		marker("end", passes + 1);
		free_leftovers(&w);
		if (!full)
			timed += records[passes].seconds;
		passes++;
		if (passes > 1 && (timed >= min_seconds || now() > g_budget_end))
			break;
		/* a slow checking pass still leaves the first timed pass some time */
		if (passes == 1 && now() + budget / 2 > g_budget_end)
			g_budget_end = now() + budget / 2;
	}
	/* the checking pass wrote every byte: VmHWM is the footprint the workload touched */
	rss_peak = status_kib("VmHWM:");

	len = snprintf(line, sizeof(line),
		       "{\"workload\": \"%s\", \"allocator\": \"%s\", \"checksum\": %llu, "
		       "\"peak_payload\": %llu, \"rss_base_kib\": %ld, \"rss_peak_kib\": %ld, "
		       "\"rss_peak_exact\": %s, \"brk_start\": %llu, \"fill_seconds\": %.9f, "
		       "\"passes\": [",
		       json_string(spec), g_alloc.name, (unsigned long long)g_checksum,
		       (unsigned long long)g_peak_payload, rss_base, rss_peak,
		       peak_reset ? "true" : "false", (unsigned long long)(uintptr_t)brk_start,
		       fill_seconds);
	if (write(1, line, (size_t)len) != len)
		return 1;
	for (unsigned i = 0; i < passes; i++) {
		len = snprintf(line, sizeof(line), "%s[%llu, %.9f]", i ? ", " : "",
			       (unsigned long long)records[i].calls, records[i].seconds);
		if (write(1, line, (size_t)len) != len)
			return 1;
	}
	return write(1, "]}\n", 3) == 3 ? 0 : 1;
}
