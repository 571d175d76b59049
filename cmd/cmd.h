/* Subcommands. Each returns the process exit status: 0 ok, 1 failure,
   2 usage error. */
#ifndef CORRAL_CMD_H
#define CORRAL_CMD_H

#include <cjson/cJSON.h>

#include "core/config.h"

int cmd_serve(int, char **);
int cmd_tools(int, char **);
int cmd_call(int, char **);
int cmd_run(int, char **);
int cmd_doctor(int, char **);
int cmd_pins(int, char **);
int cmd_consent(int, char **);
int cmd_audit(int, char **);
int cmd_login(int, char **);
int cmd_logout(int, char **);
int cmd_import(int, char **);
int cmd_export(int, char **);
int cmd_status(int, char **);

struct broker;

/* Load the config named by -c, or the default one; prints the error. */
struct config *cmd_load_config(const char *path);

/* Run a broker with an in-process host: initialize, then send request
   (method, params taken) and return the response (caller frees) or NULL
   when the broker could not be started. A progress line is shown on
   stderr while children start when stderr is a terminal. */
cJSON *cli_roundtrip(struct config *, const char *method, cJSON *params);
/* The merged tools list, for `call` to read argument types. */
cJSON *cli_tools_then(struct config *, const char *name,
    cJSON *(*build)(const cJSON *tool, void *), void *arg,
    cJSON **response);

/* Start the children, list tools, then call inspect with the broker
   before it shuts down. Returns the tools/list response (caller frees). */
cJSON *cli_inspect(struct config *, void (*inspect)(struct broker *, void *),
    void *arg);

#endif
