// SPDX-License-Identifier: BSD-3-Clause
/*
 * The free-block index: the free runs (maximal runs of adjacent FREE blocks) ordered by their
 * merged size, lowest address first on ties, kept current by the block list.
 *
 * The contract merges every run before a search, but a run's headers must keep their
 * unmerged sizes until then (a program may read them). So the index knows runs, not headers:
 *   - a run of ONE block (a "single") is in the size-ordered index under its size;
 *   - a run of two or more blocks is "pending": its first block is on the pending list, and
 *     the run is merged (block_list_coalesce) and becomes a single before the next search
 *     commits. Its merged size is computed by walking it; each walk is paid for by the frees
 *     that made the run, since the merge that follows removes those blocks for good.
 * Every FREE block is thus exactly one of: a single in the index, the first block of a pending
 * run on the pending list, or a later block of a pending run (in nothing). Which one follows
 * from its neighbours' statuses alone, so no flag is kept.
 *
 * Where the index lives: nowhere but in the FREE blocks themselves (no libc allocation, and a
 * syscall of our own would show in the trace). The smallest FREE block has 8 bytes of payload;
 * with the 4 bytes of padding after the header's `status` that is 12 bytes, enough for two
 * links of 48 bits (an address shifted right by 3: the heap lies below 2^47), see link_get();
 * a block of 16 bytes or more has room for a third, in its second payload word.
 * The header itself (size, status, prev, next) is left exactly as the contract has it.
 * Those payload bytes are the program's to misuse: a write after free lands on the links. So
 * links are stored XORed with a key of their holder's address, and every link followed must
 * lead to a FREE block inside the heap; one that does not is reported as the heap corruption
 * it is and the process aborts (as glibc does), before a wrong block could be handed out.
 *
 * Size order: a single of size s < BIN_LIMIT (4 KiB) sits in bin s/8, which holds the blocks of
 * exactly that size; a larger single sits in a size class, one per eighth of a power of two
 * ([4, 4.5) KiB, ..., [7.5, 8) KiB, [8, 9) KiB, ...), numbered after the exact bins, each a
 * treap ordered by (size, address). Bins and classes are in size order, so a bitmap of
 * the non-empty ones, with a summary word level above it, finds the first non-empty bin >= need
 * in a few word scans. Within an exact bin only the lowest address is ever asked for, so from
 * 16 bytes up a bin is a pairing heap by address (three links: first child, next sibling, and
 * back to the previous sibling or the parent): its root is the bin's lowest address, adding a
 * block is one comparison with the root and two relinks, and taking the root or removing
 * another block pairs up that node's children, O(log n) amortised. Bin 1 (8-byte blocks, room
 * for two links only) and the classes are treaps: binary search trees by key, heap-ordered by a
 * priority that is a hash of the block's address, so no balance field is stored and the
 * expected depth is O(log n) whatever the order of operations. The pending list uses the first
 * two links as prev/next (a pending first block is in no bin). The limit keeps the exact bins'
 * roots to one page of static memory (a root per 8-byte size up to 128 KiB would be 128 KiB,
 * resident as sizes get used); the classes' 288 roots take 2.3 KiB more. A class keeps its
 * treap small: one treap for every large block would put every search O(log n) cold blocks deep
 * (2 to 3 times slower on the random traces, whose blocks are 4 KiB to 32 KiB).
 *
 * Why best fit stays exact: the fit is the smallest merged size >= need, the lowest address
 * among the runs of that size. The first non-empty bin >= need holds the smallest single that
 * fits (bins partition the sizes, and every single is in the bin of its size); within an exact
 * bin every block has the same size, so the lowest address is the heap's root (every node lies
 * above its parent, so the root lies below every other node) or the treap's leftmost node. A
 * class holds sizes on both sides of need only if it is need's own class: there the fit is the
 * first node in (size, address) order at or above need, if any; in a later class every size
 * fits, so it is the leftmost node. The pending runs, which are in no bin, are compared with
 * that single by (merged size, address). Which shape holds a bin changes how fast the answer
 * comes, never the answer.
 *
 * Invariants (osmem_check_heap checks them all against the heap list):
 *   - the bins hold exactly the singles, each in the bin of its size (its class at or above
 *     BIN_LIMIT);
 *   - a treap is ordered strictly by (size, address), priority(parent) >= priority(child);
 *   - a pairing heap's root has no sibling and no back link; every other node lies above its
 *     parent, and its back link leads to its previous sibling, or to its parent if it is the
 *     first child;
 *   - bit i of bin_map is set iff bin i is non-empty; summary bit w iff bin_map[w] != 0;
 *   - the pending list holds exactly the first blocks of runs of two or more blocks, linked
 *     both ways, NULL-terminated.
 * free_index_best_fit and free_index_last_run answer as if every pending run were merged,
 * without changing anything, so the caller can make its brk() first and merge once nothing
 * can fail.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osmem_internal.h"
#include "printf.h"

#define NO_SANITIZE __attribute__((no_sanitize_address))

/* Singles below BIN_LIMIT have a bin per size (bin 0, for a payload of 0, stays empty: no split
   leaves one); the larger ones a class per eighth of a power of two, from 2^12 to 2^48 (above
   any heap), after them. */
#define BIN_LIMIT ((size_t)4096)
#define EXACT_BINS (BIN_LIMIT / ALIGNMENT)
#define CLASS_LOW_OCTAVE 12
#define CLASSES_PER_OCTAVE 8
#define CLASSES ((48 - CLASS_LOW_OCTAVE) * CLASSES_PER_OCTAVE)
#define BINS (EXACT_BINS + CLASSES)
#define MAP_WORDS ((BINS + 63) / 64)
#define SUMMARY_WORDS ((MAP_WORDS + 63) / 64)
_Static_assert(BIN_LIMIT == (size_t)1 << CLASS_LOW_OCTAVE, "the classes start at BIN_LIMIT");
/* Bins of 16 bytes and more are pairing heaps; bin 1 (8 bytes: room for two links) a treap. */
#define HEAP_BINS_FROM 2

static struct block_meta *bin_root[BINS];
static uint64_t bin_map[MAP_WORDS];
static uint64_t bin_summary[SUMMARY_WORDS];
static struct block_meta *pending;

/*
 * What free_index_best_fit last found by a walk down the left edge of a treap, for the
 * free_index_take that follows it: that leftmost node, its parent (NULL for the root) and
 * its bin. It is set only when no run is pending, so the merge the caller makes between the
 * two changes nothing; any take clears it, and so does every change the merges and realloc
 * make (a free or a split comes after the take). So while it is set it is exact: the node has
 * no left child and is its parent's left child (or the root), and taking it is one relink,
 * not a walk from the root.
 */
static struct {
	struct block_meta *node;
	struct block_meta *parent;
	size_t bin;
} fit_hint;

/*
 * The 12 bytes a FREE block lends the index: the header's 4 bytes of padding after `status`
 * and the first 8 payload bytes, read and written as one 32-bit and one 64-bit word. A link is
 * 48 bits (an address >> 3): link 1 is the low 48 bits of the payload word; link 0 keeps its
 * low 32 bits in the padding and its high 16 in the payload word's top 16 bits.
 */

#define LINK_MASK 0xffffffffffffULL

enum { LEFT = 0, RIGHT = 1, PREV = 0, NEXT = 1 };

static inline uint32_t pad_word(const struct block_meta *b)
{
	uint32_t pad;

	memcpy(&pad, (const char *)b + HEADER_PAD_OFFSET, sizeof(pad));
	return pad;
}

static inline uint64_t payload_word(const struct block_meta *b)
{
	uint64_t word;

	memcpy(&word, (const char *)b + META_SIZE, sizeof(word));
	return word;
}

static inline void store_links(struct block_meta *b, uint32_t pad, uint64_t word)
{
	memcpy((char *)b + HEADER_PAD_OFFSET, &pad, sizeof(pad));
	memcpy((char *)b + META_SIZE, &word, sizeof(word));
}

/*
 * A link to `to` held by b is stored as (to XOR b) >> 3, XORed with LINK_SALT: it depends on
 * the address of the block that holds it (as glibc's safe-linking does), and bytes a program
 * writes into a freed payload decode to an address outside the heap, so link_get() stops
 * there instead of walking into it. The salt's top bit (bit 47, address bit 50 once decoded)
 * is set and its next three are clear: zeros, text (bytes below 0x80), a pointer of the
 * program's (below 2^47) and bytes of 0xff all decode to an address at or above 2^47, above
 * any heap. Two XORs and a shift each way, no multiplication on the walks' critical path.
 */
#define LINK_SALT 0x85c4e3779b97ULL

static inline struct block_meta *link_unsalt(const struct block_meta *b, uint64_t stored)
{
	return (struct block_meta *)(((stored ^ LINK_SALT) << 3) ^ (uintptr_t)b);
}

/* The link as stored, unchecked: for the verifier, which checks what it follows itself. */
static inline struct block_meta *link_decode(const struct block_meta *b, int which)
{
	uint64_t word = payload_word(b);
	uint64_t stored = which ? word & LINK_MASK : (word >> 48) << 32 | pad_word(b);

	return link_unsalt(b, stored);
}

static void __attribute__((noreturn, cold, noinline))
written_after_free(const struct block_meta *b)
{
	osmem_dprintf(STDERR_FILENO, "osmem: heap corruption: free block %p was written after "
		      "it was freed\n", payload_of((struct block_meta *)b));
	abort();
}

/*
 * `to` may be followed: NULL, or a FREE block whose links lie inside the heap. One unsigned
 * comparison covers both ends of the heap (which holds at least HEAP_PREALLOC bytes whenever
 * a FREE block exists).
 */
static inline bool link_target_sound(const struct block_meta *to, size_t reach)
{
	uintptr_t from_start = (uintptr_t)to - heap_start();

	return !to || (from_start <= heap_break() - heap_start() - reach &&
		       to->status == STATUS_FREE);
}

/* b's link `to`, which must be NULL or a FREE block whose first `reach` bytes lie in the heap. */
static inline struct block_meta *link_follow(const struct block_meta *b, struct block_meta *to,
					     size_t reach)
{
	if (__builtin_expect(!link_target_sound(to, reach), 0))
		written_after_free(b);
	return to;
}

/* The link, which must lead to a FREE block inside the heap (or be NULL); else abort. */
static inline struct block_meta *link_get(const struct block_meta *b, int which)
{
	return link_follow(b, link_decode(b, which), META_SIZE + ALIGNMENT);
}

static inline uint64_t link_encode(const struct block_meta *b, const struct block_meta *to)
{
	return ((uintptr_t)to ^ (uintptr_t)b) >> 3 ^ LINK_SALT;
}

static inline void link_set(struct block_meta *b, int which, struct block_meta *to)
{
	uint64_t v = link_encode(b, to);
	uint64_t word = payload_word(b);
	uint32_t pad = which ? pad_word(b) : (uint32_t)v;

	word = which ? (word & ~LINK_MASK) | v : (word & LINK_MASK) | (v >> 32) << 48;
	store_links(b, pad, word);
}

/* Both links of b at once: no read of what was there. */
static inline void links_set(struct block_meta *b, struct block_meta *to0, struct block_meta *to1)
{
	uint64_t v0 = link_encode(b, to0);

	store_links(b, (uint32_t)v0, link_encode(b, to1) | (v0 >> 32) << 48);
}

/* Both links of b are NULL: a comparison of the stored words, no decoding. */
static inline bool links_null(const struct block_meta *b)
{
	uint64_t null = link_encode(b, NULL);

	return pad_word(b) == (uint32_t)null && payload_word(b) == (null | (null >> 32) << 48);
}

/* ---- treaps ------------------------------------------------------------------------------ */

/* A hash of the address: Fibonacci hashing spreads even evenly spaced blocks' priorities. */
static inline uint64_t priority(const struct block_meta *b)
{
	uint64_t x = (uint64_t)(uintptr_t)b * 0x9e3779b97f4a7c15ULL;

	return x ^ (x >> 31);
}

static inline bool key_less(const struct block_meta *a, const struct block_meta *b)
{
	return a->size < b->size || (a->size == b->size && a < b);
}

/* key_less in a treap whose nodes all have one size (an exact bin) when `exact`: addresses. */
static inline bool key_less_in(bool exact, const struct block_meta *a, const struct block_meta *b)
{
	return exact ? a < b : key_less(a, b);
}

/* Points the link `side` of parent (the root when parent is NULL) at child. */
static inline void attach(struct block_meta **root, struct block_meta *parent, int side,
			  struct block_meta *child)
{
	if (parent)
		link_set(parent, side, child);
	else
		*root = child;
}

/* Inlined into one copy per kind of treap (exact bin or not), below. */
static inline __attribute__((always_inline)) void
treap_insert(struct block_meta **root, struct block_meta *n, bool exact)
{
	uint64_t rank = priority(n);
	struct block_meta *parent = NULL, *t = *root;
	int side = LEFT;

	while (t && priority(t) >= rank) {
		parent = t;
		side = key_less_in(exact, n, t) ? LEFT : RIGHT;
		t = link_get(t, side);
	}
	attach(root, parent, side, n);
	/* The subtree t splits around n: its keys below n go left of n, the others right. */
	struct block_meta *below = n, *above = n;
	int below_side = LEFT, above_side = RIGHT;

	while (t) {
		if (key_less_in(exact, t, n)) {
			link_set(below, below_side, t);
			below = t;
			below_side = RIGHT;
			t = link_get(t, RIGHT);
		} else {
			link_set(above, above_side, t);
			above = t;
			above_side = LEFT;
			t = link_get(t, LEFT);
		}
	}
	link_set(below, below_side, NULL);
	link_set(above, above_side, NULL);
}

/* n is in the treap. Inlined as treap_insert. */
static inline __attribute__((always_inline)) void
treap_remove(struct block_meta **root, struct block_meta *n, bool exact)
{
	struct block_meta *parent = NULL, *t = *root;
	int side = LEFT;

	while (t != n) {
		parent = t;
		side = key_less_in(exact, n, t) ? LEFT : RIGHT;
		t = link_get(t, side);
	}
	/* n's subtrees join in its place, the higher priority on top at each step. */
	struct block_meta *a = link_get(n, LEFT), *b = link_get(n, RIGHT);

	while (a && b) {
		if (priority(a) > priority(b)) {
			attach(root, parent, side, a);
			parent = a;
			side = RIGHT;
			a = link_get(a, RIGHT);
		} else {
			attach(root, parent, side, b);
			parent = b;
			side = LEFT;
			b = link_get(b, LEFT);
		}
	}
	attach(root, parent, side, a ? a : b);
}

/* The leftmost node of the treap at root (NULL if empty); *parent is its parent. */
static struct block_meta *treap_leftmost(struct block_meta *t, struct block_meta **parent)
{
	*parent = NULL;
	if (t)
		for (struct block_meta *l; (l = link_get(t, LEFT)); t = l)
			*parent = t;
	return t;
}

/* The node with the smallest key of size >= need. */
static struct block_meta *treap_lower_bound(struct block_meta *t, size_t need)
{
	struct block_meta *best = NULL;

	while (t) {
		if (t->size >= need) {
			best = t;
			t = link_get(t, LEFT);
		} else {
			t = link_get(t, RIGHT);
		}
	}
	return best;
}

/* ---- pairing heaps ----------------------------------------------------------------------- */

/*
 * A pairing heap by address (Fredman, Sedgewick, Sleator and Tarjan, 1986): each node's
 * children form a list (CHILD is the first, SIBLING the next), BACK leads to the previous
 * sibling or, from a first child, to the parent. The root is the lowest address. Adding a
 * node is one comparison with the root; taking the root pairs its children up left to right,
 * then melds the pairs right to left (the two-pass rule: O(log n) amortised); removing
 * another node cuts it from its list and melds what its children pair up to under the root.
 * BACK is a third link, in the payload's second word: the heaps hold blocks of 16 bytes or
 * more, so every link followed in one must reach 16 payload bytes inside the heap.
 */
enum { CHILD = 0, SIBLING = 1 };

#define BACK_OFFSET (META_SIZE + sizeof(uint64_t))
#define NODE_REACH (META_SIZE + 2 * ALIGNMENT)

static inline struct block_meta *back_decode(const struct block_meta *b)
{
	uint64_t word;

	memcpy(&word, (const char *)b + BACK_OFFSET, sizeof(word));
	return link_unsalt(b, word);
}

static inline void back_set(struct block_meta *b, struct block_meta *to)
{
	uint64_t word = link_encode(b, to);

	memcpy((char *)b + BACK_OFFSET, &word, sizeof(word));
}

static inline struct block_meta *node_get(const struct block_meta *b, int which)
{
	return link_follow(b, link_decode(b, which), NODE_REACH);
}

static inline struct block_meta *node_back(const struct block_meta *b)
{
	return link_follow(b, back_decode(b), NODE_REACH);
}

/* Roots a and b become one heap, whose root is returned; that root's SIBLING and BACK are
   left for the caller to set. */
static inline struct block_meta *heap_meld(struct block_meta *a, struct block_meta *b)
{
	if (b < a) {
		struct block_meta *t = a;

		a = b;
		b = t;
	}
	struct block_meta *first = node_get(a, CHILD);

	link_set(b, SIBLING, first);
	back_set(b, a);
	if (first)
		back_set(first, b);
	link_set(a, CHILD, b);
	return a;
}

/* The heaps of the sibling list from `first` (not NULL) become one: the two-pass rule. */
static struct block_meta *heap_pair_up(struct block_meta *first)
{
	struct block_meta *pairs = NULL, *root, *next;

	if (!node_get(first, SIBLING))
		return first;

	/* Left to right: each pair melded, the results stacked through SIBLING. */
	while (first) {
		struct block_meta *a = first, *b = node_get(a, SIBLING);

		first = NULL;
		if (b) {
			first = node_get(b, SIBLING);
			a = heap_meld(a, b);
		}
		link_set(a, SIBLING, pairs);
		pairs = a;
	}
	/* Right to left: the stack melded into one. */
	root = pairs;
	for (pairs = node_get(root, SIBLING); pairs; pairs = next) {
		next = node_get(pairs, SIBLING);
		root = heap_meld(root, pairs);
	}
	return root;
}

/* n joins the non-empty heap at root. Out of line, as heap_remove: the callers' fast paths
   (an empty bin, a lone root) then save no registers. It is heap_meld with the one-node heap
   n, written out: calling heap_meld would first clear n's links and then read them back, 6 to
   11 more instructions a step of the bench's steady state (callgrind, N = 100 to 10 000). */
static void __attribute__((noinline)) heap_insert(struct block_meta **root, struct block_meta *n)
{
	struct block_meta *top = *root;

	if (n < top) {
		links_set(n, top, NULL);
		back_set(n, NULL);
		back_set(top, n);   /* a root has no SIBLING: top is n's only child */
		*root = n;
	} else {
		struct block_meta *first = node_get(top, CHILD);

		links_set(n, NULL, first);
		back_set(n, top);
		if (first)
			back_set(first, n);
		link_set(top, CHILD, n);
	}
}

/* n leaves the heap at root, which it is not alone in. */
static void __attribute__((noinline)) heap_remove(struct block_meta **root, struct block_meta *n)
{
	struct block_meta *children = node_get(n, CHILD);
	struct block_meta *rest = children ? heap_pair_up(children) : NULL;

	if (n == *root) {
		if (rest) {
			if (rest != children)   /* (a lone child's SIBLING is NULL already) */
				link_set(rest, SIBLING, NULL);
			back_set(rest, NULL);
		}
		*root = rest;
		return;
	}
	struct block_meta *back = node_back(n), *sibling = node_get(n, SIBLING);

	link_set(back, link_decode(back, CHILD) == n ? CHILD : SIBLING, sibling);
	if (sibling)
		back_set(sibling, back);
	if (rest)
		heap_meld(*root, rest);   /* the root is the lowest: rest becomes its first child */
}

/* ---- bins -------------------------------------------------------------------------------- */

/* Bins and classes are in size order: every size of bin i is below every size of bin i + 1. */
static inline size_t bin_of(size_t size)
{
	if (size < BIN_LIMIT)
		return size / ALIGNMENT;

	unsigned int octave = 63 - (unsigned int)__builtin_clzll(size);
	size_t eighth = size >> (octave - 3) & (CLASSES_PER_OCTAVE - 1);
	size_t i = EXACT_BINS + (octave - CLASS_LOW_OCTAVE) * CLASSES_PER_OCTAVE + eighth;

	return i < BINS ? i : BINS - 1;
}

/* Exact bins from 16 bytes are pairing heaps; bin 1 and the classes are treaps. */
static inline bool bin_is_heap(size_t i)
{
	return i - HEAP_BINS_FROM < EXACT_BINS - HEAP_BINS_FROM;
}

static inline void bin_mark(size_t i)
{
	bin_map[i / 64] |= 1ULL << (i % 64);
	bin_summary[i / 4096] |= 1ULL << (i / 64 % 64);
}

static inline void bin_unmark(size_t i)
{
	bin_map[i / 64] &= ~(1ULL << (i % 64));
	if (!bin_map[i / 64])
		bin_summary[i / 4096] &= ~(1ULL << (i / 64 % 64));
}

/* Out of line: the one-node fast path in single_insert then saves no registers. */
static void __attribute__((noinline)) exact_bin_insert(struct block_meta **root, struct block_meta *n)
{
	treap_insert(root, n, true);
}

static void __attribute__((noinline)) class_treap_insert(struct block_meta **root,
							 struct block_meta *n)
{
	treap_insert(root, n, false);
}

static inline void single_insert(struct block_meta *b)
{
	size_t i = bin_of(b->size);

	if (bin_is_heap(i)) {
		if (bin_root[i]) {
			heap_insert(&bin_root[i], b);
			return;
		}
		links_set(b, NULL, NULL);
		back_set(b, NULL);
		bin_root[i] = b;
		bin_mark(i);
		return;
	}
	if (bin_root[i]) {
		if (i < EXACT_BINS)
			exact_bin_insert(&bin_root[i], b);
		else
			class_treap_insert(&bin_root[i], b);
		return;
	}
	/* Most bins hold one block or none: no priorities to compare. The bin was empty. */
	bin_root[i] = b;
	links_set(b, NULL, NULL);
	bin_mark(i);
}

static void __attribute__((noinline)) single_remove_from_treap(struct block_meta *b, size_t i)
{
	treap_remove(&bin_root[i], b, i < EXACT_BINS);
	if (!bin_root[i])
		bin_unmark(i);
}

static inline void single_remove(struct block_meta *b)
{
	size_t i = bin_of(b->size);

	if (bin_is_heap(i)) {
		/* A lone root, as in most bins: no link to validate but its own, which must be NULL. */
		if (bin_root[i] == b && !link_decode(b, CHILD)) {
			bin_root[i] = NULL;
			bin_unmark(i);
		} else {
			heap_remove(&bin_root[i], b);
		}
		return;
	}
	/* The lone node of its bin, as in most bins: its links need no decoding. */
	if (bin_root[i] == b && links_null(b)) {
		bin_root[i] = NULL;
		bin_unmark(i);
		return;
	}
	single_remove_from_treap(b, i);
}

/* The first non-empty bin >= i (i > 0), or 0 when there is none. */
static size_t first_bin_from(size_t i)
{
	size_t w = i / 64;
	uint64_t bits = bin_map[w] & (~0ULL << (i % 64));

	if (bits)
		return w * 64 + (size_t)__builtin_ctzll(bits);
	for (size_t from = w + 1, s = from / 64; s < SUMMARY_WORDS; s++) {
		uint64_t words = bin_summary[s];

		if (s == from / 64)
			words &= ~0ULL << (from % 64);
		if (words) {
			size_t word = s * 64 + (size_t)__builtin_ctzll(words);

			return word * 64 + (size_t)__builtin_ctzll(bin_map[word]);
		}
	}
	return 0;
}

/* ---- pending runs ------------------------------------------------------------------------ */

static void pending_push(struct block_meta *first)
{
	link_set(first, PREV, NULL);
	link_set(first, NEXT, pending);
	if (pending)
		link_set(pending, PREV, first);
	pending = first;
}

static void pending_remove(struct block_meta *first)
{
	struct block_meta *prev = link_get(first, PREV), *next = link_get(first, NEXT);

	if (prev)
		link_set(prev, NEXT, next);
	else
		pending = next;
	if (next)
		link_set(next, PREV, prev);
}

struct block_meta *free_index_pending_pop(void)
{
	struct block_meta *first = pending;

	if (first) {
		fit_hint.node = NULL;
		pending = link_get(first, NEXT);   /* first is the head: no PREV to unlink */
		if (pending)
			link_set(pending, PREV, NULL);
	}
	return first;
}

/* ---- what the block list tells the index -------------------------------------------------- */

void free_index_add_run(struct block_meta *first)
{
	fit_hint.node = NULL;
	if (is_free(first->next))
		pending_push(first);
	else
		single_insert(first);
}

void free_index_add_single(struct block_meta *single)
{
	fit_hint.node = NULL;
	single_insert(single);
}

void free_index_forget_run(struct block_meta *first)
{
	fit_hint.node = NULL;
	if (is_free(first->next))
		pending_remove(first);
	else
		single_remove(first);
}

/* prev_free: whether the block before is FREE, which the caller knows without reading it. */
void free_index_freed(struct block_meta *block, bool prev_free)
{
	struct block_meta *prev = block->prev;
	bool next_free = is_free(block->next);

	if (next_free)
		free_index_forget_run(block->next);
	if (!prev_free) {
		if (next_free)
			pending_push(block);   /* block now starts next's run: two blocks or more */
		else
			single_insert(block);
	} else if (!is_free(prev->prev)) {
		/* prev was a single: its run now has two blocks or more. */
		single_remove(prev);
		pending_push(prev);
	}
	/* else block joins the pending run that prev ends. */
}

void free_index_take(struct block_meta *single)
{
	if (single == fit_hint.node) {
		struct block_meta *right = link_get(single, RIGHT);
		size_t i = fit_hint.bin;

		fit_hint.node = NULL;
		attach(&bin_root[i], fit_hint.parent, LEFT, right);
		if (!bin_root[i])
			bin_unmark(i);
		return;
	}
	fit_hint.node = NULL;
	single_remove(single);
}

/* ---- the answers ------------------------------------------------------------------------- */

static size_t run_size(const struct block_meta *first)
{
	size_t size = first->size;

	for (const struct block_meta *b = first->next; is_free(b); b = b->next)
		size += META_SIZE + b->size;
	return size;
}

/* The single of the best fit: the smallest size >= need, the lowest address among its size. */
static struct block_meta *single_best_fit(size_t need)
{
	size_t i = bin_of(need);
	struct block_meta *single, *parent;

	fit_hint.node = NULL;
	/* need's class holds sizes on both sides of need: its first of a size >= need, if any. */
	if (i >= EXACT_BINS) {
		if (bin_root[i] && (single = treap_lower_bound(bin_root[i], need)))
			return single;
		i++;
	}
	/* Every size in the bins from i on fits: the first non-empty one holds the smallest. */
	i = first_bin_from(i);
	if (!i)
		return NULL;
	if (bin_is_heap(i))
		return bin_root[i];   /* a heap's root is its lowest address */
	single = treap_leftmost(bin_root[i], &parent);
	/* No run to merge: the index stays as it is until the caller takes single. */
	if (!pending) {
		fit_hint.node = single;
		fit_hint.parent = parent;
		fit_hint.bin = i;
	}
	return single;
}

struct free_run free_index_best_fit(size_t need)
{
	struct free_run best = { NULL, 0 };
	struct block_meta *single = single_best_fit(need);

	if (single) {
		best.first = single;
		best.size = single->size;
	}
	for (struct block_meta *first = pending; first; first = link_get(first, NEXT)) {
		size_t size = run_size(first);

		if (size >= need && (!best.first || size < best.size ||
				     (size == best.size && first < best.first))) {
			best.first = first;
			best.size = size;
		}
	}
	return best;
}

struct free_run free_index_last_run(void)
{
	struct free_run run = { NULL, 0 };
	struct block_meta *b = block_list_last();

	if (!is_free(b))
		return run;
	while (is_free(b->prev))
		b = b->prev;
	run.first = b;
	run.size = run_size(b);
	return run;
}

/* ---- verification (osmem_check_heap): trusts no link it reads ---------------------------- */

/* A link may be followed: it lands on a header whose index words lie inside the heap. */
NO_SANITIZE static bool link_sound(const struct block_meta *b)
{
	return (uintptr_t)b % ALIGNMENT == 0 && heap_contains(b, META_SIZE + ALIGNMENT);
}

NO_SANITIZE static const char *verify_treap(const struct block_meta *t, size_t bin,
					    const struct block_meta *low,
					    const struct block_meta *high, size_t *count,
					    size_t limit)
{
	if (!t)
		return NULL;
	if (!link_sound(t))
		return "a treap link leads outside the heap "
		       "(a free block written after it was freed?)";
	if (++*count > limit)
		return "the bins hold more nodes than there are free runs of one block";
	if (t->status != STATUS_FREE)
		return "a treap node is not a FREE block";
	if (bin_of(t->size) != bin)
		return "a treap node is in the wrong size bin";
	if ((low && !key_less(low, t)) || (high && !key_less(t, high)))
		return "a treap is out of (size, address) order";

	const struct block_meta *left = link_decode(t, LEFT), *right = link_decode(t, RIGHT);

	if ((left && link_sound(left) && priority(left) > priority(t)) ||
	    (right && link_sound(right) && priority(right) > priority(t)))
		return "a treap child has a higher priority than its parent";

	const char *why = verify_treap(left, bin, low, t, count, limit);

	return why ? why : verify_treap(right, bin, t, high, count, limit);
}

/* A pairing-heap node's links (its first 16 payload bytes included) lie inside the heap. */
NO_SANITIZE static bool node_sound(const struct block_meta *b)
{
	return (uintptr_t)b % ALIGNMENT == 0 && heap_contains(b, NODE_REACH);
}

#define HEAP_LINK_OUTSIDE \
	"a pairing-heap link leads outside the heap (a free block written after it was freed?)"

/* t, reached from `from` (its parent or previous sibling) under `parent`, is a sound node. */
NO_SANITIZE static const char *verify_heap_node(const struct block_meta *t,
						const struct block_meta *from,
						const struct block_meta *parent, size_t bin,
						size_t *count, size_t limit)
{
	const struct block_meta *back;

	if (!node_sound(t))
		return HEAP_LINK_OUTSIDE;
	if ((back = back_decode(t)) && !node_sound(back))
		return HEAP_LINK_OUTSIDE;
	if (++*count > limit)
		return "the bins hold more nodes than there are free runs of one block";
	if (t->status != STATUS_FREE)
		return "a pairing-heap node is not a FREE block";
	if (bin_of(t->size) != bin)
		return "a pairing-heap node is in the wrong size bin";
	if (parent && t <= parent)
		return "a pairing-heap node lies below its parent";
	if (back != from)
		return "a pairing-heap back link is wrong";
	return NULL;
}

/* The parent of x, a node of the heap whose links were all verified on the way to x. */
NO_SANITIZE static const struct block_meta *verified_parent(const struct block_meta *x)
{
	const struct block_meta *back;

	while (link_decode(back = back_decode(x), CHILD) != x)
		x = back;
	return back;
}

/*
 * Every node of the pairing heap at root, in preorder, without recursion (a pairing heap can
 * be as deep as it is large): down to the first child, else on to the next sibling, else up
 * through the verified back links to the nearest ancestor that has a next sibling.
 */
NO_SANITIZE static const char *verify_heap(const struct block_meta *root, size_t bin,
					   size_t *count, size_t limit)
{
	const struct block_meta *t = root, *from = NULL, *parent = NULL, *sibling;
	const char *why;

	if (!root)
		return NULL;
	if (!node_sound(root))
		return HEAP_LINK_OUTSIDE;
	if ((sibling = link_decode(root, SIBLING)))
		return node_sound(sibling) ? "a pairing heap's root has a sibling" : HEAP_LINK_OUTSIDE;
	if ((why = verify_heap_node(root, NULL, NULL, bin, count, limit)))
		return why;
	for (;;) {
		const struct block_meta *next = link_decode(t, CHILD);

		if (next) {
			from = parent = t;
		} else {
			while (t != root && !(next = link_decode(t, SIBLING))) {
				t = parent;
				parent = t == root ? NULL : verified_parent(t);
			}
			if (t == root)
				return NULL;
			from = t;
		}
		if ((why = verify_heap_node(next, from, parent, bin, count, limit)))
			return why;
		t = next;
	}
}

NO_SANITIZE const char *free_index_verify_singles(size_t singles)
{
	size_t count = 0;

	for (size_t i = 0; i < BINS; i++) {
		bool marked = bin_map[i / 64] >> (i % 64) & 1;

		if (marked != (bin_root[i] != NULL))
			return "the bitmap of non-empty bins disagrees with the bins";
		const char *why = bin_is_heap(i) ?
			verify_heap(bin_root[i], i, &count, singles) :
			verify_treap(bin_root[i], i, NULL, NULL, &count, singles);

		if (why)
			return why;
	}
	for (size_t w = 0; w < MAP_WORDS; w++)
		if (!!(bin_summary[w / 64] >> (w % 64) & 1) != (bin_map[w] != 0))
			return "the summary of the bin bitmap disagrees with it";
	if (count != singles)
		return "the bins hold fewer nodes than there are free runs of one block";
	return NULL;
}

NO_SANITIZE bool free_index_holds_single(const struct block_meta *single, size_t singles)
{
	size_t bin = bin_of(single->size);
	const struct block_meta *t = bin_root[bin];

	if (bin_is_heap(bin)) {
		/* Up the back links (verify_singles proved them) to the root. */
		for (size_t steps = 0; single != t && steps < singles; steps++) {
			const struct block_meta *back = back_decode(single);

			if (!back || !node_sound(back) || (link_decode(back, CHILD) != single &&
							   link_decode(back, SIBLING) != single))
				return false;
			single = back;
		}
		return single == t;
	}

	for (size_t steps = 0; t && link_sound(t) && steps < singles; steps++) {
		if (t == single)
			return true;
		t = link_decode(t, key_less(single, t) ? LEFT : RIGHT);
	}
	return false;
}

NO_SANITIZE const char *free_index_verify_pending(size_t runs)
{
	const struct block_meta *prev = NULL;
	size_t count = 0;

	for (const struct block_meta *b = pending; b; prev = b, b = link_decode(b, NEXT)) {
		if (!link_sound(b))
			return "a pending-run link leads outside the heap";
		if (++count > runs)
			return "the pending list is longer than the number of unmerged runs";
		if (link_decode(b, PREV) != prev)
			return "a pending-run back link is wrong";
		if (!block_list_is_member(b) || b->status != STATUS_FREE || is_free(b->prev) ||
		    !is_free(b->next))
			return "the pending list holds a block that does not start an unmerged run";
	}
	if (count != runs)
		return "an unmerged run of FREE blocks is missing from the pending list";
	return NULL;
}
