/* corral audit: verify, follow and sum up the audit log. The record format
   is in core/audit.h, the events in core/trail.h. These are reports, not
   MCP, so they go to standard output. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/audit.h"
#include "core/map.h"
#include "core/state.h"
#include "core/util.h"

#define AUDIT_USAGE \
	"usage: corral audit verify [-c file] [--key file] " \
	"[--file path | file ...]\n" \
	"       corral audit tail [-c file] [-f] [-n count] [--json] " \
	"[--file path]\n" \
	"       corral audit stats [-c file] [--since duration] [--json] " \
	"[--file path]\n"

#define LOG_NAME "audit.jsonl"
#define KEY_NAME "audit.key"
#define POLL_NS 100000000L	/* tail -f looks ten times a second */
#define EVENT_WIDTH 14		/* the longest event name */
#define TOOL_WIDTH 20

struct aopts {
	const char *conf, *file, *key, *since;
	int follow, json;
	long count;
};

/* ---- where the log is -------------------------------------------------- */

/* The live log: --file, else corral.audit.path of the config (-c, or the
   default one when there is one), else audit.jsonl in the state
   directory. NULL after saying why. */
static char *
log_path(const struct aopts *o)
{
	struct config *cf;
	char *def = NULL, *p = NULL, *dir, *err = NULL;
	const char *conf = o->conf;

	if (o->file)
		return xstrdup(o->file);
	if (conf == NULL) {
		def = config_default_path();
		if (access(def, F_OK) == 0 || errno != ENOENT)
			conf = def;
	}
	if (conf) {
		cf = cmd_load_config(conf);
		free(def);
		if (cf == NULL)
			return NULL;
		if (cf->audit_path)
			p = xstrdup(cf->audit_path);
		config_free(cf);
		if (p)
			return p;
	} else
		free(def);
	if ((dir = state_dir(&err)) == NULL) {
		logmsg("%s", err);
		free(err);
		return NULL;
	}
	p = xasprintf("%s/%s", dir, LOG_NAME);
	free(dir);
	return p;
}

/* The files of the live log, oldest first: <live>.N down to <live>.1 for
   the highest N there is, then live. A number missing in between is
   listed all the same, for verify to report. */
static char **
log_files(const char *live, int *nfiles)
{
	const char *slash = strrchr(live, '/');
	const char *base = slash ? slash + 1 : live;
	size_t bl = strlen(base);
	struct dirent *e;
	char **files, *dir, *end;
	long max = 0, k;
	DIR *d;
	int i;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == live)
		dir = xstrdup("/");
	else
		dir = xstrndup(live, (size_t)(slash - live));
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, base, bl) != 0 ||
			    e->d_name[bl] != '.' || e->d_name[bl + 1] < '1' ||
			    e->d_name[bl + 1] > '9')
				continue;
			errno = 0;
			k = strtol(e->d_name + bl + 1, &end, 10);
			if (*end == '\0' && errno == 0 && k <= 100000 &&
			    k > max)
				max = k;
		}
		closedir(d);
	}
	free(dir);
	files = xcalloc((size_t)max + 1, sizeof(*files));
	for (i = 0; i < max; i++)
		files[i] = xasprintf("%s.%ld", live, max - i);
	files[max] = xstrdup(live);
	*nfiles = (int)max + 1;
	return files;
}

static void
files_free(char **files, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
}

/* ---- verify ------------------------------------------------------------ */

static int
verify(const struct aopts *o, int nargs, char **args)
{
	unsigned char key[AUDIT_KEY_LEN];
	struct audit_report rep;
	char **files, *live = NULL, *keypath = NULL, *dir, *err = NULL;
	int n, i, r, fd, listed = nargs == 0;

	if (listed) {
		if ((live = log_path(o)) == NULL)
			return 2;
		files = log_files(live, &n);
	} else {
		files = xcalloc((size_t)nargs, sizeof(*files));
		for (n = 0; n < nargs; n++)
			files[n] = xstrdup(args[n]);
	}
	/* A file we cannot read is trouble to fix, not tampering; a rotated
	   file missing between others is for audit_verify to report. */
	for (i = 0; i < n; i++) {
		if ((fd = open(files[i], O_RDONLY | O_CLOEXEC)) >= 0) {
			close(fd);
			continue;
		}
		if (errno == ENOENT && listed && i < n - 1)
			continue;
		logmsg("%s: %s", files[i], strerror(errno));
		r = 2;
		goto out;
	}
	if (o->key)
		keypath = xstrdup(o->key);
	else if ((dir = state_dir(&err)) != NULL) {
		keypath = xasprintf("%s/%s", dir, KEY_NAME);
		free(dir);
	}
	if (keypath == NULL || audit_key_read(keypath, key, &err) < 0) {
		logmsg("%s", err);
		free(err);
		r = 2;
		goto out;
	}
	r = audit_verify((const char *const *)files, n, key, &rep);
	explicit_bzero(key, sizeof(key));
	/* The writer never removes <live>.1: a live log that starts the chain
	   at a rotate record with no rotated file beside it lost that file. */
	if (r >= 0 && listed && n == 1 && rep.anchored) {
		printf("%s.1: missing rotated file (%s starts with a rotate "
		    "record)\n", live, live);
		r = -1;
	} else if (r < 0 && rep.line > 0)
		printf("%s:%ld: %s\n", rep.file, rep.line, rep.why);
	else if (r < 0)
		printf("%s: %s\n", rep.file, rep.why);
	if (r < 0) {
		logmsg("the audit log does not verify: records were changed, "
		    "removed, added or reordered, or %s is not the key that "
		    "wrote them", keypath);
		r = 1;
		goto out;
	}
	if (r == 1)
		printf("%s:%ld: truncated final record (a crash while writing; "
		    "not tampering)\n", rep.file, rep.line);
	printf("audit: intact, %lld record%s", rep.records,
	    rep.records == 1 ? "" : "s");
	if (rep.records == 1)
		printf(" (seq %lld)", rep.first_seq);
	else if (rep.records > 1)
		printf(" (seq %lld-%lld)", rep.first_seq, rep.last_seq);
	printf(", %d file%s", n, n == 1 ? "" : "s");
	if (rep.anchored)
		printf(", anchored at seq %lld (earlier files are gone)",
		    rep.first_seq);
	printf("\n");
	r = r == 1 ? 3 : 0;
out:
	files_free(files, n);
	free(live);
	free(keypath);
	return r;
}

/* ---- reading records for people ---------------------------------------- */

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* s with control characters shown as '?', so that a record cannot drive
   the terminal. */
static char *
clean(const char *s)
{
	char *c = xstrdup(s ? s : "-"), *p;

	for (p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

/* Print s cleaned, padded to width. */
static void
put(const char *s, int width)
{
	char *c = clean(s);

	printf("%-*s", width, c);
	free(c);
}

/* Print the record's ts "2026-11-25T17:44:38.123456Z" as
   "2026-11-25 17:44:38.123" (UTC, cut to milliseconds). */
static void
put_time(const char *ts)
{
	char t[24];

	if (ts && strlen(ts) >= 23 && ts[10] == 'T') {
		memcpy(t, ts, 23);
		t[10] = ' ';
		t[23] = '\0';
		put(t, 23);
	} else
		put("?", 23);
}

/* Can s be shown bare after key=? */
static int
plain(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '=' ||
		    *s == '\\' || *s == 0x7f)
			return 0;
	return 1;
}

/* Print v as a value: a plain string bare, anything else as JSON (which
   escapes control characters). A client object reads name/version. */
static void
put_value(const char *k, const cJSON *v)
{
	const char *name = str(v, "name"), *ver = str(v, "version");
	cJSON *t;
	char *s;

	if (strcmp(k, "client") == 0 && cJSON_IsObject(v) && name) {
		s = ver ? xasprintf("%s/%s", name, ver) : xstrdup(name);
		t = cJSON_CreateString(s);
		put_value("", t);
		cJSON_Delete(t);
		free(s);
		return;
	}
	if (cJSON_IsString(v) && plain(v->valuestring)) {
		fputs(v->valuestring, stdout);
		return;
	}
	if ((s = cJSON_PrintUnformatted(v)) == NULL)
		fatal("out of memory");
	fputs(s, stdout);
	cJSON_free(s);
}

/* The members shown for each event other than call; other events show
   all of theirs. */
static const struct {
	const char *event;
	const char *keys[8];
} summary[] = {
	{ "config_load", { "path", "servers" } },
	{ "session_start", { "session", "client", "protocol" } },
	{ "session_end", { "session", "reason", "requests", "duration_ms" } },
	{ "child_spawn", { "server", "pid", "sandbox", "url" } },
	{ "child_exit", { "server", "pid", "status", "signal", "reason" } },
	{ "sandbox_error", { "server", "error" } },
	{ "spawn_error", { "server", "error" } },
	{ "audit_resumed", { "lost", "error" } },
	{ "request", { "method", "server", "prompt", "uri", "outcome", "code",
	    "latency_ms" } },
	{ "relay", { "server", "method", "outcome", "code", "latency_ms" } },
	{ "consent_prompt", { "server", "tool", "channel", "changed" } },
	{ "consent_answer", { "server", "tool", "answer", "channel" } },
	{ "pin", { "server", "tool", "change" } },
	{ "rotate", { "file" } },
};

/* TIME  SERVER  TOOL  DECISION (BY)  OUTCOME [CODE]  LATENCY */
static void
show_call(const cJSON *o)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "code");
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
	const char *by = str(o, "by");

	put_time(str(o, "ts"));
	fputs("  ", stdout);
	put(str(o, "server"), EVENT_WIDTH);
	fputs("  ", stdout);
	put(str(o, "tool"), TOOL_WIDTH);
	fputs("  ", stdout);
	put(str(o, "decision"), 0);
	if (by) {
		fputs(" (", stdout);
		put(by, 0);
		fputs(")", stdout);
	}
	fputs("  ", stdout);
	put(str(o, "outcome"), 0);
	if (cJSON_IsNumber(code))
		printf(" %.0f", code->valuedouble);
	if (cJSON_IsNumber(lat))
		printf("  %.2f ms\n", lat->valuedouble);
	else
		printf("  -\n");
}

/* TIME  EVENT  key=value ... */
static void
show_other(const cJSON *o, const char *ev)
{
	static const char *const skip[] = { "v", "seq", "ts", "event", "mac" };
	const cJSON *v;
	size_t i, k;
	int first = 1, shown;
	char *c = clean(ev);

	put_time(str(o, "ts"));
	printf("  %s", c);
	for (i = 0; i < sizeof(summary) / sizeof(summary[0]); i++)
		if (strcmp(ev, summary[i].event) == 0)
			break;
	cJSON_ArrayForEach(v, o) {
		shown = 0;
		if (i < sizeof(summary) / sizeof(summary[0])) {
			for (k = 0; k < 8 && summary[i].keys[k]; k++)
				if (strcmp(v->string, summary[i].keys[k]) == 0)
					shown = 1;
		} else {
			shown = 1;
			for (k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
				if (strcmp(v->string, skip[k]) == 0)
					shown = 0;
		}
		if (!shown)
			continue;
		if (first)
			printf("%*s  ", EVENT_WIDTH - (int)strlen(c) > 0 ?
			    EVENT_WIDTH - (int)strlen(c) : 0, "");
		else
			putchar(' ');
		first = 0;
		put(v->string, 0);
		putchar('=');
		put_value(v->string, v);
	}
	putchar('\n');
	free(c);
}

/* Show line ln of file (l, n bytes without the newline): one line for a
   person, or the record as stored. Unreadable lines are said so in
   place, or with --json skipped with a note, so stdout stays JSON. */
static void
show(const char *file, long ln, const char *l, size_t n, int json)
{
	const char *end = NULL, *ev;
	cJSON *o = cJSON_ParseWithLengthOpts(l, n, &end, 0);

	if (!cJSON_IsObject(o) || end != l + n) {
		if (json)
			logmsg("%s:%ld: unreadable record, skipped", file, ln);
		else
			printf("?  unreadable record at %s:%ld\n", file, ln);
	} else if (json) {
		fwrite(l, 1, n, stdout);
		putchar('\n');
	} else if ((ev = str(o, "event")) != NULL && strcmp(ev, "call") == 0)
		show_call(o);
	else
		show_other(o, ev ? ev : "?");
	cJSON_Delete(o);
}

/* ---- tail -------------------------------------------------------------- */

/* The last want complete lines of one file. */
struct chunk {
	const char *file;
	char **l;		/* line i at i % want, as a ring once full */
	size_t *len;
	long want, cap;
	long lines;		/* complete lines in the file */
	off_t end;		/* just past the last of them */
};

static long
chunk_count(const struct chunk *c)
{
	return c->lines < c->want ? c->lines : c->want;
}

/* Read fp to its end into c; a last line without its newline is left
   out. Closes fp. Returns 0, or -1 on a read error. */
static int
chunk_read(struct chunk *c, const char *file, FILE *fp, long want)
{
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;
	long k;
	int r;

	memset(c, 0, sizeof(*c));
	c->file = file;
	c->want = want;
	while ((n = getline(&l, &cap, fp)) > 0 && l[n - 1] == '\n') {
		if (c->lines < want && c->lines == c->cap) {
			/* grow as lines come: want may be far more */
			c->cap = c->cap < want / 2 ? 2 * c->cap + 16 : want;
			c->l = xrealloc(c->l, (size_t)c->cap * sizeof(*c->l));
			c->len = xrealloc(c->len, (size_t)c->cap *
			    sizeof(*c->len));
		}
		if (want > 0) {
			k = c->lines % want;
			if (c->lines >= want)
				free(c->l[k]);
			c->l[k] = xstrndup(l, (size_t)n - 1);
			c->len[k] = (size_t)n - 1;
		}
		c->lines++;
		c->end += n;
	}
	r = ferror(fp) ? -1 : 0;
	free(l);
	fclose(fp);
	return r;
}

static void
chunk_show(const struct chunk *c, int json)
{
	long i;

	for (i = c->lines - chunk_count(c); i < c->lines; i++)
		show(c->file, i + 1, c->l[i % c->want], c->len[i % c->want],
		    json);
}

static void
chunk_free(struct chunk *c)
{
	long i;

	for (i = 0; i < chunk_count(c); i++)
		free(c->l[i]);
	free(c->l);
	free(c->len);
}

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* tail -f: the live file as it grows. */
struct follow {
	const char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	char *buf;		/* a line not complete yet */
	size_t len, cap;
	off_t pos;		/* the file offset of buf[0] */
	long ln;		/* complete lines read */
};

/* Print the complete lines appended since the last look, and keep a
   partial one for later. */
static void
drain(struct follow *f, int json)
{
	char *s, *nl;
	ssize_t n;

	for (;;) {
		if (f->cap - f->len < 65536) {
			f->cap = 2 * f->cap + 65536;
			f->buf = xrealloc(f->buf, f->cap);
		}
		n = read(f->fd, f->buf + f->len, f->cap - f->len);
		if (n < 0 && errno == EINTR && !stopping)
			continue;
		if (n <= 0)
			break;
		f->len += (size_t)n;
		s = f->buf;
		while ((nl = memchr(s, '\n', f->len - (size_t)(s - f->buf)))) {
			show(f->path, ++f->ln, s, (size_t)(nl - s), json);
			s = nl + 1;
		}
		f->pos += s - f->buf;
		f->len -= (size_t)(s - f->buf);
		memmove(f->buf, s, f->len);
	}
	fflush(stdout);
}

/* A writer that finds a record cut short by a crash removes it and writes
   anew at its place; someone may cut the file shorter. Read again from
   where the bytes we hold no longer are. */
static void
recheck(struct follow *f)
{
	struct stat st;
	char *t;

	if (fstat(f->fd, &st) == 0 && st.st_size < f->pos) {
		logmsg("%s: the file was cut short; reading it from the start",
		    f->path);
		f->pos = 0;
		f->len = 0;
		f->ln = 0;
		lseek(f->fd, 0, SEEK_SET);
		return;
	}
	if (f->len == 0)
		return;
	t = xmalloc(f->len);
	if (pread(f->fd, t, f->len, f->pos) != (ssize_t)f->len ||
	    memcmp(t, f->buf, f->len) != 0) {
		f->len = 0;
		lseek(f->fd, f->pos, SEEK_SET);
	}
	free(t);
}

/* After a rotation the file we read is <live>.K. Show <live>.K-1 down to
   <live>.1, rotated while we were not looking, up to the file now open
   as the live one (next, which we go on reading). */
static void
catch_up(const struct follow *f, const struct stat *next, int json)
{
	struct stat st;
	char *p, *l = NULL;
	size_t cap = 0;
	ssize_t n;
	long ln;
	int k, j;
	FILE *fp;

	for (k = 1; ; k++) {
		p = xasprintf("%s.%d", f->path, k);
		j = stat(p, &st);
		free(p);
		if (j < 0)
			return;		/* ours aged out: nothing to add */
		if (st.st_ino == f->ino && st.st_dev == f->dev)
			break;
	}
	for (j = k - 1; j >= 1; j--) {
		p = xasprintf("%s.%d", f->path, j);
		if (stat(p, &st) == 0 && st.st_ino == next->st_ino &&
		    st.st_dev == next->st_dev) {
			free(p);
			break;
		}
		if ((fp = fopen(p, "re")) != NULL) {
			for (ln = 1; (n = getline(&l, &cap, fp)) > 0 &&
			    l[n - 1] == '\n'; ln++)
				show(p, ln, l, (size_t)n - 1, json);
			fclose(fp);
		}
		free(p);
	}
	free(l);
}

/* Follow the live file until a signal, or until stdout cannot be written
   (the reader went away); across rotation, by name. */
static void
follow(struct follow *f, int json)
{
	struct timespec ts = { 0, POLL_NS };
	struct stat st;
	int fd;

	while (!stopping && !ferror(stdout)) {
		recheck(f);
		drain(f, json);
		if (stat(f->path, &st) == 0 &&
		    (st.st_ino != f->ino || st.st_dev != f->dev) &&
		    (fd = open(f->path, O_RDONLY | O_CLOEXEC)) >= 0) {
			/* Rotated: the rest of the old file, any rotated
			   since, then the new one from its start. */
			if (fstat(fd, &st) < 0) {
				close(fd);
				nanosleep(&ts, NULL);
				continue;
			}
			drain(f, json);
			catch_up(f, &st, json);
			fflush(stdout);
			close(f->fd);
			f->fd = fd;
			f->ino = st.st_ino;
			f->dev = st.st_dev;
			f->pos = 0;
			f->len = 0;
			f->ln = 0;
			continue;
		}
		nanosleep(&ts, NULL);
	}
}

static int
tail(const struct aopts *o)
{
	struct sigaction sa;
	struct follow f;
	struct chunk *ch;
	struct stat st;
	char **files, *live;
	long have = 0;
	int nfiles, nch = 0, i, fd, r = 0;
	FILE *fp;

	if ((live = log_path(o)) == NULL)
		return 2;
	if ((fd = open(live, O_RDONLY | O_CLOEXEC)) < 0) {
		logmsg("%s: %s", live, strerror(errno));
		free(live);
		return 2;
	}
	if (o->follow) {
		/* From now on a signal ends tail -f, with status 0. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	files = log_files(live, &nfiles);
	ch = xcalloc((size_t)nfiles, sizeof(*ch));
	/* Newest first, each file for what the newer ones lack. The live
	   file is read through fd, which -f goes on with. */
	for (i = nfiles - 1; i >= 0 && (nch == 0 || have < o->count); i--) {
		if (i == nfiles - 1)
			fp = fdopen(dup(fd), "re");
		else
			fp = fopen(files[i], "re");
		if (fp == NULL) {
			if (errno != ENOENT) {
				logmsg("%s: %s", files[i], strerror(errno));
				r = 1;
			}
			break;
		}
		if (chunk_read(&ch[nch], files[i], fp, o->count - have) < 0) {
			logmsg("%s: read error", files[i]);
			r = 1;
		}
		have += chunk_count(&ch[nch++]);
	}
	for (i = nch - 1; i >= 0; i--)
		chunk_show(&ch[i], o->json);
	fflush(stdout);
	if (o->follow && nch > 0) {
		memset(&f, 0, sizeof(f));
		f.path = live;
		f.fd = fd;
		f.pos = ch[0].end;
		f.ln = ch[0].lines;
		if (fstat(fd, &st) == 0) {
			f.ino = st.st_ino;
			f.dev = st.st_dev;
		}
		lseek(fd, f.pos, SEEK_SET);
		follow(&f, o->json);
		fd = f.fd;
		free(f.buf);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		r = 1;
	close(fd);
	for (i = 0; i < nch; i++)
		chunk_free(&ch[i]);
	free(ch);
	files_free(files, nfiles);
	free(live);
	return r;
}

/* ---- stats ------------------------------------------------------------- */

/* The counted outcomes, after the number of calls. */
static const char *const outcomes[] = { "denied", "tool_error",
    "rpc_error", "transport_error", "timeout", "cancelled" };
#define NOUT (sizeof(outcomes) / sizeof(outcomes[0]))

struct group {
	char *server, *tool;
	long long calls, out[NOUT];
	double bytes_in, bytes_out, tokens;	/* exact up to 2^53 */
	double *lat;		/* latency_ms of the calls that have it */
	size_t nlat, cap;
};

/* The number o.k; 0 when it is missing or not finite. */
static double
num(const cJSON *o, const char *k, int *has)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	int ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);

	if (has)
		*has = ok;
	return ok ? v->valuedouble : 0;
}

static void
tally(struct group *g, const cJSON *o)
{
	const char *oc = str(o, "outcome");
	double bin = num(o, "bytes_in", NULL), bout = num(o, "bytes_out", NULL);
	double lat, tok;
	int has;
	size_t i;

	g->calls++;
	for (i = 0; oc && i < NOUT; i++)
		if (strcmp(oc, outcomes[i]) == 0)
			g->out[i]++;
	lat = num(o, "latency_ms", &has);
	if (has) {
		if (g->nlat == g->cap) {
			g->cap = 2 * g->cap + 16;
			g->lat = xrealloc(g->lat, g->cap * sizeof(*g->lat));
		}
		g->lat[g->nlat++] = lat;
	}
	tok = num(o, "tokens", &has);
	g->bytes_in += bin;
	g->bytes_out += bout;
	g->tokens += has ? tok : floor((bin + bout) / 4);
}

static void
group_free(struct group *g)
{
	free(g->server);
	free(g->tool);
	free(g->lat);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_group(const void *a, const void *b)
{
	const struct group *x = *(struct group *const *)a;
	const struct group *y = *(struct group *const *)b;
	int c = strcmp(x->server, y->server);

	return c ? c : strcmp(x->tool, y->tool);
}

/* Nearest rank: the value at rank ceil(p/100 * n) of the sorted latencies.
   Returns 0 when there are none. */
static int
percentile(struct group *g, int p, double *v)
{
	size_t rank;

	if (g->nlat == 0)
		return 0;
	qsort(g->lat, g->nlat, sizeof(*g->lat), cmp_double);
	rank = ((size_t)p * g->nlat + 99) / 100;
	*v = g->lat[rank - 1];
	return 1;
}

static cJSON *
group_json(struct group *g, int named)
{
	cJSON *o = cJSON_CreateObject();
	double v;
	size_t i;

	if (named) {
		cJSON_AddStringToObject(o, "server", g->server);
		cJSON_AddStringToObject(o, "tool", g->tool);
	}
	cJSON_AddNumberToObject(o, "calls", (double)g->calls);
	for (i = 0; i < NOUT; i++)
		cJSON_AddNumberToObject(o, outcomes[i], (double)g->out[i]);
	if (percentile(g, 50, &v))
		cJSON_AddNumberToObject(o, "p50_ms", v);
	else
		cJSON_AddNullToObject(o, "p50_ms");
	if (percentile(g, 95, &v))
		cJSON_AddNumberToObject(o, "p95_ms", v);
	else
		cJSON_AddNullToObject(o, "p95_ms");
	cJSON_AddNumberToObject(o, "bytes_in", g->bytes_in);
	cJSON_AddNumberToObject(o, "bytes_out", g->bytes_out);
	cJSON_AddNumberToObject(o, "tokens", g->tokens);
	return o;
}

#define NCOLS (2 + 1 + NOUT + 5)

static const char *const heads[NCOLS] = { "SERVER", "TOOL", "CALLS",
    "DENIED", "TOOL_ERROR", "RPC_ERROR", "TRANSPORT_ERROR", "TIMEOUT",
    "CANCELLED", "P50_MS", "P95_MS", "BYTES_IN", "BYTES_OUT", "TOKENS" };

/* One table row of g as cells (caller frees). */
static void
group_cells(struct group *g, char **cell)
{
	double v;
	size_t i;
	int c = 0;

	cell[c++] = clean(g->server);
	cell[c++] = clean(g->tool);
	cell[c++] = xasprintf("%lld", g->calls);
	for (i = 0; i < NOUT; i++)
		cell[c++] = xasprintf("%lld", g->out[i]);
	cell[c++] = percentile(g, 50, &v) ? xasprintf("%.2f", v) :
	    xstrdup("-");
	cell[c++] = percentile(g, 95, &v) ? xasprintf("%.2f", v) :
	    xstrdup("-");
	cell[c++] = xasprintf("%.0f", g->bytes_in);
	cell[c++] = xasprintf("%.0f", g->bytes_out);
	cell[c++] = xasprintf("%.0f", g->tokens);
}

/* Print rows x cols cells (and free them): the first ntext columns
   left-aligned, numbers right, two spaces apart. */
static void
print_cells(char **cell, size_t rows, size_t cols, size_t ntext)
{
	int *w = xcalloc(cols, sizeof(*w)), len;
	size_t r, c;

	for (r = 0; r < rows * cols; r++)
		if ((len = (int)strlen(cell[r])) > w[r % cols])
			w[r % cols] = len;
	for (r = 0; r < rows; r++) {
		for (c = 0; c < cols; c++)
			printf(c == 0 ? "%-*s" : c < ntext ? "  %-*s" : "  %*s",
			    w[c], cell[r * cols + c]);
		putchar('\n');
	}
	for (r = 0; r < rows * cols; r++)
		free(cell[r]);
	free(cell);
	free(w);
}

/* Print the table of calls. */
static void
table(struct group **gs, size_t n, struct group *total)
{
	char **cell = xcalloc((n + 2) * NCOLS, sizeof(*cell));
	size_t r, c;

	for (c = 0; c < NCOLS; c++)
		cell[c] = xstrdup(heads[c]);
	for (r = 0; r < n; r++)
		group_cells(gs[r], cell + (r + 1) * NCOLS);
	group_cells(total, cell + (n + 1) * NCOLS);
	print_cells(cell, n + 2, NCOLS, 2);
}

/* The egress of one server: connections by decision, bytes each way. */
struct egroup {
	char *server;
	long long allowed, denied, errors;
	double up, down;
};

static const char *const eheads[] = { "SERVER", "CONNECTIONS", "ALLOWED",
    "DENIED", "ERRORS", "BYTES_UP", "BYTES_DOWN" };
#define NECOLS (sizeof(eheads) / sizeof(eheads[0]))

static void
etally(struct egroup *g, const cJSON *o)
{
	const char *d = str(o, "decision");

	if (str(o, "event") && strcmp(str(o, "event"), "egress_suppressed") ==
	    0) {
		/* Refusals beyond the log's limit, counted. */
		g->denied += (long long)num(o, "count", NULL);
		return;
	}
	if (d && strcmp(d, "allow") == 0)
		g->allowed++;
	else if (d && strcmp(d, "error") == 0)
		g->errors++;
	else
		g->denied++;
	g->up += num(o, "bytes_up", NULL);
	g->down += num(o, "bytes_down", NULL);
}

static cJSON *
egroup_json(const struct egroup *g)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "server", g->server);
	cJSON_AddNumberToObject(o, "connections",
	    (double)(g->allowed + g->denied + g->errors));
	cJSON_AddNumberToObject(o, "allowed", (double)g->allowed);
	cJSON_AddNumberToObject(o, "denied", (double)g->denied);
	cJSON_AddNumberToObject(o, "errors", (double)g->errors);
	cJSON_AddNumberToObject(o, "bytes_up", g->up);
	cJSON_AddNumberToObject(o, "bytes_down", g->down);
	return o;
}

static int
cmp_egroup(const void *a, const void *b)
{
	return strcmp((*(struct egroup *const *)a)->server,
	    (*(struct egroup *const *)b)->server);
}

/* Print the table of egress per server. */
static void
etable(struct egroup **gs, size_t n)
{
	char **cell = xcalloc((n + 1) * NECOLS, sizeof(*cell)), **row;
	size_t r, c;

	for (c = 0; c < NECOLS; c++)
		cell[c] = xstrdup(eheads[c]);
	for (r = 0; r < n; r++) {
		row = cell + (r + 1) * NECOLS;
		row[0] = clean(gs[r]->server);
		row[1] = xasprintf("%lld", gs[r]->allowed + gs[r]->denied +
		    gs[r]->errors);
		row[2] = xasprintf("%lld", gs[r]->allowed);
		row[3] = xasprintf("%lld", gs[r]->denied);
		row[4] = xasprintf("%lld", gs[r]->errors);
		row[5] = xasprintf("%.0f", gs[r]->up);
		row[6] = xasprintf("%.0f", gs[r]->down);
	}
	print_cells(cell, n + 1, NECOLS, 1);
}

/* "30s", "15m", "2h", "7d" in seconds; -1 when it is none of those. */
static double
duration(const char *s)
{
	static const struct { char unit; double secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char *end;
	long long v;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit)
			return (double)v * units[i].secs;
	return -1;
}

/* Seconds since the epoch of ts, "2026-11-25T17:44:38.123456Z"; -1 when it
   is not such a time. */
static double
ts_secs(const char *ts)
{
	struct tm tm;
	const char *p;
	double frac = 0, scale = 0.1;

	memset(&tm, 0, sizeof(tm));
	if (ts == NULL || (p = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	if (strcmp(p, "Z") != 0)
		return -1;
	return (double)timegm(&tm) + frac;
}

/* What stats adds up. */
struct sums {
	struct map groups;	/* "server\0tool" -> struct group */
	struct map egress;	/* server -> struct egroup */
	struct group total;
	long long unreadable;
	int since_set;
	double since;		/* seconds since the epoch */
};

/* Add up one egress record. */
static void
sum_egress(struct sums *m, const cJSON *rec)
{
	const char *server = str(rec, "server") ? str(rec, "server") : "-";
	struct egroup *g;

	if ((g = map_get(&m->egress, server, strlen(server))) == NULL) {
		g = xcalloc(1, sizeof(*g));
		g->server = xstrdup(server);
		map_put(&m->egress, server, strlen(server), g);
	}
	etally(g, rec);
}

/* Add up one line (n bytes, no newline). */
static void
sum_line(struct sums *m, const char *l, size_t n)
{
	const char *end = NULL, *ev, *server, *tool;
	cJSON *rec = cJSON_ParseWithLengthOpts(l, n, &end, 0);
	struct group *g;
	size_t sl, klen;
	double t = 0;
	char *key;

	ev = str(rec, "event");
	if (m->since_set)
		t = ts_secs(str(rec, "ts"));
	if (!cJSON_IsObject(rec) || end != l + n || ev == NULL || t < 0)
		m->unreadable++;
	else if (strcmp(ev, "call") == 0 && (!m->since_set || t >= m->since)) {
		server = str(rec, "server") ? str(rec, "server") : "-";
		tool = str(rec, "tool") ? str(rec, "tool") : "-";
		/* server NUL tool: no two pairs make the same key */
		sl = strlen(server) + 1;
		klen = sl + strlen(tool);
		key = xmalloc(klen + 1);
		memcpy(key, server, sl);
		memcpy(key + sl, tool, klen - sl + 1);
		if ((g = map_get(&m->groups, key, klen)) == NULL) {
			g = xcalloc(1, sizeof(*g));
			g->server = xstrdup(server);
			g->tool = xstrdup(tool);
			map_put(&m->groups, key, klen, g);
		}
		free(key);
		tally(g, rec);
		tally(&m->total, rec);
	} else if ((strcmp(ev, "egress") == 0 ||
	    strcmp(ev, "egress_suppressed") == 0) &&
	    (!m->since_set || t >= m->since)) {
		sum_egress(m, rec);
	}
	cJSON_Delete(rec);
}

/* Add up one file, line by line; a missing one is skipped. Returns 0, or
   1 when it could not be read. */
static int
sum_file(struct sums *m, const char *file)
{
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int r = 0;

	if ((fp = fopen(file, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		logmsg("%s: %s", file, strerror(errno));
		return 1;
	}
	while ((n = getline(&l, &cap, fp)) > 0)
		sum_line(m, l, (size_t)n - (l[n - 1] == '\n'));
	if (ferror(fp)) {
		logmsg("%s: read error", file);
		r = 1;
	}
	free(l);
	fclose(fp);
	return r;
}

static void
sums_print(struct sums *m, int json)
{
	struct group **gs = xcalloc(m->groups.count, sizeof(*gs));
	struct egroup **es = xcalloc(m->egress.count + 1, sizeof(*es));
	struct map_ent *e;
	size_t ng = 0, ne = 0, i;
	cJSON *out, *arr;
	char *s;

	for (e = map_first(&m->groups, &i); e; e = map_next(&m->groups, &i, e))
		gs[ng++] = e->val;
	qsort(gs, ng, sizeof(*gs), cmp_group);
	for (e = map_first(&m->egress, &i); e; e = map_next(&m->egress, &i, e))
		es[ne++] = e->val;
	qsort(es, ne, sizeof(*es), cmp_egroup);
	m->total.server = xstrdup("TOTAL");
	m->total.tool = xstrdup("");
	if (json) {
		out = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(out, "tools");
		for (i = 0; i < ng; i++)
			cJSON_AddItemToArray(arr, group_json(gs[i], 1));
		cJSON_AddItemToObject(out, "total", group_json(&m->total, 0));
		arr = cJSON_AddArrayToObject(out, "egress");
		for (i = 0; i < ne; i++)
			cJSON_AddItemToArray(arr, egroup_json(es[i]));
		cJSON_AddNumberToObject(out, "unreadable",
		    (double)m->unreadable);
		if ((s = cJSON_PrintUnformatted(out)) == NULL)
			fatal("out of memory");
		printf("%s\n", s);
		cJSON_free(s);
		cJSON_Delete(out);
	} else {
		table(gs, ng, &m->total);
		if (ne > 0) {
			putchar('\n');
			etable(es, ne);
		}
	}
	for (i = 0; i < ng; i++) {
		group_free(gs[i]);
		free(gs[i]);
	}
	free(gs);
	for (i = 0; i < ne; i++) {
		free(es[i]->server);
		free(es[i]);
	}
	free(es);
	group_free(&m->total);
}

static int
stats(const struct aopts *o)
{
	struct timespec now;
	struct sums m;
	char **files, *live;
	double d;
	int nfiles, i, r = 0;

	memset(&m, 0, sizeof(m));
	if (o->since) {
		if ((d = duration(o->since)) < 0) {
			logmsg("--since: \"%s\" is not a duration: give a "
			    "number and s, m, h or d, such as 30s, 15m, 2h or "
			    "7d", o->since);
			return 2;
		}
		clock_gettime(CLOCK_REALTIME, &now);
		m.since = (double)now.tv_sec + now.tv_nsec / 1e9 - d;
		m.since_set = 1;
	}
	if ((live = log_path(o)) == NULL)
		return 2;
	if (access(live, R_OK) < 0) {
		logmsg("%s: %s", live, strerror(errno));
		free(live);
		return 2;
	}
	files = log_files(live, &nfiles);
	map_init(&m.groups);
	map_init(&m.egress);
	for (i = 0; i < nfiles; i++)
		r |= sum_file(&m, files[i]);
	if (m.unreadable)
		logmsg("skipped %lld unreadable line%s", m.unreadable,
		    m.unreadable == 1 ? "" : "s");
	sums_print(&m, o->json);
	map_free(&m.groups);
	map_free(&m.egress);
	files_free(files, nfiles);
	free(live);
	return r;
}

/* ---- the command ------------------------------------------------------- */

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'K' },
		{ "file", required_argument, NULL, 'F' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	/* Each subcommand and the options it takes. */
	static const struct {
		const char *name, *takes;
	} subs[] = {
		{ "verify", "cKF" },
		{ "tail", "cFfnj" },
		{ "stats", "cFjs" },
	};
	struct aopts o;
	char *end;
	size_t i;
	int ch, li;

	for (i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			break;
	if (argc < 2 || i == sizeof(subs) / sizeof(subs[0])) {
		if (argc >= 2)
			logmsg("audit: unknown subcommand: %s", argv[1]);
		fputs(AUDIT_USAGE, stderr);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.count = 20;
	optind = 2;
	for (;;) {
		li = -1;
		if ((ch = getopt_long(argc, argv, "+c:fn:j", opts, &li)) == -1)
			break;
		if (ch == '?' || strchr(subs[i].takes, ch) == NULL) {
			if (ch != '?' && li >= 0)
				logmsg("audit %s: option not taken: --%s",
				    subs[i].name, opts[li].name);
			else if (ch != '?')
				logmsg("audit %s: option not taken: -%c",
				    subs[i].name, ch);
			fputs(AUDIT_USAGE, stderr);
			return 2;
		}
		switch (ch) {
		case 'c':
			o.conf = optarg;
			break;
		case 'K':
			o.key = optarg;
			break;
		case 'F':
			o.file = optarg;
			break;
		case 'f':
			o.follow = 1;
			break;
		case 'j':
			o.json = 1;
			break;
		case 's':
			o.since = optarg;
			break;
		case 'n':
			errno = 0;
			o.count = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o.count < 0 ||
			    o.count > 10000000) {
				logmsg("-n: \"%s\" is not a count of records",
				    optarg);
				return 2;
			}
			break;
		}
	}
	if (i == 0) {
		if (o.file && optind < argc) {
			fputs(AUDIT_USAGE, stderr);
			return 2;
		}
		return verify(&o, argc - optind, argv + optind);
	}
	if (optind != argc) {
		fputs(AUDIT_USAGE, stderr);
		return 2;
	}
	return i == 1 ? tail(&o) : stats(&o);
}
