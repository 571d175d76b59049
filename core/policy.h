/* Policy: which tool calls run, which are refused, which ask a human. */
#ifndef CORRAL_POLICY_H
#define CORRAL_POLICY_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The zero value denies: a forgotten branch refuses. */
enum decision { DEC_DENY = 0, DEC_ASK = 1, DEC_ALLOW = 2 };

struct argcond {
	char *pointer;		/* RFC 6901 pointer into the arguments */
	char *glob;		/* string glob, or NULL */
	cJSON *equals;		/* JSON value to equal, or NULL */
};

struct rule {
	enum decision action;
	char *tool;		/* glob on the server's own tool name */
	struct argcond *conds;
	int nconds;
	char *where;		/* config path, for "the rule that decided" */
};

struct policy {
	int has_default;
	enum decision dflt;
	struct rule *rules;
	int nrules;
};

struct limits {
	double rate;		/* calls per second allowed; 0: none */
	double burst;		/* bucket size */
	char *rate_text;	/* as configured, for messages */
	int max_concurrent;	/* 0: none */
	double max_result_bytes;	/* 0: none */
};

struct tool_limits {
	char *glob;
	struct limits lim;
};

/* Decide a call of tool (the server's own name) with arguments args and
   annotations ann. server and global may be NULL. *why gets a static or
   policy-owned text naming the rule or default that decided. */
enum decision policy_decide(const struct policy *server,
    const struct policy *global, int trust_annotations, const char *tool,
    const cJSON *args, const cJSON *ann, const char **why);
/* Glob where '*' and '?' stop at '/', '**' crosses it. */
int policy_glob(const char *pattern, const char *s);
/* Resolve an RFC 6901 pointer; borrowed result or NULL. */
const cJSON *policy_pointer(const cJSON *root, const char *pointer);
/* Lexically normalise an absolute path (".", "..", "//"); caller frees;
   NULL when it is not absolute. */
char *policy_normpath(const char *);
/* Parse "N/sec", "N/min", "N/hour" into calls per second; -1 if bad. */
double policy_rate(const char *);
const char *policy_word(enum decision);
void policy_clear(struct policy *);

/* Does any rule of p look at the arguments? */
int policy_has_conditions(const struct policy *);

#endif
