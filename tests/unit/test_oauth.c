/* Unit tests for core/oauth: the address classifier behind the SSRF
   guard, discovery URL checks, PKCE (RFC 7636 appendix B), base64url,
   WWW-Authenticate parsing, well-known URL building, token files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/oauth.h"
#include "tests/unit/unit.h"

/* ---- the address classifier --------------------------------------------- */

struct addr_case {
	const char *ip;
	const char *why;	/* NULL: public */
};

static const struct addr_case addr_cases[] = {
	{ "93.184.216.34", NULL },
	{ "8.8.8.8", NULL },
	{ "1.1.1.1", NULL },
	{ "172.15.255.255", NULL },
	{ "172.32.0.0", NULL },
	{ "192.167.255.255", NULL },
	{ "100.63.255.255", NULL },
	{ "100.128.0.0", NULL },
	{ "169.253.255.255", NULL },
	{ "223.255.255.255", NULL },
	{ "0.0.0.0", "a \"this network\" address (0.0.0.0/8)" },
	{ "0.1.2.3", "a \"this network\" address (0.0.0.0/8)" },
	{ "127.0.0.1", "a loopback address" },
	{ "127.255.255.254", "a loopback address" },
	{ "10.0.0.1", "a private address" },
	{ "10.255.255.255", "a private address" },
	{ "172.16.0.1", "a private address" },
	{ "172.31.255.255", "a private address" },
	{ "192.168.1.1", "a private address" },
	{ "100.64.0.1", "a shared (CGNAT) address" },
	{ "100.127.255.255", "a shared (CGNAT) address" },
	{ "169.254.169.254", "a link-local address" },
	{ "169.254.0.1", "a link-local address" },
	{ "224.0.0.1", "a multicast address" },
	{ "239.255.255.250", "a multicast address" },
	{ "255.255.255.255", "a broadcast address" },
	{ "240.0.0.1", "a reserved address" },
	{ "2606:4700:4700::1111", NULL },
	{ "2001:4860:4860::8888", NULL },
	{ "::ffff:8.8.8.8", NULL },
	{ "::", "the unspecified address" },
	{ "::1", "a loopback address" },
	{ "fc00::1", "a unique local address" },
	{ "fd12:3456:789a::1", "a unique local address" },
	{ "fe80::1", "a link-local address" },
	{ "febf::1", "a link-local address" },
	{ "fec0::1", "a site-local address" },
	{ "ff02::1", "a multicast address" },
	{ "ff05::2", "a multicast address" },
	{ "::ffff:127.0.0.1", "a loopback address" },
	{ "::ffff:7f00:1", "a loopback address" },
	{ "::ffff:10.1.2.3", "a private address" },
	{ "::ffff:169.254.169.254", "a link-local address" },
	{ "::ffff:192.168.0.1", "a private address" },
	{ "::ffff:0.0.0.0", "a \"this network\" address (0.0.0.0/8)" },
	{ "::127.0.0.1", "a loopback address" },
	{ "::8.8.8.8", "an IPv4-compatible address" },
	{ "64:ff9b::7f00:1", "a loopback address" },
	{ "64:ff9b::a9fe:a9fe", "a link-local address" },
	{ "2002:7f00:1::", "a loopback address" },
	{ "2002:c0a8:101::1", "a private address" },
	{ "localhost", "not an IP address" },
	{ "", "not an IP address" },
	{ "127.1", "not an IP address" },
};

static void
test_addr(void **state)
{
	const struct addr_case *c = *state;
	const char *why = oauth_addr_text_refused(c->ip);

	if (c->why == NULL)
		assert_null(why);
	else {
		assert_non_null(why);
		assert_string_equal(why, c->why);
	}
}

/* The sockaddr form agrees with the text form; other families fail. */
static void
test_addr_sockaddr(void **state)
{
	struct sockaddr_in s4 = { 0 };
	struct sockaddr_in6 s6 = { 0 };
	struct sockaddr sa = { 0 };

	(void)state;
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.168.3.4", &s4.sin_addr);
	assert_string_equal(oauth_addr_refused((struct sockaddr *)&s4),
	    "a private address");
	inet_pton(AF_INET, "9.9.9.9", &s4.sin_addr);
	assert_null(oauth_addr_refused((struct sockaddr *)&s4));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:169.254.169.254", &s6.sin6_addr);
	assert_string_equal(oauth_addr_refused((struct sockaddr *)&s6),
	    "a link-local address");
	inet_pton(AF_INET6, "2a00:1450::1", &s6.sin6_addr);
	assert_null(oauth_addr_refused((struct sockaddr *)&s6));
	sa.sa_family = AF_UNIX;
	assert_string_equal(oauth_addr_refused(&sa), "not an IP address");
	assert_string_equal(oauth_addr_refused(NULL), "not an IP address");
}

/* ---- discovery URL checks ----------------------------------------------- */

struct url_case {
	const char *url;
	int allow_local;
	const char *why;	/* NULL: accepted */
};

static const struct url_case url_cases[] = {
	{ "https://auth.example.com/.well-known/x", 0, NULL },
	{ "https://93.184.216.34/x", 0, NULL },
	{ "https://[2606:4700::1]/x", 0, NULL },
	{ "http://auth.example.com/x", 0,
	    "http://auth.example.com/x: refused: discovery URLs must be https" },
	{ "ftp://auth.example.com/x", 1,
	    "ftp://auth.example.com/x: refused: discovery URLs must be https" },
	{ "https://127.0.0.1:1/x", 0, "https://127.0.0.1:1/x: refused: "
	    "127.0.0.1 is a loopback address; discovery URLs must lead to "
	    "public addresses" },
	{ "https://169.254.169.254/latest/meta-data", 0,
	    "https://169.254.169.254/latest/meta-data: refused: 169.254.169.254 "
	    "is a link-local address; discovery URLs must lead to public "
	    "addresses" },
	{ "https://[::1]/x", 0, "https://[::1]/x: refused: ::1 is a loopback "
	    "address; discovery URLs must lead to public addresses" },
	{ "https://[fd00::5]:8443/x", 0, "https://[fd00::5]:8443/x: refused: "
	    "fd00::5 is a unique local address; discovery URLs must lead to "
	    "public addresses" },
	{ "https://10.0.0.1/x", 0, "https://10.0.0.1/x: refused: 10.0.0.1 is "
	    "a private address; discovery URLs must lead to public addresses" },
	/* Names are checked when curl connects, not here. */
	{ "https://localhost/x", 0, NULL },
	{ "http://127.0.0.1:8080/x", 1, NULL },
	{ "https://10.0.0.1/x", 1, NULL },
	{ "not a url", 0, "not a url: not a valid URL" },
};

static void
test_url(void **state)
{
	const struct url_case *c = *state;
	char *why = NULL;
	int r = oauth_url_check(c->url, c->allow_local, &why);

	if (c->why == NULL) {
		assert_int_equal(r, 0);
		assert_null(why);
	} else {
		assert_int_equal(r, -1);
		assert_non_null(why);
		assert_string_equal(why, c->why);
	}
	free(why);
}

/* ---- PKCE and base64url ------------------------------------------------- */

static void
test_pkce_rfc7636(void **state)
{
	char ch[44];

	(void)state;
	oauth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch);
	assert_string_equal(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void
test_b64url(void **state)
{
	static const unsigned char v[] = { 0xfb, 0xff, 0xbf, 0x00, 0x10 };
	/* RFC 7636 appendix B: the verifier's 32 octets. */
	static const unsigned char rfc[] = { 116, 24, 223, 180, 151, 153, 224,
	    37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105,
	    214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121 };
	char out[64];

	(void)state;
	oauth_b64url(v, 0, out);
	assert_string_equal(out, "");
	oauth_b64url(v, 1, out);
	assert_string_equal(out, "-w");
	oauth_b64url(v, 2, out);
	assert_string_equal(out, "-_8");
	oauth_b64url(v, 3, out);
	assert_string_equal(out, "-_-_");
	oauth_b64url(v, 5, out);
	assert_string_equal(out, "-_-_ABA");
	oauth_b64url(rfc, sizeof(rfc), out);
	assert_string_equal(out, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

static void
test_random(void **state)
{
	char *a = oauth_random(32), *b = oauth_random(32), *s = oauth_random(16);

	(void)state;
	assert_non_null(a);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), 43);
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(s), 22);
	assert_null(oauth_random(1000));
	free(a);
	free(b);
	free(s);
}

/* ---- WWW-Authenticate --------------------------------------------------- */

struct www_case {
	const char *value;
	int bearer;
	const char *rm, *scope;
};

static const struct www_case www_cases[] = {
	{ "Bearer resource_metadata=\"https://a.test/.well-known/x\"", 1,
	    "https://a.test/.well-known/x", NULL },
	{ "Bearer error=\"invalid_token\", resource_metadata=\"https://a/m\", "
	    "scope=\"read write\"", 1, "https://a/m", "read write" },
	{ "bearer Resource_Metadata=https://a/m,scope=files", 1, "https://a/m",
	    "files" },
	{ "Bearer   resource_metadata = \"https://a/m\"", 1, "https://a/m",
	    NULL },
	{ "Bearer resource_metadata=\"https://a/\\\"q\\\\\"", 1,
	    "https://a/\"q\\", NULL },
	{ "Bearer scope=\"a, b\", resource_metadata=\"https://a/m\"", 1,
	    "https://a/m", "a, b" },
	{ "Basic realm=\"x\", Bearer resource_metadata=\"https://a/m\"", 1,
	    "https://a/m", NULL },
	{ "Bearer realm=\"x\", Basic resource_metadata=\"https://evil/m\"", 1,
	    NULL, NULL },
	{ "Negotiate abc==, Bearer resource_metadata=\"https://a/m\"", 1,
	    "https://a/m", NULL },
	{ "Bearer", 1, NULL, NULL },
	{ "Bearer resource_metadata=\"https://a/m", 1, "https://a/m", NULL },
	{ "Bearer resource_metadata=\"https://a/1\", resource_metadata="
	    "\"https://a/2\"", 1, "https://a/1", NULL },
	{ "Basic realm=\"resource_metadata=https://a/m\"", 0, NULL, NULL },
	{ "Bearerx resource_metadata=\"https://a/m\"", 0, NULL, NULL },
	{ "", 0, NULL, NULL },
	{ "\x01\x02 ,,, ", 0, NULL, NULL },
};

static void
test_www(void **state)
{
	const struct www_case *c = *state;
	char *rm = (char *)1, *scope = (char *)1;

	assert_int_equal(oauth_parse_www_authenticate(c->value, &rm, &scope),
	    c->bearer);
	if (c->rm)
		assert_string_equal(rm, c->rm);
	else
		assert_null(rm);
	if (c->scope)
		assert_string_equal(scope, c->scope);
	else
		assert_null(scope);
	free(rm);
	free(scope);
}

/* ---- well-known URLs ---------------------------------------------------- */

struct wk_case {
	const char *url;
	int issuer;
	const char *want[4];
};

static const struct wk_case wk_cases[] = {
	{ "https://mcp.test/mcp", 0, {
	    "https://mcp.test/.well-known/oauth-protected-resource/mcp",
	    "https://mcp.test/.well-known/oauth-protected-resource" } },
	{ "https://mcp.test:8443/a/b/?x=1#f", 0, {
	    "https://mcp.test:8443/.well-known/oauth-protected-resource/a/b",
	    "https://mcp.test:8443/.well-known/oauth-protected-resource" } },
	{ "https://mcp.test", 0, {
	    "https://mcp.test/.well-known/oauth-protected-resource" } },
	{ "https://auth.test", 1, {
	    "https://auth.test/.well-known/oauth-authorization-server",
	    "https://auth.test/.well-known/openid-configuration" } },
	{ "https://auth.test/", 1, {
	    "https://auth.test/.well-known/oauth-authorization-server",
	    "https://auth.test/.well-known/openid-configuration" } },
	{ "https://auth.test/tenant1", 1, {
	    "https://auth.test/.well-known/oauth-authorization-server/tenant1",
	    "https://auth.test/.well-known/openid-configuration/tenant1",
	    "https://auth.test/tenant1/.well-known/openid-configuration" } },
	{ "http://127.0.0.1:5000", 1, {
	    "http://127.0.0.1:5000/.well-known/oauth-authorization-server",
	    "http://127.0.0.1:5000/.well-known/openid-configuration" } },
};

static void
test_wk(void **state)
{
	const struct wk_case *c = *state;
	char *out[4];
	int i, n = oauth_metadata_urls(c->url, c->issuer, out);

	for (i = 0; c->want[i]; i++) {
		assert_true(i < n);
		assert_string_equal(out[i], c->want[i]);
	}
	assert_int_equal(n, i);
	assert_null(out[n]);
	for (i = 0; i < n; i++)
		free(out[i]);
}

static void
test_wk_bad(void **state)
{
	char *out[4];

	(void)state;
	assert_int_equal(oauth_metadata_urls("::not a url", 0, out), -1);
}

/* ---- token files -------------------------------------------------------- */

static void
test_tokens_parse(void **state)
{
	static const char good[] = "{\"server_url\":\"https://m.test/mcp\","
	    "\"resource\":\"https://m.test/mcp\",\"client_id\":\"c1\","
	    "\"client_secret\":\"s\",\"token_endpoint\":\"https://a.test/token\","
	    "\"access_token\":\"AT\",\"refresh_token\":\"RT\",\"expires_at\":"
	    "2000000000,\"scope\":\"read\"}";
	struct oauth_tokens *t;
	char *err = NULL, *h;

	(void)state;
	t = oauth_tokens_parse("m", LIT(good), &err);
	assert_non_null(t);
	assert_null(err);
	assert_string_equal(t->alias, "m");
	assert_string_equal(t->server_url, "https://m.test/mcp");
	assert_string_equal(t->client_secret, "s");
	assert_string_equal(t->refresh_token, "RT");
	assert_string_equal(t->scope, "read");
	assert_true(t->expires_at == 2000000000.0);
	assert_false(oauth_tokens_expired(t, 2000000000 - 61));
	assert_true(oauth_tokens_expired(t, 2000000000 - 60));
	assert_true(oauth_tokens_expired(t, 2000000001));
	h = oauth_auth_header(t);
	assert_string_equal(h, "Authorization: Bearer AT");
	free(h);
	t->expires_at = 0;
	assert_false(oauth_tokens_expired(t, 2000000001));
	oauth_tokens_free(t);
	oauth_tokens_free(NULL);
}

struct tok_case {
	const char *text;
	const char *err;
};

static const struct tok_case tok_cases[] = {
	{ "", "not a JSON object" },
	{ "[]", "not a JSON object" },
	{ "{\"client_id\":\"c\",\"token_endpoint\":\"t\",\"access_token\":\"a\"}",
	    "\"server_url\" is missing" },
	{ "{\"server_url\":\"u\",\"token_endpoint\":\"t\",\"access_token\":\"a\"}",
	    "\"client_id\" is missing" },
	{ "{\"server_url\":\"u\",\"client_id\":\"c\",\"access_token\":\"a\"}",
	    "\"token_endpoint\" is missing" },
	{ "{\"server_url\":\"u\",\"client_id\":\"c\",\"token_endpoint\":\"t\","
	    "\"access_token\":\"\"}", "\"access_token\" is missing" },
	{ "{\"server_url\":\"u\",\"client_id\":\"c\",\"token_endpoint\":\"t\","
	    "\"access_token\":\"a\",\"expires_at\":\"soon\"}",
	    "\"expires_at\" is not a time" },
	{ "{\"server_url\":\"u\",\"client_id\":\"c\",\"token_endpoint\":\"t\","
	    "\"access_token\":\"a\\r\\nX-Evil: 1\"}",
	    "a token holds characters a header cannot" },
	{ "{\"server_url\":\"u\",\"client_id\":\"c\",\"token_endpoint\":\"t\","
	    "\"access_token\":\"a\",\"refresh_token\":\"r r\"}",
	    "a token holds characters a header cannot" },
};

static void
test_tokens_bad(void **state)
{
	const struct tok_case *c = *state;
	char *err = NULL;

	assert_null(oauth_tokens_parse("x", c->text, strlen(c->text), &err));
	assert_non_null(err);
	assert_string_equal(err, c->err);
	free(err);
}

static void
test_expiry_text(void **state)
{
	char b[64];

	(void)state;
	oauth_expiry_text(0, b, sizeof(b));
	assert_string_equal(b, "has no expiry time");
	oauth_expiry_text(2000000000, b, sizeof(b));
	assert_string_equal(b, "expires at 2033-05-18 03:33:20 UTC");
}

int
main(void)
{
	static const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_addr_sockaddr),
		cmocka_unit_test(test_pkce_rfc7636),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_wk_bad),
		cmocka_unit_test(test_tokens_parse),
		cmocka_unit_test(test_expiry_text),
	};
	struct CMUnitTest t[256];
	struct unit_tests u = { t, 0, NELEM(t) };
	size_t i;
	int r;

	unit_add_plain(&u, plain, NELEM(plain));
	for (i = 0; i < NELEM(addr_cases); i++)
		unit_add(&u, unit_name("addr ", addr_cases[i].ip,
		    strlen(addr_cases[i].ip)), test_addr,
		    (void *)&addr_cases[i]);
	for (i = 0; i < NELEM(url_cases); i++)
		unit_add(&u, unit_name("url ", url_cases[i].url,
		    strlen(url_cases[i].url)), test_url, (void *)&url_cases[i]);
	for (i = 0; i < NELEM(www_cases); i++)
		unit_add(&u, unit_name("www-authenticate ", www_cases[i].value,
		    strlen(www_cases[i].value)), test_www,
		    (void *)&www_cases[i]);
	for (i = 0; i < NELEM(wk_cases); i++)
		unit_add(&u, unit_name(wk_cases[i].issuer ? "issuer " :
		    "resource ", wk_cases[i].url, strlen(wk_cases[i].url)),
		    test_wk, (void *)&wk_cases[i]);
	for (i = 0; i < NELEM(tok_cases); i++)
		unit_add(&u, unit_name("token file ", tok_cases[i].text,
		    strlen(tok_cases[i].text)), test_tokens_bad,
		    (void *)&tok_cases[i]);
	r = _cmocka_run_group_tests("oauth", u.t, u.n, NULL, NULL);
	unit_free(&u);
	return r;
}
