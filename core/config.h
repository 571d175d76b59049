/* Config loading and validation. */
#ifndef CORRAL_CONFIG_H
#define CORRAL_CONFIG_H

#include <stddef.h>

#include "core/netaddr.h"
#include "core/policy.h"

/* Sandbox knobs of one server; zero values are the strict defaults. */
struct sandbox_conf {
	int profile_none;	/* "profile": "none" */
	int net_full;		/* "network": "full" */
	struct net_rule *net;	/* "network": [hosts]: egress through
				   corral's filtering proxy */
	int nnet;
	char **ro;		/* extra read-only paths, as configured */
	int nro;
	char **rw;		/* extra writable paths */
	int nrw;
	int home_ephemeral;	/* "home": "ephemeral" */
	int seccomp_off;	/* "seccomp": "off" */
	int fallback_landlock;	/* "fallback": "landlock" */
	double nofile, nproc, data, fsize, memlock;	/* 0: default */
	double tmp, shm;	/* tmpfs sizes in bytes; 0: default */
	/* cgroup v2, where a delegated cgroup is writable; 0: default
	   (pids 512, memory and cpu unlimited) */
	double memory;		/* bytes: memory.max */
	double pids;		/* pids.max */
	double cpu;		/* CPUs, may be fractional: cpu.max */
};

struct server_conf {
	char *alias;
	char *prefix;		/* exposed name prefix: alias unless set */
	char *command;		/* as configured, after substitution */
	char **argv;		/* argv[0] = command; NULL-terminated */
	int argc;
	char **env;		/* "NAME=value", configured entries */
	int nenv;
	char *cwd;		/* absolute, or NULL */
	int disabled;
	char **allow;		/* tools.allow globs; NULL: all */
	int nallow;
	char **deny;		/* tools.deny globs */
	int ndeny;
	double t_start;		/* seconds from spawn to ready */
	double t_call;		/* idle time per request; progress resets */
	double t_call_max;	/* hard cap per request */
	double t_idle;		/* a lazy server idle this long stops; 0: never */
	int idle_set;		/* timeouts.idle given */
	int lazy;		/* "start": "lazy" (or corral.start) */
	int start_set;		/* "start" given */
	int max_failures;	/* quick failures before giving up */
	double backoff;		/* first restart delay */
	double backoff_max;
	double reset_after;	/* uptime that resets the failure count */
	struct sandbox_conf sandbox;
	struct policy policy;
	int trust_annotations;
	struct limits lim;		/* for the whole server */
	struct tool_limits *tlims;	/* limits.tools: per tool glob */
	int ntlims;
	char *fingerprint;	/* canonical text of the entry */
	/* "type": "http": a remote server reached over Streamable HTTP. */
	int remote;
	int legacy_sse;		/* "type": "sse": the 2024-11-05 HTTP+SSE */
	char *url;		/* http(s)://..., after substitution */
	char **headers;		/* "Name: value", after substitution */
	int nheaders;
	/* "oauth": how `corral login` gets a client; NULL: not set. */
	char *oauth_client_id;		/* else dynamic registration */
	char *oauth_client_secret;	/* after substitution; a secret */
	char *oauth_scopes;		/* space-separated */
	int oauth_allow_local;		/* tests only: http and local
					   addresses for discovery */
};

struct config {
	char *path;		/* NULL when parsed from memory */
	char *dir;		/* relative paths resolve against this */
	struct server_conf *servers;
	int nservers;
	char sep[9];		/* naming separator */
	size_t max_message;	/* bytes per message on every link */
	double t_initialize;	/* how long initialize waits for children */
	double t_shutdown;	/* each shutdown step's grace */
	double t_idle;		/* corral.timeouts.idle: servers' default */
	int idle_set;
	int lazy;		/* corral.start: "lazy" */
	int max_starting;	/* servers starting at once; 0: no limit */
	struct policy policy;	/* corral.policy */
	int channels[4];	/* consent channels in order */
	int nchannels;
	double consent_timeout;
	char **consent_cmd;	/* argv of the "command" channel */
	char sha256[65];	/* of the file's bytes; "" from memory */
	/* Canonical text of the "corral" section: what a reload can apply
	   (policy, consent, max_starting), and the rest. */
	char *live_fp;
	char *global_fp;
	/* Values of ${env:...} substitutions and of configured headers:
	   never written to the audit log or spans. */
	char **secrets;
	int nsecrets;
	/* corral.audit */
	int audit_off;		/* "enabled": false */
	char *audit_path;	/* absolute, or NULL: <state dir>/audit.jsonl */
	int audit_capture;	/* enum audit_capture */
	int audit_fsync;	/* enum audit_fsync (audit.h) */
	double audit_rotate;	/* bytes; 0: never rotate */
	int audit_keep;		/* rotated files kept */
	int audit_continue;	/* on_failure: "continue" */
	/* corral.otel */
	char *otel_endpoint;	/* NULL: no export */
	char **otel_headers;	/* "Name: value", NULL-terminated */
	int notel_headers;
	char *otel_service;	/* service.name */
	double otel_timeout;	/* per POST */
	int otel_queue;		/* spans held at most */
};

enum audit_capture { CAPTURE_SHAPE = 0, CAPTURE_NONE, CAPTURE_FULL };

enum consent_channel { CONSENT_ELICITATION, CONSENT_TTY, CONSENT_DIALOG,
	CONSENT_COMMAND };

/* Parse config text; dir resolves relative paths. Returns 0 and *out
   (caller frees with config_free) or -1 and *err (caller frees). */
int config_parse(const char *text, size_t len, const char *dir,
    struct config **out, char **err);
/* Load and check a config file: refused when group- or world-writable or
   owned by another user. As config_parse. */
int config_load(const char *path, struct config **out, char **err);
void config_free(struct config *);
/* Free a sandbox's host list (config_free does it for a config). */
void config_net_free(struct sandbox_conf *);
/* $XDG_CONFIG_HOME/corral/config.json (or ~/.config/...); caller owns. */
char *config_default_path(void);
/* A file's bytes, NUL-terminated, at most max of them; caller frees.
   NULL with errno set (EFBIG: too big, ENODATA: empty). */
char *config_read_small(const char *path, size_t max, size_t *np);
/* A config with one server, for `corral run`: argv is copied. */
struct config *config_single(const char *alias, char *const argv[]);
/* Whether two entries would run the same server: the same entry text and
   the same values substituted into it. */
int config_server_same(const struct server_conf *, const struct server_conf *);

#endif
