/* corral tools and corral call: the broker used from a terminal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/util.h"

#define TOOLS_USAGE "usage: corral tools [-c file] [--json]\n"
#define CALL_USAGE \
	"usage: corral call [-c file] [--json] name [json | key=value ...]\n"

/* Print a JSON-RPC error response's message on stderr. */
static void
print_rpc_error(const cJSON *resp, const char *what)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");

	/* A server's stderr tail was already shown when it exited. */
	logmsg("%s: %s (%d)", what, cJSON_IsString(m) ? m->valuestring :
	    "error", cJSON_IsNumber(code) ? code->valueint : 0);
}

/* First line of s, at most max bytes (not splitting UTF-8). */
static void
first_line(const char *s, size_t max, char *out)
{
	size_t n = strcspn(s, "\r\n");

	if (n > max) {
		n = max - 3;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		memcpy(out, s, n);
		strcpy(out + n, "...");
		return;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

int
cmd_tools(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	struct config *cf;
	cJSON *resp, *tools, *t, *n, *d;
	int ch, json = 0, width = 0, r = 0;
	char line[128];
	char *s;

	while ((ch = getopt_long(argc, argv, "+c:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			fputs(TOOLS_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(TOOLS_USAGE, stderr);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 1;
	resp = cli_roundtrip(cf, "tools/list", NULL);
	config_free(cf);
	if (resp == NULL) {
		logmsg("no answer from the broker");
		return 1;
	}
	if (cJSON_GetObjectItemCaseSensitive(resp, "error")) {
		print_rpc_error(resp, "tools/list");
		cJSON_Delete(resp);
		return 1;
	}
	tools = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(resp, "result"), "tools");
	if (json) {
		s = cJSON_PrintUnformatted(tools);
		printf("%s\n", s);
		cJSON_free(s);
	} else {
		cJSON_ArrayForEach(t, tools) {
			n = cJSON_GetObjectItemCaseSensitive(t, "name");
			if (cJSON_IsString(n) && (int)strlen(n->valuestring) >
			    width)
				width = strlen(n->valuestring);
		}
		cJSON_ArrayForEach(t, tools) {
			n = cJSON_GetObjectItemCaseSensitive(t, "name");
			d = cJSON_GetObjectItemCaseSensitive(t, "description");
			if (!cJSON_IsString(n))
				continue;
			first_line(cJSON_IsString(d) ? d->valuestring : "", 72,
			    line);
			printf("%-*s  %s\n", width, n->valuestring, line);
		}
		if (cJSON_GetArraySize(tools) == 0)
			logmsg("no tools");
	}
	if (fflush(stdout) != 0)
		r = 1;
	cJSON_Delete(resp);
	return r;
}

struct callargs {
	const char *name;
	char **argv;
	int argc;
	int bad;
};

static const char *
prop_type(const cJSON *tool, const char *key)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(tool, "inputSchema"),
	    "properties"), key);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");

	return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* Build tools/call params from the command line, typed by the schema. */
static cJSON *
build_call(const cJSON *list, void *arg)
{
	struct callargs *a = arg;
	const cJSON *tools, *t, *tool = NULL, *n;
	cJSON *params, *args, *v;
	const char *type;
	char *eq, *key;
	int i;

	tools = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(list, "result"), "tools");
	cJSON_ArrayForEach(t, tools) {
		n = cJSON_GetObjectItemCaseSensitive(t, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, a->name) == 0)
			tool = t;
	}
	if (a->argc == 1 && a->argv[0][0] == '{') {
		if ((args = cJSON_Parse(a->argv[0])) == NULL ||
		    !cJSON_IsObject(args)) {
			logmsg("arguments: not a JSON object");
			cJSON_Delete(args);
			a->bad = 2;
			return NULL;
		}
	} else {
		args = cJSON_CreateObject();
		for (i = 0; i < a->argc; i++) {
			if ((eq = strchr(a->argv[i], '=')) == NULL ||
			    eq == a->argv[i]) {
				logmsg("%s: arguments are key=value or one "
				    "JSON object", a->argv[i]);
				cJSON_Delete(args);
				a->bad = 2;
				return NULL;
			}
			key = xstrndup(a->argv[i], eq - a->argv[i]);
			type = prop_type(tool, key);
			if (type && strcmp(type, "string") == 0) {
				v = cJSON_CreateString(eq + 1);
			} else if ((v = cJSON_Parse(eq + 1)) == NULL) {
				if (type) {
					logmsg("%s: expected %s %s", key,
					    strchr("aeiou", type[0]) ? "an" :
					    "a", type);
					free(key);
					cJSON_Delete(args);
					a->bad = 2;
					return NULL;
				}
				v = cJSON_CreateString(eq + 1);
			}
			cJSON_DeleteItemFromObjectCaseSensitive(args, key);
			cJSON_AddItemToObject(args, key, v);
			free(key);
		}
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "name", a->name);
	cJSON_AddItemToObject(params, "arguments", args);
	return params;
}

/* Print a tool result's content for a person. */
static void
print_content(const cJSON *result)
{
	const cJSON *content, *c, *type, *v, *mime, *sc;
	const char *t;
	char *s;

	content = cJSON_GetObjectItemCaseSensitive(result, "content");
	cJSON_ArrayForEach(c, content) {
		type = cJSON_GetObjectItemCaseSensitive(c, "type");
		t = cJSON_IsString(type) ? type->valuestring : "";
		mime = cJSON_GetObjectItemCaseSensitive(c, "mimeType");
		if (strcmp(t, "text") == 0) {
			v = cJSON_GetObjectItemCaseSensitive(c, "text");
			if (cJSON_IsString(v)) {
				size_t l = strlen(v->valuestring);

				fputs(v->valuestring, stdout);
				if (l == 0 || v->valuestring[l - 1] != '\n')
					putchar('\n');
			}
		} else if (strcmp(t, "image") == 0 || strcmp(t, "audio") == 0) {
			v = cJSON_GetObjectItemCaseSensitive(c, "data");
			printf("[%s: %s, %zu bytes of base64]\n", t,
			    cJSON_IsString(mime) ? mime->valuestring : "?",
			    cJSON_IsString(v) ? strlen(v->valuestring) : 0);
		} else if (strcmp(t, "resource_link") == 0) {
			v = cJSON_GetObjectItemCaseSensitive(c, "uri");
			printf("[resource link: %s]\n", cJSON_IsString(v) ?
			    v->valuestring : "?");
		} else if (strcmp(t, "resource") == 0) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(c,
			    "resource");

			v = cJSON_GetObjectItemCaseSensitive(r, "uri");
			printf("[resource: %s]\n", cJSON_IsString(v) ?
			    v->valuestring : "?");
			v = cJSON_GetObjectItemCaseSensitive(r, "text");
			if (cJSON_IsString(v))
				printf("%s\n", v->valuestring);
		} else {
			printf("[%s content]\n", t[0] ? t : "unknown");
		}
	}
	sc = cJSON_GetObjectItemCaseSensitive(result, "structuredContent");
	if (sc && cJSON_GetArraySize(content) == 0) {
		s = cJSON_Print(sc);
		printf("%s\n", s);
		cJSON_free(s);
	}
}

int
cmd_call(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	struct callargs a;
	struct config *cf;
	cJSON *list, *resp, *result;
	int ch, json = 0, r;
	char *s;

	while ((ch = getopt_long(argc, argv, "+c:j", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			fputs(CALL_USAGE, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(CALL_USAGE, stderr);
		return 2;
	}
	memset(&a, 0, sizeof(a));
	a.name = argv[optind];
	a.argv = argv + optind + 1;
	a.argc = argc - optind - 1;
	if ((cf = cmd_load_config(path)) == NULL)
		return 1;
	list = cli_tools_then(cf, a.name, build_call, &a, &resp);
	config_free(cf);
	cJSON_Delete(list);
	if (a.bad)
		return a.bad;
	if (resp == NULL) {
		logmsg("no answer from the broker");
		return 1;
	}
	if (cJSON_GetObjectItemCaseSensitive(resp, "error")) {
		if (json) {
			s = cJSON_PrintUnformatted(resp);
			printf("%s\n", s);
			cJSON_free(s);
		}
		print_rpc_error(resp, a.name);
		cJSON_Delete(resp);
		return 1;
	}
	result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	if (json) {
		s = cJSON_PrintUnformatted(result);
		printf("%s\n", s);
		cJSON_free(s);
	} else {
		print_content(result);
	}
	r = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "isError"));
	if (r)
		logmsg("%s reported an error", a.name);
	if (fflush(stdout) != 0)
		r = 1;
	cJSON_Delete(resp);
	return r ? 1 : 0;
}
