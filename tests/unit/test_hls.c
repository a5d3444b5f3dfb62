/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for HLS parsing, URL resolution and the segment tracker
 * (dataplane/core/hls.c). */
#include <criterion/criterion.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hls.h"

static struct rf_hls_playlist pl;
static char text[256 * 1024];

/* Parse an exact-size heap copy, so ASan catches a read past len (the
 * parser must not need a NUL terminator). */
static int parse_n(const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int err;

	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	err = rf_hls_parse(copy, len, &pl);
	free(copy);
	return err;
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* What ffmpeg's hls muxer writes for a live stream (-hls_list_size). */
static const char ffmpeg_live[] =
	"#EXTM3U\n"
	"#EXT-X-VERSION:3\n"
	"#EXT-X-TARGETDURATION:2\n"
	"#EXT-X-MEDIA-SEQUENCE:17\n"
	"#EXTINF:2.000000,\n"
	"seg17.ts\n"
	"#EXTINF:2.000000,\n"
	"seg18.ts\n"
	"#EXTINF:1.960000,\n"
	"seg19.ts\n"
	"#EXTINF:2.040000,\n"
	"seg20.ts\n"
	"#EXTINF:2.000000,\n"
	"seg21.ts\n";

static void check_ffmpeg_live(void)
{
	static const uint32_t dur[] = { 2000, 2000, 1960, 2040, 2000 };
	char uri[32];
	unsigned i;

	cr_assert_not(pl.master);
	cr_assert_not(pl.endlist);
	cr_assert_eq(pl.target_duration_ms, 2000);
	cr_assert_eq(pl.first_msn, 17);
	cr_assert_eq(pl.count, 5);
	for (i = 0; i < pl.count; i++) {
		snprintf(uri, sizeof(uri), "seg%u.ts", 17 + i);
		cr_assert_eq(pl.seg[i].msn, 17 + i);
		cr_assert_eq(pl.seg[i].duration_ms, dur[i]);
		cr_assert_not(pl.seg[i].discontinuity);
		cr_assert_str_eq(pl.seg[i].uri, uri);
	}
}

Test(hls_parse, ffmpeg_live_playlist)
{
	cr_assert_eq(parse(ffmpeg_live), 0);
	check_ffmpeg_live();
}

Test(hls_parse, crlf_bom_trailing_blanks_no_final_newline)
{
	size_t i, n = 0;

	memcpy(text, "\xef\xbb\xbf", 3);
	n = 3;
	for (i = 0; ffmpeg_live[i]; i++) {
		if (ffmpeg_live[i] == '\n') {
			/* trailing whitespace before the CRLF, then a blank line */
			memcpy(text + n, " \t\r\n\r\n", 6);
			n += 6;
		} else {
			text[n++] = ffmpeg_live[i];
		}
	}
	cr_assert_eq(parse_n(text, n), 0);
	check_ffmpeg_live();
	/* the last URI without its line terminator */
	cr_assert_eq(parse_n(ffmpeg_live, sizeof(ffmpeg_live) - 2), 0);
	check_ffmpeg_live();
}

Test(hls_parse, tags_flags_and_ignored_lines)
{
	cr_assert_eq(parse("#EXTM3U\n"
			   "# a comment\n"
			   "#EXT-X-PLAYLIST-TYPE:EVENT\n"
			   "#EXT-X-MEDIA-SEQUENCE:0\n"
			   "orphan.ts\n"                  /* no #EXTINF: not a segment */
			   "#EXTINF:4,title, with comma\n"
			   "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n"
			   "a.ts\n"
			   "#EXT-X-DISCONTINUITY-SEQUENCE:3\n" /* not DISCONTINUITY */
			   "#EXTINF:3.5\n"
			   "http://cdn.example/b.ts?x=1\n"
			   "#EXT-X-DISCONTINUITY\n"
			   "#EXTINF:6.0009,\n"
			   "c.ts\n"
			   "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=bad\n"
			   "#EXT-X-ENDLIST\n"), 0);
	cr_assert_eq(pl.count, 3);
	cr_assert_eq(pl.first_msn, 0);
	cr_assert_str_eq(pl.seg[0].uri, "a.ts");
	cr_assert_str_eq(pl.seg[1].uri, "http://cdn.example/b.ts?x=1");
	cr_assert_eq(pl.seg[0].duration_ms, 4000);
	cr_assert_eq(pl.seg[1].duration_ms, 3500);
	cr_assert_eq(pl.seg[2].duration_ms, 6000);
	cr_assert_not(pl.seg[0].discontinuity);
	cr_assert_not(pl.seg[1].discontinuity);
	cr_assert(pl.seg[2].discontinuity);
	cr_assert(pl.endlist);
	cr_assert_not(pl.master);
	/* no #EXT-X-TARGETDURATION: the longest segment stands in */
	cr_assert_eq(pl.target_duration_ms, 6000);
}

Test(hls_parse, empty_live_playlist)
{
	cr_assert_eq(parse("#EXTM3U\n#EXT-X-TARGETDURATION:4\n"
			   "#EXT-X-MEDIA-SEQUENCE:9\n"), 0);
	cr_assert_eq(pl.count, 0);
	cr_assert_eq(pl.first_msn, 9);
	cr_assert_eq(pl.target_duration_ms, 4000);
	cr_assert_eq(parse("#EXTM3U"), 0);
	cr_assert_eq(pl.count, 0);
}

Test(hls_parse, master_picks_highest_bandwidth)
{
	cr_assert_eq(parse("#EXTM3U\r\n"
			   "#EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=9000000,"
			   "CODECS=\"avc1.4d401f,mp4a.40.2\",RESOLUTION=640x360\r\n"
			   "low/index.m3u8\r\n"
			   "#EXT-X-STREAM-INF:PROGRAM-ID=1, BANDWIDTH=2560000\r\n"
			   "mid/index.m3u8\r\n"
			   "#EXT-X-STREAM-INF:CODECS=\"x,BANDWIDTH=99999999\",BANDWIDTH=7680000\r\n"
			   "\r\n"
			   "hi/index.m3u8\r\n"
			   "#EXT-X-STREAM-INF:BANDWIDTH=7680000\r\n"
			   "tie/index.m3u8\r\n"
			   "#EXT-X-STREAM-INF:RESOLUTION=1x1\r\n"
			   "nobw/index.m3u8\r\n"), 0);
	cr_assert(pl.master);
	cr_assert_eq(pl.count, 0);
	cr_assert_str_eq(pl.variant_uri, "hi/index.m3u8");

	cr_assert_eq(parse("#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\nonly.m3u8\n"), 0);
	cr_assert(pl.master);
	cr_assert_str_eq(pl.variant_uri, "only.m3u8");
}

Test(hls_parse, master_malformed)
{
	static const char *const bad[] = {
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=12x\nv.m3u8\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=\nv.m3u8\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=99999999999999999999\nv.m3u8\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"unterminated\nv.m3u8\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"a\"x,BANDWIDTH=1\nv.m3u8\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:NOEQUALS\nv.m3u8\n",
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n",         /* no URI */
		"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n" /* mixed */
		"#EXTINF:2,\ns.ts\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i]), -EINVAL, "case %u", i);
}

Test(hls_parse, not_a_playlist)
{
	static const char *const bad[] = {
		"", "#EXTM3", "#EXTM3UX\n", "\n#EXTM3U\n", " #EXTM3U\n",
		"<html>#EXTM3U</html>", "\xef\xbb#EXTM3U\n", "seg1.ts\n",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i]), -EINVAL, "case %u", i);
	cr_assert_eq(parse_n("#EXTM3U\0\n", 9), -EINVAL);
}

Test(hls_parse, malformed_numbers)
{
	static const char *const bad[] = {
		"#EXT-X-TARGETDURATION:abc",
		"#EXT-X-TARGETDURATION:-1",
		"#EXT-X-TARGETDURATION:2.5",
		"#EXT-X-TARGETDURATION:",
		"#EXT-X-TARGETDURATION",
		"#EXT-X-TARGETDURATION: 2",
		"#EXT-X-TARGETDURATION:4294968",      /* ms overflow 32 bits */
		"#EXT-X-MEDIA-SEQUENCE:18446744073709551616",
		"#EXT-X-MEDIA-SEQUENCE:0x10",
		"#EXT-X-MEDIA-SEQUENCE:+1",
		"#EXTINF:abc,\ns.ts",
		"#EXTINF:-1,\ns.ts",
		"#EXTINF:2.0x,\ns.ts",
		"#EXTINF:.5,\ns.ts",
		"#EXTINF:1e3,\ns.ts",
		"#EXTINF:,\ns.ts",
		"#EXTINF:\ns.ts",
		"#EXTINF:4294967.296,\ns.ts",         /* one ms too many */
		"#EXTINF:2.0.0,\ns.ts",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "#EXTM3U\n%s\n", bad[i]);
		cr_assert_eq(parse(text), -EINVAL, "%s", bad[i]);
	}
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:4294967.295,\ns.ts\n"), 0);
	cr_assert_eq(pl.seg[0].duration_ms, UINT32_MAX);
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:7.,\ns.ts\n"), 0);
	cr_assert_eq(pl.seg[0].duration_ms, 7000);
	cr_assert_eq(parse("#EXTM3U\n#EXT-X-TARGETDURATION:4294967\n"), 0);
	cr_assert_eq(pl.target_duration_ms, 4294967000u);
}

Test(hls_parse, msn_overflow)
{
	cr_assert_eq(parse("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:18446744073709551614\n"
			   "#EXTINF:1,\na.ts\n"), 0);
	cr_assert_eq(pl.seg[0].msn, UINT64_MAX - 1);
	/* msn + 1 must stay representable */
	cr_assert_eq(parse("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n"
			   "#EXTINF:1,\na.ts\n"), -EINVAL);
	cr_assert_eq(parse("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:18446744073709551614\n"
			   "#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n"), -EINVAL);
}

Test(hls_parse, bad_uris)
{
	size_t n;

	/* the longest URI that fits, then one byte more */
	n = (size_t)snprintf(text, sizeof(text), "#EXTM3U\n#EXTINF:1,\n");
	memset(text + n, 'u', RF_HLS_URI_MAX - 1);
	text[n + RF_HLS_URI_MAX - 1] = '\0';
	cr_assert_eq(parse(text), 0);
	cr_assert_eq(strlen(pl.seg[0].uri), RF_HLS_URI_MAX - 1);
	text[n + RF_HLS_URI_MAX - 1] = 'u';
	text[n + RF_HLS_URI_MAX] = '\0';
	cr_assert_eq(parse(text), -E2BIG);
	/* and as a variant */
	n = (size_t)snprintf(text, sizeof(text),
			     "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n");
	memset(text + n, 'v', RF_HLS_URI_MAX);
	text[n + RF_HLS_URI_MAX] = '\0';
	cr_assert_eq(parse(text), -E2BIG);

	/* spaces and control characters would end up in the request line */
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:1,\na b.ts\n"), -EINVAL);
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:1,\na\rX-Evil: 1\n"), -EINVAL);
	cr_assert_eq(parse_n("#EXTM3U\n#EXTINF:1,\na\0b.ts\n", 24), -EINVAL);
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:1,\na\x7f.ts\n"), -EINVAL);
	/* bytes above 0x7f (UTF-8 names) pass */
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:1,\n\xc3\xa9.ts\n"), 0);
}

Test(hls_parse, extinf_without_uri)
{
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:2,\na.ts\n#EXTINF:2,\n"), -EINVAL);
	cr_assert_eq(parse("#EXTM3U\n#EXTINF:2,\na.ts\n#EXTINF:2,\n\n#c\n"), -EINVAL);
}

/* An ffmpeg-style live playlist of n segments from msn first; dis: the msn
 * that gets #EXT-X-DISCONTINUITY (or none). */
static void live(uint64_t first, unsigned n, uint64_t dis, bool endlist)
{
	size_t off;
	unsigned i;

	off = (size_t)snprintf(text, sizeof(text),
			       "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
			       "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", first);
	for (i = 0; i < n; i++) {
		if (first + i == dis)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"#EXT-X-DISCONTINUITY\n");
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"#EXTINF:2.000000,\nseg%" PRIu64 ".ts\n",
					first + i);
		cr_assert_lt(off, sizeof(text) - 100);
	}
	if (endlist)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"#EXT-X-ENDLIST\n");
	cr_assert_eq(parse_n(text, off), 0);
}

#define NO_DIS UINT64_MAX

Test(hls_parse, more_than_max_segments_keeps_newest)
{
	static const unsigned counts[] = { 63, 64, 65, 100, 1000 };
	char uri[32];
	unsigned c, i;

	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned n = counts[c], kept = n < RF_HLS_SEGMENTS_MAX ? n : RF_HLS_SEGMENTS_MAX;

		live(5, n, 5 + n - 2, true);
		cr_assert_eq(pl.count, kept);
		cr_assert_eq(pl.first_msn, 5 + n - kept);
		cr_assert(pl.endlist);
		for (i = 0; i < pl.count; i++) {
			snprintf(uri, sizeof(uri), "seg%u.ts", 5 + n - kept + i);
			cr_assert_eq(pl.seg[i].msn, 5 + n - kept + i);
			cr_assert_str_eq(pl.seg[i].uri, uri);
			cr_assert_eq(pl.seg[i].discontinuity, i == kept - 2);
		}
	}
}

Test(hls_resolve, cases)
{
	static const struct {
		const char *base, *ref, *want;
	} c[] = {
		{ "http://h:8080/live/a/index.m3u8?tok=1#f", "seg1.ts",
		  "http://h:8080/live/a/seg1.ts" },
		{ "http://h:8080/live/a/index.m3u8?tok=1", "/other/seg.ts",
		  "http://h:8080/other/seg.ts" },
		{ "http://h:8080/live/a/index.m3u8", "https://cdn/x.ts",
		  "https://cdn/x.ts" },
		{ "http://h/live/index.m3u8", "HTTP://Cdn/x.ts", "HTTP://Cdn/x.ts" },
		{ "http://h/live/index.m3u8", "x-1.2+3://h/s", "x-1.2+3://h/s" },
		{ "http://h/live/index.m3u8", "1x://h/s", "http://h/live/1x://h/s" },
		{ "https://h/live/index.m3u8", "//cdn2/y.ts", "https://cdn2/y.ts" },
		{ "http://h/live/a/index.m3u8", "../b/seg.ts", "http://h/live/b/seg.ts" },
		{ "http://h/live/a/index.m3u8", "./seg.ts", "http://h/live/a/seg.ts" },
		{ "http://h/live/a/index.m3u8", "../../../../x.ts", "http://h/x.ts" },
		{ "http://h/live/a/index.m3u8", "seg.ts?t=2", "http://h/live/a/seg.ts?t=2" },
		{ "http://h/live/a/index.m3u8", "a:b.ts", "http://h/live/a/a:b.ts" },
		{ "http://h/live/", "s.ts", "http://h/live/s.ts" },
		{ "http://h", "s.ts", "http://h/s.ts" },
		{ "http://h", "../s.ts", "http://h/s.ts" },
		{ "http://h", "/p/s.ts", "http://h/p/s.ts" },
		{ "http://h?q=/x/y", "s.ts", "http://h/s.ts" },
		{ "http://h#/x/y", "/s.ts", "http://h/s.ts" },
		{ "http://h/index.m3u8?a=/b/c", "s.ts", "http://h/s.ts" },
		{ "http://user@h:1/i.m3u8", "s.ts", "http://user@h:1/s.ts" },
		{ "/live/index.m3u8", "s.ts", "/live/s.ts" },
	};
	char out[256];
	unsigned i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cr_assert_eq(rf_hls_resolve(c[i].base, c[i].ref, out, sizeof(out)),
			     0, "case %u", i);
		cr_assert_str_eq(out, c[i].want, "case %u", i);
	}
}

Test(hls_resolve, too_long)
{
	static const char want[] = "http://h/live/seg1.ts";
	char out[sizeof(want)];

	cr_assert_eq(rf_hls_resolve("http://h/live/i.m3u8", "seg1.ts", out,
				    sizeof(want)), 0);
	cr_assert_str_eq(out, want);
	cr_assert_eq(rf_hls_resolve("http://h/live/i.m3u8", "seg1.ts", out,
				    sizeof(want) - 1), -ENAMETOOLONG);
	cr_assert_eq(rf_hls_resolve("http://h/live/i.m3u8", "http://a/b", out, 0),
		     -ENAMETOOLONG);
	cr_assert_eq(rf_hls_resolve("http://h/", "http://abcd/efgh/ijkl/mnop/q", out,
				    sizeof(out)), -ENAMETOOLONG);
	cr_assert_eq(rf_hls_resolve("http://h/", "/abcdefghijklmnopqrstu", out,
				    sizeof(out)), -ENAMETOOLONG);
}

/* Segments a tracker asked for, in order, with their discont flags. */
struct fetched {
	uint64_t msn[4096];
	bool discont[4096];
	size_t n;
};

/* Fetch everything the tracker wants from pl at now. */
static enum rf_hls_verdict drain(struct rf_hls_tracker *t, uint64_t now,
				 struct fetched *f)
{
	const struct rf_hls_segment *seg;
	enum rf_hls_verdict v;
	bool discont;

	while ((v = rf_hls_next(t, &pl, now, &seg, &discont)) == RF_HLS_FETCH) {
		cr_assert(seg >= pl.seg && seg < pl.seg + pl.count);
		cr_assert_lt(f->n, sizeof(f->msn) / sizeof(f->msn[0]));
		f->msn[f->n] = seg->msn;
		f->discont[f->n++] = discont;
		rf_hls_tracker_done(t, seg);
	}
	cr_assert_null(seg);
	return v;
}

Test(hls_tracker, rotating_live_playlist_no_gap_no_duplicate)
{
	static const unsigned growth[] = { 1, 0, 1, 2, 1, 0, 0, 3, 1, 1, 2, 1, 0, 1,
					   1, 4, 1, 1, 0, 1, 2, 1, 1, 1, 1 };
	static struct fetched f;
	struct rf_hls_tracker t;
	uint64_t first = 17, now = 1000;
	size_t i;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(first, 5, NO_DIS, false);
	cr_assert_eq(drain(&t, now, &f), RF_HLS_WAIT);
	/* a joining seed starts with the newest segment only */
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.msn[0], 21);
	for (i = 0; i < sizeof(growth) / sizeof(growth[0]); i++) {
		/* the window slides: the oldest ones fall out as new ones come */
		first += growth[i];
		now += 2000;
		live(first, 5, NO_DIS, false);
		cr_assert_eq(drain(&t, now, &f), RF_HLS_WAIT);
	}
	cr_assert_eq(f.msn[f.n - 1], first + 4);
	for (i = 0; i < f.n; i++) {
		cr_assert_eq(f.msn[i], 21 + i, "no gap, no duplicate, in order");
		cr_assert_not(f.discont[i]);
	}
	cr_assert_eq(t.gaps, 0);
	cr_assert_eq(t.resets, 0);
}

Test(hls_tracker, start_back)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	live(10, 5, NO_DIS, false);
	f.n = 0;
	rf_hls_tracker_init(&t, 3);
	drain(&t, 0, &f);
	cr_assert_eq(f.n, 3);
	cr_assert_eq(f.msn[0], 12);

	/* more than listed: everything listed */
	f.n = 0;
	rf_hls_tracker_init(&t, 100);
	drain(&t, 0, &f);
	cr_assert_eq(f.n, 5);
	cr_assert_eq(f.msn[0], 10);

	/* 0: only what appears after joining */
	f.n = 0;
	rf_hls_tracker_init(&t, 0);
	cr_assert_eq(drain(&t, 0, &f), RF_HLS_WAIT);
	cr_assert_eq(f.n, 0);
	live(11, 5, NO_DIS, false);
	drain(&t, 2000, &f);
	cr_assert_eq(f.n, 1);
	cr_assert_eq(f.msn[0], 15);
	cr_assert_not(f.discont[0]);
}

Test(hls_tracker, segments_fall_out_gap_counted)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(16, 5, NO_DIS, false);
	drain(&t, 0, &f); /* 20 */
	/* we were away: 21..24 fell out before we got them */
	live(25, 5, NO_DIS, false);
	drain(&t, 9000, &f);
	cr_assert_eq(t.gaps, 4);
	cr_assert_eq(f.n, 6);
	cr_assert_eq(f.msn[1], 25);
	cr_assert(f.discont[1], "the jump is marked");
	cr_assert_not(f.discont[2], "once only");
	cr_assert_eq(f.msn[5], 29);
	cr_assert_eq(t.resets, 0);
}

Test(hls_tracker, packager_restart_resets)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(500, 5, NO_DIS, false);
	drain(&t, 0, &f); /* 504 */
	/* the same playlist again, or its oldest gone: nothing new, no reset */
	live(500, 5, NO_DIS, false);
	cr_assert_eq(drain(&t, 1000, &f), RF_HLS_WAIT);
	live(501, 4, NO_DIS, false);
	cr_assert_eq(drain(&t, 1500, &f), RF_HLS_WAIT);
	cr_assert_eq(t.resets, 0);
	/* restarted from 0: newest 2 < next_msn 505 - 1 */
	live(0, 3, NO_DIS, false);
	drain(&t, 2000, &f);
	cr_assert_eq(t.resets, 1);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.msn[1], 2, "at the new live edge");
	cr_assert(f.discont[1]);
	live(1, 4, NO_DIS, false);
	drain(&t, 4000, &f);
	cr_assert_eq(f.n, 4);
	cr_assert_eq(f.msn[2], 3);
	cr_assert_eq(f.msn[3], 4);
	cr_assert_not(f.discont[2]);
	cr_assert_eq(t.gaps, 0);
	cr_assert_eq(t.resets, 1);
}

Test(hls_tracker, restart_into_empty_playlist)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(40, 3, NO_DIS, false);
	drain(&t, 0, &f);
	live(0, 0, NO_DIS, false);
	cr_assert_eq(drain(&t, 1000, &f), RF_HLS_WAIT);
	cr_assert_eq(t.resets, 1);
	/* the discontinuity waits for the first segment after the restart */
	live(0, 1, NO_DIS, false);
	drain(&t, 3000, &f);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.msn[1], 0);
	cr_assert(f.discont[1]);
}

Test(hls_tracker, discontinuity_tag)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(0, 3, NO_DIS, false);
	drain(&t, 0, &f);
	live(1, 4, 3, false);
	drain(&t, 2000, &f);
	live(2, 4, 3, false);
	drain(&t, 4000, &f);
	cr_assert_eq(f.n, 4);
	cr_assert_not(f.discont[0]);
	cr_assert(f.discont[1]);
	cr_assert_eq(f.msn[1], 3);
	cr_assert_not(f.discont[2]);
	cr_assert_not(f.discont[3], "the tag is seen again, reported once");
	cr_assert_eq(f.msn[3], 5);
	cr_assert_eq(t.gaps, 0);
}

Test(hls_tracker, stale_after_three_target_durations_then_recovers)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(0, 5, NO_DIS, false);
	drain(&t, 10000, &f);
	/* the same playlist over and over: target 2 s, stale from 6 s on */
	cr_assert_eq(drain(&t, 12000, &f), RF_HLS_WAIT);
	cr_assert_eq(drain(&t, 15999, &f), RF_HLS_WAIT);
	cr_assert_eq(drain(&t, 16000, &f), RF_HLS_STALE);
	cr_assert_eq(drain(&t, 30000, &f), RF_HLS_STALE);
	/* a clock that went back is not staleness */
	cr_assert_eq(drain(&t, 5000, &f), RF_HLS_WAIT);
	/* the source is back (after a reconnect): nothing twice, nothing lost */
	live(3, 5, NO_DIS, false);
	cr_assert_eq(drain(&t, 31000, &f), RF_HLS_WAIT);
	cr_assert_eq(f.n, 4);
	cr_assert_eq(f.msn[1], 5);
	cr_assert_eq(f.msn[3], 7);
	cr_assert_not(f.discont[1]);
	/* growth restarted the clock */
	cr_assert_eq(drain(&t, 36999, &f), RF_HLS_WAIT);
	cr_assert_eq(drain(&t, 37000, &f), RF_HLS_STALE);
	cr_assert_eq(t.gaps, 0);
	cr_assert_eq(t.resets, 0);
}

Test(hls_tracker, stale_from_an_empty_start)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1);
	live(7, 0, NO_DIS, false);
	cr_assert_eq(drain(&t, 100, &f), RF_HLS_WAIT);
	cr_assert_eq(drain(&t, 6100, &f), RF_HLS_STALE);
	live(7, 2, NO_DIS, false);
	cr_assert_eq(drain(&t, 7000, &f), RF_HLS_WAIT);
	cr_assert_eq(f.n, 2);
	cr_assert_eq(f.msn[0], 7);
	cr_assert_not(f.discont[0]);
}

Test(hls_tracker, endlist)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 2);
	live(0, 4, NO_DIS, false);
	drain(&t, 0, &f);
	live(1, 5, NO_DIS, true);
	cr_assert_eq(drain(&t, 2000, &f), RF_HLS_ENDED);
	cr_assert_eq(f.n, 4);
	cr_assert_eq(f.msn[0], 2);
	cr_assert_eq(f.msn[3], 5);
	/* ended is final even long after: not stale */
	cr_assert_eq(drain(&t, 100000, &f), RF_HLS_ENDED);

	rf_hls_tracker_init(&t, 1);
	live(3, 0, NO_DIS, true);
	cr_assert_eq(drain(&t, 0, &f), RF_HLS_ENDED);
}

Test(hls_tracker, same_segment_until_done_and_skip)
{
	const struct rf_hls_segment *seg, *again;
	struct rf_hls_tracker t;
	bool discont;

	rf_hls_tracker_init(&t, 3);
	live(0, 5, NO_DIS, false);
	cr_assert_eq(rf_hls_next(&t, &pl, 0, &seg, &discont), RF_HLS_FETCH);
	cr_assert_eq(seg->msn, 2);
	/* a failed fetch: asking again gives the same segment */
	cr_assert_eq(rf_hls_next(&t, &pl, 500, &again, &discont), RF_HLS_FETCH);
	cr_assert_eq(again, seg);
	/* it cannot be had: skip it, a gap to mark before the next */
	rf_hls_tracker_skip(&t, seg);
	cr_assert_eq(t.gaps, 1);
	cr_assert_eq(rf_hls_next(&t, &pl, 600, &seg, &discont), RF_HLS_FETCH);
	cr_assert_eq(seg->msn, 3);
	cr_assert(discont);
	rf_hls_tracker_done(&t, seg);
	/* a late done for an older segment does not rewind */
	rf_hls_tracker_done(&t, &pl.seg[1]);
	rf_hls_tracker_skip(&t, &pl.seg[2]);
	cr_assert_eq(t.gaps, 1);
	cr_assert_eq(rf_hls_next(&t, &pl, 700, &seg, &discont), RF_HLS_FETCH);
	cr_assert_eq(seg->msn, 4);
	cr_assert_not(discont);
}

Test(hls_tracker, keeps_up_with_a_trimmed_long_playlist)
{
	static struct fetched f;
	struct rf_hls_tracker t;

	f.n = 0;
	rf_hls_tracker_init(&t, 1000);
	live(0, 200, NO_DIS, false);
	drain(&t, 0, &f);
	/* only the newest RF_HLS_SEGMENTS_MAX were kept, so only those */
	cr_assert_eq(f.n, RF_HLS_SEGMENTS_MAX);
	cr_assert_eq(f.msn[0], 200 - RF_HLS_SEGMENTS_MAX);
	cr_assert_eq(t.gaps, 0);
	live(100, 150, NO_DIS, false);
	drain(&t, 2000, &f);
	cr_assert_eq(f.n, RF_HLS_SEGMENTS_MAX + 50);
	cr_assert_eq(f.msn[f.n - 1], 249);
}
