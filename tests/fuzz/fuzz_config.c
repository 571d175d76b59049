/* fuzz_config: config_parse on any text. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* ${env:...} substitutions may name these. */
	setenv("FUZZ_TOKEN", "secret-value", 1);
	setenv("HOME", "/tmp", 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cf = NULL;
	char *err = NULL, *text = xmalloc(size ? size : 1);
	int i;

	/* An exact copy without a terminator: the length is the contract. */
	memcpy(text, data, size);
	if (config_parse(text, size, "/tmp", &cf, &err) == 0) {
		if (cf == NULL || err != NULL)
			abort();
		for (i = 0; i < cf->nservers; i++)
			if (cf->servers[i].alias == NULL ||
			    cf->servers[i].argv == NULL ||
			    cf->servers[i].argv[cf->servers[i].argc] != NULL)
				abort();
		config_free(cf);
	} else {
		if (err == NULL)
			abort();
		free(err);
	}
	free(text);
	return 0;
}
