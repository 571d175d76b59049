/* fuzz_canon: the JSON scanner (json.c), canonical JSON and hashes
   (canon.c), the pinned part of a tool (pins.c) and message sniffing
   (jsonrpc.c) on any text.

   What is checked is what json.h and canon.h promise:
   - json_check's span lies inside the text, and every value span found by
     json_iter is itself one valid JSON value;
   - json_member finds a key that json_iter lists (1 when once, -1 when
     more than once), with the same value span;
   - json_check_unique accepts exactly what json_check accepts with no
     object naming a key twice (after unescaping), with the same span;
   - replacing a value span with another valid value (json_splice) keeps
     the text valid, at the length the edit says;
   - text json_check accepts, cJSON parses too, except where cJSON is
     stricter by its own design (lone surrogate escapes \uD800-\uDFFF,
     numbers longer than 63 characters, nesting deeper than 1000);
   - canon_json of such a value is valid JSON and a fixed point:
     canonicalising its parse gives the same text; canon_hash is the
     SHA-256 of canon_json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/canon.h"
#include "core/json.h"
#include "core/jsonrpc.h"
#include "core/pins.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_canon: invariant failed: %s (line %d)\n", \
		    #cond, __LINE__); \
		abort(); \
	} \
} while (0)

#define DEPTH 128

struct walk {
	const char *p;
	size_t n;
	int budget;		/* values still to look at */
	int dup;		/* an object names a key twice */
	int partial;		/* not every object was looked at */
	struct jspan spans[64];	/* some value spans, for edits */
	int nspans;
};

static void
walk_value(struct walk *w, struct jspan v, int depth)
{
	struct jspan k, e, got, again;
	size_t pos = 0;
	const char *why;
	enum json_type t = json_type(w->p, v);

	if (w->budget-- <= 0) {
		w->partial = 1;
		return;
	}
	CHECK(v.len > 0 && v.off + v.len <= w->n);
	CHECK(t != JT_NONE);
	/* A value span is a JSON value by itself. */
	CHECK(json_check(w->p + v.off, v.len, DEPTH, &again, &why) == 0);
	CHECK(again.off == 0 && again.len == v.len);
	if (w->nspans < 64)
		w->spans[w->nspans++] = v;
	if (t == JT_STRING) {
		size_t len;
		char *s = json_strdup(w->p, v, &len);

		CHECK(s != NULL);
		free(s);
	}
	if (t != JT_OBJECT && t != JT_ARRAY)
		return;
	if (t == JT_OBJECT) {
		/* Twice the same key, after unescaping (NULs included)? */
		size_t p1 = 0, p2, n1, n2;
		struct jspan k1, e1, k2, e2;
		int m = 0;

		while (!w->dup && json_iter(w->p, v, &p1, &k1, &e1) &&
		    m++ < 256) {
			char *a = json_strdup(w->p, k1, &n1), *b;

			for (p2 = p1; !w->dup &&
			    json_iter(w->p, v, &p2, &k2, &e2); ) {
				b = json_strdup(w->p, k2, &n2);
				w->dup = n1 == n2 && memcmp(a, b, n1) == 0;
				free(b);
			}
			free(a);
		}
		if (m > 256)
			w->partial = 1;
	}
	if (depth >= 64)
		w->partial = 1;
	while (json_iter(w->p, v, &pos, &k, &e)) {
		if (t == JT_OBJECT) {
			size_t klen, pos2 = 0;
			char *key;
			struct jspan k2, e2;
			int count = 0, r;

			CHECK(json_type(w->p, k) == JT_STRING);
			key = json_strdup(w->p, k, &klen);
			CHECK(key != NULL);
			if (strlen(key) == klen) {
				CHECK(json_streq(w->p, k, key));
				while (json_iter(w->p, v, &pos2, &k2, &e2))
					count += json_streq(w->p, k2, key);
				r = json_member(w->p, v, key, &got);
				CHECK(count >= 1);
				CHECK(r == (count == 1 ? 1 : -1));
				if (r == 1)
					CHECK(got.off == e.off &&
					    got.len == e.len);
			}
			free(key);
		} else {
			CHECK(k.len == 0);
		}
		if (depth < 64)
			walk_value(w, e, depth + 1);
	}
}

/* Where cJSON refuses what RFC 8259 allows. */
static int
cjson_stricter(const char *p, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 5 < n && p[i + 1] == 'u' &&
		    (p[i + 2] == 'd' || p[i + 2] == 'D') &&
		    strchr("89abcdefABCDEF", p[i + 3]) && p[i + 3])
			return 1;
		if (strchr("0123456789+-.eE", p[i]) && p[i]) {
			if (++run >= 63)
				return 1;
		} else
			run = 0;
		if (p[i] == '\\' && i + 1 < n)
			i++;	/* an escaped quote or backslash */
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = xmalloc(size ? size : 1), h1[65], h2[65], id[128];
	struct jspan v;
	const char *why;
	cJSON *j;
	int ok;
	struct walk w;

	memcpy(p, data, size);
	ok = json_check(p, size, DEPTH, &v, &why) == 0;
	if (ok) {
		CHECK(v.len > 0 && v.off + v.len <= size);
		memset(&w, 0, sizeof(w));
		w.p = p;
		w.n = size;
		w.budget = 4096;
		walk_value(&w, v, 0);
		/* json_check_unique: json_check, less text naming a key twice
		   in one object. */
		{
			struct jspan u;
			const char *uwhy;
			int uok = json_check_unique(p, size, DEPTH, &u,
			    &uwhy) == 0;

			if (uok)
				CHECK(u.off == v.off && u.len == v.len);
			if (!w.partial)
				CHECK(uok == !w.dup);
			else if (!uok)
				CHECK(w.dup || w.partial);
		}
		if (json_type(p, v) == JT_OBJECT) {
			struct jmsg m;

			jsonrpc_classify(p, v, &m);
		}
		/* Replace a value with another one (or null): still valid. */
		if (w.nspans > 0) {
			unsigned x = 0;
			size_t i;
			struct jedit ed;
			struct buf out;
			struct jspan a = w.spans[0], b2;
			struct jspan nv;

			for (i = 0; i < size; i++)
				x = x * 31 + (unsigned char)p[i];
			a = w.spans[x % w.nspans];
			b2 = w.spans[(x / 64) % w.nspans];
			ed.off = a.off;
			ed.len = a.len;
			if (x & 1) {
				ed.rep = "null";
				ed.replen = 4;
			} else {
				ed.rep = p + b2.off;
				ed.replen = b2.len;
			}
			buf_init(&out, 0);
			CHECK(json_splice(&out, p, size, &ed, 1) == 0);
			CHECK(buf_used(&out) == size - ed.len + ed.replen);
			/* Depth may grow by the nested value's own depth. */
			CHECK(json_check(buf_head(&out), buf_used(&out),
			    2 * DEPTH, &nv, &why) == 0);
			buf_free(&out);
		}
	} else {
		struct jspan u;

		CHECK(v.off <= size);
		CHECK(json_check_unique(p, size, DEPTH, &u, &why) < 0);
	}
	jsonrpc_sniff_id(p, size < 256 ? size : 256, size > 64 ?
	    p + size - 64 : p, size < 64 ? size : 64, id, sizeof(id));

	j = cJSON_ParseWithLength(p, size);
	if (ok && j == NULL)
		CHECK(cjson_stricter(p, size));
	if (j) {
		char *c1 = canon_json(j), *c2;
		cJSON *j2;
		struct jspan cv;

		canon_hash(j, h1);
		sha256_hex(c1, strlen(c1), h2);
		CHECK(strcmp(h1, h2) == 0);
		if (ok) {
			CHECK(json_check(c1, strlen(c1), 1000, &cv, &why) == 0);
			j2 = cJSON_Parse(c1);
			CHECK(j2 != NULL);
			c2 = canon_json(j2);
			if (strcmp(c1, c2) != 0) {
				fprintf(stderr, "canon not a fixed point:\n"
				    "%s\n%s\n", c1, c2);
				abort();
			}
			free(c2);
			cJSON_Delete(j2);
		}
		if (cJSON_IsObject(j)) {
			cJSON *d = pins_tool_def(j);

			canon_hash(d, h1);
			cJSON_Delete(d);
		}
		free(c1);
		cJSON_Delete(j);
	}
	free(p);
	return 0;
}
