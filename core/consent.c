/* Consent: prompts through elicitation, the terminal, a desktop dialog or
   a configured command; nothing here blocks the loop. A pending prompt
   holds only its own calls. */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/broker.h"
#include "core/canon.h"
#include "core/consent.h"
#include "core/state.h"
#include "core/util.h"

#define CONSENT_FILE "consent.json"
#define ARGS_SHOWN 800

static const char *const answers[] = { "deny", "allow once",
	"allow for this session", "always allow" };

static void next_channel(struct prompt *);
static void prompt_done(struct prompt *, enum answer, const char *via);

const char *
consent_answer_word(enum answer a)
{
	return answers[a];
}

/* --- the store of "always" ---------------------------------------------- */

void
consent_store_load(cJSON **store)
{
	char *text = NULL, *err = NULL;
	size_t len;
	int r = state_read(CONSENT_FILE, &text, &len, &err);

	*store = NULL;
	if (r < 0) {
		logmsg("%s; no remembered decisions apply", err);
		free(err);
	} else if (r > 0) {
		*store = cJSON_ParseWithLength(text, len);
		if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*store,
		    "always"))) {
			logmsg(CONSENT_FILE " is corrupt; no remembered "
			    "decisions apply (kept as " CONSENT_FILE
			    ".corrupt)");
			state_keep_aside(CONSENT_FILE);
			cJSON_Delete(*store);
			*store = NULL;
		}
	}
	free(text);
	if (*store == NULL) {
		*store = cJSON_CreateObject();
		cJSON_AddArrayToObject(*store, "always");
	}
}

int
consent_store_save(const cJSON *store, char **err)
{
	char *s = cJSON_Print(store);
	int r = state_write(CONSENT_FILE, s, strlen(s), err);

	cJSON_free(s);
	return r;
}

static int
str_is(const cJSON *o, const char *k, const char *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(x) && strcmp(x->valuestring, v) == 0;
}

int
consent_store_has(const cJSON *store, const char *alias, const char *tool,
    const char *pin)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(store,
	    "always"))
		if (str_is(e, "server", alias) && str_is(e, "tool", tool) &&
		    str_is(e, "pin", pin))
			return 1;
	return 0;
}

void
consent_store_add(cJSON *store, const char *alias, const char *tool,
    const char *exposed, const char *pin)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(store, "always"), *e, *n;
	char at[32];
	time_t t = time(NULL);
	struct tm tm;

	/* One entry per server and tool: a new pin replaces the old one. */
	for (e = arr->child; e; e = n) {
		n = e->next;
		if (str_is(e, "server", alias) && str_is(e, "tool", tool))
			cJSON_Delete(cJSON_DetachItemViaPointer(arr, e));
	}
	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "server", alias);
	cJSON_AddStringToObject(e, "tool", tool);
	cJSON_AddStringToObject(e, "name", exposed);
	cJSON_AddStringToObject(e, "pin", pin);
	cJSON_AddStringToObject(e, "at", at);
	cJSON_AddItemToArray(arr, e);
}

/* --- the prompt text ----------------------------------------------------- */

static char *
render(struct broker *b, struct prompt *p, const cJSON *def)
{
	struct child *c = &b->children[p->child];
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(def, "title");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(def, "annotations");
	const cJSON *v;
	struct buf o;
	char *a;
	size_t n;

	buf_init(&o, 0);
	buf_addf(&o, "Server \"%s\" wants to run the tool ", c->conf->alias);
	if (cJSON_IsString(title))
		buf_addf(&o, "\"%s\" (%s)", title->valuestring, p->tool);
	else
		buf_addf(&o, "\"%s\"", p->tool);
	buf_adds(&o, ".\n");
	if (p->changed)
		buf_adds(&o, "CHANGED since you approved it: its definition "
		    "or the server's instructions are not what was pinned "
		    "(see: corral pins diff).\n");
	a = p->args ? cJSON_PrintUnformatted(p->args) : NULL;
	n = a ? strlen(a) : 0;
	if (n > ARGS_SHOWN)
		buf_addf(&o, "Arguments: %.*s... (%zu more bytes)\n", ARGS_SHOWN,
		    a, n - ARGS_SHOWN);
	else
		buf_addf(&o, "Arguments: %s\n", a ? a : "{}");
	cJSON_free(a);
	if (cJSON_IsObject(ann)) {
		buf_adds(&o, "Annotations:");
		cJSON_ArrayForEach(v, ann) {
			if (cJSON_IsBool(v))
				buf_addf(&o, " %s=%s", v->string,
				    cJSON_IsTrue(v) ? "true" : "false");
		}
		buf_adds(&o, "\n");
	}
	return buf_steal(&o, NULL);
}

/* --- the channels -------------------------------------------------------- */

static void
elicit_done(struct broker *b, struct creq *q, const char *msg, size_t len,
    const struct jspan *result, const struct jspan *error)
{
	struct prompt *p = q->arg;
	cJSON *res, *action, *dec;
	int i;

	(void)b;
	(void)len;
	p->hid = -1;
	if (error) {
		/* The host could not show it: try the next channel. */
		p->chan++;
		next_channel(p);
		return;
	}
	res = cJSON_ParseWithLength(msg + result->off, result->len);
	action = cJSON_GetObjectItemCaseSensitive(res, "action");
	dec = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(res, "content"), "decision");
	if (cJSON_IsString(action) && strcmp(action->valuestring, "accept") ==
	    0 && cJSON_IsString(dec)) {
		for (i = 0; i < 4; i++)
			if (strcmp(dec->valuestring, answers[i]) == 0)
				break;
		cJSON_Delete(res);
		prompt_done(p, i < 4 ? (enum answer)i : ANS_DENY, "elicitation");
		return;
	}
	cJSON_Delete(res);
	prompt_done(p, ANS_DENY, "elicitation");
}

static int
host_can_elicit(struct broker *b)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(b->host_caps,
	    "elicitation");

	if (!b->host_ready || !cJSON_IsObject(e))
		return 0;
	return e->child == NULL ||
	    cJSON_GetObjectItemCaseSensitive(e, "form") != NULL;
}

static int
try_elicitation(struct prompt *p)
{
	struct broker *b = p->b;
	cJSON *params, *schema, *props, *d, *en;
	struct creq *q;
	char *msg;
	int i;

	if (!host_can_elicit(b))
		return 0;
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "mode", "form");
	msg = xasprintf("[corral] %s", p->text);
	cJSON_AddStringToObject(params, "message", msg);
	free(msg);
	schema = cJSON_AddObjectToObject(params, "requestedSchema");
	cJSON_AddStringToObject(schema, "type", "object");
	props = cJSON_AddObjectToObject(schema, "properties");
	d = cJSON_AddObjectToObject(props, "decision");
	cJSON_AddStringToObject(d, "type", "string");
	cJSON_AddStringToObject(d, "title", "Decision");
	en = cJSON_AddArrayToObject(d, "enum");
	for (i = 1; i <= 3; i++)
		cJSON_AddItemToArray(en, cJSON_CreateString(answers[i]));
	cJSON_AddItemToArray(en, cJSON_CreateString(answers[0]));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(schema, "required"),
	    cJSON_CreateString("decision"));
	q = xcalloc(1, sizeof(*q));
	q->child = -1;
	q->done = elicit_done;
	q->arg = p;
	p->hid = broker_host_request(b, "elicitation/create", params, q);
	return 1;
}

static void
tty_close(struct prompt *p)
{
	if (p->tty_fd < 0)
		return;
	ev_io_stop(p->b->loop, &p->tty_io);
	close(p->tty_fd);
	p->tty_fd = -1;
	buf_free(&p->tty_in);
	if (p->b->tty_owner == p)
		p->b->tty_owner = NULL;
}

static void tty_start(struct prompt *);

/* Hand the terminal to the next prompt waiting for it. */
static void
tty_release(struct broker *b)
{
	struct prompt *n = b->tty_queue;

	if (b->tty_owner || n == NULL)
		return;
	b->tty_queue = n->next_tty;
	n->next_tty = NULL;
	n->tty_waiting = 0;
	tty_start(n);
}

static void
tty_ask(struct prompt *p)
{
	char *s = xasprintf("\ncorral: %s"
	    "Allow? [o]nce, [s]ession, [a]lways, [d]eny: ", p->text);

	if (write(p->tty_fd, s, strlen(s)) < 0) {
		/* the answer read below fails too */
	}
	free(s);
}

static void
tty_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct prompt *p = w->data;
	char *dst, *nl, *line;
	ssize_t n;
	enum answer a;

	(void)loop;
	(void)revents;
	if ((dst = buf_reserve(&p->tty_in, 256)) == NULL) {
		buf_reset(&p->tty_in);
		return;
	}
	n = read(p->tty_fd, dst, 256);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tty_close(p);
		tty_release(p->b);
		prompt_done(p, ANS_DENY, "tty");
		return;
	}
	buf_commit(&p->tty_in, n);
	while ((nl = memchr(buf_head(&p->tty_in), '\n',
	    buf_used(&p->tty_in))) != NULL) {
		line = xstrndup(buf_head(&p->tty_in), nl - buf_head(&p->tty_in));
		buf_consume(&p->tty_in, nl - buf_head(&p->tty_in) + 1);
		switch (line[0]) {
		case 'o': case 'O': case 'y': case 'Y':
			a = ANS_ONCE;
			break;
		case 's': case 'S':
			a = ANS_SESSION;
			break;
		case 'a': case 'A':
			a = ANS_ALWAYS;
			break;
		case 'd': case 'D': case 'n': case 'N':
			a = ANS_DENY;
			break;
		default:
			free(line);
			tty_ask(p);
			continue;
		}
		free(line);
		tty_close(p);
		tty_release(p->b);
		prompt_done(p, a, "tty");
		return;
	}
}

static void
tty_start(struct prompt *p)
{
	struct broker *b = p->b;

	p->tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC |
	    O_NONBLOCK);
	if (p->tty_fd < 0) {
		p->chan++;
		next_channel(p);
		return;
	}
	b->tty_owner = p;
	buf_init(&p->tty_in, 4096);
	ev_io_init(&p->tty_io, tty_cb, p->tty_fd, EV_READ);
	p->tty_io.data = p;
	ev_io_start(b->loop, &p->tty_io);
	tty_ask(p);
}

static int
try_tty(struct prompt *p)
{
	struct broker *b = p->b;
	int fd;

	/* Is there a terminal at all? */
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	close(fd);
	if (b->tty_owner) {
		struct prompt **pp = &b->tty_queue;

		while (*pp)
			pp = &(*pp)->next_tty;
		*pp = p;
		p->tty_waiting = 1;
		return 1;
	}
	tty_start(p);
	return 1;
}

static void
proc_close(struct prompt *p)
{
	if (p->dfd >= 0) {
		ev_io_stop(p->b->loop, &p->dio);
		close(p->dfd);
		p->dfd = -1;
	}
	if (p->dpid > 0) {
		ev_child_stop(p->b->loop, &p->dcw);
		kill(p->dpid, SIGKILL);
		p->dpid = 0;
	}
	buf_free(&p->dout);
}

static void
proc_out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct prompt *p = w->data;
	char *dst;
	ssize_t n;

	(void)revents;
	if ((dst = buf_reserve(&p->dout, 256)) == NULL) {
		ev_io_stop(loop, w);
		return;
	}
	n = read(p->dfd, dst, 256);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ev_io_stop(loop, w);
		close(p->dfd);
		p->dfd = -1;
		return;
	}
	buf_commit(&p->dout, n);
}

static void
proc_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct prompt *p = w->data;
	int st = w->rstatus, i;
	const char *via = p->b->cf->channels[p->chan] == CONSENT_COMMAND ?
	    "command" : "dialog";
	enum answer a = ANS_DENY;
	char *out;

	(void)revents;
	ev_child_stop(loop, w);
	p->dpid = 0;
	/* Take the rest of what it printed. */
	while (p->dfd >= 0) {
		char *dst = buf_reserve(&p->dout, 256);
		ssize_t n = dst ? read(p->dfd, dst, 256) : -1;

		if (n <= 0)
			break;
		buf_commit(&p->dout, n);
	}
	out = buf_steal(&p->dout, NULL);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		/* It could not run at all: not an answer. */
		free(out);
		proc_close(p);
		logmsg("consent: the %s program could not run; trying the "
		    "next channel", via);
		p->chan++;
		next_channel(p);
		return;
	}
	if (strcmp(via, "command") == 0) {
		if (WIFEXITED(st)) {
			switch (WEXITSTATUS(st)) {
			case 0: a = ANS_ONCE; break;
			case 10: a = ANS_SESSION; break;
			case 11: a = ANS_ALWAYS; break;
			default: a = ANS_DENY;
			}
		}
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		out[strcspn(out, "\r\n")] = '\0';
		for (i = 0; i < 4; i++)
			if (strcmp(out, answers[i]) == 0 ||
			    (i == 1 && strcmp(out, "once") == 0) ||
			    (i == 2 && strcmp(out, "session") == 0) ||
			    (i == 3 && strcmp(out, "always") == 0))
				a = (enum answer)i;
	}
	free(out);
	proc_close(p);
	prompt_done(p, a, via);
}

/* Run argv with envp, stdout to a pipe we read, stdin from /dev/null;
   never corral's own stdout. */
static int
proc_start(struct prompt *p, char *const argv[], char *const envp[])
{
	int out[2], nul;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return 0;
	pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		return 0;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		setsid();
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(out[1]);
	fd_nonblock(out[0]);
	p->dpid = pid;
	p->dfd = out[0];
	buf_init(&p->dout, 4096);
	ev_io_init(&p->dio, proc_out_cb, p->dfd, EV_READ);
	p->dio.data = p;
	ev_io_start(p->b->loop, &p->dio);
	ev_child_init(&p->dcw, proc_exit_cb, pid, 0);
	p->dcw.data = p;
	ev_child_start(p->b->loop, &p->dcw);
	return 1;
}

extern char **environ;

static char *
find_prog(const char *name)
{
	return sandbox_resolve(name, environ);
}

static int
try_dialog(struct prompt *p)
{
	char *prog, *text;
	int r;

	if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
		return 0;
	text = xasprintf("corral: %s", p->text);
	if ((prog = find_prog("zenity")) != NULL) {
		char *argv[] = { prog, "--list", "--radiolist", "--title",
		    "corral", "--text", text, "--hide-header", "--column", "",
		    "--column", "decision", "TRUE", "allow once", "FALSE",
		    "allow for this session", "FALSE", "always allow", "FALSE",
		    "deny", NULL };

		r = proc_start(p, argv, environ);
	} else if ((prog = find_prog("kdialog")) != NULL) {
		char *argv[] = { prog, "--title", "corral", "--radiolist",
		    text, "once", "allow once", "on", "session",
		    "allow for this session", "off", "always", "always allow",
		    "off", "deny", "deny", "off", NULL };

		r = proc_start(p, argv, environ);
	} else {
		r = 0;
	}
	free(prog);
	free(text);
	return r;
}

static int
try_command(struct prompt *p)
{
	struct broker *b = p->b;
	char **env, *a;
	int n = 0, i, r;

	if (b->cf->consent_cmd == NULL)
		return 0;
	for (i = 0; environ[i]; i++)
		;
	env = xcalloc(i + 8, sizeof(char *));
	for (i = 0; environ[i]; i++)
		if (strncmp(environ[i], "CORRAL_", 7) != 0)
			env[n++] = environ[i];
	a = p->args ? cJSON_PrintUnformatted(p->args) : xstrdup("{}");
	env[n++] = xasprintf("CORRAL_SERVER=%s",
	    b->children[p->child].conf->alias);
	env[n++] = xasprintf("CORRAL_TOOL=%s", p->tool);
	env[n++] = xasprintf("CORRAL_NAME=%s", p->exposed);
	env[n++] = xasprintf("CORRAL_ARGUMENTS=%s", a);
	env[n++] = xasprintf("CORRAL_CHANGED=%d", p->changed);
	env[n++] = xasprintf("CORRAL_PROMPT=%s", p->text);
	env[n] = NULL;
	cJSON_free(a);
	r = proc_start(p, b->cf->consent_cmd, env);
	for (i = n - 6; i < n; i++)
		free(env[i]);
	free(env);
	return r;
}

/* Try the channels in order from p->chan; none left means no. */
static void
next_channel(struct prompt *p)
{
	struct broker *b = p->b;
	int ok = 0;

	for (; p->chan < b->cf->nchannels; p->chan++) {
		switch (b->cf->channels[p->chan]) {
		case CONSENT_ELICITATION:
			ok = try_elicitation(p);
			break;
		case CONSENT_TTY:
			ok = try_tty(p);
			break;
		case CONSENT_DIALOG:
			ok = try_dialog(p);
			break;
		case CONSENT_COMMAND:
			ok = try_command(p);
			break;
		}
		if (ok) {
			static const char *const names[] = { "elicitation",
			    "tty", "dialog", "command" };
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "server",
			    b->children[p->child].conf->alias);
			cJSON_AddStringToObject(f, "tool", p->tool);
			cJSON_AddStringToObject(f, "channel",
			    names[b->cf->channels[p->chan]]);
			cJSON_AddBoolToObject(f, "changed", p->changed);
			broker_audit(b, "consent_prompt", f);
			return;
		}
	}
	prompt_done(p, ANS_DENY, NULL);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct prompt *p = w->data;

	(void)loop;
	(void)revents;
	prompt_done(p, ANS_DENY, "timeout");
}

/* Stop whatever channel is showing p. */
static void
withdraw(struct prompt *p)
{
	struct broker *b = p->b;
	struct prompt **pp;

	ev_timer_stop(b->loop, &p->timeout);
	if (p->hid >= 0) {
		broker_host_cancel(b, p->hid, "the question was withdrawn");
		p->hid = -1;
	}
	if (p->tty_fd >= 0) {
		if (write(p->tty_fd, "(withdrawn)\n", 12) < 0) {
			/* ignore */
		}
		tty_close(p);
		tty_release(b);
	}
	if (p->tty_waiting) {
		for (pp = &b->tty_queue; *pp; pp = &(*pp)->next_tty) {
			if (*pp == p) {
				*pp = p->next_tty;
				break;
			}
		}
		p->tty_waiting = 0;
	}
	proc_close(p);
}

static void
prompt_free(struct prompt *p)
{
	int i;

	if (map_gets(&p->b->prompts, p->key) == p)
		map_dels(&p->b->prompts, p->key);
	for (i = 0; i < p->ncalls; i++)
		free(p->calls[i].msg);
	free(p->calls);
	free(p->key);
	free(p->tool);
	free(p->exposed);
	free(p->hash);
	free(p->text);
	cJSON_Delete(p->args);
	free(p);
}

static void
prompt_done(struct prompt *p, enum answer a, const char *via)
{
	struct broker *b = p->b;
	struct held_call *calls = p->calls;
	int n = p->ncalls, i;

	withdraw(p);
	map_dels(&b->prompts, p->key);
	p->calls = NULL;
	p->ncalls = 0;
	broker_consent_answer(b, p->child, p->tool, p->exposed, p->hash,
	    p->changed, a, via);
	for (i = 0; i < n; i++) {
		calls[i].h->prompt = NULL;
		broker_consent_resume(b, calls[i].h, calls[i].msg,
		    calls[i].len, a, via, p->changed);
		free(calls[i].msg);
	}
	free(calls);
	prompt_free(p);
}

void
consent_ask(struct broker *b, struct hreq *h, const char *msg, size_t len,
    int child, const char *tool, const char *exposed, const char *hash,
    int changed, const cJSON *args, const cJSON *def)
{
	char ah[65], *key;
	struct prompt *p;

	/* Calls share a question only when they ask the same: the human
	   sees the arguments of what runs. */
	canon_hash(args, ah);
	key = xasprintf("%d\x1f%s\x1f%s\x1f%s", child, tool, hash, ah);
	p = map_gets(&b->prompts, key);

	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		p->b = b;
		p->key = key;
		p->child = child;
		p->tool = xstrdup(tool);
		p->exposed = xstrdup(exposed);
		p->hash = xstrdup(hash);
		p->changed = changed;
		p->asked_at = mono_now();
		p->args = args ? cJSON_Duplicate(args, 1) : NULL;
		p->hid = -1;
		p->tty_fd = -1;
		p->dfd = -1;
		p->text = render(b, p, def);
		map_puts(&b->prompts, key, p);
		key = NULL;
	}
	free(key);
	/* Concurrent calls of the same tool share one question. */
	p->calls = xrealloc(p->calls, (p->ncalls + 1) * sizeof(*p->calls));
	p->calls[p->ncalls].h = h;
	p->calls[p->ncalls].msg = xstrndup(msg, len);
	p->calls[p->ncalls].len = len;
	p->ncalls++;
	h->prompt = p;
	if (p->ncalls == 1) {
		ev_timer_init(&p->timeout, timeout_cb, b->cf->consent_timeout,
		    0);
		p->timeout.data = p;
		ev_timer_start(b->loop, &p->timeout);
		next_channel(p);
	}
}

void
consent_withdraw(struct broker *b, struct hreq *h)
{
	struct prompt *p = h->prompt;
	int i;

	(void)b;
	if (p == NULL)
		return;
	for (i = 0; i < p->ncalls; i++) {
		if (p->calls[i].h == h) {
			free(p->calls[i].msg);
			p->calls[i] = p->calls[--p->ncalls];
			break;
		}
	}
	h->prompt = NULL;
	if (p->ncalls == 0) {
		withdraw(p);
		prompt_free(p);
	}
}

void
consent_free_all(struct broker *b)
{
	struct map_ent *e;
	size_t it;

	while ((e = map_first(&b->prompts, &it)) != NULL) {
		struct prompt *p = e->val;
		int i;

		withdraw(p);
		for (i = 0; i < p->ncalls; i++)
			p->calls[i].h->prompt = NULL;
		prompt_free(p);
	}
}
