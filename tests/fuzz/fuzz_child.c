/* fuzz_child: what a child sends. The session (session.h) has one ready
   child; the host has sent it requests that are left pending (child ids
   6 and up, in the order below; 1 was initialize and 2-5 its lists) so
   that responses meet waiting requests.

   Input: one selector byte, then lines. Selector bit 0 set: the host
   answers the broker's requests (sampling, elicitation, roots, ping) by
   itself; bit 1 set: the session uses "2025-03-26"; bit 2 set: at the
   end, time runs out for the host's requests still waiting. Each line
   goes to broker_child_message as a line of the child's stdout would. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/session.h"

static const char *const pending[] = {
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"fake__echo\",\"arguments\":{\"text\":\"hi\"},"
	    "\"_meta\":{\"progressToken\":\"p1\"}}}",
	"{\"jsonrpc\":\"2.0\",\"id\":\"two\",\"method\":\"resources/read\","
	    "\"params\":{\"uri\":\"file:///a.txt\"}}",
	"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/get\",\"params\":"
	    "{\"name\":\"fake__greet\",\"arguments\":{\"who\":\"x\"}}}",
	"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"completion/complete\","
	    "\"params\":{\"ref\":{\"type\":\"ref/prompt\",\"name\":"
	    "\"fake__greet\"},\"argument\":{\"name\":\"who\",\"value\":\"a\"}}}",
	"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\","
	    "\"params\":{\"uri\":\"file:///a.txt\"}}",
	"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"fake__add\",\"arguments\":{\"a\":1,\"b\":2},"
	    "\"_meta\":{\"progressToken\":7}}}",
	"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}",
	NULL
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end, *nl;
	int i, host_auto;

	if (fz.loop == NULL)
		fz_init();
	if (size < 1)
		return 0;
	host_auto = data[0] & 1;
	fz_begin(data[0] & 2 ? "2025-03-26" : "2025-11-25", 0);
	for (i = 0; pending[i]; i++) {
		fz_host_send(pending[i]);
		fz_pump(1);
	}
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && !fz.b->stopping) {
		size_t len;
		char *line;

		nl = memchr(p, '\n', end - p);
		len = (nl ? nl : end) - p;
		line = xmalloc(len ? len : 1);
		memcpy(line, p, len);
		if (len > 0 && len <= fz.cf->max_message)
			fz_child_line(line, len);
		free(line);
		fz_pump(host_auto);
		p = nl ? nl + 1 : end;
	}
	if (data[0] & 4) {
		fz_timeouts();
		fz_pump(host_auto);
	}
	fz_end();
	return 0;
}
