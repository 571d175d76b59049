/* Consent: asking the human before a tool runs, through the channels the
   config lists, and remembering the answers. */
#ifndef CORRAL_CONSENT_H
#define CORRAL_CONSENT_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <sys/types.h>

#include "core/buf.h"

struct broker;
struct hreq;

enum answer { ANS_DENY = 0, ANS_ONCE, ANS_SESSION, ANS_ALWAYS };

/* A call waiting for the answer of a prompt. */
struct held_call {
	struct hreq *h;
	char *msg;		/* the host's request, to dispatch on "allow" */
	size_t len;
};

struct prompt {
	struct broker *b;
	char *key;		/* alias \x1f tool \x1f pin */
	int child;
	char *tool;		/* the server's own name */
	char *exposed;
	char *hash;
	int changed;		/* the definition changed since approved */
	double asked_at;	/* mono_now() when it was made */
	char *text;		/* what the human reads */
	cJSON *args;		/* the first call's arguments (rendered) */
	struct held_call *calls;
	int ncalls;
	int chan;		/* index in cf->channels being tried */
	const char *via;	/* channel that answered */
	ev_timer timeout;
	int64_t hid;		/* elicitation request id, or -1 */
	int tty_fd;
	ev_io tty_io;
	struct buf tty_in;
	int tty_waiting;	/* queued for the terminal */
	pid_t dpid;		/* dialog or command process */
	int dfd;
	ev_io dio;
	ev_child dcw;
	struct buf dout;
	struct prompt *next_tty;
};

/* Remembered "always" decisions in consent.json. */
void consent_store_load(cJSON **store);
int consent_store_save(const cJSON *store, char **err);
int consent_store_has(const cJSON *store, const char *alias,
    const char *tool, const char *pin);
void consent_store_add(cJSON *store, const char *alias, const char *tool,
    const char *exposed, const char *pin);

/* Hold call h (message msg) until the human answers about tool of child
   idx; shares a prompt with other calls of the same tool and pin. */
void consent_ask(struct broker *, struct hreq *, const char *msg, size_t len,
    int child, const char *tool, const char *exposed, const char *hash,
    int changed, const cJSON *args, const cJSON *def);
/* The host cancelled h while it waited: withdraw it (and the prompt when
   nobody else waits on it). */
void consent_withdraw(struct broker *, struct hreq *);
/* Drop every prompt (shutdown). */
void consent_free_all(struct broker *);
/* The words of an answer. */
const char *consent_answer_word(enum answer);

#endif
