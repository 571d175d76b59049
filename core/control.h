/* The status socket of `corral serve`: a Unix socket in a private
   directory, one per serve process, that answers one JSON document (see
   core/status.h) to processes of the same user. */
#ifndef CORRAL_CONTROL_H
#define CORRAL_CONTROL_H

struct broker;
struct control;

/* The directory of the sockets, not created: $XDG_RUNTIME_DIR/corral, else
   /run/user/UID/corral when that directory is yours, else
   $XDG_STATE_HOME/corral/run. Caller frees; NULL with *err (caller frees). */
char *control_dir(char **err);
/* Listen for `corral status` on behalf of b (borrowed; must outlive it).
   NULL when the socket cannot be made safely, said once on stderr: serve
   goes on without it. Free with control_free. */
struct control *control_new(struct broker *b);
/* Close the connections and remove the socket. NULL is fine. */
void control_free(struct control *);

#endif
