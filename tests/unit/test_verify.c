/* SPDX-License-Identifier: BSD-3-Clause */
/* The seed's signature ring and the receiver's verifier, end to end. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sig_ring.h"
#include "verify.h"

#define G 16
#define STREAM 0x42ULL

static uint8_t pk[RF_PUBKEY_LEN], sk[RF_SECKEY_LEN];
static void *ring_mem;
static struct rf_sig_ring *ring;
static struct rf_verifier v;

static void setup(void)
{
	uint8_t seed[32] = { 7 };
	size_t n = rf_sig_ring_size(8, G);

	cr_assert(sodium_init() >= 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	ring_mem = malloc(n);
	ring = rf_sig_ring_init(ring_mem, n, 8, G, STREAM, sk);
	cr_assert_not_null(ring);
	rf_verifier_init(&v, STREAM, pk, G);
}

static void teardown(void)
{
	free(ring_mem);
}

TestSuite(verify, .init = setup, .fini = teardown);

static void chunk(uint64_t seq, uint8_t *p)
{
	memset(p, (uint8_t)seq, 188);
	p[0] = 0x47;
}

/* Hand the verifier the SIGNATURE the ring made for seq's group. */
static enum rf_drop deliver_sig(uint64_t seq)
{
	uint16_t len;
	const uint8_t *msg = rf_sig_ring_get(ring, seq, &len);
	struct rf_msg m;

	cr_assert_not_null(msg, "no signature for %llu", (unsigned long long)seq);
	cr_assert_eq(rf_msg_decode(msg, len, &m), RF_DROP_NONE);
	cr_assert_eq(m.type, RF_MSG_SIGNATURE);
	return rf_verifier_add(&v, &m.signature);
}

Test(verify, signed_groups_verify_and_forgeries_fail)
{
	uint8_t p[188];
	uint64_t start = 1000 + 5; /* the stream starts mid-group */

	for (uint64_t s = start; s < start + 3 * G; s++) {
		chunk(s, p);
		rf_sig_ring_add(ring, s, s % 50 == 0 ? RF_FLAG_DATA_RAP : 0, p, 188);
	}
	/* groups are aligned to G: 1005..1007 (the stream's partial first
	 * group), 1008..1023, 1024..1039 are signed; 1040.. is still open */
	cr_assert_eq(deliver_sig(start), RF_DROP_NONE);
	cr_assert_eq(deliver_sig(1008), RF_DROP_NONE);
	cr_assert_eq(deliver_sig(1024), RF_DROP_NONE);
	cr_assert_null(rf_sig_ring_get(ring, 1040, &(uint16_t){ 0 }));
	for (uint64_t s = start; s < 1040; s++) {
		chunk(s, p);
		cr_assert_eq(rf_verifier_check(&v, s, s % 50 == 0 ? RF_FLAG_DATA_RAP : 0, p, 188),
			     RF_VERIFY_OK, "seq %llu", (unsigned long long)s);
		/* any flipped bit, or a forged RAP mark, is caught */
		p[100] ^= 0x10;
		cr_assert_eq(rf_verifier_check(&v, s, s % 50 == 0 ? RF_FLAG_DATA_RAP : 0, p, 188),
			     RF_VERIFY_BAD);
		p[100] ^= 0x10;
		cr_assert_eq(rf_verifier_check(&v, s, s % 50 == 0 ? 0 : RF_FLAG_DATA_RAP, p, 188),
			     RF_VERIFY_BAD);
		/* the per-transmission REPAIR flag is not signed */
		cr_assert_eq(rf_verifier_check(&v, s, (s % 50 == 0 ? RF_FLAG_DATA_RAP : 0) |
						      RF_FLAG_DATA_REPAIR, p, 188),
			     RF_VERIFY_OK);
	}
	/* before its signature arrives a chunk waits */
	chunk(1045, p);
	cr_assert_eq(rf_verifier_check(&v, 1045, 0, p, 188), RF_VERIFY_PENDING);
}

Test(verify, bad_signature_rejected)
{
	uint8_t p[188], other_pk[RF_PUBKEY_LEN], other_sk[RF_SECKEY_LEN];
	uint8_t seed[32] = { 9 };

	for (uint64_t s = 0; s < G; s++) {
		chunk(s, p);
		rf_sig_ring_add(ring, s, 0, p, 188);
	}
	crypto_sign_seed_keypair(other_pk, other_sk, seed);
	rf_verifier_init(&v, STREAM, other_pk, G);
	cr_assert_eq(deliver_sig(0), RF_DROP_BAD_SIGNATURE);
	chunk(3, p);
	cr_assert_eq(rf_verifier_check(&v, 3, 0, p, 188), RF_VERIFY_PENDING);
	rf_verifier_init(&v, STREAM + 1, pk, G); /* another stream's id */
	cr_assert_eq(deliver_sig(0), RF_DROP_BAD_SIGNATURE);
}

Test(verify, group_must_fit_the_grouping)
{
	uint8_t sig[RF_SIG_LEN] = { 0 }, hashes[2][RF_HASH_LEN] = { { 0 } };
	struct rf_signature s = { .first_seq = G - 1, .count = 2, .sig = sig,
				  .hashes = hashes[0] };

	cr_assert_eq(rf_verifier_add(&v, &s), RF_DROP_BAD_FIELD);
}

Test(verify, ring_rejects_bad_geometry)
{
	cr_assert_eq(rf_sig_ring_size(3, G), 0);
	cr_assert_eq(rf_sig_ring_size(8, 0), 0);
	cr_assert_eq(rf_sig_ring_size(8, RF_GROUP_MAX + 1), 0);
	cr_assert(rf_sig_group_last(G - 1, G));
	cr_assert_eq(rf_sig_group_first(G + 3, G), G);
}

Test(verify, flushed_partial_group_verifies_then_completes)
{
	uint8_t p[188];

	for (uint64_t s = 32; s < 37; s++) {
		chunk(s, p);
		rf_sig_ring_add(ring, s, 0, p, 188);
	}
	cr_assert_null(rf_sig_ring_get(ring, 36, &(uint16_t){ 0 }));
	rf_sig_ring_flush(ring); /* the source paused mid-group */
	cr_assert_eq(deliver_sig(36), RF_DROP_NONE);
	chunk(36, p);
	cr_assert_eq(rf_verifier_check(&v, 36, 0, p, 188), RF_VERIFY_OK);
	for (uint64_t s = 37; s < 48; s++) {
		chunk(s, p);
		rf_sig_ring_add(ring, s, 0, p, 188);
	}
	/* the whole group is signed again and covers both parts */
	cr_assert_eq(deliver_sig(47), RF_DROP_NONE);
	for (uint64_t s = 32; s < 48; s++) {
		chunk(s, p);
		cr_assert_eq(rf_verifier_check(&v, s, 0, p, 188), RF_VERIFY_OK, "seq %llu",
			     (unsigned long long)s);
	}
}
