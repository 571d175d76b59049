/* Growable byte buffers with a hard maximum. */
#ifndef CORRAL_BUF_H
#define CORRAL_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t off;	/* first unconsumed byte */
	size_t len;	/* end of valid bytes */
	size_t cap;
	size_t max;	/* hard limit on len - off; 0 = unlimited */
};

/* Initialise an empty buffer that never holds more than max bytes. */
void buf_init(struct buf *, size_t max);
/* Release the storage; the buffer may be reused after buf_init. */
void buf_free(struct buf *);
/* Append n bytes; returns 0, or -1 when the maximum would be exceeded. */
int buf_add(struct buf *, const void *, size_t);
/* Append a NUL-terminated string; as buf_add. */
int buf_adds(struct buf *, const char *);
/* Append printf-formatted text; as buf_add. */
int buf_addf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
/* Bytes waiting to be consumed. */
size_t buf_used(const struct buf *);
/* Pointer to the first unconsumed byte (borrowed). */
char *buf_head(const struct buf *);
/* Drop n bytes from the front. */
void buf_consume(struct buf *, size_t);
/* Drop everything. */
void buf_reset(struct buf *);
/* Make room for at least n more bytes; returns a pointer to the free space
   or NULL when the maximum forbids it. Commit with buf_commit. */
char *buf_reserve(struct buf *, size_t n);
void buf_commit(struct buf *, size_t n);
/* Reserve up to want bytes, fewer when the maximum is near; returns the
   space and its size in *got, or NULL when the buffer is full. */
char *buf_reserve_upto(struct buf *, size_t want, size_t *got);
/* Detach the contents as a NUL-terminated string; caller owns it. */
char *buf_steal(struct buf *, size_t *lenp);

#endif
