/* Unit tests for core/json: the validating scanner, member lookup,
   iteration, string decoding and the splicer. Table rows are tests of their
   own, named after their input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/json.h"
#include "tests/unit/unit.h"

/* ---- json_check: inputs that are exactly one JSON value ---------------- */

struct check_ok {
	const char *in;
	size_t n;
	int maxdepth;
	size_t off, len;	/* the value's span */
	enum json_type type;
};

static const struct check_ok check_ok_cases[] = {
	{ LIT("0"), 64, 0, 1, JT_NUMBER },
	{ LIT("-0"), 64, 0, 2, JT_NUMBER },
	{ LIT("123"), 64, 0, 3, JT_NUMBER },
	{ LIT("-12.5e+10"), 64, 0, 9, JT_NUMBER },
	{ LIT("1E-3"), 64, 0, 4, JT_NUMBER },
	{ LIT("0.000"), 64, 0, 5, JT_NUMBER },
	{ LIT("1e5"), 64, 0, 3, JT_NUMBER },
	{ LIT("true"), 64, 0, 4, JT_TRUE },
	{ LIT("false"), 64, 0, 5, JT_FALSE },
	{ LIT("null"), 64, 0, 4, JT_NULL },
	{ LIT("\"\""), 64, 0, 2, JT_STRING },
	{ LIT("\"abc\""), 64, 0, 5, JT_STRING },
	{ LIT("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), 64, 0, 18, JT_STRING },
	{ LIT("\"\\u0000\""), 64, 0, 8, JT_STRING },
	{ LIT("\"\\uABCD\\uabcd\""), 64, 0, 14, JT_STRING },
	{ LIT("\"\\ud83d\\ude00\""), 64, 0, 14, JT_STRING },
	/* A lone surrogate escape is grammatical JSON (RFC 8259 section 8.2). */
	{ LIT("\"\\uD800\""), 64, 0, 8, JT_STRING },
	{ LIT("\"caf\xc3\xa9\""), 64, 0, 7, JT_STRING },
	{ LIT("\"\xe2\x82\xac\""), 64, 0, 5, JT_STRING },
	{ LIT("\"\xef\xbf\xbf\""), 64, 0, 5, JT_STRING },
	{ LIT("\"\xf0\x9f\x98\x80\""), 64, 0, 6, JT_STRING },
	{ LIT("\"\xf4\x8f\xbf\xbf\""), 64, 0, 6, JT_STRING },
	{ LIT("\"\xed\x9f\xbf\""), 64, 0, 5, JT_STRING },
	{ LIT("\"\x7f\""), 64, 0, 3, JT_STRING },
	{ LIT("\"{[,:]}\""), 64, 0, 8, JT_STRING },
	{ LIT("[]"), 64, 0, 2, JT_ARRAY },
	{ LIT("{}"), 64, 0, 2, JT_OBJECT },
	{ LIT("[ ]"), 64, 0, 3, JT_ARRAY },
	{ LIT("{ }"), 64, 0, 3, JT_OBJECT },
	{ LIT(" [1] "), 64, 1, 3, JT_ARRAY },
	{ LIT("\t\r\n 1 \n\t"), 64, 4, 1, JT_NUMBER },
	{ LIT("[1,\"a\",true,false,null,{},[]]"), 64, 0, 29, JT_ARRAY },
	{ LIT("{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\"}"), 64, 0, 33,
	    JT_OBJECT },
	{ LIT("{ \"a\" : 1 , \"b\" : [ 2 , 3 ] }"), 64, 0, 29, JT_OBJECT },
	{ LIT("{\"\":0}"), 64, 0, 6, JT_OBJECT },
	{ LIT("{\"a\":1,\"a\":2}"), 64, 0, 13, JT_OBJECT },
	{ LIT("[[[]]]"), 3, 0, 6, JT_ARRAY },
	{ LIT("{\"a\":{\"b\":{}}}"), 3, 0, 14, JT_OBJECT },
	{ LIT("7"), 0, 0, 1, JT_NUMBER },
	{ LIT("[]"), 1, 0, 2, JT_ARRAY },
	{ LIT("[[],[],{}]"), 2, 0, 10, JT_ARRAY },
};

static void
test_check_ok(void **state)
{
	const struct check_ok *c = *state;
	struct jspan v = { 99, 99 };
	const char *why = "untouched";

	assert_int_equal(json_check(c->in, c->n, c->maxdepth, &v, &why), 0);
	assert_int_equal(v.off, c->off);
	assert_int_equal(v.len, c->len);
	assert_int_equal(json_type(c->in, v), c->type);
	/* why is left alone on success. */
	assert_string_equal(why, "untouched");
	/* The out-parameters are optional. */
	assert_int_equal(json_check(c->in, c->n, c->maxdepth, NULL, NULL), 0);
}

/* ---- json_check: inputs that are not ---------------------------------- */

struct check_bad {
	const char *in;
	size_t n;
	int maxdepth;
	const char *why;
	size_t off;	/* where it went wrong */
};

static const struct check_bad check_bad_cases[] = {
	{ LIT(""), 64, "unexpected end", 0 },
	{ LIT("   "), 64, "unexpected end", 3 },
	{ LIT("\v1"), 64, "unexpected character", 0 },
	{ LIT("\xef\xbb\xbf{}"), 64, "unexpected character", 0 },
	{ LIT("'a'"), 64, "unexpected character", 0 },
	{ LIT("/* c */ 1"), 64, "unexpected character", 0 },
	{ LIT("NaN"), 64, "unexpected character", 0 },
	{ LIT("Infinity"), 64, "unexpected character", 0 },
	{ LIT("True"), 64, "unexpected character", 0 },
	{ LIT("undefined"), 64, "unexpected character", 0 },
	{ LIT("tru"), 64, "invalid literal", 0 },
	{ LIT("nul"), 64, "invalid literal", 0 },
	{ LIT("fals"), 64, "invalid literal", 0 },
	{ LIT("nulL"), 64, "invalid literal", 0 },
	{ LIT("[truth]"), 64, "invalid literal", 1 },
	{ LIT("truex"), 64, "trailing data after value", 4 },
	{ LIT("+1"), 64, "unexpected character", 0 },
	{ LIT(".5"), 64, "unexpected character", 0 },
	{ LIT("-"), 64, "bad number", 1 },
	{ LIT("-a"), 64, "bad number", 1 },
	{ LIT("1."), 64, "bad number", 2 },
	{ LIT("1.e5"), 64, "bad number", 2 },
	{ LIT("1e"), 64, "bad number", 2 },
	{ LIT("1e+"), 64, "bad number", 3 },
	{ LIT("1E-x"), 64, "bad number", 3 },
	{ LIT("01"), 64, "trailing data after value", 1 },
	{ LIT("-01"), 64, "trailing data after value", 2 },
	{ LIT("0x10"), 64, "trailing data after value", 1 },
	{ LIT("1 2"), 64, "trailing data after value", 2 },
	{ LIT("[1]]"), 64, "trailing data after value", 3 },
	{ LIT("{} {}"), 64, "trailing data after value", 3 },
	{ LIT("[1]\0"), 64, "trailing data after value", 3 },
	{ LIT("\"abc"), 64, "unterminated string", 4 },
	{ LIT("\""), 64, "unterminated string", 1 },
	{ LIT("\"a\\"), 64, "unterminated string", 2 },
	{ LIT("\"\\x\""), 64, "bad escape", 1 },
	{ LIT("\"\\'\""), 64, "bad escape", 1 },
	{ LIT("\"\\U0041\""), 64, "bad escape", 1 },
	{ LIT("\"\\\0\""), 64, "bad escape", 1 },
	{ LIT("\"\\u12\""), 64, "bad \\u escape", 1 },
	{ LIT("\"\\u12G4\""), 64, "bad \\u escape", 1 },
	{ LIT("\"ab\\u"), 64, "bad \\u escape", 3 },
	{ LIT("\"a\tb\""), 64, "control character in string", 2 },
	{ LIT("\"a\nb\""), 64, "control character in string", 2 },
	{ LIT("\"\0\""), 64, "control character in string", 1 },
	{ LIT("\"\x1f\""), 64, "control character in string", 1 },
	{ LIT("\"\x80\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xbf\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xc3\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xc3"), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xc0\xaf\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xc1\xbf\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xe0\x80\xaf\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xe2\x82\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xed\xa0\x80\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xed\xbf\xbf\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xf0\x8f\xbf\xbf\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xf4\x90\x80\x80\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xf5\x80\x80\x80\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xf0\x9f\x98\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xfe\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"\xff\""), 64, "invalid UTF-8", 1 },
	{ LIT("\"ok\xc3\xa9\xc3(\""), 64, "invalid UTF-8", 5 },
	{ LIT("["), 64, "unexpected end", 1 },
	{ LIT("[1"), 64, "unexpected end", 2 },
	{ LIT("[1,"), 64, "unexpected end", 3 },
	{ LIT("{"), 64, "unexpected end", 1 },
	{ LIT("{\"a\":1"), 64, "unexpected end", 6 },
	{ LIT("{\"a\":"), 64, "unexpected end", 5 },
	{ LIT("[1,]"), 64, "unexpected character", 3 },
	{ LIT("[,1]"), 64, "unexpected character", 1 },
	{ LIT("[,]"), 64, "unexpected character", 1 },
	{ LIT("[1 2]"), 64, "expected ',' or end of container", 3 },
	{ LIT("[1:2]"), 64, "expected ',' or end of container", 2 },
	{ LIT("[1}"), 64, "expected ',' or end of container", 2 },
	{ LIT("{\"a\":1]"), 64, "expected ',' or end of container", 6 },
	{ LIT("{\"a\":[}"), 64, "unexpected character", 6 },
	{ LIT("{\"a\":1,}"), 64, "expected member name", 7 },
	{ LIT("{,}"), 64, "expected member name", 1 },
	{ LIT("{1:2}"), 64, "expected member name", 1 },
	{ LIT("{a:1}"), 64, "expected member name", 1 },
	{ LIT("{'a':1}"), 64, "expected member name", 1 },
	{ LIT("{\"a\" 1}"), 64, "expected ':'", 5 },
	{ LIT("{\"a\"=1}"), 64, "expected ':'", 4 },
	{ LIT("{\"a\""), 64, "expected ':'", 4 },
	{ LIT("{\"a\":}"), 64, "unexpected character", 5 },
	{ LIT("{\"a\":1 \"b\":2}"), 64, "expected ',' or end of container", 7 },
	{ LIT("{\"a\x01\":1}"), 64, "control character in string", 3 },
	{ LIT("[[[]]]"), 2, "nesting too deep", 2 },
	{ LIT("{\"a\":{\"b\":1}}"), 1, "nesting too deep", 5 },
	{ LIT("[]"), 0, "nesting too deep", 0 },
	{ LIT("[1,[2,[3]]]"), 2, "nesting too deep", 6 },
};

static void
test_check_bad(void **state)
{
	const struct check_bad *c = *state;
	struct jspan v = { 99, 99 };
	const char *why = NULL;

	assert_int_equal(json_check(c->in, c->n, c->maxdepth, &v, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, c->why);
	assert_int_equal(v.off, c->off);
	assert_int_equal(v.len, 0);
	assert_int_equal(json_check(c->in, c->n, c->maxdepth, NULL, NULL), -1);
}

/* Deep nesting is refused at the limit, without recursing much further. */
static void
test_check_deep(void **state)
{
	size_t n = 200000, i;
	char *p = malloc(2 * n);
	struct jspan v;
	const char *why = NULL;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < n; i++) {
		p[i] = '[';
		p[2 * n - 1 - i] = ']';
	}
	assert_int_equal(json_check(p, 2 * n, 64, &v, &why), -1);
	assert_string_equal(why, "nesting too deep");
	assert_int_equal(v.off, 64);
	/* 64 levels are fine. */
	assert_int_equal(json_check(p + n - 64, 128, 64, &v, &why), 0);
	assert_int_equal(v.len, 128);
	free(p);
}

/* Only n bytes are read: a value followed by more text that is not
   counted is fine, and a cut-off value is not. */
static void
test_check_length_bound(void **state)
{
	const char *t = "[1,2]garbage";
	struct jspan v;
	const char *why = NULL;

	(void)state;
	assert_int_equal(json_check(t, 5, 64, &v, &why), 0);
	assert_int_equal(v.off, 0);
	assert_int_equal(v.len, 5);
	assert_int_equal(json_check(t, 4, 64, &v, &why), -1);
	assert_string_equal(why, "unexpected end");
	assert_int_equal(json_check("truest", 3, 64, &v, &why), -1);
	assert_string_equal(why, "invalid literal");
	assert_int_equal(json_check("\"\\u00411\"", 6, 64, &v, &why), -1);
	assert_string_equal(why, "bad \\u escape");
}

/* ---- json_type --------------------------------------------------------- */

static void
test_type(void **state)
{
	const char *t = "[{},[],\"s\",-1,2,true,false,null]";
	static const enum json_type want[] = { JT_OBJECT, JT_ARRAY,
		JT_STRING, JT_NUMBER, JT_NUMBER, JT_TRUE, JT_FALSE, JT_NULL };
	struct jspan all, k, v, none = { 3, 0 };
	size_t pos = 0, i = 0;

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &all, NULL), 0);
	assert_int_equal(json_type(t, all), JT_ARRAY);
	while (json_iter(t, all, &pos, &k, &v)) {
		assert_true(i < NELEM(want));
		assert_int_equal(json_type(t, v), want[i]);
		i++;
	}
	assert_int_equal(i, NELEM(want));
	assert_int_equal(json_type(t, none), JT_NONE);
}

/* ---- json_member ------------------------------------------------------- */

struct member_case {
	const char *obj;
	const char *key;
	int ret;
	const char *val;	/* the value's text when ret == 1 */
};

static const struct member_case member_cases[] = {
	{ "{\"a\":1,\"b\":\"x\"}", "a", 1, "1" },
	{ "{\"a\":1,\"b\":\"x\"}", "b", 1, "\"x\"" },
	{ "{\"a\":1,\"b\":\"x\"}", "c", 0, NULL },
	{ "{}", "a", 0, NULL },
	{ "{ }", "a", 0, NULL },
	{ "{\"ab\":1}", "a", 0, NULL },
	{ "{\"a\":1}", "ab", 0, NULL },
	{ "{\"A\":1}", "a", 0, NULL },
	{ "{\"\":7}", "", 1, "7" },
	{ "{\"x\":{\"a\":1}}", "a", 0, NULL },
	{ "{\"x\":[{\"a\":1}],\"a\":2}", "a", 1, "2" },
	{ "{\"x\":{\"a\":1,\"a\":3},\"a\":2}", "a", 1, "2" },
	{ "{\"a\":1,\"a\":2}", "a", -1, NULL },
	{ "{\"a\":1,\"b\":0,\"a\":1}", "a", -1, NULL },
	{ "{\"a\":1,\"a\":2}", "b", 0, NULL },
	{ "{\"id\":1,\"\\u0069d\":2}", "id", -1, NULL },
	{ "{\"\\u0069\\u0064\":5}", "id", 1, "5" },
	{ "{\"a\\\"b\":5}", "a\"b", 1, "5" },
	{ "{\"a\\\\\":5}", "a\\", 1, "5" },
	{ "{\"caf\\u00e9\":1}", "caf\xc3\xa9", 1, "1" },
	{ "{\"caf\xc3\xa9\":1}", "caf\xc3\xa9", 1, "1" },
	{ "{\"a\\u0000b\":1}", "a", 0, NULL },
	{ "{ \"a\" : [ 1 , { \"b\" : 2 } ] , \"c\" : 3 }", "a", 1,
	    "[ 1 , { \"b\" : 2 } ]" },
	{ "{ \"a\" : [ 1 , { \"b\" : 2 } ] , \"c\" : 3 }", "c", 1, "3" },
	{ "{\n\t\"a\"\r\n:\n-1.5e3\n}", "a", 1, "-1.5e3" },
	{ "{\"s\":\"}\\\"{,]:\",\"t\":true}", "t", 1, "true" },
	{ "{\"s\":\"}\\\"{,]:\",\"t\":true}", "s", 1, "\"}\\\"{,]:\"" },
	{ "{\"e\":\"\\\\\",\"f\":false}", "f", 1, "false" },
	{ "{\"n\":null}", "n", 1, "null" },
	{ "{\"o\":{},\"p\":[]}", "p", 1, "[]" },
	{ "{\"o\":{},\"p\":[]}", "o", 1, "{}" },
	{ "[{\"a\":1}]", "a", 0, NULL },
	{ "\"a\"", "a", 0, NULL },
};

static void
test_member(void **state)
{
	const struct member_case *c = *state;
	struct jspan all, v = { 0, 0 };
	size_t n = strlen(c->obj);

	assert_int_equal(json_check(c->obj, n, 64, &all, NULL), 0);
	assert_int_equal(json_member(c->obj, all, c->key, &v), c->ret);
	if (c->ret == 1) {
		assert_int_equal(v.len, strlen(c->val));
		assert_memory_equal(c->obj + v.off, c->val, v.len);
	}
	/* val is optional. */
	assert_int_equal(json_member(c->obj, all, c->key, NULL), c->ret);
}

/* A member of an object that sits inside larger text: spans are offsets
   into the whole text and nothing outside the object is looked at. */
static void
test_member_nested_span(void **state)
{
	const char *t = "[{\"a\":1},{\"a\":22,\"b\":{\"a\":3}},\"a\"]";
	struct jspan all, k, v, a;
	size_t pos = 0;
	int i = 0;
	static const char *const want[] = { "1", "22" };

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &all, NULL), 0);
	while (json_iter(t, all, &pos, &k, &v)) {
		if (i < 2) {
			assert_int_equal(json_member(t, v, "a", &a), 1);
			assert_int_equal(a.len, strlen(want[i]));
			assert_memory_equal(t + a.off, want[i], a.len);
		} else {
			assert_int_equal(json_member(t, v, "a", &a), 0);
		}
		i++;
	}
	assert_int_equal(i, 3);
}

/* ---- json_iter --------------------------------------------------------- */

struct iter_case {
	const char *text;
	const char *items[8];	/* "key=value" for objects, "value" else */
};

static const struct iter_case iter_cases[] = {
	{ "[]", { NULL } },
	{ "{}", { NULL } },
	{ "[ ]", { NULL } },
	{ "{ \n }", { NULL } },
	{ "[1]", { "1", NULL } },
	{ "[1,22,333]", { "1", "22", "333", NULL } },
	{ "[ 1 , 2 ]", { "1", "2", NULL } },
	{ "[\"a,b\",\"]\",\"\\\"\"]", { "\"a,b\"", "\"]\"", "\"\\\"\"", NULL } },
	{ "[[1,[2]],{\"a\":[3]},null,true,false,-0.5]",
	    { "[1,[2]]", "{\"a\":[3]}", "null", "true", "false", "-0.5",
	    NULL } },
	{ "{\"a\":1}", { "\"a\"=1", NULL } },
	{ "{\"a\":1,\"b\":[2,3],\"c\":{\"d\":4}}",
	    { "\"a\"=1", "\"b\"=[2,3]", "\"c\"={\"d\":4}", NULL } },
	{ "{ \"a\" : \"x\" ,\t\"b\"\n:\nnull }",
	    { "\"a\"=\"x\"", "\"b\"=null", NULL } },
	{ "{\"k\\\"\":\"v}\",\"\\u0041\":[]}",
	    { "\"k\\\"\"=\"v}\"", "\"\\u0041\"=[]", NULL } },
	{ "{\"a\":1,\"a\":2}", { "\"a\"=1", "\"a\"=2", NULL } },
};

static void
test_iter(void **state)
{
	const struct iter_case *c = *state;
	struct jspan all, k, v;
	size_t pos = 0;
	int i = 0, obj = c->text[0] == '{';
	char got[256];

	assert_int_equal(json_check(c->text, strlen(c->text), 64, &all, NULL),
	    0);
	while (json_iter(c->text, all, &pos, &k, &v)) {
		assert_non_null(c->items[i]);
		if (obj) {
			assert_int_equal(json_type(c->text, k), JT_STRING);
			snprintf(got, sizeof(got), "%.*s=%.*s", (int)k.len,
			    c->text + k.off, (int)v.len, c->text + v.off);
		} else {
			assert_int_equal(k.off, 0);
			assert_int_equal(k.len, 0);
			snprintf(got, sizeof(got), "%.*s", (int)v.len,
			    c->text + v.off);
		}
		assert_string_equal(got, c->items[i]);
		i++;
	}
	assert_null(c->items[i]);
	/* The end is sticky. */
	assert_int_equal(json_iter(c->text, all, &pos, &k, &v), 0);
}

static void
test_iter_scalars_and_null_key(void **state)
{
	const char *t = "[\"x\",{\"y\":1}]";
	struct jspan all, v, s = { 0, 3 }, none = { 0, 0 };
	size_t pos = 0;
	int n = 0;

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &all, NULL), 0);
	/* Arrays may be iterated without a key span. */
	while (json_iter(t, all, &pos, NULL, &v))
		n++;
	assert_int_equal(n, 2);
	/* Scalars and absent values have no items. */
	pos = 0;
	assert_int_equal(json_iter("\"x\"", s, &pos, NULL, &v), 0);
	pos = 0;
	assert_int_equal(json_iter("123", s, &pos, NULL, &v), 0);
	pos = 0;
	assert_int_equal(json_iter(t, none, &pos, NULL, &v), 0);
}

/* ---- json_strdup ------------------------------------------------------- */

struct strdup_case {
	const char *json;
	const char *want;
	size_t wantlen;
};

static const struct strdup_case strdup_cases[] = {
	{ "\"\"", LIT("") },
	{ "\"abc\"", LIT("abc") },
	{ "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", LIT("\"\\/\b\f\n\r\t") },
	{ "\"a\\u0000b\"", LIT("a\0b") },
	{ "\"\\u0041\"", LIT("A") },
	{ "\"\\u007f\"", LIT("\x7f") },
	{ "\"\\u0080\"", LIT("\xc2\x80") },
	{ "\"\\u00e9\"", LIT("\xc3\xa9") },
	{ "\"\\u00E9\"", LIT("\xc3\xa9") },
	{ "\"\\u07FF\"", LIT("\xdf\xbf") },
	{ "\"\\u0800\"", LIT("\xe0\xa0\x80") },
	{ "\"\\u20AC\"", LIT("\xe2\x82\xac") },
	{ "\"\\uFFFF\"", LIT("\xef\xbf\xbf") },
	{ "\"\\ud7ff\"", LIT("\xed\x9f\xbf") },
	{ "\"\\ue000\"", LIT("\xee\x80\x80") },
	{ "\"\\uD83D\\uDE00\"", LIT("\xf0\x9f\x98\x80") },
	{ "\"\\ud83d\\ude00\"", LIT("\xf0\x9f\x98\x80") },
	{ "\"\\uD800\\uDC00\"", LIT("\xf0\x90\x80\x80") },
	{ "\"\\uDBFF\\uDFFF\"", LIT("\xf4\x8f\xbf\xbf") },
	{ "\"x\\uD834\\uDD1Ey\"", LIT("x\xf0\x9d\x84\x9ey") },
	/* Lone surrogates become U+FFFD; what follows is kept. */
	{ "\"\\uD800\"", LIT("\xef\xbf\xbd") },
	{ "\"\\uDC00\"", LIT("\xef\xbf\xbd") },
	{ "\"\\uDFFF\"", LIT("\xef\xbf\xbd") },
	{ "\"\\uD83Dx\"", LIT("\xef\xbf\xbdx") },
	{ "\"\\uD83D\\n\"", LIT("\xef\xbf\xbd\n") },
	{ "\"\\uD83D\\u0041\"", LIT("\xef\xbf\xbd" "A") },
	{ "\"\\uD83D\\uD83D\"", LIT("\xef\xbf\xbd\xef\xbf\xbd") },
	{ "\"\\uD83D\\uD83D\\uDE00\"", LIT("\xef\xbf\xbd\xf0\x9f\x98\x80") },
	{ "\"\\uDE00\\uD83D\"", LIT("\xef\xbf\xbd\xef\xbf\xbd") },
	{ "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", LIT("caf\xc3\xa9 \xf0\x9f\x98\x80") },
	{ "\"a\\\\u0041\"", LIT("a\\u0041") },
	{ "\"\\\\\\\\\"", LIT("\\\\") },
};

static void
test_strdup(void **state)
{
	const struct strdup_case *c = *state;
	struct jspan s;
	size_t len = 12345;
	char *d;

	assert_int_equal(json_check(c->json, strlen(c->json), 64, &s, NULL),
	    0);
	d = json_strdup(c->json, s, &len);
	assert_non_null(d);
	assert_int_equal(len, c->wantlen);
	assert_memory_equal(d, c->want, c->wantlen);
	assert_int_equal(d[len], '\0');
	free(d);
	/* lenp is optional. */
	d = json_strdup(c->json, s, NULL);
	assert_non_null(d);
	assert_memory_equal(d, c->want, c->wantlen);
	free(d);
	/* json_streq agrees, when the text has no NUL. */
	if (memchr(c->want, '\0', c->wantlen) == NULL)
		assert_true(json_streq(c->json, s, c->want));
}

static void
test_strdup_not_string(void **state)
{
	const char *t = "[1,null,{},[],true]";
	struct jspan all, v, none = { 0, 0 };
	size_t pos = 0, len = 7;

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &all, NULL), 0);
	while (json_iter(t, all, &pos, NULL, &v)) {
		assert_null(json_strdup(t, v, &len));
		assert_int_equal(len, 7);
	}
	assert_null(json_strdup(t, none, &len));
}

/* A string inside larger text decodes from its own span only. */
static void
test_strdup_span(void **state)
{
	const char *t = "{\"k\":\"v\\u0031\",\"z\":\"\\n\"}";
	struct jspan all, v;
	size_t len;
	char *d;

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &all, NULL), 0);
	assert_int_equal(json_member(t, all, "k", &v), 1);
	d = json_strdup(t, v, &len);
	assert_string_equal(d, "v1");
	assert_int_equal(len, 2);
	free(d);
	assert_int_equal(json_member(t, all, "z", &v), 1);
	d = json_strdup(t, v, &len);
	assert_string_equal(d, "\n");
	free(d);
}

/* ---- json_streq -------------------------------------------------------- */

struct streq_case {
	const char *json;
	const char *lit;
	int eq;
};

static const struct streq_case streq_cases[] = {
	{ "\"abc\"", "abc", 1 },
	{ "\"abc\"", "ab", 0 },
	{ "\"abc\"", "abcd", 0 },
	{ "\"abc\"", "abd", 0 },
	{ "\"abc\"", "ABC", 0 },
	{ "\"\"", "", 1 },
	{ "\"\"", "a", 0 },
	{ "\"a\"", "", 0 },
	{ "\"2.0\"", "2.0", 1 },
	{ "\"2\\u002e0\"", "2.0", 1 },
	{ "\"2\\u002e0\"", "2\\u002e0", 0 },
	{ "\"a\\u0062c\"", "abc", 1 },
	{ "\"a\\u0062c\"", "abcd", 0 },
	{ "\"a\\u0062\"", "abc", 0 },
	{ "\"a\\u0000\"", "a", 0 },
	{ "\"tab\\there\"", "tab\there", 1 },
	{ "\"\\/\"", "/", 1 },
	{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 1 },
	{ "\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80", 1 },
	{ "2.0", "2.0", 0 },
	{ "true", "true", 0 },
	{ "null", "null", 0 },
	{ "[\"a\"]", "a", 0 },
	{ "{}", "{}", 0 },
};

static void
test_streq(void **state)
{
	const struct streq_case *c = *state;
	struct jspan s;

	assert_int_equal(json_check(c->json, strlen(c->json), 64, &s, NULL),
	    0);
	assert_int_equal(json_streq(c->json, s, c->lit), c->eq);
}

static void
test_streq_absent(void **state)
{
	struct jspan none = { 0, 0 };

	(void)state;
	assert_int_equal(json_streq("\"\"", none, ""), 0);
}

/* ---- json_splice ------------------------------------------------------- */

static void
test_splice_replace_id(void **state)
{
	const char *src = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\"}";
	struct jspan all, id;
	struct jedit e;
	struct buf b;

	(void)state;
	assert_int_equal(json_check(src, strlen(src), 64, &all, NULL), 0);
	assert_int_equal(json_member(src, all, "id", &id), 1);
	e.off = id.off;
	e.len = id.len;
	e.rep = "\"c-1\"";
	e.replen = 5;
	buf_init(&b, 0);
	assert_int_equal(json_splice(&b, src, strlen(src), &e, 1), 0);
	assert_int_equal(buf_used(&b), strlen(src) + 4);
	assert_string_equal(buf_head(&b),
	    "{\"jsonrpc\":\"2.0\",\"id\":\"c-1\",\"method\":\"x\"}");
	buf_free(&b);
}

struct splice_case {
	const char *name;
	const char *src;
	struct jedit e[4];
	int ne;
	const char *want;
};

static const struct splice_case splice_cases[] = {
	{ "no edits", "abcdef", { { 0, 0, NULL, 0 } }, 0, "abcdef" },
	{ "insert at start", "abc", { { 0, 0, "X", 1 } }, 1, "Xabc" },
	{ "insert at end", "abc", { { 3, 0, "XY", 2 } }, 1, "abcXY" },
	{ "insert in middle", "abc", { { 1, 0, "-", 1 } }, 1, "a-bc" },
	{ "delete", "abcdef", { { 2, 2, "", 0 } }, 1, "abef" },
	{ "delete all", "abc", { { 0, 3, "", 0 } }, 1, "" },
	{ "replace whole", "abc", { { 0, 3, "xyz!", 4 } }, 1, "xyz!" },
	{ "shrink and grow", "0123456789",
	    { { 1, 3, "A", 1 }, { 5, 0, "BBB", 3 }, { 8, 2, "", 0 } }, 3,
	    "0A4BBB567" },
	{ "adjacent edits", "abcd",
	    { { 0, 1, "1", 1 }, { 1, 1, "22", 2 }, { 2, 2, "", 0 } }, 3,
	    "122" },
	{ "two inserts at one place", "ab",
	    { { 1, 0, "x", 1 }, { 1, 0, "y", 1 } }, 2, "axyb" },
	{ "id and token", "{\"id\":1,\"params\":{\"_meta\":{\"t\":9}}}",
	    { { 6, 1, "\"h7\"", 4 }, { 31, 1, "42", 2 } }, 2,
	    "{\"id\":\"h7\",\"params\":{\"_meta\":{\"t\":42}}}" },
};

static void
test_splice(void **state)
{
	const struct splice_case *c = *state;
	struct buf b;
	size_t len;
	char *s;

	buf_init(&b, 0);
	assert_int_equal(json_splice(&b, c->src, strlen(c->src), c->e, c->ne),
	    0);
	s = buf_steal(&b, &len);
	assert_string_equal(s, c->want);
	assert_int_equal(len, strlen(c->want));
	free(s);
	buf_free(&b);
}

/* Splicing appends to what the buffer holds, and respects its maximum. */
static void
test_splice_append_and_max(void **state)
{
	struct jedit e = { 1, 1, "XYZ", 3 };
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "<"), 0);
	/* "abc" becomes "aXYZc": 5 bytes, 6 with "<". */
	assert_int_equal(json_splice(&b, "abc", 3, &e, 1), 0);
	assert_int_equal(buf_used(&b), 6);
	assert_string_equal(buf_head(&b), "<aXYZc");
	/* 3 more would make 9 > 8: refused, nothing written. */
	e.off = 0;
	e.len = 0;
	e.rep = "";
	e.replen = 0;
	assert_int_equal(json_splice(&b, "123", 3, &e, 1), -1);
	assert_int_equal(buf_used(&b), 6);
	assert_string_equal(buf_head(&b), "<aXYZc");
	/* Exactly up to the maximum is fine. */
	assert_int_equal(json_splice(&b, "12", 2, NULL, 0), 0);
	assert_int_equal(buf_used(&b), 8);
	assert_string_equal(buf_head(&b), "<aXYZc12");
	buf_free(&b);

	/* The size that counts is the size after the edits. */
	buf_init(&b, 4);
	e.off = 0;
	e.len = 6;
	e.rep = "ab";
	e.replen = 2;
	assert_int_equal(json_splice(&b, "123456", 6, &e, 1), 0);
	assert_string_equal(buf_head(&b), "ab");
	buf_free(&b);
}

/* ---- the group --------------------------------------------------------- */


/* json_check_unique: a key twice in one object, however written, is
   refused; the same key in other objects is not. */
static void
test_unique_keys(void **state)
{
	static const struct {
		const char *json;
		int ok;
	} cases[] = {
		{ "{\"a\":1,\"b\":2}", 1 },
		{ "{\"a\":1,\"a\":2}", 0 },
		{ "{\"a\":1,\"\\u0061\":2}", 0 },
		{ "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", 1 },
		{ "[{\"k\":1},{\"k\":2}]", 1 },
		{ "{\"o\":{\"x\":1,\"y\":[{\"z\":1,\"z\":2}]}}", 0 },
		{ "{\"\":1,\"\":2}", 0 },
		{ "{\"a\\nb\":1,\"a\\u000ab\":2}", 0 },
	};
	char big[8192];
	size_t i, n;
	struct jspan v;
	const char *why;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(json_check(cases[i].json,
		    strlen(cases[i].json), 64, &v, &why), 0);
		assert_int_equal(json_check_unique(cases[i].json,
		    strlen(cases[i].json), 64, &v, &why) == 0, cases[i].ok);
		if (!cases[i].ok)
			assert_string_equal(why, "duplicate key in an object");
	}
	/* Past the short list: 300 keys, then one of them again. */
	n = (size_t)snprintf(big, sizeof(big), "{");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%zu\":%zu",
		    i ? "," : "", i, i);
	big[n++] = '}';
	big[n] = '\0';
	assert_int_equal(json_check_unique(big, n, 64, &v, &why), 0);
	n--;
	n += (size_t)snprintf(big + n, sizeof(big) - n, ",\"k17\":0}");
	assert_int_equal(json_check_unique(big, n, 64, &v, &why), -1);
	assert_string_equal(why, "duplicate key in an object");
}

static const struct CMUnitTest plain[] = {
	cmocka_unit_test(test_check_deep),
	cmocka_unit_test(test_check_length_bound),
	cmocka_unit_test(test_type),
	cmocka_unit_test(test_member_nested_span),
	cmocka_unit_test(test_iter_scalars_and_null_key),
	cmocka_unit_test(test_strdup_not_string),
	cmocka_unit_test(test_strdup_span),
	cmocka_unit_test(test_unique_keys),
	cmocka_unit_test(test_streq_absent),
	cmocka_unit_test(test_splice_replace_id),
	cmocka_unit_test(test_splice_append_and_max),
};

static struct CMUnitTest tests[NELEM(plain) + NELEM(check_ok_cases) +
    NELEM(check_bad_cases) + NELEM(member_cases) + NELEM(iter_cases) +
    NELEM(strdup_cases) + NELEM(streq_cases) + NELEM(splice_cases)];

int
main(void)
{
	struct unit_tests u = { tests, 0, NELEM(tests) };
	char pfx[160];
	size_t i;
	int r;

	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(check_ok_cases); i++) {
		snprintf(pfx, sizeof(pfx), "json_check accepts (depth %d): ",
		    check_ok_cases[i].maxdepth);
		unit_add(&u, unit_name(pfx, check_ok_cases[i].in,
		    check_ok_cases[i].n), test_check_ok,
		    (void *)&check_ok_cases[i]);
	}
	for (i = 0; i < NELEM(check_bad_cases); i++) {
		snprintf(pfx, sizeof(pfx), "json_check refuses (%s, depth %d): ",
		    check_bad_cases[i].why, check_bad_cases[i].maxdepth);
		unit_add(&u, unit_name(pfx, check_bad_cases[i].in,
		    check_bad_cases[i].n), test_check_bad,
		    (void *)&check_bad_cases[i]);
	}
	for (i = 0; i < NELEM(member_cases); i++) {
		const struct member_case *c = &member_cases[i];

		snprintf(pfx, sizeof(pfx), "json_member %s -> %d in: ",
		    c->key, c->ret);
		unit_add(&u, unit_name(pfx, c->obj, strlen(c->obj)),
		    test_member, (void *)c);
	}
	for (i = 0; i < NELEM(iter_cases); i++)
		unit_add(&u, unit_name("json_iter: ", iter_cases[i].text,
		    strlen(iter_cases[i].text)), test_iter,
		    (void *)&iter_cases[i]);
	for (i = 0; i < NELEM(strdup_cases); i++)
		unit_add(&u, unit_name("json_strdup: ", strdup_cases[i].json,
		    strlen(strdup_cases[i].json)), test_strdup,
		    (void *)&strdup_cases[i]);
	for (i = 0; i < NELEM(streq_cases); i++) {
		snprintf(pfx, sizeof(pfx), "json_streq %s (%d): ",
		    streq_cases[i].lit, streq_cases[i].eq);
		unit_add(&u, unit_name(pfx, streq_cases[i].json,
		    strlen(streq_cases[i].json)), test_streq,
		    (void *)&streq_cases[i]);
	}
	for (i = 0; i < NELEM(splice_cases); i++)
		unit_add(&u, unit_name("json_splice: ", splice_cases[i].name,
		    strlen(splice_cases[i].name)), test_splice,
		    (void *)&splice_cases[i]);
	if (u.n != NELEM(tests))
		abort();
	r = cmocka_run_group_tests_name("json", tests, NULL, NULL);
	unit_free(&u);
	return r;
}
