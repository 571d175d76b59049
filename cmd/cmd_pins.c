/* corral pins: what corral pinned, what changed, and accepting changes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/broker.h"
#include "core/canon.h"
#include "core/pins.h"
#include "core/state.h"
#include "core/util.h"

#define PINS_USAGE \
	"usage: corral pins list [--json]\n" \
	"       corral pins diff [-c file] [name]\n" \
	"       corral pins accept [-c file] name\n" \
	"       corral pins accept [-c file] --all\n"

struct pinwork {
	const char *target;	/* alias or exposed tool name; NULL: all */
	int accept;
	int found;
	int changed;
};

static void
show(const char *label, const cJSON *v)
{
	char *s = v ? canon_json(v) : xstrdup("(absent)");

	if (strlen(s) > 400)
		strcpy(s + 397, "...");
	printf("    %-7s %s\n", label, s);
	free(s);
}

/* Print the fields of pinned and now that differ. */
static void
diff_defs(const cJSON *pinned, const cJSON *now)
{
	const cJSON *k, *o;
	char *a, *b;

	cJSON_ArrayForEach(k, now) {
		o = cJSON_GetObjectItemCaseSensitive(pinned, k->string);
		a = canon_json(k);
		b = o ? canon_json(o) : NULL;
		if (b == NULL || strcmp(a, b) != 0) {
			printf("  %s:\n", k->string);
			show("pinned:", o);
			show("now:", k);
		}
		free(a);
		free(b);
	}
	cJSON_ArrayForEach(o, pinned) {
		if (!cJSON_GetObjectItemCaseSensitive(now, o->string)) {
			printf("  %s:\n", o->string);
			show("pinned:", o);
			show("now:", NULL);
		}
	}
}

static int
wanted(const struct pinwork *w, struct broker *b, struct child *c,
    const char *tool)
{
	char name[CATALOG_NAME_MAX + 1];

	if (w->target == NULL || strcmp(w->target, c->conf->alias) == 0)
		return 1;
	if (tool == NULL)
		return 0;
	catalog_name(c->conf->prefix, b->cf->sep, tool, name);
	return strcmp(w->target, name) == 0;
}

static void
audit_accept(struct broker *b, struct child *c, const char *tool,
    const char *hash)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "server", c->conf->alias);
	if (tool)
		cJSON_AddStringToObject(f, "tool", tool);
	cJSON_AddStringToObject(f, "change", "accepted");
	cJSON_AddStringToObject(f, "sha256", hash);
	cJSON_AddStringToObject(f, "by", "corral pins accept");
	broker_audit(b, "pin", f);
}

static void
inspect(struct broker *b, void *arg)
{
	struct pinwork *w = arg;
	struct map_ent *e;
	size_t it;
	char *err = NULL;
	int i;

	for (i = 0; i < b->nchildren; i++) {
		struct child *c = &b->children[i];
		const cJSON *old;

		if (c->state != CH_READY)
			continue;
		if (wanted(w, b, c, NULL) && c->server_def) {
			w->found++;
			if (c->server_changed || b->pins.corrupt) {
				w->changed++;
				old = pins_get(&b->pins, c->conf->alias, NULL);
				printf("server %s: instructions or prompts "
				    "changed\n", c->conf->alias);
				diff_defs(cJSON_GetObjectItemCaseSensitive(old,
				    "def"), c->server_def);
				if (w->accept) {
					pins_accept(&b->pins, c->conf->alias,
					    NULL, c->server_def,
					    c->server_hash);
					audit_accept(b, c, NULL,
					    c->server_hash);
				}
			}
		}
		for (e = map_first(&c->pins, &it); e;
		    e = map_next(&c->pins, &it, e)) {
			struct pinfo *pi = e->val;

			if (!wanted(w, b, c, e->key))
				continue;
			w->found++;
			if (!pi->changed)
				continue;
			w->changed++;
			old = pins_get(&b->pins, c->conf->alias, e->key);
			printf("%s: tool %s changed\n", c->conf->alias, e->key);
			diff_defs(cJSON_GetObjectItemCaseSensitive(old, "def"),
			    pi->def);
			if (w->accept) {
				pins_accept(&b->pins, c->conf->alias, e->key,
				    pi->def, pi->hash);
				audit_accept(b, c, e->key, pi->hash);
			}
		}
	}
	if (w->accept && w->changed) {
		/* Keep the unreadable store for inspection. */
		if (b->pins.corrupt)
			state_keep_aside("pins.json");
		b->pins.dirty = 1;
		if (pins_save(&b->pins, 1, &err) < 0) {
			logmsg("cannot save pins: %s", err);
			free(err);
			w->found = -1;
		}
	}
}

static int
pins_list(int json)
{
	struct pinstore ps;
	const cJSON *s, *t, *h, *since;
	char *out;

	pins_load(&ps);
	if (ps.corrupt) {
		logmsg("pins: %s", ps.why ? ps.why : "unreadable");
		pins_free(&ps);
		return 1;
	}
	if (json) {
		out = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(
		    ps.root, "servers"));
		printf("%s\n", out);
		cJSON_free(out);
	} else {
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(ps.root,
		    "servers")) {
			t = cJSON_GetObjectItemCaseSensitive(s, "server");
			h = cJSON_GetObjectItemCaseSensitive(t, "hash");
			since = cJSON_GetObjectItemCaseSensitive(t, "since");
			if (cJSON_IsString(h))
				printf("%-16s %-32s %.12s  %s\n", s->string,
				    "(server)", h->valuestring,
				    cJSON_IsString(since) ? since->valuestring :
				    "");
			cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(
			    s, "tools")) {
				h = cJSON_GetObjectItemCaseSensitive(t, "hash");
				since = cJSON_GetObjectItemCaseSensitive(t,
				    "since");
				printf("%-16s %-32s %.12s  %s\n", s->string,
				    t->string, cJSON_IsString(h) ?
				    h->valuestring : "?", cJSON_IsString(since) ?
				    since->valuestring : "");
			}
		}
	}
	pins_free(&ps);
	return 0;
}

int
cmd_pins(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL, *sub;
	struct pinwork w;
	struct config *cf;
	cJSON *resp;
	int ch, json = 0, all = 0;

	if (argc < 2) {
		fputs(PINS_USAGE, stderr);
		return 2;
	}
	sub = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "+c:ja", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'a':
			all = 1;
			break;
		default:
			fputs(PINS_USAGE, stderr);
			return 2;
		}
	}
	memset(&w, 0, sizeof(w));
	if (strcmp(sub, "list") == 0) {
		if (optind != argc || path || all) {
			fputs(PINS_USAGE, stderr);
			return 2;
		}
		return pins_list(json);
	}
	if (strcmp(sub, "diff") == 0) {
		if (optind + 1 < argc || all || json) {
			fputs(PINS_USAGE, stderr);
			return 2;
		}
	} else if (strcmp(sub, "accept") == 0) {
		if (json || (all ? optind != argc : optind + 1 != argc)) {
			fputs(PINS_USAGE, stderr);
			return 2;
		}
		w.accept = 1;
	} else {
		fputs(PINS_USAGE, stderr);
		return 2;
	}
	w.target = optind < argc ? argv[optind] : NULL;
	if (w.accept && w.target) {
		struct pinstore ps;

		/* An unreadable store is rebuilt whole, never from one part. */
		pins_load(&ps);
		if (ps.corrupt) {
			logmsg("pins: %s; rebuild it with corral pins accept "
			    "--all", ps.why ? ps.why : "unreadable");
			pins_free(&ps);
			return 1;
		}
		pins_free(&ps);
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 1;
	resp = cli_inspect(cf, inspect, &w);
	cJSON_Delete(resp);
	config_free(cf);
	if (w.found < 0)
		return 1;
	if (w.target && w.found == 0) {
		logmsg("%s: no such server or tool among the running servers",
		    w.target);
		return 1;
	}
	if (w.changed == 0)
		printf("no changes\n");
	else if (w.accept)
		printf("accepted %d change%s\n", w.changed,
		    w.changed == 1 ? "" : "s");
	return 0;
}
