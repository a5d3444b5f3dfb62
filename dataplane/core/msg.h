/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Encode and decode of every v1 message (docs/PROTOCOL.md).
 *
 * Decoding never copies variable-length parts: payloads, tokens, hashes and
 * bitmaps are pointers into the datagram, valid while it is. Decoding
 * checks every field a receiver can check without state (lengths, counts,
 * families, reserved values); what needs state (cookies, tokens,
 * signatures, sessions) is checked by the seed and peer logic.
 */
#ifndef RF_MSG_H
#define RF_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "wire.h"

struct rf_hello {
	uint64_t peer_id;
};

struct rf_cookie_msg {
	uint64_t peer_id;
	uint8_t cookie[RF_COOKIE_LEN];
};

struct rf_join {
	uint64_t peer_id;
	uint8_t cookie[RF_COOKIE_LEN];
	uint32_t upload_kbps;       /* upload the peer offers to the grid */
	const uint8_t *token;       /* RF_TOKEN_LEN bytes, or NULL */
};

struct rf_welcome {
	uint16_t chunk_size;
	uint8_t substreams;         /* K: chunk s is in substream s mod K */
	uint8_t group_size;         /* chunks per SIGNATURE */
	uint32_t chunk_rate_milli;  /* chunks per 1000 s */
	uint64_t live_edge;         /* next sequence the source will produce */
	uint64_t window_first;      /* oldest sequence the sender holds */
	uint8_t pubkey[RF_PUBKEY_LEN];
	uint32_t keepalive_ms;
	uint8_t rap_count;
	uint64_t raps[RF_RAPS_MAX]; /* newest first */
};

struct rf_candidate {
	struct rf_addr addr;
	uint64_t substreams;        /* mask of substreams it can serve */
	uint32_t spare_kbps;
	uint8_t level;              /* RF_LEVEL_SEED for a seed, else its QUALITY's */
};

/* CANDIDATES and REDIRECT share one layout; reason is 0 in CANDIDATES. */
struct rf_candidates {
	uint8_t reason;             /* enum rf_reason */
	uint8_t count;
	struct rf_candidate entry[RF_CANDIDATES_MAX];
};

struct rf_subscribe {
	uint64_t substreams;        /* mask */
	uint64_t start_seq;         /* SUBSCRIBE only */
};

struct rf_data {
	uint64_t seq;
	uint8_t substream;
	uint16_t len;
	const uint8_t *payload;
};

struct rf_signature {
	uint64_t first_seq;
	uint8_t count;
	const uint8_t *sig;         /* RF_SIG_LEN bytes */
	const uint8_t *hashes;      /* count * RF_HASH_LEN bytes */
};

struct rf_buffermap {
	uint64_t base_seq;
	uint16_t nbits;             /* bit i (MSB first) set: holds base_seq + i */
	const uint8_t *bits;
};

struct rf_repair {
	uint64_t base_seq;
	uint64_t mask;              /* bit i set: wants base_seq + i */
};

struct rf_quality {
	uint32_t continuity_ppm;    /* chunks played on time, per million */
	uint32_t buffer_ms;
	uint32_t received;
	uint32_t skipped;
	uint32_t repaired;
	uint32_t upload_kbps;
	uint8_t parents;
	uint8_t children;
	uint8_t level;              /* 1 + its deepest parent's; RF_LEVEL_UNKNOWN */
	uint32_t switches;
};

struct rf_keepalive {
	uint64_t stamp;             /* opaque to the receiver; echoed back */
};

struct rf_bye {
	uint8_t reason;             /* enum rf_reason */
};

struct rf_msg {
	uint8_t type;               /* enum rf_msg_type */
	uint8_t flags;
	uint64_t stream_id;
	union {
		struct rf_hello hello;
		struct rf_cookie_msg cookie;
		struct rf_join join;
		struct rf_welcome welcome;
		struct rf_candidates candidates; /* and REDIRECT */
		struct rf_subscribe subscribe;   /* and UNSUBSCRIBE */
		struct rf_data data;
		struct rf_signature signature;
		struct rf_buffermap buffermap;
		struct rf_repair repair;
		struct rf_quality quality;
		struct rf_keepalive keepalive;
		struct rf_bye bye;
	};
};

/* Decode the datagram buf[0..len). RF_DROP_NONE and *m filled, or the
 * reason to drop it (m is then unspecified). */
enum rf_drop rf_msg_decode(const uint8_t *buf, size_t len, struct rf_msg *m);

/* Encode m into buf. Returns the datagram length (HELLO includes its
 * padding), -ENOSPC when cap is too small, -EINVAL when a field is out of
 * its limits. */
int rf_msg_encode(const struct rf_msg *m, uint8_t *buf, size_t cap);

/* Write just the header and the fixed DATA fields (RF_DATA_HDR_LEN bytes)
 * for a payload of len bytes sent separately: the zero-copy TX path chains
 * these bytes to the payload in the chunk store. */
#define RF_DATA_HDR_LEN (RF_HDR_LEN + 12)
void rf_data_hdr_write(uint8_t *buf, uint64_t stream_id, uint8_t flags,
		       uint64_t seq, uint8_t substream, uint16_t len);

/* Name of a message type ("data"), "unknown" for others. */
const char *rf_msg_name(uint8_t type);

/* Name of a REDIRECT / BYE reason ("capacity"), "unknown" for others. */
const char *rf_reason_name(uint8_t reason);

#endif
