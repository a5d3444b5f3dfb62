/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "clock.h"
#include "log.h"
#include "source.h"

#define RF_PROBE_SLOTS 8192        /* ~3 s of a 28 Mbit/s stream */
#define RF_PROBE_MS_PCR 1000       /* enough data when the PCR gives the rate */
#define RF_PROBE_MS_MAX 3000       /* enough data in any case */
#define RF_STORE_SLOTS_MIN 256
#define RF_BACKOFF_BASE_MS 100
#define RF_BACKOFF_MAX_MS 1000     /* a returning source is back within 2 s */

struct rf_ingest {
	struct rf_ingest_config cfg;
	struct rf_source_url url;
	pthread_t thread;
	bool stop;                     /* set by rf_ingest_stop(), atomic */
	bool joined;

	struct rf_chunker chunker;
	bool chunker_ready;
	uint16_t chunk_max;

	/* Chunks go to cur: the probe store until the real one is sized. */
	struct rf_chunk_store *cur;
	void *probe_mem;
	struct rf_chunk_store *store;  /* published with release */
	struct rf_sig_ring *signer;    /* the ingest thread's own pointer ... */
	struct rf_sig_ring *sigs;      /* ... published before store */
	void *sig_mem;
	void *store_mem;
	size_t store_bytes;
	uint64_t first_byte_ms;

	struct rf_backoff backoff;
	uint64_t down_since_ms;        /* 0 while up or before the first data */
	bool outage_logged;
	bool sizing_failed;            /* no signature ring: do not try again */
	bool garbage_logged;
	char why[256];                 /* the current attempt's end */
	void *source_state;            /* rf_ingest_source_state() */

	pthread_mutex_t lock;          /* guards stats and error for readers */
	struct rf_ingest_stats stats;
	char error[320];               /* "source failed: " + why */
};

/* ---- for sources ---- */

const struct rf_ingest_config *rf_ingest_config(const struct rf_ingest *in)
{
	return &in->cfg;
}

const struct rf_source_url *rf_ingest_url(const struct rf_ingest *in)
{
	return &in->url;
}

bool rf_ingest_stopping(const struct rf_ingest *in)
{
	return __atomic_load_n(&in->stop, __ATOMIC_ACQUIRE);
}

void rf_ingest_why(struct rf_ingest *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
}

static void rf_ingest_emit(void *ctx, const uint8_t *payload, uint16_t len,
			   uint8_t flags)
{
	struct rf_ingest *in = ctx;

	/* cannot fail: len <= chunk size <= the store's chunk_max */
	rf_chunk_store_append(in->cur, payload, len, flags);
	if (in->signer) /* the probe's chunks are signed when they move */
		rf_sig_ring_add(in->signer, rf_chunk_store_next(in->cur) - 1, flags,
				payload, len);
}

/* A signature ring that covers every group the store can hold. */
static struct rf_sig_ring *rf_ingest_sig_ring(struct rf_ingest *in, uint32_t slots)
{
	uint32_t groups = 2;
	size_t bytes;

	while (groups < slots / in->cfg.group_size + 2)
		groups <<= 1;
	bytes = rf_sig_ring_size(groups, in->cfg.group_size);
	in->sig_mem = malloc(bytes);
	if (!in->sig_mem)
		return NULL;
	return rf_sig_ring_init(in->sig_mem, bytes, groups, in->cfg.group_size,
				in->cfg.stream_id, in->cfg.seckey);
}

void rf_ingest_set_mode(struct rf_ingest *in, enum rf_chunker_mode mode)
{
	if (in->chunker_ready && in->chunker.mode == mode)
		return;
	if (in->chunker_ready) {
		/* the source changed format: a new chunker, the same totals */
		struct rf_chunker_stats keep;

		rf_chunker_flush(&in->chunker, rf_ingest_emit, in);
		keep = in->chunker.stats;
		rf_chunker_init(&in->chunker, mode, in->cfg.packets_per_chunk,
				in->cfg.chunk_bytes);
		in->chunker.stats = keep;
		rf_chunker_discontinuity(&in->chunker, rf_ingest_emit, in);
	} else {
		rf_chunker_init(&in->chunker, mode, in->cfg.packets_per_chunk,
				in->cfg.chunk_bytes);
	}
	in->chunker_ready = true;
	rf_info("%s: %s input, chunks of %u bytes", in->cfg.name,
		mode == RF_CHUNKER_TS ? "MPEG-TS" : "byte-stream",
		in->chunker.chunk_size);
}

static void rf_ingest_sync_stats(struct rf_ingest *in)
{
	const struct rf_chunker_stats *c = &in->chunker.stats;
	uint64_t elapsed = rf_now_ms() - in->first_byte_ms;

	pthread_mutex_lock(&in->lock);
	in->stats.bytes_in = c->bytes_in;
	in->stats.chunks = c->chunks;
	in->stats.raps = c->raps;
	in->stats.garbage_bytes = c->garbage_bytes;
	in->stats.resyncs = c->resyncs;
	in->stats.discontinuities = c->discontinuities;
	in->stats.bitrate_bps = c->pcr_bitrate_bps;
	if (!in->stats.bitrate_bps && elapsed > 0)
		in->stats.bitrate_bps = c->bytes_in * 8000 / elapsed;
	pthread_mutex_unlock(&in->lock);
}

static uint32_t rf_pow2_at_least(uint64_t n)
{
	uint32_t p = RF_STORE_SLOTS_MIN;

	while (p < n && p < (1u << 30))
		p <<= 1;
	return p;
}

/* Allocate the real store for the measured bitrate, move the probe's
 * chunks into it and publish it. On allocation failure the probe store is
 * published instead: a short window beats no stream. */
static void rf_ingest_size_store(struct rf_ingest *in, uint64_t bitrate)
{
	uint64_t chunks_per_s = bitrate / 8 / in->chunker.chunk_size + 1;
	uint32_t slots = rf_pow2_at_least(in->cfg.window_s * chunks_per_s * 5 / 4);
	const struct rf_chunk_store *probe = in->cur;
	struct rf_chunk_store *s;
	const char *where = "?";
	size_t bytes;
	uint64_t seq;

	while (slots > RF_STORE_SLOTS_MIN &&
	       rf_chunk_store_size(slots, in->chunk_max) > in->cfg.store_max_bytes)
		slots >>= 1;
	bytes = rf_chunk_store_size(slots, in->chunk_max);
	in->store_mem = in->cfg.alloc(in->cfg.name, bytes, &where);
	s = in->store_mem ? rf_chunk_store_init(in->store_mem, bytes, slots,
						in->chunk_max,
						rf_chunk_store_oldest(probe))
			  : NULL;
	if (!s) {
		rf_warn("%s: cannot allocate a %zu-byte store; keeping the %u-slot probe store",
			in->cfg.name, bytes, RF_PROBE_SLOTS);
		s = in->cur;
		bytes = rf_chunk_store_size(RF_PROBE_SLOTS, in->chunk_max);
		slots = RF_PROBE_SLOTS;
		in->signer = rf_ingest_sig_ring(in, slots);
		for (seq = rf_chunk_store_oldest(s); in->signer && seq != rf_chunk_store_next(s); seq++) {
			const struct rf_chunk *c = rf_chunk_store_get(s, seq);

			rf_sig_ring_add(in->signer, seq, c->flags, c->payload, c->len);
		}
	} else {
		in->cur = s;
		in->signer = rf_ingest_sig_ring(in, slots);
		for (seq = rf_chunk_store_oldest(probe);
		     seq != rf_chunk_store_next(probe); seq++) {
			const struct rf_chunk *c = rf_chunk_store_get(probe, seq);

			rf_ingest_emit(in, c->payload, c->len, c->flags);
		}
		free(in->probe_mem);
		in->probe_mem = NULL;
		in->store_bytes = bytes;
	}
	if (!in->signer) {
		/* chunks stay in the store (the recorder, a later restart), but
		 * unsigned chunks are never served; no retry per feed */
		rf_err("%s: cannot allocate the signature ring: the stream is not served",
		       in->cfg.name);
		in->sizing_failed = true;
		return;
	}
	in->cur = s;
	__atomic_store_n(&in->sigs, in->signer, __ATOMIC_RELEASE);
	__atomic_store_n(&in->store, s, __ATOMIC_RELEASE);
	rf_info("%s: %.2f Mbit/s measured; store of %u chunks (%.1f s, %.1f MiB) in %s",
		in->cfg.name, bitrate / 1e6, slots,
		(double)slots / (double)chunks_per_s, bytes / 1048576.0, where);
	if ((double)slots / (double)chunks_per_s < in->cfg.window_s)
		rf_warn("%s: window capped below %u s by the store size limit",
			in->cfg.name, in->cfg.window_s);
	pthread_mutex_lock(&in->lock);
	in->stats.sized = true;
	in->stats.store_slots = slots;
	in->stats.store_bytes = bytes;
	pthread_mutex_unlock(&in->lock);
}

static void rf_ingest_maybe_size(struct rf_ingest *in)
{
	uint64_t elapsed = rf_now_ms() - in->first_byte_ms;
	uint64_t pcr_rate = in->chunker.stats.pcr_bitrate_bps;

	if (in->store || in->sizing_failed ||
	    rf_chunk_store_next(in->cur) == rf_chunk_store_oldest(in->cur))
		return;
	if ((pcr_rate && elapsed >= RF_PROBE_MS_PCR) || elapsed >= RF_PROBE_MS_MAX)
		rf_ingest_size_store(in, pcr_rate ? pcr_rate
						  : in->chunker.stats.bytes_in * 8000 / elapsed);
}

void rf_ingest_feed(struct rf_ingest *in, const uint8_t *data, size_t len)
{
	if (!in->chunker_ready)
		rf_ingest_set_mode(in, RF_CHUNKER_TS);
	if (in->first_byte_ms == 0)
		in->first_byte_ms = rf_now_ms();
	if (!in->stats.up) {
		uint64_t gap = in->down_since_ms ? rf_now_ms() - in->down_since_ms : 0;

		if (in->down_since_ms)
			rf_info("%s: source back after %.1f s", in->cfg.name, gap / 1e3);
		rf_backoff_reset(&in->backoff);
		in->down_since_ms = 0;
		in->outage_logged = false;
		pthread_mutex_lock(&in->lock);
		in->stats.up = true;
		in->stats.connects++;
		in->stats.last_reconnect_ms = gap;
		pthread_mutex_unlock(&in->lock);
	}
	rf_chunker_feed(&in->chunker, data, len, rf_ingest_emit, in);
	if (in->chunker.stats.garbage_bytes && !in->garbage_logged) {
		rf_warn("%s: the source sends bytes that are not MPEG-TS: skipping them (counted in garbage_bytes, logged once)",
			in->cfg.name);
		in->garbage_logged = true;
	}
	rf_ingest_maybe_size(in);
	rf_ingest_sync_stats(in);
}

/* Sign the group in progress as it is: the source paused or ended, and
 * peers must be able to verify the chunks before the pause. */
static void rf_ingest_sign_partial(struct rf_ingest *in)
{
	if (in->signer)
		rf_sig_ring_flush(in->signer);
}

void rf_ingest_gap(struct rf_ingest *in)
{
	if (in->chunker_ready)
		rf_chunker_discontinuity(&in->chunker, rf_ingest_emit, in);
	rf_ingest_sign_partial(in);
}

/* ---- the ingest thread ---- */

static enum rf_source_end rf_ingest_run_source(struct rf_ingest *in)
{
	switch (in->url.kind) {
	case RF_SOURCE_UDP: return rf_source_udp_run(in);
	case RF_SOURCE_HTTP: return rf_source_http_run(in);
	case RF_SOURCE_HLS: return rf_source_hls_run(in);
	case RF_SOURCE_FILE: return rf_source_file_run(in);
	}
	rf_ingest_why(in, "unknown source kind");
	return RF_SOURCE_FATAL;
}

/* In slices, so a stop is noticed quickly. */
void rf_ingest_sleep(const struct rf_ingest *in, uint32_t ms)
{
	uint64_t until = rf_now_ms() + ms;

	while (!rf_ingest_stopping(in) && rf_now_ms() < until) {
		struct timespec ts = { 0, 20 * 1000000 };

		nanosleep(&ts, NULL);
	}
}

/* The source went away: mark the gap once, log the outage once. */
static void rf_ingest_outage(struct rf_ingest *in)
{
	if (in->stats.up) {
		rf_ingest_gap(in);
		rf_ingest_sync_stats(in);
		in->down_since_ms = rf_now_ms();
	}
	pthread_mutex_lock(&in->lock);
	in->stats.up = false;
	pthread_mutex_unlock(&in->lock);
	if (!in->down_since_ms)
		in->down_since_ms = rf_now_ms();
	if (!in->outage_logged) {
		rf_warn("%s: source %s: %s; serving what is buffered, retrying",
			in->cfg.name, in->cfg.url, in->why[0] ? in->why : "ended");
		in->outage_logged = true;
	}
}

/* An attempt failed or its connection ended: one failure. */
static void rf_ingest_lost(struct rf_ingest *in)
{
	pthread_mutex_lock(&in->lock);
	in->stats.failures++;
	pthread_mutex_unlock(&in->lock);
	rf_ingest_outage(in);
}

void rf_ingest_down(struct rf_ingest *in)
{
	pthread_mutex_lock(&in->lock);
	in->stats.stalls++;
	pthread_mutex_unlock(&in->lock);
	rf_ingest_outage(in);
}

void *rf_ingest_source_state(struct rf_ingest *in, size_t size)
{
	if (!in->source_state)
		in->source_state = calloc(1, size);
	return in->source_state;
}

static void rf_ingest_finish(struct rf_ingest *in, bool failed)
{
	if (in->chunker_ready)
		rf_chunker_flush(&in->chunker, rf_ingest_emit, in);
	rf_ingest_sign_partial(in);
	if (!in->store && in->cur && rf_chunk_store_next(in->cur) != rf_chunk_store_oldest(in->cur))
		rf_ingest_size_store(in, in->stats.bitrate_bps ? in->stats.bitrate_bps : 2000000);
	if (in->chunker_ready)
		rf_ingest_sync_stats(in);
	pthread_mutex_lock(&in->lock);
	in->stats.finished = true;
	in->stats.failed = failed;
	in->stats.up = false;
	snprintf(in->error, sizeof(in->error), "%s: %s",
		 failed ? "source failed" : "source ended",
		 in->why[0] ? in->why : "no reason given");
	pthread_mutex_unlock(&in->lock);
}

static void *rf_ingest_main(void *arg)
{
	struct rf_ingest *in = arg;

	while (!rf_ingest_stopping(in)) {
		enum rf_source_end end;

		in->why[0] = '\0';
		end = rf_ingest_run_source(in);
		if (rf_ingest_stopping(in))
			break;
		if (end == RF_SOURCE_DONE) {
			rf_info("%s: source ended: %s", in->cfg.name, in->why);
			rf_ingest_finish(in, false);
			return NULL;
		}
		if (end == RF_SOURCE_FATAL) {
			rf_err("%s: source %s: %s", in->cfg.name, in->cfg.url, in->why);
			rf_ingest_finish(in, true);
			return NULL;
		}
		rf_ingest_lost(in);
		rf_ingest_sleep(in, rf_backoff_next(&in->backoff, randombytes_random()));
	}
	/* shutting down: what is pending is stream data too */
	if (in->chunker_ready) {
		rf_chunker_flush(&in->chunker, rf_ingest_emit, in);
		rf_ingest_sign_partial(in);
		rf_ingest_sync_stats(in);
	}
	return NULL;
}

/* ---- lifecycle ---- */

int rf_ingest_start(struct rf_ingest **out, const struct rf_ingest_config *cfg,
		    char *err, size_t errlen)
{
	struct rf_ingest *in;
	size_t probe_bytes;
	int rc;

	if (cfg->window_s == 0 || cfg->packets_per_chunk == 0 ||
	    cfg->group_size == 0 || cfg->group_size > RF_GROUP_MAX || !cfg->seckey ||
	    cfg->packets_per_chunk * RF_TS_PACKET > RF_CHUNK_MAX ||
	    cfg->chunk_bytes == 0 || cfg->chunk_bytes > RF_CHUNK_MAX) {
		snprintf(err, errlen, "bad chunking parameters: %u TS packets or %u bytes per chunk (at most %d bytes)",
			 cfg->packets_per_chunk, cfg->chunk_bytes, RF_CHUNK_MAX);
		return -EINVAL;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->cfg = *cfg;
	rc = rf_source_url_parse(cfg->url, &in->url, err, errlen);
	if (rc)
		goto free_in;
	in->chunk_max = (uint16_t)(cfg->packets_per_chunk * RF_TS_PACKET);
	if (cfg->chunk_bytes > in->chunk_max)
		in->chunk_max = (uint16_t)cfg->chunk_bytes;
	probe_bytes = rf_chunk_store_size(RF_PROBE_SLOTS, in->chunk_max);
	in->probe_mem = malloc(probe_bytes);
	rc = -ENOMEM;
	if (!in->probe_mem)
		goto free_in;
	/* a random first sequence number, as PROTOCOL.md asks */
	in->cur = rf_chunk_store_init(in->probe_mem, probe_bytes, RF_PROBE_SLOTS,
				      in->chunk_max, randombytes_random());
	rf_backoff_init(&in->backoff, RF_BACKOFF_BASE_MS, RF_BACKOFF_MAX_MS);
	pthread_mutex_init(&in->lock, NULL);
	rc = -pthread_create(&in->thread, NULL, rf_ingest_main, in);
	if (rc) {
		snprintf(err, errlen, "cannot start the ingest thread: %s", strerror(-rc));
		goto free_probe;
	}
	*out = in;
	return 0;

free_probe:
	pthread_mutex_destroy(&in->lock);
	free(in->probe_mem);
free_in:
	free(in);
	return rc;
}

void rf_ingest_stop(struct rf_ingest *in)
{
	if (!in || in->joined)
		return;
	__atomic_store_n(&in->stop, true, __ATOMIC_RELEASE);
	pthread_join(in->thread, NULL);
	in->joined = true;
}

void rf_ingest_free(struct rf_ingest *in)
{
	if (!in)
		return;
	rf_ingest_stop(in);
	if (in->store_mem)
		in->cfg.free(in->cfg.name, in->store_mem, in->store_bytes);
	free(in->probe_mem);
	free(in->sig_mem);
	free(in->source_state);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

const struct rf_chunk_store *rf_ingest_store(const struct rf_ingest *in)
{
	return __atomic_load_n(&in->store, __ATOMIC_ACQUIRE);
}

const struct rf_sig_ring *rf_ingest_sigs(const struct rf_ingest *in)
{
	return __atomic_load_n(&in->sigs, __ATOMIC_ACQUIRE);
}

void rf_ingest_stats(const struct rf_ingest *in, struct rf_ingest_stats *out)
{
	struct rf_ingest *mut = (struct rf_ingest *)in;

	pthread_mutex_lock(&mut->lock);
	*out = in->stats;
	pthread_mutex_unlock(&mut->lock);
}

const char *rf_ingest_error(const struct rf_ingest *in)
{
	return in->error;
}
