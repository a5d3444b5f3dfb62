/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Handshake flood against the seed core: one million HELLOs (and JOINs
 * with forged cookies) from spoofed sources, interleaved with a live
 * 2 Mbit/s stream fanned out to 1000 subscribed sessions, in real time.
 * Checks the anti-amplification rule (bytes sent to unvalidated sources
 * never exceed bytes received from them) and that every session still gets
 * every chunk. Baseline in the same run: the same stream and sessions
 * without the flood.
 *
 *   bench_flood [--hellos N] [--sessions N]
 *
 * Last line on stdout: one JSON object.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_store.h"
#include "cli.h"
#include "clock.h"
#include "keyfile.h"
#include "msg.h"
#include "seed.h"
#include "sig_ring.h"

#define RF_F_K 8
#define RF_F_G 16
#define RF_F_SLOTS 4096
#define RF_F_RATE 190 /* chunks per second: ~2 Mbit/s of 1316-byte chunks */

struct rf_flood {
	struct rf_stream_key key;
	struct rf_seed *seed;
	struct rf_chunk_store *store;
	struct rf_sig_ring *sigs;
	struct rf_seed_outbox out;
	struct rf_seed_tx tx[64];
	unsigned sessions;
	uint64_t data_sent;
};

static int rf_flood_say(struct rf_flood *f, const struct rf_addr *src, struct rf_msg *m)
{
	uint8_t buf[RF_MAX_DATAGRAM];
	int len;

	m->stream_id = f->key.stream_id;
	len = rf_msg_encode(m, buf, sizeof(buf));
	f->out.count = 0;
	rf_seed_input(f->seed, rf_unix_ms(), src, buf, (size_t)len, &f->out);
	return len;
}

/* Address i of 198.18.0.0/15 (2^17 of them), then the port tells apart. */
static void rf_flood_addr(uint32_t i, struct rf_addr *a, uint16_t port)
{
	uint8_t ip[4] = { 198, (uint8_t)(18 + (i >> 16 & 1)), (uint8_t)(i >> 8), (uint8_t)i };

	rf_addr_v4(a, ip, port);
}

static int rf_flood_setup(struct rf_flood *f)
{
	struct rf_seed_params p = { 0 };
	size_t sb = rf_chunk_store_size(RF_F_SLOTS, RF_CHUNK_DEFAULT);
	size_t gb = rf_sig_ring_size(RF_F_SLOTS / RF_F_G * 2, RF_F_G);
	size_t mb = rf_seed_mem_size(f->sessions + 16, RF_F_K);

	rf_stream_key_ephemeral(&f->key);
	f->store = rf_chunk_store_init(malloc(sb), sb, RF_F_SLOTS, RF_CHUNK_DEFAULT, 1);
	f->sigs = rf_sig_ring_init(malloc(gb), gb, RF_F_SLOTS / RF_F_G * 2, RF_F_G,
				   f->key.stream_id, f->key.sk);
	p.stream_id = f->key.stream_id;
	memcpy(p.pubkey, f->key.pk, RF_PUBKEY_LEN);
	randombytes_buf(p.cookie_secret, sizeof(p.cookie_secret));
	p.max_sessions = f->sessions + 16;
	p.stream_bps = 2000000;
	p.chunk_size = RF_CHUNK_DEFAULT;
	p.substreams = RF_F_K;
	p.group_size = RF_F_G;
	p.chunk_rate_milli = RF_F_RATE * 1000;
	p.timeout_ms = 600000;
	f->seed = rf_seed_init(calloc(1, mb), mb, &p, NULL);
	if (!f->store || !f->sigs || !f->seed)
		return -1;
	rf_seed_set_store(f->seed, f->store);
	for (unsigned i = 0; i < f->sessions; i++) {
		struct rf_msg m = { .type = RF_MSG_HELLO }, r;
		struct rf_addr a;

		rf_flood_addr(i, &a, 5000);
		m.hello.peer_id = i + 1;
		rf_flood_say(f, &a, &m);
		if (f->out.count != 1 || rf_msg_decode(f->out.out[0].buf, f->out.out[0].len, &r))
			return -1;
		m = (struct rf_msg){ .type = RF_MSG_JOIN, .join.peer_id = i + 1 };
		memcpy(m.join.cookie, r.cookie.cookie, RF_COOKIE_LEN);
		rf_flood_say(f, &a, &m);
		m = (struct rf_msg){ .type = RF_MSG_SUBSCRIBE };
		m.subscribe.substreams = (1u << RF_F_K) - 1;
		m.subscribe.start_seq = rf_chunk_store_next(f->store);
		rf_flood_say(f, &a, &m);
	}
	return 0;
}

static void rf_flood_chunk(struct rf_flood *f)
{
	uint8_t payload[RF_CHUNK_DEFAULT] = { 0x47 };
	uint64_t seq = rf_chunk_store_next(f->store);
	unsigned n;

	payload[1] = (uint8_t)seq;
	rf_chunk_store_append(f->store, payload, sizeof(payload), 0);
	rf_sig_ring_add(f->sigs, seq, 0, payload, sizeof(payload));
	do {
		n = rf_seed_pump(f->seed, rf_unix_ms(), f->store, f->sigs, f->tx, 64);
		for (unsigned i = 0; i < n; i++)
			f->data_sent += f->tx[i].kind == RF_SEED_TX_DATA;
	} while (n == 64);
}

/* Run the live stream for `chunks` chunks at RF_F_RATE; between chunks,
 * spend the time on spoofed handshakes (when hellos > 0). Returns the
 * handshakes sent. */
static uint64_t rf_flood_run(struct rf_flood *f, unsigned chunks, uint64_t hellos)
{
	uint64_t start = rf_now_ns(), sent = 0;
	uint32_t src = 1u << 20;

	for (unsigned c = 0; c < chunks; c++) {
		uint64_t due = start + (uint64_t)c * 1000000000ull / RF_F_RATE;
		uint64_t quota = hellos * (c + 1) / chunks;

		while (sent < quota) {
			struct rf_msg m = { .type = sent % 4 == 3 ? RF_MSG_JOIN : RF_MSG_HELLO };
			struct rf_addr a;

			rf_flood_addr(src++, &a, (uint16_t)(1024 + sent % 60000));
			if (m.type == RF_MSG_JOIN)
				randombytes_buf(m.join.cookie, sizeof(m.join.cookie)); /* forged */
			m.hello.peer_id = sent; /* same offset in both */
			rf_flood_say(f, &a, &m);
			sent++;
		}
		while (rf_now_ns() < due)
			;
		rf_flood_chunk(f);
	}
	return sent;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hellos", required_argument, NULL, 'n' },
		{ "sessions", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct rf_flood f = { .sessions = 1000 };
	uint64_t hellos = 1000000, sent, base_data, flood_data;
	unsigned chunks = RF_F_RATE * 10;
	const struct rf_seed_stats *st;
	double secs;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (rf_cli_u64("bench_flood", "--hellos", optarg, 0, UINT64_MAX / 2, &hellos))
				return 2;
			break;
		case 's':
			if (rf_cli_uint("bench_flood", "--sessions", optarg, 1, 100000, &f.sessions))
				return 2;
			break;
		case 'h': printf("usage: bench_flood [--hellos N (1000000)] [--sessions N (1000)]\n"); return 0;
		default: return 2;
		}
	}
	if (sodium_init() < 0 || f.sessions == 0 || rf_flood_setup(&f) != 0) {
		fprintf(stderr, "bench_flood: set-up failed\n");
		return 1;
	}
	fprintf(stderr, "baseline: %u sessions, %u chunks at %d/s, no flood ...\n", f.sessions,
		chunks, RF_F_RATE);
	rf_flood_run(&f, chunks, 0);
	base_data = f.data_sent;
	f.data_sent = 0;
	fprintf(stderr, "flood: the same, with %llu spoofed handshakes ...\n", (unsigned long long)hellos);
	secs = rf_now_ns() / 1e9;
	sent = rf_flood_run(&f, chunks, hellos);
	secs = rf_now_ns() / 1e9 - secs;
	flood_data = f.data_sent;
	st = rf_seed_stats(f.seed);
	fprintf(stderr, "unvalidated: %llu bytes in, %llu bytes out; sessions %llu; data %llu vs %llu\n",
		(unsigned long long)st->unvalidated_rx_bytes, (unsigned long long)st->unvalidated_tx_bytes,
		(unsigned long long)st->sessions, (unsigned long long)flood_data,
		(unsigned long long)base_data);
	printf("{\"handshakes\": %llu, \"handshakes_per_s\": %.0f, \"unvalidated_rx_bytes\": %llu, "
	       "\"unvalidated_tx_bytes\": %llu, \"amplification\": %.3f, \"sessions\": %llu, "
	       "\"data_ratio\": %.4f, \"ok\": %s}\n",
	       (unsigned long long)sent, sent / secs, (unsigned long long)st->unvalidated_rx_bytes,
	       (unsigned long long)st->unvalidated_tx_bytes,
	       st->unvalidated_rx_bytes ? (double)st->unvalidated_tx_bytes / st->unvalidated_rx_bytes : 0,
	       (unsigned long long)st->sessions, base_data ? (double)flood_data / base_data : 0,
	       st->unvalidated_tx_bytes <= st->unvalidated_rx_bytes && flood_data == base_data &&
			       st->sessions == f.sessions ? "true" : "false");
	return 0;
}
