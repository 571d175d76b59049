/* Policy: rules and their evaluation. Pure; no I/O. */
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "core/util.h"

const char *
policy_word(enum decision d)
{
	return d == DEC_ALLOW ? "allow" : d == DEC_ASK ? "ask" : "deny";
}

static int
class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	int neg = 0, ok = 0;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') {
		ok |= c == ']';
		p++;
	}
	for (; *p && *p != ']'; p++) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			ok |= c >= p[0] && c <= p[2];
			p += 2;
		} else {
			ok |= c == *p;
		}
	}
	if (*p != ']')
		return -1;	/* unterminated: treat '[' literally */
	*pp = p;
	return ok != neg;
}

int
policy_glob(const char *p, const char *s)
{
	const char *q;
	int r;

	for (; *p; p++, s++) {
		switch (*p) {
		case '*':
			if (p[1] == '*') {
				/* '**' (and '**' + '/') match across '/'. */
				while (*p == '*')
					p++;
				if (*p == '/' && p[-1] == '*') {
					/* A slash after the stars may also match nothing. */
					if (policy_glob(p + 1, s))
						return 1;
				}
				for (;; s++) {
					if (policy_glob(p, s))
						return 1;
					if (*s == '\0')
						return 0;
				}
			}
			for (;; s++) {
				if (policy_glob(p + 1, s))
					return 1;
				if (*s == '\0' || *s == '/')
					return 0;
			}
		case '?':
			if (*s == '\0' || *s == '/')
				return 0;
			break;
		case '[':
			if (*s == '\0')
				return 0;
			q = p;
			if ((r = class_match(&q, *s)) < 0) {
				if (*s != '[')
					return 0;
				break;
			}
			if (!r)
				return 0;
			p = q;
			break;
		case '\\':
			if (p[1])
				p++;
			/* FALLTHROUGH */
		default:
			if (*p != *s)
				return 0;
		}
	}
	return *s == '\0';
}

/* One reference token of a pointer, unescaped (~1 is '/', ~0 is '~'). */
static char *
token(const char **pp)
{
	const char *p = *pp, *end = strchr(p, '/');
	size_t n = end ? (size_t)(end - p) : strlen(p), i, o = 0;
	char *t = xmalloc(n + 1);

	for (i = 0; i < n; i++) {
		if (p[i] == '~' && i + 1 < n && p[i + 1] == '1') {
			t[o++] = '/';
			i++;
		} else if (p[i] == '~' && i + 1 < n && p[i + 1] == '0') {
			t[o++] = '~';
			i++;
		} else {
			t[o++] = p[i];
		}
	}
	t[o] = '\0';
	*pp = end ? end + 1 : p + n;
	return t;
}

const cJSON *
policy_pointer(const cJSON *root, const char *ptr)
{
	const cJSON *cur = root;
	char *t, *end;
	long idx;

	if (*ptr == '\0')
		return root;
	if (*ptr != '/')
		return NULL;
	ptr++;
	for (;;) {
		t = token(&ptr);
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, t);
		} else if (cJSON_IsArray(cur)) {
			idx = strtol(t, &end, 10);
			if (*t == '\0' || *end != '\0' || idx < 0 ||
			    (t[0] == '0' && t[1] != '\0'))
				cur = NULL;
			else
				cur = cJSON_GetArrayItem(cur, (int)idx);
		} else {
			cur = NULL;
		}
		free(t);
		if (cur == NULL || *ptr == '\0')
			break;
		if (ptr[-1] != '/')
			break;
	}
	return cur;
}

char *
policy_normpath(const char *path)
{
	char *out, *seg, *save = NULL, *copy;
	size_t n = 0;

	if (path[0] != '/')
		return NULL;
	copy = xstrdup(path);
	out = xmalloc(strlen(path) + 2);
	for (seg = strtok_r(copy, "/", &save); seg;
	    seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;	/* the '/' before it */
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, seg, strlen(seg));
		n += strlen(seg);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(copy);
	return out;
}

static int
cond_match(const struct argcond *c, const cJSON *args)
{
	const cJSON *v = policy_pointer(args, c->pointer);
	char *norm;
	int r;

	if (v == NULL)
		return 0;
	if (c->equals)
		return cJSON_Compare(v, c->equals, 1);
	if (!cJSON_IsString(v))
		return 0;
	/* Path patterns see the path without its "." and ".." tricks. */
	if (c->glob[0] == '/') {
		if ((norm = policy_normpath(v->valuestring)) == NULL)
			return 0;
		r = policy_glob(c->glob, norm);
		free(norm);
		return r;
	}
	return policy_glob(c->glob, v->valuestring);
}

static int
rule_match(const struct rule *r, const char *tool, const cJSON *args)
{
	int i;

	if (!policy_glob(r->tool, tool))
		return 0;
	for (i = 0; i < r->nconds; i++)
		if (!cond_match(&r->conds[i], args))
			return 0;
	return 1;
}

enum decision
policy_decide(const struct policy *server, const struct policy *global,
    int trust_annotations, const char *tool, const cJSON *args,
    const cJSON *ann, const char **why)
{
	const struct policy *ps[2] = { server, global };
	const struct rule *best[3] = { NULL, NULL, NULL };
	const cJSON *ro;
	int i, k;

	for (k = 0; k < 2; k++) {
		if (ps[k] == NULL)
			continue;
		for (i = 0; i < ps[k]->nrules; i++) {
			const struct rule *r = &ps[k]->rules[i];

			if (best[r->action] == NULL && rule_match(r, tool, args))
				best[r->action] = r;
		}
	}
	/* Deny beats ask beats allow. */
	if (best[DEC_DENY]) {
		*why = best[DEC_DENY]->where;
		return DEC_DENY;
	}
	if (best[DEC_ASK]) {
		*why = best[DEC_ASK]->where;
		return DEC_ASK;
	}
	if (best[DEC_ALLOW]) {
		*why = best[DEC_ALLOW]->where;
		return DEC_ALLOW;
	}
	ro = cJSON_GetObjectItemCaseSensitive(ann, "readOnlyHint");
	if (trust_annotations && cJSON_IsTrue(ro)) {
		*why = "readOnlyHint (trust_annotations)";
		return DEC_ALLOW;
	}
	if (server && server->has_default) {
		*why = "the server's default";
		return server->dflt;
	}
	if (global && global->has_default) {
		*why = "the global default";
		return global->dflt;
	}
	*why = "the built-in default";
	return DEC_ASK;
}

double
policy_rate(const char *s)
{
	char *end;
	double n;

	/* Plain decimal numbers only: no hex, no inf. */
	if (strspn(s, "0123456789.") != strcspn(s, "/") || *s == '/')
		return -1;
	n = strtod(s, &end);
	if (end == s || !(n > 0) || n > 1e9 || *end != '/')
		return -1;
	end++;
	if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0 ||
	    strcmp(end, "second") == 0)
		return n;
	if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0 ||
	    strcmp(end, "minute") == 0)
		return n / 60;
	if (strcmp(end, "h") == 0 || strcmp(end, "hour") == 0)
		return n / 3600;
	if (strcmp(end, "d") == 0 || strcmp(end, "day") == 0)
		return n / 86400;
	return -1;
}

void
policy_clear(struct policy *p)
{
	int i, j;

	for (i = 0; i < p->nrules; i++) {
		struct rule *r = &p->rules[i];

		free(r->tool);
		free(r->where);
		for (j = 0; j < r->nconds; j++) {
			free(r->conds[j].pointer);
			free(r->conds[j].glob);
			cJSON_Delete(r->conds[j].equals);
		}
		free(r->conds);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

int
policy_has_conditions(const struct policy *p)
{
	int i;

	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].nconds > 0)
			return 1;
	return 0;
}
