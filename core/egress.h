/* The egress proxy of one sandboxed server with a list of hosts.

   The sandbox made a listening socket on 127.0.0.1 inside the server's
   own network namespace (where only lo exists) and handed it to corral.
   Here corral accepts on it, reads one request head (HTTP CONNECT, or an
   absolute http:// URI), checks the destination against the list,
   resolves names without blocking the loop (c-ares), refuses addresses
   that are not public unless an entry names that very address, connects
   from corral's own namespace and splices bytes both ways with bounded
   buffers. Every decision becomes an "egress" audit record. */
#ifndef CORRAL_EGRESS_H
#define CORRAL_EGRESS_H

#include <ev.h>

#include "core/config.h"

struct egress;
struct trail;

#define EGRESS_HEAD_MAX	16384	/* bytes of a request head */
#define EGRESS_BUF	65536	/* bytes buffered each way per tunnel */
#define EGRESS_TUNNELS	256	/* concurrent tunnels per server; 503 beyond */

/* Serve the listening socket lfd (taken) for server alias with the list
   of sb (borrowed, must outlive it); trail may be NULL. Caller frees. */
struct egress *egress_new(struct ev_loop *, struct trail *,
    const char *alias, const struct sandbox_conf *sb, int lfd);
/* Close the listener and every tunnel (each recorded); NULL is fine. */
void egress_free(struct egress *);
/* Tunnels open now. */
int egress_tunnels(const struct egress *);

#endif
