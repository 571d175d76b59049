/* The in-process host behind `corral tools` and `corral call`: the same
   broker as `serve`, with messages handed over in memory. */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/broker.h"
#include "core/jsonrpc.h"
#include "core/util.h"

struct cli {
	struct broker *b;
	struct ev_loop *loop;
	int step;		/* 0: initialize sent, 1: list sent, 2: call */
	const char *method;
	cJSON *params;
	const char *name;	/* call: the tool; tools/list first */
	cJSON *(*build)(const cJSON *, void *);
	void *arg;
	cJSON *list;		/* tools/list response, for build */
	cJSON *inbox;		/* responses not yet handled */
	cJSON *response;
	void (*inspect)(struct broker *, void *);
	ev_timer next;
	ev_timer spin;
	int spun;
	int tty;
};

static void
send_msg(struct cli *c, int id, const char *method, cJSON *params)
{
	char *s = jsonrpc_message(method, params, id);

	broker_host_message(c->b, s, strlen(s));
	cJSON_free(s);
}

static void
clear_spin(struct cli *c)
{
	if (c->spun) {
		fputs("\r\033[K", stderr);
		c->spun = 0;
	}
}

/* Messages from the broker arrive here; act on them on the next turn so
   the broker is never re-entered from its own callback. */
static void
sink(struct broker *b, const char *msg, size_t len, void *arg)
{
	struct cli *c = arg;
	cJSON *m = cJSON_ParseWithLength(msg, len), *v, *p;

	(void)b;
	if (m == NULL)
		return;
	if ((v = cJSON_GetObjectItemCaseSensitive(m, "method")) &&
	    cJSON_IsString(v)) {
		p = cJSON_GetObjectItemCaseSensitive(m, "params");
		if (strcmp(v->valuestring, "notifications/progress") == 0 &&
		    c->tty) {
			cJSON *pr = cJSON_GetObjectItemCaseSensitive(p,
			    "progress");
			cJSON *tot = cJSON_GetObjectItemCaseSensitive(p,
			    "total");
			cJSON *ms = cJSON_GetObjectItemCaseSensitive(p,
			    "message");

			fprintf(stderr, "\r\033[Kprogress %g", cJSON_IsNumber(
			    pr) ? pr->valuedouble : 0);
			if (cJSON_IsNumber(tot))
				fprintf(stderr, "/%g", tot->valuedouble);
			if (cJSON_IsString(ms))
				fprintf(stderr, " %s", ms->valuestring);
			c->spun = 1;
		} else if (strcmp(v->valuestring, "notifications/message") ==
		    0) {
			char *s = cJSON_PrintUnformatted(
			    cJSON_GetObjectItemCaseSensitive(p, "data"));
			cJSON *lg = cJSON_GetObjectItemCaseSensitive(p,
			    "logger");

			clear_spin(c);
			logmsg("log %s: %s", cJSON_IsString(lg) ?
			    lg->valuestring : "-", s ? s : "");
			cJSON_free(s);
		}
		/* Requests from children: this host declared no
		   capabilities, so the broker never forwards any. */
		cJSON_Delete(m);
		return;
	}
	if (c->inbox == NULL)
		c->inbox = cJSON_CreateArray();
	cJSON_AddItemToArray(c->inbox, m);
	ev_timer_start(c->loop, &c->next);
}

static void
next_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cli *c = w->data;
	cJSON *m, *params;

	(void)loop;
	(void)revents;
	while (c->inbox && (m = cJSON_DetachItemFromArray(c->inbox, 0))) {
		if (c->step == 0) {
			cJSON_Delete(m);
			clear_spin(c);
			ev_timer_stop(c->loop, &c->spin);
			send_msg(c, -1, "notifications/initialized", NULL);
			if (c->name) {
				c->step = 1;
				send_msg(c, 2, "tools/list", NULL);
			} else {
				c->step = 2;
				send_msg(c, 3, c->method, c->params);
				c->params = NULL;
			}
		} else if (c->step == 1) {
			c->list = m;
			params = c->build(m, c->arg);
			if (params == NULL) {
				c->response = NULL;
				broker_shutdown(c->b);
				return;
			}
			c->step = 2;
			send_msg(c, 3, c->method, params);
		} else {
			c->response = m;
			clear_spin(c);
			if (c->inspect)
				c->inspect(c->b, c->arg);
			broker_shutdown(c->b);
			return;
		}
	}
}

static void
spin_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	static const char frames[] = "|/-\\";
	static int f;
	struct cli *c = w->data;
	int n = broker_starting(c->b);

	(void)loop;
	(void)revents;
	if (n == 0)
		return;
	fprintf(stderr, "\r\033[K%c starting %d server%s", frames[f++ % 4], n,
	    n == 1 ? "" : "s");
	c->spun = 1;
}

static cJSON *
run(struct config *cf, const char *method, cJSON *params, const char *name,
    cJSON *(*build)(const cJSON *, void *), void *arg, cJSON **list,
    void (*inspect)(struct broker *, void *))
{
	struct cli c;
	cJSON *init, *caps, *info;
	double wait = 0;
	int i;

	memset(&c, 0, sizeof(c));
	c.loop = ev_default_loop(EVFLAG_AUTO);
	c.method = method;
	c.params = params;
	c.name = name;
	c.build = build;
	c.arg = arg;
	c.inspect = inspect;
	c.tty = isatty(STDERR_FILENO);
	/* By hand, wait for every server rather than the host's deadline. */
	for (i = 0; i < cf->nservers; i++)
		if (cf->servers[i].t_start > wait)
			wait = cf->servers[i].t_start;
	if (wait > 0)
		cf->t_initialize = wait + 1;
	c.b = broker_new(c.loop, cf, sink, &c);
	c.b->quiet = 1;
	ev_timer_init(&c.next, next_cb, 0, 0);
	c.next.data = &c;
	ev_timer_init(&c.spin, spin_cb, 0.1, 0.1);
	c.spin.data = &c;
	if (c.tty)
		ev_timer_start(c.loop, &c.spin);
	broker_start(c.b);
	init = cJSON_CreateObject();
	cJSON_AddStringToObject(init, "protocolVersion", "2025-11-25");
	caps = cJSON_AddObjectToObject(init, "capabilities");
	(void)caps;
	info = cJSON_AddObjectToObject(init, "clientInfo");
	cJSON_AddStringToObject(info, "name", "corral-cli");
	cJSON_AddStringToObject(info, "version", "1");
	send_msg(&c, 1, "initialize", init);
	broker_run(c.b);
	ev_timer_stop(c.loop, &c.next);
	ev_timer_stop(c.loop, &c.spin);
	clear_spin(&c);
	broker_free(c.b);
	cJSON_Delete(c.inbox);
	cJSON_Delete(c.params);
	if (list)
		*list = c.list;
	else
		cJSON_Delete(c.list);
	return c.response;
}

cJSON *
cli_roundtrip(struct config *cf, const char *method, cJSON *params)
{
	return run(cf, method, params, NULL, NULL, NULL, NULL, NULL);
}

cJSON *
cli_inspect(struct config *cf, void (*inspect)(struct broker *, void *),
    void *arg)
{
	return run(cf, "tools/list", NULL, NULL, NULL, arg, NULL, inspect);
}

cJSON *
cli_tools_then(struct config *cf, const char *name,
    cJSON *(*build)(const cJSON *, void *), void *arg, cJSON **response)
{
	cJSON *list = NULL;

	*response = run(cf, "tools/call", NULL, name, build, arg, &list, NULL);
	return list;
}
