/* corral import: move a client's MCP servers into corral's config and
   leave the client starting corral alone; corral export: the entry to
   paste into a client by hand.

   The client's file is read with its comments blanked out (core/jsonc),
   which keeps every offset, so the rewrite splices new text into the
   original bytes: every other key, comment and line stays as it was. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/buf.h"
#include "core/canon.h"
#include "core/json.h"
#include "core/jsonc.h"
#include "core/util.h"

#define CLIENT_MAX	(64 * 1024 * 1024)

#define IMPORT_USAGE \
	"usage: corral import [-c file] [--from claude|cursor|vscode|" \
	"claude-code|file] [--write]\n"
#define EXPORT_USAGE \
	"usage: corral export [-c file] [--for claude|cursor|vscode|" \
	"claude-code]\n"

enum kind { K_CLAUDE, K_CURSOR, K_VSCODE, K_CLAUDE_CODE };

static const char *const kind_names[] = { "claude", "cursor", "vscode",
	"claude-code", NULL };
static const char *const kind_titles[] = { "Claude Desktop", "Cursor",
	"VS Code", "Claude Code" };

/* One servers object of a client's file. */
struct section {
	struct jspan span;	/* the object; len 0: absent (insert) */
	char *label;		/* for messages */
	cJSON *keep;		/* what stays in the client */
	int top;		/* the corral entry goes here */
};

struct client {
	enum kind kind;
	int settings;		/* VS Code's settings.json: mcp.servers */
	char *path;		/* as named */
	char *real;		/* where to write */
	mode_t mode;
	char *text;		/* the original bytes */
	size_t len;
	char *clean;		/* comments blanked */
	struct jspan root;
	struct section *sec;
	int nsec;
	char *newtext;		/* after the rewrite; NULL: unchanged */
	size_t newlen;
};

struct import {
	cJSON *conf;		/* corral's config as it will be */
	cJSON *servers;		/* its servers object (borrowed) */
	char *confpath;		/* absolute */
	int conf_exists;
	int conf_changed;
	int custom;		/* -c names a file that is not the default */
	char *self;		/* corral's own binary */
	char *home;		/* $HOME, resolved; NULL when unknown */
	int nimported, nskipped, ngrants;
};

/* The outcome of translating one entry. */
struct entry {
	cJSON *out;		/* corral's entry; NULL: not translated */
	char *why;		/* why not */
	struct buf notes;	/* report lines under the entry */
	int ngrants;
};

/* ---- small helpers ------------------------------------------------------ */

/* Does an environment or header name look like it holds a secret? */
static int
secretish(const char *name)
{
	static const char *const words[] = { "KEY", "TOKEN", "SECRET",
	    "PASSWORD", "PASSWD", "AUTH", "COOKIE", "CREDENTIAL", NULL };
	int i;

	for (i = 0; words[i]; i++)
		if (strcasestr(name, words[i]))
			return 1;
	return 0;
}

static const char *
str_of(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ~/x as an absolute path under home; other text copied. */
static char *
expand_tilde(const char *s)
{
	const char *h = getenv("HOME");

	if (strncmp(s, "~/", 2) == 0 && h && h[0] == '/')
		return xasprintf("%s/%s", h, s + 2);
	return xstrdup(s);
}

/* The default config file of a client; caller frees. */
static char *
client_path(enum kind k, int settings)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
	char *cfg, *p;

	if (h == NULL)
		h = "";
	cfg = x && x[0] == '/' ? xstrdup(x) : xasprintf("%s/.config", h);
	switch (k) {
	case K_CLAUDE:
		p = xasprintf("%s/Claude/claude_desktop_config.json", cfg);
		break;
	case K_CURSOR:
		p = xasprintf("%s/.cursor/mcp.json", h);
		break;
	case K_VSCODE:
		p = xasprintf("%s/Code/User/%s", cfg, settings ?
		    "settings.json" : "mcp.json");
		break;
	default:
		p = xasprintf("%s/.claude.json", h);
		break;
	}
	free(cfg);
	return p;
}

static int
kind_of(const char *s)
{
	int i;

	for (i = 0; kind_names[i]; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

/* An absolute form of path (not resolved: it may not exist yet). */
static char *
absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* corral's own binary, for the clients to start. */
static char *
self_path(void)
{
	char b[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", b, sizeof(b) - 1);

	if (n <= 0)
		return xstrdup("corral");
	b[n] = '\0';
	return xstrdup(b);
}

/* The entry a client gets: corral serve, with -c when not the default. */
static cJSON *
corral_entry(const char *self, const char *conf, int typed)
{
	cJSON *e = cJSON_CreateObject(), *a;

	if (typed)
		cJSON_AddStringToObject(e, "type", "stdio");
	cJSON_AddStringToObject(e, "command", self);
	a = cJSON_AddArrayToObject(e, "args");
	cJSON_AddItemToArray(a, cJSON_CreateString("serve"));
	if (conf) {
		cJSON_AddItemToArray(a, cJSON_CreateString("-c"));
		cJSON_AddItemToArray(a, cJSON_CreateString(conf));
	}
	return e;
}

/* Is this client entry corral serve itself? */
static int
is_corral(const cJSON *e)
{
	const char *cmd = str_of(e, "command"), *b;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "args");

	if (cmd == NULL)
		return 0;
	b = strrchr(cmd, '/');
	b = b ? b + 1 : cmd;
	return strcmp(b, "corral") == 0 && cJSON_IsArray(a) &&
	    cJSON_IsString(a->child) &&
	    strcmp(a->child->valuestring, "serve") == 0;
}

/* ---- files ------------------------------------------------------------- */

/* Write text to path atomically with mode: a temporary file beside it,
   synced, renamed over. Returns 0, or -1 after a message. */
static int
write_atomic(const char *path, const char *text, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.corral-tmp-%ld", path, (long)getpid());
	size_t off = 0;
	ssize_t n;
	int fd;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd < 0)
		goto fail;
	/* The umask may have narrowed the mode; a client's file keeps its
	   own, corral's stays 0600. */
	if (fchmod(fd, mode) < 0)
		goto fail_fd;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail_fd;
		}
		off += n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail_fd:
	close(fd);
fail:
	logmsg("%s: %s", path, strerror(errno));
	unlink(tmp);
	free(tmp);
	return -1;
}

/* Copy path's bytes to path.corral-backup-YYYYmmdd-HHMMSS (-N when that
   exists) with its mode. Returns the name (caller frees) or NULL after
   a message. */
static char *
backup(const char *path, const char *text, size_t len, mode_t mode)
{
	char stamp[32], *name;
	time_t now = time(NULL);
	struct tm tm;
	size_t off = 0;
	ssize_t n;
	int fd, i;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (i = 1;; i++) {
		name = i == 1 ? xasprintf("%s.corral-backup-%s", path, stamp) :
		    xasprintf("%s.corral-backup-%s-%d", path, stamp, i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode & 0600);
		if (fd >= 0 || errno != EEXIST || i == 100)
			break;
		free(name);
	}
	if (fd < 0)
		goto fail;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			goto fail;
		}
		off += n;
	}
	if (fsync(fd) < 0 || close(fd) < 0)
		goto fail;
	return name;
fail:
	logmsg("%s: %s", name, strerror(errno));
	free(name);
	return NULL;
}

/* mkdir -p for the parent of path, 0700. */
static int
make_parent(const char *path)
{
	char *d = xstrdup(path), *s;
	int r = 0;

	for (s = d + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			logmsg("%s: %s", d, strerror(errno));
			r = -1;
			break;
		}
		*s = '/';
	}
	free(d);
	return r;
}

/* ---- translation ------------------------------------------------------- */

static void
note(struct entry *x, const char *fmt, ...) __attribute__((format(printf,
    2, 3)));

static void
note(struct entry *x, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_addf(&x->notes, "    %s\n", s);
	free(s);
}

static int
refuse(struct entry *x, const char *fmt, ...) __attribute__((format(printf,
    2, 3)));

static int
refuse(struct entry *x, const char *fmt, ...)
{
	va_list ap;

	if (x->why)
		return -1;
	va_start(ap, fmt);
	x->why = xvasprintf(fmt, ap);
	va_end(ap);
	return -1;
}

/* Translate the variables of one client string into corral's: ${env:X}
   stays, ${userHome} becomes the home directory, Claude Code's ${X}
   becomes ${env:X}; anything else cannot be translated. Caller owns. */
static char *
translate_vars(struct entry *x, enum kind k, const char *s)
{
	struct buf b;
	const char *p, *end, *h = getenv("HOME");
	char *name;

	buf_init(&b, 0);
	for (p = s; *p;) {
		if (strncmp(p, "${", 2) != 0) {
			buf_add(&b, p++, 1);
			continue;
		}
		if ((end = strchr(p, '}')) == NULL) {
			refuse(x, "\"${\" without its \"}\"");
			break;
		}
		name = xstrndup(p + 2, end - (p + 2));
		if (strncmp(name, "env:", 4) == 0)
			buf_addf(&b, "${%s}", name);
		else if (strcmp(name, "userHome") == 0 && h && h[0] == '/')
			buf_adds(&b, h);
		else if (k == K_CLAUDE_CODE && name[0] && strspn(name,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_") == strlen(name) && !(name[0] >= '0' &&
		    name[0] <= '9'))
			buf_addf(&b, "${env:%s}", name);
		else if (strncmp(name, "input:", 6) == 0)
			refuse(x, "${%s} asks the editor to prompt for a value, "
			    "which corral cannot; put the value in an "
			    "environment variable and write ${env:NAME}", name);
		else if (strcmp(name, "workspaceFolder") == 0)
			refuse(x, "${workspaceFolder} is known only inside the "
			    "editor; write the folder's path instead");
		else
			refuse(x, "${%s} is a variable corral cannot fill in",
			    name);
		free(name);
		p = end + 1;
	}
	if (x->why) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* A string member, translated; absent is NULL without error. */
static int
get_string(struct entry *x, enum kind k, const cJSON *e, const char *key,
    char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v))
		return refuse(x, "\"%s\" is not a string", key);
	if ((*out = translate_vars(x, k, v->valuestring)) == NULL)
		return -1;
	return 0;
}

/* An object of strings (env, headers), translated, into out[key]. */
static int
copy_strmap(struct entry *x, enum kind k, const cJSON *e, const char *key,
    cJSON *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, key), *v;
	cJSON *o;
	char *s;

	if (m == NULL)
		return 0;
	if (!cJSON_IsObject(m))
		return refuse(x, "\"%s\" is not an object", key);
	o = cJSON_AddObjectToObject(out, key);
	cJSON_ArrayForEach(v, m) {
		if (!cJSON_IsString(v))
			return refuse(x, "%s.%s is not a string", key,
			    v->string);
		if ((s = translate_vars(x, k, v->valuestring)) == NULL)
			return -1;
		cJSON_AddStringToObject(o, v->string, s);
		note(x, "%s %s%s%s", strcmp(key, "env") == 0 ? "env" :
		    "header", v->string, strcmp(key, "env") == 0 ? "=" : ": ",
		    strcmp(key, "headers") == 0 || secretish(v->string) ?
		    "(hidden)" : s);
		free(s);
	}
	return 0;
}

/* Add path to the sandbox list key ("ro", "rw") unless there already. */
static void
add_grant(cJSON *out, const char *key, const char *path)
{
	cJSON *sb = cJSON_GetObjectItemCaseSensitive(out, "sandbox"), *l, *v;

	if (sb == NULL)
		sb = cJSON_AddObjectToObject(out, "sandbox");
	if ((l = cJSON_GetObjectItemCaseSensitive(sb, key)) == NULL)
		l = cJSON_AddArrayToObject(sb, key);
	cJSON_ArrayForEach(v, l)
		if (strcmp(v->valuestring, path) == 0)
			return;
	cJSON_AddItemToArray(l, cJSON_CreateString(path));
}

/* An argument (or cwd) that names an existing path becomes a grant: a
   directory writable, a file read-only. / and the home directory (or a
   folder above it) are never granted, and /usr is visible already. */
static void
infer_grant(struct import *im, struct entry *x, const char *arg,
    const char *cwd, const char *what)
{
	struct stat st;
	const char *v = arg;
	char *p, *real;
	int dir;

	if (arg[0] == '-') {
		if ((v = strchr(arg, '=')) == NULL)
			return;
		v++;
	}
	if (v[0] == '\0' || strstr(v, "://"))
		return;
	if (v[0] == '/')
		p = xstrdup(v);
	else if (cwd && v[0] != '@')
		p = xasprintf("%s/%s", cwd, v);
	else
		return;
	if (stat(p, &st) < 0 || (real = realpath(p, NULL)) == NULL) {
		free(p);
		return;
	}
	free(p);
	dir = S_ISDIR(st.st_mode);
	if (strcmp(real, "/") == 0 || (im->home && path_under(im->home, real)))
		note(x, "not granted %s: %s would undo the sandbox; grant the "
		    "folders the server needs", real, strcmp(real, "/") == 0 ?
		    "granting /" : "granting your home directory");
	else if (!path_under(real, "/usr") && (dir || S_ISREG(st.st_mode))) {
		add_grant(x->out, dir ? "rw" : "ro", real);
		note(x, "grant %s %s: %s that names a %s; confirm", dir ? "rw" :
		    "ro", real, what, dir ? "directory" : "file");
		x->ngrants++;
	}
	free(real);
}

/* The launcher that downloads the server on its first run, if any. */
static const char *
launcher(const char *cmd, const cJSON *args)
{
	static const char *const direct[] = { "npx", "uvx", "bunx", "pnpx",
	    NULL };
	const char *b = strrchr(cmd, '/'), *a0;
	int i;

	b = b ? b + 1 : cmd;
	for (i = 0; direct[i]; i++)
		if (strcmp(b, direct[i]) == 0)
			return direct[i];
	a0 = cJSON_IsString(cJSON_GetArrayItem(args, 0)) ?
	    cJSON_GetArrayItem(args, 0)->valuestring : "";
	if (strcmp(b, "pipx") == 0 && strcmp(a0, "run") == 0)
		return "pipx run";
	if (strcmp(b, "uv") == 0 && strcmp(a0, "tool") == 0)
		return "uv tool run";
	if (strcmp(b, "pnpm") == 0 && strcmp(a0, "dlx") == 0)
		return "pnpm dlx";
	if (strcmp(b, "npm") == 0 && strcmp(a0, "exec") == 0)
		return "npm exec";
	return NULL;
}

/* A local (stdio) entry: command, args, env, cwd, and the grants the
   paths among them need. */
static int
translate_local(struct import *im, struct entry *x, enum kind k,
    const cJSON *e)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args"), *a;
	char *cmd = NULL, *cwd = NULL, *s, *t;
	const char *l;
	cJSON *oa;

	if (get_string(x, k, e, "command", &cmd) < 0)
		return -1;
	if (cmd == NULL || cmd[0] == '\0') {
		free(cmd);
		return refuse(x, "no \"command\" and no \"url\"");
	}
	s = expand_tilde(cmd);
	free(cmd);
	cmd = s;
	if (cmd[0] != '/' && strchr(cmd, '/')) {
		refuse(x, "the command %s is relative to a folder the client "
		    "chooses; write its absolute path", cmd);
		free(cmd);
		return -1;
	}
	cJSON_AddStringToObject(x->out, "command", cmd);
	if (args && !cJSON_IsArray(args)) {
		free(cmd);
		return refuse(x, "\"args\" is not an array");
	}
	if (get_string(x, k, e, "cwd", &s) < 0) {
		free(cmd);
		return -1;
	}
	if (s) {
		cwd = expand_tilde(s);
		free(s);
		if (cwd[0] != '/') {
			refuse(x, "\"cwd\" %s is relative to a folder the "
			    "client chooses; write its absolute path", cwd);
			free(cwd);
			free(cmd);
			return -1;
		}
	}
	oa = args ? cJSON_AddArrayToObject(x->out, "args") : NULL;
	cJSON_ArrayForEach(a, args) {
		if (!cJSON_IsString(a)) {
			refuse(x, "\"args\" holds something that is not a "
			    "string");
			break;
		}
		if ((s = translate_vars(x, k, a->valuestring)) == NULL)
			break;
		/* No shell expands ~ for the client either: the server
		   did, and inside the sandbox ~ is its private home. */
		t = expand_tilde(s);
		if (strcmp(s, t) != 0)
			note(x, "argument %s written as %s", s, t);
		cJSON_AddItemToArray(oa, cJSON_CreateString(t));
		free(s);
		free(t);
	}
	if (x->why == NULL && cwd)
		cJSON_AddStringToObject(x->out, "cwd", cwd);
	if (x->why == NULL)
		copy_strmap(x, k, e, "env", x->out);
	if (x->why == NULL) {
		cJSON_ArrayForEach(a, oa)
			infer_grant(im, x, a->valuestring, cwd,
			    "an argument");
		if (cwd)
			infer_grant(im, x, cwd, NULL, "the working folder");
	}
	if (x->why == NULL && (l = launcher(cmd, args)) != NULL) {
		cJSON *sb = cJSON_GetObjectItemCaseSensitive(x->out, "sandbox");

		if (sb == NULL)
			sb = cJSON_AddObjectToObject(x->out, "sandbox");
		cJSON_AddStringToObject(sb, "home", "private");
		cJSON_AddStringToObject(sb, "network", "full");
		note(x, "network full: needs network for its first download "
		    "(%s fetches the package); narrow it to a list of hosts: "
		    "the package registry and the hosts the server uses", l);
	}
	free(cwd);
	free(cmd);
	return x->why ? -1 : 0;
}

/* A remote entry: "type": "http" with url and headers. */
static int
translate_remote(struct entry *x, enum kind k, const cJSON *e, int sse)
{
	char *url;

	if (cJSON_GetObjectItemCaseSensitive(e, "command"))
		return refuse(x, "both \"url\" and \"command\"");
	if (get_string(x, k, e, "url", &url) < 0)
		return -1;
	cJSON_AddStringToObject(x->out, "type", sse ? "sse" : "http");
	cJSON_AddStringToObject(x->out, "url", url);
	free(url);
	return copy_strmap(x, k, e, "headers", x->out);
}

/* Check the translated entry as corral's config parser would. A variable
   that is unset here may be set where corral runs: only noted. */
static int
validate(struct entry *x, const char *name)
{
	cJSON *top = cJSON_CreateObject(), *s;
	struct config *cf;
	char *text, *err;
	int r;

	s = cJSON_AddObjectToObject(top, "mcpServers");
	cJSON_AddItemReferenceToObject(s, name, x->out);
	text = cJSON_PrintUnformatted(top);
	cJSON_Delete(top);
	r = config_parse(text, strlen(text), NULL, &cf, &err);
	cJSON_free(text);
	if (r == 0) {
		config_free(cf);
		return 0;
	}
	if (strstr(err, "variable is not set")) {
		char *v = strstr(err, "${env:");

		note(x, "%s where corral runs", v ? v : err);
		free(err);
		return 0;
	}
	refuse(x, "corral would refuse it: %s", err);
	free(err);
	return -1;
}

/* Translate one client entry into x->out, or say why not in x->why. */
static void
translate(struct import *im, struct entry *x, enum kind k, const char *name,
    const cJSON *e)
{
	static const char *const keys[] = { "type", "command", "args", "env",
	    "cwd", "url", "headers", "disabled", "envFile", "description",
	    NULL };
	const cJSON *v;
	const char *type;
	int i, remote;

	x->out = cJSON_CreateObject();
	if (!cJSON_IsObject(e)) {
		refuse(x, "not an object");
		return;
	}
	cJSON_ArrayForEach(v, e) {
		for (i = 0; keys[i]; i++)
			if (strcmp(v->string, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			refuse(x, "\"%s\" has no counterpart in corral",
			    v->string);
			return;
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(e, "envFile")) {
		refuse(x, "\"envFile\": corral reads no env files; copy the "
		    "variables into \"env\" (${env:NAME} for secrets)");
		return;
	}
	type = str_of(e, "type");
	if (cJSON_GetObjectItemCaseSensitive(e, "type") && type == NULL) {
		refuse(x, "\"type\" is not a string");
		return;
	}
	if (type && strcmp(type, "http") != 0 && strcmp(type, "sse") != 0 &&
	    strcmp(type, "stdio") != 0) {
		refuse(x, "\"type\": \"%s\" is not one corral knows", type);
		return;
	}
	remote = type ? strcmp(type, "stdio") != 0 :
	    cJSON_GetObjectItemCaseSensitive(e, "url") != NULL;
	if ((remote ? translate_remote(x, k, e, type && strcmp(type, "sse") ==
	    0) :
	    translate_local(im, x, k, e)) < 0)
		return;
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "description"))) {
		if (!cJSON_IsString(v)) {
			refuse(x, "\"description\" is not a string");
			return;
		}
		cJSON_AddStringToObject(x->out, "description", v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(e, "disabled"))) {
		if (!cJSON_IsBool(v)) {
			refuse(x, "\"disabled\" is not true or false");
			return;
		}
		if (cJSON_IsTrue(v))
			cJSON_AddTrueToObject(x->out, "disabled");
	}
	/* Behind corral a local server runs only while it is used. */
	if (!remote)
		cJSON_AddStringToObject(x->out, "start", "lazy");
	validate(x, name);
}

/* A one-line summary of the entry, with secret-looking arguments hidden. */
static char *
summary(const cJSON *out)
{
	const cJSON *a;
	struct buf b;
	int hide = 0;

	if (str_of(out, "url"))
		return xstrdup(str_of(out, "url"));
	buf_init(&b, 0);
	buf_adds(&b, str_of(out, "command"));
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(out, "args")) {
		const char *eq = strchr(a->valuestring, '=');

		if (hide)
			buf_adds(&b, " (hidden)");
		else if (a->valuestring[0] == '-' && eq && secretish(
		    a->valuestring))
			buf_addf(&b, " %.*s=(hidden)", (int)(eq -
			    a->valuestring), a->valuestring);
		else
			buf_addf(&b, " %s", a->valuestring);
		hide = a->valuestring[0] == '-' && eq == NULL &&
		    secretish(a->valuestring);
	}
	return buf_steal(&b, NULL);
}

/* ---- one client file ----------------------------------------------------- */

static void
client_free(struct client *c)
{
	int i;

	for (i = 0; i < c->nsec; i++) {
		free(c->sec[i].label);
		cJSON_Delete(c->sec[i].keep);
	}
	free(c->sec);
	free(c->path);
	free(c->real);
	free(c->text);
	free(c->clean);
	free(c->newtext);
}

static void
add_section(struct client *c, struct jspan sp, char *label, int top)
{
	c->sec = xrealloc(c->sec, (c->nsec + 1) * sizeof(*c->sec));
	memset(&c->sec[c->nsec], 0, sizeof(*c->sec));
	c->sec[c->nsec].span = sp;
	c->sec[c->nsec].label = label;
	c->sec[c->nsec].top = top;
	c->nsec++;
}

/* Find the servers objects of the file by its kind. */
static int
find_sections(struct client *c)
{
	const char *t = c->clean;
	struct jspan sp, mcp, projs, k, v;
	size_t pos = 0;
	int r;

	if (c->settings) {
		if (json_member(t, c->root, "mcp", &mcp) != 1 ||
		    json_type(t, mcp) != JT_OBJECT ||
		    json_member(t, mcp, "servers", &sp) != 1)
			return 0;
		add_section(c, sp, xstrdup("mcp.servers"), 1);
		return 0;
	}
	r = json_member(t, c->root, c->kind == K_VSCODE ? "servers" :
	    "mcpServers", &sp);
	if (r == 1)
		add_section(c, sp, xstrdup(c->kind == K_VSCODE ? "servers" :
		    "mcpServers"), 1);
	else {
		sp.off = sp.len = 0;
		add_section(c, sp, xstrdup(c->kind == K_VSCODE ? "servers" :
		    "mcpServers"), 1);
	}
	if (c->kind != K_CLAUDE_CODE || json_member(t, c->root, "projects",
	    &projs) != 1 || json_type(t, projs) != JT_OBJECT)
		return 0;
	while (json_iter(t, projs, &pos, &k, &v)) {
		char *name;

		if (json_type(t, v) != JT_OBJECT ||
		    json_member(t, v, "mcpServers", &sp) != 1)
			continue;
		name = json_strdup(t, k, NULL);
		add_section(c, sp, xasprintf("project %s", name), 0);
		free(name);
	}
	return 0;
}

/* The line of offset off in text, for messages. */
static int
line_of(const char *text, size_t off)
{
	int line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Read and check a client's file. Returns 0, or -1 after a message. */
static int
client_read(struct import *im, struct client *c)
{
	struct stat st;
	const char *why;
	char *cr;
	size_t off;
	int same;

	if ((c->text = config_read_small(c->path, CLIENT_MAX, &c->len)) ==
	    NULL) {
		logmsg("%s: %s", c->path, errno == ENODATA ? "empty file" :
		    strerror(errno));
		return -1;
	}
	if ((c->real = realpath(c->path, NULL)) == NULL ||
	    stat(c->real, &st) < 0) {
		logmsg("%s: %s", c->path, strerror(errno));
		return -1;
	}
	c->mode = st.st_mode & 07777;
	cr = realpath(im->confpath, NULL);
	same = cr && strcmp(cr, c->real) == 0;
	free(cr);
	if (same) {
		logmsg("%s: this is corral's own config", c->path);
		return -1;
	}
	c->clean = xmalloc(c->len + 1);
	memcpy(c->clean, c->text, c->len + 1);
	if (jsonc_strip(c->clean, c->len, &off) < 0) {
		logmsg("%s: line %d: a comment that is not closed", c->path,
		    line_of(c->text, off));
		return -1;
	}
	if (json_check_unique(c->clean, c->len, 512, &c->root, &why) < 0) {
		logmsg("%s: line %d: %s", c->path, line_of(c->text,
		    c->root.off), why);
		return -1;
	}
	if (json_type(c->clean, c->root) != JT_OBJECT) {
		logmsg("%s: not a JSON object", c->path);
		return -1;
	}
	return 0;
}

/* Guess the kind of a file named by --from from its keys. */
static int
client_guess(struct client *c)
{
	struct jspan v, w;

	if (json_member(c->clean, c->root, "projects", &v) == 1) {
		c->kind = K_CLAUDE_CODE;
	} else if (json_member(c->clean, c->root, "servers", &v) == 1) {
		c->kind = K_VSCODE;
	} else if (json_member(c->clean, c->root, "mcp", &v) == 1 &&
	    json_type(c->clean, v) == JT_OBJECT &&
	    json_member(c->clean, v, "servers", &w) == 1) {
		c->kind = K_VSCODE;
		c->settings = 1;
	} else if (json_member(c->clean, c->root, "mcpServers", &v) == 1) {
		c->kind = K_CLAUDE;
	} else {
		logmsg("%s: no \"mcpServers\", \"servers\" or \"mcp.servers\": "
		    "not a client config corral knows", c->path);
		return -1;
	}
	return 0;
}

/* Is name taken in corral's config, with an entry other than out? 1:
   the same entry is there, 2: another one is, 0: free. */
static int
taken(const struct import *im, const char *name, const cJSON *out)
{
	const cJSON *have = NULL, *top;
	char *a, *b;
	int same;

	top = cJSON_GetObjectItemCaseSensitive(im->conf, "mcpServers");
	if (top)
		have = cJSON_GetObjectItemCaseSensitive(top, name);
	top = cJSON_GetObjectItemCaseSensitive(im->conf, "servers");
	if (have == NULL && top)
		have = cJSON_GetObjectItemCaseSensitive(top, name);
	if (have == NULL)
		return 0;
	a = canon_json(have);
	b = canon_json(out);
	same = strcmp(a, b) == 0;
	free(a);
	free(b);
	return same ? 1 : 2;
}

/* Import the entries of one section; what stays goes to sec->keep. */
static int
import_section(struct import *im, struct client *c, struct section *sec)
{
	cJSON *servers, *e;
	struct entry x;
	char *s;

	sec->keep = cJSON_CreateObject();
	if (sec->span.len == 0)
		return 0;
	if (json_type(c->clean, sec->span) != JT_OBJECT ||
	    (servers = cJSON_ParseWithLength(c->clean + sec->span.off,
	    sec->span.len)) == NULL) {
		logmsg("%s: %s is not an object", c->path, sec->label);
		return -1;
	}
	if (!sec->top && servers->child)
		fprintf(stderr, "  %s:\n", sec->label);
	while ((e = servers->child) != NULL) {
		cJSON_DetachItemViaPointer(servers, e);
		if (is_corral(e)) {
			fprintf(stderr, "  already corral: %s\n", e->string);
			if (sec->top)
				cJSON_Delete(e);
			else
				cJSON_AddItemToObject(sec->keep, e->string, e);
			continue;
		}
		memset(&x, 0, sizeof(x));
		buf_init(&x.notes, 0);
		translate(im, &x, c->kind, e->string, e);
		if (x.why) {
			fprintf(stderr, "  skipped: %s: %s; left in the client\n",
			    e->string, x.why);
			im->nskipped++;
			cJSON_AddItemToObject(sec->keep, e->string, e);
		} else if (taken(im, e->string, x.out) == 2) {
			fprintf(stderr, "  skipped: %s: corral's config has a "
			    "different server of that name; kept corral's, "
			    "left this one in the client\n", e->string);
			im->nskipped++;
			cJSON_AddItemToObject(sec->keep, e->string, e);
		} else {
			int dup = taken(im, e->string, x.out) == 1;

			s = summary(x.out);
			fprintf(stderr, "  %s%s: %s\n", dup ?
			    "already in corral's config: " : "imported: ",
			    e->string, s);
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
			    x.out, "disabled")))
				fprintf(stderr, "    disabled, as in the "
				    "client\n");
			if (buf_used(&x.notes))
				fwrite(buf_head(&x.notes), 1,
				    buf_used(&x.notes), stderr);
			free(s);
			if (!dup) {
				cJSON_AddItemToObject(im->servers, e->string,
				    x.out);
				x.out = NULL;
				im->conf_changed = 1;
				im->nimported++;
				im->ngrants += x.ngrants;
			}
			cJSON_Delete(e);
		}
		cJSON_Delete(x.out);
		free(x.why);
		buf_free(&x.notes);
	}
	cJSON_Delete(servers);
	return 0;
}

/* The indentation of the line holding offset off. */
static size_t
indent_at(const char *t, size_t off, const char **start)
{
	size_t b = off, n = 0;

	while (b > 0 && t[b - 1] != '\n')
		b--;
	*start = t + b;
	while (t[b + n] == ' ' || t[b + n] == '\t')
		n++;
	return n;
}

/* JSON text of j, its lines after the first indented like the line at
   off, so a spliced object sits in the file's layout. */
static char *
print_at(const cJSON *j, const char *t, size_t off)
{
	char *s = cJSON_Print(j), *p;
	const char *ind;
	size_t n = indent_at(t, off, &ind);
	int spaces = n > 0 && ind[0] == ' ';
	struct buf b;

	/* cJSON indents with tabs and puts one after each colon; a string
	   cannot hold a raw tab, so every tab is layout. A file indented
	   with spaces gets two per level. */
	buf_init(&b, 0);
	for (p = s; *p; p++) {
		if (*p == '\t')
			buf_adds(&b, p > s && p[-1] == ':' ? " " : spaces ?
			    "  " : "\t");
		else
			buf_add(&b, p, 1);
		if (*p == '\n')
			buf_add(&b, ind, n);
	}
	cJSON_free(s);
	return buf_steal(&b, NULL);
}

/* Build the client's new text: each section holds what stays, the top
   one the corral entry first. Unchanged sections are left as they are. */
static void
client_rewrite(struct import *im, struct client *c)
{
	struct jedit *ed = xcalloc(c->nsec, sizeof(*ed));
	char **reps = xcalloc(c->nsec, sizeof(char *));
	int i, n = 0, changed = 0;
	struct buf out;

	for (i = 0; i < c->nsec; i++) {
		struct section *sec = &c->sec[i];
		cJSON *old = NULL;
		char *a, *b;

		if (sec->top) {
			cJSON *ce = corral_entry(im->self, im->custom ?
			    im->confpath : NULL, c->kind == K_VSCODE ||
			    c->kind == K_CLAUDE_CODE);

			cJSON_AddItemToObject(sec->keep, "corral", ce);
			/* corral first: the entry a person looks for. */
			cJSON_DetachItemViaPointer(sec->keep, ce);
			ce->next = sec->keep->child;
			if (sec->keep->child) {
				ce->prev = sec->keep->child->prev;
				sec->keep->child->prev = ce;
			} else
				ce->prev = ce;
			sec->keep->child = ce;
		}
		if (sec->span.len)
			old = cJSON_ParseWithLength(c->clean + sec->span.off,
			    sec->span.len);
		a = canon_json(sec->keep);
		b = old ? canon_json(old) : xstrdup("");
		cJSON_Delete(old);
		if (strcmp(a, b) != 0) {
			changed = 1;
			if (sec->span.len) {
				reps[n] = print_at(sec->keep, c->text,
				    sec->span.off);
				ed[n].off = sec->span.off;
				ed[n].len = sec->span.len;
			} else {
				char *o = print_at(sec->keep, "\t", 1);
				struct jspan k, v;
				size_t pos = 0;
				int empty = !json_iter(c->clean, c->root, &pos,
				    &k, &v);

				reps[n] = xasprintf("\n\t\"%s\": %s%s",
				    sec->label, o, empty ? "\n" : ",");
				free(o);
				ed[n].off = c->root.off + 1;
				ed[n].len = 0;
			}
			ed[n].rep = reps[n];
			ed[n].replen = strlen(reps[n]);
			n++;
		}
		free(a);
		free(b);
	}
	if (changed) {
		buf_init(&out, 0);
		json_splice(&out, c->text, c->len, ed, n);
		c->newtext = buf_steal(&out, &c->newlen);
	}
	for (i = 0; i < n; i++)
		free(reps[i]);
	free(reps);
	free(ed);
}

/* Read one client's file, import its servers and plan its rewrite. */
static int
import_client(struct import *im, struct client *c, int guess)
{
	int i;

	if (client_read(im, c) < 0 || (guess && client_guess(c) < 0))
		return -1;
	find_sections(c);
	if (c->nsec == 0) {
		logmsg("%s: no \"mcp\": {\"servers\": ...} in it", c->path);
		return -1;
	}
	fprintf(stderr, "corral: import from %s: %s\n", c->settings ?
	    "VS Code settings" : kind_titles[c->kind], c->path);
	for (i = 0; i < c->nsec; i++)
		if (import_section(im, c, &c->sec[i]) < 0)
			return -1;
	if (cJSON_GetObjectItemCaseSensitive(c->sec[0].keep, "corral")) {
		logmsg("%s: a server the import leaves in the client is named "
		    "\"corral\"; rename it first", c->path);
		return -1;
	}
	client_rewrite(im, c);
	return 0;
}

/* ---- corral's config ----------------------------------------------------- */

/* Load corral's config as `serve` would. A variable it names that is
   unset here may be set where corral runs: try again with a stand-in
   value, so the rest of the file is still checked. */
static int
conf_load(const char *path, char **err)
{
	struct config *cf;
	char *names[64], *p, *e;
	int n = 0, i, r;

	while ((r = config_load(path, &cf, err)) < 0 && n < 64 &&
	    (p = strstr(*err, "${env:")) != NULL &&
	    (e = strstr(p, "}: variable is not set")) != NULL) {
		names[n] = xstrndup(p + 6, e - (p + 6));
		setenv(names[n++], "corral-import", 1);
		free(*err);
	}
	for (i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
	if (r == 0)
		config_free(cf);
	return r;
}

/* Load corral's config when it exists; refuse one that does not load. */
static int
conf_open(struct import *im)
{
	char *err, *text;
	size_t n;

	if (access(im->confpath, F_OK) < 0 && errno == ENOENT) {
		im->conf = cJSON_CreateObject();
		im->servers = cJSON_AddObjectToObject(im->conf, "mcpServers");
		return 0;
	}
	if (conf_load(im->confpath, &err) < 0) {
		logmsg("%s; fix it before importing into it", err);
		free(err);
		return -1;
	}
	if ((text = config_read_small(im->confpath, CLIENT_MAX, &n)) == NULL ||
	    (im->conf = cJSON_ParseWithLength(text, n)) == NULL) {
		logmsg("%s: cannot read it again", im->confpath);
		free(text);
		return -1;
	}
	free(text);
	im->conf_exists = 1;
	if ((im->servers = cJSON_GetObjectItemCaseSensitive(im->conf,
	    "mcpServers")) == NULL && (im->servers =
	    cJSON_GetObjectItemCaseSensitive(im->conf, "servers")) == NULL)
		im->servers = cJSON_AddObjectToObject(im->conf, "mcpServers");
	return 0;
}

/* Back up a file, then replace it; says what it did. */
static int
replace_file(const char *path, const char *old, size_t oldlen, int exists,
    const char *text, size_t len, mode_t mode)
{
	char *bak = NULL;

	if (exists && (bak = backup(path, old, oldlen, mode)) == NULL)
		return -1;
	if (write_atomic(path, text, len, mode) < 0) {
		free(bak);
		return -1;
	}
	if (bak)
		fprintf(stderr, "corral: wrote %s (the old one is %s)\n", path,
		    bak);
	else
		fprintf(stderr, "corral: wrote %s\n", path);
	free(bak);
	return 0;
}

/* Write corral's config, then the clients': a server leaves a client only
   once corral's config holds it. */
static int
write_all(struct import *im, struct client *cl, int ncl)
{
	char *text, *old = NULL, *s;
	size_t oldlen = 0;
	int i, r;

	if (im->conf_changed) {
		/* A trailing newline, as an editor would leave it. */
		s = cJSON_Print(im->conf);
		text = xasprintf("%s\n", s);
		cJSON_free(s);
		if (im->conf_exists)
			old = config_read_small(im->confpath, CLIENT_MAX,
			    &oldlen);
		if ((im->conf_exists && old == NULL) ||
		    make_parent(im->confpath) < 0) {
			if (old == NULL && im->conf_exists)
				logmsg("%s: %s", im->confpath,
				    strerror(errno));
			free(old);
			free(text);
			return -1;
		}
		r = replace_file(im->confpath, old, oldlen, im->conf_exists,
		    text, strlen(text), 0600);
		free(old);
		free(text);
		if (r < 0)
			return -1;
	}
	for (i = 0; i < ncl; i++)
		if (cl[i].newtext && replace_file(cl[i].real, cl[i].text,
		    cl[i].len, 1, cl[i].newtext, cl[i].newlen, cl[i].mode) < 0)
			return -1;
	return 0;
}

int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "write", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct import im;
	struct client cl[5];
	const char *from = NULL, *conf = NULL;
	char *def;
	int ch, doit = 0, ncl = 0, i, k, r = 1, changed;

	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'w':
			doit = 1;
			break;
		default:
			fputs(IMPORT_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(IMPORT_USAGE, stderr);
		return 2;
	}
	memset(&im, 0, sizeof(im));
	memset(cl, 0, sizeof(cl));
	def = config_default_path();
	im.confpath = absolute(conf ? conf : def);
	im.custom = strcmp(im.confpath, def) != 0;
	free(def);
	im.self = self_path();
	if (getenv("HOME") && getenv("HOME")[0] == '/')
		im.home = realpath(getenv("HOME"), NULL);
	if (conf_open(&im) < 0)
		goto out;
	if (from && (k = kind_of(from)) >= 0) {
		cl[0].kind = k;
		cl[0].path = client_path(k, 0);
		if (k == K_VSCODE && access(cl[0].path, F_OK) < 0) {
			free(cl[0].path);
			cl[0].path = client_path(k, 1);
			cl[0].settings = 1;
		}
		ncl = 1;
		if (import_client(&im, &cl[0], 0) < 0)
			goto out;
	} else if (from) {
		cl[0].path = xstrdup(from);
		ncl = 1;
		if (import_client(&im, &cl[0], 1) < 0)
			goto out;
	} else {
		for (k = 0; kind_names[k]; k++) {
			cl[ncl].kind = k;
			cl[ncl].path = client_path(k, 0);
			if (access(cl[ncl].path, F_OK) < 0) {
				free(cl[ncl].path);
				cl[ncl].path = NULL;
				continue;
			}
			if (import_client(&im, &cl[ncl++], 0) < 0)
				goto out;
		}
		if (ncl == 0) {
			logmsg("no client config found; name one with --from");
			goto out;
		}
	}
	changed = im.conf_changed;
	for (i = 0; i < ncl; i++)
		changed |= cl[i].newtext != NULL;
	fprintf(stderr, "corral: %d imported, %d skipped, %d grant%s to "
	    "confirm\n", im.nimported, im.nskipped, im.ngrants,
	    im.ngrants == 1 ? "" : "s");
	if (im.nimported > 0)
		fprintf(stderr, "corral: imported local servers start lazily: "
		    "each starts when first used and stops when idle "
		    "(\"start\": \"eager\" keeps one running)\n");
	if (!doit) {
		char *s = cJSON_Print(im.conf);

		printf("%s\n", s);
		cJSON_free(s);
		fprintf(stderr, changed ? "corral: nothing written; run again "
		    "with --write to apply\n" : "corral: nothing to change\n");
		r = 0;
	} else if (!changed) {
		fprintf(stderr, "corral: nothing to change\n");
		r = 0;
	} else
		r = write_all(&im, cl, ncl) < 0 ? 1 : 0;
out:
	for (i = 0; i < 5; i++)
		client_free(&cl[i]);
	cJSON_Delete(im.conf);
	free(im.confpath);
	free(im.self);
	free(im.home);
	return r;
}

int
cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "for", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf = NULL;
	char *self, *abs = NULL, *def, *s;
	cJSON *top, *servers;
	int ch, k = K_CLAUDE;

	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'f':
			if ((k = kind_of(optarg)) >= 0)
				break;
			/* FALLTHROUGH */
		default:
			fputs(EXPORT_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(EXPORT_USAGE, stderr);
		return 2;
	}
	def = config_default_path();
	if (conf) {
		abs = absolute(conf);
		if (strcmp(abs, def) == 0) {
			free(abs);
			abs = NULL;
		}
	}
	free(def);
	self = self_path();
	top = cJSON_CreateObject();
	servers = cJSON_AddObjectToObject(top, k == K_VSCODE ? "servers" :
	    "mcpServers");
	cJSON_AddItemToObject(servers, "corral", corral_entry(self, abs,
	    k == K_VSCODE || k == K_CLAUDE_CODE));
	s = cJSON_Print(top);
	printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(top);
	free(self);
	free(abs);
	return 0;
}
