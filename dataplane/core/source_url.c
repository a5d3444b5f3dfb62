/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source_url.h"

static int rf_url_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *rf_source_kind_name(enum rf_source_kind kind)
{
	switch (kind) {
	case RF_SOURCE_UDP: return "udp";
	case RF_SOURCE_HTTP: return "http";
	case RF_SOURCE_HLS: return "hls";
	case RF_SOURCE_FILE: return "file";
	}
	return "unknown";
}

/* Copy one host ("1.2.3.4", "[2001:db8::1]" without brackets) from
 * [s, end) into out. */
static int rf_url_host(const char *s, const char *end, char *out)
{
	bool bracketed = end > s && *s == '[';
	size_t n;

	if (bracketed) {
		if (end[-1] != ']')
			return -EINVAL;
		s++;
		end--;
	}
	n = (size_t)(end - s);
	/* an IPv6 address must be bracketed, or its colons hide the port */
	if (n == 0 || n >= RF_HOST_MAX || (!bracketed && memchr(s, ':', n)))
		return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int rf_url_udp(const char *s, struct rf_source_url *u, char *err,
		      size_t errlen)
{
	const char *at = strchr(s, '@'), *host = at ? at + 1 : s, *colon;
	char *endp;
	long port;

	colon = strrchr(host, ':');
	if (!colon || (strchr(host, ']') && colon < strchr(host, ']')))
		return rf_url_error(err, errlen,
				    "udp source '%s' needs a port: udp://[GROUP@]ADDR:PORT",
				    s);
	errno = 0;
	port = strtol(colon + 1, &endp, 10);
	if (errno || *endp || port <= 0 || port > 65535)
		return rf_url_error(err, errlen, "udp source: bad port '%s'",
				    colon + 1);
	u->port = (uint16_t)port;
	if (rf_url_host(host, colon, u->addr) != 0)
		return rf_url_error(err, errlen, "udp source: bad address in '%s'", s);
	if (at && rf_url_host(s, at, u->group) != 0)
		return rf_url_error(err, errlen, "udp source: bad group in '%s'", s);
	return 0;
}

/* True when the URL's path (before any query) ends in ".m3u8". */
static bool rf_url_is_hls(const char *url)
{
	size_t n = strcspn(url, "?#");

	return n >= 5 && strncasecmp(url + n - 5, ".m3u8", 5) == 0;
}

int rf_source_url_parse(const char *s, struct rf_source_url *u, char *err,
			size_t errlen)
{
	memset(u, 0, sizeof(*u));
	if (!s || !*s)
		return rf_url_error(err, errlen, "empty source URL");
	if (strlen(s) >= RF_URL_MAX)
		return rf_url_error(err, errlen, "source URL longer than %d bytes",
				    RF_URL_MAX - 1);
	strcpy(u->url, s);
	if (strncmp(s, "udp://", 6) == 0) {
		u->kind = RF_SOURCE_UDP;
		return rf_url_udp(s + 6, u, err, errlen);
	}
	if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) {
		const char *host = strstr(s, "://") + 3;

		if (*host == '\0' || *host == '/')
			return rf_url_error(err, errlen, "http source '%s' has no host", s);
		u->kind = rf_url_is_hls(s) ? RF_SOURCE_HLS : RF_SOURCE_HTTP;
		return 0;
	}
	if (strncmp(s, "file://", 7) == 0) {
		if (s[7] == '\0')
			return rf_url_error(err, errlen, "file source '%s' has no path", s);
		u->kind = RF_SOURCE_FILE;
		strcpy(u->path, s + 7);
		return 0;
	}
	return rf_url_error(err, errlen,
			    "unsupported source '%s': expected udp://, http://, https:// (.m3u8 for HLS) or file://",
			    s);
}
