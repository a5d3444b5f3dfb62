/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The seed's DPDK TX path (dataplane/seed/dpdk_tx.c) on its own: frames
 * are built from rf_seed_tx descriptors and inspected in the queue before
 * any PMD sees them; what is flushed goes to a net_null port. EAL runs
 * without hugepages (IOVA as VA), so the chunk store in a memzone is sent
 * by reference, as on a real port.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_udp.h>

#include "dpdk_port.h"
#include "dpdk_tx.h"
#include "msg.h"

#define SLOTS (2 * RF_DPDK_CSUM_SLOTS) /* a chunk and the next to share its sums slot */
#define SESSIONS 8

static const struct rte_ether_addr mac_a = { { 0x02, 0, 0, 0, 0, 0xa } };
static const struct rte_ether_addr mac_b = { { 0x02, 0, 0, 0, 0, 0xb } };

static struct {
	struct rf_dpdk_self self;
	struct rf_dpdk_pools pools;
	struct rf_dpdk_tx tx;
	struct rf_dpdk_stream st;
	struct rf_chunk_store *store;
	struct rf_lcore_stats stats;
	uint64_t seq;                      /* of the one chunk in the store */
	uint16_t null_port;
	uint8_t payload[RF_CHUNK_DEFAULT];
} fx;

static void setup(void)
{
	char *argv[] = { "test_dpdk_tx", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			 "--iova-mode=va", "--vdev", "net_null0", "--vdev", "net_ring0",
			 "--log-level", "*:error", NULL };
	size_t bytes = rf_chunk_store_size(SLOTS, RF_CHUNK_DEFAULT);
	struct rte_eth_conf conf = { 0 };
	const struct rte_memzone *mz;

	cr_assert_geq(rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv), 0);
	cr_assert_eq(rte_eth_dev_get_port_by_name("net_null0", &fx.null_port), 0);
	cr_assert_eq(fx.null_port, 0, "the queues below name port 0");
	cr_assert_eq(rte_eth_dev_configure(0, 0, 2, &conf), 0);
	for (uint16_t q = 0; q < 2; q++)
		cr_assert_eq(rte_eth_tx_queue_setup(0, q, 256, 0, NULL), 0);
	cr_assert_eq(rte_eth_dev_start(0), 0);
	cr_assert_geq(sodium_init(), 0);
	fx.self = (struct rf_dpdk_self){ .mac = { { 0x02, 0, 0, 0, 0, 0x1 } },
					 .has_ip4 = true, .has_ip6 = true,
					 .ip4 = { 198, 18, 0, 1 }, .udp_port = 4433 };
	inet_pton(AF_INET6, "2001:db8::1", fx.self.ip6);
	cr_assert_eq(rf_dpdk_pools_create(0, 1, true, &fx.pools), 0);
	cr_assert_eq(rf_dpdk_tx_init(&fx.tx, 64, 0, &fx.stats), 0);
	mz = rte_memzone_reserve_aligned("test_store", bytes, 0, 0, 64);
	cr_assert_not_null(mz);
	fx.store = rf_chunk_store_init(mz->addr, bytes, SLOTS, RF_CHUNK_DEFAULT, 7);
	cr_assert_not_null(fx.store);
	randombytes_buf(fx.payload, sizeof(fx.payload));
	fx.seq = rf_chunk_store_next(fx.store);
	cr_assert_eq(rf_chunk_store_append(fx.store, fx.payload, sizeof(fx.payload), 0), 0);
	cr_assert_eq(rf_dpdk_stream_map(&fx.st, 0x1122334455667788ull, fx.store, SESSIONS, 0), 0);
}

static void teardown(void)
{
	for (unsigned i = 0; i < fx.tx.nq; i++) {
		rte_pktmbuf_free_bulk(fx.tx.q[i].buf, fx.tx.q[i].n);
		fx.tx.q[i].n = 0;
	}
	/* the port first: frames it still holds name the TX state's mbufs */
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rf_dpdk_tx_free(&fx.tx);
	rf_dpdk_stream_unmap(&fx.st);
	rf_dpdk_pools_free(&fx.pools);
	rte_eal_cleanup();
}

TestSuite(dpdk_tx, .init = setup, .fini = teardown);

static struct rf_addr v4(uint8_t last, uint16_t port)
{
	struct rf_addr a;

	rf_addr_v4(&a, (const uint8_t[]){ 198, 18, 0, last }, port);
	return a;
}

static struct rf_addr v6(uint8_t last, uint16_t port)
{
	struct rf_addr a = { .family = RF_AF_INET6, .port = port };

	inet_pton(AF_INET6, "2001:db8::2", a.ip);
	a.ip[15] = last;
	return a;
}

/* Queue one DATA frame of chunk seq with flags to dst, as session slot
 * `session`. */
static struct rte_mbuf *send_flags(unsigned q, const struct rf_addr *dst, uint32_t session,
				   uint64_t seq, uint8_t flags)
{
	struct rf_seed_tx t = {
		.kind = RF_SEED_TX_DATA, .dst = dst, .seq = seq, .substream = 0, .flags = flags,
		.session = session, .chunk = rf_chunk_store_get(fx.store, seq),
	};
	uint64_t before = fx.tx.q[q].n + fx.stats.tx_packets;

	cr_assert_not_null(t.chunk);
	rf_dpdk_tx_seed(&fx.tx, &fx.st, &t, 1);
	/* what waited may have been flushed: the new frame comes last */
	cr_assert_eq(fx.tx.q[q].n + fx.stats.tx_packets, before + 1,
		     "one frame queued on queue %u", q);
	return fx.tx.q[q].buf[fx.tx.q[q].n - 1];
}

static struct rte_mbuf *send_seq(unsigned q, const struct rf_addr *dst, uint32_t session,
				 uint64_t seq)
{
	return send_flags(q, dst, session, seq, 0);
}

/* ... of the chunk in the fixture. */
static struct rte_mbuf *send_data(unsigned q, const struct rf_addr *dst, uint32_t session)
{
	return send_seq(q, dst, session, fx.seq);
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The frame m, checked as a receiver would: Ethernet to mac, IP to dst
 * with a good header checksum, UDP from the seed's port with a good
 * checksum. Returns the datagram (valid until the next call), its length
 * in *len. */
static const uint8_t *check_headers(struct rte_mbuf *m, const struct rte_ether_addr *mac,
				    const struct rf_addr *dst, size_t *len)
{
	static uint8_t f[2048];
	const uint8_t *p = rte_pktmbuf_read(m, 0, m->pkt_len, f);
	struct rte_ether_hdr eth;
	struct rte_udp_hdr udp;
	size_t l3 = sizeof(eth), l4;
	uint32_t phdr;

	cr_assert_not_null(p);
	if (p != f)
		memcpy(f, p, m->pkt_len);
	memcpy(&eth, f, sizeof(eth));
	cr_assert(rte_is_same_ether_addr(&eth.dst_addr, mac), "to the peer's MAC");
	cr_assert(rte_is_same_ether_addr(&eth.src_addr, &fx.self.mac));
	if (dst->family == RF_AF_INET) {
		struct rte_ipv4_hdr ip;

		memcpy(&ip, f + l3, sizeof(ip));
		cr_assert_eq(eth.ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV4));
		cr_assert_eq(memcmp(&ip.dst_addr, dst->ip, 4), 0);
		cr_assert_eq(memcmp(&ip.src_addr, fx.self.ip4, 4), 0);
		cr_assert_eq(rte_be_to_cpu_16(ip.total_length), m->pkt_len - l3);
		cr_assert_eq(fold(rte_raw_cksum(f + l3, sizeof(ip))), 0xffff, "IPv4 header checksum");
		phdr = rte_raw_cksum(&ip.src_addr, 8) + rte_cpu_to_be_16(IPPROTO_UDP);
		l4 = l3 + sizeof(ip);
	} else {
		struct rte_ipv6_hdr ip;

		memcpy(&ip, f + l3, sizeof(ip));
		cr_assert_eq(eth.ether_type, RTE_BE16(RTE_ETHER_TYPE_IPV6));
		cr_assert_eq(memcmp(ip.dst_addr, dst->ip, 16), 0);
		cr_assert_eq(memcmp(ip.src_addr, fx.self.ip6, 16), 0);
		cr_assert_eq(rte_be_to_cpu_16(ip.payload_len), m->pkt_len - l3 - sizeof(ip));
		phdr = rte_raw_cksum(ip.src_addr, 32) + rte_cpu_to_be_16(IPPROTO_UDP);
		l4 = l3 + sizeof(ip);
	}
	memcpy(&udp, f + l4, sizeof(udp));
	cr_assert_eq(rte_be_to_cpu_16(udp.src_port), fx.self.udp_port);
	cr_assert_eq(rte_be_to_cpu_16(udp.dst_port), dst->port);
	cr_assert_eq(rte_be_to_cpu_16(udp.dgram_len), m->pkt_len - l4);
	cr_assert_eq(fold(phdr + udp.dgram_len + rte_raw_cksum(f + l4, m->pkt_len - l4)), 0xffff,
		     "UDP checksum");
	*len = m->pkt_len - l4 - sizeof(udp);
	return f + l4 + sizeof(udp);
}

/* ... and a DATA datagram with flags that carries chunk seq, payload[0..plen),
 * byte for byte. */
static void check_data(struct rte_mbuf *m, const struct rte_ether_addr *mac,
		       const struct rf_addr *dst, uint64_t seq, uint8_t flags,
		       const uint8_t *payload, size_t plen)
{
	struct rf_msg msg;
	size_t len;
	const uint8_t *d = check_headers(m, mac, dst, &len);

	cr_assert_eq(rf_msg_decode(d, len, &msg), 0);
	cr_assert_eq(msg.type, RF_MSG_DATA);
	cr_assert_eq(msg.stream_id, fx.st.stream_id);
	cr_assert_eq(msg.data.seq, seq);
	cr_assert_eq(msg.flags, flags);
	cr_assert_eq(msg.data.len, plen);
	cr_assert_eq(memcmp(msg.data.payload, payload, plen), 0, "the chunk");
}

static void check_chunk(struct rte_mbuf *m, const struct rte_ether_addr *mac,
			const struct rf_addr *dst, uint64_t seq, const uint8_t *payload)
{
	check_data(m, mac, dst, seq, 0, payload, sizeof(fx.payload));
}

/* ... of the chunk in the fixture. */
static void check_frame(struct rte_mbuf *m, const struct rte_ether_addr *mac,
			const struct rf_addr *dst)
{
	check_chunk(m, mac, dst, fx.seq, fx.payload);
}

Test(dpdk_tx, ipv4_and_ipv6_frames_by_reference)
{
	struct rf_addr a = v4(2, 5000), b = v6(3, 5001);
	struct rte_mbuf *m4, *m6;

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	cr_assert_gt(fx.st.npages, 0, "the memzone store is sent by reference");
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &b, &mac_b, 0, 1);
	m4 = send_data(0, &a, 0);
	m6 = send_data(0, &b, 1);
	check_frame(m4, &mac_a, &a);
	check_frame(m6, &mac_b, &b);
	cr_assert_eq(m4->nb_segs, 2);
	cr_assert_eq(m4->next, m6->next, "one payload mbuf for every peer's frame");
	cr_assert_eq(rte_pktmbuf_mtod(m4->next, const uint8_t *),
		     rf_chunk_store_get(fx.store, fx.seq)->payload, "the payload is not copied");
	/* lent: a free takes nothing back, so a frame freed (as a PMD does
	 * once it is sent) leaves the payload as it was for the others */
	cr_assert_eq(rte_mbuf_refcnt_read(m4->next), 1, "no shared count to decrement");
	cr_assert_eq(m4->next->pool, fx.pools.lent);
	rte_pktmbuf_free(m4);
	fx.tx.q[0].buf[0] = fx.tx.q[0].buf[1];
	fx.tx.q[0].n = 1;
	check_frame(m6, &mac_b, &b);
	cr_assert_eq(rte_mbuf_refcnt_read(m6->next), 1);
}

Test(dpdk_tx, a_lent_payload_is_repointed_only_after_its_frames_left)
{
	struct rf_addr a = v4(2, 5000);
	static uint8_t next[RF_CHUNK_DEFAULT];
	uint64_t later = fx.seq + RF_DPDK_CSUM_SLOTS;
	struct rte_mbuf *m;

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	while (rf_chunk_store_next(fx.store) != later) {
		randombytes_buf(next, sizeof(next));
		cr_assert_eq(rf_chunk_store_append(fx.store, next, sizeof(next), 0), 0);
	}
	randombytes_buf(next, sizeof(next));
	cr_assert_eq(rf_chunk_store_append(fx.store, next, sizeof(next), 0), 0);
	/* two chunks in two slots: both frames wait for a full burst */
	send_flags(0, &a, 0, fx.seq, RF_FLAG_DATA_RAP);
	send_seq(0, &a, 0, fx.seq + 1);
	cr_assert_eq(fx.tx.q[0].n, 2);
	cr_assert_eq(fx.stats.tx_packets, 0);
	/* a chunk for the first one's slot: its frames go to the PMD before
	 * the slot's payload mbuf points at the new chunk, whose header
	 * starts afresh (same flags as the last one there) */
	m = send_flags(0, &a, 0, later, RF_FLAG_DATA_RAP);
	cr_assert_eq(fx.tx.q[0].n, 1, "the waiting frames were flushed first");
	cr_assert_eq(fx.stats.tx_packets, 2);
	check_data(m, &mac_a, &a, later, RF_FLAG_DATA_RAP, next, sizeof(next));
}

Test(dpdk_tx, each_frame_carries_its_own_flags)
{
	struct rf_addr a = v4(2, 5000), b = v6(3, 5001);

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &b, &mac_b, 0, 1);
	/* live, a repair, live again: one chunk, one sums slot */
	check_data(send_flags(0, &a, 0, fx.seq, RF_FLAG_DATA_RAP), &mac_a, &a, fx.seq,
		   RF_FLAG_DATA_RAP, fx.payload, sizeof(fx.payload));
	check_data(send_flags(0, &b, 1, fx.seq, RF_FLAG_DATA_REPAIR), &mac_b, &b, fx.seq,
		   RF_FLAG_DATA_REPAIR, fx.payload, sizeof(fx.payload));
	check_data(send_flags(0, &a, 0, fx.seq, RF_FLAG_DATA_RAP), &mac_a, &a, fx.seq,
		   RF_FLAG_DATA_RAP, fx.payload, sizeof(fx.payload));
}

Test(dpdk_tx, odd_sized_chunks_sum_right)
{
	struct rf_addr a = v4(2, 5000);

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	/* 1 to 7 bytes: every tail the sum can have, by reference (the UDP
	 * checksum is checked by check_headers) */
	for (size_t len = 1; len < 8; len++) {
		uint64_t seq = rf_chunk_store_next(fx.store);

		cr_assert_eq(rf_chunk_store_append(fx.store, fx.payload, len, 0), 0);
		check_data(send_seq(0, &a, 0, seq), &mac_a, &a, seq, 0, fx.payload, len);
	}
}

/* net_ring hands frames to its reader, who may read one after its lent
 * payload was repointed: zero-copy there only when asked for. */
Test(dpdk_tx, net_ring_copies_unless_zero_copy_is_asked)
{
	struct rf_dpdk_port p;
	uint16_t ring;

	cr_assert_eq(rte_eth_dev_get_port_by_name("net_ring0", &ring), 0);
	cr_assert_eq(rf_dpdk_port_probe(ring, 1, RF_DPDK_TX_AUTO, &p), 0);
	cr_assert_not(p.zerocopy, "auto copies on net_ring");
	cr_assert_eq(rf_dpdk_port_probe(ring, 1, RF_DPDK_TX_ZEROCOPY, &p), 0);
	cr_assert(p.zerocopy, "zero-copy asked for chains");
	cr_assert_eq(rf_dpdk_port_probe(fx.null_port, 1, RF_DPDK_TX_AUTO, &p), 0);
	cr_assert_not(p.zerocopy, "net_null says nothing of chains");
	cr_assert_eq(rf_dpdk_port_probe(fx.null_port, 1, RF_DPDK_TX_ZEROCOPY, &p), 0);
	cr_assert(p.zerocopy);
}

Test(dpdk_tx, copy_path_sends_the_same_bytes)
{
	struct rf_addr a = v4(2, 5000);
	struct rte_mbuf *m;

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, false), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	m = send_data(0, &a, 0);
	cr_assert_eq(m->nb_segs, 1);
	check_frame(m, &mac_a, &a);
}

/* Queue a SIGNATURE frame of msg[0..len) to dst, as session slot `session`. */
static struct rte_mbuf *send_sig(const uint8_t *msg, uint16_t len, const struct rf_addr *dst,
				 uint32_t session)
{
	struct rf_seed_tx t = {
		.kind = RF_SEED_TX_SIGNATURE, .dst = dst, .session = session,
		.sig_msg = msg, .sig_len = len,
	};
	unsigned before = fx.tx.q[0].n;

	rf_dpdk_tx_seed(&fx.tx, &fx.st, &t, 1);
	cr_assert_eq(fx.tx.q[0].n, before + 1, "one frame queued");
	return fx.tx.q[0].buf[before];
}

static void check_sig(struct rte_mbuf *m, const struct rte_ether_addr *mac,
		      const struct rf_addr *dst, const uint8_t *msg, uint16_t len)
{
	size_t got;
	const uint8_t *d = check_headers(m, mac, dst, &got);

	cr_assert_eq(got, len);
	cr_assert_eq(memcmp(d, msg, len), 0, "the SIGNATURE byte for byte");
}

Test(dpdk_tx, signature_shared_by_every_peer_and_never_stale)
{
	struct rf_addr a = v4(2, 5000), b = v6(3, 5001);
	static uint8_t ring[600], sent[600];
	struct rte_mbuf *ma, *mb, *mc;

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &b, &mac_b, 0, 1);
	randombytes_buf(ring, sizeof(ring));
	memcpy(sent, ring, sizeof(ring));
	ma = send_sig(ring, 400, &a, 0);
	mb = send_sig(ring, 400, &b, 1);
	cr_assert_eq(ma->nb_segs, 2);
	cr_assert_eq(ma->next, mb->next, "one copy for every peer's frame");
	/* the ring rewrites its buffer while the frames are queued: they
	 * keep what was sent, and the next version (same buffer and group,
	 * more hashes) is not taken for the last one */
	randombytes_buf(ring + 32, sizeof(ring) - 32);
	check_sig(ma, &mac_a, &a, sent, 400);
	check_sig(mb, &mac_b, &b, sent, 400);
	mc = send_sig(ring, 600, &a, 0);
	check_sig(mc, &mac_a, &a, ring, 600);
	cr_assert_neq(mc->next, ma->next);
}

Test(dpdk_tx, signature_by_copy)
{
	struct rf_addr a = v4(2, 5000);
	static uint8_t msg[300];
	struct rte_mbuf *m;

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, false), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	randombytes_buf(msg, sizeof(msg));
	m = send_sig(msg, sizeof(msg), &a, 0);
	cr_assert_eq(m->nb_segs, 1);
	check_sig(m, &mac_a, &a, msg, sizeof(msg));
}

Test(dpdk_tx, route_follows_the_neighbour_table_and_the_slot)
{
	struct rf_addr a = v4(2, 5000), c = v4(4, 6000), d = v4(5, 7000);
	uint32_t gen;

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	check_frame(send_data(0, &a, 5), &mac_a, &a);
	/* another peer behind another MAC moves the gateway, and learning
	 * what is known changes nothing: a's route stands */
	gen = fx.tx.neigh_gen;
	rf_dpdk_neigh_learn(&fx.tx, &d, &mac_b, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 2);
	cr_assert_eq(fx.tx.neigh_gen, gen, "no entry moved");
	check_frame(send_data(0, &a, 5), &mac_a, &a);
	/* the peer moved behind another MAC: its cached route must follow */
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_b, 0, 2);
	check_frame(send_data(0, &a, 5), &mac_b, &a);
	/* slot 5 now holds another peer, not yet in the table: the gateway
	 * (the last MAC learned) ... */
	check_frame(send_data(0, &c, 5), &mac_b, &c);
	/* ... until it gets an entry of its own */
	rf_dpdk_neigh_learn(&fx.tx, &c, &mac_a, 0, 3);
	check_frame(send_data(0, &c, 5), &mac_a, &c);
	cr_assert_eq(fx.stats.dpdk_drops[RF_DPDK_DROP_NO_NEIGH], 0);
}

/* A slot's route names its peer by address and port, whatever the
 * family: a new peer in the slot gets its own headers. */
Test(dpdk_tx, route_is_rebuilt_for_a_new_peer_in_the_slot)
{
	struct rf_addr a = v4(2, 5000), a2 = v4(2, 5002), a3 = v4(3, 5002);
	struct rf_addr b = v6(3, 5000), b2 = v6(4, 5000);

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &b, &mac_b, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &b2, &mac_b, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &a3, &mac_b, 0, 1);
	check_frame(send_data(0, &a, 3), &mac_a, &a);
	check_frame(send_data(0, &a2, 3), &mac_a, &a2);  /* same host, another port */
	check_frame(send_data(0, &a3, 3), &mac_b, &a3);  /* same port, another host */
	check_frame(send_data(0, &a2, 3), &mac_a, &a2);
	check_frame(send_data(0, &b, 3), &mac_b, &b);    /* another family */
	check_frame(send_data(0, &b2, 3), &mac_b, &b2);
	/* an IPv6 route keeps the bytes of the last IPv4 headers past its
	 * own fields (the union in struct rf_dpdk_route): a2's address and
	 * port; only the family tells them apart */
	check_frame(send_data(0, &a2, 3), &mac_a, &a2);
}

/* With several queues, each frame leaves on its next hop's. */
Test(dpdk_tx, frames_leave_on_their_next_hops_queue)
{
	struct rf_addr a = v4(2, 5000), b = v4(3, 5000);

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 1, &fx.self, &fx.pools, true), 1);
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 0, 1);
	rf_dpdk_neigh_learn(&fx.tx, &b, &mac_b, 1, 1);
	check_frame(send_data(0, &a, 0), &mac_a, &a);
	check_frame(send_data(1, &b, 1), &mac_b, &b);
	/* a is now reached on the other queue */
	rf_dpdk_neigh_learn(&fx.tx, &a, &mac_a, 1, 2);
	check_frame(send_data(1, &a, 0), &mac_a, &a);
	cr_assert_eq(fx.tx.q[0].n, 1);
	cr_assert_eq(fx.tx.q[1].n, 2);
}

Test(dpdk_tx, no_next_hop_is_a_counted_drop)
{
	struct rf_addr a = v4(2, 5000);
	struct rf_seed_tx t = {
		.kind = RF_SEED_TX_DATA, .dst = &a, .seq = fx.seq, .session = 0,
		.chunk = rf_chunk_store_get(fx.store, fx.seq),
	};

	cr_assert_eq(rf_dpdk_tx_add_queue(&fx.tx, 0, 0, &fx.self, &fx.pools, true), 0);
	rf_dpdk_tx_seed(&fx.tx, &fx.st, &t, 1);
	cr_assert_eq(fx.tx.q[0].n, 0);
	cr_assert_eq(fx.stats.dpdk_drops[RF_DPDK_DROP_NO_NEIGH], 1);
}
