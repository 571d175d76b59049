/*
 * garbage — an echo server with a messy stdout.  It starts with junk
 * lines (not JSON, a response to an id nobody used, non-objects, a bad
 * method), and every message it sends is preceded by a junk line, ends
 * in "\r\n" and is written in three pieces 20 ms apart.
 */
#include "tests/servers/fakelib.h"

#include <stdlib.h>
#include <string.h>

static void
put(const char *s)
{
	fake_write_raw(s, strlen(s));
}

/* Junk line, then the message with "\r\n", in three writes 20 ms apart. */
static void
messy_writer(const char *json, size_t len)
{
	static const char junk[] = "not json at all\n";
	size_t total = sizeof(junk) - 1 + len + 2;
	char *buf = malloc(total);
	size_t cut1, cut2;

	if (buf == NULL)
		abort();
	memcpy(buf, junk, sizeof(junk) - 1);
	memcpy(buf + sizeof(junk) - 1, json, len);
	memcpy(buf + total - 2, "\r\n", 2);
	cut1 = sizeof(junk) - 1 + len / 3;
	cut2 = sizeof(junk) - 1 + 2 * len / 3;
	fake_write_raw(buf, cut1);
	fake_sleep_ms(20);
	fake_write_raw(buf + cut1, cut2 - cut1);
	fake_sleep_ms(20);
	fake_write_raw(buf + cut2, total - cut2);
	free(buf);
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
	fake_init(argc, argv, "garbage", NULL);
	put("hello world\n");
	put("{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}\n");
	put("[1,2,3]\n");
	put("{\"foo\":1}\n");
	put("{\"jsonrpc\":\"2.0\",\"method\":42}\n");
	fake_set_writer(messy_writer);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("echo", "Echo the text back",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_echo);
	return fake_run();
}
