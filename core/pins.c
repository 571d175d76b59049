/* Pins: trust on first use, never silently re-trusted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/canon.h"
#include "core/pins.h"
#include "core/state.h"
#include "core/util.h"

#define PINS_FILE "pins.json"

static char *
now_rfc3339(void)
{
	time_t t = time(NULL);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(s);
}

void
pins_load(struct pinstore *ps)
{
	char *text = NULL, *err = NULL;
	size_t len;
	int r;

	memset(ps, 0, sizeof(*ps));
	r = state_read(PINS_FILE, &text, &len, &err);
	if (r < 0) {
		ps->corrupt = 1;
		ps->why = err;
	} else if (r > 0) {
		ps->root = cJSON_ParseWithLength(text, len);
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ps->root,
		    "servers"))) {
			cJSON_Delete(ps->root);
			ps->root = NULL;
			ps->corrupt = 1;
			ps->why = xstrdup(PINS_FILE " is not valid pin data");
		}
	}
	free(text);
	if (ps->root == NULL) {
		ps->root = cJSON_CreateObject();
		cJSON_AddObjectToObject(ps->root, "servers");
	}
}

static void
put_entry(cJSON *root, const char *alias, const char *name, const cJSON *e)
{
	cJSON *servers = cJSON_GetObjectItemCaseSensitive(root, "servers");
	cJSON *s = cJSON_GetObjectItemCaseSensitive(servers, alias), *tools;

	if (s == NULL) {
		s = cJSON_AddObjectToObject(servers, alias);
		cJSON_AddObjectToObject(s, "tools");
	}
	if (name == NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "server");
		cJSON_AddItemToObject(s, "server", cJSON_Duplicate(e, 1));
		return;
	}
	tools = cJSON_GetObjectItemCaseSensitive(s, "tools");
	if (!cJSON_IsObject(tools))
		tools = cJSON_AddObjectToObject(s, "tools");
	cJSON_DeleteItemFromObjectCaseSensitive(tools, name);
	cJSON_AddItemToObject(tools, name, cJSON_Duplicate(e, 1));
}

int
pins_save(struct pinstore *ps, int force, char **err)
{
	struct pinstore disk;
	const cJSON *p;
	char *s;
	int r;

	*err = NULL;
	if (!ps->dirty || (ps->corrupt && !force))
		return 0;
	if (!force) {
		/* Apply our changes to the store as it is on disk now. */
		pins_load(&disk);
		if (disk.corrupt) {
			pins_free(&disk);
			*err = xstrdup("the pin store became unreadable; not "
			    "overwriting it");
			return -1;
		}
		cJSON_ArrayForEach(p, ps->pending) {
			const cJSON *n = cJSON_GetArrayItem(p, 1);

			put_entry(disk.root, cJSON_GetArrayItem(p, 0)->valuestring,
			    cJSON_IsString(n) ? n->valuestring : NULL,
			    cJSON_GetArrayItem(p, 2));
		}
		cJSON_Delete(ps->root);
		ps->root = disk.root;
		disk.root = NULL;
		pins_free(&disk);
	}
	s = cJSON_Print(ps->root);
	r = state_write(PINS_FILE, s, strlen(s), err);
	cJSON_free(s);
	if (r == 0) {
		ps->dirty = 0;
		ps->corrupt = 0;
		cJSON_Delete(ps->pending);
		ps->pending = NULL;
	}
	return r;
}

void
pins_free(struct pinstore *ps)
{
	cJSON_Delete(ps->root);
	cJSON_Delete(ps->pending);
	free(ps->why);
	memset(ps, 0, sizeof(*ps));
}

cJSON *
pins_tool_def(const cJSON *tool)
{
	static const char *const keys[] = { "name", "title", "description",
	    "inputSchema", "outputSchema", "annotations", NULL };
	cJSON *d = cJSON_CreateObject();
	const cJSON *v;
	int i;

	for (i = 0; keys[i]; i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(tool, keys[i])))
			cJSON_AddItemToObject(d, keys[i], cJSON_Duplicate(v, 1));
	return d;
}

cJSON *
pins_server_def(const char *instructions, const cJSON *prompts)
{
	cJSON *d = cJSON_CreateObject(), *pd = cJSON_CreateObject();
	const cJSON *p, *n, *desc;

	if (instructions)
		cJSON_AddStringToObject(d, "instructions", instructions);
	cJSON_ArrayForEach(p, prompts) {
		n = cJSON_GetObjectItemCaseSensitive(p, "name");
		desc = cJSON_GetObjectItemCaseSensitive(p, "description");
		if (cJSON_IsString(n) && !cJSON_GetObjectItemCaseSensitive(pd,
		    n->valuestring))
			cJSON_AddItemToObject(pd, n->valuestring, desc ?
			    cJSON_Duplicate(desc, 1) : cJSON_CreateNull());
	}
	cJSON_AddItemToObject(d, "prompts", pd);
	return d;
}

static cJSON *
server_node(struct pinstore *ps, const char *alias, int create)
{
	cJSON *servers = cJSON_GetObjectItemCaseSensitive(ps->root, "servers");
	cJSON *s = cJSON_GetObjectItemCaseSensitive(servers, alias);

	if (s == NULL && create) {
		s = cJSON_AddObjectToObject(servers, alias);
		cJSON_AddObjectToObject(s, "tools");
	}
	return s;
}

const cJSON *
pins_get(const struct pinstore *ps, const char *alias, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(ps->root, "servers"), alias);

	if (name == NULL)
		return cJSON_GetObjectItemCaseSensitive(s, "server");
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(s, "tools"), name);
}

void
pins_accept(struct pinstore *ps, const char *alias, const char *name,
    const cJSON *def, const char *h)
{
	cJSON *s = server_node(ps, alias, 1), *e, *tools;
	char *since = now_rfc3339();

	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "hash", h);
	cJSON_AddItemToObject(e, "def", cJSON_Duplicate(def, 1));
	cJSON_AddStringToObject(e, "since", since);
	free(since);
	if (name == NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "server");
		cJSON_AddItemToObject(s, "server", e);
	} else {
		tools = cJSON_GetObjectItemCaseSensitive(s, "tools");
		if (!cJSON_IsObject(tools))
			tools = cJSON_AddObjectToObject(s, "tools");
		cJSON_DeleteItemFromObjectCaseSensitive(tools, name);
		cJSON_AddItemToObject(tools, name, e);
	}
	if (ps->pending == NULL)
		ps->pending = cJSON_CreateArray();
	{
		cJSON *rec = cJSON_CreateArray();

		cJSON_AddItemToArray(rec, cJSON_CreateString(alias));
		cJSON_AddItemToArray(rec, name ? cJSON_CreateString(name) :
		    cJSON_CreateNull());
		cJSON_AddItemToArray(rec, cJSON_Duplicate(e, 1));
		cJSON_AddItemToArray(ps->pending, rec);
	}
	ps->dirty = 1;
}

enum pin_status
pins_check(struct pinstore *ps, const char *alias, const char *name,
    const cJSON *def, const char *h)
{
	const cJSON *e, *hash;

	/* A store that could not be read vouches for nothing. */
	if (ps->corrupt)
		return PIN_CHANGED;
	e = pins_get(ps, alias, name);
	if (e == NULL) {
		pins_accept(ps, alias, name, def, h);
		return PIN_NEW;
	}
	hash = cJSON_GetObjectItemCaseSensitive(e, "hash");
	if (cJSON_IsString(hash) && strcmp(hash->valuestring, h) == 0)
		return PIN_SAME;
	return PIN_CHANGED;
}
