/* The cache of a lazy server's lists: what it offered the last time it
   ran, so the host sees its tools before it starts. One file per server,
   <state dir>/cache/<alias>.json, mode 0600. */
#ifndef CORRAL_CACHE_H
#define CORRAL_CACHE_H

#include <cjson/cJSON.h>

#include "core/catalog.h"
#include "core/config.h"

/* What a cache file holds, once loaded. */
struct cache_entry {
	char *version;		/* the protocol version it spoke */
	cJSON *caps;		/* its server capabilities */
	char *instructions;	/* or NULL */
	/* Its lists: arrays of items, each with its bytes in CATALOG_RAW,
	   or NULL for a kind it did not list. */
	cJSON *items[CAT_NKINDS];
};

/* The fingerprint of what decides a server's lists (command, arguments,
   environment, directory, URL, headers, tool filters) into out. */
void cache_fingerprint(const struct server_conf *, char out[65]);
/* Write the cache of sc: items are borrowed (their CATALOG_RAW bytes are
   kept). Returns 0, or -1 with *err (caller frees). */
int cache_save(const struct server_conf *sc, const char *version,
    const cJSON *caps, const char *instructions,
    cJSON *const items[CAT_NKINDS], char **err);
/* Read the cache of sc into ce: 1 when usable; 0 with *why (caller
   frees) when missing, unreadable or made for another config entry. */
int cache_load(const struct server_conf *sc, struct cache_entry *ce,
    char **why);
/* Free what cache_load put in ce (items still in it are deleted). */
void cache_entry_clear(struct cache_entry *);

#endif
