/* corral's state directory: $XDG_STATE_HOME/corral (0700), and small
   files in it read without following symlinks and replaced atomically. */
#ifndef CORRAL_STATE_H
#define CORRAL_STATE_H

#include <stddef.h>

/* The directory, created 0700 when missing; caller frees. NULL with
   *err (caller frees) when it cannot be made safe. */
char *state_dir(char **err);
/* Read state file name (e.g. "pins.json"): 1 with its text (caller
   frees), 0 when it does not exist, -1 with *err. */
int state_read(const char *name, char **text, size_t *len, char **err);
/* Like state_read, for a file holding secrets: -1 with *err when it is
   not a regular file owned by you with mode 0600 or stricter. */
int state_read_secret(const char *name, char **text, size_t *len,
    char **err);
/* The subdirectory name of the state directory, created 0700 when
   missing; caller frees. NULL with *err when it cannot be made safe. */
char *state_subdir(const char *name, char **err);
/* Replace state file name (may be "subdir/file") with text, mode 0600,
   atomically. */
int state_write(const char *name, const char *text, size_t len, char **err);

/* Rename state file name to name.corrupt (kept for a person to look at);
   returns 0, or -1 when it could not. */
int state_keep_aside(const char *name);

#endif
