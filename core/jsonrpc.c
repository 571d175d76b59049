/* JSON-RPC message helpers: classification, id sniffing, versions. */
#include <string.h>

#include "core/jsonrpc.h"

const char *const jsonrpc_latest = "2025-11-25";

static const char *const versions[] = { "2024-11-05", "2025-03-26",
	"2025-06-18", "2025-11-25", NULL };

char *
jsonrpc_message(const char *method, cJSON *params, int64_t id)
{
	cJSON *m = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(m, "jsonrpc", "2.0");
	if (id >= 0)
		cJSON_AddNumberToObject(m, "id", (double)id);
	cJSON_AddStringToObject(m, "method", method);
	if (params)
		cJSON_AddItemToObject(m, "params", params);
	s = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return s;
}

int
jsonrpc_version_ok(const char *v)
{
	int i;

	for (i = 0; versions[i]; i++)
		if (strcmp(v, versions[i]) == 0)
			return 1;
	return 0;
}

enum { M_ID, M_JSONRPC, M_METHOD, M_PARAMS, M_RESULT, M_ERROR, M_N };

/* The members that matter, found in one pass over the object: a result
   of megabytes is skipped once, not once per member looked for. Returns
   the first of them that appears twice, or -1. */
static int
members(const char *p, struct jspan v, struct jspan out[M_N])
{
	static const char *const names[M_N] = { "id", "jsonrpc", "method",
	    "params", "result", "error" };
	struct jspan k, val;
	size_t pos = 0;
	int i, dup = -1;

	memset(out, 0, M_N * sizeof(out[0]));
	while (json_iter(p, v, &pos, &k, &val)) {
		for (i = 0; i < M_N; i++) {
			if (!json_streq(p, k, names[i]))
				continue;
			if (out[i].len == 0)
				out[i] = val;
			else if (dup < 0 || i < dup)
				dup = i;
			break;
		}
	}
	return dup;
}

void
jsonrpc_classify(const char *p, struct jspan v, struct jmsg *m)
{
	struct jspan mb[M_N];
	enum json_type t;
	int dup;

	memset(m, 0, sizeof(*m));
	m->all = v;
	if (json_type(p, v) != JT_OBJECT) {
		m->why = "not a JSON-RPC object";
		return;
	}
	dup = members(p, v, mb);
	if (dup == M_ID) {
		m->why = "duplicate member";
		return;
	}
	m->id = mb[M_ID];
	t = json_type(p, m->id);
	/* A null id is allowed only on an error response (JSON-RPC 2.0: the
	   request's id could not be read). */
	if (dup < 0 && m->id.len && t == JT_NULL && mb[M_ERROR].len &&
	    !mb[M_RESULT].len && !mb[M_METHOD].len && mb[M_JSONRPC].len &&
	    json_streq(p, mb[M_JSONRPC], "2.0") &&
	    json_type(p, mb[M_ERROR]) == JT_OBJECT) {
		m->error = mb[M_ERROR];
		m->kind = MSG_RESPONSE;
		return;
	}
	if (m->id.len && t != JT_STRING && t != JT_NUMBER) {
		m->id.len = 0;
		m->why = "id must be a string or a number";
		return;
	}
	if (dup >= 0) {
		m->why = "duplicate member";
		return;
	}
	m->method = mb[M_METHOD];
	m->params = mb[M_PARAMS];
	m->result = mb[M_RESULT];
	m->error = mb[M_ERROR];
	if (!json_streq(p, mb[M_JSONRPC], "2.0")) {
		m->why = "jsonrpc must be \"2.0\"";
		return;
	}
	if (m->method.len) {
		if (json_type(p, m->method) != JT_STRING) {
			m->why = "method must be a string";
			return;
		}
		if (m->result.len || m->error.len) {
			m->why = "a request has no result or error";
			return;
		}
		m->kind = m->id.len ? MSG_REQUEST : MSG_NOTIFICATION;
		return;
	}
	if (m->id.len && (m->result.len != 0) != (m->error.len != 0)) {
		if (m->error.len && json_type(p, m->error) != JT_OBJECT) {
			m->why = "error must be an object";
			return;
		}
		m->kind = MSG_RESPONSE;
		return;
	}
	m->why = "neither a request, a notification nor a response";
}

/* Read a simple top-level "id" member from the start of an object whose
   end we may not have: members before it must be plain scalars. */
static int
sniff_head(const char *p, size_t n, char *out, size_t outsz)
{
	size_t i = 0, ks, ke, vs;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= n || p[i++] != '{')
		return 0;
	for (;;) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		if (i >= n || p[i] != '"')
			return 0;
		ks = ++i;
		while (i < n && p[i] != '"' && p[i] != '\\')
			i++;
		if (i >= n || p[i] != '"')
			return 0;
		ke = i++;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i >= n || p[i++] != ':')
			return 0;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		vs = i;
		if (i < n && p[i] == '"') {
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					return 0;
			if (i >= n)
				return 0;
			i++;
		} else {
			while (i < n && strchr("-+.0123456789eEtruefalsn",
			    p[i]) && p[i])
				i++;
			if (i >= n)
				return 0;
		}
		if (ke - ks == 2 && memcmp(p + ks, "id", 2) == 0) {
			if (i - vs == 0 || i - vs >= outsz)
				return 0;
			memcpy(out, p + vs, i - vs);
			out[i - vs] = '\0';
			return 1;
		}
		if (p[vs] == '{' || p[vs] == '[')
			return 0;
	}
}

/* The last member of a complete object: `,"id":123}` at its very end,
   with white space allowed around the colon and before the brace. */
static int
sniff_tail(const char *p, size_t n, char *out, size_t outsz)
{
	size_t e = n, s;

	while (e > 0 && strchr(" \t\r", p[e - 1]))
		e--;
	if (e == 0 || p[--e] != '}')
		return 0;
	while (e > 0 && strchr(" \t", p[e - 1]))
		e--;
	s = e;
	while (s > 0 && p[s - 1] >= '0' && p[s - 1] <= '9')
		s--;
	if (s == e || e - s >= outsz)
		return 0;
	memcpy(out, p + s, e - s);
	out[e - s] = '\0';
	while (s > 0 && strchr(" \t", p[s - 1]))
		s--;
	if (s == 0 || p[--s] != ':')
		return 0;
	while (s > 0 && strchr(" \t", p[s - 1]))
		s--;
	if (s < 5 || memcmp(p + s - 4, "\"id\"", 4) != 0)
		return 0;
	s -= 4;
	while (s > 0 && strchr(" \t", p[s - 1]))
		s--;
	return s > 0 && (p[s - 1] == ',' || p[s - 1] == '{');
}

int
jsonrpc_sniff_id(const char *head, size_t headlen, const char *tail,
    size_t taillen, char *out, size_t outsz)
{
	if (head && sniff_head(head, headlen, out, outsz))
		return 1;
	if (tail && sniff_tail(tail, taillen, out, outsz))
		return 1;
	return 0;
}
