/* The list cache of lazy servers. The file keeps every list item as the
   text the server wrote, so what the host is served from the cache is
   byte for byte what the server would send. */
#include <stdlib.h>
#include <string.h>

#include "core/cache.h"
#include "core/canon.h"
#include "core/state.h"
#include "core/util.h"

#define CACHE_FORMAT 1

static const char *const cache_key[CAT_NKINDS] = { "tools", "prompts",
	"resources", "resourceTemplates" };

static void
add_strings(cJSON *o, const char *k, char *const *v, int n)
{
	cJSON *a = cJSON_AddArrayToObject(o, k);
	int i;

	for (i = 0; v && (n < 0 ? v[i] != NULL : i < n); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

void
cache_fingerprint(const struct server_conf *sc, char out[65])
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "format", CACHE_FORMAT);
	cJSON_AddStringToObject(o, "type", sc->legacy_sse ? "sse" :
	    sc->remote ? "http" : "stdio");
	if (sc->command)
		cJSON_AddStringToObject(o, "command", sc->command);
	add_strings(o, "argv", sc->argv, -1);
	add_strings(o, "env", sc->env, sc->nenv);
	if (sc->cwd)
		cJSON_AddStringToObject(o, "cwd", sc->cwd);
	if (sc->url)
		cJSON_AddStringToObject(o, "url", sc->url);
	/* Only the hash is written: header values may be secrets. */
	add_strings(o, "headers", sc->headers, sc->nheaders);
	add_strings(o, "allow", sc->allow, sc->nallow);
	add_strings(o, "deny", sc->deny, sc->ndeny);
	canon_hash(o, out);
	cJSON_Delete(o);
}

static char *
cache_name(const struct server_conf *sc)
{
	return xasprintf("cache/%s.json", sc->alias);
}

int
cache_save(const struct server_conf *sc, const char *version,
    const cJSON *caps, const char *instructions,
    cJSON *const items[CAT_NKINDS], char **err)
{
	char fp[65], *name, *text, *dir;
	const cJSON *it, *raw;
	cJSON *o, *lists, *a;
	int k, r;

	if ((dir = state_subdir("cache", err)) == NULL)
		return -1;
	free(dir);
	cache_fingerprint(sc, fp);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "format", CACHE_FORMAT);
	cJSON_AddStringToObject(o, "fingerprint", fp);
	cJSON_AddStringToObject(o, "protocolVersion", version ? version : "");
	cJSON_AddItemToObject(o, "capabilities", caps ?
	    cJSON_Duplicate(caps, 1) : cJSON_CreateObject());
	if (instructions)
		cJSON_AddStringToObject(o, "instructions", instructions);
	lists = cJSON_AddObjectToObject(o, "lists");
	for (k = 0; k < CAT_NKINDS; k++) {
		if (items[k] == NULL)
			continue;
		a = cJSON_AddArrayToObject(lists, cache_key[k]);
		cJSON_ArrayForEach(it, items[k]) {
			raw = cJSON_GetObjectItemCaseSensitive(it, CATALOG_RAW);
			if (cJSON_IsString(raw))
				cJSON_AddItemToArray(a,
				    cJSON_CreateString(raw->valuestring));
		}
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	name = cache_name(sc);
	r = state_write(name, text, strlen(text), err);
	free(name);
	cJSON_free(text);
	return r;
}

/* One kind's list from the file: each text parsed again, its bytes kept
   beside it. NULL when an entry is not an object. */
static cJSON *
load_items(const cJSON *a)
{
	cJSON *out = cJSON_CreateArray(), *item;
	const cJSON *s;

	cJSON_ArrayForEach(s, a) {
		if (!cJSON_IsString(s) ||
		    (item = cJSON_Parse(s->valuestring)) == NULL ||
		    !cJSON_IsObject(item)) {
			cJSON_Delete(out);
			return NULL;
		}
		cJSON_AddItemToObject(item, CATALOG_RAW,
		    cJSON_CreateString(s->valuestring));
		cJSON_AddItemToArray(out, item);
	}
	return out;
}

int
cache_load(const struct server_conf *sc, struct cache_entry *ce,
    char **why)
{
	char fp[65], *name, *text = NULL, *err = NULL;
	const cJSON *v, *lists, *a;
	cJSON *o;
	size_t len;
	int r, k;

	memset(ce, 0, sizeof(*ce));
	*why = NULL;
	name = cache_name(sc);
	r = state_read(name, &text, &len, &err);
	free(name);
	if (r == 0) {
		*why = xstrdup("no cache yet");
		return 0;
	}
	if (r < 0) {
		*why = err;
		return 0;
	}
	o = cJSON_ParseWithLength(text, len);
	free(text);
	cache_fingerprint(sc, fp);
	v = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
	lists = cJSON_GetObjectItemCaseSensitive(o, "lists");
	if (!cJSON_IsObject(o) || !cJSON_IsString(v) || !cJSON_IsObject(lists)) {
		*why = xstrdup("the cache is unreadable");
		goto stale;
	}
	if (strcmp(v->valuestring, fp) != 0) {
		*why = xstrdup("its config entry changed");
		goto stale;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "protocolVersion");
	ce->version = xstrdup(cJSON_IsString(v) ? v->valuestring : "");
	v = cJSON_GetObjectItemCaseSensitive(o, "capabilities");
	ce->caps = cJSON_IsObject(v) ? cJSON_Duplicate(v, 1) :
	    cJSON_CreateObject();
	v = cJSON_GetObjectItemCaseSensitive(o, "instructions");
	ce->instructions = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
	for (k = 0; k < CAT_NKINDS; k++) {
		a = cJSON_GetObjectItemCaseSensitive(lists, cache_key[k]);
		if (a == NULL)
			continue;
		if (!cJSON_IsArray(a) || (ce->items[k] = load_items(a)) ==
		    NULL) {
			*why = xstrdup("the cache is unreadable");
			cache_entry_clear(ce);
			goto stale;
		}
	}
	cJSON_Delete(o);
	return 1;
stale:
	cJSON_Delete(o);
	return 0;
}

void
cache_entry_clear(struct cache_entry *ce)
{
	int k;

	free(ce->version);
	cJSON_Delete(ce->caps);
	free(ce->instructions);
	for (k = 0; k < CAT_NKINDS; k++)
		cJSON_Delete(ce->items[k]);
	memset(ce, 0, sizeof(*ce));
}
