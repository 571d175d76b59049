/* corral serve: the broker on stdio. */
#include <ev.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/broker.h"
#include "core/control.h"
#include "core/util.h"

struct config *
cmd_load_config(const char *path)
{
	struct config *cf;
	char *def = NULL, *err;

	if (path == NULL)
		path = def = config_default_path();
	if (config_load(path, &cf, &err) < 0) {
		logmsg("%s", err);
		free(err);
		free(def);
		return NULL;
	}
	free(def);
	return cf;
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	struct config *cf;
	struct broker *b;
	struct control *ctl;
	struct ev_loop *loop;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			fprintf(stderr, "usage: corral serve [-c file]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: corral serve [-c file]\n");
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 1;
	loop = ev_default_loop(EVFLAG_AUTO);
	b = broker_new(loop, cf, NULL, NULL);
	reload_watch(b);
	/* corral status asks here; serve runs on without it. */
	ctl = control_new(b);
	broker_start(b);
	r = broker_run(b);
	control_free(ctl);
	broker_free(b);
	config_free(cf);
	return r;
}
