/*
 * nocancel — a tiny echo whose "slow" tool ignores notifications/cancelled:
 * it keeps sending progress and answers anyway.
 */
#include "tests/servers/fakelib.h"

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
	fake_init(argc, argv, "nocancel", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("echo", "Echo the text back",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_echo);
	fake_add_tool("slow", "Sleep, reporting progress; cannot be cancelled",
	    "{\"type\":\"object\",\"properties\":{\"ms\":{\"type\":"
	    "\"integer\"},\"steps\":{\"type\":\"integer\"}}}",
	    fake_tool_slow);
	/* No notifications/cancelled handler: fakelib ignores it. */
	return fake_run();
}
