/* corral run: one command as the only server, in its sandbox, served on
   stdio exactly as `corral serve` serves a config. What a desktop client
   names in its own config instead of the bare server:
       corral run --rw ~/project -- npx -y some-mcp-server */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/broker.h"
#include "core/util.h"

static int
usage(void)
{
	fprintf(stderr, "usage: corral run [--net none|full|host[:port]]... "
	    "[--ro path]... "
	    "[--rw path]... [--env name[=value]]... [--home private|ephemeral] "
	    "[--name alias] -- command [arg ...]\n");
	return 2;
}

/* Append s to a NULL-terminated array with count n. */
static void
push(char ***v, int *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* A grant from the command line: made absolute and resolved now, and
   refused where it would undo the sandbox. NULL after a message. */
static char *
grant(const char *opt, const char *path)
{
	const char *h = getenv("HOME");
	char *rp = realpath(path, NULL), *rh;

	if (rp == NULL) {
		logmsg("%s %s: %s", opt, path, strerror(errno));
		return NULL;
	}
	rh = h && h[0] == '/' ? realpath(h, NULL) : NULL;
	if (strcmp(rp, "/") == 0 || (rh && path_under(rh, rp))) {
		logmsg("%s %s: granting %s would undo the sandbox; grant the "
		    "folders the server needs", opt, path,
		    strcmp(rp, "/") == 0 ? "/" : "your home directory");
		free(rp);
		free(rh);
		return NULL;
	}
	free(rh);
	return rp;
}

/* --net none, full, or one more allowed host[:port]; -1 after a
   message. */
static int
net_opt(struct sandbox_conf *sb, const char *arg)
{
	char *err = NULL;

	if (strcmp(arg, "none") == 0 || strcmp(arg, "full") == 0) {
		if (sb->nnet > 0)
			goto mixed;
		sb->net_full = arg[0] == 'f';
		return 0;
	}
	if (sb->net_full)
		goto mixed;
	sb->net = xrealloc(sb->net, (sb->nnet + 1) * sizeof(*sb->net));
	if (netaddr_rule_parse(arg, &sb->net[sb->nnet], &err) < 0) {
		logmsg("--net %s", err);
		free(err);
		return -1;
	}
	sb->nnet++;
	return 0;
mixed:
	logmsg("--net %s: \"full\" and a list of hosts exclude each "
	    "other", arg);
	return -1;
}

/* Launchers whose first plain argument names the real server. */
static const char *const launchers[] = { "npx", "uvx", "bunx", "pnpx",
	"node", "python", "python3", "deno", "bun", "uv", NULL };

/* The default alias: the command's base name, as a name corral accepts;
   for a launcher (npx -y @scope/server-x) the package or script name, so
   two servers run through npx do not share a home, pins and answers. */
static char *
alias_for(char *const argv[])
{
	const char *cmd = argv[0], *b = strrchr(cmd, '/'), *base;
	char *a, *s;
	int i, k;

	base = b ? b + 1 : cmd;
	for (k = 0; launchers[k]; k++)
		if (strcmp(base, launchers[k]) == 0)
			break;
	if (launchers[k]) {
		for (i = 1; argv[i]; i++) {
			const char *arg = argv[i], *at;

			if (arg[0] == '-' || strcmp(arg, "run") == 0 ||
			    strcmp(arg, "tool") == 0 || strcmp(arg, "x") == 0)
				continue;
			/* @scope/name@1.2 -> name; dir/server.py -> server.py */
			if ((at = strrchr(arg, '/')) != NULL)
				arg = at + 1;
			cmd = arg;
			break;
		}
		b = NULL;
	}

	a = xstrndup(b ? b + 1 : cmd, 64);
	if (a[0] != '@' && (s = strchr(a, '@')) != NULL)
		*s = '\0';	/* a version */
	for (s = a; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			*s = '-';
	if (a[0] == '\0' || a[0] == '.') {
		free(a);
		a = xstrdup("server");
	}
	return a;
}

static int
valid_alias(const char *a)
{
	const unsigned char *s;

	if (a[0] == '\0' || strlen(a) > 64 || strchr(a, '/'))
		return 0;
	for (s = (const unsigned char *)a; *s; s++)
		if (*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "net", required_argument, NULL, 'n' },
		{ "ro", required_argument, NULL, 'r' },
		{ "rw", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ "home", required_argument, NULL, 'h' },
		{ "name", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct sandbox_conf sb;
	struct server_conf *s;
	struct config *cf;
	struct broker *b;
	struct ev_loop *loop;
	char **env = NULL, *alias = NULL, *g;
	int ch, nenv = 0, r = 2, i;

	memset(&sb, 0, sizeof(sb));
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (net_opt(&sb, optarg) < 0)
				goto out;
			break;
		case 'r':
		case 'w':
			if ((g = grant(ch == 'r' ? "--ro" : "--rw", optarg)) ==
			    NULL)
				goto out;
			if (ch == 'r')
				push(&sb.ro, &sb.nro, g);
			else
				push(&sb.rw, &sb.nrw, g);
			break;
		case 'e': {
			size_t l = strcspn(optarg, "=");
			const char *v;

			if (l == 0)
				goto usage;
			if (optarg[l] == '=') {
				push(&env, &nenv, xstrdup(optarg));
				break;
			}
			if ((v = getenv(optarg)) == NULL) {
				logmsg("--env %s: not set in corral's "
				    "environment", optarg);
				goto out;
			}
			push(&env, &nenv, xasprintf("%s=%s", optarg, v));
			break;
		}
		case 'h':
			if (strcmp(optarg, "private") == 0)
				sb.home_ephemeral = 0;
			else if (strcmp(optarg, "ephemeral") == 0)
				sb.home_ephemeral = 1;
			else
				goto usage;
			break;
		case 'a':
			if (!valid_alias(optarg)) {
				logmsg("--name %s: names are 1 to 64 characters "
				    "without '/' or control characters", optarg);
				goto out;
			}
			free(alias);
			alias = xstrdup(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || argv[optind][0] == '\0')
		goto usage;
	if (alias == NULL)
		alias = alias_for(argv + optind);
	cf = config_single(alias, argv + optind);
	s = &cf->servers[0];
	s->sandbox = sb;
	memset(&sb, 0, sizeof(sb));
	s->env = env;
	s->nenv = nenv;
	env = NULL;
	nenv = 0;
	loop = ev_default_loop(EVFLAG_AUTO);
	b = broker_new(loop, cf, NULL, NULL);
	broker_start(b);
	r = broker_run(b);
	broker_free(b);
	config_free(cf);
	goto out;
usage:
	r = usage();
out:
	for (i = 0; i < sb.nro; i++)
		free(sb.ro[i]);
	for (i = 0; i < sb.nrw; i++)
		free(sb.rw[i]);
	free(sb.ro);
	free(sb.rw);
	config_net_free(&sb);
	for (i = 0; i < nenv; i++)
		free(env[i]);
	free(env);
	free(alias);
	return r;
}
