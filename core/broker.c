/* The broker: the host session, method dispatch, and routing between the
   host and the children. Messages are forwarded by changing only the spans
   that must change (ids, tokens, names); the rest is copied as it came. */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/cache.h"
#include "core/canon.h"
#include "core/consent.h"
#include "core/curlev.h"
#include "core/remote.h"
#include "core/state.h"
#include "core/errlog.h"
#include "core/jsonrpc.h"
#include "core/util.h"
#include "core/version.h"

#define BAD_LINES_MAX 1000	/* consecutive non-JSON lines before cut-off */
#define PAGES_MAX 1000		/* list pages followed per child and kind */
#define RELIST_DELAY 0.02	/* list_changed debounce */

/* How host_message_x dispatches a message again. */
#define RS_CONSENTED 1		/* past the consent gate */
#define RS_RESUMED 2		/* counted in its batch already */

/* How a host request ended, for the audit log. */
enum outcome { OUT_NONE = 0, OUT_OK, OUT_TOOL_ERROR, OUT_RPC_ERROR,
	OUT_TRANSPORT, OUT_TIMEOUT, OUT_CANCELLED, OUT_DENIED };
static const char *const answer_short[] = { "deny", "once", "session",
	"always" };
static const char *const outcome_name[] = { "", "ok", "tool_error",
	"rpc_error", "transport_error", "timeout", "cancelled", "denied" };

/* One host request on its way to the audit log. */
struct arec {
	char *id;
	size_t idlen;
	char *method;
	double t0;
	size_t bytes_in;
	int server;		/* child that served it, or -1 */
	char *tool, *name;	/* tools/call: the child's name, the host's */
	const char *what;	/* "prompt" or "uri" */
	char *target;
	char *decision, *by;
	cJSON *args;		/* as captured */
	/* spans, when corral.otel is set */
	char trace[OTEL_TRACE_HEX + 1];
	char span[OTEL_SPAN_HEX + 1];		/* corral's, for the request */
	char parent[OTEL_SPAN_HEX + 1];		/* the host's, or "" */
	int flags;
	uint64_t start_ns;
	char cspan[OTEL_SPAN_HEX + 1];		/* the forwarded request's */
	uint64_t cstart_ns, cend_ns;
};

/* One host request being dispatched. */
struct rctx {
	const char *p;		/* message text */
	struct jmsg m;
	char *method;
	struct batch *bt;
	cJSON *params;		/* parsed on demand */
	int consented;		/* dispatched again after consent */
	int lim_child;		/* limits to count on the forwarded call */
	const char *lim_tool;
	double max_bytes;
	const char *sub_uri;	/* a first subscribe, undone if it fails */
};

struct gather {
	struct hreq *h;		/* NULL once the host cancelled it */
	struct batch *bt;
	int waiting;
	cJSON *acc;
	ev_timer timer;		/* children late to answer are left out */
	struct broker *b;
};

void child_setup(struct child *, struct broker *, int, struct server_conf *);

static void host_flush(struct broker *);
static void notify_lists(struct broker *, int mask);
static void hreq_free(struct broker *, struct hreq *);
static void host_now_ready(struct broker *);
static int lazy_hold(struct broker *, struct rctx *, struct child *);
static void lazy_unlink(struct broker *, struct hreq *);
static void lazy_touch(struct child *);
static void arec_answer(struct broker *, const char *id, size_t idlen,
    int outcome, int code, size_t bytes_out);

static const char *const list_method[CAT_NKINDS] = {
	"tools/list", "prompts/list", "resources/list",
	"resources/templates/list"
};
static const char *const list_key[CAT_NKINDS] = {
	"tools", "prompts", "resources", "resourceTemplates"
};
static const char *const changed_method[CAT_NKINDS] = {
	"notifications/tools/list_changed",
	"notifications/prompts/list_changed",
	"notifications/resources/list_changed",
	"notifications/resources/list_changed"
};

/* --- the host link ------------------------------------------------------ */

static void
pause_children(struct broker *b, int pause)
{
	int i;

	if (b->paused == pause)
		return;
	b->paused = pause;
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		if (!c->stdout_open)
			continue;
		if (c->conf->remote) {
			/* Its transfers pause in their write callbacks. */
			if (!pause)
				remote_resume(c);
			continue;
		}
		if (pause)
			ev_io_stop(b->loop, &c->rd);
		else
			ev_io_start(b->loop, &c->rd);
	}
}

static void
host_wr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct broker *b = w->data;

	(void)loop;
	(void)revents;
	host_flush(b);
}

/*
 * A pipe holds 64 KiB by default: a big message then moves in 64 KiB
 * writes, each waking the reader. When a link first carries a big
 * message, its pipe is made larger (once; a pipe that is not ours to
 * grow, or a user over the kernel's pipe budget, keeps its size).
 */
void
pipe_grow(int fd)
{
	(void)fcntl(fd, F_SETPIPE_SZ, PIPE_BIG);
}

static void
host_flush(struct broker *b)
{
	ssize_t n;

	while (buf_used(&b->host_out) > 0) {
		n = write(b->out_fd, buf_head(&b->host_out),
		    buf_used(&b->host_out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!b->out_pipe_grown &&
			    buf_used(&b->host_out) > PIPE_GROW_AT) {
				pipe_grow(b->out_fd);
				b->out_pipe_grown = 1;
				continue;
			}
			if (!ev_is_active(&b->host_wr))
				ev_io_start(b->loop, &b->host_wr);
			/* Stop reading children while the host lags. */
			if (buf_used(&b->host_out) > b->cf->max_message)
				pause_children(b, 1);
			return;
		}
		if (n < 0) {
			/* The host went away; nothing more can reach it. */
			buf_reset(&b->host_out);
			if (!b->stopping) {
				b->stop_reason = "the host stopped reading";
				broker_shutdown(b);
			}
			break;
		}
		buf_consume(&b->host_out, n);
	}
	ev_io_stop(b->loop, &b->host_wr);
	pause_children(b, 0);
	broker_check_exit(b);
}

/* More than a message waits for a host that is not reading: stop reading
   the children (and remote transfers) until it has drained. */
static void
host_backpressure(struct broker *b)
{
	if (!b->paused && buf_used(&b->host_out) > b->cf->max_message)
		pause_children(b, 1);
}

void
broker_host_send(struct broker *b, const char *msg, size_t len)
{
	if (b->sink) {
		b->sink(b, msg, len, b->sink_arg);
		return;
	}
	if (buf_reserve(&b->host_out, len + 1) == NULL) {
		logmsg("the host is not reading; dropped a message of %zu "
		    "bytes", len);
		return;
	}
	buf_add(&b->host_out, msg, len);
	buf_add(&b->host_out, "\n", 1);
	/* Written by the flusher at the end of this loop turn, with the
	   others of the turn; at once when much is waiting. */
	if (!ev_is_active(&b->host_wr) && buf_used(&b->host_out) >= FLUSH_AT)
		host_flush(b);
	host_backpressure(b);
}

/* The end of a loop turn: write what it queued, to the host and to each
   child, one write each. */
static void
flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct broker *b = w->data;
	int i;

	(void)loop;
	(void)revents;
	for (i = 0; i < b->nchildren; i++)
		child_flush(&b->children[i]);
	if (b->sink == NULL && buf_used(&b->host_out) > 0 &&
	    !ev_is_active(&b->host_wr))
		host_flush(b);
}

static void
batch_send(struct broker *b, struct batch *bt)
{
	if (bt->nresp > 0) {
		buf_add(&bt->out, "]", 1);
		broker_host_send(b, buf_head(&bt->out), buf_used(&bt->out));
	}
	buf_free(&bt->out);
	free(bt);
}

/* One answer of a batch arrived (or will never come: msg NULL). */
static void
batch_answer(struct broker *b, struct batch *bt, const char *msg, size_t len)
{
	if (msg) {
		buf_add(&bt->out, bt->nresp ? "," : "[", 1);
		buf_add(&bt->out, msg, len);
		bt->nresp++;
	}
	bt->waiting--;
	if (bt->done_reading && bt->waiting == 0)
		batch_send(b, bt);
}

/* Send a response to the host, or add it to its batch. */
static void
deliver(struct broker *b, struct batch *bt, const char *msg, size_t len)
{
	if (bt)
		batch_answer(b, bt, msg, len);
	else
		broker_host_send(b, msg, len);
}

static void
respond_raw(struct broker *b, struct batch *bt, const char *id, size_t idlen,
    const char *result, size_t rlen)
{
	struct buf o;

	buf_init(&o, 0);
	buf_adds(&o, "{\"jsonrpc\":\"2.0\",\"id\":");
	buf_add(&o, id, idlen);
	buf_adds(&o, ",\"result\":");
	buf_add(&o, result, rlen);
	buf_add(&o, "}", 1);
	arec_answer(b, id, idlen, OUT_OK, 0, buf_used(&o));
	deliver(b, bt, buf_head(&o), buf_used(&o));
	buf_free(&o);
}

/* Respond with a result object (taken). */
static void
respond(struct broker *b, struct batch *bt, const char *id, size_t idlen,
    cJSON *result)
{
	char *s = cJSON_PrintUnformatted(result);

	cJSON_Delete(result);
	respond_raw(b, bt, id, idlen, s, strlen(s));
	cJSON_free(s);
}

/* Respond with an error; data (taken) may be NULL. id NULL means null. */
static void
respond_error(struct broker *b, struct batch *bt, const char *id,
    size_t idlen, int code, const char *message, cJSON *data)
{
	cJSON *e = cJSON_CreateObject();
	char *s;
	struct buf o;

	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	if (data)
		cJSON_AddItemToObject(e, "data", data);
	s = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	buf_init(&o, 0);
	buf_adds(&o, "{\"jsonrpc\":\"2.0\",\"id\":");
	if (id)
		buf_add(&o, id, idlen);
	else
		buf_adds(&o, "null");
	buf_adds(&o, ",\"error\":");
	buf_adds(&o, s);
	buf_add(&o, "}", 1);
	cJSON_free(s);
	if (id)
		arec_answer(b, id, idlen, OUT_RPC_ERROR, code, buf_used(&o));
	else
		b->hint = OUT_NONE;
	deliver(b, bt, buf_head(&o), buf_used(&o));
	buf_free(&o);
}

static void
rctx_error(struct broker *b, struct rctx *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
rctx_error(struct broker *b, struct rctx *r, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("out of memory");
	va_end(ap);
	respond_error(b, r->bt, r->p + r->m.id.off, r->m.id.len, code, msg,
	    NULL);
	free(msg);
}

static void
notify_host(struct broker *b, const char *method, cJSON *params)
{
	char *s = jsonrpc_message(method, params, -1);

	broker_host_send(b, s, strlen(s));
	cJSON_free(s);
}

/* --- helpers ------------------------------------------------------------- */

static char *
span_dup(const char *p, struct jspan s)
{
	return xstrndup(p + s.off, s.len);
}

/* A member of a member: obj.k1.k2 (any may be absent). */
static int
member2(const char *p, struct jspan obj, const char *k1, const char *k2,
    struct jspan *out)
{
	struct jspan mid;

	if (json_member(p, obj, k1, &mid) != 1)
		return 0;
	return json_member(p, mid, k2, out) == 1;
}

static cJSON *
rctx_params(struct rctx *r)
{
	if (r->params == NULL && r->m.params.len)
		r->params = cJSON_ParseWithLength(r->p + r->m.params.off,
		    r->m.params.len);
	return r->params;
}

static const char *
param_str(struct rctx *r, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(rctx_params(r), k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct child *
child_of(struct broker *b, int idx)
{
	return idx >= 0 && idx < b->nchildren ? &b->children[idx] : NULL;
}

static cJSON *
child_error_data(struct child *c)
{
	cJSON *d = cJSON_CreateObject(), *t = cJSON_CreateArray();
	int i;

	cJSON_AddStringToObject(d, "server", c->conf->alias);
	if (c->last_exit)
		cJSON_AddStringToObject(d, "reason", c->last_exit);
	for (i = 0; i < TAIL_LINES; i++) {
		char *l = c->tail[(c->tail_next + i) % TAIL_LINES];

		if (l)
			cJSON_AddItemToArray(t, cJSON_CreateString(l));
	}
	cJSON_AddItemToObject(d, "stderr", t);
	return d;
}

/* --- the audit log ------------------------------------------------------ */

void
broker_audit(struct broker *b, const char *event, cJSON *fields)
{
	trail_event(b->trail, event, fields);
}

static void
add_session(struct broker *b, cJSON *f)
{
	cJSON_AddStringToObject(f, "session", trail_session(b->trail));
}

/* Milliseconds with three decimals, printed once: cJSON would print a
   fraction twice over to find its shortest form. */
static void
add_ms(cJSON *f, const char *k, double seconds)
{
	char n[32];

	snprintf(n, sizeof(n), "%.3f", floor(seconds * 1e6) / 1e3);
	cJSON_AddRawToObject(f, k, n);
}

/* Start the record of a host request (again, after consent: the same). */
static struct arec *
arec_begin(struct broker *b, struct rctx *r)
{
	struct arec *a = map_get(&b->arecs, r->p + r->m.id.off, r->m.id.len);
	cJSON *params;
	const char *s;

	if (a || !trail_wanted(b->trail))
		return a;	/* nothing records requests: no record */
	a = xcalloc(1, sizeof(*a));
	a->id = span_dup(r->p, r->m.id);
	a->idlen = r->m.id.len;
	a->method = xstrdup(r->method);
	a->t0 = mono_now();
	a->bytes_in = r->m.all.len;
	a->server = -1;
	params = rctx_params(r);
	if (strcmp(r->method, "tools/call") == 0) {
		if ((s = param_str(r, "name")))
			a->name = xstrdup(s);
		a->args = trail_capture(b->trail,
		    cJSON_GetObjectItemCaseSensitive(params, "arguments"));
	} else if (strcmp(r->method, "prompts/get") == 0 &&
	    (s = param_str(r, "name"))) {
		a->what = "prompt";
		a->target = xstrdup(s);
	} else if (strncmp(r->method, "resources/", 10) == 0 &&
	    (s = param_str(r, "uri"))) {
		a->what = "uri";
		a->target = xstrdup(s);
	}
	if (trail_otel(b->trail)) {
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
		cJSON *tp = cJSON_GetObjectItemCaseSensitive(meta,
		    "traceparent");

		/* Continue the host's trace, or start one. */
		a->flags = 1;
		if (!cJSON_IsString(tp) || otel_traceparent_parse(
		    tp->valuestring, a->trace, a->parent, &a->flags) < 0)
			otel_ids_new(a->trace, a->span);
		else
			otel_ids_new(NULL, a->span);
		a->start_ns = otel_now_ns();
	}
	map_put(&b->arecs, a->id, a->idlen, a);
	return a;
}

static struct arec *
arec_of(struct broker *b, struct rctx *r)
{
	return map_get(&b->arecs, r->p + r->m.id.off, r->m.id.len);
}

static void
arec_decide(struct broker *b, struct rctx *r, const char *decision,
    const char *by)
{
	struct arec *a = arec_of(b, r);

	if (a == NULL)
		return;
	free(a->decision);
	free(a->by);
	a->decision = xstrdup(decision);
	a->by = xstrdup(by);
}

static void
arec_free(struct arec *a)
{
	free(a->id);
	free(a->method);
	free(a->tool);
	free(a->name);
	free(a->target);
	free(a->decision);
	free(a->by);
	cJSON_Delete(a->args);
	free(a);
}

/* The spans of a finished request: the forwarded one, then corral's. */
static void
arec_spans(struct broker *b, struct arec *a, int outcome, int code)
{
	struct child *c = child_of(b, a->server);
	int call = strcmp(a->method, "tools/call") == 0;
	const char *target = call ? a->name : a->target;
	struct otel_span sp;
	uint64_t now = otel_now_ns();
	int k;

	/* A host that did not sample its trace gets none from us either
	   (the child still learns the context, unsampled). */
	if (a->parent[0] && !(a->flags & 1))
		return;
	for (k = a->cspan[0] ? 0 : 1; k < 2; k++) {
		memset(&sp, 0, sizeof(sp));
		memcpy(sp.trace_id, a->trace, sizeof(sp.trace_id));
		sp.attrs = cJSON_CreateObject();
		cJSON_AddStringToObject(sp.attrs, "mcp.method.name", a->method);
		cJSON_AddStringToObject(sp.attrs, "mcp.session.id",
		    trail_session(b->trail));
		if (c)
			cJSON_AddStringToObject(sp.attrs, "mcp.server",
			    c->conf->alias);
		if (k == 0) {
			/* CLIENT: what the child was asked, by its names. */
			memcpy(sp.span_id, a->cspan, sizeof(sp.span_id));
			memcpy(sp.parent_id, a->span, sizeof(sp.parent_id));
			sp.kind = OTEL_KIND_CLIENT;
			sp.start_ns = a->cstart_ns;
			sp.end_ns = a->cend_ns ? a->cend_ns : now;
			target = a->tool ? a->tool : a->target;
		} else {
			memcpy(sp.span_id, a->span, sizeof(sp.span_id));
			memcpy(sp.parent_id, a->parent, sizeof(sp.parent_id));
			sp.kind = OTEL_KIND_SERVER;
			sp.start_ns = a->start_ns;
			sp.end_ns = now;
			target = call ? a->name : a->target;
		}
		if (call && target)
			cJSON_AddStringToObject(sp.attrs, "gen_ai.tool.name",
			    target);
		sp.name = target ? xasprintf("%s %s", a->method, target) :
		    xstrdup(a->method);
		if (outcome == OUT_OK) {
			sp.status = OTEL_STATUS_OK;
		} else {
			sp.status = OTEL_STATUS_ERROR;
			sp.message = xstrdup(outcome_name[outcome]);
			if (outcome == OUT_RPC_ERROR) {
				char n[16];

				snprintf(n, sizeof(n), "%d", code);
				cJSON_AddStringToObject(sp.attrs, "error.type",
				    n);
				cJSON_AddNumberToObject(sp.attrs,
				    "rpc.jsonrpc.error_code", code);
			} else {
				cJSON_AddStringToObject(sp.attrs, "error.type",
				    outcome_name[outcome]);
			}
		}
		if (k == 1 && a->decision)
			cJSON_AddStringToObject(sp.attrs, "corral.decision",
			    a->decision);
		trail_span(b->trail, &sp);
	}
}

static void
arec_write(struct broker *b, struct arec *a, int outcome, int code,
    size_t bytes_out)
{
	int call = strcmp(a->method, "tools/call") == 0;
	cJSON *f = cJSON_CreateObject();
	struct child *c = child_of(b, a->server);
	char *id = xstrndup(a->id, a->idlen);

	add_session(b, f);
	cJSON_AddStringToObject(f, "id", id);
	free(id);
	if (!call)
		cJSON_AddStringToObject(f, "method", a->method);
	if (c)
		cJSON_AddStringToObject(f, "server", c->conf->alias);
	if (call && a->tool)
		cJSON_AddStringToObject(f, "tool", a->tool);
	if (call && a->name)
		cJSON_AddStringToObject(f, "name", a->name);
	if (a->what)
		cJSON_AddStringToObject(f, a->what, a->target);
	if (a->decision) {
		cJSON_AddStringToObject(f, "decision", a->decision);
		cJSON_AddStringToObject(f, "by", a->by);
	}
	cJSON_AddStringToObject(f, "outcome", outcome_name[outcome]);
	if (outcome == OUT_RPC_ERROR)
		cJSON_AddNumberToObject(f, "code", code);
	add_ms(f, "latency_ms", mono_now() - a->t0);
	cJSON_AddNumberToObject(f, "bytes_in", (double)a->bytes_in);
	cJSON_AddNumberToObject(f, "bytes_out", (double)bytes_out);
	if (call) {
		cJSON_AddNumberToObject(f, "tokens",
		    (double)((a->bytes_in + bytes_out) / 4));
		if (a->args) {
			cJSON_AddItemToObject(f, "args", a->args);
			a->args = NULL;
		}
	}
	trail_event(b->trail, call ? "call" : "request", f);
	b->nanswered++;
	if (a->start_ns)
		arec_spans(b, a, outcome, code);
}

/* The host gets its answer (or, cancelled, none): the record is done.
   b->hint, when set, says better than the answer's shape how it ended. */
static void
arec_answer(struct broker *b, const char *id, size_t idlen, int outcome,
    int code, size_t bytes_out)
{
	struct arec *a;

	if (b->hint) {
		outcome = b->hint;
		b->hint = OUT_NONE;
	}
	if (b->arec_skip) {
		b->skip_bytes = bytes_out;
		return;
	}
	if ((a = map_del(&b->arecs, id, idlen)) == NULL)
		return;
	arec_write(b, a, outcome, code, bytes_out);
	arec_free(a);
}

/* What a child's response says of how the request went. */
static int
child_outcome(const char *p, const struct jmsg *m, int *code)
{
	struct jspan v;

	*code = 0;
	if (m->error.len) {
		if (json_member(p, m->error, "code", &v) == 1 &&
		    json_type(p, v) == JT_NUMBER)
			*code = (int)strtol(p + v.off, NULL, 10);
		return OUT_RPC_ERROR;
	}
	if (json_member(p, m->result, "isError", &v) == 1 && v.len == 4 &&
	    memcmp(p + v.off, "true", 4) == 0)
		return OUT_TOOL_ERROR;
	return OUT_OK;
}

static const char *
sandbox_summary(const struct sandbox_conf *sb, char *out, size_t n)
{
	if (sb->profile_none)
		snprintf(out, n, "none");
	else
		snprintf(out, n, "%s net=%s ro=%d rw=%d home=%s seccomp=%s",
		    sandbox_backend(), sb->net_full ? "full" :
		    sb->nnet ? "list" : "none", sb->nro,
		    sb->nrw, sb->home_ephemeral ? "ephemeral" : "private",
		    sb->seccomp_off ? "off" : "on");
	return out;
}

void
broker_audit_spawn(struct broker *b, struct child *c)
{
	cJSON *f = cJSON_CreateObject(), *argv;
	char sb[160];
	int i;

	cJSON_AddStringToObject(f, "server", c->conf->alias);
	if (c->conf->remote) {
		/* Nothing runs here: where it is, and how it is reached. */
		cJSON_AddStringToObject(f, "url", c->conf->url);
		cJSON_AddStringToObject(f, "transport",
		    c->conf->legacy_sse ? "sse" : "http");
		trail_event(b->trail, "child_spawn", f);
		return;
	}
	cJSON_AddNumberToObject(f, "pid", (double)c->proc.pid);
	argv = cJSON_AddArrayToObject(f, "argv");
	for (i = 0; c->conf->argv[i]; i++)
		cJSON_AddItemToArray(argv,
		    cJSON_CreateString(c->conf->argv[i]));
	cJSON_AddStringToObject(f, "sandbox",
	    sandbox_summary(&c->conf->sandbox, sb, sizeof(sb)));
	trail_event(b->trail, "child_spawn", f);
}

void
broker_audit_spawn_failed(struct broker *b, struct child *c,
    const char *why)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "server", c->conf->alias);
	cJSON_AddStringToObject(f, "error", why);
	trail_event(b->trail, "spawn_error", f);
}

void
broker_audit_exit(struct broker *b, struct child *c, int status)
{
	cJSON *f = cJSON_CreateObject(), *t;
	const char *sig;
	int i;

	cJSON_AddStringToObject(f, "server", c->conf->alias);
	if (c->conf->remote) {
		/* No process: why the session ended. */
		cJSON_AddStringToObject(f, "url", c->conf->url);
		cJSON_AddStringToObject(f, "reason", c->last_exit ?
		    c->last_exit : "session ended");
		trail_event(b->trail, "child_exit", f);
		return;
	}
	cJSON_AddNumberToObject(f, "pid", (double)c->proc.pid);
	if (WIFEXITED(status)) {
		cJSON_AddNumberToObject(f, "status", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		sig = sigabbrev_np(WTERMSIG(status));
		if (sig)
			cJSON_AddStringToObject(f, "signal", sig);
		else
			cJSON_AddNumberToObject(f, "signal", WTERMSIG(status));
	}
	t = cJSON_AddArrayToObject(f, "stderr");
	for (i = 0; i < TAIL_LINES; i++) {
		char *l = c->tail[(c->tail_next + i) % TAIL_LINES];

		if (l)
			cJSON_AddItemToArray(t, cJSON_CreateString(l));
	}
	trail_event(b->trail, "child_exit", f);
}

/* --- forwarding host requests -------------------------------------------- */

static void
hreq_timeout(struct broker *b, struct hreq *h, const char *why)
{
	struct child *c = child_of(b, h->child);
	struct preq *pq;
	cJSON *params, *d;
	char *msg;

	if (c && (pq = map_deli(&c->pending, h->cid))) {
		params = cJSON_CreateObject();
		cJSON_AddNumberToObject(params, "requestId", (double)h->cid);
		cJSON_AddStringToObject(params, "reason", why);
		child_notify(c, "notifications/cancelled", params);
		free(pq);
	}
	d = cJSON_CreateObject();
	if (c)
		cJSON_AddStringToObject(d, "server", c->conf->alias);
	cJSON_AddStringToObject(d, "method", h->method);
	msg = xasprintf("%s: %s", c ? c->conf->alias : "corral", why);
	b->hint = OUT_TIMEOUT;
	respond_error(b, h->batch, h->id, h->idlen, RPC_REQUEST_TIMEOUT, msg,
	    d);
	free(msg);
	hreq_free(b, h);
}

static void
idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hreq *h = w->data;
	struct child *c = child_of(h->b, h->child);
	char why[128];

	(void)loop;
	(void)revents;
	snprintf(why, sizeof(why), "no answer or progress for %g s",
	    c ? c->conf->t_call : 0);
	hreq_timeout(h->b, h, why);
}

static void
hard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hreq *h = w->data;
	struct child *c = child_of(h->b, h->child);
	char why[128];

	(void)loop;
	(void)revents;
	snprintf(why, sizeof(why), "request took longer than %g s",
	    c ? c->conf->t_call_max : 0);
	hreq_timeout(h->b, h, why);
}

static struct hreq *
hreq_new(struct broker *b, struct rctx *r)
{
	struct hreq *h = xcalloc(1, sizeof(*h));

	h->b = b;
	h->id = span_dup(r->p, r->m.id);
	h->idlen = r->m.id.len;
	h->method = xstrdup(r->method);
	h->child = -1;
	h->lim_child = -1;
	h->batch = r->bt;
	h->started = mono_now();
	ev_timer_init(&h->idle, idle_cb, 1, 0);
	ev_timer_init(&h->hard, hard_cb, 1, 0);
	h->idle.data = h->hard.data = h;
	map_put(&b->hreqs, h->id, h->idlen, h);
	return h;
}

static void
hreq_free(struct broker *b, struct hreq *h)
{
	ev_timer_stop(b->loop, &h->idle);
	ev_timer_stop(b->loop, &h->hard);
	if (map_get(&b->hreqs, h->id, h->idlen) == h)
		map_del(&b->hreqs, h->id, h->idlen);
	if (h->ptok)
		map_deli(&b->ptoks, h->ptok);
	if (h->prompt)
		consent_withdraw(b, h);
	if (h->held)
		lazy_unlink(b, h);
	if (h->lim_child >= 0) {
		struct child *lc = &b->children[h->lim_child];

		lc->inflight--;
		if (h->lim_tool) {
			intptr_t n = (intptr_t)map_gets(&lc->tool_inflight,
			    h->lim_tool);

			if (n > 1)
				map_puts(&lc->tool_inflight, h->lim_tool,
				    (void *)(n - 1));
			else
				map_dels(&lc->tool_inflight, h->lim_tool);
		}
	}
	free(h->lim_tool);
	free(h->sub_uri);
	free(h->held);
	free(h->id);
	free(h->method);
	free(h->ptok_raw);
	free(h);
}

static int
edit_cmp(const void *a, const void *b)
{
	const struct jedit *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Forward the host request in r to child c, replacing the id, the progress
   token and, when given, the span at name with newname (a JSON string). */
static void
forward(struct broker *b, struct rctx *r, struct child *c,
    const struct jspan *name, const char *newname)
{
	struct jedit ed[5];
	struct jspan tok;
	struct hreq *h;
	struct preq *pq;
	char idtxt[32], toktxt[32], *quoted = NULL;
	struct buf out;
	struct arec *a;
	char tptxt[OTEL_TRACEPARENT_LEN + 1], *tpq = NULL;
	int ne = 0, k;
	double idle;

	if ((a = arec_of(b, r)) != NULL) {
		a->server = c->idx;
		if (name && newname) {
			/* The child's own name: of the tool, or prompt. */
			free(a->tool);
			a->tool = xstrdup(newname);
		}
	}
	if (a && a->start_ns && c->state == CH_READY) {
		/* The child's part is a span of its own; it learns it from
		   _meta.traceparent, which replaces the host's. */
		struct jspan meta, tp, first;
		size_t pos = 0;

		otel_ids_new(NULL, a->cspan);
		a->cstart_ns = otel_now_ns();
		otel_traceparent_format(tptxt, a->trace, a->cspan, a->flags);
		if (r->m.params.len && json_member(r->p, r->m.params, "_meta",
		    &meta) == 1 && json_type(r->p, meta) == JT_OBJECT) {
			if (json_member(r->p, meta, "traceparent", &tp) == 1) {
				tpq = xasprintf("\"%s\"", tptxt);
				ed[ne++] = (struct jedit){ tp.off, tp.len, tpq,
				    strlen(tpq) };
			} else {
				pos = 0;
				tpq = xasprintf("\"traceparent\":\"%s\"%s",
				    tptxt, json_iter(r->p, meta, &pos, NULL,
				    &first) ? "," : "");
				ed[ne++] = (struct jedit){ meta.off + 1, 0, tpq,
				    strlen(tpq) };
			}
		} else if (r->m.params.len && json_member(r->p, r->m.params,
		    "_meta", &meta) == 1 && json_type(r->p, meta) == JT_NULL) {
			tpq = xasprintf("{\"traceparent\":\"%s\"}", tptxt);
			ed[ne++] = (struct jedit){ meta.off, meta.len, tpq,
			    strlen(tpq) };
		} else if (r->m.params.len && json_member(r->p, r->m.params,
		    "_meta", &meta) != 1) {
			tpq = xasprintf("\"_meta\":{\"traceparent\":\"%s\"}%s",
			    tptxt, json_iter(r->p, r->m.params, &pos, NULL,
			    &first) ? "," : "");
			ed[ne++] = (struct jedit){ r->m.params.off + 1, 0, tpq,
			    strlen(tpq) };
		}
	}
	if (c->state != CH_READY) {
		b->hint = OUT_TRANSPORT;
		respond_error(b, r->bt, r->p + r->m.id.off, r->m.id.len,
		    RPC_CONNECTION_CLOSED, "server is not running",
		    child_error_data(c));
		return;
	}
	h = hreq_new(b, r);
	h->child = c->idx;
	h->cid = ++c->next_id;
	if (r->lim_child >= 0) {
		intptr_t n;

		h->lim_child = r->lim_child;
		c->inflight++;
		c->calls++;
		if (r->lim_tool) {
			h->lim_tool = xstrdup(r->lim_tool);
			n = (intptr_t)map_gets(&c->tool_inflight, r->lim_tool);
			map_puts(&c->tool_inflight, r->lim_tool,
			    (void *)(n + 1));
		}
		h->max_bytes = r->max_bytes;
	}
	if (r->sub_uri)
		h->sub_uri = xstrdup(r->sub_uri);
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)h->cid);
	ed[ne++] = (struct jedit){ r->m.id.off, r->m.id.len, idtxt,
	    strlen(idtxt) };
	if (name && newname) {
		cJSON *s = cJSON_CreateString(newname);

		quoted = cJSON_PrintUnformatted(s);
		cJSON_Delete(s);
		ed[ne++] = (struct jedit){ name->off, name->len, quoted,
		    strlen(quoted) };
	}
	if (r->m.params.len &&
	    member2(r->p, r->m.params, "_meta", "progressToken", &tok) &&
	    (json_type(r->p, tok) == JT_STRING ||
	    json_type(r->p, tok) == JT_NUMBER)) {
		h->ptok = ++b->next_ptok;
		h->ptok_raw = span_dup(r->p, tok);
		h->ptok_len = tok.len;
		map_puti(&b->ptoks, h->ptok, h);
		snprintf(toktxt, sizeof(toktxt), "%lld", (long long)h->ptok);
		ed[ne++] = (struct jedit){ tok.off, tok.len, toktxt,
		    strlen(toktxt) };
	}
	qsort(ed, ne, sizeof(ed[0]), edit_cmp);
	/* Offsets are in the whole text; the message may be one element
	   of a batch, so splice relative to its start. */
	for (k = 0; k < ne; k++)
		ed[k].off -= r->m.all.off;
	buf_init(&out, 0);
	json_splice(&out, r->p + r->m.all.off, r->m.all.len, ed, ne);
	cJSON_free(quoted);
	free(tpq);
	pq = xcalloc(1, sizeof(*pq));
	pq->cid = h->cid;
	pq->h = h;
	pq->gen = c->gen;
	if (child_send(c, buf_head(&out), buf_used(&out)) < 0) {
		buf_free(&out);
		free(pq);
		b->hint = OUT_TRANSPORT;
		respond_error(b, h->batch, h->id, h->idlen, RPC_INTERNAL_ERROR,
		    "server is not reading its input", child_error_data(c));
		hreq_free(b, h);
		return;
	}
	buf_free(&out);
	map_puti(&c->pending, h->cid, pq);
	lazy_touch(c);
	idle = c->conf->t_call;
	if (strcmp(h->method, "tasks/result") == 0)
		idle = c->conf->t_call_max;
	ev_timer_set(&h->idle, idle, idle);
	ev_timer_again(b->loop, &h->idle);
	ev_timer_set(&h->hard, c->conf->t_call_max, 0);
	ev_timer_start(b->loop, &h->hard);
}

/* --- session: initialize ------------------------------------------------- */

/* Merge object src into dst, recursively (union of capabilities). */
static void
merge_into(cJSON *dst, const cJSON *src)
{
	const cJSON *it;
	cJSON *have;

	cJSON_ArrayForEach(it, src) {
		have = cJSON_GetObjectItemCaseSensitive(dst, it->string);
		if (have && cJSON_IsObject(have) && cJSON_IsObject(it)) {
			merge_into(have, it);
		} else if (have == NULL) {
			cJSON_AddItemToObject(dst, it->string,
			    cJSON_Duplicate(it, 1));
		} else if (cJSON_IsBool(it) && cJSON_IsTrue(it)) {
			cJSON_ReplaceItemInObjectCaseSensitive(dst, it->string,
			    cJSON_CreateTrue());
		}
	}
}

static int
child_has(const struct child *c, const char *cap, const char *sub)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->caps, cap);

	if (!cJSON_IsObject(v))
		return 0;
	if (sub == NULL)
		return 1;
	v = cJSON_GetObjectItemCaseSensitive(v, sub);
	return v != NULL && !cJSON_IsFalse(v) && !cJSON_IsNull(v);
}

static void
answer_initialize(struct broker *b)
{
	cJSON *res, *caps, *info, *o;
	struct buf ins;
	int i, logging = 0, completions = 0, subscribe = 0;
	const cJSON *tasks;
	struct hreq *h = b->init_req;

	if (h == NULL)
		return;
	b->init_req = NULL;
	ev_timer_stop(b->loop, &b->init_timer);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "protocolVersion", b->host_version);
	caps = cJSON_AddObjectToObject(res, "capabilities");
	buf_init(&ins, 0);
	o = cJSON_CreateObject();
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		/* A lazy server answers from its cache. */
		if (c->state != CH_READY && c->state != CH_LAZY)
			continue;
		logging |= child_has(c, "logging", NULL);
		completions |= child_has(c, "completions", NULL);
		subscribe |= child_has(c, "resources", "subscribe");
		if ((tasks = cJSON_GetObjectItemCaseSensitive(c->caps,
		    "tasks")) && cJSON_IsObject(tasks))
			merge_into(o, tasks);
		if (c->instructions && c->instructions[0]) {
			if (buf_used(&ins))
				buf_adds(&ins, "\n\n");
			buf_addf(&ins, "## %s\n\n%s", c->conf->alias,
			    c->instructions);
		}
	}
	if (logging)
		cJSON_AddObjectToObject(caps, "logging");
	if (completions)
		cJSON_AddObjectToObject(caps, "completions");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "prompts"),
	    "listChanged", 1);
	{
		cJSON *r = cJSON_AddObjectToObject(caps, "resources");

		if (subscribe)
			cJSON_AddBoolToObject(r, "subscribe", 1);
		cJSON_AddBoolToObject(r, "listChanged", 1);
	}
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"),
	    "listChanged", 1);
	if (o->child)
		cJSON_AddItemToObject(caps, "tasks", o);
	else
		cJSON_Delete(o);
	info = cJSON_AddObjectToObject(res, "serverInfo");
	cJSON_AddStringToObject(info, "name", "corral");
	cJSON_AddStringToObject(info, "title", "corral MCP broker");
	cJSON_AddStringToObject(info, "version", CORRAL_VERSION);
	if (buf_used(&ins)) {
		char *s = buf_steal(&ins, NULL);

		cJSON_AddStringToObject(res, "instructions", s);
		free(s);
	}
	buf_free(&ins);
	b->answered = 1;
	respond(b, h->batch, h->id, h->idlen, res);
	hreq_free(b, h);
	/* Go on with what the host sent meanwhile, on the next turn. */
	if (b->sink == NULL)
		ev_timer_start(b->loop, &b->resume_timer);
}

/* Answer the host's initialize once no child is still on its way. */
static void
maybe_answer_initialize(struct broker *b)
{
	int i;

	if (b->init_req == NULL)
		return;
	for (i = 0; i < b->nchildren; i++) {
		enum child_state s = b->children[i].state;

		if (s == CH_SPAWNED || s == CH_INIT || s == CH_LISTING ||
		    s == CH_QUEUED)
			return;
	}
	answer_initialize(b);
}

void
broker_child_settled(struct broker *b)
{
	maybe_answer_initialize(b);
}

static void
init_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker *b = w->data;
	int i;

	(void)loop;
	(void)revents;
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		if (c->state == CH_INIT || c->state == CH_LISTING ||
		    c->state == CH_SPAWNED || c->state == CH_QUEUED)
			logmsg("[%s] not ready yet; it joins when ready",
			    c->conf->alias);
	}
	answer_initialize(b);
}

static void list_fetch(struct broker *, struct child *, int kind,
    const char *cursor, cJSON *acc, intptr_t page);

static void pin_server(struct broker *, struct child *);
static void lazy_release(struct broker *, struct child *);

static void
child_ready(struct broker *b, struct child *c)
{
	c->state = CH_READY;
	c->ready_at = mono_now();
	pin_server(b, c);
	ev_timer_stop(b->loop, &c->start_timer);
	if (c->failures > 0)
		logmsg("[%s] ready again", c->conf->alias);
	if (c->conf->lazy && c->conf->t_idle > 0) {
		ev_timer_set(&c->idle_timer, c->conf->t_idle,
		    c->conf->t_idle);
		ev_timer_again(b->loop, &c->idle_timer);
	}
	child_start_next(b);
	maybe_answer_initialize(b);
	lazy_release(b, c);
}

static void
pins_flush(struct broker *b)
{
	char *err = NULL;

	if (pins_save(&b->pins, 0, &err) < 0) {
		logmsg("cannot save pins: %s", err);
		free(err);
	}
}

static void
pinfo_free(void *v)
{
	struct pinfo *pi = v;

	if (pi) {
		cJSON_Delete(pi->def);
		free(pi);
	}
}

static void
clear_pins(struct map *m)
{
	struct map_ent *e;
	size_t it;

	while ((e = map_first(m, &it)) != NULL)
		pinfo_free(map_del(m, e->key, e->klen));
}

static void
audit_pin(struct broker *b, struct child *c, const char *tool,
    const char *change, const char *hash)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "server", c->conf->alias);
	if (tool)
		cJSON_AddStringToObject(f, "tool", tool);
	cJSON_AddStringToObject(f, "change", change);
	cJSON_AddStringToObject(f, "sha256", hash);
	if (strcmp(change, "accepted") == 0)
		cJSON_AddStringToObject(f, "by", "consent");
	trail_event(b->trail, "pin", f);
}

/* Check every tool definition against its pin (trust on first use). A
   change is recorded once, not at every list refresh. */
static void
pin_tools(struct broker *b, struct child *c, const cJSON *items)
{
	const cJSON *t, *n;
	struct pinfo *pi, *was;
	enum pin_status st;
	struct map old = c->pins;

	map_init(&c->pins);
	cJSON_ArrayForEach(t, items) {
		n = cJSON_GetObjectItemCaseSensitive(t, "name");
		if (!cJSON_IsString(n) || map_gets(&c->pins, n->valuestring))
			continue;
		pi = xcalloc(1, sizeof(*pi));
		pi->def = pins_tool_def(t);
		canon_hash(pi->def, pi->hash);
		st = pins_check(&b->pins, c->conf->alias, n->valuestring,
		    pi->def, pi->hash);
		pi->changed = st == PIN_CHANGED;
		if (pi->changed && !b->pins.corrupt)
			logmsg("[%s] tool %s changed since it was pinned; its "
			    "calls need fresh consent (corral pins diff %s)",
			    c->conf->alias, n->valuestring, c->conf->alias);
		was = map_gets(&old, n->valuestring);
		if (st == PIN_NEW)
			audit_pin(b, c, n->valuestring, "first_seen", pi->hash);
		else if (st == PIN_CHANGED && !(was && was->changed &&
		    strcmp(was->hash, pi->hash) == 0))
			audit_pin(b, c, n->valuestring, "changed", pi->hash);
		map_puts(&c->pins, n->valuestring, pi);
	}
	clear_pins(&old);
	map_free(&old);
	pins_flush(b);
}

/* The server's own pin: its instructions and prompt descriptions. */
static void
pin_server(struct broker *b, struct child *c)
{
	enum pin_status st;
	char was[65];
	int was_changed = c->server_changed;

	memcpy(was, c->server_hash, sizeof(was));
	cJSON_Delete(c->server_def);
	c->server_def = pins_server_def(c->instructions, c->prompts_seen);
	canon_hash(c->server_def, c->server_hash);
	st = pins_check(&b->pins, c->conf->alias, NULL, c->server_def,
	    c->server_hash);
	c->server_changed = st == PIN_CHANGED;
	if (st == PIN_NEW)
		audit_pin(b, c, NULL, "first_seen", c->server_hash);
	else if (st == PIN_CHANGED && !(was_changed &&
	    strcmp(was, c->server_hash) == 0))
		audit_pin(b, c, NULL, "changed", c->server_hash);
	if (c->server_changed && !b->pins.corrupt)
		logmsg("[%s] its instructions or prompts changed since they "
		    "were pinned; its calls need fresh consent",
		    c->conf->alias);
	pins_flush(b);
}

/* Drop the tools that tools.allow and tools.deny leave out. */
static void
filter_tools(struct child *c, cJSON *items)
{
	cJSON *it, *next, *name;
	int i, keep;

	if (c->conf->allow || c->conf->deny) {
		for (it = items ? items->child : NULL; it; it = next) {
			next = it->next;
			name = cJSON_GetObjectItemCaseSensitive(it, "name");
			if (!cJSON_IsString(name))
				continue;
			keep = c->conf->allow == NULL;
			for (i = 0; !keep && i < c->conf->nallow; i++)
				keep = glob_match(c->conf->allow[i],
				    name->valuestring);
			for (i = 0; keep && i < c->conf->ndeny; i++)
				keep = !glob_match(c->conf->deny[i],
				    name->valuestring);
			if (!keep)
				cJSON_Delete(cJSON_DetachItemViaPointer(items,
				    it));
		}
	}
}

static void lazy_save(struct broker *, struct child *);

/* A list fetch is complete: install it in the catalog. */
static void
list_done(struct broker *b, struct child *c, int kind, cJSON *items)
{
	if (kind == CAT_TOOLS)
		filter_tools(c, items);
	if (kind == CAT_TOOLS)
		pin_tools(b, c, items);
	if (kind == CAT_PROMPTS) {
		cJSON_Delete(c->prompts_seen);
		c->prompts_seen = items ? cJSON_Duplicate(items, 1) : NULL;
	}
	if (catalog_set(&b->cat, kind, c->idx, items))
		notify_lists(b, 1 << kind);
	if (--c->listing > 0)
		return;
	if (c->conf->lazy && (c->state == CH_LISTING || c->state == CH_READY))
		lazy_save(b, c);
	if (c->state == CH_LISTING)
		child_ready(b, c);
}

static void
list_page_cb(struct broker *b, struct preq *pq, int idx, const char *msg,
    size_t len, const struct jspan *result, const struct jspan *error)
{
	struct child *c = &b->children[idx];
	cJSON *page, *items, *it, *next;
	const cJSON *cursor;
	int kind = pq->kind;

	(void)len;
	if (error) {
		logmsg("[%s] %s failed; treating it as empty",
		    c->conf->alias, list_method[kind]);
		cJSON_Delete(pq->acc);
		pq->acc = NULL;
		list_done(b, c, kind, NULL);
		return;
	}
	page = cJSON_ParseWithLength(msg + result->off, result->len);
	items = cJSON_GetObjectItemCaseSensitive(page, list_key[kind]);
	if (cJSON_IsArray(items)) {
		/* Keep each item's own bytes: the host gets them as the
		   child wrote them (cJSON would round big numbers). */
		struct jspan arr, el;
		size_t pos = 0;

		it = items->child;
		if (json_member(msg, *result, list_key[kind], &arr) == 1) {
			while (it && json_iter(msg, arr, &pos, NULL, &el)) {
				if (cJSON_IsObject(it)) {
					char *raw = span_dup(msg, el);

					cJSON_AddItemToObject(it, CATALOG_RAW,
					    cJSON_CreateString(raw));
					free(raw);
				}
				it = it->next;
			}
		}
	}
	if (!cJSON_IsArray(items)) {
		logmsg("[%s] %s result has no \"%s\" array; treating it as "
		    "empty", c->conf->alias, list_method[kind], list_key[kind]);
	} else {
		for (it = items->child; it; it = next) {
			next = it->next;
			cJSON_AddItemToArray(pq->acc,
			    cJSON_DetachItemViaPointer(items, it));
		}
	}
	cursor = cJSON_GetObjectItemCaseSensitive(page, "nextCursor");
	if (cJSON_IsString(cursor) && (intptr_t)pq->arg < PAGES_MAX) {
		cJSON *acc = pq->acc;

		pq->acc = NULL;
		list_fetch(b, c, kind, cursor->valuestring, acc,
		    (intptr_t)pq->arg + 1);
	} else {
		if (cJSON_IsString(cursor))
			logmsg("[%s] %s: more than %d pages; using the first "
			    "%d", c->conf->alias, list_method[kind], PAGES_MAX,
			    PAGES_MAX);
		list_done(b, c, kind, pq->acc);
		pq->acc = NULL;
	}
	cJSON_Delete(page);
}

static void
list_fetch(struct broker *b, struct child *c, int kind, const char *cursor,
    cJSON *acc, intptr_t page)
{
	struct preq *pq = xcalloc(1, sizeof(*pq));
	cJSON *params = NULL;

	pq->kind = kind;
	pq->done = list_page_cb;
	pq->acc = acc ? acc : cJSON_CreateArray();
	pq->arg = (void *)page;
	if (cursor) {
		params = cJSON_CreateObject();
		cJSON_AddStringToObject(params, "cursor", cursor);
	}
	if (child_request(c, list_method[kind], params, pq) < 0) {
		cJSON_Delete(pq->acc);
		free(pq);
		list_done(b, c, kind, NULL);
	}
}

/* Fetch the lists a child declared, all kinds at once. */
static void
child_fetch_lists(struct broker *b, struct child *c, int mask)
{
	int k;

	for (k = 0; k < CAT_NKINDS; k++) {
		if (!(mask & (1 << k)))
			continue;
		c->listing++;
	}
	for (k = 0; k < CAT_NKINDS; k++)
		if (mask & (1 << k))
			list_fetch(b, c, k, NULL, NULL, 1);
}

static int
child_list_mask(const struct child *c)
{
	int mask = 0;

	if (child_has(c, "tools", NULL))
		mask |= 1 << CAT_TOOLS;
	if (child_has(c, "prompts", NULL))
		mask |= 1 << CAT_PROMPTS;
	if (child_has(c, "resources", NULL))
		mask |= 1 << CAT_RESOURCES | 1 << CAT_TEMPLATES;
	return mask;
}

static void
child_fail_init(struct broker *b, struct child *c, const char *why)
{
	logmsg("[%s] %s", c->conf->alias, why);
	free(c->fail_reason);
	c->fail_reason = xstrdup(why);
	child_stop(c);
	maybe_answer_initialize(b);
}

static void
ignore_cb(struct broker *b, struct preq *pq, int idx, const char *msg,
    size_t len, const struct jspan *result, const struct jspan *error)
{
	(void)b;
	(void)pq;
	(void)idx;
	(void)msg;
	(void)len;
	(void)result;
	(void)error;
}

static void
send_level(struct broker *b, struct child *c)
{
	struct preq *pq;
	cJSON *params;

	if (b->log_level == NULL || !child_has(c, "logging", NULL))
		return;
	pq = xcalloc(1, sizeof(*pq));
	pq->done = ignore_cb;
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "level", b->log_level);
	if (child_request(c, "logging/setLevel", params, pq) < 0)
		free(pq);
}

static void
resubscribe(struct child *c)
{
	struct map_ent *e;
	size_t it;
	struct preq *pq;
	cJSON *params;

	for (e = map_first(&c->subs, &it); e; e = map_next(&c->subs, &it, e)) {
		pq = xcalloc(1, sizeof(*pq));
		pq->done = ignore_cb;
		params = cJSON_CreateObject();
		cJSON_AddStringToObject(params, "uri", e->key);
		if (child_request(c, "resources/subscribe", params, pq) < 0)
			free(pq);
	}
}

static void
child_init_cb(struct broker *b, struct preq *pq, int idx, const char *msg,
    size_t len, const struct jspan *result, const struct jspan *error)
{
	struct child *c = &b->children[idx];
	cJSON *res, *v;
	char *why;
	int mask;

	(void)pq;
	(void)len;
	if (error) {
		cJSON *e = cJSON_ParseWithLength(msg + error->off, error->len);
		cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

		why = xasprintf("initialize failed: %s",
		    cJSON_IsString(m) ? m->valuestring : "error");
		cJSON_Delete(e);
		child_fail_init(b, c, why);
		free(why);
		return;
	}
	res = cJSON_ParseWithLength(msg + result->off, result->len);
	v = cJSON_GetObjectItemCaseSensitive(res, "protocolVersion");
	if (!cJSON_IsString(v) || !jsonrpc_version_ok(v->valuestring)) {
		why = xasprintf("answered with protocol version %s, which "
		    "corral does not speak", cJSON_IsString(v) ?
		    v->valuestring : "(none)");
		cJSON_Delete(res);
		child_fail_init(b, c, why);
		free(why);
		return;
	}
	free(c->version);
	c->version = xstrdup(v->valuestring);
	cJSON_Delete(c->caps);
	c->caps = cJSON_DetachItemFromObjectCaseSensitive(res, "capabilities");
	if (!cJSON_IsObject(c->caps)) {
		cJSON_Delete(c->caps);
		c->caps = cJSON_CreateObject();
	}
	free(c->instructions);
	v = cJSON_GetObjectItemCaseSensitive(res, "instructions");
	c->instructions = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
	cJSON_Delete(res);
	child_notify(c, "notifications/initialized", NULL);
	send_level(b, c);
	resubscribe(c);
	c->state = CH_LISTING;
	mask = child_list_mask(c);
	if (mask == 0)
		child_ready(b, c);
	else
		child_fetch_lists(b, c, mask);
}

void
broker_child_initialize(struct broker *b, struct child *c)
{
	struct preq *pq = xcalloc(1, sizeof(*pq));
	cJSON *params = cJSON_CreateObject(), *caps, *info;
	const char *keep[] = { "roots", "sampling", "elicitation", NULL };
	const cJSON *v;
	int i;

	cJSON_AddStringToObject(params, "protocolVersion", jsonrpc_latest);
	caps = cJSON_AddObjectToObject(params, "capabilities");
	/* Claim toward children only what the host can really do. */
	for (i = 0; keep[i]; i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(b->host_caps,
		    keep[i])) && cJSON_IsObject(v))
			cJSON_AddItemToObject(caps, keep[i],
			    cJSON_Duplicate(v, 1));
	info = cJSON_AddObjectToObject(params, "clientInfo");
	cJSON_AddStringToObject(info, "name", "corral");
	cJSON_AddStringToObject(info, "version", CORRAL_VERSION);
	pq->done = child_init_cb;
	c->state = CH_INIT;
	/* The start deadline runs from here: waiting for the host to
	   initialize is not the child's fault. */
	ev_timer_stop(b->loop, &c->start_timer);
	ev_timer_set(&c->start_timer, c->conf->t_start, 0);
	ev_timer_start(b->loop, &c->start_timer);
	if (child_request(c, "initialize", params, pq) < 0) {
		free(pq);
		child_fail_init(b, c, "cannot send initialize");
	}
}

/* --- host requests ------------------------------------------------------- */

static void
h_initialize(struct broker *b, struct rctx *r)
{
	const char *v = param_str(r, "protocolVersion");
	cJSON *caps, *info;
	int i;

	if (b->initialized) {
		rctx_error(b, r, RPC_INVALID_REQUEST, "already initialized");
		return;
	}
	if (r->bt) {
		rctx_error(b, r, RPC_INVALID_REQUEST,
		    "initialize may not be part of a batch");
		return;
	}
	if (v == NULL) {
		rctx_error(b, r, RPC_INVALID_PARAMS,
		    "initialize needs params.protocolVersion");
		return;
	}
	b->initialized = 1;
	b->host_version = xstrdup(jsonrpc_version_ok(v) ? v : jsonrpc_latest);
	caps = cJSON_GetObjectItemCaseSensitive(rctx_params(r), "capabilities");
	b->host_caps = cJSON_IsObject(caps) ? cJSON_Duplicate(caps, 1) :
	    cJSON_CreateObject();
	info = cJSON_GetObjectItemCaseSensitive(rctx_params(r), "clientInfo");
	b->client_info = info ? cJSON_Duplicate(info, 1) : NULL;
	{
		cJSON *f = cJSON_CreateObject(), *ci, *x;

		add_session(b, f);
		ci = cJSON_AddObjectToObject(f, "client");
		if ((x = cJSON_GetObjectItemCaseSensitive(info, "name")) &&
		    cJSON_IsString(x))
			cJSON_AddStringToObject(ci, "name", x->valuestring);
		if ((x = cJSON_GetObjectItemCaseSensitive(info, "version")) &&
		    cJSON_IsString(x))
			cJSON_AddStringToObject(ci, "version", x->valuestring);
		cJSON_AddStringToObject(f, "protocol", b->host_version);
		cJSON_AddStringToObject(f, "corral", CORRAL_VERSION);
		cJSON_AddNumberToObject(f, "pid", (double)getpid());
		trail_event(b->trail, "session_start", f);
	}
	b->init_req = hreq_new(b, r);
	ev_timer_set(&b->init_timer, b->cf->t_initialize, 0);
	ev_timer_start(b->loop, &b->init_timer);
	for (i = 0; i < b->nchildren; i++)
		if (b->children[i].state == CH_SPAWNED)
			broker_child_initialize(b, &b->children[i]);
	maybe_answer_initialize(b);
}

static void
h_ping(struct broker *b, struct rctx *r)
{
	respond_raw(b, r->bt, r->p + r->m.id.off, r->m.id.len, "{}", 2);
}

static int
no_cursor(struct broker *b, struct rctx *r)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(rctx_params(r), "cursor");

	if (c && !cJSON_IsNull(c)) {
		/* corral answers every list in one page. */
		rctx_error(b, r, RPC_INVALID_PARAMS, "invalid cursor");
		return 0;
	}
	return 1;
}

static void
h_list(struct broker *b, struct rctx *r, int kind)
{
	const char *items;
	size_t n;
	struct buf o;

	if (!no_cursor(b, r))
		return;
	items = catalog_json(&b->cat, kind, &n);
	buf_init(&o, 0);
	buf_addf(&o, "{\"%s\":", list_key[kind]);
	buf_add(&o, items, n);
	buf_add(&o, "}", 1);
	respond_raw(b, r->bt, r->p + r->m.id.off, r->m.id.len, buf_head(&o),
	    buf_used(&o));
	buf_free(&o);
}

static void h_tools_list(struct broker *b, struct rctx *r)
{ h_list(b, r, CAT_TOOLS); }
static void h_prompts_list(struct broker *b, struct rctx *r)
{ h_list(b, r, CAT_PROMPTS); }
static void h_resources_list(struct broker *b, struct rctx *r)
{ h_list(b, r, CAT_RESOURCES); }
static void h_templates_list(struct broker *b, struct rctx *r)
{ h_list(b, r, CAT_TEMPLATES); }

/* --- policy, consent, limits -------------------------------------------- */

/* Answer a tools/call with an isError result that says why. */
static void
refuse_call(struct broker *b, struct batch *bt, const char *id, size_t idlen,
    const char *text)
{
	cJSON *res = cJSON_CreateObject(), *content, *t;

	content = cJSON_AddArrayToObject(res, "content");
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "type", "text");
	cJSON_AddStringToObject(t, "text", text);
	cJSON_AddItemToArray(content, t);
	cJSON_AddBoolToObject(res, "isError", 1);
	respond(b, bt, id, idlen, res);
}

static const char *
config_name(const struct broker *b)
{
	/* corral run has no file: point at the one it would need. */
	return b->cf->path ? b->cf->path : "a config file (corral run "
	    "has none: run the server from a config with a policy, see "
	    "corral.json(5))";
}

/* Policy and remembered decisions; 1 when answered or held for consent,
   0 when the call may go on. */
static int
gate_call(struct broker *b, struct rctx *r, const struct cat_entry *e)
{
	struct child *c = &b->children[e->owner];
	const cJSON *args = NULL;
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(e->def,
	    "annotations");
	struct pinfo *pi = map_gets(&c->pins, e->orig);
	const char *why, *hash = pi ? pi->hash : "";
	enum decision d;
	struct hreq *h;
	char *key, *text;
	int changed, known;

	/* No pin means it was never checked: treat it as changed. */
	changed = pi == NULL || pi->changed || c->server_changed;
	/* The arguments are parsed only for rules that look at them. */
	if (policy_has_conditions(&c->conf->policy) ||
	    policy_has_conditions(&b->cf->policy))
		args = cJSON_GetObjectItemCaseSensitive(rctx_params(r),
		    "arguments");
	d = policy_decide(&c->conf->policy, &b->cf->policy,
	    c->conf->trust_annotations, e->orig, args, ann, &why);
	if (d == DEC_DENY) {
		text = xasprintf("policy: %s", why);
		arec_decide(b, r, "deny", text);
		free(text);
		b->hint = OUT_DENIED;
		text = xasprintf("corral denied %s: the policy (%s) says deny. "
		    "To allow it, change that policy in %s.", e->exposed, why,
		    config_name(b));
		refuse_call(b, r->bt, r->p + r->m.id.off, r->m.id.len, text);
		free(text);
		return 1;
	}
	if (d == DEC_ALLOW && !changed) {
		text = xasprintf("policy: %s", why);
		arec_decide(b, r, "allow", text);
		free(text);
		return 0;
	}
	key = xasprintf("%d\x1f%s\x1f%s", c->idx, e->orig, hash);
	if (!changed && !map_gets(&b->session_ok, key)) {
		/* The file is the truth: revocations apply at once. */
		cJSON_Delete(b->consent);
		consent_store_load(&b->consent);
	}
	known = !changed && map_gets(&b->session_ok, key) ? 1 : !changed &&
	    consent_store_has(b->consent, c->conf->alias, e->orig, hash) ? 2 :
	    0;
	free(key);
	if (known) {
		arec_decide(b, r, "allow", known == 1 ? "consent: session "
		    "(remembered)" : "consent: always (remembered)");
		return 0;
	}
	h = hreq_new(b, r);
	args = cJSON_GetObjectItemCaseSensitive(rctx_params(r), "arguments");
	consent_ask(b, h, r->p + r->m.all.off, r->m.all.len, c->idx, e->orig,
	    e->exposed, hash, changed, args, pi ? pi->def : e->def);
	return 1;
}

static const struct limits *
tool_limits(const struct server_conf *sc, const char *tool)
{
	int i;

	for (i = 0; i < sc->ntlims; i++)
		if (policy_glob(sc->tlims[i].glob, tool))
			return &sc->tlims[i].lim;
	return NULL;
}

/* Take one token from a bucket refilled at rate per second. */
static int
bucket_take(struct bucket *bk, const struct limits *l)
{
	double now = mono_now();

	if (bk->at == 0)
		bk->tokens = l->burst;
	else
		bk->tokens += (now - bk->at) * l->rate;
	if (bk->tokens > l->burst)
		bk->tokens = l->burst;
	bk->at = now;
	if (bk->tokens < 1)
		return 0;
	bk->tokens -= 1;
	return 1;
}

/* Rate and concurrency limits; 1 when the call was refused. */
static int
limit_check(struct broker *b, struct rctx *r, const struct cat_entry *e)
{
	struct child *c = &b->children[e->owner];
	const struct limits *sl = &c->conf->lim, *tl;
	struct bucket *bk;
	char *text = NULL;
	intptr_t n;

	tl = tool_limits(c->conf, e->orig);
	n = (intptr_t)map_gets(&c->tool_inflight, e->orig);
	if (sl->max_concurrent && c->inflight >= sl->max_concurrent)
		text = xasprintf("corral refused %s: server \"%s\" already runs "
		    "%d calls (limits.max_concurrent)", e->exposed,
		    c->conf->alias, sl->max_concurrent);
	else if (tl && tl->max_concurrent && n >= tl->max_concurrent)
		text = xasprintf("corral refused %s: %d calls of this tool "
		    "already run (limits.tools max_concurrent)", e->exposed,
		    tl->max_concurrent);
	else if (sl->rate > 0 && !bucket_take(&c->bucket, sl))
		text = xasprintf("corral refused %s: over the rate limit %s of "
		    "server \"%s\" (limits.rate)", e->exposed, sl->rate_text,
		    c->conf->alias);
	else if (tl && tl->rate > 0) {
		if ((bk = map_gets(&c->tool_buckets, e->orig)) == NULL) {
			bk = xcalloc(1, sizeof(*bk));
			map_puts(&c->tool_buckets, e->orig, bk);
		}
		if (!bucket_take(bk, tl))
			text = xasprintf("corral refused %s: over the rate "
			    "limit %s of this tool (limits.tools rate)",
			    e->exposed, tl->rate_text);
	}
	if (text) {
		arec_decide(b, r, "deny", "limits");
		b->hint = OUT_DENIED;
		refuse_call(b, r->bt, r->p + r->m.id.off, r->m.id.len, text);
		free(text);
		return 1;
	}
	r->lim_child = c->idx;
	r->lim_tool = e->orig;
	r->max_bytes = sl->max_result_bytes;
	if (tl && tl->max_result_bytes && (r->max_bytes == 0 ||
	    tl->max_result_bytes < r->max_bytes))
		r->max_bytes = tl->max_result_bytes;
	return 0;
}

/* An unknown name with the prefix of a server that is not ready: why it
   is not, so that "unknown tool" does not hide "needs login" or a crash.
   NULL when no such server. */
static char *
unready_hint(struct broker *b, const char *n)
{
	struct child *c;
	size_t k;
	int i;

	for (i = 0; i < b->nchildren; i++) {
		c = &b->children[i];
		k = strlen(c->conf->prefix);
		if (c->state == CH_READY || k == 0 || strncmp(n,
		    c->conf->prefix, k) != 0 || strncmp(n + k, b->cat.sep,
		    strlen(b->cat.sep)) != 0)
			continue;
		if (c->state == CH_SPAWNED || c->state == CH_INIT ||
		    c->state == CH_LISTING)
			return xasprintf(" (server %s is not ready: starting%s%s%s)",
			    c->conf->alias, c->last_exit ? " again (last time: " :
			    "", c->last_exit ? c->last_exit : "", c->last_exit ?
			    ")" : "");
		return xasprintf(" (server %s is not ready: %s)",
		    c->conf->alias, c->fail_reason ? c->fail_reason :
		    c->last_exit ? c->last_exit : "stopped");
	}
	return NULL;
}

/* tools/call and prompts/get: map the exposed name back and forward. */
static void
by_name(struct broker *b, struct rctx *r, int kind)
{
	const struct cat_entry *e;
	struct jspan name;
	const char *why;
	struct arec *a;
	char *n;

	if (json_member(r->p, r->m.params, "name", &name) != 1 ||
	    json_type(r->p, name) != JT_STRING) {
		rctx_error(b, r, RPC_INVALID_PARAMS, "params.name must be a "
		    "string");
		return;
	}
	n = json_strdup(r->p, name, NULL);
	e = catalog_lookup(&b->cat, kind, n);
	if (e == NULL) {
		char *hint = unready_hint(b, n);

		rctx_error(b, r, RPC_INVALID_PARAMS, "unknown %s: %s%s",
		    kind == CAT_TOOLS ? "tool" : "prompt", n, hint ? hint : "");
		free(hint);
		free(n);
		return;
	}
	free(n);
	if (lazy_hold(b, r, &b->children[e->owner]))
		return;
	if (kind == CAT_TOOLS && (a = arec_of(b, r)) != NULL) {
		a->server = e->owner;
		free(a->tool);
		a->tool = xstrdup(e->orig);
	}
	if (kind == CAT_TOOLS && (why = trail_blocked(b->trail,
	    r->m.all.len)) != NULL) {
		arec_decide(b, r, "deny", "audit log unwritable");
		b->hint = OUT_DENIED;
		refuse_call(b, r->bt, r->p + r->m.id.off, r->m.id.len, why);
		return;
	}
	if (kind == CAT_TOOLS) {
		if (!r->consented && gate_call(b, r, e))
			return;
		if (limit_check(b, r, e))
			return;
	}
	forward(b, r, &b->children[e->owner], &name, e->orig);
}

static void h_tools_call(struct broker *b, struct rctx *r)
{ by_name(b, r, CAT_TOOLS); }
static void h_prompts_get(struct broker *b, struct rctx *r)
{ by_name(b, r, CAT_PROMPTS); }

static struct child *
route_uri(struct broker *b, struct rctx *r, const char **urip)
{
	const char *uri = param_str(r, "uri");
	int owner;
	cJSON *d;

	*urip = uri;
	if (uri == NULL) {
		rctx_error(b, r, RPC_INVALID_PARAMS, "params.uri must be a "
		    "string");
		return NULL;
	}
	if ((owner = catalog_route_uri(&b->cat, uri)) < 0) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "uri", uri);
		respond_error(b, r->bt, r->p + r->m.id.off, r->m.id.len,
		    RPC_RESOURCE_NOT_FOUND, "Resource not found", d);
		return NULL;
	}
	return &b->children[owner];
}

static void
h_resources_read(struct broker *b, struct rctx *r)
{
	const char *uri;
	struct child *c = route_uri(b, r, &uri);

	if (c && !lazy_hold(b, r, c))
		forward(b, r, c, NULL, NULL);
}

static void
h_subscribe(struct broker *b, struct rctx *r)
{
	const char *uri;
	struct child *c = route_uri(b, r, &uri);
	int sub = strcmp(r->method, "resources/subscribe") == 0;
	intptr_t n;

	if (c == NULL || lazy_hold(b, r, c))
		return;
	if (!child_has(c, "resources", "subscribe")) {
		rctx_error(b, r, RPC_METHOD_NOT_FOUND, "server %s does not "
		    "support resource subscriptions", c->conf->alias);
		return;
	}
	/* Count per URI: the child sees one subscribe and one unsubscribe. */
	n = (intptr_t)map_gets(&c->subs, uri);
	if (sub) {
		map_puts(&c->subs, uri, (void *)(n + 1));
		if (n > 0) {
			h_ping(b, r);
			return;
		}
	} else {
		if (n > 1) {
			map_puts(&c->subs, uri, (void *)(n - 1));
			h_ping(b, r);
			return;
		}
		map_dels(&c->subs, uri);
	}
	if (sub)
		r->sub_uri = uri;
	forward(b, r, c, NULL, NULL);
}

static const char no_completion[] =
    "{\"completion\":{\"values\":[],\"hasMore\":false}}";

static void
h_complete(struct broker *b, struct rctx *r)
{
	struct jspan ref, name;
	const struct cat_entry *e;
	struct child *c = NULL;
	char *s = NULL;
	int owner = -1, i;

	if (json_member(r->p, r->m.params, "ref", &ref) != 1 ||
	    json_type(r->p, ref) != JT_OBJECT) {
		rctx_error(b, r, RPC_INVALID_PARAMS, "params.ref must be an "
		    "object");
		return;
	}
	if (json_member(r->p, ref, "name", &name) == 1 &&
	    json_type(r->p, name) == JT_STRING) {
		/* ref/prompt */
		s = json_strdup(r->p, name, NULL);
		if ((e = catalog_lookup(&b->cat, CAT_PROMPTS, s)) == NULL) {
			rctx_error(b, r, RPC_INVALID_PARAMS, "unknown prompt: "
			    "%s", s);
			free(s);
			return;
		}
		free(s);
		c = &b->children[e->owner];
		if (lazy_hold(b, r, c))
			return;
		if (child_has(c, "completions", NULL)) {
			forward(b, r, c, &name, e->orig);
			return;
		}
	} else if (json_member(r->p, ref, "uri", &name) == 1 &&
	    json_type(r->p, name) == JT_STRING) {
		/* ref/resource: the template's owner, else the URI's. */
		s = json_strdup(r->p, name, NULL);
		for (i = 0; i < b->cat.nents[CAT_TEMPLATES]; i++)
			if (strcmp(b->cat.ents[CAT_TEMPLATES][i].orig, s) == 0)
				owner = b->cat.ents[CAT_TEMPLATES][i].owner;
		if (owner < 0)
			owner = catalog_route_uri(&b->cat, s);
		free(s);
		if (owner < 0) {
			rctx_error(b, r, RPC_INVALID_PARAMS, "no server has "
			    "that resource or template");
			return;
		}
		c = &b->children[owner];
		if (lazy_hold(b, r, c))
			return;
		if (child_has(c, "completions", NULL)) {
			forward(b, r, c, NULL, NULL);
			return;
		}
	} else {
		rctx_error(b, r, RPC_INVALID_PARAMS, "params.ref needs a name "
		    "or a uri");
		return;
	}
	respond_raw(b, r->bt, r->p + r->m.id.off, r->m.id.len, no_completion,
	    strlen(no_completion));
}

static void
h_set_level(struct broker *b, struct rctx *r)
{
	static const char *const levels[] = { "debug", "info", "notice",
	    "warning", "error", "critical", "alert", "emergency", NULL };
	const char *l = param_str(r, "level");
	int i;

	for (i = 0; l && levels[i]; i++)
		if (strcmp(l, levels[i]) == 0)
			break;
	if (l == NULL || levels[i] == NULL) {
		rctx_error(b, r, RPC_INVALID_PARAMS, "params.level must be one "
		    "of the syslog levels (debug ... emergency)");
		return;
	}
	free(b->log_level);
	b->log_level = xstrdup(l);
	for (i = 0; i < b->nchildren; i++)
		if (b->children[i].state == CH_READY ||
		    b->children[i].state == CH_LISTING)
			send_level(b, &b->children[i]);
	h_ping(b, r);
}

static void
h_task(struct broker *b, struct rctx *r)
{
	const char *id = param_str(r, "taskId");
	intptr_t owner;

	if (id == NULL) {
		rctx_error(b, r, RPC_INVALID_PARAMS, "params.taskId must be a "
		    "string");
		return;
	}
	if ((owner = (intptr_t)map_gets(&b->tasks, id)) == 0) {
		rctx_error(b, r, RPC_INVALID_PARAMS, "unknown task: %s", id);
		return;
	}
	forward(b, r, &b->children[owner - 1], NULL, NULL);
}

static void
note_task(struct broker *b, int owner, const cJSON *task)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(task, "taskId");
	intptr_t was;

	if (!cJSON_IsString(id))
		return;
	/* Children make their own task ids; two may pick the same one. */
	was = (intptr_t)map_gets(&b->tasks, id->valuestring);
	if (was && was != owner + 1)
		logmsg("task id %s is used by servers %s and %s; requests for "
		    "it now go to %s", id->valuestring,
		    b->children[was - 1].conf->alias,
		    b->children[owner].conf->alias,
		    b->children[owner].conf->alias);
	map_puts(&b->tasks, id->valuestring, (void *)(intptr_t)(owner + 1));
}

static void gather_cb(struct broker *, struct preq *, int, const char *,
    size_t, const struct jspan *, const struct jspan *);

/* Answer a fan-out with what arrived; a cancelled one answers nothing.
   Late answers from children find no gather: their preqs point here only
   while waiting > 0. */
static void
gather_finish(struct broker *b, struct gather *g)
{
	cJSON *res;

	ev_timer_stop(b->loop, &g->timer);
	if (g->h) {
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "tasks", g->acc);
		g->acc = NULL;
		respond(b, g->h->batch, g->h->id, g->h->idlen, res);
		g->h->gather = NULL;
		hreq_free(b, g->h);
	}
	cJSON_Delete(g->acc);
	free(g);
}

static void
gather_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct gather *g = w->data;
	struct broker *b = g->b;
	struct map_ent *e;
	size_t it;
	int i;

	(void)loop;
	(void)revents;
	/* Detach the preqs still out, then answer with what came. */
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		for (e = map_first(&c->pending, &it); e;
		    e = map_next(&c->pending, &it, e)) {
			struct preq *pq = e->val;

			if (pq->done == gather_cb && pq->arg == g) {
				pq->done = ignore_cb;
				pq->arg = NULL;
			}
		}
	}
	gather_finish(b, g);
}

static void
gather_cb(struct broker *b, struct preq *pq, int idx, const char *msg,
    size_t len, const struct jspan *result, const struct jspan *error)
{
	struct gather *g = pq->arg;
	cJSON *res, *tasks, *t;

	(void)len;
	(void)error;
	if (result) {
		res = cJSON_ParseWithLength(msg + result->off, result->len);
		tasks = cJSON_GetObjectItemCaseSensitive(res, "tasks");
		cJSON_ArrayForEach(t, tasks) {
			note_task(b, idx, t);
			cJSON_AddItemToArray(g->acc, cJSON_Duplicate(t, 1));
		}
		cJSON_Delete(res);
	}
	if (--g->waiting == 0)
		gather_finish(b, g);
}

static void
h_tasks_list(struct broker *b, struct rctx *r)
{
	struct gather *g = xcalloc(1, sizeof(*g));
	struct preq *pq;
	double wait = 1;
	int i;

	if (!no_cursor(b, r)) {
		free(g);
		return;
	}
	g->b = b;
	g->h = hreq_new(b, r);
	g->h->gather = g;
	g->acc = cJSON_CreateArray();
	g->waiting = 1;
	ev_timer_init(&g->timer, gather_timeout_cb, 1, 0);
	g->timer.data = g;
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		if (c->state != CH_READY || !child_has(c, "tasks", "list"))
			continue;
		pq = xcalloc(1, sizeof(*pq));
		pq->done = gather_cb;
		pq->arg = g;
		if (child_request(c, "tasks/list", NULL, pq) < 0) {
			free(pq);
		} else {
			g->waiting++;
			if (c->conf->t_call > wait)
				wait = c->conf->t_call;
		}
	}
	if (--g->waiting == 0) {
		gather_finish(b, g);
	} else {
		ev_timer_set(&g->timer, wait, 0);
		ev_timer_start(b->loop, &g->timer);
	}
}

struct method {
	const char *name;
	void (*fn)(struct broker *, struct rctx *);
	int before_init;	/* allowed before initialize */
};

static const struct method methods[] = {
	{ "initialize", h_initialize, 1 },
	{ "ping", h_ping, 1 },
	{ "tools/list", h_tools_list, 0 },
	{ "tools/call", h_tools_call, 0 },
	{ "prompts/list", h_prompts_list, 0 },
	{ "prompts/get", h_prompts_get, 0 },
	{ "resources/list", h_resources_list, 0 },
	{ "resources/templates/list", h_templates_list, 0 },
	{ "resources/read", h_resources_read, 0 },
	{ "resources/subscribe", h_subscribe, 0 },
	{ "resources/unsubscribe", h_subscribe, 0 },
	{ "completion/complete", h_complete, 0 },
	{ "logging/setLevel", h_set_level, 0 },
	{ "tasks/get", h_task, 0 },
	{ "tasks/result", h_task, 0 },
	{ "tasks/cancel", h_task, 0 },
	{ "tasks/list", h_tasks_list, 0 },
	{ NULL, NULL, 0 }
};

/* --- host notifications and responses ----------------------------------- */

static void
host_cancel(struct broker *b, struct rctx *r)
{
	struct jspan rid;
	struct hreq *h;
	struct child *c;
	struct preq *pq;
	cJSON *params;
	const char *reason;

	if (json_member(r->p, r->m.params, "requestId", &rid) != 1)
		return;
	h = map_get(&b->hreqs, r->p + rid.off, rid.len);
	if (h == NULL || h == b->init_req)
		return;	/* unknown, finished, or initialize: ignored */
	arec_answer(b, h->id, h->idlen, OUT_CANCELLED, 0, 0);
	if (h->gather) {
		/* The fan-out finishes quietly; no answer goes out. */
		h->gather->h = NULL;
		h->gather = NULL;
		if (h->batch)
			batch_answer(b, h->batch, NULL, 0);
		hreq_free(b, h);
		return;
	}
	if (h->prompt) {
		/* Withdraw it from its question; no response goes out. */
		consent_withdraw(b, h);
		if (h->batch)
			batch_answer(b, h->batch, NULL, 0);
		hreq_free(b, h);
		return;
	}
	c = child_of(b, h->child);
	if (c && (pq = map_deli(&c->pending, h->cid))) {
		params = cJSON_CreateObject();
		cJSON_AddNumberToObject(params, "requestId", (double)h->cid);
		if ((reason = param_str(r, "reason")))
			cJSON_AddStringToObject(params, "reason", reason);
		child_notify(c, "notifications/cancelled", params);
		free(pq);
	}
	/* No response goes to the host for a cancelled request. */
	if (h->batch)
		batch_answer(b, h->batch, NULL, 0);
	hreq_free(b, h);
}

static void
host_roots_changed(struct broker *b)
{
	int i;

	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		if (c->state == CH_READY || c->state == CH_LISTING)
			child_notify(c, "notifications/roots/list_changed",
			    NULL);
	}
}

/* Progress from the host toward a child's request (e.g. sampling). */
static void
host_progress(struct broker *b, struct rctx *r)
{
	struct jspan tok;
	struct creq *q;
	struct child *c;
	struct buf o;
	struct jedit ed;
	long long t;
	char *end;

	if (json_member(r->p, r->m.params, "progressToken", &tok) != 1 ||
	    json_type(r->p, tok) != JT_NUMBER)
		return;
	t = strtoll(r->p + tok.off, &end, 10);
	if ((q = map_geti(&b->cptoks, t)) == NULL ||
	    (c = child_of(b, q->child)) == NULL || c->gen != q->gen)
		return;
	ed = (struct jedit){ tok.off - r->m.all.off, tok.len, q->ptok_raw,
	    q->ptok_len };
	buf_init(&o, 0);
	json_splice(&o, r->p + r->m.all.off, r->m.all.len, &ed, 1);
	child_send(c, buf_head(&o), buf_used(&o));
	buf_free(&o);
}

static void
creq_free(struct broker *b, struct creq *q)
{
	if (map_geti(&b->creqs, q->hid) == q)
		map_deli(&b->creqs, q->hid);
	if (q->ptok)
		map_deli(&b->cptoks, q->ptok);
	if (q->method) {
		struct child *c = child_of(b, q->child);
		cJSON *f = cJSON_CreateObject();

		if (c)
			cJSON_AddStringToObject(f, "server", c->conf->alias);
		cJSON_AddStringToObject(f, "method", q->method);
		cJSON_AddStringToObject(f, "outcome", q->outcome ?
		    q->outcome : "cancelled");
		if (q->outcome && strcmp(q->outcome, "rpc_error") == 0)
			cJSON_AddNumberToObject(f, "code", q->code);
		add_ms(f, "latency_ms", mono_now() - q->t0);
		cJSON_AddNumberToObject(f, "bytes_in", (double)q->bytes_in);
		cJSON_AddNumberToObject(f, "bytes_out", (double)q->bytes_out);
		trail_event(b->trail, "relay", f);
		free(q->method);
	}
	free(q->cid);
	free(q->ptok_raw);
	free(q);
}

/* The host answered a request a child (or corral) sent it. */
static void
host_response(struct broker *b, struct rctx *r)
{
	struct creq *q;
	struct child *c;
	struct jedit ed;
	struct buf o;
	long long id;
	char *end;

	if (json_type(r->p, r->m.id) != JT_NUMBER)
		return;
	id = strtoll(r->p + r->m.id.off, &end, 10);
	if (end != r->p + r->m.id.off + r->m.id.len ||
	    (q = map_geti(&b->creqs, id)) == NULL)
		return;	/* unknown or late: dropped */
	q->outcome = outcome_name[child_outcome(r->p, &r->m, &q->code)];
	q->bytes_out = r->m.all.len;
	if (q->done) {
		q->done(b, q, r->p + r->m.all.off, r->m.all.len,
		    r->m.result.len ? &r->m.result : NULL,
		    r->m.error.len ? &r->m.error : NULL);
	} else if ((c = child_of(b, q->child)) != NULL && c->gen == q->gen) {
		ed = (struct jedit){ r->m.id.off - r->m.all.off, r->m.id.len,
		    q->cid, q->cidlen };
		buf_init(&o, 0);
		json_splice(&o, r->p + r->m.all.off, r->m.all.len, &ed, 1);
		child_send(c, buf_head(&o), buf_used(&o));
		buf_free(&o);
	}
	creq_free(b, q);
}

/* Handle one message from the host; bt is its batch, if any. consented:
   a call dispatched again after the human allowed it. */
static void
host_message_x(struct broker *b, const char *p, struct jspan v,
    struct batch *bt, int flags)
{
	struct rctx r;
	const struct method *mt;

	memset(&r, 0, sizeof(r));
	r.p = p;
	r.bt = bt;
	r.consented = flags & RS_CONSENTED;
	r.lim_child = -1;
	jsonrpc_classify(p, v, &r.m);
	if (r.m.kind == MSG_INVALID) {
		if (bt)
			bt->waiting++;
		respond_error(b, bt, r.m.id.len ? p + r.m.id.off : NULL,
		    r.m.id.len, RPC_INVALID_REQUEST, r.m.why ? r.m.why :
		    "invalid request", NULL);
		return;
	}
	if (r.m.kind == MSG_RESPONSE) {
		host_response(b, &r);
		return;
	}
	r.method = json_strdup(p, r.m.method, NULL);
	if (r.m.kind == MSG_NOTIFICATION) {
		if (strcmp(r.method, "notifications/cancelled") == 0)
			host_cancel(b, &r);
		else if (strcmp(r.method, "notifications/roots/list_changed") ==
		    0)
			host_roots_changed(b);
		else if (strcmp(r.method, "notifications/progress") == 0)
			host_progress(b, &r);
		else if (strcmp(r.method, "notifications/initialized") == 0)
			host_now_ready(b);
		/* notifications/initialized and unknown ones: consumed. */
		goto out;
	}
	if (bt && !flags)
		bt->waiting++;
	if (map_get(&b->hreqs, p + r.m.id.off, r.m.id.len)) {
		struct arec *a = xcalloc(1, sizeof(*a));

		/* Recorded apart: the id's record is the one in progress. */
		a->id = span_dup(p, r.m.id);
		a->idlen = r.m.id.len;
		a->method = xstrdup(r.method);
		a->t0 = mono_now();
		a->bytes_in = r.m.all.len;
		a->server = -1;
		b->arec_skip = 1;
		b->skip_bytes = 0;
		rctx_error(b, &r, RPC_INVALID_REQUEST, "id is already in use "
		    "by a request in progress");
		b->arec_skip = 0;
		arec_write(b, a, OUT_RPC_ERROR, RPC_INVALID_REQUEST,
		    b->skip_bytes);
		arec_free(a);
		goto out;
	}
	arec_begin(b, &r);
	for (mt = methods; mt->name; mt++)
		if (strcmp(mt->name, r.method) == 0)
			break;
	if (mt->name == NULL) {
		rctx_error(b, &r, RPC_METHOD_NOT_FOUND, "Method not found: %s",
		    r.method);
		goto out;
	}
	if (!b->initialized && !mt->before_init) {
		rctx_error(b, &r, RPC_INVALID_REQUEST, "not initialized: "
		    "send initialize first");
		goto out;
	}
	if (r.m.params.len && json_type(p, r.m.params) != JT_OBJECT) {
		rctx_error(b, &r, RPC_INVALID_PARAMS, "params must be an "
		    "object");
		goto out;
	}
	mt->fn(b, &r);
out:
	free(r.method);
	cJSON_Delete(r.params);
}

static void
host_message(struct broker *b, const char *p, struct jspan v,
    struct batch *bt)
{
	host_message_x(b, p, v, bt, 0);
}

static int
batches_allowed(const struct broker *b)
{
	return b->host_version && strcmp(b->host_version, "2025-03-26") == 0;
}

/* One line from the host. */
static void
host_line(struct broker *b, const char *p, size_t len)
{
	struct jspan v, el;
	const char *why;
	struct batch *bt;
	size_t pos = 0;
	int n = 0;

	if (json_check_unique(p, len, MAX_DEPTH, &v, &why) < 0) {
		/* Valid JSON with a key twice is refused, not parsed: a
		   policy could read one value and the server the other. */
		int dup = json_check(p, len, MAX_DEPTH, NULL, NULL) == 0;
		char *m = dup ? xasprintf("Invalid Request: %s (refused: "
		    "parsers disagree on which one counts)", why) :
		    xasprintf("Parse error: %s", why);

		respond_error(b, NULL, NULL, 0, dup ? RPC_INVALID_REQUEST :
		    RPC_PARSE_ERROR, m, NULL);
		free(m);
		return;
	}
	if (json_type(p, v) != JT_ARRAY) {
		host_message(b, p, v, NULL);
		return;
	}
	if (!batches_allowed(b)) {
		respond_error(b, NULL, NULL, 0, RPC_INVALID_REQUEST,
		    "batches are only accepted on protocol version "
		    "2025-03-26", NULL);
		return;
	}
	bt = xcalloc(1, sizeof(*bt));
	buf_init(&bt->out, 0);
	while (json_iter(p, v, &pos, NULL, &el)) {
		host_message(b, p, el, bt);
		n++;
	}
	if (n == 0) {
		buf_free(&bt->out);
		free(bt);
		respond_error(b, NULL, NULL, 0, RPC_INVALID_REQUEST,
		    "empty batch", NULL);
		return;
	}
	bt->done_reading = 1;
	bt->waiting++;
	batch_answer(b, bt, NULL, 0);
}

void
broker_host_message(struct broker *b, const char *p, size_t len)
{
	host_line(b, p, len);
}

static void
host_lines(struct broker *b)
{
	char *p, *nl;
	size_t used, len;

	for (;;) {
		/* Nothing is read past initialize until it is answered: the
		   answer says what the host may ask. */
		if (b->init_req || b->stopping)
			return;
		p = buf_head(&b->host_in);
		used = buf_used(&b->host_in);
		if (b->host_scan >= used || (nl = memchr(p + b->host_scan,
		    '\n', used - b->host_scan)) == NULL) {
			b->host_scan = used;
			return;
		}
		len = nl - p;
		b->host_scan = 0;
		if (b->host_skipping) {
			char id[128];

			b->host_skipping = 0;
			buf_consume(&b->host_in, len + 1);
			if (jsonrpc_sniff_id(b->host_skip_head,
			    b->host_skip_headlen, NULL, 0, id, sizeof(id)))
				respond_error(b, NULL, id, strlen(id),
				    RPC_INVALID_REQUEST, "message too large",
				    NULL);
			else
				respond_error(b, NULL, NULL, 0,
				    RPC_INVALID_REQUEST, "message too large",
				    NULL);
			continue;
		}
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0 && strspn(p, " \t\r") < len)
			host_line(b, p, len);
		buf_consume(&b->host_in, nl - p + 1);
	}
}

static void
host_rd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct broker *b = w->data;
	char *dst;
	ssize_t n;
	size_t room;
	int rounds = 0;

	(void)revents;
	while (rounds++ < 16) {
		if ((dst = buf_reserve_upto(&b->host_in, 65536, &room)) ==
		    NULL) {
			/* Longer than max_message: keep the head for its id
			   and drop bytes up to the next newline. */
			size_t used = buf_used(&b->host_in);

			if (!b->host_skipping) {
				b->host_skipping = 1;
				b->host_skip_headlen = used <
				    sizeof(b->host_skip_head) ? used :
				    sizeof(b->host_skip_head);
				if (b->host_skip_headlen)
					memcpy(b->host_skip_head,
					    buf_head(&b->host_in),
					    b->host_skip_headlen);
			}
			buf_reset(&b->host_in);
			b->host_scan = 0;
			continue;
		}
		n = read(b->in_fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			ev_io_stop(loop, w);
			b->host_eof = 1;
			b->stop_reason = "the host closed its input";
			/* Lines held back behind initialize are handled
			   first; resume_cb shuts down after them. */
			if (b->init_req == NULL)
				broker_shutdown(b);
			return;
		}
		buf_commit(&b->host_in, n);
		if (!b->in_pipe_grown && buf_used(&b->host_in) > PIPE_GROW_AT) {
			pipe_grow(b->in_fd);
			b->in_pipe_grown = 1;
		}
		if (b->host_skipping) {
			char *nl = memchr(buf_head(&b->host_in), '\n',
			    buf_used(&b->host_in));

			if (nl == NULL) {
				buf_reset(&b->host_in);
				continue;
			}
			/* Drop the tail of the long line; host_lines then
			   reports it and goes on with the rest. */
			memmove(buf_head(&b->host_in), nl,
			    buf_used(&b->host_in) - (nl - buf_head(&b->host_in)));
			b->host_in.len -= nl - buf_head(&b->host_in);
		}
		host_lines(b);
		if (b->stopping)
			return;
		if (b->init_req) {
			ev_io_stop(loop, w);
			return;
		}
	}
}

static void
resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker *b = w->data;

	(void)revents;
	if (b->stopping || b->sink)
		return;
	host_lines(b);
	if (b->host_eof)
		broker_shutdown(b);
	else if (!b->stopping && b->init_req == NULL)
		ev_io_start(loop, &b->host_rd);
}

/* --- messages from children --------------------------------------------- */

static void
list_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker *b = w->data;
	int k, sent = 0, mask = b->notify_mask;

	(void)loop;
	(void)revents;
	b->notify_mask = 0;
	if (!b->answered || b->stopping)
		return;
	for (k = 0; k < CAT_NKINDS; k++) {
		if (!(mask & (1 << k)))
			continue;
		/* resources and templates share one notification. */
		if (k == CAT_TEMPLATES && (mask & (1 << CAT_RESOURCES)))
			continue;
		notify_host(b, changed_method[k], NULL);
		sent++;
	}
	(void)sent;
}

/* Tell the host its lists changed; coalesced within one short delay. */
static void
notify_lists(struct broker *b, int mask)
{
	if (mask == 0 || !b->answered)
		return;
	b->notify_mask |= mask;
	if (!ev_is_active(&b->list_timer)) {
		ev_timer_set(&b->list_timer, 0.005, 0);
		ev_timer_start(b->loop, &b->list_timer);
	}
}

static void
relist_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child *c = w->data;
	int mask = c->relist_mask;

	(void)loop;
	(void)revents;
	c->relist_mask = 0;
	if (c->state != CH_READY)
		return;
	child_fetch_lists(c->b, c, mask & child_list_mask(c));
}

/* Remember resource URIs and tasks a result names, for routing. */
static void
note_result(struct broker *b, struct child *c, const char *p,
    struct jspan result)
{
	cJSON *res, *content, *it, *v;

	if (result.len > 1024 * 1024)
		return;	/* large results are forwarded, not inspected */
	/* Cheap test before parsing: most results name neither. */
	if (memmem(p + result.off, result.len, "\"uri\"", 5) == NULL &&
	    memmem(p + result.off, result.len, "\"task\"", 6) == NULL)
		return;
	res = cJSON_ParseWithLength(p + result.off, result.len);
	content = cJSON_GetObjectItemCaseSensitive(res, "content");
	cJSON_ArrayForEach(it, content) {
		v = cJSON_GetObjectItemCaseSensitive(it, "uri");
		if (!cJSON_IsString(v))
			v = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(it, "resource"),
			    "uri");
		if (cJSON_IsString(v))
			catalog_note_uri(&b->cat, c->idx, v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(res, "task")))
		note_task(b, c->idx, v);
	cJSON_Delete(res);
}

static void
child_response(struct broker *b, struct child *c, const char *p,
    struct jmsg *m)
{
	struct preq *pq;
	struct hreq *h;
	struct jedit ed;
	struct buf o;
	char *key;
	int outcome, code;
	struct arec *a;

	if (json_type(p, m->id) == JT_STRING)
		key = json_strdup(p, m->id, NULL);
	else
		key = span_dup(p, m->id);
	pq = map_dels(&c->pending, key);
	free(key);
	if (pq == NULL)
		return;	/* unknown id, or a request already cancelled */
	if ((h = pq->h) != NULL && h->max_bytes > 0 &&
	    m->all.len > h->max_bytes) {
		char *text = xasprintf("corral withheld the result of %s: it "
		    "is %zu bytes, more than max_result_bytes (%.0f) of server "
		    "\"%s\"", h->lim_tool ? h->lim_tool : "the tool",
		    m->all.len, h->max_bytes, c->conf->alias);

		b->hint = OUT_TOOL_ERROR;
		refuse_call(b, h->batch, h->id, h->idlen, text);
		free(text);
		hreq_free(b, h);
	} else if (h != NULL) {
		/* A subscribe the child refused is not held for the host. */
		if (h->sub_uri && m->error.len)
			map_dels(&c->subs, h->sub_uri);
		if (m->result.len && (strcmp(h->method, "tools/call") == 0 ||
		    strcmp(h->method, "resources/read") == 0))
			note_result(b, c, p, m->result);
		/* Only the id changes on the way back. */
		ed = (struct jedit){ m->id.off - m->all.off, m->id.len, h->id,
		    h->idlen };
		outcome = child_outcome(p, m, &code);
		if ((a = map_get(&b->arecs, h->id, h->idlen)) != NULL)
			a->cend_ns = otel_now_ns();
		arec_answer(b, h->id, h->idlen, outcome, code, m->all.len -
		    m->id.len + h->idlen);
		if (h->batch == NULL && b->sink == NULL) {
			/* Straight into the host's queue: a big result is
			   not copied twice. */
			if (buf_reserve(&b->host_out, m->all.len - m->id.len +
			    h->idlen + 1) == NULL || json_splice(&b->host_out,
			    p + m->all.off, m->all.len, &ed, 1) < 0)
				logmsg("the host is not reading; dropped a "
				    "message of %zu bytes", m->all.len);
			else
				buf_add(&b->host_out, "\n", 1);
			if (!ev_is_active(&b->host_wr) &&
			    buf_used(&b->host_out) >= FLUSH_AT)
				host_flush(b);
			host_backpressure(b);
		} else {
			buf_init(&o, 0);
			json_splice(&o, p + m->all.off, m->all.len, &ed, 1);
			deliver(b, h->batch, buf_head(&o), buf_used(&o));
			buf_free(&o);
		}
		hreq_free(b, h);
	} else if (pq->done) {
		pq->done(b, pq, c->idx, p, m->all.len,
		    m->result.len ? &m->result : NULL,
		    m->error.len ? &m->error : NULL);
	}
	cJSON_Delete(pq->acc);
	free(pq);
}

static void
reply_child_error(struct child *c, const char *p, struct jspan id, int code,
    const char *msg)
{
	cJSON *e = cJSON_CreateObject();
	char *s, *line;

	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	s = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	line = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"error\":%s}",
	    (int)id.len, p + id.off, s);
	child_send(c, line, strlen(line));
	free(line);
	cJSON_free(s);
}

/* May the host be asked this? Returns NULL, or why not. */
static const char *
host_can(struct broker *b, const char *method, const char *p,
    struct jspan params)
{
	const cJSON *caps = b->host_caps, *v;
	struct jspan mode;
	char *m;
	int url;

	if (!b->initialized)
		return "the host has not initialized yet";
	if (strcmp(method, "sampling/createMessage") == 0) {
		if (!(v = cJSON_GetObjectItemCaseSensitive(caps, "sampling")))
			return "the host does not support sampling";
		if (json_member(p, params, "tools", NULL) == 1 &&
		    !cJSON_GetObjectItemCaseSensitive(v, "tools"))
			return "the host does not support tools in sampling";
		return NULL;
	}
	if (strcmp(method, "elicitation/create") == 0) {
		if (!(v = cJSON_GetObjectItemCaseSensitive(caps,
		    "elicitation")))
			return "the host does not support elicitation";
		url = 0;
		if (json_member(p, params, "mode", &mode) == 1) {
			m = json_strdup(p, mode, NULL);
			url = m && strcmp(m, "url") == 0;
			if (m && !url && strcmp(m, "form") != 0) {
				free(m);
				return "unknown elicitation mode";
			}
			free(m);
		}
		if (url && !cJSON_GetObjectItemCaseSensitive(v, "url"))
			return "the host does not support URL elicitation";
		/* {} alone means form; an object naming modes must name it. */
		if (!url && v->child &&
		    !cJSON_GetObjectItemCaseSensitive(v, "form"))
			return "the host does not support form elicitation";
		return NULL;
	}
	if (strcmp(method, "roots/list") == 0) {
		if (!cJSON_GetObjectItemCaseSensitive(caps, "roots"))
			return "the host does not support roots";
		return NULL;
	}
	return "";
}

/* A child asks the host something: give it a host-side id and pass it on. */
static void
child_request_forward(struct broker *b, struct child *c, const char *p,
    struct jmsg *m, const char *method)
{
	const char *why = host_can(b, method, p, m->params);
	struct jedit ed[3];
	struct jspan tok, msgspan;
	struct creq *q;
	struct buf o;
	char hid[32], toktxt[32], *newmsg = NULL;
	int ne = 0, k;

	if (why) {
		cJSON *f = cJSON_CreateObject();

		reply_child_error(c, p, m->id, RPC_METHOD_NOT_FOUND,
		    why[0] ? why : "Method not found");
		cJSON_AddStringToObject(f, "server", c->conf->alias);
		cJSON_AddStringToObject(f, "method", method);
		cJSON_AddStringToObject(f, "outcome", "denied");
		cJSON_AddStringToObject(f, "why", why);
		cJSON_AddNumberToObject(f, "bytes_in", (double)m->all.len);
		trail_event(b->trail, "relay", f);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->method = xstrdup(method);
	q->t0 = mono_now();
	q->bytes_in = m->all.len;
	q->hid = b->next_hid++;
	q->child = c->idx;
	q->gen = c->gen;
	q->cid = span_dup(p, m->id);
	q->cidlen = m->id.len;
	snprintf(hid, sizeof(hid), "%lld", (long long)q->hid);
	ed[ne++] = (struct jedit){ m->id.off, m->id.len, hid, strlen(hid) };
	if (member2(p, m->params, "_meta", "progressToken", &tok) &&
	    (json_type(p, tok) == JT_NUMBER || json_type(p, tok) == JT_STRING)) {
		q->ptok = ++b->next_ptok;
		q->ptok_raw = span_dup(p, tok);
		q->ptok_len = tok.len;
		map_puti(&b->cptoks, q->ptok, q);
		snprintf(toktxt, sizeof(toktxt), "%lld", (long long)q->ptok);
		ed[ne++] = (struct jedit){ tok.off, tok.len, toktxt,
		    strlen(toktxt) };
	}
	/* Say which server asks: the human answers an elicitation. */
	if (strcmp(method, "elicitation/create") == 0 &&
	    json_member(p, m->params, "message", &msgspan) == 1 &&
	    json_type(p, msgspan) == JT_STRING) {
		char *orig = json_strdup(p, msgspan, NULL);
		char *full = xasprintf("[%s] %s", c->conf->alias, orig);
		cJSON *sj = cJSON_CreateString(full);

		newmsg = cJSON_PrintUnformatted(sj);
		cJSON_Delete(sj);
		free(orig);
		free(full);
		ed[ne++] = (struct jedit){ msgspan.off, msgspan.len, newmsg,
		    strlen(newmsg) };
	}
	qsort(ed, ne, sizeof(ed[0]), edit_cmp);
	for (k = 0; k < ne; k++)
		ed[k].off -= m->all.off;
	map_puti(&b->creqs, q->hid, q);
	buf_init(&o, 0);
	json_splice(&o, p + m->all.off, m->all.len, ed, ne);
	if (b->host_ready) {
		broker_host_send(b, buf_head(&o), buf_used(&o));
	} else if (buf_add(&b->held, buf_head(&o), buf_used(&o)) < 0 ||
	    buf_add(&b->held, "\n", 1) < 0) {
		/* Held requests are bounded like any message. */
		reply_child_error(c, p, m->id, RPC_INTERNAL_ERROR,
		    "too many requests before the host was ready");
		creq_free(b, q);
	}
	buf_free(&o);
	cJSON_free(newmsg);
}

/* The host said notifications/initialized: pass on what children asked
   meanwhile (a server may ask for roots right after its own start). */
static void
host_now_ready(struct broker *b)
{
	char *p, *nl;

	if (b->host_ready || !b->answered)
		return;
	b->host_ready = 1;
	while (buf_used(&b->held) > 0) {
		p = buf_head(&b->held);
		nl = memchr(p, '\n', buf_used(&b->held));
		broker_host_send(b, p, nl - p);
		buf_consume(&b->held, nl - p + 1);
	}
	buf_free(&b->held);
}

static void
child_request_in(struct broker *b, struct child *c, const char *p,
    struct jmsg *m)
{
	char *method = json_strdup(p, m->method, NULL);
	char *line;

	if (strcmp(method, "ping") == 0) {
		line = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":%.*s,"
		    "\"result\":{}}", (int)m->id.len, p + m->id.off);
		child_send(c, line, strlen(line));
		free(line);
	} else {
		child_request_forward(b, c, p, m, method);
	}
	free(method);
}

static void
child_progress(struct broker *b, struct child *c, const char *p,
    struct jmsg *m)
{
	struct jspan tok;
	struct hreq *h;
	struct jedit ed;
	struct buf o;
	long long t;
	char *end;

	if (json_member(p, m->params, "progressToken", &tok) != 1 ||
	    json_type(p, tok) != JT_NUMBER)
		return;
	t = strtoll(p + tok.off, &end, 10);
	if (end != p + tok.off + tok.len ||
	    (h = map_geti(&b->ptoks, t)) == NULL || h->child != c->idx)
		return;	/* late or foreign progress: dropped */
	ev_timer_again(b->loop, &h->idle);
	ed = (struct jedit){ tok.off - m->all.off, tok.len, h->ptok_raw,
	    h->ptok_len };
	buf_init(&o, 0);
	json_splice(&o, p + m->all.off, m->all.len, &ed, 1);
	broker_host_send(b, buf_head(&o), buf_used(&o));
	buf_free(&o);
}

static void
child_log(struct broker *b, struct child *c, const char *p, struct jmsg *m)
{
	struct jspan lg;
	struct jedit ed;
	struct buf o;
	char *orig, *full, *q;
	cJSON *sj;

	if (json_type(p, m->params) != JT_OBJECT)
		return;
	if (json_member(p, m->params, "logger", &lg) == 1 &&
	    json_type(p, lg) == JT_STRING) {
		orig = json_strdup(p, lg, NULL);
		full = xasprintf("%s/%s", c->conf->alias, orig);
		free(orig);
		sj = cJSON_CreateString(full);
		free(full);
		q = cJSON_PrintUnformatted(sj);
		cJSON_Delete(sj);
		ed = (struct jedit){ lg.off - m->all.off, lg.len, q,
		    strlen(q) };
	} else {
		sj = cJSON_CreateString(c->conf->alias);
		full = cJSON_PrintUnformatted(sj);
		cJSON_Delete(sj);
		q = xasprintf("\"logger\":%s%s", full,
		    m->params.len > 2 && strspn(p + m->params.off + 1,
		    " \t") + 2 < m->params.len ? "," : "");
		cJSON_free(full);
		/* Insert right after the params object's '{'. */
		ed = (struct jedit){ m->params.off + 1 - m->all.off, 0, q,
		    strlen(q) };
		full = q;
		buf_init(&o, 0);
		json_splice(&o, p + m->all.off, m->all.len, &ed, 1);
		broker_host_send(b, buf_head(&o), buf_used(&o));
		buf_free(&o);
		free(full);
		return;
	}
	buf_init(&o, 0);
	json_splice(&o, p + m->all.off, m->all.len, &ed, 1);
	broker_host_send(b, buf_head(&o), buf_used(&o));
	buf_free(&o);
	cJSON_free(q);
}

static void
child_cancelled(struct broker *b, struct child *c, const char *p,
    struct jmsg *m)
{
	struct jspan rid;
	struct map_ent *e;
	struct creq *q, *found = NULL;
	size_t it;
	cJSON *params;

	if (json_member(p, m->params, "requestId", &rid) != 1)
		return;
	for (e = map_first(&b->creqs, &it); e; e = map_next(&b->creqs, &it,
	    e)) {
		q = e->val;
		if (q->child == c->idx && q->gen == c->gen &&
		    q->cidlen == rid.len && memcmp(q->cid, p + rid.off,
		    rid.len) == 0) {
			found = q;
			break;
		}
	}
	if (found == NULL)
		return;
	params = cJSON_CreateObject();
	cJSON_AddNumberToObject(params, "requestId", (double)found->hid);
	{
		cJSON *pp = cJSON_ParseWithLength(p + m->params.off,
		    m->params.len);
		cJSON *reason = cJSON_GetObjectItemCaseSensitive(pp, "reason");

		if (cJSON_IsString(reason))
			cJSON_AddStringToObject(params, "reason",
			    reason->valuestring);
		cJSON_Delete(pp);
	}
	notify_host(b, "notifications/cancelled", params);
	found->outcome = "cancelled";
	creq_free(b, found);
}

static void
child_notification(struct broker *b, struct child *c, const char *p,
    struct jmsg *m)
{
	char *method = json_strdup(p, m->method, NULL);
	int k = -1;

	if (strcmp(method, "notifications/tools/list_changed") == 0)
		k = 1 << CAT_TOOLS;
	else if (strcmp(method, "notifications/prompts/list_changed") == 0)
		k = 1 << CAT_PROMPTS;
	else if (strcmp(method, "notifications/resources/list_changed") == 0)
		k = 1 << CAT_RESOURCES | 1 << CAT_TEMPLATES;
	if (k > 0) {
		/* Debounced: a burst becomes one re-fetch. */
		c->relist_mask |= k;
		if (!ev_is_active(&c->relist_timer)) {
			ev_timer_set(&c->relist_timer, RELIST_DELAY, 0);
			ev_timer_start(b->loop, &c->relist_timer);
		}
	} else if (!b->answered) {
		/* The host cannot take notifications yet. */
	} else if (strcmp(method, "notifications/progress") == 0) {
		child_progress(b, c, p, m);
	} else if (strcmp(method, "notifications/message") == 0) {
		child_log(b, c, p, m);
	} else if (strcmp(method, "notifications/cancelled") == 0) {
		child_cancelled(b, c, p, m);
	} else if (strcmp(method, "notifications/resources/updated") == 0 ||
	    strcmp(method, "notifications/tasks/status") == 0 ||
	    strcmp(method, "notifications/elicitation/complete") == 0) {
		if (strcmp(method, "notifications/tasks/status") == 0) {
			cJSON *pp = cJSON_ParseWithLength(p + m->params.off,
			    m->params.len);

			note_task(b, c->idx, pp);
			cJSON_Delete(pp);
		}
		broker_host_send(b, p + m->all.off, m->all.len);
	}
	free(method);
}

void
broker_child_message(struct broker *b, struct child *c, const char *p,
    size_t len)
{
	struct jspan v;
	struct jmsg m;
	const char *why;

	lazy_touch(c);

	if (json_check_unique(p, len, MAX_DEPTH, &v, &why) < 0 ||
	    (jsonrpc_classify(p, v, &m), m.kind == MSG_INVALID)) {
		if (json_check_unique(p, len, MAX_DEPTH, &v, &why) == 0)
			why = m.why;
		c->bad_lines++;
		if (c->bad_lines <= 10 || c->bad_lines % 1000 == 0)
			logmsg("[%s] dropped a line that is not a JSON-RPC "
			    "message (%s)%s", c->conf->alias, why,
			    c->bad_lines == 10 ? "; further ones are counted "
			    "quietly" : "");
		/* Once: the lines still coming while it stops are not news. */
		if (c->bad_lines_run++ == BAD_LINES_MAX) {
			logmsg("[%s] sent %d bad lines in a row; stopping it",
			    c->conf->alias, BAD_LINES_MAX);
			free(c->fail_reason);
			c->fail_reason = xstrdup("flooded its output with "
			    "bad lines");
			child_stop(c);
		}
		return;
	}
	c->bad_lines_run = 0;
	switch (m.kind) {
	case MSG_RESPONSE:
		child_response(b, c, p, &m);
		break;
	case MSG_REQUEST:
		child_request_in(b, c, p, &m);
		break;
	case MSG_NOTIFICATION:
		child_notification(b, c, p, &m);
		break;
	default:
		break;
	}
}

void
broker_child_oversize(struct broker *b, struct child *c, size_t bytes)
{
	char id[64];
	struct preq *pq;
	cJSON *d;
	char *msg;

	logmsg("[%s] sent a message of %zu bytes, more than max_message "
	    "(%zu); dropped", c->conf->alias, bytes, b->cf->max_message);
	if (!jsonrpc_sniff_id(c->skip_head, c->skip_headlen, c->skip_tail,
	    c->skip_taillen, id, sizeof(id)))
		return;
	if ((pq = map_dels(&c->pending, id)) == NULL)
		return;
	if (pq->h) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "server", c->conf->alias);
		cJSON_AddNumberToObject(d, "bytes", (double)bytes);
		cJSON_AddNumberToObject(d, "max_message",
		    (double)b->cf->max_message);
		msg = xasprintf("the response of server %s was larger than "
		    "max_message", c->conf->alias);
		b->hint = OUT_TRANSPORT;
		respond_error(b, pq->h->batch, pq->h->id, pq->h->idlen,
		    RPC_INTERNAL_ERROR, msg, d);
		free(msg);
		hreq_free(b, pq->h);
	} else if (pq->done) {
		struct jspan e = { 0, 2 };

		pq->done(b, pq, c->idx, "{}", 2, NULL, &e);
	}
	cJSON_Delete(pq->acc);
	free(pq);
}

/* --- lazy servers ------------------------------------------------------- */

/* Whether a request for c waits for it to start rather than fail. */
static int
lazy_waits(const struct child *c)
{
	if (!c->conf->lazy)
		return 0;
	switch (c->state) {
	case CH_LAZY:
	case CH_QUEUED:
	case CH_SPAWNED:
	case CH_INIT:
	case CH_LISTING:
		return 1;
	case CH_STOPPING:
		return c->idle_stop;
	default:
		return 0;
	}
}

/* Start a sleeping lazy server for the requests waiting for it. */
static void
lazy_wake(struct broker *b, struct child *c)
{
	(void)b;
	logmsg("[%s] starting it for a request", c->conf->alias);
	child_start(c);
}

/* Hold the host request in r until c is ready, waking c when it sleeps.
   Returns 1 when held (its answer comes later), 0 to go on. */
static int
lazy_hold(struct broker *b, struct rctx *r, struct child *c)
{
	struct hreq *h;

	if (!lazy_waits(c))
		return 0;
	h = hreq_new(b, r);
	h->child = c->idx;
	h->heldlen = r->m.all.len;
	h->held = xstrndup(r->p + r->m.all.off, r->m.all.len);
	h->held_consented = r->consented;
	if (c->nwait == c->waitcap) {
		c->waitcap = c->waitcap ? c->waitcap * 2 : 4;
		c->waitq = xrealloc(c->waitq, c->waitcap * sizeof(*c->waitq));
	}
	c->waitq[c->nwait++] = h;
	if (c->state == CH_LAZY)
		lazy_wake(b, c);
	return 1;
}

/* Take a held request off its server's wait list. */
static void
lazy_unlink(struct broker *b, struct hreq *h)
{
	struct child *c = child_of(b, h->child);
	int i;

	for (i = 0; c && i < c->nwait; i++) {
		if (c->waitq[i] != h)
			continue;
		memmove(c->waitq + i, c->waitq + i + 1,
		    (c->nwait - i - 1) * sizeof(*c->waitq));
		c->nwait--;
		return;
	}
}

/* c is ready: dispatch what waited for it, in arrival order, as if it
   had just come (names, policy and consent see its live lists). */
static void
lazy_release(struct broker *b, struct child *c)
{
	struct hreq *h;
	struct batch *bt;
	struct jspan v;
	const char *why;
	char *msg;
	size_t len;
	int flags;

	while (c->nwait > 0 && c->state == CH_READY) {
		h = c->waitq[0];
		lazy_unlink(b, h);
		msg = h->held;
		len = h->heldlen;
		h->held = NULL;
		bt = h->batch;
		flags = RS_RESUMED | (h->held_consented ? RS_CONSENTED : 0);
		hreq_free(b, h);
		if (json_check(msg, len, MAX_DEPTH, &v, &why) == 0)
			host_message_x(b, msg, v, bt, flags);
		free(msg);
	}
}

/* c did not start (or stopped before it was ready): the requests that
   waited for it get the reason. */
static void
lazy_fail(struct broker *b, struct child *c)
{
	struct hreq *h;
	char *msg;

	if (c->nwait == 0)
		return;
	if (c->fail_reason && c->last_exit && !c->conf->remote)
		msg = xasprintf("server %s did not start: %s (%s)",
		    c->conf->alias, c->fail_reason, c->last_exit);
	else
		msg = xasprintf("server %s did not start: %s", c->conf->alias,
		    c->fail_reason ? c->fail_reason : c->last_exit ?
		    c->last_exit : "stopped");
	while (c->nwait > 0) {
		h = c->waitq[0];
		if (b->stopping) {
			b->hint = OUT_CANCELLED;
			arec_answer(b, h->id, h->idlen, OUT_CANCELLED, 0, 0);
		} else {
			b->hint = OUT_TRANSPORT;
			respond_error(b, h->batch, h->id, h->idlen,
			    RPC_CONNECTION_CLOSED, msg, child_error_data(c));
		}
		hreq_free(b, h);
	}
	free(msg);
}

void
broker_child_asleep(struct broker *b, struct child *c)
{
	if (c->nwait > 0)
		lazy_wake(b, c);
}

/* Traffic with c: its idle time starts again. */
static void
lazy_touch(struct child *c)
{
	if (ev_is_active(&c->idle_timer))
		ev_timer_again(c->b->loop, &c->idle_timer);
}

/* Whether c is serving something: a request of the host's, one of its
   own to the host, a subscription the host holds, or a task it made. */
static int
lazy_busy(struct broker *b, const struct child *c)
{
	struct map_ent *e;
	size_t it;

	if (map_first(&c->pending, &it) || map_first(&c->subs, &it))
		return 1;
	for (e = map_first(&b->creqs, &it); e; e = map_next(&b->creqs, &it,
	    e))
		if (((struct creq *)e->val)->child == c->idx)
			return 1;
	for (e = map_first(&b->tasks, &it); e; e = map_next(&b->tasks, &it,
	    e))
		if ((intptr_t)e->val == c->idx + 1)
			return 1;
	return 0;
}

static void
idle_stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child *c = w->data;

	(void)revents;
	if (c->state != CH_READY || c->b->stopping) {
		ev_timer_stop(loop, w);
		return;
	}
	if (lazy_busy(c->b, c))
		return;	/* the repeat looks again later */
	ev_timer_stop(loop, w);
	logmsg("[%s] idle for %g s; stopped (starts again on the next "
	    "request)", c->conf->alias, c->conf->t_idle);
	c->idle_stop = 1;
	child_stop(c);
}

/* Keep what a lazy server offers for its next start. */
static void
lazy_save(struct broker *b, struct child *c)
{
	char *err = NULL;

	if (cache_save(c->conf, c->version, c->caps, c->instructions,
	    b->cat.owners[c->idx].items, &err) < 0) {
		logmsg("[%s] cannot write its cache: %s", c->conf->alias, err);
		free(err);
	}
}

/* Whether a pinned hash of alias/name (NULL: the server) is h. */
static int
pinned_as(struct broker *b, const char *alias, const char *name,
    const cJSON *def)
{
	const cJSON *pe = pins_get(&b->pins, alias, name);
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(pe, "hash");
	char h[65];

	canon_hash(def, h);
	return cJSON_IsString(ph) && strcmp(ph->valuestring, h) == 0;
}

/* Whether every cached tool definition, and the server's instructions and
   prompts, are what is pinned now. A cache is never trusted past a pin:
   if they differ, the server itself must be asked. */
static int
cache_pinned(struct broker *b, struct child *c, const struct cache_entry *ce)
{
	const cJSON *t, *n;
	cJSON *def;
	int ok = !b->pins.corrupt;

	cJSON_ArrayForEach(t, ce->items[CAT_TOOLS]) {
		if (!ok)
			break;
		n = cJSON_GetObjectItemCaseSensitive(t, "name");
		if (!cJSON_IsString(n))
			continue;
		def = pins_tool_def(t);
		ok = pinned_as(b, c->conf->alias, n->valuestring, def);
		cJSON_Delete(def);
	}
	if (ok) {
		def = pins_server_def(ce->instructions, ce->items[CAT_PROMPTS]);
		ok = pinned_as(b, c->conf->alias, NULL, def);
		cJSON_Delete(def);
	}
	return ok;
}

/* Serve a lazy server's lists from its cache without starting it.
   Returns 0 when there is no cache it may use. */
static int
lazy_from_cache(struct broker *b, struct child *c)
{
	struct cache_entry ce;
	char *why;
	int k;

	if (!cache_load(c->conf, &ce, &why)) {
		logmsg("[%s] lazy, but %s: starting it now to fill its cache",
		    c->conf->alias, why);
		free(why);
		return 0;
	}
	filter_tools(c, ce.items[CAT_TOOLS]);
	if (!cache_pinned(b, c, &ce)) {
		logmsg("[%s] lazy, but its cache does not match its pins: "
		    "starting it now", c->conf->alias);
		cache_entry_clear(&ce);
		return 0;
	}
	free(c->version);
	c->version = ce.version;
	cJSON_Delete(c->caps);
	c->caps = ce.caps;
	free(c->instructions);
	c->instructions = ce.instructions;
	ce.version = ce.instructions = NULL;
	ce.caps = NULL;
	c->state = CH_LAZY;
	c->listing = CAT_NKINDS;
	for (k = 0; k < CAT_NKINDS; k++) {
		list_done(b, c, k, ce.items[k]);
		ce.items[k] = NULL;
	}
	pin_server(b, c);
	logmsg("[%s] lazy: its lists come from its cache; it starts on the "
	    "first request", c->conf->alias);
	return 1;
}

/* A child's generation ended: fail what it was serving, drop its lists. */
void
broker_child_gone(struct broker *b, struct child *c)
{
	struct map_ent *e;
	struct preq *pq;
	struct creq **drop = NULL;
	size_t it, n = 0, cap = 0, i;
	int mask, k;
	char *msg;

	msg = xasprintf("server %s %s", c->conf->alias,
	    c->last_exit ? c->last_exit : "stopped");
	while ((e = map_first(&c->pending, &it)) != NULL) {
		pq = map_del(&c->pending, e->key, e->klen);
		if (pq->h) {
			/* Stopped with the session: cancelled, not failed. */
			b->hint = b->stopping ? OUT_CANCELLED : OUT_TRANSPORT;
			if (!b->stopping)
				respond_error(b, pq->h->batch, pq->h->id,
				    pq->h->idlen, RPC_CONNECTION_CLOSED, msg,
				    child_error_data(c));
			else
				arec_answer(b, pq->h->id, pq->h->idlen,
				    OUT_CANCELLED, 0, 0);
			hreq_free(b, pq->h);
		} else if (pq->done == gather_cb) {
			struct gather *g = pq->arg;

			if (--g->waiting == 0)
				gather_finish(b, g);
		}
		cJSON_Delete(pq->acc);
		free(pq);
	}
	free(msg);
	for (e = map_first(&b->creqs, &it); e; e = map_next(&b->creqs, &it,
	    e)) {
		struct creq *q = e->val;

		if (q->child != c->idx)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			drop = xrealloc(drop, cap * sizeof(*drop));
		}
		drop[n++] = q;
	}
	for (i = 0; i < n; i++) {
		drop[i]->outcome = "transport_error";
		creq_free(b, drop[i]);
	}
	free(drop);
	/* Forget its tasks. */
	do {
		k = 0;
		for (e = map_first(&b->tasks, &it); e;
		    e = map_next(&b->tasks, &it, e)) {
			if ((intptr_t)e->val == c->idx + 1) {
				map_del(&b->tasks, e->key, e->klen);
				k = 1;
				break;
			}
		}
	} while (k);
	c->listing = 0;
	c->relist_mask = 0;
	/* Stopped while idle, it keeps offering what it offered. */
	if (!c->idle_stop) {
		mask = catalog_clear(&b->cat, c->idx);
		if (!b->stopping)
			notify_lists(b, mask);
		lazy_fail(b, c);
	}
	maybe_answer_initialize(b);
}

/* --- lifecycle ----------------------------------------------------------- */

void
broker_add_child(struct broker *b, int idx, struct server_conf *sc)
{
	struct child *c = &b->children[idx];

	child_setup(c, b, idx, sc);
	ev_timer_init(&c->relist_timer, relist_cb, RELIST_DELAY, 0);
	c->relist_timer.data = c;
	ev_timer_init(&c->idle_timer, idle_stop_cb, 1, 1);
	c->idle_timer.data = c;
}

void
broker_drop_lists(struct broker *b, struct child *c)
{
	int mask = catalog_clear(&b->cat, c->idx);

	lazy_fail(b, c);	/* requests that waited for it to start */
	if (!b->stopping)
		notify_lists(b, mask);
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct broker *b = w->data;

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		broker_reload(b, "SIGHUP");
		return;
	}
	if (!b->stopping) {
		logmsg("signal %d: shutting down", w->signum);
		b->stop_reason = w->signum == SIGTERM ? "signal TERM" :
		    "signal INT";
	}
	broker_shutdown(b);
}

struct broker *
broker_new(struct ev_loop *loop, struct config *cf, host_sink sink,
    void *arg)
{
	struct broker *b = xcalloc(1, sizeof(*b));
	char **prefixes;
	int i;

	b->loop = loop;
	b->cf = cf;
	errlog_attach(loop);
	b->sink = sink;
	b->sink_arg = arg;
	b->in_fd = STDIN_FILENO;
	b->out_fd = STDOUT_FILENO;
	b->next_hid = 0;
	map_init(&b->hreqs);
	map_init(&b->ptoks);
	map_init(&b->cptoks);
	map_init(&b->creqs);
	map_init(&b->tasks);
	map_init(&b->prompts);
	map_init(&b->session_ok);
	map_init(&b->arecs);
	b->t0 = mono_now();
	b->trail = trail_new(loop, cf);
	pins_load(&b->pins);
	if (b->pins.corrupt)
		logmsg("pins: %s; every tool counts as changed and needs "
		    "fresh consent until you run corral pins accept",
		    b->pins.why ? b->pins.why : "unreadable");
	consent_store_load(&b->consent);
	buf_init(&b->host_in, cf->max_message + 1);
	buf_init(&b->host_out, cf->max_message * 3 + 1024 * 1024);
	buf_init(&b->held, cf->max_message);
	b->nchildren = 0;
	b->cap_children = cf->nservers + RELOAD_SPARE;
	b->children = xcalloc(b->cap_children, sizeof(*b->children));
	prefixes = xcalloc(cf->nservers + 1, sizeof(char *));
	for (i = 0; i < cf->nservers; i++)
		prefixes[i] = cf->servers[i].prefix;
	catalog_init(&b->cat, cf->sep, cf->nservers, prefixes);
	free(prefixes);
	for (i = 0; i < cf->nservers; i++)
		broker_add_child(b, i, &cf->servers[i]);
	b->nchildren = cf->nservers;
	ev_timer_init(&b->init_timer, init_timeout_cb, 1, 0);
	b->init_timer.data = b;
	ev_timer_init(&b->list_timer, list_timer_cb, 0.005, 0);
	b->list_timer.data = b;
	ev_timer_init(&b->resume_timer, resume_cb, 0, 0);
	b->resume_timer.data = b;
	if (sink == NULL) {
		fd_nonblock(b->in_fd);
		fd_nonblock(b->out_fd);
		ev_io_init(&b->host_rd, host_rd_cb, b->in_fd, EV_READ);
		ev_io_init(&b->host_wr, host_wr_cb, b->out_fd, EV_WRITE);
		b->host_rd.data = b->host_wr.data = b;
	}
	ev_prepare_init(&b->flusher, flush_cb);
	b->flusher.data = b;
	ev_prepare_start(loop, &b->flusher);
	ev_signal_init(&b->sigterm, signal_cb, SIGTERM);
	ev_signal_init(&b->sigint, signal_cb, SIGINT);
	ev_signal_init(&b->sighup, signal_cb, SIGHUP);
	b->sigterm.data = b->sigint.data = b->sighup.data = b;
	ev_signal_start(loop, &b->sigterm);
	ev_signal_start(loop, &b->sigint);
	ev_signal_start(loop, &b->sighup);
	return b;
}

void
broker_start(struct broker *b)
{
	int i;

	cJSON *f = cJSON_CreateObject(), *sv;

	if (b->cf->path) {
		cJSON_AddStringToObject(f, "path", b->cf->path);
		cJSON_AddStringToObject(f, "sha256", b->cf->sha256);
	}
	sv = cJSON_AddArrayToObject(f, "servers");
	for (i = 0; i < b->nchildren; i++)
		cJSON_AddItemToArray(sv,
		    cJSON_CreateString(b->children[i].conf->alias));
	trail_event(b->trail, "config_load", f);
	if (b->sink == NULL)
		ev_io_start(b->loop, &b->host_rd);
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		if (c->conf->disabled || (c->conf->lazy &&
		    lazy_from_cache(b, c)))
			continue;
		child_start(c);
	}
}

int
broker_starting(const struct broker *b)
{
	int i, n = 0;

	for (i = 0; i < b->nchildren; i++) {
		enum child_state s = b->children[i].state;

		n += s == CH_SPAWNED || s == CH_INIT || s == CH_LISTING ||
		    s == CH_QUEUED;
	}
	return n;
}

void
broker_shutdown(struct broker *b)
{
	int i;

	if (b->stopping)
		return;
	b->stopping = 1;
	if (b->sink == NULL)
		ev_io_stop(b->loop, &b->host_rd);
	ev_timer_stop(b->loop, &b->init_timer);
	for (i = 0; i < b->nchildren; i++)
		child_stop(&b->children[i]);
	broker_check_exit(b);
}

/* Exit once every child is gone and the host has its last bytes. */
void
broker_check_exit(struct broker *b)
{
	int i;

	if (!b->stopping || b->exited)
		return;
	for (i = 0; i < b->nchildren; i++)
		if (b->children[i].running || b->children[i].stdout_open ||
		    b->children[i].stderr_open)
			return;
	if (b->sink == NULL && buf_used(&b->host_out) > 0 && !b->host_eof)
		return;
	b->exited = 1;
	ev_break(b->loop, EVBREAK_ALL);
}

int
broker_run(struct broker *b)
{
	ev_run(b->loop, 0);
	return b->exit_code;
}

void
broker_free(struct broker *b)
{
	struct map_ent *e;
	size_t it;
	int i;

	consent_free_all(b);
	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];

		clear_pins(&c->pins);
		map_free(&c->pins);
		map_free(&c->tool_inflight);
		while ((e = map_first(&c->tool_buckets, &it)) != NULL)
			free(map_del(&c->tool_buckets, e->key, e->klen));
		map_free(&c->tool_buckets);
		cJSON_Delete(c->server_def);
		cJSON_Delete(c->prompts_seen);
		ev_timer_stop(b->loop, &c->backoff_timer);
		ev_timer_stop(b->loop, &c->kill_timer);
		ev_timer_stop(b->loop, &c->start_timer);
		ev_timer_stop(b->loop, &c->relist_timer);
		ev_timer_stop(b->loop, &c->idle_timer);
		/* Held requests are freed with the others below. */
		free(c->waitq);
		c->waitq = NULL;
		c->nwait = c->waitcap = 0;
		while ((e = map_first(&c->pending, &it)) != NULL) {
			struct preq *pq = map_del(&c->pending, e->key,
			    e->klen);

			cJSON_Delete(pq->acc);
			free(pq);
		}
		child_free(c);
	}
	/* After the remotes: they remove their transfers first. */
	curlev_free(b->curlev);
	b->curlev = NULL;
	/* Batches still waiting for answers go with their requests. */
	{
		struct batch **bts = NULL;
		size_t nb = 0, k;

		for (e = map_first(&b->hreqs, &it); e;
		    e = map_next(&b->hreqs, &it, e)) {
			struct hreq *h = e->val;

			if (h->batch == NULL)
				continue;
			for (k = 0; k < nb && bts[k] != h->batch; k++)
				;
			if (k == nb) {
				bts = xrealloc(bts, (nb + 1) * sizeof(*bts));
				bts[nb++] = h->batch;
			}
		}
		for (k = 0; k < nb; k++) {
			buf_free(&bts[k]->out);
			free(bts[k]);
		}
		free(bts);
	}
	while ((e = map_first(&b->hreqs, &it)) != NULL)
		hreq_free(b, e->val);
	while ((e = map_first(&b->creqs, &it)) != NULL)
		creq_free(b, e->val);
	/* What never got an answer ended with the session. */
	while ((e = map_first(&b->arecs, &it)) != NULL) {
		struct arec *a = map_del(&b->arecs, e->key, e->klen);

		arec_write(b, a, OUT_CANCELLED, 0, 0);
		arec_free(a);
	}
	map_free(&b->arecs);
	if (b->initialized) {
		cJSON *f = cJSON_CreateObject();

		add_session(b, f);
		cJSON_AddStringToObject(f, "reason", b->stop_reason ?
		    b->stop_reason : "shutdown");
		cJSON_AddNumberToObject(f, "requests", (double)b->nanswered);
		add_ms(f, "duration_ms", mono_now() - b->t0);
		trail_event(b->trail, "session_end", f);
	}
	trail_free(b->trail);
	ev_timer_stop(b->loop, &b->init_timer);
	ev_timer_stop(b->loop, &b->list_timer);
	ev_timer_stop(b->loop, &b->resume_timer);
	ev_prepare_stop(b->loop, &b->flusher);
	ev_signal_stop(b->loop, &b->sigterm);
	ev_signal_stop(b->loop, &b->sigint);
	ev_signal_stop(b->loop, &b->sighup);
	if (b->sink == NULL) {
		ev_io_stop(b->loop, &b->host_rd);
		ev_io_stop(b->loop, &b->host_wr);
	}
	catalog_free(&b->cat);
	map_free(&b->hreqs);
	map_free(&b->ptoks);
	map_free(&b->cptoks);
	map_free(&b->creqs);
	map_free(&b->tasks);
	free(b->startq);
	map_free(&b->prompts);
	map_free(&b->session_ok);
	pins_free(&b->pins);
	cJSON_Delete(b->consent);
	buf_free(&b->host_in);
	buf_free(&b->host_out);
	buf_free(&b->held);
	free(b->children);
	reload_free(b);
	for (i = 0; i < b->nconfigs; i++)
		config_free(b->configs[i]);
	free(b->configs);
	free(b->host_version);
	cJSON_Delete(b->host_caps);
	cJSON_Delete(b->client_info);
	free(b->log_level);
	free(b);
	errlog_detach();
}

/* --- consent hooks ------------------------------------------------------- */

int64_t
broker_host_request(struct broker *b, const char *method, cJSON *params,
    struct creq *q)
{
	char *s;

	q->hid = b->next_hid++;
	s = jsonrpc_message(method, params, q->hid);
	map_puti(&b->creqs, q->hid, q);
	broker_host_send(b, s, strlen(s));
	cJSON_free(s);
	return q->hid;
}

void
broker_host_cancel(struct broker *b, int64_t id, const char *reason)
{
	struct creq *q = map_geti(&b->creqs, id);
	cJSON *params;

	if (q == NULL)
		return;
	params = cJSON_CreateObject();
	cJSON_AddNumberToObject(params, "requestId", (double)id);
	cJSON_AddStringToObject(params, "reason", reason);
	notify_host(b, "notifications/cancelled", params);
	creq_free(b, q);
}

void
broker_consent_answer(struct broker *b, int child, const char *tool,
    const char *exposed, const char *hash, int changed, int answer,
    const char *via)
{
	struct child *c = &b->children[child];
	struct pinfo *pi;
	char *key, *err = NULL;
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "server", c->conf->alias);
	cJSON_AddStringToObject(f, "tool", tool);
	cJSON_AddStringToObject(f, "answer", answer_short[answer]);
	cJSON_AddStringToObject(f, "channel", via ? via : "none");
	trail_event(b->trail, "consent_answer", f);
	if (answer != ANS_SESSION && answer != ANS_ALWAYS)
		return;
	/* Approving a changed definition for longer than once accepts it.
	   An unreadable store is not rebuilt from one answer: the approval
	   holds for this run, and `corral pins accept --all` rebuilds it. */
	if (changed) {
		pi = map_gets(&c->pins, tool);
		if (pi && strcmp(pi->hash, hash) == 0) {
			if (!b->pins.corrupt)
				pins_accept(&b->pins, c->conf->alias, tool,
				    pi->def, pi->hash);
			pi->changed = 0;
			audit_pin(b, c, tool, "accepted", pi->hash);
		}
		if (c->server_changed && c->server_def) {
			if (!b->pins.corrupt)
				pins_accept(&b->pins, c->conf->alias, NULL,
				    c->server_def, c->server_hash);
			c->server_changed = 0;
			audit_pin(b, c, NULL, "accepted", c->server_hash);
		}
		if (b->pins.corrupt)
			logmsg("pins: the store is unreadable, so this approval "
			    "is not saved; run corral pins accept --all to "
			    "rebuild it");
		else
			pins_flush(b);
	}
	/* "always" lives in consent.json only, so a revoke applies at once. */
	if (answer == ANS_SESSION) {
		key = xasprintf("%d\x1f%s\x1f%s", child, tool, hash);
		map_puts(&b->session_ok, key, (void *)1);
		free(key);
	}
	if (answer == ANS_ALWAYS) {
		/* Read it again first: `corral consent revoke` may have changed
		   it while we run. */
		cJSON_Delete(b->consent);
		consent_store_load(&b->consent);
		consent_store_add(b->consent, c->conf->alias, tool, exposed,
		    hash);
		if (consent_store_save(b->consent, &err) < 0) {
			logmsg("cannot remember the decision: %s", err);
			free(err);
		}
	}
}

void
broker_consent_resume(struct broker *b, struct hreq *h, const char *msg,
    size_t len, int answer, const char *via, int changed)
{
	struct batch *bt = h->batch;
	struct jspan v;
	const char *why;
	char *text, *tool = NULL;
	struct jspan name;
	struct arec *a;

	a = map_get(&b->arecs, h->id, h->idlen);
	if (a) {
		free(a->decision);
		free(a->by);
		a->decision = xstrdup(answer == ANS_DENY ? "deny" : "allow");
		a->by = via == NULL ? xstrdup(changed ? "consent: definition "
		    "changed, no way to ask" : "consent: no way to ask") :
		    strcmp(via, "timeout") == 0 ? xstrdup("consent: no answer "
		    "in time") : xasprintf("consent: %s (%s)",
		    answer_short[answer], via);
	}
	if (answer == ANS_DENY) {
		b->hint = OUT_DENIED;
		if (json_check(msg, len, MAX_DEPTH, &v, &why) == 0 &&
		    member2(msg, v, "params", "name", &name))
			tool = json_strdup(msg, name, NULL);
		if (via == NULL && changed)
			text = xasprintf("corral denied %s: its definition (or "
			    "its server's instructions) changed since it was "
			    "approved, and there was no way to ask you. See "
			    "what changed with `corral pins diff`; accept it "
			    "with `corral pins accept %s` (or the server's "
			    "name, for its instructions).", tool ? tool :
			    "the call", tool ? tool : "NAME");
		else if (via == NULL)
			text = xasprintf("corral denied %s: there was no way to "
			    "ask you (none of the consent channels in "
			    "corral.consent.channels was available: the client "
			    "did not declare elicitation, corral has no "
			    "terminal, no desktop dialog, no consent command). "
			    "To allow it, add an allow rule to the policy in "
			    "%s.", tool ? tool : "the call", config_name(b));
		else if (strcmp(via, "timeout") == 0)
			text = xasprintf("corral denied %s: nobody answered "
			    "within %g s. Call it again to be asked again.",
			    tool ? tool : "the call", b->cf->consent_timeout);
		else
			text = xasprintf("corral denied %s: you answered deny "
			    "(%s). Call it again to be asked again, or allow "
			    "it in the policy in %s.", tool ? tool : "the call",
			    via, config_name(b));
		refuse_call(b, bt, h->id, h->idlen, text);
		free(text);
		free(tool);
		hreq_free(b, h);
		return;
	}
	/* Allowed: dispatch the original request again, past the gate. */
	hreq_free(b, h);
	if (json_check(msg, len, MAX_DEPTH, &v, &why) == 0)
		host_message_x(b, msg, v, bt, RS_CONSENTED);
}
