/* A string-keyed hash map with chaining. Keys are copied; values borrowed. */
#ifndef CORRAL_MAP_H
#define CORRAL_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_ent {
	struct map_ent *next;
	uint64_t hash;
	size_t klen;
	void *val;
	char key[];
};

struct map {
	struct map_ent **tab;
	size_t nbuckets;
	size_t count;
};

void map_init(struct map *);
/* Free the table and its keys; values are the caller's. */
void map_free(struct map *);
/* Look up key[0..klen); returns the value or NULL. */
void *map_get(const struct map *, const char *key, size_t klen);
void *map_gets(const struct map *, const char *key);
/* Insert or replace; returns the previous value or NULL. */
void *map_put(struct map *, const char *key, size_t klen, void *val);
void *map_puts(struct map *, const char *key, void *val);
/* Remove; returns the removed value or NULL. */
void *map_del(struct map *, const char *key, size_t klen);
void *map_dels(struct map *, const char *key);
/* Integer keys, stored as decimal text. */
void *map_geti(const struct map *, int64_t);
void *map_puti(struct map *, int64_t, void *);
void *map_deli(struct map *, int64_t);

/* Iterate: for (e = map_first(m, &i); e; e = map_next(m, &i, e)). Removing
   the current entry while iterating is not allowed. */
struct map_ent *map_first(const struct map *, size_t *);
struct map_ent *map_next(const struct map *, size_t *, struct map_ent *);

#endif
