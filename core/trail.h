/* The trail: what the broker records about a session. Every event becomes
   one audit log record (audit.h gives the line format and the chain); calls
   and requests also become OpenTelemetry spans when a collector is set.

   Events and their members (after v, seq, ts, event; before mac). A member
   that does not apply is left out, never null.

   config_load	path, sha256 (of the file's bytes), servers [alias...]
   session_start	session (16 hex digits, this run), client {name,
		version}, protocol, corral (version), pid
   session_end	session, reason, requests (recorded), duration_ms
   child_spawn	server, pid, argv [...], sandbox (one-line summary:
		"none" or "namespaces net=none ro=N rw=N home=private
		seccomp=on")
   child_exit	server, pid, status N | signal "KILL", stderr [tail]
   spawn_error	server, error (the command was not found, or a sandbox
		step failed: "sandbox: ALIAS: step: reason")
   egress	one connection to a sandbox's egress proxy, at its end:
		server, method, host, port, address, decision ("allow" |
		"deny" | "error"), rule (the list entry that matched the
		host), reason (refusal, error, "idle", "server stopped"),
		bytes_up, bytes_down, duration_ms (core/egress.c)
   call		one tools/call from the host:
		session, id (the host's id as JSON text), server, tool (the
		child's own name), name (as the host saw it), decision
		("allow" | "deny"), by (what decided: "policy: <rule's
		key path or default>", "consent: once (tty)", "consent:
		always (remembered)", "consent: no way to ask", "consent: no
		answer in time", "limits", "audit log unwritable"), outcome (below), code (rpc_error only),
		latency_ms, bytes_in, bytes_out, tokens (approximate:
		(bytes_in + bytes_out) / 4), args (capture, below)
   request	any other host request: session, id, method, server (when
		one child served it), prompt | uri (when named), outcome,
		code, latency_ms, bytes_in, bytes_out. A request whose id
		is already in use is recorded apart with rpc_error -32600.
		Requests still unanswered when the session ends are
		recorded then as "cancelled".
   relay	a child's request to the host (sampling/createMessage,
		elicitation/create, roots/list), metadata only: server,
		method, outcome, code, latency_ms, bytes_in, bytes_out;
		outcome "denied" with why when the host did not declare
		the capability (the host never saw it)
   consent_prompt	server, tool, channel ("elicitation" | "tty" |
		"dialog" | "command"), changed (true when a pin changed)
   consent_answer	server, tool, answer ("once" | "session" | "always" |
		"deny"), channel
   pin		server, tool (absent for the server's own pin), change
		("first_seen" | "changed" | "accepted"), sha256; a change
		is recorded once per run, not at every list refresh;
		"accepted" has by: "consent" (an answer for longer than
		once) or "corral pins accept"
   audit_resumed	lost (records that could not be written), error: the
		log could be written again after a failure

   Outcomes: "ok", "tool_error" (a result with isError true), "rpc_error"
   (a JSON-RPC error; code says which), "transport_error" (the child died
   or could not be reached), "timeout", "cancelled" (by the host), "denied"
   (policy, consent, pin or limit refused it; no child saw it).

   Capture (corral.audit.capture) decides what args holds:
	"none"	no args member
	"shape"	{"sha256": hex of the canonical arguments, "shape": {key:
		"string(LEN)" | "number" | "boolean" | "null" | "array(N)" |
		{nested shape}}} (the default)
	"full"	the arguments as the host sent them
   Strings that came from ${env:...} substitution in the configuration or
   from configured headers are replaced by "[redacted]" wherever they
   would appear in any record, whatever the capture. */
#ifndef CORRAL_TRAIL_H
#define CORRAL_TRAIL_H

#include <cjson/cJSON.h>
#include <ev.h>

#include "core/config.h"
#include "core/otel.h"

struct trail;

/* Open the trail for cf (borrowed, must outlive it). Never NULL: a log
   that cannot be opened is a failure like a full disk (see trail_blocked),
   reported on stderr. */
struct trail *trail_new(struct ev_loop *, const struct config *);
/* Record event with fields (an object, taken; may be NULL). Secrets are
   redacted first. Write failures are handled per corral.audit.on_failure. */
void trail_event(struct trail *, const char *event, cJSON *fields);
/* NULL when a tool call of need bytes may run; otherwise why not: under
   on_failure "refuse", the log failed (tried again first), or its file
   system has too little room left for the call's record. */
const char *trail_blocked(struct trail *, size_t need);
/* What corral.audit.capture keeps of args (borrowed; NULL for {}); NULL
   when nothing is kept. Caller owns the result. */
cJSON *trail_capture(const struct trail *, const cJSON *args);
/* Replace every secret in every string (and key) of j, in place. */
void trail_redact(const struct trail *, cJSON *j);
/* Does anything record requests (the log, or spans)? */
int trail_wanted(const struct trail *);
/* The span exporter, or NULL when corral.otel is not set. */
struct otel *trail_otel(const struct trail *);
/* Send a finished span (its strings taken), secrets redacted. */
void trail_span(struct trail *, struct otel_span *);
/* The session id (16 hex digits). */
const char *trail_session(const struct trail *);
/* Flush and close. */
void trail_free(struct trail *);

#endif
