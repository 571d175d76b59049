/* OAuth 2.1 for remote servers: discovery (RFC 9728, RFC 8414), dynamic
   client registration (RFC 7591), authorization code with PKCE (RFC 7636),
   resource indicators (RFC 8707), refresh, and the token files under
   $XDG_STATE_HOME/corral/tokens/.

   Discovery URLs come from the server's answers, so a malicious server
   could aim them anywhere: they must be https, and every address curl
   connects to for them must be public (checked when the socket is
   opened, so DNS rebinding is caught too). Only a server's
   "oauth": {"allow_local_discovery": true}, meant for tests, lifts this.

   The refresh functions suit the broker's multi handle as well as
   curl_easy_perform: oauth_refresh_new gives a ready easy handle, the
   caller runs it however it likes, then calls oauth_refresh_done. */
#ifndef CORRAL_OAUTH_H
#define CORRAL_OAUTH_H

#include <sys/socket.h>

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

#include "core/config.h"

/* Seconds before expires_at from which an access token counts as
   expired. */
#define OAUTH_EXPIRY_MARGIN	60

/* Why an address may not be used for discovery: NULL when it is public,
   else a phrase such as "a loopback address" (static). Anything not
   IPv4 or IPv6 is refused. */
const char *oauth_addr_refused(const struct sockaddr *sa);
/* The same for an address in text (IPv4 dotted quad or IPv6); "not an
   IP address" when it is neither. */
const char *oauth_addr_text_refused(const char *ip);

/* Check a discovery URL before fetching it: https (or, with
   allow_local, http), and a host that is not a refused IP literal.
   Returns 0, or -1 with *why (caller frees) naming the URL and why. */
int oauth_url_check(const char *url, int allow_local, char **why);

/* Base64url without padding of n bytes into out (4 * ceil(n / 3) + 1
   bytes at least). */
void oauth_b64url(const unsigned char *p, size_t n, char *out);
/* n random bytes from getrandom as base64url: PKCE verifiers (n = 32
   gives 43 characters) and states. Caller frees; NULL on failure. */
char *oauth_random(size_t n);
/* The S256 challenge of verifier into out (44 bytes). */
void oauth_pkce_challenge(const char *verifier, char out[44]);

/* Parse a WWW-Authenticate value: 1 when it holds a Bearer challenge,
   with its resource_metadata and scope parameters in *rm and *scope
   (caller frees; NULL when absent); 0 otherwise. */
int oauth_parse_www_authenticate(const char *value, char **rm,
    char **scope);
/* The well-known URLs to try for url, in order, in out (each caller
   frees; NULL-terminated; at most 3). For a server URL (issuer 0):
   oauth-protected-resource with the path appended, then bare. For an
   authorization server's issuer (issuer 1): oauth-authorization-server
   path-inserted, then openid-configuration path-inserted and appended.
   Returns the count, -1 when url cannot be parsed. */
int oauth_metadata_urls(const char *url, int issuer, char *out[4]);

/* What discovery found for a server. */
struct oauth_meta {
	char *resource;			/* the PRM's resource */
	char *scope;			/* from WWW-Authenticate, or NULL */
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *registration_endpoint;	/* NULL: none */
	char *scopes_supported;		/* PRM's, space-separated, or NULL */
};

/* Discover the authorization server of remote server s: an initialize
   without a token, its 401's resource_metadata (else the well-known
   URLs), then the authorization server's metadata. Blocking. Returns 0
   with *m filled (free with oauth_meta_clear), or -1 with *err. */
int oauth_discover(const struct server_conf *s, struct oauth_meta *m,
    char **err);
void oauth_meta_clear(struct oauth_meta *m);

/* Register a public client (RFC 7591) for redirect_uri at the
   registration endpoint. Blocking. Returns 0 with *client_id and maybe
   *client_secret (caller frees), or -1 with *err. */
int oauth_register(const struct oauth_meta *m, const char *redirect_uri,
    int allow_local, char **client_id, char **client_secret, char **err);

/* A server's stored tokens: the file tokens/<alias>.json. */
struct oauth_tokens {
	char *alias;
	char *server_url;	/* the configured URL they were got for */
	char *resource;
	char *client_id;
	char *client_secret;	/* NULL: a public client */
	char *token_endpoint;
	char *access_token;
	char *refresh_token;	/* NULL: none */
	char *scope;		/* NULL: not said */
	double expires_at;	/* seconds since the epoch; 0: not said */
};

/* The authorization URL to open in a browser; caller frees. */
char *oauth_authorize_url(const struct oauth_meta *m, const char *client_id,
    const char *redirect_uri, const char *challenge, const char *state,
    const char *scope);
/* Exchange an authorization code at the token endpoint. Blocking.
   Returns 0 with the new tokens in *t (alias, server_url, resource,
   client and token endpoint filled from the arguments; caller frees
   with oauth_tokens_free), or -1 with *err. */
int oauth_exchange_code(const struct server_conf *s,
    const struct oauth_meta *m, const char *client_id,
    const char *client_secret, const char *code, const char *redirect_uri,
    const char *verifier, struct oauth_tokens **t, char **err);

enum oauth_load {
	OAUTH_LOAD_ERROR = -1,	/* unreadable, unsafe or corrupt: *err */
	OAUTH_LOAD_NONE = 0,	/* no tokens: log in */
	OAUTH_LOAD_OK = 1,	/* *t holds tokens for this URL */
	OAUTH_LOAD_OTHER_URL = 2 /* *t holds tokens for another URL: log
				    in again; do not use them */
};
/* Load the tokens of alias got for url. *t (caller frees with
   oauth_tokens_free) is set for OK and OTHER_URL. A file that group or
   others can read, or that another user owns, is refused. */
enum oauth_load oauth_tokens_load(const char *alias, const char *url,
    struct oauth_tokens **t, char **err);
/* Write t to tokens/<alias>.json (directory 0700, file 0600, replaced
   atomically). Returns 0 or -1 with *err. */
int oauth_tokens_save(const struct oauth_tokens *t, char **err);
/* Remove the tokens of alias: 1 removed, 0 there were none, -1 *err. */
int oauth_tokens_remove(const char *alias, char **err);
/* Parse a token file's text (for tests and oauth_tokens_load): t or NULL
   with *err (caller frees). */
struct oauth_tokens *oauth_tokens_parse(const char *alias, const char *text,
    size_t len, char **err);
void oauth_tokens_free(struct oauth_tokens *t);
/* Whether the access token has expired at now, or will within
   OAUTH_EXPIRY_MARGIN seconds; a token without expires_at never does. */
int oauth_tokens_expired(const struct oauth_tokens *t, time_t now);
/* "expires at YYYY-MM-DD HH:MM:SS UTC" (or "has no expiry time") for
   expires_at into out. */
void oauth_expiry_text(double expires_at, char *out, size_t n);
/* "Authorization: Bearer <token>" for CURLOPT_HTTPHEADER; caller frees. */
char *oauth_auth_header(const struct oauth_tokens *t);

/* One refresh in flight: the easy handle, the answer's bytes and the
   reason a connection was refused. */
struct oauth_refresh;
/* Prepare a refresh of t (borrowed until oauth_refresh_free) as a POST to
   its token endpoint, not yet started: *easy belongs to the context; add
   it to a multi handle or run curl_easy_perform on it. allow_local: the
   server's allow_local_discovery. NULL with *err when t has no refresh
   token or its endpoint is refused. */
struct oauth_refresh *oauth_refresh_new(struct oauth_tokens *t,
    int allow_local, CURL **easy, char **err);
/* After the transfer ended with rc: parse the answer, update the
   borrowed tokens (keeping the refresh token when none is returned) and
   save them. Returns 0, or -1 with *err saying why (the refresh token
   was refused: log in again; or the transfer failed). */
int oauth_refresh_done(struct oauth_refresh *r, CURLcode rc, char **err);
/* Free the context and its easy handle (remove it from any multi handle
   first). */
void oauth_refresh_free(struct oauth_refresh *r);

#endif
