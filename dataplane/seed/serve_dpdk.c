/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK backend: every port the EAL probed (any PMD), worker lcores
 * that each own some (port, queue) pairs and run RX -> validate -> seed
 * core -> TX to completion in bursts of 32, and the main lcore on the cold
 * path (streams coming up, bitrates, statistics, drain).
 *
 * Sharding: a port gets one queue pair per worker when it can shard by
 * RSS, so one peer's datagrams always reach the same worker; each worker
 * has its own rf_seed per stream, in memory on its socket, and answers
 * its peers on the queue they came in on. A port with one queue is served
 * by one worker. Nothing in the worker loop locks, allocates or makes a
 * system call; the main lcore publishes a stream's seed to the workers
 * once its store is sized (release/acquire), and its bitrate through a
 * relaxed atomic.
 *
 * The control socket (--control) is served by the main lcore. Counters
 * come from what the workers publish; orders (deny list, other seeds) and
 * session listings go through a mailbox each worker reads in its timers:
 * main writes, then bumps a generation (release), the worker applies and
 * acknowledges (release), and main writes again only once every worker
 * has. Drain is SIGTERM's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "clock.h"
#include "control.h"
#include "dpdk_l2.h"
#include "dpdk_port.h"
#include "dpdk_stats.h"
#include "dpdk_tx.h"
#include "drop.h"
#include "log.h"
#include "serve.h"

#define RF_TIMER_MS 100        /* rf_seed_timers() and stats publication */
#define RF_POLL_MS 100         /* main lcore: stores coming up, bitrates */
#define RF_DRAIN_MS 2000
#define RF_PUMP_US 1000        /* a new pump cycle at most this often */
#define RF_PUMP_ROUNDS 8       /* bursts per stream per loop, then RX again */
#define RF_PREFETCH 3
#define RF_NEIGH_MAX (1u << 20)
#define RF_CTL_SESSIONS 8192   /* sessions a worker lists per request */
#define RF_CTL_WAIT_MS 500     /* main waits this long for the workers */

enum rf_run_state { RF_RUN, RF_DRAIN, RF_STOP };

struct rf_rxq {
	uint16_t port;
	uint16_t queue;
	uint8_t txq;                       /* its TX queue in the worker's rf_dpdk_tx */
};

struct rf_wstream {
	struct rf_seed *seed;              /* NULL until published by main */
	const struct rf_sig_ring *sigs;
	struct rf_dpdk_stream tx;
	void *mem;
	size_t mem_len;
	uint64_t bps;                      /* last given to the seed */
	uint64_t directory_ms;             /* last directory refresh */
	bool more;                         /* the last pump filled its burst */
};

struct rf_dpdk;

/* A session as a worker lists it for the control socket. */
struct rf_ctl_session {
	unsigned stream;
	struct rf_seed_peer_view v;
};

struct rf_worker {
	struct rf_dpdk *d;
	unsigned lcore;
	int socket;
	unsigned nrx;
	struct rf_rxq rx[RF_DPDK_TXQ_MAX];
	bool drained;                      /* release: main waits on it */
	struct rf_lcore_stats *stats;
	struct rf_wstream st[RF_SERVE_STREAMS_MAX];
	struct rf_dpdk_tx tx;
	struct rf_seed_outbox outbox;
	struct rf_seed_tx desc[RF_DPDK_BURST];

	/* the control socket's mailbox (see rf_dpdk) */
	uint32_t ctl_seen;                 /* release: orders of this generation applied */
	uint32_t sess_req, sess_done;      /* main bumps req; done (release) answers it */
	unsigned nsess;
	bool sess_cut;                     /* had more than RF_CTL_SESSIONS */
	struct rf_ctl_session *sess;       /* NULL without --control */
	unsigned nseeds;
	struct rf_candidate seeds[RF_CONTROL_SEEDS];
} __rte_cache_aligned;

struct rf_dpdk {
	const struct rf_serve_config *cfg;
	int state;                         /* enum rf_run_state, written by main */
	unsigned nports;
	struct rf_dpdk_port port[RTE_MAX_ETHPORTS];
	struct rf_dpdk_self self[RTE_MAX_ETHPORTS];
	struct rf_dpdk_pools pools[RTE_MAX_NUMA_NODES];
	unsigned nworkers;
	struct rf_worker *w[RTE_MAX_LCORE];
	uint64_t stream_bps[RF_SERVE_STREAMS_MAX];  /* relaxed atomics */
	bool ready[RF_SERVE_STREAMS_MAX];
	char ids[RF_SERVE_STREAMS_MAX][17];
	uint64_t tsc_per_ms, tsc0, ms0;

	/* orders from the control socket, for every worker's seeds */
	uint32_t ctl_gen;
	unsigned ndeny, nseeds;
	struct rf_seed_deny deny[RF_SEED_DENY_MAX];
	struct rf_candidate seeds[RF_CONTROL_SEEDS];
};

static inline uint64_t rf_tsc_ms(const struct rf_dpdk *d, uint64_t tsc)
{
	return d->ms0 + (tsc - d->tsc0) / d->tsc_per_ms;
}

/* ---- Worker: RX ---- */

static inline bool rf_drop_l(struct rf_worker *w, enum rf_dpdk_drop why)
{
	w->stats->dpdk_drops[why]++;
	return false;
}

/* An L2/ICMP answer built in m (rc 0) goes back out of its queue. */
static bool rf_worker_answer(struct rf_worker *w, const struct rf_rxq *rq,
			     struct rte_mbuf *m, int rc, uint64_t *counter)
{
	if (rc)
		return rf_drop_l(w, rc == -ENOENT ? RF_DPDK_DROP_NOT_OURS : RF_DPDK_DROP_BAD_L3);
	(*counter)++;
	rf_dpdk_tx_frame(&w->tx, rq->txq, m);
	return true;
}

/* One RawFlow datagram from src: fast reject, route, the core, replies. */
static void rf_worker_datagram(struct rf_worker *w, const struct rf_rxq *rq,
			       const struct rte_ether_addr *smac,
			       const struct rf_addr *src, const uint8_t *p,
			       uint16_t len, uint64_t now)
{
	enum rf_drop r = rf_wire_check(p, p + len);
	struct rf_seed *seed;
	int s;

	if (unlikely(r != RF_DROP_NONE)) {
		w->stats->drops[r]++;
		return;
	}
	s = rf_serve_route(w->d->cfg, p, len);
	if (unlikely(s < 0)) {
		w->stats->drops[RF_DROP_UNKNOWN_STREAM]++;
		return;
	}
	seed = __atomic_load_n(&w->st[s].seed, __ATOMIC_ACQUIRE);
	if (unlikely(!seed)) {
		w->stats->dpdk_drops[RF_DPDK_DROP_NOT_READY]++;
		return;
	}
	w->outbox.count = 0;
	r = rf_seed_input(seed, now, src, p, len, &w->outbox);
	/* learn the MAC of validated peers only: a HELLO can come from any
	 * spoofed address, a JOIN or a session's datagram cannot */
	if (r == RF_DROP_NONE && p[RF_OFF_TYPE] != RF_MSG_HELLO)
		rf_dpdk_neigh_learn(&w->tx, src, smac, rq->txq, (uint32_t)(now / 1000));
	for (unsigned i = 0; i < w->outbox.count; i++) {
		const struct rf_seed_out *o = &w->outbox.out[i];
		bool reply = rf_addr_equal(&o->dst, src);

		rf_dpdk_tx_dgram(&w->tx, &o->dst, o->buf, o->len, reply ? smac : NULL, rq->txq);
	}
}

static inline bool rf_udp_sum_ok(uint32_t phdr, const struct rte_udp_hdr *udp, uint16_t len)
{
	uint32_t sum = phdr + rte_raw_cksum(udp, len);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/*
 * Parse one frame: IPv4/IPv6 + UDP to the seed's port goes to the core;
 * ARP, neighbour solicitations and echo requests are answered; the rest is
 * counted and dropped. Returns true when m was reused for an answer.
 */
static bool rf_worker_rx_one(struct rf_worker *w, const struct rf_rxq *rq,
			     struct rte_mbuf *m, uint64_t now)
{
	const struct rf_dpdk_self *self = &w->d->self[rq->port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint16_t flen = m->data_len, ulen;
	/* the NIC checked the UDP checksum, or (IPv4) there is none */
	bool l4_ok = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	struct rte_udp_hdr *udp;
	struct rf_addr src;
	uint32_t phdr;

	if (unlikely(m->nb_segs != 1 || flen < sizeof(*eth)))
		return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
	flen = (uint16_t)(flen - sizeof(*eth));
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_IPV4): {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		unsigned hl, total;

		if (unlikely(flen < sizeof(*ip)))
			return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
		hl = rte_ipv4_hdr_len(ip);
		total = rte_be_to_cpu_16(ip->total_length);
		if (unlikely((ip->version_ihl >> 4) != 4 || hl < sizeof(*ip) || total < hl ||
			     total > flen || rte_raw_cksum(ip, hl) != 0xffff))
			return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
		if (unlikely(!self->has_ip4 || memcmp(&ip->dst_addr, self->ip4, 4) != 0))
			return rf_drop_l(w, RF_DPDK_DROP_NOT_OURS);
		/* a v1 datagram fits one frame: the seed never reassembles */
		if (unlikely(ip->fragment_offset &
			     RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
			return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
		if (ip->next_proto_id == IPPROTO_ICMP)
			return rf_worker_answer(w, rq, m, rf_dpdk_answer_icmp4(m, ip, self),
						&w->stats->echo);
		if (unlikely(ip->next_proto_id != IPPROTO_UDP))
			return rf_drop_l(w, RF_DPDK_DROP_NOT_OURS);
		udp = (struct rte_udp_hdr *)((uint8_t *)ip + hl);
		ulen = (uint16_t)(total - hl);
		phdr = rte_ipv4_phdr_cksum(ip, 0);
		l4_ok |= udp->dgram_cksum == 0;
		memset(&src, 0, sizeof(src));
		src.family = RF_AF_INET;
		memcpy(src.ip, &ip->src_addr, 4);
		break;
	}
	case RTE_BE16(RTE_ETHER_TYPE_IPV6): {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		if (unlikely(flen < sizeof(*ip) ||
			     (rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 ||
			     rte_be_to_cpu_16(ip->payload_len) > flen - sizeof(*ip)))
			return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
		if (ip->proto == IPPROTO_ICMPV6) {
			bool na;
			int rc = rf_dpdk_answer_icmp6(m, ip, self);

			na = rc == 0 && ((uint8_t *)(ip + 1))[0] == 136;
			return rf_worker_answer(w, rq, m, rc, na ? &w->stats->nd : &w->stats->echo);
		}
		/* extension headers are not for us: a v1 peer never sends them */
		if (unlikely(ip->proto != IPPROTO_UDP || !self->has_ip6 ||
			     memcmp(ip->dst_addr, self->ip6, 16) != 0))
			return rf_drop_l(w, RF_DPDK_DROP_NOT_OURS);
		udp = (struct rte_udp_hdr *)(ip + 1);
		ulen = rte_be_to_cpu_16(ip->payload_len);
		phdr = rte_ipv6_phdr_cksum(ip, 0);
		memset(&src, 0, sizeof(src));
		src.family = RF_AF_INET6;
		memcpy(src.ip, ip->src_addr, 16);
		break;
	}
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		return rf_worker_answer(w, rq, m, rf_dpdk_answer_arp(m, self), &w->stats->arp);
	default:
		w->stats->drops[RF_DROP_NOT_IPV4_OR_6]++;
		return false;
	}
	if (unlikely(ulen < sizeof(*udp) || rte_be_to_cpu_16(udp->dgram_len) != ulen))
		return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
	if (unlikely(udp->dst_port != rte_cpu_to_be_16(self->udp_port)))
		return rf_drop_l(w, RF_DPDK_DROP_NOT_OURS);
	if (!l4_ok && unlikely(!rf_udp_sum_ok(phdr, udp, ulen)))
		return rf_drop_l(w, RF_DPDK_DROP_BAD_L3);
	src.port = rte_be_to_cpu_16(udp->src_port);
	rf_worker_datagram(w, rq, &eth->src_addr, &src, (const uint8_t *)(udp + 1),
			   (uint16_t)(ulen - sizeof(*udp)), now);
	return false;
}

static void rf_worker_rx(struct rf_worker *w, const struct rf_rxq *rq, uint64_t now)
{
	struct rte_mbuf *pkts[RF_DPDK_BURST], *done[RF_DPDK_BURST];
	uint16_t n = rte_eth_rx_burst(rq->port, rq->queue, pkts, RF_DPDK_BURST);
	unsigned ndone = 0;

	if (likely(n == 0))
		return;
	w->stats->rx_packets += n;
	for (unsigned i = 0; i < n && i < RF_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (unsigned i = 0; i < n; i++) {
		if (i + RF_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + RF_PREFETCH], void *));
		w->stats->rx_bytes += pkts[i]->pkt_len;
		if (!rf_worker_rx_one(w, rq, pkts[i], now))
			done[ndone++] = pkts[i];
	}
	rte_pktmbuf_free_bulk(done, ndone);
}

/* ---- Worker: TX, timers, drain ---- */

/*
 * The core leaves pacing to the driver: each pump cycle gives a session
 * that is catching up a few chunks (catchup_per_pump), so cycles start
 * once per RF_PUMP_US, as the kernel backend's poll loop does; a cycle
 * goes on while the core fills bursts (a chunk fanned out to many peers),
 * yielding to RX every few bursts.
 */
static void rf_worker_pump(struct rf_worker *w, struct rf_wstream *ws, uint64_t now)
{
	struct rf_seed *seed = __atomic_load_n(&ws->seed, __ATOMIC_ACQUIRE);
	unsigned n, rounds = 0;

	if (!seed)
		return;
	do {
		n = rf_seed_pump(seed, now, ws->tx.store, ws->sigs, w->desc, RF_DPDK_BURST);
		rf_dpdk_tx_seed(&w->tx, &ws->tx, w->desc, n);
	} while (n == RF_DPDK_BURST && ++rounds < RF_PUMP_ROUNDS);
	ws->more = n == RF_DPDK_BURST;
}

static void rf_worker_send_outbox(struct rf_worker *w)
{
	for (unsigned i = 0; i < w->outbox.count; i++) {
		const struct rf_seed_out *o = &w->outbox.out[i];

		rf_dpdk_tx_dgram(&w->tx, &o->dst, o->buf, o->len, NULL, 0);
	}
	w->outbox.count = 0;
}

/* The control socket's mailbox: new orders (deny list, other seeds), a
 * request for the session list. */
static void rf_worker_control(struct rf_worker *w)
{
	struct rf_dpdk *d = w->d;
	uint32_t gen = __atomic_load_n(&d->ctl_gen, __ATOMIC_ACQUIRE);
	uint32_t req = __atomic_load_n(&w->sess_req, __ATOMIC_ACQUIRE);

	if (gen != w->ctl_seen) {
		for (unsigned s = 0; s < d->cfg->nstreams; s++) {
			struct rf_seed *seed = __atomic_load_n(&w->st[s].seed, __ATOMIC_ACQUIRE);

			if (seed)
				rf_seed_set_deny(seed, d->deny, d->ndeny);
			w->st[s].directory_ms = 0; /* offer the other seeds now */
		}
		memcpy(w->seeds, d->seeds, d->nseeds * sizeof(*w->seeds));
		w->nseeds = d->nseeds;
		__atomic_store_n(&w->ctl_seen, gen, __ATOMIC_RELEASE);
	}
	if (req != w->sess_done && w->sess) {
		struct rf_seed_peer_view v[64];

		w->nsess = 0;
		w->sess_cut = false;
		for (unsigned s = 0; s < d->cfg->nstreams; s++) {
			struct rf_seed *seed = __atomic_load_n(&w->st[s].seed, __ATOMIC_ACQUIRE);
			uint32_t cursor = 0;
			unsigned n;

			while (seed && (n = rf_seed_sessions(seed, &cursor, v, 64)) > 0) {
				for (unsigned i = 0; i < n && w->nsess < RF_CTL_SESSIONS; i++)
					w->sess[w->nsess++] = (struct rf_ctl_session){ s, v[i] };
				w->sess_cut |= w->nsess == RF_CTL_SESSIONS;
			}
		}
		__atomic_store_n(&w->sess_done, req, __ATOMIC_RELEASE);
	}
}

static void rf_worker_timers(struct rf_worker *w, uint64_t now)
{
	rf_worker_control(w);
	for (unsigned s = 0; s < w->d->cfg->nstreams; s++) {
		struct rf_wstream *ws = &w->st[s];
		struct rf_seed *seed = __atomic_load_n(&ws->seed, __ATOMIC_ACQUIRE);
		uint64_t bps = __atomic_load_n(&w->d->stream_bps[s], __ATOMIC_RELAXED);

		if (!seed)
			continue;
		if (bps && bps != ws->bps) {
			rf_seed_set_stream_bps(seed, bps);
			ws->bps = bps;
		}
		/* once a second: offer this worker's peers with spare upload */
		if (bps && now - ws->directory_ms >= 1000) {
			rf_seed_directory_refresh(seed, bps, w->d->cfg->substreams, w->seeds,
						  w->nseeds);
			ws->directory_ms = now;
		}
		for (bool full = true; full;) {
			w->outbox.count = 0;
			rf_seed_timers(seed, now, &w->outbox);
			full = w->outbox.count == RF_SEED_OUT_MAX;
			rf_worker_send_outbox(w);
		}
		w->stats->seed[s] = *rf_seed_stats(seed);
	}
}

/* One drain step: a batch of REDIRECTs per seed until none is left. */
static void rf_worker_drain(struct rf_worker *w, uint64_t now)
{
	unsigned left = 0;

	for (unsigned s = 0; s < w->d->cfg->nstreams; s++) {
		struct rf_seed *seed = __atomic_load_n(&w->st[s].seed, __ATOMIC_ACQUIRE);

		if (!seed)
			continue;
		w->outbox.count = 0;
		left += rf_seed_drain(seed, now, &w->outbox);
		rf_worker_send_outbox(w);
		w->stats->seed[s] = *rf_seed_stats(seed);
	}
	if (!left)
		__atomic_store_n(&w->drained, true, __ATOMIC_RELEASE);
}

static int rf_worker_main(void *arg)
{
	struct rf_worker *w = arg;
	struct rf_dpdk *d = w->d;
	uint64_t timer_tsc = d->tsc_per_ms * RF_TIMER_MS, next_timer = 0;
	uint64_t pump_tsc = d->tsc_per_ms * RF_PUMP_US / 1000, next_pump = 0;
	unsigned nstreams = d->cfg->nstreams;
	int state;

	while ((state = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE)) != RF_STOP) {
		uint64_t tsc = rte_rdtsc();
		uint64_t now = rf_tsc_ms(d, tsc);
		bool cycle = tsc >= next_pump;

		for (unsigned i = 0; i < w->nrx; i++)
			rf_worker_rx(w, &w->rx[i], now);
		if (cycle)
			next_pump = tsc + pump_tsc;
		for (unsigned s = 0; s < nstreams; s++)
			if (cycle || w->st[s].more)
				rf_worker_pump(w, &w->st[s], now);
		if (unlikely(state == RF_DRAIN) && !w->drained)
			rf_worker_drain(w, now);
		if (unlikely(tsc >= next_timer)) {
			rf_worker_timers(w, now);
			next_timer = tsc + timer_tsc;
		}
		rf_dpdk_tx_flush(&w->tx);
	}
	/* the last word for the final statistics */
	for (unsigned s = 0; s < nstreams; s++)
		if (w->st[s].seed)
			w->stats->seed[s] = *rf_seed_stats(w->st[s].seed);
	return 0;
}

/* ---- Main lcore: setup ---- */

static int rf_dpdk_addresses(struct rf_dpdk *d)
{
	const struct rf_serve_config *cfg = d->cfg;
	struct rf_dpdk_self self = { .udp_port = cfg->port };

	if (cfg->port_ip4) {
		if (inet_pton(AF_INET, cfg->port_ip4, self.ip4) != 1) {
			rf_err("dpdk backend: '%s' is not an IPv4 address", cfg->port_ip4);
			return -EINVAL;
		}
		self.has_ip4 = true;
	}
	if (cfg->port_ip6) {
		if (inet_pton(AF_INET6, cfg->port_ip6, self.ip6) != 1) {
			rf_err("dpdk backend: '%s' is not an IPv6 address", cfg->port_ip6);
			return -EINVAL;
		}
		self.has_ip6 = true;
	}
	if (!self.has_ip4 && !self.has_ip6) {
		rf_err("dpdk backend: the seed needs its own address on the ports (--port-ip)");
		return -EINVAL;
	}
	for (unsigned i = 0; i < d->nports; i++) {
		d->self[d->port[i].id] = self;
		d->self[d->port[i].id].mac = d->port[i].mac;
	}
	return 0;
}

/* Probe the ports, size and create the pools, start the ports. */
static int rf_dpdk_ports(struct rf_dpdk *d, unsigned want_queues)
{
	unsigned queues[RTE_MAX_NUMA_NODES] = { 0 };
	bool chains[RTE_MAX_NUMA_NODES] = { false };
	uint16_t id;
	int rc;

	RTE_ETH_FOREACH_DEV(id) {
		struct rf_dpdk_port *p = &d->port[d->nports];

		rc = rf_dpdk_port_probe(id, want_queues, RF_DPDK_TX_AUTO, p);
		if (rc) {
			rf_err("port %u: %s", id, rte_strerror(-rc));
			return rc;
		}
		queues[p->socket] += p->nb_queues;
		chains[p->socket] |= p->zerocopy;
		d->nports++;
	}
	if (d->nports == 0) {
		rf_err("dpdk backend: the EAL found no port; pass one after --, e.g. "
		       "--vdev net_af_xdp0,iface=eth0,start_queue=0,queue_count=1");
		return -ENODEV;
	}
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (!queues[s])
			continue;
		rc = rf_dpdk_pools_create(s, queues[s], chains[s], &d->pools[s]);
		if (rc)
			return rc;
	}
	rc = rf_dpdk_addresses(d);
	if (rc)
		return rc;
	for (unsigned i = 0; i < d->nports; i++) {
		struct rf_dpdk_port *p = &d->port[i];
		const struct rf_dpdk_self *self = &d->self[p->id];

		rc = rf_dpdk_port_start(p, d->pools[p->socket].pkt, self->has_ip6 ? self->ip6 : NULL);
		if (rc)
			return rc;
	}
	return 0;
}

static struct rf_worker *rf_worker_new(struct rf_dpdk *d, unsigned lcore)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct rf_worker *w = rte_zmalloc_socket("rf_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
						 socket);

	if (!w)
		return NULL;
	w->d = d;
	w->lcore = lcore;
	w->socket = socket;
	w->stats = &rf_lcore_stats[lcore];
	memset(w->stats, 0, sizeof(*w->stats));
	return w;
}

/* Give the (port, queue) pairs to the workers in turn; workers left
 * without a queue are not used. */
static int rf_dpdk_workers(struct rf_dpdk *d, const unsigned *lcores, unsigned nlcores)
{
	unsigned pair = 0;

	for (unsigned i = 0; i < d->nports; i++) {
		for (uint16_t q = 0; q < d->port[i].nb_queues; q++, pair++) {
			unsigned k = pair % nlcores;
			const struct rf_dpdk_port *p = &d->port[i];
			struct rf_worker *w = d->w[k];

			if (!w) {
				w = d->w[k] = rf_worker_new(d, lcores[k]);
				if (!w)
					return -ENOMEM;
				d->nworkers++;
			}
			if (w->nrx == RF_DPDK_TXQ_MAX) {
				rf_err("dpdk backend: more than %d queues for lcore %u", RF_DPDK_TXQ_MAX,
				       w->lcore);
				return -ENOSPC;
			}
			w->rx[w->nrx++] = (struct rf_rxq){ .port = p->id, .queue = q };
		}
	}
	return 0;
}

/* Per worker: its TX queues, neighbour table and seed memory. */
static int rf_worker_setup(struct rf_dpdk *d, struct rf_worker *w)
{
	const struct rf_serve_config *cfg = d->cfg;
	uint32_t per_worker = (cfg->max_sessions + d->nworkers - 1) / d->nworkers;
	uint64_t neigh = RTE_MIN((uint64_t)per_worker * cfg->nstreams, (uint64_t)RF_NEIGH_MAX);
	int rc = rf_dpdk_tx_init(&w->tx, (uint32_t)neigh, w->socket, w->stats);

	if (rc)
		return rc;
	for (unsigned i = 0; i < w->nrx; i++) {
		const struct rf_rxq *rq = &w->rx[i];
		const struct rf_dpdk_port *p = NULL;

		for (unsigned j = 0; j < d->nports; j++)
			if (d->port[j].id == rq->port)
				p = &d->port[j];
		rc = rf_dpdk_tx_add_queue(&w->tx, rq->port, rq->queue, &d->self[rq->port],
					  &d->pools[p->socket], p->zerocopy);
		if (rc < 0)
			return rc;
		w->rx[i].txq = (uint8_t)rc;
	}
	for (unsigned s = 0; s < cfg->nstreams; s++) {
		struct rf_seed_params p;

		rf_serve_seed_params(cfg, s, 0, &p);
		w->st[s].mem_len = rf_seed_mem_size(per_worker, p.substreams);
		w->st[s].mem = rte_zmalloc_socket("rf_seed", w->st[s].mem_len, RTE_CACHE_LINE_SIZE,
						  w->socket);
		if (!w->st[s].mem) {
			rf_err("dpdk backend: no %zu bytes of hugepage memory for stream %s on socket %d",
			       w->st[s].mem_len, d->ids[s], w->socket);
			return -ENOMEM;
		}
	}
	if (cfg->control_path) {
		w->sess = rte_zmalloc_socket("rf_ctl_sessions", RF_CTL_SESSIONS * sizeof(*w->sess),
					     RTE_CACHE_LINE_SIZE, w->socket);
		if (!w->sess)
			return -ENOMEM;
	}
	w->stats->queues = (uint16_t)w->nrx;
	w->stats->active = true;
	return 0;
}

static void rf_worker_free(struct rf_worker *w)
{
	for (unsigned s = 0; s < RF_SERVE_STREAMS_MAX; s++) {
		rf_dpdk_stream_unmap(&w->st[s].tx);
		rte_free(w->st[s].mem);
	}
	rf_dpdk_tx_free(&w->tx);
	rte_free(w->sess);
	rte_free(w);
}

/* ---- Main lcore: streams, statistics, drain ---- */

/* A stream whose store is sized gets a seed on every worker. */
static void rf_dpdk_stream_up(struct rf_dpdk *d, unsigned s, const struct rf_chunk_store *store,
			      const struct rf_sig_ring *sigs, uint64_t bps)
{
	const struct rf_serve_config *cfg = d->cfg;
	struct rf_seed_params p;
	bool zerocopy = false;

	rf_serve_seed_params(cfg, s, bps, &p);
	p.max_sessions = (cfg->max_sessions + d->nworkers - 1) / d->nworkers;
	p.max_egress_bps /= d->nworkers;
	/* every worker's memory first: a stream is served by all or none */
	for (unsigned k = 0; k < d->nworkers; k++)
		if (rf_dpdk_stream_map(&d->w[k]->st[s].tx, p.stream_id, store, p.max_sessions,
				       d->w[k]->socket)) {
			rf_err("stream %s: cannot start serving: no memory for %u routes",
			       d->ids[s], p.max_sessions);
			while (k-- > 0)
				rf_dpdk_stream_unmap(&d->w[k]->st[s].tx);
			return;
		}
	for (unsigned k = 0; k < d->nworkers; k++) {
		struct rf_worker *w = d->w[k];
		struct rf_wstream *ws = &w->st[s];
		struct rf_seed *seed;
		const char *err = "?";

		seed = rf_seed_init(ws->mem, ws->mem_len, &p, &err);
		if (!seed) { /* bad parameters: the same on every worker, so on the first */
			rf_err("stream %s: cannot start serving: %s", d->ids[s], err);
			for (unsigned j = k; j < d->nworkers; j++)
				rf_dpdk_stream_unmap(&d->w[j]->st[s].tx);
			return;
		}
		zerocopy = ws->tx.npages > 0;
		rf_seed_set_store(seed, store);
		rf_seed_set_deny(seed, d->deny, d->ndeny); /* main's until published */
		ws->sigs = sigs;
		ws->bps = bps;
		__atomic_store_n(&ws->seed, seed, __ATOMIC_RELEASE);
	}
	rf_info("stream %s: serving on %u worker(s), %.2f Mbit/s, store %s", d->ids[s],
		d->nworkers, bps / 1e6,
		zerocopy ? "in a memzone (zero-copy on ports that take chains)"
			 : "outside DPDK memory (payloads copied)");
}

static void rf_dpdk_poll_streams(struct rf_dpdk *d)
{
	for (unsigned s = 0; s < d->cfg->nstreams; s++) {
		struct rf_ingest *in = d->cfg->streams[s].ingest;
		struct rf_ingest_stats is;

		rf_ingest_stats(in, &is);
		__atomic_store_n(&d->stream_bps[s], is.bitrate_bps, __ATOMIC_RELAXED);
		if (!d->ready[s] && rf_ingest_store(in)) {
			d->ready[s] = true;
			rf_dpdk_stream_up(d, s, rf_ingest_store(in), rf_ingest_sigs(in),
					  is.bitrate_bps);
		}
	}
}

static void rf_dpdk_print_stats(const struct rf_dpdk *d, struct rf_lcore_stats *last,
				double secs)
{
	uint64_t sessions[RF_SERVE_STREAMS_MAX], drops = 0;
	struct rf_lcore_stats l;
	struct rf_seed_stats s;
	char why[256] = "";
	size_t at = 0;

	rf_dpdk_stats_sum(&l, &s, sessions);
	for (unsigned i = 0; i < d->cfg->nstreams; i++) {
		uint64_t joins = 0, redirects = 0, repairs = 0;

		for (unsigned k = 0; k < d->nworkers; k++) {
			const struct rf_seed_stats *ws = &d->w[k]->stats->seed[i];

			joins += ws->joins;
			redirects += ws->redirects;
			repairs += ws->repairs_sent;
		}
		fprintf(stderr, "  %s serve: sessions %-6llu joins %-6llu repairs %-6llu redirects %-4llu\n",
			d->ids[i], (unsigned long long)sessions[i], (unsigned long long)joins,
			(unsigned long long)repairs, (unsigned long long)redirects);
	}
	for (int r = RF_DROP_NONE + 1; r < RF_DROP_MAX; r++) {
		uint64_t n = l.drops[r] + s.drops[r];

		drops += n;
		if (n && at < sizeof(why))
			at += (size_t)snprintf(why + at, sizeof(why) - at, " %s %llu", rf_drop_name(r),
					       (unsigned long long)n);
	}
	for (int r = 0; r < RF_DPDK_DROP_MAX; r++) {
		drops += l.dpdk_drops[r];
		if (l.dpdk_drops[r] && at < sizeof(why))
			at += (size_t)snprintf(why + at, sizeof(why) - at, " %s %llu",
					       rf_dpdk_drop_name(r),
					       (unsigned long long)l.dpdk_drops[r]);
	}
	fprintf(stderr, "  dpdk: rx %.0f pps  tx %.0f pps %.1f Mbit/s  drops %llu%s\n",
		secs > 0 ? (l.rx_packets - last->rx_packets) / secs : 0,
		secs > 0 ? (l.tx_packets - last->tx_packets) / secs : 0,
		secs > 0 ? (l.tx_bytes - last->tx_bytes) * 8 / secs / 1e6 : 0,
		(unsigned long long)drops, why);
	*last = l;
}

/* SIGTERM: every worker redirects its peers; then the workers stop. */
static void rf_dpdk_drain(struct rf_dpdk *d)
{
	uint64_t until = rf_now_ms() + RF_DRAIN_MS;
	unsigned left;

	rf_info("draining: redirecting peers to other sources");
	__atomic_store_n(&d->state, RF_DRAIN, __ATOMIC_RELEASE);
	do {
		left = 0;
		for (unsigned k = 0; k < d->nworkers; k++)
			left += !__atomic_load_n(&d->w[k]->drained, __ATOMIC_ACQUIRE);
		if (left)
			rte_delay_us_sleep(1000);
	} while (left && rf_now_ms() < until);
	__atomic_store_n(&d->state, RF_STOP, __ATOMIC_RELEASE);
	for (unsigned k = 0; k < d->nworkers; k++)
		rte_eal_wait_lcore(d->w[k]->lcore);
	rf_info("drained%s", left ? " (time limit: some sessions were not told)" : "");
}

/* ---- Main lcore: the control socket ---- */

/* Every worker has acknowledged main's last orders (sessions: answered
 * its last request); false after RF_CTL_WAIT_MS. */
static bool rf_dpdk_workers_caught_up(struct rf_dpdk *d, bool sessions)
{
	uint64_t until = rf_now_ms() + RF_CTL_WAIT_MS;

	for (;;) {
		unsigned behind = 0;

		for (unsigned k = 0; k < d->nworkers; k++) {
			const struct rf_worker *w = d->w[k];

			behind += sessions ? __atomic_load_n(&w->sess_done, __ATOMIC_ACQUIRE) != w->sess_req
					   : __atomic_load_n(&w->ctl_seen, __ATOMIC_ACQUIRE) != d->ctl_gen;
		}
		if (!behind)
			return true;
		if (rf_now_ms() >= until)
			return false;
		rte_delay_us_sleep(1000);
	}
}

/* Publish the orders main has just written; true once every worker has
 * applied them. */
static bool rf_dpdk_ctl_publish(struct rf_dpdk *d)
{
	__atomic_store_n(&d->ctl_gen, d->ctl_gen + 1, __ATOMIC_RELEASE);
	return rf_dpdk_workers_caught_up(d, false);
}

/* The workers' own counters (before any stream: ARP, ND, echo, frames the
 * wire check refused), then each stream's seed-core counters. */
static void rf_dpdk_ctl_stats(void *ctx, FILE *out)
{
	const struct rf_dpdk *d = ctx;
	uint64_t sessions[RF_SERVE_STREAMS_MAX];
	struct rf_lcore_stats l;
	struct rf_seed_stats s;

	rf_dpdk_stats_sum(&l, &s, sessions);
	fprintf(out, "{\"backend\": \"dpdk\", \"workers\": %u, \"rx_packets\": %llu, "
		"\"tx_packets\": %llu, \"arp_answered\": %llu, \"nd_answered\": %llu, "
		"\"echo_answered\": %llu, \"drops\": {",
		d->nworkers, (unsigned long long)l.rx_packets, (unsigned long long)l.tx_packets,
		(unsigned long long)l.arp, (unsigned long long)l.nd, (unsigned long long)l.echo);
	for (int r = RF_DROP_NONE + 1; r < RF_DROP_MAX; r++)
		fprintf(out, "%s\"%s\": %llu", r > 1 ? ", " : "", rf_drop_name(r),
			(unsigned long long)l.drops[r]);
	for (int r = 0; r < RF_DPDK_DROP_MAX; r++)
		fprintf(out, ", \"%s\": %llu", rf_dpdk_drop_name(r),
			(unsigned long long)l.dpdk_drops[r]);
	fprintf(out, "}, \"lcores\": ");
	rf_dpdk_lcores_json(out);
	fprintf(out, ", \"streams\": [");
	for (unsigned i = 0; i < d->cfg->nstreams; i++) {
		rf_dpdk_stream_sum(i, &s);
		rf_control_stream_json(out, i == 0, d->ids[i], &s);
	}
	fprintf(out, "]}\n");
}

static void rf_dpdk_ctl_sessions(void *ctx, FILE *out)
{
	struct rf_dpdk *d = ctx;
	bool first = true, cut = false;

	for (unsigned k = 0; k < d->nworkers; k++)
		__atomic_store_n(&d->w[k]->sess_req, d->w[k]->sess_req + 1, __ATOMIC_RELEASE);
	if (!rf_dpdk_workers_caught_up(d, true)) {
		fprintf(out, "{\"error\": \"the workers did not answer in time\"}\n");
		return;
	}
	fprintf(out, "{\"sessions\": [");
	for (unsigned k = 0; k < d->nworkers; k++) {
		const struct rf_worker *w = d->w[k];

		for (unsigned j = 0; j < w->nsess; j++, first = false)
			rf_control_session_json(out, first, d->ids[w->sess[j].stream], &w->sess[j].v);
		cut |= w->sess_cut;
	}
	fprintf(out, "\n], \"truncated\": %s}\n", cut ? "true" : "false");
}

static int rf_dpdk_ctl_deny(void *ctx, const struct rf_seed_deny *list, unsigned n)
{
	struct rf_dpdk *d = ctx;

	if (!rf_dpdk_workers_caught_up(d, false))
		return -EBUSY;
	memcpy(d->deny, list, n * sizeof(*list));
	d->ndeny = n;
	return rf_dpdk_ctl_publish(d) ? 0 : -EBUSY;
}

static void rf_dpdk_ctl_seeds(void *ctx, const struct rf_candidate *list, unsigned n)
{
	struct rf_dpdk *d = ctx;

	if (!rf_dpdk_workers_caught_up(d, false)) {
		rf_warn("control: the workers are busy; other seeds not changed");
		return;
	}
	memcpy(d->seeds, list, n * sizeof(*list));
	d->nseeds = n;
	rf_dpdk_ctl_publish(d);
}

static void rf_dpdk_ctl_drain(void *ctx)
{
	const struct rf_dpdk *d = ctx;

	*d->cfg->quit = 1; /* the main loop drains on its way out */
}

static void rf_dpdk_run(struct rf_dpdk *d)
{
	const struct rf_serve_config *cfg = d->cfg;
	const struct rf_control_ops ctl = { .ctx = d, .stats = rf_dpdk_ctl_stats,
					    .sessions = rf_dpdk_ctl_sessions,
					    .deny = rf_dpdk_ctl_deny, .seeds = rf_dpdk_ctl_seeds,
					    .drain = rf_dpdk_ctl_drain };
	struct rf_lcore_stats last = { 0 };
	uint64_t now = rf_now_ms(), next_poll = 0, last_stats = now;
	uint64_t interval = (uint64_t)(cfg->stats_interval_s * 1000);
	int ctl_fd = cfg->control_path ? rf_control_open(cfg->control_path) : -1;

	while (!*cfg->quit) {
		rte_delay_us_sleep(10 * 1000);
		rf_control_poll(ctl_fd, &ctl);
		now = rf_now_ms();
		if (now >= next_poll) {
			rf_dpdk_poll_streams(d);
			next_poll = now + RF_POLL_MS;
		}
		if (interval && now - last_stats >= interval) {
			rf_dpdk_print_stats(d, &last, (now - last_stats) / 1e3);
			last_stats = now;
		}
	}
	rf_dpdk_drain(d);
	rf_control_close(ctl_fd, cfg->control_path);
	rf_dpdk_print_stats(d, &last, (rf_now_ms() - last_stats) / 1e3);
}

int rf_serve_dpdk(const struct rf_serve_config *cfg)
{
	unsigned lcores[RTE_MAX_LCORE], nlcores = 0, lc;
	struct timespec ts;
	struct rf_dpdk *d;
	int rc;

	d = rte_zmalloc("rf_dpdk", sizeof(*d), RTE_CACHE_LINE_SIZE);
	if (!d)
		return -ENOMEM;
	d->cfg = cfg;
	for (unsigned s = 0; s < cfg->nstreams; s++)
		memcpy(d->ids[s], cfg->streams[s].key->id_hex, sizeof(d->ids[s]));
	RTE_LCORE_FOREACH_WORKER(lc)
		if (!cfg->workers || nlcores < cfg->workers)
			lcores[nlcores++] = lc;
	if (nlcores == 0) {
		rf_err("dpdk backend: no worker lcore; give the EAL at least two (e.g. -l 0,1)");
		rc = -EINVAL;
		goto free_d;
	}
	rc = rf_dpdk_ports(d, nlcores);
	if (!rc)
		rc = rf_dpdk_workers(d, lcores, nlcores);
	for (unsigned k = 0; rc == 0 && k < d->nworkers; k++)
		rc = rf_worker_setup(d, d->w[k]);
	if (rc)
		goto stop;
	rf_dpdk_telemetry_register(d->ids, cfg->nstreams);

	/* the core wants unix time (cookies and tokens carry it); the TSC
	 * carries it on without a system call */
	clock_gettime(CLOCK_REALTIME, &ts);
	d->tsc_per_ms = rte_get_tsc_hz() / 1000;
	d->tsc0 = rte_rdtsc();
	d->ms0 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (unsigned k = 0; k < d->nworkers; k++) {
		struct rf_worker *w = d->w[k];

		rf_info("worker lcore %u (socket %d): %u queue(s), first port %u queue %u",
			w->lcore, w->socket, w->nrx, w->rx[0].port, w->rx[0].queue);
		rc = rte_eal_remote_launch(rf_worker_main, w, w->lcore);
		if (rc) {
			rf_err("dpdk backend: cannot launch lcore %u: %s", w->lcore, rte_strerror(-rc));
			__atomic_store_n(&d->state, RF_STOP, __ATOMIC_RELEASE);
			rte_eal_mp_wait_lcore();
			goto stop;
		}
	}
	rf_info("dpdk backend: serving %u stream(s) on UDP port %u, %u port(s), %u worker(s)",
		cfg->nstreams, cfg->port, d->nports, d->nworkers);
	rf_dpdk_run(d);
	rc = 0;

stop:
	/* ports first: stopping them frees the frames still in their rings,
	 * whose payload mbufs are lent from the workers' TX state */
	for (unsigned i = 0; i < d->nports; i++)
		rf_dpdk_port_stop(&d->port[i]);
	for (unsigned k = 0; k < d->nworkers; k++)
		rf_worker_free(d->w[k]);
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		rf_dpdk_pools_free(&d->pools[s]);
free_d:
	rte_free(d);
	return rc;
}
