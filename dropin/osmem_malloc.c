// SPDX-License-Identifier: BSD-3-Clause
/*
 * libosmem_malloc.so: the C allocation API (malloc, free, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size) over any
 * os_* library, for LD_PRELOAD.
 *
 * The os_* library is a DT_NEEDED dependency (libosmem.so, found through this library's
 * $ORIGIN rpath), so the loader maps it before any program code runs: nothing here calls
 * dlopen or dlsym, which could allocate through this very malloc while it bootstraps.
 *
 * Invariants:
 *   - every os_* call happens with `lock` held: the os_* library is not thread-safe. The lock
 *     is error-checking, so an os_* library that calls malloc from inside os_* (re-entering
 *     this file on the same thread) is reported on stderr and aborts instead of deadlocking;
 *   - every user pointer u handed out is ALIGN-aligned (ALIGN = alignof(max_align_t), or more
 *     for the memalign family) and is preceded by a struct header at u - HEADER, holding the
 *     pointer the os_* library returned (base) and the usable size: [u, u + usable) lies
 *     inside the os_* block [base, base + requested), whatever alignment the os_* library gives;
 *   - a request that cannot be served (arithmetic overflow, more than PTRDIFF_MAX, the os_*
 *     library returning NULL) returns NULL with errno == ENOMEM; an invalid alignment gives
 *     EINVAL; nothing is changed by a failed call;
 *   - across fork() the lock is held (pthread_atfork), so the child inherits a consistent
 *     os_* heap and a fresh lock;
 *   - a pointer given back that is misaligned or whose header does not point below it is
 *     reported as glibc does ("free(): invalid pointer") and the process aborts;
 *   - no stdio: messages are written with write(2).
 */
#define _GNU_SOURCE  /* PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osmem.h"

#define EXPORT __attribute__((visibility("default")))

struct header {
	void *base;     /* what os_malloc/os_calloc/os_realloc returned */
	size_t usable;  /* bytes the user may use from the user pointer on */
};

enum {
	ALIGN = alignof(max_align_t),
	HEADER = sizeof(struct header),
};

_Static_assert(HEADER % ALIGN == 0 || ALIGN % HEADER == 0, "header fits the alignment");

static pthread_mutex_t lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;

static void die(const char *message)
{
	ssize_t written = write(STDERR_FILENO, message, strlen(message));

	(void)written;
	abort();
}

static void acquire(void)
{
	if (pthread_mutex_lock(&lock) == EDEADLK)
		die("libosmem_malloc: the os_* library called malloc/free from inside an os_* "
		    "call\n");
}

static void release(void)
{
	pthread_mutex_unlock(&lock);
}

static void before_fork(void)
{
	acquire();
}

static void after_fork_parent(void)
{
	release();
}

static void after_fork_child(void)
{
	/* Only the forking thread exists in the child: a fresh lock, the heap as it was. */
	pthread_mutex_t fresh = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;

	lock = fresh;
}

__attribute__((constructor)) static void register_fork_handlers(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static struct header *header_of(void *user)
{
	return (struct header *)((char *)user - HEADER);
}

/* The header of a pointer given back by the program, after what can be checked cheaply: it
 * is aligned as every pointer handed out, and its header points below it. */
static struct header *valid_header(void *user, const char *message)
{
	if ((uintptr_t)user % ALIGN || (uintptr_t)header_of(user)->base >= (uintptr_t)user)
		die(message);
	return header_of(user);
}

static void *fail(int error)
{
	errno = error;
	return NULL;
}

/* The os_* block size that holds a header and `size` bytes at an `align`-aligned address,
 * whatever the alignment of the os_* pointer; false on overflow or beyond PTRDIFF_MAX. */
static int block_size(size_t size, size_t align, size_t *total)
{
	return !__builtin_add_overflow(size, HEADER + align - 1, total) && *total <= PTRDIFF_MAX;
}

/* The first align-aligned address in the os_* block at base with room for a header. */
static char *user_pointer(void *base, size_t align)
{
	return (char *)(((uintptr_t)base + HEADER + align - 1) & ~(uintptr_t)(align - 1));
}

/* Places the header and the user pointer in the os_* block [base, base + total). */
static void *place(void *base, size_t total, size_t align)
{
	char *user = user_pointer(base, align);
	struct header *header = header_of(user);

	header->base = base;
	header->usable = (size_t)((char *)base + total - user);
	return user;
}

static void *aligned_block(size_t align, size_t size)
{
	size_t total;

	if (!block_size(size, align, &total))
		return fail(ENOMEM);
	acquire();
	void *base = os_malloc(total);
	release();
	if (!base)
		return fail(ENOMEM);
	return place(base, total, align);
}

static int is_power_of_two(size_t n)
{
	return n && !(n & (n - 1));
}

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

EXPORT void *malloc(size_t size)
{
	return aligned_block(ALIGN, size);
}

EXPORT void free(void *ptr)
{
	if (!ptr)
		return;
	int saved = errno;  /* free() leaves errno alone (POSIX 2024); os_free may not */

	void *base = valid_header(ptr, "free(): invalid pointer\n")->base;

	acquire();
	os_free(base);
	release();
	errno = saved;
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t bytes, total;

	if (__builtin_mul_overflow(nmemb, size, &bytes) || !block_size(bytes, ALIGN, &total))
		return fail(ENOMEM);
	acquire();
	void *base = os_calloc(1, total);
	release();
	if (!base)
		return fail(ENOMEM);
	return place(base, total, ALIGN);
}

EXPORT void *realloc(void *ptr, size_t size)
{
	if (!ptr)
		return malloc(size);
	if (size == 0) {
		/* glibc's behaviour: the block is freed and NULL returned. */
		free(ptr);
		return NULL;
	}
	struct header *header = valid_header(ptr, "realloc(): invalid pointer\n");
	void *old_base = header->base;
	size_t old_usable = header->usable;
	size_t offset = (uintptr_t)ptr - (uintptr_t)old_base;
	size_t total;

	if (!block_size(size, ALIGN, &total))
		return fail(ENOMEM);
	if (offset > HEADER + ALIGN - 1) {
		/* Placed for a larger alignment (memalign): the new block need not keep it, and
		 * os_realloc's copy would not reach as far as the data. */
		void *moved = malloc(size);

		if (moved) {
			memcpy(moved, ptr, old_usable < size ? old_usable : size);
			free(ptr);
		}
		return moved;
	}
	acquire();
	void *base = os_realloc(old_base, total);
	release();
	if (!base)
		return fail(ENOMEM);
	/* os_realloc kept [base, base + min(old, new total)): the data is at base + offset. If
	 * the new base has another alignment, the data moves within the block before the new
	 * header is written (the header may overlap where the data was). */
	char *user = user_pointer(base, ALIGN);
	size_t kept = old_usable < size ? old_usable : size;

	if (user != (char *)base + offset)
		memmove(user, (char *)base + offset, kept);
	return place(base, total, ALIGN);
}

EXPORT void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes))
		return fail(ENOMEM);
	return realloc(ptr, bytes);
}

EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
	if (!is_power_of_two(alignment) || alignment % sizeof(void *))
		return EINVAL;
	int saved = errno;  /* posix_memalign reports through its result, not errno */
	void *user = aligned_block(alignment < ALIGN ? ALIGN : alignment, size);

	errno = saved;
	if (!user)
		return ENOMEM;
	*memptr = user;
	return 0;
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	if (!is_power_of_two(alignment))
		return fail(EINVAL);
	return aligned_block(alignment < ALIGN ? ALIGN : alignment, size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
	/* glibc's memalign: any alignment, rounded up to a power of two. */
	size_t align = ALIGN;

	while (align < alignment) {
		if (align > SIZE_MAX / 2)
			return fail(EINVAL);
		align *= 2;
	}
	return aligned_block(align, size);
}

EXPORT void *valloc(size_t size)
{
	return aligned_block(page_size(), size);
}

EXPORT void *pvalloc(size_t size)
{
	size_t page = page_size(), rounded;

	if (__builtin_add_overflow(size, page - 1, &rounded))
		return fail(ENOMEM);
	rounded &= ~(page - 1);
	return aligned_block(page, rounded ? rounded : page);
}

EXPORT size_t malloc_usable_size(void *ptr)
{
	return ptr ? header_of(ptr)->usable : 0;
}
