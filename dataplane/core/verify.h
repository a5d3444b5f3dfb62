/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chunk verification on the receiving side (PROTOCOL.md, SIGNATURE): a
 * SIGNATURE is checked once against the stream's public key and its hashes
 * kept; each chunk is then checked against its group's hash before it may
 * be played or relayed. A chunk whose group has not been signed yet waits
 * (RF_VERIFY_PENDING).
 */
#ifndef RF_VERIFY_H
#define RF_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "wire.h"

#define RF_VERIFY_GROUPS 256 /* signed groups remembered (~20 s at 2 Mbit/s, G 16) */

enum rf_verify_result {
	RF_VERIFY_OK,
	RF_VERIFY_PENDING,   /* no signature for its group yet */
	RF_VERIFY_BAD,       /* the hash does not match: forged or corrupt */
};

struct rf_verify_group {
	uint64_t first;
	uint8_t count;
	bool valid;
	uint8_t hashes[RF_GROUP_MAX][RF_HASH_LEN];
};

struct rf_verifier {
	uint64_t stream_id;
	uint8_t pubkey[RF_PUBKEY_LEN];
	uint8_t group_size;
	struct rf_verify_group group[RF_VERIFY_GROUPS];
};

void rf_verifier_init(struct rf_verifier *v, uint64_t stream_id,
		      const uint8_t pubkey[RF_PUBKEY_LEN], uint8_t group_size);

/* Check and keep a SIGNATURE. RF_DROP_NONE, RF_DROP_BAD_SIGNATURE, or
 * RF_DROP_BAD_FIELD (a group that does not fit the stream's grouping). */
enum rf_drop rf_verifier_add(struct rf_verifier *v, const struct rf_signature *sig);

enum rf_verify_result rf_verifier_check(const struct rf_verifier *v, uint64_t seq,
					uint8_t flags, const uint8_t *payload,
					uint16_t len);

#endif
