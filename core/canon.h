/* Canonical JSON (sorted keys, no insignificant white space) and SHA-256. */
#ifndef CORRAL_CANON_H
#define CORRAL_CANON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Canonical text of j; caller frees with free(). */
char *canon_json(const cJSON *j);
/* Lower-case hex SHA-256 of n bytes into out (65 bytes). */
void sha256_hex(const void *, size_t, char out[65]);
/* SHA-256 of the canonical text of j. */
void canon_hash(const cJSON *j, char out[65]);

#endif
