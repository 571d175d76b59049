/* Unit tests for the egress allow-list: entry parsing, host matching and
   the address classifier (core/netaddr.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>

#include "core/netaddr.h"
#include "unit.h"

/* Parse every entry of a NULL-terminated list; fails the test on error. */
static int
rules(struct net_rule *r, const char *const *text)
{
	char *err = NULL;
	int n;

	for (n = 0; text[n]; n++) {
		if (netaddr_rule_parse(text[n], &r[n], &err) < 0)
			fail_msg("%s: %s", text[n], err);
	}
	return n;
}

static void
free_rules(struct net_rule *r, int n)
{
	while (n-- > 0)
		netaddr_rule_free(&r[n]);
}

/* Match host (normalized first) and port against the list. */
static int
match(const struct net_rule *r, int n, const char *host, int port)
{
	char h[300];

	snprintf(h, sizeof(h), "%s", host);
	if (netaddr_host_norm(h) < 0)
		return -2;
	return netaddr_match(r, n, h, port);
}

static void
test_parse_good(void **state)
{
	static const struct {
		const char *in, *host;
		int wild, port, family;
	} t[] = {
		{ "api.github.com:443", "api.github.com", 0, 443, 0 },
		{ "Example.ORG.", "example.org", 0, 0, 0 },
		{ "*.example.org", "example.org", 1, 0, 0 },
		{ "*.Example.org:8443", "example.org", 1, 8443, 0 },
		{ "*", "*", 2, 0, 0 },
		{ "*:22", "*", 2, 22, 0 },
		{ "127.0.0.1:8080", "127.0.0.1", 0, 8080, AF_INET },
		{ "[::1]:443", "::1", 0, 443, AF_INET6 },
		{ "[2001:DB8::1]", "2001:db8::1", 0, 0, AF_INET6 },
		{ "2001:db8::1", "2001:db8::1", 0, 0, AF_INET6 },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", 0, 0, 0 },
		{ "b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example", 0, 0,
		  0 },
		{ "localhost:65535", "localhost", 0, 65535, 0 },
	};
	struct net_rule r;
	char *err = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		if (netaddr_rule_parse(t[i].in, &r, &err) < 0)
			fail_msg("%s: %s", t[i].in, err);
		assert_string_equal(r.text, t[i].in);
		assert_string_equal(r.host, t[i].host);
		assert_int_equal(r.wild, t[i].wild);
		assert_int_equal(r.port, t[i].port);
		assert_int_equal(r.family, t[i].family);
		netaddr_rule_free(&r);
	}
}

static void
test_parse_bad(void **state)
{
	static const char *const t[] = { "", ":443", "host:", "host:0",
	    "host:65536", "host:44x", "a..b", ".a", "a b", "a/b",
	    "user@host", "*.", "*.*.x", "x.*.org", "[::1", "[::1]x",
	    "::1:443x", "[nothex::1]", "a:b:c.org", "http://x", "*.10.0.0.1",
	    NULL };
	struct net_rule r;
	char *err;
	int i;

	(void)state;
	for (i = 0; t[i]; i++) {
		err = NULL;
		if (netaddr_rule_parse(t[i], &r, &err) == 0)
			fail_msg("\"%s\" was accepted", t[i]);
		assert_non_null(err);
		free(err);
	}
}

static void
test_match(void **state)
{
	static const char *const list[] = { "api.github.com:443",
	    "*.example.org", "127.0.0.1:8080", "[::1]:9000",
	    "registry.npmjs.org", NULL };
	struct net_rule r[8];
	int n;

	(void)state;
	n = rules(r, list);
	assert_int_equal(match(r, n, "api.github.com", 443), 0);
	assert_int_equal(match(r, n, "API.GitHub.com.", 443), 0);
	assert_int_equal(match(r, n, "api.github.com", 80), -1);
	assert_int_equal(match(r, n, "github.com", 443), -1);
	assert_int_equal(match(r, n, "xapi.github.com", 443), -1);
	assert_int_equal(match(r, n, "a.example.org", 443), 1);
	assert_int_equal(match(r, n, "a.b.example.org", 80), 1);
	assert_int_equal(match(r, n, "example.org", 443), -1);
	assert_int_equal(match(r, n, "badexample.org", 443), -1);
	assert_int_equal(match(r, n, "a.example.org", 8443), -1);
	assert_int_equal(match(r, n, "a.example.org.evil", 443), -1);
	assert_int_equal(match(r, n, "127.0.0.1", 8080), 2);
	assert_int_equal(match(r, n, "127.0.0.1", 8081), -1);
	assert_int_equal(match(r, n, "127.0.0.2", 8080), -1);
	assert_int_equal(match(r, n, "localhost", 8080), -1);
	assert_int_equal(match(r, n, "[::1]", 9000), 3);
	assert_int_equal(match(r, n, "[0:0::1]", 9000), 3);
	assert_int_equal(match(r, n, "::ffff:127.0.0.1", 8080), -1);
	assert_int_equal(match(r, n, "registry.npmjs.org", 80), 4);
	assert_int_equal(match(r, n, "registry.npmjs.org", 22), -1);
	assert_int_equal(match(r, n, "bad host", 443), -2);
	free_rules(r, n);
}

static void
test_match_any(void **state)
{
	static const char *const list[] = { "*:8443", NULL };
	struct net_rule r[1];
	int n;

	(void)state;
	n = rules(r, list);
	assert_int_equal(match(r, n, "anything.test", 8443), 0);
	assert_int_equal(match(r, n, "192.0.2.7", 8443), 0);
	assert_int_equal(match(r, n, "anything.test", 443), -1);
	free_rules(r, n);
}

static void
test_match_addr(void **state)
{
	static const char *const list[] = { "example.org", "127.0.0.1:8080",
	    "[fe80::1]", NULL };
	struct net_rule r[4];
	unsigned char a[16];
	int n;

	(void)state;
	n = rules(r, list);
	inet_pton(AF_INET, "127.0.0.1", a);
	assert_int_equal(netaddr_match_addr(r, n, AF_INET, a, 8080), 1);
	assert_int_equal(netaddr_match_addr(r, n, AF_INET, a, 80), -1);
	inet_pton(AF_INET6, "fe80::1", a);
	assert_int_equal(netaddr_match_addr(r, n, AF_INET6, a, 443), 2);
	assert_int_equal(netaddr_match_addr(r, n, AF_INET6, a, 22), -1);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", a);
	assert_int_equal(netaddr_match_addr(r, n, AF_INET6, a, 8080), -1);
	free_rules(r, n);
}

static void
test_split(void **state)
{
	char h[64];

	(void)state;
	assert_int_equal(netaddr_split("Example.org:8080", h, sizeof(h), 80),
	    8080);
	assert_string_equal(h, "example.org");
	assert_int_equal(netaddr_split("example.org", h, sizeof(h), 80), 80);
	assert_int_equal(netaddr_split("[::1]:443", h, sizeof(h), 80), 443);
	assert_string_equal(h, "::1");
	assert_int_equal(netaddr_split("[::1]", h, sizeof(h), 443), 443);
	assert_int_equal(netaddr_split("::1:443", h, sizeof(h), 80), -1);
	assert_int_equal(netaddr_split("host:0", h, sizeof(h), 80), -1);
	assert_int_equal(netaddr_split(":80", h, sizeof(h), 80), -1);
	assert_int_equal(netaddr_split("a@b:80", h, sizeof(h), 80), -1);
	assert_int_equal(netaddr_split("[::1]x", h, sizeof(h), 80), -1);
	assert_int_equal(netaddr_split("abcdefghij.example", h, 8, 80), -1);
}

/* The class of a textual address, or "public". */
static const char *
cls(const char *s)
{
	unsigned char a[16];
	const char *w = NULL;

	if (inet_pton(AF_INET, s, a) == 1)
		w = netaddr_special(AF_INET, a);
	else if (inet_pton(AF_INET6, s, a) == 1)
		w = netaddr_special(AF_INET6, a);
	else
		fail_msg("%s: not an address", s);
	return w ? w : "public";
}

static void
test_special(void **state)
{
	static const char *const t[][2] = {
		{ "127.0.0.1", "loopback" }, { "127.255.0.9", "loopback" },
		{ "::1", "loopback" }, { "10.1.2.3", "private" },
		{ "172.16.0.1", "private" }, { "172.31.255.255", "private" },
		{ "172.32.0.1", "public" }, { "192.168.1.1", "private" },
		{ "100.64.0.1", "cgnat" }, { "100.127.255.254", "cgnat" },
		{ "100.128.0.1", "public" }, { "169.254.169.254", "link-local" },
		{ "fe80::1", "link-local" }, { "febf::1", "link-local" },
		{ "fec0::1", "site-local" }, { "0.0.0.0", "this-network" },
		{ "0.1.2.3", "this-network" }, { "::", "unspecified" },
		{ "fc00::1", "unique-local" }, { "fd12:3456::1", "unique-local" },
		{ "224.0.0.1", "multicast" }, { "239.255.255.250", "multicast" },
		{ "ff02::1", "multicast" }, { "255.255.255.255", "broadcast" },
		{ "240.0.0.1", "reserved" }, { "192.0.0.8", "reserved" },
		{ "198.18.0.1", "reserved" }, { "100::1", "reserved" },
		{ "::ffff:127.0.0.1", "loopback" }, { "::ffff:10.0.0.1", "private" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::127.0.0.1", "loopback" }, { "::ffff:8.8.8.8", "public" },
		{ "64:ff9b::a9fe:a9fe", "link-local" },
		{ "2002:c0a8:0101::1", "private" },
		{ "2002:0808:0808::1", "public" },
		{ "8.8.8.8", "public" }, { "1.1.1.1", "public" },
		{ "2606:4700::1111", "public" },
		/* documentation ranges count as public */
		{ "192.0.2.1", "public" }, { "198.51.100.1", "public" },
		{ "203.0.113.80", "public" }, { "2001:db8::1", "public" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t); i++)
		if (strcmp(cls(t[i][0]), t[i][1]) != 0)
			fail_msg("%s: %s, want %s", t[i][0], cls(t[i][0]),
			    t[i][1]);
	assert_string_equal(netaddr_special(AF_UNIX, "x"), "unknown");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_parse_good),
	cmocka_unit_test(test_parse_bad),
	cmocka_unit_test(test_match),
	cmocka_unit_test(test_match_any),
	cmocka_unit_test(test_match_addr),
	cmocka_unit_test(test_split),
	cmocka_unit_test(test_special),
};

int
main(void)
{
	return cmocka_run_group_tests(tests, NULL, NULL);
}
