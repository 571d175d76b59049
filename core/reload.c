/*
 * Reloading the configuration while serving.
 *
 * SIGHUP, or a change of the configuration file (inotify on its
 * directory, since editors replace files rather than write them), reads
 * the file again. A file that does not load is refused with its error and
 * the running configuration stays in force. Otherwise each server is
 * compared with the entry of the same name: an unchanged one keeps its
 * process and its requests in flight; a changed one is stopped and
 * started with its new entry; a removed one is stopped and its tools
 * leave the host's lists; an added one is started. The host hears
 * list_changed as the lists change.
 *
 * Children are named by their index everywhere (catalog owners, routed
 * requests, tasks), so slots are never moved or reused: a removed server
 * keeps its empty slot, an added one takes a spare (RELOAD_SPARE per run).
 * A server that gave up (max_failures) is tried again by any reload: the
 * user may have fixed what it lacked (`corral login`, a file it needs).
 * In the "corral" section, policy, consent and max_starting are read at
 * every use and a new one is swapped in; the rest (audit, OpenTelemetry,
 * message size, naming, defaults for servers) is read at start only: a
 * change there is reported, not applied.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/catalog.h"
#include "core/config.h"
#include "core/map.h"
#include "core/policy.h"
#include "core/trail.h"
#include "core/util.h"

#define SETTLE	0.2	/* seconds of quiet before a changed file is read */

#define SWAP(a, b, type) do { type t_ = (a); (a) = (b); (b) = t_; } while (0)

struct reload {
	char applied[65];	/* sha256 of the file last applied */
	int fd;
	char *base;		/* the file's name in its directory */
	ev_io io;
	ev_timer settle;
};

/* What a reload did, for the log and the audit record. */
struct tally {
	cJSON *added, *removed, *changed;
	int same;
};

static void
note(cJSON *list, const char *alias)
{
	cJSON_AddItemToArray(list, cJSON_CreateString(alias));
}

/* Start c afresh with its new entry. */
static void
restart_with(struct child *c, struct server_conf *sc)
{
	c->conf = sc;
	c->next_conf = NULL;
	c->reload = RELOAD_NONE;
	c->failures = 0;
	free(c->fail_reason);
	c->fail_reason = NULL;
	catalog_set_prefix(&c->b->cat, c->idx, sc->prefix);
	c->state = CH_IDLE;
	if (!sc->disabled)
		child_start(c);
	else
		logmsg("[%s] disabled by the new configuration", sc->alias);
}

static void
forget(struct child *c)
{
	c->reload = RELOAD_NONE;
	c->removed = 1;
	c->state = CH_IDLE;
	free(c->fail_reason);
	c->fail_reason = xstrdup("removed from the configuration");
	broker_drop_lists(c->b, c);
	logmsg("[%s] removed from the configuration; stopped",
	    c->conf->alias);
}

int
reload_child_final(struct child *c)
{
	switch (c->reload) {
	case RELOAD_RESTART:
		logmsg("[%s] its entry changed; starting it again",
		    c->conf->alias);
		restart_with(c, c->next_conf);
		return 1;
	case RELOAD_REMOVE:
		forget(c);
		broker_child_settled(c->b);
		broker_check_exit(c->b);
		return 1;
	default:
		return 0;
	}
}

/* A server whose entry changed or went away: now if it is not running,
   else once it stopped (reload_child_final). */
static void
retire(struct child *c, int what, struct server_conf *next)
{
	c->next_conf = next;
	if (c->running && c->state != CH_STOPPING) {
		c->reload = what;
		child_stop(c);
		return;
	}
	if (c->running) {
		/* Already stopping: decide when it has. */
		c->reload = what;
		return;
	}
	child_stop(c);		/* a restart waiting in backoff */
	if (what == RELOAD_REMOVE)
		forget(c);
	else
		restart_with(c, next);
}

static struct child *
child_named(struct broker *b, const char *alias)
{
	int i;

	for (i = 0; i < b->nchildren; i++)
		if (!b->children[i].removed &&
		    strcmp(b->children[i].conf->alias, alias) == 0)
			return &b->children[i];
	return NULL;
}

static int
in_config(const struct config *cf, const char *alias)
{
	int i;

	for (i = 0; i < cf->nservers; i++)
		if (strcmp(cf->servers[i].alias, alias) == 0)
			return 1;
	return 0;
}

/* Apply nc's servers; returns whether a child now points into nc. */
static int
apply(struct broker *b, struct config *nc, struct tally *t)
{
	struct server_conf *sc;
	struct child *c;
	int i, used = 0, idx;

	for (i = 0; i < b->nchildren; i++) {
		c = &b->children[i];
		if (c->removed || in_config(nc, c->conf->alias))
			continue;
		note(t->removed, c->conf->alias);
		retire(c, RELOAD_REMOVE, NULL);
	}
	for (i = 0; i < nc->nservers; i++) {
		sc = &nc->servers[i];
		if ((c = child_named(b, sc->alias)) != NULL) {
			/* An entry being applied still counts as new. */
			if (config_server_same(c->reload == RELOAD_RESTART ?
			    c->next_conf : c->conf, sc)) {
				t->same++;
				if (c->state == CH_FAILED && !c->conf->disabled) {
					/* A reload is the user saying "try
					   again" (after corral login, say). */
					logmsg("[%s] gave up earlier; trying "
					    "again", c->conf->alias);
					restart_with(c, c->conf);
				}
				continue;
			}
			note(t->changed, sc->alias);
			retire(c, RELOAD_RESTART, sc);
			used = 1;
			continue;
		}
		if (b->nchildren == b->cap_children) {
			logmsg("reload: server %s not added: a run of corral "
			    "serve adds at most %d servers; restart it",
			    sc->alias, RELOAD_SPARE);
			continue;
		}
		idx = catalog_add_owner(&b->cat, sc->prefix);
		broker_add_child(b, idx, sc);
		b->nchildren = idx + 1;
		note(t->added, sc->alias);
		used = 1;
		if (!sc->disabled)
			child_start(&b->children[idx]);
	}
	return used;
}

/* The parts of the "corral" section read at every use: the policy,
   consent and max_starting of nc become the broker's (and nc keeps the
   old ones, alive as long as it). Consent channels are not changed while
   a question is pending (its channel is an index into them). Returns
   whether nc must be kept. */
static int
apply_live(struct broker *b, struct config *nc, const char *why)
{
	struct config *cf = b->cf;
	size_t it;
	int i;

	if (strcmp(nc->live_fp, cf->live_fp) == 0)
		return 0;
	SWAP(cf->policy, nc->policy, struct policy);
	SWAP(cf->consent_timeout, nc->consent_timeout, double);
	SWAP(cf->consent_cmd, nc->consent_cmd, char **);
	SWAP(cf->max_starting, nc->max_starting, int);
	SWAP(cf->live_fp, nc->live_fp, char *);
	if (map_first(&b->prompts, &it) == NULL) {
		for (i = 0; i < 4; i++)
			SWAP(cf->channels[i], nc->channels[i], int);
		SWAP(cf->nchannels, nc->nchannels, int);
	} else if (cf->nchannels != nc->nchannels ||
	    memcmp(cf->channels, nc->channels, sizeof(cf->channels)) != 0)
		logmsg("reload (%s): consent channels not changed while a "
		    "question is pending; reload again once it is answered",
		    why);
	logmsg("reload (%s): the policy, consent and max_starting of the "
	    "\"corral\" section are in force", why);
	child_start_next(b);	/* max_starting may have grown */
	return 1;
}

void
broker_reload(struct broker *b, const char *why)
{
	struct config *nc;
	struct tally t;
	cJSON *f;
	char *err;
	int used;

	if (b->stopping)
		return;
	if (b->cf->path == NULL) {
		logmsg("reload (%s): no configuration file to read", why);
		return;
	}
	if (config_load(b->cf->path, &nc, &err) < 0) {
		logmsg("reload (%s): %s; the running configuration stays in "
		    "force", why, err);
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "path", b->cf->path);
		cJSON_AddStringToObject(f, "error", err);
		trail_event(b->trail, "config_reload", f);
		free(err);
		return;
	}
	if (b->reload && strcmp(why, "file changed") == 0 &&
	    strcmp(nc->sha256, b->reload->applied) == 0) {
		/* Touched, or written with what it held: nothing to do. */
		config_free(nc);
		return;
	}
	if (b->reload)
		memcpy(b->reload->applied, nc->sha256, sizeof(nc->sha256));
	if (strcmp(nc->global_fp, b->cf->global_fp) != 0)
		logmsg("reload (%s): the \"corral\" section changed beyond its "
		    "policy, consent and max_starting; the rest is read at "
		    "start only: restart corral serve to apply it", why);
	memset(&t, 0, sizeof(t));
	t.added = cJSON_CreateArray();
	t.removed = cJSON_CreateArray();
	t.changed = cJSON_CreateArray();
	used = apply_live(b, nc, why);
	used |= apply(b, nc, &t);
	logmsg("reload (%s): %d added, %d removed, %d restarted, %d "
	    "unchanged", why, cJSON_GetArraySize(t.added),
	    cJSON_GetArraySize(t.removed), cJSON_GetArraySize(t.changed),
	    t.same);
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "path", b->cf->path);
	cJSON_AddStringToObject(f, "sha256", nc->sha256);
	cJSON_AddItemToObject(f, "added", t.added);
	cJSON_AddItemToObject(f, "removed", t.removed);
	cJSON_AddItemToObject(f, "changed", t.changed);
	cJSON_AddNumberToObject(f, "unchanged", t.same);
	trail_event(b->trail, "config_reload", f);
	if (used) {
		/* Children point into it now: it lives as long as they. */
		b->configs = xrealloc(b->configs, (b->nconfigs + 1) *
		    sizeof(*b->configs));
		b->configs[b->nconfigs++] = nc;
	} else {
		config_free(nc);
	}
}

/* ---- watching the file ---- */

static void
settle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct broker *b = w->data;

	(void)loop;
	(void)revents;
	broker_reload(b, "file changed");
}

static void
inotify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct broker *b = w->data;
	struct reload *r = b->reload;
	char ev[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	ssize_t n;
	char *p;
	int hit = 0;

	(void)revents;
	while ((n = read(r->fd, ev, sizeof(ev))) > 0)
		for (p = ev; p < ev + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			if (ie->len > 0 && strcmp(ie->name, r->base) == 0)
				hit = 1;
		}
	if (hit) {
		/* Editors write in steps: read it when they are done. */
		ev_timer_stop(loop, &r->settle);
		ev_timer_set(&r->settle, SETTLE, 0);
		ev_timer_start(loop, &r->settle);
	}
}

void
reload_watch(struct broker *b)
{
	struct reload *r;
	const char *path = b->cf->path, *slash;
	char *dir;
	int fd;

	if (path == NULL || b->reload)
		return;
	slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, (size_t)(slash - path) + (slash ==
	    path)) : xstrdup(".");
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_CREATE) < 0) {
		logmsg("reload: cannot watch %s (%s); send SIGHUP after "
		    "changing the configuration", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(dir);
		return;
	}
	free(dir);
	r = b->reload = xcalloc(1, sizeof(*r));
	memcpy(r->applied, b->cf->sha256, sizeof(r->applied));
	r->fd = fd;
	r->base = xstrdup(slash ? slash + 1 : path);
	ev_io_init(&r->io, inotify_cb, fd, EV_READ);
	r->io.data = b;
	ev_io_start(b->loop, &r->io);
	ev_timer_init(&r->settle, settle_cb, SETTLE, 0);
	r->settle.data = b;
}

void
reload_free(struct broker *b)
{
	struct reload *r = b->reload;

	if (r == NULL)
		return;
	ev_io_stop(b->loop, &r->io);
	ev_timer_stop(b->loop, &r->settle);
	close(r->fd);
	free(r->base);
	free(r);
	b->reload = NULL;
}
