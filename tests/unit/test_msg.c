/* SPDX-License-Identifier: BSD-3-Clause */
/* Encode/decode of every message: round trips and malformed fields. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "msg_equal.h"
#include "vectors.h"

static struct rf_vector vec[32];
static size_t nvec;
static uint8_t pkt[RF_MAX_DATAGRAM];

static void setup(void)
{
	nvec = rf_vectors(vec, 32);
	cr_assert_gt(nvec, 0);
}

TestSuite(msg, .init = setup);

static const struct rf_msg *vector(const char *name)
{
	for (size_t i = 0; i < nvec; i++)
		if (strcmp(vec[i].name, name) == 0)
			return &vec[i].msg;
	cr_assert_fail("no vector %s", name);
	return NULL;
}

static size_t encode(const struct rf_msg *m)
{
	int len = rf_msg_encode(m, pkt, sizeof(pkt));

	cr_assert_gt(len, 0, "encode %s: %d", rf_msg_name(m->type), len);
	return (size_t)len;
}

Test(msg, round_trip_every_type)
{
	bool seen[RF_MSG_TYPE_MAX + 1] = { false };
	struct rf_msg out;
	const char *field = NULL;

	for (size_t i = 0; i < nvec; i++) {
		size_t len = encode(&vec[i].msg);

		cr_assert_eq(rf_msg_decode(pkt, len, &out), RF_DROP_NONE,
			     "%s", vec[i].name);
		cr_assert(rf_msg_equal(&vec[i].msg, &out, &field),
			  "%s: field %s differs", vec[i].name, field);
		seen[vec[i].msg.type] = true;
	}
	for (unsigned t = 1; t <= RF_MSG_TYPE_MAX; t++)
		cr_assert(seen[t], "no round trip for type %s", rf_msg_name(t));
}

Test(msg, round_trip_with_padding)
{
	struct rf_msg out;
	const char *field = NULL;

	for (size_t i = 0; i < nvec; i++) {
		size_t len = encode(&vec[i].msg);

		memset(pkt + len, 0x5a, sizeof(pkt) - len);
		cr_assert_eq(rf_msg_decode(pkt, sizeof(pkt), &out),
			     RF_DROP_NONE, "%s", vec[i].name);
		cr_assert(rf_msg_equal(&vec[i].msg, &out, &field), "%s: %s",
			  vec[i].name, field);
	}
}

Test(msg, every_truncation_rejected)
{
	struct rf_msg out;

	for (size_t i = 0; i < nvec; i++) {
		size_t len = encode(&vec[i].msg);

		for (size_t n = 0; n < len; n++)
			cr_assert_neq(rf_msg_decode(pkt, n, &out), RF_DROP_NONE,
				      "%s cut to %zu bytes", vec[i].name, n);
	}
}

Test(msg, body_length_must_match_contents)
{
	struct rf_msg out;
	/* variable-size messages whose length is implied by a count */
	const char *names[] = { "join_token", "welcome", "candidates",
				"signature", "buffermap" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = encode(vector(names[i]));
		uint16_t body = rf_get16(pkt + RF_OFF_LENGTH);

		rf_put16(pkt + RF_OFF_LENGTH, (uint16_t)(body - 1));
		cr_assert_neq(rf_msg_decode(pkt, len, &out), RF_DROP_NONE,
			      "%s", names[i]);
	}
}

Test(msg, encode_needs_room)
{
	const struct rf_msg *m = vector("welcome");
	size_t len = encode(m);

	cr_assert_eq(rf_msg_encode(m, pkt, len - 1), -ENOSPC);
	cr_assert_eq(rf_msg_encode(m, pkt, len), (int)len);
}

/* Decode a vector with body byte off set to val; returns the verdict. */
static enum rf_drop decode_edited(const char *name, size_t off, uint8_t val)
{
	struct rf_msg out;
	size_t len = encode(vector(name));

	pkt[RF_HDR_LEN + off] = val;
	return rf_msg_decode(pkt, len, &out);
}

Test(msg, bad_fields_rejected)
{
	/* WELCOME: chunk size 0 and above RF_CHUNK_MAX, K 0 and > 64,
	 * group 0 and > 32, more RAPs than allowed */
	cr_assert_eq(decode_edited("welcome", 0, 0x06), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("welcome", 2, 0), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("welcome", 2, 65), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("welcome", 3, 0), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("welcome", 3, 33), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("welcome", 60, 17), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("welcome", 60, 3), RF_DROP_BAD_LENGTH);
	/* CANDIDATES: count beyond the limit and beyond the body, bad
	 * family, port 0, IPv4 address with bytes past its 4 */
	cr_assert_eq(decode_edited("candidates", 0, 33), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("candidates", 0, 3), RF_DROP_BAD_LENGTH);
	cr_assert_eq(decode_edited("candidates", 4, 5), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("candidates", 4 + 10, 1), RF_DROP_BAD_FIELD);
	/* SIGNATURE count 0 and > 32; BUFFERMAP nbits 0 */
	cr_assert_eq(decode_edited("signature", 8, 0), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("signature", 8, 33), RF_DROP_BAD_FIELD);
	cr_assert_eq(decode_edited("signature", 8, 3), RF_DROP_BAD_LENGTH);
	cr_assert_eq(decode_edited("buffermap", 9, 0), RF_DROP_BAD_FIELD);
	/* DATA substream outside the 64 a stream can have */
	cr_assert_eq(decode_edited("data", 8, 64), RF_DROP_BAD_FIELD);
	/* QUALITY continuity above one million ppm */
	cr_assert_eq(decode_edited("quality", 0, 0xff), RF_DROP_BAD_FIELD);
}

Test(msg, join_token_flag_must_match_body)
{
	struct rf_msg out;
	size_t len = encode(vector("join"));

	pkt[RF_OFF_FLAGS] = RF_FLAG_JOIN_TOKEN;
	cr_assert_eq(rf_msg_decode(pkt, len, &out), RF_DROP_BAD_LENGTH);
	len = encode(vector("join_token"));
	pkt[RF_OFF_FLAGS] = 0;
	cr_assert_eq(rf_msg_decode(pkt, len, &out), RF_DROP_BAD_LENGTH);
}

Test(msg, candidate_port_zero_rejected)
{
	struct rf_msg m = *vector("candidates"), out;

	m.candidates.entry[1].addr.port = 0;
	/* the encoder writes what it is given; the decoder refuses it */
	cr_assert_eq(rf_msg_decode(pkt, encode(&m), &out), RF_DROP_BAD_FIELD);
}

Test(msg, zero_masks_rejected)
{
	struct rf_msg out;
	size_t len = encode(vector("subscribe"));

	memset(pkt + RF_HDR_LEN, 0, 8);
	cr_assert_eq(rf_msg_decode(pkt, len, &out), RF_DROP_BAD_FIELD);
	len = encode(vector("repair"));
	memset(pkt + RF_HDR_LEN + 8, 0, 8);
	cr_assert_eq(rf_msg_decode(pkt, len, &out), RF_DROP_BAD_FIELD);
}

Test(msg, encode_rejects_out_of_limit_fields)
{
	struct rf_msg m;

	m = *vector("data");
	m.data.len = RF_CHUNK_MAX + 1;
	cr_assert_eq(rf_msg_encode(&m, pkt, sizeof(pkt)), -EINVAL);
	m = *vector("signature");
	m.signature.count = RF_GROUP_MAX + 1;
	cr_assert_eq(rf_msg_encode(&m, pkt, sizeof(pkt)), -EINVAL);
	m = *vector("candidates");
	m.candidates.count = RF_CANDIDATES_MAX + 1;
	cr_assert_eq(rf_msg_encode(&m, pkt, sizeof(pkt)), -EINVAL);
	m = *vector("join");
	m.flags = RF_FLAG_JOIN_TOKEN; /* flag without a token */
	cr_assert_eq(rf_msg_encode(&m, pkt, sizeof(pkt)), -EINVAL);
	m = *vector("welcome");
	m.welcome.substreams = 0;
	cr_assert_eq(rf_msg_encode(&m, pkt, sizeof(pkt)), -EINVAL);
	m = *vector("hello");
	m.type = 0;
	cr_assert_eq(rf_msg_encode(&m, pkt, sizeof(pkt)), -EINVAL);
}

Test(msg, largest_messages_fit_a_datagram)
{
	static uint8_t payload[RF_CHUNK_MAX], hashes[RF_GROUP_MAX][RF_HASH_LEN];
	static uint8_t sig[RF_SIG_LEN], bits[RF_BUFMAP_BITS_MAX / 8];
	struct rf_msg m = { .type = RF_MSG_DATA, .stream_id = 1 }, out;

	m.data = (struct rf_data){ .seq = 1, .len = RF_CHUNK_MAX,
				   .payload = payload };
	cr_assert_eq(rf_msg_decode(pkt, encode(&m), &out), RF_DROP_NONE);
	m.type = RF_MSG_SIGNATURE;
	m.signature = (struct rf_signature){ .count = RF_GROUP_MAX, .sig = sig,
					     .hashes = hashes[0] };
	cr_assert_eq(rf_msg_decode(pkt, encode(&m), &out), RF_DROP_NONE);
	m.type = RF_MSG_BUFFERMAP;
	m.buffermap = (struct rf_buffermap){ .nbits = RF_BUFMAP_BITS_MAX,
					     .bits = bits };
	cr_assert_eq(rf_msg_decode(pkt, encode(&m), &out), RF_DROP_NONE);
	m = *vector("candidates");
	m.candidates.count = RF_CANDIDATES_MAX;
	for (int i = 2; i < RF_CANDIDATES_MAX; i++)
		m.candidates.entry[i] = m.candidates.entry[i % 2];
	cr_assert_eq(rf_msg_decode(pkt, encode(&m), &out), RF_DROP_NONE);
	cr_assert_eq(out.candidates.count, RF_CANDIDATES_MAX);
}

Test(msg, data_header_matches_full_encode)
{
	const struct rf_msg *m = vector("data");
	uint8_t hdr[RF_DATA_HDR_LEN];
	size_t len = encode(m);

	rf_data_hdr_write(hdr, m->stream_id, m->flags, m->data.seq,
			  m->data.substream, m->data.len);
	cr_assert_eq(len, RF_DATA_HDR_LEN + m->data.len);
	cr_assert_arr_eq(hdr, pkt, RF_DATA_HDR_LEN);
}

Test(msg, unknown_flags_ignored)
{
	struct rf_msg out;
	size_t len = encode(vector("data"));

	pkt[RF_OFF_FLAGS] |= 0x80;
	cr_assert_eq(rf_msg_decode(pkt, len, &out), RF_DROP_NONE);
	cr_assert(out.flags & RF_FLAG_DATA_RAP);
}

Test(msg, reason_names)
{
	cr_assert_str_eq(rf_reason_name(RF_REASON_CAPACITY), "capacity");
	cr_assert_str_eq(rf_reason_name(200), "unknown");
}
