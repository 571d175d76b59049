/* The status document of a running broker, for `corral status`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/consent.h"
#include "core/status.h"
#include "core/util.h"

/* The word for a server's state (static text). */
static const char *
state_word(const struct broker *b, int child)
{
	const struct child *c = &b->children[child];

	if (c->conf->disabled)
		return "disabled";
	switch (c->state) {
	case CH_SPAWNED:
	case CH_INIT:
	case CH_LISTING:
		return "starting";
	case CH_READY:
		return "running";
	case CH_BACKOFF:
		return "restarting";
	case CH_FAILED:
		return "failed";
	case CH_STOPPING:
		return "stopping";
	case CH_LAZY:
		return "lazy";
	case CH_QUEUED:
		return "queued";
	case CH_IDLE:
		break;
	}
	return "stopped";
}

/* Whole seconds since a mono_now() time. */
static double
seconds_since(double t)
{
	double d = mono_now() - t;

	return d > 0 ? floor(d) : 0;
}

/* When the broker started, as UTC ISO 8601: wall clock now less its
   uptime on the monotonic clock. */
static void
started_text(const struct broker *b, char *out, size_t n)
{
	time_t t = time(NULL) - (time_t)(mono_now() - b->t0);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Why a server is not running: what stopped it and how it ended. */
static char *
reason_text(const struct child *c)
{
	if (c->fail_reason && c->last_exit && !c->conf->remote)
		return xasprintf("%s (%s)", c->fail_reason, c->last_exit);
	if (c->fail_reason)
		return xstrdup(c->fail_reason);
	return c->last_exit ? xstrdup(c->last_exit) : NULL;
}

static cJSON *
server_entry(struct broker *b, int i)
{
	struct child *c = &b->children[i];
	const char *state = state_word(b, i);
	cJSON *s = cJSON_CreateObject(), *t;
	char *why;
	int k;

	cJSON_AddStringToObject(s, "alias", c->conf->alias);
	cJSON_AddStringToObject(s, "state", state);
	cJSON_AddStringToObject(s, "transport", !c->conf->remote ? "stdio" :
	    c->conf->legacy_sse ? "sse" : "http");
	if (c->running && !c->conf->remote && c->proc.pid > 0)
		cJSON_AddNumberToObject(s, "pid", c->proc.pid);
	else
		cJSON_AddNullToObject(s, "pid");
	if (c->conf->remote && c->conf->url)
		cJSON_AddStringToObject(s, "url", c->conf->url);
	if (c->running)
		cJSON_AddNumberToObject(s, "uptime_s",
		    seconds_since(c->spawned_at));
	else
		cJSON_AddNullToObject(s, "uptime_s");
	cJSON_AddNumberToObject(s, "restarts", c->gen > 1 ? c->gen - 1 : 0);
	cJSON_AddNumberToObject(s, "calls", (double)c->calls);
	cJSON_AddNumberToObject(s, "inflight", c->inflight);
	/* A reason only where it explains the state; a running server's
	   last exit is history. */
	if (!c->running && (why = reason_text(c)) != NULL) {
		cJSON_AddStringToObject(s, "reason", why);
		free(why);
	}
	t = cJSON_AddArrayToObject(s, "stderr");
	for (k = 0; k < TAIL_LINES; k++) {
		const char *l = c->tail[(c->tail_next + k) % TAIL_LINES];

		if (l)
			cJSON_AddItemToArray(t, cJSON_CreateString(l));
	}
	return s;
}

static cJSON *
prompt_entry(struct broker *b, const struct prompt *p)
{
	static const char *const names[] = { "elicitation", "tty", "dialog",
	    "command" };
	cJSON *e = cJSON_CreateObject();
	int ch;

	cJSON_AddStringToObject(e, "server", b->children[p->child].conf->alias);
	cJSON_AddStringToObject(e, "tool", p->tool);
	cJSON_AddNumberToObject(e, "since_s", seconds_since(p->asked_at));
	ch = p->chan < b->cf->nchannels ? b->cf->channels[p->chan] : -1;
	if (ch >= 0 && ch < (int)(sizeof(names) / sizeof(names[0])))
		cJSON_AddStringToObject(e, "channel", names[ch]);
	else
		cJSON_AddNullToObject(e, "channel");
	cJSON_AddNumberToObject(e, "calls", p->ncalls);
	return e;
}

cJSON *
status_document(struct broker *b)
{
	cJSON *d = cJSON_CreateObject(), *a, *ci, *v;
	struct map_ent *e;
	char when[32];
	size_t it;
	int i;

	cJSON_AddNumberToObject(d, "pid", getpid());
	if (b->cf->path) {
		char *full = realpath(b->cf->path, NULL);

		cJSON_AddStringToObject(d, "config", full ? full :
		    b->cf->path);
		free(full);
	} else
		cJSON_AddNullToObject(d, "config");
	started_text(b, when, sizeof(when));
	cJSON_AddStringToObject(d, "started", when);
	cJSON_AddNumberToObject(d, "uptime_s", seconds_since(b->t0));
	if (b->client_info && cJSON_IsObject(b->client_info)) {
		ci = cJSON_AddObjectToObject(d, "client");
		v = cJSON_GetObjectItemCaseSensitive(b->client_info, "name");
		cJSON_AddItemToObject(ci, "name", cJSON_IsString(v) ?
		    cJSON_CreateString(v->valuestring) : cJSON_CreateNull());
		v = cJSON_GetObjectItemCaseSensitive(b->client_info, "version");
		cJSON_AddItemToObject(ci, "version", cJSON_IsString(v) ?
		    cJSON_CreateString(v->valuestring) : cJSON_CreateNull());
	} else {
		cJSON_AddNullToObject(d, "client");
	}
	a = cJSON_AddArrayToObject(d, "servers");
	for (i = 0; i < b->nchildren; i++)
		if (!b->children[i].removed)	/* gone by a reload */
			cJSON_AddItemToArray(a, server_entry(b, i));
	a = cJSON_AddArrayToObject(d, "consent_pending");
	for (e = map_first(&b->prompts, &it); e; e = map_next(&b->prompts,
	    &it, e))
		cJSON_AddItemToArray(a, prompt_entry(b, e->val));
	return d;
}
