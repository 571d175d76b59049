/* A remote MCP server reached over Streamable HTTP: it stands in for a
   child process (struct child) — messages go out as POSTs, answers come
   back as JSON bodies or server-sent events. */
#ifndef CORRAL_REMOTE_H
#define CORRAL_REMOTE_H

#include <stddef.h>

struct child;
struct remote;

/* Begin a generation: nothing to spawn, the first POST is initialize. */
void remote_start(struct child *);
int remote_send(struct child *, const char *, size_t);
/* End the session (DELETE) and the generation. */
void remote_stop(struct child *);
/* The host is reading again: transfers paused meanwhile go on. */
void remote_resume(struct child *);
void remote_free(struct child *);

#endif
