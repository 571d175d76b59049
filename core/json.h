/* A validating JSON scanner that finds spans without building a tree, and
   a splicer that rewrites spans. Forwarding a message means changing a few
   spans (an id, a token) and copying the rest byte for byte. */
#ifndef CORRAL_JSON_H
#define CORRAL_JSON_H

#include <stddef.h>

#include "core/buf.h"

struct jspan {
	size_t off;
	size_t len;	/* 0: absent */
};

enum json_type {
	JT_NONE = 0, JT_OBJECT, JT_ARRAY, JT_STRING, JT_NUMBER, JT_TRUE,
	JT_FALSE, JT_NULL
};

/* Check that p[0..n) holds exactly one JSON value (RFC 8259, UTF-8), with
   white space around it allowed and nesting no deeper than maxdepth.
   Returns 0 and the value's span, or -1 with a static reason in *why and
   the offset where it went wrong in val->off. */
int json_check(const char *p, size_t n, int maxdepth, struct jspan *val,
    const char **why);
/* The same, and an object that names a key twice (after unescaping) is
   refused: parsers disagree on which one counts, so a policy could see
   one value and a server act on the other. */
int json_check_unique(const char *p, size_t n, int maxdepth,
    struct jspan *val, const char **why);
/* Type of the value at span v of checked text. */
enum json_type json_type(const char *p, struct jspan v);
/* Find member key of the object at span obj (checked text). Returns 1 with
   the value span, 0 when absent, -1 when the key occurs more than once. */
int json_member(const char *p, struct jspan obj, const char *key,
    struct jspan *val);
/* Iterate the members of an object or the elements of an array: start
   with *pos = 0; returns 1 per item (key is zero for arrays; it may be
   NULL), 0 at the end. */
int json_iter(const char *p, struct jspan v, size_t *pos, struct jspan *key,
    struct jspan *val);
/* Decode the string at span s; caller owns the result (NULL if not a
   string). Embedded NULs are kept; *lenp gets the length. */
char *json_strdup(const char *p, struct jspan s, size_t *lenp);
/* Whether the string at span s decodes to exactly lit. */
int json_streq(const char *p, struct jspan s, const char *lit);

struct jedit {
	size_t off;	/* where in the source */
	size_t len;	/* bytes replaced (0: insert) */
	const char *rep;
	size_t replen;
};

/* Append src[0..n) to out with the edits applied; edits must be sorted by
   offset and must not overlap. Returns 0, or -1 when out is full. */
int json_splice(struct buf *out, const char *src, size_t n,
    const struct jedit *, int nedits);

#endif
