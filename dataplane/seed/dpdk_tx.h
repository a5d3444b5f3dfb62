/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK TX path of the seed: a worker's TX queues, the neighbour table
 * that says which MAC (and port) a peer is reached through, and the
 * builders that turn rf_seed_tx descriptors and control datagrams into
 * Ethernet/IPv4|IPv6/UDP frames.
 *
 * Two ways to send a chunk, chosen per port:
 *   zero-copy: a header mbuf (Ethernet + IP + UDP + the 28-byte DATA
 *              header) chained to one lent mbuf (dpdk_lent.h) that points
 *              into the chunk store and is shared by the frames of every
 *              peer the chunk goes to: its payload is never copied, and
 *              no frame's free touches a shared count. Needs a port that
 *              takes chains.
 *   copy:      one single-segment mbuf per datagram, payload copied in.
 * The UDP checksum is always filled in (IPv6 needs it), from the payload's
 * sum computed once per chunk, not once per peer. Stream data to a session
 * takes the session's route: next hop, queue, header sums and (IPv4) the
 * headers themselves, built from the neighbour table once, not looked up
 * and written field by field per frame.
 *
 * One rf_dpdk_tx belongs to one lcore: nothing here locks. The seed
 * worker (serve_dpdk.c) and the TX benchmark (tools/bench/seed_tx.c) share
 * it, so the benchmark measures the code that serves.
 */
#ifndef RF_DPDK_TX_H
#define RF_DPDK_TX_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "addr.h"
#include "chunk_store.h"
#include "dpdk_stats.h"
#include "msg.h"
#include "seed.h"

#define RF_DPDK_BURST 32
#define RF_DPDK_TXQ_MAX 16   /* (port, queue) pairs one worker owns */
#define RF_DPDK_CSUM_SLOTS 64
/* References on the shared SIGNATURE copy are taken this many at a time:
 * a frame then costs no atomic in the TX path, only the one the PMD's
 * free makes. */
#define RF_SIG_CREDIT 1024

/* The seed's own addresses on one port. */
struct rf_dpdk_self {
	struct rte_ether_addr mac;
	bool has_ip4, has_ip6;
	uint8_t ip4[4];
	uint8_t ip6[16];
	uint16_t udp_port;                 /* host order */
};

/* Mempools of one socket: pkt for RX, copies and control datagrams; hdr
 * for the zero-copy chains' headers, and the pool their lent payload mbufs
 * name (it holds none). */
struct rf_dpdk_pools {
	struct rte_mempool *pkt, *hdr, *lent;
};

enum { RF_DPDK_POOL_PKT, RF_DPDK_POOL_HDR, RF_DPDK_POOLS };

/* Frame headers are written from the queue's template and the peer's
 * route; the checksums are summed from values, never read back from what
 * was just written (that stalls on store forwarding), with the constant
 * parts summed once. */
#define RF_DPDK_L2L3_V4 42         /* Ethernet + IPv4 + UDP */
#define RF_DPDK_L2L3_V6 62         /* Ethernet + IPv6 + UDP */

/* How frames reach one peer, built from the neighbour table once per
 * peer, not once per frame. To an IPv4 peer it is the frame's headers
 * themselves (Ethernet, IPv4, UDP: MAC, addresses, ports, and the lengths
 * and IP checksum of a datagram of plen bytes, a full chunk's DATA), so a
 * frame copies them and adds its UDP checksum. An IPv6 header does not
 * fit in the line: those frames are written from the queue's template and
 * the MAC and address kept here. Good while the peer is the one it names
 * and the table's generation is gen and, for a route through the gateway,
 * the gateway's generation is gw_gen. One cache line: a sweep over 10 000
 * sessions stays in L2. */
struct rf_dpdk_route {
	union {
		uint8_t hdr4[RF_DPDK_L2L3_V4];
		struct {
			struct rte_ether_addr dmac;
			struct rf_addr dst;
		} v6;
	};
	uint16_t plen;                     /* IPv4: the UDP payload hdr4 is for */
	uint8_t family;                    /* of the peer */
	uint8_t q;
	bool via_gw;                       /* no neighbour entry: the gateway */
	uint32_t gen;                      /* 0: never built */
	uint32_t gw_gen;
	uint32_t ip_sum;                   /* IPv4: header words but length, checksum */
	uint32_t udp_sum;                  /* pseudo-header and UDP words but lengths */
} __rte_aligned(RTE_CACHE_LINE_SIZE);

_Static_assert(sizeof(struct rf_dpdk_route) == RTE_CACHE_LINE_SIZE, "a route is one line");

/* One stream as the TX path sees it. Zero-copy needs each payload's IOVA:
 * the store's memzone is mapped page by page (pages need not be
 * IOVA-contiguous); npages == 0 means the store is not in DPDK memory and
 * its payloads are copied. routes holds one per session of the stream's
 * seed on this lcore (rf_seed_tx.session). */
struct rf_dpdk_stream {
	uint64_t stream_id;
	const struct rf_chunk_store *store;
	const uint8_t *va;                 /* the memzone */
	unsigned page_shift;
	unsigned npages;
	rte_iova_t *page_iova;
	uint16_t data_plen;                /* DATA datagram of the store's chunk_max */
	uint32_t nroutes;
	struct rf_dpdk_route *routes;
};

/* Fill st for store and a seed of `sessions` sessions (cold path, on
 * socket). 0, or -ENOMEM when there is no memory for the routes; a store
 * outside DPDK memory is not an error: it is sent by copy. */
int rf_dpdk_stream_map(struct rf_dpdk_stream *st, uint64_t stream_id,
		       const struct rf_chunk_store *store, uint32_t sessions, int socket);
void rf_dpdk_stream_unmap(struct rf_dpdk_stream *st);

struct rf_dpdk_txq {
	uint16_t port, queue;
	bool zerocopy;
	uint16_t n;
	uint64_t bytes;                    /* of buf[0..n) */
	const struct rf_dpdk_self *self;
	struct rf_dpdk_pools pools;
	uint32_t sum4_ip;                  /* IPv4 header's constant words */
	uint32_t sum4_udp, sum6_udp;       /* pseudo-header + UDP constants */
	uint8_t tmpl4[RF_DPDK_L2L3_V4];    /* every frame's headers but the peer's fields */
	uint8_t tmpl6[RF_DPDK_L2L3_V6];
	struct rte_mbuf *buf[RF_DPDK_BURST];
	/* mbufs taken from each pool a burst at a time */
	uint16_t nstash[RF_DPDK_POOLS];
	struct rte_mbuf *stash[RF_DPDK_POOLS][RF_DPDK_BURST];
};

struct rf_dpdk_neigh;

/* An mbuf that every peer's frame chains behind its own headers, and the
 * references on it this lcore has taken and not yet handed out. */
struct rf_dpdk_shared {
	struct rte_mbuf *m;                /* NULL until a zero-copy frame needs it */
	uint16_t credit;
};

/* A recent chunk as every peer's frame shares it: its DATA header with
 * the flags of the last frame built (a chunk's frames mostly share them;
 * repairs differ), the sum of that header and the payload, and (zero-copy)
 * the payload mbuf lent over the chunk in the store. */
struct rf_dpdk_csum {
	const struct rf_chunk *chunk;
	uint64_t seq;
	bool lent;                         /* payload is lent over chunk */
	bool by_copy;                      /* the payload has no IOVA: copies */
	uint8_t flags;                     /* in hdr and sum */
	uint16_t sum0;                     /* with flags 0 */
	uint16_t sum;
	uint8_t hdr[RF_DATA_HDR_LEN];
	struct rte_mbuf payload;
} __rte_aligned(64);

struct rf_dpdk_tx {
	unsigned nq;
	struct rf_dpdk_txq q[RF_DPDK_TXQ_MAX];
	struct rf_dpdk_neigh *neigh;
	uint32_t neigh_mask;
	/* Bumped when an entry's MAC or queue changes or it is evicted; and,
	 * for routes through the gateway, when the gateway changes. Learning
	 * what is known bumps nothing. */
	uint32_t neigh_gen, gw_gen;
	/* Where peers with no entry go: the last validated sender's MAC, on
	 * a routed network the gateway's. */
	bool gw_valid;
	uint8_t gw_q;
	struct rte_ether_addr gw_mac;
	struct rte_mempool *lent_pool;     /* of the payload mbufs below */
	struct rf_lcore_stats *stats;
	/* The SIGNATURE last sent (its ring buffer, group and length tell
	 * its versions apart), its sum and, zero-copy, one copy of it that
	 * every peer's frame shares: the ring rewrites its buffers, so frames
	 * in flight cannot point into it. */
	const uint8_t *sig_msg;
	uint64_t sig_first;
	uint16_t sig_len;
	uint16_t sig_sum;
	bool sig_by_copy;                  /* no mbuf to be had: copies */
	struct rf_dpdk_shared sig;
	struct rf_dpdk_csum csum[RF_DPDK_CSUM_SLOTS];
};

/* Room for about `neighbours` peers, on socket. 0 or -ENOMEM. */
int rf_dpdk_tx_init(struct rf_dpdk_tx *x, uint32_t neighbours, int socket,
		    struct rf_lcore_stats *stats);
void rf_dpdk_tx_free(struct rf_dpdk_tx *x);

/* Add a TX queue; returns its index in x->q, or -ENOSPC. */
int rf_dpdk_tx_add_queue(struct rf_dpdk_tx *x, uint16_t port, uint16_t queue,
			 const struct rf_dpdk_self *self,
			 const struct rf_dpdk_pools *pools, bool zerocopy);

/* Remember that peer a is reached through mac on queue q. */
void rf_dpdk_neigh_learn(struct rf_dpdk_tx *x, const struct rf_addr *a,
			 const struct rte_ether_addr *mac, unsigned q,
			 uint32_t now_s);

/* Queue stream data: DATA and SIGNATURE by reference (or copied). */
void rf_dpdk_tx_seed(struct rf_dpdk_tx *x, const struct rf_dpdk_stream *st,
		     const struct rf_seed_tx *tx, unsigned n);

/* Queue a control datagram (copied). With mac non-NULL it goes there on
 * queue q (a reply to the frame just received); else by the neighbour
 * table. */
void rf_dpdk_tx_dgram(struct rf_dpdk_tx *x, const struct rf_addr *dst,
		      const uint8_t *buf, uint16_t len,
		      const struct rte_ether_addr *mac, unsigned q);

/* Queue a finished frame (an ARP/ND/echo reply) on queue q. */
void rf_dpdk_tx_frame(struct rf_dpdk_tx *x, unsigned q, struct rte_mbuf *m);

/* Hand every queued frame to its PMD: retry a bounded number of times,
 * then free what is left and count it (tx_full). */
void rf_dpdk_tx_flush(struct rf_dpdk_tx *x);

#endif
