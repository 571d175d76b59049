/* Growable byte buffers with a hard maximum. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

char *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
	/* Give back large blocks once drained so idle links stay small. */
	if (b->cap > 256 * 1024) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		buf_reset(b);
}

char *
buf_reserve(struct buf *b, size_t n)
{
	size_t used = b->len - b->off, want, ncap;
	char *p;

	if (b->max && used + n > b->max)
		return NULL;
	if (b->len + n + 1 <= b->cap)
		return b->data + b->len;
	/* Slide unconsumed bytes to the front before growing. */
	if (b->off > 0 && used + n + 1 <= b->cap) {
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		return b->data + b->len;
	}
	want = used + n + 1;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < want)
		ncap *= 2;
	/* Grow in place: for large blocks realloc moves pages (mremap)
	   rather than copying them. */
	if (b->off > 0 && used)
		memmove(b->data, b->data + b->off, used);
	p = xrealloc(b->data, ncap);
	b->data = p;
	b->cap = ncap;
	b->off = 0;
	b->len = used;
	return b->data + b->len;
}

char *
buf_reserve_upto(struct buf *b, size_t want, size_t *got)
{
	size_t used = b->len - b->off;

	if (b->max && used + want > b->max)
		want = b->max > used ? b->max - used : 0;
	*got = want;
	return want ? buf_reserve(b, want) : NULL;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	char *dst;

	if (n == 0)
		return 0;
	if ((dst = buf_reserve(b, n)) == NULL)
		return -1;
	memcpy(dst, p, n);
	buf_commit(b, n);
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	r = buf_add(b, s, (size_t)n);
	free(s);
	return r;
}

char *
buf_steal(struct buf *b, size_t *lenp)
{
	size_t used = buf_used(b);
	char *s;

	if (b->data && b->off == 0) {
		/* Hand over the storage; buf_commit keeps it terminated. */
		s = b->data;
		s[used] = '\0';
		b->data = NULL;
		b->off = b->len = b->cap = 0;
	} else {
		s = xmalloc(used + 1);
		if (used)
			memcpy(s, buf_head(b), used);
		s[used] = '\0';
		buf_free(b);
	}
	if (lenp)
		*lenp = used;
	return s;
}
