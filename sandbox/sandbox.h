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
	pid_t pid;		/* signal this to reach the whole child */
	int in;			/* child's stdin (we write) */
	int out;		/* child's stdout (we read) */
	int err;		/* child's stderr (we read) */
};

/* Start a child with pipes on its stdin, stdout and stderr, close-on-exec
   and non-blocking on our side. Returns 0, or -1 with *err ("step:
   reason", caller frees) when any set-up step failed. */
int sandbox_spawn(const struct sandbox_spec *, struct sandbox_proc *,
    char **err);
/* Send sig to the child and everything it started. */
int sandbox_kill(const struct sandbox_proc *, int sig);
/* Name of the backend this build uses; "none" runs commands as they are. */
const char *sandbox_backend(void);
/* Find cmd on PATH (path from envp, else ours); caller owns the result.
   NULL with errno set when not found or not executable. */
char *sandbox_resolve(const char *cmd, char *const *envp);

#endif
