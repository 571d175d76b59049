/*
 * httpmcp — a fake MCP server on the Streamable HTTP transport, with an
 * optional fake OAuth 2.1 authorization server, for the tests of
 * corral's HTTP client transport and its fault handling.
 *
 * One thread, poll(2) and timers; listens on 127.0.0.1 only.  Every
 * SSE body is chunked (close-delimited for HTTP/1.0 clients).  The
 * flags are described in tests/servers/httpmcp.md.
 */
#include "tests/servers/httpsrv.h"

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#define MAX_CONNS	512
#define MAX_HEAD	(64 * 1024)
#define MAX_BODY	(8 * 1024 * 1024)
#define IN_CAP		(MAX_HEAD + MAX_BODY + 4096)
#define MAX_HDRS	100
#define PAD_PIECE	(64 * 1024)
#define LINGER_MS	2000
#define PAD_MARK	"@@httpmcp-pad@@"
#define JUNK		": keepalive\nfoo: bar\ndata: this is not json\n\n"
#define DEF_TOKEN	"httpmcp-token"
#define DEF_TOKEN2	"httpmcp-refreshed"

/* ---- options ---- */

static const char *o_path = "/mcp";
static int o_sse;
static long o_list_changed = -1;
static unsigned long o_cut_after;
static int o_cut_clean;
static unsigned long o_fail500;
static unsigned long o_expire_after;
static int o_garbage;
static long o_slow_sse;
static uint64_t o_oversize;
static const char *o_redirect;
static const char *o_token;
static const char *o_token2;
static unsigned long o_expire_token_after;
static const char *o_base_url;
static const char *o_metadata_url;
static int o_oauth;

/* ---- state ---- */

/* A message to send, maybe with a run of 'x' between pre and post. */
struct out {
	char	*pre;
	size_t	 prelen;
	uint64_t pad;
	char	*post;
	size_t	 postlen;
};

/* A piece of a connection's output: bytes, or 'x' padding made lazily. */
struct seg {
	struct seg	*next;
	char		*p;
	size_t		 len, off, cap;
	uint64_t	 pad;
	int		 ispad, chunked;
};

struct req {
	char		*head;		/* split in place */
	size_t		 headlen;	/* its length in the input */
	char		*method, *target, *path;
	const char	*query;
	int		 minor;
	struct hdr	 h[MAX_HDRS];
	int		 nh;
	size_t		 clen;
	int		 keepalive, expect;
	char		*body;
};

struct session {
	struct session	*next;
	char		 id[33];
	char		 proto[16];
	unsigned long	 posts;
	long		 next_req;
	int		 dead;
};

struct event {
	struct event	*next;
	unsigned	 n;
	struct out	 o;
};

enum { ST_POST, ST_GET };
enum { JOB_NONE, JOB_SLOW, JOB_ASK };

struct conn;

struct stream {
	struct stream	*next;
	char		 id[17];
	int		 kind;
	struct session	*sess;
	struct conn	*conn;
	struct stream	*via;		/* replayed on this GET */
	struct event	*head, *tail, *deliver;
	unsigned	 nev, delivered;
	int		 done, is_slow, was_cut;
	int64_t		 next_ok;
	unsigned long	 pace_timer, job_timer, lc_timer;
	int		 job;
	cJSON		*req_id;
	cJSON		*token;
	long		 steps, step, ms;
	long		 ask_id;
};

struct conn {
	struct conn	*next;
	int		 fd;
	int		 dead;
	char		*in;
	size_t		 inlen, incap;
	struct seg	*oq, *oq_tail;
	struct stream	*stream;	/* the body being streamed */
	struct req	*req;		/* a head waiting for its body */
	int		 chunked;
	int		 close_after, no_more, rd_eof, lingering;
	int		 sent_continue;
	unsigned long	 linger_timer;
};

struct client {
	struct client	*next;
	char		 id[48];
	cJSON		*redirect_uris;
};

struct code {
	struct code	*next;
	char		 code[33];
	char		*client_id, *redirect_uri, *challenge, *resource;
	int		 used;
};

struct timer {
	struct timer	*next;
	unsigned long	 id;
	int64_t		 at;
	void		(*fn)(void *);
	void		*arg;
};

const char srv_name[] = "httpmcp";

static char base[512];
static char resource_uri[1024];
static struct session *sessions;
static struct stream *streams;
static struct client *clients;
static unsigned long nclients;
static struct code *codes;
static struct timer *timers;
static unsigned long timer_seq;
static unsigned long posts_total;
static unsigned long token_uses;
static int accept_paused;

static const char *const versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26"
};

static const char tools_json[] =
    "[" SRV_TOOL_ECHO ","
    "{\"name\":\"slow\",\"description\":\"Report progress for steps "
    "of ms milliseconds, then answer\",\"inputSchema\":{\"type\":"
    "\"object\",\"properties\":{\"steps\":{\"type\":\"integer\"},"
    "\"ms\":{\"type\":\"integer\"}}}},"
    "{\"name\":\"big\",\"description\":\"Answer with that many x\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":"
    "{\"bytes\":{\"type\":\"integer\"}},\"required\":[\"bytes\"]}},"
    SRV_TOOL_ASK "," SRV_TOOL_WHOAMI "]";

static const char prompts_json[] =
    "[{\"name\":\"greet\",\"description\":\"A greeting\",\"arguments\":"
    "[{\"name\":\"name\",\"description\":\"Who to greet\","
    "\"required\":false}]}]";

static const char resources_json[] =
    "[{\"uri\":\"test://hello\",\"name\":\"hello\",\"description\":"
    "\"A greeting\",\"mimeType\":\"text/plain\"}]";

static const char caps_json[] =
    "{\"tools\":{\"listChanged\":true},\"prompts\":{},\"resources\":{},"
    "\"logging\":{}}";

static void stream_pump(struct stream *);

/* ---- utilities ---- */

static int
is_tchar(int ch)
{
	return isalnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch));
}

static int
id_equal(const cJSON *a, const cJSON *b)
{
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcmp(a->valuestring, b->valuestring) == 0;
	return 0;
}

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
		*out++ = tab[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
	}
	*out = '\0';
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Form decoding: '+' is a space; NULL on a bad escape or a NUL. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = hexval((unsigned char)s[i + 1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[i + 2]);
			if (lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static void
pct_encode(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("-._~", ch))
			buf_add(b, s, 1);
		else
			buf_addf(b, "%%%02X", ch);
	}
}

/*
 * Finds key in a form-encoded string: 1 with a decoded copy in *out,
 * 0 if absent, -1 if repeated or badly encoded.
 */
static int
form_get(const char *s, const char *key, char **out)
{
	const char *p = s, *amp, *eq;
	char *name, *v;
	int found = 0;

	*out = NULL;
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		name = pct_decode(p, (size_t)(eq - p));
		if (name != NULL && strcmp(name, key) == 0) {
			free(name);
			if (found) {
				free(*out);
				*out = NULL;
				return -1;
			}
			if (eq < amp)
				v = pct_decode(eq + 1, (size_t)(amp - eq - 1));
			else
				v = xstrdup("");
			if (v == NULL)
				return -1;
			*out = v;
			found = 1;
		} else
			free(name);
		p = *amp ? amp + 1 : amp;
	}
	return found;
}

static int
supported_version(const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(v, versions[i]) == 0)
			return 1;
	return 0;
}

/* ---- timers ---- */

static unsigned long
timer_add(int64_t ms, void (*fn)(void *), void *arg)
{
	struct timer *t = xcalloc(1, sizeof(*t));

	t->id = ++timer_seq;
	t->at = now_ms() + (ms > 0 ? ms : 0);
	t->fn = fn;
	t->arg = arg;
	t->next = timers;
	timers = t;
	return t->id;
}

static void
timer_cancel(unsigned long *id)
{
	struct timer **pp, *t;

	if (*id == 0)
		return;
	for (pp = &timers; (t = *pp) != NULL; pp = &t->next)
		if (t->id == *id) {
			*pp = t->next;
			free(t);
			break;
		}
	*id = 0;
}

static int
timer_wait(void)
{
	struct timer *t;
	int64_t first = INT64_MAX, d;

	for (t = timers; t != NULL; t = t->next)
		if (t->at < first)
			first = t->at;
	if (first == INT64_MAX)
		return -1;
	d = first - now_ms();
	if (d < 0)
		return 0;
	return d > INT_MAX ? INT_MAX : (int)d;
}

/* Runs the due timers; ones added meanwhile wait for the next round. */
static void
timers_run(void)
{
	unsigned long limit = timer_seq;
	int64_t now = now_ms();
	struct timer **pp, **best, *t;
	void (*fn)(void *);
	void *arg;

	for (;;) {
		best = NULL;
		for (pp = &timers; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->id <= limit && (*pp)->at <= now &&
			    (best == NULL || (*pp)->at < (*best)->at))
				best = pp;
		if (best == NULL)
			break;
		t = *best;
		*best = t->next;
		fn = t->fn;
		arg = t->arg;
		free(t);
		fn(arg);
	}
}

/* ---- output ---- */

static void
out_raw(struct conn *c, const void *d, size_t n)
{
	struct seg *s = c->oq_tail;

	if (n == 0 || c->dead)
		return;
	if (s == NULL || s->ispad) {
		s = xcalloc(1, sizeof(*s));
		if (c->oq_tail != NULL)
			c->oq_tail->next = s;
		else
			c->oq = s;
		c->oq_tail = s;
	}
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;

		while (cap < s->len + n)
			cap *= 2;
		s->p = xrealloc(s->p, cap);
		s->cap = cap;
	}
	memcpy(s->p + s->len, d, n);
	s->len += n;
}

/* Body bytes of the current response: chunk-framed when chunked. */
static void
out_body(struct conn *c, const void *d, size_t n)
{
	struct buf b = { 0 };

	buf_chunk(&b, c->chunked, d, n);
	out_raw(c, b.p, b.len);
	free(b.p);
}

static void
out_pad(struct conn *c, uint64_t n)
{
	struct seg *s;

	if (n == 0 || c->dead)
		return;
	s = xcalloc(1, sizeof(*s));
	s->ispad = 1;
	s->pad = n;
	s->chunked = c->chunked;
	if (c->oq_tail != NULL)
		c->oq_tail->next = s;
	else
		c->oq = s;
	c->oq_tail = s;
}

static void
seg_fill(struct seg *s)
{
	size_t piece = s->pad < PAD_PIECE ? (size_t)s->pad : PAD_PIECE;
	size_t off = 0;

	if (s->p == NULL) {
		s->cap = PAD_PIECE + 32;
		s->p = xmalloc(s->cap);
	}
	if (s->chunked)
		off = (size_t)snprintf(s->p, 32, "%zx\r\n", piece);
	memset(s->p + off, 'x', piece);
	off += piece;
	if (s->chunked) {
		memcpy(s->p + off, "\r\n", 2);
		off += 2;
	}
	s->len = off;
	s->off = 0;
	s->pad -= piece;
}

static void
conn_flush(struct conn *c)
{
	struct seg *s;
	ssize_t n;

	while (!c->dead && (s = c->oq) != NULL) {
		if (s->off == s->len) {
			if (s->ispad && s->pad > 0) {
				seg_fill(s);
				continue;
			}
			c->oq = s->next;
			if (c->oq == NULL)
				c->oq_tail = NULL;
			free(s->p);
			free(s);
			continue;
		}
		n = srv_send(c->fd, s->p + s->off, s->len - s->off);
		if (n == SRV_AGAIN)
			return;
		if (n < 0) {
			conn_close(c);	/* the client hung up */
			return;
		}
		s->off += (size_t)n;
	}
}

static void
out_make(struct out *o, cJSON *msg, uint64_t pad)
{
	char *s = cJSON_PrintUnformatted(msg), *mark = NULL, *p;

	cJSON_Delete(msg);
	if (s == NULL)
		die("out of memory");
	memset(o, 0, sizeof(*o));
	if (pad > 0)
		for (p = s; (p = strstr(p, PAD_MARK)) != NULL; p++)
			mark = p;
	if (mark == NULL) {
		o->pre = s;
		o->prelen = strlen(s);
		return;
	}
	o->post = xstrdup(mark + strlen(PAD_MARK));
	o->postlen = strlen(o->post);
	*mark = '\0';
	o->pre = s;
	o->prelen = (size_t)(mark - s);
	o->pad = pad;
}

static void
out_free(struct out *o)
{
	free(o->pre);
	free(o->post);
}

/* ---- HTTP requests and responses ---- */

static const char *
reason(int code)
{
	switch (code) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 302: return "Found";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char *
hdr(const struct req *r, const char *name)
{
	return hdr_find(r->h, r->nh, name);
}

/* Does a comma-separated header (every instance) list this token? */
static int
hdr_has(const struct req *r, const char *name, const char *tok)
{
	const char *p, *e, *end;
	size_t n = strlen(tok);
	int i;

	for (i = 0; i < r->nh; i++) {
		if (strcasecmp(r->h[i].name, name) != 0)
			continue;
		for (p = r->h[i].value; *p != '\0'; p = *end ? end + 1 : end) {
			p += strspn(p, " \t");
			end = p + strcspn(p, ",");
			e = p + strcspn(p, ",;");
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if ((size_t)(e - p) == n && strncasecmp(p, tok, n) == 0)
				return 1;
		}
	}
	return 0;
}

static int
ctype_is(const struct req *r, const char *type)
{
	const char *v = hdr(r, "content-type"), *e;
	size_t n = strlen(type);

	if (v == NULL)
		return 0;
	e = strchr(v, ';');
	if (e == NULL)
		e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return (size_t)(e - v) == n && strncasecmp(v, type, n) == 0;
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	free(r->head);
	free(r->path);
	free(r->body);
	free(r);
}

static void
log_request(const struct req *r)
{
	if (logfp == NULL || r->method == NULL)
		return;
	fprintf(logfp, "%s %s", r->method, r->target);
	log_value("session", hdr(r, "mcp-session-id"));
	log_value("proto", hdr(r, "mcp-protocol-version"));
	log_value("auth", hdr(r, "authorization"));
	log_value("accept", hdr(r, "accept"));
	log_value("last-event-id", hdr(r, "last-event-id"));
	log_body(r->body, r->clen);
}

/*
 * Parses the head at the start of the input.  Returns 0 if it is not
 * all there yet, 1 with *rp set, or an HTTP status for a bad head (*rp
 * is set then too if the head was complete).
 */
static int
parse_head(struct conn *c, struct req **rp)
{
	size_t skip = 0, i, lim, end = 0;
	struct req *r;
	char *p, *nl, *line, *sp, *ver, *v, *q;
	int first = 1;

	while (skip < c->inlen && (c->in[skip] == '\r' || c->in[skip] == '\n'))
		skip++;
	if (skip > 0) {
		memmove(c->in, c->in + skip, c->inlen - skip);
		c->inlen -= skip;
	}
	lim = c->inlen < MAX_HEAD ? c->inlen : MAX_HEAD;
	for (i = 0; i < lim && end == 0; i++) {
		if (c->in[i] != '\n')
			continue;
		if (i + 1 < c->inlen && c->in[i + 1] == '\n')
			end = i + 2;
		else if (i + 2 < c->inlen && c->in[i + 1] == '\r' &&
		    c->in[i + 2] == '\n')
			end = i + 3;
	}
	if (end == 0)
		return c->inlen >= MAX_HEAD ? 431 : 0;
	r = xcalloc(1, sizeof(*r));
	*rp = r;
	r->headlen = end;
	r->head = xstrndup(c->in, end);
	if (memchr(c->in, '\0', end) != NULL)
		return 400;
	for (p = r->head; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		line = p;
		if (strchr(line, '\r') != NULL)
			return 400;
		if (first) {
			first = 0;
			if ((sp = strchr(line, ' ')) == NULL)
				return 400;
			*sp = '\0';
			for (q = line; *q != '\0'; q++)
				if (!is_tchar((unsigned char)*q))
					return 400;
			if (*line == '\0')
				return 400;
			r->target = sp + 1;
			if ((sp = strchr(r->target, ' ')) == NULL)
				return 400;
			*sp = '\0';
			ver = sp + 1;
			for (q = r->target; *q != '\0'; q++)
				if ((unsigned char)*q <= 0x20 ||
				    (unsigned char)*q == 0x7f)
					return 400;
			r->method = line;
			if (r->target[0] != '/')
				return 400;
			if ((r->minor = http_minor(ver)) < 0)
				return strncmp(ver, "HTTP/", 5) == 0 &&
				    strchr(ver, ' ') == NULL ? 505 : 400;
			split_target(r->target, &r->path, &r->query);
			continue;
		}
		if (*line == '\0')
			break;
		if (*line == ' ' || *line == '\t')
			return 400;	/* obsolete line folding */
		if ((v = strchr(line, ':')) == NULL || v == line)
			return 400;
		for (q = line; q < v; q++)
			if (!is_tchar((unsigned char)*q))
				return 400;
		*v++ = '\0';
		v = hdr_trim(v);
		for (q = v; *q != '\0'; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') ||
			    (unsigned char)*q == 0x7f)
				return 400;
		if (r->nh == MAX_HDRS)
			return 431;
		r->h[r->nh].name = line;
		r->h[r->nh].value = v;
		r->nh++;
	}
	if (r->method == NULL)
		return 400;
	return 1;
}

/* Framing checks on a parsed head: 1 if fine, else an HTTP status. */
static int
check_head(struct req *r)
{
	const char *v = NULL, *q;
	unsigned long long n;
	int i;

	if (hdr(r, "transfer-encoding") != NULL)
		return 411;
	for (i = 0; i < r->nh; i++) {
		if (strcasecmp(r->h[i].name, "content-length") != 0)
			continue;
		if (v != NULL && strcmp(v, r->h[i].value) != 0)
			return 400;
		v = r->h[i].value;
	}
	if (v != NULL) {
		if (*v == '\0')
			return 400;
		n = 0;
		for (q = v; *q != '\0'; q++) {
			if (*q < '0' || *q > '9')
				return 400;
			if (n > MAX_BODY)
				return 413;
			n = n * 10 + (unsigned)(*q - '0');
		}
		if (n > MAX_BODY)
			return 413;
		r->clen = (size_t)n;
	}
	if (r->minor >= 1)
		r->keepalive = !hdr_has(r, "connection", "close");
	else
		r->keepalive = hdr_has(r, "connection", "keep-alive");
	if (r->minor >= 1 && (q = hdr(r, "expect")) != NULL &&
	    strcasecmp(q, "100-continue") == 0)
		r->expect = 1;
	return 1;
}

/* A response head; clen < 0 streams the body (chunked in HTTP/1.1). */
static void
resp_head(struct conn *c, const struct req *r, int code, const char *ctype,
    int64_t clen, const char *extra)
{
	struct buf b = { 0 };
	int closing = c->no_more || r == NULL || !r->keepalive;

	head_start(&b, code, reason(code));
	if (ctype != NULL)
		buf_addf(&b, "Content-Type: %s\r\n", ctype);
	c->chunked = 0;
	if (clen >= 0)
		buf_addf(&b, "Content-Length: %lld\r\n", (long long)clen);
	else if (r != NULL && r->minor >= 1) {
		buf_adds(&b, "Transfer-Encoding: chunked\r\n");
		c->chunked = 1;
	} else
		closing = 1;
	if (extra != NULL)
		buf_adds(&b, extra);
	if (closing) {
		c->close_after = 1;
		c->no_more = 1;
	}
	head_end(&b, closing, closing ? 1 : r->minor);
	out_raw(c, b.p, b.len);
	free(b.p);
}

static void
resp(struct conn *c, const struct req *r, int code, const char *ctype,
    const char *body, const char *extra)
{
	size_t n = body != NULL ? strlen(body) : 0;

	resp_head(c, r, code, n ? ctype : NULL, (int64_t)n, extra);
	out_raw(c, body, n);
}

static void
resp_json(struct conn *c, const struct req *r, int code, cJSON *j,
    const char *extra)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	if (s == NULL)
		die("out of memory");
	resp(c, r, code, "application/json", s, extra);
	free(s);
}

/* An HTTP error whose body is a JSON-RPC error. */
static void
http_rpc_error(struct conn *c, const struct req *r, int status,
    const cJSON *id, int code, const char *msg)
{
	resp_json(c, r, status, rpc_error(id, code, msg), NULL);
}

/* The body as one JSON value, nothing after it; NULL if it is not. */
static cJSON *
parse_body(const struct req *r)
{
	if (r->body == NULL || memchr(r->body, '\0', r->clen) != NULL)
		return NULL;
	return cJSON_ParseWithLengthOpts(r->body, r->clen + 1, NULL, 1);
}

static void
reply_out(struct conn *c, const struct req *r, const char *extra,
    struct out *o)
{
	resp_head(c, r, 200, "application/json",
	    (int64_t)(o->prelen + o->pad + o->postlen), extra);
	out_raw(c, o->pre, o->prelen);
	out_pad(c, o->pad);
	out_raw(c, o->post, o->postlen);
	out_free(o);
}

/* ---- streams ---- */

static void
stream_free(struct stream *st)
{
	struct stream **pp;
	struct event *ev, *next;

	for (pp = &streams; *pp != NULL; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	timer_cancel(&st->pace_timer);
	timer_cancel(&st->job_timer);
	timer_cancel(&st->lc_timer);
	if (st->conn != NULL && st->conn->stream == st)
		st->conn->stream = NULL;
	for (ev = st->head; ev != NULL; ev = next) {
		next = ev->next;
		out_free(&ev->o);
		free(ev);
	}
	cJSON_Delete(st->req_id);
	cJSON_Delete(st->token);
	free(st);
}

static struct stream *
stream_open(struct conn *c, const struct req *r, struct session *s,
    int kind, const char *extra)
{
	struct stream *st = xcalloc(1, sizeof(*st));
	struct buf b = { 0 };

	buf_adds(&b, "Cache-Control: no-cache\r\n");
	if (extra != NULL)
		buf_adds(&b, extra);
	resp_head(c, r, 200, "text/event-stream", -1, b.p);
	free(b.p);
	rand_hex(st->id, 8);
	st->kind = kind;
	st->sess = s;
	st->conn = c;
	c->stream = st;
	st->next = streams;
	streams = st;
	return st;
}

static void
stream_emit(struct stream *st, cJSON *msg, uint64_t pad)
{
	struct event *ev = xcalloc(1, sizeof(*ev));

	out_make(&ev->o, msg, pad);
	ev->n = ++st->nev;
	if (st->tail != NULL)
		st->tail->next = ev;
	else
		st->head = ev;
	st->tail = ev;
	if (st->deliver == NULL)
		st->deliver = ev;
}

static void
write_event(struct conn *c, const struct stream *st, const struct event *ev)
{
	struct buf b = { 0 };

	if (o_garbage)
		out_body(c, JUNK, strlen(JUNK));
	buf_addf(&b, "id: %s-%u\ndata: ", st->id, ev->n);
	buf_add(&b, ev->o.pre, ev->o.prelen);
	if (ev->o.pad > 0) {
		out_body(c, b.p, b.len);
		out_pad(c, ev->o.pad);
		b.len = 0;
	}
	buf_add(&b, ev->o.post, ev->o.postlen);
	buf_add(&b, "\n\n", 2);
	out_body(c, b.p, b.len);
	free(b.p);
}

/* Ends the HTTP body of a finished stream and frees the stream. */
static void
stream_end(struct stream *st)
{
	struct conn *c = st->conn;

	if (c != NULL && st->via == NULL) {
		c->stream = NULL;
		if (c->chunked)
			out_raw(c, "0\r\n\r\n", 5);
		else {
			c->close_after = 1;
			c->no_more = 1;
		}
		c->chunked = 0;
	}
	st->conn = NULL;
	stream_free(st);
}

/* --cut-after: drop the body of a slow call's stream mid-way. */
static void
stream_cut(struct stream *st)
{
	struct conn *c = st->conn;

	st->was_cut = 1;
	st->conn = NULL;
	c->stream = NULL;
	if (o_cut_clean && c->chunked)
		out_raw(c, "0\r\n\r\n", 5);
	else {
		c->close_after = 1;
		c->no_more = 1;
	}
	c->chunked = 0;
}

static void
pace_fire(void *arg)
{
	struct stream *st = arg;

	st->pace_timer = 0;
	stream_pump(st);
}

/* Writes what can be written now; may free the stream. */
static void
stream_pump(struct stream *st)
{
	struct event *ev;
	int64_t now;

	while (st->conn != NULL && st->deliver != NULL) {
		if (o_slow_sse > 0) {
			now = now_ms();
			if (now < st->next_ok) {
				if (st->pace_timer == 0)
					st->pace_timer = timer_add(
					    st->next_ok - now, pace_fire, st);
				return;
			}
			st->next_ok = now + o_slow_sse;
		}
		ev = st->deliver;
		st->deliver = ev->next;
		write_event(st->conn, st, ev);
		st->delivered++;
		if (st->is_slow && o_cut_after > 0 && !st->was_cut &&
		    st->via == NULL && st->delivered >= o_cut_after &&
		    !(st->done && st->deliver == NULL)) {
			stream_cut(st);
			return;
		}
	}
	if (st->conn != NULL && st->done && st->deliver == NULL)
		stream_end(st);
}

/* GET with Last-Event-ID: replay the rest of that stream on g. */
static void
stream_resume(struct stream *g, const char *lei)
{
	const char *dash = strrchr(lei, '-');
	struct stream *st;
	struct event *ev;
	unsigned long last;
	char *end;

	if (dash == NULL || dash == lei || dash[1] == '\0')
		return;
	errno = 0;
	last = strtoul(dash + 1, &end, 10);
	if (*end != '\0' || errno != 0)
		return;
	for (st = streams; st != NULL; st = st->next)
		if (st->kind == ST_POST && st->sess == g->sess &&
		    strlen(st->id) == (size_t)(dash - lei) &&
		    strncmp(st->id, lei, (size_t)(dash - lei)) == 0)
			break;
	if (st == NULL)
		return;
	if (st->conn != NULL) {
		if (st->via == NULL) {
			/* still on its own body: end that one */
			st->conn->stream = NULL;
			if (st->conn->chunked)
				out_raw(st->conn, "0\r\n\r\n", 5);
			else {
				st->conn->close_after = 1;
				st->conn->no_more = 1;
			}
			st->conn->chunked = 0;
		}
		st->conn = NULL;
		st->via = NULL;
	}
	for (ev = st->head; ev != NULL && ev->n <= last; ev = ev->next)
		;
	st->deliver = ev;
	st->conn = g->conn;
	st->via = g;
	st->was_cut = 1;
	st->next_ok = 0;
	timer_cancel(&st->pace_timer);
	stream_pump(st);
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

/* The session a request names, or NULL after answering 400 or 404. */
static struct session *
session_of(struct conn *c, const struct req *r, const cJSON *id)
{
	const char *sid = hdr(r, "mcp-session-id");
	const char *pv = hdr(r, "mcp-protocol-version");
	struct session *s;

	if (sid == NULL) {
		http_rpc_error(c, r, 400, id, -32000,
		    "Bad Request: Mcp-Session-Id header is required");
		return NULL;
	}
	s = session_find(sid);
	if (s == NULL || s->dead) {
		http_rpc_error(c, r, 404, id, -32001, "Session not found");
		return NULL;
	}
	if (pv != NULL && !supported_version(pv)) {
		http_rpc_error(c, r, 400, id, -32000,
		    "Bad Request: unsupported MCP-Protocol-Version");
		return NULL;
	}
	return s;
}

/* ---- MCP ---- */

/* --oversize: the padding a tools/call result gets (pad: its own). */
static uint64_t
pad_result(cJSON *res, uint64_t pad)
{
	cJSON *item;

	if (pad > 0)
		return pad > o_oversize ? pad : o_oversize;
	if (o_oversize == 0)
		return 0;
	item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "type", "text");
	cJSON_AddStringToObject(item, "text", PAD_MARK);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(res, "content"),
	    item);
	return o_oversize;
}

/* Answers a request in the --mode form. */
static void
send_reply(struct conn *c, const struct req *r, struct session *s,
    const char *extra, cJSON *msg, uint64_t pad)
{
	struct stream *st;
	struct out o;

	if (!o_sse) {
		out_make(&o, msg, pad);
		reply_out(c, r, extra, &o);
		return;
	}
	st = stream_open(c, r, s, ST_POST, extra);
	stream_emit(st, msg, pad);
	st->done = 1;
	stream_pump(st);
}

static void
slow_finish(struct stream *st)
{
	char text[64];
	cJSON *res;
	uint64_t pad;

	st->job = JOB_NONE;
	snprintf(text, sizeof(text), "slow: done after %ld steps", st->steps);
	res = text_result(text, 0);
	pad = pad_result(res, 0);
	stream_emit(st, rpc_result(st->req_id, res), pad);
	st->done = 1;
	stream_pump(st);
}

static void
slow_tick(void *arg)
{
	struct stream *st = arg;
	cJSON *m, *p;
	char msg[64];

	st->job_timer = 0;
	st->step++;
	if (st->token != NULL) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "jsonrpc", "2.0");
		cJSON_AddStringToObject(m, "method",
		    "notifications/progress");
		p = cJSON_AddObjectToObject(m, "params");
		cJSON_AddItemToObject(p, "progressToken",
		    cJSON_Duplicate(st->token, 1));
		cJSON_AddNumberToObject(p, "progress", (double)st->step);
		cJSON_AddNumberToObject(p, "total", (double)st->steps);
		snprintf(msg, sizeof(msg), "step %ld of %ld", st->step,
		    st->steps);
		cJSON_AddStringToObject(p, "message", msg);
		stream_emit(st, m, 0);
	}
	if (st->step >= st->steps) {
		slow_finish(st);
		return;
	}
	st->job_timer = timer_add(st->ms, slow_tick, st);
	stream_pump(st);
}

static int
arg_num(const cJSON *args, const char *key, double lo, double hi,
    double dflt, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	*out = dflt;
	if (v == NULL || cJSON_IsNull(v))
		return 1;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return 0;
	*out = v->valuedouble;
	return 1;
}

static void
tool_slow(struct conn *c, const struct req *r, struct session *s,
    const cJSON *id, const cJSON *params, const cJSON *args)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(meta,
	    "progressToken");
	struct stream *st;
	double steps, ms;

	if (!arg_num(args, "steps", 0, 100000, 3, &steps) ||
	    !arg_num(args, "ms", 0, 3600000, 100, &ms)) {
		send_reply(c, r, s, NULL, rpc_error(id, -32602,
		    "slow: steps must be 0..100000 and ms 0..3600000"), 0);
		return;
	}
	st = stream_open(c, r, s, ST_POST, NULL);
	st->job = JOB_SLOW;
	st->is_slow = 1;
	st->req_id = cJSON_Duplicate(id, 1);
	if (cJSON_IsString(tok) || cJSON_IsNumber(tok))
		st->token = cJSON_Duplicate(tok, 1);
	st->steps = (long)steps;
	st->ms = (long)ms;
	if (st->steps == 0)
		slow_finish(st);
	else
		st->job_timer = timer_add(st->ms, slow_tick, st);
}

static void
tool_ask(struct conn *c, const struct req *r, struct session *s,
    const cJSON *id, const cJSON *args)
{
	const char *prompt = jstr(args, "prompt");
	struct stream *st = stream_open(c, r, s, ST_POST, NULL);

	st->job = JOB_ASK;
	st->req_id = cJSON_Duplicate(id, 1);
	st->ask_id = ++s->next_req;
	stream_emit(st, sampling_request(cJSON_CreateNumber(
	    (double)st->ask_id), prompt ? prompt : "What is your name?"), 0);
	stream_pump(st);
}

/* The client answered one of our requests (an ask's sampling). */
static void
client_response(struct session *s, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(msg, "result");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
	const cJSON *content;
	const char *text = NULL;
	struct stream *st;
	struct buf b = { 0 };
	cJSON *out;
	uint64_t pad;

	if (!cJSON_IsNumber(id))
		return;
	for (st = streams; st != NULL; st = st->next)
		if (st->sess == s && st->job == JOB_ASK &&
		    (double)st->ask_id == id->valuedouble)
			break;
	if (st == NULL)
		return;
	st->job = JOB_NONE;
	if (cJSON_IsObject(res)) {
		content = cJSON_GetObjectItemCaseSensitive(res, "content");
		if (cJSON_IsArray(content))
			content = cJSON_GetArrayItem(content, 0);
		text = jstr(content, "text");
		out = text_result(text ? text : "(no text)", 0);
	} else {
		text = jstr(err, "message");
		buf_addf(&b, "sampling failed: %s", text ? text : "?");
		out = text_result(b.p, 1);
		free(b.p);
	}
	pad = pad_result(out, 0);
	stream_emit(st, rpc_result(st->req_id, out), pad);
	st->done = 1;
	stream_pump(st);
}

static void
notification(struct session *s, const char *method, const cJSON *params)
{
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(params,
	    "requestId");
	struct stream *st;

	if (strcmp(method, "notifications/cancelled") != 0 || rid == NULL)
		return;
	for (st = streams; st != NULL; st = st->next)
		if (st->sess == s && st->job != JOB_NONE &&
		    id_equal(st->req_id, rid))
			break;
	if (st == NULL)
		return;
	st->job = JOB_NONE;
	timer_cancel(&st->job_timer);
	st->deliver = NULL;	/* what is not out yet is dropped */
	st->done = 1;
	stream_pump(st);
}

static void
tools_call(struct conn *c, const struct req *r, struct session *s,
    const cJSON *id, const cJSON *params)
{
	const char *name = jstr(params, "name"), *t;
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params,
	    "arguments");
	cJSON *empty = NULL, *res;
	struct buf b = { 0 };
	uint64_t pad = 0;
	double n;

	if (args == NULL || !cJSON_IsObject(args))
		args = empty = cJSON_CreateObject();
	if (name == NULL) {
		send_reply(c, r, s, NULL, rpc_error(id, -32602,
		    "tools/call: missing name"), 0);
		goto done;
	}
	if (strcmp(name, "slow") == 0) {
		tool_slow(c, r, s, id, params, args);
		goto done;
	}
	if (strcmp(name, "ask") == 0) {
		tool_ask(c, r, s, id, args);
		goto done;
	}
	if (strcmp(name, "echo") == 0) {
		t = jstr(args, "text");
		res = text_result(t ? t : "", 0);
	} else if (strcmp(name, "whoami") == 0) {
		t = hdr(r, "authorization");
		res = text_result(t ? t : "none", 0);
	} else if (strcmp(name, "big") == 0) {
		if (!arg_num(args, "bytes", 0, 4294967296.0, 0, &n)) {
			send_reply(c, r, s, NULL, rpc_error(id, -32602,
			    "big: bytes must be 0..4294967296"), 0);
			goto done;
		}
		pad = (uint64_t)n;
		res = text_result(pad > 0 ? PAD_MARK : "", 0);
	} else {
		buf_addf(&b, "Unknown tool: %s", name);
		send_reply(c, r, s, NULL, rpc_error(id, -32602, b.p), 0);
		free(b.p);
		goto done;
	}
	pad = pad_result(res, pad);
	send_reply(c, r, s, NULL, rpc_result(id, res), pad);
done:
	cJSON_Delete(empty);
}

static cJSON *
list_result(const char *key, const char *json)
{
	cJSON *res = cJSON_CreateObject();

	cJSON_AddItemToObject(res, key, cJSON_Parse(json));
	return res;
}

static void
do_initialize(struct conn *c, const struct req *r, const cJSON *id,
    const cJSON *params)
{
	const char *want = jstr(params, "protocolVersion");
	struct session *s = xcalloc(1, sizeof(*s));
	struct buf b = { 0 };
	cJSON *res, *info;

	rand_hex(s->id, 16);
	snprintf(s->proto, sizeof(s->proto), "%s",
	    want != NULL && supported_version(want) ? want : versions[0]);
	s->posts = 1;
	s->next = sessions;
	sessions = s;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "protocolVersion", s->proto);
	cJSON_AddItemToObject(res, "capabilities", cJSON_Parse(caps_json));
	info = cJSON_AddObjectToObject(res, "serverInfo");
	cJSON_AddStringToObject(info, "name", "httpmcp");
	cJSON_AddStringToObject(info, "version", "1.0");
	buf_addf(&b, "Mcp-Session-Id: %s\r\n", s->id);
	send_reply(c, r, s, b.p, rpc_result(id, res), 0);
	free(b.p);
}

static void
dispatch(struct conn *c, const struct req *r, struct session *s,
    const char *method, const cJSON *id, const cJSON *params)
{
	const char *name, *uri;
	cJSON *res, *msgs, *one, *content, *arr, *item;
	const cJSON *args;
	struct buf b = { 0 };

	if (strcmp(method, "ping") == 0 ||
	    strcmp(method, "logging/setLevel") == 0)
		res = cJSON_CreateObject();
	else if (strcmp(method, "tools/list") == 0)
		res = list_result("tools", tools_json);
	else if (strcmp(method, "tools/call") == 0) {
		tools_call(c, r, s, id, params);
		return;
	} else if (strcmp(method, "prompts/list") == 0)
		res = list_result("prompts", prompts_json);
	else if (strcmp(method, "prompts/get") == 0) {
		if ((name = jstr(params, "name")) == NULL ||
		    strcmp(name, "greet") != 0) {
			send_reply(c, r, s, NULL, rpc_error(id, -32602,
			    "Unknown prompt"), 0);
			return;
		}
		args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
		name = jstr(args, "name");
		buf_addf(&b, "Hello, %s!", name ? name : "world");
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "description", "A greeting");
		msgs = cJSON_AddArrayToObject(res, "messages");
		one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "role", "user");
		content = cJSON_AddObjectToObject(one, "content");
		cJSON_AddStringToObject(content, "type", "text");
		cJSON_AddStringToObject(content, "text", b.p);
		cJSON_AddItemToArray(msgs, one);
		free(b.p);
	} else if (strcmp(method, "resources/list") == 0)
		res = list_result("resources", resources_json);
	else if (strcmp(method, "resources/templates/list") == 0)
		res = list_result("resourceTemplates", "[]");
	else if (strcmp(method, "resources/read") == 0) {
		if ((uri = jstr(params, "uri")) == NULL ||
		    strcmp(uri, "test://hello") != 0) {
			send_reply(c, r, s, NULL, rpc_error(id, -32002,
			    "Resource not found"), 0);
			return;
		}
		res = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(res, "contents");
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "uri", uri);
		cJSON_AddStringToObject(item, "mimeType", "text/plain");
		cJSON_AddStringToObject(item, "text", "hello");
		cJSON_AddItemToArray(arr, item);
	} else {
		send_reply(c, r, s, NULL, rpc_error(id, -32601,
		    "Method not found"), 0);
		return;
	}
	send_reply(c, r, s, NULL, rpc_result(id, res), 0);
}

static const char *
metadata_url(struct buf *b)
{
	if (o_metadata_url != NULL)
		return o_metadata_url;
	buf_addf(b, "%s/.well-known/oauth-protected-resource", base);
	return b->p;
}

/* --require-auth: 1 if authorized, else answers 401. */
static int
auth_ok(struct conn *c, const struct req *r)
{
	const char *a = hdr(r, "authorization"), *t;
	const char *t2 = o_token2 ? o_token2 : DEF_TOKEN2;
	struct buf b = { 0 }, u = { 0 };
	cJSON *j;

	if (o_token == NULL)
		return 1;
	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		for (t = a + 7; *t == ' '; t++)
			;
		if (strcmp(t, o_token) == 0 && (o_expire_token_after == 0 ||
		    token_uses < o_expire_token_after)) {
			token_uses++;
			return 1;
		}
		if (strcmp(t, t2) == 0)
			return 1;
	}
	buf_addf(&b, "WWW-Authenticate: Bearer %sresource_metadata=\"%s\"\r\n",
	    a != NULL ? "error=\"invalid_token\", " : "", metadata_url(&u));
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", a != NULL ? "invalid_token" :
	    "unauthorized");
	cJSON_AddStringToObject(j, "error_description", a != NULL ?
	    "the access token is not valid" : "authorization required");
	resp_json(c, r, 401, j, b.p);
	free(b.p);
	free(u.p);
	return 0;
}

static void
mcp_post(struct conn *c, const struct req *r)
{
	struct buf b = { 0 };
	struct session *s;
	cJSON *msg;
	const cJSON *id, *params;
	const char *method, *jv;

	posts_total++;
	if (o_redirect != NULL) {
		buf_addf(&b, "Location: %s\r\n", o_redirect);
		resp(c, r, 307, "text/plain", "redirected\n", b.p);
		free(b.p);
		return;
	}
	if (o_fail500 != 0 && posts_total == o_fail500) {
		resp(c, r, 500, "text/plain",
		    "internal server error (--fail500)\n", NULL);
		return;
	}
	if (!auth_ok(c, r))
		return;
	if (!hdr_has(r, "accept", "application/json") ||
	    !hdr_has(r, "accept", "text/event-stream")) {
		http_rpc_error(c, r, 406, NULL, -32000, "Not Acceptable: "
		    "Accept must list application/json and text/event-stream");
		return;
	}
	if (!ctype_is(r, "application/json")) {
		http_rpc_error(c, r, 415, NULL, -32000,
		    "Unsupported Media Type: Content-Type must be "
		    "application/json");
		return;
	}
	msg = parse_body(r);
	if (msg == NULL) {
		http_rpc_error(c, r, 400, NULL, -32700, "Parse error");
		return;
	}
	if (cJSON_IsArray(msg)) {
		http_rpc_error(c, r, 400, NULL, -32600,
		    "Invalid Request: batches are not supported");
		goto done;
	}
	jv = jstr(msg, "jsonrpc");
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	method = jstr(msg, "method");
	params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	if (!cJSON_IsObject(msg) || jv == NULL || strcmp(jv, "2.0") != 0 ||
	    (id != NULL && !cJSON_IsString(id) && !cJSON_IsNumber(id)) ||
	    (cJSON_GetObjectItemCaseSensitive(msg, "method") != NULL &&
	    method == NULL) || (method == NULL && id == NULL)) {
		http_rpc_error(c, r, 400, cJSON_IsString(id) ||
		    cJSON_IsNumber(id) ? id : NULL, -32600, "Invalid Request");
		goto done;
	}
	if (method != NULL && id != NULL && strcmp(method, "initialize") == 0) {
		do_initialize(c, r, id, params);
		goto done;
	}
	if ((s = session_of(c, r, id)) == NULL)
		goto done;
	if (o_expire_after != 0 && s->posts >= o_expire_after) {
		s->dead = 1;
		http_rpc_error(c, r, 404, id, -32001, "Session not found");
		goto done;
	}
	s->posts++;
	if (method == NULL) {
		client_response(s, msg);
		resp(c, r, 202, NULL, NULL, NULL);
	} else if (id == NULL) {
		notification(s, method, params);
		resp(c, r, 202, NULL, NULL, NULL);
	} else
		dispatch(c, r, s, method, id, params);
done:
	cJSON_Delete(msg);
}

static void
lc_fire(void *arg)
{
	struct stream *g = arg;
	cJSON *m = cJSON_CreateObject();

	g->lc_timer = 0;
	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddStringToObject(m, "method",
	    "notifications/tools/list_changed");
	stream_emit(g, m, 0);
	stream_pump(g);
}

static void
mcp_get(struct conn *c, const struct req *r)
{
	struct session *s;
	struct stream *g;
	const char *lei;

	if (!auth_ok(c, r))
		return;
	if (!hdr_has(r, "accept", "text/event-stream")) {
		resp(c, r, 405, "text/plain",
		    "GET needs Accept: text/event-stream\n",
		    "Allow: GET, POST, DELETE\r\n");
		return;
	}
	if ((s = session_of(c, r, NULL)) == NULL)
		return;
	g = stream_open(c, r, s, ST_GET, NULL);
	if (o_list_changed >= 0)
		g->lc_timer = timer_add(o_list_changed, lc_fire, g);
	if ((lei = hdr(r, "last-event-id")) != NULL)
		stream_resume(g, lei);
}

static void
mcp_delete(struct conn *c, const struct req *r)
{
	struct session *s;
	struct stream *st, *next;

	if (!auth_ok(c, r))
		return;
	if ((s = session_of(c, r, NULL)) == NULL)
		return;
	s->dead = 1;
	for (st = streams; st != NULL; st = st->next)
		if (st->sess == s && st->via != NULL) {
			st->via = NULL;
			st->conn = NULL;
		}
	for (st = streams; st != NULL; st = next) {
		next = st->next;
		if (st->sess == s)
			stream_end(st);
	}
	resp(c, r, 200, NULL, NULL, NULL);
}

/* ---- OAuth ---- */

static void
oauth_error(struct conn *c, const struct req *r, const char *err,
    const char *desc)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "error", err);
	cJSON_AddStringToObject(j, "error_description", desc);
	resp_json(c, r, 400, j, "Cache-Control: no-store\r\n");
}

static void
oauth_register(struct conn *c, const struct req *r)
{
	cJSON *j = parse_body(r), *u;
	const cJSON *uris;
	struct client *cl;
	int ok = 1;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		oauth_error(c, r, "invalid_client_metadata",
		    "the body must be a JSON object");
		return;
	}
	uris = cJSON_GetObjectItemCaseSensitive(j, "redirect_uris");
	if (!cJSON_IsArray(uris) || cJSON_GetArraySize(uris) == 0)
		ok = 0;
	cJSON_ArrayForEach(u, uris)
		if (!cJSON_IsString(u) || u->valuestring[0] == '\0')
			ok = 0;
	if (!ok) {
		cJSON_Delete(j);
		oauth_error(c, r, "invalid_redirect_uri",
		    "redirect_uris must be a non-empty array of URIs");
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	snprintf(cl->id, sizeof(cl->id), "client-%lu", ++nclients);
	cl->redirect_uris = cJSON_Duplicate(uris, 1);
	cl->next = clients;
	clients = cl;
	cJSON_DeleteItemFromObjectCaseSensitive(j, "client_id");
	cJSON_DeleteItemFromObjectCaseSensitive(j, "client_id_issued_at");
	cJSON_AddStringToObject(j, "client_id", cl->id);
	cJSON_AddNumberToObject(j, "client_id_issued_at", (double)time(NULL));
	if (cJSON_GetObjectItemCaseSensitive(j,
	    "token_endpoint_auth_method") == NULL)
		cJSON_AddStringToObject(j, "token_endpoint_auth_method",
		    "none");
	resp_json(c, r, 201, j, "Cache-Control: no-store\r\n");
}

static struct client *
client_find(const char *id)
{
	struct client *cl;

	for (cl = clients; cl != NULL; cl = cl->next)
		if (strcmp(cl->id, id) == 0)
			return cl;
	return NULL;
}

static int
client_has_uri(const struct client *cl, const char *uri)
{
	const cJSON *u;

	cJSON_ArrayForEach(u, cl->redirect_uris)
		if (cJSON_IsString(u) && strcmp(u->valuestring, uri) == 0)
			return 1;
	return 0;
}

static int
b64url_ok(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s), i;

	if (n < lo || n > hi)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._~", s[i]))
			return 0;
	return 1;
}

static void
oauth_authorize(struct conn *c, const struct req *r)
{
	static const char *const keys[] = { "response_type", "client_id",
	    "redirect_uri", "code_challenge", "code_challenge_method",
	    "state", "resource" };
	enum { RT, CID, RURI, CC, CCM, STATE, RES, NKEYS };
	char *v[NKEYS];
	struct client *cl;
	struct code *cd;
	struct buf b = { 0 };
	const char *err = NULL, *desc = NULL;
	int i;

	for (i = 0; i < NKEYS; i++)
		if (form_get(r->query, keys[i], &v[i]) < 0 && err == NULL) {
			err = "invalid_request";
			desc = "a parameter is repeated or badly encoded";
		}
	if (err != NULL)
		;
	else if (v[RT] == NULL || strcmp(v[RT], "code") != 0) {
		err = v[RT] ? "unsupported_response_type" : "invalid_request";
		desc = "response_type must be code";
	} else if (v[CID] == NULL || (cl = client_find(v[CID])) == NULL) {
		err = "invalid_request";
		desc = "unknown or missing client_id";
	} else if (v[RURI] == NULL || !client_has_uri(cl, v[RURI])) {
		err = "invalid_request";
		desc = "redirect_uri missing or not registered";
	} else if (v[CC] == NULL || !b64url_ok(v[CC], 43, 128)) {
		err = "invalid_request";
		desc = "code_challenge missing or malformed";
	} else if (v[CCM] == NULL || strcmp(v[CCM], "S256") != 0) {
		err = "invalid_request";
		desc = "code_challenge_method must be S256";
	} else if (v[RES] == NULL || strcmp(v[RES], resource_uri) != 0) {
		err = "invalid_target";
		desc = "resource missing or not this server's";
	}
	if (err != NULL)
		oauth_error(c, r, err, desc);
	else {
		cd = xcalloc(1, sizeof(*cd));
		rand_hex(cd->code, 16);
		cd->client_id = xstrdup(v[CID]);
		cd->redirect_uri = xstrdup(v[RURI]);
		cd->challenge = xstrdup(v[CC]);
		cd->resource = xstrdup(v[RES]);
		cd->next = codes;
		codes = cd;
		buf_addf(&b, "Location: %s%ccode=%s", v[RURI],
		    strchr(v[RURI], '?') ? '&' : '?', cd->code);
		if (v[STATE] != NULL) {
			buf_adds(&b, "&state=");
			pct_encode(&b, v[STATE]);
		}
		buf_adds(&b, "\r\nCache-Control: no-store\r\n");
		resp(c, r, 302, NULL, NULL, b.p);
		free(b.p);
	}
	for (i = 0; i < NKEYS; i++)
		free(v[i]);
}

static void
token_reply(struct conn *c, const struct req *r, const char *token,
    const char *refresh)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "access_token", token);
	cJSON_AddStringToObject(j, "token_type", "Bearer");
	cJSON_AddNumberToObject(j, "expires_in", 3600);
	cJSON_AddStringToObject(j, "refresh_token", refresh);
	resp_json(c, r, 200, j, "Cache-Control: no-store\r\n");
}

static void
oauth_token(struct conn *c, const struct req *r)
{
	static const char *const keys[] = { "grant_type", "code",
	    "redirect_uri", "client_id", "code_verifier", "resource",
	    "refresh_token" };
	enum { GT, CODE, RURI, CID, CV, RES, RT, NKEYS };
	char *v[NKEYS], *form, want[64];
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct code *cd = NULL;
	const char *err = NULL, *desc = NULL;
	int i;

	if (!ctype_is(r, "application/x-www-form-urlencoded")) {
		oauth_error(c, r, "invalid_request",
		    "the body must be application/x-www-form-urlencoded");
		return;
	}
	form = xstrndup(r->body ? r->body : "", r->clen);
	for (i = 0; i < NKEYS; i++)
		if (form_get(form, keys[i], &v[i]) < 0 && err == NULL) {
			err = "invalid_request";
			desc = "a parameter is repeated or badly encoded";
		}
	free(form);
	if (err != NULL)
		;
	else if (v[GT] == NULL) {
		err = "invalid_request";
		desc = "grant_type is missing";
	} else if (strcmp(v[GT], "authorization_code") == 0) {
		if (v[CODE] == NULL || v[RURI] == NULL || v[CID] == NULL ||
		    v[CV] == NULL || v[RES] == NULL) {
			err = "invalid_request";
			desc = "code, redirect_uri, client_id, code_verifier "
			    "and resource are required";
		} else {
			for (cd = codes; cd != NULL; cd = cd->next)
				if (strcmp(cd->code, v[CODE]) == 0)
					break;
			if (b64url_ok(v[CV], 43, 128)) {
				SHA256((const unsigned char *)v[CV],
				    strlen(v[CV]), md);
				b64url(md, sizeof(md), want);
			} else
				want[0] = '\0';
			err = "invalid_grant";
			if (cd == NULL || cd->used)
				desc = "unknown or used code";
			else if (strcmp(cd->client_id, v[CID]) != 0)
				desc = "client_id does not match the code";
			else if (strcmp(cd->redirect_uri, v[RURI]) != 0)
				desc = "redirect_uri does not match the code";
			else if (strcmp(cd->challenge, want) != 0)
				desc = "PKCE verification failed";
			else if (strcmp(cd->resource, v[RES]) != 0) {
				err = "invalid_target";
				desc = "resource does not match the code";
			} else
				err = NULL;
		}
		if (err == NULL) {
			cd->used = 1;
			token_reply(c, r, o_token ? o_token : DEF_TOKEN, "r1");
		}
	} else if (strcmp(v[GT], "refresh_token") == 0) {
		if (v[RT] == NULL || (strcmp(v[RT], "r1") != 0 &&
		    strcmp(v[RT], "r2") != 0)) {
			err = "invalid_grant";
			desc = "unknown refresh_token";
		} else if (v[RES] != NULL &&
		    strcmp(v[RES], resource_uri) != 0) {
			err = "invalid_target";
			desc = "resource is not this server's";
		} else
			token_reply(c, r, o_token2 ? o_token2 : DEF_TOKEN2,
			    "r2");
	} else {
		err = "unsupported_grant_type";
		desc = "only authorization_code and refresh_token";
	}
	if (err != NULL)
		oauth_error(c, r, err, desc);
	for (i = 0; i < NKEYS; i++)
		free(v[i]);
}

/* The OAuth endpoints: 1 if the path was one of them. */
static int
oauth_endpoint(struct conn *c, const struct req *r)
{
	static const char prm[] = "/.well-known/oauth-protected-resource";
	const char *p = r->path, *want;
	cJSON *j, *a;
	struct buf b = { 0 };

	if (strcmp(p, prm) == 0 || (strncmp(p, prm, sizeof(prm) - 1) == 0 &&
	    strcmp(p + sizeof(prm) - 1, o_path) == 0))
		want = "GET";
	else if (strcmp(p, "/.well-known/oauth-authorization-server") == 0)
		want = "GET";
	else if (strcmp(p, "/authorize") == 0)
		want = "GET";
	else if (strcmp(p, "/register") == 0 || strcmp(p, "/token") == 0)
		want = "POST";
	else
		return 0;
	if (strcmp(r->method, want) != 0) {
		buf_addf(&b, "Allow: %s\r\n", want);
		resp(c, r, 405, "text/plain", "method not allowed\n", b.p);
		free(b.p);
		return 1;
	}
	if (strncmp(p, prm, sizeof(prm) - 1) == 0) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "resource", resource_uri);
		a = cJSON_AddArrayToObject(j, "authorization_servers");
		cJSON_AddItemToArray(a, cJSON_CreateString(base));
		a = cJSON_AddArrayToObject(j, "bearer_methods_supported");
		cJSON_AddItemToArray(a, cJSON_CreateString("header"));
		resp_json(c, r, 200, j, NULL);
	} else if (strcmp(p, "/.well-known/oauth-authorization-server") == 0) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "issuer", base);
		buf_addf(&b, "%s/authorize", base);
		cJSON_AddStringToObject(j, "authorization_endpoint", b.p);
		b.len = 0;
		buf_addf(&b, "%s/token", base);
		cJSON_AddStringToObject(j, "token_endpoint", b.p);
		b.len = 0;
		buf_addf(&b, "%s/register", base);
		cJSON_AddStringToObject(j, "registration_endpoint", b.p);
		free(b.p);
		a = cJSON_AddArrayToObject(j,
		    "code_challenge_methods_supported");
		cJSON_AddItemToArray(a, cJSON_CreateString("S256"));
		a = cJSON_AddArrayToObject(j, "response_types_supported");
		cJSON_AddItemToArray(a, cJSON_CreateString("code"));
		a = cJSON_AddArrayToObject(j, "grant_types_supported");
		cJSON_AddItemToArray(a,
		    cJSON_CreateString("authorization_code"));
		cJSON_AddItemToArray(a, cJSON_CreateString("refresh_token"));
		a = cJSON_AddArrayToObject(j,
		    "token_endpoint_auth_methods_supported");
		cJSON_AddItemToArray(a, cJSON_CreateString("none"));
		resp_json(c, r, 200, j, NULL);
	} else if (strcmp(p, "/register") == 0)
		oauth_register(c, r);
	else if (strcmp(p, "/authorize") == 0)
		oauth_authorize(c, r);
	else
		oauth_token(c, r);
	return 1;
}

static void
handle_request(struct conn *c, const struct req *r)
{
	log_request(r);
	if (strcmp(r->path, o_path) == 0) {
		if (strcmp(r->method, "POST") == 0)
			mcp_post(c, r);
		else if (strcmp(r->method, "GET") == 0)
			mcp_get(c, r);
		else if (strcmp(r->method, "DELETE") == 0)
			mcp_delete(c, r);
		else
			resp(c, r, 405, "text/plain", "method not allowed\n",
			    "Allow: GET, POST, DELETE\r\n");
		return;
	}
	if (o_oauth && oauth_endpoint(c, r))
		return;
	resp(c, r, 404, "text/plain", "not found\n", NULL);
}

/* ---- connections ---- */

static void
bad_request(struct conn *c, struct req *r, int status)
{
	static const char *const text[] = { "bad request\n",
	    "chunked request bodies are not supported\n",
	    "request body over 8 MiB\n", "request head over 64 KiB\n",
	    "HTTP version not supported\n" };
	const char *t = text[0];

	if (r != NULL && r->method != NULL)
		log_request(r);
	if (status == 411)
		t = text[1];
	else if (status == 413)
		t = text[2];
	else if (status == 431)
		t = text[3];
	else if (status == 505)
		t = text[4];
	c->no_more = 1;
	resp(c, NULL, status, "text/plain", t, NULL);
}

static void
conn_process(struct conn *c)
{
	struct req *r;
	int rc;

	while (!c->dead && c->stream == NULL && !c->no_more) {
		if (c->req == NULL) {
			rc = parse_head(c, &c->req);
			if (rc == 0)
				return;
			if (rc == 1)
				rc = check_head(c->req);
			if (rc != 1) {
				bad_request(c, c->req, rc);
				req_free(c->req);
				c->req = NULL;
				return;
			}
		}
		r = c->req;
		if (c->inlen < r->headlen + r->clen) {
			if (r->expect && !c->sent_continue) {
				out_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
				c->sent_continue = 1;
			}
			return;
		}
		r->body = xstrndup(c->in + r->headlen, r->clen);
		c->inlen -= r->headlen + r->clen;
		memmove(c->in, c->in + r->headlen + r->clen, c->inlen);
		c->req = NULL;
		c->sent_continue = 0;
		handle_request(c, r);
		req_free(r);
	}
}

static void
linger_fire(void *arg)
{
	struct conn *c = arg;

	c->linger_timer = 0;
	conn_close(c);
}

/* Closes a connection whose work is over. */
static void
conn_settle(struct conn *c)
{
	if (c->dead || c->oq != NULL || c->stream != NULL)
		return;
	if (c->close_after) {
		if (c->lingering)
			return;
		if (c->rd_eof) {
			conn_close(c);
			return;
		}
		/* let the client read the answer before the socket goes */
		shutdown(c->fd, SHUT_WR);
		c->lingering = 1;
		c->inlen = 0;
		c->linger_timer = timer_add(LINGER_MS, linger_fire, c);
		return;
	}
	if (c->rd_eof)
		conn_close(c);
}

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
conn_read(struct conn *c)
{
	size_t cap;
	ssize_t n;

	for (;;) {
		if (c->lingering || c->no_more)
			c->inlen = 0;
		if (c->inlen >= IN_CAP)
			break;
		if (c->incap - c->inlen < 4096 && c->incap < IN_CAP) {
			cap = c->incap ? c->incap * 2 : 16384;
			if (cap > IN_CAP)
				cap = IN_CAP;
			c->in = xrealloc(c->in, cap);
			c->incap = cap;
		}
		n = srv_recv(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (n > 0) {
			c->inlen += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->rd_eof = 1;
			break;
		}
		if (n == SRV_AGAIN)
			break;
		conn_close(c);
		return;
	}
	if (c->lingering || c->no_more)
		c->inlen = 0;
	/* a client leaving an open stream has gone */
	if (c->rd_eof && (c->lingering || c->stream != NULL))
		conn_close(c);
}

void
conn_close(struct conn *c)
{
	struct stream *st, *next;
	struct seg *s;

	if (c->dead)
		return;
	c->dead = 1;
	/* calls keep running: their events wait for a resuming GET */
	for (st = streams; st != NULL; st = st->next)
		if (st->conn == c && st->kind == ST_POST) {
			st->conn = NULL;
			st->via = NULL;
		}
	for (st = streams; st != NULL; st = next) {
		next = st->next;
		if (st->conn == c || (st->kind == ST_POST && st->conn == NULL &&
		    st->done && st->deliver == NULL))
			stream_free(st);
	}
	c->stream = NULL;
	timer_cancel(&c->linger_timer);
	close(c->fd);
	c->fd = -1;
	while ((s = c->oq) != NULL) {
		c->oq = s->next;
		free(s->p);
		free(s);
	}
	c->oq_tail = NULL;
	req_free(c->req);
	c->req = NULL;
	free(c->in);
	c->in = NULL;
	c->inlen = c->incap = 0;
}

static void
accept_resume(void *arg)
{
	(void)arg;
	accept_paused = 0;
}

static void
accept_conns(void)
{
	struct conn *c;
	int fd;

	while (nconns < MAX_CONNS) {
		if ((fd = srv_accept()) < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: do not spin on lfd */
				accept_paused = 1;
				timer_add(100, accept_resume, NULL);
			}
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		srv_add(c);
	}
}

/* ---- main ---- */

/* A flag with a value: 1 if it is one of ours. */
static int
flag(const char *f, const char *v)
{
	if (strcmp(f, "--path") == 0) {
		if (v[0] != '/' || strpbrk(v, "? \t") != NULL)
			die("--path: must start with /, no query");
		o_path = v;
	} else if (strcmp(f, "--mode") == 0) {
		if (strcmp(v, "json") == 0)
			o_sse = 0;
		else if (strcmp(v, "sse") == 0)
			o_sse = 1;
		else
			die("--mode: json or sse");
	} else if (strcmp(f, "--list-changed-after") == 0)
		o_list_changed = (long)num_arg(f, v, 86400000);
	else if (strcmp(f, "--cut-after") == 0)
		o_cut_after = (unsigned long)num_arg(f, v, 1000000);
	else if (strcmp(f, "--fail500") == 0)
		o_fail500 = (unsigned long)num_arg(f, v, ULONG_MAX);
	else if (strcmp(f, "--expire-after") == 0)
		o_expire_after = (unsigned long)num_arg(f, v, ULONG_MAX);
	else if (strcmp(f, "--slow-sse") == 0)
		o_slow_sse = (long)num_arg(f, v, 3600000);
	else if (strcmp(f, "--oversize") == 0)
		o_oversize = num_arg(f, v, 1ULL << 40);
	else if (strcmp(f, "--redirect") == 0)
		o_redirect = v;
	else if (strcmp(f, "--require-auth") == 0)
		o_token = v;
	else if (strcmp(f, "--expire-token-after") == 0)
		o_expire_token_after = (unsigned long)num_arg(f, v,
		    ULONG_MAX);
	else if (strcmp(f, "--refreshed-token") == 0)
		o_token2 = v;
	else if (strcmp(f, "--base-url") == 0)
		o_base_url = v;
	else if (strcmp(f, "--metadata-url") == 0)
		o_metadata_url = v;
	else
		return 0;
	return 1;
}

static void
parse_args(int argc, char **argv)
{
	static const struct srv_switch switches[] = {
		{ "--garbage-sse", &o_garbage },
		{ "--oauth", &o_oauth },
		{ "--cut-clean", &o_cut_clean },
		{ NULL, NULL }
	};

	srv_args(argc, argv, switches, flag, " [--path P]\n"
	    "    [--mode json|sse] [--list-changed-after MS] [--cut-after N] "
	    "[--cut-clean]\n"
	    "    [--fail500 N] [--expire-after N] [--garbage-sse] "
	    "[--slow-sse MS]\n"
	    "    [--oversize BYTES] [--redirect URL] [--require-auth TOKEN]\n"
	    "    [--expire-token-after N] [--refreshed-token T2] "
	    "[--base-url URL]\n"
	    "    [--metadata-url URL] [--oauth]\n");
	if ((o_token != NULL && o_token[0] == '\0') ||
	    (o_token2 != NULL && o_token2[0] == '\0'))
		die("tokens must not be empty");
}

static void
cleanup(void)
{
	struct session *s;
	struct client *cl;
	struct code *cd;

	srv_close_all();
	while (streams != NULL)
		stream_free(streams);
	while ((s = sessions) != NULL) {
		sessions = s->next;
		free(s);
	}
	while ((cl = clients) != NULL) {
		clients = cl->next;
		cJSON_Delete(cl->redirect_uris);
		free(cl);
	}
	while ((cd = codes) != NULL) {
		codes = cd->next;
		free(cd->client_id);
		free(cd->redirect_uri);
		free(cd->challenge);
		free(cd->resource);
		free(cd);
	}
	while (timers != NULL) {
		unsigned long id = timers->id;

		timer_cancel(&id);
	}
	srv_stop();
}

int
main(int argc, char **argv)
{
	static struct pollfd pfd[MAX_CONNS + 2];
	static struct conn *pc[MAX_CONNS + 2];
	struct conn *c;
	size_t len;
	int port, n, nfixed, i, rc, stop = 0;
	short re;

	parse_args(argc, argv);
	port = srv_start(128);
	if (o_base_url != NULL) {
		snprintf(base, sizeof(base), "%s", o_base_url);
		len = strlen(base);
		while (len > 0 && base[len - 1] == '/')
			base[--len] = '\0';
	} else
		snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	snprintf(resource_uri, sizeof(resource_uri), "%s%s", base, o_path);

	while (!stop) {
		n = nfixed = srv_pollfds(pfd, nconns < MAX_CONNS &&
		    !accept_paused);
		for (c = conns; c != NULL; c = c->next) {
			if (c->dead)
				continue;
			pfd[n].fd = c->fd;
			pfd[n].events = 0;
			if (!c->rd_eof && (c->lingering || c->no_more ||
			    c->inlen < IN_CAP))
				pfd[n].events |= POLLIN;
			if (c->oq != NULL)
				pfd[n].events |= POLLOUT;
			pc[n++] = c;
		}
		rc = poll(pfd, (nfds_t)n, timer_wait());
		if (rc < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (rc > 0) {
			stop = srv_polled(pfd, nfixed, accept_conns);
			for (i = nfixed; i < n; i++) {
				c = pc[i];
				re = pfd[i].revents;
				if (!srv_event(c, re))
					continue;
				if ((re & POLLHUP) && !(pfd[i].events & POLLIN))
					conn_close(c);
				if (!c->dead && (re & POLLOUT))
					conn_flush(c);
			}
		}
		timers_run();
		for (c = conns; c != NULL; c = c->next) {
			if (c->dead)
				continue;
			conn_process(c);
			conn_flush(c);
			conn_settle(c);
		}
		srv_reap();
	}
	cleanup();
	return 0;
}
