/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ingest benchmark: MPEG-TS chunking throughput from memory on one core
 * (sync, table and keyframe parsing, RAP cuts, PCR bitrate, append to a
 * chunk store), against a plain memcpy of the same bytes, in the same
 * pieces, into a ring of the same size, in the same run.
 *
 *   bench_ingest [--mbytes N] [--rounds N] [--input FILE.ts]
 *
 * Last line on stdout: {"chunker_gbps":..,"memcpy_gbps":..,"ratio":..}
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_store.h"
#include "chunker.h"
#include "cli.h"
#include "clock.h"

#define RF_BENCH_PIECE 65536 /* what one recv/read hands the ingest */
#define RF_BENCH_SLOTS 65536

/* A synthetic 2-PID stream: PAT and PMT before every keyframe (every 400
 * packets), H.264 PES starts with the random access indicator, a PCR
 * every 40 packets, audio interleaved. */
static void rf_make_ts(uint8_t *buf, size_t packets)
{
	for (size_t i = 0; i < packets; i++) {
		uint8_t *p = buf + i * RF_TS_PACKET;
		unsigned pid, at = i % 400;

		memset(p, 0xa5, RF_TS_PACKET);
		p[0] = RF_TS_SYNC;
		pid = at == 0 ? 0 : at == 1 ? 0x1000 : at == 2 ? 0x100 : i % 7 == 3 ? 0x101 : 0x100;
		p[1] = (uint8_t)(pid >> 8);
		p[2] = (uint8_t)pid;
		p[3] = 0x10 | (i & 0xf);
		if (pid == 0) { /* PAT: program 1 -> PMT 0x1000 */
			static const uint8_t pat[] = { 0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1,
						       0x00, 0x00, 0x00, 0x01, 0xf0, 0x00 };
			p[1] |= 0x40;
			memcpy(p + 4, pat, sizeof(pat));
		} else if (pid == 0x1000) { /* PMT: PCR 0x100, H.264 on 0x100 */
			static const uint8_t pmt[] = { 0x00, 0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1,
						       0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x1b,
						       0xe1, 0x00, 0xf0, 0x00 };
			p[1] |= 0x40;
			memcpy(p + 4, pmt, sizeof(pmt));
		} else if (pid == 0x100 && (at == 2 || i % 40 == 0)) {
			uint64_t pcr = (uint64_t)i * 188 * 8 * 27000000 / 2000000 / 300;

			p[3] = 0x30 | (i & 0xf); /* adaptation field + payload */
			p[4] = 7;
			p[5] = 0x10 | (at == 2 ? 0x40 : 0); /* PCR, RAI on keyframes */
			p[6] = (uint8_t)(pcr >> 25);
			p[7] = (uint8_t)(pcr >> 17);
			p[8] = (uint8_t)(pcr >> 9);
			p[9] = (uint8_t)(pcr >> 1);
			p[10] = (uint8_t)((pcr & 1) << 7 | 0x7e);
			p[11] = 0;
			if (at == 2) {
				static const uint8_t pes[] = { 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5,
							       0x21, 0, 1, 0, 1, 0, 0, 0, 1, 0x65 };
				p[1] |= 0x40;
				memcpy(p + 12, pes, sizeof(pes));
			}
		}
	}
}

struct rf_bench_sink {
	struct rf_chunk_store *store;
};

static void rf_bench_emit(void *ctx, const uint8_t *payload, uint16_t len, uint8_t flags)
{
	struct rf_bench_sink *sink = ctx;

	rf_chunk_store_append(sink->store, payload, len, flags);
}

static double rf_run_chunker(const uint8_t *ts, size_t len, struct rf_chunk_store *store,
			     struct rf_chunker_stats *stats)
{
	struct rf_bench_sink sink = { store };
	struct rf_chunker c;
	double t0;

	rf_chunker_init(&c, RF_CHUNKER_TS, RF_TS_PACKETS_DEFAULT, RF_CHUNK_DEFAULT);
	t0 = (rf_now_ns() / 1e9);
	for (size_t off = 0; off < len; off += RF_BENCH_PIECE)
		rf_chunker_feed(&c, ts + off, len - off < RF_BENCH_PIECE ? len - off : RF_BENCH_PIECE,
				rf_bench_emit, &sink);
	rf_chunker_flush(&c, rf_bench_emit, &sink);
	*stats = c.stats;
	return (rf_now_ns() / 1e9) - t0;
}

/* The baseline: the same bytes, the same pieces, copied into a ring of the
 * store's size. */
static double rf_run_memcpy(const uint8_t *ts, size_t len, uint8_t *ring, size_t ring_len)
{
	size_t at = 0;
	double t0 = (rf_now_ns() / 1e9);

	for (size_t off = 0; off < len; off += RF_BENCH_PIECE) {
		size_t n = len - off < RF_BENCH_PIECE ? len - off : RF_BENCH_PIECE;

		if (at + n > ring_len)
			at = 0;
		memcpy(ring + at, ts + off, n);
		at += n;
	}
	__asm__ volatile("" : : "r"(ring) : "memory"); /* keep the copies */
	return (rf_now_ns() / 1e9) - t0;
}

static uint8_t *rf_load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mbytes", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned mbytes = 256, rounds = 5;
	const char *input = NULL;
	double best_chunk = 1e9, best_copy = 1e9;
	struct rf_chunker_stats st = { 0 };
	size_t len, store_len;
	uint8_t *ts, *ring;
	void *mem;
	int c;

	while ((c = getopt_long(argc, argv, "m:r:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (rf_cli_uint("bench_ingest", "--mbytes", optarg, 1, 65536, &mbytes))
				return 2;
			break;
		case 'r':
			if (rf_cli_uint("bench_ingest", "--rounds", optarg, 1, 1000, &rounds))
				return 2;
			break;
		case 'i': input = optarg; break;
		case 'h':
			printf("usage: bench_ingest [--mbytes N (256)] [--rounds N (5)] [--input FILE.ts]\n");
			return 0;
		default: return 2;
		}
	}
	if (mbytes == 0 || rounds == 0) {
		fprintf(stderr, "bench_ingest: --mbytes and --rounds must be positive\n");
		return 2;
	}
	if (input) {
		ts = rf_load(input, &len);
		if (!ts) {
			fprintf(stderr, "bench_ingest: cannot read %s: %s\n", input, strerror(errno));
			return 1;
		}
	} else {
		size_t packets = ((size_t)mbytes << 20) / RF_TS_PACKET;

		len = packets * RF_TS_PACKET;
		ts = malloc(len);
		if (!ts)
			return 1;
		rf_make_ts(ts, packets);
	}
	store_len = rf_chunk_store_size(RF_BENCH_SLOTS, RF_CHUNK_DEFAULT);
	mem = malloc(store_len);
	ring = malloc(store_len);
	if (!mem || !ring)
		return 1;
	memset(mem, 0, store_len); /* fault the pages in before timing */
	memset(ring, 0, store_len);
	for (unsigned r = 0; r < rounds; r++) {
		struct rf_chunk_store *store = rf_chunk_store_init(mem, store_len, RF_BENCH_SLOTS,
								   RF_CHUNK_DEFAULT, 0);
		double tc = rf_run_chunker(ts, len, store, &st);
		double tm = rf_run_memcpy(ts, len, ring, store_len);

		best_chunk = tc < best_chunk ? tc : best_chunk;
		best_copy = tm < best_copy ? tm : best_copy;
		fprintf(stderr, "round %u/%u: chunker %.2f Gbit/s, memcpy %.2f Gbit/s\n", r + 1, rounds,
			len * 8 / tc / 1e9, len * 8 / tm / 1e9);
	}
	fprintf(stderr, "%zu bytes: %llu chunks, %llu RAPs, %llu garbage bytes\n", len,
		(unsigned long long)st.chunks, (unsigned long long)st.raps,
		(unsigned long long)st.garbage_bytes);
	printf("{\"bytes\": %zu, \"chunks\": %llu, \"raps\": %llu, \"chunker_gbps\": %.3f, \"memcpy_gbps\": %.3f, \"ratio\": %.3f}\n",
	       len, (unsigned long long)st.chunks, (unsigned long long)st.raps,
	       len * 8 / best_chunk / 1e9, len * 8 / best_copy / 1e9, best_copy / best_chunk);
	free(ts);
	free(mem);
	free(ring);
	return 0;
}
