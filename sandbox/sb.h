/* What the sandbox's parts share: the plan the parent computes before
   cloning, and the steps the child runs from it. Not for the rest of
   corral; sandbox.h is the interface. */
#ifndef CORRAL_SB_H
#define CORRAL_SB_H

#include <sys/types.h>

#include <linux/filter.h>

#include "sandbox/sandbox.h"

/* The outside uid/gid the sandbox runs as when corral is root. */
#define SB_NOBODY 65534

/* Where the egress proxy listens inside a sandbox's own network
   namespace (127.0.0.1); nothing else shares that namespace. */
#define SB_PROXY_PORT 3128

/* One mount-plan entry, applied in order inside the new root. */
enum sb_kind {
	SB_BIND,	/* src (host) bound at dst */
	SB_TMPFS,	/* a fresh tmpfs of size bytes, mode */
	SB_DIR,		/* an empty directory */
	SB_SYMLINK,	/* dst -> src */
	SB_FILE,	/* a file holding src */
	SB_PROC,	/* a fresh /proc of the new pid namespace */
	SB_COVER,	/* dst (already in the tree) made read-only */
	SB_HOME,	/* the private HOME, opened without following links */
};

#define SB_RO		0x01	/* read-only */
#define SB_DEV		0x02	/* device nodes work (no nodev) */
#define SB_OPTIONAL	0x04	/* skip when the source is missing */
#define SB_PROTECT	0x08	/* rw tree: startup files stay read-only */
#define SB_NOEXEC	0x10

struct sb_mount {
	enum sb_kind kind;
	int flags;
	char *src;		/* bind: host path; symlink: target; file:
				   contents */
	char *dst;		/* path inside the sandbox */
	size_t size;		/* tmpfs: bytes */
	mode_t mode;		/* tmpfs, dir, file */
	int fd;			/* child: the opened source, or -1 */
};

/* Resource limits applied to the server; value for soft and hard. */
struct sb_limit {
	int resource;
	const char *name;	/* as in the config's "limits" */
	unsigned long long value;
};

#define SB_NLIMITS 6

/* Everything the child needs, computed by the parent before cloning so
   that the child only runs steps. */
struct sb_plan {
	const char *alias;
	const struct sandbox_conf *conf;	/* never NULL */
	int root;		/* corral is root: run as SB_NOBODY */
	uid_t uid;		/* outside ids mapped into the sandbox */
	gid_t gid;
	int netns;		/* own network namespace */
	int egress;		/* a host list: the proxy listener is made
				   inside and handed to corral */
	int degraded;		/* no namespaces: Landlock carries it */
	struct sb_mount *m;
	int nm;
	char *home;		/* HOME inside (degraded: the host path) */
	char *state;		/* host: the state base directory */
	char *home_rel;		/* under state: corral/servers/ALIAS/home;
				   NULL when ephemeral */
	char *hostname;
	char *path;		/* what to execve */
	char *const *argv;
	char **envp;		/* final environment */
	char *cwd;		/* inside; NULL: HOME */
	char **ro;		/* Landlock: readable trees */
	int nro;
	char **rw;		/* Landlock: writable trees */
	int nrw;
	char **dev;		/* Landlock: usable device nodes */
	int ndev;
	struct sb_limit lim[SB_NLIMITS];
	const struct sock_fprog *bpf;	/* NULL: seccomp off */
};

/* Build the plan for spec; degraded: for Landlock without namespaces.
   Returns 0, or -1 with *err (caller frees) naming the step. */
int sb_plan_build(const struct sandbox_spec *, int degraded,
    struct sb_plan *, char **err);
void sb_plan_free(struct sb_plan *);
/* The state base: $XDG_STATE_HOME, else ~/.local/state; caller owns. */
char *sb_state_base(void);
/* The directory name for an alias (injective, no '/' nor leading '.');
   caller owns. */
char *sb_alias_dir(const char *alias);
/* Open (create: make, 0700, and as root hand to SB_NOBODY) rel under
   base, never following a symlink below base. Returns an O_DIRECTORY fd
   or -1 with errno. */
int sb_home_open(const char *base, const char *rel, int create, int root);

/* The error report a child sends before it exits. */
struct sb_report {
	int err;		/* errno */
	int ns;			/* a namespace step: fallback may apply */
	char step[240];
};

/* In a child: the error pipe; sb_fail reports step and errno there and
   _exits. */
extern int sb_errfd;
void sb_fail(const char *step) __attribute__((noreturn));
void sb_fail_ns(const char *step) __attribute__((noreturn));
void sb_failf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Namespaces: clone, maps, mounts, init. Returns 0 (pr filled), or -1
   with *rep filled (rep->step empty: a parent-side error in errno). */
int sb_ns_spawn(struct sb_plan *, int fds[6], struct sandbox_proc *,
    struct sb_report *);
/* No namespaces: fork and run the server steps. As sb_ns_spawn. */
int sb_plain_spawn(struct sb_plan *, int fds[6], struct sandbox_proc *,
    struct sb_report *);
/* In the server process: setsid, fds, env, limits, capabilities,
   no_new_privs, Landlock, seccomp, execve. Never returns. */
void sb_exec_server(const struct sb_plan *) __attribute__((noreturn));

/* The compiled filter, built once; NULL with *err on failure. */
const struct sock_fprog *sb_seccomp_filter(char **err);
/* Load a filter in this process; 0 or -1 with errno. */
int sb_seccomp_load(const struct sock_fprog *);

/* Landlock ABI version, or 0 (errno set) when the kernel has none. */
int sb_landlock_abi(void);
/* Restrict this process to the plan's lists: ro trees readable, dev
   nodes usable, rw trees writable; degraded without network: no TCP.
   0, or -1 with errno (ENOSYS/EOPNOTSUPP: no Landlock). */
int sb_landlock_apply(const struct sb_plan *);

/* Fill the limits from the defaults and conf. */
void sb_limits_init(struct sb_limit *, const struct sandbox_conf *);
/* Apply them; 0 or -1 with errno, *which naming the limit. */
int sb_limits_apply(const struct sb_limit *, const char **which);
/* Drop every capability: bounding, ambient, inheritable, permitted,
   effective (keep_setid: all but CAP_SETUID and CAP_SETGID, for a root
   that still has to change its ids). 0 or -1 with errno. */
int sb_caps_drop(int keep_setid);

/* cgroup v2. The path of the "0::" line of /proc/self/cgroup text, or
   NULL; caller owns. */
char *sb_cgroup_self_path(const char *text);
/* The first cgroup2 mount point in /proc/self/mountinfo text, and its
   root within the hierarchy in *root; NULL when none. Caller frees
   both. */
char *sb_cgroup_mount(const char *text, char **root);
/* The directory of cgroup path under mount (showing root); NULL when
   path is not below root. Caller owns. */
char *sb_cgroup_dir(const char *mount, const char *root, const char *path);
/* cpu.max for a number of CPUs: "QUOTA 100000". */
void sb_cgroup_cpu_max(double cpus, char *buf, size_t n);
/* In the parent, before the sandbox's pid 1 is released: put it in a
   cgroup of its own with the plan's limits, where corral's cgroup is
   delegated; otherwise say once why not and carry on. */
void sb_cgroup_attach(const struct sb_plan *, pid_t);

/* Startup files kept read-only at the top of each writable tree. */
extern const char *const sb_protected[];

/* A hint for a failed step when the cause is known; NULL or static. */
const char *sb_hint(const char *step, int err);

#endif
