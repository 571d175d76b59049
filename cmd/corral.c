/* corral: one MCP server for many, each in a sandbox. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/util.h"
#include "core/version.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *usage;
} commands[] = {
	{ "serve", cmd_serve, "serve [-c file]" },
	{ "tools", cmd_tools, "tools [-c file] [--json]" },
	{ "call", cmd_call,
	    "call [-c file] [--json] name [json | key=value ...]" },
	{ "run", cmd_run, "run [--net none|full|host[:port]]... [--ro path]... "
	    "[--rw path]... "
	    "[--env name[=value]]... [--home private|ephemeral] [--name alias] "
	    "-- command [arg ...]" },
	{ "status", cmd_status, "status [--json] [--pid pid]" },
	{ "doctor", cmd_doctor, "doctor [-c file]" },
	{ "pins", cmd_pins, "pins list [--json]" },
	{ "pins", cmd_pins, "pins diff [-c file] [name]" },
	{ "pins", cmd_pins, "pins accept [-c file] name | --all" },
	{ "login", cmd_login, "login [-c file] [--no-browser] "
	    "[--timeout seconds] alias" },
	{ "logout", cmd_logout, "logout alias" },
	{ "consent", cmd_consent, "consent list [--json]" },
	{ "consent", cmd_consent, "consent revoke name | --all" },
	{ "audit", cmd_audit,
	    "audit verify [-c file] [--key file] [--file path | file ...]" },
	{ "audit", cmd_audit,
	    "audit tail [-c file] [-f] [-n count] [--json] [--file path]" },
	{ "audit", cmd_audit,
	    "audit stats [-c file] [--since duration] [--json] [--file path]" },
	{ "import", cmd_import, "import [-c file] [--from claude|cursor|vscode|"
	    "claude-code|file] [--write]" },
	{ "export", cmd_export,
	    "export [-c file] [--for claude|cursor|vscode|claude-code]" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	int i;

	fprintf(f, "usage: corral command [options]\n");
	for (i = 0; commands[i].name; i++)
		fprintf(f, "       corral %s\n", commands[i].usage);
	fprintf(f, "       corral --version\n");
}

int
main(int argc, char **argv)
{
	int i;

	signal(SIGPIPE, SIG_IGN);
	/* Big messages get their own mappings, which realloc grows
	   without copying and free returns at once; a fixed threshold
	   stops glibc from raising it after the first big free. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("corral %s\n", CORRAL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; commands[i].name; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	logmsg("unknown command: %s", argv[1]);
	usage(stderr);
	return 2;
}
