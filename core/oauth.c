/* OAuth 2.1 for remote servers: discovery, registration, PKCE, the code
   exchange, refresh and the token files. See oauth.h. */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "core/buf.h"
#include "core/oauth.h"
#include "core/state.h"
#include "core/util.h"

#define ANSWER_MAX	(1024 * 1024)	/* metadata and token answers */
#define HTTP_TIMEOUT_MS	30000L
#define CONNECT_MS	10000L

/* ---- addresses ---------------------------------------------------------- */

/* Why an IPv4 address (host order) is refused, or NULL. */
static const char *
v4_refused(uint32_t a)
{
	if ((a >> 24) == 0)
		return "a \"this network\" address (0.0.0.0/8)";
	if ((a >> 24) == 127)
		return "a loopback address";
	if ((a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8)
		return "a private address";
	if ((a >> 22) == 0x191)
		return "a shared (CGNAT) address";
	if ((a >> 16) == 0xa9fe)
		return "a link-local address";
	if (a == 0xffffffffu)
		return "a broadcast address";
	if ((a >> 28) == 0xe)
		return "a multicast address";
	if ((a >> 28) == 0xf)
		return "a reserved address";
	return NULL;
}

/* Why an IPv6 address is refused, or NULL; embedded IPv4 is checked. */
static const char *
v6_refused(const unsigned char *b)
{
	static const unsigned char zero[12];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	uint32_t v4;

	memcpy(&v4, b + 12, 4);
	v4 = ntohl(v4);
	if (memcmp(b, zero, 12) == 0) {
		if (v4 == 0)
			return "the unspecified address";
		if (v4 == 1)
			return "a loopback address";
		return v4_refused(v4) ? v4_refused(v4) :
		    "an IPv4-compatible address";
	}
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return v4_refused(v4);
	if (b[0] == 0x20 && b[1] == 0x02) {
		/* 6to4: the IPv4 address follows the prefix. */
		memcpy(&v4, b + 2, 4);
		return v4_refused(ntohl(v4));
	}
	if ((b[0] & 0xfe) == 0xfc)
		return "a unique local address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "a link-local address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "a site-local address";
	if (b[0] == 0xff)
		return "a multicast address";
	return NULL;
}

const char *
oauth_addr_refused(const struct sockaddr *sa)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return "not an IP address";
	switch (sa->sa_family) {
	case AF_INET:
		s4 = (const struct sockaddr_in *)sa;
		return v4_refused(ntohl(s4->sin_addr.s_addr));
	case AF_INET6:
		s6 = (const struct sockaddr_in6 *)sa;
		return v6_refused(s6->sin6_addr.s6_addr);
	default:
		return "not an IP address";
	}
}

const char *
oauth_addr_text_refused(const char *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return v4_refused(ntohl(a4.s_addr));
	if (inet_pton(AF_INET6, ip, &a6) == 1)
		return v6_refused(a6.s6_addr);
	return "not an IP address";
}

/* The text form of an address, for messages. */
static void
addr_text(const struct sockaddr *sa, char *out, size_t n)
{
	const void *p = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, p, out, n) == NULL)
		snprintf(out, n, "an address");
}

int
oauth_url_check(const char *url, int allow_local, char **why)
{
	char *scheme = NULL, *host = NULL, *h;
	const char *bad;
	size_t n;
	CURLU *cu = curl_url();
	int r = -1;

	if (cu == NULL || curl_url_set(cu, CURLUPART_URL, url, 0) !=
	    CURLUE_OK || curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0) !=
	    CURLUE_OK || curl_url_get(cu, CURLUPART_HOST, &host, 0) !=
	    CURLUE_OK) {
		*why = xasprintf("%s: not a valid URL", url);
		goto out;
	}
	if (strcmp(scheme, "https") != 0 && !(allow_local &&
	    strcmp(scheme, "http") == 0)) {
		*why = xasprintf("%s: refused: discovery URLs must be https",
		    url);
		goto out;
	}
	h = host;
	n = strlen(h);
	if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		h++;
	}
	if (!allow_local && (bad = oauth_addr_text_refused(h)) != NULL &&
	    strcmp(bad, "not an IP address") != 0) {
		*why = xasprintf("%s: refused: %s is %s; discovery URLs must "
		    "lead to public addresses", url, h, bad);
		goto out;
	}
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(cu);
	return r;
}

/* ---- PKCE and random values --------------------------------------------- */

void
oauth_b64url(const unsigned char *p, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = abc[v >> 18];
		*out++ = abc[(v >> 12) & 63];
		*out++ = abc[(v >> 6) & 63];
		*out++ = abc[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		*out++ = abc[v >> 18];
		*out++ = abc[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*out++ = abc[v >> 18];
		*out++ = abc[(v >> 12) & 63];
		*out++ = abc[(v >> 6) & 63];
	}
	*out = '\0';
}

char *
oauth_random(size_t n)
{
	unsigned char b[96];
	size_t got = 0;
	ssize_t k;
	char *out;

	if (n > sizeof(b))
		return NULL;
	while (got < n) {
		k = getrandom(b + got, n - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return NULL;
		got += k;
	}
	out = xmalloc(4 * ((n + 2) / 3) + 1);
	oauth_b64url(b, n, out);
	explicit_bzero(b, sizeof(b));
	return out;
}

void
oauth_pkce_challenge(const char *verifier, char out[44])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)verifier, strlen(verifier), md);
	oauth_b64url(md, sizeof(md), out);
}

/* ---- WWW-Authenticate and well-known URLs ------------------------------- */

static size_t
token_len(const char *p)
{
	return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789!#$%&'*+-.^_`|~");
}

/* A quoted-string or token value at *pp; advances *pp. Caller frees. */
static char *
param_value(const char **pp)
{
	const char *p = *pp;
	struct buf b;
	size_t n;

	if (*p != '"') {
		n = strcspn(p, " \t,");
		*pp = p + n;
		return xstrndup(p, n);
	}
	buf_init(&b, 0);
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		buf_add(&b, p, 1);
	}
	if (*p == '"')
		p++;
	*pp = p;
	return buf_steal(&b, NULL);
}

int
oauth_parse_www_authenticate(const char *v, char **rm, char **scope)
{
	const char *p = v, *name, *r;
	int bearer = 0, in_bearer = 0;
	size_t n;
	char *val;

	*rm = *scope = NULL;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		if ((n = token_len(p)) == 0) {
			p++;		/* not HTTP: skip the byte */
			continue;
		}
		name = p;
		r = p + n;
		r += strspn(r, " \t");
		if (*r == '=' && r[1] != '=') {
			/* name=value: a parameter of the current scheme */
			r++;
			r += strspn(r, " \t");
			val = param_value(&r);
			p = r;
			if (in_bearer && n == 17 && strncasecmp(name,
			    "resource_metadata", n) == 0 && *rm == NULL)
				*rm = val;
			else if (in_bearer && n == 5 && strncasecmp(name,
			    "scope", n) == 0 && *scope == NULL)
				*scope = val;
			else
				free(val);
		} else if (*r == '=') {
			p = r + strspn(r, "=");	/* token68's padding */
		} else {
			in_bearer = n == 6 && strncasecmp(name, "Bearer", 6) ==
			    0;
			bearer |= in_bearer;
			p = name + n;
		}
	}
	if (!bearer) {
		free(*rm);
		free(*scope);
		*rm = *scope = NULL;
	}
	return bearer;
}

int
oauth_metadata_urls(const char *url, int issuer, char *out[4])
{
	static const char prm[] = "/.well-known/oauth-protected-resource";
	static const char asm_[] = "/.well-known/oauth-authorization-server";
	static const char oidc[] = "/.well-known/openid-configuration";
	char *path = NULL, *u, *p;
	const char *fmt[3];
	CURLU *cu = curl_url();
	int n = 0, i, nf;
	size_t len;

	out[0] = NULL;
	if (cu == NULL || curl_url_set(cu, CURLUPART_URL, url, 0) !=
	    CURLUE_OK || curl_url_get(cu, CURLUPART_PATH, &path, 0) !=
	    CURLUE_OK) {
		curl_url_cleanup(cu);
		return -1;
	}
	p = xstrdup(path);
	curl_free(path);
	len = strlen(p);
	while (len > 0 && p[len - 1] == '/')
		p[--len] = '\0';
	/* %1$s: the well-known name, %2$s: the path */
	if (!issuer) {
		fmt[0] = len ? "%s%s" : NULL;
		fmt[1] = "%s";
		nf = 2;
	} else if (len) {
		fmt[0] = "%s%s";
		fmt[1] = "%s%s";
		fmt[2] = "";
		nf = 3;
	} else {
		fmt[0] = "%s";
		fmt[1] = "%s";
		nf = 2;
	}
	curl_url_set(cu, CURLUPART_QUERY, NULL, 0);
	curl_url_set(cu, CURLUPART_FRAGMENT, NULL, 0);
	for (i = 0; i < nf; i++) {
		const char *wk = !issuer ? prm : i == 0 ? asm_ : oidc;
		char *np;

		if (fmt[i] == NULL)
			continue;
		if (issuer && len && i == 2)
			np = xasprintf("%s%s", p, oidc);
		else if (strcmp(fmt[i], "%s%s") == 0)
			np = xasprintf("%s%s", wk, p);
		else
			np = xstrdup(wk);
		u = NULL;
		if (curl_url_set(cu, CURLUPART_PATH, np, 0) == CURLUE_OK &&
		    curl_url_get(cu, CURLUPART_URL, &u, 0) == CURLUE_OK)
			out[n++] = xstrdup(u);
		curl_free(u);
		free(np);
	}
	out[n] = NULL;
	free(p);
	curl_url_cleanup(cu);
	return n;
}

/* ---- HTTP --------------------------------------------------------------- */

/* Where a guarded transfer may connect, and why it was refused. */
struct guard {
	int on;
	int allow_local;
	char why[160];
};

/* Open a socket only to a permitted address (CURLOPT_OPENSOCKETFUNCTION):
   checked at connect time, whatever the name resolved to. */
static curl_socket_t
open_guarded(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct guard *g = arg;
	const char *why;
	char ip[INET6_ADDRSTRLEN];

	if (purpose != CURLSOCKTYPE_IPCXN) {
		snprintf(g->why, sizeof(g->why), "not an IP connection");
		return CURL_SOCKET_BAD;
	}
	if (g->on && !g->allow_local &&
	    (why = oauth_addr_refused(&a->addr)) != NULL) {
		if (a->family == AF_INET || a->family == AF_INET6)
			addr_text(&a->addr, ip, sizeof(ip));
		else
			snprintf(ip, sizeof(ip), "the address");
		snprintf(g->why, sizeof(g->why), "%s is %s", ip, why);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* One transfer's answer. */
struct answer {
	struct buf body;
	struct buf www;		/* WWW-Authenticate values, joined */
	struct guard g;
	char err[CURL_ERROR_SIZE];
	int toobig;
};

static size_t
answer_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;

	if (buf_used(&a->body) + size * n > ANSWER_MAX ||
	    buf_add(&a->body, p, size * n) < 0) {
		a->toobig = 1;
		return 0;
	}
	return size * n;
}

static size_t
answer_head(char *h, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (buf_used(&a->www) + len + 2 > 16 * 1024)
		return len;	/* enough of them */
	if (len > 17 && strncasecmp(h, "www-authenticate:", 17) == 0) {
		if (buf_used(&a->www) > 0)
			buf_adds(&a->www, ", ");
		while (len > 17 && (h[len - 1] == '\r' || h[len - 1] == '\n'))
			len--;
		buf_add(&a->www, h + 17, len - 17);
	}
	return size * n;
}

static void
answer_init(struct answer *a, int guarded, int allow_local)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->body, ANSWER_MAX + 1);
	buf_init(&a->www, 16 * 1024 + 1);
	a->g.on = guarded;
	a->g.allow_local = allow_local;
}

static void
answer_free(struct answer *a)
{
	buf_free(&a->body);
	buf_free(&a->www);
}

/* The bytes of b as a NUL-terminated string (borrowed); its maximum
   leaves room for the NUL. */
static const char *
buf_text(struct buf *b)
{
	if (buf_add(b, "", 1) < 0)
		return "";
	b->len--;
	return buf_head(b);
}

/* The answer's body as a NUL-terminated string (borrowed). */
static const char *
answer_text(struct answer *a)
{
	return buf_text(&a->body);
}

/* Set up e for url: a GET, or a POST of post (copied) when not NULL;
   guarded transfers only to https (or http with allow_local) and
   permitted addresses, never through a proxy, never redirected. */
static void
easy_setup(CURL *e, const char *url, const char *post,
    struct curl_slist *h, struct answer *a)
{
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_MS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "corral");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, answer_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, answer_head);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->err);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &a->g);
	if (a->g.on) {
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, a->g.allow_local ?
		    "http,https" : "https");
		curl_easy_setopt(e, CURLOPT_PROXY, "");
	} else
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (post)
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, post);
}

/* Why a transfer to url failed; caller frees. */
static char *
transfer_error(const char *url, CURLcode rc, struct answer *a)
{
	if (a->g.why[0])
		return xasprintf("%s: refused: %s; discovery URLs must lead to "
		    "public addresses", url, a->g.why);
	if (a->toobig)
		return xasprintf("%s: the answer is larger than %d bytes", url,
		    ANSWER_MAX);
	return xasprintf("%s: %s", url, a->err[0] ? a->err :
	    curl_easy_strerror(rc));
}

/* One blocking request. ctype: the POST body's type, or NULL for a GET.
   Returns the HTTP status, or -1 with *err. */
static long
fetch(const char *url, const char *ctype, const char *post,
    struct curl_slist *extra, struct answer *a, char **err)
{
	struct curl_slist *h = NULL, *x;
	CURLcode rc;
	CURL *e;
	char *ct;
	long code = -1;

	if ((e = curl_easy_init()) == NULL) {
		*err = xstrdup("cannot start libcurl");
		return -1;
	}
	for (x = extra; x; x = x->next)
		h = curl_slist_append(h, x->data);
	if (extra == NULL)
		h = curl_slist_append(h, "Accept: application/json");
	if (ctype) {
		ct = xasprintf("Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
		free(ct);
	}
	easy_setup(e, url, post, h, a);
	if ((rc = curl_easy_perform(e)) != CURLE_OK)
		*err = transfer_error(url, rc, a);
	else
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	answer_text(a);
	return code;
}

/* ---- JSON helpers ------------------------------------------------------- */

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring :
	    NULL;
}

static char *
jdup(const cJSON *o, const char *k)
{
	const char *s = jstr(o, k);

	return s ? xstrdup(s) : NULL;
}

/* Whether array k of o is absent (when absent_ok) or holds string s. */
static int
jhas(const cJSON *o, const char *k, const char *s, int absent_ok)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k), *e;

	if (a == NULL)
		return absent_ok;
	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
			return 1;
	return 0;
}

/* An OAuth error answer as "HTTP n: error (description)"; caller frees. */
static char *
oauth_error_text(long code, const char *body)
{
	cJSON *j = cJSON_Parse(body);
	const char *e = jstr(j, "error"), *d = jstr(j, "error_description");
	char *s;

	if (e)
		s = xasprintf("HTTP %ld: %s%s%s%s", code, e, d ? " (" : "",
		    d ? d : "", d ? ")" : "");
	else
		s = xasprintf("HTTP %ld", code);
	cJSON_Delete(j);
	return s;
}

/* Two URLs naming the same resource: equal but for a final slash. */
static int
same_url(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '/')
		na--;
	if (nb > 0 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

/* ---- discovery ---------------------------------------------------------- */

void
oauth_meta_clear(struct oauth_meta *m)
{
	free(m->resource);
	free(m->scope);
	free(m->issuer);
	free(m->authorization_endpoint);
	free(m->token_endpoint);
	free(m->registration_endpoint);
	free(m->scopes_supported);
	memset(m, 0, sizeof(*m));
}

/* POST an initialize without a token: the HTTP status, and the
   resource_metadata and scope of a Bearer challenge. -1 with *err. */
static long
probe(const struct server_conf *s, char **rm, char **scope, char **err)
{
	static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
	    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":"
	    "\"corral\",\"version\":\"1\"}}}";
	struct curl_slist *h = NULL;
	struct answer a;
	long code;
	int i;

	*rm = *scope = NULL;
	for (i = 0; i < s->nheaders; i++)
		h = curl_slist_append(h, s->headers[i]);
	h = curl_slist_append(h, "Accept: application/json, text/event-stream");
	answer_init(&a, 0, 0);
	code = fetch(s->url, "application/json", init, h, &a, err);
	if (code == 401)
		oauth_parse_www_authenticate(buf_text(&a.www), rm, scope);
	curl_slist_free_all(h);
	answer_free(&a);
	return code;
}

/* Fetch the JSON object at a discovery URL: 1 with *out, 0 when it is
   not there (an HTTP error), -1 with *err. */
static int
get_json(const char *url, int allow_local, cJSON **out, char **err)
{
	struct answer a;
	long code;

	*out = NULL;
	if (oauth_url_check(url, allow_local, err) < 0)
		return -1;
	answer_init(&a, 1, allow_local);
	code = fetch(url, NULL, NULL, NULL, &a, err);
	if (code >= 200 && code < 300) {
		*out = cJSON_Parse(answer_text(&a));
		if (!cJSON_IsObject(*out)) {
			cJSON_Delete(*out);
			*out = NULL;
			*err = xasprintf("%s: the answer is not a JSON object",
			    url);
			code = -1;
		}
	}
	answer_free(&a);
	return code < 0 ? -1 : *out != NULL;
}

/* Read protected-resource metadata into m: its resource must be the
   server's URL (RFC 9728, section 3.3). */
static int
use_prm(const struct server_conf *s, const char *url, const cJSON *j,
    struct oauth_meta *m, char **err)
{
	const cJSON *as = cJSON_GetObjectItemCaseSensitive(j,
	    "authorization_servers"), *e;
	const char *res = jstr(j, "resource");
	struct buf b;

	if (res == NULL || !same_url(res, s->url)) {
		*err = xasprintf("%s: the metadata is for resource \"%s\", not "
		    "%s", url, res ? res : "", s->url);
		return -1;
	}
	if (!cJSON_IsArray(as) || !cJSON_IsString(as->child) ||
	    as->child->valuestring[0] == '\0') {
		*err = xasprintf("%s: the metadata names no authorization "
		    "server", url);
		return -1;
	}
	m->resource = xstrdup(res);
	m->issuer = xstrdup(as->child->valuestring);
	buf_init(&b, 0);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j,
	    "scopes_supported"))
		if (cJSON_IsString(e) && e->valuestring[0])
			buf_addf(&b, "%s%s", buf_used(&b) ? " " : "",
			    e->valuestring);
	m->scopes_supported = buf_used(&b) ? buf_steal(&b, NULL) : NULL;
	buf_free(&b);
	return 0;
}

/* Find and read the protected-resource metadata. */
static int
find_prm(const struct server_conf *s, struct oauth_meta *m, char **err)
{
	char *rm = NULL, *urls[4];
	cJSON *j = NULL;
	long code;
	int i, n, r = -1;

	if ((code = probe(s, &rm, &m->scope, err)) < 0)
		return -1;
	if (rm) {
		if (get_json(rm, s->oauth_allow_local, &j, err) == 0)
			*err = xasprintf("%s: no protected-resource metadata "
			    "there", rm);
		if (j)
			r = use_prm(s, rm, j, m, err);
		cJSON_Delete(j);
		free(rm);
		return r;
	}
	if ((n = oauth_metadata_urls(s->url, 0, urls)) < 0) {
		*err = xasprintf("%s: not a valid URL", s->url);
		return -1;
	}
	for (i = 0; i < n && r < 0 && *err == NULL; i++)
		if (get_json(urls[i], s->oauth_allow_local, &j, err) > 0) {
			r = use_prm(s, urls[i], j, m, err);
			cJSON_Delete(j);
		}
	if (r < 0 && *err == NULL)
		*err = xasprintf("%s answered HTTP %ld and publishes no "
		    "protected-resource metadata (tried %s)%s", s->url, code,
		    urls[0], code == 401 ? "" : "; it may need no login");
	for (i = 0; i < n; i++)
		free(urls[i]);
	return r;
}

/* Check authorization server metadata and keep what login needs. */
static int
use_asm(const char *url, const cJSON *j, int allow_local,
    struct oauth_meta *m, char **err)
{
	const char *iss = jstr(j, "issuer"), *ae, *te, *re;

	ae = jstr(j, "authorization_endpoint");
	te = jstr(j, "token_endpoint");
	re = jstr(j, "registration_endpoint");
	if (iss == NULL || !same_url(iss, m->issuer))
		*err = xasprintf("%s: the metadata is for issuer \"%s\", not "
		    "%s", url, iss ? iss : "", m->issuer);
	else if (ae == NULL || te == NULL)
		*err = xasprintf("%s: the metadata lacks %s", url, ae == NULL ?
		    "authorization_endpoint" : "token_endpoint");
	else if (!jhas(j, "response_types_supported", "code", 1))
		*err = xasprintf("%s: the authorization server does not offer "
		    "the authorization code flow", url);
	else if (!jhas(j, "code_challenge_methods_supported", "S256", 1))
		*err = xasprintf("%s: the authorization server does not "
		    "support PKCE with S256", url);
	if (*err)
		return -1;
	if (oauth_url_check(ae, allow_local, err) < 0 ||
	    oauth_url_check(te, allow_local, err) < 0 ||
	    (re && oauth_url_check(re, allow_local, err) < 0))
		return -1;
	m->authorization_endpoint = xstrdup(ae);
	m->token_endpoint = xstrdup(te);
	m->registration_endpoint = re ? xstrdup(re) : NULL;
	return 0;
}

int
oauth_discover(const struct server_conf *s, struct oauth_meta *m,
    char **err)
{
	char *urls[4];
	cJSON *j = NULL;
	int i, n, r = -1;

	memset(m, 0, sizeof(*m));
	*err = NULL;
	if (find_prm(s, m, err) < 0)
		goto bad;
	if (oauth_url_check(m->issuer, s->oauth_allow_local, err) < 0)
		goto bad;
	if ((n = oauth_metadata_urls(m->issuer, 1, urls)) < 0) {
		*err = xasprintf("%s: not a valid URL", m->issuer);
		goto bad;
	}
	for (i = 0; i < n && r < 0 && *err == NULL; i++)
		if (get_json(urls[i], s->oauth_allow_local, &j, err) > 0) {
			r = use_asm(urls[i], j, s->oauth_allow_local, m, err);
			cJSON_Delete(j);
		}
	if (r < 0 && *err == NULL)
		*err = xasprintf("%s: no authorization server metadata found "
		    "(tried %s)", m->issuer, urls[0]);
	for (i = 0; i < n; i++)
		free(urls[i]);
	if (r == 0)
		return 0;
bad:
	oauth_meta_clear(m);
	return -1;
}

/* ---- registration and the authorization URL ----------------------------- */

int
oauth_register(const struct oauth_meta *m, const char *redirect_uri,
    int allow_local, char **client_id, char **client_secret, char **err)
{
	cJSON *req = cJSON_CreateObject(), *a, *j;
	struct answer ans;
	char *body;
	long code;
	int r = -1;

	*client_id = *client_secret = NULL;
	if (m->registration_endpoint == NULL) {
		*err = xasprintf("%s offers no dynamic client registration; "
		    "configure \"oauth\": {\"client_id\": ...} for this server",
		    m->issuer);
		cJSON_Delete(req);
		return -1;
	}
	cJSON_AddStringToObject(req, "client_name", "corral");
	a = cJSON_AddArrayToObject(req, "redirect_uris");
	cJSON_AddItemToArray(a, cJSON_CreateString(redirect_uri));
	a = cJSON_AddArrayToObject(req, "grant_types");
	cJSON_AddItemToArray(a, cJSON_CreateString("authorization_code"));
	cJSON_AddItemToArray(a, cJSON_CreateString("refresh_token"));
	a = cJSON_AddArrayToObject(req, "response_types");
	cJSON_AddItemToArray(a, cJSON_CreateString("code"));
	cJSON_AddStringToObject(req, "token_endpoint_auth_method", "none");
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	answer_init(&ans, 1, allow_local);
	code = fetch(m->registration_endpoint, "application/json", body, NULL,
	    &ans, err);
	cJSON_free(body);
	if (code >= 200 && code < 300) {
		j = cJSON_Parse(answer_text(&ans));
		if ((*client_id = jdup(j, "client_id")) == NULL)
			*err = xasprintf("%s: the answer holds no client_id",
			    m->registration_endpoint);
		else {
			*client_secret = jdup(j, "client_secret");
			r = 0;
		}
		cJSON_Delete(j);
	} else if (code >= 0) {
		char *why = oauth_error_text(code, answer_text(&ans));

		*err = xasprintf("%s: registration refused: %s",
		    m->registration_endpoint, why);
		free(why);
	}
	answer_free(&ans);
	return r;
}

/* Append "&name=value" (no "&" first) form-encoded. */
static void
form_add(struct buf *b, const char *name, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	if (v == NULL)
		return;
	buf_addf(b, "%s%s=", buf_used(b) ? "&" : "", name);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			buf_add(b, v, 1);
		else
			buf_addf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

char *
oauth_authorize_url(const struct oauth_meta *m, const char *client_id,
    const char *redirect_uri, const char *challenge, const char *state,
    const char *scope)
{
	struct buf q;
	char *qs, *u;

	buf_init(&q, 0);
	form_add(&q, "response_type", "code");
	form_add(&q, "client_id", client_id);
	form_add(&q, "redirect_uri", redirect_uri);
	form_add(&q, "code_challenge", challenge);
	form_add(&q, "code_challenge_method", "S256");
	form_add(&q, "state", state);
	form_add(&q, "resource", m->resource);
	form_add(&q, "scope", scope);
	qs = buf_steal(&q, NULL);
	u = xasprintf("%s%c%s", m->authorization_endpoint,
	    strchr(m->authorization_endpoint, '?') ? '&' : '?', qs);
	free(qs);
	return u;
}

/* ---- tokens ------------------------------------------------------------- */

void
oauth_tokens_free(struct oauth_tokens *t)
{
	char *secret[3];
	size_t i;

	if (t == NULL)
		return;
	secret[0] = t->access_token;
	secret[1] = t->refresh_token;
	secret[2] = t->client_secret;
	for (i = 0; i < 3; i++)
		if (secret[i])
			explicit_bzero(secret[i], strlen(secret[i]));
	free(t->alias);
	free(t->server_url);
	free(t->resource);
	free(t->client_id);
	free(t->client_secret);
	free(t->token_endpoint);
	free(t->access_token);
	free(t->refresh_token);
	free(t->scope);
	free(t);
}

/* A token goes into an HTTP header: visible ASCII only. */
static int
token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/* Take a token endpoint's answer into t. Returns 0 or -1 with *err. */
static int
token_answer(long code, const char *body, const char *url,
    struct oauth_tokens *t, char **err)
{
	const cJSON *v;
	const char *at, *rt, *tt;
	cJSON *j;
	char *why;

	if (code != 200) {
		why = oauth_error_text(code, body);
		*err = xasprintf("%s: the token endpoint refused: %s", url,
		    why);
		free(why);
		return -1;
	}
	j = cJSON_Parse(body);
	at = jstr(j, "access_token");
	rt = jstr(j, "refresh_token");
	tt = jstr(j, "token_type");
	if (at == NULL || !token_ok(at) || (rt && !token_ok(rt))) {
		*err = xasprintf("%s: the answer holds no usable access_token",
		    url);
		cJSON_Delete(j);
		return -1;
	}
	if (tt && strcasecmp(tt, "Bearer") != 0) {
		*err = xasprintf("%s: token_type \"%s\" is not supported (only "
		    "Bearer)", url, tt);
		cJSON_Delete(j);
		return -1;
	}
	if (t->access_token)
		explicit_bzero(t->access_token, strlen(t->access_token));
	free(t->access_token);
	t->access_token = xstrdup(at);
	if (rt) {
		if (t->refresh_token)
			explicit_bzero(t->refresh_token,
			    strlen(t->refresh_token));
		free(t->refresh_token);
		t->refresh_token = xstrdup(rt);
	}
	if (jstr(j, "scope")) {
		free(t->scope);
		t->scope = jdup(j, "scope");
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	t->expires_at = cJSON_IsNumber(v) && v->valuedouble > 0 &&
	    v->valuedouble < 1e9 ? floor((double)time(NULL) +
	    v->valuedouble) : 0;
	cJSON_Delete(j);
	return 0;
}

int
oauth_exchange_code(const struct server_conf *s,
    const struct oauth_meta *m, const char *client_id,
    const char *client_secret, const char *code, const char *redirect_uri,
    const char *verifier, struct oauth_tokens **out, char **err)
{
	struct oauth_tokens *t;
	struct answer a;
	struct buf f;
	char *form;
	long st;
	int r = -1;

	*out = NULL;
	buf_init(&f, 0);
	form_add(&f, "grant_type", "authorization_code");
	form_add(&f, "code", code);
	form_add(&f, "redirect_uri", redirect_uri);
	form_add(&f, "client_id", client_id);
	form_add(&f, "client_secret", client_secret);
	form_add(&f, "code_verifier", verifier);
	form_add(&f, "resource", m->resource);
	form = buf_steal(&f, NULL);
	answer_init(&a, 1, s->oauth_allow_local);
	st = fetch(m->token_endpoint, "application/x-www-form-urlencoded",
	    form, NULL, &a, err);
	explicit_bzero(form, strlen(form));
	free(form);
	t = xcalloc(1, sizeof(*t));
	t->alias = xstrdup(s->alias);
	t->server_url = xstrdup(s->url);
	t->resource = xstrdup(m->resource);
	t->client_id = xstrdup(client_id);
	t->client_secret = client_secret ? xstrdup(client_secret) : NULL;
	t->token_endpoint = xstrdup(m->token_endpoint);
	if (st >= 0 && token_answer(st, answer_text(&a), m->token_endpoint, t,
	    err) == 0)
		r = 0;
	answer_free(&a);
	if (r < 0)
		oauth_tokens_free(t);
	else
		*out = t;
	return r;
}

struct oauth_tokens *
oauth_tokens_parse(const char *alias, const char *text, size_t len,
    char **err)
{
	static const char *const need[] = { "server_url", "client_id",
	    "token_endpoint", "access_token", NULL };
	struct oauth_tokens *t;
	const cJSON *v;
	cJSON *j = cJSON_ParseWithLength(text, len);
	int i;

	if (!cJSON_IsObject(j)) {
		*err = xstrdup("not a JSON object");
		cJSON_Delete(j);
		return NULL;
	}
	for (i = 0; need[i]; i++)
		if (jstr(j, need[i]) == NULL) {
			*err = xasprintf("\"%s\" is missing", need[i]);
			cJSON_Delete(j);
			return NULL;
		}
	v = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
	if (v && !(cJSON_IsNumber(v) && v->valuedouble >= 0)) {
		*err = xstrdup("\"expires_at\" is not a time");
		cJSON_Delete(j);
		return NULL;
	}
	if (!token_ok(jstr(j, "access_token")) || (jstr(j, "refresh_token") &&
	    !token_ok(jstr(j, "refresh_token")))) {
		*err = xstrdup("a token holds characters a header cannot");
		cJSON_Delete(j);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->alias = xstrdup(alias);
	t->server_url = jdup(j, "server_url");
	t->resource = jdup(j, "resource");
	t->client_id = jdup(j, "client_id");
	t->client_secret = jdup(j, "client_secret");
	t->token_endpoint = jdup(j, "token_endpoint");
	t->access_token = jdup(j, "access_token");
	t->refresh_token = jdup(j, "refresh_token");
	t->scope = jdup(j, "scope");
	t->expires_at = v ? v->valuedouble : 0;
	cJSON_Delete(j);
	return t;
}

/* tokens/<alias>.json; caller frees. */
static char *
token_name(const char *alias)
{
	return xasprintf("tokens/%s.json", alias);
}

enum oauth_load
oauth_tokens_load(const char *alias, const char *url,
    struct oauth_tokens **out, char **err)
{
	char *name = token_name(alias), *text, *why = NULL;
	size_t len;
	int r;

	*out = NULL;
	r = state_read_secret(name, &text, &len, err);
	if (r <= 0) {
		free(name);
		return r < 0 ? OAUTH_LOAD_ERROR : OAUTH_LOAD_NONE;
	}
	*out = oauth_tokens_parse(alias, text, len, &why);
	explicit_bzero(text, len);
	free(text);
	if (*out == NULL) {
		char *dir = state_dir(err);

		free(*err);
		*err = xasprintf("%s/%s: %s; run `corral login %s`", dir ?
		    dir : "", name, why, alias);
		free(dir);
		free(why);
		free(name);
		return OAUTH_LOAD_ERROR;
	}
	free(name);
	return strcmp((*out)->server_url, url) == 0 ? OAUTH_LOAD_OK :
	    OAUTH_LOAD_OTHER_URL;
}

int
oauth_tokens_save(const struct oauth_tokens *t, char **err)
{
	cJSON *j = cJSON_CreateObject();
	char *dir, *name, *s;
	int r;

	if ((dir = state_subdir("tokens", err)) == NULL) {
		cJSON_Delete(j);
		return -1;
	}
	free(dir);
	cJSON_AddStringToObject(j, "server_url", t->server_url);
	if (t->resource)
		cJSON_AddStringToObject(j, "resource", t->resource);
	cJSON_AddStringToObject(j, "client_id", t->client_id);
	if (t->client_secret)
		cJSON_AddStringToObject(j, "client_secret", t->client_secret);
	cJSON_AddStringToObject(j, "token_endpoint", t->token_endpoint);
	cJSON_AddStringToObject(j, "access_token", t->access_token);
	if (t->refresh_token)
		cJSON_AddStringToObject(j, "refresh_token", t->refresh_token);
	if (t->expires_at > 0)
		cJSON_AddNumberToObject(j, "expires_at", t->expires_at);
	if (t->scope)
		cJSON_AddStringToObject(j, "scope", t->scope);
	s = cJSON_Print(j);
	cJSON_Delete(j);
	name = token_name(t->alias);
	r = state_write(name, s, strlen(s), err);
	explicit_bzero(s, strlen(s));
	cJSON_free(s);
	free(name);
	return r;
}

int
oauth_tokens_remove(const char *alias, char **err)
{
	char *dir, *path;
	int r = 1;

	if ((dir = state_dir(err)) == NULL)
		return -1;
	path = xasprintf("%s/tokens/%s.json", dir, alias);
	free(dir);
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			r = 0;
		else {
			*err = xasprintf("%s: %s", path, strerror(errno));
			r = -1;
		}
	}
	free(path);
	return r;
}

int
oauth_tokens_expired(const struct oauth_tokens *t, time_t now)
{
	return t->expires_at > 0 &&
	    (double)now + OAUTH_EXPIRY_MARGIN >= t->expires_at;
}

void
oauth_expiry_text(double expires_at, char *out, size_t n)
{
	time_t t = (time_t)expires_at;
	struct tm tm;

	if (expires_at <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, n, "expires at %Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, n, "has no expiry time");
}

char *
oauth_auth_header(const struct oauth_tokens *t)
{
	return xasprintf("Authorization: Bearer %s", t->access_token);
}

/* ---- refresh ------------------------------------------------------------ */

struct oauth_refresh {
	CURL *easy;
	struct oauth_tokens *t;
	struct curl_slist *h;
	struct answer a;
};

struct oauth_refresh *
oauth_refresh_new(struct oauth_tokens *t, int allow_local, CURL **easy,
    char **err)
{
	struct oauth_refresh *r;
	struct buf f;
	char *form;

	*easy = NULL;
	if (t->refresh_token == NULL) {
		*err = xasprintf("no refresh token; run `corral login %s`",
		    t->alias);
		return NULL;
	}
	if (oauth_url_check(t->token_endpoint, allow_local, err) < 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	if ((r->easy = curl_easy_init()) == NULL) {
		free(r);
		*err = xstrdup("cannot start libcurl");
		return NULL;
	}
	r->t = t;
	answer_init(&r->a, 1, allow_local);
	r->h = curl_slist_append(NULL, "Accept: application/json");
	r->h = curl_slist_append(r->h,
	    "Content-Type: application/x-www-form-urlencoded");
	buf_init(&f, 0);
	form_add(&f, "grant_type", "refresh_token");
	form_add(&f, "refresh_token", t->refresh_token);
	form_add(&f, "client_id", t->client_id);
	form_add(&f, "client_secret", t->client_secret);
	form_add(&f, "resource", t->resource);
	form = buf_steal(&f, NULL);
	easy_setup(r->easy, t->token_endpoint, form, r->h, &r->a);
	explicit_bzero(form, strlen(form));
	free(form);
	*easy = r->easy;
	return r;
}

int
oauth_refresh_done(struct oauth_refresh *r, CURLcode rc, char **err)
{
	long code = 0;

	if (rc != CURLE_OK) {
		*err = transfer_error(r->t->token_endpoint, rc, &r->a);
		return -1;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (token_answer(code, answer_text(&r->a), r->t->token_endpoint, r->t,
	    err) < 0)
		return -1;
	return oauth_tokens_save(r->t, err);
}

void
oauth_refresh_free(struct oauth_refresh *r)
{
	if (r == NULL)
		return;
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->h);
	answer_free(&r->a);
	free(r);
}
