/* SPDX-License-Identifier: BSD-3-Clause */
/* libcurl set-up shared by the http:// and HLS sources. */
#ifndef RF_HTTP_H
#define RF_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "source.h"

#define RF_HTTP_CONNECT_MS 2000

/* An easy handle for url with the seed's common options: connect
 * timeout, HTTP errors as failures, redirects, and an abort as soon as the
 * ingest is stopping. NULL when libcurl cannot make one. */
CURL *rf_http_new(struct rf_ingest *in, const char *url);

/* Say why a transfer ended (rf_ingest_why) and whether to retry. */
enum rf_source_end rf_http_end(struct rf_ingest *in, CURL *h, CURLcode rc);

/* A whole body in memory, for playlists and HLS segments. */
struct rf_http_body {
	unsigned char *data;
	size_t len, cap, max;
	bool too_large;        /* the transfer was cut at max */
};

/* GET url into body (at most body->max bytes) within timeout_ms. */
CURLcode rf_http_get(struct rf_ingest *in, const char *url,
		     struct rf_http_body *body, long timeout_ms,
		     enum rf_source_end *end);

void rf_http_body_free(struct rf_http_body *body);

#endif
