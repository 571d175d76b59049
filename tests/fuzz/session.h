/* A broker session for the broker fuzzers (fuzz_host, fuzz_child): one
   broker per input, with the host in process (a sink) and one scripted
   child that is no process at all, only a pipe the harness reads. The
   child answers the broker's requests from canned results, so a run is
   deterministic and fast, and every input starts from the same state.

   A request's params (or params.arguments for tools/call) may steer the
   scripted child:
	"_script": [v, ...]	lines sent first: a string is sent as its
				raw text, anything else as compact JSON
	"_progress": true	two notifications/progress on the request's
				progressToken first
	"_noreply": true	no answer (the request stays in flight)
	"_result": v		answer with this result
	"_error": v		answer with this error object

   Invariants checked on every message to the host: it passes json_check
   and holds no newline. After broker_free no watcher is left active on
   the loop. */
#ifndef CORRAL_FUZZ_SESSION_H
#define CORRAL_FUZZ_SESSION_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "core/broker.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
#include "core/jsonrpc.h"
#include "core/util.h"

#define FZ_FN static __attribute__((unused))

/* Stop the fuzzer with a message: an invariant broke. */
#define FZ_ASSERT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz: invariant failed: %s (%s:%d): ", \
		    #cond, __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

static const char fz_config[] =
    "{\"mcpServers\":{\"fake\":{\"command\":\"/bin/true\","
    "\"sandbox\":{\"profile\":\"none\"},"
    "\"timeouts\":{\"start\":3600},"
    "\"policy\":{\"ask\":[\"ask*\"],\"deny\":[\"deny*\","
    "{\"tool\":\"echo\",\"args\":{\"/text\":\"forbidden\"}}]},"
    "\"limits\":{\"max_concurrent\":4,\"max_result_bytes\":4096,"
    "\"tools\":{\"slow*\":{\"rate\":\"2/sec\"}}}}},"
    "\"corral\":{\"policy\":{\"default\":\"allow\"},"
    "\"timeouts\":{\"initialize\":3600,\"shutdown\":3600},"
    "\"max_message\":65536,"
    "\"consent\":{\"channels\":[\"elicitation\"],\"timeout\":3600},"
    "\"audit\":{\"enabled\":false}}}";

struct fz {
	struct ev_loop *loop;
	struct config *cf;
	struct broker *b;
	struct child *c;
	int rd;			/* the child's stdin, our end */
	struct buf in;		/* what the broker wrote to the child */
	cJSON *tohost;		/* requests the broker sent to the host */
	int nmsg;		/* messages to the host this input */
	int child_auto;		/* the child answers requests */
	int debug;		/* FUZZ_DEBUG set: show the traffic */
	char statedir[128];
};

static struct fz fz;

FZ_FN void
fz_sink(struct broker *b, const char *msg, size_t len, void *arg)
{
	struct jspan v;
	const char *why;
	struct jmsg m;

	(void)b;
	(void)arg;
	fz.nmsg++;
	if (fz.debug)
		fprintf(stderr, "host <- %.*s\n", (int)len, msg);
	FZ_ASSERT(memchr(msg, '\n', len) == NULL, "newline in a message to "
	    "the host: %.*s", (int)(len > 300 ? 300 : len), msg);
	FZ_ASSERT(json_check(msg, len, 1000, &v, &why) == 0,
	    "invalid JSON to the host (%s): %.*s", why,
	    (int)(len > 300 ? 300 : len), msg);
	if (json_type(msg, v) != JT_OBJECT)
		return;
	jsonrpc_classify(msg, v, &m);
	if (m.kind == MSG_REQUEST && fz.tohost)
		cJSON_AddItemToArray(fz.tohost,
		    cJSON_ParseWithLength(msg + m.all.off, m.all.len));
}

/* The child's stdin: write what is queued, as upstream.c's in_cb does. */
FZ_FN void
fz_wr_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct child *c = w->data;
	ssize_t n;

	(void)revents;
	while (buf_used(&c->inq) > 0) {
		n = write(c->proc.in, buf_head(&c->inq), buf_used(&c->inq));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			buf_reset(&c->inq);
			break;
		}
		buf_consume(&c->inq, n);
	}
	ev_io_stop(loop, w);
}

FZ_FN void
fz_rmstate(void)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/corral/pins.json", fz.statedir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/corral/consent.json", fz.statedir);
	unlink(p);
}

/* The state directory goes at exit. */
FZ_FN void
fz_cleanup(void)
{
	char p[256];

	fz_rmstate();
	snprintf(p, sizeof(p), "%s/corral", fz.statedir);
	rmdir(p);
	rmdir(fz.statedir);
}

FZ_FN void
fz_init(void)
{
	char *err = NULL;

	snprintf(fz.statedir, sizeof(fz.statedir), "%s/corral-fuzz-%d",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
	    (int)getpid());
	mkdir(fz.statedir, 0700);
	atexit(fz_cleanup);
	setenv("XDG_STATE_HOME", fz.statedir, 1);
	fz.debug = getenv("FUZZ_DEBUG") != NULL;
	unsetenv("DISPLAY");
	unsetenv("WAYLAND_DISPLAY");
	fz.loop = ev_default_loop(EVFLAG_AUTO);
	if (config_parse(fz_config, strlen(fz_config), "/tmp", &fz.cf,
	    &err) < 0) {
		fprintf(stderr, "fuzz: config: %s\n", err);
		abort();
	}
	buf_init(&fz.in, 0);
}

/* Send one line as the child. */
FZ_FN void
fz_child_line(const char *s, size_t n)
{
	if (fz.debug)
		fprintf(stderr, "child -> %.*s\n", (int)n, s);
	if (fz.c->running && fz.c->state != CH_STOPPING)
		broker_child_message(fz.b, fz.c, s, n);
}

FZ_FN void
fz_child_json(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	if (s)
		fz_child_line(s, strlen(s));
	cJSON_free(s);
}

FZ_FN const char *
fz_canned(const char *method)
{
	static const struct {
		const char *m, *r;
	} t[] = {
		{ "initialize", "{\"protocolVersion\":\"2025-11-25\","
		    "\"capabilities\":{\"tools\":{\"listChanged\":true},"
		    "\"prompts\":{\"listChanged\":true},\"resources\":"
		    "{\"subscribe\":true,\"listChanged\":true},\"logging\":{},"
		    "\"completions\":{}},\"serverInfo\":{\"name\":\"fake\","
		    "\"version\":\"1.0\"},\"instructions\":\"A fake server.\"}" },
		{ "tools/list", "{\"tools\":[{\"name\":\"echo\",\"description\":"
		    "\"Echo text\",\"inputSchema\":{\"type\":\"object\","
		    "\"properties\":{\"text\":{\"type\":\"string\"}}}},"
		    "{\"name\":\"add\",\"inputSchema\":{\"type\":\"object\"},"
		    "\"annotations\":{\"readOnlyHint\":true}},"
		    "{\"name\":\"ask_me\",\"inputSchema\":{\"type\":\"object\"}},"
		    "{\"name\":\"deny_me\",\"inputSchema\":{\"type\":\"object\"}},"
		    "{\"name\":\"slow\",\"inputSchema\":{\"type\":\"object\"}}]}" },
		{ "prompts/list", "{\"prompts\":[{\"name\":\"greet\","
		    "\"description\":\"Greets\",\"arguments\":[{\"name\":"
		    "\"who\",\"required\":true}]}]}" },
		{ "resources/list", "{\"resources\":[{\"uri\":\"file:///a.txt\","
		    "\"name\":\"a\",\"mimeType\":\"text/plain\"}]}" },
		{ "resources/templates/list", "{\"resourceTemplates\":[{"
		    "\"uriTemplate\":\"file:///t/{x}\",\"name\":\"t\"}]}" },
		{ "tools/call", "{\"content\":[{\"type\":\"text\",\"text\":"
		    "\"ok\"}]}" },
		{ "resources/read", "{\"contents\":[{\"uri\":\"file:///a.txt\","
		    "\"text\":\"hello\"}]}" },
		{ "prompts/get", "{\"messages\":[{\"role\":\"user\",\"content\":"
		    "{\"type\":\"text\",\"text\":\"hi\"}}]}" },
		{ "completion/complete", "{\"completion\":{\"values\":[\"a\","
		    "\"b\"],\"total\":2,\"hasMore\":false}}" },
		{ NULL, "{}" },
	};
	int i;

	for (i = 0; t[i].m; i++)
		if (strcmp(t[i].m, method) == 0)
			break;
	return t[i].r;
}

/* A member as a last-wins parser (Python, JavaScript, Go) reads it. */
FZ_FN cJSON *
fz_last(const cJSON *obj, const char *key)
{
	cJSON *e, *found = NULL;

	if (!cJSON_IsObject(obj))
		return NULL;
	cJSON_ArrayForEach(e, obj)
		if (e->string && strcmp(e->string, key) == 0)
			found = e;
	return found;
}

/* What the policy of fz_config denies must never reach the child, read
   as the child may read it: tool deny_me, or echo with text
   "forbidden". */
FZ_FN void
fz_check_policy(cJSON *req)
{
	cJSON *params = fz_last(req, "params"), *name, *text, *args;
	char *s;

	name = fz_last(params, "name");
	args = fz_last(params, "arguments");
	text = fz_last(args, "text");
	if (!cJSON_IsString(name))
		return;
	if (strcmp(name->valuestring, "deny_me") == 0 ||
	    (strcmp(name->valuestring, "echo") == 0 && cJSON_IsString(text) &&
	    strcmp(text->valuestring, "forbidden") == 0)) {
		s = cJSON_PrintUnformatted(req);
		FZ_ASSERT(0, "policy bypass: the child got a call the policy "
		    "denies: %.300s", s ? s : "?");
	}
}

/* The scripted child answers one request. */
FZ_FN void
fz_child_answer(cJSON *req)
{
	cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	cJSON *method = cJSON_GetObjectItemCaseSensitive(req, "method");
	cJSON *params = cJSON_GetObjectItemCaseSensitive(req, "params");
	cJSON *ctl = params, *v, *e, *out, *tok;
	char *s;

	if (!cJSON_IsString(method))
		return;
	if (strcmp(method->valuestring, "tools/call") == 0)
		fz_check_policy(req);
	if (id == NULL || !fz.child_auto)
		return;	/* a notification, or the input answers */
	if (strcmp(method->valuestring, "tools/call") == 0 &&
	    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(params,
	    "arguments")))
		ctl = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	if (!cJSON_IsObject(ctl))
		ctl = NULL;
	v = cJSON_GetObjectItemCaseSensitive(ctl, "_script");
	cJSON_ArrayForEach(e, v) {
		if (cJSON_IsString(e))
			fz_child_line(e->valuestring, strlen(e->valuestring));
		else
			fz_child_json(e);
	}
	tok = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(params, "_meta"),
	    "progressToken");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctl, "_progress")) &&
	    tok) {
		int k;

		for (k = 1; k <= 2; k++) {
			out = cJSON_CreateObject();
			cJSON_AddStringToObject(out, "jsonrpc", "2.0");
			cJSON_AddStringToObject(out, "method",
			    "notifications/progress");
			v = cJSON_AddObjectToObject(out, "params");
			cJSON_AddItemToObject(v, "progressToken",
			    cJSON_Duplicate(tok, 1));
			cJSON_AddNumberToObject(v, "progress", k);
			cJSON_AddNumberToObject(v, "total", 2);
			fz_child_json(out);
			cJSON_Delete(out);
		}
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctl, "_noreply")))
		return;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "jsonrpc", "2.0");
	cJSON_AddItemToObject(out, "id", cJSON_Duplicate(id, 1));
	if ((v = cJSON_GetObjectItemCaseSensitive(ctl, "_error")))
		cJSON_AddItemToObject(out, "error", cJSON_Duplicate(v, 1));
	else if ((v = cJSON_GetObjectItemCaseSensitive(ctl, "_result")))
		cJSON_AddItemToObject(out, "result", cJSON_Duplicate(v, 1));
	else if (strcmp(method->valuestring, "tools/call") == 0 && ctl) {
		v = cJSON_Parse(fz_canned("tools/call"));
		cJSON_AddItemToObject(v, "structuredContent",
		    cJSON_Duplicate(ctl, 1));
		cJSON_AddItemToObject(out, "result", v);
	} else if ((s = (char *)fz_canned(method->valuestring)) &&
	    strcmp(s, "{}") == 0 && strcmp(method->valuestring, "ping") &&
	    strncmp(method->valuestring, "resources/", 10) &&
	    strcmp(method->valuestring, "logging/setLevel")) {
		v = cJSON_CreateObject();
		cJSON_AddNumberToObject(v, "code", RPC_METHOD_NOT_FOUND);
		cJSON_AddStringToObject(v, "message", "method not found");
		cJSON_AddItemToObject(out, "error", v);
	} else
		cJSON_AddItemToObject(out, "result", cJSON_Parse(s));
	fz_child_json(out);
	cJSON_Delete(out);
}

/* Read what the broker wrote to the child; answer complete lines.
   Returns how many lines were handled. */
FZ_FN int
fz_child_pump(void)
{
	char tmp[65536], *p, *nl;
	ssize_t n;
	int lines = 0;
	cJSON *j;

	while ((n = read(fz.rd, tmp, sizeof(tmp))) > 0)
		buf_add(&fz.in, tmp, n);
	while (buf_used(&fz.in) > 0 && (p = buf_head(&fz.in)) != NULL &&
	    (nl = memchr(p, '\n', buf_used(&fz.in))) != NULL) {
		size_t len = nl - p;
		char *line = xstrndup(p, len);

		buf_consume(&fz.in, len + 1);
		lines++;
		if (fz.debug)
			fprintf(stderr, "child <- %s\n", line);
		{
			struct jspan v;
			const char *why;

			FZ_ASSERT(json_check(line, len, 1000, &v, &why) == 0,
			    "broker sent the child invalid JSON (%s): %.300s",
			    why, line);
		}
		/* cJSON refuses some valid JSON (lone surrogate escapes):
		   such a request is left unanswered. */
		if ((j = cJSON_ParseWithLength(line, len)) != NULL)
			fz_child_answer(j);
		cJSON_Delete(j);
		free(line);
	}
	return lines;
}

/* The host answers the broker's requests (elicitation, sampling, roots,
   ping) with canned results. */
FZ_FN int
fz_host_pump(void)
{
	cJSON *q, *id, *m, *out, *r;
	char *s;
	int n = 0;

	while (fz.tohost && (q = cJSON_DetachItemFromArray(fz.tohost, 0))) {
		n++;
		id = cJSON_GetObjectItemCaseSensitive(q, "id");
		m = cJSON_GetObjectItemCaseSensitive(q, "method");
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "jsonrpc", "2.0");
		cJSON_AddItemToObject(out, "id", cJSON_Duplicate(id, 1));
		if (cJSON_IsString(m) && strcmp(m->valuestring,
		    "sampling/createMessage") == 0)
			r = cJSON_Parse("{\"role\":\"assistant\",\"content\":"
			    "{\"type\":\"text\",\"text\":\"hi\"},\"model\":"
			    "\"m\"}");
		else if (cJSON_IsString(m) && strcmp(m->valuestring,
		    "elicitation/create") == 0)
			r = cJSON_Parse("{\"action\":\"accept\",\"content\":"
			    "{\"answer\":\"once\"}}");
		else if (cJSON_IsString(m) && strcmp(m->valuestring,
		    "roots/list") == 0)
			r = cJSON_Parse("{\"roots\":[{\"uri\":\"file:///tmp\"}]}");
		else
			r = cJSON_CreateObject();
		cJSON_AddItemToObject(out, "result", r);
		s = cJSON_PrintUnformatted(out);
		broker_host_message(fz.b, s, strlen(s));
		cJSON_free(s);
		cJSON_Delete(out);
		cJSON_Delete(q);
	}
	return n;
}

/* Time passes for a one-shot timer that is running: it fires on the
   next loop turn. */
FZ_FN void
fz_fire(ev_timer *w)
{
	if (ev_is_active(w)) {
		ev_timer_stop(fz.loop, w);
		ev_feed_event(fz.loop, w, EV_TIMER);
	}
}

/* Time runs out for every host request still waiting (their hard
   deadline fires). */
FZ_FN void
fz_timeouts(void)
{
	struct map_ent *e;
	size_t it;
	ev_timer *t[256];
	int n = 0, i;

	for (e = map_first(&fz.b->hreqs, &it); e && n < 256;
	    e = map_next(&fz.b->hreqs, &it, e))
		t[n++] = &((struct hreq *)e->val)->hard;
	for (i = 0; i < n; i++)
		fz_fire(t[i]);
}

/* Let answers flow: the child, the loop and (when host_auto) the host.
   The debounce timers (list_changed) fire without waiting. */
FZ_FN void
fz_pump(int host_auto)
{
	int i, k;

	for (i = 0; i < 32; i++) {
		if (fz.b) {
			fz_fire(&fz.b->list_timer);
			fz_fire(&fz.c->relist_timer);
		}
		/* A loop turn writes what was queued for the child. */
		ev_run(fz.loop, EVRUN_NOWAIT);
		k = fz_child_pump();
		if (host_auto)
			k += fz_host_pump();
		else if (fz.tohost)
			while (cJSON_GetArraySize(fz.tohost) > 0)
				cJSON_DeleteItemFromArray(fz.tohost, 0);
		if (k == 0)
			break;
	}
}

FZ_FN void
fz_host_send(const char *s)
{
	if (fz.debug)
		fprintf(stderr, "host -> %s\n", s);
	broker_host_message(fz.b, s, strlen(s));
}

/* A new broker whose child is up; protocol is the host's version, or
   NULL to leave the session uninitialized. */
FZ_FN void
fz_begin(const char *protocol, int child_auto)
{
	int p[2];
	char init[512];

	fz_rmstate();
	fz.nmsg = 0;
	fz.tohost = cJSON_CreateArray();
	fz.child_auto = 1;
	buf_reset(&fz.in);
	fz.b = broker_new(fz.loop, fz.cf, fz_sink, NULL);
	fz.b->quiet = 1;
	fz.c = &fz.b->children[0];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		perror("pipe2");
		abort();
	}
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	fz.rd = p[0];
	fz.c->proc.in = p[1];
	fz.c->proc.out = fz.c->proc.err = -1;
	fz.c->running = 1;
	fz.c->gen = 1;
	fz.c->spawned_at = mono_now();
	ev_io_init(&fz.c->wr, fz_wr_cb, p[1], EV_WRITE);
	fz.c->wr.data = fz.c;
	fz.c->state = CH_SPAWNED;
	if (protocol == NULL)
		return;
	snprintf(init, sizeof(init), "{\"jsonrpc\":\"2.0\",\"id\":\"init\","
	    "\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
	    "\"%s\",\"capabilities\":{\"roots\":{\"listChanged\":true},"
	    "\"sampling\":{},\"elicitation\":{}},\"clientInfo\":{\"name\":"
	    "\"fuzz\",\"version\":\"1\"}}}", protocol);
	fz_host_send(init);
	fz_pump(0);
	FZ_ASSERT(fz.c->state == CH_READY, "scripted child not ready: %s",
	    child_state_name(fz.c->state));
	FZ_ASSERT(fz.b->answered, "initialize not answered");
	fz_host_send("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}");
	fz_pump(0);
	fz.child_auto = child_auto;
}


FZ_FN void
fz_end(void)
{
	int active;

	fz_pump(0);
	ev_io_stop(fz.loop, &fz.c->wr);
	if (fz.c->proc.in >= 0)
		close(fz.c->proc.in);
	fz.c->proc.in = -1;
	close(fz.rd);
	fz.c->running = 0;
	broker_free(fz.b);
	fz.b = NULL;
	fz.c = NULL;
	cJSON_Delete(fz.tohost);
	fz.tohost = NULL;
	/* Nothing of the broker may be left on the loop. */
	active = ev_run(fz.loop, EVRUN_NOWAIT);
	FZ_ASSERT(!active, "a watcher is still active after broker_free");
}

#endif
