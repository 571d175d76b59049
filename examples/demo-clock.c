/*
 * demo-clock — a small MCP server in C with a timer-driven tool.
 *
 * It speaks JSON-RPC 2.0 over stdio: one JSON message per line on stdin,
 * one per line on stdout, and free-form logs on stderr.  It offers
 *
 *   now                  the current UTC time (RFC 3339)
 *   countdown {seconds}  counts down from at most 10, then says "liftoff";
 *                        if the call carries a progress token, it sends a
 *                        progress notification every second.
 *
 * Countdowns run side by side: the server keeps reading stdin with poll()
 * while they tick, so it can answer pings or start more countdowns, and
 * it stops a countdown when the client cancels the call.
 *
 * Build: cc -o demo-clock demo-clock.c -lcjson
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define NAME "demo-clock"
#define MAX_SECONDS 10

/* Protocol versions we speak, newest last. */
static const char *const versions[] = {
	"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25",
};
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

/* A running countdown: the call's id, its progress token, and when the
 * next tick is due (milliseconds on the monotonic clock). */
struct countdown {
	cJSON *id;
	cJSON *token;
	int total;
	int done;
	long long next_tick;
	struct countdown *next;
};

static struct countdown *countdowns;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Member key of obj (case-sensitive, as JSON-RPC is), or NULL. */
static const cJSON *
get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* ---- output ---- */

/* Writes msg as one line on stdout and frees it. */
static void
send_message(cJSON *msg)
{
	char *line = cJSON_PrintUnformatted(msg);

	if (line != NULL) {
		printf("%s\n", line);
		fflush(stdout);
		free(line);
	}
	cJSON_Delete(msg);
}

static cJSON *
new_message(const cJSON *id)
{
	cJSON *msg = cJSON_CreateObject();

	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	if (id != NULL)
		cJSON_AddItemToObject(msg, "id", cJSON_Duplicate(id, 1));
	return msg;
}

static void
send_result(const cJSON *id, cJSON *result)
{
	cJSON *msg = new_message(id);

	cJSON_AddItemToObject(msg, "result", result);
	send_message(msg);
}

static void
send_error(const cJSON *id, int code, const char *message)
{
	cJSON *msg = new_message(id);
	cJSON *error = cJSON_AddObjectToObject(msg, "error");

	cJSON_AddNumberToObject(error, "code", code);
	cJSON_AddStringToObject(error, "message", message);
	send_message(msg);
}

static void
send_progress(const cJSON *token, int progress, int total)
{
	cJSON *msg = new_message(NULL);
	cJSON *params;
	char text[32];

	snprintf(text, sizeof(text), "T-minus %d", total - progress);
	cJSON_AddStringToObject(msg, "method", "notifications/progress");
	params = cJSON_AddObjectToObject(msg, "params");
	cJSON_AddItemToObject(params, "progressToken",
	    cJSON_Duplicate(token, 1));
	cJSON_AddNumberToObject(params, "progress", progress);
	cJSON_AddNumberToObject(params, "total", total);
	cJSON_AddStringToObject(params, "message", text);
	send_message(msg);
}

/* A tool result holding one text block. */
static cJSON *
text_result(const char *text, int is_error)
{
	cJSON *result = cJSON_CreateObject();
	cJSON *content = cJSON_AddArrayToObject(result, "content");
	cJSON *block = cJSON_CreateObject();

	cJSON_AddStringToObject(block, "type", "text");
	cJSON_AddStringToObject(block, "text", text);
	cJSON_AddItemToArray(content, block);
	if (is_error)
		cJSON_AddTrueToObject(result, "isError");
	return result;
}

/* ---- countdowns ---- */

static void
countdown_free(struct countdown *c)
{
	cJSON_Delete(c->id);
	cJSON_Delete(c->token);
	free(c);
}

/* Unlinks and frees the countdown c. */
static void
countdown_remove(struct countdown *c)
{
	struct countdown **cp;

	for (cp = &countdowns; *cp != NULL; cp = &(*cp)->next) {
		if (*cp == c) {
			*cp = c->next;
			break;
		}
	}
	countdown_free(c);
}

/* Advances every countdown that is due; finished ones answer and go. */
static void
countdown_tick(void)
{
	long long now = now_ms();
	struct countdown *c, *next;

	for (c = countdowns; c != NULL; c = next) {
		next = c->next;
		if (c->next_tick > now)
			continue;
		if (c->done < c->total) {
			c->done++;
			c->next_tick += 1000;
			if (c->token != NULL)
				send_progress(c->token, c->done, c->total);
		}
		if (c->done == c->total) {
			send_result(c->id, text_result("liftoff", 0));
			countdown_remove(c);
		}
	}
}

/* Milliseconds until the next tick is due, or -1 if none is running. */
static int
countdown_timeout(void)
{
	long long soonest = -1, now = now_ms();
	struct countdown *c;

	for (c = countdowns; c != NULL; c = c->next)
		if (soonest < 0 || c->next_tick < soonest)
			soonest = c->next_tick;
	if (soonest < 0)
		return -1;
	return soonest > now ? (int)(soonest - now) : 0;
}

/* ---- the tools ---- */

static void
tool_now(const cJSON *id, const cJSON *params)
{
	char text[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)params;
	gmtime_r(&t, &tm);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
	send_result(id, text_result(text, 0));
}

static void
tool_countdown(const cJSON *id, const cJSON *params)
{
	const cJSON *args = get(params, "arguments");
	const cJSON *seconds = get(args, "seconds");
	const cJSON *meta = get(params, "_meta");
	const cJSON *token = get(meta, "progressToken");
	struct countdown *c;

	/* Bad arguments are reported to the model as a tool error. */
	if (!cJSON_IsNumber(seconds) || seconds->valueint < 0 ||
	    seconds->valueint > MAX_SECONDS) {
		send_result(id, text_result("seconds must be a number "
		    "from 0 to 10", 1));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		send_error(id, -32603, "Out of memory");
		return;
	}
	c->id = cJSON_Duplicate(id, 1);
	c->token = token ? cJSON_Duplicate(token, 1) : NULL;
	c->total = seconds->valueint;
	c->next_tick = now_ms() + (c->total > 0 ? 1000 : 0);
	c->next = countdowns;
	countdowns = c;
	/* The answer comes from countdown_tick(). */
}

static void
tools_list(const cJSON *id, const cJSON *params)
{
	(void)params;
	send_result(id, cJSON_Parse("{\"tools\":["
	    "{\"name\":\"now\",\"description\":\"The current UTC time\","
	    "\"inputSchema\":{\"type\":\"object\"}},"
	    "{\"name\":\"countdown\",\"description\":\"Count down, then "
	    "say liftoff\",\"inputSchema\":{\"type\":\"object\","
	    "\"properties\":{\"seconds\":{\"type\":\"integer\","
	    "\"minimum\":0,\"maximum\":10}},\"required\":[\"seconds\"]}}]}"));
}

static void
tools_call(const cJSON *id, const cJSON *params)
{
	const cJSON *name = get(params, "name");

	if (cJSON_IsString(name) && strcmp(name->valuestring, "now") == 0)
		tool_now(id, params);
	else if (cJSON_IsString(name) &&
	    strcmp(name->valuestring, "countdown") == 0)
		tool_countdown(id, params);
	else
		send_error(id, -32602, "Unknown tool");
}

/* ---- the protocol ---- */

static void
initialize(const cJSON *id, const cJSON *params)
{
	const cJSON *want = get(params, "protocolVersion");
	const char *version = versions[NVERSIONS - 1];
	cJSON *result = cJSON_CreateObject();
	cJSON *caps, *info;
	size_t i;

	/* Agree to the client's version if we know it, else offer ours. */
	for (i = 0; i < NVERSIONS; i++)
		if (cJSON_IsString(want) &&
		    strcmp(want->valuestring, versions[i]) == 0)
			version = versions[i];
	cJSON_AddStringToObject(result, "protocolVersion", version);
	caps = cJSON_AddObjectToObject(result, "capabilities");
	cJSON_AddObjectToObject(caps, "tools");
	info = cJSON_AddObjectToObject(result, "serverInfo");
	cJSON_AddStringToObject(info, "name", NAME);
	cJSON_AddStringToObject(info, "version", "1.0.0");
	send_result(id, result);
}

static void
ping(const cJSON *id, const cJSON *params)
{
	(void)params;
	send_result(id, cJSON_CreateObject());
}

/* The client gave up on a call: stop its countdown without answering. */
static void
cancelled(const cJSON *params)
{
	const cJSON *rid = get(params, "requestId");
	struct countdown *c;

	for (c = countdowns; c != NULL; c = c->next) {
		if (rid != NULL && cJSON_Compare(c->id, rid, 1)) {
			countdown_remove(c);
			return;
		}
	}
}

struct method {
	const char *name;
	void (*fn)(const cJSON *id, const cJSON *params);
};

static const struct method methods[] = {
	{ "initialize", initialize },
	{ "ping", ping },
	{ "tools/list", tools_list },
	{ "tools/call", tools_call },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static void
handle_message(const cJSON *msg)
{
	const cJSON *method = get(msg, "method");
	const cJSON *id = get(msg, "id");
	const cJSON *params = get(msg, "params");
	size_t i;

	if (!cJSON_IsString(method))
		return;
	if (id == NULL) {	/* a notification: no answer */
		if (strcmp(method->valuestring,
		    "notifications/cancelled") == 0)
			cancelled(params);
		return;
	}
	for (i = 0; i < NMETHODS; i++) {
		if (strcmp(method->valuestring, methods[i].name) == 0) {
			methods[i].fn(id, params);
			return;
		}
	}
	send_error(id, -32601, "Method not found");
}

/* ---- input ---- */

static char *inbuf;
static size_t inlen, incap;

static void
handle_line(const char *line)
{
	cJSON *msg = cJSON_Parse(line);

	if (msg == NULL) {
		fprintf(stderr, NAME ": ignoring a line that is not JSON\n");
		return;
	}
	handle_message(msg);
	cJSON_Delete(msg);
}

/* Handles every complete line in the input buffer. */
static void
handle_lines(void)
{
	char *start = inbuf, *nl;

	while ((nl = memchr(start, '\n', inlen - (size_t)(start - inbuf)))) {
		*nl = '\0';
		if (strspn(start, " \t\r") < (size_t)(nl - start))
			handle_line(start);
		start = nl + 1;
	}
	inlen -= (size_t)(start - inbuf);
	memmove(inbuf, start, inlen);
}

/* Reads what stdin has; returns 0 at end of input. */
static int
read_input(void)
{
	ssize_t n;

	if (incap - inlen < 4096) {
		char *p = realloc(inbuf, incap * 2 + 8192);

		if (p == NULL)
			return 0;
		inbuf = p;
		incap = incap * 2 + 8192;
	}
	n = read(STDIN_FILENO, inbuf + inlen, incap - inlen);
	if (n < 0)
		return errno == EINTR;
	if (n == 0)
		return 0;
	inlen += (size_t)n;
	handle_lines();
	return 1;
}

int
main(void)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct countdown *c;

	fprintf(stderr, NAME ": ready\n");
	for (;;) {
		countdown_tick();
		if (poll(&pfd, 1, countdown_timeout()) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents != 0 && !read_input())
			break;
	}
	while ((c = countdowns) != NULL) {
		countdowns = c->next;
		countdown_free(c);
	}
	free(inbuf);
	return 0;
}
