/* Egress allow-list entries and address classes: pure functions, no I/O.

   An entry is HOST[:PORT]: a name (example.org), a wildcard for the names
   below one (*.example.org: one or more labels, not the apex itself), "*"
   for any host, or an address literal (192.0.2.1, [2001:db8::1], or a bare
   IPv6 address without a port). No port means 443 and 80. Names compare
   without regard to ASCII case and a trailing dot; anything else of a name
   (IDN in Unicode or as xn--) is compared as written. */
#ifndef CORRAL_NETADDR_H
#define CORRAL_NETADDR_H

#include <stddef.h>

struct net_rule {
	char *text;		/* as configured */
	char *host;		/* normalized; for a wildcard, the suffix
				   after "*." */
	int wild;		/* 1: *.host; 2: "*" */
	int port;		/* 0: 443 and 80 */
	int family;		/* address literal: AF_INET or AF_INET6; else 0 */
	unsigned char addr[16];	/* the literal's bytes (IPv4: first 4) */
};

/* Parse text into r. Returns 0, or -1 with *err (caller frees). r owns
   its strings: free them with netaddr_rule_free. */
int netaddr_rule_parse(const char *text, struct net_rule *r, char **err);
void netaddr_rule_free(struct net_rule *);

/* Normalize a host name from a request in place: lowercase ASCII, one
   trailing dot and IPv6 brackets removed. Returns 0, or -1 when it is
   not a host name or address at all. */
int netaddr_host_norm(char *host);

/* The first rule that lets host (normalized) on port through, or -1. */
int netaddr_match(const struct net_rule *, int n, const char *host,
    int port);

/* The first address-literal rule naming exactly this address and port,
   or -1: what lets a special address through. */
int netaddr_match_addr(const struct net_rule *, int n, int family,
    const void *addr, int port);

/* Why an address may not be reached unless named: "loopback",
   "private", "cgnat", "link-local", "unique-local", "multicast",
   "broadcast", "unspecified", "this-network", "reserved", "site-local";
   NULL for an ordinary public address (documentation ranges count as
   public). Unknown families are "unknown". IPv4 embedded in IPv6
   (mapped, compatible, NAT64, 6to4) is judged by the IPv4 address. */
const char *netaddr_special(int family, const void *addr);

/* Split "host:port" (or "[v6]:port") as a request names it; host is
   copied into h (n bytes) and normalized. Returns the port, or -1. */
int netaddr_split(const char *hostport, char *h, size_t n, int defport);

#endif
