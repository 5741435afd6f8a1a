/*
 * replay: performs an operation script with os_* (the random differential tests' program).
 * points: 0
 *
 * Usage: replay SCRIPT. One operation per line, '#' starts a comment, blank lines are skipped:
 *
 *   malloc ID SIZE          os_malloc(SIZE), kept as block ID
 *   calloc ID NMEMB SIZE    os_calloc(NMEMB, SIZE), kept as block ID
 *   realloc ID SIZE         os_realloc(<pointer of ID>, SIZE)
 *   free ID                 os_free(<pointer of ID>)
 *
 * IDs are 0..MAX_SLOTS-1 (256). The pointer of an ID is, in this order: its live block; the
 * last pointer it held, once freed (os_free, or os_realloc to 0: the script may pass a stale
 * pointer to a FREE heap block on purpose, which the contract defines); NULL when the ID was
 * never allocated (so `realloc ID SIZE` is os_malloc and `free ID` is os_free(NULL)).
 *
 * Invariants (what this program checks, as the fixed programs do, through tests/common.h):
 *   - every line makes exactly one top-level os_* call, in script order, with arguments that
 *     depend only on the script and on the pointers os_* returned: the trace is a function of
 *     the script, which is what the model predicts;
 *   - no stdio, no libc malloc: the script is read with open()/read() into a static buffer,
 *     blocks live in common.h's fixed table of slots, messages go through the heap-free printf;
 *   - calloc memory is zero; realloc keeps min(old, new) bytes; a live block keeps its pattern
 *     (checked before it is freed or reallocated, and for every live block at exit); heap and
 *     mapped blocks have the header the contract's classification implies;
 *   - os_realloc of a stale pointer returns NULL and changes nothing (the block is FREE).
 * A violated check exits with status 1 and one line on stderr; a malformed script exits 2.
 */
#include <fcntl.h>

#include "common.h"

#define SCRIPT_MAX (1 << 20)
#define MAX_WORDS  4

static char g_script[SCRIPT_MAX + 1];
static char *g_stale[MAX_SLOTS];    /* the pointer an ID held before it was freed */
static unsigned g_line;

__attribute__((noreturn, format(printf, 1, 2)))
static void bad_script(const char *fmt, ...)
{
	char context[32];
	va_list ap;

	osmem_snprintf(context, sizeof(context), "replay: line %u", g_line);
	va_start(ap, fmt);
	vdie_in(2, context, fmt, ap);
}

static size_t read_script(const char *path)
{
	int fd = open(path, O_RDONLY);
	size_t len = 0;
	ssize_t n;

	if (fd < 0) {
		osmem_dprintf(2, "replay: cannot open %s\n", path);
		exit(2);
	}
	while ((n = read(fd, g_script + len, SCRIPT_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0 || len == SCRIPT_MAX) {
		osmem_dprintf(2, "replay: cannot read %s (or it is over %d bytes)\n", path, SCRIPT_MAX);
		exit(2);
	}
	g_script[len] = '\0';
	return len;
}

/* Splits line in place into at most MAX_WORDS words, dropping a '#' comment. */
static int split_words(char *line, char *words[MAX_WORDS])
{
	int count = 0;

	for (char *c = line; *c && *c != '#';) {
		while (*c == ' ' || *c == '\t' || *c == '\r')
			*c++ = '\0';
		if (!*c || *c == '#')
			break;
		if (count == MAX_WORDS)
			bad_script("too many words");
		words[count++] = c;
		while (*c && *c != ' ' && *c != '\t' && *c != '\r' && *c != '#')
			c++;
	}
	for (char *c = line; *c; c++)
		if (*c == '#')
			*c = '\0';
	return count;
}

static size_t number(const char *word)
{
	size_t value = 0;

	if (!*word)
		bad_script("empty number");
	for (const char *c = word; *c; c++) {
		if (*c < '0' || *c > '9' || value > (SIZE_MAX - 9) / 10)
			bad_script("%s is not a decimal size", word);
		value = value * 10 + (size_t)(*c - '0');
	}
	return value;
}

static int slot_id(const char *word)
{
	size_t id = number(word);

	if (id >= MAX_SLOTS)
		bad_script("ID %zu is out of range (0..%d)", id, MAX_SLOTS - 1);
	return (int)id;
}

static int is_live(int id)
{
	return slot_of(id)->kind != K_NONE;
}

static void do_malloc(int id, size_t size)
{
	if (is_live(id))
		bad_script("ID %d is live: free it first", id);
	g_stale[id] = NULL;
	T_malloc(id, size);
}

static void do_calloc(int id, size_t nmemb, size_t size)
{
	if (is_live(id))
		bad_script("ID %d is live: free it first", id);
	if (size && nmemb > SIZE_MAX / size)
		bad_script("calloc %zu * %zu overflows", nmemb, size);
	g_stale[id] = NULL;
	T_calloc(id, nmemb, size);
}

static void do_realloc(int id, size_t size)
{
	char *old = P(id);

	if (!is_live(id) && g_stale[id]) {
		void *p = os_realloc(g_stale[id], size);

		if (p)
			die("os_realloc(freed block %d, %zu) returned %p, expected NULL", id, size, p);
		return;
	}
	T_realloc(id, size);
	if (!is_live(id))
		g_stale[id] = old;
}

static void do_free(int id)
{
	if (!is_live(id) && g_stale[id]) {
		os_free(g_stale[id]);
		return;
	}
	g_stale[id] = P(id);
	T_free(id);
}

static void perform(char *words[MAX_WORDS], int count)
{
	const char *op = words[0];

	if (!strcmp(op, "malloc") && count == 3)
		do_malloc(slot_id(words[1]), number(words[2]));
	else if (!strcmp(op, "calloc") && count == 4)
		do_calloc(slot_id(words[1]), number(words[2]), number(words[3]));
	else if (!strcmp(op, "realloc") && count == 3)
		do_realloc(slot_id(words[1]), number(words[2]));
	else if (!strcmp(op, "free") && count == 2)
		do_free(slot_id(words[1]));
	else
		bad_script("expected 'malloc ID SIZE', 'calloc ID NMEMB SIZE', 'realloc ID SIZE' "
			   "or 'free ID'");
}

int main(int argc, char **argv)
{
	char *words[MAX_WORDS];
	char *line, *next, *end;

	if (argc != 2) {
		osmem_dprintf(2, "usage: replay SCRIPT\n");
		return 2;
	}
	end = g_script + read_script(argv[1]);
	for (line = g_script; line < end; line = next) {
		char *nl = strchr(line, '\n');
		int count;

		next = nl ? nl + 1 : end;
		if (nl)
			*nl = '\0';
		g_line++;
		count = split_words(line, words);
		if (count)
			perform(words, count);
	}
	return finish();
}
