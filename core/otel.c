/* OpenTelemetry trace export over OTLP/HTTP with the JSON encoding; see
   otel.h. The POSTs run on the caller's libev loop through core/curlev.c,
   and at exit through curlev_drain. */
#include <sys/random.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "core/buf.h"
#include "core/curlev.h"
#include "core/otel.h"
#include "core/util.h"
#include "core/version.h"

#define BODY_MAX (4 * 1024 * 1024)	/* bytes in one POST */
#define RESP_MAX (64 * 1024)		/* response bytes kept */
#define TELL_EVERY 60.0			/* seconds between drop reports */
#define CONNECT_MAX 2.0			/* seconds to connect, at most */
#define SUFFIX "]}]}]}"
#define SUFFIXLEN (sizeof(SUFFIX) - 1)

struct otel {
	struct ev_loop *loop;
	struct curlev *cv;
	CURL *easy;
	struct curl_slist *hdrs;
	char *url, *shown;
	char *prefix;		/* the body before the first span */
	size_t prefixlen;
	double flush_interval;
	int max_queue, max_batch;

	char **q;		/* ring of spans as JSON text */
	int head, n;
	int inflight;		/* spans at the head of q being posted */
	int retried;		/* the head batch failed once already */
	char *body;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];

	ev_timer batch;		/* spans wait at most flush_interval */
	int draining;		/* otel_drain: the loop no longer runs */

	long long sent, dropped, failed_posts;
	long long untold;	/* dropped since the last report */
	char *why;		/* the latest reason */
	int mixed;		/* ... and there were others */
	double told_at;
};

static void post_maybe(struct otel *);
static void post_done(CURL *, CURLcode, void *);

/* ---- ids and traceparent ------------------------------------------------ */

static void
random_bytes(unsigned char *p, size_t n)
{
	static uint64_t ctr;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	if (got == n || RAND_bytes(p, (int)n) == 1)
		return;
	/* No randomness at all: ids need only be unlikely to collide. */
	for (got = 0; got < n; got += 8) {
		uint64_t seed[3] = { otel_now_ns(), (uint64_t)getpid(), ++ctr };
		uint64_t h = fnv1a64(seed, sizeof(seed));

		memcpy(p + got, &h, n - got < 8 ? n - got : 8);
	}
}

static void
tohex(char *out, const unsigned char *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Random bytes that are not all zero, as hex. */
static void
random_id(char *out, size_t n)
{
	unsigned char b[16];
	size_t i;

	for (;;) {
		random_bytes(b, n);
		for (i = 0; i < n && b[i] == 0; i++)
			;
		if (i < n)
			break;
	}
	tohex(out, b, n);
}

void
otel_ids_new(char trace_id[OTEL_TRACE_HEX + 1],
    char span_id[OTEL_SPAN_HEX + 1])
{
	if (trace_id != NULL)
		random_id(trace_id, OTEL_TRACE_HEX / 2);
	random_id(span_id, OTEL_SPAN_HEX / 2);
}

/* n lower-case hex digits, not all zero when nonzero is set. */
static int
lowhex(const char *s, size_t n, int nonzero)
{
	size_t i;
	int z = 1;

	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
		if (s[i] != '0')
			z = 0;
	}
	return !(nonzero && z);
}

/* An id: exactly n lower-case hex digits, not all zero. */
static int
idok(const char *s, size_t n)
{
	return lowhex(s, n, 1) && s[n] == '\0';
}

static int
hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

int
otel_traceparent_parse(const char *tp, char trace_id[OTEL_TRACE_HEX + 1],
    char parent_id[OTEL_SPAN_HEX + 1], int *flags)
{
	size_t len;

	if (tp == NULL || (len = strlen(tp)) < OTEL_TRACEPARENT_LEN)
		return -1;
	if (!lowhex(tp, 2, 0) || strncmp(tp, "ff", 2) == 0 || tp[2] != '-' ||
	    !lowhex(tp + 3, 32, 1) || tp[35] != '-' ||
	    !lowhex(tp + 36, 16, 1) || tp[52] != '-' || !lowhex(tp + 53, 2, 0))
		return -1;
	/* Version 00 is exactly this; later ones may add "-..." fields. */
	if (strncmp(tp, "00", 2) == 0 ? len != OTEL_TRACEPARENT_LEN :
	    len > OTEL_TRACEPARENT_LEN && tp[OTEL_TRACEPARENT_LEN] != '-')
		return -1;
	memcpy(trace_id, tp + 3, 32);
	trace_id[32] = '\0';
	memcpy(parent_id, tp + 36, 16);
	parent_id[16] = '\0';
	if (flags != NULL)
		*flags = hexval(tp[53]) << 4 | hexval(tp[54]);
	return 0;
}

void
otel_traceparent_format(char out[OTEL_TRACEPARENT_LEN + 1],
    const char *trace_id, const char *span_id, int flags)
{
	static const char d[] = "0123456789abcdef";

	memcpy(out, "00-", 3);
	memcpy(out + 3, trace_id, 32);
	out[35] = '-';
	memcpy(out + 36, span_id, 16);
	out[52] = '-';
	out[53] = d[(flags >> 4) & 15];
	out[54] = d[flags & 15];
	out[55] = '\0';
}

uint64_t
otel_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- encoding ----------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) ||	/* overlong */
		    (c == 0xed && s[1] > 0x9f))		/* surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
		    (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string of s with ill-formed UTF-8 replaced by U+FFFD: collectors
   refuse a whole batch over one bad byte. */
static cJSON *
jstr(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	cJSON *j;
	size_t n;

	for (; *p != '\0' && (n = utf8_len(p)) > 0; p += n)
		;
	if (*p == '\0')
		return cJSON_CreateString(s);
	buf_init(&b, 0);
	buf_add(&b, s, (size_t)((const char *)p - s));
	while (*p != '\0') {
		if ((n = utf8_len(p)) > 0)
			buf_add(&b, p, n);
		else {
			buf_adds(&b, "\xef\xbf\xbd");
			n = 1;
		}
		p += n;
	}
	buf_add(&b, "", 1);
	j = cJSON_CreateString(buf_head(&b));
	buf_free(&b);
	return j;
}

static cJSON *anyvalue(const cJSON *);

/* A KeyValue list from an object's members; nulls are left out. */
static cJSON *
keyvalues(const cJSON *obj)
{
	cJSON *arr = cJSON_CreateArray(), *kv, *v;
	const cJSON *m;

	cJSON_ArrayForEach(m, obj) {
		if (m->string == NULL || (v = anyvalue(m)) == NULL)
			continue;
		kv = cJSON_CreateObject();
		cJSON_AddItemToObject(kv, "key", jstr(m->string));
		cJSON_AddItemToObject(kv, "value", v);
		cJSON_AddItemToArray(arr, kv);
	}
	return arr;
}

/* An AnyValue, or NULL for null. Whole numbers become intValue (an int64:
   a decimal string in JSON), others doubleValue, the non-finite ones as
   the strings of the proto3 JSON mapping. */
static cJSON *
anyvalue(const cJSON *v)
{
	cJSON *o, *in, *vals, *x;
	const cJSON *e;
	char num[32];
	double d;

	if (cJSON_IsString(v)) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "stringValue", jstr(v->valuestring));
	} else if (cJSON_IsBool(v)) {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "boolValue", cJSON_IsTrue(v));
	} else if (cJSON_IsNumber(v)) {
		o = cJSON_CreateObject();
		d = v->valuedouble;
		if (isnan(d))
			cJSON_AddStringToObject(o, "doubleValue", "NaN");
		else if (isinf(d))
			cJSON_AddStringToObject(o, "doubleValue",
			    d > 0 ? "Infinity" : "-Infinity");
		else if (d == trunc(d) && d >= -9223372036854775808.0 &&
		    d < 9223372036854775808.0) {
			snprintf(num, sizeof(num), "%lld", (long long)d);
			cJSON_AddStringToObject(o, "intValue", num);
		} else
			cJSON_AddNumberToObject(o, "doubleValue", d);
	} else if (cJSON_IsArray(v)) {
		o = cJSON_CreateObject();
		in = cJSON_AddObjectToObject(o, "arrayValue");
		vals = cJSON_AddArrayToObject(in, "values");
		/* A null keeps its place as an empty AnyValue. */
		cJSON_ArrayForEach(e, v)
			cJSON_AddItemToArray(vals, (x = anyvalue(e)) != NULL ?
			    x : cJSON_CreateObject());
	} else if (cJSON_IsObject(v)) {
		o = cJSON_CreateObject();
		in = cJSON_AddObjectToObject(o, "kvlistValue");
		cJSON_AddItemToObject(in, "values", keyvalues(v));
	} else
		return NULL;
	return o;
}

static char *
print(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	if (s == NULL)
		fatal("out of memory");
	return s;
}

char *
otel_span_json(const struct otel_span *s)
{
	cJSON *o = cJSON_CreateObject(), *st, *attrs;
	char num[24], *text;

	cJSON_AddStringToObject(o, "traceId", s->trace_id);
	cJSON_AddStringToObject(o, "spanId", s->span_id);
	/* proto3 JSON leaves out default values: no parent, no member. */
	if (s->parent_id[0] != '\0')
		cJSON_AddStringToObject(o, "parentSpanId", s->parent_id);
	cJSON_AddItemToObject(o, "name", jstr(s->name ? s->name : ""));
	cJSON_AddNumberToObject(o, "kind", s->kind);
	snprintf(num, sizeof(num), "%" PRIu64, s->start_ns);
	cJSON_AddStringToObject(o, "startTimeUnixNano", num);
	snprintf(num, sizeof(num), "%" PRIu64, s->end_ns);
	cJSON_AddStringToObject(o, "endTimeUnixNano", num);
	if (cJSON_IsObject(s->attrs)) {
		attrs = keyvalues(s->attrs);
		if (cJSON_GetArraySize(attrs) > 0)
			cJSON_AddItemToObject(o, "attributes", attrs);
		else
			cJSON_Delete(attrs);
	}
	if (s->status != OTEL_STATUS_UNSET) {
		st = cJSON_AddObjectToObject(o, "status");
		if (s->status == OTEL_STATUS_ERROR && s->message != NULL &&
		    s->message[0] != '\0')
			cJSON_AddItemToObject(st, "message", jstr(s->message));
		cJSON_AddNumberToObject(st, "code", s->status);
	}
	text = print(o);
	cJSON_Delete(o);
	return text;
}

void
otel_span_clear(struct otel_span *s)
{
	free(s->name);
	cJSON_Delete(s->attrs);
	free(s->message);
	s->name = NULL;
	s->attrs = NULL;
	s->message = NULL;
}

/* The envelope up to the spans: the resource, then our scope. */
static char *
make_prefix(const struct otel_conf *c)
{
	cJSON *res = cJSON_CreateObject(), *m, *attrs;
	const cJSON *e;
	char *a, *p;

	cJSON_AddItemToObject(res, "service.name",
	    jstr(c->service_name ? c->service_name : "corral"));
	cJSON_AddStringToObject(res, "service.version", CORRAL_VERSION);
	cJSON_ArrayForEach(e, c->resource) {
		if (e->string == NULL)
			continue;
		if ((m = cJSON_Duplicate(e, 1)) == NULL)
			fatal("out of memory");
		if (cJSON_GetObjectItemCaseSensitive(res, e->string) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(res, e->string,
			    m);
		else
			cJSON_AddItemToObject(res, e->string, m);
	}
	attrs = keyvalues(res);
	a = print(attrs);
	p = xasprintf("{\"resourceSpans\":[{\"resource\":{\"attributes\":%s},"
	    "\"scopeSpans\":[{\"scope\":{\"name\":\"corral\",\"version\":"
	    "\"%s\"},\"spans\":[", a, CORRAL_VERSION);
	free(a);
	cJSON_Delete(attrs);
	cJSON_Delete(res);
	return p;
}

/* The body for the first spans of the queue, at most max_batch of them
   and BODY_MAX bytes; *k says how many. */
static char *
make_body(struct otel *o, int *k, size_t *lenp)
{
	struct buf b;
	const char *s;
	size_t len;
	int i;

	buf_init(&b, 0);
	buf_add(&b, o->prefix, o->prefixlen);
	for (i = 0; i < o->n && i < o->max_batch; i++) {
		s = o->q[(o->head + i) % o->max_queue];
		len = strlen(s);
		if (i > 0 && buf_used(&b) + 1 + len + SUFFIXLEN > BODY_MAX)
			break;
		if (i > 0)
			buf_add(&b, ",", 1);
		buf_add(&b, s, len);
	}
	buf_add(&b, SUFFIX, SUFFIXLEN);
	*k = i;
	return buf_steal(&b, lenp);
}

char *
otel_next_body(struct otel *o, int *nspans)
{
	size_t len;

	*nspans = 0;
	if (o->n == 0)
		return NULL;
	return make_body(o, nspans, &len);
}

/* ---- the queue and its accounting --------------------------------------- */

static void
pop(struct otel *o, int k)
{
	while (k-- > 0 && o->n > 0) {
		free(o->q[o->head]);
		o->q[o->head] = NULL;
		o->head = (o->head + 1) % o->max_queue;
		o->n--;
	}
}

/* Control characters would break the one-line diagnostic. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
tell(struct otel *o, double now)
{
	if (o->untold == 0)
		return;
	logmsg("otel: %lld span%s dropped (%s%s)", o->untold,
	    o->untold == 1 ? "" : "s", o->mixed ? "the latest: " : "",
	    o->why);
	o->untold = 0;
	o->mixed = 0;
	o->told_at = now;
}

/* Count n spans lost for reason why (taken); tell at most once a minute. */
static void
drop(struct otel *o, long long n, char *why)
{
	double now = mono_now();

	printable(why);
	if (o->untold > 0 && strcmp(why, o->why) != 0)
		o->mixed = 1;
	o->dropped += n;
	o->untold += n;
	free(o->why);
	o->why = why;
	if (now - o->told_at >= TELL_EVERY)
		tell(o, now);
}

void
otel_emit(struct otel *o, struct otel_span *s)
{
	char *text;

	if (o == NULL) {
		otel_span_clear(s);
		return;
	}
	if (o->draining) {
		otel_span_clear(s);
		drop(o, 1, xstrdup("emitted after the exporter stopped"));
		return;
	}
	if (o->n >= o->max_queue) {
		otel_span_clear(s);
		drop(o, 1, xasprintf("queue full: %d spans waiting for %s",
		    o->n, o->shown));
		return;
	}
	/* A span the collector would refuse would cost its whole batch. */
	if (!idok(s->trace_id, OTEL_TRACE_HEX) ||
	    !idok(s->span_id, OTEL_SPAN_HEX) ||
	    (s->parent_id[0] != '\0' && !idok(s->parent_id, OTEL_SPAN_HEX))) {
		otel_span_clear(s);
		drop(o, 1, xstrdup("a span with malformed ids"));
		return;
	}
	text = otel_span_json(s);
	otel_span_clear(s);
	if (o->prefixlen + strlen(text) + SUFFIXLEN > BODY_MAX) {
		free(text);
		drop(o, 1, xasprintf("a span larger than %d bytes", BODY_MAX));
		return;
	}
	o->q[(o->head + o->n) % o->max_queue] = text;
	o->n++;
	post_maybe(o);
}

long long
otel_sent(const struct otel *o)
{
	return o->sent;
}

long long
otel_dropped(const struct otel *o)
{
	return o->dropped;
}

long long
otel_failed_posts(const struct otel *o)
{
	return o->failed_posts;
}

int
otel_queued(const struct otel *o)
{
	return o->n;
}

const char *
otel_url(const struct otel *o)
{
	return o->url;
}

const char *
otel_shown_url(const struct otel *o)
{
	return o->shown;
}

/* ---- posting ------------------------------------------------------------ */

static int
post(struct otel *o)
{
	const char *why;
	size_t len;
	int k;

	o->body = make_body(o, &k, &len);
	buf_reset(&o->resp);
	o->errbuf[0] = '\0';
	curl_easy_setopt(o->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(o->easy, CURLOPT_POSTFIELDS, o->body);
	o->inflight = k;
	if (curlev_add(o->cv, o->easy, post_done, o, &why) == 0)
		return 0;
	o->inflight = 0;
	free(o->body);
	o->body = NULL;
	pop(o, k);
	o->failed_posts++;
	drop(o, k, xasprintf("POST %s: %s", o->shown, why));
	return -1;
}

/* Post now when a full batch waits, else let the batch timer do it. */
static void
post_maybe(struct otel *o)
{
	if (o->inflight > 0 || o->draining)
		return;
	if (o->n == 0) {
		ev_timer_stop(o->loop, &o->batch);
		return;
	}
	if (o->n >= o->max_batch && !o->retried) {
		ev_timer_stop(o->loop, &o->batch);
		if (post(o) == 0)
			return;
	}
	if (o->n > 0 && !ev_is_active(&o->batch)) {
		ev_timer_set(&o->batch, o->flush_interval, 0.);
		ev_timer_start(o->loop, &o->batch);
	}
}

static void
batch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct otel *o = w->data;

	(void)loop;
	(void)revents;
	if (o->inflight == 0 && o->n > 0 && post(o) < 0)
		post_maybe(o);
}

/* How many spans a 2xx answer's partialSuccess says were rejected; *why
   gets the collector's reason then. */
static long long
rejected(struct otel *o, int k, char **why)
{
	cJSON *r, *ps, *n, *m;
	long long x = 0;

	if (buf_used(&o->resp) == 0 ||
	    (r = cJSON_ParseWithLength(buf_head(&o->resp),
	    buf_used(&o->resp))) == NULL)
		return 0;
	ps = cJSON_GetObjectItemCaseSensitive(r, "partialSuccess");
	n = cJSON_GetObjectItemCaseSensitive(ps, "rejectedSpans");
	if (cJSON_IsString(n))
		x = strtoll(n->valuestring, NULL, 10);
	else if (cJSON_IsNumber(n))
		x = (long long)n->valuedouble;
	x = x < 0 ? 0 : x > k ? k : x;
	if (x > 0) {
		m = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
		*why = xasprintf("POST %s: the collector rejected them: %.200s",
		    o->shown, cJSON_IsString(m) ? m->valuestring :
		    "no reason given");
	}
	cJSON_Delete(r);
	return x;
}

/* The POST ended with rc. Failures drop the batch, except that the
   statuses OTLP calls retryable, and a server that closed without an
   answer, get one more try at the next flush. A refused connection or a
   timeout gets none: a dead or stuck collector would only back up the
   queue. */
static void
done(struct otel *o, CURLcode rc)
{
	long long n;
	long code = 0, oserr = 0;
	int k = o->inflight, retry;
	char *why = NULL;

	o->inflight = 0;
	free(o->body);
	o->body = NULL;
	if (rc == CURLE_OK)
		curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		n = rejected(o, k, &why);
		o->sent += k - n;
		o->retried = 0;
		pop(o, k);
		if (n > 0)
			drop(o, n, why);
		post_maybe(o);
		return;
	}
	o->failed_posts++;
	if (rc != CURLE_OK) {
		/* "Connection refused" says more than libcurl's text. */
		if (rc == CURLE_COULDNT_CONNECT && curl_easy_getinfo(o->easy,
		    CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr != 0)
			why = xasprintf("POST %s: %s", o->shown,
			    strerror((int)oserr));
		else
			why = xasprintf("POST %s: %s", o->shown, o->errbuf[0] ?
			    o->errbuf : curl_easy_strerror(rc));
		retry = rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
		    rc == CURLE_RECV_ERROR;
	} else {
		why = xasprintf("POST %s: HTTP %ld", o->shown, code);
		retry = code == 429 || code == 502 || code == 503 ||
		    code == 504;
	}
	if (retry && !o->retried && !o->draining) {
		o->retried = 1;
		free(why);
	} else {
		o->retried = 0;
		pop(o, k);
		drop(o, k, why);
	}
	post_maybe(o);
}

/* The POST ended: its easy handle is ours again. */
static void
post_done(CURL *e, CURLcode rc, void *arg)
{
	(void)e;
	done(arg, rc);
}

static size_t
resp_cb(char *p, size_t size, size_t n, void *arg)
{
	struct otel *o = arg;

	/* Beyond RESP_MAX the answer is read and forgotten. */
	(void)buf_add(&o->resp, p, size * n);
	return size * n;
}

/* ---- setup and shutdown ------------------------------------------------- */

/* The URL to post to, and *shown, the same without user, password, query
   or fragment, for messages. */
static char *
make_url(const char *endpoint, char **shown, char **err)
{
	char *scheme = NULL, *host = NULL, *path = NULL, *s = NULL;
	char *url = NULL, *p;
	CURLU *u;
	size_t n;

	if ((u = curl_url()) == NULL)
		fatal("out of memory");
	if (endpoint == NULL ||
	    curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0' ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		/* Not echoed: it may hold a password. */
		*err = xstrdup("the endpoint is not an http:// or https:// "
		    "URL");
		goto out;
	}
	n = strlen(path);
	if (n < 10 || strcmp(path + n - 10, "/v1/traces") != 0) {
		while (n > 0 && path[n - 1] == '/')
			n--;
		p = xasprintf("%.*s/v1/traces", (int)n, path);
		curl_url_set(u, CURLUPART_PATH, p, 0);
		free(p);
	}
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		fatal("out of memory");
	url = xstrdup(s);
	curl_free(s);
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
	curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		fatal("out of memory");
	*shown = xstrdup(s);
	curl_free(s);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	return url;
}

/* An HTTP field name (RFC 9110 token). */
static int
token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *line)
{
	if ((l = curl_slist_append(l, line)) == NULL)
		fatal("out of memory");
	return l;
}

/* Our headers, then the configured ones. Values may be secrets: messages
   name the header, never its value. */
static struct curl_slist *
make_headers(const cJSON *h, char **err)
{
	struct curl_slist *l = NULL;
	const cJSON *m;
	const char *v;
	char *line, *name;

	l = add_header(l, "Content-Type: application/json");
	l = add_header(l, "Expect:");	/* no 100-continue round trip */
	if (h != NULL && !cJSON_IsObject(h)) {
		*err = xstrdup("headers: not an object");
		goto bad;
	}
	cJSON_ArrayForEach(m, h) {
		name = xstrdup(m->string ? m->string : "");
		printable(name);
		if (!token(m->string ? m->string : "")) {
			*err = xasprintf("header \"%.64s\": not a valid field "
			    "name", name);
		} else if (strcasecmp(name, "content-type") == 0 ||
		    strcasecmp(name, "content-length") == 0 ||
		    strcasecmp(name, "expect") == 0) {
			*err = xasprintf("header \"%s\": set by corral", name);
		} else if (!cJSON_IsString(m)) {
			*err = xasprintf("header \"%s\": the value must be a "
			    "string", name);
		} else {
			for (v = m->valuestring; *v != '\0' &&
			    ((unsigned char)*v >= 0x20 || *v == '\t') &&
			    *v != 0x7f; v++)
				;
			if (*v != '\0')
				*err = xasprintf("header \"%s\": the value has "
				    "a control character", name);
		}
		free(name);
		if (*err != NULL)
			goto bad;
		/* "Name;" is how libcurl sends an empty value. */
		if (m->valuestring[0] == '\0')
			line = xasprintf("%s;", m->string);
		else
			line = xasprintf("%s: %s", m->string, m->valuestring);
		l = add_header(l, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	return l;
bad:
	curl_slist_free_all(l);
	return NULL;
}

struct otel *
otel_new(struct ev_loop *loop, const struct otel_conf *c, char **err)
{
	struct curl_slist *hdrs;
	struct otel *o;
	char *url, *shown = NULL;
	double timeout = c->timeout > 0 ? c->timeout : 5;
	long tmo, ctmo;

	*err = NULL;
	/* Counted by libcurl itself: paired with the cleanup in otel_free. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*err = xstrdup("libcurl: cannot initialise");
		return NULL;
	}
	if ((url = make_url(c->endpoint, &shown, err)) == NULL) {
		curl_global_cleanup();
		return NULL;
	}
	if ((hdrs = make_headers(c->headers, err)) == NULL) {
		free(url);
		free(shown);
		curl_global_cleanup();
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	o->loop = loop;
	o->url = url;
	o->shown = shown;
	o->hdrs = hdrs;
	o->flush_interval = c->flush_interval > 0 ? c->flush_interval : 1;
	o->max_queue = c->max_queue > 0 ? c->max_queue : 2048;
	o->max_batch = c->max_batch > 0 ? c->max_batch : 512;
	if (o->max_batch > o->max_queue)
		o->max_batch = o->max_queue;
	o->q = xcalloc((size_t)o->max_queue, sizeof(*o->q));
	o->prefix = make_prefix(c);
	o->prefixlen = strlen(o->prefix);
	buf_init(&o->resp, RESP_MAX);
	o->told_at = -TELL_EVERY;
	ev_init(&o->batch, batch_cb);
	o->batch.data = o;

	o->cv = curlev_new(loop);
	if ((o->easy = curl_easy_init()) == NULL)
		fatal("libcurl: out of memory");
	curl_multi_setopt(curlev_multi(o->cv), CURLMOPT_MAXCONNECTS, 1L);

	tmo = (long)(timeout * 1000);
	ctmo = timeout < CONNECT_MAX ? tmo : (long)(CONNECT_MAX * 1000);
	curl_easy_setopt(o->easy, CURLOPT_URL, o->url);
	curl_easy_setopt(o->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(o->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(o->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(o->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(o->easy, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(o->easy, CURLOPT_CONNECTTIMEOUT_MS, ctmo);
	curl_easy_setopt(o->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(o->easy, CURLOPT_HTTPHEADER, o->hdrs);
	curl_easy_setopt(o->easy, CURLOPT_USERAGENT, "corral/" CORRAL_VERSION);
	curl_easy_setopt(o->easy, CURLOPT_WRITEFUNCTION, resp_cb);
	curl_easy_setopt(o->easy, CURLOPT_WRITEDATA, o);
	curl_easy_setopt(o->easy, CURLOPT_ERRORBUFFER, o->errbuf);
	curl_easy_setopt(o->easy, CURLOPT_SOCKOPTFUNCTION,
	    curlev_sockopt_cloexec);
	return o;
}

/* curlev_drain's next step: post the next batch when none is out. */
static void
drain_more(void *arg)
{
	struct otel *o = arg;

	while (o->inflight == 0 && o->n > 0 && post(o) < 0)
		;
}

void
otel_drain(struct otel *o, double grace)
{
	if (o->draining)
		return;
	o->draining = 1;
	ev_timer_stop(o->loop, &o->batch);
	curlev_drain(o->cv, mono_now() + (grace > 0 ? grace : 0), drain_more,
	    o);
	if (o->inflight > 0) {
		curlev_remove(o->cv, o->easy);
		o->failed_posts++;
		drop(o, o->inflight, xasprintf("POST %s: no answer within "
		    "%.3g s at exit", o->shown, grace));
		pop(o, o->inflight);
		o->inflight = 0;
	}
	if (o->n > 0) {
		drop(o, o->n, xasprintf("not sent within %.3g s at exit",
		    grace));
		pop(o, o->n);
	}
	tell(o, mono_now());
}

void
otel_free(struct otel *o, double grace)
{
	if (o == NULL)
		return;
	otel_drain(o, grace);
	curlev_free(o->cv);
	curl_easy_cleanup(o->easy);
	curl_slist_free_all(o->hdrs);
	curl_global_cleanup();
	buf_free(&o->resp);
	free(o->body);
	free(o->q);
	free(o->prefix);
	free(o->url);
	free(o->shown);
	free(o->why);
	free(o);
}
