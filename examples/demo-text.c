/*
 * demo-text — a minimal MCP server in C.
 *
 * It speaks JSON-RPC 2.0 over stdio: one JSON message per line on stdin,
 * one per line on stdout, and free-form logs on stderr.  It offers
 *
 *   tools    wordcount {text}  "N words, M characters"
 *            upper {text}      the text in upper case (ASCII letters)
 *            rot13 {text}      the text with ROT13 applied
 *   prompts  summarize {text}  a request to summarize the text
 *
 * Build: cc -o demo-text demo-text.c -lcjson
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define NAME "demo-text"

/* Protocol versions we speak, newest last. */
static const char *const versions[] = {
	"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25",
};
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

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

/* ---- the tools ---- */

static char *
wordcount(const char *text)
{
	size_t words = 0, chars = 0;
	int in_word = 0;
	const char *p;
	char *out;

	for (p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c & 0xC0) != 0x80)	/* count UTF-8 code points */
			chars++;
		if (isspace(c))
			in_word = 0;
		else if (!in_word) {
			in_word = 1;
			words++;
		}
	}
	if (asprintf(&out, "%zu words, %zu characters", words, chars) < 0)
		return NULL;
	return out;
}

static char *
upper(const char *text)
{
	char *out = strdup(text);
	char *p;

	for (p = out; p != NULL && *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return out;
}

static char *
rot13(const char *text)
{
	char *out = strdup(text);
	char *p;

	for (p = out; p != NULL && *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			*p = (char)('a' + (*p - 'a' + 13) % 26);
		else if (*p >= 'A' && *p <= 'Z')
			*p = (char)('A' + (*p - 'A' + 13) % 26);
	}
	return out;
}

struct tool {
	const char *name;
	const char *description;
	char *(*fn)(const char *text);	/* returns a malloc'd string */
};

static const struct tool tools[] = {
	{ "wordcount", "Count the words and characters in a text", wordcount },
	{ "upper", "Convert a text to upper case", upper },
	{ "rot13", "Apply ROT13 to a text", rot13 },
};
#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

/* Every tool takes the same input: {"text": string}. */
static cJSON *
text_schema(void)
{
	return cJSON_Parse("{\"type\":\"object\",\"properties\":{\"text\":"
	    "{\"type\":\"string\",\"description\":\"The text\"}},"
	    "\"required\":[\"text\"]}");
}

static void
tools_list(const cJSON *id, const cJSON *params)
{
	cJSON *result = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(result, "tools");
	size_t i;

	(void)params;
	for (i = 0; i < NTOOLS; i++) {
		cJSON *tool = cJSON_CreateObject();

		cJSON_AddStringToObject(tool, "name", tools[i].name);
		cJSON_AddStringToObject(tool, "description",
		    tools[i].description);
		cJSON_AddItemToObject(tool, "inputSchema", text_schema());
		cJSON_AddItemToArray(list, tool);
	}
	send_result(id, result);
}

static void
tools_call(const cJSON *id, const cJSON *params)
{
	const cJSON *name = get(params, "name");
	const cJSON *args = get(params, "arguments");
	const cJSON *text = get(args, "text");
	size_t i;
	char *out;

	for (i = 0; i < NTOOLS; i++)
		if (cJSON_IsString(name) &&
		    strcmp(name->valuestring, tools[i].name) == 0)
			break;
	if (i == NTOOLS) {
		send_error(id, -32602, "Unknown tool");
		return;
	}
	/* Bad arguments are reported to the model as a tool error. */
	if (!cJSON_IsString(text)) {
		send_result(id, text_result("argument 'text' is required", 1));
		return;
	}
	out = tools[i].fn(text->valuestring);
	if (out == NULL) {
		send_error(id, -32603, "Out of memory");
		return;
	}
	send_result(id, text_result(out, 0));
	free(out);
}

/* ---- the prompt ---- */

static void
prompts_list(const cJSON *id, const cJSON *params)
{
	(void)params;
	send_result(id, cJSON_Parse("{\"prompts\":[{\"name\":\"summarize\","
	    "\"description\":\"Summarize a text\",\"arguments\":[{\"name\":"
	    "\"text\",\"description\":\"The text to summarize\","
	    "\"required\":true}]}]}"));
}

static void
prompts_get(const cJSON *id, const cJSON *params)
{
	const cJSON *name = get(params, "name");
	const cJSON *args = get(params, "arguments");
	const cJSON *text = get(args, "text");
	cJSON *result, *message, *content;
	char *request;

	if (!cJSON_IsString(name) ||
	    strcmp(name->valuestring, "summarize") != 0) {
		send_error(id, -32602, "Unknown prompt");
		return;
	}
	if (!cJSON_IsString(text)) {
		send_error(id, -32602, "Missing required argument: text");
		return;
	}
	if (asprintf(&request, "Please summarize the following text:\n\n%s",
	    text->valuestring) < 0) {
		send_error(id, -32603, "Out of memory");
		return;
	}
	result = cJSON_CreateObject();
	cJSON_AddStringToObject(result, "description", "Summarize a text");
	message = cJSON_CreateObject();
	cJSON_AddStringToObject(message, "role", "user");
	content = cJSON_AddObjectToObject(message, "content");
	cJSON_AddStringToObject(content, "type", "text");
	cJSON_AddStringToObject(content, "text", request);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(result, "messages"),
	    message);
	free(request);
	send_result(id, result);
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
	cJSON_AddObjectToObject(caps, "prompts");
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

struct method {
	const char *name;
	void (*fn)(const cJSON *id, const cJSON *params);
};

static const struct method methods[] = {
	{ "initialize", initialize },
	{ "ping", ping },
	{ "tools/list", tools_list },
	{ "tools/call", tools_call },
	{ "prompts/list", prompts_list },
	{ "prompts/get", prompts_get },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static void
handle_message(const cJSON *msg)
{
	const cJSON *method = get(msg, "method");
	const cJSON *id = get(msg, "id");
	const cJSON *params = get(msg, "params");
	size_t i;

	/* Notifications (no id) need no answer; we act on none. */
	if (!cJSON_IsString(method) || id == NULL)
		return;
	for (i = 0; i < NMETHODS; i++) {
		if (strcmp(method->valuestring, methods[i].name) == 0) {
			methods[i].fn(id, params);
			return;
		}
	}
	send_error(id, -32601, "Method not found");
}

int
main(void)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;

	fprintf(stderr, NAME ": ready\n");
	while ((len = getline(&line, &size, stdin)) >= 0) {
		cJSON *msg;

		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;	/* a blank line */
		msg = cJSON_ParseWithLength(line, (size_t)len);
		if (msg == NULL) {
			fprintf(stderr, NAME ": ignoring a line that is not "
			    "JSON\n");
			continue;
		}
		handle_message(msg);
		cJSON_Delete(msg);
	}
	free(line);
	return 0;
}
