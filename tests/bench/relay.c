/*
 * relay — the least a stdio proxy can cost: run a command with pipes and
 * copy bytes both ways without looking at them.
 *
 * usage: relay command [arg ...]
 *
 * stdin goes to the command's stdin and its stdout to our stdout; stderr
 * is shared. Pipe to pipe, bytes move with splice(2) and never enter our
 * memory; where an end is not a pipe, read(2) and write(2) with a 64 KiB
 * buffer take over. When our stdin ends, the command's stdin is closed;
 * when its stdout ends, we wait for it and exit with its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK	65536

struct dir {
	int	 in, out;	/* -1 once closed */
	int	 nosplice;	/* splice(2) refused these ends */
	char	*buf;
};

static void
die(const char *msg)
{
	fprintf(stderr, "relay: %s: %s\n", msg, strerror(errno));
	exit(1);
}

/* Returns 0 when the reader is gone. */
static int
writeall(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				return 0;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

/*
 * Move what is ready on d->in to d->out. Returns 0 at end of input or
 * when the reader of d->out is gone.
 * The writes block: the host and the command each read what they are
 * sent, so neither side can wedge us for long.
 */
static int
pump(struct dir *d)
{
	ssize_t n;

	if (!d->nosplice) {
		n = splice(d->in, NULL, d->out, NULL, CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_MORE);
		if (n > 0)
			return 1;
		if (n == 0 || errno == EPIPE)
			return 0;
		if (errno == EINTR || errno == EAGAIN)
			return 1;
		if (errno != EINVAL)
			die("splice");
		d->nosplice = 1;
	}
	if (d->buf == NULL && (d->buf = malloc(CHUNK)) == NULL)
		die("malloc");
	n = read(d->in, d->buf, CHUNK);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 1;
		die("read");
	}
	if (n == 0)
		return 0;
	return writeall(d->out, d->buf, (size_t)n);
}

int
main(int argc, char **argv)
{
	struct dir up = { STDIN_FILENO, -1, 0, NULL };
	struct dir down = { -1, STDOUT_FILENO, 0, NULL };
	struct pollfd pfd[2];
	int to[2], from[2], status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: relay command [arg ...]\n");
		return 2;
	}
	/* A host that goes away should end us by EPIPE, not by a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(to, O_CLOEXEC) == -1 || pipe2(from, O_CLOEXEC) == -1)
		die("pipe2");
	switch ((pid = fork())) {
	case -1:
		die("fork");
		break;
	case 0:
		signal(SIGPIPE, SIG_DFL);
		if (dup2(to[0], STDIN_FILENO) == -1 ||
		    dup2(from[1], STDOUT_FILENO) == -1)
			die("dup2");
		execvp(argv[1], argv + 1);
		fprintf(stderr, "relay: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	up.out = to[1];
	down.in = from[0];

	while (down.in != -1) {
		pfd[0].fd = up.in;
		pfd[0].events = POLLIN;
		pfd[1].fd = down.in;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		/* POLLHUP without POLLIN: the writer is gone, read the EOF. */
		if (pfd[1].revents != 0 && !pump(&down)) {
			close(down.in);
			down.in = -1;
		}
		if (up.in != -1 && pfd[0].revents != 0 && !pump(&up)) {
			/* A negative fd is skipped by poll(2). */
			up.in = -1;
			close(up.out);
			up.out = -1;
		}
	}
	if (up.out != -1)
		close(up.out);
	free(up.buf);
	free(down.buf);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
