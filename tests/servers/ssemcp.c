/*
 * ssemcp — a fake MCP server on the legacy HTTP+SSE transport (spec
 * 2024-11-05), for the tests of corral's SSE client transport and its
 * fault handling.
 *
 * GET /sse opens a session's event stream, whose first event names the
 * endpoint to POST messages to; every response and server-initiated
 * message of the session goes on that stream.  One thread, poll(2);
 * listens on 127.0.0.1 only.  The flags are described in
 * tests/servers/ssemcp.md.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define MAX_CONNS	256
#define MAX_HEAD	(64 * 1024)
#define MAX_BODY	(8 * 1024 * 1024)
#define MAX_HDRS	64
#define LOG_BODY	200
#define PROTO		"2024-11-05"
#define GARBAGE		": keepalive\nevent: ping\ndata: {}\n\nretry: 1000\n"

/* ---- options ---- */

static unsigned long o_port;
static const char *o_port_file;
static const char *o_log;
static const char *o_endpoint;
static int o_no_endpoint;
static unsigned long o_close_after;
static int o_garbage;
static int o_status;
static int o_json_get;

/* ---- state ---- */

struct buf {
	char	*p;
	size_t	 len, cap, off;
};

/* A tools/call of `ask` waiting for the client's sampling response. */
struct ask {
	struct ask	*next;
	char		 sid[24];	/* "s1", "s2", .. */
	cJSON		*call_id;
};

struct conn;

struct session {
	struct session	*next;
	char		 id[33];
	struct conn	*stream;
	unsigned long	 nmsg;		/* message events written */
	unsigned long	 nask;
	struct ask	*asks;
};

struct conn {
	struct conn	*next;
	int		 fd, dead;
	int		 closing;	/* close once the output is sent */
	int		 rd_eof;	/* the client sent all it will */
	int		 chunked;	/* the stream's body is chunked */
	struct buf	 in, out;
	struct session	*sess;		/* this connection is its stream */
};

struct req {
	char	*head;			/* split in place */
	char	*method, *target, *path, *query;
	int	 minor, keepalive;
	char	*hn[MAX_HDRS], *hv[MAX_HDRS];
	int	 nh;
	size_t	 clen;
	const char *body;
};

static int lfd = -1;
static int sigfd[2] = { -1, -1 };
static int port;
static FILE *logfp;
static struct conn *conns;
static int nconns;
static struct session *sessions;

static const char tools_json[] =
    "[{\"name\":\"echo\",\"description\":\"Echo the text back\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":"
    "{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}},"
    "{\"name\":\"whoami\",\"description\":\"The Authorization header "
    "seen\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"ask\",\"description\":\"Ask the client to sample, "
    "answer with its text\",\"inputSchema\":{\"type\":\"object\","
    "\"properties\":{\"prompt\":{\"type\":\"string\"}}}},"
    "{\"name\":\"bye\",\"description\":\"Answer, then close the "
    "stream\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}}]";

static void conn_close(struct conn *);

/* ---- utilities ---- */

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("ssemcp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static void *
xcalloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void
buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
buf_addf(struct buf *b, const char *fmt, ...)
{
	char small[256], *big;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	if ((size_t)n < sizeof(small)) {
		buf_add(b, small, (size_t)n);
		return;
	}
	big = xrealloc(NULL, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add(b, big, (size_t)n);
	free(big);
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static const char *
jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- output ---- */

static void
out(struct conn *c, const void *d, size_t n)
{
	if (!c->dead)
		buf_add(&c->out, d, n);
}

/* Body bytes of the SSE stream: one chunk each when chunked. */
static void
stream_out(struct conn *c, const char *d, size_t n)
{
	char h[32];

	if (n == 0)
		return;
	if (c->chunked) {
		snprintf(h, sizeof(h), "%zx\r\n", n);
		out(c, h, strlen(h));
		out(c, d, n);
		out(c, "\r\n", 2);
	} else
		out(c, d, n);
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (!c->dead && c->out.off < c->out.len) {
		n = send(c->fd, c->out.p + c->out.off,
		    c->out.len - c->out.off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_close(c);	/* the client hung up */
			return;
		}
		c->out.off += (size_t)n;
	}
	if (c->dead)
		return;
	c->out.len = c->out.off = 0;
	if (c->closing) {
		shutdown(c->fd, SHUT_WR);
		conn_close(c);
	}
}

static const char *
reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* A whole response with a Content-Length body; r NULL closes after it. */
static void
resp(struct conn *c, const struct req *r, int code, const char *ctype,
    const char *body, const char *extra)
{
	struct buf b = { 0 };
	size_t n = strlen(body);

	buf_addf(&b, "HTTP/1.1 %d %s\r\nServer: ssemcp\r\n", code,
	    reason(code));
	if (n > 0)
		buf_addf(&b, "Content-Type: %s\r\n", ctype);
	buf_addf(&b, "Content-Length: %zu\r\n", n);
	if (extra != NULL)
		buf_addf(&b, "%s", extra);
	if (r == NULL || !r->keepalive) {
		buf_addf(&b, "Connection: close\r\n");
		c->closing = 1;
	} else if (r->minor == 0)
		buf_addf(&b, "Connection: keep-alive\r\n");
	buf_add(&b, "\r\n", 2);
	buf_add(&b, body, n);
	out(c, b.p, b.len);
	buf_free(&b);
}

static void
resp_text(struct conn *c, const struct req *r, int code, const char *text)
{
	char body[256];

	snprintf(body, sizeof(body), "%s\n", text);
	resp(c, r, code, "text/plain; charset=utf-8", body, NULL);
}

/* ---- sessions ---- */

static struct session *
session_find(const char *id)
{
	struct session *s;

	for (s = sessions; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

/*
 * Ends a session.  by_us: end its stream cleanly (terminating chunk,
 * then close); otherwise the stream connection is already going away.
 */
static void
session_end(struct session *s, int by_us)
{
	struct session **pp;
	struct ask *a;
	struct conn *c = s->stream;

	if (c != NULL) {
		c->sess = NULL;
		if (by_us) {
			if (c->chunked)
				out(c, "0\r\n\r\n", 5);
			c->closing = 1;
		}
	}
	while ((a = s->asks) != NULL) {
		s->asks = a->next;
		cJSON_Delete(a->call_id);
		free(a);
	}
	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s);
}

/*
 * Writes one JSON-RPC message on the session's stream and frees it.
 * Returns -1 if that ended the session (--close-after), else 0.
 */
static int
sse_send(struct session *s, cJSON *msg)
{
	char *j = cJSON_PrintUnformatted(msg);
	struct buf b = { 0 };

	cJSON_Delete(msg);
	if (j == NULL)
		die("out of memory");
	if (o_garbage)
		buf_addf(&b, "%s", GARBAGE);
	buf_addf(&b, "event: message\ndata: %s\n\n", j);
	free(j);
	stream_out(s->stream, b.p, b.len);
	buf_free(&b);
	s->nmsg++;
	if (o_close_after > 0 && s->nmsg == o_close_after) {
		session_end(s, 1);
		return -1;
	}
	return 0;
}

static cJSON *
rpc_result(const cJSON *id, cJSON *result)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddItemToObject(m, "id", cJSON_Duplicate(id, 1));
	cJSON_AddItemToObject(m, "result", result);
	return m;
}

static cJSON *
rpc_error(const cJSON *id, int code, const char *msg)
{
	cJSON *m = cJSON_CreateObject(), *e;

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddItemToObject(m, "id", cJSON_Duplicate(id, 1));
	e = cJSON_AddObjectToObject(m, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return m;
}

static cJSON *
text_result(const char *text, int is_error)
{
	cJSON *r = cJSON_CreateObject(), *content, *item;

	content = cJSON_AddArrayToObject(r, "content");
	item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "type", "text");
	cJSON_AddStringToObject(item, "text", text);
	cJSON_AddItemToArray(content, item);
	if (is_error)
		cJSON_AddTrueToObject(r, "isError");
	return r;
}

/* The text of a sampling result's content (an object, or an array). */
static const char *
sampled_text(const cJSON *result)
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(result,
	    "content"), *it;
	const char *type;

	if (cJSON_IsObject(content)) {
		type = jstr(content, "type");
		return type && strcmp(type, "text") == 0 ?
		    jstr(content, "text") : NULL;
	}
	cJSON_ArrayForEach(it, content) {
		type = jstr(it, "type");
		if (type && strcmp(type, "text") == 0 && jstr(it, "text"))
			return jstr(it, "text");
	}
	return NULL;
}

/* A response from the client: to one of our sampling requests? */
static int
client_response(struct session *s, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
	struct ask **pp, *a;
	const char *text;
	char emsg[512];
	cJSON *res;
	int rc;

	if (!cJSON_IsString(id))
		return 0;
	for (pp = &s->asks; (a = *pp) != NULL; pp = &a->next)
		if (strcmp(a->sid, id->valuestring) == 0)
			break;
	if (a == NULL)
		return 0;
	*pp = a->next;
	if (err != NULL) {
		text = jstr(err, "message");
		snprintf(emsg, sizeof(emsg), "sampling failed: %s",
		    text ? text : "?");
		res = text_result(emsg, 1);
	} else if ((text = sampled_text(cJSON_GetObjectItemCaseSensitive(msg,
	    "result"))) != NULL)
		res = text_result(text, 0);
	else
		res = text_result("sampling gave no text", 1);
	rc = sse_send(s, rpc_result(a->call_id, res));
	cJSON_Delete(a->call_id);
	free(a);
	return rc;
}

static int
tool_ask(struct session *s, const cJSON *id, const cJSON *args)
{
	const char *prompt = jstr(args, "prompt");
	struct ask *a = xcalloc(sizeof(*a));
	cJSON *m, *p, *msgs, *um, *ct;

	snprintf(a->sid, sizeof(a->sid), "s%lu", ++s->nask);
	a->call_id = cJSON_Duplicate(id, 1);
	a->next = s->asks;
	s->asks = a;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddStringToObject(m, "id", a->sid);
	cJSON_AddStringToObject(m, "method", "sampling/createMessage");
	p = cJSON_AddObjectToObject(m, "params");
	msgs = cJSON_AddArrayToObject(p, "messages");
	um = cJSON_CreateObject();
	cJSON_AddStringToObject(um, "role", "user");
	ct = cJSON_AddObjectToObject(um, "content");
	cJSON_AddStringToObject(ct, "type", "text");
	cJSON_AddStringToObject(ct, "text", prompt ? prompt : "say something");
	cJSON_AddItemToArray(msgs, um);
	cJSON_AddNumberToObject(p, "maxTokens", 100);
	return sse_send(s, m);
}

static int
tools_call(struct session *s, const struct req *r, const cJSON *id,
    const cJSON *params)
{
	const char *name = jstr(params, "name"), *v;
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params,
	    "arguments");
	struct buf b = { 0 };
	cJSON *res;
	int i;

	if (name == NULL)
		return sse_send(s, rpc_error(id, -32602, "tool name needed"));
	if (strcmp(name, "echo") == 0) {
		if ((v = jstr(args, "text")) == NULL)
			return sse_send(s, rpc_error(id, -32602,
			    "echo: text needed"));
		buf_addf(&b, "echo: %s", v);
		res = text_result(b.p, 0);
		buf_free(&b);
		return sse_send(s, rpc_result(id, res));
	}
	if (strcmp(name, "whoami") == 0) {
		v = NULL;
		for (i = 0; i < r->nh; i++)
			if (strcasecmp(r->hn[i], "authorization") == 0)
				v = r->hv[i];
		return sse_send(s, rpc_result(id, text_result(v ? v : "none",
		    0)));
	}
	if (strcmp(name, "ask") == 0)
		return tool_ask(s, id, args);
	if (strcmp(name, "bye") == 0) {
		if (sse_send(s, rpc_result(id, text_result("bye", 0))) < 0)
			return -1;
		session_end(s, 1);
		return -1;
	}
	return sse_send(s, rpc_error(id, -32602, "unknown tool"));
}

/* Cancels a waiting `ask` call: it will not be answered. */
static void
cancelled(struct session *s, const cJSON *params)
{
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(params,
	    "requestId");
	struct ask **pp, *a;

	for (pp = &s->asks; (a = *pp) != NULL; pp = &a->next)
		if (cJSON_Compare(a->call_id, rid, 1)) {
			*pp = a->next;
			cJSON_Delete(a->call_id);
			free(a);
			return;
		}
}

/* One message POSTed to a session; -1 if the session ended. */
static int
handle_msg(struct session *s, const struct req *r, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	const char *method = jstr(msg, "method");
	cJSON *res;

	if (method == NULL)
		return client_response(s, msg);
	if (id == NULL) {
		if (strcmp(method, "notifications/cancelled") == 0)
			cancelled(s, params);
		return 0;
	}
	if (strcmp(method, "initialize") == 0) {
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "protocolVersion", PROTO);
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(res,
		    "capabilities"), "tools");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(res,
		    "serverInfo"), "name", "ssemcp");
		cJSON_AddStringToObject(cJSON_GetObjectItem(res,
		    "serverInfo"), "version", "1");
		return sse_send(s, rpc_result(id, res));
	}
	if (strcmp(method, "ping") == 0)
		return sse_send(s, rpc_result(id, cJSON_CreateObject()));
	if (strcmp(method, "tools/list") == 0) {
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "tools", cJSON_Parse(tools_json));
		return sse_send(s, rpc_result(id, res));
	}
	if (strcmp(method, "tools/call") == 0)
		return tools_call(s, r, id, params);
	return sse_send(s, rpc_error(id, -32601, "method not found"));
}

/* ---- requests ---- */

static const char *
hdr(const struct req *r, const char *name)
{
	int i;

	for (i = 0; i < r->nh; i++)
		if (strcasecmp(r->hn[i], name) == 0)
			return r->hv[i];
	return NULL;
}

static void
log_request(const struct req *r)
{
	const char *auth = hdr(r, "authorization"), *acc = hdr(r, "accept");
	size_t i, n;

	if (logfp == NULL)
		return;
	fprintf(logfp, "%s %s auth=%.512s accept=%.512s body=", r->method,
	    r->target, auth ? auth : "-", acc ? acc : "-");
	if (r->clen == 0)
		fputc('-', logfp);
	n = r->clen < LOG_BODY ? r->clen : LOG_BODY;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)r->body[i];

		fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, logfp);
	}
	fputc('\n', logfp);
	fflush(logfp);
}

/*
 * The value of key in a query string (not decoded, cut to size - 1
 * bytes), or NULL.
 */
static char *
query_get(const char *q, const char *key, char *outv, size_t size)
{
	size_t kl = strlen(key), n;
	const char *e;

	for (; q != NULL && *q != '\0'; q = *e ? e + 1 : e) {
		e = q + strcspn(q, "&");
		if ((size_t)(e - q) > kl && strncmp(q, key, kl) == 0 &&
		    q[kl] == '=') {
			n = (size_t)(e - q) - kl - 1;
			if (n >= size)
				n = size - 1;
			memcpy(outv, q + kl + 1, n);
			outv[n] = '\0';
			return outv;
		}
	}
	return NULL;
}

/* The endpoint event's data: --endpoint with {id} and {port} put in. */
static void
endpoint_data(struct buf *b, const struct session *s)
{
	const char *p;

	if (o_endpoint == NULL) {
		buf_addf(b, "/messages?sessionId=%s", s->id);
		return;
	}
	for (p = o_endpoint; *p != '\0'; p++) {
		if (strncmp(p, "{id}", 4) == 0) {
			buf_addf(b, "%s", s->id);
			p += 3;
		} else if (strncmp(p, "{port}", 6) == 0) {
			buf_addf(b, "%d", port);
			p += 5;
		} else
			buf_add(b, p, 1);
	}
}

static void
get_sse(struct conn *c, const struct req *r)
{
	const char *acc = hdr(r, "accept");
	unsigned char rnd[16];
	struct session *s;
	struct buf b = { 0 };
	char t[64];
	int i;

	if (o_status != 0) {
		snprintf(t, sizeof(t), "ssemcp: status %d", o_status);
		resp_text(c, r, o_status, t);
		return;
	}
	if (o_json_get) {
		resp(c, r, 200, "application/json", "{}", NULL);
		return;
	}
	if (acc == NULL || strcasestr(acc, "text/event-stream") == NULL) {
		resp_text(c, r, 406, "Accept must list text/event-stream");
		return;
	}
	s = xcalloc(sizeof(*s));
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		die("getrandom failed");
	for (i = 0; i < 16; i++)
		snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
	s->stream = c;
	s->next = sessions;
	sessions = s;
	c->sess = s;
	c->chunked = r->minor >= 1;
	buf_addf(&b, "HTTP/1.1 200 OK\r\nServer: ssemcp\r\n"
	    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n%s"
	    "\r\n", c->chunked ? "Transfer-Encoding: chunked\r\n" :
	    "Connection: close\r\n");
	out(c, b.p, b.len);
	buf_free(&b);
	if (o_no_endpoint)
		return;
	buf_addf(&b, "event: endpoint\ndata: ");
	endpoint_data(&b, s);
	buf_addf(&b, "\n\n");
	stream_out(c, b.p, b.len);
	buf_free(&b);
}

static void
post_messages(struct conn *c, const struct req *r)
{
	char sid[64];
	struct session *s;
	cJSON *j, *it;
	int bad = 0;

	if (query_get(r->query, "sessionId", sid, sizeof(sid)) == NULL) {
		resp_text(c, r, 400, "sessionId needed");
		return;
	}
	if ((s = session_find(sid)) == NULL) {
		resp_text(c, r, 404, "unknown session");
		return;
	}
	j = cJSON_ParseWithLength(r->body, r->clen);
	if (cJSON_IsArray(j)) {
		bad = cJSON_GetArraySize(j) == 0;
		cJSON_ArrayForEach(it, j)
			bad |= !cJSON_IsObject(it);
	} else
		bad = !cJSON_IsObject(j);
	if (bad) {
		cJSON_Delete(j);
		resp_text(c, r, 400, "invalid JSON-RPC message");
		return;
	}
	resp(c, r, 202, "text/plain; charset=utf-8", "Accepted", NULL);
	if (cJSON_IsArray(j)) {
		cJSON_ArrayForEach(it, j)
			if (handle_msg(s, r, it) < 0)
				break;
	} else
		handle_msg(s, r, j);
	cJSON_Delete(j);
}

static void
dispatch(struct conn *c, const struct req *r)
{
	int is_get = strcmp(r->method, "GET") == 0;
	int is_post = strcmp(r->method, "POST") == 0;

	log_request(r);
	if (strcmp(r->path, "/sse") == 0) {
		if (is_get)
			get_sse(c, r);
		else
			resp(c, r, 405, "text/plain", "method not allowed\n",
			    "Allow: GET\r\n");
	} else if (strcmp(r->path, "/messages") == 0) {
		if (is_post)
			post_messages(c, r);
		else
			resp(c, r, 405, "text/plain", "method not allowed\n",
			    "Allow: POST\r\n");
	} else if (!is_get && !is_post)
		resp(c, r, 405, "text/plain", "method not allowed\n", NULL);
	else
		resp_text(c, r, 404, "not found");
}

/*
 * Splits the head at the start of the input.  Returns 0 if it is not
 * all there yet, 1 when parsed, or an HTTP status for a bad head.
 */
static int
parse_head(struct conn *c, struct req *r, size_t *headlen)
{
	char *p = c->in.p, *end, *nl, *v, *e, *ver, *sp;
	const char *cl;
	size_t lim = c->in.len;
	unsigned long long n;

	end = memmem(p, lim, "\r\n\r\n", 4);
	if (end != NULL)
		*headlen = (size_t)(end - p) + 4;
	else if ((end = memmem(p, lim, "\n\n", 2)) != NULL)
		*headlen = (size_t)(end - p) + 2;
	else
		return lim >= MAX_HEAD ? 431 : 0;
	if (*headlen > MAX_HEAD)
		return 431;
	if (memchr(p, '\0', *headlen) != NULL)
		return 400;
	r->head = xrealloc(NULL, *headlen + 1);
	memcpy(r->head, p, *headlen);
	r->head[*headlen] = '\0';
	for (p = r->head; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (r->method == NULL) {
			r->method = p;
			if ((sp = strchr(p, ' ')) == NULL || sp == p)
				return 400;
			*sp = '\0';
			r->target = sp + 1;
			if ((sp = strchr(r->target, ' ')) == NULL ||
			    r->target[0] != '/')
				return 400;
			*sp = '\0';
			ver = sp + 1;
			if (strcmp(ver, "HTTP/1.1") == 0)
				r->minor = 1;
			else if (strcmp(ver, "HTTP/1.0") == 0)
				r->minor = 0;
			else
				return strncmp(ver, "HTTP/", 5) == 0 ? 505 :
				    400;
			continue;
		}
		if (*p == '\0')
			break;
		if ((v = strchr(p, ':')) == NULL || v == p || *p == ' ' ||
		    *p == '\t')
			return 400;
		if (r->nh == MAX_HDRS)
			return 431;
		*v++ = '\0';
		v += strspn(v, " \t");
		e = v + strlen(v);
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		r->hn[r->nh] = p;
		r->hv[r->nh++] = v;
	}
	if (r->method == NULL)
		return 400;
	/* the path, without the query */
	r->query = strchr(r->target, '?');
	r->path = strndup(r->target, r->query ? (size_t)(r->query -
	    r->target) : strlen(r->target));
	if (r->path == NULL)
		die("out of memory");
	if (r->query != NULL)
		r->query++;
	if (hdr(r, "transfer-encoding") != NULL)
		return 411;
	if ((cl = hdr(r, "content-length")) != NULL) {
		if (*cl < '0' || *cl > '9')
			return 400;
		for (n = 0; *cl >= '0' && *cl <= '9'; cl++)
			if ((n = n * 10 + (unsigned)(*cl - '0')) > MAX_BODY)
				return 413;
		if (*cl != '\0')
			return 400;
		r->clen = (size_t)n;
	}
	cl = hdr(r, "connection");
	if (r->minor >= 1)
		r->keepalive = cl == NULL || strcasestr(cl, "close") == NULL;
	else
		r->keepalive = cl != NULL && strcasestr(cl, "keep-alive");
	return 1;
}

/* Handles the complete requests in the input. */
static void
conn_process(struct conn *c)
{
	struct req r;
	size_t headlen = 0, used;
	int rc;

	while (!c->dead && !c->closing && c->sess == NULL && c->in.len > 0) {
		memset(&r, 0, sizeof(r));
		rc = parse_head(c, &r, &headlen);
		if (rc == 1 && c->in.len - headlen < r.clen) {
			rc = 0;		/* the body is not all there */
		}
		if (rc == 0) {
			free(r.head);
			free(r.path);
			break;
		}
		if (rc != 1) {
			if (r.method != NULL && r.path != NULL)
				log_request(&r);
			resp_text(c, NULL, rc, reason(rc));
		} else {
			r.body = c->in.p + headlen;
			dispatch(c, &r);
		}
		free(r.head);
		free(r.path);
		if (rc != 1)
			break;
		used = headlen + r.clen;
		memmove(c->in.p, c->in.p + used, c->in.len - used);
		c->in.len -= used;
	}
	if (c->rd_eof && !c->dead && c->sess == NULL)
		c->closing = 1;	/* half-closed: answer, then close */
}

/* ---- connections ---- */

static void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	if (c->sess != NULL)
		session_end(c->sess, 0);	/* the client hung up */
	c->dead = 1;
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
}

static void
conn_read(struct conn *c)
{
	char tmp[16384];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		if (n == 0) {
			/* a stream ends now; else answer what came first */
			c->rd_eof = 1;
			if (c->sess != NULL)
				conn_close(c);
			return;
		}
		if (c->sess != NULL || c->closing)
			continue;	/* ignored */
		buf_add(&c->in, tmp, (size_t)n);
		if (c->in.len > MAX_HEAD + MAX_BODY + 4096)
			return;		/* processed before more is read */
	}
}

static void
accept_conns(void)
{
	struct conn *c;
	int fd, one = 1;

	while (nconns < MAX_CONNS) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(sizeof(*c));
		c->fd = fd;
		c->next = conns;
		conns = c;
		nconns++;
	}
}

static void
reap(void)
{
	struct conn **pp = &conns, *c;

	while ((c = *pp) != NULL) {
		if (c->dead) {
			*pp = c->next;
			free(c);
			nconns--;
		} else
			pp = &c->next;
	}
}

/* ---- main ---- */

static void
on_signal(int sig)
{
	char ch = (char)sig;
	int e = errno;
	ssize_t n = write(sigfd[1], &ch, 1);

	(void)n;
	errno = e;
}

static void __attribute__((noreturn))
usage(void)
{
	fputs("usage: ssemcp [--port N] [--port-file FILE] [--log FILE]\n"
	    "    [--endpoint STR | --no-endpoint] [--close-after N] "
	    "[--garbage]\n"
	    "    [--status CODE | --json-get]\n", stderr);
	exit(2);
}

static unsigned long
num_arg(const char *flag, const char *s, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9')
		die("%s: a number is needed", flag);
	v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		die("%s: bad number %s", flag, s);
	return v;
}

static void
parse_args(int argc, char **argv)
{
	const char *f, *v;
	int i;

	for (i = 1; i < argc; i++) {
		f = argv[i];
		v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(f, "--no-endpoint") == 0) {
			o_no_endpoint = 1;
			continue;
		}
		if (strcmp(f, "--garbage") == 0) {
			o_garbage = 1;
			continue;
		}
		if (strcmp(f, "--json-get") == 0) {
			o_json_get = 1;
			continue;
		}
		if (strncmp(f, "--", 2) != 0 || v == NULL ||
		    strcmp(f, "--help") == 0)
			usage();
		i++;
		if (strpbrk(v, "\r\n") != NULL)
			die("%s: no line breaks allowed", f);
		if (strcmp(f, "--port") == 0)
			o_port = num_arg(f, v, 65535);
		else if (strcmp(f, "--port-file") == 0)
			o_port_file = v;
		else if (strcmp(f, "--log") == 0)
			o_log = v;
		else if (strcmp(f, "--endpoint") == 0)
			o_endpoint = v;
		else if (strcmp(f, "--close-after") == 0)
			o_close_after = num_arg(f, v, ULONG_MAX);
		else if (strcmp(f, "--status") == 0) {
			o_status = (int)num_arg(f, v, 599);
			if (o_status < 200 || o_status == 204 ||
			    o_status == 304)
				die("--status: 200..599, not 204 or 304");
		} else
			usage();
	}
}

static void
write_port_file(void)
{
	char tmp[PATH_MAX];
	FILE *fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", o_port_file) >=
	    (int)sizeof(tmp))
		die("--port-file: name too long");
	if ((fp = fopen(tmp, "w")) == NULL)
		die("%s: %s", tmp, strerror(errno));
	fprintf(fp, "%d\n", port);
	if (fclose(fp) != 0 || rename(tmp, o_port_file) != 0)
		die("%s: %s", o_port_file, strerror(errno));
}

static void
listen_on(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)o_port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("bind 127.0.0.1:%lu: %s", o_port, strerror(errno));
	if (listen(lfd, 64) != 0)
		die("listen: %s", strerror(errno));
	if (getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
		die("getsockname: %s", strerror(errno));
	port = ntohs(sa.sin_port);
}

int
main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_CONNS + 2];
	static struct conn *pc[MAX_CONNS + 2];
	struct sigaction sa;
	struct conn *c;
	int n, i, stop = 0;
	short re;

	parse_args(argc, argv);
	if (pipe2(sigfd, O_NONBLOCK | O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	listen_on();
	if (o_log != NULL && (logfp = fopen(o_log, "a")) == NULL)
		die("%s: %s", o_log, strerror(errno));
	if (o_port_file != NULL)
		write_port_file();
	fprintf(stderr, "ssemcp: listening on 127.0.0.1:%d\n", port);

	while (!stop) {
		n = 0;
		pfd[n].fd = sigfd[0];
		pfd[n].events = POLLIN;
		pc[n++] = NULL;
		if (nconns < MAX_CONNS) {
			pfd[n].fd = lfd;
			pfd[n].events = POLLIN;
			pc[n++] = NULL;
		}
		for (c = conns; c != NULL; c = c->next) {
			pfd[n].fd = c->fd;
			pfd[n].events = c->rd_eof ? 0 : POLLIN;
			if (c->out.off < c->out.len)
				pfd[n].events |= POLLOUT;
			pc[n++] = c;
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd[0].revents != 0)
			stop = 1;
		for (i = 1; i < n; i++) {
			re = pfd[i].revents;
			if (re == 0)
				continue;
			if ((c = pc[i]) == NULL) {
				accept_conns();
				continue;
			}
			if (c->dead)
				continue;
			if (re & POLLERR) {
				conn_close(c);
				continue;
			}
			if (re & (POLLIN | POLLHUP))
				conn_read(c);
			if (!c->dead && (re & POLLHUP) && c->rd_eof &&
			    !(pfd[i].events & POLLIN))
				conn_close(c);
		}
		for (c = conns; c != NULL; c = c->next) {
			conn_process(c);
			if (!c->dead)
				conn_flush(c);
		}
		reap();
	}
	for (c = conns; c != NULL; c = c->next)
		conn_close(c);	/* ends every session */
	reap();
	if (logfp != NULL)
		fclose(logfp);
	close(lfd);
	close(sigfd[0]);
	close(sigfd[1]);
	return 0;
}
