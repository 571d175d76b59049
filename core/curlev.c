/* libcurl on libev: libcurl says which sockets to watch (sock_cb) and when
   to call it back (timer_cb); ev_io and one ev_timer hand the events back
   with curl_multi_socket_action. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>

#include "core/curlev.h"
#include "core/util.h"

struct sock {
	struct curlev *cv;
	curl_socket_t fd;
	int what;		/* CURL_POLL_*: for curlev_drain */
	ev_io io;
	struct sock *next;
};

/* What a transfer carries in CURLOPT_PRIVATE. */
struct xfer {
	curlev_done_fn *done;
	void *arg;
	CURL *e;
	struct xfer *next;	/* on the pending list */
	int pending;
};

struct curlev {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	struct sock *socks;
	int n;			/* transfers added and not ended */
	/* libcurl's callbacks may start transfers (a message delivered
	   from a write callback is answered at once), but handles may not
	   be added from inside libcurl: they wait here until it returns. */
	int inside;
	struct xfer *pending;
	int draining;		/* curlev_drain polls; no watchers */
	double due;		/* libcurl's timeout (mono_now), or -1 */
};

static void
add_pending(struct curlev *cv)
{
	struct xfer *x;

	while ((x = cv->pending) != NULL) {
		cv->pending = x->next;
		x->pending = 0;
		if (curl_multi_add_handle(cv->multi, x->e) != CURLM_OK) {
			/* Report it as a failed transfer. */
			curlev_done_fn *fn = x->done;
			void *arg = x->arg;
			CURL *e = x->e;

			curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
			free(x);
			cv->n--;
			fn(e, CURLE_FAILED_INIT, arg);
		}
	}
}

static void
action(struct curlev *cv, curl_socket_t fd, int flags)
{
	int running;

	cv->inside++;
	curl_multi_socket_action(cv->multi, fd, flags, &running);
	cv->inside--;
}

static void
reap(struct curlev *cv)
{
	CURLMsg *m;
	struct xfer *x;
	CURL *e;
	CURLcode rc;
	int left;

	while ((m = curl_multi_info_read(cv->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		rc = m->data.result;
		x = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(cv->multi, e);
		curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
		cv->n--;
		/* The callback may add or remove transfers. */
		if (x) {
			curlev_done_fn *fn = x->done;
			void *arg = x->arg;

			free(x);
			fn(e, rc, arg);
		}
	}
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct curlev *cv = s->cv;
	int flags = 0, running;

	(void)loop;
	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	(void)running;
	/* s may be freed by this call. */
	action(cv, s->fd, flags);
	reap(cv);
	add_pending(cv);
}

static void
timer_ev(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct curlev *cv = w->data;
	int running;

	(void)loop;
	(void)revents;
	(void)running;
	action(cv, CURL_SOCKET_TIMEOUT, 0);
	reap(cv);
	add_pending(cv);
}

static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct curlev *cv = arg;
	struct sock *s = sockp, **pp;
	int ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s == NULL)
			return 0;
		ev_io_stop(cv->loop, &s->io);
		for (pp = &cv->socks; *pp != s; pp = &(*pp)->next)
			;
		*pp = s->next;
		free(s);
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->cv = cv;
		s->fd = fd;
		ev_init(&s->io, io_cb);
		s->io.data = s;
		s->next = cv->socks;
		cv->socks = s;
		curl_multi_assign(cv->multi, fd, s);
	}
	s->what = what;
	if (cv->draining)
		return 0;
	ev_io_stop(cv->loop, &s->io);
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	if (ev != 0) {
		ev_io_set(&s->io, fd, ev);
		ev_io_start(cv->loop, &s->io);
	}
	return 0;
}

/* libcurl says when to call it back; never call it from here. */
static int
timer_cb(CURLM *m, long ms, void *arg)
{
	struct curlev *cv = arg;

	(void)m;
	cv->due = ms < 0 ? -1 : mono_now() + ms / 1000.0;
	if (cv->draining)
		return 0;
	ev_timer_stop(cv->loop, &cv->timer);
	if (ms >= 0) {
		ev_timer_set(&cv->timer, ms / 1000.0, 0.);
		ev_timer_start(cv->loop, &cv->timer);
	}
	return 0;
}

struct curlev *
curlev_new(struct ev_loop *loop)
{
	struct curlev *cv = xcalloc(1, sizeof(*cv));

	cv->loop = loop;
	if ((cv->multi = curl_multi_init()) == NULL)
		fatal("curl_multi_init failed");
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	ev_init(&cv->timer, timer_ev);
	cv->timer.data = cv;
	cv->due = -1;
	return cv;
}

CURLM *
curlev_multi(struct curlev *cv)
{
	return cv->multi;
}

/* One round of curlev_drain: wait for the sockets or libcurl's timeout,
   at most until deadline, and let libcurl act. -1 when poll failed. */
static int
drain_round(struct curlev *cv, double deadline)
{
	struct pollfd *pfd = NULL;
	struct sock *s;
	size_t n = 0, i;
	double now = mono_now(), wait = deadline - now;
	int flags;

	for (s = cv->socks; s; s = s->next)
		n++;
	pfd = xcalloc(n ? n : 1, sizeof(*pfd));
	for (n = 0, s = cv->socks; s; s = s->next) {
		if (s->what == 0 || s->what == CURL_POLL_REMOVE)
			continue;
		pfd[n].fd = s->fd;
		pfd[n].events = ((s->what & CURL_POLL_IN) ? POLLIN : 0) |
		    ((s->what & CURL_POLL_OUT) ? POLLOUT : 0);
		n++;
	}
	if (cv->due >= 0 && cv->due - now < wait)
		wait = cv->due > now ? cv->due - now : 0;
	if (poll(pfd, (nfds_t)n, (int)ceil(wait * 1000)) < 0 &&
	    errno != EINTR) {
		free(pfd);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		flags = ((pfd[i].revents & POLLIN) ? CURL_CSELECT_IN : 0) |
		    ((pfd[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
		    ((pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ?
		    CURL_CSELECT_ERR : 0);
		action(cv, pfd[i].fd, flags);
	}
	free(pfd);
	if (cv->due >= 0 && mono_now() >= cv->due) {
		cv->due = -1;
		action(cv, CURL_SOCKET_TIMEOUT, 0);
	}
	reap(cv);
	add_pending(cv);
	return 0;
}

void
curlev_drain(struct curlev *cv, double deadline, void (*more)(void *),
    void *arg)
{
	struct sock *s;

	cv->draining = 1;
	ev_timer_stop(cv->loop, &cv->timer);
	for (s = cv->socks; s; s = s->next)
		ev_io_stop(cv->loop, &s->io);
	while (mono_now() < deadline) {
		if (more)
			more(arg);
		if (cv->n == 0 || drain_round(cv, deadline) < 0)
			break;
	}
}

int
curlev_add(struct curlev *cv, CURL *e, curlev_done_fn *done, void *arg,
    const char **why)
{
	struct xfer *x = xcalloc(1, sizeof(*x));
	CURLMcode mc;

	x->done = done;
	x->arg = arg;
	x->e = e;
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	if (cv->inside) {
		struct xfer **pp = &cv->pending;

		while (*pp)
			pp = &(*pp)->next;
		*pp = x;
		x->pending = 1;
		cv->n++;
		return 0;
	}
	if ((mc = curl_multi_add_handle(cv->multi, e)) != CURLM_OK) {
		curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
		free(x);
		*why = curl_multi_strerror(mc);
		return -1;
	}
	cv->n++;
	return 0;
}

void
curlev_remove(struct curlev *cv, CURL *e)
{
	struct xfer *x = NULL;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
	if (x == NULL)
		return;
	if (x->pending) {
		struct xfer **pp;

		for (pp = &cv->pending; *pp != x; pp = &(*pp)->next)
			;
		*pp = x->next;
	} else
		curl_multi_remove_handle(cv->multi, e);
	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	free(x);
	cv->n--;
}

void
curlev_unpause(struct curlev *cv, CURL *e)
{
	/* libcurl may deliver the data it held from inside this call. */
	cv->inside++;
	curl_easy_pause(e, CURLPAUSE_CONT);
	cv->inside--;
	reap(cv);
	add_pending(cv);
}

/* Children must not inherit the sockets. */
int
curlev_sockopt_cloexec(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	(void)purpose;
	fd_cloexec(fd);
	return CURL_SOCKOPT_OK;
}

int
curlev_running(const struct curlev *cv)
{
	return cv->n;
}

void
curlev_free(struct curlev *cv)
{
	struct sock *s, *n;

	if (cv == NULL)
		return;
	ev_timer_stop(cv->loop, &cv->timer);
	/* Owners remove their transfers first; what is left is dropped. */
	while (cv->pending) {
		struct xfer *x = cv->pending;

		cv->pending = x->next;
		free(x);
	}
	curl_multi_cleanup(cv->multi);
	for (s = cv->socks; s; s = n) {
		n = s->next;
		ev_io_stop(cv->loop, &s->io);
		free(s);
	}
	free(cv);
}
