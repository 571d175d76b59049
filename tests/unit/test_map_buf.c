/* Unit tests for core/map (string-keyed hash map) and core/buf (growable
   byte buffers with a hard maximum). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/map.h"
#include "tests/unit/unit.h"

/* ---- map --------------------------------------------------------------- */

static int v1 = 1, v2 = 2, v3 = 3;

static void
test_map_empty(void **state)
{
	struct map m;
	size_t i = 99;

	(void)state;
	map_init(&m);
	assert_int_equal(m.count, 0);
	assert_null(map_gets(&m, "a"));
	assert_null(map_gets(&m, ""));
	assert_null(map_geti(&m, 0));
	assert_null(map_dels(&m, "a"));
	assert_null(map_deli(&m, 1));
	assert_null(map_first(&m, &i));
	map_free(&m);
	assert_int_equal(m.count, 0);
	assert_null(m.tab);
}

static void
test_map_put_get_replace(void **state)
{
	struct map m;

	(void)state;
	map_init(&m);
	assert_null(map_puts(&m, "alpha", &v1));
	assert_null(map_puts(&m, "beta", &v2));
	assert_int_equal(m.count, 2);
	assert_ptr_equal(map_gets(&m, "alpha"), &v1);
	assert_ptr_equal(map_gets(&m, "beta"), &v2);
	assert_null(map_gets(&m, "gamma"));
	/* Replacing returns the old value and keeps the count. */
	assert_ptr_equal(map_puts(&m, "alpha", &v3), &v1);
	assert_int_equal(m.count, 2);
	assert_ptr_equal(map_gets(&m, "alpha"), &v3);
	/* A NULL value is stored but reads as absent. */
	assert_ptr_equal(map_puts(&m, "beta", NULL), &v2);
	assert_null(map_gets(&m, "beta"));
	assert_int_equal(m.count, 2);
	map_free(&m);
}

static void
test_map_keys_exact(void **state)
{
	struct map m;

	(void)state;
	map_init(&m);
	map_puts(&m, "ab", &v1);
	map_puts(&m, "abc", &v2);
	map_puts(&m, "", &v3);
	assert_ptr_equal(map_gets(&m, "ab"), &v1);
	assert_ptr_equal(map_gets(&m, "abc"), &v2);
	assert_ptr_equal(map_gets(&m, ""), &v3);
	assert_null(map_gets(&m, "a"));
	assert_null(map_gets(&m, "abcd"));
	assert_null(map_gets(&m, "AB"));
	/* Lengths are explicit: a prefix of a longer buffer is its own key,
	   and an embedded NUL is part of the key. */
	assert_ptr_equal(map_get(&m, "abcdef", 3), &v2);
	assert_ptr_equal(map_get(&m, "abXX", 2), &v1);
	assert_null(map_put(&m, "a\0b", 3, &v1));
	assert_null(map_put(&m, "a\0c", 3, &v2));
	assert_int_equal(m.count, 5);
	assert_ptr_equal(map_get(&m, "a\0b", 3), &v1);
	assert_ptr_equal(map_get(&m, "a\0c", 3), &v2);
	assert_null(map_gets(&m, "a"));
	map_free(&m);
}

/* Keys are copied: the caller's buffer may change afterwards. */
static void
test_map_key_copied(void **state)
{
	struct map m;
	char k[8] = "key";
	struct map_ent *e;
	size_t i;

	(void)state;
	map_init(&m);
	map_puts(&m, k, &v1);
	strcpy(k, "zzz");
	assert_ptr_equal(map_gets(&m, "key"), &v1);
	assert_null(map_gets(&m, "zzz"));
	e = map_first(&m, &i);
	assert_non_null(e);
	assert_string_equal(e->key, "key");
	assert_int_equal(e->klen, 3);
	assert_ptr_equal(e->val, &v1);
	assert_null(map_next(&m, &i, e));
	map_free(&m);
}

static void
test_map_delete(void **state)
{
	struct map m;

	(void)state;
	map_init(&m);
	map_puts(&m, "a", &v1);
	map_puts(&m, "b", &v2);
	assert_ptr_equal(map_dels(&m, "a"), &v1);
	assert_int_equal(m.count, 1);
	assert_null(map_gets(&m, "a"));
	assert_null(map_dels(&m, "a"));
	assert_int_equal(m.count, 1);
	assert_null(map_dels(&m, "c"));
	assert_ptr_equal(map_del(&m, "bb", 1), &v2);
	assert_int_equal(m.count, 0);
	/* Deleted keys can be put again. */
	assert_null(map_puts(&m, "a", &v3));
	assert_ptr_equal(map_gets(&m, "a"), &v3);
	map_free(&m);
}

struct int_key {
	int64_t k;
	const char *text;
};

static const struct int_key int_keys[] = {
	{ 0, "0" }, { 1, "1" }, { -1, "-1" }, { 42, "42" },
	{ INT64_MAX, "9223372036854775807" },
	{ INT64_MIN, "-9223372036854775808" },
};

/* Integer keys are their decimal text. */
static void
test_map_int_keys(void **state)
{
	struct map m;
	size_t i;
	void *vals[NELEM(int_keys)];

	(void)state;
	map_init(&m);
	for (i = 0; i < NELEM(int_keys); i++)
		assert_null(map_puti(&m, int_keys[i].k, &vals[i]));
	assert_int_equal(m.count, NELEM(int_keys));
	for (i = 0; i < NELEM(int_keys); i++) {
		assert_ptr_equal(map_geti(&m, int_keys[i].k), &vals[i]);
		assert_ptr_equal(map_gets(&m, int_keys[i].text), &vals[i]);
	}
	assert_null(map_geti(&m, 2));
	assert_null(map_gets(&m, "01"));
	assert_null(map_gets(&m, "+1"));
	/* A string key "7" and integer key 7 are one key. */
	map_puts(&m, "7", &v1);
	assert_ptr_equal(map_geti(&m, 7), &v1);
	assert_ptr_equal(map_puti(&m, 7, &v2), &v1);
	assert_ptr_equal(map_deli(&m, 7), &v2);
	assert_null(map_gets(&m, "7"));
	assert_ptr_equal(map_deli(&m, -1), &vals[2]);
	assert_null(map_geti(&m, -1));
	assert_int_equal(m.count, NELEM(int_keys) - 1);
	map_free(&m);
}

/* Many keys: growth keeps every entry, iteration visits each once. */
static void
test_map_many(void **state)
{
	enum { N = 5000 };
	struct map m;
	struct map_ent *e;
	unsigned char *seen = calloc(N, 1);
	size_t i, visited = 0;
	char k[32];

	(void)state;
	assert_non_null(seen);
	map_init(&m);
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "key-%zu", i);
		assert_null(map_puts(&m, k, (void *)(uintptr_t)(i + 1)));
	}
	assert_int_equal(m.count, N);
	/* A power of two, kept at a load of at most one. */
	assert_true(m.nbuckets >= N);
	assert_int_equal(m.nbuckets & (m.nbuckets - 1), 0);
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "key-%zu", i);
		assert_int_equal((uintptr_t)map_gets(&m, k), i + 1);
	}
	for (e = map_first(&m, &i); e; e = map_next(&m, &i, e)) {
		uintptr_t v = (uintptr_t)e->val;

		assert_true(v >= 1 && v <= N);
		assert_int_equal(seen[v - 1], 0);
		seen[v - 1] = 1;
		snprintf(k, sizeof(k), "key-%zu", (size_t)(v - 1));
		assert_string_equal(e->key, k);
		visited++;
	}
	assert_int_equal(visited, N);
	/* Delete every other key; the rest stay. */
	for (i = 0; i < N; i += 2) {
		snprintf(k, sizeof(k), "key-%zu", i);
		assert_int_equal((uintptr_t)map_dels(&m, k), i + 1);
	}
	assert_int_equal(m.count, N / 2);
	for (i = 0; i < N; i++) {
		snprintf(k, sizeof(k), "key-%zu", i);
		if (i % 2)
			assert_int_equal((uintptr_t)map_gets(&m, k), i + 1);
		else
			assert_null(map_gets(&m, k));
	}
	visited = 0;
	for (e = map_first(&m, &i); e; e = map_next(&m, &i, e))
		visited++;
	assert_int_equal(visited, N / 2);
	map_free(&m);
	assert_int_equal(m.count, 0);
	assert_int_equal(m.nbuckets, 0);
	/* A freed map is an empty map, usable again. */
	assert_null(map_gets(&m, "key-1"));
	map_puts(&m, "again", &v1);
	assert_ptr_equal(map_gets(&m, "again"), &v1);
	map_free(&m);
	free(seen);
}

/* ---- buf --------------------------------------------------------------- */

static void
test_buf_init(void **state)
{
	struct buf b;

	(void)state;
	memset(&b, 0x5a, sizeof(b));
	buf_init(&b, 100);
	assert_int_equal(b.max, 100);
	assert_int_equal(buf_used(&b), 0);
	assert_null(b.data);
	buf_free(&b);
	buf_free(&b);	/* twice is harmless */
}

static void
test_buf_add(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "abc", 3), 0);
	assert_int_equal(buf_adds(&b, "def"), 0);
	assert_int_equal(buf_addf(&b, "-%d-%s-%c", 42, "x", 'y'), 0);
	assert_int_equal(buf_used(&b), 13);
	assert_memory_equal(buf_head(&b), "abcdef-42-x-y", 13);
	/* The contents are always NUL-terminated. */
	assert_int_equal(buf_head(&b)[buf_used(&b)], '\0');
	/* Embedded NULs are bytes like any other. */
	assert_int_equal(buf_add(&b, "\0z", 2), 0);
	assert_int_equal(buf_used(&b), 15);
	assert_memory_equal(buf_head(&b) + 13, "\0z", 2);
	/* Adding nothing is fine. */
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_int_equal(buf_adds(&b, ""), 0);
	assert_int_equal(buf_used(&b), 15);
	buf_free(&b);
}

static void
test_buf_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_add(&b, "12345678", 8), 0);
	assert_int_equal(buf_used(&b), 8);
	/* One more byte is refused and nothing changes. */
	assert_int_equal(buf_add(&b, "9", 1), -1);
	assert_int_equal(buf_adds(&b, "9"), -1);
	assert_int_equal(buf_addf(&b, "%d", 9), -1);
	assert_null(buf_reserve(&b, 1));
	assert_int_equal(buf_used(&b), 8);
	assert_string_equal(buf_head(&b), "12345678");
	/* Adding nothing to a full buffer is fine. */
	assert_int_equal(buf_add(&b, "", 0), 0);
	buf_reset(&b);
	/* A single add larger than the maximum is refused whole. */
	assert_int_equal(buf_add(&b, "123456789", 9), -1);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_addf(&b, "%s", "123456789"), -1);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(buf_addf(&b, "%s", "12345678"), 0);
	assert_int_equal(buf_used(&b), 8);
	buf_free(&b);
}

/* The maximum bounds the unconsumed bytes, not all bytes ever added. */
static void
test_buf_max_after_consume(void **state)
{
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_adds(&b, "abcdefgh"), 0);
	buf_consume(&b, 5);
	assert_int_equal(buf_used(&b), 3);
	assert_string_equal(buf_head(&b), "fgh");
	assert_int_equal(buf_adds(&b, "ijklm"), 0);
	assert_int_equal(buf_used(&b), 8);
	assert_string_equal(buf_head(&b), "fghijklm");
	assert_int_equal(buf_adds(&b, "n"), -1);
	/* A stream much longer than the maximum passes through. */
	buf_reset(&b);
	for (i = 0; i < 10000; i++) {
		assert_int_equal(buf_adds(&b, "0123"), 0);
		assert_int_equal(buf_adds(&b, "4567"), 0);
		assert_int_equal(buf_add(&b, "x", 1), -1);
		assert_memory_equal(buf_head(&b), "01234567", 8);
		buf_consume(&b, 8);
		assert_int_equal(buf_used(&b), 0);
	}
	buf_free(&b);
}

static void
test_buf_unlimited(void **state)
{
	struct buf b;
	size_t n = 3 * 1024 * 1024, i;
	char *big = malloc(n);

	(void)state;
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, big, n), 0);
	assert_int_equal(buf_add(&b, big, n), 0);
	assert_int_equal(buf_used(&b), 2 * n);
	assert_memory_equal(buf_head(&b), big, n);
	assert_memory_equal(buf_head(&b) + n, big, n);
	assert_int_equal(buf_head(&b)[2 * n], '\0');
	buf_free(&b);
	free(big);
}

static void
test_buf_consume(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	buf_adds(&b, "hello world");
	buf_consume(&b, 0);
	assert_string_equal(buf_head(&b), "hello world");
	buf_consume(&b, 6);
	assert_int_equal(buf_used(&b), 5);
	assert_string_equal(buf_head(&b), "world");
	buf_consume(&b, 4);
	assert_string_equal(buf_head(&b), "d");
	/* Consuming the rest empties the buffer back to its start. */
	buf_consume(&b, 1);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);
	buf_adds(&b, "again");
	assert_string_equal(buf_head(&b), "again");
	buf_free(&b);
}

static void
test_buf_reserve_commit(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 16);
	p = buf_reserve(&b, 10);
	assert_non_null(p);
	memcpy(p, "0123456789", 10);
	/* Reserved bytes are not contents until committed. */
	assert_int_equal(buf_used(&b), 0);
	buf_commit(&b, 4);
	assert_int_equal(buf_used(&b), 4);
	assert_string_equal(buf_head(&b), "0123");
	/* Up to the maximum can be reserved, not more. */
	assert_non_null(buf_reserve(&b, 12));
	assert_null(buf_reserve(&b, 13));
	p = buf_reserve(&b, 0);
	assert_non_null(p);
	assert_ptr_equal(p, buf_head(&b) + 4);
	buf_free(&b);
}

/* Reserving after a consume slides the unconsumed bytes to the front
   rather than growing when they fit. */
static void
test_buf_reserve_slides(void **state)
{
	struct buf b;
	size_t cap;
	char *p, *data;

	(void)state;
	buf_init(&b, 0);
	p = buf_reserve(&b, 4000);
	memset(p, 'a', 4000);
	buf_commit(&b, 4000);
	buf_add(&b, "tail", 4);
	cap = b.cap;
	data = b.data;
	buf_consume(&b, 4000);
	assert_string_equal(buf_head(&b), "tail");
	p = buf_reserve(&b, cap - 10);
	assert_non_null(p);
	assert_int_equal(b.cap, cap);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.off, 0);
	assert_ptr_equal(p, b.data + 4);
	assert_memory_equal(buf_head(&b), "tail", 4);
	/* Growing keeps the contents too. */
	p = buf_reserve(&b, 4 * cap);
	assert_non_null(p);
	assert_true(b.cap >= 4 * cap + 5);
	assert_memory_equal(buf_head(&b), "tail", 4);
	assert_int_equal(buf_used(&b), 4);
	buf_free(&b);
}

static void
test_buf_steal(void **state)
{
	struct buf b;
	size_t len = 99;
	char *s;

	(void)state;
	buf_init(&b, 0);
	buf_adds(&b, "xxabc");
	buf_consume(&b, 2);
	s = buf_steal(&b, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	/* The buffer is empty afterwards and still usable. */
	assert_int_equal(buf_used(&b), 0);
	free(s);
	buf_adds(&b, "a\0b");	/* adds just "a" */
	buf_add(&b, "\0b", 2);
	s = buf_steal(&b, NULL);
	assert_memory_equal(s, "a\0b", 4);
	free(s);
	/* An empty buffer gives an empty string. */
	s = buf_steal(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	buf_free(&b);
	/* Also one that never held anything. */
	buf_init(&b, 4);
	s = buf_steal(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	buf_free(&b);
}

/* Large blocks are given back when the buffer drains; small ones kept. */
static void
test_buf_reset_releases_large(void **state)
{
	struct buf b;
	char *small = calloc(1, 1000), *big = calloc(1, 300 * 1024);

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	buf_init(&b, 0);
	buf_add(&b, small, 1000);
	buf_reset(&b);
	assert_int_equal(buf_used(&b), 0);
	assert_non_null(b.data);
	buf_add(&b, big, 300 * 1024);
	assert_true(b.cap > 256 * 1024);
	buf_consume(&b, 300 * 1024);
	assert_int_equal(buf_used(&b), 0);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_adds(&b, "ok"), 0);
	assert_string_equal(buf_head(&b), "ok");
	buf_free(&b);
	free(small);
	free(big);
}

/* ---- the group --------------------------------------------------------- */

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_empty),
		cmocka_unit_test(test_map_put_get_replace),
		cmocka_unit_test(test_map_keys_exact),
		cmocka_unit_test(test_map_key_copied),
		cmocka_unit_test(test_map_delete),
		cmocka_unit_test(test_map_int_keys),
		cmocka_unit_test(test_map_many),
		cmocka_unit_test(test_buf_init),
		cmocka_unit_test(test_buf_add),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_buf_max_after_consume),
		cmocka_unit_test(test_buf_unlimited),
		cmocka_unit_test(test_buf_consume),
		cmocka_unit_test(test_buf_reserve_commit),
		cmocka_unit_test(test_buf_reserve_slides),
		cmocka_unit_test(test_buf_steal),
		cmocka_unit_test(test_buf_reset_releases_large),
	};

	return cmocka_run_group_tests_name("map_buf", tests, NULL, NULL);
}
