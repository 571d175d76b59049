/* The plan: everything a sandboxed child needs, worked out in the parent
   before cloning — which host paths to bind where, the private HOME, the
   environment, the limits — so that the child only runs steps and every
   path decision is made once, on the host's view, with realpath. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "sandbox/sb.h"

/* The read-only subset of /etc: the loader, TLS, name lookup, time. */
static const char *const etc_names[] = {
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates",
	"ca-certificates.conf", "pki", "crypto-policies", "alternatives",
	"hosts", "host.conf", "nsswitch.conf", "gai.conf", "services",
	"protocols", "localtime", "timezone", "mime.types", "os-release",
	NULL
};

/* Files that other programs later execute or load: inside a writable
   tree they stay read-only. */
const char *const sb_protected[] = {
	".bashrc", ".profile", ".bash_profile", ".zshrc", ".gitconfig",
	".git/hooks", ".git/config", ".mcp.json", ".vscode", NULL
};

static const struct sandbox_conf strict;

/* Working state while the plan is built. */
struct ctx {
	struct sb_plan *p;
	const struct sandbox_spec *sp;
	char *home;		/* the user's real home, realpath'd; or NULL */
	char *state;		/* corral's state dir, realpath'd when it exists */
	char **pre;		/* install prefixes to bind read-only */
	int npre;
	char **gro, **grw;	/* grants, realpath'd */
	int ngro, ngrw;
	char **dst;		/* every bind destination, to place HOME */
	int ndst;
	char **wtree;		/* the writable grants, plainly resolved */
	int nwtree;
};

/* How many components path has below dir (which it is under). */
static int
depth_below(const char *path, const char *dir)
{
	const char *s = path + (strcmp(dir, "/") == 0 ? 0 : strlen(dir));
	int n = 0;

	for (; *s; s++)
		if (*s == '/' && s[1] != '\0' && s[1] != '/')
			n++;
	return n;
}

static void
push(char ***v, int *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static void
add(struct sb_plan *p, enum sb_kind kind, int flags, const char *src,
    const char *dst, size_t size, mode_t mode)
{
	struct sb_mount *m;

	p->m = xrealloc(p->m, (p->nm + 1) * sizeof(*p->m));
	m = &p->m[p->nm++];
	m->kind = kind;
	m->flags = flags;
	m->src = src ? xstrdup(src) : NULL;
	m->dst = xstrdup(dst);
	m->size = size;
	m->mode = mode;
	m->fd = -1;
}

char *
sb_state_base(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
	struct passwd *pw;

	if (x && x[0] == '/')
		return xstrdup(x);
	if ((h == NULL || h[0] != '/') && (pw = getpwuid(geteuid())))
		h = pw->pw_dir;
	if (h == NULL || h[0] != '/')
		return NULL;
	return xasprintf("%s/.local/state", h);
}

char *
sb_alias_dir(const char *alias)
{
	char *s = xmalloc(strlen(alias) * 3 + 1), *d = s;
	const unsigned char *a;

	for (a = (const unsigned char *)alias; *a; a++) {
		if ((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') ||
		    (*a >= '0' && *a <= '9') || *a == '_' || *a == '-' ||
		    (*a == '.' && a != (const unsigned char *)alias))
			*d++ = *a;
		else
			d += sprintf(d, "%%%02X", *a);
	}
	*d = '\0';
	return s;
}

/* mkdir -p that follows symlinks: for the user's own state base. */
static int
mkdir_p(const char *path, mode_t mode)
{
	char *s = xstrdup(path), *p;
	int r = 0;

	for (p = s + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(s, mode) < 0 && errno != EEXIST) {
				r = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(s);
	return r;
}

int
sb_home_open(const char *base, const char *rel, int create, int root)
{
	char *r = xstrdup(rel), *comp, *save = NULL;
	struct stat st;
	int dfd, fd, e;

	/* The base is the user's own choice and may be a symlink; below it
	   every component is opened with O_NOFOLLOW, so a link planted
	   there (by a server with a writable grant over it, say) is never
	   followed — not to chown, not to bind. */
	if ((dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 &&
	    errno == ENOENT && create && mkdir_p(base, 0700) == 0)
		dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	for (comp = strtok_r(r, "/", &save); comp;
	    comp = strtok_r(NULL, "/", &save)) {
		if (create && mkdirat(dfd, comp, 0700) < 0 && errno != EEXIST)
			goto fail;
		fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0)
			goto fail;
		close(dfd);
		dfd = fd;
	}
	if (fstat(dfd, &st) < 0)
		goto fail;
	if (create) {
		/* As root only this directory goes to the sandbox's uid; the
		   ones above stay root's. */
		if (root && (st.st_uid != SB_NOBODY ||
		    st.st_gid != SB_NOBODY) &&
		    fchown(dfd, SB_NOBODY, SB_NOBODY) < 0)
			goto fail;
		if (!root && st.st_uid != geteuid()) {
			errno = EPERM;
			goto fail;
		}
		if ((st.st_mode & 07777) != 0700 && fchmod(dfd, 0700) < 0)
			goto fail;
	}
	free(r);
	return dfd;
fail:
	e = errno;
	if (dfd >= 0)
		close(dfd);
	free(r);
	errno = e;
	return -1;
}

/* Is path at or below one of the writable grants? */
static int
in_writable(const struct ctx *c, const char *path)
{
	int i;

	for (i = 0; i < c->nwtree; i++)
		if (path_under(path, c->wtree[i]))
			return 1;
	return 0;
}

/* Resolve path as realpath(3) does, one link at a time, and tell whether
   a symlink on the way lies inside a writable grant: a server can plant
   one there between two starts, to aim a nested grant, the command or an
   interpreter at the user's secrets. Caller frees; NULL with errno. */
static char *
resolve(const struct ctx *c, const char *path, int *planted)
{
	char *todo = xstrdup(path), *done = xstrdup(""), *comp, *rest, *t;
	char target[4096];
	struct stat st;
	int hops = 0, e;
	ssize_t n;

	*planted = 0;
	if (path[0] != '/') {
		errno = EINVAL;
		goto fail;
	}
	for (rest = todo; *rest;) {
		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			break;
		comp = rest;
		rest += strcspn(rest, "/");
		if (*rest)
			*rest++ = '\0';
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if ((t = strrchr(done, '/')) != NULL)
				*t = '\0';
			continue;
		}
		t = xasprintf("%s/%s", done, comp);
		if (lstat(t, &st) < 0) {
			free(t);
			goto fail;
		}
		if (!S_ISLNK(st.st_mode)) {
			free(done);
			done = t;
			continue;
		}
		if (in_writable(c, t))
			*planted = 1;
		if (++hops > 40 || (n = readlink(t, target,
		    sizeof(target) - 1)) < 0) {
			free(t);
			errno = hops > 40 ? ELOOP : errno;
			goto fail;
		}
		free(t);
		target[n] = '\0';
		if (target[0] == '/')
			done[0] = '\0';
		t = xasprintf("%s/%s", target, rest);
		free(todo);
		todo = rest = t;
	}
	free(todo);
	if (done[0] == '\0') {
		free(done);
		done = xstrdup("/");
	}
	return done;
fail:
	e = errno;
	free(todo);
	free(done);
	errno = e;
	return NULL;
}

/* Would binding dir show the user's home, corral's state, or /proc? */
static int
too_wide(const struct ctx *c, const char *dir)
{
	if (strcmp(dir, "/") == 0 || path_under(dir, "/proc"))
		return 1;
	if (c->home && (path_under(c->home, dir) ||
	    (path_under(dir, c->home) && depth_below(dir, c->home) < 2)))
		return 1;
	return c->state && path_under(c->state, dir);
}

/* Bind the install prefix of an executable: the parent of its bin/, or
   its directory, or the file alone, whichever is the first not too
   wide. Nothing for /usr, which is bound already. */
static void
add_prefix(struct ctx *c, const char *path)
{
	char *d = xstrdup(path), *s, *cand = NULL;
	int i;

	if (path[0] != '/' || path_under(path, "/usr"))
		goto out;
	if ((s = strrchr(d, '/')) != NULL)
		*s = '\0';
	if (d[0] == '\0')
		strcpy(d, "/");
	/* A directory that is really under /usr (the usr-merge links /bin,
	   /sbin, /lib*) is visible already, through the links the tree
	   makes; binding it too would mount over such a link. */
	{
		char *real = realpath(d, NULL);
		int sys = real && path_under(real, "/usr");

		free(real);
		if (sys)
			goto out;
	}
	s = strrchr(d, '/');
	if (s && (strcmp(s, "/bin") == 0 || strcmp(s, "/sbin") == 0)) {
		cand = xstrndup(d, s == d ? 1 : (size_t)(s - d));
		if (too_wide(c, cand) || path_under(cand, "/usr")) {
			free(cand);
			cand = NULL;
		}
	}
	if (cand == NULL && !too_wide(c, d))
		cand = xstrdup(d);
	if (cand == NULL)
		cand = xstrdup(path);
	for (i = 0; i < c->npre; i++)
		if (path_under(cand, c->pre[i])) {
			free(cand);
			goto out;
		}
	push(&c->pre, &c->npre, cand);
out:
	free(d);
}

static void add_prog(struct ctx *, const char *, int);

/* Follow a "#!" line: the interpreter, and for "#!/usr/bin/env prog"
   the program env would find on the child's PATH. */
static void
add_interp(struct ctx *c, const char *file, int depth)
{
	char line[256], *w[8], *s, *save = NULL;
	ssize_t n;
	int fd, nw = 0, i;

	if (depth > 4 || (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	for (s = strtok_r(line + 2, " \t", &save); s && nw < 8;
	    s = strtok_r(NULL, " \t", &save))
		w[nw++] = s;
	if (nw == 0 || w[0][0] != '/')
		return;
	add_prog(c, w[0], depth + 1);
	s = strrchr(w[0], '/');
	if (strcmp(s, "/env") != 0)
		return;
	for (i = 1; i < nw; i++) {
		char *found;

		/* env's options, and NAME=VALUE assignments, come first. */
		if (strcmp(w[i], "-u") == 0 || strcmp(w[i], "--unset") == 0) {
			i++;
			continue;
		}
		if (w[i][0] == '-' || strchr(w[i], '='))
			continue;
		if ((found = sandbox_resolve(w[i], c->sp->envp)) != NULL) {
			add_prog(c, found, depth + 1);
			free(found);
		}
		break;
	}
}

/* An executable as named and as resolved, and what runs it. */
static void
add_prog(struct ctx *c, const char *path, int depth)
{
	int planted;
	char *rp = resolve(c, path, &planted);

	/* Inside a writable grant the program is visible already, and its
	   "#!" line and links are the server's to rewrite: bind nothing
	   on their word. */
	if (rp == NULL || planted || in_writable(c, path) ||
	    in_writable(c, rp)) {
		free(rp);
		return;
	}
	add_prefix(c, path);
	add_prefix(c, rp);
	add_interp(c, rp, depth);
	free(rp);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Resolve the grants: realpath at every start, then the same refusals
   as the config's, since the paths may have changed since it loaded. */
static int
grants(struct ctx *c, char *const *g, int n, int rw, char **err)
{
	char *rp;
	int i, planted;

	for (i = 0; i < n; i++) {
		if ((rp = resolve(c, g[i], &planted)) == NULL) {
			*err = xasprintf("grant %s: %s", g[i], strerror(errno));
			return -1;
		}
		if (planted) {
			*err = xasprintf("grant %s: resolves through a symlink "
			    "inside a writable grant, which the server could "
			    "have planted; grant the real path", g[i]);
			free(rp);
			return -1;
		}
		if (strcmp(rp, "/") == 0 ||
		    (c->home && path_under(c->home, rp)) || path_under(rp, "/proc")) {
			*err = xasprintf("grant %s: %s would undo the sandbox",
			    g[i], strcmp(rp, "/") == 0 ? "/" :
			    path_under(rp, "/proc") ? "/proc" :
			    "a path holding your home directory");
			free(rp);
			return -1;
		}
		if (rw)
			push(&c->grw, &c->ngrw, rp);
		else
			push(&c->gro, &c->ngro, rp);
	}
	return 0;
}

/* HOME inside: a path no bind lands in or above. */
static const char *
pick_home(const struct ctx *c)
{
	static const char *const cand[] = { "/home/corral",
	    "/home/corral-sandbox", "/var/lib/corral-home", NULL };
	int i, j;

	for (i = 0; cand[i]; i++) {
		for (j = 0; j < c->ndst; j++)
			if (path_under(c->dst[j], cand[i]) ||
			    path_under(cand[i], c->dst[j]))
				break;
		if (j == c->ndst)
			return cand[i];
	}
	return NULL;
}

/* The generated passwd and group: the sandbox's own user, root and
   nobody, nobody else's names. */
static void
add_passwd(struct ctx *c, const char *user)
{
	struct sb_plan *p = c->p;
	char *pw, *gr;
	struct group *g = p->root ? NULL : getgrgid(p->gid);
	uid_t u = p->root ? SB_NOBODY : p->uid;
	gid_t gi = p->root ? SB_NOBODY : p->gid;

	pw = xasprintf("root:x:0:0:root:/root:/usr/sbin/nologin\n"
	    "%s:x:%u:%u:corral sandbox:%s:/bin/sh\n%s", user, (unsigned)u,
	    (unsigned)gi, p->home, u == SB_NOBODY ? "" :
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	gr = xasprintf("root:x:0:\n%s:x:%u:\n%s",
	    g && g->gr_name ? g->gr_name : user, (unsigned)gi,
	    gi == SB_NOBODY ? "" : "nogroup:x:65534:\n");
	add(p, SB_FILE, 0, pw, "/etc/passwd", 0, 0644);
	add(p, SB_FILE, 0, gr, "/etc/group", 0, 0644);
	free(pw);
	free(gr);
}

/* The fixed part of the tree: system files, /proc, /dev, /tmp. */
static void
add_system(struct ctx *c)
{
	static const char *const top[] = { "bin", "sbin", "lib", "lib64",
	    "lib32", "libx32", NULL };
	static const char *const covers[] = { "/proc/sys",
	    "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", NULL };
	static const char *const nodes[] = { "null", "zero", "full", "random",
	    "urandom", NULL };
	static const char *const links[][2] = { { "/proc/self/fd", "fd" },
	    { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
	    { "/proc/self/fd/2", "stderr" } };
	const struct sandbox_conf *cf = c->p->conf;
	struct sb_plan *p = c->p;
	char path[64], target[4096], *rp;
	struct stat st;
	ssize_t n;
	int i;

	add(p, SB_BIND, SB_RO, "/usr", "/usr", 0, 0);
	/* The usr-merge links stay links; real directories are bound. */
	for (i = 0; top[i]; i++) {
		snprintf(path, sizeof(path), "/%s", top[i]);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode) &&
		    (n = readlink(path, target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			add(p, SB_SYMLINK, 0, target, path, 0, 0);
		} else if (S_ISDIR(st.st_mode)) {
			add(p, SB_BIND, SB_RO, path, path, 0, 0);
		}
	}
	add(p, SB_DIR, 0, NULL, "/etc", 0, 0755);
	for (i = 0; etc_names[i]; i++) {
		snprintf(path, sizeof(path), "/etc/%s", etc_names[i]);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode) &&
		    (n = readlink(path, target, sizeof(target) - 1)) > 0) {
			target[n] = '\0';
			add(p, SB_SYMLINK, 0, target, path, 0, 0);
		} else {
			add(p, SB_BIND, SB_RO | SB_OPTIONAL, path, path, 0, 0);
		}
	}
	/* Name servers only for a server that may use the network; the
	   file is often a link into /run, so bind what it points at. */
	if (cf->net_full && (rp = realpath("/etc/resolv.conf", NULL))) {
		add(p, SB_BIND, SB_RO | SB_OPTIONAL, rp, "/etc/resolv.conf",
		    0, 0);
		free(rp);
	}
	add(p, SB_PROC, 0, NULL, "/proc", 0, 0);
	for (i = 0; covers[i]; i++)
		add(p, SB_COVER, SB_OPTIONAL, NULL, covers[i], 0, 0);
	add(p, SB_TMPFS, SB_NOEXEC, NULL, "/dev", 64 * 1024, 0755);
	for (i = 0; nodes[i]; i++) {
		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		add(p, SB_BIND, SB_DEV | SB_OPTIONAL, path, path, 0, 0);
	}
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "/dev/%s", links[i][1]);
		add(p, SB_SYMLINK, 0, links[i][0], path, 0, 0);
	}
	add(p, SB_TMPFS, 0, NULL, "/dev/shm",
	    cf->shm > 0 ? (size_t)cf->shm : 64UL << 20, 01777);
	add(p, SB_TMPFS, 0, NULL, "/tmp",
	    cf->tmp > 0 ? (size_t)cf->tmp : 1UL << 30, 01777);
}

/* What a server with a host list is told about the proxy: the names
   Node (where it honours NODE_USE_ENV_PROXY), npm, curl, Python, uv and
   Go read, in both cases where programs differ. */
static const char *const proxy_env[] = { "HTTP_PROXY", "HTTPS_PROXY",
	"ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
	"npm_config_proxy", "npm_config_https_proxy", NULL };
static const char *const proxy_env_fixed[] = { "NO_PROXY=", "no_proxy=",
	"NODE_USE_ENV_PROXY=1", NULL };

/* Node before 22.21 ignores NODE_USE_ENV_PROXY, so its fetch() would
   find no network at all. This file, loaded with --require, gives fetch
   a dispatcher that opens each connection as a CONNECT tunnel through
   the proxy (TLS inside it for https). It changes nothing where fetch
   already has a dispatcher of another kind (a Node that reads the proxy
   variables itself) and never stops the program on an error. */
#define NODE_PROXY_JS	"/etc/corral-fetch-proxy.cjs"
static const char node_proxy_js[] =
"'use strict';\n"
"// corral: fetch() through the egress proxy (CONNECT), for Node versions\n"
"// that ignore NODE_USE_ENV_PROXY.\n"
"try {\n"
"  (() => {\n"
"    const p = process.env.HTTPS_PROXY || process.env.HTTP_PROXY;\n"
"    if (!p || typeof globalThis.fetch !== 'function') return;\n"
"    const sym = Symbol.for('undici.globalDispatcher.1');\n"
"    if (globalThis[sym] === undefined)\n"
"      globalThis.fetch('http://127.0.0.1:9/',\n"
"        { signal: AbortSignal.abort() }).catch(() => {});\n"
"    const cur = globalThis[sym];\n"
"    if (!cur || cur.constructor.name !== 'Agent') return;\n"
"    const net = require('node:net');\n"
"    const tls = require('node:tls');\n"
"    const proxy = new URL(p);\n"
"    const connect = (o, cb) => {\n"
"      const port = o.port || (o.protocol === 'https:' ? 443 : 80);\n"
"      const host = o.hostname.includes(':') && !o.hostname.startsWith('[')\n"
"        ? `[${o.hostname}]` : o.hostname;\n"
"      const s = net.connect(Number(proxy.port || 80), proxy.hostname);\n"
"      let head = '';\n"
"      const fail = (e) => { s.destroy(); cb(e); };\n"
"      s.once('error', fail);\n"
"      s.once('connect', () => s.write(`CONNECT ${host}:${port} HTTP/1.1\\r\\n` +\n"
"        `Host: ${host}:${port}\\r\\n\\r\\n`));\n"
"      const onData = (d) => {\n"
"        head += d.toString('latin1');\n"
"        const end = head.indexOf('\\r\\n\\r\\n');\n"
"        if (end < 0) {\n"
"          if (head.length > 16384) fail(new Error('proxy: answer too long'));\n"
"          return;\n"
"        }\n"
"        s.removeListener('data', onData);\n"
"        s.removeListener('error', fail);\n"
"        const line = head.slice(0, head.indexOf('\\r\\n'));\n"
"        if (!/^HTTP\\/1\\.[01] 200/.test(line)) {\n"
"          s.destroy();\n"
"          cb(new Error(`proxy refused ${host}:${port}: ${line}`));\n"
"          return;\n"
"        }\n"
"        if (o.protocol !== 'https:') { cb(null, s); return; }\n"
"        const sn = o.servername || (net.isIP(o.hostname) ? '' : o.hostname);\n"
"        const t = tls.connect({ socket: s, host: o.hostname,\n"
"          ALPNProtocols: ['http/1.1'], ...(sn ? { servername: sn } : {}) });\n"
"        t.once('secureConnect', () => cb(null, t));\n"
"        t.once('error', (e) => cb(e));\n"
"      };\n"
"      s.on('data', onData);\n"
"    };\n"
"    globalThis[sym] = new cur.constructor({ connect });\n"
"  })();\n"
"} catch (e) { /* fetch stays as it was: without a network */ }\n";

/* Is e (NAME=value) one of the variables we set ourselves? */
static int
ours_env(const struct sb_plan *p, const char *e)
{
	static const char *const ours[] = { "HOME", "USER", "TERM", "TMPDIR",
	    NULL };
	size_t n = strcspn(e, "=");
	int k;

	for (k = 0; ours[k]; k++)
		if (strlen(ours[k]) == n && strncmp(e, ours[k], n) == 0)
			return 1;
	for (k = 0; p->egress && proxy_env[k]; k++)
		if (strlen(proxy_env[k]) == n && strncmp(e, proxy_env[k], n) == 0)
			return 1;
	for (k = 0; p->egress && proxy_env_fixed[k]; k++)
		if (strcspn(proxy_env_fixed[k], "=") == n &&
		    strncmp(e, proxy_env_fixed[k], n) == 0)
			return 1;
	if (p->egress && n == 12 && strncmp(e, "NODE_OPTIONS", 12) == 0)
		return 1;
	return 0;
}

/* The environment: the allow-listed one corral built, with HOME, USER,
   TERM and TMPDIR set to what holds inside, and with a host list the
   proxy's address. */
static void
add_env(struct ctx *c, const char *user, const char *tmpdir)
{
	char *const *e = c->sp->envp;
	struct sb_plan *p = c->p;
	int n = 0, i, k;

	for (i = 0; e && e[i]; i++)
		;
	p->envp = xcalloc(i + 16, sizeof(char *));
	for (i = 0; e && e[i]; i++)
		if (!ours_env(p, e[i]))
			p->envp[n++] = xstrdup(e[i]);
	p->envp[n++] = xasprintf("HOME=%s", p->home);
	p->envp[n++] = xasprintf("USER=%s", user);
	p->envp[n++] = xstrdup("TERM=dumb");
	p->envp[n++] = xasprintf("TMPDIR=%s", tmpdir);
	for (k = 0; p->egress && proxy_env[k]; k++)
		p->envp[n++] = xasprintf("%s=http://127.0.0.1:%d",
		    proxy_env[k], SB_PROXY_PORT);
	for (k = 0; p->egress && proxy_env_fixed[k]; k++)
		p->envp[n++] = xstrdup(proxy_env_fixed[k]);
	if (p->egress) {
		/* The server's own options, then ours. */
		const char *own = NULL;

		for (i = 0; e && e[i]; i++)
			if (strncmp(e[i], "NODE_OPTIONS=", 13) == 0)
				own = e[i] + 13;
		p->envp[n++] = xasprintf("NODE_OPTIONS=%s%s--require=%s",
		    own ? own : "", own && *own ? " " : "", NODE_PROXY_JS);
	}
	p->envp[n] = NULL;
}

/* corral-ALIAS, as a host name may be spelled, at most 64 bytes. */
static char *
hostname_for(const char *alias)
{
	char *h = xasprintf("corral-%.57s", alias), *s;

	for (s = h + 7; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-'))
			*s = '-';
	return h;
}

static void
ctx_free(struct ctx *c)
{
	int i;

	free(c->home);
	free(c->state);
	for (i = 0; i < c->npre; i++)
		free(c->pre[i]);
	for (i = 0; i < c->ngro; i++)
		free(c->gro[i]);
	for (i = 0; i < c->ngrw; i++)
		free(c->grw[i]);
	for (i = 0; i < c->nwtree; i++)
		free(c->wtree[i]);
	free(c->wtree);
	free(c->pre);
	free(c->gro);
	free(c->grw);
	free(c->dst);
}

/* The user's name for passwd and USER. */
static char *
user_name(const struct sb_plan *p)
{
	struct passwd *pw;
	const char *u;

	if (p->root)
		return xstrdup("corral");
	if ((pw = getpwuid(p->uid)) && pw->pw_name[0])
		return xstrdup(pw->pw_name);
	u = getenv("USER");
	return xstrdup(u && *u && !strchr(u, ':') ? u : "user");
}

/* The degraded tier's lists: no mounts, so Landlock names each place. */
static void
degraded_lists(struct ctx *c, const char *tmpdir)
{
	static const char *const sys[] = { "/usr", "/bin", "/sbin", "/lib",
	    "/lib64", "/lib32", "/proc", "/etc/passwd", "/etc/group", NULL };
	static const char *const nodes[] = { "/dev/null", "/dev/zero",
	    "/dev/full", "/dev/random", "/dev/urandom", NULL };
	struct sb_plan *p = c->p;
	int i;

	for (i = 0; sys[i]; i++)
		push(&p->ro, &p->nro, xstrdup(sys[i]));
	for (i = 0; etc_names[i]; i++)
		push(&p->ro, &p->nro, xasprintf("/etc/%s", etc_names[i]));
	if (p->conf->net_full)
		push(&p->ro, &p->nro, xstrdup("/etc/resolv.conf"));
	for (i = 0; i < c->npre; i++)
		push(&p->ro, &p->nro, xstrdup(c->pre[i]));
	for (i = 0; i < c->ngro; i++)
		push(&p->ro, &p->nro, xstrdup(c->gro[i]));
	push(&p->rw, &p->nrw, xstrdup(p->home));
	push(&p->rw, &p->nrw, xstrdup(tmpdir));
	for (i = 0; i < c->ngrw; i++)
		push(&p->rw, &p->nrw, xstrdup(c->grw[i]));
	for (i = 0; nodes[i]; i++)
		push(&p->dev, &p->ndev, xstrdup(nodes[i]));
}

/* The namespaced tier's tree, after the system part. */
static int
ns_tree(struct ctx *c, char **err)
{
	struct sb_plan *p = c->p;
	const char *home;
	int i, j;

	for (i = 0; i < c->npre; i++)
		push(&c->dst, &c->ndst, c->pre[i]);
	for (i = 0; i < c->ngro; i++)
		push(&c->dst, &c->ndst, c->gro[i]);
	for (i = 0; i < c->ngrw; i++)
		push(&c->dst, &c->ndst, c->grw[i]);
	if ((home = pick_home(c)) == NULL) {
		*err = xasprintf("home: every HOME path is taken by a grant");
		return -1;
	}
	p->home = xstrdup(home);
	if (p->home_rel)
		add(p, SB_HOME, 0, p->home_rel, p->home, 0, 0);
	else
		add(p, SB_TMPFS, 0, NULL, p->home,
		    p->conf->tmp > 0 ? (size_t)p->conf->tmp : 1UL << 30, 0700);
	for (i = 0; i < c->npre; i++)
		add(p, SB_BIND, SB_RO, c->pre[i], c->pre[i], 0, 0);
	/* Grants in path order, parents before children; a path granted
	   both ways is writable. */
	if (c->ngro > 1)
		qsort(c->gro, c->ngro, sizeof(char *), cmp_str);
	if (c->ngrw > 1)
		qsort(c->grw, c->ngrw, sizeof(char *), cmp_str);
	for (i = 0, j = 0; i < c->ngro || j < c->ngrw;) {
		int d = i == c->ngro ? 1 : j == c->ngrw ? -1 :
		    strcmp(c->gro[i], c->grw[j]);

		if (d < 0) {
			add(p, SB_BIND, SB_RO, c->gro[i], c->gro[i], 0, 0);
			i++;
		} else {
			add(p, SB_BIND, SB_PROTECT, c->grw[j], c->grw[j], 0,
			    0);
			i += d == 0;
			j++;
		}
	}
	push(&p->ro, &p->nro, xstrdup("/"));
	push(&p->rw, &p->nrw, xstrdup("/tmp"));
	push(&p->rw, &p->nrw, xstrdup("/dev/shm"));
	push(&p->rw, &p->nrw, xstrdup(p->home));
	for (i = 0; i < c->ngrw; i++)
		push(&p->rw, &p->nrw, xstrdup(c->grw[i]));
	push(&p->dev, &p->ndev, xstrdup("/dev"));
	return 0;
}

int
sb_plan_build(const struct sandbox_spec *sp, int degraded, struct sb_plan *p,
    char **err)
{
	struct ctx c;
	const char *h = getenv("HOME");
	char *adir, *user = NULL, *tmpdir = NULL, *rel;
	int fd, r = -1, i;

	memset(p, 0, sizeof(*p));
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.sp = sp;
	p->alias = sp->alias;
	p->conf = sp->conf ? sp->conf : &strict;
	p->degraded = degraded;
	p->root = geteuid() == 0;
	p->uid = p->root ? SB_NOBODY : geteuid();
	p->gid = p->root ? SB_NOBODY : getegid();
	p->netns = !p->conf->net_full;
	p->egress = p->conf->nnet > 0 && !p->conf->net_full;
	if (p->egress && degraded) {
		*err = xasprintf("network: a list of hosts needs the network "
		    "namespace, which this machine cannot give (see corral "
		    "doctor)");
		goto out;
	}
	p->argv = sp->argv;
	sb_limits_init(p->lim, p->conf);
	c.home = h && h[0] == '/' ? realpath(h, NULL) : NULL;
	if ((p->state = sb_state_base()) == NULL) {
		*err = xasprintf("home: neither XDG_STATE_HOME nor HOME is "
		    "set");
		goto out;
	}
	adir = sb_alias_dir(sp->alias);
	if (!p->conf->home_ephemeral || degraded) {
		p->home_rel = xasprintf("corral/servers/%s/home", adir);
		if ((fd = sb_home_open(p->state, p->home_rel, 1, p->root)) < 0) {
			const char *hint = sb_hint("home ", errno);

			*err = xasprintf("home %s/%s: %s%s%s", p->state,
			    p->home_rel, strerror(errno), hint ? "; " : "",
			    hint ? hint : "");
			free(adir);
			goto out;
		}
		close(fd);
	}
	if (degraded) {
		rel = xasprintf("corral/servers/%s/tmp", adir);
		if ((fd = sb_home_open(p->state, rel, 1, p->root)) < 0) {
			*err = xasprintf("tmp %s/%s: %s", p->state, rel,
			    strerror(errno));
			free(rel);
			free(adir);
			goto out;
		}
		close(fd);
		tmpdir = xasprintf("%s/%s", p->state, rel);
		free(rel);
	}
	free(adir);
	rel = xasprintf("%s/corral", p->state);
	c.state = realpath(rel, NULL);
	free(rel);
	for (i = 0; i < p->conf->nrw; i++)
		if ((rel = realpath(p->conf->rw[i], NULL)) != NULL)
			push(&c.wtree, &c.nwtree, rel);
	if (grants(&c, p->conf->rw, p->conf->nrw, 1, err) < 0 ||
	    grants(&c, p->conf->ro, p->conf->nro, 0, err) < 0)
		goto out;
	add_prog(&c, sp->path, 0);
	p->path = xstrdup(sp->path);
	p->hostname = hostname_for(sp->alias);
	user = user_name(p);
	if (sp->cwd)
		p->cwd = realpath(sp->cwd, NULL);
	if (sp->cwd && p->cwd == NULL)
		p->cwd = xstrdup(sp->cwd);
	if (degraded) {
		p->home = xasprintf("%s/%s", p->state, p->home_rel);
		degraded_lists(&c, tmpdir);
		add_env(&c, user, tmpdir);
	} else {
		add_system(&c);
		if (ns_tree(&c, err) < 0)
			goto out;
		add_passwd(&c, user);
		if (p->egress)
			add(p, SB_FILE, 0, node_proxy_js, NODE_PROXY_JS, 0,
			    0644);
		add_env(&c, user, "/tmp");
	}
	r = 0;
out:
	free(user);
	free(tmpdir);
	ctx_free(&c);
	if (r < 0)
		sb_plan_free(p);
	return r;
}

static void
freev(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
sb_plan_free(struct sb_plan *p)
{
	int i;

	for (i = 0; i < p->nm; i++) {
		free(p->m[i].src);
		free(p->m[i].dst);
		if (p->m[i].fd >= 0)
			close(p->m[i].fd);
	}
	free(p->m);
	free(p->home);
	free(p->state);
	free(p->home_rel);
	free(p->hostname);
	free(p->path);
	free(p->cwd);
	for (i = 0; p->envp && p->envp[i]; i++)
		free(p->envp[i]);
	free(p->envp);
	freev(p->ro, p->nro);
	freev(p->rw, p->nrw);
	freev(p->dev, p->ndev);
	memset(p, 0, sizeof(*p));
}
