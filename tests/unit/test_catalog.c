/* Unit tests for core/catalog: the naming scheme, the merged tables of two
   children, URI routing and RFC 6570 template matching. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "core/catalog.h"
#include "core/util.h"
#include "tests/unit/unit.h"

/* The suffix the scheme appends: the 64-bit hash of the full original
   name, folded to 32 bits, as "_%08x". */
static void
suffix(const char *raw, size_t n, char out[10])
{
	uint64_t h = fnv1a64(raw, n);

	snprintf(out, 10, "_%08x", (unsigned)(uint32_t)(h ^ (h >> 32)));
}

/* util.h promises "64-bit FNV-1a": the published test vectors (offset
   basis 14695981039346656037, prime 1099511628211). */
static void
test_fnv1a64_reference(void **state)
{
	(void)state;
	assert_int_equal(fnv1a64("", 0), 0xcbf29ce484222325ULL);
	assert_int_equal(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
	assert_int_equal(fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
}

/* ---- catalog_name ------------------------------------------------------ */

struct name_case {
	const char *prefix, *sep, *name;
	/* The expected name: literal, or when hashed, clean plus the suffix
	   of prefix+sep+name (prefix and sep only when prefix is set). */
	const char *want;
	int hashed;
};

static const char a61[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char a62[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static const struct name_case name_cases[] = {
	/* Plain: prefix, separator, name. */
	{ "fs", "__", "read_file", "fs__read_file", 0 },
	{ "fs", "-", "read-file", "fs-read-file", 0 },
	{ "Git2", "__", "Status", "Git2__Status", 0 },
	{ "", "__", "read_file", "read_file", 0 },
	{ "", "__", "x", "x", 0 },
	/* Exposed names must not change between versions: pinned. */
	{ "fs", "__", "read.file", "fs__read_file_4b9601d1", 0 },
	{ "fs", "__", "read file", "fs__read_file_8d0c451c", 0 },
	{ "fs", "__", "caf\xc3\xa9", "fs__caf__837ec5ee", 0 },
	{ "", "", "", "__4fd0bfc1", 0 },
	/* Sanitized: anything outside [A-Za-z0-9_-] becomes '_'. */
	{ "fs", "__", "a/b", "fs__a_b", 1 },
	{ "fs", "__", "a:b", "fs__a_b", 1 },
	{ "fs", "__", "a\tb", "fs__a_b", 1 },
	{ "fs", "__", "..", "fs____", 1 },
	{ "a.b", "__", "c", "a_b__c", 1 },
	/* One '_' for a whole UTF-8 sequence. */
	{ "fs", "__", "\xc3\xa9", "fs___", 1 },
	{ "fs", "__", "\xe6\x97\xa5\xe6\x9c\xac", "fs____", 1 },
	{ "fs", "__", "\xf0\x9f\x98\x80x", "fs___x", 1 },
	{ "fs", "__", "x\xf0\x9f\x98\x80\xf0\x9f\x98\x80y", "fs__x__y", 1 },
	{ "", "__", "na\xc3\xafve", "na_ve", 1 },
	/* Stray bytes: each is one '_'. */
	{ "fs", "__", "a\x80\x80" "b", "fs__a__b", 1 },
	{ "fs", "__", "a\xc3", "fs__a_", 1 },
	/* Empty name: one '_'. */
	{ "", "__", "", "_", 1 },
	/* 64 characters fit; 65 are cut to 55 and hashed. */
	{ "p", "__", a61,
	    "p__aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    0 },
	{ "p", "__", a62,
	    "p__aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1 },
	{ "", "__",
	    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-+",
	    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS", 1 },
	{ "srv", "__",
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    "srv____________________________________________________", 1 },
};

static void
test_name(void **state)
{
	const struct name_case *c = *state;
	char out[CATALOG_NAME_MAX + 1], again[CATALOG_NAME_MAX + 1];
	char want[CATALOG_NAME_MAX + 16], raw[512], suf[10];

	memset(out, 'Z', sizeof(out));
	catalog_name(c->prefix, c->sep, c->name, out);
	if (c->hashed) {
		if (c->prefix[0])
			snprintf(raw, sizeof(raw), "%s%s%s", c->prefix, c->sep,
			    c->name);
		else
			snprintf(raw, sizeof(raw), "%s", c->name);
		suffix(raw, strlen(raw), suf);
		snprintf(want, sizeof(want), "%s%s", c->want, suf);
	} else {
		snprintf(want, sizeof(want), "%s", c->want);
	}
	assert_string_equal(out, want);
	assert_true(strlen(out) <= CATALOG_NAME_MAX);
	assert_true(catalog_name_valid(out));
	/* Stable: the same input gives the same name. */
	catalog_name(c->prefix, c->sep, c->name, again);
	assert_string_equal(again, out);
}

/* Names that sanitize alike still differ: the hash is of the original. */
static void
test_name_distinct(void **state)
{
	static const char *const names[] = { "a.b", "a b", "a/b", "a:b",
		"a\xc3\xa9" "b", "a\xe2\x82\xac" "b", "a_b" };
	char out[NELEM(names)][CATALOG_NAME_MAX + 1];
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(names); i++)
		catalog_name("s", "__", names[i], out[i]);
	/* The plain one is plain. */
	assert_string_equal(out[NELEM(names) - 1], "s__a_b");
	for (i = 0; i < NELEM(names); i++) {
		assert_memory_equal(out[i], "s__a_b", 6);
		for (j = 0; j < i; j++)
			assert_string_not_equal(out[i], out[j]);
	}
	/* Names cut to the same 55 characters differ too. */
	catalog_name("", "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaX",
	    out[0]);
	catalog_name("", "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaY",
	    out[1]);
	assert_int_equal(strlen(out[0]), 64);
	assert_int_equal(strlen(out[1]), 64);
	assert_memory_equal(out[0], out[1], 55);
	assert_string_not_equal(out[0], out[1]);
}

/* ---- catalog_name_valid ------------------------------------------------ */

struct valid_case {
	const char *s;
	int ok;
};

static const struct valid_case valid_cases[] = {
	{ "a", 1 },
	{ "Z", 1 },
	{ "0", 1 },
	{ "_", 1 },
	{ "-", 1 },
	{ "fs__read_file", 1 },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
	    1 },
	{ "", 0 },
	{ "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_x",
	    0 },
	{ "a.b", 0 },
	{ "a b", 0 },
	{ "a/b", 0 },
	{ "a:b", 0 },
	{ "a\tb", 0 },
	{ "caf\xc3\xa9", 0 },
	{ "a\x7f", 0 },
	{ "a+", 0 },
};

static void
test_valid(void **state)
{
	const struct valid_case *c = *state;

	assert_int_equal(catalog_name_valid(c->s), c->ok);
}

/* ---- the merged tables ------------------------------------------------- */

static cJSON *
parse(const char *s)
{
	cJSON *j = cJSON_Parse(s);

	assert_non_null(j);
	return j;
}

static void
expect_json(const struct catalog *c, int k, const char *want)
{
	size_t len = 99;
	const char *got = catalog_json(c, k, &len);

	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
}

static void
expect_entry(const struct catalog *c, int k, const char *exposed, int owner,
    const char *orig)
{
	const struct cat_entry *e = catalog_lookup(c, k, exposed);
	const cJSON *key;

	if (e == NULL)
		fail_msg("no entry %s", exposed);
	assert_int_equal(e->owner, owner);
	assert_string_equal(e->orig, orig);
	if (k == CAT_TOOLS || k == CAT_PROMPTS) {
		assert_non_null(e->exposed);
		assert_string_equal(e->exposed, exposed);
	} else {
		assert_null(e->exposed);
	}
	/* The definition is the child's own, its name unchanged. */
	assert_non_null(e->def);
	key = cJSON_GetObjectItemCaseSensitive(e->def,
	    k == CAT_RESOURCES ? "uri" : k == CAT_TEMPLATES ? "uriTemplate" :
	    "name");
	assert_true(cJSON_IsString(key));
	assert_string_equal(key->valuestring, orig);
}

static void
test_catalog_empty(void **state)
{
	char *prefixes[] = { "a", "b" };
	struct catalog c;
	int k;

	(void)state;
	catalog_init(&c, "__", 2, prefixes);
	assert_string_equal(c.sep, "__");
	for (k = 0; k < CAT_NKINDS; k++) {
		expect_json(&c, k, "[]");
		assert_null(catalog_lookup(&c, k, "a__x"));
	}
	assert_int_equal(catalog_route_uri(&c, "file:///x"), -1);
	assert_int_equal(catalog_clear(&c, 0), 0);
	/* An empty list leaves the merged list as it is. */
	assert_int_equal(catalog_set(&c, CAT_TOOLS, 0, parse("[]")), 0);
	expect_json(&c, CAT_TOOLS, "[]");
	catalog_json(&c, CAT_TOOLS, NULL);	/* len is optional */
	catalog_free(&c);
}

/* Two children's tools: renamed, in config order, other fields kept. */
static void
test_catalog_two_owners(void **state)
{
	char *prefixes[] = { "fs", "git" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "__", 2, prefixes);
	assert_int_equal(catalog_set(&c, CAT_TOOLS, 1,
	    parse("[{\"name\":\"status\",\"description\":\"S\"}]")), 1);
	expect_json(&c, CAT_TOOLS,
	    "[{\"name\":\"git__status\",\"description\":\"S\"}]");
	assert_int_equal(catalog_set(&c, CAT_TOOLS, 0,
	    parse("[{\"name\":\"read\",\"description\":\"R\",\"inputSchema\":"
	    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}},"
	    "{\"title\":\"W\",\"name\":\"write\",\"annotations\":"
	    "{\"readOnlyHint\":false}}]")), 1);
	/* The first child's tools come first although set last; "name" keeps
	   its place among the fields; a nested "name" is left alone. */
	expect_json(&c, CAT_TOOLS,
	    "[{\"name\":\"fs__read\",\"description\":\"R\",\"inputSchema\":"
	    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}},"
	    "{\"title\":\"W\",\"name\":\"fs__write\",\"annotations\":"
	    "{\"readOnlyHint\":false}},"
	    "{\"name\":\"git__status\",\"description\":\"S\"}]");
	assert_int_equal(c.nents[CAT_TOOLS], 3);
	expect_entry(&c, CAT_TOOLS, "fs__read", 0, "read");
	expect_entry(&c, CAT_TOOLS, "fs__write", 0, "write");
	expect_entry(&c, CAT_TOOLS, "git__status", 1, "status");
	assert_null(catalog_lookup(&c, CAT_TOOLS, "read"));
	assert_null(catalog_lookup(&c, CAT_TOOLS, "fs__status"));
	assert_null(catalog_lookup(&c, CAT_TOOLS, "git__read"));
	assert_null(catalog_lookup(&c, CAT_PROMPTS, "fs__read"));
	/* The same list again changes nothing the host sees. */
	assert_int_equal(catalog_set(&c, CAT_TOOLS, 0,
	    parse("[{\"name\":\"read\",\"description\":\"R\",\"inputSchema\":"
	    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}},"
	    "{\"title\":\"W\",\"name\":\"write\",\"annotations\":"
	    "{\"readOnlyHint\":false}}]")), 0);
	/* A changed description is a change. */
	assert_int_equal(catalog_set(&c, CAT_TOOLS, 1,
	    parse("[{\"name\":\"status\",\"description\":\"S2\"}]")), 1);
	expect_entry(&c, CAT_TOOLS, "git__status", 1, "status");
	/* Clearing the first child leaves the second. */
	assert_int_equal(catalog_clear(&c, 0), 1 << CAT_TOOLS);
	expect_json(&c, CAT_TOOLS,
	    "[{\"name\":\"git__status\",\"description\":\"S2\"}]");
	assert_null(catalog_lookup(&c, CAT_TOOLS, "fs__read"));
	expect_entry(&c, CAT_TOOLS, "git__status", 1, "status");
	assert_int_equal(catalog_clear(&c, 0), 0);
	/* Setting NULL clears too. */
	assert_int_equal(catalog_set(&c, CAT_TOOLS, 1, NULL), 1);
	expect_json(&c, CAT_TOOLS, "[]");
	assert_int_equal(c.nents[CAT_TOOLS], 0);
	catalog_free(&c);
}

/* Prompts are named like tools; the kinds are separate tables and clear
   reports every kind that changed. */
static void
test_catalog_prompts_and_clear_mask(void **state)
{
	char *prefixes[] = { "p", "q" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "-", 2, prefixes);
	catalog_set(&c, CAT_TOOLS, 0, parse("[{\"name\":\"t\"}]"));
	catalog_set(&c, CAT_PROMPTS, 0, parse("[{\"name\":\"t\",\"arguments\":"
	    "[{\"name\":\"arg\",\"required\":true}]}]"));
	catalog_set(&c, CAT_TEMPLATES, 0, parse("[{\"uriTemplate\":"
	    "\"x://{id}\",\"name\":\"tmpl\"}]"));
	catalog_set(&c, CAT_PROMPTS, 1, parse("[{\"name\":\"u\"}]"));
	expect_json(&c, CAT_TOOLS, "[{\"name\":\"p-t\"}]");
	expect_json(&c, CAT_PROMPTS, "[{\"name\":\"p-t\",\"arguments\":"
	    "[{\"name\":\"arg\",\"required\":true}]},{\"name\":\"q-u\"}]");
	expect_entry(&c, CAT_PROMPTS, "p-t", 0, "t");
	expect_entry(&c, CAT_PROMPTS, "q-u", 1, "u");
	expect_entry(&c, CAT_TOOLS, "p-t", 0, "t");
	assert_int_equal(catalog_clear(&c, 0),
	    (1 << CAT_TOOLS) | (1 << CAT_PROMPTS) | (1 << CAT_TEMPLATES));
	expect_json(&c, CAT_TOOLS, "[]");
	expect_json(&c, CAT_PROMPTS, "[{\"name\":\"q-u\"}]");
	expect_json(&c, CAT_TEMPLATES, "[]");
	catalog_free(&c);
}

/* An empty prefix exposes names as they are, sanitized when need be. */
static void
test_catalog_empty_prefix(void **state)
{
	char *prefixes[] = { "" };
	struct catalog c;
	char want[CATALOG_NAME_MAX + 1], suf[10];

	(void)state;
	catalog_init(&c, "__", 1, prefixes);
	catalog_set(&c, CAT_TOOLS, 0, parse("[{\"name\":\"echo\"},"
	    "{\"name\":\"do.it\"}]"));
	expect_entry(&c, CAT_TOOLS, "echo", 0, "echo");
	suffix("do.it", 5, suf);
	snprintf(want, sizeof(want), "do_it%s", suf);
	expect_entry(&c, CAT_TOOLS, want, 0, "do.it");
	assert_null(catalog_lookup(&c, CAT_TOOLS, "__echo"));
	catalog_free(&c);
}

/* Sanitized names are found under their exposed name. */
static void
test_catalog_sanitized_lookup(void **state)
{
	char *prefixes[] = { "fs" };
	struct catalog c;
	char want[CATALOG_NAME_MAX + 1], json[256];

	(void)state;
	catalog_init(&c, "__", 1, prefixes);
	catalog_set(&c, CAT_TOOLS, 0, parse("[{\"name\":\"read.file\"}]"));
	catalog_name("fs", "__", "read.file", want);
	assert_string_equal(want, "fs__read_file_4b9601d1");
	expect_entry(&c, CAT_TOOLS, want, 0, "read.file");
	snprintf(json, sizeof(json), "[{\"name\":\"%s\"}]", want);
	expect_json(&c, CAT_TOOLS, json);
	catalog_free(&c);
}

/* Items that are not objects with a string name are left out. */
static void
test_catalog_skips_malformed(void **state)
{
	char *prefixes[] = { "fs" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "__", 1, prefixes);
	catalog_set(&c, CAT_TOOLS, 0, parse("[1,\"x\",null,[],{\"noname\":1},"
	    "{\"name\":5},{\"name\":null},{\"name\":\"ok\"}]"));
	assert_int_equal(c.nents[CAT_TOOLS], 1);
	expect_json(&c, CAT_TOOLS, "[{\"name\":\"fs__ok\"}]");
	/* Not an array at all: nothing. */
	catalog_set(&c, CAT_TOOLS, 0, parse("{\"name\":\"obj\"}"));
	assert_int_equal(c.nents[CAT_TOOLS], 0);
	expect_json(&c, CAT_TOOLS, "[]");
	catalog_free(&c);
}

/* A child listing one tool twice yields one entry: the first. */
static void
test_catalog_listed_twice(void **state)
{
	char *prefixes[] = { "fs", "gh" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "__", 2, prefixes);
	catalog_set(&c, CAT_TOOLS, 0, parse("[{\"name\":\"t\",\"description\":"
	    "\"first\"},{\"name\":\"u\"},{\"name\":\"t\",\"description\":"
	    "\"second\"}]"));
	catalog_set(&c, CAT_TOOLS, 1, parse("[{\"name\":\"t\"}]"));
	assert_int_equal(c.nents[CAT_TOOLS], 3);
	expect_json(&c, CAT_TOOLS, "[{\"name\":\"fs__t\",\"description\":"
	    "\"first\"},{\"name\":\"fs__u\"},{\"name\":\"gh__t\"}]");
	expect_entry(&c, CAT_TOOLS, "fs__t", 0, "t");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(catalog_lookup(&c,
	    CAT_TOOLS, "fs__t")->def, "description")->valuestring, "first");
	/* Prompts too. */
	catalog_set(&c, CAT_PROMPTS, 1, parse("[{\"name\":\"p\"},"
	    "{\"name\":\"p\"}]"));
	expect_json(&c, CAT_PROMPTS, "[{\"name\":\"gh__p\"}]");
	catalog_free(&c);
}

/* An alias that contains the separator can make two children's names
   clash: the later child's entry gets a name of its own. */
static void
test_catalog_prefix_clash(void **state)
{
	char *prefixes[] = { "a_b", "a" };
	struct catalog c;
	char alt[CATALOG_NAME_MAX + 1], json[512], suf[10];

	(void)state;
	catalog_init(&c, "_", 2, prefixes);
	/* "a_b" + "_" + "c" and "a" + "_" + "b_c" are both "a_b_c". */
	catalog_set(&c, CAT_TOOLS, 1, parse("[{\"name\":\"b_c\"},"
	    "{\"name\":\"z\"}]"));
	catalog_set(&c, CAT_TOOLS, 0, parse("[{\"name\":\"c\"}]"));
	assert_int_equal(c.nents[CAT_TOOLS], 3);
	/* Config order decides who keeps the plain name. */
	expect_entry(&c, CAT_TOOLS, "a_b_c", 0, "c");
	suffix("a\x1f" "b_c", 5, suf);
	snprintf(alt, sizeof(alt), "a_b_c%s", suf);
	assert_string_equal(alt, "a_b_c_d0751453");
	expect_entry(&c, CAT_TOOLS, alt, 1, "b_c");
	expect_entry(&c, CAT_TOOLS, "a_z", 1, "z");
	snprintf(json, sizeof(json), "[{\"name\":\"a_b_c\"},{\"name\":\"%s\"},"
	    "{\"name\":\"a_z\"}]", alt);
	expect_json(&c, CAT_TOOLS, json);
	/* Listing the clashing tool twice still gives one entry. */
	catalog_set(&c, CAT_TOOLS, 1, parse("[{\"name\":\"b_c\"},"
	    "{\"name\":\"b_c\"}]"));
	assert_int_equal(c.nents[CAT_TOOLS], 2);
	snprintf(json, sizeof(json), "[{\"name\":\"a_b_c\"},{\"name\":\"%s\"}]",
	    alt);
	expect_json(&c, CAT_TOOLS, json);
	/* With the first child gone the second gets the plain name back. */
	catalog_clear(&c, 0);
	expect_entry(&c, CAT_TOOLS, "a_b_c", 1, "b_c");
	assert_null(catalog_lookup(&c, CAT_TOOLS, alt));
	catalog_free(&c);
}

/* Resources keep their fields (no renaming) and the first child listing a
   URI wins. */
static void
test_catalog_resources_first_wins(void **state)
{
	char *prefixes[] = { "a", "b" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "__", 2, prefixes);
	catalog_set(&c, CAT_RESOURCES, 1, parse("[{\"uri\":\"file:///x\","
	    "\"name\":\"other\"},{\"uri\":\"file:///y\",\"name\":\"Y\"}]"));
	catalog_set(&c, CAT_RESOURCES, 0, parse("[{\"uri\":\"file:///x\","
	    "\"name\":\"X\",\"mimeType\":\"text/plain\"},{\"uri\":\"file:///x\","
	    "\"name\":\"again\"}]"));
	assert_int_equal(c.nents[CAT_RESOURCES], 2);
	expect_json(&c, CAT_RESOURCES, "[{\"uri\":\"file:///x\",\"name\":\"X\","
	    "\"mimeType\":\"text/plain\"},{\"uri\":\"file:///y\",\"name\":\"Y\"}]");
	expect_entry(&c, CAT_RESOURCES, "file:///x", 0, "file:///x");
	expect_entry(&c, CAT_RESOURCES, "file:///y", 1, "file:///y");
	assert_null(catalog_lookup(&c, CAT_RESOURCES, "a__file:///x"));
	assert_int_equal(catalog_route_uri(&c, "file:///x"), 0);
	assert_int_equal(catalog_route_uri(&c, "file:///y"), 1);
	/* Without the first child, the second serves it. */
	assert_int_equal(catalog_clear(&c, 0), 1 << CAT_RESOURCES);
	expect_json(&c, CAT_RESOURCES, "[{\"uri\":\"file:///x\",\"name\":"
	    "\"other\"},{\"uri\":\"file:///y\",\"name\":\"Y\"}]");
	assert_int_equal(catalog_route_uri(&c, "file:///x"), 1);
	/* Items without a string "uri" are left out. */
	catalog_set(&c, CAT_RESOURCES, 0, parse("[{\"name\":\"n\"},"
	    "{\"uri\":1}]"));
	assert_int_equal(c.nents[CAT_RESOURCES], 2);
	catalog_free(&c);
}

static void
test_catalog_templates(void **state)
{
	char *prefixes[] = { "a", "b" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "__", 2, prefixes);
	catalog_set(&c, CAT_TEMPLATES, 0, parse("[{\"uriTemplate\":"
	    "\"db://{table}/{id}\",\"name\":\"row\"}]"));
	catalog_set(&c, CAT_TEMPLATES, 1, parse("[{\"uriTemplate\":"
	    "\"db://{table}/{id}\",\"name\":\"dup\"},{\"uriTemplate\":"
	    "\"file:///{+path}\",\"name\":\"file\"}]"));
	expect_json(&c, CAT_TEMPLATES, "[{\"uriTemplate\":\"db://{table}/{id}\","
	    "\"name\":\"row\"},{\"uriTemplate\":\"file:///{+path}\","
	    "\"name\":\"file\"}]");
	expect_entry(&c, CAT_TEMPLATES, "db://{table}/{id}", 0,
	    "db://{table}/{id}");
	expect_entry(&c, CAT_TEMPLATES, "file:///{+path}", 1, "file:///{+path}");
	assert_int_equal(catalog_route_uri(&c, "db://users/7"), 0);
	assert_int_equal(catalog_route_uri(&c, "file:///etc/hosts"), 1);
	assert_int_equal(catalog_route_uri(&c, "db://users/7/x"), -1);
	catalog_free(&c);
}

/* Routing: a listed resource, then a template, then URIs seen in results. */
static void
test_catalog_route(void **state)
{
	char *prefixes[] = { "a", "b", "c" };
	struct catalog c;

	(void)state;
	catalog_init(&c, "__", 3, prefixes);
	catalog_set(&c, CAT_RESOURCES, 1, parse("[{\"uri\":\"mem://exact\"}]"));
	catalog_set(&c, CAT_TEMPLATES, 0, parse("[{\"uriTemplate\":"
	    "\"mem://{x}\"}]"));
	catalog_set(&c, CAT_TEMPLATES, 2, parse("[{\"uriTemplate\":"
	    "\"mem://{+x}\"}]"));
	/* Exact beats the template of an earlier child. */
	assert_int_equal(catalog_route_uri(&c, "mem://exact"), 1);
	/* Templates in merged order. */
	assert_int_equal(catalog_route_uri(&c, "mem://other"), 0);
	assert_int_equal(catalog_route_uri(&c, "mem://a/b"), 2);
	/* Seen URIs come last. */
	assert_int_equal(catalog_route_uri(&c, "seen://1"), -1);
	catalog_note_uri(&c, 2, "seen://1");
	assert_int_equal(catalog_route_uri(&c, "seen://1"), 2);
	catalog_note_uri(&c, 1, "mem://other");
	assert_int_equal(catalog_route_uri(&c, "mem://other"), 0);
	/* Seen by two children: the first in config order. */
	catalog_note_uri(&c, 1, "seen://1");
	assert_int_equal(catalog_route_uri(&c, "seen://1"), 1);
	assert_int_equal(catalog_route_uri(&c, "seen://2"), -1);
	assert_int_equal(catalog_route_uri(&c, ""), -1);
	catalog_free(&c);
}

/* Seen URIs are bounded per child: the oldest is forgotten first. */
static void
test_catalog_seen_bounded(void **state)
{
	char *prefixes[] = { "a", "b" };
	struct catalog c;
	char uri[32];
	int i;

	(void)state;
	catalog_init(&c, "__", 2, prefixes);
	for (i = 0; i < 1024; i++) {
		snprintf(uri, sizeof(uri), "u://%d", i);
		catalog_note_uri(&c, 0, uri);
	}
	assert_int_equal(catalog_route_uri(&c, "u://0"), 0);
	assert_int_equal(catalog_route_uri(&c, "u://1023"), 0);
	/* Noting a known URI again does not take a slot. */
	catalog_note_uri(&c, 0, "u://5");
	assert_int_equal(catalog_route_uri(&c, "u://0"), 0);
	catalog_note_uri(&c, 0, "u://1024");
	assert_int_equal(catalog_route_uri(&c, "u://0"), -1);
	assert_int_equal(catalog_route_uri(&c, "u://1"), 0);
	assert_int_equal(catalog_route_uri(&c, "u://1024"), 0);
	catalog_note_uri(&c, 0, "u://1025");
	assert_int_equal(catalog_route_uri(&c, "u://1"), -1);
	assert_int_equal(catalog_route_uri(&c, "u://2"), 0);
	/* The other child's memory is its own. */
	catalog_note_uri(&c, 1, "u://1");
	assert_int_equal(catalog_route_uri(&c, "u://1"), 1);
	catalog_free(&c);
}

/* ---- catalog_template_match -------------------------------------------- */

struct tmpl_case {
	const char *tmpl, *uri;
	int match;
};

static const struct tmpl_case tmpl_cases[] = {
	/* Literal templates. */
	{ "file:///etc/hosts", "file:///etc/hosts", 1 },
	{ "file:///etc/hosts", "file:///etc/host", 0 },
	{ "file:///etc/hosts", "file:///etc/hostsx", 0 },
	{ "", "", 1 },
	{ "", "x", 0 },
	/* {id}: simple expansion, one segment. */
	{ "users/{id}", "users/42", 1 },
	{ "users/{id}", "user/42", 0 },
	{ "users/{id}", "users/", 1 },
	{ "users/{id}/posts", "users/42/posts", 1 },
	{ "users/{id}/posts", "users/42/comments", 0 },
	{ "users/{id}/posts", "users/4/2/posts", 0 },
	{ "users/{id}", "users/42/posts", 0 },
	{ "users/{id}", "users/42/", 0 },
	{ "users/{id}", "users/1?x=2", 0 },
	{ "users/{id}", "users/1#frag", 0 },
	{ "file:///{path}", "file:///a.txt", 1 },
	{ "file:///{path}", "file:///a/b.txt", 0 },
	{ "{a}/{b}", "1/2", 1 },
	{ "{a}/{b}", "1/2/3", 0 },
	{ "{a}-{b}", "x-y-z", 1 },
	{ "db://{table}/{id}", "db://users/7", 1 },
	{ "db://{table}/{id}", "db://users", 0 },
	{ "x{id}.json", "x42.json", 1 },
	{ "x{id}.json", "x42.xml", 0 },
	/* {+path}: reserved expansion, takes '/' and more. */
	{ "file:///{+path}", "file:///a/b/c.txt", 1 },
	{ "file:///{+path}", "file:///a?b#c", 1 },
	{ "file:///{+path}", "file://a", 0 },
	{ "repo://{+path}/README", "repo://a/b/README", 1 },
	{ "repo://{+path}/README", "repo://a/b/LICENSE", 0 },
	/* {#frag}. */
	{ "doc{#section}", "doc#intro", 1 },
	{ "doc{#section}", "doc#a/b", 1 },
	/* {?q}: nothing, or a query part. */
	{ "search{?q}", "search", 1 },
	{ "search{?q}", "search?q=x", 1 },
	{ "search{?q,lang}", "search?q=x&lang=en", 1 },
	{ "search{?q}", "searchx", 0 },
	{ "search{?q}", "search&q=x", 0 },
	{ "search{?q}", "search?q=x#f", 0 },
	{ "items/{id}{?fields}", "items/9?fields=a", 1 },
	{ "items/{id}{?fields}", "items/9", 1 },
	{ "items/{id}{?fields}", "items/9/x?fields=a", 0 },
	{ "list?page=1{&size}", "list?page=1&size=5", 1 },
	{ "list?page=1{&size}", "list?page=1", 1 },
	{ "list?page=1{&size}", "list?page=1?size=5", 0 },
	/* An unclosed expression matches nothing. */
	{ "users/{id", "users/{id", 0 },
	{ "users/{id", "users/1", 0 },
};

static void
test_template(void **state)
{
	const struct tmpl_case *c = *state;

	assert_int_equal(catalog_template_match(c->tmpl, c->uri), c->match);
}

/* ---- the group --------------------------------------------------------- */

static const struct CMUnitTest plain[] = {
	cmocka_unit_test(test_fnv1a64_reference),
	cmocka_unit_test(test_name_distinct),
	cmocka_unit_test(test_catalog_empty),
	cmocka_unit_test(test_catalog_two_owners),
	cmocka_unit_test(test_catalog_prompts_and_clear_mask),
	cmocka_unit_test(test_catalog_empty_prefix),
	cmocka_unit_test(test_catalog_sanitized_lookup),
	cmocka_unit_test(test_catalog_skips_malformed),
	cmocka_unit_test(test_catalog_listed_twice),
	cmocka_unit_test(test_catalog_prefix_clash),
	cmocka_unit_test(test_catalog_resources_first_wins),
	cmocka_unit_test(test_catalog_templates),
	cmocka_unit_test(test_catalog_route),
	cmocka_unit_test(test_catalog_seen_bounded),
};

static struct CMUnitTest tests[NELEM(plain) + NELEM(name_cases) +
    NELEM(valid_cases) + NELEM(tmpl_cases)];

int
main(void)
{
	struct unit_tests u = { tests, 0, NELEM(tests) };
	char pfx[512];
	size_t i;
	int r;

	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(name_cases); i++) {
		const struct name_case *c = &name_cases[i];

		snprintf(pfx, sizeof(pfx), "catalog_name %s|%s|", c->prefix,
		    c->sep);
		unit_add(&u, unit_name(pfx, c->name, strlen(c->name)),
		    test_name, (void *)c);
	}
	for (i = 0; i < NELEM(valid_cases); i++) {
		snprintf(pfx, sizeof(pfx), "catalog_name_valid %d: ",
		    valid_cases[i].ok);
		unit_add(&u, unit_name(pfx, valid_cases[i].s,
		    strlen(valid_cases[i].s)), test_valid,
		    (void *)&valid_cases[i]);
	}
	for (i = 0; i < NELEM(tmpl_cases); i++) {
		snprintf(pfx, sizeof(pfx), "template_match %d: %s ~ ",
		    tmpl_cases[i].match, tmpl_cases[i].tmpl);
		unit_add(&u, unit_name(pfx, tmpl_cases[i].uri,
		    strlen(tmpl_cases[i].uri)), test_template,
		    (void *)&tmpl_cases[i]);
	}
	if (u.n != NELEM(tests))
		abort();
	r = cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
	unit_free(&u);
	return r;
}
