/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "vectors.h"

/* Recognisable byte patterns for the opaque fields. */
static const uint8_t rf_vec_cookie[RF_COOKIE_LEN] = {
	0x65, 0x5f, 0x3c, 0x00, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
	0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0,
};
static uint8_t rf_vec_token[RF_TOKEN_LEN];
static uint8_t rf_vec_sig[RF_SIG_LEN];
static uint8_t rf_vec_hashes[2 * RF_HASH_LEN];
static const uint8_t rf_vec_payload[8] = { 0x47, 0x40, 0x00, 0x10,
					   0x00, 0x00, 0xb0, 0x0d };
static const uint8_t rf_vec_bits[2] = { 0xf0, 0x80 };

static void rf_vec_fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static struct rf_msg rf_vec_msg(uint8_t type, uint8_t flags)
{
	struct rf_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.flags = flags;
	m.stream_id = RF_VECTOR_STREAM;
	return m;
}

static void rf_vec_candidates(struct rf_candidates *cs)
{
	static const uint8_t v4[4] = { 198, 18, 0, 2 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x02 };

	cs->count = 2;
	rf_addr_v4(&cs->entry[0].addr, v4, 4433);
	cs->entry[0].substreams = 0x5;
	cs->entry[0].spare_kbps = 3000;
	cs->entry[0].level = 2;
	cs->entry[1].addr.family = RF_AF_INET6;
	cs->entry[1].addr.port = 4433;
	memcpy(cs->entry[1].addr.ip, v6, 16);
	cs->entry[1].substreams = 0xffff;
	cs->entry[1].spare_kbps = 12000;
}

size_t rf_vectors(struct rf_vector *out, size_t max)
{
	struct rf_vector v[17];
	size_t n = 0;

	rf_vec_fill(rf_vec_token, sizeof(rf_vec_token), 0x00);
	rf_vec_fill(rf_vec_sig, sizeof(rf_vec_sig), 0x40);
	rf_vec_fill(rf_vec_hashes, sizeof(rf_vec_hashes), 0x80);

	v[n] = (struct rf_vector){ "hello", rf_vec_msg(RF_MSG_HELLO, 0) };
	v[n++].msg.hello.peer_id = 0x1122334455667788ULL;

	v[n] = (struct rf_vector){ "cookie", rf_vec_msg(RF_MSG_COOKIE, 0) };
	v[n].msg.cookie.peer_id = 0x1122334455667788ULL;
	memcpy(v[n++].msg.cookie.cookie, rf_vec_cookie, RF_COOKIE_LEN);

	v[n] = (struct rf_vector){ "join", rf_vec_msg(RF_MSG_JOIN, 0) };
	v[n].msg.join.peer_id = 0x1122334455667788ULL;
	memcpy(v[n].msg.join.cookie, rf_vec_cookie, RF_COOKIE_LEN);
	v[n++].msg.join.upload_kbps = 3000;

	v[n] = (struct rf_vector){ "join_token",
				   rf_vec_msg(RF_MSG_JOIN, RF_FLAG_JOIN_TOKEN) };
	v[n].msg.join.peer_id = 0x1122334455667788ULL;
	memcpy(v[n].msg.join.cookie, rf_vec_cookie, RF_COOKIE_LEN);
	v[n].msg.join.upload_kbps = 3000;
	v[n++].msg.join.token = rf_vec_token;

	v[n] = (struct rf_vector){ "welcome", rf_vec_msg(RF_MSG_WELCOME, 0) };
	v[n].msg.welcome = (struct rf_welcome){
		.chunk_size = 1316, .substreams = 8, .group_size = 16,
		.chunk_rate_milli = 190000, .live_edge = 100000,
		.window_first = 98000, .keepalive_ms = 1000, .rap_count = 2,
		.raps = { 99950, 99760 },
	};
	rf_vec_fill(v[n++].msg.welcome.pubkey, RF_PUBKEY_LEN, 0xc0);

	v[n] = (struct rf_vector){ "candidates",
				   rf_vec_msg(RF_MSG_CANDIDATES, 0) };
	rf_vec_candidates(&v[n++].msg.candidates);

	v[n] = (struct rf_vector){ "redirect", rf_vec_msg(RF_MSG_REDIRECT, 0) };
	rf_vec_candidates(&v[n].msg.candidates);
	v[n].msg.candidates.count = 1;
	v[n++].msg.candidates.reason = RF_REASON_CAPACITY;

	v[n] = (struct rf_vector){ "subscribe", rf_vec_msg(RF_MSG_SUBSCRIBE, 0) };
	v[n].msg.subscribe.substreams = 0x0f;
	v[n++].msg.subscribe.start_seq = 99950;

	v[n] = (struct rf_vector){ "unsubscribe",
				   rf_vec_msg(RF_MSG_UNSUBSCRIBE, 0) };
	v[n++].msg.subscribe.substreams = 0x03;

	v[n] = (struct rf_vector){ "data",
				   rf_vec_msg(RF_MSG_DATA, RF_FLAG_DATA_RAP) };
	v[n].msg.data = (struct rf_data){ .seq = 99950, .substream = 6,
					  .len = sizeof(rf_vec_payload),
					  .payload = rf_vec_payload };
	n++;

	v[n] = (struct rf_vector){ "signature", rf_vec_msg(RF_MSG_SIGNATURE, 0) };
	v[n++].msg.signature = (struct rf_signature){
		.first_seq = 99936, .count = 2, .sig = rf_vec_sig,
		.hashes = rf_vec_hashes };

	v[n] = (struct rf_vector){ "buffermap", rf_vec_msg(RF_MSG_BUFFERMAP, 0) };
	v[n++].msg.buffermap = (struct rf_buffermap){
		.base_seq = 99940, .nbits = 9, .bits = rf_vec_bits };

	v[n] = (struct rf_vector){ "repair", rf_vec_msg(RF_MSG_REPAIR, 0) };
	v[n].msg.repair.base_seq = 99940;
	v[n++].msg.repair.mask = 0x8000000000000005ULL;

	v[n] = (struct rf_vector){ "quality", rf_vec_msg(RF_MSG_QUALITY, 0) };
	v[n++].msg.quality = (struct rf_quality){
		.continuity_ppm = 999500, .buffer_ms = 2100, .received = 5000,
		.skipped = 2, .repaired = 17, .upload_kbps = 2900,
		.parents = 4, .children = 3, .level = 3, .switches = 1 };

	v[n] = (struct rf_vector){ "keepalive", rf_vec_msg(RF_MSG_KEEPALIVE, 0) };
	v[n++].msg.keepalive.stamp = 0x0000019b5e1a2b3cULL;

	v[n] = (struct rf_vector){ "bye", rf_vec_msg(RF_MSG_BYE, 0) };
	v[n++].msg.bye.reason = RF_REASON_DRAINING;

	for (size_t i = 0; i < n && i < max; i++)
		out[i] = v[i];
	return n;
}
