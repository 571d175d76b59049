/* Unit tests for core/audit: the HMAC chain, tampering of every kind,
   rotation, a torn tail, write failures and the fsync batch. */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/audit.h"
#include "core/util.h"
#include "tests/unit/unit.h"

/* A fresh temporary directory; its "log" subdirectory is made by
   audit_open. */
struct fx {
	char top[64];
	char *dir, *path;
	unsigned char key[AUDIT_KEY_LEN];
};

static int
fx_setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	snprintf(f->top, sizeof(f->top), "/tmp/corral-audit-XXXXXX");
	if (mkdtemp(f->top) == NULL)
		return -1;
	f->dir = xasprintf("%s/log", f->top);
	f->path = xasprintf("%s/audit.jsonl", f->dir);
	*state = f;
	return 0;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* Open the log with opts (NULL for defaults), failing the test on error. */
static struct audit *
open_log(struct fx *f, const struct audit_opts *o)
{
	char *err = NULL;
	struct audit *a = audit_open(f->dir, "audit.jsonl", o, &err);

	if (a == NULL)
		fail_msg("audit_open: %s", err);
	return a;
}

/* Write n records of event "call" with a few fields. */
static void
write_n(struct audit *a, int n)
{
	char *err = NULL;
	int i;

	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "tool", "fs.read");
		cJSON_AddNumberToObject(o, "i", i);
		cJSON_AddStringToObject(o, "text", "two\nlines \"quoted\"");
		if (audit_write(a, "call", o, &err) < 0)
			fail_msg("audit_write: %s", err);
		cJSON_Delete(o);
	}
}

/* Write a fresh log of n records and load its key. */
static void
make_log(struct fx *f, int n)
{
	char *err = NULL;
	struct audit *a = open_log(f, NULL);

	write_n(a, n);
	audit_close(a);
	assert_int_equal(audit_key_load(f->dir, f->key, 0, &err), 0);
}

/* Verify the single file path. */
static int
verify1(struct fx *f, struct audit_report *r)
{
	const char *files[] = { f->path };

	return audit_verify(files, 1, f->key, r);
}

/* The file's lines, newline kept; free with free_lines. */
struct lines {
	char *l[256];
	int n;
};

static void
read_lines(const char *path, struct lines *ls)
{
	FILE *fp = fopen(path, "r");
	char *l = NULL;
	size_t cap = 0;

	assert_non_null(fp);
	ls->n = 0;
	while (getline(&l, &cap, fp) > 0 && ls->n < 256)
		ls->l[ls->n++] = xstrdup(l);
	free(l);
	fclose(fp);
}

static void
write_lines(const char *path, const struct lines *ls)
{
	FILE *fp = fopen(path, "w");
	int i;

	assert_non_null(fp);
	for (i = 0; i < ls->n; i++)
		fputs(ls->l[i], fp);
	fclose(fp);
}

static void
free_lines(struct lines *ls)
{
	int i;

	for (i = 0; i < ls->n; i++)
		free(ls->l[i]);
	ls->n = 0;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ---- writing and verifying ------------------------------------------- */

static void
test_write_verify(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct lines ls;
	struct audit *a;

	make_log(f, 20);
	assert_int_equal(verify1(f, &r), 0);
	assert_true(r.intact);
	assert_false(r.torn);
	assert_false(r.anchored);
	assert_int_equal(r.records, 20);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.last_seq, 20);
	assert_string_equal(r.why, "ok");
	read_lines(f->path, &ls);
	assert_int_equal(ls.n, 20);	/* the field's newline was escaped */
	free_lines(&ls);

	/* A second writer resumes seq and the chain. */
	a = open_log(f, NULL);
	assert_int_equal(audit_seq(a), 20);
	assert_string_equal(audit_last_mac(a), r.last_mac);
	write_n(a, 5);
	audit_close(a);
	assert_int_equal(verify1(f, &r), 0);
	assert_int_equal(r.records, 25);
	assert_int_equal(r.last_seq, 25);
}

/* Recompute the chain from the spec in audit.h, independently of it. */
static void
test_format(void **state)
{
	struct fx *f = *state;
	char prev[65] = "", hex[65];
	unsigned char md[32];
	unsigned int mdlen, j;
	struct lines ls;
	int i;

	make_log(f, 3);
	read_lines(f->path, &ls);
	assert_int_equal(ls.n, 3);
	for (i = 0; i < ls.n; i++) {
		char *l = ls.l[i], want[64], *in;
		size_t n = strlen(l) - 1;	/* no newline */

		snprintf(want, sizeof(want), "{\"v\":1,\"seq\":%d,\"ts\":\"",
		    i + 1);
		assert_memory_equal(l, want, strlen(want));
		/* ts: 2026-11-25T17:44:38.123456Z */
		assert_int_equal(l[strlen(want) + 10], 'T');
		assert_int_equal(l[strlen(want) + 19], '.');
		assert_memory_equal(l + strlen(want) + 26, "Z\",\"event\":\"call\"",
		    17);
		assert_memory_equal(l + n - 74, ",\"mac\":\"", 8);
		assert_memory_equal(l + n - 2, "\"}", 2);
		in = xasprintf("%s%.*s}", prev, (int)(n - 74), l);
		HMAC(EVP_sha256(), f->key, 32, (unsigned char *)in, strlen(in),
		    md, &mdlen);
		free(in);
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", md[j]);
		assert_memory_equal(l + n - 66, hex, 64);
		memcpy(prev, hex, 65);
	}
	free_lines(&ls);
}

static void
test_modes_and_key(void **state)
{
	struct fx *f = *state;
	unsigned char k2[AUDIT_KEY_LEN];
	char *kpath = NULL, *err = NULL;
	struct stat st;

	/* No key and no permission to make one. */
	assert_int_equal(mkdir(f->dir, 0755), 0);
	assert_int_equal(audit_key_load(f->dir, k2, 0, &err), -1);
	assert_non_null(strstr(err, "no such file"));
	free(err);
	err = NULL;

	make_log(f, 1);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);	/* tightened */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	kpath = xasprintf("%s/audit.key", f->dir);
	assert_int_equal(stat(kpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);

	/* Reused, not remade, on the next open. */
	make_log(f, 1);
	assert_int_equal(audit_key_load(f->dir, k2, 1, &err), 0);
	assert_memory_equal(k2, f->key, 32);

	/* A key others may read is refused. */
	assert_int_equal(chmod(kpath, 0640), 0);
	assert_int_equal(audit_key_load(f->dir, k2, 1, &err), -1);
	assert_non_null(strstr(err, "0600"));
	free(err);
	free(kpath);
}

static void
test_reserved(void **state)
{
	struct fx *f = *state;
	struct audit *a = open_log(f, NULL);
	cJSON *o = cJSON_CreateObject();
	char *err = NULL;

	cJSON_AddNumberToObject(o, "seq", 9);
	assert_int_equal(audit_write(a, "call", o, &err), -1);
	free(err);
	assert_int_equal(audit_write(a, "rotate", NULL, &err), -1);
	free(err);
	assert_int_equal(audit_write(a, "", NULL, &err), -1);
	free(err);
	cJSON_Delete(o);
	o = cJSON_CreateArray();
	assert_int_equal(audit_write(a, "call", o, &err), -1);
	free(err);
	cJSON_Delete(o);
	assert_int_equal(audit_seq(a), 0);
	assert_int_equal(audit_write(a, "start", NULL, &err), 0);
	audit_close(a);
}

/* ---- tampering --------------------------------------------------------- */

/* Change any letter or digit of the middle record (but the "mac" key
   itself and escapes) to another of its kind: each edit is a mac mismatch
   at that line. */
static void
test_flip_bytes(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct lines ls;
	size_t i, n, tried = 0;

	make_log(f, 5);
	read_lines(f->path, &ls);
	n = strlen(ls.l[2]) - 1;
	for (i = 0; i < n; i++) {
		char c = ls.l[2][i];

		if (i >= n - 74 + 2 && i < n - 74 + 5)
			continue;	/* the key "mac" */
		if (i > 0 && ls.l[2][i - 1] == '\\')
			continue;	/* "\n" -> "\a" is no JSON at all */
		if (c >= '0' && c <= '9')
			ls.l[2][i] = c == '0' ? '1' : '0';
		else if (c >= 'a' && c <= 'z')
			ls.l[2][i] = c == 'a' ? 'b' : 'a';
		else
			continue;
		write_lines(f->path, &ls);
		assert_int_equal(verify1(f, &r), -1);
		assert_false(r.intact);
		assert_int_equal(r.line, 3);
		assert_string_equal(r.file, f->path);
		if (strncmp(r.why, "mac mismatch", 12) != 0)
			fail_msg("byte %zu: %s", i, r.why);
		assert_int_equal(r.records, 2);
		ls.l[2][i] = c;
		tried++;
	}
	assert_true(tried > 100);
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), 0);
	free_lines(&ls);
}

static void
test_delete(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct lines ls;

	make_log(f, 6);
	read_lines(f->path, &ls);
	free(ls.l[2]);
	memmove(&ls.l[2], &ls.l[3], 3 * sizeof(ls.l[0]));
	ls.n--;
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), -1);
	assert_int_equal(r.line, 3);
	assert_string_equal(r.why, "mac mismatch, seq gap (expected 3 got 4)");

	/* The first record too. */
	free(ls.l[0]);
	memmove(&ls.l[0], &ls.l[1], 4 * sizeof(ls.l[0]));
	ls.n--;
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), -1);
	assert_int_equal(r.line, 1);
	assert_string_equal(r.why, "mac mismatch, seq gap (expected 1 got 2)");
	free_lines(&ls);
}

static void
test_swap(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct lines ls;
	char *t;

	make_log(f, 5);
	read_lines(f->path, &ls);
	t = ls.l[1];
	ls.l[1] = ls.l[2];
	ls.l[2] = t;
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), -1);
	assert_int_equal(r.line, 2);
	assert_non_null(strstr(r.why, "mac mismatch"));
	free_lines(&ls);
}

/* A record forged without the key, with the seq the verifier expects and a
   well-formed mac (under another key), is still caught. */
static void
test_insert_forged(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct lines ls, fl;
	struct audit *a;
	char *odir;

	make_log(f, 5);
	/* The forger's own log, with a different key, supplies seq 3. */
	odir = f->dir;
	f->dir = xasprintf("%s/other", f->top);
	a = open_log(f, NULL);
	write_n(a, 3);
	audit_close(a);
	{
		char *p = xasprintf("%s/audit.jsonl", f->dir);

		read_lines(p, &fl);
		free(p);
	}
	free(f->dir);
	f->dir = odir;
	read_lines(f->path, &ls);
	memmove(&ls.l[3], &ls.l[2], 3 * sizeof(ls.l[0]));
	ls.l[2] = xstrdup(fl.l[2]);
	ls.n++;
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), -1);
	assert_int_equal(r.line, 3);
	assert_string_equal(r.why, "mac mismatch");
	free_lines(&ls);
	free_lines(&fl);
}

static void
test_not_json(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct lines ls;

	make_log(f, 4);
	read_lines(f->path, &ls);
	free(ls.l[1]);
	ls.l[1] = xstrdup("garbage\n");
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), -1);
	assert_int_equal(r.line, 2);
	assert_string_equal(r.why, "not JSON");
	/* A complete line that lost its end is not a crash: tampering. */
	free(ls.l[1]);
	ls.l[1] = xstrndup(ls.l[2], 40);
	ls.l[1][39] = '\n';
	write_lines(f->path, &ls);
	assert_int_equal(verify1(f, &r), -1);
	assert_int_equal(r.line, 2);
	assert_string_equal(r.why, "not JSON");
	free_lines(&ls);
}

/* ---- a crash ----------------------------------------------------------- */

static void
test_torn_tail(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct audit *a;
	off_t size;

	make_log(f, 5);
	size = file_size(f->path);
	assert_int_equal(truncate(f->path, size - 30), 0);
	assert_int_equal(verify1(f, &r), 1);
	assert_true(r.intact);
	assert_true(r.torn);
	assert_int_equal(r.records, 4);
	assert_int_equal(r.line, 5);
	assert_string_equal(r.why, "truncated final record");

	/* The next writer drops the fragment; seq 5 is written again. */
	a = open_log(f, NULL);
	assert_int_equal(audit_seq(a), 4);
	write_n(a, 1);
	audit_close(a);
	assert_int_equal(verify1(f, &r), 0);

	/* Only the newline lost: still torn, not tampered. */
	size = file_size(f->path);
	assert_int_equal(truncate(f->path, size - 1), 0);
	assert_int_equal(verify1(f, &r), 1);
	assert_int_equal(r.records, 4);

	a = open_log(f, NULL);
	assert_int_equal(audit_seq(a), 4);
	write_n(a, 2);
	audit_close(a);
	assert_int_equal(verify1(f, &r), 0);
	assert_int_equal(r.records, 6);
	assert_int_equal(r.last_seq, 6);
}

/* ---- rotation ---------------------------------------------------------- */

static void
test_rotation(void **state)
{
	struct fx *f = *state;
	struct audit_opts o = { AUDIT_FSYNC_NEVER, 2000, 2, NULL };
	char *p1 = xasprintf("%s.1", f->path), *p2 = xasprintf("%s.2", f->path);
	char *p3 = xasprintf("%s.3", f->path), *err = NULL;
	const char *all[] = { p2, p1, f->path }, *two[] = { p2, f->path };
	struct audit_report r;
	struct lines ls;
	struct audit *a;
	int written = 0;

	a = open_log(f, &o);
	while (access(p2, F_OK) < 0) {
		write_n(a, 1);
		written++;
		assert_true(written < 200);
	}
	audit_close(a);
	assert_int_equal(access(p3, F_OK), -1);
	assert_true(file_size(p2) <= 2000);
	assert_true(file_size(p1) <= 2000);

	/* The new file opens with a rotate record naming the old one. */
	read_lines(f->path, &ls);
	assert_non_null(strstr(ls.l[0], "\"event\":\"rotate\",\"file\":"
	    "\"audit.jsonl.1\",\"prev_mac\":\""));
	free_lines(&ls);

	/* A reopened writer carries on; the chain holds across files. */
	a = open_log(f, &o);
	write_n(a, 1);
	written++;
	audit_close(a);
	assert_int_equal(audit_key_load(f->dir, f->key, 0, &err), 0);
	assert_int_equal(audit_verify(all, 3, f->key, &r), 0);
	assert_int_equal(r.records, written + 2);	/* two rotate records */
	assert_int_equal(r.first_seq, 1);
	assert_false(r.anchored);

	/* Older files aged out: the newest alone verifies, anchored. */
	assert_int_equal(audit_verify(all + 1, 2, f->key, &r), 0);
	assert_true(r.anchored);
	assert_true(r.first_seq > 1);

	/* A rotated file removed from the middle. */
	assert_int_equal(unlink(p1), 0);
	assert_int_equal(audit_verify(all, 3, f->key, &r), -1);
	assert_string_equal(r.file, p1);
	assert_string_equal(r.why, "missing rotated file");
	assert_int_equal(audit_verify(two, 2, f->key, &r), -1);
	assert_string_equal(r.file, f->path);
	assert_int_equal(r.line, 1);
	assert_non_null(strstr(r.why, "missing rotated file"));
	free(p1);
	free(p2);
	free(p3);
}

/* keep bounds the rotated files: the oldest goes. */
static void
test_rotation_keep(void **state)
{
	struct fx *f = *state;
	struct audit_opts o = { AUDIT_FSYNC_BATCH, 1000, 1, NULL };
	char *p1 = xasprintf("%s.1", f->path), *p2 = xasprintf("%s.2", f->path);
	const char *files[] = { p1, f->path };
	struct audit_report r;
	char *err = NULL;
	struct audit *a;

	a = open_log(f, &o);
	write_n(a, 40);
	audit_close(a);
	assert_int_equal(access(p2, F_OK), -1);
	assert_int_equal(audit_key_load(f->dir, f->key, 0, &err), 0);
	assert_int_equal(audit_verify(files, 2, f->key, &r), 0);
	assert_true(r.anchored);
	assert_true(r.last_seq > 40);	/* rotate records count too */
	free(p1);
	free(p2);
}

/* ---- failures and fsync ------------------------------------------------ */

static void
test_enospc(void **state)
{
	struct fx *f = *state;
	struct audit_report r;
	struct audit *a;
	char *err = NULL;
	int fd;

	if ((fd = open("/dev/full", O_WRONLY | O_CLOEXEC)) < 0)
		skip();
	a = open_log(f, NULL);
	write_n(a, 2);
	audit_use_fd(a, fd);
	assert_int_equal(audit_write(a, "call", NULL, &err), -1);
	assert_non_null(strstr(err, "No space left on device"));
	free(err);
	assert_int_equal(audit_seq(a), 2);	/* not counted */
	audit_close(a);
	assert_int_equal(audit_key_load(f->dir, f->key, 0, &err), 0);
	assert_int_equal(verify1(f, &r), 0);
	assert_int_equal(r.records, 2);
}

static void
test_fsync_batch(void **state)
{
	struct fx *f = *state;
	struct audit_opts batch = { AUDIT_FSYNC_BATCH, 0, 0, NULL };
	struct audit *a;
	double t0;

	a = open_log(f, &batch);
	t0 = mono_now();
	assert_int_equal(audit_tick(a, t0 + 5), 0);	/* nothing written */
	write_n(a, 3);
	assert_int_equal(audit_tick(a, t0 + 0.5), 0);	/* not due */
	assert_int_equal(audit_tick(a, t0 + 1.5), 1);
	assert_int_equal(audit_tick(a, t0 + 1.6), 0);	/* clean */
	write_n(a, 1);
	assert_int_equal(audit_tick(a, t0 + 2.0), 0);
	assert_int_equal(audit_tick(a, t0 + 2.6), 1);
	audit_close(a);

	/* Other policies never sync from the tick. */
	a = open_log(f, NULL);
	write_n(a, 1);
	assert_int_equal(audit_tick(a, t0 + 100), 0);
	audit_close(a);
}

/* ---- several writers ---------------------------------------------------- */

/* Two writers on one log (two corral processes) take turns, through
   rotations too: one chain, seq without gaps. */
static void
test_two_writers(void **state)
{
	struct fx *f = *state;
	struct audit_opts o = { AUDIT_FSYNC_NEVER, 3000, 20, NULL };
	char *p1 = xasprintf("%s.1", f->path), *err = NULL;
	const char *files[22];
	struct audit_report r;
	struct audit *a, *b;
	int i, n = 0;
	long long last = 0;

	a = open_log(f, &o);
	b = open_log(f, &o);
	for (i = 0; i < 60; i++) {
		struct audit *w = i % 3 ? a : b;

		/* Each record follows the other writer's last one (or the
		   rotate record it leads a new file with). */
		write_n(w, 1);
		assert_true(audit_seq(w) == last + 1 || audit_seq(w) == last + 2);
		last = audit_seq(w);
	}
	audit_close(a);
	audit_close(b);
	assert_int_equal(access(p1, F_OK), 0);
	for (i = 20; i >= 1; i--) {
		char *q = xasprintf("%s.%d", f->path, i);

		if (access(q, F_OK) == 0)
			files[n++] = q;
		else
			free(q);
	}
	files[n++] = f->path;
	assert_int_equal(audit_key_load(f->dir, f->key, 0, &err), 0);
	assert_int_equal(audit_verify(files, n, f->key, &r), 0);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.last_seq, last);
	assert_int_equal(r.records, last);
	assert_true(last > 60);		/* rotate records among them */
	for (i = 0; i < n - 1; i++)
		free((char *)files[i]);
	free(p1);
}

/* ---- the group --------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_write_verify),
		T(test_format),
		T(test_modes_and_key),
		T(test_reserved),
		T(test_flip_bytes),
		T(test_delete),
		T(test_swap),
		T(test_insert_forged),
		T(test_not_json),
		T(test_torn_tail),
		T(test_rotation),
		T(test_rotation_keep),
		T(test_enospc),
		T(test_fsync_batch),
		T(test_two_writers),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
