/* Unit tests for core/jsonc: comments and trailing commas blanked, strings
   untouched, offsets kept. Each row is a test named after its input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/jsonc.h"
#include "tests/unit/unit.h"

struct strip_case {
	const char *in;
	const char *out;	/* NULL: refused */
	size_t off;		/* where, when refused */
};

static const struct strip_case cases[] = {
	{ "{}", "{}", 0 },
	{ "{\"a\": 1}", "{\"a\": 1}", 0 },
	{ "// top\n{}", "      \n{}", 0 },
	{ "{} // end", "{}       ", 0 },
	{ "{} //", "{}   ", 0 },
	{ "{/* a */\"a\": 1}", "{       \"a\": 1}", 0 },
	{ "{/* a\nb */}", "{    \n    }", 0 },
	{ "{/**/}", "{    }", 0 },
	{ "{/* // */}", "{        }", 0 },
	{ "{// /* \n}", "{      \n}", 0 },
	{ "{\"u\": \"http://x/y\"}", "{\"u\": \"http://x/y\"}", 0 },
	{ "{\"u\": \"/* no */\"}", "{\"u\": \"/* no */\"}", 0 },
	{ "{\"q\": \"a\\\"//b\"}", "{\"q\": \"a\\\"//b\"}", 0 },
	{ "{\"q\": \"\\\\\"// c\n}", "{\"q\": \"\\\\\"    \n}", 0 },
	{ "{\"a\": 1,}", "{\"a\": 1 }", 0 },
	{ "[1, 2,\n]", "[1, 2 \n]", 0 },
	{ "[1, 2, /* x */ ]", "[1, 2          ]", 0 },
	{ "[1, 2, // x\n]", "[1, 2      \n]", 0 },
	{ "{\"a\": [1,],}", "{\"a\": [1 ] }", 0 },
	{ "{\"a\": \",}\"}", "{\"a\": \",}\"}", 0 },
	{ "[1,,]", "[1, ]", 0 },
	{ "[1, 2]", "[1, 2]", 0 },
	{ "a / b", "a / b", 0 },
	{ "{\"x\": \"open", "{\"x\": \"open", 0 },
	{ "{/* open", NULL, 1 },
	{ "{} /*/", NULL, 3 },
	{ "/", "/", 0 },
};

static void
strip_one(void **state)
{
	const struct strip_case *k = *state;
	size_t n = strlen(k->in), off = 999;
	char *p = strdup(k->in);
	int r;

	assert_non_null(p);
	r = jsonc_strip(p, n, &off);
	if (k->out == NULL) {
		assert_int_equal(r, -1);
		assert_int_equal(off, k->off);
	} else {
		assert_int_equal(r, 0);
		assert_string_equal(p, k->out);
		assert_int_equal(strlen(p), n);
	}
	free(p);
}

int
main(void)
{
	struct CMUnitTest t[NELEM(cases)];
	struct unit_tests u = { t, 0, NELEM(t) };
	size_t i;
	int r;

	for (i = 0; i < NELEM(cases); i++)
		unit_add(&u, unit_name("strip ", cases[i].in,
		    strlen(cases[i].in)), strip_one, (void *)&cases[i]);
	r = _cmocka_run_group_tests("jsonc", u.t, u.n, NULL, NULL);
	unit_free(&u);
	return r;
}
