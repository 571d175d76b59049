/* Shared helpers for the cmocka unit tests: table rows become one cmocka
   test each, named after their input so a TAP line says what failed.
   Include after <cmocka.h>. */
#ifndef CORRAL_TESTS_UNIT_H
#define CORRAL_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length, embedded NULs included. */
#define LIT(s) s, (sizeof(s) - 1)

struct unit_tests {
	struct CMUnitTest *t;
	size_t n, max;
};

/* Append a readable, TAP-safe rendering of n bytes at out[*o]: printable
   ASCII as is except '#', the rest as \xNN. */
static inline void
unit_esc(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && *o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '#')
			out[(*o)++] = (char)c;
		else
			*o += (size_t)snprintf(out + *o, cap - *o, "\\x%02x", c);
	}
	out[*o] = '\0';
}

/* A test name: prefix, then the input, long inputs cut with "...". */
static inline char *
unit_name(const char *prefix, const char *s, size_t n)
{
	size_t cap = 4 * (strlen(prefix) + 72) + 8, o = 0;
	char *out = malloc(cap);

	if (out == NULL)
		abort();
	unit_esc(out, cap, &o, prefix, strlen(prefix));
	unit_esc(out, cap, &o, s, n > 72 ? 72 : n);
	if (n > 72)
		snprintf(out + o, cap - o, "...");
	return out;
}

/* Add one test; name is taken (freed by unit_free). */
static inline void
unit_add(struct unit_tests *u, char *name, CMUnitTestFunction f, void *state)
{
	struct CMUnitTest *t;

	if (u->n >= u->max)
		abort();
	t = &u->t[u->n++];
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->test_func = f;
	t->initial_state = state;
}

/* Add the fixed tests of a cmocka_unit_test() array, names copied. */
static inline void
unit_add_plain(struct unit_tests *u, const struct CMUnitTest *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *name = strdup(p[i].name);

		if (name == NULL)
			abort();
		unit_add(u, name, p[i].test_func, p[i].initial_state);
	}
}

static inline void
unit_free(struct unit_tests *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free((char *)u->t[i].name);
	u->n = 0;
}

#endif
