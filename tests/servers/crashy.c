/*
 * crashy — calling tool "boom" writes half a response line, then aborts.
 */
#include "tests/servers/fakelib.h"

#include <stdlib.h>
#include <string.h>

static void
tool_echo(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *text = fake_str(args, "text");

	(void)params;
	fake_result(id, fake_text(text ? text : ""));
}

static void
tool_boom(const cJSON *id, const cJSON *params, const cJSON *args)
{
	cJSON *msg = cJSON_CreateObject();
	char *line;

	(void)params;
	(void)args;
	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	cJSON_AddItemToObject(msg, "id", cJSON_Duplicate(id, 1));
	cJSON_AddItemToObject(msg, "result", fake_text("never finished"));
	line = cJSON_PrintUnformatted(msg);
	cJSON_Delete(msg);
	fake_write_raw(line, strlen(line) / 2);
	free(line);
	fake_log("boom");
	abort();
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "crashy", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("boom", "Crash mid-answer", NULL, tool_boom);
	fake_add_tool("echo", "Echo the text back",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_echo);
	return fake_run();
}
