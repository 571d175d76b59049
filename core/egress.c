/* The egress proxy (egress.h): accept, read a head, decide, resolve,
   connect, splice. One struct tun per accepted connection, its watchers
   embedded; freed when both sides are closed, or by the resolver's
   callback when a lookup was still running. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ares.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/egress.h"
#include "core/netaddr.h"
#include "core/trail.h"
#include "core/util.h"

#define HEAD_TIMEOUT	15.0	/* seconds for the request head */
#define CONNECT_TIMEOUT	20.0	/* seconds to resolve and connect */
#define IDLE_TIMEOUT	300.0	/* seconds without a byte either way */
#define MAX_ADDRS	8	/* addresses tried per destination */
#define ARES_SLOTS	16	/* resolver sockets watched at once */

/* What became of a connection; the zero value denies. */
enum verdict { V_DENY, V_ALLOW, V_ERROR };

enum tstate { T_HEAD, T_RESOLVE, T_CONNECT, T_SPLICE, T_REPLY };

/* Bytes on their way from one side to the other, at most EGRESS_BUF. */
struct pbuf {
	char *b;
	size_t off, len;
};

struct tun {
	struct egress *eg;
	struct tun *prev, *next;
	int cfd;		/* from the sandbox */
	int sfd;		/* to the destination, or -1 */
	enum tstate st;
	int resolving;		/* a lookup holds a pointer to us */
	int counted;		/* a refusal: weighed against the limit */
	int quiet;		/* ... and over it: not recorded nor logged */
	int dead;		/* closed while resolving: the lookup frees */
	ev_io crd, cwr, srd, swr;
	ev_timer tmo;
	char *head;		/* EGRESS_HEAD_MAX, until the head is done */
	size_t hlen;
	char method[16];
	char host[256];
	int port;
	int connect;		/* CONNECT, else plain HTTP */
	int rule;		/* the entry that let it through, or -1 */
	struct sockaddr_storage addr[MAX_ADDRS];
	int naddr, iaddr;
	int tried;		/* addresses a connect was tried on */
	char ip[INET6_ADDRSTRLEN];	/* the address connected to */
	char *why;		/* a denial's or error's reason */
	enum verdict v;
	struct pbuf up, down;	/* to the destination, to the sandbox */
	int c_eof, s_eof, up_shut;
	unsigned long long nup, ndown;
	double t0;
};

struct egress {
	struct ev_loop *loop;
	struct trail *trail;
	char *alias;
	const struct net_rule *rules;
	int nrules;
	int lfd;
	ev_io lw;
	ev_timer pause;		/* accept paused: out of descriptors */
	ares_channel ch;
	int ares_on;
	ev_io aw[ARES_SLOTS];
	int afd[ARES_SLOTS];
	ev_timer at;
	struct tun *tuns;
	int ntun;
	/* Refusals are recorded at most REFUSALS_MAX a minute: a server
	   must not fill the audit log with attempts. */
	double refusals_t0;
	int refusals;
	long long suppressed;
};

#define REFUSALS_MAX	100

static void tun_close(struct tun *);
static void tun_watch(struct tun *);
static void try_connect(struct tun *);

/* ---- records ---- */

static const char *
verdict_name(enum verdict v)
{
	return v == V_ALLOW ? "allow" : v == V_ERROR ? "error" : "deny";
}

/* How many refusals were not recorded, once their minute is over. */
static void
tell_suppressed(struct egress *eg)
{
	cJSON *f;

	if (eg->suppressed == 0 || eg->trail == NULL)
		return;
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "server", eg->alias);
	cJSON_AddNumberToObject(f, "count", (double)eg->suppressed);
	trail_event(eg->trail, "egress_suppressed", f);
	eg->suppressed = 0;
}

/* A refusal (or error) of t: recorded and told, or, beyond
   REFUSALS_MAX in a minute, only counted. Returns t->quiet. */
static int
weigh(struct tun *t)
{
	struct egress *eg = t->eg;
	double now = mono_now();

	if (t->counted)
		return t->quiet;
	t->counted = 1;
	if (now - eg->refusals_t0 >= 60) {
		tell_suppressed(eg);
		eg->refusals_t0 = now;
		eg->refusals = 0;
	}
	if (++eg->refusals > REFUSALS_MAX) {
		eg->suppressed++;
		t->quiet = 1;
	}
	return t->quiet;
}

/* One audit record for t: at its end, or at its denial. */
static void
record(struct tun *t)
{
	struct egress *eg = t->eg;
	cJSON *f;

	if (eg->trail == NULL || (t->v != V_ALLOW && weigh(t)))
		return;
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "server", eg->alias);
	if (t->method[0])
		cJSON_AddStringToObject(f, "method", t->method);
	if (t->host[0]) {
		cJSON_AddStringToObject(f, "host", t->host);
		cJSON_AddNumberToObject(f, "port", t->port);
	}
	if (t->ip[0])
		cJSON_AddStringToObject(f, "address", t->ip);
	cJSON_AddStringToObject(f, "decision", verdict_name(t->v));
	if (t->rule >= 0)
		cJSON_AddStringToObject(f, "rule", eg->rules[t->rule].text);
	if (t->why)
		cJSON_AddStringToObject(f, "reason", t->why);
	cJSON_AddNumberToObject(f, "bytes_up", (double)t->nup);
	cJSON_AddNumberToObject(f, "bytes_down", (double)t->ndown);
	cJSON_AddNumberToObject(f, "duration_ms",
	    (double)(long long)((mono_now() - t->t0) * 1000));
	trail_event(eg->trail, "egress", f);
}

/* ---- buffers and watchers ---- */

static void
io_want(struct ev_loop *loop, ev_io *w, int on)
{
	if (on && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!on && ev_is_active(w))
		ev_io_stop(loop, w);
}

/* Read from fd into the free end of b. Returns bytes, 0 at EOF, -1 on
   error, -2 when nothing is there now. */
static ssize_t
pbuf_fill(struct pbuf *b, int fd)
{
	ssize_t n;

	if (b->off > 0 && b->off + b->len == EGRESS_BUF) {
		memmove(b->b, b->b + b->off, b->len);
		b->off = 0;
	}
	n = read(fd, b->b + b->off + b->len, EGRESS_BUF - b->off - b->len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -2 : -1;
	b->len += n;
	return n;
}

/* Write what b holds to fd. Returns bytes written, -1 on error. */
static ssize_t
pbuf_flush(struct pbuf *b, int fd)
{
	ssize_t n;

	n = send(fd, b->b + b->off, b->len, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
	return n;
}

/* Queue s on b (our own replies and the rewritten head: always fits,
   checked by the caller's sizes). */
static void
pbuf_put(struct pbuf *b, const char *s, size_t n)
{
	if (n > EGRESS_BUF - b->off - b->len)
		n = EGRESS_BUF - b->off - b->len;
	memcpy(b->b + b->off + b->len, s, n);
	b->len += n;
}

/* Watch what this state needs: read a side only while the other way's
   buffer has room, write a side only while bytes wait for it. */
static void
tun_watch(struct tun *t)
{
	struct ev_loop *loop = t->eg->loop;
	int splice = t->st == T_SPLICE;

	io_want(loop, &t->crd, t->st == T_HEAD ||
	    (splice && !t->c_eof && t->up.len < EGRESS_BUF));
	io_want(loop, &t->cwr, t->down.len > 0);
	if (t->sfd < 0)
		return;
	io_want(loop, &t->srd, splice && !t->s_eof &&
	    t->down.len < EGRESS_BUF);
	io_want(loop, &t->swr, t->st == T_CONNECT || (splice && t->up.len > 0));
}

/* ---- replies ---- */

/* Answer the sandbox with an error status and a one-line reason, then
   close. The verdict and the reason go to the audit record. */
static void
refuse(struct tun *t, enum verdict v, int code, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
refuse(struct tun *t, enum verdict v, int code, const char *status,
    const char *fmt, ...)
{
	char body[600], head[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body) - 1, fmt, ap);
	va_end(ap);
	/* Parts of it came from the sandbox: no control characters on
	   corral's terminal nor in the log. */
	for (n = 0; body[n]; n++)
		if ((unsigned char)body[n] < 0x20 || body[n] == 0x7f)
			body[n] = '?';
	free(t->why);
	t->why = xstrdup(body);
	t->v = v;
	if (v == V_DENY && !weigh(t))
		logmsg("[%s] egress: denied: %s", t->eg->alias, body);
	strcat(body, "\n");
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    code, status, strlen(body) + 8);
	t->down.off = t->down.len = 0;
	pbuf_put(&t->down, head, n);
	pbuf_put(&t->down, "corral: ", 8);
	pbuf_put(&t->down, body, strlen(body));
	if (t->sfd >= 0) {
		ev_io_stop(t->eg->loop, &t->srd);
		ev_io_stop(t->eg->loop, &t->swr);
		close(t->sfd);
		t->sfd = -1;
	}
	t->st = T_REPLY;
	ev_timer_set(&t->tmo, HEAD_TIMEOUT, HEAD_TIMEOUT);
	ev_timer_again(t->eg->loop, &t->tmo);
	tun_watch(t);
}

/* ---- the head ---- */

/* End of the head in t->head: the offset after the blank line, or 0. */
static size_t
head_end(const struct tun *t)
{
	const char *e = memmem(t->head, t->hlen, "\r\n\r\n", 4);

	return e ? (size_t)(e - t->head) + 4 : 0;
}

/* Is the header line l (without CRLF) one a proxy must not pass on? */
static int
hop_header(const char *l, size_t n)
{
	static const char *const hop[] = { "connection:", "keep-alive:",
	    "proxy-connection:", "proxy-authorization:", "proxy-authenticate:",
	    "te:", "upgrade:", NULL };
	int i;

	for (i = 0; hop[i]; i++)
		if (n >= strlen(hop[i]) &&
		    strncasecmp(l, hop[i], strlen(hop[i])) == 0)
			return 1;
	return 0;
}

/* Queue the plain HTTP request on t->up in origin form, hop-by-hop and
   Proxy-* headers dropped, "Connection: close" added, then whatever the
   sandbox sent after the head (the start of a body). */
static void
queue_request(struct tun *t, const char *path, size_t end)
{
	const char *l = memchr(t->head, '\n', end) + 1, *nl;
	char line[EGRESS_HEAD_MAX + 64];
	int host = 0, n;

	n = snprintf(line, sizeof(line), "%s %s HTTP/1.1\r\n", t->method,
	    path);
	pbuf_put(&t->up, line, n);
	for (; l < t->head + end - 2; l = nl + 1) {
		nl = memchr(l, '\n', t->head + end - l);
		if (hop_header(l, nl - l))
			continue;
		if (nl - l >= 5 && strncasecmp(l, "host:", 5) == 0)
			host = 1;
		pbuf_put(&t->up, l, nl - l + 1);
	}
	if (!host) {
		n = strchr(t->host, ':') ?
		    snprintf(line, sizeof(line), "Host: [%s]:%d\r\n", t->host,
		    t->port) :
		    snprintf(line, sizeof(line), "Host: %s:%d\r\n", t->host,
		    t->port);
		pbuf_put(&t->up, line, n);
	}
	pbuf_put(&t->up, "Connection: close\r\n\r\n", 21);
	pbuf_put(&t->up, t->head + end, t->hlen - end);
}

/* Parse "http://authority/path" into t->host, t->port and *path (a
   pointer into target). Returns 0 or -1. */
static int
parse_absolute(struct tun *t, char *target, char **path)
{
	char *auth, *e, save;

	if (strncasecmp(target, "http://", 7) != 0)
		return -1;
	auth = target + 7;
	e = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', e - auth))
		return -1;	/* credentials in the URI: no */
	save = *e;
	*e = '\0';
	t->port = netaddr_split(auth, t->host, sizeof(t->host), 80);
	*e = save;
	if (t->port < 0)
		return -1;
	if (*e == '\0') {
		*path = "/";
	} else if (*e == '/') {
		*path = e;
	} else {
		/* "?x" right after the authority: give it its slash. */
		*path = e - 1;
		if (*path < auth)
			return -1;
		**path = '/';
	}
	return 0;
}

static void resolve(struct tun *);

/* A whole head is in: decide. */
static void
head_done(struct tun *t, size_t end)
{
	char *line, *sp1, *sp2, *path = NULL, *target;
	struct egress *eg = t->eg;

	line = t->head;
	line[strcspn(line, "\r\n")] = '\0';
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1 == line ||
	    (size_t)(sp1 - line) >= sizeof(t->method) ||
	    strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != (size_t)(sp1 - line)) {
		refuse(t, V_DENY, 400, "Bad Request", "cannot read this "
		    "request line; this proxy takes CONNECT host:port and "
		    "absolute http:// URIs");
		return;
	}
	memcpy(t->method, line, sp1 - line);
	t->method[sp1 - line] = '\0';
	*sp2 = '\0';
	target = sp1 + 1;
	if (strcmp(t->method, "CONNECT") == 0) {
		t->connect = 1;
		t->port = netaddr_split(target, t->host, sizeof(t->host), -1);
	} else if (parse_absolute(t, target, &path) < 0) {
		t->host[0] = '\0';
		t->port = -1;
	}
	if (t->port <= 0) {
		t->host[0] = '\0';
		refuse(t, V_DENY, 400, "Bad Request", "\"%.200s\" is not a "
		    "destination this proxy takes (CONNECT host:port, or an "
		    "absolute http:// URI without credentials)", target);
		return;
	}
	t->rule = netaddr_match(eg->rules, eg->nrules, t->host, t->port);
	if (t->rule < 0) {
		refuse(t, V_DENY, 403, "Forbidden", "%s port %d is not on "
		    "the network list of server %s", t->host, t->port,
		    eg->alias);
		return;
	}
	if (t->connect) {
		/* A client may send its first bytes (a TLS hello) at once. */
		pbuf_put(&t->up, t->head + end, t->hlen - end);
	} else {
		queue_request(t, path, end);
	}
	free(t->head);
	t->head = NULL;
	t->hlen = 0;
	resolve(t);
}

/* The sandbox sent part of a head. */
static void
head_read(struct tun *t)
{
	size_t end;
	ssize_t n;

	n = read(t->cfd, t->head + t->hlen, EGRESS_HEAD_MAX - 1 - t->hlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		t->v = V_ERROR;
		t->why = xstrdup("the sandbox closed before a whole request");
		tun_close(t);
		return;
	}
	t->hlen += n;
	t->head[t->hlen] = '\0';
	if ((end = head_end(t)) > 0)
		head_done(t, end);
	else if (t->hlen >= EGRESS_HEAD_MAX - 1)
		refuse(t, V_DENY, 431, "Request Header Fields Too Large",
		    "the request head is over %d bytes", EGRESS_HEAD_MAX);
}

/* ---- the resolver on the loop ---- */

static void
ares_arm(struct egress *eg)
{
	struct timeval tv, *tvp;

	ev_timer_stop(eg->loop, &eg->at);
	if ((tvp = ares_timeout(eg->ch, NULL, &tv)) != NULL) {
		ev_timer_set(&eg->at, tv.tv_sec + tv.tv_usec / 1e6, 0);
		ev_timer_start(eg->loop, &eg->at);
	}
}

static void
ares_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct egress *eg = w->data;
	int fd = w->fd;

	(void)loop;
	ares_process_fd(eg->ch, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	ares_arm(eg);
}

static void
ares_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct egress *eg = w->data;

	(void)loop;
	(void)revents;
	ares_process_fd(eg->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	ares_arm(eg);
}

/* c-ares opens, wants or closes a socket: mirror it in an ev_io. */
static void
ares_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct egress *eg = data;
	int i, slot = -1;

	for (i = 0; i < ARES_SLOTS && slot < 0; i++)
		if (eg->afd[i] == fd)
			slot = i;
	for (i = 0; i < ARES_SLOTS && slot < 0 && (readable || writable); i++)
		if (eg->afd[i] < 0)
			slot = i;
	if (slot < 0)
		return;		/* more sockets than slots: that query times out */
	if (ev_is_active(&eg->aw[slot]))
		ev_io_stop(eg->loop, &eg->aw[slot]);
	if (!readable && !writable) {
		eg->afd[slot] = -1;
		return;
	}
	eg->afd[slot] = fd;
	ev_io_set(&eg->aw[slot], fd, (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0));
	ev_io_start(eg->loop, &eg->aw[slot]);
}

/* Start the resolver the first time a name needs it. 0 or -1. */
static int
ares_up(struct egress *eg)
{
	static int ares_lib;
	struct ares_options o;
	int i;

	if (eg->ares_on)
		return 0;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = ares_sock_cb;
	o.sock_state_cb_data = eg;
	o.timeout = 3000;
	o.tries = 2;
	if (!ares_lib) {
		if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
			return -1;
		ares_lib = 1;
	}
	if (ares_init_options(&eg->ch, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS)
		return -1;
	for (i = 0; i < ARES_SLOTS; i++) {
		eg->afd[i] = -1;
		ev_io_init(&eg->aw[i], ares_io_cb, 0, EV_READ);
		eg->aw[i].data = eg;
	}
	ev_timer_init(&eg->at, ares_timer_cb, 1, 0);
	eg->at.data = eg;
	eg->ares_on = 1;
	return 0;
}

/* Keep the addresses of a lookup, in its order, up to MAX_ADDRS. */
static void
keep_addrs(struct tun *t, const struct ares_addrinfo *res)
{
	const struct ares_addrinfo_node *n;

	for (n = res ? res->nodes : NULL; n && t->naddr < MAX_ADDRS;
	    n = n->ai_next) {
		if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) ||
		    n->ai_addrlen > sizeof(t->addr[0]))
			continue;
		memset(&t->addr[t->naddr], 0, sizeof(t->addr[0]));
		memcpy(&t->addr[t->naddr++], n->ai_addr, n->ai_addrlen);
	}
}

static void
resolved(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct tun *t = arg;

	(void)timeouts;
	t->resolving = 0;
	if (t->dead) {
		if (res)
			ares_freeaddrinfo(res);
		free(t);
		return;
	}
	if (t->st != T_RESOLVE) {
		/* Timed out meanwhile: the answer is already on its way. */
		if (res)
			ares_freeaddrinfo(res);
		return;
	}
	if (status == ARES_SUCCESS)
		keep_addrs(t, res);
	if (res)
		ares_freeaddrinfo(res);
	if (t->naddr == 0) {
		refuse(t, V_ERROR, 502, "Bad Gateway", "%s does not resolve "
		    "(%s)", t->host, ares_strerror(status));
		return;
	}
	try_connect(t);
}

/* The destination's addresses: a literal as it is, a name from the
   resolver (which may answer at once, from /etc/hosts). */
static void
resolve(struct tun *t)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&t->addr[0];
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->addr[0];
	struct ares_addrinfo_hints h;

	t->st = T_RESOLVE;
	ev_timer_set(&t->tmo, CONNECT_TIMEOUT, CONNECT_TIMEOUT);
	ev_timer_again(t->eg->loop, &t->tmo);
	tun_watch(t);
	memset(&t->addr[0], 0, sizeof(t->addr[0]));
	if (inet_pton(AF_INET, t->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		t->naddr = 1;
	} else if (inet_pton(AF_INET6, t->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		t->naddr = 1;
	}
	if (t->naddr) {
		try_connect(t);
		return;
	}
	if (ares_up(t->eg) < 0) {
		refuse(t, V_ERROR, 502, "Bad Gateway", "the resolver cannot "
		    "start");
		return;
	}
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_UNSPEC;
	h.ai_socktype = SOCK_STREAM;
	t->resolving = 1;
	/* Last: the callback may run (and free t) before this returns. */
	ares_getaddrinfo(t->eg->ch, t->host, NULL, &h, resolved, t);
	if (t->eg->ares_on)
		ares_arm(t->eg);
}

/* ---- connecting ---- */

/* Address i as text into t->ip; its family and bytes in *fam, *a. */
static const void *
addr_of(struct tun *t, int i, int *fam)
{
	struct sockaddr_storage *ss = &t->addr[i];
	const void *a;

	*fam = ss->ss_family;
	if (*fam == AF_INET)
		a = &((struct sockaddr_in *)ss)->sin_addr;
	else
		a = &((struct sockaddr_in6 *)ss)->sin6_addr;
	inet_ntop(*fam, a, t->ip, sizeof(t->ip));
	return a;
}

/* Try the next permitted address; refuse when none is left. Addresses
   that are not public need an entry naming them. */
static void
try_connect(struct tun *t)
{
	struct egress *eg = t->eg;
	char refused[INET6_ADDRSTRLEN] = "";
	const char *cls = NULL, *c;
	const void *a;
	socklen_t len;
	int fam;

	for (; t->iaddr < t->naddr; t->iaddr++) {
		a = addr_of(t, t->iaddr, &fam);
		if ((c = netaddr_special(fam, a)) != NULL &&
		    netaddr_match_addr(eg->rules, eg->nrules, fam, a,
		    t->port) < 0) {
			if (cls == NULL) {
				cls = c;
				snprintf(refused, sizeof(refused), "%s", t->ip);
			}
			continue;
		}
		if (fam == AF_INET) {
			((struct sockaddr_in *)&t->addr[t->iaddr])->sin_port =
			    htons(t->port);
			len = sizeof(struct sockaddr_in);
		} else {
			((struct sockaddr_in6 *)&t->addr[t->iaddr])->sin6_port =
			    htons(t->port);
			len = sizeof(struct sockaddr_in6);
		}
		t->sfd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (t->sfd < 0)
			continue;
		t->tried++;
		if (connect(t->sfd, (struct sockaddr *)&t->addr[t->iaddr],
		    len) == 0 || errno == EINPROGRESS) {
			t->st = T_CONNECT;
			ev_io_set(&t->srd, t->sfd, EV_READ);
			ev_io_set(&t->swr, t->sfd, EV_WRITE);
			tun_watch(t);
			return;
		}
		close(t->sfd);
		t->sfd = -1;
	}
	if (cls && t->tried == 0) {
		snprintf(t->ip, sizeof(t->ip), "%s", refused);
		refuse(t, V_DENY, 403, "Forbidden", "%s resolves to %s (%s), "
		    "which only an entry naming that address lets through",
		    t->host, refused, cls);
		return;
	}
	refuse(t, V_ERROR, 502, "Bad Gateway", "cannot connect to %s port "
	    "%d%s%s", t->host, t->port, t->ip[0] ? " at " : "", t->ip);
}

/* The connect finished, one way or the other. */
static void
connected(struct tun *t)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	socklen_t l = sizeof(int);
	int e = 0;

	if (getsockopt(t->sfd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		e = errno;
	if (e == EINPROGRESS)
		return;
	if (e != 0) {
		ev_io_stop(t->eg->loop, &t->swr);
		close(t->sfd);
		t->sfd = -1;
		t->iaddr++;
		try_connect(t);
		return;
	}
	t->v = V_ALLOW;
	t->st = T_SPLICE;
	if (t->connect)
		pbuf_put(&t->down, ok, sizeof(ok) - 1);
	ev_timer_set(&t->tmo, IDLE_TIMEOUT, IDLE_TIMEOUT);
	ev_timer_again(t->eg->loop, &t->tmo);
	tun_watch(t);
}

/* ---- splicing ---- */

static void
c_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tun *t = w->data;
	ssize_t n;

	(void)revents;
	if (t->st == T_HEAD) {
		head_read(t);
		return;
	}
	if ((n = pbuf_fill(&t->up, t->cfd)) == -2)
		return;
	if (n < 0) {
		tun_close(t);
		return;
	}
	if (n == 0)
		t->c_eof = 1;
	if (n == 0 && t->up.len == 0 && !t->up_shut) {
		shutdown(t->sfd, SHUT_WR);
		t->up_shut = 1;
	}
	ev_timer_again(loop, &t->tmo);
	tun_watch(t);
}

static void
s_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tun *t = w->data;
	ssize_t n;

	(void)revents;
	if (t->st == T_CONNECT) {
		connected(t);
		return;
	}
	if ((n = pbuf_flush(&t->up, t->sfd)) < 0) {
		tun_close(t);
		return;
	}
	t->nup += n;
	if (t->up.len == 0 && t->c_eof && !t->up_shut) {
		shutdown(t->sfd, SHUT_WR);
		t->up_shut = 1;
	}
	ev_timer_again(loop, &t->tmo);
	tun_watch(t);
}

static void
s_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tun *t = w->data;
	ssize_t n;

	(void)revents;
	if ((n = pbuf_fill(&t->down, t->sfd)) == -2)
		return;
	if (n < 0) {
		tun_close(t);
		return;
	}
	t->ndown += n;
	/* The destination is done: once the sandbox has the rest, the
	   tunnel ends. */
	if (n == 0)
		t->s_eof = 1;
	if (t->s_eof && t->down.len == 0) {
		tun_close(t);
		return;
	}
	ev_timer_again(loop, &t->tmo);
	tun_watch(t);
}

static void
c_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tun *t = w->data;
	ssize_t n;

	(void)revents;
	if ((n = pbuf_flush(&t->down, t->cfd)) < 0) {
		tun_close(t);
		return;
	}
	if (t->down.len == 0 && (t->st == T_REPLY || t->s_eof)) {
		tun_close(t);
		return;
	}
	ev_timer_again(loop, &t->tmo);
	tun_watch(t);
}

static void
tmo_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tun *t = w->data;

	(void)loop;
	(void)revents;
	switch (t->st) {
	case T_HEAD:
		refuse(t, V_DENY, 408, "Request Timeout", "no whole request "
		    "within %.0f seconds", HEAD_TIMEOUT);
		break;
	case T_RESOLVE:
	case T_CONNECT:
		refuse(t, V_ERROR, 504, "Gateway Timeout", "%s port %d: no "
		    "connection within %.0f seconds", t->host, t->port,
		    CONNECT_TIMEOUT);
		break;
	default:
		if (t->why == NULL && t->st == T_SPLICE)
			t->why = xstrdup("idle");
		tun_close(t);
		break;
	}
}

/* ---- the tunnel's life ---- */

/* Stop, close, record and unlink t; free it unless a lookup still
   points at it (the lookup's callback frees it then). */
static void
tun_close(struct tun *t)
{
	struct egress *eg = t->eg;

	ev_io_stop(eg->loop, &t->crd);
	ev_io_stop(eg->loop, &t->cwr);
	ev_io_stop(eg->loop, &t->srd);
	ev_io_stop(eg->loop, &t->swr);
	ev_timer_stop(eg->loop, &t->tmo);
	close(t->cfd);
	if (t->sfd >= 0)
		close(t->sfd);
	record(t);
	if (t->prev)
		t->prev->next = t->next;
	else
		eg->tuns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	eg->ntun--;
	free(t->head);
	free(t->up.b);
	free(t->down.b);
	free(t->why);
	if (t->resolving)
		t->dead = 1;
	else
		free(t);
}

/* Too many tunnels: say so without keeping anything. */
static void
busy(struct egress *eg, int fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 36\r\n"
	    "Connection: close\r\n\r\ncorral: too many tunnels open now.\n";

	if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the sandbox is gone already */
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	(void)eg;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct egress *eg = w->data;
	struct tun *t;
	int fd, i;

	(void)revents;
	for (i = 0; i < 64; i++) {
		fd = accept4(eg->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
		    errno == ENOBUFS || errno == ENOMEM)) {
			/* Out of descriptors: pause, rather than spin on a
			   listener that stays readable. */
			logmsg("[%s] egress: accept: %s; pausing 1 s",
			    eg->alias, strerror(errno));
			ev_io_stop(loop, &eg->lw);
			ev_timer_start(loop, &eg->pause);
			return;
		}
		if (fd < 0)
			return;
		if (eg->ntun >= EGRESS_TUNNELS) {
			busy(eg, fd);
			continue;
		}
		t = xcalloc(1, sizeof(*t));
		t->eg = eg;
		t->cfd = fd;
		t->sfd = -1;
		t->rule = -1;
		t->t0 = mono_now();
		t->head = xmalloc(EGRESS_HEAD_MAX);
		t->up.b = xmalloc(EGRESS_BUF);
		t->down.b = xmalloc(EGRESS_BUF);
		ev_io_init(&t->crd, c_read_cb, fd, EV_READ);
		ev_io_init(&t->cwr, c_write_cb, fd, EV_WRITE);
		ev_io_init(&t->srd, s_read_cb, -1, EV_READ);
		ev_io_init(&t->swr, s_write_cb, -1, EV_WRITE);
		ev_timer_init(&t->tmo, tmo_cb, HEAD_TIMEOUT, HEAD_TIMEOUT);
		t->crd.data = t->cwr.data = t->srd.data = t->swr.data =
		    t->tmo.data = t;
		ev_timer_again(loop, &t->tmo);
		if ((t->next = eg->tuns) != NULL)
			t->next->prev = t;
		eg->tuns = t;
		eg->ntun++;
		tun_watch(t);
	}
}

static void
pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct egress *eg = w->data;

	(void)revents;
	ev_io_start(loop, &eg->lw);
}

struct egress *
egress_new(struct ev_loop *loop, struct trail *trail, const char *alias,
    const struct sandbox_conf *sb, int lfd)
{
	struct egress *eg = xcalloc(1, sizeof(*eg));

	eg->loop = loop;
	eg->trail = trail;
	eg->alias = xstrdup(alias);
	eg->rules = sb->net;
	eg->nrules = sb->nnet;
	eg->lfd = lfd;
	ev_io_init(&eg->lw, accept_cb, lfd, EV_READ);
	eg->lw.data = eg;
	ev_io_start(loop, &eg->lw);
	ev_timer_init(&eg->pause, pause_cb, 1, 0);
	eg->pause.data = eg;
	return eg;
}

int
egress_tunnels(const struct egress *eg)
{
	return eg ? eg->ntun : 0;
}

void
egress_free(struct egress *eg)
{
	int i;

	if (eg == NULL)
		return;
	ev_io_stop(eg->loop, &eg->lw);
	ev_timer_stop(eg->loop, &eg->pause);
	close(eg->lfd);
	while (eg->tuns) {
		if (eg->tuns->why == NULL && eg->tuns->st == T_SPLICE)
			eg->tuns->why = xstrdup("server stopped");
		tun_close(eg->tuns);
	}
	if (eg->ares_on) {
		for (i = 0; i < ARES_SLOTS; i++)
			if (ev_is_active(&eg->aw[i]))
				ev_io_stop(eg->loop, &eg->aw[i]);
		ev_timer_stop(eg->loop, &eg->at);
		/* Runs every pending callback: each frees its dead tunnel. */
		ares_destroy(eg->ch);
	}
	tell_suppressed(eg);
	free(eg->alias);
	free(eg);
}
