/*
 * initexit — dies when asked to initialize, without answering.
 * Flag: --code N (exit status, default 3).
 */
#include "tests/servers/fakelib.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int code = 3;

static void
initialize(const cJSON *id, const cJSON *params)
{
	(void)id;
	(void)params;
	fake_log("dying during init");
	_exit(code);
}

static int
flag(const char *name, const char *arg)
{
	if (strcmp(name, "--code") == 0) {
		code = atoi(arg);
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	fake_init(argc, argv, "initexit", flag);
	fake_on("initialize", initialize);
	return fake_run();
}
