/* cgroup v2 limits (memory.max, pids.max, cpu.max, memory.oom.group)
   where corral's own cgroup is delegated to it, i.e. it can create a
   directory there. The layout, under corral's cgroup C:

     C/corral-PID/                 no processes; controllers enabled in
                                   its cgroup.subtree_control
     C/corral-PID/corral-ALIAS-N   one leaf per sandbox, N its pid 1

   A cgroup with processes cannot enable controllers for its children
   ("no internal processes"), so when C's subtree_control lacks one and
   corral is C's only process, corral moves itself into the leaf
   C/corral-PID.self first. Anything failing leaves the sandbox with its
   rlimits only, said once on stderr; it never fails a child. */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sandbox.h"
#include "sandbox/sb.h"

#define CG_MEMORY	0x1
#define CG_PIDS		0x2
#define CG_CPU		0x4

static const char *const cg_names[] = { "memory", "pids", "cpu" };

struct cg_leaf {
	pid_t pid;
	char *path;
};

static int cg_state;		/* 0 not tried, 1 ready, -1 unavailable */
static int cg_avail;		/* CG_* enabled for the leaves */
static int cg_said;		/* reasons already given: CG_* | 0x100 */
static int cg_have;		/* CG_* in C's cgroup.controllers */
static char *cg_base;		/* C, corral's cgroup */
static char *cg_parent;		/* C/corral-PID */
static struct cg_leaf *cg_leaves;
static int cg_nleaves;

/* ---- pure helpers (unit tested) ---- */

char *
sb_cgroup_self_path(const char *text)
{
	const char *l, *e;

	for (l = text; l && *l; l = e ? e + 1 : NULL) {
		e = strchr(l, '\n');
		if (strncmp(l, "0::", 3) == 0 && l[3] == '/')
			return e ? xstrndup(l + 3, e - (l + 3)) :
			    xstrdup(l + 3);
		if (e == NULL)
			break;
	}
	return NULL;
}

/* Undo mountinfo's octal escapes (\040 and the like) in place. */
static void
unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

char *
sb_cgroup_mount(const char *text, char **root)
{
	char *copy = xstrdup(text), *line, *save = NULL, *f[5], *sep, *r = NULL;
	int i;

	*root = NULL;
	for (line = strtok_r(copy, "\n", &save); line && r == NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *s2 = NULL;

		for (i = 0; i < 5; i++)
			if ((f[i] = strtok_r(i ? NULL : p, " ", &s2)) == NULL)
				break;
		if (i < 5 || s2 == NULL || (sep = strstr(s2, "- ")) == NULL ||
		    (sep != s2 && sep[-1] != ' '))
			continue;
		if (strncmp(sep + 2, "cgroup2 ", 8) != 0)
			continue;
		unescape(f[3]);
		unescape(f[4]);
		*root = xstrdup(f[3]);
		r = xstrdup(f[4]);
	}
	free(copy);
	return r;
}

char *
sb_cgroup_dir(const char *mount, const char *root, const char *path)
{
	size_t n = strlen(root);

	/* The mount shows the hierarchy from root down; path is from the
	   hierarchy's top. */
	if (strcmp(root, "/") != 0) {
		if (strncmp(path, root, n) != 0 ||
		    (path[n] != '/' && path[n] != '\0'))
			return NULL;
		path += n;
	}
	while (*path == '/')
		path++;
	return *path ? xasprintf("%s/%s", mount, path) : xstrdup(mount);
}

void
sb_cgroup_cpu_max(double cpus, char *buf, size_t n)
{
	/* The kernel's period is 100ms by default; a quota below 1ms is
	   refused. */
	unsigned long long q = (unsigned long long)(cpus * 100000 + 0.5);

	if (q < 1000)
		q = 1000;
	snprintf(buf, n, "%llu 100000", q);
}

/* ---- the files ---- */

static char *
slurp(const char *path)
{
	char buf[65536];
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return xstrdup(buf);
}

/* Write text to dir/name; 0 or -1 with errno. */
static int
put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC), e;
	ssize_t n;

	free(path);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* The CG_* controllers listed in dir/name (space-separated words). */
static int
controllers(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), *t = slurp(path), *w,
	    *save = NULL;
	int m = 0, i;

	free(path);
	for (w = t ? strtok_r(t, " \n", &save) : NULL; w;
	    w = strtok_r(NULL, " \n", &save))
		for (i = 0; i < 3; i++)
			if (strcmp(w, cg_names[i]) == 0)
				m |= 1 << i;
	free(t);
	return m;
}

static void
unavailable(int which, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Say once per cause that cgroup limits are off. */
static void
unavailable(int which, const char *fmt, ...)
{
	va_list ap;
	char *why;

	if (cg_said & which)
		return;
	cg_said |= which;
	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		fatal("out of memory");
	va_end(ap);
	logmsg("sandbox: cgroup limits unavailable: %s; the rlimits still "
	    "apply", why);
	free(why);
}

/* Whether dir's cgroup.procs holds this process and no other. */
static int
only_us(const char *dir)
{
	char *path = xasprintf("%s/cgroup.procs", dir), *t = slurp(path);
	char self[32];
	int ok;

	free(path);
	snprintf(self, sizeof(self), "%d\n", (int)getpid());
	ok = t && strcmp(t, self) == 0;
	free(t);
	return ok;
}

static void
cg_exit(void)
{
	int i;

	for (i = 0; i < cg_nleaves; i++)
		rmdir(cg_leaves[i].path);
	if (cg_parent)
		rmdir(cg_parent);
}

/* Find corral's cgroup and prepare C/corral-PID; 0, or -1 said. */
static int
cg_setup(void)
{
	char *text, *rel = NULL, *mnt = NULL, *root = NULL, *c = NULL;
	char *self = NULL, pid[32], ctl[16];
	int have, i, r = -1;

	if ((text = slurp("/proc/self/cgroup")) != NULL)
		rel = sb_cgroup_self_path(text);
	free(text);
	if (rel == NULL) {
		unavailable(0x100, "this process is in no cgroup v2 hierarchy");
		return -1;
	}
	if ((text = slurp("/proc/self/mountinfo")) != NULL)
		mnt = sb_cgroup_mount(text, &root);
	free(text);
	if (mnt == NULL || (c = sb_cgroup_dir(mnt, root, rel)) == NULL) {
		unavailable(0x100, "cgroup v2 is not mounted (or not our "
		    "part of it)");
		goto out;
	}
	cg_parent = xasprintf("%s/corral-%d", c, (int)getpid());
	if (mkdir(cg_parent, 0755) < 0 && errno != EEXIST) {
		unavailable(0x100, "cannot create a cgroup in %s (not "
		    "delegated to this user): %s", c, strerror(errno));
		free(cg_parent);
		cg_parent = NULL;
		goto out;
	}
	atexit(cg_exit);
	have = controllers(c, "cgroup.subtree_control");
	cg_have = controllers(c, "cgroup.controllers");
	cg_base = xstrdup(c);
	if ((cg_have & ~have) != 0 &&
	    only_us(c)) {
		/* Enabling needs C empty: corral moves to a leaf of its
		   own. */
		self = xasprintf("%s.self", cg_parent);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if ((mkdir(self, 0755) < 0 && errno != EEXIST) ||
		    put(self, "cgroup.procs", pid) < 0)
			rmdir(self);
	}
	for (i = 0; i < 3; i++) {
		if (have & (1 << i))
			continue;
		snprintf(ctl, sizeof(ctl), "+%s", cg_names[i]);
		if (put(c, "cgroup.subtree_control", ctl) == 0)
			have |= 1 << i;
	}
	for (i = 0; i < 3; i++) {
		snprintf(ctl, sizeof(ctl), "+%s", cg_names[i]);
		if ((have & (1 << i)) && put(cg_parent,
		    "cgroup.subtree_control", ctl) == 0)
			cg_avail |= 1 << i;
	}
	r = 0;
out:
	free(rel);
	free(mnt);
	free(root);
	free(c);
	free(self);
	return r;
}

void
sb_cgroup_attach(const struct sb_plan *p, pid_t pid)
{
	const struct sandbox_conf *cf = p->conf;
	int need = CG_PIDS | (cf->memory > 0 ? CG_MEMORY : 0) |
	    (cf->cpu > 0 ? CG_CPU : 0), i;
	char *leaf = NULL, *dir, val[64];
	const char *step = NULL;

	if (cg_state == 0)
		cg_state = cg_setup() == 0 ? 1 : -1;
	if (cg_state < 0)
		return;
	if ((need & ~cg_avail) != 0) {
		for (i = 0; i < 3; i++)
			if (need & ~cg_avail & (1 << i))
				break;
		if (!(cg_have & (1 << i)))
			unavailable(1 << i, "the %s controller is not "
			    "available in %s (not in its cgroup.controllers: "
			    "not delegated, or bound to cgroup v1)",
			    cg_names[i], cg_base);
		else
			unavailable(1 << i, "the %s controller cannot be "
			    "enabled below %s (it has other processes)",
			    cg_names[i], cg_base);
		return;
	}
	dir = sb_alias_dir(p->alias);
	leaf = xasprintf("%s/corral-%s-%d", cg_parent, dir, (int)pid);
	free(dir);
	if (mkdir(leaf, 0755) < 0) {
		unavailable(0x100, "mkdir %s: %s", leaf, strerror(errno));
		free(leaf);
		return;
	}
	snprintf(val, sizeof(val), "%.0f", cf->pids > 0 ? cf->pids : 512.0);
	if (put(leaf, "pids.max", val) < 0)
		step = "pids.max";
	if (!step && cf->memory > 0) {
		snprintf(val, sizeof(val), "%.0f", cf->memory);
		if (put(leaf, "memory.max", val) < 0)
			step = "memory.max";
	}
	/* An OOM kill takes the whole sandbox, not one of its processes. */
	if (!step && (cg_avail & CG_MEMORY) &&
	    put(leaf, "memory.oom.group", "1") < 0)
		step = "memory.oom.group";
	if (!step && cf->cpu > 0) {
		sb_cgroup_cpu_max(cf->cpu, val, sizeof(val));
		if (put(leaf, "cpu.max", val) < 0)
			step = "cpu.max";
	}
	snprintf(val, sizeof(val), "%d", (int)pid);
	if (!step && put(leaf, "cgroup.procs", val) < 0)
		step = "cgroup.procs";
	if (step) {
		unavailable(0x200, "%s/%s: %s", leaf, step, strerror(errno));
		rmdir(leaf);
		free(leaf);
		return;
	}
	cg_leaves = xrealloc(cg_leaves, (cg_nleaves + 1) * sizeof(*cg_leaves));
	cg_leaves[cg_nleaves].pid = pid;
	cg_leaves[cg_nleaves].path = leaf;
	cg_nleaves++;
}

void
sandbox_reaped(const struct sandbox_proc *pr)
{
	struct timespec ms = { 0, 1000000 };
	int i, n;

	for (i = 0; i < cg_nleaves; i++)
		if (cg_leaves[i].pid == pr->pid)
			break;
	if (i == cg_nleaves)
		return;
	/* With its pid 1 reaped the pid namespace is empty; anything left
	   (the degraded tier has none here) is killed and waited for a
	   little. */
	for (n = 0; rmdir(cg_leaves[i].path) < 0 && errno == EBUSY &&
	    n < 200; n++) {
		if (n == 0)
			put(cg_leaves[i].path, "cgroup.kill", "1");
		nanosleep(&ms, NULL);
	}
	free(cg_leaves[i].path);
	cg_leaves[i] = cg_leaves[--cg_nleaves];
}
