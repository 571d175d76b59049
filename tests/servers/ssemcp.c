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
#include "tests/servers/httpsrv.h"

#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_CONNS	256
#define MAX_HEAD	(64 * 1024)
#define MAX_BODY	(8 * 1024 * 1024)
#define MAX_HDRS	64
#define PROTO		"2024-11-05"
#define GARBAGE		": keepalive\nevent: ping\ndata: {}\n\nretry: 1000\n"

/* ---- options ---- */

static const char *o_endpoint;
static int o_no_endpoint;
static unsigned long o_close_after;
static int o_garbage;
static int o_status;
static int o_json_get;

/* ---- state ---- */

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
	char	*method, *target, *path;
	const char *query;
	int	 minor, keepalive;
	struct hdr h[MAX_HDRS];
	int	 nh;
	size_t	 clen;
	const char *body;
};

const char srv_name[] = "ssemcp";

static int port;
static struct session *sessions;

static const char tools_json[] =
    "[" SRV_TOOL_ECHO "," SRV_TOOL_WHOAMI "," SRV_TOOL_ASK ","
    "{\"name\":\"bye\",\"description\":\"Answer, then close the "
    "stream\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}}]";


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
	if (!c->dead)
		buf_chunk(&c->out, c->chunked, d, n);
}

static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (!c->dead && c->out.off < c->out.len) {
		n = srv_send(c->fd, c->out.p + c->out.off,
		    c->out.len - c->out.off);
		if (n == SRV_AGAIN)
			return;
		if (n < 0) {
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
	int closing = r == NULL || !r->keepalive;

	head_start(&b, code, reason(code));
	if (n > 0)
		buf_addf(&b, "Content-Type: %s\r\n", ctype);
	buf_addf(&b, "Content-Length: %zu\r\n", n);
	if (extra != NULL)
		buf_addf(&b, "%s", extra);
	if (closing)
		c->closing = 1;
	head_end(&b, closing, closing ? 1 : r->minor);
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
	struct ask *a = xcalloc(1, sizeof(*a));

	snprintf(a->sid, sizeof(a->sid), "s%lu", ++s->nask);
	a->call_id = cJSON_Duplicate(id, 1);
	a->next = s->asks;
	s->asks = a;
	return sse_send(s, sampling_request(cJSON_CreateString(a->sid),
	    prompt ? prompt : "say something"));
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
			if (strcasecmp(r->h[i].name, "authorization") == 0)
				v = r->h[i].value;
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
	return hdr_find(r->h, r->nh, name);
}

static void
log_request(const struct req *r)
{
	if (logfp == NULL)
		return;
	fprintf(logfp, "%s %s", r->method, r->target);
	log_value("auth", hdr(r, "authorization"));
	log_value("accept", hdr(r, "accept"));
	log_body(r->body, r->clen);
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
	struct session *s;
	struct buf b = { 0 };
	char t[64];

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
	s = xcalloc(1, sizeof(*s));
	rand_hex(s->id, 16);
	s->stream = c;
	s->next = sessions;
	sessions = s;
	c->sess = s;
	c->chunked = r->minor >= 1;
	head_start(&b, 200, reason(200));
	buf_addf(&b, "Content-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n%s\r\n", c->chunked ? "Transfer-Encoding: chunked\r\n" :
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
	char *p = c->in.p, *end, *nl, *v, *ver, *sp;
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
			if ((r->minor = http_minor(ver)) < 0)
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
		r->h[r->nh].name = p;
		r->h[r->nh++].value = hdr_trim(v);
	}
	if (r->method == NULL)
		return 400;
	/* the path, without the query */
	split_target(r->target, &r->path, &r->query);
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

struct conn **
conn_link(struct conn *c)
{
	return &c->next;
}

int
conn_is_dead(const struct conn *c)
{
	return c->dead;
}

void
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

void
conn_read(struct conn *c)
{
	char tmp[16384];
	ssize_t n;

	for (;;) {
		n = srv_recv(c->fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (n != SRV_AGAIN)
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
	int fd;

	while (nconns < MAX_CONNS && (fd = srv_accept()) >= 0) {
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		srv_add(c);
	}
}

/* ---- main ---- */

/* A flag with a value; line breaks are refused before anything else. */
static int
flag(const char *f, const char *v)
{
	if (strpbrk(v, "\r\n") != NULL)
		die("%s: no line breaks allowed", f);
	if (strcmp(f, "--endpoint") == 0)
		o_endpoint = v;
	else if (strcmp(f, "--close-after") == 0)
		o_close_after = (unsigned long)num_arg(f, v, ULONG_MAX);
	else if (strcmp(f, "--status") == 0) {
		o_status = (int)num_arg(f, v, 599);
		if (o_status < 200 || o_status == 204 || o_status == 304)
			die("--status: 200..599, not 204 or 304");
	} else
		return 0;
	return 1;
}

static void
parse_args(int argc, char **argv)
{
	static const struct srv_switch switches[] = {
		{ "--no-endpoint", &o_no_endpoint },
		{ "--garbage", &o_garbage },
		{ "--json-get", &o_json_get },
		{ NULL, NULL }
	};

	srv_args(argc, argv, switches, flag, "\n"
	    "    [--endpoint STR | --no-endpoint] [--close-after N] "
	    "[--garbage]\n"
	    "    [--status CODE | --json-get]\n");
}

int
main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_CONNS + 2];
	static struct conn *pc[MAX_CONNS + 2];
	struct conn *c;
	int n, nfixed, i, stop = 0;
	short re;

	parse_args(argc, argv);
	port = srv_start(64);

	while (!stop) {
		n = nfixed = srv_pollfds(pfd, nconns < MAX_CONNS);
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
		stop = srv_polled(pfd, nfixed, accept_conns);
		for (i = nfixed; i < n; i++) {
			c = pc[i];
			re = pfd[i].revents;
			if (!srv_event(c, re))
				continue;
			if (!c->dead && (re & POLLHUP) && c->rd_eof &&
			    !(pfd[i].events & POLLIN))
				conn_close(c);
		}
		for (c = conns; c != NULL; c = c->next) {
			conn_process(c);
			if (!c->dead)
				conn_flush(c);
		}
		srv_reap();
	}
	srv_close_all();	/* ends every session */
	srv_stop();
	return 0;
}
