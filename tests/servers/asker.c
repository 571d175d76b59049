/*
 * asker — tools that send requests to the client (sampling, elicitation,
 * roots, ping) and return the client's answer as compact JSON text.
 * Its own request ids are 0, 1, 2, ...
 */
#include "tests/servers/fakelib.h"

#include <stdlib.h>

#define SAMPLE_PARAMS "\"messages\":[{\"role\":\"user\",\"content\":" \
	"{\"type\":\"text\",\"text\":\"say hi\"}}],\"maxTokens\":10"

struct cancel_own {
	cJSON *id;
	int request;
};

/* Answers the tool call (ctx is its id) with the client's response. */
static void
relay_response(const cJSON *msg, const cJSON *ctx)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(msg, "error");
	cJSON *r;
	char *s;

	if (err != NULL) {
		const char *m = fake_str(err, "message");

		r = fake_textf("error: %d %s", (int)fake_num(err, "code", 0),
		    m ? m : "");
		cJSON_AddTrueToObject(r, "isError");
	} else {
		s = fake_print(cJSON_GetObjectItemCaseSensitive(msg,
		    "result"));
		r = fake_text(s);
		free(s);
	}
	fake_result(ctx, r);
}

static void
ask(const cJSON *id, const char *method, const char *params)
{
	fake_request(method, params ? fake_json(params) : NULL,
	    relay_response, id);
}

static void
tool_sample(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	ask(id, "sampling/createMessage", "{" SAMPLE_PARAMS "}");
}

static void
tool_sample_tools(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	ask(id, "sampling/createMessage", "{" SAMPLE_PARAMS ",\"tools\":"
	    "[{\"name\":\"t\",\"inputSchema\":{\"type\":\"object\"}}]}");
}

static void
tool_elicit(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	ask(id, "elicitation/create", "{\"mode\":\"form\","
	    "\"message\":\"need input\",\"requestedSchema\":{\"type\":"
	    "\"object\",\"properties\":{\"x\":{\"type\":\"string\"}}}}");
}

static void
tool_elicit_url(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	ask(id, "elicitation/create", "{\"mode\":\"url\","
	    "\"message\":\"open this\",\"url\":\"https://example.invalid/x\","
	    "\"elicitationId\":\"e1\"}");
}

static void
tool_roots(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	ask(id, "roots/list", NULL);
}

static void
tool_ping_client(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	(void)args;
	ask(id, "ping", NULL);
}

static void
early_response(const cJSON *msg, const cJSON *ctx)
{
	char *s = fake_print(cJSON_GetObjectItemCaseSensitive(msg, "id"));

	(void)ctx;
	fake_log("early response %s", s);
	free(s);
}

static void
cancel_own_free(void *arg)
{
	struct cancel_own *c = arg;

	cJSON_Delete(c->id);
	free(c);
}

static void
cancel_own_fire(void *arg)
{
	struct cancel_own *c = arg;
	cJSON *p = cJSON_CreateObject();

	fake_request_forget(c->request);
	cJSON_AddNumberToObject(p, "requestId", c->request);
	cJSON_AddStringToObject(p, "reason", "changed my mind");
	fake_notify("notifications/cancelled", p);
	fake_result(c->id, fake_text("cancelled"));
	cancel_own_free(c);
}

static void
tool_cancel_own(const cJSON *id, const cJSON *params, const cJSON *args)
{
	struct cancel_own *c = malloc(sizeof(*c));

	(void)params;
	(void)args;
	if (c == NULL)
		abort();
	c->id = cJSON_Duplicate(id, 1);
	c->request = fake_request("sampling/createMessage",
	    fake_json("{" SAMPLE_PARAMS "}"), early_response, NULL);
	fake_timer(50, cancel_own_fire, c, cancel_own_free);
}

static void
late_response(const cJSON *msg, const cJSON *ctx)
{
	char *s = fake_print(cJSON_GetObjectItemCaseSensitive(msg, "id"));

	(void)ctx;
	fake_log("late response %s", s);
	free(s);
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "asker", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("sample", "Ask the client to sample", NULL,
	    tool_sample);
	fake_add_tool("sample_tools", "Ask the client to sample, with tools",
	    NULL, tool_sample_tools);
	fake_add_tool("elicit", "Ask the user to fill a form", NULL,
	    tool_elicit);
	fake_add_tool("elicit_url", "Ask the user to open a URL", NULL,
	    tool_elicit_url);
	fake_add_tool("roots", "List the client's roots", NULL, tool_roots);
	fake_add_tool("ping_client", "Ping the client", NULL,
	    tool_ping_client);
	fake_add_tool("cancel_own", "Send a request, then cancel it", NULL,
	    tool_cancel_own);
	fake_on_stray_response(late_response);
	return fake_run();
}
