/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "dpdk_lent.h"
#include "dpdk_tx.h"
#include "msg.h"

/* Tries of rte_eth_tx_burst() before what is left is dropped: enough for
 * a PMD that completes descriptors as it is called (af_xdp, af_packet) to
 * make room, bounded so one slow port cannot stall the worker. */
#define RF_TX_RETRIES 32

/* Slots probed per lookup: two cache lines of 32-byte entries. */
#define RF_NEIGH_PROBE 4

struct rf_dpdk_neigh {
	uint8_t ip[16];
	uint8_t family;                    /* 0: empty */
	uint8_t q;
	struct rte_ether_addr mac;
	uint32_t stamp;                    /* seconds: the oldest is evicted */
	uint32_t pad;
};

_Static_assert(sizeof(struct rf_dpdk_neigh) == 32, "two neighbours per cache line");

static void rf_txq_templates(struct rf_dpdk_txq *q);

/* ---- Store memory: IOVA of each page of the store's memzone ---- */

struct rf_mz_find {
	const void *p;
	const struct rte_memzone *mz;
};

static void rf_mz_match(const struct rte_memzone *mz, void *arg)
{
	struct rf_mz_find *f = arg;
	const uint8_t *base = mz->addr;

	if ((const uint8_t *)f->p >= base && (const uint8_t *)f->p < base + mz->len)
		f->mz = mz;
}

int rf_dpdk_stream_map(struct rf_dpdk_stream *st, uint64_t stream_id,
		       const struct rf_chunk_store *store, uint32_t sessions, int socket)
{
	struct rf_mz_find f = { .p = store };
	uint64_t pgsz;

	memset(st, 0, sizeof(*st));
	st->stream_id = stream_id;
	st->store = store;
	st->routes = rte_zmalloc_socket("rf_routes", (size_t)sessions * sizeof(*st->routes),
					RTE_CACHE_LINE_SIZE, socket);
	if (!st->routes)
		return -ENOMEM;
	st->nroutes = sessions;
	st->data_plen = (uint16_t)(RF_DATA_HDR_LEN + rf_chunk_store_chunk_max(store));
	rte_memzone_walk(rf_mz_match, &f);
	if (!f.mz || f.mz->hugepage_sz == 0)
		return 0;
	pgsz = f.mz->hugepage_sz;
	st->va = (const uint8_t *)RTE_PTR_ALIGN_FLOOR(f.mz->addr, pgsz);
	st->page_shift = (unsigned)rte_log2_u64(pgsz);
	st->npages = (unsigned)(((const uint8_t *)f.mz->addr + f.mz->len - st->va + pgsz - 1) / pgsz);
	st->page_iova = rte_zmalloc_socket("rf_page_iova", st->npages * sizeof(rte_iova_t),
					   RTE_CACHE_LINE_SIZE, socket);
	if (!st->page_iova) {
		st->npages = 0;
		return 0; /* copies, then */
	}
	for (unsigned i = 0; i < st->npages; i++) {
		st->page_iova[i] = rte_mem_virt2iova(st->va + ((size_t)i << st->page_shift));
		if (st->page_iova[i] == RTE_BAD_IOVA) {
			rte_free(st->page_iova);
			st->page_iova = NULL;
			st->npages = 0;
			return 0;
		}
	}
	return 0;
}

void rf_dpdk_stream_unmap(struct rf_dpdk_stream *st)
{
	rte_free(st->page_iova);
	rte_free(st->routes);
	st->page_iova = NULL;
	st->npages = 0;
	st->routes = NULL;
	st->nroutes = 0;
}

/* IOVA of payload[0..len), or RTE_BAD_IOVA when it is not in one IOVA
 * range (the store is not DPDK memory, or it straddles two pages that
 * are not IOVA-contiguous): then it is copied. */
static inline rte_iova_t rf_payload_iova(const struct rf_dpdk_stream *st,
					 const uint8_t *p, uint16_t len)
{
	size_t off = (size_t)(p - st->va);
	size_t pg = off >> st->page_shift;
	size_t in = off & (((size_t)1 << st->page_shift) - 1);
	rte_iova_t iova;

	if (unlikely(pg >= st->npages))
		return RTE_BAD_IOVA;
	iova = st->page_iova[pg] + in;
	if (unlikely(in + len > ((size_t)1 << st->page_shift)) &&
	    (pg + 1 >= st->npages ||
	     st->page_iova[pg + 1] != st->page_iova[pg] + ((rte_iova_t)1 << st->page_shift)))
		return RTE_BAD_IOVA;
	return iova;
}

/* ---- Setup ---- */

int rf_dpdk_tx_init(struct rf_dpdk_tx *x, uint32_t neighbours, int socket,
		    struct rf_lcore_stats *stats)
{
	uint32_t slots = rte_align32pow2(neighbours < 512 ? 1024 : neighbours * 2);

	memset(x, 0, sizeof(*x));
	x->neigh = rte_zmalloc_socket("rf_neigh", (size_t)slots * sizeof(*x->neigh),
				      RTE_CACHE_LINE_SIZE, socket);
	if (!x->neigh)
		return -ENOMEM;
	x->neigh_mask = slots - 1;
	x->neigh_gen = 1;
	x->gw_gen = 1;
	x->stats = stats;
	return 0;
}

static void rf_shared_release(struct rf_dpdk_shared *sh);

void rf_dpdk_tx_free(struct rf_dpdk_tx *x)
{
	rf_shared_release(&x->sig);
	for (unsigned i = 0; i < x->nq; i++)
		for (unsigned p = 0; p < RF_DPDK_POOLS; p++)
			rte_pktmbuf_free_bulk(x->q[i].stash[p], x->q[i].nstash[p]);
	rte_free(x->neigh);
	x->neigh = NULL;
}

int rf_dpdk_tx_add_queue(struct rf_dpdk_tx *x, uint16_t port, uint16_t queue,
			 const struct rf_dpdk_self *self,
			 const struct rf_dpdk_pools *pools, bool zerocopy)
{
	struct rf_dpdk_txq *q;

	if (x->nq == RF_DPDK_TXQ_MAX)
		return -ENOSPC;
	q = &x->q[x->nq];
	q->port = port;
	q->queue = queue;
	q->self = self;
	q->pools = *pools;
	q->zerocopy = zerocopy && pools->hdr && pools->lent;
	/* one pool for every lent mbuf of this lcore: a free reads it, so a
	 * repoint must not change it */
	if (q->zerocopy && !x->lent_pool)
		x->lent_pool = pools->lent;
	rf_txq_templates(q);
	return (int)x->nq++;
}

/* ---- Neighbours: peer address -> MAC and TX queue ---- */

static inline uint32_t rf_neigh_hash(const struct rf_addr *a)
{
	uint64_t lo, hi;

	memcpy(&lo, a->ip, 8);
	memcpy(&hi, a->ip + 8, 8);
	return rte_hash_crc_8byte(hi, rte_hash_crc_8byte(lo, a->family));
}

static inline bool rf_neigh_is(const struct rf_dpdk_neigh *e, const struct rf_addr *a)
{
	return e->family == a->family && memcmp(e->ip, a->ip, 16) == 0;
}

static inline const struct rf_dpdk_neigh *rf_neigh_find(const struct rf_dpdk_tx *x,
							 const struct rf_addr *a)
{
	uint32_t h = rf_neigh_hash(a);

	for (unsigned i = 0; i < RF_NEIGH_PROBE; i++) {
		const struct rf_dpdk_neigh *e = &x->neigh[(h + i) & x->neigh_mask];

		if (rf_neigh_is(e, a))
			return e;
		if (e->family == 0)
			return NULL;
	}
	return NULL;
}

/* 0 marks a route never built. */
static void rf_gen_bump(uint32_t *gen)
{
	if (++*gen == 0)
		*gen = 1;
}

void rf_dpdk_neigh_learn(struct rf_dpdk_tx *x, const struct rf_addr *a,
			 const struct rte_ether_addr *mac, unsigned q,
			 uint32_t now_s)
{
	uint32_t h = rf_neigh_hash(a);
	struct rf_dpdk_neigh *victim = NULL;

	if (!x->gw_valid || x->gw_q != q || !rte_is_same_ether_addr(&x->gw_mac, mac))
		rf_gen_bump(&x->gw_gen);
	x->gw_valid = true;
	x->gw_q = (uint8_t)q;
	x->gw_mac = *mac;
	for (unsigned i = 0; i < RF_NEIGH_PROBE; i++) {
		struct rf_dpdk_neigh *e = &x->neigh[(h + i) & x->neigh_mask];

		if (rf_neigh_is(e, a) || e->family == 0) {
			victim = e;
			break;
		}
		if (!victim || (int32_t)(e->stamp - victim->stamp) < 0)
			victim = e;
	}
	/* a full probe window evicts its stalest peer: it falls back to the
	 * gateway MAC until its next datagram teaches us again */
	/* a new entry needs no bump: the gateway just became this very next
	 * hop, so a route that went through it still goes the same way */
	if (victim->family != 0 && (!rf_neigh_is(victim, a) || victim->q != q ||
				    !rte_is_same_ether_addr(&victim->mac, mac)))
		rf_gen_bump(&x->neigh_gen);  /* moved, or evicted */
	memcpy(victim->ip, a->ip, 16);
	victim->family = a->family;
	victim->q = (uint8_t)q;
	victim->mac = *mac;
	victim->stamp = now_s;
}

/* ---- Frames ---- */

_Static_assert(RF_DPDK_L2L3_V4 == RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) +
	       sizeof(struct rte_udp_hdr), "IPv4 frame header");
_Static_assert(RF_DPDK_L2L3_V6 == RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) +
	       sizeof(struct rte_udp_hdr), "IPv6 frame header");

static inline unsigned rf_l2l3_len(uint8_t family)
{
	return family == RF_AF_INET ? RF_DPDK_L2L3_V4 : RF_DPDK_L2L3_V6;
}

static inline uint16_t rf_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sum of an address as the 16-bit words the checksum adds. */
static inline uint32_t rf_ip_sum(const uint8_t *ip, unsigned len)
{
	uint16_t w[8];
	uint32_t sum = 0;

	memcpy(w, ip, len);
	for (unsigned i = 0; i < len / 2; i++)
		sum += w[i];
	return sum;
}

/* The queue's frame templates and their constant sums (cold path). */
static void rf_txq_templates(struct rf_dpdk_txq *q)
{
	const struct rf_dpdk_self *self = q->self;
	struct rte_ether_hdr *eth4 = (struct rte_ether_hdr *)q->tmpl4;
	struct rte_ether_hdr *eth6 = (struct rte_ether_hdr *)q->tmpl6;
	struct rte_ipv4_hdr *ip4 = (struct rte_ipv4_hdr *)(eth4 + 1);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(eth6 + 1);
	uint16_t sport = rte_cpu_to_be_16(self->udp_port);
	uint32_t proto = rte_cpu_to_be_16(IPPROTO_UDP);

	memset(q->tmpl4, 0, sizeof(q->tmpl4));
	memset(q->tmpl6, 0, sizeof(q->tmpl6));
	eth4->src_addr = self->mac;
	eth4->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip4->version_ihl = RTE_IPV4_VHL_DEF;
	ip4->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip4->time_to_live = 64;
	ip4->next_proto_id = IPPROTO_UDP;
	memcpy(&ip4->src_addr, self->ip4, 4);
	((struct rte_udp_hdr *)(ip4 + 1))->src_port = sport;
	q->sum4_ip = rte_raw_cksum(ip4, sizeof(*ip4));
	q->sum4_udp = rf_ip_sum(self->ip4, 4) + proto + sport;

	eth6->src_addr = self->mac;
	eth6->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	ip6->vtc_flow = RTE_BE32(6u << 28);
	ip6->proto = IPPROTO_UDP;
	ip6->hop_limits = 64;
	memcpy(ip6->src_addr, self->ip6, 16);
	((struct rte_udp_hdr *)(ip6 + 1))->src_port = sport;
	q->sum6_udp = rf_ip_sum(self->ip6, 16) + proto + sport;
}

/* IPv4 lengths and header checksum, for a UDP payload of plen bytes. */
static inline void rf_ip4_lengths(struct rte_ipv4_hdr *ip, uint32_t ip_sum, uint16_t plen)
{
	uint16_t ulen = (uint16_t)(sizeof(struct rte_udp_hdr) + plen);
	uint16_t be_total = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + ulen));

	ip->total_length = be_total;
	ip->hdr_checksum = (uint16_t)~rf_csum_fold(ip_sum + be_total);
	((struct rte_udp_hdr *)(ip + 1))->dgram_len = rte_cpu_to_be_16(ulen);
}

/* The route to dst through dmac on queue qi, its IPv4 headers for a UDP
 * payload of plen bytes (struct rf_dpdk_route). The caller made sure the
 * seed has an address of dst's family on q's port. */
static void rf_route_build(struct rf_dpdk_route *r, const struct rf_dpdk_txq *q, unsigned qi,
			   const struct rte_ether_addr *dmac, const struct rf_addr *dst,
			   uint16_t plen)
{
	uint16_t be_dport = rte_cpu_to_be_16(dst->port);

	if (dst->family == RF_AF_INET) {
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)r->hdr4;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		uint32_t dsum = rf_ip_sum(dst->ip, 4);

		r->ip_sum = q->sum4_ip + dsum;
		r->udp_sum = q->sum4_udp + dsum + be_dport;
		memcpy(r->hdr4, q->tmpl4, RF_DPDK_L2L3_V4);
		eth->dst_addr = *dmac;
		memcpy(&ip->dst_addr, dst->ip, 4);
		((struct rte_udp_hdr *)(ip + 1))->dst_port = be_dport;
		rf_ip4_lengths(ip, r->ip_sum, plen);
		r->plen = plen;
	} else {
		r->ip_sum = 0;
		r->udp_sum = q->sum6_udp + rf_ip_sum(dst->ip, 16) + be_dport;
		r->v6.dmac = *dmac;
		r->v6.dst = *dst;
	}
	r->family = dst->family;
	r->q = (uint8_t)qi;
}

/* Whether r was built for peer a. */
static inline bool rf_route_is(const struct rf_dpdk_route *r, const struct rf_addr *a)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(r->hdr4 + RTE_ETHER_HDR_LEN);

	if (a->family != r->family)
		return false;
	if (a->family == RF_AF_INET6)
		return rf_addr_equal(&r->v6.dst, a);
	return memcmp(&ip->dst_addr, a->ip, 4) == 0 &&
	       ((const struct rte_udp_hdr *)(ip + 1))->dst_port == rte_cpu_to_be_16(a->port);
}

/* Ethernet + IP + UDP headers at p, along route r from queue q (the
 * route's own: IPv6 headers come from q's template), for a UDP payload of
 * plen bytes that sums to psum (unfolded is fine). */
static inline void rf_route_write(uint8_t *p, const struct rf_dpdk_txq *q,
				  const struct rf_dpdk_route *r, uint16_t plen, uint32_t psum)
{
	uint16_t be_ulen = rte_cpu_to_be_16((uint16_t)(sizeof(struct rte_udp_hdr) + plen));
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_udp_hdr *udp;
	uint16_t c;

	if (r->family == RF_AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		memcpy(p, r->hdr4, RF_DPDK_L2L3_V4);
		if (unlikely(plen != r->plen))
			rf_ip4_lengths(ip, r->ip_sum, plen);
		udp = (struct rte_udp_hdr *)(ip + 1);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		memcpy(p, q->tmpl6, RF_DPDK_L2L3_V6);
		eth->dst_addr = r->v6.dmac;
		memcpy(ip->dst_addr, r->v6.dst.ip, 16);
		ip->payload_len = be_ulen;
		udp = (struct rte_udp_hdr *)(ip + 1);
		udp->dst_port = rte_cpu_to_be_16(r->v6.dst.port);
		udp->dgram_len = be_ulen;
	}
	/* the length counts twice: pseudo-header and UDP header */
	c = (uint16_t)~rf_csum_fold(r->udp_sum + psum + 2u * be_ulen);
	/* 0 means "no checksum" in UDP: send its other form */
	udp->dgram_cksum = c ? c : 0xffff;
}

static inline bool rf_can_send(const struct rf_dpdk_self *self, uint8_t family)
{
	return family == RF_AF_INET ? self->has_ip4 : self->has_ip6;
}

/* The chunk's DATA header with t's flags, and its sum with the payload's;
 * NULL when the store rewrote the slot while it was summed. */
static inline struct rf_dpdk_csum *rf_chunk_sums(struct rf_dpdk_tx *x,
						 const struct rf_dpdk_stream *st,
						 const struct rf_seed_tx *t)
{
	struct rf_dpdk_csum *e = &x->csum[t->seq & (RF_DPDK_CSUM_SLOTS - 1)];
	const struct rf_chunk *c = t->chunk;

	if (unlikely(e->chunk != c || e->seq != t->seq)) {
		/* the lent payload mbuf is about to point elsewhere: the
		 * frames that chain it go to their PMDs first */
		if (e->lent)
			rf_dpdk_tx_flush(x);
		e->lent = false;
		e->by_copy = false;
		e->chunk = c;
		e->seq = t->seq;
		rf_data_hdr_write(e->hdr, st->stream_id, 0, t->seq, t->substream, c->len);
		e->flags = 0;
		e->sum0 = rf_csum_fold((uint32_t)rte_raw_cksum(e->hdr, RF_DATA_HDR_LEN) +
				       rte_raw_cksum(c->payload, c->len));
		e->sum = e->sum0;
		if (unlikely(!rf_chunk_store_still_valid(st->store, c, t->seq))) {
			e->chunk = NULL;
			return NULL;
		}
	}
	if (unlikely(e->flags != t->flags)) {
		e->flags = t->flags;
		e->hdr[RF_OFF_FLAGS] = t->flags;
		/* the flags byte (offset 4, even) as the 16-bit word it adds */
		e->sum = rf_csum_fold(e->sum0 + rte_cpu_to_be_16((uint16_t)(t->flags << 8)));
	}
	return e;
}

/* An mbuf from the queue's pool p, taken a burst at a time; NULL when the
 * pool is dry (the caller counts a drop if a frame is lost). */
static inline struct rte_mbuf *rf_mbuf(struct rf_dpdk_txq *q, unsigned p)
{
	static const size_t off[RF_DPDK_POOLS] = {
		offsetof(struct rf_dpdk_pools, pkt), offsetof(struct rf_dpdk_pools, hdr),
	};

	if (unlikely(q->nstash[p] == 0)) {
		struct rte_mempool *mp = *(struct rte_mempool **)((char *)&q->pools + off[p]);

		if (rte_pktmbuf_alloc_bulk(mp, q->stash[p], RF_DPDK_BURST) != 0)
			return NULL;
		q->nstash[p] = RF_DPDK_BURST;
	}
	return q->stash[p][--q->nstash[p]];
}

/* Give back the references sh still holds: its credit and its own. The
 * mbuf goes back to its pool once the last frame using it is freed. */
static void rf_shared_release(struct rf_dpdk_shared *sh)
{
	if (!sh->m)
		return;
	if (sh->credit)
		rte_mbuf_refcnt_update(sh->m, (int16_t)-sh->credit);
	rte_pktmbuf_free_seg(sh->m);
	sh->m = NULL;
	sh->credit = 0;
}

/* One reference on sh's mbuf for a frame. References are taken
 * RF_SIG_CREDIT at a time, so the only atomic per frame is the PMD's
 * free. A chain may share a segment that is never written: DPDK's
 * ipv4_multicast does it too. */
static inline struct rte_mbuf *rf_shared_ref(struct rf_dpdk_shared *sh)
{
	if (unlikely(sh->credit == 0)) {
		rte_mbuf_refcnt_update(sh->m, RF_SIG_CREDIT);
		sh->credit = RF_SIG_CREDIT;
	}
	sh->credit--;
	return sh->m;
}

/* The chunk's payload mbuf, lent over the chunk in the store on first use
 * and chained behind every peer's header. NULL when the payload has no
 * IOVA: then the chunk goes by copy, to every peer, without asking again. */
static inline struct rte_mbuf *rf_payload_mbuf(struct rf_dpdk_tx *x, struct rf_dpdk_csum *e,
					       const struct rf_dpdk_stream *st)
{
	const struct rf_chunk *c = e->chunk;

	if (unlikely(!e->lent)) {
		rte_iova_t iova;

		if (e->by_copy)
			return NULL;
		iova = rf_payload_iova(st, c->payload, c->len);
		if (iova == RTE_BAD_IOVA) {
			e->by_copy = true;
			return NULL;
		}
		rf_dpdk_lend(&e->payload, x->lent_pool, c->payload, iova, c->len);
		e->lent = true;
	}
	return &e->payload;
}

/* Room so that a copied payload lands cache-line aligned. */
static inline void rf_align_payload(struct rte_mbuf *m, unsigned before)
{
	m->data_off = (uint16_t)(RTE_PKTMBUF_HEADROOM - (before & (RTE_CACHE_LINE_SIZE - 1)));
}

static struct rte_mbuf *rf_build_dgram(struct rf_dpdk_tx *x, struct rf_dpdk_txq *q,
				       const struct rf_dpdk_route *r,
				       const uint8_t *buf, uint16_t len, uint32_t sum)
{
	unsigned hl = rf_l2l3_len(r->family);
	struct rte_mbuf *m = rf_mbuf(q, RF_DPDK_POOL_PKT);
	uint8_t *p;

	if (unlikely(!m)) {
		x->stats->dpdk_drops[RF_DPDK_DROP_NO_MBUF]++;
		return NULL;
	}
	p = rte_pktmbuf_mtod(m, uint8_t *);
	rte_memcpy(p + hl, buf, len);
	rf_route_write(p, q, r, len, sum);
	m->data_len = (uint16_t)(hl + len);
	m->pkt_len = m->data_len;
	return m;
}

/* SIGNATUREs go to every session in a row: their sum is kept, and a new
 * one lets the last one's shared copy go. */
static inline void rf_sig_track(struct rf_dpdk_tx *x, const struct rf_seed_tx *t)
{
	uint64_t first = rf_get64(t->sig_msg + RF_HDR_LEN);

	if (unlikely(x->sig_msg != t->sig_msg || x->sig_first != first ||
		     x->sig_len != t->sig_len)) {
		rf_shared_release(&x->sig);
		x->sig_by_copy = false;
		x->sig_msg = t->sig_msg;
		x->sig_first = first;
		x->sig_len = t->sig_len;
		x->sig_sum = rte_raw_cksum(t->sig_msg, t->sig_len);
	}
}

/* A reference on the shared copy of the SIGNATURE, made on first use; NULL
 * when no mbuf is to be had (then it goes by copy to every peer). */
static inline struct rte_mbuf *rf_sig_ref(struct rf_dpdk_tx *x, struct rf_dpdk_txq *q)
{
	if (unlikely(!x->sig.m)) {
		struct rte_mbuf *m;

		if (x->sig_by_copy)
			return NULL;
		m = rf_mbuf(q, RF_DPDK_POOL_PKT);
		if (!m || rte_pktmbuf_tailroom(m) < x->sig_len) {
			rte_pktmbuf_free(m);
			x->sig_by_copy = true;
			return NULL;
		}
		rte_memcpy(rte_pktmbuf_mtod(m, void *), x->sig_msg, x->sig_len);
		m->data_len = x->sig_len;
		m->pkt_len = x->sig_len;
		x->sig.m = m;
	}
	return rf_shared_ref(&x->sig);
}

static struct rte_mbuf *rf_build_sig(struct rf_dpdk_tx *x, struct rf_dpdk_txq *q,
				     const struct rf_dpdk_route *r, const struct rf_seed_tx *t)
{
	unsigned hl = rf_l2l3_len(r->family);
	struct rte_mbuf *m, *body = NULL;

	rf_sig_track(x, t);
	if (q->zerocopy)
		body = rf_sig_ref(x, q);
	if (!body)
		return rf_build_dgram(x, q, r, t->sig_msg, t->sig_len, x->sig_sum);
	m = rf_mbuf(q, RF_DPDK_POOL_HDR);
	if (unlikely(!m)) {
		x->sig.credit++;           /* the reference goes back unused */
		x->stats->dpdk_drops[RF_DPDK_DROP_NO_MBUF]++;
		return NULL;
	}
	rf_route_write(rte_pktmbuf_mtod(m, uint8_t *), q, r, t->sig_len, x->sig_sum);
	m->data_len = (uint16_t)hl;
	m->next = body;
	m->nb_segs = 2;
	m->pkt_len = hl + t->sig_len;
	return m;
}

/* Always inlined into rf_dpdk_tx_seed's loop: gcc inlines it unasked too,
 * but with other register choices, and that build ran at 0.93 of this one
 * (median of 8 interleaved pairs, in a noisy phase). */
static __rte_always_inline struct rte_mbuf *
rf_build_data(struct rf_dpdk_tx *x, struct rf_dpdk_txq *q, const struct rf_dpdk_route *r,
	      const struct rf_dpdk_stream *st, const struct rf_seed_tx *t)
{
	const struct rf_chunk *c = t->chunk;
	struct rf_dpdk_csum *e = rf_chunk_sums(x, st, t);
	uint16_t len = c->len;
	unsigned hl = rf_l2l3_len(r->family);
	struct rte_mbuf *m, *body = NULL;
	uint8_t *p;

	if (unlikely(!e))
		goto stale;
	if (q->zerocopy)
		body = rf_payload_mbuf(x, e, st);
	m = rf_mbuf(q, body ? RF_DPDK_POOL_HDR : RF_DPDK_POOL_PKT);
	if (unlikely(!m)) {
		x->stats->dpdk_drops[RF_DPDK_DROP_NO_MBUF]++;
		return NULL;
	}
	if (!body)
		rf_align_payload(m, hl + RF_DATA_HDR_LEN);
	p = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(p + hl, e->hdr, RF_DATA_HDR_LEN);
	rf_route_write(p, q, r, (uint16_t)(RF_DATA_HDR_LEN + len), e->sum);
	m->data_len = (uint16_t)(hl + RF_DATA_HDR_LEN);
	if (body) {
		m->next = body;
		m->nb_segs = 2;
	} else {
		memcpy(p + hl + RF_DATA_HDR_LEN, c->payload, len);
		m->data_len = (uint16_t)(m->data_len + len);
	}
	m->pkt_len = (uint32_t)(hl + RF_DATA_HDR_LEN + len);
	/* a copy must be rechecked after it is made; a reference was checked
	 * with the chunk's sum, and stays good while the window is far longer
	 * than a frame stays in a TX ring */
	if (!body && unlikely(!rf_chunk_store_still_valid(st->store, c, t->seq))) {
		rte_pktmbuf_free(m);
		goto stale;
	}
	return m;
stale:
	x->stats->dpdk_drops[RF_DPDK_DROP_STALE]++;
	return NULL;
}

/* ---- Queues ---- */

static void rf_txq_flush(struct rf_dpdk_tx *x, struct rf_dpdk_txq *q)
{
	uint16_t sent = 0;

	for (unsigned tries = 0; sent < q->n && tries < RF_TX_RETRIES; tries++)
		sent = (uint16_t)(sent + rte_eth_tx_burst(q->port, q->queue, q->buf + sent,
							  (uint16_t)(q->n - sent)));
	if (unlikely(sent < q->n)) {
		for (uint16_t i = sent; i < q->n; i++)
			q->bytes -= q->buf[i]->pkt_len;
		rte_pktmbuf_free_bulk(q->buf + sent, q->n - sent);
		x->stats->dpdk_drops[RF_DPDK_DROP_TX_FULL] += q->n - sent;
	}
	x->stats->tx_packets += sent;
	x->stats->tx_bytes += q->bytes;
	q->n = 0;
	q->bytes = 0;
}

static inline void rf_txq_push(struct rf_dpdk_tx *x, struct rf_dpdk_txq *q,
			       struct rte_mbuf *m)
{
	q->bytes += m->pkt_len;
	q->buf[q->n++] = m;
	if (unlikely(q->n == RF_DPDK_BURST))
		rf_txq_flush(x, q);
}

void rf_dpdk_tx_flush(struct rf_dpdk_tx *x)
{
	for (unsigned i = 0; i < x->nq; i++)
		if (x->q[i].n)
			rf_txq_flush(x, &x->q[i]);
}

void rf_dpdk_tx_frame(struct rf_dpdk_tx *x, unsigned q, struct rte_mbuf *m)
{
	rf_txq_push(x, &x->q[q], m);
}

/* Build r, the route to dst: its neighbour entry, else the gateway, and
 * the queue it names. False (counted) when there is none or the seed has
 * no address of dst's family there. */
static bool rf_route_find(struct rf_dpdk_tx *x, const struct rf_addr *dst, uint16_t plen,
			  struct rf_dpdk_route *r)
{
	const struct rf_dpdk_neigh *e = rf_neigh_find(x, dst);
	const struct rte_ether_addr *mac;
	unsigned qi;

	if (e) {
		qi = e->q;
		mac = &e->mac;
	} else if (x->gw_valid) {
		qi = x->gw_q;
		mac = &x->gw_mac;
	} else {
		x->stats->dpdk_drops[RF_DPDK_DROP_NO_NEIGH]++;
		return false;
	}
	if (unlikely(!rf_can_send(x->q[qi].self, dst->family))) {
		x->stats->dpdk_drops[RF_DPDK_DROP_NOT_OURS]++;
		return false;
	}
	rf_route_build(r, &x->q[qi], qi, mac, dst, plen);
	r->via_gw = !e;
	r->gen = x->neigh_gen;
	r->gw_gen = x->gw_gen;
	return true;
}

/* The route of the session t goes to, built when its slot holds a peer
 * it was not built for or a next hop has changed since. */
static inline const struct rf_dpdk_route *rf_session_route(struct rf_dpdk_tx *x,
							   const struct rf_dpdk_stream *st,
							   const struct rf_seed_tx *t)
{
	struct rf_dpdk_route *r = &st->routes[t->session];

	if (likely(r->gen == x->neigh_gen && (!r->via_gw || r->gw_gen == x->gw_gen) &&
		   rf_route_is(r, t->dst)))
		return r;
	return rf_route_find(x, t->dst, st->data_plen, r) ? r : NULL;
}

static inline void rf_route_prefetch(const struct rf_dpdk_stream *st, const struct rf_seed_tx *t)
{
	const struct rf_dpdk_route *r = &st->routes[t->session];

	rte_prefetch0(r);
}

/* Routes are fetched this many descriptors ahead. */
#define RF_ROUTE_AHEAD 4

void rf_dpdk_tx_seed(struct rf_dpdk_tx *x, const struct rf_dpdk_stream *st,
		     const struct rf_seed_tx *tx, unsigned n)
{
	/* A worker has one TX queue, as a rule: then a frame's queue and mbuf
	 * do not depend on the queue number read from its route
	 * (docs/BENCHMARKS.md). Every route names queue 0 then. */
	bool one_queue = x->nq == 1;

	for (unsigned i = 0; i < n && i < RF_ROUTE_AHEAD; i++)
		rf_route_prefetch(st, &tx[i]);
	for (unsigned i = 0; i < n; i++) {
		const struct rf_seed_tx *t = &tx[i];
		const struct rf_dpdk_route *r = rf_session_route(x, st, t);
		struct rf_dpdk_txq *q;
		struct rte_mbuf *m;

		if (i + RF_ROUTE_AHEAD < n)
			rf_route_prefetch(st, &tx[i + RF_ROUTE_AHEAD]);
		if (unlikely(!r))
			continue;
		q = likely(one_queue) ? &x->q[0] : &x->q[r->q];
		if (likely(t->kind == RF_SEED_TX_DATA))
			m = rf_build_data(x, q, r, st, t);
		else
			m = rf_build_sig(x, q, r, t);
		if (likely(m != NULL))
			rf_txq_push(x, q, m);
	}
}

void rf_dpdk_tx_dgram(struct rf_dpdk_tx *x, const struct rf_addr *dst,
		      const uint8_t *buf, uint16_t len,
		      const struct rte_ether_addr *mac, unsigned q)
{
	struct rf_dpdk_route r;
	struct rte_mbuf *m;

	if (mac) {
		if (unlikely(!rf_can_send(x->q[q].self, dst->family))) {
			x->stats->dpdk_drops[RF_DPDK_DROP_NOT_OURS]++;
			return;
		}
		rf_route_build(&r, &x->q[q], q, mac, dst, len);
	} else if (!rf_route_find(x, dst, len, &r)) {
		return;
	}
	m = rf_build_dgram(x, &x->q[r.q], &r, buf, len, rte_raw_cksum(buf, len));
	if (m)
		rf_txq_push(x, &x->q[r.q], m);
}
