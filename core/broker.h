/* The broker: one host session, many children, one libev loop. */
#ifndef CORRAL_BROKER_H
#define CORRAL_BROKER_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/catalog.h"
#include "core/config.h"
#include "core/json.h"
#include "core/map.h"
#include "core/pins.h"
#include "core/trail.h"
#include "sandbox/sandbox.h"

struct prompt;

/* A token bucket for rate limits. */
struct bucket {
	double tokens;
	double at;
};

#define TAIL_LINES 20
/* Messages queued in one loop turn are written together at its end,
   unless this many bytes are waiting. */
#define FLUSH_AT (64 * 1024)
#define MAX_DEPTH 128
/* Servers a reload may add to one run of serve (slots are never reused:
   indices name children everywhere). */
#define RELOAD_SPARE 64

enum child_state {
	CH_IDLE = 0,		/* not running, not scheduled */
	CH_SPAWNED,		/* running, waiting for the host's initialize */
	CH_INIT,		/* initialize sent */
	CH_LISTING,		/* fetching its lists */
	CH_READY,
	CH_BACKOFF,		/* exited; restart scheduled */
	CH_FAILED,		/* gave up, or cannot start */
	CH_STOPPING,
	CH_LAZY,		/* not running; its lists come from the cache */
	CH_QUEUED,		/* waiting for corral.max_starting */
};

struct broker;
struct egress;
struct hreq;

/* A request corral sent to a child. */
struct preq {
	int64_t cid;
	struct hreq *h;		/* forwarded host request, or NULL */
	void (*done)(struct broker *, struct preq *, int child,
	    const char *msg, size_t len, const struct jspan *result,
	    const struct jspan *error);
	int kind;		/* list kind for list fetches */
	cJSON *acc;		/* accumulated list pages */
	int gen;		/* child generation it was sent to */
	void *arg;
};

struct child {
	struct broker *b;
	int idx;
	struct server_conf *conf;
	enum child_state state;
	int gen;		/* incremented at every spawn */
	struct sandbox_proc proc;
	int running;		/* process not yet reaped */
	int stdout_open, stderr_open;
	ev_io rd, wr, erd;
	ev_child cw;
	ev_timer start_timer;	/* spawn to ready deadline */
	ev_timer backoff_timer;
	ev_timer kill_timer;	/* shutdown escalation */
	int kill_step;
	ev_timer relist_timer;	/* list_changed debounce */
	int relist_mask;
	int listing;		/* list fetches in flight */
	int list_mask;		/* kinds fetched so far in this round */
	struct buf inq;		/* to the child */
	struct buf outb;	/* from the child's stdout */
	size_t scan;		/* newline search resumes here */
	int skipping;		/* dropping an oversized line */
	int pipe_grown;		/* stdout pipe enlarged (pipe_grow) */
	struct remote *remote;	/* a remote server (conf->remote) */
	struct egress *egress;	/* its proxy, while a sandbox with a
				   host list runs */
	int inpipe_grown;	/* stdin pipe enlarged */
	char skip_head[256];
	size_t skip_headlen;
	char skip_tail[64];
	size_t skip_taillen;
	size_t skipped;
	struct buf errb;	/* from the child's stderr */
	char *tail[TAIL_LINES];
	int tail_next;
	struct map pending;	/* child id -> struct preq */
	int64_t next_id;
	char *version;
	cJSON *caps;
	char *instructions;
	int failures;
	double spawned_at, ready_at;
	char *last_exit;	/* "exited with status 1", etc. */
	char *fail_reason;
	struct map subs;	/* URIs the host subscribed, with counts */
	struct map pins;	/* tool name -> struct pinfo */
	char server_hash[65];
	int server_changed;
	cJSON *server_def;
	cJSON *prompts_seen;	/* its prompt list, for the server pin */
	int inflight;		/* tools/call in flight */
	long long calls;	/* tools/call forwarded, every generation */
	struct map tool_inflight;	/* tool -> count */
	struct bucket bucket;
	struct map tool_buckets;	/* tool -> struct bucket */
	int bad_lines;		/* non-JSON lines, this generation */
	int bad_lines_run;	/* ... in a row */
	/* reload (core/reload.c) */
	int reload;		/* RELOAD_*: what to do once it stopped */
	struct server_conf *next_conf;	/* its new entry */
	int removed;		/* gone from the configuration */
	/* lazy start, idle stop */
	ev_timer idle_timer;	/* a lazy server's idle deadline */
	int idle_stop;		/* stopping because it was idle */
	struct hreq **waitq;	/* host requests waiting for it to start */
	int nwait, waitcap;
};

enum { RELOAD_NONE, RELOAD_RESTART, RELOAD_REMOVE };

/* A request from the host. */
struct hreq {
	char *id;		/* the id's raw JSON text, kept exactly */
	size_t idlen;
	char *method;
	int child;		/* where it went, or -1 */
	int64_t cid;
	int64_t ptok;		/* corral's progress token, or 0 */
	char *ptok_raw;		/* the host's token as raw JSON */
	size_t ptok_len;
	ev_timer idle;		/* reset by progress */
	ev_timer hard;
	double started;
	struct batch *batch;
	struct gather *gather;	/* fan-out in progress */
	struct prompt *prompt;	/* waiting for consent */
	int lim_child;		/* counted in-flight call of this child */
	char *lim_tool;		/* ... and this tool, or NULL */
	double max_bytes;	/* max_result_bytes for the answer; 0: none */
	char *sub_uri;		/* first subscribe to this URI */
	char *held;		/* the message, while it waits for a lazy
				   server to start */
	size_t heldlen;
	int held_consented;
	struct broker *b;
};

/* What corral knows of one tool's pin. */
struct pinfo {
	char hash[65];
	int changed;
	cJSON *def;		/* the pinned part of the current definition */
};



/* A request a child (or corral itself) sent to the host. */
struct creq {
	int64_t hid;		/* id toward the host */
	int child;		/* -1: corral's own */
	char *cid;		/* the child's id as raw JSON */
	size_t cidlen;
	int gen;
	int64_t ptok;		/* mapped progress token, or 0 */
	char *ptok_raw;		/* the child's own token */
	size_t ptok_len;
	void (*done)(struct broker *, struct creq *, const char *msg,
	    size_t len, const struct jspan *result, const struct jspan *error);
	void *arg;
	/* for the audit log (a child's requests only) */
	char *method;
	double t0;
	size_t bytes_in, bytes_out;
	const char *outcome;	/* static; NULL: cancelled */
	int code;
};

/* A JSON-RPC batch from the host (2025-03-26). */
struct batch {
	int waiting;		/* requests not yet answered */
	int nresp;
	struct buf out;		/* "[resp,resp" so far */
	int done_reading;	/* every element dispatched */
};

/* Where the host's messages go: stdout, or a callback (the CLI). */
typedef void (*host_sink)(struct broker *, const char *msg, size_t len,
    void *arg);

struct broker {
	struct ev_loop *loop;
	struct config *cf;
	struct child *children;
	int nchildren;
	int cap_children;	/* slots allocated: never moved */
	struct catalog cat;
	struct config **configs;	/* reloaded ones children point into */
	int nconfigs;
	struct reload *reload;	/* watching the config file */

	/* host link */
	int in_fd, out_fd;
	ev_io host_rd, host_wr;
	struct buf host_in, host_out;
	size_t host_scan;
	int host_skipping;
	struct curlev *curlev;	/* remote servers' transfers */
	int out_pipe_grown;	/* stdout pipe enlarged (pipe_grow) */
	int in_pipe_grown;	/* stdin pipe enlarged */
	char host_skip_head[256];
	size_t host_skip_headlen;
	int host_eof;
	host_sink sink;
	void *sink_arg;
	int paused;		/* children not read: host is not reading */

	/* session */
	int initialized;	/* initialize received */
	int answered;		/* initialize answered */
	int host_ready;		/* notifications/initialized received */
	struct buf held;	/* child requests waiting for host_ready */
	struct hreq *init_req;
	ev_timer init_timer;
	char *host_version;
	cJSON *host_caps;
	cJSON *client_info;
	char *log_level;
	struct map hreqs;	/* host id text -> hreq */
	struct map ptoks;	/* corral progress token -> hreq */
	struct map cptoks;	/* corral progress token -> creq */
	struct map creqs;	/* id toward host -> creq */
	int64_t next_hid;
	int64_t next_ptok;
	struct map tasks;	/* task id -> child index + 1 */
	int *startq;		/* children waiting for corral.max_starting */
	int nstartq, startqcap;

	/* shutdown */
	int stopping;
	int exit_code;
	ev_signal sigterm, sigint, sighup;
	ev_prepare flusher;	/* writes what a loop turn queued, at once */
	ev_timer list_timer;	/* host list_changed debounce */
	ev_timer resume_timer;	/* read on after initialize is answered */
	int notify_mask;
	int quiet;		/* CLI: no child stderr relay */

	/* consent and pins */
	struct map prompts;	/* key -> struct prompt */
	struct prompt *tty_owner;
	struct prompt *tty_queue;
	struct map session_ok;	/* key -> 1: "allow for this session" */
	cJSON *consent;		/* remembered "always" */
	struct pinstore pins;
	int exited;

	/* audit */
	struct trail *trail;
	struct map arecs;	/* host id text -> struct arec */
	int hint;		/* outcome of the next answer, when known */
	int arec_skip;		/* the next answer belongs to no record */
	size_t skip_bytes;	/* ... and its size */
	double t0;
	long long nanswered;
	const char *stop_reason;
};

/* Create a broker for cf (borrowed; must outlive it). The host link is
   stdin/stdout when sink is NULL, else messages go to sink. */
struct broker *broker_new(struct ev_loop *, struct config *, host_sink,
    void *arg);
void broker_free(struct broker *);
/* Spawn every enabled child. */
void broker_start(struct broker *);
/* Feed one host message (the CLI's in-process host). */
void broker_host_message(struct broker *, const char *, size_t);
/* Begin the graceful shutdown: stop children, then break the loop. */
void broker_shutdown(struct broker *);
/* Run until shutdown completes; returns the exit status. */
int broker_run(struct broker *);
/* Count of children still starting (for the CLI's progress line). */
int broker_starting(const struct broker *);

/* upstream.c: child links. */
void child_spawn(struct child *);
/* Spawn c now, or queue it when corral.max_starting are starting. */
void child_start(struct child *);
/* Spawn queued children while fewer than corral.max_starting start. */
void child_start_next(struct broker *);
void child_stop(struct child *);
/* A remote's generation ended (core/remote.c). */
void child_ended(struct child *);
int child_send(struct child *, const char *, size_t);
int64_t child_request(struct child *, const char *method, cJSON *params,
    struct preq *);
void child_notify(struct child *, const char *method, cJSON *params);
/* Write what is queued for the child now (the flusher's work). */
void child_flush(struct child *);
void child_free(struct child *);
const char *child_state_name(enum child_state);

/* broker.c entry points used by upstream.c. */
void broker_child_message(struct broker *, struct child *, const char *,
    size_t);
void broker_child_oversize(struct broker *, struct child *, size_t bytes);
void broker_child_initialize(struct broker *, struct child *);
void broker_child_gone(struct broker *, struct child *);
void broker_host_send(struct broker *, const char *, size_t);

#define PIPE_GROW_AT	(64 * 1024)	/* a message this big grows its pipe */
#define PIPE_BIG	(256 * 1024)
void pipe_grow(int);
void broker_check_exit(struct broker *);
/* reload.c: read the configuration again and apply what changed; why
   is "SIGHUP" or "file changed". */
void broker_reload(struct broker *, const char *why);
/* Watch the configuration file for changes (serve). */
void reload_watch(struct broker *);
void reload_free(struct broker *);
/* The end of a stopped child's generation, for reload: 1 when reload
   took care of what comes next. */
int reload_child_final(struct child *);
/* A child's lists are gone from what the host sees; requests waiting
   for it to start fail with its fail_reason. */
void broker_drop_lists(struct broker *, struct child *);
/* Set up slot idx for server sc (broker_new, reload). */
void broker_add_child(struct broker *, int idx, struct server_conf *);
/* Send corral's own request to the host; the creq (taken) gets its id
   and its done callback the answer. Returns the id. */
int64_t broker_host_request(struct broker *, const char *method,
    cJSON *params, struct creq *);
/* Withdraw corral's own request id from the host. */
void broker_host_cancel(struct broker *, int64_t id, const char *reason);
/* The human answered about tool of child: remember it as asked. */
void broker_consent_answer(struct broker *, int child, const char *tool,
    const char *exposed, const char *hash, int changed, int answer,
    const char *via);
/* Run or refuse one held call after the answer. */
void broker_consent_resume(struct broker *, struct hreq *, const char *msg,
    size_t len, int answer, const char *via, int changed);
/* A lazy child stopped while idle: start it again if requests wait. */
void broker_child_asleep(struct broker *, struct child *);
/* A child reached a resting state (ready, restarting, failed). */
void broker_child_settled(struct broker *);
/* Audit log events about children and consent. */
void broker_audit_spawn(struct broker *, struct child *);
void broker_audit_exit(struct broker *, struct child *, int status);
void broker_audit_spawn_failed(struct broker *, struct child *,
    const char *why);
void broker_audit(struct broker *, const char *event, cJSON *fields);


#endif
