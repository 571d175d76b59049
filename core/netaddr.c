/* Egress allow-list entries and the address classifier (netaddr.h). */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/netaddr.h"
#include "core/util.h"

/* A port number written in decimal, 1 to 65535; -1 otherwise. */
static int
parse_port(const char *s)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* Is s a name made of labels: no empty label, nothing that cannot be in
   a host name (space, control, '/', '@', ':', '*', brackets)? */
static int
valid_name(const char *s)
{
	size_t label = 0;

	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if ((unsigned char)*s <= ' ' || *s == 0x7f ||
		    strchr("/@:*[]\\?#%", *s))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

int
netaddr_host_norm(char *host)
{
	size_t n = strlen(host);
	char *s;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n -= 2] = '\0';
	}
	if (n > 1 && host[n - 1] == '.')
		host[--n] = '\0';
	for (s = host; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
	if (strchr(host, ':')) {
		unsigned char a[16];

		return inet_pton(AF_INET6, host, a) == 1 ? 0 : -1;
	}
	return valid_name(host) ? 0 : -1;
}

int
netaddr_split(const char *hp, char *h, size_t n, int defport)
{
	const char *colon, *end;
	size_t hl;
	int port = defport;

	if (hp[0] == '[') {
		if ((end = strchr(hp, ']')) == NULL)
			return -1;
		hl = end - hp + 1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(hp, ':');
		if (colon && strchr(hp, ':') != colon)
			return -1;	/* a bare IPv6 address needs brackets */
		hl = colon ? (size_t)(colon - hp) : strlen(hp);
	}
	if (colon && (port = parse_port(colon + 1)) < 0)
		return -1;
	if (hl == 0 || hl >= n)
		return -1;
	memcpy(h, hp, hl);
	h[hl] = '\0';
	if (netaddr_host_norm(h) < 0)
		return -1;
	return port;
}

/* Fill the literal of r when its host is an address. */
static void
rule_literal(struct net_rule *r)
{
	if (inet_pton(AF_INET, r->host, r->addr) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, r->host, r->addr) == 1)
		r->family = AF_INET6;
}

int
netaddr_rule_parse(const char *text, struct net_rule *r, char **err)
{
	char h[300], *colon;
	unsigned char a[16];
	int port = 0;

	memset(r, 0, sizeof(*r));
	if (strlen(text) >= sizeof(h)) {
		*err = xasprintf("\"%.40s...\": too long for a host", text);
		return -1;
	}
	snprintf(h, sizeof(h), "%s", text);
	/* A bare IPv6 address: colons and no brackets, no port. */
	if (h[0] != '[' && inet_pton(AF_INET6, h, a) == 1)
		goto host;
	if (h[0] == '[') {
		colon = strchr(h, ']');
		if (colon == NULL || (colon[1] != '\0' && colon[1] != ':'))
			goto bad;
		colon = colon[1] == ':' ? colon + 1 : NULL;
	} else if ((colon = strrchr(h, ':')) && strchr(h, ':') != colon) {
		goto bad;
	}
	if (colon) {
		if ((port = parse_port(colon + 1)) < 0) {
			*err = xasprintf("\"%s\": the port must be a number "
			    "from 1 to 65535", text);
			return -1;
		}
		*colon = '\0';
	}
host:
	if (strcmp(h, "*") == 0) {
		r->wild = 2;
	} else if (strncmp(h, "*.", 2) == 0) {
		memmove(h, h + 2, strlen(h + 2) + 1);
		r->wild = 1;
		if (netaddr_host_norm(h) < 0 || strchr(h, ':') ||
		    inet_pton(AF_INET, h, a) == 1)
			goto bad;
	} else if (netaddr_host_norm(h) < 0) {
		goto bad;
	}
	r->text = xstrdup(text);
	r->host = xstrdup(h);
	r->port = port;
	if (!r->wild)
		rule_literal(r);
	return 0;
bad:
	*err = xasprintf("\"%s\": not a host pattern (host, *.domain, an "
	    "address, [IPv6], each with an optional :port)", text);
	return -1;
}

void
netaddr_rule_free(struct net_rule *r)
{
	free(r->text);
	free(r->host);
	r->text = r->host = NULL;
}

/* Does rule r's port admit port? */
static int
port_ok(const struct net_rule *r, int port)
{
	return r->port ? r->port == port : port == 443 || port == 80;
}

/* Does the request's host equal the rule's literal as an address
   (::ffff:127.0.0.1 is not 127.0.0.1: spellings must agree in family)? */
static int
same_literal(const struct net_rule *r, const char *host)
{
	unsigned char a[16];
	int fam;

	if (inet_pton(AF_INET, host, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, host, a) == 1)
		fam = AF_INET6;
	else
		return 0;
	return fam == r->family &&
	    memcmp(a, r->addr, fam == AF_INET ? 4 : 16) == 0;
}

int
netaddr_match(const struct net_rule *rules, int n, const char *host,
    int port)
{
	const struct net_rule *r;
	size_t hl = strlen(host), sl;
	int i;

	for (i = 0; i < n; i++) {
		r = &rules[i];
		if (!port_ok(r, port))
			continue;
		if (r->wild == 2)
			return i;
		if (r->wild == 1) {
			sl = strlen(r->host);
			if (hl > sl + 1 && host[hl - sl - 1] == '.' &&
			    strcmp(host + hl - sl, r->host) == 0)
				return i;
		} else if (r->family ? same_literal(r, host) :
		    strcmp(host, r->host) == 0) {
			return i;
		}
	}
	return -1;
}

int
netaddr_match_addr(const struct net_rule *rules, int n, int family,
    const void *addr, int port)
{
	int i;

	for (i = 0; i < n; i++)
		if (rules[i].family == family && port_ok(&rules[i], port) &&
		    memcmp(rules[i].addr, addr, family == AF_INET ? 4 : 16) ==
		    0)
			return i;
	return -1;
}

/* An IPv4 address (network byte order bytes). */
static const char *
special4(const unsigned char *b)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	static const struct {
		uint32_t net, mask;
		const char *why;
	} t[] = {
		{ 0x00000000, 0xff000000, "this-network" },	/* 0/8 */
		{ 0x0a000000, 0xff000000, "private" },		/* 10/8 */
		{ 0x64400000, 0xffc00000, "cgnat" },		/* 100.64/10 */
		{ 0x7f000000, 0xff000000, "loopback" },		/* 127/8 */
		{ 0xa9fe0000, 0xffff0000, "link-local" },	/* 169.254/16 */
		{ 0xac100000, 0xfff00000, "private" },		/* 172.16/12 */
		{ 0xc0000000, 0xffffff00, "reserved" },		/* 192.0.0/24 */
		{ 0xc0a80000, 0xffff0000, "private" },		/* 192.168/16 */
		{ 0xc6120000, 0xfffe0000, "reserved" },		/* 198.18/15 */
		{ 0xe0000000, 0xf0000000, "multicast" },	/* 224/4 */
		{ 0xffffffff, 0xffffffff, "broadcast" },
		{ 0xf0000000, 0xf0000000, "reserved" },		/* 240/4 */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if ((a & t[i].mask) == t[i].net)
			return t[i].why;
	return NULL;
}

/* An IPv6 address: the forms that carry an IPv4 address are judged by
   it, so ::ffff:127.0.0.1 is loopback like 127.0.0.1. */
static const char *
special6(const unsigned char *b)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const unsigned char zero[16];

	if (memcmp(b, zero, 16) == 0)
		return "unspecified";
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return "loopback";
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0 ||
	    memcmp(b, nat64, 12) == 0)
		return special4(b + 12);
	if (b[0] == 0x20 && b[1] == 0x02)		/* 6to4: 2002::/16 */
		return special4(b + 2);
	if ((b[0] & 0xfe) == 0xfc)
		return "unique-local";			/* fc00::/7 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";			/* fe80::/10 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "site-local";			/* fec0::/10 */
	if (b[0] == 0xff)
		return "multicast";			/* ff00::/8 */
	if (b[0] == 0x01 && b[1] == 0 && memcmp(b + 2, zero, 6) == 0)
		return "reserved";			/* 100::/64 discard */
	return NULL;
}

const char *
netaddr_special(int family, const void *addr)
{
	if (family == AF_INET)
		return special4(addr);
	if (family == AF_INET6)
		return special6(addr);
	return "unknown";
}
