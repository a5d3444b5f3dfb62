/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ingest: one thread per stream pulls the source, chunks it and appends the
 * chunks to the stream's chunk store, which TX lcores read without locks.
 *
 * The store is sized from --window-seconds x the measured bitrate: the
 * first seconds go to a small probe store while the bitrate is measured
 * (from the PCR, else from the bytes); then the real store is allocated
 * (hugepage memzone when DPDK runs, plain memory otherwise), the probe's
 * chunks are copied in, and the store is published. From then on nothing
 * at the source (refusal, errors, stalls, garbage, restarts) takes away
 * what the store holds: the source is retried with backoff and the gap is
 * marked as a discontinuity.
 */
#ifndef RF_INGEST_H
#define RF_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk_store.h"
#include "crypto.h"
#include "sig_ring.h"
#include "source_url.h"

struct rf_ingest;

/* Memory for a store: returns NULL on failure; *desc says where it went
 * ("memzone", "hugepages", "heap") for the log. */
typedef void *(*rf_store_alloc_fn)(const char *name, size_t bytes,
				   const char **desc);
typedef void (*rf_store_free_fn)(const char *name, void *mem, size_t bytes);

struct rf_ingest_config {
	const char *url;
	const char *name;            /* for logs: the stream id in hex */
	uint64_t stream_id;
	const uint8_t *seckey;       /* RF_SECKEY_LEN: signs every chunk group */
	uint8_t group_size;          /* chunks per signature (1..RF_GROUP_MAX) */
	unsigned window_s;           /* seconds of stream the store keeps */
	size_t store_max_bytes;      /* cap on the store's memory */
	unsigned packets_per_chunk;  /* TS packets per chunk */
	unsigned chunk_bytes;        /* non-TS input: bytes per chunk */
	bool loop;                   /* file://: start over at the end */
	unsigned stall_ms;           /* no data this long: source is down */
	rf_store_alloc_fn alloc;
	rf_store_free_fn free;
};

/* Everything is a running total since start; read with rf_ingest_stats(). */
struct rf_ingest_stats {
	bool up;                     /* data is flowing now */
	bool sized;                  /* the real store is allocated */
	bool finished;               /* the source ended or failed for good */
	bool failed;                 /* ... failed: it cannot work */
	uint64_t bytes_in;
	uint64_t chunks;
	uint64_t raps;
	uint64_t garbage_bytes;
	uint64_t resyncs;
	uint64_t discontinuities;
	uint64_t connects;           /* successful (re)connections */
	uint64_t failures;           /* failed attempts and lost connections */
	uint64_t stalls;
	uint64_t bitrate_bps;        /* PCR-measured, else from bytes */
	uint64_t last_reconnect_ms;  /* from losing the source to data again */
	uint64_t store_slots;
	uint64_t store_bytes;
};

/* Validate cfg (a bad URL is refused here, with err set) and start the
 * ingest thread. 0 or -errno. */
int rf_ingest_start(struct rf_ingest **out, const struct rf_ingest_config *cfg,
		    char *err, size_t errlen);

/* Stop the thread; the store and the statistics stay readable. */
void rf_ingest_stop(struct rf_ingest *in);

/* Free everything, the store included (stops the thread if need be). */
void rf_ingest_free(struct rf_ingest *in);

/* The published store, or NULL while the bitrate is being measured. */
const struct rf_chunk_store *rf_ingest_store(const struct rf_ingest *in);

/* The signatures of the store's chunk groups, published before the store
 * (so a reader that saw the store sees them), NULL until then. */
const struct rf_sig_ring *rf_ingest_sigs(const struct rf_ingest *in);

void rf_ingest_stats(const struct rf_ingest *in, struct rf_ingest_stats *out);

/* The configuration it was started with. */
const struct rf_ingest_config *rf_ingest_config(const struct rf_ingest *in);

/* Why the ingest finished: valid once rf_ingest_stats() said finished. */
const char *rf_ingest_error(const struct rf_ingest *in);

#endif
