/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include "http.h"

static int rf_http_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
			    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return rf_ingest_stopping(ctx); /* non-zero aborts the transfer */
}

CURL *rf_http_new(struct rf_ingest *in, const char *url)
{
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)RF_HTTP_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "rawflow-seed/0.1");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, rf_http_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, in);
	return h;
}

enum rf_source_end rf_http_end(struct rf_ingest *in, CURL *h, CURLcode rc)
{
	long status = 0;

	switch (rc) {
	case CURLE_OK:
		rf_ingest_why(in, "the server closed the stream");
		return RF_SOURCE_RETRY;
	case CURLE_HTTP_RETURNED_ERROR:
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		rf_ingest_why(in, "HTTP %ld", status);
		return RF_SOURCE_RETRY;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		rf_ingest_why(in, "%s", curl_easy_strerror(rc));
		return RF_SOURCE_FATAL;
	case CURLE_OPERATION_TIMEDOUT:
		rf_ingest_why(in, "stalled or timed out (%s)", curl_easy_strerror(rc));
		return RF_SOURCE_RETRY;
	default:
		rf_ingest_why(in, "%s", curl_easy_strerror(rc));
		return RF_SOURCE_RETRY;
	}
}

static size_t rf_http_body_write(char *ptr, size_t size, size_t n, void *ctx)
{
	struct rf_http_body *b = ctx;
	size_t len = size * n;

	if (b->len + len > b->max) {
		b->too_large = true;
		return 0; /* abort the transfer */
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		unsigned char *d;

		while (cap < b->len + len)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, len);
	b->len += len;
	return len;
}

CURLcode rf_http_get(struct rf_ingest *in, const char *url,
		     struct rf_http_body *body, long timeout_ms,
		     enum rf_source_end *end)
{
	CURL *h = rf_http_new(in, url);
	CURLcode rc;

	body->len = 0;
	body->too_large = false;
	if (!h) {
		rf_ingest_why(in, "libcurl cannot make a handle");
		*end = RF_SOURCE_RETRY;
		return CURLE_FAILED_INIT;
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rf_http_body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(h);
	if (rc == CURLE_WRITE_ERROR) {
		rf_ingest_why(in, body->too_large ? "%s is larger than %zu bytes"
						  : "out of memory fetching %s (%zu)",
			      url, body->max);
		*end = RF_SOURCE_RETRY;
	} else if (rc != CURLE_OK) {
		*end = rf_http_end(in, h, rc);
	}
	curl_easy_cleanup(h);
	return rc;
}

void rf_http_body_free(struct rf_http_body *body)
{
	free(body->data);
	memset(body, 0, sizeof(*body));
}
