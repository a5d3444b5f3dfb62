/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The protocol's cryptography, through libsodium: stateless cookies, join
 * tokens and chunk-group signatures (PROTOCOL.md, "Security").
 *
 * Nothing here reads a clock or a random source: the time and every secret
 * come in as arguments. Callers run sodium_init() once at start-up.
 */
#ifndef RF_CRYPTO_H
#define RF_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "wire.h"

#define RF_SECRET_LEN 32 /* cookie secret and token keys */
#define RF_SECKEY_LEN 64 /* Ed25519 secret key, libsodium layout */

/* ---- Stateless cookie: u32 time, then HMAC-SHA256(...)[0..16) ---- */

/* Write the cookie for (src, peer_id, stream_id) issued at now_s. */
void rf_cookie_make(uint8_t cookie[RF_COOKIE_LEN],
		    const uint8_t secret[RF_SECRET_LEN],
		    const struct rf_addr *src, uint64_t peer_id,
		    uint64_t stream_id, uint64_t now_s);

/* RF_DROP_NONE when cookie was made by secret for exactly these inputs and
 * is at most lifetime_s old at now_s (RF_DROP_COOKIE_EXPIRED when older
 * or from the future, RF_DROP_BAD_COOKIE when the MAC does not match). */
enum rf_drop rf_cookie_check(const uint8_t cookie[RF_COOKIE_LEN],
			     const uint8_t secret[RF_SECRET_LEN],
			     const struct rf_addr *src, uint64_t peer_id,
			     uint64_t stream_id, uint64_t now_s,
			     uint32_t lifetime_s);

/* ---- Join token (RF_TOKEN_LEN bytes, layout in PROTOCOL.md) ---- */

struct rf_token_fields {
	uint8_t key_id;      /* which key of the ring signed it */
	uint8_t family;      /* 0: any address; RF_AF_INET or RF_AF_INET6 */
	uint8_t prefix_len;  /* bits of prefix_ip that must match */
	uint8_t prefix_ip[16];
	uint64_t stream_id;
	uint64_t expiry_s;   /* unix seconds; the token is valid while now < expiry */
};

/* A key ring: up to 256 keys, indexed by key id; present[] marks which. */
struct rf_token_keys {
	uint8_t key[256][RF_SECRET_LEN];
	uint8_t present[256];
};

/* 0, or -EINVAL when the fields are inconsistent (prefix too long,
 * unknown family). */
int rf_token_make(uint8_t token[RF_TOKEN_LEN],
		  const struct rf_token_fields *f,
		  const uint8_t key[RF_SECRET_LEN]);

/* RF_DROP_NONE, or why the token is refused: BAD_TOKEN (malformed or MAC),
 * TOKEN_KEY (key id not in the ring), TOKEN_EXPIRED, TOKEN_PREFIX (source
 * address outside the prefix), UNKNOWN_STREAM (made for another stream). */
enum rf_drop rf_token_check(const uint8_t token[RF_TOKEN_LEN],
			    const struct rf_token_keys *keys,
			    uint64_t stream_id, const struct rf_addr *src,
			    uint64_t now_s);

/* ---- Stream identity and chunk-group signatures ---- */

/* The 64-bit stream id named by a stream's Ed25519 public key. */
uint64_t rf_stream_id(const uint8_t pubkey[RF_PUBKEY_LEN]);

/* Hash of one chunk as signed: binds stream, sequence, RAP/discontinuity
 * flags and payload. */
void rf_chunk_hash(uint8_t out[RF_HASH_LEN], uint64_t stream_id,
		   uint64_t seq, uint8_t flags, const uint8_t *payload,
		   size_t len);

/* Sign count (1..RF_GROUP_MAX) consecutive chunk hashes from first_seq. */
int rf_group_sign(uint8_t sig[RF_SIG_LEN],
		  const uint8_t seckey[RF_SECKEY_LEN], uint64_t stream_id,
		  uint64_t first_seq, uint8_t count,
		  const uint8_t (*hashes)[RF_HASH_LEN]);

/* RF_DROP_NONE when sig is pubkey's signature over exactly these hashes,
 * RF_DROP_BAD_SIGNATURE otherwise. */
enum rf_drop rf_group_verify(const uint8_t sig[RF_SIG_LEN],
			     const uint8_t pubkey[RF_PUBKEY_LEN],
			     uint64_t stream_id, uint64_t first_seq,
			     uint8_t count,
			     const uint8_t (*hashes)[RF_HASH_LEN]);

#endif
