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
void curlev_free(struct curlev *);

#endif
