/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the chunker (dataplane/core/chunker.c). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "wire.h"

#define PKT RF_TS_PACKET
#define MAX_PKTS 8192
#define MAX_CHUNKS 8192

#define PID_PMT 0x20
#define PID_VIDEO 0x100
#define PID_AUDIO 0x101
#define PID_NULL 0x1FFF

#define PCR_WRAP ((UINT64_C(1) << 33) * 300)

/* ---- the stream under test, built packet by packet ---- */

static uint8_t stream[MAX_PKTS * PKT];
static size_t npk;
static uint8_t cc;

/* A payload-only packet; the payload is a pattern unique to the packet
 * that never holds the sync byte nor two zero bytes in a row. */
static uint8_t *ts_pkt(uint16_t pid, bool pusi)
{
	uint8_t *p = stream + npk * PKT;

	cr_assert_lt(npk, MAX_PKTS);
	p[0] = RF_TS_SYNC;
	p[1] = (uint8_t)((pusi ? 0x40 : 0) | pid >> 8);
	p[2] = (uint8_t)pid;
	p[3] = 0x10 | (cc++ & 0x0F);
	for (size_t i = 4; i < PKT; i++) {
		uint8_t b = (uint8_t)(npk * 31 + i * 7);

		p[i] = b == RF_TS_SYNC ? b + 1 : b;
	}
	npk++;
	return p;
}

/* Give p an adaptation field of af_len bytes; returns the payload offset. */
static size_t ts_af(uint8_t *p, uint8_t af_len, uint8_t flags)
{
	p[3] |= 0x20;
	p[4] = af_len;
	if (af_len) {
		p[5] = flags;
		memset(p + 6, 0xFF, af_len - 1u);
	}
	return 5u + af_len;
}

static uint8_t *ts_null(void)
{
	return ts_pkt(PID_NULL, false);
}

static void ts_nulls(unsigned n)
{
	while (n--)
		ts_null();
}

/* A section at the start of the payload (pointer_field `ptr` bytes of
 * filler before it); returns where the section's body goes. */
static uint8_t *ts_section(uint8_t *p, uint8_t ptr, uint8_t table_id,
			   unsigned body_len)
{
	uint8_t *s = p + 5 + ptr;
	unsigned len = 5 + body_len + 4; /* header after length, CRC */

	memset(p + 4, 0xFF, PKT - 4);
	p[4] = ptr;
	s[0] = table_id;
	s[1] = (uint8_t)(0xB0 | len >> 8);
	s[2] = (uint8_t)len;
	s[3] = 0x00;
	s[4] = 0x01;    /* table id extension */
	s[5] = 0xC1;    /* version 0, current */
	s[6] = s[7] = 0; /* section 0 of 0 */
	memset(s + 8 + body_len, 0xAB, 4); /* CRC: not checked */
	return s + 8;
}

static uint8_t *ts_pat_ptr(uint16_t pmt_pid, uint8_t ptr)
{
	uint8_t *p = ts_pkt(0, true);
	uint8_t *b = ts_section(p, ptr, 0x00, 8);

	/* program 0 (network PID) first: must be skipped */
	rf_put16(b, 0);
	rf_put16(b + 2, 0xE000 | 0x10);
	rf_put16(b + 4, 1);
	rf_put16(b + 6, (uint16_t)(0xE000 | pmt_pid));
	return p;
}

static uint8_t *ts_pat(void)
{
	return ts_pat_ptr(PID_PMT, 0);
}

/* PMT: an audio stream with a descriptor first, then the video stream. */
static uint8_t *ts_pmt_type(uint8_t video_type, uint16_t pcr_pid)
{
	uint8_t *p = ts_pkt(PID_PMT, true);
	uint8_t *b = ts_section(p, 0, 0x02, 4 + 3 + 5 + 3 + 5);

	rf_put16(b, (uint16_t)(0xE000 | pcr_pid));
	rf_put16(b + 2, 0xF000 | 3); /* program_info_length */
	memset(b + 4, 0x05, 3);
	b[7] = 0x0F;                 /* AAC */
	rf_put16(b + 8, 0xE000 | PID_AUDIO);
	rf_put16(b + 10, 0xF000 | 3);
	memset(b + 12, 0x0A, 3);
	b[15] = video_type;
	rf_put16(b + 16, 0xE000 | PID_VIDEO);
	rf_put16(b + 18, 0xF000);
	return p;
}

static uint8_t *ts_pmt(void)
{
	return ts_pmt_type(0x1B, PID_VIDEO);
}

/* Start of a video PES: optional random_access_indicator, then es. */
static uint8_t *ts_pes(bool rai, const uint8_t *es, size_t es_len)
{
	static const uint8_t pes[] = { 0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5,
				       0x21, 0, 1, 0, 1 };
	uint8_t *p = ts_pkt(PID_VIDEO, true);
	size_t at = rai ? ts_af(p, 1, 0x40) : 4;

	memcpy(p + at, pes, sizeof(pes));
	memcpy(p + at + sizeof(pes), es, es_len);
	return p;
}

static uint8_t *ts_key(void)
{
	static const uint8_t es[] = { 0, 0, 0, 1, 0x09, 0xF0 };

	return ts_pes(true, es, sizeof(es));
}

static void put_pcr(uint8_t *p, uint64_t pcr)
{
	uint64_t base = pcr / 300;
	unsigned ext = pcr % 300;

	p[6] = (uint8_t)(base >> 25);
	p[7] = (uint8_t)(base >> 17);
	p[8] = (uint8_t)(base >> 9);
	p[9] = (uint8_t)(base >> 1);
	p[10] = (uint8_t)((base & 1) << 7 | 0x7E | ext >> 8);
	p[11] = (uint8_t)ext;
}

/* An adaptation-field-only packet with a PCR. */
static uint8_t *ts_pcr_pkt(uint16_t pid, uint64_t pcr, uint8_t more_flags)
{
	uint8_t *p = ts_pkt(pid, false);

	p[3] = (p[3] & 0x0F) | 0x20;
	ts_af(p, 183, 0x10 | more_flags);
	put_pcr(p, pcr);
	return p;
}

static uint8_t *pkt_at(size_t i)
{
	return stream + i * PKT;
}

/* ---- what the chunker emits ---- */

struct out {
	uint8_t data[MAX_PKTS * PKT];
	size_t len;
	unsigned n;
	size_t off[MAX_CHUNKS];
	uint16_t size[MAX_CHUNKS];
	uint8_t flags[MAX_CHUNKS];
};

static struct out out, ref;
static struct rf_chunker ch;

static void collect(void *ctx, const uint8_t *payload, uint16_t len,
		    uint8_t flags)
{
	struct out *o = ctx;

	cr_assert_lt(o->n, MAX_CHUNKS);
	cr_assert_geq(len, 1);
	cr_assert_leq(len, ch.chunk_size);
	cr_assert_leq(o->len + len, sizeof(o->data));
	o->off[o->n] = o->len;
	o->size[o->n] = len;
	o->flags[o->n] = flags;
	o->n++;
	memcpy(o->data + o->len, payload, len);
	o->len += len;
}

static void setup(void)
{
	npk = 0;
	cc = 0;
	out.n = 0;
	out.len = 0;
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_TS, 7, 0), 0);
}

TestSuite(chunker, .init = setup);

static void feed(const uint8_t *p, size_t len)
{
	rf_chunker_feed(&ch, p, len, collect, &out);
}

static void flush(void)
{
	rf_chunker_flush(&ch, collect, &out);
}

/* Feed the stream built so far in one go, and flush. */
static void run_all(void)
{
	feed(stream, npk * PKT);
	flush();
}

static uint16_t chunk_pid(const struct out *o, unsigned i)
{
	return rf_get16(o->data + o->off[i] + 1) & 0x1FFF;
}

/* Chunk i of out is exactly stream packets [first, first + n). */
static void assert_chunk(unsigned i, size_t first, size_t n, uint8_t flags)
{
	cr_assert_lt(i, out.n);
	cr_assert_eq(out.size[i], n * PKT, "chunk %u: %u bytes, not %zu packets",
		     i, out.size[i], n);
	cr_assert_eq(out.flags[i], flags, "chunk %u: flags %#x, not %#x", i,
		     out.flags[i], flags);
	cr_assert_arr_eq(out.data + out.off[i], pkt_at(first), n * PKT);
}

/* Accounting once flushed: every byte fed was emitted or is garbage. */
static void assert_accounted(void)
{
	cr_assert_eq(ch.stats.bytes_in, out.len + ch.stats.garbage_bytes);
	cr_assert_eq(out.len, ch.stats.packets * PKT);
	cr_assert_eq(ch.stats.chunks, out.n);
}

/* ---- init ---- */

Test(chunker, init_rejects_bad_params)
{
	struct rf_chunker c;

	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_TS, 0, 1316), -EINVAL);
	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_TS, 8, 0), -EINVAL);
	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_BYTES, 7, 0), -EINVAL);
	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_BYTES, 7, RF_CHUNK_MAX + 1),
		     -EINVAL);
	cr_assert_eq(rf_chunker_init(&c, (enum rf_chunker_mode)7, 7, 1316),
		     -EINVAL);

	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_TS, RF_TS_PACKETS_DEFAULT, 0),
		     0);
	cr_assert_eq(c.chunk_size, RF_CHUNK_DEFAULT);
	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_TS, 1, 0), 0);
	cr_assert_eq(c.chunk_size, PKT);
	cr_assert_eq(rf_chunker_init(&c, RF_CHUNKER_BYTES, 0, RF_CHUNK_MAX), 0);
	cr_assert_eq(c.chunk_size, RF_CHUNK_MAX);
	cr_assert_eq(c.stats.bytes_in, 0);
}

/* ---- chunking and sync ---- */

Test(chunker, seven_packet_chunks_are_the_input)
{
	ts_nulls(73);
	feed(stream, npk * PKT);
	cr_assert_eq(out.n, 10);
	for (unsigned i = 0; i < 10; i++)
		assert_chunk(i, 7 * i, 7, 0);
	flush();
	cr_assert_eq(out.n, 11);
	assert_chunk(10, 70, 3, 0);
	cr_assert_eq(out.len, npk * PKT);
	cr_assert_arr_eq(out.data, stream, out.len);
	cr_assert_eq(ch.stats.packets, 73);
	cr_assert_eq(ch.stats.garbage_bytes, 0);
	cr_assert_eq(ch.stats.resyncs, 0);
	cr_assert_eq(ch.stats.raps, 0);
	assert_accounted();
}

Test(chunker, other_chunk_sizes)
{
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_TS, 1, 0), 0);
	ts_nulls(5);
	run_all();
	cr_assert_eq(out.n, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_chunk(i, i, 1, 0);

	out.n = 0;
	out.len = 0;
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_TS, 3, 0), 0);
	run_all();
	cr_assert_eq(out.n, 2);
	assert_chunk(0, 0, 3, 0);
	assert_chunk(1, 3, 2, 0);
}

/* A stream with tables, keyframes, PCRs and garbage in the middle. */
static size_t mixed_stream(uint8_t *buf)
{
	static const uint8_t junk[] = { 0x00, 0x47, 0x13, 0x47, 0x47, 0x99 };
	size_t len;

	ts_nulls(2);
	ts_pat();
	ts_pmt();
	ts_key();
	for (unsigned i = 0; i < 12; i++)
		ts_pcr_pkt(PID_VIDEO, 27000000 + i * 100000, 0);
	ts_nulls(4);
	ts_pat();
	ts_pmt();
	ts_key();
	ts_nulls(3);
	len = npk * PKT;
	memcpy(buf, stream, len);
	/* garbage between packets 13 and 14 */
	memmove(buf + 14 * PKT + sizeof(junk), buf + 14 * PKT, len - 14 * PKT);
	memcpy(buf + 14 * PKT, junk, sizeof(junk));
	return len + sizeof(junk);
}

static void run_pieces(struct out *o, const uint8_t *buf, size_t len,
		       size_t split, size_t piece)
{
	o->n = 0;
	o->len = 0;
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_TS, 7, 0), 0);
	rf_chunker_feed(&ch, buf, split, collect, o);
	for (size_t at = split; at < len; at += piece)
		rf_chunker_feed(&ch, buf + at, len - at < piece ? len - at : piece,
				collect, o);
	rf_chunker_flush(&ch, collect, o);
}

static void assert_same(const struct out *a, const struct out *b,
			size_t split)
{
	cr_assert_eq(a->n, b->n, "split %zu", split);
	cr_assert_eq(a->len, b->len, "split %zu", split);
	cr_assert_arr_eq(a->size, b->size, a->n * sizeof(a->size[0]),
			 "split %zu", split);
	cr_assert_arr_eq(a->flags, b->flags, a->n, "split %zu", split);
	cr_assert_arr_eq(a->data, b->data, a->len, "split %zu", split);
}

Test(chunker, split_feeds_change_nothing)
{
	static uint8_t buf[64 * PKT];
	struct rf_chunker_stats st;
	size_t len = mixed_stream(buf);

	run_pieces(&ref, buf, len, len, 1);
	st = ch.stats;
	cr_assert_eq(ref.len, npk * PKT);
	cr_assert_arr_eq(ref.data, stream, ref.len);
	cr_assert_eq(st.garbage_bytes, 6);
	cr_assert_eq(st.resyncs, 1);
	cr_assert_eq(st.raps, 2);

	for (size_t split = 0; split <= len; split++) {
		run_pieces(&out, buf, len, split, len);
		assert_same(&out, &ref, split);
		cr_assert_eq(memcmp(&ch.stats, &st, sizeof(st)), 0);
	}
	for (size_t piece = 1; piece < 3 * PKT; piece += 17) {
		run_pieces(&out, buf, len, 0, piece);
		assert_same(&out, &ref, piece);
		cr_assert_eq(memcmp(&ch.stats, &st, sizeof(st)), 0);
	}
}

Test(chunker, garbage_before_is_dropped)
{
	uint8_t junk[400];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 13 + 1) == RF_TS_SYNC ? 0 :
							       (uint8_t)(i * 13 + 1);
	/* false starts: two sync bytes a packet apart, not three */
	junk[10] = junk[10 + PKT] = RF_TS_SYNC;
	junk[10 + 2 * PKT] = 0;
	junk[300] = RF_TS_SYNC;
	ts_nulls(20);
	feed(junk, sizeof(junk));
	feed(stream, npk * PKT);
	flush();
	cr_assert_eq(ch.stats.garbage_bytes, sizeof(junk));
	cr_assert_eq(ch.stats.resyncs, 0); /* the first lock is no resync */
	cr_assert_eq(out.len, npk * PKT);
	cr_assert_arr_eq(out.data, stream, out.len);
	assert_accounted();
}

Test(chunker, garbage_in_the_middle_resyncs)
{
	uint8_t junk[37];

	memset(junk, 0x47, sizeof(junk));
	junk[0] = 0; /* where a packet should start */
	ts_nulls(30);
	feed(stream, 10 * PKT + 5);
	feed(stream + 10 * PKT + 5, 6 * PKT - 5);
	feed(junk, sizeof(junk));
	feed(stream + 16 * PKT, 14 * PKT);
	flush();
	cr_assert_eq(ch.stats.garbage_bytes, sizeof(junk));
	cr_assert_eq(ch.stats.resyncs, 1);
	cr_assert_eq(ch.stats.packets, 30);
	cr_assert_eq(out.len, npk * PKT);
	cr_assert_arr_eq(out.data, stream, out.len);
	assert_accounted();
}

Test(chunker, lost_bytes_resync)
{
	ts_nulls(30);
	/* packet 10 loses its last 100 bytes */
	feed(stream, 10 * PKT + 88);
	feed(stream + 11 * PKT, 19 * PKT);
	flush();
	cr_assert_eq(ch.stats.resyncs, 1);
	/* packet 10 + the head of 11 pass as one packet (sync bytes cannot
	 * tell); the other 88 bytes of packet 11 are garbage */
	cr_assert_eq(ch.stats.garbage_bytes, 88);
	cr_assert_eq(ch.stats.packets, 29);
	cr_assert_arr_eq(out.data, stream, 10 * PKT);
	cr_assert_arr_eq(out.data + 11 * PKT, pkt_at(12), 18 * PKT);
	assert_accounted();
}

Test(chunker, truncated_packet_at_the_end)
{
	ts_nulls(11);
	feed(stream, 10 * PKT + 100);
	flush();
	cr_assert_eq(ch.stats.packets, 10);
	cr_assert_eq(ch.stats.garbage_bytes, 100);
	cr_assert_eq(out.len, 10 * PKT);
	cr_assert_arr_eq(out.data, stream, out.len);
	assert_accounted();
}

Test(chunker, flush_passes_packets_still_on_trial)
{
	ts_nulls(2);
	feed(stream, 2 * PKT);
	cr_assert_eq(out.n, 0); /* sync not proven yet */
	flush();
	cr_assert_eq(out.n, 1);
	assert_chunk(0, 0, 2, 0);
	assert_accounted();

	/* one packet and a bit: the packet, the bit is garbage */
	out.n = 0;
	out.len = 0;
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_TS, 7, 0), 0);
	feed(stream, PKT + 50);
	flush();
	cr_assert_eq(out.n, 1);
	assert_chunk(0, 0, 1, 0);
	cr_assert_eq(ch.stats.garbage_bytes, 50);
	assert_accounted();
}

Test(chunker, packet_not_followed_by_sync_is_garbage)
{
	uint8_t junk[PKT] = { 0 };

	ts_null();
	feed(stream, PKT);
	feed(junk, sizeof(junk));
	flush();
	cr_assert_eq(out.n, 0);
	cr_assert_eq(ch.stats.garbage_bytes, 2 * PKT);
	assert_accounted();
}

/* ---- random access points ---- */

Test(chunker, rap_cut_before_the_pat)
{
	ts_nulls(3);
	ts_pat();
	ts_pmt();
	ts_key();
	ts_nulls(10);
	run_all();
	cr_assert_eq(out.n, 3);
	assert_chunk(0, 0, 3, 0);
	assert_chunk(1, 3, 7, RF_FLAG_DATA_RAP);
	cr_assert_eq(chunk_pid(&out, 1), 0);
	assert_chunk(2, 10, 6, 0);
	cr_assert_eq(ch.stats.raps, 1);
	assert_accounted();
}

Test(chunker, rap_chunk_with_pat_first_needs_no_cut)
{
	ts_pat();
	ts_pmt();
	ts_key();
	ts_nulls(4);
	run_all();
	cr_assert_eq(out.n, 1);
	assert_chunk(0, 0, 7, RF_FLAG_DATA_RAP);
}

/* The PAT is among the last packets of a chunk: the chunk is held back
 * until the keyframe shows up, then cut before the PAT. */
Test(chunker, pat_at_the_end_of_a_chunk_is_held)
{
	for (unsigned before = 5; before <= 6; before++) {
		setup();
		ts_nulls(before);
		ts_pat();
		ts_pmt();
		ts_key();
		ts_nulls(5);
		feed(stream, npk * PKT);
		cr_assert_eq(out.n, 2);
		assert_chunk(0, 0, before, 0);
		assert_chunk(1, before, 7, RF_FLAG_DATA_RAP);
		flush();
		assert_accounted();
	}
}

Test(chunker, held_chunk_goes_out_when_no_keyframe_follows)
{
	ts_pat(); /* tables known, no keyframe */
	ts_pmt();
	ts_nulls(10);
	ts_pat(); /* index 5 of the second chunk */
	ts_nulls(13);
	/* the second chunk is held until a keyframe could no longer share
	 * a chunk with the PAT (packet 12): once packet 18 is in */
	feed(stream, 18 * PKT);
	cr_assert_eq(out.n, 1);
	feed(pkt_at(18), PKT);
	cr_assert_eq(out.n, 2);
	feed(pkt_at(19), 7 * PKT);
	flush();
	cr_assert_eq(out.n, 4);
	for (unsigned i = 0; i < 3; i++)
		assert_chunk(i, 7 * i, 7, 0); /* the regular grid */
	assert_chunk(3, 21, 5, 0);
	cr_assert_eq(ch.stats.raps, 0);
	assert_accounted();
}

Test(chunker, newer_pat_ends_the_hold)
{
	ts_nulls(5);
	ts_pat();
	ts_pmt();
	ts_null();
	ts_pat(); /* the latest PAT before the keyframe */
	ts_pmt();
	ts_key();
	run_all();
	cr_assert_eq(out.n, 3);
	assert_chunk(0, 0, 7, 0); /* the held chunk, as it was */
	assert_chunk(1, 7, 1, 0);
	assert_chunk(2, 8, 3, RF_FLAG_DATA_RAP);
}

Test(chunker, flush_while_holding)
{
	ts_nulls(5);
	ts_pat();
	ts_pmt();
	ts_nulls(2);
	run_all();
	cr_assert_eq(out.n, 2);
	assert_chunk(0, 0, 7, 0);
	assert_chunk(1, 7, 2, 0);
}

Test(chunker, keyframe_far_from_its_pat_is_not_marked)
{
	ts_pat();
	ts_pmt();
	ts_nulls(5); /* the PAT went out with this chunk */
	ts_nulls(2);
	ts_key();
	ts_nulls(4);
	run_all();
	cr_assert_eq(out.n, 2);
	assert_chunk(0, 0, 7, 0);
	assert_chunk(1, 7, 7, 0);
	cr_assert_eq(ch.stats.raps, 0);
}

Test(chunker, keyframe_without_tables_is_not_marked)
{
	ts_null();
	ts_key(); /* video PID not known yet */
	ts_pat();
	ts_key(); /* still no PMT */
	ts_nulls(3);
	run_all();
	cr_assert_eq(out.n, 1);
	assert_chunk(0, 0, 7, 0);
}

Test(chunker, keyframe_after_flush_is_not_marked)
{
	ts_pat();
	ts_pmt();
	feed(stream, 2 * PKT);
	flush();
	ts_key();
	feed(pkt_at(2), PKT);
	flush();
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.flags[0] | out.flags[1], 0);
}

Test(chunker, two_keyframes_two_raps)
{
	ts_pat();
	ts_pmt();
	ts_key();
	ts_null();
	ts_pat();
	ts_pmt();
	ts_key();
	ts_nulls(2);
	run_all();
	cr_assert_eq(out.n, 2);
	assert_chunk(0, 0, 4, RF_FLAG_DATA_RAP);
	assert_chunk(1, 4, 5, RF_FLAG_DATA_RAP);
	cr_assert_eq(ch.stats.raps, 2);
}

Test(chunker, pat_with_pointer_field)
{
	ts_nulls(2);
	ts_pat_ptr(PID_PMT, 20);
	ts_pmt();
	ts_key();
	run_all();
	cr_assert_eq(out.n, 2);
	assert_chunk(1, 2, 3, RF_FLAG_DATA_RAP);
}

Test(chunker, pat_that_does_not_fit_is_ignored)
{
	ts_pat_ptr(PID_PMT, 175); /* section runs past the packet */
	ts_pmt();
	ts_key();
	run_all();
	cr_assert_eq(out.n, 1);
	cr_assert_eq(out.flags[0], 0);
}

Test(chunker, malformed_tables_are_ignored)
{
	static const uint8_t idr[] = { 0, 0, 1, 0x65 };
	uint8_t *p;

	/* a PAT that does not apply yet (current_next_indicator 0) */
	ts_pat()[10] &= 0xFE;
	ts_pmt();
	ts_key();
	/* a PMT whose stream loop runs past its section: no video */
	ts_pat();
	p = ts_pmt();
	rf_put16(p + 5 + 3 + 12 + 3, 0xF000 | 40); /* audio ES_info_length */
	ts_key();
	/* tables fine, but the PES lacks its start code */
	ts_pat();
	ts_pmt();
	p = ts_pes(false, idr, sizeof(idr));
	p[4 + 2] = 2;
	ts_nulls(5);
	run_all();
	cr_assert_eq(ch.stats.raps, 0);
	cr_assert_eq(out.len, npk * PKT);
	cr_assert_arr_eq(out.data, stream, out.len);
}

Test(chunker, corrupt_packets_are_passed_not_read)
{
	ts_pat();
	ts_pmt();
	stream[PKT + 1] |= 0x80; /* transport_error_indicator on the PMT */
	ts_key();
	run_all();
	cr_assert_eq(out.n, 1);
	assert_chunk(0, 0, 3, 0);
}

/* Keyframe by NAL unit type, without random_access_indicator. */
static uint8_t key_flags(uint8_t stream_type, const uint8_t *es, size_t len)
{
	setup();
	ts_pat();
	ts_pmt_type(stream_type, PID_VIDEO);
	ts_pes(false, es, len);
	run_all();
	cr_assert_eq(out.n, 1);
	return out.flags[0];
}

Test(chunker, h264_idr_without_rai)
{
	static const uint8_t idr[] = { 0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1,
				       0x67, 0x42, 0, 0x1E, 0, 0, 0, 1,
				       0x68, 0xCE, 0, 0, 1, 0x65, 0x88 };
	static const uint8_t p_slice[] = { 0, 0, 0, 1, 0x09, 0x30, 0, 0, 1,
					   0x41, 0x9A };

	cr_assert_eq(key_flags(0x1B, idr, sizeof(idr)), RF_FLAG_DATA_RAP);
	cr_assert_eq(key_flags(0x1B, p_slice, sizeof(p_slice)), 0);
	/* the same bytes are no HEVC IRAP (0x65 is type 50 there) */
	cr_assert_eq(key_flags(0x24, idr, sizeof(idr)), 0);
}

/* A start code at the very end of a packet: the scan reads up to its last
 * byte, never past it (the packet is read in place from an exact-size heap
 * buffer, so ASan would see it). */
Test(chunker, nal_scan_stays_in_the_packet)
{
	static const uint8_t tail[][4] = { { 0, 0, 1, 0x65 },
					   { 0xAA, 0, 0, 1 } };
	static const uint8_t none[1];

	for (unsigned t = 0; t < 2; t++) {
		uint8_t *heap = malloc(PKT);

		cr_assert_not_null(heap);
		setup();
		ts_nulls(3); /* lock first */
		ts_pat();
		ts_pmt();
		memcpy(ts_pes(false, none, 0) + PKT - 4, tail[t], 4);
		feed(stream, 5 * PKT);
		memcpy(heap, pkt_at(5), PKT);
		feed(heap, PKT);
		free(heap);
		flush();
		cr_assert_eq(out.n, t == 0 ? 2 : 1);
		cr_assert_eq(out.flags[out.n - 1], t == 0 ? RF_FLAG_DATA_RAP : 0);
	}
}

Test(chunker, hevc_irap)
{
	static const uint8_t idr[] = { 0, 0, 0, 1, 0x46, 0x01, 0, 0, 1, 0x40,
				       0x01, 0, 0, 1, 0x26, 0x01 };
	static const uint8_t cra[] = { 0, 0, 1, 0x2A, 0x01 };
	static const uint8_t trail[] = { 0, 0, 0, 1, 0x46, 0x01, 0, 0, 1, 0x02,
					 0x01 };
	static const uint8_t reserved[] = { 0, 0, 1, 0x2C, 0x01 }; /* type 22 */

	cr_assert_eq(key_flags(0x24, idr, sizeof(idr)), RF_FLAG_DATA_RAP);
	cr_assert_eq(key_flags(0x24, cra, sizeof(cra)), RF_FLAG_DATA_RAP);
	cr_assert_eq(key_flags(0x24, trail, sizeof(trail)), 0);
	cr_assert_eq(key_flags(0x24, reserved, sizeof(reserved)), 0);
}

Test(chunker, mpeg2_sequence_header)
{
	static const uint8_t seq[] = { 0, 0, 1, 0xB3, 0x2D, 0x01 };
	static const uint8_t pic[] = { 0, 0, 1, 0x00, 0x01, 0x10 };

	cr_assert_eq(key_flags(0x02, seq, sizeof(seq)), RF_FLAG_DATA_RAP);
	cr_assert_eq(key_flags(0x01, seq, sizeof(seq)), RF_FLAG_DATA_RAP);
	cr_assert_eq(key_flags(0x02, pic, sizeof(pic)), 0);
}

Test(chunker, audio_only_program_has_no_keyframes)
{
	setup();
	ts_pat();
	ts_pmt_type(0x0F, PID_VIDEO); /* the "video" PID is AAC */
	ts_key();
	run_all();
	cr_assert_eq(out.flags[0], 0);
}

/* ---- PCR bitrate ---- */

static void discard(void *ctx, const uint8_t *payload, uint16_t len,
		    uint8_t flags)
{
	(void)ctx;
	(void)payload;
	(void)flags;
	cr_assert(len >= 1 && len <= ch.chunk_size);
}

/* rate bps for seconds, PCR every `every` packets on the video PID. */
static void pcr_stream(uint64_t *pcr0, size_t *index, uint64_t rate,
		       double seconds, unsigned every)
{
	uint64_t end = *index + (uint64_t)(seconds * rate / (8 * PKT));

	for (; *index < end; ++*index) {
		uint64_t pcr = (*pcr0 + *index * PKT * 8 * (uint64_t)RF_PCR_HZ /
					       rate) % PCR_WRAP;

		npk = 0;
		if (*index % every == 0)
			ts_pcr_pkt(PID_VIDEO, pcr, 0);
		else
			ts_null();
		rf_chunker_feed(&ch, stream, PKT, discard, NULL);
	}
}

static void tables(size_t *index)
{
	ts_pat();
	ts_pmt();
	feed(stream, 2 * PKT);
	*index += 2;
}

static void assert_rate(uint64_t expect)
{
	uint64_t got = ch.stats.pcr_bitrate_bps;

	cr_assert(got > expect - expect / 100 && got < expect + expect / 100,
		  "bitrate %llu, expected %llu", (unsigned long long)got,
		  (unsigned long long)expect);
}

Test(chunker, pcr_bitrate)
{
	uint64_t pcr0 = 1000 * (uint64_t)RF_PCR_HZ;
	size_t i = 0;

	tables(&i);
	cr_assert_eq(ch.stats.pcr_bitrate_bps, 0);
	pcr_stream(&pcr0, &i, 3000000, 0.01, 20); /* one PCR */
	cr_assert_eq(ch.stats.pcr_bitrate_bps, 0);
	pcr_stream(&pcr0, &i, 3000000, 3, 20);
	assert_rate(3000000);
}

Test(chunker, pcr_bitrate_follows_a_change)
{
	uint64_t pcr0 = 0;
	size_t i = 0;

	tables(&i);
	pcr_stream(&pcr0, &i, 2000000, 3, 17);
	assert_rate(2000000);
	/* same clock, now 6 Mb/s from here on */
	pcr0 = pcr0 + i * PKT * 8 * (uint64_t)RF_PCR_HZ / 2000000 -
	       i * PKT * 8 * (uint64_t)RF_PCR_HZ / 6000000;
	pcr_stream(&pcr0, &i, 6000000, 3, 17);
	assert_rate(6000000);
}

Test(chunker, pcr_wraparound)
{
	uint64_t pcr0 = PCR_WRAP - RF_PCR_HZ / 2; /* wraps after 0.5 s */
	size_t i = 0;

	tables(&i);
	pcr_stream(&pcr0, &i, 4000000, 0.45, 10);
	assert_rate(4000000);
	pcr_stream(&pcr0, &i, 4000000, 2, 10);
	assert_rate(4000000);
}

Test(chunker, pcr_jumps_restart_the_measure)
{
	uint64_t pcr0 = 5 * (uint64_t)RF_PCR_HZ;
	size_t i = 0;

	tables(&i);
	pcr_stream(&pcr0, &i, 5000000, 1.5, 10);
	assert_rate(5000000);
	pcr0 += 60 * (uint64_t)RF_PCR_HZ; /* forward by a minute */
	pcr_stream(&pcr0, &i, 5000000, 0.5, 10);
	assert_rate(5000000);
	pcr0 -= 30 * (uint64_t)RF_PCR_HZ; /* backwards */
	pcr_stream(&pcr0, &i, 5000000, 0.5, 10);
	assert_rate(5000000);
}

Test(chunker, pcr_discontinuity_indicator_restarts)
{
	uint64_t pcr0 = 0;
	size_t i = 0;

	tables(&i);
	pcr_stream(&pcr0, &i, 1000000, 1.5, 10);
	assert_rate(1000000);
	/* a plausible step (1 s), but flagged: not counted as stream time */
	npk = 0;
	ts_pcr_pkt(PID_VIDEO,
		   pcr0 + i * PKT * 8 * (uint64_t)RF_PCR_HZ / 1000000 + RF_PCR_HZ,
		   0x80);
	feed(stream, PKT);
	i++;
	pcr0 += RF_PCR_HZ;
	pcr_stream(&pcr0, &i, 1000000, 0.5, 10);
	assert_rate(1000000);
}

Test(chunker, pcr_measure_restarts_when_sync_is_lost)
{
	uint64_t pcr0 = 0;
	size_t i = 0;

	tables(&i);
	pcr_stream(&pcr0, &i, 1000000, 1.5, 10);
	assert_rate(1000000);
	/* 100 packets lost, and a piece of one: sync is lost */
	i += 100;
	npk = 0;
	rf_chunker_feed(&ch, ts_null(), 50, discard, NULL);
	pcr_stream(&pcr0, &i, 1000000, 0.5, 10);
	cr_assert_eq(ch.stats.resyncs, 1);
	assert_rate(1000000);
}

Test(chunker, ts_pcr_helper)
{
	uint64_t pcr, want = ((UINT64_C(1) << 33) - 1) * 300 + 299;
	uint8_t *p;

	p = ts_pcr_pkt(PID_VIDEO, want, 0);
	cr_assert(rf_ts_pcr(p, &pcr));
	cr_assert_eq(pcr, want);

	p = ts_pcr_pkt(PID_VIDEO, 123456789, 0);
	cr_assert(rf_ts_pcr(p, &pcr));
	cr_assert_eq(pcr, 123456789);
	p[11] = 44;
	p[10] |= 1; /* extension 300: out of range */
	cr_assert_not(rf_ts_pcr(p, &pcr));

	p = ts_pcr_pkt(PID_VIDEO, 1, 0);
	p[5] &= (uint8_t)~0x10; /* no PCR_flag */
	cr_assert_not(rf_ts_pcr(p, &pcr));
	p = ts_pcr_pkt(PID_VIDEO, 1, 0);
	p[4] = 6; /* too short for a PCR */
	cr_assert_not(rf_ts_pcr(p, &pcr));
	p = ts_pcr_pkt(PID_VIDEO, 1, 0);
	p[4] = 184; /* longer than the packet */
	cr_assert_not(rf_ts_pcr(p, &pcr));
	p = ts_pcr_pkt(PID_VIDEO, 1, 0);
	p[3] = 0x10; /* no adaptation field */
	cr_assert_not(rf_ts_pcr(p, &pcr));
	p = ts_pcr_pkt(PID_VIDEO, 1, 0);
	p[0] = 0;
	cr_assert_not(rf_ts_pcr(p, &pcr));
}

/* ---- discontinuities ---- */

Test(chunker, discontinuity_marks_the_next_chunk_only)
{
	ts_nulls(20);
	feed(stream, 10 * PKT + 50);
	rf_chunker_discontinuity(&ch, collect, &out);
	cr_assert_eq(out.n, 2);
	assert_chunk(0, 0, 7, 0);
	assert_chunk(1, 7, 3, 0);
	cr_assert_eq(ch.stats.garbage_bytes, 50); /* the partial packet */
	cr_assert_eq(ch.stats.discontinuities, 1);

	feed(stream + 10 * PKT, 10 * PKT);
	flush();
	cr_assert_eq(out.n, 4);
	assert_chunk(2, 10, 7, RF_FLAG_DATA_DISCONT);
	assert_chunk(3, 17, 3, 0);
	cr_assert_eq(ch.stats.resyncs, 0); /* a gap is no loss of sync */
	assert_accounted();
}

Test(chunker, discontinuities_in_a_row_mark_one_chunk)
{
	ts_nulls(14);
	rf_chunker_discontinuity(&ch, collect, &out); /* nothing pending */
	feed(stream, 3 * PKT);
	rf_chunker_discontinuity(&ch, collect, &out);
	rf_chunker_discontinuity(&ch, collect, &out);
	feed(stream + 3 * PKT, 11 * PKT);
	flush();
	cr_assert_eq(ch.stats.discontinuities, 3);
	cr_assert_eq(out.n, 3);
	assert_chunk(0, 0, 3, RF_FLAG_DATA_DISCONT);
	assert_chunk(1, 3, 7, RF_FLAG_DATA_DISCONT);
	assert_chunk(2, 10, 4, 0);
	assert_accounted();
}

Test(chunker, discontinuity_requires_sync_again)
{
	uint8_t junk[100];

	/* looks like a packet start where one is due, but is not one */
	memset(junk, 0xEE, sizeof(junk));
	junk[0] = RF_TS_SYNC;
	ts_nulls(10);
	feed(stream, 4 * PKT);
	rf_chunker_discontinuity(&ch, collect, &out);
	feed(junk, sizeof(junk));
	feed(stream + 4 * PKT, 6 * PKT);
	flush();
	cr_assert_eq(ch.stats.garbage_bytes, sizeof(junk));
	cr_assert_eq(out.len, 10 * PKT);
	cr_assert_arr_eq(out.data, stream, out.len);
	assert_accounted();
}

/* ---- bytes mode ---- */

Test(chunker, bytes_mode)
{
	static uint8_t in[5500];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + i / 256);
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_BYTES, 0, 1000), 0);
	for (size_t at = 0; at < 5000; at += 333)
		feed(in + at, at + 333 <= 5000 ? 333 : 5000 - at);
	cr_assert_eq(out.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(out.size[i], 1000);
		cr_assert_eq(out.flags[i], 0);
	}
	cr_assert_arr_eq(out.data, in, 5000);

	feed(in + 5000, 300);
	rf_chunker_discontinuity(&ch, collect, &out);
	cr_assert_eq(out.n, 6);
	cr_assert_eq(out.size[5], 300);
	cr_assert_eq(out.flags[5], 0);
	feed(in + 5300, 200);
	flush();
	cr_assert_eq(out.n, 7);
	cr_assert_eq(out.size[6], 200);
	cr_assert_eq(out.flags[6], RF_FLAG_DATA_DISCONT);
	cr_assert_arr_eq(out.data, in, sizeof(in));
	cr_assert_eq(ch.stats.bytes_in, sizeof(in));
	cr_assert_eq(ch.stats.garbage_bytes, 0);
	cr_assert_eq(ch.stats.chunks, 7);
	cr_assert_eq(ch.stats.discontinuities, 1);
}

Test(chunker, bytes_mode_ignores_ts)
{
	cr_assert_eq(rf_chunker_init(&ch, RF_CHUNKER_BYTES, 0, 1316), 0);
	ts_pat();
	ts_pmt();
	ts_key();
	ts_nulls(11);
	run_all();
	cr_assert_eq(out.n, 2);
	cr_assert_eq(out.flags[0] | out.flags[1], 0);
	cr_assert_eq(ch.stats.packets, 0);
	cr_assert_eq(ch.stats.raps, 0);
	cr_assert_arr_eq(out.data, stream, npk * PKT);
}

/* ---- RTP ---- */

static size_t rtp(uint8_t *d, uint8_t b0, uint8_t pt, unsigned payload)
{
	size_t hdr = 12 + 4 * (b0 & 0x0F);

	memset(d, 0, 2048);
	d[0] = b0;
	d[1] = pt;
	rf_put16(d + 2, 0xBEEF);
	for (size_t i = 12; i < hdr; i++)
		d[i] = 0x47; /* CSRCs that look like TS must not fool it */
	d[hdr] = RF_TS_SYNC;
	return hdr + payload;
}

Test(chunker, rtp_payload)
{
	uint8_t d[2048];
	size_t off, plen, len;
	uint16_t seq;

	len = rtp(d, 0x80, 33, 7 * PKT);
	cr_assert(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	cr_assert_eq(off, 12);
	cr_assert_eq(plen, 7 * PKT);
	cr_assert_eq(seq, 0xBEEF);

	/* dynamic payload type, two CSRCs */
	len = rtp(d, 0x82, 96 | 0x80, PKT);
	cr_assert(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	cr_assert_eq(off, 20);
	cr_assert_eq(plen, PKT);

	/* extension of 2 words after one CSRC */
	len = rtp(d, 0x91, 33, 0);
	rf_put16(d + 16, 0xBEDE);
	rf_put16(d + 18, 2);
	d[16 + 12] = RF_TS_SYNC;
	len += 12 + PKT;
	cr_assert(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	cr_assert_eq(off, 28);
	cr_assert_eq(plen, PKT);

	/* padding: 4 bytes, the last one the count */
	len = rtp(d, 0xA0, 33, PKT + 4);
	d[len - 1] = 4;
	cr_assert(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	cr_assert_eq(off, 12);
	cr_assert_eq(plen, PKT);
}

Test(chunker, rtp_malformed)
{
	uint8_t d[2048];
	size_t off = 99, plen = 99, len;
	uint16_t seq = 99;

	/* raw TS */
	memset(d, 0xFF, sizeof(d));
	d[0] = RF_TS_SYNC;
	cr_assert_not(rf_rtp_ts_payload(d, 7 * PKT, &off, &plen, &seq));
	/* too short, wrong version */
	len = rtp(d, 0x80, 33, PKT);
	cr_assert_not(rf_rtp_ts_payload(d, 11, &off, &plen, &seq));
	cr_assert_not(rf_rtp_ts_payload(d, 12, &off, &plen, &seq)); /* empty */
	d[0] = 0x40;
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	/* payload not TS */
	len = rtp(d, 0x80, 33, PKT);
	d[12] = 0xFF;
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	/* CSRCs past the end */
	len = rtp(d, 0x8F, 33, 0);
	cr_assert_not(rf_rtp_ts_payload(d, 12 + 14 * 4, &off, &plen, &seq));
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	/* extension header cut, extension longer than the datagram */
	len = rtp(d, 0x90, 33, 0);
	cr_assert_not(rf_rtp_ts_payload(d, 14, &off, &plen, &seq));
	rf_put16(d + 14, 0xFFFF);
	cr_assert_not(rf_rtp_ts_payload(d, 16 + PKT, &off, &plen, &seq));
	/* padding count 0, or eating the whole payload and more */
	len = rtp(d, 0xA0, 33, PKT);
	d[len - 1] = 0;
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	d[len - 1] = PKT;
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	d[len - 1] = 255;
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));
	len = rtp(d, 0xA0, 33, 1);
	d[12] = 1; /* a payload of one byte, all padding */
	cr_assert_not(rf_rtp_ts_payload(d, len, &off, &plen, &seq));

	cr_assert_eq(off, 99); /* nothing written on failure */
	cr_assert_eq(plen, 99);
	cr_assert_eq(seq, 99);
}
