/* The merged tool, prompt and resource tables and the naming scheme. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/json.h"
#include "core/util.h"

#define SEEN_MAX 1024

static const char *const key_of[CAT_NKINDS] = {
	"name", "name", "uri", "uriTemplate"
};

static int
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int
catalog_name_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > CATALOG_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

void
catalog_name(const char *prefix, const char *sep, const char *name,
    char out[CATALOG_NAME_MAX + 1])
{
	char *raw, *clean;
	size_t i, n = 0;
	int lossy = 0;
	uint64_t h;

	raw = prefix[0] ? xasprintf("%s%s%s", prefix, sep, name) :
	    xstrdup(name);
	clean = xmalloc(strlen(raw) + 2);
	for (i = 0; raw[i]; i++) {
		unsigned char c = raw[i];

		if (name_char(c)) {
			clean[n++] = c;
			continue;
		}
		lossy = 1;
		/* One '_' for a whole UTF-8 sequence. */
		if (c >= 0xc0)
			while ((raw[i + 1] & 0xc0) == 0x80)
				i++;
		clean[n++] = '_';
	}
	if (n == 0) {
		clean[n++] = '_';
		lossy = 1;
	}
	clean[n] = '\0';
	if (!lossy && n <= CATALOG_NAME_MAX) {
		memcpy(out, clean, n + 1);
	} else {
		/* Stable: the hash is of the full original name. */
		h = fnv1a64(raw, strlen(raw));
		if (n > CATALOG_NAME_MAX - 9)
			n = CATALOG_NAME_MAX - 9;
		memcpy(out, clean, n);
		snprintf(out + n, CATALOG_NAME_MAX + 1 - n, "_%08x",
		    (unsigned)(h ^ (h >> 32)));
	}
	free(raw);
	free(clean);
}

void
catalog_init(struct catalog *c, const char *sep, int nowners,
    char *const prefixes[])
{
	int i, k;

	memset(c, 0, sizeof(*c));
	snprintf(c->sep, sizeof(c->sep), "%s", sep);
	c->nowners = nowners;
	c->owners = xcalloc(nowners, sizeof(*c->owners));
	for (i = 0; i < nowners; i++) {
		c->owners[i].prefix = xstrdup(prefixes[i]);
		map_init(&c->owners[i].seen);
		c->owners[i].seen_ring = xcalloc(SEEN_MAX, sizeof(char *));
	}
	for (k = 0; k < CAT_NKINDS; k++) {
		map_init(&c->index[k]);
		c->merged[k] = xstrdup("[]");
		c->mergedlen[k] = 2;
	}
}

int
catalog_add_owner(struct catalog *c, const char *prefix)
{
	struct cat_owner *o;

	c->owners = xrealloc(c->owners, (c->nowners + 1) * sizeof(*c->owners));
	o = &c->owners[c->nowners];
	memset(o, 0, sizeof(*o));
	o->prefix = xstrdup(prefix);
	map_init(&o->seen);
	o->seen_ring = xcalloc(SEEN_MAX, sizeof(char *));
	return c->nowners++;
}

void
catalog_set_prefix(struct catalog *c, int owner, const char *prefix)
{
	free(c->owners[owner].prefix);
	c->owners[owner].prefix = xstrdup(prefix);
}

static void
clear_merged(struct catalog *c, int k)
{
	int i;

	for (i = 0; i < c->nents[k]; i++) {
		free(c->ents[k][i].orig);
		free(c->ents[k][i].exposed);
	}
	free(c->ents[k]);
	c->ents[k] = NULL;
	c->nents[k] = 0;
	map_free(&c->index[k]);
}

void
catalog_free(struct catalog *c)
{
	int i, k;
	size_t j;

	for (k = 0; k < CAT_NKINDS; k++) {
		clear_merged(c, k);
		free(c->merged[k]);
	}
	for (i = 0; i < c->nowners; i++) {
		free(c->owners[i].prefix);
		for (k = 0; k < CAT_NKINDS; k++)
			cJSON_Delete(c->owners[i].items[k]);
		map_free(&c->owners[i].seen);
		for (j = 0; j < SEEN_MAX; j++)
			free(c->owners[i].seen_ring[j]);
		free(c->owners[i].seen_ring);
	}
	free(c->owners);
}

/* Rebuild the merged table of one kind from every child's list, in config
   order, and report whether the text the host sees changed. */
/* Append one item to the merged list text: its own bytes with the name
   replaced, or, without them, cJSON's rendering. */
static void
emit_item(struct buf *o, const cJSON *it, const char *exposed)
{
	const cJSON *raw = cJSON_GetObjectItemCaseSensitive(it, CATALOG_RAW);
	struct jspan v, name;
	struct jedit ed;
	cJSON *copy, *s;
	char *txt;

	if (buf_used(o) > 1)
		buf_add(o, ",", 1);
	if (cJSON_IsString(raw) && json_check(raw->valuestring,
	    strlen(raw->valuestring), 256, &v, NULL) == 0) {
		if (exposed && json_member(raw->valuestring, v, "name",
		    &name) == 1) {
			s = cJSON_CreateString(exposed);
			txt = cJSON_PrintUnformatted(s);
			cJSON_Delete(s);
			ed = (struct jedit){ name.off - v.off, name.len, txt,
			    strlen(txt) };
			json_splice(o, raw->valuestring + v.off, v.len, &ed, 1);
			cJSON_free(txt);
		} else {
			buf_add(o, raw->valuestring + v.off, v.len);
		}
		return;
	}
	copy = cJSON_Duplicate(it, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(copy, CATALOG_RAW);
	if (exposed)
		cJSON_ReplaceItemInObjectCaseSensitive(copy, "name",
		    cJSON_CreateString(exposed));
	txt = cJSON_PrintUnformatted(copy);
	buf_adds(o, txt);
	cJSON_free(txt);
	cJSON_Delete(copy);
}

static int
rebuild(struct catalog *c, int k)
{
	cJSON *it;
	char name[CATALOG_NAME_MAX + 1], *txt;
	struct cat_entry *e;
	struct map seen;	/* name -> position + 1, while building */
	struct buf o;
	int i, n = 0, cap = 0, changed;
	intptr_t prev;
	const cJSON *key;

	clear_merged(c, k);
	map_init(&seen);
	buf_init(&o, 0);
	buf_add(&o, "[", 1);
	for (i = 0; i < c->nowners; i++) {
		if (c->owners[i].items[k] == NULL)
			continue;
		cJSON_ArrayForEach(it, c->owners[i].items[k]) {
			key = cJSON_GetObjectItemCaseSensitive(it, key_of[k]);
			if (!cJSON_IsObject(it) || !cJSON_IsString(key))
				continue;
			if (k == CAT_TOOLS || k == CAT_PROMPTS) {
				catalog_name(c->owners[i].prefix, c->sep,
				    key->valuestring, name);
			} else {
				snprintf(name, sizeof(name), "%s", "");
			}
			prev = (intptr_t)map_gets(&seen, name[0] ? name :
			    key->valuestring);
			if (prev && c->ents[k][prev - 1].owner == i &&
			    strcmp(c->ents[k][prev - 1].orig,
			    key->valuestring) == 0)
				continue;	/* listed twice by one child */
			if (prev && (k == CAT_TOOLS || k == CAT_PROMPTS)) {
				/* A clash between prefixes (an alias that
				   contains the separator): the later entry
				   gets a hash of its own. */
				char *alt = xasprintf("%s\x1f%s",
				    c->owners[i].prefix, key->valuestring);

				catalog_name("", "", alt, name);
				free(alt);
				if (map_gets(&seen, name))
					continue;
			} else if (prev) {
				if (k == CAT_RESOURCES)
					logmsg("resource %s is listed by more "
					    "than one server; the first wins",
					    key->valuestring);
				continue;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				c->ents[k] = xrealloc(c->ents[k],
				    cap * sizeof(*c->ents[k]));
			}
			e = &c->ents[k][n++];
			e->owner = i;
			e->orig = xstrdup(key->valuestring);
			e->def = it;
			e->exposed = name[0] ? xstrdup(name) : NULL;
			map_puts(&seen, name[0] ? name : key->valuestring,
			    (void *)(intptr_t)n);
			emit_item(&o, it, e->exposed);
		}
	}
	map_free(&seen);
	buf_add(&o, "]", 1);
	c->nents[k] = n;
	for (i = 0; i < n; i++) {
		e = &c->ents[k][i];
		map_puts(&c->index[k], e->exposed ? e->exposed : e->orig, e);
	}
	txt = buf_steal(&o, NULL);
	changed = strcmp(txt, c->merged[k]) != 0;
	free(c->merged[k]);
	c->merged[k] = txt;
	c->mergedlen[k] = strlen(txt);
	return changed;
}

int
catalog_set(struct catalog *c, int k, int owner, cJSON *items)
{
	cJSON_Delete(c->owners[owner].items[k]);
	c->owners[owner].items[k] = items;
	return rebuild(c, k);
}

int
catalog_clear(struct catalog *c, int owner)
{
	int k, mask = 0;

	for (k = 0; k < CAT_NKINDS; k++) {
		if (c->owners[owner].items[k] == NULL)
			continue;
		if (catalog_set(c, k, owner, NULL))
			mask |= 1 << k;
	}
	return mask;
}

const struct cat_entry *
catalog_lookup(const struct catalog *c, int k, const char *name)
{
	return map_gets(&c->index[k], name);
}

/* Match the text of one expression {..} against s[0..]: simple and label
   expansions stop at '/', '?', '#', reserved ones take anything. Returns
   the possible ends through the recursion in match_at. */
static int
match_at(const char *t, const char *s)
{
	const char *close;
	char op;
	size_t i, maxlen;

	while (*t && *t != '{') {
		if (*t != *s)
			return 0;
		t++;
		s++;
	}
	if (*t == '\0')
		return *s == '\0';
	if ((close = strchr(t, '}')) == NULL)
		return 0;
	op = t[1];
	/* Query forms may match nothing, or a part beginning with ? or &. */
	if (op == '?' || op == '&') {
		if (match_at(close + 1, s))
			return 1;
		if (*s != op)
			return 0;
	}
	maxlen = strlen(s);
	for (i = 0; i <= maxlen; i++) {
		if (i > 0 && op != '+' && op != '#' && op != '?' &&
		    op != '&' && op != '/' &&
		    (s[i - 1] == '/' || s[i - 1] == '?' || s[i - 1] == '#'))
			break;
		if (i > 0 && (op == '?' || op == '&') && s[i - 1] == '#')
			break;
		if (match_at(close + 1, s + i))
			return 1;
	}
	return 0;
}

int
catalog_template_match(const char *tmpl, const char *uri)
{
	return match_at(tmpl, uri);
}

int
catalog_route_uri(const struct catalog *c, const char *uri)
{
	const struct cat_entry *e;
	int i;

	if ((e = map_gets(&c->index[CAT_RESOURCES], uri)))
		return e->owner;
	for (i = 0; i < c->nents[CAT_TEMPLATES]; i++)
		if (catalog_template_match(c->ents[CAT_TEMPLATES][i].orig, uri))
			return c->ents[CAT_TEMPLATES][i].owner;
	for (i = 0; i < c->nowners; i++)
		if (map_gets(&c->owners[i].seen, uri))
			return i;
	return -1;
}

void
catalog_note_uri(struct catalog *c, int owner, const char *uri)
{
	struct cat_owner *o = &c->owners[owner];
	char **slot;

	if (map_gets(&o->seen, uri))
		return;
	/* A ring: the oldest URI is forgotten first. */
	slot = &o->seen_ring[o->seen_next];
	if (*slot) {
		map_dels(&o->seen, *slot);
		free(*slot);
	}
	*slot = xstrdup(uri);
	map_puts(&o->seen, *slot, *slot);
	o->seen_next = (o->seen_next + 1) % SEEN_MAX;
}

const char *
catalog_json(const struct catalog *c, int k, size_t *len)
{
	if (len)
		*len = c->mergedlen[k];
	return c->merged[k];
}
