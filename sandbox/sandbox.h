/* The whole sandbox interface: describe a child, spawn it, signal it. */
#ifndef CORRAL_SANDBOX_H
#define CORRAL_SANDBOX_H

#include <sys/types.h>

#include "core/config.h"

struct sandbox_spec {
	const char *alias;
	const char *path;	/* resolved executable */
	char *const *argv;
	char *const *envp;	/* the child's whole environment */
	const char *cwd;	/* or NULL */
	const struct sandbox_conf *conf;	/* knobs; NULL: strict */
};

struct sandbox_proc {
	pid_t pid;		/* the child corral reaps */
	int in;			/* child's stdin (we write) */
	int out;		/* child's stdout (we read) */
	int err;		/* child's stderr (we read) */
	int group;		/* set by sandbox_spawn: pid leads a process
				   group (no pid namespace) */
	int proxy;		/* a host list: the egress proxy's listening
				   socket (in the sandbox's network
				   namespace, non-blocking; caller owns);
				   else -1 */
};

/* Start a child with pipes on its stdin, stdout and stderr, close-on-exec
   and non-blocking on our side. With the strict profile the child is the
   sandbox's pid 1, which runs the server. Returns 0, or -1 with *err
   ("sandbox: ALIAS: step: reason[; hint]" for a sandbox step; caller
   frees). Profile "none" is announced on stderr at every start. */
int sandbox_spawn(const struct sandbox_spec *, struct sandbox_proc *,
    char **err);
/* Send sig to the child and everything it started: to the sandbox's
   pid 1 (which forwards TERM, INT and HUP to the server; KILL ends the
   whole pid namespace), or to the process group. */
int sandbox_kill(const struct sandbox_proc *, int sig);
/* The child was reaped: remove its cgroup, if it had one. */
void sandbox_reaped(const struct sandbox_proc *);
/* Name of the backend this build uses: "namespaces". */
const char *sandbox_backend(void);
/* Find cmd on PATH (path from envp, else ours); caller owns the result.
   NULL with errno set when not found or not executable. */
char *sandbox_resolve(const char *cmd, char *const *envp);
/* Each departure of conf from the strict profile, one per line, for the
   log at child start; NULL when there is none (or for profile "none",
   which sandbox_spawn announces itself). Caller frees. */
char *sandbox_departures(const struct sandbox_conf *);

/* One finding of `corral doctor`. */
struct sandbox_check {
	const char *name;	/* static */
	int level;		/* 0 ok, 1 note, 2 problem */
	char *detail;		/* caller frees */
};

/* Try what the sandbox needs on this machine: user namespaces and their
   sysctls, AppArmor's restriction, the id maps and mounts (a trial
   sandbox), seccomp, Landlock, cgroup v2 delegation. Fills up to max
   checks and returns how many; *ns_ok and *landlock_ok say whether the
   strict profile and the degraded tier can run. */
int sandbox_checks(struct sandbox_check *, int max, int *ns_ok,
    int *landlock_ok);
/* Whether the server described by spec can start here, given the
   machine's checks: 0, or -1 with *why naming the cause and the fix
   (caller frees). Creates its private HOME as a start would. */
int sandbox_check_server(const struct sandbox_spec *, int ns_ok,
    int landlock_ok, char **why);
/* The AppArmor profile that lets this corral binary create user
   namespaces (Ubuntu 23.10+), with its path filled in; caller frees. */
char *sandbox_apparmor_profile(void);

#endif
