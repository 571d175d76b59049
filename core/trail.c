/* The trail: events into the audit log, with the capture rules and the
   failure policy. What each event holds is listed in trail.h. */
#include <sys/random.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "core/buf.h"
#include "core/canon.h"
#include "core/state.h"
#include "core/trail.h"
#include "core/util.h"

#define RETRY_GAP 1.0	/* seconds between attempts on a failed log */
#define ROOM_PLENTY (64ULL * 1024 * 1024)
#define ROOM_MARGIN (16 * 1024)	/* free bytes a call's record needs, and
				   then some for the records around it */

struct trail {
	struct ev_loop *loop;
	const struct config *cf;
	struct audit *log;
	ev_timer tick;		/* batch fsync */
	char session[17];
	char *dir, *file;
	int failed;		/* the last attempt to write failed */
	char *why;		/* ... and why */
	long long lost;		/* records not written since */
	double retry_at;
	char *blocked;		/* message for refused calls */
	struct otel *otel;
	unsigned long long room;	/* free bytes where the log is */
	double room_at;			/* ... as of then */
};

#define OTEL_GRACE 1.0	/* seconds to send the last spans at exit */

static char *scrub(const struct trail *, const char *);

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct trail *t = w->data;

	(void)loop;
	(void)revents;
	if (t->log && audit_tick(t->log, mono_now()) < 0)
		logmsg("audit: fsync of the audit log failed: %s",
		    strerror(errno));
}

/* Where the log goes: corral.audit.path, or the state directory. */
static int
place(struct trail *t, char **err)
{
	char *slash, *sd;

	if (t->cf->audit_path) {
		t->dir = xstrdup(t->cf->audit_path);
		slash = strrchr(t->dir, '/');
		t->file = xstrdup(slash + 1);
		if (slash == t->dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		return 0;
	}
	if ((sd = state_dir(err)) == NULL)
		return -1;
	t->dir = sd;
	t->file = xstrdup("audit.jsonl");
	return 0;
}

static void
fail(struct trail *t, char *err)
{
	if (!t->failed || (t->why && strcmp(t->why, err) != 0)) {
		if (t->cf->audit_continue)
			logmsg("audit: cannot write the audit log: %s; going "
			    "on without it (corral.audit.on_failure is "
			    "\"continue\")", err);
		else
			logmsg("audit: cannot write the audit log: %s; tool "
			    "calls are refused until it can be written "
			    "(corral.audit.on_failure)", err);
	}
	free(t->why);
	t->why = err;
	t->failed = 1;
	t->retry_at = mono_now() + RETRY_GAP;
	free(t->blocked);
	t->blocked = xasprintf("corral refused the call: the audit log "
	    "cannot be written (%s), and corral.audit.on_failure is "
	    "\"refuse\". Free space or fix the log, then call again.", err);
}

static int
open_log(struct trail *t)
{
	struct audit_opts o;
	char *err = NULL, *sd;

	memset(&o, 0, sizeof(o));
	o.fsync = t->cf->audit_fsync;
	o.max_bytes = (off_t)t->cf->audit_rotate;
	o.keep = t->cf->audit_keep;
	if (t->dir == NULL && place(t, &err) < 0) {
		fail(t, err);
		return -1;
	}
	/* The key stays in the state directory wherever the log goes. */
	if ((sd = state_dir(&err)) == NULL) {
		fail(t, err);
		return -1;
	}
	o.key_dir = sd;
	t->log = audit_open(t->dir, t->file, &o, &err);
	free(sd);
	if (t->log == NULL) {
		fail(t, err);
		return -1;
	}
	return 0;
}

/* Write one record; on failure apply the policy. */
static int
put(struct trail *t, const char *event, const cJSON *fields)
{
	char *err = NULL;

	if (t->log == NULL && open_log(t) < 0)
		return -1;
	if (audit_write(t->log, event, fields, &err) < 0) {
		fail(t, err);
		return -1;
	}
	return 0;
}

/* After a failure: say how many records are missing, then go on. */
static int
resume(struct trail *t)
{
	cJSON *f;
	int r;

	if (!t->failed)
		return 0;
	if (mono_now() < t->retry_at)
		return -1;
	f = cJSON_CreateObject();
	cJSON_AddNumberToObject(f, "lost", (double)t->lost);
	cJSON_AddStringToObject(f, "error", t->why);
	t->failed = 0;
	r = put(t, "audit_resumed", f);
	cJSON_Delete(f);
	if (r < 0)
		return -1;
	logmsg("audit: the audit log is written again (%lld record%s lost)",
	    t->lost, t->lost == 1 ? "" : "s");
	t->lost = 0;
	free(t->why);
	t->why = NULL;
	free(t->blocked);
	t->blocked = NULL;
	return 0;
}

static void
otel_start(struct trail *t)
{
	const struct config *cf = t->cf;
	struct otel_conf oc;
	cJSON *h = cJSON_CreateObject();
	char *err = NULL;
	int i;

	for (i = 0; i < cf->notel_headers; i++) {
		const char *line = cf->otel_headers[i];
		const char *colon = strchr(line, ':');
		char *name = xstrndup(line, colon - line);

		cJSON_AddStringToObject(h, name, colon + 2);
		free(name);
	}
	memset(&oc, 0, sizeof(oc));
	oc.endpoint = cf->otel_endpoint;
	oc.headers = h;
	oc.service_name = cf->otel_service;
	oc.timeout = cf->otel_timeout;
	oc.max_queue = cf->otel_queue;
	t->otel = otel_new(t->loop, &oc, &err);
	if (t->otel == NULL) {
		logmsg("corral.otel: %s; no spans are sent", err);
		free(err);
	}
	/* The values are secrets: do not leave copies about. */
	for (i = 0; i < cJSON_GetArraySize(h); i++) {
		cJSON *v = cJSON_GetArrayItem(h, i);

		explicit_bzero(v->valuestring, strlen(v->valuestring));
	}
	cJSON_Delete(h);
}

int
trail_wanted(const struct trail *t)
{
	return !t->cf->audit_off || t->otel != NULL;
}

struct otel *
trail_otel(const struct trail *t)
{
	return t->otel;
}

void
trail_span(struct trail *t, struct otel_span *sp)
{
	char *s;

	trail_redact(t, sp->attrs);
	if (sp->name && (s = scrub(t, sp->name)) != NULL) {
		free(sp->name);
		sp->name = s;
	}
	otel_emit(t->otel, sp);
}

struct trail *
trail_new(struct ev_loop *loop, const struct config *cf)
{
	struct trail *t = xcalloc(1, sizeof(*t));
	unsigned char r[8];
	int i;

	t->loop = loop;
	t->cf = cf;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		fatal("getrandom: %s", strerror(errno));
	for (i = 0; i < 8; i++)
		snprintf(t->session + 2 * i, 3, "%02x", r[i]);
	if (cf->otel_endpoint && loop)
		otel_start(t);
	if (cf->audit_off)
		return t;
	open_log(t);
	ev_timer_init(&t->tick, tick_cb, 1, 1);
	t->tick.data = t;
	if (cf->audit_fsync == AUDIT_FSYNC_BATCH && loop) {
		ev_timer_start(loop, &t->tick);
		ev_unref(loop);		/* it never keeps corral running */
	}
	return t;
}

void
trail_event(struct trail *t, const char *event, cJSON *fields)
{
	if (t->cf->audit_off) {
		cJSON_Delete(fields);
		return;
	}
	if (fields == NULL)
		fields = cJSON_CreateObject();
	trail_redact(t, fields);
	if (resume(t) < 0 || put(t, event, fields) < 0)
		t->lost++;
	cJSON_Delete(fields);
}

const char *
trail_blocked(struct trail *t, size_t need)
{
	struct statvfs sv;
	unsigned long long room;
	char *why;

	if (t->cf->audit_off || t->cf->audit_continue)
		return NULL;
	if (t->failed && resume(t) < 0)
		return t->blocked;
	/* A call whose record would not fit is not run: its record would
	   be lost after the fact. Plenty of room is looked at again only
	   once a second. */
	if (t->dir && (t->room < ROOM_PLENTY || mono_now() >= t->room_at +
	    1) && statvfs(t->dir, &sv) == 0) {
		room = (unsigned long long)sv.f_bavail * sv.f_frsize;
		t->room = room;
		t->room_at = mono_now();
		if (room < need + ROOM_MARGIN) {
			why = xasprintf("%s: only %llu bytes free", t->dir, room);
			free(t->blocked);
			t->blocked = xasprintf("corral refused the call: the "
			    "audit log cannot be written (%s), and "
			    "corral.audit.on_failure is \"refuse\". Free space "
			    "or fix the log, then call again.", why);
			free(why);
			return t->blocked;
		}
	}
	return NULL;
}

const char *
trail_session(const struct trail *t)
{
	return t->session;
}

/* The shape of a value: types, string lengths, keys, nested. */
static cJSON *
shape(const cJSON *v, int depth)
{
	const cJSON *c;
	cJSON *o;
	char s[48];

	if (cJSON_IsString(v)) {
		snprintf(s, sizeof(s), "string(%zu)", strlen(v->valuestring));
		return cJSON_CreateString(s);
	}
	if (cJSON_IsNumber(v))
		return cJSON_CreateString("number");
	if (cJSON_IsBool(v))
		return cJSON_CreateString("boolean");
	if (cJSON_IsArray(v)) {
		snprintf(s, sizeof(s), "array(%d)", cJSON_GetArraySize(v));
		return cJSON_CreateString(s);
	}
	if (cJSON_IsObject(v)) {
		if (depth >= 8)
			return cJSON_CreateString("object");
		o = cJSON_CreateObject();
		cJSON_ArrayForEach(c, v)
			cJSON_AddItemToObject(o, c->string, shape(c, depth + 1));
		return o;
	}
	return cJSON_CreateString("null");
}

cJSON *
trail_capture(const struct trail *t, const cJSON *args)
{
	cJSON *o, *empty = NULL;
	char h[65];

	if (t->cf->audit_off)
		return NULL;	/* nobody would read it */
	switch (t->cf->audit_capture) {
	case CAPTURE_NONE:
		return NULL;
	case CAPTURE_FULL:
		return args ? cJSON_Duplicate(args, 1) : cJSON_CreateObject();
	default:
		break;
	}
	if (args == NULL)
		args = empty = cJSON_CreateObject();
	o = cJSON_CreateObject();
	canon_hash(args, h);
	cJSON_AddStringToObject(o, "sha256", h);
	cJSON_AddItemToObject(o, "shape", shape(args, 0));
	cJSON_Delete(empty);
	return o;
}

/* s with every secret replaced; NULL when there was none. */
static char *
scrub(const struct trail *t, const char *s)
{
	const struct config *cf = t->cf;
	struct buf b;
	const char *p, *hit;
	size_t n;
	int i, best, any = 0;

	buf_init(&b, 0);
	for (p = s;;) {
		/* The earliest secret at or after p; the longest there. */
		hit = NULL;
		best = -1;
		for (i = 0; i < cf->nsecrets; i++) {
			const char *q = strstr(p, cf->secrets[i]);

			if (q && (hit == NULL || q < hit || (q == hit &&
			    strlen(cf->secrets[i]) >
			    strlen(cf->secrets[best])))) {
				hit = q;
				best = i;
			}
		}
		if (hit == NULL)
			break;
		any = 1;
		buf_add(&b, p, hit - p);
		buf_adds(&b, "[redacted]");
		n = strlen(cf->secrets[best]);
		p = hit + n;
	}
	if (!any) {
		buf_free(&b);
		return NULL;
	}
	buf_adds(&b, p);
	buf_add(&b, "", 1);
	return buf_steal(&b, NULL);
}

void
trail_redact(const struct trail *t, cJSON *j)
{
	cJSON *c;
	char *s;

	if (t->cf->nsecrets == 0 || j == NULL)
		return;
	if (j->string && (s = scrub(t, j->string))) {
		/* cJSON owns the key unless it is a constant. */
		if (!(j->type & cJSON_StringIsConst))
			cJSON_free(j->string);
		j->type &= ~cJSON_StringIsConst;
		j->string = cJSON_malloc(strlen(s) + 1);
		strcpy(j->string, s);
		free(s);
	}
	if (cJSON_IsString(j) && (s = scrub(t, j->valuestring))) {
		cJSON_SetValuestring(j, s);
		free(s);
	}
	for (c = j->child; c; c = c->next)
		trail_redact(t, c);
}

void
trail_free(struct trail *t)
{
	if (t == NULL)
		return;
	if (ev_is_active(&t->tick)) {
		ev_ref(t->loop);
		ev_timer_stop(t->loop, &t->tick);
	}
	otel_free(t->otel, OTEL_GRACE);
	audit_close(t->log);
	free(t->dir);
	free(t->file);
	free(t->why);
	free(t->blocked);
	free(t);
}
