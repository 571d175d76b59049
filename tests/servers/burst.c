/*
 * burst — sends bursts of notifications/tools/list_changed in one write.
 * Tool "change" {n} adds a tool extra<k>, then sends n notifications;
 * "nochange" {n} sends n notifications without changing anything.
 */
#include "tests/servers/fakelib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nextra;

static void
send_burst(int n)
{
	static const char note[] = "{\"jsonrpc\":\"2.0\","
	    "\"method\":\"notifications/tools/list_changed\"}\n";
	size_t len = sizeof(note) - 1;
	char *buf;
	int i;

	if (n <= 0)
		return;
	buf = malloc(len * (size_t)n);
	if (buf == NULL)
		abort();
	for (i = 0; i < n; i++)
		memcpy(buf + len * (size_t)i, note, len);
	fake_write_raw(buf, len * (size_t)n);
	free(buf);
}

static void
tool_name(const cJSON *id, const cJSON *params, const cJSON *args)
{
	const char *name = fake_str(params, "name");

	(void)args;
	fake_result(id, fake_text(name ? name : ""));
}

static void
tool_change(const cJSON *id, const cJSON *params, const cJSON *args)
{
	char name[32];

	(void)params;
	snprintf(name, sizeof(name), "extra%d", ++nextra);
	fake_add_tool(name, "Added at run time", NULL, tool_name);
	send_burst((int)fake_num(args, "n", 1));
	fake_result(id, fake_text("changed"));
}

static void
tool_nochange(const cJSON *id, const cJSON *params, const cJSON *args)
{
	(void)params;
	send_burst((int)fake_num(args, "n", 1));
	fake_result(id, fake_text("unchanged"));
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "burst", NULL);
	fake_set_caps(fake_json("{\"tools\":{\"listChanged\":true}}"));
	fake_add_tool("base", "Always there", NULL, tool_name);
	fake_add_tool("change", "Add a tool and announce it n times",
	    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":"
	    "\"integer\"}}}", tool_change);
	fake_add_tool("nochange", "Announce a change n times",
	    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":"
	    "\"integer\"}}}", tool_nochange);
	return fake_run();
}
