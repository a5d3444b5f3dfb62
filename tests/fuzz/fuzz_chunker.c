/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the chunker on arbitrary bytes, fed in pieces whose
 * sizes (and discontinuities) the input chooses, in both modes; and the
 * RTP and PCR helpers on the same bytes. Each piece is an exact-size heap
 * copy, so ASan sees any read past it.
 *
 * Input: [0] mode, flags and packets per chunk, [1..2] chunk bytes (TS:
 * video stream type), [3..10] a cycle of piece sizes, then the stream. In
 * TS mode, flags can put a PAT and a PMT (video and PCR on PID 0x100) before
 * the stream, and stamp a header at every packet start (except where the
 * stream has 0x00): the sync byte and one of the PIDs that matter, so that
 * the fuzzer soon reaches the keyframe, RAP and PCR code.
 *
 * Invariants (abort() on violation):
 *  - every chunk is 1..chunk size bytes;
 *  - TS: a chunk is whole packets, each starting with 0x47 and each a
 *    contiguous block of the stream, in order, never overlapping: garbage
 *    is only ever dropped, never passed on or reordered;
 *    a RAP chunk begins with a PAT packet (PID 0, section start);
 *  - bytes mode: the chunks concatenated are the stream, never RAP;
 *  - RF_FLAG_DATA_DISCONT is on exactly the first chunk after each
 *    discontinuity; stats count chunks, RAPs and discontinuities exactly;
 *  - accounting: bytes held (bytes_in - emitted - garbage) stay within
 *    twice the chunk size, and are 0 after every flush or discontinuity,
 *    when bytes_in == emitted + garbage_bytes (TS: == packets * 188 +
 *    garbage_bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "chunker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CTL 11 /* control bytes before the stream */
#define PIECES 8
#define BYTES_MODE 0x80
#define STAMP 0x40
#define TABLES 0x20
#define TABLES_LEN (2 * RF_TS_PACKET)

struct check {
	struct rf_chunker c;
	const uint8_t *stream;
	size_t len;
	size_t cursor;   /* where the next emitted byte may come from */
	uint64_t emitted, chunks, raps, discont;
	bool want_discont;
};

static void emitted(void *ctx, const uint8_t *p, uint16_t len, uint8_t flags)
{
	struct check *k = ctx;
	bool ts = k->c.mode == RF_CHUNKER_TS;

	if (len == 0 || len > k->c.chunk_size)
		abort();
	if (!!(flags & RF_FLAG_DATA_DISCONT) != k->want_discont)
		abort();
	k->want_discont = false;
	if (flags & ~(RF_FLAG_DATA_RAP | RF_FLAG_DATA_DISCONT))
		abort();
	if (flags & RF_FLAG_DATA_RAP) {
		if (!ts || p[1] & 0x80 || (rf_get16(p + 1) & 0x5FFF) != 0x4000)
			abort(); /* not a PAT: PID 0, PUSI, no TEI */
		k->raps++;
	}
	if (!ts) {
		if (len > k->len - k->cursor ||
		    memcmp(p, k->stream + k->cursor, len))
			abort();
		k->cursor += len;
	}
	for (uint16_t at = 0; ts && at < len; at += RF_TS_PACKET) {
		if (len - at < RF_TS_PACKET || p[at] != RF_TS_SYNC)
			abort();
		/* the next block of the stream equal to this packet */
		while (k->cursor + RF_TS_PACKET <= k->len &&
		       memcmp(k->stream + k->cursor, p + at, RF_TS_PACKET))
			k->cursor++;
		if (k->cursor + RF_TS_PACKET > k->len)
			abort();
		k->cursor += RF_TS_PACKET;
	}
	k->emitted += len;
	k->chunks++;
}

static void check_stats(const struct check *k, bool drained)
{
	const struct rf_chunker_stats *s = &k->c.stats;
	uint64_t held = s->bytes_in - k->emitted - s->garbage_bytes;

	if (s->chunks != k->chunks || s->raps != k->raps ||
	    s->discontinuities != k->discont)
		abort();
	if (k->emitted + s->garbage_bytes > s->bytes_in ||
	    held > 2u * k->c.chunk_size || (drained && held))
		abort();
	if (k->c.mode == RF_CHUNKER_TS && drained &&
	    k->emitted != s->packets * RF_TS_PACKET)
		abort();
	if (k->c.mode == RF_CHUNKER_BYTES && (held >= k->c.chunk_size ||
					      s->garbage_bytes || s->packets))
		abort();
}

/* Sync byte and PID (PAT, PMT, video, null) at each packet start. */
static void stamp(uint8_t *s, size_t len)
{
	static const uint16_t pids[] = { 0x0000, 0x0020, 0x0100, 0x1FFF };
	uint16_t pid;

	for (size_t p = 0; p < len; p += RF_TS_PACKET) {
		if (!s[p])
			continue; /* left alone: sync can still be lost */
		s[p] = RF_TS_SYNC;
		if (p + 2 >= len)
			break;
		pid = pids[s[p + 1] & 3];
		s[p + 1] = (uint8_t)((s[p + 1] & 0xE0) | pid >> 8);
		s[p + 2] = (uint8_t)pid;
	}
}

/* PAT -> PMT on PID 0x20 -> video of stream_type on PID 0x100, also the
 * PCR PID. CRCs are not checked. */
static void tables(uint8_t *p, uint8_t stream_type)
{
	static const uint8_t pat[] = { 0x47, 0x40, 0x00, 0x10, 0x00, 0x00,
				       0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00,
				       0x00, 0x00, 0x01, 0xE0, 0x20 };
	static const uint8_t pmt[] = { 0x47, 0x40, 0x20, 0x10, 0x00, 0x02,
				       0xB0, 0x12, 0x00, 0x01, 0xC1, 0x00,
				       0x00, 0xE1, 0x00, 0xF0, 0x00, 0x00,
				       0xE1, 0x00, 0xF0, 0x00 };

	memset(p, 0xFF, TABLES_LEN);
	memcpy(p, pat, sizeof(pat));
	memcpy(p + RF_TS_PACKET, pmt, sizeof(pmt));
	p[RF_TS_PACKET + 17] = stream_type;
}

static void check_helpers(const uint8_t *s, size_t len)
{
	size_t off, plen;
	uint16_t seq;
	uint64_t pcr;

	if (rf_rtp_ts_payload(s, len, &off, &plen, &seq) &&
	    (plen == 0 || off + plen > len || s[off] != RF_TS_SYNC))
		abort();
	if (len >= RF_TS_PACKET && rf_ts_pcr(s, &pcr) &&
	    pcr >= (UINT64_C(1) << 33) * 300)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t video[] = { 0x1B, 0x24, 0x02, 0x01 };
	static struct check k;
	const uint8_t *pieces = data + 3;
	size_t at = 0, n, pre;
	uint8_t *stream;
	bool ts;

	if (size < CTL || !memcmp(pieces, "\0\0\0\0\0\0\0\0", PIECES))
		return 0; /* too short, or nothing but discontinuities */
	ts = !(data[0] & BYTES_MODE);
	if (rf_chunker_init(&k.c, ts ? RF_CHUNKER_TS : RF_CHUNKER_BYTES,
			    1 + (data[0] & 0x1F) % 7,
			    1 + rf_get16(data + 1) % RF_CHUNK_MAX))
		abort();
	pre = ts && data[0] & TABLES ? TABLES_LEN : 0;
	k.len = pre + size - CTL;
	stream = malloc(k.len ? k.len : 1);
	if (!stream)
		abort();
	if (pre)
		tables(stream, video[data[1] & 3]);
	memcpy(stream + pre, data + CTL, size - CTL);
	if (ts && data[0] & STAMP)
		stamp(stream + pre, k.len - pre);
	check_helpers(stream, k.len);
	k.stream = stream;
	k.cursor = 0;
	k.emitted = k.chunks = k.raps = k.discont = 0;
	k.want_discont = false;

	for (unsigned i = 0; at < k.len; i++) {
		uint8_t b = pieces[i % PIECES];
		uint8_t *piece;

		if (b == 0) {
			rf_chunker_discontinuity(&k.c, emitted, &k);
			k.discont++;
			k.want_discont = true;
			check_stats(&k, true);
			continue;
		}
		/* 1..199 bytes, or 1..56 whole packets */
		n = b < 200 ? b : (size_t)(b - 199) * RF_TS_PACKET;
		n = n < k.len - at ? n : k.len - at;
		piece = malloc(n);
		if (!piece)
			abort();
		memcpy(piece, stream + at, n);
		rf_chunker_feed(&k.c, piece, n, emitted, &k);
		free(piece);
		at += n;
		check_stats(&k, false);
	}
	rf_chunker_flush(&k.c, emitted, &k);
	check_stats(&k, true);
	if (k.c.stats.bytes_in != k.len)
		abort();
	free(stream);
	return 0;
}
