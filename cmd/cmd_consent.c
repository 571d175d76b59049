/* corral consent: the remembered "always allow" answers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/consent.h"
#include "core/util.h"

#define CONSENT_USAGE \
	"usage: corral consent list [--json]\n" \
	"       corral consent revoke name | --all\n"

static const char *
field(const cJSON *e, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int
cmd_consent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	cJSON *store, *arr, *e, *n;
	const char *sub, *name = NULL;
	char *err = NULL, *s;
	int ch, json = 0, all = 0, removed = 0;

	if (argc < 2) {
		fputs(CONSENT_USAGE, stderr);
		return 2;
	}
	sub = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "+ja", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'a':
			all = 1;
			break;
		default:
			fputs(CONSENT_USAGE, stderr);
			return 2;
		}
	}
	if (strcmp(sub, "list") == 0) {
		if (optind != argc || all) {
			fputs(CONSENT_USAGE, stderr);
			return 2;
		}
	} else if (strcmp(sub, "revoke") == 0) {
		if (json || (all ? optind != argc : optind + 1 != argc)) {
			fputs(CONSENT_USAGE, stderr);
			return 2;
		}
		name = all ? NULL : argv[optind];
	} else {
		fputs(CONSENT_USAGE, stderr);
		return 2;
	}
	consent_store_load(&store);
	arr = cJSON_GetObjectItemCaseSensitive(store, "always");
	if (strcmp(sub, "list") == 0) {
		if (json) {
			s = cJSON_PrintUnformatted(arr);
			printf("%s\n", s);
			cJSON_free(s);
		} else {
			cJSON_ArrayForEach(e, arr)
				printf("%-40s always allow  since %s  pin "
				    "%.12s\n", field(e, "name"), field(e, "at"),
				    field(e, "pin"));
			if (cJSON_GetArraySize(arr) == 0)
				logmsg("no remembered decisions");
		}
		cJSON_Delete(store);
		return 0;
	}
	/* revoke: by exposed name, by server alias, or everything */
	for (e = arr->child; e; e = n) {
		n = e->next;
		if (name == NULL || strcmp(field(e, "name"), name) == 0 ||
		    strcmp(field(e, "server"), name) == 0) {
			printf("revoked %s\n", field(e, "name"));
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, e));
			removed++;
		}
	}
	if (removed && consent_store_save(store, &err) < 0) {
		logmsg("%s", err);
		free(err);
		cJSON_Delete(store);
		return 1;
	}
	cJSON_Delete(store);
	if (removed == 0 && name) {
		logmsg("%s: no remembered decision by that name", name);
		return 1;
	}
	return 0;
}
