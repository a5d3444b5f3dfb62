/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http:// continuous stream: MPEG-TS (ffmpeg -listen 1, any TS-over-HTTP
 * server, chunked or not) or Icecast/SHOUTcast audio (MP3, AAC, Ogg) with
 * its ICY metadata stripped. The format is sniffed from the first bytes
 * and the Content-Type; anything else is refused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chunker.h"
#include "http.h"
#include "icy.h"
#include "log.h"

#define RF_HTTP_SNIFF (3 * RF_TS_PACKET)
#define RF_HTTP_LOW_SPEED_BPS 1000L /* slower than this for --stall-ms: stalled */

struct rf_http_stream {
	struct rf_ingest *in;
	long metaint;
	char content_type[64];
	bool sniffed;
	bool unsupported;
	uint8_t sniff[RF_HTTP_SNIFF];
	size_t sniff_len;
	struct rf_icy icy;
	uint8_t strip[CURL_MAX_WRITE_SIZE];
};

/* Audio that Icecast serves: by Content-Type, or by MP3/ADTS frame sync,
 * an ID3 tag or an Ogg page. */
static bool rf_looks_like_audio(const char *ctype, const uint8_t *p, size_t len)
{
	if (strncasecmp(ctype, "audio/", 6) == 0 ||
	    strncasecmp(ctype, "application/ogg", 15) == 0)
		return true;
	if (len >= 4 && memcmp(p, "OggS", 4) == 0)
		return true;
	if (len >= 3 && memcmp(p, "ID3", 3) == 0)
		return true;
	return len >= 2 && p[0] == 0xff && (p[1] & 0xe0) == 0xe0;
}

static size_t rf_http_header(char *line, size_t size, size_t n, void *ctx)
{
	struct rf_http_stream *hs = ctx;
	size_t len = size * n;
	char *v;

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): forget the last one's */
		hs->metaint = 0;
		hs->content_type[0] = '\0';
	} else if (len > 12 && strncasecmp(line, "icy-metaint:", 12) == 0) {
		char *end;

		v = line + 12;
		while (v < line + len && (*v == ' ' || *v == '\t'))
			v++;
		errno = 0;
		hs->metaint = strtol(v, &end, 10);
		while (end < line + len && isspace((unsigned char)*end))
			end++;
		/* digits, then only the line's end: anything else is refused */
		if (errno || !isdigit((unsigned char)*v) || end != line + len ||
		    hs->metaint < 0 || hs->metaint > (1 << 20))
			hs->metaint = -1; /* refused in the first write */
	} else if (len > 13 && strncasecmp(line, "content-type:", 13) == 0) {
		v = line + 13;
		while (v < line + len && isspace((unsigned char)*v))
			v++;
		snprintf(hs->content_type, sizeof(hs->content_type), "%.*s",
			 (int)strcspn(v, "\r\n;"), v);
	}
	return len;
}

/* Decide the format from what was sniffed, then feed it. */
static bool rf_http_sniffed(struct rf_http_stream *hs)
{
	struct rf_ingest *in = hs->in;

	if (rf_ts_sniff(hs->sniff, hs->sniff_len)) {
		rf_ingest_set_mode(in, RF_CHUNKER_TS);
	} else if (rf_looks_like_audio(hs->content_type, hs->sniff, hs->sniff_len)) {
		rf_ingest_set_mode(in, RF_CHUNKER_BYTES);
	} else {
		rf_ingest_why(in, "unsupported format (Content-Type '%s', first bytes %02x %02x %02x %02x): expected MPEG-TS or Icecast audio",
			      hs->content_type, hs->sniff[0], hs->sniff[1],
			      hs->sniff[2], hs->sniff[3]);
		hs->unsupported = true;
		return false;
	}
	hs->sniffed = true;
	rf_ingest_feed(in, hs->sniff, hs->sniff_len);
	return true;
}

/* Audio (ICY stripped) in arrival order, sniffed first. */
static bool rf_http_audio(struct rf_http_stream *hs, const uint8_t *p, size_t len)
{
	size_t take;

	if (hs->sniffed) {
		rf_ingest_feed(hs->in, p, len);
		return true;
	}
	take = RF_HTTP_SNIFF - hs->sniff_len < len ? RF_HTTP_SNIFF - hs->sniff_len : len;
	memcpy(hs->sniff + hs->sniff_len, p, take);
	hs->sniff_len += take;
	if (hs->sniff_len < RF_HTTP_SNIFF)
		return true;
	if (!rf_http_sniffed(hs))
		return false;
	if (len > take)
		rf_ingest_feed(hs->in, p + take, len - take);
	return true;
}

static size_t rf_http_write(char *ptr, size_t size, size_t n, void *ctx)
{
	struct rf_http_stream *hs = ctx;
	size_t len = size * n;

	if (hs->metaint < 0) {
		rf_ingest_why(hs->in, "bad icy-metaint header");
		hs->unsupported = true;
		return 0;
	}
	if (hs->metaint > 0) {
		if (hs->icy.metaint != (uint32_t)hs->metaint)
			rf_icy_init(&hs->icy, (uint32_t)hs->metaint);
		/* strip in our own buffer: curl's is not ours to edit */
		memcpy(hs->strip, ptr, len);
		len = rf_icy_strip(&hs->icy, hs->strip, len);
		ptr = (char *)hs->strip;
	}
	return rf_http_audio(hs, (const uint8_t *)ptr, len) ? size * n : 0;
}

/* --stall-ms in whole seconds, as libcurl takes it (at least 1). */
static long rf_http_stall_s(const struct rf_ingest *in)
{
	long s = (long)(rf_ingest_config(in)->stall_ms + 999) / 1000;

	return s > 0 ? s : 1;
}

enum rf_source_end rf_source_http_run(struct rf_ingest *in)
{
	struct rf_http_stream *hs = calloc(1, sizeof(*hs));
	struct curl_slist *headers = NULL;
	enum rf_source_end end;
	CURL *h;
	CURLcode rc;

	if (!hs || !(h = rf_http_new(in, rf_ingest_url(in)->url))) {
		free(hs);
		rf_ingest_why(in, "out of memory");
		return RF_SOURCE_RETRY;
	}
	hs->in = in;
	headers = curl_slist_append(headers, "Icy-MetaData: 1");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, rf_http_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, hs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rf_http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, hs);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, RF_HTTP_LOW_SPEED_BPS);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, rf_http_stall_s(in));
	rc = curl_easy_perform(h);
	if (hs->unsupported) {
		end = RF_SOURCE_FATAL;
	} else if (rc == CURLE_OPERATION_TIMEDOUT && hs->sniffed) {
		rf_ingest_why(in, "stalled: under %ld bytes/s for %ld s",
			      RF_HTTP_LOW_SPEED_BPS, rf_http_stall_s(in));
		rf_ingest_down(in);
		end = RF_SOURCE_RETRY;
	} else {
		/* bytes too few to tell the format (a trickle) are dropped */
		end = rf_http_end(in, h, rc);
	}
	if (hs->icy.blocks && hs->icy.title[0])
		rf_info("%s: last stream title '%s'", rf_ingest_config(in)->name,
			hs->icy.title);
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	free(hs);
	return end;
}
