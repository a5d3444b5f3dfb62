/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel-backend TX benchmark: the seed core's fan-out sent with the
 * kernel backend's own sendmmsg batching (udp_batch.c: two iovecs per
 * datagram, header and payload by reference), against a bare sendmmsg loop sending
 * the same datagrams to the same destinations, in the same run. UDP GSO
 * does not apply: consecutive datagrams go to different destinations.
 *
 * Run it inside a namespace whose route to the destinations leaves by a
 * veth into a namespace that drops them (tools/bench/seed-kernel does):
 * the device's TX counter, read before and after, counts what really
 * left — not the sender's own figure. The two paths take RF_B_SLICES
 * turns each.
 *
 *   bench_seed_kernel --sessions N --seconds S --dev DEV [--prefix 198.18]
 *
 * Last line on stdout: {"sessions":..,"pps_seed":..,"pps_sendmmsg":..,"ratio_kernel":..}
 */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chunk_store.h"
#include "cli.h"
#include "clock.h"
#include "keyfile.h"
#include "msg.h"
#include "seed.h"
#include "sig_ring.h"
#include "sockaddr.h"
#include "udp_batch.h"

#define RF_B_BURST 64
#define RF_B_SLOTS 4096
#define RF_B_K 8
#define RF_B_G 16
#define RF_B_SLICES 10  /* turns of each path */

struct rf_bench {
	unsigned sessions;
	double seconds;
	const char *dev;
	int fd;
	struct rf_stream_key key;
	struct rf_seed *seed;
	struct rf_chunk_store *store;
	struct rf_sig_ring *sigs;
	uint8_t payload[RF_CHUNK_DEFAULT];
};

static uint64_t rf_dev_tx_packets(const char *dev)
{
	char path[256];
	unsigned long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_packets", dev);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &n) != 1)
		n = 0;
	if (f)
		fclose(f);
	return n;
}

/* Session i's address: 198.18.0.0/15 hosts, 64 ports each. */
static void rf_bench_addr(unsigned i, struct rf_addr *a)
{
	uint8_t ip[4] = { 198, 18, (uint8_t)(1 + (i / 64) / 250), (uint8_t)(1 + (i / 64) % 250) };

	rf_addr_v4(a, ip, (uint16_t)(20000 + i % 64));
}

/* Feed a datagram to the seed; the first reply, if any, into reply. */
static int rf_bench_say(struct rf_bench *b, const struct rf_addr *src, struct rf_msg *m,
			struct rf_msg *reply)
{
	static struct rf_seed_outbox out;
	uint8_t buf[RF_MAX_DATAGRAM];
	int len;

	m->stream_id = b->key.stream_id;
	len = rf_msg_encode(m, buf, sizeof(buf));
	out.count = 0;
	if (len < 0 || rf_seed_input(b->seed, rf_unix_ms(), src, buf, (size_t)len, &out) != RF_DROP_NONE)
		return -EPROTO;
	if (reply && (out.count == 0 || rf_msg_decode(out.out[0].buf, out.out[0].len, reply) != RF_DROP_NONE))
		return -EPROTO;
	return 0;
}

/* HELLO, COOKIE, JOIN, SUBSCRIBE(all) for every session: the real path. */
static int rf_bench_sessions(struct rf_bench *b)
{
	for (unsigned i = 0; i < b->sessions; i++) {
		struct rf_msg m = { .type = RF_MSG_HELLO }, r;
		struct rf_addr a;

		rf_bench_addr(i, &a);
		m.hello.peer_id = i + 1;
		if (rf_bench_say(b, &a, &m, &r) || r.type != RF_MSG_COOKIE)
			return -EPROTO;
		m = (struct rf_msg){ .type = RF_MSG_JOIN };
		m.join.peer_id = i + 1;
		memcpy(m.join.cookie, r.cookie.cookie, RF_COOKIE_LEN);
		if (rf_bench_say(b, &a, &m, &r) || r.type != RF_MSG_WELCOME)
			return -EPROTO;
		m = (struct rf_msg){ .type = RF_MSG_SUBSCRIBE };
		m.subscribe.substreams = (1u << RF_B_K) - 1;
		m.subscribe.start_seq = rf_chunk_store_next(b->store);
		if (rf_bench_say(b, &a, &m, NULL))
			return -EPROTO;
	}
	return 0;
}

static void rf_bench_chunk(struct rf_bench *b)
{
	uint64_t seq = rf_chunk_store_next(b->store);

	b->payload[0] = 0x47;
	b->payload[1] = (uint8_t)seq;
	rf_chunk_store_append(b->store, b->payload, sizeof(b->payload), 0);
	rf_sig_ring_add(b->sigs, seq, 0, b->payload, sizeof(b->payload));
}

/* The seed path for ms: append a chunk, pump its fan-out, send it with
 * the kernel backend's own batching (udp_batch.c). Returns datagrams sent. */
static uint64_t rf_bench_seed(struct rf_bench *b, uint64_t ms)
{
	static struct rf_seed_tx tx[RF_B_BURST];
	static struct rf_udp_batch out;
	uint64_t end = rf_now_ms() + ms;

	rf_udp_batch_init(&out, b->fd, false);
	while (rf_now_ms() < end) {
		unsigned n;

		rf_bench_chunk(b);
		do {
			n = rf_seed_pump(b->seed, rf_unix_ms(), b->store, b->sigs, tx, RF_B_BURST);
			for (unsigned i = 0; i < n; i++)
				rf_udp_batch_seed_tx(&out, b->key.stream_id, &tx[i]);
			rf_udp_batch_flush(&out);
		} while (n == RF_B_BURST);
	}
	return out.sent;
}

/* The baseline for ms: the same datagrams to the same destinations, bare
 * sendmmsg, no seed logic: per chunk a header + 1316-byte payload to every
 * session, and after every 16th chunk a SIGNATURE-sized one to each. */
static uint64_t rf_bench_bare(struct rf_bench *b, uint64_t ms)
{
	static struct mmsghdr msg[RF_B_BURST];
	static struct iovec iov[RF_B_BURST][2];
	static struct sockaddr_storage ss[RF_B_BURST];
	static uint8_t hdr[RF_DATA_HDR_LEN], sig[RF_HDR_LEN + 76 + RF_HASH_LEN * RF_B_G];
	uint64_t end = rf_now_ms() + ms, sent = 0, chunk = 0;
	bool sig_phase = false;
	unsigned at = 0;

	while (rf_now_ms() < end) {
		unsigned n;

		for (n = 0; n < RF_B_BURST; n++) {
			struct rf_addr a;

			rf_bench_addr(at, &a);
			memset(&msg[n], 0, sizeof(msg[n]));
			msg[n].msg_hdr.msg_name = &ss[n];
			msg[n].msg_hdr.msg_namelen = rf_addr_to_sockaddr(&a, &ss[n], false);
			msg[n].msg_hdr.msg_iov = iov[n];
			iov[n][0] = sig_phase ? (struct iovec){ sig, sizeof(sig) }
					      : (struct iovec){ hdr, sizeof(hdr) };
			iov[n][1] = (struct iovec){ b->payload, sizeof(b->payload) };
			msg[n].msg_hdr.msg_iovlen = sig_phase ? 1 : 2;
			if (++at < b->sessions)
				continue;
			at = 0;
			if (!sig_phase && chunk % RF_B_G == RF_B_G - 1) {
				sig_phase = true;
			} else {
				sig_phase = false;
				chunk++;
			}
		}
		for (unsigned done = 0; done < n;) {
			int k = sendmmsg(b->fd, msg + done, n - done, 0);

			if (k <= 0)
				break;
			done += (unsigned)k;
			sent += (unsigned)k;
		}
	}
	return sent;
}

static int rf_bench_setup(struct rf_bench *b)
{
	struct rf_seed_params p = { 0 };
	size_t store_bytes = rf_chunk_store_size(RF_B_SLOTS, RF_CHUNK_DEFAULT);
	size_t sig_bytes = rf_sig_ring_size(RF_B_SLOTS / RF_B_G * 2, RF_B_G);
	size_t seed_bytes;
	const char *err = NULL;
	int buf = 32 << 20;

	rf_stream_key_ephemeral(&b->key);
	b->store = rf_chunk_store_init(malloc(store_bytes), store_bytes, RF_B_SLOTS,
				       RF_CHUNK_DEFAULT, 1000);
	b->sigs = rf_sig_ring_init(malloc(sig_bytes), sig_bytes, RF_B_SLOTS / RF_B_G * 2, RF_B_G,
				   b->key.stream_id, b->key.sk);
	p.stream_id = b->key.stream_id;
	memcpy(p.pubkey, b->key.pk, RF_PUBKEY_LEN);
	randombytes_buf(p.cookie_secret, sizeof(p.cookie_secret));
	p.cookie_lifetime_s = 30;
	p.max_sessions = b->sessions;
	p.stream_bps = 2000000;
	p.chunk_size = RF_CHUNK_DEFAULT;
	p.substreams = RF_B_K;
	p.group_size = RF_B_G;
	p.chunk_rate_milli = 190000;
	p.keepalive_ms = 1000;
	p.timeout_ms = 600000; /* nobody answers in a benchmark */
	p.catchup_per_pump = 8;
	seed_bytes = rf_seed_mem_size(b->sessions, RF_B_K);
	b->seed = rf_seed_init(calloc(1, seed_bytes), seed_bytes, &p, &err);
	if (!b->store || !b->sigs || !b->seed) {
		fprintf(stderr, "bench_seed_kernel: set-up failed: %s\n", err ? err : "memory");
		return -EINVAL;
	}
	rf_seed_set_store(b->seed, b->store);
	b->fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(b->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return b->fd < 0 ? -errno : rf_bench_sessions(b);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "dev", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct rf_bench b = { .sessions = 1000, .seconds = 5, .dev = "rfdum0" };
	uint64_t d0, seed_dev = 0, bare_dev = 0, seed_sent = 0, bare_sent = 0;
	int c;

	while ((c = getopt_long(argc, argv, "n:t:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (rf_cli_uint("bench_seed_kernel", "--sessions", optarg, 1, 100000, &b.sessions))
				return 2;
			break;
		case 't':
			if (rf_cli_real("bench_seed_kernel", "--seconds", optarg, 0.1, 3600, &b.seconds))
				return 2;
			break;
		case 'd': b.dev = optarg; break;
		case 'h':
			printf("usage: bench_seed_kernel [--sessions N] [--seconds S] [--dev DEV]\n");
			return 0;
		default: return 2;
		}
	}
	if (sodium_init() < 0 || b.sessions == 0 || b.sessions > 64 * 250 * 250 || b.seconds <= 0) {
		fprintf(stderr, "bench_seed_kernel: bad arguments (see --help)\n");
		return 2;
	}
	if (rf_bench_setup(&b) != 0) {
		fprintf(stderr, "bench_seed_kernel: cannot set up %u sessions\n", b.sessions);
		return 1;
	}
	/* The two take turns, RF_B_SLICES slices each: a slow phase of the
	 * host then falls on both, not on one. */
	fprintf(stderr, "%u sessions subscribed; seed path and bare sendmmsg for %.1f s each, "
		"in %d turns ...\n", b.sessions, b.seconds, RF_B_SLICES);
	for (int i = 0; i < RF_B_SLICES; i++) {
		uint64_t ms = (uint64_t)(b.seconds * 1000 / RF_B_SLICES);

		d0 = rf_dev_tx_packets(b.dev);
		seed_sent += rf_bench_seed(&b, ms);
		seed_dev += rf_dev_tx_packets(b.dev) - d0;
		d0 = rf_dev_tx_packets(b.dev);
		bare_sent += rf_bench_bare(&b, ms);
		bare_dev += rf_dev_tx_packets(b.dev) - d0;
	}
	fprintf(stderr, "seed: %llu datagrams sent, %llu left %s; bare: %llu sent, %llu left\n",
		(unsigned long long)seed_sent, (unsigned long long)seed_dev, b.dev,
		(unsigned long long)bare_sent, (unsigned long long)bare_dev);
	printf("{\"sessions\": %u, \"pps_seed\": %.0f, \"pps_sendmmsg\": %.0f, \"ratio_kernel\": %.3f}\n",
	       b.sessions, seed_dev / b.seconds, bare_dev / b.seconds,
	       bare_dev ? (double)seed_dev / (double)bare_dev : 0.0);
	return 0;
}
