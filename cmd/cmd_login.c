/* corral login: OAuth 2.1 authorization code flow with PKCE for a remote
   server, the browser coming back to a listener on 127.0.0.1; and corral
   logout. Blocking throughout: this is a command, not the broker. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/oauth.h"
#include "core/util.h"

#define LOGIN_USAGE \
	"usage: corral login [-c file] [--no-browser] [--timeout seconds] " \
	"alias\n"
#define LOGOUT_USAGE "usage: corral logout alias\n"
#define REQUEST_MAX	8192	/* the browser's request head */
#define READ_SECONDS	10	/* per connection to the listener */

/* One login in progress. */
struct login {
	const struct server_conf *s;
	struct oauth_meta m;
	int lfd;		/* the listener */
	char redirect[64];	/* http://127.0.0.1:PORT/callback */
	char *client_id, *client_secret;
	char *verifier, *state;
	char *code;		/* from the redirect */
	char *err;		/* why it failed */
};

/* Listen on an ephemeral port of 127.0.0.1. */
static int
listen_loopback(struct login *l)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(l->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l->lfd, 16) < 0 ||
	    getsockname(l->lfd, (struct sockaddr *)&a, &n) < 0) {
		l->err = xasprintf("cannot listen on 127.0.0.1: %s",
		    strerror(errno));
		return -1;
	}
	snprintf(l->redirect, sizeof(l->redirect),
	    "http://127.0.0.1:%u/callback", (unsigned)ntohs(a.sin_port));
	return 0;
}

/* The path of an executable named name on PATH; caller frees. */
static char *
find_on_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char *f;

	for (p = path ? path : ""; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		if (e == p)
			continue;
		f = xasprintf("%.*s/%s", (int)(e - p), p, name);
		if (access(f, X_OK) == 0)
			return f;
		free(f);
	}
	return NULL;
}

/* Start xdg-open url, detached (a grandchild with /dev/null for its
   output) so a browser that stays open never holds corral up. */
static void
open_browser(const char *url)
{
	char *prog = find_on_path("xdg-open");
	pid_t pid;
	int fd;

	if (prog == NULL)
		return;
	if ((pid = fork()) == 0) {
		setsid();
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		close_range(3, UINT_MAX, 0);
		if (fork() == 0) {
			execl(prog, "xdg-open", url, (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(prog);
}

/* Decode %XX and '+' in place. */
static void
pct_decode(char *s)
{
	char *o = s, h[3] = "";

	for (; *s; s++) {
		if (*s == '%' && s[1] && s[2] && strchr("0123456789abcdefABCDEF",
		    s[1]) && strchr("0123456789abcdefABCDEF", s[2])) {
			h[0] = s[1];
			h[1] = s[2];
			*o++ = (char)strtol(h, NULL, 16);
			s += 2;
		} else
			*o++ = *s == '+' ? ' ' : *s;
	}
	*o = '\0';
}

/* The decoded value of name in query q (first one); caller frees. */
static char *
query_get(const char *q, const char *name)
{
	size_t n = strlen(name), k;
	const char *p;
	char *v;

	for (p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		k = strcspn(p, "&");
		if (k > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			v = xstrndup(p + n + 1, k - n - 1);
			pct_decode(v);
			return v;
		}
	}
	return NULL;
}

/* Read a request head from fd within READ_SECONDS: the request line, or
   NULL. Caller frees. */
static char *
read_request(int fd)
{
	char b[REQUEST_MAX + 1];
	struct pollfd p = { fd, POLLIN, 0 };
	double end = mono_now() + READ_SECONDS;
	size_t got = 0;
	ssize_t n;

	while (got < REQUEST_MAX) {
		int left = (int)((end - mono_now()) * 1000);

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return NULL;
		if ((n = read(fd, b + got, REQUEST_MAX - got)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		got += n;
		b[got] = '\0';
		if (strstr(b, "\r\n\r\n") || strstr(b, "\n\n"))
			return xstrndup(b, strcspn(b, "\r\n"));
	}
	return NULL;
}

/* Answer the browser with a small plain text page, then hang up. */
static void
reply(int fd, int status, const char *text)
{
	char *r = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "Cache-Control: no-store\r\n\r\n%s", status, status == 200 ? "OK" :
	    status == 404 ? "Not Found" : status == 405 ?
	    "Method Not Allowed" : "Bad Request", strlen(text), text);
	size_t off = 0, len = strlen(r);
	ssize_t n;

	while (off < len && ((n = write(fd, r + off, len - off)) > 0 ||
	    (n < 0 && errno == EINTR)))
		off += n > 0 ? (size_t)n : 0;
	free(r);
	close(fd);
}

/* The redirect came back: take the code or say why not. */
static void
take_callback(struct login *l, const char *q, int fd)
{
	char *state = query_get(q, "state"), *code = query_get(q, "code");
	char *e = query_get(q, "error"), *d = query_get(q,
	    "error_description");

	if (state == NULL || strcmp(state, l->state) != 0)
		l->err = xstrdup("the redirect's state does not match this "
		    "login (a stale or forged redirect)");
	else if (e)
		l->err = xasprintf("the authorization server answered %s%s%s%s",
		    e, d ? " (" : "", d ? d : "", d ? ")" : "");
	else if (code == NULL || *code == '\0')
		l->err = xstrdup("the redirect holds no code");
	else {
		l->code = code;
		code = NULL;
	}
	reply(fd, l->err ? 400 : 200, l->err ? "corral: login failed; see "
	    "the terminal.\n" : "corral: login received; you can close this "
	    "window.\n");
	free(state);
	free(code);
	free(e);
	free(d);
}

/* Serve one connection: 1 when it was the callback (l->code or l->err
   set), 0 for anything else. */
static int
serve_one(struct login *l, int fd)
{
	char *line = read_request(fd), *target, *sp, *q;
	int done = 0;

	if (line == NULL) {
		close(fd);
		return 0;
	}
	if (strncmp(line, "GET ", 4) != 0) {
		reply(fd, 405, "only GET\n");
		free(line);
		return 0;
	}
	target = line + 4;
	if ((sp = strchr(target, ' ')) != NULL)
		*sp = '\0';
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';
	if (strcmp(target, "/callback") != 0)
		reply(fd, 404, "not found\n");
	else {
		take_callback(l, q ? q : "", fd);
		done = 1;
	}
	free(line);
	return done;
}

/* Wait for the browser's redirect until timeout seconds have passed. */
static int
wait_callback(struct login *l, double timeout)
{
	struct pollfd p = { l->lfd, POLLIN, 0 };
	double end = mono_now() + timeout;
	int fd, left;

	for (;;) {
		left = (int)((end - mono_now()) * 1000);
		if (left <= 0) {
			l->err = xasprintf("timed out after %g s waiting for the "
			    "browser to come back to %s", timeout, l->redirect);
			return -1;
		}
		if (poll(&p, 1, left) <= 0)
			continue;
		if ((fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (serve_one(l, fd))
			return l->err ? -1 : 0;
	}
}

/* A client: the configured one, else a registered one. */
static int
get_client(struct login *l)
{
	if (l->s->oauth_client_id) {
		l->client_id = xstrdup(l->s->oauth_client_id);
		if (l->s->oauth_client_secret)
			l->client_secret = xstrdup(l->s->oauth_client_secret);
		return 0;
	}
	return oauth_register(&l->m, l->redirect, l->s->oauth_allow_local,
	    &l->client_id, &l->client_secret, &l->err);
}

/* The whole flow; l->err says why it failed. */
static int
login_flow(struct login *l, int browser, double timeout)
{
	struct oauth_tokens *t = NULL;
	const char *scope;
	char challenge[44], *url, when[64];

	if (oauth_discover(l->s, &l->m, &l->err) < 0 ||
	    listen_loopback(l) < 0 || get_client(l) < 0)
		return -1;
	l->verifier = oauth_random(32);
	l->state = oauth_random(16);
	if (l->verifier == NULL || l->state == NULL) {
		l->err = xasprintf("getrandom: %s", strerror(errno));
		return -1;
	}
	oauth_pkce_challenge(l->verifier, challenge);
	scope = l->s->oauth_scopes ? l->s->oauth_scopes : l->m.scope ?
	    l->m.scope : l->m.scopes_supported;
	url = oauth_authorize_url(&l->m, l->client_id, l->redirect, challenge,
	    l->state, scope);
	fprintf(stderr, "Open this URL to log in to %s: %s\n", l->s->alias,
	    url);
	if (browser)
		open_browser(url);
	free(url);
	if (wait_callback(l, timeout) < 0 ||
	    oauth_exchange_code(l->s, &l->m, l->client_id, l->client_secret,
	    l->code, l->redirect, l->verifier, &t, &l->err) < 0)
		return -1;
	if (t->scope == NULL && scope)
		t->scope = xstrdup(scope);
	if (oauth_tokens_save(t, &l->err) < 0) {
		oauth_tokens_free(t);
		return -1;
	}
	oauth_expiry_text(t->expires_at, when, sizeof(when));
	logmsg("logged in to %s (the access token %s)", l->s->alias, when);
	oauth_tokens_free(t);
	return 0;
}

/* The remote server alias of cf, or NULL after saying why. */
static const struct server_conf *
find_remote(const struct config *cf, const char *alias)
{
	int i;

	for (i = 0; i < cf->nservers; i++) {
		if (strcmp(cf->servers[i].alias, alias) != 0)
			continue;
		if (!cf->servers[i].remote) {
			logmsg("login: %s: not a remote server (\"type\": "
			    "\"http\"); only remote servers log in", alias);
			return NULL;
		}
		return &cf->servers[i];
	}
	logmsg("login: %s: no such server in %s", alias, cf->path ? cf->path :
	    "the config");
	return NULL;
}

int
cmd_login(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-browser", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	struct login l;
	struct config *cf;
	double timeout = 300;
	char *end;
	int ch, browser = 1, r;

	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			browser = 0;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end == '\0' && timeout > 0 && timeout <= 86400)
				break;
			logmsg("login: --timeout: expected seconds from 1 to "
			    "86400");
			return 2;
		default:
			fputs(LOGIN_USAGE, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(LOGIN_USAGE, stderr);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 1;
	memset(&l, 0, sizeof(l));
	l.lfd = -1;
	if ((l.s = find_remote(cf, argv[optind])) == NULL) {
		config_free(cf);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = login_flow(&l, browser, timeout);
	if (r < 0)
		logmsg("login: %s: %s", l.s->alias, l.err);
	if (l.lfd >= 0)
		close(l.lfd);
	oauth_meta_clear(&l.m);
	free(l.client_id);
	free(l.client_secret);
	free(l.verifier);
	free(l.state);
	free(l.code);
	free(l.err);
	config_free(cf);
	curl_global_cleanup();
	return r < 0 ? 1 : 0;
}

int
cmd_logout(int argc, char **argv)
{
	const char *alias;
	char *err = NULL;
	int r;

	if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-' ||
	    strchr(argv[1], '/')) {
		fputs(LOGOUT_USAGE, stderr);
		return 2;
	}
	alias = argv[1];
	if ((r = oauth_tokens_remove(alias, &err)) < 0) {
		logmsg("logout: %s: %s", alias, err);
		free(err);
		return 1;
	}
	if (r == 0) {
		logmsg("logout: %s: no stored tokens", alias);
		return 1;
	}
	logmsg("logged out of %s (its tokens are removed)", alias);
	return 0;
}
