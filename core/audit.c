/* Tamper-evident audit log: the key, the writer and the verifier. The
   format is specified in audit.h. */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/audit.h"
#include "core/buf.h"
#include "core/util.h"

/* Every line ends with MAC_SEP, 64 hex digits and "}. */
#define MAC_SEP ",\"mac\":\""
#define MAC_SEP_LEN 8
#define MAC_SUFFIX_LEN (MAC_SEP_LEN + AUDIT_MAC_HEX + 2)
#define BATCH_INTERVAL 1.0
#define KEY_NAME "audit.key"

struct audit {
	char *dir, *file, *path;
	int fd;			/* -1 after a failed rotation; reopened */
	struct audit_opts opts;
	unsigned char key[AUDIT_KEY_LEN];
	long long seq;		/* of the last record written */
	char mac[AUDIT_MAC_HEX + 1];	/* of the last record; "" before any */
	off_t size;		/* bytes of complete records in the file */
	int dirty;		/* records written since the last fsync */
	int need_rotate;	/* the file still lacks its rotate record */
	double synced;		/* mono_now() of the last fsync */
	int lockfd;		/* <file>.lock: one writer at a time */
	int fixed;		/* audit_use_fd: never reopened */
	dev_t dev;		/* the file fd has open */
	ino_t ino;
};

/* ---- helpers ----------------------------------------------------------- */

/* Is s n lower-case hex digits? */
static int
is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Compute the hex HMAC-SHA256 of prev || b[0..blen) || ("}" if brace).
   The keyed context is kept between records: fetching the algorithm and
   setting the key again for each one costs more than the MAC itself. */
static void
mac_compute(const unsigned char *key, const char *prev, const char *b,
    size_t blen, int brace, char out[AUDIT_MAC_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	static EVP_MAC_CTX *ctx;
	static unsigned char ctx_key[AUDIT_KEY_LEN];
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0, i;
	int fresh = 0;

	if (ctx == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

		if (mac == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
			fatal("HMAC-SHA256 is not available");
		EVP_MAC_free(mac);
		fresh = 1;
	}
	if (fresh || CRYPTO_memcmp(ctx_key, key, AUDIT_KEY_LEN) != 0) {
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string("digest",
			    (char *)"SHA256", 0),
			OSSL_PARAM_construct_end()
		};

		if (EVP_MAC_init(ctx, key, AUDIT_KEY_LEN, params) != 1)
			fatal("HMAC-SHA256 failed");
		memcpy(ctx_key, key, AUDIT_KEY_LEN);
	} else if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1) {
		fatal("HMAC-SHA256 failed");
	}
	if (EVP_MAC_update(ctx, (const unsigned char *)prev,
	    strlen(prev)) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)b, blen) != 1 ||
	    (brace && EVP_MAC_update(ctx, (const unsigned char *)"}", 1) !=
	    1) ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 ||
	    mdlen != AUDIT_MAC_HEX / 2)
		fatal("HMAC-SHA256 failed");
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[AUDIT_MAC_HEX] = '\0';
}

/* Does line l (n bytes, no newline) end in the mac member? */
static int
mac_suffix_ok(const char *l, size_t n)
{
	const char *s;

	if (n < MAC_SUFFIX_LEN + 1)
		return 0;
	s = l + n - MAC_SUFFIX_LEN;
	return memcmp(s, MAC_SEP, MAC_SEP_LEN) == 0 &&
	    is_lower_hex(s + MAC_SEP_LEN, AUDIT_MAC_HEX) &&
	    memcmp(l + n - 2, "\"}", 2) == 0;
}

/* Format the wall-clock time as RFC 3339 UTC with microseconds. */
static void
now_rfc3339(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06uZ",
	    (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

/* One parsed line. */
struct rec {
	cJSON *j;
	long long seq;
	const char *event;	/* borrowed from j */
	char mac[AUDIT_MAC_HEX + 1];
	const char *bad;	/* what is wrong with v, seq, ts or event */
};

/* Parse line l (n bytes, no newline) into r; returns NULL, or why it is no
   record at all (and r->j is NULL). When only the members v, seq, ts or
   event are wrong, r->bad says so: the verifier checks the mac first, so
   that an edit reads as one. The caller deletes r->j. */
static const char *
rec_parse(const char *l, size_t n, struct rec *r)
{
	const char *end = NULL, *why = NULL;
	cJSON *v, *seq, *ts, *ev;

	memset(r, 0, sizeof(*r));
	r->j = cJSON_ParseWithLengthOpts(l, n, &end, 0);
	if (r->j == NULL || end != l + n)
		why = "not JSON";
	else if (!cJSON_IsObject(r->j))
		why = "not a JSON object";
	else if (!mac_suffix_ok(l, n))
		why = "mac missing, malformed or not the last member";
	else {
		v = cJSON_GetObjectItemCaseSensitive(r->j, "v");
		seq = cJSON_GetObjectItemCaseSensitive(r->j, "seq");
		ts = cJSON_GetObjectItemCaseSensitive(r->j, "ts");
		ev = cJSON_GetObjectItemCaseSensitive(r->j, "event");
		memcpy(r->mac, l + n - AUDIT_MAC_HEX - 2, AUDIT_MAC_HEX);
		r->mac[AUDIT_MAC_HEX] = '\0';
		if (!cJSON_IsNumber(v) || v->valuedouble != 1)
			r->bad = "unsupported version";
		else if (!cJSON_IsNumber(seq) || seq->valuedouble < 1 ||
		    seq->valuedouble > 9007199254740992.0 ||
		    seq->valuedouble != (double)(long long)seq->valuedouble)
			r->bad = "bad seq";
		else if (!cJSON_IsString(ts))
			r->bad = "bad ts";
		else if (!cJSON_IsString(ev) || ev->valuestring[0] == '\0')
			r->bad = "bad event";
		else {
			r->seq = (long long)seq->valuedouble;
			r->event = ev->valuestring;
		}
	}
	if (why) {
		cJSON_Delete(r->j);
		r->j = NULL;
	}
	return why;
}

/* Make dir (its parent must exist) and insist it is ours and private. */
static int
dir_ready(const char *dir, char **err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*err = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid()) {
		*err = xasprintf("%s: not a directory owned by you", dir);
		return -1;
	}
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0) {
		*err = xasprintf("%s: chmod: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the key ----------------------------------------------------------- */

/* Read the key at path; returns 0, 1 when there is none, or -1. */
static int
key_read(const char *path, unsigned char *key, char **err)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	/* A key others can read lets them forge records: refuse it. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) ||
	    st.st_size != AUDIT_KEY_LEN) {
		*err = xasprintf("%s: not a %d-byte file of mode 0600 owned by "
		    "you", path, AUDIT_KEY_LEN);
		close(fd);
		return -1;
	}
	do
		n = read(fd, key, AUDIT_KEY_LEN);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n != AUDIT_KEY_LEN) {
		*err = xasprintf("%s: short read", path);
		return -1;
	}
	return 0;
}

/* Make a new key at path; returns 0, 1 when another process made one
   first, or -1. The key is written to a private temporary file and linked
   into place, so a crash never leaves a short key behind. */
static int
key_make(const char *dir, const char *path, unsigned char *key, char **err)
{
	char *tmp = xasprintf("%s/.%s.%ld", dir, KEY_NAME, (long)getpid());
	size_t got = 0;
	ssize_t n;
	int fd, r = -1;

	while (got < AUDIT_KEY_LEN) {
		n = getrandom(key + got, AUDIT_KEY_LEN - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = xasprintf("getrandom: %s", strerror(errno));
			free(tmp);
			return -1;
		}
		got += (size_t)n;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		*err = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	errno = EIO;		/* a short write sets none */
	if (write(fd, key, AUDIT_KEY_LEN) != AUDIT_KEY_LEN || fsync(fd) < 0)
		*err = xasprintf("%s: %s", tmp, strerror(errno));
	else if (link(tmp, path) == 0)
		r = 0;
	else if (errno == EEXIST)
		r = 1;
	else
		*err = xasprintf("%s: %s", path, strerror(errno));
	close(fd);
	unlink(tmp);
	free(tmp);
	return r;
}

int
audit_key_read(const char *path, unsigned char key[AUDIT_KEY_LEN],
    char **err)
{
	int r = key_read(path, key, err);

	if (r == 1) {
		*err = xasprintf("%s: no such file", path);
		r = -1;
	}
	return r;
}

int
audit_key_load(const char *dir, unsigned char key[AUDIT_KEY_LEN], int create,
    char **err)
{
	char *path = xasprintf("%s/%s", dir, KEY_NAME);
	int r;

	r = key_read(path, key, err);
	if (r == 1 && create && (r = key_make(dir, path, key, err)) == 1)
		r = key_read(path, key, err);	/* lost a race: use theirs */
	if (r == 1) {
		*err = xasprintf("%s: no such file", path);
		r = -1;
	}
	free(path);
	return r;
}

/* ---- the writer -------------------------------------------------------- */

/* Open a->path for appending (and reading its last record) and learn its
   size. */
static int
file_open(struct audit *a, char **err)
{
	struct stat st;

	a->fd = open(a->path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (a->fd < 0) {
		*err = xasprintf("%s: %s", a->path, strerror(errno));
		return -1;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		*err = xasprintf("%s: not a regular file owned by you", a->path);
		goto fail;
	}
	if ((st.st_mode & 077) && fchmod(a->fd, 0600) < 0) {
		*err = xasprintf("%s: chmod: %s", a->path, strerror(errno));
		goto fail;
	}
	a->size = st.st_size;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	return 0;
fail:
	close(a->fd);
	a->fd = -1;
	return -1;
}

/* Find the last complete line of the size-byte file on fd: its seq and mac
   into *seq and mac, and into *good the offset just past its newline (less
   than size when a record was cut short). Returns 1, 0 when the file holds
   no complete line, or -1. */
static int
last_record(int fd, off_t size, const char *path, long long *seq, char *mac,
    off_t *good, char **err)
{
	size_t want = (size_t)(size < 2 * AUDIT_RECORD_MAX ? size :
	    2 * AUDIT_RECORD_MAX), s, e;
	char *t = xmalloc(want + 1);
	struct rec r;
	ssize_t n;
	int ret = -1;

	*good = 0;
	n = pread(fd, t, want, size - (off_t)want);
	if (n != (ssize_t)want) {
		*err = xasprintf("%s: read: %s", path,
		    n < 0 ? strerror(errno) : "short read");
		goto out;
	}
	for (e = want; e > 0 && t[e - 1] != '\n'; e--)
		;
	if (e == 0 && want < (size_t)size) {
		*err = xasprintf("%s: last record too long", path);
		goto out;
	}
	if (e == 0) {
		ret = 0;
		goto out;
	}
	*good = size - (off_t)want + (off_t)e;
	e--;			/* at the newline */
	for (s = e; s > 0 && t[s - 1] != '\n'; s--)
		;
	if (s == 0 && want < (size_t)size) {
		*err = xasprintf("%s: last record too long", path);
		goto out;
	}
	if (rec_parse(t + s, e - s, &r) != NULL || r.bad) {
		cJSON_Delete(r.j);
		*err = xasprintf("%s: last record unreadable; verify the log",
		    path);
		goto out;
	}
	*seq = r.seq;
	memcpy(mac, r.mac, AUDIT_MAC_HEX + 1);
	cJSON_Delete(r.j);
	ret = 1;
out:
	free(t);
	return ret;
}

/* Pick up seq and the chain where the log left off. A record cut short by a
   crash is removed so the next one starts on a line of its own. An empty
   file after a rotated one means a crash came between the rename and the
   rotate record: continue from the rotated file and write that record. */
static int
resume(struct audit *a, char **err)
{
	char *old;
	off_t good;
	int fd, r;

	r = last_record(a->fd, a->size, a->path, &a->seq, a->mac, &good, err);
	if (r < 0)
		return -1;
	if (good < a->size) {
		logmsg("%s: removing %lld bytes of a record cut short",
		    a->path, (long long)(a->size - good));
		if (ftruncate(a->fd, good) < 0) {
			*err = xasprintf("%s: truncate: %s", a->path,
			    strerror(errno));
			return -1;
		}
		a->size = good;
	}
	if (r == 1 || a->size > 0)
		return 0;
	old = xasprintf("%s.1", a->path);
	fd = open(old, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		free(old);
		return 0;
	}
	if (fd < 0) {
		*err = xasprintf("%s: %s", old, strerror(errno));
		free(old);
		return -1;
	}
	r = last_record(fd, lseek(fd, 0, SEEK_END), old, &a->seq, a->mac,
	    &good, err);
	close(fd);
	free(old);
	if (r < 0)
		return -1;
	a->need_rotate = r == 1;
	return 0;
}

/* Several corral processes may write one log (two clients, each with its
   own corral): each record is written under an flock of <file>.lock, after
   catching up with what the others wrote or rotated meanwhile. The lock
   is on a file of its own because rotation renames the log. */
static int
lock_open(struct audit *a, char **err)
{
	char *p = xasprintf("%s.lock", a->path);

	a->lockfd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (a->lockfd < 0)
		*err = xasprintf("%s: %s", p, strerror(errno));
	free(p);
	return a->lockfd < 0 ? -1 : 0;
}

static int
lock(struct audit *a, char **err)
{
	while (flock(a->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			*err = xasprintf("%s.lock: %s", a->path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void
unlock(struct audit *a)
{
	flock(a->lockfd, LOCK_UN);
}

/* Under the lock: follow another writer's appends and rotations. */
static int
catch_up(struct audit *a, char **err)
{
	struct stat st;

	if (a->fixed)
		return 0;
	if (stat(a->path, &st) < 0 || a->fd < 0 || st.st_dev != a->dev ||
	    st.st_ino != a->ino) {
		/* Rotated (or removed) by someone else: take the new file. */
		if (a->fd >= 0)
			close(a->fd);
		a->fd = -1;
		a->need_rotate = 0;
		if (file_open(a, err) < 0)
			return -1;
		return resume(a, err);
	}
	if (st.st_size != a->size) {
		a->size = st.st_size;
		return resume(a, err);
	}
	return 0;
}

struct audit *
audit_open(const char *dir, const char *file, const struct audit_opts *opts,
    char **err)
{
	struct audit *a;
	int r;

	if (file[0] == '\0' || strchr(file, '/') != NULL ||
	    strcmp(file, ".") == 0 || strcmp(file, "..") == 0) {
		*err = xasprintf("%s: not a plain file name", file);
		return NULL;
	}
	if (dir_ready(dir, err) < 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->fd = -1;
	if (opts)
		a->opts = *opts;
	if (a->opts.keep < 1)
		a->opts.keep = 1;
	a->dir = xstrdup(dir);
	a->file = xstrdup(file);
	a->path = xasprintf("%s/%s", dir, file);
	a->synced = mono_now();
	a->lockfd = -1;
	if (audit_key_load(a->opts.key_dir ? a->opts.key_dir : dir, a->key, 1,
	    err) < 0 || lock_open(a, err) < 0 || lock(a, err) < 0) {
		audit_close(a);
		return NULL;
	}
	r = file_open(a, err) < 0 || resume(a, err) < 0 ? -1 : 0;
	unlock(a);
	if (r < 0) {
		audit_close(a);
		return NULL;
	}
	return a;
}

/* Serialise the next record; returns the line (newline included, caller
   frees) and its length in *len and its mac in mac, or NULL. */
static char *
record_make(struct audit *a, const char *event, const cJSON *fields,
    char *mac, size_t *len, char **err)
{
	cJSON *ev = cJSON_CreateString(event);
	char ts[32], *evs, *fs = NULL, *line;
	struct buf b;
	size_t n;

	/* The same bytes as printing one object of v, seq, ts, event and the
	   fields, without copying the fields into it first. */
	now_rfc3339(ts);
	evs = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	if (fields && (fs = cJSON_PrintUnformatted(fields)) == NULL)
		fatal("out of memory");
	if (evs == NULL)
		fatal("out of memory");
	buf_init(&b, 0);
	buf_addf(&b, "{\"v\":1,\"seq\":%lld,\"ts\":\"%s\",\"event\":%s",
	    a->seq + 1, ts, evs);
	/* Compact output escapes control characters in strings, so the
	   fields are one line, "{...}". */
	if (fs && strcmp(fs, "{}") != 0) {
		buf_add(&b, ",", 1);
		buf_adds(&b, fs + 1);
	} else {
		buf_add(&b, "}", 1);
	}
	cJSON_free(evs);
	cJSON_free(fs);
	n = buf_used(&b);
	if (n + MAC_SUFFIX_LEN > AUDIT_RECORD_MAX) {
		*err = xasprintf("audit record too large (%zu bytes)", n);
		buf_free(&b);
		return NULL;
	}
	mac_compute(a->key, a->mac, buf_head(&b), n, 0, mac);
	line = xmalloc(n - 1 + MAC_SUFFIX_LEN + 2);
	memcpy(line, buf_head(&b), n - 1);
	*len = (size_t)sprintf(line + n - 1, "%s%s\"}\n", MAC_SEP, mac) + n - 1;
	buf_free(&b);
	return line;
}

/* Append line with one write(2); on success advance seq and the chain and
   apply the fsync policy. */
static int
record_put(struct audit *a, const char *line, size_t len, const char *mac,
    char **err)
{
	ssize_t n;

	do
		n = write(a->fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*err = xasprintf("%s: write: %s", a->path, strerror(errno));
		return -1;
	}
	if ((size_t)n < len) {
		/* Take the fragment back so the next record starts a line. */
		int gone = ftruncate(a->fd, a->size) == 0;

		*err = xasprintf("%s: short write (%zd of %zu bytes)%s",
		    a->path, n, len, gone ? "" : "; fragment left behind");
		return -1;
	}
	a->seq++;
	memcpy(a->mac, mac, AUDIT_MAC_HEX + 1);
	a->size += (off_t)len;
	a->dirty = 1;
	if (a->opts.fsync == AUDIT_FSYNC_ALWAYS) {
		if (fsync(a->fd) < 0) {
			*err = xasprintf("%s: fsync: %s", a->path,
			    strerror(errno));
			return -1;
		}
		a->dirty = 0;
		a->synced = mono_now();
	} else if (audit_tick(a, mono_now()) < 0) {
		*err = xasprintf("%s: fsync: %s", a->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Write the rotate record that opens a new file. */
static int
rotate_record(struct audit *a, char **err)
{
	cJSON *f = cJSON_CreateObject();
	char mac[AUDIT_MAC_HEX + 1], *name = xasprintf("%s.1", a->file), *line;
	size_t len;
	int r = -1;

	cJSON_AddStringToObject(f, "file", name);
	cJSON_AddStringToObject(f, "prev_mac", a->mac);
	line = record_make(a, "rotate", f, mac, &len, err);
	if (line && (r = record_put(a, line, len, mac, err)) == 0)
		a->need_rotate = 0;
	free(line);
	free(name);
	cJSON_Delete(f);
	return r;
}

/* Shift <file>.1 .. to .2 .., rename the file to <file>.1 and start a new
   one with its rotate record. A failure leaves things so that the next
   write tries again. */
static int
rotate(struct audit *a, char **err)
{
	char *from, *to;
	int i, dfd;

	/* The old file must be on disk in full before its successor names
	   its last mac. */
	if (a->opts.fsync != AUDIT_FSYNC_NEVER && a->dirty) {
		if (fsync(a->fd) < 0) {
			*err = xasprintf("%s: fsync: %s", a->path,
			    strerror(errno));
			return -1;
		}
		a->dirty = 0;
		a->synced = mono_now();
	}
	for (i = a->opts.keep; i >= 1; i--) {
		from = i == 1 ? xstrdup(a->path) : xasprintf("%s.%d", a->path,
		    i - 1);
		to = xasprintf("%s.%d", a->path, i);
		if (rename(from, to) < 0 && errno != ENOENT) {
			*err = xasprintf("rename %s: %s", from, strerror(errno));
			free(from);
			free(to);
			return -1;
		}
		free(from);
		free(to);
	}
	close(a->fd);
	a->need_rotate = 1;
	if (file_open(a, err) < 0)
		return -1;
	if (a->opts.fsync != AUDIT_FSYNC_NEVER &&
	    (dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return rotate_record(a, err);
}

static int write_locked(struct audit *, const char *, const cJSON *,
    char **);

int
audit_write(struct audit *a, const char *event, const cJSON *fields,
    char **err)
{
	static const char *const reserved[] = { "v", "seq", "ts", "event",
	    "mac" };
	const cJSON *c;
	size_t i;
	int r;

	if (event == NULL || event[0] == '\0' || strcmp(event, "rotate") == 0) {
		*err = xstrdup("audit event name missing or reserved");
		return -1;
	}
	if (fields != NULL && !cJSON_IsObject(fields)) {
		*err = xstrdup("audit fields must be an object");
		return -1;
	}
	cJSON_ArrayForEach(c, fields)
		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			if (strcmp(c->string, reserved[i]) == 0) {
				*err = xasprintf("audit field \"%s\" is "
				    "reserved", c->string);
				return -1;
			}
	if (lock(a, err) < 0)
		return -1;
	r = write_locked(a, event, fields, err);
	unlock(a);
	return r;
}

static int
write_locked(struct audit *a, const char *event, const cJSON *fields,
    char **err)
{
	char mac[AUDIT_MAC_HEX + 1], *line;
	size_t len;
	int r;

	if (catch_up(a, err) < 0)
		return -1;
	if (a->need_rotate && rotate_record(a, err) < 0)
		return -1;
	if ((line = record_make(a, event, fields, mac, &len, err)) == NULL)
		return -1;
	if (a->opts.max_bytes > 0 && a->size > 0 &&
	    a->size + (off_t)len > a->opts.max_bytes) {
		free(line);
		if (rotate(a, err) < 0)
			return -1;
		/* seq and the chain moved on by the rotate record. */
		line = record_make(a, event, fields, mac, &len, err);
		if (line == NULL)
			return -1;
	}
	r = record_put(a, line, len, mac, err);
	free(line);
	return r;
}

int
audit_tick(struct audit *a, double now)
{
	if (a->fd < 0 || a->opts.fsync != AUDIT_FSYNC_BATCH || !a->dirty ||
	    now - a->synced < BATCH_INTERVAL)
		return 0;
	if (fsync(a->fd) < 0)
		return -1;
	a->dirty = 0;
	a->synced = now;
	return 1;
}

long long
audit_seq(const struct audit *a)
{
	return a->seq;
}

const char *
audit_last_mac(const struct audit *a)
{
	return a->mac;
}

void
audit_use_fd(struct audit *a, int fd)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	a->fixed = 1;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0) {
		if (a->dirty && a->opts.fsync != AUDIT_FSYNC_NEVER)
			fsync(a->fd);
		close(a->fd);
	}
	if (a->lockfd >= 0)
		close(a->lockfd);
	OPENSSL_cleanse(a->key, sizeof(a->key));
	free(a->dir);
	free(a->file);
	free(a->path);
	free(a);
}

/* ---- the verifier ------------------------------------------------------ */

struct verify {
	const unsigned char *key;
	struct audit_report *out;
	int started;		/* the chain has begun */
	long long seq;
	char mac[AUDIT_MAC_HEX + 1];
	const char *prev;	/* the file before this one, for messages */
};

/* Record the first bad record; returns -1. */
static int __attribute__((format(printf, 4, 5)))
bad(struct verify *v, const char *file, long line, const char *fmt, ...)
{
	va_list ap;

	v->out->intact = 0;
	v->out->file = file;
	v->out->line = line;
	va_start(ap, fmt);
	vsnprintf(v->out->why, sizeof(v->out->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Check one complete line l (n bytes, newline removed) of file number
   idx. */
static int
verify_line(struct verify *v, const char *file, int idx, long ln,
    const char *l, size_t n)
{
	char want[AUDIT_MAC_HEX + 1], gap[64] = "";
	const char *why;
	struct rec r;
	cJSON *pm;
	int rot;

	if ((why = rec_parse(l, n, &r)) != NULL)
		return bad(v, file, ln, "%s", why);
	if (r.bad) {
		mac_compute(v->key, v->mac, l, n - MAC_SUFFIX_LEN, 1, want);
		why = CRYPTO_memcmp(want, r.mac, AUDIT_MAC_HEX) != 0 ?
		    "mac mismatch" : r.bad;
		cJSON_Delete(r.j);
		return bad(v, file, ln, "%s", why);
	}
	rot = strcmp(r.event, "rotate") == 0;
	pm = cJSON_GetObjectItemCaseSensitive(r.j, "prev_mac");
	if (rot && ln != 1) {
		why = "rotate record not at the start of a file";
	} else if (rot && (!cJSON_IsString(pm) ||
	    strlen(pm->valuestring) != AUDIT_MAC_HEX ||
	    !is_lower_hex(pm->valuestring, AUDIT_MAC_HEX))) {
		why = "rotate record without a valid prev_mac";
	} else if (rot && !v->started) {
		/* Older files aged out: anchor the chain here. */
		memcpy(v->mac, pm->valuestring, AUDIT_MAC_HEX + 1);
		v->seq = r.seq - 1;
		v->out->anchored = 1;
	} else if (rot && strcmp(pm->valuestring, v->mac) != 0) {
		/* The rotate record's file member names the file as it was
		   called then; later rotations renamed it. */
		const char *p = v->prev ? strrchr(v->prev, '/') : NULL;

		bad(v, file, ln, "prev_mac is not the last mac of %s "
		    "(missing rotated file, or records cut from its end)",
		    p ? p + 1 : v->prev ? v->prev : "the file before");
		cJSON_Delete(r.j);
		return -1;
	} else if (!rot && ln == 1 && idx > 0)
		why = "rotated file does not start with a rotate record";
	if (why) {
		cJSON_Delete(r.j);
		return bad(v, file, ln, "%s", why);
	}
	if (r.seq != v->seq + 1)
		snprintf(gap, sizeof(gap), "seq gap (expected %lld got %lld)",
		    v->seq + 1, r.seq);
	mac_compute(v->key, v->mac, l, n - MAC_SUFFIX_LEN, 1, want);
	cJSON_Delete(r.j);
	if (CRYPTO_memcmp(want, r.mac, AUDIT_MAC_HEX) != 0)
		return bad(v, file, ln, "mac mismatch%s%s", gap[0] ? ", " : "",
		    gap);
	if (gap[0])
		return bad(v, file, ln, "%s", gap);
	if (!v->started)
		v->out->first_seq = r.seq;
	v->started = 1;
	v->seq = r.seq;
	memcpy(v->mac, r.mac, AUDIT_MAC_HEX + 1);
	v->out->records++;
	v->out->last_seq = r.seq;
	memcpy(v->out->last_mac, r.mac, AUDIT_MAC_HEX + 1);
	return 0;
}

/* Could the unterminated last line l (n bytes) be the next record cut
   short by a crash? write(2) may stop anywhere, so the fragment must begin
   as the next record does; a whole record that lost only its newline must
   verify. Some file systems leave zero bytes instead. Anything else was
   put there. */
static int
cut_short(const struct verify *v, const char *l, size_t n)
{
	char head[64], want[AUDIT_MAC_HEX + 1];
	size_t hn, i;
	struct rec r;
	int ok;

	if (rec_parse(l, n, &r) == NULL) {
		mac_compute(v->key, v->mac, l, n - MAC_SUFFIX_LEN, 1, want);
		ok = r.bad == NULL && r.seq == v->seq + 1 &&
		    CRYPTO_memcmp(want, r.mac, AUDIT_MAC_HEX) == 0;
		cJSON_Delete(r.j);
		return ok;
	}
	hn = (size_t)snprintf(head, sizeof(head), "{\"v\":1,\"seq\":%lld,"
	    "\"ts\":\"", v->seq + 1);
	if (memcmp(l, head, n < hn ? n : hn) == 0)
		return 1;
	for (i = 0; i < n && l[i] == '\0'; i++)
		;
	return i == n;
}

/* Check every line of file number idx; newest is set for the last file,
   the only one that may end in a record cut short by a crash. */
static int
verify_file(struct verify *v, const char *file, int idx, int newest)
{
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;
	long ln = 0;
	FILE *fp;
	int r = 0;

	if ((fp = fopen(file, "re")) == NULL)
		return bad(v, file, 0, "%s", errno == ENOENT && !newest ?
		    "missing rotated file" : strerror(errno));
	while (r == 0 && (n = getline(&l, &cap, fp)) > 0) {
		ln++;
		if (l[n - 1] != '\n') {
			if (!newest) {
				r = bad(v, file, ln, "truncated record in a "
				    "rotated file");
				break;
			}
			if (!cut_short(v, l, (size_t)n)) {
				r = bad(v, file, ln, "unterminated last line "
				    "that is not a record cut short");
				break;
			}
			v->out->torn = 1;
			v->out->file = file;
			v->out->line = ln;
			snprintf(v->out->why, sizeof(v->out->why),
			    "truncated final record");
			break;
		}
		r = verify_line(v, file, idx, ln, l, (size_t)n - 1);
	}
	if (r == 0 && ferror(fp))
		r = bad(v, file, 0, "read error");
	else if (r == 0 && ln == 0 && !newest)
		r = bad(v, file, 0, "empty rotated file");
	v->prev = file;
	free(l);
	fclose(fp);
	return r;
}

int
audit_verify(const char *const *files, int nfiles,
    const unsigned char key[AUDIT_KEY_LEN], struct audit_report *out)
{
	struct verify v;
	int i;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	out->intact = 1;
	snprintf(out->why, sizeof(out->why), "ok");
	v.key = key;
	v.out = out;
	for (i = 0; i < nfiles; i++)
		if (verify_file(&v, files[i], i, i == nfiles - 1) < 0)
			break;
	if (!out->intact)
		return -1;
	return out->torn ? 1 : 0;
}
