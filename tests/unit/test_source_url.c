/* SPDX-License-Identifier: BSD-3-Clause */
/* Source URLs: every form the seed takes, and clear refusals. */
#include <criterion/criterion.h>
#include <errno.h>

#include "source_url.h"

static struct rf_source_url u;
static char err[256];

static int parse(const char *s)
{
	err[0] = '\0';
	return rf_source_url_parse(s, &u, err, sizeof(err));
}

Test(source_url, udp_unicast)
{
	cr_assert_eq(parse("udp://198.18.0.2:5000"), 0);
	cr_assert_eq(u.kind, RF_SOURCE_UDP);
	cr_assert_str_eq(u.addr, "198.18.0.2");
	cr_assert_str_eq(u.group, "");
	cr_assert_eq(u.port, 5000);
}

Test(source_url, udp_group_at_interface)
{
	cr_assert_eq(parse("udp://239.255.0.1@198.18.0.2:5000"), 0);
	cr_assert_str_eq(u.group, "239.255.0.1");
	cr_assert_str_eq(u.addr, "198.18.0.2");
	cr_assert_eq(parse("udp://[ff15::1]@[2001:db8::2]:5004"), 0);
	cr_assert_str_eq(u.group, "ff15::1");
	cr_assert_str_eq(u.addr, "2001:db8::2");
	cr_assert_eq(u.port, 5004);
}

Test(source_url, udp_refusals)
{
	cr_assert_eq(parse("udp://198.18.0.2"), -EINVAL);
	cr_assert(strstr(err, "needs a port"));
	cr_assert_eq(parse("udp://198.18.0.2:0"), -EINVAL);
	cr_assert_eq(parse("udp://198.18.0.2:70000"), -EINVAL);
	cr_assert_eq(parse("udp://198.18.0.2:12ab"), -EINVAL);
	cr_assert_eq(parse("udp://2001:db8::2:5000"), -EINVAL); /* unbracketed v6 */
	cr_assert_eq(parse("udp://[2001:db8::2:5000"), -EINVAL);
	cr_assert_eq(parse("udp://:5000"), -EINVAL);
}

Test(source_url, http_and_hls)
{
	cr_assert_eq(parse("http://127.0.0.1:8000/live.ts"), 0);
	cr_assert_eq(u.kind, RF_SOURCE_HTTP);
	cr_assert_eq(parse("https://cdn.example/a/b/index.m3u8?token=x"), 0);
	cr_assert_eq(u.kind, RF_SOURCE_HLS);
	cr_assert_eq(parse("http://127.0.0.1/INDEX.M3U8"), 0);
	cr_assert_eq(u.kind, RF_SOURCE_HLS);
	cr_assert_eq(parse("http://127.0.0.1/stream?fmt=.m3u8x"), 0);
	cr_assert_eq(u.kind, RF_SOURCE_HTTP);
	cr_assert_eq(parse("http:///path"), -EINVAL);
}

Test(source_url, file)
{
	cr_assert_eq(parse("file:///srv/media/a.ts"), 0);
	cr_assert_eq(u.kind, RF_SOURCE_FILE);
	cr_assert_str_eq(u.path, "/srv/media/a.ts");
	cr_assert_eq(parse("file://"), -EINVAL);
}

Test(source_url, unsupported_and_oversized)
{
	char longurl[RF_URL_MAX + 10];

	cr_assert_eq(parse("ftp://127.0.0.1/x"), -EINVAL);
	cr_assert(strstr(err, "unsupported source 'ftp://"));
	cr_assert_eq(parse(""), -EINVAL);
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	memcpy(longurl, "http://", 7);
	cr_assert_eq(parse(longurl), -EINVAL);
	cr_assert_str_eq(rf_source_kind_name(RF_SOURCE_HLS), "hls");
}
