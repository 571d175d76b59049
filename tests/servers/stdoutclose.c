/*
 * stdoutclose — tool "close" closes stdout without answering and the
 * server lives on, reading stdin (with --ignore-term it also outlives
 * the end of stdin and SIGTERM: only SIGKILL ends it).  Tool "echo"
 * answers as echo's does.
 */
#include "tests/servers/fakelib.h"

#include <unistd.h>

static void
tool_close(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)id;
	(void)params;
	(void)args;
	close(STDOUT_FILENO);
	fake_log("stdout closed");
}

static void
tool_echo(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *text = fake_str(args, "text");

	(void)params;
	fake_result(id, fake_text(text ? text : ""));
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "stdoutclose", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("close", "Close stdout and live on", NULL, tool_close);
	fake_add_tool("echo", "Echo the text back",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_echo);
	return fake_run();
}
