/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "msg_equal.h"

#define RF_SAME(f)                                                            \
	do {                                                                  \
		if (a->f != b->f) {                                           \
			*field = #f;                                          \
			return false;                                         \
		}                                                             \
	} while (0)

#define RF_SAME_BYTES(f, n)                                                   \
	do {                                                                  \
		if ((n) != 0 && memcmp(a->f, b->f, (n)) != 0) {              \
			*field = #f;                                          \
			return false;                                         \
		}                                                             \
	} while (0)

static bool rf_candidates_equal(const struct rf_msg *a,
				const struct rf_msg *b, const char **field)
{
	RF_SAME(candidates.count);
	RF_SAME(candidates.reason);
	for (unsigned i = 0; i < a->candidates.count; i++) {
		RF_SAME(candidates.entry[i].addr.family);
		RF_SAME(candidates.entry[i].addr.port);
		RF_SAME_BYTES(candidates.entry[i].addr.ip, 16);
		RF_SAME(candidates.entry[i].substreams);
		RF_SAME(candidates.entry[i].spare_kbps);
		RF_SAME(candidates.entry[i].level);
	}
	return true;
}

static bool rf_body_equal(const struct rf_msg *a, const struct rf_msg *b,
			  const char **field)
{
	switch (a->type) {
	case RF_MSG_HELLO:
		RF_SAME(hello.peer_id);
		return true;
	case RF_MSG_COOKIE:
		RF_SAME(cookie.peer_id);
		RF_SAME_BYTES(cookie.cookie, RF_COOKIE_LEN);
		return true;
	case RF_MSG_JOIN:
		RF_SAME(join.peer_id);
		RF_SAME_BYTES(join.cookie, RF_COOKIE_LEN);
		RF_SAME(join.upload_kbps);
		if (!a->join.token != !b->join.token) {
			*field = "join.token";
			return false;
		}
		RF_SAME_BYTES(join.token, a->join.token ? RF_TOKEN_LEN : 0);
		return true;
	case RF_MSG_WELCOME:
		RF_SAME(welcome.chunk_size);
		RF_SAME(welcome.substreams);
		RF_SAME(welcome.group_size);
		RF_SAME(welcome.chunk_rate_milli);
		RF_SAME(welcome.live_edge);
		RF_SAME(welcome.window_first);
		RF_SAME_BYTES(welcome.pubkey, RF_PUBKEY_LEN);
		RF_SAME(welcome.keepalive_ms);
		RF_SAME(welcome.rap_count);
		RF_SAME_BYTES(welcome.raps, 8u * a->welcome.rap_count);
		return true;
	case RF_MSG_CANDIDATES:
	case RF_MSG_REDIRECT:
		return rf_candidates_equal(a, b, field);
	case RF_MSG_SUBSCRIBE:
		RF_SAME(subscribe.start_seq);
		/* fall through */
	case RF_MSG_UNSUBSCRIBE:
		RF_SAME(subscribe.substreams);
		return true;
	case RF_MSG_DATA:
		RF_SAME(data.seq);
		RF_SAME(data.substream);
		RF_SAME(data.len);
		RF_SAME_BYTES(data.payload, a->data.len);
		return true;
	case RF_MSG_SIGNATURE:
		RF_SAME(signature.first_seq);
		RF_SAME(signature.count);
		RF_SAME_BYTES(signature.sig, RF_SIG_LEN);
		RF_SAME_BYTES(signature.hashes,
			      (size_t)RF_HASH_LEN * a->signature.count);
		return true;
	case RF_MSG_BUFFERMAP:
		RF_SAME(buffermap.base_seq);
		RF_SAME(buffermap.nbits);
		RF_SAME_BYTES(buffermap.bits, (a->buffermap.nbits + 7u) / 8);
		return true;
	case RF_MSG_REPAIR:
		RF_SAME(repair.base_seq);
		RF_SAME(repair.mask);
		return true;
	case RF_MSG_QUALITY:
		RF_SAME(quality.continuity_ppm);
		RF_SAME(quality.buffer_ms);
		RF_SAME(quality.received);
		RF_SAME(quality.skipped);
		RF_SAME(quality.repaired);
		RF_SAME(quality.upload_kbps);
		RF_SAME(quality.parents);
		RF_SAME(quality.children);
		RF_SAME(quality.level);
		RF_SAME(quality.switches);
		return true;
	case RF_MSG_KEEPALIVE:
		RF_SAME(keepalive.stamp);
		return true;
	case RF_MSG_BYE:
		RF_SAME(bye.reason);
		return true;
	}
	*field = "type (unknown)";
	return false;
}

bool rf_msg_equal(const struct rf_msg *a, const struct rf_msg *b,
		  const char **field)
{
	RF_SAME(type);
	RF_SAME(flags);
	RF_SAME(stream_id);
	return rf_body_equal(a, b, field);
}
