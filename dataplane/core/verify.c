/* SPDX-License-Identifier: BSD-3-Clause */
#include <sodium.h>
#include <string.h>

#include "crypto.h"
#include "sig_ring.h"
#include "verify.h"

void rf_verifier_init(struct rf_verifier *v, uint64_t stream_id,
		      const uint8_t pubkey[RF_PUBKEY_LEN], uint8_t group_size)
{
	memset(v, 0, sizeof(*v));
	v->stream_id = stream_id;
	memcpy(v->pubkey, pubkey, RF_PUBKEY_LEN);
	v->group_size = group_size;
}

static struct rf_verify_group *rf_verify_slot(const struct rf_verifier *v, uint64_t seq)
{
	uint64_t g = seq / v->group_size;

	return (struct rf_verify_group *)&v->group[g % RF_VERIFY_GROUPS];
}

enum rf_drop rf_verifier_add(struct rf_verifier *v, const struct rf_signature *sig)
{
	struct rf_verify_group *g;

	/* a group lies within one aligned block of group_size sequences */
	if (sig->count > v->group_size ||
	    rf_sig_group_first(sig->first_seq, v->group_size) !=
		    rf_sig_group_first(sig->first_seq + sig->count - 1, v->group_size))
		return RF_DROP_BAD_FIELD;
	if (rf_group_verify(sig->sig, v->pubkey, v->stream_id, sig->first_seq, sig->count,
			    (const uint8_t (*)[RF_HASH_LEN])sig->hashes) != RF_DROP_NONE)
		return RF_DROP_BAD_SIGNATURE;
	g = rf_verify_slot(v, sig->first_seq);
	if (g->valid && g->first == sig->first_seq && g->count >= sig->count)
		return RF_DROP_NONE; /* a late partial signature: keep the whole */
	g->first = sig->first_seq;
	g->count = sig->count;
	memcpy(g->hashes, sig->hashes, (size_t)sig->count * RF_HASH_LEN);
	g->valid = true;
	return RF_DROP_NONE;
}

enum rf_verify_result rf_verifier_check(const struct rf_verifier *v, uint64_t seq,
					uint8_t flags, const uint8_t *payload,
					uint16_t len)
{
	const struct rf_verify_group *g = rf_verify_slot(v, seq);
	uint8_t h[RF_HASH_LEN];

	if (!g->valid || seq < g->first || seq - g->first >= g->count)
		return RF_VERIFY_PENDING;
	rf_chunk_hash(h, v->stream_id, seq, flags, payload, len);
	return sodium_memcmp(h, g->hashes[seq - g->first], RF_HASH_LEN) == 0 ? RF_VERIFY_OK
									 : RF_VERIFY_BAD;
}
