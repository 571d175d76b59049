/* The status socket of corral serve. Each connection is checked for the
   peer's uid, sends one request line, gets one JSON document and is
   closed. Everything is nonblocking on the broker's loop, with few
   connections at a time and a deadline for each. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/control.h"
#include "core/state.h"
#include "core/status.h"
#include "core/util.h"

#define CTL_CONNS	4	/* connections served at once */
#define CTL_REQ_MAX	256	/* bytes of a request line */
#define CTL_DEADLINE	5.0	/* seconds a connection may live */
#define CTL_PAUSE	1.0	/* accept rests this long after EMFILE */

struct ctl_conn {
	struct control *ctl;
	int fd;			/* -1: slot free */
	ev_io io;
	ev_timer deadline;
	char req[CTL_REQ_MAX];
	size_t reqlen;
	char *out;		/* the answer, once the request is read */
	size_t outlen, outoff;
};

struct control {
	struct broker *b;
	int fd;
	char *path;
	pid_t owner;		/* only this process removes the socket */
	ev_io accept_io;
	ev_timer pause;
	struct ctl_conn conns[CTL_CONNS];
	int nconns;
	unsigned long refused;
};

/* The socket to remove should serve end through exit() (fatal). */
static struct control *at_exit_ctl;

char *
control_dir(char **err)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	char run[64], *sd, *dir;
	struct stat st;

	/* The XDG spec says to ignore a relative path. */
	if (x && x[0] == '/')
		return xasprintf("%s/corral", x);
	snprintf(run, sizeof(run), "/run/user/%lu", (unsigned long)geteuid());
	if (lstat(run, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid())
		return xasprintf("%s/corral", run);
	if ((sd = state_dir(err)) == NULL)
		return NULL;
	dir = xasprintf("%s/run", sd);
	free(sd);
	return dir;
}

/* Make dir (mode 0700) or accept it when it is a private directory of
   ours; it guards the socket against other users, so anything else is
   refused. */
static int
private_socket_dir(const char *dir, char **err)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		*err = xasprintf("%s: %s", dir, errno == ELOOP ||
		    errno == ENOTDIR ? "not a directory" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		*err = xasprintf("%s: not a private directory of yours (it "
		    "must be mode 0700 and owned by uid %lu)", dir,
		    (unsigned long)geteuid());
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* A listening socket at path, mode 0600, nonblocking. */
static int
listen_at(const char *path, char **err)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = xasprintf("%s: path too long for a socket", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		*err = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* A socket left by an earlier process with our pid. */
	unlink(path);
	/* The mode is set at bind: never a moment with a wider one. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 8) < 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		if (r == 0)
			unlink(path);
		return -1;
	}
	return fd;
}

static void
conn_close(struct ctl_conn *k)
{
	struct control *ctl = k->ctl;

	ev_io_stop(ctl->b->loop, &k->io);
	ev_timer_stop(ctl->b->loop, &k->deadline);
	close(k->fd);
	k->fd = -1;
	free(k->out);
	k->out = NULL;
	ctl->nconns--;
	if (!ev_is_active(&ctl->accept_io) && !ev_is_active(&ctl->pause))
		ev_io_start(ctl->b->loop, &ctl->accept_io);
}

enum io_step { IO_OK, IO_RETRY, IO_WAIT, IO_END };

/* What a send or recv that returned n means for its loop. */
static enum io_step
io_result(ssize_t n)
{
	if (n > 0)
		return IO_OK;
	if (n < 0 && errno == EINTR)
		return IO_RETRY;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return IO_WAIT;
	return IO_END;
}

/* Write what the socket takes; close once all went. */
static void
conn_write(struct ctl_conn *k)
{
	ssize_t n;
	int r;

	while (k->outoff < k->outlen) {
		n = send(k->fd, k->out + k->outoff, k->outlen - k->outoff,
		    MSG_NOSIGNAL);
		if ((r = io_result(n)) == IO_WAIT)
			return;
		if (r == IO_END)
			break;
		if (r == IO_OK)
			k->outoff += n;
	}
	conn_close(k);
}

/* The answer to one request line. */
static void
conn_answer(struct ctl_conn *k)
{
	struct control *ctl = k->ctl;
	cJSON *d;
	char *s;

	if (strcmp(k->req, "status") == 0) {
		d = status_document(ctl->b);
	} else {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "error", "unknown request");
	}
	s = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	k->out = xasprintf("%s\n", s);
	cJSON_free(s);
	k->outlen = strlen(k->out);
	k->outoff = 0;
	ev_io_stop(ctl->b->loop, &k->io);
	ev_io_set(&k->io, k->fd, EV_WRITE);
	ev_io_start(ctl->b->loop, &k->io);
	conn_write(k);
}

/* Read the request line; a line too long or cut short ends the
   connection without an answer. */
static void
conn_read(struct ctl_conn *k)
{
	char *nl;
	ssize_t n;
	int r;

	for (;;) {
		n = recv(k->fd, k->req + k->reqlen,
		    sizeof(k->req) - 1 - k->reqlen, 0);
		if ((r = io_result(n)) == IO_WAIT)
			return;
		if (r == IO_END)
			break;
		if (r == IO_RETRY)
			continue;
		k->reqlen += n;
		k->req[k->reqlen] = '\0';
		if ((nl = memchr(k->req, '\n', k->reqlen)) != NULL) {
			*nl = '\0';
			if (nl > k->req && nl[-1] == '\r')
				nl[-1] = '\0';
			conn_answer(k);
			return;
		}
		if (k->reqlen == sizeof(k->req) - 1)
			break;
	}
	conn_close(k);
}

static void
conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_conn *k = w->data;

	(void)loop;
	(void)revents;
	if (k->out)
		conn_write(k);
	else
		conn_read(k);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_close(w->data);
}

/* Only our own uid may ask: the answer shows commands' stderr. The
   directory's mode keeps others out already; this holds even when that
   mode is wrong. */
static int
peer_ok(struct control *ctl, int fd)
{
	struct ucred uc;
	socklen_t l = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) == 0 &&
	    uc.uid == geteuid())
		return 1;
	if (ctl->refused++ == 0)
		logmsg("status: refused a connection from uid %ld",
		    l == sizeof(uc) ? (long)uc.uid : -1L);
	return 0;
}

static void
conn_open(struct control *ctl, int fd)
{
	struct ctl_conn *k = NULL;
	int i;

	for (i = 0; i < CTL_CONNS; i++)
		if (ctl->conns[i].fd < 0) {
			k = &ctl->conns[i];
			break;
		}
	if (k == NULL) {
		close(fd);
		return;
	}
	memset(k, 0, sizeof(*k));
	k->ctl = ctl;
	k->fd = fd;
	ev_io_init(&k->io, conn_cb, fd, EV_READ);
	k->io.data = k;
	ev_timer_init(&k->deadline, deadline_cb, CTL_DEADLINE, 0);
	k->deadline.data = k;
	ev_io_start(ctl->b->loop, &k->io);
	ev_timer_start(ctl->b->loop, &k->deadline);
	ctl->nconns++;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *ctl = w->data;
	int fd;

	(void)revents;
	while (ctl->nconns < CTL_CONNS) {
		fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors: rest rather than spin. */
			ev_io_stop(loop, w);
			ev_timer_set(&ctl->pause, CTL_PAUSE, 0);
			ev_timer_start(loop, &ctl->pause);
			return;
		}
		if (!peer_ok(ctl, fd)) {
			close(fd);
			continue;
		}
		conn_open(ctl, fd);
	}
	/* Full: the rest wait in the backlog until a slot frees. */
	ev_io_stop(loop, w);
}

static void
pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *ctl = w->data;

	(void)revents;
	if (ctl->nconns < CTL_CONNS)
		ev_io_start(loop, &ctl->accept_io);
}

static void
remove_at_exit(void)
{
	if (at_exit_ctl && at_exit_ctl->owner == getpid())
		unlink(at_exit_ctl->path);
}

struct control *
control_new(struct broker *b)
{
	static int registered;
	struct control *ctl;
	char *dir, *err = NULL;
	int i;

	if ((dir = control_dir(&err)) == NULL ||
	    private_socket_dir(dir, &err) < 0) {
		logmsg("status: %s; corral status will not see this serve",
		    err);
		free(err);
		free(dir);
		return NULL;
	}
	ctl = xcalloc(1, sizeof(*ctl));
	ctl->b = b;
	ctl->owner = getpid();
	ctl->path = xasprintf("%s/serve-%ld.sock", dir, (long)ctl->owner);
	free(dir);
	if ((ctl->fd = listen_at(ctl->path, &err)) < 0) {
		logmsg("status: %s; corral status will not see this serve",
		    err);
		free(err);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	for (i = 0; i < CTL_CONNS; i++)
		ctl->conns[i].fd = -1;
	ev_io_init(&ctl->accept_io, accept_cb, ctl->fd, EV_READ);
	ctl->accept_io.data = ctl;
	ev_timer_init(&ctl->pause, pause_cb, CTL_PAUSE, 0);
	ctl->pause.data = ctl;
	ev_io_start(b->loop, &ctl->accept_io);
	at_exit_ctl = ctl;
	if (!registered++)
		atexit(remove_at_exit);
	return ctl;
}

void
control_free(struct control *ctl)
{
	int i;

	if (ctl == NULL)
		return;
	for (i = 0; i < CTL_CONNS; i++)
		if (ctl->conns[i].fd >= 0)
			conn_close(&ctl->conns[i]);
	ev_io_stop(ctl->b->loop, &ctl->accept_io);
	ev_timer_stop(ctl->b->loop, &ctl->pause);
	close(ctl->fd);
	if (ctl->owner == getpid())
		unlink(ctl->path);
	if (at_exit_ctl == ctl)
		at_exit_ctl = NULL;
	free(ctl->path);
	free(ctl);
}
