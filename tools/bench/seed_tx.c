/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seed TX benchmark: the real seed core and the real DPDK TX path of
 * rawflow-seed (dataplane/seed/dpdk_tx.c) on one TX lcore, sending a live
 * stream of 1316-byte chunks to N subscribed sessions.
 *
 * The main lcore plays ingest: it appends chunks to a chunk store in a
 * memzone and signs their groups, a few dozen chunks ahead of what the TX
 * lcore has sent. The sessions come in through rf_seed_input() with the
 * whole handshake (HELLO, COOKIE, JOIN, WELCOME, SUBSCRIBE) from synthetic
 * addresses (198.19.0.0/16, or 2001:db8:1::/48), all behind one next hop.
 *
 *   bench_seed_tx EAL-options -- [options]    (as dpdk-testpmd: two lcores, one port)
 *
 * With --repairs R, sessions in turn also ask, R times a second, for a
 * chunk RF_B_REPAIR_BACK behind the newest sent, as peers that lost one
 * would: the repairs go out between the live frames.
 *
 * Progress on stderr ("pumping" when the measured window starts); the last
 * line on stdout is one JSON object. tools/bench/seed runs it against
 * dpdk-testpmd --forward-mode=txonly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "chunk_store.h"
#include "cli.h"
#include "clock.h"
#include "dpdk_port.h"
#include "dpdk_tx.h"
#include "keyfile.h"
#include "seed.h"
#include "sig_ring.h"

#define RF_B_SLOTS 8192          /* chunk store window */
#define RF_B_LEAD 256            /* chunks ingest keeps ahead of TX */
#define RF_B_PAYLOADS 64
#define RF_B_WARMUP_S 1.0
#define RF_B_TIMER_MS 100
/* A repair asks for the chunk this far behind the newest sent: older
 * than any chunk the live fan-out is on, and not a multiple of
 * RF_DPDK_CSUM_SLOTS behind, so it never takes the live chunk's sums
 * slot. */
#define RF_B_REPAIR_BACK 100

struct rf_bench {
	unsigned sessions;
	double seconds;
	enum rf_dpdk_tx_mode mode;
	struct rte_ether_addr dst_mac;
	int family;
	uint8_t substreams, group;
	unsigned repairs;             /* asked per second */

	struct rf_dpdk_port port;
	struct rf_dpdk_pools pools;
	struct rf_dpdk_self self;
	struct rf_dpdk_tx tx;
	struct rf_dpdk_stream st;
	struct rf_lcore_stats stats;
	struct rf_stream_key key;
	struct rf_chunk_store *store;
	struct rf_sig_ring *sigs;
	struct rf_seed *seed;
	void *seed_mem;
	bool drain_rx;               /* net_ring: TX comes back on RX */

	uint64_t sent_seq;           /* newest chunk the TX lcore sent */
	int phase;                   /* 0 warm-up, 1 measuring, 2 stop */
	uint64_t t0_tsc, t1_tsc;
	struct rf_lcore_stats at0, at1;
	struct rf_seed_stats core0, core1;
};

static void rf_usage(FILE *out)
{
	fprintf(out,
		"usage: bench_seed_tx EAL-options -- [options]\n"
		"  --sessions N     subscribed sessions (default 1000)\n"
		"  --seconds S      measured TX time (default 5)\n"
		"  --tx-path P      auto | copy | zerocopy (default auto: zero-copy where\n"
		"                   the port takes chained mbufs)\n"
		"  --dst-mac MAC    next hop of every session (default 02:00:00:00:00:02)\n"
		"  --family 4|6     sessions' address family (default 4)\n"
		"  --substreams K   (default 8)   --group-size G (default 16)\n"
		"  --repairs R      repair requests per second, one chunk each, from the\n"
		"                   sessions in turn (default 0)\n");
}

static int rf_parse(int argc, char **argv, struct rf_bench *b)
{
	static const struct option opts[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "tx-path", required_argument, NULL, 'p' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "family", required_argument, NULL, 'f' },
		{ "substreams", required_argument, NULL, 'k' },
		{ "group-size", required_argument, NULL, 'g' },
		{ "repairs", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *P = "bench_seed_tx";
	unsigned u;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (rf_cli_uint(P, "--sessions", optarg, 1, RF_SEED_SESSIONS_MAX, &b->sessions))
				return -EINVAL;
			break;
		case 's':
			if (rf_cli_real(P, "--seconds", optarg, 0.1, 3600, &b->seconds))
				return -EINVAL;
			break;
		case 'p':
			if (strcmp(optarg, "copy") == 0)
				b->mode = RF_DPDK_TX_COPY;
			else if (strcmp(optarg, "zerocopy") == 0)
				b->mode = RF_DPDK_TX_ZEROCOPY;
			else if (strcmp(optarg, "auto") != 0) {
				fprintf(stderr, "%s: --tx-path is auto, copy or zerocopy, got '%s'\n",
					P, optarg);
				return -EINVAL;
			}
			break;
		case 'm':
			if (rte_ether_unformat_addr(optarg, &b->dst_mac) != 0) {
				fprintf(stderr, "%s: --dst-mac wants aa:bb:cc:dd:ee:ff, got '%s'\n",
					P, optarg);
				return -EINVAL;
			}
			break;
		case 'f':
			if (strcmp(optarg, "4") != 0 && strcmp(optarg, "6") != 0) {
				fprintf(stderr, "%s: --family is 4 or 6, got '%s'\n", P, optarg);
				return -EINVAL;
			}
			b->family = optarg[0] == '4' ? 4 : 6;
			break;
		case 'k':
			if (rf_cli_uint(P, "--substreams", optarg, 1, RF_SUBSTREAMS_MAX, &u))
				return -EINVAL;
			b->substreams = (uint8_t)u;
			break;
		case 'g':
			if (rf_cli_uint(P, "--group-size", optarg, 1, RF_GROUP_MAX, &u))
				return -EINVAL;
			b->group = (uint8_t)u;
			break;
		case 'r':
			if (rf_cli_uint(P, "--repairs", optarg, 0, 10000000, &b->repairs))
				return -EINVAL;
			break;
		case 'h': rf_usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (b->sessions == 0 || b->sessions > RF_SEED_SESSIONS_MAX || b->seconds <= 0 ||
	    (b->family != 4 && b->family != 6) || b->substreams == 0 ||
	    b->substreams > RF_SUBSTREAMS_MAX || b->group == 0 || b->group > RF_GROUP_MAX)
		return -EINVAL;
	return 0;
}

/* ---- the stream: what ingest would append ---- */

static uint8_t rf_payloads[RF_B_PAYLOADS][RF_CHUNK_DEFAULT];

static void rf_make_payloads(void)
{
	randombytes_buf(rf_payloads, sizeof(rf_payloads));
	for (unsigned i = 0; i < RF_B_PAYLOADS; i++)
		for (unsigned p = 0; p < RF_CHUNK_DEFAULT; p += 188)
			rf_payloads[i][p] = 0x47; /* MPEG-TS sync bytes */
}

static void rf_append(struct rf_bench *b)
{
	uint64_t seq = rf_chunk_store_next(b->store);
	const uint8_t *p = rf_payloads[seq % RF_B_PAYLOADS];
	uint8_t flags = seq % 50 == 0 ? RF_FLAG_DATA_RAP : 0;

	rf_chunk_store_append(b->store, p, RF_CHUNK_DEFAULT, flags);
	rf_sig_ring_add(b->sigs, seq, flags, p, RF_CHUNK_DEFAULT);
}

static int rf_stream_setup(struct rf_bench *b)
{
	size_t bytes = rf_chunk_store_size(RF_B_SLOTS, RF_CHUNK_DEFAULT);
	uint32_t groups = rte_align32pow2(RF_B_SLOTS / b->group + 1);
	size_t sbytes = rf_sig_ring_size(groups, b->group);
	const struct rte_memzone *mz;
	void *smem;

	rf_stream_key_ephemeral(&b->key);
	/* the store lives in a memzone, as rawflow-seed's does (store_mem.c) */
	mz = rte_memzone_reserve_aligned("rf_bench_store", bytes, b->port.socket, 0, 64);
	smem = rte_zmalloc_socket("rf_bench_sigs", sbytes, 64, b->port.socket);
	if (!mz || !smem)
		return -ENOMEM;
	b->store = rf_chunk_store_init(mz->addr, bytes, RF_B_SLOTS, RF_CHUNK_DEFAULT,
				       randombytes_random());
	b->sigs = rf_sig_ring_init(smem, sbytes, groups, b->group,
				   b->key.stream_id, b->key.sk);
	if (!b->store || !b->sigs)
		return -EINVAL;
	for (unsigned i = 0; i < RF_B_LEAD; i++)
		rf_append(b);
	return rf_dpdk_stream_map(&b->st, b->key.stream_id, b->store, b->sessions, b->port.socket);
}

/* ---- the sessions ---- */

static void rf_peer_addr(const struct rf_bench *b, unsigned i, struct rf_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->port = (uint16_t)(5000 + i % 1000);
	if (b->family == 4) {
		a->family = RF_AF_INET;
		a->ip[0] = 198;
		a->ip[1] = 19;
		a->ip[2] = (uint8_t)(i >> 8);
		a->ip[3] = (uint8_t)i;
	} else {
		static const uint8_t prefix[6] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 };

		a->family = RF_AF_INET6;
		memcpy(a->ip, prefix, sizeof(prefix));
		a->ip[12] = (uint8_t)(i >> 24);
		a->ip[13] = (uint8_t)(i >> 16);
		a->ip[14] = (uint8_t)(i >> 8);
		a->ip[15] = (uint8_t)i;
	}
}

/* Feed m from a; the replies' types must be want[0..nwant); *reply is the
 * first. */
static int rf_feed(struct rf_bench *b, const struct rf_addr *a, struct rf_msg *m,
		   const uint8_t *want, unsigned nwant, struct rf_msg *reply)
{
	struct rf_seed_outbox out = { 0 };
	uint8_t buf[RF_MAX_DATAGRAM];
	int n;

	m->stream_id = b->key.stream_id;
	n = rf_msg_encode(m, buf, sizeof(buf));
	if (n < 0 || rf_seed_input(b->seed, rf_unix_ms(), a, buf, (size_t)n, &out) != RF_DROP_NONE)
		return -EPROTO;
	if (out.count != nwant)
		return -EPROTO;
	/* the first reply is kept: its fields are copies, not pointers */
	for (unsigned i = nwant; i-- > 0;)
		if (rf_msg_decode(out.out[i].buf, out.out[i].len, reply) != RF_DROP_NONE ||
		    reply->type != want[i])
			return -EPROTO;
	return 0;
}

static int rf_handshake(struct rf_bench *b, unsigned i)
{
	static const uint8_t cookie[] = { RF_MSG_COOKIE };
	static const uint8_t welcome[] = { RF_MSG_WELCOME, RF_MSG_CANDIDATES };
	struct rf_msg m = { .type = RF_MSG_HELLO }, r;
	uint64_t peer = 0x5eed000000000000ull | i;
	struct rf_addr a;
	int rc;

	rf_peer_addr(b, i, &a);
	m.hello.peer_id = peer;
	rc = rf_feed(b, &a, &m, cookie, 1, &r);
	if (rc)
		return rc;
	m = (struct rf_msg){ .type = RF_MSG_JOIN };
	m.join.peer_id = peer;
	memcpy(m.join.cookie, r.cookie.cookie, RF_COOKIE_LEN);
	m.join.upload_kbps = 3000;
	rc = rf_feed(b, &a, &m, welcome, 2, &r);
	if (rc)
		return rc;
	m = (struct rf_msg){ .type = RF_MSG_SUBSCRIBE };
	m.subscribe.substreams = b->substreams == 64 ? ~0ull : (1ull << b->substreams) - 1;
	m.subscribe.start_seq = r.welcome.live_edge;
	rc = rf_feed(b, &a, &m, NULL, 0, &r);
	if (rc)
		return rc;
	/* what the driver learns from the JOIN: this peer's next hop */
	rf_dpdk_neigh_learn(&b->tx, &a, &b->dst_mac, 0, (uint32_t)(rf_unix_ms() / 1000));
	return 0;
}

static int rf_seed_setup(struct rf_bench *b)
{
	struct rf_seed_params p = {
		.stream_id = b->key.stream_id,
		.cookie_lifetime_s = 30,
		.max_sessions = b->sessions,
		.stream_bps = 2000000,
		.chunk_size = RF_CHUNK_DEFAULT,
		.substreams = b->substreams,
		.group_size = b->group,
		.chunk_rate_milli = 190000,
		.keepalive_ms = 1000,
		/* synthetic peers send no keepalives: keep them for the run */
		.timeout_ms = 3600 * 1000,
		.catchup_per_pump = 8,
	};
	const char *err = "?";
	size_t bytes;

	memcpy(p.pubkey, b->key.pk, RF_PUBKEY_LEN);
	randombytes_buf(p.cookie_secret, sizeof(p.cookie_secret));
	bytes = rf_seed_mem_size(p.max_sessions, p.substreams);
	b->seed_mem = rte_zmalloc_socket("rf_bench_seed", bytes, 64, b->port.socket);
	if (!b->seed_mem)
		return -ENOMEM;
	b->seed = rf_seed_init(b->seed_mem, bytes, &p, &err);
	if (!b->seed) {
		fprintf(stderr, "bench_seed_tx: %s\n", err);
		return -EINVAL;
	}
	rf_seed_set_store(b->seed, b->store);
	b->sent_seq = rf_chunk_store_next(b->store);
	for (unsigned i = 0; i < b->sessions; i++) {
		int rc = rf_handshake(b, i);

		if (rc) {
			fprintf(stderr, "bench_seed_tx: handshake of session %u failed\n", i);
			return rc;
		}
	}
	return 0;
}

/* ---- the TX lcore: what a seed worker does for stream data ---- */

/* A REPAIR from the next session in turn for the chunk RF_B_REPAIR_BACK
 * behind sent, as a peer that lost it asks (the core queues it; the
 * frame goes out from rf_seed_pump() between the live ones). */
static void rf_ask_repair(struct rf_bench *b, unsigned *turn, uint64_t sent, uint64_t now,
			  struct rf_seed_outbox *out)
{
	struct rf_msg m = { .type = RF_MSG_REPAIR, .stream_id = b->key.stream_id };
	uint8_t buf[RF_MAX_DATAGRAM];
	struct rf_addr a;
	int n;

	rf_peer_addr(b, *turn, &a);
	*turn = (*turn + 1) % b->sessions;
	m.repair.base_seq = sent - RF_B_REPAIR_BACK;
	m.repair.mask = 1;
	n = rf_msg_encode(&m, buf, sizeof(buf));
	out->count = 0;
	if (n > 0)
		rf_seed_input(b->seed, now, &a, buf, (size_t)n, out);
}

static int rf_tx_main(void *arg)
{
	struct rf_bench *b = arg;
	struct rf_seed_tx desc[RF_DPDK_BURST];
	struct rte_mbuf *rx[RF_DPDK_BURST];
	uint64_t hz_ms = rte_get_tsc_hz() / 1000, tsc0 = rte_rdtsc(), ms0 = rf_unix_ms();
	uint64_t next_timer = 0, phase_end = tsc0 + (uint64_t)(RF_B_WARMUP_S * 1000) * hz_ms;
	uint64_t sent = b->sent_seq;
	uint64_t repair_gap = b->repairs ? RTE_MAX(rte_get_tsc_hz() / b->repairs, 1ull) : 0;
	uint64_t next_repair = tsc0;
	struct rf_seed_outbox out;
	unsigned turn = 0;
	int phase = 0;

	while (phase < 2) {
		uint64_t tsc = rte_rdtsc(), now = ms0 + (tsc - tsc0) / hz_ms;
		unsigned n, rounds = 0;

		do {
			n = rf_seed_pump(b->seed, now, b->store, b->sigs, desc, RF_DPDK_BURST);
			rf_dpdk_tx_seed(&b->tx, &b->st, desc, n);
			/* the ingest's pace: the fan-out goes in order, so a
			 * burst's last DATA is as far as TX got, unless it is
			 * a repair (older: kept out by the test below, so the
			 * pace lags a burst at worst). One look a burst: the
			 * harness adds nothing per frame. */
			if (n && desc[n - 1].kind == RF_SEED_TX_DATA && desc[n - 1].seq - sent < (1ull << 63))
				sent = desc[n - 1].seq;
		} while (n == RF_DPDK_BURST && ++rounds < 8);
		__atomic_store_n(&b->sent_seq, sent, __ATOMIC_RELAXED);
		for (; repair_gap && tsc >= next_repair; next_repair += repair_gap)
			rf_ask_repair(b, &turn, sent, now, &out);
		while (b->drain_rx) { /* net_ring: whatever was sent, all of it */
			uint16_t k = rte_eth_rx_burst(b->port.id, 0, rx, RF_DPDK_BURST);

			rte_pktmbuf_free_bulk(rx, k);
			if (k < RF_DPDK_BURST)
				break;
		}
		rf_dpdk_tx_flush(&b->tx);
		if (tsc >= next_timer) {
			do {
				out.count = 0;
				rf_seed_timers(b->seed, now, &out);
			} while (out.count == RF_SEED_OUT_MAX);
			next_timer = tsc + RF_B_TIMER_MS * hz_ms;
		}
		if (tsc >= phase_end) {
			if (phase == 0) {
				b->at0 = b->stats;
				b->core0 = *rf_seed_stats(b->seed);
				b->t0_tsc = tsc;
				phase_end = tsc + (uint64_t)(b->seconds * 1000) * hz_ms;
			} else {
				b->at1 = b->stats;
				b->core1 = *rf_seed_stats(b->seed);
				b->t1_tsc = tsc;
			}
			__atomic_store_n(&b->phase, ++phase, __ATOMIC_RELEASE);
		}
	}
	return 0;
}

/* The main lcore: ingest, a few hundred chunks ahead of TX. It sleeps
 * when ahead, as a real ingest thread waits on its socket: a spinning
 * main lcore would take a share of the core from the TX lcore on an
 * SMT host, and testpmd's main lcore sleeps. */
static uint64_t rf_ingest_loop(struct rf_bench *b)
{
	uint64_t chunks = 0;
	int phase = 0, seen;

	while ((seen = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE)) < 2) {
		uint64_t sent = __atomic_load_n(&b->sent_seq, __ATOMIC_RELAXED);

		if (seen != phase) {
			phase = seen;
			fprintf(stderr, "bench_seed_tx: pumping\n");
		}
		if (rf_chunk_store_next(b->store) - sent < RF_B_LEAD) {
			rf_append(b);
			chunks++;
		} else {
			rte_delay_us_sleep(50);
		}
	}
	return chunks;
}

static int rf_port_setup(struct rf_bench *b)
{
	uint16_t id = 0;
	int rc;

	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "bench_seed_tx: no port; give the EAL one, e.g. --vdev net_null0\n");
		return -ENODEV;
	}
	RTE_ETH_FOREACH_DEV(id)
		break;
	rc = rf_dpdk_port_probe(id, 1, b->mode, &b->port);
	if (rc)
		return rc;
	rc = rf_dpdk_pools_create(b->port.socket, 1, b->port.zerocopy, &b->pools);
	if (rc)
		return rc;
	rc = rf_dpdk_port_start(&b->port, b->pools.pkt, NULL);
	if (rc)
		return rc;
	b->drain_rx = strcmp(b->port.driver, "net_ring") == 0;
	b->self.mac = b->port.mac;
	b->self.has_ip4 = b->self.has_ip6 = true;
	inet_pton(AF_INET, "198.18.0.1", b->self.ip4);
	inet_pton(AF_INET6, "2001:db8::1", b->self.ip6);
	b->self.udp_port = 4433;
	rc = rf_dpdk_tx_init(&b->tx, b->sessions, b->port.socket, &b->stats);
	if (rc)
		return rc;
	rc = rf_dpdk_tx_add_queue(&b->tx, b->port.id, 0, &b->self, &b->pools, b->port.zerocopy);
	return rc < 0 ? rc : 0;
}

static void rf_report(const struct rf_bench *b, uint64_t chunks)
{
	double secs = (double)(b->t1_tsc - b->t0_tsc) / rte_get_tsc_hz();
	uint64_t pkts = b->at1.tx_packets - b->at0.tx_packets;
	uint64_t bytes = b->at1.tx_bytes - b->at0.tx_bytes;
	uint64_t core = b->core1.tx_packets - b->core0.tx_packets;
	uint64_t asked = b->core1.repairs_asked - b->core0.repairs_asked;
	uint64_t repaired = b->core1.repairs_sent - b->core0.repairs_sent;
	uint64_t full = b->at1.dpdk_drops[RF_DPDK_DROP_TX_FULL] - b->at0.dpdk_drops[RF_DPDK_DROP_TX_FULL];
	uint64_t other = 0;

	for (int r = 0; r < RF_DPDK_DROP_MAX; r++)
		if (r != RF_DPDK_DROP_TX_FULL)
			other += b->at1.dpdk_drops[r];
	fprintf(stderr, "bench_seed_tx: %s, %u sessions, %s TX: %.3f Mpps, %.2f Gbit/s, "
		"%llu dropped at a full ring, %llu chunks ingested\n",
		b->port.driver, b->sessions, b->port.zerocopy ? "zero-copy" : "copy",
		pkts / secs / 1e6, bytes * 8 / secs / 1e9, (unsigned long long)full,
		(unsigned long long)chunks);
	printf("{\"pmd\": \"%s\", \"sessions\": %u, \"family\": %d, \"tx_path\": \"%s\", "
	       "\"seconds\": %.3f, \"tx_packets\": %llu, \"pps\": %.0f, \"gbps\": %.3f, "
	       "\"core_packets\": %llu, \"tx_full\": %llu, \"other_drops\": %llu, "
	       "\"chunks\": %llu, \"repairs_asked\": %llu, \"repairs_sent\": %llu}\n",
	       b->port.driver, b->sessions, b->family, b->port.zerocopy ? "zerocopy" : "copy",
	       secs, (unsigned long long)pkts, pkts / secs, bytes * 8 / secs / 1e9,
	       (unsigned long long)core, (unsigned long long)full, (unsigned long long)other,
	       (unsigned long long)chunks, (unsigned long long)asked,
	       (unsigned long long)repaired);
}

int main(int argc, char **argv)
{
	static struct rf_bench b = {
		.sessions = 1000, .seconds = 5, .family = 4, .substreams = 8, .group = 16,
		.dst_mac = { { 0x02, 0, 0, 0, 0, 0x02 } },
	};
	unsigned lcore;
	uint64_t chunks;
	int n, rc;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "bench_seed_tx: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (rf_parse(argc - n, argv + n, &b) != 0) {
		rf_usage(stderr);
		return 2;
	}
	lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	if (sodium_init() < 0 || lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "bench_seed_tx: needs libsodium and two lcores (-l 0,1)\n");
		return 1;
	}
	rf_make_payloads();
	rc = rf_port_setup(&b);
	if (!rc)
		rc = rf_stream_setup(&b);
	if (!rc)
		rc = rf_seed_setup(&b);
	if (rc) {
		fprintf(stderr, "bench_seed_tx: setup failed: %s\n", strerror(-rc));
		return 1;
	}
	fprintf(stderr, "bench_seed_tx: %u sessions joined and subscribed; TX on lcore %u\n",
		b.sessions, lcore);
	rte_eal_remote_launch(rf_tx_main, &b, lcore);
	chunks = rf_ingest_loop(&b);
	rte_eal_wait_lcore(lcore);
	rf_report(&b, chunks);
	rf_dpdk_port_stop(&b.port);
	rte_eal_cleanup();
	return 0;
}
