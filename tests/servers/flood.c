/*
 * flood — tool "flood" {bytes, newline} writes that many 'A's to stdout
 * (no newline unless asked), then carries on.
 */
#include "tests/servers/fakelib.h"

#include <string.h>

static void
tool_flood(const cJSON *id, const cJSON *params, const cJSON *args)
{
	char chunk[65536];
	double want = fake_num(args, "bytes", 0);
	size_t left = want > 0 ? (size_t)want : 0;
	size_t n;

	(void)id;
	(void)params;
	memset(chunk, 'A', sizeof(chunk));
	while (left > 0) {
		n = left < sizeof(chunk) ? left : sizeof(chunk);
		fake_write_raw(chunk, n);
		left -= n;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "newline")))
		fake_write_raw("\n", 1);
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "flood", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("flood", "Write a flood of bytes",
	    "{\"type\":\"object\",\"properties\":{\"bytes\":{\"type\":"
	    "\"integer\"},\"newline\":{\"type\":\"boolean\"}}}", tool_flood);
	return fake_run();
}
