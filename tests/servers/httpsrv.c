/*
 * httpsrv — plumbing shared by the fake HTTP MCP servers.  See httpsrv.h.
 */
#include "tests/servers/httpsrv.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_BODY	200

unsigned long o_port;
const char *o_port_file;
const char *o_log;
int lfd = -1;
FILE *logfp;
struct conn *conns;
int nconns;

static int sigfd[2] = { -1, -1 };

/* ---- memory ---- */

void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", srv_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
rand_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[32];
	size_t i;

	if (nbytes > sizeof(b) ||
	    getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		die("getrandom failed");
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* ---- buffers ---- */

/* Room for n more bytes and a NUL. */
static void
buf_grow(struct buf *b, size_t n)
{
	size_t cap;

	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *d, size_t n)
{
	buf_grow(b, n);
	if (n > 0)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vsnprintf failed");
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
buf_chunk(struct buf *b, int chunked, const void *d, size_t n)
{
	if (n == 0)
		return;
	if (chunked)
		buf_addf(b, "%zx\r\n", n);
	buf_add(b, d, n);
	if (chunked)
		buf_add(b, "\r\n", 2);
}

/* ---- JSON-RPC ---- */

const char *
jstr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *
rpc_message(const cJSON *id)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	if (id != NULL)
		cJSON_AddItemToObject(m, "id", cJSON_Duplicate(id, 1));
	else
		cJSON_AddNullToObject(m, "id");
	return m;
}

cJSON *
rpc_result(const cJSON *id, cJSON *result)
{
	cJSON *m = rpc_message(id);

	cJSON_AddItemToObject(m, "result", result);
	return m;
}

cJSON *
rpc_error(const cJSON *id, int code, const char *msg)
{
	cJSON *m = rpc_message(id), *e;

	e = cJSON_AddObjectToObject(m, "error");
	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	return m;
}

cJSON *
text_result(const char *text, int is_error)
{
	cJSON *res = cJSON_CreateObject();
	cJSON *content = cJSON_AddArrayToObject(res, "content");
	cJSON *item = cJSON_CreateObject();

	cJSON_AddStringToObject(item, "type", "text");
	cJSON_AddStringToObject(item, "text", text);
	cJSON_AddItemToArray(content, item);
	if (is_error)
		cJSON_AddTrueToObject(res, "isError");
	return res;
}

cJSON *
sampling_request(cJSON *id, const char *prompt)
{
	cJSON *m = cJSON_CreateObject(), *p, *msgs, *one, *content;

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	cJSON_AddItemToObject(m, "id", id);
	cJSON_AddStringToObject(m, "method", "sampling/createMessage");
	p = cJSON_AddObjectToObject(m, "params");
	msgs = cJSON_AddArrayToObject(p, "messages");
	one = cJSON_CreateObject();
	cJSON_AddStringToObject(one, "role", "user");
	content = cJSON_AddObjectToObject(one, "content");
	cJSON_AddStringToObject(content, "type", "text");
	cJSON_AddStringToObject(content, "text", prompt);
	cJSON_AddItemToArray(msgs, one);
	cJSON_AddNumberToObject(p, "maxTokens", 100);
	return m;
}

/* ---- HTTP ---- */

const char *
hdr_find(const struct hdr *h, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

char *
hdr_trim(char *v)
{
	char *e;

	v += strspn(v, " \t");
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return v;
}

int
http_minor(const char *ver)
{
	if (strcmp(ver, "HTTP/1.1") == 0)
		return 1;
	if (strcmp(ver, "HTTP/1.0") == 0)
		return 0;
	return -1;
}

void
split_target(const char *target, char **path, const char **query)
{
	const char *q = strchr(target, '?');

	*path = q ? xstrndup(target, (size_t)(q - target)) : xstrdup(target);
	*query = q ? q + 1 : target + strlen(target);
}

void
head_start(struct buf *b, int code, const char *reason)
{
	buf_addf(b, "HTTP/1.1 %d %s\r\nServer: %s\r\n", code, reason,
	    srv_name);
}

void
head_end(struct buf *b, int closing, int minor)
{
	if (closing)
		buf_adds(b, "Connection: close\r\n");
	else if (minor == 0)
		buf_adds(b, "Connection: keep-alive\r\n");
	buf_add(b, "\r\n", 2);
}

void
log_value(const char *key, const char *v)
{
	fprintf(logfp, " %s=%.512s", key, v != NULL ? v : "-");
}

void
log_body(const char *body, size_t len)
{
	size_t i, n = len < LOG_BODY ? len : LOG_BODY;

	fputs(" body=", logfp);
	if (body == NULL || len == 0)
		fputc('-', logfp);
	else
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)body[i];

			fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, logfp);
		}
	fputc('\n', logfp);
	fflush(logfp);
}

/* ---- sockets and the process ---- */

unsigned long long
num_arg(const char *flag, const char *s, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9')
		die("%s: a number is needed", flag);
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > max)
		die("%s: bad number %s", flag, s);
	return v;
}

static int
srv_flag(const char *f, const char *v)
{
	if (strcmp(f, "--port") == 0)
		o_port = (unsigned long)num_arg(f, v, 65535);
	else if (strcmp(f, "--port-file") == 0)
		o_port_file = v;
	else if (strcmp(f, "--log") == 0)
		o_log = v;
	else
		return 0;
	return 1;
}

static int
srv_switch(const char *f, const struct srv_switch *sw)
{
	for (; sw->flag != NULL; sw++)
		if (strcmp(f, sw->flag) == 0) {
			*sw->var = 1;
			return 1;
		}
	return 0;
}

static void __attribute__((noreturn))
srv_usage(const char *rest)
{
	fprintf(stderr, "usage: %s [--port N] [--port-file FILE] "
	    "[--log FILE]%s", srv_name, rest);
	exit(2);
}

void
srv_args(int argc, char **argv, const struct srv_switch *sw,
    int (*flag)(const char *f, const char *v), const char *usage)
{
	const char *f, *v;
	int i;

	for (i = 1; i < argc; i++) {
		f = argv[i];
		v = i + 1 < argc ? argv[i + 1] : NULL;
		if (srv_switch(f, sw))
			continue;
		if (strcmp(f, "--help") == 0 || strncmp(f, "--", 2) != 0 ||
		    v == NULL)
			srv_usage(usage);
		i++;
		if (!flag(f, v) && !srv_flag(f, v))
			srv_usage(usage);
		if (strpbrk(v, "\r\n") != NULL)
			die("%s: no line breaks allowed", f);
	}
}

static void
on_signal(int sig)
{
	char ch = (char)sig;
	int e = errno;
	ssize_t n = write(sigfd[1], &ch, 1);

	(void)n;
	errno = e;
}

static int
listen_on(int backlog)
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
	if (listen(lfd, backlog) != 0)
		die("listen: %s", strerror(errno));
	if (getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
		die("getsockname: %s", strerror(errno));
	return ntohs(sa.sin_port);
}

static void
write_port_file(int port)
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

int
srv_start(int backlog)
{
	struct sigaction sa;
	int port;

	if (pipe2(sigfd, O_NONBLOCK | O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	port = listen_on(backlog);
	if (o_log != NULL && (logfp = fopen(o_log, "a")) == NULL)
		die("%s: %s", o_log, strerror(errno));
	if (o_port_file != NULL)
		write_port_file(port);
	fprintf(stderr, "%s: listening on 127.0.0.1:%d\n", srv_name, port);
	return port;
}

void
srv_stop(void)
{
	if (logfp != NULL)
		fclose(logfp);
	close(lfd);
	close(sigfd[0]);
	close(sigfd[1]);
}

int
srv_pollfds(struct pollfd *pfd, int listening)
{
	int n = 0;

	pfd[n].fd = sigfd[0];
	pfd[n++].events = POLLIN;
	if (listening) {
		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
	}
	return n;
}

int
srv_polled(const struct pollfd *pfd, int nfixed, void (*accept_fn)(void))
{
	if (nfixed > 1 && pfd[1].revents != 0)
		accept_fn();
	return pfd[0].revents != 0;
}

int
srv_accept(void)
{
	int fd, one = 1;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

void
srv_add(struct conn *c)
{
	*conn_link(c) = conns;
	conns = c;
	nconns++;
}

void
srv_reap(void)
{
	struct conn **pp = &conns, *c;

	while ((c = *pp) != NULL) {
		if (conn_is_dead(c)) {
			*pp = *conn_link(c);
			free(c);
			nconns--;
		} else
			pp = conn_link(c);
	}
}

void
srv_close_all(void)
{
	struct conn *c;

	for (c = conns; c != NULL; c = *conn_link(c))
		conn_close(c);
	srv_reap();
}

int
srv_event(struct conn *c, short re)
{
	if (re == 0 || conn_is_dead(c))
		return 0;
	if (re & POLLERR) {
		conn_close(c);
		return 0;
	}
	if (re & (POLLIN | POLLHUP))
		conn_read(c);
	return 1;
}

ssize_t
srv_send(int fd, const void *p, size_t n)
{
	ssize_t r;

	do
		r = send(fd, p, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r;
	return errno == EAGAIN || errno == EWOULDBLOCK ? SRV_AGAIN :
	    SRV_ERROR;
}

ssize_t
srv_recv(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = recv(fd, p, n, 0);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r;
	return errno == EAGAIN || errno == EWOULDBLOCK ? SRV_AGAIN :
	    SRV_ERROR;
}
