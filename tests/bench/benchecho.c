/*
 * benchecho — a minimal, fast MCP server for the benchmarks.
 *
 * Answers initialize, ping, tools/list (tools "echo" and "big") and
 * tools/call: echo returns its "text" argument, big returns a text of
 * "bytes" bytes (default: --big-bytes, else 16 MiB). Notifications are
 * read and dropped. Answers are written by hand, not built as cJSON
 * trees, so that the server costs as little as a server can.
 *
 * Flags: --delay-list MS	answer tools/list (and initialize's listing)
 *				after MS milliseconds
 *	  --delay MS		answer tools/call after MS milliseconds
 *	  --big-bytes N		default size of big's text
 */
#include <cjson/cJSON.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RBUF	65536

static long delay_list_ms;
static long delay_call_ms;
static size_t big_default = 16 * 1024 * 1024;

/* The output buffer: answers are batched until input runs dry. */
static char *obuf;
static size_t olen, ocap;

static void
die(const char *msg)
{
	fprintf(stderr, "benchecho: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static void
oreserve(size_t n)
{
	if (olen + n <= ocap)
		return;
	while (olen + n > ocap)
		ocap = ocap ? ocap * 2 : RBUF;
	if ((obuf = realloc(obuf, ocap)) == NULL)
		die("realloc");
}

static void
oput(const char *s, size_t n)
{
	oreserve(n);
	memcpy(obuf + olen, s, n);
	olen += n;
}

static void
oputs(const char *s)
{
	oput(s, strlen(s));
}

static void
oflush(void)
{
	size_t off = 0;
	ssize_t w;

	while (off < olen) {
		w = write(STDOUT_FILENO, obuf + off, olen - off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		off += (size_t)w;
	}
	olen = 0;
	/* Do not keep a 16 MiB buffer around after a big answer. */
	if (ocap > 4 * RBUF) {
		free(obuf);
		obuf = NULL;
		ocap = 0;
	}
}

/* A JSON string, quoted and escaped. */
static void
oputstr(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

	oputs("\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			oput("\\", 1);
			oput((const char *)p, 1);
		} else if (*p < 0x20) {
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			oput(esc, 6);
		} else
			oput((const char *)p, 1);
	}
	oputs("\"");
}

/* The start of an answer, up to and including "result": */
static void
ohead(const cJSON *id)
{
	char *ids = cJSON_PrintUnformatted(id);

	if (ids == NULL)
		die("cJSON_Print");
	oputs("{\"jsonrpc\":\"2.0\",\"id\":");
	oputs(ids);
	oputs(",\"result\":");
	free(ids);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms <= 0)
		return;
	/* The delay is for this answer only: flush what is ready first. */
	oflush();
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
do_error(const cJSON *id, int code, const char *msg)
{
	char num[32];

	if (id == NULL)
		return;
	oputs("{\"jsonrpc\":\"2.0\",\"id\":");
	{
		char *ids = cJSON_PrintUnformatted(id);

		if (ids == NULL)
			die("cJSON_Print");
		oputs(ids);
		free(ids);
	}
	snprintf(num, sizeof(num), "%d", code);
	oputs(",\"error\":{\"code\":");
	oputs(num);
	oputs(",\"message\":");
	oputstr(msg);
	oputs("}}\n");
}

static void
do_initialize(const cJSON *id, const cJSON *params)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params,
	    "protocolVersion");

	ohead(id);
	oputs("{\"protocolVersion\":");
	oputstr(cJSON_IsString(v) ? v->valuestring : "2025-06-18");
	oputs(",\"capabilities\":{\"tools\":{}},"
	    "\"serverInfo\":{\"name\":\"benchecho\",\"version\":\"1.0.0\"}}}\n");
}

static void
do_list(const cJSON *id)
{
	sleep_ms(delay_list_ms);
	ohead(id);
	oputs("{\"tools\":["
	    "{\"name\":\"echo\",\"description\":\"Returns its text.\","
	    "\"inputSchema\":{\"type\":\"object\",\"properties\":"
	    "{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"]}},"
	    "{\"name\":\"big\",\"description\":\"Returns a text of the given "
	    "number of bytes.\",\"inputSchema\":{\"type\":\"object\","
	    "\"properties\":{\"bytes\":{\"type\":\"integer\"}}}}]}}\n");
}

static void
do_call(const cJSON *id, const cJSON *params)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params,
	    "arguments");
	const cJSON *a;
	size_t n;

	sleep_ms(delay_call_ms);
	if (!cJSON_IsString(name)) {
		do_error(id, -32602, "no tool name");
		return;
	}
	if (strcmp(name->valuestring, "echo") == 0) {
		a = cJSON_GetObjectItemCaseSensitive(args, "text");
		ohead(id);
		oputs("{\"content\":[{\"type\":\"text\",\"text\":");
		oputstr(cJSON_IsString(a) ? a->valuestring : "");
		oputs("}]}}\n");
	} else if (strcmp(name->valuestring, "big") == 0) {
		a = cJSON_GetObjectItemCaseSensitive(args, "bytes");
		n = cJSON_IsNumber(a) && a->valuedouble >= 0 ?
		    (size_t)a->valuedouble : big_default;
		ohead(id);
		oputs("{\"content\":[{\"type\":\"text\",\"text\":\"");
		oreserve(n + 8);
		memset(obuf + olen, 'x', n);
		olen += n;
		oputs("\"}]}}\n");
	} else
		do_error(id, -32602, "unknown tool");
}

static void
handle(char *line)
{
	cJSON *msg = cJSON_Parse(line);
	const cJSON *id, *method, *params;

	if (msg == NULL) {
		/* Per JSON-RPC: a parse error answers with a null id. */
		oputs("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
		    "{\"code\":-32700,\"message\":\"parse error\"}}\n");
		return;
	}
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	if (!cJSON_IsString(method) || id == NULL)
		;	/* a notification or an answer: nothing to say */
	else if (strcmp(method->valuestring, "initialize") == 0)
		do_initialize(id, params);
	else if (strcmp(method->valuestring, "tools/list") == 0)
		do_list(id);
	else if (strcmp(method->valuestring, "tools/call") == 0)
		do_call(id, params);
	else if (strcmp(method->valuestring, "ping") == 0) {
		ohead(id);
		oputs("{}}\n");
	} else
		do_error(id, -32601, "method not found");
	cJSON_Delete(msg);
}

static long
numarg(const char *flag, const char *v)
{
	char *end;
	long n;

	if (v == NULL)
		goto bad;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		goto bad;
	return n;
bad:
	fprintf(stderr, "benchecho: %s wants a number\n", flag);
	exit(2);
}

int
main(int argc, char **argv)
{
	char *buf, *nl, *start;
	size_t len = 0, cap = RBUF;
	ssize_t r;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--delay-list") == 0)
			delay_list_ms = numarg(argv[i], argv[i + 1]), i++;
		else if (strcmp(argv[i], "--delay") == 0)
			delay_call_ms = numarg(argv[i], argv[i + 1]), i++;
		else if (strcmp(argv[i], "--big-bytes") == 0)
			big_default = (size_t)numarg(argv[i], argv[i + 1]), i++;
		else {
			fprintf(stderr, "usage: benchecho [--delay-list MS] "
			    "[--delay MS] [--big-bytes N]\n");
			return 2;
		}
	}
	if ((buf = malloc(cap)) == NULL)
		die("malloc");
	for (;;) {
		if (len == cap) {
			cap *= 2;
			if ((buf = realloc(buf, cap)) == NULL)
				die("realloc");
		}
		r = read(STDIN_FILENO, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0)
			break;
		len += (size_t)r;
		start = buf;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))
		    != NULL) {
			*nl = '\0';
			if (nl > start)
				handle(start);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		/* One write for every answer to what one read brought. */
		oflush();
	}
	oflush();
	free(buf);
	free(obuf);
	return 0;
}
