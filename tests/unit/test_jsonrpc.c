/* Unit tests for core/jsonrpc: message classification, protocol versions
   and id sniffing for messages too large to keep. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"
#include "core/jsonrpc.h"
#include "tests/unit/unit.h"

/* ---- jsonrpc_classify -------------------------------------------------- */

struct classify_case {
	const char *text;
	enum msg_kind kind;
	const char *why;	/* MSG_INVALID only */
	/* The text of each span, NULL when absent. */
	const char *id, *method, *params, *result, *error;
};

#define REQ MSG_REQUEST
#define NOTE MSG_NOTIFICATION
#define RESP MSG_RESPONSE
#define BAD MSG_INVALID

static const struct classify_case classify_cases[] = {
	/* Requests. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", REQ, NULL,
	    "1", "\"tools/list\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"x\",\"params\":{\"a\":1}}",
	    REQ, NULL, "\"abc\"", "\"x\"", "{\"a\":1}", NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"x\",\"params\":[1,2]}",
	    REQ, NULL, "0", "\"x\"", "[1,2]", NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":-3,\"method\":\"x\"}", REQ, NULL, "-3",
	    "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"x\"}", REQ, NULL, "1.5",
	    "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"\",\"method\":\"\"}", REQ, NULL,
	    "\"\"", "\"\"", NULL, NULL, NULL },
	{ "{\"method\":\"m\",\"params\":{},\"id\":9,\"jsonrpc\":\"2.0\"}", REQ,
	    NULL, "9", "\"m\"", "{}", NULL, NULL },
	{ " { \"jsonrpc\" : \"2.0\" , \"id\" : 7 , \"method\" : \"x\" } ", REQ,
	    NULL, "7", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"\\u0069d\":7,\"method\":\"x\"}", REQ, NULL,
	    "7", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2\\u002e0\",\"id\":1,\"method\":\"x\"}", REQ, NULL,
	    "1", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"extra\":{\"id\":2}}",
	    REQ, NULL, "1", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"id\":\"in\","
	    "\"result\":1,\"error\":2}}", REQ, NULL, "1", "\"x\"",
	    "{\"id\":\"in\",\"result\":1,\"error\":2}", NULL, NULL },
	/* Notifications. */
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NOTE,
	    NULL, NULL, "\"notifications/initialized\"", NULL, NULL, NULL },
	{ "{\"method\":\"n\",\"jsonrpc\":\"2.0\",\"params\":{\"p\":true}}", NOTE,
	    NULL, NULL, "\"n\"", "{\"p\":true}", NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":[]}", NOTE, NULL,
	    NULL, "\"n\"", "[]", NULL, NULL },
	/* Responses. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", RESP, NULL, "1", NULL,
	    NULL, "{}", NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":null}", RESP, NULL,
	    "\"r\"", NULL, NULL, "null", NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,{\"error\":1}]}", RESP,
	    NULL, "1", NULL, NULL, "[1,{\"error\":1}]", NULL },
	{ "{\"result\":0,\"id\":5,\"jsonrpc\":\"2.0\"}", RESP, NULL, "5", NULL,
	    NULL, "0", NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32601,"
	    "\"message\":\"m\"}}", RESP, NULL, "2", NULL, NULL, NULL,
	    "{\"code\":-32601,\"message\":\"m\"}" },
	/* JSON-RPC 2.0 section 5: an error response to a request whose id
	   could not be read has "id": null; the comment in jsonrpc.c says
	   so too. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
	    "\"message\":\"Parse error\"}}", RESP, NULL, "null", NULL, NULL,
	    NULL, "{\"code\":-32700,\"message\":\"Parse error\"}" },
	/* Not JSON-RPC objects. */
	{ "[]", BAD, "not a JSON-RPC object", NULL, NULL, NULL, NULL, NULL },
	{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}]", BAD,
	    "not a JSON-RPC object", NULL, NULL, NULL, NULL, NULL },
	{ "\"x\"", BAD, "not a JSON-RPC object", NULL, NULL, NULL, NULL, NULL },
	{ "42", BAD, "not a JSON-RPC object", NULL, NULL, NULL, NULL, NULL },
	{ "null", BAD, "not a JSON-RPC object", NULL, NULL, NULL, NULL, NULL },
	/* Wrong or missing version; the id is still read to address the
	   error. */
	{ "{}", BAD, "jsonrpc must be \"2.0\"", NULL, NULL, NULL, NULL, NULL },
	{ "{\"id\":1,\"method\":\"x\"}", BAD, "jsonrpc must be \"2.0\"", "1",
	    "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"1.0\",\"id\":\"q\",\"method\":\"x\"}", BAD,
	    "jsonrpc must be \"2.0\"", "\"q\"", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":2.0,\"id\":1,\"method\":\"x\"}", BAD,
	    "jsonrpc must be \"2.0\"", "1", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0 \",\"id\":1,\"method\":\"x\"}", BAD,
	    "jsonrpc must be \"2.0\"", "1", "\"x\"", NULL, NULL, NULL },
	{ "{\"jsonrpc\":null,\"id\":1,\"result\":1}", BAD,
	    "jsonrpc must be \"2.0\"", "1", NULL, NULL, "1", NULL },
	/* Bad ids are not kept. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"x\"}", BAD,
	    "id must be a string or a number", NULL, NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"x\"}", BAD,
	    "id must be a string or a number", NULL, NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"x\"}", BAD,
	    "id must be a string or a number", NULL, NULL, NULL, NULL, NULL },
	/* MCP: "Unlike base JSON-RPC, the ID MUST NOT be null" (requests). */
	{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\"}", BAD,
	    "id must be a string or a number", NULL, NULL, NULL, NULL, NULL },
	/* Requests. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", BAD,
	    "method must be a string", "1", "5", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"method\":null}", BAD,
	    "method must be a string", NULL, "null", NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"result\":{}}", BAD,
	    "a request has no result or error", "1", "\"x\"", NULL, "{}",
	    NULL },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"error\":{}}", BAD,
	    "a request has no result or error", NULL, "\"x\"", NULL, NULL,
	    "{}" },
	/* Any params is a request here; the broker answers -32602 when
	   they are not an object. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":\"p\"}",
	    REQ, NULL, "1", "\"x\"", "\"p\"", NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":3}", REQ,
	    NULL, "1", "\"x\"", "3", NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":null}", REQ,
	    NULL, "1", "\"x\"", "null", NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":false}", NOTE,
	    NULL, NULL, "\"x\"", "false", NULL, NULL },
	/* Responses. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"bad\"}", BAD,
	    "error must be an object", "1", NULL, NULL, NULL, "\"bad\"" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":null}", BAD,
	    "error must be an object", "1", NULL, NULL, NULL, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}", BAD,
	    "neither a request, a notification nor a response", "1", NULL,
	    NULL, "1", "{}" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1}", BAD,
	    "neither a request, a notification nor a response", "1", NULL,
	    NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\"}", BAD,
	    "neither a request, a notification nor a response", NULL, NULL,
	    NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"result\":{}}", BAD,
	    "neither a request, a notification nor a response", NULL, NULL,
	    NULL, "{}", NULL },
	{ "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"m\"}}", BAD,
	    "neither a request, a notification nor a response", NULL, NULL,
	    NULL, NULL, "{\"code\":1,\"message\":\"m\"}" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{}}", BAD,
	    "neither a request, a notification nor a response", "1", NULL,
	    "{}", NULL, NULL },
	/* Duplicate members are refused; an id read before is kept unless
	   the id itself is duplicated. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"x\"}", BAD,
	    "duplicate member", NULL, NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"\\u0069d\":2,\"method\":\"x\"}", BAD,
	    "duplicate member", NULL, NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}",
	    BAD, "duplicate member", "1", NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"method\":\"b\"}", BAD,
	    "duplicate member", "1", NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":{},"
	    "\"params\":{}}", BAD, "duplicate member", "1", "\"a\"", NULL, NULL,
	    NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"result\":2}", BAD,
	    "duplicate member", "1", NULL, NULL, NULL, NULL },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{},\"error\":{}}", BAD,
	    "duplicate member", "1", NULL, NULL, NULL, NULL },
};

static void
expect_span(const char *p, struct jspan s, const char *want, const char *what)
{
	if (want == NULL) {
		if (s.len != 0)
			fail_msg("%s: expected absent, got %.*s", what,
			    (int)s.len, p + s.off);
		return;
	}
	if (s.len != strlen(want) || memcmp(p + s.off, want, s.len) != 0)
		fail_msg("%s: expected %s, got %.*s", what, want, (int)s.len,
		    s.len ? p + s.off : "(absent)");
}

static void
test_classify(void **state)
{
	const struct classify_case *c = *state;
	struct jspan v;
	struct jmsg m;

	assert_int_equal(json_check(c->text, strlen(c->text), 64, &v, NULL),
	    0);
	memset(&m, 0xa5, sizeof(m));
	jsonrpc_classify(c->text, v, &m);
	assert_int_equal(m.kind, c->kind);
	if (c->kind == MSG_INVALID) {
		assert_non_null(m.why);
		assert_string_equal(m.why, c->why);
	} else {
		assert_null(m.why);
	}
	assert_int_equal(m.all.off, v.off);
	assert_int_equal(m.all.len, v.len);
	expect_span(c->text, m.id, c->id, "id");
	if (c->kind == MSG_INVALID)
		return;	/* other spans are only promised for valid ones */
	expect_span(c->text, m.method, c->method, "method");
	expect_span(c->text, m.params, c->params, "params");
	expect_span(c->text, m.result, c->result, "result");
	expect_span(c->text, m.error, c->error, "error");
}

/* The spans of a partial classification: on "jsonrpc must be 2.0" the
   method, params, result and error have been read. */
static void
test_classify_invalid_spans(void **state)
{
	const char *t = "{\"id\":4,\"method\":\"m\",\"params\":[0]}";
	struct jspan v;
	struct jmsg m;

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &v, NULL), 0);
	jsonrpc_classify(t, v, &m);
	assert_int_equal(m.kind, MSG_INVALID);
	expect_span(t, m.id, "4", "id");
	expect_span(t, m.method, "\"m\"", "method");
	expect_span(t, m.params, "[0]", "params");
}

/* A message inside larger text: spans are offsets into the whole text. */
static void
test_classify_in_batch(void **state)
{
	const char *t = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"b\"},{\"jsonrpc\":\"2.0\",\"id\":3,"
	    "\"result\":{}}]";
	static const enum msg_kind want[] = { MSG_REQUEST, MSG_NOTIFICATION,
		MSG_RESPONSE };
	struct jspan all, v;
	struct jmsg m;
	size_t pos = 0;
	int i = 0;

	(void)state;
	assert_int_equal(json_check(t, strlen(t), 64, &all, NULL), 0);
	while (json_iter(t, all, &pos, NULL, &v)) {
		jsonrpc_classify(t, v, &m);
		assert_int_equal(m.kind, want[i]);
		assert_int_equal(m.all.off, v.off);
		if (i == 0)
			expect_span(t, m.method, "\"a\"", "method");
		if (i == 2)
			expect_span(t, m.id, "3", "id");
		i++;
	}
	assert_int_equal(i, 3);
}

/* ---- jsonrpc_version_ok ------------------------------------------------ */

struct version_case {
	const char *v;
	int ok;
};

static const struct version_case version_cases[] = {
	{ "2024-11-05", 1 },
	{ "2025-03-26", 1 },
	{ "2025-06-18", 1 },
	{ "2025-11-25", 1 },
	{ "2024-10-07", 0 },
	{ "2025-11-26", 0 },
	{ "2025-11-25 ", 0 },
	{ "2025-11-2", 0 },
	{ "2025-11-25x", 0 },
	{ "", 0 },
	{ "2.0", 0 },
	{ "latest", 0 },
};

static void
test_version(void **state)
{
	const struct version_case *c = *state;

	assert_int_equal(jsonrpc_version_ok(c->v), c->ok);
}

static void
test_version_latest(void **state)
{
	(void)state;
	assert_string_equal(jsonrpc_latest, "2025-11-25");
	assert_int_equal(jsonrpc_version_ok(jsonrpc_latest), 1);
}

/* ---- jsonrpc_sniff_id -------------------------------------------------- */

struct sniff_case {
	const char *name;
	const char *head;	/* NULL: not given */
	const char *tail;
	size_t outsz;
	const char *want;	/* NULL: not found */
};

static const struct sniff_case sniff_cases[] = {
	/* From the head: members before "id" are plain scalars. */
	{ "head: number after jsonrpc",
	    "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"x\",\"params\":{\"bi",
	    NULL, 64, "42" },
	{ "head: string id first", "{\"id\":\"req-1\",\"jsonrpc\"", NULL, 64,
	    "\"req-1\"" },
	{ "head: spaces and tabs", " {\t\"jsonrpc\" : \"2.0\" ,\t\"id\" : 7 , ",
	    NULL, 64, "7" },
	{ "head: negative", "{\"id\":-5,\"", NULL, 64, "-5" },
	{ "head: exponent", "{\"id\":1.5e3,\"", NULL, 64, "1.5e3" },
	{ "head: after scalars of every kind",
	    "{\"a\":true,\"b\":false,\"c\":null,\"d\":-1.5E+2,\"e\":\"s\",\"id\":8,",
	    NULL, 64, "8" },
	{ "head: key that ends in id", "{\"xid\":1,\"ids\":2,\"id\":3,", NULL,
	    64, "3" },
	{ "head: id whose value is cut", "{\"jsonrpc\":\"2.0\",\"id\":12", NULL,
	    64, NULL },
	{ "head: string id that is cut", "{\"jsonrpc\":\"2.0\",\"id\":\"ab", NULL,
	    64, NULL },
	{ "head: no id yet", "{\"jsonrpc\":\"2.0\",\"method\":\"tools/ca", NULL,
	    64, NULL },
	{ "head: object before id",
	    "{\"jsonrpc\":\"2.0\",\"params\":{\"x\":1},\"id\":3,", NULL, 64,
	    NULL },
	{ "head: array before id", "{\"a\":[1],\"id\":3,", NULL, 64, NULL },
	{ "head: nested id is not the id", "{\"result\":{\"id\":9},\"id\":1}",
	    NULL, 64, NULL },
	{ "head: id that is an object", "{\"id\":{\"x\":1},", NULL, 64, NULL },
	{ "head: escape in string id", "{\"id\":\"a\\\"b\",", NULL, 64, NULL },
	{ "head: escape in key", "{\"i\\u0064\":1,", NULL, 64, NULL },
	{ "head: escape in string before id", "{\"m\":\"a\\nb\",\"id\":1,", NULL,
	    64, NULL },
	{ "head: an array", "[{\"id\":1}]", NULL, 64, NULL },
	{ "head: empty", "", NULL, 64, NULL },
	{ "head: id too long for out", "{\"id\":\"abcdef\",", NULL, 8, NULL },
	{ "head: id just fits out", "{\"id\":\"abcdef\",", NULL, 9,
	    "\"abcdef\"" },
	/* From the tail: `,"id":123}` at the very end. */
	{ "tail: last member", NULL,
	    "ssage\":\"x\"},\"jsonrpc\":\"2.0\",\"id\":123}", 64, "123" },
	{ "tail: trailing blanks and CR", NULL, "e\":1},\"id\":5} \t\r", 64,
	    "5" },
	{ "tail: whole small object", NULL, "{\"id\":77}", 64, "77" },
	{ "tail: too short to see the comma", NULL, "\"id\":77}", 64, NULL },
	{ "tail: key that ends in id", NULL, ",\"xid\":1}", 64, NULL },
	{ "tail: quote before key", NULL, "x\"id\":1}", 64, NULL },
	{ "tail: string id", NULL, ",\"id\":\"x\"}", 64, NULL },
	{ "tail: no digits", NULL, ",\"id\":}", 64, NULL },
	{ "tail: nested object last", NULL, ",\"result\":{\"id\":5}}", 64, NULL },
	{ "tail: not an object end", NULL, ",\"id\":5]", 64, NULL },
	{ "tail: empty", NULL, "", 64, NULL },
	{ "tail: too long for out", NULL, ",\"id\":12345}", 5, NULL },
	{ "tail: just fits out", NULL, ",\"id\":12345}", 6, "12345" },
	/* Both. */
	{ "head wins over tail", "{\"id\":1,", ",\"id\":2}", 64, "1" },
	{ "tail when head fails", "{\"params\":{", ",\"id\":2}", 64, "2" },
	{ "neither", "{\"params\":{", "\"}]}}", 64, NULL },
	{ "nothing given", NULL, NULL, 64, NULL },
};

static void
test_sniff(void **state)
{
	const struct sniff_case *c = *state;
	char out[64];
	int r;

	memset(out, 'Z', sizeof(out));
	out[sizeof(out) - 1] = '\0';
	r = jsonrpc_sniff_id(c->head, c->head ? strlen(c->head) : 0, c->tail,
	    c->tail ? strlen(c->tail) : 0, out, c->outsz);
	if (c->want == NULL) {
		assert_int_equal(r, 0);
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(out, c->want);
	/* Nothing written past outsz. */
	assert_true(strlen(out) < c->outsz);
	if (c->outsz < sizeof(out) - 1)
		assert_int_equal(out[c->outsz], 'Z');
}

/* Only headlen bytes of the head are looked at. */
static void
test_sniff_head_bound(void **state)
{
	const char *h = "{\"id\":123,\"method\":\"x\"}";
	char out[16];

	(void)state;
	assert_int_equal(jsonrpc_sniff_id(h, 9, NULL, 0, out, sizeof(out)), 0);
	assert_int_equal(jsonrpc_sniff_id(h, 10, NULL, 0, out, sizeof(out)), 1);
	assert_string_equal(out, "123");
}

/* ---- the group --------------------------------------------------------- */

static const struct CMUnitTest plain[] = {
	cmocka_unit_test(test_classify_invalid_spans),
	cmocka_unit_test(test_classify_in_batch),
	cmocka_unit_test(test_version_latest),
	cmocka_unit_test(test_sniff_head_bound),
};

static struct CMUnitTest tests[NELEM(plain) + NELEM(classify_cases) +
    NELEM(version_cases) + NELEM(sniff_cases)];

int
main(void)
{
	struct unit_tests u = { tests, 0, NELEM(tests) };
	static const char *const kinds[] = { "invalid", "request",
		"notification", "response" };
	char pfx[160];
	size_t i;
	int r;

	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(classify_cases); i++) {
		const struct classify_case *c = &classify_cases[i];

		snprintf(pfx, sizeof(pfx), "classify %s%s%s: ", kinds[c->kind],
		    c->why ? " - " : "", c->why ? c->why : "");
		unit_add(&u, unit_name(pfx, c->text, strlen(c->text)),
		    test_classify, (void *)c);
	}
	for (i = 0; i < NELEM(version_cases); i++) {
		snprintf(pfx, sizeof(pfx), "version_ok %d: ",
		    version_cases[i].ok);
		unit_add(&u, unit_name(pfx, version_cases[i].v,
		    strlen(version_cases[i].v)), test_version,
		    (void *)&version_cases[i]);
	}
	for (i = 0; i < NELEM(sniff_cases); i++)
		unit_add(&u, unit_name("sniff_id ", sniff_cases[i].name,
		    strlen(sniff_cases[i].name)), test_sniff,
		    (void *)&sniff_cases[i]);
	if (u.n != NELEM(tests))
		abort();
	r = cmocka_run_group_tests_name("jsonrpc", tests, NULL, NULL);
	unit_free(&u);
	return r;
}
