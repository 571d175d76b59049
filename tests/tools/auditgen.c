/* auditgen: write audit log records for tests, without a broker.

   auditgen DIR FILE [--max-bytes N] [--keep N]

   Each line of standard input is a JSON object {"event":"NAME", ...}; the
   other members become the record's fields. The records go to DIR/FILE
   through audit_open and audit_write, with the key in DIR (made when
   missing), rotating as the options say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/audit.h"
#include "core/util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: auditgen dir file [--max-bytes n] "
	    "[--keep n]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct audit_opts o = { AUDIT_FSYNC_NEVER, 0, 1, NULL };
	struct audit *a;
	cJSON *j, *ev;
	char *l = NULL, *err = NULL, *name;
	size_t cap = 0;
	ssize_t n;
	long ln = 0;
	int i;

	if (argc < 3)
		usage();
	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc)
			o.max_bytes = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
			o.keep = atoi(argv[++i]);
		else
			usage();
	}
	if ((a = audit_open(argv[1], argv[2], &o, &err)) == NULL)
		fatal("%s", err);
	while ((n = getline(&l, &cap, stdin)) > 0) {
		ln++;
		j = cJSON_Parse(l);
		ev = cJSON_GetObjectItemCaseSensitive(j, "event");
		if (!cJSON_IsObject(j) || !cJSON_IsString(ev))
			fatal("line %ld: not {\"event\":\"NAME\", ...}", ln);
		name = xstrdup(ev->valuestring);
		cJSON_DeleteItemFromObjectCaseSensitive(j, "event");
		if (audit_write(a, name, j, &err) < 0)
			fatal("line %ld: %s", ln, err);
		free(name);
		cJSON_Delete(j);
	}
	free(l);
	audit_close(a);
	return 0;
}
