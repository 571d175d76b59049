/* A string-keyed hash map with chaining. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "core/util.h"

void
map_init(struct map *m)
{
	memset(m, 0, sizeof(*m));
}

void
map_free(struct map *m)
{
	struct map_ent *e, *n;
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->tab[i]; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->tab);
	map_init(m);
}

static struct map_ent *
find(const struct map *m, const char *key, size_t klen, uint64_t h)
{
	struct map_ent *e;

	if (m->nbuckets == 0)
		return NULL;
	for (e = m->tab[h & (m->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

/* Double the bucket array when the load passes one. */
static void
grow(struct map *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 16, i;
	struct map_ent **tab = xcalloc(n, sizeof(*tab)), *e, *next;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->tab[i]; e; e = next) {
			next = e->next;
			e->next = tab[e->hash & (n - 1)];
			tab[e->hash & (n - 1)] = e;
		}
	}
	free(m->tab);
	m->tab = tab;
	m->nbuckets = n;
}

void *
map_get(const struct map *m, const char *key, size_t klen)
{
	struct map_ent *e = find(m, key, klen, fnv1a64(key, klen));

	return e ? e->val : NULL;
}

void *
map_put(struct map *m, const char *key, size_t klen, void *val)
{
	uint64_t h = fnv1a64(key, klen);
	struct map_ent *e = find(m, key, klen, h);
	void *old;

	if (e) {
		old = e->val;
		e->val = val;
		return old;
	}
	if (m->count + 1 > m->nbuckets)
		grow(m);
	e = xmalloc(sizeof(*e) + klen + 1);
	e->hash = h;
	e->klen = klen;
	e->val = val;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	e->next = m->tab[h & (m->nbuckets - 1)];
	m->tab[h & (m->nbuckets - 1)] = e;
	m->count++;
	return NULL;
}

void *
map_del(struct map *m, const char *key, size_t klen)
{
	uint64_t h = fnv1a64(key, klen);
	struct map_ent **pp, *e;
	void *v;

	if (m->nbuckets == 0)
		return NULL;
	for (pp = &m->tab[h & (m->nbuckets - 1)]; (e = *pp); pp = &e->next) {
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0) {
			*pp = e->next;
			v = e->val;
			free(e);
			m->count--;
			return v;
		}
	}
	return NULL;
}

void *
map_gets(const struct map *m, const char *k)
{
	return map_get(m, k, strlen(k));
}

void *
map_puts(struct map *m, const char *k, void *v)
{
	return map_put(m, k, strlen(k), v);
}

void *
map_dels(struct map *m, const char *k)
{
	return map_del(m, k, strlen(k));
}

void *
map_geti(const struct map *m, int64_t i)
{
	char k[24];

	return map_get(m, k, snprintf(k, sizeof(k), "%lld", (long long)i));
}

void *
map_puti(struct map *m, int64_t i, void *v)
{
	char k[24];

	return map_put(m, k, snprintf(k, sizeof(k), "%lld", (long long)i), v);
}

void *
map_deli(struct map *m, int64_t i)
{
	char k[24];

	return map_del(m, k, snprintf(k, sizeof(k), "%lld", (long long)i));
}

struct map_ent *
map_first(const struct map *m, size_t *i)
{
	for (*i = 0; *i < m->nbuckets; (*i)++)
		if (m->tab[*i])
			return m->tab[*i];
	return NULL;
}

struct map_ent *
map_next(const struct map *m, size_t *i, struct map_ent *e)
{
	if (e->next)
		return e->next;
	for ((*i)++; *i < m->nbuckets; (*i)++)
		if (m->tab[*i])
			return m->tab[*i];
	return NULL;
}
