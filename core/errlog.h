/* stderr that never blocks the loop: lines are queued (bounded) and
   written when fd 2 can take them; what does not fit is counted and
   dropped, never waited for. */
#ifndef CORRAL_ERRLOG_H
#define CORRAL_ERRLOG_H

#include <ev.h>
#include <stddef.h>

/* Queue stderr on loop from now on (fd 2 made non-blocking unless it is a
   terminal). */
void errlog_attach(struct ev_loop *);
/* Write what is queued, blocking, and go back to plain writes. */
void errlog_detach(void);
/* Write one line (with its newline) to stderr. */
void errlog_write(const char *, size_t);

#endif
