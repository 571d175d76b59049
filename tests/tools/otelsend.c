/*
 * otelsend — drive core/otel end to end: emit spans on a libev loop, run
 * the loop until all are sent or dropped (or a deadline), then drain and
 * print "sent=S dropped=D failed=F maxq=Q" on stdout.
 *
 * usage: otelsend -e endpoint [-n spans] [-c chunk] [-p period]
 *        [-q max_queue] [-b max_batch] [-i flush_interval] [-t timeout]
 *        [-w wait] [-g grace] [-H name=value]...
 *
 * Spans come in pairs: a SERVER span "tools/call echo__add" with a new
 * trace, then a CLIENT child "tools/call add" of it, the client one an
 * error. chunk spans are emitted every period seconds (default: all at
 * once). maxq is the most spans the exporter ever held.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/otel.h"
#include "core/util.h"

static struct otel *o;
static int total = 1, emitted, chunk, maxq;
static double period;
static char trace[OTEL_TRACE_HEX + 1], server[OTEL_SPAN_HEX + 1];

static void
emit_one(void)
{
	struct otel_span s;

	memset(&s, 0, sizeof(s));
	s.start_ns = otel_now_ns();
	s.end_ns = s.start_ns + 1500000;
	s.attrs = cJSON_CreateObject();
	cJSON_AddNumberToObject(s.attrs, "seq", emitted);
	if (emitted % 2 == 0) {
		otel_ids_new(trace, server);
		memcpy(s.trace_id, trace, sizeof(trace));
		memcpy(s.span_id, server, sizeof(server));
		s.name = xstrdup("tools/call echo__add");
		s.kind = OTEL_KIND_SERVER;
		s.status = OTEL_STATUS_OK;
		cJSON_AddStringToObject(s.attrs, "mcp.method.name",
		    "tools/call");
		cJSON_AddBoolToObject(s.attrs, "corral.allowed", 1);
		cJSON_AddNumberToObject(s.attrs, "corral.latency_ms", 1.5);
	} else {
		memcpy(s.trace_id, trace, sizeof(trace));
		otel_ids_new(NULL, s.span_id);
		memcpy(s.parent_id, server, sizeof(server));
		s.name = xstrdup("tools/call add");
		s.kind = OTEL_KIND_CLIENT;
		s.status = OTEL_STATUS_ERROR;
		s.message = xstrdup("tool_error");
		cJSON_AddStringToObject(s.attrs, "corral.server", "echo");
	}
	otel_emit(o, &s);
	emitted++;
	if (otel_queued(o) > maxq)
		maxq = otel_queued(o);
}

static void
emit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int i;

	(void)revents;
	for (i = 0; i < chunk && emitted < total; i++)
		emit_one();
	if (emitted >= total)
		ev_timer_stop(loop, w);
}

/* Stop once every span is accounted for. */
static void
check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	if (otel_queued(o) > maxq)
		maxq = otel_queued(o);
	if (emitted >= total && otel_sent(o) + otel_dropped(o) >= total)
		ev_break(loop, EVBREAK_ALL);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: otelsend -e endpoint [-n spans] [-c chunk] "
	    "[-p period] [-q max_queue] [-b max_batch] [-i flush_interval] "
	    "[-t timeout] [-w wait] [-g grace] [-H name=value]...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct otel_conf c;
	struct ev_loop *loop;
	ev_timer emit_t, check_t, deadline_t;
	cJSON *headers = cJSON_CreateObject();
	double wait = 10, grace = 2;
	char *err = NULL, *eq;
	int ch;

	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	while ((ch = getopt(argc, argv, "e:n:c:p:q:b:i:t:w:g:H:")) != -1) {
		switch (ch) {
		case 'e':
			c.endpoint = optarg;
			break;
		case 'n':
			total = atoi(optarg);
			break;
		case 'c':
			chunk = atoi(optarg);
			break;
		case 'p':
			period = atof(optarg);
			break;
		case 'q':
			c.max_queue = atoi(optarg);
			break;
		case 'b':
			c.max_batch = atoi(optarg);
			break;
		case 'i':
			c.flush_interval = atof(optarg);
			break;
		case 't':
			c.timeout = atof(optarg);
			break;
		case 'w':
			wait = atof(optarg);
			break;
		case 'g':
			grace = atof(optarg);
			break;
		case 'H':
			if ((eq = strchr(optarg, '=')) == NULL)
				usage();
			*eq = '\0';
			cJSON_AddStringToObject(headers, optarg, eq + 1);
			break;
		default:
			usage();
		}
	}
	if (c.endpoint == NULL || optind != argc)
		usage();
	if (chunk <= 0)
		chunk = total;
	c.headers = headers;
	loop = ev_loop_new(EVFLAG_AUTO);
	if ((o = otel_new(loop, &c, &err)) == NULL) {
		fprintf(stderr, "otelsend: %s\n", err);
		free(err);
		cJSON_Delete(headers);
		ev_loop_destroy(loop);
		return 1;
	}
	cJSON_Delete(headers);
	ev_timer_init(&emit_t, emit_cb, 0., period);
	ev_timer_start(loop, &emit_t);
	ev_timer_init(&check_t, check_cb, 0.01, 0.01);
	ev_timer_start(loop, &check_t);
	ev_timer_init(&deadline_t, deadline_cb, wait, 0.);
	ev_timer_start(loop, &deadline_t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &emit_t);
	ev_timer_stop(loop, &check_t);
	ev_timer_stop(loop, &deadline_t);
	otel_drain(o, grace);
	printf("sent=%lld dropped=%lld failed=%lld maxq=%d\n", otel_sent(o),
	    otel_dropped(o), otel_failed_posts(o), maxq);
	otel_free(o, 0);
	ev_loop_destroy(loop);
	return 0;
}
