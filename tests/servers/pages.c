/*
 * pages — long lists served 50 per page with opaque cursors "c50",
 * "c100", ...: 300 tools t000..t299, 120 prompts p000..p119, 120
 * resources pages://r/000.. and 60 templates pages://t/NNN/{x}.
 */
#include "tests/servers/fakelib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_PAGE 50

typedef cJSON *(*make_item_fn)(int n);

static cJSON *
make_tool(int n)
{
	char name[16], desc[32];
	cJSON *t = cJSON_CreateObject();

	snprintf(name, sizeof(name), "t%03d", n);
	snprintf(desc, sizeof(desc), "tool %d", n);
	cJSON_AddStringToObject(t, "name", name);
	cJSON_AddStringToObject(t, "description", desc);
	cJSON_AddItemToObject(t, "inputSchema",
	    fake_json("{\"type\":\"object\"}"));
	return t;
}

static cJSON *
make_prompt(int n)
{
	char name[16], desc[32];
	cJSON *p = cJSON_CreateObject();

	snprintf(name, sizeof(name), "p%03d", n);
	snprintf(desc, sizeof(desc), "prompt %d", n);
	cJSON_AddStringToObject(p, "name", name);
	cJSON_AddStringToObject(p, "description", desc);
	return p;
}

static cJSON *
make_resource(int n)
{
	char uri[32], name[16];
	cJSON *r = cJSON_CreateObject();

	snprintf(uri, sizeof(uri), "pages://r/%03d", n);
	snprintf(name, sizeof(name), "r%03d", n);
	cJSON_AddStringToObject(r, "uri", uri);
	cJSON_AddStringToObject(r, "name", name);
	cJSON_AddStringToObject(r, "mimeType", "text/plain");
	return r;
}

static cJSON *
make_template(int n)
{
	char uri[32], name[16];
	cJSON *t = cJSON_CreateObject();

	snprintf(uri, sizeof(uri), "pages://t/%03d/{x}", n);
	snprintf(name, sizeof(name), "t%03d", n);
	cJSON_AddStringToObject(t, "uriTemplate", uri);
	cJSON_AddStringToObject(t, "name", name);
	return t;
}

/* Parses cursor "c<offset>"; returns the offset or -1 if it is not ours. */
static int
parse_cursor(const char *cursor, int total)
{
	char *end;
	long off;

	if (cursor[0] != 'c' || cursor[1] < '1' || cursor[1] > '9')
		return -1;
	off = strtol(cursor + 1, &end, 10);
	if (*end != '\0' || off % PER_PAGE != 0 || off >= total)
		return -1;
	return (int)off;
}

static void
paginate(const cJSON *id, const cJSON *params, const char *key, int total,
    make_item_fn make)
{
	const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(params,
	    "cursor");
	cJSON *r, *items;
	char next[16];
	int start = 0, i;

	if (cursor != NULL && !cJSON_IsNull(cursor)) {
		start = cJSON_IsString(cursor) ?
		    parse_cursor(cursor->valuestring, total) : -1;
		if (start < 0) {
			fake_error(id, -32602, "Invalid cursor", NULL);
			return;
		}
	}
	r = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(r, key);
	for (i = start; i < total && i < start + PER_PAGE; i++)
		cJSON_AddItemToArray(items, make(i));
	if (i < total) {
		snprintf(next, sizeof(next), "c%d", i);
		cJSON_AddStringToObject(r, "nextCursor", next);
	}
	fake_result(id, r);
}

static void
tools_list(const cJSON *id, const cJSON *params)
{
	paginate(id, params, "tools", 300, make_tool);
}

static void
prompts_list(const cJSON *id, const cJSON *params)
{
	paginate(id, params, "prompts", 120, make_prompt);
}

static void
resources_list(const cJSON *id, const cJSON *params)
{
	paginate(id, params, "resources", 120, make_resource);
}

static void
templates_list(const cJSON *id, const cJSON *params)
{
	paginate(id, params, "resourceTemplates", 60, make_template);
}

/* Is s a letter followed by three digits below limit? */
static int
numbered(const char *s, char letter, int limit)
{
	return s != NULL && s[0] == letter && strlen(s) == 4 &&
	    strspn(s + 1, "0123456789") == 3 && atoi(s + 1) < limit;
}

static void
tools_call(const cJSON *id, const cJSON *params)
{
	const char *name = fake_str(params, "name");

	if (!numbered(name, 't', 300)) {
		fake_error(id, -32602, "Unknown tool", NULL);
		return;
	}
	fake_result(id, fake_text(name));
}

static void
prompts_get(const cJSON *id, const cJSON *params)
{
	const char *name = fake_str(params, "name");
	cJSON *r, *msg, *content;

	if (!numbered(name, 'p', 120)) {
		fake_error(id, -32602, "Unknown prompt", NULL);
		return;
	}
	r = cJSON_CreateObject();
	msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "role", "user");
	content = cJSON_AddObjectToObject(msg, "content");
	cJSON_AddStringToObject(content, "type", "text");
	cJSON_AddStringToObject(content, "text", name);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "messages"), msg);
	fake_result(id, r);
}

static void
resources_read(const cJSON *id, const cJSON *params)
{
	const char *uri = fake_str(params, "uri");
	const char *prefix = "pages://r/";
	char text[16];
	cJSON *r, *c;

	if (uri == NULL || strncmp(uri, prefix, strlen(prefix)) != 0 ||
	    strlen(uri) != strlen(prefix) + 3 ||
	    strspn(uri + strlen(prefix), "0123456789") != 3 ||
	    atoi(uri + strlen(prefix)) >= 120) {
		fake_error(id, -32002, "Resource not found", NULL);
		return;
	}
	snprintf(text, sizeof(text), "r%s", uri + strlen(prefix));
	r = cJSON_CreateObject();
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "uri", uri);
	cJSON_AddStringToObject(c, "mimeType", "text/plain");
	cJSON_AddStringToObject(c, "text", text);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "contents"), c);
	fake_result(id, r);
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "pages", NULL);
	fake_set_caps(fake_json("{\"tools\":{},\"prompts\":{},"
	    "\"resources\":{}}"));
	fake_on("tools/list", tools_list);
	fake_on("tools/call", tools_call);
	fake_on("prompts/list", prompts_list);
	fake_on("prompts/get", prompts_get);
	fake_on("resources/list", resources_list);
	fake_on("resources/templates/list", templates_list);
	fake_on("resources/read", resources_read);
	return fake_run();
}
