/* fuzz_text: the small parsers of untrusted text added with remote
   servers, OAuth, egress and import. The first byte picks one (mod 6),
   the rest is its input:

   0  jsonc_strip (a client's config): the length never changes, bytes
      are only blanked, every line break stays, and a second pass only
      blanks more;
   1  netaddr_rule_parse (a network list entry): a parsed rule matches
      its own host on its own port (or 443 and 80), and wildcards match
      a name below them but not the apex;
   2  netaddr_split + netaddr_host_norm + netaddr_match (a proxy request's
      host:port, against fixed rules): a normalized name never grows and
      has no upper-case ASCII; a port is 0..65535;
   3  oauth_parse_www_authenticate (a server's 401 header);
   4  oauth_tokens_parse (a token file);
   5  netaddr_special on the bytes as an IPv4 and an IPv6 address.

   Beyond these invariants: no crash, no leak, no sanitizer report. */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonc.h"
#include "core/netaddr.h"
#include "core/oauth.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_text: invariant failed: %s (line %d)\n", \
		    #cond, __LINE__); \
		abort(); \
	} \
} while (0)

static void
one_jsonc(const char *d, size_t n)
{
	char *a = xmalloc(n + 1), *b = xmalloc(n + 1);
	size_t off = 0, i;
	int r;

	memcpy(a, d, n);
	r = jsonc_strip(a, n, &off);
	if (r < 0)
		CHECK(off <= n);
	for (i = 0; i < n; i++) {
		/* Only blanked, and line breaks kept. */
		CHECK(a[i] == d[i] || a[i] == ' ');
		if (d[i] == '\n')
			CHECK(a[i] == '\n');
	}
	if (r == 0) {
		/* A second pass only blanks more (it may: in "[1,,]" the
		   first comma trails once the second is gone). */
		memcpy(b, a, n);
		CHECK(jsonc_strip(b, n, &off) == 0);
		for (i = 0; i < n; i++)
			CHECK(b[i] == a[i] || b[i] == ' ');
	}
	free(a);
	free(b);
}

static void
one_rule(const char *d, size_t n)
{
	char *t = xstrndup(d, n), *err = NULL, *sub;
	struct net_rule r;

	if (netaddr_rule_parse(t, &r, &err) < 0) {
		CHECK(err != NULL);
		free(err);
		free(t);
		return;
	}
	CHECK(err == NULL && r.text != NULL);
	if (r.family == 0 && r.wild == 0 && r.host)
		CHECK(netaddr_match(&r, 1, r.host, r.port ? r.port : 443) ==
		    0);
	if (r.wild == 1 && r.host && strlen(r.host) < 200) {
		sub = xasprintf("a.%s", r.host);
		CHECK(netaddr_match(&r, 1, sub, r.port ? r.port : 80) == 0);
		CHECK(netaddr_match(&r, 1, r.host, r.port ? r.port : 80) < 0);
		free(sub);
	}
	netaddr_rule_free(&r);
	free(t);
}

static void
one_hostport(const char *d, size_t n)
{
	static const char *const texts[] = { "example.org", "*.example.org",
	    "127.0.0.1:8080", "[::1]:443", "*", "api.github.com:443" };
	struct net_rule rules[6];
	char *t = xstrndup(d, n), h[256], *c;
	size_t k, i;
	int port;

	for (k = 0; k < 6; k++) {
		char *err = NULL;

		CHECK(netaddr_rule_parse(texts[k], &rules[k], &err) == 0);
	}
	port = netaddr_split(t, h, sizeof(h), 443);
	if (port >= 0) {
		CHECK(port <= 65535);
		CHECK(strlen(h) < sizeof(h));
		for (i = 0; h[i]; i++)
			CHECK(!isupper((unsigned char)h[i]));
		(void)netaddr_match(rules, 6, h, port);
	}
	c = xstrdup(t);
	if (netaddr_host_norm(c) == 0) {
		CHECK(strlen(c) <= strlen(t));
		(void)netaddr_match(rules, 5, c, 80);
	}
	free(c);
	for (k = 0; k < 6; k++)
		netaddr_rule_free(&rules[k]);
	free(t);
}

static void
one_www(const char *d, size_t n)
{
	char *t = xstrndup(d, n), *rm = NULL, *scope = NULL;
	int r = oauth_parse_www_authenticate(t, &rm, &scope);

	CHECK(r == 0 || r == 1);
	if (r == 0)
		CHECK(rm == NULL && scope == NULL);
	free(rm);
	free(scope);
	free(t);
}

static void
one_tokens(const char *d, size_t n)
{
	struct oauth_tokens *t;
	char *err = NULL;

	t = oauth_tokens_parse("fuzz", d, n, &err);
	CHECK((t == NULL) != (err == NULL));
	if (t) {
		char *h = oauth_auth_header(t);

		CHECK(h && strncmp(h, "Authorization: Bearer ", 22) == 0);
		CHECK(strchr(h, '\n') == NULL && strchr(h, '\r') == NULL);
		free(h);
		oauth_tokens_free(t);
	}
	free(err);
}

static void
one_addr(const char *d, size_t n)
{
	unsigned char a[16] = { 0 };

	memcpy(a, d, n < 16 ? n : 16);
	(void)netaddr_special(AF_INET, a);
	(void)netaddr_special(AF_INET6, a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data + 1;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	switch (data[0] % 6) {
	case 0:
		one_jsonc(d, n);
		break;
	case 1:
		one_rule(d, n);
		break;
	case 2:
		one_hostport(d, n);
		break;
	case 3:
		one_www(d, n);
		break;
	case 4:
		one_tokens(d, n);
		break;
	default:
		one_addr(d, n);
		break;
	}
	return 0;
}
