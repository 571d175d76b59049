/* A validating JSON scanner that finds spans without building a tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

struct scan {
	const unsigned char *p;
	size_t n, i;
	int depth, maxdepth;
	const char *why;
	int unique;		/* refuse an object naming a key twice */
};

/* The keys of one object, as 64-bit hashes of their decoded text: a
   short list, then an open-addressing table once it grows. Equal keys
   always collide; a false match needs a 64-bit collision and only
   refuses the message. */
struct keyset {
	uint64_t small[16];
	size_t n;
	uint64_t *tab;		/* 0 marks a free slot; hashes are made odd */
	size_t cap;
};

static int
keyset_put(struct keyset *k, uint64_t h)
{
	size_t i, j;

	h |= 1;
	if (k->tab == NULL && k->n < 16) {
		for (i = 0; i < k->n; i++)
			if (k->small[i] == h)
				return 1;
		k->small[k->n++] = h;
		return 0;
	}
	if (k->tab == NULL || 2 * (k->n + 1) > k->cap) {
		size_t ncap = k->cap ? 2 * k->cap : 64;
		uint64_t *t = xcalloc(ncap, sizeof(*t)), *old = k->tab;
		size_t ocap = k->cap, on = k->n;

		k->tab = t;
		k->cap = ncap;
		k->n = 0;
		if (old == NULL) {
			for (i = 0; i < on; i++)
				keyset_put(k, k->small[i]);
		} else {
			for (i = 0; i < ocap; i++)
				if (old[i])
					keyset_put(k, old[i]);
			free(old);
		}
	}
	for (j = h & (k->cap - 1);; j = (j + 1) & (k->cap - 1)) {
		if (k->tab[j] == h)
			return 1;
		if (k->tab[j] == 0) {
			k->tab[j] = h;
			k->n++;
			return 0;
		}
	}
}

/* The hash of the key whose quoted text is p[from..to). */
static uint64_t
key_hash(const unsigned char *p, size_t from, size_t to)
{
	const char *q = (const char *)p + from + 1;
	size_t n = to - from - 2, len;
	struct jspan sp = { from, to - from };
	uint64_t h;
	char *d;

	if (memchr(q, '\\', n) == NULL)
		return fnv1a64(q, n);
	d = json_strdup((const char *)p, sp, &len);
	h = fnv1a64(d, len);
	free(d);
	return h;
}

static void
skip_ws(struct scan *s)
{
	while (s->i < s->n && (s->p[s->i] == ' ' || s->p[s->i] == '\t' ||
	    s->p[s->i] == '\n' || s->p[s->i] == '\r'))
		s->i++;
}

static int
fail(struct scan *s, const char *why)
{
	if (s->why == NULL)
		s->why = why;
	return -1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (p[1] & 0xc0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

static int
scan_string(struct scan *s)
{
	size_t k;
	int j;

	s->i++;	/* opening quote */
	while (s->i < s->n) {
		unsigned c;

		/* Plain ASCII, the bulk of any text, eight bytes at a time:
		   stop at the first word holding a byte that is a control
		   character, non-ASCII, '"' or '\\', then byte by byte. */
		while (s->n - s->i >= 8) {
			uint64_t w, lo = 0x0101010101010101ULL,
			    hi = 0x8080808080808080ULL, q, b;

			memcpy(&w, s->p + s->i, 8);
			q = w ^ (lo * '"');
			b = w ^ (lo * '\\');
			if (((w | ((w - lo * 0x20) & ~w) |
			    ((q - lo) & ~q) | ((b - lo) & ~b)) & hi) != 0)
				break;
			s->i += 8;
		}
		while (s->i < s->n && (c = (unsigned char)s->p[s->i]) >= 0x20 &&
		    c < 0x80 && c != '"' && c != '\\')
			s->i++;
		if (s->i >= s->n)
			break;
		c = (unsigned char)s->p[s->i];

		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c < 0x20)
			return fail(s, "control character in string");
		if (c == '\\') {
			if (s->i + 1 >= s->n)
				return fail(s, "unterminated string");
			c = s->p[s->i + 1];
			if (c == 'u') {
				if (s->i + 6 > s->n)
					return fail(s, "bad \\u escape");
				for (j = 2; j < 6; j++)
					if (hexval(s->p[s->i + j]) < 0)
						return fail(s, "bad \\u escape");
				s->i += 6;
				continue;
			}
			if (strchr("\"\\/bfnrt", (int)c) == NULL || c == 0)
				return fail(s, "bad escape");
			s->i += 2;
			continue;
		}
		if ((k = utf8_len(s->p + s->i, s->n - s->i)) == 0)
			return fail(s, "invalid UTF-8");
		s->i += k;
	}
	return fail(s, "unterminated string");
}

static int
digits(struct scan *s)
{
	size_t start = s->i;

	while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9')
		s->i++;
	return s->i > start ? 0 : -1;
}

static int
scan_number(struct scan *s)
{
	if (s->p[s->i] == '-')
		s->i++;
	if (s->i < s->n && s->p[s->i] == '0')
		s->i++;
	else if (digits(s) < 0)
		return fail(s, "bad number");
	if (s->i < s->n && s->p[s->i] == '.') {
		s->i++;
		if (digits(s) < 0)
			return fail(s, "bad number");
	}
	if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
			s->i++;
		if (digits(s) < 0)
			return fail(s, "bad number");
	}
	return 0;
}

static int
scan_lit(struct scan *s, const char *lit)
{
	size_t l = strlen(lit);

	if (s->n - s->i < l || memcmp(s->p + s->i, lit, l) != 0)
		return fail(s, "invalid literal");
	s->i += l;
	return 0;
}

static int scan_value(struct scan *);

static int
scan_container(struct scan *s, char close)
{
	struct keyset ks;
	size_t kstart;
	int first = 1, r = -1;

	if (++s->depth > s->maxdepth)
		return fail(s, "nesting too deep");
	ks.n = 0;
	ks.tab = NULL;
	ks.cap = 0;
	s->i++;
	for (;;) {
		skip_ws(s);
		if (s->i >= s->n)
			return fail(s, "unexpected end");
		if (s->p[s->i] == close && first) {
			s->i++;
			break;
		}
		if (close == '}') {
			if (s->p[s->i] != '"') {
				fail(s, "expected member name");
				goto out;
			}
			kstart = s->i;
			if (scan_string(s) < 0)
				goto out;
			if (s->unique && keyset_put(&ks, key_hash(s->p, kstart,
			    s->i))) {
				s->i = kstart;
				fail(s, "duplicate key in an object");
				goto out;
			}
			skip_ws(s);
			if (s->i >= s->n || s->p[s->i] != ':') {
				fail(s, "expected ':'");
				goto out;
			}
			s->i++;
		}
		if (scan_value(s) < 0)
			goto out;
		skip_ws(s);
		if (s->i >= s->n) {
			fail(s, "unexpected end");
			goto out;
		}
		if (s->p[s->i] == ',') {
			s->i++;
			first = 0;
			continue;
		}
		if (s->p[s->i] == close) {
			s->i++;
			break;
		}
		fail(s, "expected ',' or end of container");
		goto out;
	}
	s->depth--;
	r = 0;
out:
	free(ks.tab);
	return r;
}

static int
scan_value(struct scan *s)
{
	skip_ws(s);
	if (s->i >= s->n)
		return fail(s, "unexpected end");
	switch (s->p[s->i]) {
	case '{':
		return scan_container(s, '}');
	case '[':
		return scan_container(s, ']');
	case '"':
		return scan_string(s);
	case 't':
		return scan_lit(s, "true");
	case 'f':
		return scan_lit(s, "false");
	case 'n':
		return scan_lit(s, "null");
	default:
		if (s->p[s->i] == '-' ||
		    (s->p[s->i] >= '0' && s->p[s->i] <= '9'))
			return scan_number(s);
		return fail(s, "unexpected character");
	}
}

static int check(const char *, size_t, int, struct jspan *, const char **,
    int);

int
json_check(const char *p, size_t n, int maxdepth, struct jspan *val,
    const char **why)
{
	return check(p, n, maxdepth, val, why, 0);
}

int
json_check_unique(const char *p, size_t n, int maxdepth, struct jspan *val,
    const char **why)
{
	return check(p, n, maxdepth, val, why, 1);
}

static int
check(const char *p, size_t n, int maxdepth, struct jspan *val,
    const char **why, int unique)
{
	struct scan s = { (const unsigned char *)p, n, 0, 0, maxdepth, NULL,
	    unique };
	size_t start;

	skip_ws(&s);
	start = s.i;
	if (scan_value(&s) < 0)
		goto bad;
	if (val) {
		val->off = start;
		val->len = s.i - start;
	}
	skip_ws(&s);
	if (s.i != n) {
		fail(&s, "trailing data after value");
		goto bad;
	}
	return 0;
bad:
	if (why)
		*why = s.why;
	if (val) {
		val->off = s.i;	/* where it went wrong */
		val->len = 0;
	}
	return -1;
}

enum json_type
json_type(const char *p, struct jspan v)
{
	if (v.len == 0)
		return JT_NONE;
	switch (p[v.off]) {
	case '{': return JT_OBJECT;
	case '[': return JT_ARRAY;
	case '"': return JT_STRING;
	case 't': return JT_TRUE;
	case 'f': return JT_FALSE;
	case 'n': return JT_NULL;
	default: return JT_NUMBER;
	}
}

/* Skip one value of checked text starting at i; returns the end. */
static size_t
skip_value(const char *p, size_t i, size_t end)
{
	int depth = 0;

	do {
		switch (p[i]) {
		case '"': {
			/* Valid JSON: the closing quote is the first one not
			   preceded by an odd run of backslashes. */
			const char *q = p + i + 1, *r;

			for (;;) {
				q = memchr(q, '"', end - (size_t)(q - p));
				if (q == NULL)
					return end;
				for (r = q; r > p + i + 1 && r[-1] == '\\'; r--)
					;
				if ((q - r) % 2 == 0)
					break;
				q++;
			}
			i = (size_t)(q - p) + 1;
			break;
		}
		case '{':
		case '[':
			depth++;
			i++;
			break;
		case '}':
		case ']':
			depth--;
			i++;
			break;
		default:
			if (depth == 0) {
				/* A scalar: run to a delimiter. */
				while (i < end && !strchr(",}] \t\r\n", p[i]))
					i++;
				return i;
			}
			i++;
		}
	} while (depth > 0 && i < end);
	return i;
}

static size_t
ws(const char *p, size_t i)
{
	while (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
		i++;
	return i;
}

int
json_iter(const char *p, struct jspan v, size_t *pos, struct jspan *key,
    struct jspan *val)
{
	size_t end = v.off + v.len, i;
	int obj;

	if (v.len < 2 || (p[v.off] != '{' && p[v.off] != '['))
		return 0;
	obj = p[v.off] == '{';
	i = *pos ? *pos : v.off + 1;
	i = ws(p, i);
	if (p[i] == ',')
		i = ws(p, i + 1);
	if (i >= end - 1 || p[i] == '}' || p[i] == ']')
		return 0;
	if (obj) {
		size_t k = i;

		i = skip_value(p, i, end);
		if (key) {
			key->off = k;
			key->len = i - k;
		}
		i = ws(p, i);
		i = ws(p, i + 1);	/* ':' */
	} else if (key) {
		key->off = key->len = 0;
	}
	val->off = i;
	i = skip_value(p, i, end);
	val->len = i - val->off;
	*pos = i;
	return 1;
}

int
json_streq(const char *p, struct jspan s, const char *lit)
{
	size_t len, l = strlen(lit);
	char *d;
	int eq;

	if (json_type(p, s) != JT_STRING)
		return 0;
	/* Fast path: no escapes. */
	if (memchr(p + s.off, '\\', s.len) == NULL)
		return s.len == l + 2 && memcmp(p + s.off + 1, lit, l) == 0;
	d = json_strdup(p, s, &len);
	eq = len == l && memcmp(d, lit, l) == 0;
	free(d);
	return eq;
}

int
json_member(const char *p, struct jspan obj, const char *key,
    struct jspan *val)
{
	struct jspan k, v;
	size_t pos = 0;
	int found = 0;

	if (json_type(p, obj) != JT_OBJECT)
		return 0;
	while (json_iter(p, obj, &pos, &k, &v)) {
		if (json_streq(p, k, key)) {
			if (found)
				return -1;
			found = 1;
			if (val)
				*val = v;
		}
	}
	return found;
}

static size_t
put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | (cp >> 6);
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | (cp >> 12);
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (cp >> 18);
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

static unsigned long
hex4(const char *p)
{
	return (unsigned long)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
	    hexval(p[2]) << 4 | hexval(p[3]));
}

char *
json_strdup(const char *p, struct jspan s, size_t *lenp)
{
	const char *q, *end;
	char *out, *o;
	unsigned long cp, lo;

	if (json_type(p, s) != JT_STRING)
		return NULL;
	q = p + s.off + 1;
	end = p + s.off + s.len - 1;
	o = out = xmalloc(s.len + 1);
	while (q < end) {
		if (*q != '\\') {
			*o++ = *q++;
			continue;
		}
		q++;
		switch (*q) {
		case 'b': *o++ = '\b'; q++; break;
		case 'f': *o++ = '\f'; q++; break;
		case 'n': *o++ = '\n'; q++; break;
		case 'r': *o++ = '\r'; q++; break;
		case 't': *o++ = '\t'; q++; break;
		case 'u':
			cp = hex4(q + 1);
			q += 5;
			if (cp >= 0xd800 && cp <= 0xdbff && end - q >= 6 &&
			    q[0] == '\\' && q[1] == 'u' &&
			    (lo = hex4(q + 2)) >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				q += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;	/* lone surrogate */
			}
			o += put_utf8(o, cp);
			break;
		default:
			*o++ = *q++;
		}
	}
	*o = '\0';
	if (lenp)
		*lenp = o - out;
	return out;
}

int
json_splice(struct buf *out, const char *src, size_t n,
    const struct jedit *e, int ne)
{
	size_t at = 0, total = n;
	char *dst;
	int k;

	for (k = 0; k < ne; k++)
		total = total - e[k].len + e[k].replen;
	if ((dst = buf_reserve(out, total)) == NULL)
		return -1;
	for (k = 0; k < ne; k++) {
		memcpy(dst, src + at, e[k].off - at);
		dst += e[k].off - at;
		memcpy(dst, e[k].rep, e[k].replen);
		dst += e[k].replen;
		at = e[k].off + e[k].len;
	}
	memcpy(dst, src + at, n - at);
	buf_commit(out, total);
	return 0;
}
