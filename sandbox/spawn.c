/* The "none" backend: run the command as it is, with a clean environment,
   in a session of its own, killed when corral dies. */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sandbox.h"

const char *
sandbox_backend(void)
{
	return "none";
}

char *
sandbox_resolve(const char *cmd, char *const *envp)
{
	const char *path = NULL, *p, *colon;
	struct stat st;
	char *cand;
	int i;

	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK) < 0)
			return NULL;
		if (stat(cmd, &st) == 0 && S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return NULL;
		}
		return xstrdup(cmd);
	}
	for (i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	if (path == NULL)
		path = getenv("PATH");
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = colon + 1) {
		colon = strchr(p, ':');
		cand = xasprintf("%.*s/%s",
		    (int)(colon ? colon - p : (long)strlen(p)), p, cmd);
		if (cand[0] == '/' && access(cand, X_OK) == 0 &&
		    stat(cand, &st) == 0 && S_ISREG(st.st_mode))
			return cand;
		free(cand);
		if (colon == NULL)
			break;
	}
	errno = ENOENT;
	return NULL;
}

/* In the child: report the failed step over the error pipe and leave. */
static void __attribute__((noreturn))
child_fail(int errfd, const char *step)
{
	char msg[256];
	int n, e = errno;

	n = snprintf(msg, sizeof(msg), "%s: %s", step, strerror(e));
	if (write(errfd, msg, n) < 0) {
		/* nothing more to do */
	}
	_exit(127);
}

int
sandbox_spawn(const struct sandbox_spec *sp, struct sandbox_proc *pr,
    char **err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, i;
	char msg[256];
	ssize_t n;
	pid_t pid, parent = getpid();
	sigset_t all, old;

	*err = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(er, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		goto fail;
	}
	/* Block signals across fork so the child starts with none pending
	   handlers of ours running; it restores defaults before exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		*err = xasprintf("fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* Die with corral; check the parent did not die already. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			child_fail(ep[1], "prctl(PR_SET_PDEATHSIG)");
		if (getppid() != parent)
			_exit(127);
		/* A session of its own: no controlling terminal, and one
		   process group that corral can signal as a whole. */
		if (setsid() < 0)
			child_fail(ep[1], "setsid");
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(er[1], 2) < 0)
			child_fail(ep[1], "dup2");
		if (sp->cwd && chdir(sp->cwd) < 0)
			child_fail(ep[1], "chdir");
		execve(sp->path, sp->argv, sp->envp);
		child_fail(ep[1], "execve");
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(ep[1]);
	in[0] = out[1] = er[1] = ep[1] = -1;
	/* EOF on the error pipe means execve succeeded. */
	do
		n = read(ep[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	ep[0] = -1;
	if (n > 0) {
		msg[n] = '\0';
		*err = xstrdup(msg);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	fd_nonblock(in[1]);
	fd_nonblock(out[0]);
	fd_nonblock(er[0]);
	pr->pid = pid;
	pr->in = in[1];
	pr->out = out[0];
	pr->err = er[0];
	return 0;
fail:
	for (i = 0; i < 2; i++) {
		if (in[i] >= 0) close(in[i]);
		if (out[i] >= 0) close(out[i]);
		if (er[i] >= 0) close(er[i]);
		if (ep[i] >= 0) close(ep[i]);
	}
	return -1;
}

int
sandbox_kill(const struct sandbox_proc *pr, int sig)
{
	if (pr->pid <= 0)
		return -1;
	/* The child leads its own process group (setsid). */
	if (kill(-pr->pid, sig) < 0)
		return kill(pr->pid, sig);
	return 0;
}
