/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RawFlow wire protocol v1: constants, header layout, drop reasons and
 * header validation.
 *
 * This one header is included by the XDP program (bpf/) and by the
 * userspace parser (msg.c), so the two can never disagree on what a valid
 * datagram is. It therefore uses no libc: only fixed-width types, byte
 * loads and bounds checks the BPF verifier accepts. docs/PROTOCOL.md is
 * the normative text; the numbers here are the ones it names.
 */
#ifndef RF_WIRE_H
#define RF_WIRE_H

#if defined(__bpf__)
#include <linux/types.h>
typedef __u8 uint8_t;
typedef __u16 uint16_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#else
#include <stdint.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#endif

#define RF_MAGIC 0x5246 /* "RF" */
#define RF_VERSION 1
#define RF_HDR_LEN 16

/* Largest datagram we send or accept: an IPv4 UDP payload in a 1500 MTU. */
#define RF_MAX_DATAGRAM 1472
#define RF_MAX_BODY (RF_MAX_DATAGRAM - RF_HDR_LEN)

/* Fixed limits every implementation agrees on (PROTOCOL.md, "Limits"). */
#define RF_CHUNK_MAX 1400        /* DATA payload bytes */
#define RF_CHUNK_DEFAULT 1316    /* 7 MPEG-TS packets */
#define RF_SUBSTREAMS_MAX 64     /* substream masks are 64 bits */
#define RF_GROUP_MAX 32          /* chunks signed together */
#define RF_HASH_LEN 32           /* BLAKE2b-256 of one chunk */
#define RF_SIG_LEN 64            /* Ed25519 */
#define RF_PUBKEY_LEN 32         /* Ed25519 */
#define RF_COOKIE_LEN 20         /* u32 time + 16-byte MAC */
#define RF_TOKEN_LEN 68          /* fixed-size join token */
#define RF_CANDIDATES_MAX 32     /* entries in CANDIDATES / REDIRECT */
#define RF_RAPS_MAX 16           /* random access points in WELCOME */
#define RF_BUFMAP_BITS_MAX 4096  /* bits in one BUFFERMAP */
#define RF_HELLO_MIN 64          /* a HELLO datagram is padded to this */
#define RF_CANDIDATE_LEN 32      /* one entry of CANDIDATES / REDIRECT */
#define RF_LEVEL_SEED 0          /* a node's level: hops below the seed */
#define RF_LEVEL_UNKNOWN 255

/* Message types. Values are stable; never reuse a retired one. */
#define RF_MSG_LIST(X)                                                        \
	X(HELLO, 1, "hello")                                                  \
	X(COOKIE, 2, "cookie")                                                \
	X(JOIN, 3, "join")                                                    \
	X(WELCOME, 4, "welcome")                                              \
	X(CANDIDATES, 5, "candidates")                                        \
	X(REDIRECT, 6, "redirect")                                            \
	X(SUBSCRIBE, 7, "subscribe")                                          \
	X(UNSUBSCRIBE, 8, "unsubscribe")                                      \
	X(DATA, 9, "data")                                                    \
	X(SIGNATURE, 10, "signature")                                         \
	X(BUFFERMAP, 11, "buffermap")                                         \
	X(REPAIR, 12, "repair")                                               \
	X(QUALITY, 13, "quality")                                             \
	X(KEEPALIVE, 14, "keepalive")                                         \
	X(BYE, 15, "bye")

enum rf_msg_type {
#define RF_X_ENUM(name, value, str) RF_MSG_##name = value,
	RF_MSG_LIST(RF_X_ENUM)
#undef RF_X_ENUM
	RF_MSG_TYPE_MAX = 15,
};

/* Header flags, per message type (PROTOCOL.md, "Flags"). Receivers ignore
 * flags they do not know; senders set unknown bits to zero. */
#define RF_FLAG_DATA_RAP 0x01     /* chunk starts a random access point */
#define RF_FLAG_DATA_DISCONT 0x02 /* a gap in the source precedes this chunk */
#define RF_FLAG_DATA_REPAIR 0x04  /* sent in answer to a REPAIR */
#define RF_FLAG_JOIN_TOKEN 0x01   /* JOIN carries a token */
#define RF_FLAG_JOIN_RELAY 0x02   /* JOIN to a peer: asks to become its child */
#define RF_FLAG_UNSUB_SHED 0x01   /* UNSUBSCRIBE from a parent: it stops serving these */
#define RF_FLAG_FROM_CHILD 0x01   /* KEEPALIVE, BYE: from a child to its parent or seed */

/* Why a peer is told to go elsewhere (REDIRECT) or a session ends (BYE). */
#define RF_REASON_LIST(X)                                                     \
	X(NORMAL, 0, "normal")                                                \
	X(CAPACITY, 1, "capacity")                                            \
	X(DRAINING, 2, "draining")                                            \
	X(TIMEOUT, 3, "timeout")                                              \
	X(DENIED, 4, "denied")                                                \
	X(BAD_DATA, 5, "bad_data")

enum rf_reason {
#define RF_X_ENUM(name, value, str) RF_REASON_##name = value,
	RF_REASON_LIST(RF_X_ENUM)
#undef RF_X_ENUM
};

/*
 * Drop reasons: one list gives the enum, the counter indexes (the enum
 * values themselves) and the names (drop.c). RF_DROP_NONE is "accepted".
 */
#define RF_DROP_LIST(X)                                                       \
	X(NONE, "none")                                                       \
	X(SHORT, "short")                                                     \
	X(BAD_MAGIC, "bad_magic")                                             \
	X(BAD_VERSION, "bad_version")                                         \
	X(BAD_LENGTH, "bad_length")                                           \
	X(UNKNOWN_TYPE, "unknown_type")                                       \
	X(OVERSIZE, "oversize")                                               \
	X(BAD_FIELD, "bad_field")                                             \
	X(BAD_COOKIE, "bad_cookie")                                           \
	X(COOKIE_EXPIRED, "cookie_expired")                                   \
	X(BAD_TOKEN, "bad_token")                                             \
	X(TOKEN_EXPIRED, "token_expired")                                     \
	X(TOKEN_PREFIX, "token_prefix")                                       \
	X(TOKEN_KEY, "token_key")                                             \
	X(BAD_SIGNATURE, "bad_signature")                                     \
	X(BAD_HASH, "bad_hash")                                               \
	X(UNKNOWN_STREAM, "unknown_stream")                                   \
	X(NO_SESSION, "no_session")                                           \
	X(DENIED, "denied")                                                   \
	X(FLOOD, "flood")                                                     \
	X(NOT_IPV4_OR_6, "not_ip")

enum rf_drop {
#define RF_X_ENUM(name, str) RF_DROP_##name,
	RF_DROP_LIST(RF_X_ENUM)
#undef RF_X_ENUM
	RF_DROP_MAX
};

/* Big-endian loads and stores by bytes: no alignment, no libc, BPF-safe. */
static __always_inline uint16_t rf_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static __always_inline uint32_t rf_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static __always_inline uint64_t rf_get64(const uint8_t *p)
{
	return (uint64_t)rf_get32(p) << 32 | rf_get32(p + 4);
}

static __always_inline void rf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static __always_inline void rf_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static __always_inline void rf_put64(uint8_t *p, uint64_t v)
{
	rf_put32(p, (uint32_t)(v >> 32));
	rf_put32(p + 4, (uint32_t)v);
}

/* Header field offsets (PROTOCOL.md, "Datagram header"). */
#define RF_OFF_MAGIC 0
#define RF_OFF_VERSION 2
#define RF_OFF_TYPE 3
#define RF_OFF_FLAGS 4
#define RF_OFF_RESERVED 5
#define RF_OFF_LENGTH 6
#define RF_OFF_STREAM 8

/*
 * Smallest and largest body for each type. Variable parts (payloads,
 * lists, tokens) are checked in full by the decoder; these bounds are what
 * the XDP filter can afford to check at line rate.
 */
static __always_inline int rf_body_bounds(uint8_t type, uint16_t *min,
					  uint16_t *max)
{
	switch (type) {
	case RF_MSG_HELLO:       *min = 8;   *max = 8; return 0;
	case RF_MSG_COOKIE:      *min = 28;  *max = 28; return 0;
	case RF_MSG_JOIN:        *min = 32;  *max = 32 + RF_TOKEN_LEN; return 0;
	case RF_MSG_WELCOME:     *min = 64;  *max = 64 + 8 * RF_RAPS_MAX; return 0;
	case RF_MSG_CANDIDATES:  *min = 4;   *max = 4 + RF_CANDIDATE_LEN * RF_CANDIDATES_MAX; return 0;
	case RF_MSG_REDIRECT:    *min = 4;   *max = 4 + RF_CANDIDATE_LEN * RF_CANDIDATES_MAX; return 0;
	case RF_MSG_SUBSCRIBE:   *min = 16;  *max = 16; return 0;
	case RF_MSG_UNSUBSCRIBE: *min = 8;   *max = 8; return 0;
	case RF_MSG_DATA:        *min = 13;  *max = 12 + RF_CHUNK_MAX; return 0;
	case RF_MSG_SIGNATURE:   *min = 76 + RF_HASH_LEN;
				 *max = 76 + RF_HASH_LEN * RF_GROUP_MAX; return 0;
	case RF_MSG_BUFFERMAP:   *min = 12;  *max = 12 + RF_BUFMAP_BITS_MAX / 8; return 0;
	case RF_MSG_REPAIR:      *min = 16;  *max = 16; return 0;
	case RF_MSG_QUALITY:     *min = 32;  *max = 32; return 0;
	case RF_MSG_KEEPALIVE:   *min = 8;   *max = 8; return 0;
	case RF_MSG_BYE:         *min = 4;   *max = 4; return 0;
	default:                 return -1;
	}
}

/*
 * Validate the fixed header of a datagram [p, end): size, magic, version,
 * a known type, a body length that fits the datagram and the type's bounds.
 * Bytes after the body are padding and are ignored. Returns RF_DROP_NONE
 * or the reason to drop; never reads outside [p, end).
 */
static __always_inline enum rf_drop rf_wire_check(const uint8_t *p,
						  const uint8_t *end)
{
	uint16_t len, min, max;

	if (p + RF_HDR_LEN > end)
		return RF_DROP_SHORT;
	if (end - p > RF_MAX_DATAGRAM)
		return RF_DROP_OVERSIZE;
	if (rf_get16(p + RF_OFF_MAGIC) != RF_MAGIC)
		return RF_DROP_BAD_MAGIC;
	if (p[RF_OFF_VERSION] != RF_VERSION)
		return RF_DROP_BAD_VERSION;
	if (rf_body_bounds(p[RF_OFF_TYPE], &min, &max) != 0)
		return RF_DROP_UNKNOWN_TYPE;
	len = rf_get16(p + RF_OFF_LENGTH);
	if ((unsigned long)(end - p) - RF_HDR_LEN < len)
		return RF_DROP_BAD_LENGTH;
	if (len > max)
		return RF_DROP_OVERSIZE;
	if (len < min)
		return RF_DROP_SHORT;
	/* Anti-amplification: a HELLO must be at least as large as the
	 * COOKIE it asks for, so padding is part of the message. */
	if (p[RF_OFF_TYPE] == RF_MSG_HELLO && end - p < RF_HELLO_MIN)
		return RF_DROP_SHORT;
	return RF_DROP_NONE;
}

#endif /* RF_WIRE_H */
