/*
 * fakelib — shared plumbing for the fake MCP child servers.  See fakelib.h.
 */
#include "tests/servers/fakelib.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LATEST_VERSION "2025-11-25"

struct method {
	char *name;
	fake_method_fn fn;
};

struct tool {
	cJSON *def;
	fake_tool_fn fn;
};

struct pending {
	int id;
	fake_response_fn cb;
	cJSON *ctx;
	struct pending *next;
};

struct timer {
	int id;
	long long due;
	fake_timer_fn fn;
	void *arg;
	void (*free_arg)(void *);
	struct timer *next;
};

struct slow {
	cJSON *id;
	cJSON *token;
	int ms;
	int steps;
	int k;
	int timer;
	struct slow *next;
};

static const char *server_name = "fake";
static const char *instructions;
static const char *force_version;
static int delay_init_ms;
static int ignore_eof;
static int log_fd = -1;
static int stdout_dead;
static cJSON *caps;
static struct method *methods;
static size_t nmethods;
static struct tool *tools;
static size_t ntools;
static struct pending *pendings;
static int next_request_id;
static fake_response_fn stray_cb;
static struct timer *timers;
static int next_timer_id = 1;
static struct slow *slows;
static fake_writer_fn writer;
static char *lbuf;
static size_t llen, lcap;

static const char *const versions[] = {
	"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25",
};

/* ---- small utilities ---- */

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fake_log("out of memory");
		abort();
	}
	return p;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (fd == STDOUT_FILENO)
				stdout_dead = 1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void
free_json(void *p)
{
	cJSON_Delete(p);
}

const char *
fake_name(void)
{
	return server_name;
}

void
fake_log(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n, m;

	n = snprintf(buf, sizeof(buf), "%s: ", server_name);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	write_all(STDERR_FILENO, buf, (size_t)n);
}

void
fake_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- building and reading JSON ---- */

cJSON *
fake_json(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	if (j == NULL) {
		fake_log("bad built-in JSON: %s", text);
		abort();
	}
	return j;
}

cJSON *
fake_text(const char *text)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *content = cJSON_AddArrayToObject(r, "content");
	cJSON *item = cJSON_CreateObject();

	cJSON_AddStringToObject(item, "type", "text");
	cJSON_AddStringToObject(item, "text", text);
	cJSON_AddItemToArray(content, item);
	return r;
}

cJSON *
fake_textf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	cJSON *r;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	r = fake_text(s ? s : "");
	free(s);
	return r;
}

/* Compact JSON of item (or "null"); free() the result. */
char *
fake_print(const cJSON *item)
{
	char *s = item ? cJSON_PrintUnformatted(item) : NULL;

	return s ? s : strdup("null");
}

const char *
fake_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
fake_num(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const cJSON *
fake_progress_token(const cJSON *params)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");

	return cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
}

/* ---- sending ---- */

void
fake_write_raw(const char *buf, size_t len)
{
	if (!stdout_dead)
		write_all(STDOUT_FILENO, buf, len);
}

static void
default_writer(const char *json, size_t len)
{
	char *line = xmalloc(len + 1);

	memcpy(line, json, len);
	line[len] = '\n';
	fake_write_raw(line, len + 1);
	free(line);
}

void
fake_set_writer(fake_writer_fn fn)
{
	writer = fn;
}

void
fake_send(cJSON *msg)
{
	char *s = cJSON_PrintUnformatted(msg);

	cJSON_Delete(msg);
	if (s == NULL)
		return;
	(writer ? writer : default_writer)(s, strlen(s));
	free(s);
}

static cJSON *
new_message(const cJSON *id)
{
	cJSON *msg = cJSON_CreateObject();

	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	if (id != NULL)
		cJSON_AddItemToObject(msg, "id", cJSON_Duplicate(id, 1));
	return msg;
}

static cJSON *
new_result(const cJSON *id, cJSON *result)
{
	cJSON *msg = new_message(id);

	cJSON_AddItemToObject(msg, "result",
	    result ? result : cJSON_CreateObject());
	return msg;
}

void
fake_result(const cJSON *id, cJSON *result)
{
	fake_send(new_result(id, result));
}

void
fake_error(const cJSON *id, int code, const char *message, cJSON *data)
{
	cJSON *msg = new_message(NULL);
	cJSON *err = cJSON_CreateObject();

	cJSON_AddItemToObject(msg, "id",
	    id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
	cJSON_AddNumberToObject(err, "code", code);
	cJSON_AddStringToObject(err, "message", message);
	if (data != NULL)
		cJSON_AddItemToObject(err, "data", data);
	cJSON_AddItemToObject(msg, "error", err);
	fake_send(msg);
}

void
fake_notify(const char *method, cJSON *params)
{
	cJSON *msg = new_message(NULL);

	cJSON_AddStringToObject(msg, "method", method);
	if (params != NULL)
		cJSON_AddItemToObject(msg, "params", params);
	fake_send(msg);
}

void
fake_progress(const cJSON *token, double progress, double total,
    const char *message)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddItemToObject(p, "progressToken", cJSON_Duplicate(token, 1));
	cJSON_AddNumberToObject(p, "progress", progress);
	if (total > 0)
		cJSON_AddNumberToObject(p, "total", total);
	if (message != NULL)
		cJSON_AddStringToObject(p, "message", message);
	fake_notify("notifications/progress", p);
}

/* Sends a request of our own; returns its id (0, 1, 2, ...). */
int
fake_request(const char *method, cJSON *params, fake_response_fn cb,
    const cJSON *ctx)
{
	struct pending *p = xmalloc(sizeof(*p));
	cJSON *msg = new_message(NULL);

	p->id = next_request_id++;
	p->cb = cb;
	p->ctx = ctx ? cJSON_Duplicate(ctx, 1) : NULL;
	p->next = pendings;
	pendings = p;
	cJSON_AddNumberToObject(msg, "id", p->id);
	cJSON_AddStringToObject(msg, "method", method);
	if (params != NULL)
		cJSON_AddItemToObject(msg, "params", params);
	fake_send(msg);
	return p->id;
}

static struct pending *
pending_take(int id)
{
	struct pending **pp, *p;

	for (pp = &pendings; (p = *pp) != NULL; pp = &p->next) {
		if (p->id == id) {
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

static void
pending_free(struct pending *p)
{
	cJSON_Delete(p->ctx);
	free(p);
}

void
fake_request_forget(int id)
{
	struct pending *p = pending_take(id);

	if (p != NULL)
		pending_free(p);
}

void
fake_on_stray_response(fake_response_fn fn)
{
	stray_cb = fn;
}

/* ---- timers ---- */

int
fake_timer(int ms, fake_timer_fn fn, void *arg, void (*free_arg)(void *))
{
	struct timer *t = xmalloc(sizeof(*t)), **tp;

	t->id = next_timer_id++;
	t->due = now_ms() + (ms > 0 ? ms : 0);
	t->fn = fn;
	t->arg = arg;
	t->free_arg = free_arg;
	for (tp = &timers; *tp != NULL && (*tp)->due <= t->due;
	    tp = &(*tp)->next)
		;
	t->next = *tp;
	*tp = t;
	return t->id;
}

void
fake_timer_cancel(int tid)
{
	struct timer **tp, *t;

	for (tp = &timers; (t = *tp) != NULL; tp = &t->next) {
		if (t->id == tid) {
			*tp = t->next;
			if (t->free_arg != NULL)
				t->free_arg(t->arg);
			free(t);
			return;
		}
	}
}

static void
run_timers(void)
{
	long long now = now_ms();
	struct timer *t;

	while ((t = timers) != NULL && t->due <= now) {
		timers = t->next;
		t->fn(t->arg);
		free(t);
	}
}

static int
poll_timeout(void)
{
	long long d;

	if (timers == NULL)
		return -1;
	d = timers->due - now_ms();
	if (d < 0)
		return 0;
	return d > INT_MAX ? INT_MAX : (int)d;
}

/* ---- method and tool registries ---- */

static struct method *
method_find(const char *name)
{
	size_t i;

	for (i = 0; i < nmethods; i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

void
fake_on(const char *method, fake_method_fn fn)
{
	struct method *m = method_find(method);

	if (m == NULL) {
		methods = realloc(methods, (nmethods + 1) * sizeof(*methods));
		if (methods == NULL)
			abort();
		m = &methods[nmethods++];
		m->name = strdup(method);
	}
	m->fn = fn;
}

static void
on_default(const char *method, fake_method_fn fn)
{
	if (method_find(method) == NULL)
		fake_on(method, fn);
}

void
fake_ignore(const cJSON *id, const cJSON *params)
{
	(void)id;
	(void)params;
}

void
fake_set_caps(cJSON *c)
{
	cJSON_Delete(caps);
	caps = c;
}

static void
tools_list(const cJSON *id, const cJSON *params)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(r, "tools");
	size_t i;

	(void)params;
	for (i = 0; i < ntools; i++)
		cJSON_AddItemToArray(arr, cJSON_Duplicate(tools[i].def, 1));
	fake_result(id, r);
}

static void
tools_call(const cJSON *id, const cJSON *params)
{
	const char *name = fake_str(params, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params,
	    "arguments");
	cJSON *empty = NULL;
	size_t i;

	if (!cJSON_IsObject(args))
		args = empty = cJSON_CreateObject();
	for (i = 0; name != NULL && i < ntools; i++) {
		if (strcmp(fake_str(tools[i].def, "name"), name) == 0) {
			if (tools[i].fn != NULL)	/* NULL: never answer */
				tools[i].fn(id, params, args);
			break;
		}
	}
	if (name == NULL || i == ntools) {
		char msg[300];

		snprintf(msg, sizeof(msg), "Unknown tool: %s",
		    name ? name : "(none)");
		fake_error(id, -32602, msg, NULL);
	}
	cJSON_Delete(empty);
}

/* Adds a tool; returns its definition so callers can add fields. */
cJSON *
fake_add_tool(const char *name, const char *description,
    const char *input_schema, fake_tool_fn fn)
{
	cJSON *def = cJSON_CreateObject();

	cJSON_AddStringToObject(def, "name", name);
	if (description != NULL)
		cJSON_AddStringToObject(def, "description", description);
	cJSON_AddItemToObject(def, "inputSchema",
	    fake_json(input_schema ? input_schema : "{\"type\":\"object\"}"));
	tools = realloc(tools, (ntools + 1) * sizeof(*tools));
	if (tools == NULL)
		abort();
	tools[ntools].def = def;
	tools[ntools].fn = fn;
	ntools++;
	on_default("tools/list", tools_list);
	on_default("tools/call", tools_call);
	return def;
}

/* ---- the shared slow tool ---- */

static int
slow_interval(const struct slow *s)
{
	return s->token && s->steps > 0 ? s->ms / s->steps : s->ms;
}

static void
slow_free(void *arg)
{
	struct slow *s = arg, **sp;

	for (sp = &slows; *sp != NULL; sp = &(*sp)->next) {
		if (*sp == s) {
			*sp = s->next;
			break;
		}
	}
	cJSON_Delete(s->id);
	cJSON_Delete(s->token);
	free(s);
}

static void
slow_tick(void *arg)
{
	struct slow *s = arg;
	char msg[32];

	if (s->token != NULL && s->steps > 0) {
		s->k++;
		snprintf(msg, sizeof(msg), "step %d", s->k);
		fake_progress(s->token, s->k, s->steps, msg);
		if (s->k < s->steps) {
			s->timer = fake_timer(slow_interval(s), slow_tick, s,
			    slow_free);
			return;
		}
	}
	fake_result(s->id, fake_textf("slept %d ms", s->ms));
	slow_free(s);
}

void
fake_tool_slow(const cJSON *id, const cJSON *params, const cJSON *args)
{
	struct slow *s = xmalloc(sizeof(*s));
	const cJSON *token = fake_progress_token(params);

	s->id = cJSON_Duplicate(id, 1);
	s->token = token ? cJSON_Duplicate(token, 1) : NULL;
	s->ms = (int)fake_num(args, "ms", 1000);
	s->steps = (int)fake_num(args, "steps", 5);
	if (s->ms < 0)
		s->ms = 0;
	s->k = 0;
	s->next = slows;
	slows = s;
	s->timer = fake_timer(slow_interval(s), slow_tick, s, slow_free);
}

/* Stops the slow call with that request id; returns 1 if there was one. */
int
fake_slow_cancel(const cJSON *request_id)
{
	struct slow *s;

	if (request_id == NULL)
		return 0;
	for (s = slows; s != NULL; s = s->next) {
		if (cJSON_Compare(s->id, request_id, 1)) {
			fake_timer_cancel(s->timer);
			return 1;
		}
	}
	return 0;
}

/* ---- built-in methods ---- */

static const char *
pick_version(const cJSON *params)
{
	const char *want = fake_str(params, "protocolVersion");
	size_t i;

	if (force_version != NULL)
		return force_version;
	for (i = 0; want != NULL && i < sizeof(versions) / sizeof(*versions);
	    i++)
		if (strcmp(want, versions[i]) == 0)
			return want;
	return LATEST_VERSION;
}

static void
send_later(void *msg)
{
	fake_send(msg);
}

static void
do_initialize(const cJSON *id, const cJSON *params)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *info;

	cJSON_AddStringToObject(r, "protocolVersion", pick_version(params));
	cJSON_AddItemToObject(r, "capabilities",
	    caps ? cJSON_Duplicate(caps, 1) : cJSON_CreateObject());
	info = cJSON_AddObjectToObject(r, "serverInfo");
	cJSON_AddStringToObject(info, "name", server_name);
	cJSON_AddStringToObject(info, "version", "1.0.0");
	if (instructions != NULL)
		cJSON_AddStringToObject(r, "instructions", instructions);
	if (delay_init_ms > 0)
		fake_timer(delay_init_ms, send_later, new_result(id, r),
		    free_json);
	else
		fake_result(id, r);
}

static void
do_ping(const cJSON *id, const cJSON *params)
{
	(void)params;
	fake_result(id, NULL);
}

/* ---- set-up ---- */

static int
common_flag(const char *flag, const char *arg)
{
	if (strcmp(flag, "--name") == 0)
		server_name = arg;
	else if (strcmp(flag, "--instructions") == 0)
		instructions = arg;
	else if (strcmp(flag, "--version") == 0)
		force_version = arg;
	else if (strcmp(flag, "--delay-init") == 0)
		delay_init_ms = atoi(arg);
	else if (strcmp(flag, "--ignore-term") == 0) {
		/* Survive the whole close-stdin, SIGTERM, SIGKILL sequence. */
		signal(SIGTERM, SIG_IGN);
		ignore_eof = 1;
		return 1;
	} else if (strcmp(flag, "--ignore-eof") == 0) {
		ignore_eof = 1;
		return 1;
	} else
		return 0;
	return 2;
}

static void
parse_flags(int argc, char **argv, fake_flag_fn flags)
{
	int i, used;

	for (i = 1; i < argc; i++) {
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

		used = common_flag(argv[i], arg ? arg : "");
		if (used == 0 && flags != NULL)
			used = flags(argv[i], arg ? arg : "");
		if (used == 0) {
			fake_log("unknown flag %s", argv[i]);
			exit(2);
		}
		if (used == 2 && arg == NULL) {
			fake_log("%s needs an argument", argv[i]);
			exit(2);
		}
		i += used - 1;
	}
}

static void
write_pidfile(void)
{
	const char *path = getenv("FAKE_PIDFILE");
	char buf[32];
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fake_log("cannot write %s", path);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	write_all(fd, buf, (size_t)n);
	close(fd);
}

void
fake_init(int argc, char **argv, const char *name, fake_flag_fn flags)
{
	const char *log = getenv("FAKE_LOG");

	server_name = name;
	signal(SIGPIPE, SIG_IGN);
	parse_flags(argc, argv, flags);
	if (log != NULL && *log != '\0')
		log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
	write_pidfile();
	fake_on("initialize", do_initialize);
	fake_on("ping", do_ping);
	fake_log("started");
}

/* ---- the main loop ---- */

static void
handle_response(const cJSON *msg, const cJSON *id)
{
	struct pending *p = NULL;

	if (cJSON_IsNumber(id))
		p = pending_take(id->valueint);
	if (p == NULL) {
		if (stray_cb != NULL)
			stray_cb(msg, NULL);
		return;
	}
	if (p->cb != NULL)
		p->cb(msg, p->ctx);
	pending_free(p);
}

static void
dispatch(const cJSON *msg)
{
	const cJSON *method, *id, *params;
	struct method *m;

	if (!cJSON_IsObject(msg)) {
		fake_log("ignoring a non-object message");
		return;
	}
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	if (cJSON_IsString(method)) {
		m = method_find(method->valuestring);
		if (id == NULL) {
			if (m != NULL)
				m->fn(NULL, params);
		} else if (m != NULL || (m = method_find("*")) != NULL)
			m->fn(id, params);
		else
			fake_error(id, -32601, "Method not found", NULL);
		return;
	}
	if (id != NULL && (cJSON_HasObjectItem(msg, "result") ||
	    cJSON_HasObjectItem(msg, "error")))
		handle_response(msg, id);
	else if (id != NULL)
		fake_error(id, -32600, "Invalid Request", NULL);
}

static void
handle_line(char *line, size_t len)
{
	cJSON *msg;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (log_fd >= 0) {
		line[len] = '\n';
		write_all(log_fd, line, len + 1);
		line[len] = '\0';
	}
	if (len == 0)
		return;
	msg = cJSON_ParseWithLength(line, len);
	if (msg == NULL) {
		fake_log("ignoring a line that is not JSON");
		return;
	}
	dispatch(msg);
	cJSON_Delete(msg);
}

/* Reads what is available; returns 0 at end of input. */
static int
read_input(void)
{
	char *nl, *start;
	ssize_t n;

	if (lcap - llen < 65536) {
		lcap = lcap ? lcap * 2 : 131072;
		lbuf = realloc(lbuf, lcap);
		if (lbuf == NULL)
			abort();
	}
	n = read(STDIN_FILENO, lbuf + llen, lcap - llen - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0) {
		if (llen > 0)
			handle_line(lbuf, llen);
		llen = 0;
		return 0;
	}
	llen += (size_t)n;
	start = lbuf;
	while ((nl = memchr(start, '\n', llen - (size_t)(start - lbuf)))) {
		*nl = '\0';
		handle_line(start, (size_t)(nl - start));
		start = nl + 1;
	}
	llen -= (size_t)(start - lbuf);
	memmove(lbuf, start, llen);
	return 1;
}

static void
cleanup(void)
{
	struct timer *t;
	struct pending *p;
	size_t i;

	while ((t = timers) != NULL) {
		timers = t->next;
		if (t->free_arg != NULL)
			t->free_arg(t->arg);
		free(t);
	}
	while ((p = pendings) != NULL) {
		pendings = p->next;
		pending_free(p);
	}
	for (i = 0; i < nmethods; i++)
		free(methods[i].name);
	free(methods);
	for (i = 0; i < ntools; i++)
		cJSON_Delete(tools[i].def);
	free(tools);
	cJSON_Delete(caps);
	free(lbuf);
	if (log_fd >= 0)
		close(log_fd);
	methods = NULL;
	tools = NULL;
	caps = NULL;
	lbuf = NULL;
	nmethods = ntools = llen = lcap = 0;
}

/* Serves until stdin ends; returns the exit status for main. */
int
fake_run(void)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	for (;;) {
		run_timers();
		if (poll(&pfd, 1, poll_timeout()) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0 || read_input())
			continue;
		if (!ignore_eof)
			break;
		fake_log("stdin closed; staying alive");
		pfd.fd = -1;	/* poll() now only waits for timers */
	}
	cleanup();
	return 0;
}
