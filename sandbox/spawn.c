/* sandbox_spawn: the strict profile (namespaces, see ns.c), its degraded
   tier (Landlock, seccomp and limits without namespaces, only when the
   config asks for it), and profile "none" (the command as it is, in a
   session of its own, killed when corral dies). Also the steps every
   sandboxed server process runs last, in the one order that works. */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sandbox.h"
#include "sandbox/sb.h"

int sb_errfd = -1;

const char *
sandbox_backend(void)
{
	return "namespaces";
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

/* ---- child side: reporting a failed step ---- */

static void __attribute__((noreturn))
report(const char *step, int e, int ns)
{
	struct sb_report r;

	memset(&r, 0, sizeof(r));
	r.err = e;
	r.ns = ns;
	snprintf(r.step, sizeof(r.step), "%s", step);
	/* One write below PIPE_BUF: the parent reads it whole. */
	if (sb_errfd >= 0 && write(sb_errfd, &r, sizeof(r)) < 0) {
		/* corral is gone; nothing to tell */
	}
	_exit(127);
}

void
sb_fail(const char *step)
{
	report(step, errno, 0);
}

/* A namespace step: with "fallback": "landlock", the degraded tier may
   run instead. */
void
sb_fail_ns(const char *step)
{
	report(step, errno, 1);
}

void
sb_failf(const char *fmt, ...)
{
	char step[240];
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vsnprintf(step, sizeof(step), fmt, ap);
	va_end(ap);
	report(step, e, 0);
}

/* Close every descriptor above 2 but the error pipe (close-on-exec). */
static void
close_fds(void)
{
	int e = sb_errfd;

	if ((e > 3 && close_range(3, e - 1, 0) < 0) ||
	    close_range(e < 3 ? 3 : e + 1, ~0U, 0) < 0)
		sb_fail("close_range");
}

/* Degraded mode as root: become SB_NOBODY before running anything of the
   server's; the bounding set goes first, while it still can. */
static void
plain_identity(const struct sb_plan *p)
{
	if (!p->degraded || !p->root)
		return;
	if (sb_caps_drop(1) < 0)
		sb_fail("drop capabilities");
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		sb_fail("setgroups");
	if (syscall(SYS_setresgid, SB_NOBODY, SB_NOBODY, SB_NOBODY) < 0)
		sb_fail("setresgid");
	if (syscall(SYS_setresuid, SB_NOBODY, SB_NOBODY, SB_NOBODY) < 0)
		sb_fail("setresuid");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		sb_fail("prctl(PR_SET_PDEATHSIG)");
}

void
sb_exec_server(const struct sb_plan *p)
{
	const char *which = NULL;

	/* A session of its own: no controlling terminal to type into, and
	   one process group. */
	if (setsid() < 0)
		sb_fail("setsid");
	/* Nothing of corral's may reach the server: only 0, 1, 2 and the
	   error pipe, which closes at execve. */
	close_fds();
	plain_identity(p);
	/* After the identity change (degraded root), so the directory is
	   entered with the rights the server will have. */
	if (chdir(p->cwd ? p->cwd : p->home) < 0)
		sb_failf("chdir %s", p->cwd ? p->cwd : p->home);
	/* Limits before the capabilities go: lowering needs none, but the
	   order keeps every privileged step ahead of the drop. */
	if (sb_limits_apply(p->lim, &which) < 0)
		sb_failf("setrlimit %s", which);
	if (sb_caps_drop(0) < 0)
		sb_fail("drop capabilities");
	/* no_new_privs before Landlock (it requires it, or CAP_SYS_ADMIN)
	   and before seccomp (likewise); from here no execve can gain
	   privileges, setuid bits and file capabilities included. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		sb_fail("no_new_privs");
	/* Landlock before seccomp: its own system calls must still pass.
	   Behind the namespaces it is a second wall and skipped where the
	   kernel has none; in degraded mode it is the only one. */
	if (sb_landlock_apply(p) < 0 && (p->degraded ||
	    (errno != ENOSYS && errno != EOPNOTSUPP)))
		sb_fail("landlock");
	/* seccomp last: nothing after it but execve, which it allows. */
	if (p->bpf && sb_seccomp_load(p->bpf) < 0)
		sb_fail("seccomp");
	execve(p->path, p->argv, p->envp);
	sb_failf("execve %s", p->path);
}

/* ---- the degraded tier: no namespaces ---- */

int
sb_plain_spawn(struct sb_plan *p, int fds[6], struct sandbox_proc *pr,
    struct sb_report *rep)
{
	int ep[2], i;
	pid_t pid, parent = getpid();
	sigset_t all, old;
	ssize_t n;

	memset(rep, 0, sizeof(*rep));
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rep->err = errno;
		snprintf(rep->step, sizeof(rep->step), "pipe");
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) < 0) {
		rep->err = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		snprintf(rep->step, sizeof(rep->step), "fork");
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (pid == 0) {
		sb_errfd = ep[1];
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			sb_fail("prctl(PR_SET_PDEATHSIG)");
		if (getppid() != parent)
			_exit(127);
		if (dup2(fds[0], 0) < 0 || dup2(fds[3], 1) < 0 ||
		    dup2(fds[5], 2) < 0)
			sb_fail("dup2");
		/* Let the OOM killer take the server before corral; while
		   /proc/self is still ours to write (before any change of
		   uid). */
		if ((i = open("/proc/self/oom_score_adj", O_WRONLY |
		    O_CLOEXEC)) < 0 || write(i, "500", 3) != 3)
			sb_fail("oom_score_adj");
		close(i);
		sb_exec_server(p);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	do
		n = read(ep[0], rep, sizeof(*rep));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n > 0) {
		rep->step[sizeof(rep->step) - 1] = '\0';
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
	pr->pid = pid;
	pr->group = 1;
	return 0;
}

/* ---- profile "none" ---- */

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

static int
none_spawn(const struct sandbox_spec *sp, int fds[6],
    struct sandbox_proc *pr, char **err)
{
	int ep[2] = { -1, -1 }, i;
	char msg[256];
	ssize_t n;
	pid_t pid, parent = getpid();
	sigset_t all, old;

	if (pipe2(ep, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	/* Block signals across fork so none of our handlers runs in the
	   child; it restores defaults before exec. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		*err = xasprintf("fork: %s", strerror(errno));
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (pid == 0) {
		for (i = 1; i < NSIG; i++)
			signal(i, SIG_DFL);
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
		if (dup2(fds[0], 0) < 0 || dup2(fds[3], 1) < 0 ||
		    dup2(fds[5], 2) < 0)
			child_fail(ep[1], "dup2");
		if (sp->cwd && chdir(sp->cwd) < 0) {
			char step[300];

			snprintf(step, sizeof(step), "chdir %s", sp->cwd);
			child_fail(ep[1], step);
		}
		execve(sp->path, sp->argv, sp->envp);
		child_fail(ep[1], "execve");
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	/* EOF on the error pipe means execve succeeded. */
	do
		n = read(ep[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n > 0) {
		msg[n] = '\0';
		*err = xstrdup(msg);
		waitpid(pid, NULL, 0);
		return -1;
	}
	pr->pid = pid;
	pr->group = 1;
	return 0;
}

/* ---- the entry point ---- */

/* "sandbox: ALIAS: step: reason[; hint]". */
static char *
describe(const char *alias, const struct sb_report *r)
{
	const char *hint = sb_hint(r->step, r->err);

	return xasprintf("sandbox: %s: %s: %s%s%s", alias, r->step,
	    strerror(r->err), hint ? "; " : "", hint ? hint : "");
}

static int
strict_spawn(const struct sandbox_spec *sp, int fds[6],
    struct sandbox_proc *pr, char **err)
{
	const struct sandbox_conf *cf = sp->conf;
	struct sb_report rep;
	struct sb_plan p;
	char *e = NULL;
	int r;

	/* Everything that allocates or decides happens here, in the parent,
	   before the clone: the child only runs steps. */
	if (sb_plan_build(sp, 0, &p, &e) < 0)
		goto plan_err;
	if (!(cf && cf->seccomp_off) && (p.bpf = sb_seccomp_filter(&e)) ==
	    NULL) {
		sb_plan_free(&p);
		goto plan_err;
	}
	r = sb_ns_spawn(&p, fds, pr, &rep);
	if (r < 0 && rep.ns && cf && cf->fallback_landlock) {
		char *why = describe(sp->alias, &rep);
		const struct sock_fprog *bpf = p.bpf;

		sb_plan_free(&p);
		if (sb_plan_build(sp, 1, &p, &e) < 0) {
			free(why);
			goto plan_err;
		}
		p.bpf = bpf;
		logmsg("[%s] sandbox degraded (\"fallback\": \"landlock\"): "
		    "no namespaces (%s); running with Landlock, seccomp and "
		    "resource limits only", sp->alias, why);
		free(why);
		r = sb_plain_spawn(&p, fds, pr, &rep);
	}
	if (r < 0)
		*err = describe(sp->alias, &rep);
	sb_plan_free(&p);
	return r;
plan_err:
	*err = xasprintf("sandbox: %s: %s", sp->alias, e);
	free(e);
	return -1;
}

int
sandbox_spawn(const struct sandbox_spec *sp, struct sandbox_proc *pr,
    char **err)
{
	int fds[6] = { -1, -1, -1, -1, -1, -1 }, i, r;

	*err = NULL;
	pr->proxy = -1;
	if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(fds + 2, O_CLOEXEC) < 0 ||
	    pipe2(fds + 4, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		r = -1;
	} else if (sp->conf && sp->conf->profile_none) {
		logmsg("[%s] WARNING: NOT SANDBOXED (\"profile\": \"none\"): "
		    "this server runs with all of your rights", sp->alias);
		r = none_spawn(sp, fds, pr, err);
	} else {
		r = strict_spawn(sp, fds, pr, err);
	}
	if (r < 0) {
		for (i = 0; i < 6; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return -1;
	}
	close(fds[0]);
	close(fds[3]);
	close(fds[5]);
	fd_nonblock(fds[1]);
	fd_nonblock(fds[2]);
	fd_nonblock(fds[4]);
	pr->in = fds[1];
	pr->out = fds[2];
	pr->err = fds[4];
	return 0;
}

int
sandbox_kill(const struct sandbox_proc *pr, int sig)
{
	if (pr->pid <= 0)
		return -1;
	/* Profile none and the degraded tier: the child leads its own
	   process group (setsid). */
	if (pr->group) {
		if (kill(-pr->pid, sig) < 0)
			return kill(pr->pid, sig);
		return 0;
	}
	/* Namespaces: the sandbox's pid 1 forwards TERM, INT and HUP to the
	   server; on KILL the kernel kills the whole pid namespace. */
	return kill(pr->pid, sig);
}

static void
line(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
line(char **s, const char *fmt, ...)
{
	va_list ap;
	char *l, *n;

	va_start(ap, fmt);
	if (vasprintf(&l, fmt, ap) < 0)
		fatal("out of memory");
	va_end(ap);
	n = *s ? xasprintf("%s\n%s", *s, l) : xstrdup(l);
	free(l);
	free(*s);
	*s = n;
}

/* "network limited to: a, b (through corral's proxy)". */
static void
net_line(char **s, const struct sandbox_conf *c)
{
	char *l = xstrdup(""), *n;
	int i;

	for (i = 0; i < c->nnet; i++) {
		n = xasprintf("%s%s%s", l, i ? ", " : "", c->net[i].text);
		free(l);
		l = n;
	}
	line(s, "network limited to: %s (through corral's proxy; "
	    "programs that ignore HTTP_PROXY get no network)", l);
	free(l);
}

char *
sandbox_departures(const struct sandbox_conf *c)
{
	struct sb_limit lim[SB_NLIMITS];
	char *s = NULL;
	int i;

	if (c == NULL || c->profile_none)
		return NULL;
	if (c->net_full)
		line(&s, "network \"full\": it can reach the network, "
		    "including services on this machine");
	else if (c->nnet > 0)
		net_line(&s, c);
	for (i = 0; i < c->nro; i++)
		line(&s, "read-only grant: %s", c->ro[i]);
	for (i = 0; i < c->nrw; i++)
		line(&s, "writable grant: %s%s", c->rw[i], geteuid() == 0 ?
		    " (as root the server runs as uid 65534 and writes only "
		    "where that uid may)" : "");
	if (c->home_ephemeral)
		line(&s, "home \"ephemeral\": an empty HOME at every start");
	if (c->seccomp_off)
		line(&s, "seccomp \"off\": no system call filter");
	sb_limits_init(lim, c);
	if (c->nofile > 0 || c->nproc > 0 || c->data > 0 || c->fsize > 0 ||
	    c->memlock > 0)
		line(&s, "limits: nofile %llu, nproc %llu, data %llu, "
		    "fsize %llu, memlock %llu", lim[0].value, lim[1].value,
		    lim[3].value, lim[4].value, lim[5].value);
	if (c->memory > 0 || c->pids > 0 || c->cpu > 0) {
		char mem[32] = "unlimited", cpu[32] = "unlimited";

		if (c->memory > 0)
			snprintf(mem, sizeof(mem), "%.0f bytes", c->memory);
		if (c->cpu > 0)
			snprintf(cpu, sizeof(cpu), "%g", c->cpu);
		line(&s, "limits (cgroup, where delegated): memory %s, "
		    "pids %.0f, cpu %s", mem, c->pids > 0 ? c->pids : 512.0,
		    cpu);
	}
	if (c->tmp > 0 || c->shm > 0)
		line(&s, "limits: /tmp %.0f bytes, /dev/shm %.0f bytes",
		    c->tmp > 0 ? c->tmp : (double)(1UL << 30),
		    c->shm > 0 ? c->shm : (double)(64UL << 20));
	if (c->fallback_landlock)
		line(&s, "fallback \"landlock\": where namespaces are "
		    "unavailable it runs with Landlock, seccomp and limits "
		    "only");
	return s;
}
