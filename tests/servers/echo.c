/*
 * echo — the well-behaved general fake server: tools, prompts, resources,
 * completions, logging, progress and cancellation.
 *
 * Flags: --echo-desc TEXT (the echo tool's description),
 *        --extra-tool NAME (repeatable), --no-prompts, --no-resources,
 * plus fakelib's common flags.
 */
#include "tests/servers/fakelib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int no_prompts;
static int no_resources;
static char **extra_tools;
static size_t nextra;

/* ---- tools ---- */

static void
tool_echo(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *text = fake_str(args, "text");

	(void)params;
	fake_result(id, fake_text(text ? text : ""));
}

static void
tool_add(const cJSON *id, const cJSON *params, const cJSON *args)
{
	double sum = fake_num(args, "a", 0) + fake_num(args, "b", 0);
	cJSON *r = fake_textf("%g", sum);
	cJSON *sc = cJSON_AddObjectToObject(r, "structuredContent");

	(void)params;
	cJSON_AddNumberToObject(sc, "sum", sum);
	fake_result(id, r);
}

static void
tool_fail(const cJSON *id, const cJSON *params, const cJSON *args)
{
	cJSON *r = fake_text("failed as asked");

	(void)params;
	(void)args;
	cJSON_AddTrueToObject(r, "isError");
	fake_result(id, r);
}

static void
tool_rpcerror(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	fake_error(id, -32000, "rpcerror as asked", NULL);
}

static void
tool_big(const cJSON *id, const cJSON *params, const cJSON *args)
{
	double want = fake_num(args, "bytes", 0);
	size_t n = want > 0 ? (size_t)want : 0;
	char *s = malloc(n + 1);

	(void)params;
	if (s == NULL) {
		fake_error(id, -32603, "out of memory", NULL);
		return;
	}
	memset(s, 'x', n);
	s[n] = '\0';
	fake_result(id, fake_text(s));
	free(s);
}

static void
tool_env(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *name = fake_str(args, "name");
	const char *value = name ? getenv(name) : NULL;

	(void)params;
	fake_result(id, fake_text(value ? value : "(unset)"));
}

static void
tool_cwd(const cJSON *id, const cJSON *params, const cJSON *args)
{
	char *dir = getcwd(NULL, 0);

	(void)params;
	(void)args;
	fake_result(id, fake_text(dir ? dir : "(unknown)"));
	free(dir);
}

static void
tool_stderr(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *text = fake_str(args, "text");

	(void)params;
	if (text != NULL)
		fprintf(stderr, "%s\n", text);
	fake_result(id, fake_text("ok"));
}

static void
tool_exit(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)id;
	(void)params;
	_exit((int)fake_num(args, "code", 0));
}

static void
tool_meta(const cJSON *id, const cJSON *params, const cJSON *args)
{
	char *s = fake_print(cJSON_GetObjectItemCaseSensitive(params, "_meta"));

	(void)args;
	fake_result(id, fake_text(s));
	free(s);
}

static void
tool_links(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	fake_result(id, fake_json("{\"content\":["
	    "{\"type\":\"resource_link\",\"uri\":\"echo://hidden/1\","
	    "\"name\":\"hidden\"},"
	    "{\"type\":\"image\",\"data\":\"aGVsbG8=\","
	    "\"mimeType\":\"image/png\"},"
	    "{\"type\":\"resource\",\"resource\":{\"uri\":"
	    "\"echo://static/hello\",\"text\":\"hello\","
	    "\"mimeType\":\"text/plain\"}}]}"));
}

static void
tool_lateprogress(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const cJSON *token = fake_progress_token(params);

	(void)args;
	fake_result(id, fake_text("done"));
	if (token != NULL)
		fake_progress(token, 1, 1, "too late");
}

static void
tool_extra(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *name = fake_str(params, "name");

	(void)args;
	fake_result(id, fake_text(name ? name : ""));
}

static const char *echo_desc;

static void
add_tools(void)
{
	cJSON *add;
	size_t i;

	fake_add_tool("echo", echo_desc ? echo_desc : "Echo the text back",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_echo);
	add = fake_add_tool("add", "Add two numbers",
	    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
	    "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}",
	    tool_add);
	cJSON_AddItemToObject(add, "outputSchema", fake_json(
	    "{\"type\":\"object\",\"properties\":{\"sum\":{\"type\":"
	    "\"number\"}},\"required\":[\"sum\"]}"));
	fake_add_tool("fail", "Return a tool error", NULL, tool_fail);
	fake_add_tool("rpcerror", "Return a JSON-RPC error", NULL,
	    tool_rpcerror);
	fake_add_tool("slow", "Sleep, reporting progress",
	    "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":"
	    "\"integer\"},\"steps\":{\"type\":\"integer\"}}}",
	    fake_tool_slow);
	fake_add_tool("big", "Return a large text",
	    "{\"type\":\"object\",\"properties\":{\"bytes\":{\"type\":"
	    "\"integer\"}},\"required\":[\"bytes\"]}", tool_big);
	fake_add_tool("env", "Read an environment variable",
	    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
	    "\"string\"}},\"required\":[\"name\"]}", tool_env);
	fake_add_tool("cwd", "Show the working directory", NULL, tool_cwd);
	fake_add_tool("stderr", "Write a line to stderr",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_stderr);
	fake_add_tool("exit", "Exit at once without answering",
	    "{\"type\":\"object\",\"properties\":{\"code\":{\"type\":"
	    "\"integer\"}}}", tool_exit);
	fake_add_tool("meta", "Show the request's _meta", NULL, tool_meta);
	fake_add_tool("links", "Return links and embedded content", NULL,
	    tool_links);
	fake_add_tool("lateprogress", "Send progress after the result", NULL,
	    tool_lateprogress);
	for (i = 0; i < nextra; i++)
		fake_add_tool(extra_tools[i], "An extra tool", NULL,
		    tool_extra);
}

/* ---- prompts ---- */

static void
prompts_list(const cJSON *id, const cJSON *params)
{
	(void)params;
	fake_result(id, fake_json("{\"prompts\":[{\"name\":\"greet\","
	    "\"description\":\"Greeting\",\"arguments\":[{\"name\":\"name\","
	    "\"description\":\"Who to greet\",\"required\":true}]}]}"));
}

static void
prompts_get(const cJSON *id, const cJSON *params)
{
	const char *name = fake_str(params, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params,
	    "arguments");
	const char *who = fake_str(args, "name");
	cJSON *r, *msg, *content;
	char *text;

	if (name == NULL || strcmp(name, "greet") != 0) {
		fake_error(id, -32602, "Unknown prompt", NULL);
		return;
	}
	if (who == NULL) {
		fake_error(id, -32602, "Missing required argument: name",
		    NULL);
		return;
	}
	if (asprintf(&text, "Hello, %s!", who) < 0)
		abort();
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "description", "Greeting");
	msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "role", "user");
	content = cJSON_AddObjectToObject(msg, "content");
	cJSON_AddStringToObject(content, "type", "text");
	cJSON_AddStringToObject(content, "text", text);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "messages"), msg);
	free(text);
	fake_result(id, r);
}

/* ---- resources ---- */

static void
resources_list(const cJSON *id, const cJSON *params)
{
	(void)params;
	fake_result(id, fake_json("{\"resources\":[{\"uri\":"
	    "\"echo://static/hello\",\"name\":\"hello\","
	    "\"mimeType\":\"text/plain\"}]}"));
}

static void
templates_list(const cJSON *id, const cJSON *params)
{
	(void)params;
	fake_result(id, fake_json("{\"resourceTemplates\":[{\"uriTemplate\":"
	    "\"echo://item/{id}\",\"name\":\"item\"}]}"));
}

/* The text of a readable resource, or NULL; free() it. */
static char *
resource_text(const char *uri)
{
	const char *item = "echo://item/";
	char *text;

	if (strcmp(uri, "echo://static/hello") == 0)
		return strdup("hello");
	if (strcmp(uri, "echo://hidden/1") == 0)	/* readable, not listed */
		return strdup("hidden one");
	if (strncmp(uri, item, strlen(item)) == 0 &&
	    asprintf(&text, "item %s", uri + strlen(item)) >= 0)
		return text;
	return NULL;
}

static void
resources_read(const cJSON *id, const cJSON *params)
{
	const char *uri = fake_str(params, "uri");
	char *text = uri ? resource_text(uri) : NULL;
	cJSON *r, *c, *data;

	if (text == NULL) {
		data = cJSON_CreateObject();
		cJSON_AddStringToObject(data, "uri", uri ? uri : "");
		fake_error(id, -32002, "Resource not found", data);
		return;
	}
	r = cJSON_CreateObject();
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "uri", uri);
	cJSON_AddStringToObject(c, "mimeType", "text/plain");
	cJSON_AddStringToObject(c, "text", text);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "contents"), c);
	free(text);
	fake_result(id, r);
}

static void
resources_subscribe(const cJSON *id, const cJSON *params)
{
	const char *uri = fake_str(params, "uri");

	fake_log("subscribe %s", uri ? uri : "");
	/* A URI with "refuse" in it cannot be subscribed to. */
	if (uri && strstr(uri, "refuse")) {
		fake_error(id, -32602, "cannot subscribe to that", NULL);
		return;
	}
	fake_result(id, NULL);
}

static void
resources_unsubscribe(const cJSON *id, const cJSON *params)
{
	const char *uri = fake_str(params, "uri");

	fake_log("unsubscribe %s", uri ? uri : "");
	fake_result(id, NULL);
}

/* ---- completion, logging, notifications ---- */

static void
complete_from(const cJSON *id, const char *const *choices, size_t n,
    const char *prefix)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *c = cJSON_AddObjectToObject(r, "completion");
	cJSON *values = cJSON_AddArrayToObject(c, "values");
	size_t i;
	int total = 0;

	for (i = 0; i < n; i++) {
		if (strncmp(choices[i], prefix, strlen(prefix)) == 0) {
			cJSON_AddItemToArray(values,
			    cJSON_CreateString(choices[i]));
			total++;
		}
	}
	cJSON_AddNumberToObject(c, "total", total);
	cJSON_AddFalseToObject(c, "hasMore");
	fake_result(id, r);
}

static void
completion_complete(const cJSON *id, const cJSON *params)
{
	static const char *const names[] = { "alice", "bob", "bobby" };
	static const char *const items[] = { "1", "2", "3" };
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(params, "ref");
	const cJSON *arg = cJSON_GetObjectItemCaseSensitive(params, "argument");
	const char *type = fake_str(ref, "type");
	const char *argname = fake_str(arg, "name");
	const char *value = fake_str(arg, "value");
	const char *ref_name = fake_str(ref, "name");
	const char *ref_uri = fake_str(ref, "uri");

	if (type == NULL || argname == NULL) {
		fake_error(id, -32602, "Invalid params", NULL);
		return;
	}
	if (value == NULL)
		value = "";
	if (strcmp(type, "ref/prompt") == 0 && ref_name &&
	    strcmp(ref_name, "greet") == 0 && strcmp(argname, "name") == 0)
		complete_from(id, names, 3, value);
	else if (strcmp(type, "ref/resource") == 0 && ref_uri &&
	    strcmp(ref_uri, "echo://item/{id}") == 0)
		complete_from(id, items, 3, value);
	else
		complete_from(id, NULL, 0, value);
}

static void
logging_set_level(const cJSON *id, const cJSON *params)
{
	const char *level = fake_str(params, "level");
	cJSON *p = cJSON_CreateObject();
	char *data;

	fake_result(id, NULL);
	if (asprintf(&data, "level set to %s", level ? level : "") < 0)
		abort();
	cJSON_AddStringToObject(p, "level", "info");
	cJSON_AddStringToObject(p, "logger", "echo");
	cJSON_AddStringToObject(p, "data", data);
	free(data);
	fake_notify("notifications/message", p);
}

static void
on_cancelled(const cJSON *id, const cJSON *params)
{
	const cJSON *rid = cJSON_GetObjectItemCaseSensitive(params,
	    "requestId");
	char *s;

	(void)id;
	if (!fake_slow_cancel(rid))
		return;
	s = fake_print(rid);
	fake_log("cancelled %s", s);
	free(s);
}

static void
on_roots_changed(const cJSON *id, const cJSON *params)
{
	(void)id;
	(void)params;
	fake_log("roots changed");
}

/* ---- set-up ---- */

static int
flag(const char *name, const char *arg)
{
	if (strcmp(name, "--no-prompts") == 0) {
		no_prompts = 1;
		return 1;
	}
	if (strcmp(name, "--no-resources") == 0) {
		no_resources = 1;
		return 1;
	}
	if (strcmp(name, "--echo-desc") == 0 && arg) {
		/* A changed definition, for the pin tests. */
		echo_desc = arg;
		return 2;
	}
	if (strcmp(name, "--extra-tool") == 0) {
		extra_tools = realloc(extra_tools,
		    (nextra + 1) * sizeof(*extra_tools));
		if (extra_tools == NULL)
			abort();
		extra_tools[nextra++] = (char *)arg;
		return 2;
	}
	return 0;
}

static cJSON *
capabilities(void)
{
	cJSON *caps = fake_json("{\"tools\":{\"listChanged\":true},"
	    "\"logging\":{},\"completions\":{}}");

	if (!no_prompts)
		cJSON_AddItemToObject(caps, "prompts",
		    fake_json("{\"listChanged\":true}"));
	if (!no_resources)
		cJSON_AddItemToObject(caps, "resources",
		    fake_json("{\"subscribe\":true,\"listChanged\":true}"));
	return caps;
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "echo", flag);
	fake_set_caps(capabilities());
	add_tools();
	free(extra_tools);
	if (!no_prompts) {
		fake_on("prompts/list", prompts_list);
		fake_on("prompts/get", prompts_get);
	}
	if (!no_resources) {
		fake_on("resources/list", resources_list);
		fake_on("resources/templates/list", templates_list);
		fake_on("resources/read", resources_read);
		fake_on("resources/subscribe", resources_subscribe);
		fake_on("resources/unsubscribe", resources_unsubscribe);
	}
	fake_on("completion/complete", completion_complete);
	fake_on("logging/setLevel", logging_set_level);
	fake_on("notifications/cancelled", on_cancelled);
	fake_on("notifications/roots/list_changed", on_roots_changed);
	return fake_run();
}
