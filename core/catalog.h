/* The merged tool, prompt and resource tables and the naming scheme. */
#ifndef CORRAL_CATALOG_H
#define CORRAL_CATALOG_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "core/map.h"

enum cat_kind { CAT_TOOLS, CAT_PROMPTS, CAT_RESOURCES, CAT_TEMPLATES,
	CAT_NKINDS };

#define CATALOG_NAME_MAX 64
/* Member a child's list item may carry: its JSON text as the child wrote
   it. The merged list is built from that text, byte for byte but for the
   name, so nothing is re-encoded (big integers stay exact). */
#define CATALOG_RAW "\x1fraw"

struct cat_entry {
	int owner;		/* index of the child, in config order */
	char *orig;		/* name, URI or URI template as the child has it */
	char *exposed;		/* name the host sees (tools, prompts) */
	const cJSON *def;	/* the child's definition (borrowed) */
};

struct cat_owner {
	char *prefix;
	cJSON *items[CAT_NKINDS];	/* arrays as the child listed them */
	struct map seen;		/* URIs seen in this child's results */
	char **seen_ring;
	size_t seen_next;
};

struct catalog {
	char sep[9];
	int nowners;
	struct cat_owner *owners;
	struct cat_entry *ents[CAT_NKINDS];
	int nents[CAT_NKINDS];
	struct map index[CAT_NKINDS];	/* exposed name or URI -> entry */
	char *merged[CAT_NKINDS];	/* the merged list as JSON text */
	size_t mergedlen[CAT_NKINDS];
};

/* The name the host sees for a child's tool or prompt: prefix, separator,
   name; characters outside [A-Za-z0-9_-] replaced, and when anything was
   replaced or the result is longer than 64, a stable hash appended. */
void catalog_name(const char *prefix, const char *sep, const char *name,
    char out[CATALOG_NAME_MAX + 1]);
/* Whether a name fits ^[A-Za-z0-9_-]{1,64}$. */
int catalog_name_valid(const char *);

void catalog_init(struct catalog *, const char *sep, int nowners,
    char *const prefixes[]);
void catalog_free(struct catalog *);
/* A new owner (a server added by a reload): its index. */
int catalog_add_owner(struct catalog *, const char *prefix);
void catalog_set_prefix(struct catalog *, int owner, const char *prefix);
/* Replace one child's list of one kind (takes items, may be NULL to
   clear). Returns 1 when the merged list the host sees changed. */
int catalog_set(struct catalog *, int kind, int owner, cJSON *items);
/* Clear every list of a child; returns a bit mask of changed kinds. */
int catalog_clear(struct catalog *, int owner);
/* Entry by exposed name (tools, prompts) or URI (resources, templates). */
const struct cat_entry *catalog_lookup(const struct catalog *, int kind,
    const char *);
/* Which child serves a URI: listed resource, then template match, then
   URIs seen in results. Returns the owner index or -1. */
int catalog_route_uri(const struct catalog *, const char *uri);
/* Remember a URI a child returned in a result (bounded per child). */
void catalog_note_uri(struct catalog *, int owner, const char *uri);
/* The merged list as JSON array text (borrowed). */
const char *catalog_json(const struct catalog *, int kind, size_t *len);
/* Whether uri matches an RFC 6570 template (levels 1-3, simplified). */
int catalog_template_match(const char *tmpl, const char *uri);

#endif
