/* libcurl's multi-socket interface driven by a libev loop: any number of
   transfers, each with its own completion callback. No threads, no
   blocking calls. */
#ifndef CORRAL_CURLEV_H
#define CORRAL_CURLEV_H

#include <curl/curl.h>
#include <ev.h>

struct curlev;

/* Called once when a transfer added with curlev_add ends (or fails);
   the easy handle has been removed from the multi handle and belongs to
   the caller again. */
typedef void curlev_done_fn(CURL *, CURLcode, void *);

struct curlev *curlev_new(struct ev_loop *);
/* Start a transfer; 0, or -1 with *why set (static text). */
int curlev_add(struct curlev *, CURL *, curlev_done_fn *, void *,
    const char **);
/* Stop a transfer early; its callback is not called. */
void curlev_remove(struct curlev *, CURL *);
/* Resume a transfer paused by its write callback. */
void curlev_unpause(struct curlev *, CURL *);
/* For CURLOPT_SOCKOPTFUNCTION. */
int curlev_sockopt_cloexec(void *, curl_socket_t, curlsocktype);
int curlev_running(const struct curlev *);
/* For curl_multi_setopt. */
CURLM *curlev_multi(struct curlev *);
/* Run the transfers without the loop until deadline (mono_now time), by
   polling their sockets here: for the end of the program, when the loop
   no longer runs. Before each round more(arg), when given, may start
   transfers; the drain ends when none is left, or at deadline. The
   loop's watchers are not used again: call curlev_free next. */
void curlev_drain(struct curlev *, double deadline, void (*more)(void *),
    void *arg);
void curlev_free(struct curlev *);

#endif
