/*
 * oauthrefresh — drive core/oauth's refresh API on a curl multi handle, as
 * the broker will: load the stored tokens of a remote server, refresh
 * them whatever their expiry, and print "refreshed ALIAS: TOKEN" on
 * stdout (exit 0), or the reason on stderr (exit 1).
 *
 * usage: oauthrefresh config alias
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/config.h"
#include "core/oauth.h"
#include "core/util.h"

/* Run e on a multi handle until it ends; its result code. */
static CURLcode
run_multi(CURL *e)
{
	CURLM *m = curl_multi_init();
	CURLcode rc = CURLE_FAILED_INIT;
	CURLMsg *msg;
	int running = 1, left;

	curl_multi_add_handle(m, e);
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == e)
				rc = msg->data.result;
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(m, e);
	curl_multi_cleanup(m);
	return rc;
}

int
main(int argc, char **argv)
{
	struct oauth_tokens *t = NULL;
	struct oauth_refresh *r;
	struct config *cf;
	char *err = NULL;
	CURL *e;
	int i, st = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: oauthrefresh config alias\n");
		return 2;
	}
	if (config_load(argv[1], &cf, &err) < 0) {
		fprintf(stderr, "oauthrefresh: %s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < cf->nservers; i++)
		if (strcmp(cf->servers[i].alias, argv[2]) == 0)
			break;
	if (i == cf->nservers || !cf->servers[i].remote)
		err = xstrdup("no such remote server");
	else if (oauth_tokens_load(argv[2], cf->servers[i].url, &t, &err) !=
	    OAUTH_LOAD_OK && err == NULL)
		err = xstrdup("no tokens for this URL");
	else if ((r = oauth_refresh_new(t, cf->servers[i].oauth_allow_local,
	    &e, &err)) != NULL) {
		if (oauth_refresh_done(r, run_multi(e), &err) == 0) {
			printf("refreshed %s: %s\n", argv[2], t->access_token);
			st = 0;
		}
		oauth_refresh_free(r);
	}
	if (st)
		fprintf(stderr, "oauthrefresh: %s\n", err);
	free(err);
	oauth_tokens_free(t);
	config_free(cf);
	curl_global_cleanup();
	return st;
}
