/* OpenTelemetry trace export: spans go to an OTLP/HTTP collector as JSON
   (POST <endpoint>/v1/traces, Content-Type: application/json, the body an
   ExportTraceServiceRequest in the OTLP JSON encoding), batched, from a
   bounded queue, with libcurl's multi interface on the caller's libev loop.

   Nothing here ever blocks the loop or writes to stdout. When the queue is
   full a new span is dropped; a batch whose POST fails (no connection,
   timeout, HTTP status other than 2xx; redirects are not followed) is
   dropped too, after one retry at the next flush for the statuses the
   OTLP specification calls retryable (429, 502, 503, 504) and for a
   server that closed the connection without answering. Drops are counted
   and told on stderr at most once a minute. One POST is in flight
   at a time; spans queue meanwhile, and spans in flight count against the
   queue bound, so a collector that never answers costs at most max_queue
   spans of memory. */
#ifndef CORRAL_OTEL_H
#define CORRAL_OTEL_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#define OTEL_TRACE_HEX 32		/* a trace id: 16 bytes, in hex */
#define OTEL_SPAN_HEX 16		/* a span id: 8 bytes, in hex */
#define OTEL_TRACEPARENT_LEN 55		/* "00-" trace "-" span "-" flags */

struct otel_conf {
	const char *endpoint;	/* http(s)://host[:port][/path]; "/v1/traces"
				   is appended unless the path ends with it */
	cJSON *headers;		/* object: name -> string value, or NULL */
	cJSON *resource;	/* more resource attributes, as span attrs;
				   they override service.name and
				   service.version. Or NULL */
	const char *service_name;	/* default "corral" */
	double timeout;		/* per POST, seconds; default 5 */
	double flush_interval;	/* seconds a span may wait; default 1 */
	int max_queue;		/* spans held; default 2048 */
	int max_batch;		/* spans per POST; default 512 */
};

enum otel_kind {
	OTEL_KIND_INTERNAL = 1,
	OTEL_KIND_SERVER = 2,	/* a request corral serves */
	OTEL_KIND_CLIENT = 3,	/* a request corral sends */
};

enum otel_status {
	OTEL_STATUS_UNSET = 0,	/* no status member at all */
	OTEL_STATUS_OK = 1,
	OTEL_STATUS_ERROR = 2,
};

/* One finished span. name, attrs and message are owned by the span and
   taken by otel_emit (or freed by otel_span_clear). */
struct otel_span {
	char trace_id[OTEL_TRACE_HEX + 1];
	char span_id[OTEL_SPAN_HEX + 1];
	char parent_id[OTEL_SPAN_HEX + 1];	/* "" for a root span */
	char *name;			/* e.g. "tools/call echo__add" */
	enum otel_kind kind;
	uint64_t start_ns, end_ns;	/* Unix time in ns; see otel_now_ns */
	cJSON *attrs;		/* object: name -> string, number, bool, array
				   or object; null members are left out */
	enum otel_status status;
	char *message;		/* sent with OTEL_STATUS_ERROR only; or NULL */
};

struct otel;

/* Start an exporter on loop; returns NULL with *err (caller frees) when
   the configuration is unusable (endpoint not http or https, a header
   that cannot be sent). Header values are never shown in messages. */
struct otel *otel_new(struct ev_loop *, const struct otel_conf *,
    char **err);
/* Queue a finished span and clear *span (its strings and attrs are taken
   either way). Never blocks. A span with malformed ids is dropped (the
   collector would refuse its whole batch). With a NULL exporter the span
   is only cleared, so callers need not test whether tracing is on. */
void otel_emit(struct otel *, struct otel_span *);
/* Stop exporting on the loop (every watcher of ours is stopped) and try
   to send what is queued for at most grace seconds. It runs its own
   poll(2) on the exporter's sockets, never the libev loop, so no other
   watcher fires meanwhile. Spans still unsent are counted as dropped and
   told on stderr; spans emitted later are dropped. Counters stay readable
   until otel_free. */
void otel_drain(struct otel *, double grace);
/* otel_drain unless done already, then free everything. NULL is allowed. */
void otel_free(struct otel *, double grace);

/* Counters, in spans (posts for otel_failed_posts). */
long long otel_sent(const struct otel *);	/* accepted by the collector */
long long otel_dropped(const struct otel *);	/* lost, for any reason */
long long otel_failed_posts(const struct otel *);
int otel_queued(const struct otel *);		/* waiting or in flight */

/* Free a span's strings and attrs without sending it. */
void otel_span_clear(struct otel_span *);
/* Now, in ns since the Unix epoch (CLOCK_REALTIME). */
uint64_t otel_now_ns(void);
/* Fresh random ids, lower-case hex, never all zero. trace_id may be
   NULL when only a span id is wanted. */
void otel_ids_new(char trace_id[OTEL_TRACE_HEX + 1],
    char span_id[OTEL_SPAN_HEX + 1]);
/* Parse a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>", lower-case
   only). Versions other than 00 are read the same way, with more
   fields allowed after a '-'; version ff, all-zero ids and anything else
   malformed are refused. Returns 0, or -1 with the outputs untouched.
   flags may be NULL. */
int otel_traceparent_parse(const char *, char trace_id[OTEL_TRACE_HEX + 1],
    char parent_id[OTEL_SPAN_HEX + 1], int *flags);
/* Format a version-00 traceparent. */
void otel_traceparent_format(char out[OTEL_TRACEPARENT_LEN + 1],
    const char *trace_id, const char *span_id, int flags);

/* For tests: one span as OTLP JSON (caller frees), and the body of the
   next POST with the number of spans it carries (NULL when none). */
char *otel_span_json(const struct otel_span *);
char *otel_next_body(struct otel *, int *nspans);
/* For tests: the URL spans are posted to, and the one shown in messages
   (no user, password or query). */
const char *otel_url(const struct otel *);
const char *otel_shown_url(const struct otel *);

#endif
