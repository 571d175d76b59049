/*
 * spew — floods stdout with lines that are not JSON.
 *
 * Tool "spew" {bytes, line}: writes bytes bytes of 'x' in lines of line
 * bytes (the last byte of each line is '\n'; default 65536), in blocks of
 * 1 MiB, and never answers.  Tool "echo" answers as echo's does.
 */
#include "tests/servers/fakelib.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK (1024 * 1024)

static void
tool_spew(const cJSON *id, const cJSON *params, const cJSON *args)
{
	double want = fake_num(args, "bytes", 0);
	double l = fake_num(args, "line", 65536);
	size_t left = want > 0 ? (size_t)want : 0;
	size_t line = l >= 1 ? (size_t)l : 1, n, i;
	char *buf;

	(void)id;
	(void)params;
	if (line > BLOCK)
		line = BLOCK;
	/* A block of whole lines, so every write ends on a line end. */
	n = BLOCK / line * line;
	if ((buf = malloc(n)) == NULL)
		abort();
	memset(buf, 'x', n);
	for (i = line - 1; i < n; i += line)
		buf[i] = '\n';
	fake_log("spewing %zu bytes in lines of %zu", left, line);
	while (left > 0) {
		size_t k = left < n ? left : n;

		fake_write_raw(buf, k);
		left -= k;
	}
	free(buf);
	fake_log("spewed");
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
	fake_init(argc, argv, "spew", NULL);
	fake_set_caps(fake_json("{\"tools\":{}}"));
	fake_add_tool("spew", "Flood stdout with lines that are not JSON",
	    "{\"type\":\"object\",\"properties\":{\"bytes\":{\"type\":"
	    "\"integer\"},\"line\":{\"type\":\"integer\"}}}", tool_spew);
	fake_add_tool("echo", "Echo the text back",
	    "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
	    "\"string\"}},\"required\":[\"text\"]}", tool_echo);
	return fake_run();
}
