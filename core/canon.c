/* Canonical JSON and SHA-256: the basis of pins and argument hashes. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "core/util.h"

static int
key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a;
	const cJSON *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* Sort every object's members by key, bytewise, recursively. */
static void
sort_keys(cJSON *j)
{
	cJSON **v, *it;
	int n = 0, i;

	for (it = j->child; it; it = it->next)
		sort_keys(it);
	if (!cJSON_IsObject(j) || j->child == NULL)
		return;
	for (it = j->child; it; it = it->next)
		n++;
	v = xcalloc(n, sizeof(*v));
	for (i = 0, it = j->child; it; it = it->next)
		v[i++] = it;
	qsort(v, n, sizeof(*v), key_cmp);
	for (i = 0; i < n; i++) {
		v[i]->prev = i > 0 ? v[i - 1] : v[n - 1];
		v[i]->next = i + 1 < n ? v[i + 1] : NULL;
	}
	j->child = v[0];
	free(v);
}

char *
canon_json(const cJSON *j)
{
	cJSON *d = cJSON_Duplicate(j, 1);
	char *s, *out;

	if (d == NULL)
		return xstrdup("null");
	sort_keys(d);
	s = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	out = xstrdup(s ? s : "null");
	cJSON_free(s);
	return out;
}

void
sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		fatal("SHA-256 failed");
	for (i = 0; i < len; i++) {
		out[2 * i] = "0123456789abcdef"[md[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	out[64] = '\0';
}

void
canon_hash(const cJSON *j, char out[65])
{
	char *s = canon_json(j);

	sha256_hex(s, strlen(s), out);
	free(s);
}
