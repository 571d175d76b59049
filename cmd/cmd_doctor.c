/* corral doctor: can the sandbox run here, and can each configured server
   start (a remote one: be reached and initialize, with its OAuth state)? Tries what the sandbox needs (a real trial sandbox included),
   then checks the config and each server, and names the fix for every
   problem. Exit 0 when every enabled server can start, 1 otherwise. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/netaddr.h"
#include "core/oauth.h"
#include "core/util.h"
#include "sandbox/sandbox.h"

extern char **environ;

#define MAX_CHECKS 32

static const char *const level_word[] = { "ok  ", "note", "FAIL" };

struct answer {
	struct buf body;
	char *session;
};

static size_t
body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;

	(void)buf_add(&a->body, p, size * n);	/* beyond the cap: dropped */
	return size * n;
}

static size_t
head_cb(char *h, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (len > 15 && strncasecmp(h, "mcp-session-id:", 15) == 0) {
		char *v = h + 15;
		size_t k = len - 15;

		while (k > 0 && (*v == ' ' || *v == '\t'))
			v++, k--;
		while (k > 0 && (v[k - 1] == '\r' || v[k - 1] == '\n'))
			k--;
		free(a->session);
		a->session = xstrndup(v, k);
	}
	return len;
}

/* An easy handle for a request to remote server s: its headers and
   accept, answers to a's body (through write), errors into err. */
static CURL *
remote_easy(const struct server_conf *s, struct curl_slist **h,
    const char *accept, struct answer *a, curl_write_callback write,
    char *err)
{
	CURL *e;
	int i;

	if ((e = curl_easy_init()) == NULL) {
		printf("FAIL  server %s: cannot start libcurl\n", s->alias);
		return NULL;
	}
	memset(a, 0, sizeof(*a));
	buf_init(&a->body, 64 * 1024);
	for (i = 0; i < s->nheaders; i++)
		*h = curl_slist_append(*h, s->headers[i]);
	*h = curl_slist_append(*h, accept);
	curl_easy_setopt(e, CURLOPT_URL, s->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *h);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(s->t_start * 1000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "corral");
	return e;
}

/* Refresh tokens t that have expired; says how it went. */
static int
refresh_tokens(const struct server_conf *s, struct oauth_tokens *t)
{
	struct oauth_refresh *r;
	char *err = NULL;
	CURL *e;
	int rc;

	if ((r = oauth_refresh_new(t, s->oauth_allow_local, &e, &err)) ==
	    NULL) {
		printf("FAIL  server %s: the access token has expired: %s\n",
		    s->alias, err);
		free(err);
		return -1;
	}
	rc = oauth_refresh_done(r, curl_easy_perform(e), &err);
	oauth_refresh_free(r);
	if (rc < 0) {
		printf("FAIL  server %s: the access token has expired and "
		    "could not be refreshed: %s; run `corral login %s`\n",
		    s->alias, err, s->alias);
		free(err);
		return -1;
	}
	printf("ok    server %s: the access token had expired; refreshed\n",
	    s->alias);
	return 0;
}

/* The server's stored tokens, when there are usable ones; says why
   others are not used. -1: a broken token file. */
static int
load_tokens(const struct server_conf *s, struct oauth_tokens **t)
{
	char *err = NULL;

	switch (oauth_tokens_load(s->alias, s->url, t, &err)) {
	case OAUTH_LOAD_OK:
		if (oauth_tokens_expired(*t, time(NULL)) &&
		    refresh_tokens(s, *t) < 0) {
			oauth_tokens_free(*t);
			*t = NULL;
		}
		return 0;
	case OAUTH_LOAD_OTHER_URL:
		printf("note  server %s: the stored token is for another URL "
		    "(%s), not used; run `corral login %s` if it needs one\n",
		    s->alias, (*t)->server_url, s->alias);
		oauth_tokens_free(*t);
		*t = NULL;
		return 0;
	case OAUTH_LOAD_NONE:
		return 0;
	default:
		printf("FAIL  server %s: %s\n", s->alias, err);
		free(err);
		return -1;
	}
}

/* The auth state of a server that answered initialize. */
static void
print_auth(const struct server_conf *s, const struct oauth_tokens *t)
{
	char when[64];

	if (t == NULL) {
		printf("ok    server %s: no login needed\n", s->alias);
		return;
	}
	oauth_expiry_text(t->expires_at, when, sizeof(when));
	printf("ok    server %s: logged in, the access token %s\n", s->alias,
	    when);
}

/* A remote server: can it be reached, and does it initialize? One
   initialize POST (then DELETE of the session it opened), with the
   stored OAuth token if there is one. */
static int
check_remote(const struct server_conf *s)
{
	static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
	    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":"
	    "\"corral-doctor\",\"version\":\"1\"}}}";
	struct curl_slist *h = NULL;
	struct oauth_tokens *t = NULL;
	struct answer a;
	char err[CURL_ERROR_SIZE] = "", *auth;
	CURLcode rc;
	CURL *e;
	long code = 0;
	int r = -1;

	if (load_tokens(s, &t) < 0)
		return -1;
	if (t) {
		auth = oauth_auth_header(t);
		h = curl_slist_append(h, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	if ((e = remote_easy(s, &h, "Accept: application/json, "
	    "text/event-stream", &a, body_cb, err)) == NULL) {
		curl_slist_free_all(h);
		oauth_tokens_free(t);
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, init);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, head_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &a);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK && !(rc == CURLE_OPERATION_TIMEDOUT &&
	    buf_used(&a.body) > 0 && strstr(buf_head(&a.body), "\"result\"")))
		printf("FAIL  server %s: cannot reach %s: %s\n", s->alias, s->url,
		    err[0] ? err : curl_easy_strerror(rc));
	else if (code == 401 && t)
		printf("FAIL  server %s: the server refused the stored token "
		    "(HTTP 401); run `corral login %s`\n", s->alias, s->alias);
	else if (code == 401)
		printf("FAIL  server %s: needs authorization (HTTP 401); run "
		    "`corral login %s` (or give it a token in \"headers\")\n",
		    s->alias, s->alias);
	else if (code < 200 || code >= 300)
		printf("FAIL  server %s: initialize answered HTTP %ld\n",
		    s->alias, code);
	else if (buf_used(&a.body) == 0 ||
	    strstr(buf_head(&a.body), "\"result\"") == NULL)
		printf("FAIL  server %s: initialize got no result (HTTP %ld)\n",
		    s->alias, code);
	else {
		printf("ok    server %s: reachable, initialize answered (%s)\n",
		    s->alias, s->url);
		print_auth(s, t);
		r = 0;
	}
	if (a.session) {
		/* Do not leave the session it opened behind. */
		char *sh = xasprintf("Mcp-Session-Id: %s", a.session);

		h = curl_slist_append(h, sh);
		free(sh);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
		(void)curl_easy_perform(e);
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	buf_free(&a.body);
	free(a.session);
	oauth_tokens_free(t);
	return r;
}

/* The legacy HTTP+SSE transport: the GET stream's first event names the
   endpoint; reading stops there (the stream would go on forever). */
static size_t
endpoint_cb(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	const char *s, *d;

	(void)buf_add(&a->body, p, size * n);
	s = buf_head(&a->body);
	if (buf_used(&a->body) > 0 && memchr(s, '\0', buf_used(&a->body)) ==
	    NULL && (s = strstr(s, "event: endpoint")) != NULL &&
	    (d = strstr(s, "\ndata:")) != NULL && strchr(d + 1, '\n')) {
		d += 6;
		d += *d == ' ';
		a->session = xstrndup(d, strcspn(d, "\r\n"));
		return 0;	/* enough */
	}
	return size * n;
}

static int
check_legacy(const struct server_conf *s)
{
	struct curl_slist *h = NULL;
	struct answer a;
	char err[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *e;
	long code = 0;
	int r = -1;

	if ((e = remote_easy(s, &h, "Accept: text/event-stream", &a,
	    endpoint_cb, err)) == NULL)
		return -1;
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (a.session) {
		printf("ok    server %s: reachable, its event stream names the "
		    "endpoint %s (%s)\n", s->alias, a.session, s->url);
		r = 0;
	} else if (rc != CURLE_OK && code == 0)
		printf("FAIL  server %s: cannot reach %s: %s\n", s->alias, s->url,
		    err[0] ? err : curl_easy_strerror(rc));
	else if (code < 200 || code >= 300)
		printf("FAIL  server %s: the event stream answered HTTP %ld\n",
		    s->alias, code);
	else
		printf("FAIL  server %s: no \"endpoint\" event on the event "
		    "stream (HTTP %ld%s%s)\n", s->alias, code, rc != CURLE_OK ?
		    ", " : "", rc != CURLE_OK ? curl_easy_strerror(rc) : "");
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	buf_free(&a.body);
	free(a.session);
	return r;
}

/* What a named entry of a host list resolves to here: a note when it
   does not resolve, or only to addresses the proxy refuses (not public,
   and not named by an entry of the list). Wildcards and addresses are
   not looked up. */
static void
check_host(const char *alias, const struct sandbox_conf *sb,
    const struct net_rule *r)
{
	struct addrinfo h, *res, *a;
	char ip[INET6_ADDRSTRLEN] = "";
	const char *cls = NULL;
	const void *bytes;
	int e, public = 0;

	if (r->wild || r->family)
		return;
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_UNSPEC;
	h.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(r->host, NULL, &h, &res)) != 0) {
		printf("note  server %s: network entry \"%s\": %s does not "
		    "resolve here (%s); the proxy will answer 502\n", alias,
		    r->text, r->host, gai_strerror(e));
		return;
	}
	for (a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET)
			bytes = &((struct sockaddr_in *)a->ai_addr)->sin_addr;
		else if (a->ai_family == AF_INET6)
			bytes = &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
		else
			continue;
		if (netaddr_special(a->ai_family, bytes) == NULL ||
		    netaddr_match_addr(sb->net, sb->nnet, a->ai_family, bytes,
		    r->port ? r->port : 443) >= 0)
			public = 1;
		else if (cls == NULL) {
			cls = netaddr_special(a->ai_family, bytes);
			inet_ntop(a->ai_family, bytes, ip, sizeof(ip));
		}
	}
	freeaddrinfo(res);
	if (!public && cls)
		printf("note  server %s: network entry \"%s\": %s resolves "
		    "only to %s (%s), which the proxy refuses unless an entry "
		    "names that address\n", alias, r->text, r->host, ip, cls);
}

/* Check one server: its command, its grants and HOME, the machine. */
static int
check_server(const struct server_conf *s, int ns_ok, int ll_ok)
{
	struct sandbox_spec sp;
	char *path, *why = NULL, *dep, *line, *nl;
	int r, i;

	if (s->disabled) {
		printf("ok    server %s: disabled, not started\n", s->alias);
		return 0;
	}
	if (s->remote)
		return s->legacy_sse ? check_legacy(s) : check_remote(s);
	if ((path = sandbox_resolve(s->command, environ)) == NULL) {
		printf("FAIL  server %s: %s: %s; fix the command or PATH\n",
		    s->alias, s->command, errno == ENOENT ?
		    "command not found" : strerror(errno));
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.alias = s->alias;
	sp.path = path;
	sp.argv = s->argv;
	sp.envp = environ;
	sp.cwd = s->cwd;
	sp.conf = &s->sandbox;
	r = sandbox_check_server(&sp, ns_ok, ll_ok, &why);
	if (r < 0)
		printf("FAIL  server %s: cannot start: %s\n", s->alias, why);
	else if (s->sandbox.profile_none)
		printf("note  server %s: can start, NOT SANDBOXED "
		    "(\"profile\": \"none\")\n", s->alias);
	else if (!ns_ok)
		printf("note  server %s: can start, degraded (Landlock, "
		    "seccomp and limits only)\n", s->alias);
	else
		printf("ok    server %s: can start (%s)\n", s->alias, path);
	if ((dep = sandbox_departures(&s->sandbox)) != NULL) {
		for (line = dep; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			printf("        %.*s\n", (int)(nl ? nl - line :
			    (long)strlen(line)), line);
		}
		free(dep);
	}
	for (i = 0; !s->sandbox.net_full && i < s->sandbox.nnet; i++)
		check_host(s->alias, &s->sandbox, &s->sandbox.net[i]);
	free(why);
	free(path);
	return r;
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct sandbox_check c[MAX_CHECKS];
	const char *path = NULL;
	struct config *cf = NULL;
	char *def = NULL, *aa;
	int ch, n, i, ns_ok, ll_ok, bad = 0, apparmor = 0;

	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			fprintf(stderr, "usage: corral doctor [-c file]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: corral doctor [-c file]\n");
		return 2;
	}
	printf("sandbox backend: %s\n", sandbox_backend());
	n = sandbox_checks(c, MAX_CHECKS, &ns_ok, &ll_ok);
	for (i = 0; i < n; i++) {
		printf("%s  %s: %s\n", level_word[c[i].level], c[i].name,
		    c[i].detail);
		if (c[i].level == 2 && strstr(c[i].name, "apparmor"))
			apparmor = 1;
		free(c[i].detail);
	}
	if (apparmor) {
		aa = sandbox_apparmor_profile();
		printf("\n%s\n", aa);
		free(aa);
	}
	/* Without -c, a missing default config is not an error: there is
	   simply nothing more to check. */
	if (path == NULL) {
		def = config_default_path();
		if (access(def, F_OK) < 0 && errno == ENOENT) {
			printf("note  config: none at %s\n", def);
			free(def);
			return ns_ok ? 0 : 1;
		}
	}
	fflush(stdout);
	if ((cf = cmd_load_config(path ? path : def)) == NULL) {
		printf("FAIL  config: %s: see the message above\n",
		    path ? path : def);
		free(def);
		return 1;
	}
	printf("ok    config: %s, %d server%s\n", cf->path ? cf->path :
	    (path ? path : def), cf->nservers, cf->nservers == 1 ? "" : "s");
	for (i = 0; i < cf->nservers; i++)
		if (check_server(&cf->servers[i], ns_ok, ll_ok) < 0)
			bad = 1;
	config_free(cf);
	free(def);
	return bad ? 1 : 0;
}
