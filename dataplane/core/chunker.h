/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chunker: turns the bytes of a source into chunks (PROTOCOL.md: one chunk
 * is one DATA payload). No I/O, no clock, no allocation: bytes come in,
 * chunks go out through a callback, in order.
 *
 * MPEG-TS mode
 *   Sync: locks when RF_TS_SYNC_PACKETS packets in a row start with 0x47
 *   at 188-byte spacing; input may be split anywhere. Out of sync, bytes
 *   that cannot start a packet are dropped one by one and counted as
 *   garbage; a packet that does not start with 0x47 loses sync, and finding
 *   it again counts a resync. Garbage is never passed on.
 *
 *   Chunks: packets_per_chunk packets (7: 1316 bytes), cut shorter only
 *   for a random access point, a flush or a discontinuity.
 *
 *   Random access points: the chunker follows PAT -> PMT to the first
 *   video stream (H.264, HEVC, MPEG-1/2). A keyframe is the start of a
 *   video PES with random_access_indicator set, or whose first packet holds
 *   an H.264 IDR, an HEVC IRAP NAL unit or an MPEG-1/2 sequence header.
 *   A chunk that begins with a PAT (PID 0, section start) and contains a
 *   keyframe is marked RF_FLAG_DATA_RAP: when a keyframe starts, the
 *   pending packets before the latest PAT are emitted as a short chunk and
 *   the PAT begins the RAP chunk. So that a PAT near the end of a chunk is
 *   not sent ahead of its keyframe, a full chunk holding a PAT is held back
 *   until a keyframe could no longer share a chunk with that PAT (at most
 *   packets_per_chunk - 1 more packets). Hence a keyframe is marked when
 *   the latest PAT before it is less than packets_per_chunk packets ahead of
 *   it with no flush or discontinuity between them; ffmpeg writes PAT and
 *   PMT right before every video keyframe, so there every keyframe is.
 *
 *   Bitrate: from the PCRs of the program's PCR PID, the bytes between two
 *   PCRs over the time between them, averaged over the last 1 to 2 s.
 *   Wraparound is handled; a discontinuity_indicator, a step backwards or
 *   over RF_PCR_MAX_STEP restarts the measurement.
 *
 * Bytes mode (non-TS input such as Icecast MP3/AAC/Ogg): fixed-size
 * chunks, no marks.
 *
 * rf_chunker_flush() ends a stream: the pending chunk is emitted. Whole
 * packets that were still being checked for sync (fewer than
 * RF_TS_SYNC_PACKETS were left) are passed on if each starts with 0x47; a
 * truncated packet is dropped as garbage. rf_chunker_discontinuity() does
 * the same, marks the next chunk RF_FLAG_DATA_DISCONT and requires sync
 * again (what follows a gap may start anywhere; the packets checked for sync
 * are passed on, so an aligned source loses nothing).
 *
 * Accounting: once flushed, bytes_in == emitted bytes + garbage_bytes, and
 * in TS mode emitted bytes == packets * RF_TS_PACKET. In between, at most
 * twice the chunk size is held (pending chunk and carry).
 */
#ifndef RF_CHUNKER_H
#define RF_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define RF_TS_PACKET 188
#define RF_TS_SYNC 0x47
#define RF_TS_SYNC_PACKETS 3 /* sync bytes in a row needed to lock */
#define RF_TS_PACKETS_DEFAULT 7

#define RF_PCR_HZ 27000000u
#define RF_PCR_MAX_STEP (10 * (uint64_t)RF_PCR_HZ) /* larger: a jump */

enum rf_chunker_mode {
	RF_CHUNKER_TS,
	RF_CHUNKER_BYTES,
};

/* Called once per chunk, in order; len is 1..chunk size. */
typedef void (*rf_chunk_emit_fn)(void *ctx, const uint8_t *payload,
				 uint16_t len, uint8_t flags);

struct rf_chunker_stats {
	uint64_t bytes_in;       /* everything fed */
	uint64_t packets;        /* TS packets passed on */
	uint64_t garbage_bytes;  /* dropped: out of sync, or a truncated packet */
	uint64_t resyncs;        /* times sync was lost and found again */
	uint64_t chunks;
	uint64_t raps;
	uint64_t discontinuities;
	uint64_t pcr_bitrate_bps; /* 0 until two PCRs were seen */
};

/* A PCR and the index (in stats.packets) of the packet that carried it. */
struct rf_pcr_mark {
	uint64_t pcr;
	uint64_t packet;
};

/* Caller-owned; the fields below stats are private to chunker.c. */
struct rf_chunker {
	enum rf_chunker_mode mode;
	uint16_t chunk_size;     /* bytes: packets * 188 in TS mode */
	struct rf_chunker_stats stats;

	/* The chunk being filled; up to twice chunk_size while a chunk that
	 * holds a PAT is held back for a keyframe. */
	uint16_t pending_len;
	uint8_t flags;           /* for the chunk at the front of pending */
	int16_t pat_off;         /* latest PAT in pending (bytes), or -1 */
	uint8_t pending[2 * RF_CHUNK_MAX];

	/* TS sync: synced, carry holds a packet split across feeds; hunting,
	 * it holds the bytes being checked for sync. */
	bool synced;
	bool lost;               /* sync was lost: the next lock is a resync */
	uint16_t carry_len;
	uint8_t carry[RF_TS_PACKET * RF_TS_SYNC_PACKETS];

	/* Program tables; a PID above 0x1FFF is not known (yet). */
	uint16_t pmt_pid;
	uint16_t video_pid;
	uint16_t pcr_pid;
	uint8_t video_type;      /* PMT stream_type of the video PID */

	/* Bitrate window: from -> latest PCR; next becomes from after 1 s. */
	bool pcr_on;
	uint64_t pcr_last;
	struct rf_pcr_mark pcr_from, pcr_next;
};

/* 0, or -EINVAL for an unknown mode, packets_per_chunk of 0 or a chunk
 * above RF_CHUNK_MAX (TS), chunk_bytes of 0 or above RF_CHUNK_MAX (bytes).
 * The argument of the other mode is ignored. */
int rf_chunker_init(struct rf_chunker *c, enum rf_chunker_mode mode,
		    unsigned packets_per_chunk, unsigned chunk_bytes);

/* Feed len bytes; emits every chunk they complete. */
void rf_chunker_feed(struct rf_chunker *c, const uint8_t *data, size_t len,
		     rf_chunk_emit_fn emit, void *ctx);

/* The source had a gap: flush, mark the next chunk RF_FLAG_DATA_DISCONT,
 * and (TS) look for sync again. */
void rf_chunker_discontinuity(struct rf_chunker *c, rf_chunk_emit_fn emit,
			      void *ctx);

/* Emit everything held (end of a file, shutdown). */
void rf_chunker_flush(struct rf_chunker *c, rf_chunk_emit_fn emit, void *ctx);

/* ---- helpers also used by sources (file pacing, RTP detection) ---- */

/* Whether p looks like MPEG-TS: three sync bytes 188 bytes apart, starting
 * within the first packet's length (how sources sniff their format). */
bool rf_ts_sniff(const uint8_t *p, size_t len);

/* The PCR of one TS packet in 27 MHz units (base * 300 + extension), if it
 * carries a valid one. */
bool rf_ts_pcr(const uint8_t pkt[RF_TS_PACKET], uint64_t *pcr);

/* If dgram is RTP (version 2; CSRCs, header extension and padding allowed)
 * whose payload starts with the TS sync byte, set *off and *plen to where
 * the TS starts and how long it is (padding excluded), *seq to the RTP
 * sequence number, and return true. A datagram that starts with the TS
 * sync byte is raw TS: false, as is anything malformed. */
bool rf_rtp_ts_payload(const uint8_t *dgram, size_t len, size_t *off,
		       size_t *plen, uint16_t *seq);

#endif
