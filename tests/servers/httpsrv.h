/*
 * httpsrv — plumbing shared by the fake HTTP MCP servers (httpmcp,
 * ssemcp): memory and buffer helpers, JSON-RPC messages, pieces of
 * HTTP/1.1 heads, the request log, and the listening socket with its
 * signal self-pipe.
 *
 * Each server defines srv_name; die() and the Server header use it.
 * The common flags --port, --port-file and --log are parsed by
 * srv_flag() into o_port, o_port_file and o_log; srv_start() then
 * listens, opens the log and writes the port file.
 */
#ifndef HTTPSRV_H
#define HTTPSRV_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* The tools both servers offer, as tools/list entries. */
#define SRV_TOOL_ECHO \
    "{\"name\":\"echo\",\"description\":\"Echo the text back\"," \
    "\"inputSchema\":{\"type\":\"object\",\"properties\":" \
    "{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}}"
#define SRV_TOOL_ASK \
    "{\"name\":\"ask\",\"description\":\"Ask the client to sample, " \
    "answer with its text\",\"inputSchema\":{\"type\":\"object\"," \
    "\"properties\":{\"prompt\":{\"type\":\"string\"}}}}"
#define SRV_TOOL_WHOAMI \
    "{\"name\":\"whoami\",\"description\":\"The Authorization header " \
    "seen\",\"inputSchema\":{\"type\":\"object\",\"properties\":{}}}"

/* Defined by each server: "httpmcp", "ssemcp". */
extern const char srv_name[];

/* The common flags, the listening socket and the request log. */
extern unsigned long o_port;
extern const char *o_port_file;
extern const char *o_log;
extern int lfd;
extern FILE *logfp;

/* ---- memory ---- */

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int64_t now_ms(void);
/* nbytes (at most 32) random bytes as 2 * nbytes hex digits and a NUL. */
void rand_hex(char *out, size_t nbytes);

/* A growing byte string, always NUL-terminated once allocated; off is
 * for users that drain it (how much has been sent). */
struct buf {
	char	*p;
	size_t	 len, cap, off;
};

void buf_add(struct buf *b, const void *d, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);
/* Body bytes: one chunk when chunked, else as they are; none for n 0. */
void buf_chunk(struct buf *b, int chunked, const void *d, size_t n);

/* ---- JSON-RPC ---- */

const char *jstr(const cJSON *obj, const char *key);
cJSON *rpc_result(const cJSON *id, cJSON *result);
/* id NULL gives "id":null. */
cJSON *rpc_error(const cJSON *id, int code, const char *msg);
/* A tools/call result with one text item, isError if is_error. */
cJSON *text_result(const char *text, int is_error);
/* A sampling/createMessage request (takes id) asking prompt. */
cJSON *sampling_request(cJSON *id, const char *prompt);

/* ---- HTTP ---- */

struct hdr {
	char	*name, *value;
};

/* The first header of that name (any case), or NULL. */
const char *hdr_find(const struct hdr *h, int n, const char *name);
/* A header value without the white space around it (cut in place). */
char *hdr_trim(char *v);
/* 1 for "HTTP/1.1", 0 for "HTTP/1.0", else -1. */
int http_minor(const char *ver);
/* A request target's path (allocated) and query (in target; "" if none). */
void split_target(const char *target, char **path, const char **query);
/* The status line and the Server header. */
void head_start(struct buf *b, int code, const char *reason);
/* The Connection header HTTP/1.minor needs, then the head's end. */
void head_end(struct buf *b, int closing, int minor);

/* The request log (nothing without --log): " key=value" ('-' if NULL),
 * then " body=" with the body's start, a newline and a flush. */
void log_value(const char *key, const char *v);
void log_body(const char *body, size_t len);

/* ---- sockets and the process ---- */

unsigned long long num_arg(const char *flag, const char *s,
    unsigned long long max);
/* A flag without a value, setting *var to 1. */
struct srv_switch {
	const char	*flag;
	int		*var;
};
/*
 * Parses the command line: the switches in sw (ended by a NULL flag),
 * the flags with a value that flag takes (it returns 1 for those), and
 * --port, --port-file and --log.  Anything else, --help, or a flag
 * without its value exits 2 with "usage: NAME [--port N] [--port-file
 * FILE] [--log FILE]" and then usage on stderr.  A value with a line
 * break is refused once its flag is taken.
 */
void srv_args(int argc, char **argv, const struct srv_switch *sw,
    int (*flag)(const char *f, const char *v), const char *usage);
/* Signals, listening, the log and the port file; returns the port. */
int srv_start(int backlog);
void srv_stop(void);
/* Puts the signal pipe, then the listening socket if listening, in
 * pfd; returns how many it put. */
int srv_pollfds(struct pollfd *pfd, int listening);
/* After poll on those nfixed: accepts if the listening socket is
 * ready; returns 1 if a signal came. */
int srv_polled(const struct pollfd *pfd, int nfixed, void (*accept_fn)(void));
/* A new connection (non-blocking, TCP_NODELAY), or -1 with errno. */
int srv_accept(void);

/*
 * The connections, newest first.  Each server defines struct conn and
 * the four functions below, which the ones after them call.
 */
struct conn;
extern struct conn *conns;
extern int nconns;
struct conn **conn_link(struct conn *c);	/* where c's next is */
int conn_is_dead(const struct conn *c);
void conn_read(struct conn *c);
void conn_close(struct conn *c);

/* Puts c first in conns. */
void srv_add(struct conn *c);
/* Unlinks and frees the dead connections. */
void srv_reap(void);
/* Closes every connection, then reaps them. */
void srv_close_all(void);
/* poll's revents re for c: nothing if none or c is dead, an error
 * closes it, input or a hang-up reads it.  1 if the server should look
 * at c further. */
int srv_event(struct conn *c, short re);

#define SRV_AGAIN	(-1)	/* would block */
#define SRV_ERROR	(-2)	/* the connection is broken */
/* Bytes sent (> 0), SRV_AGAIN or SRV_ERROR. */
ssize_t srv_send(int fd, const void *p, size_t n);
/* Bytes read (> 0), 0 at the end, SRV_AGAIN or SRV_ERROR. */
ssize_t srv_recv(int fd, void *p, size_t n);

#endif
