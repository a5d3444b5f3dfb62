/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HLS live pull: poll the playlist, fetch new TS segments in order (each
 * whole before it is fed, so a failed fetch is retried without duplicating
 * bytes), mark gaps for discontinuities, skipped segments and playlist
 * resets. Which segment is next survives reconnects: no gap and no
 * duplicate when the source comes back.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hls.h"
#include "http.h"
#include "log.h"

#define RF_HLS_PLAYLIST_MAX (1 << 20)
#define RF_HLS_SEGMENT_MAX (64 << 20)
#define RF_HLS_PLAYLIST_TIMEOUT_MS 5000

struct rf_hls_state {
	bool started;
	bool parsed_once;          /* a playlist was understood at least once */
	bool ts_checked;
	struct rf_hls_tracker tracker;
	char playlist_url[RF_HLS_URI_MAX];
	char segment_url[RF_HLS_URI_MAX];
	struct rf_hls_playlist pl;
	struct rf_http_body body;
};

/* Fetch and feed one segment. */
static enum rf_source_end rf_hls_segment(struct rf_ingest *in,
					 struct rf_hls_state *st,
					 const struct rf_hls_segment *seg,
					 bool discont)
{
	long timeout = 3L * st->pl.target_duration_ms;
	enum rf_source_end end = RF_SOURCE_RETRY;

	if (rf_hls_resolve(st->playlist_url, seg->uri, st->segment_url,
			   sizeof(st->segment_url)) != 0) {
		rf_ingest_why(in, "segment URL too long");
		return RF_SOURCE_RETRY;
	}
	st->body.max = RF_HLS_SEGMENT_MAX;
	if (rf_http_get(in, st->segment_url, &st->body,
			timeout > 10000 ? timeout : 10000, &end) != CURLE_OK)
		return end;
	if (!st->ts_checked) {
		if (!rf_ts_sniff(st->body.data, st->body.len)) {
			rf_ingest_why(in, "segment %s is not MPEG-TS (fMP4 HLS is not supported)",
				      st->segment_url);
			return RF_SOURCE_FATAL;
		}
		st->ts_checked = true;
	}
	if (discont)
		rf_ingest_gap(in);
	rf_ingest_feed(in, st->body.data, st->body.len);
	rf_hls_tracker_done(&st->tracker, seg);
	return RF_SOURCE_DONE; /* this segment is done: ask for the next */
}

/* Fetch the playlist into st->pl, following a master playlist to its
 * variant. */
static enum rf_source_end rf_hls_playlist(struct rf_ingest *in,
					  struct rf_hls_state *st)
{
	enum rf_source_end end = RF_SOURCE_RETRY;
	char variant[RF_HLS_URI_MAX];

	for (int hops = 0; hops < 2; hops++) {
		st->body.max = RF_HLS_PLAYLIST_MAX;
		if (rf_http_get(in, st->playlist_url, &st->body,
				RF_HLS_PLAYLIST_TIMEOUT_MS, &end) != CURLE_OK)
			return end;
		if (rf_hls_parse((const char *)st->body.data, st->body.len, &st->pl) != 0) {
			rf_ingest_why(in, "%s is not a valid HLS playlist", st->playlist_url);
			return st->parsed_once ? RF_SOURCE_RETRY : RF_SOURCE_FATAL;
		}
		st->parsed_once = true;
		if (!st->pl.master)
			return RF_SOURCE_DONE; /* a media playlist: go on */
		if (rf_hls_resolve(st->playlist_url, st->pl.variant_uri, variant,
				   sizeof(variant)) != 0) {
			rf_ingest_why(in, "variant URL too long");
			return RF_SOURCE_FATAL;
		}
		rf_info("%s: master playlist: following variant %s",
			rf_ingest_config(in)->name, variant);
		strcpy(st->playlist_url, variant);
	}
	rf_ingest_why(in, "a master playlist points to another master playlist");
	return RF_SOURCE_FATAL;
}

static enum rf_source_end rf_hls_poll(struct rf_ingest *in,
				      struct rf_hls_state *st)
{
	enum rf_source_end end;

	while (!rf_ingest_stopping(in)) {
		const struct rf_hls_segment *seg;
		uint32_t poll_ms;
		bool discont;

		end = rf_hls_playlist(in, st);
		if (end != RF_SOURCE_DONE)
			return end;
		switch (rf_hls_next(&st->tracker, &st->pl, rf_now_ms(), &seg, &discont)) {
		case RF_HLS_FETCH:
			end = rf_hls_segment(in, st, seg, discont);
			if (end != RF_SOURCE_DONE)
				return end;
			continue; /* more may be listed already */
		case RF_HLS_WAIT:
			break;
		case RF_HLS_STALE:
			rf_ingest_why(in, "playlist not updated for 3 target durations");
			rf_ingest_down(in);
			return RF_SOURCE_RETRY;
		case RF_HLS_ENDED:
			rf_ingest_why(in, "the playlist ended (#EXT-X-ENDLIST)");
			return RF_SOURCE_DONE;
		}
		/* poll at half the target duration, as players do */
		poll_ms = st->pl.target_duration_ms / 2;
		rf_ingest_sleep(in, poll_ms < 200 ? 200 : poll_ms > 2000 ? 2000 : poll_ms);
	}
	return RF_SOURCE_RETRY;
}

enum rf_source_end rf_source_hls_run(struct rf_ingest *in)
{
	struct rf_hls_state *st = rf_ingest_source_state(in, sizeof(*st));
	enum rf_source_end end;

	if (!st) {
		rf_ingest_why(in, "out of memory");
		return RF_SOURCE_RETRY;
	}
	if (!st->started) {
		rf_hls_tracker_init(&st->tracker, 1);
		strcpy(st->playlist_url, rf_ingest_url(in)->url);
		st->started = true;
	}
	end = rf_hls_poll(in, st);
	rf_http_body_free(&st->body);
	return end;
}
