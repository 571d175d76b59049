/* corral doctor: can the sandbox run here, and can each configured server
   start? Tries what the sandbox needs (a real trial sandbox included),
   then checks the config and each server, and names the fix for every
   problem. Exit 0 when every enabled server can start, 1 otherwise. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/util.h"
#include "sandbox/sandbox.h"

extern char **environ;

#define MAX_CHECKS 32

static const char *const level_word[] = { "ok  ", "note", "FAIL" };

/* Check one server: its command, its grants and HOME, the machine. */
static int
check_server(const struct server_conf *s, int ns_ok, int ll_ok)
{
	struct sandbox_spec sp;
	char *path, *why = NULL, *dep, *line, *nl;
	int r;

	if (s->disabled) {
		printf("ok    server %s: disabled, not started\n", s->alias);
		return 0;
	}
	if ((path = sandbox_resolve(s->command, environ)) == NULL) {
		printf("FAIL  server %s: %s: %s; fix the command or PATH\n",
		    s->alias, s->command, errno == ENOENT ?
		    "command not found" : strerror(errno));
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.alias = s->alias;
	sp.path = path;
	sp.argv = s->argv;
	sp.envp = environ;
	sp.cwd = s->cwd;
	sp.conf = &s->sandbox;
	r = sandbox_check_server(&sp, ns_ok, ll_ok, &why);
	if (r < 0)
		printf("FAIL  server %s: cannot start: %s\n", s->alias, why);
	else if (s->sandbox.profile_none)
		printf("note  server %s: can start, NOT SANDBOXED "
		    "(\"profile\": \"none\")\n", s->alias);
	else if (!ns_ok)
		printf("note  server %s: can start, degraded (Landlock, "
		    "seccomp and limits only)\n", s->alias);
	else
		printf("ok    server %s: can start (%s)\n", s->alias, path);
	if ((dep = sandbox_departures(&s->sandbox)) != NULL) {
		for (line = dep; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			printf("        %.*s\n", (int)(nl ? nl - line :
			    (long)strlen(line)), line);
		}
		free(dep);
	}
	free(why);
	free(path);
	return r;
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct sandbox_check c[MAX_CHECKS];
	const char *path = NULL;
	struct config *cf = NULL;
	char *def = NULL, *aa;
	int ch, n, i, ns_ok, ll_ok, bad = 0, apparmor = 0;

	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			fprintf(stderr, "usage: corral doctor [-c file]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: corral doctor [-c file]\n");
		return 2;
	}
	printf("sandbox backend: %s\n", sandbox_backend());
	n = sandbox_checks(c, MAX_CHECKS, &ns_ok, &ll_ok);
	for (i = 0; i < n; i++) {
		printf("%s  %s: %s\n", level_word[c[i].level], c[i].name,
		    c[i].detail);
		if (c[i].level == 2 && strstr(c[i].name, "apparmor"))
			apparmor = 1;
		free(c[i].detail);
	}
	if (apparmor) {
		aa = sandbox_apparmor_profile();
		printf("\n%s\n", aa);
		free(aa);
	}
	/* Without -c, a missing default config is not an error: there is
	   simply nothing more to check. */
	if (path == NULL) {
		def = config_default_path();
		if (access(def, F_OK) < 0 && errno == ENOENT) {
			printf("note  config: none at %s\n", def);
			free(def);
			return ns_ok ? 0 : 1;
		}
	}
	fflush(stdout);
	if ((cf = cmd_load_config(path ? path : def)) == NULL) {
		printf("FAIL  config: %s: see the message above\n",
		    path ? path : def);
		free(def);
		return 1;
	}
	printf("ok    config: %s, %d server%s\n", cf->path ? cf->path :
	    (path ? path : def), cf->nservers, cf->nservers == 1 ? "" : "s");
	for (i = 0; i < cf->nservers; i++)
		if (check_server(&cf->servers[i], ns_ok, ll_ok) < 0)
			bad = 1;
	config_free(cf);
	free(def);
	return bad ? 1 : 0;
}
