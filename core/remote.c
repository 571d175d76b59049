/*
 * Remote MCP servers over Streamable HTTP (MCP 2025-03-26 and later).
 *
 * A remote stands in for a child process. Every message the broker sends
 * goes out as its own POST; the answer to a request comes back as one JSON
 * body or as a stream of server-sent events that may carry the server's
 * own requests and notifications before it. The session id the server
 * gives with its initialize answer goes with every later request, so does
 * the negotiated protocol version. A 404 on a session means it expired:
 * the broker's initialize is replayed, transparently, and what failed is
 * sent again. A GET stream, when the server offers one, carries messages
 * the server starts. The session is ended with DELETE.
 *
 * The legacy HTTP+SSE transport (2024-11-05, "type": "sse") is the other
 * way round: one GET stream carries everything the server says; its first
 * event, "endpoint", names the URL (same origin only) where each message
 * goes as a POST that is merely accepted. The stream is the session: when
 * it ends, the generation ends, like a child that exited.
 *
 * OAuth: the tokens `corral login` stored for the server (and this URL)
 * go with every request as a bearer token. One that expired, or that the
 * server refuses with 401, is refreshed once at the token endpoint while
 * messages wait; a server that still wants authorization fails the
 * requests with "run `corral login ALIAS`", never a hang.
 *
 * Everything runs on the broker's loop through libcurl's multi interface
 * (core/curlev.c). TLS is always verified; redirects are followed only to
 * the same origin (scheme, host, port), by us, so headers that may be
 * credentials never reach another host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/broker.h"
#include "core/curlev.h"
#include "core/json.h"
#include "core/jsonrpc.h"
#include "core/oauth.h"
#include "core/remote.h"
#include "core/util.h"

/* A POST, the server's own GET stream, a GET resuming a POST's answer
   stream that broke, the session's end; the legacy transport's stream. */
enum { P_MSG, P_GET, P_RESUME, P_DELETE, P_STREAM };

#define MAX_REDIRECTS	3
#define ERRBODY_MAX	2048	/* kept of an error answer's body */

struct post {
	struct remote *r;
	CURL *e;
	struct curl_slist *hdrs;
	int kind;
	char *url;
	char *body;
	size_t len;
	char *id;		/* the request's id as JSON text, or NULL */
	int is_init;		/* the broker's initialize */
	int had_session;	/* sent with a session id */
	int quick;		/* counted in r->quick */
	int internal;		/* a replayed initialize: answer kept here */
	int redirects;
	long status;
	int sse;		/* the body is an event stream */
	int answered;		/* the request's answer arrived */
	int too_big;
	int dropped;		/* cancelled: close it on the next turn */
	int resumes;		/* P_RESUME: how many so far */
	int paused;		/* the host lags: CURL_WRITEFUNC_PAUSE */
	int held;		/* ended while the host lagged: finish later */
	CURLcode held_rc;
	struct buf in;		/* body, or the event stream's partial line */
	struct buf data;	/* the current event's data */
	char *evid;		/* the current event's id */
	char *evname;		/* the current event's name */
	char *location;
	char *session;		/* Mcp-Session-Id of the answer */
	char errbuf[CURL_ERROR_SIZE];
	struct post *next;
};

struct remote {
	struct child *c;
	int gen;
	char *session;
	char *proto;		/* negotiated version, once known */
	char *init;		/* the broker's initialize, for replays */
	int reinit;		/* replaying initialize: hold messages */
	int reinits;		/* in a row, without a success between */
	struct buf held;	/* messages held meanwhile, one per line */
	/* Order: a message sent after a notification or a response (or,
	   over legacy SSE, after anything) must not overtake it on another
	   connection, so it waits here until those POSTs were accepted. */
	int quick;		/* such POSTs in flight */
	struct buf q;		/* messages waiting for them, one per line */
	struct post *posts;
	int ended;		/* stopping: no new transfers */
	char *last_event;	/* of the GET stream */
	int legacy;		/* the HTTP+SSE transport */
	char *endpoint;		/* legacy: where messages go, once known */
	char *fail_why;		/* why remote_stop was called, if failing */
	struct oauth_tokens *tok;	/* from `corral login`, or NULL */
	char *auth;		/* their Authorization header */
	struct oauth_refresh *refresh;	/* in flight */
	CURL *refresh_e;
	int refreshing;		/* messages wait in held meanwhile */
	int refreshes;		/* since the last answered request */
	int told_login;		/* "run corral login" said this generation */
	int get_state;		/* 0 none yet, 1 open, 2 not offered */
	int get_fails;
	ev_timer get_timer;
	ev_timer stop_timer;	/* remote_stop's work, outside libcurl */
	ev_timer sweep_timer;	/* closes cancelled requests' streams */
};

static void post_done(CURL *, CURLcode, void *);
static void finish(struct post *, CURLcode);
static void open_get(struct remote *);
static void stop_cb(struct ev_loop *, ev_timer *, int);
static void sweep_cb(struct ev_loop *, ev_timer *, int);
static void drop_cancelled(struct remote *, const char *, size_t);
static int legacy_endpoint(struct remote *, const char *, size_t);
static int begin_refresh(struct remote *);
static int submit(struct remote *, const char *, size_t, int);
static void auth_drop(struct remote *);
static void open_stream(struct remote *);
static int same_origin(const char *, const char *);

static struct curlev *
loop_curl(struct broker *b)
{
	if (b->curlev == NULL)
		b->curlev = curlev_new(b->loop);
	return b->curlev;
}

static const char *
alias(struct remote *r)
{
	return r->c->conf->alias;
}

static void
post_free(struct post *p)
{
	if (p->quick && p->r->quick > 0)
		p->r->quick--;
	if (p->e) {
		curlev_remove(p->r->c->b->curlev, p->e);
		curl_easy_cleanup(p->e);
	}
	curl_slist_free_all(p->hdrs);
	free(p->url);
	free(p->body);
	free(p->id);
	buf_free(&p->in);
	buf_free(&p->data);
	free(p->evid);
	free(p->evname);
	free(p->location);
	free(p->session);
	free(p);
}

static void
post_unlink(struct post *p)
{
	struct post **pp;

	for (pp = &p->r->posts; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
}

/* The end of a generation: the broker sees a child that went away. */
static void
end_generation(struct remote *r, const char *why)
{
	struct child *c = r->c;
	struct post *p;

	while ((p = r->posts) != NULL) {
		r->posts = p->next;
		post_free(p);
	}
	ev_timer_stop(c->b->loop, &r->get_timer);
	ev_timer_stop(c->b->loop, &r->sweep_timer);
	auth_drop(r);
	buf_reset(&r->held);
	buf_reset(&r->q);
	r->quick = 0;
	r->reinit = 0;
	r->get_state = 0;
	free(r->last_event);
	r->last_event = NULL;
	free(r->endpoint);
	r->endpoint = NULL;
	ev_timer_stop(c->b->loop, &r->stop_timer);
	if (why == NULL)
		why = r->fail_why;
	free(c->last_exit);
	c->last_exit = xstrdup(why ? why : "stopped by corral");
	free(r->fail_why);
	r->fail_why = NULL;
	child_ended(c);
}

/* Hand one message to the broker; a message is one line on stdio, so
   line breaks (whitespace outside strings in valid JSON) become spaces. */
static void
deliver(struct remote *r, char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	while (len > 0 && msg[len - 1] == ' ')
		len--;
	if (len > 0)
		broker_child_message(r->c->b, r->c, msg, len);
}

/* Answer a request the server will not answer, as the server would. */
static void
fail_request(struct remote *r, const char *id, const char *why)
{
	cJSON *o, *e;
	char *s, *m;

	if (id == NULL)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	cJSON_AddItemToObject(o, "id", cJSON_CreateRaw(id));
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddNumberToObject(e, "code", RPC_CONNECTION_CLOSED);
	m = xasprintf("remote server %s: %s", alias(r), why);
	cJSON_AddStringToObject(e, "message", m);
	free(m);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	deliver(r, s, strlen(s));
	cJSON_free(s);
}

static size_t
header_cb(char *h, size_t size, size_t n, void *arg)
{
	struct post *p = arg;
	size_t len = size * n, k;
	char *v;

	if (len > 7 && strncasecmp(h, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget the previous one's. */
		p->sse = 0;
		free(p->location);
		p->location = NULL;
		return len;
	}
	if ((v = memchr(h, ':', len)) == NULL)
		return len;
	k = (size_t)(v - h);
	v++;
	while (v < h + len && (*v == ' ' || *v == '\t'))
		v++;
	len -= (size_t)(v - h);
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' '))
		len--;
	if (k == 12 && strncasecmp(h, "content-type", 12) == 0)
		p->sse = len >= 17 && strncasecmp(v, "text/event-stream",
		    17) == 0;
	else if (k == 14 && strncasecmp(h, "mcp-session-id", 14) == 0 &&
	    len > 0 && len < 256) {
		free(p->session);
		p->session = xstrndup(v, len);
	} else if (k == 8 && strncasecmp(h, "location", 8) == 0) {
		free(p->location);
		p->location = xstrndup(v, len);
	}
	return size * n;
}

/* The initialize answer: keep the session and the version it chose. */
static void
note_init_answer(struct remote *r, struct post *p, const char *msg,
    size_t len)
{
	struct jspan v, res, ver;
	struct jmsg m;
	const char *why;

	if (p->session) {
		free(r->session);
		r->session = xstrdup(p->session);
	}
	if (json_check(msg, len, 64, &v, &why) < 0)
		return;
	jsonrpc_classify(msg, v, &m);
	if (m.kind != MSG_RESPONSE || m.result.len == 0)
		return;
	res = m.result;
	if (json_member(msg, res, "protocolVersion", &ver) == 1 &&
	    json_type(msg, ver) == JT_STRING) {
		free(r->proto);
		r->proto = json_strdup(msg, ver, NULL);
	}
}

/* A whole message arrived on p (a body, or one event's data). */
static void
got_message(struct post *p, char *msg, size_t len)
{
	struct remote *r = p->r;
	struct jspan v, id;
	struct jmsg m;
	const char *why;

	if (p->id && json_check(msg, len, 64, &v, &why) == 0) {
		jsonrpc_classify(msg, v, &m);
		id = m.id;
		if (m.kind == MSG_RESPONSE && id.len == strlen(p->id) &&
		    memcmp(msg + id.off, p->id, id.len) == 0) {
			p->answered = 1;
			if (p->is_init)
				note_init_answer(r, p, msg, len);
			if (p->internal)
				return;
		}
	}
	deliver(r, msg, len);
}

/* Server-sent events: lines "field: value", an empty line ends an event;
   only "data" and "id" matter here ("event", "retry" and comments are
   read and ignored). */
static int
sse_line(struct post *p, char *l, size_t n)
{
	struct remote *r = p->r;
	size_t max = r->c->b->cf->max_message;
	char *v;
	size_t k, vn;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0) {
		if (buf_used(&p->data) > 0) {
			char *d = buf_head(&p->data);
			size_t dn = buf_used(&p->data) - 1; /* last '\n' */

			if (p->kind == P_STREAM && p->evname &&
			    strcmp(p->evname, "endpoint") == 0) {
				if (legacy_endpoint(r, d, dn) < 0)
					return -1;
			} else if (p->evname == NULL ||
			    strcmp(p->evname, "message") == 0)
				got_message(p, d, dn);
			/* Events of other names are not messages. */
			buf_reset(&p->data);
		}
		free(p->evname);
		p->evname = NULL;
		if (p->evid && p->kind == P_GET) {
			free(r->last_event);
			r->last_event = xstrdup(p->evid);
		}
		return 0;
	}
	if (l[0] == ':')
		return 0;
	v = memchr(l, ':', n);
	k = v ? (size_t)(v - l) : n;
	if (v) {
		v++;
		if (v < l + n && *v == ' ')
			v++;
		vn = n - (size_t)(v - l);
	} else {
		v = l + n;
		vn = 0;
	}
	if (k == 4 && memcmp(l, "data", 4) == 0) {
		if (buf_used(&p->data) + vn + 1 > max) {
			p->too_big = 1;
			return -1;
		}
		buf_add(&p->data, v, vn);
		buf_add(&p->data, "\n", 1);
	} else if (k == 2 && memcmp(l, "id", 2) == 0 && vn < 256 &&
	    memchr(v, '\0', vn) == NULL) {
		free(p->evid);
		p->evid = xstrndup(v, vn);
	} else if (k == 5 && memcmp(l, "event", 5) == 0 && vn < 64) {
		free(p->evname);
		p->evname = xstrndup(v, vn);
	}
	return 0;
}

static size_t
write_cb(char *d, size_t size, size_t n, void *arg)
{
	struct post *p = arg;
	struct remote *r = p->r;
	size_t len = size * n, max = r->c->b->cf->max_message;
	char *nl, *s;

	if (p->dropped)
		return 0;
	if (r->c->b->paused) {
		/* The host lags: libcurl keeps this data and stops reading
		   until remote_resume. */
		p->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (p->status == 0)
		curl_easy_getinfo(p->e, CURLINFO_RESPONSE_CODE, &p->status);
	if (p->status < 200 || p->status >= 300) {
		/* Keep the head of an error's body to show it. */
		if (buf_used(&p->in) < ERRBODY_MAX)
			buf_add(&p->in, d, len < ERRBODY_MAX ? len :
			    ERRBODY_MAX);
		return len;
	}
	if (!p->sse) {
		if (buf_used(&p->in) + len > max) {
			p->too_big = 1;
			return 0;	/* aborts the transfer */
		}
		buf_add(&p->in, d, len);
		return len;
	}
	/* An event stream: take whole lines as they come. */
	if (buf_used(&p->in) + len > max + 64) {
		p->too_big = 1;
		return 0;
	}
	buf_add(&p->in, d, len);
	while ((s = buf_head(&p->in)),
	    (nl = memchr(s, '\n', buf_used(&p->in))) != NULL) {
		size_t ln = (size_t)(nl - s);
		int gen = r->c->gen;

		if (sse_line(p, s, ln) < 0)
			return 0;
		if (r->c->gen != gen || r->ended)
			return 0;	/* the generation ended meanwhile */
		buf_consume(&p->in, ln + 1);
	}
	return len;
}

/* Same scheme, host and port? */
static int
same_origin(const char *a, const char *b)
{
	static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST,
	    CURLUPART_PORT };
	CURLU *ua = curl_url(), *ub = curl_url();
	int same = 0, i;

	if (ua && ub && curl_url_set(ua, CURLUPART_URL, a,
	    CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    curl_url_set(ub, CURLUPART_URL, b, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK) {
		same = 1;
		for (i = 0; i < 3 && same; i++) {
			char *x = NULL, *y = NULL;

			curl_url_get(ua, parts[i], &x, CURLU_DEFAULT_PORT);
			curl_url_get(ub, parts[i], &y, CURLU_DEFAULT_PORT);
			same = x && y && strcasecmp(x, y) == 0;
			curl_free(x);
			curl_free(y);
		}
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

static int
start(struct post *p)
{
	struct remote *r = p->r;
	struct child *c = r->c;
	const char *why;
	char *h;
	int i;

	p->e = curl_easy_init();
	if (p->e == NULL)
		return -1;
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
	for (i = 0; i < c->conf->nheaders; i++)
		p->hdrs = curl_slist_append(p->hdrs, c->conf->headers[i]);
	if (r->auth)
		p->hdrs = curl_slist_append(p->hdrs, r->auth);
	if (p->kind == P_GET || p->kind == P_RESUME || p->kind == P_STREAM)
		p->hdrs = curl_slist_append(p->hdrs,
		    "Accept: text/event-stream");
	else if (p->kind == P_MSG) {
		p->hdrs = curl_slist_append(p->hdrs,
		    "Accept: application/json, text/event-stream");
		p->hdrs = curl_slist_append(p->hdrs,
		    "Content-Type: application/json");
	}
	p->had_session = r->session && !p->is_init;
	if (r->session && !p->is_init) {
		h = xasprintf("Mcp-Session-Id: %s", r->session);
		p->hdrs = curl_slist_append(p->hdrs, h);
		free(h);
	}
	if (r->proto && !p->is_init) {
		h = xasprintf("MCP-Protocol-Version: %s", r->proto);
		p->hdrs = curl_slist_append(p->hdrs, h);
		free(h);
	}
	if ((p->kind == P_GET && r->last_event) ||
	    (p->kind == P_RESUME && p->evid)) {
		h = xasprintf("Last-Event-ID: %s", p->kind == P_RESUME ?
		    p->evid : r->last_event);
		p->hdrs = curl_slist_append(p->hdrs, h);
		free(h);
	}
	/* No "Expect: 100-continue" round trip for large bodies. */
	p->hdrs = curl_slist_append(p->hdrs, "Expect:");
	curl_easy_setopt(p->e, CURLOPT_URL, p->url);
	curl_easy_setopt(p->e, CURLOPT_HTTPHEADER, p->hdrs);
	curl_easy_setopt(p->e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(c->conf->t_start * 1000));
	curl_easy_setopt(p->e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(p->e, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(p->e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(p->e, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(p->e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(p->e, CURLOPT_USERAGENT, "corral");
	curl_easy_setopt(p->e, CURLOPT_SOCKOPTFUNCTION, curlev_sockopt_cloexec);
	if (p->kind == P_MSG) {
		curl_easy_setopt(p->e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)p->len);
		curl_easy_setopt(p->e, CURLOPT_POSTFIELDS, p->body);
	} else if (p->kind == P_DELETE) {
		curl_easy_setopt(p->e, CURLOPT_CUSTOMREQUEST, "DELETE");
		curl_easy_setopt(p->e, CURLOPT_TIMEOUT_MS,
		    (long)(c->b->cf->t_shutdown * 1000));
	}
	if (curlev_add(loop_curl(c->b), p->e, post_done, p, &why) < 0) {
		curl_easy_cleanup(p->e);
		p->e = NULL;
		return -1;
	}
	return 0;
}

static struct post *
post_new(struct remote *r, int kind, const char *body, size_t len)
{
	struct post *p = xcalloc(1, sizeof(*p));
	size_t max = r->c->b->cf->max_message;

	p->r = r;
	p->kind = kind;
	p->url = xstrdup(kind == P_MSG && r->legacy ? r->endpoint :
	    r->c->conf->url);
	if (body) {
		p->body = xstrndup(body, len);
		p->len = len;
	}
	buf_init(&p->in, max + 64 + ERRBODY_MAX);
	buf_init(&p->data, max + 1);
	p->next = r->posts;
	r->posts = p;
	return p;
}

/* Send one message as its own POST. A request that cannot be sent is
   answered with an error when tell is set (the broker thinks it went);
   otherwise the caller hears -1. */
static int
send_msg(struct remote *r, const char *msg, size_t len, int internal,
    int tell)
{
	struct post *p;
	struct jspan v;
	struct jmsg m;
	const char *why;

	p = post_new(r, P_MSG, msg, len);
	p->internal = internal;
	if (json_check(msg, len, 64, &v, &why) == 0) {
		jsonrpc_classify(msg, v, &m);
		if (m.kind == MSG_REQUEST) {
			p->id = xstrndup(msg + m.id.off, m.id.len);
			p->is_init = json_streq(msg, m.method, "initialize");
		}
	}
	if (p->is_init && !internal) {
		free(r->init);
		r->init = xstrndup(msg, len);
	}
	if (r->legacy || p->id == NULL) {
		p->quick = 1;
		r->quick++;
	}
	if (start(p) < 0) {
		post_unlink(p);
		if (p->id && !internal && tell)
			fail_request(r, p->id, "cannot start an HTTP request");
		post_free(p);
		return -1;
	}
	return 0;
}

/* Messages wait in r->held: for a new session, a refreshed token, the
   legacy transport's endpoint. */
static int
holding(const struct remote *r)
{
	return r->reinit || r->refreshing || (r->legacy && r->endpoint ==
	    NULL);
}

static int
hold(struct remote *r, const char *msg, size_t len)
{
	if (buf_reserve(&r->held, len + 1) == NULL)
		return -1;
	buf_add(&r->held, msg, len);
	buf_add(&r->held, "\n", 1);
	return 0;
}

/* Nothing holds messages any more: what waited goes, in order. */
static void
release(struct remote *r)
{
	char *s, *nl;

	while (!holding(r) && !r->ended && buf_used(&r->held) > 0) {
		s = buf_head(&r->held);
		if ((nl = memchr(s, '\n', buf_used(&r->held))) == NULL)
			break;
		*nl = '\0';
		submit(r, s, (size_t)(nl - s), 1);
		buf_consume(&r->held, (size_t)(nl - s) + 1);
	}
}

/* Send msg now, or after the notifications and responses in flight. */
static int
submit(struct remote *r, const char *msg, size_t len, int tell)
{
	if (r->quick == 0)
		return send_msg(r, msg, len, 0, tell);
	if (buf_reserve(&r->q, len + 1) == NULL)
		return -1;
	buf_add(&r->q, msg, len);
	buf_add(&r->q, "\n", 1);
	return 0;
}

/* Those POSTs were accepted: what waited goes, up to the next one. */
static void
pump(struct remote *r)
{
	char *s, *nl;
	size_t n;

	while (r->quick == 0 && !r->ended && !holding(r) &&
	    buf_used(&r->q) > 0) {
		s = buf_head(&r->q);
		if ((nl = memchr(s, '\n', buf_used(&r->q))) == NULL)
			break;
		n = (size_t)(nl - s);
		*nl = '\0';
		send_msg(r, s, n, 0, 1);
		buf_consume(&r->q, n + 1);
	}
}

/* The legacy transport's "endpoint" event: a URL, maybe relative to the
   stream's, where messages go. Another origin would see the configured
   headers (credentials, often): refused, and the generation fails. */
static int
legacy_endpoint(struct remote *r, const char *d, size_t n)
{
	char *rel, *url = NULL;
	CURLU *u;
	int ok;

	rel = xstrndup(d, n);
	u = curl_url();
	ok = u && memchr(d, '\0', n) == NULL && curl_url_set(u, CURLUPART_URL,
	    r->c->conf->url, 0) == CURLUE_OK && curl_url_set(u,
	    CURLUPART_URL, rel, 0) == CURLUE_OK && curl_url_get(u,
	    CURLUPART_URL, &url, 0) == CURLUE_OK;
	curl_url_cleanup(u);
	if (!ok || !same_origin(r->c->conf->url, url)) {
		char *why = xasprintf("the server's endpoint %s is %s; not "
		    "used", ok ? url : "(unreadable)", ok ? "on another "
		    "origin and would see this server's headers" :
		    "not a URL");

		logmsg("[%s] %s", alias(r), why);
		free(r->fail_why);
		r->fail_why = why;
		curl_free(url);
		free(rel);
		remote_stop(r->c);
		return -1;
	}
	free(rel);
	free(r->endpoint);
	r->endpoint = xstrdup(url);
	curl_free(url);
	release(r);
	return 0;
}

/* ---- OAuth tokens ---- */

/* The tokens `corral login` stored for this server and URL, unless the
   configuration gives an Authorization header of its own. */
static void
load_tokens(struct remote *r)
{
	const struct server_conf *sc = r->c->conf;
	struct oauth_tokens *t = NULL;
	char *err = NULL;
	int i;

	oauth_tokens_free(r->tok);
	r->tok = NULL;
	free(r->auth);
	r->auth = NULL;
	for (i = 0; i < sc->nheaders; i++)
		if (strncasecmp(sc->headers[i], "authorization:", 14) == 0)
			return;
	switch (oauth_tokens_load(sc->alias, sc->url, &t, &err)) {
	case OAUTH_LOAD_OK:
		r->tok = t;
		r->auth = oauth_auth_header(t);
		break;
	case OAUTH_LOAD_OTHER_URL:
		logmsg("[%s] the stored OAuth tokens are for another URL (%s); "
		    "not used: run `corral login %s` if it needs them",
		    sc->alias, t->server_url, sc->alias);
		oauth_tokens_free(t);
		break;
	case OAUTH_LOAD_NONE:
		break;
	default:
		logmsg("[%s] %s", sc->alias, err);
		free(err);
		break;
	}
}

/* What a request gets when the server wants authorization we lack. */
static char *
login_why(struct remote *r, const char *detail)
{
	if (detail)
		return xasprintf("needs login: %s; run `corral login %s`",
		    detail, alias(r));
	if (r->tok)
		return xasprintf("needs login: the server refused the stored "
		    "access token (HTTP 401); run `corral login %s`",
		    alias(r));
	return xasprintf("needs authorization (HTTP 401): run `corral login "
	    "%s` (or give it a token in \"headers\")", alias(r));
}

/* Answer every request waiting in held with why; drop the rest. */
static void
fail_held(struct remote *r, const char *why)
{
	struct buf q = r->held;
	struct jspan v;
	struct jmsg m;
	const char *jw;
	char *s, *nl, *id;

	buf_init(&r->held, 0);
	r->held.max = q.max;
	while (buf_used(&q) > 0) {
		s = buf_head(&q);
		if ((nl = memchr(s, '\n', buf_used(&q))) == NULL)
			break;
		if (json_check(s, (size_t)(nl - s), 64, &v, &jw) == 0) {
			jsonrpc_classify(s, v, &m);
			if (m.kind == MSG_REQUEST) {
				id = xstrndup(s + m.id.off, m.id.len);
				fail_request(r, id, why);
				free(id);
			}
		}
		buf_consume(&q, (size_t)(nl - s) + 1);
	}
	buf_free(&q);
}

static void
refresh_done(CURL *e, CURLcode rc, void *arg)
{
	struct remote *r = arg;
	char *err = NULL, *why;
	int ok;

	(void)e;
	ok = oauth_refresh_done(r->refresh, rc, &err) == 0;
	oauth_refresh_free(r->refresh);
	r->refresh = NULL;
	r->refresh_e = NULL;
	r->refreshing = 0;
	if (ok) {
		free(r->auth);
		r->auth = oauth_auth_header(r->tok);
		logmsg("[%s] the OAuth access token was refreshed", alias(r));
		if (r->legacy && r->posts == NULL)
			open_stream(r);
		release(r);
		return;
	}
	why = xasprintf("the access token could not be refreshed (%s)", err);
	free(err);
	err = login_why(r, why);
	free(why);
	logmsg("[%s] %s", alias(r), err);
	r->told_login = 1;
	if (r->legacy && r->posts == NULL) {
		/* No stream, no session: this generation failed. */
		buf_reset(&r->held);
		free(r->fail_why);
		r->fail_why = err;
		remote_stop(r->c);
		return;
	}
	fail_held(r, err);
	free(err);
}

/* Refresh the access token (once between two answered requests); the
   messages that come meanwhile wait. 0 when started. */
static int
begin_refresh(struct remote *r)
{
	const char *why;
	char *err = NULL;

	if (r->tok == NULL || r->tok->refresh_token == NULL ||
	    r->refreshes > 0 || r->ended)
		return -1;
	r->refresh = oauth_refresh_new(r->tok, r->c->conf->oauth_allow_local,
	    &r->refresh_e, &err);
	if (r->refresh == NULL) {
		logmsg("[%s] cannot refresh the OAuth access token: %s",
		    alias(r), err);
		free(err);
		return -1;
	}
	if (curlev_add(loop_curl(r->c->b), r->refresh_e, refresh_done, r,
	    &why) < 0) {
		logmsg("[%s] cannot refresh the OAuth access token: %s",
		    alias(r), why);
		oauth_refresh_free(r->refresh);
		r->refresh = NULL;
		r->refresh_e = NULL;
		return -1;
	}
	r->refreshing = 1;
	r->refreshes++;
	return 0;
}

/* Stop a refresh in flight. */
static void
auth_drop(struct remote *r)
{
	if (r->refresh) {
		curlev_remove(r->c->b->curlev, r->refresh_e);
		oauth_refresh_free(r->refresh);
		r->refresh = NULL;
		r->refresh_e = NULL;
	}
	r->refreshing = 0;
}

/* The session expired (404): start a new one with the broker's
   initialize, then send again what failed and what waited. */
static void
reinitialize(struct remote *r, struct post *failed)
{
	char *line;

	if (failed && hold(r, failed->body, failed->len) < 0 && failed->id)
		fail_request(r, failed->id, "too much waiting for a new "
		    "session");
	if (r->reinit)
		return;
	logmsg("[%s] session expired (HTTP 404); starting a new one",
	    alias(r));
	free(r->session);
	r->session = NULL;
	r->reinit = 1;
	line = xstrdup(r->init);
	if (send_msg(r, line, strlen(line), 1, 0) < 0)
		end_generation(r, "its session expired and a new one could "
		    "not be started");
	free(line);
}

/* The new session exists: initialized first, then what waited. */
static void
release_held(struct remote *r)
{
	static const char initialized[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

	r->reinit = 0;
	send_msg(r, initialized, sizeof(initialized) - 1, 1, 0);
	release(r);
}

static char *
http_why(struct post *p, CURLcode rc)
{
	char *body, *w;
	size_t i, n;

	if (rc != CURLE_OK && !p->too_big)
		return xasprintf("%s: %s", p->url, p->errbuf[0] ? p->errbuf :
		    curl_easy_strerror(rc));
	if (p->too_big)
		return xasprintf("an answer larger than max_message (%zu "
		    "bytes); dropped", p->r->c->b->cf->max_message);
	n = buf_used(&p->in) < 200 ? buf_used(&p->in) : 200;
	body = xstrndup(buf_head(&p->in), n);
	for (i = 0; i < n; i++)
		if ((unsigned char)body[i] < 0x20)
			body[i] = ' ';
	while (n > 0 && body[n - 1] == ' ')
		body[--n] = '\0';
	w = xasprintf("HTTP %ld%s%s", p->status, n ? ": " : "", body);
	free(body);
	return w;
}

static void
get_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct remote *r = w->data;

	(void)loop;
	(void)revents;
	open_get(r);
}

static void
open_get(struct remote *r)
{
	struct post *p;

	if (r->ended || r->get_state != 0 || r->session == NULL)
		return;
	p = post_new(r, P_GET, NULL, 0);
	r->get_state = 1;
	if (start(p) < 0) {
		post_unlink(p);
		post_free(p);
		r->get_state = 2;
	}
}

static void
get_done(struct remote *r, struct post *p, CURLcode rc)
{
	r->get_state = 0;
	if (p->status == 405 || p->status == 404 || p->status == 400 ||
	    p->status == 406) {
		/* The server does not offer one; it talks on POSTs only. */
		r->get_state = 2;
		return;
	}
	if (rc != CURLE_OK || p->status < 200 || p->status >= 300)
		r->get_fails++;
	else
		r->get_fails = 0;
	if (r->get_fails > 5) {
		logmsg("[%s] the server's event stream keeps failing; going "
		    "on without it", alias(r));
		r->get_state = 2;
		return;
	}
	/* Reconnect, resuming after the last event seen. */
	ev_timer_set(&r->get_timer, r->get_fails ? 1.0 * r->get_fails : 0.2,
	    0);
	ev_timer_start(r->c->b->loop, &r->get_timer);
}

static void
post_done(CURL *e, CURLcode rc, void *arg)
{
	struct post *p = arg;
	struct remote *r = p->r;
	struct child *c = r->c;

	(void)e;
	curl_easy_getinfo(p->e, CURLINFO_RESPONSE_CODE, &p->status);
	curl_easy_cleanup(p->e);
	p->e = NULL;
	if (c->b->paused && !r->ended && p->kind != P_DELETE) {
		/* The host lags: what this answer holds waits (remote_resume). */
		p->held = 1;
		p->held_rc = rc;
		return;
	}
	post_unlink(p);
	finish(p, rc);
	pump(r);
}

/* A transfer ended: its answer goes to the broker, or its failure is
   told; p is unlinked and freed here. */
static void
finish(struct post *p, CURLcode rc)
{
	struct remote *r = p->r;
	struct child *c = r->c;
	char *why;

	if (r->ended) {
		int del = p->kind == P_DELETE;

		post_free(p);
		if (del)
			end_generation(r, NULL);
		return;
	}
	if (p->kind == P_GET) {
		get_done(r, p, rc);
		post_free(p);
		return;
	}
	if (p->kind == P_STREAM) {
		/* The legacy transport's stream is the session. */
		if (rc == CURLE_OK && p->status >= 200 && p->status < 300)
			why = xstrdup(p->sse ? "the server ended its event "
			    "stream" : "the server did not answer with an event "
			    "stream (Content-Type text/event-stream)");
		else if (rc == CURLE_OK && p->status == 401)
			why = login_why(r, NULL);
		else
			why = http_why(p, rc);
		if (r->endpoint == NULL) {
			char *w = xasprintf("no event stream: %s", why);

			free(why);
			why = w;
		}
		post_free(p);
		end_generation(r, why);
		free(why);
		return;
	}
	if (p->dropped) {
		/* Cancelled: the broker answered the host already. */
		post_free(p);
		return;
	}
	/* An answer stream that broke after an event with an id, before
	   the response: ask for the rest with GET and Last-Event-ID. */
	if (p->sse && p->id && !p->answered && p->evid && r->session &&
	    (p->kind == P_MSG || p->kind == P_RESUME) &&
	    (rc == CURLE_OK ? p->status >= 200 && p->status < 300 :
	    rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_GOT_NOTHING) && p->resumes < 3) {
		struct post *q = post_new(r, P_RESUME, NULL, 0);

		q->id = xstrdup(p->id);
		q->evid = xstrdup(p->evid);
		q->resumes = p->resumes + 1;
		logmsg("[%s] an answer stream broke; resuming after event %s",
		    alias(r), p->evid);
		post_free(p);
		if (start(q) == 0)
			return;
		post_unlink(q);
		fail_request(r, q->id, "its answer stream broke and could "
		    "not be resumed");
		post_free(q);
		return;
	}
	/* A redirect to the same origin is followed, to another never. */
	if (rc == CURLE_OK && (p->status == 307 || p->status == 308) &&
	    p->location) {
		char *next = NULL;
		CURLU *u = curl_url();

		if (u && curl_url_set(u, CURLUPART_URL, p->url, 0) ==
		    CURLUE_OK && curl_url_set(u, CURLUPART_URL, p->location,
		    0) == CURLUE_OK)
			curl_url_get(u, CURLUPART_URL, &next, 0);
		curl_url_cleanup(u);
		if (next && same_origin(p->url, next) &&
		    ++p->redirects <= MAX_REDIRECTS) {
			free(p->url);
			p->url = xstrdup(next);
			curl_free(next);
			p->status = 0;
			p->sse = 0;
			buf_reset(&p->in);
			p->next = r->posts;
			r->posts = p;
			if (start(p) == 0)
				return;
			post_unlink(p);
			why = xstrdup("cannot follow a redirect");
		} else {
			why = xasprintf("redirected to %s; not followed (%s)",
			    next ? next : p->location, next && same_origin(
			    p->url, next) ? "too many redirects" :
			    "another host may not see this server's headers");
			curl_free(next);
		}
		goto failed;
	}
	if (rc == CURLE_OK && p->status == 401 && p->kind == P_MSG &&
	    !p->internal) {
		/* Refresh the token, then send this again; or log in. */
		if (r->refreshing || begin_refresh(r) == 0) {
			if (hold(r, p->body, p->len) < 0 && p->id)
				fail_request(r, p->id, "too much waiting for a "
				    "new access token");
			post_free(p);
			return;
		}
		why = login_why(r, NULL);
		if (!r->told_login && !p->is_init)	/* else the broker says */
			logmsg("[%s] %s", alias(r), why);
		r->told_login = 1;
		goto failed;
	}
	if (rc == CURLE_OK && p->status == 404 && p->had_session && r->init) {
		if (r->reinit || ++r->reinits <= 3) {
			reinitialize(r, p);
			post_free(p);
			return;
		}
		why = xstrdup("the server forgot three new sessions in a row "
		    "(HTTP 404)");
		post_free(p);
		end_generation(r, why);
		free(why);
		return;
	}
	if (rc == CURLE_OK && p->status >= 200 && p->status < 300 &&
	    r->legacy) {
		/* Accepted: the answer comes on the stream. */
		post_free(p);
		return;
	}
	if (rc == CURLE_OK && p->status >= 200 && p->status < 300) {
		if (!p->sse && buf_used(&p->in) > 0)
			got_message(p, buf_head(&p->in), buf_used(&p->in));
		else if (p->sse && buf_used(&p->in) > 0) {
			/* A last line without its newline. */
			sse_line(p, buf_head(&p->in), buf_used(&p->in));
			sse_line(p, "", 0);
		}
		if (c->gen != r->gen) {
			post_free(p);
			return;
		}
		if (!p->is_init && p->id && p->answered)
			r->reinits = 0;
		if (p->id && p->answered)
			r->refreshes = 0;
		if (p->id && !p->answered) {
			why = xstrdup(p->status == 202 ? "the server accepted "
			    "a request without answering it (HTTP 202)" :
			    "the server ended its answer without a response");
			goto failed;
		}
		if (p->is_init && p->internal)
			release_held(r);
		else if (p->is_init && r->get_state == 0) {
			/* After initialized, when the session exists. */
		}
		post_free(p);
		return;
	}
	why = http_why(p, rc);
failed:
	if (p->is_init) {
		/* Without a session there is no server: this generation
		   failed, the broker's restart policy decides what next. */
		if (p->internal) {
			char *w = xasprintf("its session expired and a new one "
			    "could not be started: %s", why);

			post_free(p);
			free(why);
			end_generation(r, w);
			free(w);
			return;
		}
		fail_request(r, p->id, why);
		post_free(p);
		free(why);
		return;
	}
	if (p->id)
		fail_request(r, p->id, why);
	else
		logmsg("[%s] a message was not delivered: %s", alias(r), why);
	post_free(p);
	free(why);
}

void
remote_start(struct child *c)
{
	struct remote *r = c->remote;

	if (r == NULL) {
		r = c->remote = xcalloc(1, sizeof(*r));
		r->c = c;
		buf_init(&r->held, c->b->cf->max_message * 2 + 4096);
		ev_timer_init(&r->get_timer, get_timer_cb, 1, 0);
		r->get_timer.data = r;
		ev_timer_init(&r->stop_timer, stop_cb, 0, 0);
		r->stop_timer.data = r;
		ev_timer_init(&r->sweep_timer, sweep_cb, 0, 0);
		r->sweep_timer.data = r;
		buf_init(&r->q, c->b->cf->max_message * 2 + 4096);
	}
	r->gen = c->gen;
	r->ended = 0;
	r->reinits = 0;
	r->get_fails = 0;
	r->get_state = 0;
	free(r->session);
	r->session = NULL;
	free(r->proto);
	r->proto = NULL;
	r->legacy = c->conf->legacy_sse;
	r->refreshes = 0;
	r->told_login = 0;
	load_tokens(r);
	if (r->tok && oauth_tokens_expired(r->tok, time(NULL)))
		(void)begin_refresh(r);
	if (r->legacy) {
		/* Messages wait in r->held for the endpoint. */
		r->get_state = 2;
		if (!r->refreshing)
			open_stream(r);
	}
}

/* The legacy transport's event stream. */
static void
open_stream(struct remote *r)
{
	struct post *p = post_new(r, P_STREAM, NULL, 0);

	if (start(p) < 0) {
		post_unlink(p);
		post_free(p);
		free(r->fail_why);
		r->fail_why = xstrdup("cannot start an HTTP request");
		remote_stop(r->c);
	}
}

int
remote_send(struct child *c, const char *msg, size_t len)
{
	struct remote *r = c->remote;

	if (r == NULL || r->ended)
		return -1;
	if (holding(r))
		return hold(r, msg, len);
	if (submit(r, msg, len, 0) < 0)
		return -1;
	if (len < 512 && memmem(msg, len, "notifications/cancelled", 23))
		drop_cancelled(r, msg, len);
	/* The session exists once notifications/initialized goes out:
	   then the server may talk on a stream of its own. */
	if (r->get_state == 0 && r->session && len < 128 &&
	    memmem(msg, len, "notifications/initialized", 25))
		open_get(r);
	return 0;
}

/* A request the broker cancelled (the host's notifications/cancelled,
   or its timeout) still has its answer stream open; the cancellation
   went to the server as its own POST, and the stream is closed here,
   outside libcurl's callbacks. */
static void
sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct remote *r = w->data;
	struct post **pp, *p;

	(void)loop;
	(void)revents;
	for (pp = &r->posts; (p = *pp) != NULL;) {
		if (p->dropped) {
			*pp = p->next;
			post_free(p);
			continue;
		}
		if (p->held && !r->c->b->paused) {
			*pp = p->next;
			finish(p, p->held_rc);
			pump(r);
			pp = &r->posts;
			continue;
		}
		if (p->paused && !r->c->b->paused && p->e) {
			p->paused = 0;
			curlev_unpause(r->c->b->curlev, p->e);
			/* The list may have changed under us. */
			pp = &r->posts;
			continue;
		}
		pp = &p->next;
	}
	pump(r);
}

void
remote_resume(struct child *c)
{
	struct remote *r = c->remote;

	if (r == NULL)
		return;
	/* Not from here: this may run inside a libcurl callback. */
	ev_timer_set(&r->sweep_timer, 0, 0);
	ev_timer_start(c->b->loop, &r->sweep_timer);
}

static void
drop_cancelled(struct remote *r, const char *msg, size_t len)
{
	struct jspan v, params, rid;
	struct jmsg m;
	struct post *p;
	const char *why;

	if (json_check(msg, len, 64, &v, &why) < 0)
		return;
	jsonrpc_classify(msg, v, &m);
	if (m.kind != MSG_NOTIFICATION ||
	    !json_streq(msg, m.method, "notifications/cancelled") ||
	    (params = m.params).len == 0 ||
	    json_member(msg, params, "requestId", &rid) != 1)
		return;
	for (p = r->posts; p; p = p->next)
		if (p->id && strlen(p->id) == rid.len &&
		    memcmp(p->id, msg + rid.off, rid.len) == 0 &&
		    !p->is_init) {
			p->dropped = 1;
			ev_timer_set(&r->sweep_timer, 0, 0);
			ev_timer_start(r->c->b->loop, &r->sweep_timer);
		}
}

/* Stopping may be asked from inside a libcurl callback (a message a
   server sent made the broker stop it), where transfers must not be
   removed: the work is done on the next loop turn. */
static void
stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct remote *r = w->data;
	struct post *p;

	(void)loop;
	(void)revents;
	ev_timer_stop(r->c->b->loop, &r->get_timer);
	while ((p = r->posts) != NULL) {
		r->posts = p->next;
		post_free(p);
	}
	if (r->session) {
		/* Tell the server; the generation ends when it answered or
		   t_shutdown passed. */
		p = post_new(r, P_DELETE, NULL, 0);
		if (start(p) == 0)
			return;
		post_unlink(p);
		post_free(p);
	}
	end_generation(r, NULL);
}

void
remote_stop(struct child *c)
{
	struct remote *r = c->remote;

	if (r == NULL || r->ended)
		return;
	r->ended = 1;
	ev_timer_set(&r->stop_timer, 0, 0);
	ev_timer_start(c->b->loop, &r->stop_timer);
}

void
remote_free(struct child *c)
{
	struct remote *r = c->remote;
	struct post *p;

	if (r == NULL)
		return;
	while ((p = r->posts) != NULL) {
		r->posts = p->next;
		post_free(p);
	}
	ev_timer_stop(c->b->loop, &r->get_timer);
	ev_timer_stop(c->b->loop, &r->stop_timer);
	ev_timer_stop(c->b->loop, &r->sweep_timer);
	auth_drop(r);
	oauth_tokens_free(r->tok);
	free(r->auth);
	buf_free(&r->held);
	buf_free(&r->q);
	free(r->session);
	free(r->proto);
	free(r->init);
	free(r->last_event);
	free(r->endpoint);
	free(r->fail_why);
	free(r);
	c->remote = NULL;
}
