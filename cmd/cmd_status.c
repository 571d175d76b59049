/* corral status: ask each running corral serve over its status socket
   and show its servers and pending consent prompts. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/control.h"
#include "core/util.h"

#define STATUS_USAGE "usage: corral status [--json] [--pid pid]\n"
#define ANSWER_MAX (16 * 1024 * 1024)
#define ASK_TIMEOUT 5	/* seconds for each serve to answer */
#define TAIL_SHOWN 5	/* stderr lines shown under a server that is down */

/* The pid in a socket's name "serve-PID.sock", or 0. */
static long
sock_pid(const char *name)
{
	char again[64];
	long pid;

	if (sscanf(name, "serve-%ld.sock", &pid) != 1 || pid <= 0)
		return 0;
	snprintf(again, sizeof(again), "serve-%ld.sock", pid);
	return strcmp(again, name) == 0 ? pid : 0;
}

static int
pid_cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* The pids with a socket in dir, sorted; -1 when dir cannot be read
   (errno set). */
static int
list_pids(const char *dir, long **pids)
{
	DIR *d;
	struct dirent *e;
	int n = 0;
	long pid;

	*pids = NULL;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if ((pid = sock_pid(e->d_name)) == 0)
			continue;
		*pids = xrealloc(*pids, (n + 1) * sizeof(**pids));
		(*pids)[n++] = pid;
	}
	closedir(d);
	if (n > 0)
		qsort(*pids, n, sizeof(**pids), pid_cmp);
	return n;
}

/* A socket nobody listens on, of a process that is gone: remove it when
   it is ours. */
static void
remove_stale(const char *path, long pid)
{
	struct stat st;

	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_uid == geteuid())
		unlink(path);
}

/* Ask the serve of pid: 1 with its answer line (caller frees), 0 when it
   is not running (a stale socket), -1 with *err (caller frees). */
static int
ask(const char *dir, long pid, char **answer, char **err)
{
	struct sockaddr_un sa;
	struct timeval tv = { ASK_TIMEOUT, 0 };
	struct buf in;
	char *path, *dst;
	ssize_t n;
	int fd, r = -1;

	*answer = *err = NULL;
	path = xasprintf("%s/serve-%ld.sock", dir, pid);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = xasprintf("%s: path too long for a socket", path);
		free(path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		*err = xasprintf("socket: %s", strerror(errno));
		free(path);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ECONNREFUSED || errno == ENOENT) {
			if (errno == ECONNREFUSED)
				remove_stale(path, pid);
			r = 0;
		} else {
			*err = xasprintf("%s: %s", path, strerror(errno));
		}
		close(fd);
		free(path);
		return r;
	}
	buf_init(&in, ANSWER_MAX);
	if (send(fd, "status\n", 7, MSG_NOSIGNAL) != 7) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if ((dst = buf_reserve(&in, 64 * 1024)) == NULL) {
			*err = xasprintf("%s: the answer is too long", path);
			goto out;
		}
		n = recv(fd, dst, 64 * 1024, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = xasprintf("%s: %s", path, errno == EAGAIN ?
			    "no answer in time" : strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		buf_commit(&in, n);
	}
	n = buf_used(&in);
	while (n > 0 && buf_head(&in)[n - 1] == '\n')
		n--;
	if (n == 0) {
		*err = xasprintf("%s: closed without an answer", path);
		goto out;
	}
	*answer = xstrndup(buf_head(&in), n);
	r = 1;
out:
	buf_free(&in);
	close(fd);
	free(path);
	return r;
}

/* Whole seconds as "42s", "3m05s", "2h10m" or "4d03h". */
static void
duration(const cJSON *v, char *out, size_t n)
{
	long s;

	if (!cJSON_IsNumber(v)) {
		snprintf(out, n, "-");
		return;
	}
	s = (long)v->valuedouble;
	if (s < 60)
		snprintf(out, n, "%lds", s);
	else if (s < 3600)
		snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%ldh%02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, n, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

static const char *
str(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static void
number(const cJSON *o, const char *k, char *out, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNumber(v))
		snprintf(out, n, "%.0f", v->valuedouble);
	else
		snprintf(out, n, "-");
}

#define NCOLS 7

/* The cells of one server's row. */
static void
row_cells(const cJSON *s, char cell[NCOLS][64], const char **reason)
{
	snprintf(cell[0], 64, "%s", str(s, "alias", "?"));
	snprintf(cell[1], 64, "%s", str(s, "state", "?"));
	number(s, "pid", cell[2], 64);
	duration(cJSON_GetObjectItemCaseSensitive(s, "uptime_s"), cell[3], 64);
	number(s, "restarts", cell[4], 64);
	number(s, "calls", cell[5], 64);
	cell[6][0] = '\0';
	*reason = str(s, "reason", "");
}

static void
print_row(char cell[NCOLS][64], const char *reason, const int *w)
{
	char *line = xstrdup(""), *t;
	size_t n;
	int i;

	for (i = 0; i < NCOLS - 1; i++) {
		t = xasprintf("%s %-*s", line, w[i], cell[i]);
		free(line);
		line = t;
	}
	/* No trailing blanks when there is no reason. */
	for (n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
		;
	printf(" %.*s%s%s\n", (int)n, line, *reason ? " " : "", reason);
	free(line);
}

static void
print_servers(const cJSON *servers)
{
	static const char *const head[NCOLS] = { "ALIAS", "STATE", "PID",
	    "UPTIME", "RESTARTS", "CALLS", "REASON" };
	char cell[NCOLS][64];
	const char *reason;
	const cJSON *s, *t, *l;
	int w[NCOLS], i, n, k;

	for (i = 0; i < NCOLS; i++)
		w[i] = strlen(head[i]);
	cJSON_ArrayForEach(s, servers) {
		row_cells(s, cell, &reason);
		for (i = 0; i < NCOLS - 1; i++)
			if ((int)strlen(cell[i]) > w[i])
				w[i] = strlen(cell[i]);
	}
	for (i = 0; i < NCOLS; i++)
		snprintf(cell[i], 64, "%s", head[i]);
	print_row(cell, head[NCOLS - 1], w);
	cJSON_ArrayForEach(s, servers) {
		row_cells(s, cell, &reason);
		print_row(cell, reason, w);
		/* What a server that is down said last. */
		if (cJSON_GetObjectItemCaseSensitive(s, "pid") &&
		    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(s, "pid")))
			continue;
		t = cJSON_GetObjectItemCaseSensitive(s, "stderr");
		n = cJSON_GetArraySize(t);
		k = 0;
		cJSON_ArrayForEach(l, t)
			if (k++ >= n - TAIL_SHOWN && cJSON_IsString(l))
				printf("      | %s\n", l->valuestring);
	}
}

static void
print_prompts(const cJSON *prompts)
{
	char since[32];
	const cJSON *p, *v;

	if (cJSON_GetArraySize(prompts) == 0)
		return;
	printf("  consent pending:\n");
	cJSON_ArrayForEach(p, prompts) {
		duration(cJSON_GetObjectItemCaseSensitive(p, "since_s"), since,
		    sizeof(since));
		v = cJSON_GetObjectItemCaseSensitive(p, "calls");
		printf("    %s %s: asked %s ago via %s, %d call%s waiting\n",
		    str(p, "server", "?"), str(p, "tool", "?"), since,
		    str(p, "channel", "-"), cJSON_IsNumber(v) ? v->valueint : 0,
		    cJSON_IsNumber(v) && v->valueint == 1 ? "" : "s");
	}
}

/* The table of one serve's answer. */
static int
print_table(long pid, const char *answer)
{
	cJSON *d = cJSON_Parse(answer);
	const cJSON *ci;
	char up[32];

	if (!cJSON_IsObject(d)) {
		logmsg("status: serve %ld answered something that is not a "
		    "JSON object", pid);
		cJSON_Delete(d);
		return -1;
	}
	duration(cJSON_GetObjectItemCaseSensitive(d, "uptime_s"), up,
	    sizeof(up));
	printf("corral serve %ld: config %s, up %s, ", pid,
	    str(d, "config", "(none)"), up);
	ci = cJSON_GetObjectItemCaseSensitive(d, "client");
	if (cJSON_IsObject(ci))
		printf("client %s %s\n", str(ci, "name", "?"),
		    str(ci, "version", "?"));
	else
		printf("no client yet\n");
	print_servers(cJSON_GetObjectItemCaseSensitive(d, "servers"));
	print_prompts(cJSON_GetObjectItemCaseSensitive(d, "consent_pending"));
	cJSON_Delete(d);
	return 0;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	char *dir, *err, *answer, *end;
	long only = 0, *pids;
	int ch, json = 0, n, i, shown = 0, failed = 0;

	while ((ch = getopt_long(argc, argv, "+jp:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'p':
			errno = 0;
			only = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || only <= 0) {
				logmsg("status: not a pid: %s", optarg);
				fputs(STATUS_USAGE, stderr);
				return 2;
			}
			break;
		default:
			fputs(STATUS_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(STATUS_USAGE, stderr);
		return 2;
	}
	if ((dir = control_dir(&err)) == NULL) {
		logmsg("status: %s", err);
		free(err);
		return 1;
	}
	if ((n = list_pids(dir, &pids)) < 0 && errno != ENOENT) {
		logmsg("status: %s: %s", dir, strerror(errno));
		free(dir);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (only && pids[i] != only)
			continue;
		switch (ask(dir, pids[i], &answer, &err)) {
		case 1:
			if (json) {
				printf("%s\n", answer);
			} else {
				if (shown > 0)
					printf("\n");
				print_table(pids[i], answer);
			}
			shown++;
			free(answer);
			break;
		case -1:
			logmsg("status: %s", err);
			free(err);
			failed++;
			break;
		}
	}
	free(pids);
	free(dir);
	if (shown == 0 && failed == 0) {
		if (only)
			logmsg("no corral serve with pid %ld is running", only);
		else
			logmsg("no corral serve is running");
	}
	return shown > 0 ? 0 : 1;
}
