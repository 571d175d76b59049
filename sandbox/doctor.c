/* What the machine allows: the checks behind `corral doctor`, and the
   hints attached to a failed step when the kernel's answer is ambiguous
   (EPERM from a namespace step has four common causes). */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sandbox.h"
#include "sandbox/sb.h"

#define SYSCTL_APPARMOR "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
#define SYSCTL_CLONE "/proc/sys/kernel/unprivileged_userns_clone"
#define SYSCTL_MAXNS "/proc/sys/user/max_user_namespaces"

/* Read a sysctl's integer; -1 when absent. */
static long
sysctl_int(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Steps whose EPERM means "no user namespaces for you here". */
static int
ns_step(const char *step)
{
	static const char *const steps[] = { "clone", "uid_map", "gid_map",
	    "setgroups", "make / private", "mount tmpfs root", "pivot_root",
	    "mount /proc", "umount /oldroot", "remount / read-only",
	    "sethostname", "lo ", "bind ", "move_mount ", "mount_setattr ",
	    NULL };
	int i;

	for (i = 0; steps[i]; i++)
		if (strncmp(step, steps[i], strlen(steps[i])) == 0)
			return 1;
	return 0;
}

const char *
sb_hint(const char *step, int err)
{
	int user = geteuid() != 0;

	if (strcmp(step, "landlock") == 0 &&
	    (err == ENOSYS || err == EOPNOTSUPP))
		return "this kernel has no Landlock (it needs Linux 5.13 or "
		    "later with landlock in the lsm= list)";
	if (strncmp(step, "chdir ", 6) == 0 && err == ENOENT)
		return "the working directory is not visible in the sandbox; "
		    "grant it with \"ro\" or \"rw\"";
	if (strncmp(step, "execve ", 7) == 0 &&
	    (err == ENOENT || err == EACCES))
		return "the program or its interpreter is not visible in the "
		    "sandbox; grant its directory with \"ro\"";
	if (strncmp(step, "home ", 5) == 0 &&
	    (err == ELOOP || err == ENOTDIR))
		return "something other than a directory (a symlink?) stands "
		    "on the private HOME's path; corral never follows a "
		    "symlink there: remove it";
	if (!ns_step(step))
		return NULL;
	if (user && sysctl_int(SYSCTL_APPARMOR) == 1)
		return "AppArmor restricts unprivileged user namespaces "
		    "(kernel.apparmor_restrict_unprivileged_userns=1): "
		    "install the profile `corral doctor` prints (also "
		    "sandbox/corral.apparmor) as /etc/apparmor.d/corral and "
		    "run apparmor_parser -r /etc/apparmor.d/corral; see "
		    "corral-sandbox(7)";
	if (user && sysctl_int(SYSCTL_CLONE) == 0)
		return "unprivileged user namespaces are disabled: sysctl -w "
		    "kernel.unprivileged_userns_clone=1";
	if (sysctl_int(SYSCTL_MAXNS) == 0)
		return "user namespaces are disabled: sysctl -w "
		    "user.max_user_namespaces=15000";
	if (err == ENOSPC || err == EUSERS)
		return "the limit of user namespaces is reached: raise "
		    "user.max_user_namespaces";
	if (strcmp(step, "mount /proc") == 0 && err == EPERM)
		return "this system hides parts of /proc (a container?), so "
		    "a fresh /proc may not be mounted; run corral doctor";
	if (err == EPERM || err == EACCES || err == EINVAL)
		return "this system forbids what the sandbox needs (inside a "
		    "container without user namespaces?); run corral doctor, "
		    "or set \"fallback\": \"landlock\" to accept less "
		    "isolation";
	return NULL;
}

char *
sandbox_apparmor_profile(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		strcpy(exe, "/usr/local/bin/corral");
	else
		exe[n] = '\0';
	return xasprintf(
	    "# /etc/apparmor.d/corral: let corral create the user namespaces\n"
	    "# its sandbox is made of (Ubuntu 23.10 and later restrict them).\n"
	    "# Load with: apparmor_parser -r /etc/apparmor.d/corral\n"
	    "abi <abi/4.0>,\n"
	    "include <tunables/global>\n"
	    "\n"
	    "profile corral %s flags=(unconfined) {\n"
	    "  userns,\n"
	    "\n"
	    "  include if exists <local/corral>\n"
	    "}\n", exe);
}

static void
check(struct sandbox_check *c, int *n, int max, const char *name,
    int level, char *detail)
{
	if (*n >= max) {
		free(detail);
		return;
	}
	c[*n].name = name;
	c[*n].level = level;
	c[*n].detail = detail;
	(*n)++;
}

/* Can this process make a user namespace at all? */
static int
try_userns(int *err)
{
	pid_t pid;
	int st;

	pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL,
	    NULL);
	if (pid < 0) {
		*err = errno;
		return -1;
	}
	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0);
	return 0;
}

/* A whole sandbox around /bin/true: maps, mounts, pivot, /proc, limits,
   Landlock and seccomp, exactly as a server gets them. */
static int
try_sandbox(char **why)
{
	static char *const argv[] = { "true", NULL };
	char *path = sandbox_resolve("true", NULL), *env[2], *err = NULL;
	struct sandbox_conf conf;
	struct sandbox_spec sp;
	struct sandbox_proc pr;
	int st, r;

	if (path == NULL) {
		*why = xasprintf("no `true` on PATH to try");
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	conf.home_ephemeral = 1;
	env[0] = "PATH=/usr/bin:/bin";
	env[1] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.alias = "doctor";
	sp.path = path;
	sp.argv = argv;
	sp.envp = env;
	sp.conf = &conf;
	r = sandbox_spawn(&sp, &pr, &err);
	free(path);
	if (r < 0) {
		*why = err;
		return -1;
	}
	close(pr.in);
	close(pr.out);
	close(pr.err);
	while (waitpid(pr.pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		*why = xasprintf("the trial sandbox ended with status %d", st);
		return -1;
	}
	return 0;
}

/* Load the filter in a throw-away child and see a denial. */
static int
try_seccomp(char **why)
{
	const struct sock_fprog *f;
	char *err = NULL;
	pid_t pid;
	int st;

	if ((f = sb_seccomp_filter(&err)) == NULL) {
		*why = err;
		return -1;
	}
	if ((pid = fork()) < 0) {
		*why = xasprintf("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(2);
		if (sb_seccomp_load(f) < 0)
			_exit(3);
		_exit(unshare(0) < 0 && errno == EPERM ? 0 : 4);
	}
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		*why = xasprintf("%s", WIFEXITED(st) &&
		    WEXITSTATUS(st) == 3 ? "the kernel refused the filter" :
		    "the filter did not deny unshare");
		return -1;
	}
	return 0;
}

/* cgroup v2: is our cgroup's directory writable (delegated)? */
static char *
cgroup_note(void)
{
	char line[4096], path[4200];
	FILE *f = fopen("/proc/self/cgroup", "re");
	const char *base = NULL;
	struct stat st;

	line[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0)
			break;
	if (f)
		fclose(f);
	if (strncmp(line, "0::", 3) != 0)
		return xstrdup("no cgroup v2 hierarchy; only rlimits bound "
		    "memory and processes");
	line[strcspn(line, "\n")] = '\0';
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
		base = "/sys/fs/cgroup";
	else if (stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0)
		base = "/sys/fs/cgroup/unified";
	if (base == NULL)
		return xstrdup("cgroup v2 is not mounted; only rlimits bound "
		    "memory and processes");
	snprintf(path, sizeof(path), "%s%s", base, line + 3);
	if (access(path, W_OK) == 0)
		return xasprintf("%s is writable: servers get cgroup limits "
		    "(memory, pids, cpu) where its controllers can be "
		    "enabled", path);
	return xasprintf("%s is not writable (not delegated): rlimits only "
	    "bound memory and processes (no cgroup limits)", path);
}

int
sandbox_checks(struct sandbox_check *c, int max, int *ns_ok,
    int *landlock_ok)
{
	struct utsname u;
	long aa = sysctl_int(SYSCTL_APPARMOR), uc = sysctl_int(SYSCTL_CLONE);
	long mx = sysctl_int(SYSCTL_MAXNS);
	char *why = NULL;
	int n = 0, e = 0, abi, user = geteuid() != 0;

	*ns_ok = *landlock_ok = 0;
	if (uname(&u) == 0)
		check(c, &n, max, "kernel", 0, xasprintf("%s %s", u.sysname,
		    u.release));
	check(c, &n, max, "identity", 0, user ?
	    xasprintf("uid %u: the sandbox maps it 1:1",
		(unsigned)geteuid()) :
	    xasprintf("root: servers run as uid %d, never as root",
		SB_NOBODY));
	if (uc >= 0)
		check(c, &n, max, "kernel.unprivileged_userns_clone",
		    uc == 0 && user ? 2 : 0, uc == 0 && user ?
		    xstrdup("0: fix with sysctl -w "
			"kernel.unprivileged_userns_clone=1") :
		    xasprintf("%ld", uc));
	if (mx >= 0)
		check(c, &n, max, "user.max_user_namespaces", mx == 0 ? 2 : 0,
		    mx == 0 ? xstrdup("0: fix with sysctl -w "
			"user.max_user_namespaces=15000") :
		    xasprintf("%ld", mx));
	if (aa >= 0)
		check(c, &n, max,
		    "kernel.apparmor_restrict_unprivileged_userns",
		    aa == 1 && user ? 2 : 0, aa == 1 && user ?
		    xstrdup("1: install the AppArmor profile below as "
			"/etc/apparmor.d/corral, then apparmor_parser -r "
			"/etc/apparmor.d/corral") :
		    xasprintf("%ld", aa));
	else
		check(c, &n, max, "apparmor userns restriction", 0,
		    xstrdup("not present"));
	if (try_userns(&e) == 0)
		check(c, &n, max, "user namespace", 0,
		    xstrdup("can be created"));
	else
		check(c, &n, max, "user namespace", 2,
		    xasprintf("clone(CLONE_NEWUSER): %s", strerror(e)));
	if (try_seccomp(&why) == 0)
		check(c, &n, max, "seccomp", 0,
		    xstrdup("the filter loads and denies"));
	else
		check(c, &n, max, "seccomp", 2, why);
	why = NULL;
	if ((abi = sb_landlock_abi()) > 0) {
		*landlock_ok = 1;
		check(c, &n, max, "landlock", 0, xasprintf("ABI %d", abi));
	} else {
		check(c, &n, max, "landlock", 1, xasprintf("not available "
		    "(%s): the namespaces still confine files, but "
		    "\"fallback\": \"landlock\" cannot work", strerror(errno)));
	}
	check(c, &n, max, "cgroup v2", 1, cgroup_note());
	if (try_sandbox(&why) == 0) {
		*ns_ok = 1;
		check(c, &n, max, "trial sandbox", 0, xstrdup("user, mount, "
		    "pid, ipc, uts, cgroup and net namespaces, id maps, "
		    "tmpfs root, pivot_root, /proc, Landlock and seccomp: "
		    "all work"));
	} else {
		check(c, &n, max, "trial sandbox", 2, why);
	}
	return n;
}

int
sandbox_check_server(const struct sandbox_spec *sp, int ns_ok,
    int landlock_ok, char **why)
{
	const struct sandbox_conf *cf = sp->conf;
	struct sb_plan p;
	char *e = NULL;

	*why = NULL;
	if (cf && cf->profile_none)
		return 0;
	if (sb_plan_build(sp, 0, &p, &e) < 0) {
		*why = xasprintf("sandbox: %s: %s", sp->alias, e);
		free(e);
		return -1;
	}
	sb_plan_free(&p);
	if (ns_ok)
		return 0;
	if (cf && cf->fallback_landlock && landlock_ok)
		return 0;
	*why = xstrdup(cf && cf->fallback_landlock ? "neither namespaces "
	    "nor Landlock work here (see above)" : "the sandbox cannot run "
	    "here (see above); fix that, or accept less isolation with "
	    "\"fallback\": \"landlock\"");
	return -1;
}
