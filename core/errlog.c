/* stderr that never blocks the loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/errlog.h"
#include "core/util.h"

#define ERRLOG_MAX (1024 * 1024)

static struct ev_loop *loop;
static ev_io watcher;
static struct buf queue;
static size_t dropped;
static int saved_flags = -1;

static void
flush_some(void)
{
	ssize_t n;
	char note[96];

	while (buf_used(&queue) > 0) {
		n = write(STDERR_FILENO, buf_head(&queue), buf_used(&queue));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			buf_reset(&queue);	/* stderr is gone */
			break;
		}
		buf_consume(&queue, n);
	}
	if (dropped) {
		int k = snprintf(note, sizeof(note), "corral: %zu bytes of "
		    "diagnostics dropped: stderr was not being read\n",
		    dropped);

		dropped = 0;
		if (write(STDERR_FILENO, note, k) < 0) {
			/* nothing to do */
		}
	}
	if (loop)
		ev_io_stop(loop, &watcher);
}

static void
writable_cb(struct ev_loop *l, ev_io *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	flush_some();
}

void
errlog_attach(struct ev_loop *l)
{
	loop = l;
	buf_init(&queue, ERRLOG_MAX);
	ev_io_init(&watcher, writable_cb, STDERR_FILENO, EV_WRITE);
	/* A terminal is shared with the user's shell: leave it blocking. */
	if (!isatty(STDERR_FILENO)) {
		saved_flags = fcntl(STDERR_FILENO, F_GETFL);
		if (saved_flags >= 0)
			fcntl(STDERR_FILENO, F_SETFL, saved_flags | O_NONBLOCK);
	}
}

void
errlog_detach(void)
{
	if (loop == NULL)
		return;
	ev_io_stop(loop, &watcher);
	if (saved_flags >= 0)
		fcntl(STDERR_FILENO, F_SETFL, saved_flags);
	saved_flags = -1;
	loop = NULL;
	flush_some();
	buf_free(&queue);
}

void
errlog_write(const char *s, size_t n)
{
	ssize_t w;

	if (loop == NULL) {
		while (n > 0) {
			w = write(STDERR_FILENO, s, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			s += w;
			n -= w;
		}
		return;
	}
	if (buf_used(&queue) == 0) {
		w = write(STDERR_FILENO, s, n);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return;
		if (w > 0) {
			s += w;
			n -= w;
		}
		if (n == 0)
			return;
	}
	if (buf_add(&queue, s, n) < 0) {
		dropped += n;
		return;
	}
	if (!ev_is_active(&watcher))
		ev_io_start(loop, &watcher);
}
