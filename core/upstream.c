/* One child link: spawn, pipes, framing, exit and restart with backoff.
   The child object lives as long as the broker; each spawn is a new
   generation of it. */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/egress.h"
#include "core/remote.h"
#include "core/errlog.h"
#include "core/jsonrpc.h"
#include "core/util.h"

extern char **environ;

#define READ_CHUNK (64 * 1024)
#define ERR_MAX (16 * 1024)
#define ERR_LINE_MAX 4096

static void child_finish(struct child *);
static void child_final(struct child *);

const char *
child_state_name(enum child_state s)
{
	static const char *const names[] = { "idle", "spawned", "initializing",
	    "listing", "ready", "restarting", "failed", "stopping", "lazy",
	    "queued" };

	return names[s];
}

/* The child's environment: a short allow-list of ours, then its own. */
static char **
child_env(const struct server_conf *sc)
{
	static const char *const keep[] = { "PATH", "HOME", "USER", "LANG",
	    "TZ", "TERM", NULL };
	char **env;
	int n = 0, i, j, k;
	size_t l;

	for (i = 0; environ[i]; i++)
		;
	env = xcalloc(i + sc->nenv + 1, sizeof(char *));
	for (i = 0; environ[i]; i++) {
		int ok = strncmp(environ[i], "LC_", 3) == 0;

		for (k = 0; !ok && keep[k]; k++) {
			l = strlen(keep[k]);
			ok = strncmp(environ[i], keep[k], l) == 0 &&
			    environ[i][l] == '=';
		}
		if (!ok)
			continue;
		/* A configured value wins. */
		l = strcspn(environ[i], "=");
		for (j = 0; j < sc->nenv; j++)
			if (strncmp(sc->env[j], environ[i], l + 1) == 0)
				break;
		if (j == sc->nenv)
			env[n++] = environ[i];
	}
	for (j = 0; j < sc->nenv; j++)
		env[n++] = sc->env[j];
	env[n] = NULL;
	return env;
}

static void
tail_add(struct child *c, const char *line, size_t n)
{
	free(c->tail[c->tail_next]);
	c->tail[c->tail_next] = xstrndup(line, n);
	c->tail_next = (c->tail_next + 1) % TAIL_LINES;
}

/* Relay one stderr line as "[alias] line" and keep it in the tail. */
static void
err_line(struct child *c, const char *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > ERR_LINE_MAX)
		n = ERR_LINE_MAX;
	tail_add(c, line, n);
	if (!c->b->quiet) {
		char *s = xasprintf("[%s] %.*s\n", c->conf->alias, (int)n,
		    line);
		errlog_write(s, strlen(s));
		free(s);
	}
}

static void
err_drain(struct child *c, int final)
{
	char *p, *nl;
	size_t used;

	for (;;) {
		p = buf_head(&c->errb);
		used = buf_used(&c->errb);
		if (used == 0)
			break;
		if ((nl = memchr(p, '\n', used)) != NULL) {
			err_line(c, p, nl - p);
			buf_consume(&c->errb, nl - p + 1);
		} else if (final || used >= ERR_LINE_MAX) {
			err_line(c, p, used);
			buf_consume(&c->errb, used);
		} else {
			break;
		}
	}
}

static void
close_stderr(struct child *c)
{
	if (!c->stderr_open)
		return;
	ev_io_stop(c->b->loop, &c->erd);
	close(c->proc.err);
	c->stderr_open = 0;
	err_drain(c, 1);
}

static void
err_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct child *c = w->data;
	char *dst;
	ssize_t n;

	(void)loop;
	(void)revents;
	for (;;) {
		if ((dst = buf_reserve(&c->errb, 4096)) == NULL) {
			err_drain(c, 0);
			continue;
		}
		n = read(c->proc.err, dst, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			close_stderr(c);
			break;
		}
		buf_commit(&c->errb, n);
		err_drain(c, 0);
	}
	if (c->stderr_open == 0)
		child_finish(c);
}

/* Deliver complete lines from the child's stdout. */
static void
out_lines(struct child *c)
{
	struct broker *b = c->b;
	char *p, *nl;
	size_t used, len;
	int gen = c->gen;

	while (c->gen == gen && c->stdout_open) {
		p = buf_head(&c->outb);
		used = buf_used(&c->outb);
		if (c->scan >= used ||
		    (nl = memchr(p + c->scan, '\n', used - c->scan)) == NULL) {
			c->scan = used;
			break;
		}
		len = nl - p;
		c->scan = 0;
		if (c->skipping) {
			/* The end of an oversized line. */
			size_t t = len < sizeof(c->skip_tail) ? len :
			    sizeof(c->skip_tail);

			if (t) {
				memmove(c->skip_tail, p + len - t, t);
				c->skip_taillen = t;
			}
			c->skipped += len;
			c->skipping = 0;
			buf_consume(&c->outb, len + 1);
			broker_child_oversize(b, c, c->skipped);
			continue;
		}
		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* The line may free or reset things; copy nothing, but
		   consume after the call. */
		if (len > 0)
			broker_child_message(b, c, p, len);
		if (c->gen != gen || !c->stdout_open)
			break;
		buf_consume(&c->outb, nl - p + 1);
	}
}

/* An over-long line: keep its head and tail to find its id, drop the rest. */
static void
out_overflow(struct child *c)
{
	size_t used = buf_used(&c->outb), t;
	char *p = buf_head(&c->outb);

	if (!c->skipping) {
		c->skipping = 1;
		c->skipped = 0;
		c->skip_headlen = used < sizeof(c->skip_head) ? used :
		    sizeof(c->skip_head);
		memcpy(c->skip_head, p, c->skip_headlen);
		c->skip_taillen = 0;
	}
	t = used < sizeof(c->skip_tail) ? used : sizeof(c->skip_tail);
	memcpy(c->skip_tail, p + used - t, t);
	c->skip_taillen = t;
	c->skipped += used;
	buf_reset(&c->outb);
	c->scan = 0;
}

static void
close_stdout(struct child *c)
{
	if (!c->stdout_open)
		return;
	ev_io_stop(c->b->loop, &c->rd);
	close(c->proc.out);
	c->stdout_open = 0;
}

static void
out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct child *c = w->data;
	char *dst;
	ssize_t n;
	size_t room;
	int gen = c->gen, rounds = 0;

	(void)loop;
	(void)revents;
	/* Read a bounded amount per turn so one child cannot starve the
	   others. */
	while (rounds++ < 16 && c->gen == gen && c->stdout_open) {
		if ((dst = buf_reserve_upto(&c->outb, READ_CHUNK, &room)) ==
		    NULL) {
			/* A line of max_message bytes and its newline fit;
			   anything longer is oversized. */
			out_overflow(c);
			continue;
		}
		n = read(c->proc.out, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_stdout(c);
			break;
		}
		buf_commit(&c->outb, n);
		if (!c->pipe_grown && buf_used(&c->outb) > PIPE_GROW_AT) {
			pipe_grow(c->proc.out);
			c->pipe_grown = 1;
		}
		if (c->skipping) {
			/* Look only for the end of the skipped line. */
			char *nl = memchr(buf_head(&c->outb), '\n',
			    buf_used(&c->outb));

			if (nl == NULL) {
				out_overflow(c);
				continue;
			}
		}
		out_lines(c);
	}
	if (c->gen == gen && !c->stdout_open) {
		/* stdout closed: a child that cannot answer is of no use,
		   even if it lives on. */
		/* Usually the process is exiting and its reaping follows;
		   one that lives on without stdout is of no use and is
		   stopped after a grace period. */
		if (c->running && c->state != CH_STOPPING &&
		    !ev_is_active(&c->kill_timer)) {
			c->kill_step = -1;
			ev_timer_set(&c->kill_timer, c->b->cf->t_shutdown, 0);
			ev_timer_start(c->b->loop, &c->kill_timer);
		}
		child_finish(c);
	}
}

static void
in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct child *c = w->data;
	ssize_t n;

	(void)revents;
	while (buf_used(&c->inq) > 0) {
		n = write(c->proc.in, buf_head(&c->inq), buf_used(&c->inq));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->inpipe_grown &&
			    buf_used(&c->inq) > PIPE_GROW_AT) {
				pipe_grow(c->proc.in);
				c->inpipe_grown = 1;
				continue;
			}
			return;
		}
		if (n < 0) {
			/* EPIPE: it stopped reading; its exit follows. */
			buf_reset(&c->inq);
			break;
		}
		buf_consume(&c->inq, n);
	}
	ev_io_stop(loop, w);
	if (c->state == CH_STOPPING && c->proc.in >= 0) {
		close(c->proc.in);
		c->proc.in = -1;
	}
}

void
child_flush(struct child *c)
{
	if (c->remote || buf_used(&c->inq) == 0 || ev_is_active(&c->wr) ||
	    c->proc.in < 0)
		return;
	ev_io_start(c->b->loop, &c->wr);
	/* Try at once: most writes complete without waiting. */
	in_cb(c->b->loop, &c->wr, EV_WRITE);
}

int
child_send(struct child *c, const char *msg, size_t len)
{
	if (c->conf->remote)
		return c->running && c->state != CH_STOPPING ?
		    remote_send(c, msg, len) : -1;
	if (c->proc.in < 0 || !c->running || c->state == CH_STOPPING)
		return -1;
	if (buf_reserve(&c->inq, len + 1) == NULL)
		return -1;
	buf_add(&c->inq, msg, len);
	buf_add(&c->inq, "\n", 1);
	/* The broker's flusher writes at the end of this loop turn, so the
	   messages of one turn go out in one write. */
	if (buf_used(&c->inq) >= FLUSH_AT)
		child_flush(c);
	return 0;
}

int64_t
child_request(struct child *c, const char *method, cJSON *params,
    struct preq *p)
{
	char *s;
	int r;

	p->cid = ++c->next_id;
	p->gen = c->gen;
	s = jsonrpc_message(method, params, p->cid);
	r = child_send(c, s, strlen(s));
	cJSON_free(s);
	if (r < 0)
		return -1;
	map_puti(&c->pending, p->cid, p);
	return p->cid;
}

void
child_notify(struct child *c, const char *method, cJSON *params)
{
	char *s = jsonrpc_message(method, params, -1);

	child_send(c, s, strlen(s));
	cJSON_free(s);
}

static void
start_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == CH_READY || c->state == CH_STOPPING || !c->running)
		return;
	if (c->state == CH_SPAWNED) {
		/* Waiting for the host is not the child's fault. */
		return;
	}
	logmsg("[%s] not ready after %g s; stopping it", c->conf->alias,
	    c->conf->t_start);
	free(c->fail_reason);
	c->fail_reason = xasprintf("it was not ready after %g s",
	    c->conf->t_start);
	child_stop(c);
}

static void
kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child *c = w->data;

	(void)revents;
	if (!c->running)
		return;
	if (c->kill_step < 0) {
		/* stdout closed and it did not exit by itself. */
		free(c->fail_reason);
		c->fail_reason = xstrdup("it closed its stdout");
		logmsg("[%s] closed its stdout but is still running; "
		    "stopping it", c->conf->alias);
		c->kill_step = 0;
		child_stop(c);
		return;
	}
	if (c->kill_step == 0) {
		sandbox_kill(&c->proc, SIGTERM);
		c->kill_step = 1;
		ev_timer_set(w, c->b->cf->t_shutdown, 0);
		ev_timer_start(loop, w);
	} else {
		sandbox_kill(&c->proc, SIGKILL);
	}
}

/* Stop a running child: close its stdin, then TERM, then KILL. */
void
child_stop(struct child *c)
{
	struct ev_loop *loop = c->b->loop;

	ev_timer_stop(loop, &c->backoff_timer);
	if (!c->running) {
		if (c->state == CH_BACKOFF || c->state == CH_QUEUED)
			c->state = CH_IDLE;
		return;
	}
	if (c->state == CH_STOPPING)
		return;
	c->state = CH_STOPPING;
	ev_timer_stop(loop, &c->start_timer);
	ev_timer_stop(loop, &c->idle_timer);
	child_start_next(c->b);
	if (c->conf->remote) {
		remote_stop(c);
		return;
	}
	/* What is queued still goes; in_cb closes its stdin after. */
	child_flush(c);
	if (c->proc.in >= 0 && !ev_is_active(&c->wr)) {
		close(c->proc.in);
		c->proc.in = -1;
	}
	c->kill_step = 0;
	ev_timer_stop(loop, &c->kill_timer);
	ev_timer_set(&c->kill_timer, c->b->cf->t_shutdown, 0);
	ev_timer_start(loop, &c->kill_timer);
}

static void
backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct child *c = w->data;

	(void)loop;
	(void)revents;
	if (c->b->stopping)
		return;
	child_start(c);
}

/* Children between spawn and ready (or failure). */
static int
spawning(const struct broker *b)
{
	int i, n = 0;

	for (i = 0; i < b->nchildren; i++) {
		enum child_state s = b->children[i].state;

		n += s == CH_SPAWNED || s == CH_INIT || s == CH_LISTING;
	}
	return n;
}

void
child_start(struct child *c)
{
	struct broker *b = c->b;
	int max = b->cf->max_starting;

	if (c->state == CH_QUEUED)
		return;
	if (max > 0 && (spawning(b) >= max || b->nstartq > 0)) {
		logmsg("[%s] waits to start: %d server%s starting "
		    "(corral.max_starting)", c->conf->alias, max,
		    max == 1 ? " is" : "s are");
		c->state = CH_QUEUED;
		if (b->nstartq == b->startqcap) {
			b->startqcap = b->startqcap ? b->startqcap * 2 : 8;
			b->startq = xrealloc(b->startq, b->startqcap *
			    sizeof(*b->startq));
		}
		b->startq[b->nstartq++] = c->idx;
		return;
	}
	child_spawn(c);
}

void
child_start_next(struct broker *b)
{
	int max = b->cf->max_starting;
	struct child *c;

	while (b->nstartq > 0 && !b->stopping && (max == 0 ||
	    spawning(b) < max)) {
		c = &b->children[b->startq[0]];
		memmove(b->startq, b->startq + 1, --b->nstartq *
		    sizeof(*b->startq));
		/* Stopped or started meanwhile: nothing to do. */
		if (c->state == CH_QUEUED)
			child_spawn(c);
	}
}

static void
describe_status(struct child *c, int status)
{
	free(c->last_exit);
	if (WIFEXITED(status))
		c->last_exit = xasprintf("exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		c->last_exit = xasprintf("killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		c->last_exit = xasprintf("ended with wait status %d", status);
}

static void
child_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct child *c = w->data;
	char *dst;
	ssize_t n;
	size_t room;

	(void)revents;
	ev_child_stop(loop, w);
	c->running = 0;
	sandbox_reaped(&c->proc);
	/* The sandbox is gone: so is everything its proxy carried. */
	egress_free(c->egress);
	c->egress = NULL;
	describe_status(c, w->rstatus);
	/* Take what it wrote before it died; the pipes may be held open by
	   its own children, so do not wait for EOF. */
	while (c->stdout_open) {
		if ((dst = buf_reserve_upto(&c->outb, READ_CHUNK, &room)) ==
		    NULL) {
			out_overflow(c);
			continue;
		}
		n = read(c->proc.out, dst, room);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		buf_commit(&c->outb, n);
		out_lines(c);
	}
	close_stdout(c);
	while (c->stderr_open) {
		if ((dst = buf_reserve(&c->errb, 4096)) == NULL)
			break;
		n = read(c->proc.err, dst, 4096);
		if (n <= 0)
			break;
		buf_commit(&c->errb, n);
		err_drain(c, 0);
	}
	close_stderr(c);
	broker_audit_exit(c->b, c, w->rstatus);
	child_finish(c);
}

/* Called after each of reap and EOFs: once all happened, the generation
   is over. */
static void
child_finish(struct child *c)
{
	if (c->running || c->stdout_open || c->stderr_open)
		return;
	child_final(c);
}

static void
child_final(struct child *c)
{
	struct broker *b = c->b;
	struct ev_loop *loop = b->loop;
	double up, delay;
	int i;

	ev_io_stop(loop, &c->wr);
	ev_timer_stop(loop, &c->start_timer);
	ev_timer_stop(loop, &c->kill_timer);
	ev_timer_stop(loop, &c->relist_timer);
	ev_timer_stop(loop, &c->idle_timer);
	if (c->proc.in >= 0) {
		close(c->proc.in);
		c->proc.in = -1;
	}
	buf_reset(&c->inq);
	buf_reset(&c->outb);
	c->scan = 0;
	/* A line it never ended is told like one it ended. */
	if (c->skipping)
		logmsg("[%s] ended in the middle of a line of %zu bytes or "
		    "more, more than max_message (%zu); dropped",
		    c->conf->alias, c->skipped, b->cf->max_message);
	c->skipping = 0;
	c->proc.pid = 0;
	broker_child_gone(b, c);
	if (b->stopping) {
		c->state = CH_IDLE;
		broker_check_exit(b);
		return;
	}
	if (reload_child_final(c)) {
		c->idle_stop = 0;
		child_start_next(b);
		return;
	}
	if (c->idle_stop) {
		/* Stopped on purpose: no failure, and back to its cache. */
		c->idle_stop = 0;
		c->ready_at = 0;
		c->state = CH_LAZY;
		child_start_next(b);
		broker_child_asleep(b, c);
		broker_check_exit(b);
		return;
	}
	if (c->fail_reason && c->conf->remote)
		logmsg("[%s] stopped because %s", c->conf->alias,
		    c->fail_reason);
	else if (c->fail_reason)
		logmsg("[%s] stopped because %s (%s)", c->conf->alias,
		    c->fail_reason, c->last_exit);
	else
		logmsg("[%s] %s", c->conf->alias, c->last_exit);
	/* The live relay already showed stderr; the CLI keeps it quiet
	   and shows the tail only when something went wrong. */
	for (i = 0; c->b->quiet && i < TAIL_LINES; i++) {
		char *t = c->tail[(c->tail_next + i) % TAIL_LINES];

		if (t)
			logmsg("[%s] | %s", c->conf->alias, t);
	}
	/* Restart with backoff; sustained uptime resets the count. */
	up = c->ready_at > 0 ? mono_now() - c->ready_at : 0;
	if (c->ready_at > 0 && up >= c->conf->reset_after)
		c->failures = 0;
	c->failures++;
	c->ready_at = 0;
	if (c->failures > c->conf->max_failures) {
		logmsg("[%s] failed %d time%s in a row; not restarting it",
		    c->conf->alias, c->failures, c->failures == 1 ? "" : "s");
		c->state = CH_FAILED;
		child_start_next(b);
		broker_child_settled(b);
		broker_check_exit(b);
		return;
	}
	delay = c->conf->backoff;
	for (i = 1; i < c->failures && delay < c->conf->backoff_max; i++)
		delay *= 2;
	if (delay > c->conf->backoff_max)
		delay = c->conf->backoff_max;
	logmsg("[%s] restarting in %g s (failure %d of at most %d)",
	    c->conf->alias, delay, c->failures, c->conf->max_failures);
	c->state = CH_BACKOFF;
	ev_timer_set(&c->backoff_timer, delay, 0);
	ev_timer_start(loop, &c->backoff_timer);
	child_start_next(b);
	broker_child_settled(b);
	broker_check_exit(b);
}

void
child_ended(struct child *c)
{
	broker_audit_exit(c->b, c, 0);
	c->running = c->stdout_open = c->stderr_open = 0;
	child_final(c);
}

/* What every new generation starts from. */
static void
gen_begin(struct child *c)
{
	int i;

	c->spawned_at = mono_now();
	/* The tail explains this run's exit, not an earlier one's. */
	for (i = 0; i < TAIL_LINES; i++) {
		free(c->tail[i]);
		c->tail[i] = NULL;
	}
	c->tail_next = 0;
	c->next_id = 0;
}

/* Started: it has t_start to be ready; initialize goes out at once when
   the host has initialized. */
static void
gen_started(struct child *c)
{
	struct broker *b = c->b;

	ev_timer_init(&c->start_timer, start_timeout_cb, c->conf->t_start, 0);
	c->start_timer.data = c;
	ev_timer_start(b->loop, &c->start_timer);
	c->state = CH_SPAWNED;
	if (b->initialized)
		broker_child_initialize(b, c);
}

/* A remote server: nothing to start; initialize is its first POST. */
static void
remote_spawn(struct child *c)
{
	struct broker *b = c->b;

	free(c->fail_reason);
	c->fail_reason = NULL;
	c->gen++;
	c->running = c->stdout_open = 1;
	c->stderr_open = 0;
	gen_begin(c);
	remote_start(c);
	broker_audit_spawn(b, c);
	gen_started(c);
}

void
child_spawn(struct child *c)
{
	struct broker *b = c->b;
	struct sandbox_spec sp;
	char **env, *path, *err = NULL;

	if (c->conf->remote) {
		remote_spawn(c);
		return;
	}
	env = child_env(c->conf);
	free(c->fail_reason);
	c->fail_reason = NULL;
	if (c->gen == 0) {
		/* Say once how this child departs from the strict profile. */
		char *dep = sandbox_departures(&c->conf->sandbox), *l, *save;

		for (l = dep ? strtok_r(dep, "\n", &save) : NULL; l;
		    l = strtok_r(NULL, "\n", &save))
			logmsg("[%s] sandbox: %s", c->conf->alias, l);
		free(dep);
	}
	if ((path = sandbox_resolve(c->conf->command, env)) == NULL) {
		c->fail_reason = xasprintf("%s: %s", c->conf->command,
		    errno == ENOENT ? "command not found" : strerror(errno));
		broker_audit_spawn_failed(b, c, c->fail_reason);
	} else {
		memset(&sp, 0, sizeof(sp));
		sp.alias = c->conf->alias;
		sp.path = path;
		sp.argv = c->conf->argv;
		sp.envp = env;
		sp.cwd = c->conf->cwd;
		sp.conf = &c->conf->sandbox;
		if (sandbox_spawn(&sp, &c->proc, &err) < 0) {
			c->fail_reason = err;
			broker_audit_spawn_failed(b, c, err);
		} else {
			broker_audit_spawn(b, c);
			if (c->proc.proxy >= 0)
				c->egress = egress_new(b->loop, b->trail,
				    c->conf->alias, &c->conf->sandbox,
				    c->proc.proxy);
		}
	}
	free(path);
	free(env);
	c->gen++;
	c->pipe_grown = c->inpipe_grown = 0;
	if (c->fail_reason) {
		free(c->last_exit);
		c->last_exit = xasprintf("cannot start: %s", c->fail_reason);
		c->proc.in = c->proc.out = c->proc.err = -1;
		c->running = c->stdout_open = c->stderr_open = 0;
		free(c->fail_reason);
		c->fail_reason = NULL;
		c->ready_at = 0;
		c->state = CH_INIT;	/* child_final schedules a retry */
		child_final(c);
		return;
	}
	c->running = 1;
	c->stdout_open = c->stderr_open = 1;
	gen_begin(c);
	ev_io_init(&c->rd, out_cb, c->proc.out, EV_READ);
	ev_io_init(&c->wr, in_cb, c->proc.in, EV_WRITE);
	ev_io_init(&c->erd, err_cb, c->proc.err, EV_READ);
	c->rd.data = c->wr.data = c->erd.data = c;
	if (!b->paused)
		ev_io_start(b->loop, &c->rd);
	ev_io_start(b->loop, &c->erd);
	ev_child_init(&c->cw, child_exit_cb, c->proc.pid, 0);
	c->cw.data = c;
	ev_child_start(b->loop, &c->cw);
	gen_started(c);
}

void
child_free(struct child *c)
{
	int i;

	remote_free(c);
	egress_free(c->egress);
	c->egress = NULL;
	buf_free(&c->inq);
	buf_free(&c->outb);
	buf_free(&c->errb);
	for (i = 0; i < TAIL_LINES; i++)
		free(c->tail[i]);
	map_free(&c->pending);
	map_free(&c->subs);
	free(c->version);
	cJSON_Delete(c->caps);
	free(c->instructions);
	free(c->last_exit);
	free(c->fail_reason);
}

/* Set up the parts of a child that outlive generations. */
void child_setup(struct child *, struct broker *, int, struct server_conf *);

void
child_setup(struct child *c, struct broker *b, int idx,
    struct server_conf *sc)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->idx = idx;
	c->conf = sc;
	c->proc.in = c->proc.out = c->proc.err = -1;
	buf_init(&c->inq, b->cf->max_message * 2 + 4096);
	buf_init(&c->outb, b->cf->max_message + 1);
	buf_init(&c->errb, ERR_MAX);
	map_init(&c->pending);
	map_init(&c->subs);
	map_init(&c->pins);
	map_init(&c->tool_inflight);
	map_init(&c->tool_buckets);
	ev_timer_init(&c->backoff_timer, backoff_cb, 1, 0);
	ev_timer_init(&c->kill_timer, kill_cb, 1, 0);
	ev_timer_init(&c->start_timer, start_timeout_cb, 1, 0);
	c->backoff_timer.data = c->kill_timer.data = c->start_timer.data = c;
}
