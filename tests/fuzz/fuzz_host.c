/* fuzz_host: what the host sends, framing and dispatch.

   Input: one selector byte, then lines. The selector's low two bits pick
   the session: 0 "2025-11-25", 1 "2025-06-18", 2 "2025-03-26" (batches),
   3 no initialize (the input makes its own); bit 2 set: the host answers
   the broker's requests (consent elicitation, sampling, roots) by itself,
   else only the input does; bit 3 set: at the end, time runs out for the
   requests still waiting. ASCII '0'..'?' are handy selectors.

   Each line (a '\r' before the '\n' dropped, blank lines skipped, as the
   stdio link does) goes to broker_host_message; the scripted child of
   session.h answers what reaches it. A new broker serves every input. */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/session.h"

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
	static const char *const versions[] = { "2025-11-25", "2025-06-18",
	    "2025-03-26", NULL };
	const char *p, *end, *nl;
	int sel, host_auto;

	if (fz.loop == NULL)
		fz_init();
	if (size < 1)
		return 0;
	sel = data[0];
	host_auto = (sel & 4) != 0;
	fz_begin(versions[sel & 3], 1);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && !fz.b->stopping) {
		size_t len;
		char *line;

		nl = memchr(p, '\n', end - p);
		len = (nl ? nl : end) - p;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* An exact copy, so reading past its end is caught. */
		line = xmalloc(len ? len : 1);
		memcpy(line, p, len);
		if (len > 0 && len <= fz.cf->max_message) {
			size_t k = 0;

			while (k < len && (line[k] == ' ' || line[k] == '\t' ||
			    line[k] == '\r'))
				k++;
			if (k < len && fz.debug)
				fprintf(stderr, "host -> %.*s\n", (int)len,
				    line);
			if (k < len)
				broker_host_message(fz.b, line, len);
		}
		free(line);
		fz_pump(host_auto);
		p = nl ? nl + 1 : end;
	}
	if (sel & 8) {
		fz_timeouts();
		fz_pump(host_auto);
	}
	fz_end();
	return 0;
}
