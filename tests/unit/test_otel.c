/* Unit tests for core/otel: W3C traceparent, ids, the OTLP JSON encoding,
   endpoint and header checks, the queue bound. Nothing here leaves
   loopback; most tests never run the loop at all. */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/otel.h"
#include "core/util.h"
#include "tests/unit/unit.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN "00f067aa0ba902b7"

/* ---- traceparent -------------------------------------------------------- */

struct tp_case {
	const char *in;
	int ok;
	int flags;
};

static const struct tp_case tp_cases[] = {
	{ "00-" TRACE "-" SPAN "-01", 1, 1 },
	{ "00-" TRACE "-" SPAN "-00", 1, 0 },
	{ "00-" TRACE "-" SPAN "-ff", 1, 255 },
	{ "00-" TRACE "-" SPAN "-09", 1, 9 },
	/* Later versions: same fields, more may follow after a '-'. */
	{ "01-" TRACE "-" SPAN "-01", 1, 1 },
	{ "cc-" TRACE "-" SPAN "-01-what-the-future-holds", 1, 1 },
	{ "cc-" TRACE "-" SPAN "-01.", 0, 0 },
	{ "00-" TRACE "-" SPAN "-01-", 0, 0 },	/* 00 is exactly 55 */
	{ "00-" TRACE "-" SPAN "-01 ", 0, 0 },
	{ " 00-" TRACE "-" SPAN "-01", 0, 0 },
	{ "ff-" TRACE "-" SPAN "-01", 0, 0 },	/* version ff is invalid */
	{ "00-00000000000000000000000000000000-" SPAN "-01", 0, 0 },
	{ "00-" TRACE "-0000000000000000-01", 0, 0 },
	{ "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01", 0, 0 },
	{ "00-" TRACE "-00F067AA0BA902B7-01", 0, 0 },
	{ "0A-" TRACE "-" SPAN "-01", 0, 0 },
	{ "00-" TRACE "-" SPAN "-0A", 0, 0 },
	{ "00-4bf92f3577b34da6a3ce929d0e0e473-" SPAN "-01", 0, 0 },
	{ "00-4bf92f3577b34da6a3ce929d0e0e47366-" SPAN "-01", 0, 0 },
	{ "00-" TRACE "-00f067aa0ba902b-01", 0, 0 },
	{ "00-" TRACE "-" SPAN "-1", 0, 0 },
	{ "00-" TRACE "-" SPAN, 0, 0 },
	{ "00_" TRACE "_" SPAN "_01", 0, 0 },
	{ "00-" TRACE "-" SPAN "x01", 0, 0 },
	{ "00-4bf92f3577b34da6a3ce929d0e0e473g-" SPAN "-01", 0, 0 },
	{ "0-" TRACE "-" SPAN "-01x", 0, 0 },
	{ "", 0, 0 },
	{ "junk", 0, 0 },
	{ "-------------------------------------------------------", 0, 0 },
};

static void
test_tp_parse(void **state)
{
	const struct tp_case *c = *state;
	char trace[OTEL_TRACE_HEX + 1] = "untouched", span[OTEL_SPAN_HEX + 1] =
	    "untouched";
	int flags = -1;

	assert_int_equal(otel_traceparent_parse(c->in, trace, span, &flags),
	    c->ok ? 0 : -1);
	if (c->ok) {
		assert_string_equal(trace, TRACE);
		assert_string_equal(span, SPAN);
		assert_int_equal(flags, c->flags);
	} else {
		assert_string_equal(trace, "untouched");
		assert_string_equal(span, "untouched");
		assert_int_equal(flags, -1);
	}
}

static void
test_tp_null(void **state)
{
	char trace[OTEL_TRACE_HEX + 1], span[OTEL_SPAN_HEX + 1];

	(void)state;
	assert_int_equal(otel_traceparent_parse(NULL, trace, span, NULL), -1);
	assert_int_equal(otel_traceparent_parse("00-" TRACE "-" SPAN "-01",
	    trace, span, NULL), 0);
}

static void
test_tp_format(void **state)
{
	char out[OTEL_TRACEPARENT_LEN + 1], trace[OTEL_TRACE_HEX + 1];
	char span[OTEL_SPAN_HEX + 1];
	int flags;

	(void)state;
	otel_traceparent_format(out, TRACE, SPAN, 1);
	assert_string_equal(out, "00-" TRACE "-" SPAN "-01");
	otel_traceparent_format(out, TRACE, SPAN, 0xab);
	assert_string_equal(out, "00-" TRACE "-" SPAN "-ab");
	assert_int_equal(otel_traceparent_parse(out, trace, span, &flags), 0);
	assert_int_equal(flags, 0xab);
	otel_traceparent_format(out, TRACE, SPAN, 0);
	assert_string_equal(out, "00-" TRACE "-" SPAN "-00");
}

/* ---- ids ---------------------------------------------------------------- */

static void
test_ids(void **state)
{
	char t1[OTEL_TRACE_HEX + 1], s1[OTEL_SPAN_HEX + 1];
	char t2[OTEL_TRACE_HEX + 1], s2[OTEL_SPAN_HEX + 1];
	char out[OTEL_TRACEPARENT_LEN + 1], pt[OTEL_TRACE_HEX + 1];
	char ps[OTEL_SPAN_HEX + 1];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		otel_ids_new(t1, s1);
		assert_int_equal(strlen(t1), 32);
		assert_int_equal(strlen(s1), 16);
		assert_int_equal(strspn(t1, "0123456789abcdef"), 32);
		assert_int_equal(strspn(s1, "0123456789abcdef"), 16);
		assert_int_not_equal(strspn(t1, "0"), 32);
		assert_int_not_equal(strspn(s1, "0"), 16);
		/* What we make, we accept. */
		otel_traceparent_format(out, t1, s1, 1);
		assert_int_equal(otel_traceparent_parse(out, pt, ps, NULL), 0);
	}
	otel_ids_new(t2, s2);
	assert_string_not_equal(t1, t2);
	assert_string_not_equal(s1, s2);
	memcpy(t2, t1, sizeof(t1));
	otel_ids_new(NULL, s2);		/* a span id only */
	assert_string_equal(t2, t1);
	assert_int_equal(strlen(s2), 16);
}

/* ---- encoding ----------------------------------------------------------- */

static void
fill(struct otel_span *s, const char *parent)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, TRACE, sizeof(TRACE));
	memcpy(s->span_id, SPAN, sizeof(SPAN));
	if (parent != NULL)
		snprintf(s->parent_id, sizeof(s->parent_id), "%s", parent);
	s->kind = OTEL_KIND_CLIENT;
	s->start_ns = 1700000000123456789ull;
	s->end_ns = 1700000000223456789ull;
}

static void
test_span_json(void **state)
{
	struct otel_span s;
	cJSON *arr, *obj;
	char *j;

	(void)state;
	fill(&s, "1111111111111111");
	s.name = xstrdup("tools/call add");
	s.attrs = cJSON_CreateObject();
	cJSON_AddStringToObject(s.attrs, "str", "a \"q\"\n");
	cJSON_AddNumberToObject(s.attrs, "int", 42);
	cJSON_AddNumberToObject(s.attrs, "neg", -7);
	cJSON_AddNumberToObject(s.attrs, "big", 9007199254740992.0);
	cJSON_AddNumberToObject(s.attrs, "dbl", 2.5);
	cJSON_AddNumberToObject(s.attrs, "nan", NAN);
	cJSON_AddNumberToObject(s.attrs, "ninf", -INFINITY);
	cJSON_AddTrueToObject(s.attrs, "yes");
	cJSON_AddFalseToObject(s.attrs, "no");
	cJSON_AddNullToObject(s.attrs, "gone");
	arr = cJSON_AddArrayToObject(s.attrs, "arr");
	cJSON_AddItemToArray(arr, cJSON_CreateString("x"));
	cJSON_AddItemToArray(arr, cJSON_CreateNull());
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
	obj = cJSON_AddObjectToObject(s.attrs, "obj");
	cJSON_AddStringToObject(obj, "k", "v");
	cJSON_AddStringToObject(s.attrs, "bad\xff", "caf\xc3\xa9 \xc3(");
	s.status = OTEL_STATUS_ERROR;
	s.message = xstrdup("tool_error");
	j = otel_span_json(&s);
	assert_string_equal(j,
	    "{\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\","
	    "\"parentSpanId\":\"1111111111111111\","
	    "\"name\":\"tools/call add\",\"kind\":3,"
	    "\"startTimeUnixNano\":\"1700000000123456789\","
	    "\"endTimeUnixNano\":\"1700000000223456789\","
	    "\"attributes\":["
	    "{\"key\":\"str\",\"value\":{\"stringValue\":\"a \\\"q\\\"\\n\"}},"
	    "{\"key\":\"int\",\"value\":{\"intValue\":\"42\"}},"
	    "{\"key\":\"neg\",\"value\":{\"intValue\":\"-7\"}},"
	    "{\"key\":\"big\",\"value\":{\"intValue\":\"9007199254740992\"}},"
	    "{\"key\":\"dbl\",\"value\":{\"doubleValue\":2.5}},"
	    "{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}},"
	    "{\"key\":\"ninf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
	    "{\"key\":\"yes\",\"value\":{\"boolValue\":true}},"
	    "{\"key\":\"no\",\"value\":{\"boolValue\":false}},"
	    "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":["
	    "{\"stringValue\":\"x\"},{},{\"intValue\":\"1\"}]}}},"
	    "{\"key\":\"obj\",\"value\":{\"kvlistValue\":{\"values\":["
	    "{\"key\":\"k\",\"value\":{\"stringValue\":\"v\"}}]}}},"
	    "{\"key\":\"bad\xef\xbf\xbd\",\"value\":{\"stringValue\":"
	    "\"caf\xc3\xa9 \xef\xbf\xbd(\"}}],"
	    "\"status\":{\"message\":\"tool_error\",\"code\":2}}");
	free(j);
	otel_span_clear(&s);
	assert_null(s.name);
	assert_null(s.attrs);
	assert_null(s.message);
}

/* A root span: no parentSpanId; no attributes member when there are none;
   no status when unset; an OK status carries no message. */
static void
test_span_json_root(void **state)
{
	struct otel_span s;
	char *j;

	(void)state;
	fill(&s, NULL);
	s.kind = OTEL_KIND_SERVER;
	s.name = xstrdup("tools/call echo__add");
	s.attrs = cJSON_CreateObject();
	cJSON_AddNullToObject(s.attrs, "only_null");
	j = otel_span_json(&s);
	assert_string_equal(j,
	    "{\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\","
	    "\"name\":\"tools/call echo__add\",\"kind\":2,"
	    "\"startTimeUnixNano\":\"1700000000123456789\","
	    "\"endTimeUnixNano\":\"1700000000223456789\"}");
	free(j);
	s.status = OTEL_STATUS_OK;
	s.message = xstrdup("ignored");
	j = otel_span_json(&s);
	assert_non_null(strstr(j, ",\"status\":{\"code\":1}}"));
	assert_null(strstr(j, "ignored"));
	free(j);
	otel_span_clear(&s);
}

static struct otel *
new_otel(struct ev_loop *loop, struct otel_conf *c)
{
	char *err = NULL;
	struct otel *o = otel_new(loop, c, &err);

	if (o == NULL)
		fail_msg("otel_new: %s", err);
	return o;
}

static void
test_body(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct otel_conf c = { 0 };
	struct otel_span s;
	struct otel *o;
	cJSON *res = cJSON_CreateObject();
	char *body;
	int n;

	(void)state;
	c.endpoint = "http://127.0.0.1:9";
	c.service_name = "svc";
	cJSON_AddStringToObject(res, "deployment.environment", "test");
	cJSON_AddStringToObject(res, "service.version", "9");
	c.resource = res;
	o = new_otel(loop, &c);
	cJSON_Delete(res);
	assert_null(otel_next_body(o, &n));
	assert_int_equal(n, 0);
	fill(&s, NULL);
	s.kind = OTEL_KIND_SERVER;
	s.name = xstrdup("a");
	otel_emit(o, &s);
	assert_null(s.name);
	fill(&s, SPAN);
	s.name = xstrdup("b");
	otel_emit(o, &s);
	body = otel_next_body(o, &n);
	assert_int_equal(n, 2);
	assert_string_equal(body,
	    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
	    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}},"
	    "{\"key\":\"service.version\",\"value\":{\"stringValue\":\"9\"}},"
	    "{\"key\":\"deployment.environment\",\"value\":{\"stringValue\":"
	    "\"test\"}}]},"
	    "\"scopeSpans\":[{\"scope\":{\"name\":\"corral\",\"version\":"
	    "\"0.1.0\"},\"spans\":["
	    "{\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\","
	    "\"name\":\"a\",\"kind\":2,"
	    "\"startTimeUnixNano\":\"1700000000123456789\","
	    "\"endTimeUnixNano\":\"1700000000223456789\"},"
	    "{\"traceId\":\"" TRACE "\",\"spanId\":\"" SPAN "\","
	    "\"parentSpanId\":\"" SPAN "\",\"name\":\"b\",\"kind\":3,"
	    "\"startTimeUnixNano\":\"1700000000123456789\","
	    "\"endTimeUnixNano\":\"1700000000223456789\"}"
	    "]}]}]}");
	free(body);
	assert_int_equal(otel_queued(o), 2);
	otel_free(o, 0);
	ev_loop_destroy(loop);
}

/* ---- configuration ------------------------------------------------------ */

struct url_case {
	const char *in, *url, *shown;
};

static const struct url_case url_cases[] = {
	{ "http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces",
	    "http://127.0.0.1:4318/v1/traces" },
	{ "http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces",
	    "http://127.0.0.1:4318/v1/traces" },
	{ "https://h.example/v1/traces", "https://h.example/v1/traces",
	    "https://h.example/v1/traces" },
	{ "https://h.example/otlp//", "https://h.example/otlp/v1/traces",
	    "https://h.example/otlp/v1/traces" },
	{ "HTTP://h.example:1/x/v1/traces#frag",
	    "http://h.example:1/x/v1/traces",
	    "http://h.example:1/x/v1/traces" },
	{ "http://user:secret@h.example:1/x?key=secret2",
	    "http://user:secret@h.example:1/x/v1/traces?key=secret2",
	    "http://h.example:1/x/v1/traces" },
};

static void
test_url(void **state)
{
	const struct url_case *c = *state;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct otel_conf conf = { 0 };
	struct otel *o;

	conf.endpoint = c->in;
	o = new_otel(loop, &conf);
	assert_string_equal(otel_url(o), c->url);
	assert_string_equal(otel_shown_url(o), c->shown);
	otel_free(o, 0);
	ev_loop_destroy(loop);
}

static const char *bad_urls[] = {
	"", "ftp://h.example/", "file:///etc/passwd", "127.0.0.1:4318",
	"http://", "gopher://h.example:70/", "http://user:secret@[::1/",
	"//h.example/v1/traces",
};

static void
test_url_bad(void **state)
{
	const char *in = *state;
	struct otel_conf c = { 0 };
	char *err = NULL;

	c.endpoint = in;
	assert_null(otel_new(EV_DEFAULT, &c, &err));
	assert_non_null(err);
	assert_null(strstr(err, "secret"));
	free(err);
}

static void
test_no_endpoint(void **state)
{
	struct otel_conf c = { 0 };
	char *err = NULL;

	(void)state;
	assert_null(otel_new(EV_DEFAULT, &c, &err));
	assert_non_null(err);
	free(err);
}

struct hdr_case {
	const char *name;
	const char *json;	/* the headers object */
	int ok;
};

static const struct hdr_case hdr_cases[] = {
	{ "token and empty", "{\"Authorization\":\"Bearer s3cret\","
	    "\"x-empty\":\"\",\"X-Tab\":\"a\\tb\"}", 1 },
	{ "not an object", "[\"s3cret\"]", 0 },
	{ "space in name", "{\"a b\":\"s3cret\"}", 0 },
	{ "colon in name", "{\"a:b\":\"s3cret\"}", 0 },
	{ "empty name", "{\"\":\"s3cret\"}", 0 },
	{ "newline in value", "{\"x\":\"s3cret\\nInjected: 1\"}", 0 },
	{ "CR in value", "{\"x\":\"s3cret\\r\"}", 0 },
	{ "DEL in value", "{\"x\":\"s3cret\\u007f\"}", 0 },
	{ "number value", "{\"x\":1}", 0 },
	{ "content-type", "{\"Content-Type\":\"s3cret\"}", 0 },
	{ "content-length", "{\"content-length\":\"1\"}", 0 },
	{ "control in name", "{\"a\\nb\":\"s3cret\"}", 0 },
};

static void
test_headers(void **state)
{
	const struct hdr_case *h = *state;
	struct otel_conf c = { 0 };
	struct otel *o;
	char *err = NULL;

	c.endpoint = "http://127.0.0.1:9";
	c.headers = cJSON_Parse(h->json);
	assert_non_null(c.headers);
	o = otel_new(EV_DEFAULT, &c, &err);
	if (h->ok) {
		assert_non_null(o);
		otel_free(o, 0);
	} else {
		assert_null(o);
		assert_non_null(err);
		/* Values may be secrets: never in a message. */
		assert_null(strstr(err, "s3cret"));
		assert_null(strchr(err, '\n'));
		free(err);
	}
	cJSON_Delete(c.headers);
}

/* ---- the queue ---------------------------------------------------------- */

static void
emit_n(struct otel *o, int n)
{
	struct otel_span s;
	int i;

	for (i = 0; i < n; i++) {
		fill(&s, NULL);
		otel_ids_new(s.trace_id, s.span_id);
		s.name = xstrdup("x");
		s.attrs = cJSON_CreateObject();
		cJSON_AddNumberToObject(s.attrs, "i", i);
		otel_emit(o, &s);
		assert_null(s.name);
		assert_null(s.attrs);
	}
}

/* The loop never runs: nothing is sent, the bound holds, every span is
   accounted for once the exporter stops. */
static void
test_queue_bound(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct otel_conf c = { 0 };
	struct otel *o;
	char *body;
	int n;

	(void)state;
	c.endpoint = "http://127.0.0.1:9";
	c.max_queue = 10;
	c.max_batch = 4;
	o = new_otel(loop, &c);
	emit_n(o, 3);
	body = otel_next_body(o, &n);
	assert_int_equal(n, 3);
	free(body);
	emit_n(o, 22);
	assert_int_equal(otel_queued(o), 10);
	assert_int_equal(otel_dropped(o), 15);
	assert_int_equal(otel_sent(o), 0);
	body = otel_next_body(o, &n);
	assert_int_equal(n, 4);		/* max_batch */
	free(body);
	otel_drain(o, 0);
	assert_int_equal(otel_queued(o), 0);
	assert_int_equal(otel_dropped(o), 25);
	assert_int_equal(otel_sent(o), 0);
	emit_n(o, 1);			/* after the stop: dropped */
	assert_int_equal(otel_dropped(o), 26);
	assert_int_equal(otel_queued(o), 0);
	otel_free(o, 0);
	ev_loop_destroy(loop);
}

/* Bad ids would cost the whole batch at the collector: refused here. */
static void
test_bad_ids(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct otel_conf c = { 0 };
	struct otel_span s;
	struct otel *o;

	(void)state;
	c.endpoint = "http://127.0.0.1:9";
	o = new_otel(loop, &c);
	fill(&s, NULL);
	memcpy(s.trace_id, "00000000000000000000000000000000", 33);
	s.name = xstrdup("x");
	otel_emit(o, &s);
	fill(&s, NULL);
	memcpy(s.span_id, "00F067AA0BA902B7", 17);
	otel_emit(o, &s);
	fill(&s, "short");
	otel_emit(o, &s);
	fill(&s, NULL);
	s.trace_id[0] = '\0';
	otel_emit(o, &s);
	assert_null(s.name);
	assert_int_equal(otel_dropped(o), 4);
	assert_int_equal(otel_queued(o), 0);
	otel_free(o, 0);
	ev_loop_destroy(loop);
}

static void
test_null_exporter(void **state)
{
	struct otel_span s;

	(void)state;
	fill(&s, NULL);
	s.name = xstrdup("x");
	s.attrs = cJSON_CreateObject();
	s.message = xstrdup("m");
	otel_emit(NULL, &s);
	assert_null(s.name);
	assert_null(s.attrs);
	assert_null(s.message);
	otel_free(NULL, 1);
}

/* A closed loopback port: the loop runs, every POST is refused, every span
   is dropped, and nothing waits on the dead collector. */
static void
test_refused(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct otel_conf c = { 0 };
	struct otel *o;
	char *url;
	double t0;
	int fd;

	(void)state;
	/* A port that was free a moment ago and has no listener now. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	url = xasprintf("http://127.0.0.1:%d", ntohs(sin.sin_port));
	c.endpoint = url;
	c.max_batch = 5;
	c.flush_interval = 0.05;
	o = new_otel(loop, &c);
	emit_n(o, 12);
	t0 = mono_now();
	while (otel_dropped(o) < 12 && mono_now() - t0 < 5)
		ev_run(loop, EVRUN_ONCE);
	assert_int_equal(otel_dropped(o), 12);
	assert_int_equal(otel_sent(o), 0);
	assert_int_equal(otel_failed_posts(o), 3);
	assert_true(mono_now() - t0 < 2);
	otel_free(o, 1);
	free(url);
	ev_loop_destroy(loop);
}

/* ---- the group ---------------------------------------------------------- */

static const struct CMUnitTest plain[] = {
	cmocka_unit_test(test_tp_null),
	cmocka_unit_test(test_tp_format),
	cmocka_unit_test(test_ids),
	cmocka_unit_test(test_span_json),
	cmocka_unit_test(test_span_json_root),
	cmocka_unit_test(test_body),
	cmocka_unit_test(test_no_endpoint),
	cmocka_unit_test(test_queue_bound),
	cmocka_unit_test(test_bad_ids),
	cmocka_unit_test(test_null_exporter),
	cmocka_unit_test(test_refused),
};

static struct CMUnitTest tests[NELEM(plain) + NELEM(tp_cases) +
    NELEM(url_cases) + NELEM(bad_urls) + NELEM(hdr_cases)];

int
main(void)
{
	struct unit_tests u = { tests, 0, NELEM(tests) };
	char pfx[160];
	size_t i;
	int r;

	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(tp_cases); i++) {
		snprintf(pfx, sizeof(pfx), "traceparent %s: ",
		    tp_cases[i].ok ? "accepts" : "refuses");
		unit_add(&u, unit_name(pfx, tp_cases[i].in,
		    strlen(tp_cases[i].in)), test_tp_parse,
		    (void *)&tp_cases[i]);
	}
	for (i = 0; i < NELEM(url_cases); i++)
		unit_add(&u, unit_name("endpoint: ", url_cases[i].in,
		    strlen(url_cases[i].in)), test_url, (void *)&url_cases[i]);
	for (i = 0; i < NELEM(bad_urls); i++)
		unit_add(&u, unit_name("endpoint refused: ", bad_urls[i],
		    strlen(bad_urls[i])), test_url_bad, (void *)bad_urls[i]);
	for (i = 0; i < NELEM(hdr_cases); i++) {
		snprintf(pfx, sizeof(pfx), "headers %s: ",
		    hdr_cases[i].ok ? "accepted" : "refused");
		unit_add(&u, unit_name(pfx, hdr_cases[i].name,
		    strlen(hdr_cases[i].name)), test_headers,
		    (void *)&hdr_cases[i]);
	}
	if (u.n != NELEM(tests))
		abort();
	r = cmocka_run_group_tests_name("otel", tests, NULL, NULL);
	unit_free(&u);
	return r;
}
