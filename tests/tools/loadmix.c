/*
 * loadmix — a load test of `corral serve`: many requests of a mix, a
 * window of them in flight, random cancellations, a child killed midway;
 * every answer is checked against its request.
 *
 * usage: loadmix -b corral -c config -d piddir [-n children] [-r requests]
 *        [-w window] [-s seed] [-e stderr-file] [-k victim] [-g kib]
 *        [-f fds] [-t seconds]
 *
 * The config has echo servers e1..eN (default 8), each with FAKE_PIDFILE
 * set to piddir/eK.pid.  Requests: tools/call eK__echo with a text of
 * their own, eK__slow with a few ms, tools/list and ping; ids are numbers,
 * and every fifth a string, so the type is checked too.  About 5% are
 * cancelled with notifications/cancelled while in flight (a quarter of
 * the slow calls, 3% of the rest).  Halfway, two eV__slow calls of a
 * minute (the sentinels) go to the victim (-k, else chosen by the seed)
 * and it is killed with SIGKILL; corral must answer them with errors and
 * restart the child.  Before each measurement and at the end, one echo
 * through every child (a barrier) brings any late answer of an earlier
 * request of that child: a child answers in order, corral forwards in
 * order.
 *
 * Checked: every request not cancelled is answered exactly once, a
 * cancelled one at most once; no answer has an id never sent or already
 * answered; every answer fits its request (the text of an echo, the ms of
 * a slow call, a list for tools/list, {} for ping); only calls to the
 * victim after it was killed may fail; the victim comes back; corral's
 * open fds at the end are those after initialize (within -f, default 0),
 * its VmRSS at the end is at most -g KiB (default 8192) above the one
 * after the warm-up (the first tenth); corral exits 0 once its stdin is
 * closed and no child outlives it.
 *
 * Prints one summary line "loadmix: key=value ..." on stdout; violations
 * on stderr, then exits 1; also when answers stop coming for 30 s while
 * requests are in flight, or corral ends before its stdin is closed.
 * 2 is a usage or set-up error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/util.h"

enum kind { K_INIT, K_ECHO, K_SLOW, K_LIST, K_PING, K_SENTINEL, K_PROBE,
	K_BARRIER };

#define ST_SENT		0x01
#define ST_ANSWERED	0x02
#define ST_CANCELLED	0x04
#define ST_ERROR	0x08
#define FL_AT_KILL	0x01	/* to the victim, in flight when it died */
#define FL_AFTER_KILL	0x02	/* to the victim, sent after it died */

struct req {
	uint8_t kind;
	uint8_t child;
	uint8_t state;
	uint8_t flags;
	uint16_t ms;
	uint32_t salt;
};

struct plan {
	uint32_t n;
	uint64_t due;		/* cancel once this many requests were sent */
};

#define MAXPLANS 4096
#define MAXVIOL 20
#define EXTRA 8192		/* room for sentinels, probes, barriers */

static const char *corral_path, *conf, *piddir, *errfile;
static int nchild = 8, window = 64, victim = -1, fd_slack;
static uint64_t total = 5000, seed;
static long rss_slack_kib = 8192;
static double time_limit = 600;

static pid_t cpid;
static uint64_t load_sent;	/* load requests sent, all phases */
static const char *phase = "start";
static int stopping;		/* stdin closed: corral may go */
static int to_fd = -1, from_fd = -1;
static char *obuf, *ibuf;
static size_t olen, ocap, ilen, icap;

static struct req *reqs;
static uint32_t nreqs, maxreqs;
static struct plan plans[MAXPLANS];
static size_t nplans;
static uint64_t rng;
static int inflight;		/* sent, not answered, not cancelled */
static double last_progress;
static int killed;

/* Counters for the summary. */
static uint64_t n_answered, n_cancels, n_cancel_answered, n_victim_err,
    n_notes, n_server_reqs, n_probes, n_list_changed, n_sentinel_err,
    n_at_kill;
static int nviol;

static void
violation(const char *fmt, ...)
{
	va_list ap;

	nviol++;
	if (nviol > MAXVIOL)
		return;
	fprintf(stderr, "loadmix: VIOLATION: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadmix: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cpid > 0)
		kill(cpid, SIGKILL);
	exit(2);
}

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static unsigned
rnd_below(unsigned n)
{
	return (unsigned)((rnd() >> 32) % n);
}

/* ---- corral's process ---- */

static void
spawn_corral(void)
{
	int in[2], out[2], efd = -1;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	if (errfile != NULL && (efd = open(errfile,
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		die("%s: %s", errfile, strerror(errno));
	if ((cpid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (cpid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    (efd >= 0 && dup2(efd, 2) < 0))
			_exit(127);
		execl(corral_path, corral_path, "serve", "-c", conf,
		    (char *)NULL);
		fprintf(stderr, "loadmix: %s: %s\n", corral_path,
		    strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (efd >= 0)
		close(efd);
	to_fd = in[1];
	from_fd = out[0];
	if (fd_nonblock(to_fd) < 0 || fd_nonblock(from_fd) < 0)
		die("fcntl: %s", strerror(errno));
}

static int
count_fds(void)
{
	char path[64], cmd[128];
	FILE *p;
	int n = -1;

	/* Counting ourselves would need opendir; ls is as good here. */
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)cpid);
	snprintf(cmd, sizeof(cmd), "ls %s | wc -l", path);
	if ((p = popen(cmd, "r")) == NULL)
		die("popen: %s", strerror(errno));
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	if (n <= 0)
		die("cannot count the fds of corral (pid %ld)", (long)cpid);
	return n;
}

static long
rss_kib(void)
{
	char path[64], line[256];
	FILE *f;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)cpid);
	if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		die("no VmRSS in %s", path);
	return kib;
}

static pid_t
child_pid(int k)
{
	char path[4096];
	FILE *f;
	long pid = -1;

	snprintf(path, sizeof(path), "%s/e%d.pid", piddir, k + 1);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* corral closed its stdout: say how it ended. */
static void __attribute__((noreturn))
corral_gone(void)
{
	int status, i;
	pid_t p = 0;

	for (i = 0; i < 100 && (p = waitpid(cpid, &status, WNOHANG)) == 0; i++)
		usleep(50000);
	if (p != cpid)
		fprintf(stderr, "loadmix: FAILED: corral closed its stdout "
		    "but is still running (%s)\n", phase);
	else if (WIFSIGNALED(status))
		fprintf(stderr, "loadmix: FAILED: corral died of signal %d "
		    "(%s, after %" PRIu64 " requests)\n", WTERMSIG(status),
		    phase, load_sent);
	else
		fprintf(stderr, "loadmix: FAILED: corral exited with status "
		    "%d in the middle of the run (%s, after %" PRIu64
		    " requests)\n", WEXITSTATUS(status), phase, load_sent);
	fprintf(stderr, "loadmix: seed %" PRIu64 "\n", seed);
	if (p != cpid)
		kill(cpid, SIGKILL);
	exit(1);
}

/* ---- sending ---- */

static void
out_append(const char *s, size_t len)
{
	if (olen + len + 1 > ocap) {
		while (olen + len + 1 > ocap)
			ocap = ocap ? ocap * 2 : 65536;
		obuf = xrealloc(obuf, ocap);
	}
	memcpy(obuf + olen, s, len);
	olen += len;
	obuf[olen++] = '\n';
}

static void
out_json(cJSON *msg)
{
	char *s = cJSON_PrintUnformatted(msg);

	if (s == NULL)
		die("out of memory");
	out_append(s, strlen(s));
	free(s);
	cJSON_Delete(msg);
}

static void
flush_some(void)
{
	ssize_t w;

	if (to_fd < 0)
		olen = 0;	/* stopping: nothing more goes to corral */
	while (olen > 0) {
		w = write(to_fd, obuf, olen);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			die("write to corral: %s", strerror(errno));
		}
		memmove(obuf, obuf + w, olen - (size_t)w);
		olen -= (size_t)w;
	}
}

/* Request n's id: a number, or "r<n>" for every fifth. */
static cJSON *
id_json(uint32_t n)
{
	char s[16];

	if (n % 5 != 0)
		return cJSON_CreateNumber(n);
	snprintf(s, sizeof(s), "r%" PRIu32, n);
	return cJSON_CreateString(s);
}

static void
echo_text(uint32_t n, char *buf, size_t len)
{
	const struct req *r = &reqs[n];

	snprintf(buf, len, "m%" PRIu32 ".%08" PRIx32 ".e%d", n, r->salt,
	    r->child + 1);
}

static uint32_t
new_req(enum kind kind, int child)
{
	struct req *r;

	if (nreqs >= maxreqs)
		die("too many requests (%" PRIu32 ")", nreqs);
	r = &reqs[nreqs];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->child = (uint8_t)child;
	r->salt = (uint32_t)rnd();
	return nreqs++;
}

static void
send_req(uint32_t n)
{
	struct req *r = &reqs[n];
	cJSON *msg = cJSON_CreateObject(), *p, *a;
	char name[32], text[64];

	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	cJSON_AddItemToObject(msg, "id", id_json(n));
	switch (r->kind) {
	case K_LIST:
		cJSON_AddStringToObject(msg, "method", "tools/list");
		break;
	case K_PING:
		cJSON_AddStringToObject(msg, "method", "ping");
		break;
	default:
		cJSON_AddStringToObject(msg, "method", "tools/call");
		p = cJSON_AddObjectToObject(msg, "params");
		a = cJSON_AddObjectToObject(p, "arguments");
		if (r->kind == K_SLOW || r->kind == K_SENTINEL) {
			snprintf(name, sizeof(name), "e%d__slow",
			    r->child + 1);
			cJSON_AddNumberToObject(a, "ms", r->kind == K_SENTINEL ?
			    60000 : r->ms);
			cJSON_AddNumberToObject(a, "steps", 0);
		} else {
			snprintf(name, sizeof(name), "e%d__echo",
			    r->child + 1);
			echo_text(n, text, sizeof(text));
			cJSON_AddStringToObject(a, "text", text);
		}
		cJSON_AddStringToObject(p, "name", name);
		break;
	}
	if (killed && r->child == victim && r->kind != K_LIST &&
	    r->kind != K_PING)
		r->flags |= FL_AFTER_KILL;
	r->state |= ST_SENT;
	inflight++;
	out_json(msg);
}

static void
send_cancel(uint32_t n)
{
	cJSON *msg = cJSON_CreateObject(), *p;

	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	cJSON_AddStringToObject(msg, "method", "notifications/cancelled");
	p = cJSON_AddObjectToObject(msg, "params");
	cJSON_AddItemToObject(p, "requestId", id_json(n));
	cJSON_AddStringToObject(p, "reason", "loadmix");
	reqs[n].state |= ST_CANCELLED;
	inflight--;
	n_cancels++;
	out_json(msg);
}

/* ---- receiving ---- */

static const char *
kind_name(int kind)
{
	static const char *const names[] = { "initialize", "echo", "slow",
	    "tools/list", "ping", "sentinel", "probe", "barrier" };

	return names[kind];
}

/* The text of result.content[0], or NULL. */
static const char *
result_text(const cJSON *result)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(result, "content");
	const cJSON *t;

	t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(c, 0), "text");
	return cJSON_IsString(t) ? t->valuestring : NULL;
}

static void
check_result(uint32_t n, const cJSON *result, const cJSON *error)
{
	struct req *r = &reqs[n];
	const cJSON *tools, *ie;
	const char *got;
	char want[64], *e;

	if (error != NULL) {
		r->state |= ST_ERROR;
		if (r->kind == K_SENTINEL) {
			n_sentinel_err++;
			return;
		}
		if (r->kind == K_PROBE ||
		    (r->flags & (FL_AT_KILL | FL_AFTER_KILL))) {
			n_victim_err++;
			return;
		}
		e = cJSON_PrintUnformatted(error);
		violation("request %" PRIu32 " (%s to e%d%s) got an error: %s",
		    n, kind_name(r->kind), r->child + 1,
		    r->state & ST_CANCELLED ? ", cancelled" : "", e);
		free(e);
		return;
	}
	if (!cJSON_IsObject(result)) {
		violation("request %" PRIu32 ": result is not an object", n);
		return;
	}
	ie = cJSON_GetObjectItemCaseSensitive(result, "isError");
	switch (r->kind) {
	case K_INIT:
		return;
	case K_SENTINEL:
		violation("sentinel %" PRIu32 " to the killed child e%d got a "
		    "result", n, r->child + 1);
		return;
	case K_LIST:
		tools = cJSON_GetObjectItemCaseSensitive(result, "tools");
		if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) == 0 ||
		    cJSON_GetObjectItemCaseSensitive(result, "content"))
			violation("request %" PRIu32 " (tools/list) got no "
			    "list of tools", n);
		return;
	case K_PING:
		if (result->child != NULL)
			violation("request %" PRIu32 " (ping) got a result "
			    "that is not {}", n);
		return;
	case K_SLOW:
		snprintf(want, sizeof(want), "slept %u ms", r->ms);
		break;
	default:
		echo_text(n, want, sizeof(want));
		break;
	}
	got = result_text(result);
	if (cJSON_IsTrue(ie) && (r->kind == K_PROBE ||
	    (r->flags & (FL_AT_KILL | FL_AFTER_KILL)))) {
		r->state |= ST_ERROR;
		n_victim_err++;
		return;
	}
	if (got == NULL || strcmp(got, want) != 0 || cJSON_IsTrue(ie))
		violation("request %" PRIu32 " (%s to e%d): expected text "
		    "\"%s\", got \"%s\"%s", n, kind_name(r->kind),
		    r->child + 1, want, got ? got : "(none)",
		    cJSON_IsTrue(ie) ? " (isError)" : "");
}

/* Request number of an id, or 0 if it names none sent. */
static uint32_t
id_number(const cJSON *id)
{
	const char *s;
	char *end;
	unsigned long v;

	if (cJSON_IsNumber(id)) {
		if (id->valuedouble < 0 || id->valuedouble >= nreqs ||
		    id->valuedouble != (double)(uint32_t)id->valuedouble)
			return UINT32_MAX;
		v = (uint32_t)id->valuedouble;
		return v % 5 == 0 && v != 0 ? UINT32_MAX : (uint32_t)v;
	}
	if (!cJSON_IsString(id) || (s = id->valuestring)[0] != 'r')
		return UINT32_MAX;
	errno = 0;
	v = strtoul(s + 1, &end, 10);
	if (errno || *end || end == s + 1 || v % 5 != 0 || v == 0 ||
	    v >= nreqs)
		return UINT32_MAX;
	return (uint32_t)v;
}

static void
answer_server_request(const cJSON *msg)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(msg, "method");
	cJSON *r = cJSON_CreateObject(), *err;

	n_server_reqs++;
	cJSON_AddStringToObject(r, "jsonrpc", "2.0");
	cJSON_AddItemToObject(r, "id", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(msg, "id"), 1));
	if (strcmp(m->valuestring, "ping") == 0)
		cJSON_AddObjectToObject(r, "result");
	else {
		err = cJSON_AddObjectToObject(r, "error");
		cJSON_AddNumberToObject(err, "code", -32601);
		cJSON_AddStringToObject(err, "message", "Method not found");
	}
	out_json(r);
}

static void
handle_line(const char *line, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(line, len);
	const cJSON *id, *m, *v, *result, *error;
	char *s;
	uint32_t n;

	if (!cJSON_IsObject(msg)) {
		violation("corral wrote a line that is not a JSON object: "
		    "%.200s", line);
		cJSON_Delete(msg);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0)
		violation("a message without \"jsonrpc\":\"2.0\": %.200s",
		    line);
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	m = cJSON_GetObjectItemCaseSensitive(msg, "method");
	if (cJSON_IsString(m)) {
		if (id != NULL)
			answer_server_request(msg);
		else {
			n_notes++;
			if (strcmp(m->valuestring,
			    "notifications/tools/list_changed") == 0)
				n_list_changed++;
		}
		cJSON_Delete(msg);
		return;
	}
	result = cJSON_GetObjectItemCaseSensitive(msg, "result");
	error = cJSON_GetObjectItemCaseSensitive(msg, "error");
	if ((result == NULL) == (error == NULL)) {
		violation("a response with %s result and error: %.200s",
		    result ? "both" : "neither", line);
		cJSON_Delete(msg);
		return;
	}
	n = id_number(id);
	if (n == UINT32_MAX || !(reqs[n].state & ST_SENT)) {
		s = id ? cJSON_PrintUnformatted(id) : xstrdup("(none)");
		violation("a response with id %s, which was never sent: "
		    "%.200s", s, line);
		free(s);
		cJSON_Delete(msg);
		return;
	}
	if (reqs[n].state & ST_ANSWERED) {
		violation("request %" PRIu32 " (%s to e%d%s) answered twice: "
		    "%.200s", n, kind_name(reqs[n].kind), reqs[n].child + 1,
		    reqs[n].state & ST_CANCELLED ? ", cancelled" : "", line);
		cJSON_Delete(msg);
		return;
	}
	reqs[n].state |= ST_ANSWERED;
	n_answered++;
	if (reqs[n].state & ST_CANCELLED)
		n_cancel_answered++;
	else
		inflight--;
	last_progress = mono_now();
	check_result(n, result, error);
	cJSON_Delete(msg);
}

static void
read_some(void)
{
	char *start, *nl;
	ssize_t r;

	for (;;) {
		if (icap - ilen < 65536) {
			icap = icap ? icap * 2 : 262144;
			ibuf = xrealloc(ibuf, icap);
		}
		r = read(from_fd, ibuf + ilen, icap - ilen);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			die("read from corral: %s", strerror(errno));
		}
		if (r == 0) {
			if (stopping) {
				close(from_fd);
				from_fd = -1;
				return;
			}
			corral_gone();
		}
		ilen += (size_t)r;
		start = ibuf;
		while ((nl = memchr(start, '\n', ilen -
		    (size_t)(start - ibuf))) != NULL) {
			*nl = '\0';
			handle_line(start, (size_t)(nl - start));
			start = nl + 1;
		}
		ilen -= (size_t)(start - ibuf);
		memmove(ibuf, start, ilen);
	}
}

/* Waits up to ms for corral's output, and writes what is pending. */
static void
pump(int ms)
{
	struct pollfd pfd[2];
	int n;

	flush_some();
	pfd[0].fd = from_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = to_fd;
	pfd[1].events = POLLOUT;
	n = poll(pfd, olen > 0 ? 2 : 1, ms);
	if (n < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	if (n > 0 && pfd[0].revents)
		read_some();
	flush_some();
}

static double t_start;

static void
check_stall(const char *what)
{
	uint32_t i;
	int shown = 0;

	if (mono_now() - t_start > time_limit)
		die("%s: over the time limit of %g s", what, time_limit);
	if (mono_now() - last_progress < 30)
		return;
	fprintf(stderr, "loadmix: %s: no answer for 30 s; %d in flight:",
	    what, inflight);
	for (i = 1; i < nreqs && shown < 20; i++) {
		if ((reqs[i].state & (ST_SENT | ST_ANSWERED | ST_CANCELLED)) ==
		    ST_SENT) {
			fprintf(stderr, " %" PRIu32 "(%s e%d)", i,
			    kind_name(reqs[i].kind), reqs[i].child + 1);
			shown++;
		}
	}
	fputc('\n', stderr);
	fprintf(stderr, "loadmix: FAILED: requests left unanswered (seed %"
	    PRIu64 ")\n", seed);
	if (cpid > 0)
		kill(cpid, SIGKILL);
	exit(1);
}

/* Sends n and pumps until it is answered. */
static void
call_sync(uint32_t n)
{
	send_req(n);
	last_progress = mono_now();
	while (!(reqs[n].state & ST_ANSWERED)) {
		pump(100);
		check_stall(kind_name(reqs[n].kind));
	}
}

/* Pumps until nothing sent and not cancelled is unanswered. */
static void
drain(const char *what)
{
	last_progress = mono_now();
	while (inflight > 0) {
		pump(100);
		check_stall(what);
	}
}

/* ---- the load ---- */

static void
cancel_due(void)
{
	size_t i, j;
	uint32_t n;

	for (i = j = 0; i < nplans; i++) {
		n = plans[i].n;
		if (plans[i].due > load_sent) {
			plans[j++] = plans[i];
			continue;
		}
		if (!(reqs[n].state & (ST_ANSWERED | ST_CANCELLED)))
			send_cancel(n);
	}
	nplans = j;
}

static void
send_one(void)
{
	unsigned roll = rnd_below(100);
	enum kind kind;
	uint32_t n;

	if (roll < 70)
		kind = K_ECHO;
	else if (roll < 80)
		kind = K_SLOW;
	else if (roll < 90)
		kind = K_LIST;
	else
		kind = K_PING;
	n = new_req(kind, (int)rnd_below((unsigned)nchild));
	if (kind == K_SLOW)
		reqs[n].ms = (uint16_t)(1 + rnd_below(20));
	send_req(n);
	load_sent++;
	/* About 5% in all, most of them slow calls, which are still in
	 * flight at the child when the cancellation comes: 25% of those,
	 * 3% of the rest.  At once, or after a few more requests. */
	if (rnd_below(100) < (kind == K_SLOW ? 25u : 3u) &&
	    nplans < MAXPLANS) {
		plans[nplans].n = n;
		plans[nplans].due = load_sent +
		    (rnd_below(2) ? 0 : rnd_below(16));
		nplans++;
	}
}

static void
kill_victim(void)
{
	uint32_t i, s1, s2;
	pid_t pid = child_pid(victim);

	if (pid <= 0)
		die("no pid for the victim e%d in %s", victim + 1, piddir);
	/* Two calls that cannot be answered by the child. */
	s1 = new_req(K_SENTINEL, victim);
	s2 = new_req(K_SENTINEL, victim);
	send_req(s1);
	send_req(s2);
	flush_some();
	/* Give corral a moment to pass them on (an answer or not). */
	pump(20);
	if (kill(pid, SIGKILL) < 0)
		die("kill %ld: %s", (long)pid, strerror(errno));
	killed = 1;
	for (i = 1; i < nreqs; i++) {
		if (reqs[i].child == victim && reqs[i].kind != K_LIST &&
		    reqs[i].kind != K_PING && (reqs[i].state &
		    (ST_SENT | ST_ANSWERED)) == ST_SENT) {
			reqs[i].flags |= FL_AT_KILL;
			n_at_kill++;
		}
	}
	fprintf(stderr, "loadmix: killed e%d (pid %ld) after %" PRIu64
	    " requests\n", victim + 1, (long)pid, load_sent);
}

static void
run_load(uint64_t count, uint64_t kill_at)
{
	uint64_t end = load_sent + count;

	last_progress = mono_now();
	while (load_sent < end || inflight > 0) {
		while (load_sent < end && inflight < window) {
			if (!killed && kill_at && load_sent >= kill_at)
				kill_victim();
			send_one();
			cancel_due();
			if (olen > 32768)
				flush_some();
		}
		cancel_due();
		pump(100);
		check_stall("load");
	}
	nplans = 0;	/* whatever remains was answered meanwhile */
}

/* ---- the run ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: loadmix -b corral -c config -d piddir "
	    "[-n children] [-r requests] [-w window] [-s seed] "
	    "[-e stderr-file] [-k victim] [-g kib] [-f fds] [-t seconds]\n");
	exit(2);
}

static void
initialize(void)
{
	cJSON *msg = cJSON_CreateObject(), *p, *ci;
	uint32_t n = new_req(K_INIT, 0);

	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(msg, "id", 0);
	cJSON_AddStringToObject(msg, "method", "initialize");
	p = cJSON_AddObjectToObject(msg, "params");
	cJSON_AddStringToObject(p, "protocolVersion", "2025-06-18");
	cJSON_AddObjectToObject(p, "capabilities");
	ci = cJSON_AddObjectToObject(p, "clientInfo");
	cJSON_AddStringToObject(ci, "name", "loadmix");
	cJSON_AddStringToObject(ci, "version", "1");
	reqs[n].state |= ST_SENT;
	inflight++;
	out_json(msg);
	last_progress = mono_now();
	while (!(reqs[n].state & ST_ANSWERED)) {
		pump(100);
		check_stall("initialize");
	}
	if (reqs[n].state & ST_ERROR)
		die("initialize failed");
	out_append("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}",
	    strlen("{\"jsonrpc\":\"2.0\",\"method\":"
	    "\"notifications/initialized\"}"));
}

/* One echo through every child: answers of earlier requests of a child
 * come before it, since a child answers in order and corral forwards its
 * lines in order. */
static void
barrier(void)
{
	int k;

	for (k = 0; k < nchild; k++)
		send_req(new_req(K_BARRIER, k));
	drain("barrier");
}

/* Waits until the victim answers a call again. */
static int
wait_restart(void)
{
	double t0 = mono_now();
	uint32_t n;

	while (mono_now() - t0 < 60) {
		n = new_req(K_PROBE, victim);
		n_probes++;
		call_sync(n);
		if (!(reqs[n].state & ST_ERROR))
			return 1;
		pump(50);
	}
	return 0;
}

static int
wait_exit(int *status)
{
	double t0 = mono_now();
	pid_t r;

	while ((r = waitpid(cpid, status, WNOHANG)) == 0) {
		if (mono_now() - t0 > 30)
			return 0;
		/* Keep reading: corral may still write while it stops. */
		if (from_fd >= 0)
			pump(50);
		else
			usleep(50000);
	}
	return r == cpid;
}

int
main(int argc, char **argv)
{
	pid_t oldpid, newpid, pids[256];
	uint64_t warm;
	uint32_t i;
	int c, k, fds_init, fds_warm, fds_end, restarted, status, alive;
	long rss_warm, rss_end;
	double elapsed, t_load;
	char *end;

	while ((c = getopt(argc, argv, "b:c:d:e:f:g:k:n:r:s:t:w:")) != -1) {
		switch (c) {
		case 'b': corral_path = optarg; break;
		case 'c': conf = optarg; break;
		case 'd': piddir = optarg; break;
		case 'e': errfile = optarg; break;
		case 'f': fd_slack = atoi(optarg); break;
		case 'g': rss_slack_kib = atol(optarg); break;
		case 'k': victim = atoi(optarg) - 1; break;
		case 'n': nchild = atoi(optarg); break;
		case 'r': total = strtoull(optarg, &end, 10); break;
		case 's': seed = strtoull(optarg, &end, 0); break;
		case 't': time_limit = atof(optarg); break;
		case 'w': window = atoi(optarg); break;
		default: usage();
		}
	}
	if (corral_path == NULL || conf == NULL || piddir == NULL ||
	    nchild < 1 || nchild > 200 || window < 1 || total < 100 ||
	    total > 10000000 || (victim != -1 && (victim < 0 ||
	    victim >= nchild)))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (seed == 0)
		seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	rng = seed;
	rnd();
	if (victim < 0)
		victim = (int)rnd_below((unsigned)nchild);
	fprintf(stderr, "loadmix: seed=%" PRIu64 " requests=%" PRIu64
	    " children=%d window=%d victim=e%d\n", seed, total, nchild,
	    window, victim + 1);
	maxreqs = (uint32_t)total + EXTRA;
	reqs = xcalloc(maxreqs, sizeof(*reqs));

	t_start = mono_now();
	spawn_corral();
	phase = "initialize";
	initialize();
	phase = "first barrier";
	/* Every child listed: tools/list has all the echo tools. */
	for (k = 0; k < nchild; k++)
		pids[k] = child_pid(k);
	barrier();
	fds_init = count_fds();

	/* Warm-up: the first tenth (cancels too), then quiet. */
	warm = total / 10;
	phase = "warm-up";
	t_load = mono_now();
	run_load(warm, 0);
	barrier();
	rss_warm = rss_kib();
	fds_warm = count_fds();

	/* The rest; the victim dies halfway. */
	oldpid = child_pid(victim);
	phase = "main load";
	run_load(total - warm, total / 2);
	elapsed = mono_now() - t_load;
	if (!killed)
		die("the victim was never killed");
	phase = "waiting for the restart";
	restarted = wait_restart();
	newpid = child_pid(victim);
	if (!restarted)
		violation("e%d did not answer again within 60 s of its kill",
		    victim + 1);
	else if (newpid == oldpid || newpid <= 0)
		violation("e%d answers again but its pid file still has the "
		    "killed pid %ld", victim + 1, (long)oldpid);
	pids[victim] = newpid;
	phase = "last barrier";
	barrier();
	/* A late answer of a cancelled request would have come by now. */
	fds_end = count_fds();
	rss_end = rss_kib();

	/* Tally. */
	for (i = 1; i < nreqs; i++) {
		const struct req *r = &reqs[i];

		if (!(r->state & ST_SENT))
			continue;
		if (!(r->state & (ST_ANSWERED | ST_CANCELLED)))
			violation("request %" PRIu32 " (%s to e%d) was never "
			    "answered", i, kind_name(r->kind), r->child + 1);
		if (r->kind == K_SENTINEL && !(r->state & ST_ERROR))
			violation("sentinel %" PRIu32 " got no error", i);
	}
	if (fds_end > fds_init + fd_slack || fds_end < fds_init - fd_slack)
		violation("corral has %d fds open after the run, %d after "
		    "initialize", fds_end, fds_init);
	if (rss_end > rss_warm + rss_slack_kib)
		violation("corral's VmRSS grew from %ld KiB after the warm-up "
		    "to %ld KiB after the run (bound: +%ld KiB)", rss_warm,
		    rss_end, rss_slack_kib);

	/* corral stops on end of input, with its children. */
	phase = "stopping";
	stopping = 1;
	close(to_fd);
	to_fd = -1;
	olen = 0;
	if (!wait_exit(&status)) {
		kill(cpid, SIGKILL);
		waitpid(cpid, &status, 0);
		violation("corral did not exit within 30 s of its stdin "
		    "closing");
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			violation("corral died of signal %d",
			    WTERMSIG(status));
		else
			violation("corral exited with status %d",
			    WEXITSTATUS(status));
	}
	cpid = 0;
	/* Its children are reaped by it, or by init right after. */
	for (c = 0; c < 40; c++) {
		alive = 0;
		for (k = 0; k < nchild; k++)
			if (pids[k] > 0 && kill(pids[k], 0) == 0)
				alive++;
		if (alive == 0)
			break;
		usleep(50000);
	}
	for (k = 0; k < nchild; k++)
		if (pids[k] > 0 && kill(pids[k], 0) == 0)
			violation("child e%d (pid %ld) outlived corral", k + 1,
			    (long)pids[k]);

	printf("loadmix: seed=%" PRIu64 " requests=%" PRIu64 " answered=%"
	    PRIu64 " cancels=%" PRIu64 " cancelled_answered=%" PRIu64
	    " victim=e%d at_kill=%" PRIu64 " sentinel_errors=%" PRIu64
	    " victim_errors=%" PRIu64 " restarted=%d probes=%"
	    PRIu64 " list_changed=%" PRIu64 " notifications=%" PRIu64
	    " host_requests=%" PRIu64 " seconds=%.2f req_per_s=%.0f"
	    " fds_init=%d fds_warm=%d fds_end=%d rss_warm_kib=%ld"
	    " rss_end_kib=%ld violations=%d\n", seed, load_sent, n_answered,
	    n_cancels, n_cancel_answered, victim + 1, n_at_kill,
	    n_sentinel_err, n_victim_err,
	    restarted, n_probes, n_list_changed, n_notes, n_server_reqs,
	    elapsed, (double)load_sent / elapsed, fds_init, fds_warm,
	    fds_end, rss_warm, rss_end, nviol);
	fflush(stdout);
	if (nviol > MAXVIOL)
		fprintf(stderr, "loadmix: (%d more violations not shown)\n",
		    nviol - MAXVIOL);
	if (nviol > 0) {
		fprintf(stderr, "loadmix: FAILED: %d violations (seed %"
		    PRIu64 ")\n", nviol, seed);
		return 1;
	}
	free(reqs);
	free(obuf);
	free(ibuf);
	return 0;
}
