/*
 * names — tools and prompts with awkward names (dots, spaces, slashes,
 * over-long, non-ASCII, duplicated).  Every call answers with the name
 * it received.
 */
#include "tests/servers/fakelib.h"

#include <string.h>

static void
tool_name(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *name = fake_str(params, "name");

	(void)args;
	fake_result(id, fake_text(name ? name : ""));
}

static void
prompts_list(const cJSON *id, const cJSON *params)
{
	(void)params;
	fake_result(id, fake_json("{\"prompts\":[{\"name\":\"p.1\"},"
	    "{\"name\":\"p_1\"}]}"));
}

static void
prompts_get(const cJSON *id, const cJSON *params)
{
	const char *name = fake_str(params, "name");
	cJSON *r, *msg, *content;

	if (name == NULL || (strcmp(name, "p.1") != 0 &&
	    strcmp(name, "p_1") != 0)) {
		fake_error(id, -32602, "Unknown prompt", NULL);
		return;
	}
	r = cJSON_CreateObject();
	msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "role", "user");
	content = cJSON_AddObjectToObject(msg, "content");
	cJSON_AddStringToObject(content, "type", "text");
	cJSON_AddStringToObject(content, "text", name);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "messages"), msg);
	fake_result(id, r);
}

static void
add_tools(void)
{
	static const char *const simple[] = {
		"a.b", "a_b", "with space", "tool/with/slash",
	};
	char n64[65], y80[81], y79z[81];
	size_t i;

	memset(n64, 'x', 64);
	n64[0] = 'n';
	n64[64] = '\0';
	memset(y80, 'y', 80);
	y80[80] = '\0';
	memcpy(y79z, y80, sizeof(y79z));
	y79z[79] = 'z';
	for (i = 0; i < sizeof(simple) / sizeof(*simple); i++)
		fake_add_tool(simple[i], "awkward name", NULL, tool_name);
	fake_add_tool(n64, "64 characters", NULL, tool_name);
	fake_add_tool(y80, "80 characters", NULL, tool_name);
	fake_add_tool(y79z, "80 characters, same prefix", NULL, tool_name);
	fake_add_tool("\u00fcn\u00efcode", "non-ASCII", NULL, tool_name);
	fake_add_tool("plain", "plain", NULL, tool_name);
	fake_add_tool("plain", "plain again (duplicate)", NULL, tool_name);
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "names", NULL);
	fake_set_caps(fake_json("{\"tools\":{},\"prompts\":{}}"));
	add_tools();
	fake_on("prompts/list", prompts_list);
	fake_on("prompts/get", prompts_get);
	return fake_run();
}
