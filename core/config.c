/* Config loading and validation: every key known, every type checked, every
   error names its key path. */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/canon.h"
#include "core/config.h"
#include "core/netaddr.h"
#include "core/json.h"
#include "core/util.h"

#define CONFIG_MAX	(4 * 1024 * 1024)

/* Key paths in messages are built in fixed buffers; a path that does not
   fit is cut short in the message, which is harmless. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

struct ctx {
	const char *dir;
	char *err;
	struct config *cf;	/* collects secrets */
};

/* Remember a value that must never reach the audit log. */
static void
add_secret(struct ctx *c, const char *v)
{
	struct config *cf = c->cf;
	int i;

	if (cf == NULL || *v == '\0')
		return;
	for (i = 0; i < cf->nsecrets; i++)
		if (strcmp(cf->secrets[i], v) == 0)
			return;
	cf->secrets = xrealloc(cf->secrets, (cf->nsecrets + 1) *
	    sizeof(char *));
	cf->secrets[cf->nsecrets++] = xstrdup(v);
}

static int
errat(struct ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
errat(struct ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (c->err)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("out of memory");
	va_end(ap);
	c->err = xasprintf("%s: %s", path, msg);
	free(msg);
	return -1;
}

static const char *
type_name(const cJSON *j)
{
	if (cJSON_IsObject(j)) return "an object";
	if (cJSON_IsArray(j)) return "an array";
	if (cJSON_IsString(j)) return "a string";
	if (cJSON_IsNumber(j)) return "a number";
	if (cJSON_IsBool(j)) return "a boolean";
	return "null";
}

/* Refuse keys not in the list, and duplicate keys. */
static int
check_keys(struct ctx *c, const char *path, const cJSON *obj,
    const char *const *known)
{
	const cJSON *a, *b;
	int i;

	cJSON_ArrayForEach(a, obj) {
		for (b = obj->child; b != a; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return errat(c, path, "duplicate key \"%s\"",
				    a->string);
		for (i = 0; known[i]; i++)
			if (strcmp(known[i], a->string) == 0)
				break;
		if (known[i] == NULL)
			return errat(c, path, "unknown key \"%s\"", a->string);
	}
	return 0;
}

static int
want(struct ctx *c, const char *path, const cJSON *j, int ok,
    const char *what)
{
	if (!ok)
		return errat(c, path, "expected %s, got %s", what,
		    type_name(j));
	return 0;
}

/* An object whose keys are all in known (and none twice). */
static int
want_object(struct ctx *c, const char *path, const cJSON *j,
    const char *const *known)
{
	if (want(c, path, j, cJSON_IsObject(j), "an object") < 0)
		return -1;
	return check_keys(c, path, j, known);
}

/* Replace ${env:NAME} in s; caller owns the result. */
static char *
substitute(struct ctx *c, const char *path, const char *s)
{
	struct buf b;
	const char *p, *end;
	char name[256], *v;
	size_t n;

	buf_init(&b, 0);
	for (p = s; *p;) {
		if (strncmp(p, "${env:", 6) != 0) {
			buf_add(&b, p++, 1);
			continue;
		}
		if ((end = strchr(p + 6, '}')) == NULL) {
			errat(c, path, "unterminated ${env:...}");
			break;
		}
		n = end - (p + 6);
		if (n == 0 || n >= sizeof(name)) {
			errat(c, path, "bad variable name in ${env:...}");
			break;
		}
		memcpy(name, p + 6, n);
		name[n] = '\0';
		if ((v = getenv(name)) == NULL) {
			errat(c, path, "${env:%s}: variable is not set", name);
			break;
		}
		buf_adds(&b, v);
		add_secret(c, v);
		p = end + 1;
	}
	if (c->err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

static int
get_seconds(struct ctx *c, const char *path, const cJSON *j, double *out)
{
	if (want(c, path, j, cJSON_IsNumber(j), "a number of seconds") < 0)
		return -1;
	if (!(j->valuedouble > 0) || j->valuedouble > 1e7)
		return errat(c, path, "must be more than 0 and at most 10000000");
	*out = j->valuedouble;
	return 0;
}

/* An idle timeout: seconds like get_seconds, or 0 for never. */
static int
get_idle(struct ctx *c, const char *path, const cJSON *j, double *out)
{
	if (cJSON_IsNumber(j) && j->valuedouble == 0) {
		*out = 0;
		return 0;
	}
	if (want(c, path, j, cJSON_IsNumber(j), "a number of seconds") < 0)
		return -1;
	if (!(j->valuedouble > 0) || j->valuedouble > 1e7)
		return errat(c, path, "must be 0 (never) or more than 0 and at "
		    "most 10000000");
	*out = j->valuedouble;
	return 0;
}

/* "start": "eager" or "lazy"; *lazy set. */
static int
get_start(struct ctx *c, const char *path, const cJSON *j, int *lazy)
{
	if (want(c, path, j, cJSON_IsString(j), "a string") < 0)
		return -1;
	if (strcmp(j->valuestring, "eager") != 0 &&
	    strcmp(j->valuestring, "lazy") != 0)
		return errat(c, path, "must be \"eager\" or \"lazy\"");
	*lazy = strcmp(j->valuestring, "lazy") == 0;
	return 0;
}

static int
get_int(struct ctx *c, const char *path, const cJSON *j, double lo,
    double hi, double *out)
{
	if (want(c, path, j, cJSON_IsNumber(j), "an integer") < 0)
		return -1;
	if (j->valuedouble != floor(j->valuedouble) || j->valuedouble < lo ||
	    j->valuedouble > hi)
		return errat(c, path, "must be an integer from %.0f to %.0f",
		    lo, hi);
	*out = j->valuedouble;
	return 0;
}

static int
str_array(struct ctx *c, const char *path, const cJSON *j, char ***out,
    int *nout, int subst)
{
	const cJSON *e;
	char ep[512];
	int n = 0;

	if (want(c, path, j, cJSON_IsArray(j), "an array of strings") < 0)
		return -1;
	*out = xcalloc(cJSON_GetArraySize(j) + 1, sizeof(char *));
	cJSON_ArrayForEach(e, j) {
		snprintf(ep, sizeof(ep), "%s[%d]", path, n);
		if (want(c, ep, e, cJSON_IsString(e), "a string") < 0)
			return -1;
		(*out)[n] = subst ? substitute(c, ep, e->valuestring) :
		    xstrdup(e->valuestring);
		if ((*out)[n] == NULL)
			return -1;
		n++;
	}
	*nout = n;
	return 0;
}

static char *
resolve(const char *dir, const char *p)
{
	if (p[0] == '/' || dir == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", dir, p);
}

static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static int
parse_tools(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	static const char *const keys[] = { "allow", "deny", NULL };
	const cJSON *v;
	char p[512];

	if (want_object(c, path, j, keys) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s.allow", path);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "allow")) &&
	    str_array(c, p, v, &s->allow, &s->nallow, 0) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s.deny", path);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "deny")) &&
	    str_array(c, p, v, &s->deny, &s->ndeny, 0) < 0)
		return -1;
	return 0;
}

static int
parse_timeouts(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	static const char *const keys[] = { "start", "call", "call_max",
	    "idle", NULL };
	const cJSON *v;
	char p[512];

	if (want_object(c, path, j, keys) < 0)
		return -1;
	cJSON_ArrayForEach(v, j) {
		double *dst = strcmp(v->string, "start") == 0 ? &s->t_start :
		    strcmp(v->string, "call") == 0 ? &s->t_call :
		    strcmp(v->string, "call_max") == 0 ? &s->t_call_max :
		    &s->t_idle;

		snprintf(p, sizeof(p), "%s.%s", path, v->string);
		if (dst == &s->t_idle) {
			if (get_idle(c, p, v, dst) < 0)
				return -1;
			s->idle_set = 1;
		} else if (get_seconds(c, p, v, dst) < 0)
			return -1;
	}
	/* A long idle timeout raises the default cap with it. */
	if (!cJSON_GetObjectItemCaseSensitive(j, "call_max") &&
	    s->t_call_max < s->t_call)
		s->t_call_max = s->t_call;
	if (s->t_call_max < s->t_call)
		return errat(c, path, "call_max (%g) is less than call (%g)",
		    s->t_call_max, s->t_call);
	return 0;
}

static int
parse_restart(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	static const char *const keys[] = { "max_failures", "backoff",
	    "backoff_max", "reset_after", NULL };
	const cJSON *v;
	char p[512];
	double d;

	if (want_object(c, path, j, keys) < 0)
		return -1;
	cJSON_ArrayForEach(v, j) {
		snprintf(p, sizeof(p), "%s.%s", path, v->string);
		if (strcmp(v->string, "max_failures") == 0) {
			if (get_int(c, p, v, 0, 1000, &d) < 0)
				return -1;
			s->max_failures = (int)d;
		} else if (get_seconds(c, p, v,
		    strcmp(v->string, "backoff") == 0 ? &s->backoff :
		    strcmp(v->string, "backoff_max") == 0 ? &s->backoff_max :
		    &s->reset_after) < 0)
			return -1;
	}
	if (s->backoff_max < s->backoff)
		return errat(c, path, "backoff_max is less than backoff");
	return 0;
}

static int
parse_env(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	const cJSON *v, *b;
	char p[512], *val;
	int n = 0;

	if (want(c, path, j, cJSON_IsObject(j), "an object") < 0)
		return -1;
	s->env = xcalloc(cJSON_GetArraySize(j) + 1, sizeof(char *));
	cJSON_ArrayForEach(v, j) {
		snprintf(p, sizeof(p), "%s.%s", path, v->string);
		for (b = j->child; b != v; b = b->next)
			if (strcmp(v->string, b->string) == 0)
				return errat(c, path, "duplicate key \"%s\"",
				    v->string);
		if (v->string[0] == '\0' || strchr(v->string, '=') != NULL)
			return errat(c, p, "not a valid variable name");
		if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
			return -1;
		if ((val = substitute(c, p, v->valuestring)) == NULL)
			return -1;
		s->env[n++] = xasprintf("%s=%s", v->string, val);
		free(val);
	}
	s->nenv = n;
	return 0;
}

/* One of the listed words, or an error naming them. */
static int
get_word(struct ctx *c, const char *path, const cJSON *j,
    const char *const *words, int *out)
{
	int i;

	if (want(c, path, j, cJSON_IsString(j), "a string") < 0)
		return -1;
	for (i = 0; words[i]; i++) {
		if (strcmp(words[i], j->valuestring) == 0) {
			*out = i;
			return 0;
		}
	}
	{
		struct buf b;
		char *m;

		buf_init(&b, 0);
		for (i = 0; words[i]; i++)
			buf_addf(&b, "%s\"%s\"", i == 0 ? "" : words[i + 1] ?
			    ", " : " or ", words[i]);
		buf_add(&b, "", 1);
		m = buf_steal(&b, NULL);
		errat(c, path, "must be %s", m);
		free(m);
		return -1;
	}
}

/* A path grant: absolute, and never "/" or the home directory itself. */
static int
check_grant(struct ctx *c, const char *path, const char *g)
{
	const char *home = getenv("HOME");
	char *real;

	if (g[0] != '/')
		return errat(c, path, "\"%s\": paths must be absolute", g);
	real = realpath(g, NULL);
	if (strcmp(real ? real : g, "/") == 0) {
		free(real);
		return errat(c, path, "\"%s\": granting / would undo the "
		    "sandbox", g);
	}
	if (home && home[0] == '/') {
		char *rh = realpath(home, NULL);

		if (strcmp(real ? real : g, rh ? rh : home) == 0) {
			free(real);
			free(rh);
			return errat(c, path, "\"%s\": granting your whole "
			    "home directory would undo the sandbox; grant the "
			    "folders the server needs", g);
		}
		free(rh);
	}
	free(real);
	return 0;
}

static int
parse_limits(struct ctx *c, const char *path, const cJSON *j,
    struct sandbox_conf *sb)
{
	static const char *const keys[] = { "nofile", "nproc", "data",
	    "fsize", "memlock", "tmp", "shm", "memory", "pids", "cpu", NULL };
	const cJSON *v;
	char p[512];

	if (want_object(c, path, j, keys) < 0)
		return -1;
	cJSON_ArrayForEach(v, j) {
		double *dst;

		if (strcmp(v->string, "cpu") == 0) {
			/* A number of CPUs, fractions allowed: cpu.max. */
			snprintf(p, sizeof(p), "%s.cpu", path);
			if (want(c, p, v, cJSON_IsNumber(v), "a number") < 0)
				return -1;
			if (!(v->valuedouble > 0 && v->valuedouble <= 1024))
				return errat(c, p, "must be a number of CPUs "
				    "above 0 and at most 1024");
			sb->cpu = v->valuedouble;
			continue;
		}
		dst = strcmp(v->string, "nofile") == 0 ? &sb->nofile :
		    strcmp(v->string, "nproc") == 0 ? &sb->nproc :
		    strcmp(v->string, "data") == 0 ? &sb->data :
		    strcmp(v->string, "fsize") == 0 ? &sb->fsize :
		    strcmp(v->string, "memlock") == 0 ? &sb->memlock :
		    strcmp(v->string, "memory") == 0 ? &sb->memory :
		    strcmp(v->string, "pids") == 0 ? &sb->pids :
		    strcmp(v->string, "tmp") == 0 ? &sb->tmp : &sb->shm;

		snprintf(p, sizeof(p), "%s.%s", path, v->string);
		if (get_int(c, p, v, 1, 1e15, dst) < 0)
			return -1;
	}
	return 0;
}

/* The path list under key ("ro", "rw") of a sandbox object, if any. */
static int
parse_grants(struct ctx *c, const char *path, const cJSON *j,
    const char *key, char ***out, int *nout)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	char p[512];
	int i;

	if (v == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (str_array(c, p, v, out, nout, 1) < 0)
		return -1;
	for (i = 0; i < *nout; i++)
		if (check_grant(c, p, (*out)[i]) < 0)
			return -1;
	return 0;
}

/* "network": [HOST[:PORT], ...]: the hosts egress may reach. */
static int
parse_net_list(struct ctx *c, const char *path, const cJSON *v,
    struct sandbox_conf *sb)
{
	char **text = NULL, *err = NULL, ep[540];
	int n = 0, i, r = 0;

	if (str_array(c, path, v, &text, &n, 0) < 0) {
		r = -1;
		goto out;
	}
	if (n == 0) {
		r = errat(c, path, "an empty list lets nothing through; "
		    "use \"none\"");
		goto out;
	}
	sb->net = xcalloc(n, sizeof(*sb->net));
	for (i = 0; i < n && r == 0; i++) {
		snprintf(ep, sizeof(ep), "%s[%d]", path, i);
		if (netaddr_rule_parse(text[i], &sb->net[sb->nnet], &err) < 0)
			r = errat(c, ep, "%s", err);
		else
			sb->nnet++;
		free(err);
		err = NULL;
	}
out:
	for (i = 0; text && text[i]; i++)
		free(text[i]);
	free(text);
	return r;
}

static int
parse_sandbox(struct ctx *c, const char *path, const cJSON *j,
    struct sandbox_conf *sb)
{
	static const char *const keys[] = { "profile", "network", "ro", "rw",
	    "home", "limits", "seccomp", "fallback", NULL };
	static const char *const profiles[] = { "strict", "none", NULL };
	static const char *const nets[] = { "none", "full", NULL };
	static const char *const homes[] = { "private", "ephemeral", NULL };
	static const char *const secs[] = { "strict", "off", NULL };
	static const char *const falls[] = { "none", "landlock", NULL };
	const cJSON *v;
	char p[512];

	if (want_object(c, path, j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "profile"))) {
		snprintf(p, sizeof(p), "%s.profile", path);
		if (get_word(c, p, v, profiles, &sb->profile_none) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "network"))) {
		snprintf(p, sizeof(p), "%s.network", path);
		if (cJSON_IsArray(v)) {
			if (parse_net_list(c, p, v, sb) < 0)
				return -1;
		} else if (get_word(c, p, v, nets, &sb->net_full) < 0) {
			return -1;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "home"))) {
		snprintf(p, sizeof(p), "%s.home", path);
		if (get_word(c, p, v, homes, &sb->home_ephemeral) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "seccomp"))) {
		snprintf(p, sizeof(p), "%s.seccomp", path);
		if (get_word(c, p, v, secs, &sb->seccomp_off) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "fallback"))) {
		snprintf(p, sizeof(p), "%s.fallback", path);
		if (get_word(c, p, v, falls, &sb->fallback_landlock) < 0)
			return -1;
	}
	if (sb->nnet > 0 && sb->profile_none) {
		snprintf(p, sizeof(p), "%s.network", path);
		return errat(c, p, "a list of hosts needs the sandbox; with "
		    "profile \"none\" the server already reaches everything");
	}
	if (parse_grants(c, path, j, "ro", &sb->ro, &sb->nro) < 0 ||
	    parse_grants(c, path, j, "rw", &sb->rw, &sb->nrw) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "limits"))) {
		snprintf(p, sizeof(p), "%s.limits", path);
		if (parse_limits(c, p, v, sb) < 0)
			return -1;
	}
	return 0;
}

static int
parse_decision(struct ctx *c, const char *path, const cJSON *j,
    enum decision *out)
{
	static const char *const words[] = { "deny", "ask", "allow", NULL };
	int i;

	if (want(c, path, j, cJSON_IsString(j), "a string") < 0)
		return -1;
	for (i = 0; words[i]; i++) {
		if (strcmp(words[i], j->valuestring) == 0) {
			*out = (enum decision)i;
			return 0;
		}
	}
	return errat(c, path, "must be \"allow\", \"ask\" or \"deny\"");
}

/* A rule: "glob", or {"tool": "glob", "args": {"/pointer": value}}. */
static int
parse_rule(struct ctx *c, const char *path, const cJSON *j, struct rule *r)
{
	static const char *const keys[] = { "tool", "args", NULL };
	const cJSON *t, *a, *v;
	char p[512];
	int n = 0;

	r->where = xstrdup(path);
	if (cJSON_IsString(j)) {
		r->tool = xstrdup(j->valuestring);
		return 0;
	}
	if (want(c, path, j, cJSON_IsObject(j), "a tool name glob or an "
	    "object") < 0 || check_keys(c, path, j, keys) < 0)
		return -1;
	if ((t = cJSON_GetObjectItemCaseSensitive(j, "tool")) == NULL)
		return errat(c, path, "missing \"tool\"");
	snprintf(p, sizeof(p), "%s.tool", path);
	if (want(c, p, t, cJSON_IsString(t), "a string") < 0)
		return -1;
	r->tool = xstrdup(t->valuestring);
	if ((a = cJSON_GetObjectItemCaseSensitive(j, "args")) == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.args", path);
	if (want(c, p, a, cJSON_IsObject(a), "an object of JSON pointers") < 0)
		return -1;
	r->conds = xcalloc(cJSON_GetArraySize(a) + 1, sizeof(*r->conds));
	cJSON_ArrayForEach(v, a) {
		snprintf(p, sizeof(p), "%s.args.%s", path, v->string);
		if (v->string[0] != '/' && v->string[0] != '\0')
			return errat(c, p, "keys are JSON pointers such as "
			    "\"/path\"");
		r->conds[n].pointer = xstrdup(v->string);
		if (cJSON_IsString(v))
			r->conds[n].glob = xstrdup(v->valuestring);
		else
			r->conds[n].equals = cJSON_Duplicate(v, 1);
		r->nconds = ++n;
	}
	return 0;
}

static int
parse_policy(struct ctx *c, const char *path, const cJSON *j,
    struct policy *pol)
{
	static const char *const keys[] = { "default", "allow", "ask", "deny",
	    NULL };
	static const char *const lists[] = { "deny", "ask", "allow" };
	const cJSON *v, *e;
	char p[512];
	int k, i;

	if (want_object(c, path, j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "default"))) {
		snprintf(p, sizeof(p), "%s.default", path);
		if (parse_decision(c, p, v, &pol->dflt) < 0)
			return -1;
		pol->has_default = 1;
	}
	for (k = 0; k < 3; k++) {
		if ((v = cJSON_GetObjectItemCaseSensitive(j, lists[k])) ==
		    NULL)
			continue;
		snprintf(p, sizeof(p), "%s.%s", path, lists[k]);
		if (want(c, p, v, cJSON_IsArray(v), "an array of rules") < 0)
			return -1;
		i = 0;
		cJSON_ArrayForEach(e, v) {
			struct rule *r;

			pol->rules = xrealloc(pol->rules, (pol->nrules + 1) *
			    sizeof(*pol->rules));
			r = &pol->rules[pol->nrules++];
			memset(r, 0, sizeof(*r));
			r->action = (enum decision)k;
			snprintf(p, sizeof(p), "%s.%s[%d]", path, lists[k], i++);
			if (parse_rule(c, p, e, r) < 0)
				return -1;
		}
	}
	return 0;
}

static int
parse_one_limits(struct ctx *c, const char *path, const cJSON *j,
    struct limits *l, int allow_tools)
{
	static const char *const keys[] = { "rate", "max_concurrent",
	    "max_result_bytes", "tools", NULL };
	const cJSON *v;
	char p[512];
	double d;

	if (want_object(c, path, j, keys) < 0)
		return -1;
	if (!allow_tools && cJSON_GetObjectItemCaseSensitive(j, "tools"))
		return errat(c, path, "unknown key \"tools\"");
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "rate"))) {
		snprintf(p, sizeof(p), "%s.rate", path);
		if (want(c, p, v, cJSON_IsString(v), "a string such as "
		    "\"30/min\"") < 0)
			return -1;
		if ((l->rate = policy_rate(v->valuestring)) < 0)
			return errat(c, p, "\"%s\": expected N/sec, N/min, "
			    "N/hour or N/day", v->valuestring);
		/* N calls may come at once; at least one always can. */
		l->burst = strtod(v->valuestring, NULL);
		if (l->burst < 1)
			l->burst = 1;
		l->rate_text = xstrdup(v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "max_concurrent"))) {
		snprintf(p, sizeof(p), "%s.max_concurrent", path);
		if (get_int(c, p, v, 1, 100000, &d) < 0)
			return -1;
		l->max_concurrent = (int)d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "max_result_bytes"))) {
		snprintf(p, sizeof(p), "%s.max_result_bytes", path);
		if (get_int(c, p, v, 1, 1e15, &l->max_result_bytes) < 0)
			return -1;
	}
	return 0;
}

static int
parse_call_limits(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	const cJSON *t, *v;
	char p[512];

	if (parse_one_limits(c, path, j, &s->lim, 1) < 0)
		return -1;
	if ((t = cJSON_GetObjectItemCaseSensitive(j, "tools")) == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.tools", path);
	if (want(c, p, t, cJSON_IsObject(t), "an object of tool globs") < 0)
		return -1;
	s->tlims = xcalloc(cJSON_GetArraySize(t) + 1, sizeof(*s->tlims));
	cJSON_ArrayForEach(v, t) {
		snprintf(p, sizeof(p), "%s.tools.%s", path, v->string);
		s->tlims[s->ntlims].glob = xstrdup(v->string);
		s->ntlims++;
		if (parse_one_limits(c, p, v, &s->tlims[s->ntlims - 1].lim,
		    0) < 0)
			return -1;
	}
	return 0;
}

static int
parse_consent(struct ctx *c, const cJSON *j, struct config *cf)
{
	static const char *const keys[] = { "channels", "timeout", "command",
	    NULL };
	static const char *const names[] = { "elicitation", "tty", "dialog",
	    "command", NULL };
	const cJSON *v, *e;
	char p[512];
	int i, k, n;

	if (want_object(c, "corral.consent", j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "channels"))) {
		if (want(c, "corral.consent.channels", v, cJSON_IsArray(v),
		    "an array") < 0)
			return -1;
		cf->nchannels = 0;
		i = 0;
		cJSON_ArrayForEach(e, v) {
			snprintf(p, sizeof(p), "corral.consent.channels[%d]",
			    i++);
			if (want(c, p, e, cJSON_IsString(e), "a string") < 0)
				return -1;
			for (k = 0; names[k]; k++)
				if (strcmp(names[k], e->valuestring) == 0)
					break;
			if (names[k] == NULL)
				return errat(c, p, "\"%s\": channels are "
				    "elicitation, tty, dialog and command",
				    e->valuestring);
			for (n = 0; n < cf->nchannels; n++)
				if (cf->channels[n] == k)
					return errat(c, p, "\"%s\" is listed "
					    "twice", e->valuestring);
			cf->channels[cf->nchannels++] = k;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "timeout")) &&
	    get_seconds(c, "corral.consent.timeout", v,
	    &cf->consent_timeout) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "command"))) {
		if (str_array(c, "corral.consent.command", v, &cf->consent_cmd,
		    &n, 1) < 0)
			return -1;
		if (n == 0)
			return errat(c, "corral.consent.command", "must name "
			    "a program");
		/* A program path, never a PATH lookup; relative paths are
		   relative to the config file, like server commands. */
		if (strchr(cf->consent_cmd[0], '/') == NULL)
			return errat(c, "corral.consent.command[0]", "must be "
			    "a path to a program (absolute, or relative to the "
			    "config file)");
		if (cf->consent_cmd[0][0] != '/') {
			char *abs = resolve(c->dir, cf->consent_cmd[0]);

			free(cf->consent_cmd[0]);
			cf->consent_cmd[0] = abs;
		}
	}
	for (n = 0; n < cf->nchannels; n++)
		if (cf->channels[n] == CONSENT_COMMAND && !cf->consent_cmd)
			return errat(c, "corral.consent.channels", "\"command\" "
			    "needs corral.consent.command");
	return 0;
}

/* Keys that later parts of corral will read; until they exist a config that
   uses them is refused rather than silently running with less protection. */
static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The documented defaults of a server entry. */
static void
server_defaults(struct server_conf *s)
{
	s->t_start = 60;
	s->t_call = 120;
	s->t_call_max = 3600;
	s->t_idle = 1800;
	s->max_failures = 5;
	s->backoff = 1;
	s->backoff_max = 60;
	s->reset_after = 60;
}

/* The keys local and remote servers share. */
static int
parse_common(struct ctx *c, const char *path, const char *alias,
    const cJSON *j, struct server_conf *s)
{
	const cJSON *v;
	char p[512];

	if ((v = cJSON_GetObjectItemCaseSensitive(j, "policy"))) {
		snprintf(p, sizeof(p), "%s.policy", path);
		if (parse_policy(c, p, v, &s->policy) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "trust_annotations"))) {
		snprintf(p, sizeof(p), "%s.trust_annotations", path);
		if (want(c, p, v, cJSON_IsBool(v), "a boolean") < 0)
			return -1;
		s->trust_annotations = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "limits"))) {
		snprintf(p, sizeof(p), "%s.limits", path);
		if (parse_call_limits(c, p, v, s) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "description"))) {
		snprintf(p, sizeof(p), "%s.description", path);
		if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "disabled"))) {
		snprintf(p, sizeof(p), "%s.disabled", path);
		if (want(c, p, v, cJSON_IsBool(v), "a boolean") < 0)
			return -1;
		s->disabled = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "prefix"))) {
		snprintf(p, sizeof(p), "%s.prefix", path);
		if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
			return -1;
		if (v->valuestring[0] != '\0' && !name_ok(v->valuestring, 48))
			return errat(c, p, "must be empty or 1 to 48 of "
			    "A-Z a-z 0-9 _ -");
		s->prefix = xstrdup(v->valuestring);
	} else {
		s->prefix = xstrdup(alias);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "tools"))) {
		snprintf(p, sizeof(p), "%s.tools", path);
		if (parse_tools(c, p, v, s) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "timeouts"))) {
		snprintf(p, sizeof(p), "%s.timeouts", path);
		if (parse_timeouts(c, p, v, s) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "restart"))) {
		snprintf(p, sizeof(p), "%s.restart", path);
		if (parse_restart(c, p, v, s) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "start"))) {
		snprintf(p, sizeof(p), "%s.start", path);
		if (get_start(c, p, v, &s->lazy) < 0)
			return -1;
		s->start_set = 1;
	}
	{
		char *fp = cJSON_PrintUnformatted(j);

		s->fingerprint = xstrdup(fp);
		cJSON_free(fp);
	}
	return 0;
}

static int
strv_same(char *const *a, int na, char *const *b, int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int
str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int
config_server_same(const struct server_conf *a, const struct server_conf *b)
{
	/* The text says what was written; ${env:} and ${file:} values
	   may differ under the same text. */
	return str_same(a->fingerprint, b->fingerprint) &&
	    str_same(a->command, b->command) &&
	    strv_same(a->argv, a->argc, b->argv, b->argc) &&
	    strv_same(a->env, a->nenv, b->env, b->nenv) &&
	    str_same(a->cwd, b->cwd) && str_same(a->url, b->url) &&
	    strv_same(a->headers, a->nheaders, b->headers, b->nheaders) &&
	    str_same(a->oauth_client_secret, b->oauth_client_secret);
}

char *
config_read_small(const char *path, size_t max, size_t *np)
{
	struct buf b;
	ssize_t n = -1;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return NULL;
	buf_init(&b, max);
	for (;;) {
		char *dst = buf_reserve(&b, 4096);

		if (dst == NULL) {
			errno = EFBIG;
			n = -1;
			break;
		}
		if ((n = read(fd, dst, 4096)) < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_commit(&b, n);
	}
	close(fd);
	if (n != 0 || buf_used(&b) == 0) {
		if (n == 0)
			errno = ENODATA;
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, np);
}

/* ${file:PATH}: the file's content, without one trailing newline. */
static char *
substitute_file(struct ctx *c, const char *path, const char *s)
{
	char *f, *data, *out;
	size_t n;

	if (strncmp(s, "${file:", 7) != 0 || s[strlen(s) - 1] != '}' ||
	    strlen(s) < 9)
		return substitute(c, path, s);
	f = xstrndup(s + 7, strlen(s) - 8);
	out = resolve(c->dir, f);
	free(f);
	if ((data = config_read_small(out, 64 * 1024, &n)) == NULL) {
		errat(c, path, "${file:%s}: %s", out, strerror(errno));
		free(out);
		return NULL;
	}
	free(out);
	if (n > 0 && data[n - 1] == '\n')
		data[--n] = '\0';
	if (n > 0 && data[n - 1] == '\r')
		data[--n] = '\0';
	if (memchr(data, '\0', n) || strpbrk(data, "\r\n")) {
		free(data);
		errat(c, path, "${file:...}: the file must hold one line");
		return NULL;
	}
	add_secret(c, data);
	return data;
}

static int
header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~",
		    *s)))
			return 0;
	return 1;
}

/* Is the host of an http:// URL this machine? */
static int
loopback_host(const char *h)
{
	struct in_addr a;

	/* 127/8 as an address, never a name that merely starts "127." */
	if (inet_pton(AF_INET, h, &a) == 1)
		return (ntohl(a.s_addr) >> 24) == 127;
	return strcmp(h, "[::1]") == 0 || strcmp(h, "::1") == 0 ||
	    strcmp(h, "localhost") == 0;
}

/* "oauth": a configured client, scopes, the test override. */
static int
parse_oauth(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	static const char *const keys[] = { "client_id", "client_secret",
	    "scopes", "allow_local_discovery", NULL };
	const cJSON *v;
	char p[768], **dst;

	if (want_object(c, path, j, keys) < 0)
		return -1;
	cJSON_ArrayForEach(v, j) {
		snprintf(p, sizeof(p), "%s.%s", path, v->string);
		if (strcmp(v->string, "allow_local_discovery") == 0) {
			if (want(c, p, v, cJSON_IsBool(v), "a boolean") < 0)
				return -1;
			s->oauth_allow_local = cJSON_IsTrue(v);
			continue;
		}
		dst = strcmp(v->string, "client_id") == 0 ?
		    &s->oauth_client_id : strcmp(v->string, "scopes") == 0 ?
		    &s->oauth_scopes : &s->oauth_client_secret;
		if (want(c, p, v, cJSON_IsString(v) && v->valuestring[0],
		    "a non-empty string") < 0)
			return -1;
		if ((*dst = substitute_file(c, p, v->valuestring)) == NULL)
			return -1;
		if (**dst == '\0' || strpbrk(*dst, "\r\n"))
			return errat(c, p, "must not be empty or hold a line "
			    "break");
		if (dst == &s->oauth_client_secret)
			add_secret(c, *dst);
	}
	return 0;
}

static int
parse_remote(struct ctx *c, const char *path, const cJSON *j,
    struct server_conf *s)
{
	static const char *const local_only[] = { "command", "args", "env",
	    "cwd", "sandbox", NULL };
	/* corral sets these itself. */
	static const char *const reserved[] = { "accept", "content-type",
	    "content-length", "host", "mcp-session-id", "mcp-protocol-version",
	    "last-event-id", "connection", "transfer-encoding", NULL };
	const cJSON *v, *h;
	char p[512], *u, *scheme = NULL, *host = NULL;
	CURLU *cu;
	int i, bad;

	for (i = 0; local_only[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(j, local_only[i])) {
			snprintf(p, sizeof(p), "%s.%s", path, local_only[i]);
			return errat(c, p, "only for local (stdio) servers; "
			    "a remote server runs elsewhere");
		}
	snprintf(p, sizeof(p), "%s.url", path);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "url")) == NULL)
		return errat(c, path, "missing \"url\"");
	if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
		return -1;
	if ((u = substitute(c, p, v->valuestring)) == NULL)
		return -1;
	cu = curl_url();
	bad = cu == NULL || curl_url_set(cu, CURLUPART_URL, u, 0) !=
	    CURLUE_OK || curl_url_get(cu, CURLUPART_SCHEME, &scheme, 0) !=
	    CURLUE_OK || curl_url_get(cu, CURLUPART_HOST, &host, 0) !=
	    CURLUE_OK;
	if (!bad && strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && loopback_host(host)))
		bad = 2;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(cu);
	if (bad) {
		free(u);
		return errat(c, p, bad == 2 ? "must be https:// (plain http:// "
		    "only to this machine: 127.0.0.1, ::1, localhost)" :
		    "not a valid URL");
	}
	s->url = u;
	s->command = xstrdup(u);
	s->argv = xcalloc(2, sizeof(char *));
	s->argv[0] = xstrdup(u);
	s->argc = 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "headers"))) {
		snprintf(p, sizeof(p), "%s.headers", path);
		if (want(c, p, v, cJSON_IsObject(v), "an object") < 0)
			return -1;
		s->headers = xcalloc(cJSON_GetArraySize(v) + 1,
		    sizeof(char *));
		cJSON_ArrayForEach(h, v) {
			char hp[768], *val;

			snprintf(hp, sizeof(hp), "%s.%s", p, h->string);
			if (!header_name_ok(h->string))
				return errat(c, hp, "not a valid header name");
			for (i = 0; reserved[i]; i++)
				if (strcasecmp(h->string, reserved[i]) == 0)
					return errat(c, hp, "corral sets this "
					    "header itself");
			if (want(c, hp, h, cJSON_IsString(h), "a string") < 0)
				return -1;
			if ((val = substitute_file(c, hp, h->valuestring)) ==
			    NULL)
				return -1;
			if (strpbrk(val, "\r\n")) {
				free(val);
				return errat(c, hp, "must not hold a line "
				    "break");
			}
			/* A header's value is a credential more often than
			   not: never logged. */
			add_secret(c, val);
			s->headers[s->nheaders++] = xasprintf("%s: %s",
			    h->string, val);
			free(val);
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "oauth"))) {
		snprintf(p, sizeof(p), "%s.oauth", path);
		if (parse_oauth(c, p, v, s) < 0)
			return -1;
	}
	return parse_common(c, path, s->alias, j, s);
}

static int
parse_server(struct ctx *c, const char *top, const char *alias,
    const cJSON *j, struct server_conf *s)
{
	static const char *const keys[] = { "type", "command", "args", "env",
	    "cwd", "disabled", "prefix", "tools", "timeouts", "restart",
	    "sandbox", "policy", "url", "headers", "description",
	    "trust_annotations", "limits", "oauth", "start", NULL };
	const cJSON *v;
	char path[256], p[512], *cmd;
	int i;

	snprintf(path, sizeof(path), "%s.%s", top, alias);
	s->alias = xstrdup(alias);
	server_defaults(s);
	if (strlen(alias) == 0 || strlen(alias) > 64 || strchr(alias, '/') ||
	    has_control(alias))
		return errat(c, path, "server names must be 1 to 64 characters "
		    "without '/' or control characters");
	if (want_object(c, path, j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "type"))) {
		snprintf(p, sizeof(p), "%s.type", path);
		if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
			return -1;
		if (strcmp(v->valuestring, "http") == 0)
			s->remote = 1;
		else if (strcmp(v->valuestring, "sse") == 0)
			s->remote = s->legacy_sse = 1;
		else if (strcmp(v->valuestring, "stdio") != 0)
			return errat(c, p, "must be \"stdio\", \"http\" or "
			    "\"sse\"");
	} else if (cJSON_GetObjectItemCaseSensitive(j, "url") &&
	    !cJSON_GetObjectItemCaseSensitive(j, "command")) {
		/* Clients write remote servers as {"url": ...} alone. */
		s->remote = 1;
	}
	if (s->remote)
		return parse_remote(c, path, j, s);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "url"))) {
		snprintf(p, sizeof(p), "%s.url", path);
		return errat(c, p, "only for remote servers (\"type\": "
		    "\"http\" or \"sse\")");
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "headers")) {
		snprintf(p, sizeof(p), "%s.headers", path);
		return errat(c, p, "only for remote servers (\"type\": "
		    "\"http\" or \"sse\")");
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "oauth")) {
		snprintf(p, sizeof(p), "%s.oauth", path);
		return errat(c, p, "only for remote servers (\"type\": "
		    "\"http\" or \"sse\")");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "sandbox"))) {
		snprintf(p, sizeof(p), "%s.sandbox", path);
		if (parse_sandbox(c, p, v, &s->sandbox) < 0)
			return -1;
	}
	snprintf(p, sizeof(p), "%s.command", path);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "command")) == NULL)
		return errat(c, path, "missing \"command\"");
	if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
		return -1;
	if (v->valuestring[0] == '\0')
		return errat(c, p, "must not be empty");
	if ((cmd = substitute(c, p, v->valuestring)) == NULL)
		return -1;
	/* A relative path with a slash is relative to the config file. */
	s->command = strchr(cmd, '/') ? resolve(c->dir, cmd) : xstrdup(cmd);
	free(cmd);
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "args"))) {
		char **args = NULL;
		int nargs;

		snprintf(p, sizeof(p), "%s.args", path);
		if (str_array(c, p, v, &args, &nargs, 1) < 0) {
			for (i = 0; args && args[i]; i++)
				free(args[i]);
			free(args);
			return -1;
		}
		s->argv = xcalloc(nargs + 2, sizeof(char *));
		s->argv[0] = xstrdup(s->command);
		for (i = 0; i < nargs; i++)
			s->argv[i + 1] = args[i];
		free(args);
		s->argc = nargs + 1;
	} else {
		s->argv = xcalloc(2, sizeof(char *));
		s->argv[0] = xstrdup(s->command);
		s->argc = 1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "env"))) {
		snprintf(p, sizeof(p), "%s.env", path);
		if (parse_env(c, p, v, s) < 0)
			return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "cwd"))) {
		char *d;

		snprintf(p, sizeof(p), "%s.cwd", path);
		if (want(c, p, v, cJSON_IsString(v), "a string") < 0)
			return -1;
		if ((d = substitute(c, p, v->valuestring)) == NULL)
			return -1;
		s->cwd = resolve(c->dir, d);
		free(d);
	}
	return parse_common(c, path, alias, j, s);
}

static int
parse_audit(struct ctx *c, const cJSON *j, struct config *cf)
{
	static const char *const keys[] = { "enabled", "path", "capture",
	    "fsync", "rotate_bytes", "keep", "on_failure", NULL };
	static const char *const capture[] = { "shape", "none", "full",
	    NULL };
	static const char *const fsync[] = { "always", "batch", "never",
	    NULL };
	static const char *const failure[] = { "refuse", "continue", NULL };
	const cJSON *v;
	char *s;
	double d;

	if (want_object(c, "corral.audit", j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "enabled"))) {
		if (want(c, "corral.audit.enabled", v, cJSON_IsBool(v),
		    "true or false") < 0)
			return -1;
		cf->audit_off = cJSON_IsFalse(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "path"))) {
		if (want(c, "corral.audit.path", v, cJSON_IsString(v) &&
		    v->valuestring[0], "a file name") < 0)
			return -1;
		if ((s = substitute(c, "corral.audit.path",
		    v->valuestring)) == NULL)
			return -1;
		cf->audit_path = resolve(c->dir, s);
		free(s);
		if (cf->audit_path[strlen(cf->audit_path) - 1] == '/')
			return errat(c, "corral.audit.path", "must name a "
			    "file, not a directory");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "capture")) &&
	    get_word(c, "corral.audit.capture", v, capture,
	    &cf->audit_capture) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "fsync")) &&
	    get_word(c, "corral.audit.fsync", v, fsync,
	    &cf->audit_fsync) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "on_failure")) &&
	    get_word(c, "corral.audit.on_failure", v, failure,
	    &cf->audit_continue) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "rotate_bytes"))) {
		if (get_int(c, "corral.audit.rotate_bytes", v, 0, 1e15, &d) < 0)
			return -1;
		if (d > 0 && d < 4096)
			return errat(c, "corral.audit.rotate_bytes", "must be 0 "
			    "(never rotate) or at least 4096");
		cf->audit_rotate = d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "keep"))) {
		if (get_int(c, "corral.audit.keep", v, 1, 1000, &d) < 0)
			return -1;
		cf->audit_keep = (int)d;
	}
	return 0;
}

static int
parse_otel(struct ctx *c, const cJSON *j, struct config *cf)
{
	static const char *const keys[] = { "endpoint", "headers",
	    "service_name", "timeout", "max_queue", NULL };
	const cJSON *v, *h;
	char p[512], *s;
	double d;
	int n = 0;

	if (want_object(c, "corral.otel", j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "endpoint")) == NULL)
		return errat(c, "corral.otel", "missing \"endpoint\" (the "
		    "collector's OTLP/HTTP URL, e.g. http://127.0.0.1:4318)");
	if (want(c, "corral.otel.endpoint", v, cJSON_IsString(v),
	    "a URL string") < 0)
		return -1;
	if ((s = substitute(c, "corral.otel.endpoint", v->valuestring)) ==
	    NULL)
		return -1;
	cf->otel_endpoint = s;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return errat(c, "corral.otel.endpoint", "must be an http:// or "
		    "https:// URL");
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "headers"))) {
		if (want(c, "corral.otel.headers", v, cJSON_IsObject(v),
		    "an object of header names and values") < 0)
			return -1;
		cf->otel_headers = xcalloc(cJSON_GetArraySize(v) + 1,
		    sizeof(char *));
		cJSON_ArrayForEach(h, v) {
			const char *q;

			snprintf(p, sizeof(p), "corral.otel.headers.%s",
			    h->string);
			if (h->string[0] == '\0')
				return errat(c, p, "empty header name");
			for (q = h->string; *q; q++)
				if (*q <= ' ' || *q == ':' || *q == 127)
					return errat(c, p, "not a valid header "
					    "name");
			if (want(c, p, h, cJSON_IsString(h), "a string") < 0)
				return -1;
			if ((s = substitute(c, p, h->valuestring)) == NULL)
				return -1;
			if (strpbrk(s, "\r\n")) {
				free(s);
				return errat(c, p, "a header value cannot hold "
				    "a line break");
			}
			add_secret(c, s);
			cf->otel_headers[n++] = xasprintf("%s: %s", h->string,
			    s);
			explicit_bzero(s, strlen(s));
			free(s);
			cf->notel_headers = n;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "service_name"))) {
		if (want(c, "corral.otel.service_name", v, cJSON_IsString(v) &&
		    v->valuestring[0], "a non-empty string") < 0)
			return -1;
		free(cf->otel_service);
		cf->otel_service = xstrdup(v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "timeout")) &&
	    get_seconds(c, "corral.otel.timeout", v, &cf->otel_timeout) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "max_queue"))) {
		if (get_int(c, "corral.otel.max_queue", v, 1, 1000000, &d) < 0)
			return -1;
		cf->otel_queue = (int)d;
	}
	return 0;
}

static int
parse_corral(struct ctx *c, const cJSON *j, struct config *cf)
{
	static const char *const keys[] = { "naming", "max_message",
	    "timeouts", "policy", "consent", "audit", "otel", "start",
	    "max_starting", NULL };
	static const char *const nkeys[] = { "separator", NULL };
	static const char *const tkeys[] = { "initialize", "shutdown", "idle",
	    NULL };
	const cJSON *v, *w;
	double d;

	if (want_object(c, "corral", j, keys) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "policy")) &&
	    parse_policy(c, "corral.policy", v, &cf->policy) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "consent")) &&
	    parse_consent(c, v, cf) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "audit")) &&
	    parse_audit(c, v, cf) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "otel")) &&
	    parse_otel(c, v, cf) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "naming"))) {
		if (want_object(c, "corral.naming", v, nkeys) < 0)
			return -1;
		if ((w = cJSON_GetObjectItemCaseSensitive(v, "separator"))) {
			if (want(c, "corral.naming.separator", w,
			    cJSON_IsString(w), "a string") < 0)
				return -1;
			if (!name_ok(w->valuestring, 8))
				return errat(c, "corral.naming.separator",
				    "must be 1 to 8 of A-Z a-z 0-9 _ -");
			strcpy(cf->sep, w->valuestring);
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "max_message"))) {
		if (get_int(c, "corral.max_message", v, 4096,
		    1024.0 * 1024 * 1024, &d) < 0)
			return -1;
		cf->max_message = (size_t)d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "timeouts"))) {
		if (want_object(c, "corral.timeouts", v, tkeys) < 0)
			return -1;
		if ((w = cJSON_GetObjectItemCaseSensitive(v, "initialize")) &&
		    get_seconds(c, "corral.timeouts.initialize", w,
		    &cf->t_initialize) < 0)
			return -1;
		if ((w = cJSON_GetObjectItemCaseSensitive(v, "shutdown")) &&
		    get_seconds(c, "corral.timeouts.shutdown", w,
		    &cf->t_shutdown) < 0)
			return -1;
		if ((w = cJSON_GetObjectItemCaseSensitive(v, "idle"))) {
			if (get_idle(c, "corral.timeouts.idle", w,
			    &cf->t_idle) < 0)
				return -1;
			cf->idle_set = 1;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "start")) &&
	    get_start(c, "corral.start", v, &cf->lazy) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(j, "max_starting"))) {
		if (get_int(c, "corral.max_starting", v, 0, 1000, &d) < 0)
			return -1;
		cf->max_starting = (int)d;
	}
	return 0;
}

/* corral.start and corral.timeouts.idle: the default of every server
   that does not say otherwise. */
static void
apply_server_defaults(struct config *cf)
{
	int i;

	for (i = 0; i < cf->nservers; i++) {
		if (!cf->servers[i].start_set)
			cf->servers[i].lazy = cf->lazy;
		if (!cf->servers[i].idle_set && cf->idle_set)
			cf->servers[i].t_idle = cf->t_idle;
	}
}

static void
server_conf_clear(struct server_conf *s)
{
	int i;

	free(s->alias);
	free(s->prefix);
	free(s->command);
	for (i = 0; s->argv && s->argv[i]; i++)
		free(s->argv[i]);
	free(s->argv);
	for (i = 0; s->env && s->env[i]; i++) {
		explicit_bzero(s->env[i], strlen(s->env[i]));
		free(s->env[i]);
	}
	free(s->env);
	free(s->cwd);
	for (i = 0; s->allow && s->allow[i]; i++)
		free(s->allow[i]);
	free(s->allow);
	for (i = 0; s->deny && s->deny[i]; i++)
		free(s->deny[i]);
	free(s->deny);
	policy_clear(&s->policy);
	free(s->lim.rate_text);
	for (i = 0; i < s->ntlims; i++) {
		free(s->tlims[i].glob);
		free(s->tlims[i].lim.rate_text);
	}
	free(s->tlims);
	for (i = 0; s->sandbox.ro && s->sandbox.ro[i]; i++)
		free(s->sandbox.ro[i]);
	free(s->sandbox.ro);
	for (i = 0; s->sandbox.rw && s->sandbox.rw[i]; i++)
		free(s->sandbox.rw[i]);
	free(s->sandbox.rw);
	config_net_free(&s->sandbox);
	free(s->fingerprint);
	free(s->url);
	for (i = 0; i < s->nheaders; i++) {
		explicit_bzero(s->headers[i], strlen(s->headers[i]));
		free(s->headers[i]);
	}
	free(s->headers);
	free(s->oauth_client_id);
	if (s->oauth_client_secret)
		explicit_bzero(s->oauth_client_secret,
		    strlen(s->oauth_client_secret));
	free(s->oauth_client_secret);
	free(s->oauth_scopes);
}

void
config_net_free(struct sandbox_conf *sb)
{
	int i;

	for (i = 0; i < sb->nnet; i++)
		netaddr_rule_free(&sb->net[i]);
	free(sb->net);
	sb->net = NULL;
	sb->nnet = 0;
}

void
config_free(struct config *cf)
{
	int i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nservers; i++)
		server_conf_clear(&cf->servers[i]);
	free(cf->servers);
	policy_clear(&cf->policy);
	for (i = 0; cf->consent_cmd && cf->consent_cmd[i]; i++)
		free(cf->consent_cmd[i]);
	free(cf->consent_cmd);
	for (i = 0; i < cf->nsecrets; i++) {
		explicit_bzero(cf->secrets[i], strlen(cf->secrets[i]));
		free(cf->secrets[i]);
	}
	free(cf->secrets);
	free(cf->audit_path);
	free(cf->otel_endpoint);
	for (i = 0; i < cf->notel_headers; i++) {
		explicit_bzero(cf->otel_headers[i], strlen(cf->otel_headers[i]));
		free(cf->otel_headers[i]);
	}
	free(cf->otel_headers);
	free(cf->otel_service);
	free(cf->path);
	free(cf->global_fp);
	free(cf->live_fp);
	free(cf->dir);
	free(cf);
}

static struct config *
config_new(const char *dir)
{
	struct config *cf = xcalloc(1, sizeof(*cf));

	strcpy(cf->sep, "__");
	cf->max_message = 64 * 1024 * 1024;
	cf->t_initialize = 10;
	cf->t_shutdown = 2;
	cf->max_starting = 4;
	cf->audit_fsync = 1;			/* batch */
	cf->audit_rotate = 64.0 * 1024 * 1024;
	cf->audit_keep = 5;
	cf->otel_service = xstrdup("corral");
	cf->otel_timeout = 5;
	cf->otel_queue = 2048;
	cf->channels[0] = CONSENT_ELICITATION;
	cf->channels[1] = CONSENT_TTY;
	cf->channels[2] = CONSENT_DIALOG;
	cf->nchannels = 3;
	cf->consent_timeout = 120;
	cf->dir = dir ? xstrdup(dir) : NULL;
	cf->global_fp = xstrdup("");
	cf->live_fp = xstrdup("");
	return cf;
}

/* Line and column of offset off in text, for parse errors. */
static void
line_col(const char *text, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int
add_servers(struct ctx *c, const char *key, const cJSON *obj,
    struct config *cf)
{
	const cJSON *v;
	int i;

	if (want(c, key, obj, cJSON_IsObject(obj), "an object") < 0)
		return -1;
	cJSON_ArrayForEach(v, obj) {
		for (i = 0; i < cf->nservers; i++)
			if (strcmp(cf->servers[i].alias, v->string) == 0)
				return errat(c, key, "server \"%s\" is defined "
				    "twice", v->string);
		cf->servers = xrealloc(cf->servers,
		    (cf->nservers + 1) * sizeof(*cf->servers));
		memset(&cf->servers[cf->nservers], 0, sizeof(*cf->servers));
		cf->nservers++;
		if (parse_server(c, key, v->string, v,
		    &cf->servers[cf->nservers - 1]) < 0)
			return -1;
	}
	return 0;
}

/* Whether any key or string in the value at v decodes to a NUL byte:
   cJSON would cut the string there and a command could hide a tail. */
static int
has_nul(const char *text, struct jspan v)
{
	struct jspan k, e;
	size_t pos = 0, n;
	char *d;
	int bad = 0;

	switch (json_type(text, v)) {
	case JT_STRING:
		if (memmem(text + v.off, v.len, "\\u0000", 6) == NULL)
			return 0;
		d = json_strdup(text, v, &n);
		bad = strlen(d) != n;
		free(d);
		return bad;
	case JT_OBJECT:
		while (!bad && json_iter(text, v, &pos, &k, &e))
			bad = has_nul(text, k) || has_nul(text, e);
		return bad;
	case JT_ARRAY:
		while (!bad && json_iter(text, v, &pos, NULL, &e))
			bad = has_nul(text, e);
		return bad;
	default:
		return 0;
	}
}

int
config_parse(const char *text, size_t len, const char *dir,
    struct config **out, char **err)
{
	static const char *const keys[] = { "mcpServers", "servers", "corral",
	    "$schema", NULL };
	struct ctx c = { dir, NULL, NULL };
	struct config *cf;
	struct jspan sp;
	const char *why;
	cJSON *root = NULL;
	const cJSON *v;
	int line, col;

	*out = NULL;
	*err = NULL;
	if (json_check(text, len, 64, &sp, &why) < 0) {
		line_col(text, sp.off, &line, &col);
		*err = xasprintf("line %d, column %d: %s", line, col, why);
		return -1;
	}
	if (has_nul(text, sp)) {
		*err = xstrdup("a string holds \\u0000, which no key or value "
		    "may contain");
		return -1;
	}
	if ((root = cJSON_ParseWithLength(text, len)) == NULL) {
		*err = xstrdup("not valid JSON (a \\u escape that is not a "
		    "character, such as a lone surrogate?)");
		return -1;
	}
	cf = config_new(dir);
	c.cf = cf;
	if (want_object(&c, "(top level)", root, keys) < 0)
		goto bad;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "mcpServers")) &&
	    add_servers(&c, "mcpServers", v, cf) < 0)
		goto bad;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "servers")) &&
	    add_servers(&c, "servers", v, cf) < 0)
		goto bad;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "corral")) &&
	    parse_corral(&c, v, cf) < 0)
		goto bad;
	if (v) {
		static const char *const live[] = { "policy", "consent",
		    "max_starting", NULL };
		cJSON *rest = cJSON_Duplicate(v, 1), *l = cJSON_CreateObject();
		char *fp;
		int k;

		for (k = 0; live[k]; k++)
			if (cJSON_GetObjectItemCaseSensitive(rest, live[k]))
				cJSON_AddItemToObject(l, live[k],
				    cJSON_DetachItemFromObjectCaseSensitive(rest,
				    live[k]));
		fp = cJSON_PrintUnformatted(rest);
		free(cf->global_fp);
		cf->global_fp = xstrdup(fp);
		cJSON_free(fp);
		fp = cJSON_PrintUnformatted(l);
		free(cf->live_fp);
		cf->live_fp = xstrdup(fp);
		cJSON_free(fp);
		cJSON_Delete(rest);
		cJSON_Delete(l);
	}
	apply_server_defaults(cf);
	cJSON_Delete(root);
	*out = cf;
	return 0;
bad:
	cJSON_Delete(root);
	config_free(cf);
	*err = c.err ? c.err : xstrdup("invalid config");
	return -1;
}

int
config_load(const char *path, struct config **out, char **err)
{
	struct stat st;
	struct buf b;
	char *dir, *slash, *real;
	ssize_t n;
	int fd, r;

	*out = NULL;
	*err = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err = xasprintf("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* The config decides what runs and may hold secrets. */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		*err = xasprintf("%s: refusing a config that is writable by "
		    "group or others (chmod go-w %s)", path, path);
		close(fd);
		return -1;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		*err = xasprintf("%s: refusing a config owned by another user "
		    "(uid %u)", path, (unsigned)st.st_uid);
		close(fd);
		return -1;
	}
	buf_init(&b, CONFIG_MAX);
	for (;;) {
		char *dst = buf_reserve(&b, 65536);

		if (dst == NULL) {
			*err = xasprintf("%s: larger than %d bytes", path,
			    CONFIG_MAX);
			break;
		}
		if ((n = read(fd, dst, 65536)) < 0) {
			if (errno == EINTR)
				continue;
			*err = xasprintf("%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		buf_commit(&b, n);
	}
	close(fd);
	if (*err) {
		buf_free(&b);
		return -1;
	}
	real = realpath(path, NULL);
	dir = xstrdup(real ? real : path);
	free(real);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}
	if (dir[0] == '\0') {
		free(dir);
		dir = xstrdup("/");
	}
	r = config_parse(buf_head(&b), buf_used(&b), dir, out, err);
	if (r < 0) {
		char *e = xasprintf("%s: %s", path, *err);

		free(*err);
		*err = e;
	} else {
		(*out)->path = xstrdup(path);
		sha256_hex(buf_head(&b), buf_used(&b), (*out)->sha256);
	}
	free(dir);
	buf_free(&b);
	return r;
}

char *
config_default_path(void)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (x && x[0] == '/')
		return xasprintf("%s/corral/config.json", x);
	return xasprintf("%s/.config/corral/config.json", home ? home : "");
}

struct config *
config_single(const char *alias, char *const argv[])
{
	struct config *cf = config_new(NULL);
	struct server_conf *s;
	int n;

	for (n = 0; argv[n]; n++)
		;
	cf->servers = xcalloc(1, sizeof(*s));
	cf->nservers = 1;
	s = &cf->servers[0];
	s->alias = xstrdup(alias);
	s->prefix = xstrdup("");
	s->command = xstrdup(argv[0]);
	s->argv = xcalloc(n + 1, sizeof(char *));
	for (s->argc = 0; s->argc < n; s->argc++)
		s->argv[s->argc] = xstrdup(argv[s->argc]);
	server_defaults(s);
	s->fingerprint = xstrdup(alias);
	return cf;
}
