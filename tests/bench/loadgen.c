/*
 * loadgen — drive an MCP server over stdio and time it.
 *
 * usage: loadgen [--mode M] [--n N] [--inflight K] [--bytes B]
 *		  [--tool NAME] [--warmup W] [--wait MS] -- command [arg ...]
 *
 * Starts the command with pipes, says initialize and
 * notifications/initialized, then by --mode:
 *	lockstep	N sequential tools/call round trips: p50, p99, mean
 *	pipelined	N tools/call with K (64) in flight: requests/s
 *	big		N calls of the big tool for B bytes: median per call
 *	list		N sequential tools/list round trips: p50, p99, mean
 *	idle		wait MS (500) ms after initialize: the server's RSS
 *	init		nothing: only the time from spawn to initialize's answer
 * and prints one JSON line on stdout. Every mode also reports init_us
 * (spawn to initialize's answer) and the server's VmRSS, RssAnon and
 * VmHWM (read from /proc before its input is closed). The tool is NAME (by
 * default "echo", or "big" in big mode): through corral, give the
 * prefixed name. W warm-up round trips (default 100, 1 in big mode) go
 * first and are not counted.
 */
#include <cjson/cJSON.h>

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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIGLINE	(1024 * 1024)	/* above this, do not parse answers */
#define PEEK	4096		/* where to look for a big answer's id */

enum mode { LOCKSTEP, PIPELINED, BIG, LIST, IDLE, INIT };

static const char *modename[] = {
	"lockstep", "pipelined", "big", "list", "idle", "init"
};

static int to_srv = -1, from_srv = -1;
static pid_t srv_pid;

/* The input buffer: lines are handed out in place. */
static char *ibuf;
static size_t ilen, icap, ipos;
static size_t iscan;	/* bytes from ipos known to hold no newline */

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (srv_pid > 0)
		kill(srv_pid, SIGKILL);
	/* Not exit(3): half a JSON line must not reach stdout. */
	_exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
send_buf(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(to_srv, p, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			die("write to server: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
}

/* The next complete line (without its newline), or NULL at EOF. */
static char *
read_line(size_t *lenp)
{
	char *nl, *line;
	ssize_t r;

	for (;;) {
		/* Scan only what is new: a 16 MiB line comes in 64 KiB reads. */
		nl = memchr(ibuf + ipos + iscan, '\n', ilen - ipos - iscan);
		if (nl != NULL) {
			line = ibuf + ipos;
			*nl = '\0';
			*lenp = (size_t)(nl - line);
			ipos = (size_t)(nl - ibuf) + 1;
			iscan = 0;
			return line;
		}
		iscan = ilen - ipos;
		/* Keep the partial line, drop what was handed out. */
		if (ipos > 0) {
			memmove(ibuf, ibuf + ipos, ilen - ipos);
			ilen -= ipos;
			ipos = 0;
		}
		if (icap - ilen < 65536) {
			icap *= 2;
			if ((ibuf = realloc(ibuf, icap)) == NULL)
				die("out of memory");
		}
		r = read(from_srv, ibuf + ilen, icap - ilen);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			die("read from server: %s", strerror(errno));
		}
		if (r == 0)
			return NULL;
		ilen += (size_t)r;
	}
}

/* Is a line waiting in the buffer, without reading more? */
static int
line_ready(void)
{
	return memchr(ibuf + ipos, '\n', ilen - ipos) != NULL;
}

static long
find_id(const char *p, size_t n)
{
	const char *k = memmem(p, n, "\"id\":", 5);

	return k != NULL ? strtol(k + 5, NULL, 10) : -1;
}

/*
 * Classify a line from the server: returns its id if it is an answer
 * (*ok set when it is a result, not an error), -1 otherwise. Requests
 * from the server are answered (ping) or refused on the spot. Lines of
 * more than BIGLINE bytes are not parsed, which would cost more than
 * what is measured: their id is looked for at the start and the end.
 */
static long
classify(char *line, size_t len, int *ok)
{
	const cJSON *id, *method;
	cJSON *msg;
	char out[256];
	long r = -1;
	size_t n;

	*ok = 0;
	if (len > BIGLINE) {
		n = len < PEEK ? len : PEEK;
		if ((r = find_id(line, n)) == -1)
			r = find_id(line + len - n, n);
		*ok = memmem(line, n, "\"result\":", 9) != NULL ||
		    memmem(line + len - n, n, "\"result\":", 9) != NULL;
		return r;
	}
	if ((msg = cJSON_ParseWithLength(line, len)) == NULL)
		die("not JSON from server: %.200s", line);
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	if (method != NULL) {
		if (id != NULL && cJSON_IsString(method)) {
			char *ids = cJSON_PrintUnformatted(id);

			if (strcmp(method->valuestring, "ping") == 0)
				snprintf(out, sizeof(out), "{\"jsonrpc\":"
				    "\"2.0\",\"id\":%s,\"result\":{}}\n",
				    ids ? ids : "null");
			else
				snprintf(out, sizeof(out), "{\"jsonrpc\":"
				    "\"2.0\",\"id\":%s,\"error\":{\"code\":"
				    "-32601,\"message\":\"not supported\"}}\n",
				    ids ? ids : "null");
			free(ids);
			send_buf(out, strlen(out));
		}
	} else if (cJSON_IsNumber(id)) {
		r = (long)id->valuedouble;
		*ok = cJSON_GetObjectItemCaseSensitive(msg, "result") != NULL;
	}
	cJSON_Delete(msg);
	return r;
}

/* Wait for the answer to id; its length in *lenp. */
static void
await(long want, size_t *lenp)
{
	char *line;
	size_t len;
	long id;
	int ok;

	for (;;) {
		if ((line = read_line(&len)) == NULL)
			die("server closed its output awaiting id %ld", want);
		if ((id = classify(line, len, &ok)) == -1)
			continue;
		if (id != want)
			die("answer to id %ld awaiting %ld", id, want);
		if (!ok)
			die("error from server: %.300s", line);
		if (lenp != NULL)
			*lenp = len;
		return;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v[n], nearest rank. */
static double
quantile(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.5);

	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return (double)v[i];
}

/* A field of /proc/pid/status in kB, or -1. */
static long
proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			kb = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static void
spawn(char **argv)
{
	int to[2], from[2];

	if (pipe2(to, O_CLOEXEC) == -1 || pipe2(from, O_CLOEXEC) == -1)
		die("pipe2: %s", strerror(errno));
	switch ((srv_pid = fork())) {
	case -1:
		die("fork: %s", strerror(errno));
		break;
	case 0:
		if (dup2(to[0], STDIN_FILENO) == -1 ||
		    dup2(from[1], STDOUT_FILENO) == -1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "loadgen: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	to_srv = to[1];
	from_srv = from[0];
}

/* Close the server's input, drain its output, reap it (kill it if late). */
static int
finish(void)
{
	struct pollfd pfd;
	char junk[65536];
	uint64_t end;
	int status, waited = 0;
	ssize_t r;

	close(to_srv);
	end = now_ns() + 10000000000u;
	pfd.fd = from_srv;
	pfd.events = POLLIN;
	while (now_ns() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((r = read(from_srv, junk, sizeof(junk))) == 0 ||
		    (r == -1 && errno != EINTR))
			break;
	}
	close(from_srv);
	while (waitpid(srv_pid, &status, WNOHANG) == 0) {
		if (waited++ == 100) {
			fprintf(stderr, "loadgen: server did not exit\n");
			kill(srv_pid, SIGKILL);
		}
		usleep(50000);
	}
	srv_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static long
numarg(const char *flag, const char *v)
{
	char *end;
	long n;

	if (v == NULL)
		die("%s wants a value", flag);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		die("%s wants a number, not %s", flag, v);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen [--mode lockstep|pipelined|big|list|"
	    "idle|init] [--n N] [--inflight K]\n"
	    "\t[--bytes B] [--tool NAME] [--warmup W] [--wait MS] "
	    "-- command [arg ...]\n");
	exit(2);
}

/* One request into buf; returns its length. */
static int
request(char *buf, size_t sz, enum mode m, const char *tool, long id,
    long bytes)
{
	int n;

	if (m == LIST)
		n = snprintf(buf, sz, "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
		    "\"method\":\"tools/list\",\"params\":{}}\n", id);
	else if (m == BIG)
		n = snprintf(buf, sz, "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
		    "\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
		    "\"arguments\":{\"bytes\":%ld}}}\n", id, tool, bytes);
	else
		n = snprintf(buf, sz, "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
		    "\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
		    "\"arguments\":{\"text\":\"hello %ld\"}}}\n", id, tool, id);
	if (n < 0 || (size_t)n >= sz)
		die("request too long");
	return n;
}

int
main(int argc, char **argv)
{
	enum mode m = LOCKSTEP;
	long n = 1000, inflight = 64, bytes = 16777216, warmup = -1;
	long wait_ms = 500, id = 1, i, sent, done;
	const char *tool = NULL;
	char req[512], *batch, *line;
	uint64_t t0, t1, tspawn, init_ns, *lat;
	size_t len, blen, bcap;
	long got, rss, hwm, anon;
	int a, ok, status, k;

	signal(SIGPIPE, SIG_IGN);
	for (a = 1; a < argc && strcmp(argv[a], "--") != 0; a++) {
		if (strcmp(argv[a], "--mode") == 0 && a + 1 < argc) {
			a++;
			for (k = 0; k <= INIT; k++)
				if (strcmp(argv[a], modename[k]) == 0)
					break;
			if (k > INIT)
				usage();
			m = (enum mode)k;
		} else if (strcmp(argv[a], "--n") == 0)
			n = numarg(argv[a], argv[a + 1]), a++;
		else if (strcmp(argv[a], "--inflight") == 0)
			inflight = numarg(argv[a], argv[a + 1]), a++;
		else if (strcmp(argv[a], "--bytes") == 0)
			bytes = numarg(argv[a], argv[a + 1]), a++;
		else if (strcmp(argv[a], "--warmup") == 0)
			warmup = numarg(argv[a], argv[a + 1]), a++;
		else if (strcmp(argv[a], "--wait") == 0)
			wait_ms = numarg(argv[a], argv[a + 1]), a++;
		else if (strcmp(argv[a], "--tool") == 0 && a + 1 < argc)
			tool = argv[++a];
		else
			usage();
	}
	if (a + 1 >= argc || n < 1 || inflight < 1)
		usage();
	if (tool == NULL)
		tool = m == BIG ? "big" : "echo";
	if (strlen(tool) > 128 || strpbrk(tool, "\"\\") != NULL)
		die("bad tool name");
	if (warmup < 0)
		warmup = m == BIG ? 1 : 100;

	icap = 262144;
	if ((ibuf = malloc(icap)) == NULL)
		die("out of memory");
	tspawn = now_ns();
	spawn(argv + a + 1);
	send_buf(req, (size_t)snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\","
	    "\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
	    "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":"
	    "\"loadgen\",\"version\":\"1\"}}}\n"));
	await(0, NULL);
	init_ns = now_ns() - tspawn;
	send_buf(req, (size_t)snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\","
	    "\"method\":\"notifications/initialized\"}\n"));

	printf("{\"mode\":\"%s\",\"n\":%ld", modename[m], n);
	if (m == IDLE || m == INIT) {
		if (m == IDLE)
			usleep((useconds_t)wait_ms * 1000);
		goto out;
	}

	/* Warm up in lock step: caches, allocators, the broker's routes. */
	for (i = 0; i < warmup; i++, id++) {
		send_buf(req, (size_t)request(req, sizeof(req),
		    m == PIPELINED ? LOCKSTEP : m, tool, id, bytes));
		await(id, NULL);
	}

	if ((lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		die("out of memory");
	if (m == LOCKSTEP || m == LIST || m == BIG) {
		for (i = 0; i < n; i++, id++) {
			k = request(req, sizeof(req), m, tool, id, bytes);
			t0 = now_ns();
			send_buf(req, (size_t)k);
			await(id, &len);
			t1 = now_ns();
			lat[i] = t1 - t0;
			if (m == BIG && len < (size_t)bytes)
				die("big answer of %zu bytes, wanted %ld",
				    len, bytes);
		}
		qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
		if (m == BIG)
			printf(",\"bytes\":%ld,\"median_ms\":%.3f,"
			    "\"min_ms\":%.3f,\"max_ms\":%.3f", bytes,
			    quantile(lat, (size_t)n, 0.5) / 1e6,
			    (double)lat[0] / 1e6, (double)lat[n - 1] / 1e6);
		else {
			double sum = 0;

			for (i = 0; i < n; i++)
				sum += (double)lat[i];
			printf(",\"p50_us\":%.1f,\"p99_us\":%.1f,"
			    "\"mean_us\":%.1f",
			    quantile(lat, (size_t)n, 0.5) / 1e3,
			    quantile(lat, (size_t)n, 0.99) / 1e3,
			    sum / (double)n / 1e3);
		}
	} else {
		/*
		 * Pipelined: keep inflight requests outstanding; after each
		 * batch of answers that one read brought, send as many new
		 * requests in one write.
		 */
		bcap = (size_t)(inflight < n ? inflight : n) * sizeof(req);
		if ((batch = malloc(bcap)) == NULL)
			die("out of memory");
		sent = done = 0;
		t0 = now_ns();
		for (;;) {
			blen = 0;
			while (sent < n && sent - done < inflight) {
				blen += (size_t)request(batch + blen,
				    bcap - blen, m, tool, id + sent, bytes);
				sent++;
			}
			if (blen > 0)
				send_buf(batch, blen);
			if (done == n)
				break;
			do {
				if ((line = read_line(&len)) == NULL)
					die("server closed its output");
				got = classify(line, len, &ok);
				if (got == -1)
					continue;
				if (!ok)
					die("error from server: %.300s", line);
				if (got < id || got >= id + sent)
					die("unexpected answer id %ld", got);
				done++;
			} while (line_ready());
		}
		t1 = now_ns();
		free(batch);
		printf(",\"inflight\":%ld,\"rps\":%.0f,\"elapsed_ms\":%.1f",
		    inflight, (double)n / ((double)(t1 - t0) / 1e9),
		    (double)(t1 - t0) / 1e6);
	}
	free(lat);
out:
	rss = proc_kb(srv_pid, "VmRSS");
	hwm = proc_kb(srv_pid, "VmHWM");
	/* RSS less the pages of shared libraries: what the server allocated. */
	anon = proc_kb(srv_pid, "RssAnon");
	printf(",\"init_us\":%.0f,\"server_pid\":%d,\"server_rss_kb\":%ld,"
	    "\"server_rss_anon_kb\":%ld,\"server_hwm_kb\":%ld",
	    (double)init_ns / 1e3, (int)srv_pid, rss, anon, hwm);
	status = finish();
	printf(",\"server_status\":%d}\n", status);
	free(ibuf);
	return 0;
}
