/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Encode and decode of v1 messages. Field offsets follow the tables of
 * docs/PROTOCOL.md, section "Messages"; keep the two in step.
 */
#include <errno.h>
#include <string.h>

#include "msg.h"

static const char *const rf_msg_names[RF_MSG_TYPE_MAX + 1] = {
#define RF_X_NAME(name, value, str) [value] = str,
	RF_MSG_LIST(RF_X_NAME)
#undef RF_X_NAME
};

static const char *const rf_reason_names[] = {
#define RF_X_NAME(name, value, str) [value] = str,
	RF_REASON_LIST(RF_X_NAME)
#undef RF_X_NAME
};

const char *rf_msg_name(uint8_t type)
{
	if (type > RF_MSG_TYPE_MAX || !rf_msg_names[type])
		return "unknown";
	return rf_msg_names[type];
}

const char *rf_reason_name(uint8_t reason)
{
	if (reason >= sizeof(rf_reason_names) / sizeof(rf_reason_names[0]))
		return "unknown";
	return rf_reason_names[reason];
}

/* ---- decode: the body is b[0..n), n already within the type's bounds ---- */

static enum rf_drop rf_decode_join(const uint8_t *b, uint16_t n,
				   uint8_t flags, struct rf_join *j)
{
	bool has_token = flags & RF_FLAG_JOIN_TOKEN;

	if (n != 32 + (has_token ? RF_TOKEN_LEN : 0))
		return RF_DROP_BAD_LENGTH;
	j->peer_id = rf_get64(b);
	memcpy(j->cookie, b + 8, RF_COOKIE_LEN);
	j->upload_kbps = rf_get32(b + 28);
	j->token = has_token ? b + 32 : NULL;
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_welcome(const uint8_t *b, uint16_t n,
				      struct rf_welcome *w)
{
	w->chunk_size = rf_get16(b);
	w->substreams = b[2];
	w->group_size = b[3];
	w->chunk_rate_milli = rf_get32(b + 4);
	w->live_edge = rf_get64(b + 8);
	w->window_first = rf_get64(b + 16);
	memcpy(w->pubkey, b + 24, RF_PUBKEY_LEN);
	w->keepalive_ms = rf_get32(b + 56);
	w->rap_count = b[60];
	if (w->chunk_size == 0 || w->chunk_size > RF_CHUNK_MAX ||
	    w->substreams == 0 || w->substreams > RF_SUBSTREAMS_MAX ||
	    w->group_size == 0 || w->group_size > RF_GROUP_MAX ||
	    w->rap_count > RF_RAPS_MAX)
		return RF_DROP_BAD_FIELD;
	if (n != 64 + 8 * w->rap_count)
		return RF_DROP_BAD_LENGTH;
	for (unsigned i = 0; i < w->rap_count; i++)
		w->raps[i] = rf_get64(b + 64 + 8 * i);
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_candidate(const uint8_t *e,
					struct rf_candidate *c)
{
	static const uint8_t zero[12];

	memset(&c->addr, 0, sizeof(c->addr));
	c->addr.family = e[0];
	c->level = e[1];
	c->addr.port = rf_get16(e + 2);
	memcpy(c->addr.ip, e + 4, 16);
	c->substreams = rf_get64(e + 20);
	c->spare_kbps = rf_get32(e + 28);
	if (c->addr.family != RF_AF_INET && c->addr.family != RF_AF_INET6)
		return RF_DROP_BAD_FIELD;
	if (c->addr.family == RF_AF_INET && memcmp(e + 8, zero, 12) != 0)
		return RF_DROP_BAD_FIELD;
	if (c->addr.port == 0)
		return RF_DROP_BAD_FIELD;
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_candidates(const uint8_t *b, uint16_t n,
					 struct rf_candidates *cs)
{
	enum rf_drop why;

	cs->count = b[0];
	cs->reason = b[1];
	if (cs->count > RF_CANDIDATES_MAX)
		return RF_DROP_BAD_FIELD;
	if (n != 4 + RF_CANDIDATE_LEN * cs->count)
		return RF_DROP_BAD_LENGTH;
	for (unsigned i = 0; i < cs->count; i++) {
		why = rf_decode_candidate(b + 4 + RF_CANDIDATE_LEN * i,
					  &cs->entry[i]);
		if (why != RF_DROP_NONE)
			return why;
	}
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_signature(const uint8_t *b, uint16_t n,
					struct rf_signature *s)
{
	s->first_seq = rf_get64(b);
	s->count = b[8];
	if (s->count == 0 || s->count > RF_GROUP_MAX)
		return RF_DROP_BAD_FIELD;
	if (n != 76 + RF_HASH_LEN * s->count)
		return RF_DROP_BAD_LENGTH;
	s->sig = b + 12;
	s->hashes = b + 76;
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_buffermap(const uint8_t *b, uint16_t n,
					struct rf_buffermap *bm)
{
	bm->base_seq = rf_get64(b);
	bm->nbits = rf_get16(b + 8);
	if (bm->nbits == 0 || bm->nbits > RF_BUFMAP_BITS_MAX)
		return RF_DROP_BAD_FIELD;
	if (n != 12 + (bm->nbits + 7) / 8)
		return RF_DROP_BAD_LENGTH;
	bm->bits = b + 12;
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_quality(const uint8_t *b, struct rf_quality *q)
{
	q->continuity_ppm = rf_get32(b);
	q->buffer_ms = rf_get32(b + 4);
	q->received = rf_get32(b + 8);
	q->skipped = rf_get32(b + 12);
	q->repaired = rf_get32(b + 16);
	q->upload_kbps = rf_get32(b + 20);
	q->parents = b[24];
	q->children = b[25];
	q->level = b[26];
	q->switches = rf_get32(b + 28);
	if (q->continuity_ppm > 1000000)
		return RF_DROP_BAD_FIELD;
	return RF_DROP_NONE;
}

static enum rf_drop rf_decode_body(const uint8_t *b, uint16_t n,
				   struct rf_msg *m)
{
	switch (m->type) {
	case RF_MSG_HELLO:
		m->hello.peer_id = rf_get64(b);
		return RF_DROP_NONE;
	case RF_MSG_COOKIE:
		m->cookie.peer_id = rf_get64(b);
		memcpy(m->cookie.cookie, b + 8, RF_COOKIE_LEN);
		return RF_DROP_NONE;
	case RF_MSG_JOIN:
		return rf_decode_join(b, n, m->flags, &m->join);
	case RF_MSG_WELCOME:
		return rf_decode_welcome(b, n, &m->welcome);
	case RF_MSG_CANDIDATES:
	case RF_MSG_REDIRECT:
		return rf_decode_candidates(b, n, &m->candidates);
	case RF_MSG_SUBSCRIBE:
		m->subscribe.start_seq = rf_get64(b + 8);
		/* fall through */
	case RF_MSG_UNSUBSCRIBE:
		m->subscribe.substreams = rf_get64(b);
		return m->subscribe.substreams ? RF_DROP_NONE : RF_DROP_BAD_FIELD;
	case RF_MSG_DATA:
		m->data.seq = rf_get64(b);
		m->data.substream = b[8];
		m->data.len = (uint16_t)(n - 12);
		m->data.payload = b + 12;
		return m->data.substream < RF_SUBSTREAMS_MAX ? RF_DROP_NONE
							     : RF_DROP_BAD_FIELD;
	case RF_MSG_SIGNATURE:
		return rf_decode_signature(b, n, &m->signature);
	case RF_MSG_BUFFERMAP:
		return rf_decode_buffermap(b, n, &m->buffermap);
	case RF_MSG_REPAIR:
		m->repair.base_seq = rf_get64(b);
		m->repair.mask = rf_get64(b + 8);
		return m->repair.mask ? RF_DROP_NONE : RF_DROP_BAD_FIELD;
	case RF_MSG_QUALITY:
		return rf_decode_quality(b, &m->quality);
	case RF_MSG_KEEPALIVE:
		m->keepalive.stamp = rf_get64(b);
		return RF_DROP_NONE;
	case RF_MSG_BYE:
		m->bye.reason = b[0];
		return RF_DROP_NONE;
	}
	return RF_DROP_UNKNOWN_TYPE;
}

enum rf_drop rf_msg_decode(const uint8_t *buf, size_t len, struct rf_msg *m)
{
	enum rf_drop why;

	if (len > RF_MAX_DATAGRAM)
		return RF_DROP_OVERSIZE;
	why = rf_wire_check(buf, buf + len);
	if (why != RF_DROP_NONE)
		return why;
	m->type = buf[RF_OFF_TYPE];
	m->flags = buf[RF_OFF_FLAGS];
	m->stream_id = rf_get64(buf + RF_OFF_STREAM);
	return rf_decode_body(buf + RF_HDR_LEN, rf_get16(buf + RF_OFF_LENGTH),
			      m);
}

/* ---- encode: each writer fills b and returns the body length or -errno ---- */

static int rf_encode_join(const struct rf_msg *m, uint8_t *b)
{
	const struct rf_join *j = &m->join;
	bool has_token = m->flags & RF_FLAG_JOIN_TOKEN;

	if (has_token != (j->token != NULL))
		return -EINVAL;
	rf_put64(b, j->peer_id);
	memcpy(b + 8, j->cookie, RF_COOKIE_LEN);
	rf_put32(b + 28, j->upload_kbps);
	if (!has_token)
		return 32;
	memcpy(b + 32, j->token, RF_TOKEN_LEN);
	return 32 + RF_TOKEN_LEN;
}

static int rf_encode_welcome(const struct rf_welcome *w, uint8_t *b)
{
	if (w->chunk_size == 0 || w->chunk_size > RF_CHUNK_MAX ||
	    w->substreams == 0 || w->substreams > RF_SUBSTREAMS_MAX ||
	    w->group_size == 0 || w->group_size > RF_GROUP_MAX ||
	    w->rap_count > RF_RAPS_MAX)
		return -EINVAL;
	rf_put16(b, w->chunk_size);
	b[2] = w->substreams;
	b[3] = w->group_size;
	rf_put32(b + 4, w->chunk_rate_milli);
	rf_put64(b + 8, w->live_edge);
	rf_put64(b + 16, w->window_first);
	memcpy(b + 24, w->pubkey, RF_PUBKEY_LEN);
	rf_put32(b + 56, w->keepalive_ms);
	b[60] = w->rap_count;
	memset(b + 61, 0, 3);
	for (unsigned i = 0; i < w->rap_count; i++)
		rf_put64(b + 64 + 8 * i, w->raps[i]);
	return 64 + 8 * w->rap_count;
}

static int rf_encode_candidates(const struct rf_candidates *cs, uint8_t *b)
{
	if (cs->count > RF_CANDIDATES_MAX)
		return -EINVAL;
	b[0] = cs->count;
	b[1] = cs->reason;
	rf_put16(b + 2, 0);
	for (unsigned i = 0; i < cs->count; i++) {
		const struct rf_candidate *c = &cs->entry[i];
		uint8_t *e = b + 4 + RF_CANDIDATE_LEN * i;

		if (c->addr.family != RF_AF_INET &&
		    c->addr.family != RF_AF_INET6)
			return -EINVAL;
		e[0] = c->addr.family;
		e[1] = c->level;
		rf_put16(e + 2, c->addr.port);
		memset(e + 4, 0, 16);
		memcpy(e + 4, c->addr.ip, c->addr.family == RF_AF_INET ? 4 : 16);
		rf_put64(e + 20, c->substreams);
		rf_put32(e + 28, c->spare_kbps);
	}
	return 4 + RF_CANDIDATE_LEN * cs->count;
}

static int rf_encode_signature(const struct rf_signature *s, uint8_t *b)
{
	if (s->count == 0 || s->count > RF_GROUP_MAX)
		return -EINVAL;
	rf_put64(b, s->first_seq);
	b[8] = s->count;
	memset(b + 9, 0, 3);
	memcpy(b + 12, s->sig, RF_SIG_LEN);
	memcpy(b + 76, s->hashes, (size_t)RF_HASH_LEN * s->count);
	return 76 + RF_HASH_LEN * s->count;
}

static int rf_encode_buffermap(const struct rf_buffermap *bm, uint8_t *b)
{
	unsigned bytes = (bm->nbits + 7u) / 8;

	if (bm->nbits == 0 || bm->nbits > RF_BUFMAP_BITS_MAX)
		return -EINVAL;
	rf_put64(b, bm->base_seq);
	rf_put16(b + 8, bm->nbits);
	rf_put16(b + 10, 0);
	memcpy(b + 12, bm->bits, bytes);
	return (int)(12 + bytes);
}

static int rf_encode_quality(const struct rf_quality *q, uint8_t *b)
{
	rf_put32(b, q->continuity_ppm);
	rf_put32(b + 4, q->buffer_ms);
	rf_put32(b + 8, q->received);
	rf_put32(b + 12, q->skipped);
	rf_put32(b + 16, q->repaired);
	rf_put32(b + 20, q->upload_kbps);
	b[24] = q->parents;
	b[25] = q->children;
	b[26] = q->level;
	b[27] = 0;
	rf_put32(b + 28, q->switches);
	return 32;
}

/* Write the body of m at b (room for RF_MAX_BODY bytes guaranteed). */
static int rf_encode_body(const struct rf_msg *m, uint8_t *b)
{
	switch (m->type) {
	case RF_MSG_HELLO:
		rf_put64(b, m->hello.peer_id);
		return 8;
	case RF_MSG_COOKIE:
		rf_put64(b, m->cookie.peer_id);
		memcpy(b + 8, m->cookie.cookie, RF_COOKIE_LEN);
		return 28;
	case RF_MSG_JOIN:
		return rf_encode_join(m, b);
	case RF_MSG_WELCOME:
		return rf_encode_welcome(&m->welcome, b);
	case RF_MSG_CANDIDATES:
	case RF_MSG_REDIRECT:
		return rf_encode_candidates(&m->candidates, b);
	case RF_MSG_SUBSCRIBE:
		rf_put64(b, m->subscribe.substreams);
		rf_put64(b + 8, m->subscribe.start_seq);
		return m->subscribe.substreams ? 16 : -EINVAL;
	case RF_MSG_UNSUBSCRIBE:
		rf_put64(b, m->subscribe.substreams);
		return m->subscribe.substreams ? 8 : -EINVAL;
	case RF_MSG_DATA:
		if (m->data.len == 0 || m->data.len > RF_CHUNK_MAX ||
		    m->data.substream >= RF_SUBSTREAMS_MAX)
			return -EINVAL;
		rf_data_hdr_write(b - RF_HDR_LEN, m->stream_id, m->flags,
				  m->data.seq, m->data.substream, m->data.len);
		memcpy(b + 12, m->data.payload, m->data.len);
		return 12 + m->data.len;
	case RF_MSG_SIGNATURE:
		return rf_encode_signature(&m->signature, b);
	case RF_MSG_BUFFERMAP:
		return rf_encode_buffermap(&m->buffermap, b);
	case RF_MSG_REPAIR:
		rf_put64(b, m->repair.base_seq);
		rf_put64(b + 8, m->repair.mask);
		return m->repair.mask ? 16 : -EINVAL;
	case RF_MSG_QUALITY:
		if (m->quality.continuity_ppm > 1000000)
			return -EINVAL;
		return rf_encode_quality(&m->quality, b);
	case RF_MSG_KEEPALIVE:
		rf_put64(b, m->keepalive.stamp);
		return 8;
	case RF_MSG_BYE:
		b[0] = m->bye.reason;
		memset(b + 1, 0, 3);
		return 4;
	}
	return -EINVAL;
}

static void rf_hdr_write(uint8_t *buf, uint8_t type, uint8_t flags,
			 uint64_t stream_id, uint16_t body_len)
{
	rf_put16(buf + RF_OFF_MAGIC, RF_MAGIC);
	buf[RF_OFF_VERSION] = RF_VERSION;
	buf[RF_OFF_TYPE] = type;
	buf[RF_OFF_FLAGS] = flags;
	buf[RF_OFF_RESERVED] = 0;
	rf_put16(buf + RF_OFF_LENGTH, body_len);
	rf_put64(buf + RF_OFF_STREAM, stream_id);
}

void rf_data_hdr_write(uint8_t *buf, uint64_t stream_id, uint8_t flags,
		       uint64_t seq, uint8_t substream, uint16_t len)
{
	uint8_t *b = buf + RF_HDR_LEN;

	rf_hdr_write(buf, RF_MSG_DATA, flags, stream_id, (uint16_t)(12 + len));
	rf_put64(b, seq);
	b[8] = substream;
	memset(b + 9, 0, 3);
}

int rf_msg_encode(const struct rf_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t tmp[RF_MAX_DATAGRAM];
	size_t total;
	int body;

	/* Encode into a full-size scratch buffer so the body writers need
	 * no bounds checks of their own; copy out once the size is known. */
	body = rf_encode_body(m, tmp + RF_HDR_LEN);
	if (body < 0)
		return body;
	rf_hdr_write(tmp, m->type, m->flags, m->stream_id, (uint16_t)body);
	total = RF_HDR_LEN + (size_t)body;
	if (m->type == RF_MSG_HELLO) {
		memset(tmp + total, 0, RF_HELLO_MIN - total);
		total = RF_HELLO_MIN;
	}
	if (total > cap)
		return -ENOSPC;
	memcpy(buf, tmp, total);
	return (int)total;
}
