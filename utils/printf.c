// SPDX-License-Identifier: BSD-3-Clause
/*
 * Heap-free formatted output (see printf.h).
 *
 * Invariants: no call allocates, no call touches stdio; every write into `buf` is bounds
 * checked against `n`; osmem_dprintf issues exactly one write() per call, so markers and
 * messages never interleave with other output mid-line.
 */
#include "printf.h"

#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#define LINE_MAX_BYTES 512

struct sink {
	char *buf;
	size_t cap;   /* bytes available, including the final NUL */
	size_t len;   /* characters produced so far, even those that did not fit */
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->cap)
		s->buf[s->len] = c;
	s->len++;
}

static void put_padded(struct sink *s, const char *digits, size_t ndigits, int negative,
		       unsigned width, char pad)
{
	size_t shown = ndigits + (negative ? 1 : 0);

	if (negative && pad == '0')
		put(s, '-');
	for (; shown < width; shown++)
		put(s, pad);
	if (negative && pad != '0')
		put(s, '-');
	while (ndigits)
		put(s, digits[--ndigits]);
}

static void put_number(struct sink *s, uintmax_t value, unsigned base, int negative,
		       unsigned width, char pad)
{
	char digits[sizeof(uintmax_t) * CHAR_BIT];
	size_t n = 0;

	do {
		digits[n++] = "0123456789abcdef"[value % base];
		value /= base;
	} while (value);
	put_padded(s, digits, n, negative, width, pad);
}

enum length { LEN_INT, LEN_LONG, LEN_LONG_LONG, LEN_SIZE };

static uintmax_t next_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LONG_LONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned int);
	}
}

static intmax_t next_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LONG_LONG: return va_arg(*ap, long long);
	case LEN_SIZE: return va_arg(*ap, ssize_t);
	default: return va_arg(*ap, int);
	}
}

int osmem_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap_in)
{
	struct sink s = { buf, n, 0 };
	va_list ap;

	va_copy(ap, ap_in);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&s, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		unsigned width = 0;
		enum length len = LEN_INT;

		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		if (*fmt == 'z') {
			len = LEN_SIZE;
			fmt++;
		} else if (*fmt == 'l') {
			len = LEN_LONG;
			if (*++fmt == 'l') {
				len = LEN_LONG_LONG;
				fmt++;
			}
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			intmax_t v = next_signed(&ap, len);
			uintmax_t magnitude = v < 0 ? -(uintmax_t)v : (uintmax_t)v;

			put_number(&s, magnitude, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			put_number(&s, next_unsigned(&ap, len), 10, 0, width, pad);
			break;
		case 'x':
			put_number(&s, next_unsigned(&ap, len), 16, 0, width, pad);
			break;
		case 'p':
			put(&s, '0');
			put(&s, 'x');
			put_number(&s, (uintptr_t)va_arg(ap, void *), 16, 0, width, pad);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			for (str = str ? str : "(null)"; *str; str++)
				put(&s, *str);
			break;
		}
		case 'c':
			put(&s, (char)va_arg(ap, int));
			break;
		case '%':
			put(&s, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop at the terminator */
			break;
		default:
			put(&s, '%');
			put(&s, *fmt);
		}
	}
	va_end(ap);
	if (n)
		buf[s.len < n ? s.len : n - 1] = '\0';
	return s.len > INT_MAX ? INT_MAX : (int)s.len;
}

int osmem_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = osmem_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return len;
}

static int vdprintf_line(int fd, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];
	int len = osmem_vsnprintf(line, sizeof(line), fmt, ap);

	if (len >= (int)sizeof(line))
		len = sizeof(line) - 1;
	return (int)write(fd, line, (size_t)len);
}

int osmem_dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vdprintf_line(fd, fmt, ap);
	va_end(ap);
	return ret;
}

int osmem_printf(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vdprintf_line(STDOUT_FILENO, fmt, ap);
	va_end(ap);
	return ret;
}
