/*
 * fakelib — shared plumbing for the fake MCP child servers the tests use.
 *
 * A server calls fake_init(), registers capabilities, methods and tools,
 * then returns fake_run().  fake_run() reads newline-delimited JSON-RPC
 * from stdin with poll(), runs timers, and dispatches each message:
 *
 *   request       -> the handler registered with fake_on(method), else the
 *                    "*" handler, else error -32601;
 *   notification  -> the handler registered with fake_on(method), else
 *                    ignored;
 *   response      -> the callback given to fake_request(), else the stray
 *                    response hook.
 *
 * Built in: initialize, ping, and (once a tool is added) tools/list and
 * tools/call over the tool registry.  fake_on() replaces any of them.
 *
 * Common flags: --name NAME, --instructions TEXT, --version V,
 * --delay-init MS, --ignore-eof (keep running after stdin ends),
 * --ignore-term (ignore SIGTERM; implies --ignore-eof).
 * Environment: FAKE_LOG (append every received line), FAKE_PIDFILE
 * (write the pid at start).  Log lines on stderr start "<name>: ".
 */
#ifndef FAKELIB_H
#define FAKELIB_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* A request or notification handler; id is NULL for notifications. */
typedef void (*fake_method_fn)(const cJSON *id, const cJSON *params);
/* A tool; args is params.arguments, or an empty object. */
typedef void (*fake_tool_fn)(const cJSON *id, const cJSON *params,
    const cJSON *args);
/* A response to one of our own requests; ctx is what fake_request got. */
typedef void (*fake_response_fn)(const cJSON *msg, const cJSON *ctx);
/* A server-specific flag: return how many argv entries it used (1 or 2),
 * or 0 if the flag is unknown.  arg is the next argv entry or NULL. */
typedef int (*fake_flag_fn)(const char *flag, const char *arg);
typedef void (*fake_timer_fn)(void *arg);
/* Writes one serialised message (no newline) to stdout. */
typedef void (*fake_writer_fn)(const char *json, size_t len);

/* Set-up and main loop. */
void fake_init(int argc, char **argv, const char *name, fake_flag_fn flags);
int fake_run(void);
const char *fake_name(void);
void fake_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fake_set_caps(cJSON *caps);
void fake_on(const char *method, fake_method_fn fn);
void fake_on_stray_response(fake_response_fn fn);
void fake_ignore(const cJSON *id, const cJSON *params);

/* Building JSON. */
cJSON *fake_json(const char *text);
cJSON *fake_text(const char *text);
cJSON *fake_textf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *fake_print(const cJSON *item);

/* Reading parameters. */
const char *fake_str(const cJSON *obj, const char *key);
double fake_num(const cJSON *obj, const char *key, double dflt);
const cJSON *fake_progress_token(const cJSON *params);

/* Sending. */
void fake_send(cJSON *msg);
void fake_result(const cJSON *id, cJSON *result);
void fake_error(const cJSON *id, int code, const char *message, cJSON *data);
void fake_notify(const char *method, cJSON *params);
void fake_progress(const cJSON *token, double progress, double total,
    const char *message);
int fake_request(const char *method, cJSON *params, fake_response_fn cb,
    const cJSON *ctx);
void fake_request_forget(int id);
void fake_write_raw(const char *buf, size_t len);
void fake_set_writer(fake_writer_fn fn);

/* Timers (milliseconds).  free_arg, if any, runs when the timer is
 * cancelled or discarded at exit, but not after fn ran. */
int fake_timer(int ms, fake_timer_fn fn, void *arg, void (*free_arg)(void *));
void fake_timer_cancel(int tid);
void fake_sleep_ms(int ms);

/* Tool registry: served by the built-in tools/list and tools/call.  A NULL
 * fn makes a tool that never answers. */
cJSON *fake_add_tool(const char *name, const char *description,
    const char *input_schema, fake_tool_fn fn);

/* The shared "slow" tool: args {ms, steps}; progress if a token came. */
void fake_tool_slow(const cJSON *id, const cJSON *params, const cJSON *args);
int fake_slow_cancel(const cJSON *request_id);

#endif
