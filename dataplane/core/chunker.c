/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Chunker: source bytes to chunks. See chunker.h for the rules; the TS
 * fields read here are those of ISO/IEC 13818-1.
 *
 * Copies: a synced TS packet or a bytes-mode byte is copied once, into the
 * pending chunk, straight from the caller's buffer. Only a packet split
 * across feeds, or bytes being checked for sync, go through the carry first;
 * pending data moves only after a cut for a keyframe or a held chunk.
 */
#include "chunker.h"

#include <errno.h>
#include <string.h>

#define RF_TS_PID_NONE 0x2000 /* above every 13-bit PID */
#define RF_TS_LOCK_SPAN ((RF_TS_SYNC_PACKETS - 1) * RF_TS_PACKET)

/* Packet header and adaptation field. */
#define RF_TS_TEI 0x80         /* byte 1: transport_error_indicator */
#define RF_TS_PUSI 0x40        /* byte 1: payload_unit_start_indicator */
#define RF_TS_HAS_AF 0x20      /* byte 3: adaptation_field_control */
#define RF_TS_HAS_PAYLOAD 0x10 /* byte 3: adaptation_field_control */
#define RF_TS_AF_MAX 183       /* adaptation_field_length */
#define RF_TS_AF_DISCONT 0x80  /* discontinuity_indicator */
#define RF_TS_AF_RAI 0x40      /* random_access_indicator */
#define RF_TS_AF_PCR 0x10      /* PCR_flag */
#define RF_TS_AF_PCR_LEN 7     /* flags + 6 PCR bytes */

/* Program specific information: table ids, header sizes up to the loops. */
#define RF_PSI_PAT 0x00
#define RF_PSI_PMT 0x02
#define RF_PSI_PAT_HDR 8
#define RF_PSI_PMT_HDR 12
#define RF_PSI_CRC 4

/* PMT stream types of video. */
#define RF_ST_MPEG1 0x01
#define RF_ST_MPEG2 0x02
#define RF_ST_H264 0x1B
#define RF_ST_HEVC 0x24

#define RF_PES_HDR 9 /* up to and including PES_header_data_length */

#define RF_PCR_WRAP ((UINT64_C(1) << 33) * 300)
#define RF_PCR_WINDOW RF_PCR_HZ /* the bitrate window hops every second */
/* More packets between two PCRs would overflow the bitrate's numerator:
 * no real stream (85 GB within the 22 s a window can span). */
#define RF_PCR_PACKETS_MAX \
	(UINT64_MAX / (RF_TS_PACKET * 8 * (uint64_t)RF_PCR_HZ))

struct rf_ts_hdr {
	uint16_t pid;
	bool pusi;
	uint8_t af_len;   /* 0 without an adaptation field */
	uint8_t af_flags; /* 0 without an adaptation field */
	unsigned payload; /* offset of the payload; RF_TS_PACKET if none */
};

static size_t rf_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

int rf_chunker_init(struct rf_chunker *c, enum rf_chunker_mode mode,
		    unsigned packets_per_chunk, unsigned chunk_bytes)
{
	unsigned size;

	switch (mode) {
	case RF_CHUNKER_TS:
		if (packets_per_chunk == 0 ||
		    packets_per_chunk > RF_CHUNK_MAX / RF_TS_PACKET)
			return -EINVAL;
		size = packets_per_chunk * RF_TS_PACKET;
		break;
	case RF_CHUNKER_BYTES:
		if (chunk_bytes == 0 || chunk_bytes > RF_CHUNK_MAX)
			return -EINVAL;
		size = chunk_bytes;
		break;
	default:
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->chunk_size = (uint16_t)size;
	c->pat_off = -1;
	c->pmt_pid = RF_TS_PID_NONE;
	c->video_pid = RF_TS_PID_NONE;
	c->pcr_pid = RF_TS_PID_NONE;
	return 0;
}

/* Emit the first len bytes of pending; what follows moves to the front. */
static void rf_emit(struct rf_chunker *c, uint16_t len, rf_chunk_emit_fn emit,
		    void *ctx)
{
	emit(ctx, c->pending, len, c->flags);
	c->stats.chunks++;
	if (c->flags & RF_FLAG_DATA_RAP)
		c->stats.raps++;
	c->flags = 0;
	c->pending_len -= len;
	memmove(c->pending, c->pending + len, c->pending_len);
	c->pat_off = c->pat_off >= len ? (int16_t)(c->pat_off - len) : -1;
}

/* ---- TS packet contents ---- */

static void rf_ts_parse(const uint8_t *pkt, struct rf_ts_hdr *h)
{
	h->pid = rf_get16(pkt + 1) & 0x1FFF;
	h->pusi = pkt[1] & RF_TS_PUSI;
	h->af_len = 0;
	h->af_flags = 0;
	h->payload = 4;
	if (pkt[3] & RF_TS_HAS_AF) {
		if (pkt[4] > RF_TS_AF_MAX) {
			h->payload = RF_TS_PACKET; /* malformed: read nothing */
			return;
		}
		h->af_len = pkt[4];
		if (h->af_len)
			h->af_flags = pkt[5];
		h->payload = 5u + h->af_len;
	}
	if (!(pkt[3] & RF_TS_HAS_PAYLOAD))
		h->payload = RF_TS_PACKET;
}

static bool rf_ts_hdr_pcr(const uint8_t *pkt, const struct rf_ts_hdr *h,
			  uint64_t *pcr)
{
	uint64_t base;
	unsigned ext;

	if (!(h->af_flags & RF_TS_AF_PCR) || h->af_len < RF_TS_AF_PCR_LEN)
		return false;
	base = (uint64_t)rf_get32(pkt + 6) << 1 | pkt[10] >> 7;
	ext = (pkt[10] & 1u) << 8 | pkt[11];
	if (ext >= 300) /* out of range: no clock */
		return false;
	*pcr = base * 300 + ext;
	return true;
}

bool rf_ts_pcr(const uint8_t pkt[RF_TS_PACKET], uint64_t *pcr)
{
	struct rf_ts_hdr h;

	if (pkt[0] != RF_TS_SYNC)
		return false;
	rf_ts_parse(pkt, &h);
	return rf_ts_hdr_pcr(pkt, &h, pcr);
}

/*
 * The section of table table_id that starts in this packet, if all of it,
 * with at least hdr bytes of header, is in the packet and applies now:
 * returns its offset and sets *end to where its CRC starts; 0 if none.
 */
static unsigned rf_psi_section(const uint8_t *pkt, const struct rf_ts_hdr *h,
			       uint8_t table_id, unsigned hdr, unsigned *end)
{
	unsigned sec;

	if (!h->pusi || h->payload >= RF_TS_PACKET)
		return 0;
	sec = h->payload + 1 + pkt[h->payload]; /* after pointer_field */
	if (sec + hdr > RF_TS_PACKET || pkt[sec] != table_id ||
	    !(pkt[sec + 5] & 1)) /* current_next_indicator */
		return 0;
	*end = sec + 3 + (rf_get16(pkt + sec + 1) & 0x0FFF);
	if (*end > RF_TS_PACKET || *end < sec + hdr + RF_PSI_CRC)
		return 0;
	*end -= RF_PSI_CRC;
	return sec;
}

static void rf_set_pcr_pid(struct rf_chunker *c, uint16_t pid)
{
	if (pid != c->pcr_pid)
		c->pcr_on = false; /* another clock */
	c->pcr_pid = pid;
}

static void rf_ts_pat(struct rf_chunker *c, const uint8_t *pkt,
		      const struct rf_ts_hdr *h)
{
	unsigned end, at = rf_psi_section(pkt, h, RF_PSI_PAT, RF_PSI_PAT_HDR,
					  &end);
	uint16_t pmt = RF_TS_PID_NONE;

	if (!at)
		return;
	for (at += RF_PSI_PAT_HDR; at + 4 <= end; at += 4) {
		if (rf_get16(pkt + at)) { /* program 0 is the network PID */
			pmt = rf_get16(pkt + at + 2) & 0x1FFF;
			break;
		}
	}
	if (pmt != c->pmt_pid) { /* what the old PMT said no longer holds */
		c->pmt_pid = pmt;
		c->video_pid = RF_TS_PID_NONE;
		rf_set_pcr_pid(c, RF_TS_PID_NONE);
	}
}

static bool rf_is_video(uint8_t stream_type)
{
	return stream_type == RF_ST_H264 || stream_type == RF_ST_HEVC ||
	       stream_type == RF_ST_MPEG2 || stream_type == RF_ST_MPEG1;
}

static void rf_ts_pmt(struct rf_chunker *c, const uint8_t *pkt,
		      const struct rf_ts_hdr *h)
{
	unsigned end, at = rf_psi_section(pkt, h, RF_PSI_PMT, RF_PSI_PMT_HDR,
					  &end);

	if (!at)
		return;
	rf_set_pcr_pid(c, rf_get16(pkt + at + 8) & 0x1FFF);
	c->video_pid = RF_TS_PID_NONE;
	/* skip program_info, then walk the elementary streams */
	at += RF_PSI_PMT_HDR + (rf_get16(pkt + at + 10) & 0x0FFF);
	for (; at + 5 <= end; at += 5 + (rf_get16(pkt + at + 3) & 0x0FFF)) {
		if (rf_is_video(pkt[at])) {
			c->video_pid = rf_get16(pkt + at + 1) & 0x1FFF;
			c->video_type = pkt[at];
			return;
		}
	}
}

/* Does a start code followed by byte b begin a point decoding can start? */
static bool rf_irap_start(uint8_t stream_type, uint8_t b)
{
	unsigned hevc = b >> 1 & 0x3F;

	switch (stream_type) {
	case RF_ST_H264:
		return (b & 0x1F) == 5; /* IDR slice */
	case RF_ST_HEVC:
		return hevc >= 16 && hevc <= 21; /* BLA, IDR, CRA */
	default:
		return b == 0xB3; /* MPEG-1/2 sequence header */
	}
}

/* The start of a video PES that decoding can start from. Only this packet
 * is looked at. */
static bool rf_ts_keyframe(const struct rf_chunker *c, const uint8_t *pkt,
			   const struct rf_ts_hdr *h)
{
	unsigned p = h->payload, i;

	if (h->pid != c->video_pid || !h->pusi)
		return false;
	if (h->af_flags & RF_TS_AF_RAI)
		return true;
	if (p + RF_PES_HDR > RF_TS_PACKET || pkt[p] || pkt[p + 1] ||
	    pkt[p + 2] != 1)
		return false;
	for (i = p + RF_PES_HDR + pkt[p + 8]; i + 3 < RF_TS_PACKET; i++) {
		if (!pkt[i] && !pkt[i + 1] && pkt[i + 2] == 1 &&
		    rf_irap_start(c->video_type, pkt[i + 3]))
			return true;
	}
	return false;
}

static uint64_t rf_pcr_delta(uint64_t from, uint64_t to)
{
	return to >= from ? to - from : to + RF_PCR_WRAP - from;
}

/* A PCR of the PCR PID, carried by packet number stats.packets. */
static void rf_pcr_update(struct rf_chunker *c, uint64_t pcr, bool jump)
{
	struct rf_pcr_mark now = { pcr, c->stats.packets };
	uint64_t step = rf_pcr_delta(c->pcr_last, pcr);
	uint64_t packets = now.packet - c->pcr_from.packet;

	c->pcr_last = pcr;
	if (!c->pcr_on || jump || step == 0 || step > RF_PCR_MAX_STEP ||
	    packets > RF_PCR_PACKETS_MAX) {
		c->pcr_on = true; /* (re)start; keep the last bitrate */
		c->pcr_from = now;
		c->pcr_next = now;
		return;
	}
	/* the span is under 2 * (window + max step): never 0, never wraps */
	c->stats.pcr_bitrate_bps = packets * RF_TS_PACKET * 8 * RF_PCR_HZ /
				   rf_pcr_delta(c->pcr_from.pcr, pcr);
	if (rf_pcr_delta(c->pcr_next.pcr, pcr) >= RF_PCR_WINDOW) {
		c->pcr_from = c->pcr_next;
		c->pcr_next = now;
	}
}

/* A full chunk is held back while a keyframe in the next packet could
 * still share a chunk with the PAT in it. */
static bool rf_holding(const struct rf_chunker *c)
{
	return c->pat_off > 0 && c->pending_len - c->pat_off < c->chunk_size;
}

/* One packet that starts with the sync byte: read it, then chunk it. */
static void rf_ts_packet(struct rf_chunker *c, const uint8_t *pkt,
			 rf_chunk_emit_fn emit, void *ctx)
{
	struct rf_ts_hdr h;
	bool pat = false, key = false;
	uint64_t pcr;

	if (!(pkt[1] & RF_TS_TEI)) { /* flagged corrupt: passed on, not read */
		rf_ts_parse(pkt, &h);
		pat = h.pid == 0 && h.pusi;
		if (h.pid == 0)
			rf_ts_pat(c, pkt, &h);
		else if (h.pid == c->pmt_pid)
			rf_ts_pmt(c, pkt, &h);
		key = rf_ts_keyframe(c, pkt, &h);
		if (h.pid == c->pcr_pid && rf_ts_hdr_pcr(pkt, &h, &pcr))
			rf_pcr_update(c, pcr, h.af_flags & RF_TS_AF_DISCONT);
	}

	/* a newer PAT: the held one can no longer begin a RAP chunk */
	if (pat && c->pending_len >= c->chunk_size)
		rf_emit(c, c->chunk_size, emit, ctx);
	if (pat)
		c->pat_off = (int16_t)c->pending_len;
	memcpy(c->pending + c->pending_len, pkt, RF_TS_PACKET);
	c->pending_len += RF_TS_PACKET;
	c->stats.packets++;

	if (key && c->pat_off > 0) /* cut: the PAT begins the RAP chunk */
		rf_emit(c, (uint16_t)c->pat_off, emit, ctx);
	if (key && c->pat_off == 0)
		c->flags |= RF_FLAG_DATA_RAP;
	if (c->pending_len >= c->chunk_size && !rf_holding(c))
		rf_emit(c, c->chunk_size, emit, ctx);
}

/* ---- TS sync ---- */

static void rf_carry_drop(struct rf_chunker *c, uint16_t n)
{
	c->stats.garbage_bytes += n;
	c->carry_len -= n;
	memmove(c->carry, c->carry + n, c->carry_len);
}

/* Could buf begin a lock: the sync byte at each packet start within it?
 * (len is at most the carry: RF_TS_SYNC_PACKETS packet starts.) */
static bool rf_ts_may_lock(const uint8_t *buf, unsigned len)
{
	for (unsigned at = 0; at < len; at += RF_TS_PACKET) {
		if (buf[at] != RF_TS_SYNC)
			return false;
	}
	return true;
}

/*
 * Out of sync: gather bytes in the carry, dropping from its front each
 * byte that cannot begin a lock, until RF_TS_SYNC_PACKETS packet starts
 * hold the sync byte (synced is set) or the input is used up. Returns the
 * input bytes used.
 */
static size_t rf_ts_hunt(struct rf_chunker *c, const uint8_t *data, size_t len)
{
	size_t used = 0, n;
	uint16_t i;

	for (;;) {
		n = rf_min(len - used, sizeof(c->carry) - c->carry_len);
		memcpy(c->carry + c->carry_len, data + used, n);
		c->carry_len += (uint16_t)n;
		used += n;
		i = 0;
		while (i < c->carry_len &&
		       !rf_ts_may_lock(c->carry + i, c->carry_len - i))
			i++;
		rf_carry_drop(c, i);
		if (c->carry_len > RF_TS_LOCK_SPAN) {
			c->synced = true;
			c->stats.resyncs += c->lost;
			c->lost = false;
			return used;
		}
		if (used == len)
			return used;
	}
}

/* Pass on the whole packets at the front of the carry (each starts with
 * the sync byte); a partial one stays. */
static void rf_ts_drain(struct rf_chunker *c, rf_chunk_emit_fn emit, void *ctx)
{
	uint16_t whole = c->carry_len / RF_TS_PACKET * RF_TS_PACKET;

	for (uint16_t at = 0; at < whole; at += RF_TS_PACKET)
		rf_ts_packet(c, c->carry + at, emit, ctx);
	c->carry_len -= whole;
	memmove(c->carry, c->carry + whole, c->carry_len);
}

static void rf_ts_feed(struct rf_chunker *c, const uint8_t *data, size_t len,
		       rf_chunk_emit_fn emit, void *ctx)
{
	size_t n;

	while (len) {
		if (!c->synced) {
			n = rf_ts_hunt(c, data, len);
			if (c->synced) /* the packets that proved it */
				rf_ts_drain(c, emit, ctx);
		} else if (c->carry_len) { /* a packet split across feeds */
			n = rf_min(len, RF_TS_PACKET - c->carry_len);
			memcpy(c->carry + c->carry_len, data, n);
			c->carry_len += (uint16_t)n;
			if (c->carry_len == RF_TS_PACKET)
				rf_ts_drain(c, emit, ctx);
		} else if (data[0] != RF_TS_SYNC) {
			/* lost: the hunt takes it from this byte on */
			c->synced = false;
			c->lost = true;
			c->pcr_on = false; /* bytes may be missing */
			n = 0;
		} else if (len < RF_TS_PACKET) {
			n = len;
			memcpy(c->carry, data, n);
			c->carry_len = (uint16_t)n;
		} else {
			n = RF_TS_PACKET;
			rf_ts_packet(c, data, emit, ctx);
		}
		data += n;
		len -= n;
	}
}

static void rf_bytes_feed(struct rf_chunker *c, const uint8_t *data,
			  size_t len, rf_chunk_emit_fn emit, void *ctx)
{
	size_t n;

	while (len) {
		n = rf_min(len, (size_t)(c->chunk_size - c->pending_len));
		memcpy(c->pending + c->pending_len, data, n);
		c->pending_len += (uint16_t)n;
		if (c->pending_len == c->chunk_size)
			rf_emit(c, c->chunk_size, emit, ctx);
		data += n;
		len -= n;
	}
}

void rf_chunker_feed(struct rf_chunker *c, const uint8_t *data, size_t len,
		     rf_chunk_emit_fn emit, void *ctx)
{
	c->stats.bytes_in += len;
	if (c->mode == RF_CHUNKER_TS)
		rf_ts_feed(c, data, len, emit, ctx);
	else
		rf_bytes_feed(c, data, len, emit, ctx);
}

void rf_chunker_flush(struct rf_chunker *c, rf_chunk_emit_fn emit, void *ctx)
{
	if (c->mode == RF_CHUNKER_TS) {
		rf_ts_drain(c, emit, ctx); /* whole packets still on trial */
		rf_carry_drop(c, c->carry_len); /* a truncated packet */
	}
	while (c->pending_len)
		rf_emit(c, (uint16_t)rf_min(c->pending_len, c->chunk_size),
			emit, ctx);
}

void rf_chunker_discontinuity(struct rf_chunker *c, rf_chunk_emit_fn emit,
			      void *ctx)
{
	rf_chunker_flush(c, emit, ctx);
	c->flags |= RF_FLAG_DATA_DISCONT;
	c->stats.discontinuities++;
	c->synced = false;
	c->pcr_on = false;
}

/* ---- RTP (RFC 3550; MPEG-TS payload: RFC 2250) ---- */

#define RF_RTP_HDR 12
#define RF_RTP_VERSION(b) ((b) >> 6)
#define RF_RTP_PADDING 0x20
#define RF_RTP_EXTENSION 0x10
#define RF_RTP_CSRC_COUNT(b) ((b) & 0x0F)

bool rf_rtp_ts_payload(const uint8_t *dgram, size_t len, size_t *off,
		       size_t *plen, uint16_t *seq)
{
	size_t hdr, pad = 0;

	/* raw TS starts with 0x47, whose top bits say version 1 */
	if (len < RF_RTP_HDR || RF_RTP_VERSION(dgram[0]) != 2)
		return false;
	hdr = RF_RTP_HDR + 4 * (size_t)RF_RTP_CSRC_COUNT(dgram[0]);
	if (dgram[0] & RF_RTP_EXTENSION) {
		if (hdr + 4 > len)
			return false;
		hdr += 4 + 4 * (size_t)rf_get16(dgram + hdr + 2);
	}
	if (hdr >= len)
		return false;
	if (dgram[0] & RF_RTP_PADDING) {
		pad = dgram[len - 1]; /* the count includes itself */
		if (pad == 0 || pad >= len - hdr)
			return false;
	}
	if (dgram[hdr] != RF_TS_SYNC)
		return false;
	*off = hdr;
	*plen = len - hdr - pad;
	*seq = rf_get16(dgram + 2);
	return true;
}

bool rf_ts_sniff(const uint8_t *p, size_t len)
{
	for (size_t off = 0; off + 2 * RF_TS_PACKET < len && off < RF_TS_PACKET; off++)
		if (p[off] == RF_TS_SYNC && p[off + RF_TS_PACKET] == RF_TS_SYNC &&
		    p[off + 2 * RF_TS_PACKET] == RF_TS_SYNC)
			return true;
	return false;
}
