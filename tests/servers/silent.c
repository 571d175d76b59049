/*
 * silent — reads stdin forever and never writes to stdout.  With
 * --init-ok it answers initialize and tools/list (tool "hang") but never
 * answers tools/call.
 */
#include "tests/servers/fakelib.h"

#include <string.h>

static int init_ok;

static int
flag(const char *name, const char *arg)
{
	(void)arg;
	if (strcmp(name, "--init-ok") == 0) {
		init_ok = 1;
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "silent", flag);
	if (init_ok) {
		fake_set_caps(fake_json("{\"tools\":{}}"));
		fake_add_tool("hang", "Never answers", NULL, NULL);
	} else {
		fake_on("initialize", fake_ignore);
		fake_on("ping", fake_ignore);
		fake_on("*", fake_ignore);
	}
	return fake_run();
}
