/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Live HLS pull, the part without I/O: parse a playlist and decide which
 * segments to fetch next. The seed's HLS source does the HTTP.
 *
 * Media playlists: #EXTM3U, #EXT-X-TARGETDURATION, #EXT-X-MEDIA-SEQUENCE,
 * #EXTINF, #EXT-X-DISCONTINUITY, #EXT-X-ENDLIST, segment URIs (relative
 * or absolute). Master playlists (#EXT-X-STREAM-INF): the variant with the
 * highest BANDWIDTH is chosen. Anything else is ignored; a text that is not
 * a playlist is refused.
 */
#ifndef RF_HLS_H
#define RF_HLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_HLS_URI_MAX 1024
#define RF_HLS_SEGMENTS_MAX 64 /* newest kept when a playlist lists more */

struct rf_hls_segment {
	uint64_t msn;            /* media sequence number */
	uint32_t duration_ms;    /* #EXTINF, truncated to the ms */
	bool discontinuity;      /* #EXT-X-DISCONTINUITY before it */
	char uri[RF_HLS_URI_MAX];
};

struct rf_hls_playlist {
	bool master;             /* then variant_uri is set, no segments */
	char variant_uri[RF_HLS_URI_MAX];
	uint32_t target_duration_ms; /* absent or 0: the longest #EXTINF */
	bool endlist;
	uint64_t first_msn;      /* msn of seg[0]; of the next one if none */
	unsigned count;
	struct rf_hls_segment seg[RF_HLS_SEGMENTS_MAX]; /* oldest first */
};

/*
 * Parse text[0..len) (untrusted, need not be NUL-terminated). Lines end in
 * \n or \r\n; the first must be #EXTM3U (after an optional UTF-8 BOM).
 * A segment is the first non-empty, non-# line after #EXTINF, numbered
 * #EXT-X-MEDIA-SEQUENCE + its index. URIs must not contain spaces or
 * control characters (they end up in an HTTP request line).
 *
 * 0, or -EINVAL (not a playlist, a malformed tag value or URI, #EXTINF or
 * #EXT-X-STREAM-INF without a URI, segments and variants mixed, msn
 * overflow) / -E2BIG (a URI of RF_HLS_URI_MAX bytes or more). On error
 * *pl is unusable.
 */
int rf_hls_parse(const char *text, size_t len, struct rf_hls_playlist *pl);

/*
 * Resolve ref against the URL base into out: "scheme://..." as is,
 * "//host/..." with base's scheme, "/path" with base's scheme://authority,
 * anything else relative to the directory of base's path (base's query and
 * fragment dropped; leading "./" and "../" are applied, never above "/").
 * 0 or -ENAMETOOLONG. out must not overlap base or ref.
 */
int rf_hls_resolve(const char *base, const char *ref, char *out, size_t cap);

/*
 * Which segment to fetch next across playlist refreshes, so that each
 * segment is fetched once and in msn order.
 *
 * Start: the first playlist seen fixes next_msn = (newest msn + 1) -
 * start_back, never before the oldest listed: start_back 1 begins with the
 * newest segment, n with the newest n, 0 with the first segment that
 * appears after joining.
 *
 * Then, on each refresh:
 *  - the oldest listed msn is past next_msn (we were too slow): jump to it,
 *    count the skipped ones in gaps, report discont;
 *  - the newest listed msn is below next_msn - 1 (the packager restarted
 *    and its numbering went back): count a reset, start over at the new
 *    live edge as above, report discont;
 *  - the newest msn did not grow for 3 target durations while there is
 *    nothing left to fetch: RF_HLS_STALE. The caller reconnects, keeping
 *    the tracker, so nothing is fetched twice once the source is back.
 */
struct rf_hls_tracker {
	unsigned start_back;
	bool started;            /* the first playlist fixed next_msn */
	bool discont;            /* a gap before next_msn still to report */
	uint64_t next_msn;       /* next segment wanted */
	uint64_t end_msn;        /* one past the newest msn seen */
	uint64_t last_change_ms; /* when end_msn last grew (or the start/reset) */
	uint64_t gaps;           /* segments that fell out before we got them */
	uint64_t resets;         /* playlist restarted (msn went backwards) */
};

enum rf_hls_verdict {
	RF_HLS_FETCH,            /* fetch *seg (discontinuity: mark a gap first) */
	RF_HLS_WAIT,             /* nothing new yet: poll again later */
	RF_HLS_STALE,            /* no new segment for 3 target durations */
	RF_HLS_ENDED,            /* #EXT-X-ENDLIST and all fetched */
};

/* Start: live edge minus start_back segments (default 1: the newest). */
void rf_hls_tracker_init(struct rf_hls_tracker *t, unsigned start_back);

/* Given the latest media playlist at now_ms, what to do next. On FETCH,
 * *seg points into pl and *discont tells whether to mark a gap before it
 * (a skipped segment, a reset, or #EXT-X-DISCONTINUITY); otherwise *seg is
 * NULL. Asking again before done/skip returns the same segment. */
enum rf_hls_verdict rf_hls_next(struct rf_hls_tracker *t,
				const struct rf_hls_playlist *pl,
				uint64_t now_ms,
				const struct rf_hls_segment **seg,
				bool *discont);

/* The segment was ingested: move past it. */
void rf_hls_tracker_done(struct rf_hls_tracker *t,
			 const struct rf_hls_segment *seg);

/* The segment cannot be had (e.g. 404 while still listed): move past it,
 * counting a gap, so one bad segment does not stall the stream. */
void rf_hls_tracker_skip(struct rf_hls_tracker *t,
			 const struct rf_hls_segment *seg);

#endif
