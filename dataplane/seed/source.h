/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sources of an ingest, and what they may ask of it. A source's run()
 * holds one connection (or one pass over a file) and returns when it ends;
 * the ingest loop decides about retries, backoff and discontinuities.
 */
#ifndef RF_SOURCE_H
#define RF_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunker.h"
#include "ingest.h"

enum rf_source_end {
	RF_SOURCE_RETRY, /* lost or never reached: try again after a backoff */
	RF_SOURCE_DONE,  /* ended for good (file without --loop, HLS ENDLIST) */
	RF_SOURCE_FATAL, /* cannot work (unsupported format, no such file) */
};

enum rf_source_end rf_source_udp_run(struct rf_ingest *in);
enum rf_source_end rf_source_http_run(struct rf_ingest *in);
enum rf_source_end rf_source_hls_run(struct rf_ingest *in);
enum rf_source_end rf_source_file_run(struct rf_ingest *in);

/* ---- for sources ---- */

const struct rf_source_url *rf_ingest_url(const struct rf_ingest *in);

/* True once rf_ingest_stop() was called: return promptly. */
bool rf_ingest_stopping(const struct rf_ingest *in);

/* How the bytes are chunked: MPEG-TS (the default) or raw bytes. A source
 * that sniffs its format says so before its first feed. */
void rf_ingest_set_mode(struct rf_ingest *in, enum rf_chunker_mode mode);

/* Bytes of the stream, in order. */
void rf_ingest_feed(struct rf_ingest *in, const uint8_t *data, size_t len);

/* A hole inside a connection (RTP loss, a skipped HLS segment). */
void rf_ingest_gap(struct rf_ingest *in);

/* The source went quiet: counts a stall and starts the outage (the gap is
 * marked, logged once). A source that keeps listening (UDP) carries on;
 * others return RF_SOURCE_RETRY, which counts the failed attempt. */
void rf_ingest_down(struct rf_ingest *in);

/* State a source keeps across its runs (HLS: which segment is next),
 * zeroed on first use, freed with the ingest. NULL if out of memory. */
void *rf_ingest_source_state(struct rf_ingest *in, size_t size);

/* Sleep ms, waking early when the ingest is stopping. */
void rf_ingest_sleep(const struct rf_ingest *in, uint32_t ms);

/* Say why the source ended; logged once by the ingest loop. */
void rf_ingest_why(struct rf_ingest *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
