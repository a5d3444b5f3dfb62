/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stream identity and chunk integrity (PROTOCOL.md, "Integrity"). A stream
 * is named by its Ed25519 key; each chunk is hashed with BLAKE2b-256 and
 * the seed signs groups of consecutive chunk hashes, so a peer can verify
 * a chunk it got from anyone before relaying or playing it.
 *
 *   stream id   = BLAKE2b-256("RFid" | pubkey)[0..8) read big-endian
 *   chunk hash  = BLAKE2b-256("RFch" | stream_id u64 | seq u64 |
 *                             flags & (RAP|DISCONT) u8 | payload)
 *   group sig   = Ed25519("RFsg" | stream_id u64 | first_seq u64 |
 *                         count u8 | hashes[count][32])
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "crypto.h"

#define RF_GROUP_HDR_LEN (4 + 8 + 8 + 1)
#define RF_GROUP_MSG_MAX (RF_GROUP_HDR_LEN + RF_HASH_LEN * RF_GROUP_MAX)

/* Flags that describe the chunk itself; REPAIR describes one transmission
 * of it and must not change its hash. */
#define RF_CHUNK_SIGNED_FLAGS (RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT)

_Static_assert(RF_HASH_LEN == crypto_generichash_BYTES, "BLAKE2b-256");
_Static_assert(RF_SIG_LEN == crypto_sign_BYTES, "Ed25519 signature");
_Static_assert(RF_PUBKEY_LEN == crypto_sign_PUBLICKEYBYTES, "Ed25519 key");
_Static_assert(RF_SECKEY_LEN == crypto_sign_SECRETKEYBYTES, "Ed25519 key");
_Static_assert(RF_GROUP_MAX <= 255, "count is a u8 on the wire");

uint64_t rf_stream_id(const uint8_t pubkey[RF_PUBKEY_LEN])
{
	uint8_t m[4 + RF_PUBKEY_LEN], h[RF_HASH_LEN];

	memcpy(m, "RFid", 4);
	memcpy(m + 4, pubkey, RF_PUBKEY_LEN);
	crypto_generichash(h, sizeof(h), m, sizeof(m), NULL, 0);
	return rf_get64(h);
}

void rf_chunk_hash(uint8_t out[RF_HASH_LEN], uint64_t stream_id,
		   uint64_t seq, uint8_t flags, const uint8_t *payload,
		   size_t len)
{
	crypto_generichash_state st;
	uint8_t hdr[4 + 8 + 8 + 1];

	memcpy(hdr, "RFch", 4);
	rf_put64(hdr + 4, stream_id);
	rf_put64(hdr + 12, seq);
	hdr[20] = flags & RF_CHUNK_SIGNED_FLAGS;
	crypto_generichash_init(&st, NULL, 0, RF_HASH_LEN);
	crypto_generichash_update(&st, hdr, sizeof(hdr));
	if (len)
		crypto_generichash_update(&st, payload, len);
	crypto_generichash_final(&st, out, RF_HASH_LEN);
}

/*
 * The signed message of a group, in m; its length, or 0 for a count out of
 * 1..RF_GROUP_MAX. A plain buffer because crypto_sign_init/update/final is
 * Ed25519ph, a different signature that other implementations would not
 * verify as Ed25519.
 */
static size_t rf_group_msg(uint8_t m[RF_GROUP_MSG_MAX], uint64_t stream_id,
			   uint64_t first_seq, uint8_t count,
			   const uint8_t (*hashes)[RF_HASH_LEN])
{
	if (count == 0 || count > RF_GROUP_MAX)
		return 0;
	memcpy(m, "RFsg", 4);
	rf_put64(m + 4, stream_id);
	rf_put64(m + 12, first_seq);
	m[20] = count;
	memcpy(m + RF_GROUP_HDR_LEN, hashes, (size_t)count * RF_HASH_LEN);
	return RF_GROUP_HDR_LEN + (size_t)count * RF_HASH_LEN;
}

int rf_group_sign(uint8_t sig[RF_SIG_LEN],
		  const uint8_t seckey[RF_SECKEY_LEN], uint64_t stream_id,
		  uint64_t first_seq, uint8_t count,
		  const uint8_t (*hashes)[RF_HASH_LEN])
{
	uint8_t m[RF_GROUP_MSG_MAX];
	size_t len = rf_group_msg(m, stream_id, first_seq, count, hashes);

	if (len == 0)
		return -EINVAL;
	crypto_sign_detached(sig, NULL, m, len, seckey);
	return 0;
}

enum rf_drop rf_group_verify(const uint8_t sig[RF_SIG_LEN],
			     const uint8_t pubkey[RF_PUBKEY_LEN],
			     uint64_t stream_id, uint64_t first_seq,
			     uint8_t count,
			     const uint8_t (*hashes)[RF_HASH_LEN])
{
	uint8_t m[RF_GROUP_MSG_MAX];
	size_t len = rf_group_msg(m, stream_id, first_seq, count, hashes);

	if (len == 0 || crypto_sign_verify_detached(sig, m, len, pubkey) != 0)
		return RF_DROP_BAD_SIGNATURE;
	return RF_DROP_NONE;
}
